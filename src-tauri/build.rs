//! Declares the app's commands to Tauri's ACL (each gets an `allow-<command>` permission that
//! `capabilities/main.json` grants) and checks that the wizard has been built.

use std::path::Path;

/// Every `#[tauri::command]` in `src/commands.rs`; a command missing here cannot be invoked.
const COMMANDS: &[&str] = &[
    "host_info",
    "service_config",
    "captcha",
    "start_recovery",
    "start_challenge",
    "verify",
    "set_password",
    "unlock",
    "change_password",
    "rate_password",
    "close_app",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `generate_context!` embeds ../ui/dist; without it the failure is an opaque macro panic,
    // or with an empty folder a blank window, so say what to do instead.
    println!("cargo:rerun-if-changed=../ui/dist");
    if !Path::new("../ui/dist/index.html").exists() {
        return Err(
            "../ui/dist/index.html is missing: build the wizard first (`npm --prefix ui run build`)"
                .into(),
        );
    }
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )?;
    Ok(())
}
