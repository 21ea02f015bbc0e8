//! A tiny hand-made gRPC service over Accord's mTLS, and a test network CA.
//!
//! The service `accord.test.v1.Probe/Act` stands in for any Accord RPC made "as" a state:
//! it reads the caller's identity from the connection, refuses with `PERMISSION_DENIED`
//! when the request acts for another state, and otherwise does its "work". Two counters
//! tell a test how far a call got: `handler_calls` (the handler ran at all) and
//! `work_done` (it passed authorization).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use accord_domain::StateCode;
use accord_trust::channel::{self, ClientTls};
use accord_trust::pki::{CertificateAuthority, IssueRequest, Revocation, Serial, Validity};
use accord_trust::{CaBundle, Crl, Identity, PeerIdentity, PeerIdentityLayer};
use time::{Duration, OffsetDateTime};
use tokio::sync::oneshot;
use tonic::codegen::{BoxFuture, Service, StdError, http};
use tonic::service::interceptor::InterceptedService;

/// The request: which state the caller claims to act for.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActRequest {
    /// ISO 3166-1 alpha-2 code.
    #[prost(string, tag = "1")]
    pub acting_state: String,
}

/// The response: the SPIFFE ID the server read from the caller's certificate.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActResponse {
    /// The caller's SPIFFE ID.
    #[prost(string, tag = "1")]
    pub peer: String,
}

const ACT_PATH: &str = "/accord.test.v1.Probe/Act";

/// What the handler saw.
#[derive(Debug, Default)]
pub struct Counters {
    /// Calls that reached the handler.
    pub handler_calls: AtomicUsize,
    /// Calls that passed authorization and did their work.
    pub work_done: AtomicUsize,
}

impl Counters {
    pub fn handler_calls(&self) -> usize {
        self.handler_calls.load(Ordering::SeqCst)
    }

    pub fn work_done(&self) -> usize {
        self.work_done.load(Ordering::SeqCst)
    }
}

async fn act(
    counters: Arc<Counters>,
    request: tonic::Request<ActRequest>,
) -> Result<tonic::Response<ActResponse>, tonic::Status> {
    counters.handler_calls.fetch_add(1, Ordering::SeqCst);
    let peer = PeerIdentity::from_request(&request)?;
    let acting_state = StateCode::parse(&request.get_ref().acting_state)
        .map_err(|error| tonic::Status::invalid_argument(error.to_string()))?;
    if !peer.acts_for(acting_state) {
        return Err(tonic::Status::permission_denied(format!(
            "{peer} may not act for {acting_state}"
        )));
    }
    counters.work_done.fetch_add(1, Ordering::SeqCst);
    Ok(tonic::Response::new(ActResponse {
        peer: peer.spiffe_id(),
    }))
}

/// The service, shaped as tonic's generated servers are.
#[derive(Clone)]
pub struct ProbeService {
    counters: Arc<Counters>,
}

impl tonic::server::NamedService for ProbeService {
    const NAME: &'static str = "accord.test.v1.Probe";
}

struct ActMethod(Arc<Counters>);

impl tonic::server::UnaryService<ActRequest> for ActMethod {
    type Response = ActResponse;
    type Future = BoxFuture<tonic::Response<ActResponse>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<ActRequest>) -> Self::Future {
        Box::pin(act(self.0.clone(), request))
    }
}

impl<B> Service<http::Request<B>> for ProbeService
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let counters = self.counters.clone();
        if request.uri().path() != ACT_PATH {
            return Box::pin(async {
                Ok(tonic::Status::unimplemented("no such method").into_http())
            });
        }
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(ActMethod(counters), request).await)
        })
    }
}

/// A probe server on 127.0.0.1, stopped when dropped.
pub struct RunningServer {
    pub address: SocketAddr,
    pub counters: Arc<Counters>,
    pub config: accord_trust::ServerConfigHandle,
    _shutdown: oneshot::Sender<()>,
}

impl RunningServer {
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.address)
    }
}

/// How the server learns the caller's identity before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// `PeerIdentityLayer` on the whole server.
    Layer,
    /// The `authenticate` interceptor on the service.
    Interceptor,
    /// Nothing: the handler reads the connection's certificate itself.
    HandlerOnly,
}

pub async fn start_server(identity: &Identity, ca: &CaBundle, crls: &[Crl]) -> RunningServer {
    start_server_with(identity, ca, crls, Authentication::Layer).await
}

pub async fn start_server_with(
    identity: &Identity,
    ca: &CaBundle,
    crls: &[Crl],
    authentication: Authentication,
) -> RunningServer {
    accord_telemetry::init_for_tests();
    let config = accord_trust::server_config(identity, ca, crls).unwrap();
    let incoming = accord_trust::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let address = incoming.local_addr();
    let config = incoming.config_handle();
    let counters = Arc::new(Counters::default());
    let service = ProbeService {
        counters: counters.clone(),
    };
    let (shutdown, stopped) = oneshot::channel::<()>();
    let stopped = async {
        let _ = stopped.await;
    };
    let server = tonic::transport::Server::builder();
    match authentication {
        Authentication::Layer => {
            let router = server.layer(PeerIdentityLayer::new()).add_service(service);
            tokio::spawn(router.serve_with_incoming_shutdown(incoming, stopped));
        }
        Authentication::Interceptor => {
            let intercepted = InterceptedService::new(service, accord_trust::authenticate);
            let router = { server }.add_service(intercepted);
            tokio::spawn(router.serve_with_incoming_shutdown(incoming, stopped));
        }
        Authentication::HandlerOnly => {
            let router = { server }.add_service(service);
            tokio::spawn(router.serve_with_incoming_shutdown(incoming, stopped));
        }
    }
    RunningServer {
        address,
        counters,
        config,
        _shutdown: shutdown,
    }
}

/// How a call failed: before any RPC (connect, handshake), or with a gRPC status.
#[derive(Debug)]
pub enum Refusal {
    Connect(channel::Error),
    Status(tonic::Status),
}

impl Refusal {
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            Self::Connect(_) => None,
            Self::Status(status) => Some(status.code()),
        }
    }
}

/// Connects and calls `Act` once, acting for `acting_state`; returns the SPIFFE ID the
/// server saw.
pub async fn call_act(
    server: &RunningServer,
    tls: &ClientTls,
    acting_state: &str,
) -> Result<String, Refusal> {
    let channel = channel::connect(&server.endpoint(), tls)
        .await
        .map_err(Refusal::Connect)?;
    call_act_on(channel, acting_state).await
}

/// Calls `Act` on an open connection, acting for `acting_state`; returns the SPIFFE ID the
/// server saw.
pub async fn call_act_on(
    channel: tonic::transport::Channel,
    acting_state: &str,
) -> Result<String, Refusal> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|error| Refusal::Status(tonic::Status::unknown(error.to_string())))?;
    let request = tonic::Request::new(ActRequest {
        acting_state: acting_state.to_owned(),
    });
    let path = http::uri::PathAndQuery::from_static(ACT_PATH);
    let response = grpc
        .unary::<ActRequest, ActResponse, _>(request, path, tonic_prost::ProstCodec::default())
        .await
        .map_err(Refusal::Status)?;
    Ok(response.into_inner().peer)
}

/// The TLS handshake refused the call (at connect or, TLS 1.3 being what it is, at the
/// first RPC) with one of the `alerts` named by rustls, and no handler ran; `label` says
/// which client was refused.
pub fn assert_refused_before_any_handler(
    label: &str,
    outcome: Result<String, Refusal>,
    server: &RunningServer,
    alerts: &[&str],
) {
    let refusal = match outcome {
        Ok(peer) => panic!("{label}: the call must be refused, but it was served as {peer}"),
        Err(refusal) => refusal,
    };
    let shown = format!("{refusal:?}");
    assert!(
        alerts
            .iter()
            .any(|alert| shown.contains(&format!("received fatal alert: {alert}"))),
        "{label}: expected a TLS alert among {alerts:?}, got {shown}"
    );
    assert_eq!(
        server.counters.handler_calls(),
        0,
        "{label}: no handler may run"
    );
    assert_eq!(server.counters.work_done(), 0, "{label}");
}

pub fn state(code: &str) -> StateCode {
    StateCode::parse(code).unwrap()
}

/// A network CA for one test, with "now" from the wall clock (rustls checks certificates
/// against it): a root alone, or an issuing CA below a root.
pub struct TestNetwork {
    /// What signs the network's certificates and CRL.
    pub authority: CertificateAuthority,
    pub now: OffsetDateTime,
    /// Under an issuing CA, the root's CRL revoking nothing, which parties load too.
    root_crl: Option<Crl>,
}

impl TestNetwork {
    /// A network run by its root alone.
    pub fn new() -> Self {
        let now = accord_trust::clock::wall_clock_now();
        let authority =
            CertificateAuthority::generate(Validity::days_from(now, 30).unwrap()).unwrap();
        Self {
            authority,
            now,
            root_crl: None,
        }
    }

    /// A network run by a new issuing CA below this network's root CA: parties of both
    /// trust the same root.
    pub fn issuing_network(&self) -> Self {
        let validity = Validity::days_from(self.now, 20).unwrap();
        Self {
            authority: self.authority.issue_intermediate(validity).unwrap(),
            now: self.now,
            root_crl: Some(self.crl(&[])),
        }
    }

    /// What a party loads to check revocation: this network's CRL revoking `serials`, and,
    /// under an issuing CA, the root's CRL revoking nothing.
    pub fn crls(&self, serials: &[Serial]) -> Vec<Crl> {
        let mut crls = vec![self.crl(serials)];
        crls.extend(self.root_crl.clone());
        crls
    }

    /// The trust anchor: the root's certificate alone, also under an issuing CA.
    pub fn ca(&self) -> CaBundle {
        self.authority.bundle()
    }

    /// A certificate for `peer`, valid for a day from now.
    pub fn identity(&self, peer: PeerIdentity) -> Identity {
        self.identity_valid(peer, Validity::days_from(self.now, 1).unwrap())
            .0
    }

    /// A certificate for `peer` with an explicit validity, and its serial.
    pub fn identity_valid(&self, peer: PeerIdentity, validity: Validity) -> (Identity, Serial) {
        let issued = self
            .authority
            .issue(&IssueRequest::new(peer, validity))
            .unwrap();
        let identity = Identity::from_pem(&issued.certificate.chain_pem, &issued.key_pem).unwrap();
        (identity, issued.certificate.serial)
    }

    /// A certificate for `peer` issued for the key of a CSR made here (the key never
    /// reaches the CA), valid for a day from now, and its serial.
    pub fn identity_from_csr(&self, peer: PeerIdentity) -> (Identity, Serial) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let csr_pem = rcgen::CertificateParams::default()
            .serialize_request(&key)
            .unwrap()
            .pem()
            .unwrap();
        let request = IssueRequest::new(peer, Validity::days_from(self.now, 1).unwrap());
        let issued = self.authority.issue_for_csr(&csr_pem, &request).unwrap();
        let identity = Identity::from_pem(&issued.chain_pem, &key.serialize_pem()).unwrap();
        (identity, issued.serial)
    }

    /// A CRL revoking `serials`, valid for a week.
    pub fn crl(&self, serials: &[Serial]) -> Crl {
        let revocations: Vec<Revocation> = serials
            .iter()
            .map(|serial| Revocation {
                serial: serial.clone(),
                revoked_at: self.now - Duration::minutes(1),
            })
            .collect();
        let validity = Validity::days_from(self.now, 7).unwrap();
        self.authority
            .revocation_list(&revocations, 1, validity)
            .unwrap()
            .crl
    }

    /// Client TLS presenting `identity`, verifying the server as `localhost`.
    pub fn client(&self, identity: &Identity) -> ClientTls {
        ClientTls::new(identity, &self.ca(), "localhost").unwrap()
    }
}
