//! Idempotent requests: how a use case recognises a caller's replay and answers it with the
//! first answer (common.proto, "Idempotency").
//!
//! A mutating request names a client-generated key; the first answer is stored with the key,
//! the operation and a digest of the request (`command::RequestKey`) in the same transaction
//! as the change it reports. Asked again with the same key, a use case answers:
//!
//! - the same operation and content: the first answer, read back, without deciding again;
//! - other content or another operation: `KeyReused` (`ALREADY_EXISTS`);
//! - a key never used: nothing, and the request is decided afresh.
//!
//! A record keeps the answer without its case history (`convert::answers`): the history is
//! the case's events up to the sequence the record names, which are stored anyway and read
//! back on a replay. A history is only ever replaced when this node's events lose a sequence
//! clash (`readmission::resolve_clash`); the records of the displaced steps are then made
//! whole, in the same transaction, from the history being replaced (`Core::whole_answers`).
//! Partners' event deliveries carry their own keys and are recognised by the stored event
//! itself, not here.
//!
//! The key a record is stored under is not the caller's but its pseudonym (`event_key`),
//! made when the request enters ([`Asked::new`]); the caller's key is only echoed back to
//! the caller, in `KeyReused`.

use accord_domain::CaseRef;

use super::event_key::EventKey;
use super::{Core, Error, retry_on_conflict};
use crate::convert::answers::{self, Answered, StoredOutcome};
use crate::convert::command::{Answer, RequestKey};
use crate::convert::envelope::Signed;
use crate::store::{self, Change, Committed, IdempotencyRecord, StoredAnswer};

/// The request a use case answers: who asked, and the key that makes it idempotent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked<'a> {
    /// The caller's identity (its SPIFFE id): keys are scoped to their caller.
    pub(crate) caller: &'a str,
    /// The request's key, the caller's own: told back to the caller only.
    key: &'a RequestKey,
    /// Its pseudonym, which the idempotency record and the step's event carry.
    pub(crate) event_key: &'a EventKey,
}

impl<'a> Asked<'a> {
    /// The request `caller` keyed with `key`, whose pseudonym is `event_key`
    /// ([`Core::event_key_of`]).
    pub(crate) fn new(caller: &'a str, key: &'a RequestKey, event_key: &'a EventKey) -> Self {
        Self {
            caller,
            key,
            event_key,
        }
    }

    /// The refusal of a key used before with other content, naming the caller's own key
    /// (the caller sent it; the pseudonym would tell it nothing).
    fn key_reused(&self) -> Error {
        Error::KeyReused(self.key.idempotency_key.to_string())
    }
}

impl Core {
    /// The pseudonym of a request's key, as this node's events and records carry it.
    pub(crate) fn event_key_of(&self, key: &RequestKey) -> EventKey {
        self.event_keys().of_request(&key.idempotency_key)
    }

    /// The first answer to the request, if its key was used for the same operation and
    /// content; `KeyReused` if it was used with other content or for another operation;
    /// `None` if it was never used.
    pub(crate) async fn first_answer_to<L: Answered>(
        &self,
        asked: Asked<'_>,
    ) -> Result<Option<Answer<L>>, Error> {
        let key = asked.key;
        let Some(first) = self
            .store()
            .find_idempotency(asked.caller, asked.event_key.as_str())
            .await?
        else {
            return Ok(None);
        };
        if first.operation != key.operation || first.request_digest != key.request_digest {
            return Err(asked.key_reused());
        }
        self.answer_from(first.answer()).await.map(Some)
    }

    /// Runs a keyed step: answers the first answer if the request is a replay, else
    /// `attempt`, read again and retried while a concurrent change wins
    /// ([`super::retry_on_conflict`]); the replay check is repeated on every attempt, since
    /// the concurrent change may be this very request, sent twice.
    pub(crate) async fn replay_or_attempt<L, F, Fut>(
        &self,
        subject: &CaseRef,
        asked: Asked<'_>,
        mut attempt: F,
    ) -> Result<Answer<L>, Error>
    where
        L: Answered,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Answer<L>, Error>>,
    {
        retry_on_conflict(subject, || {
            let first = self.first_answer_to::<L>(asked);
            let fresh = attempt();
            async move {
                match first.await? {
                    Some(answer) => Ok(answer),
                    None => fresh.await,
                }
            }
        })
        .await
    }

    /// Commits a change and gives `answer` to `asked`, or the first answer when the writer
    /// found the same request committed before (`KeyReused` if with other content).
    pub(crate) async fn commit_answer<L: Answered>(
        &self,
        asked: Asked<'_>,
        change: Change,
        answer: Answer<L>,
    ) -> Result<Answer<L>, Error> {
        match self.store().commit(change).await {
            Ok(Committed::Applied) => Ok(answer),
            Ok(Committed::Replayed(first)) => self.answer_from(first).await,
            Err(store::Error::KeyReused { .. }) => Err(asked.key_reused()),
            Err(error) => Err(error.into()),
        }
    }

    /// The idempotency record remembering `answer` as the answer to `asked`.
    pub(crate) fn answer_record<L: Answered>(
        &self,
        asked: Asked<'_>,
        answer: &Answer<L>,
    ) -> IdempotencyRecord {
        let (response, history_through) = answers::stored_form(answer);
        IdempotencyRecord {
            caller: asked.caller.to_owned(),
            idempotency_key: asked.event_key.to_string(),
            operation: asked.key.operation.to_owned(),
            request_digest: asked.key.request_digest.clone(),
            response,
            created_at: self.now().as_millis(),
            history_through,
        }
    }

    /// An answer as first given, from its stored form: with its history read back from the
    /// case's events when the record left it out.
    async fn answer_from<L: Answered>(&self, stored: StoredAnswer) -> Result<Answer<L>, Error> {
        let mut outcome = StoredOutcome::<L>::decode(&stored.response)?;
        let regime = outcome.regime();
        let Some(through) = stored.history_through else {
            return Ok(outcome.into_answer(None, regime)?);
        };
        let case_ref = outcome
            .case_ref()
            .ok_or_else(|| Error::inconsistent("a stored answer without its case"))?;
        let history = self
            .store()
            .events_through(&case_ref, through)
            .await?
            .iter()
            .map(|record| Signed::stored(&record.envelope, regime))
            .collect::<Result<Vec<_>, _>>()?;
        if history.len() as u64 != through {
            return Err(Error::inconsistent(format!(
                "a stored answer reaches event {through}, {case_ref} holds {}",
                history.len()
            )));
        }
        Ok(outcome.into_answer(Some(history), regime)?)
    }

    /// The records of `caller`'s keys among `displaced` whose answers reach into the history
    /// from `from_sequence` on, made whole from `history`, the case's history before it is
    /// replaced (see the module's docs).
    pub(crate) async fn whole_answers<L: Answered>(
        &self,
        caller: &str,
        displaced: &[Signed<L>],
        history: &[Signed<L>],
        from_sequence: u64,
    ) -> Result<Vec<IdempotencyRecord>, Error> {
        let mut whole = Vec::new();
        for event in displaced {
            let Some(mut record) = self
                .store()
                .find_idempotency(caller, event.header().idempotency_key)
                .await?
            else {
                continue;
            };
            let Some(through) = record.history_through.filter(|&n| n >= from_sequence) else {
                continue;
            };
            record.response = answers::made_whole(&record.response, history, through)?;
            record.history_through = None;
            whole.push(record);
        }
        Ok(whole)
    }
}
