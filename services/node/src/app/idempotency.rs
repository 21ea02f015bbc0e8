//! Idempotent requests: how a use case recognises a caller's replay and answers it with the
//! first outcome (common.proto, "Idempotency").
//!
//! A mutating request names a client-generated key; the first answer is stored with the key,
//! the operation and a digest of the request ([`super::request_digest`]) in the same
//! transaction as the change it reports. Asked again with the same key, a use case answers:
//!
//! - the same operation and content: the first outcome, decoded, without deciding again;
//! - other content or another operation: `KeyReused` (`ALREADY_EXISTS`);
//! - a key never used: nothing, and the request is decided afresh.
//!
//! Outcomes are stored as protobuf encodings, so a replay answers byte for byte what the
//! first call answered. Partners' event deliveries carry their own keys and are recognised by
//! the stored event itself, not here.

use accord_domain::{CaseRef, IdempotencyKey};
use prost::Message;

use super::{App, Error, retry_on_conflict};
use crate::store::{Change, Committed, IdempotencyRecord};

/// The request a use case answers, for its idempotency record and its replay look-up.
pub(crate) struct IdempotencyContext<'a> {
    /// The caller's identity (its SPIFFE id): keys are scoped to their caller.
    pub(crate) caller: &'a str,
    /// The caller's key.
    pub(crate) idempotency_key: &'a IdempotencyKey,
    /// The RPC the key was used for.
    pub(crate) operation: &'a str,
    /// SHA-256 of the request, see [`super::request_digest`].
    pub(crate) request_digest: &'a [u8],
}

impl App {
    /// The first answer to (caller, key), decoded, if the key was used for the same operation
    /// and content; `KeyReused` if it was used with other content or for another operation;
    /// `None` if it was never used.
    pub(crate) async fn first_outcome_of<T: Message + Default>(
        &self,
        context: &IdempotencyContext<'_>,
    ) -> Result<Option<T>, Error> {
        let Some(first) = self
            .store()
            .find_idempotency(context.caller, context.idempotency_key.as_str())
            .await?
        else {
            return Ok(None);
        };
        if first.operation != context.operation || first.request_digest != context.request_digest {
            return Err(Error::KeyReused(context.idempotency_key.to_string()));
        }
        decode_outcome(&first.response).map(Some)
    }

    /// Runs a keyed step: answers the first outcome if the request is a replay, else
    /// `attempt`, read again and retried while a concurrent change wins
    /// ([`super::retry_on_conflict`]); the replay check is repeated on every attempt, since
    /// the concurrent change may be this very request, sent twice.
    pub(crate) async fn replay_or_attempt<T, F, Fut>(
        &self,
        subject: &CaseRef,
        context: &IdempotencyContext<'_>,
        mut attempt: F,
    ) -> Result<T, Error>
    where
        T: Message + Default,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        retry_on_conflict(subject, || {
            let first = self.first_outcome_of(context);
            let fresh = attempt();
            async move {
                match first.await? {
                    Some(outcome) => Ok(outcome),
                    None => fresh.await,
                }
            }
        })
        .await
    }

    /// Commits a change and answers `outcome`, or the first answer when the writer found
    /// the same request committed before.
    pub(crate) async fn commit_with_outcome<T: Message + Default>(
        &self,
        change: Change,
        outcome: T,
    ) -> Result<T, Error> {
        match self.store().commit(change).await? {
            Committed::Applied => Ok(outcome),
            Committed::Replayed { response } => decode_outcome(&response),
        }
    }

    /// The idempotency record remembering `outcome` as the answer to `context`.
    pub(crate) fn outcome_record<T: Message>(
        &self,
        context: &IdempotencyContext<'_>,
        outcome: &T,
    ) -> IdempotencyRecord {
        IdempotencyRecord {
            caller: context.caller.to_owned(),
            idempotency_key: context.idempotency_key.to_string(),
            operation: context.operation.to_owned(),
            request_digest: context.request_digest.to_vec(),
            response: outcome.encode_to_vec(),
            created_at: self.now().as_millis(),
        }
    }
}

/// A stored outcome; one that does not decode is a corrupted store.
fn decode_outcome<T: Message + Default>(bytes: &[u8]) -> Result<T, Error> {
    T::decode(bytes).map_err(|error| Error::Internal(format!("stored response: {error}")))
}
