//! `/v1/readmissions`: every local action of the node's `ReadmissionService`. The partner
//! deliveries (`DeliverReadmissionEvent`) and the event history are node-to-node and stay
//! off the REST API.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Context;
use crate::auth::{Reader, Writer};
use crate::convert::readmission as convert;
use crate::extract::{Body, IdempotencyKey, Params};
use crate::json::ListQuery;
use crate::json::readmission::{
    ConfirmArrival, Decision, IssueTransferDecision, Note, OpenReadmission, PlaceLegalHold,
    PostponeTransfer, ProvideInformation, ReadmissionCase, ReadmissionPage, ReadmissionStep,
    ReasonNote, ReleaseLegalHold, ReportTransfer, RequestInformation, RequestReExamination,
    ScheduleTransfer,
};
use crate::problem::Problem;

/// Registers the readmission routes.
pub fn routes(router: OpenApiRouter<Arc<Context>>) -> OpenApiRouter<Arc<Context>> {
    router
        .routes(routes!(open, list))
        .routes(routes!(get_one))
        .routes(routes!(start_examination))
        .routes(routes!(decide))
        .routes(routes!(request_information))
        .routes(routes!(provide_information))
        .routes(routes!(request_re_examination))
        .routes(routes!(decide_re_examination))
        .routes(routes!(close))
        .routes(routes!(issue_transfer_decision))
        .routes(routes!(place_legal_hold))
        .routes(routes!(release_legal_hold))
        .routes(routes!(schedule_transfer))
        .routes(routes!(postpone_transfer))
        .routes(routes!(report_transfer))
        .routes(routes!(report_transfer_failed))
        .routes(routes!(confirm_arrival))
        .routes(routes!(report_no_show))
        .routes(routes!(withdraw))
}

/// Opens a readmission case: this state asks the requested state to take a person back.
#[utoipa::path(post, path = "/v1/readmissions", tag = "readmissions",
    params(("Idempotency-Key" = String, Header, description = "The client's key, 1 to 128 printable ASCII characters")),
    request_body = OpenReadmission,
    responses(
        (status = 201, description = "The case, with its SUBMITTED event", body = ReadmissionStep),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn open(
    State(context): State<Arc<Context>>,
    _: Writer,
    IdempotencyKey(key): IdempotencyKey,
    Body(body): Body<OpenReadmission>,
) -> Result<(StatusCode, Json<ReadmissionStep>), Problem> {
    let request = convert::open(key, &body)?;
    let response = context
        .node()?
        .readmission()
        .open_readmission(request)
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(convert::step(response.readmission, response.event)),
    ))
}

/// Lists this node's readmission cases, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/readmissions", tag = "readmissions",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of cases", body = ReadmissionPage),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list(
    State(context): State<Arc<Context>>,
    _: Reader,
    Params(query): Params<ListQuery>,
) -> Result<Json<ReadmissionPage>, Problem> {
    let request = convert::list(&query)?;
    let response = context
        .node()?
        .readmission()
        .list_readmissions(request)
        .await?
        .into_inner();
    Ok(Json(convert::page(response)))
}

/// One case, with its person, deadlines and events.
#[utoipa::path(get, path = "/v1/readmissions/{case_ref}", tag = "readmissions",
    params(("case_ref" = String, Path, description = "The case, RDM-S-R-ID")),
    responses(
        (status = 200, description = "The case", body = ReadmissionCase),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn get_one(
    State(context): State<Arc<Context>>,
    _: Reader,
    Path(case_ref): Path<String>,
) -> Result<Json<ReadmissionCase>, Problem> {
    let request = accord_proto::v1::GetReadmissionRequest { case_ref };
    let response = context
        .node()?
        .readmission()
        .get_readmission(request)
        .await?
        .into_inner();
    Ok(Json(convert::case(
        &response.readmission.unwrap_or_default(),
    )))
}

/// A step on a case with a JSON body: `POST {path}`, converted by `convert::$convert`,
/// sent as the node's `$rpc`.
macro_rules! step {
    ($(#[doc = $doc:tt])* $name:ident, $path:tt, $body:ident, $rpc:ident) => {
        $(#[doc = $doc])*
        #[utoipa::path(post, path = $path, tag = "readmissions",
            params(
                ("case_ref" = String, Path, description = "The case, RDM-S-R-ID"),
                ("Idempotency-Key" = String, Header, description = "The client's key, 1 to 128 printable ASCII characters"),
            ),
            request_body = $body,
            responses(
                (status = 200, description = "The case, with the event this call recorded", body = ReadmissionStep),
                (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
                (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = [])))]
        async fn $name(
            State(context): State<Arc<Context>>,
            _: Writer,
            IdempotencyKey(key): IdempotencyKey,
            Path(case_ref): Path<String>,
            Body(body): Body<$body>,
        ) -> Result<Json<ReadmissionStep>, Problem> {
            let request = convert::$name(key, case_ref, &body)?;
            let response = context.node()?.readmission().$rpc(request).await?.into_inner();
            Ok(Json(convert::step(response.readmission, response.event)))
        }
    };
}

/// A step on a case without a body.
macro_rules! bare_step {
    ($(#[doc = $doc:tt])* $name:ident, $path:tt, $request:ident, $rpc:ident) => {
        $(#[doc = $doc])*
        #[utoipa::path(post, path = $path, tag = "readmissions",
            params(
                ("case_ref" = String, Path, description = "The case, RDM-S-R-ID"),
                ("Idempotency-Key" = String, Header, description = "The client's key, 1 to 128 printable ASCII characters"),
            ),
            responses(
                (status = 200, description = "The case, with the event this call recorded", body = ReadmissionStep),
                (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
                (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = [])))]
        async fn $name(
            State(context): State<Arc<Context>>,
            _: Writer,
            IdempotencyKey(key): IdempotencyKey,
            Path(case_ref): Path<String>,
        ) -> Result<Json<ReadmissionStep>, Problem> {
            let request = accord_proto::v1::$request { idempotency_key: key, case_ref };
            let response = context.node()?.readmission().$rpc(request).await?.into_inner();
            Ok(Json(convert::step(response.readmission, response.event)))
        }
    };
}

bare_step!(
    /// The requested state starts examining the request.
    start_examination, "/v1/readmissions/{case_ref}/examination", StartExaminationRequest, start_examination);
step!(
    /// The requested state accepts or rejects the request.
    decide, "/v1/readmissions/{case_ref}/decision", Decision, decide_readmission);
step!(
    /// The requested state asks for more information.
    request_information, "/v1/readmissions/{case_ref}/information-requests", RequestInformation, request_information);
step!(
    /// The requesting state answers.
    provide_information, "/v1/readmissions/{case_ref}/information", ProvideInformation, provide_information);
step!(
    /// The requesting state asks for its refusal to be re-examined.
    request_re_examination, "/v1/readmissions/{case_ref}/re-examination-requests", RequestReExamination, request_re_examination);
step!(
    /// The requested state decides on the re-examination.
    decide_re_examination, "/v1/readmissions/{case_ref}/re-examination-decision", Decision, decide_re_examination);
bare_step!(
    /// The requesting state accepts the refusal and closes the case.
    close, "/v1/readmissions/{case_ref}/closure", CloseReadmissionRequest, close_readmission);
step!(
    /// The requesting state issued its national transfer decision.
    issue_transfer_decision, "/v1/readmissions/{case_ref}/transfer-decision", IssueTransferDecision, issue_transfer_decision);
step!(
    /// A legal hold bars the transfer.
    place_legal_hold, "/v1/readmissions/{case_ref}/legal-holds", PlaceLegalHold, place_legal_hold);
step!(
    /// A legal hold ended.
    release_legal_hold, "/v1/readmissions/{case_ref}/legal-hold-releases", ReleaseLegalHold, release_legal_hold);
step!(
    /// The requesting state books the transfer.
    schedule_transfer, "/v1/readmissions/{case_ref}/transfer", ScheduleTransfer, schedule_transfer);
step!(
    /// The booked transfer moves to a new slot.
    postpone_transfer, "/v1/readmissions/{case_ref}/transfer-postponements", PostponeTransfer, postpone_transfer);
step!(
    /// The requesting state handed the person over.
    report_transfer, "/v1/readmissions/{case_ref}/handover", ReportTransfer, report_transfer);
step!(
    /// The transfer attempt failed.
    report_transfer_failed, "/v1/readmissions/{case_ref}/transfer-failure", ReasonNote, report_transfer_failed);
step!(
    /// The requested state confirms the person's arrival.
    confirm_arrival, "/v1/readmissions/{case_ref}/arrival", ConfirmArrival, confirm_arrival);
step!(
    /// The requested state reports that the person did not appear.
    report_no_show, "/v1/readmissions/{case_ref}/no-show", Note, report_no_show);
step!(
    /// The requesting state withdraws its request.
    withdraw, "/v1/readmissions/{case_ref}/withdrawal", ReasonNote, withdraw_readmission);
