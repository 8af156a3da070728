//! `POST /password/change` end to end.

use latchkey_client::ClientError;
use latchkey_directory::BindOutcome;
use latchkey_proto::Outcome;
use latchkey_tests::{TestServer, TestUser};

const ALICE: TestUser<'static> = TestUser {
    login: "alice@contoso.com",
    display_name: "Alice Martin",
    password: "Tulip-Harbor-Violet-7",
    groups: &[],
    emails: &["alice.martin@example.net"],
};

fn api(e: ClientError) -> (u16, latchkey_proto::ErrorBody) {
    match e {
        ClientError::Api { status, body } => (status, *body),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn change_password() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let key = s.add_user(ALICE).await?;
    let done = s
        .client
        .change_password("CONTOSO\\alice", ALICE.password, "plum-orbit-canvas-river")
        .await?;
    assert_eq!(done.outcome, Outcome::PasswordChanged);
    let dir = s.running.state.directory.clone();
    assert_eq!(
        dir.verify_password(&key, &"plum-orbit-canvas-river".into())
            .await?,
        BindOutcome::Valid
    );
    s.wait_mail("alice@contoso.com", "password was changed")
        .await?;

    // The old password no longer works, and neither does reusing a recent one.
    let (status, body) = api(s
        .client
        .change_password("alice", ALICE.password, "another-fresh-phrase-here")
        .await
        .unwrap_err());
    assert_eq!((status, body.code.as_str()), (401, "invalid_credentials"));
    let (status, body) = api(s
        .client
        .change_password(
            "alice",
            "plum-orbit-canvas-river",
            "plum-orbit-canvas-river",
        )
        .await
        .unwrap_err());
    assert_eq!((status, body.code.as_str()), (422, "password_rejected"));
    assert_eq!(
        body.violations
            .iter()
            .map(|v| v.rule.as_str())
            .collect::<Vec<_>>(),
        ["in_history"]
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn wrong_unknown_and_locked_look_the_same_to_the_caller() -> anyhow::Result<()> {
    let s = TestServer::start_with(|c| c.directory.lockout_threshold = 3).await?;
    s.add_user(ALICE).await?;
    let unknown = api(s
        .client
        .change_password(
            "nobody@contoso.com",
            "whatever-it-is",
            "plum-orbit-canvas-river",
        )
        .await
        .unwrap_err());
    let mut wrong = None;
    for _ in 0..3 {
        wrong = Some(api(s
            .client
            .change_password("alice", "not-her-password", "plum-orbit-canvas-river")
            .await
            .unwrap_err()));
    }
    let locked = api(s
        .client
        .change_password("alice", ALICE.password, "plum-orbit-canvas-river")
        .await
        .unwrap_err());
    let wrong = wrong.unwrap_or_else(|| unreachable!());
    assert_eq!(unknown, wrong);
    assert_eq!(wrong, locked);
    assert_eq!(locked.1.code, "invalid_credentials");
    assert!(
        locked.1.message.contains("Unlock my account"),
        "the message shows the way forward: {}",
        locked.1.message
    );
    // The audit log tells them apart.
    let events = s
        .running
        .state
        .store
        .audit_events(&latchkey_store::AuditQuery {
            user: Some("alice".into()),
            limit: 10,
            ..Default::default()
        })
        .await?;
    let outcomes: Vec<&str> = events.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(outcomes[0], "account_locked");
    assert!(outcomes.contains(&"wrong_password"));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_weak_new_password_changes_nothing() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let key = s.add_user(ALICE).await?;
    let (status, body) = api(s
        .client
        .change_password("alice", ALICE.password, "alice2026")
        .await
        .unwrap_err());
    assert_eq!(status, 422);
    let rules: Vec<&str> = body.violations.iter().map(|v| v.rule.as_str()).collect();
    assert!(
        rules.contains(&"contains_user_name") && rules.contains(&"too_weak"),
        "{rules:?}"
    );
    let dir = s.running.state.directory.clone();
    assert_eq!(
        dir.verify_password(&key, &ALICE.password.into()).await?,
        BindOutcome::Valid
    );
    s.stop().await;
    Ok(())
}
