//! The client side of partner delivery (beside `grpc`, the server side): a tonic client per partner node, the due message's
//! stored event sent on its channel's RPC, and what the partner's answer means for a retry
//! (`app::dispatcher` decides when to send; this module only carries and reads the answer).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use accord_domain::StateCode;
use accord_proto::v1 as pb;
use accord_proto::v1::admission_service_client::AdmissionServiceClient;
use accord_proto::v1::readmission_service_client::ReadmissionServiceClient;
use prost::Message;
use tonic::transport::Channel as Connection;
use tonic::{Code, Status};

use crate::app::{Courier, Parcel, Refusal, Route};

/// The clients of one partner node, on one connection, and the endpoint it reaches.
#[derive(Clone)]
struct Clients {
    endpoint: String,
    readmission: ReadmissionServiceClient<Connection>,
    admission: AdmissionServiceClient<Connection>,
}

/// Delivers to partner nodes over their gRPC connections. Clones share the partners, so the
/// directory watch (`crate::directory`) adds, replaces and drops them while the dispatcher
/// delivers.
#[derive(Clone, Default)]
pub struct GrpcCourier {
    partners: Arc<RwLock<HashMap<StateCode, Clients>>>,
}

impl GrpcCourier {
    /// No partners yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `state`'s node, reached on `connection`, with messages of at most
    /// `max_message_bytes` either way.
    pub fn with_partner(
        self,
        state: StateCode,
        connection: Connection,
        max_message_bytes: usize,
    ) -> Self {
        self.set_partner(state, String::new(), connection, max_message_bytes);
        self
    }

    /// Reaches `state`'s node at `endpoint` on `connection` from now on, replacing the
    /// connection it had (messages in flight on the old one finish there).
    pub fn set_partner(
        &self,
        state: StateCode,
        endpoint: String,
        connection: Connection,
        max_message_bytes: usize,
    ) {
        let clients = Clients {
            endpoint,
            readmission: ReadmissionServiceClient::new(connection.clone())
                .max_decoding_message_size(max_message_bytes)
                .max_encoding_message_size(max_message_bytes),
            admission: AdmissionServiceClient::new(connection)
                .max_decoding_message_size(max_message_bytes)
                .max_encoding_message_size(max_message_bytes),
        };
        self.write().insert(state, clients);
    }

    /// The endpoint `state`'s node is reached at, if it is a partner.
    pub fn endpoint(&self, state: StateCode) -> Option<String> {
        self.read()
            .get(&state)
            .map(|clients| clients.endpoint.clone())
    }

    /// Drops every partner but `states`.
    pub fn retain(&self, states: &[StateCode]) {
        self.write().retain(|state, _| states.contains(state));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<StateCode, Clients>> {
        self.partners
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<StateCode, Clients>> {
        self.partners
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn send(&self, parcel: Parcel<'_>) -> Result<(), Status> {
        let destination = StateCode::parse(parcel.destination)
            .map_err(|error| Status::invalid_argument(format!("outbox destination: {error}")))?;
        let partner = self.read().get(&destination).cloned().ok_or_else(|| {
            Status::unavailable(format!("{destination} is no longer a configured partner"))
        })?;
        let content = &parcel;
        match parcel.route {
            Route::Readmission => {
                let request = delivery_request(content, |event| {
                    pb::DeliverReadmissionEventRequest { event: Some(event) }
                })?;
                partner
                    .readmission
                    .clone()
                    .deliver_readmission_event(request)
                    .await?;
            }
            Route::Admission => {
                let request = delivery_request(content, |event| {
                    pb::DeliverAdmissionEventRequest { event: Some(event) }
                })?;
                partner
                    .admission
                    .clone()
                    .deliver_admission_event(request)
                    .await?;
            }
            Route::Offer => {
                let request = delivery_request(content, |event| pb::DeliverOfferEventRequest {
                    event: Some(event),
                })?;
                partner
                    .admission
                    .clone()
                    .deliver_offer_event(request)
                    .await?;
            }
        }
        Ok(())
    }
}

impl Courier for GrpcCourier {
    fn deliver<'a>(
        &'a self,
        parcel: Parcel<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + 'a>> {
        Box::pin(async move { self.send(parcel).await.map_err(|status| refusal(&status)) })
    }
}

/// What a partner's answer means for the message.
fn refusal(status: &Status) -> Refusal {
    let described = format!("{:?}: {}", status.code(), status.message());
    if is_suspension(status) {
        // The partner holds this node's state suspended: every message would be refused
        // alike until the directory reinstates it, so the link waits and nothing is lost.
        Refusal::LinkDown(described)
    } else if is_permanent(status) {
        Refusal::Permanent(described)
    } else if is_link_failure(status) {
        Refusal::LinkDown(described)
    } else {
        Refusal::Later(described)
    }
}

/// Errors a retry cannot cure: the partner understood the message and refused it.
/// `ABORTED` is not one: a lost race on the partner's side, or a sequence clash that the
/// winner's delivery resolves here (which then supersedes this message).
fn is_permanent(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::InvalidArgument
            | Code::PermissionDenied
            | Code::AlreadyExists
            | Code::Unauthenticated
    ) || (status.code() == Code::FailedPrecondition && !is_transient_precondition(status))
}

/// A refusal because the partner's directory lists this node's state as suspended.
fn is_suspension(status: &Status) -> bool {
    use tonic_types::StatusExt;
    status.code() == Code::PermissionDenied
        && status
            .get_error_details()
            .error_info()
            .is_some_and(|info| info.reason == "MEMBER_SUSPENDED")
}

/// Errors that say the partner could not be reached (or cannot work now), rather than
/// anything about the message: the whole link backs off.
fn is_link_failure(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Unknown
            | Code::ResourceExhausted
    )
}

/// Preconditions that time cures, by their `google.rpc.ErrorInfo` reason: a gap closes when
/// the missing events arrive, an unknown signing key becomes known with the next directory.
fn is_transient_precondition(status: &Status) -> bool {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .error_info()
        .is_some_and(|info| matches!(info.reason.as_str(), "SEQUENCE_GAP" | "SIGNING_KEY_UNKNOWN"))
}

/// The delivery request of a due message: its stored event wrapped by `wrap`, or the whole
/// request a message written before event references holds.
fn delivery_request<E, R>(parcel: &Parcel<'_>, wrap: impl FnOnce(E) -> R) -> Result<R, Status>
where
    E: Message + Default,
    R: Message + Default,
{
    if parcel.whole_request {
        stored(parcel.bytes)
    } else {
        stored(parcel.bytes).map(wrap)
    }
}

/// A stored event or request, decoded; one that does not decode is a corrupted store.
fn stored<T: Message + Default>(bytes: &[u8]) -> Result<T, Status> {
    T::decode(bytes).map_err(|error| Status::internal(format!("outbox message: {error}")))
}
