//! The gateway's integration tests: real nodes and a real coordinator over real mTLS, real
//! gateways over HTTP, and their pages in headless Chromium.

mod access;
mod admission;
mod balances_members;
mod config;
mod coordinator;
mod coordinator_pages;
mod federation;
mod openapi;
mod pages;
mod problems;
mod readmission;
mod round_report;
mod support;
