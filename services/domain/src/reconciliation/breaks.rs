//! Breaks: what reconciliation could not match, how old it is, and its resolution by an
//! operator.

use std::collections::BTreeSet;
use std::fmt;

use super::{Error, EventKind, StatePair};
use crate::StateCode;
use crate::case_ref::CaseRef;
use crate::coded::coded_enum;
use crate::event::FreeText;
use crate::time::Timestamp;

const MILLIS_PER_DAY: i64 = 24 * 60 * 60 * 1_000;

/// The longest operator name, in characters.
pub const OPERATOR_LENGTH_MAX: usize = 64;

coded_enum! {
    /// The kinds of break, as DESIGN.md §3 names them.
    pub enum BreakKind {
        /// The counterpart had not reported after the grace period.
        OneSided => "ONE_SIDED",
        /// The two reports of one event differ.
        Mismatch => "MISMATCH",
        /// One party reported one event twice with different content.
        Duplicate => "DUPLICATE",
        /// The two parties hold different events at one sequence of a case.
        Conflict => "CONFLICT",
        /// A settlement instruction was not carried out by its deadline.
        NotPerformed => "NOT_PERFORMED",
    }
    all: array,
}

coded_enum! {
    /// How long a break has been open, in whole days since its detection.
    pub enum AgeBucket {
        /// 0 to 3 days.
        Days0To3 => "DAYS_0_TO_3",
        /// 4 to 14 days.
        Days4To14 => "DAYS_4_TO_14",
        /// 15 to 30 days.
        Days15To30 => "DAYS_15_TO_30",
        /// 31 to 90 days.
        Days31To90 => "DAYS_31_TO_90",
        /// More than 90 days.
        Over90Days => "DAYS_OVER_90",
    }
    all: array,
}

impl AgeBucket {
    /// The bucket of an age in whole days.
    pub fn of_days(days: u64) -> Self {
        match days {
            0..=3 => AgeBucket::Days0To3,
            4..=14 => AgeBucket::Days4To14,
            15..=30 => AgeBucket::Days15To30,
            31..=90 => AgeBucket::Days31To90,
            _ => AgeBucket::Over90Days,
        }
    }
}

/// Whole days from `start` to `end`; 0 if `end` is not after `start`.
pub(super) fn whole_days(start: Timestamp, end: Timestamp) -> u64 {
    let millis = end.millis_since(start).max(0);
    // Invariant: `millis` is not negative, so the quotient fits.
    (millis / MILLIS_PER_DAY) as u64
}

coded_enum! {
    /// A field in which the two parties' reports of one event differ.
    pub enum MismatchField {
        /// The pair of states.
        Pair => "PAIR",
        /// The event's sequence in the case.
        Sequence => "SEQUENCE",
        /// When the event took effect.
        OccurredAt => "OCCURRED_AT",
        /// The digest of the signed event: the events differ in content.
        Digest => "DIGEST",
    }
    all: array,
}

/// What a break is about, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakDetail {
    /// `reporter` reported the event; `missing` had not by the end of the grace period.
    OneSided {
        /// The event's kind.
        kind: EventKind,
        /// Its sequence, as reported.
        sequence: u64,
        /// The state that reported.
        reporter: StateCode,
        /// The state whose report is missing.
        missing: StateCode,
    },
    /// Both reported the event, and their reports differ in `fields`.
    Mismatch {
        /// The event's kind.
        kind: EventKind,
        /// The fields that differ, at least one.
        fields: BTreeSet<MismatchField>,
    },
    /// `reporters` each reported the event in more than one version.
    Duplicate {
        /// The event's kind.
        kind: EventKind,
        /// The states that contradict themselves.
        reporters: BTreeSet<StateCode>,
    },
    /// At `sequence`, the parties name different events: each claim is a reporter and the
    /// kind it put there.
    Conflict {
        /// The sequence both parties claim for different events.
        sequence: u64,
        /// Every (reporter, kind) reported at that sequence.
        claims: BTreeSet<(StateCode, EventKind)>,
    },
    /// An instruction of a final settlement round was still short of `shortfall` people at
    /// its `deadline`, as a later final round found it (`settlement::novation`).
    Lapsed {
        /// The people not admitted.
        shortfall: u64,
        /// The instruction's deadline.
        deadline: Timestamp,
    },
    /// The expected event had no matched report of an event that took effect by `deadline`.
    NotPerformed {
        /// The expected kind.
        kind: EventKind,
        /// The instruction's deadline.
        deadline: Timestamp,
    },
}

impl BreakDetail {
    /// The break's kind.
    pub fn kind(&self) -> BreakKind {
        match self {
            BreakDetail::OneSided { .. } => BreakKind::OneSided,
            BreakDetail::Mismatch { .. } => BreakKind::Mismatch,
            BreakDetail::Duplicate { .. } => BreakKind::Duplicate,
            BreakDetail::Conflict { .. } => BreakKind::Conflict,
            BreakDetail::NotPerformed { .. } | BreakDetail::Lapsed { .. } => {
                BreakKind::NotPerformed
            }
        }
    }
}

/// A break's id, derived from what it is about: `KIND/CASE_REF/EVENT_KIND`, with
/// `@SEQUENCE` for a kind that recurs, or `CONFLICT/CASE_REF/@SEQUENCE`. The same break keeps
/// its id however the reports arrive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BreakId(String);

impl BreakId {
    pub(super) fn new(kind: BreakKind, case_ref: &CaseRef, subject: &str) -> Self {
        Self(format!("{}/{case_ref}/{subject}", kind.code()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BreakId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of an operator, as the operator's certificate gives it
/// (`spiffe://accord/operator/NAME`): 1 to 64 characters `A-Z a-z 0-9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Operator(String);

impl Operator {
    /// Validates a name.
    pub fn parse(name: &str) -> Result<Self, Error> {
        let valid = (1..=OPERATOR_LENGTH_MAX).contains(&name.len())
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'));
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(Error::InvalidOperator {
                name: name.to_owned(),
            })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an operator ended a break: who, why and when. The break's records stay unmatched and
/// never count; the states settled the difference between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Who resolved it.
    pub operator: Operator,
    /// Why.
    pub reason: FreeText,
    /// When.
    pub resolved_at: Timestamp,
}

/// An instruction of a final settlement round: the pair's first state admits people from
/// its second.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstructionRef {
    /// The round whose report gave it.
    pub round_id: String,
    /// (admitting, origin).
    pub pair: StatePair,
}

/// What a break is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakSubject {
    /// An event of a case, as the parties reported it (or did not).
    Case(CaseRef),
    /// A settlement instruction not performed by its deadline.
    Instruction(InstructionRef),
}

/// A lapsed instruction, as the final round that found it says: the `NOT_PERFORMED` break
/// it is from its `deadline` on (its shortfall is carried into that round, never unwound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lapse {
    /// The instruction.
    pub instruction: InstructionRef,
    /// The people not admitted by the deadline, at least 1.
    pub shortfall: u64,
    /// The instruction's deadline.
    pub deadline: Timestamp,
}

impl Lapse {
    /// The break's id: `NOT_PERFORMED/ROUND_ID/ADMITTING-ORIGIN`.
    pub fn break_id(&self) -> BreakId {
        let instruction = &self.instruction;
        BreakId(format!(
            "{}/{}/{}-{}",
            BreakKind::NotPerformed.code(),
            instruction.round_id,
            instruction.pair.first(),
            instruction.pair.second()
        ))
    }

    /// The open break, detected at the deadline.
    pub(super) fn to_break(&self) -> Break {
        Break {
            id: self.break_id(),
            subject: BreakSubject::Instruction(self.instruction.clone()),
            detail: BreakDetail::Lapsed {
                shortfall: self.shortfall,
                deadline: self.deadline,
            },
            reported_by: BTreeSet::new(),
            detected_at: self.deadline,
            resolution: None,
        }
    }
}

/// One reconciliation break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub(super) id: BreakId,
    pub(super) subject: BreakSubject,
    pub(super) detail: BreakDetail,
    pub(super) reported_by: BTreeSet<StateCode>,
    pub(super) detected_at: Timestamp,
    pub(super) resolution: Option<Resolution>,
}

impl Break {
    /// The break's id.
    pub fn id(&self) -> &BreakId {
        &self.id
    }

    /// The break's kind.
    pub fn kind(&self) -> BreakKind {
        self.detail.kind()
    }

    /// What the break is about.
    pub fn detail(&self) -> &BreakDetail {
        &self.detail
    }

    /// What the break is about.
    pub fn subject(&self) -> &BreakSubject {
        &self.subject
    }

    /// The case concerned; `None` for a lapsed instruction.
    pub fn case_ref(&self) -> Option<&CaseRef> {
        match &self.subject {
            BreakSubject::Case(case_ref) => Some(case_ref),
            BreakSubject::Instruction(_) => None,
        }
    }

    /// The case's pair of states, as its reference names them; for an instruction,
    /// (admitting, origin).
    pub fn pair(&self) -> StatePair {
        match &self.subject {
            BreakSubject::Case(case_ref) => StatePair::of_case(case_ref),
            BreakSubject::Instruction(instruction) => instruction.pair,
        }
    }

    /// The states whose reports make the break (none for `NOT_PERFORMED` without a report).
    pub fn reported_by(&self) -> &BTreeSet<StateCode> {
        &self.reported_by
    }

    /// When the break was detected.
    pub fn detected_at(&self) -> Timestamp {
        self.detected_at
    }

    /// How the break was resolved; `None` while it is open.
    pub fn resolution(&self) -> Option<&Resolution> {
        self.resolution.as_ref()
    }

    /// Whether the break still needs attention.
    pub fn is_open(&self) -> bool {
        self.resolution.is_none()
    }

    /// Whole days from detection to `now`, or to the resolution if it came earlier.
    pub fn age_days(&self, now: Timestamp) -> u64 {
        let end = match &self.resolution {
            Some(resolution) => resolution.resolved_at.min(now),
            None => now,
        };
        whole_days(self.detected_at, end)
    }

    /// The bucket of [`Break::age_days`].
    pub fn age_bucket(&self, now: Timestamp) -> AgeBucket {
        AgeBucket::of_days(self.age_days(now))
    }

    /// The break, resolved by `resolution`. Refused if it is resolved already, or if the
    /// resolution is dated before the break was detected.
    pub fn resolve(&self, resolution: Resolution) -> Result<Break, Error> {
        if let Some(earlier) = &self.resolution {
            return Err(Error::AlreadyResolved {
                id: self.id.clone(),
                resolved_at: earlier.resolved_at,
            });
        }
        if resolution.resolved_at < self.detected_at {
            return Err(Error::ResolvedBeforeDetection {
                id: self.id.clone(),
                detected_at: self.detected_at,
                resolved_at: resolution.resolved_at,
            });
        }
        Ok(Break {
            resolution: Some(resolution),
            ..self.clone()
        })
    }
}

/// Which breaks to list; every field left `None` (or empty) lets every break through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BreakFilter {
    /// Only breaks of this ordered pair (the case's pair).
    pub pair: Option<StatePair>,
    /// Only breaks of a pair that includes this state.
    pub state: Option<StateCode>,
    /// Only breaks of these kinds; empty for all.
    pub kinds: BTreeSet<BreakKind>,
    /// Only breaks of this age.
    pub age_bucket: Option<AgeBucket>,
    /// Only open breaks (`Some(true)`), only resolved ones (`Some(false)`), or both.
    pub open: Option<bool>,
}

impl BreakFilter {
    /// Whether `candidate`, aged at `now`, passes the filter.
    pub fn admits(&self, candidate: &Break, now: Timestamp) -> bool {
        let pair = candidate.pair();
        self.pair.is_none_or(|wanted| wanted == pair)
            && self.state.is_none_or(|state| pair.includes(state))
            && (self.kinds.is_empty() || self.kinds.contains(&candidate.kind()))
            && self
                .age_bucket
                .is_none_or(|bucket| bucket == candidate.age_bucket(now))
            && self.open.is_none_or(|open| open == candidate.is_open())
    }
}
