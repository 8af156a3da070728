//! The persistence trait of the reset service and the records it stores. One crate per backend
//! implements [`Store`]; the service picks one at start-up and sees only the trait.
//!
//! Nothing secret is stored in clear: codes and CAPTCHA answers arrive as keyed digests, contact
//! data and queued messages as sealed bytes (see `latchkey_core::keys`).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::clock::Timestamp;
use latchkey_core::code::CodeState;
use latchkey_core::flow::{Flow, MethodKind};
use latchkey_core::ids::{CaptchaId, ChallengeId, FlowId, MessageId, MethodId};

pub mod story;

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record changed since it was read (optimistic concurrency); read again and retry.
    #[error("the record was changed by another request")]
    Conflict,
    /// A record with the same id exists.
    #[error("a record with this id already exists")]
    Duplicate,
    /// A stored row could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Backend(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A registered verification method.
#[derive(Clone, PartialEq, Eq)]
pub struct MethodRecord {
    /// Its id.
    pub id: MethodId,
    /// The directory key of its owner.
    pub user_key: String,
    /// Its kind.
    pub kind: MethodKind,
    /// Which slot it fills, for people: `alternate`, `authentication`, `mobile`, `office`.
    pub label: String,
    /// The contact data (address, number), sealed with the owner's key as context.
    pub destination_sealed: Vec<u8>,
    /// Masked contact data for hints.
    pub hint: String,
    /// When it was registered.
    pub created_at: Timestamp,
}

impl fmt::Debug for MethodRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("label", &self.label)
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

/// Where a challenge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeState {
    /// Sent; waiting for the code, the answers or the call.
    Pending,
    /// Passed.
    Verified,
    /// Burnt: expired or out of tries.
    Failed,
}

impl ChallengeState {
    /// Stable name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeState::Pending => "pending",
            ChallengeState::Verified => "verified",
            ChallengeState::Failed => "failed",
        }
    }

    /// Inverse of [`ChallengeState::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(ChallengeState::Pending),
            "verified" => Some(ChallengeState::Verified),
            "failed" => Some(ChallengeState::Failed),
            _ => None,
        }
    }
}

/// One challenge inside a flow: one code sent to one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    /// Its id.
    pub id: ChallengeId,
    /// The flow it belongs to.
    pub flow_id: FlowId,
    /// The method challenged.
    pub method_id: MethodId,
    /// The method's kind.
    pub kind: MethodKind,
    /// The code's digest and counters (code-based kinds).
    pub code: Option<CodeState>,
    /// Where it stands.
    pub state: ChallengeState,
    /// When it was sent.
    pub created_at: Timestamp,
    /// Optimistic-concurrency version, bumped by the store on every update.
    pub version: i64,
}

/// A CAPTCHA waiting for its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptchaRecord {
    /// Its id.
    pub id: CaptchaId,
    /// Keyed digest of the normalised answer.
    pub answer_digest: Vec<u8>,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// Where an outbox message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting to be sent, or to be retried.
    Pending,
    /// Accepted by the mail server or provider.
    Sent,
    /// Given up after too many failures.
    Dead,
}

impl OutboxState {
    /// Stable name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Dead => "dead",
        }
    }

    /// Inverse of [`OutboxState::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(OutboxState::Pending),
            "sent" => Some(OutboxState::Sent),
            "dead" => Some(OutboxState::Dead),
            _ => None,
        }
    }
}

/// A message queued for delivery. The payload is sealed: it may hold a code.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Its id.
    pub id: MessageId,
    /// The channel: `email`, `sms`, `voice`.
    pub channel: String,
    /// The sealed message (recipient, subject, body).
    pub payload_sealed: Vec<u8>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it is next due.
    pub next_attempt_at: Timestamp,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The last failure, without secrets.
    pub last_error: Option<String>,
    /// Where it stands.
    pub state: OutboxState,
}

impl fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("attempts", &self.attempts)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Which audit events to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only events about this user (normalised id).
    pub user: Option<String>,
    /// Only events of this flow.
    pub flow: Option<String>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// Everything the reset service persists.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Checks that the database answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Stores a new flow.
    async fn insert_flow(&self, flow: &Flow) -> StoreResult<()>;
    /// Reads a flow.
    async fn flow(&self, id: &FlowId) -> StoreResult<Option<Flow>>;
    /// Saves `flow` if nobody changed it since it was read, and bumps its version;
    /// [`StoreError::Conflict`] otherwise.
    async fn update_flow(&self, flow: &mut Flow) -> StoreResult<()>;

    /// Stores a new challenge.
    async fn insert_challenge(&self, challenge: &ChallengeRecord) -> StoreResult<()>;
    /// Reads a challenge.
    async fn challenge(&self, id: &ChallengeId) -> StoreResult<Option<ChallengeRecord>>;
    /// The newest challenge of `flow` for `method`, to pace resends.
    async fn latest_challenge(
        &self,
        flow: &FlowId,
        method: &MethodId,
    ) -> StoreResult<Option<ChallengeRecord>>;
    /// Saves `challenge` if nobody changed it since it was read, and bumps its version;
    /// [`StoreError::Conflict`] otherwise.
    async fn update_challenge(&self, challenge: &mut ChallengeRecord) -> StoreResult<()>;

    /// The methods registered by a user, oldest first.
    async fn methods_for(&self, user_key: &str) -> StoreResult<Vec<MethodRecord>>;
    /// Registers a method.
    async fn insert_method(&self, method: &MethodRecord) -> StoreResult<()>;
    /// Removes a user's method; whether it existed.
    async fn delete_method(&self, user_key: &str, id: &MethodId) -> StoreResult<bool>;

    /// Stores a CAPTCHA.
    async fn insert_captcha(&self, captcha: &CaptchaRecord) -> StoreResult<()>;
    /// Removes and returns a CAPTCHA, so that each is answered at most once.
    async fn take_captcha(&self, id: &CaptchaId) -> StoreResult<Option<CaptchaRecord>>;

    /// Counts one event against `key` in the window starting at `window_start` and returns the
    /// count including it. The counter may be forgotten after `expires_at`.
    async fn hit(
        &self,
        key: &str,
        window_start: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<u32>;

    /// Appends an audit event.
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Reads audit events, newest first.
    async fn audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;

    /// Queues a message.
    async fn enqueue(&self, message: &OutboxMessage) -> StoreResult<()>;
    /// Claims up to `limit` pending messages due at `now`, oldest first, by pushing their
    /// `next_attempt_at` to `now + lease`, so a second worker (or a crashed one) does not send
    /// them twice within the lease.
    async fn claim_due(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Marks a message sent.
    async fn mark_sent(&self, id: &MessageId, now: Timestamp) -> StoreResult<()>;
    /// Records a failed attempt and when to try again.
    async fn mark_retry(
        &self,
        id: &MessageId,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> StoreResult<()>;
    /// Gives up on a message.
    async fn mark_dead(&self, id: &MessageId, error: &str) -> StoreResult<()>;
    /// Reads a message (for tests and operators).
    async fn outbox_message(&self, id: &MessageId) -> StoreResult<Option<OutboxMessage>>;

    /// Remembers a password hash for a user, keeping only the newest `keep`.
    async fn push_password_history(
        &self,
        user_key: &str,
        phc: &str,
        at: Timestamp,
        keep: u32,
    ) -> StoreResult<()>;
    /// A user's remembered password hashes, newest first, at most `limit`.
    async fn password_history(&self, user_key: &str, limit: u32) -> StoreResult<Vec<String>>;

    /// Deletes expired flows, challenges, CAPTCHAs, rate counters and sent messages older than
    /// `now`; returns how many rows went.
    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64>;
}
