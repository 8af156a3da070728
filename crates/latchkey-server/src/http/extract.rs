//! Request extractors that answer bad input in the service's error format: JSON bodies (bad
//! syntax, wrong types, unknown fields, too large, wrong media type) and the caller's address.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body. Error messages name the field but never echo a value, since the value may be a
/// password sent with the wrong type.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedJson
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body into `T`, mapping errors to [`ApiError`] without echoing values.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => ApiError::MalformedJson,
            serde_json::error::Category::Data => {
                ApiError::InvalidRequest(describe_data_error(&path, &inner.to_string()))
            }
        }
    })?;
    // Anything after the value (`{...} trailing`) makes the body malformed, as for serde_json.
    de.end().map_err(|_| ApiError::MalformedJson)?;
    Ok(value)
}

/// Turns serde's data error into a sentence naming the field, dropping the offending value.
fn describe_data_error(path: &str, message: &str) -> String {
    let field = if path == "." || path.is_empty() {
        String::new()
    } else {
        format!("`{path}`")
    };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = rest.split(',').next().unwrap_or(rest).trim();
        return format!("unknown field {name}");
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = rest.split(' ').next().unwrap_or(rest).trim();
        return format!("missing field {name}");
    }
    if message.starts_with("invalid type") {
        let expected = message
            .split("expected ")
            .nth(1)
            .map(|e| e.split(" at line").next().unwrap_or(e))
            .unwrap_or("another type");
        return if field.is_empty() {
            format!("the body must be {expected}")
        } else {
            format!("field {field} must be {expected}")
        };
    }
    if field.is_empty() {
        "the request body has an invalid value".to_owned()
    } else {
        format!("field {field} has an invalid value")
    }
}

/// Path parameters; a segment that is not valid UTF-8 (or otherwise unreadable) is a 404 in
/// our error format rather than axum's plain-text 400.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|_| ApiError::NotFound)
    }
}

/// The caller's address: the peer, or the client named by a trusted proxy's `X-Forwarded-For`.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let Some(peer) = peer else {
            return Ok(ClientIp(None));
        };
        if !state.config().http.trusted_proxies.contains(&peer) {
            return Ok(ClientIp(Some(peer)));
        }
        // The right-most address a trusted proxy appended is the one it saw.
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back();
        Ok(ClientIp(Some(forwarded.unwrap_or(peer))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_proto::StartRecovery;

    #[test]
    fn bad_bodies() {
        let cases: &[(&[u8], &str)] = &[
            (b"{", "malformed_json"),
            (b"", "malformed_json"),
            (b"\xff\xfe", "malformed_json"),
            (b"[1,2]", "invalid_request"),
            (br#"{"user_id":1,"intent":"reset"}"#, "invalid_request"),
            (
                br#"{"user_id":"a","intent":"reset","bogus":true}"#,
                "invalid_request",
            ),
            (br#"{"user_id":"a","intent":"explode"}"#, "invalid_request"),
            (br#"{"intent":"reset"}"#, "invalid_request"),
            (
                br#"{"user_id":"a","intent":"reset"} trailing"#,
                "malformed_json",
            ),
        ];
        for (body, code) in cases {
            let err = parse_json::<StartRecovery>(body).unwrap_err();
            assert_eq!(err.code(), *code, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn messages_never_echo_values() {
        let err = parse_json::<latchkey_proto::SetPassword>(br#"{"new_password": 31415926}"#)
            .unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains("31415926"), "{msg}");
        assert!(msg.contains("new_password"), "{msg}");
        let err =
            parse_json::<StartRecovery>(br#"{"user_id":"a","intent":"hunter2"}"#).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
