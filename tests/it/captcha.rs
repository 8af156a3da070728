//! The CAPTCHA in front of recovery: image and text variants, single use, required.

use base64::Engine as _;
use latchkey_client::ClientError;
use latchkey_proto::{CaptchaVariant, Intent, StartRecovery};
use latchkey_tests::TestServer;

/// Number words as the text questions spell them.
const WORDS: &[&str] = &[
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// Answers the text variant's questions the way a person would.
fn solve(prompt: &str) -> String {
    if let Some(start) = prompt.find("word '") {
        let rest = &prompt[start + 6..];
        return rest
            .split('\'')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            .to_string();
    }
    let lower = prompt.to_lowercase();
    let nums: Vec<usize> = lower
        .split(|c: char| !c.is_alphabetic())
        .filter_map(|w| WORDS.iter().position(|n| *n == w))
        .collect();
    let n = if lower.contains("largest") || lower.contains("biggest") || lower.contains("highest") {
        nums.iter().copied().max()
    } else if lower.contains("smallest") || lower.contains("lowest") {
        nums.iter().copied().min()
    } else {
        Some(nums.iter().sum())
    };
    n.unwrap_or_default().to_string()
}

#[tokio::test]
async fn recovery_needs_a_solved_captcha() -> anyhow::Result<()> {
    let s = TestServer::start_with(|c| c.captcha.kind = "image".into()).await?;
    let req = |id: &str, answer: &str| StartRecovery {
        user_id: "someone@contoso.com".into(),
        intent: Intent::Reset,
        captcha_id: id.into(),
        captcha_answer: answer.into(),
    };

    // The image variant is a real PNG.
    let image = s.client.captcha(CaptchaVariant::Image).await?;
    let data = image
        .image
        .as_deref()
        .and_then(|d| d.strip_prefix("data:image/png;base64,"))
        .expect("a PNG data URL");
    let png = base64::engine::general_purpose::STANDARD.decode(data)?;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(image.prompt.contains("characters"));

    // Missing, wrong, and reused answers are refused.
    let e = s.client.start_recovery(&req("", "")).await.unwrap_err();
    assert_eq!(e.code(), Some("captcha_invalid"));
    let e = s
        .client
        .start_recovery(&req(&image.captcha_id, "WRONG1"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("captcha_invalid"));

    // The accessible alternative can be answered, once.
    let text = s.client.captcha(CaptchaVariant::Text).await?;
    assert!(text.image.is_none());
    let answer = solve(&text.prompt);
    s.client
        .start_recovery(&req(&text.captcha_id, &answer))
        .await?;
    let e = s
        .client
        .start_recovery(&req(&text.captcha_id, &answer))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Api { status: 400, body } if body.code == "captcha_invalid"),
        "{e}"
    );

    // Answers in words are accepted too.
    let text = s.client.captcha(CaptchaVariant::Text).await?;
    let n: usize = solve(&text.prompt).parse()?;
    s.client
        .start_recovery(&req(
            &text.captcha_id,
            &format!(" {} ", WORDS[n].to_uppercase()),
        ))
        .await?;

    // A stale challenge is refused.
    let text = s.client.captcha(CaptchaVariant::Text).await?;
    s.clock.advance(std::time::Duration::from_secs(301));
    let e = s
        .client
        .start_recovery(&req(&text.captcha_id, &solve(&text.prompt)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("captcha_invalid"));
    s.stop().await;
    Ok(())
}

#[tokio::test]
async fn captcha_off_is_said_plainly() -> anyhow::Result<()> {
    let s = TestServer::start().await?;
    assert_eq!(
        s.client.config().await?.captcha,
        latchkey_proto::CaptchaKind::Off
    );
    let e = s.client.captcha(CaptchaVariant::Image).await.unwrap_err();
    assert_eq!(e.code(), Some("captcha_off"));
    s.stop().await;
    Ok(())
}
