//! The verifier accepts what the solver proves and refuses tampered reports and certificates.

use super::super::{
    CapacityLimit, InputParts, Instruction, Mode, PairLimit, SettlementReport, VerifyError, verify,
};
use super::{parts, settle, state};

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
    let refused = verify(&input, &smaller, &settlement.certificate);
    assert!(
        matches!(refused, Err(VerifyError::Cut { settled: 19, .. })),
        "{refused:?}"
    );
}

#[test]
fn a_maximal_report_redirecting_too_many_is_refused_whatever_its_certificate() {
    let (input, settlement) = settle(crossed());
    let wasteful_instructions = vec![instruction("DE", "IT", 10), instruction("GB", "FR", 10)];
    let wasteful = SettlementReport::from_instructions(&input, wasteful_instructions);
    assert_eq!((wasteful.settled, wasteful.redirected), (20, 20));
    let refused = verify(&input, &wasteful, &settlement.certificate);
    assert!(
        matches!(refused, Err(VerifyError::ReducedCost { .. })),
        "{refused:?}"
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
        let mut certificate = settlement.certificate.clone();
        *certificate
            .potentials
            .admitting
            .get_mut(&state("GB"))
            .expect("GB has a potential") += delta;
        let refused = verify(&input, &settlement.report, &certificate);
        assert!(
            matches!(refused, Err(VerifyError::ReducedCost { .. })),
            "{refused:?}"
        );
    }
    let mut missing = settlement.certificate.clone();
    missing.potentials.origin.remove(&state("FR"));
    let refused = verify(&input, &settlement.report, &missing);
    assert!(
        matches!(refused, Err(VerifyError::MissingPotential { .. })),
        "{refused:?}"
    );
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
    let mut certificate = settlement.certificate.clone();
    certificate.source_side.admitting.insert(state("GB"));
    let refused = verify(&input, &settlement.report, &certificate);
    assert!(
        matches!(refused, Err(VerifyError::Cut { .. })),
        "{refused:?}"
    );
    let mut unknown = settlement.certificate.clone();
    unknown.source_side.origin.insert(state("IT"));
    let refused = verify(&input, &settlement.report, &unknown);
    assert!(
        matches!(refused, Err(VerifyError::UnknownState { .. })),
        "{refused:?}"
    );
}

#[test]
fn infeasible_or_misreported_instructions_are_refused() {
    let (input, settlement) = settle(crossed());
    let check = |instructions: Vec<Instruction>| {
        let mut report = settlement.report.clone();
        report.instructions = instructions;
        verify(&input, &report, &settlement.certificate)
    };
    let mut reversed = settlement.report.instructions.clone();
    reversed.reverse();
    assert!(matches!(
        check(reversed),
        Err(VerifyError::Order { index: 1 })
    ));
    assert!(matches!(
        check(vec![instruction("GB", "IT", 0)]),
        Err(VerifyError::ZeroCount { index: 0 })
    ));
    assert!(matches!(
        check(vec![instruction("IT", "GB", 1)]),
        Err(VerifyError::PairNotAllowed { index: 0, .. })
    ));
    assert!(matches!(
        check(vec![instruction("GB", "IT", 5)]),
        Err(VerifyError::PairBound {
            index: 0,
            count: 5,
            bound: 4
        })
    ));
    assert!(matches!(
        check(vec![
            instruction("GB", "FR", 10),
            instruction("GB", "IT", 1)
        ]),
        Err(VerifyError::Admitted { .. })
    ));
}

#[test]
fn a_figure_that_does_not_follow_from_the_instructions_is_refused() {
    let (input, settlement) = settle(crossed());
    let mut wrong_redirected = settlement.report.clone();
    wrong_redirected.redirected = 0;
    let refused = verify(&input, &wrong_redirected, &settlement.certificate);
    assert!(
        matches!(
            refused,
            Err(VerifyError::Figure {
                field: "redirected",
                ..
            })
        ),
        "{refused:?}"
    );
    let mut wrong_efficiency = settlement.report.clone();
    wrong_efficiency.netting_efficiency = 0.25;
    let refused = verify(&input, &wrong_efficiency, &settlement.certificate);
    assert!(matches!(
        refused,
        Err(VerifyError::Figure {
            field: "netting_efficiency",
            ..
        })
    ));
    let mut wrong_mode = settlement.report.clone();
    wrong_mode.mode = Mode::Gross;
    assert!(matches!(
        verify(&input, &wrong_mode, &settlement.certificate),
        Err(VerifyError::Mode { .. })
    ));
}
