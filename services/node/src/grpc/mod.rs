//! The node's gRPC surface: thin handlers. Each RPC names who may call it, the `convert`
//! function that parses its request into a use-case command, and the use case; the shared
//! paths here do the rest in one order — the caller's identity from its certificate,
//! authorization (refusals audited), parsing (every violation at once), the use case, and
//! the one mapping of its error to a status ([`status`]). Handlers hold no field rules and
//! build no domain values; they never touch the store.

pub mod admission;
pub mod readmission;

use std::collections::HashMap;
use std::future::Future;

use accord_domain::CaseRef;
use accord_edge::ERROR_DOMAIN;
use accord_trust::PeerIdentity;
use prost::Message;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::app::case::Served;
use crate::app::{App, Error, Precondition, request_digest};
use crate::convert::RequestContext;
use crate::convert::command::{Answer, EventPage, EventPageRequest, Receipt, Step};
use crate::convert::envelope::Signed;
use crate::echo::cut_long_values;
use crate::violation::Invalid;

/// The one mapping of application errors to gRPC statuses, with rich error details
/// (`google.rpc.BadRequest`, `PreconditionFailure`, `ErrorInfo`). Internal detail is logged
/// here and never sent.
pub fn status(error: Error) -> Status {
    let mut details = ErrorDetails::new();
    let (code, reason, message) = match error {
        Error::InvalidArgument(violations) => {
            let message = Error::InvalidArgument(violations.clone()).to_string();
            for violation in violations {
                details.add_bad_request_violation(violation.field, violation.description);
            }
            (Code::InvalidArgument, "FIELD_INVALID", message)
        }
        Error::PermissionDenied(message) => (Code::PermissionDenied, "CALLER_NOT_ALLOWED", message),
        Error::MemberSuspended(message) => (Code::PermissionDenied, "MEMBER_SUSPENDED", message),
        Error::NotFound(what) => (
            Code::NotFound,
            "RECORD_NOT_FOUND",
            format!("{what} not found"),
        ),
        Error::KeyReused(key) => (
            Code::AlreadyExists,
            "IDEMPOTENCY_KEY_REUSED",
            format!("idempotency key {key:?} was already used with different content"),
        ),
        Error::FailedPrecondition {
            precondition,
            subject,
            description,
        } => {
            details.add_precondition_failure_violation(
                precondition.reason(),
                cut_long_values(&subject),
                cut_long_values(&description),
            );
            (Code::FailedPrecondition, precondition.reason(), description)
        }
        Error::SequenceTaken { .. } => (Code::Aborted, "SEQUENCE_TAKEN", error.to_string()),
        Error::Aborted(message) => (Code::Aborted, "CONCURRENT_CHANGE", message),
        Error::SignatureInvalid(subject) => (
            Code::InvalidArgument,
            "SIGNATURE_INVALID",
            format!("the signature of {subject} does not verify under the sender's key"),
        ),
        Error::Unavailable(ref source) => {
            tracing::warn!(error = source as &dyn std::error::Error, "unavailable");
            (
                Code::Unavailable,
                "SERVICE_UNAVAILABLE",
                "the node's store is unavailable; retry with backoff".to_owned(),
            )
        }
        Error::Internal { .. } => {
            tracing::error!(error = &error as &dyn std::error::Error, "internal error");
            (
                Code::Internal,
                "INTERNAL",
                "internal error; the node's log has the details".to_owned(),
            )
        }
    };
    details.set_error_info(reason, ERROR_DOMAIN, HashMap::<String, String>::new());
    Status::with_error_details(code, cut_long_values(&message), details)
}

/// One RPC: its service and method, as audit records and the idempotency record name it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rpc {
    /// The service's name without its package, e.g. `ReadmissionService`.
    pub(crate) service: &'static str,
    /// The method, e.g. `OpenReadmission`.
    pub(crate) method: &'static str,
}

impl Rpc {
    /// The gRPC path, `/accord.v1.<service>/<method>`, as audit records name the call.
    fn path(self) -> String {
        format!("/accord.v1.{}/{}", self.service, self.method)
    }
}

/// The caller's identity, put in the request by the authentication layer.
fn caller<T>(request: &Request<T>) -> Result<PeerIdentity, Status> {
    request
        .extensions()
        .get::<PeerIdentity>()
        .cloned()
        .map_or_else(
            || PeerIdentity::from_request(request).map_err(Status::from),
            Ok,
        )
}

/// The caller's identity and what `authorize` says of it, when it may call; a refusal is
/// audited (`refuse`) before the request is read any further.
async fn authorized<T, Out>(
    app: &App,
    rpc: Rpc,
    request: &Request<T>,
    authorize: impl FnOnce(&PeerIdentity) -> Result<Out, Error>,
) -> Result<(PeerIdentity, Out), Status> {
    let identity = caller(request)?;
    match authorize(&identity) {
        Ok(out) => Ok((identity, out)),
        Err(error) => Err(refuse(app, &identity, &rpc.path(), error).await),
    }
}

/// Audits a permission refusal and turns it into its status.
async fn refuse(app: &App, caller: &PeerIdentity, path: &str, error: Error) -> Status {
    app.audit_refusal(
        &caller.spiffe_id(),
        path,
        "PERMISSION_DENIED",
        &error.to_string(),
    )
    .await;
    status(error)
}

/// Maps a use case's result, auditing the refusals the use case decided that an operator
/// must be able to find: permission refusals, and cases refused because the pair never
/// agreed their regime (`NO_AGREEMENT`, sent or received).
async fn respond<T, R: From<T>>(
    app: &App,
    caller: &str,
    path: &str,
    result: Result<T, Error>,
) -> Result<Response<R>, Status> {
    match result {
        Ok(value) => Ok(Response::new(R::from(value))),
        Err(error) => {
            match &error {
                Error::PermissionDenied(detail) | Error::MemberSuspended(detail) => {
                    app.audit_refusal(caller, path, "PERMISSION_DENIED", detail)
                        .await;
                }
                Error::FailedPrecondition {
                    precondition: Precondition::NoAgreement,
                    description,
                    ..
                } => {
                    app.audit_refusal(caller, path, "NO_AGREEMENT", description)
                        .await;
                }
                _ => {}
            }
            Err(status(error))
        }
    }
}

/// The path of every RPC of this state's own gateway (the local API): the caller must be
/// `spiffe://accord/state/<own>/gateway`; `parse` turns the request into the command `run`
/// takes, or names every bad field.
pub(crate) async fn serve_local<Req, Command, Out, Resp, Fut>(
    app: &App,
    rpc: Rpc,
    request: Request<Req>,
    parse: impl FnOnce(&Req, &RequestContext) -> Result<Command, Invalid>,
    run: impl FnOnce(App, String, Command) -> Fut,
) -> Result<Response<Resp>, Status>
where
    Req: Message,
    Fut: Future<Output = Result<Out, Error>>,
    Resp: From<Out>,
{
    let (identity, ()) =
        authorized(app, rpc, &request, |identity| app.authorize_local(identity)).await?;
    let caller = identity.spiffe_id();
    parse_and_run(
        app,
        rpc,
        &identity,
        request.into_inner(),
        Keyed::Yes,
        parse,
        |command| run(app.clone(), caller, command),
    )
    .await
}

/// Whether a request carries an idempotency key, so that its digest tells a replay from a
/// reuse of the key (`RequestContext::request_digest`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyed {
    Yes,
    No,
}

/// What every path does once the caller may call: parse the request into a command (every
/// bad field at once), run the use case, and respond (`respond` audits its refusals).
async fn parse_and_run<Req, Command, Out, Resp, Fut>(
    app: &App,
    rpc: Rpc,
    identity: &PeerIdentity,
    message: Req,
    keyed: Keyed,
    parse: impl FnOnce(&Req, &RequestContext) -> Result<Command, Invalid>,
    run: impl FnOnce(Command) -> Fut,
) -> Result<Response<Resp>, Status>
where
    Req: Message,
    Fut: Future<Output = Result<Out, Error>>,
    Resp: From<Out>,
{
    let request_digest = match keyed {
        Keyed::Yes => request_digest(rpc.method, &message.encode_to_vec()),
        Keyed::No => Vec::new(),
    };
    let context = RequestContext {
        operation: rpc.method,
        request_digest,
        own_state: app.own_state(),
        now: app.now(),
    };
    let command = parse(&message, &context).map_err(|invalid| status(invalid.into()))?;
    let result = run(command).await;
    respond(app, &identity.spiffe_id(), &rpc.path(), result).await
}

/// The path of every caseworker's step on a record of kind `L`: [`serve_local`] with the
/// kind's step use case.
pub(crate) async fn serve_step<L, Req, Resp>(
    app: &App,
    rpc: Rpc,
    request: Request<Req>,
    parse: fn(&Req, &RequestContext) -> Result<Step<L>, Invalid>,
) -> Result<Response<Resp>, Status>
where
    L: Served,
    Req: Message,
    Resp: From<Answer<L>>,
{
    serve_local(app, rpc, request, parse, |app, caller, step| async move {
        L::step_on(&app, &caller, step).await
    })
    .await
}

/// One RPC method in the form `#[tonic::async_trait]` gives a service trait's methods (the
/// RPC macros below expand after that attribute has run, so they write its form out).
macro_rules! rpc_method {
    ($method:ident, $request:ty => $response:ty, |$this:ident, $req:ident| $body:expr) => {
        fn $method<'life0, 'async_trait>(
            &'life0 self,
            $req: tonic::Request<$request>,
        ) -> ::core::pin::Pin<
            Box<
                dyn ::core::future::Future<
                        Output = Result<tonic::Response<$response>, tonic::Status>,
                    > + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            let $this = self;
            Box::pin(async move { $body.await })
        }
    };
}

pub(crate) use rpc_method;

/// Implements a service's step RPCs, each one line: its method, its RPC name, its request
/// and response, and its parser; every one takes [`serve_step`].
macro_rules! step_rpcs {
    ($($method:ident: $name:literal, $request:ty => $response:ty, $parse:path;)+) => {$(
        super::rpc_method!($method, $request => $response, |this, request| {
            super::serve_step(&this.app, rpc($name), request, $parse)
        });
    )+};
}

pub(crate) use step_rpcs;

/// Implements a service's other local-API RPCs, each in two lines: its method, its RPC name,
/// its request and response, its parser, and the use case it runs with the app, the
/// caller's identity and the parsed command; every one takes [`serve_local`].
macro_rules! local_rpcs {
    ($($method:ident: $name:literal, $request:ty => $response:ty, $parse:path,
        |$app:ident, $caller:tt, $command:ident| $use_case:expr;)+) => {$(
        super::rpc_method!($method, $request => $response, |this, request| {
            super::serve_local(
                &this.app,
                rpc($name),
                request,
                $parse,
                |$app, $caller, $command| async move { $use_case.await },
            )
        });
    )+};
}

pub(crate) use local_rpcs;

/// Implements a service's event deliveries, each in two lines: its method, its RPC name, its
/// request and response, and the kind of record whose event its `event` field carries;
/// every one takes [`serve_delivery`].
macro_rules! delivery_rpcs {
    ($($method:ident: $name:literal, $request:ty => $response:ty, $kind:ty;)+) => {$(
        super::rpc_method!($method, $request => $response, |this, request| {
            super::serve_delivery::<$kind, _, _>(&this.app, rpc($name), request, |message| {
                message.event
            })
        });
    )+};
}

pub(crate) use delivery_rpcs;

/// Implements a service's history reads, each in two lines: its method, its RPC name, its
/// request and response, the kind of record it reads, the request field that names the
/// record, and its parser; every one takes [`serve_history`].
macro_rules! history_rpcs {
    ($($method:ident: $name:literal, $request:ty => $response:ty,
        $kind:ty, $reference:ident, $parse:path;)+) => {$(
        super::rpc_method!($method, $request => $response, |this, request| {
            super::serve_history::<$kind, _, _>(
                &this.app,
                rpc($name),
                request,
                |message| &message.$reference,
                $parse,
            )
        });
    )+};
}

pub(crate) use history_rpcs;

/// The path of every event delivery: the caller must be a partner's node; `take` takes the
/// event out of the request, and the kind's delivery use case receives it from that partner.
pub(crate) async fn serve_delivery<L, Req, Resp>(
    app: &App,
    rpc: Rpc,
    request: Request<Req>,
    take: impl FnOnce(Req) -> Option<L::WireEvent>,
) -> Result<Response<Resp>, Status>
where
    L: Served,
    Resp: From<Receipt>,
{
    let path = rpc.path();
    let (identity, partner) = authorized(app, rpc, &request, |identity| {
        app.authorize_partner(identity)
    })
    .await?;
    let Some(event) = take(request.into_inner()) else {
        return Err(status(Error::invalid("event", "is required")));
    };
    let result = L::deliver_to(app, partner, event).await;
    respond(app, &identity.spiffe_id(), &path, result).await
}

/// Parses a history read: the record it names and the page it asks for.
pub(crate) type HistoryParser<Req> =
    fn(&Req, &RequestContext) -> Result<(CaseRef, EventPageRequest), Invalid>;

/// The path of every history read (`List…Events`) of a record of kind `L`: this node's
/// gateway, or the partner node that is a party to the record `reference` names (a malformed
/// reference is left to `parse`, which refuses it as invalid). Authorization comes before
/// validation.
pub(crate) async fn serve_history<L, Req, Resp>(
    app: &App,
    rpc: Rpc,
    request: Request<Req>,
    reference: impl FnOnce(&Req) -> &str,
    parse: HistoryParser<Req>,
) -> Result<Response<Resp>, Status>
where
    L: Served,
    Req: Message,
    Resp: From<EventPage<Signed<L>>>,
{
    let named = reference(request.get_ref());
    let (identity, ()) = authorized(app, rpc, &request, |identity| {
        app.authorize_history_reader(identity, named)
    })
    .await?;
    let message = request.into_inner();
    parse_and_run(
        app,
        rpc,
        &identity,
        message,
        Keyed::No,
        parse,
        |(record, page)| app.history::<L>(record, page),
    )
    .await
}
