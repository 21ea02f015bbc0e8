//! Accord's coordinator: the network's membership. It issues one-time enrolment tokens
//! (operators), enrols states, and publishes the signed, versioned directory every node
//! trusts for its partners, their endpoints, their keys and what each pair agreed.
//!
//! Layers, outermost first, as in the node: [`grpc`] (thin tonic handlers: who may call,
//! which parser, which use case; the one error mapping), [`convert`] (requests parsed into
//! commands, the domain's directory into its wire form), [`app`] (the use cases, in the
//! domain's terms), [`store`] (sea-orm; the only module that touches SQL). [`server`] is
//! the lifecycle, [`config`] the typed configuration. The ledger and settlement rounds are
//! later parts of the coordinator; it never sees a person.

pub mod app;
pub mod config;
pub mod convert;
pub mod grpc;
pub mod joining;
pub mod server;
pub mod store;
