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
use accord_proto::v1::membership_service_server::MembershipServiceServer;
use accord_trust::{EventSigningKey, Identity, PeerIdentity, TlsIncoming};
use tonic::server::NamedService;

use crate::app::{self, App};
use crate::config::CoordinatorConfig;
use crate::grpc::MembershipApi;
use crate::store::Store;

/// Why a coordinator could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A credential or key named by the configuration cannot be used; the source says why.
    #[error("configuration: {field}")]
    Credential {
        /// The configuration field that names it.
        field: String,
        /// Why it cannot be used.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The configuration contradicts the credentials it names.
    #[error("configuration: {0}")]
    Configuration(String),
    /// The database cannot be opened or migrated.
    #[error("the database cannot be opened or migrated")]
    Store(#[from] crate::store::Error),
    /// The stored directory cannot be read back or the first one published.
    #[error("the directory cannot be started")]
    Directory(#[source] app::Error),
    /// The port cannot be bound.
    #[error("listen")]
    Listen(#[source] accord_trust::listener::Error),
    /// The reflection service cannot be built from the descriptor sets.
    #[error("reflection")]
    Reflection(#[source] tonic_reflection::server::Error),
    /// The server failed while serving.
    #[error("serve")]
    Serve(#[source] tonic::transport::Error),
}

impl Error {
    /// Whether the configuration is at fault (exit code 64, before any port is bound).
    pub fn is_configuration(&self) -> bool {
        matches!(self, Self::Configuration(_) | Self::Credential { .. })
    }
}

/// A built coordinator, bound and ready to serve.
pub struct Coordinator {
    config: CoordinatorConfig,
    app: App,
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
        let identity = Identity::load(&config.tls.certificate, &config.tls.private_key)
            .map_err(credential("tls.certificate / tls.private_key"))?;
        let own_identity = identity
            .peer_identity()
            .map_err(credential("tls.certificate"))?;
        if own_identity != PeerIdentity::Coordinator {
            return Err(Error::Configuration(format!(
                "tls.certificate names {}, not the coordinator (spiffe://accord/coordinator)",
                own_identity.spiffe_id()
            )));
        }
        let ca = accord_trust::load_ca(&config.tls.ca).map_err(credential("tls.ca"))?;
        let crls = match &config.tls.crl {
            Some(path) => vec![accord_trust::load_crl(path).map_err(credential("tls.crl"))?],
            None => Vec::new(),
        };
        let signer = EventSigningKey::load(&config.tls.signing_key)
            .map_err(credential("tls.signing_key"))?;
        let server_config =
            accord_trust::server_config(&identity, &ca, &crls).map_err(credential("tls"))?;
        // The port before the database: a coordinator that cannot listen creates none.
        let incoming = match listener {
            Some(listener) => accord_trust::listen_on(listener, server_config),
            None => accord_trust::bind(config.listen_addr, server_config).await,
        }
        .map_err(Error::Listen)?;
        let store =
            Store::connect(&config.database_url, config.limits.database_connections).await?;
        let settings = app::Settings {
            endpoint: config.endpoint.clone(),
            page_size_max: config.limits.page_size_max,
            token_ttl_hours_max: config.enrolment.token_ttl_hours_max,
        };
        let app = App::start(store, clock, signer, settings)
            .await
            .map_err(Error::Directory)?;
        Ok(Self {
            config,
            app,
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
            incoming,
        } = self;
        let limits = &config.limits;
        let membership = MembershipServiceServer::new(MembershipApi::new(
            app.clone(),
            limits.directory_watchers_max,
        ))
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);
        let (health_reporter, health) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<MembershipServiceServer<MembershipApi>>()
            .await;
        let reflection = [SERVED, HEALTH, REFLECTION]
            .iter()
            .fold(
                tonic_reflection::server::Builder::configure()
                    .register_encoded_file_descriptor_set(accord_proto::FILE_DESCRIPTOR_SET)
                    .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET),
                |builder, service| builder.with_service_name(*service),
            )
            .build_v1()
            .map_err(Error::Reflection)?;
        tonic::transport::Server::builder()
            .timeout(Duration::from_millis(limits.request_timeout_ms))
            .concurrency_limit_per_connection(limits.max_concurrent_requests_per_connection)
            .max_concurrent_streams(limits.max_concurrent_streams)
            .layer(StatusContractLayer::new(
                app.clone(),
                limits.max_message_bytes,
            ))
            .add_service(membership)
            .add_service(health)
            .add_service(reflection)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
            .map_err(Error::Serve)
    }
}

/// The contract layer audits calls refused before any handler here, with the handlers'.
impl RefusalAudit for App {
    async fn audit_refusal(&self, peer: &str, operation: &str, outcome: &str, detail: &str) {
        App::audit_refusal(self, peer, operation, outcome, detail).await;
    }
}

/// Turns the failure to use the credential that `field` names into its error.
fn credential<E>(field: impl Into<String>) -> impl FnOnce(E) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let field = field.into();
    move |source| Error::Credential {
        field,
        source: Box::new(source),
    }
}

/// The Accord service the coordinator serves (the ledger and settlement come later).
const SERVED: &str = <MembershipServiceServer<MembershipApi> as NamedService>::NAME;

/// The standard services beside it.
const HEALTH: &str = "grpc.health.v1.Health";
const REFLECTION: &str = "grpc.reflection.v1.ServerReflection";
