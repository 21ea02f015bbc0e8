//! Reconciliation over the log: every logged report is an [`Attestation`] held by the
//! domain's [`Reconciler`], which matches both parties' reports and finds the breaks, aged
//! at the moment of asking. Breaks are derived, never stored: only operators' resolutions
//! are (`break_resolution`), and each is applied again when the ledger starts. The
//! instructions final rounds found lapsed are `NOT_PERFORMED` breaks too, read from those
//! rounds' signed reports at start ([`final_lapses`]) and added as each round becomes final.
//!
//! Members see the breaks and figures of their own pairs; operators see all, and alone
//! resolve a break — with a reason, audited, once.

use std::collections::BTreeMap;

use accord_domain::admission::AdmissionStep;
use accord_domain::case_ref::CaseRef;
use accord_domain::readmission::ReadmissionStep;
use accord_domain::reconciliation::{
    AgeBucket, Attestation, Break, BreakKind, EventDigest, EventKind, Lapse, Operator, Reconciler,
    Resolution, StatePair,
};
use accord_domain::settlement::novation::Performance;
use accord_domain::{FreeText, Period, StateCode, Timestamp};
use accord_trust::OperatorName;

use super::{Ledger, Reader};
use crate::app::{Asked, Error, Replied, read_lock, write_lock};
use crate::convert::breaks::{BreakPage, ListBreaks, ResolveBreak, event_kind};
use crate::convert::obligations::obligations_of;
use crate::convert::settlement::RoundStatus;
use crate::store::{Change, LeafRecord, ResolutionRecord, Store};

/// Leaves read per query while the reconciler is loaded at start.
const LOAD_PAGE: u64 = 10_000;

/// The default and largest page of breaks.
const PAGE_DEFAULT: usize = 50;
const PAGE_MAX: usize = 500;

/// The figures of one ordered pair that settlement builds on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairFigures {
    /// Returns from the first state to the second both reported (`ARRIVAL_CONFIRMED`).
    pub matched_returns: u32,
    /// Admissions by the first state from the second both reported (`ARRIVED`).
    pub matched_admissions: u32,
    /// Counting events one state reported, within the grace period.
    pub pending_confirmations: u32,
    /// Open breaks by kind and age.
    pub open_breaks: BTreeMap<(BreakKind, AgeBucket), u32>,
}

/// The reconciler of the leaves below `tree_size` (every leaf for `None`), with the stored
/// resolutions made by `resolved_by` (all for `None`) applied; `visit` sees each leaf and
/// its report once, in log order — the one pass over the log that the ledger's start
/// (its tree) and a round's cut-off (its counted leaves) share.
pub(super) async fn replay(
    store: &Store,
    grace: Period,
    tree_size: Option<u64>,
    resolved_by: Option<Timestamp>,
    mut visit: impl FnMut(&LeafRecord, &Attestation) -> Result<(), Error>,
) -> Result<Reconciler, Error> {
    let mut reconciler = Reconciler::new(grace);
    for lapse in final_lapses(store).await? {
        reconciler.record_lapse(lapse);
    }
    let mut start = 0;
    let mut reports = Vec::new();
    loop {
        let end = tree_size.map_or(start + LOAD_PAGE, |size| size.min(start + LOAD_PAGE));
        if end <= start {
            break;
        }
        let page = store.leaves(start, end).await?;
        let last_page = (page.len() as u64) < end - start;
        for record in &page {
            let attested = attestation(record)?;
            visit(record, &attested)?;
            reports.push(attested);
        }
        if last_page {
            break;
        }
        start = end;
    }
    // The whole log at once: one sort, not a tree insertion per report.
    reconciler.record_all(reports);
    for record in store.resolutions().await? {
        let resolution = resolution(&record)?;
        if resolved_by.is_some_and(|at| resolution.resolved_at > at) {
            continue;
        }
        let Some(found) = reconciler
            .reconcile(resolution.resolved_at)
            .breaks()
            .iter()
            .find(|candidate| candidate.id().as_str() == record.break_id)
            .map(|found| found.id().clone())
        else {
            tracing::warn!(break_id = %record.break_id, "a stored resolution names no break");
            continue;
        };
        reconciler
            .resolve(&found, resolution)
            .map_err(|error| Error::internal("applying a stored resolution", error))?;
    }
    Ok(reconciler)
}

/// The instructions every final round found lapsed, from the rounds' reports as stored.
async fn final_lapses(store: &Store) -> Result<Vec<Lapse>, Error> {
    let mut lapses = Vec::new();
    for round in store.rounds().await? {
        if RoundStatus::parse(&round.status) != Some(RoundStatus::Final) {
            continue;
        }
        let Some(bytes) = round.report.as_deref() else {
            continue;
        };
        lapses.extend(lapses_in(bytes).map_err(|what| {
            Error::internal(
                "reading a final round's report",
                std::io::Error::other(format!("round {}: {what}", round.round_id)),
            )
        })?);
    }
    Ok(lapses)
}

/// The lapsed instructions a stored `SignedSettlementReport` found.
fn lapses_in(signed: &[u8]) -> Result<Vec<Lapse>, &'static str> {
    use prost::Message;
    let signed = accord_proto::v1::SignedSettlementReport::decode(signed)
        .map_err(|_| "the report does not decode")?;
    let report = signed.report.ok_or("the report is missing")?;
    Ok(obligations_of(&report)?
        .performances
        .iter()
        .filter_map(Performance::lapse)
        .collect())
}

/// A stored leaf as the report it logs.
pub(super) fn attestation(record: &LeafRecord) -> Result<Attestation, Error> {
    let corrupt = |what: &str| {
        Error::internal(
            "reading a logged report",
            std::io::Error::other(format!("leaf {}: {what}", record.leaf_index)),
        )
    };
    let state = |text: &str| StateCode::parse(text).map_err(|_| corrupt("a state"));
    let pair = StatePair::new(state(&record.first_state)?, state(&record.second_state)?)
        .map_err(|_| corrupt("the pair"))?;
    let digest = <[u8; 32]>::try_from(record.event_digest.as_slice())
        .map_err(|_| corrupt("the event digest"))?;
    let time = |millis| Timestamp::from_millis(millis).map_err(|_| corrupt("a time"));
    Attestation::new(
        CaseRef::parse(&record.case_ref).map_err(|_| corrupt("the case reference"))?,
        event_kind(&record.event_kind).ok_or_else(|| corrupt("the event kind"))?,
        state(&record.reporter_state)?,
        pair,
        time(record.occurred_at)?,
        record.sequence,
        EventDigest::from_bytes(digest),
        time(record.accepted_at)?,
    )
    .map_err(|error| Error::internal("reading a logged report", error))
}

fn resolution(record: &ResolutionRecord) -> Result<Resolution, Error> {
    let corrupt = |error: &dyn std::fmt::Display| {
        Error::internal(
            "reading a stored resolution",
            std::io::Error::other(format!("break {}: {error}", record.break_id)),
        )
    };
    Ok(Resolution {
        operator: Operator::parse(&record.operator).map_err(|error| corrupt(&error))?,
        reason: FreeText::parse(&record.reason).map_err(|error| corrupt(&error))?,
        resolved_at: Timestamp::from_millis(record.resolved_at).map_err(|error| corrupt(&error))?,
    })
}

impl Ledger {
    fn reconciler(&self) -> std::sync::RwLockReadGuard<'_, Reconciler> {
        read_lock(&self.inner.reconciler)
    }

    /// The reconciler, to change.
    fn reconciler_mut(&self) -> std::sync::RwLockWriteGuard<'_, Reconciler> {
        write_lock(&self.inner.reconciler)
    }

    /// Records newly logged reports with the reconciler.
    pub(super) fn reconcile_new(&self, attestations: Vec<Attestation>) {
        let mut reconciler = self.reconciler_mut();
        for attested in attestations {
            reconciler.record(attested);
        }
    }

    /// The breaks `query` asks for that `reader` may see, oldest detection first, as of now.
    pub fn breaks(&self, reader: Reader, query: ListBreaks) -> Result<BreakPage, Error> {
        let now = self.app().inner.clock.now();
        let mut filter = query.filter;
        if let Reader::Member(state) = reader {
            match filter.state {
                Some(asked) if asked != state => {
                    return Err(Error::PermissionDenied(format!(
                        "{state} reads only breaks of its own pairs, not {asked}'s"
                    )));
                }
                _ => filter.state = Some(state),
            }
        }
        let size = match query.page_size as usize {
            0 => PAGE_DEFAULT,
            size => size.min(PAGE_MAX),
        };
        let reconciliation = self.reconciler().reconcile(now);
        let mut found: Vec<&Break> = reconciliation
            .breaks_where(&filter)
            .filter(|candidate| {
                query
                    .case_ref
                    .as_ref()
                    .is_none_or(|case_ref| candidate.case_ref() == Some(case_ref))
            })
            .filter(|candidate| {
                query.after.as_ref().is_none_or(|(millis, id)| {
                    (candidate.detected_at().as_millis(), candidate.id().as_str())
                        > (*millis, id.as_str())
                })
            })
            .collect();
        found
            .sort_by_key(|candidate| (candidate.detected_at(), candidate.id().as_str().to_owned()));
        let more = found.len() > size;
        found.truncate(size);
        let next = more.then(|| found.last()).flatten().map(|last| {
            (
                last.detected_at().as_millis(),
                last.id().as_str().to_owned(),
            )
        });
        Ok(BreakPage {
            breaks: found.into_iter().cloned().collect(),
            now,
            next,
        })
    }

    /// Waives the open break `command` names, as `operator` (an operator's action).
    pub async fn resolve_break(
        &self,
        asked: Asked<'_, (Break, Timestamp)>,
        operator: &OperatorName,
        command: ResolveBreak,
    ) -> Result<Replied<(Break, Timestamp)>, Error> {
        if let Some(first) = self.app().first_answer(&asked).await? {
            return Ok(Replied::Replay(first));
        }
        let now = self.app().inner.clock.now();
        let resolution = Resolution {
            operator: Operator::parse(operator.as_str())
                .map_err(|error| Error::internal("naming the operator", error))?,
            reason: command.reason,
            resolved_at: now,
        };
        let (id, resolved) = self.resolve_in_memory(&command.break_id, resolution.clone())?;
        let mut change = Change {
            resolution: Some(ResolutionRecord {
                break_id: id.as_str().to_owned(),
                operator: operator.as_str().to_owned(),
                reason: resolution.reason.as_str().to_owned(),
                resolved_at: now.as_millis(),
            }),
            ..Change::default()
        };
        let detail = format!("{operator} waived break {}", id.as_str());
        let answer = (resolved, now);
        self.app().answered(&asked, &answer, detail, &mut change);
        if let Err(error) = self.store().commit(change).await {
            // The resolution did not commit: the reconciler must not keep it either.
            let grace = self.reconciler().grace();
            let reloaded = replay(self.store(), grace, None, None, |_, _| Ok(())).await?;
            *self.reconciler_mut() = reloaded;
            return Err(error.into());
        }
        Ok(Replied::Fresh(answer))
    }

    /// Resolves the open break `break_id` in the reconciler: its id and the resolved break.
    fn resolve_in_memory(
        &self,
        break_id: &str,
        resolution: Resolution,
    ) -> Result<(accord_domain::reconciliation::BreakId, Break), Error> {
        let mut reconciler = self.reconciler_mut();
        let current = reconciler.reconcile(resolution.resolved_at);
        let found = current
            .breaks()
            .iter()
            .find(|candidate| candidate.id().as_str() == break_id)
            .ok_or_else(|| Error::NotFound(format!("break {break_id}")))?;
        if !found.is_open() {
            return Err(Error::IllegalTransition(format!(
                "break {break_id} was resolved before"
            )));
        }
        let id = found.id().clone();
        let resolved = reconciler
            .resolve(&id, resolution)
            .map_err(|error| Error::IllegalTransition(error.to_string()))?;
        Ok((id, resolved))
    }

    /// Per ordered pair that includes `state` (or, for an operator asking for none, every
    /// pair): the matched returns and admissions, the pending confirmations and the open
    /// breaks, as of now, of events that took effect in `period`.
    pub fn pair_figures(
        &self,
        reader: Reader,
        state: Option<StateCode>,
        period: Option<(Timestamp, Timestamp)>,
    ) -> Result<BTreeMap<(StateCode, StateCode), PairFigures>, Error> {
        let state = match (reader, state) {
            (Reader::Member(own), Some(asked)) if own != asked => {
                return Err(Error::PermissionDenied(format!(
                    "{own} reads only its own pairs' figures, not {asked}'s"
                )));
            }
            (Reader::Member(own), _) => Some(own),
            (Reader::Operator, asked) => asked,
        };
        let now = self.app().inner.clock.now();
        let in_period = |at: Timestamp| period.is_none_or(|(start, end)| start <= at && at < end);
        let wanted = |pair: StatePair| state.is_none_or(|state| pair.includes(state));
        let reconciliation = self.reconciler().reconcile(now);
        let mut figures: BTreeMap<(StateCode, StateCode), PairFigures> = BTreeMap::new();
        for matched in reconciliation.matched() {
            if !wanted(matched.pair) || !in_period(matched.occurred_at) {
                continue;
            }
            let entry = figures
                .entry((matched.pair.first(), matched.pair.second()))
                .or_default();
            match matched.kind {
                EventKind::Readmission(ReadmissionStep::ArrivalConfirmed) => {
                    entry.matched_returns += 1;
                }
                EventKind::Admission(AdmissionStep::Arrived) => entry.matched_admissions += 1,
                _ => {}
            }
        }
        for pending in reconciliation.pending() {
            let pair = StatePair::of_case(&pending.case_ref);
            let counts = matches!(
                pending.kind,
                EventKind::Readmission(ReadmissionStep::ArrivalConfirmed)
                    | EventKind::Admission(AdmissionStep::Arrived)
            );
            if counts && wanted(pair) {
                figures
                    .entry((pair.first(), pair.second()))
                    .or_default()
                    .pending_confirmations += 1;
            }
        }
        for found in reconciliation.breaks() {
            let pair = found.pair();
            if found.is_open() && wanted(pair) {
                *figures
                    .entry((pair.first(), pair.second()))
                    .or_default()
                    .open_breaks
                    .entry((found.kind(), found.age_bucket(now)))
                    .or_default() += 1;
            }
        }
        Ok(figures)
    }
}

/// What a settlement round counts: the reconciliation of the leaves below a cut-off size,
/// as of the cut-off head's time, with each record's leaves.
pub struct CutOff {
    /// Matched events, pending ones and breaks, from those leaves only.
    pub reconciliation: accord_domain::reconciliation::Reconciliation,
    /// The leaves of each (case, kind) record, in log order.
    pub leaves: BTreeMap<(CaseRef, EventKind), Vec<u64>>,
}

impl Ledger {
    /// Adds the instructions a round found lapsed, from its report (a stored
    /// `SignedSettlementReport`), as the round becomes final.
    pub fn record_final_round(&self, signed_report: &[u8]) -> Result<(), Error> {
        let lapses = lapses_in(signed_report).map_err(|what| {
            Error::internal(
                "reading a final round's report",
                std::io::Error::other(what),
            )
        })?;
        let mut reconciler = self.reconciler_mut();
        for lapse in lapses {
            reconciler.record_lapse(lapse);
        }
        Ok(())
    }

    /// The reconciliation of the first `tree_size` leaves as of `at`, with the resolutions
    /// recorded so far: what a round cut off at that size counts.
    pub async fn cut_off(&self, tree_size: u64, at: Timestamp) -> Result<CutOff, Error> {
        let grace = self.reconciler().grace();
        let mut leaves: BTreeMap<(CaseRef, EventKind), Vec<u64>> = BTreeMap::new();
        let reconciler = replay(
            self.store(),
            grace,
            Some(tree_size),
            Some(at),
            |record, attested| {
                leaves
                    .entry((attested.case_ref().clone(), attested.kind()))
                    .or_default()
                    .push(record.leaf_index);
                Ok(())
            },
        )
        .await?;
        Ok(CutOff {
            reconciliation: reconciler.reconcile(at),
            leaves,
        })
    }
}
