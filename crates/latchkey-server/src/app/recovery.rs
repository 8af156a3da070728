//! Anonymous recovery: start a flow, send and verify codes, then reset or unlock.
//!
//! Unknown and unregistered users get a decoy flow of the same shape. What a caller can see is
//! built the same way for both: method ids are derived per flow, hints are stable for a given
//! account name, sending answers after the same floor, and every decoy code is wrong.
//!
//! The flow id the caller holds is a bearer token; the store, the audit log and the logs only
//! ever see its keyed digest ([`storage_id`]), so reading them does not hand out live flows.

use std::future::Future;
use std::time::{Duration, Instant};

use latchkey_core::audit::{AuditAction, Outcome};
use latchkey_core::code::{self, CODE_LENGTH, CodeError, CodeState};
use latchkey_core::flow::{Flow, FlowError, FlowState, Intent, MethodKind, OfferedMethod, Subject};
use latchkey_core::ids::{ChallengeId, FlowId, MethodId};
use latchkey_core::mask;
use latchkey_core::ratelimit::{Action, Scope};
use latchkey_core::user::UserId;
use latchkey_directory::{DirectoryError, DirectoryUser, ResetOptions};
use latchkey_proto as proto;
use latchkey_store::{ChallengeRecord, ChallengeState, StoreError};

use super::{Caller, Source, audit, captcha, notify, password, rate_limit};
use crate::error::ApiError;
use crate::state::{AppState, help_desk};

/// Domains a decoy's masked email may show: where people's alternate addresses usually are.
const DECOY_DOMAINS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "icloud.com",
    "hotmail.com",
    "proton.me",
    "live.com",
    "aol.com",
    "gmx.net",
    "yahoo.co.uk",
];

/// How many times a verification retries recording its result when another request changed
/// the flow at the same moment (two methods verified at once).
const RECORD_RETRIES: usize = 3;

/// Runs `step` and answers no sooner than the configured floor, so that the time an answer
/// takes does not tell a real user from a decoy. Refusals that happen before anything about
/// the user is known are not padded.
async fn with_floor<T>(
    state: &AppState,
    step: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let began = Instant::now();
    let result = step.await;
    let says_nothing = matches!(
        result,
        Err(ApiError::CaptchaInvalid
            | ApiError::InvalidUserId(_)
            | ApiError::RateLimited(_)
            | ApiError::IntentDisabled
            | ApiError::FlowNotFound)
    );
    if !says_nothing {
        let floor = Duration::from_millis(state.config().recovery.response_floor_ms);
        if let Some(rest) = floor.checked_sub(began.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    result
}

/// The id a flow is stored under: a keyed digest of the token the caller holds.
fn storage_id(state: &AppState, token: &FlowId) -> FlowId {
    let digest = state.keys.digest("flow-id", &[token.as_str().as_bytes()]);
    FlowId::from_stored(format!("fl_{}", hex::encode(&digest[..16])))
}

/// A method's id inside one flow. Registrations keep their own ids; a flow shows ids derived
/// from them, so ids differ between flows for real users exactly as they do for decoys.
fn flow_method_id(state: &AppState, flow: &FlowId, registration: &str) -> MethodId {
    let digest = state.keys.digest(
        "flow-method",
        &[flow.as_str().as_bytes(), registration.as_bytes()],
    );
    MethodId::from_stored(format!("me_{}", hex::encode(&digest[..16])))
}

/// The subject of per-user rate limits: the account name, whatever form the id was typed in,
/// so `alice`, `alice@contoso.com` and `ANY\alice` share one budget, for real ids and decoys.
fn user_scope(user_id: &str) -> String {
    UserId::parse(user_id)
        .map(|id| id.account_name().to_owned())
        .unwrap_or_else(|_| user_id.to_owned())
}

/// Reads the flow a caller's token names.
pub(crate) async fn flow_by_token(state: &AppState, token: &str) -> Result<Option<Flow>, ApiError> {
    let Some(token) = FlowId::parse(token) else {
        return Ok(None);
    };
    Ok(state.store.flow(&storage_id(state, &token)).await?)
}

async fn load_flow(state: &AppState, token: &str) -> Result<Flow, ApiError> {
    flow_by_token(state, token)
        .await?
        .ok_or(ApiError::FlowNotFound)
}

/// `POST /recovery`.
pub async fn start(
    state: &AppState,
    caller: &Caller,
    req: proto::StartRecovery,
) -> Result<proto::RecoveryStarted, ApiError> {
    with_floor(state, start_inner(state, caller, req)).await
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
    rate_limit(
        state,
        caller,
        Action::StartRecovery,
        Source::Count,
        &[],
        None,
    )
    .await?;
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
    let scope = user_scope(user_id.as_str());
    rate_limit(
        state,
        caller,
        Action::StartRecovery,
        Source::Skip,
        &[(Scope::User, &scope)],
        Some(user_id.as_str()),
    )
    .await?;

    let now = state.clock.now();
    let lifetime = Duration::from_secs(cfg.flow_minutes * 60);
    let token = FlowId::generate(state.rng.as_ref());
    let id = storage_id(state, &token);
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
                let methods: Vec<OfferedMethod> = contacts_of(state, &user)
                    .await?
                    .into_iter()
                    .map(|c| OfferedMethod {
                        id: flow_method_id(state, &id, &c.source),
                        kind: c.kind,
                        hint: c.hint,
                    })
                    .collect();
                // A user with fewer methods than required can never finish; treat as unregistered.
                (methods.len() >= usize::from(required)).then_some((user, methods, required))
            }
        }
        _ => None,
    };
    let flow = match real {
        Some((user, methods, required)) => Flow::start(
            id,
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
            let (methods, required) = decoy_methods(state, &user_id, &id);
            Flow::start(
                id,
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
        flow_id: token.to_string(),
        intent: req.intent,
        methods: flow.methods.iter().map(offered_to_wire).collect(),
        methods_required: flow.methods_required,
        expires_in: lifetime.as_secs(),
    })
}

/// A way to reach a user: a registration, or the directory's own contact data.
struct Contact {
    /// What the flow's method id is derived from: a registration id, or
    /// `directory:email:ADDRESS` (so a changed attribute retires the method).
    source: String,
    kind: MethodKind,
    hint: String,
    /// The address itself, for directory contact data (registrations keep theirs sealed).
    address: Option<String>,
}

const DIRECTORY_EMAIL: &str = "directory:email:";

/// The methods a user can verify with: what they registered, then the directory's `mail` when
/// `directory.use_contact_attributes` allows it and no registration already has that address.
async fn contacts_of(state: &AppState, user: &DirectoryUser) -> Result<Vec<Contact>, ApiError> {
    let registered = state.store.methods_for(&user.key).await?;
    let directory_email = user
        .email
        .as_deref()
        .map(str::trim)
        .filter(|_| state.config().directory.use_contact_attributes)
        .filter(|a| a.len() <= 254 && a.contains('@') && !a.chars().any(char::is_whitespace));
    let mut contacts = Vec::with_capacity(registered.len() + 1);
    let mut duplicate = false;
    for m in registered {
        if let Some(address) = directory_email
            && m.kind == MethodKind::Email
        {
            // A registration that cannot be opened (a replaced server key) is not a duplicate;
            // it must not stop the user's other methods from being offered.
            match super::registration::open_destination(state, &m) {
                Ok(opened) => duplicate |= opened.eq_ignore_ascii_case(address),
                Err(e) => tracing::warn!(error = %e, "a registered method could not be opened"),
            }
        }
        contacts.push(Contact {
            source: m.id.to_string(),
            kind: m.kind,
            hint: m.hint,
            address: None,
        });
    }
    if let Some(address) = directory_email
        && !duplicate
    {
        contacts.push(Contact {
            source: format!("{DIRECTORY_EMAIL}{}", address.to_ascii_lowercase()),
            kind: MethodKind::Email,
            // Lower case, as decoys' are: directories keep whatever case was typed.
            hint: mask::email(&address.to_ascii_lowercase()),
            address: Some(address.to_owned()),
        });
    }
    Ok(contacts)
}

/// The domain of people's directory addresses, for decoys of directory contact data:
/// `directory.contact_mail_domain`, or else the domain `smtp.from` sends from.
fn contact_mail_domain(state: &AppState) -> String {
    let configured = state.config().directory.contact_mail_domain.trim();
    if !configured.is_empty() {
        return configured.to_ascii_lowercase();
    }
    let from = &state.config().smtp.from;
    let address = match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => &from[open + 1..close],
        _ => from.as_str(),
    };
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim().to_ascii_lowercase())
        .unwrap_or_default()
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

/// Plausible methods for an id nobody has. Hints and the number of methods depend only on the
/// account name (so `bob`, `bob@contoso.com` and `X\bob` agree, as they do for a real user);
/// ids are derived per flow, like real ones.
fn decoy_methods(state: &AppState, user_id: &UserId, flow: &FlowId) -> (Vec<OfferedMethod>, u8) {
    let account = user_id.account_name();
    let seed = state.keys.digest("decoy", &[account.as_bytes()]);
    let cfg = &state.config().recovery;
    // Administrators need more methods; a few decoys do too, so a larger number does not
    // single out a real administrator.
    let admins = cfg.methods_required_admins.max(cfg.methods_required);
    let required = if admins > cfg.methods_required && seed[0].is_multiple_of(10) {
        admins
    } else {
        cfg.methods_required
    };
    // One address for most people, two for many, three for a few.
    let registered = match seed[1] % 20 {
        0..=10 => 1,
        11..=17 => 2,
        _ => 3,
    };
    // With the directory's contact data on, real people come in three shapes: only the
    // directory's mail (they registered nothing), registrations and the directory's mail, and
    // registrations only (no `mail`, or they registered that address too). Decoys do as well.
    let (registered, directory_mail) = if state.config().directory.use_contact_attributes {
        match seed[16] % 20 {
            0..=7 => (0, true),
            8..=17 => (registered, true),
            _ => (registered, false),
        }
    } else {
        (registered, false)
    };
    let count = usize::from(required)
        .saturating_sub(usize::from(directory_mail))
        .max(registered);
    let mut methods: Vec<OfferedMethod> = (0..count)
        .map(|i| {
            let letter_pick = seed[2 + i];
            // Most alternate addresses start like the account name; some do not.
            let first = match account.chars().next() {
                Some(c) if letter_pick % 10 < 6 => c,
                _ => char::from(b'a' + letter_pick % 26),
            };
            let domain = DECOY_DOMAINS[usize::from(seed[8 + i]) % DECOY_DOMAINS.len()];
            OfferedMethod {
                id: flow_method_id(state, flow, &format!("decoy-{i}")),
                kind: MethodKind::Email,
                hint: mask::email(&format!("{first}@{domain}")),
            }
        })
        .collect();
    // Real users' directory `mail` comes last, at the organisation's domain, and usually starts
    // like the account name.
    if directory_mail {
        let first = match account.chars().next() {
            Some(c) if seed[17] % 10 < 7 => c.to_ascii_lowercase(),
            _ => char::from(b'a' + seed[18] % 26),
        };
        methods.push(OfferedMethod {
            id: flow_method_id(state, flow, "decoy-directory"),
            kind: MethodKind::Email,
            hint: mask::email(&format!("{first}@{}", contact_mail_domain(state))),
        });
    }
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

/// `POST /recovery/{flow_id}/challenges`: sends a code to the chosen method.
pub async fn start_challenge(
    state: &AppState,
    caller: &Caller,
    flow_token: &str,
    req: proto::StartChallenge,
) -> Result<proto::ChallengeStarted, ApiError> {
    with_floor(state, start_challenge_inner(state, caller, flow_token, req)).await
}

async fn start_challenge_inner(
    state: &AppState,
    caller: &Caller,
    flow_token: &str,
    req: proto::StartChallenge,
) -> Result<proto::ChallengeStarted, ApiError> {
    let flow = load_flow(state, flow_token).await?;
    let now = state.clock.now();
    let method_id =
        MethodId::parse(&req.method_id).ok_or(ApiError::Flow(FlowError::UnknownMethod))?;
    let offered = flow.begin_challenge(&method_id, now)?.clone();
    if offered.kind != MethodKind::Email {
        // Only email codes exist so far; other kinds are never registered.
        return Err(ApiError::Flow(FlowError::UnknownMethod));
    }
    if let Some(mut last) = state.store.latest_challenge(&flow.id, &method_id).await? {
        let next = last.created_at.plus(state.codes.resend_after);
        if now < next {
            return Err(ApiError::ResendTooSoon(next.since(now)));
        }
        // Only the newest code for a method works: a resend retires the previous one.
        if last.state == ChallengeState::Pending {
            last.state = ChallengeState::Failed;
            match state.store.update_challenge(&mut last).await {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let user = flow.subject.user_id().to_owned();
    let scope = user_scope(&user);
    // Where the code goes: the sealed address for a real user. A decoy gets a destination of its
    // own (account and hint), so its send budget behaves like a real address's.
    let destination = match &flow.subject {
        Subject::User {
            directory_key,
            user_id,
        } => Some(contact_address(state, &flow.id, directory_key, user_id, &method_id).await?),
        Subject::Decoy { .. } => None,
    };
    let dest_key = match &destination {
        Some(address) => state.keys.pseudonym("destination", address),
        None => state
            .keys
            .pseudonym("destination", &format!("decoy:{scope}:{}", offered.hint)),
    };
    rate_limit(
        state,
        caller,
        Action::SendCode,
        Source::Count,
        &[(Scope::User, &scope), (Scope::Destination, &dest_key)],
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
        notify::code(state, &address, &code, now.plus(state.codes.lifetime)).await?;
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

/// The contact address behind a flow's method id: a registration's, or the directory's as it
/// is now (read again, so an address changed or removed since the flow started is not used).
async fn contact_address(
    state: &AppState,
    flow: &FlowId,
    user_key: &str,
    user_id: &str,
    method_id: &MethodId,
) -> Result<String, ApiError> {
    let registered = state
        .store
        .methods_for(user_key)
        .await?
        .into_iter()
        .find(|m| &flow_method_id(state, flow, m.id.as_str()) == method_id);
    if let Some(method) = registered {
        return super::registration::open_destination(state, &method);
    }
    if state.config().directory.use_contact_attributes
        && let Ok(id) = UserId::parse(user_id)
        && let Some(user) = state.directory.find_user(&id).await?
        && user.key == user_key
    {
        let from_directory = contacts_of(state, &user)
            .await?
            .into_iter()
            .find(|c| &flow_method_id(state, flow, &c.source) == method_id)
            .and_then(|c| c.address);
        if let Some(address) = from_directory {
            return Ok(address);
        }
    }
    // Deleted since the flow started.
    Err(ApiError::Flow(FlowError::UnknownMethod))
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
    flow_token: &str,
    challenge_id: &str,
    req: proto::VerifyChallenge,
) -> Result<proto::ChallengeVerified, ApiError> {
    let flow = load_flow(state, flow_token).await?;
    let mut challenge = load_challenge(state, &flow, challenge_id).await?;
    let now = state.clock.now();
    let user = flow.subject.user_id().to_owned();
    flow.begin_challenge(&challenge.method_id, now)?;
    rate_limit(
        state,
        caller,
        Action::Verify,
        Source::Count,
        &[],
        Some(&user),
    )
    .await?;

    let Some(mut code_state) = challenge.code.clone() else {
        return Err(ApiError::ChallengeNotFound);
    };
    let result = if challenge.state == ChallengeState::Failed && !code_state.consumed {
        // Retired by a resend, or burnt: only the newest code counts.
        Err(if code_state.attempts >= code_state.max_attempts {
            CodeError::TooManyAttempts
        } else {
            CodeError::Expired
        })
    } else {
        code_state.check(&state.keys, &challenge.id, req.code.expose(), now)
    };
    if result != Err(CodeError::Malformed) && challenge.state != ChallengeState::Failed {
        challenge.state = match result {
            Ok(()) => ChallengeState::Verified,
            Err(CodeError::Mismatch { .. }) => ChallengeState::Pending,
            Err(_) => ChallengeState::Failed,
        };
        challenge.code = Some(code_state);
        // A conflict means a concurrent verify of the same code won; this one did not count.
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

    // Record the method on the flow; another method verified at the same moment may have
    // changed the flow, so read it again and retry rather than lose a spent code.
    let mut flow = flow;
    for _ in 0..RECORD_RETRIES {
        if flow.verified.contains(&challenge.method_id) {
            break;
        }
        flow.record_verified(&challenge.method_id, now)?;
        match state.store.update_flow(&mut flow).await {
            Ok(()) => break,
            Err(StoreError::Conflict) => flow = load_flow(state, flow_token).await?,
            Err(e) => return Err(e.into()),
        }
    }
    if !flow.verified.contains(&challenge.method_id) {
        return Err(ApiError::Conflict);
    }
    let progress = flow.progress();
    // Proven: the new-password screen may show the rules the directory holds for this user.
    // The code is spent and the flow verified: a directory hiccup here must not turn that into
    // an error. Without the user's rules the wizard shows the service's; the directory still
    // enforces its own when the password is written.
    let password_policy = if progress.complete() && state.config().recovery.reset {
        match flow_user(state, &flow).await {
            Ok(user) => Some(password::summary_for(state, &user).await),
            Err(e) => {
                tracing::warn!(error = %e, "the user's password rules could not be read");
                None
            }
        }
    } else {
        None
    };
    Ok(proto::ChallengeVerified {
        methods_verified: progress.verified,
        methods_required: progress.required,
        next: if progress.complete() {
            proto::NextStep::SetPassword
        } else {
            proto::NextStep::ChooseAnotherMethod
        },
        password_policy,
    })
}

/// `GET /recovery/{flow_id}/challenges/{challenge_id}`.
pub async fn challenge_status(
    state: &AppState,
    flow_token: &str,
    challenge_id: &str,
) -> Result<proto::ChallengeStatus, ApiError> {
    let flow = load_flow(state, flow_token).await?;
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
async fn claim(state: &AppState, mut flow: Flow, action: Intent) -> Result<Flow, ApiError> {
    flow.complete(action, state.clock.now())?;
    match state.store.update_flow(&mut flow).await {
        Ok(()) => Ok(flow),
        Err(StoreError::Conflict) => Err(ApiError::Flow(FlowError::Completed)),
        Err(e) => Err(e.into()),
    }
}

async fn release(state: &AppState, mut flow: Flow) {
    flow.state = FlowState::Verified;
    if let Err(e) = state.store.update_flow(&mut flow).await {
        tracing::error!(flow = %flow.id, error = %e, "could not reopen a flow after a failed directory write");
    }
}

/// The flow's user as the directory has them now.
async fn flow_user(state: &AppState, flow: &Flow) -> Result<DirectoryUser, ApiError> {
    let Subject::User {
        directory_key,
        user_id,
    } = &flow.subject
    else {
        // Decoys never verify, so they never get here.
        return Err(ApiError::Flow(FlowError::NotVerified));
    };
    let id =
        UserId::parse(user_id).map_err(|e| ApiError::Internal(format!("stored user id: {e}")))?;
    match state.directory.find_user(&id).await? {
        Some(u) if &u.key == directory_key && !u.state.disabled => Ok(u),
        // Deleted, replaced or disabled since the flow started.
        _ => Err(ApiError::AccountUnavailable),
    }
}

/// Maps a failed directory write in a flow: the account's state is the problem, not a
/// credential (none was given).
fn write_error(e: DirectoryError) -> ApiError {
    match e {
        DirectoryError::Locked | DirectoryError::Disabled | DirectoryError::NotFound => {
            ApiError::AccountUnavailable
        }
        other => other.into(),
    }
}

/// Steps after a successful directory write. The password is already changed, so their
/// failures are logged and do not turn the answer into an error the person cannot act on.
async fn after_write(what: &str, step: impl Future<Output = Result<(), ApiError>>) {
    if let Err(e) = step.await {
        tracing::error!(step = what, error = %e, "a step after a successful directory write failed");
    }
}

/// `POST /recovery/{flow_id}/password`.
pub async fn set_password(
    state: &AppState,
    caller: &Caller,
    flow_token: &str,
    req: proto::SetPassword,
) -> Result<proto::Completed, ApiError> {
    // An unlock flow may end in a new password, but not when the organisation turned resets off.
    if !state.config().recovery.reset {
        return Err(ApiError::IntentDisabled);
    }
    // Check readiness and the password before claiming, so a rejected password leaves the flow
    // as it was and the person can try another.
    let flow = load_flow(state, flow_token).await?;
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
    let flow = claim(state, flow, Intent::Reset).await?;
    let now = state.clock.now();
    let written = state
        .directory
        .set_password(
            &user.key,
            &new_password,
            ResetOptions {
                unlock: true,
                must_change: false,
            },
        )
        .await;
    if let Err(e) = written {
        release(state, flow.clone()).await;
        let e = write_error(e);
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
    after_write("audit", async {
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
        .await
    })
    .await;
    after_write(
        "history",
        password::remember(state, &user, &new_password, now),
    )
    .await;
    after_write(
        "confirmation",
        notify::password_reset(state, caller, &user, is_admin(state, &user)),
    )
    .await;
    Ok(proto::Completed {
        outcome: proto::Outcome::PasswordReset,
        message: "Your password has been reset. You can now sign in with your new password.".into(),
    })
}

/// `POST /recovery/{flow_id}/unlock`.
pub async fn unlock(
    state: &AppState,
    caller: &Caller,
    flow_token: &str,
) -> Result<proto::Completed, ApiError> {
    if !state.config().recovery.unlock {
        return Err(ApiError::IntentDisabled);
    }
    let flow = load_flow(state, flow_token).await?;
    flow.ready_to_finish(Intent::Unlock, state.clock.now())?;
    let user = flow_user(state, &flow).await?;
    let user_id = flow.subject.user_id().to_owned();
    let flow = claim(state, flow, Intent::Unlock).await?;
    if let Err(e) = state.directory.unlock(&user.key).await {
        release(state, flow.clone()).await;
        let e = write_error(e);
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
    after_write("audit", async {
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
        .await
    })
    .await;
    after_write(
        "confirmation",
        notify::account_unlocked(state, caller, &user),
    )
    .await;
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

#[cfg(test)]
mod tests {
    use super::user_scope;

    #[test]
    fn every_spelling_shares_one_budget() {
        for typed in [
            "alice",
            "ALICE@contoso.com",
            "anything\\alice",
            "alice@other.org",
        ] {
            assert_eq!(user_scope(typed), "alice", "{typed}");
        }
    }
}
