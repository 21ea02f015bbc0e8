//! The requests the load generator sends: a valid UK–France readmission request with a
//! fresh idempotency key and a fresh keyed pseudonym each time.
//!
//! Keys are UUIDs, time-ordered (version 7) by default as `common.proto` recommends to
//! clients, or random (version 4) with `--keys random` to measure what scattered keys cost
//! the node's key index.

use accord_proto::v1 as pb;
use sha2::{Digest, Sha256};

/// Seconds in a day: the person arrived one day before the run.
const DAY_SECONDS: i64 = 24 * 60 * 60;

/// How the load generator makes idempotency keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyForm {
    /// UUID version 7: a millisecond time prefix, then randomness (the API's advice).
    TimeOrdered,
    /// UUID version 4: all randomness.
    Random,
}

impl KeyForm {
    /// A fresh key of this form.
    pub fn fresh_key(self) -> String {
        match self {
            Self::TimeOrdered => uuid::Uuid::now_v7(),
            Self::Random => uuid::Uuid::new_v4(),
        }
        .to_string()
    }
}

/// What every request of a run shares; only the key and the pseudonym change.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    /// How keys are made.
    keys: KeyForm,
    /// R, the requested state.
    requested_state: String,
    /// One day before the run started.
    arrival_time: prost_types::Timestamp,
}

impl RequestPlan {
    /// A plan for requests to `requested_state` with keys of form `keys`.
    pub fn new(requested_state: &str, keys: KeyForm) -> Self {
        let now = accord_trust::clock::wall_clock_now();
        Self {
            keys,
            requested_state: requested_state.to_owned(),
            arrival_time: prost_types::Timestamp {
                seconds: now.unix_timestamp() - DAY_SECONDS,
                nanos: 0,
            },
        }
    }

    /// The `sequence`-th request of client task `task`.
    pub fn request(&self, task: usize, sequence: u64) -> pb::OpenReadmissionRequest {
        let idempotency_key = self.keys.fresh_key();
        let keyed_pseudonym = hex::encode(Sha256::digest(idempotency_key.as_bytes()));
        pb::OpenReadmissionRequest {
            idempotency_key,
            requested_state: self.requested_state.clone(),
            regime: pb::Regime::Ukfr2025 as i32,
            arrival_time: Some(self.arrival_time),
            exceptional: false,
            detained: false,
            person: Some(pb::PersonalData {
                keyed_pseudonym,
                nationality: "AF".to_owned(),
                birth_year: 1990,
                vulnerable: false,
                family_ties: false,
            }),
            evidence: vec![pb::Evidence {
                kind: pb::EvidenceKind::FingerprintHit as i32,
                reference: format!("EURODAC-{task}-{sequence}"),
                document_digest: Vec::new(),
                note: String::new(),
            }],
            notes: String::new(),
        }
    }
}
