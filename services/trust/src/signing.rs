//! Ed25519 signatures over events and reports: proof, to anyone and later, of who said what.
//!
//! These keys are not TLS keys. mTLS proves who is on the line now; a signature survives the
//! connection and can be checked by a third state, an auditor or a court from the signed
//! bytes and the signer's registered verifying key.
//!
//! **Signed message.** A signature covers exactly what `accord.v1` (common.proto) says:
//!
//! ```text
//! domain ‖ b"\0" ‖ canonical bytes
//! ```
//!
//! where `domain` is a [`SigningDomain`]: the full name of the signed protobuf message
//! type, e.g. `accord.v1.EventAttestation` (ASCII letters, digits and `.`, so it never
//! contains the NUL that ends it), and the canonical bytes are the message's deterministic
//! protobuf encoding. The version is in the type name (`accord.v1`); the domain keeps a
//! signature over an event from ever passing as a signature over a report with the same
//! bytes. Verification is strict (`verify_strict`: no small-order keys or components).
//!
//! **Keys on disk.** A signing key is PKCS#8 v1 PEM (`-----BEGIN PRIVATE KEY-----`, RFC
//! 8410), mode 0600; a verifying key is SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC
//! KEY-----`). Both are what OpenSSL reads and writes for Ed25519 (`openssl pkey`). A key's [`KeyId`] is the first 8 bytes
//! (16 hex digits) of the SHA-256 of its 32-byte public key.

use std::fmt;
use std::path::Path;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use ed25519_dalek::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
use ring::rand::{SecureRandom as _, SystemRandom};
use sha2::{Digest as _, Sha256};

use crate::credentials::{self, PRIVATE_FILE_MODE, PUBLIC_FILE_MODE};

/// Longest domain name, in bytes.
const DOMAIN_LENGTH_MAX: usize = 64;

/// Length of a [`KeyId`], in bytes of the public key's SHA-256.
const KEY_ID_LENGTH_BYTES: usize = 8;

/// Why a key could not be made, read or written, or a signature does not verify.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// A private key is not PKCS#8 Ed25519.
    #[error("not a PKCS#8 Ed25519 private key")]
    PrivateKey(#[source] ed25519_dalek::pkcs8::Error),
    /// A public key is not an Ed25519 SubjectPublicKeyInfo.
    #[error("not an Ed25519 public key")]
    PublicKey(#[source] ed25519_dalek::pkcs8::spki::Error),
    /// 32 bytes that are not a usable Ed25519 public key (not a curve point, or weak).
    #[error("not a usable Ed25519 public key")]
    InvalidKey,
    /// A key file could not be read or written.
    #[error(transparent)]
    File(#[from] credentials::Error),
    /// A signature is not 64 bytes long.
    #[error("an Ed25519 signature is 64 bytes, not {0}")]
    SignatureLength(usize),
    /// A signature does not verify for this key, domain and message.
    #[error("the signature does not verify")]
    Invalid,
    /// A signature in a batch does not verify.
    #[error("signature {index} of the batch does not verify")]
    BatchInvalid {
        /// Position of the first signature that fails, in the batch as given.
        index: usize,
    },
    /// A key id is not 16 hexadecimal digits.
    #[error("key id {0:?} must be 16 hexadecimal digits")]
    KeyIdSyntax(String),
}

/// What a signature is about; part of the signed message, so signatures never cross over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SigningDomain(&'static str);

impl SigningDomain {
    /// A case event, signed through its person-free `accord.v1.EventAttestation`.
    pub const EVENT: Self = Self::checked("accord.v1.EventAttestation");
    /// A settlement report or a state's countersignature of one (`accord.v1.SettlementReport`).
    pub const SETTLEMENT_REPORT: Self = Self::checked("accord.v1.SettlementReport");
    /// The coordinator's membership directory (`accord.v1.Directory`).
    pub const DIRECTORY: Self = Self::checked("accord.v1.Directory");
    /// A member's approval of a new member's enrolment (`accord.v1.EnrolmentApproval`).
    pub const ENROLMENT_APPROVAL: Self = Self::checked("accord.v1.EnrolmentApproval");
    /// A state's signed refusal of a proposed settlement round (`accord.v1.RoundDispute`).
    pub const ROUND_DISPUTE: Self = Self::checked("accord.v1.RoundDispute");

    /// A domain named `name`: 1–64 characters of `A-Z`, `a-z`, `0-9`, `.`, `-`. `None`
    /// otherwise.
    pub const fn new(name: &'static str) -> Option<Self> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() > DOMAIN_LENGTH_MAX {
            return None;
        }
        let mut position = 0;
        while position < bytes.len() {
            let byte = bytes[position];
            if !(byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-') {
                return None;
            }
            position += 1;
        }
        Some(Self(name))
    }

    /// For the constants above: evaluated at compile time, so a bad name fails the build.
    const fn checked(name: &'static str) -> Self {
        match Self::new(name) {
            Some(domain) => domain,
            None => panic!("signing domain names are 1-64 characters of A-Z a-z 0-9 . -"),
        }
    }

    /// The domain's name.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// The exact bytes a signature covers: `domain ‖ 0 ‖ canonical_bytes`.
pub fn signed_message(domain: SigningDomain, canonical_bytes: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(domain.0.len() + 1 + canonical_bytes.len());
    message.extend_from_slice(domain.0.as_bytes());
    message.push(0);
    message.extend_from_slice(canonical_bytes);
    message
}

/// Names a verifying key: the first 16 hex digits of the SHA-256 of its 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; KEY_ID_LENGTH_BYTES]);

impl KeyId {
    /// Parses 16 hexadecimal digits.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut bytes = [0_u8; KEY_ID_LENGTH_BYTES];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| Error::KeyIdSyntax(text.to_owned()))?;
        Ok(Self(bytes))
    }

    fn of(public_key: &[u8; 32]) -> Self {
        let digest = Sha256::digest(public_key);
        let mut bytes = [0_u8; KEY_ID_LENGTH_BYTES];
        bytes.copy_from_slice(&digest[..KEY_ID_LENGTH_BYTES]);
        Self(bytes)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "KeyId({self})")
    }
}

/// An Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    /// A signature from its 64 bytes.
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Self(ed25519_dalek::Signature::from_bytes(bytes))
    }

    /// A signature from a slice, which must be 64 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let array: &[u8; 64] = bytes
            .try_into()
            .map_err(|_| Error::SignatureLength(bytes.len()))?;
        Ok(Self::from_bytes(array))
    }

    /// The 64 bytes (R ‖ s).
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Signature({})", hex::encode(self.to_bytes()))
    }
}

/// A party's private event-signing key.
pub struct EventSigningKey(ed25519_dalek::SigningKey);

impl EventSigningKey {
    /// A fresh key from 32 bytes of the operating system's randomness.
    pub fn generate() -> Result<Self, Error> {
        let mut secret = [0_u8; ed25519_dalek::SECRET_KEY_LENGTH];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| Error::Random)?;
        let key = ed25519_dalek::SigningKey::from_bytes(&secret);
        secret.fill(0); // the SigningKey holds its own copy, zeroed when dropped
        Ok(Self(key))
    }

    /// Parses a PKCS#8 PEM private key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, Error> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map(Self)
            .map_err(Error::PrivateKey)
    }

    /// Loads a PKCS#8 PEM private key file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let pem = credentials::read_file(path)?;
        let text = String::from_utf8_lossy(&pem);
        Self::from_pkcs8_pem(&text)
    }

    /// Writes the key as PKCS#8 v1 PEM (the secret alone, RFC 8410) with mode 0600.
    /// ed25519-dalek would write v2 with the public key appended, which OpenSSL 3.0 cannot
    /// read; v1 is what every tool reads, and the public key follows from the secret.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let secret_only = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.0.to_bytes(),
            public_key: None,
        };
        let pem = secret_only
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(Error::PrivateKey)?;
        credentials::write_file_atomically(path, pem.as_bytes(), PRIVATE_FILE_MODE)?;
        Ok(())
    }

    /// The matching public key, to register in the directory.
    pub fn verifying_key(&self) -> EventVerifyingKey {
        EventVerifyingKey(self.0.verifying_key())
    }

    /// The key id of the matching public key.
    pub fn key_id(&self) -> KeyId {
        self.verifying_key().key_id()
    }

    /// Signs `canonical_bytes` in `domain` (see the module documentation for the exact
    /// message).
    pub fn sign(&self, domain: SigningDomain, canonical_bytes: &[u8]) -> Signature {
        use ed25519_dalek::Signer as _;
        Signature(self.0.sign(&signed_message(domain, canonical_bytes)))
    }
}

impl EventSigningKey {
    /// Signs `message` as it is, with no domain in front: for the transparency log's signed
    /// notes ([`crate::log`]), whose formats (C2SP signed-note, tlog-cosignature) fix the
    /// signed bytes themselves. Such a message never collides with a domain-separated one:
    /// a note is text without control characters, while every [`signed_message`] holds the
    /// NUL that ends its domain. Crate-private so that only those formats use it.
    pub(crate) fn sign_raw(&self, message: &[u8]) -> Signature {
        use ed25519_dalek::Signer as _;
        Signature(self.0.sign(message))
    }
}

impl fmt::Debug for EventSigningKey {
    /// Shows the key id, never the secret.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "EventSigningKey({})", self.key_id())
    }
}

/// A party's public event-verifying key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EventVerifyingKey(ed25519_dalek::VerifyingKey);

impl EventVerifyingKey {
    /// A key from its 32 bytes; refuses bytes that are not a curve point and weak
    /// (small-order) keys, which would let one signature verify for many messages.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| Error::InvalidKey)?;
        if key.is_weak() {
            return Err(Error::InvalidKey);
        }
        Ok(Self(key))
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The key's id.
    pub fn key_id(&self) -> KeyId {
        KeyId::of(self.0.as_bytes())
    }

    /// Parses a SubjectPublicKeyInfo PEM public key.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let key =
            ed25519_dalek::VerifyingKey::from_public_key_pem(pem).map_err(Error::PublicKey)?;
        Self::from_bytes(key.as_bytes())
    }

    /// The key as SubjectPublicKeyInfo PEM.
    pub fn to_pem(&self) -> Result<String, Error> {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .map_err(Error::PublicKey)
    }

    /// Loads a SubjectPublicKeyInfo PEM file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let pem = credentials::read_file(path)?;
        Self::from_pem(&String::from_utf8_lossy(&pem))
    }

    /// Writes the key as SubjectPublicKeyInfo PEM.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        credentials::write_file_atomically(path, self.to_pem()?.as_bytes(), PUBLIC_FILE_MODE)?;
        Ok(())
    }

    /// Checks that `signature` is this key's signature over `canonical_bytes` in `domain`.
    pub fn verify(
        &self,
        domain: SigningDomain,
        canonical_bytes: &[u8],
        signature: &Signature,
    ) -> Result<(), Error> {
        self.0
            .verify_strict(&signed_message(domain, canonical_bytes), &signature.0)
            .map_err(|_| Error::Invalid)
    }
}

impl EventVerifyingKey {
    /// Checks a signature over `message` as it is, with no domain in front (strictly, as
    /// [`EventVerifyingKey::verify`]); see [`EventSigningKey::sign_raw`].
    pub(crate) fn verify_raw(&self, message: &[u8], signature: &Signature) -> Result<(), Error> {
        self.0
            .verify_strict(message, &signature.0)
            .map_err(|_| Error::Invalid)
    }
}

impl fmt::Debug for EventVerifyingKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "EventVerifyingKey({})", self.key_id())
    }
}

/// One signature to check in a batch.
#[derive(Debug, Clone, Copy)]
pub struct SignedMessage<'a> {
    /// The signer's key.
    pub key: &'a EventVerifyingKey,
    /// The domain signed in.
    pub domain: SigningDomain,
    /// The canonical bytes signed.
    pub canonical_bytes: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// Checks many signatures at once — about twice as fast per signature as one by one, which
/// matters where a stream delivers many events. When the batch fails, each signature is
/// checked alone (strictly) to name the first bad one, so the error is exact; a batch that
/// passes has passed the batch equation, which accepts what strict checking accepts for
/// keys made by [`EventSigningKey`].
pub fn verify_batch(batch: &[SignedMessage<'_>]) -> Result<(), Error> {
    if batch.is_empty() {
        return Ok(());
    }
    let messages: Vec<Vec<u8>> = batch
        .iter()
        .map(|item| signed_message(item.domain, item.canonical_bytes))
        .collect();
    let message_slices: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let signatures: Vec<ed25519_dalek::Signature> =
        batch.iter().map(|item| item.signature.0).collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = batch.iter().map(|item| item.key.0).collect();
    if ed25519_dalek::verify_batch(&message_slices, &signatures, &keys).is_ok() {
        return Ok(());
    }
    for (index, item) in batch.iter().enumerate() {
        if item
            .key
            .verify(item.domain, item.canonical_bytes, item.signature)
            .is_err()
        {
            return Err(Error::BatchInvalid { index });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT_BYTES: &[u8] = b"case FR-2025-000123 ARRIVAL_CONFIRMED";

    #[test]
    fn a_signature_verifies_only_for_its_key_domain_and_bytes() {
        let key = EventSigningKey::generate().unwrap();
        let signature = key.sign(SigningDomain::EVENT, REPORT_BYTES);
        let verifying_key = key.verifying_key();
        let other_key = EventSigningKey::generate().unwrap().verifying_key();
        let mut flipped = signature.to_bytes();
        flipped[10] ^= 1;
        let flipped = Signature::from_bytes(&flipped);
        let signed = SignedMessage {
            key: &verifying_key,
            domain: SigningDomain::EVENT,
            canonical_bytes: REPORT_BYTES,
            signature: &signature,
        };
        let tampered = b"case FR-2025-000123 ARRIVAL_CONFIRMEE";
        let report = SigningDomain::SETTLEMENT_REPORT;
        #[rustfmt::skip]
        let rows = [
            ("as signed", signed, true),
            ("tampered bytes", SignedMessage { canonical_bytes: tampered, ..signed }, false),
            ("another domain", SignedMessage { domain: report, ..signed }, false),
            ("another key", SignedMessage { key: &other_key, ..signed }, false),
            ("a flipped signature bit", SignedMessage { signature: &flipped, ..signed }, false),
        ];
        for (label, message, verifies) in rows {
            let SignedMessage {
                key,
                domain,
                canonical_bytes,
                signature,
            } = message;
            let outcome = key.verify(domain, canonical_bytes, signature);
            assert_eq!(outcome.is_ok(), verifies, "{label}: {outcome:?}");
        }
    }

    #[test]
    fn the_signed_message_is_the_documented_byte_string() {
        assert_eq!(
            signed_message(SigningDomain::EVENT, b"xy"),
            b"accord.v1.EventAttestation\0xy"
        );
    }

    #[test]
    fn domain_names_are_restricted_so_the_nul_separator_is_unambiguous() {
        assert!(SigningDomain::new("accord.v1.EventAttestation").is_some());
        assert!(SigningDomain::new("").is_none());
        assert!(SigningDomain::new("a\0b").is_none());
        assert!(SigningDomain::new("a b").is_none());
    }

    #[test]
    fn key_ids_are_sixteen_hex_digits_of_the_public_key_hash() {
        let key = EventSigningKey::generate().unwrap();
        let key_id = key.key_id().to_string();
        assert_eq!(key_id.len(), 16);
        let expected = hex::encode(&Sha256::digest(key.verifying_key().to_bytes())[..8]);
        assert_eq!(key_id, expected);
        assert_eq!(KeyId::parse(&key_id).unwrap(), key.key_id());
    }

    #[test]
    fn keys_survive_a_round_trip_through_files() {
        let folder = tempfile::tempdir().unwrap();
        let key = EventSigningKey::generate().unwrap();
        let key_path = folder.path().join("FR-node.signing.key");
        let public_path = folder.path().join("FR-node.signing.pub");
        key.save(&key_path).unwrap();
        key.verifying_key().save(&public_path).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        use rustls::pki_types::pem::PemObject as _;
        let der = rustls::pki_types::PrivatePkcs8KeyDer::from_pem_file(&key_path).unwrap();
        let version_one = [0x30, 0x2e, 0x02, 0x01, 0x00];
        assert_eq!(
            der.secret_pkcs8_der()[..5],
            version_one,
            "PKCS#8 v1, 48 bytes"
        );
        let loaded = EventSigningKey::load(&key_path).unwrap();
        let loaded_public = EventVerifyingKey::load(&public_path).unwrap();
        assert_eq!(loaded.verifying_key(), key.verifying_key());
        assert_eq!(loaded_public, key.verifying_key());
        let signature = loaded.sign(SigningDomain::EVENT, REPORT_BYTES);
        let outcome = loaded_public.verify(SigningDomain::EVENT, REPORT_BYTES, &signature);
        assert!(outcome.is_ok(), "{outcome:?}");
    }

    #[test]
    fn a_batch_passes_when_all_verify_and_names_the_first_bad_signature() {
        let keys: Vec<EventSigningKey> = (0..4)
            .map(|_| EventSigningKey::generate().unwrap())
            .collect();
        let verifying_keys: Vec<EventVerifyingKey> =
            keys.iter().map(EventSigningKey::verifying_key).collect();
        let messages: Vec<Vec<u8>> = (0..4)
            .map(|index| format!("event {index}").into_bytes())
            .collect();
        let mut signatures: Vec<Signature> = keys
            .iter()
            .zip(&messages)
            .map(|(key, message)| key.sign(SigningDomain::EVENT, message))
            .collect();
        let batch = |signatures: &[Signature]| -> Result<(), Error> {
            let items: Vec<SignedMessage<'_>> = (0..4)
                .map(|index| SignedMessage {
                    key: &verifying_keys[index],
                    domain: SigningDomain::EVENT,
                    canonical_bytes: &messages[index],
                    signature: &signatures[index],
                })
                .collect();
            verify_batch(&items)
        };
        assert!(batch(&signatures).is_ok());
        signatures[2] = keys[2].sign(SigningDomain::EVENT, b"something else");
        assert!(matches!(
            batch(&signatures),
            Err(Error::BatchInvalid { index: 2 })
        ));
        assert!(verify_batch(&[]).is_ok());
    }

    #[test]
    fn weak_and_malformed_public_keys_are_refused() {
        let identity_point = {
            let mut bytes = [0_u8; 32];
            bytes[0] = 1;
            bytes
        };
        assert!(EventVerifyingKey::from_bytes(&identity_point).is_err());
        assert!(Signature::from_slice(&[0_u8; 63]).is_err());
    }
}
