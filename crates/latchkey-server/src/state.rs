//! The service's shared state, built once at start-up from the configuration: the chosen store
//! and directory behind their traits, the keys, the clock and the random source.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use latchkey_core::banned::BannedList;
use latchkey_core::clock::{Clock, SystemClock};
use latchkey_core::code::{CODE_LENGTH, CodeRules};
use latchkey_core::hash::PasswordHasher;
use latchkey_core::keys::Keys;
use latchkey_core::policy::PasswordPolicy;
use latchkey_core::random::{OsRandom, Random};
use latchkey_core::ratelimit::RateLimits;
use latchkey_delivery::notices::Branding;
use latchkey_delivery::{
    DropFolderMailer, EmailTransport, Outbox, SmtpMailer, SmtpSettings, TlsMode,
};
use latchkey_directory::Directory;
use latchkey_directory_embedded::{EmbeddedDirectory, EmbeddedOptions};
use latchkey_directory_ldap::{AdDirectory, LdapDirectory, LdapSettings, ad_settings};
use latchkey_proto as proto;
use latchkey_store::Store;
use latchkey_store_sqlite::SqliteStore;

use crate::config::Config;

/// What tests may replace: time, randomness, and the password hashing cost.
#[derive(Debug, Clone)]
pub struct Dependencies {
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The random source.
    pub rng: Arc<dyn Random>,
    /// The argon2id cost for the embedded directory and password history.
    pub hasher: PasswordHasher,
}

impl Default for Dependencies {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            rng: Arc::new(OsRandom),
            hasher: PasswordHasher::recommended(),
        }
    }
}

/// Cheap to clone; every handler gets one.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

/// The parts of the state.
#[derive(Debug)]
pub struct Inner {
    /// The validated configuration.
    pub config: Config,
    /// Flows, registrations, audit, outbox.
    pub store: Arc<dyn Store>,
    /// Where passwords live.
    pub directory: Arc<dyn Directory>,
    /// The embedded directory, when that is the one in use (for seeding users).
    pub embedded: Option<Arc<EmbeddedDirectory>>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub rng: Arc<dyn Random>,
    /// Keys derived from the server key.
    pub keys: Keys,
    /// Queue of outgoing mail.
    pub outbox: Outbox,
    /// The password policy.
    pub policy: PasswordPolicy,
    /// Rate limits.
    pub limits: RateLimits,
    /// Code rules.
    pub codes: CodeRules,
    /// Hasher for password history.
    pub hasher: PasswordHasher,
    /// Branding for mail.
    pub branding: Branding,
    /// `GET /config`, computed once.
    pub public_config: proto::ServiceConfig,
    /// Verified flows' users, for rating their passwords without reading the directory again.
    pub rating_contexts: crate::app::password::RatingContexts,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// Builds the state from `config`: opens the store and the directory, loads the key.
    /// Returns the mail transport too, for the outbox worker.
    pub async fn build(
        config: Config,
        deps: Dependencies,
    ) -> anyhow::Result<(AppState, Arc<dyn EmailTransport>)> {
        let keys = load_keys(&config, deps.rng.as_ref())?;
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::connect(&config.store.url)
                .await
                .with_context(|| format!("opening the store at {}", config.store.url))?,
        );

        let d = &config.directory;
        let options = EmbeddedOptions {
            hasher: deps.hasher.clone(),
            lockout_threshold: d.lockout_threshold,
            lockout_duration: (d.lockout_minutes > 0)
                .then(|| Duration::from_secs(d.lockout_minutes * 60)),
            max_password_age: (d.max_password_age_days > 0)
                .then(|| Duration::from_secs(d.max_password_age_days * 86_400)),
            min_length: config.policy.min_length,
        };
        let (directory, embedded): (Arc<dyn Directory>, Option<Arc<EmbeddedDirectory>>) = if d.kind
            == "ldap"
            || d.kind == "ad"
        {
            let password = latchkey_core::SecretString::new(
                d.bind_password
                    .as_ref()
                    .map(|p| p.expose())
                    .unwrap_or_default(),
            );
            let mut settings = if d.kind == "ad" {
                ad_settings(
                    d.url.clone(),
                    d.bind_dn.clone(),
                    password,
                    d.base_dn.clone(),
                )
            } else {
                LdapSettings::new(
                    d.url.clone(),
                    d.bind_dn.clone(),
                    password,
                    d.base_dn.clone(),
                )
            };
            settings.starttls = d.starttls;
            settings.ca_file = d.ca_file.clone();
            settings.pool_size = d.pool_size;
            if !d.user_attributes.is_empty() {
                settings.user_attributes = d.user_attributes.clone();
            }
            let context = || {
                format!(
                    "config key `directory`: cannot use the directory at {}",
                    d.url
                )
            };
            let directory: Arc<dyn Directory> = if d.kind == "ad" {
                Arc::new(AdDirectory::new(settings, deps.clock.clone()).with_context(context)?)
            } else {
                Arc::new(LdapDirectory::new(settings, deps.clock.clone()).with_context(context)?)
            };
            (directory, None)
        } else {
            let embedded = Arc::new(
                EmbeddedDirectory::open(&d.url, options, deps.clock.clone(), deps.rng.clone())
                    .await
                    .with_context(|| format!("opening the embedded directory at {}", d.url))?,
            );
            (embedded.clone(), Some(embedded))
        };

        let transport = build_transport(&config)?;
        let outbox = Outbox::new(
            store.clone(),
            keys.clone(),
            deps.clock.clone(),
            deps.rng.clone(),
        );

        let p = &config.policy;
        let org = &config.organisation;
        let mut banned = if p.builtin_banned_list {
            BannedList::default()
        } else {
            BannedList::empty()
        };
        banned.extend(
            std::iter::once(org.name.as_str()).chain(org.banned_words.iter().map(String::as_str)),
        );
        let policy = PasswordPolicy {
            min_length: p.min_length,
            max_length: p.max_length,
            min_score: p.min_score,
            required_classes: p.required_classes,
            history: p.history,
            reject_user_names: p.reject_user_names,
            banned,
        };

        let codes = CodeRules {
            lifetime: Duration::from_secs(config.codes.lifetime_minutes * 60),
            max_attempts: config.codes.max_attempts,
            resend_after: Duration::from_secs(config.codes.resend_after_secs),
        };
        let help_desk = help_desk(&config);
        let branding = Branding {
            organisation: org.name.clone(),
            help_desk: help_desk
                .email
                .clone()
                .or_else(|| help_desk.phone.clone())
                .or_else(|| help_desk.url.clone()),
        };
        let public_config = proto::ServiceConfig {
            organisation: proto::Organisation {
                name: org.name.clone(),
                logo_url: org.logo_url.clone(),
                help_desk,
            },
            intents: proto::Intents {
                reset: config.recovery.reset,
                unlock: config.recovery.unlock,
                change: config.recovery.change,
            },
            // Before anyone is known, the service's own rules.
            password_policy: crate::app::password::policy_summary(
                &policy,
                Default::default(),
                p.history,
            ),
            captcha: if config.captcha.kind == "off" {
                proto::CaptchaKind::Off
            } else {
                proto::CaptchaKind::Image
            },
            codes: proto::CodeSummary {
                length: CODE_LENGTH as u8,
                lifetime_secs: codes.lifetime.as_secs(),
                resend_after_secs: codes.resend_after.as_secs(),
            },
        };
        let inner = Inner {
            store,
            directory,
            embedded,
            clock: deps.clock,
            rng: deps.rng,
            keys,
            outbox,
            policy,
            limits: RateLimits::default(),
            codes,
            hasher: deps.hasher,
            branding,
            public_config,
            rating_contexts: Default::default(),
            config,
        };
        Ok((AppState(Arc::new(inner)), transport))
    }
}

/// The help-desk contact from the configuration.
pub fn help_desk(config: &Config) -> proto::HelpDesk {
    let o = &config.organisation;
    proto::HelpDesk {
        email: o.help_desk_email.clone(),
        phone: o.help_desk_phone.clone(),
        url: o.help_desk_url.clone(),
    }
}

fn build_transport(config: &Config) -> anyhow::Result<Arc<dyn EmailTransport>> {
    let s = &config.smtp;
    if s.host.is_empty() {
        tracing::warn!(folder = %config.mail.drop_dir.display(), "no SMTP server configured (smtp.host): mail is written to a folder instead");
        return Ok(Arc::new(
            DropFolderMailer::new(config.mail.drop_dir.clone(), s.from.clone())
                .context("config key `mail.drop_dir`")?,
        ));
    }
    let tls = match s.tls.as_str() {
        "tls" => TlsMode::Tls,
        "none" => TlsMode::None,
        _ => TlsMode::StartTls,
    };
    let settings = SmtpSettings {
        host: s.host.clone(),
        port: s.port,
        tls,
        username: s.username.clone(),
        password: s
            .password
            .as_ref()
            .map(|p| latchkey_core::SecretString::new(p.expose())),
        from: s.from.clone(),
        timeout: Duration::from_secs(s.timeout_secs),
    };
    Ok(Arc::new(
        SmtpMailer::new(settings).context("config key `smtp.from` or `smtp.host`")?,
    ))
}

fn load_keys(config: &Config, rng: &dyn Random) -> anyhow::Result<Keys> {
    if let Some(key) = &config.security.key {
        return Keys::from_hex(key.expose()).context("config key `security.key`");
    }
    let path = &config.security.key_file;
    match std::fs::read_to_string(path) {
        Ok(text) => Keys::from_hex(&text).with_context(|| {
            format!(
                "config key `security.key_file`: {} does not hold a valid key",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let hex = Keys::generate_hex(rng);
            write_private(path, &hex).with_context(|| {
                format!(
                    "config key `security.key_file`: cannot create {}",
                    path.display()
                )
            })?;
            tracing::warn!(file = %path.display(), "created a new server key; keep it safe and back it up (registrations cannot be read without it)");
            Keys::from_hex(&hex).context("generated key")
        }
        Err(e) => Err(e).with_context(|| {
            format!(
                "config key `security.key_file`: cannot read {}",
                path.display()
            )
        }),
    }
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    use std::io::Write as _;
    let mut f = options.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}
