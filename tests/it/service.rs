//! Configuration, health, readiness, the OpenAPI document and password checks.

use latchkey_tests::TestServer;

#[tokio::test]
async fn config_health_and_openapi() -> anyhow::Result<()> {
    let s = TestServer::start_with(|c| c.organisation.name = "Fabrikam".into()).await?;
    let cfg = s.client.config().await?;
    assert_eq!(cfg.organisation.name, "Fabrikam");
    assert_eq!(
        cfg.organisation.help_desk.email.as_deref(),
        Some("helpdesk@contoso.com")
    );
    assert!(cfg.intents.reset && cfg.intents.unlock && cfg.intents.change);
    assert_eq!(
        (
            cfg.password_policy.min_length,
            cfg.password_policy.max_length
        ),
        (8, 256)
    );
    assert_eq!(cfg.codes.length, 6);

    let (status, health) = s.raw("GET", "/healthz", None, vec![]).await?;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, ready) = s.raw("GET", "/readyz", None, vec![]).await?;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["checks"].as_array().map(Vec::len), Some(2));

    let (status, doc) = s.raw("GET", "/api/v1/openapi.json", None, vec![]).await?;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/config",
        "/api/v1/captcha",
        "/api/v1/recovery",
        "/api/v1/recovery/{flow_id}/challenges",
        "/api/v1/recovery/{flow_id}/challenges/{challenge_id}",
        "/api/v1/recovery/{flow_id}/challenges/{challenge_id}/verify",
        "/api/v1/recovery/{flow_id}/password",
        "/api/v1/recovery/{flow_id}/unlock",
        "/api/v1/password/change",
        "/api/v1/password/check",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn password_check_rates_without_storing() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let weak = s
        .client
        .check_password("alice2026", Some("alice@contoso.com"), None)
        .await?;
    assert!(!weak.acceptable);
    let rules: Vec<&str> = weak.violations.iter().map(|v| v.rule.as_str()).collect();
    assert!(rules.contains(&"contains_user_name"), "{rules:?}");
    assert!(weak.score <= 2);
    let strong = s
        .client
        .check_password("plum-orbit-canvas-river", None, None)
        .await?;
    assert!(strong.acceptable, "{strong:?}");
    assert!(strong.score >= 3);
    assert!(strong.violations.is_empty());
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn disabled_intents_are_refused() -> anyhow::Result<()> {
    let s = TestServer::start_with(|c| {
        c.recovery.unlock = false;
        c.recovery.change = false;
    })
    .await?;
    let req = latchkey_proto::StartRecovery {
        user_id: "alice".into(),
        intent: latchkey_proto::Intent::Unlock,
        captcha_id: String::new(),
        captcha_answer: String::new(),
    };
    assert_eq!(
        s.client.start_recovery(&req).await.unwrap_err().code(),
        Some("intent_disabled")
    );
    assert_eq!(
        s.client
            .change_password("alice", "x", "y")
            .await
            .unwrap_err()
            .code(),
        Some("intent_disabled")
    );
    assert!(!s.client.config().await?.intents.unlock);
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_portal_serves_the_wizard_under_a_strict_policy() -> anyhow::Result<()> {
    let dist = tempfile::tempdir()?;
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>Latchkey</title>",
    )?;
    std::fs::create_dir(dist.path().join("assets"))?;
    std::fs::write(dist.path().join("assets/app.js"), "console.log(1)")?;
    let dir = dist.path().to_path_buf();
    let s = TestServer::start_with(move |c| c.portal.dir = Some(dir)).await?;
    let http = reqwest::Client::new();
    for (path, want) in [
        ("/", "<title>Latchkey"),
        ("/reset/somewhere", "<title>Latchkey"),
        ("/assets/app.js", "console.log"),
    ] {
        let resp = http.get(format!("{}{path}", s.base)).send().await?;
        assert_eq!(resp.status(), 200, "{path}");
        let csp = resp
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(resp.text().await?.contains(want), "{path}");
    }
    // The API keeps answering in its own format.
    let (status, body) = s.raw("GET", "/api/v1/nope", None, vec![]).await?;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    s.stop().await;
    Ok(())
}
