//! The service's one error type. Every refusal answers `{code, message}` with a stable code;
//! 5xx bodies stay generic and the detail goes to the log.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::code::CodeError;
use latchkey_core::flow::FlowError;
use latchkey_core::policy::Rule;
use latchkey_directory::DirectoryError;
use latchkey_proto::{ErrorBody, HelpDesk, Violation};
use latchkey_store::StoreError;

/// Everything a request can end in besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not valid UTF-8.
    #[error("the request body is not valid JSON")]
    MalformedJson,
    /// The JSON does not have the expected fields and types.
    #[error("{0}")]
    InvalidRequest(String),
    /// The body is not `application/json`.
    #[error("send the request body as application/json")]
    UnsupportedMediaType,
    /// The body is larger than allowed.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// No such endpoint.
    #[error("no such endpoint")]
    NotFound,
    /// The endpoint exists but not with this method.
    #[error("this endpoint does not accept that method")]
    MethodNotAllowed,
    /// A user id that cannot be one.
    #[error("{0}")]
    InvalidUserId(String),
    /// The CAPTCHA answer is wrong, stale or missing.
    #[error("the characters didn't match; try the new picture")]
    CaptchaInvalid,
    /// The CAPTCHA is turned off.
    #[error("the CAPTCHA is turned off on this service")]
    CaptchaOff,
    /// The intent is turned off by the organisation.
    #[error("your organisation has turned this off")]
    IntentDisabled,
    /// Self-service is not enabled for this user.
    #[error("you can't reset your own password; contact your administrator")]
    ContactAdministrator(HelpDesk),
    /// No such flow (or an id that cannot be one).
    #[error("this reset session doesn't exist; start again")]
    FlowNotFound,
    /// No such challenge in this flow.
    #[error("this verification doesn't exist; ask for a new code")]
    ChallengeNotFound,
    /// A flow-state refusal.
    #[error(transparent)]
    Flow(FlowError),
    /// A code refusal.
    #[error(transparent)]
    Code(CodeError),
    /// Another code was asked for too soon.
    #[error("wait a little before asking for another code")]
    ResendTooSoon(Duration),
    /// A rate limit was hit.
    #[error("too many attempts; wait a while and try again")]
    RateLimited(Duration),
    /// The new password breaks rules.
    #[error("the new password doesn't meet the requirements")]
    PasswordRejected(Vec<Rule>),
    /// Wrong user id or password (or a locked or unknown account: not told apart).
    #[error(
        "the user ID or password is incorrect. If your account is locked, choose \"Unlock my account\""
    )]
    InvalidCredentials,
    /// The account cannot be reset or unlocked now (disabled, deleted, or locked by the
    /// directory in a way self-service cannot clear).
    #[error("this account can't be changed here right now; contact your administrator")]
    AccountUnavailable,
    /// Two requests raced for the same record; the caller may retry.
    #[error("another request changed this at the same time; try again")]
    Conflict,
    /// The directory could not be reached; nothing was changed.
    #[error("the directory can't be reached right now; nothing was changed, try again in a moment")]
    DirectoryUnavailable,
    /// Something broke; details are in the log only.
    #[error("something went wrong on our side; try again later")]
    Internal(String),
}

impl ApiError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson => "malformed_json",
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::InvalidUserId(_) => "invalid_user_id",
            ApiError::CaptchaInvalid => "captcha_invalid",
            ApiError::CaptchaOff => "captcha_off",
            ApiError::IntentDisabled => "intent_disabled",
            ApiError::ContactAdministrator(_) => "contact_administrator",
            ApiError::FlowNotFound => "flow_not_found",
            ApiError::ChallengeNotFound => "challenge_not_found",
            ApiError::AccountUnavailable => "account_unavailable",
            ApiError::Flow(e) => match e {
                FlowError::Expired => "flow_expired",
                FlowError::Completed => "flow_completed",
                FlowError::UnknownMethod => "method_unknown",
                FlowError::AlreadyVerified => "method_already_verified",
                FlowError::NotVerified => "not_verified",
                FlowError::WrongIntent => "wrong_intent",
            },
            ApiError::Code(e) => match e {
                CodeError::Malformed => "code_malformed",
                CodeError::Expired => "code_expired",
                CodeError::AlreadyUsed => "code_used",
                CodeError::TooManyAttempts => "too_many_attempts",
                CodeError::Mismatch { .. } => "code_invalid",
            },
            ApiError::ResendTooSoon(_) => "resend_too_soon",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::PasswordRejected(_) => "password_rejected",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Conflict => "conflict",
            ApiError::DirectoryUnavailable => "directory_unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson | ApiError::InvalidUserId(_) | ApiError::CaptchaInvalid => {
                StatusCode::BAD_REQUEST
            }
            ApiError::InvalidRequest(_) | ApiError::PasswordRejected(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::AccountUnavailable => StatusCode::CONFLICT,
            ApiError::NotFound | ApiError::FlowNotFound | ApiError::ChallengeNotFound => {
                StatusCode::NOT_FOUND
            }
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::CaptchaOff | ApiError::Conflict => StatusCode::CONFLICT,
            ApiError::IntentDisabled | ApiError::ContactAdministrator(_) => StatusCode::FORBIDDEN,
            ApiError::Flow(e) => match e {
                FlowError::Expired => StatusCode::GONE,
                FlowError::Completed | FlowError::AlreadyVerified => StatusCode::CONFLICT,
                FlowError::UnknownMethod => StatusCode::BAD_REQUEST,
                FlowError::NotVerified | FlowError::WrongIntent => StatusCode::FORBIDDEN,
            },
            ApiError::Code(e) => match e {
                CodeError::Malformed | CodeError::Mismatch { .. } => StatusCode::BAD_REQUEST,
                CodeError::Expired => StatusCode::GONE,
                CodeError::AlreadyUsed => StatusCode::CONFLICT,
                CodeError::TooManyAttempts => StatusCode::FORBIDDEN,
            },
            ApiError::ResendTooSoon(_) | ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::DirectoryUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The wire body.
    pub fn body(&self) -> ErrorBody {
        let mut body = ErrorBody {
            code: self.code().to_owned(),
            message: sentence(&self.to_string()),
            violations: Vec::new(),
            retry_after: None,
            attempts_left: None,
            help_desk: None,
        };
        match self {
            ApiError::PasswordRejected(rules) => {
                body.violations = rules
                    .iter()
                    .map(|r| Violation {
                        rule: r.code().to_owned(),
                        message: r.to_string(),
                    })
                    .collect()
            }
            ApiError::RateLimited(d) | ApiError::ResendTooSoon(d) => {
                body.retry_after = Some(
                    u64::try_from(d.as_millis().div_ceil(1000))
                        .unwrap_or(u64::MAX)
                        .max(1),
                )
            }
            ApiError::Code(CodeError::Mismatch { attempts_left }) => {
                body.attempts_left = Some(*attempts_left)
            }
            ApiError::ContactAdministrator(h) => body.help_desk = Some(h.clone()),
            _ => {}
        }
        body
    }
}

/// Error texts follow Rust's convention (lower case, no full stop); people read sentences.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(detail = %detail, "internal error");
        }
        let status = self.status();
        let body = self.body();
        let retry_after = body.retry_after;
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ApiError::Conflict,
            other => ApiError::Internal(format!("store: {other}")),
        }
    }
}

impl From<FlowError> for ApiError {
    fn from(e: FlowError) -> Self {
        ApiError::Flow(e)
    }
}

impl From<CodeError> for ApiError {
    fn from(e: CodeError) -> Self {
        ApiError::Code(e)
    }
}

impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Rejected(rules) => ApiError::PasswordRejected(rules),
            DirectoryError::InvalidCredentials
            | DirectoryError::Locked
            | DirectoryError::Disabled
            | DirectoryError::NotFound => ApiError::InvalidCredentials,
            DirectoryError::Unavailable(detail) => {
                tracing::warn!(detail = %detail, "directory unavailable");
                ApiError::DirectoryUnavailable
            }
            DirectoryError::Backend(detail) => ApiError::Internal(format!("directory: {detail}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_stay_generic() {
        let e = ApiError::Internal("database is locked at /secret/path".into());
        let body = e.body();
        assert_eq!(body.code, "internal");
        assert!(!body.message.contains("secret"));
        assert_eq!(
            body.message,
            "Something went wrong on our side; try again later."
        );
    }

    #[test]
    fn codes_are_stable() {
        let cases: Vec<(ApiError, &str, u16)> = vec![
            (ApiError::MalformedJson, "malformed_json", 400),
            (
                ApiError::PasswordRejected(vec![Rule::Banned]),
                "password_rejected",
                422,
            ),
            (
                ApiError::Code(CodeError::Mismatch { attempts_left: 2 }),
                "code_invalid",
                400,
            ),
            (ApiError::Code(CodeError::Expired), "code_expired", 410),
            (
                ApiError::Code(CodeError::TooManyAttempts),
                "too_many_attempts",
                403,
            ),
            (ApiError::Flow(FlowError::Expired), "flow_expired", 410),
            (
                ApiError::RateLimited(Duration::from_secs(3)),
                "rate_limited",
                429,
            ),
            (ApiError::InvalidCredentials, "invalid_credentials", 401),
        ];
        for (e, code, status) in cases {
            assert_eq!((e.code(), e.status().as_u16()), (code, status));
        }
        assert_eq!(
            ApiError::Code(CodeError::Mismatch { attempts_left: 2 })
                .body()
                .attempts_left,
            Some(2)
        );
        assert_eq!(
            ApiError::PasswordRejected(vec![Rule::Banned, Rule::TooShort { min: 8 }])
                .body()
                .violations
                .len(),
            2
        );
    }
}
