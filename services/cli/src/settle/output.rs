//! The output of `accord settle` as JSON, and reading it back for `--verify`.
//!
//! The report's fields are exactly the settlement issue's, in its order: `mode`,
//! `instructions`, `settled`, `redirected`, `required`, `required_gross`,
//! `netting_efficiency`, `residual`, `credits`; then `carry_forward`, the residual as debts
//! per pair that a next round carries in (`[{"admitting": "GB", "origin": "FR", "count": 30}]`),
//! and the `certificate`:
//!
//! ```json
//! "certificate": {
//!   "potentials": {"source": 0, "sink": 1, "admitting": {"GB": 0}, "origin": {"FR": 1}},
//!   "source_side": {"admitting": ["GB"], "origin": []}
//! }
//! ```
//!
//! `potentials` gives π for every node of the settlement network (the source, the sink, and
//! each state's admitting and origin node); `source_side` lists the nodes on the source's side
//! of a minimum cut. `accord settle --verify REPORT` reads all of it back and checks it with
//! `accord_domain::settlement::verify`.

use std::collections::{BTreeMap, BTreeSet};

use accord_domain::StateCode;
use accord_domain::settlement::{
    CarriedDebt, Credit, Instruction, OptimalityCertificate, Potentials, Residual, Settlement,
    SettlementReport, SourceSide,
};
use serde::Serialize;

use super::input::read_mode;
use super::json::{self, Cursor};

/// The name of a report document in error paths.
pub const DOCUMENT: &str = "report";

#[derive(Serialize)]
struct ReportJson {
    mode: &'static str,
    instructions: Vec<InstructionJson>,
    settled: u64,
    redirected: u64,
    required: u64,
    required_gross: u64,
    netting_efficiency: f64,
    residual: BTreeMap<String, ResidualJson>,
    credits: Vec<CreditJson>,
    carry_forward: Vec<InstructionJson>,
    certificate: CertificateJson,
}

#[derive(Serialize)]
struct InstructionJson {
    admitting: String,
    origin: String,
    count: u64,
}

#[derive(Serialize)]
struct ResidualJson {
    to_admit: u64,
    to_release: u64,
}

#[derive(Serialize)]
struct CreditJson {
    holder: String,
    counterpart: String,
    count: u64,
}

#[derive(Serialize)]
struct CertificateJson {
    potentials: PotentialsJson,
    source_side: SourceSideJson,
}

#[derive(Serialize)]
struct PotentialsJson {
    source: i64,
    sink: i64,
    admitting: BTreeMap<String, i64>,
    origin: BTreeMap<String, i64>,
}

#[derive(Serialize)]
struct SourceSideJson {
    admitting: Vec<String>,
    origin: Vec<String>,
}

/// The settlement as a JSON document (pretty-printed, ending with a newline).
pub fn to_json(settlement: &Settlement) -> String {
    let report = &settlement.report;
    let certificate = &settlement.certificate;
    let codes = |states: &BTreeSet<StateCode>| states.iter().map(ToString::to_string).collect();
    let by_code = |values: &BTreeMap<StateCode, i64>| {
        values
            .iter()
            .map(|(state, value)| (state.to_string(), *value))
            .collect()
    };
    let document = ReportJson {
        mode: report.mode.as_str(),
        instructions: report
            .instructions
            .iter()
            .map(|instruction| InstructionJson {
                admitting: instruction.admitting.to_string(),
                origin: instruction.origin.to_string(),
                count: instruction.count,
            })
            .collect(),
        settled: report.settled,
        redirected: report.redirected,
        required: report.required,
        required_gross: report.required_gross,
        netting_efficiency: report.netting_efficiency,
        residual: report
            .residual
            .iter()
            .map(|(state, residual)| {
                let left = ResidualJson {
                    to_admit: residual.to_admit,
                    to_release: residual.to_release,
                };
                (state.to_string(), left)
            })
            .collect(),
        credits: report
            .credits
            .iter()
            .map(|credit| CreditJson {
                holder: credit.holder.to_string(),
                counterpart: credit.counterpart.to_string(),
                count: credit.count,
            })
            .collect(),
        carry_forward: report
            .carry_forward
            .iter()
            .map(|debt| InstructionJson {
                admitting: debt.admitting.to_string(),
                origin: debt.origin.to_string(),
                count: debt.count,
            })
            .collect(),
        certificate: CertificateJson {
            potentials: PotentialsJson {
                source: certificate.potentials.source,
                sink: certificate.potentials.sink,
                admitting: by_code(&certificate.potentials.admitting),
                origin: by_code(&certificate.potentials.origin),
            },
            source_side: SourceSideJson {
                admitting: codes(&certificate.source_side.admitting),
                origin: codes(&certificate.source_side.origin),
            },
        },
    };
    // Invariant: these structs hold only strings, integers, finite floats and string-keyed
    // maps, which serde_json always serialises.
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

const REPORT_FIELDS: &[&str] = &[
    "mode",
    "instructions",
    "settled",
    "redirected",
    "required",
    "required_gross",
    "netting_efficiency",
    "residual",
    "credits",
    "carry_forward",
    "certificate",
];

/// Reads a report document written by [`to_json`], certificate included.
pub fn parse_report(text: &str) -> Result<Settlement, json::Error> {
    let root = json::parse(DOCUMENT, text)?;
    let cursor = Cursor::root(&root, DOCUMENT);
    let fields = cursor.object(REPORT_FIELDS)?;
    let report = SettlementReport {
        mode: read_mode(&fields.required("mode")?)?,
        instructions: fields.required("instructions")?.list(read_instruction)?,
        settled: fields.required("settled")?.count()?,
        redirected: fields.required("redirected")?.count()?,
        required: fields.required("required")?.count()?,
        required_gross: fields.required("required_gross")?.count()?,
        netting_efficiency: fields.required("netting_efficiency")?.float()?,
        residual: read_residual(&fields.required("residual")?)?,
        credits: fields.required("credits")?.list(read_credit)?,
        carry_forward: fields.required("carry_forward")?.list(read_carried)?,
    };
    let certificate = read_certificate(&fields.required("certificate")?)?;
    Ok(Settlement {
        report,
        certificate,
    })
}

counted_pair_reader!(read_instruction, Instruction { admitting, origin });
counted_pair_reader!(read_carried, CarriedDebt { admitting, origin });
counted_pair_reader!(
    read_credit,
    Credit {
        holder,
        counterpart
    }
);

fn read_residual(cursor: &Cursor<'_>) -> Result<BTreeMap<StateCode, Residual>, json::Error> {
    let mut residual = BTreeMap::new();
    for entry in cursor.state_entries()? {
        let (state, value) = entry?;
        let fields = value.object(&["to_admit", "to_release"])?;
        let left = Residual {
            to_admit: fields.required("to_admit")?.count()?,
            to_release: fields.required("to_release")?.count()?,
        };
        residual.insert(state, left);
    }
    Ok(residual)
}

fn read_certificate(cursor: &Cursor<'_>) -> Result<OptimalityCertificate, json::Error> {
    let fields = cursor.object(&["potentials", "source_side"])?;
    let potentials_cursor = fields.required("potentials")?;
    let potentials = potentials_cursor.object(&["source", "sink", "admitting", "origin"])?;
    let side_cursor = fields.required("source_side")?;
    let side = side_cursor.object(&["admitting", "origin"])?;
    Ok(OptimalityCertificate {
        potentials: Potentials {
            source: potentials.required("source")?.integer()?,
            sink: potentials.required("sink")?.integer()?,
            admitting: read_potentials(&potentials.required("admitting")?)?,
            origin: read_potentials(&potentials.required("origin")?)?,
        },
        source_side: SourceSide {
            admitting: read_states(&side.required("admitting")?)?,
            origin: read_states(&side.required("origin")?)?,
        },
    })
}

fn read_potentials(cursor: &Cursor<'_>) -> Result<BTreeMap<StateCode, i64>, json::Error> {
    cursor
        .state_entries()?
        .map(|entry| {
            let (state, value) = entry?;
            Ok((state, value.integer()?))
        })
        .collect()
}

fn read_states(cursor: &Cursor<'_>) -> Result<BTreeSet<StateCode>, json::Error> {
    let mut states = BTreeSet::new();
    for entry in cursor.array()? {
        if !states.insert(entry.state()?) {
            return Err(entry.error("duplicated entry: the state appears twice"));
        }
    }
    Ok(states)
}
