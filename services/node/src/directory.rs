//! The coordinator's directory, as a node follows it (`[coordinator]`): fetched and watched
//! over mTLS with the node's own certificate, verified under the coordinator's key, kept,
//! then applied — the partners, their endpoints and keys, and each pair's agreement.
//!
//! [`Follower`] is the one place a signed directory enters the node. It opens the bytes under
//! the configured coordinator key (`accord_edge::directory::SignedDirectory::open`) and
//! compares the version with the one it holds: a directory whose signature fails, or whose
//! version is lower, is refused (logged as a warning with `alert = "directory_refused"` and
//! counted, [`Follower::refused`]) and changes nothing; an equal version is ignored. A newer
//! one is stored first (`Store::save_directory`), then applied: the use cases' partners are
//! swapped whole (`App::apply_directory`), the courier's connections are added, replaced
//! (a new endpoint) or dropped, and the dispatcher's destinations become the partners that
//! are active now (a suspended party's messages wait in the outbox).
//!
//! [`DirectoryWatch`] is the background task `Node::run_until` starts: `GetDirectory`, then
//! `WatchDirectory { after_version }`, reconnecting with jittered, doubling back-off until
//! shutdown. At start, before the port serves, the node applies the directory it stored
//! ([`Follower::restore`]), so it serves its last known partners while the coordinator is
//! unreachable.
//!
//! This module decides no case and reads no partner's event: it only says who the partners
//! are. It never writes the directory anywhere but the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use accord_domain::StateCode;
use accord_domain::membership::Directory;
use accord_edge::directory::SignedDirectory;
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::{ClientTls, EventVerifyingKey, PeerIdentity};
use tokio::sync::{Mutex, watch};
use tonic::transport::Channel;

use crate::app::{App, Backoff, Deliveries};
use crate::clock::Clock;
use crate::courier::GrpcCourier;
use crate::store::StoredDirectory;

/// Makes the client TLS settings for a peer: its server name, and the identity it must
/// present.
pub type TlsFor = Arc<
    dyn Fn(&str, PeerIdentity) -> Result<ClientTls, accord_trust::channel::Error> + Send + Sync,
>;

/// Why a directory was not applied.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The bytes do not open under the coordinator's key.
    #[error("the directory does not verify under the coordinator's key")]
    Signature(#[source] accord_edge::directory::Error),
    /// A version lower than the one held: a replay could reinstate a revoked member or key.
    #[error("directory version {offered} is older than version {held}, held")]
    Older {
        /// The version offered.
        offered: u64,
        /// The version held.
        held: u64,
    },
    /// The store could not keep it, so it was not applied either.
    #[error("the directory could not be stored")]
    Store(#[source] crate::store::Error),
}

/// What became of a directory offered to the [`Follower`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Stored and applied: this version is now held.
    Applied(u64),
    /// The version held already: nothing to do.
    Unchanged,
}

/// Verifies, keeps and applies the coordinator's directories, one at a time; cheap to clone.
#[derive(Clone)]
pub struct Follower {
    inner: Arc<FollowerInner>,
}

struct FollowerInner {
    coordinator_key: EventVerifyingKey,
    app: App,
    deliveries: Deliveries,
    courier: GrpcCourier,
    tls_for: TlsFor,
    max_message_bytes: usize,
    clock: Arc<dyn Clock>,
    /// The version held; the lock also makes offers one at a time.
    held: Mutex<Option<u64>>,
    refused: AtomicU64,
    applied: watch::Sender<Option<u64>>,
}

/// What a [`Follower`] works with.
pub struct FollowerParts {
    /// The trust anchor: the coordinator's directory-signing key.
    pub coordinator_key: EventVerifyingKey,
    /// The use cases whose partners it sets.
    pub app: App,
    /// The dispatcher's context, whose destinations it sets.
    pub deliveries: Deliveries,
    /// The courier whose connections it sets.
    pub courier: GrpcCourier,
    /// The client TLS for a partner's node.
    pub tls_for: TlsFor,
    /// Message size limit of partner connections.
    pub max_message_bytes: usize,
    /// The node's clock (when a directory was saved).
    pub clock: Arc<dyn Clock>,
}

impl Follower {
    /// A follower holding no directory yet.
    pub fn new(parts: FollowerParts) -> Self {
        let (applied, _) = watch::channel(None);
        Self {
            inner: Arc::new(FollowerInner {
                coordinator_key: parts.coordinator_key,
                app: parts.app,
                deliveries: parts.deliveries,
                courier: parts.courier,
                tls_for: parts.tls_for,
                max_message_bytes: parts.max_message_bytes,
                clock: parts.clock,
                held: Mutex::new(None),
                refused: AtomicU64::new(0),
                applied,
            }),
        }
    }

    /// Applies the directory the store kept, if any and if it still verifies (a database
    /// copied from another network does not); returns its version.
    pub async fn restore(&self) -> Result<Option<u64>, crate::store::Error> {
        let Some(stored) = self.inner.app.store().load_directory().await? else {
            return Ok(None);
        };
        let opened = match SignedDirectory::open(stored.signed, &self.inner.coordinator_key) {
            Ok(opened) => opened,
            Err(error) => {
                self.refuse(&Refused::Signature(error));
                return Ok(None);
            }
        };
        let mut held = self.inner.held.lock().await;
        let version = opened.directory().version();
        self.apply(opened.directory());
        *held = Some(version);
        self.inner.applied.send_replace(Some(version));
        tracing::info!(version, "serving the stored directory");
        Ok(Some(version))
    }

    /// Verifies `signed` (a `SignedDirectory`'s bytes) and, if newer than the version held,
    /// stores it, then applies it.
    pub async fn offer(&self, signed: Vec<u8>) -> Result<Offered, Refused> {
        let result = self.offer_inner(signed).await;
        if let Err(refused) = &result {
            self.refuse(refused);
        }
        result
    }

    async fn offer_inner(&self, signed: Vec<u8>) -> Result<Offered, Refused> {
        let opened = SignedDirectory::open(signed, &self.inner.coordinator_key)
            .map_err(Refused::Signature)?;
        let offered = opened.directory().version();
        let mut held = self.inner.held.lock().await;
        match *held {
            Some(held) if offered < held => return Err(Refused::Older { offered, held }),
            Some(held) if offered == held => return Ok(Offered::Unchanged),
            _ => {}
        }
        let stored = StoredDirectory {
            version: offered,
            signed: opened.bytes().to_vec(),
            saved_at: self.inner.clock.now().as_millis(),
        };
        let kept = self
            .inner
            .app
            .store()
            .save_directory(stored)
            .await
            .map_err(Refused::Store)?;
        if !kept {
            // The store holds this version or a newer one (another replica of this node
            // saved it): it is applied from there at the next start or offer.
            return Ok(Offered::Unchanged);
        }
        self.apply(opened.directory());
        *held = Some(offered);
        self.inner.applied.send_replace(Some(offered));
        tracing::info!(version = offered, "applied a new directory version");
        Ok(Offered::Applied(offered))
    }

    /// The version held, if any.
    pub async fn held_version(&self) -> Option<u64> {
        *self.inner.held.lock().await
    }

    /// How many directories were refused since start.
    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// The version applied, as it changes.
    pub fn applied(&self) -> watch::Receiver<Option<u64>> {
        self.inner.applied.subscribe()
    }

    fn refuse(&self, refused: &Refused) {
        self.inner.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            alert = "directory_refused",
            error = refused as &dyn std::error::Error,
            "refused a directory from the coordinator; the held one stays"
        );
    }

    /// Makes `directory` the partners of the use cases, the courier and the dispatcher.
    fn apply(&self, directory: &Directory) {
        let inner = &self.inner;
        inner.app.apply_directory(directory);
        let partners = inner.app.partner_states();
        for state in &partners {
            self.connect(directory, *state);
        }
        inner.courier.retain(&partners);
        inner
            .deliveries
            .set_partners(inner.app.sendable_partner_states());
    }

    /// Connects the courier to `state`'s node at the endpoint the directory lists, unless
    /// it is connected there already.
    fn connect(&self, directory: &Directory, state: StateCode) {
        let Some(member) = directory.member(state) else {
            return;
        };
        let endpoint = member.endpoint.as_str();
        if self.inner.courier.endpoint(state).as_deref() == Some(endpoint) {
            return;
        }
        let connection = (self.inner.tls_for)(member.endpoint.host(), PeerIdentity::Node(state))
            .and_then(|tls| accord_trust::connect_lazy(endpoint, &tls));
        match connection {
            Ok(connection) => self.inner.courier.set_partner(
                state,
                endpoint.to_owned(),
                connection,
                self.inner.max_message_bytes,
            ),
            Err(error) => {
                tracing::warn!(%state, endpoint, error = &error as &dyn std::error::Error, "cannot reach a partner at the endpoint the directory lists");
                self.inner.courier.retain(
                    &self
                        .inner
                        .app
                        .partner_states()
                        .into_iter()
                        .filter(|partner| *partner != state)
                        .collect::<Vec<_>>(),
                );
            }
        }
    }
}

/// The background task that follows the coordinator's directory.
pub struct DirectoryWatch {
    /// Who verifies, keeps and applies what arrives.
    pub follower: Follower,
    /// The coordinator's `MembershipService`, over mTLS with the node's certificate.
    pub client: MembershipServiceClient<Channel>,
    /// Waits between failed attempts.
    pub backoff: Backoff,
}

impl DirectoryWatch {
    /// Fetches and watches until `shutdown` turns true, reconnecting after each failure;
    /// the wait doubles while attempts fail, and starts short again after one that
    /// received a directory.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let mut received = false;
            let error = tokio::select! {
                error = self.follow(&mut received) => error,
                _ = shutdown.changed() => return,
            };
            failures = if received {
                1
            } else {
                failures.saturating_add(1)
            };
            let wait = self.backoff.delay(failures, u64::from(failures));
            tracing::warn!(error = %error, failures, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "the coordinator's directory cannot be watched; retrying");
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// One connection: the current directory, then every newer version, until the stream
    /// fails; returns why. `received` turns true once a directory arrived.
    async fn follow(&self, received: &mut bool) -> tonic::Status {
        let mut client = self.client.clone();
        match client.get_directory(pb::GetDirectoryRequest {}).await {
            Ok(response) => self.offer(response.into_inner().directory).await,
            Err(status) => return status,
        }
        *received = true;
        let after_version = self.follower.held_version().await.unwrap_or(0);
        let mut stream = match client
            .watch_directory(pb::WatchDirectoryRequest { after_version })
            .await
        {
            Ok(response) => response.into_inner(),
            Err(status) => return status,
        };
        loop {
            match stream.message().await {
                Ok(Some(message)) => self.offer(message.directory).await,
                Ok(None) => return tonic::Status::unavailable("the coordinator ended the watch"),
                Err(status) => return status,
            }
        }
    }

    async fn offer(&self, signed: Option<pb::SignedDirectory>) {
        let Some(signed) = signed else {
            tracing::warn!("the coordinator sent an empty directory message");
            return;
        };
        // Refusals are logged and counted by the follower; the watch goes on.
        let _outcome = self
            .follower
            .offer(prost::Message::encode_to_vec(&signed))
            .await;
    }
}
