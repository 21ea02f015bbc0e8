//! Property tests: the same reports give the same reconciliation whatever order they arrive
//! in, and exact re-sends change nothing.

use accord_domain::admission::AdmissionStep;
use accord_domain::readmission::ReadmissionStep;
use accord_domain::reconciliation::{
    Attestation, BreakDetail, EventKind, ExpectedEvent, Reconciler, reconcile,
};
use accord_domain::{Period, Timestamp};
use proptest::prelude::*;

use super::{Fact, GRACE, case, day, pair};

const CASES: [&str; 3] = ["RDM-GB-FR-1", "RDM-GB-FR-2", "ADM-GB-FR-3"];
const READMISSION_KINDS: [ReadmissionStep; 4] = [
    ReadmissionStep::TransferExecuted,
    ReadmissionStep::ArrivalConfirmed,
    ReadmissionStep::NoShow,
    ReadmissionStep::TransferPostponed,
];
const ADMISSION_KINDS: [AdmissionStep; 2] =
    [AdmissionStep::Arrived, AdmissionStep::DepartureConfirmed];
/// The instants every property reconciles at.
const NOW_DAYS: [u32; 6] = [0, 2, 3, 7, 12, 120];

/// A report drawn from a small universe, so that records often meet: three cases, a few
/// kinds (one that recurs), two reporters, sequences 1–3, a few times and digests, and now
/// and then a reversed pair.
fn report() -> impl Strategy<Value = Attestation> {
    (
        0..CASES.len(),
        0..4usize,
        any::<bool>(),
        1..=3u64,
        0..2u32,
        0..2u8,
        0..6u32,
        0..24i64,
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(
                case_index,
                kind_index,
                by_britain,
                sequence,
                occurred,
                digest,
                days,
                hours,
                reversed,
            )| {
                let case_ref = case(CASES[case_index]);
                let kind = if case_index < 2 {
                    EventKind::Readmission(READMISSION_KINDS[kind_index])
                } else {
                    EventKind::Admission(ADMISSION_KINDS[kind_index % 2])
                };
                let fact = Fact {
                    case_ref,
                    kind,
                    pair: if reversed {
                        pair("FR", "GB")
                    } else {
                        pair("GB", "FR")
                    },
                    sequence,
                    occurred_at: day(occurred),
                    digest,
                };
                fact.by(
                    if by_britain { "GB" } else { "FR" },
                    day(days).plus_millis(hours * 3_600_000),
                )
            },
        )
}

fn expectations() -> Vec<ExpectedEvent> {
    vec![
        ExpectedEvent::new(
            case("RDM-GB-FR-1"),
            EventKind::Readmission(ReadmissionStep::ArrivalConfirmed),
            day(4),
        )
        .unwrap(),
        ExpectedEvent::new(
            case("ADM-GB-FR-3"),
            EventKind::Admission(AdmissionStep::DepartureConfirmed),
            day(8),
        )
        .unwrap(),
    ]
}

fn reconciler_of(reports: &[Attestation]) -> Reconciler {
    let mut reconciler = Reconciler::new(GRACE);
    for report in reports {
        reconciler.record(report.clone());
    }
    for expected in expectations() {
        reconciler.expect(expected).unwrap();
    }
    reconciler
}

/// A copy of `report` accepted `delay_days` later: what an outbox retry sends.
fn resent(report: &Attestation, delay_days: u32) -> Attestation {
    Attestation::new(
        report.case_ref().clone(),
        report.kind(),
        report.reporter(),
        report.pair(),
        report.occurred_at(),
        report.sequence(),
        report.digest(),
        report.accepted_at().plus(Period::CalendarDays(delay_days)),
    )
    .unwrap()
}

fn arrivals() -> impl Strategy<Value = (Vec<Attestation>, Vec<Attestation>)> {
    prop::collection::vec(report(), 0..24)
        .prop_flat_map(|reports| (Just(reports.clone()), Just(reports).prop_shuffle()))
}

proptest! {
    #[test]
    fn the_order_of_arrival_changes_nothing((in_order, shuffled) in arrivals()) {
        let first = reconciler_of(&in_order);
        let second = reconciler_of(&shuffled);
        prop_assert_eq!(&first, &second);
        for now in NOW_DAYS.map(day) {
            let expected = first.reconcile(now);
            prop_assert_eq!(&second.reconcile(now), &expected);
            let at_once = reconcile(shuffled.clone(), expectations(), GRACE, now).unwrap();
            prop_assert_eq!(&at_once, &expected);
        }
    }

    #[test]
    fn recording_all_at_once_equals_recording_one_by_one(
        (in_order, shuffled) in arrivals(),
        resends in prop::collection::vec((any::<prop::sample::Index>(), 0..5u32), 0..8),
    ) {
        let mut reports = shuffled;
        if !in_order.is_empty() {
            for (index, delay_days) in resends {
                reports.push(resent(index.get(&in_order), delay_days));
            }
        }
        let one_by_one = reconciler_of(&reports);
        let mut at_once = Reconciler::new(GRACE);
        for expected in expectations() {
            at_once.expect(expected).unwrap();
        }
        at_once.record_all(reports.iter().cloned());
        prop_assert_eq!(&at_once, &one_by_one);
    }

    #[test]
    fn exact_resends_change_nothing(
        reports in prop::collection::vec(report(), 0..24),
        resends in prop::collection::vec((any::<prop::sample::Index>(), 0..5u32), 0..8),
    ) {
        let original = reconciler_of(&reports);
        let mut with_resends = reports.clone();
        if !reports.is_empty() {
            for (index, delay_days) in resends {
                with_resends.push(resent(index.get(&reports), delay_days));
            }
        }
        let repeated = reconciler_of(&with_resends);
        for now in NOW_DAYS.map(day) {
            prop_assert_eq!(repeated.reconcile(now), original.reconcile(now));
        }
    }

    #[test]
    fn no_case_counts_twice_and_nothing_matches_at_a_conflicting_sequence(
        reports in prop::collection::vec(report(), 0..24),
    ) {
        let now: Timestamp = day(12);
        let reconciliation = reconciler_of(&reports).reconcile(now);
        let counted = reconciliation.counted(|_| false);
        let mut cases: Vec<_> = counted.iter().map(|event| &event.case_ref).collect();
        cases.sort();
        let before = cases.len();
        cases.dedup();
        prop_assert_eq!(cases.len(), before, "a case counted twice");
        for found in reconciliation.breaks() {
            prop_assert!(found.detected_at() <= now);
            prop_assert!(
                !reconciliation.matched().iter().any(|event| {
                    Some(&event.case_ref) == found.case_ref()
                        && matches!(
                            found.detail(),
                            BreakDetail::Conflict { sequence, .. }
                                if *sequence == event.sequence
                        )
                }),
                "a matched event at a conflicting sequence"
            );
        }
    }
}
