//! `loadgen echo-server`: the transport floor of the node benchmark.
//!
//! A benchmark fixture, not product code. It serves the same `ReadmissionService` trait as
//! the node, over the same TLS (the node's certificate, `accord_trust::server_config`, the
//! same listener), the same codec and the same server limits, but its `OpenReadmission`
//! answers at once with a canned response shaped like the node's (a SUBMITTED case with its
//! signed event, person and evidence: the same size on the wire) — no validation, storage or
//! signing. Every other RPC answers `UNIMPLEMENTED`. What the node achieves relative to this
//! server is the share of the transport's throughput its own work leaves.
//!
//! With `--commit FILE` (and `--sign`) it is the minimal commit-before-reply server instead
//! (see `minimal`): the same stack, committing (and signing) each request before the reply.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use accord_proto::v1 as pb;
use accord_proto::v1::readmission_service_server::{ReadmissionService, ReadmissionServiceServer};
use accord_trust::{EventSigningKey, PeerIdentity, PeerIdentityLayer};
use anyhow::Context;
use prost::Message as _;
use std::io::Write;
use tonic::{Request, Response, Status};

use crate::minimal::MinimalStore;
use crate::request::{KeyForm, RequestPlan};
use crate::{PkiArgs, socket_address};

/// The node's default limits (`accord_node::config::Limits`), so the floor runs the same
/// server stack.
const MESSAGE_BYTES_MAX: usize = 4 * 1024 * 1024;
const REQUESTS_PER_CONNECTION_MAX: usize = 1024;
const STREAMS_PER_CONNECTION_MAX: u32 = 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Length of an Ed25519 signature, as in the node's signed events.
const SIGNATURE_BYTES: usize = 64;

/// Arguments of `loadgen echo-server`.
#[derive(Debug, clap::Args)]
pub struct EchoArgs {
    /// Certificates: the server presents the state's node certificate.
    #[command(flatten)]
    pki: PkiArgs,
    /// Where to listen; port 0 picks a free port, printed on standard output.
    #[arg(long, default_value = "127.0.0.1:0", value_parser = socket_address)]
    listen: SocketAddr,
    /// Also read the caller's identity from its certificate on every request, as the node's
    /// `PeerIdentityLayer` does (to time that layer; off for the bare floor).
    #[arg(long)]
    authenticate: bool,
    /// Commit each request to this SQLite file before answering (the minimal
    /// commit-before-reply server; see `minimal`).
    #[arg(long, value_name = "FILE")]
    commit: Option<PathBuf>,
    /// With `--commit`: sign each request with the state's Ed25519 event key first.
    #[arg(long, requires = "commit")]
    sign: bool,
}

/// The floor's service: a canned reply to `OpenReadmission`.
#[derive(Clone)]
struct EchoReadmission {
    canned: pb::OpenReadmissionResponse,
    /// With `--commit`: where each request is committed before the reply.
    store: Option<MinimalStore>,
}

/// Serves until the process is stopped.
pub async fn serve(args: EchoArgs) -> anyhow::Result<()> {
    let state = args.pki.state()?;
    let identity = args.pki.identity(&PeerIdentity::Node(state))?;
    let server_config = accord_trust::server_config(&identity, &args.pki.ca()?, &[])?;
    let incoming = accord_trust::bind(args.listen, server_config).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", incoming.local_addr())?;
    stdout.flush()?;
    let store = match &args.commit {
        Some(path) => {
            let signer = if args.sign {
                let key = args.pki.directory().signing_key_path(state);
                Some(EventSigningKey::load(&key).with_context(|| key.display().to_string())?)
            } else {
                None
            };
            Some(MinimalStore::start(path, signer).await?)
        }
        None => None,
    };
    let service = ReadmissionServiceServer::new(EchoReadmission {
        canned: canned_response(&state.to_string()),
        store,
    })
    .max_decoding_message_size(MESSAGE_BYTES_MAX)
    .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let builder = tonic::transport::Server::builder()
        .timeout(REQUEST_TIMEOUT)
        .concurrency_limit_per_connection(REQUESTS_PER_CONNECTION_MAX)
        .max_concurrent_streams(STREAMS_PER_CONNECTION_MAX);
    let served = if args.authenticate {
        let mut builder = builder.layer(PeerIdentityLayer::new());
        builder
            .add_service(service)
            .serve_with_incoming(incoming)
            .await
    } else {
        let mut builder = builder;
        builder
            .add_service(service)
            .serve_with_incoming(incoming)
            .await
    };
    served.context("serving")
}

/// A response shaped like the node's answer to the load generator's request: the case as
/// SUBMITTED with its person, evidence, deadlines and history, and the signed event.
fn canned_response(own_state: &str) -> pb::OpenReadmissionResponse {
    let request = RequestPlan::new("FR", KeyForm::TimeOrdered).request(0, 0);
    let now = request.arrival_time.map(|arrival| prost_types::Timestamp {
        seconds: arrival.seconds + 24 * 60 * 60,
        nanos: 0,
    });
    let case_ref = format!("RA-{own_state}-FR-01KBZQ4M8N2P7R3T5V9W0XYZAB");
    let event = pb::ReadmissionEvent {
        case_ref: case_ref.clone(),
        sequence: 1,
        kind: pb::ReadmissionEventKind::Submitted as i32,
        acting_state: own_state.to_owned(),
        occurred_at: now,
        idempotency_key: request.idempotency_key.clone(),
        detail: Some(pb::readmission_event::Detail::Submitted(
            pb::ReadmissionSubmission {
                requested_state: request.requested_state.clone(),
                regime: request.regime,
                arrival_time: request.arrival_time,
                exceptional: false,
                detained: false,
                person: request.person.clone(),
                evidence: request.evidence.clone(),
                notes: String::new(),
            },
        )),
        signing_key_id: format!("{own_state}:ed25519:0123456789abcdef"),
        signature: vec![0x5a; SIGNATURE_BYTES],
    };
    let deadline = |kind: pb::ReadmissionDeadlineKind| pb::ReadmissionDeadline {
        kind: kind as i32,
        due_at: now,
        ..Default::default()
    };
    let readmission = pb::ReadmissionCase {
        case_ref,
        requesting_state: own_state.to_owned(),
        requested_state: request.requested_state.clone(),
        regime: request.regime,
        status: pb::ReadmissionStatus::Submitted as i32,
        arrival_time: request.arrival_time,
        submitted_at: now,
        deadlines: vec![deadline(pb::ReadmissionDeadlineKind::Procedure)],
        person: request.person.clone(),
        evidence: request.evidence.clone(),
        last_sequence: 1,
        updated_at: now,
        pending_event_count: 1,
        events: vec![event.clone()],
        ..Default::default()
    };
    pb::OpenReadmissionResponse {
        readmission: Some(readmission),
        event: Some(event),
    }
}

fn unimplemented() -> Status {
    Status::unimplemented("the echo server answers only OpenReadmission")
}

/// Implements the trait: `OpenReadmission` answers the canned response, the rest
/// `UNIMPLEMENTED`. (A macro because the trait has 22 methods of one shape.)
macro_rules! echo_service {
    ($($method:ident: $request:ty => $response:ty),+ $(,)?) => {
        #[tonic::async_trait]
        impl ReadmissionService for EchoReadmission {
            async fn open_readmission(
                &self,
                request: Request<pb::OpenReadmissionRequest>,
            ) -> Result<Response<pb::OpenReadmissionResponse>, Status> {
                if let Some(store) = &self.store {
                    let request = request.into_inner();
                    let body = request.encode_to_vec();
                    store
                        .record(request.idempotency_key, body)
                        .await
                        .map_err(Status::internal)?;
                }
                Ok(Response::new(self.canned.clone()))
            }
            $(
                async fn $method(
                    &self,
                    _request: Request<$request>,
                ) -> Result<Response<$response>, Status> {
                    Err(unimplemented())
                }
            )+
        }
    };
}

echo_service! {
    start_examination: pb::StartExaminationRequest => pb::StartExaminationResponse,
    decide_readmission: pb::DecideReadmissionRequest => pb::DecideReadmissionResponse,
    request_information: pb::RequestInformationRequest => pb::RequestInformationResponse,
    provide_information: pb::ProvideInformationRequest => pb::ProvideInformationResponse,
    request_re_examination: pb::RequestReExaminationRequest => pb::RequestReExaminationResponse,
    decide_re_examination: pb::DecideReExaminationRequest => pb::DecideReExaminationResponse,
    close_readmission: pb::CloseReadmissionRequest => pb::CloseReadmissionResponse,
    issue_transfer_decision: pb::IssueTransferDecisionRequest => pb::IssueTransferDecisionResponse,
    place_legal_hold: pb::PlaceLegalHoldRequest => pb::PlaceLegalHoldResponse,
    release_legal_hold: pb::ReleaseLegalHoldRequest => pb::ReleaseLegalHoldResponse,
    schedule_transfer: pb::ScheduleTransferRequest => pb::ScheduleTransferResponse,
    postpone_transfer: pb::PostponeTransferRequest => pb::PostponeTransferResponse,
    report_transfer: pb::ReportTransferRequest => pb::ReportTransferResponse,
    report_transfer_failed: pb::ReportTransferFailedRequest => pb::ReportTransferFailedResponse,
    confirm_arrival: pb::ConfirmArrivalRequest => pb::ConfirmArrivalResponse,
    report_no_show: pb::ReportNoShowRequest => pb::ReportNoShowResponse,
    withdraw_readmission: pb::WithdrawReadmissionRequest => pb::WithdrawReadmissionResponse,
    get_readmission: pb::GetReadmissionRequest => pb::GetReadmissionResponse,
    list_readmissions: pb::ListReadmissionsRequest => pb::ListReadmissionsResponse,
    deliver_readmission_event: pb::DeliverReadmissionEventRequest => pb::DeliverReadmissionEventResponse,
    list_readmission_events: pb::ListReadmissionEventsRequest => pb::ListReadmissionEventsResponse,
}
