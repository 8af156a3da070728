//! `Desktop`, the state behind the commands: the managed configuration (or why it can't be
//! used), a `latchkey_client::Client` for the configured service, and the little the app keeps
//! in memory while it runs (the last `/config`, the flow in progress). Nothing is written to
//! disk.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use latchkey_client::{Client, ClientError};
use latchkey_proto as proto;
use latchkey_proto::Secret;
use serde::Serialize;

use crate::config::{ConfigError, Logo, Settings, Sources};
use crate::error::{Error, TransportFailure};
use crate::{locale, rating};

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take: a service that is down should say so quickly.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the diagnosis of a failed request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest logo inlined as a `data:` URL.
const MAX_LOGO_BYTES: usize = 512 * 1024;

/// What the wizard learns about its host (`host_info`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostInfo {
    /// Always `tauri`.
    pub kind: &'static str,
    /// Locked-down sign-in-screen mode.
    pub kiosk: bool,
    /// BCP 47 locale of the operating system.
    pub locale: String,
    /// Idle seconds before the wizard returns to the start, or `null`.
    pub idle_timeout_secs: Option<u64>,
    /// Set when the app can't work (bad managed config); the wizard shows it instead.
    pub problem: Option<proto::ErrorBody>,
}

/// The app's state, managed by Tauri and shared by every command.
#[derive(Debug)]
pub struct Desktop {
    kiosk: bool,
    locale: String,
    connection: Result<Connection, ConfigError>,
    memory: Mutex<Memory>,
}

/// Everything needed to talk to the configured service.
#[derive(Debug)]
struct Connection {
    settings: Settings,
    client: Client,
    http: reqwest::Client,
    /// The service URL as people read it, for error messages.
    service: String,
    request_timeout: Duration,
}

/// What the app remembers while it runs, and only then.
#[derive(Debug, Default)]
struct Memory {
    /// The last `/config` as the service sent it (before branding overrides), for rating.
    config: Option<proto::ServiceConfig>,
    /// A logo already inlined: its source and its `data:` URL.
    logo: Option<(Logo, String)>,
    /// The flow in progress and the user id typed to start it, so a password can be rated
    /// against that user's names when the wizard passes only the flow id.
    flow: Option<(String, String)>,
}

impl Desktop {
    /// The state for this process: `--kiosk` on the command line, the managed configuration
    /// files, the locale from the environment. Never fails: a bad configuration is reported to
    /// the wizard instead.
    pub fn from_env() -> Self {
        let kiosk_flag = std::env::args().skip(1).any(|a| a == "--kiosk");
        let settings = Settings::load(&Sources::from_env());
        Self::new(kiosk_flag, settings, locale::from_env())
    }

    /// The state for `settings`; `kiosk_flag` forces kiosk mode whatever the configuration says.
    pub fn new(kiosk_flag: bool, settings: Result<Settings, ConfigError>, locale: String) -> Self {
        Self::with_timeout(kiosk_flag, settings, locale, REQUEST_TIMEOUT)
    }

    fn with_timeout(
        kiosk_flag: bool,
        settings: Result<Settings, ConfigError>,
        locale: String,
        request_timeout: Duration,
    ) -> Self {
        let connection = settings.and_then(|s| Connection::new(s, request_timeout));
        if let Err(e) = &connection {
            tracing::error!("{e}");
        }
        let kiosk = kiosk_flag || connection.as_ref().is_ok_and(|c| c.settings.kiosk);
        Self {
            kiosk,
            locale,
            connection,
            memory: Mutex::default(),
        }
    }

    /// Whether the app runs in kiosk mode.
    pub fn kiosk(&self) -> bool {
        self.kiosk
    }

    /// What the wizard needs to know about its host.
    pub fn host_info(&self) -> HostInfo {
        let (idle_timeout_secs, problem) = match &self.connection {
            Ok(c) => (c.settings.idle_timeout_secs, None),
            Err(e) => (
                // A kiosk without its configuration still returns to the start when left.
                self.kiosk.then_some(crate::config::DEFAULT_KIOSK_IDLE_SECS),
                Some(Error::ConfigInvalid(e.clone()).to_body()),
            ),
        };
        HostInfo {
            kind: "tauri",
            kiosk: self.kiosk,
            locale: self.locale.clone(),
            idle_timeout_secs,
            problem,
        }
    }

    /// `GET /config`, with the configured branding applied and the logo inlined.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn service_config(&self) -> Result<proto::ServiceConfig, Error> {
        let conn = self.connection()?;
        let mut config = self.fetch_config(conn).await?;
        let branding = &conn.settings.branding;
        if let Some(name) = &branding.organisation {
            config.organisation.name.clone_from(name);
        }
        let logo = match &branding.logo {
            Some(logo) => Some(logo.clone()),
            None => config.organisation.logo_url.as_deref().and_then(|raw| {
                Logo::from_service(raw, &conn.settings.service_url)
                    .inspect_err(|e| tracing::warn!("ignoring the service's logo: {e}"))
                    .ok()
            }),
        };
        config.organisation.logo_url = match logo {
            Some(logo) => self.inline_logo(conn, logo).await,
            None => None,
        };
        Ok(config)
    }

    /// `POST /captcha`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn captcha(
        &self,
        variant: proto::CaptchaVariant,
    ) -> Result<proto::CaptchaChallenge, Error> {
        self.call(async |c| c.captcha(variant).await).await
    }

    /// `POST /recovery`; remembers who the flow is for.
    #[tracing::instrument(level = "debug", skip_all, fields(intent = ?req.intent))]
    pub async fn start_recovery(
        &self,
        req: &proto::StartRecovery,
    ) -> Result<proto::RecoveryStarted, Error> {
        let started = self.call(async |c| c.start_recovery(req).await).await?;
        self.memory().flow = Some((started.flow_id.clone(), req.user_id.clone()));
        Ok(started)
    }

    /// `POST /recovery/{flow_id}/challenges`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn start_challenge(
        &self,
        flow_id: &str,
        method_id: &str,
    ) -> Result<proto::ChallengeStarted, Error> {
        self.call(async |c| c.start_challenge(flow_id, method_id).await)
            .await
    }

    /// `POST /recovery/{flow_id}/challenges/{challenge_id}/verify`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn verify(
        &self,
        flow_id: &str,
        challenge_id: &str,
        code: &Secret,
    ) -> Result<proto::ChallengeVerified, Error> {
        self.call(async |c| c.verify(flow_id, challenge_id, code.expose()).await)
            .await
    }

    /// `POST /recovery/{flow_id}/password`; the flow is over once it succeeds.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_password(
        &self,
        flow_id: &str,
        new_password: &Secret,
    ) -> Result<proto::Completed, Error> {
        let done = self
            .call(async |c| c.set_password(flow_id, new_password.expose()).await)
            .await?;
        self.forget_flow(flow_id);
        Ok(done)
    }

    /// `POST /recovery/{flow_id}/unlock`; the flow is over once it succeeds.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn unlock(&self, flow_id: &str) -> Result<proto::Completed, Error> {
        let done = self.call(async |c| c.unlock(flow_id).await).await?;
        self.forget_flow(flow_id);
        Ok(done)
    }

    /// `POST /password/change`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn change_password(
        &self,
        user_id: &str,
        old_password: &Secret,
        new_password: &Secret,
    ) -> Result<proto::Completed, Error> {
        self.call(async |c| {
            c.change_password(user_id, old_password.expose(), new_password.expose())
                .await
        })
        .await
    }

    /// Rates a candidate password here, against the policy of the last `/config` (fetched now
    /// if there is none yet) and the names in `user_id`, or in the user id that started
    /// `flow_id`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn rate_password(
        &self,
        password: &Secret,
        user_id: Option<&str>,
        flow_id: Option<&str>,
    ) -> Result<proto::PasswordRating, Error> {
        let conn = self.connection()?;
        let cached = self.memory().config.clone();
        let config = match cached {
            Some(c) => c,
            None => self.fetch_config(conn).await?,
        };
        let flow_user = {
            let memory = self.memory();
            match (flow_id, &memory.flow) {
                (Some(id), Some((flow, user))) if id == flow => Some(user.clone()),
                _ => None,
            }
        };
        let mut names = vec![config.organisation.name.as_str()];
        if let Some(name) = &conn.settings.branding.organisation {
            names.push(name);
        }
        let policy = rating::policy(&config.password_policy, &names);
        Ok(rating::rate(
            &policy,
            &names,
            password,
            user_id.or(flow_user.as_deref()),
        ))
    }

    fn connection(&self) -> Result<&Connection, Error> {
        self.connection
            .as_ref()
            .map_err(|e| Error::ConfigInvalid(e.clone()))
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        // The memory is a cache and a hint; a panic elsewhere while holding it leaves nothing
        // half-written that matters.
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn forget_flow(&self, flow_id: &str) {
        let mut memory = self.memory();
        if memory.flow.as_ref().is_some_and(|(f, _)| f == flow_id) {
            memory.flow = None;
        }
    }

    async fn fetch_config(&self, conn: &Connection) -> Result<proto::ServiceConfig, Error> {
        let config = conn.call(async |c| c.config().await).await?;
        self.memory().config = Some(config.clone());
        Ok(config)
    }

    async fn call<T>(
        &self,
        f: impl AsyncFnOnce(&Client) -> Result<T, ClientError>,
    ) -> Result<T, Error> {
        self.connection()?.call(f).await
    }

    /// The logo as a `data:` URL, or `None` (with a warning) when it can't be had: a missing
    /// logo must not stop anyone resetting a password.
    async fn inline_logo(&self, conn: &Connection, logo: Logo) -> Option<String> {
        if let Some((source, data)) = &self.memory().logo
            && *source == logo
        {
            return Some(data.clone());
        }
        let data = match conn.logo_data_url(&logo).await {
            Ok(data) => data,
            Err(e) => {
                tracing::warn!("the logo at {logo} can't be shown: {e}");
                return None;
            }
        };
        self.memory().logo = Some((logo, data.clone()));
        Some(data)
    }
}

impl Connection {
    fn new(settings: Settings, request_timeout: Duration) -> Result<Self, ConfigError> {
        let mut builder = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(request_timeout))
            .user_agent(concat!("latchkey-desktop/", env!("CARGO_PKG_VERSION")));
        for cert in &settings.ca_certificates {
            builder = builder.add_root_certificate(cert.clone());
        }
        let http = builder.build().map_err(|e| ConfigError::Invalid {
            file: settings.ca_file.clone().unwrap_or_default(),
            key: "ca_file",
            problem: format!("its certificates can't be used: {e}"),
        })?;
        let service = settings
            .service_url
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            client: Client::with_http(http.clone(), &service),
            http,
            service,
            settings,
            request_timeout,
        })
    }

    /// Runs one protocol call, turning the client's errors into what the wizard shows.
    async fn call<T>(
        &self,
        f: impl AsyncFnOnce(&Client) -> Result<T, ClientError>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        match f(&self.client).await {
            Ok(v) => Ok(v),
            Err(ClientError::Api { body, status }) => {
                tracing::debug!(status, code = %body.code, "the service refused");
                Err(Error::Api(body))
            }
            // The client's message holds the request URL, and with it the flow id: a bearer
            // token. It is dropped here and never logged.
            Err(ClientError::Transport(_)) => {
                let e = self.diagnose(started.elapsed()).await;
                tracing::warn!(code = e.code(), "{e}");
                Err(e)
            }
            Err(ClientError::Decode(_)) => {
                let e = Error::UnexpectedAnswer {
                    service: self.service.clone(),
                };
                tracing::warn!("{e}");
                Err(e)
            }
        }
    }

    /// Why a request failed in transport. The client hands over only a message, so a request
    /// that ran out its time is a timeout, and any other failure is looked into with one more
    /// request whose error chain says whether the certificate or the connection is at fault.
    async fn diagnose(&self, elapsed: Duration) -> Error {
        // Timers fire a little early or late; within half a second of the limit counts.
        if elapsed + Duration::from_millis(500) >= self.request_timeout {
            return TransportFailure::Timeout.into_error(&self.service);
        }
        let probe = self
            .http
            .get(self.settings.service_url.clone())
            .timeout(PROBE_TIMEOUT.min(self.request_timeout))
            .send()
            .await;
        match probe {
            // It answers now: the failure was passing, and trying again is the way forward.
            Ok(_) => TransportFailure::Unreachable.into_error(&self.service),
            Err(e) => TransportFailure::classify(&e).into_error(&self.service),
        }
    }

    async fn logo_data_url(&self, logo: &Logo) -> Result<String, String> {
        let (mime, bytes) = match logo {
            Logo::Inline(data) => return Ok(data.clone()),
            Logo::File(path) => {
                let mime =
                    image_type_of_path(path).ok_or("not a .png, .jpg, .gif, .webp or .svg file")?;
                let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
                (mime.to_owned(), bytes)
            }
            Logo::Remote(url) => {
                let resp = self
                    .http
                    .get(url.clone())
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| TransportFailure::classify(&e).into_error(url.as_str()))
                    .map_err(|e| e.to_string())?;
                let mime = resp
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(';').next())
                    .map(|v| v.trim().to_ascii_lowercase())
                    .filter(|v| IMAGE_TYPES.iter().any(|(_, t)| t == v))
                    .ok_or("the answer is not a png, jpeg, gif, webp or svg image")?;
                if resp
                    .content_length()
                    .is_some_and(|n| n > MAX_LOGO_BYTES as u64)
                {
                    return Err(format!("larger than {MAX_LOGO_BYTES} bytes"));
                }
                let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
                (mime, bytes.to_vec())
            }
        };
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(format!("larger than {MAX_LOGO_BYTES} bytes"));
        }
        Ok(format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }
}

/// Image types a logo may have, by file extension.
const IMAGE_TYPES: &[(&str, &str)] = &[
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("svg", "image/svg+xml"),
];

fn image_type_of_path(path: &std::path::Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    IMAGE_TYPES.iter().find(|(e, _)| *e == ext).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use serde_json::json;

    use super::*;
    use crate::config::{Branding, Source};
    use crate::testing::answering;

    fn settings(url: &str) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("desktop.toml");
        std::fs::write(&file, format!("service_url = {url:?}\n")).unwrap();
        Settings::load(&Sources(vec![Source {
            path: file,
            required: true,
        }]))
        .unwrap()
    }

    fn desktop(url: &str) -> Desktop {
        Desktop::new(false, Ok(settings(url)), "en".into())
    }

    fn service_config(name: &str) -> serde_json::Value {
        json!({
            "organisation": {"name": name, "help_desk": {"email": "help@contoso.com"}},
            "intents": {"reset": true, "unlock": true, "change": true},
            "password_policy": {
                "min_length": 12, "max_length": 256, "min_score": 3, "required_classes": 0,
                "history": 5, "reject_user_names": true, "banned_list": true
            },
            "captcha": "image",
            "codes": {"length": 6, "lifetime_secs": 600, "resend_after_secs": 60}
        })
    }

    #[test]
    fn host_info_reports_a_bad_configuration_as_a_problem() {
        let bad = Err(ConfigError::Invalid {
            file: "/etc/latchkey/desktop.toml".into(),
            key: "service_url",
            problem: "\"ftp://x\" must start with https:// (or http://)".into(),
        });
        let d = Desktop::new(true, bad, "fr-FR".into());
        let v = serde_json::to_value(d.host_info()).unwrap();
        assert_eq!(
            v,
            json!({
                "kind": "tauri",
                "kiosk": true,
                "locale": "fr-FR",
                "idleTimeoutSecs": 120,
                "problem": {
                    "code": "config_invalid",
                    "message": "/etc/latchkey/desktop.toml: service_url: \"ftp://x\" must start with https:// (or http://)"
                }
            })
        );

        let good = desktop("https://reset.contoso.com");
        assert_eq!(
            serde_json::to_value(good.host_info()).unwrap(),
            json!({"kind": "tauri", "kiosk": false, "locale": "en", "idleTimeoutSecs": null, "problem": null})
        );
    }

    #[tokio::test]
    async fn every_command_refuses_with_the_configuration_problem() {
        let d = Desktop::new(
            false,
            Err(ConfigError::NotConfigured {
                searched: "/etc/latchkey/desktop.toml".into(),
            }),
            "en".into(),
        );
        let pw = Secret::new("Lantern-Fjord-Velvet-92");
        let errors = [
            d.service_config().await.unwrap_err(),
            d.captcha(proto::CaptchaVariant::Image).await.unwrap_err(),
            d.start_challenge("f", "m").await.unwrap_err(),
            d.verify("f", "c", &Secret::new("123456"))
                .await
                .unwrap_err(),
            d.set_password("f", &pw).await.unwrap_err(),
            d.unlock("f").await.unwrap_err(),
            d.change_password("alice", &pw, &pw).await.unwrap_err(),
            d.rate_password(&pw, None, None).await.unwrap_err(),
        ];
        for e in errors {
            assert_eq!(e.code(), "config_invalid");
        }
    }

    #[tokio::test]
    async fn service_errors_pass_through_with_their_violations() {
        let body = json!({
            "code": "password_rejected",
            "message": "Choose another password.",
            "violations": [{"rule": "in_history", "message": "You can't reuse any of your last 5 passwords."}]
        });
        let addr = answering("422 Unprocessable Entity", body.to_string());
        let d = desktop(&format!("http://{addr}"));
        let e = d
            .set_password("flow", &Secret::new("Lantern-Fjord-Velvet-92"))
            .await
            .unwrap_err();
        assert_eq!(serde_json::to_value(&e).unwrap(), body);
    }

    #[tokio::test]
    async fn a_stopped_service_is_unreachable() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = desktop(&format!("http://127.0.0.1:{port}"));
        let e = d.service_config().await.unwrap_err();
        assert_eq!(e.code(), "unreachable");
        let body = e.to_body();
        assert!(body.message.contains(&format!("http://127.0.0.1:{port}")));
        // The request URL (which may hold a flow id) stays out of the message.
        let e = d.unlock("secret-flow-token").await.unwrap_err();
        assert!(!e.to_body().message.contains("secret-flow-token"));
    }

    #[tokio::test]
    async fn a_silent_service_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let _held: Vec<_> = listener.incoming().take(2).collect();
            std::thread::sleep(Duration::from_secs(5));
        });
        let d = Desktop::with_timeout(
            false,
            Ok(settings(&format!("http://{addr}"))),
            "en".into(),
            Duration::from_millis(300),
        );
        assert_eq!(d.service_config().await.unwrap_err().code(), "timeout");
    }

    #[tokio::test]
    async fn something_else_answering_is_unreachable() {
        let addr = answering("404 Not Found", "<html>nginx</html>".into());
        let d = desktop(&format!("http://{addr}"));
        assert_eq!(d.service_config().await.unwrap_err().code(), "unreachable");
    }

    #[tokio::test]
    async fn an_untrusted_certificate_is_named_and_ca_file_fixes_it() {
        let addr = crate::testing::tls_server();
        let url = format!("https://{addr}");
        let d = desktop(&url);
        let e = d.service_config().await.unwrap_err();
        assert_eq!(e.code(), "certificate_untrusted", "{e:?}");

        // The same server, with its CA in ca_file: the TLS handshake now succeeds (the test
        // server's answer is not a /config, so the call fails after it, as something else).
        let mut s = settings(&url);
        s.ca_certificates = reqwest::Certificate::from_pem_bundle(
            &std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/ca.pem")).unwrap(),
        )
        .unwrap();
        let d = Desktop::new(false, Ok(s), "en".into());
        let e = d.service_config().await.unwrap_err();
        assert_eq!(e.code(), "unreachable", "{e:?}");
        assert!(matches!(e, Error::UnexpectedAnswer { .. }), "{e:?}");
    }

    #[tokio::test]
    async fn branding_overrides_and_local_rating() {
        let addr = answering("200 OK", service_config("Contoso").to_string());
        let logo = tempfile::Builder::new().suffix(".svg").tempfile().unwrap();
        std::fs::write(logo.path(), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
        let mut s = settings(&format!("http://{addr}"));
        s.branding = Branding {
            organisation: Some("Fabrikam".into()),
            logo: Some(Logo::File(logo.path().to_owned())),
        };
        let d = Desktop::new(false, Ok(s), "en".into());
        let c = d.service_config().await.unwrap();
        assert_eq!(c.organisation.name, "Fabrikam");
        let data = c.organisation.logo_url.unwrap();
        assert!(data.starts_with("data:image/svg+xml;base64,"), "{data}");

        // Rated here: both names are banned, the user's names too, and length comes first.
        let rate = async |pw: &str, user: Option<&str>| {
            let r = d.rate_password(&Secret::new(pw), user, None).await.unwrap();
            r.violations.into_iter().map(|v| v.rule).collect::<Vec<_>>()
        };
        assert_eq!(rate("abc", None).await, ["too_short", "too_weak"]);
        assert!(
            rate("Fabrikam2024!", None)
                .await
                .contains(&"banned".to_owned())
        );
        assert!(
            rate("Contoso2024!", None)
                .await
                .contains(&"banned".to_owned())
        );
        assert!(
            rate("alice-velvet-quarry-91", Some("alice@contoso.com"))
                .await
                .contains(&"contains_user_name".to_owned())
        );
        assert!(rate("Lantern-Fjord-Velvet-92", None).await.is_empty());
    }

    #[tokio::test]
    async fn a_flow_lends_its_user_to_the_rating() {
        let started = json!({
            "flow_id": "flow-1", "intent": "reset", "methods": [],
            "methods_required": 1, "expires_in": 900
        });
        // One server for both answers: /config first, then /recovery.
        let config_addr = answering("200 OK", service_config("Contoso").to_string());
        let d = desktop(&format!("http://{config_addr}"));
        d.service_config().await.unwrap();
        let recovery_addr = answering("200 OK", started.to_string());
        // Point a second desktop's memory at the same state by starting the flow there.
        let d2 = desktop(&format!("http://{recovery_addr}"));
        d2.memory().config = d.memory().config.clone();
        let req = proto::StartRecovery {
            user_id: "alice.martin@contoso.com".into(),
            intent: proto::Intent::Reset,
            captcha_id: "c".into(),
            captcha_answer: "a".into(),
        };
        assert_eq!(d2.start_recovery(&req).await.unwrap().flow_id, "flow-1");
        let pw = Secret::new("Martin-velvet-quarry-91");
        let with_flow = d2.rate_password(&pw, None, Some("flow-1")).await.unwrap();
        assert!(!with_flow.acceptable, "{with_flow:?}");
        let other_flow = d2.rate_password(&pw, None, Some("flow-2")).await.unwrap();
        assert!(other_flow.acceptable, "{other_flow:?}");
    }
}
