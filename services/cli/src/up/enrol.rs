//! The federation's membership, made through the coordinator's real API and nothing else:
//! the operator issues each new state a one-time token, the state joins with it as
//! `accord join` does (`accord_coordinator::joining::join`: its keys made in its own folder,
//! CSRs sent), a node whose port changed since it joined moves its endpoint in the directory
//! itself (`RenewCredentials`, with its own certificate), and the operator records the
//! agreements the directory does not hold yet (`SetAgreement`).
//!
//! Every step is skipped when already done, so a run on the same folder changes nothing
//! that did not change: no second join, no new directory version for the same agreements.

use std::net::SocketAddr;

use accord_coordinator::joining::{JoinError, JoinRequest, JoinedFolder, join};
use accord_domain::StateCode;
use accord_edge::clock::{Clock as _, SystemClock};
use accord_edge::wire::{regime_to_wire, to_wire_time};
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::PeerIdentity;
use tonic::transport::Channel;

use super::credentials::{self, Pki};
use super::folder::Folder;
use super::plan::Agreement;

/// How long an enrolment token `accord up` issues works, in milliseconds: the join follows
/// at once.
const TOKEN_TTL_MS: i64 = 10 * 60 * 1000;

/// Why a step of membership failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The coordinator refused a request.
    #[error("{0}: the coordinator refused: {1:?}: {2}")]
    Refused(String, tonic::Code, String),
    /// A state could not join.
    #[error("{0} could not join")]
    Join(StateCode, #[source] JoinError),
    /// The coordinator's answer lacks what its API promises.
    #[error("{0}")]
    Answer(String),
    /// A client could not be made.
    #[error(transparent)]
    Client(#[from] credentials::Error),
}

/// The federation's operator, connected to the coordinator.
pub struct Operator {
    client: MembershipServiceClient<Channel>,
    coordinator: SocketAddr,
}

impl Operator {
    /// Connects to the coordinator at `coordinator` as the federation's operator.
    pub async fn connect(pki: &Pki, coordinator: SocketAddr) -> Result<Self, Error> {
        let channel = credentials::channel(
            &pki.ca_cert,
            (&pki.operator_cert, &pki.operator_key),
            coordinator,
            PeerIdentity::Coordinator,
        )
        .await?;
        Ok(Self {
            client: MembershipServiceClient::new(channel),
            coordinator,
        })
    }

    /// Has `state` join with a fresh token, its node at `endpoint`, unless its folder shows
    /// it joined already.
    pub async fn join_if_new(
        &mut self,
        folder: &Folder,
        pki: &Pki,
        state: StateCode,
        endpoint: SocketAddr,
    ) -> Result<(), Error> {
        let state_folder = folder.state(state);
        if JoinedFolder::new(&state_folder).node_certificate().exists() {
            return Ok(());
        }
        if state_folder.exists() {
            // A join cut off before the coordinator answered (the federation stopped while
            // starting): its keys were never certified, and its kept request names a token
            // that a new one replaces. A state the directory lists did get its answer,
            // which is lost: that cannot be mended here.
            if self.is_member(state).await? {
                return Err(Error::Answer(format!(
                    "{state} joined but {} holds no node certificate: remove the folder {} to \
                     start the federation afresh",
                    state_folder.display(),
                    folder.root().display()
                )));
            }
            std::fs::remove_dir_all(&state_folder)
                .map_err(|error| Error::Answer(format!("{}: {error}", state_folder.display())))?;
        }
        let expires_at = SystemClock.now().plus_millis(TOKEN_TTL_MS);
        let issued = self
            .client
            .issue_enrolment_token(pb::IssueEnrolmentTokenRequest {
                idempotency_key: fresh_key(&format!("token-{state}")),
                state: state.to_string(),
                expires_at: Some(to_wire_time(expires_at)),
                required_approvals: 0,
            })
            .await
            .map_err(|status| refused(&format!("a token for {state}"), &status))?
            .into_inner();
        let request = JoinRequest {
            coordinator: format!("https://{}", self.coordinator),
            ca_pem: credentials::ca_pem(pki)?,
            state,
            token: issued.token,
            endpoint: format!("https://{endpoint}"),
            listen_addr: Some(endpoint),
            dir: folder.state(state),
        };
        join(request)
            .await
            .map_err(|error| Error::Join(state, error))?;
        Ok(())
    }

    /// Whether the directory lists `state`.
    async fn is_member(&mut self, state: StateCode) -> Result<bool, Error> {
        let directory = self.directory().await?;
        Ok(directory
            .members
            .iter()
            .any(|member| member.state == state.as_str()))
    }

    /// The directory as the coordinator publishes it now.
    pub async fn directory(&mut self) -> Result<pb::Directory, Error> {
        self.client
            .get_directory(pb::GetDirectoryRequest::default())
            .await
            .map_err(|status| refused("the directory", &status))?
            .into_inner()
            .directory
            .and_then(|signed| signed.directory)
            .ok_or_else(|| Error::Answer("the coordinator sent no directory".to_owned()))
    }

    /// Records `agreements` that `directory` does not hold yet, effective now.
    pub async fn record_agreements(
        &mut self,
        directory: &pb::Directory,
        agreements: &[Agreement],
    ) -> Result<(), Error> {
        for agreement in agreements {
            let (first, second) = (agreement.first.as_str(), agreement.second.as_str());
            let held = directory.agreements.iter().any(|held| {
                (held.first_state == first && held.second_state == second)
                    || (held.first_state == second && held.second_state == first)
            });
            if held {
                continue;
            }
            let regimes = agreement
                .regimes
                .iter()
                .map(|regime| regime_to_wire(*regime).into())
                .collect();
            self.client
                .set_agreement(pb::SetAgreementRequest {
                    idempotency_key: fresh_key(&format!("agreement-{first}-{second}")),
                    agreement: Some(pb::Agreement {
                        first_state: first.to_owned(),
                        second_state: second.to_owned(),
                        regimes,
                        effective_from: Some(to_wire_time(SystemClock.now())),
                        ..Default::default()
                    }),
                })
                .await
                .map_err(|status| refused(&format!("the agreement {first}-{second}"), &status))?;
        }
        Ok(())
    }
}

/// Moves `state`'s endpoint in the directory to `endpoint` if the directory names another
/// (its port was taken since): the node asks it itself, with its own certificate.
pub async fn move_endpoint_if_changed(
    folder: &Folder,
    directory: &pb::Directory,
    state: StateCode,
    coordinator: SocketAddr,
    endpoint: SocketAddr,
) -> Result<(), Error> {
    let wanted = format!("https://{endpoint}");
    let listed = directory
        .members
        .iter()
        .find(|member| member.state == state.as_str())
        .map(|member| member.node_endpoint.trim_end_matches('/'));
    if listed == Some(wanted.as_str()) {
        return Ok(());
    }
    let joined = JoinedFolder::new(folder.state(state));
    let channel = credentials::channel(
        &joined.ca(),
        (&joined.node_certificate(), &joined.node_key()),
        coordinator,
        PeerIdentity::Coordinator,
    )
    .await?;
    MembershipServiceClient::new(channel)
        .renew_credentials(pb::RenewCredentialsRequest {
            idempotency_key: fresh_key(&format!("endpoint-{state}")),
            node_endpoint: wanted,
            ..Default::default()
        })
        .await
        .map_err(|status| refused(&format!("{state}'s new endpoint"), &status))?;
    Ok(())
}

/// A key no earlier request used: what it is for, the time and the process.
fn fresh_key(purpose: &str) -> String {
    format!(
        "up-{purpose}-{}-{}",
        SystemClock.now().as_millis(),
        std::process::id()
    )
}

fn refused(what: &str, status: &tonic::Status) -> Error {
    Error::Refused(what.to_owned(), status.code(), status.message().to_owned())
}
