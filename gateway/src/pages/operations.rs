//! `/breaks` and `/quotas`: the ledger's breaks by kind and age, and the capacities and
//! parity limits, for operators and diplomats; operators also get a form on each — waive a
//! break with a reason, set a capacity. Each form carries the session's anti-forgery value
//! (`session::form_token`) and an idempotency key made when the page was drawn, so posting
//! the same form twice acts once. A form goes through the same conversion as the REST API;
//! the coordinator decides, and a refusal is shown on the page with the fields it names.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::session::{form_token, form_token_matches};
use super::text::{self, Text};
use super::words::{self, Words};
use super::{coordinator_reader, login_page, render};
use crate::api::Context;
use crate::auth::{Access, Role, allows};
use crate::convert::{invalid, ledger, settlement};
use crate::json::TimeRange;
use crate::json::ledger::{Break, BreakQuery, Resolution};
use crate::json::settlement::{Capacity, ParityLimit, SetCapacity};
use crate::problem::Problem;

/// Registers the breaks' and quotas' pages and forms.
pub fn routes(router: OpenApiRouter<Arc<Context>>) -> OpenApiRouter<Arc<Context>> {
    router
        .routes(routes!(breaks))
        .routes(routes!(resolve))
        .routes(routes!(quotas, set_capacity))
}

/// The breaks page's query: its language and the list's filters.
#[derive(Debug, Default, Deserialize)]
struct BreaksQuery {
    lang: Option<String>,
    kind: Option<String>,
    age: Option<String>,
    status: Option<String>,
    page_token: Option<String>,
}

/// What an operator's form needs: its anti-forgery value and a fresh idempotency key (32
/// hex digits, so that a row's number can follow it within the coordinator's 128 characters).
struct FormKeys {
    csrf: String,
    idempotency_key: String,
}

/// A break on the page, and where its form posts.
struct BreakRow {
    found: Break,
    action: String,
}

#[derive(Template)]
#[template(path = "breaks.html")]
struct BreaksPage {
    text: &'static Text,
    words: &'static Words,
    summary: Vec<(String, String, usize)>,
    breaks: Vec<BreakRow>,
    form: Option<FormKeys>,
    error: Option<String>,
    next_page: Option<String>,
}

#[derive(Template)]
#[template(path = "quotas.html")]
struct QuotasPage {
    text: &'static Text,
    words: &'static Words,
    capacities: Vec<Capacity>,
    parity_limits: Vec<ParityLimit>,
    form: Option<FormKeys>,
    error: Option<String>,
    next_page: Option<String>,
}

/// The form keys for `role`: only operators get forms.
fn form_keys(context: &Context, headers: &HeaderMap, role: Role) -> Option<FormKeys> {
    if !allows(role, context.upstream(), Access::Write) {
        return None;
    }
    Some(FormKeys {
        csrf: form_token(headers)?,
        idempotency_key: context.sessions.random_value()?.chars().take(32).collect(),
    })
}

/// What a refusal says on a page: the detail, or the fields it names.
fn refusal(problem: &Problem) -> String {
    if problem.violations.is_empty() {
        return problem.detail.clone();
    }
    problem
        .violations
        .iter()
        .map(|violation| format!("{}: {}", violation.field, violation.description))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The ledger's breaks, by kind and age.
#[utoipa::path(get, path = "/breaks", tag = "pages",
    params(
        ("lang" = Option<String>, Query, description = "`en` or `fr`; default from Accept-Language"),
        ("kind" = Option<String>, Query, description = "Only breaks of these kinds, comma-separated"),
        ("age" = Option<String>, Query, description = "Only breaks of this age bucket"),
        ("status" = Option<String>, Query, description = "`OPEN` (default) or `RESOLVED`"),
        ("page_token" = Option<String>, Query, description = "The next page's token"),
    ),
    responses(
        (status = 200, description = "The breaks; operators also get a form to waive each", content_type = "text/html"),
        (status = 303, description = "Not signed in: on to /login"),
        (status = 403, description = "Signed in with a role that may not see it", content_type = "text/html"),
    ))]
async fn breaks(
    State(context): State<Arc<Context>>,
    Query(query): Query<BreaksQuery>,
    headers: HeaderMap,
) -> Response {
    let text = text::choose(query.lang.as_deref(), &headers);
    let role = match coordinator_reader(&context, &headers, text) {
        Ok(role) => role,
        Err(answer) => return answer,
    };
    breaks_page(&context, &headers, role, text, &query, None).await
}

async fn breaks_page(
    context: &Context,
    headers: &HeaderMap,
    role: Role,
    text: &'static Text,
    query: &BreaksQuery,
    error: Option<(StatusCode, String)>,
) -> Response {
    let filters = BreakQuery {
        kind: query.kind.clone(),
        age: query.age.clone(),
        status: query.status.clone(),
        page_token: query.page_token.clone(),
        ..BreakQuery::default()
    };
    let page = match list_breaks(context, &filters).await {
        Ok(page) => page,
        Err(problem) => return problem.into_response(),
    };
    let mut summary: BTreeMap<(String, String), usize> = BTreeMap::new();
    for found in &page.breaks {
        *summary
            .entry((found.kind.clone(), found.age_bucket.clone()))
            .or_default() += 1;
    }
    let (status, error) = error.map_or((StatusCode::OK, None), |(status, error)| {
        (status, Some(error))
    });
    render(
        status,
        &BreaksPage {
            text,
            words: words::of(text.lang),
            summary: summary
                .into_iter()
                .map(|((kind, age), count)| (kind, age, count))
                .collect(),
            breaks: page
                .breaks
                .into_iter()
                .map(|found| BreakRow {
                    action: format!("/breaks/{}/resolution", path_segment(&found.break_id)),
                    found,
                })
                .collect(),
            form: form_keys(context, headers, role),
            error,
            next_page: page.next_page_token,
        },
    )
}

async fn list_breaks(
    context: &Context,
    filters: &BreakQuery,
) -> Result<crate::json::ledger::BreakPage, Problem> {
    let request = ledger::list_breaks(filters)?;
    let response = context
        .coordinator()?
        .ledger()
        .list_breaks(request)
        .await?
        .into_inner();
    Ok(ledger::break_page(response))
}

/// The break form's fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResolveForm {
    /// Why the operator waives the break.
    #[serde(default)]
    pub reason: String,
    /// The key drawn with the form.
    #[serde(default)]
    pub idempotency_key: String,
    /// The session's anti-forgery value.
    #[serde(default)]
    pub csrf: String,
    /// The page's language.
    #[serde(default)]
    pub lang: Option<String>,
}

/// An operator waives a break from the breaks page.
#[utoipa::path(post, path = "/breaks/{break_id}/resolution", tag = "pages",
    params(("break_id" = String, Path, description = "The break, its slashes percent-encoded (`%2F`)")),
    request_body(content = ResolveForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Waived: back to /breaks"),
        (status = "4XX", description = "Refused: the page again with why, or the sign-in form", content_type = "text/html"),
    ))]
async fn resolve(
    State(context): State<Arc<Context>>,
    Path(break_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ResolveForm>,
) -> Response {
    let text = text::choose(form.lang.as_deref(), &headers);
    let role = match operator_form(&context, &headers, text, &form.csrf) {
        Ok(role) => role,
        Err(answer) => return answer,
    };
    let body = Resolution {
        reason: form.reason.clone(),
    };
    let request = ledger::resolve(form.idempotency_key.clone(), break_id, &body);
    let answer = match context.coordinator() {
        Ok(coordinator) => coordinator
            .ledger()
            .resolve_break(request)
            .await
            .map_err(Problem::from),
        Err(problem) => Err(problem),
    };
    let query = BreaksQuery {
        lang: Some(text.lang.to_owned()),
        ..BreaksQuery::default()
    };
    match answer {
        Ok(_) => Redirect::to(&format!("/breaks?lang={}", text.lang)).into_response(),
        Err(problem) => {
            let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
            let error = Some((status, refusal(&problem)));
            breaks_page(&context, &headers, role, text, &query, error).await
        }
    }
}

/// `text` as one segment of a URL's path: every byte but the unreserved ones
/// percent-encoded, so that a break's id (`MISMATCH/RDM-…/…`) stays one segment.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The role of a signed-in operator posting a form with its session's anti-forgery value,
/// or the sign-in form with 403.
fn operator_form(
    context: &Context,
    headers: &HeaderMap,
    text: &'static Text,
    csrf: &str,
) -> Result<Role, Response> {
    let role = coordinator_reader(context, headers, text)?;
    if !form_token_matches(headers, csrf) {
        return Err(login_page(
            context,
            StatusCode::FORBIDDEN,
            text,
            Some(text.form_expired),
        ));
    }
    if !allows(role, context.upstream(), Access::Write) {
        return Err(login_page(
            context,
            StatusCode::FORBIDDEN,
            text,
            Some(words::of(text.lang).not_allowed),
        ));
    }
    Ok(role)
}

/// The quotas page's query.
#[derive(Debug, Default, Deserialize)]
struct QuotasQuery {
    lang: Option<String>,
    page_token: Option<String>,
}

/// Admission capacities per state and period, and the pairs' parity limits.
#[utoipa::path(get, path = "/quotas", tag = "pages",
    params(
        ("lang" = Option<String>, Query, description = "`en` or `fr`; default from Accept-Language"),
        ("page_token" = Option<String>, Query, description = "The next page's token"),
    ),
    responses(
        (status = 200, description = "The quotas; operators also get a form to set a capacity", content_type = "text/html"),
        (status = 303, description = "Not signed in: on to /login"),
        (status = 403, description = "Signed in with a role that may not see it", content_type = "text/html"),
    ))]
async fn quotas(
    State(context): State<Arc<Context>>,
    Query(query): Query<QuotasQuery>,
    headers: HeaderMap,
) -> Response {
    let text = text::choose(query.lang.as_deref(), &headers);
    let role = match coordinator_reader(&context, &headers, text) {
        Ok(role) => role,
        Err(answer) => return answer,
    };
    quotas_page(&context, &headers, role, text, query.page_token, None).await
}

async fn quotas_page(
    context: &Context,
    headers: &HeaderMap,
    role: Role,
    text: &'static Text,
    page_token: Option<String>,
    error: Option<(StatusCode, String)>,
) -> Response {
    let request = settlement::list_quotas(&crate::json::settlement::QuotaQuery {
        page_token,
        ..Default::default()
    });
    let answer = match context.coordinator() {
        Ok(coordinator) => coordinator
            .settlement()
            .list_quotas(request)
            .await
            .map_err(Problem::from),
        Err(problem) => Err(problem),
    };
    let quotas = match answer {
        Ok(response) => settlement::quotas(response.into_inner()),
        Err(problem) => return problem.into_response(),
    };
    let (status, error) = error.map_or((StatusCode::OK, None), |(status, error)| {
        (status, Some(error))
    });
    render(
        status,
        &QuotasPage {
            text,
            words: words::of(text.lang),
            capacities: quotas.capacities,
            parity_limits: quotas.parity_limits,
            form: form_keys(context, headers, role),
            error,
            next_page: quotas.next_page_token,
        },
    )
}

/// The capacity form's fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CapacityForm {
    /// The admitting state.
    #[serde(default)]
    pub state: String,
    /// The period's first day (`2026-03-02`) or instant (RFC 3339).
    #[serde(default)]
    pub start: String,
    /// The period's end, exclusive: a day or an instant.
    #[serde(default)]
    pub end: String,
    /// How many people the state can admit in the period.
    #[serde(default)]
    pub capacity: String,
    /// The key drawn with the form.
    #[serde(default)]
    pub idempotency_key: String,
    /// The session's anti-forgery value.
    #[serde(default)]
    pub csrf: String,
    /// The page's language.
    #[serde(default)]
    pub lang: Option<String>,
}

/// A day (`2026-03-02`) as its first instant in UTC; anything else as written.
fn instant(text: &str) -> String {
    let text = text.trim();
    if text.len() == 10 && text.as_bytes().get(4) == Some(&b'-') {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    }
}

/// An operator sets a capacity from the quotas page.
#[utoipa::path(post, path = "/quotas", tag = "pages",
    request_body(content = CapacityForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Set: back to /quotas"),
        (status = "4XX", description = "Refused: the page again with why, or the sign-in form", content_type = "text/html"),
    ))]
async fn set_capacity(
    State(context): State<Arc<Context>>,
    headers: HeaderMap,
    Form(form): Form<CapacityForm>,
) -> Response {
    let text = text::choose(form.lang.as_deref(), &headers);
    let role = match operator_form(&context, &headers, text, &form.csrf) {
        Ok(role) => role,
        Err(answer) => return answer,
    };
    let answer = match capacity_request(&form) {
        Ok(request) => match context.coordinator() {
            Ok(coordinator) => coordinator
                .settlement()
                .set_capacity(request)
                .await
                .map_err(Problem::from),
            Err(problem) => Err(problem),
        },
        Err(problem) => Err(problem),
    };
    match answer {
        Ok(_) => Redirect::to(&format!("/quotas?lang={}", text.lang)).into_response(),
        Err(problem) => {
            let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
            let error = Some((status, refusal(&problem)));
            quotas_page(&context, &headers, role, text, None, error).await
        }
    }
}

fn capacity_request(form: &CapacityForm) -> Result<accord_proto::v1::SetCapacityRequest, Problem> {
    let capacity = form.capacity.trim().parse::<u32>().map_err(|_| {
        Problem::from_status(&invalid(vec![(
            "capacity".to_owned(),
            "must be a whole number of people".to_owned(),
        )]))
    })?;
    let body = SetCapacity {
        state: form.state.trim().to_uppercase(),
        period: TimeRange {
            start_time: instant(&form.start),
            end_time: instant(&form.end),
        },
        capacity,
    };
    Ok(settlement::set_capacity(
        form.idempotency_key.clone(),
        &body,
    )?)
}
