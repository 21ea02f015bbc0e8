//! Accord's domain core: the rules of the returns-for-admissions scheme, as pure Rust.
//!
//! Everything here is a value or a pure function: states, case references, regime
//! profiles, the readmission and admission lifecycles, the ledger of obligations, the
//! parity guard, the reconciliation of both parties' reports, the settlement engine, and the
//! rules of network membership (who belongs, what each pair agreed, which keys sign for whom
//! and when). Time is an argument (`now`), never read from a clock. This crate does no I/O,
//! has no async code, and knows nothing of gRPC, SQL, serde or the network: those live in the
//! services, which convert at their edges.

pub mod admission;
pub mod case_ref;
mod coded;
pub mod deadline;
pub mod event;
pub mod ledger;
pub mod lifecycle;
pub mod membership;
pub mod parity;
pub mod person;
pub mod readmission;
pub mod reason;
pub mod reconciliation;
pub mod regime;
pub mod settlement;
pub mod state;
#[cfg(test)]
mod testing;
pub mod time;

pub use case_ref::{CaseKind, CaseRef};
pub use coded::UnknownCode;
pub use event::{Actor, FreeText, IdempotencyKey};
pub use lifecycle::{Attempt, Event, Lifecycle, ReasonsRefusal, ReplayError, StepRefusal};
pub use regime::{Regime, RegimeProfile, ReplyTrack};
pub use state::StateCode;
pub use time::{Period, Timestamp};
