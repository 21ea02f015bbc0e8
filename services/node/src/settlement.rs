//! The node's side of settlement rounds (`[coordinator]`): each round the coordinator
//! proposes that affects this node's state is checked, then countersigned — or disputed
//! with the reasons found, signed by this node.
//!
//! [`Settler`] looks for proposed rounds awaiting this state's countersignature and checks
//! each report before it signs anything:
//! - the report opens under the coordinator's key: its digest and signature, the optimality
//!   certificate and every figure recomputed from its inputs (`accord_edge::report::open`) —
//!   else `COMPUTATION_MISMATCH`;
//! - its tree head is consistent with the last head this node cosigned as the log's witness
//!   (either may be the larger) — else `TREE_HEAD_INCONSISTENT`;
//! - every leaf of every counted movement of this state's pairs is in the log at the
//!   report's head, by an inclusion proof against the report's root — else
//!   `INCLUSION_PROOF_FAILED`.
//!
//! A round it cannot reach now is tried again at the next look; a round it disputed is no
//! longer proposed, so it is never disputed twice.
//!
//! Once a round is final, the settler records its instructions that name this state as
//! admission allocations its caseworkers list (`ListAllocations`): each final round is read
//! once, its report opened under the coordinator's key first (a report that does not open is
//! logged as an alert and its allocations are not recorded).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use accord_domain::StateCode;
use accord_edge::report;
use accord_proto::v1 as pb;
use accord_proto::v1::settlement_service_client::SettlementServiceClient;
use accord_trust::SigningDomain;
use accord_trust::log::Hash;
use prost::Message;
use tokio::sync::watch;
use tonic::transport::Channel;

use crate::ledger::LedgerLink;
use crate::store::AllocationRecord;

/// Rounds asked per page.
const ROUNDS_PER_PAGE: u32 = 100;

/// The most inclusion proofs asked at once.
const PROOFS_MAX: usize = 512;

/// Checks and countersigns, or disputes, the rounds that affect this node's state.
#[derive(Clone)]
pub struct Settler {
    link: LedgerLink,
    client: SettlementServiceClient<Channel>,
    /// What the settler still has to read for allocations.
    awaiting_final: Arc<Mutex<AwaitingFinal>>,
}

/// The final rounds still to read for allocations.
#[derive(Debug, Default)]
struct AwaitingFinal {
    /// Whether every final round was looked at since the start.
    scanned: bool,
    /// The rounds this node countersigned and has not seen final yet.
    countersigned: BTreeSet<String>,
}

/// What a settler did with one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Countersigned the round's report.
    Countersigned(String),
    /// Disputed it, for these reasons.
    Disputed(String, Vec<pb::DisputeReason>),
}

impl Settler {
    /// The settler over `link` (the ledger, the node's app and the coordinator's key) and the
    /// coordinator's `SettlementService`.
    pub fn new(link: LedgerLink, client: SettlementServiceClient<Channel>) -> Self {
        Self {
            link,
            client,
            awaiting_final: Arc::default(),
        }
    }

    /// Looks for rounds to settle every interval until `shutdown` turns true.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let link = self.link.clone();
        link.repeat(shutdown, "checking settlement rounds", || async {
            self.settle_once().await?;
            self.allocate_once().await.map(|_| false)
        })
        .await;
    }

    /// Checks every proposed round awaiting this state's countersignature, and countersigns
    /// or disputes each.
    pub async fn settle_once(&self) -> Result<Vec<Settled>, tonic::Status> {
        let own = self.link.app.own_state();
        let rounds = self.rounds_in(pb::RoundStatus::Proposed).await?;
        let mut settled = Vec::new();
        for round in rounds {
            if !round
                .awaiting_countersignature
                .iter()
                .any(|state| *state == own.as_str())
            {
                continue;
            }
            let Some(signed) = round.report.as_ref() else {
                continue;
            };
            let reasons = self.check(own, signed).await?;
            settled.push(if reasons.is_empty() {
                self.countersign(own, &round, signed).await?
            } else {
                self.dispute(own, &round, signed, reasons).await?
            });
        }
        Ok(settled)
    }

    /// Records the allocations of every final round not read yet; answers the rounds read.
    /// The first look reads every final round; later ones only the rounds this node
    /// countersigned since (a round's instructions name only states that countersign it).
    pub async fn allocate_once(&self) -> Result<Vec<String>, tonic::Status> {
        let (scanned, countersigned) = {
            let awaiting = self.awaiting();
            (awaiting.scanned, awaiting.countersigned.clone())
        };
        let mut rounds = if scanned {
            Vec::new()
        } else {
            self.rounds_in(pb::RoundStatus::Final).await?
        };
        for round_id in countersigned {
            let round = self
                .client
                .clone()
                .get_round(pb::GetRoundRequest {
                    round_id: round_id.clone(),
                })
                .await?
                .into_inner()
                .round;
            match round {
                Some(round) if round.status() == pb::RoundStatus::Final => rounds.push(round),
                // Still awaiting others' countersignatures.
                Some(round) if round.status() == pb::RoundStatus::Proposed => {}
                // Disputed (this state countersigns again when a new version comes), or gone.
                _ => {
                    self.awaiting().countersigned.remove(&round_id);
                }
            }
        }
        let store = self.link.app.store();
        let internal = |error: crate::store::Error| tonic::Status::internal(error.to_string());
        let mut read = Vec::new();
        for round in rounds {
            if store
                .allocation_round_read(&round.round_id)
                .await
                .map_err(internal)?
            {
                self.awaiting().countersigned.remove(&round.round_id);
                continue;
            }
            let Some(signed) = round.report.as_ref() else {
                continue;
            };
            let opened = match report::open(signed, &self.link.coordinator_key) {
                Ok(opened) => opened,
                Err(error) => {
                    // Raised once per start: the next start looks again.
                    tracing::error!(alert = "settlement_report_refused", round_id = %round.round_id, %error, "a final report does not open");
                    self.awaiting().countersigned.remove(&round.round_id);
                    continue;
                }
            };
            let now = self.link.app.now().as_millis();
            let allocations = allocations_of(self.link.app.own_state(), opened.report(), now);
            store
                .record_allocations(&round.round_id, now, &allocations)
                .await
                .map_err(internal)?;
            tracing::info!(round_id = %round.round_id, allocations = allocations.len(), "recorded a final round's allocations");
            read.push(round.round_id);
        }
        let mut awaiting = self.awaiting();
        awaiting.scanned = true;
        for round_id in &read {
            awaiting.countersigned.remove(round_id);
        }
        Ok(read)
    }

    fn awaiting(&self) -> std::sync::MutexGuard<'_, AwaitingFinal> {
        self.awaiting_final
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every round in `status` this state may see, page by page.
    async fn rounds_in(&self, status: pb::RoundStatus) -> Result<Vec<pb::Round>, tonic::Status> {
        let mut rounds = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .client
                .clone()
                .list_rounds(pb::ListRoundsRequest {
                    statuses: vec![status.into()],
                    page_size: ROUNDS_PER_PAGE,
                    page_token,
                    ..pb::ListRoundsRequest::default()
                })
                .await?
                .into_inner();
            rounds.extend(page.rounds);
            if page.next_page_token.is_empty() {
                return Ok(rounds);
            }
            page_token = page.next_page_token;
        }
    }

    /// The reasons to dispute `signed`; none when this node may countersign it.
    async fn check(
        &self,
        own: StateCode,
        signed: &pb::SignedSettlementReport,
    ) -> Result<Vec<pb::DisputeReason>, tonic::Status> {
        let opened = match report::open(signed, &self.link.coordinator_key) {
            Ok(opened) => opened,
            Err(error) => {
                tracing::error!(alert = "settlement_report_refused", %error, "a proposed report does not open");
                return Ok(vec![pb::DisputeReason::ComputationMismatch]);
            }
        };
        let report = opened.report();
        let Some((size, root)) = report
            .tree_head
            .as_ref()
            .and_then(|head| Some((head.tree_size, Hash::from_slice(&head.root_hash).ok()?)))
        else {
            return Ok(vec![pb::DisputeReason::ComputationMismatch]);
        };
        let mut reasons = Vec::new();
        if !self.consistent_with_witnessed(size, &root).await? {
            reasons.push(pb::DisputeReason::TreeHeadInconsistent);
        }
        let leaves: Vec<u64> = report
            .inputs
            .iter()
            .flat_map(|inputs| &inputs.movements)
            .filter(|movement| {
                movement.pair.as_ref().is_some_and(|pair| {
                    pair.first_state == own.as_str() || pair.second_state == own.as_str()
                })
            })
            .flat_map(|movement| movement.leaf_indices.iter().copied())
            .collect();
        if !self.all_included(&leaves, size, &root).await? {
            reasons.push(pb::DisputeReason::InclusionProofFailed);
        }
        Ok(reasons)
    }

    /// Whether the report's head and the head this node cosigned last are one log.
    async fn consistent_with_witnessed(
        &self,
        size: u64,
        root: &Hash,
    ) -> Result<bool, tonic::Status> {
        let store = self.link.app.store();
        let witnessed = store
            .witnessed_head()
            .await
            .map_err(|error| tonic::Status::internal(error.to_string()))?;
        let Some(witnessed) = witnessed else {
            return Ok(true);
        };
        let witnessed_size = u64::try_from(witnessed.tree_size).unwrap_or(0);
        let Ok(witnessed_root) = Hash::from_slice(&witnessed.root_hash) else {
            return Ok(false);
        };
        if witnessed_size == size {
            return Ok(witnessed_root == *root);
        }
        let ((first, first_root), (second, second_root)) = if witnessed_size < size {
            ((witnessed_size, witnessed_root), (size, *root))
        } else {
            ((size, *root), (witnessed_size, witnessed_root))
        };
        if first == 0 {
            return Ok(true);
        }
        self.link
            .consistent(first, &first_root, second, &second_root)
            .await
    }

    /// Whether every leaf of `leaves` is in the log of `size` leaves with `root`.
    async fn all_included(
        &self,
        leaves: &[u64],
        size: u64,
        root: &Hash,
    ) -> Result<bool, tonic::Status> {
        for chunk in leaves.chunks(PROOFS_MAX) {
            let answer = self
                .link
                .client
                .clone()
                .get_inclusion_proofs(pb::GetInclusionProofsRequest {
                    leaf_indices: chunk.to_vec(),
                    tree_size: size,
                })
                .await;
            let proofs = match answer {
                Ok(answer) => answer.into_inner().proofs,
                Err(status) if status.code() == tonic::Code::Unavailable => return Err(status),
                Err(_) => return Ok(false),
            };
            for &index in chunk {
                let proved = proofs
                    .iter()
                    .find(|proof| proof.leaf_index == index)
                    .is_some_and(|proof| crate::ledger::proves_inclusion(proof, size, root));
                if !proved {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    async fn countersign(
        &self,
        own: StateCode,
        round: &pb::Round,
        signed: &pb::SignedSettlementReport,
    ) -> Result<Settled, tonic::Status> {
        let app = &self.link.app;
        let Some(report) = signed.report.as_ref() else {
            return Err(tonic::Status::internal(
                "a proposed round without its report",
            ));
        };
        let countersignature = report::countersign(report, own, app.signer(), app.now());
        self.client
            .clone()
            .countersign_round(pb::CountersignRoundRequest {
                idempotency_key: key("countersign", &round.round_id, &signed.report_digest),
                round_id: round.round_id.clone(),
                report_digest: signed.report_digest.clone(),
                countersignature: Some(countersignature),
            })
            .await?;
        tracing::info!(round_id = %round.round_id, "countersigned a settlement round");
        self.awaiting().countersigned.insert(round.round_id.clone());
        Ok(Settled::Countersigned(round.round_id.clone()))
    }

    async fn dispute(
        &self,
        own: StateCode,
        round: &pb::Round,
        signed: &pb::SignedSettlementReport,
        reasons: Vec<pb::DisputeReason>,
    ) -> Result<Settled, tonic::Status> {
        let app = &self.link.app;
        let dispute = pb::RoundDispute {
            round_id: round.round_id.clone(),
            report_digest: signed.report_digest.clone(),
            state: own.to_string(),
            reasons: reasons.iter().map(|reason| i32::from(*reason)).collect(),
            case_refs: Vec::new(),
        };
        let signature = app
            .signer()
            .sign(SigningDomain::ROUND_DISPUTE, &dispute.encode_to_vec());
        tracing::error!(alert = "settlement_round_disputed", round_id = %round.round_id, ?reasons, "disputed a settlement round");
        self.client
            .clone()
            .dispute_round(pb::DisputeRoundRequest {
                idempotency_key: key("dispute", &round.round_id, &signed.report_digest),
                dispute: Some(pb::SignedRoundDispute {
                    dispute: Some(dispute),
                    signature: Some(pb::StateSignature {
                        state: own.to_string(),
                        signing_key_id: app.signer().key_id().to_string(),
                        signature: signature.to_bytes().to_vec(),
                        signed_at: None,
                    }),
                }),
            })
            .await?;
        Ok(Settled::Disputed(round.round_id.clone(), reasons))
    }
}

/// The instructions of `report` that name `own`, as allocations recorded at `now` (ms).
fn allocations_of(
    own: StateCode,
    report: &pb::SettlementReport,
    now: i64,
) -> Vec<AllocationRecord> {
    let millis = |time: Option<&prost_types::Timestamp>| {
        time.and_then(|time| accord_edge::wire::from_wire_time(time).ok())
            .map(|time| time.as_millis())
    };
    let period = report.period.as_ref();
    let period_start = millis(period.and_then(|period| period.start_time.as_ref())).unwrap_or(0);
    let period_end = millis(period.and_then(|period| period.end_time.as_ref())).unwrap_or(0);
    report
        .instructions
        .iter()
        .filter(|instruction| {
            instruction.admitting_state == own.as_str() || instruction.origin_state == own.as_str()
        })
        .map(|instruction| AllocationRecord {
            round_id: report.round_id.clone(),
            report_version: i64::from(report.version),
            admitting_state: instruction.admitting_state.clone(),
            origin_state: instruction.origin_state.clone(),
            people: i64::from(instruction.count),
            redirected: i64::from(instruction.redirected),
            perform_by: millis(instruction.perform_by.as_ref()),
            period_start,
            period_end,
            recorded_at: now,
        })
        .collect()
}

/// The idempotency key of this node's answer to one report: the same report gets the same
/// key, a new version another.
fn key(what: &str, round_id: &str, digest: &[u8]) -> String {
    let digest = hex::encode(&digest[..digest.len().min(8)]);
    format!("{what}-{round_id}-{digest}")
}
