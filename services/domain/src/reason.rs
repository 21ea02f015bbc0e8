//! The coded reasons of the scheme: why a readmission is refused, why an admission is refused,
//! what legal hold stops a transfer, why an offer is paused (DOMAIN.md).
//!
//! Every code is a stable ASCII string that travels on the wire, in storage and in signed
//! bytes; the Rust names may change, the codes may not. Parsing is exact (upper case).
//! This module only names reasons; which reason a regime allows is decided by the
//! lifecycles and the regime profile.

use crate::coded::{UnknownCode, coded_enum};

coded_enum! {
    /// Why a requested state refuses a readmission (DOMAIN.md, "Reason codes"). The code is
    /// `R01`…`R16`; [`ReadmissionReason::name`] gives the descriptive name.
    pub enum ReadmissionReason {
        /// R01: an unaccompanied minor is outside the scope (UK–FR Art. 4).
        UnaccompaniedMinor => "R01",
        /// R02: an admissible asylum claim is pending (UK–FR Art. 4).
        AdmissibleProtectionClaim => "R02",
        /// R03: an admissible human-rights claim is pending (UK–FR Art. 4).
        AdmissibleHumanRightsClaim => "R03",
        /// R04: an appeal with suspensive effect is pending (UK–FR Art. 4; Dublin III).
        SuspensiveAppealPending => "R04",
        /// R05: a court order bars the transfer (UK–FR Art. 4).
        CourtOrderBarsTransfer => "R05",
        /// R06: no proof of stay in or transit through the requested state, or only its
        /// transit zone (UK–FR Arts 4, 7; Dublin evidence lists).
        NoProofOfStayOrTransit => "R06",
        /// R07: public order or security, the requested state's reservation (UK–FR Art. 4).
        PublicOrderOrSecurity => "R07",
        /// R08: the request came after the regime's request window (UK–FR 14 days after
        /// arrival; Dublin III Arts 21/23; AMMR Art. 39).
        RequestOutOfTime => "R08",
        /// R09: the procedure's end-to-end time is exhausted (UK–FR Art. 1(1)).
        ProcedureTimeExhausted => "R09",
        /// R10: the numbers are out of balance (UK–FR Arts 1(3), 4); only where the regime
        /// allows a parity refusal.
        ParityImbalance => "R10",
        /// R11: insufficient evidence (Dublin/AMMR lists of proof and circumstantial evidence).
        InsufficientEvidence => "R11",
        /// R12: not responsible under the criteria (Dublin III; AMMR Art. 41(3)).
        NotResponsibleUnderCriteria => "R12",
        /// R13: identity not established.
        IdentityNotEstablished => "R13",
        /// R14: a duplicate request, or the person was already transferred.
        DuplicateOrAlreadyTransferred => "R14",
        /// R15: out-of-scope nationality: an EU/EEA citizen or family member (UK–FR Art. 12
        /// by analogy).
        OutOfScopeNationality => "R15",
        /// R16: fitness to travel not confirmed (1560/2003 Annex VI health data).
        FitToTravelNotConfirmed => "R16",
    }
    all: slice,
    unknown: UnknownCode = |text| UnknownCode::new("readmission reason", text),
}

impl ReadmissionReason {
    /// The descriptive name, e.g. `UNACCOMPANIED_MINOR` for `R01`.
    pub fn name(self) -> &'static str {
        match self {
            Self::UnaccompaniedMinor => "UNACCOMPANIED_MINOR",
            Self::AdmissibleProtectionClaim => "ADMISSIBLE_PROTECTION_CLAIM",
            Self::AdmissibleHumanRightsClaim => "ADMISSIBLE_HUMAN_RIGHTS_CLAIM",
            Self::SuspensiveAppealPending => "SUSPENSIVE_APPEAL_PENDING",
            Self::CourtOrderBarsTransfer => "COURT_ORDER_BARS_TRANSFER",
            Self::NoProofOfStayOrTransit => "NO_PROOF_OF_STAY_OR_TRANSIT",
            Self::PublicOrderOrSecurity => "PUBLIC_ORDER_OR_SECURITY",
            Self::RequestOutOfTime => "REQUEST_OUT_OF_TIME",
            Self::ProcedureTimeExhausted => "PROCEDURE_TIME_EXHAUSTED",
            Self::ParityImbalance => "PARITY_IMBALANCE",
            Self::InsufficientEvidence => "INSUFFICIENT_EVIDENCE",
            Self::NotResponsibleUnderCriteria => "NOT_RESPONSIBLE_UNDER_CRITERIA",
            Self::IdentityNotEstablished => "IDENTITY_NOT_ESTABLISHED",
            Self::DuplicateOrAlreadyTransferred => "DUPLICATE_OR_ALREADY_TRANSFERRED",
            Self::OutOfScopeNationality => "OUT_OF_SCOPE_NATIONALITY",
            Self::FitToTravelNotConfirmed => "FIT_TO_TRAVEL_NOT_CONFIRMED",
        }
    }

    /// Parses a descriptive name, e.g. `PARITY_IMBALANCE`.
    pub fn parse_name(text: &str) -> Result<Self, UnknownCode> {
        Self::ALL
            .iter()
            .copied()
            .find(|reason| reason.name() == text)
            .ok_or_else(|| UnknownCode::new("readmission reason name", text.to_owned()))
    }
}

coded_enum! {
    /// Why an admitting state refuses to admit a nominated person (DOMAIN.md, generalised
    /// from the UK eligibility rules).
    pub enum AdmissionRefusal {
        /// The person is not present in the origin state's territory.
        NotPresentInTerritory => "NOT_PRESENT_IN_TERRITORY",
        /// A minor without a parent.
        UnderAgeWithoutParent => "UNDER_AGE_WITHOUT_PARENT",
        /// An EEA national or a family member with free-movement rights.
        EeaOrFreeMovementFamily => "EEA_OR_FREE_MOVEMENT_FAMILY",
        /// Protection already granted elsewhere.
        ProtectionGrantedElsewhere => "PROTECTION_GRANTED_ELSEWHERE",
        /// The person holds permission to stay in the origin state.
        HoldsPermissionInSendingState => "HOLDS_PERMISSION_IN_SENDING_STATE",
        /// Unsuitable under the admitting state's general grounds (UK Part 9).
        SuitabilityPart9 => "SUITABILITY_PART9",
        /// The person crossed irregularly before.
        PriorIrregularCrossing => "PRIOR_IRREGULAR_CROSSING",
        /// The documents do not match the person or the application.
        DocumentMismatch => "DOCUMENT_MISMATCH",
        /// The application came outside the offer's window.
        WindowClosed => "WINDOW_CLOSED",
        /// A security check failed.
        SecurityCheckFailed => "SECURITY_CHECK_FAILED",
    }
    all: slice,
    unknown: UnknownCode = |text| UnknownCode::new("admission refusal", text),
}

coded_enum! {
    /// What legally stops a transfer for a while (DOMAIN.md, `LEGAL_HOLD`).
    pub enum LegalHoldKind {
        /// A court order bars the transfer for now.
        CourtOrder => "COURT_ORDER",
        /// An appeal with suspensive effect was lodged.
        SuspensiveAppeal => "SUSPENSIVE_APPEAL",
        /// A claim (asylum, human rights) was lodged and must be decided first.
        ClaimLodged => "CLAIM_LODGED",
        /// The person is not fit to travel.
        Medical => "MEDICAL",
    }
    all: slice,
    unknown: UnknownCode = |text| UnknownCode::new("legal hold", text),
}

coded_enum! {
    /// Why an admission offer is paused (DOMAIN.md, `OFFER_PAUSED`).
    pub enum OfferPauseReason {
        /// The admitting state's admissions ran ahead of its returns (see `parity`).
        ParityNotReached => "PARITY_NOT_REACHED",
        /// The admitting state lacks capacity for now.
        Capacity => "CAPACITY",
        /// The Joint Committee asked for a pause.
        JointCommittee => "JOINT_COMMITTEE",
    }
    all: slice,
    unknown: UnknownCode = |text| UnknownCode::new("offer pause reason", text),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readmission_reasons_run_from_r01_to_r16_with_names() {
        let codes: Vec<&str> = ReadmissionReason::ALL.iter().map(|r| r.code()).collect();
        let expected: Vec<String> = (1..=16).map(|n| format!("R{n:02}")).collect();
        assert_eq!(codes, expected);
        assert_eq!(
            ReadmissionReason::parse("R10"),
            Ok(ReadmissionReason::ParityImbalance)
        );
        assert_eq!(
            ReadmissionReason::ParityImbalance.name(),
            "PARITY_IMBALANCE"
        );
        for reason in ReadmissionReason::ALL {
            assert_eq!(ReadmissionReason::parse_name(reason.name()), Ok(*reason));
            assert_eq!(ReadmissionReason::parse(reason.code()), Ok(*reason));
        }
        assert!(ReadmissionReason::parse("R17").is_err());
        assert!(ReadmissionReason::parse("r01").is_err());
        assert!(ReadmissionReason::parse_name("R01").is_err());
    }

    #[test]
    fn every_list_round_trips_its_codes_and_refuses_strangers() {
        assert_eq!(AdmissionRefusal::ALL.len(), 10);
        for refusal in AdmissionRefusal::ALL {
            assert_eq!(AdmissionRefusal::parse(refusal.code()), Ok(*refusal));
        }
        for hold in LegalHoldKind::ALL {
            assert_eq!(hold.code().parse::<LegalHoldKind>(), Ok(*hold));
        }
        for reason in OfferPauseReason::ALL {
            assert_eq!(OfferPauseReason::parse(&reason.to_string()), Ok(*reason));
        }
        assert_eq!(
            LegalHoldKind::parse("court_order"),
            Err(UnknownCode {
                list: "legal hold",
                text: "court_order".into()
            })
        );
    }
}
