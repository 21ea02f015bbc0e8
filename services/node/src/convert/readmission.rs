//! Readmission cases and events: wire ↔ domain.
//!
//! A wire event carries more than the domain needs (evidence, notes, the person): the
//! domain sees the lifecycle facts only, and the node keeps the whole signed wire event as
//! the record. Both nodes derive the same domain event from the same wire event, so their
//! case states agree.

use accord_domain::deadline::{self, Deadline};
use accord_domain::readmission::{
    ExpiryCause, ReadmissionCase, ReadmissionEvent, ReadmissionEventKind, ReadmissionStatus,
    ReadmissionStep,
};
use accord_domain::reason::{LegalHoldKind, ReadmissionReason};
use accord_domain::{CaseKind, FreeText, ReplyTrack, Timestamp};
use accord_proto::v1 as pb;
use pb::readmission_event::Detail;

use super::command::{Answer, ReadmissionChecks};
use super::envelope::{Signed, Wire, known_kind, read_event, unreadable_kind, wire_header};
use super::{
    coded_from_wire, coded_to_wire, recorded_reason, regime_from_wire, regime_to_wire, to_wire_time,
};
use crate::violation::{Invalid, Violations};

/// The wire kind of a domain event kind.
pub fn kind_to_wire(kind: &ReadmissionEventKind) -> pb::ReadmissionEventKind {
    use ReadmissionEventKind as K;
    use pb::ReadmissionEventKind as W;
    match kind {
        K::Submitted { .. } => W::Submitted,
        K::Received => W::Received,
        K::ExaminationStarted => W::ExaminationStarted,
        K::InformationRequested { .. } => W::InformationRequested,
        K::InformationProvided { .. } => W::InformationProvided,
        K::Accepted => W::Accepted,
        K::AcceptedByDefault => W::AcceptedByDefault,
        K::Rejected { .. } => W::Rejected,
        K::ReExaminationRequested { .. } => W::ReExaminationRequested,
        K::AcceptedOnReExamination => W::ReExaminationAccepted,
        K::RejectedFinal { .. } => W::ReExaminationRejected,
        K::ReExaminationLapsed => W::ReExaminationLapsed,
        K::RejectionAccepted | K::RejectionClosed => W::ClosedRejected,
        K::TransferDecisionIssued => W::TransferDecisionIssued,
        K::LegalHoldPlaced { .. } => W::LegalHoldPlaced,
        K::LegalHoldReleased => W::LegalHoldReleased,
        K::TransferScheduled { .. } => W::TransferScheduled,
        K::TransferPostponed { .. } => W::TransferPostponed,
        K::TransferExecuted => W::Transferred,
        K::TransferFailed { .. } => W::TransferFailed,
        K::ArrivalConfirmed => W::ArrivalConfirmed,
        K::NoShow => W::NoShow,
        K::Withdrawn { .. } => W::Withdrawn,
        K::Expired { .. } => W::Expired,
    }
}

/// The wire status of a domain status.
pub fn status_to_wire(status: ReadmissionStatus) -> pb::ReadmissionStatus {
    coded_to_wire(status.code())
}

/// The domain status of a wire status filter value.
pub fn status_from_wire(value: i32) -> Option<ReadmissionStatus> {
    coded_from_wire::<pb::ReadmissionStatus, _>(value, |code| ReadmissionStatus::parse(code).ok())
}

/// The domain reason codes of wire reason codes; records a violation for unknown values.
pub fn reasons_from_wire(
    violations: &mut Violations,
    field: &str,
    reasons: &[i32],
) -> Vec<ReadmissionReason> {
    let from_wire = |value: i32| {
        coded_from_wire::<pb::ReadmissionReason, _>(value, |name| {
            ReadmissionReason::ALL
                .iter()
                .copied()
                .find(|reason| reason.name() == name)
        })
    };
    super::fields::codes(violations, field, reasons, from_wire, "reason code")
}

/// The wire reason code of a domain reason.
pub fn reason_to_wire(reason: ReadmissionReason) -> pb::ReadmissionReason {
    coded_to_wire(reason.name())
}

/// The domain legal hold kind of a wire one.
pub fn hold_from_wire(value: i32) -> Option<LegalHoldKind> {
    coded_from_wire::<pb::LegalHoldKind, _>(value, |name| LegalHoldKind::parse(name).ok())
}

fn hold_to_wire(kind: LegalHoldKind) -> pb::LegalHoldKind {
    coded_to_wire(kind.code())
}

/// The reply track of the wire flags: detained wins over exceptional (it is the shorter limit).
pub fn track(exceptional: bool, detained: bool) -> ReplyTrack {
    match (exceptional, detained) {
        (_, true) => ReplyTrack::Detained,
        (true, false) => ReplyTrack::Exceptional,
        (false, false) => ReplyTrack::Standard,
    }
}

impl Wire for ReadmissionCase {
    type WireEvent = pb::ReadmissionEvent;
    type Detail = Detail;
    type Checks = ReadmissionChecks;

    fn from_wire(
        event: &pb::ReadmissionEvent,
        _regime: Option<accord_domain::Regime>,
    ) -> Result<ReadmissionEvent, Invalid> {
        event_from_wire(event)
    }

    fn detail(event: &pb::ReadmissionEvent) -> Option<&Detail> {
        event.detail.as_ref()
    }

    wire_header!(
        case_ref,
        ReadmissionEventKind,
        pb::ReadmissionEventKind,
        "READMISSION_EVENT_KIND_",
        kind_to_wire
    );
}

/// The domain event of a wire event, checking every field the domain needs.
fn event_from_wire(event: &pb::ReadmissionEvent) -> Result<ReadmissionEvent, Invalid> {
    read_event(
        ReadmissionCase::header(event),
        "event.case_ref",
        CaseKind::Readmission,
        |violations, _| kind_from_wire(violations, event),
        |kind| is_clock_event(event, kind),
    )
}

/// Deadline events are recorded by a node's clock, not by a caseworker.
fn is_clock_event(event: &pb::ReadmissionEvent, kind: &ReadmissionEventKind) -> bool {
    match kind {
        ReadmissionEventKind::AcceptedByDefault
        | ReadmissionEventKind::ReExaminationLapsed
        | ReadmissionEventKind::RejectionClosed
        | ReadmissionEventKind::Expired { .. } => true,
        _ => matches!(event.detail, Some(Detail::ClosedRejected(_))),
    }
}

fn text(violations: &mut Violations, field: &str, value: &str) -> Option<FreeText> {
    violations.check(field, FreeText::parse(value))
}

fn kind_from_wire(
    violations: &mut Violations,
    event: &pb::ReadmissionEvent,
) -> Option<ReadmissionEventKind> {
    use pb::ReadmissionEventKind as W;
    let wire_kind = known_kind::<W>(violations, event.kind)?;
    let detail = event.detail.as_ref();
    if let Some(kind) = plain_kind(wire_kind, detail) {
        return Some(kind);
    }
    // UNSPECIFIED is neither plain nor detailed.
    match detail.and_then(|detail| detailed_kind(violations, wire_kind, detail)) {
        Some(read) => read,
        None => unreadable_kind(
            violations,
            wire_kind == W::Unspecified,
            wire_kind.as_str_name(),
        ),
    }
}

/// The kinds whose event carries no detail the domain reads.
fn plain_kind(
    wire_kind: pb::ReadmissionEventKind,
    detail: Option<&Detail>,
) -> Option<ReadmissionEventKind> {
    use ReadmissionEventKind as K;
    use pb::ReadmissionEventKind as W;
    Some(match wire_kind {
        W::Received => K::Received,
        W::ExaminationStarted => K::ExaminationStarted,
        W::Accepted => K::Accepted,
        W::AcceptedByDefault => K::AcceptedByDefault,
        W::ReExaminationAccepted => K::AcceptedOnReExamination,
        W::ReExaminationLapsed => K::ReExaminationLapsed,
        W::ClosedRejected if detail.is_none() => K::RejectionAccepted,
        W::TransferDecisionIssued => K::TransferDecisionIssued,
        W::LegalHoldReleased => K::LegalHoldReleased,
        W::Transferred => K::TransferExecuted,
        W::ArrivalConfirmed => K::ArrivalConfirmed,
        W::NoShow => K::NoShow,
        _ => return None,
    })
}

/// The kinds the domain reads from the event's detail: `None` when the detail is not the
/// kind's, `Some(None)` when it is but a field of it is bad (recorded in `violations`).
fn detailed_kind(
    violations: &mut Violations,
    wire_kind: pb::ReadmissionEventKind,
    detail: &Detail,
) -> Option<Option<ReadmissionEventKind>> {
    use ReadmissionEventKind as K;
    use pb::ReadmissionEventKind as W;
    Some(match (wire_kind, detail) {
        (W::Submitted, Detail::Submitted(submission)) => submitted(violations, submission),
        (W::InformationRequested, Detail::InformationRequested(request)) => text(
            violations,
            "event.information_requested.questions",
            &request.questions,
        )
        .map(|questions| K::InformationRequested { questions }),
        (W::InformationProvided, Detail::InformationProvided(response)) => text(
            violations,
            "event.information_provided.answers",
            &response.answers,
        )
        .map(|answer| K::InformationProvided { answer }),
        (W::Rejected, Detail::Rejected(rejection)) => {
            rejected(violations, "event.rejected", rejection).map(|(reasons, detailed_reasons)| {
                K::Rejected {
                    reasons,
                    detailed_reasons,
                }
            })
        }
        (W::ReExaminationRequested, Detail::ReExaminationRequested(grounds)) => text(
            violations,
            "event.re_examination_requested.grounds",
            &grounds.grounds,
        )
        .map(|grounds| K::ReExaminationRequested { grounds }),
        (W::ReExaminationRejected, Detail::ReExaminationRejected(rejection)) => {
            rejected(violations, "event.re_examination_rejected", rejection).map(
                |(reasons, detailed_reasons)| K::RejectedFinal {
                    reasons,
                    detailed_reasons,
                },
            )
        }
        (W::ClosedRejected, Detail::ClosedRejected(_)) => Some(K::RejectionClosed),
        (W::LegalHoldPlaced, Detail::LegalHoldPlaced(placement)) => {
            let kind = hold_from_wire(placement.kind);
            if kind.is_none() {
                violations.add("event.legal_hold_placed.kind", "is required");
            }
            kind.map(|kind| K::LegalHoldPlaced { kind })
        }
        (W::TransferScheduled, Detail::TransferScheduled(booking)) => slot_start(
            violations,
            "event.transfer_scheduled",
            booking.slot.as_ref(),
        )
        .map(|slot| K::TransferScheduled { slot }),
        (W::TransferPostponed, Detail::TransferPostponed(postponement)) => slot_start(
            violations,
            "event.transfer_postponed",
            postponement.slot.as_ref(),
        )
        .map(|slot| K::TransferPostponed { slot }),
        (W::TransferFailed, Detail::TransferFailed(failure)) => recorded_reason(
            violations,
            "event.transfer_failed",
            failure.reason,
            pb::TransferFailureReason::as_str_name,
            &failure.note,
        )
        .map(|reason| K::TransferFailed { reason }),
        (W::Withdrawn, Detail::Withdrawn(withdrawal)) => recorded_reason(
            violations,
            "event.withdrawn",
            withdrawal.reason,
            pb::ReadmissionWithdrawalReason::as_str_name,
            &withdrawal.note,
        )
        .map(|reason| K::Withdrawn { reason }),
        (W::Expired, Detail::Expired(expiry)) => expired(violations, expiry),
        _ => return None,
    })
}

fn submitted(
    violations: &mut Violations,
    submission: &pb::ReadmissionSubmission,
) -> Option<ReadmissionEventKind> {
    let regime = regime_from_wire(submission.regime);
    if regime.is_none() {
        violations.add("event.submitted.regime", "is required");
    }
    let arrival = super::required_time(
        violations,
        "event.submitted.arrival_time",
        submission.arrival_time.as_ref(),
    );
    Some(ReadmissionEventKind::Submitted {
        regime: regime?,
        arrival: arrival?,
        track: track(submission.exceptional, submission.detained),
    })
}

fn rejected(
    violations: &mut Violations,
    field: &str,
    rejection: &pb::ReadmissionRejection,
) -> Option<(Vec<ReadmissionReason>, FreeText)> {
    let reasons = reasons_from_wire(violations, &format!("{field}.reasons"), &rejection.reasons);
    let detailed_reasons = text(
        violations,
        &format!("{field}.detailed_reasons"),
        &rejection.detailed_reasons,
    )?;
    Some((reasons, detailed_reasons))
}

fn slot_start(
    violations: &mut Violations,
    field: &str,
    slot: Option<&pb::TransferSlot>,
) -> Option<Timestamp> {
    let start = slot.and_then(|slot| slot.start_time.as_ref());
    super::required_time(violations, &format!("{field}.slot.start_time"), start)
}

fn expired(
    violations: &mut Violations,
    expiry: &pb::ReadmissionExpiry,
) -> Option<ReadmissionEventKind> {
    let cause = match pb::ReadmissionExpiryCause::try_from(expiry.cause) {
        Ok(pb::ReadmissionExpiryCause::ProcedureTimeExhausted) => {
            ExpiryCause::ProcedureTimeExhausted
        }
        Ok(pb::ReadmissionExpiryCause::TransferTimeExhausted) => ExpiryCause::TransferTimeExhausted,
        _ => {
            violations.add("event.expired.cause", "is required");
            return None;
        }
    };
    Some(ReadmissionEventKind::Expired { cause })
}

/// The wire detail of a system (deadline) event, with the deadline that passed.
pub fn deadline_detail(kind: &ReadmissionEventKind, due_at: Timestamp) -> Option<Detail> {
    let lapse = |deadline: pb::ReadmissionDeadlineKind| pb::DeadlineLapse {
        deadline: deadline as i32,
        due_at: Some(to_wire_time(due_at)),
        cited_checkpoint: String::new(),
    };
    match kind {
        ReadmissionEventKind::AcceptedByDefault => Some(Detail::AcceptedByDefault(lapse(
            pb::ReadmissionDeadlineKind::Reply,
        ))),
        ReadmissionEventKind::ReExaminationLapsed => Some(Detail::ReExaminationLapsed(lapse(
            pb::ReadmissionDeadlineKind::ReExaminationReply,
        ))),
        ReadmissionEventKind::RejectionClosed => Some(Detail::ClosedRejected(lapse(
            pb::ReadmissionDeadlineKind::ReExaminationRequest,
        ))),
        ReadmissionEventKind::Expired { cause } => Some(Detail::Expired(pb::ReadmissionExpiry {
            cause: match cause {
                ExpiryCause::ProcedureTimeExhausted => {
                    pb::ReadmissionExpiryCause::ProcedureTimeExhausted
                }
                ExpiryCause::TransferTimeExhausted => {
                    pb::ReadmissionExpiryCause::TransferTimeExhausted
                }
            } as i32,
            due_at: Some(to_wire_time(due_at)),
        })),
        _ => None,
    }
}

/// The detail of S's acceptance by default on the log's clock: the reply deadline that
/// lapsed and the checkpoint it cites.
pub fn cited_lapse_detail(due_at: Timestamp, checkpoint: &str) -> Detail {
    Detail::AcceptedByDefault(pb::DeadlineLapse {
        deadline: pb::ReadmissionDeadlineKind::Reply as i32,
        due_at: Some(to_wire_time(due_at)),
        cited_checkpoint: checkpoint.to_owned(),
    })
}

/// The checkpoint an acceptance by default cites, if its detail is one.
pub fn cited_checkpoint(detail: Option<&Detail>) -> Option<&str> {
    match detail {
        Some(Detail::AcceptedByDefault(lapse)) => Some(&lapse.cited_checkpoint),
        _ => None,
    }
}

/// The step of a readmission event kind as a leaf of the log names it, for R's replies that
/// stop or pause its reply clock; `None` for any other kind.
pub fn reply_step_from_wire(kind: i32) -> Option<ReadmissionStep> {
    use pb::ReadmissionEventKind as W;
    match W::try_from(kind).ok()? {
        W::Accepted => Some(ReadmissionStep::Accepted),
        W::Rejected => Some(ReadmissionStep::Rejected),
        W::AcceptedByDefault => Some(ReadmissionStep::AcceptedByDefault),
        W::InformationRequested => Some(ReadmissionStep::InformationRequested),
        _ => None,
    }
}

/// A case as the API shows it, from a use case's answer; `with_history` adds the person,
/// the evidence and the signed events (a list leaves them out).
pub fn answer_to_wire(answer: &Answer<ReadmissionCase>, with_history: bool) -> pb::ReadmissionCase {
    case_to_wire(
        &answer.case,
        &answer.history,
        with_history,
        with_history,
        answer.pending_deliveries,
    )
}

/// The case as an idempotency record keeps it: the person and evidence shown, the signed
/// events left out (the case's events hold them).
pub fn answer_to_stored_wire(answer: &Answer<ReadmissionCase>) -> pb::ReadmissionCase {
    case_to_wire(
        &answer.case,
        &answer.history,
        true,
        false,
        answer.pending_deliveries,
    )
}

/// The case as the API shows it: derived from the domain case and the signed history.
fn case_to_wire(
    case: &ReadmissionCase,
    events: &[Signed<ReadmissionCase>],
    with_history: bool,
    with_events: bool,
    pending_event_count: u32,
) -> pb::ReadmissionCase {
    let submission = events.iter().find_map(|event| match event.detail() {
        Some(Detail::Submitted(submission)) => Some(submission),
        _ => None,
    });
    let deadlines = running_deadlines(case);
    let at = |deadline: Option<Deadline>| match deadline {
        Some(Deadline::At(time)) => Some(to_wire_time(time)),
        _ => None,
    };
    pb::ReadmissionCase {
        case_ref: case.case_ref().to_string(),
        requesting_state: case.requesting().to_string(),
        requested_state: case.requested().to_string(),
        regime: regime_to_wire(case.profile().regime) as i32,
        status: status_to_wire(case.status()) as i32,
        exceptional: case.track() == ReplyTrack::Exceptional,
        detained: case.track() == ReplyTrack::Detained,
        arrival_time: Some(to_wire_time(case.arrival())),
        submitted_at: Some(to_wire_time(case.submitted_at())),
        received_at: case.received_at().map(to_wire_time),
        reply_due_at: at(deadlines.reply),
        deadlines: deadlines_to_wire(case, &deadlines),
        person: if with_history {
            submission.and_then(|submission| submission.person.clone())
        } else {
            None
        },
        evidence: if with_history {
            evidence(events)
        } else {
            Vec::new()
        },
        rejection_reasons: case
            .final_rejection()
            .or(case.rejection())
            .map(|rejection| {
                rejection
                    .reasons
                    .iter()
                    .map(|reason| reason_to_wire(*reason) as i32)
                    .collect()
            })
            .unwrap_or_default(),
        legal_holds: legal_holds(case, events),
        transfer_slot: transfer_slot(case, events),
        transfer_due_at: at(deadline::deadlines(case).transfer),
        last_sequence: case.sequence(),
        updated_at: Some(to_wire_time(case.last_event_at())),
        pending_event_count,
        events: if with_events {
            events.iter().map(|event| event.wire().clone()).collect()
        } else {
            Vec::new()
        },
    }
}

/// The deadlines whose clocks still run (or stand paused) in the case's current status:
/// the reply clock until R replies, the re-examination clocks while their step is awaited,
/// the transfer and procedure clocks until the hand-over. A clock that stopped is left out,
/// so that neither a reader nor the deadline sweeper acts on it.
pub fn running_deadlines(case: &ReadmissionCase) -> deadline::Deadlines {
    use ReadmissionStatus as Status;
    let started = deadline::deadlines(case);
    let status = case.status();
    let replying = matches!(
        status,
        Status::Received | Status::UnderExamination | Status::InfoRequested
    );
    let before_handover = !status.is_terminal() && status != Status::Transferred;
    deadline::Deadlines {
        reply: started.reply.filter(|_| replying),
        re_examination_request: started
            .re_examination_request
            .filter(|_| status == Status::Rejected),
        re_examination_reply: started
            .re_examination_reply
            .filter(|_| status == Status::ReExaminationRequested),
        transfer: started.transfer.filter(|_| before_handover),
        procedure: started.procedure.filter(|_| before_handover),
    }
}

fn deadlines_to_wire(
    case: &ReadmissionCase,
    deadlines: &deadline::Deadlines,
) -> Vec<pb::ReadmissionDeadline> {
    use pb::ReadmissionDeadlineKind as W;
    let entries = [
        (W::Reply, deadlines.reply, case.requested()),
        (
            W::ReExaminationRequest,
            deadlines.re_examination_request,
            case.requesting(),
        ),
        (
            W::ReExaminationReply,
            deadlines.re_examination_reply,
            case.requested(),
        ),
        (W::Transfer, deadlines.transfer, case.requesting()),
        (W::Procedure, deadlines.procedure, case.requesting()),
    ];
    entries
        .into_iter()
        .filter_map(|(kind, deadline, responsible)| {
            let deadline = deadline?;
            Some(pb::ReadmissionDeadline {
                kind: kind as i32,
                due_at: match deadline {
                    Deadline::At(time) => Some(to_wire_time(time)),
                    Deadline::Suspended => None,
                },
                responsible_state: responsible.to_string(),
                paused: deadline == Deadline::Suspended,
            })
        })
        .collect()
}

fn evidence(events: &[Signed<ReadmissionCase>]) -> Vec<pb::Evidence> {
    events
        .iter()
        .flat_map(|event| match event.detail() {
            Some(Detail::Submitted(submission)) => submission.evidence.clone(),
            Some(Detail::InformationProvided(response)) => response.evidence.clone(),
            Some(Detail::ReExaminationRequested(grounds)) => grounds.evidence.clone(),
            _ => Vec::new(),
        })
        .collect()
}

fn legal_holds(case: &ReadmissionCase, events: &[Signed<ReadmissionCase>]) -> Vec<pb::LegalHold> {
    let Some(hold) = case.legal_hold() else {
        return Vec::new();
    };
    let placement = events.iter().rev().find_map(|event| match event.detail() {
        Some(Detail::LegalHoldPlaced(placement)) => Some((event.event().sequence, placement)),
        _ => None,
    });
    vec![pb::LegalHold {
        hold_sequence: placement.map(|(sequence, _)| sequence).unwrap_or_default(),
        kind: hold_to_wire(hold.kind) as i32,
        reference: placement
            .map(|(_, placement)| placement.reference.clone())
            .unwrap_or_default(),
        placed_at: Some(to_wire_time(hold.placed_at)),
    }]
}

fn transfer_slot(
    case: &ReadmissionCase,
    events: &[Signed<ReadmissionCase>],
) -> Option<pb::TransferSlot> {
    case.transfer_slot()?;
    events.iter().rev().find_map(|event| match event.detail() {
        Some(Detail::TransferScheduled(booking)) => booking.slot.clone(),
        Some(Detail::TransferPostponed(postponement)) => postponement.slot.clone(),
        _ => None,
    })
}

/// The detail of R's receipt: when R must reply, where the reply clock runs to a date.
pub fn receipt_detail(case: &ReadmissionCase) -> Detail {
    let reply_due_at = match deadline::deadlines(case).reply {
        Some(Deadline::At(time)) => Some(to_wire_time(time)),
        _ => None,
    };
    Detail::Received(pb::ReadmissionReceipt { reply_due_at })
}

/// The detail of R's refusal by the parity guard, with the guard's sentence.
pub fn parity_rejection_detail(detailed_reasons: &str) -> Detail {
    Detail::Rejected(pb::ReadmissionRejection {
        reasons: vec![pb::ReadmissionReason::ParityImbalance as i32],
        detailed_reasons: detailed_reasons.to_owned(),
    })
}
