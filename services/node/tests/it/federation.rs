//! A federation of real nodes for tests: a network CA in a temporary folder, one node per
//! state on 127.0.0.1 over mTLS, each with its own SQLite file, all sharing one manual
//! clock so legal deadlines pass when a test says so.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use accord_coordinator::config::CoordinatorConfig;
use accord_coordinator::server::Coordinator;
use accord_domain::{Regime, StateCode, Timestamp};
use accord_node::app::{App, DeadlineSweeper};
use accord_node::clock::ManualClock;
use accord_node::config::{Deadlines, Delivery, Limits, NodeConfig, Partner, TlsPaths};
use accord_node::directory::Follower;
use accord_node::ledger::Witness;
use accord_node::revocation::live::LiveRevocations;
use accord_node::server::Node;
use accord_node::store::AuditRecord;
use accord_proto::v1::admission_service_client::AdmissionServiceClient;
use accord_proto::v1::readmission_service_client::ReadmissionServiceClient;
use accord_trust::pki::directory::PkiDirectory;
use accord_trust::pki::{IssueRequest, Validity};
use accord_trust::{CaBundle, ClientTls, EventSigningKey, Identity, PeerIdentity};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The clock's start: Monday 2 March 2026, 09:00 UTC.
pub const START_MILLIS: i64 = 1_772_442_000_000;

/// How long a test waits for a condition before failing.
const CONDITION_TIMEOUT: Duration = Duration::from_secs(20);

pub mod joined;

/// A running node and what it takes to stop and restart it.
pub struct RunningNode {
    pub config: NodeConfig,
    pub app: App,
    pub address: SocketAddr,
    /// The directory follower, for a node that follows the coordinator.
    pub directory: Option<Follower>,
    /// The coordinator's revocation list as the node applies it, for a node that follows.
    pub revocations: Option<LiveRevocations>,
    /// The witness of the coordinator's log, for a node that follows.
    pub witness: Option<Witness>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), accord_node::server::Error>>>,
}

/// Nodes of several states, their PKI and their shared clock.
pub struct Federation {
    pub clock: ManualClock,
    pub pki: PkiDirectory,
    _folder: tempfile::TempDir,
    pub nodes: HashMap<StateCode, RunningNode>,
    /// The coordinator the nodes follow, when they learn their partners from its directory.
    pub coordinator: Option<RunningCoordinator>,
}

/// A running coordinator, its directory-signing key and what it takes to stop it.
pub struct RunningCoordinator {
    pub config: CoordinatorConfig,
    /// The coordinator's directory-signing key file.
    pub signing_key: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), accord_coordinator::server::Error>>>,
}

pub fn state(code: &str) -> StateCode {
    StateCode::parse(code).unwrap()
}

/// A socket on 127.0.0.1 and a port the system chose, kept open until its node serves on it:
/// nodes name each other as partners, so every address must be known before any node is
/// built, and a port closed and bound again could be taken meanwhile by a parallel test.
fn listener() -> std::net::TcpListener {
    std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap()
}

impl Federation {
    /// Starts one node per state, every pair partners, with the given parity limits
    /// (requesting state, requested state, limit) applied by the requested state's node.
    pub async fn start(states: &[&str]) -> Self {
        Self::start_with(states, &[]).await
    }

    pub async fn start_with(states: &[&str], parity_limits: &[(&str, &str, u64)]) -> Self {
        Self::start_agreeing(states, parity_limits, &[]).await
    }

    /// Starts as [`Federation::start_with`], each node agreeing with each partner the
    /// regimes `agreements` lists for (node's state, partner's state), and every regime for a
    /// pair it does not list (so the other tests may use any regime).
    pub async fn start_agreeing(
        states: &[&str],
        parity_limits: &[(&str, &str, u64)],
        agreements: &[(&str, &str, &[Regime])],
    ) -> Self {
        let (mut federation, states, mut listeners) = Self::prepare(states, START_MILLIS);
        let addresses: HashMap<StateCode, SocketAddr> = listeners
            .iter()
            .map(|(code, listener)| (*code, listener.local_addr().unwrap()))
            .collect();
        for code in &states {
            let partners = states
                .iter()
                .filter(|other| *other != code)
                .map(|other| Partner {
                    state: *other,
                    endpoint: format!("https://{}", addresses[other]),
                    server_name: "127.0.0.1".to_owned(),
                    signing_public_key: federation.pki.verifying_key_path(*other),
                    regimes: agreements
                        .iter()
                        .find(|(node, partner, _)| state(node) == *code && state(partner) == *other)
                        .map_or_else(|| Regime::ALL.to_vec(), |(_, _, regimes)| regimes.to_vec()),
                    parity_limit: parity_limits
                        .iter()
                        .find(|(requesting, requested, _)| {
                            state(requesting) == *other && state(requested) == *code
                        })
                        .map(|(_, _, limit)| *limit),
                })
                .collect();
            let mut config = federation.node_config(*code, addresses[code]);
            config.partners = partners;
            let node = federation.launch(config, listeners.remove(code)).await;
            federation.nodes.insert(*code, node);
        }
        federation
    }

    /// The PKI (every state's node and gateway certificates), the clock, and a listener
    /// per state, before any node is built; the clock starts at `start_millis`.
    fn prepare(
        states: &[&str],
        start_millis: i64,
    ) -> (
        Self,
        Vec<StateCode>,
        HashMap<StateCode, std::net::TcpListener>,
    ) {
        accord_trust::install_crypto_provider();
        accord_telemetry::init_for_tests();
        let folder = tempfile::tempdir().unwrap();
        let pki = PkiDirectory::new(folder.path().join("pki"));
        let now = accord_trust::clock::wall_clock_now();
        pki.init(
            Validity::days_from(now, 30).unwrap(),
            Validity::days_from(now, 30).unwrap(),
        )
        .unwrap();
        let states: Vec<StateCode> = states.iter().map(|code| state(code)).collect();
        let listeners: HashMap<StateCode, std::net::TcpListener> =
            states.iter().map(|code| (*code, listener())).collect();
        for code in &states {
            for identity in [PeerIdentity::Node(*code), PeerIdentity::Gateway(*code)] {
                pki.issue(
                    &IssueRequest::new(identity, Validity::days_from(now, 30).unwrap()),
                    false,
                )
                .unwrap();
            }
        }
        let clock = ManualClock::new(Timestamp::from_millis(start_millis).unwrap());
        let federation = Self {
            clock,
            pki,
            _folder: folder,
            nodes: HashMap::new(),
            coordinator: None,
        };
        (federation, states, listeners)
    }

    /// `code`'s configuration on `address`, with no partner and no coordinator yet.
    fn node_config(&self, code: StateCode, address: SocketAddr) -> NodeConfig {
        NodeConfig {
            state: code,
            listen_addr: address,
            database_url: format!(
                "sqlite://{}?mode=rwc",
                self._folder.path().join(format!("{code}.db")).display()
            ),
            tls: TlsPaths {
                ca: self.pki.ca_certificate_path(),
                crl: Some(self.pki.crl_path()),
                certificate: self.pki.certificate_path(&PeerIdentity::Node(code)),
                private_key: self.pki.key_path(&PeerIdentity::Node(code)),
                signing_key: self.pki.signing_key_path(code),
            },
            coordinator: None,
            partners: Vec::new(),
            limits: Limits::default(),
            delivery: Delivery {
                initial_backoff_ms: 20,
                max_backoff_ms: 200,
                poll_interval_ms: 50,
                max_in_flight: 16,
                attempt_timeout_ms: 5_000,
            },
            deadlines: Deadlines {
                sweep_interval_ms: 50,
                sweep_batch: 64,
            },
        }
    }

    /// Issues the coordinator's certificate and signing key, and starts it on a SQLite file
    /// of its own.
    async fn start_coordinator(&mut self) {
        let now = accord_trust::clock::wall_clock_now();
        self.pki
            .issue(
                &IssueRequest::new(
                    PeerIdentity::Coordinator,
                    Validity::days_from(now, 30).unwrap(),
                ),
                false,
            )
            .unwrap();
        let folder = self._folder.path();
        let signing_key = EventSigningKey::generate().unwrap();
        signing_key
            .save(&folder.join("coordinator.signing.key"))
            .unwrap();
        signing_key
            .verifying_key()
            .save(&folder.join("coordinator.signing.pub"))
            .unwrap();
        let listener = listener();
        let address = listener.local_addr().unwrap();
        let config = CoordinatorConfig {
            listen_addr: address,
            endpoint: format!("https://{address}"),
            database_url: format!(
                "sqlite://{}?mode=rwc",
                folder.join("coordinator.db").display()
            ),
            tls: TlsPaths {
                ca: self.pki.ca_certificate_path(),
                crl: Some(self.pki.crl_path()),
                certificate: self.pki.certificate_path(&PeerIdentity::Coordinator),
                private_key: self.pki.key_path(&PeerIdentity::Coordinator),
                signing_key: folder.join("coordinator.signing.key"),
            },
            // The root signs members' certificates itself, as on a local network.
            issuing: accord_coordinator::config::Issuing {
                certificate: self.pki.ca_certificate_path(),
                private_key: self.pki.ca_key_path(),
                certificate_days: 90,
                // Long enough for a month-long reply deadline (Dublin III) to pass on the
                // shared clock without the coordinator's list expiring.
                crl_hours: 24 * 60,
            },
            enrolment: accord_coordinator::config::Enrolment::default(),
            ledger: accord_coordinator::config::Ledger {
                head_interval_ms: 50,
                ..accord_coordinator::config::Ledger::default()
            },
            limits: accord_coordinator::config::Limits::default(),
        };
        let key_path = folder.join("coordinator.signing.key");
        self.coordinator = Some(
            self.launch_coordinator(config, Some(listener), key_path)
                .await,
        );
    }

    async fn launch_coordinator(
        &self,
        config: CoordinatorConfig,
        listener: Option<std::net::TcpListener>,
        signing_key: PathBuf,
    ) -> RunningCoordinator {
        let clock = Arc::new(self.clock.clone());
        let coordinator = match listener {
            Some(listener) => {
                Coordinator::build_with_listener(config.clone(), clock, listener).await
            }
            None => Coordinator::build(config.clone(), clock).await,
        }
        .unwrap();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(coordinator.run_until(async move {
            let _ = stopped.await;
        }));
        RunningCoordinator {
            config,
            signing_key,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Stops the coordinator gracefully and waits until it has stopped.
    pub async fn stop_coordinator(&mut self) {
        let coordinator = self.coordinator.as_mut().unwrap();
        if let Some(shutdown) = coordinator.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = coordinator.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// Starts the stopped coordinator again on the same address and database.
    pub async fn restart_coordinator(&mut self) {
        let stopped = self.coordinator.take().unwrap();
        let restarted = self
            .launch_coordinator(stopped.config, None, stopped.signing_key)
            .await;
        self.coordinator = Some(restarted);
    }

    /// Builds and runs a node: on `listener` when given, else on the configured address.
    async fn launch(
        &self,
        config: NodeConfig,
        listener: Option<std::net::TcpListener>,
    ) -> RunningNode {
        let clock = Arc::new(self.clock.clone());
        let node = match listener {
            Some(listener) => Node::build_with_listener(config.clone(), clock, listener).await,
            None => Node::build(config.clone(), clock).await,
        }
        .unwrap();
        let address = node.local_addr();
        let app = node.app();
        let directory = node.directory();
        let revocations = node.revocations();
        let witness = node.witness();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(node.run_until(async move {
            let _ = stopped.await;
        }));
        RunningNode {
            config,
            app,
            address,
            directory,
            revocations,
            witness,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Stops a node gracefully and waits until it has stopped.
    pub async fn stop(&mut self, code: &str) {
        let node = self.nodes.get_mut(&state(code)).unwrap();
        if let Some(shutdown) = node.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = node.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// Starts a stopped node again on the same address and database. The address is bound
    /// again (its partners know it), as a restarted node's is; the port was this node's
    /// until it stopped, not one chosen anew, so a parallel test is unlikely to hold it.
    pub async fn restart(&mut self, code: &str) {
        let config = self.nodes[&state(code)].config.clone();
        let node = self.launch(config, None).await;
        self.nodes.insert(state(code), node);
    }

    pub fn app(&self, code: &str) -> &App {
        &self.nodes[&state(code)].app
    }

    /// The client side of mTLS as `identity`, with the federation's CA.
    pub fn client_tls(&self, identity: &PeerIdentity) -> ClientTls {
        let credentials = Identity::load(
            &self.pki.certificate_path(identity),
            &self.pki.key_path(identity),
        )
        .unwrap();
        let ca =
            CaBundle::from_pem(&std::fs::read_to_string(self.pki.ca_certificate_path()).unwrap())
                .unwrap();
        ClientTls::new(&credentials, &ca, "127.0.0.1").unwrap()
    }

    /// An mTLS channel to `code`'s node, presenting `identity`'s certificate.
    pub async fn channel_as(&self, identity: PeerIdentity, code: &str) -> Channel {
        let tls = self.client_tls(&identity);
        let address = self.nodes[&state(code)].address;
        accord_trust::connect_lazy(&format!("https://{address}"), &tls).unwrap()
    }

    /// An mTLS channel to `code`'s node from its own gateway (its caseworkers).
    pub async fn gateway_channel(&self, code: &str) -> Channel {
        self.channel_as(PeerIdentity::Gateway(state(code)), code)
            .await
    }

    /// `code`'s node, called by its own gateway (its caseworkers).
    pub async fn gateway(&self, code: &str) -> ReadmissionServiceClient<Channel> {
        ReadmissionServiceClient::new(self.gateway_channel(code).await)
    }

    /// `code`'s admission service, called by its own gateway.
    pub async fn admission(&self, code: &str) -> AdmissionServiceClient<Channel> {
        self.admission_as(PeerIdentity::Gateway(state(code)), code)
            .await
    }

    /// `code`'s admission service, called with `identity`'s certificate: another state's
    /// gateway or node, as an authorization test needs.
    pub async fn admission_as(
        &self,
        identity: PeerIdentity,
        code: &str,
    ) -> AdmissionServiceClient<Channel> {
        let channel = self.channel_as(identity, code).await;
        AdmissionServiceClient::new(channel)
    }

    /// The audit rows of `code`'s node, oldest first.
    pub async fn audit(&self, code: &str) -> Vec<AuditRecord> {
        self.app(code).store().audit_log(1_000).await.unwrap()
    }

    /// Whether `code`'s node audited a call of a method whose full name ends with `method`.
    pub async fn audited(&self, code: &str, method: &str) -> bool {
        let audit = self.audit(code).await;
        audit
            .iter()
            .any(|record| record.operation.ends_with(method))
    }

    /// `code`'s readmission service, called with `identity`'s certificate: another state's
    /// gateway or node, or this state's own node certificate, as an impersonation test needs.
    pub async fn client_as(
        &self,
        identity: PeerIdentity,
        code: &str,
    ) -> ReadmissionServiceClient<Channel> {
        ReadmissionServiceClient::new(self.channel_as(identity, code).await)
    }

    /// `from`'s node certificate calling `to`'s node, as the partner delivery does.
    pub async fn node_client(&self, from: &str, to: &str) -> ReadmissionServiceClient<Channel> {
        self.client_as(PeerIdentity::Node(state(from)), to).await
    }

    /// `code`'s event-signing key, to sign events by hand (a forged or replayed delivery).
    pub fn signing_key(&self, code: &str) -> EventSigningKey {
        EventSigningKey::load(&self.pki.signing_key_path(state(code))).unwrap()
    }

    /// Runs one deadline sweep on `code`'s node now, at the clock's current time; returns
    /// how many deadline events it recorded. The background sweeper runs as well, so a
    /// test that expects an event waits for it rather than counting on this return.
    pub async fn sweep(&self, code: &str) -> usize {
        let sweeper = DeadlineSweeper {
            interval: Duration::from_millis(50),
            batch: 64,
        };
        sweeper.sweep(self.app(code).deadlines()).await
    }

    /// Issues an extra certificate (e.g. another state's gateway) and returns its identity.
    pub fn issue(&self, identity: PeerIdentity) -> PeerIdentity {
        let now = accord_trust::clock::wall_clock_now();
        self.pki
            .issue(
                &IssueRequest::new(identity.clone(), Validity::days_from(now, 30).unwrap()),
                true,
            )
            .unwrap();
        identity
    }

    pub fn database_path(&self, code: &str) -> PathBuf {
        self._folder.path().join(format!("{code}.db"))
    }
}

/// Waits until `condition` holds, checking every few milliseconds; fails after a timeout.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    let waited = tokio::time::timeout(CONDITION_TIMEOUT, async {
        loop {
            ticks.tick().await;
            if condition().await {
                return;
            }
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting until {what}");
}

/// Waits until `read` finds something, checking every few milliseconds; returns what it
/// found, or fails after a timeout.
pub async fn eventually_some<T, F, Fut>(what: &str, mut read: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let found = std::sync::Mutex::new(None);
    eventually(what, || {
        let next = read();
        let found = &found;
        async move {
            let value = next.await;
            let done = value.is_some();
            *found.lock().unwrap() = value;
            done
        }
    })
    .await;
    found.into_inner().unwrap().unwrap()
}

/// Waits until the copies that `read` finds on the two `states`' nodes satisfy `agree`;
/// returns the first state's copy.
pub async fn both_hold<'a, T, F, Fut>(
    what: &str,
    states: [&'a str; 2],
    read: F,
    agree: impl Fn(&T, &T) -> bool,
) -> T
where
    F: Fn(&'a str) -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_some(what, || async {
        let (first, second) = (read(states[0]).await?, read(states[1]).await?);
        agree(&first, &second).then_some(first)
    })
    .await
}
