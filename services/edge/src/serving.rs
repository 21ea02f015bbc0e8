//! What every Accord server does alike to start: load the credentials its `[tls]` table
//! names and check that its certificate says who it is, bind its port before it opens any
//! database (a server that cannot listen creates none), and describe itself through
//! reflection — exactly the services it serves, though the descriptor set holds them all.
//!
//! Each server's own start error wraps [`StartError`]; a configuration at fault
//! ([`StartError::is_configuration`]) makes the process exit with code 64.

use std::net::SocketAddr;

use accord_trust::{CaBundle, Crl, EventSigningKey, Identity, PeerIdentity, TlsIncoming};

use crate::settings::TlsPaths;

/// Why a server could not start, before any of its own parts ran.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A credential or key named by the configuration cannot be used; the source says why.
    #[error("configuration: {field}")]
    Credential {
        /// The configuration field that names it.
        field: String,
        /// Why it cannot be used.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The configuration contradicts itself or the credentials it names.
    #[error("configuration: {0}")]
    Configuration(String),
    /// The port cannot be bound.
    #[error("listen")]
    Listen(#[source] accord_trust::listener::Error),
    /// The reflection service cannot be built from the descriptor sets.
    #[error("reflection")]
    Reflection(#[source] tonic_reflection::server::Error),
}

impl StartError {
    /// Whether the configuration is at fault (exit code 64, before any port is bound).
    pub fn is_configuration(&self) -> bool {
        matches!(self, Self::Configuration(_) | Self::Credential { .. })
    }
}

/// Turns the failure to use the credential that `field` names into its error.
pub fn credential<E>(field: impl Into<String>) -> impl FnOnce(E) -> StartError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let field = field.into();
    move |source| StartError::Credential {
        field,
        source: Box::new(source),
    }
}

/// Who may connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clients {
    /// Only clients with a certificate from the network (mutual TLS).
    Certified,
    /// Those, and clients without a certificate, whose calls carry no identity: for a
    /// server with one method a party without credentials must reach (the coordinator's
    /// `Enrol`); every other method refuses them.
    CertifiedOrAnonymous,
}

/// The credentials a server's `[tls]` table names, loaded and checked.
pub struct ServerCredentials {
    /// What its TLS presents and checks.
    pub tls: TlsCredentials,
    /// Its Ed25519 signing key.
    pub signer: EventSigningKey,
}

/// What a server's TLS presents and checks clients against.
#[derive(Clone)]
pub struct TlsCredentials {
    /// Its certificate and TLS key.
    pub identity: Identity,
    /// The network's trust anchor.
    pub ca: CaBundle,
    /// The revocation lists it honours (none without `tls.crl`).
    pub crls: Vec<Crl>,
}

impl ServerCredentials {
    /// Reads every file `paths` names and refuses a certificate that is not `expected`'s.
    pub fn load(paths: &TlsPaths, expected: &PeerIdentity) -> Result<Self, StartError> {
        let identity = Identity::load(&paths.certificate, &paths.private_key)
            .map_err(credential("tls.certificate / tls.private_key"))?;
        let named = identity
            .peer_identity()
            .map_err(credential("tls.certificate"))?;
        if named != *expected {
            return Err(StartError::Configuration(format!(
                "tls.certificate names {}, but this server is {}",
                named.spiffe_id(),
                expected.spiffe_id()
            )));
        }
        let ca = accord_trust::load_ca(&paths.ca).map_err(credential("tls.ca"))?;
        let crls = match &paths.crl {
            Some(path) => accord_trust::load_crls(path).map_err(credential("tls.crl"))?,
            None => Vec::new(),
        };
        let signer =
            EventSigningKey::load(&paths.signing_key).map_err(credential("tls.signing_key"))?;
        Ok(Self {
            tls: TlsCredentials { identity, ca, crls },
            signer,
        })
    }
}

impl TlsCredentials {
    /// Binds `address`, or takes `listener` bound beforehand (port 0 in tests), and serves
    /// TLS on it, verifying every client certificate against the network's root.
    pub async fn listen(
        &self,
        address: SocketAddr,
        listener: Option<std::net::TcpListener>,
        clients: Clients,
    ) -> Result<TlsIncoming, StartError> {
        let server_config = self.server_config(clients, &self.crls)?;
        match listener {
            Some(listener) => accord_trust::listen_on(listener, server_config),
            None => accord_trust::bind(address, server_config).await,
        }
        .map_err(StartError::Listen)
    }
}

impl TlsCredentials {
    /// The TLS configuration presenting this server's certificate, verifying clients against
    /// the root and `crls` (the loaded ones, or newer ones to apply while serving through
    /// [`accord_trust::ServerConfigHandle`]).
    pub fn server_config(
        &self,
        clients: Clients,
        crls: &[Crl],
    ) -> Result<rustls::ServerConfig, StartError> {
        match clients {
            Clients::Certified => accord_trust::server_config(&self.identity, &self.ca, crls),
            Clients::CertifiedOrAnonymous => {
                accord_trust::tls::server_config_allowing_anonymous(&self.identity, &self.ca, crls)
            }
        }
        .map_err(credential("tls"))
    }
}

/// The reflection service for exactly `served` (the server's Accord services) with health
/// and reflection itself.
pub fn reflection(
    served: &[&str],
) -> Result<
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    StartError,
> {
    served
        .iter()
        .chain([HEALTH, REFLECTION].iter())
        .fold(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(accord_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET),
            |builder, service| builder.with_service_name(*service),
        )
        .build_v1()
        .map_err(StartError::Reflection)
}

/// The standard services beside each server's own.
const HEALTH: &str = "grpc.health.v1.Health";
const REFLECTION: &str = "grpc.reflection.v1.ServerReflection";
