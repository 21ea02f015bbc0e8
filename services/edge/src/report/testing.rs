//! A whole network's worth of signed material for tests of reports (this crate's and the
//! `accord report verify` tests, through the `testing` feature): a root CA with an issuing
//! CA, the coordinator's signing key certified by it, states with keys in a signed
//! directory, a log of signed events in a `MemoryTree`, and a multilateral round settled by
//! the domain engine at the log's cut-off. Nothing here is for production.

use accord_domain::membership::{
    CertificateRole, Directory, Endpoint, Member, MemberCertificate, MemberStatus, SigningKeyEntry,
    SigningKeyStatus,
};
use accord_domain::settlement::{Admission, CapacityLimit, InputParts, Mode, Return};
use accord_domain::{StateCode, Timestamp};
use accord_proto::v1 as pb;
use accord_trust::identity::PeerIdentity;
use accord_trust::log::{
    Checkpoint, Hash, KeyName, MemoryTree, consistency_proof, inclusion_proof, leaf_hash,
};
use accord_trust::pki::{CertificateAuthority, Validity};
use accord_trust::{EventSigningKey, SigningDomain};
use prost::Message;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use time::OffsetDateTime;

use super::bundle::{Event, TrustedCheckpoint};
use super::{RoundFacts, countersign, propose, sign};
use crate::directory::SignedDirectory;
use crate::wire::to_wire_time;

/// The instant every certificate is issued at (seconds since the epoch); reports are
/// computed a little later.
pub const ISSUED_AT_SECONDS: i64 = 1_750_000_000;

/// The log's origin.
pub const LOG_ORIGIN: &str = "accord.example/ledger";

/// The states of the network, each with a signing key in the directory.
pub const STATES: [&str; 4] = ["DE", "FR", "GB", "IT"];

/// How many events the log holds at the report's cut-off.
pub const CUT_OFF_SIZE: u64 = 10;

/// The network: its CA, the coordinator, the states and the log.
pub struct Network {
    /// The root CA: what a verifier trusts.
    pub root: CertificateAuthority,
    /// The coordinator's signing key.
    pub coordinator: EventSigningKey,
    /// Its certificate and the issuing CA's, DER.
    pub coordinator_chain: Vec<Vec<u8>>,
    /// Each state with its signing key.
    pub states: Vec<(StateCode, EventSigningKey)>,
    /// The signed directory listing the states' keys.
    pub directory: SignedDirectory,
    /// The log's leaves, canonical bytes, in order.
    pub leaves: Vec<Vec<u8>>,
    /// The log.
    pub tree: MemoryTree,
}

fn at_seconds(seconds: i64) -> Timestamp {
    Timestamp::from_millis(seconds * 1_000).expect("a test instant")
}

/// When the report is computed.
pub fn computed_at() -> Timestamp {
    at_seconds(ISSUED_AT_SECONDS + 3_600)
}

impl Network {
    /// A network with [`STATES`] and a log of `log_size` events.
    pub fn new(log_size: u64) -> Self {
        let issued = OffsetDateTime::from_unix_timestamp(ISSUED_AT_SECONDS).expect("an instant");
        let root = CertificateAuthority::generate(Validity::days_from(issued, 30).expect("days"))
            .expect("a root CA");
        let issuing = root
            .issue_intermediate(Validity::days_from(issued, 20).expect("days"))
            .expect("an issuing CA");
        let coordinator = EventSigningKey::generate().expect("a key");
        let certified = issuing
            .certify_signing_key(
                &PeerIdentity::Coordinator,
                &coordinator.verifying_key(),
                Validity::days_from(issued, 10).expect("days"),
            )
            .expect("a signing-key certificate");
        let coordinator_chain = CertificateDer::pem_slice_iter(certified.chain_pem.as_bytes())
            .map(|der| der.expect("PEM").as_ref().to_vec())
            .collect();
        let states: Vec<(StateCode, EventSigningKey)> = STATES
            .iter()
            .map(|code| {
                let state = StateCode::parse(code).expect("a state");
                (state, EventSigningKey::generate().expect("a key"))
            })
            .collect();
        let members = states
            .iter()
            .map(|(state, key)| member(*state, key))
            .collect();
        let directory = Directory::restore(3, at_seconds(ISSUED_AT_SECONDS), members, Vec::new())
            .expect("a directory");
        let directory = SignedDirectory::sign(directory, "https://localhost:7000", &coordinator);
        let mut network = Self {
            root,
            coordinator,
            coordinator_chain,
            states,
            directory,
            leaves: Vec::new(),
            tree: MemoryTree::new(),
        };
        for index in 0..log_size {
            network.append(index);
        }
        network
    }

    /// Appends the event numbered `index` (a state's report of a confirmed return).
    pub fn append(&mut self, index: u64) {
        let leaf = self.leaf(index, "");
        self.tree.push(leaf_hash(&leaf));
        self.leaves.push(leaf);
    }

    /// The leaf of event `index`; `salt` makes a different leaf (a forked log's).
    pub fn leaf(&self, index: u64, salt: &str) -> Vec<u8> {
        let (acting, key) = &self.states[(index as usize) % self.states.len()];
        let (other, _) = &self.states[(index as usize + 1) % self.states.len()];
        let attestation = pb::EventAttestation {
            case_ref: format!("RDM-{acting}-{other}-01J0000000000000000000{index:04}{salt}"),
            pair: Some(pb::StatePair {
                first_state: acting.to_string(),
                second_state: other.to_string(),
            }),
            sequence: 5,
            acting_state: acting.to_string(),
            occurred_at: Some(to_wire_time(at_seconds(ISSUED_AT_SECONDS + 60))),
            idempotency_key: format!("k1-{index:064x}"),
            signing_key_id: key.key_id().to_string(),
            event_digest: vec![7; 32],
            kind: None,
        };
        let signature = key.sign(SigningDomain::EVENT, &attestation.encode_to_vec());
        pb::LedgerLeaf {
            reporter_state: acting.to_string(),
            report: Some(pb::EventReport {
                attestation: Some(attestation),
                signature: signature.to_bytes().to_vec(),
            }),
            accepted_at: Some(to_wire_time(at_seconds(ISSUED_AT_SECONDS + 120))),
        }
        .encode_to_vec()
    }

    /// The round's inputs: returns and admissions among the four states, multilateral.
    pub fn inputs() -> InputParts {
        let state = |code: &str| StateCode::parse(code).expect("a state");
        let returns = [
            ("GB", "FR", 9),
            ("FR", "GB", 2),
            ("DE", "IT", 4),
            ("IT", "GB", 3),
        ];
        let mut parts = InputParts::new(
            Mode::Multilateral,
            returns
                .iter()
                .map(|(from, to, count)| Return {
                    from: state(from),
                    to: state(to),
                    count: *count,
                })
                .collect(),
        );
        parts.admissions = vec![Admission {
            admitting: state("GB"),
            origin: state("FR"),
            count: 1,
        }];
        parts.capacity = vec![CapacityLimit {
            state: state("GB"),
            count: 5,
        }];
        parts
    }

    /// The round's facts at the log's current size.
    pub fn facts(&self) -> RoundFacts {
        let size = self.tree.size();
        RoundFacts {
            round_id: "RND-2025-W25-1".to_owned(),
            version: 1,
            period_start: at_seconds(ISSUED_AT_SECONDS - 7 * 86_400),
            period_end: at_seconds(ISSUED_AT_SECONDS),
            log_origin: LOG_ORIGIN.to_owned(),
            tree_size: size,
            root_hash: self.tree.root_hash(size).expect("the tree's root"),
            tree_head_at: at_seconds(ISSUED_AT_SECONDS + 1_800),
            computed_at: computed_at(),
            perform_by: Some(at_seconds(ISSUED_AT_SECONDS + 30 * 86_400)),
            movements: Vec::new(),
            open_breaks: vec![pb::BreakCount {
                kind: pb::BreakKind::OneSided.into(),
                age_bucket: pb::BreakAgeBucket::Days0To3.into(),
                count: 1,
            }],
            performances: Vec::new(),
        }
    }

    /// The report of the round, signed by the coordinator and countersigned by every
    /// affected state.
    pub fn final_report(&self) -> pb::SignedSettlementReport {
        let report = propose(&self.facts(), Self::inputs()).expect("a report");
        let mut signed = sign(report, &self.coordinator);
        let report = signed.report.clone().expect("the report");
        for affected in &report.affected_states {
            let (state, key) = self
                .states
                .iter()
                .find(|(state, _)| state.as_str() == affected)
                .expect("an affected state is a member");
            let signed_at = at_seconds(ISSUED_AT_SECONDS + 7_200);
            signed
                .countersignatures
                .push(countersign(&report, *state, key, signed_at));
        }
        signed
    }

    /// The signed checkpoint of this log at `size`.
    pub fn checkpoint(&self, size: u64) -> String {
        let root = self.tree.root_hash(size).expect("a size of the log");
        let name = KeyName::parse(LOG_ORIGIN).expect("a key name");
        let millis = at_seconds(ISSUED_AT_SECONDS + 1_800).as_millis();
        let checkpoint = Checkpoint::new(&name, size, root)
            .with_extensions(vec![format!("timestamp {millis}")])
            .expect("an extension");
        checkpoint
            .sign(&self.coordinator)
            .expect("a signed note")
            .to_string()
    }

    /// The bundle of `report` at the log's current size.
    pub fn bundle(&self, report: pb::SignedSettlementReport) -> pb::SettlementReportBundle {
        let size = self.tree.size();
        let tree_head = pb::SignedTreeHead {
            tree_head: report_tree_head(self, size),
            signature: None,
            cosignatures: Vec::new(),
            checkpoint: self.checkpoint(size),
        };
        super::bundle::assemble(
            report,
            &tree_head,
            self.directory.wire(),
            self.coordinator_chain.clone(),
        )
    }

    /// A checkpoint of this log at `trusted_size` and the consistency proof to `size`.
    pub fn trusted(&self, trusted_size: u64, size: u64) -> TrustedCheckpoint {
        let (first, second) = (trusted_size.min(size), trusted_size.max(size));
        let path = if first == 0 || first == second {
            Vec::new()
        } else {
            let Ok(proof) = consistency_proof(&self.tree, first, second);
            proof.expect("sizes in order").path
        };
        TrustedCheckpoint {
            note: self.checkpoint(trusted_size).into_bytes(),
            consistency_proof: path,
        }
    }

    /// Leaf `index` with its inclusion proof at `size`.
    pub fn event(&self, index: u64, size: u64) -> Event {
        let Ok(proof) = inclusion_proof(&self.tree, index, size);
        let proof = proof.expect("a leaf of the tree");
        Event {
            line: 1,
            leaf: self.leaves[index as usize].clone(),
            leaf_index: index,
            tree_size: size,
            audit_path: proof.audit_path,
        }
    }

    /// The root CA's certificate, PEM: the verifier's CA.pem.
    pub fn ca_pem(&self) -> &str {
        self.root.certificate_pem()
    }

    /// The root hash at `size`.
    pub fn root_hash(&self, size: u64) -> Hash {
        self.tree.root_hash(size).expect("a size of the log")
    }
}

fn report_tree_head(network: &Network, size: u64) -> Option<pb::TreeHead> {
    Some(pb::TreeHead {
        tree_size: size,
        root_hash: network.root_hash(size).as_bytes().to_vec(),
        timestamp: Some(to_wire_time(at_seconds(ISSUED_AT_SECONDS + 1_800))),
    })
}

fn member(state: StateCode, key: &EventSigningKey) -> Member {
    let joined = at_seconds(ISSUED_AT_SECONDS - 86_400);
    Member {
        state,
        status: MemberStatus::Active,
        status_reason: None,
        status_changed_at: joined,
        joined_at: joined,
        endpoint: Endpoint::parse(&format!(
            "https://{}.example:7001",
            state.as_str().to_lowercase()
        ))
        .expect("an endpoint"),
        certificates: vec![MemberCertificate {
            role: CertificateRole::Node,
            sha256_fingerprint: [7; 32],
            serial: vec![1],
            not_before: joined,
            not_after: at_seconds(ISSUED_AT_SECONDS + 86_400 * 10),
        }],
        signing_keys: vec![SigningKeyEntry {
            key_id: key.key_id().to_string(),
            public_key: key.verifying_key().to_bytes(),
            status: SigningKeyStatus::Active,
            valid_from: joined,
            valid_until: None,
        }],
    }
}
