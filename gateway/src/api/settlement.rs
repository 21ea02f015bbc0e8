//! The coordinator's gateway's settlement routes: rounds, their reports as the coordinator
//! renders them for download, balances, quotas, and the capacity an operator sets. Readers
//! are operators and diplomats; only operators set a capacity (`crate::auth`).

use std::sync::Arc;

use accord_proto::v1 as pb;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Context;
use crate::auth::{Reader, Writer};
use crate::convert::settlement as convert;
use crate::extract::{Body, IdempotencyKey, Params};
use crate::json::settlement::{
    Balances, BalancesQuery, Capacity, QuotaQuery, Quotas, Round, RoundPage, RoundQuery,
    SetCapacity,
};
use crate::problem::Problem;

/// Registers the settlement routes.
pub fn routes(router: OpenApiRouter<Arc<Context>>) -> OpenApiRouter<Arc<Context>> {
    router
        .routes(routes!(list_rounds))
        .routes(routes!(get_round))
        .routes(routes!(report_json))
        .routes(routes!(report_csv))
        .routes(routes!(balances))
        .routes(routes!(quotas))
        .routes(routes!(set_capacity))
}

/// Lists rounds, newest period first, a page at a time.
#[utoipa::path(get, path = "/v1/rounds", tag = "rounds",
    params(RoundQuery),
    responses(
        (status = 200, description = "A page of rounds", body = RoundPage),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The coordinator failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list_rounds(
    State(context): State<Arc<Context>>,
    _: Reader,
    Params(query): Params<RoundQuery>,
) -> Result<Json<RoundPage>, Problem> {
    let request = convert::list_rounds(&query)?;
    let response = context
        .coordinator()?
        .settlement()
        .list_rounds(request)
        .await?
        .into_inner();
    Ok(Json(convert::round_page(response)))
}

/// One round, with its latest signed report's figures and signatures.
#[utoipa::path(get, path = "/v1/rounds/{round_id}", tag = "rounds",
    params(("round_id" = String, Path, description = "The round, RND-…")),
    responses(
        (status = 200, description = "The round", body = Round),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The coordinator failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn get_round(
    State(context): State<Arc<Context>>,
    _: Reader,
    Path(round_id): Path<String>,
) -> Result<Json<Round>, Problem> {
    let round = fetch_round(&context, round_id).await?;
    Ok(Json(convert::round(&round)))
}

/// The round `round_id` as the coordinator holds it.
pub async fn fetch_round(context: &Context, round_id: String) -> Result<pb::Round, Problem> {
    let response = context
        .coordinator()?
        .settlement()
        .get_round(pb::GetRoundRequest { round_id })
        .await?
        .into_inner();
    Ok(response.round.unwrap_or_default())
}

/// The latest report of a round as JSON, as the coordinator renders it: the round, period,
/// mode, tree head, totals, netting efficiency, figures, instructions, residuals, credits,
/// carried debts, performances, open breaks and who signed.
#[utoipa::path(get, path = "/v1/rounds/{round_id}/report.json", tag = "rounds",
    params(("round_id" = String, Path, description = "The round, RND-…")),
    responses(
        (status = 200, description = "The report, for people and their tools (not what anyone verifies: the signed report is)", content_type = "application/json"),
        (status = "4XX", description = "Refused, or not yet proposed", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The coordinator failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn report_json(
    State(context): State<Arc<Context>>,
    _: Reader,
    Path(round_id): Path<String>,
) -> Result<Response, Problem> {
    download(&context, round_id, pb::ReportFormat::Json).await
}

/// The latest report of a round as CSV tables (instructions, state figures, residuals,
/// credits, carry-forward), each under a line `# name`.
#[utoipa::path(get, path = "/v1/rounds/{round_id}/report.csv", tag = "rounds",
    params(("round_id" = String, Path, description = "The round, RND-…")),
    responses(
        (status = 200, description = "The report's tables", content_type = "text/csv"),
        (status = "4XX", description = "Refused, or not yet proposed", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The coordinator failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn report_csv(
    State(context): State<Arc<Context>>,
    _: Reader,
    Path(round_id): Path<String>,
) -> Result<Response, Problem> {
    download(&context, round_id, pb::ReportFormat::Csv).await
}

/// The coordinator's rendering of a report, its bytes and media type passed through, with
/// the file name it gives (the pages' download links answer with it too).
pub(crate) async fn download(
    context: &Context,
    round_id: String,
    format: pb::ReportFormat,
) -> Result<Response, Problem> {
    let response = context
        .coordinator()?
        .settlement()
        .get_round_report(pb::GetRoundReportRequest {
            round_id,
            format: format.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let content_type = HeaderValue::from_str(&response.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut answer = response.rendering.into_response();
    let headers = answer.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    let disposition = format!("attachment; filename=\"{}\"", response.file_name);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(answer)
}

/// The balances of ordered pairs and the states' positions, at a tree head.
#[utoipa::path(get, path = "/v1/balances", tag = "ledger",
    params(BalancesQuery),
    responses(
        (status = 200, description = "Balances and positions", body = Balances),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The coordinator failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn balances(
    State(context): State<Arc<Context>>,
    _: Reader,
    Params(query): Params<BalancesQuery>,
) -> Result<Json<Balances>, Problem> {
    let response = context
        .coordinator()?
        .settlement()
        .get_balances(convert::balances_request(&query))
        .await?
        .into_inner();
    Ok(Json(convert::balances(&response)))
}

/// Capacities (a page, newest period first) and every parity limit.
#[utoipa::path(get, path = "/v1/quotas", tag = "quotas",
    params(QuotaQuery),
    responses(
        (status = 200, description = "Capacities and parity limits", body = Quotas),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The coordinator failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn quotas(
    State(context): State<Arc<Context>>,
    _: Reader,
    Params(query): Params<QuotaQuery>,
) -> Result<Json<Quotas>, Problem> {
    let response = context
        .coordinator()?
        .settlement()
        .list_quotas(convert::list_quotas(&query))
        .await?
        .into_inner();
    Ok(Json(convert::quotas(response)))
}

/// Sets a state's admission capacity for a period (operators only), replacing any capacity
/// for exactly that period.
#[utoipa::path(put, path = "/v1/quotas/capacity", tag = "quotas",
    params(("Idempotency-Key" = String, Header, description = "The client's key, 1 to 128 printable ASCII characters")),
    request_body = SetCapacity,
    responses(
        (status = 200, description = "The capacity as stored", body = Capacity),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The coordinator failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn set_capacity(
    State(context): State<Arc<Context>>,
    _: Writer,
    IdempotencyKey(key): IdempotencyKey,
    Body(body): Body<SetCapacity>,
) -> Result<Json<Capacity>, Problem> {
    let request = convert::set_capacity(key, &body)?;
    let response = context
        .coordinator()?
        .settlement()
        .set_capacity(request)
        .await?
        .into_inner();
    Ok(Json(convert::capacity(
        &response.capacity.unwrap_or_default(),
    )))
}
