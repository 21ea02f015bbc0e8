//! Builders shared by the tests: states, instants, and readmission cases driven to any status
//! through the public API.

use accord_domain::admission;
use accord_domain::deadline;
use accord_domain::membership;
use accord_domain::readmission::{
    self, ExpiryCause, ReadmissionCase, ReadmissionEventKind, ReadmissionStatus, ReadmissionStep,
};
use accord_domain::reason::{LegalHoldKind, ReadmissionReason};
use accord_domain::{
    Actor, CaseRef, FreeText, Lifecycle, Period, ReasonsRefusal, RegimeProfile, ReplayError,
    ReplyTrack, StateCode, StepRefusal, Timestamp,
};

pub fn state(code: &str) -> StateCode {
    StateCode::parse(code).unwrap()
}

pub fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

pub fn text(text: &str) -> FreeText {
    FreeText::parse(text).unwrap()
}

/// The requesting state of every test case.
pub fn britain() -> StateCode {
    state("GB")
}

/// The requested state of every test case.
pub fn france() -> StateCode {
    state("FR")
}

/// A state that is party to no test case.
pub fn germany() -> StateCode {
    state("DE")
}

pub fn gb() -> Actor {
    Actor::State(britain())
}

pub fn fr() -> Actor {
    Actor::State(france())
}

/// A Monday morning; the person's arrival in the UK in most tests.
pub fn arrival() -> Timestamp {
    at("2025-09-01T08:00:00Z")
}

pub fn readmission_ref() -> CaseRef {
    CaseRef::parse("RDM-GB-FR-7Q2K").unwrap()
}

pub fn hours(count: u32) -> i64 {
    i64::from(count) * 3_600_000
}

/// A case submitted one day after arrival.
pub fn submitted(profile: &RegimeProfile, track: ReplyTrack) -> ReadmissionCase {
    let now = arrival().plus(Period::CalendarDays(1));
    ReadmissionCase::submit(readmission_ref(), profile.clone(), arrival(), track, now)
        .unwrap()
        .0
}

/// Takes a step one hour after the case's last event, and expects it to succeed.
pub fn step(case: &ReadmissionCase, actor: Actor, kind: ReadmissionEventKind) -> ReadmissionCase {
    let now = case.last_event_at().plus_millis(hours(1));
    case.apply(actor, &kind, now)
        .unwrap_or_else(|error| panic!("driving the case: {error}"))
}

/// The first instant at which a deadline event is due, and that event.
pub fn next_due(case: &ReadmissionCase) -> Option<(Timestamp, deadline::DueEvent)> {
    let deadlines = deadline::deadlines(case);
    let mut instants: Vec<Timestamp> = [
        deadlines.reply,
        deadlines.re_examination_request,
        deadlines.re_examination_reply,
        deadlines.transfer,
        deadlines.procedure,
    ]
    .into_iter()
    .flatten()
    .filter_map(|deadline| match deadline {
        deadline::Deadline::At(instant) => Some(instant.plus_millis(1)),
        deadline::Deadline::Suspended => None,
    })
    .collect();
    instants.sort();
    instants
        .into_iter()
        .find_map(|now| deadline::due(case, now).map(|due| (now, due)))
}

/// Records the next due deadline event, which must be of the given step.
pub fn lapse(case: &ReadmissionCase, expected: ReadmissionStep) -> Option<ReadmissionCase> {
    let (now, due) = next_due(case)?;
    if due.kind.step() != expected {
        return None;
    }
    Some(case.apply(due.actor, &due.kind, now).unwrap())
}

pub fn rejection() -> ReadmissionEventKind {
    ReadmissionEventKind::Rejected {
        reasons: vec![ReadmissionReason::NoProofOfStayOrTransit],
        detailed_reasons: text("No evidence of stay in or transit through France."),
    }
}

/// A case in `status` under `profile`, reached through the public API, or `None` if the
/// profile's rules make the status unreachable (e.g. acceptance by default where silence
/// means nothing).
pub fn case_in(profile: &RegimeProfile, status: ReadmissionStatus) -> Option<ReadmissionCase> {
    use ReadmissionEventKind as Kind;
    use ReadmissionStatus as Status;
    let from = |status| case_in(profile, status);
    let case = match status {
        Status::Submitted => submitted(profile, ReplyTrack::Standard),
        Status::Received => step(&from(Status::Submitted)?, fr(), Kind::Received),
        Status::UnderExamination => step(&from(Status::Received)?, fr(), Kind::ExaminationStarted),
        Status::InfoRequested => step(
            &from(Status::UnderExamination)?,
            fr(),
            Kind::InformationRequested {
                questions: text("Which crossing point?"),
            },
        ),
        Status::Accepted => step(&from(Status::UnderExamination)?, fr(), Kind::Accepted),
        Status::AcceptedByDefault => {
            lapse(&from(Status::Received)?, ReadmissionStep::AcceptedByDefault)?
        }
        Status::Rejected => step(&from(Status::UnderExamination)?, fr(), rejection()),
        Status::ReExaminationRequested => step(
            &from(Status::Rejected)?,
            gb(),
            Kind::ReExaminationRequested {
                grounds: text("Eurodac hit attached."),
            },
        ),
        Status::RejectedFinal => step(
            &from(Status::ReExaminationRequested)?,
            fr(),
            Kind::RejectedFinal {
                reasons: vec![ReadmissionReason::InsufficientEvidence],
                detailed_reasons: text("The hit does not match."),
            },
        ),
        Status::ReExaminationLapsed => lapse(
            &from(Status::ReExaminationRequested)?,
            ReadmissionStep::ReExaminationLapsed,
        )?,
        Status::ClosedRejected => step(&from(Status::Rejected)?, gb(), Kind::RejectionAccepted),
        Status::TransferDecisionIssued => {
            step(&from(Status::Accepted)?, gb(), Kind::TransferDecisionIssued)
        }
        Status::LegalHold => step(
            &from(Status::TransferDecisionIssued)?,
            gb(),
            Kind::LegalHoldPlaced {
                kind: LegalHoldKind::CourtOrder,
            },
        ),
        Status::TransferScheduled => {
            let decided = from(Status::TransferDecisionIssued)?;
            let slot = decided.last_event_at().plus(Period::CalendarDays(7));
            step(&decided, gb(), Kind::TransferScheduled { slot })
        }
        Status::Transferred => {
            let scheduled = from(Status::TransferScheduled)?;
            let slot = scheduled.transfer_slot()?;
            scheduled
                .apply(gb(), &Kind::TransferExecuted, slot)
                .unwrap()
        }
        Status::TransferFailed => step(
            &from(Status::TransferScheduled)?,
            gb(),
            Kind::TransferFailed {
                reason: text("Flight cancelled."),
            },
        ),
        Status::ArrivalConfirmed => step(&from(Status::Transferred)?, fr(), Kind::ArrivalConfirmed),
        Status::NoShow => step(&from(Status::Transferred)?, fr(), Kind::NoShow),
        Status::Withdrawn => step(
            &from(Status::Submitted)?,
            gb(),
            Kind::Withdrawn {
                reason: text("Admissible asylum claim lodged."),
            },
        ),
        Status::Expired => lapse(
            &from(Status::TransferDecisionIssued)?,
            ReadmissionStep::Expired,
        )?,
    };
    assert_eq!(case.status(), status, "builder reached the wrong status");
    Some(case)
}

/// A valid example of `step`'s event for `case` at `now` (refusals then come from the status,
/// the actor or the time, not from the payload).
pub fn sample_kind(
    step: ReadmissionStep,
    case: &ReadmissionCase,
    now: Timestamp,
) -> ReadmissionEventKind {
    use ReadmissionEventKind as Kind;
    use ReadmissionStep as Step;
    match step {
        Step::Submitted => Kind::Submitted {
            regime: case.profile().regime,
            arrival: case.arrival(),
            track: case.track(),
        },
        Step::Received => Kind::Received,
        Step::ExaminationStarted => Kind::ExaminationStarted,
        Step::InformationRequested => Kind::InformationRequested {
            questions: text("Which crossing point?"),
        },
        Step::InformationProvided => Kind::InformationProvided {
            answer: text("Calais."),
        },
        Step::Accepted => Kind::Accepted,
        Step::AcceptedByDefault => Kind::AcceptedByDefault,
        Step::Rejected => rejection(),
        Step::ReExaminationRequested => Kind::ReExaminationRequested {
            grounds: text("New evidence."),
        },
        Step::AcceptedOnReExamination => Kind::AcceptedOnReExamination,
        Step::RejectedFinal => Kind::RejectedFinal {
            reasons: vec![ReadmissionReason::InsufficientEvidence],
            detailed_reasons: text("Still insufficient."),
        },
        Step::ReExaminationLapsed => Kind::ReExaminationLapsed,
        Step::RejectionAccepted => Kind::RejectionAccepted,
        Step::RejectionClosed => Kind::RejectionClosed,
        Step::TransferDecisionIssued => Kind::TransferDecisionIssued,
        Step::LegalHoldPlaced => Kind::LegalHoldPlaced {
            kind: LegalHoldKind::SuspensiveAppeal,
        },
        Step::LegalHoldReleased => Kind::LegalHoldReleased,
        Step::TransferScheduled => Kind::TransferScheduled {
            slot: now.plus(Period::CalendarDays(7)),
        },
        Step::TransferPostponed => Kind::TransferPostponed {
            slot: now.plus(Period::CalendarDays(8)),
        },
        Step::TransferExecuted => Kind::TransferExecuted,
        Step::TransferFailed => Kind::TransferFailed {
            reason: text("Flight cancelled."),
        },
        Step::ArrivalConfirmed => Kind::ArrivalConfirmed,
        Step::NoShow => Kind::NoShow,
        Step::Withdrawn => Kind::Withdrawn {
            reason: text("Claim lodged."),
        },
        Step::Expired => match deadline::due(case, now).map(|due| due.kind) {
            Some(kind @ Kind::Expired { .. }) => kind,
            _ => Kind::Expired {
                cause: ExpiryCause::ProcedureTimeExhausted,
            },
        },
    }
}

/// When to attempt `step` on `case`: for a deadline step, the first instant it is due (if it
/// ever is); for a hand-over, its slot; otherwise one hour after the last event.
pub fn attempt_time(case: &ReadmissionCase, step: ReadmissionStep) -> Timestamp {
    let soon = case.last_event_at().plus_millis(hours(1));
    if step.clock_duty().is_some() {
        if let Some((now, due)) = next_due(case)
            && due.kind.step() == step
        {
            return now;
        }
        return soon;
    }
    match (step, case.transfer_slot()) {
        (ReadmissionStep::TransferExecuted, Some(slot)) => slot.max(soon),
        _ => soon,
    }
}

/// The name of an error variant, for table-driven expectations.
pub fn error_name(error: &readmission::Error) -> &'static str {
    use readmission::Error as E;
    match error {
        E::UnknownCode { .. } => "UnknownCode",
        E::WrongCaseKind { .. } => "WrongCaseKind",
        E::ArrivalAfterSubmission { .. } => "ArrivalAfterSubmission",
        E::RequestOutOfTime { .. } => "RequestOutOfTime",
        E::Step(refusal) => step_refusal_name(refusal),
        E::NotDue { .. } => "NotDue",
        E::DeadlinePassed { .. } => "DeadlinePassed",
        E::Reasons(refusal) => reasons_refusal_name(refusal),
        E::ParityRefusalNotAllowed { .. } => "ParityRefusalNotAllowed",
        E::SlotTooSoon { .. } => "SlotTooSoon",
        E::SlotAfterDeadline { .. } => "SlotAfterDeadline",
        E::TransferBeforeSlot { .. } => "TransferBeforeSlot",
        E::RegimeMismatch { .. } => "RegimeMismatch",
        E::Replay(ReplayError::ReplayStart) => "ReplayStart",
        E::Replay(ReplayError::ReplayOrder { .. }) => "ReplayOrder",
    }
}

/// The name of a refusal of the checks every step of a two-party case passes first.
pub fn step_refusal_name<Status, Step>(refusal: &StepRefusal<Status, Step>) -> &'static str {
    match refusal {
        StepRefusal::NotAParty { .. } => "NotAParty",
        StepRefusal::StepNotAllowed { .. } => "StepNotAllowed",
        StepRefusal::WrongActor { .. } => "WrongActor",
        StepRefusal::TimeWentBackwards { .. } => "TimeWentBackwards",
    }
}

/// The name of a refusal of the codes a refusal step gives.
pub fn reasons_refusal_name<Status, Step, Reason>(
    refusal: &ReasonsRefusal<Status, Step, Reason>,
) -> &'static str {
    match refusal {
        ReasonsRefusal::NoReasons { .. } => "NoReasons",
        ReasonsRefusal::DuplicateReason { .. } => "DuplicateReason",
    }
}

/// The name of an admission case's refusal, for tables of expected outcomes.
pub fn admission_error_name(error: &admission::Error) -> &'static str {
    use admission::Error as E;
    match error {
        E::UnknownCode { .. } => "UnknownCode",
        E::WrongCaseRef { .. } => "WrongCaseRef",
        E::RegimeMismatch { .. } => "RegimeMismatch",
        E::Offer(_) => "Offer",
        E::Step(refusal) => step_refusal_name(refusal),
        E::NotDue { .. } => "NotDue",
        E::DeadlinePassed { .. } => "DeadlinePassed",
        E::Reasons(refusal) => reasons_refusal_name(refusal),
        E::ConfirmationNotRequired { .. } => "ConfirmationNotRequired",
        E::Replay(ReplayError::ReplayStart) => "ReplayStart",
        E::Replay(ReplayError::ReplayOrder { .. }) => "ReplayOrder",
    }
}

/// The name of a membership refusal, for tables of expected outcomes.
pub fn membership_error_name(error: &membership::Error) -> &'static str {
    use membership::Error as E;
    match error {
        E::UnknownCode { .. } => "UnknownCode",
        E::InvalidEndpoint { .. } => "InvalidEndpoint",
        E::InvalidTokenId { .. } => "InvalidTokenId",
        E::ExpiryNotAfterIssue { .. } => "ExpiryNotAfterIssue",
        E::ExpiryTooFar { .. } => "ExpiryTooFar",
        E::TooManyApprovalsRequired { .. } => "TooManyApprovalsRequired",
        E::TimeWentBackwards { .. } => "TimeWentBackwards",
        E::AlreadyApproved { .. } => "AlreadyApproved",
        E::NotAwaitingApprovals { .. } => "NotAwaitingApprovals",
        E::CandidateCannotApprove { .. } => "CandidateCannotApprove",
        E::ApproverNotActive { .. } => "ApproverNotActive",
        E::NotCancellable { .. } => "NotCancellable",
        E::TokenUsed { .. } => "TokenUsed",
        E::TokenCancelled { .. } => "TokenCancelled",
        E::TokenExpired { .. } => "TokenExpired",
        E::WrongState { .. } => "WrongState",
        E::AwaitingApprovals { .. } => "AwaitingApprovals",
        E::SameState { .. } => "SameState",
        E::NoRegimes => "NoRegimes",
        E::RepeatedRegime { .. } => "RepeatedRegime",
        E::SunsetNotAfterStart { .. } => "SunsetNotAfterStart",
        E::AlreadyMember { .. } => "AlreadyMember",
        E::NotAMember { .. } => "NotAMember",
        E::MemberRevoked { .. } => "MemberRevoked",
        E::NewMemberNotActive { .. } => "NewMemberNotActive",
        E::NoNodeCertificate { .. } => "NoNodeCertificate",
        E::NoActiveSigningKey { .. } => "NoActiveSigningKey",
        E::IllegalStatusChange { .. } => "IllegalStatusChange",
        E::ReasonNotAllowed { .. } => "ReasonNotAllowed",
        E::OverlappingAgreement { .. } => "OverlappingAgreement",
        E::DuplicateSigningKey { .. } => "DuplicateSigningKey",
        E::NewKeyNotActive { .. } => "NewKeyNotActive",
        E::ActiveKeyWithEnd { .. } => "ActiveKeyWithEnd",
        E::KeyValidFromPast { .. } => "KeyValidFromPast",
        E::UnknownSigningKey { .. } => "UnknownSigningKey",
        E::SigningKeyNotActive { .. } => "SigningKeyNotActive",
        E::LastActiveKey { .. } => "LastActiveKey",
    }
}
