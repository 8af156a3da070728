//! The service account's pooled connections, shared by the OpenLDAP and Active Directory
//! flavours. A few connections are kept (each multiplexes many operations; several let the
//! server work on them in parallel and keep one slow Samba reset from queueing every search).
//! Each is bound on first use and forgotten after a transport error, so the next call
//! reconnects (the server restarted); searches are retried once on a fresh connection in the
//! same slot.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use latchkey_core::secret::SecretString;
use latchkey_directory::{DirectoryError, DirectoryResult};
use ldap3::{Ldap, LdapResult, Scope, SearchEntry};
use tokio::sync::Mutex;
use tracing::{debug, warn};

use crate::{LdapSettings, conn, unavailable};

/// The service account and its pool of kept connections.
pub(crate) struct ServiceConnection {
    connector: conn::Connector,
    bind_dn: String,
    bind_password: SecretString,
    timeout: Duration,
    /// Each slot is `None` until first use and after an error; otherwise its connection and
    /// that connection's generation.
    slots: Vec<Mutex<Option<(u64, Ldap)>>>,
    /// Round-robin position.
    next: AtomicUsize,
    /// Numbers every connection made, so a stale lease cannot forget its successor.
    generations: AtomicU64,
}

/// A bound service connection borrowed from the pool; hand it back to
/// [`ServiceConnection::forget`] after a transport error.
pub(crate) struct Lease {
    ldap: Ldap,
    slot: usize,
    generation: u64,
}

impl Deref for Lease {
    type Target = Ldap;
    fn deref(&self) -> &Ldap {
        &self.ldap
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut Ldap {
        &mut self.ldap
    }
}

impl fmt::Debug for ServiceConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceConnection")
            .field("connector", &self.connector)
            .field("bind_dn", &self.bind_dn)
            .field("pool_size", &self.slots.len())
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
            slots: (0..settings.pool_size.max(1))
                .map(|_| Mutex::new(None))
                .collect(),
            next: AtomicUsize::new(0),
            generations: AtomicU64::new(0),
        }
    }

    /// Opens connections for user binds.
    pub(crate) fn connector(&self) -> &conn::Connector {
        &self.connector
    }

    /// The next pooled connection, bound; reconnects its slot when it is empty or closed.
    pub(crate) async fn get(&self) -> DirectoryResult<Lease> {
        let slot = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        self.get_slot(slot).await
    }

    /// Slot `slot`'s connection, bound; reconnects when it is empty or closed. Only this slot
    /// waits while it (re)connects (bounded by the connect and operation timeouts); the others
    /// keep serving.
    async fn get_slot(&self, slot: usize) -> DirectoryResult<Lease> {
        let mut kept = self.slots[slot].lock().await;
        if let Some((generation, ldap)) = kept.as_mut()
            && !ldap.is_closed()
        {
            return Ok(Lease {
                ldap: ldap.clone(),
                slot,
                generation: *generation,
            });
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
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        *kept = Some((generation, ldap.clone()));
        Ok(Lease {
            ldap,
            slot,
            generation,
        })
    }

    /// Forgets the lease's connection after a transport error, so the next call on its slot
    /// reconnects. A slot another call has already reconnected keeps its new connection.
    pub(crate) async fn forget(&self, lease: &Lease) {
        let dead = {
            let mut kept = self.slots[lease.slot].lock().await;
            match kept.as_ref() {
                Some((generation, _)) if *generation == lease.generation => kept.take(),
                _ => None,
            }
        };
        // Outside the lock, and bounded: a server that stopped reading must not hold the slot.
        if let Some((_, mut ldap)) = dead {
            let _ = tokio::time::timeout(Duration::from_secs(2), ldap.unbind()).await;
        }
    }

    /// Checks that the directory answers: a read of the root DSE as the service account.
    pub(crate) async fn ping(&self) -> DirectoryResult<()> {
        let (_, res) = self
            .search("", Scope::Base, "(objectClass=*)", &["1.1"])
            .await?;
        if res.rc == 0 {
            Ok(())
        } else {
            Err(DirectoryError::Unavailable(format!(
                "root DSE read failed (rc {})",
                res.rc
            )))
        }
    }

    /// A search as the service account, retried once on a fresh connection in the same slot
    /// when the kept one failed. Referrals (AD's configuration partition) come back as entries
    /// without a DN; they are not users and are dropped.
    pub(crate) async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> DirectoryResult<(Vec<SearchEntry>, LdapResult)> {
        let mut ldap = self.get().await?;
        let mut attempt = 0;
        loop {
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
                    self.forget(&ldap).await;
                    attempt += 1;
                    if attempt == 2 {
                        return Err(unavailable(e));
                    }
                    ldap = self.get_slot(ldap.slot).await?;
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
