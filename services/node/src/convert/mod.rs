//! Conversions between the wire types (`accord-proto`) and the domain types
//! (`accord-domain`), one file per case kind. Every conversion from the wire validates and
//! names the offending field; every conversion to the wire is total.

pub mod admission;
pub mod readmission;

use accord_domain::{FreeText, StateCode, Timestamp};
use accord_proto::v1 as pb;

use crate::app::Violations;

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
