//! What the use cases take and what they give, in the domain's terms: a request parsed into
//! a command (with the key that makes it idempotent), and a record answered with its signed
//! history. The edges build commands from requests and responses from answers; the use cases
//! see neither requests nor responses.

use accord_domain::admission::OfferWindow;
use accord_domain::{CaseRef, IdempotencyKey, Regime, ReplyTrack, StateCode, Timestamp};

use super::envelope::{Signed, Wire};

/// What makes a mutating request idempotent (common.proto, "Idempotency"): the caller's key,
/// the RPC it was used for, and the digest of the request's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The caller's key, any printable text: the use cases store and sign only the node's
    /// pseudonym of it (`app::event_key`), and tell it back to the caller only.
    pub idempotency_key: IdempotencyKey,
    /// The RPC's method name.
    pub operation: &'static str,
    /// SHA-256 of the request's encoding (`app::request_digest`).
    pub request_digest: Vec<u8>,
}

/// A caseworker's step on an existing record of lifecycle `L`.
#[derive(Debug, Clone)]
pub struct Step<L: Wire> {
    /// The request's key.
    pub key: RequestKey,
    /// The case or offer.
    pub case_ref: CaseRef,
    /// What the domain sees.
    pub kind: L::Kind,
    /// What the signed event carries beyond the domain's facts.
    pub detail: Option<L::Detail>,
    /// What the request asks to check against the stored record, beyond the domain's rules.
    pub checks: L::Checks,
}

/// The checks a readmission step asks for against the stored case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadmissionChecks {
    /// A hold's release names the hold it ends, by the sequence of its placement.
    pub released_hold: Option<u64>,
}

/// The checks an admission step asks for against the stored case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdmissionChecks {
    /// A grant's requested last day of the visa: must lie within the regime's validity.
    pub visa_valid_until: Option<Timestamp>,
    /// A booked journey's departure: must be before the visa expires.
    pub departure: Option<Timestamp>,
}

/// S's caseworker opens a readmission case against R.
#[derive(Debug, Clone)]
pub struct OpenReadmission<D> {
    /// The request's key.
    pub key: RequestKey,
    /// R.
    pub requested: StateCode,
    /// The regime of the pair's agreement.
    pub regime: Regime,
    /// When the person arrived in S.
    pub arrival: Timestamp,
    /// Standard, exceptional or detained.
    pub track: ReplyTrack,
    /// The submission as it will travel (person, evidence, notes), already validated.
    pub submission: D,
}

/// A's caseworker publishes an offer of places for people in O.
#[derive(Debug, Clone)]
pub struct PublishOffer<D> {
    /// The request's key.
    pub key: RequestKey,
    /// O, the origin state.
    pub origin: StateCode,
    /// The regime of the pair's agreement.
    pub regime: Regime,
    /// How many people A offers to admit.
    pub capacity: u32,
    /// When A accepts nominations.
    pub window: OfferWindow,
    /// The terms as they will travel, already validated.
    pub publication: D,
}

/// A's caseworker nominates a person in O for a place under an offer.
#[derive(Debug, Clone)]
pub struct NominateCandidate<D> {
    /// The request's key.
    pub key: RequestKey,
    /// The offer whose place the candidate takes.
    pub offer_ref: CaseRef,
    /// The nomination as it will travel (person, references), already validated.
    pub nomination: D,
}

/// A record with its signed history, as a use case answers it.
#[derive(Debug, Clone)]
pub struct Answer<L: Wire> {
    /// The record, after the step if there was one.
    pub case: L,
    /// Its signed history; after a step, the step's event is the last.
    pub history: Vec<Signed<L>>,
    /// Messages about the record (for an admission case, about its offer) that await the
    /// partner's acknowledgement.
    pub pending_deliveries: u32,
    /// For an offer: how many of its admission cases are counted. Zero otherwise.
    pub admitted: u32,
}

impl<L: Wire> Answer<L> {
    /// The event the step recorded: the history's last.
    pub fn event(&self) -> Option<&Signed<L>> {
        self.history.last()
    }
}

/// Which part of a signed history a read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPageRequest {
    /// Only events with a greater sequence.
    pub after_sequence: u64,
    /// At most this many events: 0 asks for the default page, and no page exceeds the
    /// node's `page_size_max`.
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

/// A page of records, newest first.
#[derive(Debug, Clone)]
pub struct RecordPage<L: Wire> {
    /// The records, each with its history (a list shows it without).
    pub records: Vec<Answer<L>>,
    /// The last reference of the page when more follow.
    pub next_page_token: Option<String>,
}

/// What a partner's node is told when it delivers an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// When this node received the event (for a readmission request: the legal date and
    /// hour that starts the reply clock).
    pub receipt_time: Timestamp,
    /// Whether the same event had been delivered before.
    pub already_delivered: bool,
}

/// Which records a list returns, and where its page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery<F> {
    /// What the records must match.
    pub filter: F,
    /// The last reference of the previous page.
    pub after: Option<String>,
    /// At most this many records (capped at the node's page size maximum).
    pub page_size: u32,
}

/// The filter of a readmission list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadmissionFilter {
    /// Only cases with this partner state.
    pub counterpart: Option<StateCode>,
    /// Only cases in this status.
    pub status: Option<accord_domain::readmission::ReadmissionStatus>,
}

/// The filter of an offer list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferFilter {
    /// Only offers with this partner state.
    pub counterpart: Option<StateCode>,
    /// Only offers where this node's state admits (`Some(true)`) or is the origin
    /// (`Some(false)`).
    pub admitting: Option<bool>,
    /// Only offers in one of these status codes (`OPEN`, `PAUSED`, `CLOSED`); empty for all.
    pub statuses: Vec<&'static str>,
}

/// The filter of an admission case list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionFilter {
    /// Only cases with this partner state.
    pub counterpart: Option<StateCode>,
    /// Only cases where this node's state admits (`Some(true)`) or is the origin
    /// (`Some(false)`).
    pub admitting: Option<bool>,
    /// Only cases in one of these statuses; empty for all.
    pub statuses: Vec<accord_domain::admission::AdmissionStatus>,
    /// Only cases under this offer.
    pub offer_ref: Option<CaseRef>,
    /// Only cases with an event at or after this instant.
    pub updated_since: Option<Timestamp>,
}

/// The filter of an allocation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationFilter {
    /// `Some(true)` for allocations this state admits on, `Some(false)` for those taking
    /// people from it, `None` for both.
    pub admitting: Option<bool>,
    /// Only this round's.
    pub round_id: Option<String>,
}

/// One instruction of a final round that names this node's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The round whose report gave it.
    pub round_id: String,
    /// The report's version.
    pub report_version: u32,
    /// The admitting state.
    pub admitting: StateCode,
    /// The origin state.
    pub origin: StateCode,
    /// How many people.
    pub count: u32,
    /// Whether it is a redirected admission.
    pub redirected: bool,
    /// Its deadline, when the report gives one.
    pub perform_by: Option<Timestamp>,
    /// The round's period.
    pub period: (Timestamp, Timestamp),
    /// When this node recorded it.
    pub recorded_at: Timestamp,
}

impl Allocation {
    /// Its place in a list, as a page token: `ROUND_ID/ADMITTING/ORIGIN`.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.round_id, self.admitting, self.origin)
    }
}

/// A page of allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationPage {
    /// The allocations, newest round first, then by pair.
    pub allocations: Vec<Allocation>,
    /// The last allocation's key when more follow.
    pub next_page_token: Option<String>,
}
