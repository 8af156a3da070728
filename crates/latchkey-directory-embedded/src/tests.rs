//! The shared directory story on a temporary database file, and the embedded directory's own
//! rules: lockout expiry, password age, disabled users, id forms, upserts and the schema.

use std::sync::Arc;
use std::time::Duration;

use latchkey_core::clock::{ManualClock, Timestamp};
use latchkey_core::hash::PasswordHasher;
use latchkey_core::random::SeededRandom;
use latchkey_core::secret::SecretString;
use latchkey_core::user::UserId;
use latchkey_directory::story::{self, StoryFixture, StoryUser};
use latchkey_directory::{BindOutcome, Directory, DirectoryError, ResetOptions};
use tempfile::TempDir;

use crate::{EmbeddedDirectory, EmbeddedError, EmbeddedOptions, NewUser};

const START: Timestamp = Timestamp::from_millis(1_700_000_000_000);

struct Env {
    dir: EmbeddedDirectory,
    clock: Arc<ManualClock>,
    url: String,
    _tmp: TempDir,
}

fn options() -> EmbeddedOptions {
    EmbeddedOptions {
        hasher: PasswordHasher::insecure_fast(),
        lockout_threshold: 3,
        lockout_duration: Some(Duration::from_secs(30 * 60)),
        max_password_age: None,
        min_length: 8,
    }
}

async fn env_with(options: EmbeddedOptions) -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("directory.db").display());
    let clock = Arc::new(ManualClock::new(START));
    let dir = EmbeddedDirectory::open(&url, options, clock.clone(), Arc::new(SeededRandom::new(7)))
        .await
        .unwrap();
    Env {
        dir,
        clock,
        url,
        _tmp: tmp,
    }
}

async fn env() -> Env {
    env_with(options()).await
}

fn user(account: &str) -> NewUser {
    NewUser {
        login: format!("{account}@contoso.com"),
        account_name: account.to_owned(),
        display_name: format!("{account} Example"),
        given_name: Some(account.to_owned()),
        surname: Some("Example".to_owned()),
        email: Some(format!("{account}.mail@contoso.com")),
        groups: vec!["Staff".to_owned()],
        password: pw(&format!("initial-{account}-password")),
        must_change: false,
    }
}

fn pw(s: &str) -> SecretString {
    SecretString::new(s)
}

fn id(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

#[tokio::test]
async fn story_runs_on_a_file_database() {
    let env = env().await;
    let forms = [
        "story0@contoso.com",
        "story1",
        "CONTOSO\\story2",
        "Story3.Mail@Contoso.com",
        "STORY4@contoso.com",
        "story5",
    ];
    let mut users = Vec::new();
    for (n, form) in forms.iter().enumerate() {
        let new = user(&format!("story{n}"));
        let password = new.password.clone();
        env.dir.upsert_user(new).await.unwrap();
        users.push(StoryUser {
            id: id(form),
            password,
        });
    }
    let fx = StoryFixture {
        users,
        unknown: id("nobody@contoso.com"),
        strong_password: pw("violet-harbour-71-quartz"),
        strong_password_2: pw("amber-glacier-42-lantern"),
        lockout_threshold: Some(3),
        min_length: Some(8),
    };
    story::run(&env.dir, &fx).await;
}

#[tokio::test]
async fn in_memory_database_works() {
    let dir = EmbeddedDirectory::open(
        "sqlite::memory:",
        options(),
        Arc::new(ManualClock::new(START)),
        Arc::new(SeededRandom::new(1)),
    )
    .await
    .unwrap();
    let key = dir.upsert_user(user("alice")).await.unwrap();
    dir.ping().await.unwrap();
    let found = dir.find_user(&id("alice")).await.unwrap().unwrap();
    assert_eq!(found.key, key);
    assert_eq!(
        dir.verify_password(&key, &pw("initial-alice-password"))
            .await
            .unwrap(),
        BindOutcome::Valid
    );
}

#[tokio::test]
async fn keys_are_random_hex() {
    let env = env().await;
    let a = env.dir.upsert_user(user("alice")).await.unwrap();
    let b = env.dir.upsert_user(user("bob")).await.unwrap();
    for key in [&a, &b] {
        assert_eq!(key.len(), 32, "{key}");
        assert!(key.bytes().all(|c| c.is_ascii_hexdigit()), "{key}");
    }
    assert_ne!(a, b);
}

#[tokio::test]
async fn lockout_expires_after_the_duration() {
    let env = env().await;
    let key = env.dir.upsert_user(user("alice")).await.unwrap();
    let right = pw("initial-alice-password");
    for _ in 0..3 {
        assert_eq!(
            env.dir
                .verify_password(&key, &pw("nope-nope"))
                .await
                .unwrap(),
            BindOutcome::Invalid
        );
    }
    assert_eq!(
        env.dir.verify_password(&key, &right).await.unwrap(),
        BindOutcome::Locked
    );
    env.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(
        env.dir.verify_password(&key, &right).await.unwrap(),
        BindOutcome::Locked,
        "still locked a minute before the end"
    );
    // Binds against a locked account are not counted, so the lock does not grow or restart.
    env.clock.advance(Duration::from_secs(60));
    let alice = env.dir.find_user(&id("alice")).await.unwrap().unwrap();
    assert!(!alice.state.locked, "the lock has expired");

    // An expired lock restarts the count: one wrong bind does not lock again.
    assert_eq!(
        env.dir
            .verify_password(&key, &pw("nope-nope"))
            .await
            .unwrap(),
        BindOutcome::Invalid
    );
    assert_eq!(
        env.dir.verify_password(&key, &right).await.unwrap(),
        BindOutcome::Valid
    );
}

#[tokio::test]
async fn lockout_without_duration_lasts_until_unlocked() {
    let env = env_with(EmbeddedOptions {
        lockout_duration: None,
        ..options()
    })
    .await;
    let key = env.dir.upsert_user(user("alice")).await.unwrap();
    for _ in 0..3 {
        env.dir
            .verify_password(&key, &pw("nope-nope"))
            .await
            .unwrap();
    }
    env.clock.advance(Duration::from_secs(365 * 24 * 3600));
    let right = pw("initial-alice-password");
    assert_eq!(
        env.dir.verify_password(&key, &right).await.unwrap(),
        BindOutcome::Locked
    );
    env.dir.unlock(&key).await.unwrap();
    assert_eq!(
        env.dir.verify_password(&key, &right).await.unwrap(),
        BindOutcome::Valid
    );
}

#[tokio::test]
async fn right_password_resets_the_count_and_zero_threshold_never_locks() {
    let env = env().await;
    let key = env.dir.upsert_user(user("alice")).await.unwrap();
    let right = pw("initial-alice-password");
    for _ in 0..5 {
        env.dir
            .verify_password(&key, &pw("nope-nope"))
            .await
            .unwrap();
        env.dir
            .verify_password(&key, &pw("nope-nope"))
            .await
            .unwrap();
        assert_eq!(
            env.dir.verify_password(&key, &right).await.unwrap(),
            BindOutcome::Valid
        );
    }

    let never = env_with(EmbeddedOptions {
        lockout_threshold: 0,
        ..options()
    })
    .await;
    let key = never.dir.upsert_user(user("bob")).await.unwrap();
    for _ in 0..10 {
        never
            .dir
            .verify_password(&key, &pw("nope-nope"))
            .await
            .unwrap();
    }
    assert_eq!(
        never
            .dir
            .verify_password(&key, &pw("initial-bob-password"))
            .await
            .unwrap(),
        BindOutcome::Valid
    );
    let bob = never.dir.find_user(&id("bob")).await.unwrap().unwrap();
    let rules = never.dir.password_rules(&bob).await.unwrap();
    assert_eq!(rules.lockout_threshold, None);
}

#[tokio::test]
async fn max_password_age_makes_a_right_password_must_change() {
    let env = env_with(EmbeddedOptions {
        max_password_age: Some(Duration::from_secs(90 * 24 * 3600)),
        ..options()
    })
    .await;
    let key = env.dir.upsert_user(user("alice")).await.unwrap();
    let right = pw("initial-alice-password");
    assert_eq!(
        env.dir.verify_password(&key, &right).await.unwrap(),
        BindOutcome::Valid
    );
    let alice = env.dir.find_user(&id("alice")).await.unwrap().unwrap();
    assert_eq!(alice.state.password_changed_at, Some(START));
    assert_eq!(
        alice.state.password_expires_at,
        Some(START.plus(Duration::from_secs(90 * 24 * 3600)))
    );
    let rules = env.dir.password_rules(&alice).await.unwrap();
    assert_eq!(rules.max_age, Some(Duration::from_secs(90 * 24 * 3600)));

    env.clock.advance(Duration::from_secs(90 * 24 * 3600));
    assert_eq!(
        env.dir.verify_password(&key, &right).await.unwrap(),
        BindOutcome::ValidMustChange
    );
    assert!(
        env.dir
            .find_user(&id("alice"))
            .await
            .unwrap()
            .unwrap()
            .state
            .must_change
    );

    // A change restarts the age.
    let fresh = pw("violet-harbour-71-quartz");
    env.dir.change_password(&key, &right, &fresh).await.unwrap();
    assert_eq!(
        env.dir.verify_password(&key, &fresh).await.unwrap(),
        BindOutcome::Valid
    );
}

#[tokio::test]
async fn disabled_users_cannot_bind_or_change() {
    let env = env().await;
    let key = env.dir.upsert_user(user("alice")).await.unwrap();
    let right = pw("initial-alice-password");
    env.dir.set_disabled(&key, true).await.unwrap();
    let alice = env.dir.find_user(&id("alice")).await.unwrap().unwrap();
    assert!(alice.state.disabled);
    assert_eq!(
        env.dir.verify_password(&key, &right).await.unwrap(),
        BindOutcome::Disabled
    );
    // Wrong binds on a disabled account are not counted either.
    for _ in 0..5 {
        assert_eq!(
            env.dir
                .verify_password(&key, &pw("nope-nope"))
                .await
                .unwrap(),
            BindOutcome::Disabled
        );
    }
    let change = env
        .dir
        .change_password(&key, &right, &pw("violet-harbour-71-quartz"))
        .await;
    assert!(
        matches!(change, Err(DirectoryError::Disabled)),
        "{change:?}"
    );

    env.dir.set_disabled(&key, false).await.unwrap();
    assert_eq!(
        env.dir.verify_password(&key, &right).await.unwrap(),
        BindOutcome::Valid
    );
    assert!(matches!(
        env.dir.set_disabled("00", true).await,
        Err(EmbeddedError::NotFound)
    ));
}

#[tokio::test]
async fn finds_by_every_id_form_in_any_case() {
    let env = env().await;
    let key = env
        .dir
        .upsert_user(NewUser {
            login: "Alice.Martin@Contoso.com".to_owned(),
            account_name: "AMartin".to_owned(),
            email: Some("alice@mail.contoso.com".to_owned()),
            ..user("ignored")
        })
        .await
        .unwrap();
    env.dir.upsert_user(user("bob")).await.unwrap();
    for form in [
        "alice.martin@contoso.com",
        "ALICE.MARTIN@CONTOSO.COM",
        "Alice@Mail.Contoso.com",
        "amartin",
        "AMARTIN",
        "contoso\\amartin",
        "CONTOSO\\AMartin",
        "  amartin ",
    ] {
        let found = env.dir.find_user(&id(form)).await.unwrap();
        assert_eq!(
            found.as_ref().map(|u| u.key.as_str()),
            Some(key.as_str()),
            "{form}"
        );
    }
    let alice = env.dir.find_user(&id("amartin")).await.unwrap().unwrap();
    assert_eq!(alice.login, "Alice.Martin@Contoso.com");
    assert_eq!(alice.account_name, "AMartin");
    assert_eq!(alice.groups, ["Staff"]);
    for form in [
        "martin",
        "amartin@contoso.com",
        "alice.martin",
        "a%",
        "amarti_",
        "amartin\\x",
    ] {
        assert!(
            env.dir.find_user(&id(form)).await.unwrap().is_none(),
            "{form}"
        );
    }
}

#[tokio::test]
async fn an_address_shared_by_two_users_finds_nobody() {
    let env = env().await;
    for account in ["alice", "bob"] {
        env.dir
            .upsert_user(NewUser {
                email: Some("helpdesk@contoso.com".to_owned()),
                ..user(account)
            })
            .await
            .unwrap();
    }
    assert!(
        env.dir
            .find_user(&id("helpdesk@contoso.com"))
            .await
            .unwrap()
            .is_none()
    );
    // The login still wins over someone else's email.
    let carol = env
        .dir
        .upsert_user(NewUser {
            login: "helpdesk@contoso.com".to_owned(),
            email: None,
            ..user("carol")
        })
        .await
        .unwrap();
    let found = env
        .dir
        .find_user(&id("helpdesk@contoso.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.key, carol);
}

#[tokio::test]
async fn upsert_updates_the_same_login() {
    let env = env().await;
    let key = env.dir.upsert_user(user("alice")).await.unwrap();
    let updated = NewUser {
        login: "ALICE@contoso.com".to_owned(),
        display_name: "Alice Martin".to_owned(),
        groups: vec![
            "Admins".to_owned(),
            "admins".to_owned(),
            " ".to_owned(),
            "Finance".to_owned(),
        ],
        password: pw("violet-harbour-71-quartz"),
        must_change: true,
        ..user("alice")
    };
    assert_eq!(env.dir.upsert_user(updated).await.unwrap(), key);
    let all = env.dir.list_users().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].key, key);
    assert_eq!(all[0].display_name, "Alice Martin");
    assert_eq!(all[0].groups, ["Admins", "Finance"]);
    assert!(all[0].state.must_change);
    assert_eq!(
        env.dir
            .verify_password(&key, &pw("violet-harbour-71-quartz"))
            .await
            .unwrap(),
        BindOutcome::ValidMustChange
    );
    assert_eq!(
        env.dir
            .verify_password(&key, &pw("initial-alice-password"))
            .await
            .unwrap(),
        BindOutcome::Invalid
    );
}

#[tokio::test]
async fn upsert_refuses_bad_users() {
    let env = env().await;
    env.dir.upsert_user(user("alice")).await.unwrap();
    let taken = env
        .dir
        .upsert_user(NewUser {
            login: "other@contoso.com".to_owned(),
            account_name: "ALICE".to_owned(),
            ..user("other")
        })
        .await;
    assert!(matches!(taken, Err(EmbeddedError::Conflict)), "{taken:?}");

    let cases = [
        (
            NewUser {
                login: "CONTOSO\\bob".to_owned(),
                ..user("bob")
            },
            "login",
        ),
        (
            NewUser {
                account_name: "bob@contoso.com".to_owned(),
                ..user("bob")
            },
            "account_name",
        ),
        (
            NewUser {
                account_name: "bob*".to_owned(),
                ..user("bob")
            },
            "account_name",
        ),
        (
            NewUser {
                email: Some("bob".to_owned()),
                ..user("bob")
            },
            "email",
        ),
    ];
    for (new, want) in cases {
        let got = env.dir.upsert_user(new).await;
        assert!(
            matches!(got, Err(EmbeddedError::InvalidField { field, .. }) if field == want),
            "{want}: {got:?}"
        );
    }
    let short = env
        .dir
        .upsert_user(NewUser {
            password: pw("short"),
            ..user("bob")
        })
        .await;
    assert!(
        matches!(short, Err(EmbeddedError::PasswordTooShort { min: 8 })),
        "{short:?}"
    );
    assert_eq!(env.dir.list_users().await.unwrap().len(), 1);
}

#[tokio::test]
async fn admin_reset_respects_the_minimum_and_keeps_a_lock_unless_asked() {
    let env = env().await;
    let key = env.dir.upsert_user(user("alice")).await.unwrap();
    let short = env
        .dir
        .set_password(&key, &pw("1234567"), ResetOptions::default())
        .await;
    assert!(
        matches!(&short, Err(DirectoryError::Rejected(r)) if r.iter().map(|r| r.code()).eq(["too_short"])),
        "{short:?}"
    );
    for _ in 0..3 {
        env.dir
            .verify_password(&key, &pw("nope-nope"))
            .await
            .unwrap();
    }
    let fresh = pw("violet-harbour-71-quartz");
    env.dir
        .set_password(&key, &fresh, ResetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        env.dir.verify_password(&key, &fresh).await.unwrap(),
        BindOutcome::Locked,
        "a reset without unlock leaves the lock"
    );
}

#[tokio::test]
async fn change_reports_every_broken_rule_and_counts_wrong_old_passwords() {
    let env = env().await;
    let key = env.dir.upsert_user(user("alice")).await.unwrap();
    let right = pw("initial-alice-password");
    for _ in 0..3 {
        let r = env
            .dir
            .change_password(&key, &pw("nope-nope"), &pw("violet-harbour-71-quartz"))
            .await;
        assert!(
            matches!(r, Err(DirectoryError::InvalidCredentials)),
            "{r:?}"
        );
    }
    let r = env
        .dir
        .change_password(&key, &right, &pw("violet-harbour-71-quartz"))
        .await;
    assert!(matches!(r, Err(DirectoryError::Locked)), "{r:?}");
    env.dir.unlock(&key).await.unwrap();

    let short_env = env_with(EmbeddedOptions {
        min_length: 30,
        ..options()
    })
    .await;
    let key = short_env
        .dir
        .upsert_user(NewUser {
            password: pw("a-password-of-thirty-characters"),
            ..user("bob")
        })
        .await
        .unwrap();
    let same = pw("a-password-of-thirty-characters");
    let r = short_env.dir.change_password(&key, &same, &same).await;
    assert!(
        matches!(&r, Err(DirectoryError::Rejected(rules)) if rules.iter().map(|r| r.code()).eq(["in_history"])),
        "{r:?}"
    );
}

#[tokio::test]
async fn deleted_users_are_gone() {
    let env = env().await;
    let key = env.dir.upsert_user(user("alice")).await.unwrap();
    env.dir.delete_user(&key).await.unwrap();
    assert!(env.dir.find_user(&id("alice")).await.unwrap().is_none());
    assert!(matches!(
        env.dir
            .verify_password(&key, &pw("initial-alice-password"))
            .await,
        Err(DirectoryError::NotFound)
    ));
    assert!(matches!(
        env.dir.unlock(&key).await,
        Err(DirectoryError::NotFound)
    ));
    assert!(matches!(
        env.dir.delete_user(&key).await,
        Err(EmbeddedError::NotFound)
    ));
    // The group rows went with the user (foreign keys are on), so the login can come back.
    env.dir.upsert_user(user("alice")).await.unwrap();
    assert_eq!(env.dir.list_users().await.unwrap()[0].groups, ["Staff"]);
}

#[tokio::test]
async fn reopening_keeps_users() {
    let env = env().await;
    let key = env.dir.upsert_user(user("alice")).await.unwrap();
    env.dir.close().await;
    let again = EmbeddedDirectory::open(
        &env.url,
        options(),
        env.clock.clone(),
        Arc::new(SeededRandom::new(8)),
    )
    .await
    .unwrap();
    let alice = again.find_user(&id("alice")).await.unwrap().unwrap();
    assert_eq!(alice.key, key);
    assert_eq!(
        again
            .verify_password(&key, &pw("initial-alice-password"))
            .await
            .unwrap(),
        BindOutcome::Valid
    );
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let env = env().await;
    env.dir.close().await;
    {
        let pool = sqlx::SqlitePool::connect(&env.url).await.unwrap();
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, 'future', 0)",
        )
        .bind(crate::migrate::latest_version() + 1)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let refused = EmbeddedDirectory::open(
        &env.url,
        options(),
        env.clock.clone(),
        Arc::new(SeededRandom::new(9)),
    )
    .await;
    assert!(
        matches!(refused, Err(EmbeddedError::SchemaTooNew { found, supported }) if found == supported + 1),
        "{:?}",
        refused.err()
    );
}
