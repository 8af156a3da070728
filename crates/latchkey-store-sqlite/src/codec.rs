//! Between rows and records: error mapping, the JSON columns of a flow, and one decoder per
//! table. A value that does not decode is [`StoreError::Corrupt`], never a panic.

use std::collections::BTreeMap;
use std::fmt;

use latchkey_core::audit::{AuditAction, AuditEvent, Outcome};
use latchkey_core::clock::Timestamp;
use latchkey_core::code::CodeState;
use latchkey_core::flow::{Flow, FlowState, Intent, MethodKind, OfferedMethod, Subject};
use latchkey_core::ids::{CaptchaId, ChallengeId, FlowId, MessageId, MethodId};
use latchkey_store::{
    CaptchaRecord, ChallengeRecord, ChallengeState, MethodRecord, OutboxMessage, OutboxState,
    StoreError, StoreResult,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

/// Maps a database error: a unique violation is a duplicate, a value that does not decode is
/// corruption, anything else is the backend's fault.
pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate,
        e @ (sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }) => StoreError::Corrupt(e.to_string()),
        e => StoreError::Backend(e.to_string()),
    }
}

/// A corruption error naming what could not be read. Callers pass names and enum tags only,
/// never stored payloads.
pub(crate) fn corrupt(what: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column).map_err(backend)
}

fn timestamp(row: &SqliteRow, column: &str) -> StoreResult<Timestamp> {
    get::<i64>(row, column).map(Timestamp::from_millis)
}

fn count(row: &SqliteRow, column: &str) -> StoreResult<u32> {
    count_from_sql(column, get(row, column)?)
}

fn count_from_sql(column: &str, n: i64) -> StoreResult<u32> {
    u32::try_from(n).map_err(|_| corrupt(format_args!("{column} out of range: {n}")))
}

/// Stores a count as an SQLite integer.
pub(crate) fn count_to_sql(n: u32) -> i64 {
    i64::from(n)
}

fn parse<T>(row: &SqliteRow, column: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    let s: String = get(row, column)?;
    parse(&s).ok_or_else(|| corrupt(format_args!("unknown {column} {s:?}")))
}

/// How a subject is spread over the `subject`, `user_id` and `directory_key` columns.
pub(crate) fn subject_columns(subject: &Subject) -> (&'static str, &str, Option<&str>) {
    match subject {
        Subject::User {
            directory_key,
            user_id,
        } => ("user", user_id, Some(directory_key)),
        Subject::Decoy { user_id } => ("decoy", user_id, None),
    }
}

/// The offered methods as a JSON array of `{id, kind, hint}` objects, in order.
pub(crate) fn encode_methods(methods: &[OfferedMethod]) -> StoreResult<String> {
    let list: Vec<BTreeMap<&str, &str>> = methods
        .iter()
        .map(|m| {
            BTreeMap::from([
                ("id", m.id.as_str()),
                ("kind", m.kind.as_str()),
                ("hint", m.hint.as_str()),
            ])
        })
        .collect();
    serde_json::to_string(&list).map_err(|e| StoreError::Backend(e.to_string()))
}

fn decode_methods(json: &str) -> StoreResult<Vec<OfferedMethod>> {
    let list: Vec<BTreeMap<String, String>> =
        serde_json::from_str(json).map_err(|e| corrupt(format_args!("flow methods: {e}")))?;
    list.into_iter()
        .map(|mut m| {
            let mut field = |name: &str| {
                m.remove(name)
                    .ok_or_else(|| corrupt(format_args!("flow method without {name}")))
            };
            let id = MethodId::from_stored(field("id")?);
            let kind = field("kind")?;
            let kind = MethodKind::parse(&kind)
                .ok_or_else(|| corrupt(format_args!("unknown method kind {kind:?}")))?;
            let hint = field("hint")?;
            Ok(OfferedMethod { id, kind, hint })
        })
        .collect()
}

/// The verified methods as a JSON array of ids, in order.
pub(crate) fn encode_verified(verified: &[MethodId]) -> StoreResult<String> {
    let list: Vec<&str> = verified.iter().map(MethodId::as_str).collect();
    serde_json::to_string(&list).map_err(|e| StoreError::Backend(e.to_string()))
}

fn decode_verified(json: &str) -> StoreResult<Vec<MethodId>> {
    let list: Vec<String> =
        serde_json::from_str(json).map_err(|e| corrupt(format_args!("flow verified: {e}")))?;
    Ok(list.into_iter().map(MethodId::from_stored).collect())
}

/// Reads a `flows` row.
pub(crate) fn flow(row: &SqliteRow) -> StoreResult<Flow> {
    let user_id: String = get(row, "user_id")?;
    let directory_key: Option<String> = get(row, "directory_key")?;
    let subject = match get::<String>(row, "subject")?.as_str() {
        "user" => Subject::User {
            directory_key: directory_key
                .ok_or_else(|| corrupt("user flow without a directory key"))?,
            user_id,
        },
        "decoy" => Subject::Decoy { user_id },
        other => return Err(corrupt(format_args!("unknown subject {other:?}"))),
    };
    let methods_required: i64 = get(row, "methods_required")?;
    Ok(Flow {
        id: FlowId::from_stored(get(row, "id")?),
        intent: parse(row, "intent", Intent::parse)?,
        subject,
        methods: decode_methods(&get::<String>(row, "methods")?)?,
        methods_required: u8::try_from(methods_required).map_err(|_| {
            corrupt(format_args!(
                "methods_required out of range: {methods_required}"
            ))
        })?,
        verified: decode_verified(&get::<String>(row, "verified")?)?,
        state: parse(row, "state", FlowState::parse)?,
        created_at: timestamp(row, "created_at")?,
        expires_at: timestamp(row, "expires_at")?,
        version: get(row, "version")?,
    })
}

/// The `code_*` columns of a challenge: digest, expiry, attempts, allowed attempts, consumed.
pub(crate) type CodeColumns<'a> = (
    Option<&'a [u8]>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<bool>,
);

/// Spreads a code state over the `code_*` columns; all NULL without a code.
pub(crate) fn code_columns(code: Option<&CodeState>) -> CodeColumns<'_> {
    match code {
        Some(c) => (
            Some(c.digest.as_slice()),
            Some(c.expires_at.as_millis()),
            Some(count_to_sql(c.attempts)),
            Some(count_to_sql(c.max_attempts)),
            Some(c.consumed),
        ),
        None => (None, None, None, None, None),
    }
}

/// Reads a `challenges` row.
pub(crate) fn challenge(row: &SqliteRow) -> StoreResult<ChallengeRecord> {
    let digest: Option<Vec<u8>> = get(row, "code_digest")?;
    let code = match digest {
        None => None,
        Some(digest) => {
            let columns = (
                get::<Option<i64>>(row, "code_expires_at")?,
                get::<Option<i64>>(row, "code_attempts")?,
                get::<Option<i64>>(row, "code_max_attempts")?,
                get::<Option<bool>>(row, "code_consumed")?,
            );
            let (Some(expires_at), Some(attempts), Some(max_attempts), Some(consumed)) = columns
            else {
                return Err(corrupt("challenge code with missing columns"));
            };
            Some(CodeState {
                digest,
                expires_at: Timestamp::from_millis(expires_at),
                attempts: count_from_sql("code_attempts", attempts)?,
                max_attempts: count_from_sql("code_max_attempts", max_attempts)?,
                consumed,
            })
        }
    };
    Ok(ChallengeRecord {
        id: ChallengeId::from_stored(get(row, "id")?),
        flow_id: FlowId::from_stored(get(row, "flow_id")?),
        method_id: MethodId::from_stored(get(row, "method_id")?),
        kind: parse(row, "kind", MethodKind::parse)?,
        code,
        state: parse(row, "state", ChallengeState::parse)?,
        created_at: timestamp(row, "created_at")?,
        version: get(row, "version")?,
    })
}

/// Reads a `methods` row.
pub(crate) fn method(row: &SqliteRow) -> StoreResult<MethodRecord> {
    Ok(MethodRecord {
        id: MethodId::from_stored(get(row, "id")?),
        user_key: get(row, "user_key")?,
        kind: parse(row, "kind", MethodKind::parse)?,
        label: get(row, "label")?,
        destination_sealed: get(row, "destination_sealed")?,
        hint: get(row, "hint")?,
        created_at: timestamp(row, "created_at")?,
    })
}

/// Reads a `captchas` row.
pub(crate) fn captcha(row: &SqliteRow) -> StoreResult<CaptchaRecord> {
    Ok(CaptchaRecord {
        id: CaptchaId::from_stored(get(row, "id")?),
        answer_digest: get(row, "answer_digest")?,
        expires_at: timestamp(row, "expires_at")?,
    })
}

/// Reads an `audit_events` row.
pub(crate) fn audit_event(row: &SqliteRow) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        at: timestamp(row, "at")?,
        action: parse(row, "action", AuditAction::parse)?,
        user: get(row, "user_id")?,
        source: get(row, "source")?,
        flow: get(row, "flow_id")?,
        outcome: Outcome::from_stored(get(row, "outcome")?),
        decoy: get(row, "decoy")?,
        detail: get(row, "detail")?,
    })
}

/// Reads an `outbox` row.
pub(crate) fn outbox_message(row: &SqliteRow) -> StoreResult<OutboxMessage> {
    Ok(OutboxMessage {
        id: MessageId::from_stored(get(row, "id")?),
        channel: get(row, "channel")?,
        payload_sealed: get(row, "payload_sealed")?,
        created_at: timestamp(row, "created_at")?,
        next_attempt_at: timestamp(row, "next_attempt_at")?,
        attempts: count(row, "attempts")?,
        last_error: get(row, "last_error")?,
        state: parse(row, "state", OutboxState::parse)?,
    })
}

/// Reads a count returned by a statement.
pub(crate) fn returned_count(row: &SqliteRow) -> StoreResult<u32> {
    count(row, "count")
}
