//! The shared directory story against a private Samba AD DC (see
//! `latchkey_directory_ldap::testing_ad`), over LDAPS with the certificate verified against the
//! test CA. One test function: the DC listens on fixed ports, so one DC serves the whole story.
//! Skipped only when Samba is not installed and `LATCHKEY_REQUIRE_SAMBA` is unset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_core::clock::SystemClock;
use latchkey_core::secret::SecretString;
use latchkey_core::user::UserId;
use latchkey_directory::story::{self, StoryFixture, StoryUser};
use latchkey_directory::{BindOutcome, Directory, DirectoryError, ResetOptions};
use latchkey_directory_ldap::AdDirectory;
use latchkey_directory_ldap::testing_ad::{self, TestAdUser, TestPso, TestSamba};

fn pw(s: &str) -> SecretString {
    SecretString::new(s)
}

fn id(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

#[tokio::test]
async fn story_and_ad_specifics_on_samba() {
    if !testing_ad::samba_available().unwrap() {
        return;
    }
    let started = Instant::now();
    // AD's complexity refuses passwords containing the account name: these don't.
    let mut seed: Vec<TestAdUser> = (0..11)
        .map(|i| TestAdUser::new(&format!("ada{i}"), &format!("Start-Secret-{i}-Qz")))
        .collect();
    seed[6].mobile = Some("+1 425 555 0166".to_owned());
    seed[6].telephone_number = Some("+1 425 555 0100".to_owned());
    // ada8 has a fine-grained policy; ada9 and ada10 passwords expired long ago.
    seed[9].expired = true;
    seed[10].expired = true;
    let pso = TestPso {
        name: "Admins PSO".to_owned(),
        precedence: 10,
        min_length: 14,
        history: 5,
        lockout_threshold: 5,
        max_age_days: 7,
        applies_to: vec!["ada8".to_owned()],
    };
    let server = TestSamba::start_with(&seed, std::slice::from_ref(&pso)).unwrap();
    eprintln!("samba DC ready in {:?}", started.elapsed());
    let dir = AdDirectory::new(server.settings(), Arc::new(SystemClock)).unwrap();
    dir.ping().await.unwrap();

    let forms = [
        "ada0@example.test",
        "ada1",
        "EXAMPLE\\ada2",
        "Ada3@Example.org",
        "ADA4",
        "ada5",
    ];
    let fx = StoryFixture {
        users: seed
            .iter()
            .zip(forms)
            .map(|(u, form)| StoryUser {
                id: id(form),
                password: u.password.clone(),
            })
            .collect(),
        unknown: id("nobody@example.test"),
        strong_password: pw("Violet-Harbour-71-Quartz"),
        strong_password_2: pw("Amber-Glacier-42-Lantern"),
        lockout_threshold: Some(testing_ad::LOCKOUT_THRESHOLD),
        min_length: Some(testing_ad::MIN_LENGTH),
    };
    story::run(&dir, &fx).await;

    // Names, rules and expiry as AD reports them.
    let user = dir.find_user(&id("ada6")).await.unwrap().unwrap();
    assert_eq!(user.key, seed[6].dn());
    assert_eq!(user.login, "ada6@example.test");
    assert_eq!(user.account_name, "ada6");
    assert_eq!(user.email.as_deref(), Some("ada6@example.org"));
    assert_eq!(user.display_name, "ada6 Tester");
    assert_eq!(user.mobile.as_deref(), Some("+1 425 555 0166"));
    assert_eq!(user.office_phone.as_deref(), Some("+1 425 555 0100"));
    let rules = dir.password_rules(&user).await.unwrap();
    assert_eq!(rules.min_length, Some(testing_ad::MIN_LENGTH));
    assert_eq!(rules.history, Some(testing_ad::HISTORY));
    assert!(rules.complexity);
    assert_eq!(
        rules.max_age,
        Some(Duration::from_secs(testing_ad::MAX_AGE_DAYS * 24 * 3600))
    );
    let changed = user.state.password_changed_at.expect("pwdLastSet");
    assert_eq!(
        user.state.password_expires_at.map(|e| e.since(changed)),
        Some(Duration::from_secs(testing_ad::MAX_AGE_DAYS * 24 * 3600))
    );

    // A password without three classes is refused with AD's complexity rule.
    let key = user.key.clone();
    let weak = dir
        .change_password(&key, &seed[6].password, &pw("alllowercaseletters"))
        .await;
    assert!(
        matches!(&weak, Err(DirectoryError::Rejected(r)) if r.iter().any(|r| r.code() == "directory_complexity")),
        "{weak:?}"
    );
    // An admin reset to a too-short password is refused too.
    let short = dir
        .set_password(&key, &pw("Sh0rt!"), ResetOptions::default())
        .await;
    assert!(
        matches!(&short, Err(DirectoryError::Rejected(r)) if r.iter().any(|r| r.code() == "too_short")),
        "{short:?}"
    );

    // A must-change user whose old password is wrong: InvalidCredentials, nothing changes.
    let key7 = seed[7].dn();
    dir.set_password(
        &key7,
        &pw("Violet-Harbour-71-Quartz"),
        ResetOptions {
            unlock: false,
            must_change: true,
        },
    )
    .await
    .unwrap();
    let wrong = dir
        .change_password(
            &key7,
            &pw("Not-The-Password-1"),
            &pw("Amber-Glacier-42-Lantern"),
        )
        .await;
    assert!(
        matches!(wrong, Err(DirectoryError::InvalidCredentials)),
        "{wrong:?}"
    );
    assert_eq!(
        dir.verify_password(&key7, &pw("Violet-Harbour-71-Quartz"))
            .await
            .unwrap(),
        BindOutcome::ValidMustChange
    );

    // StartTLS on 389 works as well; a wrong trust anchor (the leaf itself) fails closed.
    let mut starttls = server.settings();
    starttls.url = "ldap://127.0.0.1:389".to_owned();
    starttls.starttls = true;
    let over_starttls = AdDirectory::new(starttls, Arc::new(SystemClock)).unwrap();
    assert!(
        over_starttls
            .find_user(&id("ada6"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        over_starttls
            .verify_password(&seed[0].dn(), &pw("Start-Secret-0-Qz"))
            .await
            .unwrap(),
        BindOutcome::Valid
    );
    let mut wrong_ca = server.settings();
    wrong_ca.ca_file = Some(server.path().join("tls/cert.pem"));
    let untrusted = AdDirectory::new(wrong_ca, Arc::new(SystemClock)).unwrap();
    let got = untrusted.find_user(&id("ada6")).await;
    assert!(
        matches!(got, Err(DirectoryError::Unavailable(_))),
        "{got:?}"
    );

    // The user's resultant fine-grained policy wins over the domain's, and AD enforces it.
    let psoed = dir.find_user(&id("ada8")).await.unwrap().unwrap();
    let rules = dir.password_rules(&psoed).await.unwrap();
    assert_eq!(rules.min_length, Some(14));
    assert_eq!(rules.history, Some(5));
    assert_eq!(rules.lockout_threshold, Some(5));
    assert_eq!(rules.max_age, Some(Duration::from_secs(7 * 24 * 3600)));
    assert!(rules.complexity);
    let changed = psoed.state.password_changed_at.expect("pwdLastSet");
    assert_eq!(
        psoed.state.password_expires_at.map(|e| e.since(changed)),
        Some(Duration::from_secs(7 * 24 * 3600))
    );
    // 12 characters: enough for the domain (10), too short for the PSO (14).
    let short = dir
        .change_password(&psoed.key, &seed[8].password, &pw("Quartz-71-Ab"))
        .await;
    assert!(
        matches!(&short, Err(DirectoryError::Rejected(r)) if r.iter().any(|r| r.code() == "too_short")),
        "{short:?}"
    );
    dir.change_password(&psoed.key, &seed[8].password, &pw("Quartz-Harbour-71-Ab"))
        .await
        .unwrap();

    // Expired passwords (bind `data 532`): the account reads as must-change; the old password
    // still proves the user, who can then change it (over the service account's connection,
    // since the user cannot bind) or have it reset.
    let expired = dir.find_user(&id("ada9")).await.unwrap().unwrap();
    assert!(expired.state.must_change, "{:?}", expired.state);
    assert!(
        expired
            .state
            .password_expires_at
            .is_some_and(|at| at < latchkey_core::clock::Clock::now(&SystemClock))
    );
    assert_eq!(
        dir.verify_password(&expired.key, &seed[9].password)
            .await
            .unwrap(),
        BindOutcome::ValidMustChange
    );
    assert_eq!(
        dir.verify_password(&expired.key, &pw("Not-The-Password-9"))
            .await
            .unwrap(),
        BindOutcome::Invalid
    );
    let wrong = dir
        .change_password(
            &expired.key,
            &pw("Not-The-Password-9"),
            &pw("Cobalt-Meadow-58-Fern"),
        )
        .await;
    assert!(
        matches!(wrong, Err(DirectoryError::InvalidCredentials)),
        "{wrong:?}"
    );
    dir.change_password(
        &expired.key,
        &seed[9].password,
        &pw("Cobalt-Meadow-58-Fern"),
    )
    .await
    .unwrap();
    assert_eq!(
        dir.verify_password(&expired.key, &pw("Cobalt-Meadow-58-Fern"))
            .await
            .unwrap(),
        BindOutcome::Valid
    );
    assert!(
        !dir.find_user(&id("ada9"))
            .await
            .unwrap()
            .unwrap()
            .state
            .must_change
    );
    let key10 = seed[10].dn();
    dir.set_password(
        &key10,
        &pw("Juniper-Canyon-64-Reef"),
        ResetOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        dir.verify_password(&key10, &pw("Juniper-Canyon-64-Reef"))
            .await
            .unwrap(),
        BindOutcome::Valid
    );
    eprintln!("samba story done in {:?}", started.elapsed());
}
