//! `accord.v1.ReadmissionService`: the local API for this state's caseworkers (through its
//! gateway) and the event delivery its partners call. Each RPC names its callers, its parser
//! (`convert::readmission_rpc`) and its use case; `super` does the rest.

use accord_proto::v1 as pb;
use accord_proto::v1::readmission_service_server::ReadmissionService;
use tonic::{Request, Response, Status};

use super::{Rpc, serve_delivery, serve_history, serve_local};
use accord_domain::readmission::ReadmissionCase;

use crate::app::App;
use crate::convert::RequestContext;
use crate::convert::command::Answer;
use crate::convert::readmission_rpc::{self as parse, ReadmissionStep};
use crate::violation::Invalid;

/// The service, over the node's use cases.
#[derive(Clone)]
pub struct ReadmissionApi {
    app: App,
}

impl ReadmissionApi {
    /// Serves `app`.
    pub fn new(app: App) -> Self {
        Self { app }
    }

    /// A caseworker's step on a case: the shared path of every step RPC.
    async fn step<Req: prost::Message, Resp: From<Answer<ReadmissionCase>>>(
        &self,
        method: &'static str,
        request: Request<Req>,
        parse: fn(&Req, &RequestContext) -> Result<ReadmissionStep, Invalid>,
    ) -> Result<Response<Resp>, Status> {
        serve_local(
            &self.app,
            rpc(method),
            request,
            parse,
            |app, caller, step| async move { app.readmission_step(&caller, step).await },
        )
        .await
    }
}

fn rpc(method: &'static str) -> Rpc {
    Rpc {
        service: "ReadmissionService",
        method,
    }
}

#[tonic::async_trait]
impl ReadmissionService for ReadmissionApi {
    async fn open_readmission(
        &self,
        request: Request<pb::OpenReadmissionRequest>,
    ) -> Result<Response<pb::OpenReadmissionResponse>, Status> {
        serve_local(
            &self.app,
            rpc("OpenReadmission"),
            request,
            parse::open,
            |app, caller, open| async move { app.open_readmission(&caller, open).await },
        )
        .await
    }

    async fn start_examination(
        &self,
        request: Request<pb::StartExaminationRequest>,
    ) -> Result<Response<pb::StartExaminationResponse>, Status> {
        self.step("StartExamination", request, parse::start_examination)
            .await
    }

    async fn decide_readmission(
        &self,
        request: Request<pb::DecideReadmissionRequest>,
    ) -> Result<Response<pb::DecideReadmissionResponse>, Status> {
        self.step("DecideReadmission", request, parse::decide).await
    }

    async fn request_information(
        &self,
        request: Request<pb::RequestInformationRequest>,
    ) -> Result<Response<pb::RequestInformationResponse>, Status> {
        self.step("RequestInformation", request, parse::request_information)
            .await
    }

    async fn provide_information(
        &self,
        request: Request<pb::ProvideInformationRequest>,
    ) -> Result<Response<pb::ProvideInformationResponse>, Status> {
        self.step("ProvideInformation", request, parse::provide_information)
            .await
    }

    async fn request_re_examination(
        &self,
        request: Request<pb::RequestReExaminationRequest>,
    ) -> Result<Response<pb::RequestReExaminationResponse>, Status> {
        self.step(
            "RequestReExamination",
            request,
            parse::request_re_examination,
        )
        .await
    }

    async fn decide_re_examination(
        &self,
        request: Request<pb::DecideReExaminationRequest>,
    ) -> Result<Response<pb::DecideReExaminationResponse>, Status> {
        self.step("DecideReExamination", request, parse::decide_re_examination)
            .await
    }

    async fn close_readmission(
        &self,
        request: Request<pb::CloseReadmissionRequest>,
    ) -> Result<Response<pb::CloseReadmissionResponse>, Status> {
        self.step("CloseReadmission", request, parse::close).await
    }

    async fn issue_transfer_decision(
        &self,
        request: Request<pb::IssueTransferDecisionRequest>,
    ) -> Result<Response<pb::IssueTransferDecisionResponse>, Status> {
        self.step(
            "IssueTransferDecision",
            request,
            parse::issue_transfer_decision,
        )
        .await
    }

    async fn place_legal_hold(
        &self,
        request: Request<pb::PlaceLegalHoldRequest>,
    ) -> Result<Response<pb::PlaceLegalHoldResponse>, Status> {
        self.step("PlaceLegalHold", request, parse::place_legal_hold)
            .await
    }

    async fn release_legal_hold(
        &self,
        request: Request<pb::ReleaseLegalHoldRequest>,
    ) -> Result<Response<pb::ReleaseLegalHoldResponse>, Status> {
        self.step("ReleaseLegalHold", request, parse::release_legal_hold)
            .await
    }

    async fn schedule_transfer(
        &self,
        request: Request<pb::ScheduleTransferRequest>,
    ) -> Result<Response<pb::ScheduleTransferResponse>, Status> {
        self.step("ScheduleTransfer", request, parse::schedule_transfer)
            .await
    }

    async fn postpone_transfer(
        &self,
        request: Request<pb::PostponeTransferRequest>,
    ) -> Result<Response<pb::PostponeTransferResponse>, Status> {
        self.step("PostponeTransfer", request, parse::postpone_transfer)
            .await
    }

    async fn report_transfer(
        &self,
        request: Request<pb::ReportTransferRequest>,
    ) -> Result<Response<pb::ReportTransferResponse>, Status> {
        self.step("ReportTransfer", request, parse::report_transfer)
            .await
    }

    async fn report_transfer_failed(
        &self,
        request: Request<pb::ReportTransferFailedRequest>,
    ) -> Result<Response<pb::ReportTransferFailedResponse>, Status> {
        self.step(
            "ReportTransferFailed",
            request,
            parse::report_transfer_failed,
        )
        .await
    }

    async fn confirm_arrival(
        &self,
        request: Request<pb::ConfirmArrivalRequest>,
    ) -> Result<Response<pb::ConfirmArrivalResponse>, Status> {
        self.step("ConfirmArrival", request, parse::confirm_arrival)
            .await
    }

    async fn report_no_show(
        &self,
        request: Request<pb::ReportNoShowRequest>,
    ) -> Result<Response<pb::ReportNoShowResponse>, Status> {
        self.step("ReportNoShow", request, parse::report_no_show)
            .await
    }

    async fn withdraw_readmission(
        &self,
        request: Request<pb::WithdrawReadmissionRequest>,
    ) -> Result<Response<pb::WithdrawReadmissionResponse>, Status> {
        self.step("WithdrawReadmission", request, parse::withdraw)
            .await
    }

    async fn get_readmission(
        &self,
        request: Request<pb::GetReadmissionRequest>,
    ) -> Result<Response<pb::GetReadmissionResponse>, Status> {
        serve_local(
            &self.app,
            rpc("GetReadmission"),
            request,
            parse::get,
            |app, _, case_ref| async move {
                app.get_readmission(&case_ref)
                    .await
                    .map(parse::case_response)
            },
        )
        .await
    }

    async fn list_readmissions(
        &self,
        request: Request<pb::ListReadmissionsRequest>,
    ) -> Result<Response<pb::ListReadmissionsResponse>, Status> {
        serve_local(
            &self.app,
            rpc("ListReadmissions"),
            request,
            parse::list,
            |app, _, query| async move {
                app.list_readmissions(query)
                    .await
                    .map(parse::cases_response)
            },
        )
        .await
    }

    async fn deliver_readmission_event(
        &self,
        request: Request<pb::DeliverReadmissionEventRequest>,
    ) -> Result<Response<pb::DeliverReadmissionEventResponse>, Status> {
        serve_delivery(
            &self.app,
            rpc("DeliverReadmissionEvent"),
            request,
            |message| message.event,
            |app, partner, event| async move {
                app.deliver_readmission_event(partner, event)
                    .await
                    .map(parse::receipt_response)
            },
        )
        .await
    }

    async fn list_readmission_events(
        &self,
        request: Request<pb::ListReadmissionEventsRequest>,
    ) -> Result<Response<pb::ListReadmissionEventsResponse>, Status> {
        serve_history(
            &self.app,
            rpc("ListReadmissionEvents"),
            request,
            |message| &message.case_ref,
            parse::history,
            |app, (case_ref, page)| async move {
                app.readmission_events(&case_ref, page)
                    .await
                    .map(parse::events_response)
            },
        )
        .await
    }
}
