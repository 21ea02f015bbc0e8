//! Listing breaks by pair, state, kind, age and status, and resolving them.

use std::collections::BTreeSet;

use accord_domain::Timestamp;
use accord_domain::reconciliation::{
    AgeBucket, BreakFilter, BreakId, BreakKind, Error, Operator, Reconciler, Resolution,
};

use super::{Fact, arrival_confirmed, case, day, pair, recorded};
use crate::support::{state, text};

/// Breaks on three pairs: a one-sided report on GB→FR detected on day 2, a mismatch on
/// FR→BE detected on day 20, and a one-sided report on BE→DE detected on day 42.
fn three_breaks() -> Reconciler {
    let gb_fr = arrival_confirmed();
    let fr_be = Fact {
        case_ref: case("RDM-FR-BE-1"),
        pair: pair("FR", "BE"),
        ..arrival_confirmed()
    };
    let fr_be_other = Fact {
        digest: 40,
        ..fr_be.clone()
    };
    let be_de = Fact {
        case_ref: case("RDM-BE-DE-1"),
        pair: pair("BE", "DE"),
        ..arrival_confirmed()
    };
    recorded([
        gb_fr.by("FR", day(0)),
        fr_be.by("FR", day(19)),
        fr_be_other.by("BE", day(20)),
        be_de.by("DE", day(40)),
    ])
}

fn listed(reconciler: &Reconciler, now: Timestamp, filter: &BreakFilter) -> Vec<String> {
    reconciler
        .reconcile(now)
        .breaks_where(filter)
        .map(|found| {
            found
                .case_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        })
        .collect()
}

fn resolution(operator: &str, at: Timestamp) -> Resolution {
    Resolution {
        operator: Operator::parse(operator).unwrap(),
        reason: text("The states agreed the difference at the Joint Committee."),
        resolved_at: at,
    }
}

#[test]
fn breaks_are_listed_by_pair_state_kind_age_and_status() {
    let reconciler = three_breaks();
    let now = day(50);
    let all = ["RDM-GB-FR-7Q2K", "RDM-FR-BE-1", "RDM-BE-DE-1"];
    let cases = [
        (BreakFilter::default(), &all[..]),
        (
            BreakFilter {
                pair: Some(pair("FR", "BE")),
                ..BreakFilter::default()
            },
            &all[1..2],
        ),
        // The pair is ordered: BE→FR has no break.
        (
            BreakFilter {
                pair: Some(pair("BE", "FR")),
                ..BreakFilter::default()
            },
            &[][..],
        ),
        (
            BreakFilter {
                state: Some(state("FR")),
                ..BreakFilter::default()
            },
            &all[..2],
        ),
        (
            BreakFilter {
                kinds: BTreeSet::from([BreakKind::OneSided]),
                ..BreakFilter::default()
            },
            &["RDM-GB-FR-7Q2K", "RDM-BE-DE-1"][..],
        ),
        (
            BreakFilter {
                kinds: BTreeSet::from([BreakKind::Mismatch, BreakKind::Conflict]),
                ..BreakFilter::default()
            },
            &all[1..2],
        ),
        // Ages on day 50: 48, 30 and 8 days.
        (
            BreakFilter {
                age_bucket: Some(AgeBucket::Days31To90),
                ..BreakFilter::default()
            },
            &all[..1],
        ),
        (
            BreakFilter {
                age_bucket: Some(AgeBucket::Days15To30),
                ..BreakFilter::default()
            },
            &all[1..2],
        ),
        (
            BreakFilter {
                age_bucket: Some(AgeBucket::Days4To14),
                state: Some(state("DE")),
                ..BreakFilter::default()
            },
            &all[2..],
        ),
        (
            BreakFilter {
                age_bucket: Some(AgeBucket::Days0To3),
                ..BreakFilter::default()
            },
            &[][..],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(listed(&reconciler, now, &filter), expected, "{filter:?}");
    }
}

#[test]
fn an_operator_resolves_an_open_break_once_with_a_reason() {
    let mut reconciler = three_breaks();
    let id = BreakId::clone(reconciler.reconcile(day(30)).breaks()[1].id());
    assert_eq!(
        id.as_str(),
        "MISMATCH/RDM-FR-BE-1/READMISSION_ARRIVAL_CONFIRMED"
    );

    let resolved = reconciler
        .resolve(&id, resolution("ops.alice", day(31)))
        .unwrap();
    assert!(!resolved.is_open());
    assert_eq!(
        resolved.resolution().map(|done| done.operator.as_str()),
        Some("ops.alice")
    );

    let again = reconciler.resolve(&id, resolution("ops.bob", day(32)));
    assert_eq!(
        again,
        Err(Error::AlreadyResolved {
            id: id.clone(),
            resolved_at: day(31)
        })
    );
    // The pure transition refuses a second resolution too.
    assert!(matches!(
        resolved.resolve(resolution("ops.bob", day(32))),
        Err(Error::AlreadyResolved { .. })
    ));

    let open_only = BreakFilter {
        open: Some(true),
        ..BreakFilter::default()
    };
    let resolved_only = BreakFilter {
        open: Some(false),
        ..BreakFilter::default()
    };
    assert_eq!(
        listed(&reconciler, day(50), &open_only),
        ["RDM-GB-FR-7Q2K", "RDM-BE-DE-1"]
    );
    assert_eq!(
        listed(&reconciler, day(50), &resolved_only),
        ["RDM-FR-BE-1"]
    );
    // Before the resolution, the break was open.
    assert_eq!(
        listed(&reconciler, offset_day(31, -1), &resolved_only),
        Vec::<String>::new()
    );
    // A resolved break's records still do not count.
    assert!(reconciler.reconcile(day(50)).matched().is_empty());
}

fn offset_day(n: u32, millis: i64) -> Timestamp {
    day(n).plus_millis(millis)
}

#[test]
fn resolving_an_unknown_break_or_before_its_detection_is_refused() {
    let mut reconciler = three_breaks();
    let unknown = BreakId::clone(reconciler.reconcile(day(50)).breaks()[2].id());
    // On day 30 the BE→DE report was not yet accepted: no such break then.
    assert_eq!(
        reconciler.resolve(&unknown, resolution("ops.alice", day(30))),
        Err(Error::UnknownBreak {
            id: unknown.clone(),
            at: day(30)
        })
    );
    let found = reconciler.reconcile(day(50)).breaks()[0].clone();
    assert_eq!(
        found.resolve(resolution("ops.alice", day(1))),
        Err(Error::ResolvedBeforeDetection {
            id: found.id().clone(),
            detected_at: day(2),
            resolved_at: day(1)
        })
    );
    for refused in ["", "with space", "ops/alice", &"o".repeat(65)] {
        assert!(matches!(
            Operator::parse(refused),
            Err(Error::InvalidOperator { .. })
        ));
    }
}
