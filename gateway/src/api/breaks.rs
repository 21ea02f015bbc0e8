//! The coordinator's gateway's break routes: the ledger's reconciliation breaks, and an
//! operator's waiver of one the two states settled between them. Readers are operators and
//! diplomats; only operators resolve (`crate::auth`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Context;
use crate::auth::{Reader, Writer};
use crate::convert::ledger as convert;
use crate::extract::{Body, IdempotencyKey, Params};
use crate::json::ledger::{Break, BreakPage, BreakQuery, Resolution};
use crate::problem::Problem;

/// Registers the break routes.
pub fn routes(router: OpenApiRouter<Arc<Context>>) -> OpenApiRouter<Arc<Context>> {
    router
        .routes(routes!(list_breaks))
        .routes(routes!(resolve_break))
}

/// Lists breaks, oldest detection first, filtered by kind, age, state and status.
#[utoipa::path(get, path = "/v1/breaks", tag = "ledger",
    params(BreakQuery),
    responses(
        (status = 200, description = "A page of breaks", body = BreakPage),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The coordinator failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list_breaks(
    State(context): State<Arc<Context>>,
    _: Reader,
    Params(query): Params<BreakQuery>,
) -> Result<Json<BreakPage>, Problem> {
    let request = convert::list_breaks(&query)?;
    let response = context
        .coordinator()?
        .ledger()
        .list_breaks(request)
        .await?
        .into_inner();
    Ok(Json(convert::break_page(response)))
}

/// Waives an open break (operators only): its records stay unmatched and do not count.
#[utoipa::path(post, path = "/v1/breaks/{break_id}/resolution", tag = "ledger",
    params(
        ("break_id" = String, Path, description = "The break (`KIND/CASE_REF/EVENT_KIND`, or the round's for NOT_PERFORMED), its slashes percent-encoded as `%2F`"),
        ("Idempotency-Key" = String, Header, description = "The client's key, 1 to 128 printable ASCII characters"),
    ),
    request_body = Resolution,
    responses(
        (status = 200, description = "The break, RESOLVED and WAIVED", body = Break),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "The coordinator failed or is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn resolve_break(
    State(context): State<Arc<Context>>,
    _: Writer,
    IdempotencyKey(key): IdempotencyKey,
    Path(break_id): Path<String>,
    Body(body): Body<Resolution>,
) -> Result<Json<Break>, Problem> {
    let request = convert::resolve(key, break_id, &body);
    let response = context
        .coordinator()?
        .ledger()
        .resolve_break(request)
        .await?
        .into_inner();
    Ok(Json(convert::one_break(
        &response.resolved_break.unwrap_or_default(),
    )))
}
