//! Audit events: who did what, from where, with what outcome. Built only from typed fields, so a
//! secret has no field to travel in.

use std::borrow::Cow;

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
    /// Every action, for parsing and exports.
    pub const ALL: [AuditAction; 10] = [
        AuditAction::RecoveryStarted,
        AuditAction::RecoveryNotEnabled,
        AuditAction::CodeSent,
        AuditAction::ChallengeVerified,
        AuditAction::PasswordReset,
        AuditAction::AccountUnlocked,
        AuditAction::PasswordChanged,
        AuditAction::RateLimited,
        AuditAction::CaptchaFailed,
        AuditAction::NoticeQueued,
    ];

    /// Inverse of [`AuditAction::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

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
    Failure(Cow<'static, str>),
}

impl Outcome {
    /// A failure with a stable reason code.
    pub fn failure(code: &'static str) -> Self {
        Outcome::Failure(Cow::Borrowed(code))
    }

    /// Reads back what [`Outcome::as_str`] wrote.
    pub fn from_stored(s: String) -> Self {
        if s == "success" {
            Outcome::Success
        } else {
            Outcome::Failure(Cow::Owned(s))
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(Outcome::from_stored("success".into()), Outcome::Success);
        assert_eq!(
            Outcome::from_stored("code_invalid".into()),
            Outcome::failure("code_invalid")
        );
    }
}
