//! Rate-limit rules: fixed windows counted per user, per source address and per destination.
//! The store keeps the counters; this module decides the keys, the windows and the verdicts.

use std::time::Duration;

use crate::clock::Timestamp;

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Starting a recovery flow.
    StartRecovery,
    /// Sending a code (email, SMS) or placing a call.
    SendCode,
    /// Checking a code or answers.
    Verify,
    /// Trying an old password (change password), a guessing target.
    ChangePassword,
    /// Asking for a CAPTCHA.
    Captcha,
    /// Asking for the text (accessible) CAPTCHA, on top of [`Action::Captcha`].
    TextCaptcha,
    /// Rating a candidate password.
    CheckPassword,
}

impl Action {
    /// Stable name, part of the counter key.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::StartRecovery => "start_recovery",
            Action::SendCode => "send_code",
            Action::Verify => "verify",
            Action::ChangePassword => "change_password",
            Action::Captcha => "captcha",
            Action::TextCaptcha => "text_captcha",
            Action::CheckPassword => "check_password",
        }
    }
}

/// Whose counter it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The user the request is about (normalised user id).
    User,
    /// The caller's network address.
    Source,
    /// Where a code goes (a pseudonym of the address or number, never the value).
    Destination,
}

impl Scope {
    /// Stable name, part of the counter key.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Source => "source",
            Scope::Destination => "destination",
        }
    }
}

/// At most `limit` of `action` per `window` for each `scope` subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// What is limited.
    pub action: Action,
    /// Whose counter.
    pub scope: Scope,
    /// Events allowed per window.
    pub limit: u32,
    /// The window length.
    pub window: Duration,
}

/// The outcome of counting one more event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit.
    Allowed,
    /// Over the limit; try again after this long.
    Limited {
        /// Time until the window ends.
        retry_after: Duration,
    },
}

impl Rule {
    /// Start of the window that `now` falls in.
    pub fn window_start(&self, now: Timestamp) -> Timestamp {
        let w = i64::try_from(self.window.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        Timestamp::from_millis(now.as_millis().div_euclid(w) * w)
    }

    /// The counter key for `subject`.
    pub fn key(&self, subject: &str) -> String {
        format!(
            "{}:{}:{}",
            self.action.as_str(),
            self.scope.as_str(),
            subject
        )
    }

    /// The verdict once the counter for the current window reads `count` (this event included).
    pub fn decide(&self, count: u32, now: Timestamp) -> Decision {
        if count <= self.limit {
            Decision::Allowed
        } else {
            let end = self.window_start(now).plus(self.window);
            Decision::Limited {
                // Whole seconds, rounded up, so a client that waits exactly this long gets in.
                retry_after: Duration::from_secs(
                    end.since(now).as_millis().div_ceil(1000).max(1) as u64
                ),
            }
        }
    }
}

/// The rules in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Every rule; an action may have one per scope.
    pub rules: Vec<Rule>,
}

impl RateLimits {
    /// The rules that apply to `action`.
    pub fn for_action(&self, action: Action) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.action == action)
    }
}

impl Default for RateLimits {
    /// Generous for people, tight for scripts: a person resets a password a few times a year.
    /// Verification has no per-user rule on purpose: each code allows a few tries and codes per
    /// user are limited, so a per-user verify budget would only let a stranger lock the owner out.
    fn default() -> Self {
        const MIN: u64 = 60;
        const HOUR: u64 = 3600;
        let r = |action, scope, limit, secs| Rule {
            action,
            scope,
            limit,
            window: Duration::from_secs(secs),
        };
        Self {
            rules: vec![
                r(Action::StartRecovery, Scope::Source, 30, 15 * MIN),
                r(Action::StartRecovery, Scope::User, 10, HOUR),
                r(Action::SendCode, Scope::User, 10, HOUR),
                r(Action::SendCode, Scope::Destination, 10, HOUR),
                r(Action::SendCode, Scope::Source, 30, HOUR),
                r(Action::Verify, Scope::Source, 60, 15 * MIN),
                r(Action::ChangePassword, Scope::User, 10, 15 * MIN),
                r(Action::ChangePassword, Scope::Source, 30, 15 * MIN),
                r(Action::Captcha, Scope::Source, 120, 15 * MIN),
                // The text alternative is easier for scripts than the image; it gets less room.
                r(Action::TextCaptcha, Scope::Source, 20, 15 * MIN),
                r(Action::CheckPassword, Scope::Source, 600, 15 * MIN),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_verdicts() {
        let rule = Rule {
            action: Action::SendCode,
            scope: Scope::User,
            limit: 3,
            window: Duration::from_secs(60),
        };
        let now = Timestamp::from_millis(125_000);
        assert_eq!(rule.window_start(now), Timestamp::from_millis(120_000));
        let cases = [
            (1, Decision::Allowed),
            (3, Decision::Allowed),
            (
                4,
                Decision::Limited {
                    retry_after: Duration::from_secs(55),
                },
            ),
        ];
        for (count, want) in cases {
            assert_eq!(rule.decide(count, now), want, "count {count}");
        }
        assert_eq!(rule.key("alice"), "send_code:user:alice");
    }

    #[test]
    fn retry_after_is_at_least_a_second() {
        let rule = Rule {
            action: Action::Verify,
            scope: Scope::Source,
            limit: 0,
            window: Duration::from_secs(60),
        };
        assert_eq!(
            rule.decide(1, Timestamp::from_millis(59_999)),
            Decision::Limited {
                retry_after: Duration::from_secs(1)
            }
        );
    }

    #[test]
    fn defaults_cover_every_action() {
        let limits = RateLimits::default();
        for a in [
            Action::StartRecovery,
            Action::SendCode,
            Action::Verify,
            Action::ChangePassword,
            Action::Captcha,
            Action::TextCaptcha,
            Action::CheckPassword,
        ] {
            assert!(limits.for_action(a).next().is_some(), "{a:?}");
        }
        // Codes are limited on all three axes the design names.
        let scopes: Vec<_> = limits
            .for_action(Action::SendCode)
            .map(|r| r.scope)
            .collect();
        assert!(
            scopes.contains(&Scope::User)
                && scopes.contains(&Scope::Source)
                && scopes.contains(&Scope::Destination)
        );
    }
}
