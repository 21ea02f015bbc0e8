//! `accord gateway`: runs a REST gateway — in front of a state's node, or of the coordinator
//! for its operators and diplomats — until interrupted
//! (Ctrl-C or SIGTERM), then lets in-flight requests finish.

use std::path::PathBuf;
use std::process::ExitCode;

use accord_gateway::server::Error;
use accord_gateway::{Gateway, GatewayConfig};

use crate::serve;

/// Arguments of `accord gateway`.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayArgs {
    /// The gateway's TOML configuration file. Every key can also be set, or overridden, by
    /// an `ACCORD_GATEWAY_*` variable (nested keys with `__`: `ACCORD_GATEWAY_NODE__ENDPOINT`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Loads the configuration, starts the gateway and serves until a shutdown signal.
pub fn run(args: GatewayArgs) -> ExitCode {
    serve::run_configured(
        "accord gateway",
        GatewayConfig::load(args.config.as_deref()),
        Gateway::build,
    )
}

serve::server!(Gateway, Error);
