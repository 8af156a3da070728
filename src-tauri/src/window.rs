//! The wizard's one window: an ordinary 480×640 window, or in kiosk mode a full-screen one
//! that stays on top and can only be left through the wizard's own Close (`close_app`).

use tauri::webview::NewWindowResponse;
use tauri::{AppHandle, Url, WebviewUrl, WebviewWindow, WebviewWindowBuilder, WindowEvent};

/// The window's label; `capabilities/main.json` grants the commands to it by this name.
pub const MAIN: &str = "main";

/// Opens the wizard's window.
pub fn open(app: &AppHandle, kiosk: bool) -> tauri::Result<WebviewWindow> {
    let builder = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::default())
        .title("Latchkey")
        // Nothing the wizard does needs to outlive the process (no cookies, no storage), and a
        // kiosk serves one person after another: keep the web view's data in memory only.
        .incognito(!under_webdriver())
        // The wizard never leaves its own pages; a link that tried would be a way out of the
        // kiosk, or to a look-alike page.
        .on_navigation(is_app_url)
        .on_new_window(|_, _| NewWindowResponse::Deny);
    let builder = if kiosk {
        builder
            .fullscreen(true)
            .decorations(false)
            .always_on_top(true)
            .closable(false)
            .minimizable(false)
            .maximizable(false)
            .resizable(false)
            .skip_taskbar(true)
            .focused(true)
    } else {
        builder
            .inner_size(480.0, 640.0)
            .min_inner_size(360.0, 480.0)
            .resizable(true)
            .center()
    };
    let window = builder.build()?;
    if kiosk {
        // Full screen is a request to the window manager, and a sign-in screen often has none
        // (nor has Xvfb): cover the monitor explicitly as well.
        if let Some(monitor) = window.current_monitor()?.or(window.primary_monitor()?) {
            window.set_position(*monitor.position())?;
            window.set_size(*monitor.size())?;
        }
        // Alt+F4 and the window manager's close still ask; the answer is no.
        window.on_window_event(|event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
            }
        });
    }
    Ok(window)
}

/// Whether a debug build runs under WebDriver (`tauri-driver` sets `TAURI_WEBVIEW_AUTOMATION`
/// for the end-to-end tests in `ui/e2e-desktop/`). On Linux wry gives an incognito web view a
/// web context of its own that never allows automation, so WebKitWebDriver could not attach;
/// there the tests' web view keeps the default context. Release builds are always incognito.
fn under_webdriver() -> bool {
    cfg!(debug_assertions) && std::env::var("TAURI_WEBVIEW_AUTOMATION").as_deref() == Ok("true")
}

/// Whether `url` is one of the app's own pages (`tauri://localhost` on Linux and macOS,
/// `http(s)://tauri.localhost` on Windows).
fn is_app_url(url: &Url) -> bool {
    url.scheme() == "tauri" || url.host_str() == Some("tauri.localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_pages() {
        let cases = [
            ("tauri://localhost/index.html", true),
            ("http://tauri.localhost/", true),
            ("https://tauri.localhost/assets/a.js", true),
            ("https://contoso.com/", false),
            ("http://tauri.localhost.evil.com/", false),
            ("file:///etc/passwd", false),
        ];
        for (url, want) in cases {
            assert_eq!(is_app_url(&Url::parse(url).unwrap()), want, "{url}");
        }
    }
}
