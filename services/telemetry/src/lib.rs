//! Tracing set-up shared by every Accord process.
//!
//! One call, [`init`], installs a `tracing` subscriber that writes structured logs to
//! standard error, filtered by `RUST_LOG` (or the given default); [`init_for_tests`] is its
//! twin for integration tests, writing where the test harness captures output. It does not export
//! anything over the network yet: OpenTelemetry export and W3C trace-context propagation
//! across gRPC hops are the next step on the roadmap and will be wired here, once, so that
//! the services keep calling only this function.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `default_filter` applies when `RUST_LOG` is unset,
/// e.g. `"info"` or `"accord_node=debug,info"`. Calling it twice is harmless: the second
/// call leaves the first subscriber in place (tests start several servers in one process).
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _already_installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .try_init();
}

/// What tests log when `RUST_LOG` is unset: the node's lifecycle, refusals and delivery
/// failures, without the per-request detail of `debug`.
pub const TEST_DEFAULT_FILTER: &str = "info";

/// Installs a subscriber for integration tests: it writes through the test harness's
/// captured output, so a passing test stays quiet and a failing one shows its logs
/// (`cargo nextest` prints a failing test's output; so does `cargo test`). Filtered by
/// `RUST_LOG`, else [`TEST_DEFAULT_FILTER`]. Every test set-up helper may call it: the first
/// call in a process installs the subscriber, later ones do nothing.
pub fn init_for_tests() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(TEST_DEFAULT_FILTER));
    let _already_installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .with_target(true)
        .try_init();
}
