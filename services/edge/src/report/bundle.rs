//! Offline verification of a `SettlementReportBundle` from the network's root CA alone:
//! what `accord report verify` runs, check by check.
//!
//! In order: the bundle decodes and is canonical; the coordinator's certificate chains to
//! the root at the report's `computed_at` and certifies an Ed25519 key for
//! `spiffe://accord/coordinator`; that key signed the directory (which lists it) and the
//! report (digest, signature, content — [`super::open`]); it signed the checkpoint at the
//! cut-off, whose size and root are the report's; every affected state countersigned with
//! a key the directory lists for it; then, if given, a checkpoint the verifier already
//! trusts is consistent with the cut-off, and each given event is in the log at the cut-off.
//! The first failure stops the verification; each check passed is reported as it passes
//! ([`Passed`]), so a reader sees how far the report held.
//!
//! Parsing the verifier's own files (the trusted checkpoint, the events) is the caller's:
//! this module takes them as values ([`TrustedCheckpoint`], [`Event`]).

use std::fmt;

use accord_domain::StateCode;
use accord_proto::v1 as pb;
use accord_trust::identity::PeerIdentity;
use accord_trust::log::{
    Checkpoint, ConsistencyProof, Hash, InclusionProof, KeyName, NoteVerifier, OpenedCheckpoint,
    SignatureType, checkpoint, leaf_hash, proof,
};
use accord_trust::pki::signing_key;
use accord_trust::{CaBundle, EventVerifyingKey};
use prost::Message;
use rustls::pki_types::CertificateDer;
use time::OffsetDateTime;

use super::{OpenedReport, check_content, check_signature};
use crate::directory::SignedDirectory;

/// Why a bundle does not verify.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a `SettlementReportBundle`.
    #[error("the file is not a settlement report bundle (binary accord.v1.SettlementReportBundle)")]
    Decode(#[source] prost::DecodeError),
    /// The bundle decodes but is not the canonical encoding of what it holds.
    #[error("bundle: not in canonical form (unknown or reordered fields)")]
    NotCanonical,
    /// The bundle holds a value no signature covers, which an offline verifier could not
    /// tell from a forged one ([`assemble`] leaves them out).
    #[error("bundle: {0} is set, and no signature covers it")]
    Unsigned(&'static str),
    /// The checkpoint carries a signature line of a key that is neither the coordinator's nor
    /// a member state's, which no one could check.
    #[error("checkpoint: a signature line by {0}, which is neither the log nor a member state")]
    UnknownSigner(String),
    /// A part of the bundle is absent.
    #[error("bundle: the {0} is missing")]
    Missing(&'static str),
    /// The coordinator's certificate does not certify its signing key under the root.
    #[error("coordinator certificate: does not certify a signing key of {0} under the root CA")]
    CoordinatorCertificate(PeerIdentity, #[source] signing_key::Error),
    /// The directory's signature does not verify under the certified key.
    #[error("directory: not signed by the certified coordinator key")]
    Directory(#[source] crate::directory::Error),
    /// The directory does not list the certified key as the coordinator's, or its signature
    /// names another key.
    #[error("directory: does not name the certified coordinator key {0} as its signer")]
    DirectoryKey(String),
    /// The report fails (its digest, signature, content or countersignatures).
    #[error(transparent)]
    Report(#[from] super::Error),
    /// The checkpoint at the cut-off does not verify under the certified key.
    #[error("checkpoint: not a checkpoint of log {origin:?} signed by the coordinator")]
    Checkpoint {
        /// The report's log.
        origin: String,
        /// Why.
        #[source]
        source: checkpoint::Error,
    },
    /// The checkpoint says another size, root or time than the report's cut-off.
    #[error("checkpoint: its {0} differs from the report's cut-off")]
    CheckpointDiffers(&'static str),
    /// The trusted checkpoint does not verify under the certified key.
    #[error("trusted checkpoint: not a checkpoint of log {origin:?} signed by the coordinator")]
    TrustedCheckpoint {
        /// The report's log.
        origin: String,
        /// Why.
        #[source]
        source: checkpoint::Error,
    },
    /// The trusted checkpoint and the cut-off are not one log's heads.
    #[error(
        "trusted checkpoint: the log at size {trusted_size} is not consistent with the \
         report's cut-off at size {cut_off_size}"
    )]
    Inconsistent {
        /// The trusted checkpoint's size.
        trusted_size: u64,
        /// The report's cut-off size.
        cut_off_size: u64,
        /// Why the proof failed.
        #[source]
        source: proof::Error,
    },
    /// An event's proof is for another tree size than the cut-off.
    #[error(
        "event on line {line}: its proof is for size {tree_size}, not the cut-off {cut_off_size}"
    )]
    EventTreeSize {
        /// The event's line.
        line: usize,
        /// The proof's size.
        tree_size: u64,
        /// The report's cut-off size.
        cut_off_size: u64,
    },
    /// An event is not in the log at the cut-off.
    #[error("event on line {line}: not included in the log at the cut-off as leaf {leaf_index}")]
    EventNotIncluded {
        /// The event's line.
        line: usize,
        /// The leaf index claimed.
        leaf_index: u64,
        /// Why the proof failed.
        #[source]
        source: proof::Error,
    },
}

impl Error {
    /// Whether the bundle could not be read at all (exit 2), rather than failing a check.
    pub fn is_unreadable(&self) -> bool {
        match self {
            Error::Decode(_) => true,
            Error::Report(error) => error.is_unreadable(),
            _ => false,
        }
    }
}

/// A checkpoint the verifier already trusts, with the consistency proof between its size
/// and the report's cut-off (from the smaller size to the larger; empty when equal).
#[derive(Debug, Clone)]
pub struct TrustedCheckpoint {
    /// The signed note, as `GetTreeHead` gives it (`SignedTreeHead.checkpoint`).
    pub note: Vec<u8>,
    /// RFC 9162's consistency path between the two sizes.
    pub consistency_proof: Vec<Hash>,
}

/// One event to find in the log at the cut-off: its leaf and inclusion proof.
#[derive(Debug, Clone)]
pub struct Event {
    /// Where the caller read it (a line number), to name it in errors.
    pub line: usize,
    /// The leaf's canonical bytes (an `accord.v1.LedgerLeaf`), as hashed into the log.
    pub leaf: Vec<u8>,
    /// The leaf's index in the log.
    pub leaf_index: u64,
    /// The size of the tree the proof leads to: the report's cut-off.
    pub tree_size: u64,
    /// The audit path.
    pub audit_path: Vec<Hash>,
}

/// One check that passed, to show as it passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passed {
    /// The bundle decoded, canonical.
    Decoded,
    /// The coordinator's certificate certified its key.
    CoordinatorKey {
        /// The certified key's id.
        key_id: String,
        /// The instant the chain was checked at.
        at: String,
    },
    /// The directory is signed by the coordinator and lists its key.
    Directory {
        /// Its version.
        version: u64,
    },
    /// The report's digest and signature.
    ReportSignature {
        /// The round.
        round_id: String,
        /// The report's version.
        version: u32,
        /// The digest, hex.
        digest: String,
    },
    /// The report's content: feasible, optimal, every figure right.
    Optimal {
        /// Admissions settled.
        settled: u64,
        /// Of those, redirected.
        redirected: u64,
    },
    /// The checkpoint at the cut-off.
    Checkpoint {
        /// The log's origin.
        origin: String,
        /// The cut-off size.
        tree_size: u64,
    },
    /// One affected state's countersignature.
    Countersignature(StateCode),
    /// Every affected state countersigned.
    Final(Vec<StateCode>),
    /// The trusted checkpoint is consistent with the cut-off.
    Consistent {
        /// The trusted checkpoint's size.
        trusted_size: u64,
        /// The cut-off's size.
        cut_off_size: u64,
    },
    /// One event is in the log.
    Included {
        /// Its line.
        line: usize,
        /// Its leaf index.
        leaf_index: u64,
        /// What the leaf says, if it decodes: case reference and reporting state.
        description: String,
    },
}

impl fmt::Display for Passed {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Passed::Decoded => write!(formatter, "bundle: decoded, canonical"),
            Passed::CoordinatorKey { key_id, at } => write!(
                formatter,
                "coordinator certificate: key {key_id} certified for spiffe://accord/coordinator \
                 by the root CA at {at}"
            ),
            Passed::Directory { version } => write!(
                formatter,
                "directory: version {version}, signed by the coordinator, lists its key"
            ),
            Passed::ReportSignature {
                round_id,
                version,
                digest,
            } => write!(
                formatter,
                "coordinator signature: report {round_id} version {version}, digest {digest}"
            ),
            Passed::Optimal {
                settled,
                redirected,
            } => write!(
                formatter,
                "optimality certificate: {settled} admissions settled (maximal), {redirected} \
                 redirected (minimal), every figure recomputed"
            ),
            Passed::Checkpoint { origin, tree_size } => write!(
                formatter,
                "checkpoint: log {origin} at size {tree_size}, signed by the coordinator, is \
                 the report's cut-off"
            ),
            Passed::Countersignature(state) => {
                write!(formatter, "countersignature of {state}: valid")
            }
            Passed::Final(states) => {
                let states: Vec<String> = states.iter().map(ToString::to_string).collect();
                write!(
                    formatter,
                    "final: every affected state countersigned ({})",
                    states.join(", ")
                )
            }
            Passed::Consistent {
                trusted_size,
                cut_off_size,
            } => write!(
                formatter,
                "trusted checkpoint: the log at size {trusted_size} is consistent with the \
                 cut-off at size {cut_off_size}"
            ),
            Passed::Included {
                line,
                leaf_index,
                description,
            } => write!(
                formatter,
                "event on line {line}: leaf {leaf_index} ({description}) is in the log at the \
                 cut-off"
            ),
        }
    }
}

/// The verified report, once every check passed.
pub type Verified = OpenedReport;

/// The bundle of a signed report, the signed tree head at its cut-off, the directory in
/// force and the coordinator's certificate chain (DER, the signing-key certificate first),
/// with every value no signature covers left out: the countersignatures' `signed_at`, and
/// the tree head's separate signature fields (its checkpoint note carries the same
/// signatures, and is what a verifier checks).
pub fn assemble(
    mut report: pb::SignedSettlementReport,
    tree_head: &pb::SignedTreeHead,
    directory: &pb::SignedDirectory,
    coordinator_certificates: Vec<Vec<u8>>,
) -> pb::SettlementReportBundle {
    for countersignature in &mut report.countersignatures {
        countersignature.signed_at = None;
    }
    pb::SettlementReportBundle {
        report: Some(report),
        tree_head: Some(pb::SignedTreeHead {
            tree_head: tree_head.tree_head.clone(),
            signature: None,
            cosignatures: Vec::new(),
            checkpoint: tree_head.checkpoint.clone(),
        }),
        directory: Some(directory.clone()),
        coordinator_certificates,
    }
}

/// Refuses the values no signature covers (see [`assemble`]).
fn check_all_signed(bundle: &pb::SettlementReportBundle) -> Result<(), Error> {
    let countersignatures = bundle
        .report
        .iter()
        .flat_map(|signed| &signed.countersignatures);
    if countersignatures
        .into_iter()
        .any(|countersignature| countersignature.signed_at.is_some())
    {
        return Err(Error::Unsigned("report.countersignatures.signed_at"));
    }
    if let Some(head) = &bundle.tree_head {
        if head.signature.is_some() {
            return Err(Error::Unsigned("tree_head.signature"));
        }
        if !head.cosignatures.is_empty() {
            return Err(Error::Unsigned("tree_head.cosignatures"));
        }
    }
    Ok(())
}

/// Verifies the bundle `bytes` from `roots` alone, with an optional trusted checkpoint and
/// events (see the module documentation), calling `passed` after each check.
pub fn verify(
    bytes: &[u8],
    roots: &CaBundle,
    trusted: Option<&TrustedCheckpoint>,
    events: &[Event],
    passed: &mut dyn FnMut(Passed),
) -> Result<Verified, Error> {
    let bundle = pb::SettlementReportBundle::decode(bytes).map_err(Error::Decode)?;
    if bundle.encode_to_vec() != bytes {
        return Err(Error::NotCanonical);
    }
    passed(Passed::Decoded);
    let signed = bundle.report.as_ref().ok_or(Error::Missing("report"))?;
    let report = signed.report.as_ref().ok_or(Error::Missing("report"))?;
    check_all_signed(&bundle)?;
    let key = coordinator_key(&bundle, report, roots, passed)?;
    let directory = directory(&bundle, &key)?;
    passed(Passed::Directory {
        version: directory.directory().version(),
    });
    let report = check_signature(signed, &key)?;
    passed(Passed::ReportSignature {
        round_id: report.round_id.clone(),
        version: report.version,
        digest: hex::encode(super::report_digest(&report)),
    });
    let (settled, redirected) = check_content(&report)?;
    passed(Passed::Optimal {
        settled,
        redirected,
    });
    let opened = OpenedReport::new(signed, report)?;
    let (tree_size, root) = cut_off_checkpoint(&bundle, opened.report(), &key, &directory)?;
    passed(Passed::Checkpoint {
        origin: opened.report().log_origin.clone(),
        tree_size,
    });
    for countersignature in &signed.countersignatures {
        let state = opened.check_countersignature(countersignature, directory.directory())?;
        passed(Passed::Countersignature(state));
    }
    let states = opened.check_final(directory.directory())?;
    passed(Passed::Final(states));
    if let Some(trusted) = trusted {
        let origin = opened.report().log_origin.clone();
        let trusted_size = check_consistency(trusted, &origin, &key, tree_size, &root)?;
        passed(Passed::Consistent {
            trusted_size,
            cut_off_size: tree_size,
        });
    }
    for event in events {
        check_inclusion(event, tree_size, &root)?;
        passed(Passed::Included {
            line: event.line,
            leaf_index: event.leaf_index,
            description: describe_leaf(&event.leaf),
        });
    }
    Ok(opened)
}

/// The coordinator's key, certified at the report's `computed_at`: the instant it signed,
/// so that a report stays verifiable after its certificate expires.
fn coordinator_key(
    bundle: &pb::SettlementReportBundle,
    report: &pb::SettlementReport,
    roots: &CaBundle,
    passed: &mut dyn FnMut(Passed),
) -> Result<EventVerifyingKey, Error> {
    let computed_at = report
        .computed_at
        .as_ref()
        .and_then(|time| crate::wire::from_wire_time(time).ok())
        .ok_or(super::Error::Malformed {
            field: "computed_at",
            reason: "not a valid time",
        })?;
    let at =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(computed_at.as_millis()) * 1_000_000)
            .map_err(|_| super::Error::Malformed {
                field: "computed_at",
                reason: "not a valid time",
            })?;
    let chain: Vec<CertificateDer<'_>> = bundle
        .coordinator_certificates
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let identity = PeerIdentity::Coordinator;
    let key = signing_key::verify_signing_key_chain(&chain, roots, at, &identity)
        .map_err(|error| Error::CoordinatorCertificate(identity, error))?;
    passed(Passed::CoordinatorKey {
        key_id: key.key_id().to_string(),
        at: computed_at.to_string(),
    });
    Ok(key)
}

/// The directory in the bundle, signed by `key`, which it lists as the coordinator's.
fn directory(
    bundle: &pb::SettlementReportBundle,
    key: &EventVerifyingKey,
) -> Result<SignedDirectory, Error> {
    let wire = bundle
        .directory
        .as_ref()
        .ok_or(Error::Missing("directory"))?;
    let directory = SignedDirectory::open(wire.encode_to_vec(), key).map_err(Error::Directory)?;
    let key_id = key.key_id().to_string();
    let listed = wire.directory.as_ref().is_some_and(|content| {
        content
            .coordinator_signing_keys
            .iter()
            .any(|listed| listed.key_id == key_id && listed.public_key == key.to_bytes())
    });
    let named = wire
        .signature
        .as_ref()
        .is_some_and(|signature| signature.signing_key_id == key_id);
    if !listed || !named {
        return Err(Error::DirectoryKey(key_id));
    }
    Ok(directory)
}

/// The cut-off's size and root, once the bundle's checkpoint is shown to be the coordinator's
/// head of the report's log at the report's cut-off.
fn cut_off_checkpoint(
    bundle: &pb::SettlementReportBundle,
    report: &pb::SettlementReport,
    key: &EventVerifyingKey,
    directory: &SignedDirectory,
) -> Result<(u64, Hash), Error> {
    let head = bundle
        .tree_head
        .as_ref()
        .ok_or(Error::Missing("signed tree head"))?;
    let origin = report.log_origin.clone();
    let witnesses = witnesses(directory);
    let opened = open_checkpoint(head.checkpoint.as_bytes(), &origin, key, &witnesses).map_err(
        |source| Error::Checkpoint {
            origin: origin.clone(),
            source,
        },
    )?;
    // Every signature line must be one that verified: a line of an unknown key would be
    // bytes no one checked.
    let log_key_hash = KeyName::parse(&origin)
        .map(|name| NoteVerifier::new(name, SignatureType::Ed25519, *key).key_hash())
        .map_err(|source| Error::Checkpoint {
            origin: origin.clone(),
            source: source.into(),
        })?;
    let signatures = opened.note.signatures();
    let checked = |line: &&accord_trust::log::NoteSignature| {
        (line.name().as_str() == origin && line.key_hash() == log_key_hash)
            || opened.cosignatures.iter().any(|verified| {
                verified.name == *line.name() && verified.key_hash == line.key_hash()
            })
    };
    if let Some(unknown) = signatures.iter().find(|line| !checked(line)) {
        return Err(Error::UnknownSigner(unknown.name().to_string()));
    }
    if signatures.len() != 1 + opened.cosignatures.len() {
        return Err(Error::UnknownSigner("a key signing twice".to_owned()));
    }
    let opened = opened.checkpoint;
    let cut_off = report
        .tree_head
        .as_ref()
        .ok_or(Error::Missing("report's tree head"))?;
    let checkpoint = &opened;
    if checkpoint.tree_size() != cut_off.tree_size {
        return Err(Error::CheckpointDiffers("tree size"));
    }
    if checkpoint.root_hash().as_bytes().as_slice() != cut_off.root_hash.as_slice() {
        return Err(Error::CheckpointDiffers("root hash"));
    }
    let millis = cut_off
        .timestamp
        .as_ref()
        .and_then(|time| crate::wire::from_wire_time(time).ok())
        .map(|time| time.as_millis());
    let stated = checkpoint
        .extensions()
        .iter()
        .find_map(|line| line.strip_prefix("timestamp "));
    if let Some(stated) = stated
        && millis.map(|millis| millis.to_string()).as_deref() != Some(stated)
    {
        return Err(Error::CheckpointDiffers("timestamp"));
    }
    if head.tree_head.as_ref() != Some(cut_off) {
        return Err(Error::CheckpointDiffers("typed tree head"));
    }
    Ok((checkpoint.tree_size(), *checkpoint.root_hash()))
}

/// A checkpoint of log `origin` signed by `key`, with the cosignatures of `witnesses`.
fn open_checkpoint(
    note: &[u8],
    origin: &str,
    key: &EventVerifyingKey,
    witnesses: &[NoteVerifier],
) -> Result<OpenedCheckpoint, checkpoint::Error> {
    let name = KeyName::parse(origin)?;
    let verifier = NoteVerifier::new(name, SignatureType::Ed25519, *key);
    Checkpoint::open(note, &verifier, witnesses)
}

/// Every member state's keys as a witness of the log (`accord/state/XX`, `cosignature/v1`).
fn witnesses(directory: &SignedDirectory) -> Vec<NoteVerifier> {
    let mut witnesses = Vec::new();
    for member in directory.directory().members() {
        let Ok(name) = KeyName::parse(&format!("accord/state/{}", member.state)) else {
            continue;
        };
        for entry in &member.signing_keys {
            if let Ok(key) = EventVerifyingKey::from_bytes(&entry.public_key) {
                witnesses.push(NoteVerifier::new(
                    name.clone(),
                    SignatureType::CosignatureV1,
                    key,
                ));
            }
        }
    }
    witnesses
}

/// The trusted checkpoint's size, once it is shown to be a head of the same log as the
/// cut-off (a prefix of it, or it a prefix of the trusted one).
fn check_consistency(
    trusted: &TrustedCheckpoint,
    origin: &str,
    key: &EventVerifyingKey,
    cut_off_size: u64,
    cut_off_root: &Hash,
) -> Result<u64, Error> {
    let checkpoint = open_checkpoint(&trusted.note, origin, key, &[])
        .map_err(|source| Error::TrustedCheckpoint {
            origin: origin.to_owned(),
            source,
        })?
        .checkpoint;
    let trusted_size = checkpoint.tree_size();
    let trusted_root = *checkpoint.root_hash();
    let (first, second) = if trusted_size <= cut_off_size {
        ((trusted_size, trusted_root), (cut_off_size, *cut_off_root))
    } else {
        ((cut_off_size, *cut_off_root), (trusted_size, trusted_root))
    };
    let inconsistent = |source| Error::Inconsistent {
        trusted_size,
        cut_off_size,
        source,
    };
    if first.0 == 0 {
        // The empty tree is a prefix of every tree; nothing to prove.
        return if trusted.consistency_proof.is_empty() {
            Ok(trusted_size)
        } else {
            Err(inconsistent(proof::Error::WrongLength {
                expected: 0,
                actual: trusted.consistency_proof.len(),
            }))
        };
    }
    let proof = ConsistencyProof {
        first_size: first.0,
        second_size: second.0,
        path: trusted.consistency_proof.clone(),
    };
    proof.verify(&first.1, &second.1).map_err(inconsistent)?;
    Ok(trusted_size)
}

fn check_inclusion(event: &Event, cut_off_size: u64, root: &Hash) -> Result<(), Error> {
    if event.tree_size != cut_off_size {
        return Err(Error::EventTreeSize {
            line: event.line,
            tree_size: event.tree_size,
            cut_off_size,
        });
    }
    let proof = InclusionProof {
        leaf_index: event.leaf_index,
        tree_size: event.tree_size,
        audit_path: event.audit_path.clone(),
    };
    proof
        .verify(&leaf_hash(&event.leaf), root)
        .map_err(|source| Error::EventNotIncluded {
            line: event.line,
            leaf_index: event.leaf_index,
            source,
        })
}

/// The case and reporter a leaf names, or that it does not decode.
fn describe_leaf(leaf: &[u8]) -> String {
    match pb::LedgerLeaf::decode(leaf) {
        Ok(leaf) => {
            let case_ref = leaf
                .report
                .as_ref()
                .and_then(|report| report.attestation.as_ref())
                .map_or("no attestation", |attestation| {
                    attestation.case_ref.as_str()
                })
                .to_owned();
            format!("{case_ref}, reported by {}", leaf.reporter_state)
        }
        Err(_) => "not a ledger leaf".to_owned(),
    }
}
