//! What every case kind's lifecycle has in common: a signed history of [`Event`]s, a record
//! that the first event opens, one step at a time after that, and a replay that rebuilds the
//! record from its history.
//!
//! Readmission cases, offers and admission cases implement [`Lifecycle`]; a service can then
//! write its pipeline (load, replay, apply, record, store, sign, send) once for all three.
//! [`Lifecycle::record`] and [`Lifecycle::replay`] are written here, once: `record` is `apply`
//! plus the event to keep, and `replay` refuses a history that does not open at sequence 1 or
//! that skips, repeats or mixes cases ([`ReplayError`]) before checking each step exactly as it
//! was first checked.
//!
//! This module holds no rules of its own: which steps are allowed, by whom and when is each
//! lifecycle's business (its transition table, deadlines and payload checks). It does not
//! sign, store or send events.

use std::fmt;

use crate::case_ref::CaseRef;
use crate::event::Actor;
use crate::time::Timestamp;

/// One signed-history event of any lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event<K> {
    /// The case (or offer) the event belongs to.
    pub case_ref: CaseRef,
    /// The event's position in the history, from 1.
    pub sequence: u64,
    /// Who took the step.
    pub actor: Actor,
    /// When.
    pub occurred_at: Timestamp,
    /// What happened.
    pub kind: K,
}

impl<K> Event<K> {
    /// The first event of the record `case_ref` names, taken at `now` by the state that
    /// opens it (the reference's first state: S, or A for offers and admissions), as
    /// `check_opening` requires.
    pub fn opening(case_ref: &CaseRef, now: Timestamp, kind: K) -> Self {
        Self {
            case_ref: case_ref.clone(),
            sequence: 1,
            actor: Actor::State(case_ref.first_state()),
            occurred_at: now,
            kind,
        }
    }
}

/// A record that moves through a lifecycle one signed event at a time.
pub trait Lifecycle: Sized + Clone {
    /// What happened (ReadmissionEventKind, OfferEventKind, AdmissionEventKind).
    type Kind: Clone + fmt::Debug;
    /// Where a record stands (ReadmissionStatus, OfferStatus, AdmissionStatus); has `code()`.
    type Status: Copy + fmt::Display;
    /// The module's typed refusal (readmission::Error, offer::Error, admission::Error).
    type Error: std::error::Error + From<ReplayError>;

    /// The record the first event opens (SUBMITTED / PUBLISHED / NOMINATED), rules derived
    /// from the event itself (e.g. `regime.profile()`).
    fn begin(first: &Event<Self::Kind>) -> Result<Self, Self::Error>;

    /// The record after `actor` takes step `kind` at `now`, or why not.
    fn apply(&self, actor: Actor, kind: &Self::Kind, now: Timestamp) -> Result<Self, Self::Error>;

    /// The record's reference.
    fn case_ref(&self) -> &CaseRef;

    /// The number of events so far: the sequence number of the last one.
    fn sequence(&self) -> u64;

    /// When the last event took place.
    fn last_event_at(&self) -> Timestamp;

    /// The current status.
    fn status(&self) -> Self::Status;

    /// Provided: apply, and also return the event to store, sign and send.
    fn record(
        &self,
        actor: Actor,
        kind: Self::Kind,
        now: Timestamp,
    ) -> Result<(Self, Event<Self::Kind>), Self::Error> {
        let next = self.apply(actor, &kind, now)?;
        let event = Event {
            case_ref: next.case_ref().clone(),
            sequence: next.sequence(),
            actor,
            occurred_at: now,
            kind,
        };
        Ok((next, event))
    }

    /// Provided: rebuild from events in order (ReplayStart when empty or not beginning at
    /// sequence 1, ReplayOrder on a wrong case or sequence), checking each as first checked.
    fn replay(events: &[Event<Self::Kind>]) -> Result<Self, Self::Error> {
        replay_with(events, Self::begin)
    }
}

/// The [`Lifecycle`] accessors of a record that keeps them as fields of the same names
/// (`case_ref`, `sequence`, `last_event_at`, `status`), written once for every kind (a
/// macro: a function cannot write a trait's methods).
macro_rules! lifecycle_fields {
    ($status:ty) => {
        fn case_ref(&self) -> &$crate::CaseRef {
            &self.case_ref
        }

        fn sequence(&self) -> u64 {
            self.sequence
        }

        fn last_event_at(&self) -> $crate::Timestamp {
            self.last_event_at
        }

        fn status(&self) -> $status {
            self.status
        }
    };
}

pub(crate) use lifecycle_fields;

/// The refusals every replay shares.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// An empty history, or one whose first event is not the opening step, at sequence 1, by
    /// the state that opens the case.
    #[error(
        "a history starts at sequence 1 with its opening step, taken by the state that opens it"
    )]
    ReplayStart,
    /// An event out of sequence or from another case.
    #[error(
        "event {found_sequence} of {found_case_ref} does not follow event {expected_sequence} of {expected_case_ref}"
    )]
    ReplayOrder {
        /// The case being rebuilt.
        expected_case_ref: CaseRef,
        /// The sequence number the next event should have.
        expected_sequence: u64,
        /// The event's case.
        found_case_ref: CaseRef,
        /// The event's sequence number.
        found_sequence: u64,
    },
}

/// Replays `events`, opening the record with `begin` instead of [`Lifecycle::begin`]: the one
/// loop behind every replay, for a lifecycle that can also be opened under other rules (a
/// readmission under a tuned regime profile).
pub(crate) fn replay_with<L: Lifecycle>(
    events: &[Event<L::Kind>],
    begin: impl FnOnce(&Event<L::Kind>) -> Result<L, L::Error>,
) -> Result<L, L::Error> {
    let Some((first, rest)) = events.split_first() else {
        return Err(ReplayError::ReplayStart.into());
    };
    if first.sequence != 1 {
        return Err(ReplayError::ReplayStart.into());
    }
    let mut record = begin(first)?;
    for event in rest {
        let expected_sequence = record.sequence() + 1;
        if event.case_ref != *record.case_ref() || event.sequence != expected_sequence {
            return Err(ReplayError::ReplayOrder {
                expected_case_ref: record.case_ref().clone(),
                expected_sequence,
                found_case_ref: event.case_ref.clone(),
                found_sequence: event.sequence,
            }
            .into());
        }
        record = record.apply(event.actor, &event.kind, event.occurred_at)?;
    }
    Ok(record)
}

/// Whether `first` can open a history: sequence 1, taken by the state named first in its
/// case reference (S, or A for offers and admissions). Each [`Lifecycle::begin`] calls it, so
/// an opening event is refused alike whether it comes alone or at the head of a replay.
pub(crate) fn check_opening<K>(first: &Event<K>) -> Result<(), ReplayError> {
    let opener = Actor::State(first.case_ref.first_state());
    if first.sequence != 1 || first.actor != opener {
        return Err(ReplayError::ReplayStart);
    }
    Ok(())
}

/// Why the checks every step of a two-party case (a readmission case, an admission case)
/// passes first refuse it ([`Attempt::check`]). Each kind's `Error` holds it as its `Step`
/// variant, so the checks, their order and their wording are written once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepRefusal<Status, Step> {
    /// The actor's state is neither side of the case.
    #[error("{actor} is not a party to this case; {step} refused in status {status}")]
    NotAParty {
        /// The current status.
        status: Status,
        /// The refused step.
        step: Step,
        /// Who tried.
        actor: Actor,
    },
    /// The transition table has no such step from the current status.
    #[error("{step} is not allowed in status {status}")]
    StepNotAllowed {
        /// The current status.
        status: Status,
        /// The refused step.
        step: Step,
    },
    /// The step belongs to the other party, or to a deadline clock, or the reverse.
    #[error("{step} in status {status} is taken by {expected}, not by {actor}")]
    WrongActor {
        /// The current status.
        status: Status,
        /// The refused step.
        step: Step,
        /// Who tried.
        actor: Actor,
        /// Who may take the step.
        expected: Actor,
    },
    /// The step is dated before the previous event.
    #[error("{step} at {now} is before the previous event at {last_event_at} (status {status})")]
    TimeWentBackwards {
        /// The current status.
        status: Status,
        /// The refused step.
        step: Step,
        /// The time of the previous event.
        last_event_at: Timestamp,
        /// The refused step's time.
        now: Timestamp,
    },
}

/// A step as the shared checks see it: `actor` takes `step` at `now` on a two-party case in
/// `status` whose last event was at `last_event_at`.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<Status, Step> {
    /// The case's current status.
    pub status: Status,
    /// The step taken.
    pub step: Step,
    /// Who takes it.
    pub actor: Actor,
    /// When.
    pub now: Timestamp,
    /// When the case's last event took place.
    pub last_event_at: Timestamp,
}

impl<Status: Copy, Step: Copy> Attempt<Status, Step> {
    /// `actor`'s `step` at `now` on `record`, as it stands.
    pub fn on<L: Lifecycle<Status = Status>>(
        record: &L,
        step: Step,
        actor: Actor,
        now: Timestamp,
    ) -> Self {
        Self {
            status: record.status(),
            step,
            actor,
            now,
            last_event_at: record.last_event_at(),
        }
    }

    /// The checks, in order: the actor is a party (`is_party`), the lifecycle has the step
    /// from the status (`transition`, none if not), the actor is the step's performer
    /// (`performer` of the transition), and time does not run backwards. Returns the
    /// transition; the kind checks its own rules (deadlines, payload) after.
    pub fn check<T>(
        self,
        is_party: bool,
        transition: Option<T>,
        performer: impl FnOnce(&T) -> Actor,
    ) -> Result<T, StepRefusal<Status, Step>> {
        let Self {
            status,
            step,
            actor,
            now,
            last_event_at,
        } = self;
        if !is_party {
            return Err(StepRefusal::NotAParty {
                status,
                step,
                actor,
            });
        }
        let transition = transition.ok_or(StepRefusal::StepNotAllowed { status, step })?;
        let expected = performer(&transition);
        if actor != expected {
            return Err(StepRefusal::WrongActor {
                status,
                step,
                actor,
                expected,
            });
        }
        if now < last_event_at {
            return Err(StepRefusal::TimeWentBackwards {
                status,
                step,
                last_event_at,
                now,
            });
        }
        Ok(transition)
    }
}

/// Why the codes a refusal step gives (a readmission's rejection, an admission's refusal) are
/// refused: none at all, or one of them twice. Each kind's `Error` holds it as its `Reasons`
/// variant, so the rule and its wording are written once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonsRefusal<Status, Step, Reason> {
    /// No code given.
    #[error("{step} in status {status} needs at least one reason code")]
    NoReasons {
        /// The current status.
        status: Status,
        /// The refused step.
        step: Step,
    },
    /// A code listed twice.
    #[error("{step} in status {status} lists {reason} twice")]
    DuplicateReason {
        /// The current status.
        status: Status,
        /// The refused step.
        step: Step,
        /// The repeated code.
        reason: Reason,
    },
}

/// Checks the codes `step` gives in `status`: at least one, and none twice.
pub fn check_reasons<Status, Step, Reason: Copy + PartialEq>(
    status: Status,
    step: Step,
    reasons: &[Reason],
) -> Result<(), ReasonsRefusal<Status, Step, Reason>> {
    if reasons.is_empty() {
        return Err(ReasonsRefusal::NoReasons { status, step });
    }
    match reasons
        .iter()
        .enumerate()
        .find(|(index, reason)| reasons[..*index].contains(reason))
    {
        Some((_, reason)) => Err(ReasonsRefusal::DuplicateReason {
            status,
            step,
            reason: *reason,
        }),
        None => Ok(()),
    }
}
