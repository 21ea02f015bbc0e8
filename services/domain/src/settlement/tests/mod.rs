//! Tests of the settlement engine: table-driven cases per mode, the shared vectors, property
//! tests against an LP reference, and the certificate's verifier.

mod certificate;
mod properties;
mod reference;
mod table;
mod vectors;

use super::{InputParts, Mode, Return, Settlement, SettlementInput, solve, verify};

pub(super) use crate::testing::state;

pub(super) fn returns(list: &[(&str, &str, u64)]) -> Vec<Return> {
    list.iter()
        .map(|(from, to, count)| Return {
            from: state(from),
            to: state(to),
            count: *count,
        })
        .collect()
}

pub(super) fn parts(mode: Mode, list: &[(&str, &str, u64)]) -> InputParts {
    InputParts::new(mode, returns(list))
}

/// Validates, solves, and checks the solver's own certificate.
pub(super) fn settle(parts: InputParts) -> (SettlementInput, Settlement) {
    let input = SettlementInput::new(parts).expect("test inputs are valid");
    let settlement = solve(&input);
    verify(&input, &settlement.report, &settlement.certificate)
        .expect("the solver's certificate verifies");
    (input, settlement)
}
