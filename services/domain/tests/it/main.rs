//! Integration and property tests of the domain core, through its public API only.
//!
//! One binary for the crate (`cargo test -p accord-domain --test it`): the readmission
//! transition table row by row, deadlines at fixed instants, the admission lifecycle and its
//! offers, network membership (enrolments, agreements, directory changes), reconciliation of
//! both parties' reports, and property tests over random sequences of steps and changes.

mod admission;
mod lifecycle;
mod membership;
mod properties;
mod readmission_deadlines;
mod readmission_transitions;
mod reconciliation;
mod support;
