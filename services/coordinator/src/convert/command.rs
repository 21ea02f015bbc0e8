//! The vocabulary between the edge and the use cases: each request parsed into a command of
//! domain values, and what the use cases answer that is not a domain value itself.

use accord_domain::membership::Member;
use accord_domain::membership::{Agreement, Endpoint, Enrolment, EnrolmentStatus, StatusReason};
use accord_domain::{StateCode, Timestamp};
use accord_edge::directory::SignedDirectory;
use accord_trust::pki::SignedCrl;

/// A mutating request's idempotency key and the digest of its method and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The client's key.
    pub idempotency_key: String,
    /// SHA-256 of the method's path, a zero byte and the request's bytes.
    pub request_digest: Vec<u8>,
}

/// `IssueEnrolmentToken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueToken {
    /// The state the token admits.
    pub state: StateCode,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// Approvals by existing members required first.
    pub required_approvals: u32,
}

/// `CancelEnrolmentToken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelToken {
    /// The token's public id.
    pub token_id: String,
}

/// `ListEnrolments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEnrolments {
    /// The most enrolments to return.
    pub page_size: u32,
    /// Where the page starts: after this (issued_at, token_id).
    pub after: Option<(i64, String)>,
    /// Only these statuses; all when empty.
    pub statuses: Vec<EnrolmentStatus>,
}

/// An enrolment with the signatures of the members that approved it.
#[derive(Debug, Clone)]
pub struct EnrolmentView {
    /// The enrolment.
    pub enrolment: Enrolment,
    /// Each approval's signature, in the order they were recorded.
    pub signatures: Vec<ApprovalSignature>,
}

/// One member's signature over an `accord.v1.EnrolmentApproval`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalSignature {
    /// The approving state.
    pub state: StateCode,
    /// The key it signed with.
    pub signing_key_id: String,
    /// The Ed25519 signature.
    pub signature: Vec<u8>,
    /// When the coordinator recorded it.
    pub at: Timestamp,
}

/// `ApproveEnrolment`: a member's signed approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approve {
    /// The enrolment's token id.
    pub token_id: String,
    /// The state being admitted.
    pub candidate: StateCode,
    /// The approving state.
    pub approver: StateCode,
    /// The key it signed with.
    pub signing_key_id: String,
    /// The approval's canonical bytes (the `EnrolmentApproval` message), as signed.
    pub signed_bytes: Vec<u8>,
    /// The 64-byte Ed25519 signature.
    pub signature: Vec<u8>,
}

/// A page of enrolments.
#[derive(Debug, Clone)]
pub struct EnrolmentPage {
    /// The enrolments, newest first.
    pub enrolments: Vec<EnrolmentView>,
    /// The instant their statuses were read at.
    pub now: Timestamp,
    /// Where the next page starts, if there may be one.
    pub next: Option<(i64, String)>,
}

/// `SetAgreement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAgreement {
    /// The agreement.
    pub agreement: Agreement,
}

/// `SuspendMember`, `ReinstateMember` or `RevokeMember`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// Suspend an active member.
    Suspend {
        /// The member.
        state: StateCode,
        /// Why.
        reason: StatusReason,
    },
    /// Revoke a member for good: its certificates join the revocation list.
    Revoke {
        /// The member.
        state: StateCode,
        /// Why.
        reason: StatusReason,
    },
    /// Reinstate a suspended member.
    Reinstate {
        /// The member.
        state: StateCode,
    },
}

/// `RetireSigningKey`: one of the caller's keys stops signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetireKey {
    /// The key's id.
    pub key_id: String,
}

/// `RenewCredentials`: what a member renews; at least one of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Renew {
    /// A fresh node CSR (PEM) for the caller's node identity.
    pub node_csr_pem: Option<String>,
    /// A fresh gateway CSR (PEM) for the caller's gateway identity.
    pub gateway_csr_pem: Option<String>,
    /// A new Ed25519 event-signing public key.
    pub signing_public_key: Option<[u8; 32]>,
    /// A new node endpoint.
    pub endpoint: Option<Endpoint>,
}

/// What a renewal answers.
#[derive(Debug, Clone)]
pub struct Renewed {
    /// The member as the new directory lists it.
    pub member: Member,
    /// The new node certificate chain, if one was asked for.
    pub node_certificate_chain_pem: Option<String>,
    /// The new gateway certificate chain, if one was asked for.
    pub gateway_certificate_chain_pem: Option<String>,
    /// The added key's id, if one was sent.
    pub signing_key_id: Option<String>,
}

/// `Enrol`: a state's request to join, with the token it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrol {
    /// The secret enrolment token.
    pub token: String,
    /// The joining state.
    pub state: StateCode,
    /// The node's CSR (PEM), which names `spiffe://accord/state/XX`.
    pub node_csr_pem: String,
    /// The gateway's CSR (PEM), which names `spiffe://accord/state/XX/gateway`, if any.
    pub gateway_csr_pem: Option<String>,
    /// The node's endpoint.
    pub endpoint: Endpoint,
    /// The node's Ed25519 event-signing public key.
    pub signing_public_key: [u8; 32],
}

/// What a joining state receives.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The member as the new directory lists it.
    pub member: Member,
    /// The node's certificate, then the issuing CA's chain, PEM.
    pub node_certificate_chain_pem: String,
    /// The gateway's, if a gateway CSR was sent.
    pub gateway_certificate_chain_pem: Option<String>,
    /// The network's root certificate, PEM.
    pub ca_certificate_pem: String,
    /// The registered event-signing key's id.
    pub signing_key_id: String,
    /// The directory version that lists the member.
    pub directory: SignedDirectory,
}

/// One revocation list as issued.
#[derive(Debug, Clone)]
pub struct RevocationList {
    /// The signed list.
    pub signed: SignedCrl,
    /// Its number.
    pub number: u64,
    /// When it was issued.
    pub this_update: Timestamp,
    /// When the next must replace it at the latest.
    pub next_update: Timestamp,
    /// The other CAs' lists every party checks beside it (the root's, revoking issuing
    /// CAs, when an issuing CA below the root signs this one), PEM; empty otherwise.
    pub companions_pem: String,
}
