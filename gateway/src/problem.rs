//! Errors as `application/problem+json` (RFC 9457).
//!
//! [`Problem::from_status`] is the one mapping from a `tonic::Status` (the node's, or the
//! gateway's own parse errors, which are shaped as the node's) to an HTTP status and a problem
//! body: the `google.rpc.ErrorInfo` reason becomes `reason` and the problem's `type`, the
//! `BadRequest` field violations become `violations`, the `PreconditionFailure` violations
//! `preconditions`. The gateway's own refusals (no token, wrong role, a body that is not
//! JSON) are problems too, never axum's plain text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tonic::Code;
use tonic_types::StatusExt;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem, with Accord's extension members.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// `urn:accord:problem:<REASON>`, or `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// The machine-readable reason (`FIELD_INVALID`, `ILLEGAL_TRANSITION`, `UNAUTHENTICATED`,
    /// …): the node's `google.rpc.ErrorInfo` reason, or the gateway's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The invalid fields, by JSON path (`person.nationality`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<FieldViolation>,
    /// The preconditions that failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preconditions: Vec<PreconditionViolation>,
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldViolation {
    /// The field's path.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

/// One failed precondition.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema)]
pub struct PreconditionViolation {
    /// The reason (`ILLEGAL_TRANSITION`, `DEADLINE_PASSED`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// What it concerns.
    pub subject: String,
    /// What failed.
    pub description: String,
}

impl Problem {
    /// A problem with `status`, `reason` and `detail` and no violations.
    pub fn new(status: StatusCode, reason: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:accord:problem:{reason}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            reason: Some(reason.to_owned()),
            violations: Vec::new(),
            preconditions: Vec::new(),
        }
    }

    /// The one mapping of a gRPC status to HTTP.
    pub fn from_status(status: &tonic::Status) -> Self {
        let details = status.get_error_details();
        let http = http_status(status.code());
        let reason = details
            .error_info()
            .map(|info| info.reason.clone())
            .filter(|reason| !reason.is_empty())
            .unwrap_or_else(|| format!("{:?}", status.code()).to_uppercase());
        let mut problem = Self::new(http, &reason, status.message());
        if let Some(bad_request) = details.bad_request() {
            problem.violations = bad_request
                .field_violations
                .iter()
                .map(|violation| FieldViolation {
                    field: violation.field.clone(),
                    description: violation.description.clone(),
                })
                .collect();
        }
        if let Some(failure) = details.precondition_failure() {
            problem.preconditions = failure
                .violations
                .iter()
                .map(|violation| PreconditionViolation {
                    kind: violation.r#type.clone(),
                    subject: violation.subject.clone(),
                    description: violation.description.clone(),
                })
                .collect();
        }
        problem
    }
}

/// The HTTP status of a gRPC code. The node's refusal of the gateway's own identity
/// (`UNAUTHENTICATED`) and its internal failures are the upstream's fault: 502.
fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable | Code::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unauthenticated | Code::Internal | Code::Unknown | Code::DataLoss => {
            StatusCode::BAD_GATEWAY
        }
    }
}

impl From<tonic::Status> for Problem {
    fn from(status: tonic::Status) -> Self {
        Self::from_status(&status)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"accord\""),
            );
        }
        response
    }
}
