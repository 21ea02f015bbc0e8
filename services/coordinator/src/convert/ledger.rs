//! The ledger's vocabulary and its wire forms: each reported event parsed from its
//! `EventReport` (every bad field at once, so a refused report says all that is wrong with
//! it), what the ledger answers for it, tree heads, proofs and leaves.
//!
//! A report's attestation is what the acting state signed; the ledger verifies the
//! signature over the attestation's canonical bytes, re-encoded here from what was parsed,
//! so bytes sent in another encoding never verify. The leaf holds the report as re-encoded.

use accord_domain::case_ref::{CaseKind, CaseRef};
use accord_domain::{StateCode, Timestamp};
use accord_edge::formats::{self, EventKey};
use accord_edge::violation::{FieldViolation, Violations};
use accord_edge::wire::{from_wire_time, to_wire_time};
use accord_proto::v1 as pb;
use accord_trust::log::{Hash, InclusionProof};
use accord_trust::{KeyId, Signature};
use prost::Message;

/// The most reports one batch may hold.
pub const BATCH_REPORTS_MAX: usize = 512;

/// The longest batch id accepted.
const BATCH_ID_LENGTH_MAX: usize = 128;

/// One reported event, parsed.
#[derive(Debug, Clone)]
pub struct ReportedEvent {
    /// The case.
    pub case_ref: CaseRef,
    /// The case's pair of states, as its reference names them.
    pub pair: (StateCode, StateCode),
    /// The event's number in its case.
    pub sequence: u64,
    /// The state that recorded and signed the event.
    pub acting_state: StateCode,
    /// When the event took effect.
    pub occurred_at: Timestamp,
    /// The event's node-made idempotency key.
    pub event_key: String,
    /// The acting state's key that signed it.
    pub signing_key_id: String,
    /// SHA-256 of the event's canonical bytes.
    pub event_digest: [u8; 32],
    /// The event kind's wire name, e.g. `READMISSION_EVENT_KIND_ARRIVAL_CONFIRMED`.
    pub kind: &'static str,
    /// The acting state's signature.
    pub signature: Signature,
    /// The report as received, canonically encoded again.
    report: pb::EventReport,
}

impl ReportedEvent {
    /// The attestation's canonical bytes: what the acting state signed.
    pub fn signed_bytes(&self) -> Vec<u8> {
        self.report
            .attestation
            .as_ref()
            .map(Message::encode_to_vec)
            .unwrap_or_default()
    }

    /// The canonical bytes of the leaf that logs this report by `reporter` at `accepted_at`.
    pub fn leaf_bytes(&self, reporter: StateCode, accepted_at: Timestamp) -> Vec<u8> {
        pb::LedgerLeaf {
            reporter_state: reporter.to_string(),
            report: Some(self.report.clone()),
            accepted_at: Some(to_wire_time(accepted_at)),
        }
        .encode_to_vec()
    }
}

/// What the ledger did with one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Logged now as a new leaf.
    Accepted(Logged),
    /// Logged before; the first leaf.
    Duplicate(Logged),
    /// Refused, not logged.
    Rejected(Rejection),
}

/// Where a report is in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged {
    /// The leaf's index.
    pub leaf_index: u64,
    /// The leaf's hash.
    pub leaf_hash: Hash,
    /// When the coordinator logged it.
    pub accepted_at: Timestamp,
}

/// Why a report was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The reason, as `ErrorReason` names it.
    pub reason: RejectionReason,
    /// The malformed fields, for `FieldInvalid`; else one line saying why.
    pub violations: Vec<FieldViolation>,
}

/// The reasons a report is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionReason {
    /// A field is malformed.
    FieldInvalid,
    /// The reporter is not a party to the case.
    CallerNotAllowed,
    /// The acting state has no such key valid now.
    SigningKeyUnknown,
    /// The signature does not verify.
    SignatureInvalid,
    /// The reporter logged another event under the same key and sequence.
    KeyReused,
}

impl Rejection {
    /// A refusal for `reason`, saying why in `field`.
    pub fn new(reason: RejectionReason, field: &str, description: impl Into<String>) -> Self {
        Self {
            reason,
            violations: vec![FieldViolation {
                field: field.to_owned(),
                description: description.into(),
            }],
        }
    }
}

/// A published tree head with every signature on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHead {
    /// The number of leaves.
    pub tree_size: u64,
    /// The root hash.
    pub root_hash: Hash,
    /// When the coordinator computed it.
    pub timestamp: Timestamp,
    /// The coordinator's key.
    pub signing_key_id: String,
    /// The coordinator's note signature.
    pub signature: Vec<u8>,
    /// The members' cosignatures, by state.
    pub cosignatures: Vec<Cosignature>,
    /// The whole signed note.
    pub checkpoint: String,
}

/// A member state's cosignature of a head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    /// The cosigning state.
    pub state: StateCode,
    /// Its key, as the directory lists it.
    pub signing_key_id: String,
    /// The cosignature's time, POSIX seconds.
    pub signed_at: u64,
    /// The Ed25519 signature.
    pub signature: Signature,
}

/// `CosignTreeHead`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosign {
    /// The head's size.
    pub tree_size: u64,
    /// The head's root hash, as the member checked it.
    pub root_hash: Hash,
    /// The head's time, as the member checked it.
    pub timestamp: Timestamp,
    /// The member's cosignature.
    pub cosignature: Cosignature,
}

/// Which leaf an inclusion proof is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafQuery {
    /// By index.
    Index(u64),
    /// By the digest of the event reported, as `reporter` (the caller's state when `None`)
    /// reported it.
    Digest {
        /// The event's digest.
        digest: Vec<u8>,
        /// Whose report.
        reporter: Option<StateCode>,
    },
}

/// A leaf of a range, with the leaf itself when the caller may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafEntry {
    /// The leaf's index.
    pub leaf_index: u64,
    /// Its hash.
    pub leaf_hash: Hash,
    /// The leaf's canonical bytes, or `None` when hidden from the caller.
    pub leaf: Option<Vec<u8>>,
}

/// A proof that a leaf is in a tree, with the leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inclusion {
    /// The proof.
    pub proof: InclusionProof,
    /// The leaf's canonical bytes.
    pub leaf: Vec<u8>,
}

/// A batch's id: 1 to 128 printable ASCII characters.
pub fn batch_id(text: &str) -> Result<String, Violations> {
    let mut violations = Violations::new();
    if text.is_empty() || text.len() > BATCH_ID_LENGTH_MAX {
        violations.add("batch_id", "must be 1 to 128 characters");
    } else if !text.bytes().all(|byte| byte.is_ascii_graphic()) {
        violations.add("batch_id", "must be printable ASCII without spaces");
    }
    violations
        .finish()
        .map(|()| text.to_owned())
        .map_err(|invalid| {
            let mut again = Violations::new();
            for violation in invalid.0 {
                again.add(violation.field, violation.description);
            }
            again
        })
}

/// Each report of a batch parsed, or refused with every malformed field.
pub fn reports(reports: &[pb::EventReport]) -> Vec<Result<ReportedEvent, Rejection>> {
    reports.iter().map(report).collect()
}

fn report(wire: &pb::EventReport) -> Result<ReportedEvent, Rejection> {
    let mut violations = Violations::new();
    let parsed = parse_report(&mut violations, wire);
    match (violations.finish(), parsed) {
        (Ok(()), Some(parsed)) => Ok(parsed),
        (Err(invalid), _) => Err(Rejection {
            reason: RejectionReason::FieldInvalid,
            violations: invalid.0,
        }),
        (Ok(()), None) => Err(Rejection::new(
            RejectionReason::FieldInvalid,
            "attestation",
            "is incomplete",
        )),
    }
}

fn parse_report(violations: &mut Violations, wire: &pb::EventReport) -> Option<ReportedEvent> {
    let Some(attestation) = wire.attestation.as_ref() else {
        violations.add("attestation", "is required");
        return None;
    };
    let case_ref = violations.check(
        "attestation.case_ref",
        CaseRef::parse(&attestation.case_ref),
    );
    let kind = reported_kind(violations, attestation, case_ref.as_ref());
    let pair = case_ref.as_ref().and_then(|case_ref| {
        let named = (case_ref.first_state(), case_ref.second_state());
        let sent = attestation.pair.as_ref();
        let matches = sent.is_some_and(|pair| {
            pair.first_state == named.0.as_str() && pair.second_state == named.1.as_str()
        });
        if !matches {
            violations.add(
                "attestation.pair",
                format!(
                    "must be the case reference's states ({}, {})",
                    named.0, named.1
                ),
            );
        }
        matches.then_some(named)
    });
    if attestation.sequence == 0 {
        violations.add("attestation.sequence", "must be 1 or more");
    }
    let acting_state = violations.check(
        "attestation.acting_state",
        StateCode::parse(&attestation.acting_state),
    );
    if let (Some(acting), Some((first, second))) = (acting_state, pair)
        && acting != first
        && acting != second
    {
        violations.add("attestation.acting_state", "must be one of the pair");
    }
    let occurred_at = match attestation.occurred_at.as_ref() {
        Some(time) => violations.check("attestation.occurred_at", from_wire_time(time)),
        None => {
            violations.add("attestation.occurred_at", "is required");
            None
        }
    };
    match formats::event_key(&attestation.idempotency_key) {
        Ok(EventKey::Deadline {
            case_ref: named, ..
        }) if case_ref.as_ref().is_some_and(|case_ref| *case_ref != named) => {
            violations.add(
                "attestation.idempotency_key",
                "names a deadline of another case than the event's",
            );
        }
        Ok(_) => {}
        Err(error) => violations.add("attestation.idempotency_key", error.to_string()),
    }
    if KeyId::parse(&attestation.signing_key_id).is_err() {
        violations.add("attestation.signing_key_id", "must be 16 hex digits");
    }
    let event_digest = <[u8; 32]>::try_from(attestation.event_digest.as_slice()).ok();
    if event_digest.is_none() {
        violations.add("attestation.event_digest", "must be 32 bytes (SHA-256)");
    }
    let signature = violations.check("signature", Signature::from_slice(&wire.signature));
    Some(ReportedEvent {
        case_ref: case_ref?,
        pair: pair?,
        sequence: attestation.sequence,
        acting_state: acting_state?,
        occurred_at: occurred_at?,
        event_key: attestation.idempotency_key.clone(),
        signing_key_id: attestation.signing_key_id.clone(),
        event_digest: event_digest?,
        kind: kind?,
        signature: signature?,
        report: wire.clone(),
    })
}

/// The wire name of the enumeration value `value`; none when unknown or `unspecified`.
fn known_name<K: TryFrom<i32> + PartialEq>(
    value: i32,
    unspecified: K,
    name: fn(&K) -> &'static str,
) -> Option<&'static str> {
    K::try_from(value)
        .ok()
        .filter(|kind| *kind != unspecified)
        .map(|kind| name(&kind))
}

/// The event kind's wire name; its set member must name the case reference's kind.
fn reported_kind(
    violations: &mut Violations,
    attestation: &pb::EventAttestation,
    case_ref: Option<&CaseRef>,
) -> Option<&'static str> {
    use pb::event_attestation::Kind;
    let (case_kind, name) = match attestation.kind {
        Some(Kind::ReadmissionEventKind(value)) => (
            CaseKind::Readmission,
            known_name(
                value,
                pb::ReadmissionEventKind::Unspecified,
                pb::ReadmissionEventKind::as_str_name,
            ),
        ),
        Some(Kind::AdmissionEventKind(value)) => (
            CaseKind::Admission,
            known_name(
                value,
                pb::AdmissionEventKind::Unspecified,
                pb::AdmissionEventKind::as_str_name,
            ),
        ),
        Some(Kind::OfferEventKind(value)) => (
            CaseKind::Offer,
            known_name(
                value,
                pb::OfferEventKind::Unspecified,
                pb::OfferEventKind::as_str_name,
            ),
        ),
        None => {
            violations.add("attestation.kind", "is required");
            return None;
        }
    };
    if name.is_none() {
        violations.add("attestation.kind", "is not a known event kind");
    }
    if let Some(case_ref) = case_ref
        && case_ref.kind() != case_kind
    {
        violations.add(
            "attestation.kind",
            format!("must be an event of a {} case", case_ref.kind()),
        );
        return None;
    }
    name
}

/// The answer for one report at `index` of its batch.
pub fn outcome_to_wire(index: usize, outcome: &Outcome) -> pb::EventReportResult {
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    let logged = |outcome: pb::EventReportOutcome, logged: &Logged| pb::EventReportResult {
        index,
        outcome: outcome.into(),
        leaf_index: logged.leaf_index,
        leaf_hash: logged.leaf_hash.as_bytes().to_vec(),
        accepted_at: Some(to_wire_time(logged.accepted_at)),
        ..pb::EventReportResult::default()
    };
    match outcome {
        Outcome::Accepted(entry) => logged(pb::EventReportOutcome::Accepted, entry),
        Outcome::Duplicate(entry) => logged(pb::EventReportOutcome::Duplicate, entry),
        Outcome::Rejected(rejection) => pb::EventReportResult {
            index,
            outcome: pb::EventReportOutcome::Rejected.into(),
            rejection_reason: rejection_reason_to_wire(rejection.reason).into(),
            violations: rejection
                .violations
                .iter()
                .map(|violation| pb::FieldViolation {
                    field: violation.field.clone(),
                    description: violation.description.clone(),
                })
                .collect(),
            ..pb::EventReportResult::default()
        },
    }
}

fn rejection_reason_to_wire(reason: RejectionReason) -> pb::ErrorReason {
    match reason {
        RejectionReason::FieldInvalid => pb::ErrorReason::FieldInvalid,
        RejectionReason::CallerNotAllowed => pb::ErrorReason::CallerNotAllowed,
        RejectionReason::SigningKeyUnknown => pb::ErrorReason::SigningKeyUnknown,
        RejectionReason::SignatureInvalid => pb::ErrorReason::SignatureInvalid,
        RejectionReason::KeyReused => pb::ErrorReason::IdempotencyKeyReused,
    }
}

/// A signed head as the wire carries it.
pub fn head_to_wire(head: &SignedHead) -> pb::SignedTreeHead {
    pb::SignedTreeHead {
        tree_head: Some(pb::TreeHead {
            tree_size: head.tree_size,
            root_hash: head.root_hash.as_bytes().to_vec(),
            timestamp: Some(to_wire_time(head.timestamp)),
        }),
        signature: Some(pb::CoordinatorSignature {
            signing_key_id: head.signing_key_id.clone(),
            signature: head.signature.clone(),
        }),
        cosignatures: head
            .cosignatures
            .iter()
            .map(|cosignature| pb::StateSignature {
                state: cosignature.state.to_string(),
                signing_key_id: cosignature.signing_key_id.clone(),
                signature: cosignature.signature.to_bytes().to_vec(),
                signed_at: Some(prost_types::Timestamp {
                    seconds: i64::try_from(cosignature.signed_at).unwrap_or(i64::MAX),
                    nanos: 0,
                }),
            })
            .collect(),
        checkpoint: head.checkpoint.clone(),
    }
}

/// `CosignTreeHead`'s head and cosignature.
pub fn cosign(
    message: &pb::CosignTreeHeadRequest,
) -> Result<Cosign, accord_edge::violation::Invalid> {
    let mut violations = Violations::new();
    let head = message.tree_head.as_ref();
    if head.is_none() {
        violations.add("tree_head", "is required");
    }
    let root_hash = head.and_then(|head| {
        violations.check("tree_head.root_hash", Hash::from_slice(&head.root_hash))
    });
    let timestamp = head.and_then(|head| match head.timestamp.as_ref() {
        Some(time) => violations.check("tree_head.timestamp", from_wire_time(time)),
        None => {
            violations.add("tree_head.timestamp", "is required");
            None
        }
    });
    let cosignature = message.cosignature.as_ref();
    if cosignature.is_none() {
        violations.add("cosignature", "is required");
    }
    let state = cosignature
        .and_then(|signed| violations.check("cosignature.state", StateCode::parse(&signed.state)));
    if cosignature.is_some_and(|signed| KeyId::parse(&signed.signing_key_id).is_err()) {
        violations.add("cosignature.signing_key_id", "must be 16 hex digits");
    }
    let signature = cosignature.and_then(|signed| {
        violations.check(
            "cosignature.signature",
            Signature::from_slice(&signed.signature),
        )
    });
    let signed_at = cosignature.and_then(|signed| match signed.signed_at.as_ref() {
        Some(time) if time.nanos == 0 && time.seconds >= 0 => u64::try_from(time.seconds).ok(),
        Some(_) => {
            violations.add("cosignature.signed_at", "must be whole seconds after 1970");
            None
        }
        None => {
            violations.add("cosignature.signed_at", "is required");
            None
        }
    });
    violations.finish()?;
    match (
        head,
        root_hash,
        timestamp,
        state,
        signature,
        signed_at,
        cosignature,
    ) {
        (
            Some(head),
            Some(root_hash),
            Some(timestamp),
            Some(state),
            Some(signature),
            Some(signed_at),
            Some(signed),
        ) => Ok(Cosign {
            tree_size: head.tree_size,
            root_hash,
            timestamp,
            cosignature: Cosignature {
                state,
                signing_key_id: signed.signing_key_id.clone(),
                signed_at,
                signature,
            },
        }),
        _ => Err(accord_edge::violation::Invalid::field(
            "request",
            "is incomplete",
        )),
    }
}

/// A stored leaf's bytes as the wire message; `None` if they do not decode (never for a
/// leaf this coordinator wrote).
pub fn leaf_to_wire(bytes: &[u8]) -> Option<pb::LedgerLeaf> {
    pb::LedgerLeaf::decode(bytes).ok()
}

/// An inclusion proof as the wire carries it.
pub fn inclusion_to_wire(inclusion: &Inclusion) -> pb::InclusionProof {
    pb::InclusionProof {
        leaf_index: inclusion.proof.leaf_index,
        tree_size: inclusion.proof.tree_size,
        audit_path: inclusion
            .proof
            .audit_path
            .iter()
            .map(|hash| hash.as_bytes().to_vec())
            .collect(),
        leaf: leaf_to_wire(&inclusion.leaf),
    }
}

/// A leaf of a range as the wire carries it.
pub fn leaf_entry_to_wire(entry: &LeafEntry) -> pb::LeafEntry {
    pb::LeafEntry {
        leaf_index: entry.leaf_index,
        leaf_hash: entry.leaf_hash.as_bytes().to_vec(),
        leaf: entry.leaf.as_deref().and_then(leaf_to_wire),
    }
}

/// `ListCaseLeaves`'s case reference.
pub fn case_ref(text: &str) -> Result<CaseRef, accord_edge::violation::Invalid> {
    let mut violations = Violations::new();
    let case_ref = violations.check("case_ref", CaseRef::parse(text));
    violations.finish()?;
    case_ref.ok_or_else(|| accord_edge::violation::Invalid::field("case_ref", "is required"))
}

/// `GetInclusionProof`'s leaf.
pub fn leaf_query(
    message: &pb::GetInclusionProofRequest,
) -> Result<LeafQuery, accord_edge::violation::Invalid> {
    use pb::get_inclusion_proof_request::Leaf;
    let mut violations = Violations::new();
    let reporter = if message.reporter_state.is_empty() {
        None
    } else {
        violations.check("reporter_state", StateCode::parse(&message.reporter_state))
    };
    let query = match &message.leaf {
        Some(Leaf::LeafIndex(index)) => Some(LeafQuery::Index(*index)),
        Some(Leaf::EventDigest(digest)) if digest.len() == 32 => Some(LeafQuery::Digest {
            digest: digest.clone(),
            reporter,
        }),
        Some(Leaf::EventDigest(_)) => {
            violations.add("event_digest", "must be 32 bytes (SHA-256)");
            None
        }
        None => {
            violations.add("leaf", "is required: leaf_index or event_digest");
            None
        }
    };
    violations.finish()?;
    query.ok_or_else(|| accord_edge::violation::Invalid::field("leaf", "is required"))
}
