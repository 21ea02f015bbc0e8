//! The node's configuration: defaults, then a TOML file, then `ACCORD_NODE_*` variables,
//! then validation into typed values.
//!
//! Identity, listening address and PKI paths have no defaults: a node that does not say
//! who it is does not start. Every other key has a documented default. Nested keys are
//! overridden with a double underscore: `ACCORD_NODE_TLS__CA=/etc/accord/ca.pem`.
//! A node learns its partners in one of two ways, never both: from the coordinator's signed
//! directory (`[coordinator]`), or from `[[partners]]` in the file (a list does not fit in
//! variables). A configuration with both is refused.
//!
//! ```toml
//! state = "FR"                                  # this node's state (ISO 3166-1 alpha-2)
//! listen_addr = "127.0.0.1:7001"                # where partners and the gateway connect
//! database_url = "sqlite://fr-node.db?mode=rwc" # or postgres://user@host/db
//!
//! [tls]
//! ca = "pki/ca.pem"                             # the network CA
//! crl = "pki/crl.pem"                           # optional: revoked certificates (every CRL in the file)
//! certificate = "pki/issued/FR-node.pem"        # this node's certificate (SAN spiffe://accord/state/FR)
//! private_key = "pki/issued/FR-node.key"
//! signing_key = "pki/issued/FR-node.signing.key" # Ed25519 key that signs this state's events
//!
//! # Either the coordinator's directory (no [[partners]] then) …
//! [coordinator]
//! endpoint = "https://127.0.0.1:7100"           # the coordinator's MembershipService
//! signing_public_key = "pki/coordinator.signing.pub" # its Ed25519 key: the trust anchor of directories
//! server_name = "127.0.0.1"                     # optional: the name its certificate is checked against; default: the endpoint's host
//! reconnect_initial_ms = 250                    # optional: first wait before watching again after a failure
//! reconnect_max_ms = 30000                      # optional: ceiling of that wait (doubling, jittered)
//! first_directory = "directory.bin"            # optional: the directory to start from while the
//!                                               # store holds none (what `accord join` received)
//!
//! # … or static partners (no [coordinator] then).
//! [[partners]]
//! state = "GB"
//! endpoint = "https://127.0.0.1:7002"
//! signing_public_key = "pki/issued/GB-node.signing.pub"
//! regimes = ["UKFR_2025"]                       # required: the regimes the pair agreed
//! parity_limit = 50                             # optional: refuse GB's requests while GB owes more
//!
//! [limits]                                      # all optional, defaults shown in `Limits`
//! max_message_bytes = 4194304
//! audit_rows_per_caller_per_minute = 60          # the rest: one summary row per caller and minute
//! ```
//!
//! A partner's `regimes` has no default, like identity: the pair's agreement decides which
//! cases (readmissions, offers, nominations) may be opened or received at all, and a default
//! would silently agree to a regime the states never signed. At least one regime
//! (`UKFR_2025`, `DUBLIN_III`, `AMMR_2026`, `EU_1FOR1`), each listed once. A case under any
//! other regime is never opened for that partner and refused from it (`FAILED_PRECONDITION`,
//! `NO_AGREEMENT`).
//!
//! With `[coordinator]`, the node's partners are the members the directory lists with an
//! agreement with this node's state: their endpoints, their event-signing keys (by key id,
//! several during a rotation), and each pair's regimes and parity limit, as the agreement in
//! force says. The node watches the directory over mTLS with its own certificate, keeps the
//! last verified version in its database, and starts from it when the coordinator cannot be
//! reached (`crate::directory`). `signing_public_key` has no default: a node trusts no
//! directory it cannot check.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use accord_domain::membership::Endpoint;
use accord_domain::{Regime, StateCode};
use accord_edge::settings::{self, database_url, invalid, positive, required, socket_address};
pub use accord_edge::settings::{Error, RawTls, TlsPaths};
use serde::{Deserialize, Serialize};

/// The configuration as written: strings and numbers, before validation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// This node's state.
    pub state: Option<String>,
    /// Listening address.
    pub listen_addr: Option<String>,
    /// Database URL; default: a SQLite file `accord-node-<STATE>.db` in the working folder.
    pub database_url: Option<String>,
    /// Certificates and keys.
    pub tls: Option<RawTls>,
    /// The coordinator whose directory names the partners.
    pub coordinator: Option<RawCoordinator>,
    /// Partner nodes.
    #[serde(default)]
    pub partners: Vec<RawPartner>,
    /// Resource limits.
    #[serde(default)]
    pub limits: Limits,
    /// Outbox delivery.
    #[serde(default)]
    pub delivery: Delivery,
    /// Deadline sweeps.
    #[serde(default)]
    pub deadlines: Deadlines,
}

/// The coordinator as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCoordinator {
    /// Its `MembershipService` address, `https://host:port`.
    pub endpoint: Option<String>,
    /// Its Ed25519 directory-signing public key (PEM): the trust anchor of directories.
    pub signing_public_key: Option<PathBuf>,
    /// The name its certificate is checked against; default: the endpoint's host.
    pub server_name: Option<String>,
    /// First wait before watching again after a failure, in milliseconds.
    pub reconnect_initial_ms: Option<u64>,
    /// Ceiling of the wait between attempts to watch, in milliseconds.
    pub reconnect_max_ms: Option<u64>,
    /// A signed directory (protobuf bytes) to start from while the store holds none.
    pub first_directory: Option<PathBuf>,
    /// How often the node looks for events to report to the ledger when it found none, and
    /// for a new tree head to witness, in milliseconds.
    pub ledger_interval_ms: Option<u64>,
}

/// The default interval of the ledger's reporter and witness, in milliseconds.
pub const LEDGER_INTERVAL_MS_DEFAULT: u64 = 1_000;

/// The default first wait before watching the directory again, in milliseconds.
pub const COORDINATOR_RECONNECT_INITIAL_MS_DEFAULT: u64 = 250;

/// The default ceiling of the wait between attempts to watch the directory, in milliseconds.
pub const COORDINATOR_RECONNECT_MAX_MS_DEFAULT: u64 = 30_000;

/// A partner as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPartner {
    /// The partner's state.
    pub state: String,
    /// Its node's address, `https://host:port`.
    pub endpoint: String,
    /// The name its certificate is checked against; default: the endpoint's host.
    pub server_name: Option<String>,
    /// Its Ed25519 event-signing public key (PEM).
    pub signing_public_key: PathBuf,
    /// The regimes the pair agreed (codes such as `UKFR_2025`); required.
    pub regimes: Option<Vec<String>>,
    /// The parity limit: while the partner owes this node's state more admissions than
    /// this, the partner's new readmission requests are refused with `PARITY_IMBALANCE`.
    pub parity_limit: Option<u64>,
}

/// Named limits on everything a caller can make the node spend.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// Most requests served at once on one connection.
    pub max_concurrent_requests_per_connection: usize,
    /// Most HTTP/2 streams a client may open on one connection.
    pub max_concurrent_streams: u32,
    /// Longest time a request may run before `DEADLINE_EXCEEDED`, in milliseconds.
    pub request_timeout_ms: u64,
    /// Longest TLS handshake, in milliseconds.
    pub handshake_timeout_ms: u64,
    /// Database connections for reads.
    pub database_connections: u32,
    /// Largest page a list RPC returns.
    pub page_size_max: u32,
    /// Longest time to drain in-flight requests on shutdown, in milliseconds.
    pub shutdown_grace_ms: u64,
    /// Most audit rows one caller's refused calls write per minute; the rest are counted
    /// in one summary row per minute.
    pub audit_rows_per_caller_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_requests_per_connection: 1024,
            max_concurrent_streams: 1024,
            request_timeout_ms: 30_000,
            handshake_timeout_ms: 10_000,
            database_connections: 8,
            page_size_max: 500,
            shutdown_grace_ms: 10_000,
            audit_rows_per_caller_per_minute:
                accord_edge::audit::ROWS_PER_CALLER_PER_MINUTE_DEFAULT,
        }
    }
}

/// How the outbox dispatcher retries. The back-off applies to a partner's link when the
/// partner cannot be reached (then one message probes it per wait), and to one message when
/// the partner asks for it later.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Delivery {
    /// Wait before the first retry, in milliseconds; doubles per failed attempt.
    pub initial_backoff_ms: u64,
    /// Ceiling of the wait between attempts, in milliseconds.
    pub max_backoff_ms: u64,
    /// How often the dispatcher looks for due messages when not woken, in milliseconds.
    pub poll_interval_ms: u64,
    /// Most deliveries in flight at once.
    pub max_in_flight: usize,
    /// Timeout of one delivery attempt, in milliseconds.
    pub attempt_timeout_ms: u64,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            initial_backoff_ms: 250,
            max_backoff_ms: 60_000,
            poll_interval_ms: 1_000,
            max_in_flight: 64,
            attempt_timeout_ms: 10_000,
        }
    }
}

/// How deadlines are swept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Deadlines {
    /// How often the node looks for passed deadlines, in milliseconds.
    pub sweep_interval_ms: u64,
    /// Most cases handled per sweep.
    pub sweep_batch: u64,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            sweep_interval_ms: 1_000,
            sweep_batch: 256,
        }
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's state.
    pub state: StateCode,
    /// Where to listen.
    pub listen_addr: SocketAddr,
    /// The database.
    pub database_url: String,
    /// PKI paths.
    pub tls: TlsPaths,
    /// The coordinator whose directory names the partners; none when `partners` does.
    pub coordinator: Option<Coordinator>,
    /// Partners, by state, as configured (empty with a coordinator).
    pub partners: Vec<Partner>,
    /// Resource limits.
    pub limits: Limits,
    /// Outbox delivery.
    pub delivery: Delivery,
    /// Deadline sweeps.
    pub deadlines: Deadlines,
}

/// The validated coordinator.
#[derive(Debug, Clone)]
pub struct Coordinator {
    /// Its `MembershipService` address.
    pub endpoint: String,
    /// The name its certificate must carry.
    pub server_name: String,
    /// Its directory-signing public key file.
    pub signing_public_key: PathBuf,
    /// First wait before watching again after a failure.
    pub reconnect_initial: Duration,
    /// Ceiling of the wait between attempts.
    pub reconnect_max: Duration,
    /// A signed directory to start from while the store holds none.
    pub first_directory: Option<PathBuf>,
    /// How often the reporter and the witness look for work when they found none.
    pub ledger_interval: Duration,
}

/// A validated partner.
#[derive(Debug, Clone)]
pub struct Partner {
    /// Its state.
    pub state: StateCode,
    /// Its node's address.
    pub endpoint: String,
    /// The name its certificate must carry.
    pub server_name: String,
    /// Its event-signing public key file.
    pub signing_public_key: PathBuf,
    /// The regimes the pair agreed: the only ones a case with this partner may name.
    pub regimes: Vec<Regime>,
    /// Its parity limit, if any.
    pub parity_limit: Option<u64>,
}

impl NodeConfig {
    /// Loads defaults, then `file` (if given), then `ACCORD_NODE_*` variables, and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, Error> {
        settings::load(RawConfig::empty(), file, "ACCORD_NODE_")?.validate()
    }

    /// The delivery timeouts and back-off as durations.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.request_timeout_ms)
    }

    /// The partner of `state`, if configured.
    pub fn partner(&self, state: StateCode) -> Option<&Partner> {
        self.partners.iter().find(|partner| partner.state == state)
    }
}

impl RawConfig {
    /// Nothing set: the base layer under the file and the variables.
    pub fn empty() -> Self {
        Self {
            state: None,
            listen_addr: None,
            database_url: None,
            tls: None,
            coordinator: None,
            partners: Vec::new(),
            limits: Limits::default(),
            delivery: Delivery::default(),
            deadlines: Deadlines::default(),
        }
    }

    /// Checks every value and builds the typed configuration.
    pub fn validate(self) -> Result<NodeConfig, Error> {
        let state = parse_state("state", self.state.as_deref())?;
        if self.coordinator.is_some() && !self.partners.is_empty() {
            return Err(invalid(
                "partners",
                "must be empty with [coordinator]: the coordinator's directory names the partners",
            ));
        }
        let listen_addr = socket_address("listen_addr", self.listen_addr.as_deref())?;
        let database_url = database_url(self.database_url, || {
            format!("sqlite://accord-node-{state}.db?mode=rwc")
        })?;
        let tls = RawTls::validate(self.tls)?;
        let coordinator = self.coordinator.map(validate_coordinator).transpose()?;
        let partners = validate_partners(state, self.partners)?;
        validate_limits(&self.limits, &self.delivery, &self.deadlines)?;
        Ok(NodeConfig {
            state,
            listen_addr,
            database_url,
            tls,
            coordinator,
            partners,
            limits: self.limits,
            delivery: self.delivery,
            deadlines: self.deadlines,
        })
    }
}

fn validate_partners(own_state: StateCode, raw: Vec<RawPartner>) -> Result<Vec<Partner>, Error> {
    let mut partners: Vec<Partner> = Vec::with_capacity(raw.len());
    for (index, partner) in raw.into_iter().enumerate() {
        let key = |field: &str| format!("partners[{index}].{field}");
        let state = parse_state(&key("state"), Some(&partner.state))?;
        if state == own_state {
            return Err(invalid(
                &key("state"),
                format!("{state} is this node's own state"),
            ));
        }
        if partners.iter().any(|known| known.state == state) {
            return Err(invalid(&key("state"), format!("{state} is listed twice")));
        }
        let host = endpoint_host(&key("endpoint"), &partner.endpoint)?;
        let regimes = parse_regimes(&key("regimes"), partner.regimes)?;
        partners.push(Partner {
            state,
            endpoint: partner.endpoint,
            server_name: partner.server_name.unwrap_or(host),
            signing_public_key: partner.signing_public_key,
            regimes,
            parity_limit: partner.parity_limit,
        });
    }
    Ok(partners)
}

fn validate_coordinator(raw: RawCoordinator) -> Result<Coordinator, Error> {
    let endpoint = required("coordinator.endpoint", raw.endpoint.as_deref())?.to_owned();
    let host = endpoint_host("coordinator.endpoint", &endpoint)?;
    let signing_public_key =
        settings::required_path("coordinator.signing_public_key", raw.signing_public_key)?;
    let initial = raw
        .reconnect_initial_ms
        .unwrap_or(COORDINATOR_RECONNECT_INITIAL_MS_DEFAULT);
    let max = raw
        .reconnect_max_ms
        .unwrap_or(COORDINATOR_RECONNECT_MAX_MS_DEFAULT);
    let ledger_interval = raw.ledger_interval_ms.unwrap_or(LEDGER_INTERVAL_MS_DEFAULT);
    positive(&[
        ("coordinator.reconnect_initial_ms", initial),
        ("coordinator.reconnect_max_ms", max),
        ("coordinator.ledger_interval_ms", ledger_interval),
    ])?;
    if max < initial {
        return Err(invalid(
            "coordinator.reconnect_max_ms",
            "must be at least coordinator.reconnect_initial_ms",
        ));
    }
    Ok(Coordinator {
        endpoint,
        server_name: raw.server_name.unwrap_or(host),
        signing_public_key,
        reconnect_initial: Duration::from_millis(initial),
        reconnect_max: Duration::from_millis(max),
        first_directory: raw.first_directory,
        ledger_interval: Duration::from_millis(ledger_interval),
    })
}

/// The host of an `https://host:port` endpoint, as TLS names the server.
fn endpoint_host(key: &str, endpoint: &str) -> Result<String, Error> {
    Endpoint::parse(endpoint)
        .map(|endpoint| endpoint.server_name().to_owned())
        .map_err(|error| {
            invalid(
                key,
                format!("{endpoint:?} is not https://host:port ({error})"),
            )
        })
}

/// A partner's agreed regimes: required, not empty, each known and listed once.
fn parse_regimes(key: &str, raw: Option<Vec<String>>) -> Result<Vec<Regime>, Error> {
    let raw = raw.ok_or_else(|| {
        invalid(
            key,
            "is required: the regimes the pair agreed, e.g. [\"UKFR_2025\"]",
        )
    })?;
    if raw.is_empty() {
        return Err(invalid(key, "must name at least one regime"));
    }
    let mut regimes: Vec<Regime> = Vec::with_capacity(raw.len());
    for code in &raw {
        let regime = Regime::parse(code).map_err(|error| invalid(key, error.to_string()))?;
        if regimes.contains(&regime) {
            return Err(invalid(key, format!("{code} is listed twice")));
        }
        regimes.push(regime);
    }
    Ok(regimes)
}

fn validate_limits(
    limits: &Limits,
    delivery: &Delivery,
    deadlines: &Deadlines,
) -> Result<(), Error> {
    positive(&[
        ("limits.max_message_bytes", limits.max_message_bytes as u64),
        (
            "limits.max_concurrent_requests_per_connection",
            limits.max_concurrent_requests_per_connection as u64,
        ),
        (
            "limits.max_concurrent_streams",
            u64::from(limits.max_concurrent_streams),
        ),
        ("limits.request_timeout_ms", limits.request_timeout_ms),
        ("limits.handshake_timeout_ms", limits.handshake_timeout_ms),
        (
            "limits.database_connections",
            u64::from(limits.database_connections),
        ),
        ("limits.page_size_max", u64::from(limits.page_size_max)),
        (
            "limits.audit_rows_per_caller_per_minute",
            u64::from(limits.audit_rows_per_caller_per_minute),
        ),
        ("delivery.initial_backoff_ms", delivery.initial_backoff_ms),
        ("delivery.max_backoff_ms", delivery.max_backoff_ms),
        ("delivery.poll_interval_ms", delivery.poll_interval_ms),
        ("delivery.max_in_flight", delivery.max_in_flight as u64),
        ("delivery.attempt_timeout_ms", delivery.attempt_timeout_ms),
        ("deadlines.sweep_interval_ms", deadlines.sweep_interval_ms),
        ("deadlines.sweep_batch", deadlines.sweep_batch),
    ])?;
    if delivery.max_backoff_ms < delivery.initial_backoff_ms {
        return Err(invalid(
            "delivery.max_backoff_ms",
            "must be at least delivery.initial_backoff_ms",
        ));
    }
    Ok(())
}

fn parse_state(key: &str, value: Option<&str>) -> Result<StateCode, Error> {
    let text = required(key, value)?;
    StateCode::parse(text).map_err(|error| invalid(key, error.to_string()))
}
