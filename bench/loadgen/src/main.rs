//! The node benchmark's load generator, its transport floor and its per-stage timings.
//!
//! Three subcommands, each a separate process in `bench/node/run.sh`:
//!
//! - `run` drives `accord.v1.ReadmissionService/OpenReadmission` on a target over mTLS with
//!   the state's gateway credentials: `--clients` concurrent tasks share `--connections`
//!   HTTP/2 connections; each task sends a valid request with a fresh idempotency key, waits
//!   for the reply, and sends the next. After a warm-up it measures for a fixed time and
//!   prints requests/s and latency percentiles on one `RESULT` line.
//! - `echo-server` is the transport floor: a bare tonic server with the node's TLS, codec
//!   and limits whose `OpenReadmission` answers a canned response at once; with `--commit`
//!   (and `--sign`) it is the minimal commit-before-reply server, the reference between the
//!   floor and the node (see `minimal`).
//! - `stages` times the node's layers in this process, without gRPC or TLS: the store's
//!   idempotency look-up, the store's group commit, and the whole open-readmission use case.
//!
//! This is a benchmark fixture, not product code: it is not part of the node, and nothing
//! in the node depends on it.

mod echo;
mod group;
mod lean;
mod load;
mod minimal;
mod request;
mod stages;
mod stats;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use accord_domain::StateCode;
use accord_trust::pki::directory::PkiDirectory;
use accord_trust::{CaBundle, Identity, PeerIdentity};
use anyhow::Context;
use clap::{Parser, Subcommand};

/// The load generator's command line.
#[derive(Debug, Parser)]
#[command(about = "Load generator and transport floor for the node benchmark")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drive OpenReadmission on a running target and print requests/s and latencies.
    Run(load::RunArgs),
    /// Serve the transport floor: a canned OpenReadmission reply over the node's mTLS; with
    /// `--commit` (and `--sign`), the minimal commit-before-reply server instead.
    EchoServer(echo::EchoArgs),
    /// Time the node's layers in this process (store look-up, group commit, use case).
    Stages(stages::StagesArgs),
}

/// Where the certificates come from: an `accord pki` directory and the state acting.
#[derive(Debug, Clone, clap::Args)]
struct PkiArgs {
    /// The `accord pki` directory (ca.pem, issued/…).
    #[arg(long, value_name = "DIR")]
    pki: PathBuf,
    /// The requesting state: the node's own state, whose gateway calls it.
    #[arg(long, default_value = "GB")]
    state: String,
}

impl PkiArgs {
    fn state(&self) -> anyhow::Result<StateCode> {
        StateCode::parse(&self.state).with_context(|| format!("--state {}", self.state))
    }

    fn directory(&self) -> PkiDirectory {
        PkiDirectory::new(&self.pki)
    }

    fn ca(&self) -> anyhow::Result<CaBundle> {
        let path = self.directory().ca_certificate_path();
        accord_trust::load_ca(&path).with_context(|| path.display().to_string())
    }

    fn identity(&self, peer: &PeerIdentity) -> anyhow::Result<Identity> {
        let directory = self.directory();
        let certificate = directory.certificate_path(peer);
        let key = directory.key_path(peer);
        load_identity(&certificate, &key)
    }
}

fn load_identity(certificate: &Path, key: &Path) -> anyhow::Result<Identity> {
    Identity::load(certificate, key).with_context(|| certificate.display().to_string())
}

/// The node's allocator, so that the floor and the clients run on the same one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    accord_trust::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => load::run(args).await,
            Command::EchoServer(args) => echo::serve(args).await,
            Command::Stages(args) => stages::run(args).await,
        }
    })
}

/// Parses a listening address for clap.
fn socket_address(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|error| format!("{text:?} is not host:port ({error})"))
}

/// Parses seconds (fractions allowed) for clap.
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .parse()
        .map_err(|error| format!("{text:?} is not a number of seconds ({error})"))?;
    if !(value.is_finite() && value >= 0.0) {
        return Err(format!("{text:?} must be a non-negative number of seconds"));
    }
    Ok(Duration::from_secs_f64(value))
}
