//! The closed lists of membership: a member's standing and why it changed, where an enrolment
//! stands, what a member's certificate identifies, and whether a signing key may be used.
//! Each code is the `membership.proto` enum value's name without its prefix.

use super::Error;
use crate::coded::{UnknownCode, coded_enum};

coded_enum! {
    /// A member's standing in the network.
    pub enum MemberStatus {
        /// A full member: its node is reachable and trusted.
        Active => "ACTIVE",
        /// Cut off for now: other nodes refuse its calls and deliver nothing to it; it may be
        /// reinstated.
        Suspended => "SUSPENDED",
        /// Cut off for good: its certificates are revoked and its keys sign nothing from the
        /// revocation on. Terminal.
        Revoked => "REVOKED",
    }
    all: array,
    unknown: Error = |text| UnknownCode::new("member status", text).into(),
}

coded_enum! {
    /// Why an operator changed a member's status; enumerated so that no free text is kept.
    pub enum StatusReason {
        /// A security incident at the member is under investigation.
        SecurityIncident => "SECURITY_INCIDENT",
        /// A private key of the member is, or may be, compromised.
        KeyCompromise => "KEY_COMPROMISE",
        /// The member breached the scheme's rules, as the states' governing body found.
        AgreementBreach => "AGREEMENT_BREACH",
        /// The member asked for it (for example for maintenance or a move).
        RequestedByMember => "REQUESTED_BY_MEMBER",
        /// The member left the scheme.
        LeftScheme => "LEFT_SCHEME",
        /// The cause of a suspension was resolved: the reason of every reinstatement, and of
        /// nothing else.
        Resolved => "RESOLVED",
    }
    all: array,
    unknown: Error = |text| UnknownCode::new("member status reason", text).into(),
}

coded_enum! {
    /// Where an enrolment stands at a given instant (`Enrolment::status`).
    pub enum EnrolmentStatus {
        /// Issued, waiting for the approvals of existing members.
        AwaitingApprovals => "AWAITING_APPROVALS",
        /// Approved (or no approval required): the token may be used until it expires.
        Ready => "READY",
        /// The token was used; the state is a member. Terminal.
        Used => "USED",
        /// The token expired unused. Terminal.
        Expired => "EXPIRED",
        /// An operator cancelled the token. Terminal.
        Cancelled => "CANCELLED",
    }
    all: array,
    unknown: Error = |text| UnknownCode::new("enrolment status", text).into(),
}

coded_enum! {
    /// What a member's certificate identifies.
    pub enum CertificateRole {
        /// The state's node, `spiffe://accord/state/XX`.
        Node => "NODE",
        /// The state's gateway, `spiffe://accord/state/XX/gateway`.
        Gateway => "GATEWAY",
    }
    all: array,
    unknown: Error = |text| UnknownCode::new("certificate role", text).into(),
}

coded_enum! {
    /// Whether an event-signing key may be used.
    pub enum SigningKeyStatus {
        /// Signs new events and reports, and verifies.
        Active => "ACTIVE",
        /// Being replaced: verifies signatures dated before its `valid_until`, signs nothing new.
        Retired => "RETIRED",
        /// Compromised or its member revoked: signatures dated from its `valid_until` on are
        /// refused.
        Revoked => "REVOKED",
    }
    all: array,
    unknown: Error = |text| UnknownCode::new("signing key status", text).into(),
}
