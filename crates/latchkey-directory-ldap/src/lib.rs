//! The LDAP directory: OpenLDAP and other RFC 3062 directories with the ppolicy overlay behind
//! the [`Directory`] trait. Searches and administrative resets run as a service account over a
//! small pool of kept connections; password checks and changes bind as the user on a fresh connection, so the
//! directory applies its own lockout, history and quality rules to the user.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod ad;
mod conn;
pub mod escape;
pub mod ppolicy;
mod service;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "testing")]
pub mod testing_ad;
mod time;

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::clock::Clock;
use latchkey_core::secret::SecretString;
use latchkey_core::user::{UserId, UserIdKind};
use latchkey_directory::{
    AccountState, BindOutcome, Directory, DirectoryError, DirectoryResult, DirectoryRules,
    DirectoryUser, ResetOptions,
};
use ldap3::exop::PasswordModify;
use ldap3::{Ldap, LdapResult, Mod, Scope, SearchEntry};
use tracing::{instrument, warn};

use crate::service::{Lease, ServiceConnection};

use crate::ppolicy::PolicyError;

pub use ad::{AdDirectory, ad_settings};
pub use conn::ConnectError;

/// OpenLDAP's value of `pwdAccountLockedTime` for an account an administrator locked for good
/// (slapo-ppolicy): we report it as disabled rather than locked, because unlocking is not ours.
const LOCKED_FOREVER: &str = "000001010000Z";

/// LDAP result codes we act on (RFC 4511 appendix A).
mod rc {
    pub const CONSTRAINT_VIOLATION: u32 = 19;
    pub const NO_SUCH_OBJECT: u32 = 32;
    pub const INVALID_CREDENTIALS: u32 = 49;
    pub const UNWILLING_TO_PERFORM: u32 = 53;
}

/// Where and how to reach the directory.
#[derive(Clone)]
pub struct LdapSettings {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS.
    pub starttls: bool,
    /// The service account that searches and resets.
    pub bind_dn: String,
    /// Its password.
    pub bind_password: SecretString,
    /// Where users live; keys outside it are refused.
    pub base_dn: String,
    /// Attributes a typed user id is matched against.
    pub user_attributes: Vec<String>,
    /// The filter every user entry matches, ANDed with the id match.
    pub user_filter: String,
    /// The attribute that holds the sign-in name.
    pub login_attribute: String,
    /// PEM file with the CA certificates that sign the directory's certificate; the system's
    /// roots when absent.
    pub ca_file: Option<PathBuf>,
    /// The default password policy entry, for users without `pwdPolicySubentry`; when absent the
    /// single `pwdPolicy` entry under the base DN is used, if there is exactly one.
    pub default_policy_dn: Option<String>,
    /// Service-account connections kept open (at least one).
    pub pool_size: usize,
    /// Connecting, including TLS.
    pub connect_timeout: Duration,
    /// Each operation.
    pub operation_timeout: Duration,
}

impl LdapSettings {
    /// Settings with the defaults for everything but where to connect and as whom.
    pub fn new(
        url: impl Into<String>,
        bind_dn: impl Into<String>,
        bind_password: SecretString,
        base_dn: impl Into<String>,
    ) -> Self {
        Self {
            url: url.into(),
            starttls: false,
            bind_dn: bind_dn.into(),
            bind_password,
            base_dn: base_dn.into(),
            user_attributes: vec!["uid".to_owned(), "mail".to_owned()],
            user_filter: "(objectClass=person)".to_owned(),
            login_attribute: "uid".to_owned(),
            ca_file: None,
            pool_size: 4,
            default_policy_dn: None,
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapSettings")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("bind_dn", &self.bind_dn)
            .field("base_dn", &self.base_dn)
            .field("user_attributes", &self.user_attributes)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

/// The attributes read for a user.
const USER_ATTRS: &[&str] = &[
    "uid",
    "cn",
    "displayName",
    "givenName",
    "sn",
    "mail",
    "mobile",
    "telephoneNumber",
    "memberOf",
    "pwdAccountLockedTime",
    "pwdReset",
    "pwdChangedTime",
    "pwdPolicySubentry",
    "pwdFailureTime",
];

/// A password policy entry, as far as we read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Policy {
    min_length: Option<usize>,
    history: Option<u32>,
    max_age: Option<Duration>,
    lockout_threshold: Option<u32>,
    lockout_duration: Option<Duration>,
}

/// An OpenLDAP (or other RFC 3062 + ppolicy) directory.
pub struct LdapDirectory {
    settings: LdapSettings,
    clock: Arc<dyn Clock>,
    /// The service account's pooled connections (and the connector for user binds).
    service: ServiceConnection,
    base_dn_lower: String,
}

impl fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Maps a transport-level ldap3 error.
fn unavailable(e: impl fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

fn first<'a>(e: &'a SearchEntry, attr: &str) -> Option<&'a str> {
    e.attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

fn all<'a>(e: &'a SearchEntry, attr: &str) -> &'a [String] {
    e.attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .map(|(_, v)| v.as_slice())
        .unwrap_or(&[])
}

fn has(e: &SearchEntry, attr: &str) -> bool {
    !all(e, attr).is_empty()
}

fn set(values: &[&str]) -> HashSet<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

/// The first RDN's value of a DN: `admins` for `cn=admins,ou=groups,dc=example,dc=org`.
fn rdn_value(dn: &str) -> String {
    let first = dn.split(',').next().unwrap_or(dn);
    first
        .split_once('=')
        .map_or(first, |(_, v)| v)
        .trim()
        .to_owned()
}

impl LdapDirectory {
    /// A directory with these settings; connects lazily. Fails only if the CA file is unreadable.
    pub fn new(settings: LdapSettings, clock: Arc<dyn Clock>) -> Result<Self, ConnectError> {
        let connector = conn::Connector::new(&settings)?;
        let base_dn_lower = settings.base_dn.to_ascii_lowercase();
        Ok(Self {
            service: ServiceConnection::new(connector, &settings),
            settings,
            clock,
            base_dn_lower,
        })
    }

    /// A pooled service connection, bound; reconnects when there is none or it closed.
    async fn service(&self) -> DirectoryResult<Lease> {
        self.service.get().await
    }

    /// Forgets a pooled connection after a transport error, so the next call reconnects.
    async fn drop_service(&self, lease: &Lease) {
        self.service.forget(lease).await;
    }

    /// A search as the service account, retried once on a fresh connection.
    async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> DirectoryResult<(Vec<SearchEntry>, LdapResult)> {
        self.service.search(base, scope, filter, attrs).await
    }

    /// Refuses keys outside the base DN, so a key can never point the service account elsewhere.
    fn check_key(&self, key: &str) -> DirectoryResult<()> {
        service::check_key(&self.base_dn_lower, key)
    }

    /// Reads the entry at `key` as the service account; `None` if there is none.
    async fn read_entry(&self, key: &str) -> DirectoryResult<Option<SearchEntry>> {
        self.check_key(key)?;
        let (mut entries, res) = self
            .search(key, Scope::Base, &self.settings.user_filter, USER_ATTRS)
            .await?;
        match res.rc {
            0 => Ok(entries.pop()),
            rc::NO_SUCH_OBJECT => Ok(None),
            rc => Err(DirectoryError::Backend(format!(
                "reading the user failed (rc {rc})"
            ))),
        }
    }

    /// The effective policy for an entry.
    async fn policy_for(&self, entry: &SearchEntry) -> DirectoryResult<Option<Policy>> {
        let dn = match first(entry, "pwdPolicySubentry") {
            Some(dn) => Some(dn.to_owned()),
            None => self.settings.default_policy_dn.clone(),
        };
        let attrs = [
            "pwdMinLength",
            "pwdInHistory",
            "pwdMaxAge",
            "pwdLockout",
            "pwdMaxFailure",
            "pwdLockoutDuration",
        ];
        let entries = match dn {
            Some(dn) => {
                let (entries, res) = self
                    .search(&dn, Scope::Base, "(objectClass=pwdPolicy)", &attrs)
                    .await?;
                if res.rc != 0 {
                    warn!(rc = res.rc, "the password policy entry could not be read");
                    return Ok(None);
                }
                entries
            }
            None => {
                let (entries, _) = self
                    .search(
                        &self.settings.base_dn,
                        Scope::Subtree,
                        "(objectClass=pwdPolicy)",
                        &attrs,
                    )
                    .await?;
                if entries.len() != 1 {
                    return Ok(None);
                }
                entries
            }
        };
        let Some(p) = entries.first() else {
            return Ok(None);
        };
        let num = |a: &str| first(p, a).and_then(|v| v.trim().parse::<u64>().ok());
        let lockout = first(p, "pwdLockout").is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
        Ok(Some(Policy {
            min_length: num("pwdMinLength").filter(|n| *n > 0).map(|n| n as usize),
            history: num("pwdInHistory")
                .filter(|n| *n > 0)
                .and_then(|n| u32::try_from(n).ok()),
            max_age: num("pwdMaxAge").filter(|n| *n > 0).map(Duration::from_secs),
            lockout_threshold: num("pwdMaxFailure")
                .filter(|n| lockout && *n > 0)
                .and_then(|n| u32::try_from(n).ok()),
            lockout_duration: num("pwdLockoutDuration")
                .filter(|n| *n > 0)
                .map(Duration::from_secs),
        }))
    }

    /// The account state of an entry under `policy`.
    fn state(&self, entry: &SearchEntry, policy: Option<&Policy>) -> AccountState {
        let now = self.clock.now();
        let locked_at = first(entry, "pwdAccountLockedTime");
        let disabled = locked_at == Some(LOCKED_FOREVER);
        let locked = !disabled
            && locked_at.is_some_and(|at| {
                match (
                    time::parse_generalized(at),
                    policy.and_then(|p| p.lockout_duration),
                ) {
                    (Some(at), Some(d)) => now < at.plus(d),
                    _ => true,
                }
            });
        let changed = first(entry, "pwdChangedTime").and_then(time::parse_generalized);
        AccountState {
            locked,
            disabled,
            must_change: first(entry, "pwdReset").is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
            password_changed_at: changed,
            password_expires_at: changed
                .zip(policy.and_then(|p| p.max_age))
                .map(|(c, d)| c.plus(d)),
        }
    }

    fn to_user(&self, entry: &SearchEntry, policy: Option<&Policy>) -> DirectoryUser {
        let login = first(entry, &self.settings.login_attribute)
            .or_else(|| first(entry, "uid"))
            .unwrap_or_default()
            .to_owned();
        DirectoryUser {
            key: entry.dn.clone(),
            account_name: first(entry, "uid").unwrap_or(&login).to_owned(),
            display_name: first(entry, "displayName")
                .or_else(|| first(entry, "cn"))
                .unwrap_or(&login)
                .to_owned(),
            given_name: first(entry, "givenName").map(str::to_owned),
            surname: first(entry, "sn").map(str::to_owned),
            email: first(entry, "mail").map(str::to_owned),
            mobile: first(entry, "mobile").map(str::to_owned),
            office_phone: first(entry, "telephoneNumber").map(str::to_owned),
            groups: all(entry, "memberOf")
                .iter()
                .map(|dn| rdn_value(dn))
                .collect(),
            state: self.state(entry, policy),
            login,
        }
    }

    /// A fresh connection bound as the user, with the ppolicy control; the bind's result.
    async fn user_bind(
        &self,
        dn: &str,
        password: &SecretString,
    ) -> DirectoryResult<(Ldap, LdapResult)> {
        let mut ldap = self
            .service
            .connector()
            .connect()
            .await
            .map_err(unavailable)?;
        let res = ldap
            .with_controls(ppolicy::request())
            .with_timeout(self.settings.operation_timeout)
            .simple_bind(dn, password.expose())
            .await
            .map_err(unavailable)?;
        Ok((ldap, res))
    }

    /// Runs the Password Modify operation on `ldap` with the ppolicy control.
    async fn password_modify(
        &self,
        ldap: &mut Ldap,
        user: Option<&str>,
        old: Option<&SecretString>,
        new: &SecretString,
    ) -> DirectoryResult<LdapResult> {
        let exop = PasswordModify {
            user_id: user,
            old_pass: old.map(SecretString::expose),
            new_pass: Some(new.expose()),
        };
        let res = ldap
            .with_controls(ppolicy::request())
            .with_timeout(self.settings.operation_timeout)
            .extended(exop)
            .await
            .map_err(unavailable)?;
        Ok(res.1)
    }

    /// Turns a refused password change into our error.
    async fn refused(&self, entry: &SearchEntry, res: &LdapResult) -> DirectoryError {
        let control = ppolicy::find(&res.ctrls).and_then(|c| c.error);
        match (res.rc, control) {
            (_, Some(PolicyError::AccountLocked)) => DirectoryError::Locked,
            (rc::CONSTRAINT_VIOLATION, _) => {
                let policy = self
                    .policy_for(entry)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                DirectoryError::Rejected(ppolicy::rules_for(
                    control,
                    &res.text,
                    policy.min_length,
                    policy.history,
                ))
            }
            (rc::INVALID_CREDENTIALS | rc::UNWILLING_TO_PERFORM, _) => {
                DirectoryError::InvalidCredentials
            }
            (rc::NO_SUCH_OBJECT, _) => DirectoryError::NotFound,
            (rc, _) => DirectoryError::Backend(format!("the password change failed (rc {rc})")),
        }
    }

    /// Sets or clears `pwdReset` and the lockout attributes as the service account, modifying
    /// only what is there (deleting an absent attribute fails the whole modify).
    async fn fix_flags(&self, key: &str, must_change: bool, unlock: bool) -> DirectoryResult<()> {
        let Some(entry) = self.read_entry(key).await? else {
            return Err(DirectoryError::NotFound);
        };
        let reset = first(&entry, "pwdReset").is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
        let mut mods: Vec<Mod<String>> = Vec::new();
        if must_change && !reset {
            mods.push(Mod::Replace("pwdReset".to_owned(), set(&["TRUE"])));
        }
        if !must_change && has(&entry, "pwdReset") {
            mods.push(Mod::Delete("pwdReset".to_owned(), HashSet::new()));
        }
        if unlock && has(&entry, "pwdAccountLockedTime") {
            mods.push(Mod::Delete(
                "pwdAccountLockedTime".to_owned(),
                HashSet::new(),
            ));
        }
        if mods.is_empty() {
            return Ok(());
        }
        let mut ldap = self.service().await?;
        let res = match ldap
            .with_timeout(self.settings.operation_timeout)
            .modify(key, mods)
            .await
        {
            Ok(res) => res,
            Err(e) => {
                self.drop_service(&ldap).await;
                return Err(unavailable(e));
            }
        };
        match res.rc {
            0 => Ok(()),
            rc::NO_SUCH_OBJECT => Err(DirectoryError::NotFound),
            rc => Err(DirectoryError::Backend(format!(
                "updating the account flags failed (rc {rc}: {})",
                res.text
            ))),
        }
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    fn kind(&self) -> &'static str {
        "ldap"
    }

    fn keeps_history(&self) -> bool {
        true
    }

    async fn ping(&self) -> DirectoryResult<()> {
        self.service.ping().await
    }

    #[instrument(skip(self), fields(kind = "ldap"))]
    async fn find_user(&self, id: &UserId) -> DirectoryResult<Option<DirectoryUser>> {
        let mut values = vec![id.as_str()];
        if id.kind() == UserIdKind::DownLevel {
            values.push(id.account_name());
        }
        let mut any = String::new();
        for attr in &self.settings.user_attributes {
            for v in &values {
                any.push_str(&format!("({attr}={})", escape::filter_value(v)));
            }
        }
        let filter = format!("(&{}(|{any}))", self.settings.user_filter);
        let (mut entries, res) = self
            .search(&self.settings.base_dn, Scope::Subtree, &filter, USER_ATTRS)
            .await?;
        if res.rc != 0 {
            return Err(DirectoryError::Backend(format!(
                "the user search failed (rc {})",
                res.rc
            )));
        }
        if entries.len() > 1 {
            // Two people answering to one id: refusing is safer than guessing whose password to
            // reset.
            warn!(
                matches = entries.len(),
                "a user id matched more than one entry"
            );
            return Err(DirectoryError::Backend(
                "the user id matches more than one directory entry".to_owned(),
            ));
        }
        let Some(entry) = entries.pop() else {
            return Ok(None);
        };
        let policy = self.policy_for(&entry).await?;
        Ok(Some(self.to_user(&entry, policy.as_ref())))
    }

    #[instrument(skip(self, password), fields(kind = "ldap"))]
    async fn verify_password(
        &self,
        key: &str,
        password: &SecretString,
    ) -> DirectoryResult<BindOutcome> {
        // An empty password would be an unauthenticated bind, which "succeeds" (RFC 4513 5.1.2).
        if password.is_empty() {
            return Ok(BindOutcome::Invalid);
        }
        self.check_key(key)?;
        let (mut ldap, res) = self.user_bind(key, password).await?;
        let _ = ldap.unbind().await;
        let control = ppolicy::find(&res.ctrls).and_then(|c| c.error);
        match (res.rc, control) {
            (0, Some(PolicyError::ChangeAfterReset | PolicyError::PasswordExpired)) => {
                Ok(BindOutcome::ValidMustChange)
            }
            (0, _) => {
                // Without pwdMustChange in the policy the server sends no changeAfterReset, but
                // the reset flag we set is still there to read.
                let entry = self.read_entry(key).await?;
                let policy = match &entry {
                    Some(e) => self.policy_for(e).await?,
                    None => None,
                };
                let state = entry
                    .map(|e| self.state(&e, policy.as_ref()))
                    .unwrap_or_default();
                let expired = state
                    .password_expires_at
                    .is_some_and(|at| at <= self.clock.now());
                Ok(if state.must_change || expired {
                    BindOutcome::ValidMustChange
                } else {
                    BindOutcome::Valid
                })
            }
            (rc::INVALID_CREDENTIALS, Some(PolicyError::AccountLocked)) => {
                let entry = self.read_entry(key).await?;
                let disabled = entry
                    .is_some_and(|e| first(&e, "pwdAccountLockedTime") == Some(LOCKED_FOREVER));
                Ok(if disabled {
                    BindOutcome::Disabled
                } else {
                    BindOutcome::Locked
                })
            }
            // ppolicy checks expiry only after the password matched.
            (rc::INVALID_CREDENTIALS, Some(PolicyError::PasswordExpired)) => {
                Ok(BindOutcome::ValidMustChange)
            }
            (rc::INVALID_CREDENTIALS, _) => Ok(BindOutcome::Invalid),
            (rc, _) => Err(DirectoryError::Backend(format!(
                "the bind failed (rc {rc})"
            ))),
        }
    }

    #[instrument(skip(self, new_password), fields(kind = "ldap"))]
    async fn set_password(
        &self,
        key: &str,
        new_password: &SecretString,
        options: ResetOptions,
    ) -> DirectoryResult<()> {
        let Some(entry) = self.read_entry(key).await? else {
            return Err(DirectoryError::NotFound);
        };
        let mut ldap = self.service().await?;
        let res = self
            .password_modify(&mut ldap, Some(key), None, new_password)
            .await;
        let res = match res {
            Ok(res) => res,
            Err(e) => {
                self.drop_service(&ldap).await;
                return Err(e);
            }
        };
        if res.rc != 0 {
            return Err(self.refused(&entry, &res).await);
        }
        self.fix_flags(key, options.must_change, options.unlock)
            .await
    }

    #[instrument(skip(self, old_password, new_password), fields(kind = "ldap"))]
    async fn change_password(
        &self,
        key: &str,
        old_password: &SecretString,
        new_password: &SecretString,
    ) -> DirectoryResult<()> {
        let Some(entry) = self.read_entry(key).await? else {
            return Err(DirectoryError::NotFound);
        };
        if old_password.is_empty() {
            return Err(DirectoryError::InvalidCredentials);
        }
        let (mut ldap, bind) = self.user_bind(key, old_password).await?;
        let control = ppolicy::find(&bind.ctrls).and_then(|c| c.error);
        let res = match (bind.rc, control) {
            (0, _) => {
                let res = self
                    .password_modify(&mut ldap, None, Some(old_password), new_password)
                    .await;
                let _ = ldap.unbind().await;
                res?
            }
            // The old password is right but expired, so the user cannot bind: the service
            // account sends the change, still with the old password, which the server checks.
            (rc::INVALID_CREDENTIALS, Some(PolicyError::PasswordExpired)) => {
                let _ = ldap.unbind().await;
                let mut service = self.service().await?;
                match self
                    .password_modify(&mut service, Some(key), Some(old_password), new_password)
                    .await
                {
                    Ok(res) => res,
                    Err(e) => {
                        self.drop_service(&service).await;
                        return Err(e);
                    }
                }
            }
            (rc::INVALID_CREDENTIALS, Some(PolicyError::AccountLocked)) => {
                let _ = ldap.unbind().await;
                return Err(
                    if first(&entry, "pwdAccountLockedTime") == Some(LOCKED_FOREVER) {
                        DirectoryError::Disabled
                    } else {
                        DirectoryError::Locked
                    },
                );
            }
            (rc::INVALID_CREDENTIALS, _) => return Err(DirectoryError::InvalidCredentials),
            (rc, _) => {
                return Err(DirectoryError::Backend(format!(
                    "the bind failed (rc {rc})"
                )));
            }
        };
        if res.rc != 0 {
            return Err(self.refused(&entry, &res).await);
        }
        // The user changed it: must-change is done, whether or not the server cleared the flag.
        self.fix_flags(key, false, false).await
    }

    #[instrument(skip(self), fields(kind = "ldap"))]
    async fn unlock(&self, key: &str) -> DirectoryResult<()> {
        let Some(entry) = self.read_entry(key).await? else {
            return Err(DirectoryError::NotFound);
        };
        let must_change = first(&entry, "pwdReset").is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
        self.fix_flags(key, must_change, true).await
    }

    #[instrument(skip(self), fields(kind = "ldap"))]
    async fn password_rules(&self, user: &DirectoryUser) -> DirectoryResult<DirectoryRules> {
        let Some(entry) = self.read_entry(&user.key).await? else {
            return Err(DirectoryError::NotFound);
        };
        let policy = self.policy_for(&entry).await?.unwrap_or_default();
        Ok(DirectoryRules {
            min_length: policy.min_length,
            history: policy.history,
            max_age: policy.max_age,
            complexity: false,
            lockout_threshold: policy.lockout_threshold,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_core::clock::SystemClock;

    fn dir() -> LdapDirectory {
        let s = LdapSettings::new(
            "ldap://127.0.0.1:1",
            "cn=svc,dc=example,dc=org",
            SecretString::new("x"),
            "dc=example,dc=org",
        );
        LdapDirectory::new(s, Arc::new(SystemClock)).unwrap()
    }

    #[test]
    fn keys_outside_the_base_are_refused() {
        let d = dir();
        assert!(d.check_key("uid=a,ou=people,dc=example,dc=org").is_ok());
        assert!(d.check_key("UID=a,OU=people,DC=Example,DC=org").is_ok());
        for bad in [
            "dc=example,dc=org",
            "cn=admin,dc=evil,dc=org",
            "uid=a,dc=notexample,dc=org",
            "uid=a,ou=people,dc=example,dc=org,dc=x",
            "",
        ] {
            assert!(
                matches!(d.check_key(bad), Err(DirectoryError::NotFound)),
                "{bad}"
            );
        }
    }

    #[test]
    fn group_names_come_from_the_first_rdn() {
        assert_eq!(rdn_value("cn=admins,ou=groups,dc=example,dc=org"), "admins");
        assert_eq!(rdn_value("plain"), "plain");
    }

    #[tokio::test]
    async fn an_unreachable_directory_is_unavailable() {
        let d = dir();
        let id = UserId::parse("alice").unwrap();
        assert!(matches!(
            d.find_user(&id).await,
            Err(DirectoryError::Unavailable(_))
        ));
        assert!(matches!(
            d.ping().await,
            Err(DirectoryError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn an_empty_password_never_binds() {
        let d = dir();
        let got = d
            .verify_password("uid=a,dc=example,dc=org", &SecretString::new(""))
            .await
            .unwrap();
        assert_eq!(got, BindOutcome::Invalid);
    }
}
