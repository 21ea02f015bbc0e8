//! Conversions between the wire types (`accord-proto`) and the domain types
//! (`accord-domain`): events and records per case kind (`readmission`, `admission`), and
//! every request parsed into its use-case command and every answer into its response (`*_rpc`), with the field rules they
//! share (`fields`). Every conversion from the wire validates and names the offending
//! field — all of them at once; every conversion to the wire is total.

pub mod admission;
pub mod admission_rpc;
pub mod answers;
pub mod command;
pub mod envelope;
pub mod fields;
pub mod offer_rpc;
pub mod readmission;
pub mod readmission_rpc;

use accord_domain::{CaseKind, CaseRef, FreeText, IdempotencyKey, StateCode, Timestamp};
use accord_proto::v1 as pb;

use crate::violation::{Invalid, Violations};

/// What a request's parser knows besides the request itself.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The RPC's method name, for the idempotency record.
    pub operation: &'static str,
    /// SHA-256 of the request's encoding (`app::request_digest`): tells a replay from a
    /// reuse of its key.
    pub request_digest: Vec<u8>,
    /// This node's state.
    pub own_state: StateCode,
    /// This node's time.
    pub now: Timestamp,
}

impl RequestContext {
    /// The key that makes this request idempotent.
    pub fn key(&self, idempotency_key: IdempotencyKey) -> command::RequestKey {
        command::RequestKey {
            idempotency_key,
            operation: self.operation,
            request_digest: self.request_digest.clone(),
        }
    }
}

/// The answer to a request whose fields were all read but one of them yielded nothing;
/// unreachable while every reader records a violation when it yields nothing.
pub fn incomplete() -> Invalid {
    Invalid::field("request", "is incomplete")
}

/// Reads the idempotency key and the reference of `kind` that every step request carries,
/// and what `build` reads from the rest; every violation at once.
pub fn keyed_step<T>(
    idempotency_key: &str,
    reference_field: &str,
    reference: &str,
    kind: CaseKind,
    build: impl FnOnce(&mut Violations) -> Option<T>,
) -> Result<(IdempotencyKey, CaseRef, T), Invalid> {
    let mut violations = Violations::new();
    let key = fields::idempotency_key(&mut violations, idempotency_key);
    let reference = fields::reference_of_kind(&mut violations, reference_field, reference, kind);
    let built = build(&mut violations);
    violations.finish()?;
    match (key, reference, built) {
        (Some(key), Some(reference), Some(built)) => Ok((key, reference, built)),
        _ => Err(incomplete()),
    }
}

/// Reads a lone reference of `kind` (the `Get…` requests).
pub fn lone_reference(field: &str, text: &str, kind: CaseKind) -> Result<CaseRef, Invalid> {
    let mut violations = Violations::new();
    let reference = fields::reference_of_kind(&mut violations, field, text, kind);
    violations.finish()?;
    reference.ok_or_else(incomplete)
}

/// Reads a history read's reference of `kind` and its page.
pub fn history_page(
    reference_field: &str,
    reference: &str,
    kind: CaseKind,
    after_sequence: u64,
    page_size: u32,
    page_token: &str,
) -> Result<(CaseRef, command::EventPageRequest), Invalid> {
    let mut violations = Violations::new();
    let reference = fields::reference_of_kind(&mut violations, reference_field, reference, kind);
    let after_sequence = fields::after_sequence(&mut violations, after_sequence, page_token);
    violations.finish()?;
    let reference = reference.ok_or_else(incomplete)?;
    Ok((
        reference,
        command::EventPageRequest {
            after_sequence,
            page_size,
        },
    ))
}

/// A domain instant as a protobuf timestamp.
pub fn to_wire_time(time: Timestamp) -> prost_types::Timestamp {
    let millis = time.as_millis();
    prost_types::Timestamp {
        seconds: millis.div_euclid(1_000),
        nanos: i32::try_from(millis.rem_euclid(1_000) * 1_000_000).unwrap_or(0),
    }
}

/// A protobuf timestamp as a domain instant (millisecond precision; sub-millisecond parts
/// are truncated, so that both nodes of a case derive the same instant).
pub fn from_wire_time(time: &prost_types::Timestamp) -> Result<Timestamp, String> {
    if !(0..1_000_000_000).contains(&time.nanos) {
        return Err(format!("nanos {} must be within 0..1e9", time.nanos));
    }
    let millis = time
        .seconds
        .checked_mul(1_000)
        .and_then(|millis| millis.checked_add(i64::from(time.nanos / 1_000_000)))
        .ok_or_else(|| "timestamp out of range".to_owned())?;
    Timestamp::from_millis(millis).map_err(|error| error.to_string())
}

/// Reads a required timestamp field, recording a violation when absent or invalid.
pub fn required_time(
    violations: &mut Violations,
    field: &str,
    time: Option<&prost_types::Timestamp>,
) -> Option<Timestamp> {
    match time {
        None => {
            violations.add(field, "is required");
            None
        }
        Some(time) => violations.check(field, from_wire_time(time)),
    }
}

/// Reads a required state code field.
pub fn required_state(violations: &mut Violations, field: &str, text: &str) -> Option<StateCode> {
    if text.is_empty() {
        violations.add(field, "is required");
        return None;
    }
    violations.check(field, StateCode::parse(text))
}

/// The domain regime of a wire regime; `None` for UNSPECIFIED or an unknown value.
pub fn regime_from_wire(value: i32) -> Option<accord_domain::Regime> {
    let name = pb::Regime::try_from(value).ok()?.as_str_name();
    accord_domain::Regime::parse(name.strip_prefix("REGIME_")?).ok()
}

/// The wire regime of a domain regime.
pub fn regime_to_wire(regime: accord_domain::Regime) -> pb::Regime {
    pb::Regime::from_str_name(&format!("REGIME_{}", regime.code()))
        .unwrap_or(pb::Regime::Unspecified)
}

/// A wire enum value as a domain coded enum, matched by name (`PREFIX_NAME` ↔ `NAME`).
/// `None` for UNSPECIFIED or a value this version does not know.
pub fn coded_from_wire<T>(
    name: Option<&'static str>,
    prefix: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    parse(name?.strip_prefix(prefix)?)
}

/// Validates and converts personal data.
pub fn person_from_wire(
    violations: &mut Violations,
    field: &str,
    person: Option<&pb::PersonalData>,
    now: Timestamp,
) -> Option<accord_domain::person::PersonalData> {
    use accord_domain::person::{BirthYear, Nationality, PersonalData, Pseudonym};
    let Some(person) = person else {
        violations.add(field, "is required");
        return None;
    };
    // Each part is checked on its own, so the caller learns every bad field at once.
    let current_year = now.date().year();
    let pseudonym = violations.check(
        &format!("{field}.keyed_pseudonym"),
        Pseudonym::parse(&person.keyed_pseudonym),
    );
    let nationality = violations.check(
        &format!("{field}.nationality"),
        Nationality::parse(&person.nationality),
    );
    let birth_year = violations.check(
        &format!("{field}.birth_year"),
        BirthYear::new(i64::from(person.birth_year), current_year),
    );
    pseudonym.and(nationality).and(birth_year)?;
    violations.check(
        field,
        PersonalData::parse(
            &person.keyed_pseudonym,
            &person.nationality,
            i64::from(person.birth_year),
            current_year,
            person.vulnerable,
            person.family_ties,
        ),
    )
}

/// A coded reason with an optional note as the domain's free text: the note when given,
/// else the code's name. Both nodes derive the same text from the same event.
pub fn coded_text(code_name: &str, note: &str) -> Result<FreeText, String> {
    let text = if note.trim().is_empty() {
        code_name
    } else {
        note
    };
    FreeText::parse(text).map_err(|error| error.to_string())
}

macro_rules! receipt_responses {
    ($($response:ty),+ $(,)?) => {$(
        impl From<command::Receipt> for $response {
            fn from(receipt: command::Receipt) -> Self {
                Self {
                    receipt_time: Some(to_wire_time(receipt.receipt_time)),
                    already_delivered: receipt.already_delivered,
                }
            }
        }
    )+};
}

receipt_responses! {
    pb::DeliverReadmissionEventResponse,
    pb::DeliverOfferEventResponse,
    pb::DeliverAdmissionEventResponse,
}

/// Implements `From` for the responses every kind shares the shape of: a history page
/// (`List…Events`), one record with its history (`Get…`), and a page of records without
/// (`List…`). `$to_wire` is the kind's record conversion, `$records` the list's field.
macro_rules! record_responses {
    ($kind:ty, $to_wire:path, $events:ty, $get:ty { $one:ident }, $list:ty { $records:ident }) => {
        impl From<command::EventPage<envelope::Signed<$kind>>> for $events {
            fn from(page: command::EventPage<envelope::Signed<$kind>>) -> Self {
                Self {
                    events: page
                        .events
                        .into_iter()
                        .map(envelope::Signed::into_wire)
                        .collect(),
                    next_page_token: page.next_page_token,
                }
            }
        }

        impl From<command::Answer<$kind>> for $get {
            fn from(answer: command::Answer<$kind>) -> Self {
                Self {
                    $one: Some($to_wire(&answer, true)),
                }
            }
        }

        impl From<command::RecordPage<$kind>> for $list {
            fn from(page: command::RecordPage<$kind>) -> Self {
                Self {
                    $records: page
                        .records
                        .iter()
                        .map(|answer| $to_wire(answer, false))
                        .collect(),
                    next_page_token: page.next_page_token.unwrap_or_default(),
                }
            }
        }
    };
}

record_responses!(
    accord_domain::readmission::ReadmissionCase,
    readmission::answer_to_wire,
    pb::ListReadmissionEventsResponse,
    pb::GetReadmissionResponse { readmission },
    pb::ListReadmissionsResponse { readmissions }
);

record_responses!(
    accord_domain::admission::Offer,
    admission::offer_answer_to_wire,
    pb::ListOfferEventsResponse,
    pb::GetOfferResponse { offer },
    pb::ListOffersResponse { offers }
);

record_responses!(
    accord_domain::admission::AdmissionCase,
    admission::admission_answer_to_wire,
    pb::ListAdmissionEventsResponse,
    pb::GetAdmissionResponse { admission },
    pb::ListAdmissionsResponse { admissions }
);
