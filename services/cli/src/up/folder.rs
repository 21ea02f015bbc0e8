//! The federation's folder, `DIR`, and the two files `accord up` keeps there besides the PKI
//! (`DIR/pki/`, `accord pki`'s layout), the coordinator's store (`DIR/coordinator/`) and the
//! states' folders (`DIR/FR/`, `accord join`'s layout):
//!
//! - `up.json`, what a later run resumes from: the federation's states, the address each
//!   server listened on (tried again first) and the gateways' tokens;
//! - `up.lock`, held by the running `accord up` (one per folder);
//! - `federation.json`, what clients read: where everything runs and with which credentials,
//!   written only once everything answers its health check and removed at shutdown.
//!
//! Nothing here starts a server or opens a socket.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use accord_domain::StateCode;
use serde::{Deserialize, Serialize};

/// Why the folder cannot be used or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The folder is not one `accord up` can use (exit code 2); the text says why.
    #[error("{0}")]
    Unusable(String),
    /// A file could not be read or written.
    #[error("{path}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `up.json` is not what `accord up` writes.
    #[error("{path} is not a record `accord up` wrote")]
    Record {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// The folder of a federation, by its absolute path.
#[derive(Debug, Clone)]
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    /// The folder `dir`, made absolute against the working folder (federation.json names
    /// absolute paths).
    pub fn new(dir: &Path) -> Result<Self, Error> {
        let root = std::path::absolute(dir).map_err(|source| Error::File {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Self { root })
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The network's PKI (`accord pki`'s layout).
    pub fn pki(&self) -> PathBuf {
        self.root.join("pki")
    }

    /// The coordinator's SQLite store.
    pub fn coordinator_database(&self) -> PathBuf {
        self.root.join("coordinator").join("coordinator.db")
    }

    /// A state's folder, as `accord join` fills it.
    pub fn state(&self, state: StateCode) -> PathBuf {
        self.root.join(state.as_str())
    }

    /// A state's node's SQLite store (the name `accord join`'s `node.toml` gives it).
    pub fn node_database(&self, state: StateCode) -> PathBuf {
        self.state(state).join(format!("accord-node-{state}.db"))
    }

    /// What a later run resumes from.
    pub fn record(&self) -> PathBuf {
        self.root.join("up.json")
    }

    /// What clients read.
    pub fn federation(&self) -> PathBuf {
        self.root.join("federation.json")
    }

    /// The record of an earlier run, if there is one; reads nothing else, writes nothing.
    pub fn read_record(&self) -> Result<Option<Record>, Error> {
        if !self.record().exists() {
            return Ok(None);
        }
        let text = read(&self.record())?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| Error::Record {
                path: self.record(),
                source,
            })
    }

    /// Takes the folder for this run: checks it can hold a federation — a new or empty
    /// folder, or one with a record — and can be written, creates it, locks it (one
    /// `accord up` per folder), and returns its record (empty for a new folder) and the lock,
    /// held until the federation stops.
    pub fn open(&self) -> Result<(Record, std::fs::File), Error> {
        let record = match self.read_record()? {
            Some(record) => record,
            None if has_entries(&self.root) => {
                return Err(Error::Unusable(format!(
                    "{} holds files but no federation (up.json): give an empty or new folder",
                    self.root.display()
                )));
            }
            None => Record::default(),
        };
        let unwritable = |error: std::io::Error| {
            Error::Unusable(format!(
                "{} is not a folder this user can write: {error}",
                self.root.display()
            ))
        };
        std::fs::create_dir_all(&self.root).map_err(unwritable)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.root.join("up.lock"))
            .map_err(unwritable)?;
        lock.try_lock().map_err(|_| {
            Error::Unusable(format!(
                "another `accord up` runs on {} (it holds up.lock)",
                self.root.display()
            ))
        })?;
        // A federation.json left by a run that did not stop cleanly names servers that are
        // gone.
        self.remove_federation()?;
        Ok((record, lock))
    }

    /// Writes `record` (through a temporary file and a rename).
    pub fn save_record(&self, record: &Record) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(record).map_err(|source| Error::Record {
            path: self.record(),
            source,
        })?;
        write_replacing(&self.record(), text.as_bytes())
    }

    /// Writes `federation.json` (through a temporary file and a rename, so a reader never
    /// sees half of it).
    pub fn write_federation(&self, description: &Description) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(description).map_err(|source| Error::Record {
            path: self.federation(),
            source,
        })?;
        write_replacing(&self.federation(), format!("{text}\n").as_bytes())
    }

    /// Removes `federation.json`, if it is there.
    pub fn remove_federation(&self) -> Result<(), Error> {
        match std::fs::remove_file(self.federation()) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(Error::File {
                path: self.federation(),
                source: error,
            }),
            _ => Ok(()),
        }
    }
}

/// What a later run resumes from (`up.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The federation's states, in the order first given.
    pub states: Vec<String>,
    /// Where the coordinator listened.
    pub coordinator: Option<SocketAddr>,
    /// Where each state's node listened.
    #[serde(default)]
    pub nodes: BTreeMap<String, SocketAddr>,
    /// Where each state's gateway listened.
    #[serde(default)]
    pub gateways: BTreeMap<String, SocketAddr>,
    /// Where the coordinator's gateway listened.
    #[serde(default)]
    pub coordinator_gateway: Option<SocketAddr>,
    /// The gateways' bearer tokens, by role (`caseworker:FR`, `operator`, `diplomat`): made
    /// at the first run, kept so that a resumed federation answers the same tokens.
    #[serde(default)]
    pub tokens: BTreeMap<String, String>,
}

/// `federation.json`: where everything runs, and the credentials to call it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Description {
    /// The network root's certificate: every server's certificate chains to it.
    pub ca_cert: PathBuf,
    /// The network root's key (a local federation belongs to whoever started it).
    pub ca_key: PathBuf,
    /// The coordinator.
    pub coordinator: CoordinatorEntry,
    /// Each state's node, by state code.
    pub states: BTreeMap<String, StateEntry>,
    /// The gateways' bearer tokens, by role: `caseworker:FR` (FR's gateway), `operator` and
    /// `diplomat` (read-only).
    pub tokens: BTreeMap<String, String>,
}

/// The coordinator in `federation.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoordinatorEntry {
    /// Its gRPC address, `127.0.0.1:PORT` (mTLS).
    pub grpc: SocketAddr,
    /// Its operators' and diplomats' gateway, `http://127.0.0.1:PORT`: REST and the pages
    /// (`/rounds`, `/breaks`, `/quotas`).
    pub gateway: String,
    /// The federation's operator certificate (`spiffe://accord/operator/federation`).
    pub operator_cert: PathBuf,
    /// Its key.
    pub operator_key: PathBuf,
}

/// A state in `federation.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateEntry {
    /// Its node's gRPC address, `127.0.0.1:PORT` (mTLS).
    pub grpc: SocketAddr,
    /// Its gateway, `http://127.0.0.1:PORT`: REST for its case system (`/openapi.json`) and
    /// its caseworkers' pages.
    pub gateway: String,
    /// The state's gateway certificate (`spiffe://accord/state/FR/gateway`): a client of
    /// that state's node.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

fn has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::File {
        path: path.to_owned(),
        source,
    })
}

fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let file_error = |source| Error::File {
        path: path.to_owned(),
        source,
    };
    let temporary = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&temporary).map_err(file_error)?;
    file.write_all(bytes).map_err(file_error)?;
    file.sync_all().map_err(file_error)?;
    std::fs::rename(&temporary, path).map_err(file_error)
}
