//! The SQLite backend of the Latchkey store: one database file (or memory) in WAL mode, with its
//! schema migrations embedded in the binary and applied at connect.
//!
//! Every write that must not race is one statement (an upsert, `DELETE … RETURNING`, an
//! `UPDATE … WHERE id IN (SELECT …) RETURNING`) or a transaction begun with `BEGIN IMMEDIATE`,
//! so concurrent requests and workers wait on the busy timeout instead of failing or doubling up.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod codec;
mod migrate;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::clock::Timestamp;
use latchkey_core::flow::Flow;
use latchkey_core::ids::{CaptchaId, ChallengeId, FlowId, MessageId, MethodId};
use latchkey_store::{
    AuditQuery, CaptchaRecord, ChallengeRecord, MethodRecord, OutboxMessage, OutboxState, Store,
    StoreError, StoreResult,
};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::codec::{backend, code_columns, count_to_sql, subject_columns};

pub use crate::migrate::SCHEMA_VERSION;

/// How long a statement waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in the pool of a database file. SQLite writes one at a time; a few connections
/// let reads proceed beside a write.
const FILE_POOL_SIZE: u32 = 4;
/// How long sent messages are kept for operators before a purge removes them.
const SENT_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The Latchkey store on SQLite. Cloning is cheap and shares the connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens the database at `url` (`sqlite://path/to/file.db`, created if missing, or
    /// `sqlite::memory:`) and brings its schema up to date.
    ///
    /// Refuses a database whose schema is newer than this build knows.
    #[tracing::instrument(level = "debug")]
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        // A memory database lives as long as its connection, and each connection would get its
        // own: use exactly one and never let it be closed for idleness or age.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid database url: {e}")))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool_options = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            SqlitePoolOptions::new().max_connections(FILE_POOL_SIZE)
        };
        let pool = pool_options.connect_with(options).await.map_err(backend)?;
        migrate::run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    /// The newest schema migration applied to the database.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        migrate::applied_version(&self.pool).await
    }

    /// Closes every connection, waiting for those in use; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn insert_flow(&self, flow: &Flow) -> StoreResult<()> {
        let (subject, user_id, directory_key) = subject_columns(&flow.subject);
        sqlx::query(
            "INSERT INTO flows (id, intent, subject, user_id, directory_key, methods, \
             methods_required, verified, state, created_at, expires_at, version) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(flow.id.as_str())
        .bind(flow.intent.as_str())
        .bind(subject)
        .bind(user_id)
        .bind(directory_key)
        .bind(codec::encode_methods(&flow.methods)?)
        .bind(i64::from(flow.methods_required))
        .bind(codec::encode_verified(&flow.verified)?)
        .bind(flow.state.as_str())
        .bind(flow.created_at.as_millis())
        .bind(flow.expires_at.as_millis())
        .bind(flow.version)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn flow(&self, id: &FlowId) -> StoreResult<Option<Flow>> {
        sqlx::query("SELECT * FROM flows WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(codec::flow)
            .transpose()
    }

    async fn update_flow(&self, flow: &mut Flow) -> StoreResult<()> {
        let (subject, user_id, directory_key) = subject_columns(&flow.subject);
        let done = sqlx::query(
            "UPDATE flows SET intent = ?, subject = ?, user_id = ?, directory_key = ?, \
             methods = ?, methods_required = ?, verified = ?, state = ?, expires_at = ?, \
             version = version + 1 \
             WHERE id = ? AND version = ?",
        )
        .bind(flow.intent.as_str())
        .bind(subject)
        .bind(user_id)
        .bind(directory_key)
        .bind(codec::encode_methods(&flow.methods)?)
        .bind(i64::from(flow.methods_required))
        .bind(codec::encode_verified(&flow.verified)?)
        .bind(flow.state.as_str())
        .bind(flow.expires_at.as_millis())
        .bind(flow.id.as_str())
        .bind(flow.version)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        flow.version += 1;
        Ok(())
    }

    async fn insert_challenge(&self, challenge: &ChallengeRecord) -> StoreResult<()> {
        let (digest, code_expires_at, attempts, max_attempts, consumed) =
            code_columns(challenge.code.as_ref());
        sqlx::query(
            "INSERT INTO challenges (id, flow_id, method_id, kind, code_digest, code_expires_at, \
             code_attempts, code_max_attempts, code_consumed, state, created_at, version) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(challenge.id.as_str())
        .bind(challenge.flow_id.as_str())
        .bind(challenge.method_id.as_str())
        .bind(challenge.kind.as_str())
        .bind(digest)
        .bind(code_expires_at)
        .bind(attempts)
        .bind(max_attempts)
        .bind(consumed)
        .bind(challenge.state.as_str())
        .bind(challenge.created_at.as_millis())
        .bind(challenge.version)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn challenge(&self, id: &ChallengeId) -> StoreResult<Option<ChallengeRecord>> {
        sqlx::query("SELECT * FROM challenges WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(codec::challenge)
            .transpose()
    }

    async fn latest_challenge(
        &self,
        flow: &FlowId,
        method: &MethodId,
    ) -> StoreResult<Option<ChallengeRecord>> {
        sqlx::query(
            "SELECT * FROM challenges WHERE flow_id = ? AND method_id = ? \
             ORDER BY created_at DESC, rowid DESC LIMIT 1",
        )
        .bind(flow.as_str())
        .bind(method.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .as_ref()
        .map(codec::challenge)
        .transpose()
    }

    async fn update_challenge(&self, challenge: &mut ChallengeRecord) -> StoreResult<()> {
        let (digest, code_expires_at, attempts, max_attempts, consumed) =
            code_columns(challenge.code.as_ref());
        let done = sqlx::query(
            "UPDATE challenges SET flow_id = ?, method_id = ?, kind = ?, code_digest = ?, \
             code_expires_at = ?, code_attempts = ?, code_max_attempts = ?, code_consumed = ?, \
             state = ?, version = version + 1 \
             WHERE id = ? AND version = ?",
        )
        .bind(challenge.flow_id.as_str())
        .bind(challenge.method_id.as_str())
        .bind(challenge.kind.as_str())
        .bind(digest)
        .bind(code_expires_at)
        .bind(attempts)
        .bind(max_attempts)
        .bind(consumed)
        .bind(challenge.state.as_str())
        .bind(challenge.id.as_str())
        .bind(challenge.version)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        challenge.version += 1;
        Ok(())
    }

    async fn methods_for(&self, user_key: &str) -> StoreResult<Vec<MethodRecord>> {
        sqlx::query("SELECT * FROM methods WHERE user_key = ? ORDER BY created_at, rowid")
            .bind(user_key)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(codec::method)
            .collect()
    }

    async fn insert_method(&self, method: &MethodRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO methods (id, user_key, kind, label, destination_sealed, hint, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(method.id.as_str())
        .bind(&method.user_key)
        .bind(method.kind.as_str())
        .bind(&method.label)
        .bind(method.destination_sealed.as_slice())
        .bind(&method.hint)
        .bind(method.created_at.as_millis())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn delete_method(&self, user_key: &str, id: &MethodId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM methods WHERE id = ? AND user_key = ?")
            .bind(id.as_str())
            .bind(user_key)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_captcha(&self, captcha: &CaptchaRecord) -> StoreResult<()> {
        sqlx::query("INSERT INTO captchas (id, answer_digest, expires_at) VALUES (?, ?, ?)")
            .bind(captcha.id.as_str())
            .bind(captcha.answer_digest.as_slice())
            .bind(captcha.expires_at.as_millis())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn take_captcha(&self, id: &CaptchaId) -> StoreResult<Option<CaptchaRecord>> {
        // One statement, so two requests racing with the same answer cannot both get it.
        sqlx::query("DELETE FROM captchas WHERE id = ? RETURNING id, answer_digest, expires_at")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(codec::captcha)
            .transpose()
    }

    async fn hit(
        &self,
        key: &str,
        window_start: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<u32> {
        let row = sqlx::query(
            "INSERT INTO rate_counters (key, window_start, count, expires_at) VALUES (?, ?, 1, ?) \
             ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1, \
             expires_at = max(expires_at, excluded.expires_at) \
             RETURNING count",
        )
        .bind(key)
        .bind(window_start.as_millis())
        .bind(expires_at.as_millis())
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        codec::returned_count(&row)
    }

    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (at, action, user_id, source, flow_id, outcome, decoy, \
             detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(event.at.as_millis())
        .bind(event.action.as_str())
        .bind(event.user.as_deref())
        .bind(event.source.as_deref())
        .bind(event.flow.as_deref())
        .bind(event.outcome.as_str())
        .bind(event.decoy)
        .bind(&event.detail)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        // Only fixed fragments go into the text; the values are bound.
        let mut sql = String::from("SELECT * FROM audit_events");
        let mut conditions = Vec::new();
        if query.user.is_some() {
            conditions.push("user_id = ?");
        }
        if query.flow.is_some() {
            conditions.push("flow_id = ?");
        }
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(" ORDER BY at DESC, seq DESC LIMIT ?");
        let mut statement = sqlx::query(&sql);
        if let Some(user) = &query.user {
            statement = statement.bind(user);
        }
        if let Some(flow) = &query.flow {
            statement = statement.bind(flow);
        }
        statement
            .bind(count_to_sql(query.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(codec::audit_event)
            .collect()
    }

    async fn enqueue(&self, message: &OutboxMessage) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO outbox (id, channel, payload_sealed, created_at, next_attempt_at, \
             attempts, last_error, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(message.id.as_str())
        .bind(&message.channel)
        .bind(message.payload_sealed.as_slice())
        .bind(message.created_at.as_millis())
        .bind(message.next_attempt_at.as_millis())
        .bind(count_to_sql(message.attempts))
        .bind(message.last_error.as_deref())
        .bind(message.state.as_str())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        // One statement: SQLite runs it under the write lock, so a second claimer sees the
        // pushed-back times and cannot pick the same messages.
        let rows = sqlx::query(
            "UPDATE outbox SET next_attempt_at = ? \
             WHERE seq IN (SELECT seq FROM outbox \
                 WHERE state = 'pending' AND next_attempt_at <= ? \
                 ORDER BY created_at, seq LIMIT ?) \
             RETURNING *",
        )
        .bind(now.plus(lease).as_millis())
        .bind(now.as_millis())
        .bind(count_to_sql(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        // RETURNING yields rows in no promised order.
        let mut claimed = rows
            .iter()
            .map(|row| {
                let seq: i64 = sqlx::Row::try_get(row, "seq").map_err(backend)?;
                Ok((seq, codec::outbox_message(row)?))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        claimed.sort_by_key(|(seq, m)| (m.created_at, *seq));
        if !claimed.is_empty() {
            tracing::debug!(claimed = claimed.len(), "claimed due outbox messages");
        }
        Ok(claimed.into_iter().map(|(_, m)| m).collect())
    }

    async fn mark_sent(&self, id: &MessageId, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET state = ?, sent_at = ? WHERE id = ?")
            .bind(OutboxState::Sent.as_str())
            .bind(now.as_millis())
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn mark_retry(
        &self,
        id: &MessageId,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> StoreResult<()> {
        // Only a pending message: a late report must not undo another worker's success.
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? \
             WHERE id = ? AND state = 'pending'",
        )
        .bind(next_attempt_at.as_millis())
        .bind(error)
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn mark_dead(&self, id: &MessageId, error: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET state = ?, last_error = ? WHERE id = ? AND state = 'pending'",
        )
        .bind(OutboxState::Dead.as_str())
        .bind(error)
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn outbox_message(&self, id: &MessageId) -> StoreResult<Option<OutboxMessage>> {
        sqlx::query("SELECT * FROM outbox WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(codec::outbox_message)
            .transpose()
    }

    async fn push_password_history(
        &self,
        user_key: &str,
        phc: &str,
        at: Timestamp,
        keep: u32,
    ) -> StoreResult<()> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)?;
        sqlx::query("INSERT INTO password_history (user_key, phc, at) VALUES (?, ?, ?)")
            .bind(user_key)
            .bind(phc)
            .bind(at.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(
            "DELETE FROM password_history WHERE user_key = ? AND seq NOT IN \
             (SELECT seq FROM password_history WHERE user_key = ? \
              ORDER BY at DESC, seq DESC LIMIT ?)",
        )
        .bind(user_key)
        .bind(user_key)
        .bind(count_to_sql(keep))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn password_history(&self, user_key: &str, limit: u32) -> StoreResult<Vec<String>> {
        sqlx::query_scalar(
            "SELECT phc FROM password_history WHERE user_key = ? \
             ORDER BY at DESC, seq DESC LIMIT ?",
        )
        .bind(user_key)
        .bind(count_to_sql(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64> {
        let now_ms = now.as_millis();
        let sent_before = now.minus(SENT_RETENTION).as_millis();
        let statements: [(&str, i64); 5] = [
            // Challenges first and explicitly, so they are counted; the foreign key would take
            // them anyway.
            (
                "DELETE FROM challenges WHERE flow_id IN \
                 (SELECT id FROM flows WHERE expires_at <= ?)",
                now_ms,
            ),
            ("DELETE FROM flows WHERE expires_at <= ?", now_ms),
            ("DELETE FROM captchas WHERE expires_at <= ?", now_ms),
            ("DELETE FROM rate_counters WHERE expires_at < ?", now_ms),
            (
                "DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?",
                sent_before,
            ),
        ];
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)?;
        let mut purged = 0;
        for (sql, bound) in statements {
            purged += sqlx::query(sql)
                .bind(bound)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
        }
        tx.commit().await.map_err(backend)?;
        tracing::debug!(purged, "purged expired rows");
        Ok(purged)
    }
}
