//! The shared settlement vectors (copied into `tests/vectors/settlement/` of this crate):
//! every expected figure matches, and the solver's certificate verifies.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::super::{
    Admission, CapacityLimit, Consent, Credit, InputParts, Mode, PairLimit, Return,
};
use super::{settle, state};
use crate::StateCode;

fn vectors_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/settlement")
}

fn code(value: &Value) -> StateCode {
    state(value.as_str().expect("a state code"))
}

fn count(value: &Value) -> u64 {
    value.as_u64().expect("a count")
}

fn entries(input: &Value, field: &str) -> Vec<Value> {
    input
        .get(field)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The `list` entries of `input` that each name an admitting state, an origin and a count.
fn pair_counts<T>(
    input: &Value,
    list: &str,
    build: impl Fn(StateCode, StateCode, u64) -> T,
) -> Vec<T> {
    entries(input, list)
        .iter()
        .map(|entry| {
            let admitting = code(&entry["admitting"]);
            build(admitting, code(&entry["origin"]), count(&entry["count"]))
        })
        .collect()
}

fn parse_input(input: &Value) -> InputParts {
    let mode = Mode::parse(input["mode"].as_str().expect("a mode")).expect("a known mode");
    let returns = entries(input, "returns")
        .iter()
        .map(|entry| Return {
            from: code(&entry["from"]),
            to: code(&entry["to"]),
            count: count(&entry["count"]),
        })
        .collect();
    let mut parts = InputParts::new(mode, returns);
    parts.admissions = pair_counts(input, "admissions", |admitting, origin, count| Admission {
        admitting,
        origin,
        count,
    });
    parts.candidates = pair_counts(input, "candidates", |admitting, origin, count| PairLimit {
        admitting,
        origin,
        count,
    });
    if let Some(capacity) = input.get("capacity").and_then(Value::as_object) {
        parts.capacity = capacity
            .iter()
            .map(|(name, limit)| CapacityLimit {
                state: state(name),
                count: count(limit),
            })
            .collect();
    }
    if input.get("consented").is_some() {
        parts.consented = Some(
            entries(input, "consented")
                .iter()
                .map(|entry| Consent {
                    admitting: code(&entry["admitting"]),
                    origin: code(&entry["origin"]),
                })
                .collect(),
        );
    }
    parts
}

fn parse_credits(expect: &Value) -> Vec<Credit> {
    entries(expect, "credits")
        .iter()
        .map(|entry| Credit {
            holder: code(&entry["holder"]),
            counterpart: code(&entry["counterpart"]),
            count: count(&entry["count"]),
        })
        .collect()
}

#[test]
fn every_settlement_vector_gives_its_expected_figures() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors_folder())
        .expect("the vectors folder exists")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 11, "every vector is checked");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a readable vector");
        let vector: Value = serde_json::from_str(&text).expect("a JSON vector");
        let (_, settlement) = settle(parse_input(&vector["input"]));
        let report = settlement.report;
        let expect = &vector["expect"];
        let name = file.display();
        assert_eq!(report.settled, count(&expect["settled"]), "{name}: settled");
        assert_eq!(
            report.redirected,
            count(&expect["redirected"]),
            "{name}: redirected"
        );
        assert_eq!(
            report.required,
            count(&expect["required"]),
            "{name}: required"
        );
        assert_eq!(
            report.required_gross,
            count(&expect["required_gross"]),
            "{name}: required_gross"
        );
        assert_eq!(
            report.netting_efficiency,
            expect["netting_efficiency"].as_f64().expect("a float"),
            "{name}: netting_efficiency"
        );
        assert_eq!(report.credits, parse_credits(expect), "{name}: credits");
    }
}
