//! What handlers take from a request besides the caller: a JSON body, a query, the
//! `Idempotency-Key` header. Each refuses with a problem, never with axum's plain text.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::convert::invalid;
use crate::problem::Problem;

/// The header that carries the client's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A JSON body; a body that is not JSON, or not of the expected shape, is a 400 problem
/// (415 without the `application/json` content type).
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_problem(&rejection)),
        }
    }
}

fn json_problem(rejection: &JsonRejection) -> Problem {
    let (status, reason) = match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "NOT_JSON")
        }
        JsonRejection::JsonDataError(_) => (StatusCode::BAD_REQUEST, "BODY_INVALID"),
        _ => (StatusCode::BAD_REQUEST, "BODY_NOT_JSON"),
    };
    Problem::new(status, reason, rejection.body_text())
}

/// A query string; one that does not parse is a 400 problem.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_problem(&rejection)),
        }
    }
}

fn query_problem(rejection: &QueryRejection) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "QUERY_INVALID",
        rejection.body_text(),
    )
}

/// The client's idempotency key, from the `Idempotency-Key` header; required on every call
/// that records a step. The node checks its form and answers a replay with the first answer.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let refused = |description: &str| {
            Problem::from_status(&invalid(vec![(
                "Idempotency-Key".to_owned(),
                description.to_owned(),
            )]))
        };
        let value = parts
            .headers
            .get(IDEMPOTENCY_KEY)
            .ok_or_else(|| refused("the header is required on every call that records a step"))?;
        let key = value
            .to_str()
            .map_err(|_| refused("must be printable ASCII"))?;
        Ok(Self(key.to_owned()))
    }
}
