//! One test story for every [`Store`] backend: it drives each trait method against an empty
//! database and checks the answers, so that SQLite and PostgreSQL keep the same promises.
//!
//! The story uses a fixed base time and seeded ids, never the wall clock or the OS generator, and
//! talks to the backend only through the trait. It panics with a message naming the broken
//! promise; backends call [`run`] from their own tests with a fresh database.
// Test support: a failed expectation is meant to panic with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;
use std::time::Duration;

use latchkey_core::audit::{AuditAction, AuditEvent, Outcome};
use latchkey_core::clock::Timestamp;
use latchkey_core::code::CodeState;
use latchkey_core::flow::{Flow, FlowState, Intent, MethodKind, OfferedMethod, Subject};
use latchkey_core::ids::{CaptchaId, ChallengeId, FlowId, MessageId, MethodId};
use latchkey_core::random::SeededRandom;

use crate::{
    AuditQuery, CaptchaRecord, ChallengeRecord, ChallengeState, MethodRecord, OutboxMessage,
    OutboxState, Store, StoreError, StoreResult,
};

/// The story's "now" at the start: a fixed instant (November 2023), never the wall clock.
const BASE: Timestamp = Timestamp::from_millis(1_700_000_000_000);

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(60 * 60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Directory keys of the story's people.
const ALICE: &str = "uid=alice,ou=people,dc=example,dc=org";
const BOB: &str = "uid=bob,ou=people,dc=example,dc=org";

/// `secs` seconds after [`BASE`].
fn at(secs: u64) -> Timestamp {
    BASE.plus(Duration::from_secs(secs))
}

/// Runs the whole story against `store`, which must start empty.
pub async fn run(store: &dyn Store) {
    store.ping().await.expect("ping answers");
    let flows = flows(store).await;
    challenges(store, &flows).await;
    methods(store).await;
    captchas(store).await;
    rate_counters(store).await;
    audit(store).await;
    let outbox = outbox(store).await;
    password_history(store).await;
    purge(store, &flows, &outbox).await;
}

#[track_caller]
fn expect_conflict<T: fmt::Debug>(result: StoreResult<T>, what: &str) {
    match result {
        Err(StoreError::Conflict) => {}
        other => panic!("{what}: expected StoreError::Conflict, got {other:?}"),
    }
}

#[track_caller]
fn expect_duplicate<T: fmt::Debug>(result: StoreResult<T>, what: &str) {
    match result {
        Err(StoreError::Duplicate) => {}
        other => panic!("{what}: expected StoreError::Duplicate, got {other:?}"),
    }
}

/// The flows later chapters build on, as last saved.
struct Flows {
    user: Flow,
    decoy: Flow,
}

async fn flows(store: &dyn Store) -> Flows {
    let rng = SeededRandom::new(1);
    let mut ids: Vec<MethodId> = (0..3).map(|_| MethodId::generate(&rng)).collect();
    // Descending, and later verified in neither order, so a backend that sorts is caught.
    ids.sort_by(|a, b| b.cmp(a));
    let offered = vec![
        OfferedMethod {
            id: ids[0].clone(),
            kind: MethodKind::Email,
            hint: "a•••e@example.org".into(),
        },
        OfferedMethod {
            id: ids[1].clone(),
            kind: MethodKind::Sms,
            hint: "+1 ••• ••• •12 | mobile".into(),
        },
        OfferedMethod {
            id: ids[2].clone(),
            kind: MethodKind::Questions,
            hint: "3 questions | \"pet\" @ home, 'quoted'".into(),
        },
    ];
    let subject = Subject::User {
        directory_key: ALICE.into(),
        user_id: "alice".into(),
    };
    let user = Flow::start(
        FlowId::generate(&rng),
        Intent::Reset,
        subject,
        offered.clone(),
        3,
        at(0),
        15 * MINUTE,
    );
    store.insert_flow(&user).await.expect("insert a flow");
    let read = store
        .flow(&user.id)
        .await
        .expect("read a flow")
        .expect("a flow just inserted exists");
    assert_eq!(read, user, "a flow round-trips unchanged");
    match &read.subject {
        Subject::User {
            directory_key,
            user_id,
        } => {
            assert_eq!(
                directory_key, ALICE,
                "a user subject keeps its directory key"
            );
            assert_eq!(user_id, "alice", "a user subject keeps its user id");
        }
        Subject::Decoy { .. } => panic!("a user flow came back as a decoy"),
    }
    assert_eq!(
        read.methods, offered,
        "offered methods keep their ids, kinds, hints and order"
    );
    expect_duplicate(
        store.insert_flow(&user).await,
        "inserting the same flow id twice",
    );

    let decoy = Flow::start(
        FlowId::generate(&rng),
        Intent::Unlock,
        Subject::Decoy {
            user_id: "mallory".into(),
        },
        vec![OfferedMethod {
            id: MethodId::generate(&rng),
            kind: MethodKind::Email,
            hint: "m•••y@example.com".into(),
        }],
        1,
        at(1),
        15 * MINUTE,
    );
    store
        .insert_flow(&decoy)
        .await
        .expect("insert a decoy flow");
    let read = store
        .flow(&decoy.id)
        .await
        .expect("read a decoy flow")
        .expect("a decoy flow just inserted exists");
    assert!(read.is_decoy(), "a decoy round-trips as a decoy");
    assert_eq!(
        read.subject,
        Subject::Decoy {
            user_id: "mallory".into()
        },
        "a decoy keeps its user id"
    );
    assert_eq!(read, decoy, "a decoy flow round-trips unchanged");

    let stranger = FlowId::generate(&SeededRandom::new(1001));
    assert_eq!(
        store.flow(&stranger).await.expect("read an unknown flow"),
        None,
        "an unknown flow id reads as None"
    );

    // Optimistic concurrency: each update bumps the version; a stale copy is refused.
    let mut current = read_flow(store, &user.id).await;
    let stale = current.clone();
    let mut version = current.version;
    for (step, method) in [&ids[1], &ids[2], &ids[0]].into_iter().enumerate() {
        current
            .record_verified(method, at(60))
            .expect("an offered method verifies");
        store
            .update_flow(&mut current)
            .await
            .expect("update a fresh copy of a flow");
        version += 1;
        assert_eq!(
            current.version, version,
            "update_flow bumps the caller's version (step {step})"
        );
        assert_eq!(
            read_flow(store, &user.id).await,
            current,
            "update_flow persists the flow (step {step})"
        );
    }
    assert_eq!(
        current.verified,
        vec![ids[1].clone(), ids[2].clone(), ids[0].clone()],
        "verified methods keep their order"
    );
    assert_eq!(current.state, FlowState::Verified);

    let mut stale_copy = stale.clone();
    expect_conflict(
        store.update_flow(&mut stale_copy).await,
        "updating a stale copy of a flow",
    );
    assert_eq!(
        stale_copy.version, stale.version,
        "a refused update leaves the caller's version alone"
    );
    assert_eq!(
        read_flow(store, &user.id).await,
        current,
        "a refused update changes nothing"
    );

    current
        .complete(Intent::Reset, at(120))
        .expect("a verified flow completes");
    store
        .update_flow(&mut current)
        .await
        .expect("save a completed flow");
    let read = read_flow(store, &user.id).await;
    assert_eq!(read.state, FlowState::Completed, "the state is saved");
    assert_eq!(read, current);

    let mut ghost = Flow::start(
        stranger,
        Intent::Reset,
        Subject::Decoy {
            user_id: "ghost".into(),
        },
        Vec::new(),
        1,
        at(0),
        MINUTE,
    );
    expect_conflict(
        store.update_flow(&mut ghost).await,
        "updating a flow that was never stored",
    );

    Flows {
        user: current,
        decoy,
    }
}

async fn read_flow(store: &dyn Store, id: &FlowId) -> Flow {
    store
        .flow(id)
        .await
        .expect("read a flow")
        .expect("the flow exists")
}

async fn read_challenge(store: &dyn Store, id: &ChallengeId) -> Option<ChallengeRecord> {
    store.challenge(id).await.expect("read a challenge")
}

/// A code state whose digest holds the bytes that trip naive text encodings.
fn code_state(seed: u8, sent: Timestamp) -> CodeState {
    let mut digest = vec![seed; 32];
    digest[0] = 0x00;
    digest[31] = 0xff;
    CodeState {
        digest,
        expires_at: sent.plus(10 * MINUTE),
        attempts: 0,
        max_attempts: 5,
        consumed: false,
    }
}

async fn challenges(store: &dyn Store, flows: &Flows) {
    let rng = SeededRandom::new(2);
    let flow = &flows.user;
    let email = &flow.methods[0];
    let sms = &flow.methods[1];
    let questions = &flow.methods[2];
    let challenge =
        |method: &OfferedMethod, code: Option<CodeState>, created_at: Timestamp| ChallengeRecord {
            id: ChallengeId::generate(&rng),
            flow_id: flow.id.clone(),
            method_id: method.id.clone(),
            kind: method.kind,
            code,
            state: ChallengeState::Pending,
            created_at,
            version: 0,
        };
    let first = challenge(email, Some(code_state(1, at(10))), at(10));
    let resent = challenge(email, Some(code_state(2, at(70))), at(70));
    let answers = challenge(questions, None, at(80));

    // The newer one first, so that "latest" cannot mean "last inserted".
    for c in [&resent, &first, &answers] {
        store.insert_challenge(c).await.expect("insert a challenge");
    }
    for c in [&first, &resent, &answers] {
        assert_eq!(
            read_challenge(store, &c.id).await.as_ref(),
            Some(c),
            "a challenge round-trips unchanged (with and without a code)"
        );
    }
    expect_duplicate(
        store.insert_challenge(&first).await,
        "inserting the same challenge id twice",
    );
    assert_eq!(
        read_challenge(store, &ChallengeId::generate(&SeededRandom::new(1002))).await,
        None,
        "an unknown challenge id reads as None"
    );

    let latest = |flow_id: FlowId, method: MethodId| async move {
        store
            .latest_challenge(&flow_id, &method)
            .await
            .expect("read the latest challenge")
    };
    assert_eq!(
        latest(flow.id.clone(), email.id.clone()).await.as_ref(),
        Some(&resent),
        "the latest challenge is the newest for (flow, method)"
    );
    assert_eq!(
        latest(flow.id.clone(), questions.id.clone()).await.as_ref(),
        Some(&answers),
        "the latest challenge is per method"
    );
    assert_eq!(
        latest(flow.id.clone(), sms.id.clone()).await,
        None,
        "a method never challenged has no latest challenge"
    );
    assert_eq!(
        latest(flows.decoy.id.clone(), email.id.clone()).await,
        None,
        "the latest challenge is per flow"
    );

    // Optimistic concurrency, as for flows.
    let mut current = resent.clone();
    let stale = current.clone();
    current
        .code
        .as_mut()
        .expect("the resent challenge has a code")
        .attempts = 1;
    store
        .update_challenge(&mut current)
        .await
        .expect("update a fresh copy of a challenge");
    assert_eq!(
        current.version,
        resent.version + 1,
        "update_challenge bumps the version"
    );
    assert_eq!(
        read_challenge(store, &resent.id).await.as_ref(),
        Some(&current),
        "update_challenge persists the code's counters"
    );
    let mut stale_copy = stale.clone();
    expect_conflict(
        store.update_challenge(&mut stale_copy).await,
        "updating a stale copy of a challenge",
    );
    assert_eq!(stale_copy.version, stale.version);

    current.state = ChallengeState::Verified;
    current
        .code
        .as_mut()
        .expect("the resent challenge has a code")
        .consumed = true;
    store
        .update_challenge(&mut current)
        .await
        .expect("update a challenge again");
    assert_eq!(current.version, resent.version + 2);
    assert_eq!(
        read_challenge(store, &resent.id).await.as_ref(),
        Some(&current),
        "update_challenge persists state and consumption"
    );

    let mut failed = answers.clone();
    failed.state = ChallengeState::Failed;
    store
        .update_challenge(&mut failed)
        .await
        .expect("update a challenge without a code");
    assert_eq!(
        read_challenge(store, &answers.id).await.as_ref(),
        Some(&failed),
        "a challenge without a code stays without one"
    );
}

async fn methods(store: &dyn Store) {
    let rng = SeededRandom::new(3);
    let method = |user: &str, kind, label: &str, hint: &str, created_at| MethodRecord {
        id: MethodId::generate(&rng),
        user_key: user.into(),
        kind,
        label: label.into(),
        destination_sealed: vec![0x00, 0x01, b'|', 0xfe, 0xff],
        hint: hint.into(),
        created_at,
    };
    let newer = method(
        ALICE,
        MethodKind::Email,
        "alternate",
        "a•••e@example.org",
        at(20),
    );
    let older = method(
        ALICE,
        MethodKind::Sms,
        "mobile",
        "+44 •••• ••• | 789",
        at(10),
    );
    let bobs = method(
        BOB,
        MethodKind::Voice,
        "office",
        "@desk | ext. ••12",
        at(15),
    );
    for m in [&newer, &older, &bobs] {
        store.insert_method(m).await.expect("insert a method");
    }
    expect_duplicate(
        store.insert_method(&older).await,
        "inserting the same method id twice",
    );

    let methods_for = |user: &'static str| async move {
        store
            .methods_for(user)
            .await
            .expect("read a user's methods")
    };
    assert_eq!(
        methods_for(ALICE).await,
        vec![older.clone(), newer.clone()],
        "a user's methods, oldest first, round-trip unchanged"
    );
    assert_eq!(
        methods_for(BOB).await,
        vec![bobs.clone()],
        "methods are per user"
    );
    assert_eq!(
        methods_for("uid=nobody").await,
        Vec::new(),
        "a user without methods has none"
    );

    assert!(
        !store
            .delete_method(ALICE, &bobs.id)
            .await
            .expect("delete someone else's method"),
        "a user cannot delete another user's method"
    );
    assert_eq!(
        methods_for(BOB).await,
        vec![bobs.clone()],
        "the other user's method is untouched"
    );
    assert!(
        store
            .delete_method(ALICE, &newer.id)
            .await
            .expect("delete a method"),
        "deleting an existing method says so"
    );
    assert!(
        !store
            .delete_method(ALICE, &newer.id)
            .await
            .expect("delete a method again"),
        "deleting it again finds nothing"
    );
    assert_eq!(methods_for(ALICE).await, vec![older]);
}

async fn captchas(store: &dyn Store) {
    let rng = SeededRandom::new(4);
    let captcha = CaptchaRecord {
        id: CaptchaId::generate(&rng),
        answer_digest: vec![0x00, 0x7f, 0x80, 0xff],
        expires_at: at(300),
    };
    store
        .insert_captcha(&captcha)
        .await
        .expect("insert a captcha");
    expect_duplicate(
        store.insert_captcha(&captcha).await,
        "inserting the same captcha id twice",
    );
    assert_eq!(
        store
            .take_captcha(&captcha.id)
            .await
            .expect("take a captcha"),
        Some(captcha.clone()),
        "a captcha round-trips unchanged"
    );
    assert_eq!(
        store
            .take_captcha(&captcha.id)
            .await
            .expect("take a captcha again"),
        None,
        "a captcha can be taken only once"
    );
    assert_eq!(
        store
            .take_captcha(&CaptchaId::generate(&rng))
            .await
            .expect("take an unknown captcha"),
        None
    );
}

async fn rate_counters(store: &dyn Store) {
    let key = "verify:user:alice";
    let other = "verify:source:192.0.2.7";
    let hit = |key: &'static str, window: Timestamp| async move {
        store
            .hit(key, window, window.plus(2 * MINUTE))
            .await
            .expect("count a hit")
    };
    for want in 1..=3 {
        assert_eq!(hit(key, at(0)).await, want, "hits in one window count up");
    }
    assert_eq!(hit(key, at(60)).await, 1, "a new window starts from one");
    assert_eq!(hit(key, at(60)).await, 2);
    assert_eq!(
        hit(other, at(0)).await,
        1,
        "separate keys are counted separately"
    );
    assert_eq!(hit(other, at(0)).await, 2);
    assert_eq!(
        hit(key, at(60)).await,
        3,
        "the other key left this one alone"
    );
}

async fn audit(store: &dyn Store) {
    let rng = SeededRandom::new(5);
    let real_flow = FlowId::generate(&rng).to_string();
    let decoy_flow = FlowId::generate(&rng).to_string();
    let event =
        |secs, action, user: Option<&str>, flow: Option<&String>, outcome, decoy| AuditEvent {
            at: at(secs),
            action,
            user: user.map(str::to_owned),
            source: Some("192.0.2.1".into()),
            flow: flow.cloned(),
            outcome,
            decoy,
            detail: format!("kind=email hint=a•••e@example.org | step {secs}"),
        };
    let started = event(
        0,
        AuditAction::RecoveryStarted,
        Some("alice"),
        Some(&real_flow),
        Outcome::Success,
        false,
    );
    let sent = event(
        1,
        AuditAction::CodeSent,
        Some("alice"),
        Some(&real_flow),
        Outcome::Success,
        false,
    );
    let wrong = event(
        2,
        AuditAction::ChallengeVerified,
        Some("alice"),
        Some(&real_flow),
        Outcome::failure("code_invalid"),
        false,
    );
    let decoy = event(
        3,
        AuditAction::RecoveryStarted,
        Some("mallory"),
        Some(&decoy_flow),
        Outcome::Success,
        true,
    );
    let mut limited = event(
        4,
        AuditAction::RateLimited,
        None,
        None,
        Outcome::failure("rate_limited"),
        false,
    );
    limited.source = None;
    limited.detail = String::new();
    for e in [&started, &sent, &wrong, &decoy, &limited] {
        store.append_audit(e).await.expect("append an audit event");
    }

    let query = |user: Option<&'static str>, flow: Option<&String>, limit| {
        let query = AuditQuery {
            user: user.map(str::to_owned),
            flow: flow.cloned(),
            limit,
        };
        async move { store.audit_events(&query).await.expect("read audit events") }
    };
    assert_eq!(
        query(Some("alice"), None, 10).await,
        vec![wrong.clone(), sent.clone(), started.clone()],
        "events by user, newest first, round-trip unchanged"
    );
    assert_eq!(
        query(Some("alice"), None, 1).await,
        vec![wrong.clone()],
        "the limit keeps the newest"
    );
    assert_eq!(
        query(None, Some(&decoy_flow), 10).await,
        vec![decoy.clone()],
        "events by flow"
    );
    assert_eq!(
        query(None, None, 2).await,
        vec![limited.clone(), decoy.clone()],
        "all events, newest first, limited"
    );
    assert_eq!(
        query(None, None, 100).await.len(),
        5,
        "every event was kept"
    );
    assert_eq!(
        query(Some("alice"), Some(&decoy_flow), 10).await,
        Vec::new(),
        "user and flow filters both apply"
    );

    let read = query(None, Some(&decoy_flow), 1).await;
    assert!(read[0].decoy, "the decoy flag round-trips");
    let read = query(Some("alice"), None, 1).await;
    assert_eq!(
        read[0].outcome,
        Outcome::failure("code_invalid"),
        "a failure outcome keeps its code"
    );
    assert_eq!(read[0].action, AuditAction::ChallengeVerified);
    let read = query(None, None, 1).await;
    assert_eq!(read[0].user, None, "an event without a user has none");
    assert_eq!(read[0].source, None);
    assert_eq!(read[0].flow, None);
}

/// Outbox messages later chapters look at.
struct Outbox {
    pending: MessageId,
    sent: MessageId,
    dead: MessageId,
}

async fn outbox(store: &dyn Store) -> Outbox {
    let rng = SeededRandom::new(6);
    let message = |channel: &str, created_at, next_attempt_at| OutboxMessage {
        id: MessageId::generate(&rng),
        channel: channel.into(),
        payload_sealed: vec![0x00, 0xff, b'|', 0x07],
        created_at,
        next_attempt_at,
        attempts: 0,
        last_error: None,
        state: OutboxState::Pending,
    };
    let first = message("email", at(0), at(0));
    let second = message("sms", at(1), at(1));
    let later = message("voice", at(2), at(600));
    // Not in age order, so that "oldest first" cannot mean "first inserted".
    for m in [&second, &later, &first] {
        store.enqueue(m).await.expect("enqueue a message");
    }
    expect_duplicate(
        store.enqueue(&first).await,
        "enqueueing the same message id twice",
    );
    let read = |id: MessageId| async move {
        store
            .outbox_message(&id)
            .await
            .expect("read an outbox message")
    };
    assert_eq!(
        read(first.id.clone()).await.as_ref(),
        Some(&first),
        "a message round-trips unchanged"
    );
    assert_eq!(
        read(MessageId::generate(&SeededRandom::new(1006))).await,
        None,
        "an unknown message reads as None"
    );

    let lease = MINUTE;
    let claim = |now: Timestamp, limit| async move {
        store
            .claim_due(now, lease, limit)
            .await
            .expect("claim due messages")
    };
    let now = at(5);
    let leased = |m: &OutboxMessage| OutboxMessage {
        next_attempt_at: now.plus(lease),
        ..m.clone()
    };
    assert_eq!(
        claim(now, 10).await,
        vec![leased(&first), leased(&second)],
        "claim_due returns due pending messages, oldest first, with the lease as next attempt"
    );
    assert_eq!(
        claim(at(30), 10).await,
        Vec::new(),
        "a claimed message is not claimed again within its lease"
    );
    let after_lease = now.plus(lease);
    let ids = |messages: Vec<OutboxMessage>| messages.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(claim(after_lease, 1).await),
        vec![first.id.clone()],
        "after the lease a message is claimed again, up to the limit"
    );
    assert_eq!(
        ids(claim(after_lease, 10).await),
        vec![second.id.clone()],
        "the limit left the rest for the next claim"
    );

    store
        .mark_retry(&first.id, at(200), "smtp: 451 4.7.1 try again later")
        .await
        .expect("mark a message for retry");
    let retried = read(first.id.clone())
        .await
        .expect("the retried message exists");
    assert_eq!(retried.attempts, 1, "a retry counts the failed attempt");
    assert_eq!(
        retried.last_error.as_deref(),
        Some("smtp: 451 4.7.1 try again later"),
        "a retry keeps the error"
    );
    assert_eq!(
        retried.next_attempt_at,
        at(200),
        "a retry keeps the next time"
    );
    assert_eq!(retried.state, OutboxState::Pending);

    store
        .mark_sent(&second.id, after_lease)
        .await
        .expect("mark a message sent");
    assert_eq!(
        read(second.id.clone())
            .await
            .expect("the sent message exists")
            .state,
        OutboxState::Sent
    );
    store
        .mark_dead(&later.id, "sms: number unreachable")
        .await
        .expect("mark a message dead");
    let dead = read(later.id.clone())
        .await
        .expect("the dead message exists");
    assert_eq!(dead.state, OutboxState::Dead);
    assert_eq!(dead.last_error.as_deref(), Some("sms: number unreachable"));

    assert_eq!(
        claim(at(199), 10).await,
        Vec::new(),
        "a retried message waits for its next time"
    );
    let claimed = claim(at(3600), 10).await;
    assert_eq!(
        ids(claimed.clone()),
        vec![first.id.clone()],
        "sent and dead messages are never claimed"
    );
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(
        claimed[0].last_error.as_deref(),
        Some("smtp: 451 4.7.1 try again later")
    );

    Outbox {
        pending: first.id,
        sent: second.id,
        dead: later.id,
    }
}

async fn password_history(store: &dyn Store) {
    let phc = |n: u64| format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ{n}$aGFzaGhhc2g{n}");
    for n in 1..=5 {
        store
            .push_password_history(ALICE, &phc(n), at(n), 3)
            .await
            .expect("remember a password hash");
    }
    store
        .push_password_history(BOB, "bob's only hash", at(3), 3)
        .await
        .expect("remember another user's password hash");
    let history = |user: &'static str, limit| async move {
        store
            .password_history(user, limit)
            .await
            .expect("read password history")
    };
    assert_eq!(
        history(ALICE, 10).await,
        vec![phc(5), phc(4), phc(3)],
        "only the newest `keep` hashes are kept, newest first"
    );
    assert_eq!(
        history(ALICE, 2).await,
        vec![phc(5), phc(4)],
        "the limit keeps the newest"
    );
    assert_eq!(
        history(BOB, 10).await,
        vec!["bob's only hash".to_owned()],
        "history is per user"
    );
    assert_eq!(history("uid=nobody", 10).await, Vec::<String>::new());
}

async fn purge(store: &dyn Store, flows: &Flows, outbox: &Outbox) {
    let rng = SeededRandom::new(7);
    // Eight days in: past every expiry above and past a week's keeping of sent messages.
    let now = at(0).plus(8 * DAY);
    let flow = |created_at: Timestamp, lifetime| {
        Flow::start(
            FlowId::generate(&rng),
            Intent::Reset,
            Subject::User {
                directory_key: ALICE.into(),
                user_id: "alice".into(),
            },
            vec![OfferedMethod {
                id: MethodId::generate(&rng),
                kind: MethodKind::Email,
                hint: "a•••e@example.org".into(),
            }],
            1,
            created_at,
            lifetime,
        )
    };
    let expired = flow(now.minus(2 * HOUR), HOUR);
    let live = flow(now.minus(HOUR), DAY);
    let challenge = |flow: &Flow| ChallengeRecord {
        id: ChallengeId::generate(&rng),
        flow_id: flow.id.clone(),
        method_id: flow.methods[0].id.clone(),
        kind: MethodKind::Email,
        code: Some(code_state(9, flow.created_at)),
        state: ChallengeState::Pending,
        created_at: flow.created_at,
        version: 0,
    };
    let expired_challenge = challenge(&expired);
    let live_challenge = challenge(&live);
    for f in [&expired, &live] {
        store.insert_flow(f).await.expect("insert a flow to purge");
    }
    for c in [&expired_challenge, &live_challenge] {
        store
            .insert_challenge(c)
            .await
            .expect("insert a challenge to purge");
    }
    let stale_captcha = CaptchaRecord {
        id: CaptchaId::generate(&rng),
        answer_digest: vec![1; 32],
        expires_at: now.minus(MINUTE),
    };
    let fresh_captcha = CaptchaRecord {
        id: CaptchaId::generate(&rng),
        answer_digest: vec![2; 32],
        expires_at: now.plus(5 * MINUTE),
    };
    for c in [&stale_captcha, &fresh_captcha] {
        store
            .insert_captcha(c)
            .await
            .expect("insert a captcha to purge");
    }
    let stale_window = now.minus(2 * HOUR);
    let live_window = now.minus(MINUTE);
    let hit = |key: &'static str, window: Timestamp, expires_at| async move {
        store
            .hit(key, window, expires_at)
            .await
            .expect("count a hit")
    };
    assert_eq!(hit("purge:stale", stale_window, now.minus(HOUR)).await, 1);
    assert_eq!(hit("purge:stale", stale_window, now.minus(HOUR)).await, 2);
    assert_eq!(hit("purge:live", live_window, now.plus(HOUR)).await, 1);

    let purged = store.purge_expired(now).await.expect("purge");
    assert!(
        purged >= 4,
        "purge counts what it removed: an expired flow, its challenge, a captcha, a counter \
         (got {purged})"
    );
    assert_eq!(
        store.purge_expired(now).await.expect("purge again"),
        0,
        "a second purge finds nothing"
    );

    let read = |id: FlowId| async move { store.flow(&id).await.expect("read a flow") };
    assert_eq!(
        read(expired.id.clone()).await,
        None,
        "an expired flow is purged"
    );
    assert_eq!(
        read(flows.user.id.clone()).await,
        None,
        "the story's first flows expired too"
    );
    assert_eq!(
        read_challenge(store, &expired_challenge.id).await,
        None,
        "an expired flow's challenges go with it"
    );
    assert_eq!(
        read(live.id.clone()).await.as_ref(),
        Some(&live),
        "a live flow stays"
    );
    assert_eq!(
        read_challenge(store, &live_challenge.id).await.as_ref(),
        Some(&live_challenge),
        "a live flow's challenges stay"
    );
    assert_eq!(
        store
            .take_captcha(&stale_captcha.id)
            .await
            .expect("take a purged captcha"),
        None,
        "an expired captcha is purged"
    );
    assert_eq!(
        store
            .take_captcha(&fresh_captcha.id)
            .await
            .expect("take a live captcha"),
        Some(fresh_captcha),
        "a live captcha stays"
    );
    assert_eq!(
        hit("purge:stale", stale_window, now.minus(HOUR)).await,
        1,
        "an expired rate counter is forgotten"
    );
    assert_eq!(
        hit("purge:live", live_window, now.plus(HOUR)).await,
        2,
        "a live rate counter stays"
    );

    let message = |id: MessageId| async move {
        store
            .outbox_message(&id)
            .await
            .expect("read an outbox message")
    };
    assert_eq!(
        message(outbox.sent.clone()).await,
        None,
        "a message sent more than a week ago is purged"
    );
    assert!(
        message(outbox.pending.clone()).await.is_some(),
        "a pending message stays"
    );
    assert!(
        message(outbox.dead.clone()).await.is_some(),
        "a dead message stays for operators"
    );
    assert_eq!(
        store.methods_for(ALICE).await.expect("read methods").len(),
        1,
        "registered methods never expire"
    );
}
