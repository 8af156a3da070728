//! The shared directory story and LDAP-specific checks against a private slapd (see
//! `latchkey_directory_ldap::testing`). Skipped only when slapd is not installed and
//! `LATCHKEY_REQUIRE_SLAPD` is unset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use latchkey_core::clock::SystemClock;
use latchkey_core::secret::SecretString;
use latchkey_core::user::UserId;
use latchkey_directory::story::{self, StoryFixture, StoryUser};
use latchkey_directory::{BindOutcome, Directory, DirectoryError, ResetOptions};
use latchkey_directory_ldap::testing::{self, TestSlapd, TestUser};
use latchkey_directory_ldap::{LdapDirectory, LdapSettings};

fn pw(s: &str) -> SecretString {
    SecretString::new(s)
}

fn id(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

fn users(prefix: &str, n: usize) -> Vec<TestUser> {
    (0..n)
        .map(|i| {
            TestUser::new(
                &format!("{prefix}{i}"),
                &format!("{prefix}{i}-Initial-Secret-1"),
            )
        })
        .collect()
}

/// slapd with `seed`, or `None` when the test should be skipped.
fn slapd(seed: &[TestUser]) -> Option<TestSlapd> {
    if !testing::slapd_available().unwrap() {
        return None;
    }
    Some(TestSlapd::start(seed).unwrap())
}

fn directory(settings: LdapSettings) -> LdapDirectory {
    LdapDirectory::new(settings, Arc::new(SystemClock)).unwrap()
}

#[tokio::test]
async fn story_runs_on_slapd() {
    let seed = users("story", 6);
    let Some(server) = slapd(&seed) else { return };
    let dir = directory(server.settings());
    let forms = [
        "story0@example.org",
        "story1",
        "EXAMPLE\\story2",
        "Story3@Example.org",
        "STORY4",
        "story5",
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
        unknown: id("nobody@example.org"),
        strong_password: pw("violet-harbour-71-quartz"),
        strong_password_2: pw("amber-glacier-42-lantern"),
        lockout_threshold: Some(testing::LOCKOUT_THRESHOLD),
        min_length: Some(testing::MIN_LENGTH),
    };
    story::run(&dir, &fx).await;
}

#[tokio::test]
async fn find_reads_names_state_and_rules() {
    let mut seed = users("reader", 1);
    seed[0].names = Some(("Rhea".into(), "Der".into()));
    seed[0].mobile = Some("+44 7700 900123".into());
    seed[0].telephone_number = Some("+44 20 7946 0000".into());
    let Some(server) = slapd(&seed) else { return };
    let dir = directory(server.settings());
    let user = dir.find_user(&id("reader0")).await.unwrap().unwrap();
    assert_eq!(user.key, TestSlapd::user_dn("reader0"));
    assert_eq!(user.login, "reader0");
    assert_eq!(user.display_name, "Rhea Der");
    assert_eq!(user.given_name.as_deref(), Some("Rhea"));
    assert_eq!(user.email.as_deref(), Some("reader0@example.org"));
    assert_eq!(user.mobile.as_deref(), Some("+44 7700 900123"));
    assert_eq!(user.office_phone.as_deref(), Some("+44 20 7946 0000"));
    assert!(!user.state.locked && !user.state.must_change && !user.state.disabled);
    let rules = dir.password_rules(&user).await.unwrap();
    assert_eq!(rules.min_length, Some(testing::MIN_LENGTH));
    assert_eq!(rules.history, Some(testing::HISTORY));
    assert_eq!(
        rules.max_age,
        Some(std::time::Duration::from_secs(testing::MAX_AGE_SECS))
    );
    assert_eq!(rules.lockout_threshold, Some(testing::LOCKOUT_THRESHOLD));
    assert_eq!(dir.kind(), "ldap");
    assert!(dir.keeps_history());
    dir.ping().await.unwrap();

    // A change sets pwdChangedTime, so the expiry follows from the policy's maximum age.
    dir.change_password(
        &user.key,
        &seed[0].password,
        &pw("violet-harbour-71-quartz"),
    )
    .await
    .unwrap();
    let state = dir.find_user(&id("reader0")).await.unwrap().unwrap().state;
    let changed = state
        .password_changed_at
        .expect("pwdChangedTime after a change");
    assert_eq!(
        state.password_expires_at,
        Some(changed.plus(std::time::Duration::from_secs(testing::MAX_AGE_SECS)))
    );
}

#[tokio::test]
async fn injection_attempts_find_nobody() {
    let seed = users("inj", 2);
    let Some(server) = slapd(&seed) else { return };
    let dir = directory(server.settings());
    // UserId refuses `*()`; these are the ones it lets through that a careless filter would
    // still turn into wildcards or extra syntax.
    for raw in ["inj\\2a", "i\\2a", "inj0\\29", "inj\\5c2a", "\\00", "inj%"] {
        let Ok(probe) = UserId::parse(raw) else {
            continue;
        };
        let hit = dir.find_user(&probe).await.unwrap();
        assert!(hit.is_none(), "{raw:?} found {hit:?}");
    }
    // Keys outside the base DN are refused before anything is sent.
    let outside = dir
        .set_password(
            "cn=latchkey,ou=services,dc=example,dc=org,dc=evil",
            &pw("violet-harbour-71-quartz"),
            ResetOptions::default(),
        )
        .await;
    assert!(
        matches!(outside, Err(DirectoryError::NotFound)),
        "{outside:?}"
    );
}

#[tokio::test]
async fn the_service_connection_recovers_after_a_restart() {
    let seed = users("restart", 1);
    let Some(mut server) = slapd(&seed) else {
        return;
    };
    let dir = directory(server.settings());
    assert!(dir.find_user(&id("restart0")).await.unwrap().is_some());
    server.stop();
    assert!(matches!(
        dir.find_user(&id("restart0")).await,
        Err(DirectoryError::Unavailable(_))
    ));
    server.restart().unwrap();
    // Every pooled connection died with the server; each slot reconnects on its next turn.
    for _ in 0..2 * dir_pool_size() {
        assert!(dir.find_user(&id("restart0")).await.unwrap().is_some());
    }
    let key = TestSlapd::user_dn("restart0");
    assert_eq!(
        dir.verify_password(&key, &seed[0].password).await.unwrap(),
        BindOutcome::Valid
    );
}

fn dir_pool_size() -> usize {
    LdapSettings::new("ldap://x", "", pw(""), "").pool_size
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_serves_concurrent_calls() {
    let seed = users("pool", 4);
    let Some(server) = slapd(&seed) else { return };
    let mut settings = server.settings();
    settings.pool_size = 3;
    let dir = Arc::new(directory(settings));
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let dir = Arc::clone(&dir);
            let name = format!("pool{}", i % 4);
            tokio::spawn(async move { dir.find_user(&id(&name)).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let user = task.await.unwrap().unwrap().expect("found");
        assert_eq!(user.login, format!("pool{}", i % 4));
    }
    // Resets go through the pool as well.
    let key = TestSlapd::user_dn("pool0");
    dir.set_password(&key, &pw("Pool-Reset-Secret-9"), ResetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        dir.verify_password(&key, &pw("Pool-Reset-Secret-9"))
            .await
            .unwrap(),
        BindOutcome::Valid
    );
}

#[tokio::test]
async fn a_wrong_service_password_is_unavailable() {
    let seed = users("svc", 1);
    let Some(server) = slapd(&seed) else { return };
    let mut settings = server.settings();
    settings.bind_password = pw("not-the-password");
    let dir = directory(settings);
    assert!(matches!(
        dir.find_user(&id("svc0")).await,
        Err(DirectoryError::Unavailable(_))
    ));
}

/// Regression guard: unlocking removes pwdAccountLockedTime only; if the failure times stayed,
/// one more wrong bind after an unlock would lock the account again at once.
#[tokio::test]
async fn unlock_forgets_earlier_failures() {
    let seed = users("unlock", 1);
    let Some(server) = slapd(&seed) else { return };
    let dir = directory(server.settings());
    let key = TestSlapd::user_dn("unlock0");
    let right = &seed[0].password;
    for n in 0..testing::LOCKOUT_THRESHOLD {
        let _ = dir
            .verify_password(&key, &pw(&format!("wrong-password-{n}")))
            .await
            .unwrap();
    }
    assert_eq!(
        dir.verify_password(&key, right).await.unwrap(),
        BindOutcome::Locked
    );
    dir.unlock(&key).await.unwrap();
    assert_eq!(
        dir.verify_password(&key, &pw("wrong-again")).await.unwrap(),
        BindOutcome::Invalid
    );
    assert_eq!(
        dir.verify_password(&key, right).await.unwrap(),
        BindOutcome::Valid
    );
}

#[tokio::test]
async fn reset_refusals_and_must_change_flags() {
    let seed = users("reset", 2);
    let Some(server) = slapd(&seed) else { return };
    let dir = directory(server.settings());
    let key = TestSlapd::user_dn("reset0");
    // The service account is not the rootdn, so ppolicy checks its resets too.
    let short = dir
        .set_password(&key, &pw("short"), ResetOptions::default())
        .await;
    match short {
        Err(DirectoryError::Rejected(rules)) => {
            assert_eq!(
                rules.iter().map(|r| r.code()).collect::<Vec<_>>(),
                ["too_short"]
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    // pwdMustChange is on in the test policy, so the server flags every reset; a reset without
    // must-change clears the flag again.
    dir.set_password(
        &key,
        &pw("violet-harbour-71-quartz"),
        ResetOptions::default(),
    )
    .await
    .unwrap();
    let user = dir.find_user(&id("reset0")).await.unwrap().unwrap();
    assert!(!user.state.must_change, "{:?}", user.state);
    assert_eq!(
        dir.verify_password(&key, &pw("violet-harbour-71-quartz"))
            .await
            .unwrap(),
        BindOutcome::Valid
    );
    // A must-change user's change goes through the restricted session and clears the flag.
    let key1 = TestSlapd::user_dn("reset1");
    dir.set_password(
        &key1,
        &pw("amber-glacier-42-lantern"),
        ResetOptions {
            unlock: false,
            must_change: true,
        },
    )
    .await
    .unwrap();
    let refused = dir
        .change_password(
            &key1,
            &pw("amber-glacier-42-lantern"),
            &pw("amber-glacier-42-lantern"),
        )
        .await;
    assert!(
        matches!(&refused, Err(DirectoryError::Rejected(r)) if r.iter().any(|r| r.code() == "in_history")),
        "{refused:?}"
    );
    dir.change_password(
        &key1,
        &pw("amber-glacier-42-lantern"),
        &pw("violet-harbour-71-quartz"),
    )
    .await
    .unwrap();
    let user = dir.find_user(&id("reset1")).await.unwrap().unwrap();
    assert!(!user.state.must_change);
}

/// LDAPS and StartTLS with the certificate verified against the test CA; a wrong trust anchor
/// fails closed as Unavailable.
#[tokio::test]
async fn tls_and_starttls_verify_the_ca() {
    if !testing::slapd_available().unwrap() {
        return;
    }
    let seed = users("tls", 1);
    let server = TestSlapd::start_with(&seed, true).unwrap();
    let ca = server.ca_file.clone().unwrap();
    let key = TestSlapd::user_dn("tls0");

    let mut ldaps = server.settings();
    ldaps.url = server.ldaps_url.clone().unwrap();
    ldaps.ca_file = Some(ca.clone());
    let mut starttls = server.settings();
    starttls.starttls = true;
    starttls.ca_file = Some(ca.clone());
    for (what, settings) in [("ldaps", ldaps.clone()), ("starttls", starttls)] {
        let dir = directory(settings);
        let user = dir.find_user(&id("tls0")).await.unwrap();
        assert!(user.is_some(), "{what}: find");
        assert_eq!(
            dir.verify_password(&key, &seed[0].password).await.unwrap(),
            BindOutcome::Valid,
            "{what}: bind"
        );
    }

    // The server's own leaf is not the CA that signed it: verification must fail.
    let mut wrong = ldaps;
    wrong.ca_file = Some(ca.with_file_name("server.pem"));
    let dir = directory(wrong);
    let got = dir.find_user(&id("tls0")).await;
    assert!(
        matches!(&got, Err(DirectoryError::Unavailable(m)) if m.contains("UnknownIssuer") || m.contains("certificate")),
        "{got:?}"
    );
    let got = dir.verify_password(&key, &seed[0].password).await;
    assert!(
        matches!(got, Err(DirectoryError::Unavailable(_))),
        "{got:?}"
    );
}

/// An expired password (pwdChangedTime + pwdMaxAge in the past): the right password reports
/// must-change, a wrong one stays Invalid, and the change goes through although the user cannot
/// bind.
#[tokio::test]
async fn expired_passwords_can_be_changed() {
    let mut seed = users("expired", 1);
    seed[0].expired = true;
    let Some(server) = slapd(&seed) else { return };
    let dir = directory(server.settings());
    let key = TestSlapd::user_dn("expired0");
    let old = &seed[0].password;
    let user = dir.find_user(&id("expired0")).await.unwrap().unwrap();
    let expires = user.state.password_expires_at.expect("an expiry");
    assert!(expires < latchkey_core::clock::Clock::now(&SystemClock));
    assert_eq!(
        dir.verify_password(&key, old).await.unwrap(),
        BindOutcome::ValidMustChange
    );
    assert_eq!(
        dir.verify_password(&key, &pw("expired0-wrong"))
            .await
            .unwrap(),
        BindOutcome::Invalid
    );
    let wrong_old = dir
        .change_password(&key, &pw("expired0-wrong"), &pw("violet-harbour-71-quartz"))
        .await;
    assert!(
        matches!(wrong_old, Err(DirectoryError::InvalidCredentials)),
        "{wrong_old:?}"
    );
    dir.change_password(&key, old, &pw("violet-harbour-71-quartz"))
        .await
        .unwrap();
    assert_eq!(
        dir.verify_password(&key, &pw("violet-harbour-71-quartz"))
            .await
            .unwrap(),
        BindOutcome::Valid
    );
    let state = dir.find_user(&id("expired0")).await.unwrap().unwrap().state;
    assert!(!state.must_change, "{state:?}");
    assert!(state.password_expires_at.unwrap() > expires);
}

/// OpenLDAP's permanent administrative lock is reported as disabled, not as a lockout.
#[tokio::test]
async fn an_administrative_lock_is_disabled() {
    let mut seed = users("disabled", 1);
    seed[0].disabled = true;
    let Some(server) = slapd(&seed) else { return };
    let dir = directory(server.settings());
    let key = TestSlapd::user_dn("disabled0");
    let state = dir
        .find_user(&id("disabled0"))
        .await
        .unwrap()
        .unwrap()
        .state;
    assert!(state.disabled && !state.locked, "{state:?}");
    assert_eq!(
        dir.verify_password(&key, &seed[0].password).await.unwrap(),
        BindOutcome::Disabled
    );
    let change = dir
        .change_password(&key, &seed[0].password, &pw("violet-harbour-71-quartz"))
        .await;
    assert!(
        matches!(change, Err(DirectoryError::Disabled)),
        "{change:?}"
    );
}
