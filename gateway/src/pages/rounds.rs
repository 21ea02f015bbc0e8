//! `/rounds` and `/rounds/{round_id}`: every settlement round, and one round's latest
//! signed report for people — the per-state figures, the instructions and their flow
//! diagram, the debts carried in and forward, the breaks open at the cut-off, each signature,
//! and links to the coordinator's JSON and CSV renderings. Operators and diplomats read them
//! alike. Every figure is the signed report's; the only arithmetic here is the netting
//! efficiency's percentage, from its exact ratio, in integers.

use std::sync::Arc;

use accord_proto::v1 as pb;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::diagram::{self, Diagram};
use super::text::{self, Text};
use super::words::{self, Words};
use super::{PageQuery, coordinator_reader, render};
use crate::api::Context;
use crate::convert::settlement as convert;
use crate::json::settlement::{Report, Round};
use crate::problem::Problem;

/// Registers the rounds' pages.
pub fn routes(router: OpenApiRouter<Arc<Context>>) -> OpenApiRouter<Arc<Context>> {
    router
        .routes(routes!(rounds))
        .routes(routes!(round))
        .routes(routes!(report_json))
        .routes(routes!(report_csv))
}

/// One row of the rounds list.
struct RoundRow {
    round_id: String,
    status: String,
    period: String,
    mode: String,
    settled: String,
    countersigned: String,
    awaiting: String,
}

#[derive(Template)]
#[template(path = "rounds.html")]
struct RoundsPage {
    text: &'static Text,
    words: &'static Words,
    rows: Vec<RoundRow>,
    next_page: Option<String>,
}

#[derive(Template)]
#[template(path = "round.html")]
struct RoundPage {
    text: &'static Text,
    words: &'static Words,
    round: Round,
    period: String,
    report: Option<Report>,
    efficiency: String,
    diagram: Diagram,
    width: u32,
    height: u32,
    node_radius: String,
}

/// Every settlement round, newest period first.
#[utoipa::path(get, path = "/rounds", tag = "pages",
    params(
        ("lang" = Option<String>, Query, description = "`en` or `fr`; default from Accept-Language"),
        ("page_token" = Option<String>, Query, description = "The next page's token"),
    ),
    responses(
        (status = 200, description = "The rounds", content_type = "text/html"),
        (status = 303, description = "Not signed in: on to /login"),
        (status = 403, description = "Signed in with a role that may not see it", content_type = "text/html"),
    ))]
async fn rounds(
    State(context): State<Arc<Context>>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let text = text::choose(query.lang.as_deref(), &headers);
    if let Err(answer) = coordinator_reader(&context, &headers, text) {
        return answer;
    }
    let request = pb::ListRoundsRequest {
        page_token: query.page_token.unwrap_or_default(),
        ..Default::default()
    };
    let page = match coordinator_rounds(&context, request).await {
        Ok(page) => page,
        Err(problem) => return problem.into_response(),
    };
    let rows = page.rounds.into_iter().map(row).collect();
    render(
        StatusCode::OK,
        &RoundsPage {
            text,
            words: words::of(text.lang),
            rows,
            next_page: page.next_page_token,
        },
    )
}

async fn coordinator_rounds(
    context: &Context,
    request: pb::ListRoundsRequest,
) -> Result<crate::json::settlement::RoundPage, Problem> {
    let response = context
        .coordinator()?
        .settlement()
        .list_rounds(request)
        .await?
        .into_inner();
    Ok(convert::round_page(response))
}

fn row(round: Round) -> RoundRow {
    let (settled, countersigned) = match &round.report {
        Some(report) => (
            report.settled.to_string(),
            format!(
                "{} / {}",
                report.countersignatures.len(),
                report.affected_states.len()
            ),
        ),
        None => ("—".to_owned(), "—".to_owned()),
    };
    RoundRow {
        period: period(&round),
        awaiting: round.awaiting_countersignature.join(", "),
        round_id: round.round_id,
        status: round.status,
        mode: round.mode,
        settled,
        countersigned,
    }
}

fn period(round: &Round) -> String {
    round.period.as_ref().map_or_else(String::new, |period| {
        format!("{} – {}", period.start_time, period.end_time)
    })
}

/// One round's latest signed report.
#[utoipa::path(get, path = "/rounds/{round_id}", tag = "pages",
    params(
        ("round_id" = String, Path, description = "The round, RND-…"),
        ("lang" = Option<String>, Query, description = "`en` or `fr`; default from Accept-Language"),
    ),
    responses(
        (status = 200, description = "The round's report", content_type = "text/html"),
        (status = 303, description = "Not signed in: on to /login"),
        (status = 403, description = "Signed in with a role that may not see it", content_type = "text/html"),
        (status = 404, description = "No such round", body = Problem, content_type = "application/problem+json"),
    ))]
async fn round(
    State(context): State<Arc<Context>>,
    Path(round_id): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let text = text::choose(query.lang.as_deref(), &headers);
    if let Err(answer) = coordinator_reader(&context, &headers, text) {
        return answer;
    }
    let round = match fetch_round(&context, round_id).await {
        Ok(round) => round,
        Err(problem) => return problem.into_response(),
    };
    let report = round.report.clone();
    let (efficiency, diagram) = match &report {
        Some(report) => (
            localized(
                &efficiency(
                    report.netting_efficiency_numerator,
                    report.netting_efficiency_denominator,
                ),
                text,
            ),
            diagram::draw(&report.affected_states, &report.instructions),
        ),
        None => (String::new(), diagram::draw(&[], &[])),
    };
    render(
        StatusCode::OK,
        &RoundPage {
            text,
            words: words::of(text.lang),
            period: period(&round),
            round,
            report,
            efficiency,
            diagram,
            width: diagram::WIDTH,
            height: diagram::HEIGHT,
            node_radius: format!("{:.1}", diagram::NODE_RADIUS),
        },
    )
}

/// The round's report as JSON, for a signed-in browser: `/v1/rounds/{round_id}/report.json`'s
/// answer, behind the session instead of a bearer token.
#[utoipa::path(get, path = "/rounds/{round_id}/report.json", tag = "pages",
    params(("round_id" = String, Path, description = "The round, RND-…")),
    responses(
        (status = 200, description = "The coordinator's JSON rendering of the report", content_type = "application/json"),
        (status = 303, description = "Not signed in: on to /login"),
        (status = "4XX", description = "Refused, or not yet proposed"),
    ))]
async fn report_json(
    State(context): State<Arc<Context>>,
    Path(round_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    signed_in_download(&context, &headers, round_id, pb::ReportFormat::Json).await
}

/// The round's report as CSV, for a signed-in browser.
#[utoipa::path(get, path = "/rounds/{round_id}/report.csv", tag = "pages",
    params(("round_id" = String, Path, description = "The round, RND-…")),
    responses(
        (status = 200, description = "The coordinator's CSV rendering of the report", content_type = "text/csv"),
        (status = 303, description = "Not signed in: on to /login"),
        (status = "4XX", description = "Refused, or not yet proposed"),
    ))]
async fn report_csv(
    State(context): State<Arc<Context>>,
    Path(round_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    signed_in_download(&context, &headers, round_id, pb::ReportFormat::Csv).await
}

async fn signed_in_download(
    context: &Context,
    headers: &HeaderMap,
    round_id: String,
    format: pb::ReportFormat,
) -> Response {
    let text = text::choose(None, headers);
    if let Err(answer) = coordinator_reader(context, headers, text) {
        return answer;
    }
    crate::api::settlement::download(context, round_id, format)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn fetch_round(context: &Context, round_id: String) -> Result<Round, Problem> {
    let response = context
        .coordinator()?
        .settlement()
        .get_round(pb::GetRoundRequest { round_id })
        .await?
        .into_inner();
    Ok(convert::round(&response.round.unwrap_or_default()))
}

/// A decimal as `text`'s language writes it: `66,7 %` in French.
fn localized(decimal: &str, text: &Text) -> String {
    if text.lang == "fr" {
        decimal.replace('.', ",")
    } else {
        decimal.to_owned()
    }
}

/// `numerator / denominator` as a percentage with one decimal, rounded half up, computed in
/// integers so that it is exactly what the ratio says: `2 / 3` is `66.7 %`.
pub fn efficiency(numerator: u32, denominator: u32) -> String {
    let denominator = u64::from(denominator.max(1));
    let tenths = (u64::from(numerator) * 1000 * 2 + denominator) / (2 * denominator);
    format!("{}.{} %", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::efficiency;

    #[test]
    fn efficiency_is_the_exact_ratio_rounded_to_a_tenth_of_a_percent() {
        let check = |numerator, denominator, expected: &str| {
            assert_eq!(efficiency(numerator, denominator), expected);
        };
        check(0, 1, "0.0 %");
        check(2, 3, "66.7 %");
        check(1, 3, "33.3 %");
        check(1, 8, "12.5 %");
        check(1, 16, "6.3 %");
        check(6, 6, "100.0 %");
    }
}
