//! The outbox: messages are sealed into the store first and sent by a worker afterwards, so a
//! slow or failed mail server delays a message but never loses it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use latchkey_core::clock::{Clock, Timestamp};
use latchkey_core::ids::MessageId;
use latchkey_core::keys::Keys;
use latchkey_core::random::Random;
use latchkey_store::{OutboxMessage, OutboxState, Store, StoreError};
use tokio::sync::Notify;

use crate::DeliveryError;
use crate::envelope::{EmailTransport, Envelope, SendError};

/// The channel name of email messages in the store.
pub const EMAIL_CHANNEL: &str = "email";

/// How long a claimed message is reserved for the worker that claimed it; longer than a send can
/// take (the SMTP timeout), so a second worker does not send it twice, short enough that a crashed
/// worker's messages go out soon after.
const LEASE: Duration = Duration::from_secs(60);
/// Messages claimed per pass.
const BATCH: u32 = 32;
/// How often the worker looks for due retries when nobody wakes it.
const TICK: Duration = Duration::from_secs(1);
/// Stored error texts are cut to this many characters; a relay can be chatty.
const MAX_ERROR_CHARS: usize = 500;
const UNREADABLE: &str = "sealed payload unreadable";
/// Why a message past its deadline was given up.
const STALE: &str = "expired before it could be sent";

/// Queues messages for delivery.
#[derive(Debug, Clone)]
pub struct Outbox {
    store: Arc<dyn Store>,
    keys: Keys,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Random>,
    notify: Arc<Notify>,
}

impl Outbox {
    /// An outbox writing to `store`, sealing payloads with `keys`.
    pub fn new(
        store: Arc<dyn Store>,
        keys: Keys,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Random>,
    ) -> Self {
        Self {
            store,
            keys,
            clock,
            rng,
            notify: Arc::new(Notify::new()),
        }
    }

    /// Seals `envelope` into the store, due now, and wakes the worker. Once this returns the
    /// message survives a restart; sending happens in the [`OutboxWorker`].
    pub async fn enqueue_email(&self, envelope: &Envelope) -> Result<MessageId, DeliveryError> {
        self.enqueue(envelope, None).await
    }

    /// Like [`Outbox::enqueue_email`], for a message that is useless after `deadline` (a code
    /// that expires): a message still unsent then is given up instead of sent late.
    pub async fn enqueue_email_until(
        &self,
        envelope: &Envelope,
        deadline: Timestamp,
    ) -> Result<MessageId, DeliveryError> {
        self.enqueue(envelope, Some(deadline)).await
    }

    async fn enqueue(
        &self,
        envelope: &Envelope,
        deadline: Option<Timestamp>,
    ) -> Result<MessageId, DeliveryError> {
        let id = MessageId::generate(&*self.rng);
        let queued = Queued {
            envelope: envelope.clone(),
            expires_at: deadline.map(Timestamp::as_millis),
        };
        let mut plain =
            serde_json::to_vec(&queued).map_err(|e| DeliveryError::Encode(e.to_string()))?;
        // The id is the sealing context, so a payload copied onto another row will not open.
        let payload_sealed = self.keys.seal(&*self.rng, id.as_str().as_bytes(), &plain);
        wipe(&mut plain);
        let now = self.clock.now();
        self.store
            .enqueue(&OutboxMessage {
                id: id.clone(),
                channel: EMAIL_CHANNEL.to_owned(),
                payload_sealed,
                created_at: now,
                next_attempt_at: now,
                attempts: 0,
                last_error: None,
                state: OutboxState::Pending,
            })
            .await?;
        tracing::debug!(message = %id, "email queued");
        // `notify_one` keeps a permit when the worker is busy, so the wake-up is never missed.
        self.notify.notify_one();
        Ok(id)
    }

    /// The signal [`Outbox::enqueue_email`] raises; give it to [`OutboxWorker::new`].
    pub fn notifier(&self) -> Arc<Notify> {
        Arc::clone(&self.notify)
    }
}

/// What is sealed into the outbox: the envelope and, for messages that go stale, a deadline.
/// Payloads written before the deadline existed still open (`expires_at` defaults to none).
#[derive(serde::Serialize, serde::Deserialize)]
struct Queued {
    #[serde(flatten)]
    envelope: Envelope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

/// Overwrites a buffer that held a message in clear before it is freed.
fn wipe(buf: &mut [u8]) {
    buf.fill(0);
    // Keeps the compiler from dropping the writes as dead stores.
    std::hint::black_box(buf);
}

/// When to try a failed message again, and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first failure; doubled after each further one.
    pub initial: Duration,
    /// The longest wait between attempts.
    pub max: Duration,
    /// Attempts in all before the message is given up as dead.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 5 s, doubling, capped at 10 min, 20 attempts: about two and a half hours of trying,
    /// which rides out a relay restart or a short outage.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(5),
            max: Duration::from_secs(600),
            max_attempts: 20,
        }
    }
}

impl RetryPolicy {
    /// The wait after a message's `failures`-th failure (counting from 1).
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1);
        self.initial
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max)
    }
}

/// Sends what the [`Outbox`] queued.
#[derive(Debug)]
pub struct OutboxWorker {
    store: Arc<dyn Store>,
    keys: Keys,
    clock: Arc<dyn Clock>,
    transport: Arc<dyn EmailTransport>,
    retry: RetryPolicy,
    notify: Arc<Notify>,
}

impl OutboxWorker {
    /// A worker sending through `transport`; `notify` is [`Outbox::notifier`].
    pub fn new(
        store: Arc<dyn Store>,
        keys: Keys,
        clock: Arc<dyn Clock>,
        transport: Arc<dyn EmailTransport>,
        retry: RetryPolicy,
        notify: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            keys,
            clock,
            transport,
            retry,
            notify,
        }
    }

    /// Claims the messages due now and tries each once; returns how many it handled (sent,
    /// rescheduled or given up). A store failure on one message does not stop the others; the
    /// first is returned at the end, and the message stays leased and is tried again later.
    pub async fn run_once(&self) -> Result<usize, DeliveryError> {
        let batch = self.store.claim_due(self.clock.now(), LEASE, BATCH).await?;
        let mut first_error = None;
        for message in &batch {
            if let Err(e) = self.deliver(message).await {
                tracing::error!(message = %message.id, error = %e, "could not record the outcome of a delivery");
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(batch.len()),
        }
    }

    async fn deliver(&self, message: &OutboxMessage) -> Result<(), StoreError> {
        let attempt = message.attempts.saturating_add(1);
        if message.channel != EMAIL_CHANNEL {
            // This worker is the only consumer of the outbox, so nothing else would ever send it.
            tracing::error!(message = %message.id, channel = %message.channel, "no transport for this channel");
            return self
                .store
                .mark_dead(
                    &message.id,
                    &format!("no transport for channel {:?}", message.channel),
                )
                .await;
        }
        let Some(queued) = self.open(message) else {
            tracing::error!(message = %message.id, attempt, "{UNREADABLE}; giving up");
            return self.store.mark_dead(&message.id, UNREADABLE).await;
        };
        if queued
            .expires_at
            .is_some_and(|at| self.clock.now().as_millis() >= at)
        {
            tracing::warn!(message = %message.id, attempt, "message went stale before it could be sent; giving up");
            return self.store.mark_dead(&message.id, STALE).await;
        }
        let envelope = queued.envelope;
        match self.transport.send(&envelope).await {
            Ok(()) => {
                tracing::info!(message = %message.id, attempt, "email sent");
                self.store.mark_sent(&message.id, self.clock.now()).await
            }
            Err(SendError::Transient(e)) if attempt < self.retry.max_attempts => {
                let wait = self.retry.backoff(attempt);
                tracing::warn!(message = %message.id, attempt, retry_in_secs = wait.as_secs(), error = %e, "email not sent; will retry");
                let next = self.clock.now().plus(wait);
                self.store
                    .mark_retry(&message.id, next, &truncate(&e))
                    .await
            }
            Err(SendError::Transient(e)) => {
                tracing::error!(message = %message.id, attempt, error = %e, "email not sent; out of attempts, giving up");
                let reason = format!("gave up after {attempt} attempts: {e}");
                self.store.mark_dead(&message.id, &truncate(&reason)).await
            }
            Err(SendError::Permanent(e)) => {
                tracing::error!(message = %message.id, attempt, error = %e, "email refused; giving up");
                self.store.mark_dead(&message.id, &truncate(&e)).await
            }
        }
    }

    fn open(&self, message: &OutboxMessage) -> Option<Queued> {
        let plain = self
            .keys
            .open(message.id.as_str().as_bytes(), &message.payload_sealed)
            .ok()?;
        serde_json::from_slice(&plain).ok()
    }

    /// Sends until `shutdown` completes: a pass, then a wait for the next enqueue, a one-second
    /// tick (for retries that fall due) or shutdown. Shutdown interrupts a pass in progress; the
    /// messages it held stay leased and are sent after the lease by the next worker, so at worst
    /// one goes twice, never not at all.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        tracing::info!(transport = ?self.transport, "outbox worker started");
        loop {
            let handled = tokio::select! {
                biased;
                () = &mut shutdown => break,
                result = self.run_once() => match result {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(error = %e, "outbox pass failed");
                        0
                    }
                },
            };
            // A full batch means more may be waiting; go again without sleeping.
            if handled >= BATCH as usize {
                continue;
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = self.notify.notified() => {}
                () = tokio::time::sleep(TICK) => {}
            }
        }
        tracing::info!("outbox worker stopped");
    }
}

/// Shortens a failure text for storage and drops anything shaped like an email address: mail
/// servers quote the recipient in their replies, and contact data is not kept in clear.
fn truncate(text: &str) -> String {
    let redacted: Vec<String> = text
        .split(' ')
        .map(|word| {
            if word.contains('@') {
                "[address]".to_owned()
            } else {
                word.to_owned()
            }
        })
        .collect();
    redacted.join(" ").chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use latchkey_core::audit::AuditEvent;
    use latchkey_core::clock::{ManualClock, Timestamp};
    use latchkey_core::flow::Flow;
    use latchkey_core::ids::{CaptchaId, ChallengeId, FlowId, MethodId};
    use latchkey_core::random::SeededRandom;
    use latchkey_store::{AuditQuery, CaptchaRecord, ChallengeRecord, MethodRecord, StoreResult};
    use latchkey_store_sqlite::SqliteStore;

    use super::*;
    use crate::smtp::{SmtpMailer, SmtpSettings, TlsMode};
    use crate::testing::{SmtpCapture, extract_code};

    /// The outbox part of a store, in memory: a second backend that spells out what the outbox
    /// expects of the trait, independent of SQLite. Everything else answers `Backend("unused")`.
    #[derive(Debug, Default)]
    struct MemoryStore {
        outbox: Mutex<Vec<OutboxMessage>>,
    }

    impl MemoryStore {
        /// Applies `f` to a pending message; like SQL, a finished one is left alone.
        fn update_pending(
            &self,
            id: &MessageId,
            f: impl FnOnce(&mut OutboxMessage),
        ) -> StoreResult<()> {
            let mut rows = self.outbox.lock().unwrap();
            if let Some(row) = rows
                .iter_mut()
                .find(|m| &m.id == id && m.state == OutboxState::Pending)
            {
                f(row);
            }
            Ok(())
        }
    }

    fn unused<T>() -> StoreResult<T> {
        Err(StoreError::Backend("unused".into()))
    }

    #[async_trait]
    impl Store for MemoryStore {
        async fn ping(&self) -> StoreResult<()> {
            Ok(())
        }
        async fn insert_flow(&self, _: &Flow) -> StoreResult<()> {
            unused()
        }
        async fn flow(&self, _: &FlowId) -> StoreResult<Option<Flow>> {
            unused()
        }
        async fn update_flow(&self, _: &mut Flow) -> StoreResult<()> {
            unused()
        }
        async fn insert_challenge(&self, _: &ChallengeRecord) -> StoreResult<()> {
            unused()
        }
        async fn challenge(&self, _: &ChallengeId) -> StoreResult<Option<ChallengeRecord>> {
            unused()
        }
        async fn latest_challenge(
            &self,
            _: &FlowId,
            _: &MethodId,
        ) -> StoreResult<Option<ChallengeRecord>> {
            unused()
        }
        async fn update_challenge(&self, _: &mut ChallengeRecord) -> StoreResult<()> {
            unused()
        }
        async fn methods_for(&self, _: &str) -> StoreResult<Vec<MethodRecord>> {
            unused()
        }
        async fn insert_method(&self, _: &MethodRecord) -> StoreResult<()> {
            unused()
        }
        async fn delete_method(&self, _: &str, _: &MethodId) -> StoreResult<bool> {
            unused()
        }
        async fn insert_captcha(&self, _: &CaptchaRecord) -> StoreResult<()> {
            unused()
        }
        async fn take_captcha(&self, _: &CaptchaId) -> StoreResult<Option<CaptchaRecord>> {
            unused()
        }
        async fn hit(&self, _: &str, _: Timestamp, _: Timestamp) -> StoreResult<u32> {
            unused()
        }
        async fn append_audit(&self, _: &AuditEvent) -> StoreResult<()> {
            unused()
        }
        async fn audit_events(&self, _: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
            unused()
        }
        async fn enqueue(&self, message: &OutboxMessage) -> StoreResult<()> {
            let mut rows = self.outbox.lock().unwrap();
            if rows.iter().any(|m| m.id == message.id) {
                return Err(StoreError::Duplicate);
            }
            rows.push(message.clone());
            Ok(())
        }
        async fn claim_due(
            &self,
            now: Timestamp,
            lease: Duration,
            limit: u32,
        ) -> StoreResult<Vec<OutboxMessage>> {
            let mut rows = self.outbox.lock().unwrap();
            let mut due: Vec<&mut OutboxMessage> = rows
                .iter_mut()
                .filter(|m| m.state == OutboxState::Pending && m.next_attempt_at <= now)
                .collect();
            due.sort_by_key(|m| m.created_at);
            Ok(due
                .into_iter()
                .take(limit as usize)
                .map(|m| {
                    m.next_attempt_at = now.plus(lease);
                    m.clone()
                })
                .collect())
        }
        async fn mark_sent(&self, id: &MessageId, _: Timestamp) -> StoreResult<()> {
            let mut rows = self.outbox.lock().unwrap();
            if let Some(row) = rows.iter_mut().find(|m| &m.id == id) {
                row.state = OutboxState::Sent;
            }
            Ok(())
        }
        async fn mark_retry(
            &self,
            id: &MessageId,
            next_attempt_at: Timestamp,
            error: &str,
        ) -> StoreResult<()> {
            self.update_pending(id, |m| {
                m.attempts += 1;
                m.next_attempt_at = next_attempt_at;
                m.last_error = Some(error.to_owned());
            })
        }
        async fn mark_dead(&self, id: &MessageId, error: &str) -> StoreResult<()> {
            self.update_pending(id, |m| {
                m.state = OutboxState::Dead;
                m.last_error = Some(error.to_owned());
            })
        }
        async fn outbox_message(&self, id: &MessageId) -> StoreResult<Option<OutboxMessage>> {
            Ok(self
                .outbox
                .lock()
                .unwrap()
                .iter()
                .find(|m| &m.id == id)
                .cloned())
        }
        async fn push_password_history(
            &self,
            _: &str,
            _: &str,
            _: Timestamp,
            _: u32,
        ) -> StoreResult<()> {
            unused()
        }
        async fn password_history(&self, _: &str, _: u32) -> StoreResult<Vec<String>> {
            unused()
        }
        async fn purge_expired(&self, _: Timestamp) -> StoreResult<u64> {
            unused()
        }
    }

    /// Every scenario runs on the real SQLite backend and on the in-memory one.
    async fn stores() -> Vec<Arc<dyn Store>> {
        let sqlite = SqliteStore::connect("sqlite::memory:").await.unwrap();
        vec![Arc::new(sqlite), Arc::new(MemoryStore::default())]
    }

    const CODE: &str = "583204";

    struct Rig {
        store: Arc<dyn Store>,
        clock: Arc<ManualClock>,
        outbox: Outbox,
        worker: OutboxWorker,
    }

    fn rig(store: Arc<dyn Store>, port: u16, retry: RetryPolicy) -> Rig {
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)));
        let keys = Keys::from_master(&[9u8; 32]);
        let outbox = Outbox::new(
            store.clone(),
            keys.clone(),
            clock.clone(),
            Arc::new(SeededRandom::new(5)),
        );
        let mailer = SmtpMailer::new(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            username: None,
            password: None,
            from: "Latchkey <no-reply@contoso.com>".into(),
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        let worker = OutboxWorker::new(
            store.clone(),
            keys,
            clock.clone(),
            Arc::new(mailer),
            retry,
            outbox.notifier(),
        );
        Rig {
            store,
            clock,
            outbox,
            worker,
        }
    }

    fn envelope() -> Envelope {
        Envelope {
            to: "alice@contoso.com".into(),
            subject: "Your Contoso verification code".into(),
            text: format!("Your code is {CODE}."),
            html: Some(format!("<p>Your code is <b>{CODE}</b>.</p>")),
        }
    }

    async fn stored(rig: &Rig, id: &MessageId) -> OutboxMessage {
        rig.store.outbox_message(id).await.unwrap().unwrap()
    }

    async fn closed_port() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn queued_mail_is_sealed_then_sent() {
        for store in stores().await {
            let capture = SmtpCapture::start().await.unwrap();
            let rig = rig(store, capture.port(), RetryPolicy::default());
            let id = rig.outbox.enqueue_email(&envelope()).await.unwrap();

            let queued = stored(&rig, &id).await;
            assert_eq!(queued.channel, "email");
            assert_eq!(queued.state, OutboxState::Pending);
            assert_eq!(queued.next_attempt_at, rig.clock.now());
            let payload = &queued.payload_sealed;
            assert!(
                !payload.windows(CODE.len()).any(|w| w == CODE.as_bytes()),
                "no code at rest"
            );
            assert!(
                !payload.windows(5).any(|w| w == b"alice"),
                "no address at rest"
            );

            assert_eq!(rig.worker.run_once().await.unwrap(), 1);
            assert_eq!(stored(&rig, &id).await.state, OutboxState::Sent);
            let mail = capture.messages().pop().unwrap();
            assert_eq!(mail.to, vec!["alice@contoso.com".to_owned()]);
            assert_eq!(extract_code(&mail.body_text()).as_deref(), Some(CODE));

            assert_eq!(rig.worker.run_once().await.unwrap(), 0, "sent once only");
            assert_eq!(capture.messages().len(), 1);
        }
    }

    #[tokio::test]
    async fn a_busy_server_delays_but_does_not_lose() {
        for store in stores().await {
            let capture = SmtpCapture::start().await.unwrap();
            capture.set_failing(Some("451 4.3.0 try later"));
            let rig = rig(store, capture.port(), RetryPolicy::default());
            let id = rig.outbox.enqueue_email(&envelope()).await.unwrap();

            assert_eq!(rig.worker.run_once().await.unwrap(), 1);
            let after = stored(&rig, &id).await;
            assert_eq!(after.state, OutboxState::Pending);
            assert_eq!(after.attempts, 1);
            assert_eq!(
                after.next_attempt_at,
                rig.clock.now().plus(Duration::from_secs(5))
            );
            let error = after.last_error.unwrap();
            assert!(error.contains("try later"), "{error}");
            assert!(!error.contains(CODE));

            assert_eq!(rig.worker.run_once().await.unwrap(), 0, "not due yet");
            capture.set_failing(None);
            rig.clock.advance(Duration::from_secs(5));
            assert_eq!(rig.worker.run_once().await.unwrap(), 1);
            assert_eq!(stored(&rig, &id).await.state, OutboxState::Sent);
            assert_eq!(capture.messages().len(), 1);
        }
    }

    #[tokio::test]
    async fn a_refusal_is_final() {
        for store in stores().await {
            let capture = SmtpCapture::start().await.unwrap();
            capture.set_failing(Some("550 5.1.1 no such user"));
            let rig = rig(store, capture.port(), RetryPolicy::default());
            let id = rig.outbox.enqueue_email(&envelope()).await.unwrap();

            assert_eq!(rig.worker.run_once().await.unwrap(), 1);
            let after = stored(&rig, &id).await;
            assert_eq!(after.state, OutboxState::Dead);
            assert!(after.last_error.unwrap().contains("no such user"));
            capture.set_failing(None);
            rig.clock.advance(Duration::from_secs(3600));
            assert_eq!(rig.worker.run_once().await.unwrap(), 0);
            assert!(capture.messages().is_empty());
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_retried() {
        for store in stores().await {
            let rig = rig(store, closed_port().await, RetryPolicy::default());
            let id = rig.outbox.enqueue_email(&envelope()).await.unwrap();
            assert_eq!(rig.worker.run_once().await.unwrap(), 1);
            let after = stored(&rig, &id).await;
            assert_eq!(after.state, OutboxState::Pending);
            assert_eq!(after.attempts, 1);
            assert!(after.last_error.is_some());
        }
    }

    #[tokio::test]
    async fn retries_back_off_then_give_up() {
        for store in stores().await {
            let capture = SmtpCapture::start().await.unwrap();
            capture.set_failing(Some("421 4.7.0 too busy"));
            let retry = RetryPolicy {
                initial: Duration::from_secs(5),
                max: Duration::from_secs(12),
                max_attempts: 4,
            };
            let rig = rig(store, capture.port(), retry);
            let id = rig.outbox.enqueue_email(&envelope()).await.unwrap();
            for (attempt, wait) in [(1, 5), (2, 10), (3, 12)] {
                let before = rig.clock.now();
                assert_eq!(rig.worker.run_once().await.unwrap(), 1);
                let after = stored(&rig, &id).await;
                assert_eq!(
                    (after.attempts, after.state),
                    (attempt, OutboxState::Pending)
                );
                assert_eq!(
                    after.next_attempt_at,
                    before.plus(Duration::from_secs(wait))
                );
                rig.clock.advance(Duration::from_secs(wait));
            }
            assert_eq!(rig.worker.run_once().await.unwrap(), 1);
            let after = stored(&rig, &id).await;
            assert_eq!(after.state, OutboxState::Dead);
            assert!(
                after
                    .last_error
                    .unwrap()
                    .starts_with("gave up after 4 attempts")
            );
        }
    }

    #[tokio::test]
    async fn unreadable_payloads_are_given_up() {
        for store in stores().await {
            let capture = SmtpCapture::start().await.unwrap();
            let rig = rig(store, capture.port(), RetryPolicy::default());
            let now = rig.clock.now();
            let rng = SeededRandom::new(11);
            let foreign = Keys::from_master(&[1u8; 32]);
            let garbage = MessageId::generate(&rng);
            let other_key = MessageId::generate(&rng);
            let payloads = [
                (garbage, b"garbage".to_vec()),
                (
                    other_key.clone(),
                    foreign.seal(
                        &rng,
                        other_key.as_str().as_bytes(),
                        br#"{"to":"a@b.c","subject":"s","text":"t","html":null}"#,
                    ),
                ),
            ];
            for (id, payload) in &payloads {
                rig.store
                    .enqueue(&OutboxMessage {
                        id: id.clone(),
                        channel: EMAIL_CHANNEL.into(),
                        payload_sealed: payload.clone(),
                        created_at: now,
                        next_attempt_at: now,
                        attempts: 0,
                        last_error: None,
                        state: OutboxState::Pending,
                    })
                    .await
                    .unwrap();
            }
            assert_eq!(rig.worker.run_once().await.unwrap(), 2);
            for (id, _) in &payloads {
                let after = stored(&rig, id).await;
                assert_eq!(after.state, OutboxState::Dead);
                assert_eq!(after.last_error.as_deref(), Some(UNREADABLE));
            }
            assert!(capture.messages().is_empty());
        }
    }

    #[tokio::test]
    async fn the_worker_wakes_on_enqueue_and_stops_on_shutdown() {
        for store in stores().await {
            let capture = SmtpCapture::start().await.unwrap();
            let Rig { outbox, worker, .. } = rig(store, capture.port(), RetryPolicy::default());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let running = tokio::spawn(worker.run(async {
                let _ = stopped.await;
            }));
            // Let the first (empty) pass finish, so only the enqueue can wake the worker before
            // the one-second tick.
            tokio::time::sleep(Duration::from_millis(100)).await;
            outbox.enqueue_email(&envelope()).await.unwrap();
            let mail = capture
                .wait_for(
                    |m| m.to == ["alice@contoso.com"],
                    Duration::from_millis(600),
                )
                .await;
            assert!(mail.is_some(), "delivered before the tick");

            stop.send(()).unwrap();
            tokio::time::timeout(Duration::from_secs(1), running)
                .await
                .expect("the worker stops")
                .unwrap();
        }
    }

    #[test]
    fn default_policy() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_secs(5));
        assert_eq!(p.backoff(2), Duration::from_secs(10));
        assert_eq!(p.backoff(8), Duration::from_secs(600));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(600));
        assert_eq!(p.max_attempts, 20);
    }

    #[test]
    fn stored_errors_carry_no_addresses() {
        assert_eq!(
            super::truncate("550 5.1.1 <bob@example.org>: Recipient address rejected"),
            "550 5.1.1 [address] Recipient address rejected"
        );
    }
}
