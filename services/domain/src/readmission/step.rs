//! The steps of a readmission case, their payloads, and the transition table: which step
//! may be taken from which status, by whom, to which status.

use super::Error;
use super::status::ReadmissionStatus;
use crate::coded::{UnknownCode, coded_enum, event_kinds};
use crate::event::FreeText;
use crate::reason::{LegalHoldKind, ReadmissionReason};
use crate::regime::{ClockDuty, Party, Regime, ReplyTrack};
use crate::time::Timestamp;

coded_enum! {
    /// Why a case expired.
    pub enum ExpiryCause {
        /// The end-to-end limit from arrival passed (UK–FR: 3 months; reason `R09`).
        ProcedureTimeExhausted => "PROCEDURE_TIME_EXHAUSTED",
        /// The transfer limit from acceptance passed (Dublin III Art. 29, AMMR Art. 46).
        TransferTimeExhausted => "TRANSFER_TIME_EXHAUSTED",
    }
    all: array,
    unknown: Error = |text| UnknownCode::new("expiry cause", text).into(),
}

event_kinds! {
    /// What happened to a readmission case, with the data the step needs.
    pub enum ReadmissionEventKind;
    /// A step without its payload: what the transition table is keyed on.
    #[allow(missing_docs)] // each variant is the payload-free twin of the event kind of that name
    pub enum ReadmissionStep;
    unknown: Error = |text| UnknownCode::new("readmission event kind", text).into();
    {
        /// S sent the request (only through `ReadmissionCase::submit`).
        Submitted {
            /// The regime the case runs under.
            regime: Regime,
            /// When the person arrived in the requesting state.
            arrival: Timestamp,
            /// Which reply limit applies.
            track: ReplyTrack,
        } => "READMISSION_SUBMITTED",
        /// R's access point received the request; the time is the legal receipt time.
        Received => "READMISSION_RECEIVED",
        /// R started examining the request.
        ExaminationStarted => "READMISSION_EXAMINATION_STARTED",
        /// R asks S for more information.
        InformationRequested {
            /// What R needs to know.
            questions: FreeText,
        } => "READMISSION_INFORMATION_REQUESTED",
        /// S answers R's questions.
        InformationProvided {
            /// The answer.
            answer: FreeText,
        } => "READMISSION_INFORMATION_PROVIDED",
        /// R accepts.
        Accepted => "READMISSION_ACCEPTED",
        /// R's node records acceptance by default: the reply deadline passed in silence.
        AcceptedByDefault => "READMISSION_ACCEPTED_BY_DEFAULT",
        /// R rejects, with full and detailed reasons (1560/2003 Art. 5(1)).
        Rejected {
            /// At least one reason code, each at most once.
            reasons: Vec<ReadmissionReason>,
            /// The detailed reasons.
            detailed_reasons: FreeText,
        } => "READMISSION_REJECTED",
        /// S asks R to re-examine its rejection (1560/2003 Art. 5(2)).
        ReExaminationRequested {
            /// Why R should decide otherwise.
            grounds: FreeText,
        } => "READMISSION_RE_EXAMINATION_REQUESTED",
        /// R accepts on re-examination.
        AcceptedOnReExamination => "READMISSION_ACCEPTED_ON_RE_EXAMINATION",
        /// R rejects again on re-examination.
        RejectedFinal {
            /// At least one reason code, each at most once.
            reasons: Vec<ReadmissionReason>,
            /// The detailed reasons.
            detailed_reasons: FreeText,
        } => "READMISSION_REJECTED_FINAL",
        /// S's node records that R did not answer the re-examination in time.
        ReExaminationLapsed => "READMISSION_RE_EXAMINATION_LAPSED",
        /// S accepts the rejection without asking for a re-examination.
        RejectionAccepted => "READMISSION_REJECTION_ACCEPTED",
        /// S's node records that the re-examination window passed unused.
        RejectionClosed => "READMISSION_REJECTION_CLOSED",
        /// S decided to transfer the person.
        TransferDecisionIssued => "READMISSION_TRANSFER_DECISION_ISSUED",
        /// S records a legal hold on the transfer.
        LegalHoldPlaced {
            /// What holds the transfer.
            kind: LegalHoldKind,
        } => "READMISSION_LEGAL_HOLD_PLACED",
        /// S records that the hold has ended.
        LegalHoldReleased => "READMISSION_LEGAL_HOLD_RELEASED",
        /// S sets the transfer slot.
        TransferScheduled {
            /// When the hand-over will take place.
            slot: Timestamp,
        } => "READMISSION_TRANSFER_SCHEDULED",
        /// S moves the transfer to another slot.
        TransferPostponed {
            /// The new slot.
            slot: Timestamp,
        } => "READMISSION_TRANSFER_POSTPONED",
        /// S reports the hand-over.
        TransferExecuted => "READMISSION_TRANSFER_EXECUTED",
        /// S reports that the transfer did not take place.
        TransferFailed {
            /// What went wrong.
            reason: FreeText,
        } => "READMISSION_TRANSFER_FAILED",
        /// R confirms the person arrived.
        ArrivalConfirmed => "READMISSION_ARRIVAL_CONFIRMED",
        /// R reports that the person did not appear.
        NoShow => "READMISSION_NO_SHOW",
        /// S withdraws the request (e.g. an admissible asylum claim is now pending).
        Withdrawn {
            /// Why.
            reason: FreeText,
        } => "READMISSION_WITHDRAWN",
        /// The clock's owner records that a limit passed.
        Expired {
            /// Which limit.
            cause: ExpiryCause,
        } => "READMISSION_EXPIRED",
    }
}

impl ReadmissionStep {
    /// The deadline this step records, if it is a clock step.
    pub fn clock_duty(self) -> Option<ClockDuty> {
        match self {
            Self::AcceptedByDefault => Some(ClockDuty::AcceptanceByDefault),
            Self::RejectionClosed => Some(ClockDuty::RejectionClosure),
            Self::ReExaminationLapsed => Some(ClockDuty::ReExaminationLapse),
            Self::Expired => Some(ClockDuty::Expiry),
            _ => None,
        }
    }
}

/// Who may take a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Performer {
    /// The state in this role, acting as `Actor::State`.
    Party(Party),
    /// The node of the state the regime names for this deadline, acting as `Actor::Clock`,
    /// and only once the deadline has passed.
    Clock(ClockDuty),
}

/// One row of the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    /// Who may take the step.
    pub performer: Performer,
    /// The status the case moves to.
    pub to: ReadmissionStatus,
}

/// The transition table: the transition for `step` from `from`, or `None` if the step is not
/// allowed there. `Submitted` has no row: a case is created by `ReadmissionCase::submit`.
pub fn transition(from: ReadmissionStatus, step: ReadmissionStep) -> Option<Transition> {
    use ReadmissionStatus as Status;
    let requesting = Performer::Party(Party::Requesting);
    let requested = Performer::Party(Party::Requested);
    let clock = |duty| Performer::Clock(duty);
    let row = |performer, to| Some(Transition { performer, to });
    match step {
        // Steps that end a case from (almost) anywhere before the hand-over.
        ReadmissionStep::Withdrawn if can_be_withdrawn(from) => row(requesting, Status::Withdrawn),
        ReadmissionStep::Expired if can_expire(from) => {
            row(clock(ClockDuty::Expiry), Status::Expired)
        }
        _ => match (from, step) {
            (Status::Submitted, ReadmissionStep::Received) => row(requested, Status::Received),
            (Status::Received, ReadmissionStep::ExaminationStarted) => {
                row(requested, Status::UnderExamination)
            }
            (Status::InfoRequested, ReadmissionStep::InformationProvided) => {
                row(requesting, Status::UnderExamination)
            }
            (from, step) if is_reply_phase(from) => reply_step(from, step),
            (Status::Rejected, ReadmissionStep::ReExaminationRequested) => {
                row(requesting, Status::ReExaminationRequested)
            }
            (Status::Rejected, ReadmissionStep::RejectionAccepted) => {
                row(requesting, Status::ClosedRejected)
            }
            (Status::Rejected, ReadmissionStep::RejectionClosed) => {
                row(clock(ClockDuty::RejectionClosure), Status::ClosedRejected)
            }
            (Status::ReExaminationRequested, ReadmissionStep::AcceptedOnReExamination) => {
                row(requested, Status::Accepted)
            }
            (Status::ReExaminationRequested, ReadmissionStep::RejectedFinal) => {
                row(requested, Status::RejectedFinal)
            }
            (Status::ReExaminationRequested, ReadmissionStep::ReExaminationLapsed) => row(
                clock(ClockDuty::ReExaminationLapse),
                Status::ReExaminationLapsed,
            ),
            (from, step) => transfer_step(from, step),
        },
    }
}

/// Steps of the requested state's reply (from RECEIVED, UNDER_EXAMINATION, INFO_REQUESTED).
fn reply_step(from: ReadmissionStatus, step: ReadmissionStep) -> Option<Transition> {
    use ReadmissionStatus as Status;
    let requested = Performer::Party(Party::Requested);
    let (performer, to) = match step {
        ReadmissionStep::Accepted => (requested, Status::Accepted),
        ReadmissionStep::Rejected => (requested, Status::Rejected),
        ReadmissionStep::InformationRequested if from != Status::InfoRequested => {
            (requested, Status::InfoRequested)
        }
        ReadmissionStep::AcceptedByDefault => (
            Performer::Clock(ClockDuty::AcceptanceByDefault),
            Status::AcceptedByDefault,
        ),
        _ => return None,
    };
    Some(Transition { performer, to })
}

/// Steps of the transfer, all taken by the requesting state except the final confirmation.
fn transfer_step(from: ReadmissionStatus, step: ReadmissionStep) -> Option<Transition> {
    use ReadmissionStatus as Status;
    use ReadmissionStep as Step;
    let requesting = Performer::Party(Party::Requesting);
    let requested = Performer::Party(Party::Requested);
    let (performer, to) = match (from, step) {
        (Status::Accepted | Status::AcceptedByDefault, Step::TransferDecisionIssued) => {
            (requesting, Status::TransferDecisionIssued)
        }
        (
            Status::TransferDecisionIssued | Status::TransferScheduled | Status::TransferFailed,
            Step::LegalHoldPlaced,
        ) => (requesting, Status::LegalHold),
        (Status::LegalHold, Step::LegalHoldReleased) => {
            (requesting, Status::TransferDecisionIssued)
        }
        (Status::TransferDecisionIssued | Status::TransferFailed, Step::TransferScheduled) => {
            (requesting, Status::TransferScheduled)
        }
        (Status::TransferScheduled, Step::TransferPostponed) => {
            (requesting, Status::TransferScheduled)
        }
        (Status::TransferScheduled, Step::TransferExecuted) => (requesting, Status::Transferred),
        (Status::TransferScheduled, Step::TransferFailed) => (requesting, Status::TransferFailed),
        (Status::Transferred, Step::ArrivalConfirmed) => (requested, Status::ArrivalConfirmed),
        (Status::Transferred, Step::NoShow) => (requested, Status::NoShow),
        _ => return None,
    };
    Some(Transition { performer, to })
}

fn is_reply_phase(status: ReadmissionStatus) -> bool {
    matches!(
        status,
        ReadmissionStatus::Received
            | ReadmissionStatus::UnderExamination
            | ReadmissionStatus::InfoRequested
    )
}

/// Withdrawal is possible until the hand-over, except once a rejection has been given (the
/// rejection closes the case instead).
fn can_be_withdrawn(status: ReadmissionStatus) -> bool {
    !status.is_terminal()
        && !matches!(
            status,
            ReadmissionStatus::Rejected | ReadmissionStatus::Transferred
        )
}

/// Every non-terminal status can expire, except after the hand-over (the person has moved)
/// and under a legal hold (the clocks are paused or stopped).
fn can_expire(status: ReadmissionStatus) -> bool {
    !status.is_terminal()
        && !matches!(
            status,
            ReadmissionStatus::Transferred | ReadmissionStatus::LegalHold
        )
}
