//! The proof that a settlement is optimal, checkable without the solver.
//!
//! A settlement is a flow in the network of `model` (source → admitting(A) → origin(O) →
//! sink). Its optimality has two witnesses, both given per network node:
//!
//! - a **minimum cut**: the nodes on the source's side ([`SourceSide`]; the source is always
//!   on it, the sink never). Every flow is at most the capacity of every cut, so a cut whose
//!   capacity equals the settled total proves that nothing more could be settled;
//! - **node potentials** `π` ([`Potentials`]): for every residual arc `u → v` of the flow
//!   (an arc with room left, or the reverse of an arc carrying flow) the reduced cost
//!   `c(u,v) + π(u) − π(v)` is at least 0, where `c` is 1 on a redirected pair and 0 elsewhere
//!   (−c on a reverse arc). Then no cycle of the residual network has negative cost, so no
//!   settlement of the same total redirects fewer admissions.
//!
//! `verify` checks both, with the feasibility of every instruction and every figure. This
//! module only holds the certificate and reads it out of a solved flow.

use std::collections::{BTreeMap, BTreeSet};

use super::flow::Solution;
use super::model::Model;
use crate::StateCode;

/// Node potentials of the settlement network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Potentials<S = StateCode> {
    /// π of the source.
    pub source: i64,
    /// π of the sink.
    pub sink: i64,
    /// π of each state's admitting node.
    pub admitting: BTreeMap<S, i64>,
    /// π of each state's origin node.
    pub origin: BTreeMap<S, i64>,
}

/// The nodes on the source's side of a minimum cut (besides the source itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceSide<S = StateCode> {
    /// States whose admitting node is on the source's side.
    pub admitting: BTreeSet<S>,
    /// States whose origin node is on the source's side.
    pub origin: BTreeSet<S>,
}

/// Why a settlement is optimal: potentials and a minimum cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptimalityCertificate<S = StateCode> {
    /// Potentials under which every residual arc has a non-negative reduced cost.
    pub potentials: Potentials<S>,
    /// A cut whose capacity equals the settled total.
    pub source_side: SourceSide<S>,
}

/// Node numbers of the settlement network, shared by the solver and the certificate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Nodes {
    /// How many states the network has.
    pub state_count: usize,
}

impl Nodes {
    /// The source.
    pub const SOURCE: usize = 0;
    /// The sink.
    pub const SINK: usize = 1;

    /// How many nodes the network has.
    pub fn count(self) -> usize {
        2 + 2 * self.state_count
    }

    /// The admitting node of state `index`.
    pub fn admitting(self, index: usize) -> usize {
        2 + index
    }

    /// The origin node of state `index`.
    pub fn origin(self, index: usize) -> usize {
        2 + self.state_count + index
    }
}

impl<S: Copy + Ord> OptimalityCertificate<S> {
    /// Reads the certificate out of a solved flow on `model`'s network.
    pub(crate) fn from_solution(model: &Model<S>, nodes: Nodes, solution: &Solution) -> Self {
        let per_state = |node: fn(Nodes, usize) -> usize| -> BTreeMap<S, i64> {
            model
                .states
                .iter()
                .enumerate()
                .map(|(index, state)| (*state, solution.potential[node(nodes, index)]))
                .collect()
        };
        let on_source_side = |node: fn(Nodes, usize) -> usize| -> BTreeSet<S> {
            model
                .states
                .iter()
                .enumerate()
                .filter(|(index, _)| solution.source_side[node(nodes, *index)])
                .map(|(_, state)| *state)
                .collect()
        };
        Self {
            potentials: Potentials {
                source: solution.potential[Nodes::SOURCE],
                sink: solution.potential[Nodes::SINK],
                admitting: per_state(Nodes::admitting),
                origin: per_state(Nodes::origin),
            },
            source_side: SourceSide {
                admitting: on_source_side(Nodes::admitting),
                origin: on_source_side(Nodes::origin),
            },
        }
    }
}
