//! The coordinator's application error: what a use case tells its caller, and what it keeps.
//!
//! Variants other than `Internal` and `Unavailable`'s source may be told to the caller (an
//! operator, a member's node or gateway, a joining state); `Internal` keeps its detail for
//! the log. The one mapping to a gRPC status is `grpc::status`.

use std::sync::Arc;

use accord_edge::violation::{FieldViolation, Invalid, describe};

/// The failure underneath an internal error, kept whole for the log.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// Why a use case failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Fields of the request are missing or malformed; nothing was stored.
    #[error("invalid request: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// No verified Accord identity (or, for `Enrol`, no valid token).
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// An enrolment token that does not admit its holder.
    #[error(transparent)]
    Token(#[from] super::TokenRefusal),
    /// A signature does not verify under the named key, or the key is not the signer's
    /// (`SIGNATURE_INVALID`); nothing was stored.
    #[error("{0}")]
    SignatureInvalid(String),
    /// The member approved this enrolment before, with another request.
    #[error("{0}")]
    AlreadyApproved(String),
    /// The caller's identity may not make this call.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// No such record.
    #[error("{0} not found")]
    NotFound(String),
    /// The idempotency key was used before with other content.
    #[error("idempotency key {0:?} was already used with different content")]
    KeyReused(String),
    /// The record's lifecycle does not allow the change (`ILLEGAL_TRANSITION`).
    #[error("{0}")]
    IllegalTransition(String),
    /// What the caller signed is not what was published (`DIGEST_MISMATCH`): a tree head
    /// with another root hash or time than the coordinator's.
    #[error("{0}")]
    HeadMismatch(String),
    /// A concurrent change was committed first; the caller may retry.
    #[error("{0}")]
    Aborted(String),
    /// A limit of this coordinator is reached (`RESOURCE_EXHAUSTED`).
    #[error("{0}")]
    Exhausted(String),
    /// The store cannot be reached; the caller may retry with backoff.
    #[error("the store is unavailable")]
    Unavailable(#[source] Arc<crate::store::Error>),
    /// A fault of the coordinator's; the detail stays in its log.
    #[error("internal error: {context}")]
    Internal {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: Cause,
    },
}

impl Error {
    /// An internal failure while doing `context`.
    pub fn internal(
        context: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal {
            context: context.into(),
            source: Arc::new(cause),
        }
    }

    /// One bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::from(Invalid::field(field, description))
    }
}

impl From<Invalid> for Error {
    fn from(invalid: Invalid) -> Self {
        Self::InvalidArgument(invalid.0)
    }
}

impl From<crate::store::Error> for Error {
    fn from(error: crate::store::Error) -> Self {
        match error {
            crate::store::Error::Conflict => {
                Self::Aborted("a concurrent change was committed first; retry".to_owned())
            }
            crate::store::Error::KeyReused { idempotency_key } => Self::KeyReused(idempotency_key),
            other => Self::Unavailable(Arc::new(other)),
        }
    }
}
