//! The readmission lifecycle as an event-sourced state machine (DESIGN.md §3, DOMAIN.md).
//!
//! A requesting state S asks a requested state R to take one person back. A
//! [`ReadmissionCase`] is a value: [`ReadmissionCase::submit`] creates one, and
//! [`Lifecycle::apply`] returns the next value for one step, or a typed [`Error`] that
//! names the status and the refused step. Nothing is mutated in place, nothing is read from a
//! clock: the acting [`Actor`] and the time `now` are arguments.
//!
//! `apply` checks, in this order:
//! 1. the actor's state is S or R;
//! 2. the transition table ([`transition`]) has a row for the step from the current status;
//! 3. the actor is the row's performer: S or R acting as `Actor::State`, or, for a deadline
//!    step, the node the regime names for that deadline acting as `Actor::Clock` — and, for
//!    acceptance by default only, also S's node acting as `Actor::Clock(S)` on the
//!    coordinator log's clock ([`crate::deadline::acceptance_on_log_clock`]);
//! 4. time does not go backwards (`now` is not before the previous event);
//! 5. deadlines: a clock step is accepted only if it is exactly what
//!    [`crate::deadline::due`] returns at `now`; any other step is refused while a deadline
//!    event is due, so a lapse is always recorded before whatever follows it;
//! 6. the payload: a rejection has at least one reason, each once, and `R10` only where the
//!    regime allows a parity refusal; a transfer slot leaves the regime's notice and falls
//!    before the running limits; a hand-over is not reported before its slot. Free texts are
//!    valid by construction ([`FreeText`]).
//!
//! [`ReadmissionCase`] implements [`Lifecycle`]: a case is rebuilt from its events with
//! [`Lifecycle::replay`] (or [`ReadmissionCase::replay_under`] with a tuned profile); the
//! events carry everything `submit` and `apply` need. The case keeps the regime profile it was
//! opened with, so later changes to a deployment's profile do not change running cases.
//!
//! This module does not sign, store or send events, and does not decide parity (see `parity`).

mod status;
mod step;

use crate::StateCode;
use crate::case_ref::{CaseKind, CaseRef};
use crate::coded::UnknownCode;
use crate::deadline::{self, Deadline, DueEvent};
use crate::event::{Actor, FreeText};
use crate::lifecycle::{self, Attempt, Event, Lifecycle, ReasonsRefusal, ReplayError, StepRefusal};
use crate::reason::{LegalHoldKind, ReadmissionReason};
use crate::regime::{ClockDuty, HoldEffect, Party, Regime, RegimeProfile, ReplyTrack};
use crate::time::Timestamp;

pub use status::ReadmissionStatus;
pub use step::{
    ExpiryCause, Performer, ReadmissionEventKind, ReadmissionStep, Transition, transition,
};

/// Why a readmission step, submission or replay is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A code that names no status, step or cause.
    #[error(transparent)]
    UnknownCode(#[from] UnknownCode),
    /// The case reference is not a readmission reference (`RDM-…`).
    #[error("{case_ref} is not a readmission case reference (RDM-…)")]
    WrongCaseKind {
        /// The reference given.
        case_ref: CaseRef,
    },
    /// The arrival is later than the submission.
    #[error("arrival {arrival} is after the submission at {now}")]
    ArrivalAfterSubmission {
        /// The arrival given.
        arrival: Timestamp,
        /// The submission time.
        now: Timestamp,
    },
    /// The request comes after the regime's window from arrival (`R08 REQUEST_OUT_OF_TIME`).
    #[error(
        "request out of time (R08): the window from arrival {arrival} closed at {window_closed_at}"
    )]
    RequestOutOfTime {
        /// The arrival.
        arrival: Timestamp,
        /// The last instant a request was in time.
        window_closed_at: Timestamp,
    },
    /// Refused by the checks every step of a two-party case passes first.
    #[error(transparent)]
    Step(#[from] StepRefusal<ReadmissionStatus, ReadmissionStep>),
    /// A deadline step whose deadline has not passed (or another deadline comes first).
    #[error("{step} is not due in status {status} (due first: {due_first:?})")]
    NotDue {
        /// The current status.
        status: ReadmissionStatus,
        /// The refused step.
        step: ReadmissionStep,
        /// The deadline step that is due now, if any.
        due_first: Option<ReadmissionStep>,
    },
    /// A deadline has passed: its event must be recorded before anything else.
    #[error(
        "{step} refused in status {status}: the deadline of {deadline} has passed, record {lapse} first"
    )]
    DeadlinePassed {
        /// The current status.
        status: ReadmissionStatus,
        /// The refused step.
        step: ReadmissionStep,
        /// The deadline step that is due.
        lapse: ReadmissionStep,
        /// The deadline that passed.
        deadline: Timestamp,
    },
    /// A rejection without a reason code, or with one twice.
    #[error(transparent)]
    Reasons(#[from] ReasonsRefusal<ReadmissionStatus, ReadmissionStep, ReadmissionReason>),
    /// `R10 PARITY_IMBALANCE` under a regime that does not allow it.
    #[error("{step} in status {status}: regime {regime} does not allow a parity refusal (R10)")]
    ParityRefusalNotAllowed {
        /// The current status.
        status: ReadmissionStatus,
        /// The refused step.
        step: ReadmissionStep,
        /// The case's regime.
        regime: Regime,
    },
    /// A transfer slot inside the regime's notice period.
    #[error("{step} in status {status}: slot {slot} is before the earliest allowed {earliest}")]
    SlotTooSoon {
        /// The current status.
        status: ReadmissionStatus,
        /// The refused step.
        step: ReadmissionStep,
        /// The slot asked for.
        slot: Timestamp,
        /// The earliest slot the notice allows.
        earliest: Timestamp,
    },
    /// A transfer slot after the transfer or end-to-end limit.
    #[error("{step} in status {status}: slot {slot} is after the limit at {deadline}")]
    SlotAfterDeadline {
        /// The current status.
        status: ReadmissionStatus,
        /// The refused step.
        step: ReadmissionStep,
        /// The slot asked for.
        slot: Timestamp,
        /// The limit it would pass.
        deadline: Timestamp,
    },
    /// A hand-over reported before its scheduled slot.
    #[error("{step} in status {status} at {now} is before the scheduled slot {slot}")]
    TransferBeforeSlot {
        /// The current status.
        status: ReadmissionStatus,
        /// The refused step.
        step: ReadmissionStep,
        /// The scheduled slot.
        slot: Timestamp,
        /// The refused report's time.
        now: Timestamp,
    },
    /// The profile given is for another regime than the case's.
    #[error("the case runs under {case_regime} but the profile given is {profile_regime}")]
    RegimeMismatch {
        /// The case's regime.
        case_regime: Regime,
        /// The profile's regime.
        profile_regime: Regime,
    },
    /// A history that does not open with S's submission, or whose events are out of order.
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

impl Error {
    /// The reason code a refusal corresponds to, where the scheme defines one (`R08` for a
    /// request out of time), so that a node can report it as a rejection reason.
    pub fn refusal_reason(&self) -> Option<ReadmissionReason> {
        match self {
            Error::RequestOutOfTime { .. } => Some(ReadmissionReason::RequestOutOfTime),
            _ => None,
        }
    }
}

/// A rejection as given: reasons, detailed reasons, time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rejection {
    /// The reason codes, in the order given.
    pub reasons: Vec<ReadmissionReason>,
    /// The full and detailed reasons.
    pub detailed_reasons: FreeText,
    /// When the rejection was given.
    pub at: Timestamp,
}

/// A legal hold in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LegalHold {
    /// What holds the transfer.
    pub kind: LegalHoldKind,
    /// When the hold was recorded.
    pub placed_at: Timestamp,
}

/// One event of a readmission case, as stored and sent (the node signs its wire form).
pub type ReadmissionEvent = Event<ReadmissionEventKind>;

/// One readmission case: its parties, rules, status and the times its deadlines run from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadmissionCase {
    pub(crate) case_ref: CaseRef,
    pub(crate) profile: RegimeProfile,
    pub(crate) arrival: Timestamp,
    pub(crate) track: ReplyTrack,
    pub(crate) status: ReadmissionStatus,
    pub(crate) sequence: u64,
    pub(crate) submitted_at: Timestamp,
    pub(crate) last_event_at: Timestamp,
    pub(crate) received_at: Option<Timestamp>,
    /// Set while an information request is pending.
    pub(crate) info_requested_at: Option<Timestamp>,
    /// Time the reply clock stood still for information requests (if the regime pauses it).
    pub(crate) reply_clock_paused_ms: i64,
    pub(crate) rejection: Option<Rejection>,
    pub(crate) re_examination_requested_at: Option<Timestamp>,
    pub(crate) final_rejection: Option<Rejection>,
    pub(crate) accepted_at: Option<Timestamp>,
    /// Acceptance, or the last hold release where the regime restarts the transfer clock.
    pub(crate) transfer_clock_started_at: Option<Timestamp>,
    pub(crate) hold: Option<LegalHold>,
    /// Total length of released holds: the clocks they paused move by this much.
    pub(crate) hold_paused_ms: i64,
    pub(crate) transfer_slot: Option<Timestamp>,
    pub(crate) transfer_failure: Option<FreeText>,
    pub(crate) withdrawal_reason: Option<FreeText>,
    pub(crate) expiry_cause: Option<ExpiryCause>,
}

impl ReadmissionCase {
    /// S submits a request for the person who arrived at `arrival`. The case reference names
    /// both states (`RDM-<requesting>-<requested>-<id>`). Refused when the reference is not a
    /// readmission reference, the arrival is after `now`, or `now` is past the regime's
    /// request window from arrival (`R08`).
    pub fn submit(
        case_ref: CaseRef,
        profile: RegimeProfile,
        arrival: Timestamp,
        track: ReplyTrack,
        now: Timestamp,
    ) -> Result<(Self, ReadmissionEvent), Error> {
        if case_ref.kind() != CaseKind::Readmission {
            return Err(Error::WrongCaseKind { case_ref });
        }
        if arrival > now {
            return Err(Error::ArrivalAfterSubmission { arrival, now });
        }
        let window_closed_at = arrival.plus(profile.request_window);
        if now > window_closed_at {
            return Err(Error::RequestOutOfTime {
                arrival,
                window_closed_at,
            });
        }
        let event = ReadmissionEvent::opening(
            &case_ref,
            now,
            ReadmissionEventKind::Submitted {
                regime: profile.regime,
                arrival,
                track,
            },
        );
        let case = Self {
            case_ref,
            profile,
            arrival,
            track,
            status: ReadmissionStatus::Submitted,
            sequence: 1,
            submitted_at: now,
            last_event_at: now,
            received_at: None,
            info_requested_at: None,
            reply_clock_paused_ms: 0,
            rejection: None,
            re_examination_requested_at: None,
            final_rejection: None,
            accepted_at: None,
            transfer_clock_started_at: None,
            hold: None,
            hold_paused_ms: 0,
            transfer_slot: None,
            transfer_failure: None,
            withdrawal_reason: None,
            expiry_cause: None,
        };
        Ok((case, event))
    }

    /// Like [`Lifecycle::replay`], but under `profile` rather than the profile of the
    /// regime the submission names: for a deployment or a test that tuned the regime's rules.
    /// Refused with [`Error::RegimeMismatch`] when `profile` is another regime's.
    pub fn replay_under(
        profile: RegimeProfile,
        events: &[ReadmissionEvent],
    ) -> Result<Self, Error> {
        lifecycle::replay_with(events, |first| Self::begin_under(profile, first))
    }

    /// The case S's submission opens, under `profile`: the submission's own checks
    /// ([`ReadmissionCase::submit`]) applied to the recorded event.
    fn begin_under(profile: RegimeProfile, first: &ReadmissionEvent) -> Result<Self, Error> {
        lifecycle::check_opening(first)?;
        let ReadmissionEventKind::Submitted {
            regime,
            arrival,
            track,
        } = first.kind
        else {
            return Err(ReplayError::ReplayStart.into());
        };
        if regime != profile.regime {
            return Err(Error::RegimeMismatch {
                case_regime: regime,
                profile_regime: profile.regime,
            });
        }
        let (case, _) = Self::submit(
            first.case_ref.clone(),
            profile,
            arrival,
            track,
            first.occurred_at,
        )?;
        Ok(case)
    }

    /// The case reference.
    pub fn case_ref(&self) -> &CaseRef {
        &self.case_ref
    }

    /// The requesting state S.
    pub fn requesting(&self) -> StateCode {
        self.case_ref.first_state()
    }

    /// The requested state R.
    pub fn requested(&self) -> StateCode {
        self.case_ref.second_state()
    }

    /// The state in `party`'s role.
    pub fn state_of(&self, party: Party) -> StateCode {
        match party {
            Party::Requesting => self.requesting(),
            Party::Requested => self.requested(),
        }
    }

    /// The role `state` plays in the case, if any.
    pub fn party_of(&self, state: StateCode) -> Option<Party> {
        if state == self.requesting() {
            Some(Party::Requesting)
        } else if state == self.requested() {
            Some(Party::Requested)
        } else {
            None
        }
    }

    /// The rules the case was opened under.
    pub fn profile(&self) -> &RegimeProfile {
        &self.profile
    }

    /// The person's arrival in the requesting state.
    pub fn arrival(&self) -> Timestamp {
        self.arrival
    }

    /// The reply track chosen at submission.
    pub fn track(&self) -> ReplyTrack {
        self.track
    }

    /// The current status.
    pub fn status(&self) -> ReadmissionStatus {
        self.status
    }

    /// The number of events so far: the sequence number of the last one.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// When S submitted the request.
    pub fn submitted_at(&self) -> Timestamp {
        self.submitted_at
    }

    /// When the last event took place.
    pub fn last_event_at(&self) -> Timestamp {
        self.last_event_at
    }

    /// R's receipt time, the legal start of the reply clock.
    pub fn received_at(&self) -> Option<Timestamp> {
        self.received_at
    }

    /// When R accepted: the explicit acceptance, or the instant the reply deadline lapsed.
    pub fn accepted_at(&self) -> Option<Timestamp> {
        self.accepted_at
    }

    /// R's first rejection, if any.
    pub fn rejection(&self) -> Option<&Rejection> {
        self.rejection.as_ref()
    }

    /// R's rejection on re-examination, if any.
    pub fn final_rejection(&self) -> Option<&Rejection> {
        self.final_rejection.as_ref()
    }

    /// The legal hold in force, if any.
    pub fn legal_hold(&self) -> Option<LegalHold> {
        self.hold
    }

    /// The scheduled transfer slot, if any.
    pub fn transfer_slot(&self) -> Option<Timestamp> {
        self.transfer_slot
    }

    /// Why the last transfer failed, if one did.
    pub fn transfer_failure(&self) -> Option<&FreeText> {
        self.transfer_failure.as_ref()
    }

    /// Why S withdrew, if it did.
    pub fn withdrawal_reason(&self) -> Option<&FreeText> {
        self.withdrawal_reason.as_ref()
    }

    /// Why the case expired, if it did.
    pub fn expiry_cause(&self) -> Option<ExpiryCause> {
        self.expiry_cause
    }

    /// The actor a performer stands for in this case.
    pub fn performer_actor(&self, performer: Performer) -> Actor {
        match performer {
            Performer::Party(party) => Actor::State(self.state_of(party)),
            Performer::Clock(duty) => {
                Actor::Clock(self.state_of(self.profile.clock_owners.owner(duty)))
            }
        }
    }

    /// The actor `performer` stands for when `actor` attempts the step. Acceptance by default
    /// has a second recorder besides the owner of its clock (R's node): the requesting
    /// state's node, on the coordinator log's clock (`deadline::acceptance_on_log_clock`),
    /// so `Actor::Clock(S)` passes too. The domain cannot check the log's attestation; the
    /// node does, before it records or applies such an event.
    fn expected_actor(&self, performer: Performer, actor: Actor) -> Actor {
        let log_clock = Actor::Clock(self.requesting());
        if performer == Performer::Clock(ClockDuty::AcceptanceByDefault) && actor == log_clock {
            return actor;
        }
        self.performer_actor(performer)
    }

    fn check_timing(
        &self,
        performer: Performer,
        kind: &ReadmissionEventKind,
        due: Option<&DueEvent>,
    ) -> Result<(), Error> {
        let status = self.status;
        let step = kind.step();
        match (performer, due) {
            (Performer::Clock(_), Some(due)) if due.kind == *kind => Ok(()),
            (Performer::Clock(_), due) => Err(Error::NotDue {
                status,
                step,
                due_first: due.map(|due| due.kind.step()),
            }),
            (Performer::Party(_), Some(due)) => Err(Error::DeadlinePassed {
                status,
                step,
                lapse: due.kind.step(),
                deadline: due.deadline,
            }),
            (Performer::Party(_), None) => Ok(()),
        }
    }

    fn check_payload(&self, kind: &ReadmissionEventKind, now: Timestamp) -> Result<(), Error> {
        match kind {
            ReadmissionEventKind::Rejected { reasons, .. }
            | ReadmissionEventKind::RejectedFinal { reasons, .. } => {
                self.check_reasons(kind.step(), reasons)
            }
            ReadmissionEventKind::TransferScheduled { slot }
            | ReadmissionEventKind::TransferPostponed { slot } => {
                self.check_slot(kind.step(), *slot, now)
            }
            ReadmissionEventKind::TransferExecuted => match self.transfer_slot {
                Some(slot) if now < slot => Err(Error::TransferBeforeSlot {
                    status: self.status,
                    step: kind.step(),
                    slot,
                    now,
                }),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn check_reasons(
        &self,
        step: ReadmissionStep,
        reasons: &[ReadmissionReason],
    ) -> Result<(), Error> {
        let status = self.status;
        lifecycle::check_reasons(status, step, reasons)?;
        let parity = reasons.contains(&ReadmissionReason::ParityImbalance);
        if parity && !self.profile.parity_refusal_allowed {
            return Err(Error::ParityRefusalNotAllowed {
                status,
                step,
                regime: self.profile.regime,
            });
        }
        Ok(())
    }

    fn check_slot(
        &self,
        step: ReadmissionStep,
        slot: Timestamp,
        now: Timestamp,
    ) -> Result<(), Error> {
        let status = self.status;
        let earliest = now.plus(self.profile.transfer_notice);
        if slot < earliest {
            return Err(Error::SlotTooSoon {
                status,
                step,
                slot,
                earliest,
            });
        }
        let deadlines = deadline::deadlines(self);
        for limit in [deadlines.transfer, deadlines.procedure] {
            if let Some(Deadline::At(deadline)) = limit
                && slot > deadline
            {
                return Err(Error::SlotAfterDeadline {
                    status,
                    step,
                    slot,
                    deadline,
                });
            }
        }
        Ok(())
    }

    /// The case after the step, whose checks have passed.
    fn advanced(
        &self,
        kind: &ReadmissionEventKind,
        to: ReadmissionStatus,
        now: Timestamp,
        due: Option<DueEvent>,
    ) -> Self {
        use ReadmissionEventKind as Kind;
        let mut case = self.clone();
        case.status = to;
        case.sequence += 1;
        case.last_event_at = now;
        match kind {
            Kind::Received => case.received_at = Some(now),
            Kind::InformationRequested { .. } => case.info_requested_at = Some(now),
            Kind::InformationProvided { .. } => case.end_information_request(now),
            Kind::Accepted | Kind::AcceptedOnReExamination => case.accept(now),
            // Acceptance by default takes effect when the deadline lapsed, not when recorded.
            Kind::AcceptedByDefault => case.accept(due.map_or(now, |due| due.lapsed_at())),
            Kind::Rejected {
                reasons,
                detailed_reasons,
            } => case.rejection = Some(rejection(reasons, detailed_reasons, now)),
            Kind::RejectedFinal {
                reasons,
                detailed_reasons,
            } => case.final_rejection = Some(rejection(reasons, detailed_reasons, now)),
            Kind::ReExaminationRequested { .. } => case.re_examination_requested_at = Some(now),
            Kind::LegalHoldPlaced { kind } => case.place_hold(*kind, now),
            Kind::LegalHoldReleased => case.release_hold(now),
            Kind::TransferScheduled { slot } | Kind::TransferPostponed { slot } => {
                case.transfer_slot = Some(*slot);
            }
            Kind::TransferFailed { reason } => {
                case.transfer_slot = None;
                case.transfer_failure = Some(reason.clone());
            }
            Kind::Withdrawn { reason } => case.withdrawal_reason = Some(reason.clone()),
            Kind::Expired { cause } => case.expiry_cause = Some(*cause),
            _ => {}
        }
        case
    }

    fn end_information_request(&mut self, now: Timestamp) {
        if let Some(requested_at) = self.info_requested_at.take()
            && self.profile.info_request_pauses_reply_clock
        {
            self.reply_clock_paused_ms += now.millis_since(requested_at);
        }
    }

    fn accept(&mut self, at: Timestamp) {
        self.info_requested_at = None;
        self.accepted_at = Some(at);
        self.transfer_clock_started_at = Some(at);
    }

    fn place_hold(&mut self, kind: LegalHoldKind, now: Timestamp) {
        self.hold = Some(LegalHold {
            kind,
            placed_at: now,
        });
        // A held transfer needs a new slot, with fresh notice, once the hold ends.
        self.transfer_slot = None;
    }

    fn release_hold(&mut self, now: Timestamp) {
        if let Some(hold) = self.hold.take() {
            self.hold_paused_ms += now.millis_since(hold.placed_at);
        }
        if self.profile.legal_hold == HoldEffect::RestartTransferClock {
            self.transfer_clock_started_at = Some(now);
        }
    }
}

impl Lifecycle for ReadmissionCase {
    type Kind = ReadmissionEventKind;
    type Status = ReadmissionStatus;
    type Error = Error;

    /// The case S's submission opens, under the profile of the regime it names.
    fn begin(first: &ReadmissionEvent) -> Result<Self, Error> {
        let ReadmissionEventKind::Submitted { regime, .. } = first.kind else {
            return Err(ReplayError::ReplayStart.into());
        };
        Self::begin_under(regime.profile(), first)
    }

    /// The case after `actor` takes the step `kind` at `now`, or why the step is refused
    /// (checks in the module documentation).
    fn apply(
        &self,
        actor: Actor,
        kind: &ReadmissionEventKind,
        now: Timestamp,
    ) -> Result<Self, Error> {
        let status = self.status;
        let step = kind.step();
        let attempt = Attempt::on(self, step, actor, now);
        let transition = attempt.check(
            self.party_of(actor.state()).is_some(),
            transition(status, step),
            |transition| self.expected_actor(transition.performer, actor),
        )?;
        let due = deadline::due(self, now);
        self.check_timing(transition.performer, kind, due.as_ref())?;
        self.check_payload(kind, now)?;
        Ok(self.advanced(kind, transition.to, now, due))
    }

    lifecycle::lifecycle_fields!(ReadmissionStatus);
}

fn rejection(
    reasons: &[ReadmissionReason],
    detailed_reasons: &FreeText,
    at: Timestamp,
) -> Rejection {
    Rejection {
        reasons: reasons.to_vec(),
        detailed_reasons: detailed_reasons.clone(),
        at,
    }
}
