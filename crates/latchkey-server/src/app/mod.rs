//! What the service does, one function per protocol step. The HTTP layer parses and calls in;
//! these functions combine the domain rules of `latchkey-core` with the store, the directory and
//! the outbox, and write an audit event for every step.

pub mod captcha;
pub mod notify;
pub mod password;
pub mod recovery;
pub mod registration;

use std::net::IpAddr;

use latchkey_core::audit::{AuditAction, AuditEvent, Outcome};
use latchkey_core::ratelimit::{Action, Decision, Scope};

use crate::error::ApiError;
use crate::state::AppState;

/// Who is asking: what the audit log and the rate limits need to know of a request.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The caller's address, if known.
    pub source: Option<IpAddr>,
}

impl Caller {
    fn source_text(&self) -> Option<String> {
        self.source.map(|ip| ip.to_string())
    }

    /// The source as rate limits count it: an IPv4 address, or an IPv6 /64 (one subscriber's
    /// allocation, which a single attacker can otherwise walk through address by address).
    fn rate_key(&self) -> Option<String> {
        self.source.map(|ip| match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        })
    }
}

/// Which counters a call to [`rate_limit`] touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Count against the caller's address too.
    Count,
    /// The caller's address was counted already in this request.
    Skip,
}

/// Counts one `action` against each of `subjects` (and the caller's address, with
/// [`Source::Count`]) and refuses when any limit is exceeded.
pub(crate) async fn rate_limit(
    state: &AppState,
    caller: &Caller,
    action: Action,
    source: Source,
    subjects: &[(Scope, &str)],
    user_for_audit: Option<&str>,
) -> Result<(), ApiError> {
    if !state.config().rate_limits.enabled {
        return Ok(());
    }
    let now = state.clock.now();
    let source_key = if source == Source::Count {
        caller.rate_key()
    } else {
        None
    };
    for rule in state.limits.for_action(action) {
        let subject = match rule.scope {
            Scope::Source => source_key.as_deref(),
            scope => subjects.iter().find(|(s, _)| *s == scope).map(|(_, v)| *v),
        };
        let Some(subject) = subject else { continue };
        let start = rule.window_start(now);
        let count = state
            .store
            .hit(&rule.key(subject), start, start.plus(rule.window))
            .await?;
        if let Decision::Limited { retry_after } = rule.decide(count, now) {
            audit(
                state,
                caller,
                AuditAction::RateLimited,
                user_for_audit,
                None,
                Outcome::failure("rate_limited"),
                false,
                &format!("{}:{}", action.as_str(), rule.scope.as_str()),
            )
            .await?;
            return Err(ApiError::RateLimited(retry_after));
        }
    }
    Ok(())
}

/// Appends an audit event. A step that cannot be audited does not happen, so errors propagate.
#[allow(clippy::too_many_arguments)] // One flat call per step reads better than a builder here.
pub(crate) async fn audit(
    state: &AppState,
    caller: &Caller,
    action: AuditAction,
    user: Option<&str>,
    flow: Option<&str>,
    outcome: Outcome,
    decoy: bool,
    detail: &str,
) -> Result<(), ApiError> {
    let event = AuditEvent {
        at: state.clock.now(),
        action,
        user: user.map(str::to_owned),
        source: caller.source_text(),
        flow: flow.map(str::to_owned),
        outcome,
        decoy,
        detail: detail.to_owned(),
    };
    tracing::info!(action = action.as_str(), user = ?event.user, flow = ?event.flow, outcome = event.outcome.as_str(), decoy, detail, "audit");
    state.store.append_audit(&event).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_sources_count_per_64() {
        let key = |s: &str| {
            Caller {
                source: Some(s.parse().unwrap()),
            }
            .rate_key()
            .unwrap()
        };
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff::9"));
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
    }
}
