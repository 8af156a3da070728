//! The Latchkey reset service: configuration, the HTTP API, and the application layer that
//! drives the domain (`latchkey-core`) over a store, a directory and an outbox.
//!
//! The binary in `main.rs` is glue around [`serve::start`].
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod app;
pub mod config;
pub mod demo;
pub mod error;
pub mod http;
pub mod serve;
pub mod state;

pub use config::Config;
pub use serve::{Running, start};
pub use state::{AppState, Dependencies};

/// The OpenAPI document of the service.
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::openapi_spec()
}
