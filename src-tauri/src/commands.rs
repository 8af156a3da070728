//! The commands the wizard invokes (`ui/src/lib/backend/tauri.ts`). Each is a thin wrapper over
//! [`Desktop`]; arguments arrive in camelCase (`flowId`) and errors as the protocol's
//! `ErrorBody`. Passwords and codes arrive as [`Secret`], which never prints; flow ids are
//! bearer tokens, so no command logs its arguments.

use latchkey_proto as proto;
use latchkey_proto::Secret;
use tauri::{AppHandle, State};

use crate::desktop::{Desktop, HostInfo};
use crate::error::Error;

/// `invoke('host_info')`: kind, kiosk, locale, idle timeout and any configuration problem.
#[tauri::command(async)]
pub async fn host_info(state: State<'_, Desktop>) -> Result<HostInfo, Error> {
    Ok(state.host_info())
}

/// `invoke('service_config')`: the service's `/config` with the managed branding applied.
#[tauri::command(async)]
pub async fn service_config(state: State<'_, Desktop>) -> Result<proto::ServiceConfig, Error> {
    state.service_config().await
}

/// `invoke('captcha', {variant})`: a new CAPTCHA (`image` or `text`).
#[tauri::command(async)]
pub async fn captcha(
    state: State<'_, Desktop>,
    variant: proto::CaptchaVariant,
) -> Result<proto::CaptchaChallenge, Error> {
    state.captcha(variant).await
}

/// `invoke('start_recovery', {req})`: starts a reset or unlock flow.
#[tauri::command(async)]
pub async fn start_recovery(
    state: State<'_, Desktop>,
    req: proto::StartRecovery,
) -> Result<proto::RecoveryStarted, Error> {
    state.start_recovery(&req).await
}

/// `invoke('start_challenge', {flowId, methodId})`: sends a code to the chosen method.
#[tauri::command(async)]
pub async fn start_challenge(
    state: State<'_, Desktop>,
    flow_id: String,
    method_id: String,
) -> Result<proto::ChallengeStarted, Error> {
    state.start_challenge(&flow_id, &method_id).await
}

/// `invoke('verify', {flowId, challengeId, code})`: checks a code.
#[tauri::command(async)]
pub async fn verify(
    state: State<'_, Desktop>,
    flow_id: String,
    challenge_id: String,
    code: Secret,
) -> Result<proto::ChallengeVerified, Error> {
    state.verify(&flow_id, &challenge_id, &code).await
}

/// `invoke('set_password', {flowId, newPassword})`: finishes a reset.
#[tauri::command(async)]
pub async fn set_password(
    state: State<'_, Desktop>,
    flow_id: String,
    new_password: Secret,
) -> Result<proto::Completed, Error> {
    state.set_password(&flow_id, &new_password).await
}

/// `invoke('unlock', {flowId})`: finishes an unlock.
#[tauri::command(async)]
pub async fn unlock(state: State<'_, Desktop>, flow_id: String) -> Result<proto::Completed, Error> {
    state.unlock(&flow_id).await
}

/// `invoke('change_password', {userId, oldPassword, newPassword})`.
#[tauri::command(async)]
pub async fn change_password(
    state: State<'_, Desktop>,
    user_id: String,
    old_password: Secret,
    new_password: Secret,
) -> Result<proto::Completed, Error> {
    state
        .change_password(&user_id, &old_password, &new_password)
        .await
}

/// `invoke('rate_password', {password, userId, flowId})`: rated on this computer (`userId` and
/// `flowId` may be `null`).
#[tauri::command(async)]
pub async fn rate_password(
    state: State<'_, Desktop>,
    password: Secret,
    user_id: Option<String>,
    flow_id: Option<String>,
) -> Result<proto::PasswordRating, Error> {
    state
        .rate_password(&password, user_id.as_deref(), flow_id.as_deref())
        .await
}

/// `invoke('close_app')`: leaves the wizard. In kiosk mode this is the only way out: the window
/// refuses every other close, and the sign-in screen takes over once the app has exited.
#[tauri::command(async)]
pub async fn close_app(app: AppHandle) -> Result<(), Error> {
    tracing::info!("closing at the wizard's request");
    app.exit(0);
    Ok(())
}
