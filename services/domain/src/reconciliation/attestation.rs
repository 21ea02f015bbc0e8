//! What one party reports about one event: an [`Attestation`], and the values it is made of
//! ([`EventKind`], [`StatePair`], [`EventDigest`]).

use std::fmt;

use super::Error;
use crate::StateCode;
use crate::admission::{AdmissionStep, OfferStep};
use crate::case_ref::{CaseKind, CaseRef};
use crate::readmission::ReadmissionStep;
use crate::time::Timestamp;

/// The kind of a reported event: a step of one of the three kinds of case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// A step of a readmission case (`RDM-`).
    Readmission(ReadmissionStep),
    /// A step of an admission case (`ADM-`).
    Admission(AdmissionStep),
    /// A step of an admission offer (`OFR-`).
    Offer(OfferStep),
}

impl EventKind {
    /// The kind of case whose events are of this kind.
    pub fn case_kind(self) -> CaseKind {
        match self {
            EventKind::Readmission(_) => CaseKind::Readmission,
            EventKind::Admission(_) => CaseKind::Admission,
            EventKind::Offer(_) => CaseKind::Offer,
        }
    }

    /// The stable code of the step, e.g. `READMISSION_ARRIVAL_CONFIRMED`.
    pub fn code(self) -> &'static str {
        match self {
            EventKind::Readmission(step) => step.code(),
            EventKind::Admission(step) => step.code(),
            EventKind::Offer(step) => step.code(),
        }
    }

    /// Whether events of this kind may occur more than once in one case, by the transition
    /// tables: such events are matched per sequence, every other kind once per case. Written
    /// out without a wildcard, so that a new step must be classified here.
    pub fn recurs(self) -> bool {
        match self {
            EventKind::Readmission(step) => readmission_step_recurs(step),
            EventKind::Admission(step) => admission_step_recurs(step),
            EventKind::Offer(step) => offer_step_recurs(step),
        }
    }
}

fn readmission_step_recurs(step: ReadmissionStep) -> bool {
    use ReadmissionStep as Step;
    match step {
        // Questions may be asked again; holds, schedules, postponements and failed transfers
        // may follow one another.
        Step::InformationRequested
        | Step::InformationProvided
        | Step::LegalHoldPlaced
        | Step::LegalHoldReleased
        | Step::TransferScheduled
        | Step::TransferPostponed
        | Step::TransferFailed => true,
        Step::Submitted
        | Step::Received
        | Step::ExaminationStarted
        | Step::Accepted
        | Step::AcceptedByDefault
        | Step::Rejected
        | Step::ReExaminationRequested
        | Step::AcceptedOnReExamination
        | Step::RejectedFinal
        | Step::ReExaminationLapsed
        | Step::RejectionAccepted
        | Step::RejectionClosed
        | Step::TransferDecisionIssued
        | Step::TransferExecuted
        | Step::ArrivalConfirmed
        | Step::NoShow
        | Step::Withdrawn
        | Step::Expired => false,
    }
}

fn admission_step_recurs(step: AdmissionStep) -> bool {
    use AdmissionStep as Step;
    match step {
        Step::Nominated
        | Step::VettingStarted
        | Step::Granted
        | Step::Refused
        | Step::Withdrawn
        | Step::TravelBooked
        | Step::Arrived
        | Step::DepartureConfirmed
        | Step::GrantLapsed => false,
    }
}

fn offer_step_recurs(step: OfferStep) -> bool {
    use OfferStep as Step;
    match step {
        Step::Paused | Step::Resumed | Step::Amended | Step::SlotClaimed | Step::SlotReleased => {
            true
        }
        Step::Published | Step::Closed => false,
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An ordered pair of two different states: (requesting, requested) for a readmission,
/// (admitting, origin) for an admission or an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatePair {
    first: StateCode,
    second: StateCode,
}

impl StatePair {
    /// The pair (`first`, `second`); refused if they are one state.
    pub fn new(first: StateCode, second: StateCode) -> Result<Self, Error> {
        if first == second {
            return Err(Error::SameState { state: first });
        }
        Ok(Self { first, second })
    }

    /// The pair a case reference names, in its order.
    pub fn of_case(case_ref: &CaseRef) -> Self {
        // Invariant: a case reference's two states differ (`case_ref::Error::SameState`).
        Self {
            first: case_ref.first_state(),
            second: case_ref.second_state(),
        }
    }

    /// The requesting or admitting state.
    pub fn first(self) -> StateCode {
        self.first
    }

    /// The requested or origin state.
    pub fn second(self) -> StateCode {
        self.second
    }

    /// Whether `state` is one of the two.
    pub fn includes(self, state: StateCode) -> bool {
        self.first == state || self.second == state
    }

    /// The other state of the pair, if `state` is one of the two.
    pub fn other(self, state: StateCode) -> Option<StateCode> {
        if state == self.first {
            Some(self.second)
        } else if state == self.second {
            Some(self.first)
        } else {
            None
        }
    }
}

impl fmt::Display for StatePair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.first, self.second)
    }
}

/// SHA-256 of a signed event's canonical bytes (`event_digest` in `event.proto`): two reports
/// with the same digest speak of the same signed event.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventDigest([u8; 32]);

impl EventDigest {
    /// The digest's 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for EventDigest {
    /// Lower-case hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for EventDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventDigest({self})")
    }
}

/// One party's report of one event, as the coordinator accepted it.
///
/// Built by [`Attestation::new`], which refuses what a report alone shows to be wrong: a
/// reporter who is not a party to the case or not in the pair it reports, a kind of another
/// kind of case, a sequence of 0. Whether the two parties agree is for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attestation {
    case_ref: CaseRef,
    kind: EventKind,
    reporter: StateCode,
    pair: StatePair,
    occurred_at: Timestamp,
    sequence: u64,
    digest: EventDigest,
    accepted_at: Timestamp,
}

impl Attestation {
    /// A report by `reporter` that event number `sequence` of `case_ref`, of `kind`, between
    /// `pair`, took effect at `occurred_at` and has digest `digest`; the coordinator accepted
    /// it at `accepted_at`.
    #[allow(clippy::too_many_arguments)] // one argument per field of the attestation
    pub fn new(
        case_ref: CaseRef,
        kind: EventKind,
        reporter: StateCode,
        pair: StatePair,
        occurred_at: Timestamp,
        sequence: u64,
        digest: EventDigest,
        accepted_at: Timestamp,
    ) -> Result<Self, Error> {
        if !StatePair::of_case(&case_ref).includes(reporter) {
            return Err(Error::NotAParty { case_ref, reporter });
        }
        if !pair.includes(reporter) {
            return Err(Error::ReporterOutsidePair { reporter, pair });
        }
        if kind.case_kind() != case_ref.kind() {
            return Err(Error::KindNotOfCase { case_ref, kind });
        }
        if sequence == 0 {
            return Err(Error::SequenceZero);
        }
        Ok(Self {
            case_ref,
            kind,
            reporter,
            pair,
            occurred_at,
            sequence,
            digest,
            accepted_at,
        })
    }

    /// The case.
    pub fn case_ref(&self) -> &CaseRef {
        &self.case_ref
    }

    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The state that reported (one of the case's two states).
    pub fn reporter(&self) -> StateCode {
        self.reporter
    }

    /// The pair the reporter gave.
    pub fn pair(&self) -> StatePair {
        self.pair
    }

    /// When the event took effect, by the acting node's clock.
    pub fn occurred_at(&self) -> Timestamp {
        self.occurred_at
    }

    /// The event's number in its case, from 1.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The digest of the signed event.
    pub fn digest(&self) -> EventDigest {
        self.digest
    }

    /// When the coordinator accepted the report.
    pub fn accepted_at(&self) -> Timestamp {
        self.accepted_at
    }
}
