//! `LedgerService`: thin handlers over the ledger's use cases ([`Ledger`]). Members' nodes
//! report events (a long-lived stream, or one batch per call) and cosign heads; members'
//! nodes and gateways and operators read heads, proofs and leaves, each only what its
//! identity may see ([`Reader`](crate::app::ledger::Reader)).
//!
//! A report stream ends when the coordinator stops, when the caller is no longer an active
//! member (checked at every batch), or on a malformed batch; a report refused for its
//! content is answered in its batch and does not end the stream.

use std::pin::Pin;

use accord_domain::reconciliation::Break;
use accord_domain::{StateCode, Timestamp};
use accord_edge::violation::Violations;
use accord_proto::v1 as pb;
use accord_proto::v1::ledger_service_server::LedgerService;
use accord_trust::PeerIdentity;
use tokio::sync::{mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::callers::Callers;
use super::{latest_head_only, parsed, run_keyed, status};
use crate::app::ledger::Ledger;
use crate::app::{App, Error};
use crate::convert::breaks;
use crate::convert::ledger::{self as wire, BATCH_REPORTS_MAX, Outcome};
use crate::convert::{keyed, request_key};

/// The service's path prefix, as audit rows name a call.
const SERVICE_PATH: &str = "/accord.v1.LedgerService/";

/// Answers waiting to be sent on one report stream.
const STREAM_BUFFER: usize = 4;

/// `LedgerService` over the ledger.
#[derive(Clone)]
pub struct LedgerApi {
    app: App,
    callers: Callers,
    ledger: Ledger,
    /// Turns true when the server stops: every report stream then ends.
    stopping: watch::Receiver<bool>,
}

impl LedgerApi {
    /// The service over `ledger`, ending every report stream when `stopping` turns true.
    pub fn new(app: App, ledger: Ledger, stopping: watch::Receiver<bool>) -> Self {
        Self {
            callers: Callers::new(app.clone(), SERVICE_PATH),
            app,
            ledger,
            stopping,
        }
    }
}

/// One batch of a report stream answered, or the status that ends the stream.
async fn serve_batch(
    app: &App,
    ledger: &Ledger,
    state: StateCode,
    batch: pb::ReportEventsRequest,
) -> Result<pb::ReportEventsResponse, Status> {
    app.active_member_node(&PeerIdentity::Node(state))
        .map_err(status)?;
    let batch_id = wire::batch_id(&batch.batch_id).map_err(|violations| {
        status(Error::from(violations.finish().err().unwrap_or_else(
            || accord_edge::violation::Invalid::field("batch_id", "is invalid"),
        )))
    })?;
    within_batch_limit(batch.reports.len())?;
    let outcomes = ledger
        .report(state, wire::reports(&batch.reports))
        .await
        .map_err(status)?;
    Ok(pb::ReportEventsResponse {
        batch_id,
        results: results(&outcomes),
    })
}

/// `RESOURCE_EXHAUSTED` for a batch of more than `BATCH_REPORTS_MAX` reports.
fn within_batch_limit(reports: usize) -> Result<(), Status> {
    if reports > BATCH_REPORTS_MAX {
        return Err(status(Error::Exhausted(format!(
            "a batch holds at most {BATCH_REPORTS_MAX} reports, not {reports}"
        ))));
    }
    Ok(())
}

fn results(outcomes: &[Outcome]) -> Vec<pb::EventReportResult> {
    outcomes
        .iter()
        .enumerate()
        .map(|(index, outcome)| wire::outcome_to_wire(index, outcome))
        .collect()
}

/// A size in a request: 0 means the latest head.
fn size_or_latest(tree_size: u64) -> Option<u64> {
    (tree_size != 0).then_some(tree_size)
}

type ReportAnswers = Pin<Box<dyn Stream<Item = Result<pb::ReportEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl LedgerService for LedgerApi {
    type ReportEventsStream = ReportAnswers;

    async fn report_events(
        &self,
        request: Request<Streaming<pb::ReportEventsRequest>>,
    ) -> Result<Response<Self::ReportEventsStream>, Status> {
        let state = self.callers.member_node("ReportEvents", &request).await?;
        let mut inbound = request.into_inner();
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let (app, ledger, mut stopping) =
            (self.app.clone(), self.ledger.clone(), self.stopping.clone());
        tokio::spawn(async move {
            while !*stopping.borrow_and_update() {
                let next = tokio::select! {
                    next = inbound.message() => next,
                    _ = stopping.changed() => break,
                };
                let Ok(Some(batch)) = next else { break };
                let answer = serve_batch(&app, &ledger, state, batch).await;
                let ends = answer.is_err();
                if sender.send(answer).await.is_err() || ends {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    async fn report_event_batch(
        &self,
        request: Request<pb::ReportEventBatchRequest>,
    ) -> Result<Response<pb::ReportEventBatchResponse>, Status> {
        const PATH: &str = "/accord.v1.LedgerService/ReportEventBatch";
        let state = self
            .callers
            .member_node("ReportEventBatch", &request)
            .await?;
        let message = request.get_ref();
        let mut violations = Violations::new();
        let key = request_key(&mut violations, PATH, &message.idempotency_key, message);
        if message.reports.is_empty() {
            violations.add("reports", "must hold at least one report");
        }
        parsed(violations.finish())?;
        if message.reporter_state != state.as_str() {
            return Err(status(Error::PermissionDenied(format!(
                "{state}'s node reports as {state}, not as {:?}",
                message.reporter_state
            ))));
        }
        within_batch_limit(message.reports.len())?;
        let key = key.ok_or_else(|| status(Error::invalid("idempotency_key", "is required")))?;
        let caller = PeerIdentity::Node(state).spiffe_id();
        let to_wire = |outcomes: &Vec<Outcome>| pb::ReportEventBatchResponse {
            results: results(outcomes),
        };
        run_keyed(&caller, &key, PATH, to_wire, async |asked| {
            let reports = wire::reports(&message.reports);
            self.ledger.report_once(asked, state, reports).await
        })
        .await
    }

    async fn get_tree_head(
        &self,
        request: Request<pb::GetTreeHeadRequest>,
    ) -> Result<Response<pb::GetTreeHeadResponse>, Status> {
        self.callers.reader("GetTreeHead", &request).await?;
        let head = self
            .ledger
            .signed_head(size_or_latest(request.get_ref().tree_size))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetTreeHeadResponse {
            tree_head: Some(wire::head_to_wire(&head)),
        }))
    }

    async fn cosign_tree_head(
        &self,
        request: Request<pb::CosignTreeHeadRequest>,
    ) -> Result<Response<pb::CosignTreeHeadResponse>, Status> {
        const PATH: &str = "/accord.v1.LedgerService/CosignTreeHead";
        let state = self.callers.member_node("CosignTreeHead", &request).await?;
        let message = request.get_ref();
        let (key, command) = parsed(keyed(
            PATH,
            &message.idempotency_key,
            message,
            wire::cosign(message),
        ))?;
        let caller = PeerIdentity::Node(state).spiffe_id();
        let to_wire = |head: &wire::SignedHead| pb::CosignTreeHeadResponse {
            tree_head: Some(wire::head_to_wire(head)),
        };
        run_keyed(&caller, &key, PATH, to_wire, async |asked| {
            self.ledger.cosign(asked, state, command).await
        })
        .await
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::GetInclusionProofResponse>, Status> {
        let reader = self.callers.reader("GetInclusionProof", &request).await?;
        let message = request.get_ref();
        let query = parsed(wire::leaf_query(message))?;
        let (inclusion, head) = self
            .ledger
            .inclusion(reader, query, size_or_latest(message.tree_size))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetInclusionProofResponse {
            proof: Some(wire::inclusion_to_wire(&inclusion)),
            tree_head: Some(wire::head_to_wire(&head)),
        }))
    }

    async fn get_inclusion_proofs(
        &self,
        request: Request<pb::GetInclusionProofsRequest>,
    ) -> Result<Response<pb::GetInclusionProofsResponse>, Status> {
        let reader = self.callers.reader("GetInclusionProofs", &request).await?;
        let message = request.get_ref();
        let (inclusions, head) = self
            .ledger
            .inclusions(
                reader,
                &message.leaf_indices,
                size_or_latest(message.tree_size),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetInclusionProofsResponse {
            proofs: inclusions.iter().map(wire::inclusion_to_wire).collect(),
            tree_head: Some(wire::head_to_wire(&head)),
        }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::GetConsistencyProofResponse>, Status> {
        self.callers.reader("GetConsistencyProof", &request).await?;
        let message = request.get_ref();
        let proof = self
            .ledger
            .consistency(
                message.first_tree_size,
                size_or_latest(message.second_tree_size),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetConsistencyProofResponse {
            first_tree_size: proof.first_size,
            second_tree_size: proof.second_size,
            proof: proof
                .path
                .iter()
                .map(|hash| hash.as_bytes().to_vec())
                .collect(),
        }))
    }

    async fn get_leaves(
        &self,
        request: Request<pb::GetLeavesRequest>,
    ) -> Result<Response<pb::GetLeavesResponse>, Status> {
        let reader = self.callers.reader("GetLeaves", &request).await?;
        let message = request.get_ref();
        let leaves = self
            .ledger
            .leaves(reader, message.start_index, message.end_index)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetLeavesResponse {
            leaves: leaves.iter().map(wire::leaf_entry_to_wire).collect(),
        }))
    }

    async fn list_case_leaves(
        &self,
        request: Request<pb::ListCaseLeavesRequest>,
    ) -> Result<Response<pb::ListCaseLeavesResponse>, Status> {
        let reader = self.callers.reader("ListCaseLeaves", &request).await?;
        let case_ref = parsed(wire::case_ref(&request.get_ref().case_ref))?;
        let (head, leaves, truncated) = self
            .ledger
            .case_leaves(reader, &case_ref)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListCaseLeavesResponse {
            tree_head: Some(wire::head_to_wire(&head)),
            leaves: leaves.iter().map(wire::leaf_entry_to_wire).collect(),
            truncated,
        }))
    }

    async fn list_breaks(
        &self,
        request: Request<pb::ListBreaksRequest>,
    ) -> Result<Response<pb::ListBreaksResponse>, Status> {
        let reader = self.callers.reader("ListBreaks", &request).await?;
        let query = parsed(breaks::list_breaks(request.get_ref()))?;
        let page = self.ledger.breaks(reader, query).map_err(status)?;
        Ok(Response::new(pb::ListBreaksResponse {
            breaks: page
                .breaks
                .iter()
                .map(|found| breaks::break_to_wire(found, page.now))
                .collect(),
            next_page_token: page
                .next
                .as_ref()
                .map(breaks::page_token_of)
                .unwrap_or_default(),
        }))
    }

    async fn resolve_break(
        &self,
        request: Request<pb::ResolveBreakRequest>,
    ) -> Result<Response<pb::ResolveBreakResponse>, Status> {
        const PATH: &str = "/accord.v1.LedgerService/ResolveBreak";
        let (caller, operator) = self.callers.operator("ResolveBreak", &request).await?;
        let message = request.get_ref();
        let (key, command) = parsed(keyed(
            PATH,
            &message.idempotency_key,
            message,
            breaks::resolve_break(message),
        ))?;
        let to_wire = |(resolved, now): &(Break, Timestamp)| pb::ResolveBreakResponse {
            resolved_break: Some(breaks::break_to_wire(resolved, *now)),
        };
        run_keyed(&caller, &key, PATH, to_wire, async |asked| {
            self.ledger.resolve_break(asked, &operator, command).await
        })
        .await
    }

    async fn get_reconciliation_summary(
        &self,
        request: Request<pb::GetReconciliationSummaryRequest>,
    ) -> Result<Response<pb::GetReconciliationSummaryResponse>, Status> {
        let reader = self
            .callers
            .reader("GetReconciliationSummary", &request)
            .await?;
        let asked = parsed(breaks::summary_request(request.get_ref()))?;
        let head = self.ledger.signed_head(None).await.map_err(status)?;
        latest_head_only(asked.tree_size, head.tree_size, "figures")?;
        let figures = self
            .ledger
            .pair_figures(reader, asked.state, asked.period)
            .map_err(status)?;
        Ok(Response::new(pb::GetReconciliationSummaryResponse {
            tree_head: Some(wire::head_to_wire(&head)),
            pairs: figures
                .iter()
                .map(|((first, second), figures)| breaks::figures_to_wire(*first, *second, figures))
                .collect(),
        }))
    }
}
