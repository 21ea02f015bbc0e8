//! The coordinator's lifecycle, as the node's: [`Coordinator::build`] loads every
//! credential and binds the port (or [`Coordinator::build_with_listener`] takes a socket
//! bound beforehand, port 0 in tests), then opens the store (migrating it) and the current
//! directory; [`Coordinator::local_addr`] says where; [`Coordinator::run_until`] serves
//! until the shutdown future resolves, then drains in-flight requests. Reflection lists
//! exactly the services served here.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use accord_edge::clock::Clock;
use accord_edge::contract::{RefusalAudit, StatusContractLayer};
use accord_edge::serving::{
    self, Clients, ServerCredentials, StartError, TlsCredentials, credential,
};
use accord_proto::v1::ledger_service_server::LedgerServiceServer;
use accord_proto::v1::membership_service_server::MembershipServiceServer;
use accord_proto::v1::settlement_service_server::SettlementServiceServer;
use accord_trust::{PeerIdentity, ServerConfigHandle, TlsIncoming};
use tokio::sync::watch;
use tonic::server::NamedService;

use crate::app::ledger::Ledger;
use crate::app::settlement::Settlement;
use crate::app::{self, App, IssuingCa};
use crate::config::CoordinatorConfig;
use crate::convert::command::RevocationList;
use crate::grpc::{LedgerApi, MembershipApi, SettlementApi};
use crate::store::Store;
use accord_trust::pki::CertificateAuthority;

/// Why a coordinator could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Its credentials, its port or its reflection (what every server starts alike).
    #[error(transparent)]
    Start(#[from] StartError),
    /// The database cannot be opened or migrated.
    #[error("the database cannot be opened or migrated")]
    Store(#[from] crate::store::Error),
    /// The stored directory cannot be read back or the first one published.
    #[error("the directory cannot be started")]
    Directory(#[source] app::Error),
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

/// A built coordinator, bound and ready to serve.
pub struct Coordinator {
    config: CoordinatorConfig,
    app: App,
    ledger: Ledger,
    incoming: TlsIncoming,
}

impl Coordinator {
    /// Loads every credential, binds the listening port, then opens the store and the
    /// directory: a coordinator that cannot listen creates no database.
    pub async fn build(config: CoordinatorConfig, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        Self::build_on(config, clock, None).await
    }

    /// Like [`Coordinator::build`], but serves on `listener`, bound by the caller.
    pub async fn build_with_listener(
        config: CoordinatorConfig,
        clock: Arc<dyn Clock>,
        listener: std::net::TcpListener,
    ) -> Result<Self, Error> {
        Self::build_on(config, clock, Some(listener)).await
    }

    async fn build_on(
        config: CoordinatorConfig,
        clock: Arc<dyn Clock>,
        listener: Option<std::net::TcpListener>,
    ) -> Result<Self, Error> {
        let credentials = ServerCredentials::load(&config.tls, &PeerIdentity::Coordinator)?;
        // The port before the database: a coordinator that cannot listen creates none.
        let ServerCredentials { tls, signer } = credentials;
        let incoming = tls
            .listen(config.listen_addr, listener, Clients::CertifiedOrAnonymous)
            .await?;
        let store =
            Store::connect(&config.database_url, config.limits.database_connections).await?;
        let settings = app::Settings {
            endpoint: config.endpoint.clone(),
            page_size_max: config.limits.page_size_max,
            token_ttl_hours_max: config.enrolment.token_ttl_hours_max,
            failed_enrolments_per_minute: config.enrolment.failed_attempts_per_minute,
        };
        let issuing = issuing_ca(&config, &tls.crls)?;
        let app = App::start(store, clock, signer, issuing, settings)
            .await
            .map_err(Error::Directory)?;
        // From the first connection on, clients are checked against the issuing CA's list,
        // and each new list applies before the revocation that issued it is answered.
        apply_revocations(
            &app,
            &tls,
            &incoming.config_handle(),
            &app.revocation_list(),
        )?;
        let applier = {
            let (app_for_lists, tls) = (app.clone(), tls.clone());
            let handle = incoming.config_handle();
            move |list: &RevocationList| {
                if let Err(error) = apply_revocations(&app_for_lists, &tls, &handle, list) {
                    tracing::error!(
                        error = &error as &dyn std::error::Error,
                        "could not apply a new revocation list; the previous one stays"
                    );
                }
            }
        };
        app.apply_revocations_with(Box::new(applier));
        let origin = accord_trust::log::KeyName::parse(&config.ledger.origin)
            .map_err(|error| Error::Directory(app::Error::internal("naming the log", error)))?;
        let grace = accord_domain::Period::CalendarDays(config.ledger.grace_days);
        let ledger = Ledger::start(app.clone(), origin, grace)
            .await
            .map_err(Error::Directory)?;
        ledger.publish_head().await.map_err(Error::Directory)?;
        Ok(Self {
            config,
            app,
            ledger,
            incoming,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.incoming.local_addr()
    }

    /// The coordinator's use cases (for tests and tools in the same process).
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
            ledger,
            incoming,
        } = self;
        let reflection = serving::reflection(&SERVED).map_err(Error::Start)?;
        let (stop_revocations, stopped) = watch::channel(false);
        let revocations = tokio::spawn(keep_revocations_current(
            app.clone(),
            Duration::from_secs(u64::from(config.issuing.crl_hours) * 3600 / 8),
            stopped,
        ));
        let heads = tokio::spawn(publish_heads(
            ledger.clone(),
            Duration::from_millis(config.ledger.head_interval_ms),
            stop_revocations.subscribe(),
        ));
        let limits = &config.limits;
        // Watches end when the server stops; the drain would wait for them otherwise.
        let (stop_watches, watches_stopping) = watch::channel(false);
        let shutdown = async move {
            shutdown.await;
            let _ = stop_watches.send(true);
        };
        let settlement = SettlementServiceServer::new(SettlementApi::new(
            app.clone(),
            Settlement::new(app.clone(), ledger.clone()),
        ))
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
        let ledger_service = LedgerServiceServer::new(LedgerApi::new(
            app.clone(),
            ledger,
            watches_stopping.clone(),
        ))
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
        let membership = MembershipServiceServer::new(MembershipApi::new(
            app.clone(),
            limits.directory_watchers_max,
            watches_stopping,
        ))
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
        let (health_reporter, health) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<MembershipServiceServer<MembershipApi>>()
            .await;
        health_reporter
            .set_serving::<LedgerServiceServer<LedgerApi>>()
            .await;
        health_reporter
            .set_serving::<SettlementServiceServer<SettlementApi>>()
            .await;
        let served = tonic::transport::Server::builder()
            .timeout(Duration::from_millis(limits.request_timeout_ms))
            .concurrency_limit_per_connection(limits.max_concurrent_requests_per_connection)
            .max_concurrent_streams(limits.max_concurrent_streams)
            .layer(StatusContractLayer::new(
                app.clone(),
                limits.max_message_bytes,
            ))
            .add_service(membership)
            .add_service(ledger_service)
            .add_service(settlement)
            .add_service(health)
            .add_service(reflection)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await;
        let _ = stop_revocations.send(true);
        let _ = revocations.await;
        let _ = heads.await;
        served.map_err(Error::Serve)
    }
}

/// The contract layer audits calls refused before any handler here, with the handlers'.
impl RefusalAudit for App {
    async fn audit_refusal(&self, peer: &str, operation: &str, outcome: &str, detail: &str) {
        App::audit_refusal(self, peer, operation, outcome, detail).await;
    }
}

/// The issuing CA the configuration names, with its chain and the root.
fn issuing_ca(
    config: &CoordinatorConfig,
    configured_crls: &[accord_trust::Crl],
) -> Result<IssuingCa, StartError> {
    let read = |path: &std::path::Path, field: &str| {
        std::fs::read_to_string(path).map_err(credential(field))
    };
    let chain_pem = read(&config.issuing.certificate, "issuing.certificate")?;
    let key_pem = read(&config.issuing.private_key, "issuing.private_key")?;
    let root_pem = read(&config.tls.ca, "tls.ca")?;
    // The root itself, or an issuing CA below it (`accord pki issuing-ca`), checked against
    // the root the coordinator trusts.
    let authority = match CertificateAuthority::from_pem(&chain_pem, &key_pem) {
        Err(accord_trust::pki::Error::NotRoot) => {
            CertificateAuthority::issuing_from_pem(&chain_pem, &key_pem, &root_pem)
        }
        loaded => loaded,
    }
    .map_err(credential("issuing.certificate / issuing.private_key"))?;
    // A root that issues directly adds nothing to its members' chains.
    let chain_pem = authority.chain_pem().to_owned();
    let mut earlier_revocations = Vec::new();
    let mut other_crls = Vec::new();
    for crl in configured_crls {
        if authority.issued(crl).map_err(credential("tls.crl"))? {
            earlier_revocations.extend(crl.revocations().map_err(credential("tls.crl"))?);
        } else {
            other_crls.push(crl.clone());
        }
    }
    Ok(IssuingCa {
        authority,
        chain_pem,
        root_pem,
        certificate_days: config.issuing.certificate_days,
        crl_hours: config.issuing.crl_hours,
        earlier_revocations,
        other_crls,
    })
}

/// Makes `list` the one new connections are checked against.
fn apply_revocations(
    app: &App,
    tls: &TlsCredentials,
    handle: &ServerConfigHandle,
    list: &RevocationList,
) -> Result<(), StartError> {
    let config = tls.server_config(Clients::CertifiedOrAnonymous, &app.crls_for_tls(list))?;
    handle.replace(config);
    Ok(())
}

/// Has the next revocation list issued before the current one's life is half over (each
/// one applies as it is issued), until `stopped`.
/// Publishes a tree head every `interval` while the log grows, until `stopped` turns true.
/// A failure is logged and tried again at the next tick: heads are derived from the
/// committed log, so a missed one loses nothing.
async fn publish_heads(ledger: Ledger, interval: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stopped.borrow_and_update() {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => break,
        }
        if let Err(error) = ledger.publish_head().await {
            tracing::error!(
                error = &error as &dyn std::error::Error,
                "could not publish a tree head; trying again"
            );
        }
    }
}

async fn keep_revocations_current(
    app: App,
    refresh_every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut refresh = tokio::time::interval(refresh_every.max(Duration::from_secs(1)));
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = refresh.tick() => {
                if let Err(error) = app.refresh_revocation_list().await {
                    tracing::error!(
                        error = &error as &dyn std::error::Error,
                        "could not issue the next revocation list"
                    );
                }
            }
        }
    }
}

/// The Accord service the coordinator serves (the ledger and settlement come later).
const SERVED: [&str; 3] = [
    <MembershipServiceServer<MembershipApi> as NamedService>::NAME,
    <LedgerServiceServer<LedgerApi> as NamedService>::NAME,
    <SettlementServiceServer<SettlementApi> as NamedService>::NAME,
];
