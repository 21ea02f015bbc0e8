//! The node's application error: what a use case tells its caller, and what it keeps.
//!
//! Variants other than `Internal` may be told to the caller (a partner state or the
//! node's own gateway); `Internal` keeps its detail for the log. The one mapping to a gRPC
//! status is `grpc::status`.

use std::sync::Arc;

use crate::violation::{FieldViolation, Invalid};

/// The failure underneath an internal error, kept whole for the log.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// Why a precondition failed, in the vocabulary of `accord.v1.ErrorReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// The lifecycle does not allow the step from the current status.
    IllegalTransition,
    /// The regime's deadline for the step has passed.
    DeadlinePassed,
    /// The parity limit between the two states is reached.
    ParityLimitReached,
    /// The offer has no free place, is paused, closed, or outside its window.
    OfferNotAvailable,
    /// No agreement covers the pair (no such partner configured, or personal data may not
    /// flow in that direction under the regime).
    NoAgreement,
    /// An event's sequence is beyond the next expected one.
    SequenceGap,
    /// The event's signing key id is not the partner's known key.
    SigningKeyUnknown,
    /// The other state is suspended in the coordinator's directory: nothing new may start
    /// with it until it is reinstated.
    PartnerSuspended,
}

impl Precondition {
    /// The `ErrorReason` name without its prefix.
    pub fn reason(self) -> &'static str {
        match self {
            Self::IllegalTransition => "ILLEGAL_TRANSITION",
            Self::DeadlinePassed => "DEADLINE_PASSED",
            Self::ParityLimitReached => "PARITY_LIMIT_REACHED",
            Self::OfferNotAvailable => "OFFER_NOT_AVAILABLE",
            Self::NoAgreement => "NO_AGREEMENT",
            Self::SequenceGap => "SEQUENCE_GAP",
            Self::SigningKeyUnknown => "SIGNING_KEY_UNKNOWN",
            Self::PartnerSuspended => "PARTNER_SUSPENDED",
        }
    }
}

/// Why a use case failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Fields of the request are missing or malformed; nothing was stored.
    #[error("invalid request: {}", crate::violation::describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The caller's identity may not make this call or act on this record.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The caller's state, or this node's own, is suspended in the coordinator's directory:
    /// its calls are refused (a partner's deliveries wait in its outbox until it is
    /// reinstated).
    #[error("member suspended: {0}")]
    MemberSuspended(String),
    /// No such record visible to the caller.
    #[error("{0} not found")]
    NotFound(String),
    /// The idempotency key was used before with other content.
    #[error("idempotency key {0:?} was already used with different content")]
    KeyReused(String),
    /// The record's state forbids the call.
    #[error("{description}")]
    FailedPrecondition {
        /// The machine-readable reason.
        precondition: Precondition,
        /// The record concerned.
        subject: String,
        /// A sentence for people.
        description: String,
    },
    /// A concurrent change won; read again and retry.
    #[error("aborted: {0}")]
    Aborted(String),
    /// A delivered event claims a sequence this node's history already holds with another
    /// event that wins the clash (event.proto): the sender's event is replaced on its side
    /// when ours reaches it. Retrying here cannot change the outcome.
    #[error(
        "sequence taken: {subject} already holds event {sequence} (another event won the number)"
    )]
    SequenceTaken {
        /// The case or offer.
        subject: String,
        /// The sequence claimed.
        sequence: u64,
    },
    /// A signature does not verify under the named key.
    #[error("signature of {0} does not verify")]
    SignatureInvalid(String),
    /// The store cannot serve now: the database failed, or the node is shutting down.
    #[error("the store is unavailable")]
    Unavailable(#[source] crate::store::Error),
    /// A bug or a corrupted store: logged, never told.
    #[error("internal error: {context}")]
    Internal {
        /// What the node was doing, or what it found that should not be.
        context: String,
        /// The failure underneath, when one caused it.
        #[source]
        source: Option<Cause>,
    },
}

impl Error {
    /// One bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// An internal error that `source` caused while the node was doing `context`.
    pub fn internal(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal {
            context: context.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// An internal error with no failure underneath: the node found what should not be.
    pub fn inconsistent(context: impl Into<String>) -> Self {
        Self::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// A failed precondition on `subject`.
    pub fn precondition(
        precondition: Precondition,
        subject: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self::FailedPrecondition {
            precondition,
            subject: subject.into(),
            description: description.into(),
        }
    }
}

impl From<crate::store::Error> for Error {
    fn from(error: crate::store::Error) -> Self {
        use crate::store::Error as Store;
        match error {
            Store::KeyReused { idempotency_key } => Self::KeyReused(idempotency_key),
            Store::Conflict => Self::Aborted("the case changed concurrently; retry".into()),
            Store::WriterStopped | Store::Database(_) => Self::Unavailable(error),
            Store::Corrupt(_) | Store::NoRandomness => Self::internal("reading the store", error),
        }
    }
}

impl From<Invalid> for Error {
    fn from(invalid: Invalid) -> Self {
        Self::InvalidArgument(invalid.0)
    }
}

impl From<crate::convert::envelope::Error> for Error {
    fn from(error: crate::convert::envelope::Error) -> Self {
        use crate::convert::envelope::Error as Envelope;
        match error {
            Envelope::Invalid(invalid) => Self::InvalidArgument(invalid.0),
            Envelope::SignatureInvalid(subject) => Self::SignatureInvalid(subject),
            Envelope::Corrupt { .. } => Self::internal("reading a stored event", error),
        }
    }
}
