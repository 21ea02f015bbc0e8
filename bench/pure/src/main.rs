//! Issue 13's in-process figures (BENCHMARKS.md, "Ledger and settlement (issue 13)"), each
//! beside a reference measured in the same run on the same data:
//!
//! - `reconcile`: `CASES` two-sided cases (both parties report the same attestation, a small
//!   share one-sided or mismatched) recorded into `accord_domain::reconciliation::Reconciler`
//!   and reconciled; reference: a plain sort of the same reports and a linear match.
//! - `round`: a settlement round over `CONFIRMATIONS` matched confirmations across 32 states,
//!   from the matched events at the cut-off to a signed and verified report
//!   (`accord_edge::report::propose`, `sign`, `open`); reference: the aggregation alone.
//! - `proofs`: inclusion and consistency proofs on an `accord_trust::log::MemoryTree` of
//!   `LEAVES` leaves, at random leaves and sizes; reference: verifying each proof.
//!
//! `pure-bench [reconcile|round|proofs|all]`; `RUNS` repetitions of the first two (the median
//! is printed), `SAMPLES` proofs of each kind. The data is generated from a fixed seed, before
//! any timing starts. Nothing here reads the network or a disk.

mod proofs;
mod reconcile;
mod round;

use std::time::Instant;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let which = std::env::args().nth(1).unwrap_or_else(|| "all".to_owned());
    let runs = setting("RUNS", 3);
    match which.as_str() {
        "reconcile" => reconcile::run(setting("CASES", 1_000_000), runs),
        "round" => round::run(setting("CONFIRMATIONS", 1_000_000), runs),
        "proofs" => proofs::run(setting("LEAVES", 10_000_000), setting("SAMPLES", 20_000)),
        "all" => {
            reconcile::run(setting("CASES", 1_000_000), runs)?;
            round::run(setting("CONFIRMATIONS", 1_000_000), runs)?;
            proofs::run(setting("LEAVES", 10_000_000), setting("SAMPLES", 20_000))
        }
        other => anyhow::bail!("unknown benchmark {other:?}: reconcile, round, proofs or all"),
    }
}

/// A small deterministic generator (SplitMix64): the same data on every run and machine.
pub(crate) struct Random(u64);

impl Random {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number in `0..bound`.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// 32 member states, as the round's figure assumes.
pub(crate) const STATES: [&str; 32] = [
    "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR", "HU",
    "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Seconds since `started`, in milliseconds.
pub(crate) fn millis_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1_000.0
}

/// The value at `percent` of `values` (nearest rank); 0 for none.
pub(crate) fn percentile(values: &[f64], percent: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((percent / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
