//! The joining state's side of enrolment (`accord join`): everything a ministry needs to run
//! its node is made in its own folder, and no private key ever leaves it.
//!
//! [`join`] generates the node's and the gateway's TLS keys and the state's Ed25519 event key
//! in the folder (mode 0600), sends the CSRs and the public event key to the coordinator's
//! `Enrol` with the one-time token over server-authenticated TLS (the joining state has no
//! certificate yet; the coordinator's is checked against the network's root and must name
//! `spiffe://accord/coordinator`), and writes what comes back beside the keys: the
//! certificate chains, the root, the first signed directory, the coordinator's directory key,
//! and a ready node configuration.
//!
//! A join that fails after its request was made can be run again with the same folder: the
//! keys, the CSRs and the idempotency key are kept (`enrolment-request.json`), so the retry
//! sends the very same request and the coordinator answers it with the same certificates. A
//! folder that already holds certificates is never overwritten.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use accord_domain::StateCode;
use accord_domain::membership::Endpoint;
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::pki::csr::{KeyAndRequest, key_and_request};
use accord_trust::{CaBundle, ClientTls, EventSigningKey, EventVerifyingKey, PeerIdentity};
use serde::{Deserialize, Serialize};

/// Why a join failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The request cannot be made as given (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The folder already holds a member's certificates.
    #[error("{0} already holds certificates: this state has joined; use another --dir")]
    AlreadyJoined(PathBuf),
    /// A file could not be read or written.
    #[error("{path}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A key or a request could not be made.
    #[error("making the keys and requests")]
    Keys(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The coordinator could not be reached.
    #[error("connecting to the coordinator at {endpoint}")]
    Connect {
        /// Where.
        endpoint: String,
        /// Why.
        #[source]
        source: accord_trust::channel::Error,
    },
    /// The coordinator refused the enrolment.
    #[error("the coordinator refused the enrolment: {}", .0.message())]
    Refused(tonic::Status),
    /// The coordinator's answer is not what `Enrol` promises.
    #[error("the coordinator's answer is incomplete: {0}")]
    Answer(String),
}

impl JoinError {
    /// Whether the user's input is at fault (exit code 2).
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::Usage(_) | Self::AlreadyJoined(_))
    }
}

/// What a state needs to join.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The coordinator, `https://host:port` or `host:port`.
    pub coordinator: String,
    /// The network's root certificate, PEM, as the network published it.
    pub ca_pem: String,
    /// The joining state.
    pub state: StateCode,
    /// The one-time token an operator gave the state.
    pub token: String,
    /// The node's endpoint as partners will reach it, `https://host:port` or `host:port`.
    pub endpoint: String,
    /// Where the node will listen; default: the endpoint's address.
    pub listen_addr: Option<SocketAddr>,
    /// The folder for the keys, certificates and configuration.
    pub dir: PathBuf,
}

/// What a join wrote.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The member as the directory lists it.
    pub member: pb::Member,
    /// The directory version that lists it.
    pub directory_version: u64,
    /// The node configuration, ready for `accord node --config`.
    pub node_config: PathBuf,
}

/// The files of a joined state's folder.
pub struct JoinedFolder {
    dir: PathBuf,
}

impl JoinedFolder {
    /// The folder `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The network's root certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The node's certificate chain.
    pub fn node_certificate(&self) -> PathBuf {
        self.dir.join("node.pem")
    }

    /// The node's TLS key.
    pub fn node_key(&self) -> PathBuf {
        self.dir.join("node.key")
    }

    /// The gateway's certificate chain.
    pub fn gateway_certificate(&self) -> PathBuf {
        self.dir.join("gateway.pem")
    }

    /// The gateway's TLS key.
    pub fn gateway_key(&self) -> PathBuf {
        self.dir.join("gateway.key")
    }

    /// The state's Ed25519 event-signing key.
    pub fn signing_key(&self) -> PathBuf {
        self.dir.join("signing.key")
    }

    /// The coordinator's directory-signing public key.
    pub fn coordinator_key(&self) -> PathBuf {
        self.dir.join("coordinator.signing.pub")
    }

    /// The first signed directory, protobuf bytes.
    pub fn directory(&self) -> PathBuf {
        self.dir.join("directory.bin")
    }

    /// The node's configuration.
    pub fn node_config(&self) -> PathBuf {
        self.dir.join("node.toml")
    }

    /// The request kept for a retry.
    fn request(&self) -> PathBuf {
        self.dir.join("enrolment-request.json")
    }
}

/// The request as kept for a retry: everything but the token, whose secret is not written.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeptRequest {
    idempotency_key: String,
    state: String,
    node_endpoint: String,
    node_csr_pem: String,
    gateway_csr_pem: String,
}

/// Joins the network (see the module documentation).
pub async fn join(request: JoinRequest) -> Result<Joined, JoinError> {
    let folder = JoinedFolder::new(&request.dir);
    if folder.node_certificate().exists() {
        return Err(JoinError::AlreadyJoined(request.dir.clone()));
    }
    let coordinator = https(&request.coordinator, "--coordinator")?;
    let endpoint = https(&request.endpoint, "--endpoint")?;
    let listen_addr = match request.listen_addr {
        Some(address) => address,
        None => authority(&endpoint).parse().map_err(|_| {
            JoinError::Usage(format!(
                "--endpoint {endpoint} is not an IP address and port: give --listen ADDRESS:PORT"
            ))
        })?,
    };
    let ca = CaBundle::from_pem(&request.ca_pem)
        .map_err(|error| JoinError::Usage(format!("--ca: {error}")))?;
    let enrol = enrol_request(&request)?;
    let mut client = connect(&coordinator, &ca).await?;
    let answer = client
        .enrol(enrol)
        .await
        .map_err(JoinError::Refused)?
        .into_inner();
    write_answer(&folder, &request, &answer)?;
    let directory = answer
        .directory
        .as_ref()
        .and_then(|signed| signed.directory.as_ref())
        .ok_or_else(|| JoinError::Answer("no directory".to_owned()))?;
    write_node_config(&folder, request.state, listen_addr, &coordinator)?;
    Ok(Joined {
        member: answer
            .member
            .clone()
            .ok_or_else(|| JoinError::Answer("no member".to_owned()))?,
        directory_version: directory.version,
        node_config: folder.node_config(),
    })
}

/// What a join sends: the keys are made in the folder first (or kept from an earlier
/// attempt), and only the CSRs and the public event key go into the request.
pub fn enrol_request(request: &JoinRequest) -> Result<pb::EnrolRequest, JoinError> {
    let folder = JoinedFolder::new(&request.dir);
    let endpoint = https(&request.endpoint, "--endpoint")?;
    create_folder(&request.dir)?;
    let kept = prepare(&folder, request, &endpoint)?;
    let signing_key = EventSigningKey::load(&folder.signing_key()).map_err(boxed)?;
    Ok(pb::EnrolRequest {
        idempotency_key: kept.idempotency_key,
        enrolment_token: request.token.clone(),
        state: request.state.to_string(),
        node_csr_pem: kept.node_csr_pem,
        gateway_csr_pem: kept.gateway_csr_pem,
        node_endpoint: kept.node_endpoint,
        signing_public_key: signing_key.verifying_key().to_bytes().to_vec(),
    })
}

/// The keys and the request, made now or kept from an earlier attempt.
fn prepare(
    folder: &JoinedFolder,
    request: &JoinRequest,
    endpoint: &str,
) -> Result<KeptRequest, JoinError> {
    if folder.request().exists() {
        let text = read(&folder.request())?;
        let kept: KeptRequest = serde_json::from_str(&text).map_err(boxed)?;
        if kept.state != request.state.as_str() || kept.node_endpoint != endpoint {
            return Err(JoinError::Usage(format!(
                "{} holds an earlier request for {} at {}: use another --dir",
                folder.request().display(),
                kept.state,
                kept.node_endpoint
            )));
        }
        return Ok(kept);
    }
    let node = key_and_request(&PeerIdentity::Node(request.state)).map_err(boxed)?;
    let gateway = key_and_request(&PeerIdentity::Gateway(request.state)).map_err(boxed)?;
    let signing_key = EventSigningKey::generate().map_err(boxed)?;
    write_secret(&folder.node_key(), &node)?;
    write_secret(&folder.gateway_key(), &gateway)?;
    signing_key.save(&folder.signing_key()).map_err(boxed)?;
    let kept = KeptRequest {
        idempotency_key: format!("join-{}", signing_key.key_id()),
        state: request.state.to_string(),
        node_endpoint: endpoint.to_owned(),
        node_csr_pem: node.csr_pem,
        gateway_csr_pem: gateway.csr_pem,
    };
    let text = serde_json::to_string_pretty(&kept).map_err(boxed)?;
    write_new(&folder.request(), text.as_bytes(), PUBLIC_MODE)?;
    Ok(kept)
}

/// A client of the coordinator without a certificate, which must present the
/// coordinator's.
async fn connect(
    coordinator: &str,
    ca: &CaBundle,
) -> Result<MembershipServiceClient<tonic::transport::Channel>, JoinError> {
    let connect_error = |source| JoinError::Connect {
        endpoint: coordinator.to_owned(),
        source,
    };
    let config = accord_trust::tls::anonymous_client_config(ca)
        .map_err(|error| JoinError::Usage(format!("--ca: {error}")))?;
    let endpoint = Endpoint::parse(coordinator)
        .map_err(|error| JoinError::Usage(format!("--coordinator: {error}")))?;
    let host = endpoint.server_name();
    let tls = ClientTls::from_config(std::sync::Arc::new(config), host)
        .map_err(connect_error)?
        .expect_peer(PeerIdentity::Coordinator);
    let channel = accord_trust::connect(coordinator, &tls)
        .await
        .map_err(connect_error)?;
    Ok(MembershipServiceClient::new(channel))
}

/// Writes the certificates, the root, the directory and the coordinator's key.
fn write_answer(
    folder: &JoinedFolder,
    request: &JoinRequest,
    answer: &pb::EnrolResponse,
) -> Result<(), JoinError> {
    if answer.node_certificate_chain_pem.is_empty() {
        return Err(JoinError::Answer("no node certificate".to_owned()));
    }
    let signed = answer
        .directory
        .as_ref()
        .ok_or_else(|| JoinError::Answer("no directory".to_owned()))?;
    let coordinator_key = signed
        .directory
        .as_ref()
        .and_then(|directory| directory.coordinator_signing_keys.first())
        .ok_or_else(|| JoinError::Answer("no coordinator key in the directory".to_owned()))?;
    let key_bytes: [u8; 32] = coordinator_key
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| JoinError::Answer("a coordinator key is not 32 bytes".to_owned()))?;
    let coordinator_key = EventVerifyingKey::from_bytes(&key_bytes).map_err(boxed)?;
    // The root handed out must be the one this state trusted for the connection.
    if answer.ca_certificate_pem.trim() != request.ca_pem.trim() {
        return Err(JoinError::Answer(
            "the coordinator names another root CA than --ca".to_owned(),
        ));
    }
    write_new(&folder.ca(), request.ca_pem.as_bytes(), PUBLIC_MODE)?;
    write_new(
        &folder.gateway_certificate(),
        answer.gateway_certificate_chain_pem.as_bytes(),
        PUBLIC_MODE,
    )?;
    write_new(
        &folder.directory(),
        &prost::Message::encode_to_vec(signed),
        PUBLIC_MODE,
    )?;
    coordinator_key
        .save(&folder.coordinator_key())
        .map_err(boxed)?;
    // Last: a node certificate is what marks the folder as joined.
    write_new(
        &folder.node_certificate(),
        answer.node_certificate_chain_pem.as_bytes(),
        PUBLIC_MODE,
    )
}

/// Writes a node configuration naming the folder's files and the coordinator.
fn write_node_config(
    folder: &JoinedFolder,
    state: StateCode,
    listen_addr: SocketAddr,
    coordinator: &str,
) -> Result<(), JoinError> {
    let path = |file: PathBuf| toml_string(&file.display().to_string());
    let database = folder.dir.join(format!("accord-node-{state}.db"));
    let text = format!(
        "# The node of {state}, written by `accord join`. Every key is documented in\n\
         # services/node/src/config.rs; ACCORD_NODE_* variables override them.\n\
         state = \"{state}\"\n\
         listen_addr = \"{listen_addr}\"\n\
         database_url = {database_url}\n\
         \n\
         [tls]\n\
         ca = {ca}\n\
         certificate = {certificate}\n\
         private_key = {private_key}\n\
         signing_key = {signing_key}\n\
         \n\
         [coordinator]\n\
         endpoint = {coordinator}\n\
         signing_public_key = {coordinator_key}\n\
         first_directory = {directory}\n",
        database_url = toml_string(&format!("sqlite://{}?mode=rwc", database.display())),
        ca = path(folder.ca()),
        certificate = path(folder.node_certificate()),
        private_key = path(folder.node_key()),
        signing_key = path(folder.signing_key()),
        coordinator = toml_string(coordinator),
        coordinator_key = path(folder.coordinator_key()),
        directory = path(folder.directory()),
    );
    write_new(&folder.node_config(), text.as_bytes(), PUBLIC_MODE)
}

/// `text` as a TOML string, escaped as TOML requires.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// `text` as an `https://` URI (a bare `host:port` gets the scheme).
fn https(text: &str, option: &str) -> Result<String, JoinError> {
    let uri = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    match Endpoint::parse(&uri) {
        Ok(endpoint) => Ok(endpoint.as_str().to_owned()),
        Err(error) => Err(JoinError::Usage(format!("{option} {text:?}: {error}"))),
    }
}

/// The `host:port` of an `https://` URI.
fn authority(uri: &str) -> &str {
    uri.trim_start_matches("https://").trim_end_matches('/')
}

/// Mode of the files anyone may read.
const PUBLIC_MODE: u32 = 0o644;

/// Mode of the private keys.
const SECRET_MODE: u32 = 0o600;

fn create_folder(dir: &Path) -> Result<(), JoinError> {
    std::fs::create_dir_all(dir).map_err(|source| JoinError::File {
        path: dir.to_owned(),
        source,
    })
}

fn write_secret(path: &Path, made: &KeyAndRequest) -> Result<(), JoinError> {
    write_new(path, made.key_pem.as_bytes(), SECRET_MODE)
}

/// Writes a file that must not exist yet, with `mode`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), JoinError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file_error = |source| JoinError::File {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(file_error)?;
    file.write_all(bytes).map_err(file_error)?;
    file.sync_all().map_err(file_error)
}

fn read(path: &Path) -> Result<String, JoinError> {
    std::fs::read_to_string(path).map_err(|source| JoinError::File {
        path: path.to_owned(),
        source,
    })
}

fn boxed(error: impl std::error::Error + Send + Sync + 'static) -> JoinError {
    JoinError::Keys(Box::new(error))
}
