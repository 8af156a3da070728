//! Password rules applied to a real user (policy, names, history), `POST /password/change` and
//! `POST /password/check`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use latchkey_core::SecretString;
use latchkey_core::audit::{AuditAction, Outcome};
use latchkey_core::clock::Timestamp;
use latchkey_core::policy::{Assessment, PasswordPolicy, Rule, Tightening, UserContext};
use latchkey_core::ratelimit::{Action, Scope};
use latchkey_core::user::UserId;
use latchkey_directory::{BindOutcome, DirectoryError, DirectoryUser};
use latchkey_proto as proto;

use super::{Caller, Source, audit, notify, rate_limit};
use crate::error::ApiError;
use crate::state::AppState;

fn assess(
    state: &AppState,
    names: &UserContext,
    password: &SecretString,
    tightening: Tightening,
) -> Assessment {
    state.policy.assess_tightened(
        password,
        names,
        &[state.config().organisation.name.as_str()],
        tightening,
    )
}

/// The policy as the wizard shows it, with a directory's rules for one user applied and the
/// history depth that is actually enforced.
pub fn policy_summary(
    policy: &PasswordPolicy,
    tightening: Tightening,
    history: u32,
) -> proto::PolicySummary {
    proto::PolicySummary {
        min_length: u32::try_from(policy.min_length_with(tightening)).unwrap_or(u32::MAX),
        max_length: u32::try_from(policy.max_length).unwrap_or(u32::MAX),
        min_score: policy.min_score,
        required_classes: policy.required_classes_with(tightening),
        history,
        reject_user_names: policy.reject_user_names,
        banned_list: !policy.banned.is_empty(),
    }
}

/// The rules the directory enforces for `user` (a ppolicy entry, AD's domain policy or the
/// user's fine-grained PSO), as a tightening of the service's policy, and the deepest history
/// in force. When the directory cannot say, the service's own policy stands: the directory still
/// enforces its rules when the password is written, and its refusal is translated then.
pub async fn directory_rules(state: &AppState, user: &DirectoryUser) -> (Tightening, u32) {
    let service_history = if state.directory.keeps_history() {
        0
    } else {
        state.policy.history
    };
    match state.directory.password_rules(user).await {
        Ok(rules) => {
            let tightening = Tightening {
                min_length: rules.min_length.unwrap_or(0),
                required_classes: if rules.complexity { 3 } else { 0 },
            };
            // Whichever remembers more: the service's (where it keeps one) or the directory's.
            let history = service_history.max(rules.history.unwrap_or(0));
            (tightening, history)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the directory's password rules could not be read");
            (Tightening::default(), service_history)
        }
    }
}

/// What rating a verified flow's passwords needs about its user (names, and the rules their
/// directory holds), kept until the flow expires, so rating as the person types reads the
/// directory once per flow instead of at every pause. Per process; bounded.
#[derive(Debug, Default)]
pub struct RatingContexts {
    entries: Mutex<HashMap<String, RatingContext>>,
}

#[derive(Debug, Clone)]
struct RatingContext {
    names: Vec<String>,
    tightening: Tightening,
    expires_at: Timestamp,
}

impl RatingContexts {
    /// Flows remembered at most; beyond that new ones are simply not cached.
    const MAX: usize = 10_000;

    fn lock(&self) -> MutexGuard<'_, HashMap<String, RatingContext>> {
        // A cache: a panic elsewhere leaves nothing half-written that matters.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, flow: &str, now: Timestamp) -> Option<RatingContext> {
        self.lock()
            .get(flow)
            .filter(|c| now < c.expires_at)
            .cloned()
    }

    fn put(&self, flow: &str, context: RatingContext, now: Timestamp) {
        let mut entries = self.lock();
        if entries.len() >= Self::MAX {
            entries.retain(|_, c| now < c.expires_at);
        }
        if entries.len() < Self::MAX {
            entries.insert(flow.to_owned(), context);
        }
    }
}

/// The policy summary for one user, for the wizard's new-password screen.
pub async fn summary_for(state: &AppState, user: &DirectoryUser) -> proto::PolicySummary {
    let (tightening, history) = directory_rules(state, user).await;
    policy_summary(&state.policy, tightening, history)
}

/// Refuses `password` for `user` with every rule it breaks, history included.
pub async fn enforce_policy(
    state: &AppState,
    user: &DirectoryUser,
    password: &SecretString,
) -> Result<(), ApiError> {
    let names = UserContext::from_values(user.name_values());
    let (tightening, _) = directory_rules(state, user).await;
    let mut violations = assess(state, &names, password, tightening).violations;
    if in_history(state, user, password).await? {
        violations.push(Rule::InHistory {
            remembered: state.policy.history,
        });
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ApiError::PasswordRejected(violations))
    }
}

/// Whether `password` is one of the user's remembered ones (only where the directory keeps no
/// history of its own).
async fn in_history(
    state: &AppState,
    user: &DirectoryUser,
    password: &SecretString,
) -> Result<bool, ApiError> {
    if state.policy.history == 0 || state.directory.keeps_history() {
        return Ok(false);
    }
    let hashes = state
        .store
        .password_history(&user.key, state.policy.history)
        .await?;
    if hashes.is_empty() {
        return Ok(false);
    }
    let hasher = state.hasher.clone();
    let candidate = password.clone();
    // argon2 is deliberately slow; keep it off the async workers.
    tokio::task::spawn_blocking(move || {
        hashes
            .iter()
            .any(|h| hasher.verify(&candidate, h).unwrap_or(false))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("history check: {e}")))
}

/// Remembers a newly set password for the history rule.
pub async fn remember(
    state: &AppState,
    user: &DirectoryUser,
    password: &SecretString,
    now: Timestamp,
) -> Result<(), ApiError> {
    if state.policy.history == 0 || state.directory.keeps_history() {
        return Ok(());
    }
    let hasher = state.hasher.clone();
    let rng = state.rng.clone();
    let pw = password.clone();
    let phc = tokio::task::spawn_blocking(move || hasher.hash(rng.as_ref(), &pw))
        .await
        .map_err(|e| ApiError::Internal(format!("history hash: {e}")))?
        .map_err(|e| ApiError::Internal(format!("history hash: {e}")))?;
    state
        .store
        .push_password_history(&user.key, &phc, now, state.policy.history)
        .await?;
    Ok(())
}

/// `POST /password/change`: the user knows the old password.
pub async fn change(
    state: &AppState,
    caller: &Caller,
    req: proto::ChangePassword,
) -> Result<proto::Completed, ApiError> {
    if !state.config().recovery.change {
        return Err(ApiError::IntentDisabled);
    }
    rate_limit(
        state,
        caller,
        Action::ChangePassword,
        Source::Count,
        &[],
        None,
    )
    .await?;
    let user_id =
        UserId::parse(&req.user_id).map_err(|e| ApiError::InvalidUserId(e.to_string()))?;
    let uid = user_id.as_str();
    // Every spelling of an id shares one budget (see `recovery::user_scope`).
    rate_limit(
        state,
        caller,
        Action::ChangePassword,
        Source::Skip,
        &[(Scope::User, user_id.account_name())],
        Some(uid),
    )
    .await?;
    let old = SecretString::new(req.old_password.expose());
    let new = SecretString::new(req.new_password.expose());

    let Some(user) = state.directory.find_user(&user_id).await? else {
        // Spend the time a real check would, so the answer's timing does not reveal the miss.
        burn_hash(state, &old).await;
        audit(
            state,
            caller,
            AuditAction::PasswordChanged,
            Some(uid),
            None,
            Outcome::failure("unknown_user"),
            true,
            "",
        )
        .await?;
        return Err(ApiError::InvalidCredentials);
    };
    let bind = state.directory.verify_password(&user.key, &old).await?;
    match bind {
        BindOutcome::Valid | BindOutcome::ValidMustChange => {}
        other => {
            // Wrong password, locked and disabled are told apart in the audit log only.
            let reason = match other {
                BindOutcome::Locked => "account_locked",
                BindOutcome::Disabled => "account_disabled",
                _ => "wrong_password",
            };
            // A locked or disabled account answers without checking the password; spend the
            // time a check takes so that timing does not tell these states apart either.
            if matches!(other, BindOutcome::Locked | BindOutcome::Disabled) {
                burn_hash(state, &old).await;
            }
            audit(
                state,
                caller,
                AuditAction::PasswordChanged,
                Some(uid),
                None,
                Outcome::failure(reason),
                false,
                "",
            )
            .await?;
            return Err(ApiError::InvalidCredentials);
        }
    }
    if let Err(e) = enforce_policy(state, &user, &new).await {
        audit(
            state,
            caller,
            AuditAction::PasswordChanged,
            Some(uid),
            None,
            Outcome::failure(e.code()),
            false,
            &super::recovery::rule_codes(&e),
        )
        .await?;
        return Err(e);
    }
    if let Err(e) = state.directory.change_password(&user.key, &old, &new).await {
        let reason = match &e {
            DirectoryError::Locked => "account_locked",
            DirectoryError::InvalidCredentials => "wrong_password",
            _ => "directory_error",
        };
        let api = ApiError::from(e);
        audit(
            state,
            caller,
            AuditAction::PasswordChanged,
            Some(uid),
            None,
            Outcome::failure(reason),
            false,
            &super::recovery::rule_codes(&api),
        )
        .await?;
        return Err(api);
    }
    remember(state, &user, &new, state.clock.now()).await?;
    audit(
        state,
        caller,
        AuditAction::PasswordChanged,
        Some(uid),
        None,
        Outcome::Success,
        false,
        "",
    )
    .await?;
    notify::password_changed(state, caller, &user).await?;
    Ok(proto::Completed {
        outcome: proto::Outcome::PasswordChanged,
        message: "Your password has been changed. Use the new one the next time you sign in."
            .into(),
    })
}

async fn burn_hash(state: &AppState, password: &SecretString) {
    let hasher = state.hasher.clone();
    let rng = state.rng.clone();
    let pw = password.clone();
    let _ = tokio::task::spawn_blocking(move || hasher.hash(rng.as_ref(), &pw)).await;
}

/// `POST /password/check`: rates a candidate without storing it.
pub async fn check(
    state: &AppState,
    caller: &Caller,
    req: proto::CheckPassword,
) -> Result<proto::PasswordRating, ApiError> {
    rate_limit(
        state,
        caller,
        Action::CheckPassword,
        Source::Count,
        &[],
        None,
    )
    .await?;
    let password = SecretString::new(req.password.expose());
    let mut values: Vec<String> = Vec::new();
    let mut tightening = Tightening::default();
    if let Some(raw) = req.user_id.as_deref() {
        // Only what the caller typed: looking the user up would tell whether they exist.
        if let Ok(id) = UserId::parse(raw) {
            values.push(id.as_str().to_owned());
        }
    }
    if let Some(token) = req.flow_id.as_deref() {
        // A verified flow has proven who the caller is, so the directory's names may be used,
        // and the rules the directory holds for them.
        let now = state.clock.now();
        if let Some(flow) = super::recovery::flow_by_token(state, token).await?
            && flow.state == latchkey_core::flow::FlowState::Verified
            && !flow.is_decoy()
        {
            let known = state.rating_contexts.get(flow.id.as_str(), now);
            let context = match known {
                Some(context) => Some(context),
                None => match UserId::parse(flow.subject.user_id()) {
                    Ok(id) => match state.directory.find_user(&id).await? {
                        Some(user) => {
                            let context = RatingContext {
                                names: user.name_values().into_iter().map(str::to_owned).collect(),
                                tightening: directory_rules(state, &user).await.0,
                                expires_at: flow.expires_at,
                            };
                            state
                                .rating_contexts
                                .put(flow.id.as_str(), context.clone(), now);
                            Some(context)
                        }
                        None => None,
                    },
                    Err(_) => None,
                },
            };
            if let Some(context) = context {
                values.extend(context.names);
                tightening = context.tightening;
            }
        }
    }
    let names = UserContext::from_values(values.iter().map(String::as_str));
    let a = assess(state, &names, &password, tightening);
    Ok(proto::PasswordRating {
        acceptable: a.acceptable(),
        score: a.strength.score,
        guesses_log10: (a.strength.guesses_log10 * 100.0).round() / 100.0,
        warning: a.strength.warning.clone(),
        suggestions: a.strength.suggestions.clone(),
        violations: a
            .violations
            .iter()
            .map(|r| proto::Violation {
                rule: r.code().to_owned(),
                message: r.to_string(),
            })
            .collect(),
    })
}
