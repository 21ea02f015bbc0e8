//! Reconciliation through its public API: every kind of break, the grace period and the age
//! buckets at their boundaries, re-sends, what reaches the ledger, filters, resolutions, and a
//! property test that the order of arrival changes nothing.
//!
//! The expected outcomes come from DESIGN.md §3 and `ledger.proto`, written out by hand in
//! each test, never from the implementation.

mod ages;
mod breaks;
mod ledger;
mod listing;
mod properties;

use accord_domain::admission::AdmissionStep;
use accord_domain::readmission::ReadmissionStep;
use accord_domain::reconciliation::{
    Attestation, EventDigest, EventKind, Reconciler, Reconciliation, StatePair,
};
use accord_domain::{CaseRef, Period, Timestamp};

use super::support::{at, state};

/// The grace period of every test: two calendar days.
pub const GRACE: Period = Period::CalendarDays(2);

/// Day `n` of the tests' calendar, at 09:00 UTC.
pub fn day(n: u32) -> Timestamp {
    at("2025-10-01T09:00:00Z").plus(Period::CalendarDays(n))
}

/// `instant` plus `millis` milliseconds (minus, if negative).
pub fn offset(instant: Timestamp, millis: i64) -> Timestamp {
    instant.plus_millis(millis)
}

pub fn case(text: &str) -> CaseRef {
    CaseRef::parse(text).unwrap()
}

pub fn pair(first: &str, second: &str) -> StatePair {
    StatePair::new(state(first), state(second)).unwrap()
}

pub fn readmission(step: ReadmissionStep) -> EventKind {
    EventKind::Readmission(step)
}

pub fn admission(step: AdmissionStep) -> EventKind {
    EventKind::Admission(step)
}

/// One event as a party describes it: everything a report says but who reports it and when
/// the coordinator accepted it.
#[derive(Debug, Clone)]
pub struct Fact {
    pub case_ref: CaseRef,
    pub kind: EventKind,
    pub pair: StatePair,
    pub sequence: u64,
    pub occurred_at: Timestamp,
    pub digest: u8,
}

impl Fact {
    /// The report of this fact by `reporter`, accepted at `accepted_at`.
    pub fn by(&self, reporter: &str, accepted_at: Timestamp) -> Attestation {
        Attestation::new(
            self.case_ref.clone(),
            self.kind,
            state(reporter),
            self.pair,
            self.occurred_at,
            self.sequence,
            EventDigest::from_bytes([self.digest; 32]),
            accepted_at,
        )
        .unwrap()
    }
}

/// France confirms the arrival of the person Britain returned in RDM-GB-FR-7Q2K: event 9, on
/// day 0.
pub fn arrival_confirmed() -> Fact {
    Fact {
        case_ref: case("RDM-GB-FR-7Q2K"),
        kind: readmission(ReadmissionStep::ArrivalConfirmed),
        pair: pair("GB", "FR"),
        sequence: 9,
        occurred_at: day(0),
        digest: 1,
    }
}

/// Britain reports the arrival of the person it admitted from France in ADM-GB-FR-19: event
/// 7, on day 0.
pub fn admission_arrived() -> Fact {
    Fact {
        case_ref: case("ADM-GB-FR-19"),
        kind: admission(AdmissionStep::Arrived),
        pair: pair("GB", "FR"),
        sequence: 7,
        occurred_at: day(0),
        digest: 2,
    }
}

/// A reconciler with the test's grace period that recorded `reports` in order.
pub fn recorded(reports: impl IntoIterator<Item = Attestation>) -> Reconciler {
    let mut reconciler = Reconciler::new(GRACE);
    for report in reports {
        reconciler.record(report);
    }
    reconciler
}

/// The codes of the breaks' kinds, in listing order.
pub fn break_kinds(reconciliation: &Reconciliation) -> Vec<&'static str> {
    reconciliation
        .breaks()
        .iter()
        .map(|found| found.kind().code())
        .collect()
}
