//! `POST /captcha` and the answer check of `POST /recovery`.

use std::time::Duration;

use base64::Engine as _;
use latchkey_captcha::{Display, Variant};
use latchkey_core::ids::CaptchaId;
use latchkey_core::random::RngAdapter;
use latchkey_core::ratelimit::Action;
use latchkey_proto as proto;
use latchkey_store::CaptchaRecord;

use super::{Caller, Source, rate_limit};
use crate::error::ApiError;
use crate::state::AppState;

const PURPOSE: &str = "captcha-answer";

/// Whether the CAPTCHA is on.
pub fn enabled(state: &AppState) -> bool {
    state.config().captcha.kind != "off"
}

/// Makes a new challenge and remembers the digest of its answer.
pub async fn new_challenge(
    state: &AppState,
    caller: &Caller,
    variant: proto::CaptchaVariant,
) -> Result<proto::CaptchaChallenge, ApiError> {
    if !enabled(state) {
        return Err(ApiError::CaptchaOff);
    }
    rate_limit(state, caller, Action::Captcha, Source::Count, &[], None).await?;
    if variant == proto::CaptchaVariant::Text {
        rate_limit(state, caller, Action::TextCaptcha, Source::Count, &[], None).await?;
    }
    let v = match variant {
        proto::CaptchaVariant::Image => Variant::Image,
        proto::CaptchaVariant::Text => Variant::Text,
    };
    let challenge = latchkey_captcha::generate(v, &mut RngAdapter(state.rng.as_ref()))
        .map_err(|e| ApiError::Internal(format!("captcha: {e}")))?;
    let id = CaptchaId::generate(state.rng.as_ref());
    let lifetime = Duration::from_secs(state.config().captcha.lifetime_secs);
    let record = CaptchaRecord {
        id: id.clone(),
        answer_digest: state
            .keys
            .digest(
                PURPOSE,
                &[id.as_str().as_bytes(), challenge.answer.as_bytes()],
            )
            .to_vec(),
        expires_at: state.clock.now().plus(lifetime),
    };
    state.store.insert_captcha(&record).await?;
    let mut out = proto::CaptchaChallenge {
        captcha_id: id.to_string(),
        variant,
        image: None,
        width: None,
        height: None,
        prompt: String::new(),
        expires_in: lifetime.as_secs(),
    };
    match challenge.display {
        Display::Image {
            png,
            width,
            height,
            length,
        } => {
            out.image = Some(format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(png)
            ));
            out.width = Some(width);
            out.height = Some(height);
            out.prompt = format!("Enter the {length} characters you see in the picture.");
        }
        Display::Text { prompt } => out.prompt = prompt,
    }
    Ok(out)
}

/// Checks an answer; each challenge can be answered once, right or wrong.
pub async fn check(state: &AppState, captcha_id: &str, answer: &str) -> Result<(), ApiError> {
    if !enabled(state) {
        return Ok(());
    }
    let id = CaptchaId::parse(captcha_id).ok_or(ApiError::CaptchaInvalid)?;
    let record = state
        .store
        .take_captcha(&id)
        .await?
        .ok_or(ApiError::CaptchaInvalid)?;
    if state.clock.now() >= record.expires_at {
        return Err(ApiError::CaptchaInvalid);
    }
    let normalized = latchkey_captcha::normalize_answer(answer);
    if state.keys.verify_digest(
        PURPOSE,
        &[id.as_str().as_bytes(), normalized.as_bytes()],
        &record.answer_digest,
    ) {
        Ok(())
    } else {
        Err(ApiError::CaptchaInvalid)
    }
}
