//! The node's use cases, over the domain core and the store.
//!
//! The use cases are split by what they serve, each context with the fields it needs:
//! [`Cases`] (readmission and admission cases), [`Offers`], [`Deadlines`] (what this node's
//! clock records) and [`Deliveries`] (the outbox's delivery, which needs no key and no use
//! case). The first three share a `Core` (this node's state, the store, the clock, the
//! signing key, the maker of event keys) and, but for deadlines, the `Partners`. [`App`] assembles them and decides
//! who may call at all. Use cases take already authenticated callers (the `grpc` layer
//! reads identities from certificates) and decide authorization themselves, before
//! validation and before any storage. They take commands and give answers in the domain's
//! terms (`convert::command`); a signed event travels through them as an envelope
//! (`convert::envelope`), never as a wire message they read or build. They never touch
//! sea-orm (only `store` does) or tonic. A caller's idempotency key goes no further than
//! where it enters (`idempotency::Asked`): from there on, records, events and deliveries
//! name this node's pseudonym of it (`event_key`).

pub mod admission;
mod agreement;
mod allocation;
pub(crate) mod case;
mod deadlines;
mod dispatcher;
mod error;
mod event_key;
mod idempotency;
mod ledger;
mod list;
mod log_clock;
pub mod offer;
mod partners;
pub mod readmission;

use std::future::Future;
use std::sync::{Arc, OnceLock};

use accord_domain::{CaseRef, StateCode, Timestamp};
use accord_trust::{EventSigningKey, PeerIdentity};
use sha2::{Digest, Sha256};

pub use deadlines::DeadlineSweeper;
pub use dispatcher::{Backoff, Courier, Deliveries, Dispatcher, Parcel, Refusal, Route};
pub use error::{Error, Precondition};
use event_key::EventKeys;
pub use log_clock::{CaseLog, CaseLogView, LogClock, LoggedEvent, Unreachable};
pub use partners::PartnerLink;
use partners::{PartnerBook, Partners};

use crate::clock::Clock;
use crate::store::{AuditRecord, Store};

/// How many attempts in all, the first included, a use case makes at one change before it
/// gives up on a case that keeps changing under it (see [`retry_on_conflict`]).
const CONFLICT_ATTEMPTS_MAX: usize = 4;

/// What every use case shares: this node's state, its store, its clock, the state's
/// event-signing key and the page-size limit; cheap to clone. The shared pipeline
/// (`case`), idempotency (`idempotency`), the pair ledger (`ledger`) and reading offers are
/// its methods: whatever one kind's use cases need of another's records goes through it.
#[derive(Clone)]
pub(crate) struct Core {
    inner: Arc<CoreInner>,
}

struct CoreInner {
    own_state: StateCode,
    store: Store,
    clock: Arc<dyn Clock>,
    signer: EventSigningKey,
    event_keys: EventKeys,
    page_size_max: u32,
    /// The coordinator's log as a clock, set once at start when the node follows one.
    log_clock: OnceLock<LogClock>,
}

impl Core {
    /// This node's state.
    pub(crate) fn own_state(&self) -> StateCode {
        self.inner.own_state
    }

    /// The store.
    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn signer(&self) -> &EventSigningKey {
        &self.inner.signer
    }

    /// The maker of this node's event keys, keyed with the store's node secret.
    pub(crate) fn event_keys(&self) -> &EventKeys {
        &self.inner.event_keys
    }

    /// The most records or events one page holds.
    pub(crate) fn page_size_max(&self) -> u32 {
        self.inner.page_size_max
    }

    /// The coordinator's log as a clock (acceptance by default on S's node), when the node
    /// follows a coordinator.
    pub(crate) fn log_clock(&self) -> Option<&LogClock> {
        self.inner.log_clock.get()
    }
}

/// The use cases of readmission and admission cases: opening or nominating, every
/// caseworker step, the partner's delivered events, and reads. They need the partners'
/// keys, agreements and parity limits besides the `Core`.
#[derive(Clone)]
pub struct Cases {
    core: Core,
    partners: Arc<Partners>,
}

/// The use cases of admission offers: publishing, steps, the partner's delivered offer
/// events, and reads. They need the partners' keys and agreements besides the `Core`.
#[derive(Clone)]
pub struct Offers {
    core: Core,
    partners: Arc<Partners>,
}

/// The deadlines this node's clock records (`DeadlineSweeper` runs them): a lapse is this
/// node's own event, signed and queued for the partner, so it needs the `Core` and
/// nothing of the partners' configuration.
#[derive(Clone)]
pub struct Deadlines {
    core: Core,
}

/// The node's use cases, by what they serve, and who may call them; cheap to clone. The
/// outbox's delivery has its own context ([`Deliveries`]).
#[derive(Clone)]
pub struct App {
    core: Core,
    partners: Arc<Partners>,
    cases: Cases,
    offers: Offers,
    deadlines: Deadlines,
}

impl App {
    /// Assembles the use cases; the event keys are made under the store's node secret.
    pub fn new(
        own_state: StateCode,
        store: Store,
        clock: Arc<dyn Clock>,
        signer: EventSigningKey,
        partners: Vec<PartnerLink>,
        page_size_max: u32,
    ) -> Self {
        let event_keys = EventKeys::new(store.node_secret());
        let core = Core {
            inner: Arc::new(CoreInner {
                own_state,
                store,
                clock,
                signer,
                event_keys,
                page_size_max,
                log_clock: OnceLock::new(),
            }),
        };
        let partners = Arc::new(Partners::new(own_state, partners));
        Self {
            cases: Cases {
                core: core.clone(),
                partners: partners.clone(),
            },
            offers: Offers {
                core: core.clone(),
                partners: partners.clone(),
            },
            deadlines: Deadlines { core: core.clone() },
            core,
            partners,
        }
    }

    /// Readmission and admission cases.
    pub fn cases(&self) -> &Cases {
        &self.cases
    }

    /// Admission offers.
    pub fn offers(&self) -> &Offers {
        &self.offers
    }

    /// Lets this node record acceptance by default on `log_clock` for its own requests, and
    /// apply the partner's (`log_clock` module). Set once, at start, before serving; a
    /// second call changes nothing.
    pub fn follow_log_clock(&self, log_clock: LogClock) {
        let _ = self.core.inner.log_clock.set(log_clock);
    }

    /// The deadlines this node's clock records.
    pub fn deadlines(&self) -> &Deadlines {
        &self.deadlines
    }

    /// This node's state.
    pub fn own_state(&self) -> StateCode {
        self.core.own_state()
    }

    /// The store (for the dispatcher, the sweeper and tests).
    pub fn store(&self) -> &Store {
        self.core.store()
    }

    /// This node's event-signing key: it also cosigns the coordinator's tree heads.
    pub(crate) fn signer(&self) -> &EventSigningKey {
        self.core.signer()
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.core.now()
    }

    /// The partner states, as configured or as the applied directory lists them (suspended
    /// partners included).
    pub fn partner_states(&self) -> Vec<StateCode> {
        self.partners.states()
    }

    /// The partner states deliveries may go to now: active partners, while this node's own
    /// state is active.
    pub fn sendable_partner_states(&self) -> Vec<StateCode> {
        self.partners.current().sendable_states()
    }

    /// Makes `directory` this node's view of its partners (their standing, keys and the
    /// pair's agreements), whole, for every request from now on. The caller has verified it
    /// and checked that it is newer than the one applied (`crate::directory`).
    pub fn apply_directory(&self, directory: &accord_domain::membership::Directory) {
        let book = PartnerBook::from_directory(self.own_state(), directory);
        self.partners.replace(book);
    }

    /// The version of the directory applied, if the partners come from one.
    pub fn directory_version(&self) -> Option<u64> {
        self.partners.current().version()
    }

    /// Only this node's own gateway may call the local API.
    pub fn authorize_local(&self, caller: &PeerIdentity) -> Result<(), Error> {
        let own = self.own_state();
        match caller {
            PeerIdentity::Gateway(state) if *state == own => Ok(()),
            other => Err(Error::PermissionDenied(format!(
                "{} may not call {own}'s local API; only spiffe://accord/state/{own}/gateway may",
                other.spiffe_id(),
            ))),
        }
    }

    /// Only a partner's node may deliver events, and only while neither state is
    /// suspended (`MEMBER_SUSPENDED`); returns its state.
    pub fn authorize_partner(&self, caller: &PeerIdentity) -> Result<StateCode, Error> {
        let book = self.partners.current();
        match caller {
            PeerIdentity::Node(state) if book.is_partner(*state) => {
                book.check_not_suspended(*state)?;
                Ok(*state)
            }
            other => Err(Error::PermissionDenied(format!(
                "{} is not a partner node of {}",
                other.spiffe_id(),
                self.own_state()
            ))),
        }
    }

    /// Who may read the signed history of the record `reference` names: this node's
    /// gateway, or a partner's node that is one of its two states. A malformed reference
    /// passes here, to be refused by validation.
    pub fn authorize_history_reader(
        &self,
        caller: &PeerIdentity,
        reference: &str,
    ) -> Result<(), Error> {
        let allowed = match caller {
            PeerIdentity::Node(partner) => {
                self.authorize_partner(caller).is_ok()
                    && CaseRef::parse(reference).map_or(true, |case_ref| {
                        case_ref.first_state() == *partner || case_ref.second_state() == *partner
                    })
            }
            _ => self.authorize_local(caller).is_ok(),
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::PermissionDenied(format!(
                "{} may not read the history of {reference:?} on this node",
                caller.spiffe_id()
            )))
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
        if let Err(error) = self.store().record_audit(record).await {
            tracing::error!(
                error = &error as &dyn std::error::Error,
                peer,
                operation,
                "could not record a refused call in the audit log"
            );
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

/// The contract layer (`accord_edge::contract`) audits calls refused before any handler
/// here, with the handlers' refusals.
impl accord_edge::contract::RefusalAudit for App {
    async fn audit_refusal(&self, peer: &str, operation: &str, outcome: &str, detail: &str) {
        App::audit_refusal(self, peer, operation, outcome, detail).await;
    }
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
