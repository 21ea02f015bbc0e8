//! The node's integration tests: one binary, modules by concern.

mod admission;
mod agreements;
mod databases;
mod edges;
mod federation;
mod ledger;
mod person;
mod readmission;
mod readmission_authorization;
mod readmission_deadlines;
mod readmission_delivery;
mod readmission_lifecycle;
mod readmission_validation;
mod refusals;
mod small_truths;
mod store;
mod tidy;
