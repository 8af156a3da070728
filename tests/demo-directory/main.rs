//! `latchkey-demo-directory ldap|ad CONFIG`: a private slapd or Samba AD DC on loopback holding
//! the demo users (same logins, names and passwords as the embedded demo), for
//! `cargo xtask demo --directory ldap|ad`. Writes the `[directory]` settings the service needs
//! to CONFIG, prints `ready` and keeps the directory running until Ctrl-C, SIGTERM or the end of
//! its standard input (xtask holds the other end), then stops it.
// A command-line tool prints its answers.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use latchkey_core::secret::SecretString;
use latchkey_directory_ldap::LdapSettings;
use latchkey_directory_ldap::testing::{self, TestSlapd};
use latchkey_directory_ldap::testing_ad::{self, TestSamba};
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (kind, out) = match args.as_slice() {
        [kind, out] if kind == "ldap" || kind == "ad" => (kind.as_str(), PathBuf::from(out)),
        _ => bail!("usage: latchkey-demo-directory ldap|ad CONFIG_OUT"),
    };
    // The running directory (a `TestSlapd` or `TestSamba`); dropping it stops the server.
    let (running, settings): (Box<dyn std::any::Any>, LdapSettings) = match kind {
        "ldap" => {
            if !testing::slapd_available()? {
                bail!("slapd is not installed (apt-get install slapd ldap-utils)");
            }
            let users = latchkey_tests::demo_users::ldap();
            let slapd = TestSlapd::start(&users).context("starting slapd")?;
            let settings = slapd.settings();
            (Box::new(slapd), settings)
        }
        _ => {
            // The DC takes the fixed ports 389 and 636.
            let root = std::process::Command::new("id")
                .arg("-u")
                .output()
                .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
            if !root {
                bail!(
                    "the Active Directory demo runs a Samba domain controller on ports 389 and \
                     636, which needs root: run it as root (sudo -E cargo xtask demo --directory ad)"
                );
            }
            if !testing_ad::samba_available()? {
                bail!(
                    "Samba is not installed (apt-get install samba samba-ad-dc \
                     samba-ad-provision winbind ldb-tools openssl)"
                );
            }
            let users = latchkey_tests::demo_users::ad();
            eprintln!("Provisioning a private Samba AD domain (about 10 s)…");
            let samba = TestSamba::start(&users).context("starting Samba")?;
            let settings = samba.settings();
            (Box::new(samba), settings)
        }
    };
    write_config(&out, kind, &settings)?;
    println!("ready");
    eprintln!(
        "Demo {kind} directory at {} (base {}); settings in {}",
        settings.url,
        settings.base_dn,
        out.display()
    );

    let mut interrupt = signal(SignalKind::interrupt()).context("SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("SIGTERM")?;
    // Standard input is read on a thread of its own (tokio's needs a feature nothing else
    // uses); its end means xtask is gone.
    let (closed_tx, closed) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = closed_tx.send(());
    });
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
        _ = closed => {}
    }
    eprintln!("Stopping the demo {kind} directory");
    drop(running);
    Ok(())
}

/// The `[directory]` section for the service, as TOML.
fn write_config(path: &Path, kind: &str, s: &LdapSettings) -> anyhow::Result<()> {
    let quote = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    let mut text = format!(
        "# Written by latchkey-demo-directory; valid while it runs.\n[directory]\n\
         kind = {}\nurl = {}\nstarttls = {}\nbind_dn = {}\nbind_password = {}\nbase_dn = {}\n",
        quote(kind),
        quote(&s.url),
        s.starttls,
        quote(&s.bind_dn),
        quote(SecretString::expose(&s.bind_password)),
        quote(&s.base_dn),
    );
    if let Some(ca) = &s.ca_file {
        text.push_str(&format!("ca_file = {}\n", quote(&ca.display().to_string())));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    // It holds the service account's password.
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
