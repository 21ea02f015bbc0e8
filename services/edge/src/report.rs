//! The settlement report's signed wire form (`accord.v1.SignedSettlementReport`), the one
//! place it is written, signed, countersigned and opened:
//!
//! - [`propose`] (the coordinator's round) settles a round's inputs with the domain engine
//!   and writes the report, certificate included; [`sign`] adds the digest (SHA-256 of the
//!   report's canonical bytes) and the coordinator's signature under the domain
//!   `accord.v1.SettlementReport`;
//! - [`open`] (a node before it countersigns, the coordinator reading its store back, the
//!   offline verifier) checks the digest, the coordinator's signature, and the content:
//!   the instructions a feasible, optimal settlement of the inputs under the report's own
//!   certificate (`accord_domain::settlement::verify`, never the solver), and every figure
//!   the one the inputs and instructions imply, byte for byte;
//! - [`countersign`] (an affected state's node) signs the same bytes in the same domain;
//!   [`OpenedReport::check_countersignature`] (the coordinator on `CountersignRound`) and
//!   [`OpenedReport::check_final`] check them against the directory's keys. A report is
//!   FINAL when every affected state — every state with a non-zero figure — has
//!   countersigned.
//!
//! [`bundle`] checks a whole `SettlementReportBundle` offline from the root CA alone.
//!
//! What this module does not do: it reads no clock and no store, runs no round, and does not
//! recompute what comes from the log (counted movements, breaks, carry-forward): those are
//! signed as the round gives them.

pub mod bundle;
mod content;
pub mod render;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

use accord_domain::membership::Directory;
use accord_domain::settlement::{
    InputParts, Settlement, SettlementInput, SettlementReport, VerifyError, solve, verify,
};
use accord_domain::{StateCode, Timestamp};
use accord_proto::v1 as pb;
use accord_trust::{EventSigningKey, EventVerifyingKey, Signature, SigningDomain};
use prost::Message;
use sha2::{Digest as _, Sha256};

pub use content::RoundFacts;

use crate::wire::to_wire_time;

/// Why a report cannot be made, or does not open.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bytes that are not the message they should be.
    #[error("the {0} does not decode")]
    Decode(&'static str, #[source] prost::DecodeError),
    /// Bytes that decode but are not the canonical encoding of what they hold (unknown
    /// fields, or fields out of order): what they say beyond it is signed by no one.
    #[error("the {0} is not in canonical form (unknown or reordered fields)")]
    NotCanonical(&'static str),
    /// A part the verification needs is absent.
    #[error("the {0} is missing")]
    Missing(&'static str),
    /// A count does not fit the wire's 32 bits.
    #[error("{0}: a count above 4,294,967,295 people")]
    CountTooLarge(&'static str),
    /// A field of the report is not what it must be.
    #[error("report.{field}: {reason}")]
    Malformed {
        /// The field's proto path.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The report's inputs are not a valid settlement input.
    #[error("report.inputs: not a valid settlement input")]
    Inputs(#[source] accord_domain::settlement::Error),
    /// `report_digest` is not the SHA-256 of the report's canonical bytes.
    #[error("report digest: not the SHA-256 of the report's canonical bytes")]
    Digest,
    /// The coordinator's signature names another key than the coordinator's.
    #[error("coordinator signature: made with key {found}, not the coordinator's key {expected}")]
    CoordinatorKeyId {
        /// The key id the signature names.
        found: String,
        /// The coordinator's key id.
        expected: String,
    },
    /// The coordinator's signature does not verify.
    #[error("coordinator signature: does not verify over the report")]
    CoordinatorSignature,
    /// The instructions are not a feasible, optimal settlement of the inputs under the
    /// report's certificate, or a figure the engine computes is wrong.
    #[error("optimality certificate: the instructions are not a feasible, optimal settlement")]
    NotOptimal(#[source] VerifyError),
    /// A field differs from what the inputs, instructions and certificate imply.
    #[error("report.{0}: differs from what the inputs and instructions imply")]
    Recomputed(&'static str),
    /// A countersignature of a state that must countersign is absent.
    #[error("countersignature of {0}: missing; the report is not final")]
    CountersignatureMissing(StateCode),
    /// A countersignature names a key the directory does not list for its state, valid when
    /// the report was computed.
    #[error("countersignature of {state}: key {key_id} is not {state}'s in the directory")]
    CountersignatureKey {
        /// The state.
        state: StateCode,
        /// The key id named.
        key_id: String,
    },
    /// A countersignature does not verify.
    #[error("countersignature of {0}: does not verify over the report")]
    CountersignatureInvalid(StateCode),
    /// A countersignature of a state that is not affected by the report.
    #[error("countersignature of {0}: not an affected state of the report")]
    CountersignatureNotAffected(StateCode),
    /// Two countersignatures of one state.
    #[error("countersignature of {0}: given twice")]
    CountersignatureRepeated(StateCode),
    /// A countersignature names no valid state.
    #[error("countersignatures: {0:?} is not a state code")]
    CountersignatureState(String),
}

impl Error {
    /// Whether the error is input that cannot be read at all (rather than a check that
    /// failed): what `accord report verify` exits 2 for.
    pub fn is_unreadable(&self) -> bool {
        matches!(self, Error::Decode(..))
    }
}

/// SHA-256 of the report's canonical bytes: what states name when they countersign.
pub fn report_digest(report: &pb::SettlementReport) -> [u8; 32] {
    Sha256::digest(report.encode_to_vec()).into()
}

/// Settles the round's inputs with the domain engine and writes the report, with its
/// optimality certificate, for the round's facts. Entries of zero people are dropped and
/// lists sorted, so the report depends on the inputs' content only.
pub fn propose(facts: &RoundFacts, parts: InputParts) -> Result<pb::SettlementReport, Error> {
    let parts = content::normalized(parts);
    let input = SettlementInput::new(parts.clone()).map_err(Error::Inputs)?;
    let settlement = solve(&input);
    content::build(facts, &parts, &input, &settlement)
}

/// The report signed by the coordinator: its digest and the coordinator's signature, no
/// countersignature yet.
pub fn sign(report: pb::SettlementReport, signer: &EventSigningKey) -> pb::SignedSettlementReport {
    let bytes = report.encode_to_vec();
    let signature = signer.sign(SigningDomain::SETTLEMENT_REPORT, &bytes);
    pb::SignedSettlementReport {
        report_digest: Sha256::digest(&bytes).to_vec(),
        report: Some(report),
        signature: Some(pb::CoordinatorSignature {
            signing_key_id: signer.key_id().to_string(),
            signature: signature.to_bytes().to_vec(),
        }),
        countersignatures: Vec::new(),
    }
}

/// `state`'s countersignature of `report`, made with its directory key `signer` at
/// `signed_at` (not covered by the signature). A node calls it after [`open`] succeeded and
/// its own checks (its events' inclusion) passed.
pub fn countersign(
    report: &pb::SettlementReport,
    state: StateCode,
    signer: &EventSigningKey,
    signed_at: Timestamp,
) -> pb::StateSignature {
    let signature = signer.sign(SigningDomain::SETTLEMENT_REPORT, &report.encode_to_vec());
    pb::StateSignature {
        state: state.to_string(),
        signing_key_id: signer.key_id().to_string(),
        signature: signature.to_bytes().to_vec(),
        signed_at: Some(to_wire_time(signed_at)),
    }
}

/// A report whose digest, coordinator signature and content verified.
#[derive(Debug, Clone)]
pub struct OpenedReport {
    signed: pb::SignedSettlementReport,
    report: pb::SettlementReport,
    bytes: Vec<u8>,
    digest: [u8; 32],
    computed_at: Timestamp,
    affected: Vec<StateCode>,
}

/// Opens a signed report: the digest is the report's, the coordinator's key `coordinator`
/// signed it, and its content holds (see the module documentation).
pub fn open(
    signed: &pb::SignedSettlementReport,
    coordinator: &EventVerifyingKey,
) -> Result<OpenedReport, Error> {
    let report = check_signature(signed, coordinator)?;
    check_content(&report)?;
    OpenedReport::new(signed, report)
}

/// The report of `signed` if its digest is right and `coordinator` signed it.
fn check_signature(
    signed: &pb::SignedSettlementReport,
    coordinator: &EventVerifyingKey,
) -> Result<pb::SettlementReport, Error> {
    let report = signed.report.clone().ok_or(Error::Missing("report"))?;
    let bytes = report.encode_to_vec();
    if signed.report_digest.as_slice() != Sha256::digest(&bytes).as_slice() {
        return Err(Error::Digest);
    }
    let signature = signed
        .signature
        .as_ref()
        .ok_or(Error::Missing("coordinator signature"))?;
    let expected = coordinator.key_id().to_string();
    if signature.signing_key_id != expected {
        return Err(Error::CoordinatorKeyId {
            found: signature.signing_key_id.clone(),
            expected,
        });
    }
    let signature =
        Signature::from_slice(&signature.signature).map_err(|_| Error::CoordinatorSignature)?;
    coordinator
        .verify(SigningDomain::SETTLEMENT_REPORT, &bytes, &signature)
        .map_err(|_| Error::CoordinatorSignature)?;
    Ok(report)
}

/// Checks the report's content: feasible and optimal under its certificate, and every field
/// the one its facts, inputs and instructions imply. Returns the settled and redirected
/// totals.
fn check_content(report: &pb::SettlementReport) -> Result<(u64, u64), Error> {
    let content = content::Content::read(report)?;
    let input = SettlementInput::new(content.parts.clone()).map_err(Error::Inputs)?;
    verify(&input, &content.claimed, &content.certificate).map_err(Error::NotOptimal)?;
    let settlement = Settlement {
        report: SettlementReport::from_instructions(&input, content.claimed.instructions.clone()),
        certificate: content.certificate,
    };
    let parts = content::normalized(content.parts);
    let expected = content::build(&content.facts, &parts, &input, &settlement)?;
    if let Some(field) = content::first_difference(&expected, report) {
        return Err(Error::Recomputed(field));
    }
    Ok((settlement.report.settled, settlement.report.redirected))
}

impl OpenedReport {
    fn new(
        signed: &pb::SignedSettlementReport,
        report: pb::SettlementReport,
    ) -> Result<Self, Error> {
        let bytes = report.encode_to_vec();
        let computed_at = report
            .computed_at
            .as_ref()
            .and_then(|time| crate::wire::from_wire_time(time).ok())
            .ok_or(Error::Malformed {
                field: "computed_at",
                reason: "not a valid time",
            })?;
        let affected = report
            .affected_states
            .iter()
            .map(|state| {
                StateCode::parse(state).map_err(|_| Error::Malformed {
                    field: "affected_states",
                    reason: "not a state code",
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            signed: signed.clone(),
            digest: Sha256::digest(&bytes).into(),
            bytes,
            report,
            computed_at,
            affected,
        })
    }

    /// The report.
    pub fn report(&self) -> &pb::SettlementReport {
        &self.report
    }

    /// The signed report as it was opened, countersignatures included.
    pub fn signed(&self) -> &pb::SignedSettlementReport {
        &self.signed
    }

    /// SHA-256 of the report's canonical bytes.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// When the coordinator computed the report.
    pub fn computed_at(&self) -> Timestamp {
        self.computed_at
    }

    /// The states that must countersign, in order.
    pub fn affected_states(&self) -> &[StateCode] {
        &self.affected
    }

    /// Checks one countersignature: an affected state's, by a key the directory lists for
    /// it valid when the report was computed, verifying over the report. Returns the state.
    pub fn check_countersignature(
        &self,
        countersignature: &pb::StateSignature,
        directory: &Directory,
    ) -> Result<StateCode, Error> {
        let state = StateCode::parse(&countersignature.state)
            .map_err(|_| Error::CountersignatureState(countersignature.state.clone()))?;
        if !self.affected.contains(&state) {
            return Err(Error::CountersignatureNotAffected(state));
        }
        let key_error = || Error::CountersignatureKey {
            state,
            key_id: countersignature.signing_key_id.clone(),
        };
        let entry = directory
            .signing_key(state, &countersignature.signing_key_id, self.computed_at)
            .ok_or_else(key_error)?;
        let key = EventVerifyingKey::from_bytes(&entry.public_key).map_err(|_| key_error())?;
        let signature = Signature::from_slice(&countersignature.signature)
            .map_err(|_| Error::CountersignatureInvalid(state))?;
        key.verify(SigningDomain::SETTLEMENT_REPORT, &self.bytes, &signature)
            .map_err(|_| Error::CountersignatureInvalid(state))?;
        Ok(state)
    }

    /// Checks every countersignature of the signed report and that every affected state
    /// gave one: the report is FINAL. Returns the states in order.
    pub fn check_final(&self, directory: &Directory) -> Result<Vec<StateCode>, Error> {
        let mut signed = Vec::new();
        for countersignature in &self.signed.countersignatures {
            let state = self.check_countersignature(countersignature, directory)?;
            if signed.contains(&state) {
                return Err(Error::CountersignatureRepeated(state));
            }
            signed.push(state);
        }
        if let Some(missing) = self.missing(&signed).first() {
            return Err(Error::CountersignatureMissing(*missing));
        }
        signed.sort();
        Ok(signed)
    }

    /// The affected states not among `signed`, in order.
    pub fn missing(&self, signed: &[StateCode]) -> Vec<StateCode> {
        let affected = self.affected.iter();
        affected
            .filter(|state| !signed.contains(state))
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests;
