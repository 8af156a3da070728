//! `cargo xtask`: orchestration for developers and CI — the demo, the whole test suite.
//! Keeps its own dependencies to `anyhow`; everything else is a child process.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

const USAGE: &str = "usage: cargo xtask <demo [--data-dir DIR] | test | check | bench>

  demo   run the reset service with demo users on its embedded defaults
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
            check(&root)?;
            test(&root)
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

fn demo(root: &Path, rest: &[String]) -> anyhow::Result<()> {
    let mut args = vec![
        "run",
        "--locked",
        "--package",
        "latchkey-server",
        "--",
        "serve",
        "--demo",
    ];
    args.extend(rest.iter().map(String::as_str));
    run(root, "cargo", &args)
}

fn check(root: &Path) -> anyhow::Result<()> {
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
