//! Accord's state node: the readmission and admission services a ministry runs.
//!
//! Layers, outermost first: [`grpc`] (thin tonic handlers: identity, validation,
//! conversion, the one error mapping), [`app`] (use cases over `accord-domain`), [`store`]
//! (sea-orm; the only module that touches SQL). [`convert`] holds the wire ↔ domain
//! conversions; [`server`] the lifecycle; [`config`] the typed configuration; [`clock`] the
//! injected clock; [`echo`] what a status may repeat of a request. The node serves its partners and its own gateway over mTLS only, and
//! never learns an identity from a request field.

pub mod app;
pub mod clock;
pub mod config;
pub mod convert;
pub mod courier;
pub mod echo;
pub mod grpc;
pub mod revocation;
pub mod server;
pub mod store;
pub mod violation;
