//! The directory trait: where users and their passwords live. The embedded directory, LDAP and
//! Active Directory implement [`Directory`]; the service sees only the trait, so its shape is the
//! directory's (find, bind, reset, change, unlock, read the policy), not any database's.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::policy::Rule;
use latchkey_core::secret::SecretString;
use latchkey_core::user::UserId;

pub mod story;

/// What can go wrong talking to a directory.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// No user has that key (deleted since it was found).
    #[error("user not found in the directory")]
    NotFound,
    /// The old password given for a change is wrong.
    #[error("the current password is wrong")]
    InvalidCredentials,
    /// The account is locked; the directory refuses binds and changes.
    #[error("the account is locked")]
    Locked,
    /// The account is disabled.
    #[error("the account is disabled")]
    Disabled,
    /// The directory refused the new password; every rule it named is listed.
    #[error("the directory refused the new password")]
    Rejected(Vec<Rule>),
    /// The directory could not be reached or timed out; nothing was changed.
    #[error("the directory is unavailable: {0}")]
    Unavailable(String),
    /// Anything else the directory answered.
    #[error("directory error: {0}")]
    Backend(String),
}

/// Shorthand for directory results.
pub type DirectoryResult<T> = Result<T, DirectoryError>;

/// The state of an account, as far as password reset cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountState {
    /// Locked out after failed sign-ins.
    pub locked: bool,
    /// Disabled by an administrator.
    pub disabled: bool,
    /// Must change the password at next sign-in.
    pub must_change: bool,
    /// When the password was last set.
    pub password_changed_at: Option<Timestamp>,
    /// When the password expires, if it does.
    pub password_expires_at: Option<Timestamp>,
}

/// A user as the directory knows them.
#[derive(Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The directory's stable key (a DN, an objectGUID, a row id); what other records refer to.
    pub key: String,
    /// The sign-in name (UPN or uid).
    pub login: String,
    /// The account name (sAMAccountName, uid).
    pub account_name: String,
    /// The name people see.
    pub display_name: String,
    /// Given name, if known.
    pub given_name: Option<String>,
    /// Surname, if known.
    pub surname: Option<String>,
    /// The primary email address (where confirmations go), if any.
    pub email: Option<String>,
    /// The mobile number the directory holds (`mobile`), if any.
    pub mobile: Option<String>,
    /// The office number the directory holds (`telephoneNumber`), if any.
    pub office_phone: Option<String>,
    /// Group names, for policy scoping (who may use self-service, who is an administrator).
    pub groups: Vec<String>,
    /// The account's state.
    pub state: AccountState,
}

impl fmt::Debug for DirectoryUser {
    // Contact data stays out of debug output; the key and login are enough to follow a trace.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryUser")
            .field("key", &self.key)
            .field("login", &self.login)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl DirectoryUser {
    /// The values that make up the user's names, for the policy's name check.
    pub fn name_values(&self) -> Vec<&str> {
        let mut v = vec![
            self.login.as_str(),
            self.account_name.as_str(),
            self.display_name.as_str(),
        ];
        v.extend(self.given_name.as_deref());
        v.extend(self.surname.as_deref());
        v.extend(self.email.as_deref());
        v
    }

    /// Whether the user is in `group` (case-insensitive).
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g.eq_ignore_ascii_case(group))
    }
}

/// How a password check (a bind) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindOutcome {
    /// The password is right.
    Valid,
    /// The password is right but must be changed now (must-change or expired); a change may
    /// proceed, a sign-in may not.
    ValidMustChange,
    /// The password is wrong.
    Invalid,
    /// The account is locked; whether the password was right is not known.
    Locked,
    /// The account is disabled.
    Disabled,
}

/// The password rules the directory itself enforces for a user, so the wizard can show the real
/// ones; `None` where the directory does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryRules {
    /// Minimum length.
    pub min_length: Option<usize>,
    /// Previous passwords the directory remembers (and refuses).
    pub history: Option<u32>,
    /// Maximum password age.
    pub max_age: Option<Duration>,
    /// Whether the directory demands three of four character classes (AD complexity).
    pub complexity: bool,
    /// Failed binds before lockout.
    pub lockout_threshold: Option<u32>,
}

/// Options for an administrative reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResetOptions {
    /// Also clear a lockout.
    pub unlock: bool,
    /// Make the user change the password at next sign-in.
    pub must_change: bool,
}

/// A directory of users and passwords.
#[async_trait]
pub trait Directory: Send + Sync + fmt::Debug {
    /// A short name for logs and `/readyz`: `embedded`, `ldap`, `ad`.
    fn kind(&self) -> &'static str;

    /// Whether the directory remembers and refuses previous passwords itself. Where it does not,
    /// the service keeps the history.
    fn keeps_history(&self) -> bool;

    /// Checks that the directory answers.
    async fn ping(&self) -> DirectoryResult<()>;

    /// Finds a user by any identifier form (UPN, email, down-level name, account name).
    async fn find_user(&self, id: &UserId) -> DirectoryResult<Option<DirectoryUser>>;

    /// Checks a password, as a sign-in would; a wrong password counts towards lockout.
    async fn verify_password(
        &self,
        key: &str,
        password: &SecretString,
    ) -> DirectoryResult<BindOutcome>;

    /// Sets a new password as an administrator would (after the user proved who they are).
    async fn set_password(
        &self,
        key: &str,
        new_password: &SecretString,
        options: ResetOptions,
    ) -> DirectoryResult<()>;

    /// Changes the password as the user: the old one must be right, and the directory applies
    /// its own history and quality checks.
    async fn change_password(
        &self,
        key: &str,
        old_password: &SecretString,
        new_password: &SecretString,
    ) -> DirectoryResult<()>;

    /// Clears a lockout, keeping the password.
    async fn unlock(&self, key: &str) -> DirectoryResult<()>;

    /// The rules the directory enforces for this user.
    async fn password_rules(&self, user: &DirectoryUser) -> DirectoryResult<DirectoryRules>;
}
