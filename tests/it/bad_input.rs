//! Bad input on every endpoint gets a 4xx in the error format, never a 5xx, and changes nothing.

use latchkey_tests::{TestServer, TestUser};
use serde_json::Value;

fn assert_error(status: u16, body: &Value, what: &str) {
    assert!(
        (400..500).contains(&status),
        "{what}: status {status}, body {body}"
    );
    assert!(body["code"].as_str().is_some_and(|c| !c.is_empty() && c.chars().all(|c| c.is_ascii_lowercase() || c == '_')), "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn every_endpoint_refuses_bad_bodies() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    s.add_user(TestUser {
        login: "alice@contoso.com",
        display_name: "Alice Martin",
        password: "Tulip-Harbor-Violet-7",
        groups: &[],
        emails: &["alice.martin@example.net"],
    })
    .await?;
    let flow = s
        .client
        .start_recovery(&latchkey_proto::StartRecovery {
            user_id: "alice".into(),
            intent: latchkey_proto::Intent::Reset,
            captcha_id: String::new(),
            captcha_answer: String::new(),
        })
        .await?;
    let f = &flow.flow_id;
    let ch = s.client.start_challenge(f, &flow.methods[0].id).await?;
    let c = &ch.challenge_id;

    let endpoints = [
        "/api/v1/recovery".to_owned(),
        format!("/api/v1/recovery/{f}/challenges"),
        format!("/api/v1/recovery/{f}/challenges/{c}/verify"),
        format!("/api/v1/recovery/{f}/password"),
        "/api/v1/password/change".to_owned(),
        "/api/v1/password/check".to_owned(),
        "/api/v1/captcha".to_owned(),
    ];
    let huge = format!("{{\"user_id\":\"{}\"}}", "a".repeat(64 * 1024));
    let bodies: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        ("malformed JSON", Some("application/json"), b"{\"user_id\":".to_vec()),
        ("empty body", Some("application/json"), Vec::new()),
        ("not an object", Some("application/json"), b"[1,2,3]".to_vec()),
        ("wrong types", Some("application/json"), br#"{"user_id":42,"intent":true,"method_id":7,"code":123456,"new_password":12345678,"old_password":[],"password":{}}"#.to_vec()),
        ("unknown fields", Some("application/json"), br#"{"definitely_not_a_field":1}"#.to_vec()),
        ("invalid UTF-8", Some("application/json"), b"{\"user_id\":\"\xff\xfe\"}".to_vec()),
        ("huge body", Some("application/json"), huge.into_bytes()),
        ("wrong media type", Some("text/plain"), br#"{"user_id":"alice"}"#.to_vec()),
        ("no media type", None, br#"{"user_id":"alice"}"#.to_vec()),
        ("null", Some("application/json"), b"null".to_vec()),
        ("nested too deep", Some("application/json"), format!("{}{}", "[".repeat(200), "]".repeat(200)).into_bytes()),
    ];
    for path in &endpoints {
        for (what, ct, body) in &bodies {
            let (status, json) = s.raw("POST", path, *ct, body.clone()).await?;
            assert_error(status, &json, &format!("{what} on {path}"));
            // A password sent with the wrong type is never echoed back.
            assert!(
                !json.to_string().contains("12345678"),
                "{what} on {path}: {json}"
            );
        }
    }
    // The flow survived all of that: the real code still works.
    let code = s.next_code("alice.martin@example.net").await?;
    s.client.verify(f, c, &code).await?;
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn bad_ids_routes_and_methods() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "POST",
            "/api/v1/recovery/not-a-flow/challenges".into(),
            "flow_not_found",
        ),
        (
            "POST",
            "/api/v1/recovery/fl_00000000000000000000000000000000/challenges".into(),
            "flow_not_found",
        ),
        (
            "POST",
            "/api/v1/recovery/fl_%27%20OR%201%3D1/password".into(),
            "flow_not_found",
        ),
        (
            "GET",
            "/api/v1/recovery/fl_00000000000000000000000000000000/challenges/ch_x".into(),
            "flow_not_found",
        ),
        ("GET", "/api/v1/nope".into(), "not_found"),
        (
            "GET",
            "/api/v1/recovery/%FF%FE/challenges/ch_x".into(),
            "not_found",
        ),
        ("GET", "/nope".into(), "not_found"),
        ("GET", "/api/v1/recovery".into(), "method_not_allowed"),
        ("DELETE", "/api/v1/config".into(), "method_not_allowed"),
    ];
    for (method, path, code) in cases {
        let body = if method == "POST" {
            br#"{"method_id":"me_00000000000000000000000000000000","new_password":"x"}"#.to_vec()
        } else {
            Vec::new()
        };
        let ct = (method == "POST").then_some("application/json");
        // Unknown fields are refused before the id is looked at, so send only what fits.
        let body = if path.ends_with("/password") {
            br#"{"new_password":"x"}"#.to_vec()
        } else if path.ends_with("/challenges") {
            br#"{"method_id":"me_00000000000000000000000000000000"}"#.to_vec()
        } else {
            body
        };
        let (status, json) = s.raw(method, &path, ct, body).await?;
        assert_error(status, &json, &format!("{method} {path}"));
        assert_eq!(json["code"], code, "{method} {path}: {json}");
    }
    // Bad field values, well-formed JSON.
    let values: &[(&str, &str, &str)] = &[
        (
            "/api/v1/recovery",
            r#"{"user_id":"","intent":"reset"}"#,
            "invalid_user_id",
        ),
        (
            "/api/v1/recovery",
            r#"{"user_id":"a*)(uid=*","intent":"reset"}"#,
            "invalid_user_id",
        ),
        (
            "/api/v1/recovery",
            r#"{"user_id":"alice","intent":"explode"}"#,
            "invalid_request",
        ),
        (
            "/api/v1/password/change",
            r#"{"user_id":"a@b@c","old_password":"x","new_password":"y"}"#,
            "invalid_user_id",
        ),
        (
            "/api/v1/captcha",
            r#"{"variant":"audio"}"#,
            "invalid_request",
        ),
    ];
    for (path, body, code) in values {
        let (status, json) = s
            .raw(
                "POST",
                path,
                Some("application/json"),
                body.as_bytes().to_vec(),
            )
            .await?;
        assert_error(status, &json, path);
        assert_eq!(json["code"], *code, "{path} {body}: {json}");
    }
    s.stop().await;
    Ok(())
}
