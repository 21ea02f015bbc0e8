//! rustls configurations for Accord's mutual TLS.
//!
//! - [`server_config`]: presents the server's identity, *requires* a client certificate
//!   chaining to the network CA, checks it against the CRL(s) — an unknown revocation status
//!   or an expired CRL (past `nextUpdate`) refuses the client — and offers ALPN `h2`.
//! - [`client_config`]: presents the client's identity, trusts only the network CA, offers
//!   ALPN `h2`. [`client_config_with_crls`] also checks the server against CRLs.
//!
//! **Chains.** The trust anchor is the network's root CA alone. A party whose certificate
//! an issuing CA signed presents its whole chain (its certificate, then the issuing CA's,
//! as [`Identity`] loads it from one file), and the peer builds the path to the root from
//! it; nothing else is trusted, so an issuing CA's certificate in the chain counts only
//! because the root signed it.
//!
//! **Revocation: every certificate of the chain.** The CRLs given are checked against the
//! peer's certificate *and* every CA certificate between it and the root (rustls's
//! `RevocationCheckDepth::Chain`, its default, kept on purpose on both sides), and a
//! certificate whose status no CRL gives is refused (`UnknownStatusPolicy::Deny`, also the
//! default), as is any CRL past its `nextUpdate`. Under an issuing CA a party therefore
//! loads two CRLs, which `accord pki` writes into one file
//! ([`crate::credentials::load_crls`]): the issuing CA's, revoking certificates, and the
//! root's, revoking issuing CAs — so revoking an issuing CA refuses every certificate
//! below it at once. rustls finds the CRL for a certificate by its issuer's name, which is
//! why each issuing CA has a name of its own. The price is that the root's CRL expires
//! too: the root's key comes out of offline storage to re-sign it (`accord pki crl
//! --root`) before its `nextUpdate`, which is why that CRL is long-lived (a year by
//! default), unlike the issuing CA's. Under the root alone the only certificate checked is
//! the peer's, against the root's CRL.
//!
//! Both use the ring provider explicitly, so they do not depend on a process-wide default;
//! [`install_crypto_provider`] sets that default too, for libraries that look it up. This
//! module reads no files ([`crate::credentials`] does) and opens no sockets.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::credentials::{CaBundle, Crl, Identity};

/// The ALPN protocol gRPC runs on.
pub const ALPN_H2: &[u8] = b"h2";

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A CA certificate could not be added as a trust anchor.
    #[error("the CA certificate is not a usable trust anchor")]
    TrustAnchor(#[source] rustls::Error),
    /// The certificate verifier could not be built (no CA, or an unparseable CRL).
    #[error("the certificate verifier could not be built")]
    Verifier(#[from] rustls::client::VerifierBuilderError),
    /// rustls refused the identity or the protocol versions.
    #[error("rustls refused the configuration")]
    Rustls(#[source] rustls::Error),
}

/// The ring crypto provider, which every Accord TLS configuration uses.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Installs ring as the process-wide rustls provider; call once at the start of `main`
/// (and of tests that use libraries relying on the default). Returns `false` when a default
/// was installed already, which is harmless.
pub fn install_crypto_provider() -> bool {
    rustls::crypto::ring::default_provider()
        .install_default()
        .is_ok()
}

/// A server configuration: presents `identity` (its whole chain), requires a client
/// certificate chaining to `ca` none of whose certificates `crls` revoke, and speaks `h2`.
/// Every CA's CRL on the way to the root must be among `crls` (see the module docs).
pub fn server_config(
    identity: &Identity,
    ca: &CaBundle,
    crls: &[Crl],
) -> Result<ServerConfig, Error> {
    server_config_for(identity, ca, crls, false)
}

/// The server configuration of [`server_config`], also admitting clients without a
/// certificate when `anonymous` is true.
fn server_config_for(
    identity: &Identity,
    ca: &CaBundle,
    crls: &[Crl],
    anonymous: bool,
) -> Result<ServerConfig, Error> {
    let provider = crypto_provider();
    let mut verifier =
        WebPkiClientVerifier::builder_with_provider(root_store(ca)?, provider.clone())
            .with_crls(crls.iter().map(|crl| crl.der().clone()))
            .enforce_revocation_expiration();
    if anonymous {
        verifier = verifier.allow_unauthenticated();
    }
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Rustls)?
        .with_client_cert_verifier(verifier.build()?)
        .with_single_cert(
            identity.certificate_chain().to_vec(),
            identity.private_key().clone_key(),
        )
        .map_err(Error::Rustls)?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(config)
}

/// A client configuration: presents `identity` (its whole chain), trusts servers whose
/// chain reaches `ca`, speaks `h2`.
pub fn client_config(identity: &Identity, ca: &CaBundle) -> Result<ClientConfig, Error> {
    client_config_with_crls(identity, ca, &[])
}

/// Like [`client_config`], and also refuses servers any of whose chain's certificates
/// `crls` revoke (with no CRLs, revocation is not checked; see the module docs).
pub fn client_config_with_crls(
    identity: &Identity,
    ca: &CaBundle,
    crls: &[Crl],
) -> Result<ClientConfig, Error> {
    let provider = crypto_provider();
    let mut verifier =
        WebPkiServerVerifier::builder_with_provider(root_store(ca)?, provider.clone());
    if !crls.is_empty() {
        verifier = verifier
            .with_crls(crls.iter().map(|crl| crl.der().clone()))
            .enforce_revocation_expiration();
    }
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Rustls)?
        .with_webpki_verifier(verifier.build()?)
        .with_client_auth_cert(
            identity.certificate_chain().to_vec(),
            identity.private_key().clone_key(),
        )
        .map_err(Error::Rustls)?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(config)
}

fn root_store(ca: &CaBundle) -> Result<Arc<RootCertStore>, Error> {
    let mut roots = RootCertStore::empty();
    for certificate in ca.certificates() {
        roots.add(certificate.clone()).map_err(Error::TrustAnchor)?;
    }
    Ok(Arc::new(roots))
}

/// Like [`server_config`], but a client may also connect without a certificate: for the one
/// service a party without credentials must reach (the coordinator's `Enrol`). A
/// certificate that is presented is verified exactly as [`server_config`] verifies it; a
/// connection without one carries no identity, so every call that needs one is refused
/// (`PeerIdentity::from_request` answers `UNAUTHENTICATED`).
pub fn server_config_allowing_anonymous(
    identity: &Identity,
    ca: &CaBundle,
    crls: &[Crl],
) -> Result<ServerConfig, Error> {
    server_config_for(identity, ca, crls, true)
}

/// A client configuration without a certificate of its own, trusting servers issued by
/// `ca`: for a state that has no credentials yet and enrols with a token.
pub fn anonymous_client_config(ca: &CaBundle) -> Result<ClientConfig, Error> {
    let provider = crypto_provider();
    let verifier =
        WebPkiServerVerifier::builder_with_provider(root_store(ca)?, provider.clone()).build()?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Rustls)?
        .with_webpki_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(config)
}
