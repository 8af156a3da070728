//! A tiny migration runner: the SQL files are compiled in, applied in order inside one
//! transaction, and recorded in `schema_migrations`. sqlx's own migrator needs the `migrate`
//! feature and its macros; this needs neither.

use latchkey_core::clock::Timestamp;
use sqlx::SqlitePool;

use crate::EmbeddedError;

/// One schema change.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, oldest first; versions only ever grow.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "users",
    sql: include_str!("../migrations/0001_users.sql"),
}];

/// The newest schema version this build knows.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Brings the database up to [`latest_version`], or refuses one written by a newer build.
pub(crate) async fn run(pool: &SqlitePool, now: Timestamp) -> Result<(), EmbeddedError> {
    // IMMEDIATE takes the write lock up front, so two processes opening the same file at once
    // migrate one after the other instead of both seeing version 0.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        ) STRICT",
    )
    .execute(&mut *tx)
    .await?;
    let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(&mut *tx)
        .await?;
    let current = current.unwrap_or(0);
    let supported = latest_version();
    if current > supported {
        return Err(EmbeddedError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        sqlx::raw_sql(m.sql)
            .execute(&mut *tx)
            .await
            .map_err(|source| EmbeddedError::Migration {
                version: m.version,
                source,
            })?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied embedded directory migration"
        );
    }
    tx.commit().await?;
    Ok(())
}
