//! The statuses a readmission case moves through (DESIGN.md §3, DOMAIN.md).

use super::Error;
use crate::coded::{UnknownCode, coded_enum};

coded_enum! {
    /// Where a readmission case stands.
    pub enum ReadmissionStatus {
        /// Sent by the requesting state; not yet received by the requested state.
        Submitted => "SUBMITTED",
        /// Received by the requested state; its receipt time started the reply clock.
        Received => "RECEIVED",
        /// The requested state is examining the request.
        UnderExamination => "UNDER_EXAMINATION",
        /// The requested state asked the requesting state for more information.
        InfoRequested => "INFO_REQUESTED",
        /// Accepted explicitly.
        Accepted => "ACCEPTED",
        /// Accepted because the reply deadline passed in silence (where silence means acceptance).
        AcceptedByDefault => "ACCEPTED_BY_DEFAULT",
        /// Rejected with reasons; the requesting state may ask for a re-examination.
        Rejected => "REJECTED",
        /// The requesting state asked for a re-examination of the rejection.
        ReExaminationRequested => "RE_EXAMINATION_REQUESTED",
        /// Rejected again on re-examination. Terminal.
        RejectedFinal => "REJECTED_FINAL",
        /// The re-examination was not answered in time: the procedure ends and the requesting
        /// state stays responsible (CJEU C-47/17). Terminal.
        ReExaminationLapsed => "RE_EXAMINATION_LAPSED",
        /// The rejection stands: accepted by the requesting state or unchallenged. Terminal.
        ClosedRejected => "CLOSED_REJECTED",
        /// The requesting state decided to transfer the person.
        TransferDecisionIssued => "TRANSFER_DECISION_ISSUED",
        /// A court order, appeal, claim or medical reason holds the transfer.
        LegalHold => "LEGAL_HOLD",
        /// A transfer slot is set.
        TransferScheduled => "TRANSFER_SCHEDULED",
        /// The requesting state handed the person over.
        Transferred => "TRANSFERRED",
        /// The transfer did not take place; it may be scheduled again.
        TransferFailed => "TRANSFER_FAILED",
        /// The requested state confirmed the person's arrival: the return counts. Terminal.
        ArrivalConfirmed => "ARRIVAL_CONFIRMED",
        /// The requested state reports the person did not appear. Terminal.
        NoShow => "NO_SHOW",
        /// The requesting state withdrew the request before the transfer. Terminal.
        Withdrawn => "WITHDRAWN",
        /// The end-to-end or the transfer limit passed. Terminal.
        Expired => "EXPIRED",
    }
    all: array,
    unknown: Error = |text| UnknownCode::new("readmission status", text).into(),
}

impl ReadmissionStatus {
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
