//! C2SP signed notes (`c2sp.org/signed-note`): text signed by one or more keys, the envelope
//! of checkpoints and their cosignatures.
//!
//! ```text
//! <text, ending in a newline>
//!
//! — <key name> base64(4-byte key hash ‖ signature)
//! ```
//!
//! [`Note::parse`] refuses every malformed note the specification (and Go's
//! `golang.org/x/mod/sumdb/note`, its reference) refuses: text that is not UTF-8 or holds an
//! ASCII control character other than newline, no blank line before the signatures, a
//! signature block that is empty or does not end in a newline, a line that is not
//! `— name base64`, a key name that is empty or holds a Unicode space or `+`, base64 that is
//! not canonical standard base64, a signature shorter than a key hash and one byte, more than
//! [`SIGNATURES_MAX`] signatures or more than [`NOTE_LENGTH_MAX_BYTES`] bytes.
//! [`Note::verify`] then follows the specification's rules for keys: a signature whose
//! (name, key hash) matches no known [`NoteVerifier`] is ignored and not counted; one that
//! matches must verify, or the whole note is refused; a note with no verified signature is
//! refused.
//!
//! Two signature types are supported, both Ed25519 with Accord's [`EventSigningKey`]s:
//! `0x01`, a plain note signature over the text (a log signs its checkpoints so), and `0x04`,
//! a timestamped `cosignature/v1` (a witness cosigns so; [`super::cosignature`]). The key hash
//! is `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`.
//!
//! What this module does not do: it gives the text no meaning ([`super::checkpoint`] does)
//! and keeps no list of trusted keys — the caller passes the keys it trusts.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

use super::cosignature;
use crate::signing::{EventSigningKey, EventVerifyingKey, Signature};

/// Most signatures a note may carry (the specification asks for at least 16; Go's reference
/// allows 100).
pub const SIGNATURES_MAX: usize = 100;

/// Longest note, text and signatures, in bytes.
pub const NOTE_LENGTH_MAX_BYTES: usize = 1 << 20;

/// What starts every signature line: an em dash (U+2014) and a space.
const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// Length of a key hash, in bytes.
const KEY_HASH_BYTES: usize = 4;

/// Why a note, a key name or a verifier key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The note is longer than [`NOTE_LENGTH_MAX_BYTES`].
    #[error("the note is longer than {NOTE_LENGTH_MAX_BYTES} bytes")]
    TooLong,
    /// The note is not valid UTF-8.
    #[error("the note is not valid UTF-8")]
    NotUtf8,
    /// The note holds an ASCII control character other than newline.
    #[error("the note holds control character {character:?} at byte {offset}")]
    ControlCharacter {
        /// The character.
        character: char,
        /// Its byte offset in the note.
        offset: usize,
    },
    /// A note's text is empty or does not end in a newline.
    #[error("a note's text must be non-empty and end in a newline")]
    TextEnding,
    /// No blank line separates the text from the signatures, or no signature follows it.
    #[error("no blank line followed by signature lines ends the note")]
    NoSignatureBlock,
    /// A signature line is malformed.
    #[error("signature line {line} is malformed: {reason}")]
    SignatureLine {
        /// The line's position in the signature block, from 1.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The note carries more than [`SIGNATURES_MAX`] signatures.
    #[error("the note carries more than {SIGNATURES_MAX} signatures")]
    TooManySignatures,
    /// A key name is empty or holds a Unicode space, a control character or `+`.
    #[error("key name {0:?} must be non-empty, without spaces, control characters or '+'")]
    KeyName(String),
    /// A verifier key is not `name+hex(key hash)+base64(type ‖ public key)` with a matching id.
    #[error("verifier key {0:?} is malformed")]
    VerifierKey(String),
    /// Two known keys share a name and key hash, so a signature could not say which one made it.
    #[error("two known keys are named {name} with key hash {key_hash}")]
    AmbiguousKey {
        /// The shared name.
        name: KeyName,
        /// The shared key hash.
        key_hash: KeyHash,
    },
    /// A known key's signature does not verify: the whole note is refused.
    #[error("the signature of known key {name} ({key_hash}) does not verify")]
    InvalidSignature {
        /// The key's name.
        name: KeyName,
        /// The key's id.
        key_hash: KeyHash,
    },
    /// No known key signed the note.
    #[error("no known key signed the note")]
    NoVerifiedSignature,
    /// A cosignature's timestamp is beyond `2^63 - 1` seconds.
    #[error("cosignature timestamp {0} is beyond 2^63 - 1")]
    Timestamp(u64),
}

/// A signer's name in a note: non-empty, no Unicode space, no control character, no `+`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// Parses a key name.
    pub fn parse(name: &str) -> Result<Self, Error> {
        let valid = !name.is_empty()
            && !name.chars().any(|character| {
                character.is_whitespace() || character.is_control() || character == '+'
            });
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(Error::KeyName(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "KeyName({})", self.0)
    }
}

/// The 4-byte key hash (the specification's "key ID") that, with the name, says which key
/// made a signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyHash(pub [u8; KEY_HASH_BYTES]);

impl fmt::Display for KeyHash {
    /// Eight lowercase hexadecimal digits, as in a verifier key.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "KeyHash({self})")
    }
}

/// The signature types this module makes and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note's text.
    Ed25519,
    /// `0x04`: a timestamped Ed25519 `cosignature/v1` (c2sp.org/tlog-cosignature).
    CosignatureV1,
}

impl SignatureType {
    /// The type's identifier byte.
    pub fn byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::CosignatureV1 => 0x04,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        [Self::Ed25519, Self::CosignatureV1]
            .into_iter()
            .find(|kind| kind.byte() == byte)
    }
}

/// `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`.
fn key_hash(name: &KeyName, signature_type: SignatureType, key: &EventVerifyingKey) -> KeyHash {
    let mut hasher = Sha256::new();
    hasher.update(name.as_str().as_bytes());
    hasher.update([b'\n', signature_type.byte()]);
    hasher.update(key.to_bytes());
    let digest = hasher.finalize();
    KeyHash([digest[0], digest[1], digest[2], digest[3]])
}

/// A key the caller trusts to sign notes: its name, signature type and public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: KeyName,
    signature_type: SignatureType,
    key: EventVerifyingKey,
    key_hash: KeyHash,
}

impl NoteVerifier {
    /// The verifier for `key` signing as `name` with `signature_type`.
    pub fn new(name: KeyName, signature_type: SignatureType, key: EventVerifyingKey) -> Self {
        let key_hash = key_hash(&name, signature_type, &key);
        Self {
            name,
            signature_type,
            key,
            key_hash,
        }
    }

    /// Parses a verifier key (vkey): `name+hex(key hash)+base64(type ‖ 32-byte public key)`,
    /// refusing one whose key hash does not match the rest.
    pub fn parse_vkey(vkey: &str) -> Result<Self, Error> {
        let refuse = || Error::VerifierKey(vkey.to_owned());
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(refuse());
        };
        let name = KeyName::parse(name).map_err(|_| refuse())?;
        let mut claimed_id = [0_u8; KEY_HASH_BYTES];
        if id.len() != 2 * KEY_HASH_BYTES || id.bytes().any(|byte| byte.is_ascii_uppercase()) {
            return Err(refuse());
        }
        hex::decode_to_slice(id, &mut claimed_id).map_err(|_| refuse())?;
        let material = BASE64.decode(key).map_err(|_| refuse())?;
        let (&type_byte, public_key) = material.split_first().ok_or_else(refuse)?;
        let signature_type = SignatureType::from_byte(type_byte).ok_or_else(refuse)?;
        let public_key: &[u8; 32] = public_key.try_into().map_err(|_| refuse())?;
        let key = EventVerifyingKey::from_bytes(public_key).map_err(|_| refuse())?;
        let verifier = Self::new(name, signature_type, key);
        if verifier.key_hash.0 != claimed_id {
            return Err(refuse());
        }
        Ok(verifier)
    }

    /// The verifier key (vkey) text, which [`NoteVerifier::parse_vkey`] reads back.
    pub fn vkey(&self) -> String {
        let mut material = vec![self.signature_type.byte()];
        material.extend_from_slice(&self.key.to_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            self.key_hash,
            BASE64.encode(material)
        )
    }

    /// The key's name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key's id.
    pub fn key_hash(&self) -> KeyHash {
        self.key_hash
    }

    /// The signature type.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The public key.
    pub fn key(&self) -> &EventVerifyingKey {
        &self.key
    }

    /// Checks `signature` (the bytes after the key hash) over `text`; the timestamp of a
    /// cosignature. `Err(())` when it does not verify.
    fn check(&self, text: &str, signature: &[u8]) -> Result<Option<u64>, ()> {
        match self.signature_type {
            SignatureType::Ed25519 => {
                let signature = Signature::from_slice(signature).map_err(|_| ())?;
                self.key
                    .verify_raw(text.as_bytes(), &signature)
                    .map_err(|_| ())?;
                Ok(None)
            }
            SignatureType::CosignatureV1 => {
                let (timestamp, signature) = cosignature::split(signature).ok_or(())?;
                let message = cosignature::signed_message(text, timestamp).map_err(|_| ())?;
                self.key.verify_raw(&message, &signature).map_err(|_| ())?;
                Ok(Some(timestamp))
            }
        }
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    name: KeyName,
    key_hash: KeyHash,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature by the key named `name` with `key_hash`; `signature` is what follows the key
    /// id (64 bytes for Ed25519, 72 for a cosignature).
    pub fn new(name: KeyName, key_hash: KeyHash, signature: Vec<u8>) -> Self {
        Self {
            name,
            key_hash,
            signature,
        }
    }

    /// The signer's name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The signer's key hash.
    pub fn key_hash(&self) -> KeyHash {
        self.key_hash
    }

    /// The signature bytes after the key hash.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The signature line, with its final newline.
    pub fn line(&self) -> String {
        let mut bytes = self.key_hash.0.to_vec();
        bytes.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(bytes)
        )
    }

    fn parse_line(line: &str, position: usize) -> Result<Self, Error> {
        let refuse = |reason| Error::SignatureLine {
            line: position,
            reason,
        };
        let rest = line
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or_else(|| refuse("it does not start with an em dash and a space"))?;
        let (name, encoded) = rest
            .split_once(' ')
            .ok_or_else(|| refuse("no space separates the key name from the signature"))?;
        let name = KeyName::parse(name).map_err(|_| refuse("the key name is invalid"))?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| refuse("the signature is not canonical base64"))?;
        if bytes.len() <= KEY_HASH_BYTES {
            return Err(refuse(
                "the signature is shorter than a key hash and one byte",
            ));
        }
        let (key_hash, signature) = bytes.split_at(KEY_HASH_BYTES);
        let key_hash = KeyHash([key_hash[0], key_hash[1], key_hash[2], key_hash[3]]);
        Ok(Self::new(name, key_hash, signature.to_vec()))
    }
}

/// A signature of a known key that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key's name.
    pub name: KeyName,
    /// The key's id.
    pub key_hash: KeyHash,
    /// The signature type.
    pub signature_type: SignatureType,
    /// When the cosigner signed (POSIX seconds), for a cosignature.
    pub timestamp: Option<u64>,
}

/// A note: text and the signatures over it, verified or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note with `text` and no signature yet. The text must be non-empty, end in a newline
    /// and hold no ASCII control character but newline.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        check_characters(&text)?;
        if !text.ends_with('\n') {
            return Err(Error::TextEnding);
        }
        if text.len() > NOTE_LENGTH_MAX_BYTES {
            return Err(Error::TooLong);
        }
        Ok(Self {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note, without verifying any signature (see [`Note::verify`]).
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > NOTE_LENGTH_MAX_BYTES {
            return Err(Error::TooLong);
        }
        let note = std::str::from_utf8(bytes).map_err(|_| Error::NotUtf8)?;
        check_characters(note)?;
        let split = note.rfind("\n\n").ok_or(Error::NoSignatureBlock)?;
        let (text, block) = (&note[..=split], &note[split + 2..]);
        let Some(block) = block.strip_suffix('\n') else {
            return Err(Error::NoSignatureBlock);
        };
        let mut signatures = Vec::new();
        for (position, line) in block.split('\n').enumerate() {
            if signatures.len() == SIGNATURES_MAX {
                return Err(Error::TooManySignatures);
            }
            signatures.push(NoteSignature::parse_line(line, position + 1)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signatures, in order, verified or not.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line, replacing one by the same (name, key hash).
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<(), Error> {
        let same_key = |existing: &NoteSignature| {
            existing.name == signature.name && existing.key_hash == signature.key_hash
        };
        if let Some(existing) = self
            .signatures
            .iter_mut()
            .find(|existing| same_key(existing))
        {
            *existing = signature;
            return Ok(());
        }
        if self.signatures.len() == SIGNATURES_MAX {
            return Err(Error::TooManySignatures);
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Signs the text with `key` as `name` (signature type `0x01`, Ed25519 over the text).
    pub fn sign(&mut self, name: &KeyName, key: &EventSigningKey) -> Result<(), Error> {
        let verifier = NoteVerifier::new(name.clone(), SignatureType::Ed25519, key.verifying_key());
        let signature = key.sign_raw(self.text.as_bytes()).to_bytes();
        let line = NoteSignature::new(name.clone(), verifier.key_hash, signature.to_vec());
        self.add_signature(line)
    }

    /// Verifies the signatures of the `known` keys (see the module documentation): the
    /// verified ones, in order, one per key; unknown signers are left out.
    pub fn verify(&self, known: &[NoteVerifier]) -> Result<Vec<Verified>, Error> {
        let mut verified: Vec<Verified> = Vec::new();
        for signature in &self.signatures {
            let mut matching = known.iter().filter(|verifier| {
                verifier.name == signature.name && verifier.key_hash == signature.key_hash
            });
            let Some(verifier) = matching.next() else {
                continue;
            };
            if matching.next().is_some() {
                return Err(Error::AmbiguousKey {
                    name: signature.name.clone(),
                    key_hash: signature.key_hash,
                });
            }
            let timestamp = verifier
                .check(&self.text, &signature.signature)
                .map_err(|()| Error::InvalidSignature {
                    name: signature.name.clone(),
                    key_hash: signature.key_hash,
                })?;
            let seen = verified
                .iter()
                .any(|done| done.name == signature.name && done.key_hash == signature.key_hash);
            if !seen {
                verified.push(Verified {
                    name: signature.name.clone(),
                    key_hash: signature.key_hash,
                    signature_type: verifier.signature_type,
                    timestamp,
                });
            }
        }
        if verified.is_empty() {
            return Err(Error::NoVerifiedSignature);
        }
        Ok(verified)
    }
}

impl fmt::Display for Note {
    /// The note as it is sent: text, a blank line, the signature lines.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)?;
        formatter.write_str("\n")?;
        for signature in &self.signatures {
            formatter.write_str(&signature.line())?;
        }
        Ok(())
    }
}

/// Refuses ASCII control characters (below U+0020) other than newline.
fn check_characters(text: &str) -> Result<(), Error> {
    match text
        .char_indices()
        .find(|&(_, character)| character < ' ' && character != '\n')
    {
        Some((offset, character)) => Err(Error::ControlCharacter { character, offset }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_refuse_spaces_plus_and_control_characters() {
        let rows = [
            ("example.com/log", true),
            ("PeterNeumann", true),
            ("oid/1.3.6.1.4.1", true),
            ("", false),
            ("a b", false),
            ("a+b", false),
            ("a\u{00a0}b", false),
            ("a\u{2003}b", false),
            ("a\tb", false),
        ];
        for (name, valid) in rows {
            assert_eq!(KeyName::parse(name).is_ok(), valid, "{name:?}");
        }
    }

    #[test]
    fn a_note_text_must_end_in_a_newline_and_hold_no_control_character() {
        assert!(Note::new("a\n").is_ok());
        assert_eq!(Note::new("a"), Err(Error::TextEnding));
        assert_eq!(Note::new(""), Err(Error::TextEnding));
        assert!(matches!(
            Note::new("a\rb\n"),
            Err(Error::ControlCharacter {
                character: '\r',
                offset: 1
            })
        ));
    }
}
