//! `accord`: the one binary of Accord, with a subcommand per job.
//!
//! `main` only parses the command line and hands over: each subcommand lives in its own
//! module (`node`, `coordinator`, `join`, `member`, `pki`, `settle`, `report`, `up`, `demo`; `serve`
//! runs either server). Exit codes: 0 success; 1 a failure while running;
//! 2 bad input (a command line, a file, a value); 64 an invalid configuration, reported
//! before any port is bound.

mod coordinator;
mod demo;
mod error_text;
mod gateway;
mod join;
mod member;
mod node;
mod pki;
mod report;
mod round;
mod serve;
mod settle;
mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Accord: returns-for-admissions between states, one for one.
///
/// Each participating state runs a node; a coordinator keeps membership and settles the
/// balances. Everything between parties travels as gRPC over mutually authenticated TLS.
#[derive(Debug, Parser)]
#[command(name = "accord", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a state's node: the readmission and admission services, over mTLS.
    Node(node::NodeArgs),
    /// Run a REST gateway (JSON, bearer tokens, /openapi.json, pages) in front of a state's
    /// node or, for operators and diplomats, the coordinator.
    Gateway(gateway::GatewayArgs),
    /// Run the network's coordinator (membership: enrolment, the signed directory), or act
    /// as an operator on it (`accord coordinator token issue`).
    Coordinator(coordinator::CoordinatorArgs),
    /// Join the network as a state, with the one-time token an operator gave you: keys are
    /// made here and never leave; certificates and a node configuration come back.
    Join(join::JoinArgs),
    /// Act as a member state on the coordinator with the credentials `accord join` wrote
    /// (approve a candidate's enrolment).
    #[command(subcommand)]
    Member(member::MemberCommand),
    /// Manage the network's certificates: the CA, node, gateway and coordinator certificates,
    /// the revocation list.
    #[command(subcommand)]
    Pki(pki::PkiCommand),
    /// Settle one-for-one balances from a JSON instance (gross, bilateral or multilateral).
    Settle(settle::SettleArgs),
    /// Settlement reports: `accord report verify` checks one offline from the root CA alone.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Run a whole federation on this machine: a coordinator and a node per state on
    /// 127.0.0.1, every state enrolled with a token, until Ctrl-C; `DIR/federation.json` says
    /// where everything runs.
    Up(up::UpArgs),
    /// Run a federation (as `accord up`) and replay a scenario on it through the real APIs —
    /// the UK–France pilot, then six states — with weekly settlement rounds run to FINAL,
    /// their reports verified and written as JSON, CSV and HTML.
    Demo(demo::DemoArgs),
}

/// mimalloc rather than the system allocator: the node allocates per request in every layer
/// (HTTP/2, protobuf, SQL arguments), and glibc's malloc cost 12 % of its CPU (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout with success, usage errors with code 2.
            let _printed = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    match cli.command {
        Command::Node(args) => node::run(args),
        Command::Gateway(args) => gateway::run(args),
        Command::Coordinator(args) => coordinator::run(args),
        Command::Join(args) => join::run(args),
        Command::Member(command) => member::run(command),
        Command::Pki(command) => pki::run(command),
        Command::Settle(args) => settle::run(args),
        Command::Report(command) => report::run(command),
        Command::Up(args) => up::run(args),
        Command::Demo(args) => demo::run(args),
    }
}
