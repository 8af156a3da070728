//! A private OpenLDAP for tests and demos: Debian's `slapd` on a loopback port with its own
//! `cn=config` folder, an mdb database, the ppolicy overlay with a default policy, a non-root
//! service account with reset rights (the rootdn would skip ppolicy) and the users asked for.
//! Stopped (killed and reaped) on drop; the folder goes with it.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey_core::secret::SecretString;

use crate::LdapSettings;

/// Where Debian installs the server.
pub const SLAPD: &str = "/usr/sbin/slapd";
/// Set (to anything) to make a missing `slapd` a test failure instead of a skip.
pub const REQUIRE_ENV: &str = "LATCHKEY_REQUIRE_SLAPD";
/// The suffix of the test directory.
pub const BASE_DN: &str = "dc=example,dc=org";
/// Where users live.
pub const PEOPLE_DN: &str = "ou=people,dc=example,dc=org";
/// The default password policy entry.
pub const POLICY_DN: &str = "cn=default,ou=policies,dc=example,dc=org";
/// The service account (not the rootdn, so ppolicy applies to its resets).
pub const SERVICE_DN: &str = "cn=latchkey,ou=services,dc=example,dc=org";
const SERVICE_PASSWORD: &str = "service-account-Secret-1";
/// The policy's minimum length.
pub const MIN_LENGTH: usize = 8;
/// The policy's history depth.
pub const HISTORY: u32 = 3;
/// Failed binds that lock an account.
pub const LOCKOUT_THRESHOLD: u32 = 3;
/// The policy's maximum password age: 90 days.
pub const MAX_AGE_SECS: u64 = 90 * 24 * 3600;

/// Why the harness could not start slapd.
#[derive(Debug, thiserror::Error)]
#[error("test slapd: {0}")]
pub struct HarnessError(String);

fn err(what: &str, e: impl std::fmt::Display) -> HarnessError {
    HarnessError(format!("{what}: {e}"))
}

/// A user to seed.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// The `uid` (also the RDN).
    pub uid: String,
    /// The initial password.
    pub password: SecretString,
    /// The `mail` attribute, if any.
    pub mail: Option<String>,
    /// Given name and surname (`cn` and `displayName` are both); the uid for all three if absent.
    pub names: Option<(String, String)>,
    /// The `mobile` attribute, if any.
    pub mobile: Option<String>,
    /// The `telephoneNumber` attribute, if any.
    pub telephone_number: Option<String>,
    /// Seed `pwdChangedTime` in the year 2000, so the password has expired under the policy.
    pub expired: bool,
    /// Seed the permanent administrative lock (`pwdAccountLockedTime: 000001010000Z`).
    pub disabled: bool,
}

impl TestUser {
    /// A user with `uid@example.org` as mail, neither expired nor disabled.
    pub fn new(uid: &str, password: &str) -> Self {
        Self {
            uid: uid.to_owned(),
            password: SecretString::new(password),
            mail: Some(format!("{uid}@example.org")),
            names: None,
            mobile: None,
            telephone_number: None,
            expired: false,
            disabled: false,
        }
    }
}

/// Whether tests should run against slapd: `Ok(false)` (skip, with a message on stderr) only
/// when slapd is missing and [`REQUIRE_ENV`] is not set; an error when it is missing but required.
pub fn slapd_available() -> Result<bool, HarnessError> {
    if Path::new(SLAPD).exists() {
        return Ok(true);
    }
    if std::env::var_os(REQUIRE_ENV).is_some() {
        return Err(HarnessError(format!(
            "{SLAPD} is missing but {REQUIRE_ENV} is set; install slapd and ldap-utils"
        )));
    }
    eprintln!(
        "SKIPPED: {SLAPD} is missing (apt-get install slapd ldap-utils); set {REQUIRE_ENV}=1 to fail instead"
    );
    Ok(false)
}

/// A running private slapd.
#[derive(Debug)]
pub struct TestSlapd {
    child: Child,
    dir: tempfile::TempDir,
    /// The `ldap://127.0.0.1:PORT` URL (StartTLS-capable when started with TLS).
    pub url: String,
    /// The `ldaps://127.0.0.1:PORT` URL, when started with TLS.
    pub ldaps_url: Option<String>,
    /// The test CA's certificate (PEM), when started with TLS.
    pub ca_file: Option<PathBuf>,
}

/// A port that was free a moment ago (slapd cannot listen on port 0 and tell us the port).
fn free_port() -> Result<u16, HarnessError> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| err("binding port 0", e))?;
    Ok(l.local_addr().map_err(|e| err("local address", e))?.port())
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

fn hash(password: &str) -> Result<String, HarnessError> {
    run(
        Command::new("/usr/sbin/slappasswd").args(["-s", password]),
        "slappasswd",
    )
}

fn write(path: &Path, text: &str) -> Result<(), HarnessError> {
    std::fs::write(path, text).map_err(|e| err(&format!("writing {}", path.display()), e))
}

/// Makes a CA and a server certificate for localhost / 127.0.0.1 in `t`.
fn make_certs(t: &Path) -> Result<(), HarnessError> {
    let p = |f: &str| t.join(f).display().to_string();
    run(
        Command::new("openssl").args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=latchkey-test-ca",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.pem"),
        ]),
        "openssl (CA)",
    )?;
    run(
        Command::new("openssl").args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &p("server.key"),
            "-out",
            &p("server.csr"),
        ]),
        "openssl (CSR)",
    )?;
    write(
        &t.join("ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )?;
    run(
        Command::new("openssl").args([
            "x509",
            "-req",
            "-in",
            &p("server.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p("ext"),
            "-out",
            &p("server.pem"),
        ]),
        "openssl (sign)",
    )?;
    Ok(())
}

// The service account gets `write` on userPassword, not `manage`: ppolicy treats a writer with
// manage access as a password administrator and skips its quality checks on resets, so the
// directory's own minimum length would not apply. It gets `manage` on the rest of the people
// subtree, which it needs to set `pwdReset` and remove `pwdAccountLockedTime`.
fn config_ldif(dir: &Path, tls: Option<&Path>) -> Result<String, HarnessError> {
    let d = dir.display();
    let tls = match tls {
        Some(t) => format!(
            "olcTLSCACertificateFile: {}\nolcTLSCertificateFile: {}\nolcTLSCertificateKeyFile: {}\n",
            t.join("ca.pem").display(),
            t.join("server.pem").display(),
            t.join("server.key").display()
        ),
        None => String::new(),
    };
    Ok(format!(
        "dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {d}/slapd.pid
olcArgsFile: {d}/slapd.args
olcLogLevel: none
{tls}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcPasswordHash: {{SSHA}}

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {d}/db
olcDbMaxSize: 104857600
olcSuffix: {BASE_DN}
# A rootdn without a password: nobody can bind as it, but ppolicy records failures and lockouts
# through internal operations in its name.
olcRootDN: cn=admin,{BASE_DN}
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: mail eq
olcAccess: {{0}}to attrs=userPassword by self write by dn.exact=\"{SERVICE_DN}\" write by anonymous auth by * none
olcAccess: {{1}}to dn.subtree=\"{PEOPLE_DN}\" by dn.exact=\"{SERVICE_DN}\" manage by self read by * none
olcAccess: {{2}}to * by dn.exact=\"{SERVICE_DN}\" read by * none

dn: olcOverlay={{0}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{0}}ppolicy
olcPPolicyDefault: {POLICY_DN}
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
"
    ))
}

fn data_ldif(users: &[TestUser]) -> Result<String, HarnessError> {
    let mut out = format!(
        "dn: {BASE_DN}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: {PEOPLE_DN}
objectClass: organizationalUnit
ou: people

dn: ou=services,{BASE_DN}
objectClass: organizationalUnit
ou: services

dn: ou=policies,{BASE_DN}
objectClass: organizationalUnit
ou: policies

dn: {POLICY_DN}
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: {MIN_LENGTH}
pwdCheckQuality: 1
pwdInHistory: {HISTORY}
pwdMinAge: 0
pwdMaxAge: {MAX_AGE_SECS}
pwdLockout: TRUE
pwdMaxFailure: {LOCKOUT_THRESHOLD}
pwdLockoutDuration: 0
pwdFailureCountInterval: 0
pwdAllowUserChange: TRUE
pwdMustChange: TRUE
pwdSafeModify: FALSE

dn: {SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: latchkey
userPassword: {}

",
        hash(SERVICE_PASSWORD)?
    );
    for u in users {
        let uid = crate::escape::dn_value(&u.uid);
        let (given, surname) = u
            .names
            .clone()
            .unwrap_or_else(|| (u.uid.clone(), u.uid.clone()));
        let cn = if u.names.is_some() {
            format!("{given} {surname}")
        } else {
            u.uid.clone()
        };
        let _ = write!(
            out,
            "dn: uid={uid},{PEOPLE_DN}\nobjectClass: inetOrgPerson\nuid: {}\ncn: {cn}\n\
             displayName: {cn}\nsn: {surname}\ngivenName: {given}\n",
            u.uid
        );
        contact_attributes(
            &mut out,
            u.mail.as_deref(),
            u.mobile.as_deref(),
            u.telephone_number.as_deref(),
        );
        if u.expired {
            out.push_str("pwdChangedTime: 20000101000000Z\n");
        }
        if u.disabled {
            out.push_str("pwdAccountLockedTime: 000001010000Z\n");
        }
        let _ = write!(out, "userPassword: {}\n\n", hash(u.password.expose())?);
    }
    Ok(out)
}

/// Appends the LDIF lines of the contact attributes that are set (shared with the Samba
/// harness).
pub(crate) fn contact_attributes(
    out: &mut String,
    mail: Option<&str>,
    mobile: Option<&str>,
    telephone_number: Option<&str>,
) {
    for (attr, value) in [
        ("mail", mail),
        ("mobile", mobile),
        ("telephoneNumber", telephone_number),
    ] {
        if let Some(value) = value {
            let _ = writeln!(out, "{attr}: {value}");
        }
    }
}

impl TestSlapd {
    /// Starts slapd with `users`, plain LDAP only.
    pub fn start(users: &[TestUser]) -> Result<Self, HarnessError> {
        Self::start_with(users, false)
    }

    /// Starts slapd with `users`; with `tls`, also a test CA, StartTLS on the `ldap://` port and
    /// an `ldaps://` port.
    pub fn start_with(users: &[TestUser], tls: bool) -> Result<Self, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix("latchkey-slapd-")
            .tempdir()
            .map_err(|e| err("temp dir", e))?;
        let root = dir.path().to_path_buf();
        for sub in ["slapd.d", "db"] {
            std::fs::create_dir_all(root.join(sub)).map_err(|e| err("mkdir", e))?;
        }
        let tls_dir = if tls {
            let t = root.join("tls");
            std::fs::create_dir_all(&t).map_err(|e| err("mkdir", e))?;
            make_certs(&t)?;
            Some(t)
        } else {
            None
        };
        write(
            &root.join("config.ldif"),
            &config_ldif(&root, tls_dir.as_deref())?,
        )?;
        write(&root.join("data.ldif"), &data_ldif(users)?)?;
        let slapd_d = root.join("slapd.d").display().to_string();
        run(
            Command::new("/usr/sbin/slapadd").args([
                "-n0",
                "-F",
                &slapd_d,
                "-l",
                &root.join("config.ldif").display().to_string(),
            ]),
            "slapadd (config)",
        )?;
        run(
            Command::new("/usr/sbin/slapadd").args([
                "-n1",
                "-F",
                &slapd_d,
                "-l",
                &root.join("data.ldif").display().to_string(),
            ]),
            "slapadd (data)",
        )?;

        // slapd cannot listen on port 0, so pick ports that were free and retry if another
        // process takes one in between.
        let mut last = String::new();
        for _ in 0..8 {
            let port = free_port()?;
            let ldaps_port = if tls { Some(free_port()?) } else { None };
            let url = format!("ldap://127.0.0.1:{port}");
            let ldaps_url = ldaps_port.map(|p| format!("ldaps://127.0.0.1:{p}"));
            let mut listen = url.clone();
            if let Some(u) = &ldaps_url {
                listen = format!("{listen} {u}");
            }
            let log = std::fs::File::create(root.join("slapd.log")).map_err(|e| err("log", e))?;
            let log2 = log.try_clone().map_err(|e| err("log", e))?;
            // -d 0 keeps slapd in the foreground, so the child is slapd itself and kill reaches it.
            let mut child = Command::new(SLAPD)
                .args(["-F", &slapd_d, "-h", &listen, "-d", "0"])
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2)
                .spawn()
                .map_err(|e| err("spawning slapd", e))?;
            match wait_ready(&mut child, port, ldaps_port) {
                Ok(()) => {
                    return Ok(Self {
                        child,
                        ca_file: tls_dir.map(|t| t.join("ca.pem")),
                        dir,
                        url,
                        ldaps_url,
                    });
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last = format!(
                        "{e}; log: {}",
                        std::fs::read_to_string(root.join("slapd.log")).unwrap_or_default()
                    );
                }
            }
        }
        Err(HarnessError(format!("slapd did not start: {last}")))
    }

    /// Settings for the service account over plain `ldap://`.
    pub fn settings(&self) -> LdapSettings {
        LdapSettings::new(
            &self.url,
            SERVICE_DN,
            SecretString::new(SERVICE_PASSWORD),
            BASE_DN,
        )
    }

    /// The DN of a seeded user.
    pub fn user_dn(uid: &str) -> String {
        format!("uid={},{PEOPLE_DN}", crate::escape::dn_value(uid))
    }

    /// The server's folder (config, database, log).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Stops slapd (the folder stays until drop), e.g. to test reconnecting.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts slapd again on the same ports and data after [`TestSlapd::stop`].
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop();
        let slapd_d = self.dir.path().join("slapd.d").display().to_string();
        let mut listen = self.url.clone();
        if let Some(u) = &self.ldaps_url {
            listen = format!("{listen} {u}");
        }
        let port = port_of(&self.url)?;
        let ldaps_port = self.ldaps_url.as_deref().map(port_of).transpose()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut child = Command::new(SLAPD)
                .args(["-F", &slapd_d, "-h", &listen, "-d", "0"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| err("spawning slapd", e))?;
            match wait_ready(&mut child, port, ldaps_port) {
                Ok(()) => {
                    self.child = child;
                    return Ok(());
                }
                // The old socket may linger for a moment; try again until the deadline.
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

fn port_of(url: &str) -> Result<u16, HarnessError> {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| HarnessError(format!("no port in {url}")))
}

/// Waits until slapd accepts connections on every port, or fails if it exits first.
fn wait_ready(child: &mut Child, port: u16, ldaps: Option<u16>) -> Result<(), HarnessError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let ports: Vec<u16> = std::iter::once(port).chain(ldaps).collect();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| err("waiting", e))? {
            return Err(HarnessError(format!("slapd exited: {status}")));
        }
        let up = ports.iter().all(|p| {
            TcpStream::connect_timeout(
                &SocketAddr::from((Ipv4Addr::LOCALHOST, *p)),
                Duration::from_millis(200),
            )
            .is_ok()
        });
        if up {
            // A port someone else holds also accepts; make sure slapd is still alive.
            std::thread::sleep(Duration::from_millis(20));
            if let Some(status) = child.try_wait().map_err(|e| err("waiting", e))? {
                return Err(HarnessError(format!("slapd exited: {status}")));
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(HarnessError("slapd did not listen within 10 s".to_owned()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for TestSlapd {
    fn drop(&mut self) {
        self.stop();
    }
}
