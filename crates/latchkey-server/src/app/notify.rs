//! What the service tells people by mail: codes, and confirmations after a reset, unlock or
//! change ("if this wasn't you, contact your administrator"). Everything goes through the
//! outbox, so a slow or failing mail server never loses a message or slows a request.

use latchkey_core::SecretString;
use latchkey_core::audit::{AuditAction, Outcome};
use latchkey_core::clock::Timestamp;
use latchkey_core::flow::MethodKind;
use latchkey_delivery::notices;
use latchkey_directory::DirectoryUser;

use super::{Caller, audit, registration};
use crate::error::ApiError;
use crate::state::AppState;

/// Queues a code email; it is dropped rather than sent once the code has expired.
pub async fn code(
    state: &AppState,
    address: &str,
    code: &SecretString,
    expires_at: Timestamp,
) -> Result<(), ApiError> {
    let envelope = notices::code_email(&state.branding, address, code, state.codes.lifetime);
    state
        .outbox
        .enqueue_email_until(&envelope, expires_at)
        .await
        .map_err(|e| ApiError::Internal(format!("outbox: {e}")))?;
    Ok(())
}

/// Where confirmations go: the directory's address and every registered email, once each.
async fn recipients(state: &AppState, user: &DirectoryUser) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = user.email.iter().cloned().collect();
    for m in state.store.methods_for(&user.key).await? {
        if m.kind == MethodKind::Email {
            let address = registration::open_destination(state, &m)?;
            if !out.iter().any(|a| a.eq_ignore_ascii_case(&address)) {
                out.push(address);
            }
        }
    }
    Ok(out)
}

enum Notice {
    Reset,
    Unlocked,
    Changed,
}

async fn confirm(
    state: &AppState,
    caller: &Caller,
    user: &DirectoryUser,
    notice: Notice,
) -> Result<(), ApiError> {
    let at = format_utc(state.clock.now());
    let source = caller.source.map(|ip| ip.to_string());
    for to in recipients(state, user).await? {
        let envelope = match notice {
            Notice::Reset => notices::password_reset_confirmation(
                &state.branding,
                &to,
                &user.display_name,
                &at,
                source.as_deref(),
            ),
            Notice::Unlocked => notices::account_unlocked_confirmation(
                &state.branding,
                &to,
                &user.display_name,
                &at,
                source.as_deref(),
            ),
            Notice::Changed => notices::password_changed_confirmation(
                &state.branding,
                &to,
                &user.display_name,
                &at,
                source.as_deref(),
            ),
        };
        state
            .outbox
            .enqueue_email(&envelope)
            .await
            .map_err(|e| ApiError::Internal(format!("outbox: {e}")))?;
    }
    audit(
        state,
        caller,
        AuditAction::NoticeQueued,
        Some(&user.login),
        None,
        Outcome::Success,
        false,
        "confirmation",
    )
    .await
}

/// Confirms a reset to the user, and alerts the administrators when the user is one of them.
pub async fn password_reset(
    state: &AppState,
    caller: &Caller,
    user: &DirectoryUser,
    admin: bool,
) -> Result<(), ApiError> {
    confirm(state, caller, user, Notice::Reset).await?;
    if admin && let Some(to) = &state.config().organisation.admin_alert_email {
        let envelope = notices::admin_alert(
            &state.branding,
            to,
            &format!("{} ({})", user.display_name, user.login),
            "password was reset",
            &format_utc(state.clock.now()),
            caller.source.map(|ip| ip.to_string()).as_deref(),
        );
        state
            .outbox
            .enqueue_email(&envelope)
            .await
            .map_err(|e| ApiError::Internal(format!("outbox: {e}")))?;
        audit(
            state,
            caller,
            AuditAction::NoticeQueued,
            Some(&user.login),
            None,
            Outcome::Success,
            false,
            "admin_alert",
        )
        .await?;
    }
    Ok(())
}

/// Confirms an unlock.
pub async fn account_unlocked(
    state: &AppState,
    caller: &Caller,
    user: &DirectoryUser,
) -> Result<(), ApiError> {
    confirm(state, caller, user, Notice::Unlocked).await
}

/// Confirms a change.
pub async fn password_changed(
    state: &AppState,
    caller: &Caller,
    user: &DirectoryUser,
) -> Result<(), ApiError> {
    confirm(state, caller, user, Notice::Changed).await
}

/// `2026-12-04 16:05 UTC`.
pub fn format_utc(t: Timestamp) -> String {
    let secs = t.as_secs();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for (ms, want) in [
            (0, "1970-01-01 00:00 UTC"),
            (951_782_400_000, "2000-02-29 00:00 UTC"),
            (1_796_400_300_000, "2026-12-04 16:05 UTC"),
        ] {
            assert_eq!(format_utc(Timestamp::from_millis(ms)), want);
        }
    }
}
