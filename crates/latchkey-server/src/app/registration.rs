//! Registered verification methods: contact data sealed at rest, hints masked for display.
//! (Self-service registration screens come later; the demo and the tests register through this.)

use latchkey_core::flow::MethodKind;
use latchkey_core::ids::MethodId;
use latchkey_core::mask;
use latchkey_store::MethodRecord;

use crate::error::ApiError;
use crate::state::AppState;

/// Registers an email address as a verification method for the user with `user_key`.
/// `label` names the slot: `alternate` or `authentication`, as in Entra.
pub async fn register_email(
    state: &AppState,
    user_key: &str,
    label: &str,
    address: &str,
) -> Result<MethodId, ApiError> {
    let address = address.trim();
    if address.len() > 254
        || !address.contains('@')
        || address.starts_with('@')
        || address.ends_with('@')
        || address.chars().any(char::is_whitespace)
    {
        return Err(ApiError::InvalidRequest(
            "enter a valid email address".into(),
        ));
    }
    let existing = state.store.methods_for(user_key).await?;
    for m in &existing {
        if m.kind == MethodKind::Email && open_destination(state, m)?.eq_ignore_ascii_case(address)
        {
            return Ok(m.id.clone());
        }
    }
    let record = MethodRecord {
        id: MethodId::generate(state.rng.as_ref()),
        user_key: user_key.to_owned(),
        kind: MethodKind::Email,
        label: label.to_owned(),
        destination_sealed: state.keys.seal(
            state.rng.as_ref(),
            user_key.as_bytes(),
            address.as_bytes(),
        ),
        // Lower case, as decoys' hints are, so the case typed at registration tells nothing.
        hint: mask::email(&address.to_ascii_lowercase()),
        created_at: state.clock.now(),
    };
    state.store.insert_method(&record).await?;
    Ok(record.id)
}

/// The contact data of a method, unsealed.
pub fn open_destination(state: &AppState, method: &MethodRecord) -> Result<String, ApiError> {
    let bytes = state
        .keys
        .open(method.user_key.as_bytes(), &method.destination_sealed)
        .map_err(|e| ApiError::Internal(format!("method {}: {e}", method.id)))?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::Internal(format!("method {}: not UTF-8", method.id)))
}
