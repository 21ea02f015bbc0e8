//! Who acts in a demo, each with the credentials a real party would hold: each state's case
//! system, calling its own node (and the coordinator) with the state's gateway certificate,
//! and the federation's operator, calling the coordinator. Everything they do goes through
//! the servers' public gRPC APIs; no store is read or written.
//!
//! Also the demo's one way of waiting: [`eventually`] asks again until an answer holds.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use accord_domain::StateCode;
use accord_proto::v1::admission_service_client::AdmissionServiceClient;
use accord_proto::v1::ledger_service_client::LedgerServiceClient;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_proto::v1::readmission_service_client::ReadmissionServiceClient;
use accord_proto::v1::settlement_service_client::SettlementServiceClient;
use accord_trust::PeerIdentity;
use tonic::transport::Channel;

use super::Error;
use crate::up::Description;
use crate::up::credentials;

/// The longest a demo waits for one thing (a delivery, the log, a round's countersignatures).
const WAIT_MAX: Duration = Duration::from_secs(120);

/// The pause between two looks.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// A state's case system: its caseworkers' calls to its node and to the coordinator.
#[derive(Clone)]
pub struct Caseworkers {
    /// The node's readmission service.
    pub readmission: ReadmissionServiceClient<Channel>,
    /// The node's admission service.
    pub admission: AdmissionServiceClient<Channel>,
    /// The coordinator's settlement service, as this state's gateway.
    pub settlement: SettlementServiceClient<Channel>,
}

/// The federation's operator at the coordinator.
#[derive(Clone)]
pub struct Operator {
    /// Rounds, capacities, reports.
    pub settlement: SettlementServiceClient<Channel>,
    /// Tree heads, breaks, reconciliation.
    pub ledger: LedgerServiceClient<Channel>,
    /// The signed directory.
    pub membership: MembershipServiceClient<Channel>,
}

/// Everyone who acts.
#[derive(Clone)]
pub struct Parties {
    states: BTreeMap<StateCode, Caseworkers>,
    /// The operator.
    pub operator: Operator,
}

impl Parties {
    /// Connects every state's case system and the operator to the federation `description`
    /// says is running.
    pub async fn connect(description: &Description) -> Result<Self, Error> {
        let coordinator = &description.coordinator;
        let ca = &description.ca_cert;
        let operator_channel = credentials::channel(
            ca,
            (&coordinator.operator_cert, &coordinator.operator_key),
            coordinator.grpc,
            PeerIdentity::Coordinator,
        )
        .await
        .map_err(Error::Connect)?;
        let mut states = BTreeMap::new();
        for (code, entry) in &description.states {
            let state = StateCode::parse(code)
                .map_err(|_| Error::Answer(format!("federation.json names a state {code:?}")))?;
            let client = (entry.client_cert.as_path(), entry.client_key.as_path());
            let node = credentials::channel(ca, client, entry.grpc, PeerIdentity::Node(state))
                .await
                .map_err(Error::Connect)?;
            let to_coordinator =
                credentials::channel(ca, client, coordinator.grpc, PeerIdentity::Coordinator)
                    .await
                    .map_err(Error::Connect)?;
            states.insert(
                state,
                Caseworkers {
                    readmission: ReadmissionServiceClient::new(node.clone()),
                    admission: AdmissionServiceClient::new(node),
                    settlement: SettlementServiceClient::new(to_coordinator),
                },
            );
        }
        Ok(Self {
            states,
            operator: Operator {
                settlement: SettlementServiceClient::new(operator_channel.clone()),
                ledger: LedgerServiceClient::new(operator_channel.clone()),
                membership: MembershipServiceClient::new(operator_channel),
            },
        })
    }

    /// `state`'s case system.
    pub fn of(&self, state: StateCode) -> Result<Caseworkers, Error> {
        self.states
            .get(&state)
            .cloned()
            .ok_or_else(|| Error::Answer(format!("{state} is not in the federation")))
    }
}

/// Asks `look` until it answers `Some`, every [`LOOK_EVERY`], for at most [`WAIT_MAX`];
/// `what` names what was awaited when it never comes.
pub async fn eventually<T, F, Fut>(what: impl Fn() -> String, mut look: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, Error>>,
{
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    loop {
        if let Some(answer) = look().await? {
            return Ok(answer);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Timeout(what(), WAIT_MAX));
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

/// A call's answer, or the demo's error naming the call.
pub fn answered<T>(
    what: &str,
    answer: Result<tonic::Response<T>, tonic::Status>,
) -> Result<T, Error> {
    answer.map(tonic::Response::into_inner).map_err(|status| {
        Error::Refused(what.to_owned(), status.code(), status.message().to_owned())
    })
}

/// A read's answer: `None` when the server does not hold it (yet).
pub fn found<T>(
    what: &str,
    answer: Result<tonic::Response<T>, tonic::Status>,
) -> Result<Option<T>, Error> {
    match answer {
        Ok(response) => Ok(Some(response.into_inner())),
        Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
        Err(status) => Err(Error::Refused(
            what.to_owned(),
            status.code(),
            status.message().to_owned(),
        )),
    }
}

/// How many times a call refused with `ABORTED` (a concurrent change, "retry") is tried
/// again; its idempotency key makes each try the same request.
pub const RETRIES: u32 = 20;

/// Calls `$client.$method($request)`, again after `ABORTED` (at most [`RETRIES`] times, a
/// little later each time), as a case system does; answers as [`answered`] does.
macro_rules! call {
    ($what:literal, $client:expr, $method:ident, $request:expr) => {{
        let request = $request;
        let mut attempt: u32 = 0;
        loop {
            match $client.$method(request.clone()).await {
                Err(status)
                    if status.code() == tonic::Code::Aborted
                        && attempt < $crate::demo::parties::RETRIES =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(attempt)))
                        .await;
                }
                answer => break $crate::demo::parties::answered($what, answer),
            }
        }
    }};
}
pub(crate) use call;
