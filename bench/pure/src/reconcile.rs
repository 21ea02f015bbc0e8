//! Reconciliation of two-sided cases: the domain's reconciler against a plain sort and
//! linear match of the same reports.

use std::cmp::Ordering;
use std::time::Instant;

use accord_domain::reconciliation::{Attestation, EventDigest, EventKind, Reconciler, StatePair};
use accord_domain::{CaseKind, CaseRef, Period, StateCode, Timestamp};

use crate::{Random, STATES, millis_since, percentile};

/// One case in this many is reported by one party only (a `ONE_SIDED` break by `now`).
const ONE_SIDED_EVERY: usize = 100;
/// One case in this many is reported by both with different digests (a `MISMATCH`).
const MISMATCH_EVERY: usize = 250;
/// The first acceptance: 2025-11-24.
const FIRST_ACCEPTED_MILLIS: i64 = 1_764_000_000_000;
/// The grace period after which a one-sided report is a break.
const GRACE: Period = Period::CalendarDays(2);

pub(crate) fn run(cases: usize, runs: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let reports = reports(cases)?;
    println!(
        "reconcile: {cases} cases, {} reports ({:.0} ms to generate, not timed)",
        reports.len(),
        millis_since(started)
    );
    let now = Timestamp::from_millis(FIRST_ACCEPTED_MILLIS + 30 * 86_400_000)?;
    let (mut domain, mut record, mut reference) = (Vec::new(), Vec::new(), Vec::new());
    let mut at_once = Vec::new();
    for run in 1..=runs {
        let input = reports.clone();
        let started = Instant::now();
        let mut reconciler = Reconciler::new(GRACE);
        for report in input {
            reconciler.record(report);
        }
        let recorded = millis_since(started);
        let reconciliation = reconciler.reconcile(now);
        let total = millis_since(started);
        let matched = reconciliation.matched().len();
        let breaks = reconciliation.breaks().len();
        drop((reconciliation, reconciler));

        // The coordinator's start: the whole log recorded at once, then reconciled.
        let input = reports.clone();
        let started = Instant::now();
        let mut reconciler = Reconciler::new(GRACE);
        reconciler.record_all(input);
        let reconciliation = reconciler.reconcile(now);
        let bulk = millis_since(started);
        anyhow::ensure!(
            (
                reconciliation.matched().len(),
                reconciliation.breaks().len()
            ) == (matched, breaks),
            "recording at once found other counts than one by one"
        );
        drop((reconciliation, reconciler));

        let input = reports.clone();
        let started = Instant::now();
        let (reference_matched, reference_unmatched) = sort_and_match(input);
        let reference_total = millis_since(started);
        anyhow::ensure!(
            (matched, breaks) == (reference_matched, reference_unmatched),
            "the reconciler found {matched} matched and {breaks} breaks, the reference \
             {reference_matched} and {reference_unmatched}"
        );
        println!(
            "  run {run}: reconciler {total:.0} ms (record {recorded:.0} ms, reconcile {:.0} ms); \
             at once {bulk:.0} ms; reference {reference_total:.0} ms; {matched} matched, \
             {breaks} breaks",
            total - recorded
        );
        at_once.push(bulk);
        domain.push(total);
        record.push(recorded);
        reference.push(reference_total);
    }
    let (domain, record, reference) = (
        percentile(&domain, 50.0),
        percentile(&record, 50.0),
        percentile(&reference, 50.0),
    );
    let at_once = percentile(&at_once, 50.0);
    println!(
        "reconcile median of {runs}: reconciler {domain:.0} ms (record {record:.0} ms), at once \
         {at_once:.0} ms, reference {reference:.0} ms, reconciler / reference {:.1}x, at once / \
         reference {:.1}x",
        domain / reference,
        at_once / reference
    );
    Ok(())
}

/// Two reports per case (one for every `ONE_SIDED_EVERY`th), in a shuffled order.
fn reports(cases: usize) -> anyhow::Result<Vec<Attestation>> {
    let mut random = Random::new(20_251_124);
    let states: Vec<StateCode> = STATES
        .iter()
        .map(|code| StateCode::parse(code))
        .collect::<Result<_, _>>()?;
    let kind =
        EventKind::Readmission(accord_domain::readmission::ReadmissionStep::ArrivalConfirmed);
    let mut reports = Vec::with_capacity(2 * cases);
    for case in 0..cases {
        let first = states[random.below(32) as usize];
        let second = loop {
            let candidate = states[random.below(32) as usize];
            if candidate != first {
                break candidate;
            }
        };
        let case_ref = CaseRef::new(CaseKind::Readmission, first, second, &format!("{case:012}"))?;
        let pair = StatePair::new(first, second)?;
        let occurred_at = Timestamp::from_millis(FIRST_ACCEPTED_MILLIS - 86_400_000 + case as i64)?;
        let mut digest = [0; 32];
        digest[..8].copy_from_slice(&(case as u64).to_be_bytes());
        let accepted = |offset: i64| Timestamp::from_millis(FIRST_ACCEPTED_MILLIS + offset);
        reports.push(Attestation::new(
            case_ref.clone(),
            kind,
            first,
            pair,
            occurred_at,
            5,
            EventDigest::from_bytes(digest),
            accepted(case as i64)?,
        )?);
        if case % ONE_SIDED_EVERY == 1 {
            continue;
        }
        if case % MISMATCH_EVERY == 2 {
            digest[31] = 1;
        }
        reports.push(Attestation::new(
            case_ref,
            kind,
            second,
            pair,
            occurred_at,
            5,
            EventDigest::from_bytes(digest),
            accepted(case as i64 + 60_000)?,
        )?);
    }
    for index in (1..reports.len()).rev() {
        reports.swap(index, random.below(index as u64 + 1) as usize);
    }
    Ok(reports)
}

/// The reference: sort by (case, kind, reporter), then one pass; a record is matched when
/// exactly its two parties reported it with the same content. Answers (matched, not matched).
fn sort_and_match(mut reports: Vec<Attestation>) -> (usize, usize) {
    reports.sort_unstable_by(|left, right| {
        (left.case_ref(), left.kind(), left.reporter()).cmp(&(
            right.case_ref(),
            right.kind(),
            right.reporter(),
        ))
    });
    let same_record = |left: &Attestation, right: &Attestation| {
        left.case_ref() == right.case_ref() && left.kind() == right.kind()
    };
    let same_content = |left: &Attestation, right: &Attestation| {
        left.pair() == right.pair()
            && left.sequence() == right.sequence()
            && left.occurred_at() == right.occurred_at()
            && left.digest() == right.digest()
    };
    let (mut matched, mut unmatched, mut start) = (0, 0, 0);
    while start < reports.len() {
        let mut end = start + 1;
        while end < reports.len() && same_record(&reports[start], &reports[end]) {
            end += 1;
        }
        let run = &reports[start..end];
        let two_agree = run.len() == 2
            && run[0].reporter().cmp(&run[1].reporter()) != Ordering::Equal
            && same_content(&run[0], &run[1]);
        if two_agree {
            matched += 1;
        } else {
            unmatched += 1;
        }
        start = end;
    }
    (matched, unmatched)
}
