//! Latchkey's desktop shell: a Tauri 2 window hosting the wizard (`ui/`), with thin commands
//! over `latchkey-client` (the protocol), `latchkey-core` (local password rating) and the
//! managed desktop configuration. Kiosk mode (`--kiosk` or `kiosk = true`) serves the sign-in
//! screen: full screen, no way out but the wizard's Close, nothing kept between users.
//!
//! A missing or bad configuration never stops the app: `host_info` reports it as a `problem`
//! the wizard shows, and every other command fails with `config_invalid`.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod commands;
pub mod config;
pub mod desktop;
pub mod error;
pub mod locale;
pub mod rating;
#[cfg(test)]
mod testing;
pub mod window;

pub use desktop::{Desktop, HostInfo};
pub use error::Error;

/// Starts the app and runs it until the wizard closes it; returns only if Tauri fails to start.
pub fn run() -> Result<(), tauri::Error> {
    init_tracing();
    let desktop = Desktop::from_env();
    let kiosk = desktop.kiosk();
    tracing::info!(kiosk, "starting");
    tauri::Builder::default()
        .manage(desktop)
        .invoke_handler(tauri::generate_handler![
            commands::host_info,
            commands::service_config,
            commands::captcha,
            commands::start_recovery,
            commands::start_challenge,
            commands::verify,
            commands::set_password,
            commands::unlock,
            commands::change_password,
            commands::rate_password,
            commands::close_app,
        ])
        .setup(move |app| {
            window::open(app.handle(), kiosk)?;
            Ok(())
        })
        .run(tauri::generate_context!())
}

/// Logs to stderr, `warn` and up unless `LATCHKEY_LOG` (an `EnvFilter`) says otherwise.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LATCHKEY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // A second initialisation (tests) is harmless; ignore it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
