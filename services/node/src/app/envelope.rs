//! Signing and verifying case events as `accord.v1` describes (event.proto, common.proto).
//!
//! The acting node signs an event in three steps: it names its key and leaves the
//! signature empty; it computes `event_digest`, the SHA-256 of the event's canonical bytes
//! (its deterministic protobuf encoding); it signs the person-free `EventAttestation` that
//! carries the digest. A receiver repeats the steps and checks the signature with the
//! partner's key. The coordinator, which sees only attestations, can check the same
//! signatures without ever seeing the event's detail.

use accord_domain::StateCode;
use accord_proto::v1 as pb;
use accord_trust::{EventSigningKey, EventVerifyingKey, Signature, SigningDomain};
use prost::Message;
use sha2::{Digest, Sha256};

use super::error::Error;

/// The fields every case event shares: readmission, admission and offer events.
pub(crate) trait CaseEvent: Message + Clone + Default {
    /// The case (or offer) reference.
    fn case_ref(&self) -> &str;
    /// Position in the case, from 1.
    fn sequence(&self) -> u64;
    /// The state that acted and signs.
    fn acting_state(&self) -> &str;
    /// When it happened.
    fn occurred_at(&self) -> Option<prost_types::Timestamp>;
    /// The actor's idempotency key.
    fn idempotency_key(&self) -> &str;
    /// The signing key's id.
    fn signing_key_id(&self) -> &str;
    /// The signature bytes.
    fn signature(&self) -> &[u8];
    /// Sets key id and signature.
    fn set_signature(&mut self, signing_key_id: String, signature: Vec<u8>);
    /// The kind, as the attestation names it.
    fn attested_kind(&self) -> pb::event_attestation::Kind;
}

macro_rules! case_event {
    ($event:ty, $reference:ident, $kind:ident) => {
        impl CaseEvent for $event {
            fn case_ref(&self) -> &str {
                &self.$reference
            }
            fn sequence(&self) -> u64 {
                self.sequence
            }
            fn acting_state(&self) -> &str {
                &self.acting_state
            }
            fn occurred_at(&self) -> Option<prost_types::Timestamp> {
                self.occurred_at
            }
            fn idempotency_key(&self) -> &str {
                &self.idempotency_key
            }
            fn signing_key_id(&self) -> &str {
                &self.signing_key_id
            }
            fn signature(&self) -> &[u8] {
                &self.signature
            }
            fn set_signature(&mut self, signing_key_id: String, signature: Vec<u8>) {
                self.signing_key_id = signing_key_id;
                self.signature = signature;
            }
            fn attested_kind(&self) -> pb::event_attestation::Kind {
                pb::event_attestation::Kind::$kind(self.kind)
            }
        }
    };
}

case_event!(pb::ReadmissionEvent, case_ref, ReadmissionEventKind);
case_event!(pb::AdmissionEvent, case_ref, AdmissionEventKind);
case_event!(pb::OfferEvent, offer_ref, OfferEventKind);

/// The person-free statement of `event` that its actor signs.
pub(crate) fn attestation<E: CaseEvent>(
    event: &E,
    pair: (StateCode, StateCode),
) -> pb::EventAttestation {
    let mut unsigned = event.clone();
    unsigned.set_signature(event.signing_key_id().to_owned(), Vec::new());
    let event_digest = Sha256::digest(unsigned.encode_to_vec()).to_vec();
    pb::EventAttestation {
        case_ref: event.case_ref().to_owned(),
        pair: Some(pb::StatePair {
            first_state: pair.0.to_string(),
            second_state: pair.1.to_string(),
        }),
        sequence: event.sequence(),
        acting_state: event.acting_state().to_owned(),
        occurred_at: event.occurred_at(),
        idempotency_key: event.idempotency_key().to_owned(),
        signing_key_id: event.signing_key_id().to_owned(),
        event_digest,
        kind: Some(event.attested_kind()),
    }
}

/// Signs `event` in place with this state's key; `pair` is the case's (first, second) states.
pub(crate) fn sign<E: CaseEvent>(
    event: &mut E,
    pair: (StateCode, StateCode),
    signer: &EventSigningKey,
) {
    event.set_signature(signer.key_id().to_string(), Vec::new());
    let attestation = attestation(event, pair);
    let signature = signer.sign(SigningDomain::EVENT, &attestation.encode_to_vec());
    event.set_signature(signer.key_id().to_string(), signature.to_bytes().to_vec());
}

/// Checks `event`'s signature under the partner's key.
pub(crate) fn verify<E: CaseEvent>(
    event: &E,
    pair: (StateCode, StateCode),
    key: &EventVerifyingKey,
) -> Result<(), Error> {
    let subject = format!("{} #{}", event.case_ref(), event.sequence());
    // Until the coordinator's directory serves keys, the configuration names exactly one key
    // per partner: another key id (another state's, or one never configured) cannot become
    // known by retrying, so the event is invalid, not "signed under a key not yet known".
    if event.signing_key_id() != key.key_id().to_string() {
        return Err(Error::SignatureInvalid(format!(
            "{subject} (signed under key id {:?}, not {}'s key {})",
            event.signing_key_id(),
            event.acting_state(),
            key.key_id()
        )));
    }
    let signature = Signature::from_slice(event.signature())
        .map_err(|_| Error::SignatureInvalid(subject.clone()))?;
    let attestation = attestation(event, pair);
    key.verify(
        SigningDomain::EVENT,
        &attestation.encode_to_vec(),
        &signature,
    )
    .map_err(|_| Error::SignatureInvalid(subject))
}
