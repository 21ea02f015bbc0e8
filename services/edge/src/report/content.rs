//! A report's content: written from a round's facts, its inputs and the engine's settlement
//! ([`build`]), and read back into the domain's terms ([`Content::read`]) so a verifier can
//! check it with `accord_domain::settlement::verify` and write it again to compare.
//!
//! Everything a report says is a function of the round's facts, its inputs and the
//! instructions with their certificate, and [`build`] is that function: the same arguments
//! give the same message, hence the same canonical bytes. Lists are sorted, inputs of zero
//! people dropped, and a consent list is always explicit in multilateral mode.

use std::collections::{BTreeMap, BTreeSet};

use accord_domain::settlement::{
    Admission, CapacityLimit, CarriedDebt, Consent, Credit, InputParts, Instruction, Mode,
    OptimalityCertificate, PairLimit, Potentials, Residual, Return, Settlement, SettlementInput,
    SettlementReport, SourceSide, netting_efficiency,
};
use accord_domain::{StateCode, Timestamp};
use accord_proto::v1 as pb;
use accord_trust::log::Hash;

use super::Error;
use crate::wire::{from_wire_time, to_wire_time};

/// What a round knows besides the engine's input: who, when, and from which log head.
/// Movements, breaks and performances come from the ledger and earlier rounds as they are
/// written on the wire; the report carries them signed, and recomputes none of them.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundFacts {
    /// The round's id, for example `RND-2025-W37-1`.
    pub round_id: String,
    /// The report's version within the round, from 1.
    pub version: u32,
    /// The period settled: its first instant.
    pub period_start: Timestamp,
    /// The period settled: the first instant after it.
    pub period_end: Timestamp,
    /// The origin of the log (its checkpoints' first line).
    pub log_origin: String,
    /// The log's size at the cut-off.
    pub tree_size: u64,
    /// The log's root hash at the cut-off.
    pub root_hash: Hash,
    /// The cut-off tree head's timestamp.
    pub tree_head_at: Timestamp,
    /// When the coordinator computed the report.
    pub computed_at: Timestamp,
    /// The deadline of every instruction, if the round sets one.
    pub perform_by: Option<Timestamp>,
    /// The counted confirmations behind the inputs.
    pub movements: Vec<pb::CountedMovement>,
    /// Breaks open at the cut-off, by kind and age.
    pub open_breaks: Vec<pb::BreakCount>,
    /// Earlier final rounds' instructions owed at the round's start, oldest first, and what
    /// the period's admissions performed of them.
    pub performances: Vec<pb::InstructionPerformance>,
}

/// A report read back: the round's facts, the engine's input, and what the report claims.
#[derive(Debug, Clone)]
pub(super) struct Content {
    pub facts: RoundFacts,
    pub parts: InputParts,
    pub claimed: SettlementReport,
    pub certificate: OptimalityCertificate,
}

/// `parts` in the canonical order a report lists them: sorted, without zero movements, and
/// in multilateral mode with an explicit consent list (every pair of its states when none).
pub(super) fn normalized(mut parts: InputParts) -> InputParts {
    parts.returns.retain(|entry| entry.count > 0);
    parts.returns.sort_by_key(|entry| (entry.from, entry.to));
    parts.admissions.retain(|entry| entry.count > 0);
    parts
        .admissions
        .sort_by_key(|entry| (entry.admitting, entry.origin));
    parts.carried.retain(|entry| entry.count > 0);
    parts
        .carried
        .sort_by_key(|entry| (entry.admitting, entry.origin));
    parts.capacity.sort_by_key(|entry| entry.state);
    parts
        .candidates
        .sort_by_key(|entry| (entry.admitting, entry.origin));
    if parts.mode == Mode::Multilateral && parts.consented.is_none() {
        let states: BTreeSet<StateCode> = parts
            .returns
            .iter()
            .flat_map(|entry| [entry.from, entry.to])
            .chain(
                parts
                    .admissions
                    .iter()
                    .flat_map(|entry| [entry.admitting, entry.origin]),
            )
            .collect();
        let every_pair = states.iter().flat_map(|admitting| {
            states
                .iter()
                .filter(move |origin| *origin != admitting)
                .map(move |origin| Consent {
                    admitting: *admitting,
                    origin: *origin,
                })
        });
        parts.consented = Some(every_pair.collect());
    }
    if let Some(consented) = parts.consented.as_mut() {
        consented.sort();
    }
    parts
}

/// The report of `settlement` on `parts` (normalized, validated as `input`) for the round.
pub(super) fn build(
    facts: &RoundFacts,
    parts: &InputParts,
    input: &SettlementInput,
    settlement: &Settlement,
) -> Result<pb::SettlementReport, Error> {
    let report = &settlement.report;
    let ledger = input.ledger();
    let figures = state_figures(input)?;
    let instructions = report
        .instructions
        .iter()
        .map(|instruction| {
            Ok(pb::AdmissionInstruction {
                admitting_state: instruction.admitting.to_string(),
                origin_state: instruction.origin.to_string(),
                count: count(instruction.count, "instructions.count")?,
                redirected: report.mode == Mode::Multilateral
                    && ledger.bilateral_need(instruction.admitting, instruction.origin) == 0,
                perform_by: facts.perform_by.map(to_wire_time),
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(pb::SettlementReport {
        round_id: facts.round_id.clone(),
        version: facts.version,
        period: Some(pb::TimeRange {
            start_time: Some(to_wire_time(facts.period_start)),
            end_time: Some(to_wire_time(facts.period_end)),
        }),
        mode: mode_to_wire(report.mode).into(),
        tree_head: Some(pb::TreeHead {
            tree_size: facts.tree_size,
            root_hash: facts.root_hash.as_bytes().to_vec(),
            timestamp: Some(to_wire_time(facts.tree_head_at)),
        }),
        inputs: Some(inputs_to_wire(parts, facts)?),
        instructions,
        settled: count(report.settled, "settled")?,
        redirected: count(report.redirected, "redirected")?,
        required: count(report.required, "required")?,
        required_gross: count(report.required_gross, "required_gross")?,
        residuals: report
            .residual
            .iter()
            .map(|(state, residual)| {
                Ok(pb::StateResidual {
                    state: state.to_string(),
                    to_admit: count(residual.to_admit, "residuals.to_admit")?,
                    to_release: count(residual.to_release, "residuals.to_release")?,
                })
            })
            .collect::<Result<_, Error>>()?,
        credits: report
            .credits
            .iter()
            .map(|credit| {
                Ok(pb::Credit {
                    holder_state: credit.holder.to_string(),
                    counterpart_state: credit.counterpart.to_string(),
                    count: count(credit.count, "credits.count")?,
                })
            })
            .collect::<Result<_, Error>>()?,
        carry_forward: pair_counts(&report.carry_forward, "carry_forward.count", |debt| {
            (debt.admitting, debt.origin, debt.count)
        })?,
        affected_states: figures.iter().map(|figure| figure.state.clone()).collect(),
        computed_at: Some(to_wire_time(facts.computed_at)),
        netting_efficiency_numerator: count(
            report.required_gross.saturating_sub(report.required),
            "netting_efficiency_numerator",
        )?,
        netting_efficiency_denominator: count(
            report.required_gross.max(1),
            "netting_efficiency_denominator",
        )?,
        certificate: Some(certificate_to_wire(&settlement.certificate)),
        state_figures: figures,
        open_breaks: facts.open_breaks.clone(),
        log_origin: facts.log_origin.clone(),
    })
}

/// Every state with a non-zero figure, in order.
fn state_figures(input: &SettlementInput) -> Result<Vec<pb::StateFigures>, Error> {
    let ledger = input.ledger();
    let states: Vec<StateCode> = ledger.states().collect();
    let positions = ledger.positions();
    let mut figures = Vec::new();
    for state in &states {
        let (mut returned, mut received, mut admitted, mut released) = (0u64, 0u64, 0u64, 0u64);
        let (mut debts, mut credits, mut carried_in) = (0u64, 0u64, 0u64);
        for other in states.iter().filter(|other| *other != state) {
            returned += ledger.returns(*state, *other);
            received += ledger.returns(*other, *state);
            admitted += ledger.admissions(*state, *other);
            released += ledger.admissions(*other, *state);
            debts += ledger.debt(*state, *other);
            credits += ledger.credit(*state, *other);
            carried_in += ledger.carried(*state, *other);
        }
        let position = positions.get(state).copied().unwrap_or(0);
        let people = [
            returned, received, admitted, released, debts, credits, carried_in,
        ];
        if people == [0; 7] && position == 0 {
            continue;
        }
        figures.push(pb::StateFigures {
            state: state.to_string(),
            returned: count(returned, "state_figures.returned")?,
            received: count(received, "state_figures.received")?,
            admitted: count(admitted, "state_figures.admitted")?,
            released: count(released, "state_figures.released")?,
            debts: count(debts, "state_figures.debts")?,
            credits: count(credits, "state_figures.credits")?,
            position,
            carried_in: count(carried_in, "state_figures.carried_in")?,
        });
    }
    Ok(figures)
}

fn inputs_to_wire(parts: &InputParts, facts: &RoundFacts) -> Result<pb::SettlementInputs, Error> {
    Ok(pb::SettlementInputs {
        returns: pair_counts(&parts.returns, "inputs.returns", |entry| {
            (entry.from, entry.to, entry.count)
        })?,
        admissions: pair_counts(&parts.admissions, "inputs.admissions", |entry| {
            (entry.admitting, entry.origin, entry.count)
        })?,
        capacities: parts
            .capacity
            .iter()
            .map(|entry| {
                Ok(pb::CapacityLimit {
                    state: entry.state.to_string(),
                    capacity: count(entry.count, "inputs.capacities")?,
                })
            })
            .collect::<Result<_, Error>>()?,
        candidates: pair_counts(&parts.candidates, "inputs.candidates", |entry| {
            (entry.admitting, entry.origin, entry.count)
        })?,
        consented: parts
            .consented
            .iter()
            .flatten()
            .map(|consent| pb::RedirectPair {
                admitting_state: consent.admitting.to_string(),
                origin_state: consent.origin.to_string(),
            })
            .collect(),
        movements: facts.movements.clone(),
        carried_in: pair_counts(&parts.carried, "inputs.carried_in", |entry| {
            (entry.admitting, entry.origin, entry.count)
        })?,
        performances: facts.performances.clone(),
    })
}

/// `entries` on the wire: each as the two states and the number of people `split` finds in
/// it, a number too large for the wire refused as `field`.
fn pair_counts<T>(
    entries: &[T],
    field: &'static str,
    split: impl Fn(&T) -> (StateCode, StateCode, u64),
) -> Result<Vec<pb::PairCount>, Error> {
    entries
        .iter()
        .map(|entry| {
            let (first, second, people) = split(entry);
            Ok(pb::PairCount {
                first_state: first.to_string(),
                second_state: second.to_string(),
                count: count(people, field)?,
            })
        })
        .collect()
}

fn certificate_to_wire(certificate: &OptimalityCertificate) -> pb::OptimalityCertificate {
    let potentials = &certificate.potentials;
    let states: BTreeSet<StateCode> = potentials
        .admitting
        .keys()
        .chain(potentials.origin.keys())
        .copied()
        .collect();
    pb::OptimalityCertificate {
        source_potential: potentials.source,
        sink_potential: potentials.sink,
        potentials: states
            .iter()
            .map(|state| pb::StatePotentials {
                state: state.to_string(),
                admitting: potentials.admitting.get(state).copied().unwrap_or(0),
                origin: potentials.origin.get(state).copied().unwrap_or(0),
            })
            .collect(),
        cut_admitting_states: names(&certificate.source_side.admitting),
        cut_origin_states: names(&certificate.source_side.origin),
    }
}

fn names(states: &BTreeSet<StateCode>) -> Vec<String> {
    states.iter().map(StateCode::to_string).collect()
}

fn count(people: u64, field: &'static str) -> Result<u32, Error> {
    u32::try_from(people).map_err(|_| Error::CountTooLarge(field))
}

fn mode_to_wire(mode: Mode) -> pb::NettingMode {
    match mode {
        Mode::Gross => pb::NettingMode::Gross,
        Mode::Bilateral => pb::NettingMode::Bilateral,
        Mode::Multilateral => pb::NettingMode::Multilateral,
    }
}

impl Content {
    /// Reads `report` into the domain's terms, refusing a field that names no state, no
    /// mode or no time. Says nothing yet of whether the figures are right.
    pub(super) fn read(report: &pb::SettlementReport) -> Result<Self, Error> {
        let mode = match pb::NettingMode::try_from(report.mode) {
            Ok(pb::NettingMode::Gross) => Mode::Gross,
            Ok(pb::NettingMode::Bilateral) => Mode::Bilateral,
            Ok(pb::NettingMode::Multilateral) => Mode::Multilateral,
            _ => return Err(malformed("mode", "not a netting mode")),
        };
        let inputs = report
            .inputs
            .as_ref()
            .ok_or_else(|| malformed("inputs", "missing"))?;
        let parts = parts_from_wire(mode, inputs)?;
        let instructions = report
            .instructions
            .iter()
            .map(|wire| {
                Ok(Instruction {
                    admitting: state(&wire.admitting_state, "instructions.admitting_state")?,
                    origin: state(&wire.origin_state, "instructions.origin_state")?,
                    count: u64::from(wire.count),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let claimed = SettlementReport {
            mode,
            instructions,
            settled: report.settled.into(),
            redirected: report.redirected.into(),
            required: report.required.into(),
            required_gross: report.required_gross.into(),
            // The exact ratio is compared when the report is written again.
            netting_efficiency: netting_efficiency(
                report.required.into(),
                report.required_gross.into(),
            ),
            residual: residuals_from_wire(&report.residuals)?,
            credits: report
                .credits
                .iter()
                .map(|wire| {
                    Ok(Credit {
                        holder: state(&wire.holder_state, "credits.holder_state")?,
                        counterpart: state(&wire.counterpart_state, "credits.counterpart_state")?,
                        count: wire.count.into(),
                    })
                })
                .collect::<Result<_, Error>>()?,
            carry_forward: report
                .carry_forward
                .iter()
                .map(|wire| {
                    Ok(CarriedDebt {
                        admitting: state(&wire.first_state, "carry_forward.first_state")?,
                        origin: state(&wire.second_state, "carry_forward.second_state")?,
                        count: wire.count.into(),
                    })
                })
                .collect::<Result<_, Error>>()?,
        };
        let certificate = report
            .certificate
            .as_ref()
            .ok_or_else(|| malformed("certificate", "missing"))?;
        Ok(Self {
            facts: facts_from_wire(report, inputs)?,
            parts,
            claimed,
            certificate: certificate_from_wire(certificate)?,
        })
    }
}

fn facts_from_wire(
    report: &pb::SettlementReport,
    inputs: &pb::SettlementInputs,
) -> Result<RoundFacts, Error> {
    let period = report
        .period
        .as_ref()
        .ok_or_else(|| malformed("period", "missing"))?;
    let tree_head = report
        .tree_head
        .as_ref()
        .ok_or_else(|| malformed("tree_head", "missing"))?;
    let perform_by = report
        .instructions
        .first()
        .and_then(|instruction| instruction.perform_by.as_ref())
        .map(|time| wire_time(Some(time), "instructions.perform_by"))
        .transpose()?;
    Ok(RoundFacts {
        round_id: report.round_id.clone(),
        version: report.version,
        period_start: wire_time(period.start_time.as_ref(), "period.start_time")?,
        period_end: wire_time(period.end_time.as_ref(), "period.end_time")?,
        log_origin: report.log_origin.clone(),
        tree_size: tree_head.tree_size,
        root_hash: Hash::from_slice(&tree_head.root_hash)
            .map_err(|_| malformed("tree_head.root_hash", "not 32 bytes"))?,
        tree_head_at: wire_time(tree_head.timestamp.as_ref(), "tree_head.timestamp")?,
        computed_at: wire_time(report.computed_at.as_ref(), "computed_at")?,
        perform_by,
        movements: inputs.movements.clone(),
        open_breaks: report.open_breaks.clone(),
        performances: inputs.performances.clone(),
    })
}

fn parts_from_wire(mode: Mode, inputs: &pb::SettlementInputs) -> Result<InputParts, Error> {
    let returns = pairs_from_wire(&inputs.returns, "inputs.returns", |from, to, count| {
        Return { from, to, count }
    })?;
    let admissions = pairs_from_wire(
        &inputs.admissions,
        "inputs.admissions",
        |admitting, origin, count| Admission {
            admitting,
            origin,
            count,
        },
    )?;
    let carried = pairs_from_wire(
        &inputs.carried_in,
        "inputs.carried_in",
        |admitting, origin, count| CarriedDebt {
            admitting,
            origin,
            count,
        },
    )?;
    let candidates = pairs_from_wire(
        &inputs.candidates,
        "inputs.candidates",
        |admitting, origin, count| PairLimit {
            admitting,
            origin,
            count,
        },
    )?;
    let consented = inputs
        .consented
        .iter()
        .map(|wire| {
            Ok(Consent {
                admitting: state(&wire.admitting_state, "inputs.consented")?,
                origin: state(&wire.origin_state, "inputs.consented")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(InputParts {
        mode,
        returns,
        admissions,
        carried,
        capacity: inputs
            .capacities
            .iter()
            .map(|wire| {
                Ok(CapacityLimit {
                    state: state(&wire.state, "inputs.capacities.state")?,
                    count: wire.capacity.into(),
                })
            })
            .collect::<Result<_, Error>>()?,
        candidates,
        // Consent is explicit in multilateral mode: no list, no redirected admission.
        consented: (mode == Mode::Multilateral || !consented.is_empty()).then_some(consented),
    })
}

/// `list` read back, each entry's two states (a bad one refused as `field`) and its number of
/// people made into a `T` by `make`.
fn pairs_from_wire<T>(
    list: &[pb::PairCount],
    field: &'static str,
    make: impl Fn(StateCode, StateCode, u64) -> T,
) -> Result<Vec<T>, Error> {
    list.iter()
        .map(|wire| {
            Ok(make(
                state(&wire.first_state, field)?,
                state(&wire.second_state, field)?,
                u64::from(wire.count),
            ))
        })
        .collect()
}

fn residuals_from_wire(
    residuals: &[pb::StateResidual],
) -> Result<BTreeMap<StateCode, Residual>, Error> {
    let mut map = BTreeMap::new();
    for wire in residuals {
        let residual = Residual {
            to_admit: wire.to_admit.into(),
            to_release: wire.to_release.into(),
        };
        if map
            .insert(state(&wire.state, "residuals.state")?, residual)
            .is_some()
        {
            return Err(malformed("residuals", "a state listed twice"));
        }
    }
    Ok(map)
}

fn certificate_from_wire(wire: &pb::OptimalityCertificate) -> Result<OptimalityCertificate, Error> {
    let mut admitting = BTreeMap::new();
    let mut origin = BTreeMap::new();
    for potentials in &wire.potentials {
        let code = state(&potentials.state, "certificate.potentials.state")?;
        if admitting.insert(code, potentials.admitting).is_some() {
            return Err(malformed("certificate.potentials", "a state listed twice"));
        }
        origin.insert(code, potentials.origin);
    }
    let side = |list: &[String], field: &'static str| {
        list.iter()
            .map(|text| state(text, field))
            .collect::<Result<BTreeSet<_>, Error>>()
    };
    Ok(OptimalityCertificate {
        potentials: Potentials {
            source: wire.source_potential,
            sink: wire.sink_potential,
            admitting,
            origin,
        },
        source_side: SourceSide {
            admitting: side(
                &wire.cut_admitting_states,
                "certificate.cut_admitting_states",
            )?,
            origin: side(&wire.cut_origin_states, "certificate.cut_origin_states")?,
        },
    })
}

fn state(text: &str, field: &'static str) -> Result<StateCode, Error> {
    StateCode::parse(text).map_err(|_| malformed(field, "not a state code"))
}

fn wire_time(
    time: Option<&prost_types::Timestamp>,
    field: &'static str,
) -> Result<Timestamp, Error> {
    let time = time.ok_or_else(|| malformed(field, "missing"))?;
    from_wire_time(time).map_err(|_| malformed(field, "not a valid time"))
}

fn malformed(field: &'static str, reason: &'static str) -> Error {
    Error::Malformed { field, reason }
}

/// The first top-level field where `found` differs from `expected`, by its proto name.
pub(super) fn first_difference(
    expected: &pb::SettlementReport,
    found: &pb::SettlementReport,
) -> Option<&'static str> {
    let fields: [(&'static str, bool); 23] = [
        ("round_id", expected.round_id == found.round_id),
        ("version", expected.version == found.version),
        ("period", expected.period == found.period),
        ("mode", expected.mode == found.mode),
        ("tree_head", expected.tree_head == found.tree_head),
        ("inputs", expected.inputs == found.inputs),
        ("instructions", expected.instructions == found.instructions),
        ("settled", expected.settled == found.settled),
        ("redirected", expected.redirected == found.redirected),
        ("required", expected.required == found.required),
        (
            "required_gross",
            expected.required_gross == found.required_gross,
        ),
        ("residuals", expected.residuals == found.residuals),
        ("credits", expected.credits == found.credits),
        (
            "carry_forward",
            expected.carry_forward == found.carry_forward,
        ),
        (
            "affected_states",
            expected.affected_states == found.affected_states,
        ),
        ("computed_at", expected.computed_at == found.computed_at),
        (
            "netting_efficiency_numerator",
            expected.netting_efficiency_numerator == found.netting_efficiency_numerator,
        ),
        (
            "netting_efficiency_denominator",
            expected.netting_efficiency_denominator == found.netting_efficiency_denominator,
        ),
        ("certificate", expected.certificate == found.certificate),
        (
            "state_figures",
            expected.state_figures == found.state_figures,
        ),
        ("open_breaks", expected.open_breaks == found.open_breaks),
        ("log_origin", expected.log_origin == found.log_origin),
        ("(whole report)", expected == found),
    ];
    fields
        .into_iter()
        .find(|(_, same)| !same)
        .map(|(field, _)| field)
}
