//! Opening connections: TCP with `TCP_NODELAY` (ldap3 never sets it, and Nagle plus delayed
//! ACKs stall the first bind on a fresh TLS connection by ~40 ms), then TLS or StartTLS with
//! the organisation's CA, all under the connect timeout.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, StdStream};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::net::TcpStream;
use tracing::debug;

use crate::LdapSettings;

/// Why a connection could not be made or configured.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not `ldap://host[:port]` or `ldaps://host[:port]`.
    #[error("the directory URL {0:?} is not ldap://host[:port] or ldaps://host[:port]")]
    BadUrl(String),
    /// The URL is plain `ldap://` without StartTLS, where the directory demands encryption
    /// (Active Directory refuses password writes over an unencrypted connection).
    #[error("the directory URL {0:?} is not encrypted: use ldaps:// or turn on StartTLS")]
    NotEncrypted(String),
    /// The CA file could not be read or holds no certificate.
    #[error("the CA file {path} could not be used: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The TLS configuration could not be built.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// Connecting took longer than the connect timeout.
    #[error("connecting to the directory timed out")]
    Timeout,
    /// The network or the LDAP layer failed.
    #[error("connecting to the directory failed: {0}")]
    Io(String),
}

/// Opens connections to one directory.
#[derive(Clone)]
pub struct Connector {
    url: String,
    host: String,
    port: u16,
    starttls: bool,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .finish_non_exhaustive()
    }
}

/// Splits `scheme://host[:port][/...]` into (secure, host, port).
pub(crate) fn parse_url(url: &str) -> Result<(bool, String, u16), ConnectError> {
    let bad = || ConnectError::BadUrl(url.to_owned());
    let (secure, rest) = if let Some(rest) = url.strip_prefix("ldaps://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("ldap://") {
        (false, rest)
    } else {
        return Err(bad());
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let default_port = if secure { 636 } else { 389 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => default_port,
            None => return Err(bad()),
        };
        (host.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad())?),
            None => (authority.to_owned(), default_port),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((secure, host, port))
}

/// A rustls configuration trusting exactly the certificates in `path`.
fn tls_config(path: &PathBuf) -> Result<Arc<rustls::ClientConfig>, ConnectError> {
    let ca_err = |reason: String| ConnectError::CaFile {
        path: path.clone(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| ca_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ca_err(e.to_string()))?;
    if certs.is_empty() {
        return Err(ca_err("no certificate in the file".to_owned()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| ca_err(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl Connector {
    /// Whether connections are encrypted (LDAPS or StartTLS).
    pub(crate) fn encrypted(&self) -> bool {
        self.starttls || self.url.starts_with("ldaps://")
    }

    pub(crate) fn new(settings: &LdapSettings) -> Result<Self, ConnectError> {
        let (secure, host, port) = parse_url(&settings.url)?;
        let starttls = settings.starttls && !secure;
        // Without a CA file ldap3 builds its own configuration from the system's roots.
        let tls = match &settings.ca_file {
            Some(path) if secure || starttls => Some(tls_config(path)?),
            _ => None,
        };
        Ok(Self {
            url: settings.url.clone(),
            host,
            port,
            starttls,
            tls,
            timeout: settings.connect_timeout,
        })
    }

    /// A new connection, its driver spawned on the runtime.
    pub(crate) async fn connect(&self) -> Result<Ldap, ConnectError> {
        tokio::time::timeout(self.timeout, self.connect_inner())
            .await
            .map_err(|_| ConnectError::Timeout)?
    }

    async fn connect_inner(&self) -> Result<Ldap, ConnectError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| ConnectError::Io(e.to_string()))?;
        tcp.set_nodelay(true)
            .map_err(|e| ConnectError::Io(e.to_string()))?;
        let std = tcp
            .into_std()
            .map_err(|e| ConnectError::Io(e.to_string()))?;
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.starttls)
            .set_std_stream(StdStream::Tcp(std));
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.url)
            .await
            .map_err(|e| ConnectError::Io(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                debug!(error = %e, "LDAP connection ended");
            }
        });
        Ok(ldap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let ok = [
            ("ldap://127.0.0.1:3389", (false, "127.0.0.1", 3389)),
            ("ldaps://dc.example.org", (true, "dc.example.org", 636)),
            ("ldap://dc.example.org/", (false, "dc.example.org", 389)),
            ("ldaps://[::1]:1636", (true, "::1", 1636)),
        ];
        for (url, (s, h, p)) in ok {
            assert_eq!(parse_url(url).unwrap(), (s, h.to_owned(), p), "{url}");
        }
        for bad in [
            "http://x",
            "ldap://",
            "ldap://h:port",
            "ldapi:///x",
            "ldaps://[::1",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
