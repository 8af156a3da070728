//! The shared store story on SQLite, and what only SQLite needs checking: reopening a file,
//! schema versions, and atomicity under concurrent callers.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use latchkey_core::clock::Timestamp;
use latchkey_core::flow::{Flow, Intent, Subject};
use latchkey_core::ids::{FlowId, MessageId};
use latchkey_core::random::SeededRandom;
use latchkey_store::{OutboxMessage, OutboxState, Store, StoreError};
use latchkey_store_sqlite::{SCHEMA_VERSION, SqliteStore};
use sqlx::Row;

const BASE: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A fresh database file in its own temporary directory, removed when the guard drops.
async fn file_store() -> (tempfile::TempDir, String, SqliteStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = url(&dir.path().join("latchkey.db"));
    let store = SqliteStore::connect(&url)
        .await
        .expect("open a new database file");
    (dir, url, store)
}

/// The `schema_migrations` rows, read behind the store's back.
async fn migrations(url: &str) -> Vec<(i64, i64)> {
    let pool = sqlx::SqlitePool::connect(url)
        .await
        .expect("open the file directly");
    let rows = sqlx::query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
        .fetch_all(&pool)
        .await
        .expect("read schema_migrations");
    pool.close().await;
    rows.iter()
        .map(|r| (r.get("version"), r.get("applied_at")))
        .collect()
}

#[tokio::test]
async fn story_on_a_file() {
    let (_dir, _url, store) = file_store().await;
    latchkey_store::story::run(&store).await;
}

#[tokio::test]
async fn story_in_memory() {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("open a memory database");
    latchkey_store::story::run(&store).await;
}

#[tokio::test]
async fn reopening_keeps_data_and_does_not_migrate_again() {
    let (_dir, url, store) = file_store().await;
    let flow = Flow::start(
        FlowId::generate(&SeededRandom::new(1)),
        Intent::Unlock,
        Subject::Decoy {
            user_id: "mallory".into(),
        },
        Vec::new(),
        1,
        BASE,
        Duration::from_secs(900),
    );
    store.insert_flow(&flow).await.expect("insert a flow");
    store.close().await;
    let applied = migrations(&url).await;
    assert_eq!(
        applied.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        (1..=SCHEMA_VERSION).collect::<Vec<_>>(),
        "every migration is recorded once"
    );

    let reopened = SqliteStore::connect(&url).await.expect("reopen the file");
    assert_eq!(
        reopened.flow(&flow.id).await.expect("read the flow"),
        Some(flow),
        "data survives reopening"
    );
    assert_eq!(
        reopened.schema_version().await.expect("schema version"),
        SCHEMA_VERSION
    );
    reopened.close().await;
    assert_eq!(
        migrations(&url).await,
        applied,
        "reopening applies nothing again"
    );
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let (_dir, url, store) = file_store().await;
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open the file directly");
    sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)")
        .execute(&pool)
        .await
        .expect("pretend a newer build migrated this database");
    pool.close().await;

    match SqliteStore::connect(&url).await {
        Err(StoreError::Backend(message)) => {
            assert!(
                message.contains("999"),
                "the error names the version: {message}"
            );
            assert!(
                message.contains(&SCHEMA_VERSION.to_string()),
                "the error names the known version: {message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_backend_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = url(&dir.path().join("missing-dir").join("latchkey.db"));
    assert!(matches!(
        SqliteStore::connect(&url).await,
        Err(StoreError::Backend(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_hits_each_get_their_own_count() {
    let (_dir, _url, store) = file_store().await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .hit(
                        "verify:user:alice",
                        BASE,
                        BASE.plus(Duration::from_secs(60)),
                    )
                    .await
            })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.expect("task ran").expect("hit counted"));
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<u32>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_share_a_message() {
    let (_dir, _url, store) = file_store().await;
    let rng = SeededRandom::new(2);
    let mut queued = BTreeSet::new();
    for i in 0..60 {
        let message = OutboxMessage {
            id: MessageId::generate(&rng),
            channel: "email".into(),
            payload_sealed: vec![1, 2, 3],
            created_at: BASE.plus(Duration::from_millis(i)),
            next_attempt_at: BASE,
            attempts: 0,
            last_error: None,
            state: OutboxState::Pending,
        };
        store.enqueue(&message).await.expect("enqueue");
        queued.insert(message.id);
    }

    let claimer = |store: SqliteStore| {
        tokio::spawn(async move {
            let mut claimed = Vec::new();
            loop {
                let batch = store
                    .claim_due(
                        BASE.plus(Duration::from_secs(1)),
                        Duration::from_secs(60),
                        4,
                    )
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    return claimed;
                }
                claimed.extend(batch.into_iter().map(|m| m.id));
                tokio::task::yield_now().await;
            }
        })
    };
    let first = claimer(store.clone());
    let second = claimer(store.clone());
    let first = first.await.expect("first claimer ran");
    let second = second.await.expect("second claimer ran");

    let mut seen = BTreeSet::new();
    for id in first.iter().chain(&second) {
        assert!(seen.insert(id.clone()), "{id} was claimed twice");
    }
    assert_eq!(seen, queued, "every message was claimed exactly once");
}
