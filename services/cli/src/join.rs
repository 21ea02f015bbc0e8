//! `accord join`: a ministry joins the network with the one-time token an operator gave it.
//! The node's and gateway's keys and the state's event key are made in `--dir` and never
//! leave it; only CSRs and the public event key go to the coordinator
//! (`accord_coordinator::joining`). Prints what was written and how to start the node.
//!
//! Bad input exits 2 and sends nothing; a refusal by the coordinator, or a coordinator out
//! of reach, exits 1 (run the same command again: the request is kept in `--dir` and a
//! retry sends the same one).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use accord_coordinator::joining::{JoinRequest, JoinedFolder, join};
use accord_domain::StateCode;
use clap::Args;

use crate::coordinator::{Failure, client_command};
use crate::error_text::with_sources;

/// Arguments of `accord join`.
#[derive(Debug, Clone, Args)]
pub struct JoinArgs {
    /// The coordinator, `HOST:PORT` or `https://HOST:PORT`.
    #[arg(long, value_name = "HOST:PORT")]
    pub coordinator: String,
    /// The network's root certificate (PEM), as the network published it: the coordinator
    /// must present a certificate it issued.
    #[arg(long, value_name = "FILE")]
    pub ca: PathBuf,
    /// The joining state (ISO 3166-1 alpha-2, e.g. PL).
    #[arg(long)]
    pub state: String,
    /// The one-time enrolment token.
    #[arg(long, env = "ACCORD_ENROLMENT_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The node's endpoint as partners will reach it, `HOST:PORT`.
    #[arg(long, value_name = "HOST:PORT")]
    pub endpoint: String,
    /// Where the node will listen; default: the endpoint (which must then be an address).
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub listen: Option<SocketAddr>,
    /// The folder for the keys, certificates and the node's configuration.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
}

/// Joins, and prints what was written.
pub fn run(args: JoinArgs) -> ExitCode {
    client_command("accord join", async move {
        let state = StateCode::parse(&args.state.to_ascii_uppercase())
            .map_err(|error| Failure::Usage(format!("--state {:?}: {error}", args.state)))?;
        let ca_pem = std::fs::read_to_string(&args.ca)
            .map_err(|error| Failure::Usage(format!("--ca {}: {error}", args.ca.display())))?;
        let request = JoinRequest {
            coordinator: args.coordinator,
            ca_pem,
            state,
            token: args.token,
            endpoint: args.endpoint,
            listen_addr: args.listen,
            dir: args.dir.clone(),
        };
        let joined = join(request).await.map_err(|error| {
            let message = with_sources(&error);
            if error.is_usage() {
                Failure::Usage(message)
            } else {
                Failure::Failed(message)
            }
        })?;
        let files = JoinedFolder::new(&args.dir);
        println!(
            "{} joined the network: directory version {}, signing key {}",
            joined.member.state,
            joined.directory_version,
            joined
                .member
                .signing_keys
                .first()
                .map_or("-", |key| key.key_id.as_str())
        );
        println!(
            "  node certificate     {}",
            files.node_certificate().display()
        );
        println!(
            "  gateway certificate  {}",
            files.gateway_certificate().display()
        );
        println!(
            "  event-signing key    {} (0600)",
            files.signing_key().display()
        );
        println!("  node configuration   {}", joined.node_config.display());
        println!(
            "start the node with: accord node --config {}",
            joined.node_config.display()
        );
        Ok(())
    })
}
