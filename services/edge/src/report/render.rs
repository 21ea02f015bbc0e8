//! A report rendered for people and their tools (`GetRoundReport`'s `REPORT_FORMAT_JSON` and
//! `REPORT_FORMAT_CSV`): what a diplomat reads and a spreadsheet opens. Neither is what
//! anyone verifies — that is the signed report and its bundle — so both are written from the
//! report as it stands, deterministically (the same report, the same bytes).
//!
//! JSON: one object with the round, its period and mode, the tree head, the totals and the
//! netting efficiency (exact, and as a decimal for reading), then per state its figures, the
//! instructions, residuals, credits, the carry-forward, what the round found of earlier
//! instructions, the open breaks and the signatures (state, key, time; the signatures' bytes
//! stay in the signed report). Times are RFC 3339 UTC, people are integers, states ISO codes.
//!
//! CSV: RFC 4180 text, one table after another, each under a `# name` line with its own header:
//! `instructions`, `state_figures`, `residuals`, `credits`, `carry_forward`.

use std::fmt::Write as _;

use accord_proto::v1 as pb;
use serde_json::{Value, json};

use crate::wire::from_wire_time;

/// The JSON rendering of `signed` (pretty-printed, ending with a newline).
pub fn json(signed: &pb::SignedSettlementReport) -> Vec<u8> {
    let report = signed.report.clone().unwrap_or_default();
    let pair = |first: &str, second: &str, count: u32| json!([first, second, count]);
    let inputs = report.inputs.clone().unwrap_or_default();
    let document = json!({
        "round_id": report.round_id,
        "version": report.version,
        "period": {
            "start": time(report.period.as_ref().and_then(|period| period.start_time.as_ref())),
            "end": time(report.period.as_ref().and_then(|period| period.end_time.as_ref())),
        },
        "mode": mode(report.mode),
        "computed_at": time(report.computed_at.as_ref()),
        "log": {
            "origin": report.log_origin,
            "tree_size": report.tree_head.as_ref().map_or(0, |head| head.tree_size),
            "root_hash": report.tree_head.as_ref().map(|head| hex::encode(&head.root_hash)),
        },
        "settled": report.settled,
        "redirected": report.redirected,
        "required": report.required,
        "required_gross": report.required_gross,
        "netting_efficiency": {
            "numerator": report.netting_efficiency_numerator,
            "denominator": report.netting_efficiency_denominator,
            "decimal": decimal(
                report.netting_efficiency_numerator,
                report.netting_efficiency_denominator,
            ),
        },
        "state_figures": objects(STATE_FIGURES, &report.state_figures),
        "instructions": objects(INSTRUCTIONS, &report.instructions),
        "residuals": objects(RESIDUALS, &report.residuals),
        "credits": objects(CREDITS, &report.credits),
        "carried_in": inputs.carried_in.iter()
            .map(|debt| pair(&debt.first_state, &debt.second_state, debt.count))
            .collect::<Vec<_>>(),
        "carry_forward": report.carry_forward.iter()
            .map(|debt| pair(&debt.first_state, &debt.second_state, debt.count))
            .collect::<Vec<_>>(),
        "performances": inputs.performances.iter().map(|found| json!({
            "round_id": found.round_id,
            "admitting": found.admitting_state,
            "origin": found.origin_state,
            "owed": found.owed,
            "performed": found.performed,
            "perform_by": time(found.perform_by.as_ref()),
            "lapsed": found.lapsed,
        })).collect::<Vec<_>>(),
        "counted_movements": inputs.movements.len(),
        "open_breaks": report.open_breaks.iter().map(|count| json!({
            "kind": break_kind(count.kind),
            "age": age_bucket(count.age_bucket),
            "count": count.count,
        })).collect::<Vec<_>>(),
        "affected_states": report.affected_states,
        "signatures": {
            "coordinator": signed.signature.as_ref().map(|signature| json!({
                "key_id": signature.signing_key_id,
            })),
            "countersignatures": signed.countersignatures.iter().map(|signature| json!({
                "state": signature.state,
                "key_id": signature.signing_key_id,
                "signed_at": time(signature.signed_at.as_ref()),
            })).collect::<Vec<_>>(),
        },
        "report_digest": hex::encode(&signed.report_digest),
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text.into_bytes()
}

/// The CSV rendering of `report`: its tables one after another.
pub fn csv(report: &pb::SettlementReport) -> Vec<u8> {
    let mut text = String::new();
    table(
        &mut text,
        "instructions",
        INSTRUCTIONS,
        &report.instructions,
    );
    table(
        &mut text,
        "state_figures",
        STATE_FIGURES,
        &report.state_figures,
    );
    table(&mut text, "residuals", RESIDUALS, &report.residuals);
    table(&mut text, "credits", CREDITS, &report.credits);
    table(
        &mut text,
        "carry_forward",
        CARRY_FORWARD,
        &report.carry_forward,
    );
    text.into_bytes()
}

/// The columns of a list of records, in order, each a name and the record's value there: the
/// keys of each record's JSON object, and the header and cells of its CSV table.
type Columns<T> = &'static [(&'static str, fn(&T) -> Value)];

const INSTRUCTIONS: Columns<pb::AdmissionInstruction> = &[
    ("admitting", |instruction| {
        json!(instruction.admitting_state)
    }),
    ("origin", |instruction| json!(instruction.origin_state)),
    ("count", |instruction| json!(instruction.count)),
    ("redirected", |instruction| json!(instruction.redirected)),
    ("perform_by", |instruction| {
        time(instruction.perform_by.as_ref())
    }),
];

const STATE_FIGURES: Columns<pb::StateFigures> = &[
    ("state", |figures| json!(figures.state)),
    ("returned", |figures| json!(figures.returned)),
    ("received", |figures| json!(figures.received)),
    ("admitted", |figures| json!(figures.admitted)),
    ("released", |figures| json!(figures.released)),
    ("carried_in", |figures| json!(figures.carried_in)),
    ("debts", |figures| json!(figures.debts)),
    ("credits", |figures| json!(figures.credits)),
    ("position", |figures| json!(figures.position)),
];

const RESIDUALS: Columns<pb::StateResidual> = &[
    ("state", |residual| json!(residual.state)),
    ("to_admit", |residual| json!(residual.to_admit)),
    ("to_release", |residual| json!(residual.to_release)),
];

const CREDITS: Columns<pb::Credit> = &[
    ("holder", |credit| json!(credit.holder_state)),
    ("counterpart", |credit| json!(credit.counterpart_state)),
    ("count", |credit| json!(credit.count)),
];

/// The carry-forward's CSV columns (its JSON lists each debt as `[admitting, origin, count]`).
const CARRY_FORWARD: Columns<pb::PairCount> = &[
    ("admitting", |debt| json!(debt.first_state)),
    ("origin", |debt| json!(debt.second_state)),
    ("count", |debt| json!(debt.count)),
];

/// `records` as a JSON array of objects with the keys and values of `columns`.
fn objects<T>(columns: Columns<T>, records: &[T]) -> Value {
    let object = |record: &T| -> Value {
        let fields = columns
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value(record)));
        Value::Object(fields.collect())
    };
    Value::Array(records.iter().map(object).collect())
}

/// Appends the CSV table `name` to `text`: its `# name` line, the header of `columns`, a line
/// per record, and a blank line.
fn table<T>(text: &mut String, name: &str, columns: Columns<T>, records: &[T]) {
    let header: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let _ = writeln!(text, "# {name}\r");
    let _ = writeln!(text, "{}\r", header.join(","));
    for record in records {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, value)| field(&cell(value(record))))
            .collect();
        let _ = writeln!(text, "{}\r", cells.join(","));
    }
    text.push_str("\r\n");
}

/// A JSON value as a CSV cell: a string as it is, no value as an empty cell, anything else
/// as JSON writes it.
fn cell(value: Value) -> String {
    match value {
        Value::String(text) => text,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One CSV field: quoted (with doubled quotes) when it holds a comma, a quote or a line break,
/// and a leading `=`, `+`, `-` or `@` defused so no spreadsheet reads it as a formula.
fn field(cell: &str) -> String {
    let cell = if cell.starts_with(['=', '+', '@'])
        || (cell.starts_with('-') && cell.parse::<i64>().is_err())
    {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

fn time(value: Option<&prost_types::Timestamp>) -> Value {
    value
        .and_then(|time| from_wire_time(time).ok())
        .map_or(Value::Null, |time| Value::String(time.to_string()))
}

fn break_kind(value: i32) -> &'static str {
    pb::BreakKind::try_from(value).map_or("UNKNOWN", |kind| {
        kind.as_str_name().trim_start_matches("BREAK_KIND_")
    })
}

fn age_bucket(value: i32) -> &'static str {
    pb::BreakAgeBucket::try_from(value).map_or("UNKNOWN", |bucket| {
        bucket.as_str_name().trim_start_matches("BREAK_AGE_BUCKET_")
    })
}

fn mode(value: i32) -> &'static str {
    match pb::NettingMode::try_from(value) {
        Ok(pb::NettingMode::Gross) => "gross",
        Ok(pb::NettingMode::Bilateral) => "bilateral",
        Ok(pb::NettingMode::Multilateral) => "multilateral",
        _ => "unspecified",
    }
}

/// `numerator / denominator` to four decimal places, exactly rounded half up; `"0.0000"` for
/// a denominator of 0.
fn decimal(numerator: u32, denominator: u32) -> String {
    if denominator == 0 {
        return "0.0000".to_owned();
    }
    let scaled = (u64::from(numerator) * 100_000 / u64::from(denominator) + 5) / 10;
    format!("{}.{:04}", scaled / 10_000, scaled % 10_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_efficiency_reads_as_a_rounded_decimal_and_fields_are_safe_in_a_spreadsheet() {
        assert_eq!(decimal(1, 3), "0.3333");
        assert_eq!(decimal(2, 3), "0.6667");
        assert_eq!(decimal(0, 1), "0.0000");
        assert_eq!(decimal(5, 5), "1.0000");
        assert_eq!(field("GB"), "GB");
        assert_eq!(field("-3"), "-3");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("a,b"), "\"a,b\"");
    }
}
