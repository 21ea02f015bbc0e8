//! The node's lifecycle: [`Node::build`] loads every credential and binds the port (or
//! [`Node::build_with_listener`] takes a socket bound beforehand, port 0 in tests),
//! [`Node::local_addr`] says where, and [`Node::run_until`] serves until the
//! shutdown future resolves, then drains in-flight requests, stops the dispatcher, the
//! deadline sweeper, the CRL watch (`revocation`), and with `[coordinator]` the directory
//! watch (`directory`), the revocation list watch (`revocation::live`, whose stored list
//! is applied before the node serves) and the ledger's reporter and witness (`ledger`), and
//! closes the store. Reflection lists exactly the
//! services served here.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use accord_domain::Timestamp;
use accord_domain::parity::ParityLimit;
use accord_edge::contract::StatusContractLayer;
use accord_edge::serving::{self, Clients, ServerCredentials, StartError, credential};
use accord_proto::v1::admission_service_server::AdmissionServiceServer;
use accord_proto::v1::ledger_service_client::LedgerServiceClient;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_proto::v1::readmission_service_server::ReadmissionServiceServer;
use accord_proto::v1::settlement_service_client::SettlementServiceClient;
use accord_trust::{
    ClientTls, EventVerifyingKey, Identity, PeerIdentity, PeerIdentityLayer, TlsIncoming,
};
use tokio::sync::watch;
use tonic::server::NamedService;

use crate::app::{App, Backoff, DeadlineSweeper, Deliveries, Dispatcher, LogClock, PartnerLink};
use crate::clock::Clock;
use crate::config::{Coordinator, NodeConfig};
use crate::courier::GrpcCourier;
use crate::directory::{DirectoryWatch, Follower, FollowerParts, TlsFor};
use crate::grpc::admission::AdmissionApi;
use crate::grpc::readmission::ReadmissionApi;
use crate::ledger::{LedgerCaseLog, LedgerLink, Reporter, Witness};
use crate::revocation::live::{ClientConfigCell, LiveParts, LiveRevocations, RevocationListWatch};
use crate::revocation::{self, CrlWatch};
use crate::settlement::Settler;
use crate::store::Store;

/// Why a node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Its credentials, its port or its reflection (what every server starts alike).
    #[error(transparent)]
    Start(#[from] StartError),
    /// The database cannot be opened or migrated.
    #[error("the database cannot be opened or migrated")]
    Store(#[from] crate::store::Error),
    /// The server failed while serving.
    #[error("serve")]
    Serve(#[source] tonic::transport::Error),
}

impl Error {
    /// Whether the configuration is at fault (exit code 64, before any port is bound).
    pub fn is_configuration(&self) -> bool {
        matches!(self, Self::Start(start) if start.is_configuration())
    }
}

/// A built node, bound and ready to serve.
pub struct Node {
    config: NodeConfig,
    app: App,
    /// The outbox's delivery to partner nodes (the dispatcher's context).
    deliveries: Deliveries,
    incoming: TlsIncoming,
    /// The earliest `nextUpdate` of the CRLs in use, watched while serving (`revocation`).
    crl_next_update: watch::Receiver<Option<Timestamp>>,
    /// The coordinator's directory, followed while serving (`[coordinator]` only).
    directory: Option<DirectoryWatch>,
    /// The coordinator's revocation list, fetched while serving (`[coordinator]` only).
    revocations: Option<RevocationListWatch>,
    /// The ledger's reporter and witness, and the settler (`[coordinator]` only).
    ledger: Option<(Reporter, Witness, Settler)>,
}

impl Node {
    /// Loads every credential (refusing an expired CRL on `clock`), binds the listening
    /// port, then opens the store (migrating it): a node that cannot listen creates no
    /// database.
    pub async fn build(config: NodeConfig, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        Self::build_on(config, clock, None).await
    }

    /// Like [`Node::build`], but serves on `listener`, bound by the caller, instead of
    /// binding `config.listen_addr`: for nodes that must know each other's addresses before
    /// any of them is built (tests bind every node's port 0 first and keep the sockets, so no
    /// other process can take a port between its choice and its use).
    pub async fn build_with_listener(
        config: NodeConfig,
        clock: Arc<dyn Clock>,
        listener: std::net::TcpListener,
    ) -> Result<Self, Error> {
        Self::build_on(config, clock, Some(listener)).await
    }

    async fn build_on(
        config: NodeConfig,
        clock: Arc<dyn Clock>,
        listener: Option<std::net::TcpListener>,
    ) -> Result<Self, Error> {
        let credentials = ServerCredentials::load(&config.tls, &PeerIdentity::Node(config.state))?;
        let crl_next_update =
            revocation::next_update(&credentials.tls.crls).map_err(credential("tls.crl"))?;
        revocation::check_current(crl_next_update, clock.now()).map_err(credential("tls.crl"))?;
        let (partners, courier) =
            partner_links(&config, &credentials.tls.identity, &credentials.tls.ca)?;
        let coordinator = config
            .coordinator
            .as_ref()
            .map(|coordinator| coordinator_link(coordinator, &credentials, &config))
            .transpose()?;
        // The port before the database: a node that cannot listen creates no database.
        let incoming = credentials
            .tls
            .listen(config.listen_addr, listener, Clients::Certified)
            .await?;
        let store = Store::connect(&config.database_url, config.limits.database_connections)
            .await?
            .with_audit_cap(config.limits.audit_rows_per_caller_per_minute);
        let partner_states = partners.iter().map(|partner| partner.state).collect();
        let deliveries = Deliveries::new(
            config.state,
            store.clone(),
            clock.clone(),
            partner_states,
            Arc::new(courier.clone()),
        );
        let app = App::new(
            config.state,
            store,
            clock.clone(),
            credentials.signer,
            partners,
            config.limits.page_size_max,
        );
        let (directory, revocations, ledger) = match coordinator {
            Some(link) => {
                let ledger = link.ledger(&app);
                app.follow_log_clock(LogClock::new(
                    link.key,
                    Arc::new(LedgerCaseLog::new(link.ledger.clone())),
                ));
                let follower = Follower::new(FollowerParts {
                    coordinator_key: link.key,
                    app: app.clone(),
                    deliveries: deliveries.clone(),
                    courier,
                    tls_for: link.tls_for.clone(),
                    max_message_bytes: config.limits.max_message_bytes,
                    clock: clock.clone(),
                });
                let live = LiveRevocations::new(LiveParts {
                    tls: credentials.tls.clone(),
                    server: incoming.config_handle(),
                    client: link.client_config.clone(),
                    store: app.store().clone(),
                    clock,
                })
                .map_err(credential("tls.crl"))?;
                // The last list kept: revoked peers stay refused while it is unreachable.
                live.restore().await?;
                // The last directory kept: the partners while the coordinator is unreachable,
                // their channels checked against the list just restored.
                if follower.restore().await?.is_none()
                    && let Some(path) = config
                        .coordinator
                        .as_ref()
                        .and_then(|coordinator| coordinator.first_directory.as_ref())
                {
                    // A first start: what `accord join` received, checked like any version.
                    let signed =
                        std::fs::read(path).map_err(credential("coordinator.first_directory"))?;
                    let _ = follower.offer(signed).await;
                }
                let (directory, revocations) = link.watches(follower, live);
                (Some(directory), Some(revocations), Some(ledger))
            }
            None => (None, None, None),
        };
        let crl_next_update = match &revocations {
            Some(watch) => watch.revocations.next_update(),
            None => watch::channel(crl_next_update).1,
        };
        Ok(Self {
            config,
            app,
            deliveries,
            incoming,
            crl_next_update,
            directory,
            revocations,
            ledger,
        })
    }

    /// The ledger's witness, when the node follows a coordinator.
    pub fn witness(&self) -> Option<Witness> {
        self.ledger.as_ref().map(|(_, witness, _)| witness.clone())
    }

    /// The coordinator's revocation list as the node applies it, when it follows one.
    pub fn revocations(&self) -> Option<LiveRevocations> {
        self.revocations
            .as_ref()
            .map(|watch| watch.revocations.clone())
    }

    /// The directory follower, when the partners come from the coordinator.
    pub fn directory(&self) -> Option<Follower> {
        self.directory.as_ref().map(|watch| watch.follower.clone())
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.incoming.local_addr()
    }

    /// The node's use cases (for tests and tools in the same process).
    pub fn app(&self) -> App {
        self.app.clone()
    }

    /// Serves until `shutdown` resolves, then drains and stops.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let Self {
            config,
            app,
            deliveries,
            incoming,
            crl_next_update,
            directory,
            revocations,
            ledger,
        } = self;
        let (stop_workers, workers_stopped) = watch::channel(false);
        let dispatcher = Dispatcher {
            backoff: Backoff {
                initial: Duration::from_millis(config.delivery.initial_backoff_ms),
                ceiling: Duration::from_millis(config.delivery.max_backoff_ms),
            },
            poll_interval: Duration::from_millis(config.delivery.poll_interval_ms),
            max_in_flight: config.delivery.max_in_flight,
            attempt_timeout: Duration::from_millis(config.delivery.attempt_timeout_ms),
        };
        let dispatcher_task = tokio::spawn(dispatcher.run(
            deliveries,
            app.store().outbox_written(),
            workers_stopped.clone(),
        ));
        let coordinator_tasks =
            follow_coordinator(directory, revocations, ledger, &workers_stopped);
        let sweeper = DeadlineSweeper {
            interval: Duration::from_millis(config.deadlines.sweep_interval_ms),
            batch: config.deadlines.sweep_batch,
        };
        let sweeper_task =
            tokio::spawn(sweeper.run(app.deadlines().clone(), workers_stopped.clone()));

        let limits = &config.limits;
        let readmission = ReadmissionServiceServer::new(ReadmissionApi::new(app.clone()))
            .max_decoding_message_size(limits.max_message_bytes)
            .max_encoding_message_size(limits.max_message_bytes);
        let admission = AdmissionServiceServer::new(AdmissionApi::new(app.clone()))
            .max_decoding_message_size(limits.max_message_bytes)
            .max_encoding_message_size(limits.max_message_bytes);
        let (health_reporter, health) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<ReadmissionServiceServer<ReadmissionApi>>()
            .await;
        health_reporter
            .set_serving::<AdmissionServiceServer<AdmissionApi>>()
            .await;
        let crl_watch = CrlWatch {
            next_update: crl_next_update,
            interval: Duration::from_millis(config.deadlines.sweep_interval_ms),
            services: SERVED.to_vec(),
        };
        let crl_task = tokio::spawn(crl_watch.run(
            app.clone(),
            health_reporter.clone(),
            workers_stopped.clone(),
        ));
        let reflection = serving::reflection(&SERVED).map_err(Error::Start)?;
        let served = tonic::transport::Server::builder()
            .timeout(Duration::from_millis(limits.request_timeout_ms))
            .concurrency_limit_per_connection(limits.max_concurrent_requests_per_connection)
            .max_concurrent_streams(limits.max_concurrent_streams)
            // Outermost first: the contract layer sees the identity layer's refusals too.
            .layer(StatusContractLayer::new(
                app.clone(),
                limits.max_message_bytes,
            ))
            .layer(PeerIdentityLayer::new())
            .add_service(readmission)
            .add_service(admission)
            .add_service(health)
            .add_service(reflection)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await;
        let _ = stop_workers.send(true);
        let _ = dispatcher_task.await;
        let _ = sweeper_task.await;
        let _ = crl_task.await;
        for task in coordinator_tasks {
            let _ = task.await;
        }
        served.map_err(Error::Serve)
    }
}

/// The Accord services a node serves.
const SERVED: [&str; 2] = [
    <ReadmissionServiceServer<ReadmissionApi> as NamedService>::NAME,
    <AdmissionServiceServer<AdmissionApi> as NamedService>::NAME,
];

/// What the node knows of each configured partner, and the courier that reaches their nodes.
fn partner_links(
    config: &NodeConfig,
    identity: &Identity,
    ca: &accord_trust::CaBundle,
) -> Result<(Vec<PartnerLink>, GrpcCourier), StartError> {
    let mut courier = GrpcCourier::new();
    let mut links = Vec::with_capacity(config.partners.len());
    for (index, partner) in config.partners.iter().enumerate() {
        {
            let field = |name: &str| format!("partners[{index}].{name}");
            let verifying_key = EventVerifyingKey::load(&partner.signing_public_key)
                .map_err(credential(field("signing_public_key")))?;
            let tls = ClientTls::new(identity, ca, &partner.server_name)
                .map_err(credential(field("server_name")))?
                .expect_peer(PeerIdentity::Node(partner.state));
            let channel = accord_trust::connect_lazy(&partner.endpoint, &tls)
                .map_err(credential(field("endpoint")))?;
            courier = courier.with_partner(partner.state, channel, config.limits.max_message_bytes);
            links.push(PartnerLink {
                state: partner.state,
                verifying_key,
                parity_limit: partner.parity_limit.map(ParityLimit),
                regimes: partner.regimes.clone(),
            });
        }
    }
    Ok((links, courier))
}

/// Starts the tasks that follow the coordinator (`[coordinator]` only): its directory, its
/// revocation list, the ledger's reporter and witness, and the settler, each until
/// `stopped` turns true.
fn follow_coordinator(
    directory: Option<DirectoryWatch>,
    revocations: Option<RevocationListWatch>,
    ledger: Option<(Reporter, Witness, Settler)>,
    stopped: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if let Some(watch) = directory {
        tasks.push(tokio::spawn(watch.run(stopped.clone())));
    }
    if let Some(watch) = revocations {
        tasks.push(tokio::spawn(watch.run(stopped.clone())));
    }
    if let Some((reporter, witness, settler)) = ledger {
        tasks.push(tokio::spawn(reporter.run(stopped.clone())));
        tasks.push(tokio::spawn(witness.run(stopped.clone())));
        tasks.push(tokio::spawn(settler.run(stopped.clone())));
    }
    tasks
}

/// What the node needs to follow the coordinator's directory and revocation list.
struct CoordinatorLink {
    key: EventVerifyingKey,
    client: MembershipServiceClient<tonic::transport::Channel>,
    /// Its `LedgerService`, on the same channel.
    ledger: LedgerServiceClient<tonic::transport::Channel>,
    /// Its `SettlementService`, on the same channel.
    settlement: SettlementServiceClient<tonic::transport::Channel>,
    ledger_interval: Duration,
    tls_for: TlsFor,
    /// The client configuration `tls_for` uses, replaced with each new revocation list.
    client_config: ClientConfigCell,
    reconnect_initial: Duration,
    reconnect_max: Duration,
}

impl CoordinatorLink {
    /// The ledger's reporter and witness, and the settler, for `app`.
    fn ledger(&self, app: &App) -> (Reporter, Witness, Settler) {
        let link = LedgerLink {
            client: self.ledger.clone(),
            app: app.clone(),
            coordinator_key: self.key,
            backoff: Backoff {
                initial: self.reconnect_initial,
                ceiling: self.reconnect_max,
            },
            interval: self.ledger_interval,
        };
        let settler = Settler::new(link.clone(), self.settlement.clone());
        (Reporter::new(link.clone()), Witness::new(link), settler)
    }

    /// The background tasks that follow the coordinator, each reconnecting with back-off.
    fn watches(
        self,
        follower: Follower,
        live: LiveRevocations,
    ) -> (DirectoryWatch, RevocationListWatch) {
        let backoff = Backoff {
            initial: self.reconnect_initial,
            ceiling: self.reconnect_max,
        };
        let revocations = RevocationListWatch {
            revocations: live,
            client: self.client.clone(),
            directory: follower.applied(),
            backoff,
        };
        let directory = DirectoryWatch {
            follower,
            client: self.client,
            backoff,
        };
        (directory, revocations)
    }
}

/// The coordinator's key, a client of its `MembershipService` over mTLS with this node's
/// certificate (the coordinator must present `spiffe://accord/coordinator`), and the client
/// TLS for the partners its directory will name.
fn coordinator_link(
    coordinator: &Coordinator,
    credentials: &ServerCredentials,
    config: &NodeConfig,
) -> Result<CoordinatorLink, StartError> {
    let key = EventVerifyingKey::load(&coordinator.signing_public_key)
        .map_err(credential("coordinator.signing_public_key"))?;
    let tls = ClientTls::new(
        &credentials.tls.identity,
        &credentials.tls.ca,
        &coordinator.server_name,
    )
    .map_err(credential("coordinator.server_name"))?
    .expect_peer(PeerIdentity::Coordinator);
    let channel = accord_trust::connect_lazy(&coordinator.endpoint, &tls)
        .map_err(credential("coordinator.endpoint"))?;
    let settlement = SettlementServiceClient::new(channel.clone())
        .max_decoding_message_size(config.limits.max_message_bytes)
        .max_encoding_message_size(config.limits.max_message_bytes);
    let ledger = LedgerServiceClient::new(channel.clone())
        .max_decoding_message_size(config.limits.max_message_bytes)
        .max_encoding_message_size(config.limits.max_message_bytes);
    let client = MembershipServiceClient::new(channel)
        .max_decoding_message_size(config.limits.max_message_bytes)
        .max_encoding_message_size(config.limits.max_message_bytes);
    // Partners are checked against the CRLs in use, from the configured ones until the
    // coordinator's list is applied (`revocation::live`).
    let client_config = ClientConfigCell::new(
        accord_trust::tls::client_config_with_crls(
            &credentials.tls.identity,
            &credentials.tls.ca,
            &credentials.tls.crls,
        )
        .map_err(credential("tls.certificate"))?,
    );
    let cell = client_config.clone();
    let tls_for: TlsFor = Arc::new(move |server_name, peer| {
        Ok(ClientTls::from_config(cell.current(), server_name)?.expect_peer(peer))
    });
    Ok(CoordinatorLink {
        key,
        client,
        ledger,
        settlement,
        ledger_interval: coordinator.ledger_interval,
        tls_for,
        client_config,
        reconnect_initial: coordinator.reconnect_initial,
        reconnect_max: coordinator.reconnect_max,
    })
}
