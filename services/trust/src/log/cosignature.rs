//! Witness cosignatures (`c2sp.org/tlog-cosignature`, Ed25519 `cosignature/v1`): a member
//! node's statement that, at a given time, a checkpoint is the largest consistent tree head
//! it has seen of the coordinator's log.
//!
//! The signed message is two header lines and the checkpoint's whole note text:
//!
//! ```text
//! cosignature/v1
//! time <POSIX seconds, decimal, no leading zeroes>
//! <checkpoint text>
//! ```
//!
//! and the signature line's bytes after the key hash are `timestamp (8 bytes, big-endian) ‖
//! Ed25519 signature (64 bytes)`. The key hash uses signature type `0x04`, so a cosigner's key
//! never passes as a log's (`0x01`) even under the same name.
//!
//! What this module does not do: it does not check that the checkpoint is consistent with
//! the last one the witness cosigned (a [`super::ConsistencyProof`] does, before the caller
//! cosigns), and it never reads the clock — the caller passes the time.

use super::note::{self, KeyName, Note, NoteSignature, NoteVerifier, SignatureType};
use crate::signing::{EventSigningKey, EventVerifyingKey, Signature};

/// The header line that separates cosignatures from every other use of the key.
const HEADER: &str = "cosignature/v1";

/// Latest timestamp a cosignature may carry: `2^63 - 1` seconds.
pub const TIMESTAMP_MAX: u64 = i64::MAX as u64;

/// Length of the timestamp in front of the signature, in bytes.
const TIMESTAMP_BYTES: usize = 8;

/// Length of an Ed25519 signature, in bytes.
const SIGNATURE_BYTES: usize = 64;

/// The exact bytes a cosigner signs for `text` at `timestamp` (POSIX seconds).
pub fn signed_message(text: &str, timestamp: u64) -> Result<Vec<u8>, note::Error> {
    if timestamp > TIMESTAMP_MAX {
        return Err(note::Error::Timestamp(timestamp));
    }
    Ok(format!("{HEADER}\ntime {timestamp}\n{text}").into_bytes())
}

/// Cosigns `note` (a checkpoint) with `key` as `name` at `timestamp` (POSIX seconds),
/// adding the signature line — or replacing this cosigner's earlier one.
pub fn cosign(
    note: &mut Note,
    name: &KeyName,
    key: &EventSigningKey,
    timestamp: u64,
) -> Result<(), note::Error> {
    let message = signed_message(note.text(), timestamp)?;
    let signature = key.sign_raw(&message);
    let verifier = NoteVerifier::new(
        name.clone(),
        SignatureType::CosignatureV1,
        key.verifying_key(),
    );
    let mut bytes = timestamp.to_be_bytes().to_vec();
    bytes.extend_from_slice(&signature.to_bytes());
    note.add_signature(NoteSignature::new(name.clone(), verifier.key_hash(), bytes))
}

/// Checks that `key` cosigned checkpoint `text` at `timestamp` with `signature` — what a log
/// checks before it records a witness's cosignature sent without its note line.
pub fn verify(
    text: &str,
    timestamp: u64,
    key: &EventVerifyingKey,
    signature: &Signature,
) -> Result<(), note::Error> {
    let message = signed_message(text, timestamp)?;
    key.verify_raw(&message, signature)
        .map_err(|_| note::Error::NoVerifiedSignature)
}

/// The note's signature line of `key`'s cosignature, as `name`, at `timestamp`.
pub fn line(
    name: &KeyName,
    key: &EventVerifyingKey,
    timestamp: u64,
    signature: &Signature,
) -> NoteSignature {
    let verifier = NoteVerifier::new(name.clone(), SignatureType::CosignatureV1, *key);
    let mut bytes = timestamp.to_be_bytes().to_vec();
    bytes.extend_from_slice(&signature.to_bytes());
    NoteSignature::new(name.clone(), verifier.key_hash(), bytes)
}

/// Splits a cosignature's bytes (after the key hash) into its timestamp and signature; `None`
/// unless they are 8 + 64 bytes.
pub(crate) fn split(bytes: &[u8]) -> Option<(u64, Signature)> {
    if bytes.len() != TIMESTAMP_BYTES + SIGNATURE_BYTES {
        return None;
    }
    let (timestamp, signature) = bytes.split_at(TIMESTAMP_BYTES);
    let timestamp = u64::from_be_bytes(timestamp.try_into().ok()?);
    Some((timestamp, Signature::from_slice(signature).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_message_is_the_specifications_example() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let expected = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n\
                        20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        assert_eq!(
            signed_message(text, 1_679_315_147).unwrap(),
            expected.as_bytes()
        );
        assert!(signed_message(text, TIMESTAMP_MAX).is_ok());
        assert_eq!(
            signed_message(text, TIMESTAMP_MAX + 1),
            Err(note::Error::Timestamp(TIMESTAMP_MAX + 1))
        );
    }
}
