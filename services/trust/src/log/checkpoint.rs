//! Checkpoints (`c2sp.org/tlog-checkpoint`): the text form of a signed tree head, as a
//! signed note.
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeroes>
//! <root hash, base64>
//! [extension lines]
//!
//! — <log key name> base64(key hash ‖ signature)
//! — <witness name> base64(key hash ‖ timestamp ‖ signature)
//! ```
//!
//! [`Checkpoint::parse`] reads the note text strictly: at least three lines; a non-empty
//! origin; a size of ASCII digits without leading zeroes (but `0`) that fits in 64 bits; a
//! root hash that is canonical base64 of exactly 32 bytes; non-empty extension lines.
//! [`Checkpoint::open`] verifies a signed checkpoint: the log's signature must verify,
//! witnesses' cosignatures are checked when their keys are known and listed, unknown
//! signers are ignored. Accord names its log's key after the log's origin, as the
//! specification recommends, and `open` holds it to that, so a checkpoint of another log
//! never passes for this one.
//!
//! What this module does not do: it does not compute roots or check proofs
//! ([`super::proof`]), and it does not decide how many witnesses are enough.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::merkle::Hash;
use super::note::{self, KeyName, Note, NoteVerifier, SignatureType, Verified};
use crate::signing::EventSigningKey;

/// Why a checkpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The signed note is malformed, or its signatures do not hold.
    #[error(transparent)]
    Note(#[from] note::Error),
    /// The text has fewer than three lines, or does not end in a newline.
    #[error("a checkpoint has an origin, a tree size and a root hash, each on its own line")]
    Lines,
    /// The origin line is empty.
    #[error("the origin line is empty")]
    EmptyOrigin,
    /// The tree size is not a decimal without leading zeroes that fits in 64 bits.
    #[error("tree size {0:?} is not a decimal number without leading zeroes")]
    TreeSize(String),
    /// The root hash is not canonical base64 of 32 bytes.
    #[error("root hash {0:?} is not the base64 of 32 bytes")]
    RootHash(String),
    /// An extension line is empty.
    #[error("extension line {0} is empty")]
    EmptyExtension(usize),
    /// A line of the checkpoint (an origin or extension given to [`Checkpoint::new`]) holds a
    /// newline or control character.
    #[error("a checkpoint line holds a newline or control character")]
    LineCharacters,
    /// The log's key is not named after the checkpoint's origin.
    #[error("the checkpoint's origin {origin:?} is not the log's key name {log}")]
    OriginMismatch {
        /// The checkpoint's origin.
        origin: String,
        /// The log's key name.
        log: KeyName,
    },
    /// The log's key did not sign the checkpoint.
    #[error("the log {0} did not sign the checkpoint")]
    NotSignedByLog(KeyName),
    /// The key given as the log's is not a plain note key (signature type `0x01`).
    #[error("the log's key must be an Ed25519 note key, not a cosigner's")]
    LogKeyType,
}

/// A log's tree head as a checkpoint's text says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    tree_size: u64,
    root_hash: Hash,
    extensions: Vec<String>,
}

/// A checkpoint whose log signature verified, with the cosignatures that did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCheckpoint {
    /// The tree head.
    pub checkpoint: Checkpoint,
    /// The whole note, every signature line included (to pass on, or to cosign).
    pub note: Note,
    /// The known witnesses whose cosignatures verified, one per witness, in note order.
    pub cosignatures: Vec<Verified>,
}

impl Checkpoint {
    /// The tree head of the log named `origin` at `tree_size` with `root_hash`.
    pub fn new(origin: &KeyName, tree_size: u64, root_hash: Hash) -> Self {
        Self {
            origin: origin.as_str().to_owned(),
            tree_size,
            root_hash,
            extensions: Vec::new(),
        }
    }

    /// The same head with extension lines after the root hash (the specification advises
    /// against them: monitors cannot audit them). Each must be non-empty, on one line.
    pub fn with_extensions(mut self, extensions: Vec<String>) -> Result<Self, Error> {
        for (position, line) in extensions.iter().enumerate() {
            if line.is_empty() {
                return Err(Error::EmptyExtension(position + 1));
            }
            if line.chars().any(char::is_control) {
                return Err(Error::LineCharacters);
            }
        }
        self.extensions = extensions;
        Ok(self)
    }

    /// Parses a checkpoint's note text (see the module documentation for every rule).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let body = text.strip_suffix('\n').ok_or(Error::Lines)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(Error::Lines);
        };
        if origin.is_empty() {
            return Err(Error::EmptyOrigin);
        }
        let tree_size = parse_tree_size(size)?;
        let root_hash = BASE64
            .decode(root)
            .ok()
            .and_then(|bytes| Hash::from_slice(&bytes).ok())
            .ok_or_else(|| Error::RootHash(root.to_owned()))?;
        let mut extensions = Vec::new();
        for (position, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(Error::EmptyExtension(position + 1));
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            tree_size,
            root_hash,
            extensions,
        })
    }

    /// The note text: origin, size, root hash and extension lines, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            BASE64.encode(self.root_hash.as_bytes())
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of leaves.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// The root hash.
    pub fn root_hash(&self) -> &Hash {
        &self.root_hash
    }

    /// The extension lines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The checkpoint as a note signed by the log's `key`, named after the origin.
    pub fn sign(&self, key: &EventSigningKey) -> Result<Note, Error> {
        let name = KeyName::parse(&self.origin)?;
        let mut note = Note::new(self.to_text())?;
        note.sign(&name, key)?;
        Ok(note)
    }

    /// Parses and verifies a signed checkpoint: `log` must have signed it, and the
    /// checkpoint's origin must be the log's key name; the cosignatures of the `witnesses`
    /// (keys of type [`SignatureType::CosignatureV1`]) are checked and returned. A known
    /// signature that fails refuses the whole note; unknown signers are ignored.
    pub fn open(
        bytes: &[u8],
        log: &NoteVerifier,
        witnesses: &[NoteVerifier],
    ) -> Result<OpenedCheckpoint, Error> {
        if log.signature_type() != SignatureType::Ed25519 {
            return Err(Error::LogKeyType);
        }
        let note = Note::parse(bytes)?;
        let checkpoint = Self::parse(note.text())?;
        if checkpoint.origin != log.name().as_str() {
            return Err(Error::OriginMismatch {
                origin: checkpoint.origin,
                log: log.name().clone(),
            });
        }
        let mut known = vec![log.clone()];
        known.extend(
            witnesses
                .iter()
                .filter(|witness| witness.signature_type() == SignatureType::CosignatureV1)
                .cloned(),
        );
        let verified = match note.verify(&known) {
            Err(note::Error::NoVerifiedSignature) => {
                return Err(Error::NotSignedByLog(log.name().clone()));
            }
            outcome => outcome?,
        };
        let (logs, cosignatures): (Vec<Verified>, Vec<Verified>) = verified
            .into_iter()
            .partition(|signature| signature.signature_type == SignatureType::Ed25519);
        if logs.is_empty() {
            return Err(Error::NotSignedByLog(log.name().clone()));
        }
        Ok(OpenedCheckpoint {
            checkpoint,
            note,
            cosignatures,
        })
    }
}

/// A tree size: ASCII digits, no leading zero unless it is `0`, at most `u64::MAX`.
fn parse_tree_size(text: &str) -> Result<u64, Error> {
    let refuse = || Error::TreeSize(text.to_owned());
    let digits_only = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    if !digits_only || (text.len() > 1 && text.starts_with('0')) {
        return Err(refuse());
    }
    text.parse().map_err(|_| refuse())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_sizes_are_plain_decimals() {
        let rows = [
            ("0", Some(0)),
            ("20852163", Some(20_852_163)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("007", None),
            ("00", None),
            ("+7", None),
            ("-34", None),
            (" 7", None),
            ("", None),
            ("1e3", None),
        ];
        for (text, expected) in rows {
            assert_eq!(parse_tree_size(text).ok(), expected, "{text:?}");
        }
    }
}
