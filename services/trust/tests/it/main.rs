//! Integration tests of accord-trust: real tonic servers and clients over mTLS on
//! 127.0.0.1, the CA's directory on a real file system, and the transparency log's
//! primitives against published test vectors (`log_*.rs`, vectors in `data/`).
//!
//! `support::start_server_with` installs `accord_telemetry::init_for_tests`, so the
//! listener's logs (refused handshakes, at `RUST_LOG=debug`) are captured with each test's
//! output and shown when it fails.

mod issuing;
mod log_merkle;
mod log_notes;
mod mtls;
mod pki_directory;
mod support;
