//! The node's integration tests: one binary, modules by concern.
//!
//! The set-up helpers (`Federation::start`, `databases::fresh_databases`) install
//! `accord_telemetry::init_for_tests`, so the nodes' logs are captured with each test's
//! output and shown when it fails (`RUST_LOG` chooses what, `info` by default).

mod admission;
mod agreements;
mod databases;
mod directory;
mod edges;
mod federation;
mod ledger;
mod log_clock;
mod person;
mod privacy;
mod readmission;
mod readmission_authorization;
mod readmission_deadlines;
mod readmission_delivery;
mod readmission_lifecycle;
mod readmission_validation;
mod refusals;
mod revocation_live;
mod settlement_multilateral;
mod settlement_round;
mod small_truths;
mod store;
mod support;
mod tidy;
mod witness;
