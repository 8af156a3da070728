//! Anonymous recovery end to end: codes read from captured mail.

use std::time::Duration;

use latchkey_client::ClientError;
use latchkey_proto::{Intent, NextStep, Outcome, StartRecovery};
use latchkey_tests::{TestServer, TestUser};

fn start(user_id: &str, intent: Intent) -> StartRecovery {
    StartRecovery {
        user_id: user_id.into(),
        intent,
        captcha_id: String::new(),
        captcha_answer: String::new(),
    }
}

fn code_of(e: &ClientError) -> &str {
    e.code().unwrap_or("<transport>")
}

const ALICE: TestUser<'static> = TestUser {
    login: "alice@contoso.com",
    display_name: "Alice Martin",
    password: "Tulip-Harbor-Violet-7",
    groups: &[],
    emails: &["alice.martin@example.net"],
};

#[tokio::test]
async fn reset_with_one_method() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let key = s.add_user(ALICE).await?;
    let flow = s
        .client
        .start_recovery(&start("Alice@Contoso.com", Intent::Reset))
        .await?;
    assert_eq!(flow.methods_required, 1);
    assert_eq!(flow.methods.len(), 1);
    assert_eq!(flow.methods[0].hint, "a•••@example.net");

    let ch = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    assert_eq!((ch.code_length, ch.hint.as_str()), (6, "a•••@example.net"));
    let code = s.next_code("alice.martin@example.net").await?;
    let v = s
        .client
        .verify(&flow.flow_id, &ch.challenge_id, &code)
        .await?;
    assert_eq!((v.methods_verified, v.next), (1, NextStep::SetPassword));
    // The embedded directory adds no rules: the service's own, with its own history.
    assert_eq!(
        v.password_policy.as_ref(),
        Some(&s.client.config().await?.password_policy)
    );
    assert_eq!(
        s.client
            .challenge_status(&flow.flow_id, &ch.challenge_id)
            .await?
            .state,
        "verified"
    );

    let done = s
        .client
        .set_password(&flow.flow_id, "plum-orbit-canvas-river")
        .await?;
    assert_eq!(done.outcome, Outcome::PasswordReset);

    // The directory has the new password, not the old one.
    let dir = s.running.state.directory.clone();
    use latchkey_directory::BindOutcome;
    assert_eq!(
        dir.verify_password(&key, &"plum-orbit-canvas-river".into())
            .await?,
        BindOutcome::Valid
    );
    assert_eq!(
        dir.verify_password(&key, &"Tulip-Harbor-Violet-7".into())
            .await?,
        BindOutcome::Invalid
    );

    // Confirmations reach the primary and the registered address.
    for to in ["alice@contoso.com", "alice.martin@example.net"] {
        let mail = s.wait_mail(to, "password was reset").await?;
        assert!(
            mail.body_text().contains("contact your administrator")
                || mail.body_text().contains("contact"),
            "{}",
            mail.body_text()
        );
    }
    // The flow is spent.
    let again = s
        .client
        .set_password(&flow.flow_id, "another-fresh-phrase-here")
        .await
        .unwrap_err();
    assert_eq!(code_of(&again), "flow_completed");

    // Every step was audited, and no secret is in the audit log.
    let events = s
        .running
        .state
        .store
        .audit_events(&latchkey_store::AuditQuery {
            user: Some("alice@contoso.com".into()),
            limit: 50,
            ..Default::default()
        })
        .await?;
    let actions: Vec<&str> = events
        .iter()
        .rev()
        .filter(|e| e.flow.is_some())
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "recovery.started",
            "challenge.code_sent",
            "challenge.verified",
            "password.reset"
        ]
    );
    for e in &events {
        let text = format!("{e:?}");
        assert!(
            !text.contains(&code) && !text.contains("plum-orbit"),
            "secret in audit: {text}"
        );
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn reset_with_two_methods_required() -> anyhow::Result<()> {
    let s = TestServer::start_with(|c| c.recovery.methods_required = 2).await?;
    s.add_user(TestUser {
        emails: &["bob.chen@example.net", "bchen@example.org"],
        login: "bob@contoso.com",
        display_name: "Bob Chen",
        ..ALICE
    })
    .await?;
    let flow = s
        .client
        .start_recovery(&start("bob", Intent::Reset))
        .await?;
    assert_eq!((flow.methods_required, flow.methods.len()), (2, 2));

    let first = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    let code = s.next_code("bob.chen@example.net").await?;
    let v = s
        .client
        .verify(&flow.flow_id, &first.challenge_id, &code)
        .await?;
    assert_eq!(
        (v.methods_verified, v.methods_required, v.next),
        (1, 2, NextStep::ChooseAnotherMethod)
    );

    // One method is not enough, and the same method twice does not count as two.
    assert_eq!(
        code_of(
            &s.client
                .set_password(&flow.flow_id, "plum-orbit-canvas-river")
                .await
                .unwrap_err()
        ),
        "not_verified"
    );
    assert_eq!(
        code_of(
            &s.client
                .start_challenge(&flow.flow_id, &flow.methods[0].id)
                .await
                .unwrap_err()
        ),
        "method_already_verified"
    );

    let second = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[1].id)
        .await?;
    let code = s.next_code("bchen@example.org").await?;
    let v = s
        .client
        .verify(&flow.flow_id, &second.challenge_id, &code)
        .await?;
    assert_eq!((v.methods_verified, v.next), (2, NextStep::SetPassword));
    assert_eq!(
        s.client
            .set_password(&flow.flow_id, "plum-orbit-canvas-river")
            .await?
            .outcome,
        Outcome::PasswordReset
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn administrators_need_two_methods() -> anyhow::Result<()> {
    let s = TestServer::start_with(|c| {
        c.organisation.admin_alert_email = Some("security@contoso.com".into())
    })
    .await?;
    s.add_user(TestUser {
        login: "carol@contoso.com",
        display_name: "Carol Diaz",
        groups: &["Domain Admins"],
        emails: &["carol@example.net", "cdiaz@example.org"],
        ..ALICE
    })
    .await?;
    let flow = s
        .client
        .start_recovery(&start("carol@contoso.com", Intent::Reset))
        .await?;
    assert_eq!(flow.methods_required, 2);
    for (m, to) in flow
        .methods
        .iter()
        .zip(["carol@example.net", "cdiaz@example.org"])
    {
        let ch = s.client.start_challenge(&flow.flow_id, &m.id).await?;
        let code = s.next_code(to).await?;
        s.client
            .verify(&flow.flow_id, &ch.challenge_id, &code)
            .await?;
    }
    s.client
        .set_password(&flow.flow_id, "plum-orbit-canvas-river")
        .await?;
    let alert = s.wait_mail("security@contoso.com", "administrator").await?;
    assert!(
        alert.body_text().contains("carol@contoso.com"),
        "{}",
        alert.body_text()
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn unlock_keeps_the_password() -> anyhow::Result<()> {
    let s = TestServer::start_with(|c| c.directory.lockout_threshold = 3).await?;
    let key = s.add_user(ALICE).await?;
    let dir = s.running.state.directory.clone();
    use latchkey_directory::BindOutcome;
    for _ in 0..3 {
        dir.verify_password(&key, &"wrong-password".into()).await?;
    }
    assert_eq!(
        dir.verify_password(&key, &ALICE.password.into()).await?,
        BindOutcome::Locked
    );

    let flow = s
        .verified_flow(&start("alice", Intent::Unlock), "alice.martin@example.net")
        .await?;
    let done = s.client.unlock(&flow.flow_id).await?;
    assert_eq!(done.outcome, Outcome::AccountUnlocked);
    assert_eq!(
        dir.verify_password(&key, &ALICE.password.into()).await?,
        BindOutcome::Valid
    );
    s.wait_mail("alice@contoso.com", "unlocked").await?;

    // A reset flow cannot be used to unlock.
    let flow = s
        .client
        .start_recovery(&start("alice", Intent::Reset))
        .await?;
    s.clock.advance(Duration::from_secs(61));
    let ch = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    let code = s.next_code("alice.martin@example.net").await?;
    s.client
        .verify(&flow.flow_id, &ch.challenge_id, &code)
        .await?;
    assert_eq!(
        code_of(&s.client.unlock(&flow.flow_id).await.unwrap_err()),
        "wrong_intent"
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn weak_password_lists_every_broken_rule_and_keeps_the_flow() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(ALICE).await?;
    let flow = s
        .verified_flow(&start("alice", Intent::Reset), "alice.martin@example.net")
        .await?;

    let cases: &[(&str, &[&str])] = &[
        ("alice1", &["too_short", "contains_user_name", "too_weak"]),
        ("Password1!", &["banned", "too_weak"]),
        ("Contoso2026", &["banned", "too_weak"]),
        ("martin-velvet-quarry-9", &["contains_user_name"]),
    ];
    for (pw, want) in cases {
        let err = s.client.set_password(&flow.flow_id, pw).await.unwrap_err();
        let ClientError::Api { status, body } = err else {
            panic!("{err}")
        };
        assert_eq!(status, 422);
        assert_eq!(body.code, "password_rejected");
        let rules: Vec<&str> = body.violations.iter().map(|v| v.rule.as_str()).collect();
        assert_eq!(rules, *want, "{pw}");
        assert!(body.violations.iter().all(|v| !v.message.is_empty()));
    }
    // Nothing was lost: the same flow still accepts a good password.
    s.client
        .set_password(&flow.flow_id, "plum-orbit-canvas-river")
        .await?;
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn history_is_kept_where_the_directory_keeps_none() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(ALICE).await?;
    for (i, pw) in ["plum-orbit-canvas-river", "plum-orbit-canvas-river"]
        .iter()
        .enumerate()
    {
        s.clock.advance(Duration::from_secs(120));
        let flow = s
            .client
            .start_recovery(&start("alice", Intent::Reset))
            .await?;
        let ch = s
            .client
            .start_challenge(&flow.flow_id, &flow.methods[0].id)
            .await?;
        let code = s.next_code("alice.martin@example.net").await?;
        s.client
            .verify(&flow.flow_id, &ch.challenge_id, &code)
            .await?;
        let result = s.client.set_password(&flow.flow_id, pw).await;
        if i == 0 {
            result?;
        } else {
            let err = result.unwrap_err();
            let ClientError::Api { body, .. } = &err else {
                panic!("{err}")
            };
            assert_eq!(
                body.violations
                    .iter()
                    .map(|v| v.rule.as_str())
                    .collect::<Vec<_>>(),
                ["in_history"]
            );
        }
    }
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn expired_code() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(ALICE).await?;
    let flow = s
        .client
        .start_recovery(&start("alice", Intent::Reset))
        .await?;
    let ch = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    let code = s.next_code("alice.martin@example.net").await?;
    s.clock.advance(Duration::from_secs(10 * 60));
    assert_eq!(
        code_of(
            &s.client
                .verify(&flow.flow_id, &ch.challenge_id, &code)
                .await
                .unwrap_err()
        ),
        "code_expired"
    );
    assert_eq!(
        s.client
            .challenge_status(&flow.flow_id, &ch.challenge_id)
            .await?
            .state,
        "failed"
    );
    // A new code works within the same flow.
    let ch = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    let code = s.next_code("alice.martin@example.net").await?;
    s.client
        .verify(&flow.flow_id, &ch.challenge_id, &code)
        .await?;
    // The flow itself expires too.
    s.clock.advance(Duration::from_secs(15 * 60));
    assert_eq!(
        code_of(
            &s.client
                .set_password(&flow.flow_id, "plum-orbit-canvas-river")
                .await
                .unwrap_err()
        ),
        "flow_expired"
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn too_many_attempts_burn_the_code() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(ALICE).await?;
    let flow = s
        .client
        .start_recovery(&start("alice", Intent::Reset))
        .await?;
    let ch = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    let code = s.next_code("alice.martin@example.net").await?;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..5).rev() {
        let err = s
            .client
            .verify(&flow.flow_id, &ch.challenge_id, wrong)
            .await
            .unwrap_err();
        let ClientError::Api { body, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(
            (body.code.as_str(), body.attempts_left),
            ("code_invalid", Some(left))
        );
    }
    assert_eq!(
        code_of(
            &s.client
                .verify(&flow.flow_id, &ch.challenge_id, wrong)
                .await
                .unwrap_err()
        ),
        "too_many_attempts"
    );
    // Even the right code is refused now.
    assert_eq!(
        code_of(
            &s.client
                .verify(&flow.flow_id, &ch.challenge_id, &code)
                .await
                .unwrap_err()
        ),
        "too_many_attempts"
    );
    // A malformed code does not use up a try.
    assert_eq!(
        code_of(
            &s.client
                .verify(&flow.flow_id, &ch.challenge_id, "12ab")
                .await
                .unwrap_err()
        ),
        "too_many_attempts"
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn reused_code_and_resend_pacing() -> anyhow::Result<()> {
    let s = TestServer::start_with(|c| c.recovery.methods_required = 2).await?;
    s.add_user(TestUser {
        emails: &["alice.martin@example.net", "am@example.org"],
        ..ALICE
    })
    .await?;
    let flow = s
        .client
        .start_recovery(&start("alice", Intent::Reset))
        .await?;
    let ch = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    // Asking again at once is paced.
    let err = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await
        .unwrap_err();
    let ClientError::Api { status, body } = &err else {
        panic!("{err}")
    };
    assert_eq!((*status, body.code.as_str()), (429, "resend_too_soon"));
    assert!(body.retry_after.is_some_and(|s| s <= 60));
    let code = s.next_code("alice.martin@example.net").await?;
    s.client
        .verify(&flow.flow_id, &ch.challenge_id, &code)
        .await?;
    // The same code again: the method is verified already and the code is spent.
    assert_eq!(
        code_of(
            &s.client
                .verify(&flow.flow_id, &ch.challenge_id, &code)
                .await
                .unwrap_err()
        ),
        "method_already_verified"
    );
    // A code from one challenge does not verify another.
    let ch2 = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[1].id)
        .await?;
    let _ = s.next_code("am@example.org").await?;
    let other_code = s
        .next_code_within("alice.martin@example.net", Duration::from_millis(500))
        .await;
    assert!(
        other_code.is_err(),
        "no second code was sent to the first address"
    );
    let err = s
        .client
        .verify(&flow.flow_id, &ch2.challenge_id, &code)
        .await
        .unwrap_err();
    // Unless the two six-digit codes happen to coincide (one in a million).
    assert_eq!(code_of(&err), "code_invalid");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn unknown_and_unregistered_users_get_a_consistent_decoy() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(ALICE).await?;
    s.add_user(TestUser {
        login: "erin@contoso.com",
        display_name: "Erin Walsh",
        emails: &[],
        ..ALICE
    })
    .await?;
    let real = s
        .client
        .start_recovery(&start("alice@contoso.com", Intent::Reset))
        .await?;
    for who in ["mallory@contoso.com", "erin@contoso.com"] {
        let a = s.client.start_recovery(&start(who, Intent::Reset)).await?;
        let b = s.client.start_recovery(&start(who, Intent::Reset)).await?;
        // Same shape as a real flow: one method required as for most users (or two, as for
        // administrators, in a share of decoys), and enough methods to satisfy it.
        assert!([1, 2].contains(&a.methods_required), "{who}");
        assert_eq!(a.methods_required, b.methods_required);
        assert!(a.methods.len() >= usize::from(a.methods_required));
        assert_eq!(real.methods_required, 1);
        assert!(a.methods.iter().all(|m| m.hint.contains("•••@")
            && m.id.starts_with("me_")
            && m.id.len() == real.methods[0].id.len()));
        assert_eq!(a.flow_id.len(), real.flow_id.len());
        // Consistent: asking twice shows the same hints, and the ids change per flow, exactly
        // as a real user's do.
        let hints = |f: &latchkey_proto::RecoveryStarted| {
            f.methods.iter().map(|m| m.hint.clone()).collect::<Vec<_>>()
        };
        assert_eq!(hints(&a), hints(&b), "{who}");
        assert!(
            a.methods.iter().zip(&b.methods).all(|(x, y)| x.id != y.id),
            "{who}"
        );
        assert_ne!(a.flow_id, b.flow_id);
        // Every spelling of the id agrees, as it does for a real user.
        let account = who.split('@').next().unwrap_or(who);
        for spelling in [account.to_uppercase(), format!("CONTOSO\\{account}")] {
            let c = s
                .client
                .start_recovery(&start(&spelling, Intent::Reset))
                .await?;
            assert_eq!(hints(&c), hints(&a), "{spelling}");
        }
        // Sending "works", no mail leaves, and every code is wrong.
        let ch = s
            .client
            .start_challenge(&a.flow_id, &a.methods[0].id)
            .await?;
        assert_eq!(ch.code_length, 6);
        for guess in ["000000", "123456"] {
            let err = s
                .client
                .verify(&a.flow_id, &ch.challenge_id, guess)
                .await
                .unwrap_err();
            assert_eq!(code_of(&err), "code_invalid");
        }
        assert_eq!(
            code_of(
                &s.client
                    .set_password(&a.flow_id, "plum-orbit-canvas-river")
                    .await
                    .unwrap_err()
            ),
            "not_verified"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.smtp.messages().iter().all(|m| {
        !m.to
            .iter()
            .any(|t| t.contains("mallory") || t.contains("erin"))
    }));
    // The audit log knows which flows were decoys; the caller never does.
    let events = s
        .running
        .state
        .store
        .audit_events(&latchkey_store::AuditQuery {
            user: Some("mallory@contoso.com".into()),
            limit: 10,
            ..Default::default()
        })
        .await?;
    assert!(events.iter().all(|e| e.decoy));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn users_outside_the_allowed_groups_are_told_to_contact_the_administrator()
-> anyhow::Result<()> {
    let s =
        TestServer::start_with(|c| c.recovery.allowed_groups = vec!["SSPR Users".into()]).await?;
    s.add_user(TestUser {
        login: "dave@contoso.com",
        display_name: "Dave Ito",
        ..ALICE
    })
    .await?;
    let err = s
        .client
        .start_recovery(&start("dave", Intent::Reset))
        .await
        .unwrap_err();
    let ClientError::Api { status, body } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (*status, body.code.as_str()),
        (403, "contact_administrator")
    );
    assert_eq!(
        body.help_desk.as_ref().and_then(|h| h.email.as_deref()),
        Some("helpdesk@contoso.com")
    );
    s.stop().await;

    // When the organisation prefers not to reveal it, the same user gets a decoy.
    let s = TestServer::start_with(|c| {
        c.recovery.allowed_groups = vec!["SSPR Users".into()];
        c.recovery.reveal_not_enabled = false;
    })
    .await?;
    s.add_user(TestUser {
        login: "dave@contoso.com",
        display_name: "Dave Ito",
        ..ALICE
    })
    .await?;
    let flow = s
        .client
        .start_recovery(&start("dave", Intent::Reset))
        .await?;
    assert!(!flow.methods.is_empty());
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_slow_mail_server_loses_nothing() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(ALICE).await?;
    s.smtp.set_failing(Some("451 4.3.0 try again later"));
    let flow = s
        .client
        .start_recovery(&start("alice", Intent::Reset))
        .await?;
    let ch = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.mail_to("alice.martin@example.net").is_empty());
    s.smtp.set_failing(None);
    // The outbox retries once the backoff has passed.
    s.clock.advance(Duration::from_secs(30));
    let code = s.next_code("alice.martin@example.net").await?;
    s.client
        .verify(&flow.flow_id, &ch.challenge_id, &code)
        .await?;
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn recovery_is_rate_limited_per_user() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(ALICE).await?;
    let mut limited = None;
    // Every spelling of the id counts against one budget.
    let spellings = ["alice", "ALICE@contoso.com", "whatever\\alice"];
    for i in 0..15 {
        match s
            .client
            .start_recovery(&start(spellings[i % 3], Intent::Reset))
            .await
        {
            Ok(_) => {}
            Err(e) => {
                limited = Some((i, e));
                break;
            }
        }
    }
    let (i, e) = limited.expect("rate limited");
    assert_eq!(i, 10, "ten flows an hour per user");
    let ClientError::Api { status, body } = &e else {
        panic!("{e}")
    };
    assert_eq!((*status, body.code.as_str()), (429, "rate_limited"));
    assert!(body.retry_after.is_some());
    // Another user is not affected by alice's limit.
    s.client
        .start_recovery(&start("bob", Intent::Reset))
        .await?;
    // After the window, alice may try again.
    s.clock.advance(Duration::from_secs(3600));
    s.client
        .start_recovery(&start("alice", Intent::Reset))
        .await?;
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn real_flows_show_the_same_hints_with_fresh_ids() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(ALICE).await?;
    let a = s
        .client
        .start_recovery(&start("alice", Intent::Reset))
        .await?;
    let b = s
        .client
        .start_recovery(&start("ALICE@contoso.com", Intent::Reset))
        .await?;
    assert_eq!(a.methods[0].hint, b.methods[0].hint);
    assert_ne!(a.methods[0].id, b.methods[0].id);
    // A method id of one flow means nothing in another.
    let e = s
        .client
        .start_challenge(&b.flow_id, &a.methods[0].id)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "method_unknown");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_resend_retires_the_previous_code() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(ALICE).await?;
    let flow = s
        .client
        .start_recovery(&start("alice", Intent::Reset))
        .await?;
    let first = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    let old_code = s.next_code("alice.martin@example.net").await?;
    s.clock.advance(Duration::from_secs(61));
    let second = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    let new_code = s.next_code("alice.martin@example.net").await?;
    let e = s
        .client
        .verify(&flow.flow_id, &first.challenge_id, &old_code)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "code_expired");
    assert_eq!(
        s.client
            .challenge_status(&flow.flow_id, &first.challenge_id)
            .await?
            .state,
        "failed"
    );
    s.client
        .verify(&flow.flow_id, &second.challenge_id, &new_code)
        .await?;
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_code_that_could_not_be_mailed_in_time_is_not_mailed_late() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(ALICE).await?;
    s.smtp.set_failing(Some("451 4.3.0 try again later"));
    let flow = s
        .client
        .start_recovery(&start("alice", Intent::Reset))
        .await?;
    s.client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.smtp.set_failing(None);
    // The code's ten minutes pass before the retry falls due.
    s.clock.advance(Duration::from_secs(11 * 60));
    let late = s
        .next_code_within("alice.martin@example.net", Duration::from_millis(2500))
        .await;
    assert!(late.is_err(), "a stale code was mailed");
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_unlock_flow_cannot_reset_when_resets_are_off() -> anyhow::Result<()> {
    let s = TestServer::start_with(|c| c.recovery.reset = false).await?;
    s.add_user(ALICE).await?;
    let flow = s
        .verified_flow(&start("alice", Intent::Unlock), "alice.martin@example.net")
        .await?;
    let e = s
        .client
        .set_password(&flow.flow_id, "plum-orbit-canvas-river")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "intent_disabled");
    assert_eq!(
        s.client.unlock(&flow.flow_id).await?.outcome,
        Outcome::AccountUnlocked
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_user_disabled_mid_flow_cannot_be_reset() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let key = s.add_user(ALICE).await?;
    let flow = s
        .verified_flow(&start("alice", Intent::Reset), "alice.martin@example.net")
        .await?;
    let dir = s.running.state.embedded.clone().expect("embedded");
    dir.set_disabled(&key, true).await?;
    let e = s
        .client
        .set_password(&flow.flow_id, "plum-orbit-canvas-river")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Api { status: 409, body } if body.code == "account_unavailable"),
        "{e}"
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn flow_tokens_never_reach_the_store_or_the_audit_log() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(ALICE).await?;
    let flow = s
        .client
        .start_recovery(&start("alice", Intent::Reset))
        .await?;
    let events = s
        .running
        .state
        .store
        .audit_events(&latchkey_store::AuditQuery {
            limit: 50,
            ..Default::default()
        })
        .await?;
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| e.flow.as_deref() != Some(flow.flow_id.as_str()))
    );
    let token = latchkey_core::ids::FlowId::parse(&flow.flow_id).expect("a flow id");
    assert!(
        s.running.state.store.flow(&token).await?.is_none(),
        "stored under the token itself"
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn directory_contact_data_is_a_method_only_when_allowed() -> anyhow::Result<()> {
    // Off (the default): a user who registered nothing has a decoy flow.
    let off = TestServer::start().await?;
    off.add_user(TestUser {
        login: "gwen@contoso.com",
        display_name: "Gwen Park",
        password: "Lilac-Comet-Basin-4",
        groups: &[],
        emails: &[],
    })
    .await?;
    let flow = off
        .client
        .start_recovery(&start("gwen@contoso.com", Intent::Reset))
        .await?;
    let ch = off
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    assert!(
        flow.methods
            .iter()
            .all(|m| !m.hint.ends_with("@contoso.com")),
        "{:?}",
        flow.methods
    );
    assert_eq!(ch.hint, flow.methods[0].hint);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        off.mail_to("gwen@contoso.com").is_empty(),
        "no code may go to the directory's mail unless allowed"
    );

    let s = TestServer::start_with(|c| {
        c.directory.use_contact_attributes = true;
        c.rate_limits.enabled = false;
    })
    .await?;
    let key = s
        .add_user(TestUser {
            login: "gwen@contoso.com",
            display_name: "Gwen Park",
            password: "Lilac-Comet-Basin-4",
            groups: &[],
            emails: &[],
        })
        .await?;
    // A registered address equal to the directory's is offered once.
    s.add_user(TestUser {
        login: "hugo@contoso.com",
        display_name: "Hugo Lind",
        password: "Cedar-Prism-Falcon-6",
        groups: &[],
        emails: &["HUGO@contoso.com", "hugo.lind@example.net"],
    })
    .await?;
    let hugo = s
        .client
        .start_recovery(&start("hugo", Intent::Reset))
        .await?;
    let hints: Vec<&str> = hugo.methods.iter().map(|m| m.hint.as_str()).collect();
    assert_eq!(hints, ["h•••@contoso.com", "h•••@example.net"]);

    // Gwen registered nothing: the directory's mail is her method, and the code goes there.
    let flow = s
        .client
        .start_recovery(&start("gwen", Intent::Reset))
        .await?;
    assert_eq!(flow.methods.len(), 1);
    assert_eq!(flow.methods[0].hint, "g•••@contoso.com");
    let ch = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    let code = s.next_code("gwen@contoso.com").await?;
    s.client
        .verify(&flow.flow_id, &ch.challenge_id, &code)
        .await?;
    let done = s
        .client
        .set_password(&flow.flow_id, "saddle-quasar-linen-93")
        .await?;
    assert_eq!(done.outcome, Outcome::PasswordReset);
    assert_eq!(
        s.running
            .state
            .directory
            .verify_password(&key, &"saddle-quasar-linen-93".into())
            .await?,
        latchkey_directory::BindOutcome::Valid
    );

    // Unknown ids come in the same three shapes as real people: only a directory-like address
    // at the organisation's domain (like Gwen), registrations and that address (like Hugo's
    // flow before deduplication), registrations only (like Hugo's).
    let (mut only_directory, mut both, mut registered_only) = (0, 0, 0);
    for i in 0..120 {
        let decoy = s
            .client
            .start_recovery(&start(&format!("nobody{i}"), Intent::Reset))
            .await?;
        let at_org = decoy
            .methods
            .iter()
            .filter(|m| m.hint.ends_with("@contoso.com"))
            .count();
        assert!(at_org <= 1, "{:?}", decoy.methods);
        if at_org == 1 {
            assert!(
                decoy
                    .methods
                    .last()
                    .is_some_and(|m| m.hint.ends_with("@contoso.com"))
            );
        }
        match (decoy.methods.len(), at_org) {
            (1, 1) => only_directory += 1,
            (_, 1) => both += 1,
            _ => registered_only += 1,
        }
    }
    assert!(
        only_directory > 0 && both > 0 && registered_only > 0,
        "{only_directory} {both} {registered_only}"
    );
    s.stop().await;
    off.stop().await;
    Ok(())
}
