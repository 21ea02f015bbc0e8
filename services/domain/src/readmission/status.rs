//! The statuses a readmission case moves through (DESIGN.md §3, DOMAIN.md).

use std::fmt;

use super::Error;

/// Where a readmission case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReadmissionStatus {
    /// Sent by the requesting state; not yet received by the requested state.
    Submitted,
    /// Received by the requested state; its receipt time started the reply clock.
    Received,
    /// The requested state is examining the request.
    UnderExamination,
    /// The requested state asked the requesting state for more information.
    InfoRequested,
    /// Accepted explicitly.
    Accepted,
    /// Accepted because the reply deadline passed in silence (where silence means acceptance).
    AcceptedByDefault,
    /// Rejected with reasons; the requesting state may ask for a re-examination.
    Rejected,
    /// The requesting state asked for a re-examination of the rejection.
    ReExaminationRequested,
    /// Rejected again on re-examination. Terminal.
    RejectedFinal,
    /// The re-examination was not answered in time: the procedure ends and the requesting
    /// state stays responsible (CJEU C-47/17). Terminal.
    ReExaminationLapsed,
    /// The rejection stands: accepted by the requesting state or unchallenged. Terminal.
    ClosedRejected,
    /// The requesting state decided to transfer the person.
    TransferDecisionIssued,
    /// A court order, appeal, claim or medical reason holds the transfer.
    LegalHold,
    /// A transfer slot is set.
    TransferScheduled,
    /// The requesting state handed the person over.
    Transferred,
    /// The transfer did not take place; it may be scheduled again.
    TransferFailed,
    /// The requested state confirmed the person's arrival: the return counts. Terminal.
    ArrivalConfirmed,
    /// The requested state reports the person did not appear. Terminal.
    NoShow,
    /// The requesting state withdrew the request before the transfer. Terminal.
    Withdrawn,
    /// The end-to-end or the transfer limit passed. Terminal.
    Expired,
}

impl ReadmissionStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [ReadmissionStatus; 20] = [
        Self::Submitted,
        Self::Received,
        Self::UnderExamination,
        Self::InfoRequested,
        Self::Accepted,
        Self::AcceptedByDefault,
        Self::Rejected,
        Self::ReExaminationRequested,
        Self::RejectedFinal,
        Self::ReExaminationLapsed,
        Self::ClosedRejected,
        Self::TransferDecisionIssued,
        Self::LegalHold,
        Self::TransferScheduled,
        Self::Transferred,
        Self::TransferFailed,
        Self::ArrivalConfirmed,
        Self::NoShow,
        Self::Withdrawn,
        Self::Expired,
    ];

    /// The stable code, e.g. `ACCEPTED_BY_DEFAULT`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Received => "RECEIVED",
            Self::UnderExamination => "UNDER_EXAMINATION",
            Self::InfoRequested => "INFO_REQUESTED",
            Self::Accepted => "ACCEPTED",
            Self::AcceptedByDefault => "ACCEPTED_BY_DEFAULT",
            Self::Rejected => "REJECTED",
            Self::ReExaminationRequested => "RE_EXAMINATION_REQUESTED",
            Self::RejectedFinal => "REJECTED_FINAL",
            Self::ReExaminationLapsed => "RE_EXAMINATION_LAPSED",
            Self::ClosedRejected => "CLOSED_REJECTED",
            Self::TransferDecisionIssued => "TRANSFER_DECISION_ISSUED",
            Self::LegalHold => "LEGAL_HOLD",
            Self::TransferScheduled => "TRANSFER_SCHEDULED",
            Self::Transferred => "TRANSFERRED",
            Self::TransferFailed => "TRANSFER_FAILED",
            Self::ArrivalConfirmed => "ARRIVAL_CONFIRMED",
            Self::NoShow => "NO_SHOW",
            Self::Withdrawn => "WITHDRAWN",
            Self::Expired => "EXPIRED",
        }
    }

    /// Parses a stable code.
    pub fn parse(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|status| status.code() == text)
            .ok_or_else(|| Error::UnknownCode {
                list: "readmission status",
                text: text.to_owned(),
            })
    }

    /// Whether no step can leave this status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::RejectedFinal
                | Self::ReExaminationLapsed
                | Self::ClosedRejected
                | Self::ArrivalConfirmed
                | Self::NoShow
                | Self::Withdrawn
                | Self::Expired
        )
    }

    /// Whether the case counts as a confirmed return in the ledger (DESIGN.md §3: only
    /// confirmed cases move the ledger).
    pub fn is_counted(self) -> bool {
        self == Self::ArrivalConfirmed
    }
}

impl fmt::Display for ReadmissionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
