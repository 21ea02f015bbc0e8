//! A running coordinator with its network's PKI (root CA, the coordinator's certificate and
//! signing key, operators' and members' certificates), clients as any identity, and fresh
//! databases: a SQLite file, and a PostgreSQL database when `ACCORD_TEST_DATABASE_URL` names a
//! server (CI starts a private one, see `.ci/postgres.sh`).

use std::net::SocketAddr;
use std::sync::Arc;

use accord_coordinator::app::App;
use accord_coordinator::config::{CoordinatorConfig, Enrolment, Issuing, Ledger, Limits, TlsPaths};
use accord_coordinator::server::Coordinator;
use accord_domain::Timestamp;
use accord_edge::clock::ManualClock;
use accord_edge::wire::to_wire_time;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::pki::directory::PkiDirectory;
use accord_trust::pki::{IssueRequest, Validity};
use accord_trust::{CaBundle, ClientTls, EventSigningKey, Identity, OperatorName, PeerIdentity};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// An hour, in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;

/// A coordinator and what it runs on.
pub struct Network {
    pub clock: ManualClock,
    /// The coordinator clock's first instant: the wall clock's when the network started, so
    /// that the certificates the coordinator issues are valid for TLS now.
    pub start_millis: i64,
    pub pki: PkiDirectory,
    pub database_url: String,
    address: SocketAddr,
    app: App,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<Task>,
    _folder: tempfile::TempDir,
}

impl Network {
    /// A coordinator on a fresh SQLite file.
    pub async fn start() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            folder.path().join("coordinator.db").display()
        );
        Self::start_on(folder, url).await
    }

    /// One coordinator per fresh database: SQLite, and PostgreSQL when configured.
    pub async fn on_every_database() -> Vec<Self> {
        let mut networks = vec![Self::start().await];
        if let Ok(server_url) = std::env::var("ACCORD_TEST_DATABASE_URL") {
            let url = fresh_postgres(&server_url).await;
            networks.push(Self::start_on(tempfile::tempdir().unwrap(), url).await);
        }
        networks
    }

    async fn start_on(folder: tempfile::TempDir, database_url: String) -> Self {
        accord_trust::install_crypto_provider();
        accord_telemetry::init_for_tests();
        let pki = PkiDirectory::new(folder.path().join("pki"));
        let now = accord_trust::clock::wall_clock_now();
        let validity = || Validity::days_from(now, 30).unwrap();
        pki.init(validity(), validity()).unwrap();
        // An issuing CA below the root signs every certificate from here on; the root's key
        // then leaves (as it would go offline), and the network must not need it.
        pki.create_issuing_ca(
            &pki,
            now,
            Validity::days_from(now, 20).unwrap(),
            validity(),
            validity(),
        )
        .unwrap();
        std::fs::remove_file(pki.ca_key_path()).unwrap();
        for identity in [
            PeerIdentity::Coordinator,
            operator("alice"),
            PeerIdentity::Node(accord_domain::StateCode::parse("FR").unwrap()),
        ] {
            pki.issue(&IssueRequest::new(identity, validity()), false)
                .unwrap();
        }
        EventSigningKey::generate()
            .unwrap()
            .save(&folder.path().join(SIGNING_KEY_FILE))
            .unwrap();
        let start_millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap();
        let clock = ManualClock::new(Timestamp::from_millis(start_millis).unwrap());
        let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let address = listener.local_addr().unwrap();
        let config = config_for(&pki, address, &database_url, folder.path());
        let (app, shutdown, task) = launch(config, &clock, Some(listener)).await;
        Self {
            clock,
            start_millis,
            pki,
            database_url,
            address,
            app,
            shutdown: Some(shutdown),
            task: Some(task),
            _folder: folder,
        }
    }

    /// The configuration the coordinator runs with.
    pub fn config(&self) -> CoordinatorConfig {
        config_for(
            &self.pki,
            self.address,
            &self.database_url,
            self._folder.path(),
        )
    }

    /// The coordinator's directory-signing key.
    pub fn signing_key(&self) -> EventSigningKey {
        EventSigningKey::load(&self._folder.path().join(SIGNING_KEY_FILE)).unwrap()
    }

    /// Stops the coordinator gracefully and starts it again on the same database and port.
    pub async fn restart(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        let (app, shutdown, task) = launch(self.config(), &self.clock, None).await;
        self.app = app;
        self.shutdown = Some(shutdown);
        self.task = Some(task);
    }

    /// A client of the coordinator as `identity` (issued by the network CA first if new).
    pub fn client_as(&self, identity: &PeerIdentity) -> MembershipServiceClient<Channel> {
        if !self.pki.certificate_path(identity).exists() {
            let now = accord_trust::clock::wall_clock_now();
            self.pki
                .issue(
                    &IssueRequest::new(identity.clone(), Validity::days_from(now, 30).unwrap()),
                    false,
                )
                .unwrap();
        }
        let credentials = Identity::load(
            &self.pki.certificate_path(identity),
            &self.pki.key_path(identity),
        )
        .unwrap();
        let ca =
            CaBundle::from_pem(&std::fs::read_to_string(self.pki.ca_certificate_path()).unwrap())
                .unwrap();
        let tls = ClientTls::new(&credentials, &ca, "127.0.0.1").unwrap();
        let channel =
            accord_trust::connect_lazy(&format!("https://{}", self.address), &tls).unwrap();
        MembershipServiceClient::new(channel)
    }

    /// The coordinator's use cases, in process.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// A client without a certificate (a state that has not joined yet).
    pub fn anonymous(&self) -> MembershipServiceClient<Channel> {
        let ca = CaBundle::from_pem(&self.ca_pem()).unwrap();
        let config = accord_trust::tls::anonymous_client_config(&ca).unwrap();
        let tls = ClientTls::from_config(Arc::new(config), "127.0.0.1").unwrap();
        let channel = accord_trust::connect_lazy(&self.endpoint(), &tls).unwrap();
        MembershipServiceClient::new(channel)
    }

    /// The network's root certificate, PEM.
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.pki.ca_certificate_path()).unwrap()
    }

    /// The coordinator's endpoint, `https://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.address)
    }

    /// A one-time token for `state`, valid for a day, as an operator issues it.
    pub async fn token_for(&self, state: &str, required_approvals: u32) -> (String, String) {
        let issued = self
            .operator()
            .issue_enrolment_token(accord_proto::v1::IssueEnrolmentTokenRequest {
                idempotency_key: format!("token-{state}"),
                state: state.to_owned(),
                expires_at: Some(self.at(24 * HOUR_MS)),
                required_approvals,
            })
            .await
            .unwrap()
            .into_inner();
        (issued.enrolment.unwrap().token_id, issued.token)
    }

    /// A client as the operator alice.
    pub fn operator(&self) -> MembershipServiceClient<Channel> {
        self.client_as(&operator("alice"))
    }

    /// The audit rows naming `operation` (a method name), as (peer, outcome).
    pub async fn audited(&self, operation: &str) -> Vec<(String, String)> {
        self.app
            .store()
            .audit_log()
            .await
            .unwrap()
            .into_iter()
            .filter(|record| record.operation.ends_with(&format!("/{operation}")))
            .map(|record| (record.peer, record.outcome))
            .collect()
    }

    /// `millis` after the tests' start, as a wire timestamp.
    pub fn at(&self, millis_after_start: i64) -> prost_types::Timestamp {
        to_wire_time(Timestamp::from_millis(self.start_millis + millis_after_start).unwrap())
    }
}

/// The signed directory, as `client`'s holder reads it.
pub async fn signed_directory(
    mut client: MembershipServiceClient<Channel>,
) -> accord_proto::v1::SignedDirectory {
    client
        .get_directory(accord_proto::v1::GetDirectoryRequest {})
        .await
        .unwrap()
        .into_inner()
        .directory
        .unwrap()
}

type Task = JoinHandle<Result<(), accord_coordinator::server::Error>>;

/// Builds and runs a coordinator: on `listener` when given, else on the configured address.
async fn launch(
    config: CoordinatorConfig,
    clock: &ManualClock,
    listener: Option<std::net::TcpListener>,
) -> (App, oneshot::Sender<()>, Task) {
    let clock = Arc::new(clock.clone());
    let coordinator = match listener {
        Some(listener) => Coordinator::build_with_listener(config, clock, listener).await,
        None => Coordinator::build(config, clock).await,
    }
    .unwrap();
    let app = coordinator.app();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(coordinator.run_until(async move {
        let _ = stopped.await;
    }));
    (app, shutdown, task)
}

/// The configuration of a coordinator on `address` over `database_url`, with the PKI's
/// credentials and the signing key in `folder`.
pub fn config_for(
    pki: &PkiDirectory,
    address: SocketAddr,
    database_url: &str,
    folder: &std::path::Path,
) -> CoordinatorConfig {
    let coordinator = PeerIdentity::Coordinator;
    CoordinatorConfig {
        listen_addr: address,
        endpoint: format!("https://{address}"),
        database_url: database_url.to_owned(),
        tls: TlsPaths {
            ca: pki.ca_certificate_path(),
            crl: Some(pki.crl_path()),
            certificate: pki.certificate_path(&coordinator),
            private_key: pki.key_path(&coordinator),
            signing_key: folder.join(SIGNING_KEY_FILE),
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

/// How often the tests' coordinators publish a tree head, in milliseconds.
pub const HEAD_INTERVAL_MS: u64 = 50;

/// The coordinator's directory-signing key, in the test's folder.
const SIGNING_KEY_FILE: &str = "coordinator.signing.key";

/// The operator `name`'s identity.
pub fn operator(name: &str) -> PeerIdentity {
    PeerIdentity::Operator(OperatorName::parse(name).unwrap())
}

/// A state's node identity.
pub fn node(code: &str) -> PeerIdentity {
    PeerIdentity::Node(accord_domain::StateCode::parse(code).unwrap())
}

pub use accord_edge::testing::{bad_fields, reason};

async fn fresh_postgres(server_url: &str) -> String {
    accord_edge::testing::fresh_postgres_database(server_url, "accord_coordinator").await
}
