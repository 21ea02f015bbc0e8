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
        "state_figures": report.state_figures.iter().map(|figures| json!({
            "state": figures.state,
            "returned": figures.returned,
            "received": figures.received,
            "admitted": figures.admitted,
            "released": figures.released,
            "carried_in": figures.carried_in,
            "debts": figures.debts,
            "credits": figures.credits,
            "position": figures.position,
        })).collect::<Vec<_>>(),
        "instructions": report.instructions.iter().map(|instruction| json!({
            "admitting": instruction.admitting_state,
            "origin": instruction.origin_state,
            "count": instruction.count,
            "redirected": instruction.redirected,
            "perform_by": time(instruction.perform_by.as_ref()),
        })).collect::<Vec<_>>(),
        "residuals": report.residuals.iter().map(|residual| json!({
            "state": residual.state,
            "to_admit": residual.to_admit,
            "to_release": residual.to_release,
        })).collect::<Vec<_>>(),
        "credits": report.credits.iter().map(|credit| json!({
            "holder": credit.holder_state,
            "counterpart": credit.counterpart_state,
            "count": credit.count,
        })).collect::<Vec<_>>(),
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
    let mut table = |name: &str, header: &str, rows: Vec<Vec<String>>| {
        let _ = writeln!(text, "# {name}\r");
        let _ = writeln!(text, "{header}\r");
        for row in rows {
            let cells: Vec<String> = row.iter().map(|cell| field(cell)).collect();
            let _ = writeln!(text, "{}\r", cells.join(","));
        }
        text.push_str("\r\n");
    };
    table(
        "instructions",
        "admitting,origin,count,redirected,perform_by",
        report
            .instructions
            .iter()
            .map(|instruction| {
                vec![
                    instruction.admitting_state.clone(),
                    instruction.origin_state.clone(),
                    instruction.count.to_string(),
                    instruction.redirected.to_string(),
                    time_text(instruction.perform_by.as_ref()),
                ]
            })
            .collect(),
    );
    table(
        "state_figures",
        "state,returned,received,admitted,released,carried_in,debts,credits,position",
        report
            .state_figures
            .iter()
            .map(|figures| {
                vec![
                    figures.state.clone(),
                    figures.returned.to_string(),
                    figures.received.to_string(),
                    figures.admitted.to_string(),
                    figures.released.to_string(),
                    figures.carried_in.to_string(),
                    figures.debts.to_string(),
                    figures.credits.to_string(),
                    figures.position.to_string(),
                ]
            })
            .collect(),
    );
    table(
        "residuals",
        "state,to_admit,to_release",
        report
            .residuals
            .iter()
            .map(|residual| {
                vec![
                    residual.state.clone(),
                    residual.to_admit.to_string(),
                    residual.to_release.to_string(),
                ]
            })
            .collect(),
    );
    table(
        "credits",
        "holder,counterpart,count",
        report
            .credits
            .iter()
            .map(|credit| {
                vec![
                    credit.holder_state.clone(),
                    credit.counterpart_state.clone(),
                    credit.count.to_string(),
                ]
            })
            .collect(),
    );
    table(
        "carry_forward",
        "admitting,origin,count",
        report
            .carry_forward
            .iter()
            .map(|debt| {
                vec![
                    debt.first_state.clone(),
                    debt.second_state.clone(),
                    debt.count.to_string(),
                ]
            })
            .collect(),
    );
    text.into_bytes()
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

fn time_text(value: Option<&prost_types::Timestamp>) -> String {
    match time(value) {
        Value::String(text) => text,
        _ => String::new(),
    }
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
