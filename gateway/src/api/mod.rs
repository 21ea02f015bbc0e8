//! The REST API: the router, its OpenAPI 3.1 document, and what every handler shares.
//!
//! Handlers are thin: the caller's role (`crate::auth`), the body and the idempotency key
//! (`crate::extract`), one conversion to the upstream's request (`crate::convert`), one call
//! to the node or the coordinator, one conversion back. No handler decides anything the node decides. Every route
//! is registered through utoipa-axum, so the document at `/openapi.json` lists exactly the
//! routes the router serves.

mod admission;
mod breaks;
mod readmission;
pub(crate) mod settlement;

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Tokens;
use crate::config::{GatewayConfig, Upstream};
use crate::coordinator::CoordinatorClient;
use crate::node::NodeClient;
use crate::problem::Problem;

/// What every handler reaches: the upstream's client, the tokens, the sessions.
#[derive(Debug)]
pub struct Context {
    /// The node's or the coordinator's services.
    pub client: Client,
    /// The configured tokens.
    pub tokens: Tokens,
    /// The pages' signed-in browsers.
    pub sessions: crate::pages::session::Sessions,
    /// The OpenAPI document, serialized once.
    pub openapi: String,
}

/// The client of what the gateway fronts.
#[derive(Debug, Clone)]
pub enum Client {
    /// A state's node.
    Node(NodeClient, accord_domain::StateCode),
    /// The coordinator.
    Coordinator(CoordinatorClient),
}

impl Client {
    /// Prepares the channel to `config`'s upstream.
    pub fn new(config: &GatewayConfig) -> Result<Self, crate::server::Error> {
        Ok(match config.upstream {
            Upstream::Node(state) => Self::Node(NodeClient::new(config, state)?, state),
            Upstream::Coordinator => Self::Coordinator(CoordinatorClient::new(config)?),
        })
    }
}

impl Context {
    /// What the gateway fronts.
    pub fn upstream(&self) -> Upstream {
        match &self.client {
            Client::Node(_, state) => Upstream::Node(*state),
            Client::Coordinator(_) => Upstream::Coordinator,
        }
    }

    /// The node's client; only the node's routes call it, which a coordinator's gateway
    /// does not serve.
    pub fn node(&self) -> Result<&NodeClient, Problem> {
        match &self.client {
            Client::Node(node, _) => Ok(node),
            Client::Coordinator(_) => Err(not_served()),
        }
    }

    /// The coordinator's client; only the coordinator's routes call it.
    pub fn coordinator(&self) -> Result<&CoordinatorClient, Problem> {
        match &self.client {
            Client::Coordinator(coordinator) => Ok(coordinator),
            Client::Node(..) => Err(not_served()),
        }
    }
}

fn not_served() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "NO_SUCH_ROUTE",
        "this gateway does not serve this route; see /openapi.json",
    )
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
        (name = "rounds", description = "Settlement rounds and their signed reports (the coordinator's gateway)."),
        (name = "ledger", description = "Balances and reconciliation breaks (the coordinator's gateway)."),
        (name = "quotas", description = "Admission capacities and parity limits (the coordinator's gateway)."),
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

/// The routes `upstream`'s gateway serves and their document, before the context is
/// attached: a state's gateway serves the node's API and `/cases`, the coordinator's the
/// rounds, ledger and quotas and their pages.
pub fn routes(upstream: Upstream) -> (Router<Arc<Context>>, utoipa::openapi::OpenApi) {
    let router = OpenApiRouter::with_openapi(Document::openapi());
    let router = match upstream {
        Upstream::Node(_) => {
            let router = readmission::routes(router);
            let router = admission::routes(router);
            crate::pages::routes(router)
        }
        Upstream::Coordinator => {
            let router = settlement::routes(router);
            let router = breaks::routes(router);
            crate::pages::coordinator_routes(router)
        }
    };
    router
        .routes(utoipa_axum::routes!(openapi_json))
        .split_for_parts()
}

/// The gateway's router over `client`.
pub fn router(config: &GatewayConfig, client: Client) -> Router {
    let (routes, document) = routes(config.upstream);
    let openapi = document.to_json().unwrap_or_default();
    let context = Context {
        client,
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
