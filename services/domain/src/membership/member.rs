//! A member as the directory lists it: its standing, its node's endpoint, the certificates the
//! network CA issued to it, and the keys that sign its events.
//!
//! These are plain records with public fields: the rules that bind them (a member has a node
//! certificate and an active key, key ids are unique, a revoked member's keys are revoked) are
//! kept by the `Directory` that holds them, which is the only place members change.

use super::{CertificateRole, Endpoint, MemberStatus, SigningKeyStatus, StatusReason};
use crate::{StateCode, Timestamp};

/// The length of a SHA-256 digest and of an Ed25519 public key, in bytes.
pub const KEY_AND_FINGERPRINT_LENGTH: usize = 32;

/// One member state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Member {
    /// The state.
    pub state: StateCode,
    /// Its standing.
    pub status: MemberStatus,
    /// Why the status last changed; none for a member that was never suspended or revoked.
    pub status_reason: Option<StatusReason>,
    /// When the status last changed (the enrolment, for a member whose status never changed).
    pub status_changed_at: Timestamp,
    /// When the state enrolled.
    pub joined_at: Timestamp,
    /// The node's gRPC endpoint.
    pub endpoint: Endpoint,
    /// The member's current certificates: node and gateway, two of a role during a renewal.
    pub certificates: Vec<MemberCertificate>,
    /// The member's event-signing keys, including retired and revoked ones still needed to
    /// judge past signatures.
    pub signing_keys: Vec<SigningKeyEntry>,
}

impl Member {
    /// The key `key_id` of the member, if it is valid at `at` (several keys may be valid at
    /// once during a rotation; ids are unique within a member).
    pub fn signing_key(&self, key_id: &str, at: Timestamp) -> Option<&SigningKeyEntry> {
        self.signing_keys
            .iter()
            .find(|key| key.key_id == key_id && key.valid_at(at))
    }

    /// The key `key_id` of the member, whatever its status and validity.
    pub fn signing_key_by_id(&self, key_id: &str) -> Option<&SigningKeyEntry> {
        self.signing_keys.iter().find(|key| key.key_id == key_id)
    }

    /// Whether the member has a certificate of `role`.
    pub fn has_certificate(&self, role: CertificateRole) -> bool {
        self.certificates
            .iter()
            .any(|certificate| certificate.role == role)
    }

    /// How many of the member's keys are active.
    pub fn active_signing_keys(&self) -> usize {
        self.signing_keys
            .iter()
            .filter(|key| key.status == SigningKeyStatus::Active)
            .count()
    }
}

/// One certificate the network CA issued to a member. The certificate itself is not kept:
/// a peer's certificate is matched by its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberCertificate {
    /// What the certificate identifies.
    pub role: CertificateRole,
    /// SHA-256 of the certificate's DER encoding.
    pub sha256_fingerprint: [u8; KEY_AND_FINGERPRINT_LENGTH],
    /// The certificate's serial number, big-endian bytes.
    pub serial: Vec<u8>,
    /// The start of the certificate's validity.
    pub not_before: Timestamp,
    /// The end of the certificate's validity.
    pub not_after: Timestamp,
}

/// An Ed25519 key that signs a member's events and reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SigningKeyEntry {
    /// The key id, unique within the member.
    pub key_id: String,
    /// The 32-byte Ed25519 public key.
    pub public_key: [u8; KEY_AND_FINGERPRINT_LENGTH],
    /// Whether the key may be used.
    pub status: SigningKeyStatus,
    /// Signatures dated (by the signed message's own time) from this instant are valid.
    pub valid_from: Timestamp,
    /// Signatures dated from this instant are refused; none while the key is active.
    pub valid_until: Option<Timestamp>,
}

impl SigningKeyEntry {
    /// Whether a signature dated `at` by this key is valid: from `valid_from`, before
    /// `valid_until` when there is one.
    pub fn valid_at(&self, at: Timestamp) -> bool {
        self.valid_from <= at && self.valid_until.is_none_or(|valid_until| at < valid_until)
    }
}
