//! An independent reference: the settlement written straight from DESIGN.md §3 as two linear
//! programs (good_lp with microlp), using only the ledger — not the solver's model or flow.
//! The constraint matrix is totally unimodular, so the LP optima are the integer optima.

use good_lp::{Expression, ProblemVariables, Solution, SolverModel, Variable, microlp, variable};

use super::super::{Mode, SettlementInput};
use crate::StateCode;

struct PairVariable {
    admitting: StateCode,
    origin: StateCode,
    amount: Variable,
    redirected: bool,
}

/// The optimal settled total and, among the maxima, the minimal redirected count.
pub(super) fn optimum(input: &SettlementInput) -> (u64, u64) {
    let mut variables = ProblemVariables::new();
    let pairs = pair_variables(input, &mut variables);
    let total: Expression = pairs.iter().map(|pair| pair.amount).sum();
    let redirected: Expression = pairs
        .iter()
        .filter(|pair| pair.redirected)
        .map(|pair| pair.amount)
        .sum();
    let constraints = row_constraints(input, &pairs);
    let best_total = {
        let mut problem = variables.clone().maximise(total.clone()).using(microlp);
        for constraint in constraints.clone() {
            problem = problem.with(constraint);
        }
        problem
            .solve()
            .expect("the LP is feasible (x = 0)")
            .eval(total.clone())
    };
    let least_redirected = {
        let mut problem = variables.minimise(redirected.clone()).using(microlp);
        for constraint in constraints {
            problem = problem.with(constraint);
        }
        // A tolerance for the simplex's rounding only: any real slack would admit fractional
        // vertices that trade settled people for fewer redirected ones.
        problem = problem.with(total.geq(best_total - 1e-7));
        problem
            .solve()
            .expect("the maximum is attainable")
            .eval(redirected)
    };
    (round(best_total), round(least_redirected))
}

fn round(value: f64) -> u64 {
    value.round().max(0.0) as u64
}

/// One variable per ordered pair of distinct states, bounded per mode and by candidates.
fn pair_variables(input: &SettlementInput, variables: &mut ProblemVariables) -> Vec<PairVariable> {
    let ledger = input.ledger();
    let states: Vec<StateCode> = input.states().collect();
    let mut pairs = Vec::new();
    for &admitting in &states {
        for &origin in &states {
            if admitting == origin {
                continue;
            }
            let need = ledger.bilateral_need(admitting, origin);
            let mode_bound = match input.mode() {
                Mode::Gross => Some(ledger.debt(admitting, origin)),
                Mode::Bilateral => Some(need),
                Mode::Multilateral if need > 0 || input.is_consented(admitting, origin) => None,
                Mode::Multilateral => Some(0),
            };
            let bound = match (mode_bound, input.candidates(admitting, origin)) {
                (Some(bound), Some(limit)) => Some(bound.min(limit)),
                (bound, limit) => bound.or(limit),
            };
            let mut definition = variable().min(0);
            if let Some(bound) = bound {
                definition = definition.max(bound as f64);
            }
            pairs.push(PairVariable {
                admitting,
                origin,
                amount: variables.add(definition),
                redirected: input.mode() == Mode::Multilateral && need == 0,
            });
        }
    }
    pairs
}

/// Capacity per admitting state; in multilateral mode, positions bound both sides.
fn row_constraints(input: &SettlementInput, pairs: &[PairVariable]) -> Vec<good_lp::Constraint> {
    let positions = input.ledger().positions();
    let mut constraints = Vec::new();
    for state in input.states() {
        let admitted: Expression = pairs
            .iter()
            .filter(|pair| pair.admitting == state)
            .map(|pair| pair.amount)
            .sum();
        let released: Expression = pairs
            .iter()
            .filter(|pair| pair.origin == state)
            .map(|pair| pair.amount)
            .sum();
        if let Some(capacity) = input.capacity(state) {
            constraints.push(admitted.clone().leq(capacity as f64));
        }
        if input.mode() == Mode::Multilateral {
            let position = positions.get(&state).copied().unwrap_or(0);
            constraints.push(admitted.leq(position.max(0) as f64));
            constraints.push(released.leq((-position).max(0) as f64));
        }
    }
    constraints
}
