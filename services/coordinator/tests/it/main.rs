//! The coordinator's integration tests: one binary, modules by concern, every test through
//! a real coordinator over mTLS on 127.0.0.1 (port 0), on SQLite and, where
//! `ACCORD_TEST_DATABASE_URL` names a server, PostgreSQL.

mod approval;
mod audit;
mod directory;
mod enrolment;
mod joining;
mod ledger;
mod member;
mod network;
mod novation;
mod reconciliation;
mod renewal;
mod revocation;
mod rounds;
