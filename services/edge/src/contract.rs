//! Statuses as `common.proto` promises them, whoever produced them.
//!
//! The handlers' statuses come from the one mapping (`grpc::status`) and already keep the
//! contract. Others do not pass through it: tonic answers an undecodable body with
//! `INTERNAL` and the decoder's text, an oversized one with `OUT_OF_RANGE`, an unknown method
//! with a bare `UNIMPLEMENTED`; the trust crate's layer answers `UNAUTHENTICATED` without
//! details. [`StatusContractLayer`], outermost around a server's services, rewrites every
//! refusal that carries no `google.rpc.Status` details into the documented one: an
//! undecodable body is `INVALID_ARGUMENT` (`FIELD_INVALID`, with a `BadRequest`), an
//! oversized one `RESOURCE_EXHAUSTED` (`LIMIT_EXCEEDED`, with a `QuotaFailure` naming
//! `limits.max_message_bytes`), and every other one gets its `ErrorInfo`. It also makes
//! refusals visible: `UNAUTHENTICATED` calls are audited (as `PERMISSION_DENIED` ones are)
//! and logged, framework `INTERNAL` errors logged, each log rate-limited per peer and
//! reason.
//!
//! It touches only the response headers of a trailers-only answer (how tonic answers every
//! refused unary call); a successful response passes through untouched. It decides no
//! refusal itself.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use accord_trust::LogLimiter;
use tonic::codegen::http::{self, HeaderMap};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::ERROR_DOMAIN;
use crate::echo::cut_long_values;

const GRPC_STATUS: &str = "grpc-status";
const GRPC_MESSAGE: &str = "grpc-message";
const GRPC_STATUS_DETAILS: &str = "grpc-status-details-bin";

/// The operation an audit row names for a call refused before any handler: its path.
const AUDIT_OUTCOME_UNAUTHENTICATED: &str = "UNAUTHENTICATED";

/// Where a server records the calls refused before any handler ran (its audit log).
pub trait RefusalAudit: Send + Sync + 'static {
    /// Records that `peer` was refused `operation` (the call's path) with `outcome`.
    fn audit_refusal(
        &self,
        peer: &str,
        operation: &str,
        outcome: &str,
        detail: &str,
    ) -> impl Future<Output = ()> + Send;
}

/// A tower layer keeping every refusal of a server to `common.proto`.
pub struct StatusContractLayer<A> {
    shared: Arc<Shared<A>>,
}

impl<A> Clone for StatusContractLayer<A> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

struct Shared<A> {
    audit: A,
    max_message_bytes: usize,
    refusals: LogLimiter,
}

impl<A: RefusalAudit> StatusContractLayer<A> {
    /// The layer for a server whose messages may be `max_message_bytes` long, auditing its
    /// unauthenticated calls through `audit`.
    pub fn new(audit: A, max_message_bytes: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                audit,
                max_message_bytes,
                refusals: LogLimiter::default(),
            }),
        }
    }
}

impl<S, A> tower::Layer<S> for StatusContractLayer<A> {
    type Service = StatusContract<S, A>;

    fn layer(&self, inner: S) -> Self::Service {
        StatusContract {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`StatusContractLayer`] wraps around a server.
pub struct StatusContract<S, A> {
    inner: S,
    shared: Arc<Shared<A>>,
}

impl<S: Clone, A> Clone for StatusContract<S, A> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<S, A, RequestBody, ResponseBody> tower::Service<http::Request<RequestBody>>
    for StatusContract<S, A>
where
    A: RefusalAudit,
    S: tower::Service<http::Request<RequestBody>, Response = http::Response<ResponseBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    RequestBody: Send + 'static,
    ResponseBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future {
        // The clone that was made ready serves this call (tower's rule); a fresh clone is
        // left for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        let path = request.uri().path().to_owned();
        let remote = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(|info| info.get_ref().remote_addr());
        Box::pin(async move {
            let mut response = inner.call(request).await?;
            if let Some(status) = undetailed_refusal(response.headers()) {
                let refusal = Refusal {
                    path: &path,
                    remote,
                };
                let replacement = shared.keep_contract(status, &refusal).await;
                let headers = response.headers_mut();
                headers.remove(GRPC_STATUS);
                headers.remove(GRPC_MESSAGE);
                headers.remove(GRPC_STATUS_DETAILS);
                if let Err(error) = replacement.add_header(headers) {
                    tracing::error!(%error, "could not write a refusal's status headers");
                }
            }
            Ok(response)
        })
    }
}

/// What the layer knows of a refused call.
struct Refusal<'a> {
    path: &'a str,
    remote: Option<std::net::SocketAddr>,
}

/// The status of a trailers-only refusal that carries no details, if `headers` hold one.
fn undetailed_refusal(headers: &HeaderMap) -> Option<Status> {
    let code = headers.get(GRPC_STATUS)?;
    if code.as_bytes() == b"0" || headers.contains_key(GRPC_STATUS_DETAILS) {
        return None;
    }
    Status::from_header_map(headers)
}

impl<A: RefusalAudit> Shared<A> {
    /// The documented status for a framework's or the authentication layer's `status`.
    async fn keep_contract(&self, status: Status, refusal: &Refusal<'_>) -> Status {
        let mut details = ErrorDetails::new();
        let (code, reason, message) = match status.code() {
            Code::Internal if is_undecodable(status.message()) => {
                details.add_bad_request_violation(
                    "",
                    "the request body is not a protobuf encoding of the method's request message",
                );
                (
                    Code::InvalidArgument,
                    "FIELD_INVALID",
                    "invalid request: the body could not be decoded".to_owned(),
                )
            }
            Code::OutOfRange if status.message().contains("message length too large") => {
                let description = format!(
                    "a message may be at most {} bytes (limits.max_message_bytes)",
                    self.max_message_bytes
                );
                details.add_quota_failure_violation("request message", description.clone());
                (Code::ResourceExhausted, "LIMIT_EXCEEDED", description)
            }
            Code::Unauthenticated => {
                self.unauthenticated(status.message(), refusal).await;
                (
                    Code::Unauthenticated,
                    "CALLER_UNAUTHENTICATED",
                    status.message().to_owned(),
                )
            }
            Code::Internal | Code::Unknown => {
                if let Some(suppressed) = self.refusals.admit(&format!("internal {}", refusal.path))
                {
                    tracing::error!(
                        path = refusal.path,
                        detail = status.message(),
                        suppressed,
                        "internal error outside the handlers"
                    );
                }
                (
                    Code::Internal,
                    "INTERNAL",
                    "internal error; the server's log has the details".to_owned(),
                )
            }
            other => (other, reason_of(other), status.message().to_owned()),
        };
        details.set_error_info(reason, ERROR_DOMAIN, HashMap::<String, String>::new());
        Status::with_error_details(code, cut_long_values(&message), details)
    }

    /// Logs (rate-limited) and audits a call refused for want of an Accord identity.
    async fn unauthenticated(&self, detail: &str, refusal: &Refusal<'_>) {
        let peer = match refusal.remote {
            Some(address) => format!("unauthenticated@{}", address.ip()),
            None => "unauthenticated".to_owned(),
        };
        if let Some(suppressed) = self.refusals.admit(&format!("{peer} {detail}")) {
            tracing::warn!(%peer, path = refusal.path, detail, suppressed, "call refused: no Accord identity");
        }
        self.audit
            .audit_refusal(
                &peer,
                refusal.path,
                AUDIT_OUTCOME_UNAUTHENTICATED,
                &cut_long_values(detail),
            )
            .await;
    }
}

/// Whether tonic's `INTERNAL` text says the body did not decode (prost's decode error, or a
/// malformed gRPC frame).
fn is_undecodable(message: &str) -> bool {
    message.starts_with("failed to decode Protobuf message")
        || message.starts_with("protocol error: received message with invalid compression flag")
}

/// The `ErrorReason` (common.proto) of a status code no other rule names.
fn reason_of(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument | Code::OutOfRange => "FIELD_INVALID",
        Code::PermissionDenied => "CALLER_NOT_ALLOWED",
        Code::NotFound => "RECORD_NOT_FOUND",
        Code::AlreadyExists => "IDEMPOTENCY_KEY_REUSED",
        Code::Aborted => "CONCURRENT_CHANGE",
        Code::ResourceExhausted => "LIMIT_EXCEEDED",
        Code::Unimplemented => "METHOD_NOT_SERVED",
        Code::DeadlineExceeded | Code::Cancelled => "DEADLINE_EXCEEDED",
        Code::Unauthenticated => "CALLER_UNAUTHENTICATED",
        Code::Unavailable => "SERVICE_UNAVAILABLE",
        Code::FailedPrecondition => "ILLEGAL_TRANSITION",
        Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss => "INTERNAL",
    }
}
