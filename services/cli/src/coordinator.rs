//! `accord coordinator`: runs the network's coordinator until interrupted; and an operator's
//! commands over mTLS with the operator's own certificate (`spiffe://accord/operator/NAME`):
//! `token issue | cancel | list` (enrolment tokens), `agreement set` (what a pair agreed),
//! `member suspend | reinstate | revoke` (a member's standing).
//!
//! The token commands read the operator's credentials from an `accord pki` folder
//! (`--pki DIR --operator NAME`: `ca.pem`, `issued/operator-NAME.pem` and its key). Bad
//! input exits 2 and sends nothing; a refusal by the coordinator exits 1 with its status.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use accord_coordinator::config::CoordinatorConfig;
use accord_coordinator::server::{Coordinator, Error};
use accord_domain::Regime;
use accord_domain::Timestamp;
use accord_domain::membership::Endpoint;
use accord_edge::clock::{Clock, SystemClock};
use accord_edge::wire::{from_wire_time, regime_to_wire, to_wire_time};
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::pki::directory::PkiDirectory;
use accord_trust::{CaBundle, ClientTls, Identity, OperatorName, PeerIdentity};
use clap::{Args, Subcommand};
use tonic::transport::Channel;

use crate::error_text::with_sources;
use crate::serve;

/// How long a token works when the operator does not say.
const DEFAULT_TTL: &str = "24h";

/// Exit code for bad input: nothing was sent.
const EXIT_USAGE: u8 = 2;

/// Arguments of `accord coordinator`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CoordinatorArgs {
    /// What to do; without one, run the coordinator.
    #[command(subcommand)]
    pub command: Option<CoordinatorCommand>,
    /// The coordinator's TOML configuration file. Every key can also be set, or
    /// overridden, by an `ACCORD_COORDINATOR_*` variable (nested keys with `__`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// An operator's commands.
#[derive(Debug, Clone, Subcommand)]
pub enum CoordinatorCommand {
    /// Enrolment tokens: issue one for a state to join, cancel one, list them.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Agreements between pairs of members: record one (its regimes, parity limit, sunset).
    #[command(subcommand)]
    Agreement(AgreementCommand),
    /// A member's standing: suspend, reinstate or revoke it.
    #[command(subcommand)]
    Member(StandingCommand),
    /// Settlement rounds: open, cut off, propose, show, export a report for verification.
    #[command(subcommand)]
    Round(crate::round::RoundCommand),
}

/// `accord coordinator agreement …`.
#[derive(Debug, Clone, Subcommand)]
pub enum AgreementCommand {
    /// Record what two members agreed; one of the same pair and start is replaced.
    Set(AgreementArgs),
}

/// `accord coordinator agreement set`.
#[derive(Debug, Clone, Args)]
pub struct AgreementArgs {
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The two states, e.g. `GB,FR` (in any order).
    #[arg(long, value_delimiter = ',', required = true)]
    pub pair: Vec<String>,
    /// The regimes their cases may be opened under, e.g. `UKFR_2025` or
    /// `DUBLIN_III,EU_1FOR1`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub regimes: Vec<String>,
    /// The parity limit: admissions one may owe the other before new requests are refused.
    #[arg(long)]
    pub parity_limit: Option<u64>,
    /// From when, RFC 3339 in UTC; default: now.
    #[arg(long, value_name = "TIME")]
    pub effective_from: Option<String>,
    /// When no new case may be opened any more, RFC 3339 in UTC; default: no end.
    #[arg(long, value_name = "TIME")]
    pub sunset_at: Option<String>,
    /// The request's idempotency key; default: a fresh one.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// `accord coordinator member …`.
#[derive(Debug, Clone, Subcommand)]
pub enum StandingCommand {
    /// Suspend an active member: no new cases with it; its deliveries are held.
    Suspend(StandingArgs),
    /// Reinstate a suspended member.
    Reinstate(StandingArgs),
    /// Revoke a member for good: its certificates join the revocation list at once.
    Revoke(StandingArgs),
}

/// The member and why.
#[derive(Debug, Clone, Args)]
pub struct StandingArgs {
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The member state.
    #[arg(long)]
    pub state: String,
    /// Why (suspend and revoke): security-incident, key-compromise, agreement-breach,
    /// requested-by-member, left-scheme.
    #[arg(long)]
    pub reason: Option<String>,
    /// The request's idempotency key; default: a fresh one.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// `accord coordinator token …`.
#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Issue a one-time token for a state to join; prints the secret once.
    Issue(IssueArgs),
    /// Cancel an unused token.
    Cancel(CancelArgs),
    /// List enrolments, newest first.
    List(ListArgs),
}

/// How an operator reaches the coordinator.
#[derive(Debug, Clone, Args)]
pub struct OperatorArgs {
    /// The coordinator, `https://HOST:PORT`.
    #[arg(long, value_name = "URL")]
    pub coordinator: String,
    /// The `accord pki` folder holding the network CA and the operator's certificate.
    #[arg(long, value_name = "DIR")]
    pub pki: PathBuf,
    /// The operator's name (`spiffe://accord/operator/NAME`).
    #[arg(long, value_name = "NAME")]
    pub operator: String,
    /// The name the coordinator's certificate is checked against; default: the URL's host.
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
}

/// `accord coordinator token issue`.
#[derive(Debug, Clone, Args)]
pub struct IssueArgs {
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The state the token admits (ISO 3166-1 alpha-2, e.g. PL).
    #[arg(long)]
    pub state: String,
    /// How long the token works: a number and a unit, `m`, `h` or `d` [default: 24h].
    #[arg(long, conflicts_with = "expires_at")]
    pub ttl: Option<String>,
    /// When the token stops working, RFC 3339 in UTC (`2026-12-05T09:00:00Z`): what a
    /// retry passes, as the first answer printed it, to be the same request.
    #[arg(long, value_name = "TIME")]
    pub expires_at: Option<String>,
    /// Approvals by existing members required before the token works.
    #[arg(long, default_value_t = 0)]
    pub approvals: u32,
    /// The request's idempotency key: a retry with the same key, state and expiry returns
    /// the same token; default: a fresh one.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// `accord coordinator token cancel`.
#[derive(Debug, Clone, Args)]
pub struct CancelArgs {
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The token's id (`enr-…`), as `issue` and `list` print it.
    #[arg(long)]
    pub token_id: String,
    /// The request's idempotency key; default: a fresh one.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// `accord coordinator token list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub operator: OperatorArgs,
}

/// Runs the coordinator, or the operator's command.
pub fn run(args: CoordinatorArgs) -> ExitCode {
    let Some(command) = args.command else {
        return run_coordinator(args.config);
    };
    client_command("accord coordinator", async move {
        match command {
            CoordinatorCommand::Token(command) => token(command).await,
            CoordinatorCommand::Agreement(AgreementCommand::Set(args)) => set_agreement(args).await,
            CoordinatorCommand::Member(command) => standing(command).await,
            CoordinatorCommand::Round(command) => crate::round::run(command).await,
        }
    })
}

fn run_coordinator(config: Option<PathBuf>) -> ExitCode {
    serve::run_configured(
        "accord coordinator",
        CoordinatorConfig::load(config.as_deref()),
        |config| Coordinator::build(config, Arc::new(SystemClock)),
    )
}

serve::server!(Coordinator, Error);

/// Why a command that calls the coordinator failed, and its exit code.
pub(crate) enum Failure {
    /// Bad input; nothing was sent (exit 2).
    Usage(String),
    /// The coordinator could not be reached or refused (exit 1).
    Failed(String),
}

/// Runs a command that calls the coordinator (an operator's, a member's) to its exit code;
/// `name` opens its messages.
pub(crate) fn client_command(
    name: &str,
    command: impl Future<Output = Result<(), Failure>>,
) -> ExitCode {
    accord_trust::install_crypto_provider();
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::Failed(format!("cannot start the async runtime: {error}")))
        .and_then(|runtime| runtime.block_on(command));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("{name}: {message}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("{name}: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn set_agreement(args: AgreementArgs) -> Result<(), Failure> {
    let [first, second] = <[String; 2]>::try_from(args.pair.clone())
        .map_err(|pair| Failure::Usage(format!("--pair names two states, not {pair:?}")))?
        .map(|state| state.to_ascii_uppercase());
    let mut regimes = Vec::with_capacity(args.regimes.len());
    for text in &args.regimes {
        let regime = Regime::parse(text)
            .map_err(|error| Failure::Usage(format!("--regimes {text:?}: {error}")))?;
        regimes.push(regime_to_wire(regime).into());
    }
    let time = |option: &str, text: &Option<String>| {
        text.as_deref()
            .map(|text| {
                Timestamp::parse(text)
                    .map_err(|error| Failure::Usage(format!("{option} {text:?}: {error}")))
            })
            .transpose()
    };
    let effective_from =
        time("--effective-from", &args.effective_from)?.unwrap_or(SystemClock.now());
    let sunset_at = time("--sunset-at", &args.sunset_at)?;
    let request = pb::SetAgreementRequest {
        idempotency_key: idempotency_key(args.idempotency_key),
        agreement: Some(pb::Agreement {
            first_state: first,
            second_state: second,
            regimes,
            effective_from: Some(to_wire_time(effective_from)),
            sunset_at: sunset_at.map(to_wire_time),
            parity_limit: args.parity_limit,
            ..Default::default()
        }),
    };
    let recorded = answered(client(&args.operator).await?.set_agreement(request).await)?;
    let agreement = recorded.agreement.unwrap_or_default();
    let regimes: Vec<String> = agreement
        .regimes()
        .map(|regime| {
            regime
                .as_str_name()
                .trim_start_matches("REGIME_")
                .to_owned()
        })
        .collect();
    println!(
        "agreement {}-{}: {} (directory version {})",
        agreement.first_state,
        agreement.second_state,
        regimes.join(", "),
        recorded.directory_version
    );
    Ok(())
}

async fn standing(command: StandingCommand) -> Result<(), Failure> {
    let (args, verb) = match &command {
        StandingCommand::Suspend(args) => (args, "suspended"),
        StandingCommand::Reinstate(args) => (args, "reinstated"),
        StandingCommand::Revoke(args) => (args, "revoked"),
    };
    let reason = match (&command, &args.reason) {
        (StandingCommand::Reinstate(_), _) => 0,
        (_, None) => return Err(Failure::Usage("--reason is required".to_owned())),
        (_, Some(text)) => {
            let name = format!(
                "MEMBER_STATUS_REASON_{}",
                text.to_ascii_uppercase().replace('-', "_")
            );
            pb::MemberStatusReason::from_str_name(&name)
                .filter(|reason| {
                    *reason != pb::MemberStatusReason::Unspecified
                        && *reason != pb::MemberStatusReason::Resolved
                })
                .ok_or_else(|| {
                    Failure::Usage(format!("--reason {text:?} is not a reason (see --help)"))
                })? as i32
        }
    };
    let key = idempotency_key(args.idempotency_key.clone());
    let state = args.state.to_ascii_uppercase();
    let mut client = client(&args.operator).await?;
    let (member, version) = match command {
        StandingCommand::Suspend(_) => {
            let request = pb::SuspendMemberRequest {
                idempotency_key: key,
                state,
                reason,
            };
            let answer = answered(client.suspend_member(request).await)?;
            (answer.member, answer.directory_version)
        }
        StandingCommand::Reinstate(_) => {
            let request = pb::ReinstateMemberRequest {
                idempotency_key: key,
                state,
            };
            let answer = answered(client.reinstate_member(request).await)?;
            (answer.member, answer.directory_version)
        }
        StandingCommand::Revoke(_) => {
            let request = pb::RevokeMemberRequest {
                idempotency_key: key,
                state,
                reason,
            };
            let answer = answered(client.revoke_member(request).await)?;
            (answer.member, answer.directory_version)
        }
    };
    let member = member.unwrap_or_default();
    println!(
        "{} {verb}: {:?} (directory version {version})",
        member.state,
        member.status()
    );
    Ok(())
}

async fn token(command: TokenCommand) -> Result<(), Failure> {
    match command {
        TokenCommand::Issue(args) => {
            let expires_at = match &args.expires_at {
                Some(text) => Timestamp::parse(text)
                    .map_err(|error| Failure::Usage(format!("--expires-at {text:?}: {error}")))?,
                None => SystemClock
                    .now()
                    .plus_millis(parse_ttl(args.ttl.as_deref().unwrap_or(DEFAULT_TTL))?),
            };
            let request = pb::IssueEnrolmentTokenRequest {
                idempotency_key: idempotency_key(args.idempotency_key),
                state: args.state.to_ascii_uppercase(),
                expires_at: Some(to_wire_time(expires_at)),
                required_approvals: args.approvals,
            };
            let mut client = client(&args.operator).await?;
            let issued = answered(client.issue_enrolment_token(request).await)?;
            if let Some(enrolment) = &issued.enrolment {
                print_enrolment(enrolment);
            }
            println!("token: {}", issued.token);
            Ok(())
        }
        TokenCommand::Cancel(args) => {
            let request = pb::CancelEnrolmentTokenRequest {
                idempotency_key: idempotency_key(args.idempotency_key),
                token_id: args.token_id,
            };
            let mut client = client(&args.operator).await?;
            let cancelled = answered(client.cancel_enrolment_token(request).await)?;
            if let Some(enrolment) = &cancelled.enrolment {
                print_enrolment(enrolment);
            }
            Ok(())
        }
        TokenCommand::List(args) => {
            let request = pb::ListEnrolmentsRequest::default();
            let listed = answered(client(&args.operator).await?.list_enrolments(request).await)?;
            for enrolment in &listed.enrolments {
                print_enrolment(enrolment);
            }
            Ok(())
        }
    }
}

/// An mTLS client of the coordinator as the operator.
async fn client(args: &OperatorArgs) -> Result<MembershipServiceClient<Channel>, Failure> {
    Ok(MembershipServiceClient::new(channel(args).await?))
}

/// An mTLS channel to the coordinator as the operator.
pub(crate) async fn channel(args: &OperatorArgs) -> Result<Channel, Failure> {
    let name = OperatorName::parse(&args.operator)
        .map_err(|error| Failure::Usage(format!("--operator: {error}")))?;
    let pki = PkiDirectory::new(&args.pki);
    let identity = PeerIdentity::Operator(name);
    let credentials = Identity::load(&pki.certificate_path(&identity), &pki.key_path(&identity))
        .map_err(|error| Failure::Usage(format!("--pki, --operator: {}", with_sources(&error))))?;
    let ca_pem = std::fs::read_to_string(pki.ca_certificate_path())
        .map_err(|error| Failure::Usage(format!("--pki: the network CA: {error}")))?;
    let ca = CaBundle::from_pem(&ca_pem).map_err(|error| {
        Failure::Usage(format!("--pki: the network CA: {}", with_sources(&error)))
    })?;
    let endpoint = Endpoint::parse(&args.coordinator).map_err(|error| {
        Failure::Usage(format!("--coordinator {:?}: {error}", args.coordinator))
    })?;
    let server_name = args
        .server_name
        .clone()
        .unwrap_or_else(|| endpoint.server_name().to_owned());
    let tls = ClientTls::new(&credentials, &ca, &server_name)
        .map_err(|error| Failure::Usage(format!("--server-name: {}", with_sources(&error))))?
        .expect_peer(PeerIdentity::Coordinator);
    let channel = accord_trust::connect(&args.coordinator, &tls)
        .await
        .map_err(|error| {
            Failure::Failed(format!(
                "cannot reach {}: {}",
                args.coordinator,
                with_sources(&error)
            ))
        })?;
    Ok(channel)
}

/// The coordinator's answer to a call, or its refusal as the operator reads it.
pub(crate) fn answered<T>(answer: Result<tonic::Response<T>, tonic::Status>) -> Result<T, Failure> {
    answer
        .map(tonic::Response::into_inner)
        .map_err(|status| Failure::Failed(format!("{:?}: {}", status.code(), status.message())))
}

/// `24h`, `30m`, `7d` as milliseconds.
fn parse_ttl(text: &str) -> Result<i64, Failure> {
    let usage = || {
        Failure::Usage(format!(
            "--ttl {text:?} is not a number and a unit: m, h or d (e.g. 24h)"
        ))
    };
    let unit_at = text.len().checked_sub(1).ok_or_else(usage)?;
    let (number, unit) = text.split_at(unit_at);
    let number: i64 = number.parse().map_err(|_| usage())?;
    let unit_ms = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(usage()),
    };
    if number <= 0 {
        return Err(usage());
    }
    number.checked_mul(unit_ms).ok_or_else(usage)
}

/// The key given, or a fresh one from the clock and the process (a retry by hand passes
/// `--idempotency-key` to get the same answer).
pub(crate) fn idempotency_key(given: Option<String>) -> String {
    given.unwrap_or_else(|| {
        format!(
            "cli-{}-{}",
            SystemClock.now().as_millis(),
            std::process::id()
        )
    })
}

fn print_enrolment(enrolment: &pb::Enrolment) {
    let time = |value: &Option<prost_types::Timestamp>| {
        value
            .as_ref()
            .and_then(|value| from_wire_time(value).ok())
            .map_or_else(String::new, |at: Timestamp| at.to_string())
    };
    println!(
        "token_id: {}\nstate: {}\nstatus: {}\nexpires_at: {}",
        enrolment.token_id,
        enrolment.state,
        enrolment
            .status()
            .as_str_name()
            .trim_start_matches("ENROLMENT_STATUS_"),
        time(&enrolment.expires_at),
    );
}
