//! Tracing set-up shared by every Accord process.
//!
//! One call, [`init`], installs a `tracing` subscriber that writes structured logs to
//! standard error, filtered by `RUST_LOG` (or the given default). It does not export
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
