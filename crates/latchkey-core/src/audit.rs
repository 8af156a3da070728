//! Audit events: who did what, from where, with what outcome. Built only from typed fields, so a
//! secret has no field to travel in.

use crate::clock::Timestamp;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A recovery flow was started (real or decoy; the record says which).
    RecoveryStarted,
    /// The user is not enabled for self-service and was told to contact the administrator.
    RecoveryNotEnabled,
    /// A code was queued for sending.
    CodeSent,
    /// A code or answers were checked.
    ChallengeVerified,
    /// The password was reset through a recovery flow.
    PasswordReset,
    /// The account was unlocked through a recovery flow.
    AccountUnlocked,
    /// The password was changed by its owner.
    PasswordChanged,
    /// A request was refused by a rate limit.
    RateLimited,
    /// A CAPTCHA answer was wrong or stale.
    CaptchaFailed,
    /// A notice (confirmation, admin alert) was queued.
    NoticeQueued,
}

impl AuditAction {
    /// Stable name used in storage and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::RecoveryStarted => "recovery.started",
            AuditAction::RecoveryNotEnabled => "recovery.not_enabled",
            AuditAction::CodeSent => "challenge.code_sent",
            AuditAction::ChallengeVerified => "challenge.verified",
            AuditAction::PasswordReset => "password.reset",
            AuditAction::AccountUnlocked => "account.unlocked",
            AuditAction::PasswordChanged => "password.changed",
            AuditAction::RateLimited => "rate_limited",
            AuditAction::CaptchaFailed => "captcha.failed",
            AuditAction::NoticeQueued => "notice.queued",
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It worked.
    Success,
    /// It was refused or failed; the stable reason code says why.
    Failure(&'static str),
}

impl Outcome {
    /// `"success"` or the failure's reason code.
    pub fn as_str(&self) -> &str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure(code) => code,
        }
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: Timestamp,
    /// What.
    pub action: AuditAction,
    /// The user concerned (normalised id), if any.
    pub user: Option<String>,
    /// The caller's address.
    pub source: Option<String>,
    /// The flow concerned, if any.
    pub flow: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Whether the flow was a decoy (unknown or unregistered user); never shown to the caller.
    pub decoy: bool,
    /// Non-secret particulars: a method kind, a rule code, a masked hint.
    pub detail: String,
}
