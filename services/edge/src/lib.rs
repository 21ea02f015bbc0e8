//! What every Accord gRPC service (the node, the coordinator) shares at its edge, so that
//! each writes only its own rules:
//!
//! - [`violation`]: the bad fields of a request, collected so the caller learns them all;
//! - [`contract`]: [`StatusContractLayer`](contract::StatusContractLayer), every refusal a
//!   server makes (its handlers' or tonic's own) as `common.proto` documents it;
//! - [`echo`]: what a status may repeat of a request (long values are cut);
//! - [`wire`]: times, required fields and coded enums as every service reads them;
//! - [`formats`]: closed formats the coordinator checks on input beyond the domain's parsers
//!   (an event's key);
//! - [`directory`]: the signed directory, signed by the coordinator and opened by nodes;
//! - [`report`]: the settlement report, written, signed, countersigned and opened, and a
//!   whole bundle verified offline from the root CA;
//! - [`settings`]: configuration layers, the `[tls]` table and the checks every server makes;
//! - [`serving`]: credentials loaded and checked, the port bound, reflection described;
//! - [`schema`]: the store side, migrations in code applied in order, each whole;
//! - [`audit`]: the audit log's record and its flood guard (each server writes its own rows);
//! - `testing` (feature `testing`, tests only): reading a refusal, a fresh test database;
//! - [`clock`]: the injected clock ([`clock::Clock`], [`clock::ManualClock`] for tests).
//!
//! It holds no use case and no service, and no table but the audit log's row, which every
//! server's schema holds alike: each service maps its own errors to statuses (with
//! [`ERROR_DOMAIN`] in their `ErrorInfo`) and audits through its own store, which writes
//! with [`audit`].

pub mod audit;
#[cfg(feature = "browser")]
pub mod browser;
pub mod clock;
pub mod contract;
pub mod directory;
pub mod echo;
pub mod formats;
pub mod report;
pub mod schema;
pub mod serving;
pub mod settings;
#[cfg(feature = "testing")]
pub mod testing;
pub mod violation;
pub mod wire;

/// The `google.rpc.ErrorInfo` domain of every Accord error.
pub const ERROR_DOMAIN: &str = "accord";
