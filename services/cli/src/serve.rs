//! What the servers `accord` runs (node, gateway, coordinator) share: loading the
//! configuration, the async runtime, building the server, saying where it listens, serving
//! until SIGINT or SIGTERM, and the exit code of each failure (64 for an invalid
//! configuration, before any port is bound; 1 otherwise).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;

use crate::error_text::with_sources;

/// Exit code for an invalid configuration (BSD `EX_USAGE`), before any port is bound.
const EXIT_CONFIGURATION: u8 = 64;

/// A future that resolves when the process should shut down.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A built server, as `serve` runs it.
pub trait Server: Sized {
    /// Why it could not start or stopped.
    type Error: std::error::Error;
    /// Whether `error` is the configuration's fault (exit 64).
    fn is_configuration(error: &Self::Error) -> bool;
    /// Where it listens.
    fn local_addr(&self) -> SocketAddr;
    /// Serves until `shutdown` resolves, then drains.
    fn run_until(self, shutdown: Shutdown) -> impl Future<Output = Result<(), Self::Error>>;
}

/// Implements [`Server`] for `$server`, whose inherent `local_addr` and `run_until` have the
/// trait's signatures and whose error `$error` says `is_configuration`.
macro_rules! server {
    ($server:ty, $error:ty) => {
        impl $crate::serve::Server for $server {
            type Error = $error;

            fn is_configuration(error: &$error) -> bool {
                error.is_configuration()
            }

            fn local_addr(&self) -> std::net::SocketAddr {
                <$server>::local_addr(self)
            }

            async fn run_until(self, shutdown: $crate::serve::Shutdown) -> Result<(), $error> {
                <$server>::run_until(self, shutdown).await
            }
        }
    };
}
pub(crate) use server;

/// Runs `build` on a new multi-threaded runtime, then serves what it built; `name` prefixes
/// every line printed (`accord node`).
pub fn run<S: Server>(name: &str, build: impl Future<Output = Result<S, S::Error>>) -> ExitCode {
    block_on(name, "info", serve(name, build))
}

/// Runs the server `build` makes of `config`, as [`run`] does; a configuration that did not
/// load exits 64 with its reason, before any port is bound.
pub fn run_configured<C, S, F>(
    name: &str,
    config: Result<C, impl std::error::Error>,
    build: impl FnOnce(C) -> F,
) -> ExitCode
where
    S: Server,
    F: Future<Output = Result<S, S::Error>>,
{
    match config {
        Ok(config) => run(name, build(config)),
        Err(error) => {
            eprintln!("{name}: {}", with_sources(&error));
            ExitCode::from(EXIT_CONFIGURATION)
        }
    }
}

/// Installs logging at `level` and the TLS provider, then runs `work` to its exit code on a
/// new multi-threaded runtime; `name` prefixes the line printed when there is none.
pub(crate) fn block_on(name: &str, level: &str, work: impl Future<Output = ExitCode>) -> ExitCode {
    accord_telemetry::init(level);
    accord_trust::install_crypto_provider();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(work),
        Err(error) => {
            eprintln!("{name}: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve<S: Server>(
    name: &str,
    build: impl Future<Output = Result<S, S::Error>>,
) -> ExitCode {
    // Handlers are installed before anything else: a signal sent while the server is still
    // starting (reading its store, fetching the directory) already means "shut down
    // gracefully", as does one sent as soon as the "listening" line appears.
    let mut shutdown: Shutdown = match shutdown_signal() {
        Ok(shutdown) => Box::pin(shutdown),
        Err(error) => {
            eprintln!("{name}: cannot install signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let built = tokio::select! {
        built = build => built,
        () = &mut shutdown => {
            eprintln!("{name}: stopped before serving");
            return ExitCode::SUCCESS;
        }
    };
    let server = match built {
        Ok(server) => server,
        Err(error) => {
            eprintln!("{name}: {}", with_sources(&error));
            return if S::is_configuration(&error) {
                ExitCode::from(EXIT_CONFIGURATION)
            } else {
                ExitCode::FAILURE
            };
        }
    };
    eprintln!("{name}: listening on {}", server.local_addr());
    match server.run_until(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {}", with_sources(&error));
            ExitCode::FAILURE
        }
    }
}

/// Installs the handlers now; the future resolves on SIGINT (Ctrl-C) or SIGTERM (what
/// Kubernetes and systemd send).
pub(crate) fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
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
