//! The one error type that crosses IPC. It serializes as the protocol's `ErrorBody`
//! (`{code, message, violations?, retry_after?, attempts_left?, help_desk?}`), so the wizard
//! handles the service's errors and the desktop's own (`unreachable`, `timeout`,
//! `certificate_untrusted`, `config_invalid`) the same way in every backend.

use std::error::Error as StdError;

use latchkey_proto::ErrorBody;
use serde::{Serialize, Serializer};

use crate::config::ConfigError;

/// The desktop's own error codes; the service's codes pass through untouched.
pub mod codes {
    /// No connection to the service (network down, wrong URL, service stopped, not Latchkey).
    pub const UNREACHABLE: &str = "unreachable";
    /// The service did not answer in time.
    pub const TIMEOUT: &str = "timeout";
    /// TLS failed because this computer does not trust the service's certificate.
    pub const CERTIFICATE_UNTRUSTED: &str = "certificate_untrusted";
    /// The managed configuration is missing or wrong.
    pub const CONFIG_INVALID: &str = "config_invalid";
}

/// What a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The service answered with an error body; it reaches the wizard unchanged.
    #[error("{} ({})", .0.message, .0.code)]
    Api(Box<ErrorBody>),
    /// The service could not be reached.
    #[error("the reset service at {service} can't be reached")]
    Unreachable {
        /// The configured service URL (never a request URL: those hold flow ids).
        service: String,
    },
    /// The service answered, but not in the protocol (a proxy page, another server).
    #[error("the reset service at {service} gave an answer that isn't Latchkey's protocol")]
    UnexpectedAnswer {
        /// The configured service URL.
        service: String,
    },
    /// The service did not answer in time.
    #[error("the reset service at {service} didn't answer in time")]
    Timeout {
        /// The configured service URL.
        service: String,
    },
    /// This computer does not trust the service's certificate.
    #[error("the certificate of the reset service at {service} isn't trusted")]
    CertificateUntrusted {
        /// The configured service URL.
        service: String,
    },
    /// The managed configuration is missing or wrong.
    #[error(transparent)]
    ConfigInvalid(#[from] ConfigError),
}

impl Error {
    /// The stable machine code the wizard branches on.
    pub fn code(&self) -> &str {
        match self {
            Error::Api(body) => &body.code,
            Error::Unreachable { .. } | Error::UnexpectedAnswer { .. } => codes::UNREACHABLE,
            Error::Timeout { .. } => codes::TIMEOUT,
            Error::CertificateUntrusted { .. } => codes::CERTIFICATE_UNTRUSTED,
            Error::ConfigInvalid(_) => codes::CONFIG_INVALID,
        }
    }

    /// The body the wizard receives.
    pub fn to_body(&self) -> ErrorBody {
        let message = match self {
            Error::Api(body) => return (**body).clone(),
            Error::Unreachable { service } => format!(
                "Can't reach the password reset service at {service}. Check your network connection and try again. If it keeps happening, contact your help desk."
            ),
            Error::UnexpectedAnswer { service } => format!(
                "The password reset service at {service} gave an answer this app doesn't understand. Its address may be wrong: contact your help desk."
            ),
            Error::Timeout { service } => format!(
                "The password reset service at {service} didn't answer in time. Try again in a moment."
            ),
            Error::CertificateUntrusted { service } => format!(
                "This computer doesn't trust the security certificate of the password reset service at {service}, so it didn't connect. Contact your help desk."
            ),
            Error::ConfigInvalid(e) => e.to_string(),
        };
        ErrorBody {
            code: self.code().to_owned(),
            message,
            violations: Vec::new(),
            retry_after: None,
            attempts_left: None,
            help_desk: None,
        }
    }
}

/// Crossing IPC: the protocol's error body, whatever the variant.
impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_body().serialize(serializer)
    }
}

/// Why a request never got an answer, read from the transport error's chain of causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// No connection (refused, no route, DNS, reset).
    Unreachable,
    /// Connecting or answering took too long.
    Timeout,
    /// The TLS handshake refused the service's certificate.
    CertificateUntrusted,
}

impl TransportFailure {
    /// Classifies a transport error (a `reqwest::Error` and its causes). A certificate problem
    /// anywhere in the chain wins: it is the one failure retrying cannot fix.
    pub fn classify(err: &(dyn StdError + 'static)) -> Self {
        let mut timeout = false;
        let mut current = Some(err);
        while let Some(e) = current {
            if let Some(r) = e.downcast_ref::<reqwest::Error>() {
                timeout |= r.is_timeout();
                // reqwest's own message only names the URL, which says nothing of the cause.
            } else {
                if let Some(io) = e.downcast_ref::<std::io::Error>() {
                    timeout |= io.kind() == std::io::ErrorKind::TimedOut;
                }
                // rustls reaches us wrapped in io and hyper errors, so its message is the stable
                // part: "invalid peer certificate: UnknownIssuer", "…: Expired", "…: NotValidForName".
                let msg = e.to_string().to_ascii_lowercase();
                if msg.contains("certificate") || msg.contains("unknownissuer") {
                    return TransportFailure::CertificateUntrusted;
                }
            }
            current = e.source();
        }
        if timeout {
            TransportFailure::Timeout
        } else {
            TransportFailure::Unreachable
        }
    }

    /// The error for a service at `service` failing this way.
    pub fn into_error(self, service: &str) -> Error {
        let service = service.to_owned();
        match self {
            TransportFailure::Unreachable => Error::Unreachable { service },
            TransportFailure::Timeout => Error::Timeout { service },
            TransportFailure::CertificateUntrusted => Error::CertificateUntrusted { service },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;
    use std::net::TcpListener;
    use std::time::Duration;

    use latchkey_proto::{HelpDesk, Violation};
    use serde_json::json;

    use super::*;

    fn json_of(e: &Error) -> serde_json::Value {
        serde_json::to_value(e).unwrap()
    }

    #[test]
    fn api_errors_pass_through_unchanged() {
        let body = ErrorBody {
            code: "password_rejected".into(),
            message: "This password breaks the rules.".into(),
            violations: vec![
                Violation {
                    rule: "too_short".into(),
                    message: "Use at least 12 characters.".into(),
                },
                Violation {
                    rule: "banned".into(),
                    message: "Too common.".into(),
                },
            ],
            retry_after: None,
            attempts_left: None,
            help_desk: None,
        };
        let e = Error::Api(Box::new(body.clone()));
        assert_eq!(
            json_of(&e),
            json!({
                "code": "password_rejected",
                "message": "This password breaks the rules.",
                "violations": [
                    {"rule": "too_short", "message": "Use at least 12 characters."},
                    {"rule": "banned", "message": "Too common."}
                ]
            })
        );
        assert_eq!(e.to_body(), body);
    }

    #[test]
    fn api_error_extras_pass_through() {
        let cases = [
            (
                ErrorBody {
                    code: "rate_limited".into(),
                    message: "Wait.".into(),
                    violations: vec![],
                    retry_after: Some(30),
                    attempts_left: None,
                    help_desk: None,
                },
                json!({"code": "rate_limited", "message": "Wait.", "retry_after": 30}),
            ),
            (
                ErrorBody {
                    code: "code_invalid".into(),
                    message: "Wrong code.".into(),
                    violations: vec![],
                    retry_after: None,
                    attempts_left: Some(2),
                    help_desk: None,
                },
                json!({"code": "code_invalid", "message": "Wrong code.", "attempts_left": 2}),
            ),
            (
                ErrorBody {
                    code: "contact_administrator".into(),
                    message: "Ask.".into(),
                    violations: vec![],
                    retry_after: None,
                    attempts_left: None,
                    help_desk: Some(HelpDesk {
                        email: Some("help@contoso.com".into()),
                        phone: None,
                        url: None,
                    }),
                },
                json!({"code": "contact_administrator", "message": "Ask.", "help_desk": {"email": "help@contoso.com"}}),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(json_of(&Error::Api(Box::new(body))), want);
        }
    }

    #[test]
    fn host_errors_have_stable_codes_and_no_extras() {
        let s = "https://reset.contoso.com".to_owned();
        let cases = [
            (Error::Unreachable { service: s.clone() }, "unreachable"),
            (
                Error::UnexpectedAnswer { service: s.clone() },
                "unreachable",
            ),
            (Error::Timeout { service: s.clone() }, "timeout"),
            (
                Error::CertificateUntrusted { service: s.clone() },
                "certificate_untrusted",
            ),
            (
                Error::ConfigInvalid(ConfigError::NotConfigured {
                    searched: "/etc/latchkey/desktop.toml".into(),
                }),
                "config_invalid",
            ),
        ];
        for (e, code) in cases {
            let v = json_of(&e);
            let obj = v.as_object().unwrap();
            assert_eq!(obj["code"], code);
            let keys: Vec<_> = obj.keys().map(String::as_str).collect();
            assert_eq!(keys, ["code", "message"], "{e:?}");
            let message = obj["message"].as_str().unwrap();
            if code == "config_invalid" {
                assert!(message.contains("/etc/latchkey/desktop.toml"), "{message}");
                assert!(message.contains("service_url"), "{message}");
            } else {
                assert!(message.contains(&s), "{message}");
            }
        }
    }

    /// A chain of plain errors, innermost last.
    #[derive(Debug)]
    struct Chain(&'static str, Option<Box<Chain>>);
    impl fmt::Display for Chain {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl StdError for Chain {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|c| c as _)
        }
    }

    #[test]
    fn classification_table() {
        let chain = |msgs: &[&'static str]| {
            msgs.iter()
                .rev()
                .fold(None, |inner, m| Some(Box::new(Chain(m, inner))))
                .unwrap()
        };
        let cases: &[(&[&str], TransportFailure)] = &[
            (
                &[
                    "client error (Connect)",
                    "tcp connect error",
                    "Connection refused (os error 111)",
                ],
                TransportFailure::Unreachable,
            ),
            (
                &[
                    "client error (Connect)",
                    "invalid peer certificate: UnknownIssuer",
                ],
                TransportFailure::CertificateUntrusted,
            ),
            (
                &[
                    "client error (Connect)",
                    "invalid peer certificate: NotValidForName",
                ],
                TransportFailure::CertificateUntrusted,
            ),
            (
                &["dns error", "failed to lookup address information"],
                TransportFailure::Unreachable,
            ),
        ];
        for (msgs, want) in cases {
            assert_eq!(
                TransportFailure::classify(chain(msgs).as_ref()),
                *want,
                "{msgs:?}"
            );
        }
        let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, "operation timed out");
        assert_eq!(
            TransportFailure::classify(&timed_out),
            TransportFailure::Timeout
        );
    }

    async fn real_error(client: reqwest::Client, url: &str) -> reqwest::Error {
        client.get(url).send().await.unwrap_err()
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = real_error(reqwest::Client::new(), &format!("http://127.0.0.1:{port}/")).await;
        assert_eq!(
            TransportFailure::classify(&e),
            TransportFailure::Unreachable
        );
    }

    #[tokio::test]
    async fn a_silent_service_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepts and then says nothing.
        std::thread::spawn(move || {
            let _held: Vec<_> = listener.incoming().take(1).collect();
            std::thread::sleep(Duration::from_secs(5));
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let e = real_error(client, &format!("http://{addr}/")).await;
        assert_eq!(TransportFailure::classify(&e), TransportFailure::Timeout);
    }

    #[tokio::test]
    async fn an_unknown_certificate_authority_is_untrusted() {
        let addr = crate::testing::tls_server();
        let e = real_error(reqwest::Client::new(), &format!("https://{addr}/")).await;
        assert_eq!(
            TransportFailure::classify(&e),
            TransportFailure::CertificateUntrusted,
            "{:?}",
            e
        );
    }
}
