//! Active Directory (and Samba's AD DC) behind the [`Directory`] trait. Passwords live in
//! `unicodePwd`, written as the quoted password in UTF-16LE, which AD accepts only over an
//! encrypted connection: LDAPS or StartTLS, never plain `ldap://`. Searches, resets and unlocks
//! run as the service account over a small pool of kept connections; checks and changes bind as the user on a
//! fresh connection, so AD applies its own lockout, history, complexity and minimum age.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::clock::{Clock, Timestamp};
use latchkey_core::policy::Rule;
use latchkey_core::secret::SecretString;
use latchkey_core::user::{UserId, UserIdKind};
use latchkey_directory::{
    AccountState, BindOutcome, Directory, DirectoryError, DirectoryResult, DirectoryRules,
    DirectoryUser, ResetOptions,
};
use ldap3::{Ldap, LdapResult, Mod, Scope, SearchEntry};
use tracing::{instrument, warn};

use crate::service::{self, Lease, ServiceConnection};
use crate::{ConnectError, LdapSettings, conn, escape, first, rc, rdn_value, unavailable};

/// `userAccountControl`: the account is disabled.
const UAC_DISABLED: u64 = 0x2;
/// `msDS-User-Account-Control-Computed`: locked out.
const UAC_LOCKOUT: u64 = 0x10;
/// `msDS-User-Account-Control-Computed`: the password expired (or must be changed).
const UAC_PASSWORD_EXPIRED: u64 = 0x80_0000;
/// `pwdProperties`: complexity is required.
const DOMAIN_PASSWORD_COMPLEX: u64 = 0x1;
/// LDAP "insufficient access rights".
const INSUFFICIENT_ACCESS: u32 = 50;

/// The plain sentence for AD's complexity rule.
pub const COMPLEXITY_MESSAGE: &str = "The password must contain characters from three of these \
     four groups: upper-case letters, lower-case letters, digits and symbols, and must not \
     contain the account name.";

/// The attributes read for a user.
const USER_ATTRS: &[&str] = &[
    "sAMAccountName",
    "userPrincipalName",
    "cn",
    "displayName",
    "givenName",
    "sn",
    "mail",
    "mobile",
    "telephoneNumber",
    "memberOf",
    "userAccountControl",
    "msDS-User-Account-Control-Computed",
    "pwdLastSet",
    "msDS-UserPasswordExpiryTimeComputed",
    "msDS-ResultantPSO",
];

/// Settings with Active Directory's defaults: users found by sAMAccountName, userPrincipalName
/// or mail among `user` objects, signed in by UPN. Use an `ldaps://` URL or set `starttls`.
pub fn ad_settings(
    url: impl Into<String>,
    bind_dn: impl Into<String>,
    bind_password: SecretString,
    base_dn: impl Into<String>,
) -> LdapSettings {
    let mut s = LdapSettings::new(url, bind_dn, bind_password, base_dn);
    s.user_attributes = vec![
        "sAMAccountName".to_owned(),
        "userPrincipalName".to_owned(),
        "mail".to_owned(),
    ];
    s.user_filter = "(&(objectCategory=person)(objectClass=user))".to_owned();
    s.login_attribute = "userPrincipalName".to_owned();
    s
}

/// The quoted password as UTF-16LE, the only form `unicodePwd` takes.
pub fn unicode_pwd(password: &str) -> Vec<u8> {
    let quoted = format!("\"{password}\"");
    quoted.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// 100-ns intervals between 1601-01-01 and 1970-01-01.
const FILETIME_UNIX_EPOCH: i64 = 116_444_736_000_000_000;

/// A FILETIME (100-ns intervals since 1601) as a timestamp; `None` for 0 ("never set" or "must
/// change") and for the largest value ("never").
pub fn filetime(value: i64) -> Option<Timestamp> {
    if value <= 0 || value == i64::MAX {
        return None;
    }
    Some(Timestamp::from_millis(
        (value - FILETIME_UNIX_EPOCH).div_euclid(10_000),
    ))
}

/// A policy interval (AD stores them as negative 100-ns counts) as a duration; `None` for zero
/// and for "never" (the smallest value).
pub fn interval(value: i64) -> Option<Duration> {
    if value == 0 || value == i64::MIN {
        return None;
    }
    let hundreds = value.unsigned_abs();
    Some(Duration::from_millis(hundreds / 10_000))
}

/// The `data` code of an AD bind error (`… AcceptSecurityContext error, data 52e, v1db1`).
pub fn bind_data_code(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let rest = &lower[lower.find("data ")? + 5..];
    let code: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (!code.is_empty()).then_some(code)
}

/// What a bind's `data` code means; `None` for a successful bind's text or an unknown code.
pub fn bind_outcome(code: &str) -> Option<BindOutcome> {
    Some(match code {
        "52e" => BindOutcome::Invalid,
        "775" => BindOutcome::Locked,
        "773" | "532" => BindOutcome::ValidMustChange,
        "533" | "701" => BindOutcome::Disabled,
        _ => return None,
    })
}

/// How AD refused a password write, from the result code and diagnostic message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteRefusal {
    /// The old password given for a change is wrong (`00000056`).
    WrongOld,
    /// The new password breaks the policy (`0000052D`); the rules it names.
    Rejected(Vec<Rule>),
    /// Anything else.
    Other,
}

/// Maps AD's refusal of a password write to our rules. `min_length` and `history` are the
/// effective policy's, for when the message does not carry them (Windows names no rule at all).
pub fn classify_refusal(
    code: u32,
    text: &str,
    min_length: Option<usize>,
    history: Option<u32>,
) -> WriteRefusal {
    let upper = text.to_ascii_uppercase();
    if upper.contains("00000056") {
        return WriteRefusal::WrongOld;
    }
    if code != rc::CONSTRAINT_VIOLATION && !upper.contains("0000052D") {
        return WriteRefusal::Other;
    }
    let lower = text.to_ascii_lowercase();
    let mut rules = Vec::new();
    if lower.contains("too short") {
        let stated = lower
            .split("longer than ")
            .nth(1)
            .and_then(|r| {
                r.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse().ok())
            })
            .or(min_length);
        rules.push(Rule::TooShort {
            min: stated.unwrap_or(0),
        });
    }
    if lower.contains("complexity") {
        rules.push(Rule::Directory {
            code: "directory_complexity",
            message: COMPLEXITY_MESSAGE.to_owned(),
        });
    }
    if lower.contains("already used") || lower.contains("history") {
        rules.push(Rule::InHistory {
            remembered: history.unwrap_or(1),
        });
    }
    if lower.contains("too young") {
        rules.push(Rule::Directory {
            code: "directory_min_age",
            message: "The password was changed too recently to be changed again yet.".to_owned(),
        });
    }
    if rules.is_empty() {
        rules.push(Rule::Directory {
            code: "directory_policy",
            message: "The password does not meet the domain's length, complexity or history \
                      requirements."
                .to_owned(),
        });
    }
    WriteRefusal::Rejected(rules)
}

/// The effective password policy: the domain's, or the user's resultant fine-grained one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct AdPolicy {
    min_length: Option<usize>,
    history: Option<u32>,
    max_age: Option<Duration>,
    complexity: bool,
    lockout_threshold: Option<u32>,
}

fn num(e: &SearchEntry, attr: &str) -> Option<i64> {
    first(e, attr).and_then(|v| v.trim().parse::<i64>().ok())
}

/// An Active Directory domain (or Samba AD DC).
pub struct AdDirectory {
    settings: LdapSettings,
    clock: Arc<dyn Clock>,
    /// The service account's pooled connections (and the connector for user binds).
    service: ServiceConnection,
    base_dn_lower: String,
}

impl fmt::Debug for AdDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdDirectory")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AdDirectory {
    /// A directory with these settings (see [`ad_settings`]); connects lazily. Refuses a plain
    /// `ldap://` URL without StartTLS, and fails if the CA file is unreadable.
    pub fn new(settings: LdapSettings, clock: Arc<dyn Clock>) -> Result<Self, ConnectError> {
        let connector = conn::Connector::new(&settings)?;
        if !connector.encrypted() {
            return Err(ConnectError::NotEncrypted(settings.url.clone()));
        }
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

    /// A modify as the service account; a transport error drops that pooled connection.
    async fn service_modify(
        &self,
        dn: &str,
        mods: Vec<Mod<Vec<u8>>>,
    ) -> DirectoryResult<LdapResult> {
        let mut ldap = self.service().await?;
        match ldap
            .with_timeout(self.settings.operation_timeout)
            .modify(dn, mods)
            .await
        {
            Ok(res) => Ok(res),
            Err(e) => {
                self.drop_service(&ldap).await;
                Err(unavailable(e))
            }
        }
    }

    /// Refuses keys outside the base DN, so a key can never point the service account elsewhere.
    fn check_key(&self, key: &str) -> DirectoryResult<()> {
        service::check_key(&self.base_dn_lower, key)
    }

    /// Reads the user at `key` (a base search, where AD computes the constructed attributes).
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

    /// The domain's policy, overridden by the user's resultant PSO if one applies.
    async fn policy_for(&self, entry: &SearchEntry) -> DirectoryResult<AdPolicy> {
        if let Some(pso) = first(entry, "msDS-ResultantPSO") {
            let attrs = [
                "msDS-MinimumPasswordLength",
                "msDS-PasswordHistoryLength",
                "msDS-MaximumPasswordAge",
                "msDS-PasswordComplexityEnabled",
                "msDS-LockoutThreshold",
            ];
            let (entries, res) = self
                .search(pso, Scope::Base, "(objectClass=*)", &attrs)
                .await?;
            if let (0, Some(p)) = (res.rc, entries.first()) {
                return Ok(AdPolicy {
                    min_length: num(p, "msDS-MinimumPasswordLength")
                        .filter(|n| *n > 0)
                        .map(|n| n as usize),
                    history: num(p, "msDS-PasswordHistoryLength")
                        .filter(|n| *n > 0)
                        .and_then(|n| u32::try_from(n).ok()),
                    max_age: num(p, "msDS-MaximumPasswordAge").and_then(interval),
                    complexity: first(p, "msDS-PasswordComplexityEnabled")
                        .is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
                    lockout_threshold: num(p, "msDS-LockoutThreshold")
                        .filter(|n| *n > 0)
                        .and_then(|n| u32::try_from(n).ok()),
                });
            }
            warn!(
                rc = res.rc,
                "the resultant password settings could not be read"
            );
        }
        let attrs = [
            "minPwdLength",
            "pwdHistoryLength",
            "maxPwdAge",
            "pwdProperties",
            "lockoutThreshold",
        ];
        let (entries, res) = self
            .search(
                &self.settings.base_dn,
                Scope::Base,
                "(objectClass=*)",
                &attrs,
            )
            .await?;
        let Some(d) = entries.first().filter(|_| res.rc == 0) else {
            warn!(
                rc = res.rc,
                "the domain's password policy could not be read"
            );
            return Ok(AdPolicy::default());
        };
        Ok(AdPolicy {
            min_length: num(d, "minPwdLength")
                .filter(|n| *n > 0)
                .map(|n| n as usize),
            history: num(d, "pwdHistoryLength")
                .filter(|n| *n > 0)
                .and_then(|n| u32::try_from(n).ok()),
            max_age: num(d, "maxPwdAge").and_then(interval),
            complexity: num(d, "pwdProperties")
                .is_some_and(|p| p as u64 & DOMAIN_PASSWORD_COMPLEX != 0),
            lockout_threshold: num(d, "lockoutThreshold")
                .filter(|n| *n > 0)
                .and_then(|n| u32::try_from(n).ok()),
        })
    }

    fn state(&self, entry: &SearchEntry) -> AccountState {
        let uac = num(entry, "userAccountControl").unwrap_or(0) as u64;
        let computed = num(entry, "msDS-User-Account-Control-Computed").unwrap_or(0) as u64;
        let pwd_last_set = num(entry, "pwdLastSet");
        let expires = num(entry, "msDS-UserPasswordExpiryTimeComputed").and_then(filetime);
        let expired = expires.is_some_and(|at| at <= self.clock.now());
        AccountState {
            locked: computed & UAC_LOCKOUT != 0,
            disabled: uac & UAC_DISABLED != 0,
            must_change: pwd_last_set == Some(0) || computed & UAC_PASSWORD_EXPIRED != 0 || expired,
            password_changed_at: pwd_last_set.and_then(filetime),
            password_expires_at: expires,
        }
    }

    fn to_user(&self, entry: &SearchEntry) -> DirectoryUser {
        let account = first(entry, "sAMAccountName")
            .unwrap_or_default()
            .to_owned();
        let login = first(entry, "userPrincipalName")
            .unwrap_or(&account)
            .to_owned();
        DirectoryUser {
            key: entry.dn.clone(),
            display_name: first(entry, "displayName")
                .or_else(|| first(entry, "cn"))
                .unwrap_or(&account)
                .to_owned(),
            given_name: first(entry, "givenName").map(str::to_owned),
            surname: first(entry, "sn").map(str::to_owned),
            email: first(entry, "mail").map(str::to_owned),
            mobile: first(entry, "mobile").map(str::to_owned),
            office_phone: first(entry, "telephoneNumber").map(str::to_owned),
            groups: crate::all(entry, "memberOf")
                .iter()
                .map(|dn| rdn_value(dn))
                .collect(),
            state: self.state(entry),
            account_name: account,
            login,
        }
    }

    /// A fresh connection bound as the user; the bind's result.
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
            .with_timeout(self.settings.operation_timeout)
            .simple_bind(dn, password.expose())
            .await
            .map_err(unavailable)?;
        Ok((ldap, res))
    }

    /// Turns a refused password write into our error.
    async fn refused(&self, entry: &SearchEntry, res: &LdapResult) -> DirectoryError {
        match res.rc {
            rc::NO_SUCH_OBJECT => return DirectoryError::NotFound,
            INSUFFICIENT_ACCESS => {
                return DirectoryError::Backend(format!(
                    "the directory denied the password write (rc 50: {})",
                    res.text
                ));
            }
            _ => {}
        }
        let policy = self.policy_for(entry).await.unwrap_or_default();
        match classify_refusal(res.rc, &res.text, policy.min_length, policy.history) {
            WriteRefusal::WrongOld => DirectoryError::InvalidCredentials,
            WriteRefusal::Rejected(rules) => DirectoryError::Rejected(rules),
            WriteRefusal::Other => DirectoryError::Backend(format!(
                "the password write failed (rc {}: {})",
                res.rc, res.text
            )),
        }
    }

    /// The Delete old + Add new modify that makes a change (AD checks the old one, history and
    /// minimum age).
    fn change_mods(old: &SecretString, new: &SecretString) -> Vec<Mod<Vec<u8>>> {
        let attr = b"unicodePwd".to_vec();
        vec![
            Mod::Delete(attr.clone(), HashSet::from([unicode_pwd(old.expose())])),
            Mod::Add(attr, HashSet::from([unicode_pwd(new.expose())])),
        ]
    }
}

fn replace(attr: &str, value: &str) -> Mod<Vec<u8>> {
    Mod::Replace(
        attr.as_bytes().to_vec(),
        HashSet::from([value.as_bytes().to_vec()]),
    )
}

#[async_trait]
impl Directory for AdDirectory {
    fn kind(&self) -> &'static str {
        "ad"
    }

    fn keeps_history(&self) -> bool {
        // AD applies its history to changes only: an administrative `unicodePwd` replace skips
        // it (the policy-hints control that would apply it is Windows-only; Samba answers rc
        // 12). So the service keeps its own history for resets.
        false
    }

    async fn ping(&self) -> DirectoryResult<()> {
        self.service.ping().await
    }

    #[instrument(skip(self), fields(kind = "ad"))]
    async fn find_user(&self, id: &UserId) -> DirectoryResult<Option<DirectoryUser>> {
        let mut any = String::new();
        if id.kind() == UserIdKind::DownLevel {
            // DOMAIN\name: the name is the sAMAccountName.
            any.push_str(&format!(
                "(sAMAccountName={})",
                escape::filter_value(id.account_name())
            ));
        } else {
            for attr in &self.settings.user_attributes {
                any.push_str(&format!("({attr}={})", escape::filter_value(id.as_str())));
            }
        }
        let filter = format!("(&{}(|{any}))", self.settings.user_filter);
        let (entries, res) = self
            .search(&self.settings.base_dn, Scope::Subtree, &filter, &["1.1"])
            .await?;
        if res.rc != 0 {
            return Err(DirectoryError::Backend(format!(
                "the user search failed (rc {})",
                res.rc
            )));
        }
        if entries.len() > 1 {
            warn!(
                matches = entries.len(),
                "a user id matched more than one entry"
            );
            return Err(DirectoryError::Backend(
                "the user id matches more than one directory entry".to_owned(),
            ));
        }
        let Some(hit) = entries.first() else {
            return Ok(None);
        };
        Ok(self.read_entry(&hit.dn).await?.map(|e| self.to_user(&e)))
    }

    #[instrument(skip(self, password), fields(kind = "ad"))]
    async fn verify_password(
        &self,
        key: &str,
        password: &SecretString,
    ) -> DirectoryResult<BindOutcome> {
        // An empty password would be an unauthenticated bind, which "succeeds".
        if password.is_empty() {
            return Ok(BindOutcome::Invalid);
        }
        self.check_key(key)?;
        let (mut ldap, res) = self.user_bind(key, password).await?;
        let _ = ldap.unbind().await;
        match res.rc {
            0 => Ok(BindOutcome::Valid),
            rc::INVALID_CREDENTIALS => Ok(bind_data_code(&res.text)
                .and_then(|c| bind_outcome(&c))
                .unwrap_or(BindOutcome::Invalid)),
            rc => Err(DirectoryError::Backend(format!(
                "the bind failed (rc {rc})"
            ))),
        }
    }

    #[instrument(skip(self, new_password), fields(kind = "ad"))]
    async fn set_password(
        &self,
        key: &str,
        new_password: &SecretString,
        options: ResetOptions,
    ) -> DirectoryResult<()> {
        let Some(entry) = self.read_entry(key).await? else {
            return Err(DirectoryError::NotFound);
        };
        let pwd = Mod::Replace(
            b"unicodePwd".to_vec(),
            HashSet::from([unicode_pwd(new_password.expose())]),
        );
        let res = self.service_modify(key, vec![pwd]).await?;
        if res.rc != 0 {
            return Err(self.refused(&entry, &res).await);
        }
        // A reset sets pwdLastSet to now, which is what "no must-change" means; the flags go in a
        // second modify so the password write cannot override them.
        let mut mods = Vec::new();
        if options.unlock {
            mods.push(replace("lockoutTime", "0"));
        }
        if options.must_change {
            mods.push(replace("pwdLastSet", "0"));
        }
        if mods.is_empty() {
            return Ok(());
        }
        let res = self.service_modify(key, mods).await?;
        match res.rc {
            0 => Ok(()),
            rc::NO_SUCH_OBJECT => Err(DirectoryError::NotFound),
            rc => Err(DirectoryError::Backend(format!(
                "updating the account flags failed (rc {rc}: {})",
                res.text
            ))),
        }
    }

    #[instrument(skip(self, old_password, new_password), fields(kind = "ad"))]
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
        let mods = Self::change_mods(old_password, new_password);
        let (mut ldap, bind) = self.user_bind(key, old_password).await?;
        let res = match bind.rc {
            0 => {
                let res = ldap
                    .with_timeout(self.settings.operation_timeout)
                    .modify(key, mods)
                    .await
                    .map_err(unavailable);
                let _ = ldap.unbind().await;
                res?
            }
            rc::INVALID_CREDENTIALS => {
                let _ = ldap.unbind().await;
                match bind_data_code(&bind.text).and_then(|c| bind_outcome(&c)) {
                    // The old password is right, but must-change (773) or expiry (532) keeps the
                    // user from binding: the service account sends the same Delete + Add, which
                    // AD still checks against the old password.
                    Some(BindOutcome::ValidMustChange) => self.service_modify(key, mods).await?,
                    Some(BindOutcome::Locked) => return Err(DirectoryError::Locked),
                    Some(BindOutcome::Disabled) => return Err(DirectoryError::Disabled),
                    _ => return Err(DirectoryError::InvalidCredentials),
                }
            }
            rc => {
                let _ = ldap.unbind().await;
                return Err(DirectoryError::Backend(format!(
                    "the bind failed (rc {rc})"
                )));
            }
        };
        if res.rc != 0 {
            return Err(self.refused(&entry, &res).await);
        }
        Ok(())
    }

    #[instrument(skip(self), fields(kind = "ad"))]
    async fn unlock(&self, key: &str) -> DirectoryResult<()> {
        self.check_key(key)?;
        let res = self
            .service_modify(key, vec![replace("lockoutTime", "0")])
            .await?;
        match res.rc {
            0 => Ok(()),
            rc::NO_SUCH_OBJECT => Err(DirectoryError::NotFound),
            rc => Err(DirectoryError::Backend(format!(
                "unlocking failed (rc {rc}: {})",
                res.text
            ))),
        }
    }

    #[instrument(skip(self), fields(kind = "ad"))]
    async fn password_rules(&self, user: &DirectoryUser) -> DirectoryResult<DirectoryRules> {
        let Some(entry) = self.read_entry(&user.key).await? else {
            return Err(DirectoryError::NotFound);
        };
        let p = self.policy_for(&entry).await?;
        Ok(DirectoryRules {
            min_length: p.min_length,
            history: p.history,
            max_age: p.max_age,
            complexity: p.complexity,
            lockout_threshold: p.lockout_threshold,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_core::clock::SystemClock;

    #[test]
    fn unicode_pwd_is_quoted_utf16le() {
        assert_eq!(unicode_pwd("ab"), vec![b'"', 0, b'a', 0, b'b', 0, b'"', 0]);
        assert_eq!(unicode_pwd(""), vec![b'"', 0, b'"', 0]);
        // A character outside the BMP becomes a surrogate pair; é is one code unit.
        assert_eq!(
            unicode_pwd("é😀"),
            vec![b'"', 0, 0xe9, 0x00, 0x3d, 0xd8, 0x00, 0xde, b'"', 0]
        );
    }

    #[test]
    fn filetimes_convert() {
        assert_eq!(filetime(0), None);
        assert_eq!(filetime(i64::MAX), None);
        assert_eq!(filetime(-1), None);
        assert_eq!(
            filetime(FILETIME_UNIX_EPOCH).map(Timestamp::as_millis),
            Some(0)
        );
        // 2026-12-04 17:41:45.123 UTC.
        assert_eq!(
            filetime(134_408_797_051_230_000).map(Timestamp::as_millis),
            Some(1_796_406_105_123)
        );
        assert_eq!(
            interval(-36_288_000_000_000),
            Some(Duration::from_secs(42 * 24 * 3600))
        );
        assert_eq!(interval(i64::MIN), None);
        assert_eq!(interval(0), None);
    }

    #[test]
    fn bind_errors_map_to_outcomes() {
        let cases = [
            (
                "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 52e, v4563",
                Some(BindOutcome::Invalid),
            ),
            (
                "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 775, v4563",
                Some(BindOutcome::Locked),
            ),
            (
                "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 773, v4563",
                Some(BindOutcome::ValidMustChange),
            ),
            ("… data 532, v1db1", Some(BindOutcome::ValidMustChange)),
            ("… data 533, v1db1", Some(BindOutcome::Disabled)),
            ("… data 999, v1db1", None),
            ("no code here", None),
        ];
        for (text, want) in cases {
            let got = bind_data_code(text).and_then(|c| bind_outcome(&c));
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn samba_refusals_map_to_rules() {
        let p = "0000052D: Constraint violation - check_password_restrictions: ";
        let cases: [(u32, String, Vec<&str>); 6] = [
            (
                19,
                format!("{p}the password is too short. It should be equal or longer than 10 characters!"),
                vec!["too_short"],
            ),
            (
                19,
                format!("{p}the password does not meet the complexity criteria!"),
                vec!["directory_complexity"],
            ),
            (
                19,
                format!("{p}the password was already used (in history)!"),
                vec!["in_history"],
            ),
            (
                19,
                format!("{p}the password was already used (previous password)!"),
                vec!["in_history"],
            ),
            (
                19,
                "0000052D: SvcErr: DSID-031A1248, problem 5003 (WILL_NOT_PERFORM), data 0"
                    .to_owned(),
                vec!["directory_policy"],
            ),
            (
                19,
                "00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!".to_owned(),
                vec![],
            ),
        ];
        for (code, text, want) in cases {
            match classify_refusal(code, &text, Some(12), Some(3)) {
                WriteRefusal::Rejected(rules) => {
                    let codes: Vec<_> = rules.iter().map(|r| r.code()).collect();
                    assert_eq!(codes, want, "{text}");
                }
                WriteRefusal::WrongOld => assert!(want.is_empty(), "{text}"),
                WriteRefusal::Other => panic!("{text}: Other"),
            }
        }
        // The minimum comes from the message; the policy's only when the message has none.
        let short = classify_refusal(
            19,
            &format!(
                "{p}the password is too short. It should be equal or longer than 10 characters!"
            ),
            Some(12),
            None,
        );
        assert_eq!(
            short,
            WriteRefusal::Rejected(vec![Rule::TooShort { min: 10 }])
        );
        let short = classify_refusal(
            19,
            &format!("{p}the password is too short."),
            Some(12),
            None,
        );
        assert_eq!(
            short,
            WriteRefusal::Rejected(vec![Rule::TooShort { min: 12 }])
        );
        let complexity = classify_refusal(
            19,
            &format!("{p}the password does not meet the complexity criteria!"),
            None,
            None,
        );
        assert!(
            matches!(&complexity, WriteRefusal::Rejected(r) if r[0].to_string().contains("three of"))
        );
        assert_eq!(
            classify_refusal(50, "00002098: insufficient access", None, None),
            WriteRefusal::Other
        );
    }

    #[test]
    fn plain_ldap_is_refused() {
        let s = ad_settings(
            "ldap://dc.example.test",
            "CN=svc,DC=example,DC=test",
            SecretString::new("x"),
            "DC=example,DC=test",
        );
        assert!(matches!(
            AdDirectory::new(s.clone(), Arc::new(SystemClock)),
            Err(ConnectError::NotEncrypted(_))
        ));
        let mut starttls = s.clone();
        starttls.starttls = true;
        assert!(AdDirectory::new(starttls, Arc::new(SystemClock)).is_ok());
        let mut ldaps = s;
        ldaps.url = "ldaps://dc.example.test".to_owned();
        let d = AdDirectory::new(ldaps, Arc::new(SystemClock)).unwrap();
        assert_eq!(d.kind(), "ad");
        // AD skips history on resets, so the service keeps its own.
        assert!(!d.keeps_history());
        assert!(d.check_key("CN=a,CN=Users,DC=example,DC=test").is_ok());
        assert!(d.check_key("CN=a,DC=evil,DC=test").is_err());
    }
}
