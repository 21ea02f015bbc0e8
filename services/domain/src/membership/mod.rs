//! Network membership: who belongs to the network, what each pair of states agreed, and which
//! keys sign for whom and when (DESIGN.md §4, `membership.proto`).
//!
//! The coordinator holds the membership and signs it; every node verifies what it receives
//! and trusts nothing else for endpoints, certificate fingerprints, event-signing keys and the
//! agreements in force. This module is the rules of that membership, as values:
//!
//! - an [`Enrolment`] is a one-time token's life: issued by an operator for one state, approved
//!   by existing members where required, then used, expired or cancelled;
//! - a [`Directory`] is the membership at one version: its [`Member`]s (status, [`Endpoint`],
//!   [`MemberCertificate`]s, [`SigningKeyEntry`]s) and the [`Agreement`]s between pairs of
//!   states. [`Directory::apply`] takes one [`DirectoryChange`] (enrol, suspend, reinstate,
//!   revoke, set an agreement, add or retire a key, replace certificates or the endpoint) and
//!   returns the next version, whose number is exactly one higher.
//!
//! Every change returns a new value or an [`Error`] that names the offending values; nothing
//! is mutated in place. A member is never removed: a revoked member stays listed, with its keys
//! revoked from the revocation on, so that signatures made before it can still be judged.
//!
//! This module does not sign or verify anything (the coordinator signs the directory's wire
//! form, nodes verify it), does not parse certificates or CSRs (a certificate is its role,
//! fingerprint, serial and validity, as the coordinator read them), does not compute key ids,
//! stores nothing, and never reads a clock: every instant is an argument.

mod agreement;
mod codes;
mod directory;
mod endpoint;
mod enrolment;
mod member;

use crate::coded::UnknownCode;
use crate::{Regime, StateCode, Timestamp};

pub use agreement::Agreement;
pub use codes::{CertificateRole, EnrolmentStatus, MemberStatus, SigningKeyStatus, StatusReason};
pub use directory::{Directory, DirectoryChange};
pub use endpoint::{ENDPOINT_LENGTH_MAX, Endpoint, EndpointFlaw};
pub use enrolment::{Approval, ENROLMENT_TTL_MAX, Enrolment, TOKEN_ID_LENGTH_MAX};
pub use member::{KEY_AND_FINGERPRINT_LENGTH, Member, MemberCertificate, SigningKeyEntry};

/// Why a membership value or change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A code that names no status, reason or role.
    #[error(transparent)]
    UnknownCode(#[from] UnknownCode),
    /// A text that is not a node endpoint.
    #[error("endpoint {endpoint:?} is refused: {flaw}")]
    InvalidEndpoint {
        /// The text given.
        endpoint: String,
        /// What is wrong with it.
        flaw: EndpointFlaw,
    },

    // Enrolments.
    /// A token id that is empty, longer than 64 characters, or has a character outside
    /// `A-Z a-z 0-9 _ -`.
    #[error("token id {token_id:?} must be 1 to 64 characters A-Z, a-z, 0-9, _ or -")]
    InvalidTokenId {
        /// The id given.
        token_id: String,
    },
    /// A token that would expire at or before its issue.
    #[error("a token issued at {now} must expire after it, not at {expires_at}")]
    ExpiryNotAfterIssue {
        /// The expiry given.
        expires_at: Timestamp,
        /// The issue time.
        now: Timestamp,
    },
    /// A token that would live longer than `ENROLMENT_TTL_MAX`.
    #[error("a token may expire at {latest} at the latest, not at {expires_at}")]
    ExpiryTooFar {
        /// The expiry given.
        expires_at: Timestamp,
        /// The latest expiry allowed.
        latest: Timestamp,
    },
    /// More approvals required than there are active members to give them.
    #[error("{required} approvals required, but the network has {active_members} active members")]
    TooManyApprovalsRequired {
        /// The approvals asked for.
        required: u32,
        /// The active members there are.
        active_members: usize,
    },
    /// A step dated before the last change of what it changes.
    #[error("a change at {now} is before the last change at {last_change_at}")]
    TimeWentBackwards {
        /// The last change: the enrolment's issue, latest approval, use or cancellation, or
        /// the directory version's issue.
        last_change_at: Timestamp,
        /// The refused step's time.
        now: Timestamp,
    },
    /// A second approval by the same state.
    #[error("{approver} already approved this enrolment at {approved_at}")]
    AlreadyApproved {
        /// The approving state.
        approver: StateCode,
        /// When it approved.
        approved_at: Timestamp,
    },
    /// An approval of an enrolment that is not awaiting approvals.
    #[error("an enrolment in status {status} takes no approval")]
    NotAwaitingApprovals {
        /// The enrolment's status at the approval's time.
        status: EnrolmentStatus,
    },
    /// The candidate state approving its own enrolment.
    #[error("{state} cannot approve its own enrolment")]
    CandidateCannotApprove {
        /// The candidate state.
        state: StateCode,
    },
    /// An approval by a state that is not an active member.
    #[error("{approver} is not an active member and cannot approve an enrolment")]
    ApproverNotActive {
        /// The approving state.
        approver: StateCode,
    },
    /// A cancellation of a used, expired or cancelled token.
    #[error("an enrolment in status {status} cannot be cancelled")]
    NotCancellable {
        /// The enrolment's status at the cancellation's time.
        status: EnrolmentStatus,
    },
    /// The token was used already.
    #[error("the enrolment token was used at {used_at}")]
    TokenUsed {
        /// When it was used.
        used_at: Timestamp,
    },
    /// The token was cancelled.
    #[error("the enrolment token was cancelled at {cancelled_at}")]
    TokenCancelled {
        /// When it was cancelled.
        cancelled_at: Timestamp,
    },
    /// The token expired.
    #[error("the enrolment token expired at {expires_at}, before its use at {now}")]
    TokenExpired {
        /// When it expired.
        expires_at: Timestamp,
        /// The attempt's time.
        now: Timestamp,
    },
    /// The token admits another state.
    #[error("the enrolment token admits {token_state}, not {asked}")]
    WrongState {
        /// The state the token admits.
        token_state: StateCode,
        /// The state that tried to use it.
        asked: StateCode,
    },
    /// The token still awaits approvals.
    #[error("the enrolment has {approvals} of the {required} approvals it needs")]
    AwaitingApprovals {
        /// The approvals so far.
        approvals: u32,
        /// The approvals required.
        required: u32,
    },

    // Agreements.
    /// An agreement of a state with itself.
    #[error("an agreement needs two different states, not {state} twice")]
    SameState {
        /// The state given twice.
        state: StateCode,
    },
    /// An agreement without a regime.
    #[error("an agreement needs at least one regime")]
    NoRegimes,
    /// An agreement that lists a regime twice.
    #[error("an agreement lists regime {regime} twice")]
    RepeatedRegime {
        /// The repeated regime.
        regime: Regime,
    },
    /// A sunset at or before the start.
    #[error("an agreement in force from {effective_from} must end after it, not at {sunset_at}")]
    SunsetNotAfterStart {
        /// The start given.
        effective_from: Timestamp,
        /// The sunset given.
        sunset_at: Timestamp,
    },

    // The directory.
    /// An enrolment of a state that is, or was, a member.
    #[error("{state} is already a member, in status {status}")]
    AlreadyMember {
        /// The state.
        state: StateCode,
        /// Its status.
        status: MemberStatus,
    },
    /// A change that names a state that is not a member.
    #[error("{state} is not a member")]
    NotAMember {
        /// The state.
        state: StateCode,
    },
    /// A change to a revoked member (other than its status, see `IllegalStatusChange`).
    #[error("{state} is revoked; its membership cannot change")]
    MemberRevoked {
        /// The state.
        state: StateCode,
    },
    /// An enrolment of a member that is not listed as active.
    #[error("{state} must enrol as ACTIVE, not {status}")]
    NewMemberNotActive {
        /// The state.
        state: StateCode,
        /// The status given.
        status: MemberStatus,
    },
    /// A member's certificates without a node certificate.
    #[error("{state} needs at least one NODE certificate")]
    NoNodeCertificate {
        /// The state.
        state: StateCode,
    },
    /// An enrolment without an active signing key.
    #[error("{state} needs at least one ACTIVE signing key")]
    NoActiveSigningKey {
        /// The state.
        state: StateCode,
    },
    /// A status change the membership does not allow (suspend only an active member,
    /// reinstate only a suspended one, revoke only one not yet revoked).
    #[error("{state} cannot go from {from} to {to}")]
    IllegalStatusChange {
        /// The state.
        state: StateCode,
        /// Its current status.
        from: MemberStatus,
        /// The status asked for.
        to: MemberStatus,
    },
    /// A suspension or revocation "because resolved": `RESOLVED` is a reinstatement's reason.
    #[error("{state} cannot go to {to} for the reason {reason}")]
    ReasonNotAllowed {
        /// The state.
        state: StateCode,
        /// The status asked for.
        to: MemberStatus,
        /// The reason given.
        reason: StatusReason,
    },
    /// An agreement that overlaps in time another agreement of the same pair (other than the
    /// one with the same start, which it replaces).
    #[error(
        "the agreement between {} and {} from {effective_from} overlaps the one in force from {existing_effective_from}",
        pair.0, pair.1
    )]
    OverlappingAgreement {
        /// The pair, alphabetically smaller first.
        pair: (StateCode, StateCode),
        /// The new agreement's start.
        effective_from: Timestamp,
        /// The start of the agreement it overlaps.
        existing_effective_from: Timestamp,
    },
    /// A key id the member already has.
    #[error("{state} already has a signing key {key_id}")]
    DuplicateSigningKey {
        /// The state.
        state: StateCode,
        /// The repeated key id.
        key_id: String,
    },
    /// A key added in another status than active.
    #[error("signing key {key_id} of {state} must be added ACTIVE, not {status}")]
    NewKeyNotActive {
        /// The state.
        state: StateCode,
        /// The key id.
        key_id: String,
        /// The status given.
        status: SigningKeyStatus,
    },
    /// An active key with an end of validity: a key's validity ends when it is retired or
    /// revoked.
    #[error("active signing key {key_id} of {state} cannot have an end ({valid_until})")]
    ActiveKeyWithEnd {
        /// The state.
        state: StateCode,
        /// The key id.
        key_id: String,
        /// The end given.
        valid_until: Timestamp,
    },
    /// A key added with a validity that starts before it is added: it would make signatures
    /// dated before its registration valid.
    #[error("signing key {key_id} of {state} added at {now} cannot be valid from {valid_from}")]
    KeyValidFromPast {
        /// The state.
        state: StateCode,
        /// The key id.
        key_id: String,
        /// The start given.
        valid_from: Timestamp,
        /// The change's time.
        now: Timestamp,
    },
    /// A key id the member does not have.
    #[error("{state} has no signing key {key_id}")]
    UnknownSigningKey {
        /// The state.
        state: StateCode,
        /// The key id.
        key_id: String,
    },
    /// A retirement of a key that is not active.
    #[error("signing key {key_id} of {state} is {status}, not ACTIVE")]
    SigningKeyNotActive {
        /// The state.
        state: StateCode,
        /// The key id.
        key_id: String,
        /// The key's status.
        status: SigningKeyStatus,
    },
    /// A retirement of the member's last active key.
    #[error("signing key {key_id} is the last active key of {state}")]
    LastActiveKey {
        /// The state.
        state: StateCode,
        /// The key id.
        key_id: String,
    },
}
