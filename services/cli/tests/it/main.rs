//! The `accord` binary's integration tests: each module runs the real binary.

mod browser;
mod coordinator;
mod demo;
mod node;
mod pki;
mod report;
mod settle;
mod up;
