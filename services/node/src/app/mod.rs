//! The node's use cases, over the domain core and the store.
//!
//! [`App`] holds what every use case needs: this node's state, the store, the clock, the
//! state's event-signing key and the links to partner nodes. Use cases take already
//! authenticated callers (the `grpc` layer reads identities from certificates) and decide
//! authorization themselves, before validation and before any storage. They never touch
//! sea-orm or tonic's server types; they speak domain types and the signed wire events that
//! nodes exchange and store verbatim.

pub mod admission;
mod agreement;
mod deadlines;
mod dispatcher;
pub(crate) mod envelope;
mod error;
mod idempotency;
mod ledger;
pub mod offer;
pub mod readmission;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use accord_domain::parity::ParityLimit;
use accord_domain::{CaseRef, StateCode, Timestamp};
use accord_proto::v1::admission_service_client::AdmissionServiceClient;
use accord_proto::v1::readmission_service_client::ReadmissionServiceClient;
use accord_trust::{EventSigningKey, EventVerifyingKey, PeerIdentity};
use sha2::{Digest, Sha256};
use tonic::transport::Channel;

pub use deadlines::DeadlineSweeper;
pub use dispatcher::{Backoff, Dispatcher};
pub use error::{Error, FieldViolation, Precondition, Violations};

use crate::clock::Clock;
use crate::store::{AuditRecord, Store};

/// How many attempts in all, the first included, a use case makes at one change before it
/// gives up on a case that keeps changing under it (see [`retry_on_conflict`]).
const CONFLICT_ATTEMPTS_MAX: usize = 4;

/// Events per page of a history read when the caller names no page size.
const EVENT_PAGE_SIZE_DEFAULT: u32 = 50;

/// A partner node as this node knows it.
#[derive(Clone)]
pub struct PartnerLink {
    /// The partner's state.
    pub state: StateCode,
    /// Its event-signing key.
    pub verifying_key: EventVerifyingKey,
    /// Its parity limit, if configured.
    pub parity_limit: Option<ParityLimit>,
    /// The regimes the pair agreed (`agreement::check_agreement`).
    pub regimes: Vec<accord_domain::Regime>,
    /// A client for its readmission service (connects lazily, reconnects after failures).
    pub readmission: ReadmissionServiceClient<Channel>,
    /// A client for its admission service (offers and admission cases), on the same channel.
    pub admission: AdmissionServiceClient<Channel>,
}

/// Everything the use cases share; cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    own_state: StateCode,
    store: Store,
    clock: Arc<dyn Clock>,
    signer: EventSigningKey,
    partners: HashMap<StateCode, PartnerLink>,
    page_size_max: u32,
}

impl App {
    /// Assembles the use cases.
    pub fn new(
        own_state: StateCode,
        store: Store,
        clock: Arc<dyn Clock>,
        signer: EventSigningKey,
        partners: Vec<PartnerLink>,
        page_size_max: u32,
    ) -> Self {
        let partners = partners
            .into_iter()
            .map(|partner| (partner.state, partner))
            .collect();
        Self {
            inner: Arc::new(Inner {
                own_state,
                store,
                clock,
                signer,
                partners,
                page_size_max,
            }),
        }
    }

    /// This node's state.
    pub fn own_state(&self) -> StateCode {
        self.inner.own_state
    }

    /// The store (for the dispatcher, the sweeper and tests).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn signer(&self) -> &EventSigningKey {
        &self.inner.signer
    }

    pub(crate) fn partner(&self, state: StateCode) -> Option<&PartnerLink> {
        self.inner.partners.get(&state)
    }

    /// The configured partner states.
    pub(crate) fn partner_states(&self) -> impl Iterator<Item = StateCode> + '_ {
        self.inner.partners.keys().copied()
    }

    pub(crate) fn page_size_max(&self) -> u32 {
        self.inner.page_size_max
    }

    /// Only this node's own gateway may call the local API.
    pub fn authorize_local(&self, caller: &PeerIdentity) -> Result<(), Error> {
        match caller {
            PeerIdentity::Gateway(state) if *state == self.inner.own_state => Ok(()),
            other => Err(Error::PermissionDenied(format!(
                "{} may not call {}'s local API; only spiffe://accord/state/{}/gateway may",
                other.spiffe_id(),
                self.inner.own_state,
                self.inner.own_state
            ))),
        }
    }

    /// Only a configured partner's node may deliver events; returns its state.
    pub fn authorize_partner(&self, caller: &PeerIdentity) -> Result<StateCode, Error> {
        match caller {
            PeerIdentity::Node(state) if self.inner.partners.contains_key(state) => Ok(*state),
            other => Err(Error::PermissionDenied(format!(
                "{} is not a partner node of {}",
                other.spiffe_id(),
                self.inner.own_state
            ))),
        }
    }

    /// Records a refused call in the audit table. A failure to record is logged, never
    /// turned into another error for the caller.
    pub async fn audit_refusal(&self, peer: &str, operation: &str, outcome: &str, detail: &str) {
        let record = AuditRecord {
            at: self.now().as_millis(),
            peer: peer.to_owned(),
            operation: operation.to_owned(),
            outcome: outcome.to_owned(),
            detail: detail.to_owned(),
        };
        if let Err(error) = self.inner.store.record_audit(record).await {
            tracing::error!(%error, peer, operation, "could not record a refused call in the audit log");
        }
    }
}

/// SHA-256 of a request's encoding: tells a replay (same content) from a reuse of its key.
pub fn request_digest(operation: &str, encoded_request: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update([0]);
    hasher.update(encoded_request);
    hasher.finalize().to_vec()
}

/// The later of two instants: a node never records an event before the case's last one,
/// even when its clock is behind its partner's.
pub(crate) fn not_before(now: Timestamp, last_event_at: Timestamp) -> Timestamp {
    if now < last_event_at {
        last_event_at
    } else {
        now
    }
}

/// A new case, admission or offer id: 13 base-32 digits of the millisecond time, then 13 of randomness, so
/// references sort by creation time and never collide in practice.
pub(crate) fn new_case_id(now: Timestamp) -> String {
    use std::hash::{BuildHasher, Hasher};
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut id = String::with_capacity(26);
    let time = u64::try_from(now.as_millis()).unwrap_or(0);
    for shift in (0..13).rev() {
        id.push(char::from(ALPHABET[((time >> (shift * 5)) & 31) as usize]));
    }
    // std's RandomState is seeded from the operating system's randomness per instance.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_i64(now.as_millis());
    let random = hasher.finish();
    for shift in (0..13).rev() {
        id.push(char::from(
            ALPHABET[((random >> (shift * 5 % 60)) & 31) as usize],
        ));
    }
    id
}

/// Runs `attempt` (read the case, decide, commit) again while it loses a race on `subject`.
///
/// Why: a use case reads a case, lets the domain decide, and commits with the store's
/// optimistic check that nothing changed since the read. `Error::Aborted` means another
/// change reached the case (or offer) first: the caseworker's step or the partner's event was
/// decided against a history that is no longer the case's. Deciding again on a fresh read is
/// always safe, and gives the caller the answer it would have had without the race: the
/// step applied after the other change, a refusal the new history calls for, or, when the
/// other change was this same request, its first outcome (each attempt starts with its
/// replay look-up).
///
/// How many times: at most [`CONFLICT_ATTEMPTS_MAX`] attempts in all. Every other result,
/// success or error, is returned at once, unchanged.
///
/// What the caller sees after the last: `Error::Aborted("<subject> kept changing
/// concurrently; retry")` (gRPC `ABORTED`), whatever the last attempt's own `Aborted` said.
/// A lost attempt's change was not committed: the store commits a change whole or not at all.
pub(crate) async fn retry_on_conflict<T, F, Fut>(
    subject: &CaseRef,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    for _attempt in 0..CONFLICT_ATTEMPTS_MAX {
        match attempt().await {
            Err(Error::Aborted(_)) => continue,
            result => return result,
        }
    }
    Err(Error::Aborted(format!(
        "{subject} kept changing concurrently; retry"
    )))
}

/// Which part of a signed history (of a case or an offer) a read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPageRequest {
    /// Only events with a greater sequence.
    pub after_sequence: u64,
    /// At most this many events: 0 asks for the default page
    /// (`EVENT_PAGE_SIZE_DEFAULT`), and no page exceeds the node's `page_size_max`.
    pub page_size: u32,
}

/// One page of a signed history, in sequence order.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage<E> {
    /// The events of the page.
    pub events: Vec<E>,
    /// The sequence of the page's last event when more follow (the next page's token);
    /// empty when the page ends the history.
    pub next_page_token: String,
}

impl App {
    /// The page of `history` that `request` asks for: the events after its sequence, at
    /// most its page size (or the default), and the token of the next page.
    pub(crate) fn event_page<E: envelope::CaseEvent>(
        &self,
        history: Vec<E>,
        request: EventPageRequest,
    ) -> EventPage<E> {
        let limit = match request.page_size {
            0 => EVENT_PAGE_SIZE_DEFAULT,
            size => size.min(self.page_size_max()),
        } as usize;
        let mut events: Vec<E> = history
            .into_iter()
            .filter(|event| event.sequence() > request.after_sequence)
            .collect();
        let more = events.len() > limit;
        events.truncate(limit);
        let next_page_token = match (more, events.last()) {
            (true, Some(last)) => last.sequence().to_string(),
            _ => String::new(),
        };
        EventPage {
            events,
            next_page_token,
        }
    }
}
