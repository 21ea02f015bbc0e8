//! Accord's state node: the readmission and admission services a ministry runs.
//!
//! Layers, outermost first: `grpc` (thin tonic handlers: identity, validation, conversion),
//! `app` (use cases over `accord-domain`), `store` (sea-orm; the only module that touches
//! SQL). The node serves its partners and its own gateway over mTLS only.

pub mod store;
