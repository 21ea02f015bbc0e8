//! The node's gRPC surface: thin handlers that read the caller's identity from its
//! certificate, authorize, validate and convert the request, call a use case, and map its
//! error to a status in exactly one place ([`status`]).

pub mod admission;
pub mod contract;
pub mod readmission;

use std::collections::HashMap;

use accord_domain::{CaseRef, IdempotencyKey};
use accord_trust::PeerIdentity;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::app::{App, Error, Precondition, Violations};
use crate::echo::cut_long_values;

/// The `google.rpc.ErrorInfo` domain of every Accord error.
const ERROR_DOMAIN: &str = "accord";

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
        Error::Unavailable(detail) => {
            tracing::warn!(detail, "unavailable");
            (
                Code::Unavailable,
                "SERVICE_UNAVAILABLE",
                "the node's store is unavailable; retry with backoff".to_owned(),
            )
        }
        Error::Internal(detail) => {
            tracing::error!(detail, "internal error");
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

/// The caller's identity, put in the request by the authentication layer.
pub(crate) fn caller<T>(request: &tonic::Request<T>) -> Result<PeerIdentity, Status> {
    request
        .extensions()
        .get::<PeerIdentity>()
        .cloned()
        .map_or_else(
            || PeerIdentity::from_request(request).map_err(Status::from),
            Ok,
        )
}

/// Checks that the caller is this node's own gateway; a refusal is audited.
pub(crate) async fn local_caller<T>(
    app: &App,
    request: &tonic::Request<T>,
    operation: &str,
) -> Result<PeerIdentity, Status> {
    let caller = caller(request)?;
    if let Err(error) = app.authorize_local(&caller) {
        app.audit_refusal(
            &caller.spiffe_id(),
            operation,
            "PERMISSION_DENIED",
            &error.to_string(),
        )
        .await;
        return Err(status(error));
    }
    Ok(caller)
}

/// Checks that the caller is a partner node; returns its state. A refusal is audited.
pub(crate) async fn partner_caller<T>(
    app: &App,
    request: &tonic::Request<T>,
    operation: &str,
) -> Result<accord_domain::StateCode, Status> {
    let caller = caller(request)?;
    match app.authorize_partner(&caller) {
        Ok(state) => Ok(state),
        Err(error) => {
            app.audit_refusal(
                &caller.spiffe_id(),
                operation,
                "PERMISSION_DENIED",
                &error.to_string(),
            )
            .await;
            Err(status(error))
        }
    }
}

/// Maps a use case's result, auditing the refusals the use case decided that an operator
/// must be able to find: permission refusals, and cases refused because the pair never
/// agreed their regime (`NO_AGREEMENT`, sent or received).
pub(crate) async fn respond<T>(
    app: &App,
    caller: &str,
    operation: &str,
    result: Result<T, Error>,
) -> Result<tonic::Response<T>, Status> {
    match result {
        Ok(value) => Ok(tonic::Response::new(value)),
        Err(error) => {
            match &error {
                Error::PermissionDenied(detail) => {
                    app.audit_refusal(caller, operation, "PERMISSION_DENIED", detail)
                        .await;
                }
                Error::FailedPrecondition {
                    precondition: Precondition::NoAgreement,
                    description,
                    ..
                } => {
                    app.audit_refusal(caller, operation, "NO_AGREEMENT", description)
                        .await;
                }
                _ => {}
            }
            Err(status(error))
        }
    }
}

/// Reads the idempotency key field.
pub(crate) fn idempotency_key(violations: &mut Violations, text: &str) -> Option<IdempotencyKey> {
    if text.is_empty() {
        violations.add("idempotency_key", "is required");
        return None;
    }
    violations.check("idempotency_key", IdempotencyKey::parse(text))
}

/// Reads a case reference field.
pub(crate) fn case_ref(violations: &mut Violations, field: &str, text: &str) -> Option<CaseRef> {
    if text.is_empty() {
        violations.add(field, "is required");
        return None;
    }
    violations.check(field, CaseRef::parse(text))
}
