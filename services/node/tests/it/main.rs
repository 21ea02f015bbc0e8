//! The node's integration tests: one binary, modules by concern.

mod databases;
mod store;
