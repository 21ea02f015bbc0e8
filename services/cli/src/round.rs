//! `accord coordinator round …`: an operator runs a settlement round from the command line —
//! opens it for a period, cuts it off once the period ended, has the coordinator propose it,
//! shows where it stands, and exports its report as the bundle `accord report verify`
//! checks. Member nodes countersign or dispute on their own.

use std::path::PathBuf;

use accord_domain::Timestamp;
use accord_edge::wire::to_wire_time;
use accord_proto::v1 as pb;
use accord_proto::v1::settlement_service_client::SettlementServiceClient;
use clap::{Args, Subcommand};

use crate::coordinator::{Failure, OperatorArgs, answered, channel, idempotency_key};

/// `accord coordinator round …`.
#[derive(Debug, Clone, Subcommand)]
pub enum RoundCommand {
    /// Open a round for a period and a netting mode.
    Open(OpenArgs),
    /// Cut a round off at the log's latest head (its period must have ended).
    Close(RoundArgs),
    /// Have the coordinator compute and sign the round's report.
    Propose(RoundArgs),
    /// Show a round: its status, instructions and who has yet to countersign.
    Show(RoundArgs),
    /// Write a round's report bundle to a file, for `accord report verify`.
    Export(ExportArgs),
}

/// `accord coordinator round open`.
#[derive(Debug, Clone, Args)]
pub struct OpenArgs {
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The period's first instant, RFC 3339 in UTC.
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// The first instant after the period, RFC 3339 in UTC.
    #[arg(long, value_name = "TIME")]
    pub until: String,
    /// gross, bilateral or multilateral.
    #[arg(long)]
    pub mode: String,
    /// The participating states, e.g. `GB,FR`; default: every active member.
    #[arg(long, value_delimiter = ',')]
    pub states: Vec<String>,
    /// Pairs allowed redirected admissions (multilateral), `ADMITTING>ORIGIN`, e.g. `DE>GB`.
    #[arg(long, value_delimiter = ',')]
    pub redirect: Vec<String>,
    /// The request's idempotency key; default: a fresh one.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// A round named.
#[derive(Debug, Clone, Args)]
pub struct RoundArgs {
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The round's id, e.g. `RND-2026-11-30-1`.
    #[arg(long)]
    pub round: String,
    /// The request's idempotency key; default: a fresh one.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// `accord coordinator round export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub round: RoundArgs,
    /// Where to write the bundle (binary protobuf).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs one round command.
pub async fn run(command: RoundCommand) -> Result<(), Failure> {
    let round = match command {
        RoundCommand::Open(args) => open(args).await?,
        RoundCommand::Close(args) => {
            let request = pb::CloseRoundRequest {
                idempotency_key: idempotency_key(args.idempotency_key),
                round_id: args.round,
            };
            answered(client(&args.operator).await?.close_round(request).await)?.round
        }
        RoundCommand::Propose(args) => {
            let request = pb::ProposeRoundRequest {
                idempotency_key: idempotency_key(args.idempotency_key),
                round_id: args.round,
            };
            answered(client(&args.operator).await?.propose_round(request).await)?.round
        }
        RoundCommand::Show(args) => {
            let request = pb::GetRoundRequest {
                round_id: args.round,
            };
            answered(client(&args.operator).await?.get_round(request).await)?.round
        }
        RoundCommand::Export(args) => return export(args).await,
    };
    print_round(round.as_ref());
    Ok(())
}

async fn client(
    args: &OperatorArgs,
) -> Result<SettlementServiceClient<tonic::transport::Channel>, Failure> {
    Ok(SettlementServiceClient::new(channel(args).await?))
}

/// Opens the round `args` describe; answers it as the coordinator recorded it.
async fn open(args: OpenArgs) -> Result<Option<pb::Round>, Failure> {
    let time = |option: &str, text: &str| {
        Timestamp::parse(text)
            .map_err(|error| Failure::Usage(format!("{option} {text:?}: {error}")))
    };
    let (from, until) = (time("--from", &args.from)?, time("--until", &args.until)?);
    let mode = match args.mode.to_ascii_lowercase().as_str() {
        "gross" => pb::NettingMode::Gross,
        "bilateral" => pb::NettingMode::Bilateral,
        "multilateral" => pb::NettingMode::Multilateral,
        other => {
            return Err(Failure::Usage(format!(
                "--mode {other:?}: gross, bilateral or multilateral"
            )));
        }
    };
    let mut redirect_pairs = Vec::new();
    for pair in &args.redirect {
        let Some((admitting, origin)) = pair.split_once('>') else {
            return Err(Failure::Usage(format!(
                "--redirect {pair:?}: ADMITTING>ORIGIN, e.g. DE>GB"
            )));
        };
        redirect_pairs.push(pb::RedirectPair {
            admitting_state: admitting.to_ascii_uppercase(),
            origin_state: origin.to_ascii_uppercase(),
        });
    }
    let request = pb::OpenRoundRequest {
        idempotency_key: idempotency_key(args.idempotency_key),
        period: Some(pb::TimeRange {
            start_time: Some(to_wire_time(from)),
            end_time: Some(to_wire_time(until)),
        }),
        mode: mode.into(),
        participating_states: args.states.iter().map(|s| s.to_ascii_uppercase()).collect(),
        redirect_pairs,
    };
    Ok(answered(client(&args.operator).await?.open_round(request).await)?.round)
}

async fn export(args: ExportArgs) -> Result<(), Failure> {
    let request = pb::GetRoundReportRequest {
        round_id: args.round.round.clone(),
        format: pb::ReportFormat::Bundle.into(),
        ..Default::default()
    };
    let mut client = client(&args.round.operator).await?;
    let answer = answered(client.get_round_report(request).await)?;
    std::fs::write(&args.out, &answer.rendering).map_err(|error| {
        Failure::Failed(format!("cannot write {}: {error}", args.out.display()))
    })?;
    println!(
        "round {}: report bundle written to {} ({} bytes)",
        args.round.round,
        args.out.display(),
        answer.rendering.len()
    );
    Ok(())
}

fn print_round(round: Option<&pb::Round>) {
    let Some(round) = round else {
        return;
    };
    let status = round
        .status()
        .as_str_name()
        .trim_start_matches("ROUND_STATUS_");
    println!("round {}: {status}", round.round_id);
    let Some(report) = round
        .report
        .as_ref()
        .and_then(|signed| signed.report.as_ref())
    else {
        return;
    };
    println!(
        "  version {}, log size {}, settled {} of {} required ({} gross)",
        report.version,
        report.tree_head.as_ref().map_or(0, |head| head.tree_size),
        report.settled,
        report.required,
        report.required_gross
    );
    for instruction in &report.instructions {
        let redirected = if instruction.redirected {
            " (redirected)"
        } else {
            ""
        };
        println!(
            "  {} admits {} from {}{redirected}",
            instruction.admitting_state, instruction.count, instruction.origin_state
        );
    }
    if !round.awaiting_countersignature.is_empty() {
        println!(
            "  awaiting the countersignature of {}",
            round.awaiting_countersignature.join(", ")
        );
    }
}
