//! Sending through an SMTP relay with lettre.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::SecretString;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::DeliveryError;
use crate::envelope::{EmailTransport, Envelope, SendError, build_message, parse_from};

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text; only for a relay on the same host or a test server.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl TlsMode {
    /// Stable name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::StartTls => "starttls",
            TlsMode::Tls => "tls",
        }
    }

    /// Inverse of [`TlsMode::as_str`], ignoring case.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Some(TlsMode::None),
            "starttls" => Some(TlsMode::StartTls),
            "tls" => Some(TlsMode::Tls),
            _ => None,
        }
    }
}

/// Where and how to reach the SMTP relay.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// The relay's host name (also the name its certificate must carry).
    pub host: String,
    /// The relay's port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: TlsMode,
    /// The user to authenticate as, if the relay wants one.
    pub username: Option<String>,
    /// That user's password.
    pub password: Option<SecretString>,
    /// The sender, for example `Latchkey <no-reply@contoso.com>`.
    pub from: String,
    /// How long to wait for the connection and for each reply.
    pub timeout: Duration,
}

/// An [`EmailTransport`] that hands messages to an SMTP relay, one connection per message.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    port: u16,
    tls: TlsMode,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The transport holds the relay credentials; show only where mail goes.
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Checks the settings (sender address, credentials, TLS host) and prepares the transport.
    /// Nothing is connected until the first send.
    pub fn new(settings: SmtpSettings) -> Result<Self, DeliveryError> {
        let from = parse_from(&settings.from)?;
        let host = settings.host.trim().to_owned();
        if host.is_empty() {
            return Err(DeliveryError::Config("the SMTP host is empty".into()));
        }
        let tls_error = |e: lettre::transport::smtp::Error| {
            DeliveryError::Config(format!("TLS for SMTP host {host:?}: {e}"))
        };
        let builder = match settings.tls {
            TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str()),
            TlsMode::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host).map_err(tls_error)?
            }
            TlsMode::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&host).map_err(tls_error)?
            }
        };
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
        match (settings.username, settings.password) {
            (Some(user), Some(password)) => {
                if settings.tls == TlsMode::None {
                    tracing::warn!(host = %host, "SMTP credentials will be sent without TLS");
                }
                builder = builder.credentials(Credentials::new(user, password.expose().to_owned()));
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(DeliveryError::Config(
                    "an SMTP username was given without a password".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(DeliveryError::Config(
                    "an SMTP password was given without a username".into(),
                ));
            }
        }
        Ok(Self {
            transport: builder.build(),
            from,
            host,
            port: settings.port,
            tls: settings.tls,
        })
    }
}

#[async_trait]
impl EmailTransport for SmtpMailer {
    async fn send(&self, envelope: &Envelope) -> Result<(), SendError> {
        let message = build_message(&self.from, envelope)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

/// Sorts a lettre error into retry or give up. Only a 5xx reply is final: anything else (refused
/// connections, timeouts, TLS trouble, a relay that lost its STARTTLS) is a state of the server
/// that an operator can fix, and giving up would lose the message.
fn classify(err: lettre::transport::smtp::Error) -> SendError {
    if err.is_permanent() {
        SendError::Permanent(err.to_string())
    } else {
        SendError::Transient(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SmtpCapture, extract_code};

    fn settings(port: u16) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            username: None,
            password: None,
            from: "Latchkey <no-reply@contoso.com>".into(),
            timeout: Duration::from_secs(5),
        }
    }

    fn envelope(html: bool) -> Envelope {
        Envelope {
            to: "Alice Smith <alice@contoso.com>".into(),
            subject: "Your Contoso verification code".into(),
            text: "Your code is 482913. It expires in 10 minutes.".into(),
            html: html.then(|| "<p>Your code is <b>482913</b>.</p>".into()),
        }
    }

    #[tokio::test]
    async fn plain_text_reaches_the_server() {
        let capture = SmtpCapture::start().await.unwrap();
        let mailer = SmtpMailer::new(settings(capture.port())).unwrap();
        mailer.send(&envelope(false)).await.unwrap();

        let mails = capture.messages();
        assert_eq!(mails.len(), 1);
        let mail = &mails[0];
        assert_eq!(mail.from, "no-reply@contoso.com");
        assert_eq!(mail.to, vec!["alice@contoso.com".to_owned()]);
        assert_eq!(
            mail.header("Subject").as_deref(),
            Some("Your Contoso verification code")
        );
        assert!(
            mail.header("From")
                .unwrap()
                .contains("no-reply@contoso.com")
        );
        assert!(mail.header("To").unwrap().contains("alice@contoso.com"));
        assert!(mail.header("Message-ID").is_some());
        assert!(mail.header("Date").is_some());
        assert!(
            mail.header("Content-Type")
                .unwrap()
                .starts_with("text/plain")
        );
        assert_eq!(extract_code(&mail.body_text()).as_deref(), Some("482913"));
    }

    #[tokio::test]
    async fn html_makes_a_multipart_alternative() {
        let capture = SmtpCapture::start().await.unwrap();
        let mailer = SmtpMailer::new(settings(capture.port())).unwrap();
        mailer.send(&envelope(true)).await.unwrap();

        let mail = capture
            .wait_for(|_| true, Duration::from_secs(1))
            .await
            .unwrap();
        assert!(
            mail.header("Content-Type")
                .unwrap()
                .starts_with("multipart/alternative")
        );
        assert_eq!(extract_code(&mail.body_text()).as_deref(), Some("482913"));
        assert!(mail.body_text().contains("It expires in 10 minutes."));
        assert!(mail.html_text().unwrap().contains("<b>482913</b>"));
    }

    #[tokio::test]
    async fn replies_are_classified() {
        let capture = SmtpCapture::start().await.unwrap();
        let mailer = SmtpMailer::new(settings(capture.port())).unwrap();

        capture.set_failing(Some("451 4.3.0 try later"));
        let err = mailer.send(&envelope(false)).await.unwrap_err();
        assert!(
            matches!(&err, SendError::Transient(t) if t.contains("try later")),
            "{err:?}"
        );

        capture.set_failing(Some("550 5.7.1 relaying denied"));
        let err = mailer.send(&envelope(false)).await.unwrap_err();
        assert!(matches!(err, SendError::Permanent(_)), "{err:?}");

        capture.set_failing(None);
        mailer.send(&envelope(false)).await.unwrap();
        assert_eq!(capture.messages().len(), 1);
    }

    #[tokio::test]
    async fn refused_connection_is_transient() {
        let closed = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let mailer = SmtpMailer::new(settings(closed)).unwrap();
        let err = mailer.send(&envelope(false)).await.unwrap_err();
        assert!(matches!(err, SendError::Transient(_)), "{err:?}");
    }

    #[test]
    fn settings_are_checked() {
        let mut bad = settings(25);
        bad.from = "Latchkey <no-reply@>".into();
        assert!(matches!(
            SmtpMailer::new(bad),
            Err(DeliveryError::Config(_))
        ));

        let mut half = settings(25);
        half.username = Some("relay".into());
        assert!(matches!(
            SmtpMailer::new(half),
            Err(DeliveryError::Config(_))
        ));

        let mut full = settings(587);
        full.tls = TlsMode::StartTls;
        full.host = "smtp.contoso.com".into();
        full.username = Some("relay".into());
        full.password = Some(SecretString::new("hunter2"));
        let mailer = SmtpMailer::new(full).unwrap();
        let shown = format!("{mailer:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("smtp.contoso.com"));
    }

    #[test]
    fn tls_mode_names_round_trip() {
        for mode in [TlsMode::None, TlsMode::StartTls, TlsMode::Tls] {
            assert_eq!(TlsMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(TlsMode::parse("STARTTLS"), Some(TlsMode::StartTls));
        assert_eq!(TlsMode::parse("ssl"), None);
    }
}
