//! `cargo xtask`: orchestration for developers and CI — the demo, the whole test suite.
//! Keeps its own dependencies to `anyhow`; everything else is a child process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

const USAGE: &str = "usage: cargo xtask <demo [--directory embedded|ldap|ad] [--data-dir DIR] | test | check | bench>

  demo   run the reset service with demo users on its embedded defaults, or against a private
         OpenLDAP (--directory ldap) or Samba Active Directory DC (--directory ad, needs root)
         holding the same users
  test   run every test (unit, store and directory stories, end to end), after format, licence
         (cargo deny) and clippy checks
  check  the format, licence and clippy checks only
  bench  measure the service's steps against baselines taken in the same run (release build)";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root()?;
    match args.first().map(String::as_str) {
        Some("demo") => demo(&root, &args[1..]),
        Some("test") => {
            ui(&root)?;
            check(&root)?;
            test(&root)?;
            end_to_end(&root)
        }
        Some("check") => check(&root),
        Some("bench") => run(
            &root,
            "cargo",
            &[
                "run",
                "--locked",
                "--release",
                "--package",
                "latchkey-tests",
                "--bin",
                "latchkey-bench",
            ],
        ),
        _ => {
            eprintln!("{USAGE}");
            bail!("unknown or missing command")
        }
    }
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask lives one folder below the workspace root")
}

fn run(root: &Path, program: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The value after `flag` in `args`, if the flag is there.
fn flag_value<'a>(args: &'a [String], flag: &str) -> anyhow::Result<Option<&'a str>> {
    match args.iter().position(|a| a == flag) {
        Some(i) => Ok(Some(
            args.get(i + 1)
                .map(String::as_str)
                .with_context(|| format!("{flag} needs a value"))?,
        )),
        None => Ok(None),
    }
}

fn demo(root: &Path, rest: &[String]) -> anyhow::Result<()> {
    let directory = flag_value(rest, "--directory")?.unwrap_or("embedded");
    if !matches!(directory, "embedded" | "ldap" | "ad") {
        bail!("--directory must be embedded, ldap or ad, not {directory:?}");
    }
    ui_built(root)?;
    let mut build = vec![
        "build",
        "--locked",
        "--package",
        "latchkey-server",
        "--package",
        "latchkey-desktop",
    ];
    if directory != "embedded" {
        build.extend([
            "--package",
            "latchkey-tests",
            "--bin",
            "latchkey-demo-directory",
        ]);
    }
    // `--bin` narrows every package to that binary, so the service and desktop build first.
    if directory == "embedded" {
        run(root, "cargo", &build)?;
    } else {
        run(root, "cargo", &build[..6])?;
        run(root, "cargo", &build)?;
    }
    let data_dir = match flag_value(rest, "--data-dir")? {
        Some(dir) => PathBuf::from(dir),
        None => root.join("latchkey-demo"),
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    // An LDAP or AD demo: the private directory first; it stops when its standard input closes,
    // that is when this process ends, however it ends.
    let mut directory_process = None;
    let mut server_cmd = Command::new(root.join("target/debug/latchkey-server"));
    server_cmd
        .args(["serve", "--demo", "--data-dir"])
        .arg(&data_dir);
    if directory != "embedded" {
        let config = data_dir.join(format!("directory-{directory}.toml"));
        let (child, ready) = start_demo_directory(root, directory, &config)?;
        directory_process = Some(child);
        if !ready {
            bail!("the demo {directory} directory did not start (see its messages above)");
        }
        server_cmd.arg("--config").arg(&config);
    }
    let addr = std::env::var("LATCHKEY_HTTP__ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let mut server = server_cmd
        .current_dir(root)
        .spawn()
        .context("starting latchkey-server")?;
    if !wait_ready(&addr, Duration::from_secs(30)) {
        let _ = server.kill();
        bail!("the demo service did not become ready on {addr}");
    }
    if let Err(e) = open_desktop(root, &data_dir, &addr) {
        // Don't leave a service behind on the port.
        let _ = server.kill();
        let _ = server.wait();
        return Err(e);
    }
    let status = server.wait().context("waiting for latchkey-server")?;
    if let Some(mut child) = directory_process {
        // Closing its standard input stops the directory.
        drop(child.stdin.take());
        let _ = child.wait();
    }
    if !status.success() {
        bail!("latchkey-server stopped: {status}");
    }
    Ok(())
}

/// Opens the desktop wizard against the demo service when there is a display.
fn open_desktop(root: &Path, data_dir: &Path, addr: &str) -> anyhow::Result<()> {
    let has_display =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    if !has_display {
        eprintln!(
            "No display: the desktop wizard is not opened. The wizard is in your browser at http://{addr}/"
        );
        return Ok(());
    }
    let config = data_dir.join("desktop.toml");
    std::fs::write(&config, format!("service_url = \"http://{addr}\"\n"))
        .context("writing the demo desktop config")?;
    eprintln!("Opening the desktop wizard; the same wizard is in your browser at http://{addr}/");
    Command::new(root.join("target/debug/latchkey"))
        .env("LATCHKEY_DESKTOP_CONFIG", &config)
        .current_dir(root)
        .spawn()
        .context("starting the desktop wizard")?;
    Ok(())
}

/// Starts `latchkey-demo-directory`; whether it said `ready`.
fn start_demo_directory(
    root: &Path,
    kind: &str,
    config: &Path,
) -> anyhow::Result<(std::process::Child, bool)> {
    use std::io::BufRead as _;
    use std::process::Stdio;
    let mut child = Command::new(root.join("target/debug/latchkey-demo-directory"))
        .arg(kind)
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .current_dir(root)
        .spawn()
        .context("starting latchkey-demo-directory")?;
    let stdout = child.stdout.take().context("its standard output")?;
    let ready = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line == "ready");
    Ok((child, ready))
}

/// Polls `GET /readyz` with a bare HTTP/1.0 request (xtask keeps its dependencies to anyhow).
fn wait_ready(addr: &str, patience: Duration) -> bool {
    use std::io::{Read as _, Write as _};
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(addr) {
            let mut reply = String::new();
            let asked = stream
                .write_all(b"GET /readyz HTTP/1.0\r\nHost: demo\r\n\r\n")
                .is_ok();
            if asked
                && stream.read_to_string(&mut reply).is_ok()
                && (reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200"))
            {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// The wizard: dependencies exactly as locked, type check, unit and component tests, and the
/// build that the desktop app embeds and the service serves. Runs first: `src-tauri` compiles
/// `ui/dist` into the binary.
fn ui(root: &Path) -> anyhow::Result<()> {
    let ui = root.join("ui");
    run(&ui, "npm", &["ci", "--no-audit", "--no-fund"])?;
    run(&ui, "npm", &["run", "check"])?;
    run(&ui, "npm", &["test"])?;
    run(&ui, "npm", &["run", "build"])
}

/// Builds the wizard (a few seconds), installing its dependencies first if they are missing,
/// for commands that need a current `ui/dist` but not the wizard's tests.
fn ui_built(root: &Path) -> anyhow::Result<()> {
    let ui = root.join("ui");
    if !ui.join("node_modules").is_dir() {
        run(&ui, "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    run(&ui, "npm", &["run", "build"])
}

/// The wizard in Chromium (axe on every screen; the portal against the real service), then the
/// real desktop app under Xvfb through WebDriver.
fn end_to_end(root: &Path) -> anyhow::Result<()> {
    run(
        root,
        "cargo",
        &[
            "build",
            "--locked",
            "--package",
            "latchkey-server",
            "--package",
            "latchkey-desktop",
        ],
    )?;
    let server = root.join("target/debug/latchkey-server");
    eprintln!("$ LATCHKEY_SERVER_BIN={} npm run e2e", server.display());
    let status = Command::new("npm")
        .args(["run", "e2e"])
        .env("LATCHKEY_SERVER_BIN", &server)
        .current_dir(root.join("ui"))
        .status()
        .context("starting npm")?;
    if !status.success() {
        bail!("the browser end-to-end tests failed ({status})");
    }
    run(root, "bash", &["ui/e2e-desktop/run.sh"])
}

fn check(root: &Path) -> anyhow::Result<()> {
    // Clippy compiles the desktop app, which embeds the built wizard.
    ui_built(root)?;
    run(root, "cargo", &["fmt", "--all", "--check"])?;
    // Licences must allow MIT OR Apache-2.0; advisories need the network, so CI checks the rest.
    run(
        root,
        "cargo",
        &[
            "deny",
            "--log-level",
            "error",
            "check",
            "licenses",
            "bans",
            "sources",
        ],
    )?;
    run(
        root,
        "cargo",
        &[
            "clippy",
            "--locked",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )
}

fn test(root: &Path) -> anyhow::Result<()> {
    run(
        root,
        "cargo",
        &["test", "--locked", "--workspace", "--no-fail-fast"],
    )
}
