//! The node's side of the coordinator's ledger (`[coordinator]`): it reports every event it
//! records or accepts, and it witnesses the log.
//!
//! [`Reporter`] takes the events not reported yet from the store — each event's row is its
//! place in the queue, committed with the event — and sends them, in batches of at most 512,
//! on `ReportEvents`. Only the attestation and the signature leave the node (the event's
//! detail stays). An event leaves the queue when the coordinator answers: logged (or logged
//! before) with its leaf, or refused — kept with the reason, logged as an alert, never sent
//! again since the same report would be refused alike. A coordinator that cannot be reached
//! costs one attempt per back-off period; nothing is lost, the queue is the store.
//!
//! [`Witness`] checks each new tree head before it cosigns it: the coordinator's key signed
//! the checkpoint, the typed head says the same, the head is consistent with the last one
//! this node cosigned (an RFC 9162 consistency proof; never a smaller log or another root
//! at the same size), and each event this node reported is included where the coordinator
//! said (an inclusion proof per leaf, and the leaf is exactly this node's report). Only then
//! does it cosign (`cosignature/v1`) and keep the head. A head that fails any check is never
//! cosigned: the node logs an alert (`alert = "ledger_head_refused"`) and counts it
//! ([`Witness::refused`]).
//!
//! [`LedgerCaseLog`] reads one case's leaves with a checkpoint signed at the time asked
//! (`ListCaseLeaves`): the log's clock, on which S's node records acceptance by default
//! (`app::LogClock`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use accord_domain::{CaseRef, StateCode};
use accord_proto::v1 as pb;
use accord_proto::v1::ledger_service_client::LedgerServiceClient;
use accord_trust::log::{
    Checkpoint, ConsistencyProof, Hash, InclusionProof, KeyName, Note, NoteVerifier, SignatureType,
    cosign, leaf_hash,
};
use accord_trust::{EventVerifyingKey, KeyId};
use prost::Message;
use tokio::sync::watch;
use tonic::transport::Channel;

use crate::app::{App, Backoff, CaseLog, CaseLogView, LoggedEvent, Unreachable};
use crate::convert::envelope::ledger_report;
use crate::convert::readmission::reply_step_from_wire;
use crate::store::{ReportAnswer, ReportOutcome};

/// The most reports one batch holds (`ledger.proto`).
const BATCH_MAX: u64 = 512;

/// The most inclusion proofs asked at once.
const PROOFS_MAX: u64 = 512;

/// What the reporter and the witness share: the coordinator's ledger client, the node's app
/// (its state, store and key) and the coordinator's key.
#[derive(Clone)]
pub struct LedgerLink {
    /// The coordinator's `LedgerService`, over mTLS as this node.
    pub client: LedgerServiceClient<Channel>,
    /// The node's use cases: its state, store and event key.
    pub app: App,
    /// The coordinator's key, which signs every tree head.
    pub coordinator_key: EventVerifyingKey,
    /// Waits after failures.
    pub backoff: Backoff,
    /// How often the reporter looks for events when it found none, and the witness for a
    /// new head.
    pub interval: Duration,
}

/// The coordinator's log of one case, for acceptance by default on the log's clock.
#[derive(Clone)]
pub struct LedgerCaseLog {
    client: LedgerServiceClient<Channel>,
}

impl LedgerCaseLog {
    /// The case log read through `client`.
    pub fn new(client: LedgerServiceClient<Channel>) -> Self {
        Self { client }
    }

    async fn read(&self, case_ref: &CaseRef) -> Result<CaseLogView, Unreachable> {
        let answer = self
            .client
            .clone()
            .list_case_leaves(pb::ListCaseLeavesRequest {
                case_ref: case_ref.to_string(),
            })
            .await
            .map_err(|status| Unreachable(status.message().to_owned()))?
            .into_inner();
        let checkpoint = answer
            .tree_head
            .map(|head| head.checkpoint)
            .ok_or_else(|| Unreachable("the ledger answered no checkpoint".to_owned()))?;
        let events = answer
            .leaves
            .iter()
            .filter_map(|entry| entry.leaf.as_ref()?.report.as_ref()?.attestation.as_ref())
            .filter_map(|attestation| {
                let step = match attestation.kind {
                    Some(pb::event_attestation::Kind::ReadmissionEventKind(kind)) => {
                        reply_step_from_wire(kind)
                    }
                    _ => None,
                };
                Some(LoggedEvent {
                    acting_state: StateCode::parse(&attestation.acting_state).ok()?,
                    sequence: attestation.sequence,
                    step,
                })
            })
            .collect();
        Ok(CaseLogView {
            checkpoint,
            events,
            truncated: answer.truncated,
        })
    }
}

impl CaseLog for LedgerCaseLog {
    fn case_events<'a>(
        &'a self,
        case_ref: &'a CaseRef,
    ) -> Pin<Box<dyn Future<Output = Result<CaseLogView, Unreachable>> + Send + 'a>> {
        Box::pin(self.read(case_ref))
    }
}

impl LedgerLink {
    /// Runs `work` until `shutdown` turns true: again at once while it answers that more is
    /// waiting, after `interval` when it answers that nothing is, after a doubling, jittered
    /// back-off while it fails (logged with `what` it could not do).
    pub(crate) async fn repeat<F, Fut>(
        &self,
        mut shutdown: watch::Receiver<bool>,
        what: &'static str,
        mut work: F,
    ) where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<bool, tonic::Status>>,
    {
        let mut failures: u32 = 0;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let wait = match work().await {
                Ok(true) => {
                    failures = 0;
                    continue;
                }
                Ok(false) => {
                    failures = 0;
                    self.interval
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(%error, failures, "{what} cannot be done now; retrying");
                    self.backoff.delay(failures, u64::from(failures))
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Whether the coordinator proves the head of `first` leaves a prefix of `second`'s. A
    /// refusal to prove (sizes it does not hold) or a proof that does not verify is `false`;
    /// a coordinator that cannot answer now is an error, for the caller to retry.
    pub(crate) async fn consistent(
        &self,
        first: u64,
        first_root: &Hash,
        second: u64,
        second_root: &Hash,
    ) -> Result<bool, tonic::Status> {
        let asked = self
            .client
            .clone()
            .get_consistency_proof(pb::GetConsistencyProofRequest {
                first_tree_size: first,
                second_tree_size: second,
            })
            .await;
        let answer = match asked {
            Ok(answer) => answer.into_inner(),
            Err(status) if unprovable(&status) => return Ok(false),
            Err(status) => return Err(status),
        };
        let Ok(path) = answer
            .proof
            .iter()
            .map(|hash| Hash::from_slice(hash))
            .collect::<Result<Vec<_>, _>>()
        else {
            return Ok(false);
        };
        let proof = ConsistencyProof {
            first_size: first,
            second_size: second,
            path,
        };
        Ok(proof.verify(first_root, second_root).is_ok())
    }
}

/// Sends the events the coordinator has not logged yet.
#[derive(Clone)]
pub struct Reporter {
    link: LedgerLink,
}

impl Reporter {
    /// The reporter over `link`.
    pub fn new(link: LedgerLink) -> Self {
        Self { link }
    }

    /// Reports until `shutdown` turns true, the next batch at once while batches are full.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let link = self.link.clone();
        link.repeat(shutdown, "reporting events to the ledger", || async {
            self.report_once()
                .await
                .map(|sent| sent as u64 == BATCH_MAX)
        })
        .await;
    }

    /// Sends one batch of the events not reported yet and records the answers; how many
    /// were sent.
    pub async fn report_once(&self) -> Result<usize, tonic::Status> {
        let store = self.link.app.store();
        let pending = store.unreported_events(BATCH_MAX).await.map_err(internal)?;
        let mut reports = Vec::with_capacity(pending.len());
        let mut events = Vec::with_capacity(pending.len());
        let mut answers = Vec::new();
        for event in pending {
            let sequence = u64::try_from(event.sequence).unwrap_or(0);
            match ledger_report(&event.case_ref, &event.envelope) {
                Ok(report) => {
                    reports.push(report);
                    events.push((event.case_ref, sequence));
                }
                Err(error) => {
                    tracing::error!(alert = "ledger_report_unreadable", case_ref = %event.case_ref, sequence, %error, "a stored event cannot be reported");
                    answers.push(ReportAnswer {
                        case_ref: event.case_ref,
                        sequence,
                        outcome: ReportOutcome::Refused(format!("unreadable: {error}")),
                    });
                }
            }
        }
        if let Some((first_case, first_sequence)) = events.first().cloned() {
            let batch = pb::ReportEventsRequest {
                batch_id: format!("{first_case}#{first_sequence}+{}", events.len()),
                reports,
            };
            let mut stream = self
                .link
                .client
                .clone()
                .report_events(tokio_stream::iter(vec![batch]))
                .await?
                .into_inner();
            let answer = stream.message().await?.ok_or_else(|| {
                tonic::Status::unavailable("the ledger ended the stream unanswered")
            })?;
            for result in &answer.results {
                let Some((case_ref, sequence)) = usize::try_from(result.index)
                    .ok()
                    .and_then(|index| events.get(index))
                else {
                    continue;
                };
                let outcome = match result.outcome() {
                    pb::EventReportOutcome::Accepted | pb::EventReportOutcome::Duplicate => {
                        ReportOutcome::Logged(result.leaf_index)
                    }
                    _ => {
                        let why = refusal(result);
                        tracing::error!(alert = "ledger_report_refused", %case_ref, sequence, why, "the ledger refused an event");
                        ReportOutcome::Refused(why)
                    }
                };
                answers.push(ReportAnswer {
                    case_ref: case_ref.clone(),
                    sequence: *sequence,
                    outcome,
                });
            }
        }
        store
            .record_report_answers(&answers)
            .await
            .map_err(internal)?;
        Ok(events.len())
    }
}

fn refusal(result: &pb::EventReportResult) -> String {
    let fields: Vec<String> = result
        .violations
        .iter()
        .map(|violation| format!("{}: {}", violation.field, violation.description))
        .collect();
    format!(
        "{}: {}",
        result.rejection_reason().as_str_name(),
        fields.join("; ")
    )
}

fn internal(error: impl std::fmt::Display) -> tonic::Status {
    tonic::Status::internal(format!("the node's store: {error}"))
}

/// Why a tree head is not cosigned.
#[derive(Debug, thiserror::Error)]
pub enum HeadRefused {
    /// The checkpoint does not verify under the coordinator's key.
    #[error("the checkpoint is not signed by the coordinator's key: {0}")]
    Signature(String),
    /// The typed head and the checkpoint disagree.
    #[error("the tree head says another size or root than its checkpoint")]
    Disagrees,
    /// A smaller log than the one cosigned before.
    #[error("the log shrank from {cosigned} to {offered} leaves")]
    Shrank {
        /// The size cosigned before.
        cosigned: u64,
        /// The size offered now.
        offered: u64,
    },
    /// The head is not an extension of the one cosigned before: a fork.
    #[error("the head of {offered} leaves is not consistent with the cosigned head of {cosigned}")]
    Inconsistent {
        /// The size cosigned before.
        cosigned: u64,
        /// The size offered now.
        offered: u64,
    },
    /// One of this node's reports is not in the log as reported.
    #[error("this node's report at leaf {0} is not included as it was sent")]
    NotIncluded(u64),
}

/// What the witness did with a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Witnessed {
    /// It checked and cosigned a head of this size.
    Cosigned(u64),
    /// It had cosigned this head before.
    AlreadyCosigned(u64),
}

/// Checks and cosigns the coordinator's tree heads.
#[derive(Clone)]
pub struct Witness {
    link: LedgerLink,
    refused: Arc<AtomicU64>,
}

impl Witness {
    /// The witness over `link`.
    pub fn new(link: LedgerLink) -> Self {
        Self {
            link,
            refused: Arc::default(),
        }
    }

    /// How many heads it refused since the node started.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Witnesses every new head until `shutdown` turns true.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let link = self.link.clone();
        link.repeat(shutdown, "witnessing the ledger's tree head", || async {
            self.witness_latest().await.map(|_| false)
        })
        .await;
    }

    /// Fetches the latest head and witnesses it.
    pub async fn witness_latest(&self) -> Result<Witnessed, tonic::Status> {
        let head = self
            .link
            .client
            .clone()
            .get_tree_head(pb::GetTreeHeadRequest { tree_size: 0 })
            .await?
            .into_inner()
            .tree_head
            .ok_or_else(|| tonic::Status::unavailable("the ledger answered no head"))?;
        self.witness(head).await
    }

    /// Checks `head` and cosigns it; a refused head is an alert and a `FAILED_PRECONDITION`.
    pub async fn witness(&self, head: pb::SignedTreeHead) -> Result<Witnessed, tonic::Status> {
        match self.check(&head).await? {
            Ok(Some(checked)) => self.cosign(head, checked).await,
            Ok(None) => Ok(Witnessed::AlreadyCosigned(
                head.tree_head.as_ref().map_or(0, |typed| typed.tree_size),
            )),
            Err(refused) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                tracing::error!(alert = "ledger_head_refused", error = %refused, "a tree head of the coordinator's log was refused and not cosigned");
                Err(tonic::Status::failed_precondition(refused.to_string()))
            }
        }
    }

    /// The checked head's size, root and checkpoint; `None` when cosigned before.
    async fn check(
        &self,
        head: &pb::SignedTreeHead,
    ) -> Result<Result<Option<Checked>, HeadRefused>, tonic::Status> {
        let origin = head.checkpoint.split('\n').next().unwrap_or_default();
        let verifier = match KeyName::parse(origin) {
            Ok(name) => NoteVerifier::new(name, SignatureType::Ed25519, self.link.coordinator_key),
            Err(error) => return Ok(Err(HeadRefused::Signature(error.to_string()))),
        };
        let opened = match Checkpoint::open(head.checkpoint.as_bytes(), &verifier, &[]) {
            Ok(opened) => opened,
            Err(error) => return Ok(Err(HeadRefused::Signature(error.to_string()))),
        };
        let (size, root) = (
            opened.checkpoint.tree_size(),
            *opened.checkpoint.root_hash(),
        );
        let typed = head.tree_head.as_ref();
        if typed.is_none_or(|typed| typed.tree_size != size || typed.root_hash != root.as_bytes()) {
            return Ok(Err(HeadRefused::Disagrees));
        }
        let store = self.link.app.store();
        let cosigned = store.witnessed_head().await.map_err(internal)?;
        if let Some(cosigned) = &cosigned {
            let cosigned_size = u64::try_from(cosigned.tree_size).unwrap_or(0);
            let cosigned_root = Hash::from_slice(&cosigned.root_hash).map_err(internal)?;
            if size < cosigned_size {
                return Ok(Err(HeadRefused::Shrank {
                    cosigned: cosigned_size,
                    offered: size,
                }));
            }
            if size == cosigned_size {
                return Ok(if root == cosigned_root {
                    Ok(None)
                } else {
                    Err(HeadRefused::Inconsistent {
                        cosigned: cosigned_size,
                        offered: size,
                    })
                });
            }
            if cosigned_size > 0
                && !self
                    .link
                    .consistent(cosigned_size, &cosigned_root, size, &root)
                    .await?
            {
                return Ok(Err(HeadRefused::Inconsistent {
                    cosigned: cosigned_size,
                    offered: size,
                }));
            }
        }
        let proved = match self.own_reports_included(size, &root).await? {
            Ok(proved) => proved,
            Err(refused) => return Ok(Err(refused)),
        };
        Ok(Ok(Some(Checked {
            size,
            root,
            body: opened.note.text().to_owned(),
            proved,
        })))
    }

    /// Proves each of this node's reports below `size` not proved yet included, as sent;
    /// answers the leaves proved.
    async fn own_reports_included(
        &self,
        size: u64,
        root: &Hash,
    ) -> Result<Result<Vec<u64>, HeadRefused>, tonic::Status> {
        let store = self.link.app.store();
        let own = self.link.app.own_state().to_string();
        let mut proved = Vec::new();
        loop {
            let ours = store
                .unproved_reports(size, PROOFS_MAX)
                .await
                .map_err(internal)?
                .into_iter()
                .filter(|event| !proved.contains(&u64::try_from(event.reported_leaf).unwrap_or(0)))
                .collect::<Vec<_>>();
            if ours.is_empty() {
                return Ok(Ok(proved));
            }
            let indices: Vec<u64> = ours
                .iter()
                .map(|event| u64::try_from(event.reported_leaf).unwrap_or(0))
                .collect();
            let asked = self
                .link
                .client
                .clone()
                .get_inclusion_proofs(pb::GetInclusionProofsRequest {
                    leaf_indices: indices.clone(),
                    tree_size: size,
                })
                .await;
            let answer = match asked {
                Ok(answer) => answer.into_inner(),
                Err(status) if unprovable(&status) => {
                    return Ok(Err(HeadRefused::NotIncluded(indices[0])));
                }
                Err(status) => return Err(status),
            };
            for (event, &index) in ours.iter().zip(&indices) {
                let proof = answer.proofs.iter().find(|proof| proof.leaf_index == index);
                let sent = ledger_report(&event.case_ref, &event.envelope).map_err(internal)?;
                let included = proof.is_some_and(|proof| included(proof, &own, &sent, size, root));
                if !included {
                    return Ok(Err(HeadRefused::NotIncluded(index)));
                }
                proved.push(index);
            }
            if (ours.len() as u64) < PROOFS_MAX {
                return Ok(Ok(proved));
            }
        }
    }

    async fn cosign(
        &self,
        head: pb::SignedTreeHead,
        checked: Checked,
    ) -> Result<Witnessed, tonic::Status> {
        let app = &self.link.app;
        let now = app.now();
        let seconds = u64::try_from(now.as_millis() / 1_000).unwrap_or(0);
        let name =
            KeyName::parse(&format!("accord/state/{}", app.own_state())).map_err(internal)?;
        let mut note = Note::new(checked.body.clone()).map_err(internal)?;
        cosign(&mut note, &name, app.signer(), seconds).map_err(internal)?;
        let signature = note
            .signatures()
            .first()
            .map(|line| line.signature()[8..].to_vec())
            .unwrap_or_default();
        let key_id: KeyId = app.signer().key_id();
        self.link
            .client
            .clone()
            .cosign_tree_head(pb::CosignTreeHeadRequest {
                idempotency_key: format!(
                    "cosign-{}-{}",
                    checked.size,
                    &checked.root.to_string()[..16]
                ),
                tree_head: head.tree_head.clone(),
                cosignature: Some(pb::StateSignature {
                    state: app.own_state().to_string(),
                    signing_key_id: key_id.to_string(),
                    signature,
                    signed_at: Some(prost_types::Timestamp {
                        seconds: i64::try_from(seconds).unwrap_or(0),
                        nanos: 0,
                    }),
                }),
            })
            .await?;
        let store = app.store();
        store
            .mark_included(&checked.proved, checked.size)
            .await
            .map_err(internal)?;
        store
            .save_witnessed_head(&crate::store::WitnessedHead {
                tree_size: i64::try_from(checked.size).unwrap_or(i64::MAX),
                root_hash: checked.root.as_bytes().to_vec(),
                checkpoint: head.checkpoint,
                cosigned_at: now.as_millis(),
            })
            .await
            .map_err(internal)?;
        Ok(Witnessed::Cosigned(checked.size))
    }
}

/// Whether the coordinator's refusal to prove something about a head it signed means it
/// cannot (the head is not one it published, or the proof does not exist) rather than that
/// it is unreachable for now: such a head is refused, not retried.
fn unprovable(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::NotFound
            | tonic::Code::InvalidArgument
            | tonic::Code::FailedPrecondition
            | tonic::Code::OutOfRange
    )
}

/// A head that passed every check.
struct Checked {
    size: u64,
    root: Hash,
    body: String,
    proved: Vec<u64>,
}

/// Whether `proof` proves `sent`, reported by `own`, included in the head of `size` with
/// `root`.
fn included(
    proof: &pb::InclusionProof,
    own: &str,
    sent: &pb::EventReport,
    size: u64,
    root: &Hash,
) -> bool {
    let Some(leaf) = proof.leaf.as_ref() else {
        return false;
    };
    if leaf.reporter_state != own || leaf.report.as_ref() != Some(sent) {
        return false;
    }
    proves_inclusion(proof, size, root)
}

/// Whether `proof` proves its leaf in the log of `size` leaves with `root` (a proof for
/// another size, without its leaf or with a malformed path proves nothing).
pub(crate) fn proves_inclusion(proof: &pb::InclusionProof, size: u64, root: &Hash) -> bool {
    let Some(leaf) = proof.leaf.as_ref() else {
        return false;
    };
    let Ok(audit_path) = proof
        .audit_path
        .iter()
        .map(|hash| Hash::from_slice(hash))
        .collect::<Result<Vec<_>, _>>()
    else {
        return false;
    };
    proof.tree_size == size
        && InclusionProof {
            leaf_index: proof.leaf_index,
            tree_size: size,
            audit_path,
        }
        .verify(&leaf_hash(&leaf.encode_to_vec()), root)
        .is_ok()
}
