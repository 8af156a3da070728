//! A small migration runner: plain SQL files embedded in the binary, applied in order at
//! connect, each in its own transaction, with the applied versions kept in `schema_migrations`.

use latchkey_core::clock::{Clock, SystemClock};
use latchkey_store::{StoreError, StoreResult};
use sqlx::{Row, SqliteConnection, SqlitePool};

use crate::codec::backend;

/// The migrations this build knows, by version, oldest first.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/0001_init.sql"))];

/// The schema version this build creates and expects.
pub const SCHEMA_VERSION: i64 = 1;

const _: () = assert!(MIGRATIONS[MIGRATIONS.len() - 1].0 == SCHEMA_VERSION);

/// Creates the bookkeeping table, refuses a database from a newer build and applies what is
/// missing.
pub(crate) async fn run(pool: &SqlitePool) -> StoreResult<()> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER NOT NULL PRIMARY KEY,
            applied_at INTEGER NOT NULL
        )",
    )
    .execute(pool)
    .await
    .map_err(backend)?;

    for &(version, sql) in MIGRATIONS {
        // IMMEDIATE takes the write lock up front, so two processes starting together apply
        // each migration once: the second one waits, then sees it applied.
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let current = current_version(&mut tx).await?;
        if current >= version {
            continue;
        }
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Backend(format!("migration {version} failed: {e}")))?;
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
            .bind(version)
            .bind(SystemClock.now().as_millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        tracing::info!(version, "applied database migration");
    }
    Ok(())
}

/// The newest applied version, after checking that this build knows it.
async fn current_version(conn: &mut SqliteConnection) -> StoreResult<i64> {
    let current: i64 =
        sqlx::query("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
            .fetch_one(&mut *conn)
            .await
            .and_then(|row| row.try_get("version"))
            .map_err(backend)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "the database schema is at version {current}, but this build of Latchkey knows \
             versions up to {SCHEMA_VERSION}; run a newer Latchkey or use another database"
        )));
    }
    Ok(current)
}

/// The newest applied version.
pub(crate) async fn applied_version(pool: &SqlitePool) -> StoreResult<i64> {
    let mut conn = pool.acquire().await.map_err(backend)?;
    current_version(&mut conn).await
}
