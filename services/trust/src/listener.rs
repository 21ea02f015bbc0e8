//! Accepting mTLS connections for a tonic server, with Accord's own rustls configuration.
//!
//! tonic's `ServerTlsConfig` cannot check a CRL, so the server accepts TLS itself: [`bind`]
//! listens on TCP (or [`listen_on`] takes a socket already bound), and a background task
//! accepts connections and runs each TLS handshake in its own task — bounded by
//! [`HANDSHAKE_TIMEOUT`] and [`HANDSHAKES_IN_FLIGHT_MAX`], so a slow or silent client never
//! delays the others. Connections whose handshake succeeds
//! come out of [`TlsIncoming`], a stream for `Server::serve_with_incoming(_shutdown)`.
//! Failed handshakes (no certificate, unknown CA, expired, revoked, …) are logged as
//! warnings, at most one line per peer address and reason per
//! [`crate::log_limit::REFUSAL_LOG_INTERVAL`] (with the count suppressed meanwhile), and
//! dropped; they never reach a service.
//!
//! The streams are tokio-rustls server streams, for which tonic implements `Connected`
//! with `TlsConnectInfo`, so `request.peer_certs()` returns the verified client chain and
//! [`crate::PeerIdentity::from_request`] works in every handler.
//!
//! The server configuration can be replaced while serving ([`ServerConfigHandle`]), e.g.
//! when the CA publishes a new CRL; it applies to new connections, not to established ones.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::log_limit::LogLimiter;

/// Longest a client may take to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Most TLS handshakes in progress at once; further connections wait in the kernel's
/// accept queue until one finishes.
pub const HANDSHAKES_IN_FLIGHT_MAX: usize = 256;

/// Established connections waiting for the server to pick them up.
const ESTABLISHED_QUEUE_LENGTH: usize = 64;

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The address could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },
    /// The socket handed to [`listen_on`] cannot be served (not bound, or not a socket
    /// tokio can drive).
    #[error("cannot listen on the socket handed in")]
    Socket(#[source] io::Error),
}

/// A shared, replaceable server configuration.
#[derive(Clone)]
pub struct ServerConfigHandle {
    current: Arc<RwLock<Arc<ServerConfig>>>,
}

impl ServerConfigHandle {
    fn new(config: Arc<ServerConfig>) -> Self {
        Self {
            current: Arc::new(RwLock::new(config)),
        }
    }

    /// Uses `config` for connections accepted from now on (a new CRL, a renewed identity).
    pub fn replace(&self, config: impl Into<Arc<ServerConfig>>) {
        // A poisoned lock only means a panic elsewhere; the value itself is always whole.
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = config.into();
    }

    fn current(&self) -> Arc<ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl std::fmt::Debug for ServerConfigHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ServerConfigHandle")
            .finish_non_exhaustive()
    }
}

/// Established mTLS connections, for `Server::serve_with_incoming`. Dropping it stops
/// accepting and closes the listening socket.
#[derive(Debug)]
pub struct TlsIncoming {
    local_addr: SocketAddr,
    established: mpsc::Receiver<TlsStream<TcpStream>>,
    config: ServerConfigHandle,
    accept_task: JoinHandle<()>,
}

impl TlsIncoming {
    /// The address actually bound (the port, when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle to replace the server configuration while serving.
    pub fn config_handle(&self) -> ServerConfigHandle {
        self.config.clone()
    }
}

impl Stream for TlsIncoming {
    type Item = Result<TlsStream<TcpStream>, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.established
            .poll_recv(context)
            .map(|stream| stream.map(Ok))
    }
}

impl Drop for TlsIncoming {
    fn drop(&mut self) {
        // The accept task owns the listening socket; ending it closes the port at once.
        self.accept_task.abort();
    }
}

/// Listens on `address` (port 0 picks a free port) and accepts mTLS connections with
/// `server_config` (see [`crate::tls::server_config`]).
pub async fn bind(
    address: SocketAddr,
    server_config: impl Into<Arc<ServerConfig>>,
) -> Result<TlsIncoming, Error> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| Error::Bind { address, source })?;
    accept_on(listener, server_config)
}

/// Accepts mTLS connections on a socket the caller has already bound — for processes that
/// must know several servers' addresses before any of them starts (tests start a federation
/// of nodes that name each other as partners): binding port 0 and keeping the socket, not
/// binding, closing and binding the port again, leaves no window for another process to
/// take it. Must be called within a tokio runtime.
pub fn listen_on(
    listener: std::net::TcpListener,
    server_config: impl Into<Arc<ServerConfig>>,
) -> Result<TlsIncoming, Error> {
    // tokio drives the socket with epoll: it must not block.
    listener.set_nonblocking(true).map_err(Error::Socket)?;
    let listener = TcpListener::from_std(listener).map_err(Error::Socket)?;
    accept_on(listener, server_config)
}

fn accept_on(
    listener: TcpListener,
    server_config: impl Into<Arc<ServerConfig>>,
) -> Result<TlsIncoming, Error> {
    let local_addr = listener.local_addr().map_err(Error::Socket)?;
    let config = ServerConfigHandle::new(server_config.into());
    let (sender, established) = mpsc::channel(ESTABLISHED_QUEUE_LENGTH);
    let accept_task = tokio::spawn(accept_loop(listener, config.clone(), sender));
    Ok(TlsIncoming {
        local_addr,
        established,
        config,
        accept_task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    config: ServerConfigHandle,
    sender: mpsc::Sender<TlsStream<TcpStream>>,
) {
    let handshakes = Arc::new(Semaphore::new(HANDSHAKES_IN_FLIGHT_MAX));
    let refusals = Arc::new(LogLimiter::default());
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else {
            return; // the semaphore is never closed; nothing to do if it were
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = sender.closed() => return,
        };
        let (tcp, peer_address) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accepting a TCP connection failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        let acceptor = TlsAcceptor::from(config.current());
        let sender = sender.clone();
        let refusals = refusals.clone();
        tokio::spawn(async move {
            let _permit = permit; // held until the handshake ends
            if let Some(stream) = handshake(acceptor, tcp, peer_address, &refusals).await {
                // The receiver is gone only when the server stopped; the connection closes.
                let _ = sender.send(stream).await;
            }
        });
    }
}

async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    peer_address: SocketAddr,
    refusals: &LogLimiter,
) -> Option<TlsStream<TcpStream>> {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%peer_address, %error, "could not disable Nagle's algorithm");
    }
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            let peer = peer_address.ip();
            if let Some(suppressed) = refusals.admit(&format!("{peer} {error}")) {
                tracing::warn!(%peer_address, %error, suppressed, "TLS handshake refused");
            }
            None
        }
        Err(_) => {
            let peer = peer_address.ip();
            if let Some(suppressed) = refusals.admit(&format!("{peer} timeout")) {
                tracing::warn!(%peer_address, suppressed, "TLS handshake timed out");
            }
            None
        }
    }
}
