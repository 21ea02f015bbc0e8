//! The verifier accepts what the solver proves and refuses tampered reports and certificates.

use super::super::{
    CapacityLimit, InputParts, Instruction, Mode, PairLimit, Settlement, SettlementInput,
    SettlementReport, VerifyError, verify,
};
use super::{parts, settle, state};

/// Asserts that a verification was refused with an error matching `$error` (a pattern, so a
/// function cannot take it), showing what it gave instead.
macro_rules! assert_refused {
    ($verified:expr, $error:pat) => {{
        let verified = $verified;
        assert!(matches!(verified, Err($error)), "{verified:?}");
    }};
}

/// GB owes IT and DE owes FR; with GB's direct pair capped at 4, 12 admissions are redirected.
fn crossed() -> InputParts {
    let mut input = parts(Mode::Multilateral, &[("GB", "IT", 10), ("DE", "FR", 10)]);
    input.candidates = vec![PairLimit {
        admitting: state("GB"),
        origin: state("IT"),
        count: 4,
    }];
    input
}

/// Verifies the settlement after `alter` has changed its report or its certificate.
fn verify_altered(
    input: &SettlementInput,
    settlement: &Settlement,
    alter: impl FnOnce(&mut Settlement),
) -> Result<(), VerifyError> {
    let mut altered = settlement.clone();
    alter(&mut altered);
    verify(input, &altered.report, &altered.certificate)
}

fn instruction(admitting: &str, origin: &str, count: u64) -> Instruction {
    Instruction {
        admitting: state(admitting),
        origin: state(origin),
        count,
    }
}

#[test]
fn a_report_settling_less_than_the_maximum_is_refused_by_the_cut() {
    let (input, settlement) = settle(crossed());
    let mut instructions = settlement.report.instructions.clone();
    instructions[0].count -= 1;
    let smaller = SettlementReport::from_instructions(&input, instructions);
    assert_refused!(
        verify(&input, &smaller, &settlement.certificate),
        VerifyError::Cut { settled: 19, .. }
    );
}

#[test]
fn a_maximal_report_redirecting_too_many_is_refused_whatever_its_certificate() {
    let (input, settlement) = settle(crossed());
    let wasteful_instructions = vec![instruction("DE", "IT", 10), instruction("GB", "FR", 10)];
    let wasteful = SettlementReport::from_instructions(&input, wasteful_instructions);
    assert_eq!((wasteful.settled, wasteful.redirected), (20, 20));
    assert_refused!(
        verify(&input, &wasteful, &settlement.certificate),
        VerifyError::ReducedCost { .. }
    );
    // No potentials at all can certify it: a negative residual cycle exists. Try a spread.
    for shift in -3i64..=3 {
        let mut certificate = settlement.certificate.clone();
        for potential in certificate.potentials.admitting.values_mut() {
            *potential += shift;
        }
        assert!(verify(&input, &wasteful, &certificate).is_err());
    }
}

#[test]
fn a_tampered_potential_is_refused() {
    let (input, settlement) = settle(crossed());
    for delta in [-1, 1] {
        let shifted = verify_altered(&input, &settlement, |altered| {
            *altered
                .certificate
                .potentials
                .admitting
                .get_mut(&state("GB"))
                .expect("GB has a potential") += delta;
        });
        assert_refused!(shifted, VerifyError::ReducedCost { .. });
    }
    let missing = verify_altered(&input, &settlement, |altered| {
        altered.certificate.potentials.origin.remove(&state("FR"));
    });
    assert_refused!(missing, VerifyError::MissingPotential { .. });
}

#[test]
fn a_tampered_cut_is_refused() {
    let mut capped = parts(Mode::Gross, &[("GB", "FR", 30), ("DE", "FR", 5)]);
    capped.capacity = vec![CapacityLimit {
        state: state("GB"),
        count: 10,
    }];
    let (input, settlement) = settle(capped);
    assert_eq!(settlement.report.settled, 15);
    let moved = verify_altered(&input, &settlement, |altered| {
        altered
            .certificate
            .source_side
            .admitting
            .insert(state("GB"));
    });
    assert_refused!(moved, VerifyError::Cut { .. });
    let unknown = verify_altered(&input, &settlement, |altered| {
        altered.certificate.source_side.origin.insert(state("IT"));
    });
    assert_refused!(unknown, VerifyError::UnknownState { .. });
}

#[test]
fn infeasible_or_misreported_instructions_are_refused() {
    let (input, settlement) = settle(crossed());
    let check = |instructions: Vec<Instruction>| {
        verify_altered(&input, &settlement, |altered| {
            altered.report.instructions = instructions
        })
    };
    let mut reversed = settlement.report.instructions.clone();
    reversed.reverse();
    assert_refused!(check(reversed), VerifyError::Order { index: 1 });
    assert_refused!(
        check(vec![instruction("GB", "IT", 0)]),
        VerifyError::ZeroCount { index: 0 }
    );
    assert_refused!(
        check(vec![instruction("IT", "GB", 1)]),
        VerifyError::PairNotAllowed { index: 0, .. }
    );
    assert_refused!(
        check(vec![instruction("GB", "IT", 5)]),
        VerifyError::PairBound {
            index: 0,
            count: 5,
            bound: 4
        }
    );
    assert_refused!(
        check(vec![
            instruction("GB", "FR", 10),
            instruction("GB", "IT", 1)
        ]),
        VerifyError::Admitted { .. }
    );
}

#[test]
fn a_figure_that_does_not_follow_from_the_instructions_is_refused() {
    let (input, settlement) = settle(crossed());
    assert_refused!(
        verify_altered(&input, &settlement, |altered| altered.report.redirected = 0),
        VerifyError::Figure {
            field: "redirected",
            ..
        }
    );
    assert_refused!(
        verify_altered(&input, &settlement, |altered| altered
            .report
            .netting_efficiency =
            0.25),
        VerifyError::Figure {
            field: "netting_efficiency",
            ..
        }
    );
    assert_refused!(
        verify_altered(&input, &settlement, |altered| altered.report.mode =
            Mode::Gross),
        VerifyError::Mode { .. }
    );
}
