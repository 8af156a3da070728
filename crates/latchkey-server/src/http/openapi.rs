//! The OpenAPI document, generated from the handlers' annotations and the wire types.

use latchkey_proto as proto;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = "Self-service password reset: anonymous recovery (reset, unlock) and password change.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        super::config,
        super::captcha,
        super::start_recovery,
        super::start_challenge,
        super::challenge_status,
        super::verify,
        super::set_password,
        super::unlock,
        super::change_password,
        super::check_password,
        super::healthz,
        super::readyz,
    ),
    components(schemas(proto::ErrorBody, proto::Violation, proto::HelpDesk))
)]
struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

/// The document, for tests and codegen.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
