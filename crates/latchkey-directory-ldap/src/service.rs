//! The service account's kept connection, shared by the OpenLDAP and Active Directory
//! flavours: bound on first use, forgotten after a transport error so the next call reconnects
//! (the server restarted), and searches retried once on a fresh connection.

use std::fmt;
use std::time::Duration;

use latchkey_core::secret::SecretString;
use latchkey_directory::{DirectoryError, DirectoryResult};
use ldap3::{Ldap, LdapResult, Scope, SearchEntry};
use tokio::sync::Mutex;
use tracing::{debug, warn};

use crate::{LdapSettings, conn, unavailable};

/// The service account and its kept connection.
pub(crate) struct ServiceConnection {
    connector: conn::Connector,
    bind_dn: String,
    bind_password: SecretString,
    timeout: Duration,
    /// `None` until first use and after an error.
    kept: Mutex<Option<Ldap>>,
}

impl fmt::Debug for ServiceConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceConnection")
            .field("connector", &self.connector)
            .field("bind_dn", &self.bind_dn)
            .finish_non_exhaustive()
    }
}

impl ServiceConnection {
    /// The service account of `settings`, reached through `connector`; connects lazily.
    pub(crate) fn new(connector: conn::Connector, settings: &LdapSettings) -> Self {
        Self {
            connector,
            bind_dn: settings.bind_dn.clone(),
            bind_password: settings.bind_password.clone(),
            timeout: settings.operation_timeout,
            kept: Mutex::new(None),
        }
    }

    /// Opens connections for user binds.
    pub(crate) fn connector(&self) -> &conn::Connector {
        &self.connector
    }

    /// The kept connection, bound; reconnects when there is none or it closed.
    pub(crate) async fn get(&self) -> DirectoryResult<Ldap> {
        let mut kept = self.kept.lock().await;
        if let Some(ldap) = kept.as_mut()
            && !ldap.is_closed()
        {
            return Ok(ldap.clone());
        }
        let mut ldap = self.connector.connect().await.map_err(unavailable)?;
        let res = ldap
            .with_timeout(self.timeout)
            .simple_bind(&self.bind_dn, self.bind_password.expose())
            .await
            .map_err(unavailable)?;
        if res.rc != 0 {
            warn!(rc = res.rc, "the service account's bind was refused");
            return Err(DirectoryError::Unavailable(format!(
                "the service account's bind was refused (rc {})",
                res.rc
            )));
        }
        *kept = Some(ldap.clone());
        Ok(ldap)
    }

    /// Forgets the kept connection after a transport error, so the next call reconnects.
    pub(crate) async fn forget(&self) {
        if let Some(mut ldap) = self.kept.lock().await.take() {
            let _ = ldap.unbind().await;
        }
    }

    /// A search as the service account, retried once on a fresh connection when the kept one
    /// failed. Referrals (AD's configuration partition) come back as entries without a DN;
    /// they are not users and are dropped.
    pub(crate) async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> DirectoryResult<(Vec<SearchEntry>, LdapResult)> {
        let mut attempt = 0;
        loop {
            let mut ldap = self.get().await?;
            let result = ldap
                .with_timeout(self.timeout)
                .search(base, scope, filter, attrs.to_vec())
                .await;
            match result {
                Ok(ldap3::SearchResult(entries, result)) => {
                    let entries = entries
                        .into_iter()
                        .map(SearchEntry::construct)
                        .filter(|e| !e.dn.is_empty())
                        .collect();
                    return Ok((entries, result));
                }
                Err(e) => {
                    debug!(attempt, error = %e, "search failed; dropping the kept connection");
                    self.forget().await;
                    attempt += 1;
                    if attempt == 2 {
                        return Err(unavailable(e));
                    }
                }
            }
        }
    }
}

/// Refuses keys outside the base DN (`base_dn_lower`, lower-cased), so a key can never point
/// the service account elsewhere.
pub(crate) fn check_key(base_dn_lower: &str, key: &str) -> DirectoryResult<()> {
    let lower = key.to_ascii_lowercase();
    let inside = lower.len() > base_dn_lower.len()
        && lower.ends_with(base_dn_lower)
        && lower[..lower.len() - base_dn_lower.len()].ends_with(',');
    if inside {
        Ok(())
    } else {
        Err(DirectoryError::NotFound)
    }
}
