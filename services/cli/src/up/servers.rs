//! The federation's servers, run in this process: each is built on a socket bound
//! beforehand (and kept: no other process can take the port between its choice and its
//! use), served on its own task until one shutdown signal, and checked with
//! `grpc.health.v1` over mTLS before the federation counts as up.
//!
//! A [`Component`] is one kind of server and its configuration; [`Servers`] is every server
//! started so far, stopped in the reverse order (a server stops before those it depends on). What each component listens on and is called with is
//! decided by the caller (`super`), which also records it.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use accord_coordinator::config::RawConfig as RawCoordinatorConfig;
use accord_coordinator::config::RawIssuing;
use accord_coordinator::joining::JoinedFolder;
use accord_coordinator::server::Coordinator;
use accord_domain::StateCode;
use accord_edge::clock::Clock;
use accord_edge::settings::RawTls;
use accord_gateway::config::{
    RawConfig as RawGatewayConfig, RawNode as RawGatewayNode, RawTls as RawGatewayTls, RawToken,
};
use accord_gateway::server::Gateway;
use accord_node::config::{RawConfig as RawNodeConfig, RawCoordinator};
use accord_node::server::Node;
use accord_trust::PeerIdentity;
use tokio::sync::oneshot;
use tokio::task::{self, JoinSet};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::credentials::{self, CERTIFICATE_DAYS, Pki};
use super::folder::Folder;

/// How long the servers may take to drain at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long a server may take to answer its first health check.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);

/// The wait between two health checks of a server not yet serving.
const HEALTH_RETRY: Duration = Duration::from_millis(100);

/// Why a server could not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration `accord up` wrote was refused (a fault of `accord up`).
    #[error("the configuration of {0}")]
    Configuration(String, #[source] accord_edge::settings::Error),
    /// The coordinator could not start.
    #[error("the coordinator")]
    Coordinator(#[source] accord_coordinator::server::Error),
    /// A node could not start.
    #[error("the node of {0}")]
    Node(StateCode, #[source] accord_node::server::Error),
    /// A gateway could not start.
    #[error("the {0}")]
    Gateway(String, #[source] accord_gateway::server::Error),
    /// A server did not answer its health check in time.
    #[error("{0} did not answer its health check within {1:?}: {2}")]
    Unhealthy(String, Duration, String),
    /// A server stopped with an error while serving.
    #[error("{0} stopped: {1}")]
    Stopped(String, String),
    /// A client of a server could not be made.
    #[error(transparent)]
    Client(#[from] credentials::Error),
    /// A socket bound for a server cannot say its address.
    #[error("a server's socket")]
    Socket(#[source] std::io::Error),
    /// A folder for a store could not be made.
    #[error("{0}")]
    Folder(PathBuf, #[source] std::io::Error),
}

/// One server of the federation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The coordinator: membership, the ledger, settlement.
    Coordinator,
    /// A state's node.
    Node(StateCode),
    /// A state's gateway (HTTP, in front of its node).
    Gateway(StateCode),
    /// The coordinator's gateway (HTTP, for its operators and diplomats).
    CoordinatorGateway,
}

impl Component {
    /// Its name in messages and in the table `accord up` prints.
    pub fn name(self) -> String {
        match self {
            Self::Coordinator => "coordinator".to_owned(),
            Self::Node(state) => format!("node {state}"),
            Self::Gateway(state) => format!("gateway {state}"),
            Self::CoordinatorGateway => "coordinator's gateway".to_owned(),
        }
    }

    /// Who its certificate names.
    fn identity(self) -> PeerIdentity {
        match self {
            Self::Coordinator | Self::CoordinatorGateway => PeerIdentity::Coordinator,
            Self::Node(state) | Self::Gateway(state) => PeerIdentity::Node(state),
        }
    }
}

/// What a server's task ends with.
type Served = (Component, Result<(), String>);

/// The time the servers keep, and what depends on how it moves.
#[derive(Clone)]
pub struct Timing {
    /// The servers' clock: the system's for `accord up`, a scenario's for `accord demo`.
    pub clock: Arc<dyn Clock>,
    /// The life of the coordinator's revocation lists in hours; `None` for its default. A
    /// scenario's clock jumps days at a time, further than a default list lives.
    pub crl_hours: Option<u32>,
}

impl std::fmt::Debug for Timing {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Timing")
            .field("now", &self.clock.now())
            .field("crl_hours", &self.crl_hours)
            .finish()
    }
}

/// Every server started, in the order started, each with the signal that stops it.
pub struct Servers {
    started: Vec<(Component, oneshot::Sender<()>, task::Id)>,
    running: JoinSet<Served>,
    timing: Timing,
}

impl Servers {
    /// None yet; those to come keep `timing`.
    pub fn new(timing: Timing) -> Self {
        Self {
            started: Vec::new(),
            running: JoinSet::new(),
            timing,
        }
    }

    /// Builds the coordinator on `listener` and serves it.
    pub async fn start_coordinator(
        &mut self,
        folder: &Folder,
        pki: &Pki,
        listener: TcpListener,
    ) -> Result<(), Error> {
        let address = listener.local_addr().map_err(Error::Socket)?;
        let config = coordinator_config(folder, pki, address, self.timing.crl_hours)?;
        let clock = Arc::clone(&self.timing.clock);
        let coordinator = Coordinator::build_with_listener(config, clock, listener)
            .await
            .map_err(Error::Coordinator)?;
        self.spawn(Component::Coordinator, |shutdown| {
            Box::pin(coordinator.run_until(shutdown))
        });
        Ok(())
    }

    /// Builds `state`'s node on `listener`, following the coordinator at `coordinator`, and
    /// serves it.
    pub async fn start_node(
        &mut self,
        folder: &Folder,
        state: StateCode,
        coordinator: SocketAddr,
        listener: TcpListener,
    ) -> Result<(), Error> {
        let component = Component::Node(state);
        let address = listener.local_addr().map_err(Error::Socket)?;
        let config = node_config(folder, state, address, coordinator)?;
        let clock = Arc::clone(&self.timing.clock);
        let node = Node::build_with_listener(config, clock, listener)
            .await
            .map_err(|error| Error::Node(state, error))?;
        self.spawn(component, |shutdown| Box::pin(node.run_until(shutdown)));
        Ok(())
    }

    /// Builds `state`'s gateway on `listener`, in front of its node at `node`, answering
    /// `tokens` (role and secret), and serves it.
    pub async fn start_gateway(
        &mut self,
        folder: &Folder,
        state: StateCode,
        node: SocketAddr,
        tokens: &BTreeMap<String, String>,
        listener: TcpListener,
    ) -> Result<(), Error> {
        let component = Component::Gateway(state);
        let address = listener.local_addr().map_err(Error::Socket)?;
        let config = gateway_config(folder, state, address, node, tokens)?;
        self.serve_gateway(component, config, listener).await
    }

    /// Builds the coordinator's gateway on `listener`, calling the coordinator at
    /// `coordinator` as the federation's operator, answering `tokens`, and serves it.
    pub async fn start_coordinator_gateway(
        &mut self,
        pki: &Pki,
        coordinator: SocketAddr,
        tokens: &BTreeMap<String, String>,
        listener: TcpListener,
    ) -> Result<(), Error> {
        let component = Component::CoordinatorGateway;
        let address = listener.local_addr().map_err(Error::Socket)?;
        let config = RawGatewayConfig {
            state: None,
            listen_addr: Some(address.to_string()),
            node: None,
            coordinator: Some(RawGatewayNode {
                endpoint: Some(format!("https://{coordinator}")),
                server_name: Some("127.0.0.1".to_owned()),
            }),
            tls: Some(RawGatewayTls {
                ca: Some(pki.ca_cert.clone()),
                certificate: Some(pki.operator_cert.clone()),
                private_key: Some(pki.operator_key.clone()),
            }),
            tokens: raw_tokens(tokens),
        }
        .validate()
        .map_err(|error| Error::Configuration(component.name(), error))?;
        self.serve_gateway(component, config, listener).await
    }

    async fn serve_gateway(
        &mut self,
        component: Component,
        config: accord_gateway::config::GatewayConfig,
        listener: TcpListener,
    ) -> Result<(), Error> {
        let gateway = Gateway::build_with_listener(config, listener)
            .await
            .map_err(|error| Error::Gateway(component.name(), error))?;
        self.spawn(component, |shutdown| Box::pin(gateway.run_until(shutdown)));
        Ok(())
    }

    /// Waits until `component`, a gateway at `address`, answers `GET /openapi.json` with 200.
    pub async fn wait_gateway(component: Component, address: SocketAddr) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + HEALTH_TIMEOUT;
        loop {
            let last = match http_status(address, "/openapi.json").await {
                Ok(200) => return Ok(()),
                Ok(status) => format!("HTTP {status}"),
                Err(error) => error.to_string(),
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Unhealthy(component.name(), HEALTH_TIMEOUT, last));
            }
            tokio::time::sleep(HEALTH_RETRY).await;
        }
    }

    /// Waits until `component`, at `address`, answers its health check as SERVING, called
    /// over mTLS with `client` (certificate and key).
    pub async fn wait_healthy(
        component: Component,
        address: SocketAddr,
        ca_cert: &Path,
        client: (&Path, &Path),
    ) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + HEALTH_TIMEOUT;
        loop {
            let last = match check(component, address, ca_cert, client).await {
                Ok(ServingStatus::Serving) => return Ok(()),
                Ok(status) => format!("{status:?}"),
                Err(error) => error,
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Unhealthy(component.name(), HEALTH_TIMEOUT, last));
            }
            tokio::time::sleep(HEALTH_RETRY).await;
        }
    }

    /// Resolves when a server stops on its own (they only stop when told, unless they
    /// fail), with what it said.
    pub async fn stopped(&mut self) -> Error {
        match self.running.join_next().await {
            Some(Ok((component, Err(error)))) => Error::Stopped(component.name(), error),
            Some(Ok((component, Ok(())))) => {
                Error::Stopped(component.name(), "it stopped serving".to_owned())
            }
            Some(Err(error)) => Error::Stopped("a server".to_owned(), error.to_string()),
            None => std::future::pending().await,
        }
    }

    /// Stops the servers one by one, the last started first (nodes, which follow the
    /// coordinator, before it), each drained before the next is told; the first error any
    /// reported, if one did. Servers still draining after [`SHUTDOWN_GRACE`] in all (a client
    /// that keeps its connection open and never answers the server's goodbye) are stopped
    /// there, in-flight work cut off: every change a server answered is committed already.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        let mut first_error = None;
        while let Some((component, stop, id)) = self.started.pop() {
            let _ = stop.send(());
            let drained =
                tokio::time::timeout_at(deadline, drain(&mut self.running, id, &mut first_error))
                    .await;
            if drained.is_err() {
                eprintln!(
                    "accord up: {} still draining after {SHUTDOWN_GRACE:?}: stopped without \
                     waiting more",
                    component.name()
                );
                self.running.abort_all();
                while self.running.join_next().await.is_some() {}
                break;
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn spawn<E: std::error::Error + Send + 'static>(
        &mut self,
        component: Component,
        serve: impl FnOnce(Shutdown) -> BoxedServe<E>,
    ) {
        let (stop, stopped) = oneshot::channel();
        // Told, or the sender gone with `Servers`: either way, stop.
        let shutdown: Shutdown = Box::pin(async move {
            let _ = stopped.await;
        });
        let serve = serve(shutdown);
        let handle = self.running.spawn(async move {
            let outcome = serve
                .await
                .map_err(|error| crate::error_text::with_sources(&error));
            (component, outcome)
        });
        self.started.push((component, stop, handle.id()));
    }
}

/// What resolves when a server is to stop.
type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A server serving until its [`Shutdown`].
type BoxedServe<E> = Pin<Box<dyn Future<Output = Result<(), E>> + Send>>;

/// Waits until the task `id` ends (or every task did), keeping the first error of those
/// that end meanwhile.
async fn drain(running: &mut JoinSet<Served>, id: task::Id, first_error: &mut Option<Error>) {
    while let Some(joined) = running.join_next_with_id().await {
        let (ended, outcome) = match joined {
            Ok((ended, served)) => (ended, Ok(served)),
            Err(error) => (error.id(), Err(error)),
        };
        if let Some(error) = failure(outcome) {
            first_error.get_or_insert(error);
        }
        if ended == id {
            return;
        }
    }
}

/// What a server's task ended with, if it was an error.
fn failure(joined: Result<Served, task::JoinError>) -> Option<Error> {
    match joined {
        Ok((_, Ok(()))) => None,
        Ok((component, Err(error))) => Some(Error::Stopped(component.name(), error)),
        Err(error) => Some(Error::Stopped("a server".to_owned(), error.to_string())),
    }
}

/// One health check of the overall status (service `""`), as grpc_health_probe asks it.
async fn check(
    component: Component,
    address: SocketAddr,
    ca_cert: &Path,
    client: (&Path, &Path),
) -> Result<ServingStatus, String> {
    let channel = credentials::channel(ca_cert, client, address, component.identity())
        .await
        .map_err(|error| crate::error_text::with_sources(&error))?;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map_err(|status| format!("{:?}: {}", status.code(), status.message()))?;
    Ok(answer.into_inner().status())
}

/// The coordinator's configuration: the root issues members' certificates, SQLite under
/// `DIR/coordinator/`, its revocation lists living `crl_hours` (`None`: its default).
fn coordinator_config(
    folder: &Folder,
    pki: &Pki,
    address: SocketAddr,
    crl_hours: Option<u32>,
) -> Result<accord_coordinator::config::CoordinatorConfig, Error> {
    let database = folder.coordinator_database();
    create_parent(&database)?;
    RawCoordinatorConfig {
        listen_addr: Some(address.to_string()),
        endpoint: Some(format!("https://{address}")),
        database_url: Some(sqlite_url(&database)),
        tls: Some(RawTls {
            ca: Some(pki.ca_cert.clone()),
            crl: None,
            certificate: Some(pki.coordinator_cert.clone()),
            private_key: Some(pki.coordinator_key.clone()),
            signing_key: Some(pki.coordinator_signing_key.clone()),
        }),
        issuing: Some(RawIssuing {
            certificate: Some(pki.ca_cert.clone()),
            private_key: Some(pki.ca_key.clone()),
            certificate_days: Some(CERTIFICATE_DAYS),
            crl_hours,
        }),
        ..RawCoordinatorConfig::default()
    }
    .validate()
    .map_err(|error| Error::Configuration(Component::Coordinator.name(), error))
}

/// A node's configuration from what `accord join` wrote in the state's folder, following
/// the coordinator at `coordinator` (where it listens now, which may not be where it
/// listened when the state joined).
fn node_config(
    folder: &Folder,
    state: StateCode,
    address: SocketAddr,
    coordinator: SocketAddr,
) -> Result<accord_node::config::NodeConfig, Error> {
    let joined = JoinedFolder::new(folder.state(state));
    let mut raw = RawNodeConfig::empty();
    raw.state = Some(state.to_string());
    raw.listen_addr = Some(address.to_string());
    raw.database_url = Some(sqlite_url(&folder.node_database(state)));
    raw.tls = Some(RawTls {
        ca: Some(joined.ca()),
        crl: None,
        certificate: Some(joined.node_certificate()),
        private_key: Some(joined.node_key()),
        signing_key: Some(joined.signing_key()),
    });
    raw.coordinator = Some(RawCoordinator {
        endpoint: Some(format!("https://{coordinator}")),
        signing_public_key: Some(joined.coordinator_key()),
        server_name: None,
        reconnect_initial_ms: None,
        reconnect_max_ms: None,
        first_directory: Some(joined.directory()),
        ledger_interval_ms: None,
    });
    raw.validate()
        .map_err(|error| Error::Configuration(Component::Node(state).name(), error))
}

/// A gateway's configuration: `state`'s gateway identity from its folder, its node at `node`
/// (whose certificate names 127.0.0.1), and the tokens it answers (by role: `caseworker:FR`,
/// `operator`, `diplomat`), as their SHA-256.
fn gateway_config(
    folder: &Folder,
    state: StateCode,
    address: SocketAddr,
    node: SocketAddr,
    tokens: &BTreeMap<String, String>,
) -> Result<accord_gateway::config::GatewayConfig, Error> {
    let (certificate, private_key) = credentials::gateway_files(folder, state);
    let joined = JoinedFolder::new(folder.state(state));
    RawGatewayConfig {
        state: Some(state.to_string()),
        listen_addr: Some(address.to_string()),
        node: Some(RawGatewayNode {
            endpoint: Some(format!("https://{node}")),
            server_name: Some("127.0.0.1".to_owned()),
        }),
        coordinator: None,
        tls: Some(RawGatewayTls {
            ca: Some(joined.ca()),
            certificate: Some(certificate),
            private_key: Some(private_key),
        }),
        tokens: raw_tokens(tokens),
    }
    .validate()
    .map_err(|error| Error::Configuration(Component::Gateway(state).name(), error))
}

/// `tokens` (by role: `caseworker:FR`, `operator`, `diplomat`) as a gateway's configuration
/// holds them: their SHA-256 and role.
fn raw_tokens(tokens: &BTreeMap<String, String>) -> Vec<RawToken> {
    tokens
        .iter()
        .map(|(role, secret)| {
            let (role, state) = match role.split_once(':') {
                Some((role, state)) => (role, Some(state.to_owned())),
                None => (role.as_str(), None),
            };
            RawToken {
                sha256: Some(hex::encode(accord_gateway::config::digest(secret))),
                role: Some(role.to_owned()),
                state,
            }
        })
        .collect()
}

/// The status code of `GET path` on the HTTP server at `address` (HTTP/1.1, no body read).
async fn http_status(address: SocketAddr, path: &str) -> std::io::Result<u16> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).await?;
    // "HTTP/1.1 200"
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

fn create_parent(path: &Path) -> Result<(), Error> {
    let parent = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    std::fs::create_dir_all(&parent).map_err(|error| Error::Folder(parent, error))
}
