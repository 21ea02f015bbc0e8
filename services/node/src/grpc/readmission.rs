//! `accord.v1.ReadmissionService`: the local API for this state's caseworkers (through its
//! gateway) and the event delivery its partners call.

use accord_domain::readmission::ReadmissionEventKind;
use accord_domain::{CaseRef, FreeText, StateCode, Timestamp};
use accord_proto::v1 as pb;
use accord_proto::v1::readmission_service_server::ReadmissionService;
use pb::readmission_event::Detail;
use prost::Message;
use tonic::{Request, Response, Status};

use super::{case_ref, idempotency_key, local_caller, partner_caller, respond, status};
use crate::app::readmission::{OpenReadmission, Step, StepOutcome};
use crate::app::{App, EventPage, EventPageRequest, Violations, request_digest};
use crate::convert::{self, readmission as convert_readmission};
use crate::store::{CaseFilter, CaseKind};

/// The service, over the node's use cases.
#[derive(Clone)]
pub struct ReadmissionApi {
    app: App,
}

impl ReadmissionApi {
    /// Serves `app`.
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

/// The fields every step request shares.
trait StepRequest: Message + Send + 'static {
    fn idempotency_key(&self) -> &str;
    fn case_ref(&self) -> &str;
}

macro_rules! step_messages {
    ($($request:ty => $response:ty),+ $(,)?) => {$(
        impl StepRequest for $request {
            fn idempotency_key(&self) -> &str {
                &self.idempotency_key
            }
            fn case_ref(&self) -> &str {
                &self.case_ref
            }
        }
        impl From<StepOutcome> for $response {
            fn from(outcome: StepOutcome) -> Self {
                Self { readmission: outcome.readmission, event: outcome.event }
            }
        }
    )+};
}

step_messages! {
    pb::StartExaminationRequest => pb::StartExaminationResponse,
    pb::DecideReadmissionRequest => pb::DecideReadmissionResponse,
    pb::RequestInformationRequest => pb::RequestInformationResponse,
    pb::ProvideInformationRequest => pb::ProvideInformationResponse,
    pb::RequestReExaminationRequest => pb::RequestReExaminationResponse,
    pb::DecideReExaminationRequest => pb::DecideReExaminationResponse,
    pb::CloseReadmissionRequest => pb::CloseReadmissionResponse,
    pb::IssueTransferDecisionRequest => pb::IssueTransferDecisionResponse,
    pb::PlaceLegalHoldRequest => pb::PlaceLegalHoldResponse,
    pb::ReleaseLegalHoldRequest => pb::ReleaseLegalHoldResponse,
    pb::ScheduleTransferRequest => pb::ScheduleTransferResponse,
    pb::PostponeTransferRequest => pb::PostponeTransferResponse,
    pb::ReportTransferRequest => pb::ReportTransferResponse,
    pb::ReportTransferFailedRequest => pb::ReportTransferFailedResponse,
    pb::ConfirmArrivalRequest => pb::ConfirmArrivalResponse,
    pb::ReportNoShowRequest => pb::ReportNoShowResponse,
    pb::WithdrawReadmissionRequest => pb::WithdrawReadmissionResponse,
}

impl From<EventPage<pb::ReadmissionEvent>> for pb::ListReadmissionEventsResponse {
    fn from(page: EventPage<pb::ReadmissionEvent>) -> Self {
        Self {
            events: page.events,
            next_page_token: page.next_page_token,
        }
    }
}

impl From<StepOutcome> for pb::OpenReadmissionResponse {
    fn from(outcome: StepOutcome) -> Self {
        Self {
            readmission: outcome.readmission,
            event: outcome.event,
        }
    }
}

/// What a step handler builds from its request: the domain step and the wire detail.
type Built = Option<(ReadmissionEventKind, Option<Detail>)>;

impl ReadmissionApi {
    /// The shared path of every caseworker step: authorize, validate, record.
    async fn step<Req, Resp>(
        &self,
        request: Request<Req>,
        operation: &'static str,
        build: impl FnOnce(&Req, &mut Violations, Timestamp) -> Built,
    ) -> Result<Response<Resp>, Status>
    where
        Req: StepRequest,
        Resp: From<StepOutcome>,
    {
        let full_name = format!("/accord.v1.ReadmissionService/{operation}");
        let caller = local_caller(&self.app, &request, &full_name)
            .await?
            .spiffe_id();
        let message = request.into_inner();
        let mut violations = Violations::new();
        let key = idempotency_key(&mut violations, message.idempotency_key());
        let case = case_ref(&mut violations, "case_ref", message.case_ref());
        let built = build(&message, &mut violations, self.app_now());
        violations.finish().map_err(status)?;
        let (Some(idempotency_key), Some(case_ref), Some((kind, detail))) = (key, case, built)
        else {
            return Err(status(crate::app::Error::invalid(
                "request",
                "is incomplete",
            )));
        };
        let step = Step {
            idempotency_key,
            request_digest: request_digest(operation, &message.encode_to_vec()),
            operation,
            case_ref,
            kind,
            detail,
        };
        let result = self
            .app
            .readmission_step(&caller, step)
            .await
            .map(Resp::from);
        respond(&self.app, &caller, &full_name, result).await
    }

    /// Authorizes and validates a history read: this node's gateway, or a partner node
    /// that is a party to the case. A refusal is audited. Returns the caller's SPIFFE id,
    /// the case and the page.
    async fn history_page(
        &self,
        request: Request<pb::ListReadmissionEventsRequest>,
        operation: &str,
    ) -> Result<(String, CaseRef, EventPageRequest), Status> {
        let caller = super::caller(&request)?;
        let allowed = self.app.authorize_local(&caller).is_ok()
            || self.app.authorize_partner(&caller).is_ok();
        if !allowed {
            let detail = format!("{} may not read this node's events", caller.spiffe_id());
            return Err(self.refuse(&caller, operation, detail).await);
        }
        let message = request.into_inner();
        let mut violations = Violations::new();
        let case = case_ref(&mut violations, "case_ref", &message.case_ref);
        let after_token = sequence_token(&mut violations, &message.page_token);
        violations.finish().map_err(status)?;
        let Some(case) = case else {
            return Err(status(crate::app::Error::invalid(
                "case_ref",
                "is required",
            )));
        };
        if let accord_trust::PeerIdentity::Node(partner) = caller
            && case.first_state() != partner
            && case.second_state() != partner
        {
            let detail = format!("{partner} is not a party to {case}");
            return Err(self.refuse(&caller, operation, detail).await);
        }
        let page = EventPageRequest {
            after_sequence: message.after_sequence.max(after_token.unwrap_or(0)),
            page_size: message.page_size,
        };
        Ok((caller.spiffe_id(), case, page))
    }

    /// Audits a permission refusal and answers `PERMISSION_DENIED`.
    async fn refuse(
        &self,
        caller: &accord_trust::PeerIdentity,
        operation: &str,
        detail: String,
    ) -> Status {
        self.app
            .audit_refusal(&caller.spiffe_id(), operation, "PERMISSION_DENIED", &detail)
            .await;
        status(crate::app::Error::PermissionDenied(detail))
    }

    fn app_now(&self) -> Timestamp {
        self.app.now()
    }
}

fn text(violations: &mut Violations, field: &str, value: &str) -> Option<FreeText> {
    if value.trim().is_empty() {
        violations.add(field, "is required");
        return None;
    }
    violations.check(field, FreeText::parse(value))
}

/// An optional free text: empty is fine, otherwise it must be valid text.
fn optional_text(violations: &mut Violations, field: &str, value: &str) {
    if !value.is_empty() {
        let _checked = violations.check(field, FreeText::parse(value));
    }
}

/// The longest note on a step (accord.v1: "up to 2,000 characters").
const NOTE_LENGTH_MAX_CHARS: usize = 2_000;

/// The longest reference: a document, decision, hold or hand-over point (1 to 128 characters).
const REFERENCE_LENGTH_MAX_CHARS: usize = 128;

/// The most evidence items one request carries.
const EVIDENCE_ITEMS_MAX: usize = 50;

/// An optional note: empty, or valid text of at most [`NOTE_LENGTH_MAX_CHARS`].
fn note(violations: &mut Violations, field: &str, value: &str) {
    if value.chars().count() > NOTE_LENGTH_MAX_CHARS {
        violations.add(
            field,
            format!("has more than {NOTE_LENGTH_MAX_CHARS} characters"),
        );
    } else {
        optional_text(violations, field, value);
    }
}

/// A reference of at most [`REFERENCE_LENGTH_MAX_CHARS`]; `required` refuses an empty one.
fn reference(violations: &mut Violations, field: &str, value: &str, required: bool) {
    if value.trim().is_empty() {
        if required {
            violations.add(field, "is required");
        }
    } else if value.chars().count() > REFERENCE_LENGTH_MAX_CHARS {
        violations.add(
            field,
            format!("has more than {REFERENCE_LENGTH_MAX_CHARS} characters"),
        );
    } else {
        optional_text(violations, field, value);
    }
}

/// A required instant that has already happened by this node's clock.
fn past_time(
    violations: &mut Violations,
    field: &str,
    time: Option<&prost_types::Timestamp>,
    now: Timestamp,
) {
    if let Some(time) = convert::required_time(violations, field, time)
        && time > now
    {
        violations.add(field, "must not be in the future");
    }
}

fn rejection(
    violations: &mut Violations,
    field: &str,
    rejection: &pb::ReadmissionRejection,
) -> (
    Vec<accord_domain::reason::ReadmissionReason>,
    Option<FreeText>,
) {
    let reasons = convert_readmission::reasons_from_wire(
        violations,
        &format!("{field}.reasons"),
        &rejection.reasons,
    );
    if rejection.reasons.is_empty() {
        violations.add(format!("{field}.reasons"), "needs at least one reason code");
    }
    let detailed = text(
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

fn slot(
    violations: &mut Violations,
    field: &str,
    slot: Option<&pb::TransferSlot>,
) -> Option<Timestamp> {
    let Some(slot) = slot else {
        violations.add(field, "is required");
        return None;
    };
    let start = convert::required_time(
        violations,
        &format!("{field}.start_time"),
        slot.start_time.as_ref(),
    );
    if let (Some(start), Some(end)) = (start, slot.end_time.as_ref())
        && let Some(end) =
            violations.check(&format!("{field}.end_time"), convert::from_wire_time(end))
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

fn known_enum<E: TryFrom<i32>>(
    violations: &mut Violations,
    field: &str,
    value: i32,
    required: bool,
) {
    match E::try_from(value) {
        Err(_) => violations.add(field, format!("{value} is not a known value")),
        Ok(_) if required && value == 0 => violations.add(field, "is required"),
        Ok(_) => {}
    }
}

#[tonic::async_trait]
impl ReadmissionService for ReadmissionApi {
    async fn open_readmission(
        &self,
        request: Request<pb::OpenReadmissionRequest>,
    ) -> Result<Response<pb::OpenReadmissionResponse>, Status> {
        const OPERATION: &str = "/accord.v1.ReadmissionService/OpenReadmission";
        let caller = local_caller(&self.app, &request, OPERATION)
            .await?
            .spiffe_id();
        let message = request.into_inner();
        let now = self.app.now();
        let mut violations = Violations::new();
        let key = idempotency_key(&mut violations, &message.idempotency_key);
        let requested =
            convert::required_state(&mut violations, "requested_state", &message.requested_state);
        if requested == Some(self.app.own_state()) {
            violations.add(
                "requested_state",
                "must be another state than the requesting state",
            );
        }
        let regime = convert::regime_from_wire(message.regime);
        if regime.is_none() {
            violations.add("regime", "is required (a known regime)");
        }
        let arrival = convert::required_time(
            &mut violations,
            "arrival_time",
            message.arrival_time.as_ref(),
        );
        if arrival.is_some_and(|arrival| arrival > now) {
            violations.add("arrival_time", "must not be in the future");
        }
        let _person =
            convert::person_from_wire(&mut violations, "person", message.person.as_ref(), now);
        evidence(&mut violations, "evidence", &message.evidence);
        optional_text(&mut violations, "notes", &message.notes);
        violations.finish().map_err(status)?;
        let (Some(idempotency_key), Some(requested), Some(regime), Some(arrival)) =
            (key, requested, regime, arrival)
        else {
            return Err(status(crate::app::Error::invalid(
                "request",
                "is incomplete",
            )));
        };
        let open = OpenReadmission {
            idempotency_key,
            request_digest: request_digest("OpenReadmission", &message.encode_to_vec()),
            requested,
            regime,
            arrival,
            track: convert_readmission::track(message.exceptional, message.detained),
            submission: pb::ReadmissionSubmission {
                requested_state: message.requested_state.clone(),
                regime: message.regime,
                arrival_time: message.arrival_time,
                exceptional: message.exceptional,
                detained: message.detained,
                person: message.person.clone(),
                evidence: message.evidence.clone(),
                notes: message.notes.clone(),
            },
        };
        let result = self
            .app
            .open_readmission(&caller, open)
            .await
            .map(pb::OpenReadmissionResponse::from);
        respond(&self.app, &caller, OPERATION, result).await
    }

    async fn start_examination(
        &self,
        request: Request<pb::StartExaminationRequest>,
    ) -> Result<Response<pb::StartExaminationResponse>, Status> {
        self.step(request, "StartExamination", |_, _, _| {
            Some((ReadmissionEventKind::ExaminationStarted, None))
        })
        .await
    }

    async fn decide_readmission(
        &self,
        request: Request<pb::DecideReadmissionRequest>,
    ) -> Result<Response<pb::DecideReadmissionResponse>, Status> {
        use pb::decide_readmission_request::Decision;
        self.step(
            request,
            "DecideReadmission",
            |message, violations, _| match &message.decision {
                Some(Decision::Accept(acceptance)) => {
                    note(violations, "accept.note", &acceptance.note);
                    Some((ReadmissionEventKind::Accepted, None))
                }
                Some(Decision::Reject(refusal)) => {
                    let (reasons, detailed_reasons) = rejection(violations, "reject", refusal);
                    Some((
                        ReadmissionEventKind::Rejected {
                            reasons,
                            detailed_reasons: detailed_reasons?,
                        },
                        Some(Detail::Rejected(refusal.clone())),
                    ))
                }
                None => {
                    violations.add("decision", "is required: accept or reject");
                    None
                }
            },
        )
        .await
    }

    async fn request_information(
        &self,
        request: Request<pb::RequestInformationRequest>,
    ) -> Result<Response<pb::RequestInformationResponse>, Status> {
        self.step(request, "RequestInformation", |message, violations, _| {
            let questions = text(violations, "questions", &message.questions)?;
            let detail = Detail::InformationRequested(pb::InformationRequest {
                questions: message.questions.clone(),
            });
            Some((
                ReadmissionEventKind::InformationRequested { questions },
                Some(detail),
            ))
        })
        .await
    }

    async fn provide_information(
        &self,
        request: Request<pb::ProvideInformationRequest>,
    ) -> Result<Response<pb::ProvideInformationResponse>, Status> {
        self.step(request, "ProvideInformation", |message, violations, now| {
            let answer = text(violations, "answers", &message.answers);
            evidence(violations, "evidence", &message.evidence);
            if message.corrected_person.is_some() {
                let _person = convert::person_from_wire(
                    violations,
                    "corrected_person",
                    message.corrected_person.as_ref(),
                    now,
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
        .await
    }

    async fn request_re_examination(
        &self,
        request: Request<pb::RequestReExaminationRequest>,
    ) -> Result<Response<pb::RequestReExaminationResponse>, Status> {
        self.step(request, "RequestReExamination", |message, violations, _| {
            let grounds = text(violations, "grounds", &message.grounds);
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
        .await
    }

    async fn decide_re_examination(
        &self,
        request: Request<pb::DecideReExaminationRequest>,
    ) -> Result<Response<pb::DecideReExaminationResponse>, Status> {
        use pb::decide_re_examination_request::Decision;
        self.step(
            request,
            "DecideReExamination",
            |message, violations, _| match &message.decision {
                Some(Decision::Accept(acceptance)) => {
                    note(violations, "accept.note", &acceptance.note);
                    Some((ReadmissionEventKind::AcceptedOnReExamination, None))
                }
                Some(Decision::Reject(refusal)) => {
                    let (reasons, detailed_reasons) = rejection(violations, "reject", refusal);
                    Some((
                        ReadmissionEventKind::RejectedFinal {
                            reasons,
                            detailed_reasons: detailed_reasons?,
                        },
                        Some(Detail::ReExaminationRejected(refusal.clone())),
                    ))
                }
                None => {
                    violations.add("decision", "is required: accept or reject");
                    None
                }
            },
        )
        .await
    }

    async fn close_readmission(
        &self,
        request: Request<pb::CloseReadmissionRequest>,
    ) -> Result<Response<pb::CloseReadmissionResponse>, Status> {
        self.step(request, "CloseReadmission", |_, _, _| {
            Some((ReadmissionEventKind::RejectionAccepted, None))
        })
        .await
    }

    async fn issue_transfer_decision(
        &self,
        request: Request<pb::IssueTransferDecisionRequest>,
    ) -> Result<Response<pb::IssueTransferDecisionResponse>, Status> {
        self.step(
            request,
            "IssueTransferDecision",
            |message, violations, now| {
                reference(
                    violations,
                    "decision_reference",
                    &message.decision_reference,
                    true,
                );
                past_time(violations, "notified_at", message.notified_at.as_ref(), now);
                let detail = Detail::TransferDecisionIssued(pb::TransferDecision {
                    decision_reference: message.decision_reference.clone(),
                    notified_at: message.notified_at,
                });
                Some((ReadmissionEventKind::TransferDecisionIssued, Some(detail)))
            },
        )
        .await
    }

    async fn place_legal_hold(
        &self,
        request: Request<pb::PlaceLegalHoldRequest>,
    ) -> Result<Response<pb::PlaceLegalHoldResponse>, Status> {
        self.step(request, "PlaceLegalHold", |message, violations, _| {
            reference(violations, "reference", &message.reference, false);
            note(violations, "note", &message.note);
            let Some(kind) = convert_readmission::hold_from_wire(message.kind) else {
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
        .await
    }

    async fn release_legal_hold(
        &self,
        request: Request<pb::ReleaseLegalHoldRequest>,
    ) -> Result<Response<pb::ReleaseLegalHoldResponse>, Status> {
        self.step(request, "ReleaseLegalHold", |message, violations, _| {
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
        .await
    }

    async fn schedule_transfer(
        &self,
        request: Request<pb::ScheduleTransferRequest>,
    ) -> Result<Response<pb::ScheduleTransferResponse>, Status> {
        self.step(request, "ScheduleTransfer", |message, violations, _| {
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
        .await
    }

    async fn postpone_transfer(
        &self,
        request: Request<pb::PostponeTransferRequest>,
    ) -> Result<Response<pb::PostponeTransferResponse>, Status> {
        self.step(request, "PostponeTransfer", |message, violations, _| {
            known_enum::<pb::TransferPostponementReason>(
                violations,
                "reason",
                message.reason,
                true,
            );
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
        .await
    }

    async fn report_transfer(
        &self,
        request: Request<pb::ReportTransferRequest>,
    ) -> Result<Response<pb::ReportTransferResponse>, Status> {
        self.step(request, "ReportTransfer", |message, violations, now| {
            past_time(
                violations,
                "handed_over_at",
                message.handed_over_at.as_ref(),
                now,
            );
            reference(violations, "handover_point", &message.handover_point, true);
            let detail = Detail::Transferred(pb::TransferHandover {
                handed_over_at: message.handed_over_at,
                handover_point: message.handover_point.clone(),
            });
            Some((ReadmissionEventKind::TransferExecuted, Some(detail)))
        })
        .await
    }

    async fn report_transfer_failed(
        &self,
        request: Request<pb::ReportTransferFailedRequest>,
    ) -> Result<Response<pb::ReportTransferFailedResponse>, Status> {
        self.step(request, "ReportTransferFailed", |message, violations, _| {
            known_enum::<pb::TransferFailureReason>(violations, "reason", message.reason, true);
            note(violations, "note", &message.note);
            let name = pb::TransferFailureReason::try_from(message.reason)
                .ok()?
                .as_str_name();
            let reason = violations.check("note", convert::coded_text(name, &message.note))?;
            let detail = Detail::TransferFailed(pb::TransferFailure {
                reason: message.reason,
                note: message.note.clone(),
            });
            Some((
                ReadmissionEventKind::TransferFailed { reason },
                Some(detail),
            ))
        })
        .await
    }

    async fn confirm_arrival(
        &self,
        request: Request<pb::ConfirmArrivalRequest>,
    ) -> Result<Response<pb::ConfirmArrivalResponse>, Status> {
        self.step(request, "ConfirmArrival", |message, violations, now| {
            past_time(violations, "arrived_at", message.arrived_at.as_ref(), now);
            let detail = Detail::ArrivalConfirmed(pb::ArrivalConfirmation {
                arrived_at: message.arrived_at,
            });
            Some((ReadmissionEventKind::ArrivalConfirmed, Some(detail)))
        })
        .await
    }

    async fn report_no_show(
        &self,
        request: Request<pb::ReportNoShowRequest>,
    ) -> Result<Response<pb::ReportNoShowResponse>, Status> {
        self.step(request, "ReportNoShow", |message, violations, _| {
            note(violations, "note", &message.note);
            Some((
                ReadmissionEventKind::NoShow,
                Some(Detail::NoShow(pb::NoShowReport {
                    note: message.note.clone(),
                })),
            ))
        })
        .await
    }

    async fn withdraw_readmission(
        &self,
        request: Request<pb::WithdrawReadmissionRequest>,
    ) -> Result<Response<pb::WithdrawReadmissionResponse>, Status> {
        self.step(request, "WithdrawReadmission", |message, violations, _| {
            known_enum::<pb::ReadmissionWithdrawalReason>(
                violations,
                "reason",
                message.reason,
                true,
            );
            note(violations, "note", &message.note);
            let name = pb::ReadmissionWithdrawalReason::try_from(message.reason)
                .ok()?
                .as_str_name();
            let reason = violations.check("note", convert::coded_text(name, &message.note))?;
            let detail = Detail::Withdrawn(pb::ReadmissionWithdrawal {
                reason: message.reason,
                note: message.note.clone(),
            });
            Some((ReadmissionEventKind::Withdrawn { reason }, Some(detail)))
        })
        .await
    }

    async fn get_readmission(
        &self,
        request: Request<pb::GetReadmissionRequest>,
    ) -> Result<Response<pb::GetReadmissionResponse>, Status> {
        const OPERATION: &str = "/accord.v1.ReadmissionService/GetReadmission";
        let caller = local_caller(&self.app, &request, OPERATION)
            .await?
            .spiffe_id();
        let mut violations = Violations::new();
        let case = case_ref(&mut violations, "case_ref", &request.get_ref().case_ref);
        violations.finish().map_err(status)?;
        let Some(case) = case else {
            return Err(status(crate::app::Error::invalid(
                "case_ref",
                "is required",
            )));
        };
        let result =
            self.app
                .get_readmission(&case)
                .await
                .map(|readmission| pb::GetReadmissionResponse {
                    readmission: Some(readmission),
                });
        respond(&self.app, &caller, OPERATION, result).await
    }

    async fn list_readmissions(
        &self,
        request: Request<pb::ListReadmissionsRequest>,
    ) -> Result<Response<pb::ListReadmissionsResponse>, Status> {
        const OPERATION: &str = "/accord.v1.ReadmissionService/ListReadmissions";
        let caller = local_caller(&self.app, &request, OPERATION)
            .await?
            .spiffe_id();
        let message = request.into_inner();
        let mut violations = Violations::new();
        let counterpart = if message.counterpart_state.is_empty() {
            None
        } else {
            convert::required_state(
                &mut violations,
                "counterpart_state",
                &message.counterpart_state,
            )
        };
        known_enum::<pb::ReadmissionRole>(&mut violations, "role", message.role, false);
        let mut statuses = Vec::new();
        for (index, value) in message.statuses.iter().enumerate() {
            match convert_readmission::status_from_wire(*value) {
                Some(status) => statuses.push(status),
                None => violations.add(
                    format!("statuses[{index}]"),
                    format!("{value} is not a known status"),
                ),
            }
        }
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
        let after = page_token(&mut violations, &message.page_token);
        violations.finish().map_err(status)?;
        let filter = CaseFilter {
            case_kind: CaseKind::Readmission,
            counterpart: counterpart.map(|state: StateCode| state.to_string()),
            status: statuses.first().map(|status| status.code().to_owned()),
        };
        let page_size = if message.page_size == 0 {
            50
        } else {
            message.page_size
        };
        let result = self
            .app
            .list_readmissions(&filter, after.as_deref(), page_size)
            .await
            .map(|(readmissions, next)| pb::ListReadmissionsResponse {
                readmissions,
                next_page_token: next.unwrap_or_default(),
            });
        respond(&self.app, &caller, OPERATION, result).await
    }

    async fn deliver_readmission_event(
        &self,
        request: Request<pb::DeliverReadmissionEventRequest>,
    ) -> Result<Response<pb::DeliverReadmissionEventResponse>, Status> {
        const OPERATION: &str = "/accord.v1.ReadmissionService/DeliverReadmissionEvent";
        let partner = partner_caller(&self.app, &request, OPERATION).await?;
        let Some(event) = request.into_inner().event else {
            return Err(status(crate::app::Error::invalid("event", "is required")));
        };
        let caller = format!("spiffe://accord/state/{partner}");
        let result = self.app.deliver_readmission_event(partner, event).await;
        respond(&self.app, &caller, OPERATION, result).await
    }

    async fn list_readmission_events(
        &self,
        request: Request<pb::ListReadmissionEventsRequest>,
    ) -> Result<Response<pb::ListReadmissionEventsResponse>, Status> {
        const OPERATION: &str = "/accord.v1.ReadmissionService/ListReadmissionEvents";
        let (caller, case, page) = self.history_page(request, OPERATION).await?;
        let result = self
            .app
            .readmission_events(&case, page)
            .await
            .map(From::from);
        respond(&self.app, &caller, OPERATION, result).await
    }
}

/// An event page token is the sequence of the previous page's last event.
fn sequence_token(violations: &mut Violations, token: &str) -> Option<u64> {
    if token.is_empty() {
        return None;
    }
    violations.check(
        "page_token",
        token
            .parse::<u64>()
            .map_err(|_| "is not a token this node issued"),
    )
}

/// The page token is the last case reference of the previous page.
fn page_token(violations: &mut Violations, token: &str) -> Option<String> {
    if token.is_empty() {
        return None;
    }
    violations
        .check("page_token", CaseRef::parse(token))
        .map(|case_ref| case_ref.to_string())
}
