//! Service configuration: a TOML file, then `LATCHKEY_<SECTION>__<KEY>` environment variables on
//! top. A bad configuration is refused at start with a message naming the key.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The environment prefix; only variables with a `__` after it are configuration.
pub const ENV_PREFIX: &str = "LATCHKEY_";

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A key has a wrong type or value, or is unknown.
    #[error("config key `{key}`{origin}: {message}")]
    Key {
        /// Dotted key, e.g. `smtp.port`.
        key: String,
        /// Where it was set, e.g. ` (from LATCHKEY_SMTP__PORT)`.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// A secret in the configuration (SMTP password, server key); never printed. It accepts a
/// number too (`LATCHKEY_SMTP__PASSWORD=12345678` reads as one), so that a type error can never
/// quote the secret back in a start-up message.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConfigSecret(String);

impl<'de> Deserialize<'de> for ConfigSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ConfigSecret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a secret string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConfigSecret, E> {
                Ok(ConfigSecret(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ConfigSecret, E> {
                Ok(ConfigSecret(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ConfigSecret, E> {
                Ok(ConfigSecret(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<ConfigSecret, E> {
                Ok(ConfigSecret(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ConfigSecret, E> {
                Ok(ConfigSecret(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl ConfigSecret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Wraps a value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
}

impl fmt::Debug for ConfigSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[http]`
    pub http: HttpConfig,
    /// `[store]`
    pub store: StoreConfig,
    /// `[directory]`
    pub directory: DirectoryConfig,
    /// `[smtp]`
    pub smtp: SmtpConfig,
    /// `[mail]`
    pub mail: MailConfig,
    /// `[organisation]`
    pub organisation: OrganisationConfig,
    /// `[recovery]`
    pub recovery: RecoveryConfig,
    /// `[codes]`
    pub codes: CodesConfig,
    /// `[captcha]`
    pub captcha: CaptchaConfig,
    /// `[policy]`
    pub policy: PolicyConfig,
    /// `[rate_limits]`
    pub rate_limits: RateLimitConfig,
    /// `[security]`
    pub security: SecurityConfig,
    /// `[log]`
    pub log: LogConfig,
    /// `[portal]`
    pub portal: PortalConfig,
}

/// `[http]`: where the service listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address.
    pub addr: SocketAddr,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            trusted_proxies: Vec::new(),
            max_body_bytes: 16 * 1024,
        }
    }
}

/// `[store]`: where flows, registrations and the audit log live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite://FILE` (created if missing).
    pub url: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://latchkey.db".into(),
        }
    }
}

/// `[directory]`: where passwords live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectoryConfig {
    /// `embedded`, `ldap` (OpenLDAP and other RFC 3062 directories with ppolicy) or `ad`
    /// (Active Directory, over LDAPS or StartTLS).
    pub kind: String,
    /// For `embedded`: `sqlite://FILE`; for `ldap`: `ldap://HOST:PORT` or `ldaps://HOST:PORT`.
    pub url: String,
    /// For `ldap`: upgrade `ldap://` with StartTLS.
    pub starttls: bool,
    /// For `ldap`: the service account that searches and resets.
    pub bind_dn: String,
    /// For `ldap`: its password (better: `LATCHKEY_DIRECTORY__BIND_PASSWORD`).
    pub bind_password: Option<ConfigSecret>,
    /// For `ldap`: where users live.
    pub base_dn: String,
    /// For `ldap`: the organisation's CA certificate(s), PEM; the system's roots when absent.
    pub ca_file: Option<PathBuf>,
    /// For `ldap` and `ad`: attributes a typed user id is matched against; empty: `uid` and
    /// `mail` for LDAP, `sAMAccountName`, `userPrincipalName` and `mail` for AD.
    pub user_attributes: Vec<String>,
    /// For `ldap` and `ad`: service-account connections kept open (1 to 64).
    pub pool_size: usize,
    /// Offer the directory's own contact data (its `mail` attribute) as a verification method
    /// besides what people registered, as Entra does with synced contact data. Off by default:
    /// whoever can change those attributes can then reset the password.
    pub use_contact_attributes: bool,
    /// With `use_contact_attributes`: the domain of people's directory addresses, which decoys
    /// for unknown ids show; empty: the domain of `smtp.from`.
    pub contact_mail_domain: String,
    /// Failed sign-ins before the embedded directory locks an account (0: never).
    pub lockout_threshold: u32,
    /// Minutes a lockout lasts in the embedded directory (0: until unlocked).
    pub lockout_minutes: u64,
    /// Days before a password expires in the embedded directory (0: never).
    pub max_password_age_days: u64,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self {
            kind: "embedded".into(),
            url: "sqlite://latchkey-directory.db".into(),
            starttls: false,
            bind_dn: String::new(),
            bind_password: None,
            base_dn: String::new(),
            ca_file: None,
            user_attributes: Vec::new(),
            pool_size: 4,
            use_contact_attributes: false,
            contact_mail_domain: String::new(),
            lockout_threshold: 5,
            lockout_minutes: 30,
            max_password_age_days: 0,
        }
    }
}

/// `[smtp]`: the mail server codes and confirmations go through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Host name; when empty, mail goes to `mail.drop_dir` instead.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub tls: String,
    /// User name, if the server wants one.
    pub username: Option<String>,
    /// Password, if the server wants one.
    pub password: Option<ConfigSecret>,
    /// The sender, e.g. `Contoso IT <no-reply@contoso.com>`.
    pub from: String,
    /// Seconds to wait for the server.
    pub timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            tls: "starttls".into(),
            username: None,
            password: None,
            from: "Latchkey <no-reply@localhost>".into(),
            timeout_secs: 10,
        }
    }
}

/// `[mail]`: delivery without an SMTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// Folder for `.eml` files when `smtp.host` is empty.
    pub drop_dir: PathBuf,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            drop_dir: PathBuf::from("mail"),
        }
    }
}

/// `[organisation]`: branding and help.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrganisationConfig {
    /// Name shown in the wizard and in mail.
    pub name: String,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Help-desk email.
    pub help_desk_email: Option<String>,
    /// Help-desk phone.
    pub help_desk_phone: Option<String>,
    /// Help-desk web page.
    pub help_desk_url: Option<String>,
    /// Where to send alerts when an administrator's password is reset.
    pub admin_alert_email: Option<String>,
    /// Words to ban in passwords besides the built-in list (the organisation's name is added).
    pub banned_words: Vec<String>,
}

impl Default for OrganisationConfig {
    fn default() -> Self {
        Self {
            name: "Contoso".into(),
            logo_url: None,
            help_desk_email: None,
            help_desk_phone: None,
            help_desk_url: None,
            admin_alert_email: None,
            banned_words: Vec::new(),
        }
    }
}

/// `[recovery]`: who may reset and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoveryConfig {
    /// Forgot-password enabled.
    pub reset: bool,
    /// Unlock enabled.
    pub unlock: bool,
    /// Change-password enabled.
    pub change: bool,
    /// Methods a user must verify (1 or 2).
    pub methods_required: u8,
    /// Methods an administrator must verify (1 or 2; Entra requires 2).
    pub methods_required_admins: u8,
    /// Groups whose members count as administrators.
    pub admin_groups: Vec<String>,
    /// Groups whose members may use self-service; empty: everyone.
    pub allowed_groups: Vec<String>,
    /// Tell users outside `allowed_groups` to contact the administrator (after the CAPTCHA)
    /// instead of showing them a decoy.
    pub reveal_not_enabled: bool,
    /// Minutes a flow stays usable.
    pub flow_minutes: u64,
    /// Every `POST /recovery` answer takes at least this long, so that timing does not tell
    /// known users from unknown ones.
    pub response_floor_ms: u64,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            reset: true,
            unlock: true,
            change: true,
            methods_required: 1,
            methods_required_admins: 2,
            admin_groups: vec!["Domain Admins".into(), "Administrators".into()],
            allowed_groups: Vec::new(),
            reveal_not_enabled: true,
            flow_minutes: 15,
            response_floor_ms: 250,
        }
    }
}

/// `[codes]`: one-time codes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodesConfig {
    /// Minutes a code stays valid.
    pub lifetime_minutes: u64,
    /// Wrong tries per code.
    pub max_attempts: u32,
    /// Seconds before another code can be sent to the same method.
    pub resend_after_secs: u64,
}

impl Default for CodesConfig {
    fn default() -> Self {
        Self {
            lifetime_minutes: 10,
            max_attempts: 5,
            resend_after_secs: 60,
        }
    }
}

/// `[captcha]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptchaConfig {
    /// `image` (with a text alternative) or `off` (tests only).
    pub kind: String,
    /// Seconds a challenge stays valid.
    pub lifetime_secs: u64,
}

impl Default for CaptchaConfig {
    fn default() -> Self {
        Self {
            kind: "image".into(),
            lifetime_secs: 300,
        }
    }
}

/// `[policy]`: password rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Minimum length.
    pub min_length: usize,
    /// Maximum length.
    pub max_length: usize,
    /// Minimum zxcvbn score (0–4; 0 off).
    pub min_score: u8,
    /// Character classes required (0–4; 0 off, as NIST advises).
    pub required_classes: u8,
    /// Previous passwords refused (0 off), kept by the service when the directory keeps none.
    pub history: u32,
    /// Refuse the user's own names.
    pub reject_user_names: bool,
    /// Use the built-in banned list.
    pub builtin_banned_list: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 256,
            min_score: 3,
            required_classes: 0,
            history: 5,
            reject_user_names: true,
            builtin_banned_list: true,
        }
    }
}

/// `[rate_limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Apply the rate limits (always on in production).
    pub enabled: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// `[security]`: the server key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// The server key as 64 hex digits; wins over `key_file`.
    pub key: Option<ConfigSecret>,
    /// File holding the key; created with a fresh key (mode 0600) when missing.
    pub key_file: PathBuf,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            key: None,
            key_file: PathBuf::from("latchkey.key"),
        }
    }
}

/// `[portal]`: the wizard served to browsers, for people not on a managed desktop.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalConfig {
    /// The built wizard (`ui/dist`); empty: no portal, only the API.
    pub dir: Option<PathBuf>,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `latchkey_server=debug,info`; `RUST_LOG` wins.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

impl Config {
    /// Reads `file` (if any), applies `LATCHKEY_<SECTION>__<KEY>` variables from `env`, and
    /// validates the result.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Syntax {
                        path: path.to_owned(),
                        message: e.message().to_owned(),
                    })?
            }
            None => toml::Table::new(),
        };
        let mut origins: BTreeMap<String, String> = BTreeMap::new();
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if !rest.contains("__") {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
            if path.iter().any(String::is_empty) {
                return Err(ConfigError::Key {
                    key: path.join("."),
                    origin: format!(" (from {name})"),
                    message: "empty key segment".into(),
                });
            }
            origins.insert(path.join("."), name.clone());
            insert_path(&mut table, &path, env_value(&raw)).map_err(|message| {
                ConfigError::Key {
                    key: path.join("."),
                    origin: format!(" (from {name})"),
                    message,
                }
            })?;
        }
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let key = e.path().to_string();
                let origin = origins
                    .get(&key)
                    .map(|n| format!(" (from {n})"))
                    .unwrap_or_default();
                ConfigError::Key {
                    key,
                    origin,
                    message: e.into_inner().to_string(),
                }
            })?;
        config.validate().map_err(|(key, message)| {
            let origin = origins
                .get(key)
                .map(|n| format!(" (from {n})"))
                .unwrap_or_default();
            ConfigError::Key {
                key: key.to_owned(),
                origin,
                message,
            }
        })?;
        Ok(config)
    }

    /// Checks values that types alone cannot.
    fn validate(&self) -> Result<(), (&'static str, String)> {
        let p = &self.policy;
        if p.min_length == 0 {
            return Err(("policy.min_length", "must be at least 1".into()));
        }
        if p.max_length < p.min_length || p.max_length > 1024 {
            return Err((
                "policy.max_length",
                format!(
                    "must be between policy.min_length ({}) and 1024",
                    p.min_length
                ),
            ));
        }
        if p.min_score > 4 {
            return Err(("policy.min_score", "must be 0 to 4".into()));
        }
        if p.required_classes > 4 {
            return Err(("policy.required_classes", "must be 0 to 4".into()));
        }
        if !(1..=2).contains(&self.recovery.methods_required) {
            return Err(("recovery.methods_required", "must be 1 or 2".into()));
        }
        if !(1..=2).contains(&self.recovery.methods_required_admins) {
            return Err(("recovery.methods_required_admins", "must be 1 or 2".into()));
        }
        if !(1..=120).contains(&self.recovery.flow_minutes) {
            return Err(("recovery.flow_minutes", "must be 1 to 120".into()));
        }
        if self.recovery.response_floor_ms > 5_000 {
            return Err(("recovery.response_floor_ms", "must be at most 5000".into()));
        }
        if !(1..=60).contains(&self.codes.lifetime_minutes) {
            return Err(("codes.lifetime_minutes", "must be 1 to 60".into()));
        }
        if !(1..=10).contains(&self.codes.max_attempts) {
            return Err(("codes.max_attempts", "must be 1 to 10".into()));
        }
        if self.codes.resend_after_secs > 600 {
            return Err(("codes.resend_after_secs", "must be at most 600".into()));
        }
        if !matches!(self.captcha.kind.as_str(), "image" | "off") {
            return Err((
                "captcha.kind",
                format!("must be \"image\" or \"off\", not {:?}", self.captcha.kind),
            ));
        }
        if !(30..=3600).contains(&self.captcha.lifetime_secs) {
            return Err(("captcha.lifetime_secs", "must be 30 to 3600".into()));
        }
        if !self.store.url.starts_with("sqlite:") {
            return Err((
                "store.url",
                format!(
                    "must be a sqlite: URL (sqlite://FILE), not {:?}",
                    self.store.url
                ),
            ));
        }
        match self.directory.kind.as_str() {
            "embedded" => {
                if !self.directory.url.starts_with("sqlite:") {
                    return Err((
                        "directory.url",
                        "the embedded directory needs a sqlite: URL (sqlite://FILE)".into(),
                    ));
                }
            }
            kind @ ("ldap" | "ad") => {
                let d = &self.directory;
                if !(d.url.starts_with("ldap://") || d.url.starts_with("ldaps://")) {
                    return Err((
                        "directory.url",
                        "an LDAP directory needs an ldap:// or ldaps:// URL".into(),
                    ));
                }
                // Active Directory refuses password writes over an unencrypted connection.
                if kind == "ad" && d.url.starts_with("ldap://") && !d.starttls {
                    return Err((
                        "directory.url",
                        "Active Directory needs ldaps://, or ldap:// with directory.starttls = true"
                            .into(),
                    ));
                }
                if d.bind_dn.trim().is_empty() {
                    return Err((
                        "directory.bind_dn",
                        "the service account's DN is required".into(),
                    ));
                }
                if d.bind_password
                    .as_ref()
                    .is_none_or(|p| p.expose().is_empty())
                {
                    return Err((
                        "directory.bind_password",
                        "the service account's password is required".into(),
                    ));
                }
                if d.base_dn.trim().is_empty() {
                    return Err(("directory.base_dn", "where users live is required".into()));
                }
                let domain = d.contact_mail_domain.trim();
                if !domain.is_empty()
                    && (domain.contains('@')
                        || !domain.contains('.')
                        || domain.chars().any(char::is_whitespace))
                {
                    return Err((
                        "directory.contact_mail_domain",
                        format!("must be a mail domain like contoso.com, not {domain:?}"),
                    ));
                }
                if !(1..=64).contains(&d.pool_size) {
                    return Err((
                        "directory.pool_size",
                        format!("must be between 1 and 64, not {}", d.pool_size),
                    ));
                }
            }
            other => {
                return Err((
                    "directory.kind",
                    format!("must be \"embedded\", \"ldap\" or \"ad\", not {other:?}"),
                ));
            }
        }
        if !self.smtp.host.is_empty()
            && !matches!(self.smtp.tls.as_str(), "starttls" | "tls" | "none")
        {
            return Err((
                "smtp.tls",
                format!(
                    "must be \"starttls\", \"tls\" or \"none\", not {:?}",
                    self.smtp.tls
                ),
            ));
        }
        if self.smtp.timeout_secs == 0 || self.smtp.timeout_secs > 300 {
            return Err(("smtp.timeout_secs", "must be 1 to 300".into()));
        }
        if self.organisation.name.trim().is_empty() {
            return Err(("organisation.name", "must not be empty".into()));
        }
        if let Some(dir) = &self.portal.dir
            && !dir.join("index.html").is_file()
        {
            return Err((
                "portal.dir",
                format!(
                    "{} has no index.html (build the wizard: npm run build in ui/)",
                    dir.display()
                ),
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(("log.level", format!("is not a valid filter ({e})")));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(("log.format", "must be \"text\" or \"json\"".into()));
        }
        if self.http.max_body_bytes < 1024 || self.http.max_body_bytes > 1024 * 1024 {
            return Err(("http.max_body_bytes", "must be 1024 to 1048576".into()));
        }
        Ok(())
    }
}

/// Reads an environment value the way a person means it: numbers, booleans and `[...]` arrays
/// as such, anything else as a string. Quote a value (`'"123"'`) to force a string.
fn env_value(raw: &str) -> toml::Value {
    let t = raw.trim();
    let looks_typed = t == "true"
        || t == "false"
        || t.starts_with('[')
        || t.starts_with('"')
        || (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
    if looks_typed
        && let Ok(mut table) = format!("v = {t}").parse::<toml::Table>()
        && let Some(v) = table.remove("v")
    {
        return v;
    }
    toml::Value::String(raw.to_owned())
}

fn insert_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    match path {
        [] => Err("empty key".into()),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => insert_path(t, rest, value),
                _ => Err(format!("`{first}` is not a section")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::load(None, []).unwrap();
        assert_eq!(c.http.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.store.url, "sqlite://latchkey.db");
        assert_eq!(c.policy.min_length, 8);
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[smtp]\nhost = \"mail.example\"\nport = 25\n[organisation]\nname = \"Fabrikam\"\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            env(&[
                ("LATCHKEY_SMTP__PORT", "2525"),
                ("LATCHKEY_CAPTCHA__KIND", "off"),
                ("LATCHKEY_HTTP__ADDR", "127.0.0.1:0"),
                ("LATCHKEY_REQUIRE_POSTGRES", "1"),
                ("LATCHKEY_RECOVERY__ADMIN_GROUPS", "[\"Tier0\"]"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.smtp.host, "mail.example");
        assert_eq!(c.smtp.port, 2525);
        assert_eq!(c.captcha.kind, "off");
        assert_eq!(c.http.addr.port(), 0);
        assert_eq!(c.organisation.name, "Fabrikam");
        assert_eq!(c.recovery.admin_groups, ["Tier0"]);
    }

    #[test]
    fn bad_config_names_the_key() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("LATCHKEY_SMTP__PORT", "many")],
                "config key `smtp.port` (from LATCHKEY_SMTP__PORT)",
            ),
            (
                &[("LATCHKEY_SMTP__PORTT", "25")],
                "config key `smtp.portt` (from LATCHKEY_SMTP__PORTT)",
            ),
            (
                &[("LATCHKEY_CAPTCHA__KIND", "audio")],
                "config key `captcha.kind` (from LATCHKEY_CAPTCHA__KIND)",
            ),
            (
                &[("LATCHKEY_POLICY__MIN_LENGTH", "0")],
                "config key `policy.min_length`",
            ),
            (
                &[("LATCHKEY_RECOVERY__METHODS_REQUIRED", "3")],
                "config key `recovery.methods_required`",
            ),
            (
                &[("LATCHKEY_STORE__URL", "mysql://x")],
                "config key `store.url`",
            ),
            (
                &[("LATCHKEY_DIRECTORY__KIND", "nis")],
                "config key `directory.kind`",
            ),
            (
                &[("LATCHKEY_DIRECTORY__KIND", "ldap")],
                "config key `directory.url`",
            ),
            (
                &[
                    ("LATCHKEY_DIRECTORY__KIND", "ldap"),
                    ("LATCHKEY_DIRECTORY__URL", "ldaps://ldap.contoso.com"),
                    (
                        "LATCHKEY_DIRECTORY__BIND_DN",
                        "cn=latchkey,dc=contoso,dc=com",
                    ),
                    ("LATCHKEY_DIRECTORY__BASE_DN", "dc=contoso,dc=com"),
                ],
                "config key `directory.bind_password`",
            ),
            (
                &[
                    ("LATCHKEY_DIRECTORY__KIND", "ad"),
                    ("LATCHKEY_DIRECTORY__URL", "ldaps://dc1.contoso.com"),
                    ("LATCHKEY_DIRECTORY__BIND_DN", "CN=svc,DC=contoso,DC=com"),
                    ("LATCHKEY_DIRECTORY__BIND_PASSWORD", "pw"),
                    ("LATCHKEY_DIRECTORY__BASE_DN", "DC=contoso,DC=com"),
                    ("LATCHKEY_DIRECTORY__POOL_SIZE", "0"),
                ],
                "config key `directory.pool_size`",
            ),
            (
                &[
                    ("LATCHKEY_DIRECTORY__KIND", "ldap"),
                    ("LATCHKEY_DIRECTORY__URL", "ldaps://ldap.contoso.com"),
                    ("LATCHKEY_DIRECTORY__BIND_DN", "cn=svc,dc=contoso,dc=com"),
                    ("LATCHKEY_DIRECTORY__BIND_PASSWORD", "pw"),
                    ("LATCHKEY_DIRECTORY__BASE_DN", "dc=contoso,dc=com"),
                    ("LATCHKEY_DIRECTORY__CONTACT_MAIL_DOMAIN", "@contoso.com"),
                ],
                "config key `directory.contact_mail_domain`",
            ),
            (
                &[("LATCHKEY_HTTP__ADDR", "nowhere")],
                "config key `http.addr`",
            ),
        ];
        for (vars, want) in cases {
            let err = Config::load(None, env(vars)).unwrap_err().to_string();
            assert!(err.starts_with(want), "{vars:?}: {err}");
        }
        let unknown = Config::load(None, env(&[("LATCHKEY_SMTP__PORTT", "25")]))
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("unknown field `portt`"), "{unknown}");
    }

    #[test]
    fn bad_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[smtp\nport = 1").unwrap();
        assert!(matches!(
            Config::load(Some(&file), []),
            Err(ConfigError::Syntax { .. })
        ));
        std::fs::write(&file, "[smtp]\nport = \"x\"").unwrap();
        assert!(
            Config::load(Some(&file), [])
                .unwrap_err()
                .to_string()
                .starts_with("config key `smtp.port`: ")
        );
        assert!(matches!(
            Config::load(Some(&dir.path().join("missing.toml")), []),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn numeric_secrets_are_read_as_secrets_not_quoted_in_errors() {
        let c = Config::load(None, env(&[("LATCHKEY_SMTP__PASSWORD", "31415926")])).unwrap();
        assert_eq!(c.smtp.password.unwrap().expose(), "31415926");
        let err = Config::load(None, env(&[("LATCHKEY_SMTP__PASSWORD", "[1]")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("config key `smtp.password`"), "{err}");
        let err = Config::load(None, env(&[("LATCHKEY_LOG__LEVEL", "info,[[[")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("config key `log.level` (from LATCHKEY_LOG__LEVEL)"),
            "{err}"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config::load(
            None,
            env(&[
                ("LATCHKEY_SMTP__PASSWORD", "hunter2"),
                ("LATCHKEY_SECURITY__KEY", "00"),
            ]),
        )
        .unwrap();
        let dump = format!("{c:?}");
        assert!(!dump.contains("hunter2"));
    }
}
