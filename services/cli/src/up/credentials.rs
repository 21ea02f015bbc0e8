//! The federation's PKI in `DIR/pki` (`accord pki`'s layout), made on the first run and kept:
//! the root CA, which also issues the members' certificates (a local federation has no
//! offline root), the coordinator's certificate and directory-signing key, and the
//! federation's operator (`spiffe://accord/operator/federation`), which records the
//! agreements and opens rounds. The states' keys are not made here: each state makes its own
//! when it joins (`accord_coordinator::joining`).
//!
//! Also the mTLS channels `accord up` opens as a client: as the operator to the coordinator,
//! as a node to the coordinator, as a gateway to a node.

use std::path::PathBuf;

use accord_domain::StateCode;
use accord_trust::clock::wall_clock_now;
use accord_trust::pki::directory::PkiDirectory;
use accord_trust::pki::{IssueRequest, Validity};
use accord_trust::{ClientTls, Identity, OperatorName, PeerIdentity};
use tonic::transport::Channel;

use super::folder::Folder;

/// The operator `accord up` acts as (`accord coordinator … --pki DIR/pki --operator
/// federation` acts as it too).
pub const OPERATOR: &str = "federation";

/// How long the root CA lasts, in days (ten years).
const ROOT_DAYS: u32 = 3650;

/// How long the root's first revocation list lasts, in days (nothing reads it: the
/// coordinator publishes its own).
const ROOT_CRL_DAYS: u32 = 365;

/// How long the coordinator's and the operator's certificates last, in days (the most the
/// coordinator allows its members' certificates, so a federation resumed months later still
/// starts).
pub const CERTIFICATE_DAYS: u32 = 825;

/// Why the PKI could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `accord pki`'s directory refused.
    #[error("the federation's PKI in {0}")]
    Pki(PathBuf, #[source] accord_trust::pki::directory::Error),
    /// A validity window could not be computed.
    #[error("a certificate's validity")]
    Validity(#[source] accord_trust::pki::Error),
    /// A certificate or key could not be loaded.
    #[error("the credentials of {0}")]
    Credentials(String, #[source] accord_trust::credentials::Error),
    /// A server could not be reached.
    #[error("connecting to {0}")]
    Connect(String, #[source] accord_trust::channel::Error),
}

/// The PKI's files, as the servers and `federation.json` name them.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The root's certificate.
    pub ca_cert: PathBuf,
    /// The root's key (it also issues members' certificates).
    pub ca_key: PathBuf,
    /// The coordinator's certificate chain and key.
    pub coordinator_cert: PathBuf,
    /// The coordinator's TLS key.
    pub coordinator_key: PathBuf,
    /// The coordinator's Ed25519 directory-signing key.
    pub coordinator_signing_key: PathBuf,
    /// The operator's certificate.
    pub operator_cert: PathBuf,
    /// The operator's key.
    pub operator_key: PathBuf,
}

/// Makes what is missing of the PKI (everything on a first run, nothing on a later one).
pub fn ensure(folder: &Folder) -> Result<Pki, Error> {
    let pki_error = |error| Error::Pki(folder.pki(), error);
    let directory = PkiDirectory::new(folder.pki());
    let now = wall_clock_now();
    let days = |days| Validity::days_from(now, days).map_err(Error::Validity);
    if !directory.ca_certificate_path().exists() {
        directory
            .init(days(ROOT_DAYS)?, days(ROOT_CRL_DAYS)?)
            .map_err(pki_error)?;
    }
    let operator = operator();
    for identity in [PeerIdentity::Coordinator, operator.clone()] {
        if !directory.certificate_path(&identity).exists() {
            let request = IssueRequest::new(identity, days(CERTIFICATE_DAYS)?);
            directory.issue(&request, false).map_err(pki_error)?;
        }
    }
    Ok(Pki {
        ca_cert: directory.ca_certificate_path(),
        ca_key: directory.ca_key_path(),
        coordinator_cert: directory.certificate_path(&PeerIdentity::Coordinator),
        coordinator_key: directory.key_path(&PeerIdentity::Coordinator),
        coordinator_signing_key: directory.coordinator_signing_key_path(),
        operator_cert: directory.certificate_path(&operator),
        operator_key: directory.key_path(&operator),
    })
}

/// The federation's operator.
pub fn operator() -> PeerIdentity {
    PeerIdentity::Operator(OperatorName::parse(OPERATOR).expect("a valid operator name"))
}

/// A gateway's files in a joined state's folder.
pub fn gateway_files(folder: &Folder, state: StateCode) -> (PathBuf, PathBuf) {
    let joined = accord_coordinator::joining::JoinedFolder::new(folder.state(state));
    (joined.gateway_certificate(), joined.gateway_key())
}

/// An mTLS channel to `address` with the certificate and key given, which requires the
/// server to be `server` and to verify for 127.0.0.1.
pub async fn channel(
    ca_cert: &std::path::Path,
    client: (&std::path::Path, &std::path::Path),
    address: std::net::SocketAddr,
    server: PeerIdentity,
) -> Result<Channel, Error> {
    let credentials_error = |error| Error::Credentials(client.0.display().to_string(), error);
    let identity = Identity::load(client.0, client.1).map_err(credentials_error)?;
    let ca = accord_trust::credentials::load_ca(ca_cert).map_err(credentials_error)?;
    let connect_error = |error| Error::Connect(server.to_string(), error);
    let tls = ClientTls::new(&identity, &ca, &address.ip().to_string())
        .map_err(connect_error)?
        .expect_peer(server.clone());
    accord_trust::connect(&format!("https://{address}"), &tls)
        .await
        .map_err(connect_error)
}

/// The root's certificate, PEM, as `accord join` is given it.
pub fn ca_pem(pki: &Pki) -> Result<String, Error> {
    std::fs::read_to_string(&pki.ca_cert).map_err(|source| {
        Error::Credentials(
            "the network".to_owned(),
            accord_trust::credentials::Error::File {
                path: pki.ca_cert.clone(),
                source,
            },
        )
    })
}
