//! Agreements between pairs of states: how they are built, when they are in force, what they
//! cover, and when two of them overlap.

use accord_domain::membership::{Agreement, Error};
use accord_domain::parity::ParityLimit;
use accord_domain::{Regime, Timestamp};

use super::super::support::state;
use super::{agreement, day, offset};

fn check_new(
    a: &str,
    b: &str,
    regimes: &[Regime],
    from: Timestamp,
    sunset_at: Option<Timestamp>,
    expected: Result<(), Error>,
) {
    let outcome =
        Agreement::new(state(a), state(b), regimes.to_vec(), None, from, sunset_at).map(|_| ());
    assert_eq!(outcome, expected, "{a}-{b} {regimes:?} from {from}");
}

#[test]
fn an_agreement_binds_two_states_under_distinct_regimes_for_a_non_empty_period() {
    use Regime::*;
    check_new("GB", "FR", &[Ukfr2025], day(0), None, Ok(()));
    check_new(
        "GB",
        "FR",
        &[Ukfr2025],
        day(0),
        Some(offset(day(0), 1)),
        Ok(()),
    );
    check_new(
        "DE",
        "FR",
        &[DublinIii, Ammr2026],
        day(0),
        Some(day(300)),
        Ok(()),
    );
    check_new(
        "FR",
        "FR",
        &[Ukfr2025],
        day(0),
        None,
        Err(Error::SameState { state: state("FR") }),
    );
    check_new("GB", "FR", &[], day(0), None, Err(Error::NoRegimes));
    check_new(
        "DE",
        "FR",
        &[DublinIii, Ammr2026, DublinIii],
        day(0),
        None,
        Err(Error::RepeatedRegime { regime: DublinIii }),
    );
    check_new(
        "GB",
        "FR",
        &[Ukfr2025],
        day(5),
        Some(day(5)),
        Err(Error::SunsetNotAfterStart {
            effective_from: day(5),
            sunset_at: day(5),
        }),
    );
    check_new(
        "GB",
        "FR",
        &[Ukfr2025],
        day(5),
        Some(day(4)),
        Err(Error::SunsetNotAfterStart {
            effective_from: day(5),
            sunset_at: day(4),
        }),
    );
}

#[test]
fn the_pair_is_kept_in_alphabetical_order_whatever_order_it_is_given_in() {
    let regimes = vec![Regime::DublinIii, Regime::Eu1for1];
    let limit = Some(ParityLimit(25));
    let given_backwards = Agreement::new(
        state("GB"),
        state("FR"),
        regimes.clone(),
        limit,
        day(0),
        Some(day(90)),
    )
    .unwrap();
    let given_in_order = Agreement::new(
        state("FR"),
        state("GB"),
        regimes,
        limit,
        day(0),
        Some(day(90)),
    )
    .unwrap();
    assert_eq!(given_backwards, given_in_order);
    assert_eq!(given_backwards.pair(), (state("FR"), state("GB")));
    assert_eq!(
        given_backwards.regimes(),
        &[Regime::DublinIii, Regime::Eu1for1]
    );
    assert_eq!(given_backwards.parity_limit(), Some(ParityLimit(25)));
    assert_eq!(given_backwards.effective_from(), day(0));
    assert_eq!(given_backwards.sunset_at(), Some(day(90)));
}

#[test]
fn an_agreement_is_in_force_from_its_start_until_just_before_its_sunset() {
    let ending = agreement("GB", "FR", day(10), Some(day(40)));
    let open_ended = agreement("GB", "FR", day(10), None);
    #[rustfmt::skip]
    let table: &[(&Agreement, Timestamp, bool)] = &[
        (&ending, offset(day(10), -1), false),
        (&ending, day(10), true),
        (&ending, day(25), true),
        (&ending, offset(day(40), -1), true),
        (&ending, day(40), false),
        (&ending, day(400), false),
        (&open_ended, offset(day(10), -1), false),
        (&open_ended, day(10), true),
        (&open_ended, Timestamp::MAX, true),
    ];
    for (agreement, at, expected) in table {
        assert_eq!(
            agreement.in_force_at(*at),
            *expected,
            "{:?} at {at}",
            agreement.sunset_at()
        );
    }
}

#[test]
fn an_agreement_covers_its_regimes_and_names_each_states_partner() {
    let agreement = Agreement::new(
        state("GB"),
        state("FR"),
        vec![Regime::Ukfr2025, Regime::Eu1for1],
        None,
        day(0),
        None,
    )
    .unwrap();
    assert!(agreement.covers(Regime::Ukfr2025));
    assert!(agreement.covers(Regime::Eu1for1));
    assert!(!agreement.covers(Regime::DublinIii));
    assert!(agreement.involves(state("GB")));
    assert!(agreement.involves(state("FR")));
    assert!(!agreement.involves(state("DE")));
    assert_eq!(agreement.other(state("GB")), Some(state("FR")));
    assert_eq!(agreement.other(state("FR")), Some(state("GB")));
    assert_eq!(agreement.other(state("DE")), None);
}

#[test]
fn two_agreements_overlap_when_they_bind_the_same_pair_at_a_common_instant() {
    let base = agreement("GB", "FR", day(10), Some(day(40)));
    let open_ended = agreement("GB", "FR", day(10), None);
    #[rustfmt::skip]
    let table: &[(&str, &Agreement, Agreement, bool)] = &[
        ("the same period", &base, agreement("FR", "GB", day(10), Some(day(40))), true),
        ("inside it", &base, agreement("GB", "FR", day(20), Some(day(30))), true),
        ("around it", &base, agreement("GB", "FR", day(0), Some(day(50))), true),
        ("ending just after its start", &base, agreement("GB", "FR", day(0), Some(offset(day(10), 1))), true),
        ("starting just before its sunset", &base, agreement("GB", "FR", offset(day(40), -1), None), true),
        ("ending at its start", &base, agreement("GB", "FR", day(0), Some(day(10))), false),
        ("starting at its sunset", &base, agreement("GB", "FR", day(40), None), false),
        ("later", &base, agreement("GB", "FR", day(50), Some(day(60))), false),
        ("another pair, same period", &base, agreement("DE", "FR", day(10), Some(day(40))), false),
        ("open-ended, starting long after", &open_ended, agreement("GB", "FR", day(400), None), true),
        ("open-ended, ending at its start", &open_ended, agreement("GB", "FR", day(0), Some(day(10))), false),
    ];
    for (label, existing, other, expected) in table {
        assert_eq!(existing.overlaps(other), *expected, "{label}");
        assert_eq!(
            other.overlaps(existing),
            *expected,
            "{label}, the other way"
        );
    }
}
