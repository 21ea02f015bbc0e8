//! The coordinator's revocation list, applied while the node serves (`[coordinator]`).
//!
//! [`RevocationListWatch`] fetches the list (`GetRevocationList`) at start, whenever the
//! node applies a new directory version (a revocation always publishes one; the list may
//! follow the directory by a moment, so a list not newer than the held one is asked for
//! again a few times), and again before half the held list's remaining life is over.
//! [`LiveRevocations`] is the one place such a list enters the node: [`accept`] checks it —
//! it parses, carries a number larger than the held one (an equal one is ignored), and has
//! not expired — then it is kept in the store (`Store::save_revocation_list`) and made the
//! list every *new* connection is checked against, both ways: the server's TLS
//! configuration is replaced (`accord_trust::ServerConfigHandle::replace`), and so is the
//! client configuration [`ClientConfigCell`] lends the courier's partner channels. The CRLs
//! in use are the fetched list and the lists the coordinator sends after it (under an
//! issuing CA, the root's, revoking issuing CAs), each replacing the configured lists
//! (`tls.crl`) of its own CA, and the configured lists of other CAs; a
//! list is refused if they would then lack the list of a CA on the node's own chain, since
//! revocation is checked along the whole chain and every peer would be refused.
//!
//! A list refused is logged as a warning with `alert = "revocation_list_refused"`, counted
//! ([`LiveRevocations::refused`]), and changes nothing: the held one stays. At start, before
//! the node serves, the stored list is applied ([`LiveRevocations::restore`]), so a node
//! restarted while the coordinator is unreachable still refuses what it revoked.
//!
//! Connections opened before a revocation are not cut here: a revoked member is no partner
//! (the directory), so its calls are refused one by one, and its channel is dropped.
//! This module does not check the list's signature itself: it comes over mTLS from the
//! coordinator, and rustls checks it against its CA whenever it consults it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use accord_domain::Timestamp;
use accord_edge::serving::{Clients, StartError, TlsCredentials};
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::{Crl, ServerConfigHandle};
use rustls::ClientConfig;
use tokio::sync::{Mutex, watch};
use tonic::transport::Channel;

use crate::app::Backoff;
use crate::clock::Clock;
use crate::store::{Store, StoredRevocationList};

/// The longest wait between two fetches while nothing else calls for one.
pub const REFRESH_INTERVAL_MAX: Duration = Duration::from_secs(3_600);

/// The shortest wait between two fetches on the held list's clock.
const REFRESH_INTERVAL_MIN: Duration = Duration::from_secs(1);

/// How many more times a list is asked for after a new directory version while the
/// coordinator still serves the held one.
const FOLLOW_UPS_AFTER_A_DIRECTORY: u32 = 5;

/// Why a fetched revocation list was not applied.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The list does not parse.
    #[error("the revocation list does not parse")]
    Unreadable(#[source] accord_trust::credentials::Error),
    /// The list carries no number, so it cannot be ordered.
    #[error("the revocation list carries no cRLNumber")]
    Unnumbered,
    /// A number lower than the held list's: a replay could accept a revoked certificate.
    #[error("revocation list number {offered} is older than number {held}, held")]
    Older {
        /// The number offered.
        offered: u64,
        /// The number held.
        held: u64,
    },
    /// Its `nextUpdate` cannot be read or has passed.
    #[error("the revocation list is not current")]
    NotCurrent(#[source] super::Error),
    /// With it, the CRLs in use would lack the list of a CA on the node's own chain (under
    /// an issuing CA, `tls.crl` must hold the root's list): every peer would be refused.
    #[error(
        "the CRLs in use with the revocation list lack a CA of the node's chain; tls.crl must \
         hold the root's list"
    )]
    Incomplete,
    /// No TLS configuration could be built with it.
    #[error("no TLS configuration can be built with the revocation list")]
    Tls(#[source] StartError),
    /// The store could not keep it, so it was not applied either.
    #[error("the revocation list could not be stored")]
    Store(#[source] crate::store::Error),
}

/// A list that parsed, with what the node reads from it.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The list.
    pub crl: Crl,
    /// The lists the coordinator sends after it (the root's, under an issuing CA), which
    /// replace the configured lists of their CAs.
    pub companions: Vec<Crl>,
    /// The list, PEM, as the store keeps it.
    pub pem: String,
    /// Its `cRLNumber`.
    pub number: u64,
}

/// What became of a list offered to [`LiveRevocations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Stored and applied: this number is now held.
    Applied(u64),
    /// The number held already: nothing to do.
    Unchanged,
}

/// Parses `pem` into a list with a number.
pub fn parse(pem: &str) -> Result<Fetched, Refused> {
    let mut crls = Crl::all_from_pem(pem)
        .map_err(Refused::Unreadable)?
        .into_iter();
    let crl = crls.next().ok_or(Refused::Unnumbered)?;
    let companions: Vec<Crl> = crls.collect();
    let number = crl
        .number()
        .map_err(Refused::Unreadable)?
        .ok_or(Refused::Unnumbered)?;
    Ok(Fetched {
        crl,
        companions,
        pem: pem.to_owned(),
        number,
    })
}

/// Whether the list `pem` should replace the one numbered `held`, at `now`: `Some` if it
/// parses, is newer and is current; `None` if it is the held one; refused otherwise.
pub fn accept(pem: &str, held: Option<u64>, now: Timestamp) -> Result<Option<Fetched>, Refused> {
    let fetched = parse(pem)?;
    match held {
        Some(held) if fetched.number < held => {
            return Err(Refused::Older {
                offered: fetched.number,
                held,
            });
        }
        Some(held) if fetched.number == held => return Ok(None),
        _ => {}
    }
    let next_update =
        super::next_update(std::slice::from_ref(&fetched.crl)).map_err(Refused::NotCurrent)?;
    super::check_current(next_update, now).map_err(Refused::NotCurrent)?;
    Ok(Some(fetched))
}

/// The client configuration partner channels are opened with, replaced with each new list.
#[derive(Clone)]
pub struct ClientConfigCell {
    current: Arc<RwLock<Arc<ClientConfig>>>,
}

impl ClientConfigCell {
    /// Holds `config` until replaced.
    pub fn new(config: ClientConfig) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(config))),
        }
    }

    /// The configuration for a connection opened now.
    pub fn current(&self) -> Arc<ClientConfig> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, config: ClientConfig) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
    }
}

/// Checks, keeps and applies the coordinator's revocation lists; cheap to clone.
#[derive(Clone)]
pub struct LiveRevocations {
    inner: Arc<Inner>,
}

struct Inner {
    tls: TlsCredentials,
    server: ServerConfigHandle,
    client: ClientConfigCell,
    store: Store,
    clock: Arc<dyn Clock>,
    /// The number held; the lock also makes offers one at a time.
    held: Mutex<Option<u64>>,
    next_update: watch::Sender<Option<Timestamp>>,
    refused: AtomicU64,
}

/// What [`LiveRevocations`] works with.
pub struct LiveParts {
    /// The server's credentials and its configured CRLs (`tls.crl`).
    pub tls: TlsCredentials,
    /// The running server's TLS configuration.
    pub server: ServerConfigHandle,
    /// The courier's client configuration.
    pub client: ClientConfigCell,
    /// Where the applied list is kept.
    pub store: Store,
    /// The node's clock.
    pub clock: Arc<dyn Clock>,
}

impl LiveRevocations {
    /// Holds no fetched list yet: the configured CRLs apply.
    pub fn new(parts: LiveParts) -> Result<Self, super::Error> {
        let next_update = super::next_update(&parts.tls.crls)?;
        let (next_update, _) = watch::channel(next_update);
        Ok(Self {
            inner: Arc::new(Inner {
                tls: parts.tls,
                server: parts.server,
                client: parts.client,
                store: parts.store,
                clock: parts.clock,
                held: Mutex::new(None),
                next_update,
                refused: AtomicU64::new(0),
            }),
        })
    }

    /// Applies the list the store kept, if any, even one past its `nextUpdate` (what it
    /// revokes stays revoked; the health watch reports its age); returns its number.
    pub async fn restore(&self) -> Result<Option<u64>, crate::store::Error> {
        let Some(stored) = self.inner.store.load_revocation_list().await? else {
            return Ok(None);
        };
        let mut held = self.inner.held.lock().await;
        let applied = parse(&stored.pem).and_then(|fetched| self.apply(&fetched));
        match applied {
            Ok(number) => {
                *held = Some(number);
                tracing::info!(number, "checking peers against the stored revocation list");
                Ok(Some(number))
            }
            Err(refused) => {
                self.refuse(&refused);
                Ok(None)
            }
        }
    }

    /// Checks `pem` and, if newer than the list held, stores it, then applies it.
    pub async fn offer(&self, pem: &str) -> Result<Offered, Refused> {
        let result = self.offer_inner(pem).await;
        if let Err(refused) = &result {
            self.refuse(refused);
        }
        result
    }

    async fn offer_inner(&self, pem: &str) -> Result<Offered, Refused> {
        let mut held = self.inner.held.lock().await;
        let Some(fetched) = accept(pem, *held, self.inner.clock.now())? else {
            return Ok(Offered::Unchanged);
        };
        // Built before it is stored: a list that cannot be applied is not kept either.
        let configs = self.configs_with(&fetched)?;
        let stored = StoredRevocationList {
            number: fetched.number,
            pem: fetched.pem.clone(),
            saved_at: self.inner.clock.now().as_millis(),
        };
        let kept = self
            .inner
            .store
            .save_revocation_list(stored)
            .await
            .map_err(Refused::Store)?;
        if !kept {
            // Another replica of this node stored this number or a newer one.
            return Ok(Offered::Unchanged);
        }
        self.install(configs);
        *held = Some(fetched.number);
        tracing::info!(number = fetched.number, "applied a new revocation list");
        Ok(Offered::Applied(fetched.number))
    }

    /// The number of the list held, if any.
    pub async fn held_number(&self) -> Option<u64> {
        *self.inner.held.lock().await
    }

    /// The client configuration partner channels opened now use.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.inner.client.current()
    }

    /// How many lists were refused since start.
    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// The earliest `nextUpdate` of the CRLs in use, as it changes.
    pub fn next_update(&self) -> watch::Receiver<Option<Timestamp>> {
        self.inner.next_update.subscribe()
    }

    /// How long to wait before fetching again: half the held lists' remaining life.
    pub fn refresh_wait(&self) -> Duration {
        let Some(next_update) = *self.inner.next_update.borrow() else {
            return REFRESH_INTERVAL_MAX;
        };
        let remaining = next_update.as_millis() - self.inner.clock.now().as_millis();
        let half = u64::try_from(remaining / 2).unwrap_or(0);
        Duration::from_millis(half).clamp(REFRESH_INTERVAL_MIN, REFRESH_INTERVAL_MAX)
    }

    fn apply(&self, fetched: &Fetched) -> Result<u64, Refused> {
        let configs = self.configs_with(fetched)?;
        self.install(configs);
        Ok(fetched.number)
    }

    /// The server's and the client's configurations with `list`, and their earliest
    /// `nextUpdate`.
    fn configs_with(&self, fetched: &Fetched) -> Result<Configs, Refused> {
        let tls = &self.inner.tls;
        let sent: Vec<&Crl> = std::iter::once(&fetched.crl)
            .chain(&fetched.companions)
            .collect();
        let mut crls = Vec::with_capacity(tls.crls.len() + sent.len());
        for configured in &tls.crls {
            let mut replaced = false;
            for list in &sent {
                replaced |= configured.same_issuer(list).map_err(Refused::Unreadable)?;
            }
            if !replaced {
                crls.push(configured.clone());
            }
        }
        crls.extend(sent.into_iter().cloned());
        if !tls
            .identity
            .chain_covered_by(&crls)
            .map_err(Refused::Unreadable)?
        {
            return Err(Refused::Incomplete);
        }
        let server = tls
            .server_config(Clients::Certified, &crls)
            .map_err(Refused::Tls)?;
        let client = accord_trust::tls::client_config_with_crls(&tls.identity, &tls.ca, &crls)
            .map_err(|error| Refused::Tls(accord_edge::serving::credential("tls")(error)))?;
        let next_update = super::next_update(&crls).map_err(Refused::NotCurrent)?;
        Ok(Configs {
            server,
            client,
            next_update,
        })
    }

    fn install(&self, configs: Configs) {
        self.inner.server.replace(configs.server);
        self.inner.client.replace(configs.client);
        self.inner.next_update.send_replace(configs.next_update);
    }

    fn refuse(&self, refused: &Refused) {
        self.inner.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            alert = "revocation_list_refused",
            error = refused as &dyn std::error::Error,
            "refused a revocation list from the coordinator; the held one stays"
        );
    }
}

/// The TLS configurations a list makes.
struct Configs {
    server: rustls::ServerConfig,
    client: ClientConfig,
    next_update: Option<Timestamp>,
}

/// The background task that fetches the coordinator's revocation list.
pub struct RevocationListWatch {
    /// Who checks, keeps and applies what arrives.
    pub revocations: LiveRevocations,
    /// The coordinator's `MembershipService`, over mTLS with the node's certificate.
    pub client: MembershipServiceClient<Channel>,
    /// The directory version the node applied, as it changes.
    pub directory: watch::Receiver<Option<u64>>,
    /// Waits between failed attempts.
    pub backoff: Backoff,
}

impl RevocationListWatch {
    /// Fetches until `shutdown` turns true: now, after each new directory version, before
    /// half the held list's remaining life is over, and after each failure with back-off.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        let mut follow_ups: u32 = 0;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let wait = match self.fetch().await {
                Ok(Offered::Applied(_)) => {
                    (failures, follow_ups) = (0, 0);
                    self.revocations.refresh_wait()
                }
                Ok(Offered::Unchanged) if follow_ups > 0 => {
                    follow_ups -= 1;
                    failures = 0;
                    let attempt = FOLLOW_UPS_AFTER_A_DIRECTORY - follow_ups;
                    self.backoff.delay(attempt, u64::from(attempt))
                }
                Ok(Offered::Unchanged) => {
                    failures = 0;
                    self.revocations.refresh_wait()
                }
                Err(status) => {
                    failures = failures.saturating_add(1);
                    let wait = self.backoff.delay(failures, u64::from(failures));
                    tracing::warn!(error = %status, failures, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "the coordinator's revocation list cannot be fetched; retrying");
                    wait
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = changed(&mut self.directory) => follow_ups = FOLLOW_UPS_AFTER_A_DIRECTORY,
                _ = shutdown.changed() => return,
            }
        }
    }

    /// One fetch, offered; a refused list counts as unchanged (the refusal is logged), but
    /// one the store could not keep is fetched again after a back-off.
    async fn fetch(&self) -> Result<Offered, tonic::Status> {
        let mut client = self.client.clone();
        let answer = client
            .get_revocation_list(pb::GetRevocationListRequest {})
            .await?
            .into_inner();
        match self.revocations.offer(&answer.crl_pem).await {
            Ok(offered) => Ok(offered),
            Err(Refused::Store(_)) => Err(tonic::Status::unavailable(
                "the fetched revocation list could not be stored",
            )),
            Err(_) => Ok(Offered::Unchanged),
        }
    }
}

/// Resolves when `directory` changes; never, once its sender is gone.
async fn changed(directory: &mut watch::Receiver<Option<u64>>) {
    if directory.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use accord_trust::pki::{CertificateAuthority, Validity};
    use time::OffsetDateTime;

    use super::*;

    /// 2026-03-02, the instant the lists below start.
    const START_SECONDS: i64 = 1_772_442_000;

    fn list(number: u64) -> String {
        let start = OffsetDateTime::from_unix_timestamp(START_SECONDS).unwrap();
        let authority = CertificateAuthority::generate(Validity::days_from(start, 30).unwrap());
        let validity = Validity::days_from(start, 2).unwrap();
        let signed = authority.unwrap().revocation_list(&[], number, validity);
        signed.unwrap().pem
    }

    fn at_day(day: i64) -> Timestamp {
        Timestamp::from_millis((START_SECONDS + day * 86_400) * 1_000).unwrap()
    }

    #[test]
    fn a_newer_current_list_is_accepted_and_the_held_one_ignored() {
        let accepted = accept(&list(8), Some(7), at_day(1)).unwrap().unwrap();
        assert_eq!(accepted.number, 8);
        assert!(accept(&list(8), None, at_day(1)).unwrap().is_some());
        assert!(accept(&list(8), Some(8), at_day(1)).unwrap().is_none());
    }

    #[test]
    fn an_older_an_expired_or_a_garbage_list_is_refused() {
        let check = |pem: &str, held: Option<u64>, now: Timestamp, expected: &str| {
            let refused = accept(pem, held, now).unwrap_err();
            assert!(format!("{refused:?}").starts_with(expected), "{refused:?}");
        };
        check(&list(6), Some(7), at_day(1), "Older");
        check(&list(8), Some(7), at_day(3), "NotCurrent");
        check("not a list", None, at_day(1), "Unreadable");
        let garbage = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
        check(garbage, Some(7), at_day(1), "Unreadable");
    }
}
