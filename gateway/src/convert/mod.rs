//! The one conversion layer between the REST bodies (`crate::json`) and the wire messages
//! (`accord_proto::v1`) of the node and of the coordinator (`settlement`, `ledger`).
//!
//! Requests are parsed field by field into a [`Fields`] collector, so that every malformed
//! field of a body is reported at once, as the node reports its own: a
//! `google.rpc.BadRequest` inside an `INVALID_ARGUMENT` status, which the gateway's one error
//! mapping (`crate::problem`) turns into HTTP. The gateway checks only what it must to build
//! a wire message (a code it cannot name, a time it cannot read); every rule of the scheme
//! stays with the node. Responses are converted without failing: a code the gateway does not
//! know is shown by its number.

pub mod admission;
pub mod ledger;
pub mod readmission;
pub mod schema;
pub mod settlement;

use std::collections::HashMap;

use accord_proto::v1 as pb;
use prost_types::Timestamp;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::json;

/// A protobuf enum shown in JSON as its name without the enum's prefix.
pub trait Coded: Sized + Copy {
    /// The prefix every value's name starts with, `REGIME_`.
    const PREFIX: &'static str;
    /// The full name of the value, `REGIME_UKFR_2025`.
    fn full_name(self) -> &'static str;
    /// The value of a full name.
    fn from_full_name(name: &str) -> Option<Self>;
    /// The value of a wire number.
    fn from_number(number: i32) -> Option<Self>;
    /// The wire number of the value.
    fn number(self) -> i32;
}

macro_rules! coded {
    ($($name:ident => $prefix:literal),* $(,)?) => {
        $(
            impl Coded for pb::$name {
                const PREFIX: &'static str = $prefix;
                fn full_name(self) -> &'static str {
                    self.as_str_name()
                }
                fn from_full_name(name: &str) -> Option<Self> {
                    Self::from_str_name(name)
                }
                fn from_number(number: i32) -> Option<Self> {
                    Self::try_from(number).ok()
                }
                fn number(self) -> i32 {
                    self as i32
                }
            }
        )*
    };
}

coded!(
    Regime => "REGIME_",
    TransportMode => "TRANSPORT_MODE_",
    ReadmissionStatus => "READMISSION_STATUS_",
    ReadmissionReason => "READMISSION_REASON_",
    ReadmissionRole => "READMISSION_ROLE_",
    ReadmissionDeadlineKind => "READMISSION_DEADLINE_KIND_",
    ReadmissionEventKind => "READMISSION_EVENT_KIND_",
    ReadmissionWithdrawalReason => "READMISSION_WITHDRAWAL_REASON_",
    EvidenceKind => "EVIDENCE_KIND_",
    LegalHoldKind => "LEGAL_HOLD_KIND_",
    TransferPostponementReason => "TRANSFER_POSTPONEMENT_REASON_",
    TransferFailureReason => "TRANSFER_FAILURE_REASON_",
    OfferStatus => "OFFER_STATUS_",
    OfferPauseReason => "OFFER_PAUSE_REASON_",
    OfferEventKind => "OFFER_EVENT_KIND_",
    AdmissionStatus => "ADMISSION_STATUS_",
    AdmissionRole => "ADMISSION_ROLE_",
    AdmissionRefusalReason => "ADMISSION_REFUSAL_REASON_",
    AdmissionEventKind => "ADMISSION_EVENT_KIND_",
    NominationWithdrawalReason => "NOMINATION_WITHDRAWAL_REASON_",
    RoundStatus => "ROUND_STATUS_",
    NettingMode => "NETTING_MODE_",
    BreakKind => "BREAK_KIND_",
    BreakStatus => "BREAK_STATUS_",
    BreakResolution => "BREAK_RESOLUTION_",
    BreakAgeBucket => "BREAK_AGE_BUCKET_",
    MemberStatus => "MEMBER_STATUS_",
    MemberStatusReason => "MEMBER_STATUS_REASON_",
    CertificateRole => "CERTIFICATE_ROLE_",
);

/// The code of wire value `number` (`UKFR_2025`); `None` for 0, the unspecified value.
pub fn code<E: Coded>(number: i32) -> Option<String> {
    if number == 0 {
        return None;
    }
    Some(match E::from_number(number) {
        Some(value) => value.full_name().trim_start_matches(E::PREFIX).to_owned(),
        None => number.to_string(),
    })
}

/// The code of `number`, or an empty string for the unspecified value.
pub fn code_or_empty<E: Coded>(number: i32) -> String {
    code::<E>(number).unwrap_or_default()
}

/// The codes of wire values.
pub fn codes<E: Coded>(numbers: &[i32]) -> Vec<String> {
    numbers
        .iter()
        .filter_map(|number| code::<E>(*number))
        .collect()
}

/// A wire time as RFC 3339.
pub fn time(timestamp: Option<&Timestamp>) -> Option<String> {
    timestamp.map(Timestamp::to_string)
}

/// The violations found while parsing one request body.
#[derive(Debug, Default)]
pub struct Fields {
    violations: Vec<(String, String)>,
}

impl Fields {
    /// Nothing found yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is invalid.
    pub fn invalid(&mut self, field: &str, description: impl Into<String>) {
        self.violations.push((field.to_owned(), description.into()));
    }

    /// The wire number of `code` at `field`; 0 (and a violation) when no value has it.
    pub fn code<E: Coded>(&mut self, field: &str, code: &str) -> i32 {
        match E::from_full_name(&format!("{}{code}", E::PREFIX)) {
            Some(value) if value.number() != 0 => value.number(),
            _ => {
                self.invalid(field, format!("{code:?} is not a known code"));
                0
            }
        }
    }

    /// As [`Fields::code`], for an optional code: absent is 0, the unspecified value.
    pub fn optional_code<E: Coded>(&mut self, field: &str, code: Option<&str>) -> i32 {
        code.map_or(0, |code| self.code::<E>(field, code))
    }

    /// The wire numbers of `codes` at `field[i]`.
    pub fn codes<E: Coded>(&mut self, field: &str, codes: &[String]) -> Vec<i32> {
        codes
            .iter()
            .enumerate()
            .map(|(index, code)| self.code::<E>(&format!("{field}[{index}]"), code))
            .collect()
    }

    /// The RFC 3339 time `text` at `field`.
    pub fn time(&mut self, field: &str, text: &str) -> Option<Timestamp> {
        match text.parse::<Timestamp>() {
            Ok(timestamp) => Some(timestamp),
            Err(_) => {
                self.invalid(field, format!("{text:?} is not an RFC 3339 time"));
                None
            }
        }
    }

    /// As [`Fields::time`], for an optional time.
    pub fn optional_time(&mut self, field: &str, text: Option<&str>) -> Option<Timestamp> {
        text.and_then(|text| self.time(field, text))
    }

    /// The bytes of lower-case hex `text` at `field`.
    pub fn hex(&mut self, field: &str, text: Option<&str>) -> Vec<u8> {
        match text.map(hex::decode) {
            None => Vec::new(),
            Some(Ok(bytes)) => bytes,
            Some(Err(_)) => {
                self.invalid(field, "is not hexadecimal");
                Vec::new()
            }
        }
    }

    /// `value` if every field parsed, else the `INVALID_ARGUMENT` status the node would give.
    pub fn finish<T>(self, value: T) -> Result<T, Status> {
        if self.violations.is_empty() {
            Ok(value)
        } else {
            Err(invalid(self.violations))
        }
    }
}

/// An `INVALID_ARGUMENT` status naming `violations`, shaped as the node's: a
/// `google.rpc.BadRequest` and the `FIELD_INVALID` reason.
pub fn invalid(violations: Vec<(String, String)>) -> Status {
    let message = violations
        .iter()
        .map(|(field, description)| format!("{field}: {description}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut details = ErrorDetails::new();
    for (field, description) in violations {
        details.add_bad_request_violation(field, description);
    }
    details.set_error_info(
        "FIELD_INVALID",
        accord_edge::ERROR_DOMAIN,
        HashMap::<String, String>::new(),
    );
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// The person as the wire carries it.
pub fn person_in(person: &json::Person) -> pb::PersonalData {
    pb::PersonalData {
        keyed_pseudonym: person.keyed_pseudonym.clone(),
        nationality: person.nationality.clone(),
        birth_year: person.birth_year.unwrap_or(0),
        vulnerable: person.vulnerable,
        family_ties: person.family_ties,
    }
}

/// The person as JSON shows it.
pub fn person_out(person: &pb::PersonalData) -> json::Person {
    json::Person {
        keyed_pseudonym: person.keyed_pseudonym.clone(),
        nationality: person.nationality.clone(),
        birth_year: (person.birth_year != 0).then_some(person.birth_year),
        vulnerable: person.vulnerable,
        family_ties: person.family_ties,
    }
}

/// A time range on the wire.
pub fn range_in(fields: &mut Fields, field: &str, range: &json::TimeRange) -> pb::TimeRange {
    pb::TimeRange {
        start_time: fields.time(&format!("{field}.start_time"), &range.start_time),
        end_time: fields.time(&format!("{field}.end_time"), &range.end_time),
    }
}

/// A time range in JSON.
pub fn range_out(range: &pb::TimeRange) -> json::TimeRange {
    json::TimeRange {
        start_time: time(range.start_time.as_ref()).unwrap_or_default(),
        end_time: time(range.end_time.as_ref()).unwrap_or_default(),
    }
}

/// What every signed event shows, whatever its kind.
pub fn event<K: Coded>(
    kind: i32,
    sequence: u64,
    acting_state: &str,
    occurred_at: Option<&Timestamp>,
    key_and_signature: (&str, &[u8]),
) -> json::Event {
    json::Event {
        sequence,
        kind: code_or_empty::<K>(kind),
        acting_state: acting_state.to_owned(),
        occurred_at: time(occurred_at),
        signing_key_id: key_and_signature.0.to_owned(),
        signature: hex::encode(key_and_signature.1),
    }
}

/// The filters of a list: the role's and statuses' codes, the update time.
pub struct ListFilters {
    /// The role's wire number; 0 for both.
    pub role: i32,
    /// The statuses' wire numbers.
    pub statuses: Vec<i32>,
    /// Only items updated since.
    pub updated_since: Option<Timestamp>,
}

/// Parses a list's query into wire filters of role type `R` and status type `S`.
pub fn list_filters<R: Coded, S: Coded>(
    fields: &mut Fields,
    query: &json::ListQuery,
) -> ListFilters {
    let statuses: Vec<String> = query
        .statuses
        .as_deref()
        .map(|list| list.split(',').map(str::trim).map(str::to_owned).collect())
        .unwrap_or_default();
    ListFilters {
        role: fields.optional_code::<R>("role", query.role.as_deref()),
        statuses: statuses
            .iter()
            .map(|status| fields.code::<S>("statuses", status))
            .collect(),
        updated_since: fields.optional_time("updated_since", query.updated_since.as_deref()),
    }
}

/// An absent string for an empty one: a last page's token.
pub fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}
