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
//!
//! **An outcome is stored without its case history.** Every outcome holds the case with its
//! whole history ([`CaseAnswer`]), so records that kept it grew with the square of a case's
//! length. A record keeps the outcome with the history left out and `history_through`, the
//! sequence it reached; the history is the case's events 1 to that sequence, which are stored
//! anyway, and a replay reads them back. A history is only ever replaced when this node's
//! events lose a sequence clash (`readmission::resolve_clash`); the records of the displaced
//! steps are then made whole, in the same transaction, from the history being replaced
//! ([`App::whole_answers`]).

use accord_domain::{CaseRef, IdempotencyKey};
use accord_proto::v1 as pb;
use prost::Message;

use super::admission::AdmissionOutcome;
use super::envelope::CaseEvent;
use super::offer::OfferOutcome;
use super::readmission::StepOutcome;
use super::{App, Error, retry_on_conflict};
use crate::store::{Change, Committed, IdempotencyRecord, StoredAnswer};

/// A case's history and the event a step recorded, as an outcome holds them.
type HistoryAndEvent<'a, E> = (&'a mut Vec<E>, &'a mut Option<E>);

/// An outcome that holds a case (or an offer) with its history, and the event the step
/// recorded.
pub(crate) trait CaseAnswer: Message + Default {
    /// The case's event on the wire.
    type Event: CaseEvent + PartialEq;
    /// The case's reference, if the outcome holds the case.
    fn case_ref(&self) -> Option<&str>;
    /// The case's history and the recorded event, if the outcome holds the case.
    fn history_and_event(&mut self) -> Option<HistoryAndEvent<'_, Self::Event>>;
}

macro_rules! case_answer {
    ($outcome:ty, $case:ident, $reference:ident, $event:ty) => {
        impl CaseAnswer for $outcome {
            type Event = $event;
            fn case_ref(&self) -> Option<&str> {
                self.$case.as_ref().map(|case| case.$reference.as_str())
            }
            fn history_and_event(&mut self) -> Option<HistoryAndEvent<'_, Self::Event>> {
                let case = self.$case.as_mut()?;
                Some((&mut case.events, &mut self.event))
            }
        }
    };
}

case_answer!(StepOutcome, readmission, case_ref, pb::ReadmissionEvent);
case_answer!(AdmissionOutcome, admission, case_ref, pb::AdmissionEvent);
case_answer!(OfferOutcome, offer, offer_ref, pb::OfferEvent);

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
    pub(crate) async fn first_outcome_of<T: CaseAnswer>(
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
        self.outcome_from(first.answer()).await.map(Some)
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
        T: CaseAnswer,
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
    pub(crate) async fn commit_with_outcome<T: CaseAnswer>(
        &self,
        change: Change,
        outcome: T,
    ) -> Result<T, Error> {
        match self.store().commit(change).await? {
            Committed::Applied => Ok(outcome),
            Committed::Replayed(first) => self.outcome_from(first).await,
        }
    }

    /// The idempotency record remembering `outcome` as the answer to `context`, stored
    /// without its history (see the module's docs). The history is taken out of `outcome`
    /// for the encoding and put back.
    pub(crate) fn outcome_record<T: CaseAnswer>(
        &self,
        context: &IdempotencyContext<'_>,
        outcome: &mut T,
    ) -> IdempotencyRecord {
        let (response, history_through) = stored_form(outcome);
        IdempotencyRecord {
            caller: context.caller.to_owned(),
            idempotency_key: context.idempotency_key.to_string(),
            operation: context.operation.to_owned(),
            request_digest: context.request_digest.to_vec(),
            response,
            created_at: self.now().as_millis(),
            history_through,
        }
    }

    /// An outcome as first answered, from its stored form: with its history read back from
    /// the case's events when the record left it out.
    async fn outcome_from<T: CaseAnswer>(&self, stored: StoredAnswer) -> Result<T, Error> {
        let mut outcome: T = decode_outcome(&stored.response)?;
        let Some(through) = stored.history_through else {
            return Ok(outcome);
        };
        let case_ref = outcome
            .case_ref()
            .ok_or_else(|| Error::Internal("a stored answer without its case".into()))?
            .to_owned();
        let history = self
            .store()
            .events_through(&case_ref, through)
            .await?
            .iter()
            .map(|record| {
                T::Event::decode(record.envelope.as_slice())
                    .map_err(|error| Error::Internal(format!("stored event: {error}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        restore_history(&mut outcome, history, through)?;
        Ok(outcome)
    }

    /// The records of `caller`'s keys among `displaced` whose answers reach into the history
    /// from `from_sequence` on, made whole from `history`, the case's history before it is
    /// replaced (see the module's docs).
    pub(crate) async fn whole_answers<T: CaseAnswer>(
        &self,
        caller: &str,
        displaced: &[T::Event],
        history: &[T::Event],
        from_sequence: u64,
    ) -> Result<Vec<IdempotencyRecord>, Error> {
        let mut whole = Vec::new();
        for event in displaced {
            let Some(mut record) = self
                .store()
                .find_idempotency(caller, event.idempotency_key())
                .await?
            else {
                continue;
            };
            let Some(through) = record.history_through.filter(|&n| n >= from_sequence) else {
                continue;
            };
            let mut outcome: T = decode_outcome(&record.response)?;
            let reached = history
                .iter()
                .take_while(|event| event.sequence() <= through)
                .cloned()
                .collect();
            restore_history(&mut outcome, reached, through)?;
            record.response = outcome.encode_to_vec();
            record.history_through = None;
            whole.push(record);
        }
        Ok(whole)
    }
}

/// `outcome` encoded without its history and its recorded event (the history's last), and
/// the sequence the history reached; whole, and `None`, when the history is not the case's
/// events from 1 on without a gap ending with the recorded event (then it could not be read
/// back).
fn stored_form<T: CaseAnswer>(outcome: &mut T) -> (Vec<u8>, Option<u64>) {
    let Some((history, event)) = outcome.history_and_event() else {
        return (outcome.encode_to_vec(), None);
    };
    let from_the_first = history
        .iter()
        .enumerate()
        .all(|(index, event)| event.sequence() == index as u64 + 1);
    if !from_the_first || history.is_empty() || event.as_ref() != history.last() {
        return (outcome.encode_to_vec(), None);
    }
    let through = history.len() as u64;
    let taken = (std::mem::take(history), event.take());
    let response = outcome.encode_to_vec();
    if let Some((history, event)) = outcome.history_and_event() {
        (*history, *event) = taken;
    }
    (response, Some(through))
}

/// Puts back into `outcome` its history (events 1 to `through`) and its recorded event, the
/// history's last, which the stored form left out.
fn restore_history<T: CaseAnswer>(
    outcome: &mut T,
    history: Vec<T::Event>,
    through: u64,
) -> Result<(), Error> {
    if history.len() as u64 != through {
        return Err(Error::Internal(format!(
            "a stored answer reaches event {through}, the case holds {}",
            history.len()
        )));
    }
    let (case_history, event) = outcome
        .history_and_event()
        .ok_or_else(|| Error::Internal("a stored answer without its case".into()))?;
    *event = history.last().cloned();
    *case_history = history;
    Ok(())
}

/// A stored outcome; one that does not decode is a corrupted store.
fn decode_outcome<T: Message + Default>(bytes: &[u8]) -> Result<T, Error> {
    T::decode(bytes).map_err(|error| Error::Internal(format!("stored response: {error}")))
}
