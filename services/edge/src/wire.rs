//! The wire forms every service reads and writes alike: times, required fields, state codes,
//! and the enums whose values are named after the domain's codes (`WireCode`).
//!
//! Each service's own conversions (its requests into commands, its records into messages)
//! stay in its `convert` module; this module knows no request of theirs.

use accord_domain::{StateCode, Timestamp};
use accord_proto::v1 as pb;

use crate::violation::Violations;

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
    let time = required(violations, field, time)?;
    violations.check(field, from_wire_time(time))
}

/// A required message field: its value, or a violation.
pub fn required<'a, T>(
    violations: &mut Violations,
    field: &str,
    value: Option<&'a T>,
) -> Option<&'a T> {
    if value.is_none() {
        violations.add(field, "is required");
    }
    value
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
    coded_from_wire::<pb::Regime, _>(value, |code| accord_domain::Regime::parse(code).ok())
}

/// The wire regime of a domain regime.
pub fn regime_to_wire(regime: accord_domain::Regime) -> pb::Regime {
    coded_to_wire(regime.code())
}

/// A wire enum whose values are named `PREFIX_CODE` after the codes of a domain enum
/// (`READMISSION_STATUS_ACCEPTED` ↔ `ACCEPTED`); its zero, the default, is UNSPECIFIED.
pub trait WireCode: TryFrom<i32> + Default {
    /// The prefix of its value names.
    const PREFIX: &'static str;
    /// The value's name (`as_str_name`).
    fn name(&self) -> &'static str;
    /// The value of a name (`from_str_name`).
    fn from_name(name: &str) -> Option<Self>;
}

/// Implements [`WireCode`] for each wire enum with the prefix of its value names.
macro_rules! wire_codes {
    ($($wire:ty: $prefix:literal),+ $(,)?) => {$(
        impl WireCode for $wire {
            const PREFIX: &'static str = $prefix;
            fn name(&self) -> &'static str {
                self.as_str_name()
            }
            fn from_name(name: &str) -> Option<Self> {
                Self::from_str_name(name)
            }
        }
    )+};
}

wire_codes! {
    pb::Regime: "REGIME_",
    pb::MemberStatus: "MEMBER_STATUS_",
    pb::MemberStatusReason: "MEMBER_STATUS_REASON_",
    pb::EnrolmentStatus: "ENROLMENT_STATUS_",
    pb::CertificateRole: "CERTIFICATE_ROLE_",
    pb::SigningKeyStatus: "SIGNING_KEY_STATUS_",
    pb::ReadmissionStatus: "READMISSION_STATUS_",
    pb::ReadmissionReason: "READMISSION_REASON_",
    pb::LegalHoldKind: "LEGAL_HOLD_KIND_",
    pb::AdmissionStatus: "ADMISSION_STATUS_",
    pb::AdmissionRefusalReason: "ADMISSION_REFUSAL_REASON_",
    pb::OfferPauseReason: "OFFER_PAUSE_REASON_",
    pb::BreakKind: "BREAK_KIND_",
    pb::BreakAgeBucket: "BREAK_AGE_BUCKET_",
}

/// The wire value of a domain code; UNSPECIFIED if this version has no such value.
pub fn coded_to_wire<W: WireCode>(code: &str) -> W {
    W::from_name(&format!("{}{code}", W::PREFIX)).unwrap_or_default()
}

/// A wire enum value as a domain coded enum, matched by name (`PREFIX_NAME` ↔ `NAME`) and read
/// by `parse`. `None` for UNSPECIFIED or a value this version does not know.
pub fn coded_from_wire<W: WireCode, T>(value: i32, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
    parse(W::try_from(value).ok()?.name().strip_prefix(W::PREFIX)?)
}
