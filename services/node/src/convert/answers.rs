//! A use case's answer as its response carries it, and as an idempotency record keeps it
//! (common.proto, "Idempotency": a replay answers byte for byte what the first call did).
//!
//! Every step response of a kind has one shape — the record with its history, and the event
//! the step recorded — so one outcome message per kind ([`StepOutcome`], [`OfferOutcome`],
//! [`AdmissionOutcome`]) encodes them all. A record keeps that encoding **without the
//! history** and with `history_through`, the sequence the history reached: the history is
//! the case's events 1 to that sequence, stored anyway, and is read back on a replay. Only
//! an answer whose history is not the case's events from 1 without a gap, ending with the
//! recorded event, is kept whole (`None`). Both forms are read back into an [`Answer`]: the
//! record is rebuilt by replaying the history, and the counts come from the stored case, so
//! the response built from it is the first one, byte for byte.

use accord_domain::Regime;
use accord_domain::admission::{AdmissionCase, Offer};
use accord_domain::readmission::ReadmissionCase;
use accord_proto::v1 as pb;
use prost::Message;

use super::command::Answer;
use super::envelope::{Error, Signed, Wire};
use super::{admission, readmission};

/// A readmission case and the event a step recorded: every readmission step RPC answers this.
#[derive(Clone, PartialEq, Message)]
pub struct StepOutcome {
    /// The case after the step.
    #[prost(message, optional, tag = "1")]
    pub readmission: Option<pb::ReadmissionCase>,
    /// The event recorded.
    #[prost(message, optional, tag = "2")]
    pub event: Option<pb::ReadmissionEvent>,
}

/// An offer and the event a step recorded: every offer step RPC answers this.
#[derive(Clone, PartialEq, Message)]
pub struct OfferOutcome {
    /// The offer after the step.
    #[prost(message, optional, tag = "1")]
    pub offer: Option<pb::Offer>,
    /// The event recorded.
    #[prost(message, optional, tag = "2")]
    pub event: Option<pb::OfferEvent>,
}

/// An admission case and the event a step recorded: every admission step RPC answers this.
#[derive(Clone, PartialEq, Message)]
pub struct AdmissionOutcome {
    /// The case after the step.
    #[prost(message, optional, tag = "1")]
    pub admission: Option<pb::AdmissionCase>,
    /// The event recorded.
    #[prost(message, optional, tag = "2")]
    pub event: Option<pb::AdmissionEvent>,
}

/// The counts an answer carries besides its record and history, as the stored outcome
/// holds them, and the regime its events are read under.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// Messages awaiting the partner's acknowledgement.
    pub pending_deliveries: u32,
    /// An offer's counted admissions.
    pub admitted: u32,
    /// The record's regime.
    pub regime: Option<Regime>,
}

/// The parts of an outcome that hold a record: its reference, its history, and the event
/// the step recorded.
pub type OutcomeParts<'a, E> = (&'a str, &'a mut Vec<E>, &'a mut Option<E>);

/// A kind whose step answers have one outcome message.
pub trait Answered: Wire<Error: Send + Sync + 'static> {
    /// The outcome message.
    type Outcome: Message + Default + Clone;

    /// The outcome of `answer`, with the record's history.
    fn outcome(answer: &Answer<Self>) -> Self::Outcome;

    /// The outcome of `answer` without the record's history and the recorded event, as a
    /// record keeps it when the history can be read back ([`stored_form`]).
    fn outcome_without_history(answer: &Answer<Self>) -> Self::Outcome {
        let mut outcome = Self::outcome(answer);
        if let Some((_, history, event)) = Self::parts(&mut outcome) {
            history.clear();
            *event = None;
        }
        outcome
    }

    /// The record's reference, history and the recorded event, if the outcome holds them.
    fn parts(outcome: &mut Self::Outcome) -> Option<OutcomeParts<'_, Self::WireEvent>>;

    /// The counts the outcome's record carries.
    fn counts(outcome: &Self::Outcome) -> OutcomeCounts;
}

impl Answered for ReadmissionCase {
    type Outcome = StepOutcome;

    fn outcome(answer: &Answer<Self>) -> StepOutcome {
        StepOutcome {
            readmission: Some(readmission::answer_to_wire(answer, true)),
            event: answer.event().map(|event| event.wire().clone()),
        }
    }

    // The hot path (every opening stores its answer): the events are never copied.
    fn outcome_without_history(answer: &Answer<Self>) -> StepOutcome {
        StepOutcome {
            readmission: Some(readmission::answer_to_stored_wire(answer)),
            event: None,
        }
    }

    fn parts(outcome: &mut StepOutcome) -> Option<OutcomeParts<'_, pb::ReadmissionEvent>> {
        let case = outcome.readmission.as_mut()?;
        Some((&case.case_ref, &mut case.events, &mut outcome.event))
    }

    fn counts(outcome: &StepOutcome) -> OutcomeCounts {
        let case = outcome.readmission.as_ref();
        OutcomeCounts {
            pending_deliveries: case.map_or(0, |case| case.pending_event_count),
            admitted: 0,
            regime: None,
        }
    }
}

impl Answered for Offer {
    type Outcome = OfferOutcome;

    fn outcome(answer: &Answer<Self>) -> OfferOutcome {
        OfferOutcome {
            offer: Some(admission::offer_answer_to_wire(answer, true)),
            event: answer.event().map(|event| event.wire().clone()),
        }
    }

    fn parts(outcome: &mut OfferOutcome) -> Option<OutcomeParts<'_, pb::OfferEvent>> {
        let offer = outcome.offer.as_mut()?;
        Some((&offer.offer_ref, &mut offer.events, &mut outcome.event))
    }

    fn counts(outcome: &OfferOutcome) -> OutcomeCounts {
        let offer = outcome.offer.as_ref();
        OutcomeCounts {
            pending_deliveries: offer.map_or(0, |offer| offer.pending_event_count),
            admitted: offer.map_or(0, |offer| offer.admitted),
            regime: None,
        }
    }
}

impl Answered for AdmissionCase {
    type Outcome = AdmissionOutcome;

    fn outcome(answer: &Answer<Self>) -> AdmissionOutcome {
        AdmissionOutcome {
            admission: Some(admission::admission_answer_to_wire(answer, true)),
            event: answer.event().map(|event| event.wire().clone()),
        }
    }

    fn parts(outcome: &mut AdmissionOutcome) -> Option<OutcomeParts<'_, pb::AdmissionEvent>> {
        let case = outcome.admission.as_mut()?;
        Some((&case.case_ref, &mut case.events, &mut outcome.event))
    }

    fn counts(outcome: &AdmissionOutcome) -> OutcomeCounts {
        let case = outcome.admission.as_ref();
        OutcomeCounts {
            pending_deliveries: case.map_or(0, |case| case.pending_event_count),
            admitted: 0,
            regime: case.and_then(|case| super::regime_from_wire(case.regime)),
        }
    }
}

/// A stored answer, decoded: what the record kept of it.
pub struct StoredOutcome<L: Answered> {
    outcome: L::Outcome,
}

impl<L: Answered> StoredOutcome<L> {
    /// The stored bytes, decoded; bytes that do not decode are a corrupted store.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let outcome =
            L::Outcome::decode(bytes).map_err(|error| Error::corrupt("an answer", error))?;
        Ok(Self { outcome })
    }

    /// The reference of the record the answer holds.
    pub fn case_ref(&mut self) -> Option<String> {
        L::parts(&mut self.outcome).map(|(case_ref, _, _)| case_ref.to_owned())
    }

    /// The regime the answer's events are read under.
    pub fn regime(&self) -> Option<Regime> {
        L::counts(&self.outcome).regime
    }

    /// The answer, with `history` — the case's events through the sequence the record
    /// reached — or, when the record kept the answer whole, with the history it holds.
    pub fn into_answer(
        mut self,
        history: Option<Vec<Signed<L>>>,
        regime: Option<Regime>,
    ) -> Result<Answer<L>, Error> {
        let counts = L::counts(&self.outcome);
        let history = match history {
            Some(history) => history,
            None => {
                let (_, whole, _) = L::parts(&mut self.outcome).ok_or_else(no_record)?;
                std::mem::take(whole)
                    .into_iter()
                    .map(|wire| Signed::trusted(wire, regime))
                    .collect::<Result<_, _>>()?
            }
        };
        let events: Vec<_> = history
            .iter()
            .map(|signed| signed.event().clone())
            .collect();
        let case = L::replay(&events).map_err(|error| Error::corrupt("an answer", error))?;
        Ok(Answer {
            case,
            history,
            pending_deliveries: counts.pending_deliveries,
            admitted: counts.admitted,
        })
    }
}

fn no_record() -> Error {
    Error::corrupt("an answer", "it holds no record")
}

/// `answer` as an idempotency record keeps it: the outcome encoded without its history and
/// its recorded event, and the sequence the history reached; whole, and `None`, when the
/// history is not the case's events from 1 without a gap ending with the recorded event.
pub fn stored_form<L: Answered>(answer: &Answer<L>) -> (Vec<u8>, Option<u64>) {
    let from_the_first = answer
        .history
        .iter()
        .enumerate()
        .all(|(index, signed)| signed.event().sequence == index as u64 + 1);
    // Every answer's event is its history's last, so a history from 1 without a gap can be
    // read back whole.
    if !from_the_first || answer.history.is_empty() {
        return (L::outcome(answer).encode_to_vec(), None);
    }
    let through = answer.history.len() as u64;
    (
        L::outcome_without_history(answer).encode_to_vec(),
        Some(through),
    )
}

/// A record's answer made whole: `stored` (kept without its history) with `history`, the
/// case's events through the sequence it reached, put back — before that history is replaced.
pub fn made_whole<L: Answered>(
    stored: &[u8],
    history: &[Signed<L>],
    through: u64,
) -> Result<Vec<u8>, Error> {
    let mut outcome = StoredOutcome::<L>::decode(stored)?.outcome;
    let reached: Vec<_> = history
        .iter()
        .filter(|signed| signed.event().sequence <= through)
        .map(|signed| signed.wire().clone())
        .collect();
    if reached.len() as u64 != through {
        return Err(Error::corrupt(
            "an answer",
            format!(
                "it reaches event {through}, the history holds {}",
                reached.len()
            ),
        ));
    }
    let (_, case_history, event) = L::parts(&mut outcome).ok_or_else(no_record)?;
    *event = reached.last().cloned();
    *case_history = reached;
    Ok(outcome.encode_to_vec())
}
