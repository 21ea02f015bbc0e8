//! The envelope: a case event as it is signed, stored, sent and checked — the one place that
//! handles signed wire bytes (event.proto, common.proto).
//!
//! A [`Signed`] event pairs the signed wire event, kept verbatim (its bytes are what the
//! actor signed, what both nodes store, and what the partner receives), with the domain
//! event read from it. Use cases see the domain event and carry the envelope through; they
//! never build or read a wire event themselves.
//!
//! The acting node signs an event in three steps: it names its key and leaves the signature
//! empty; it computes `event_digest`, the SHA-256 of the event's canonical bytes (its
//! deterministic protobuf encoding); it signs the person-free `EventAttestation` that carries
//! the digest. A receiver repeats the steps and checks the signature with the partner's key.
//! The coordinator, which sees only attestations, can check the same signatures without ever
//! seeing the event's detail.

use std::fmt;

use accord_domain::{Event, Lifecycle, Regime, StateCode};
use accord_proto::v1 as pb;
use accord_trust::{EventSigningKey, EventVerifyingKey, Signature, SigningDomain};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::violation::Invalid;

/// Why an envelope is refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A field of the event is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The signature does not verify under the acting state's key.
    #[error("the signature of {0} does not verify under the sender's key")]
    SignatureInvalid(String),
    /// Stored bytes that do not decode, or not to what this version writes: a corrupted
    /// store.
    #[error("{subject} as stored is not understood")]
    Corrupt {
        /// What was read: an event (its case and sequence), or an answer.
        subject: String,
        /// What the decoder or the domain said.
        #[source]
        source: std::sync::Arc<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// The store's `subject` is not understood, for the reason `source` gives.
    pub fn corrupt(
        subject: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Corrupt {
            subject: subject.into(),
            source: source.into().into(),
        }
    }
}

/// One lifecycle as it travels: its wire event and detail, and the conversions between the
/// wire event and the domain's. Implemented for readmission cases, offers and admission cases
/// (in `readmission` and `admission`).
pub trait Wire: Lifecycle + 'static {
    /// The wire event.
    type WireEvent: Message + Default + Clone + PartialEq + Send + Sync + 'static;
    /// What a wire event carries beyond the domain's facts (the person, evidence, notes…).
    type Detail: Clone + fmt::Debug + PartialEq + Send + Sync + 'static;
    /// What a caseworker's step request asks to check against the stored record beyond the
    /// domain's rules (`command::Step::checks`).
    type Checks: Clone + fmt::Debug + Default + Send + Sync + 'static;

    /// The unsigned wire event of `event`, with the actor's key and the detail.
    fn to_wire(
        event: &Event<Self::Kind>,
        idempotency_key: &str,
        detail: Option<Self::Detail>,
    ) -> Self::WireEvent;

    /// The domain event of a wire event, every field the domain needs checked. `regime` is
    /// the regime of the case where the wire event does not repeat it (admission cases
    /// take theirs from the offer).
    fn from_wire(
        event: &Self::WireEvent,
        regime: Option<Regime>,
    ) -> Result<Event<Self::Kind>, Invalid>;

    /// The wire event's detail.
    fn detail(event: &Self::WireEvent) -> Option<&Self::Detail>;

    /// The fields every wire event shares.
    fn header(event: &Self::WireEvent) -> Header<'_>;

    /// Sets the key id and the signature.
    fn set_signature(event: &mut Self::WireEvent, signing_key_id: String, signature: Vec<u8>);

    /// The kind as the attestation names it.
    fn attested_kind(event: &Self::WireEvent) -> pb::event_attestation::Kind;

    /// The kind's name as the store's event table keeps it (`SUBMITTED`, `SLOT_CLAIMED`…).
    fn kind_name(event: &Self::WireEvent) -> String;
}

/// The fields every wire event shares, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    /// The case (or offer) reference.
    pub case_ref: &'a str,
    /// Position in the case, from 1.
    pub sequence: u64,
    /// The state that acted and signs.
    pub acting_state: &'a str,
    /// When it happened.
    pub occurred_at: Option<prost_types::Timestamp>,
    /// The actor's idempotency key.
    pub idempotency_key: &'a str,
    /// The signing key's id.
    pub signing_key_id: &'a str,
    /// The signature bytes.
    pub signature: &'a [u8],
}

/// Reads the fields every wire event shares — its reference (`reference_field`, of
/// `reference_kind`), acting state, time and sequence — and its kind with `read_kind`
/// (given the reference when it reads); `is_clock` tells a clock's event from a state's.
/// Every violation at once.
pub fn read_event<K>(
    header: Header<'_>,
    reference_field: &str,
    reference_kind: accord_domain::CaseKind,
    read_kind: impl FnOnce(
        &mut crate::violation::Violations,
        Option<&accord_domain::CaseRef>,
    ) -> Option<K>,
    is_clock: impl FnOnce(&K) -> bool,
) -> Result<Event<K>, Invalid> {
    use accord_domain::Actor;
    let mut violations = crate::violation::Violations::new();
    let case_ref = super::fields::reference_of_kind(
        &mut violations,
        reference_field,
        header.case_ref,
        reference_kind,
    );
    let acting_state =
        violations.check("event.acting_state", StateCode::parse(header.acting_state));
    let occurred_at = super::required_time(
        &mut violations,
        "event.occurred_at",
        header.occurred_at.as_ref(),
    );
    if header.sequence == 0 {
        violations.add("event.sequence", "must be at least 1");
    }
    let kind = read_kind(&mut violations, case_ref.as_ref());
    violations.finish()?;
    let (Some(case_ref), Some(state), Some(occurred_at), Some(kind)) =
        (case_ref, acting_state, occurred_at, kind)
    else {
        return Err(Invalid::field("event", "is incomplete"));
    };
    let actor = if is_clock(&kind) {
        Actor::Clock(state)
    } else {
        Actor::State(state)
    };
    Ok(Event {
        case_ref,
        sequence: header.sequence,
        actor,
        occurred_at,
        kind,
    })
}

/// The wire kind of an event: a kind this version knows, or a violation.
pub fn known_kind<W: TryFrom<i32>>(
    violations: &mut crate::violation::Violations,
    value: i32,
) -> Option<W> {
    let known = W::try_from(value).ok();
    if known.is_none() {
        violations.add("event.kind", format!("{value} is not a known event kind"));
    }
    known
}

/// An event the domain cannot read: its kind is UNSPECIFIED (`unspecified`), or its detail
/// is not the one its kind `kind_name` needs.
pub fn unreadable_kind<K>(
    violations: &mut crate::violation::Violations,
    unspecified: bool,
    kind_name: &str,
) -> Option<K> {
    if unspecified {
        violations.add("event.kind", "is required");
    } else {
        violations.add("event.detail", format!("{kind_name} needs its detail"));
    }
    None
}

/// A signed event: the wire event as signed, and the domain event read from it.
pub struct Signed<L: Wire> {
    wire: L::WireEvent,
    event: Event<L::Kind>,
}

impl<L: Wire> Clone for Signed<L> {
    fn clone(&self) -> Self {
        Self {
            wire: self.wire.clone(),
            event: self.event.clone(),
        }
    }
}

impl<L: Wire> fmt::Debug for Signed<L> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Signed")
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

impl<L: Wire> PartialEq for Signed<L> {
    fn eq(&self, other: &Self) -> bool {
        self.wire == other.wire
    }
}

impl<L: Wire> Signed<L> {
    /// Signs `event` with this state's key, with the actor's idempotency key and the detail.
    pub fn sign(
        event: Event<L::Kind>,
        idempotency_key: &str,
        detail: Option<L::Detail>,
        signer: &EventSigningKey,
    ) -> Self {
        let mut wire = L::to_wire(&event, idempotency_key, detail);
        let pair = (event.case_ref.first_state(), event.case_ref.second_state());
        L::set_signature(&mut wire, signer.key_id().to_string(), Vec::new());
        let attestation = attestation::<L>(&wire, pair);
        let signature = signer.sign(SigningDomain::EVENT, &attestation.encode_to_vec());
        L::set_signature(
            &mut wire,
            signer.key_id().to_string(),
            signature.to_bytes().to_vec(),
        );
        Self { wire, event }
    }

    /// A delivered event: read, then its signature checked under the acting state's key.
    pub fn verified(
        wire: L::WireEvent,
        regime: Option<Regime>,
        key: &EventVerifyingKey,
    ) -> Result<Self, Error> {
        let event = L::from_wire(&wire, regime)?;
        let pair = (event.case_ref.first_state(), event.case_ref.second_state());
        verify::<L>(&wire, pair, key)?;
        Ok(Self { wire, event })
    }

    /// An event as the store keeps it.
    pub fn stored(bytes: &[u8], regime: Option<Regime>) -> Result<Self, Error> {
        let wire =
            L::WireEvent::decode(bytes).map_err(|error| Error::corrupt("an event", error))?;
        Self::trusted(wire, regime)
    }

    /// A wire event this node keeps already (stored, or inside a stored answer): read
    /// without checking its signature again.
    pub fn trusted(wire: L::WireEvent, regime: Option<Regime>) -> Result<Self, Error> {
        let event = L::from_wire(&wire, regime).map_err(|invalid| {
            let header = L::header(&wire);
            Error::corrupt(
                format!("event {} #{}", header.case_ref, header.sequence),
                invalid,
            )
        })?;
        Ok(Self { wire, event })
    }

    /// The domain event.
    pub fn event(&self) -> &Event<L::Kind> {
        &self.event
    }

    /// The wire event, as signed.
    pub fn wire(&self) -> &L::WireEvent {
        &self.wire
    }

    /// The wire event, as signed, taken out.
    pub fn into_wire(self) -> L::WireEvent {
        self.wire
    }

    /// The detail the event carries beyond the domain's facts.
    pub fn detail(&self) -> Option<&L::Detail> {
        L::detail(&self.wire)
    }

    /// The fields every wire event shares.
    pub fn header(&self) -> Header<'_> {
        L::header(&self.wire)
    }

    /// The signed bytes, as stored and sent.
    pub fn encoded(&self) -> Vec<u8> {
        self.wire.encode_to_vec()
    }

    /// The kind's name as the store's event table keeps it.
    pub fn kind_name(&self) -> String {
        L::kind_name(&self.wire)
    }
}

/// The person-free statement of `event` that its actor signs; `pair` is the case's (first,
/// second) states.
pub fn attestation<L: Wire>(
    event: &L::WireEvent,
    pair: (StateCode, StateCode),
) -> pb::EventAttestation {
    let header = L::header(event);
    let mut unsigned = event.clone();
    L::set_signature(&mut unsigned, header.signing_key_id.to_owned(), Vec::new());
    let event_digest = Sha256::digest(unsigned.encode_to_vec()).to_vec();
    pb::EventAttestation {
        case_ref: header.case_ref.to_owned(),
        pair: Some(pb::StatePair {
            first_state: pair.0.to_string(),
            second_state: pair.1.to_string(),
        }),
        sequence: header.sequence,
        acting_state: header.acting_state.to_owned(),
        occurred_at: header.occurred_at,
        idempotency_key: header.idempotency_key.to_owned(),
        signing_key_id: header.signing_key_id.to_owned(),
        event_digest,
        kind: Some(L::attested_kind(event)),
    }
}

/// What this node reports of a stored event to the coordinator's ledger: the event's
/// attestation and its signature, nothing of the event's detail.
pub fn ledger_report(case_ref: &str, envelope: &[u8]) -> Result<pb::EventReport, Error> {
    use accord_domain::admission::{AdmissionCase, Offer};
    use accord_domain::readmission::ReadmissionCase;
    use accord_domain::{CaseKind, CaseRef};
    let case = CaseRef::parse(case_ref).map_err(|error| Error::corrupt(case_ref, error))?;
    let pair = (case.first_state(), case.second_state());
    match case.kind() {
        CaseKind::Readmission => report_of::<ReadmissionCase>(case_ref, envelope, pair),
        CaseKind::Admission => report_of::<AdmissionCase>(case_ref, envelope, pair),
        CaseKind::Offer => report_of::<Offer>(case_ref, envelope, pair),
    }
}

fn report_of<L: Wire>(
    case_ref: &str,
    envelope: &[u8],
    pair: (StateCode, StateCode),
) -> Result<pb::EventReport, Error> {
    let event = L::WireEvent::decode(envelope).map_err(|error| Error::corrupt(case_ref, error))?;
    Ok(pb::EventReport {
        attestation: Some(attestation::<L>(&event, pair)),
        signature: L::header(&event).signature.to_vec(),
    })
}

/// Checks `event`'s signature under the acting state's key.
fn verify<L: Wire>(
    event: &L::WireEvent,
    pair: (StateCode, StateCode),
    key: &EventVerifyingKey,
) -> Result<(), Error> {
    let header = L::header(event);
    let subject = format!("{} #{}", header.case_ref, header.sequence);
    // The caller chose `key` by the event's key id where the coordinator's directory lists
    // the partner's keys (`app::partners`); a configured partner has exactly one key, and
    // another key id (another state's, or one never configured) cannot become known by
    // retrying, so the event is invalid, not "signed under a key not yet known".
    if header.signing_key_id != key.key_id().to_string() {
        return Err(Error::SignatureInvalid(format!(
            "{subject} (signed under key id {:?}, not {}'s key {})",
            header.signing_key_id,
            header.acting_state,
            key.key_id()
        )));
    }
    let signature = Signature::from_slice(header.signature)
        .map_err(|_| Error::SignatureInvalid(subject.clone()))?;
    let attestation = attestation::<L>(event, pair);
    key.verify(
        SigningDomain::EVENT,
        &attestation.encode_to_vec(),
        &signature,
    )
    .map_err(|_| Error::SignatureInvalid(subject))
}

/// Implements the methods of [`Wire`] that every wire event type shares: its unsigned form
/// (`to_wire`, with the kind's conversion `$kind_to_wire`), its header and signature, and
/// its kind as the attestation and the store name it.
macro_rules! wire_header {
    ($reference:ident, $kind:ident, $wire_kind:ty, $prefix:literal, $kind_to_wire:path) => {
        fn to_wire(
            event: &accord_domain::Event<Self::Kind>,
            idempotency_key: &str,
            detail: Option<Self::Detail>,
        ) -> Self::WireEvent {
            Self::WireEvent {
                $reference: event.case_ref.to_string(),
                sequence: event.sequence,
                kind: $kind_to_wire(&event.kind) as i32,
                acting_state: event.actor.state().to_string(),
                occurred_at: Some(crate::convert::to_wire_time(event.occurred_at)),
                idempotency_key: idempotency_key.to_owned(),
                detail,
                signing_key_id: String::new(),
                signature: Vec::new(),
            }
        }

        fn header(event: &Self::WireEvent) -> crate::convert::envelope::Header<'_> {
            crate::convert::envelope::Header {
                case_ref: &event.$reference,
                sequence: event.sequence,
                acting_state: &event.acting_state,
                occurred_at: event.occurred_at,
                idempotency_key: &event.idempotency_key,
                signing_key_id: &event.signing_key_id,
                signature: &event.signature,
            }
        }

        fn set_signature(event: &mut Self::WireEvent, signing_key_id: String, signature: Vec<u8>) {
            event.signing_key_id = signing_key_id;
            event.signature = signature;
        }

        fn attested_kind(event: &Self::WireEvent) -> pb::event_attestation::Kind {
            pb::event_attestation::Kind::$kind(event.kind)
        }

        fn kind_name(event: &Self::WireEvent) -> String {
            <$wire_kind>::try_from(event.kind)
                .map(|kind| kind.as_str_name().trim_start_matches($prefix).to_owned())
                .unwrap_or_default()
        }
    };
}

pub(crate) use wire_header;
