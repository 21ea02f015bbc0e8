//! `/rounds` and `/rounds/{round_id}`: every settlement round, and one round's latest
//! signed report for people — the per-state figures, the instructions and their flow
//! diagram, the debts carried in and forward, the breaks open at the cut-off, each signature
//! and whether it verifies, the difference from the previous final round, and links to the
//! coordinator's JSON and CSV renderings (the report itself is drawn by `super::report`, also
//! as a standalone document: [`report_document`]). Operators and diplomats read them alike.
//! Every figure is the signed report's; the only arithmetic here is the netting
//! efficiency's percentage, from its exact ratio, in integers, and the differences.

use std::sync::Arc;

use accord_proto::v1 as pb;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::difference;
use super::report;
use super::text::{self, Lang, Text};
use super::words::{self, Words};
use super::{PageQuery, coordinator_reader, render};
use crate::api::Context;
use crate::convert::settlement as convert;
use crate::json::settlement::Round;
use crate::problem::Problem;

/// The rounds read per page when looking for earlier final rounds.
const ROUND_PAGE_SIZE: u32 = 500;
/// The most pages read: 5,000 final rounds, a century of weekly rounds.
const ROUND_PAGES_MAX: usize = 10;

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

/// A wire period as `start – end`, RFC 3339.
pub(crate) fn period_of(range: Option<&pb::TimeRange>) -> String {
    range.map_or_else(String::new, |range| {
        let end = crate::convert::range_out(range);
        format!("{} – {}", end.start_time, end.end_time)
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
    let (round, finals, directory) = match report_sources(&context, round_id).await {
        Ok(sources) => sources,
        Err(problem) => return problem.into_response(),
    };
    let previous = difference::previous_final(&round, &finals);
    render(
        StatusCode::OK,
        &report::view(&round, previous, Some(&directory), text, false),
    )
}

/// The round, the final rounds to find the previous one among, and the signed directory
/// whose keys check the signatures.
async fn report_sources(
    context: &Context,
    round_id: String,
) -> Result<(pb::Round, Vec<pb::Round>, pb::SignedDirectory), Problem> {
    let round = context
        .coordinator()?
        .settlement()
        .get_round(pb::GetRoundRequest { round_id })
        .await?
        .into_inner()
        .round
        .unwrap_or_default();
    let finals = final_rounds(context).await?;
    let directory = super::members::directory(context).await?;
    Ok((round, finals, directory))
}

/// Every FINAL round, newest period first, at most [`ROUND_PAGES_MAX`] pages of
/// [`ROUND_PAGE_SIZE`].
pub(crate) async fn final_rounds(context: &Context) -> Result<Vec<pb::Round>, Problem> {
    let mut settlement = context.coordinator()?.settlement();
    let mut rounds = Vec::new();
    let mut page_token = String::new();
    for _ in 0..ROUND_PAGES_MAX {
        let page = settlement
            .list_rounds(pb::ListRoundsRequest {
                page_size: ROUND_PAGE_SIZE,
                page_token,
                statuses: vec![pb::RoundStatus::Final.into()],
                state: String::new(),
            })
            .await?
            .into_inner();
        rounds.extend(page.rounds);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok(rounds)
}

/// The report of `round` as a standalone HTML document, in `lang`: the same content as its
/// page `/rounds/{round_id}` — figures, instructions, the flow diagram, debts carried in and
/// forward, open breaks, each signature and whether it verifies with the keys `directory`
/// lists (none verifies without one), and the difference from `previous`, the previous
/// final round ([`difference::previous_final`] finds it among the final rounds) — with its
/// style inline and no script, no navigation and no link that needs the gateway's session.
/// A round not proposed yet gives a document that says so.
pub fn report_document(
    round: &pb::Round,
    previous: Option<&pb::Round>,
    directory: Option<&pb::SignedDirectory>,
    lang: Lang,
) -> String {
    let page = report::view(round, previous, directory, lang.text(), true);
    page.render().unwrap_or_else(|error| {
        // The template is compiled with the crate: rendering fails only if writing to a
        // String does, which it does not.
        format!("<!DOCTYPE html><p>{error}</p>")
    })
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
