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
//! It decides nothing the node decides: no lifecycle rule, no deadline, no check of a
//! person's data lives here, and it stores nothing. Partner deliveries and the coordinator's
//! services are not on it.

pub mod api;
pub mod auth;
pub mod config;
pub mod convert;
pub mod extract;
pub mod json;
pub mod node;
pub mod pages;
pub mod problem;
pub mod server;

pub use config::GatewayConfig;
pub use server::{Error, Gateway};
