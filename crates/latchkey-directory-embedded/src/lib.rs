//! The embedded directory: users and their argon2id password hashes in SQLite, for organisations
//! without LDAP or Active Directory and for the demo. It behaves like a small directory (lockout
//! after failed binds, must-change, maximum password age, a minimum length of its own) so the
//! service treats it exactly like the others, through [`Directory`].
//!
//! Users are provisioned through inherent admin methods ([`EmbeddedDirectory::upsert_user`] and
//! friends), not through the trait: the service never creates users, it only resets passwords.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod migrate;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::clock::{Clock, Timestamp};
use latchkey_core::hash::{HashError, PasswordHasher};
use latchkey_core::policy::Rule;
use latchkey_core::random::Random;
use latchkey_core::secret::SecretString;
use latchkey_core::user::{UserId, UserIdKind};
use latchkey_directory::{
    AccountState, BindOutcome, Directory, DirectoryError, DirectoryResult, DirectoryRules,
    DirectoryUser, ResetOptions,
};
use sqlx::Row as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use tracing::{info, instrument, warn};

/// What can go wrong opening or administering the embedded directory.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// The database could not be opened, read or written.
    #[error("embedded directory database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed; its transaction was rolled back, so the schema is as it was.
    #[error("embedded directory migration {version} failed: {source}")]
    Migration {
        /// The version that failed.
        version: i64,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },
    /// The database was written by a newer Latchkey; this build refuses to touch it.
    #[error(
        "the embedded directory database has schema version {found}, this build knows up to {supported}"
    )]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A field of a user to provision is not acceptable.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// Another user already has this account name.
    #[error("another user already has this account name")]
    Conflict,
    /// The password is shorter than the directory's own minimum.
    #[error("the password must have at least {min} characters")]
    PasswordTooShort {
        /// The minimum, in characters.
        min: usize,
    },
    /// No user has that key.
    #[error("user not found in the embedded directory")]
    NotFound,
    /// A password could not be hashed, or a stored hash could not be read.
    #[error("password hashing failed: {0}")]
    Hash(#[from] HashError),
    /// The blocking task that hashes passwords was cancelled or panicked.
    #[error("password hashing task failed: {0}")]
    Task(String),
}

impl From<EmbeddedError> for DirectoryError {
    fn from(e: EmbeddedError) -> Self {
        match e {
            EmbeddedError::Database(e) => sqlx_to_directory(e),
            EmbeddedError::NotFound => DirectoryError::NotFound,
            EmbeddedError::PasswordTooShort { min } => {
                DirectoryError::Rejected(vec![Rule::TooShort { min }])
            }
            other => DirectoryError::Backend(other.to_string()),
        }
    }
}

/// Busy, locked, closed or unreachable databases are "try again later"; the rest is a fault.
fn sqlx_to_directory(e: sqlx::Error) -> DirectoryError {
    let busy = match &e {
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), including their extended codes.
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6)),
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_) => true,
        _ => false,
    };
    if busy {
        DirectoryError::Unavailable(e.to_string())
    } else {
        DirectoryError::Backend(e.to_string())
    }
}

/// How the embedded directory behaves.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// The argon2id cost for new hashes (stored hashes keep their own cost).
    pub hasher: PasswordHasher,
    /// Failed binds that lock an account; 0 never locks.
    pub lockout_threshold: u32,
    /// How long a lockout lasts; `None` lasts until an administrator or a reset unlocks it.
    pub lockout_duration: Option<Duration>,
    /// After this long a password must be changed (binds answer `ValidMustChange`); `None` never.
    pub max_password_age: Option<Duration>,
    /// The directory's own minimum length in characters, below the service's policy.
    pub min_length: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            hasher: PasswordHasher::recommended(),
            lockout_threshold: 5,
            lockout_duration: Some(Duration::from_secs(30 * 60)),
            max_password_age: None,
            min_length: 8,
        }
    }
}

/// A user to create or update with [`EmbeddedDirectory::upsert_user`].
#[derive(Clone)]
pub struct NewUser {
    /// The sign-in name, a UPN like `alice@contoso.com` (or a bare uid); identifies the user
    /// for upserts.
    pub login: String,
    /// The account name (`alice`), unique in the directory; `CONTOSO\alice` finds it.
    pub account_name: String,
    /// The name people see.
    pub display_name: String,
    /// Given name, if known.
    pub given_name: Option<String>,
    /// Surname, if known.
    pub surname: Option<String>,
    /// The primary email address, if any.
    pub email: Option<String>,
    /// Group names.
    pub groups: Vec<String>,
    /// The initial password; at least the directory's minimum length.
    pub password: SecretString,
    /// Whether the user must change the password at next sign-in.
    pub must_change: bool,
}

impl fmt::Debug for NewUser {
    // Like `DirectoryUser`: contact data stays out of debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("login", &self.login)
            .field("must_change", &self.must_change)
            .finish_non_exhaustive()
    }
}

/// Users and argon2id hashes in SQLite, behind [`Directory`].
#[derive(Debug)]
pub struct EmbeddedDirectory {
    pool: SqlitePool,
    options: EmbeddedOptions,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Random>,
}

/// One row of `users`, as the methods need it.
struct UserRow {
    key: String,
    login: String,
    account_name: String,
    display_name: String,
    given_name: Option<String>,
    surname: Option<String>,
    email: Option<String>,
    password_hash: String,
    password_changed_at: i64,
    must_change: bool,
    disabled: bool,
    bad_password_count: i64,
    locked_at: Option<i64>,
}

const USER_COLUMNS: &str = "user_key, login, account_name, display_name, given_name, surname, \
     email, password_hash, password_changed_at, must_change, disabled, bad_password_count, locked_at";

/// Whether a lock is in force, in SQL, with `?3` = now and `?4` = the lockout duration in
/// milliseconds (NULL: until unlocked). Must agree with [`EmbeddedDirectory::lock_active`].
const LOCK_ACTIVE_SQL: &str = "(locked_at IS NOT NULL AND (?4 IS NULL OR locked_at + ?4 > ?3))";

impl UserRow {
    fn from_row(row: &SqliteRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            key: row.try_get("user_key")?,
            login: row.try_get("login")?,
            account_name: row.try_get("account_name")?,
            display_name: row.try_get("display_name")?,
            given_name: row.try_get("given_name")?,
            surname: row.try_get("surname")?,
            email: row.try_get("email")?,
            password_hash: row.try_get("password_hash")?,
            password_changed_at: row.try_get("password_changed_at")?,
            must_change: row.try_get("must_change")?,
            disabled: row.try_get("disabled")?,
            bad_password_count: row.try_get("bad_password_count")?,
            locked_at: row.try_get("locked_at")?,
        })
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Normalises a name the way [`UserId`] normalises what people type, so that a stored name and
/// a typed one compare equal exactly when `UserId` says they do; refuses forms not in `kinds`.
fn normalise(
    field: &'static str,
    raw: &str,
    kinds: &[UserIdKind],
    expected: &str,
) -> Result<String, EmbeddedError> {
    let id = UserId::parse(raw).map_err(|e| EmbeddedError::InvalidField {
        field,
        reason: e.to_string(),
    })?;
    if !kinds.contains(&id.kind()) {
        return Err(EmbeddedError::InvalidField {
            field,
            reason: format!("expected {expected}"),
        });
    }
    Ok(id.as_str().to_owned())
}

fn optional_text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl EmbeddedDirectory {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/to/file.db` or
    /// `sqlite::memory:`) and brings its schema up to date.
    pub async fn open(
        url: &str,
        options: EmbeddedOptions,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Random>,
    ) -> Result<Self, EmbeddedError> {
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = if in_memory {
            // An in-memory database lives as long as its connection, and a second connection
            // would see another, empty database: one connection, never recycled.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(connect)
                .await?
        } else {
            // WAL lets binds read while an administrator writes; NORMAL sync is safe with WAL.
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(
                    connect
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal),
                )
                .await?
        };
        migrate::run(&pool, clock.now()).await?;
        Ok(Self {
            pool,
            options,
            clock,
            rng,
        })
    }

    /// Closes the database's connections, checkpointing the WAL; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The options the directory was opened with.
    pub fn options(&self) -> &EmbeddedOptions {
        &self.options
    }

    /// Creates a user, or updates the user with the same login (case-insensitive): names,
    /// groups, password and must-change are replaced; the key, lockout and disabled flag stay.
    /// Returns the user's key.
    #[instrument(skip_all, fields(login = %user.login))]
    pub async fn upsert_user(&self, user: NewUser) -> Result<String, EmbeddedError> {
        let login_norm = normalise(
            "login",
            &user.login,
            &[UserIdKind::Principal, UserIdKind::Account],
            "a user principal name like alice@contoso.com or an account name",
        )?;
        let account_norm = normalise(
            "account_name",
            &user.account_name,
            &[UserIdKind::Account],
            "an account name without @ or \\",
        )?;
        let email = optional_text(user.email.as_deref());
        let email_norm = email
            .as_deref()
            .map(|e| {
                normalise(
                    "email",
                    e,
                    &[UserIdKind::Principal],
                    "an address like alice@contoso.com",
                )
            })
            .transpose()?;
        let login = user.login.trim().to_owned();
        let account_name = user.account_name.trim().to_owned();
        // A directory entry always has a name to show; the account name is the honest fallback.
        let display_name = optional_text(Some(&user.display_name)).unwrap_or(account_name.clone());
        let given_name = optional_text(user.given_name.as_deref());
        let surname = optional_text(user.surname.as_deref());
        let mut groups: Vec<String> = Vec::new();
        for g in &user.groups {
            let g = g.trim();
            // Group membership is compared case-insensitively (`DirectoryUser::in_group`).
            if !g.is_empty() && !groups.iter().any(|x| x.eq_ignore_ascii_case(g)) {
                groups.push(g.to_owned());
            }
        }
        if self.too_short(&user.password) {
            return Err(EmbeddedError::PasswordTooShort {
                min: self.options.min_length,
            });
        }
        let hash = self.hash(&user.password).await?;
        let now = self.clock.now().as_millis();

        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT user_key FROM users WHERE login_norm = ?1")
                .bind(&login_norm)
                .fetch_optional(&mut *tx)
                .await?;
        let created = existing.is_none();
        let key = existing.unwrap_or_else(|| self.new_key());
        let sql = if created {
            "INSERT INTO users (user_key, login, login_norm, account_name, account_norm, \
             display_name, given_name, surname, email, email_norm, password_hash, \
             password_changed_at, must_change, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?12, ?12)"
        } else {
            "UPDATE users SET login = ?2, login_norm = ?3, account_name = ?4, account_norm = ?5, \
             display_name = ?6, given_name = ?7, surname = ?8, email = ?9, email_norm = ?10, \
             password_hash = ?11, password_changed_at = ?12, must_change = ?13, updated_at = ?12 \
             WHERE user_key = ?1"
        };
        sqlx::query(sql)
            .bind(&key)
            .bind(&login)
            .bind(&login_norm)
            .bind(&account_name)
            .bind(&account_norm)
            .bind(&display_name)
            .bind(&given_name)
            .bind(&surname)
            .bind(&email)
            .bind(&email_norm)
            .bind(&hash)
            .bind(now)
            .bind(user.must_change)
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => EmbeddedError::Conflict,
                _ => EmbeddedError::Database(e),
            })?;
        sqlx::query("DELETE FROM user_groups WHERE user_key = ?1")
            .bind(&key)
            .execute(&mut *tx)
            .await?;
        for g in &groups {
            sqlx::query("INSERT INTO user_groups (user_key, group_name) VALUES (?1, ?2)")
                .bind(&key)
                .bind(g)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        info!(key = %key, created, "provisioned embedded directory user");
        Ok(key)
    }

    /// Every user, ordered by login.
    pub async fn list_users(&self) -> Result<Vec<DirectoryUser>, EmbeddedError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY login_norm"
        ))
        .fetch_all(&self.pool)
        .await?;
        let memberships =
            sqlx::query("SELECT user_key, group_name FROM user_groups ORDER BY group_name")
                .fetch_all(&self.pool)
                .await?;
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for m in &memberships {
            groups
                .entry(m.try_get("user_key")?)
                .or_default()
                .push(m.try_get("group_name")?);
        }
        let now = self.clock.now();
        rows.iter()
            .map(|r| {
                let row = UserRow::from_row(r)?;
                let g = groups.remove(&row.key).unwrap_or_default();
                Ok(self.to_user(row, g, now))
            })
            .collect()
    }

    /// Disables or enables an account; a disabled account cannot bind or change its password.
    #[instrument(skip(self))]
    pub async fn set_disabled(&self, key: &str, disabled: bool) -> Result<(), EmbeddedError> {
        let done =
            sqlx::query("UPDATE users SET disabled = ?2, updated_at = ?3 WHERE user_key = ?1")
                .bind(key)
                .bind(disabled)
                .bind(self.clock.now().as_millis())
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(EmbeddedError::NotFound);
        }
        info!(disabled, "changed embedded directory account state");
        Ok(())
    }

    /// Deletes a user and their group memberships.
    #[instrument(skip(self))]
    pub async fn delete_user(&self, key: &str) -> Result<(), EmbeddedError> {
        let done = sqlx::query("DELETE FROM users WHERE user_key = ?1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(EmbeddedError::NotFound);
        }
        info!("deleted embedded directory user");
        Ok(())
    }

    /// A fresh key: 128 random bits in hex. Not a row number, so keys reveal neither how many
    /// users there are nor in which order they came, and survive a dump and reload.
    fn new_key(&self) -> String {
        let bytes = self.rng.array::<16>();
        let mut key = String::with_capacity(32);
        for b in bytes {
            // Writing to a String cannot fail.
            let _ = write!(key, "{b:02x}");
        }
        key
    }

    fn too_short(&self, password: &SecretString) -> bool {
        password.expose().chars().count() < self.options.min_length
    }

    /// Hashes off the async runtime: argon2id at the recommended cost takes tens of
    /// milliseconds of CPU, which would stall every other request on the worker.
    async fn hash(&self, password: &SecretString) -> Result<String, EmbeddedError> {
        let hasher = self.options.hasher.clone();
        let rng = Arc::clone(&self.rng);
        let password = password.clone();
        let phc = tokio::task::spawn_blocking(move || hasher.hash(rng.as_ref(), &password))
            .await
            .map_err(|e| EmbeddedError::Task(e.to_string()))??;
        Ok(phc)
    }

    /// Checks a password against a stored hash, off the async runtime like [`Self::hash`].
    async fn check(&self, password: &SecretString, phc: &str) -> Result<bool, EmbeddedError> {
        let hasher = self.options.hasher.clone();
        let password = password.clone();
        let phc = phc.to_owned();
        let ok = tokio::task::spawn_blocking(move || hasher.verify(&password, &phc))
            .await
            .map_err(|e| EmbeddedError::Task(e.to_string()))??;
        Ok(ok)
    }

    async fn load(&self, key: &str) -> Result<Option<UserRow>, EmbeddedError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE user_key = ?1"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(UserRow::from_row).transpose()?)
    }

    async fn groups_of(&self, key: &str) -> Result<Vec<String>, EmbeddedError> {
        let groups = sqlx::query_scalar(
            "SELECT group_name FROM user_groups WHERE user_key = ?1 ORDER BY group_name",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        Ok(groups)
    }

    fn lockout_millis(&self) -> Option<i64> {
        self.options.lockout_duration.map(millis)
    }

    /// Whether a lock set at `locked_at` is still in force at `now`; a lock older than the
    /// lockout duration has expired, as in Active Directory. Must agree with [`LOCK_ACTIVE_SQL`].
    fn lock_active(&self, locked_at: Option<i64>, now: Timestamp) -> bool {
        match (locked_at, self.options.lockout_duration) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(at), Some(d)) => Timestamp::from_millis(at).plus(d) > now,
        }
    }

    fn expires_at(&self, row: &UserRow) -> Option<Timestamp> {
        self.options
            .max_password_age
            .map(|age| Timestamp::from_millis(row.password_changed_at).plus(age))
    }

    /// Must-change by flag or by age.
    fn must_change(&self, row: &UserRow, now: Timestamp) -> bool {
        row.must_change || self.expires_at(row).is_some_and(|at| now >= at)
    }

    fn to_user(&self, row: UserRow, groups: Vec<String>, now: Timestamp) -> DirectoryUser {
        let state = AccountState {
            locked: self.lock_active(row.locked_at, now),
            disabled: row.disabled,
            must_change: self.must_change(&row, now),
            password_changed_at: Some(Timestamp::from_millis(row.password_changed_at)),
            password_expires_at: self.expires_at(&row),
        };
        DirectoryUser {
            key: row.key,
            login: row.login,
            account_name: row.account_name,
            display_name: row.display_name,
            given_name: row.given_name,
            surname: row.surname,
            email: row.email,
            // People register their numbers with Latchkey; the embedded directory keeps none.
            mobile: None,
            office_phone: None,
            groups,
            state,
        }
    }

    /// Counts a failed bind, locking at the threshold. One statement, so concurrent wrong
    /// guesses cannot both read the same count; a lock that has expired restarts the count.
    /// Returns `None` when a lock is in force (set by a concurrent bind), else whether this
    /// failure locked the account.
    async fn record_failure(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<bool>, EmbeddedError> {
        let sql = format!(
            "UPDATE users SET \
               bad_password_count = CASE WHEN locked_at IS NULL THEN bad_password_count + 1 ELSE 1 END, \
               locked_at = CASE WHEN ?2 > 0 AND \
                 (CASE WHEN locked_at IS NULL THEN bad_password_count + 1 ELSE 1 END) >= ?2 \
                 THEN ?3 ELSE NULL END \
             WHERE user_key = ?1 AND NOT {LOCK_ACTIVE_SQL} \
             RETURNING bad_password_count, locked_at"
        );
        let row = sqlx::query(&sql)
            .bind(key)
            .bind(i64::from(self.options.lockout_threshold))
            .bind(now.as_millis())
            .bind(self.lockout_millis())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let count: i64 = row.try_get("bad_password_count")?;
        let locked_at: Option<i64> = row.try_get("locked_at")?;
        if locked_at.is_some() {
            info!(
                key,
                failed_binds = count,
                "locked embedded directory account"
            );
        }
        Ok(Some(locked_at.is_some()))
    }

    /// Clears the failure count after a right password, unless a concurrent bind locked the
    /// account meanwhile; returns whether it was cleared (or had nothing to clear).
    async fn record_success(&self, row: &UserRow, now: Timestamp) -> Result<bool, EmbeddedError> {
        if row.bad_password_count == 0 && row.locked_at.is_none() {
            // Most binds are right first time; they need no write.
            return Ok(true);
        }
        let done = sqlx::query(&format!(
            "UPDATE users SET bad_password_count = 0, locked_at = NULL \
             WHERE user_key = ?1 AND NOT {LOCK_ACTIVE_SQL}"
        ))
        .bind(&row.key)
        .bind(Option::<i64>::None) // ?2 is unused; numbered parameters keep the fragment shared.
        .bind(now.as_millis())
        .bind(self.lockout_millis())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Why a conditional write changed nothing: the user is gone, locked, or changed meanwhile.
    async fn lost_race(&self, key: &str, now: Timestamp) -> DirectoryError {
        match self.load(key).await {
            Ok(None) => DirectoryError::NotFound,
            Ok(Some(row)) if self.lock_active(row.locked_at, now) => DirectoryError::Locked,
            Ok(Some(_)) => DirectoryError::InvalidCredentials,
            Err(e) => e.into(),
        }
    }
}

#[async_trait]
impl Directory for EmbeddedDirectory {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    /// The service keeps the history: this directory only refuses the current password.
    fn keeps_history(&self) -> bool {
        false
    }

    async fn ping(&self) -> DirectoryResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(sqlx_to_directory)?;
        Ok(())
    }

    /// Matches case-insensitively: a principal name on login, then email; a down-level name on
    /// the account name (the domain part is not checked: there is one domain); an account name
    /// on the account name, then login. Several users for the same id finds nobody rather than
    /// guessing.
    #[instrument(skip_all, fields(id = %id))]
    async fn find_user(&self, id: &UserId) -> DirectoryResult<Option<DirectoryUser>> {
        let (sql, value) = match id.kind() {
            UserIdKind::Principal => (
                "SELECT user_key, CASE WHEN login_norm = ?1 THEN 0 ELSE 1 END AS rank \
                 FROM users WHERE login_norm = ?1 OR email_norm = ?1 ORDER BY rank LIMIT 3",
                id.as_str(),
            ),
            UserIdKind::DownLevel => (
                "SELECT user_key, 0 AS rank FROM users WHERE account_norm = ?1 LIMIT 3",
                id.account_name(),
            ),
            UserIdKind::Account => (
                "SELECT user_key, CASE WHEN account_norm = ?1 THEN 0 ELSE 1 END AS rank \
                 FROM users WHERE account_norm = ?1 OR login_norm = ?1 ORDER BY rank LIMIT 3",
                id.as_str(),
            ),
        };
        let hits = sqlx::query(sql)
            .bind(value)
            .fetch_all(&self.pool)
            .await
            .map_err(sqlx_to_directory)?;
        let mut ranked = Vec::with_capacity(hits.len());
        for h in &hits {
            let key: String = h.try_get("user_key").map_err(sqlx_to_directory)?;
            let rank: i64 = h.try_get("rank").map_err(sqlx_to_directory)?;
            ranked.push((rank, key));
        }
        let Some(best) = ranked.first().map(|(rank, _)| *rank) else {
            return Ok(None);
        };
        let mut best_keys = ranked.iter().filter(|(rank, _)| *rank == best);
        let (Some((_, key)), None) = (best_keys.next(), best_keys.next()) else {
            warn!("identifier matches several embedded directory users; finding nobody");
            return Ok(None);
        };
        let Some(row) = self.load(key).await? else {
            // Deleted between the two reads.
            return Ok(None);
        };
        let groups = self.groups_of(key).await?;
        Ok(Some(self.to_user(row, groups, self.clock.now())))
    }

    #[instrument(skip_all, fields(key = %key))]
    async fn verify_password(
        &self,
        key: &str,
        password: &SecretString,
    ) -> DirectoryResult<BindOutcome> {
        let row = self.load(key).await?.ok_or(DirectoryError::NotFound)?;
        if row.disabled {
            return Ok(BindOutcome::Disabled);
        }
        let now = self.clock.now();
        // A locked account is not even checked, so guessing on cannot learn anything and does
        // not extend the count.
        if self.lock_active(row.locked_at, now) {
            return Ok(BindOutcome::Locked);
        }
        if !self.check(password, &row.password_hash).await? {
            return Ok(match self.record_failure(key, now).await? {
                None => BindOutcome::Locked,
                Some(_) => BindOutcome::Invalid,
            });
        }
        if !self.record_success(&row, now).await? {
            return Ok(BindOutcome::Locked);
        }
        Ok(if self.must_change(&row, now) {
            BindOutcome::ValidMustChange
        } else {
            BindOutcome::Valid
        })
    }

    #[instrument(skip_all, fields(key = %key, unlock = options.unlock, must_change = options.must_change))]
    async fn set_password(
        &self,
        key: &str,
        new_password: &SecretString,
        options: ResetOptions,
    ) -> DirectoryResult<()> {
        // Looked up first so an unknown key costs no hash.
        if self.load(key).await?.is_none() {
            return Err(DirectoryError::NotFound);
        }
        if self.too_short(new_password) {
            return Err(DirectoryError::Rejected(vec![Rule::TooShort {
                min: self.options.min_length,
            }]));
        }
        let hash = self.hash(new_password).await?;
        let sql = if options.unlock {
            "UPDATE users SET password_hash = ?2, password_changed_at = ?3, must_change = ?4, \
             bad_password_count = 0, locked_at = NULL WHERE user_key = ?1"
        } else {
            "UPDATE users SET password_hash = ?2, password_changed_at = ?3, must_change = ?4 \
             WHERE user_key = ?1"
        };
        let done = sqlx::query(sql)
            .bind(key)
            .bind(&hash)
            .bind(self.clock.now().as_millis())
            .bind(options.must_change)
            .execute(&self.pool)
            .await
            .map_err(sqlx_to_directory)?;
        if done.rows_affected() == 0 {
            return Err(DirectoryError::NotFound);
        }
        info!("reset embedded directory password");
        Ok(())
    }

    #[instrument(skip_all, fields(key = %key))]
    async fn change_password(
        &self,
        key: &str,
        old_password: &SecretString,
        new_password: &SecretString,
    ) -> DirectoryResult<()> {
        let row = self.load(key).await?.ok_or(DirectoryError::NotFound)?;
        if row.disabled {
            return Err(DirectoryError::Disabled);
        }
        let now = self.clock.now();
        if self.lock_active(row.locked_at, now) {
            return Err(DirectoryError::Locked);
        }
        // A change proves the old password the way a bind does, so a wrong one counts.
        if !self.check(old_password, &row.password_hash).await? {
            self.record_failure(key, now).await?;
            return Err(DirectoryError::InvalidCredentials);
        }
        let mut rules = Vec::new();
        if self.too_short(new_password) {
            rules.push(Rule::TooShort {
                min: self.options.min_length,
            });
        }
        // The old password was just proven to be the current one, so comparing with it is
        // comparing with the current password, without a second hash.
        if new_password.expose() == old_password.expose() {
            rules.push(Rule::InHistory { remembered: 1 });
        }
        if !rules.is_empty() {
            self.record_success(&row, now).await?;
            return Err(DirectoryError::Rejected(rules));
        }
        let hash = self.hash(new_password).await?;
        // Conditional on the hash just checked, so a concurrent reset or change is not
        // silently overwritten by someone who knew only the password before it.
        let done = sqlx::query(&format!(
            "UPDATE users SET password_hash = ?5, password_changed_at = ?3, must_change = 0, \
             bad_password_count = 0, locked_at = NULL \
             WHERE user_key = ?1 AND password_hash = ?2 AND NOT {LOCK_ACTIVE_SQL}"
        ))
        .bind(key)
        .bind(&row.password_hash)
        .bind(now.as_millis())
        .bind(self.lockout_millis())
        .bind(&hash)
        .execute(&self.pool)
        .await
        .map_err(sqlx_to_directory)?;
        if done.rows_affected() == 0 {
            return Err(self.lost_race(key, now).await);
        }
        info!("changed embedded directory password");
        Ok(())
    }

    #[instrument(skip_all, fields(key = %key))]
    async fn unlock(&self, key: &str) -> DirectoryResult<()> {
        let done = sqlx::query(
            "UPDATE users SET bad_password_count = 0, locked_at = NULL WHERE user_key = ?1",
        )
        .bind(key)
        .execute(&self.pool)
        .await
        .map_err(sqlx_to_directory)?;
        if done.rows_affected() == 0 {
            return Err(DirectoryError::NotFound);
        }
        info!("unlocked embedded directory account");
        Ok(())
    }

    async fn password_rules(&self, _user: &DirectoryUser) -> DirectoryResult<DirectoryRules> {
        let o = &self.options;
        Ok(DirectoryRules {
            min_length: (o.min_length > 0).then_some(o.min_length),
            history: None,
            max_age: o.max_password_age,
            complexity: false,
            lockout_threshold: (o.lockout_threshold > 0).then_some(o.lockout_threshold),
        })
    }
}
