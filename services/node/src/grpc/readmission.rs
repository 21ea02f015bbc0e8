//! `accord.v1.ReadmissionService`: the local API for this state's caseworkers (through its
//! gateway) and the event delivery its partners call. Each RPC names its callers, its parser
//! (`convert::readmission_rpc`) and its use case; `super` does the rest.

use accord_proto::v1 as pb;
use accord_proto::v1::readmission_service_server::ReadmissionService;

use accord_domain::readmission::ReadmissionCase;

use super::Rpc;
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

    super::local_rpcs! {
        open_readmission: "OpenReadmission",
            pb::OpenReadmissionRequest => pb::OpenReadmissionResponse, parse::open,
            |app, caller, open| app.cases().open_readmission(&caller, open);
        get_readmission: "GetReadmission",
            pb::GetReadmissionRequest => pb::GetReadmissionResponse, parse::get,
            |app, _, case_ref| app.cases().get_readmission(&case_ref);
        list_readmissions: "ListReadmissions",
            pb::ListReadmissionsRequest => pb::ListReadmissionsResponse, parse::list,
            |app, _, query| app.cases().list_readmissions(query);
    }

    super::delivery_rpcs! {
        deliver_readmission_event: "DeliverReadmissionEvent",
            pb::DeliverReadmissionEventRequest => pb::DeliverReadmissionEventResponse, ReadmissionCase;
    }

    super::history_rpcs! {
        list_readmission_events: "ListReadmissionEvents",
            pb::ListReadmissionEventsRequest => pb::ListReadmissionEventsResponse,
            ReadmissionCase, case_ref, parse::history;
    }
}
