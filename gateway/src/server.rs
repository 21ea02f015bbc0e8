//! The gateway's lifecycle, as every Accord server's: [`Gateway::build`] reads its
//! credentials and binds (port 0 in tests), [`Gateway::local_addr`] says where,
//! [`Gateway::run_until`] serves HTTP until the shutdown future resolves, then lets in-flight
//! requests finish.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;

use crate::api::Client;
use crate::config::GatewayConfig;

/// Why the gateway could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The gateway's certificate, key or CA could not be read.
    #[error("the gateway's credentials cannot be read")]
    Credentials(#[source] accord_trust::credentials::Error),
    /// The upstream's endpoint or name cannot be used for a channel.
    #[error("the upstream's channel cannot be prepared")]
    Channel(#[source] accord_trust::channel::Error),
    /// The listening socket could not be bound or used.
    #[error("cannot listen on {address}")]
    Bind {
        /// Where.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving failed")]
    Serve(#[source] std::io::Error),
}

impl Error {
    /// Whether the configuration is at fault (exit 64), not the moment.
    pub fn is_configuration(&self) -> bool {
        matches!(self, Self::Credentials(_) | Self::Channel(_))
    }
}

/// A built gateway, bound and ready to serve.
#[derive(Debug)]
pub struct Gateway {
    listener: tokio::net::TcpListener,
    local_addr: SocketAddr,
    router: Router,
}

impl Gateway {
    /// Prepares the upstream's channel (node or coordinator) and binds the configured address.
    pub async fn build(config: GatewayConfig) -> Result<Self, Error> {
        let client = Client::new(&config)?;
        let listener = tokio::net::TcpListener::bind(config.listen_addr)
            .await
            .map_err(|source| Error::Bind {
                address: config.listen_addr.to_string(),
                source,
            })?;
        Self::serve_on(config, client, listener)
    }

    /// As [`Gateway::build`], on a socket the caller bound (a test's port 0).
    pub async fn build_with_listener(
        config: GatewayConfig,
        listener: std::net::TcpListener,
    ) -> Result<Self, Error> {
        let client = Client::new(&config)?;
        let bind_error = |source| Error::Bind {
            address: config.listen_addr.to_string(),
            source,
        };
        listener.set_nonblocking(true).map_err(bind_error)?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(bind_error)?;
        Self::serve_on(config, client, listener)
    }

    fn serve_on(
        config: GatewayConfig,
        client: Client,
        listener: tokio::net::TcpListener,
    ) -> Result<Self, Error> {
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            address: config.listen_addr.to_string(),
            source,
        })?;
        let router = crate::api::router(&config, client);
        Ok(Self {
            listener,
            local_addr,
            router,
        })
    }

    /// Where the gateway listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        tracing::info!(address = %self.local_addr, "gateway serving");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(Error::Serve)
    }
}
