//! A full reset through the service with the LDAP backend, against a private slapd.

use latchkey_core::user::UserId;
use latchkey_directory::BindOutcome;
use latchkey_directory_ldap::testing::{self, BASE_DN, SERVICE_DN, TestSlapd, TestUser};
use latchkey_proto::{Intent, Outcome, StartRecovery};
use latchkey_server::config::{Config, ConfigSecret};
use latchkey_tests::TestServer;

/// The service on `slapd` as its directory, after `configure`.
async fn service_on(
    slapd: &TestSlapd,
    configure: impl FnOnce(&mut Config),
) -> anyhow::Result<TestServer> {
    let url = slapd.url.clone();
    let password = slapd.settings().bind_password.expose().to_owned();
    TestServer::start_with(move |c| {
        c.directory.kind = "ldap".into();
        c.directory.url = url;
        c.directory.bind_dn = SERVICE_DN.into();
        c.directory.bind_password = Some(ConfigSecret::new(password));
        c.directory.base_dn = BASE_DN.into();
        configure(c);
    })
    .await
}

#[tokio::test]
async fn reset_through_the_service_writes_the_ldap_directory() -> anyhow::Result<()> {
    if !testing::slapd_available()? {
        return Ok(());
    }
    let slapd = TestSlapd::start(&[TestUser::new("lena", "Lena-Initial-Pass-1")])?;
    let s = service_on(&slapd, |_| {}).await?;
    let state = &s.running.state;
    assert_eq!(state.directory.kind(), "ldap");
    let user = state
        .directory
        .find_user(&UserId::parse("lena")?)
        .await?
        .expect("lena is in slapd");
    latchkey_server::app::registration::register_email(
        state,
        &user.key,
        "alternate",
        "lena.alt@example.net",
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    let flow = s
        .verified_flow(
            &StartRecovery {
                user_id: "lena@example.org".into(),
                intent: Intent::Reset,
                captcha_id: String::new(),
                captcha_answer: String::new(),
            },
            "lena.alt@example.net",
        )
        .await?;
    let done = s
        .client
        .set_password(&flow.flow_id, "plum-orbit-canvas-river")
        .await?;
    assert_eq!(done.outcome, Outcome::PasswordReset);

    // A bind with the new password succeeds and with the old one fails.
    assert_eq!(
        state
            .directory
            .verify_password(&user.key, &"plum-orbit-canvas-river".into())
            .await?,
        BindOutcome::Valid
    );
    assert_eq!(
        state
            .directory
            .verify_password(&user.key, &"Lena-Initial-Pass-1".into())
            .await?,
        BindOutcome::Invalid
    );
    // The confirmation went to the directory's own address too.
    s.wait_mail("lena@example.org", "password was reset")
        .await?;
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_ldap_mail_attribute_can_be_the_method() -> anyhow::Result<()> {
    if !testing::slapd_available()? {
        return Ok(());
    }
    // Milo registered nothing; with directory.use_contact_attributes his `mail` is the method.
    let mut slapd = TestSlapd::start(&[TestUser::new("milo", "Milo-Initial-Pass-1")])?;
    let s = service_on(&slapd, |c| {
        c.directory.use_contact_attributes = true;
        c.directory.pool_size = 2;
    })
    .await?;
    let req = StartRecovery {
        user_id: "milo".into(),
        intent: Intent::Reset,
        captcha_id: String::new(),
        captcha_answer: String::new(),
    };
    let flow = s.verified_flow(&req, "milo@example.org").await?;
    assert_eq!(flow.methods.len(), 1);
    assert_eq!(flow.methods[0].hint, "m•••@example.org");

    // Rating as Milo types reads the directory once per flow: with slapd down, the second
    // rating still knows his names (and his directory's rules).
    let rules = |r: &latchkey_proto::PasswordRating| -> Vec<String> {
        r.violations.iter().map(|v| v.rule.clone()).collect()
    };
    let first = s
        .client
        .check_password("milo-harbour-quartz-71", None, Some(&flow.flow_id))
        .await?;
    assert_eq!(rules(&first), ["contains_user_name"]);
    slapd.stop();
    let again = s
        .client
        .check_password("harbour-milo-quartz-72", None, Some(&flow.flow_id))
        .await?;
    assert_eq!(rules(&again), ["contains_user_name"]);
    slapd.restart()?;
    let done = s
        .client
        .set_password(&flow.flow_id, "lantern-ferry-opal-27")
        .await?;
    assert_eq!(done.outcome, Outcome::PasswordReset);
    let state = &s.running.state;
    let key = TestSlapd::user_dn("milo");
    assert_eq!(
        state
            .directory
            .verify_password(&key, &"lantern-ferry-opal-27".into())
            .await?,
        BindOutcome::Valid
    );
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_demo_runs_on_slapd() -> anyhow::Result<()> {
    if !testing::slapd_available()? {
        return Ok(());
    }
    // What `cargo xtask demo --directory ldap` starts: slapd with the demo users, the demo's
    // registrations made through the service, Frank locked by the directory itself.
    let slapd = TestSlapd::start(&latchkey_tests::demo_users::ldap())?;
    let s = service_on(&slapd, |_| {}).await?;
    let state = &s.running.state;
    latchkey_server::demo::seed(state).await?;
    // Seeding twice (a restarted demo) changes nothing.
    latchkey_server::demo::seed(state).await?;
    let find = |id: &'static str| async move {
        state
            .directory
            .find_user(&UserId::parse(id)?)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{id} missing"))
    };
    let alice = find("alice@contoso.com").await?;
    assert_eq!(alice.display_name, "Alice Martin");
    assert_eq!(state.store.methods_for(&alice.key).await?.len(), 1);
    let bob = find("bob").await?;
    assert_eq!(state.store.methods_for(&bob.key).await?.len(), 2);
    let frank = find("frank@contoso.com").await?;
    assert!(frank.state.locked, "{:?}", frank.state);

    // Frank unlocks himself through the service.
    let flow = s
        .verified_flow(
            &StartRecovery {
                user_id: "frank@contoso.com".into(),
                intent: Intent::Unlock,
                captcha_id: String::new(),
                captcha_answer: String::new(),
            },
            "frank.okafor@example.net",
        )
        .await?;
    let done = s.client.unlock(&flow.flow_id).await?;
    assert_eq!(done.outcome, Outcome::AccountUnlocked);
    assert!(!find("frank").await?.state.locked);
    s.stop().await;
    Ok(())
}
