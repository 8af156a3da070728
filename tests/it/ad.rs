//! A full reset through the service with the Active Directory backend, against a private Samba
//! domain controller over LDAPS with the certificate verified against the test CA.

use latchkey_core::user::UserId;
use latchkey_directory::BindOutcome;
use latchkey_directory_ldap::testing_ad::{
    self, BASE_DN, LDAPS_URL, SERVICE_DN, TestAdUser, TestSamba,
};
use latchkey_proto::{Intent, Outcome, StartRecovery};
use latchkey_server::config::ConfigSecret;
use latchkey_tests::TestServer;

#[tokio::test]
async fn reset_through_the_service_writes_active_directory() -> anyhow::Result<()> {
    if !testing_ad::samba_available()? {
        return Ok(());
    }
    let dc = TestSamba::start(&[TestAdUser::new("maya", "Harbor-Initial-Pass-1")])?;
    let ca = dc.ca_file.clone();
    let password = dc.settings().bind_password.expose().to_owned();
    let s = TestServer::start_with(move |c| {
        c.directory.kind = "ad".into();
        c.directory.url = LDAPS_URL.into();
        c.directory.bind_dn = SERVICE_DN.into();
        c.directory.bind_password = Some(ConfigSecret::new(password));
        c.directory.base_dn = BASE_DN.into();
        c.directory.ca_file = Some(ca);
    })
    .await?;
    let state = &s.running.state;
    assert_eq!(state.directory.kind(), "ad");
    let user = state
        .directory
        .find_user(&UserId::parse("EXAMPLE\\maya")?)
        .await?
        .expect("maya is in the domain");
    latchkey_server::app::registration::register_email(
        state,
        &user.key,
        "alternate",
        "maya.alt@example.net",
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    let flow = s
        .client
        .start_recovery(&StartRecovery {
            user_id: "maya@example.test".into(),
            intent: Intent::Reset,
            captcha_id: String::new(),
            captcha_answer: String::new(),
        })
        .await?;
    let ch = s
        .client
        .start_challenge(&flow.flow_id, &flow.methods[0].id)
        .await?;
    let code = s.next_code("maya.alt@example.net").await?;
    let verified = s
        .client
        .verify(&flow.flow_id, &ch.challenge_id, &code)
        .await?;
    // Once proven, the wizard is told the domain's rules: its length, complexity and history.
    let policy = verified.password_policy.expect("the user's rules");
    assert_eq!(policy.min_length, testing_ad::MIN_LENGTH as u32);
    assert_eq!(policy.required_classes, 3);
    // AD skips history on administrative resets, so the service keeps its own (5), which
    // remembers more than the domain's (3).
    assert_eq!(policy.history, 5.max(testing_ad::HISTORY));
    let rating = s
        .client
        .check_password("Qz8#vLp2w", None, Some(&flow.flow_id))
        .await?;
    assert!(
        rating.violations.iter().any(|v| v.rule == "too_short"),
        "{rating:?}"
    );
    // The domain's own rules apply on top of ours: nine characters pass our policy (minimum 8)
    // but not the domain's minimum of 10, so the service refuses them with a listed rule.
    let refused = s
        .client
        .set_password(&flow.flow_id, "Qz8#vLp2w")
        .await
        .unwrap_err();
    let latchkey_client::ClientError::Api { body, .. } = &refused else {
        panic!("{refused}")
    };
    assert_eq!(body.code, "password_rejected");
    assert_eq!(
        body.violations
            .iter()
            .map(|v| v.rule.as_str())
            .collect::<Vec<_>>(),
        ["too_short"],
        "{body:?}"
    );
    let done = s
        .client
        .set_password(&flow.flow_id, "Plum-Orbit-Canvas-River-7")
        .await?;
    assert_eq!(done.outcome, Outcome::PasswordReset);

    assert_eq!(
        state
            .directory
            .verify_password(&user.key, &"Plum-Orbit-Canvas-River-7".into())
            .await?,
        BindOutcome::Valid
    );
    assert_eq!(
        state
            .directory
            .verify_password(&user.key, &"Harbor-Initial-Pass-1".into())
            .await?,
        BindOutcome::Invalid
    );
    // A refusal only AD can make: its own history remembers the seeded password, which the
    // service never saw. The change is refused with the rule, not "constraint violation".
    let refused = s
        .client
        .change_password(
            "maya@example.test",
            "Plum-Orbit-Canvas-River-7",
            "Harbor-Initial-Pass-1",
        )
        .await
        .unwrap_err();
    let latchkey_client::ClientError::Api { body, .. } = &refused else {
        panic!("{refused}")
    };
    assert_eq!(body.code, "password_rejected", "{body:?}");
    assert_eq!(
        body.violations
            .iter()
            .map(|v| v.rule.as_str())
            .collect::<Vec<_>>(),
        ["in_history"],
        "{body:?}"
    );
    s.stop().await;
    Ok(())
}
