//! `accord node`: runs a state's node until interrupted (Ctrl-C or SIGTERM), then drains.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use accord_node::clock::SystemClock;
use accord_node::config::NodeConfig;
use accord_node::server::{Error, Node};

use crate::serve;

/// Arguments of `accord node`.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// The node's TOML configuration file. Every key can also be set, or overridden, by an
    /// `ACCORD_NODE_*` variable (nested keys with `__`: `ACCORD_NODE_TLS__CA`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Loads the configuration, starts the node and serves until a shutdown signal.
pub fn run(args: NodeArgs) -> ExitCode {
    serve::run_configured(
        "accord node",
        NodeConfig::load(args.config.as_deref()),
        |config| Node::build(config, Arc::new(SystemClock)),
    )
}

serve::server!(Node, Error);
