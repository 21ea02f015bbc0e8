//! `accord member …`: what a member state's ministry does on the coordinator with its node's
//! own credentials, as `accord join` left them in its folder (`node.pem`, `node.key`,
//! `signing.key`, `ca.pem`): `approve` signs its approval of a candidate's enrolment with the
//! state's event key, so that a quorum of members, not an operator alone, admits a state.
//!
//! Bad input exits 2 and sends nothing; a refusal by the coordinator exits 1 with its status.

use std::path::PathBuf;
use std::process::ExitCode;

use accord_coordinator::joining::JoinedFolder;
use accord_domain::StateCode;
use accord_domain::membership::Endpoint;
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::{CaBundle, ClientTls, EventSigningKey, Identity, PeerIdentity, SigningDomain};
use clap::{Args, Subcommand};
use prost::Message;

use crate::coordinator::{Failure, answered, client_command};
use crate::error_text::with_sources;

/// `accord member …`.
#[derive(Debug, Clone, Subcommand)]
pub enum MemberCommand {
    /// Approve a candidate state's enrolment, signed with this state's event key.
    Approve(ApproveArgs),
}

/// `accord member approve`.
#[derive(Debug, Clone, Args)]
pub struct ApproveArgs {
    /// The coordinator, `HOST:PORT` or `https://HOST:PORT`.
    #[arg(long, value_name = "HOST:PORT")]
    pub coordinator: String,
    /// The folder `accord join` wrote for this state.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// The enrolment's token id (`enr-…`), as the operator or `ListEnrolments` shows it.
    #[arg(long)]
    pub token_id: String,
    /// The candidate state the token admits (ISO 3166-1 alpha-2).
    #[arg(long)]
    pub candidate: String,
    /// The request's idempotency key; default: one derived from the token and this state,
    /// so that running the command again is the same request.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// Runs a member's command.
pub fn run(command: MemberCommand) -> ExitCode {
    let MemberCommand::Approve(args) = command;
    client_command("accord member approve", async move {
        let enrolment = approve(args).await?;
        let approvals: Vec<&str> = enrolment
            .approvals
            .iter()
            .map(|signed| signed.state.as_str())
            .collect();
        println!(
            "{} {}: {} of {} approvals ({}), {:?}",
            enrolment.token_id,
            enrolment.state,
            approvals.len(),
            enrolment.required_approvals,
            approvals.join(", "),
            enrolment.status()
        );
        Ok(())
    })
}

async fn approve(args: ApproveArgs) -> Result<pb::Enrolment, Failure> {
    let candidate = StateCode::parse(&args.candidate.to_ascii_uppercase())
        .map_err(|error| Failure::Usage(format!("--candidate {:?}: {error}", args.candidate)))?;
    let files = JoinedFolder::new(&args.dir);
    let usage = |what: &str, error: &dyn std::error::Error| {
        Failure::Usage(format!(
            "--dir {}: {what}: {}",
            args.dir.display(),
            with_sources(error)
        ))
    };
    let identity = Identity::load(&files.node_certificate(), &files.node_key())
        .map_err(|error| usage("the node's certificate", &error))?;
    let PeerIdentity::Node(state) = identity
        .peer_identity()
        .map_err(|error| usage("the node's certificate", &error))?
    else {
        return Err(Failure::Usage(format!(
            "--dir {}: node.pem is not a node's certificate",
            args.dir.display()
        )));
    };
    let key = EventSigningKey::load(&files.signing_key())
        .map_err(|error| usage("the event-signing key", &error))?;
    let ca_pem =
        std::fs::read_to_string(files.ca()).map_err(|error| usage("the network's root", &error))?;
    let ca = CaBundle::from_pem(&ca_pem).map_err(|error| usage("the network's root", &error))?;
    let coordinator = if args.coordinator.contains("://") {
        args.coordinator.clone()
    } else {
        format!("https://{}", args.coordinator)
    };
    let endpoint = Endpoint::parse(&coordinator).map_err(|error| {
        Failure::Usage(format!("--coordinator {:?}: {error}", args.coordinator))
    })?;
    let tls = ClientTls::new(&identity, &ca, endpoint.server_name())
        .map_err(|error| Failure::Usage(format!("--coordinator: {}", with_sources(&error))))?
        .expect_peer(PeerIdentity::Coordinator);
    let channel = accord_trust::connect(&coordinator, &tls)
        .await
        .map_err(|error| {
            Failure::Failed(format!(
                "cannot reach {coordinator}: {}",
                with_sources(&error)
            ))
        })?;
    let approval = pb::EnrolmentApproval {
        token_id: args.token_id.clone(),
        candidate_state: candidate.to_string(),
        approving_state: state.to_string(),
        signing_key_id: key.key_id().to_string(),
    };
    let signature = key.sign(SigningDomain::ENROLMENT_APPROVAL, &approval.encode_to_vec());
    let idempotency_key = args
        .idempotency_key
        .unwrap_or_else(|| format!("approve-{}-{state}", args.token_id));
    let request = pb::ApproveEnrolmentRequest {
        idempotency_key,
        approval: Some(approval),
        signature: signature.to_bytes().to_vec(),
    };
    let answer = answered(
        MembershipServiceClient::new(channel)
            .approve_enrolment(request)
            .await,
    )?;
    answer
        .enrolment
        .ok_or_else(|| Failure::Failed("the coordinator's answer has no enrolment".to_owned()))
}
