//! The testkit: starts the real service in-process on port 0 with fresh databases, a real SMTP
//! server on loopback that captures mail, a clock the test moves, and a typed client.

pub mod demo_users;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use latchkey_client::Client;
use latchkey_core::SecretString;
use latchkey_core::clock::{ManualClock, Timestamp};
use latchkey_core::hash::PasswordHasher;
use latchkey_core::random::OsRandom;
use latchkey_delivery::testing::{CapturedMail, SmtpCapture, extract_code};
use latchkey_directory_embedded::NewUser;
use latchkey_server::{Config, Dependencies, Running};

pub use latchkey_delivery::testing;

/// 2026-01-05 09:00 UTC, a Monday: where every test clock starts.
pub const START: Timestamp = Timestamp::from_millis(1_767_603_600_000);

/// A running service with its mail capture.
#[derive(Debug)]
pub struct TestServer {
    /// The service.
    pub running: Running,
    /// A client pointed at it.
    pub client: Client,
    /// The captured mail.
    pub smtp: SmtpCapture,
    /// The service's clock.
    pub clock: Arc<ManualClock>,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    codes_read: Mutex<HashMap<String, usize>>,
    _dir: tempfile::TempDir,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct TestUser<'a> {
    /// Sign-in name, e.g. `alice@contoso.com`.
    pub login: &'a str,
    /// Display name.
    pub display_name: &'a str,
    /// Password.
    pub password: &'a str,
    /// Groups.
    pub groups: &'a [&'a str],
    /// Registered email addresses.
    pub emails: &'a [&'a str],
}

impl TestServer {
    /// A service with the CAPTCHA off, no response floor, and fast password hashing.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// The same, after `configure` adjusted the configuration.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("temp dir")?;
        let smtp = SmtpCapture::start()
            .await
            .context("starting the SMTP capture")?;
        let mut config = Config::load(None, []).context("default config")?;
        config.http.addr = "127.0.0.1:0".parse()?;
        config.store.url = format!("sqlite://{}", dir.path().join("store.db").display());
        config.directory.url = format!("sqlite://{}", dir.path().join("directory.db").display());
        config.security.key_file = dir.path().join("server.key");
        config.smtp.host = "127.0.0.1".into();
        config.smtp.port = smtp.port();
        config.smtp.tls = "none".into();
        config.smtp.from = "Contoso IT <no-reply@contoso.com>".into();
        config.captcha.kind = "off".into();
        config.recovery.response_floor_ms = 0;
        config.organisation.help_desk_email = Some("helpdesk@contoso.com".into());
        configure(&mut config);
        let clock = Arc::new(ManualClock::new(START));
        let deps = Dependencies {
            clock: clock.clone(),
            rng: Arc::new(OsRandom),
            hasher: PasswordHasher::insecure_fast(),
        };
        let running = latchkey_server::start(config, deps).await?;
        let base = running.base_url();
        let client = Client::new(&base)?;
        Ok(Self {
            running,
            client,
            smtp,
            clock,
            base,
            codes_read: Mutex::new(HashMap::new()),
            _dir: dir,
        })
    }

    /// Creates a user in the embedded directory and registers their emails; returns the key.
    pub async fn add_user(&self, user: TestUser<'_>) -> anyhow::Result<String> {
        let state = &self.running.state;
        let dir = state.embedded.as_ref().context("embedded directory")?;
        let account = user.login.split('@').next().unwrap_or(user.login);
        let (given, surname) = user
            .display_name
            .split_once(' ')
            .unwrap_or((user.display_name, ""));
        let key = dir
            .upsert_user(NewUser {
                login: user.login.into(),
                account_name: account.into(),
                display_name: user.display_name.into(),
                given_name: Some(given.into()),
                surname: Some(surname.into()),
                email: Some(user.login.into()),
                groups: user.groups.iter().map(|g| (*g).to_owned()).collect(),
                password: SecretString::new(user.password),
                must_change: false,
            })
            .await?;
        for (i, address) in user.emails.iter().enumerate() {
            let slot = if i == 0 {
                "alternate"
            } else {
                "authentication"
            };
            latchkey_server::app::registration::register_email(state, &key, slot, address)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok(key)
    }

    /// Starts a recovery and verifies its first method with the code mailed to `address`: the
    /// steps most stories share before the part they are about.
    pub async fn verified_flow(
        &self,
        req: &latchkey_proto::StartRecovery,
        address: &str,
    ) -> anyhow::Result<latchkey_proto::RecoveryStarted> {
        let flow = self.client.start_recovery(req).await?;
        let ch = self
            .client
            .start_challenge(&flow.flow_id, &flow.methods[0].id)
            .await?;
        let code = self.next_code(address).await?;
        self.client
            .verify(&flow.flow_id, &ch.challenge_id, &code)
            .await?;
        Ok(flow)
    }

    /// Every mail captured for `to`, oldest first.
    pub fn mail_to(&self, to: &str) -> Vec<CapturedMail> {
        self.smtp
            .messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// Waits for the next code mailed to `to` that this test has not read yet.
    pub async fn next_code(&self, to: &str) -> anyhow::Result<String> {
        self.next_code_within(to, Duration::from_secs(10)).await
    }

    /// [`TestServer::next_code`] with a chosen patience.
    pub async fn next_code_within(&self, to: &str, patience: Duration) -> anyhow::Result<String> {
        let seen = *self
            .codes_read
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .get(to)
            .unwrap_or(&0);
        let want = seen + 1;
        let to_owned = to.to_owned();
        let smtp = &self.smtp;
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let codes: Vec<String> = smtp
                .messages()
                .iter()
                .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(&to_owned)))
                .filter_map(|m| extract_code(&m.body_text()))
                .collect();
            if codes.len() >= want {
                self.codes_read
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .insert(to.to_owned(), want);
                return Ok(codes[want - 1].clone());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!(
                    "no new code mailed to {to} within {patience:?} (saw {} codes)",
                    codes.len()
                );
            }
            smtp.wait_for(
                |m| m.to.iter().any(|t| t.eq_ignore_ascii_case(&to_owned)),
                Duration::from_millis(200),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until a mail to `to` whose subject contains `subject` arrives.
    pub async fn wait_mail(&self, to: &str, subject: &str) -> anyhow::Result<CapturedMail> {
        self.smtp
            .wait_for(
                |m| {
                    m.to.iter().any(|t| t.eq_ignore_ascii_case(to))
                        && m.header("Subject").is_some_and(|s| s.contains(subject))
                },
                Duration::from_secs(10),
            )
            .await
            .with_context(|| format!("no mail to {to} with subject containing {subject:?}"))
    }

    /// A raw request, for bad-input tests: `method`, path under the base URL, content type, body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let http = reqwest::Client::new();
        let mut req = http
            .request(method.parse()?, format!("{}{path}", self.base))
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        let json = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{method} {path} -> {status}: body is not JSON: {:?}",
                String::from_utf8_lossy(&bytes)
            )
        })?;
        Ok((status, json))
    }

    /// Stops the service.
    pub async fn stop(self) {
        self.running.stop().await;
    }
}
