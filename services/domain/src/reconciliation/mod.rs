//! Reconciliation: matching the two parties' reports of every case event, and listing what
//! does not match as breaks with an age (DESIGN.md §3, "Reconciliation"; `ledger.proto`).
//!
//! Both states of a case report each of its events to the coordinator as an [`Attestation`]:
//! the case reference, the event kind, the reporting state, the pair of states, when the
//! event took effect, its sequence in the case, the digest of the signed event, and when the
//! coordinator accepted the report. Neither side is believed alone: an event counts only when
//! both parties said the same thing about it, as a clearing house counts only matched trades.
//!
//! Reports are matched on (case reference, event kind). Kinds that recur in one case (a
//! second request for information, a postponement, an offer's slots: [`EventKind::recurs`])
//! are matched on (case reference, event kind, sequence) instead, so that each occurrence is
//! its own record. For each record, as of an instant `now`:
//!
//! - **matched** ([`MatchedEvent`]): each party reported exactly one version and the two
//!   agree on pair, sequence, time and digest. Only matched events reach the ledger
//!   ([`Reconciliation::ledger`]), each record once however often it was re-sent;
//! - **pending** ([`PendingEvent`]): one party reported and the grace period, counted from the
//!   coordinator's acceptance of that report, has not yet passed. Partners deliver through
//!   outboxes with retries, so a short silence is normal, not a break;
//! - otherwise it is a [`Break`], of one of the kinds of DESIGN.md:
//!   - `ONE_SIDED`: the counterpart is still silent after the grace period (at exactly the end
//!     of the grace period it is still pending; a millisecond later it is a break);
//!   - `MISMATCH`: both reported, but the pair, the sequence, the time or the digest differ
//!     ([`MismatchField`]). A difference of kind cannot show inside one record, since the kind
//!     is half its key: two parties that put different kinds at one sequence are a `CONFLICT`;
//!   - `DUPLICATE`: one party reported the record twice with different content. A re-send of
//!     the same content (an outbox retry) is not a break: it is recognised and kept once, with
//!     its first acceptance;
//!   - `CONFLICT`: the two parties disagree about which event holds a sequence of the case —
//!     they hold two histories. Every record touching that sequence is part of the conflict
//!     rather than a break of its own, and none of them counts;
//!   - `NOT_PERFORMED`: a settlement instruction not carried out by its deadline, modelled as
//!     an [`ExpectedEvent`] (case, kind, deadline) with no matched event of that case and kind
//!     that took effect by the deadline, once the deadline has passed.
//!
//! A break is **detected** at the first acceptance by which the reports accepted so far show
//! it (the later of two mismatched reports, a party's second version; for `ONE_SIDED`, when
//! the grace period ended; for `NOT_PERFORMED`, at the deadline), and its **age** is the
//! number of whole days from detection to `now` (to its resolution, once resolved), in the
//! buckets 0–3, 4–14, 15–30, 31–90 and over 90 days ([`AgeBucket`]). An operator resolves a
//! break with a reason ([`Break::resolve`]); a break is resolved once, and its records stay
//! unmatched and never count. A break's id is derived from what it is about, so the same
//! break keeps its id, and its resolution, as reports keep arriving.
//!
//! Everything is derived from the set of reports, the expectations and the resolutions, never
//! from the order they arrived in: a [`Reconciler`] takes reports one at a time (idempotent for
//! exact re-sends) and [`Reconciler::reconcile`] answers for any `now`, considering only what
//! was accepted by then; [`reconcile`] does the same for a whole set at once.
//!
//! This module verifies no signature and checks no digest against an event (the coordinator
//! does both before a report reaches it), does not refuse a report whose pair differs from its
//! case reference (the edge does, `ledger.proto`; here a difference between the parties is a
//! `MISMATCH` rather than a miscount), stores nothing and never reads a clock.

mod attestation;
mod breaks;
mod reconciler;

use crate::StateCode;
use crate::case_ref::CaseRef;
use crate::time::Timestamp;

pub use attestation::{Attestation, EventDigest, EventKind, StatePair};
pub use breaks::{
    AgeBucket, Break, BreakDetail, BreakFilter, BreakId, BreakKind, BreakSubject, InstructionRef,
    Lapse, MismatchField, OPERATOR_LENGTH_MAX, Operator, Resolution,
};
pub use reconciler::{
    ExpectedEvent, MatchedEvent, PendingEvent, Reconciler, Reconciliation, Recorded, reconcile,
};

/// Why a report, an expectation or a resolution is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A pair of one state with itself.
    #[error("a pair is two different states, not {state} and itself")]
    SameState {
        /// The state given twice.
        state: StateCode,
    },
    /// The reporting state is not a party to the case.
    #[error("{reporter} is not a party to {case_ref}")]
    NotAParty {
        /// The case.
        case_ref: CaseRef,
        /// The state that reported.
        reporter: StateCode,
    },
    /// The reporting state is not one of the pair it reported.
    #[error("{reporter} reported the pair {pair}, which does not include it")]
    ReporterOutsidePair {
        /// The state that reported.
        reporter: StateCode,
        /// The pair it reported.
        pair: StatePair,
    },
    /// The event kind belongs to another kind of case than the reference names.
    #[error("{kind} is not an event of {case_ref}")]
    KindNotOfCase {
        /// The case.
        case_ref: CaseRef,
        /// The kind given.
        kind: EventKind,
    },
    /// Sequences start at 1.
    #[error("an event's sequence in its case starts at 1, not 0")]
    SequenceZero,
    /// The same expectation again, with another deadline.
    #[error("{kind} of {case_ref} is already expected by {deadline}")]
    ExpectedOtherwise {
        /// The case.
        case_ref: CaseRef,
        /// The expected kind.
        kind: EventKind,
        /// The deadline already recorded.
        deadline: Timestamp,
    },
    /// An operator name that is empty, too long, or has a character outside
    /// `A-Z a-z 0-9 . _ -`.
    #[error("operator name {name:?} must be 1 to 64 characters A-Z, a-z, 0-9, ., _ or -")]
    InvalidOperator {
        /// The name given.
        name: String,
    },
    /// No break has this id at the time of the resolution.
    #[error("no open break {id} at {at}")]
    UnknownBreak {
        /// The id given.
        id: BreakId,
        /// When the resolution was attempted.
        at: Timestamp,
    },
    /// The break was resolved before.
    #[error("break {id} was already resolved at {resolved_at}")]
    AlreadyResolved {
        /// The break.
        id: BreakId,
        /// When it was resolved.
        resolved_at: Timestamp,
    },
    /// A resolution dated before the break was detected.
    #[error("break {id} was detected at {detected_at}, after the resolution at {resolved_at}")]
    ResolvedBeforeDetection {
        /// The break.
        id: BreakId,
        /// When it was detected.
        detected_at: Timestamp,
        /// When the resolution says it happened.
        resolved_at: Timestamp,
    },
}
