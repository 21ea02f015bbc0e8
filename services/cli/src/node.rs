//! `accord node`: runs a state's node until interrupted (Ctrl-C or SIGTERM), then drains.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use accord_node::clock::SystemClock;
use accord_node::config::NodeConfig;
use accord_node::server::Node;

use crate::error_text::with_sources;

/// Exit code for an invalid configuration (BSD `EX_USAGE`), before any port is bound.
const EXIT_CONFIGURATION: u8 = 64;

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
    let config = match NodeConfig::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("accord node: {}", with_sources(&error));
            return ExitCode::from(EXIT_CONFIGURATION);
        }
    };
    accord_telemetry::init("info");
    accord_trust::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("accord node: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(config))
}

async fn serve(config: NodeConfig) -> ExitCode {
    let node = match Node::build(config, Arc::new(SystemClock)).await {
        Ok(node) => node,
        Err(error) if error.is_configuration() => {
            eprintln!("accord node: {}", with_sources(&error));
            return ExitCode::from(EXIT_CONFIGURATION);
        }
        Err(error) => {
            eprintln!("accord node: {}", with_sources(&error));
            return ExitCode::FAILURE;
        }
    };
    // Handlers are installed before the node says it listens: a signal sent as soon as
    // that line appears must already mean "shut down gracefully".
    let shutdown = match shutdown_signal() {
        Ok(shutdown) => shutdown,
        Err(error) => {
            eprintln!("accord node: cannot install signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("accord node: listening on {}", node.local_addr());
    match node.run_until(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("accord node: {}", with_sources(&error));
            ExitCode::FAILURE
        }
    }
}

/// Installs the handlers now; the future resolves on SIGINT (Ctrl-C) or SIGTERM (what
/// Kubernetes and systemd send).
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
