//! Readmission bodies to wire requests, and wire cases to JSON.

use accord_proto::v1 as pb;
use tonic::Status;

use super::{Fields, code, code_or_empty, codes, non_empty, person_in, person_out, time};
use crate::json::readmission as json;
use crate::json::{self as common, ListQuery};

/// `POST /v1/readmissions`.
pub fn open(
    key: String,
    body: &json::OpenReadmission,
) -> Result<pb::OpenReadmissionRequest, Status> {
    let mut fields = Fields::new();
    let request = pb::OpenReadmissionRequest {
        idempotency_key: key,
        requested_state: body.requested_state.clone(),
        regime: fields.code::<pb::Regime>("regime", &body.regime),
        arrival_time: fields.time("arrival_time", &body.arrival_time),
        exceptional: body.exceptional,
        detained: body.detained,
        person: Some(person_in(&body.person)),
        evidence: evidence_in(&mut fields, "evidence", &body.evidence),
        notes: body.notes.clone(),
    };
    fields.finish(request)
}

fn evidence_in(fields: &mut Fields, field: &str, items: &[json::Evidence]) -> Vec<pb::Evidence> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| pb::Evidence {
            kind: fields.code::<pb::EvidenceKind>(&format!("{field}[{index}].kind"), &item.kind),
            reference: item.reference.clone(),
            document_digest: fields.hex(
                &format!("{field}[{index}].document_digest"),
                item.document_digest.as_deref(),
            ),
            note: item.note.clone(),
        })
        .collect()
}

fn slot_in(fields: &mut Fields, slot: &json::TransferSlot) -> pb::TransferSlot {
    pb::TransferSlot {
        start_time: fields.time("slot.start_time", &slot.start_time),
        end_time: fields.optional_time("slot.end_time", slot.end_time.as_deref()),
        handover_point: slot.handover_point.clone(),
        transport_mode: fields.optional_code::<pb::TransportMode>(
            "slot.transport_mode",
            slot.transport_mode.as_deref(),
        ),
    }
}

/// The accept-or-reject choice of a decision and of a re-examination's decision.
pub fn decision(
    fields: &mut Fields,
    body: &json::Decision,
) -> pb::decide_readmission_request::Decision {
    use pb::decide_readmission_request::Decision;
    match body {
        json::Decision::Accept { note } => {
            Decision::Accept(pb::ReadmissionAcceptance { note: note.clone() })
        }
        json::Decision::Reject {
            reasons,
            detailed_reasons,
        } => Decision::Reject(pb::ReadmissionRejection {
            reasons: fields.codes::<pb::ReadmissionReason>("reasons", reasons),
            detailed_reasons: detailed_reasons.clone(),
        }),
    }
}

/// `POST …/decision`.
pub fn decide(
    key: String,
    case_ref: String,
    body: &json::Decision,
) -> Result<pb::DecideReadmissionRequest, Status> {
    let mut fields = Fields::new();
    let decision = Some(decision(&mut fields, body));
    fields.finish(pb::DecideReadmissionRequest {
        idempotency_key: key,
        case_ref,
        decision,
    })
}

/// `POST …/re-examination-decision`.
pub fn decide_re_examination(
    key: String,
    case_ref: String,
    body: &json::Decision,
) -> Result<pb::DecideReExaminationRequest, Status> {
    use pb::decide_re_examination_request::Decision;
    let mut fields = Fields::new();
    let decision = match decision(&mut fields, body) {
        pb::decide_readmission_request::Decision::Accept(accept) => Decision::Accept(accept),
        pb::decide_readmission_request::Decision::Reject(reject) => Decision::Reject(reject),
    };
    fields.finish(pb::DecideReExaminationRequest {
        idempotency_key: key,
        case_ref,
        decision: Some(decision),
    })
}

/// `POST …/information-requests`.
pub fn request_information(
    key: String,
    case_ref: String,
    body: &json::RequestInformation,
) -> Result<pb::RequestInformationRequest, Status> {
    Ok(pb::RequestInformationRequest {
        idempotency_key: key,
        case_ref,
        questions: body.questions.clone(),
    })
}

/// `POST …/information`.
pub fn provide_information(
    key: String,
    case_ref: String,
    body: &json::ProvideInformation,
) -> Result<pb::ProvideInformationRequest, Status> {
    let mut fields = Fields::new();
    let request = pb::ProvideInformationRequest {
        idempotency_key: key,
        case_ref,
        answers: body.answers.clone(),
        evidence: evidence_in(&mut fields, "evidence", &body.evidence),
        corrected_person: body.corrected_person.as_ref().map(person_in),
    };
    fields.finish(request)
}

/// `POST …/re-examination-requests`.
pub fn request_re_examination(
    key: String,
    case_ref: String,
    body: &json::RequestReExamination,
) -> Result<pb::RequestReExaminationRequest, Status> {
    let mut fields = Fields::new();
    let request = pb::RequestReExaminationRequest {
        idempotency_key: key,
        case_ref,
        grounds: body.grounds.clone(),
        evidence: evidence_in(&mut fields, "evidence", &body.evidence),
    };
    fields.finish(request)
}

/// `POST …/transfer-decision`.
pub fn issue_transfer_decision(
    key: String,
    case_ref: String,
    body: &json::IssueTransferDecision,
) -> Result<pb::IssueTransferDecisionRequest, Status> {
    let mut fields = Fields::new();
    let notified_at = fields.time("notified_at", &body.notified_at);
    fields.finish(pb::IssueTransferDecisionRequest {
        idempotency_key: key,
        case_ref,
        decision_reference: body.decision_reference.clone(),
        notified_at,
    })
}

/// `POST …/legal-holds`.
pub fn place_legal_hold(
    key: String,
    case_ref: String,
    body: &json::PlaceLegalHold,
) -> Result<pb::PlaceLegalHoldRequest, Status> {
    let mut fields = Fields::new();
    let kind = fields.code::<pb::LegalHoldKind>("kind", &body.kind);
    fields.finish(pb::PlaceLegalHoldRequest {
        idempotency_key: key,
        case_ref,
        kind,
        reference: body.reference.clone(),
        note: body.note.clone(),
    })
}

/// `POST …/legal-hold-releases`.
pub fn release_legal_hold(
    key: String,
    case_ref: String,
    body: &json::ReleaseLegalHold,
) -> Result<pb::ReleaseLegalHoldRequest, Status> {
    Ok(pb::ReleaseLegalHoldRequest {
        idempotency_key: key,
        case_ref,
        hold_sequence: body.hold_sequence,
        note: body.note.clone(),
    })
}

/// `POST …/transfer`.
pub fn schedule_transfer(
    key: String,
    case_ref: String,
    body: &json::ScheduleTransfer,
) -> Result<pb::ScheduleTransferRequest, Status> {
    let mut fields = Fields::new();
    let slot = Some(slot_in(&mut fields, &body.slot));
    fields.finish(pb::ScheduleTransferRequest {
        idempotency_key: key,
        case_ref,
        slot,
        escorted: body.escorted,
        laissez_passer_reference: body.laissez_passer_reference.clone(),
    })
}

/// `POST …/transfer-postponements`.
pub fn postpone_transfer(
    key: String,
    case_ref: String,
    body: &json::PostponeTransfer,
) -> Result<pb::PostponeTransferRequest, Status> {
    let mut fields = Fields::new();
    let reason = fields.code::<pb::TransferPostponementReason>("reason", &body.reason);
    let slot = Some(slot_in(&mut fields, &body.slot));
    fields.finish(pb::PostponeTransferRequest {
        idempotency_key: key,
        case_ref,
        reason,
        note: body.note.clone(),
        slot,
    })
}

/// `POST …/handover`.
pub fn report_transfer(
    key: String,
    case_ref: String,
    body: &json::ReportTransfer,
) -> Result<pb::ReportTransferRequest, Status> {
    let mut fields = Fields::new();
    let handed_over_at = fields.time("handed_over_at", &body.handed_over_at);
    fields.finish(pb::ReportTransferRequest {
        idempotency_key: key,
        case_ref,
        handed_over_at,
        handover_point: body.handover_point.clone(),
    })
}

/// `POST …/transfer-failure`.
pub fn report_transfer_failed(
    key: String,
    case_ref: String,
    body: &json::ReasonNote,
) -> Result<pb::ReportTransferFailedRequest, Status> {
    let mut fields = Fields::new();
    let reason = fields.code::<pb::TransferFailureReason>("reason", &body.reason);
    fields.finish(pb::ReportTransferFailedRequest {
        idempotency_key: key,
        case_ref,
        reason,
        note: body.note.clone(),
    })
}

/// `POST …/arrival`.
pub fn confirm_arrival(
    key: String,
    case_ref: String,
    body: &json::ConfirmArrival,
) -> Result<pb::ConfirmArrivalRequest, Status> {
    let mut fields = Fields::new();
    let arrived_at = fields.time("arrived_at", &body.arrived_at);
    fields.finish(pb::ConfirmArrivalRequest {
        idempotency_key: key,
        case_ref,
        arrived_at,
    })
}

/// `POST …/no-show`.
pub fn report_no_show(
    key: String,
    case_ref: String,
    body: &json::Note,
) -> Result<pb::ReportNoShowRequest, Status> {
    Ok(pb::ReportNoShowRequest {
        idempotency_key: key,
        case_ref,
        note: body.note.clone(),
    })
}

/// `POST …/withdrawal`.
pub fn withdraw(
    key: String,
    case_ref: String,
    body: &json::ReasonNote,
) -> Result<pb::WithdrawReadmissionRequest, Status> {
    let mut fields = Fields::new();
    let reason = fields.code::<pb::ReadmissionWithdrawalReason>("reason", &body.reason);
    fields.finish(pb::WithdrawReadmissionRequest {
        idempotency_key: key,
        case_ref,
        reason,
        note: body.note.clone(),
    })
}

/// `GET /v1/readmissions`.
pub fn list(query: &ListQuery) -> Result<pb::ListReadmissionsRequest, Status> {
    let mut fields = Fields::new();
    let filters =
        super::list_filters::<pb::ReadmissionRole, pb::ReadmissionStatus>(&mut fields, query);
    fields.finish(pb::ListReadmissionsRequest {
        page_size: query.page_size.unwrap_or(0),
        page_token: query.page_token.clone().unwrap_or_default(),
        counterpart_state: query.counterpart_state.clone().unwrap_or_default(),
        role: filters.role,
        statuses: filters.statuses,
        updated_since: filters.updated_since,
    })
}

/// A case as JSON shows it.
pub fn case(case: &pb::ReadmissionCase) -> json::ReadmissionCase {
    json::ReadmissionCase {
        case_ref: case.case_ref.clone(),
        requesting_state: case.requesting_state.clone(),
        requested_state: case.requested_state.clone(),
        regime: code_or_empty::<pb::Regime>(case.regime),
        status: code_or_empty::<pb::ReadmissionStatus>(case.status),
        exceptional: case.exceptional,
        detained: case.detained,
        arrival_time: time(case.arrival_time.as_ref()),
        submitted_at: time(case.submitted_at.as_ref()),
        received_at: time(case.received_at.as_ref()),
        reply_due_at: time(case.reply_due_at.as_ref()),
        deadlines: case.deadlines.iter().map(deadline).collect(),
        person: case.person.as_ref().map(person_out),
        evidence: case.evidence.iter().map(evidence_out).collect(),
        rejection_reasons: codes::<pb::ReadmissionReason>(&case.rejection_reasons),
        legal_holds: case.legal_holds.iter().map(legal_hold).collect(),
        transfer_slot: case.transfer_slot.as_ref().map(slot_out),
        transfer_due_at: time(case.transfer_due_at.as_ref()),
        last_sequence: case.last_sequence,
        updated_at: time(case.updated_at.as_ref()),
        pending_event_count: case.pending_event_count,
        events: case.events.iter().map(event).collect(),
    }
}

fn deadline(deadline: &pb::ReadmissionDeadline) -> json::Deadline {
    json::Deadline {
        kind: code_or_empty::<pb::ReadmissionDeadlineKind>(deadline.kind),
        due_at: time(deadline.due_at.as_ref()),
        responsible_state: deadline.responsible_state.clone(),
        paused: deadline.paused,
    }
}

fn evidence_out(evidence: &pb::Evidence) -> json::Evidence {
    json::Evidence {
        kind: code_or_empty::<pb::EvidenceKind>(evidence.kind),
        reference: evidence.reference.clone(),
        document_digest: (!evidence.document_digest.is_empty())
            .then(|| hex::encode(&evidence.document_digest)),
        note: evidence.note.clone(),
    }
}

fn legal_hold(hold: &pb::LegalHold) -> json::LegalHold {
    json::LegalHold {
        hold_sequence: hold.hold_sequence,
        kind: code_or_empty::<pb::LegalHoldKind>(hold.kind),
        reference: hold.reference.clone(),
        placed_at: time(hold.placed_at.as_ref()),
    }
}

fn slot_out(slot: &pb::TransferSlot) -> json::TransferSlot {
    json::TransferSlot {
        start_time: time(slot.start_time.as_ref()).unwrap_or_default(),
        end_time: time(slot.end_time.as_ref()),
        handover_point: slot.handover_point.clone(),
        transport_mode: code::<pb::TransportMode>(slot.transport_mode),
    }
}

fn event(event: &pb::ReadmissionEvent) -> common::Event {
    super::event::<pb::ReadmissionEventKind>(
        event.kind,
        event.sequence,
        &event.acting_state,
        event.occurred_at.as_ref(),
        (&event.signing_key_id, &event.signature),
    )
}

/// A step's answer: the case and the event it recorded.
pub fn step(
    readmission: Option<pb::ReadmissionCase>,
    recorded: Option<pb::ReadmissionEvent>,
) -> json::ReadmissionStep {
    json::ReadmissionStep {
        readmission: case(&readmission.unwrap_or_default()),
        event: event(&recorded.unwrap_or_default()),
    }
}

/// A page of cases.
pub fn page(response: pb::ListReadmissionsResponse) -> json::ReadmissionPage {
    json::ReadmissionPage {
        readmissions: response.readmissions.iter().map(case).collect(),
        next_page_token: non_empty(response.next_page_token),
    }
}
