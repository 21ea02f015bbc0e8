//! Accord's state node: the readmission and admission services a ministry runs.
//!
//! Layers, outermost first: [`grpc`] (thin tonic handlers: who may call, which parser,
//! which use case; the one error mapping), [`convert`] (the edge: requests parsed into
//! commands, answers into responses, signed events in their envelope), [`app`] (the use
//! cases, in the domain's terms: one pipeline for every case kind), [`store`] (sea-orm;
//! the only module that touches SQL). [`courier`] carries outbox messages to partner
//! nodes; [`directory`] follows the coordinator's signed directory, which names the
//! partners when the configuration does not; [`server`] is the lifecycle; [`config`] the typed configuration; [`clock`] the
//! injected clock; [`violation`] the bad fields of a request; [`echo`] what a status may
//! repeat of a request; [`revocation`] the CRL's expiry. The node serves its partners and
//! its own gateway over mTLS only, and never learns an identity from a request field.

pub mod app;
pub mod config;
pub mod convert;
pub mod courier;
pub mod directory;
pub mod grpc;
pub mod ledger;
pub mod revocation;
pub mod server;
pub mod settlement;
pub mod store;

pub use accord_edge::{clock, echo, violation};
