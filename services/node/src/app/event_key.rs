//! The keys of this node's events (event.proto, `EventAttestation.idempotency_key`): made by
//! this node, never the caller's own.
//!
//! A caseworker's idempotency key may be any printable text (a name and a birth date pass
//! validation), and an event's key travels in its attestation to the coordinator. So a
//! request's key is replaced, where it enters the use cases (`idempotency::Asked`), by its
//! pseudonym: `k1-` and the 64 lowercase hex digits of HMAC-SHA-256 of the key under the
//! node's secret (`store::NodeSecret`). The idempotency record, the event, its delivery and
//! a replay all name the pseudonym; the same caller's key always gives the same one (the
//! secret outlives restarts), and no one without the secret can tell from it what the
//! caller's key was. The caller's own key is kept nowhere; it is only echoed back to the
//! caller who sent it, when it was used before with other content.
//!
//! The events this node records of its own accord (a receipt, a parity refusal, an offer's
//! slot claimed or released) have pseudonyms too, of what they record and the case
//! ([`EventKeys::of_own_step`]), never equal to a caller's. A deadline's key is not secret:
//! both parties derive `deadline:CASE_REF:STEP` alike ([`EventKey::of_deadline`]).
//! This module does not check keys the partners send: their format is the coordinator's
//! to check (`accord_edge::formats::event_key`).

use accord_domain::{CaseRef, IdempotencyKey};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::store::NodeSecret;

/// What a pseudonymous event key starts with: its scheme's version, so that a later scheme
/// (another secret, another MAC) can be told apart.
const PSEUDONYM_PREFIX: &str = "k1-";

/// What a deadline's event key starts with.
const DEADLINE_PREFIX: &str = "deadline:";

/// Put before the input of a key this node makes for itself (`of_own_step`): a caller's
/// key is printable ASCII and never holds this byte, so no caller's key can give the same
/// pseudonym.
const OWN_INPUT_MARK: u8 = 0;

/// The maker of this node's event keys: HMAC-SHA-256 keyed once with the node's secret.
/// Cheap to clone; its `Debug` shows nothing of the secret.
#[derive(Clone)]
pub(crate) struct EventKeys {
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for EventKeys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("EventKeys(..)")
    }
}

impl EventKeys {
    /// The maker keyed with `secret`.
    pub(crate) fn new(secret: &NodeSecret) -> Self {
        let keyed = Hmac::<Sha256>::new_from_slice(secret.expose())
            .expect("HMAC takes a key of any length");
        Self { keyed }
    }

    /// The key of the event a request keyed `caller_key` records.
    pub(crate) fn of_request(&self, caller_key: &IdempotencyKey) -> EventKey {
        self.pseudonym(&[caller_key.as_str().as_bytes()])
    }

    /// The key of an event this node records of its own accord, not at a caller's request
    /// nor at a deadline (a receipt, a parity refusal or pause, an offer's slot claimed or
    /// released with a case): named by `step` (what it records, e.g. `receipt`) and the
    /// record it concerns, so that an attempt made again gives the same key.
    pub(crate) fn of_own_step(&self, step: &str, case_ref: &CaseRef) -> EventKey {
        let case_ref = case_ref.to_string();
        let parts: [&[u8]; 4] = [
            &[OWN_INPUT_MARK],
            step.as_bytes(),
            b":",
            case_ref.as_bytes(),
        ];
        self.pseudonym(&parts)
    }

    /// `k1-` and the hex digits of the MAC of the concatenated `parts`.
    fn pseudonym(&self, parts: &[&[u8]]) -> EventKey {
        let mut mac = self.keyed.clone();
        for part in parts {
            mac.update(part);
        }
        let digest = mac.finalize().into_bytes();
        EventKey(format!("{PSEUDONYM_PREFIX}{}", hex::encode(digest)))
    }
}

/// An event's idempotency key as this node makes it: a pseudonym (`k1-…`) or a deadline's
/// key (`deadline:CASE_REF:STEP`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventKey(String);

impl EventKey {
    /// The key of the system event that records `step` (its upper-case code, e.g.
    /// `ACCEPTED_BY_DEFAULT`) when a deadline of `case_ref` passes; both parties derive it
    /// alike.
    pub(crate) fn of_deadline(case_ref: &CaseRef, step: &str) -> Self {
        Self(format!("{DEADLINE_PREFIX}{case_ref}:{step}"))
    }

    /// The key as events carry it.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EventKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use accord_domain::{CaseRef, IdempotencyKey};

    use super::{EventKey, EventKeys};
    use crate::store::NodeSecret;

    fn keys(byte: u8) -> EventKeys {
        EventKeys::new(&NodeSecret::from_bytes([byte; NodeSecret::LEN]))
    }

    fn caller_key(text: &str) -> IdempotencyKey {
        IdempotencyKey::parse(text).unwrap()
    }

    #[test]
    fn a_request_s_key_is_k1_and_the_hmac_sha256_of_the_caller_s_key_in_lowercase_hex() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut secret = [0u8; NodeSecret::LEN];
        secret[..4].copy_from_slice(b"Jefe");
        let padded = EventKeys::new(&NodeSecret::from_bytes(secret));
        // HMAC pads a short key with zeros to the block size, so "Jefe" and "Jefe" followed
        // by 28 zero bytes are the same key.
        let key = padded.pseudonym(&[b"what do ya", b" want for nothing?"]);
        assert_eq!(
            key.as_str(),
            "k1-5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let caller_key = caller_key("Jane.Doe.1990-01-01");
        assert_eq!(
            padded.of_request(&caller_key),
            padded.pseudonym(&[caller_key.as_str().as_bytes()])
        );
    }

    #[test]
    fn the_same_caller_key_gives_the_same_event_key_and_another_secret_another() {
        let key = caller_key("Jane.Doe.1990-01-01");
        let first = keys(1).of_request(&key);
        assert_eq!(first, keys(1).of_request(&key));
        assert_ne!(first, keys(2).of_request(&key));
        assert_ne!(
            first,
            keys(1).of_request(&caller_key("Jane.Doe.1990-01-02"))
        );
        assert!(!first.as_str().contains("Jane"), "{first}");
        assert_eq!(first.as_str().len(), 3 + 64);
    }

    #[test]
    fn an_own_step_s_key_is_a_pseudonym_too_and_no_caller_s_key_s() {
        let case_ref = CaseRef::parse("ADM-GB-FR-01HZY7N4Q8R2S3T4V5W6X7Y8Z9").unwrap();
        let keys = keys(7);
        let claim = keys.of_own_step("claim", &case_ref);
        assert!(claim.as_str().starts_with("k1-"));
        assert_eq!(claim.as_str().len(), 3 + 64);
        assert_ne!(
            claim,
            keys.of_request(&caller_key(&format!("claim:{case_ref}")))
        );
        assert_ne!(claim, keys.of_own_step("release", &case_ref));
        assert_eq!(claim, keys.of_own_step("claim", &case_ref));
    }

    #[test]
    fn a_deadline_s_key_names_the_case_and_the_step() {
        let case_ref = CaseRef::parse("RDM-GB-FR-01HZY7N4Q8R2S3T4V5W6X7Y8Z9").unwrap();
        assert_eq!(
            EventKey::of_deadline(&case_ref, "ACCEPTED_BY_DEFAULT").as_str(),
            "deadline:RDM-GB-FR-01HZY7N4Q8R2S3T4V5W6X7Y8Z9:ACCEPTED_BY_DEFAULT"
        );
    }

    #[test]
    fn every_key_this_node_makes_is_one_the_coordinator_accepts() {
        let case_ref = CaseRef::parse("RDM-GB-FR-01HZY7N4Q8R2S3T4V5W6X7Y8Z9").unwrap();
        let keys = keys(3);
        for key in [
            keys.of_request(&caller_key("Jane.Doe.1990-01-01")),
            keys.of_own_step("receipt", &case_ref),
            EventKey::of_deadline(&case_ref, "ACCEPTED_BY_DEFAULT"),
        ] {
            assert!(
                accord_edge::formats::event_key(key.as_str()).is_ok(),
                "{key}"
            );
        }
    }

    #[test]
    fn the_maker_prints_nothing_of_its_secret() {
        assert_eq!(format!("{:?}", keys(0xAB)), "EventKeys(..)");
    }
}
