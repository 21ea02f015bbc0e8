//! A settlement round from the cut-off to a signed, verified report: the matched
//! confirmations aggregated per pair, the report proposed (engine, certificate, figures, every
//! counted movement), signed, and opened as a node opens it before countersigning.

use std::time::Instant;

use accord_domain::admission::AdmissionStep;
use accord_domain::readmission::ReadmissionStep;
use accord_domain::reconciliation::{EventDigest, EventKind, MatchedEvent, StatePair};
use accord_domain::settlement::{Admission, InputParts, Mode, Return};
use accord_domain::{CaseKind, CaseRef, StateCode, Timestamp};
use accord_edge::report::{self, RoundFacts};
use accord_proto::v1 as pb;
use accord_trust::EventSigningKey;
use accord_trust::log::leaf_hash;

use crate::{Random, STATES, millis_since, percentile};

/// One confirmation in this many is an admission (the rest are returns).
const ADMISSION_EVERY: usize = 7;
/// The cut-off: 2025-11-24.
const CUT_OFF_MILLIS: i64 = 1_764_000_000_000;

/// One counted confirmation at the cut-off, with its two reports' leaves.
struct Confirmation {
    event: MatchedEvent,
    leaves: [u64; 2],
}

/// Milliseconds of each stage of one round.
#[derive(Default, Clone, Copy)]
struct Stages {
    /// The signed report's encoded size, bytes.
    size: usize,
    aggregate: f64,
    movements: f64,
    propose: f64,
    sign: f64,
    open: f64,
}

impl Stages {
    fn total(self) -> f64 {
        self.aggregate + self.movements + self.propose + self.sign + self.open
    }
}

pub(crate) fn run(count: usize, runs: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let states: Vec<StateCode> = STATES
        .iter()
        .map(|code| StateCode::parse(code))
        .collect::<Result<_, _>>()?;
    let confirmations = confirmations(&states, count)?;
    let signer = EventSigningKey::generate()?;
    println!(
        "round: {count} matched confirmations across {} states ({:.0} ms to generate, not timed)",
        states.len(),
        millis_since(started)
    );
    let mut all = Vec::new();
    for run in 1..=runs {
        let stages = one_round(&states, &confirmations, &signer)?;
        println!(
            "  run {run}: {:.0} ms = aggregate {:.1} + movements {:.0} + propose {:.0} + sign {:.0} \
             + open {:.0}; to the signed report {:.0} ms; a report of {:.1} MB",
            stages.total(),
            stages.aggregate,
            stages.movements,
            stages.propose,
            stages.sign,
            stages.open,
            stages.total() - stages.open,
            stages.size as f64 / 1e6
        );
        all.push(stages);
    }
    let median =
        |pick: fn(&Stages) -> f64| percentile(&all.iter().map(pick).collect::<Vec<_>>(), 50.0);
    let total = median(|stages| stages.total());
    let signed = median(|stages| stages.total() - stages.open);
    let aggregate = median(|stages| stages.aggregate);
    println!(
        "round median of {runs}: to the signed report {signed:.0} ms, with its opening {total:.0} ms \
         (aggregate {aggregate:.1}, movements {:.0}, propose {:.0}, sign {:.0}, open {:.0}); \
         reference (aggregation alone) {aggregate:.1} ms, signed report / reference {:.0}x",
        median(|stages| stages.movements),
        median(|stages| stages.propose),
        median(|stages| stages.sign),
        median(|stages| stages.open),
        signed / aggregate
    );
    Ok(())
}

fn one_round(
    states: &[StateCode],
    confirmations: &[Confirmation],
    signer: &EventSigningKey,
) -> anyhow::Result<Stages> {
    let mut stages = Stages::default();
    let started = Instant::now();
    let parts = aggregate(states, confirmations);
    stages.aggregate = millis_since(started);

    let started = Instant::now();
    let movements = movements(confirmations);
    stages.movements = millis_since(started);

    let started = Instant::now();
    let proposed = report::propose(&facts(movements)?, parts)?;
    stages.propose = millis_since(started);

    let started = Instant::now();
    let signed = report::sign(proposed, signer);
    stages.sign = millis_since(started);
    stages.size = prost::Message::encoded_len(&signed);

    let started = Instant::now();
    let opened = report::open(&signed, &signer.verifying_key())?;
    stages.open = millis_since(started);
    anyhow::ensure!(
        opened
            .report()
            .inputs
            .as_ref()
            .map(|inputs| inputs.movements.len())
            == Some(confirmations.len()),
        "the report does not carry every movement"
    );
    Ok(stages)
}

/// The engine's input: matched returns and admissions counted per ordered pair.
fn aggregate(states: &[StateCode], confirmations: &[Confirmation]) -> InputParts {
    let index = |state: StateCode| states.binary_search(&state).unwrap_or(0);
    let mut returns = vec![0_u64; states.len() * states.len()];
    let mut admissions = vec![0_u64; states.len() * states.len()];
    for confirmation in confirmations {
        let event = &confirmation.event;
        let cell = index(event.pair.first()) * states.len() + index(event.pair.second());
        match event.kind {
            EventKind::Readmission(_) => returns[cell] += 1,
            _ => admissions[cell] += 1,
        }
    }
    let cells = |counts: &[u64]| -> Vec<(StateCode, StateCode, u64)> {
        counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(cell, count)| {
                (
                    states[cell / states.len()],
                    states[cell % states.len()],
                    *count,
                )
            })
            .collect()
    };
    let mut parts = InputParts::new(
        Mode::Multilateral,
        cells(&returns)
            .into_iter()
            .map(|(from, to, count)| Return { from, to, count })
            .collect(),
    );
    parts.admissions = cells(&admissions)
        .into_iter()
        .map(|(admitting, origin, count)| Admission {
            admitting,
            origin,
            count,
        })
        .collect();
    parts
}

/// Every counted confirmation as the report lists it.
fn movements(confirmations: &[Confirmation]) -> Vec<pb::CountedMovement> {
    confirmations
        .iter()
        .map(|confirmation| {
            let event = &confirmation.event;
            let case_kind = match event.kind {
                EventKind::Readmission(_) => pb::CaseKind::Readmission,
                _ => pb::CaseKind::Admission,
            };
            pb::CountedMovement {
                case_ref: event.case_ref.as_str().to_owned(),
                case_kind: case_kind.into(),
                pair: Some(pb::StatePair {
                    first_state: event.pair.first().to_string(),
                    second_state: event.pair.second().to_string(),
                }),
                leaf_indices: confirmation.leaves.to_vec(),
            }
        })
        .collect()
}

fn facts(movements: Vec<pb::CountedMovement>) -> anyhow::Result<RoundFacts> {
    let at = |offset: i64| Timestamp::from_millis(CUT_OFF_MILLIS + offset);
    Ok(RoundFacts {
        round_id: "RND-2025-W48-1".to_owned(),
        version: 1,
        period_start: at(-7 * 86_400_000)?,
        period_end: at(0)?,
        log_origin: "accord.example/log".to_owned(),
        tree_size: 2 * movements.len() as u64,
        root_hash: leaf_hash(b"the root at the cut-off"),
        tree_head_at: at(60_000)?,
        computed_at: at(120_000)?,
        perform_by: Some(at(30 * 86_400_000)?),
        movements,
        open_breaks: Vec::new(),
        performances: Vec::new(),
    })
}

/// `count` matched confirmations between random pairs of `states`, larger states more often.
fn confirmations(states: &[StateCode], count: usize) -> anyhow::Result<Vec<Confirmation>> {
    let mut random = Random::new(20_251_201);
    // Weights 1/(rank+1): a few states send and receive most people.
    let weights: Vec<f64> = (0..states.len())
        .map(|rank| 1.0 / (rank + 1) as f64)
        .collect();
    let total: f64 = weights.iter().sum();
    let mut pick = || {
        let mut target = (random.below(1 << 30) as f64 / f64::from(1 << 30)) * total;
        for (rank, weight) in weights.iter().enumerate() {
            if target < *weight {
                return rank;
            }
            target -= weight;
        }
        states.len() - 1
    };
    let mut confirmations = Vec::with_capacity(count);
    for number in 0..count {
        let first = states[pick()];
        let second = loop {
            let candidate = states[pick()];
            if candidate != first {
                break candidate;
            }
        };
        let (case_kind, kind) = if number % ADMISSION_EVERY == 0 {
            let step = AdmissionStep::DepartureConfirmed;
            (CaseKind::Admission, EventKind::Admission(step))
        } else {
            let step = ReadmissionStep::ArrivalConfirmed;
            (CaseKind::Readmission, EventKind::Readmission(step))
        };
        let at = Timestamp::from_millis(CUT_OFF_MILLIS - 86_400_000 + number as i64)?;
        let event = MatchedEvent {
            case_ref: CaseRef::new(case_kind, first, second, &format!("{number:012}"))?,
            kind,
            pair: StatePair::new(first, second)?,
            sequence: 7,
            occurred_at: at,
            digest: EventDigest::from_bytes([7; 32]),
            matched_at: at,
        };
        let leaf = 2 * number as u64;
        confirmations.push(Confirmation {
            event,
            leaves: [leaf, leaf + 1],
        });
    }
    Ok(confirmations)
}
