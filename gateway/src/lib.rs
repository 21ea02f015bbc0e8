//! Accord's gateway: REST/JSON for a ministry's case system, in front of its state's node.
//!
//! The gateway speaks HTTP and JSON to the case system and gRPC to the node, over mTLS with
//! the state's gateway certificate (`spiffe://accord/state/FR/gateway`): to the node, every
//! call through it is one of the state's caseworkers. It authenticates callers by bearer
//! token (`auth`), converts bodies to wire messages and back in one place (`convert`), and
//! maps every refusal to `application/problem+json` in one place (`problem`). It documents
//! itself at `/openapi.json` (OpenAPI 3.1, generated from the handlers by utoipa). For people,
//! it serves a sign-in page and the state's case list (`pages`), in English and French.
//!
//! Configured with a `[coordinator]` table instead (`config::Upstream`), the same gateway
//! fronts the coordinator for its operators and for diplomats: over mTLS with an operator's
//! certificate (`coordinator`), it serves the settlement rounds, their signed reports
//! (JSON and CSV as the coordinator renders them), balances, breaks and quotas as REST, and
//! as pages (`/rounds`, `/rounds/{round_id}` with an SVG diagram of the flows, each
//! signature checked against the signed directory and the difference from the previous
//! round, `/balances` with a chart per pair, `/members`, `/breaks`, `/quotas`); operators set
//! capacities and waive breaks, diplomats only read. A round's report is also drawn as a
//! standalone HTML document (`pages::rounds::report_document`).
//!
//! It decides nothing its upstream decides: no lifecycle rule, no deadline, no check of a
//! person's data, no settlement figure is computed here, and it stores nothing. Partner
//! deliveries and the nodes' reports to the ledger are not on it.

pub mod api;
pub mod auth;
pub mod config;
pub mod convert;
pub mod coordinator;
pub mod extract;
pub mod json;
pub mod node;
pub mod pages;
pub mod problem;
pub mod server;

pub use config::GatewayConfig;
pub use server::{Error, Gateway};
