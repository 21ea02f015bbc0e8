//! What reaches the ledger: matched confirmations only, each case once.

use accord_domain::admission::AdmissionStep;
use accord_domain::readmission::ReadmissionStep;
use accord_domain::reconciliation::reconcile;

use super::{
    Fact, GRACE, admission, admission_arrived, arrival_confirmed, case, day, pair, readmission,
    recorded,
};
use crate::support::state;

/// A matched ARRIVAL_CONFIRMED of another readmission from GB to FR.
fn another_arrival(id: &str) -> Fact {
    Fact {
        case_ref: case(&format!("RDM-GB-FR-{id}")),
        ..arrival_confirmed()
    }
}

#[test]
fn only_matched_confirmations_count_each_once() {
    let matched = arrival_confirmed();
    let one_sided = another_arrival("2");
    let mismatched = another_arrival("3");
    let mismatched_other = Fact {
        digest: 99,
        ..mismatched.clone()
    };
    let not_a_confirmation = Fact {
        case_ref: case("RDM-GB-FR-4"),
        kind: readmission(ReadmissionStep::TransferExecuted),
        sequence: 8,
        ..arrival_confirmed()
    };
    let reports = [
        matched.by("FR", day(0)),
        matched.by("GB", day(0)),
        // Re-sent by both sides: still one return.
        matched.by("FR", day(1)),
        matched.by("GB", day(2)),
        one_sided.by("FR", day(0)),
        mismatched.by("FR", day(0)),
        mismatched_other.by("GB", day(0)),
        not_a_confirmation.by("GB", day(0)),
        not_a_confirmation.by("FR", day(0)),
    ];
    let reconciliation = reconcile(reports, [], GRACE, day(30)).unwrap();
    assert_eq!(reconciliation.matched().len(), 2);
    let counted = reconciliation.counted(|_| true);
    assert_eq!(counted.len(), 1);
    assert_eq!(counted[0].case_ref, matched.case_ref);
    let ledger = reconciliation.ledger(|_| true);
    assert_eq!(ledger.returns(state("GB"), state("FR")), 1);
    assert_eq!(ledger.debt(state("GB"), state("FR")), 1);
    assert_eq!(ledger.admissions(state("GB"), state("FR")), 0);
}

#[test]
fn an_admission_counts_once_on_confirmation_or_on_arrival_where_none_is_asked() {
    let arrived = admission_arrived();
    let confirmed = Fact {
        kind: admission(AdmissionStep::DepartureConfirmed),
        sequence: 8,
        digest: 3,
        ..arrived.clone()
    };
    let both = [
        arrived.by("GB", day(0)),
        arrived.by("FR", day(0)),
        confirmed.by("FR", day(1)),
        confirmed.by("GB", day(1)),
    ];
    let reconciliation = reconcile(both, [], GRACE, day(5)).unwrap();
    for confirmation_required in [true, false] {
        let ledger = reconciliation.ledger(|_| confirmation_required);
        assert_eq!(ledger.admissions(state("GB"), state("FR")), 1);
    }

    let arrival_only = recorded([arrived.by("GB", day(0)), arrived.by("FR", day(0))]);
    let reconciliation = arrival_only.reconcile(day(5));
    assert_eq!(
        reconciliation
            .ledger(|_| true)
            .admissions(state("GB"), state("FR")),
        0,
        "the regime asks France to confirm the departure first"
    );
    let ledger = reconciliation.ledger(|case_ref| case_ref.as_str() != "ADM-GB-FR-19");
    assert_eq!(ledger.admissions(state("GB"), state("FR")), 1);
    assert_eq!(ledger.credit(state("GB"), state("FR")), 1);
    assert_eq!(reconciliation.matched()[0].pair, pair("GB", "FR"));
}
