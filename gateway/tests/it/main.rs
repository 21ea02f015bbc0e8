//! The gateway's integration tests: real nodes over real mTLS, real gateways over HTTP.

mod access;
mod admission;
mod config;
mod openapi;
mod pages;
mod problems;
mod readmission;
mod support;
