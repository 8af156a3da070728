//! The managed desktop configuration: what IT deploys so the app knows which reset service to
//! talk to. Files are read in this order, each overriding the keys it sets:
//!
//! 1. `/etc/latchkey/desktop.toml`, machine-wide (optional);
//! 2. `$XDG_CONFIG_HOME/latchkey/desktop.toml` (default `~/.config/…`), per user (optional);
//! 3. the file named by `LATCHKEY_DESKTOP_CONFIG`, for tests (required when set).
//!
//! ```toml
//! service_url = "https://reset.contoso.com"   # required
//! ca_file = "/etc/latchkey/contoso-ca.pem"      # extra CA(s), trusted besides the system's
//! kiosk = false
//! idle_timeout_secs = 120                       # default 120 in kiosk mode, 0 = never
//! [branding]
//! organisation = "Contoso"                      # overrides the service's /config
//! logo_url = "/usr/share/contoso/logo.svg"      # http(s) URL, file path or data: URL
//! ```
//!
//! Every error names the file, the key and what is wrong, because it is shown to the person at
//! the screen (and read out to the help desk) instead of a crash.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::Deserialize;

/// The machine-wide file.
pub const MACHINE_FILE: &str = "/etc/latchkey/desktop.toml";
/// The environment variable naming one more file, read last (tests, trials).
pub const ENV_FILE: &str = "LATCHKEY_DESKTOP_CONFIG";
/// Idle seconds before a kiosk wizard returns to the start, unless configured.
pub const DEFAULT_KIOSK_IDLE_SECS: u64 = 120;
/// The shortest idle timeout that leaves time to type a code.
const MIN_IDLE_SECS: u64 = 10;
/// A day: anything longer is a typo for "never" (0).
const MAX_IDLE_SECS: u64 = 86_400;

/// The configuration, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The reset service, without a trailing slash (e.g. `https://reset.contoso.com`).
    pub service_url: Url,
    /// The extra CA file, if any.
    pub ca_file: Option<PathBuf>,
    /// Its certificates, trusted besides the system roots.
    pub ca_certificates: Vec<reqwest::Certificate>,
    /// Locked-down sign-in-screen mode.
    pub kiosk: bool,
    /// Idle seconds before the wizard returns to the start; `None` for never.
    pub idle_timeout_secs: Option<u64>,
    /// Branding that overrides what the service says.
    pub branding: Branding,
}

/// Branding overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    /// The organisation's name.
    pub organisation: Option<String>,
    /// The logo.
    pub logo: Option<Logo>,
}

/// Where a logo comes from. The wizard's content security policy only loads images from the
/// app itself or `data:` URLs, so every logo is turned into a `data:` URL before it is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logo {
    /// Fetched over http(s), trusting the same certificates as the service.
    Remote(Url),
    /// Read from disk (an absolute path or a `file:` URL).
    File(PathBuf),
    /// Already a `data:image/…` URL.
    Inline(String),
}

impl Logo {
    /// Parses a logo location from the managed configuration, which IT controls: an http(s) URL,
    /// an absolute path or `file:` URL, or a `data:image/…` URL.
    pub fn from_config(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if Path::new(raw).is_absolute() {
            return Ok(Logo::File(PathBuf::from(raw)));
        }
        let url = Url::parse(raw)
            .map_err(|e| format!("{raw:?} is not a URL or an absolute path: {e}"))?;
        match url.scheme() {
            "file" => url
                .to_file_path()
                .map(Logo::File)
                .map_err(|()| format!("{raw:?} is not a local file")),
            _ => Self::remote_or_inline(raw, url),
        }
    }

    /// Parses the logo location the service's `/config` gives: an http(s) URL, possibly relative
    /// to the service, or a `data:image/…` URL. Never a local file: the service has no business
    /// making the desktop read this computer's files.
    pub fn from_service(raw: &str, service: &Url) -> Result<Self, String> {
        let raw = raw.trim();
        let url = service
            .join(raw)
            .map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
        Self::remote_or_inline(raw, url)
    }

    fn remote_or_inline(raw: &str, url: Url) -> Result<Self, String> {
        match url.scheme() {
            "http" | "https" => Ok(Logo::Remote(url)),
            "data" if raw.starts_with("data:image/") => Ok(Logo::Inline(raw.to_owned())),
            "data" => Err("a data: URL must hold an image (data:image/…)".into()),
            other => Err(format!("{raw:?}: the {other}: scheme is not supported")),
        }
    }
}

/// Why the configuration can't be used. The message names the file, the key and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No file sets `service_url`.
    #[error(
        "Latchkey is not configured: set service_url (the reset service's address) in {searched}"
    )]
    NotConfigured {
        /// The files looked at, for the message.
        searched: String,
    },
    /// A file exists (or was named) but can't be read.
    #[error("{}: can't be read: {reason}", file.display())]
    Unreadable {
        /// The file.
        file: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// A file is not valid TOML or has an unknown key or a value of the wrong type.
    #[error("{}{}: {}{problem}", file.display(), line.map(|l| format!(", line {l}")).unwrap_or_default(), key.as_deref().map(|k| format!("{k}: ")).unwrap_or_default())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// The key, when known (`branding.logo_url`).
        key: Option<String>,
        /// What's wrong.
        problem: String,
    },
    /// A key has a value that can't be used.
    #[error("{}: {key}: {problem}", file.display())]
    Invalid {
        /// The file that set the key.
        file: PathBuf,
        /// The key (`service_url`, `branding.logo_url`).
        key: &'static str,
        /// What's wrong with its value.
        problem: String,
    },
}

/// One configuration file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    service_url: Option<String>,
    ca_file: Option<PathBuf>,
    kiosk: Option<bool>,
    idle_timeout_secs: Option<u64>,
    branding: Option<FileBranding>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBranding {
    organisation: Option<String>,
    logo_url: Option<String>,
}

/// A file to read and whether it must exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// Whether a missing file is an error (only for the one named explicitly).
    pub required: bool,
}

/// The files to read, lowest precedence first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources(pub Vec<Source>);

impl Sources {
    /// The standard locations, from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var_os(k))
    }

    /// The standard locations, with `env` standing in for the environment.
    pub fn from_lookup(env: impl Fn(&str) -> Option<OsString>) -> Self {
        let mut files = vec![Source {
            path: PathBuf::from(MACHINE_FILE),
            required: false,
        }];
        // XDG: a relative XDG_CONFIG_HOME is invalid and must be ignored.
        let config_home = env("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                env("HOME")
                    .map(PathBuf::from)
                    .filter(|p| p.is_absolute())
                    .map(|h| h.join(".config"))
            });
        if let Some(dir) = config_home {
            files.push(Source {
                path: dir.join("latchkey").join("desktop.toml"),
                required: false,
            });
        }
        if let Some(file) = env(ENV_FILE).filter(|f| !f.is_empty()) {
            files.push(Source {
                path: PathBuf::from(file),
                required: true,
            });
        }
        Sources(files)
    }
}

/// A value and the file that set it.
#[derive(Debug, Clone)]
struct Set<T> {
    value: T,
    file: PathBuf,
}

/// The files merged, key by key.
#[derive(Debug, Default)]
struct Merged {
    service_url: Option<Set<String>>,
    ca_file: Option<Set<PathBuf>>,
    kiosk: Option<bool>,
    idle_timeout_secs: Option<Set<u64>>,
    organisation: Option<Set<String>>,
    logo_url: Option<Set<String>>,
}

impl Merged {
    fn apply(&mut self, file: &Path, c: FileConfig) {
        let at = |value| Set {
            value,
            file: file.to_owned(),
        };
        if let Some(v) = c.service_url {
            self.service_url = Some(at(v));
        }
        if let Some(v) = c.ca_file {
            // A relative CA path is relative to the file that names it, not to wherever the app
            // happens to be started from.
            let v = match file.parent() {
                Some(dir) if v.is_relative() => dir.join(v),
                _ => v,
            };
            self.ca_file = Some(Set {
                value: v,
                file: file.to_owned(),
            });
        }
        if let Some(v) = c.kiosk {
            self.kiosk = Some(v);
        }
        if let Some(v) = c.idle_timeout_secs {
            self.idle_timeout_secs = Some(Set {
                value: v,
                file: file.to_owned(),
            });
        }
        if let Some(b) = c.branding {
            if let Some(v) = b.organisation {
                self.organisation = Some(at(v));
            }
            if let Some(v) = b.logo_url {
                self.logo_url = Some(at(v));
            }
        }
    }
}

impl Settings {
    /// Reads and validates the configuration from `sources`.
    pub fn load(sources: &Sources) -> Result<Settings, ConfigError> {
        let mut merged = Merged::default();
        for source in &sources.0 {
            let text = match std::fs::read_to_string(&source.path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !source.required => continue,
                Err(e) => {
                    return Err(ConfigError::Unreadable {
                        file: source.path.clone(),
                        reason: e.to_string(),
                    });
                }
            };
            merged.apply(&source.path, parse(&source.path, &text)?);
        }
        validate(merged, sources)
    }
}

/// Parses one file, naming the line and the key of any problem.
fn parse(file: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        ConfigError::Syntax {
            file: file.to_owned(),
            line,
            // `.` is the root: an unknown top-level key, already named in the message.
            key: (path != ".").then_some(path),
            // One line: it is shown in a dialog and read out over the phone.
            problem: inner
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(": "),
        }
    })
}

fn validate(m: Merged, sources: &Sources) -> Result<Settings, ConfigError> {
    let Some(url) = m.service_url else {
        let searched = sources
            .0
            .iter()
            .map(|s| s.path.display().to_string())
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(ConfigError::NotConfigured { searched });
    };
    let service_url = service_url(&url.value).map_err(|problem| ConfigError::Invalid {
        file: url.file.clone(),
        key: "service_url",
        problem,
    })?;

    let (ca_file, ca_certificates) = match m.ca_file {
        None => (None, Vec::new()),
        Some(ca) => {
            let certs = load_ca(&ca.value).map_err(|problem| ConfigError::Invalid {
                file: ca.file.clone(),
                key: "ca_file",
                problem,
            })?;
            (Some(ca.value), certs)
        }
    };

    let kiosk = m.kiosk.unwrap_or(false);
    let idle_timeout_secs = match m.idle_timeout_secs {
        None => kiosk.then_some(DEFAULT_KIOSK_IDLE_SECS),
        Some(Set { value: 0, .. }) => None,
        Some(Set { value, .. }) if (MIN_IDLE_SECS..=MAX_IDLE_SECS).contains(&value) => Some(value),
        Some(Set { value, file }) => {
            return Err(ConfigError::Invalid {
                file,
                key: "idle_timeout_secs",
                problem: format!(
                    "{value} is out of range: use {MIN_IDLE_SECS} to {MAX_IDLE_SECS} seconds, or 0 for never"
                ),
            });
        }
    };

    let organisation = match m.organisation {
        None => None,
        Some(Set { value, file }) => {
            let name = value.trim();
            if name.is_empty() {
                return Err(ConfigError::Invalid {
                    file,
                    key: "branding.organisation",
                    problem: "must not be empty (leave it out to use the service's)".into(),
                });
            }
            Some(name.to_owned())
        }
    };
    let logo = match m.logo_url {
        None => None,
        Some(Set { value, file }) => {
            Some(
                Logo::from_config(&value).map_err(|problem| ConfigError::Invalid {
                    file,
                    key: "branding.logo_url",
                    problem,
                })?,
            )
        }
    };

    Ok(Settings {
        service_url,
        ca_file,
        ca_certificates,
        kiosk,
        idle_timeout_secs,
        branding: Branding { organisation, logo },
    })
}

/// Checks the service URL: http or https, a host, no credentials, query or fragment.
fn service_url(raw: &str) -> Result<Url, String> {
    let raw = raw.trim();
    let url = Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{raw:?} must start with https:// (or http://)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{raw:?} has no host name"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{raw:?} must not have a query (?…) or fragment (#…)"
        ));
    }
    Ok(url)
}

/// Reads the PEM certificates of an extra CA file.
fn load_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{} can't be read: {e}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("{} is not a PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

impl fmt::Display for Logo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Logo::Remote(url) => write!(f, "{url}"),
            Logo::File(path) => write!(f, "{}", path.display()),
            Logo::Inline(_) => f.write_str("data: URL"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    const CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/ca.pem");

    /// Writes `files` (name, contents) into a fresh directory and loads them in that order;
    /// a name starting with `!` is a required file.
    fn load(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<Settings, ConfigError>) {
        let dir = tempfile::tempdir().unwrap();
        let mut sources = Vec::new();
        for (name, text) in files {
            let (name, required) = match name.strip_prefix('!') {
                Some(n) => (n, true),
                None => (*name, false),
            };
            let path = dir.path().join(name);
            if !text.is_empty() {
                fs::write(&path, text).unwrap();
            }
            sources.push(Source { path, required });
        }
        let r = Settings::load(&Sources(sources));
        (dir, r)
    }

    fn message(r: Result<Settings, ConfigError>, dir: &Path) -> String {
        r.unwrap_err()
            .to_string()
            .replace(&dir.display().to_string(), "D")
    }

    #[test]
    fn valid_files() {
        let ca_line = format!("ca_file = {CA:?}\n");
        let full = format!(
            "service_url = \"https://reset.contoso.com/\"\n{ca_line}kiosk = true\nidle_timeout_secs = 300\n[branding]\norganisation = \" Contoso \"\nlogo_url = \"https://cdn.contoso.com/logo.png\"\n"
        );
        let (_d, r) = load(&[("a.toml", &full)]);
        let s = r.unwrap();
        assert_eq!(s.service_url.as_str(), "https://reset.contoso.com/");
        assert_eq!(s.ca_file.as_deref(), Some(Path::new(CA)));
        assert_eq!(s.ca_certificates.len(), 1);
        assert!(s.kiosk);
        assert_eq!(s.idle_timeout_secs, Some(300));
        assert_eq!(s.branding.organisation.as_deref(), Some("Contoso"));
        assert_eq!(
            s.branding.logo,
            Some(Logo::Remote(
                Url::parse("https://cdn.contoso.com/logo.png").unwrap()
            ))
        );

        // Defaults: not kiosk, no idle timeout; kiosk alone gets the default timeout.
        let cases: &[(&str, bool, Option<u64>)] = &[
            ("service_url = \"http://127.0.0.1:8080\"\n", false, None),
            (
                "service_url = \"http://127.0.0.1:8080\"\nkiosk = true\n",
                true,
                Some(DEFAULT_KIOSK_IDLE_SECS),
            ),
            (
                "service_url = \"http://127.0.0.1:8080\"\nkiosk = true\nidle_timeout_secs = 0\n",
                true,
                None,
            ),
            (
                "service_url = \"http://127.0.0.1:8080\"\nidle_timeout_secs = 60\n",
                false,
                Some(60),
            ),
        ];
        for (text, kiosk, idle) in cases {
            let (_d, r) = load(&[("a.toml", text)]);
            let s = r.unwrap();
            assert_eq!((s.kiosk, s.idle_timeout_secs), (*kiosk, *idle), "{text}");
            assert!(s.ca_certificates.is_empty());
            assert_eq!(s.branding, Branding::default());
        }
    }

    #[test]
    fn later_files_override_earlier_ones_key_by_key() {
        let machine = "service_url = \"https://reset.contoso.com\"\nkiosk = true\n[branding]\norganisation = \"Contoso\"\n";
        let user = "service_url = \"https://reset.test.contoso.com\"\n[branding]\nlogo_url = \"data:image/png;base64,AAAA\"\n";
        let (_d, r) = load(&[("machine.toml", machine), ("user.toml", user)]);
        let s = r.unwrap();
        assert_eq!(s.service_url.as_str(), "https://reset.test.contoso.com/");
        assert!(s.kiosk, "kept from the machine file");
        assert_eq!(s.branding.organisation.as_deref(), Some("Contoso"));
        assert_eq!(
            s.branding.logo,
            Some(Logo::Inline("data:image/png;base64,AAAA".into()))
        );
    }

    #[test]
    fn missing_optional_files_are_skipped() {
        let (_d, r) = load(&[
            ("machine.toml", ""),
            ("user.toml", "service_url = \"https://reset.contoso.com\"\n"),
        ]);
        assert_eq!(r.unwrap().service_url.host_str(), Some("reset.contoso.com"));
    }

    #[test]
    fn relative_ca_file_is_relative_to_its_config_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::copy(CA, dir.path().join("ca.pem")).unwrap();
        let file = dir.path().join("desktop.toml");
        fs::write(
            &file,
            "service_url = \"https://reset.contoso.com\"\nca_file = \"ca.pem\"\n",
        )
        .unwrap();
        let s = Settings::load(&Sources(vec![Source {
            path: file,
            required: true,
        }]))
        .unwrap();
        assert_eq!(s.ca_file, Some(dir.path().join("ca.pem")));
        assert_eq!(s.ca_certificates.len(), 1);
    }

    #[test]
    fn problems_name_the_file_the_key_and_what_is_wrong() {
        let ok = "service_url = \"https://reset.contoso.com\"\n";
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("a.toml", ""), ("b.toml", "")],
                "Latchkey is not configured: set service_url (the reset service's address) in D/a.toml or D/b.toml",
            ),
            (
                &[("!a.toml", "")],
                "D/a.toml: can't be read: No such file or directory (os error 2)",
            ),
            (
                &[("a.toml", "service_url = \"ftp://files.contoso.com\"\n")],
                "D/a.toml: service_url: \"ftp://files.contoso.com\" must start with https:// (or http://)",
            ),
            (
                &[("a.toml", "service_url = \"reset.contoso.com\"\n")],
                "D/a.toml: service_url: \"reset.contoso.com\" is not a URL: relative URL without a base",
            ),
            (
                &[(
                    "a.toml",
                    "service_url = \"https://bob:pw@reset.contoso.com\"\n",
                )],
                "D/a.toml: service_url: must not contain a user name or password",
            ),
            (
                &[("a.toml", ok), ("b.toml", "service_url = \"\"\n")],
                "D/b.toml: service_url: \"\" is not a URL: relative URL without a base",
            ),
            (
                &[("a.toml", "service_url = \"https://x\"\ncolour = \"blue\"\n")],
                "D/a.toml, line 2: colour: unknown field `colour`, expected one of `service_url`, `ca_file`, `kiosk`, `idle_timeout_secs`, `branding`",
            ),
            (
                &[(
                    "a.toml",
                    "service_url = \"https://x\"\n[branding]\nname = \"X\"\n",
                )],
                "D/a.toml, line 3: branding.name: unknown field `name`, expected `organisation` or `logo_url`",
            ),
            (
                &[("a.toml", "service_url = \"https://x\"\nkiosk = \"yes\"\n")],
                "D/a.toml, line 2: kiosk: invalid type: string \"yes\", expected a boolean",
            ),
            (
                &[("a.toml", "service_url = \"https://x\"\nkiosk = \n")],
                "D/a.toml, line 2: invalid string: expected `\"`, `'`",
            ),
            (
                &[(
                    "a.toml",
                    "service_url = \"https://x\"\nca_file = \"missing.pem\"\n",
                )],
                "D/a.toml: ca_file: D/missing.pem can't be read: No such file or directory (os error 2)",
            ),
            (
                &[(
                    "a.toml",
                    "service_url = \"https://x\"\nca_file = \"a.toml\"\n",
                )],
                "D/a.toml: ca_file: D/a.toml holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ),
            (
                &[(
                    "a.toml",
                    "service_url = \"https://x\"\nidle_timeout_secs = 5\n",
                )],
                "D/a.toml: idle_timeout_secs: 5 is out of range: use 10 to 86400 seconds, or 0 for never",
            ),
            (
                &[(
                    "a.toml",
                    "service_url = \"https://x\"\n[branding]\norganisation = \" \"\n",
                )],
                "D/a.toml: branding.organisation: must not be empty (leave it out to use the service's)",
            ),
            (
                &[(
                    "a.toml",
                    "service_url = \"https://x\"\n[branding]\nlogo_url = \"logo.png\"\n",
                )],
                "D/a.toml: branding.logo_url: \"logo.png\" is not a URL or an absolute path: relative URL without a base",
            ),
            (
                &[(
                    "a.toml",
                    "service_url = \"https://x\"\n[branding]\nlogo_url = \"javascript:alert(1)\"\n",
                )],
                "D/a.toml: branding.logo_url: \"javascript:alert(1)\": the javascript: scheme is not supported",
            ),
        ];
        for (files, want) in cases {
            let (dir, r) = load(files);
            assert_eq!(message(r, dir.path()), *want, "{files:?}");
        }
    }

    #[test]
    fn standard_locations() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let paths = |s: Sources| -> Vec<(String, bool)> {
            s.0.into_iter()
                .map(|s| (s.path.display().to_string(), s.required))
                .collect()
        };
        let machine = (MACHINE_FILE.to_owned(), false);
        assert_eq!(
            paths(Sources::from_lookup(env(&[("HOME", "/home/alice")]))),
            [
                machine.clone(),
                ("/home/alice/.config/latchkey/desktop.toml".into(), false)
            ]
        );
        assert_eq!(
            paths(Sources::from_lookup(env(&[
                ("HOME", "/home/alice"),
                ("XDG_CONFIG_HOME", "/cfg"),
                (ENV_FILE, "/tmp/x.toml"),
            ]))),
            [
                machine.clone(),
                ("/cfg/latchkey/desktop.toml".into(), false),
                ("/tmp/x.toml".into(), true)
            ]
        );
        // A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
        assert_eq!(
            paths(Sources::from_lookup(env(&[
                ("HOME", "/home/alice"),
                ("XDG_CONFIG_HOME", "cfg"),
            ]))),
            [
                machine.clone(),
                ("/home/alice/.config/latchkey/desktop.toml".into(), false)
            ]
        );
        assert_eq!(paths(Sources::from_lookup(env(&[]))), [machine]);
    }

    #[test]
    fn logo_locations() {
        let cases: &[(&str, Option<Logo>)] = &[
            (
                "/usr/share/contoso/logo.png",
                Some(Logo::File(PathBuf::from("/usr/share/contoso/logo.png"))),
            ),
            (
                "file:///usr/share/contoso/logo.svg",
                Some(Logo::File(PathBuf::from("/usr/share/contoso/logo.svg"))),
            ),
            (
                "https://cdn.contoso.com/l.png",
                Some(Logo::Remote(
                    Url::parse("https://cdn.contoso.com/l.png").unwrap(),
                )),
            ),
            (
                "data:image/svg+xml;base64,PHN2Zz4=",
                Some(Logo::Inline("data:image/svg+xml;base64,PHN2Zz4=".into())),
            ),
            ("data:text/html,<script>", None),
            ("javascript:alert(1)", None),
            ("logo.png", None),
        ];
        for (raw, want) in cases {
            assert_eq!(Logo::from_config(raw).ok(), *want, "{raw}");
        }

        // What the service serves may be relative to it, and is never a local file.
        let service = Url::parse("https://reset.contoso.com/sspr/").unwrap();
        let cases: &[(&str, Option<&str>)] = &[
            ("logo.png", Some("https://reset.contoso.com/sspr/logo.png")),
            (
                "/branding/logo.png",
                Some("https://reset.contoso.com/branding/logo.png"),
            ),
            (
                "https://cdn.contoso.com/l.png",
                Some("https://cdn.contoso.com/l.png"),
            ),
            ("file:///etc/shadow", None),
            ("javascript:alert(1)", None),
        ];
        for (raw, want) in cases {
            let got = Logo::from_service(raw, &service)
                .ok()
                .map(|l| l.to_string());
            assert_eq!(got.as_deref(), *want, "{raw}");
        }
    }
}
