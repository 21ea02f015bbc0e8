//! A real coordinator for the coordinator's gateway's tests, as its own tests start one
//! (copied from `services/coordinator/tests/it/network.rs`, `ledger.rs` and `rounds.rs`: one
//! crate's tests cannot import another's): the network's PKI with an issuing CA below the
//! root, a coordinator on 127.0.0.1 over mTLS on a fresh SQLite file, GB, FR and DE joined
//! through the real token-and-CSR flow, each reporting signed arrivals to the ledger, and a
//! bilateral round driven to FINAL through the coordinator's gRPC — opened, cut off and
//! proposed by an operator, countersigned by every affected state's key. In front of it, a
//! real gateway configured with `[coordinator]` and an operator's certificate.

use std::net::SocketAddr;
use std::sync::Arc;

use accord_coordinator::config::{CoordinatorConfig, Enrolment, Issuing, Ledger, Limits, TlsPaths};
use accord_coordinator::joining::{JoinRequest, JoinedFolder, join};
use accord_coordinator::server::Coordinator;
use accord_domain::{StateCode, Timestamp};
use accord_edge::clock::ManualClock;
use accord_edge::report;
use accord_gateway::config::Upstream;
use accord_gateway::{Gateway, GatewayConfig};
use accord_proto::v1 as pb;
use accord_proto::v1::ledger_service_client::LedgerServiceClient;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_proto::v1::settlement_service_client::SettlementServiceClient;
use accord_trust::pki::directory::PkiDirectory;
use accord_trust::pki::{IssueRequest, Validity};
use accord_trust::{CaBundle, ClientTls, EventSigningKey, Identity, OperatorName, PeerIdentity};
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// How often the test coordinator publishes a tree head, in milliseconds.
const HEAD_INTERVAL_MS: u64 = 50;
/// The round's period: late November 2025, around the reported events.
const PERIOD_START_S: i64 = 1_763_500_000;
const PERIOD_END_S: i64 = 1_764_500_000;
/// When the first period's people arrived.
const ARRIVED_S: i64 = 1_764_000_009;

/// A member that joined: its event key and its node's clients of the coordinator.
pub struct Member {
    _folder: tempfile::TempDir,
    pub key: EventSigningKey,
    pub ledger: LedgerServiceClient<Channel>,
    pub settlement: SettlementServiceClient<Channel>,
}

/// The coordinator, its members, the gateway in front of it; all stop when dropped.
pub struct Federation {
    _folder: tempfile::TempDir,
    pki: PkiDirectory,
    address: SocketAddr,
    gateway: SocketAddr,
    _stops: Vec<oneshot::Sender<()>>,
    pub members: Vec<(String, Member)>,
    /// The coordinator's `SettlementService`, as the operator alice.
    pub operator: SettlementServiceClient<Channel>,
    pub http: reqwest::Client,
    /// The signed directory as it was when GB and FR had joined and DE had not: a real
    /// directory that lacks DE's key.
    pub directory_before_de: pb::SignedDirectory,
}

fn operator_identity() -> PeerIdentity {
    PeerIdentity::Operator(OperatorName::parse("alice").unwrap())
}

impl Federation {
    /// A coordinator with GB, FR and DE joined, GB having returned 3 people to FR, FR 2 to
    /// DE and DE 1 to GB, each arrival reported alike by both states; and its gateway.
    pub async fn start() -> Self {
        accord_trust::install_crypto_provider();
        accord_telemetry::init_for_tests();
        let folder = tempfile::tempdir().unwrap();
        let pki = PkiDirectory::new(folder.path().join("pki"));
        let now = accord_trust::clock::wall_clock_now();
        let validity = || Validity::days_from(now, 30).unwrap();
        pki.init(validity(), validity()).unwrap();
        pki.create_issuing_ca(
            &pki,
            now,
            Validity::days_from(now, 20).unwrap(),
            validity(),
            validity(),
        )
        .unwrap();
        for identity in [PeerIdentity::Coordinator, operator_identity()] {
            pki.issue(&IssueRequest::new(identity, validity()), false)
                .unwrap();
        }
        EventSigningKey::generate()
            .unwrap()
            .save(&folder.path().join("coordinator.signing.key"))
            .unwrap();
        let start_millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap();
        let clock = Arc::new(ManualClock::new(
            Timestamp::from_millis(start_millis).unwrap(),
        ));
        let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let address = listener.local_addr().unwrap();
        let config = coordinator_config(&pki, address, folder.path());
        let coordinator = Coordinator::build_with_listener(config, clock, listener)
            .await
            .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(coordinator.run_until(async move {
            let _ = stopped.await;
        }));
        let mut federation = Self {
            _folder: folder,
            address,
            gateway: address,
            _stops: vec![stop],
            members: Vec::new(),
            operator: SettlementServiceClient::new(operator_channel(&pki, address)),
            pki,
            http: reqwest::Client::new(),
            directory_before_de: pb::SignedDirectory::default(),
        };
        federation.start_gateway().await;
        for (index, code) in ["GB", "FR", "DE"].into_iter().enumerate() {
            if code == "DE" {
                federation.directory_before_de = federation.directory().await;
            }
            let member = federation.join(code, 7671 + index as u16).await;
            federation.members.push((code.to_owned(), member));
        }
        federation.returns("GB", "FR", 3, 1).await;
        federation.returns("FR", "DE", 2, 2).await;
        federation.returns("DE", "GB", 1, 3).await;
        federation.wait_for_head(12).await;
        federation
    }

    async fn start_gateway(&mut self) {
        let operator = operator_identity();
        let config = GatewayConfig {
            upstream: Upstream::Coordinator,
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            endpoint: self.endpoint(),
            server_name: "127.0.0.1".to_owned(),
            ca: self.pki.ca_certificate_path(),
            certificate: self.pki.certificate_path(&operator),
            private_key: self.pki.key_path(&operator),
            tokens: crate::support::tokens(),
        };
        let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let gateway = Gateway::build_with_listener(config, listener)
            .await
            .unwrap();
        self.gateway = gateway.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(gateway.run_until(async move {
            let _ = stopped.await;
        }));
        self._stops.push(stop);
    }

    /// `http://…` of the coordinator's gateway, with `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway)
    }

    fn endpoint(&self) -> String {
        format!("https://{}", self.address)
    }

    fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.pki.ca_certificate_path()).unwrap()
    }

    fn channel(&self, certificate: &std::path::Path, key: &std::path::Path) -> Channel {
        channel_at(&self.pki, self.address, certificate, key)
    }

    fn operator_channel(&self) -> Channel {
        operator_channel(&self.pki, self.address)
    }

    /// The coordinator's current signed directory, as the operator alice reads it.
    pub async fn directory(&self) -> pb::SignedDirectory {
        MembershipServiceClient::new(self.operator_channel())
            .get_directory(pb::GetDirectoryRequest {})
            .await
            .unwrap()
            .into_inner()
            .directory
            .unwrap()
    }

    /// The operator alice records that `first` and `second` agreed the UK–France regime
    /// from `effective_from_s` (Unix seconds), with a parity limit of 20 and no sunset.
    pub async fn agreement(&self, first: &str, second: &str, effective_from_s: i64) {
        MembershipServiceClient::new(self.operator_channel())
            .set_agreement(pb::SetAgreementRequest {
                idempotency_key: format!("agreement-{first}-{second}"),
                agreement: Some(pb::Agreement {
                    first_state: first.to_owned(),
                    second_state: second.to_owned(),
                    regimes: vec![pb::Regime::Ukfr2025.into()],
                    effective_from: Some(seconds(effective_from_s)),
                    sunset_at: None,
                    eligibility_rules_version: String::new(),
                    eligibility_rules_digest: Vec::new(),
                    parity_limit: Some(20),
                }),
            })
            .await
            .unwrap();
    }

    /// The member `code`.
    pub fn member(&self, code: &str) -> &Member {
        &self
            .members
            .iter()
            .find(|(member, _)| member == code)
            .unwrap()
            .1
    }

    /// `state` joins through a one-time token and the real CSR flow.
    async fn join(&self, state: &str, port: u16) -> Member {
        let issued = MembershipServiceClient::new(self.operator_channel())
            .issue_enrolment_token(pb::IssueEnrolmentTokenRequest {
                idempotency_key: format!("token-{state}"),
                state: state.to_owned(),
                expires_at: Some(prost_types::Timestamp {
                    seconds: accord_trust::clock::wall_clock_now().unix_timestamp() + 86_400,
                    nanos: 0,
                }),
                required_approvals: 0,
            })
            .await
            .unwrap()
            .into_inner();
        let folder = tempfile::tempdir().unwrap();
        join(JoinRequest {
            coordinator: self.endpoint(),
            ca_pem: self.ca_pem(),
            state: StateCode::parse(state).unwrap(),
            token: issued.token,
            endpoint: format!("127.0.0.1:{port}"),
            listen_addr: None,
            dir: folder.path().to_owned(),
        })
        .await
        .unwrap();
        let files = JoinedFolder::new(folder.path());
        let channel = self.channel(&files.node_certificate(), &files.node_key());
        Member {
            key: EventSigningKey::load(&files.signing_key()).unwrap(),
            ledger: LedgerServiceClient::new(channel.clone()),
            settlement: SettlementServiceClient::new(channel),
            _folder: folder,
        }
    }

    /// `count` returns from `from` to `to`, each arrival confirmed by `to` and reported by
    /// both.
    async fn returns(&self, from: &str, to: &str, count: u8, salt: u8) {
        self.returns_at(from, to, count, salt, ARRIVED_S).await;
    }

    /// As `returns`, the arrivals confirmed at `arrived_s` (Unix seconds).
    async fn returns_at(&self, from: &str, to: &str, count: u8, salt: u8, arrived_s: i64) {
        for index in 0..count {
            let case = format!("RDM-{from}-{to}-01J9Z8Q4M6W3XR7T2K5N8P{salt}{index:02}");
            let digest = salt * 16 + index;
            let arrival = arrival(&self.member(to).key, to, &case, digest, arrived_s);
            send(self.member(from), arrival.clone()).await;
            send(self.member(to), arrival).await;
        }
    }

    /// GB and FR report different events at one step of one case (both signed by FR, as
    /// acted by FR): a break, open at once.
    pub async fn conflicting_reports(&self) {
        let case = "RDM-GB-FR-01J9Z8Q4M6W3XR7T2K5N8P9000";
        let fr = &self.member("FR").key;
        send(self.member("GB"), arrival(fr, "FR", case, 200, ARRIVED_S)).await;
        send(self.member("FR"), arrival(fr, "FR", case, 201, ARRIVED_S)).await;
        self.wait_for_head(14).await;
    }

    async fn wait_for_head(&self, size: u64) {
        accord_edge::testing::head_of(&mut self.member("GB").ledger.clone(), size).await;
    }

    /// A bilateral round over the period, opened, cut off, proposed and countersigned by
    /// every affected state: FINAL.
    pub async fn final_round(&self) -> pb::Round {
        self.final_round_over(1, PERIOD_START_S, PERIOD_END_S).await
    }

    /// After `final_round`: GB returns 2 more people to FR and FR 1 to GB in the next
    /// period, and a bilateral round over that period is driven to FINAL.
    pub async fn second_final_round(&self) -> pb::Round {
        let arrived_s = PERIOD_END_S + 1_000;
        self.returns_at("GB", "FR", 2, 4, arrived_s).await;
        self.returns_at("FR", "GB", 1, 5, arrived_s).await;
        self.wait_for_head(18).await;
        let end_s = PERIOD_END_S + (PERIOD_END_S - PERIOD_START_S);
        self.final_round_over(2, PERIOD_END_S, end_s).await
    }

    /// Round `number` over [`start_s`, `end_s`), opened, cut off, proposed and countersigned.
    async fn final_round_over(&self, number: u8, start_s: i64, end_s: i64) -> pb::Round {
        let mut operator = self.operator.clone();
        let opened = operator
            .open_round(pb::OpenRoundRequest {
                idempotency_key: format!("open-{number}"),
                period: Some(pb::TimeRange {
                    start_time: Some(seconds(start_s)),
                    end_time: Some(seconds(end_s)),
                }),
                mode: pb::NettingMode::Bilateral.into(),
                participating_states: Vec::new(),
                redirect_pairs: Vec::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .round
            .unwrap();
        let round_id = opened.round_id;
        operator
            .close_round(pb::CloseRoundRequest {
                idempotency_key: format!("close-{number}"),
                round_id: round_id.clone(),
            })
            .await
            .unwrap();
        let mut round = operator
            .propose_round(pb::ProposeRoundRequest {
                idempotency_key: format!("propose-{number}"),
                round_id: round_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .round
            .unwrap();
        for state in round.awaiting_countersignature.clone() {
            let member = self.member(&state);
            round = member
                .settlement
                .clone()
                .countersign_round(countersignature(member, &state, &round, number))
                .await
                .unwrap()
                .into_inner()
                .round
                .unwrap();
        }
        assert_eq!(round.status(), pb::RoundStatus::Final);
        round
    }
}

/// A channel to the coordinator at `address` as the holder of `certificate`.
fn channel_at(
    pki: &PkiDirectory,
    address: SocketAddr,
    certificate: &std::path::Path,
    key: &std::path::Path,
) -> Channel {
    let identity = Identity::load(certificate, key).unwrap();
    let ca =
        CaBundle::from_pem(&std::fs::read_to_string(pki.ca_certificate_path()).unwrap()).unwrap();
    let tls = ClientTls::new(&identity, &ca, "127.0.0.1").unwrap();
    accord_trust::connect_lazy(&format!("https://{address}"), &tls).unwrap()
}

/// A channel to the coordinator as the operator alice.
fn operator_channel(pki: &PkiDirectory, address: SocketAddr) -> Channel {
    let operator = operator_identity();
    channel_at(
        pki,
        address,
        &pki.certificate_path(&operator),
        &pki.key_path(&operator),
    )
}

fn seconds(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}

/// `member`'s countersignature of `round`'s report, as `code`.
fn countersignature(
    member: &Member,
    code: &str,
    round: &pb::Round,
    number: u8,
) -> pb::CountersignRoundRequest {
    let signed = round.report.as_ref().unwrap();
    pb::CountersignRoundRequest {
        idempotency_key: format!("sign-{code}-{number}"),
        round_id: round.round_id.clone(),
        report_digest: signed.report_digest.clone(),
        countersignature: Some(report::countersign(
            signed.report.as_ref().unwrap(),
            StateCode::parse(code).unwrap(),
            &member.key,
            Timestamp::from_millis(1_764_600_000_000).unwrap(),
        )),
    }
}

/// `signer`'s signed report of the arrival confirmed by `acting` in `case` (event 9) at
/// `arrived_s`.
fn arrival(
    signer: &EventSigningKey,
    acting: &str,
    case: &str,
    digest: u8,
    arrived_s: i64,
) -> pb::EventReport {
    let kind = pb::ReadmissionEventKind::ArrivalConfirmed;
    accord_edge::testing::event_report(signer, acting, case, 9, digest, kind, seconds(arrived_s))
}

async fn send(member: &Member, report: pb::EventReport) {
    let batch = pb::ReportEventsRequest {
        batch_id: "batch-1".to_owned(),
        reports: vec![report],
    };
    let mut answers = member
        .ledger
        .clone()
        .report_events(tokio_stream::iter(vec![batch]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    assert_eq!(answer.results.len(), 1);
}

fn coordinator_config(
    pki: &PkiDirectory,
    address: SocketAddr,
    folder: &std::path::Path,
) -> CoordinatorConfig {
    let coordinator = PeerIdentity::Coordinator;
    CoordinatorConfig {
        listen_addr: address,
        endpoint: format!("https://{address}"),
        database_url: format!(
            "sqlite://{}?mode=rwc",
            folder.join("coordinator.db").display()
        ),
        tls: TlsPaths {
            ca: pki.ca_certificate_path(),
            crl: Some(pki.crl_path()),
            certificate: pki.certificate_path(&coordinator),
            private_key: pki.key_path(&coordinator),
            signing_key: folder.join("coordinator.signing.key"),
        },
        issuing: Issuing {
            certificate: pki.issuing_ca_certificate_path(),
            private_key: pki.issuing_ca_key_path(),
            certificate_days: 90,
            crl_hours: 48,
        },
        enrolment: Enrolment::default(),
        ledger: Ledger {
            head_interval_ms: HEAD_INTERVAL_MS,
            ..Ledger::default()
        },
        limits: Limits::default(),
    }
}
