//! The coordinator's gRPC surface — `MembershipService` here, `LedgerService` in `ledger`,
//! `SettlementService` in `settlement`: thin handlers. Each RPC reads the
//! caller's identity from its certificate, decides who may call (refusals audited), parses
//! the request (`convert`), runs the use case (`app`) and maps its error once ([`status`]).
//!
//! A revoked member's node or gateway is refused on every call, even over a connection opened
//! before its revocation ([`App::check_standing`]). `Enrol` is the one RPC that needs no
//! certificate: its token is the credential.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use accord_domain::membership::{Agreement, Enrolment, Member};
use accord_edge::ERROR_DOMAIN;
use accord_edge::echo::cut_long_values;
use accord_edge::violation::Invalid;
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_server::MembershipService;
use accord_trust::PeerIdentity;
use prost::Message;
use tokio::sync::{Semaphore, watch};
use tokio_stream::{Stream, StreamExt, wrappers::WatchStream};
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::app::{App, Asked, Error, Issued, Published, Replied, TokenRefusal};
use crate::convert::command::{Enrolled, EnrolmentView, RequestKey};
use crate::convert::{self};

mod callers;
mod ledger;
mod settlement;

use callers::Callers;
pub use ledger::LedgerApi;
pub use settlement::SettlementApi;

/// The service's path prefix, as audit rows name a call.
const SERVICE_PATH: &str = "/accord.v1.MembershipService/";

/// `MembershipService` over the coordinator's use cases.
#[derive(Clone)]
pub struct MembershipApi {
    app: App,
    /// Who may call: here, member nodes for their own approvals, renewals and retirements.
    callers: Callers,
    /// Permits for directory watchers (`limits.directory_watchers_max`).
    watchers: Arc<Semaphore>,
    /// Turns true when the server stops: every watch then ends, so the drain does not
    /// wait for streams that never would.
    stopping: watch::Receiver<bool>,
}

impl MembershipApi {
    /// The service over `app`, serving at most `watchers_max` directory watchers at once,
    /// ending every watch when `stopping` turns true.
    pub fn new(app: App, watchers_max: usize, stopping: watch::Receiver<bool>) -> Self {
        Self {
            callers: Callers::new(app.clone(), SERVICE_PATH),
            app,
            watchers: Arc::new(Semaphore::new(watchers_max)),
            stopping,
        }
    }
}

/// The one mapping of application errors to gRPC statuses, with `ErrorInfo` (and a
/// `BadRequest` for invalid fields). Internal detail is logged here and never sent.
pub fn status(error: Error) -> Status {
    let mut details = ErrorDetails::new();
    let (code, reason, message) = match error {
        Error::InvalidArgument(ref violations) => {
            for violation in violations {
                details.add_bad_request_violation(&violation.field, &violation.description);
            }
            (Code::InvalidArgument, "FIELD_INVALID", error.to_string())
        }
        Error::Unauthenticated(message) => {
            (Code::Unauthenticated, "CALLER_UNAUTHENTICATED", message)
        }
        Error::Token(refusal) => {
            let (code, reason) = match refusal {
                TokenRefusal::Unknown => (Code::Unauthenticated, "ENROLMENT_TOKEN_UNKNOWN"),
                TokenRefusal::Expired => (Code::Unauthenticated, "ENROLMENT_TOKEN_EXPIRED"),
                TokenRefusal::Cancelled => (Code::Unauthenticated, "ENROLMENT_TOKEN_CANCELLED"),
                TokenRefusal::Used => (Code::AlreadyExists, "ENROLMENT_TOKEN_USED"),
            };
            (code, reason, refusal.to_string())
        }
        Error::SignatureInvalid(message) => {
            details.add_bad_request_violation("signature", &message);
            (Code::InvalidArgument, "SIGNATURE_INVALID", message)
        }
        Error::AlreadyApproved(message) => (Code::AlreadyExists, "ALREADY_APPROVED", message),
        Error::PermissionDenied(message) => (Code::PermissionDenied, "CALLER_NOT_ALLOWED", message),
        Error::NotFound(what) => (
            Code::NotFound,
            "RECORD_NOT_FOUND",
            format!("{what} not found"),
        ),
        Error::KeyReused(_) => (
            Code::AlreadyExists,
            "IDEMPOTENCY_KEY_REUSED",
            error.to_string(),
        ),
        Error::IllegalTransition(message) => {
            (Code::FailedPrecondition, "ILLEGAL_TRANSITION", message)
        }
        Error::HeadMismatch(message) => (Code::FailedPrecondition, "DIGEST_MISMATCH", message),
        Error::Aborted(message) => (Code::Aborted, "CONCURRENT_CHANGE", message),
        Error::Exhausted(message) => (Code::ResourceExhausted, "LIMIT_EXCEEDED", message),
        Error::Unavailable(ref source) => {
            tracing::warn!(
                error = source.as_ref() as &dyn std::error::Error,
                "unavailable"
            );
            (
                Code::Unavailable,
                "SERVICE_UNAVAILABLE",
                "the coordinator's store is unavailable; retry with backoff".to_owned(),
            )
        }
        Error::Internal { .. } => {
            tracing::error!(error = &error as &dyn std::error::Error, "internal error");
            (
                Code::Internal,
                "INTERNAL",
                "internal error; the coordinator's log has the details".to_owned(),
            )
        }
    };
    details.set_error_info(reason, ERROR_DOMAIN, HashMap::<String, String>::new());
    Status::with_error_details(code, cut_long_values(&message), details)
}

/// The caller's verified identity, or `UNAUTHENTICATED`.
fn caller<T>(request: &Request<T>) -> Result<PeerIdentity, Status> {
    PeerIdentity::from_request(request).map_err(Status::from)
}

/// The caller, when `authorize` lets it make the call `method`; a refusal is audited.
async fn authorized<T, Out>(
    app: &App,
    method: &str,
    request: &Request<T>,
    authorize: impl FnOnce(&PeerIdentity) -> Result<Out, Error>,
) -> Result<(PeerIdentity, Out), Status> {
    authorized_at(app, &format!("{SERVICE_PATH}{method}"), request, authorize).await
}

/// The caller, when `authorize` lets it make the call at `path` (the RPC's full path); a
/// refusal is audited.
async fn authorized_at<T, Out>(
    app: &App,
    path: &str,
    request: &Request<T>,
    authorize: impl FnOnce(&PeerIdentity) -> Result<Out, Error>,
) -> Result<(PeerIdentity, Out), Status> {
    let identity = caller(request)?;
    match app
        .check_standing(&identity)
        .and_then(|()| authorize(&identity))
    {
        Ok(out) => Ok((identity, out)),
        Err(error) => {
            app.audit_refusal(
                &identity.spiffe_id(),
                path,
                "PERMISSION_DENIED",
                &cut_long_values(&error.to_string()),
            )
            .await;
            Err(status(error))
        }
    }
}

/// `INVALID_ARGUMENT` unless the request's `tree_size` is 0 or the latest head's `latest`:
/// `what` is kept for the latest head only.
fn latest_head_only(tree_size: u64, latest: u64, what: &str) -> Result<(), Status> {
    if tree_size != 0 && tree_size != latest {
        return Err(status(Error::invalid(
            "tree_size",
            format!("{what} are kept for the latest head only ({latest} leaves); ask with 0"),
        )));
    }
    Ok(())
}

/// Parsed, or the violations as their status.
fn parsed<T>(result: Result<T, Invalid>) -> Result<T, Status> {
    result.map_err(|invalid| status(Error::from(invalid)))
}

/// A stored first answer decoded, or `INTERNAL` (the store holds what this version wrote).
fn replayed<M: Message + Default>(bytes: &[u8]) -> Result<M, Status> {
    M::decode(bytes).map_err(|error| status(Error::internal("reading a stored answer", error)))
}

/// The instant an enrolment's answer reads its status at: its last step, so that a replay
/// shows the status the first answer showed.
fn answered_at(enrolment: &Enrolment) -> accord_domain::Timestamp {
    enrolment
        .cancelled_at()
        .or(enrolment.used_at())
        .unwrap_or(enrolment.issued_at())
}

/// An enrolment's wire form, its status read at [`answered_at`].
fn enrolment_as_answered(view: &EnrolmentView) -> pb::Enrolment {
    convert::enrolment_to_wire(view, answered_at(&view.enrolment))
}

/// `IssueEnrolmentTokenResponse` without its secret: what the idempotency record keeps.
fn issued_to_wire(issued: &Issued) -> pb::IssueEnrolmentTokenResponse {
    pb::IssueEnrolmentTokenResponse {
        enrolment: Some(convert::enrolment_to_wire(
            &EnrolmentView {
                enrolment: issued.enrolment.clone(),
                signatures: Vec::new(),
            },
            answered_at(&issued.enrolment),
        )),
        token: String::new(),
    }
}

/// The `Asked` of an operator's keyed request.
fn asked<'a, A>(
    caller: &'a str,
    key: &'a RequestKey,
    operation: &'static str,
    encode: &'a (dyn Fn(&A) -> Vec<u8> + Send + Sync),
) -> Asked<'a, A> {
    Asked {
        caller,
        key,
        operation,
        encode,
    }
}

/// A fresh answer written out, or the stored first answer read back.
fn respond<A, M: Message + Default>(
    replied: Result<Replied<A>, Error>,
    to_wire: impl Fn(&A) -> M,
) -> Result<Response<M>, Status> {
    match replied.map_err(status)? {
        Replied::Fresh(answer) => Ok(Response::new(to_wire(&answer))),
        Replied::Replay(bytes) => replayed(&bytes).map(Response::new),
    }
}

/// A keyed use case run and answered: `run` gets the `Asked` of `caller`'s request under
/// `key` at `path`; a fresh answer is written out by `to_wire`, a replay is the stored first
/// answer.
async fn run_keyed<A, M: Message + Default>(
    caller: &str,
    key: &RequestKey,
    path: &'static str,
    to_wire: impl Fn(&A) -> M + Send + Sync,
    run: impl AsyncFnOnce(Asked<'_, A>) -> Result<Replied<A>, Error>,
) -> Result<Response<M>, Status> {
    let encode = encoder(&to_wire);
    respond(run(asked(caller, key, path, &encode)).await, &to_wire)
}

/// An operator's keyed request: the caller must be an operator (refusals audited); the
/// request is parsed, the use case runs under the request's idempotency key, and the answer
/// is written out (or the first answer replayed).
macro_rules! operator_step {
    ($api:ident, $request:ident, $method:literal, $parse:path, $use_case:ident, $to_wire:expr) => {{
        const PATH: &str = concat!("/accord.v1.MembershipService/", $method);
        let (caller, _) = authorized(&$api.app, $method, &$request, |caller| {
            App::operator(caller).map(|_| ())
        })
        .await?;
        let (key, command) = parsed($parse($request.get_ref(), PATH))?;
        run_keyed(&caller.spiffe_id(), &key, PATH, $to_wire, async |asked| {
            $api.app.$use_case(asked, command).await
        })
        .await
    }};
}

/// A member's keyed request about itself: the caller must be an active member's node
/// (refusals audited), whose state the parser and the use case receive.
macro_rules! member_step {
    ($api:ident, $request:ident, $method:literal, $parse:expr, $use_case:ident, $to_wire:expr) => {{
        const PATH: &str = concat!("/accord.v1.MembershipService/", $method);
        let state = $api.callers.member_node($method, &$request).await?;
        let (key, command) = parsed($parse($request.get_ref(), PATH, state))?;
        let caller = PeerIdentity::Node(state).spiffe_id();
        run_keyed(&caller, &key, PATH, $to_wire, async |asked| {
            $api.app.$use_case(asked, state, command).await
        })
        .await
    }};
}

/// The answer to a change of a member's standing (`$response`): the member as it now
/// stands and the directory version that publishes it.
macro_rules! standing_changed {
    ($response:ident) => {
        |published: &Published<Member>| pb::$response {
            member: Some(convert::member_to_wire(&published.record)),
            directory_version: published.version,
        }
    };
}

/// How the idempotency record keeps an answer: its wire form's bytes.
fn encoder<A, M: Message>(
    to_wire: impl Fn(&A) -> M + Send + Sync,
) -> impl Fn(&A) -> Vec<u8> + Send + Sync
where
    A: ?Sized,
{
    move |answer| to_wire(answer).encode_to_vec()
}

type DirectoryVersions =
    Pin<Box<dyn Stream<Item = Result<pb::WatchDirectoryResponse, Status>> + Send>>;

#[tonic::async_trait]
impl MembershipService for MembershipApi {
    async fn issue_enrolment_token(
        &self,
        request: Request<pb::IssueEnrolmentTokenRequest>,
    ) -> Result<Response<pb::IssueEnrolmentTokenResponse>, Status> {
        const PATH: &str = "/accord.v1.MembershipService/IssueEnrolmentToken";
        let (caller, _) = authorized(&self.app, "IssueEnrolmentToken", &request, |caller| {
            App::operator(caller).map(|_| ())
        })
        .await?;
        let (key, command) = parsed(convert::issue_token(request.get_ref(), PATH))?;
        let caller = caller.spiffe_id();
        let encode = |issued: &Issued| issued_to_wire(issued).encode_to_vec();
        let replied = self
            .app
            .issue_token(asked(&caller, &key, PATH, &encode), command)
            .await
            .map_err(status)?;
        let (mut response, token_id) = match replied {
            Replied::Fresh(issued) => (
                issued_to_wire(&issued),
                issued.enrolment.token_id().to_owned(),
            ),
            Replied::Replay(bytes) => {
                let response: pb::IssueEnrolmentTokenResponse = replayed(&bytes)?;
                let token_id = response
                    .enrolment
                    .as_ref()
                    .map(|enrolment| enrolment.token_id.clone())
                    .unwrap_or_default();
                (response, token_id)
            }
        };
        response.token = self.app.token_for(&token_id).map_err(status)?;
        Ok(Response::new(response))
    }

    async fn cancel_enrolment_token(
        &self,
        request: Request<pb::CancelEnrolmentTokenRequest>,
    ) -> Result<Response<pb::CancelEnrolmentTokenResponse>, Status> {
        operator_step!(
            self,
            request,
            "CancelEnrolmentToken",
            convert::cancel_token,
            cancel_token,
            |view: &EnrolmentView| pb::CancelEnrolmentTokenResponse {
                enrolment: Some(enrolment_as_answered(view)),
            }
        )
    }

    async fn list_enrolments(
        &self,
        request: Request<pb::ListEnrolmentsRequest>,
    ) -> Result<Response<pb::ListEnrolmentsResponse>, Status> {
        authorized(&self.app, "ListEnrolments", &request, App::directory_reader).await?;
        let query = parsed(convert::list_enrolments(request.get_ref()))?;
        let page = self.app.list_enrolments(query).await.map_err(status)?;
        Ok(Response::new(convert::enrolment_page_to_wire(&page)))
    }

    async fn approve_enrolment(
        &self,
        request: Request<pb::ApproveEnrolmentRequest>,
    ) -> Result<Response<pb::ApproveEnrolmentResponse>, Status> {
        member_step!(
            self,
            request,
            "ApproveEnrolment",
            |message, path, _| convert::approve(message, path),
            approve,
            |view: &EnrolmentView| pb::ApproveEnrolmentResponse {
                enrolment: Some(enrolment_as_answered(view)),
            }
        )
    }

    async fn enrol(
        &self,
        request: Request<pb::EnrolRequest>,
    ) -> Result<Response<pb::EnrolResponse>, Status> {
        const PATH: &str = "/accord.v1.MembershipService/Enrol";
        let (key, command) = parsed(convert::enrol(request.get_ref(), PATH))?;
        let source = request.remote_addr().map(|address| address.ip());
        let encode = |enrolled: &Enrolled| convert::enrolled_to_wire(enrolled).encode_to_vec();
        let replied = self.app.enrol(&key, source, command, &encode).await;
        respond(replied, convert::enrolled_to_wire)
    }

    async fn renew_credentials(
        &self,
        request: Request<pb::RenewCredentialsRequest>,
    ) -> Result<Response<pb::RenewCredentialsResponse>, Status> {
        member_step!(
            self,
            request,
            "RenewCredentials",
            convert::renew,
            renew,
            convert::renewed_to_wire
        )
    }

    async fn retire_signing_key(
        &self,
        request: Request<pb::RetireSigningKeyRequest>,
    ) -> Result<Response<pb::RetireSigningKeyResponse>, Status> {
        member_step!(
            self,
            request,
            "RetireSigningKey",
            |message, path, _| convert::retire_key(message, path),
            retire_key,
            |published: &Published<Member>| {
                pb::RetireSigningKeyResponse {
                    member: Some(convert::member_to_wire(&published.record)),
                }
            }
        )
    }

    async fn get_directory(
        &self,
        request: Request<pb::GetDirectoryRequest>,
    ) -> Result<Response<pb::GetDirectoryResponse>, Status> {
        authorized(&self.app, "GetDirectory", &request, App::directory_reader).await?;
        let directory = self.app.directory();
        Ok(Response::new(pb::GetDirectoryResponse {
            directory: Some(directory.wire().clone()),
        }))
    }

    type WatchDirectoryStream = DirectoryVersions;

    async fn watch_directory(
        &self,
        request: Request<pb::WatchDirectoryRequest>,
    ) -> Result<Response<Self::WatchDirectoryStream>, Status> {
        authorized(&self.app, "WatchDirectory", &request, App::directory_reader).await?;
        let permit = self.watchers.clone().try_acquire_owned().map_err(|_| {
            status(Error::Exhausted(
                "too many directory watchers (limits.directory_watchers_max); retry later"
                    .to_owned(),
            ))
        })?;
        let after_version = request.get_ref().after_version;
        let mut stopping = self.stopping.clone();
        let stopped = async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
        };
        let versions = WatchStream::new(self.app.watch_directory())
            .filter(move |signed| {
                after_version == 0 || signed.directory().version() > after_version
            })
            .map(move |signed| {
                // The permit lives as long as the stream.
                let _held = &permit;
                Ok(pb::WatchDirectoryResponse {
                    directory: Some(signed.wire().clone()),
                })
            });
        let versions = futures_util::StreamExt::take_until(versions, stopped);
        Ok(Response::new(Box::pin(versions)))
    }

    async fn set_agreement(
        &self,
        request: Request<pb::SetAgreementRequest>,
    ) -> Result<Response<pb::SetAgreementResponse>, Status> {
        operator_step!(
            self,
            request,
            "SetAgreement",
            convert::set_agreement,
            set_agreement,
            |published: &Published<Agreement>| {
                pb::SetAgreementResponse {
                    agreement: Some(accord_edge::directory::agreement_to_wire(&published.record)),
                    directory_version: published.version,
                }
            }
        )
    }

    async fn suspend_member(
        &self,
        request: Request<pb::SuspendMemberRequest>,
    ) -> Result<Response<pb::SuspendMemberResponse>, Status> {
        operator_step!(
            self,
            request,
            "SuspendMember",
            convert::suspend_member,
            change_status,
            standing_changed!(SuspendMemberResponse)
        )
    }

    async fn reinstate_member(
        &self,
        request: Request<pb::ReinstateMemberRequest>,
    ) -> Result<Response<pb::ReinstateMemberResponse>, Status> {
        operator_step!(
            self,
            request,
            "ReinstateMember",
            convert::reinstate_member,
            change_status,
            standing_changed!(ReinstateMemberResponse)
        )
    }

    async fn revoke_member(
        &self,
        request: Request<pb::RevokeMemberRequest>,
    ) -> Result<Response<pb::RevokeMemberResponse>, Status> {
        operator_step!(
            self,
            request,
            "RevokeMember",
            convert::revoke_member,
            change_status,
            standing_changed!(RevokeMemberResponse)
        )
    }

    async fn get_revocation_list(
        &self,
        request: Request<pb::GetRevocationListRequest>,
    ) -> Result<Response<pb::GetRevocationListResponse>, Status> {
        authorized(
            &self.app,
            "GetRevocationList",
            &request,
            App::directory_reader,
        )
        .await?;
        let list = self.app.revocation_list();
        Ok(Response::new(convert::revocation_list_to_wire(&list)))
    }
}
