//! Deadline evaluation: when each clock of a case runs out, and which deadline event is due.
//!
//! [`deadlines`] gives every deadline of a readmission case for display; [`due`] gives the
//! deadline event a node's clock must record at `now`, if any. A deadline is the last instant
//! at which acting is still in time: its event is due from one millisecond after it.
//!
//! The clocks of a readmission case:
//!
//! | clock | starts | limit | stops |
//! | --- | --- | --- | --- |
//! | reply | R's receipt | `reply` for the case's track | R's reply; paused during an information request if the regime says so |
//! | re-examination request | the rejection | `re_examination_request_window` | S's re-examination request or acceptance of the rejection |
//! | re-examination reply | S's re-examination request | `re_examination_reply` | R's decision |
//! | transfer | acceptance (for acceptance by default: the lapse instant) | `transfer_limit` | the hand-over |
//! | procedure | the person's arrival | `procedure_limit`, where the regime has one | the hand-over |
//!
//! A legal hold suspends the transfer and procedure clocks. On release, a regime that pauses
//! clocks moves both deadlines by the hold's length; a regime that restarts the transfer clock
//! starts the full transfer limit again from the release and moves the procedure deadline by
//! the hold's length. While a clock is suspended its deadline reads [`Deadline::Suspended`].
//!
//! When several deadlines have passed, the earliest is due first (on equal instants, expiry
//! first: it ends the case); after it is recorded, the next one may become due.
//!
//! Admission grants have one clock: the visa's validity ([`admission_due`]).
//!
//! **Acceptance by default on the log's clock.** R's node owns the reply clock, but a silent
//! or stopped R must not cost S the acceptance. Where the nodes follow a coordinator, S's
//! node may record `ACCEPTED_BY_DEFAULT` itself, as `Actor::Clock(S)`: after the reply
//! deadline by its own clock it asks the coordinator's transparency log, and records the
//! lapse only when a checkpoint the coordinator signed is timed after the deadline
//! ([`acceptance_on_log_clock`] takes that time as `now`) and the log holds no reply of R
//! ([`answers_request`]) that S lacks. Both lapses take effect at the deadline's next
//! millisecond; if both nodes record one, event.proto's clash rule (earlier `occurred_at`,
//! then the smaller acting state) keeps one and both nodes end `ACCEPTED_BY_DEFAULT`. A reply
//! R recorded in time is earlier than either lapse and wins the clash.

use crate::admission::{AdmissionCase, AdmissionEventKind, AdmissionStatus};
use crate::event::Actor;
use crate::readmission::{
    ExpiryCause, ReadmissionCase, ReadmissionEventKind, ReadmissionStatus, ReadmissionStep,
    transition,
};
use crate::regime::{ClockDuty, HoldEffect, RegimeProfile, Silence};
use crate::time::Timestamp;

/// Where a deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Deadline {
    /// The clock runs and ends at this instant (the last one in time).
    At(Timestamp),
    /// The clock is suspended (legal hold, or an information request where the regime pauses
    /// the reply clock); it resumes or restarts when the suspension ends.
    Suspended,
}

/// Every deadline of a readmission case whose clock has started; `None` where it has not (or
/// the regime has no such limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deadlines {
    /// R's reply deadline, from receipt.
    pub reply: Option<Deadline>,
    /// The last instant S may ask for a re-examination, from the first rejection.
    pub re_examination_request: Option<Deadline>,
    /// R's re-examination reply deadline, from S's request.
    pub re_examination_reply: Option<Deadline>,
    /// The transfer limit, from acceptance.
    pub transfer: Option<Deadline>,
    /// The end-to-end limit, from arrival.
    pub procedure: Option<Deadline>,
}

/// A deadline event that a node's clock must record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DueEvent {
    /// The event to record (apply it with [`DueEvent::actor`]).
    pub kind: ReadmissionEventKind,
    /// The node that records it, as the regime's clock owners say.
    pub actor: Actor,
    /// The deadline that passed.
    pub deadline: Timestamp,
}

impl DueEvent {
    /// The first instant past the deadline, when the lapse took legal effect.
    pub fn lapsed_at(&self) -> Timestamp {
        self.deadline.plus_millis(1)
    }
}

/// The deadline event of an admission case that a node's clock must record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdmissionDueEvent {
    /// The event to record.
    pub kind: AdmissionEventKind,
    /// The admitting state's clock.
    pub actor: Actor,
    /// The deadline that passed (the visa's last valid instant).
    pub deadline: Timestamp,
}

/// Every started deadline of `case`.
pub fn deadlines(case: &ReadmissionCase) -> Deadlines {
    let profile = &case.profile;
    let on_hold = case.hold.is_some();
    let reply_paused =
        case.status == ReadmissionStatus::InfoRequested && profile.info_request_pauses_reply_clock;
    let suspended_or = |suspended: bool, instant: Timestamp| {
        if suspended {
            Deadline::Suspended
        } else {
            Deadline::At(instant)
        }
    };
    Deadlines {
        reply: case.received_at.map(|received| {
            let limit = received.plus(profile.reply_limit(case.track));
            suspended_or(reply_paused, limit.plus_millis(case.reply_clock_paused_ms))
        }),
        re_examination_request: case.rejection.as_ref().map(|rejection| {
            Deadline::At(rejection.at.plus(profile.re_examination_request_window))
        }),
        re_examination_reply: case
            .re_examination_requested_at
            .map(|requested| Deadline::At(requested.plus(profile.re_examination_reply))),
        transfer: case.accepted_at.map(|accepted| {
            let limit = match profile.legal_hold {
                HoldEffect::PauseClocks => accepted
                    .plus(profile.transfer_limit)
                    .plus_millis(case.hold_paused_ms),
                HoldEffect::RestartTransferClock => case
                    .transfer_clock_started_at
                    .unwrap_or(accepted)
                    .plus(profile.transfer_limit),
            };
            suspended_or(on_hold, limit)
        }),
        procedure: profile.procedure_limit.map(|limit| {
            let limit = case.arrival.plus(limit).plus_millis(case.hold_paused_ms);
            suspended_or(on_hold, limit)
        }),
    }
}

/// The deadline event due on `case` at `now`, if any: the earliest passed deadline that can
/// still act on the case's status.
pub fn due(case: &ReadmissionCase, now: Timestamp) -> Option<DueEvent> {
    let deadlines = deadlines(case);
    // (deadline, rank on equal instants, event): expiry ranks first.
    let mut candidates: Vec<(Deadline, u8, ReadmissionEventKind)> = Vec::new();
    if transition(case.status, ReadmissionStep::Expired).is_some() {
        if let Some(procedure) = deadlines.procedure {
            let cause = ExpiryCause::ProcedureTimeExhausted;
            candidates.push((procedure, 0, ReadmissionEventKind::Expired { cause }));
        }
        if let Some(transfer) = deadlines.transfer {
            let cause = ExpiryCause::TransferTimeExhausted;
            candidates.push((transfer, 1, ReadmissionEventKind::Expired { cause }));
        }
    }
    let status_deadline = match case.status {
        ReadmissionStatus::Received
        | ReadmissionStatus::UnderExamination
        | ReadmissionStatus::InfoRequested
            if case.profile.silence == Silence::MeansAcceptance =>
        {
            deadlines
                .reply
                .map(|reply| (reply, ReadmissionEventKind::AcceptedByDefault))
        }
        ReadmissionStatus::Rejected => deadlines
            .re_examination_request
            .map(|window| (window, ReadmissionEventKind::RejectionClosed)),
        ReadmissionStatus::ReExaminationRequested => deadlines
            .re_examination_reply
            .map(|reply| (reply, ReadmissionEventKind::ReExaminationLapsed)),
        _ => None,
    };
    if let Some((deadline, kind)) = status_deadline {
        candidates.push((deadline, 2, kind));
    }
    let (deadline, _, kind) = candidates
        .into_iter()
        .filter_map(|(deadline, rank, kind)| match deadline {
            Deadline::At(instant) if now > instant => Some((instant, rank, kind)),
            _ => None,
        })
        .min_by_key(|(instant, rank, _)| (*instant, *rank))?;
    // Invariant: every candidate is a clock step, so it has a duty; the fallback is unused.
    let duty = kind.step().clock_duty().unwrap_or(ClockDuty::Expiry);
    let actor = Actor::Clock(case.state_of(case.profile.clock_owners.owner(duty)));
    Some(DueEvent {
        kind,
        actor,
        deadline,
    })
}

/// Acceptance by default as S's node records it on the coordinator log's clock: due when
/// [`due`] at `log_time` (a signed checkpoint's time) is the acceptance by default, with S's
/// node as the acting clock. `None` while the log's time is not past the reply deadline, or
/// when another deadline comes first.
pub fn acceptance_on_log_clock(case: &ReadmissionCase, log_time: Timestamp) -> Option<DueEvent> {
    due(case, log_time)
        .filter(|due| due.kind == ReadmissionEventKind::AcceptedByDefault)
        .map(|due| DueEvent {
            actor: Actor::Clock(case.requesting()),
            ..due
        })
}

/// Whether R's event of `step`, found on the log, answers S's request so that S's node must
/// not record acceptance by default over it: an acceptance, a rejection, R's own acceptance
/// by default, or a request for information where the regime pauses the reply clock (R's
/// other steps, like starting the examination, leave the reply clock running).
pub fn answers_request(profile: &RegimeProfile, step: ReadmissionStep) -> bool {
    match step {
        ReadmissionStep::Accepted
        | ReadmissionStep::Rejected
        | ReadmissionStep::AcceptedByDefault => true,
        ReadmissionStep::InformationRequested => profile.info_request_pauses_reply_clock,
        _ => false,
    }
}

/// The grant lapse due on an admission case at `now`: a granted visa past its validity.
pub fn admission_due(case: &AdmissionCase, now: Timestamp) -> Option<AdmissionDueEvent> {
    let visa_valid_until = case.visa_valid_until()?;
    let visa_running = matches!(
        case.status(),
        AdmissionStatus::Granted | AdmissionStatus::TravelBooked
    );
    if !visa_running || now <= visa_valid_until {
        return None;
    }
    Some(AdmissionDueEvent {
        kind: AdmissionEventKind::GrantLapsed,
        actor: Actor::Clock(case.admitting()),
        deadline: visa_valid_until,
    })
}
