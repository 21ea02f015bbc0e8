//! `/balances`: per ordered pair of states, the returns and admissions of each settled
//! period as a chart (from the FINAL rounds' signed reports: each report's inputs, the
//! period's matched returns and admissions per pair), and the debts and credits now (the
//! coordinator's `GetBalances` at the log's latest head), with every state's multilateral
//! position and the credits. For operators and diplomats. Nothing is computed here but the
//! charts' geometry: every count is the coordinator's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use accord_proto::v1 as pb;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::chart::{self, Chart, PeriodCounts};
use super::text::{self, Text};
use super::words::{self, Words};
use super::{PageQuery, coordinator_reader, render};
use crate::api::Context;
use crate::convert::settlement as convert;
use crate::json::settlement::{Balances, PairBalance};
use crate::problem::Problem;

/// Registers the balances' page.
pub fn routes(router: OpenApiRouter<Arc<Context>>) -> OpenApiRouter<Arc<Context>> {
    router.routes(routes!(balances))
}

/// One ordered pair: its balance now, and its chart over the periods.
struct PairView {
    first_state: String,
    second_state: String,
    now: Option<PairBalance>,
    chart: Chart,
}

#[derive(Template)]
#[template(path = "balances.html")]
struct BalancesPage {
    text: &'static Text,
    words: &'static Words,
    balances: Balances,
    pairs: Vec<PairView>,
    periods: usize,
    width: u32,
    height: u32,
}

/// One settled period's counts per ordered pair.
struct Period {
    label: String,
    period: String,
    returns: BTreeMap<(String, String), u32>,
    admissions: BTreeMap<(String, String), u32>,
}

/// Returns and admissions per pair over the settled periods, and debts and credits now.
#[utoipa::path(get, path = "/balances", tag = "pages",
    params(("lang" = Option<String>, Query, description = "`en` or `fr`; default from Accept-Language")),
    responses(
        (status = 200, description = "The balances, with a chart per pair", content_type = "text/html"),
        (status = 303, description = "Not signed in: on to /login"),
        (status = 403, description = "Signed in with a role that may not see it", content_type = "text/html"),
    ))]
async fn balances(
    State(context): State<Arc<Context>>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let text = text::choose(query.lang.as_deref(), &headers);
    if let Err(answer) = coordinator_reader(&context, &headers, text) {
        return answer;
    }
    let (balances, finals) = match sources(&context).await {
        Ok(sources) => sources,
        Err(problem) => return problem.into_response(),
    };
    let periods = periods(&finals);
    let pairs = pairs(&balances, &periods);
    render(
        StatusCode::OK,
        &BalancesPage {
            text,
            words: words::of(text.lang),
            balances,
            pairs,
            periods: periods.len(),
            width: chart::WIDTH,
            height: chart::HEIGHT,
        },
    )
}

async fn sources(context: &Context) -> Result<(Balances, Vec<pb::Round>), Problem> {
    let response = context
        .coordinator()?
        .settlement()
        .get_balances(pb::GetBalancesRequest::default())
        .await?
        .into_inner();
    let finals = super::rounds::final_rounds(context).await?;
    Ok((convert::balances(&response), finals))
}

/// Each final round's period with its inputs' counts, oldest first.
fn periods(finals: &[pb::Round]) -> Vec<Period> {
    let mut periods: Vec<(Option<i64>, Period)> = finals
        .iter()
        .filter_map(|round| {
            let report = round.report.as_ref()?.report.as_ref()?;
            let inputs = report.inputs.clone().unwrap_or_default();
            let start = report.period.as_ref().and_then(|period| period.start_time);
            let counts = |pairs: &[pb::PairCount]| {
                let mut counts = BTreeMap::new();
                for pair in pairs {
                    *counts
                        .entry((pair.first_state.clone(), pair.second_state.clone()))
                        .or_default() += pair.count;
                }
                counts
            };
            let period = super::rounds::period_of(report.period.as_ref());
            let label = crate::convert::time(start.as_ref())
                .map(|start| start.chars().take(10).collect())
                .unwrap_or_default();
            Some((
                start.map(|start| start.seconds),
                Period {
                    label,
                    period,
                    returns: counts(&inputs.returns),
                    admissions: counts(&inputs.admissions),
                },
            ))
        })
        .collect();
    periods.sort_by_key(|(start, _)| *start);
    periods.into_iter().map(|(_, period)| period).collect()
}

/// Every ordered pair with a balance now or a count in a period, in order.
fn pairs(balances: &Balances, periods: &[Period]) -> Vec<PairView> {
    let mut keys: BTreeSet<(String, String)> = balances
        .pairs
        .iter()
        .map(|pair| (pair.first_state.clone(), pair.second_state.clone()))
        .collect();
    for period in periods {
        keys.extend(period.returns.keys().cloned());
        keys.extend(period.admissions.keys().cloned());
    }
    keys.into_iter()
        .map(|key| {
            let counts: Vec<PeriodCounts> = periods
                .iter()
                .map(|period| PeriodCounts {
                    label: period.label.clone(),
                    period: period.period.clone(),
                    returns: period.returns.get(&key).copied().unwrap_or(0),
                    admissions: period.admissions.get(&key).copied().unwrap_or(0),
                })
                .collect();
            PairView {
                now: balances
                    .pairs
                    .iter()
                    .find(|pair| pair.first_state == key.0 && pair.second_state == key.1)
                    .cloned(),
                chart: chart::draw(&counts),
                first_state: key.0,
                second_state: key.1,
            }
        })
        .collect()
}
