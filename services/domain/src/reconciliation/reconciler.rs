//! The reconciler: reports kept as a set, and everything else derived from that set at an
//! instant `now`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::{
    Attestation, Break, BreakDetail, BreakFilter, BreakId, BreakKind, BreakSubject, Error,
    EventDigest, EventKind, Lapse, MismatchField, Resolution, StatePair,
};
use crate::StateCode;
use crate::admission::AdmissionStep;
use crate::case_ref::CaseRef;
use crate::ledger::Ledger;
use crate::readmission::ReadmissionStep;
use crate::time::{Period, Timestamp};

/// What is matched as one record: a case, a kind, and for a kind that recurs, a sequence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RecordKey {
    case_ref: CaseRef,
    kind: EventKind,
    /// `Some(sequence)` for a kind that recurs ([`EventKind::recurs`]); `None` otherwise.
    occurrence: Option<u64>,
}

impl RecordKey {
    fn of(attestation: &Attestation) -> Self {
        let kind = attestation.kind();
        Self {
            case_ref: attestation.case_ref().clone(),
            kind,
            occurrence: kind.recurs().then_some(attestation.sequence()),
        }
    }

    /// The last part of the id of a break about this record.
    fn subject(&self) -> String {
        match self.occurrence {
            Some(sequence) => format!("{}@{sequence}", self.kind.code()),
            None => self.kind.code().to_owned(),
        }
    }
}

/// What one party said about one record: everything but who said it and when it was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    pair: StatePair,
    sequence: u64,
    occurred_at: Timestamp,
    digest: EventDigest,
}

/// Each version a reporter gave, with its first acceptance, ordered by version: usually one,
/// so a sorted vector, not a map (a map's node is a heap block of hundreds of bytes per
/// record; BENCHMARKS.md, "Ledger and settlement").
type Versions = Vec<(Version, Timestamp)>;

/// Each reporter's versions of one record, ordered by reporter: at most the case's two
/// states ([`Attestation::new`]).
type Reports = Vec<(StateCode, Versions)>;

/// What [`Reconciler::record`] did with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A report not seen before, from this reporter.
    New,
    /// An exact re-send of a report already recorded; the first acceptance is kept.
    Resent,
}

/// An event expected by a deadline: the admission a settlement instruction calls for, say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedEvent {
    case_ref: CaseRef,
    kind: EventKind,
    deadline: Timestamp,
}

impl ExpectedEvent {
    /// An event of `kind` in `case_ref`, to be matched and to have taken effect by `deadline`.
    pub fn new(case_ref: CaseRef, kind: EventKind, deadline: Timestamp) -> Result<Self, Error> {
        if kind.case_kind() != case_ref.kind() {
            return Err(Error::KindNotOfCase { case_ref, kind });
        }
        Ok(Self {
            case_ref,
            kind,
            deadline,
        })
    }

    /// The case.
    pub fn case_ref(&self) -> &CaseRef {
        &self.case_ref
    }

    /// The expected kind.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The last instant at which the event may take effect.
    pub fn deadline(&self) -> Timestamp {
        self.deadline
    }
}

/// An event both parties reported identically: what the ledger may count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedEvent {
    /// The case.
    pub case_ref: CaseRef,
    /// The event's kind.
    pub kind: EventKind,
    /// The pair both parties gave.
    pub pair: StatePair,
    /// The event's sequence in the case.
    pub sequence: u64,
    /// When the event took effect.
    pub occurred_at: Timestamp,
    /// The digest of the signed event.
    pub digest: EventDigest,
    /// When the second of the two reports was accepted.
    pub matched_at: Timestamp,
}

/// An event one party reported whose counterpart may still report within the grace period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    /// The case.
    pub case_ref: CaseRef,
    /// The event's kind.
    pub kind: EventKind,
    /// Its sequence, as reported.
    pub sequence: u64,
    /// The state that reported.
    pub reporter: StateCode,
    /// When its report was accepted.
    pub accepted_at: Timestamp,
    /// The last instant at which the counterpart's report still matches in time; after it,
    /// the event is a `ONE_SIDED` break.
    pub grace_ends_at: Timestamp,
}

/// Reports of case events taken one at a time, reconciled on demand at any instant.
///
/// It keeps the set of distinct reports (an exact re-send is kept once, with its first
/// acceptance), the expected events and the operators' resolutions; [`Reconciler::reconcile`]
/// derives matches and breaks from them, so the result does not depend on the order in which
/// reports arrived. Each call reads the whole set (a sort's worth of work): the coordinator's
/// store, not this value, is where reports are indexed for a network's volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciler {
    grace: Period,
    records: BTreeMap<RecordKey, Reports>,
    expected: BTreeMap<(CaseRef, EventKind), Timestamp>,
    lapses: BTreeMap<BreakId, Lapse>,
    resolutions: BTreeMap<BreakId, Resolution>,
}

impl Reconciler {
    /// A reconciler that waits `grace` after a report's acceptance for its counterpart.
    pub fn new(grace: Period) -> Self {
        Self {
            grace,
            records: BTreeMap::new(),
            expected: BTreeMap::new(),
            lapses: BTreeMap::new(),
            resolutions: BTreeMap::new(),
        }
    }

    /// The grace period.
    pub fn grace(&self) -> Period {
        self.grace
    }

    /// Records a report. An exact re-send (same reporter, same content) changes nothing but
    /// keeps the earlier of the two acceptances.
    pub fn record(&mut self, attestation: Attestation) -> Recorded {
        let version = Version {
            pair: attestation.pair(),
            sequence: attestation.sequence(),
            occurred_at: attestation.occurred_at(),
            digest: attestation.digest(),
        };
        let reports = self.records.entry(RecordKey::of(&attestation)).or_default();
        let reporter = attestation.reporter();
        let side = match reports.binary_search_by_key(&reporter, |(known, _)| *known) {
            Ok(side) => side,
            Err(side) => {
                reports.insert(side, (reporter, Vec::new()));
                side
            }
        };
        let versions = &mut reports[side].1;
        match versions.binary_search_by(|(known, _)| known.cmp(&version)) {
            Ok(found) => {
                let first_accepted = &mut versions[found].1;
                *first_accepted = (*first_accepted).min(attestation.accepted_at());
                Recorded::Resent
            }
            Err(place) => {
                versions.insert(place, (version, attestation.accepted_at()));
                Recorded::New
            }
        }
    }

    /// Records many reports at once: the same as [`Reconciler::record`] of each in turn, but
    /// into an empty reconciler built in one sort instead of one tree insertion per report
    /// (how the coordinator loads its whole log at start; BENCHMARKS.md, "Reconciliation").
    pub fn record_all(&mut self, attestations: impl IntoIterator<Item = Attestation>) {
        if !self.records.is_empty() {
            for attestation in attestations {
                self.record(attestation);
            }
            return;
        }
        let mut reports: Vec<(RecordKey, StateCode, Version, Timestamp)> = attestations
            .into_iter()
            .map(|attestation| {
                let version = Version {
                    pair: attestation.pair(),
                    sequence: attestation.sequence(),
                    occurred_at: attestation.occurred_at(),
                    digest: attestation.digest(),
                };
                (
                    RecordKey::of(&attestation),
                    attestation.reporter(),
                    version,
                    attestation.accepted_at(),
                )
            })
            .collect();
        // By record, reporter, version, then acceptance: an exact re-send follows its first
        // acceptance, which is the one kept.
        reports.sort_unstable();
        let mut records: Vec<(RecordKey, Reports)> = Vec::new();
        for (key, reporter, version, accepted_at) in reports {
            if records.last().is_none_or(|(last, _)| *last != key) {
                records.push((key, Vec::new()));
            }
            let Some((_, sides)) = records.last_mut() else {
                continue;
            };
            if sides.last().is_none_or(|(last, _)| *last != reporter) {
                sides.push((reporter, Vec::new()));
            }
            let Some((_, versions)) = sides.last_mut() else {
                continue;
            };
            if versions.last().is_none_or(|(last, _)| *last != version) {
                versions.push((version, accepted_at));
            }
        }
        // Sorted and distinct: the tree is built in one pass.
        self.records = records.into_iter().collect();
    }

    /// Records that an event is expected by a deadline. The same expectation again is
    /// accepted; the same event with another deadline is refused.
    pub fn expect(&mut self, expected: ExpectedEvent) -> Result<(), Error> {
        let key = (expected.case_ref, expected.kind);
        match self.expected.get(&key) {
            Some(deadline) if *deadline != expected.deadline => Err(Error::ExpectedOtherwise {
                case_ref: key.0,
                kind: key.1,
                deadline: *deadline,
            }),
            Some(_) => Ok(()),
            None => {
                self.expected.insert(key, expected.deadline);
                Ok(())
            }
        }
    }

    /// Records that a final settlement round found an instruction lapsed: a `NOT_PERFORMED`
    /// break from its deadline on. The same lapse again changes nothing.
    pub fn record_lapse(&mut self, lapse: Lapse) {
        self.lapses.entry(lapse.break_id()).or_insert(lapse);
    }

    /// Resolves the break `id` as it stands at `resolution.resolved_at`, and keeps the
    /// resolution. Refused if no such break exists then, or if it was resolved before.
    pub fn resolve(&mut self, id: &BreakId, resolution: Resolution) -> Result<Break, Error> {
        if let Some(earlier) = self.resolutions.get(id) {
            return Err(Error::AlreadyResolved {
                id: id.clone(),
                resolved_at: earlier.resolved_at,
            });
        }
        let at = resolution.resolved_at;
        let current = self
            .reconcile(at)
            .breaks
            .into_iter()
            .find(|candidate| candidate.id() == id)
            .ok_or_else(|| Error::UnknownBreak { id: id.clone(), at })?;
        let resolved = current.resolve(resolution.clone())?;
        self.resolutions.insert(id.clone(), resolution);
        Ok(resolved)
    }

    /// Matches, pending events and breaks as of `now`, from the reports accepted by then.
    /// Resolutions dated after `now` are not yet applied.
    pub fn reconcile(&self, now: Timestamp) -> Reconciliation {
        let visible = self.visible_at(now);
        let conflicts = conflicts(&visible);
        let mut matched = Vec::new();
        let mut pending = Vec::new();
        let mut breaks = Vec::new();
        for (key, sides) in &visible {
            let in_conflict = !conflicts.is_empty()
                && sides
                    .iter()
                    .flat_map(|(_, versions)| versions.iter())
                    .any(|(version, _)| conflicts.contains_key(&(&key.case_ref, version.sequence)));
            if in_conflict {
                continue;
            }
            match classify(key, sides, self.grace, now) {
                Outcome::Matched(event) => matched.push(event),
                Outcome::Pending(event) => pending.push(event),
                Outcome::Broken(found) => breaks.push(found),
            }
        }
        breaks.extend(conflicts.into_values());
        breaks.extend(self.not_performed(&visible, &matched, now));
        breaks.extend(
            self.lapses
                .values()
                .filter(|lapse| lapse.deadline <= now)
                .map(Lapse::to_break),
        );
        for found in &mut breaks {
            found.resolution = self
                .resolutions
                .get(&found.id)
                .filter(|resolution| resolution.resolved_at <= now)
                .cloned();
        }
        breaks.sort_by(|left, right| {
            (left.detected_at, &left.id).cmp(&(right.detected_at, &right.id))
        });
        Reconciliation {
            now,
            matched,
            pending,
            breaks,
        }
    }

    /// Every record with the versions accepted by `now`, each with its first acceptance, in
    /// record order; records and reporters with none are left out. Versions all accepted by
    /// `now` (nearly all of them) are borrowed, not copied.
    fn visible_at(&self, now: Timestamp) -> Visible<'_> {
        let mut visible = Vec::with_capacity(self.records.len());
        for (key, by_reporter) in &self.records {
            let sides: Sides<'_> = by_reporter
                .iter()
                .map(|(reporter, versions)| {
                    let seen = if versions.iter().all(|(_, accepted_at)| *accepted_at <= now) {
                        Cow::Borrowed(versions.as_slice())
                    } else {
                        Cow::Owned(
                            versions
                                .iter()
                                .filter(|(_, accepted_at)| *accepted_at <= now)
                                .copied()
                                .collect(),
                        )
                    };
                    (*reporter, seen)
                })
                .filter(|(_, seen)| !seen.is_empty())
                .collect();
            if !sides.is_empty() {
                visible.push((key, sides));
            }
        }
        visible
    }

    /// A `NOT_PERFORMED` break for each expected event whose deadline passed before `now`
    /// without a matched event of its case and kind that took effect by the deadline.
    fn not_performed(
        &self,
        visible: &Visible<'_>,
        matched: &[MatchedEvent],
        now: Timestamp,
    ) -> Vec<Break> {
        let mut performed: BTreeMap<(&CaseRef, EventKind), Timestamp> = BTreeMap::new();
        for event in matched {
            let earliest = performed
                .entry((&event.case_ref, event.kind))
                .or_insert(event.occurred_at);
            *earliest = (*earliest).min(event.occurred_at);
        }
        let mut breaks = Vec::new();
        for ((case_ref, kind), deadline) in &self.expected {
            let on_time = performed
                .get(&(case_ref, *kind))
                .is_some_and(|occurred_at| occurred_at <= deadline);
            if now <= *deadline || on_time {
                continue;
            }
            // `visible` is in record order: the case's records of this kind are one run.
            let from =
                visible.partition_point(|(key, _)| (&key.case_ref, key.kind) < (case_ref, *kind));
            let reported_by = visible[from..]
                .iter()
                .take_while(|(key, _)| key.case_ref == *case_ref && key.kind == *kind)
                .flat_map(|(_, sides)| sides.iter().map(|(reporter, _)| *reporter))
                .collect();
            breaks.push(Break {
                id: BreakId::new(BreakKind::NotPerformed, case_ref, kind.code()),
                subject: BreakSubject::Case(case_ref.clone()),
                detail: BreakDetail::NotPerformed {
                    kind: *kind,
                    deadline: *deadline,
                },
                reported_by,
                detected_at: *deadline,
                resolution: None,
            });
        }
        breaks
    }
}

/// Each reporter's visible versions of one record, with their first acceptance, by reporter.
type Sides<'a> = Vec<(StateCode, Cow<'a, [(Version, Timestamp)]>)>;
/// The visible versions of every record, in record order.
type Visible<'a> = Vec<(&'a RecordKey, Sides<'a>)>;

/// What one record is, at one instant.
enum Outcome {
    Matched(MatchedEvent),
    Pending(PendingEvent),
    Broken(Break),
}

/// One record outside any conflict: duplicate, mismatched, matched, one-sided or pending.
fn classify(key: &RecordKey, sides: &Sides<'_>, grace: Period, now: Timestamp) -> Outcome {
    let broken = |kind: BreakKind, detail: BreakDetail, detected_at: Timestamp| {
        Outcome::Broken(Break {
            id: BreakId::new(kind, &key.case_ref, &key.subject()),
            subject: BreakSubject::Case(key.case_ref.clone()),
            detail,
            reported_by: sides.iter().map(|(reporter, _)| *reporter).collect(),
            detected_at,
            resolution: None,
        })
    };
    let duplicating: BTreeSet<StateCode> = sides
        .iter()
        .filter(|(_, versions)| versions.len() > 1)
        .map(|(reporter, _)| *reporter)
        .collect();
    if !duplicating.is_empty() {
        // Detected when a reporter's second version was accepted.
        let detected_at = sides
            .iter()
            .filter(|(reporter, _)| duplicating.contains(reporter))
            .filter_map(|(_, versions)| second_acceptance(versions))
            .min()
            .unwrap_or(now);
        let detail = BreakDetail::Duplicate {
            kind: key.kind,
            reporters: duplicating,
        };
        return broken(BreakKind::Duplicate, detail, detected_at);
    }
    let reports: Vec<(StateCode, Version, Timestamp)> = sides
        .iter()
        .map(|(reporter, versions)| (*reporter, versions[0].0, versions[0].1))
        .collect();
    match reports.as_slice() {
        [(_, first, first_accepted), (_, second, second_accepted)] => {
            let matched_at = (*first_accepted).max(*second_accepted);
            let fields = differences(first, second);
            if fields.is_empty() {
                return Outcome::Matched(MatchedEvent {
                    case_ref: key.case_ref.clone(),
                    kind: key.kind,
                    pair: first.pair,
                    sequence: first.sequence,
                    occurred_at: first.occurred_at,
                    digest: first.digest,
                    matched_at,
                });
            }
            let detail = BreakDetail::Mismatch {
                kind: key.kind,
                fields,
            };
            broken(BreakKind::Mismatch, detail, matched_at)
        }
        [(reporter, version, accepted_at)] => {
            let grace_ends_at = accepted_at.plus(grace);
            if now <= grace_ends_at {
                return Outcome::Pending(PendingEvent {
                    case_ref: key.case_ref.clone(),
                    kind: key.kind,
                    sequence: version.sequence,
                    reporter: *reporter,
                    accepted_at: *accepted_at,
                    grace_ends_at,
                });
            }
            let missing = StatePair::of_case(&key.case_ref)
                .other(*reporter)
                .unwrap_or(*reporter);
            let detail = BreakDetail::OneSided {
                kind: key.kind,
                sequence: version.sequence,
                reporter: *reporter,
                missing,
            };
            broken(BreakKind::OneSided, detail, grace_ends_at)
        }
        // Invariant: reporters are the case's two states (`Attestation::new`), and a record
        // is visible only with at least one report.
        _ => unreachable!("a record has one or two reporters"),
    }
}

/// The second-earliest acceptance among a reporter's versions.
fn second_acceptance(versions: &[(Version, Timestamp)]) -> Option<Timestamp> {
    let mut acceptances: Vec<Timestamp> = versions.iter().map(|(_, at)| *at).collect();
    acceptances.sort_unstable();
    acceptances.get(1).copied()
}

/// The fields in which two versions of one record differ.
fn differences(first: &Version, second: &Version) -> BTreeSet<MismatchField> {
    [
        (first.pair != second.pair, MismatchField::Pair),
        (first.sequence != second.sequence, MismatchField::Sequence),
        (
            first.occurred_at != second.occurred_at,
            MismatchField::OccurredAt,
        ),
        (first.digest != second.digest, MismatchField::Digest),
    ]
    .into_iter()
    .filter_map(|(differs, field)| differs.then_some(field))
    .collect()
}

/// What each reporter put at one sequence of a case: kinds, each with its first acceptance.
type Claims = BTreeMap<StateCode, BTreeMap<EventKind, Timestamp>>;

/// Every sequence of a case at which the two parties name different kinds of event, as a
/// `CONFLICT` break, detected at the first acceptance by which the difference showed.
fn conflicts<'a>(visible: &Visible<'a>) -> BTreeMap<(&'a CaseRef, u64), Break> {
    let mut found = BTreeMap::new();
    // `visible` is in record order, so each case's records are one run. A case of one record
    // names one kind at every sequence, so it cannot conflict: only cases of several records
    // are looked at, each on its own.
    for records in visible.chunk_by(|(left, _), (right, _)| left.case_ref == right.case_ref) {
        if records.len() > 1 {
            case_conflicts(records, &mut found);
        }
    }
    found
}

/// The conflicts of one case, whose visible records are `records`, added to `found`.
fn case_conflicts<'a>(
    records: &[(&'a RecordKey, Sides<'a>)],
    found: &mut BTreeMap<(&'a CaseRef, u64), Break>,
) {
    let mut claims: BTreeMap<(&CaseRef, u64), Claims> = BTreeMap::new();
    for (key, sides) in records {
        let key: &'a RecordKey = key;
        for (reporter, versions) in sides {
            for (version, accepted_at) in versions.iter() {
                let first = claims
                    .entry((&key.case_ref, version.sequence))
                    .or_default()
                    .entry(*reporter)
                    .or_default()
                    .entry(key.kind)
                    .or_insert(*accepted_at);
                *first = (*first).min(*accepted_at);
            }
        }
    }
    for ((case_ref, sequence), by_reporter) in claims {
        let Some(detected_at) = disagreement_since(&by_reporter) else {
            continue;
        };
        let all_claims = by_reporter
            .iter()
            .flat_map(|(reporter, kinds)| kinds.keys().map(|kind| (*reporter, *kind)))
            .collect();
        let conflict = Break {
            id: BreakId::new(BreakKind::Conflict, case_ref, &format!("@{sequence}")),
            subject: BreakSubject::Case(case_ref.clone()),
            detail: BreakDetail::Conflict {
                sequence,
                claims: all_claims,
            },
            reported_by: by_reporter.keys().copied().collect(),
            detected_at,
            resolution: None,
        };
        found.insert((case_ref, sequence), conflict);
    }
}

/// If the two reporters name different sets of kinds at one sequence, the first acceptance
/// at which, counting only the claims accepted by then, both had claimed and they differed.
fn disagreement_since(by_reporter: &Claims) -> Option<Timestamp> {
    let mut sides = by_reporter.values();
    let (Some(first), Some(second)) = (sides.next(), sides.next()) else {
        return None;
    };
    if first.keys().eq(second.keys()) {
        return None;
    }
    let instants: BTreeSet<Timestamp> = first.values().chain(second.values()).copied().collect();
    let as_of = |claims: &BTreeMap<EventKind, Timestamp>, at: Timestamp| -> BTreeSet<EventKind> {
        claims
            .iter()
            .filter(|(_, accepted_at)| **accepted_at <= at)
            .map(|(kind, _)| *kind)
            .collect()
    };
    instants.into_iter().find(|at| {
        let (first_then, second_then) = (as_of(first, *at), as_of(second, *at));
        !first_then.is_empty() && !second_then.is_empty() && first_then != second_then
    })
}

/// What reconciliation found at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    now: Timestamp,
    matched: Vec<MatchedEvent>,
    pending: Vec<PendingEvent>,
    breaks: Vec<Break>,
}

impl Reconciliation {
    /// The instant reconciled at.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Every matched event, by case, kind and sequence.
    pub fn matched(&self) -> &[MatchedEvent] {
        &self.matched
    }

    /// Every one-sided event still within its grace period, by case, kind and sequence.
    pub fn pending(&self) -> &[PendingEvent] {
        &self.pending
    }

    /// Every break, open or resolved, oldest detection first (then by id).
    pub fn breaks(&self) -> &[Break] {
        &self.breaks
    }

    /// The breaks `filter` admits, aged at [`Reconciliation::now`], in the order of
    /// [`Reconciliation::breaks`].
    pub fn breaks_where<'a>(&'a self, filter: &'a BreakFilter) -> impl Iterator<Item = &'a Break> {
        self.breaks
            .iter()
            .filter(move |candidate| filter.admits(candidate, self.now))
    }

    /// The matched events that move the ledger, one per case: a readmission's
    /// `ARRIVAL_CONFIRMED`; an admission's `DEPARTURE_CONFIRMED`, or its `ARRIVED` where
    /// `departure_confirmation_required` (the case's regime) says the origin state need not
    /// confirm.
    pub fn counted(
        &self,
        departure_confirmation_required: impl Fn(&CaseRef) -> bool,
    ) -> Vec<&MatchedEvent> {
        let departed: BTreeSet<&CaseRef> = self
            .matched
            .iter()
            .filter(|event| event.kind == EventKind::Admission(AdmissionStep::DepartureConfirmed))
            .map(|event| &event.case_ref)
            .collect();
        self.matched
            .iter()
            .filter(|event| match event.kind {
                EventKind::Readmission(step) => step == ReadmissionStep::ArrivalConfirmed,
                EventKind::Admission(AdmissionStep::DepartureConfirmed) => true,
                EventKind::Admission(AdmissionStep::Arrived) => {
                    !departed.contains(&event.case_ref)
                        && !departure_confirmation_required(&event.case_ref)
                }
                EventKind::Admission(_) | EventKind::Offer(_) => false,
            })
            .collect()
    }

    /// The ledger of the [`Reconciliation::counted`] events: a readmission is a return by its
    /// pair's first state to its second, an admission an admission by the first from the
    /// second.
    pub fn ledger(&self, departure_confirmation_required: impl Fn(&CaseRef) -> bool) -> Ledger {
        let mut returns = Vec::new();
        let mut admissions = Vec::new();
        for event in self.counted(departure_confirmation_required) {
            let movement = (event.pair.first(), event.pair.second(), 1);
            match event.kind {
                EventKind::Readmission(_) => returns.push(movement),
                _ => admissions.push(movement),
            }
        }
        Ledger::from_movements(returns, admissions)
    }
}

/// Reconciles a whole set of reports and expectations at `now`, with the grace period
/// `grace`: the same as recording each into a [`Reconciler`] and asking it at `now`.
pub fn reconcile(
    attestations: impl IntoIterator<Item = Attestation>,
    expected: impl IntoIterator<Item = ExpectedEvent>,
    grace: Period,
    now: Timestamp,
) -> Result<Reconciliation, Error> {
    let mut reconciler = Reconciler::new(grace);
    for attestation in attestations {
        reconciler.record(attestation);
    }
    for event in expected {
        reconciler.expect(event)?;
    }
    Ok(reconciler.reconcile(now))
}
