//! `accord up`: a whole federation on this machine — a coordinator, one node and one REST
//! gateway per state, on 127.0.0.1 and free ports, in this process — made the way a real network is made: a
//! PKI (`credentials`), every state enrolled with a one-time token and its own keys and CSRs
//! (`enrol`), the scheme's agreements recorded by an operator (`plan`), SQLite stores in the
//! folder (`folder`). It writes `DIR/federation.json` once every server answers its health
//! check (`servers`), prints what runs where, and serves until SIGINT or SIGTERM.
//!
//! A later run on the same folder resumes: the same PKI, identities, stores, and the same
//! ports where they are free (a node whose port was taken moves its endpoint in the
//! directory). It never makes a new CA or joins a state twice.
//!
//! [`start`] is the reusable core (`accord demo` runs a scenario on what it starts);
//! [`run`] is the subcommand around it: signals, the printed table, exit codes (0 after a
//! clean shutdown; 2 for bad input — an unknown or repeated state, a state without a
//! partner, a folder that cannot hold a federation — with nothing started or written; 1 for
//! a failure while starting or serving).

pub(crate) mod credentials;
mod enrol;
mod folder;
pub(crate) mod plan;
mod servers;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;

use accord_domain::StateCode;
use clap::Args;

pub use folder::{CoordinatorEntry, Description, StateEntry};
use folder::{Folder, Record};
pub use servers::Timing;
use servers::{Component, Servers};

use crate::error_text::with_sources;

/// Exit code for bad input: nothing was started.
const EXIT_USAGE: u8 = 2;

/// Arguments of `accord up`.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// The federation's folder: PKI, states' keys, stores, `federation.json`. Made if
    /// missing; a folder from an earlier run is resumed.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// The states, e.g. `GB,FR,BE,NL,DE,IT` [default: GB,FR, or the folder's states].
    #[arg(long, value_delimiter = ',', value_name = "STATES")]
    pub states: Option<Vec<String>>,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// The federation's folder.
    pub dir: PathBuf,
    /// The states; `None`: the folder's (a resumed run), else GB and FR.
    pub states: Option<Vec<StateCode>>,
    /// The time the servers keep.
    pub timing: Timing,
}

/// Why the federation could not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: nothing was started or written (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The folder.
    #[error(transparent)]
    Folder(#[from] folder::Error),
    /// The PKI.
    #[error(transparent)]
    Credentials(#[from] credentials::Error),
    /// A port.
    #[error("binding a port on 127.0.0.1")]
    Bind(#[source] std::io::Error),
    /// No randomness for the gateways' tokens.
    #[error("making the gateways' tokens")]
    Tokens(#[source] accord_trust::pki::Error),
    /// Membership: tokens, joins, agreements.
    #[error(transparent)]
    Enrol(#[from] enrol::Error),
    /// A server.
    #[error(transparent)]
    Server(#[from] servers::Error),
}

impl Error {
    /// Whether the input is at fault (exit code 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::Usage(_) | Self::Folder(folder::Error::Unusable(_))
        )
    }
}

/// A running federation.
pub struct Federation {
    folder: Folder,
    description: Description,
    servers: Servers,
    /// Held while the federation runs: a second `accord up` on the folder is refused.
    _lock: std::fs::File,
}

impl Federation {
    /// What `federation.json` says: where everything runs, with which credentials.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// Where `federation.json` is.
    pub fn description_path(&self) -> PathBuf {
        self.folder.federation()
    }

    /// Resolves if a server stops on its own, with why (servers run until shut down).
    pub async fn stopped(&mut self) -> Error {
        Error::Server(self.servers.stopped().await)
    }

    /// Stops every server, waits until each has drained, and removes `federation.json`.
    pub async fn shutdown(self) -> Result<(), Error> {
        let stopped = self.servers.shutdown().await;
        self.folder.remove_federation()?;
        Ok(stopped?)
    }
}

/// Starts the federation (see the module documentation); returns once everything answers
/// its health check and `federation.json` is written. Gives up if `cancel` resolves first (a
/// signal while starting; `std::future::pending()` never does): what started then stops
/// gracefully, and the answer is `None`.
pub async fn start(
    options: Options,
    cancel: impl Future<Output = ()>,
) -> Result<Option<Federation>, Error> {
    let folder = Folder::new(&options.dir)?;
    let states = states(&folder, options.states)?;
    let (mut record, lock) = folder.open()?;
    record.states = states.iter().map(StateCode::to_string).collect();
    folder.save_record(&record)?;
    let mut servers = Servers::new(options.timing);
    let started = tokio::select! {
        started = start_servers(&folder, &states, record, &mut servers) => Some(started),
        () = cancel => None,
    };
    // federation.json last: once written, everything it names answers.
    let described = started.map(|started| {
        started.and_then(|description| {
            folder.write_federation(&description)?;
            Ok(description)
        })
    });
    match described {
        Some(Ok(description)) => Ok(Some(Federation {
            folder,
            description,
            servers,
            _lock: lock,
        })),
        Some(Err(error)) => {
            // What started stops again; its own errors matter less than why it stopped.
            let _ = servers.shutdown().await;
            Err(error)
        }
        None => {
            servers.shutdown().await?;
            Ok(None)
        }
    }
}

/// The states to run, checked against the folder's record, which is written naming them;
/// bad input here writes nothing.
fn states(folder: &Folder, requested: Option<Vec<StateCode>>) -> Result<Vec<StateCode>, Error> {
    if let Some(states) = &requested {
        plan::check(states).map_err(Error::Usage)?;
    }
    let recorded = folder.read_record()?.unwrap_or_default();
    let recorded_states = plan::parse(&recorded.states).map_err(Error::Usage)?;
    let states = match requested {
        Some(states) => states,
        None if !recorded_states.is_empty() => recorded_states.clone(),
        None => plan::parse(&plan::DEFAULT_STATES.map(str::to_owned)).map_err(Error::Usage)?,
    };
    if let Some(missing) = recorded_states.iter().find(|state| !states.contains(state)) {
        return Err(Error::Usage(format!(
            "--states: {} holds a federation of {}, and {missing} is missing: name every \
             state it holds (new ones may be added)",
            folder.root().display(),
            join_codes(&recorded_states)
        )));
    }
    Ok(states)
}

/// Everything but `federation.json`: the PKI, the servers, the members and agreements, and
/// the health checks.
async fn start_servers(
    folder: &Folder,
    states: &[StateCode],
    mut record: Record,
    servers: &mut Servers,
) -> Result<Description, Error> {
    let pki = credentials::ensure(folder)?;
    let coordinator_listener = bind(record.coordinator)?;
    let coordinator = local_addr(&coordinator_listener)?;
    let coordinator_gateway_listener = bind(record.coordinator_gateway)?;
    let coordinator_gateway = local_addr(&coordinator_gateway_listener)?;
    let mut nodes = Vec::with_capacity(states.len());
    let mut gateways = Vec::with_capacity(states.len());
    for state in states {
        let listener = bind(record.nodes.get(state.as_str()).copied())?;
        nodes.push((*state, local_addr(&listener)?, listener));
        let listener = bind(record.gateways.get(state.as_str()).copied())?;
        gateways.push((*state, local_addr(&listener)?, listener));
    }
    record.coordinator = Some(coordinator);
    record.coordinator_gateway = Some(coordinator_gateway);
    record.nodes = nodes
        .iter()
        .map(|(state, address, _)| (state.to_string(), *address))
        .collect();
    record.gateways = gateways
        .iter()
        .map(|(state, address, _)| (state.to_string(), *address))
        .collect();
    ensure_tokens(&mut record.tokens, states)?;
    folder.save_record(&record)?;

    servers
        .start_coordinator(folder, &pki, coordinator_listener)
        .await?;
    // Its operators' and diplomats' gateway: no state's caseworker has anything to do there.
    let readers = gateway_tokens(&record.tokens, None);
    servers
        .start_coordinator_gateway(&pki, coordinator, &readers, coordinator_gateway_listener)
        .await?;
    let mut operator = enrol::Operator::connect(&pki, coordinator).await?;
    for (state, address, _) in &nodes {
        operator.join_if_new(folder, &pki, *state, *address).await?;
    }
    let directory = operator.directory().await?;
    for (state, address, _) in &nodes {
        enrol::move_endpoint_if_changed(folder, &directory, *state, coordinator, *address).await?;
    }
    operator
        .record_agreements(&directory, &plan::agreements(states))
        .await?;
    for (state, _, listener) in nodes {
        servers
            .start_node(folder, state, coordinator, listener)
            .await?;
    }
    for (state, _, listener) in gateways {
        let node = record
            .nodes
            .get(state.as_str())
            .copied()
            .unwrap_or(coordinator);
        let tokens = gateway_tokens(&record.tokens, Some(state));
        servers
            .start_gateway(folder, state, node, &tokens, listener)
            .await?;
    }
    let description = describe(folder, &pki, coordinator, &record, states);
    wait_healthy(&description, states).await?;
    Servers::wait_gateway(Component::CoordinatorGateway, coordinator_gateway).await?;
    for (state, address) in &record.gateways {
        if let Ok(state) = StateCode::parse(state) {
            Servers::wait_gateway(Component::Gateway(state), *address).await?;
        }
    }
    Ok(description)
}

/// Makes the tokens the federation lacks: a caseworker's for each state, an operator's and a
/// diplomat's, each 128 random bits; those of an earlier run are kept.
fn ensure_tokens(tokens: &mut BTreeMap<String, String>, states: &[StateCode]) -> Result<(), Error> {
    let roles = states
        .iter()
        .map(|state| format!("caseworker:{state}"))
        .chain(["operator".to_owned(), "diplomat".to_owned()]);
    for role in roles {
        if let std::collections::btree_map::Entry::Vacant(entry) = tokens.entry(role) {
            let secret = accord_trust::pki::Serial::random().map_err(Error::Tokens)?;
            entry.insert(format!("acc_{secret}"));
        }
    }
    Ok(())
}

/// The tokens a gateway answers: `state`'s caseworkers' (none on the coordinator's, `None`),
/// the operator's and the diplomat's; another state's caseworkers have nothing to do there.
fn gateway_tokens(
    tokens: &BTreeMap<String, String>,
    state: Option<StateCode>,
) -> BTreeMap<String, String> {
    let caseworker = state
        .map(|state| format!("caseworker:{state}"))
        .unwrap_or_default();
    tokens
        .iter()
        .filter(|(role, _)| **role == caseworker || !role.starts_with("caseworker:"))
        .map(|(role, secret)| (role.clone(), secret.clone()))
        .collect()
}

/// Waits until the coordinator and every node answer their health check: the coordinator
/// called as the operator, each node as its state's gateway.
async fn wait_healthy(description: &Description, states: &[StateCode]) -> Result<(), Error> {
    let coordinator = &description.coordinator;
    Servers::wait_healthy(
        Component::Coordinator,
        coordinator.grpc,
        &description.ca_cert,
        (&coordinator.operator_cert, &coordinator.operator_key),
    )
    .await?;
    for state in states {
        if let Some(entry) = description.states.get(state.as_str()) {
            Servers::wait_healthy(
                Component::Node(*state),
                entry.grpc,
                &description.ca_cert,
                (&entry.client_cert, &entry.client_key),
            )
            .await?;
        }
    }
    Ok(())
}

fn describe(
    folder: &Folder,
    pki: &credentials::Pki,
    coordinator: SocketAddr,
    record: &Record,
    states: &[StateCode],
) -> Description {
    let states = states
        .iter()
        .filter_map(|state| {
            let grpc = *record.nodes.get(state.as_str())?;
            let gateway = *record.gateways.get(state.as_str())?;
            let (client_cert, client_key) = credentials::gateway_files(folder, *state);
            Some((
                state.to_string(),
                StateEntry {
                    grpc,
                    gateway: format!("http://{gateway}"),
                    client_cert,
                    client_key,
                },
            ))
        })
        .collect();
    Description {
        ca_cert: pki.ca_cert.clone(),
        ca_key: pki.ca_key.clone(),
        coordinator: CoordinatorEntry {
            grpc: coordinator,
            gateway: record
                .coordinator_gateway
                .map(|address| format!("http://{address}"))
                .unwrap_or_default(),
            operator_cert: pki.operator_cert.clone(),
            operator_key: pki.operator_key.clone(),
        },
        states,
        tokens: record.tokens.clone(),
    }
}

/// A socket on 127.0.0.1: the port of an earlier run if it is free, else any free one.
fn bind(earlier: Option<SocketAddr>) -> Result<TcpListener, Error> {
    if let Some(address) = earlier
        && let Ok(listener) = TcpListener::bind(address)
    {
        return Ok(listener);
    }
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(Error::Bind)
}

fn local_addr(listener: &TcpListener) -> Result<SocketAddr, Error> {
    listener.local_addr().map_err(Error::Bind)
}

fn join_codes(states: &[StateCode]) -> String {
    states
        .iter()
        .map(StateCode::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Runs `accord up` until SIGINT or SIGTERM.
pub fn run(args: UpArgs) -> ExitCode {
    let states = match args.states.as_deref().map(plan::parse).transpose() {
        Ok(states) => states,
        Err(message) => return usage(&message),
    };
    crate::serve::block_on(
        "accord up",
        "warn",
        serve(Options {
            dir: args.dir,
            states,
            timing: Timing {
                clock: std::sync::Arc::new(accord_edge::clock::SystemClock),
                crl_hours: None,
            },
        }),
    )
}

/// [`start`] for a command `name` (`accord up`): the federation, or the exit code of a start
/// that did not get there, its reason printed: 0 when `cancel` came first, 2 for bad input,
/// 1 for a failure.
pub(crate) async fn start_or_exit(
    name: &str,
    options: Options,
    cancel: impl Future<Output = ()>,
) -> Result<Federation, ExitCode> {
    match start(options, cancel).await {
        Ok(Some(federation)) => Ok(federation),
        Ok(None) => {
            eprintln!("{name}: stopped before the federation was up");
            Err(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("{name}: {}", with_sources(&error));
            Err(if error.is_usage() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

async fn serve(options: Options) -> ExitCode {
    // Handlers first: a signal while the federation starts already means "stop".
    let mut shutdown = match crate::serve::shutdown_signal() {
        Ok(shutdown) => Box::pin(shutdown),
        Err(error) => {
            eprintln!("accord up: cannot install signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut federation = match start_or_exit("accord up", options, &mut shutdown).await {
        Ok(federation) => federation,
        Err(code) => return code,
    };
    print_table(&federation);
    let failure = tokio::select! {
        () = &mut shutdown => None,
        error = federation.stopped() => Some(error),
    };
    eprintln!("accord up: shutting down");
    let stopped = federation.shutdown().await;
    match (failure, stopped) {
        (None, Ok(())) => {
            eprintln!("accord up: stopped");
            ExitCode::SUCCESS
        }
        (Some(error), _) | (None, Err(error)) => {
            eprintln!("accord up: {}", with_sources(&error));
            ExitCode::FAILURE
        }
    }
}

/// What runs where, and the file that says it for programs.
pub(crate) fn print_table(federation: &Federation) {
    let description = federation.description();
    let states: Vec<&str> = description.states.keys().map(String::as_str).collect();
    println!("accord up: a federation of {} is up", states.join(", "));
    println!(
        "{:<12} {:<22} {:<24} client certificate",
        "server", "gRPC (mTLS)", "gateway (HTTP)"
    );
    println!(
        "{:<12} {:<22} {:<24} {} (operator)",
        "coordinator",
        description.coordinator.grpc.to_string(),
        description.coordinator.gateway,
        description.coordinator.operator_cert.display()
    );
    for (state, entry) in &description.states {
        println!(
            "{:<12} {:<22} {:<24} {} ({state}'s gateway)",
            format!("node {state}"),
            entry.grpc.to_string(),
            entry.gateway,
            entry.client_cert.display()
        );
    }
    println!(
        "tokens (Authorization: Bearer …) are in federation.json; a diplomat's rounds: {}/rounds",
        description.coordinator.gateway
    );
    println!("CA certificate: {}", description.ca_cert.display());
    println!("federation: {}", federation.description_path().display());
    println!("running until Ctrl-C or SIGTERM");
}

fn usage(message: &str) -> ExitCode {
    eprintln!("accord up: {message}");
    ExitCode::from(EXIT_USAGE)
}
