//! Member states as the tests make them: each joined through the real flow
//! (`joining::join`) into its own folder, with clients as its node; and what a node sends,
//! signed event reports.

use accord_coordinator::joining::{JoinRequest, JoinedFolder, join};
use accord_domain::StateCode;
use accord_proto::v1 as pb;
use accord_proto::v1::ledger_service_client::LedgerServiceClient;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_proto::v1::settlement_service_client::SettlementServiceClient;
use accord_trust::{CaBundle, ClientTls, EventSigningKey, Identity};
use tonic::transport::Channel;

use crate::network::{Network, operator};

/// A member state that joined through the real flow: its folder (keys and certificates),
/// its event key, and the coordinator's services as its node.
pub struct Member {
    pub folder: tempfile::TempDir,
    pub key: EventSigningKey,
    pub membership: MembershipServiceClient<Channel>,
    pub ledger: LedgerServiceClient<Channel>,
    pub settlement: SettlementServiceClient<Channel>,
}

/// `state` joined with a token needing no approval, its node at `127.0.0.1:port`.
pub async fn joined(network: &Network, state: &str, port: u16) -> Member {
    let (_, token) = network.token_for(state, 0).await;
    let folder = tempfile::tempdir().unwrap();
    join(JoinRequest {
        coordinator: network.endpoint(),
        ca_pem: network.ca_pem(),
        state: StateCode::parse(state).unwrap(),
        token,
        endpoint: format!("127.0.0.1:{port}"),
        listen_addr: None,
        dir: folder.path().to_owned(),
    })
    .await
    .unwrap();
    let files = JoinedFolder::new(folder.path());
    let node = channel(network, &files.node_certificate(), &files.node_key());
    Member {
        key: EventSigningKey::load(&files.signing_key()).unwrap(),
        membership: MembershipServiceClient::new(node.clone()),
        ledger: LedgerServiceClient::new(node.clone()),
        settlement: SettlementServiceClient::new(node),
        folder,
    }
}

/// Client TLS towards the coordinator as the holder of `certificate`.
pub fn tls(network: &Network, certificate: &std::path::Path, key: &std::path::Path) -> ClientTls {
    let identity = Identity::load(certificate, key).unwrap();
    let ca = CaBundle::from_pem(&network.ca_pem()).unwrap();
    ClientTls::new(&identity, &ca, "127.0.0.1").unwrap()
}

/// A channel to the coordinator as the holder of `certificate` (connected on first use).
pub fn channel(network: &Network, certificate: &std::path::Path, key: &std::path::Path) -> Channel {
    accord_trust::connect_lazy(&network.endpoint(), &tls(network, certificate, key)).unwrap()
}

/// The coordinator's `LedgerService` as the operator alice.
pub fn operator_client(network: &Network) -> LedgerServiceClient<Channel> {
    LedgerServiceClient::new(operator_channel(network))
}

/// A channel to the coordinator as the operator alice.
pub fn operator_channel(network: &Network) -> Channel {
    let identity = operator("alice");
    network.client_as(&identity);
    channel(
        network,
        &network.pki.certificate_path(&identity),
        &network.pki.key_path(&identity),
    )
}

/// `signer`'s signed report of event `sequence` of `case` (a readmission between the two
/// states its reference names), acted by `acting`, of kind `kind`, with digest byte `digest`.
pub fn report_of(
    signer: &EventSigningKey,
    acting: &str,
    case: &str,
    sequence: u64,
    digest: u8,
    kind: pb::ReadmissionEventKind,
) -> pb::EventReport {
    let occurred_at = prost_types::Timestamp {
        seconds: 1_764_000_000 + i64::try_from(sequence).unwrap(),
        nanos: 0,
    };
    accord_edge::testing::event_report(signer, acting, case, sequence, digest, kind, occurred_at)
}

/// `reports` sent as `member`'s node in one batch of a report stream; answers their results.
pub async fn send(member: &Member, reports: Vec<pb::EventReport>) -> Vec<pb::EventReportResult> {
    let batch = pb::ReportEventsRequest {
        batch_id: "batch-1".to_owned(),
        reports,
    };
    let mut answers = member
        .ledger
        .clone()
        .report_events(tokio_stream::iter(vec![batch]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    assert_eq!(answer.batch_id, "batch-1");
    answer.results
}

/// Each result's outcome and leaf index.
pub fn outcomes(results: &[pb::EventReportResult]) -> Vec<(pb::EventReportOutcome, u64)> {
    results
        .iter()
        .map(|result| (result.outcome(), result.leaf_index))
        .collect()
}

pub use accord_edge::testing::head_of;
