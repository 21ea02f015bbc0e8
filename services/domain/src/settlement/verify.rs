//! Checking a settlement report against its input and its certificate, without the solver.
//!
//! [`verify`] rebuilds the constraints from the input (`model`), then checks, in order:
//! the mode; every instruction (sorted, above zero, on an allowed pair, within the pair's
//! bound); every state's admissions within capacity and supply, and its releases within its
//! demand; every figure of the report, recomputed from the instructions; that the certificate's
//! cut has a capacity equal to the settled total (so the total is maximal); and that every
//! residual arc has a non-negative reduced cost under the certificate's potentials (so the
//! redirected count is minimal among maximal settlements). It never runs the flow engine.

use std::collections::BTreeMap;
use std::fmt;

use super::certificate::OptimalityCertificate;
use super::input::{Mode, SettlementInput, StateKey};
use super::model::Model;
use super::report::{Credit, Instruction, Residual, SettlementReport};

/// Why a report is not a feasible, optimal settlement of its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The report is for another mode.
    #[error("mode: the report is for {report} mode but the input is {input} mode")]
    Mode {
        /// The report's mode.
        report: Mode,
        /// The input's mode.
        input: Mode,
    },
    /// An instruction is not strictly after the previous one (admitting, then origin).
    #[error("instructions[{index}]: not sorted by admitting then origin state, or repeated")]
    Order {
        /// The instruction's index.
        index: usize,
    },
    /// An instruction of zero people.
    #[error("instructions[{index}]: count is 0; reports list only counts above 0")]
    ZeroCount {
        /// The instruction's index.
        index: usize,
    },
    /// An instruction on a pair that may not carry admissions in this mode.
    #[error("instructions[{index}]: {admitting} may not admit from {origin} in this mode")]
    PairNotAllowed {
        /// The instruction's index.
        index: usize,
        /// Its admitting state.
        admitting: String,
        /// Its origin state.
        origin: String,
    },
    /// An instruction above its pair's bound (debt, need or candidates).
    #[error("instructions[{index}]: count {count} is above the pair's bound of {bound}")]
    PairBound {
        /// The instruction's index.
        index: usize,
        /// Its count.
        count: u64,
        /// The pair's bound.
        bound: u64,
    },
    /// A state admits more than its capacity or its supply allows.
    #[error("{state}: admits {admitted}, above its bound of {bound} (capacity and supply)")]
    Admitted {
        /// The state.
        state: String,
        /// Its total admissions in the report.
        admitted: u64,
        /// Its bound.
        bound: u64,
    },
    /// More people leave a state than its demand allows.
    #[error("{state}: releases {released}, above its bound of {bound}")]
    Released {
        /// The state.
        state: String,
        /// Its total releases in the report.
        released: u64,
        /// Its bound.
        bound: u64,
    },
    /// A figure of the report differs from the one its instructions imply.
    #[error("{field}: the report says {found}, the instructions imply {expected}")]
    Figure {
        /// The field.
        field: &'static str,
        /// The recomputed value.
        expected: String,
        /// The report's value.
        found: String,
    },
    /// The certificate names a state the input does not.
    #[error("certificate: names {state}, which is not in the input")]
    UnknownState {
        /// The state.
        state: String,
    },
    /// The certificate's cut does not prove the settled total maximal.
    #[error("certificate.source_side: cut capacity {capacity} differs from settled {settled}")]
    Cut {
        /// The cut's capacity (`unbounded` if it crosses an arc without limit).
        capacity: String,
        /// The settled total.
        settled: u64,
    },
    /// A node of the network has no potential in the certificate.
    #[error("certificate.potentials: no potential for {node}")]
    MissingPotential {
        /// The node.
        node: String,
    },
    /// A residual arc with a negative reduced cost: fewer admissions could be redirected.
    #[error("certificate.potentials: residual arc {arc} has reduced cost {reduced_cost} < 0")]
    ReducedCost {
        /// The arc.
        arc: String,
        /// Its reduced cost.
        reduced_cost: i128,
    },
}

/// Checks that `report` is a feasible settlement of `input`, that its figures are right, and
/// that `certificate` proves it optimal (maximal settled, then minimal redirected).
pub fn verify<S: StateKey>(
    input: &SettlementInput<S>,
    report: &SettlementReport<S>,
    certificate: &OptimalityCertificate<S>,
) -> Result<(), Error> {
    if report.mode != input.mode() {
        return Err(Error::Mode {
            report: report.mode,
            input: input.mode(),
        });
    }
    let model = Model::new(input);
    let flows = check_instructions(&model, &report.instructions)?;
    check_state_totals(&model, &flows)?;
    check_figures(input, &model, report)?;
    check_cut(&model, certificate, report.settled)?;
    check_potentials(&model, &flows, certificate)
}

/// The flow of a report: per pair arc (by model index), and per state admitted and released.
struct Flows {
    on_arc: Vec<u64>,
    admitted: Vec<u64>,
    released: Vec<u64>,
}

fn check_instructions<S: StateKey>(
    model: &Model<S>,
    instructions: &[Instruction<S>],
) -> Result<Flows, Error> {
    let mut flows = Flows {
        on_arc: vec![0; model.arcs.len()],
        admitted: vec![0; model.states.len()],
        released: vec![0; model.states.len()],
    };
    for (index, instruction) in instructions.iter().enumerate() {
        let key = (instruction.admitting, instruction.origin);
        if index > 0 {
            let previous = &instructions[index - 1];
            if (previous.admitting, previous.origin) >= key {
                return Err(Error::Order { index });
            }
        }
        if instruction.count == 0 {
            return Err(Error::ZeroCount { index });
        }
        let not_allowed = || Error::PairNotAllowed {
            index,
            admitting: instruction.admitting.to_string(),
            origin: instruction.origin.to_string(),
        };
        let admitting = model
            .index_of(instruction.admitting)
            .ok_or_else(not_allowed)?;
        let origin = model.index_of(instruction.origin).ok_or_else(not_allowed)?;
        let arc_index = model
            .arcs
            .binary_search_by(|arc| (arc.admitting, arc.origin).cmp(&(admitting, origin)))
            .map_err(|_| not_allowed())?;
        let bound = model.arcs[arc_index].bound;
        if let Some(bound) = bound.filter(|bound| instruction.count > *bound) {
            return Err(Error::PairBound {
                index,
                count: instruction.count,
                bound,
            });
        }
        flows.on_arc[arc_index] = instruction.count;
        flows.admitted[admitting] = flows.admitted[admitting].saturating_add(instruction.count);
        flows.released[origin] = flows.released[origin].saturating_add(instruction.count);
    }
    Ok(flows)
}

fn check_state_totals<S: StateKey>(model: &Model<S>, flows: &Flows) -> Result<(), Error> {
    for (index, state) in model.states.iter().enumerate() {
        if flows.admitted[index] > model.admit_bound[index] {
            return Err(Error::Admitted {
                state: state.to_string(),
                admitted: flows.admitted[index],
                bound: model.admit_bound[index],
            });
        }
        if flows.released[index] > model.demand[index] {
            return Err(Error::Released {
                state: state.to_string(),
                released: flows.released[index],
                bound: model.demand[index],
            });
        }
    }
    Ok(())
}

fn check_figures<S: StateKey>(
    input: &SettlementInput<S>,
    model: &Model<S>,
    report: &SettlementReport<S>,
) -> Result<(), Error> {
    let expected = SettlementReport::from_model(input, model, report.instructions.clone());
    let figure = |field, expected: &dyn fmt::Debug, found: &dyn fmt::Debug| Error::Figure {
        field,
        expected: format!("{expected:?}"),
        found: format!("{found:?}"),
    };
    let totals = [
        ("settled", expected.settled, report.settled),
        ("redirected", expected.redirected, report.redirected),
        ("required", expected.required, report.required),
        (
            "required_gross",
            expected.required_gross,
            report.required_gross,
        ),
    ];
    for (field, expected, found) in totals {
        if expected != found {
            return Err(figure(field, &expected, &found));
        }
    }
    // Compared bit for bit: both sides compute the same IEEE 754 expression.
    if expected.netting_efficiency.to_bits() != report.netting_efficiency.to_bits() {
        let (expected, found) = (expected.netting_efficiency, report.netting_efficiency);
        return Err(figure("netting_efficiency", &expected, &found));
    }
    if expected.residual != report.residual {
        let describe = |residual: &BTreeMap<S, Residual>| -> Vec<String> {
            let entries = residual.iter();
            entries
                .map(|(state, left)| format!("{state}: {}/{}", left.to_admit, left.to_release))
                .collect()
        };
        let (expected, found) = (describe(&expected.residual), describe(&report.residual));
        let first_difference = expected
            .iter()
            .zip(&found)
            .find(|(expected, found)| expected != found)
            .map(|(expected, found)| (expected.clone(), found.clone()));
        let (expected, found) = first_difference.unwrap_or((
            format!("{} states", expected.len()),
            format!("{} states", found.len()),
        ));
        return Err(figure("residual", &expected, &found));
    }
    if expected.credits != report.credits {
        let describe = |credits: &[Credit<S>]| -> Vec<String> {
            let entries = credits.iter();
            entries
                .map(|credit| {
                    format!(
                        "{} with {}: {}",
                        credit.holder, credit.counterpart, credit.count
                    )
                })
                .collect()
        };
        let (expected, found) = (describe(&expected.credits), describe(&report.credits));
        return Err(figure("credits", &expected, &found));
    }
    if expected.carry_forward != report.carry_forward {
        let describe = |debts: &[super::CarriedDebt<S>]| -> Vec<String> {
            let entries = debts.iter();
            entries
                .map(|debt| format!("{} owes {}: {}", debt.admitting, debt.origin, debt.count))
                .collect()
        };
        let (expected, found) = (
            describe(&expected.carry_forward),
            describe(&report.carry_forward),
        );
        return Err(figure("carry_forward", &expected, &found));
    }
    Ok(())
}

/// The cut's capacity must equal the flow's value: weak duality then makes both optimal.
fn check_cut<S: StateKey>(
    model: &Model<S>,
    certificate: &OptimalityCertificate<S>,
    settled: u64,
) -> Result<(), Error> {
    let side = &certificate.source_side;
    for state in side.admitting.iter().chain(&side.origin) {
        if model.index_of(*state).is_none() {
            return Err(Error::UnknownState {
                state: state.to_string(),
            });
        }
    }
    let admitting_in = |index: usize| side.admitting.contains(&model.states[index]);
    let origin_in = |index: usize| side.origin.contains(&model.states[index]);
    let mut capacity: Option<u128> = Some(0);
    let mut add = |amount: Option<u64>| {
        capacity = capacity
            .zip(amount)
            .map(|(total, amount)| total + u128::from(amount));
    };
    for index in 0..model.states.len() {
        if !admitting_in(index) {
            add(Some(model.admit_bound[index]));
        }
        if origin_in(index) {
            add(Some(model.demand[index]));
        }
    }
    for arc in &model.arcs {
        if admitting_in(arc.admitting) && !origin_in(arc.origin) {
            add(arc.bound);
        }
    }
    if capacity != Some(u128::from(settled)) {
        return Err(Error::Cut {
            capacity: capacity.map_or("unbounded".to_owned(), |capacity| capacity.to_string()),
            settled,
        });
    }
    Ok(())
}

/// Every residual arc must have a non-negative reduced cost `c(u,v) + π(u) − π(v)`.
fn check_potentials<S: StateKey>(
    model: &Model<S>,
    flows: &Flows,
    certificate: &OptimalityCertificate<S>,
) -> Result<(), Error> {
    let potentials = &certificate.potentials;
    let potential = |map: &BTreeMap<S, i64>, state: S, role: &str| {
        map.get(&state)
            .map(|value| i128::from(*value))
            .ok_or_else(|| Error::MissingPotential {
                node: format!("{state} ({role})"),
            })
    };
    let source = i128::from(potentials.source);
    let sink = i128::from(potentials.sink);
    for (index, state) in model.states.iter().enumerate() {
        let admitting = || potential(&potentials.admitting, *state, "admitting");
        let origin = || potential(&potentials.origin, *state, "origin");
        let admit_arc = ArcState::new(model.admit_bound[index], flows.admitted[index]);
        if admit_arc.has_residual() {
            let name = || format!("source → {state} (admitting)");
            admit_arc.check(0, source, admitting()?, name)?;
        }
        let release_arc = ArcState::new(model.demand[index], flows.released[index]);
        if release_arc.has_residual() {
            let name = || format!("{state} (origin) → sink");
            release_arc.check(0, origin()?, sink, name)?;
        }
    }
    for (arc_index, arc) in model.arcs.iter().enumerate() {
        let flow = flows.on_arc[arc_index];
        let pair_arc = ArcState {
            room: arc.bound.is_none_or(|bound| flow < bound),
            flow,
        };
        if pair_arc.has_residual() {
            let admitting_state = model.states[arc.admitting];
            let origin_state = model.states[arc.origin];
            let tail = potential(&potentials.admitting, admitting_state, "admitting")?;
            let head = potential(&potentials.origin, origin_state, "origin")?;
            let name = || format!("{admitting_state} → {origin_state}");
            pair_arc.check(i128::from(arc.cost()), tail, head, name)?;
        }
    }
    Ok(())
}

/// One arc's flow: whether it has room left (a forward residual arc) and its flow (a
/// backward residual arc when above 0).
struct ArcState {
    room: bool,
    flow: u64,
}

impl ArcState {
    fn new(bound: u64, flow: u64) -> Self {
        Self {
            room: flow < bound,
            flow,
        }
    }

    fn has_residual(&self) -> bool {
        self.room || self.flow > 0
    }

    fn check(
        &self,
        cost: i128,
        tail: i128,
        head: i128,
        name: impl Fn() -> String,
    ) -> Result<(), Error> {
        let forward = cost + tail - head;
        if self.room && forward < 0 {
            return Err(Error::ReducedCost {
                arc: name(),
                reduced_cost: forward,
            });
        }
        if self.flow > 0 && -forward < 0 {
            return Err(Error::ReducedCost {
                arc: format!("{} (reverse)", name()),
                reduced_cost: -forward,
            });
        }
        Ok(())
    }
}
