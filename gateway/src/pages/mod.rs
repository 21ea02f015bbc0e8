//! Server-rendered pages for people, beside the REST API: `/login` signs a browser in with
//! a bearer token, `/cases` lists the state's readmission cases for its caseworkers; on the
//! coordinator's gateway, `/rounds`, `/rounds/{round_id}` (`rounds`, the report drawn by
//! `report`, also as a standalone document), `/balances` (`balances`), `/members`
//! (`members`), `/breaks` and `/quotas` (`operations`) serve its operators and diplomats
//! (words in `words`; the round's flow diagram in `diagram`, the balances' charts in `chart`,
//! signatures checked in `verification`, the previous round compared in `difference`). In
//! English and French (`text`), with askama's compiled, auto-escaping templates
//! (`gateway/templates/`) and no script or asset from outside the repository.
//!
//! Pages read through the same node client and conversion as the REST API; they decide
//! nothing and hold nothing but the sessions (`session`).

pub mod balances;
pub mod chart;
pub mod diagram;
pub mod difference;
pub mod members;
pub mod operations;
pub mod report;
pub mod rounds;
pub mod session;
pub mod text;
pub mod verification;
pub mod words;

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{Client, Context};
use crate::auth::{Access, Role, allows};
use crate::config::Upstream;
use crate::problem::Problem;
use text::Text;

/// Registers the pages.
pub fn routes(router: OpenApiRouter<Arc<Context>>) -> OpenApiRouter<Arc<Context>> {
    router
        .routes(routes!(login_form, login))
        .routes(routes!(cases))
}

/// Registers the coordinator's gateway's pages.
pub fn coordinator_routes(router: OpenApiRouter<Arc<Context>>) -> OpenApiRouter<Arc<Context>> {
    let router = router.routes(routes!(login_form, login));
    let router = rounds::routes(router);
    let router = balances::routes(router);
    let router = members::routes(router);
    operations::routes(router)
}

/// The language a page was asked in.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    lang: Option<String>,
    page_token: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    text: &'static Text,
    error: Option<&'static str>,
    csrf: String,
}

/// One row of the case list.
struct CaseRow {
    case_ref: String,
    partner: String,
    role: &'static str,
    regime: String,
    status: String,
    submitted: String,
    reply_due: String,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    text: &'static Text,
    state: String,
    rows: Vec<CaseRow>,
    next_page: Option<String>,
}

pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(
                error = &error as &dyn std::error::Error,
                "a page did not render"
            );
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "PAGE_FAILED",
                "the page did not render",
            )
            .into_response()
        }
    }
}

/// The sign-in form.
#[utoipa::path(get, path = "/login", tag = "pages",
    params(("lang" = Option<String>, Query, description = "`en` or `fr`; default from Accept-Language")),
    responses((status = 200, description = "The sign-in form", content_type = "text/html")))]
async fn login_form(
    State(context): State<Arc<Context>>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let text = text::choose(query.lang.as_deref(), &headers);
    login_page(&context, StatusCode::OK, text, None)
}

/// The sign-in form with a fresh anti-forgery value in the form and its cookie.
pub(crate) fn login_page(
    context: &Context,
    status: StatusCode,
    text: &'static Text,
    error: Option<&'static str>,
) -> Response {
    let Some(csrf) = context.sessions.random_value() else {
        return no_randomness();
    };
    let cookie = session::set_csrf_cookie(&csrf);
    let page = render(status, &LoginPage { text, error, csrf });
    ([(header::SET_COOKIE, cookie)], page).into_response()
}

pub(crate) fn no_randomness() -> Response {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "NO_RANDOMNESS",
        "no random value could be made",
    )
    .into_response()
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Login {
    /// The bearer token.
    pub token: String,
    /// The page's language.
    #[serde(default)]
    pub lang: Option<String>,
    /// The form's anti-forgery value, as its cookie holds it.
    #[serde(default)]
    pub csrf: String,
}

/// Exchanges a token for a session cookie (`HttpOnly`, `SameSite=Strict`) and goes to the
/// case list.
#[utoipa::path(post, path = "/login", tag = "pages",
    request_body(content = Login, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: the session cookie, and on to /cases (/rounds on the coordinator's gateway)"),
        (status = 401, description = "Unknown token: the form again", content_type = "text/html"),
        (status = 403, description = "The form's anti-forgery value does not match its cookie: the form again", content_type = "text/html"),
    ))]
async fn login(
    State(context): State<Arc<Context>>,
    headers: HeaderMap,
    Form(form): Form<Login>,
) -> Response {
    let text = text::choose(form.lang.as_deref(), &headers);
    let expected = session::cookie(&headers, session::CSRF_COOKIE);
    if form.csrf.is_empty() || expected.as_deref() != Some(form.csrf.as_str()) {
        return login_page(
            &context,
            StatusCode::FORBIDDEN,
            text,
            Some(text.form_expired),
        );
    }
    let Some(role) = context.tokens.role(form.token.trim()) else {
        return login_page(
            &context,
            StatusCode::UNAUTHORIZED,
            text,
            Some(text.unknown_token),
        );
    };
    let Some(session) = context.sessions.open(role) else {
        return no_randomness();
    };
    let first_page = match context.upstream() {
        Upstream::Node(_) => "/cases",
        Upstream::Coordinator => "/rounds",
    };
    let target = format!("{first_page}?lang={}", text.lang);
    (
        [(header::SET_COOKIE, session::set_cookie(&session))],
        Redirect::to(&target),
    )
        .into_response()
}

/// The state's readmission cases, for its caseworkers.
#[utoipa::path(get, path = "/cases", tag = "pages",
    params(
        ("lang" = Option<String>, Query, description = "`en` or `fr`; default from Accept-Language"),
        ("page_token" = Option<String>, Query, description = "The next page's token"),
    ),
    responses(
        (status = 200, description = "The case list", content_type = "text/html"),
        (status = 303, description = "Not signed in: on to /login"),
        (status = 403, description = "Signed in with a role that may not see it", content_type = "text/html"),
    ))]
async fn cases(
    State(context): State<Arc<Context>>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let text = text::choose(query.lang.as_deref(), &headers);
    let Some(role) = context.sessions.role(&headers) else {
        return Redirect::to(&format!("/login?lang={}", text.lang)).into_response();
    };
    let upstream = context.upstream();
    let Client::Node(node, state) = &context.client else {
        return login_page(
            &context,
            StatusCode::FORBIDDEN,
            text,
            Some(text.not_allowed),
        );
    };
    if !matches!(role, Role::Caseworker(_)) || !allows(role, upstream, Access::Write) {
        return login_page(
            &context,
            StatusCode::FORBIDDEN,
            text,
            Some(text.not_allowed),
        );
    }
    let request = accord_proto::v1::ListReadmissionsRequest {
        page_token: query.page_token.unwrap_or_default(),
        ..Default::default()
    };
    let page = match node.readmission().list_readmissions(request).await {
        Ok(response) => crate::convert::readmission::page(response.into_inner()),
        Err(status) => return Problem::from_status(&status).into_response(),
    };
    let state = state.to_string();
    let rows = page
        .readmissions
        .into_iter()
        .map(|case| row(text, &state, case))
        .collect();
    render(
        StatusCode::OK,
        &CasesPage {
            text,
            state,
            rows,
            next_page: page.next_page_token,
        },
    )
}

fn row(
    text: &'static Text,
    state: &str,
    case: crate::json::readmission::ReadmissionCase,
) -> CaseRow {
    let requesting = case.requesting_state == state;
    CaseRow {
        partner: if requesting {
            case.requested_state
        } else {
            case.requesting_state
        },
        role: if requesting {
            text.requesting
        } else {
            text.requested
        },
        case_ref: case.case_ref,
        regime: case.regime,
        status: case.status,
        submitted: case.submitted_at.unwrap_or_default(),
        reply_due: case.reply_due_at.unwrap_or_default(),
    }
}

/// The role of a signed-in browser that may read the coordinator's pages, or the answer
/// instead: to `/login` without a session, the sign-in form with 403 for a caseworker.
pub(crate) fn coordinator_reader(
    context: &Context,
    headers: &HeaderMap,
    text: &'static Text,
) -> Result<Role, Response> {
    let Some(role) = context.sessions.role(headers) else {
        return Err(Redirect::to(&format!("/login?lang={}", text.lang)).into_response());
    };
    if allows(role, context.upstream(), Access::Read) {
        Ok(role)
    } else {
        let words = words::of(text.lang);
        Err(login_page(
            context,
            StatusCode::FORBIDDEN,
            text,
            Some(words.not_allowed),
        ))
    }
}
