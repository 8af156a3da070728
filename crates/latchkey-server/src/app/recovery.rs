//! Anonymous recovery: start a flow, send and verify codes, then reset or unlock.
//!
//! Unknown and unregistered users get a decoy flow of the same shape: its methods are derived
//! from the server key and the typed id (so asking twice shows the same hints), its codes go
//! nowhere, and every verification fails like a wrong code.

use std::time::{Duration, Instant};

use latchkey_core::audit::{AuditAction, Outcome};
use latchkey_core::clock::Timestamp;
use latchkey_core::code::{self, CODE_LENGTH, CodeState};
use latchkey_core::flow::{Flow, Intent, MethodKind, OfferedMethod, Subject};
use latchkey_core::ids::{ChallengeId, FlowId, MethodId};
use latchkey_core::mask;
use latchkey_core::ratelimit::{Action, Scope};
use latchkey_core::user::UserId;
use latchkey_directory::{DirectoryUser, ResetOptions};
use latchkey_proto as proto;
use latchkey_store::{ChallengeRecord, ChallengeState, StoreError};

use super::{Caller, audit, captcha, notify, password, rate_limit};
use crate::error::ApiError;
use crate::state::{AppState, help_desk};

/// Domains a decoy's masked email may show, besides the organisation's own.
const DECOY_DOMAINS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "icloud.com",
    "hotmail.com",
];

/// `POST /recovery`.
pub async fn start(
    state: &AppState,
    caller: &Caller,
    req: proto::StartRecovery,
) -> Result<proto::RecoveryStarted, ApiError> {
    let began = Instant::now();
    let result = start_inner(state, caller, req).await;
    // Known, unknown and unregistered users all answer no sooner than the floor, so the time an
    // answer takes does not tell them apart. Errors before the lookup are not padded: they say
    // nothing about the user.
    if !matches!(
        result,
        Err(ApiError::CaptchaInvalid
            | ApiError::InvalidUserId(_)
            | ApiError::RateLimited(_)
            | ApiError::IntentDisabled)
    ) {
        let floor = Duration::from_millis(state.config().recovery.response_floor_ms);
        if let Some(rest) = floor.checked_sub(began.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    result
}

async fn start_inner(
    state: &AppState,
    caller: &Caller,
    req: proto::StartRecovery,
) -> Result<proto::RecoveryStarted, ApiError> {
    let intent = match req.intent {
        proto::Intent::Reset => Intent::Reset,
        proto::Intent::Unlock => Intent::Unlock,
    };
    let cfg = &state.config().recovery;
    let enabled = match intent {
        Intent::Reset => cfg.reset,
        Intent::Unlock => cfg.unlock,
    };
    if !enabled {
        return Err(ApiError::IntentDisabled);
    }
    rate_limit(state, caller, Action::StartRecovery, &[], None).await?;
    if let Err(e) = captcha::check(state, &req.captcha_id, &req.captcha_answer).await {
        audit(
            state,
            caller,
            AuditAction::CaptchaFailed,
            None,
            None,
            Outcome::failure("captcha_invalid"),
            false,
            "",
        )
        .await?;
        return Err(e);
    }
    let user_id =
        UserId::parse(&req.user_id).map_err(|e| ApiError::InvalidUserId(e.to_string()))?;
    rate_limit(
        state,
        caller,
        Action::StartRecovery,
        &[(Scope::User, user_id.as_str())],
        Some(user_id.as_str()),
    )
    .await?;

    let now = state.clock.now();
    let lifetime = Duration::from_secs(cfg.flow_minutes * 60);
    let found = state.directory.find_user(&user_id).await?;
    let real = match found {
        Some(user) if !user.state.disabled => {
            if !enabled_for(state, &user) {
                if cfg.reveal_not_enabled {
                    audit(
                        state,
                        caller,
                        AuditAction::RecoveryNotEnabled,
                        Some(user_id.as_str()),
                        None,
                        Outcome::failure("contact_administrator"),
                        false,
                        "",
                    )
                    .await?;
                    return Err(ApiError::ContactAdministrator(help_desk(state.config())));
                }
                None
            } else {
                let required = methods_required(state, &user);
                let methods: Vec<OfferedMethod> = state
                    .store
                    .methods_for(&user.key)
                    .await?
                    .into_iter()
                    .map(|m| OfferedMethod {
                        id: m.id,
                        kind: m.kind,
                        hint: m.hint,
                    })
                    .collect();
                // A user with fewer methods than required can never finish; treat as unregistered.
                (methods.len() >= usize::from(required)).then_some((user, methods, required))
            }
        }
        _ => None,
    };
    let flow_id = FlowId::generate(state.rng.as_ref());
    let flow = match real {
        Some((user, methods, required)) => Flow::start(
            flow_id,
            intent,
            Subject::User {
                directory_key: user.key,
                user_id: user_id.as_str().to_owned(),
            },
            methods,
            required,
            now,
            lifetime,
        ),
        None => {
            let (methods, required) = decoy_methods(state, &user_id);
            Flow::start(
                flow_id,
                intent,
                Subject::Decoy {
                    user_id: user_id.as_str().to_owned(),
                },
                methods,
                required,
                now,
                lifetime,
            )
        }
    };
    state.store.insert_flow(&flow).await?;
    audit(
        state,
        caller,
        AuditAction::RecoveryStarted,
        Some(user_id.as_str()),
        Some(flow.id.as_str()),
        Outcome::Success,
        flow.is_decoy(),
        intent.as_str(),
    )
    .await?;
    Ok(proto::RecoveryStarted {
        flow_id: flow.id.to_string(),
        intent: req.intent,
        methods: flow.methods.iter().map(offered_to_wire).collect(),
        methods_required: flow.methods_required,
        expires_in: lifetime.as_secs(),
    })
}

fn enabled_for(state: &AppState, user: &DirectoryUser) -> bool {
    let allowed = &state.config().recovery.allowed_groups;
    allowed.is_empty() || allowed.iter().any(|g| user.in_group(g))
}

/// Whether the user counts as an administrator.
pub fn is_admin(state: &AppState, user: &DirectoryUser) -> bool {
    state
        .config()
        .recovery
        .admin_groups
        .iter()
        .any(|g| user.in_group(g))
}

fn methods_required(state: &AppState, user: &DirectoryUser) -> u8 {
    let cfg = &state.config().recovery;
    if is_admin(state, user) {
        cfg.methods_required_admins.max(cfg.methods_required)
    } else {
        cfg.methods_required
    }
}

/// Plausible, stable methods for an id nobody has.
fn decoy_methods(state: &AppState, user_id: &UserId) -> (Vec<OfferedMethod>, u8) {
    let seed = state.keys.digest("decoy", &[user_id.as_str().as_bytes()]);
    let required = state.config().recovery.methods_required;
    // Most people register one or two addresses; never fewer than the flow needs.
    let count = usize::from(required).max(1 + usize::from(seed[0] % 2));
    let first = user_id.account_name().chars().next().unwrap_or('a');
    let own_domain = user_id
        .domain()
        .filter(|d| d.contains('.'))
        .map(str::to_owned);
    let methods = (0..count)
        .map(|i| {
            let pick = usize::from(seed[1 + i]);
            let domain = match (&own_domain, i) {
                (Some(d), 1) => d.clone(),
                _ => DECOY_DOMAINS[pick % DECOY_DOMAINS.len()].to_owned(),
            };
            let id = MethodId::from_stored(format!(
                "me_{}",
                hex::encode(
                    &state
                        .keys
                        .digest("decoy-method", &[user_id.as_str().as_bytes(), &[i as u8]])[..16]
                )
            ));
            OfferedMethod {
                id,
                kind: MethodKind::Email,
                hint: mask::email(&format!("{first}@{domain}")),
            }
        })
        .collect();
    (methods, required)
}

fn offered_to_wire(m: &OfferedMethod) -> proto::OfferedMethod {
    proto::OfferedMethod {
        id: m.id.to_string(),
        kind: kind_to_wire(m.kind),
        hint: m.hint.clone(),
    }
}

/// Converts a method kind to its wire form.
pub fn kind_to_wire(kind: MethodKind) -> proto::MethodKind {
    match kind {
        MethodKind::Email => proto::MethodKind::Email,
        MethodKind::Sms => proto::MethodKind::Sms,
        MethodKind::Voice => proto::MethodKind::Voice,
        MethodKind::Questions => proto::MethodKind::Questions,
    }
}

async fn load_flow(state: &AppState, flow_id: &str) -> Result<Flow, ApiError> {
    let id = FlowId::parse(flow_id).ok_or(ApiError::FlowNotFound)?;
    state.store.flow(&id).await?.ok_or(ApiError::FlowNotFound)
}

/// `POST /recovery/{flow_id}/challenges`: sends a code to the chosen method.
pub async fn start_challenge(
    state: &AppState,
    caller: &Caller,
    flow_id: &str,
    req: proto::StartChallenge,
) -> Result<proto::ChallengeStarted, ApiError> {
    let flow = load_flow(state, flow_id).await?;
    let now = state.clock.now();
    let method_id = MethodId::parse(&req.method_id).ok_or(ApiError::Flow(
        latchkey_core::flow::FlowError::UnknownMethod,
    ))?;
    let offered = flow.begin_challenge(&method_id, now)?.clone();
    if offered.kind != MethodKind::Email {
        // Only email codes exist so far; other kinds are never registered.
        return Err(ApiError::Flow(
            latchkey_core::flow::FlowError::UnknownMethod,
        ));
    }
    if let Some(last) = state.store.latest_challenge(&flow.id, &method_id).await? {
        let next = last.created_at.plus(state.codes.resend_after);
        if now < next {
            return Err(ApiError::ResendTooSoon(next.since(now)));
        }
    }
    let user = flow.subject.user_id().to_owned();
    // Where the code goes: the sealed address for a real user; a stand-in for a decoy, so that
    // destination limits behave the same.
    let destination = match &flow.subject {
        Subject::User { directory_key, .. } => {
            Some(registered_address(state, directory_key, &method_id).await?)
        }
        Subject::Decoy { .. } => None,
    };
    let dest_key = state.keys.pseudonym(
        "destination",
        destination.as_deref().unwrap_or(&offered.hint),
    );
    rate_limit(
        state,
        caller,
        Action::SendCode,
        &[(Scope::User, &user), (Scope::Destination, &dest_key)],
        Some(&user),
    )
    .await?;

    let challenge_id = ChallengeId::generate(state.rng.as_ref());
    let code = code::generate(state.rng.as_ref());
    let record = ChallengeRecord {
        id: challenge_id.clone(),
        flow_id: flow.id.clone(),
        method_id: method_id.clone(),
        kind: offered.kind,
        code: Some(CodeState::new(
            code::digest(&state.keys, &challenge_id, &code),
            now,
            &state.codes,
        )),
        state: ChallengeState::Pending,
        created_at: now,
        version: 0,
    };
    state.store.insert_challenge(&record).await?;
    if let Some(address) = destination {
        notify::code(state, &address, &code).await?;
    }
    audit(
        state,
        caller,
        AuditAction::CodeSent,
        Some(&user),
        Some(flow.id.as_str()),
        Outcome::Success,
        flow.is_decoy(),
        &format!("{} {}", offered.kind.as_str(), offered.hint),
    )
    .await?;
    Ok(proto::ChallengeStarted {
        challenge_id: challenge_id.to_string(),
        kind: kind_to_wire(offered.kind),
        hint: offered.hint,
        code_length: CODE_LENGTH as u8,
        expires_in: state.codes.lifetime.as_secs(),
        resend_after: state.codes.resend_after.as_secs(),
    })
}

async fn registered_address(
    state: &AppState,
    user_key: &str,
    method_id: &MethodId,
) -> Result<String, ApiError> {
    let method = state
        .store
        .methods_for(user_key)
        .await?
        .into_iter()
        .find(|m| &m.id == method_id)
        .ok_or(ApiError::Flow(
            latchkey_core::flow::FlowError::UnknownMethod,
        ))?;
    super::registration::open_destination(state, &method)
}

async fn load_challenge(
    state: &AppState,
    flow: &Flow,
    challenge_id: &str,
) -> Result<ChallengeRecord, ApiError> {
    let id = ChallengeId::parse(challenge_id).ok_or(ApiError::ChallengeNotFound)?;
    let challenge = state
        .store
        .challenge(&id)
        .await?
        .ok_or(ApiError::ChallengeNotFound)?;
    if challenge.flow_id != flow.id {
        return Err(ApiError::ChallengeNotFound);
    }
    Ok(challenge)
}

/// `POST /recovery/{flow_id}/challenges/{challenge_id}/verify`.
pub async fn verify(
    state: &AppState,
    caller: &Caller,
    flow_id: &str,
    challenge_id: &str,
    req: proto::VerifyChallenge,
) -> Result<proto::ChallengeVerified, ApiError> {
    let mut flow = load_flow(state, flow_id).await?;
    let mut challenge = load_challenge(state, &flow, challenge_id).await?;
    let now = state.clock.now();
    let user = flow.subject.user_id().to_owned();
    flow.begin_challenge(&challenge.method_id, now)?;
    rate_limit(
        state,
        caller,
        Action::Verify,
        &[(Scope::User, &user)],
        Some(&user),
    )
    .await?;

    let Some(mut code_state) = challenge.code.clone() else {
        return Err(ApiError::ChallengeNotFound);
    };
    let result = code_state.check(&state.keys, &challenge.id, req.code.expose(), now);
    if result != Err(latchkey_core::code::CodeError::Malformed) {
        challenge.state = match result {
            Ok(()) => ChallengeState::Verified,
            Err(latchkey_core::code::CodeError::Mismatch { .. }) => ChallengeState::Pending,
            Err(_) => ChallengeState::Failed,
        };
        challenge.code = Some(code_state);
        state.store.update_challenge(&mut challenge).await?;
    }
    let outcome = match &result {
        Ok(()) => Outcome::Success,
        Err(e) => Outcome::failure(ApiError::Code(*e).code()),
    };
    audit(
        state,
        caller,
        AuditAction::ChallengeVerified,
        Some(&user),
        Some(flow.id.as_str()),
        outcome,
        flow.is_decoy(),
        challenge.kind.as_str(),
    )
    .await?;
    result?;

    let progress = flow.record_verified(&challenge.method_id, now)?;
    state.store.update_flow(&mut flow).await?;
    Ok(proto::ChallengeVerified {
        methods_verified: progress.verified,
        methods_required: progress.required,
        next: if progress.complete() {
            proto::NextStep::SetPassword
        } else {
            proto::NextStep::ChooseAnotherMethod
        },
    })
}

/// `GET /recovery/{flow_id}/challenges/{challenge_id}`.
pub async fn challenge_status(
    state: &AppState,
    flow_id: &str,
    challenge_id: &str,
) -> Result<proto::ChallengeStatus, ApiError> {
    let flow = load_flow(state, flow_id).await?;
    let challenge = load_challenge(state, &flow, challenge_id).await?;
    let now = state.clock.now();
    let expires_at = challenge.code.as_ref().map_or(now, |c| c.expires_at);
    let state_text = if challenge.state == ChallengeState::Pending && now >= expires_at {
        "failed"
    } else {
        challenge.state.as_str()
    };
    Ok(proto::ChallengeStatus {
        challenge_id: challenge.id.to_string(),
        state: state_text.to_owned(),
        expires_in: expires_at.since(now).as_secs(),
    })
}

/// Claims a verified flow for `action`: marks it completed first, so that two concurrent
/// requests cannot both act; [`release`] undoes the claim when the directory fails.
async fn claim(
    state: &AppState,
    flow_id: &str,
    action: Intent,
) -> Result<(Flow, Timestamp), ApiError> {
    let mut flow = load_flow(state, flow_id).await?;
    let now = state.clock.now();
    flow.complete(action, now)?;
    match state.store.update_flow(&mut flow).await {
        Ok(()) => Ok((flow, now)),
        Err(StoreError::Conflict) => Err(ApiError::Flow(latchkey_core::flow::FlowError::Completed)),
        Err(e) => Err(e.into()),
    }
}

async fn release(state: &AppState, mut flow: Flow) {
    flow.state = latchkey_core::flow::FlowState::Verified;
    if let Err(e) = state.store.update_flow(&mut flow).await {
        tracing::error!(flow = %flow.id, error = %e, "could not reopen a flow after a failed directory write");
    }
}

async fn flow_user(state: &AppState, flow: &Flow) -> Result<DirectoryUser, ApiError> {
    let Subject::User {
        directory_key,
        user_id,
    } = &flow.subject
    else {
        // Decoys never verify, so they never get here.
        return Err(ApiError::Flow(latchkey_core::flow::FlowError::NotVerified));
    };
    let id =
        UserId::parse(user_id).map_err(|e| ApiError::Internal(format!("stored user id: {e}")))?;
    match state.directory.find_user(&id).await? {
        Some(u) if &u.key == directory_key => Ok(u),
        _ => Err(ApiError::Internal(
            "the flow's user is no longer in the directory".into(),
        )),
    }
}

/// `POST /recovery/{flow_id}/password`.
pub async fn set_password(
    state: &AppState,
    caller: &Caller,
    flow_id: &str,
    req: proto::SetPassword,
) -> Result<proto::Completed, ApiError> {
    // Check readiness and the password before claiming, so a rejected password leaves the flow
    // as it was and the person can try another.
    let flow = load_flow(state, flow_id).await?;
    flow.ready_to_finish(Intent::Reset, state.clock.now())?;
    let user = flow_user(state, &flow).await?;
    let new_password = latchkey_core::SecretString::new(req.new_password.expose());
    let user_id = flow.subject.user_id().to_owned();
    if let Err(e) = password::enforce_policy(state, &user, &new_password).await {
        audit(
            state,
            caller,
            AuditAction::PasswordReset,
            Some(&user_id),
            Some(flow.id.as_str()),
            Outcome::failure(e.code()),
            false,
            &rule_codes(&e),
        )
        .await?;
        return Err(e);
    }
    let (flow, now) = claim(state, flow_id, Intent::Reset).await?;
    if let Err(e) = state
        .directory
        .set_password(
            &user.key,
            &new_password,
            ResetOptions {
                unlock: true,
                must_change: false,
            },
        )
        .await
    {
        release(state, flow.clone()).await;
        let e = ApiError::from(e);
        audit(
            state,
            caller,
            AuditAction::PasswordReset,
            Some(&user_id),
            Some(flow.id.as_str()),
            Outcome::failure(e.code()),
            false,
            &rule_codes(&e),
        )
        .await?;
        return Err(e);
    }
    password::remember(state, &user, &new_password, now).await?;
    audit(
        state,
        caller,
        AuditAction::PasswordReset,
        Some(&user_id),
        Some(flow.id.as_str()),
        Outcome::Success,
        false,
        "",
    )
    .await?;
    notify::password_reset(state, caller, &user, is_admin(state, &user)).await?;
    Ok(proto::Completed {
        outcome: proto::Outcome::PasswordReset,
        message: "Your password has been reset. You can now sign in with your new password.".into(),
    })
}

/// `POST /recovery/{flow_id}/unlock`.
pub async fn unlock(
    state: &AppState,
    caller: &Caller,
    flow_id: &str,
) -> Result<proto::Completed, ApiError> {
    let flow = load_flow(state, flow_id).await?;
    flow.ready_to_finish(Intent::Unlock, state.clock.now())?;
    let user = flow_user(state, &flow).await?;
    let user_id = flow.subject.user_id().to_owned();
    let (flow, _) = claim(state, flow_id, Intent::Unlock).await?;
    if let Err(e) = state.directory.unlock(&user.key).await {
        release(state, flow.clone()).await;
        let e = ApiError::from(e);
        audit(
            state,
            caller,
            AuditAction::AccountUnlocked,
            Some(&user_id),
            Some(flow.id.as_str()),
            Outcome::failure(e.code()),
            false,
            "",
        )
        .await?;
        return Err(e);
    }
    audit(
        state,
        caller,
        AuditAction::AccountUnlocked,
        Some(&user_id),
        Some(flow.id.as_str()),
        Outcome::Success,
        false,
        "",
    )
    .await?;
    notify::account_unlocked(state, caller, &user).await?;
    Ok(proto::Completed {
        outcome: proto::Outcome::AccountUnlocked,
        message: "Your account has been unlocked. You can sign in with your current password."
            .into(),
    })
}

/// The rule codes of a rejection, for the audit detail.
pub(crate) fn rule_codes(e: &ApiError) -> String {
    match e {
        ApiError::PasswordRejected(rules) => {
            rules.iter().map(|r| r.code()).collect::<Vec<_>>().join(",")
        }
        _ => String::new(),
    }
}
