//! The settlement engine: which admissions settle the one-for-one debts of a period
//! (DESIGN.md §3, "Settlement").
//!
//! Given the confirmed returns and admissions, the capacities, the candidate limits and the
//! consents ([`SettlementInput`]), [`solve`] produces admission instructions `x(A,O)` in one
//! of three netting modes ([`Mode`]):
//!
//! - `gross`: `x(A,O) ≤ d(A,O)`;
//! - `bilateral`: `x(A,O) ≤ max(0, d(A,O) − d(O,A))`;
//! - `multilateral`: net debtors admit from net creditors, `Σ_O x(A,O) ≤ p(A)` and
//!   `Σ_A x(A,O) ≤ −p(O)`; an admission on a pair without bilateral need is *redirected* and
//!   allowed only on consented pairs (every pair when no consent list is given).
//!
//! In every mode `Σ_O x(A,O) ≤ capacity(A)` and `x(A,O) ≤ candidates(A,O)`. Redirected
//! admissions exist only in multilateral mode: in the other modes every instruction
//! discharges the admitting state's own debt to the origin.
//!
//! The objective, in order: maximise the settled total `Σ x`; among the maxima, minimise the
//! redirected admissions; break remaining ties by the **canonical scan order**: the engine
//! reads every list in state-code order (admitting states, then each one's origins), so the
//! flow it keeps is the one its searches meet first in that order. The output is a function
//! of the input's content alone — reordering the input's lists never changes a byte.
//!
//! The problem is a minimum-cost maximum flow (`model` builds the network; `flow` solves it
//! by the primal–dual method with Dinic blocking flows, polynomial in the worst case and
//! never pushing one person at a time). The result carries an [`OptimalityCertificate`]
//! (potentials and a minimum cut) that [`verify()`] checks without the solver.
//!
//! This module does no I/O and knows no JSON: `accord settle` converts at its edge.

mod certificate;
mod flow;
mod input;
mod model;
pub mod novation;
mod report;
pub mod verify;

pub use certificate::{OptimalityCertificate, Potentials, SourceSide};
pub use input::{
    Admission, COUNT_MAX, CapacityLimit, CarriedDebt, Consent, ENTRIES_MAX, Error, InputParts,
    Location, Mode, PairLimit, Return, SettlementInput, StateKey,
};
pub use report::{Credit, Instruction, Residual, SettlementReport, netting_efficiency};
pub use verify::{Error as VerifyError, verify};

#[cfg(test)]
mod tests;

use certificate::Nodes;
use flow::{FlowNetwork, UNLIMITED};
use model::Model;

use crate::StateCode;

/// A solved settlement: the report and the certificate of its optimality.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement<S = StateCode> {
    /// The instructions and figures.
    pub report: SettlementReport<S>,
    /// Potentials and a minimum cut proving the report optimal.
    pub certificate: OptimalityCertificate<S>,
}

/// Settles `input`: the instructions that settle the most admissions, then redirect the
/// fewest, with the figures of the report and a certificate of optimality.
pub fn solve<S: StateKey>(input: &SettlementInput<S>) -> Settlement<S> {
    let model = Model::new(input);
    let nodes = Nodes {
        state_count: model.states.len(),
    };
    let mut network = FlowNetwork::new(nodes.count());
    // Pair arcs first, so that arc k of the solution is `model.arcs[k]`.
    for arc in &model.arcs {
        network.add_arc(
            nodes.admitting(arc.admitting),
            nodes.origin(arc.origin),
            arc.bound.unwrap_or(UNLIMITED),
            arc.cost(),
        );
    }
    for (index, bound) in model.admit_bound.iter().enumerate() {
        network.add_arc(Nodes::SOURCE, nodes.admitting(index), *bound, 0);
    }
    for (index, demand) in model.demand.iter().enumerate() {
        network.add_arc(nodes.origin(index), Nodes::SINK, *demand, 0);
    }
    let solution = network.solve(Nodes::SOURCE, Nodes::SINK);
    let instructions = model
        .arcs
        .iter()
        .zip(&solution.flow)
        .filter(|(_, flow)| **flow > 0)
        .map(|(arc, flow)| Instruction {
            admitting: model.states[arc.admitting],
            origin: model.states[arc.origin],
            count: *flow,
        })
        .collect();
    let report = SettlementReport::from_model(input, &model, instructions);
    let certificate = OptimalityCertificate::from_solution(&model, nodes, &solution);
    Settlement {
        report,
        certificate,
    }
}
