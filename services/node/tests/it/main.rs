//! The node's integration tests: one binary, modules by concern.

mod databases;
mod federation;
mod readmission;
mod store;
