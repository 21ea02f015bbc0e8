//! The coordinator's configuration: defaults, then a TOML file, then `ACCORD_COORDINATOR_*`
//! variables, then validation into typed values.
//!
//! The listening address, the public endpoint and the PKI paths have no defaults: a
//! coordinator that does not say where it is and who it is does not start (exit 64, before
//! any port is bound). Nested keys are overridden with a double underscore:
//! `ACCORD_COORDINATOR_TLS__CA=/etc/accord/ca.pem`.
//!
//! ```toml
//! listen_addr = "127.0.0.1:7000"                 # where nodes, gateways and operators connect
//! endpoint = "https://127.0.0.1:7000"            # how the directory names this coordinator
//! database_url = "sqlite://coordinator.db?mode=rwc" # or postgres://user@host/db
//!
//! [tls]
//! ca = "pki/ca.pem"                              # the network's root CA: the trust anchor
//! crl = "pki/crl.pem"                            # optional: revoked certificates
//! certificate = "pki/issued/coordinator.pem"     # SAN spiffe://accord/coordinator
//! private_key = "pki/issued/coordinator.key"
//! signing_key = "pki/coordinator.signing.key"    # Ed25519: signs every directory version
//!
//! [issuing]                                      # the CA that signs members' certificates:
//! certificate = "pki/issuing-ca.pem"             # `accord pki issuing-ca` (or the root's
//! private_key = "pki/issuing-ca.key"             # ca.pem and ca.key, for a local network)
//! certificate_days = 90                          # optional: a member certificate's life
//! crl_hours = 48                                 # optional: a revocation list's life
//!
//! [enrolment]                                    # optional, defaults shown in `Enrolment`
//! token_ttl_hours_max = 720
//! failed_attempts_per_minute = 10
//!
//! [limits]                                       # optional, defaults shown in `Limits`
//! max_message_bytes = 4194304
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use accord_edge::settings::{
    self, database_url, invalid, positive, required, required_path, socket_address,
};
pub use accord_edge::settings::{Error, RawTls, TlsPaths};
use serde::{Deserialize, Serialize};

/// The configuration as written: strings and numbers, before validation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Listening address, `host:port`.
    pub listen_addr: Option<String>,
    /// The coordinator's endpoint as members reach it, `https://host:port`.
    pub endpoint: Option<String>,
    /// Database URL; default: a SQLite file `accord-coordinator.db` in the working folder.
    pub database_url: Option<String>,
    /// Certificates and keys.
    pub tls: Option<RawTls>,
    /// The CA that issues members' certificates.
    pub issuing: Option<RawIssuing>,
    /// Enrolment tokens.
    #[serde(default)]
    pub enrolment: Enrolment,
    /// The ledger's log.
    #[serde(default)]
    pub ledger: Ledger,
    /// Resource limits.
    #[serde(default)]
    pub limits: Limits,
}

/// The issuing CA as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIssuing {
    /// The issuing CA's certificate, then its chain up to (not including) the root, PEM.
    pub certificate: Option<PathBuf>,
    /// Its private key (PEM).
    pub private_key: Option<PathBuf>,
    /// How long a member's certificate lasts, in days (default 90, at most 825).
    pub certificate_days: Option<u32>,
    /// How long a revocation list lasts before the next must replace it, in hours (default
    /// 48, at most 720).
    pub crl_hours: Option<u32>,
}

/// The issuing CA, checked (its files are read when the coordinator starts).
#[derive(Debug, Clone)]
pub struct Issuing {
    /// The issuing CA's certificate chain.
    pub certificate: PathBuf,
    /// Its private key.
    pub private_key: PathBuf,
    /// A member certificate's life, in days.
    pub certificate_days: u32,
    /// A revocation list's life, in hours.
    pub crl_hours: u32,
}

impl RawIssuing {
    fn validate(raw: Option<Self>) -> Result<Issuing, Error> {
        let raw = raw.ok_or_else(|| invalid("issuing", "the [issuing] table is required"))?;
        let certificate_days = raw.certificate_days.unwrap_or(90);
        if !(1..=825).contains(&certificate_days) {
            return Err(invalid("issuing.certificate_days", "must be 1 to 825"));
        }
        let crl_hours = raw.crl_hours.unwrap_or(48);
        if !(1..=720).contains(&crl_hours) {
            return Err(invalid("issuing.crl_hours", "must be 1 to 720 (30 days)"));
        }
        Ok(Issuing {
            certificate: required_path("issuing.certificate", raw.certificate)?,
            private_key: required_path("issuing.private_key", raw.private_key)?,
            certificate_days,
            crl_hours,
        })
    }
}

/// How enrolment tokens may be issued.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Enrolment {
    /// The longest an operator may let a token live, in hours (at most 720, 30 days).
    pub token_ttl_hours_max: u32,
    /// Bad tokens one address may present each minute before `Enrol` refuses it for the
    /// rest of the minute.
    pub failed_attempts_per_minute: u32,
}

impl Default for Enrolment {
    fn default() -> Self {
        Self {
            token_ttl_hours_max: 720,
            failed_attempts_per_minute: 10,
        }
    }
}

/// The ledger's log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Ledger {
    /// The log's name: its checkpoints' origin and the note name of the key that signs them
    /// (C2SP: a schema-less URL, unique to this network). Default `accord/ledger`.
    pub origin: String,
    /// How often a new tree head is published when the log grew, in milliseconds.
    pub head_interval_ms: u64,
    /// How long one party's report waits for the other's before it is a `ONE_SIDED` break,
    /// in calendar days.
    pub grace_days: u32,
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            origin: "accord/ledger".to_owned(),
            head_interval_ms: 1_000,
            grace_days: 3,
        }
    }
}

/// Resource limits, each named with its unit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The largest request or response, in bytes (`RESOURCE_EXHAUSTED` beyond).
    pub max_message_bytes: usize,
    /// Requests served at once on one connection.
    pub max_concurrent_requests_per_connection: usize,
    /// HTTP/2 streams open at once on one connection.
    pub max_concurrent_streams: u32,
    /// The longest a unary request may run, in milliseconds (`DEADLINE_EXCEEDED` beyond).
    pub request_timeout_ms: u64,
    /// Database connections in the pool.
    pub database_connections: u32,
    /// The most records a page may hold.
    pub page_size_max: u32,
    /// Directory watchers served at once (`RESOURCE_EXHAUSTED` beyond).
    pub directory_watchers_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_requests_per_connection: 256,
            max_concurrent_streams: 256,
            request_timeout_ms: 30_000,
            database_connections: 8,
            page_size_max: 500,
            directory_watchers_max: 1024,
        }
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// Where to listen.
    pub listen_addr: SocketAddr,
    /// How the directory names this coordinator.
    pub endpoint: String,
    /// The store.
    pub database_url: String,
    /// Certificates and keys.
    pub tls: TlsPaths,
    /// The CA that issues members' certificates.
    pub issuing: Issuing,
    /// Enrolment tokens.
    pub enrolment: Enrolment,
    /// The ledger's log.
    pub ledger: Ledger,
    /// Resource limits.
    pub limits: Limits,
}

impl CoordinatorConfig {
    /// Reads defaults, then `file` (if given), then `ACCORD_COORDINATOR_*` variables, and
    /// validates the result.
    pub fn load(file: Option<&Path>) -> Result<Self, Error> {
        settings::load(RawConfig::default(), file, "ACCORD_COORDINATOR_")?.validate()
    }
}

impl RawConfig {
    /// Checks every value and types it.
    pub fn validate(self) -> Result<CoordinatorConfig, Error> {
        let listen_addr = socket_address("listen_addr", self.listen_addr.as_deref())?;
        let endpoint = required("endpoint", self.endpoint.as_deref())?;
        if !endpoint.starts_with("https://") {
            return Err(invalid(
                "endpoint",
                format!("{endpoint:?} is not https://host:port"),
            ));
        }
        let database_url = database_url(self.database_url, || {
            "sqlite://accord-coordinator.db?mode=rwc".to_owned()
        })?;
        let tls = RawTls::validate(self.tls)?;
        let issuing = RawIssuing::validate(self.issuing)?;
        if !(1..=720).contains(&self.enrolment.token_ttl_hours_max) {
            return Err(invalid(
                "enrolment.token_ttl_hours_max",
                "must be 1 to 720 (30 days)",
            ));
        }
        positive(&[(
            "enrolment.failed_attempts_per_minute",
            u64::from(self.enrolment.failed_attempts_per_minute),
        )])?;
        validate_limits(&self.limits)?;
        if accord_trust::log::KeyName::parse(&self.ledger.origin).is_err() {
            return Err(invalid(
                "ledger.origin",
                "must be a note key name: printable, without spaces or '+'",
            ));
        }
        positive(&[
            ("ledger.head_interval_ms", self.ledger.head_interval_ms),
            ("ledger.grace_days", u64::from(self.ledger.grace_days)),
        ])?;
        Ok(CoordinatorConfig {
            listen_addr,
            endpoint: endpoint.to_owned(),
            database_url,
            tls,
            issuing,
            enrolment: self.enrolment,
            ledger: self.ledger,
            limits: self.limits,
        })
    }
}

fn validate_limits(limits: &Limits) -> Result<(), Error> {
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
        (
            "limits.database_connections",
            u64::from(limits.database_connections),
        ),
        ("limits.page_size_max", u64::from(limits.page_size_max)),
        (
            "limits.directory_watchers_max",
            limits.directory_watchers_max as u64,
        ),
    ])
}
