//! A private Samba Active Directory DC for tests: provisioned once per test process into a
//! template folder (~8 s), cloned per run (a copy and one path rewrite), seeded with users by
//! `ldbadd`, and started in the foreground on 127.0.0.1 with its own CA and a leaf certificate
//! with a subjectAltName (rustls rejects Samba's generated one). LDAPS listens on the fixed port
//! 636, so only one DC runs at a time in a network namespace: run AD tests in one test function.
//! Needs root and Debian's `samba samba-ad-dc samba-ad-provision winbind ldb-tools openssl`.
//! Stopped (the process group terminated and the child reaped) on drop.

use std::fmt::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use latchkey_core::secret::SecretString;

use crate::LdapSettings;
use crate::ad::ad_settings;

/// Set (to anything) to make a missing Samba a test failure instead of a skip.
pub const REQUIRE_ENV: &str = "LATCHKEY_REQUIRE_SAMBA";
/// The realm.
pub const REALM: &str = "EXAMPLE.TEST";
/// The NetBIOS domain.
pub const DOMAIN: &str = "EXAMPLE";
/// The domain's root.
pub const BASE_DN: &str = "DC=example,DC=test";
/// Where users are created.
pub const USERS_DN: &str = "CN=Users,DC=example,DC=test";
/// The service account (the domain administrator: reset rights over every user).
pub const SERVICE_DN: &str = "CN=Administrator,CN=Users,DC=example,DC=test";
const SERVICE_PASSWORD: &str = "Adm1n-Pass!";
/// The policy's minimum length.
pub const MIN_LENGTH: usize = 10;
/// The policy's history depth.
pub const HISTORY: u32 = 3;
/// Failed binds that lock an account.
pub const LOCKOUT_THRESHOLD: u32 = 3;
/// The policy's maximum password age, in days.
pub const MAX_AGE_DAYS: u64 = 42;
/// The DC's address and LDAPS URL.
pub const DC_IP: &str = "127.0.0.1";
/// The LDAPS URL (fixed port).
pub const LDAPS_URL: &str = "ldaps://127.0.0.1:636";

/// Why the harness could not start the DC.
#[derive(Debug, Clone, thiserror::Error)]
#[error("test Samba DC: {0}")]
pub struct HarnessError(String);

fn err(what: &str, e: impl std::fmt::Display) -> HarnessError {
    HarnessError(format!("{what}: {e}"))
}

/// A user to seed.
#[derive(Debug, Clone)]
pub struct TestAdUser {
    /// The sAMAccountName (also the CN); the UPN is `name@example.test`.
    pub name: String,
    /// The initial password (seeded without policy checks).
    pub password: SecretString,
    /// The `mail` attribute, if any.
    pub mail: Option<String>,
    /// Given name and surname (`displayName` is both); the name and "Tester" if absent.
    pub names: Option<(String, String)>,
    /// The `mobile` attribute, if any.
    pub mobile: Option<String>,
    /// The `telephoneNumber` attribute, if any.
    pub telephone_number: Option<String>,
    /// Seed `pwdLastSet` in 1970, so the password has expired under the domain's maximum age
    /// (a bind answers `data 532`).
    pub expired: bool,
}

/// A fine-grained password policy (PSO) to seed, applied to some users. Ages and durations are
/// the domain's; Samba treats a maximum age of a day or less as "never", so a PSO cannot make a
/// password expire within a test.
#[derive(Debug, Clone)]
pub struct TestPso {
    /// Its CN, under `CN=Password Settings Container,CN=System`.
    pub name: String,
    /// Lower wins when several apply.
    pub precedence: u32,
    /// `msDS-MinimumPasswordLength`.
    pub min_length: usize,
    /// `msDS-PasswordHistoryLength`.
    pub history: u32,
    /// `msDS-LockoutThreshold`.
    pub lockout_threshold: u32,
    /// `msDS-MaximumPasswordAge`, in days.
    pub max_age_days: u64,
    /// The users (names) it applies to.
    pub applies_to: Vec<String>,
}

impl TestPso {
    /// The PSO's DN.
    pub fn dn(&self) -> String {
        format!(
            "CN={},CN=Password Settings Container,CN=System,{BASE_DN}",
            crate::escape::dn_value(&self.name)
        )
    }
}

impl TestAdUser {
    /// A user with `name@example.org` as mail.
    pub fn new(name: &str, password: &str) -> Self {
        Self {
            name: name.to_owned(),
            password: SecretString::new(password),
            mail: Some(format!("{name}@example.org")),
            names: None,
            mobile: None,
            telephone_number: None,
            expired: false,
        }
    }

    /// The user's DN.
    pub fn dn(&self) -> String {
        format!("CN={},{USERS_DN}", crate::escape::dn_value(&self.name))
    }
}

/// Whether tests should run against Samba: `Ok(false)` (skip, with a message on stderr) only
/// when Samba is missing and [`REQUIRE_ENV`] is unset; an error when it is missing but required.
/// Present but not root is an error: the DC needs the fixed ports.
pub fn samba_available() -> Result<bool, HarnessError> {
    let installed = which("samba")
        && which("samba-tool")
        && which("ldbadd")
        && Path::new("/usr/share/samba/setup/ad-schema").is_dir();
    if !installed {
        if std::env::var_os(REQUIRE_ENV).is_some() {
            return Err(HarnessError(format!(
                "Samba is missing but {REQUIRE_ENV} is set; install samba samba-ad-dc \
                 samba-ad-provision winbind ldb-tools openssl"
            )));
        }
        eprintln!(
            "SKIPPED: Samba AD DC is missing (apt-get install samba samba-ad-dc \
             samba-ad-provision winbind ldb-tools openssl); set {REQUIRE_ENV}=1 to fail instead"
        );
        return Ok(false);
    }
    let uid = run(Command::new("id").arg("-u"), "id -u")?;
    if uid != "0" {
        return Err(HarnessError(
            "Samba is installed but the tests do not run as root; the DC needs ports 389 and 636"
                .to_owned(),
        ));
    }
    Ok(true)
}

fn which(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(bin).is_file()))
        || Path::new("/usr/sbin").join(bin).is_file()
}

fn run(cmd: &mut Command, what: &str) -> Result<String, HarnessError> {
    let out = cmd.output().map_err(|e| err(what, e))?;
    if !out.status.success() {
        return Err(HarnessError(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn write(path: &Path, text: &str) -> Result<(), HarnessError> {
    std::fs::write(path, text).map_err(|e| err(&format!("writing {}", path.display()), e))
}

/// A CA and a leaf for 127.0.0.1 / localhost in `t`: ca.pem, cert.pem, key.pem.
fn make_certs(t: &Path) -> Result<(), HarnessError> {
    let p = |f: &str| t.join(f).display().to_string();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    run(
        Command::new("openssl")
            .args(["req", "-x509"])
            .args(ec)
            .args(["-keyout", &p("ca.key"), "-out", &p("ca.pem"), "-days", "30"])
            .args(["-subj", "/CN=latchkey-samba-test-ca"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
        "openssl (CA)",
    )?;
    run(
        Command::new("openssl")
            .arg("req")
            .args(ec)
            .args(["-keyout", &p("key.pem"), "-out", &p("leaf.csr")])
            .args(["-subj", "/CN=localhost"]),
        "openssl (CSR)",
    )?;
    write(
        &t.join("leaf.ext"),
        &format!(
            "subjectAltName=IP:{DC_IP},DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        ),
    )?;
    run(
        Command::new("openssl").args([
            "x509",
            "-req",
            "-in",
            &p("leaf.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-days",
            "30",
            "-out",
            &p("cert.pem"),
            "-extfile",
            &p("leaf.ext"),
        ]),
        "openssl (sign)",
    )?;
    // Samba refuses a key file others can read.
    for key in ["key.pem", "ca.key"] {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(t.join(key), std::fs::Permissions::from_mode(0o600))
            .map_err(|e| err("chmod", e))?;
    }
    Ok(())
}

/// Provisions a domain into `root` (`root/dc` the DC, `root/tls` the certificates).
fn provision(root: &Path) -> Result<(), HarnessError> {
    let dc = root.join("dc");
    let tls = root.join("tls");
    std::fs::create_dir_all(&tls).map_err(|e| err("mkdir", e))?;
    make_certs(&tls)?;
    let empty = root.join("empty.conf");
    write(&empty, "")?; // don't inherit /etc/samba/smb.conf
    let d = dc.display();
    let t = tls.display();
    let options = [
        format!("interfaces = {DC_IP}"),
        "bind interfaces only = yes".to_owned(),
        "server services = ldap".to_owned(),
        format!("tls keyfile = {t}/key.pem"),
        format!("tls certfile = {t}/cert.pem"),
        format!("tls cafile = {t}/ca.pem"),
        format!("log file = {d}/log/%m.log"),
        format!("pid directory = {d}/run"),
        format!("ncalrpc dir = {d}/run/ncalrpc"),
        format!("winbindd socket directory = {d}/run/winbindd"),
        format!("ntp signd socket directory = {d}/run/ntp_signd"),
    ];
    let mut cmd = Command::new("samba-tool");
    cmd.args(["domain", "provision", "-s"])
        .arg(&empty)
        .arg(format!("--targetdir={d}"))
        .arg(format!("--realm={REALM}"))
        .arg(format!("--domain={DOMAIN}"))
        .args([
            "--server-role=dc",
            "--dns-backend=NONE",
            "--host-name=dc1",
            "--use-rfc2307",
        ])
        .arg(format!("--adminpass={SERVICE_PASSWORD}"));
    for o in &options {
        cmd.arg(format!("--option={o}"));
    }
    run(&mut cmd, "samba-tool domain provision")?;
    // Not honoured as --option by provision; without it the previous password still binds for
    // an hour after a change or reset.
    let conf = dc.join("etc/smb.conf");
    let text = std::fs::read_to_string(&conf).map_err(|e| err("reading smb.conf", e))?;
    let text = text.replacen(
        "[global]\n",
        "[global]\n\told password allowed period = 0\n",
        1,
    );
    write(&conf, &text)?;
    // Minimum age 0, or a second change in a row fails.
    run(
        Command::new("samba-tool")
            .args(["domain", "passwordsettings", "set", "-s"])
            .arg(&conf)
            .args([
                "--complexity=on",
                &format!("--min-pwd-length={MIN_LENGTH}"),
                &format!("--history-length={HISTORY}"),
                "--min-pwd-age=0",
                &format!("--max-pwd-age={MAX_AGE_DAYS}"),
                &format!("--account-lockout-threshold={LOCKOUT_THRESHOLD}"),
                "--account-lockout-duration=30",
                "--reset-account-lockout-after=30",
            ]),
        "samba-tool domain passwordsettings set",
    )?;
    Ok(())
}

/// Template folders of test processes that are gone.
fn remove_stale_templates(tmp: &Path) {
    let Ok(dir) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("latchkey-samba-template-")
            && pid != std::process::id().to_string()
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The provisioned template of this test process.
fn template() -> Result<PathBuf, HarnessError> {
    static TEMPLATE: OnceLock<Mutex<Option<Result<PathBuf, HarnessError>>>> = OnceLock::new();
    let mut slot = TEMPLATE
        .get_or_init(|| Mutex::new(None))
        .lock()
        .map_err(|_| HarnessError("template lock poisoned".to_owned()))?;
    if let Some(done) = slot.as_ref() {
        return done.clone();
    }
    let tmp = std::env::temp_dir();
    remove_stale_templates(&tmp);
    let root = tmp.join(format!("latchkey-samba-template-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let result = provision(&root).map(|()| root.clone());
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&root);
    }
    *slot = Some(result.clone());
    result
}

/// Copies `from` into `to` (both folders), as `cp -a` does.
fn copy_tree(from: &Path, to: &Path) -> Result<(), HarnessError> {
    run(
        Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", from.display()))
            .arg(to),
        "cp -a",
    )
    .map(|_| ())
}

fn users_ldif(users: &[TestAdUser]) -> String {
    let mut out = String::new();
    for u in users {
        let pwd = base64(&crate::ad::unicode_pwd(u.password.expose()));
        let (given, surname) = u
            .names
            .clone()
            .unwrap_or_else(|| (u.name.clone(), "Tester".to_owned()));
        let _ = write!(
            out,
            "dn: {}\nobjectClass: user\nsAMAccountName: {}\nuserPrincipalName: {}@{}\n\
             givenName: {given}\nsn: {surname}\ndisplayName: {given} {surname}\n\
             userAccountControl: 512\nunicodePwd:: {pwd}\n",
            u.dn(),
            u.name,
            u.name,
            REALM.to_ascii_lowercase(),
        );
        crate::testing::contact_attributes(
            &mut out,
            u.mail.as_deref(),
            u.mobile.as_deref(),
            u.telephone_number.as_deref(),
        );
        out.push('\n');
    }
    out
}

/// 100-ns intervals per day, AD's unit for ages (stored negative).
const TICKS_PER_DAY: i64 = 864_000_000_000;

fn psos_ldif(psos: &[TestPso]) -> String {
    let mut out = String::new();
    for p in psos {
        let _ = write!(
            out,
            "dn: {}\nobjectClass: msDS-PasswordSettings\n\
             msDS-PasswordSettingsPrecedence: {}\n\
             msDS-PasswordReversibleEncryptionEnabled: FALSE\n\
             msDS-PasswordHistoryLength: {}\nmsDS-PasswordComplexityEnabled: TRUE\n\
             msDS-MinimumPasswordLength: {}\nmsDS-MinimumPasswordAge: 0\n\
             msDS-MaximumPasswordAge: {}\nmsDS-LockoutThreshold: {}\n\
             msDS-LockoutObservationWindow: -18000000000\nmsDS-LockoutDuration: -18000000000\n",
            p.dn(),
            p.precedence,
            p.history,
            p.min_length,
            -(p.max_age_days as i64) * TICKS_PER_DAY,
            p.lockout_threshold,
        );
        for user in &p.applies_to {
            let _ = writeln!(
                out,
                "msDS-PSOAppliesTo: CN={},{USERS_DN}",
                crate::escape::dn_value(user)
            );
        }
        out.push('\n');
    }
    out
}

/// Back-dates `pwdLastSet` of expired users. Through `sam.ldb` Samba allows only 0 or -1, so
/// this writes the domain partition's file directly, below Samba's modules.
fn expire_ldif(users: &[TestAdUser]) -> String {
    let mut out = String::new();
    for u in users.iter().filter(|u| u.expired) {
        // 1970-01-01 as a FILETIME: long past any maximum age.
        let _ = write!(
            out,
            "dn: {}\nchangetype: modify\nreplace: pwdLastSet\npwdLastSet: 116444736000000000\n\n",
            u.dn()
        );
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A running private Samba AD DC.
#[derive(Debug)]
pub struct TestSamba {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// The test CA's certificate (PEM).
    pub ca_file: PathBuf,
}

impl TestSamba {
    /// Clones the process's template (provisioning it first if needed), seeds `users` and starts
    /// the DC; returns once LDAPS answers.
    pub fn start(users: &[TestAdUser]) -> Result<Self, HarnessError> {
        Self::start_with(users, &[])
    }

    /// [`TestSamba::start`], with fine-grained password policies as well.
    pub fn start_with(users: &[TestAdUser], psos: &[TestPso]) -> Result<Self, HarnessError> {
        let template = template()?;
        let dir = tempfile::Builder::new()
            .prefix("latchkey-samba-")
            .tempdir()
            .map_err(|e| err("temp dir", e))?;
        let root = dir.path();
        copy_tree(&template, root)?;
        // Only smb.conf holds absolute paths; the ldb and tdb files don't.
        let conf = root.join("dc/etc/smb.conf");
        let text = std::fs::read_to_string(&conf).map_err(|e| err("reading smb.conf", e))?;
        let text = text.replace(
            &format!("{}/", template.display()),
            &format!("{}/", root.display()),
        );
        write(&conf, &text)?;
        let ldif = root.join("users.ldif");
        write(&ldif, &users_ldif(users))?;
        if !users.is_empty() {
            run(
                Command::new("ldbadd")
                    .arg("-H")
                    .arg(root.join("dc/private/sam.ldb"))
                    .arg(&ldif),
                "ldbadd (users)",
            )?;
        }
        if !psos.is_empty() {
            let ldif = root.join("psos.ldif");
            write(&ldif, &psos_ldif(psos))?;
            run(
                Command::new("ldbadd")
                    .arg("-H")
                    .arg(root.join("dc/private/sam.ldb"))
                    .arg(&ldif),
                "ldbadd (password settings)",
            )?;
        }
        let expire = expire_ldif(users);
        if !expire.is_empty() {
            let ldif = root.join("expire.ldif");
            write(&ldif, &expire)?;
            let partition = root.join(format!(
                "dc/private/sam.ldb.d/{}.ldb",
                BASE_DN.to_ascii_uppercase()
            ));
            run(
                Command::new("ldbmodify")
                    .arg("-H")
                    .arg(format!("tdb://{}", partition.display()))
                    .arg(&ldif),
                "ldbmodify (expired passwords)",
            )?;
        }
        for sub in ["dc/log", "dc/run"] {
            std::fs::create_dir_all(root.join(sub)).map_err(|e| err("mkdir", e))?;
        }
        let log =
            std::fs::File::create(root.join("dc/log/samba.out")).map_err(|e| err("log", e))?;
        let log2 = log.try_clone().map_err(|e| err("log", e))?;
        let child = Command::new("samba")
            .arg("-s")
            .arg(&conf)
            .args(["-i", "-M", "single"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0)
            .spawn()
            .map_err(|e| err("spawning samba", e))?;
        let mut me = Self {
            child: Some(child),
            ca_file: root.join("tls/ca.pem"),
            dir,
        };
        if let Err(e) = me.wait_ready() {
            let log =
                std::fs::read_to_string(me.dir.path().join("dc/log/samba.out")).unwrap_or_default();
            me.stop();
            return Err(HarnessError(format!("{e}; log: {log}")));
        }
        Ok(me)
    }

    /// Waits until a TLS handshake on 636 verifies against the test CA.
    fn wait_ready(&mut self) -> Result<(), HarnessError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let connect = format!("{DC_IP}:636");
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait().map_err(|e| err("waiting", e))?
            {
                return Err(HarnessError(format!("samba exited: {status}")));
            }
            let ok = Command::new("openssl")
                .args(["s_client", "-connect", &connect, "-CAfile"])
                .arg(&self.ca_file)
                .args(["-verify_return_error", "-brief"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(HarnessError(
                    "samba did not answer LDAPS in 60 s".to_owned(),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Settings for the service account over LDAPS, verified against the test CA.
    pub fn settings(&self) -> LdapSettings {
        let mut s = ad_settings(
            LDAPS_URL,
            SERVICE_DN,
            SecretString::new(SERVICE_PASSWORD),
            BASE_DN,
        );
        s.ca_file = Some(self.ca_file.clone());
        s
    }

    /// The DC's folder (config, database, logs).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Terminates the DC's process group and reaps it; SIGKILL after 5 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        let kill = |signal: &str| {
            let _ = Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        kill("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    kill("-KILL");
                    let _ = child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        // Children of the single-process model, if any, go with the group.
        kill("-KILL");
    }
}

impl Drop for TestSamba {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }
}
