//! Opening tonic channels over Accord's mTLS client configuration.
//!
//! tonic's own `ClientTlsConfig` would do for trust and identity, but it builds its rustls
//! configuration from the process-wide provider and cannot check who answered beyond the
//! host name. Here the channel connects through a small connector instead: TCP, then the
//! TLS handshake with exactly the [`crate::tls::client_config`] configuration, a check that
//! `h2` was negotiated, and — when asked with [`ClientTls::expect_peer`] — a check that the
//! server's certificate names the expected peer (a node on `localhost` must really be FR's
//! node, not any node the CA certified for `localhost`).
//!
//! Endpoints are written `https://host:port`. The channel itself is tonic's: it reconnects
//! on demand and multiplexes calls over one HTTP/2 connection.

use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint};

use crate::credentials::{CaBundle, Identity};
use crate::identity::PeerIdentity;
use crate::tls::ALPN_H2;

/// Longest a connection attempt (TCP and TLS handshake together) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a channel could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The endpoint is not an `https://host:port` URI.
    #[error("endpoint {0:?} must be an https://host:port URI")]
    Endpoint(String),
    /// The server name is not a DNS name or IP address.
    #[error("{0:?} is not a valid server name")]
    ServerName(String),
    /// The TLS configuration could not be built.
    #[error(transparent)]
    Tls(#[from] crate::tls::Error),
    /// tonic could not connect.
    #[error("cannot connect to {endpoint}")]
    Transport {
        /// The endpoint.
        endpoint: String,
        /// tonic's error.
        source: tonic::transport::Error,
    },
    /// TCP connection or TLS handshake failed.
    #[error("connection to {address} failed")]
    Connect {
        /// Host and port.
        address: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The server did not agree to speak HTTP/2.
    #[error("the server did not negotiate HTTP/2 (ALPN h2)")]
    NoHttp2,
    /// The server's certificate does not name the expected peer.
    #[error("expected {expected}, but the server's certificate names {found}")]
    UnexpectedPeer {
        /// Who was expected.
        expected: PeerIdentity,
        /// Who the certificate names, or why it names nobody.
        found: String,
    },
}

/// Everything a client needs to open channels: the rustls configuration, the name to
/// verify the server under, and optionally who the server must be.
#[derive(Clone, Debug)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    expected_peer: Option<PeerIdentity>,
}

impl ClientTls {
    /// Presents `identity`, trusts `ca`, and verifies the server under `server_name` (a DNS
    /// name or IP address from its certificate, e.g. `localhost` or `127.0.0.1`).
    pub fn new(identity: &Identity, ca: &CaBundle, server_name: &str) -> Result<Self, Error> {
        let config = crate::tls::client_config(identity, ca)?;
        Self::from_config(Arc::new(config), server_name)
    }

    /// Uses a ready configuration (e.g. [`crate::tls::client_config_with_crls`]).
    pub fn from_config(config: Arc<ClientConfig>, server_name: &str) -> Result<Self, Error> {
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| Error::ServerName(server_name.to_owned()))?;
        Ok(Self {
            config,
            server_name,
            expected_peer: None,
        })
    }

    /// Also requires the server's certificate to name `peer` (checked at every connect).
    pub fn expect_peer(mut self, peer: PeerIdentity) -> Self {
        self.expected_peer = Some(peer);
        self
    }
}

/// Connects to `endpoint_uri` (`https://host:port`) now; fails if the server cannot be
/// reached or refuses us during the handshake. With TLS 1.3 a server refuses a client
/// certificate only after the client's side of the handshake is done, so such a refusal
/// may surface on the first call instead.
pub async fn connect(endpoint_uri: &str, tls: &ClientTls) -> Result<Channel, Error> {
    let endpoint = endpoint(endpoint_uri)?;
    endpoint
        .connect_with_connector(connector(tls.clone()))
        .await
        .map_err(|source| Error::Transport {
            endpoint: endpoint_uri.to_owned(),
            source,
        })
}

/// Like [`connect`], but connects on first use (and again after a failure).
pub fn connect_lazy(endpoint_uri: &str, tls: &ClientTls) -> Result<Channel, Error> {
    Ok(endpoint(endpoint_uri)?.connect_with_connector_lazy(connector(tls.clone())))
}

/// tonic's connector would refuse an `https` URI without its own TLS, and the TLS here is
/// ours: the endpoint dials `http://host:port` through our connector, and its origin keeps
/// `https://host:port` so requests carry the scheme actually in use.
fn endpoint(endpoint_uri: &str) -> Result<Endpoint, Error> {
    let invalid = || Error::Endpoint(endpoint_uri.to_owned());
    let uri: Uri = endpoint_uri.parse().map_err(|_| invalid())?;
    if uri.scheme_str() != Some("https") || uri.port_u16().is_none() {
        return Err(invalid());
    }
    let authority = uri.authority().ok_or_else(invalid)?.as_str().to_owned();
    let dialled = Endpoint::from_shared(format!("http://{authority}")).map_err(|_| invalid())?;
    Ok(dialled.origin(uri).connect_timeout(CONNECT_TIMEOUT))
}

type Connection = TokioIo<tokio_rustls::client::TlsStream<TcpStream>>;

fn connector(
    tls: ClientTls,
) -> impl tower::Service<
    Uri,
    Response = Connection,
    Error = Error,
    Future = impl Future<Output = Result<Connection, Error>> + Send,
> + Send
+ Clone
+ 'static {
    tower::service_fn(move |uri: Uri| {
        let tls = tls.clone();
        async move { open(&uri, &tls).await }
    })
}

async fn open(uri: &Uri, tls: &ClientTls) -> Result<Connection, Error> {
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri.port_u16().unwrap_or_default();
    let address = format!("{host}:{port}");
    let connect_error = |source| Error::Connect {
        address: address.clone(),
        source,
    };
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(connect_error)?;
    tcp.set_nodelay(true).map_err(connect_error)?;
    let stream = TlsConnector::from(tls.config.clone())
        .connect(tls.server_name.clone(), tcp)
        .await
        .map_err(connect_error)?;
    let (_, session) = stream.get_ref();
    if session.alpn_protocol() != Some(ALPN_H2) {
        return Err(Error::NoHttp2);
    }
    if let Some(expected) = &tls.expected_peer {
        check_peer(expected, session.peer_certificates())?;
    }
    Ok(TokioIo::new(stream))
}

fn check_peer(
    expected: &PeerIdentity,
    certificates: Option<&[rustls::pki_types::CertificateDer<'static>]>,
) -> Result<(), Error> {
    let unexpected = |found: String| Error::UnexpectedPeer {
        expected: expected.clone(),
        found,
    };
    let leaf = certificates
        .and_then(|certificates| certificates.first())
        .ok_or_else(|| unexpected("no certificate".to_owned()))?;
    match PeerIdentity::from_certificate_der(leaf) {
        Ok(found) if &found == expected => Ok(()),
        Ok(found) => Err(unexpected(found.to_string())),
        Err(error) => Err(unexpected(error.to_string())),
    }
}
