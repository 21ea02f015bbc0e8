//! Every kind of break, the grace period at its boundary, re-sends, and the reports refused
//! before they reach reconciliation.

use std::collections::BTreeSet;

use accord_domain::admission::OfferStep;
use accord_domain::readmission::ReadmissionStep;
use accord_domain::reconciliation::{
    Attestation, BreakDetail, Error, EventDigest, EventKind, ExpectedEvent, MismatchField,
    Reconciler, Recorded, StatePair,
};

use super::{
    GRACE, admission_arrived, arrival_confirmed, break_kinds, case, day, offset, pair, readmission,
    recorded,
};
use crate::support::state;

#[test]
fn two_identical_reports_match_and_make_no_break() {
    let fact = arrival_confirmed();
    let reconciliation =
        recorded([fact.by("FR", day(0)), fact.by("GB", day(1))]).reconcile(day(30));
    assert!(reconciliation.breaks().is_empty());
    assert!(reconciliation.pending().is_empty());
    let [matched] = reconciliation.matched() else {
        panic!("one match expected: {:?}", reconciliation.matched());
    };
    assert_eq!(matched.case_ref, fact.case_ref);
    assert_eq!(matched.sequence, 9);
    assert_eq!(matched.matched_at, day(1));
}

#[test]
fn a_report_alone_is_pending_to_the_end_of_the_grace_period_and_one_sided_just_after() {
    let reconciler = recorded([arrival_confirmed().by("FR", day(3))]);
    let grace_ends_at = day(5);

    let at_the_end = reconciler.reconcile(grace_ends_at);
    assert!(at_the_end.breaks().is_empty());
    let [pending] = at_the_end.pending() else {
        panic!("one pending event expected");
    };
    assert_eq!(pending.reporter, state("FR"));
    assert_eq!(pending.grace_ends_at, grace_ends_at);

    let just_after = reconciler.reconcile(offset(grace_ends_at, 1));
    assert!(just_after.pending().is_empty());
    assert!(just_after.matched().is_empty());
    let [one_sided] = just_after.breaks() else {
        panic!("one break expected");
    };
    assert_eq!(
        one_sided.detail(),
        &BreakDetail::OneSided {
            kind: readmission(ReadmissionStep::ArrivalConfirmed),
            sequence: 9,
            reporter: state("FR"),
            missing: state("GB"),
        }
    );
    assert_eq!(one_sided.detected_at(), grace_ends_at);
    assert_eq!(
        one_sided.id().as_str(),
        "ONE_SIDED/RDM-GB-FR-7Q2K/READMISSION_ARRIVAL_CONFIRMED"
    );
}

#[test]
fn the_grace_period_runs_from_the_first_acceptance_not_from_the_event() {
    // The event took effect on day 0; France's node reported it on day 10.
    let reconciler = recorded([arrival_confirmed().by("FR", day(10))]);
    assert!(reconciler.reconcile(day(12)).breaks().is_empty());
    assert_eq!(
        break_kinds(&reconciler.reconcile(offset(day(12), 1))),
        ["ONE_SIDED"]
    );
}

#[test]
fn a_counterpart_within_the_grace_period_matches_and_one_after_it_ends_the_break() {
    let fact = arrival_confirmed();
    let mut reconciler = recorded([fact.by("FR", day(0))]);
    assert_eq!(break_kinds(&reconciler.reconcile(day(4))), ["ONE_SIDED"]);
    reconciler.record(fact.by("GB", day(4)));
    let later = reconciler.reconcile(day(4));
    assert!(later.breaks().is_empty());
    assert_eq!(later.matched().len(), 1);
}

#[test]
fn reports_that_differ_in_pair_sequence_time_or_digest_are_a_mismatch() {
    use MismatchField::*;
    let fact = arrival_confirmed();
    // GB reports FR's fact with `change` made to it.
    let check = |change: fn(&mut super::Fact), fields: &[MismatchField]| {
        let mut other = fact.clone();
        change(&mut other);
        let reconciliation =
            recorded([fact.by("FR", day(0)), other.by("GB", day(1))]).reconcile(day(1));
        let [mismatch] = reconciliation.breaks() else {
            panic!("one break expected for {fields:?}");
        };
        assert_eq!(
            mismatch.detail(),
            &BreakDetail::Mismatch {
                kind: fact.kind,
                fields: fields.iter().copied().collect(),
            }
        );
        assert_eq!(mismatch.detected_at(), day(1));
        assert_eq!(mismatch.reported_by().len(), 2);
        assert!(reconciliation.matched().is_empty());
    };
    check(|other| other.pair = pair("FR", "GB"), &[Pair]);
    check(|other| other.sequence = 10, &[Sequence]);
    check(|other| other.occurred_at = day(1), &[OccurredAt]);
    check(|other| other.digest = 9, &[Digest]);
    let later_and_different = |other: &mut super::Fact| {
        other.occurred_at = day(1);
        other.digest = 9;
    };
    check(later_and_different, &[OccurredAt, Digest]);
}

#[test]
fn an_exact_resend_is_recognised_and_is_not_a_break() {
    let fact = arrival_confirmed();
    let mut reconciler = Reconciler::new(GRACE);
    assert_eq!(reconciler.record(fact.by("FR", day(1))), Recorded::New);
    assert_eq!(reconciler.record(fact.by("FR", day(3))), Recorded::Resent);
    // A re-send accepted earlier than the first copy seen (reports cross on the way) keeps
    // the earlier acceptance.
    assert_eq!(reconciler.record(fact.by("FR", day(0))), Recorded::Resent);
    let alone = reconciler.reconcile(offset(day(2), 1));
    assert_eq!(break_kinds(&alone), ["ONE_SIDED"]);
    assert_eq!(alone.breaks()[0].detected_at(), day(2));

    reconciler.record(fact.by("GB", day(2)));
    reconciler.record(fact.by("GB", day(5)));
    let both = reconciler.reconcile(day(6));
    assert!(both.breaks().is_empty());
    assert_eq!(both.matched().len(), 1);
}

#[test]
fn a_party_reporting_one_event_twice_with_different_content_is_a_duplicate() {
    let fact = arrival_confirmed();
    let changed = super::Fact {
        digest: 7,
        ..fact.clone()
    };
    let reconciliation = recorded([
        fact.by("FR", day(0)),
        fact.by("GB", day(0)),
        changed.by("FR", day(2)),
    ])
    .reconcile(day(3));
    let [duplicate] = reconciliation.breaks() else {
        panic!("one break expected");
    };
    assert_eq!(
        duplicate.detail(),
        &BreakDetail::Duplicate {
            kind: fact.kind,
            reporters: BTreeSet::from([state("FR")]),
        }
    );
    assert_eq!(duplicate.detected_at(), day(2));
    // GB's report agrees with FR's first version, but FR contradicts itself: nothing counts.
    assert!(reconciliation.matched().is_empty());
}

/// GB's claim that the person did not show up, at the sequence of [`arrival_confirmed`].
fn no_show_instead_of_the_arrival() -> super::Fact {
    super::Fact {
        kind: readmission(ReadmissionStep::NoShow),
        digest: 5,
        ..arrival_confirmed()
    }
}

#[test]
fn two_parties_naming_different_events_at_one_sequence_are_a_conflict() {
    let arrival = arrival_confirmed();
    let no_show = no_show_instead_of_the_arrival();
    let reconciliation =
        recorded([arrival.by("FR", day(0)), no_show.by("GB", day(1))]).reconcile(day(20));
    let [conflict] = reconciliation.breaks() else {
        panic!(
            "one break, not two one-sided records: {:?}",
            reconciliation.breaks()
        );
    };
    assert_eq!(
        conflict.detail(),
        &BreakDetail::Conflict {
            sequence: 9,
            claims: BTreeSet::from([(state("FR"), arrival.kind), (state("GB"), no_show.kind)]),
        }
    );
    assert_eq!(conflict.detected_at(), day(1));
    assert_eq!(conflict.id().as_str(), "CONFLICT/RDM-GB-FR-7Q2K/@9");
    assert!(reconciliation.matched().is_empty());
    assert!(reconciliation.pending().is_empty());
}

#[test]
fn a_conflict_touches_only_its_sequence() {
    let transferred = super::Fact {
        kind: readmission(ReadmissionStep::TransferExecuted),
        sequence: 8,
        digest: 4,
        ..arrival_confirmed()
    };
    let arrival = arrival_confirmed();
    let no_show = no_show_instead_of_the_arrival();
    let reconciliation = recorded([
        transferred.by("GB", day(0)),
        transferred.by("FR", day(0)),
        arrival.by("FR", day(1)),
        no_show.by("GB", day(1)),
    ])
    .reconcile(day(20));
    assert_eq!(break_kinds(&reconciliation), ["CONFLICT"]);
    let [matched] = reconciliation.matched() else {
        panic!("the hand-over still matches");
    };
    assert_eq!(matched.sequence, 8);
}

#[test]
fn kinds_that_recur_in_a_case_are_matched_once_per_sequence() {
    let first = super::Fact {
        case_ref: case("OFR-GB-FR-2025W40"),
        kind: EventKind::Offer(OfferStep::SlotClaimed),
        sequence: 2,
        digest: 20,
        ..arrival_confirmed()
    };
    let second = super::Fact {
        sequence: 3,
        digest: 21,
        occurred_at: day(1),
        ..first.clone()
    };
    let reconciliation = recorded([
        first.by("GB", day(1)),
        first.by("FR", day(1)),
        second.by("GB", day(2)),
        second.by("FR", day(2)),
    ])
    .reconcile(day(3));
    assert!(
        reconciliation.breaks().is_empty(),
        "{:?}",
        reconciliation.breaks()
    );
    assert_eq!(reconciliation.matched().len(), 2);
}

#[test]
fn an_expected_event_not_matched_by_its_deadline_is_not_performed() {
    let fact = admission_arrived();
    let deadline = day(10);
    let expected = ExpectedEvent::new(fact.case_ref.clone(), fact.kind, deadline).unwrap();
    let check = |reports: Vec<Attestation>, now, expected_kinds: &[&str]| {
        let mut reconciler = recorded(reports);
        reconciler.expect(expected.clone()).unwrap();
        let reconciliation = reconciler.reconcile(now);
        assert_eq!(break_kinds(&reconciliation), expected_kinds, "at {now}");
        reconciliation
    };
    // Nothing reported: at the deadline, not yet; a millisecond later, a break.
    check(vec![], deadline, &[]);
    let late = check(vec![], offset(deadline, 1), &["NOT_PERFORMED"]);
    let found = &late.breaks()[0];
    assert_eq!(
        found.detail(),
        &BreakDetail::NotPerformed {
            kind: fact.kind,
            deadline
        }
    );
    assert_eq!(found.detected_at(), deadline);
    assert_eq!(found.pair(), pair("GB", "FR"));
    // Performed on day 0 and matched: no break.
    check(
        vec![fact.by("GB", day(1)), fact.by("FR", day(11))],
        day(12),
        &[],
    );
    // Performed on time but reported by one side only, past its grace period: both breaks.
    check(
        vec![fact.by("GB", day(1))],
        day(12),
        &["ONE_SIDED", "NOT_PERFORMED"],
    );
    // Matched, but performed after the deadline: still not performed by then.
    let performed_late = super::Fact {
        occurred_at: day(11),
        ..fact.clone()
    };
    check(
        vec![
            performed_late.by("GB", day(11)),
            performed_late.by("FR", day(11)),
        ],
        day(12),
        &["NOT_PERFORMED"],
    );
}

#[test]
fn reports_accepted_after_now_are_left_out() {
    let fact = arrival_confirmed();
    let reconciler = recorded([fact.by("FR", day(0)), fact.by("GB", day(5))]);
    assert_eq!(break_kinds(&reconciler.reconcile(day(4))), ["ONE_SIDED"]);
    assert!(reconciler.reconcile(day(5)).breaks().is_empty());
}

#[test]
fn what_a_report_alone_shows_to_be_wrong_is_refused() {
    let fact = arrival_confirmed();
    let digest = EventDigest::from_bytes([1; 32]);
    let attest = |case_text: &str, kind, reporter: &str, reported_pair, sequence| {
        Attestation::new(
            case(case_text),
            kind,
            state(reporter),
            reported_pair,
            day(0),
            sequence,
            digest,
            day(0),
        )
    };
    assert_eq!(
        attest("RDM-GB-FR-7Q2K", fact.kind, "DE", pair("GB", "DE"), 9),
        Err(Error::NotAParty {
            case_ref: case("RDM-GB-FR-7Q2K"),
            reporter: state("DE")
        })
    );
    assert_eq!(
        attest("RDM-GB-FR-7Q2K", fact.kind, "FR", pair("GB", "DE"), 9),
        Err(Error::ReporterOutsidePair {
            reporter: state("FR"),
            pair: pair("GB", "DE")
        })
    );
    assert_eq!(
        attest("ADM-GB-FR-19", fact.kind, "FR", pair("GB", "FR"), 9),
        Err(Error::KindNotOfCase {
            case_ref: case("ADM-GB-FR-19"),
            kind: fact.kind
        })
    );
    assert_eq!(
        attest("RDM-GB-FR-7Q2K", fact.kind, "FR", pair("GB", "FR"), 0),
        Err(Error::SequenceZero)
    );
    assert_eq!(
        StatePair::new(state("FR"), state("FR")),
        Err(Error::SameState { state: state("FR") })
    );
    assert!(matches!(
        ExpectedEvent::new(case("OFR-GB-FR-1"), fact.kind, day(1)),
        Err(Error::KindNotOfCase { .. })
    ));
}

#[test]
fn an_expectation_is_idempotent_but_never_moves_its_deadline() {
    let fact = admission_arrived();
    let mut reconciler = Reconciler::new(GRACE);
    let expected = ExpectedEvent::new(fact.case_ref.clone(), fact.kind, day(10)).unwrap();
    assert_eq!(reconciler.expect(expected.clone()), Ok(()));
    assert_eq!(reconciler.expect(expected), Ok(()));
    let moved = ExpectedEvent::new(fact.case_ref.clone(), fact.kind, day(20)).unwrap();
    assert_eq!(
        reconciler.expect(moved),
        Err(Error::ExpectedOtherwise {
            case_ref: fact.case_ref,
            kind: fact.kind,
            deadline: day(10)
        })
    );
}
