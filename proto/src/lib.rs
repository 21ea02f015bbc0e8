//! Accord's v1 gRPC API: the generated messages, clients and servers of package `accord.v1`,
//! and the file descriptor set for server reflection.
//!
//! The API itself lives in `proto/accord/v1/*.proto`, which documents every service, RPC,
//! message and field: who may call what (identity comes from the mTLS certificate), which
//! calls are idempotent, and what each status code means. `build.rs` compiles those files
//! with protox and tonic-prost-build; this crate holds generated code only. Conversions to
//! and from domain types live in the services that use them, never here.
//!
//! The rules every RPC follows are written once, at the top of two files: `common.proto`
//! (caller identities, idempotency keys, the status codes and their error details,
//! pagination, canonical bytes and signatures) and `event.proto` (how case events are
//! numbered, signed, delivered between nodes and reported to the coordinator). Personal data
//! appears only in `person.proto`'s `PersonalData`, which only the node services import.
//!
//! Five services, each with a client (`v1::<service>_client`) and a server
//! (`v1::<service>_server`):
//! - `ReadmissionService` and `AdmissionService`, served by every state node;
//! - `MembershipService`, `LedgerService` and `SettlementService`, served by the coordinator.

/// Package `accord.v1`: every message, enum, client and server of the v1 API.
///
/// `missing_docs` stays on here on purpose: every proto element must carry a comment, and an
/// undocumented one fails `cargo clippy -- -D warnings`.
#[allow(
    // Generated code: tonic spells out paths such as `tonic::codegen::Service` and
    // `std::result::Result` in full, which the workspace's lint flags.
    unused_qualifications,
    // Generated code: prost's markdown clean-up indents the continuation lines of proto
    // comment list items by one space; rustdoc renders them correctly as lazy continuations.
    clippy::doc_lazy_continuation
)]
pub mod v1 {
    tonic::include_proto!("accord.v1");
}

/// The encoded `FileDescriptorSet` of package `accord.v1` (with source comments), for
/// `tonic_reflection::server::Builder::register_encoded_file_descriptor_set`.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("accord_v1_descriptor");
