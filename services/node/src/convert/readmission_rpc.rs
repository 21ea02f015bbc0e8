//! `ReadmissionService` requests parsed into use-case commands, and answers into responses.
//!
//! One function per RPC reads every field of its request against the rules readmission.proto
//! documents and returns the command, or every violation at once. The step's domain kind and
//! the detail its signed event will carry are built here, so the handler names only this
//! function and the use case.

use accord_domain::readmission::{ReadmissionCase, ReadmissionEventKind, ReadmissionStatus};
use accord_domain::reason::ReadmissionReason;
use accord_domain::{CaseKind, CaseRef, FreeText, Timestamp};
use accord_proto::v1 as pb;
use pb::readmission_event::Detail;

use super::answers::StepOutcome;
use super::command::{
    EventPageRequest, ListQuery, OpenReadmission, ReadmissionChecks, ReadmissionFilter, Step,
};
use super::fields::{
    self, EVIDENCE_ITEMS_MAX, coded_reason, free_text, known_enum, note, past_time, reference,
    required_text,
};
use super::{RequestContext, StepRequest, incomplete, readmission as convert};
use crate::violation::{Invalid, Violations};

/// A parsed step of a readmission case.
pub type ReadmissionStep = Step<ReadmissionCase>;

/// What a step's parser reads besides key and case: the domain step and the wire detail.
type Built = Option<(ReadmissionEventKind, Option<Detail>)>;

/// Reads a step request on a readmission case: its key, its case, and what `build` reads
/// from the rest; a hold's release asks to check the hold it names.
fn step(
    context: &RequestContext,
    request: &impl StepRequest,
    build: impl FnOnce(&mut Violations) -> Built,
) -> Result<ReadmissionStep, Invalid> {
    super::step(context, request, |violations| {
        let (kind, detail) = build(violations)?;
        let released_hold = match &detail {
            Some(Detail::LegalHoldReleased(release)) => Some(release.hold_sequence),
            _ => None,
        };
        Some((kind, detail, ReadmissionChecks { released_hold }))
    })
}

/// `OpenReadmission`: S's caseworker opens a case against R.
pub fn open(
    message: &pb::OpenReadmissionRequest,
    context: &RequestContext,
) -> Result<OpenReadmission<Detail>, Invalid> {
    let now = context.now;
    let mut violations = Violations::new();
    let key = fields::idempotency_key(&mut violations, &message.idempotency_key);
    let requested =
        super::required_state(&mut violations, "requested_state", &message.requested_state);
    if requested == Some(context.own_state) {
        violations.add(
            "requested_state",
            "must be another state than the requesting state",
        );
    }
    let regime = super::regime_from_wire(message.regime);
    if regime.is_none() {
        violations.add("regime", "is required (a known regime)");
    }
    let arrival = super::required_time(
        &mut violations,
        "arrival_time",
        message.arrival_time.as_ref(),
    );
    if arrival.is_some_and(|arrival| arrival > now) {
        violations.add("arrival_time", "must not be in the future");
    }
    let _person = super::person_from_wire(&mut violations, "person", message.person.as_ref(), now);
    evidence(&mut violations, "evidence", &message.evidence);
    free_text(&mut violations, "notes", &message.notes);
    violations.finish()?;
    let (Some(idempotency_key), Some(requested), Some(regime), Some(arrival)) =
        (key, requested, regime, arrival)
    else {
        return Err(incomplete());
    };
    Ok(OpenReadmission {
        key: context.key(idempotency_key),
        requested,
        regime,
        arrival,
        track: convert::track(message.exceptional, message.detained),
        submission: Detail::Submitted(pb::ReadmissionSubmission {
            requested_state: message.requested_state.clone(),
            regime: message.regime,
            arrival_time: message.arrival_time,
            exceptional: message.exceptional,
            detained: message.detained,
            person: message.person.clone(),
            evidence: message.evidence.clone(),
            notes: message.notes.clone(),
        }),
    })
}

/// `StartExamination`.
pub fn start_examination(
    message: &pb::StartExaminationRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |_| {
        Some((ReadmissionEventKind::ExaminationStarted, None))
    })
}

/// `DecideReadmission`: accept, or reject with reasons.
pub fn decide(
    message: &pb::DecideReadmissionRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    let decided = Decided::from(&message.decision);
    step(context, message, |violations| {
        decision(violations, decided, &FIRST_DECISION)
    })
}

/// `RequestInformation`.
pub fn request_information(
    message: &pb::RequestInformationRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        let questions = required_text(violations, "questions", &message.questions)?;
        let detail = Detail::InformationRequested(pb::InformationRequest {
            questions: message.questions.clone(),
        });
        Some((
            ReadmissionEventKind::InformationRequested { questions },
            Some(detail),
        ))
    })
}

/// `ProvideInformation`.
pub fn provide_information(
    message: &pb::ProvideInformationRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        let answer = required_text(violations, "answers", &message.answers);
        evidence(violations, "evidence", &message.evidence);
        if message.corrected_person.is_some() {
            let _person = super::person_from_wire(
                violations,
                "corrected_person",
                message.corrected_person.as_ref(),
                context.now,
            );
        }
        let detail = Detail::InformationProvided(pb::InformationResponse {
            answers: message.answers.clone(),
            evidence: message.evidence.clone(),
            corrected_person: message.corrected_person.clone(),
        });
        Some((
            ReadmissionEventKind::InformationProvided { answer: answer? },
            Some(detail),
        ))
    })
}

/// `RequestReExamination`.
pub fn request_re_examination(
    message: &pb::RequestReExaminationRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        let grounds = required_text(violations, "grounds", &message.grounds);
        evidence(violations, "evidence", &message.evidence);
        let detail = Detail::ReExaminationRequested(pb::ReExaminationGrounds {
            grounds: message.grounds.clone(),
            evidence: message.evidence.clone(),
        });
        Some((
            ReadmissionEventKind::ReExaminationRequested { grounds: grounds? },
            Some(detail),
        ))
    })
}

/// `DecideReExamination`: accept, or reject for good.
pub fn decide_re_examination(
    message: &pb::DecideReExaminationRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    let decided = Decided::from(&message.decision);
    step(context, message, |violations| {
        decision(violations, decided, &RE_EXAMINATION_DECISION)
    })
}

/// `CloseReadmission`: S accepts the rejection.
pub fn close(
    message: &pb::CloseReadmissionRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |_| {
        Some((ReadmissionEventKind::RejectionAccepted, None))
    })
}

/// `IssueTransferDecision`.
pub fn issue_transfer_decision(
    message: &pb::IssueTransferDecisionRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        reference(
            violations,
            "decision_reference",
            &message.decision_reference,
            true,
        );
        past_time(
            violations,
            "notified_at",
            message.notified_at.as_ref(),
            context.now,
        );
        let detail = Detail::TransferDecisionIssued(pb::TransferDecision {
            decision_reference: message.decision_reference.clone(),
            notified_at: message.notified_at,
        });
        Some((ReadmissionEventKind::TransferDecisionIssued, Some(detail)))
    })
}

/// `PlaceLegalHold`.
pub fn place_legal_hold(
    message: &pb::PlaceLegalHoldRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        reference(violations, "reference", &message.reference, false);
        note(violations, "note", &message.note);
        let Some(kind) = convert::hold_from_wire(message.kind) else {
            violations.add("kind", "is required (a known legal hold kind)");
            return None;
        };
        let detail = Detail::LegalHoldPlaced(pb::LegalHoldPlacement {
            kind: message.kind,
            reference: message.reference.clone(),
            note: message.note.clone(),
        });
        Some((ReadmissionEventKind::LegalHoldPlaced { kind }, Some(detail)))
    })
}

/// `ReleaseLegalHold`: names the hold it ends by its placement's sequence.
pub fn release_legal_hold(
    message: &pb::ReleaseLegalHoldRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        note(violations, "note", &message.note);
        if message.hold_sequence == 0 {
            violations.add(
                "hold_sequence",
                "is required: the hold's placement sequence",
            );
        }
        let detail = Detail::LegalHoldReleased(pb::LegalHoldRelease {
            hold_sequence: message.hold_sequence,
            note: message.note.clone(),
        });
        Some((ReadmissionEventKind::LegalHoldReleased, Some(detail)))
    })
}

/// `ScheduleTransfer`.
pub fn schedule_transfer(
    message: &pb::ScheduleTransferRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        let start = slot(violations, "slot", message.slot.as_ref());
        reference(
            violations,
            "laissez_passer_reference",
            &message.laissez_passer_reference,
            false,
        );
        let detail = Detail::TransferScheduled(pb::TransferBooking {
            slot: message.slot.clone(),
            escorted: message.escorted,
            laissez_passer_reference: message.laissez_passer_reference.clone(),
        });
        Some((
            ReadmissionEventKind::TransferScheduled { slot: start? },
            Some(detail),
        ))
    })
}

/// `PostponeTransfer`.
pub fn postpone_transfer(
    message: &pb::PostponeTransferRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        known_enum::<pb::TransferPostponementReason>(violations, "reason", message.reason, true);
        note(violations, "note", &message.note);
        let start = slot(violations, "slot", message.slot.as_ref());
        let detail = Detail::TransferPostponed(pb::TransferPostponement {
            reason: message.reason,
            note: message.note.clone(),
            slot: message.slot.clone(),
        });
        Some((
            ReadmissionEventKind::TransferPostponed { slot: start? },
            Some(detail),
        ))
    })
}

/// `ReportTransfer`: S reports the hand-over.
pub fn report_transfer(
    message: &pb::ReportTransferRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        past_time(
            violations,
            "handed_over_at",
            message.handed_over_at.as_ref(),
            context.now,
        );
        reference(violations, "handover_point", &message.handover_point, true);
        let detail = Detail::Transferred(pb::TransferHandover {
            handed_over_at: message.handed_over_at,
            handover_point: message.handover_point.clone(),
        });
        Some((ReadmissionEventKind::TransferExecuted, Some(detail)))
    })
}

/// `ReportTransferFailed`.
pub fn report_transfer_failed(
    message: &pb::ReportTransferFailedRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        let reason = coded_reason(
            violations,
            message.reason,
            pb::TransferFailureReason::as_str_name,
            &message.note,
            note,
        )?;
        let detail = Detail::TransferFailed(pb::TransferFailure {
            reason: message.reason,
            note: message.note.clone(),
        });
        Some((
            ReadmissionEventKind::TransferFailed { reason },
            Some(detail),
        ))
    })
}

/// `ConfirmArrival`: R confirms the person arrived.
pub fn confirm_arrival(
    message: &pb::ConfirmArrivalRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        past_time(
            violations,
            "arrived_at",
            message.arrived_at.as_ref(),
            context.now,
        );
        let detail = Detail::ArrivalConfirmed(pb::ArrivalConfirmation {
            arrived_at: message.arrived_at,
        });
        Some((ReadmissionEventKind::ArrivalConfirmed, Some(detail)))
    })
}

/// `ReportNoShow`.
pub fn report_no_show(
    message: &pb::ReportNoShowRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        note(violations, "note", &message.note);
        Some((
            ReadmissionEventKind::NoShow,
            Some(Detail::NoShow(pb::NoShowReport {
                note: message.note.clone(),
            })),
        ))
    })
}

/// `WithdrawReadmission`.
pub fn withdraw(
    message: &pb::WithdrawReadmissionRequest,
    context: &RequestContext,
) -> Result<ReadmissionStep, Invalid> {
    step(context, message, |violations| {
        let reason = coded_reason(
            violations,
            message.reason,
            pb::ReadmissionWithdrawalReason::as_str_name,
            &message.note,
            note,
        )?;
        let detail = Detail::Withdrawn(pb::ReadmissionWithdrawal {
            reason: message.reason,
            note: message.note.clone(),
        });
        Some((ReadmissionEventKind::Withdrawn { reason }, Some(detail)))
    })
}

/// `GetReadmission`.
pub fn get(message: &pb::GetReadmissionRequest, _: &RequestContext) -> Result<CaseRef, Invalid> {
    super::lone_reference::<ReadmissionCase>(message)
}

/// `ListReadmissions`: the filters this node supports, refusing the others by name.
pub fn list(
    message: &pb::ListReadmissionsRequest,
    _: &RequestContext,
) -> Result<ListQuery<ReadmissionFilter>, Invalid> {
    let page = (message.page_token.as_str(), message.page_size);
    super::list_query(
        CaseKind::Readmission,
        &message.counterpart_state,
        page,
        |violations, counterpart| ReadmissionFilter {
            counterpart,
            status: unsupported_filters(violations, message),
        },
    )
}

/// The one status a readmission list may filter on, after refusing by name the filters this
/// node does not support yet.
fn unsupported_filters(
    violations: &mut Violations,
    message: &pb::ListReadmissionsRequest,
) -> Option<ReadmissionStatus> {
    known_enum::<pb::ReadmissionRole>(violations, "role", message.role, false);
    let statuses = fields::statuses(violations, &message.statuses, convert::status_from_wire);
    if statuses.len() > 1 {
        violations.add(
            "statuses",
            "this node filters on at most one status per call",
        );
    }
    if message.role != 0 && pb::ReadmissionRole::try_from(message.role).is_ok() {
        violations.add(
            "role",
            "filtering by role is not supported by this node yet; leave it unset",
        );
    }
    if message.updated_since.is_some() {
        violations.add(
            "updated_since",
            "filtering by update time is not supported by this node yet; leave it unset",
        );
    }
    statuses.first().copied()
}

/// `ListReadmissionEvents`.
pub fn history(
    message: &pb::ListReadmissionEventsRequest,
    _: &RequestContext,
) -> Result<(CaseRef, EventPageRequest), Invalid> {
    super::history_page::<ReadmissionCase>(message)
}

/// R's decision as both decision requests carry it.
#[derive(Clone, Copy)]
enum Decided<'a> {
    /// Accept, with an optional note.
    Accept(&'a str),
    /// Reject, with reasons.
    Reject(&'a pb::ReadmissionRejection),
    /// Neither: the oneof is unset.
    Missing,
}

/// Implements `From` the decision oneof of each decision request (by its module).
macro_rules! decided_from {
    ($($request:ident),+) => {$(
        impl<'a> From<&'a Option<pb::$request::Decision>> for Decided<'a> {
            fn from(decision: &'a Option<pb::$request::Decision>) -> Self {
                use pb::$request::Decision;
                match decision {
                    Some(Decision::Accept(acceptance)) => Self::Accept(&acceptance.note),
                    Some(Decision::Reject(refusal)) => Self::Reject(refusal),
                    None => Self::Missing,
                }
            }
        }
    )+};
}

decided_from!(decide_readmission_request, decide_re_examination_request);

/// What a decision records: the step of an acceptance, the step a rejection builds, and
/// the wire detail of a rejection.
struct Verdicts {
    accepted: ReadmissionEventKind,
    rejected: fn(Vec<ReadmissionReason>, FreeText) -> ReadmissionEventKind,
    detail: fn(pb::ReadmissionRejection) -> Detail,
}

/// R's first decision (`DecideReadmission`).
const FIRST_DECISION: Verdicts = Verdicts {
    accepted: ReadmissionEventKind::Accepted,
    rejected: |reasons, detailed_reasons| ReadmissionEventKind::Rejected {
        reasons,
        detailed_reasons,
    },
    detail: Detail::Rejected,
};

/// R's decision on re-examination (`DecideReExamination`).
const RE_EXAMINATION_DECISION: Verdicts = Verdicts {
    accepted: ReadmissionEventKind::AcceptedOnReExamination,
    rejected: |reasons, detailed_reasons| ReadmissionEventKind::RejectedFinal {
        reasons,
        detailed_reasons,
    },
    detail: Detail::ReExaminationRejected,
};

/// The step of a decision, as `verdicts` records it.
fn decision(violations: &mut Violations, decided: Decided<'_>, verdicts: &Verdicts) -> Built {
    match decided {
        Decided::Accept(accept_note) => {
            note(violations, "accept.note", accept_note);
            Some((verdicts.accepted.clone(), None))
        }
        Decided::Reject(refusal) => {
            let (reasons, detailed_reasons) = rejection(violations, "reject", refusal);
            Some((
                (verdicts.rejected)(reasons, detailed_reasons?),
                Some((verdicts.detail)(refusal.clone())),
            ))
        }
        Decided::Missing => {
            violations.add("decision", "is required: accept or reject");
            None
        }
    }
}

fn rejection(
    violations: &mut Violations,
    field: &str,
    rejection: &pb::ReadmissionRejection,
) -> (Vec<ReadmissionReason>, Option<FreeText>) {
    let reasons =
        convert::reasons_from_wire(violations, &format!("{field}.reasons"), &rejection.reasons);
    if rejection.reasons.is_empty() {
        violations.add(format!("{field}.reasons"), "needs at least one reason code");
    }
    let detailed = required_text(
        violations,
        &format!("{field}.detailed_reasons"),
        &rejection.detailed_reasons,
    );
    (reasons, detailed)
}

fn evidence(violations: &mut Violations, field: &str, evidence: &[pb::Evidence]) {
    if evidence.len() > EVIDENCE_ITEMS_MAX {
        violations.add(field, format!("has more than {EVIDENCE_ITEMS_MAX} items"));
    }
    for (index, item) in evidence.iter().enumerate() {
        if pb::EvidenceKind::try_from(item.kind)
            .map_or(true, |kind| kind == pb::EvidenceKind::Unspecified)
        {
            violations.add(format!("{field}[{index}].kind"), "is required");
        }
        reference(
            violations,
            &format!("{field}[{index}].reference"),
            &item.reference,
            true,
        );
        if !item.document_digest.is_empty() && item.document_digest.len() != 32 {
            violations.add(
                format!("{field}[{index}].document_digest"),
                "must be 32 bytes (SHA-256) when given",
            );
        }
        note(violations, &format!("{field}[{index}].note"), &item.note);
    }
}

/// A transfer slot: its start (what the domain sees), checked with the rest.
fn slot(
    violations: &mut Violations,
    field: &str,
    slot: Option<&pb::TransferSlot>,
) -> Option<Timestamp> {
    let slot = super::required(violations, field, slot)?;
    let start = super::required_time(
        violations,
        &format!("{field}.start_time"),
        slot.start_time.as_ref(),
    );
    if let (Some(start), Some(end)) = (start, slot.end_time.as_ref())
        && let Some(end) =
            violations.check(&format!("{field}.end_time"), super::from_wire_time(end))
        && end <= start
    {
        violations.add(format!("{field}.end_time"), "must be after start_time");
    }
    reference(
        violations,
        &format!("{field}.handover_point"),
        &slot.handover_point,
        true,
    );
    if pb::TransportMode::try_from(slot.transport_mode).is_err() {
        violations.add(
            format!("{field}.transport_mode"),
            "is not a known transport mode",
        );
    }
    start
}

super::step_responses! {
    ReadmissionCase, StepOutcome { readmission }:
    pb::OpenReadmissionResponse,
    pb::StartExaminationResponse,
    pb::DecideReadmissionResponse,
    pb::RequestInformationResponse,
    pb::ProvideInformationResponse,
    pb::RequestReExaminationResponse,
    pb::DecideReExaminationResponse,
    pb::CloseReadmissionResponse,
    pb::IssueTransferDecisionResponse,
    pb::PlaceLegalHoldResponse,
    pb::ReleaseLegalHoldResponse,
    pb::ScheduleTransferResponse,
    pb::PostponeTransferResponse,
    pb::ReportTransferResponse,
    pb::ReportTransferFailedResponse,
    pb::ConfirmArrivalResponse,
    pb::ReportNoShowResponse,
    pb::WithdrawReadmissionResponse,
}
