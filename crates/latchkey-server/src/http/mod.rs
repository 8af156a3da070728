//! The HTTP surface: routes under `/api/v1`, each one call into [`crate::app`], plus health,
//! readiness and the OpenAPI document.

pub mod extract;
mod openapi;

pub use openapi::spec as openapi_spec;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_proto as proto;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use extract::{ApiJson, ApiPath, ClientIp};

type ApiResult<T> = Result<axum::Json<T>, ApiError>;

/// The whole router.
pub fn router(state: AppState) -> Router {
    let limit = state.config().http.max_body_bytes;
    let api = Router::new()
        .route("/config", get(config))
        .route("/captcha", post(captcha))
        .route("/recovery", post(start_recovery))
        .route("/recovery/{flow_id}/challenges", post(start_challenge))
        .route(
            "/recovery/{flow_id}/challenges/{challenge_id}",
            get(challenge_status),
        )
        .route(
            "/recovery/{flow_id}/challenges/{challenge_id}/verify",
            post(verify),
        )
        .route("/recovery/{flow_id}/password", post(set_password))
        .route("/recovery/{flow_id}/unlock", post(unlock))
        .route("/password/change", post(change_password))
        .route("/password/check", post(check_password))
        .route("/openapi.json", get(openapi::document))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let root = Router::new()
        .nest(proto::API_PREFIX, api)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .method_not_allowed_fallback(method_not_allowed);
    let root = match &state.config().portal.dir {
        Some(dir) => root.fallback_service(portal(dir)),
        None => root.fallback(not_found),
    };
    root.layer(DefaultBodyLimit::max(limit))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                // Method and route only: paths carry flow ids, and queries are never logged.
                let route = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map_or("?", |p| p.as_str())
                    .to_owned();
                tracing::info_span!("request", method = %req.method(), route)
            }),
        )
        .with_state(state)
}

/// The wizard as static files, every unknown path answered with its `index.html`, under a
/// content security policy that allows nothing but this origin (and data: images, for the
/// CAPTCHA).
fn portal(dir: &std::path::Path) -> Router {
    let files = tower_http::services::ServeDir::new(dir)
        .fallback(tower_http::services::ServeFile::new(dir.join("index.html")));
    Router::new()
        .fallback_service(files)
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PORTAL_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}

/// The portal's content security policy.
pub const PORTAL_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[utoipa::path(get, path = "/api/v1/config", responses((status = 200, body = proto::ServiceConfig)))]
async fn config(State(state): State<AppState>) -> axum::Json<proto::ServiceConfig> {
    axum::Json(state.public_config.clone())
}

#[utoipa::path(post, path = "/api/v1/captcha", request_body(content = Option<proto::CaptchaRequest>, description = "Optional; empty means the image variant"),
    responses((status = 200, body = proto::CaptchaChallenge), (status = 409, body = proto::ErrorBody), (status = 429, body = proto::ErrorBody)))]
async fn captcha(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    req: Request<Body>,
) -> ApiResult<proto::CaptchaChallenge> {
    // The body is optional: a bare POST asks for the image variant.
    let bytes = axum::body::to_bytes(req.into_body(), state.config().http.max_body_bytes)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let request: proto::CaptchaRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        proto::CaptchaRequest::default()
    } else {
        extract::parse_json(&bytes)?
    };
    let variant = request.variant.unwrap_or(proto::CaptchaVariant::Image);
    app::captcha::new_challenge(&state, &Caller { source: ip }, variant)
        .await
        .map(axum::Json)
}

#[utoipa::path(post, path = "/api/v1/recovery", request_body = proto::StartRecovery,
    responses((status = 200, body = proto::RecoveryStarted), (status = 400, body = proto::ErrorBody), (status = 403, description = "contact_administrator or intent_disabled", body = proto::ErrorBody), (status = 429, body = proto::ErrorBody)))]
async fn start_recovery(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<proto::StartRecovery>,
) -> ApiResult<proto::RecoveryStarted> {
    app::recovery::start(&state, &Caller { source: ip }, req)
        .await
        .map(axum::Json)
}

#[utoipa::path(post, path = "/api/v1/recovery/{flow_id}/challenges", request_body = proto::StartChallenge, params(("flow_id" = String, Path)),
    responses((status = 200, body = proto::ChallengeStarted), (status = 404, body = proto::ErrorBody), (status = 410, body = proto::ErrorBody), (status = 429, body = proto::ErrorBody)))]
async fn start_challenge(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(flow_id): ApiPath<String>,
    ApiJson(req): ApiJson<proto::StartChallenge>,
) -> ApiResult<proto::ChallengeStarted> {
    app::recovery::start_challenge(&state, &Caller { source: ip }, &flow_id, req)
        .await
        .map(axum::Json)
}

#[utoipa::path(get, path = "/api/v1/recovery/{flow_id}/challenges/{challenge_id}", params(("flow_id" = String, Path), ("challenge_id" = String, Path)),
    responses((status = 200, body = proto::ChallengeStatus), (status = 404, body = proto::ErrorBody)))]
async fn challenge_status(
    State(state): State<AppState>,
    ApiPath((flow_id, challenge_id)): ApiPath<(String, String)>,
) -> ApiResult<proto::ChallengeStatus> {
    app::recovery::challenge_status(&state, &flow_id, &challenge_id)
        .await
        .map(axum::Json)
}

#[utoipa::path(post, path = "/api/v1/recovery/{flow_id}/challenges/{challenge_id}/verify", request_body = proto::VerifyChallenge, params(("flow_id" = String, Path), ("challenge_id" = String, Path)),
    responses((status = 200, body = proto::ChallengeVerified), (status = 400, description = "code_invalid or code_malformed", body = proto::ErrorBody), (status = 403, description = "too_many_attempts", body = proto::ErrorBody), (status = 410, description = "code_expired or flow_expired", body = proto::ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath((flow_id, challenge_id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<proto::VerifyChallenge>,
) -> ApiResult<proto::ChallengeVerified> {
    app::recovery::verify(&state, &Caller { source: ip }, &flow_id, &challenge_id, req)
        .await
        .map(axum::Json)
}

#[utoipa::path(post, path = "/api/v1/recovery/{flow_id}/password", request_body = proto::SetPassword, params(("flow_id" = String, Path)),
    responses((status = 200, body = proto::Completed), (status = 403, description = "not_verified", body = proto::ErrorBody), (status = 422, description = "password_rejected: every broken rule listed", body = proto::ErrorBody), (status = 503, body = proto::ErrorBody)))]
async fn set_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(flow_id): ApiPath<String>,
    ApiJson(req): ApiJson<proto::SetPassword>,
) -> ApiResult<proto::Completed> {
    app::recovery::set_password(&state, &Caller { source: ip }, &flow_id, req)
        .await
        .map(axum::Json)
}

#[utoipa::path(post, path = "/api/v1/recovery/{flow_id}/unlock", params(("flow_id" = String, Path)),
    responses((status = 200, body = proto::Completed), (status = 403, description = "not_verified or wrong_intent", body = proto::ErrorBody)))]
async fn unlock(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(flow_id): ApiPath<String>,
) -> ApiResult<proto::Completed> {
    app::recovery::unlock(&state, &Caller { source: ip }, &flow_id)
        .await
        .map(axum::Json)
}

#[utoipa::path(post, path = "/api/v1/password/change", request_body = proto::ChangePassword,
    responses((status = 200, body = proto::Completed), (status = 401, body = proto::ErrorBody), (status = 422, body = proto::ErrorBody), (status = 429, body = proto::ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<proto::ChangePassword>,
) -> ApiResult<proto::Completed> {
    app::password::change(&state, &Caller { source: ip }, req)
        .await
        .map(axum::Json)
}

#[utoipa::path(post, path = "/api/v1/password/check", request_body = proto::CheckPassword, responses((status = 200, body = proto::PasswordRating), (status = 429, body = proto::ErrorBody)))]
async fn check_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<proto::CheckPassword>,
) -> ApiResult<proto::PasswordRating> {
    app::password::check(&state, &Caller { source: ip }, req)
        .await
        .map(axum::Json)
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, body = proto::Health)))]
async fn healthz() -> axum::Json<proto::Health> {
    axum::Json(proto::Health {
        status: "ok".into(),
        checks: Vec::new(),
    })
}

#[utoipa::path(get, path = "/readyz", responses((status = 200, body = proto::Health), (status = 503, body = proto::Health)))]
async fn readyz(State(state): State<AppState>) -> Response {
    let store_ok = state.store.ping().await.is_ok();
    let dir_ok = state.directory.ping().await.is_ok();
    let status = |ok: bool| if ok { "ok" } else { "unavailable" }.to_owned();
    let body = proto::Health {
        status: status(store_ok && dir_ok),
        checks: vec![
            proto::HealthCheck {
                name: "store".into(),
                status: status(store_ok),
            },
            proto::HealthCheck {
                name: "directory".into(),
                status: status(dir_ok),
            },
        ],
    };
    let code = if store_ok && dir_ok {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}
