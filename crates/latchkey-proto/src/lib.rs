//! Wire types of the Latchkey protocol, v1: JSON over HTTPS under `/api/v1`.
//!
//! These are the only types in the project that derive `Serialize`/`Deserialize` for the
//! protocol; the service and the client convert to and from domain types at their edges.
//! Requests refuse unknown fields, so a misspelt field is an error rather than silently ignored.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroize;

/// The path prefix of every endpoint.
pub const API_PREFIX: &str = "/api/v1";

/// A secret on the wire (password, code). Debug prints `[redacted]`; wiped on drop.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `s`.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Moves the secret out.
    pub fn into_inner(mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Every error body: a stable machine `code` and a sentence for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorBody {
    /// Stable machine code, e.g. `code_invalid`, `password_rejected`, `rate_limited`.
    pub code: String,
    /// A plain sentence for people.
    pub message: String,
    /// Every rule a rejected password breaks (with `password_rejected`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// Seconds to wait before trying again (with `rate_limited`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Tries left for this code (with `code_invalid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// Where to get help (with `contact_administrator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_desk: Option<HelpDesk>,
}

/// One rule a password breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Violation {
    /// Stable rule code: `too_short`, `too_long`, `banned`, `contains_user_name`, `too_weak`,
    /// `too_few_classes`, `in_history`, `control_characters`, or a directory's own.
    pub rule: String,
    /// A plain sentence.
    pub message: String,
}

/// How to reach the help desk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct HelpDesk {
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Web page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `GET /config`: what the wizard needs before the first screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ServiceConfig {
    /// Organisation name and branding.
    pub organisation: Organisation,
    /// Which intents are enabled.
    pub intents: Intents,
    /// The password rules, for the new-password screen.
    pub password_policy: PolicySummary,
    /// The CAPTCHA in use.
    pub captcha: CaptchaKind,
    /// Code length and timings, for the code screen.
    pub codes: CodeSummary,
}

/// Branding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Organisation {
    /// Display name, e.g. "Contoso".
    pub name: String,
    /// Logo URL, if configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// Help-desk contact.
    pub help_desk: HelpDesk,
}

/// Enabled intents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Intents {
    /// Forgot password.
    pub reset: bool,
    /// Unlock account.
    pub unlock: bool,
    /// Change a known password.
    pub change: bool,
}

/// The password policy, as the wizard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PolicySummary {
    /// Minimum length in characters.
    pub min_length: u32,
    /// Maximum length in characters.
    pub max_length: u32,
    /// Minimum zxcvbn score (0–4), 0 when off.
    pub min_score: u8,
    /// Character classes required, 0 when off.
    pub required_classes: u8,
    /// Previous passwords that cannot be reused, 0 when off.
    pub history: u32,
    /// Whether the user's names are refused.
    pub reject_user_names: bool,
    /// Whether common and banned passwords are refused.
    pub banned_list: bool,
}

/// Which CAPTCHA is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CaptchaKind {
    /// An image of distorted characters, with a text question as the accessible alternative.
    Image,
    /// None (tests only; the service warns at start).
    Off,
}

/// Code timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CodeSummary {
    /// Digits in a code.
    pub length: u8,
    /// Seconds a code stays valid.
    pub lifetime_secs: u64,
    /// Seconds before another code can be sent to the same method.
    pub resend_after_secs: u64,
}

/// `POST /captcha` body (optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CaptchaRequest {
    /// `image` (default) or `text`, the accessible alternative.
    #[serde(default)]
    pub variant: Option<CaptchaVariant>,
}

/// CAPTCHA variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CaptchaVariant {
    /// Distorted characters in a PNG image.
    Image,
    /// A short question in words, readable by a screen reader.
    Text,
}

/// A CAPTCHA challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CaptchaChallenge {
    /// Send this back with the answer.
    pub captcha_id: String,
    /// Which variant this is.
    pub variant: CaptchaVariant,
    /// The image as `data:image/png;base64,...` (image variant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Image height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// What to do: for the image, "Enter the characters you see"; for text, the question.
    pub prompt: String,
    /// Seconds the challenge stays valid.
    pub expires_in: u64,
}

/// What the person came to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Forgot the password.
    Reset,
    /// Account locked.
    Unlock,
}

/// `POST /recovery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct StartRecovery {
    /// What the person typed: `alice@contoso.com`, `CONTOSO\alice` or `alice`.
    pub user_id: String,
    /// Reset or unlock.
    pub intent: Intent,
    /// From `POST /captcha` (ignored when the CAPTCHA is off).
    #[serde(default)]
    pub captcha_id: String,
    /// What the person read or answered.
    #[serde(default)]
    pub captcha_answer: String,
}

/// Kinds of verification method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    /// Code by email.
    Email,
    /// Code by text message.
    Sms,
    /// Phone call, press `#`.
    Voice,
    /// Security questions.
    Questions,
}

/// A method offered for verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OfferedMethod {
    /// Pass to `POST /recovery/{flow_id}/challenges`.
    pub id: String,
    /// Its kind.
    pub kind: MethodKind,
    /// Masked contact data: `j•••@contoso.com`, `+1 ••• ••• ••12`.
    pub hint: String,
}

/// `POST /recovery` answer: the flow has started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RecoveryStarted {
    /// The flow's id; keep it for the next steps.
    pub flow_id: String,
    /// Reset or unlock.
    pub intent: Intent,
    /// Methods to choose from.
    pub methods: Vec<OfferedMethod>,
    /// Distinct methods to verify before the password can be set.
    pub methods_required: u8,
    /// Seconds before the flow expires.
    pub expires_in: u64,
}

/// `POST /recovery/{flow_id}/challenges`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct StartChallenge {
    /// One of the offered methods.
    pub method_id: String,
}

/// A challenge was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChallengeStarted {
    /// Pass to the verify endpoint.
    pub challenge_id: String,
    /// The method's kind.
    pub kind: MethodKind,
    /// Where the code went, masked.
    pub hint: String,
    /// Digits in the code.
    pub code_length: u8,
    /// Seconds the code stays valid.
    pub expires_in: u64,
    /// Seconds before another code can be sent.
    pub resend_after: u64,
}

/// `POST /recovery/{flow_id}/challenges/{challenge_id}/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct VerifyChallenge {
    /// The code received.
    #[schema(value_type = String, format = Password)]
    #[cfg_attr(test, ts(type = "string"))]
    pub code: Secret,
}

/// What to do after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    /// Verify another, different method.
    ChooseAnotherMethod,
    /// Set the new password (or unlock).
    SetPassword,
}

/// A challenge was passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChallengeVerified {
    /// Distinct methods verified so far.
    pub methods_verified: u8,
    /// Distinct methods required.
    pub methods_required: u8,
    /// What comes next.
    pub next: NextStep,
    /// The password rules for this user (the directory's fine-grained policy or complexity
    /// applied), once every required method is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub password_policy: Option<PolicySummary>,
}

/// Where a challenge stands (`GET /recovery/{flow_id}/challenges/{challenge_id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChallengeStatus {
    /// The challenge.
    pub challenge_id: String,
    /// `pending`, `verified` or `failed`.
    pub state: String,
    /// Seconds left before the code expires (0 when expired).
    pub expires_in: u64,
}

/// `POST /recovery/{flow_id}/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The new password.
    #[schema(value_type = String, format = Password)]
    #[cfg_attr(test, ts(type = "string"))]
    pub new_password: Secret,
}

/// How a flow or a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// "Your password has been reset."
    PasswordReset,
    /// "Your account has been unlocked."
    AccountUnlocked,
    /// "Your password has been changed."
    PasswordChanged,
}

/// The end of a flow or a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Completed {
    /// What happened.
    pub outcome: Outcome,
    /// A sentence saying what to do next.
    pub message: String,
}

/// `POST /password/change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The user id.
    pub user_id: String,
    /// The current password.
    #[schema(value_type = String, format = Password)]
    #[cfg_attr(test, ts(type = "string"))]
    pub old_password: Secret,
    /// The new password.
    #[schema(value_type = String, format = Password)]
    #[cfg_attr(test, ts(type = "string"))]
    pub new_password: Secret,
}

/// `POST /password/check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CheckPassword {
    /// The candidate; never stored.
    #[schema(value_type = String, format = Password)]
    #[cfg_attr(test, ts(type = "string"))]
    pub password: Secret,
    /// The user id, so the user's names can be checked (optional).
    #[serde(default)]
    pub user_id: Option<String>,
    /// A recovery flow, instead of the user id (optional).
    #[serde(default)]
    pub flow_id: Option<String>,
}

/// The rating of a candidate password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PasswordRating {
    /// Whether it breaks no rule (history aside, which needs the user's proof).
    pub acceptable: bool,
    /// zxcvbn score, 0–4.
    pub score: u8,
    /// log10 of the estimated guesses.
    pub guesses_log10: f64,
    /// zxcvbn's warning, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// zxcvbn's suggestions.
    pub suggestions: Vec<String>,
    /// Every rule broken.
    pub violations: Vec<Violation>,
}

/// `/healthz` and `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Per dependency: `store`, `directory`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<HealthCheck>,
}

/// One dependency's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct HealthCheck {
    /// `store` or `directory`.
    pub name: String,
    /// `ok` or `unavailable`.
    pub status: String,
}

/// The TypeScript bindings of these types, for the wizard (`ui/src/lib/bindings.ts`), are
/// generated by this test and committed; it fails when the committed file is stale. Run it with
/// `LATCHKEY_BLESS=1` to rewrite the file after changing a type.
#[cfg(test)]
mod bindings {
    use super::*;
    use ts_rs::{Config, TS};

    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/lib/bindings.ts");

    fn decl<T: TS>(cfg: &Config) -> String {
        format!("export {}", T::decl(cfg))
    }

    #[test]
    fn typescript_bindings_are_current() {
        // Every integer in the protocol fits a JavaScript number.
        let cfg = Config::new().with_large_int("number");
        let body = [
            decl::<ErrorBody>(&cfg),
            decl::<Violation>(&cfg),
            decl::<HelpDesk>(&cfg),
            decl::<ServiceConfig>(&cfg),
            decl::<Organisation>(&cfg),
            decl::<Intents>(&cfg),
            decl::<PolicySummary>(&cfg),
            decl::<CaptchaKind>(&cfg),
            decl::<CodeSummary>(&cfg),
            decl::<CaptchaRequest>(&cfg),
            decl::<CaptchaVariant>(&cfg),
            decl::<CaptchaChallenge>(&cfg),
            decl::<Intent>(&cfg),
            decl::<StartRecovery>(&cfg),
            decl::<MethodKind>(&cfg),
            decl::<OfferedMethod>(&cfg),
            decl::<RecoveryStarted>(&cfg),
            decl::<StartChallenge>(&cfg),
            decl::<ChallengeStarted>(&cfg),
            decl::<VerifyChallenge>(&cfg),
            decl::<NextStep>(&cfg),
            decl::<ChallengeVerified>(&cfg),
            decl::<ChallengeStatus>(&cfg),
            decl::<SetPassword>(&cfg),
            decl::<Outcome>(&cfg),
            decl::<Completed>(&cfg),
            decl::<ChangePassword>(&cfg),
            decl::<CheckPassword>(&cfg),
            decl::<PasswordRating>(&cfg),
            decl::<Health>(&cfg),
            decl::<HealthCheck>(&cfg),
        ]
        .join("\n\n");
        let want = format!(
            "// Generated from crates/latchkey-proto by its `bindings` test; do not edit.\n// Regenerate: LATCHKEY_BLESS=1 cargo test -p latchkey-proto bindings\n\n{body}\n"
        );
        let have = std::fs::read_to_string(PATH).unwrap_or_default();
        if std::env::var_os("LATCHKEY_BLESS").is_some() {
            std::fs::write(PATH, &want).expect("writing the bindings");
        } else {
            assert!(
                have == want,
                "ui/src/lib/bindings.ts is stale: run LATCHKEY_BLESS=1 cargo test -p latchkey-proto bindings"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let v: VerifyChallenge = serde_json::from_str(r#"{"code":"123456"}"#).unwrap();
        assert_eq!(v.code.expose(), "123456");
        assert!(!format!("{v:?}").contains("123456"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<VerifyChallenge>(r#"{"code":"1","extra":1}"#).is_err());
        assert!(
            serde_json::from_str::<StartRecovery>(
                r#"{"user_id":"a","intent":"reset","captcha_id":"","captcha_answer":"","x":0}"#
            )
            .is_err()
        );
    }

    #[test]
    fn error_body_omits_empty_parts() {
        let e = ErrorBody {
            code: "x".into(),
            message: "y".into(),
            violations: vec![],
            retry_after: None,
            attempts_left: None,
            help_desk: None,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"x","message":"y"}"#
        );
    }

    #[test]
    fn enums_are_snake_case() {
        assert_eq!(
            serde_json::to_string(&NextStep::ChooseAnotherMethod).unwrap(),
            r#""choose_another_method""#
        );
        assert_eq!(
            serde_json::to_string(&Outcome::PasswordReset).unwrap(),
            r#""password_reset""#
        );
        assert_eq!(
            serde_json::from_str::<Intent>(r#""unlock""#).unwrap(),
            Intent::Unlock
        );
    }
}
