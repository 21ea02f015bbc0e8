//! The client side of partner delivery (beside `grpc`, the server side): a tonic client per partner node, the due message's
//! stored event sent on its channel's RPC, and what the partner's answer means for a retry
//! (`app::dispatcher` decides when to send; this module only carries and reads the answer).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use accord_domain::StateCode;
use accord_proto::v1 as pb;
use accord_proto::v1::admission_service_client::AdmissionServiceClient;
use accord_proto::v1::readmission_service_client::ReadmissionServiceClient;
use prost::Message;
use tonic::transport::Channel as Connection;
use tonic::{Code, Status};

use crate::app::{Courier, Parcel, Refusal, Route};

/// The clients of one partner node, on one connection.
#[derive(Clone)]
struct Clients {
    readmission: ReadmissionServiceClient<Connection>,
    admission: AdmissionServiceClient<Connection>,
}

/// Delivers to partner nodes over their gRPC connections.
#[derive(Clone, Default)]
pub struct GrpcCourier {
    partners: HashMap<StateCode, Clients>,
}

impl GrpcCourier {
    /// No partners yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `state`'s node, reached on `connection`, with messages of at most
    /// `max_message_bytes` either way.
    pub fn with_partner(
        mut self,
        state: StateCode,
        connection: Connection,
        max_message_bytes: usize,
    ) -> Self {
        let clients = Clients {
            readmission: ReadmissionServiceClient::new(connection.clone())
                .max_decoding_message_size(max_message_bytes)
                .max_encoding_message_size(max_message_bytes),
            admission: AdmissionServiceClient::new(connection)
                .max_decoding_message_size(max_message_bytes)
                .max_encoding_message_size(max_message_bytes),
        };
        self.partners.insert(state, clients);
        self
    }

    async fn send(&self, parcel: Parcel<'_>) -> Result<(), Status> {
        let destination = StateCode::parse(parcel.destination)
            .map_err(|error| Status::invalid_argument(format!("outbox destination: {error}")))?;
        let partner = self.partners.get(&destination).ok_or_else(|| {
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
    if is_permanent(status) {
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
