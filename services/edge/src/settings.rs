//! What every Accord server's configuration shares: the layers (defaults, then a TOML file,
//! then `ACCORD_<SERVICE>_*` variables, nested keys split on `__`), the one error a bad
//! value gives (the process exits 64 before any port is bound), the `[tls]` table, and the
//! checks every service makes alike (an address, a database URL, a positive limit).
//!
//! Each service keeps its own typed configuration and its own rules; only what is the same
//! everywhere lives here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file or a variable could not be read or has the wrong shape.
    #[error("the configuration cannot be read")]
    Load(#[from] Box<figment::Error>),
    /// A value is present but invalid.
    #[error("configuration key `{key}`: {problem}")]
    Invalid {
        /// The offending key, e.g. `partners[1].state`.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Reads `defaults`, then `file` (if given), then the variables named `{env_prefix}KEY`
/// (`ACCORD_NODE_TLS__CA` sets `tls.ca`), into the raw configuration `R`.
pub fn load<R>(defaults: R, file: Option<&Path>, env_prefix: &str) -> Result<R, Error>
where
    R: Serialize + DeserializeOwned,
{
    let mut figment = Figment::from(Serialized::defaults(defaults));
    if let Some(file) = file {
        figment = figment.merge(Toml::file_exact(file));
    }
    figment = figment.merge(Env::prefixed(env_prefix).split("__"));
    Ok(figment.extract().map_err(Box::new)?)
}

/// The `[tls]` table as written: the PKI paths every server names.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// The network's root CA certificate (PEM): the trust anchor.
    pub ca: Option<PathBuf>,
    /// The network CRL file (PEM; every CRL in it is loaded: under an issuing CA, its list
    /// and the root's); optional.
    pub crl: Option<PathBuf>,
    /// This server's certificate (PEM).
    pub certificate: Option<PathBuf>,
    /// This server's TLS private key (PEM).
    pub private_key: Option<PathBuf>,
    /// This server's Ed25519 signing key (PEM): a state's event key, the coordinator's
    /// directory key.
    pub signing_key: Option<PathBuf>,
}

/// The `[tls]` table, checked (the files are read when the server starts).
#[derive(Debug, Clone)]
pub struct TlsPaths {
    /// The network's root CA certificate.
    pub ca: PathBuf,
    /// The CRL, if any.
    pub crl: Option<PathBuf>,
    /// This server's certificate.
    pub certificate: PathBuf,
    /// Its TLS key.
    pub private_key: PathBuf,
    /// Its Ed25519 signing key.
    pub signing_key: PathBuf,
}

impl RawTls {
    /// Checks that the table is there and names every required file.
    pub fn validate(raw: Option<Self>) -> Result<TlsPaths, Error> {
        let tls = raw.ok_or_else(|| invalid("tls", "the [tls] table is required"))?;
        Ok(TlsPaths {
            ca: required_path("tls.ca", tls.ca)?,
            crl: tls.crl,
            certificate: required_path("tls.certificate", tls.certificate)?,
            private_key: required_path("tls.private_key", tls.private_key)?,
            signing_key: required_path("tls.signing_key", tls.signing_key)?,
        })
    }
}

/// `key`'s value, which has no default.
pub fn required<'a>(key: &str, value: Option<&'a str>) -> Result<&'a str, Error> {
    value
        .filter(|text| !text.is_empty())
        .ok_or_else(|| invalid(key, "is required (no default)"))
}

/// `key`'s path, which has no default.
pub fn required_path(key: &str, value: Option<PathBuf>) -> Result<PathBuf, Error> {
    value
        .filter(|path| !path.as_os_str().is_empty())
        .ok_or_else(|| invalid(key, "is required (no default)"))
}

/// `key`'s `host:port`, which has no default.
pub fn socket_address(key: &str, value: Option<&str>) -> Result<SocketAddr, Error> {
    let text = required(key, value)?;
    text.parse()
        .map_err(|error| invalid(key, format!("{text:?} is not host:port ({error})")))
}

/// The database URL, `default` when none is given: SQLite or PostgreSQL only.
pub fn database_url(
    value: Option<String>,
    default: impl FnOnce() -> String,
) -> Result<String, Error> {
    let url = value.unwrap_or_else(default);
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if known.iter().any(|scheme| url.starts_with(scheme)) {
        Ok(url)
    } else {
        Err(invalid(
            "database_url",
            "must start with sqlite: or postgres://",
        ))
    }
}

/// Refuses the first of `values` that is zero: a limit of zero would refuse everything.
pub fn positive(values: &[(&str, u64)]) -> Result<(), Error> {
    match values.iter().find(|(_, value)| *value == 0) {
        Some((key, _)) => Err(invalid(key, "must be greater than 0")),
        None => Ok(()),
    }
}

/// The error for `key`'s value.
pub fn invalid(key: &str, problem: impl Into<String>) -> Error {
    Error::Invalid {
        key: key.to_owned(),
        problem: problem.into(),
    }
}
