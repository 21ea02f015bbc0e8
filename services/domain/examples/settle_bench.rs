//! Times the settlement engine on one generated instance (see `bench/settlement/run.sh`).
//!
//! Usage: `settle_bench INSTANCE.json RUNS`. The instance names states by integer (a
//! 1,000-state network does not fit the ISO 3166-1 list) in the compact form the benchmark
//! script writes: `{"mode": "multilateral", "returns": [[from, to, count], …], "admissions":
//! [[admitting, origin, count], …], "capacity": [[state, count], …], "candidates": [[admitting,
//! origin, count], …], "consented": [[admitting, origin], …] or null}`. Only the solve is timed
//! (building the network, the flow, the report and the certificate), not reading the file.
//! Prints one JSON line: settled, redirected, the median and every run in milliseconds, the
//! median of validating the input and solving it (what `accord settle` does after parsing),
//! and the time `verify` takes to check the certificate.

use std::time::Instant;

use accord_domain::settlement::{
    Admission, CapacityLimit, Consent, InputParts, Mode, PairLimit, Return, SettlementInput, solve,
    verify,
};
use serde_json::Value;

type Failure = Box<dyn std::error::Error>;

fn numbers(entry: &Value) -> Result<Vec<u64>, Failure> {
    entry
        .as_array()
        .ok_or("an entry must be an array")?
        .iter()
        .map(|number| {
            number
                .as_u64()
                .ok_or_else(|| "a non-negative integer".into())
        })
        .collect()
}

fn list(instance: &Value, field: &str) -> Result<Vec<Vec<u64>>, Failure> {
    match instance.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(entries) => entries
            .as_array()
            .ok_or("a list")?
            .iter()
            .map(numbers)
            .collect(),
    }
}

fn state(number: u64) -> Result<u32, Failure> {
    Ok(u32::try_from(number)?)
}

/// The `key` entries of `instance`, each `[admitting, origin, count]`.
fn pair_counts<T>(
    instance: &Value,
    key: &str,
    build: impl Fn(u32, u32, u64) -> T,
) -> Result<Vec<T>, Failure> {
    list(instance, key)?
        .into_iter()
        .map(|entry| Ok(build(state(entry[0])?, state(entry[1])?, entry[2])))
        .collect()
}

fn read_instance(instance: &Value) -> Result<InputParts<u32>, Failure> {
    let mode_name = instance["mode"].as_str().ok_or("a mode")?;
    let mode = Mode::parse(mode_name).ok_or("a known mode")?;
    let mut parts = InputParts::new(mode, Vec::new());
    for entry in list(instance, "returns")? {
        let (from, to, count) = (state(entry[0])?, state(entry[1])?, entry[2]);
        parts.returns.push(Return { from, to, count });
    }
    parts.admissions = pair_counts(instance, "admissions", |admitting, origin, count| {
        Admission {
            admitting,
            origin,
            count,
        }
    })?;
    for entry in list(instance, "capacity")? {
        let (state, count) = (state(entry[0])?, entry[1]);
        parts.capacity.push(CapacityLimit { state, count });
    }
    parts.candidates = pair_counts(instance, "candidates", |admitting, origin, count| {
        PairLimit {
            admitting,
            origin,
            count,
        }
    })?;
    if !matches!(instance.get("consented"), None | Some(Value::Null)) {
        let mut consents = Vec::new();
        for entry in list(instance, "consented")? {
            let (admitting, origin) = (state(entry[0])?, state(entry[1])?);
            consents.push(Consent { admitting, origin });
        }
        parts.consented = Some(consents);
    }
    Ok(parts)
}

fn milliseconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1_000.0
}

fn main() -> Result<(), Failure> {
    let arguments: Vec<String> = std::env::args().collect();
    let [_, path, runs] = arguments.as_slice() else {
        return Err("usage: settle_bench INSTANCE.json RUNS".into());
    };
    let runs: usize = runs.parse()?;
    let instance: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let parts = read_instance(&instance)?;
    let input = SettlementInput::new(parts.clone())?;
    let mut times = Vec::with_capacity(runs);
    let mut end_to_end_times = Vec::with_capacity(runs);
    let mut settlement = solve(&input);
    for _ in 0..runs {
        let start = Instant::now();
        settlement = solve(&input);
        times.push(milliseconds(start));
        let end_to_end_start = Instant::now();
        let validated = SettlementInput::new(parts.clone())?;
        std::hint::black_box(solve(&validated));
        end_to_end_times.push(milliseconds(end_to_end_start));
    }
    let verify_start = Instant::now();
    verify(&input, &settlement.report, &settlement.certificate)?;
    let verify_ms = milliseconds(verify_start);
    let median = |times: &[f64]| {
        let mut sorted = times.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    };
    let summary = serde_json::json!({
        "states": input.state_count(),
        "settled": settlement.report.settled,
        "redirected": settlement.report.redirected,
        "required": settlement.report.required,
        "instructions": settlement.report.instructions.len(),
        "median_ms": median(&times),
        "runs_ms": times,
        "end_to_end_median_ms": median(&end_to_end_times),
        "verify_ms": verify_ms,
    });
    println!("{summary}");
    Ok(())
}
