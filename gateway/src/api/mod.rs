//! The REST API: the router, its OpenAPI 3.1 document, and what every handler shares.
//!
//! Handlers are thin: the caller's role (`crate::auth`), the body and the idempotency key
//! (`crate::extract`), one conversion to the node's request (`crate::convert`), one call to
//! the node, one conversion back. No handler decides anything the node decides. Every route
//! is registered through utoipa-axum, so the document at `/openapi.json` lists exactly the
//! routes the router serves.

mod admission;
mod readmission;

use std::sync::Arc;

use accord_domain::StateCode;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Tokens;
use crate::config::GatewayConfig;
use crate::node::NodeClient;
use crate::problem::Problem;

/// What every handler reaches: the node, the gateway's state, the tokens.
#[derive(Debug)]
pub struct Context {
    /// The node's services.
    pub node: NodeClient,
    /// The state whose node this gateway fronts.
    pub state: StateCode,
    /// The configured tokens.
    pub tokens: Tokens,
    /// The pages' signed-in browsers.
    pub sessions: crate::pages::session::Sessions,
    /// The OpenAPI document, serialized once.
    pub openapi: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Accord gateway",
        description = "REST/JSON for a ministry's case system over its state's Accord node. \
            Errors are application/problem+json (RFC 9457). Calls that record a step take an \
            Idempotency-Key header: a replay answers the first result; the same key with other \
            content is 409 IDEMPOTENCY_KEY_REUSED."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "readmissions", description = "Readmission cases: this state asks another to take a person back, or is asked."),
        (name = "offers", description = "Admission offers: places this state offers to people in another."),
        (name = "admissions", description = "Admission cases: one nominated person each."),
        (name = "pages", description = "Server-rendered pages for people, in English and French."),
    )
)]
struct Document;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes and their document, before the context is attached.
pub fn routes() -> (Router<Arc<Context>>, utoipa::openapi::OpenApi) {
    let router = OpenApiRouter::with_openapi(Document::openapi());
    let router = readmission::routes(router);
    let router = admission::routes(router);
    let router = crate::pages::routes(router);
    router
        .routes(utoipa_axum::routes!(openapi_json))
        .split_for_parts()
}

/// The gateway's router over `node`.
pub fn router(config: &GatewayConfig, node: NodeClient) -> Router {
    let (routes, document) = routes();
    let openapi = document.to_json().unwrap_or_default();
    let context = Context {
        node,
        state: config.state,
        tokens: Tokens::new(&config.tokens),
        sessions: crate::pages::session::Sessions::default(),
        openapi,
    };
    routes.fallback(not_found).with_state(Arc::new(context))
}

/// This document: the API's OpenAPI 3.1 description, generated from the handlers.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json(
    axum::extract::State(context): axum::extract::State<Arc<Context>>,
) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        context.openapi.clone(),
    )
}

async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "NO_SUCH_ROUTE",
        "no such route; see /openapi.json",
    )
}
