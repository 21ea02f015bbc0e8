//! `accord.v1.ReadmissionService`: the local API for this state's caseworkers (through its
//! gateway) and the event delivery its partners call. Each RPC names its callers, its parser
//! (`convert::readmission_rpc`) and its use case; `super` does the rest.

use accord_proto::v1 as pb;
use accord_proto::v1::readmission_service_server::ReadmissionService;
use tonic::{Request, Response, Status};

use accord_domain::readmission::ReadmissionCase;

use super::{Rpc, serve_delivery, serve_history, serve_local};
use crate::app::App;
use crate::convert::readmission_rpc as parse;

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
}

fn rpc(method: &'static str) -> Rpc {
    Rpc {
        service: "ReadmissionService",
        method,
    }
}

#[tonic::async_trait]
impl ReadmissionService for ReadmissionApi {
    super::step_rpcs! {
        start_examination: "StartExamination",
            pb::StartExaminationRequest => pb::StartExaminationResponse, parse::start_examination;
        request_information: "RequestInformation",
            pb::RequestInformationRequest => pb::RequestInformationResponse, parse::request_information;
        provide_information: "ProvideInformation",
            pb::ProvideInformationRequest => pb::ProvideInformationResponse, parse::provide_information;
        request_re_examination: "RequestReExamination",
            pb::RequestReExaminationRequest => pb::RequestReExaminationResponse, parse::request_re_examination;
        decide_re_examination: "DecideReExamination",
            pb::DecideReExaminationRequest => pb::DecideReExaminationResponse, parse::decide_re_examination;
        issue_transfer_decision: "IssueTransferDecision",
            pb::IssueTransferDecisionRequest => pb::IssueTransferDecisionResponse, parse::issue_transfer_decision;
        place_legal_hold: "PlaceLegalHold",
            pb::PlaceLegalHoldRequest => pb::PlaceLegalHoldResponse, parse::place_legal_hold;
        release_legal_hold: "ReleaseLegalHold",
            pb::ReleaseLegalHoldRequest => pb::ReleaseLegalHoldResponse, parse::release_legal_hold;
        schedule_transfer: "ScheduleTransfer",
            pb::ScheduleTransferRequest => pb::ScheduleTransferResponse, parse::schedule_transfer;
        postpone_transfer: "PostponeTransfer",
            pb::PostponeTransferRequest => pb::PostponeTransferResponse, parse::postpone_transfer;
        report_transfer: "ReportTransfer",
            pb::ReportTransferRequest => pb::ReportTransferResponse, parse::report_transfer;
        report_transfer_failed: "ReportTransferFailed",
            pb::ReportTransferFailedRequest => pb::ReportTransferFailedResponse, parse::report_transfer_failed;
        confirm_arrival: "ConfirmArrival",
            pb::ConfirmArrivalRequest => pb::ConfirmArrivalResponse, parse::confirm_arrival;
        report_no_show: "ReportNoShow",
            pb::ReportNoShowRequest => pb::ReportNoShowResponse, parse::report_no_show;
        withdraw_readmission: "WithdrawReadmission",
            pb::WithdrawReadmissionRequest => pb::WithdrawReadmissionResponse, parse::withdraw;
        decide_readmission: "DecideReadmission",
            pb::DecideReadmissionRequest => pb::DecideReadmissionResponse, parse::decide;
        close_readmission: "CloseReadmission",
            pb::CloseReadmissionRequest => pb::CloseReadmissionResponse, parse::close;
    }

    async fn open_readmission(
        &self,
        request: Request<pb::OpenReadmissionRequest>,
    ) -> Result<Response<pb::OpenReadmissionResponse>, Status> {
        serve_local(
            &self.app,
            rpc("OpenReadmission"),
            request,
            parse::open,
            |app, caller, open| async move { app.cases().open_readmission(&caller, open).await },
        )
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
            |app, _, case_ref| async move { app.cases().get_readmission(&case_ref).await },
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
            |app, _, query| async move { app.cases().list_readmissions(query).await },
        )
        .await
    }

    async fn deliver_readmission_event(
        &self,
        request: Request<pb::DeliverReadmissionEventRequest>,
    ) -> Result<Response<pb::DeliverReadmissionEventResponse>, Status> {
        serve_delivery::<ReadmissionCase, _, _>(
            &self.app,
            rpc("DeliverReadmissionEvent"),
            request,
            |message| message.event,
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
            |app, (case_ref, page)| async move { app.cases().readmission_events(&case_ref, page).await },
        )
        .await
    }
}
