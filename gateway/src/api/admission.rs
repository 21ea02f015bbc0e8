//! `/v1/offers` and `/v1/admissions`: every local action of the node's `AdmissionService`.
//! The partner deliveries and the event histories are node-to-node and stay off the REST
//! API.

use std::sync::Arc;

use accord_proto::v1 as pb;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Context;
use crate::auth::{Reader, Writer};
use crate::convert::admission as convert;
use crate::extract::{Body, IdempotencyKey, Params};
use crate::json::admission::{
    AdmissionCase, AdmissionDecision, AdmissionPage, AdmissionStep, AllocationPage, AmendOffer,
    ConfirmDeparture, Nominate, Offer, OfferPage, OfferStep, PauseOffer, PublishOffer,
    ReportArrival, Travel, WithdrawNomination,
};
use crate::json::{AllocationQuery, ListQuery};
use crate::problem::Problem;

/// Registers the offer and admission routes.
pub fn routes(router: OpenApiRouter<Arc<Context>>) -> OpenApiRouter<Arc<Context>> {
    router
        .routes(routes!(publish, list_offers))
        .routes(routes!(get_offer))
        .routes(routes!(amend))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(close_offer))
        .routes(routes!(nominate, list_admissions))
        .routes(routes!(get_admission))
        .routes(routes!(start_vetting))
        .routes(routes!(decide))
        .routes(routes!(withdraw))
        .routes(routes!(book_travel))
        .routes(routes!(report_arrival))
        .routes(routes!(confirm_departure))
        .routes(routes!(report_grant_lapsed))
        .routes(routes!(list_allocations))
}

/// Lists the instructions of final settlement rounds that name this state: the admissions
/// it is to perform or to see performed, newest round first.
#[utoipa::path(get, path = "/v1/allocations", tag = "admissions",
    params(AllocationQuery),
    responses(
        (status = 200, description = "A page of allocations", body = AllocationPage),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list_allocations(
    State(context): State<Arc<Context>>,
    _: Reader,
    Params(query): Params<AllocationQuery>,
) -> Result<Json<AllocationPage>, Problem> {
    let request = convert::list_allocations(&query)?;
    let response = context
        .node()?
        .admission()
        .list_allocations(request)
        .await?
        .into_inner();
    Ok(Json(convert::allocation_page(response)))
}

/// Publishes an offer of places for people in the origin state.
#[utoipa::path(post, path = "/v1/offers", tag = "offers",
    params(("Idempotency-Key" = String, Header, description = "The client's key, 1 to 128 printable ASCII characters")),
    request_body = PublishOffer,
    responses(
        (status = 201, description = "The offer, with its PUBLISHED event", body = OfferStep),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn publish(
    State(context): State<Arc<Context>>,
    _: Writer,
    IdempotencyKey(key): IdempotencyKey,
    Body(body): Body<PublishOffer>,
) -> Result<(StatusCode, Json<OfferStep>), Problem> {
    let request = convert::publish(key, &body)?;
    let response = context
        .node()?
        .admission()
        .publish_offer(request)
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(convert::offer_step(response.offer, response.event)),
    ))
}

/// Lists this node's offers, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/offers", tag = "offers",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of offers", body = OfferPage),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list_offers(
    State(context): State<Arc<Context>>,
    _: Reader,
    Params(query): Params<ListQuery>,
) -> Result<Json<OfferPage>, Problem> {
    let request = convert::list_offers(&query)?;
    let response = context
        .node()?
        .admission()
        .list_offers(request)
        .await?
        .into_inner();
    Ok(Json(convert::offer_page(response)))
}

/// One offer, with its events.
#[utoipa::path(get, path = "/v1/offers/{offer_ref}", tag = "offers",
    params(("offer_ref" = String, Path, description = "The offer, OFR-A-O-ID")),
    responses(
        (status = 200, description = "The offer", body = Offer),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn get_offer(
    State(context): State<Arc<Context>>,
    _: Reader,
    Path(offer_ref): Path<String>,
) -> Result<Json<Offer>, Problem> {
    let request = pb::GetOfferRequest { offer_ref };
    let response = context
        .node()?
        .admission()
        .get_offer(request)
        .await?
        .into_inner();
    Ok(Json(convert::offer(&response.offer.unwrap_or_default())))
}

/// Nominates a candidate under an offer: a new admission case.
#[utoipa::path(post, path = "/v1/admissions", tag = "admissions",
    params(("Idempotency-Key" = String, Header, description = "The client's key, 1 to 128 printable ASCII characters")),
    request_body = Nominate,
    responses(
        (status = 201, description = "The case, with its NOMINATED event", body = AdmissionStep),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn nominate(
    State(context): State<Arc<Context>>,
    _: Writer,
    IdempotencyKey(key): IdempotencyKey,
    Body(body): Body<Nominate>,
) -> Result<(StatusCode, Json<AdmissionStep>), Problem> {
    let request = convert::nominate(key, &body)?;
    let response = context
        .node()?
        .admission()
        .nominate_candidate(request)
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(convert::step(response.admission, response.event)),
    ))
}

/// Lists this node's admission cases, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/admissions", tag = "admissions",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of cases", body = AdmissionPage),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list_admissions(
    State(context): State<Arc<Context>>,
    _: Reader,
    Params(query): Params<ListQuery>,
) -> Result<Json<AdmissionPage>, Problem> {
    let request = convert::list_admissions(&query)?;
    let response = context
        .node()?
        .admission()
        .list_admissions(request)
        .await?
        .into_inner();
    Ok(Json(convert::admission_page(response)))
}

/// One admission case, with its person and events.
#[utoipa::path(get, path = "/v1/admissions/{case_ref}", tag = "admissions",
    params(("case_ref" = String, Path, description = "The case, ADM-A-O-ID")),
    responses(
        (status = 200, description = "The case", body = AdmissionCase),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn get_admission(
    State(context): State<Arc<Context>>,
    _: Reader,
    Path(case_ref): Path<String>,
) -> Result<Json<AdmissionCase>, Problem> {
    let request = pb::GetAdmissionRequest { case_ref };
    let response = context
        .node()?
        .admission()
        .get_admission(request)
        .await?
        .into_inner();
    Ok(Json(convert::case(&response.admission.unwrap_or_default())))
}

/// A step with a JSON body on an offer (`offer_ref`, `OfferStep`) or an admission case
/// (`case_ref`, `AdmissionStep`).
macro_rules! step {
    ($(#[doc = $doc:tt])* $name:ident, $path:tt, $tag:tt, $param:tt, $key:ident, $body:ident, $rpc:ident, $answer:ident, $outcome:ident, $field:ident) => {
        $(#[doc = $doc])*
        #[utoipa::path(post, path = $path, tag = $tag,
            params(
                ($param = String, Path, description = "The offer or case reference"),
                ("Idempotency-Key" = String, Header, description = "The client's key, 1 to 128 printable ASCII characters"),
            ),
            request_body = $body,
            responses(
                (status = 200, description = "The record, with the event this call recorded", body = $answer),
                (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
                (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = [])))]
        async fn $name(
            State(context): State<Arc<Context>>,
            _: Writer,
            IdempotencyKey(key): IdempotencyKey,
            Path($key): Path<String>,
            Body(body): Body<$body>,
        ) -> Result<Json<$answer>, Problem> {
            let request = convert::$name(key, $key, &body)?;
            let response = context.node()?.admission().$rpc(request).await?.into_inner();
            Ok(Json(convert::$outcome(response.$field, response.event)))
        }
    };
}

/// A step without a body.
macro_rules! bare_step {
    ($(#[doc = $doc:tt])* $name:ident, $path:tt, $tag:tt, $param:tt, $key:ident, $request:ident, $rpc:ident, $answer:ident, $outcome:ident, $field:ident) => {
        $(#[doc = $doc])*
        #[utoipa::path(post, path = $path, tag = $tag,
            params(
                ($param = String, Path, description = "The offer or case reference"),
                ("Idempotency-Key" = String, Header, description = "The client's key, 1 to 128 printable ASCII characters"),
            ),
            responses(
                (status = 200, description = "The record, with the event this call recorded", body = $answer),
                (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
                (status = "5XX", description = "The node failed or is unreachable", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = [])))]
        async fn $name(
            State(context): State<Arc<Context>>,
            _: Writer,
            IdempotencyKey(key): IdempotencyKey,
            Path($key): Path<String>,
        ) -> Result<Json<$answer>, Problem> {
            let request = pb::$request { idempotency_key: key, $key };
            let response = context.node()?.admission().$rpc(request).await?.into_inner();
            Ok(Json(convert::$outcome(response.$field, response.event)))
        }
    };
}

step!(
    /// Changes an offer's capacity or the end of its window.
    amend, "/v1/offers/{offer_ref}/amendments", "offers", "offer_ref", offer_ref, AmendOffer, amend_offer, OfferStep, offer_step, offer);
step!(
    /// Pauses nominations under an offer.
    pause, "/v1/offers/{offer_ref}/pause", "offers", "offer_ref", offer_ref, PauseOffer, pause_offer, OfferStep, offer_step, offer);
bare_step!(
    /// Resumes a paused offer.
    resume, "/v1/offers/{offer_ref}/resumption", "offers", "offer_ref", offer_ref, ResumeOfferRequest, resume_offer, OfferStep, offer_step, offer);
bare_step!(
    /// Closes an offer for good.
    close_offer, "/v1/offers/{offer_ref}/closure", "offers", "offer_ref", offer_ref, CloseOfferRequest, close_offer, OfferStep, offer_step, offer);
bare_step!(
    /// The admitting state starts vetting the candidate.
    start_vetting, "/v1/admissions/{case_ref}/vetting", "admissions", "case_ref", case_ref, StartVettingRequest, start_vetting, AdmissionStep, step, admission);
step!(
    /// The admitting state grants or refuses admission.
    decide, "/v1/admissions/{case_ref}/decision", "admissions", "case_ref", case_ref, AdmissionDecision, decide_admission, AdmissionStep, step, admission);
step!(
    /// The admitting state withdraws the nomination.
    withdraw, "/v1/admissions/{case_ref}/withdrawal", "admissions", "case_ref", case_ref, WithdrawNomination, withdraw_nomination, AdmissionStep, step, admission);
step!(
    /// The journey is booked.
    book_travel, "/v1/admissions/{case_ref}/travel", "admissions", "case_ref", case_ref, Travel, book_travel, AdmissionStep, step, admission);
step!(
    /// The admitting state reports the person's arrival.
    report_arrival, "/v1/admissions/{case_ref}/arrival", "admissions", "case_ref", case_ref, ReportArrival, report_arrival, AdmissionStep, step, admission);
step!(
    /// The origin state confirms the person left.
    confirm_departure, "/v1/admissions/{case_ref}/departure", "admissions", "case_ref", case_ref, ConfirmDeparture, confirm_departure, AdmissionStep, step, admission);
bare_step!(
    /// The admitting state reports that the grant lapsed unused.
    report_grant_lapsed, "/v1/admissions/{case_ref}/grant-lapse", "admissions", "case_ref", case_ref, ReportGrantLapsedRequest, report_grant_lapsed, AdmissionStep, step, admission);
