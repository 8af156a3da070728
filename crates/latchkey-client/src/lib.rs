//! A typed client of the Latchkey protocol (v1), for the desktop app and the tests. Every error
//! the service answers arrives as [`ClientError::Api`] with its stable code.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::time::Duration;

use latchkey_proto as proto;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What can go wrong calling the service.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error body.
    #[error("{} ({})", body.message, body.code)]
    Api {
        /// HTTP status.
        status: u16,
        /// The error body (boxed: it is large next to the other variants).
        body: Box<proto::ErrorBody>,
    },
    /// The service could not be reached (connection, TLS, timeout).
    #[error("the service can't be reached: {0}")]
    Transport(String),
    /// The answer was not what the protocol says.
    #[error("unexpected answer from the service: {0}")]
    Decode(String),
}

impl ClientError {
    /// The stable error code, for API errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { body, .. } => Some(&body.code),
            _ => None,
        }
    }
}

/// A client bound to one service.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    /// A client for the service at `base_url` (e.g. `https://reset.contoso.com`).
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(Self::with_http(http, base_url))
    }

    /// A client using a prepared `reqwest::Client` (custom CA, proxy).
    pub fn with_http(http: reqwest::Client, base_url: &str) -> Self {
        Self {
            http,
            base: format!("{}{}", base_url.trim_end_matches('/'), proto::API_PREFIX),
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let resp = req
            .send()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
        } else {
            let body = serde_json::from_slice::<proto::ErrorBody>(&bytes)
                .map_err(|_| ClientError::Decode(format!("HTTP {status} without an error body")))?;
            Err(ClientError::Api {
                status: status.as_u16(),
                body: Box::new(body),
            })
        }
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// `GET /config`.
    pub async fn config(&self) -> Result<proto::ServiceConfig, ClientError> {
        self.get("/config").await
    }

    /// `POST /captcha`.
    pub async fn captcha(
        &self,
        variant: proto::CaptchaVariant,
    ) -> Result<proto::CaptchaChallenge, ClientError> {
        self.post(
            "/captcha",
            &proto::CaptchaRequest {
                variant: Some(variant),
            },
        )
        .await
    }

    /// `POST /recovery`.
    pub async fn start_recovery(
        &self,
        req: &proto::StartRecovery,
    ) -> Result<proto::RecoveryStarted, ClientError> {
        self.post("/recovery", req).await
    }

    /// `POST /recovery/{flow_id}/challenges`.
    pub async fn start_challenge(
        &self,
        flow_id: &str,
        method_id: &str,
    ) -> Result<proto::ChallengeStarted, ClientError> {
        self.post(
            &format!("/recovery/{flow_id}/challenges"),
            &proto::StartChallenge {
                method_id: method_id.to_owned(),
            },
        )
        .await
    }

    /// `POST /recovery/{flow_id}/challenges/{challenge_id}/verify`.
    pub async fn verify(
        &self,
        flow_id: &str,
        challenge_id: &str,
        code: &str,
    ) -> Result<proto::ChallengeVerified, ClientError> {
        self.post(
            &format!("/recovery/{flow_id}/challenges/{challenge_id}/verify"),
            &proto::VerifyChallenge {
                code: proto::Secret::new(code),
            },
        )
        .await
    }

    /// `GET /recovery/{flow_id}/challenges/{challenge_id}`.
    pub async fn challenge_status(
        &self,
        flow_id: &str,
        challenge_id: &str,
    ) -> Result<proto::ChallengeStatus, ClientError> {
        self.get(&format!("/recovery/{flow_id}/challenges/{challenge_id}"))
            .await
    }

    /// `POST /recovery/{flow_id}/password`.
    pub async fn set_password(
        &self,
        flow_id: &str,
        new_password: &str,
    ) -> Result<proto::Completed, ClientError> {
        self.post(
            &format!("/recovery/{flow_id}/password"),
            &proto::SetPassword {
                new_password: proto::Secret::new(new_password),
            },
        )
        .await
    }

    /// `POST /recovery/{flow_id}/unlock`.
    pub async fn unlock(&self, flow_id: &str) -> Result<proto::Completed, ClientError> {
        self.send(
            self.http
                .post(format!("{}/recovery/{flow_id}/unlock", self.base)),
        )
        .await
    }

    /// `POST /password/change`.
    pub async fn change_password(
        &self,
        user_id: &str,
        old_password: &str,
        new_password: &str,
    ) -> Result<proto::Completed, ClientError> {
        self.post(
            "/password/change",
            &proto::ChangePassword {
                user_id: user_id.to_owned(),
                old_password: proto::Secret::new(old_password),
                new_password: proto::Secret::new(new_password),
            },
        )
        .await
    }

    /// `POST /password/check`.
    pub async fn check_password(
        &self,
        password: &str,
        user_id: Option<&str>,
        flow_id: Option<&str>,
    ) -> Result<proto::PasswordRating, ClientError> {
        self.post(
            "/password/check",
            &proto::CheckPassword {
                password: proto::Secret::new(password),
                user_id: user_id.map(str::to_owned),
                flow_id: flow_id.map(str::to_owned),
            },
        )
        .await
    }
}
