//! Putting the caller's [`PeerIdentity`] into every request, or refusing the request.
//!
//! Two equivalent ways, both reading only the verified client certificate:
//!
//! - [`PeerIdentityLayer`], a tower layer for a whole tonic server
//!   (`Server::builder().layer(PeerIdentityLayer::new())`), which answers a gRPC
//!   `UNAUTHENTICATED` itself when the certificate names no Accord peer;
//! - [`authenticate`], a tonic interceptor for one service
//!   (`FooServer::with_interceptor(service, authenticate)`).
//!
//! Handlers then read the identity with [`PeerIdentity::from_request`] (or from the
//! request extensions). What the identity may do is decided by the use cases, not here.
//!
//! Every request of a connection carries the same verified chain (one `Arc` per
//! connection), so the layer parses a chain once and remembers the identity with the chain
//! it came from; a request whose chain is not that very one (`Arc::ptr_eq`) is parsed
//! afresh. Holding the chain keeps its address from being reused by another connection.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::future::{Either, Ready, ready};
use rustls::pki_types::CertificateDer;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use crate::identity::{self, PeerIdentity};

/// A tonic interceptor: records the peer's identity in the request extensions, or refuses
/// the call with `UNAUTHENTICATED`.
pub fn authenticate(mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    let identity = PeerIdentity::from_request(&request)?;
    request.extensions_mut().insert(identity);
    Ok(request)
}

/// The peer identity of an HTTP request served over [`crate::listener`] connections.
pub fn identity_of_http_request<B>(
    request: &http::Request<B>,
) -> Result<PeerIdentity, identity::Error> {
    identity_of_chain(&peer_chain(request)?)
}

/// The verified certificate chain of `request`'s connection.
fn peer_chain<B>(
    request: &http::Request<B>,
) -> Result<Arc<Vec<CertificateDer<'static>>>, identity::Error> {
    request
        .extensions()
        .get::<TlsConnectInfo<TcpConnectInfo>>()
        .and_then(TlsConnectInfo::peer_certs)
        .ok_or(identity::Error::NoPeerCertificate)
}

/// The identity a verified chain's leaf names.
fn identity_of_chain(chain: &[CertificateDer<'static>]) -> Result<PeerIdentity, identity::Error> {
    let leaf = chain.first().ok_or(identity::Error::NoPeerCertificate)?;
    PeerIdentity::from_certificate_der(leaf)
}

/// A tower layer that puts the peer's [`PeerIdentity`] into every request's extensions and
/// answers `UNAUTHENTICATED` for requests whose connection names no Accord peer.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeerIdentityLayer;

impl PeerIdentityLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> tower::Layer<S> for PeerIdentityLayer {
    type Service = RequirePeerIdentity<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequirePeerIdentity {
            inner,
            last: Arc::default(),
        }
    }
}

/// A verified chain and the identity it names.
type KnownChain = (Arc<Vec<CertificateDer<'static>>>, PeerIdentity);

/// The service [`PeerIdentityLayer`] wraps around a server.
#[derive(Debug, Clone)]
pub struct RequirePeerIdentity<S> {
    inner: S,
    /// The chain read last and its identity, shared by the clones serving one connection.
    last: Arc<Mutex<Option<KnownChain>>>,
}

impl<S> RequirePeerIdentity<S> {
    /// The identity of `request`'s connection, parsed once per chain.
    fn identity_of<B>(&self, request: &http::Request<B>) -> Result<PeerIdentity, identity::Error> {
        let chain = peer_chain(request)?;
        // A poisoned lock only loses the memo: parse again.
        if let Ok(last) = self.last.lock()
            && let Some((known, identity)) = last.as_ref()
            && Arc::ptr_eq(known, &chain)
        {
            return Ok(identity.clone());
        }
        let identity = identity_of_chain(&chain)?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some((chain, identity.clone()));
        }
        Ok(identity)
    }
}

impl<S, RequestBody, ResponseBody> tower::Service<http::Request<RequestBody>>
    for RequirePeerIdentity<S>
where
    S: tower::Service<http::Request<RequestBody>, Response = http::Response<ResponseBody>>,
    ResponseBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<RequestBody>) -> Self::Future {
        match self.identity_of(&request) {
            Ok(identity) => {
                request.extensions_mut().insert(identity);
                Either::Left(self.inner.call(request))
            }
            Err(error) => {
                tracing::debug!(%error, "request refused: no Accord peer identity");
                Either::Right(ready(Ok(tonic::Status::from(error).into_http())))
            }
        }
    }
}
