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
//! [enrolment]                                    # optional, defaults shown in `Enrolment`
//! token_ttl_hours_max = 720
//!
//! [limits]                                       # optional, defaults shown in `Limits`
//! max_message_bytes = 4194304
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Why a configuration cannot be used. The coordinator exits with code 64 before binding.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file or a variable could not be read or has the wrong shape.
    #[error("the configuration cannot be read")]
    Load(#[from] Box<figment::Error>),
    /// A value is present but invalid.
    #[error("configuration key `{key}`: {problem}")]
    Invalid {
        /// The offending key, e.g. `tls.ca`.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

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
    /// Enrolment tokens.
    #[serde(default)]
    pub enrolment: Enrolment,
    /// Resource limits.
    #[serde(default)]
    pub limits: Limits,
}

/// PKI paths as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// The network's root CA certificate (PEM).
    pub ca: Option<PathBuf>,
    /// The network CRL (PEM); optional.
    pub crl: Option<PathBuf>,
    /// The coordinator's certificate (PEM), `spiffe://accord/coordinator`.
    pub certificate: Option<PathBuf>,
    /// Its TLS private key (PEM).
    pub private_key: Option<PathBuf>,
    /// Its Ed25519 key, which signs the directory (PEM).
    pub signing_key: Option<PathBuf>,
}

/// How enrolment tokens may be issued.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Enrolment {
    /// The longest an operator may let a token live, in hours (at most 720, 30 days).
    pub token_ttl_hours_max: u32,
}

impl Default for Enrolment {
    fn default() -> Self {
        Self {
            token_ttl_hours_max: 720,
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
    /// Enrolment tokens.
    pub enrolment: Enrolment,
    /// Resource limits.
    pub limits: Limits,
}

/// Validated PKI paths (existence is checked when the coordinator loads them).
#[derive(Debug, Clone)]
pub struct TlsPaths {
    /// The root CA certificate.
    pub ca: PathBuf,
    /// The CRL, if any.
    pub crl: Option<PathBuf>,
    /// The coordinator's certificate.
    pub certificate: PathBuf,
    /// Its TLS key.
    pub private_key: PathBuf,
    /// Its directory-signing key.
    pub signing_key: PathBuf,
}

impl CoordinatorConfig {
    /// Reads defaults, then `file` (if given), then `ACCORD_COORDINATOR_*` variables, and
    /// validates the result.
    pub fn load(file: Option<&Path>) -> Result<Self, Error> {
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("ACCORD_COORDINATOR_").split("__"));
        let raw: RawConfig = figment.extract().map_err(Box::new)?;
        raw.validate()
    }
}

impl RawConfig {
    /// Checks every value and types it.
    pub fn validate(self) -> Result<CoordinatorConfig, Error> {
        let listen_addr = required("listen_addr", self.listen_addr.as_deref())?;
        let listen_addr: SocketAddr = listen_addr.parse().map_err(|error| {
            invalid(
                "listen_addr",
                format!("{listen_addr:?} is not host:port ({error})"),
            )
        })?;
        let endpoint = required("endpoint", self.endpoint.as_deref())?;
        if !endpoint.starts_with("https://") {
            return Err(invalid(
                "endpoint",
                format!("{endpoint:?} is not https://host:port"),
            ));
        }
        let database_url = self
            .database_url
            .unwrap_or_else(|| "sqlite://accord-coordinator.db?mode=rwc".to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database_url",
                "must start with sqlite: or postgres://".into(),
            ));
        }
        let tls = self
            .tls
            .ok_or_else(|| invalid("tls", "the [tls] table is required".into()))?;
        let tls = TlsPaths {
            ca: required_path("tls.ca", tls.ca)?,
            crl: tls.crl,
            certificate: required_path("tls.certificate", tls.certificate)?,
            private_key: required_path("tls.private_key", tls.private_key)?,
            signing_key: required_path("tls.signing_key", tls.signing_key)?,
        };
        if !(1..=720).contains(&self.enrolment.token_ttl_hours_max) {
            return Err(invalid(
                "enrolment.token_ttl_hours_max",
                "must be 1 to 720 (30 days)".into(),
            ));
        }
        validate_limits(&self.limits)?;
        Ok(CoordinatorConfig {
            listen_addr,
            endpoint: endpoint.to_owned(),
            database_url,
            tls,
            enrolment: self.enrolment,
            limits: self.limits,
        })
    }
}

fn validate_limits(limits: &Limits) -> Result<(), Error> {
    let positive = [
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
    ];
    match positive.iter().find(|(_, value)| *value == 0) {
        Some((key, _)) => Err(invalid(key, "must be greater than 0".into())),
        None => Ok(()),
    }
}

fn required<'a>(key: &str, value: Option<&'a str>) -> Result<&'a str, Error> {
    value
        .filter(|text| !text.is_empty())
        .ok_or_else(|| invalid(key, "is required".into()))
}

fn required_path(key: &str, value: Option<PathBuf>) -> Result<PathBuf, Error> {
    value
        .filter(|path| !path.as_os_str().is_empty())
        .ok_or_else(|| invalid(key, "is required".into()))
}

fn invalid(key: &str, problem: String) -> Error {
    Error::Invalid {
        key: key.to_owned(),
        problem,
    }
}
