//! Novation on the wire: what a final round's signed report leaves owed, read back (its
//! instructions with their deadlines, its carry-forward and the performances it found), and
//! the performances a new report carries.

use accord_domain::StateCode;
use accord_domain::settlement::CarriedDebt;
use accord_domain::settlement::novation::{OwedInstruction, Performance};
use accord_edge::wire::{from_wire_time, to_wire_time};
use accord_proto::v1 as pb;

/// What a final round's report leaves owed, read back from its signed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportObligations {
    /// What the round found of earlier instructions.
    pub performances: Vec<Performance>,
    /// Its own instructions, each owed in full.
    pub instructions: Vec<OwedInstruction>,
    /// Its carry-forward.
    pub carry_forward: Vec<CarriedDebt>,
}

/// Reads what `report` leaves owed; the error names the part that does not read (a report
/// the coordinator signed always reads).
pub fn obligations_of(report: &pb::SettlementReport) -> Result<ReportObligations, &'static str> {
    let state = |code: &str, what: &'static str| StateCode::parse(code).map_err(|_| what);
    let instructions = report
        .instructions
        .iter()
        .map(|wire| {
            Ok(OwedInstruction {
                round_id: report.round_id.clone(),
                admitting: state(&wire.admitting_state, "instructions")?,
                origin: state(&wire.origin_state, "instructions")?,
                owed: u64::from(wire.count),
                perform_by: wire
                    .perform_by
                    .as_ref()
                    .ok_or("instructions.perform_by")
                    .and_then(|time| from_wire_time(time).map_err(|_| "instructions.perform_by"))?,
            })
        })
        .collect::<Result<_, &'static str>>()?;
    let carry_forward = report
        .carry_forward
        .iter()
        .map(|wire| {
            Ok(CarriedDebt {
                admitting: state(&wire.first_state, "carry_forward")?,
                origin: state(&wire.second_state, "carry_forward")?,
                count: u64::from(wire.count),
            })
        })
        .collect::<Result<_, &'static str>>()?;
    let performances = report
        .inputs
        .iter()
        .flat_map(|inputs| &inputs.performances)
        .map(|wire| {
            let perform_by = wire
                .perform_by
                .as_ref()
                .ok_or("performances.perform_by")
                .and_then(|time| from_wire_time(time).map_err(|_| "performances.perform_by"))?;
            Ok(Performance {
                instruction: OwedInstruction {
                    round_id: wire.round_id.clone(),
                    admitting: state(&wire.admitting_state, "performances")?,
                    origin: state(&wire.origin_state, "performances")?,
                    owed: u64::from(wire.owed),
                    perform_by,
                },
                performed: u64::from(wire.performed).min(u64::from(wire.owed)),
                lapsed: wire.lapsed,
            })
        })
        .collect::<Result<_, &'static str>>()?;
    Ok(ReportObligations {
        performances,
        instructions,
        carry_forward,
    })
}

/// What a round found of earlier instructions, as its report's inputs carry it.
pub fn performances_to_wire(performances: &[Performance]) -> Vec<pb::InstructionPerformance> {
    let people = |count: u64| u32::try_from(count).unwrap_or(u32::MAX);
    performances
        .iter()
        .map(|found| pb::InstructionPerformance {
            round_id: found.instruction.round_id.clone(),
            admitting_state: found.instruction.admitting.to_string(),
            origin_state: found.instruction.origin.to_string(),
            owed: people(found.instruction.owed),
            performed: people(found.performed),
            perform_by: Some(to_wire_time(found.instruction.perform_by)),
            lapsed: found.lapsed,
        })
        .collect()
}
