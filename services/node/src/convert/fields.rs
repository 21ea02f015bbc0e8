//! The field rules every request shares: required and optional texts with their limits,
//! references of a kind, enums, instants, idempotency keys and page tokens.
//!
//! Each reader records what is wrong in a [`Violations`] and returns the value when it is
//! good, so a request's parser reads every field and the caller learns every bad field at
//! once. Limits are the ones the proto documents, named here once.

use accord_domain::{CaseKind, CaseRef, FreeText, IdempotencyKey, StateCode, Timestamp};

use super::{from_wire_time, required_state, required_time};
use crate::violation::Violations;

/// The longest note on a readmission step (readmission.proto: "up to 2,000 characters").
pub const NOTE_LENGTH_MAX_CHARS: usize = 2_000;

/// The longest reference: a document, decision, hold, hand-over point, entry point or
/// expression of interest (1 to 128 characters).
pub const REFERENCE_LENGTH_MAX_CHARS: usize = 128;

/// The most evidence items one request carries.
pub const EVIDENCE_ITEMS_MAX: usize = 50;

/// Records or cases per page of a list when the caller names none.
pub const LIST_PAGE_SIZE_DEFAULT: u32 = 50;

/// Reads the idempotency key every mutating request carries.
pub fn idempotency_key(violations: &mut Violations, text: &str) -> Option<IdempotencyKey> {
    if text.is_empty() {
        violations.add("idempotency_key", "is required");
        return None;
    }
    violations.check("idempotency_key", IdempotencyKey::parse(text))
}

/// Reads a required reference that must be of `kind`.
pub fn reference_of_kind(
    violations: &mut Violations,
    field: &str,
    text: &str,
    kind: CaseKind,
) -> Option<CaseRef> {
    if text.is_empty() {
        violations.add(field, "is required");
        return None;
    }
    let case_ref = violations.check(field, CaseRef::parse(text))?;
    if case_ref.kind() != kind {
        violations.add(field, format!("must be a {} reference", kind.prefix()));
        return None;
    }
    Some(case_ref)
}

/// A required free text.
pub fn required_text(violations: &mut Violations, field: &str, value: &str) -> Option<FreeText> {
    if value.trim().is_empty() {
        violations.add(field, "is required");
        return None;
    }
    violations.check(field, FreeText::parse(value))
}

/// An optional free text: empty is fine, otherwise it must be valid text.
pub fn free_text(violations: &mut Violations, field: &str, value: &str) {
    if !value.is_empty() {
        let _checked = violations.check(field, FreeText::parse(value));
    }
}

/// An optional note: empty, or valid text of at most [`NOTE_LENGTH_MAX_CHARS`].
pub fn note(violations: &mut Violations, field: &str, value: &str) {
    text_of_at_most(violations, field, value, NOTE_LENGTH_MAX_CHARS);
}

/// Valid text of at most `max_chars`, or empty.
fn text_of_at_most(violations: &mut Violations, field: &str, value: &str, max_chars: usize) {
    if value.chars().count() > max_chars {
        violations.add(field, format!("has more than {max_chars} characters"));
    } else {
        free_text(violations, field, value);
    }
}

/// A reference of at most [`REFERENCE_LENGTH_MAX_CHARS`]; `required` refuses an empty one.
pub fn reference(violations: &mut Violations, field: &str, value: &str, required: bool) {
    if value.trim().is_empty() {
        if required {
            violations.add(field, "is required");
        }
    } else {
        text_of_at_most(violations, field, value, REFERENCE_LENGTH_MAX_CHARS);
    }
}

/// An optional free text of the admission API: empty is fine, otherwise valid text of at
/// most `max_chars`.
pub fn bounded_text(violations: &mut Violations, field: &str, value: &str, max_chars: usize) {
    if value.is_empty() {
        return;
    }
    let chars = value.chars().count();
    if chars > max_chars {
        violations.add(field, format!("is {chars} characters; at most {max_chars}"));
        return;
    }
    let _checked = violations.check(field, FreeText::parse(value));
}

/// A short optional label of the admission API (entry point, expression of interest, …):
/// at most `max_chars` characters, no control characters.
pub fn short_text(violations: &mut Violations, field: &str, value: &str, max_chars: usize) {
    let chars = value.chars().count();
    if chars > max_chars {
        violations.add(field, format!("is {chars} characters; at most {max_chars}"));
    }
    if value.chars().any(char::is_control) {
        violations.add(field, "must not contain control characters");
    }
}

/// A wire enum value this version knows; `required` refuses its zero (UNSPECIFIED).
pub fn known_enum<E: TryFrom<i32>>(
    violations: &mut Violations,
    field: &str,
    value: i32,
    required: bool,
) {
    match E::try_from(value) {
        Err(_) => violations.add(field, format!("{value} is not a known value")),
        Ok(_) if required && value == 0 => violations.add(field, "is required"),
        Ok(_) => {}
    }
}

/// A step's coded reason and its note (a withdrawal, a failed transfer): `reason` a known,
/// specified code of `E`, the note as `note_rule` allows; the domain's text of both
/// ([`super::coded_text`]), a bad one named `note`.
pub fn coded_reason<E: TryFrom<i32>>(
    violations: &mut Violations,
    reason: i32,
    name: fn(&E) -> &'static str,
    note: &str,
    note_rule: impl FnOnce(&mut Violations, &str, &str),
) -> Option<FreeText> {
    known_enum::<E>(violations, "reason", reason, true);
    note_rule(violations, "note", note);
    let name = name(&E::try_from(reason).ok()?);
    violations.check("note", super::coded_text(name, note))
}

/// A required instant that has already happened by this node's clock.
pub fn past_time(
    violations: &mut Violations,
    field: &str,
    time: Option<&prost_types::Timestamp>,
    now: Timestamp,
) -> Option<Timestamp> {
    let time = required_time(violations, field, time)?;
    if time > now {
        violations.add(field, "must not be in the future");
    }
    Some(time)
}

/// An optional instant.
pub fn optional_time(
    violations: &mut Violations,
    field: &str,
    time: Option<&prost_types::Timestamp>,
) -> Option<Timestamp> {
    time.and_then(|time| violations.check(field, from_wire_time(time)))
}

/// An optional state filter: empty for none.
pub fn optional_state(violations: &mut Violations, field: &str, text: &str) -> Option<StateCode> {
    if text.is_empty() {
        return None;
    }
    required_state(violations, field, text)
}

/// The page token of a list: the last reference of the previous page, of `kind`.
pub fn list_page_token(violations: &mut Violations, token: &str, kind: CaseKind) -> Option<String> {
    if token.is_empty() {
        return None;
    }
    reference_of_kind(violations, "page_token", token, kind).map(|case_ref| case_ref.to_string())
}

/// A list's page size: the default for 0 (the use case caps it at the node's maximum).
pub fn list_page_size(page_size: u32) -> u32 {
    if page_size == 0 {
        LIST_PAGE_SIZE_DEFAULT
    } else {
        page_size
    }
}

/// Where a history read starts: after the page token's sequence (the last one of the
/// previous page), which must not lie before `after_sequence`, or else after `after_sequence`.
pub fn after_sequence(violations: &mut Violations, after_sequence: u64, page_token: &str) -> u64 {
    if page_token.is_empty() {
        return after_sequence;
    }
    match page_token.parse::<u64>() {
        Ok(last) if last >= after_sequence => last,
        _ => {
            violations.add(
                "page_token",
                "is not a token this node returned for this history",
            );
            after_sequence
        }
    }
}

/// A list's status filter: each wire value as `from_wire` reads it; an unknown value is a
/// violation named by its index.
pub fn statuses<T>(
    violations: &mut Violations,
    values: &[i32],
    from_wire: impl Fn(i32) -> Option<T>,
) -> Vec<T> {
    codes(violations, "statuses", values, from_wire, "status")
}

/// A repeated wire enum field (`field`) as domain values, each as `from_wire` reads it; a
/// value it does not know is a violation named by its index, saying it is not a known `what`.
pub fn codes<T>(
    violations: &mut Violations,
    field: &str,
    values: &[i32],
    from_wire: impl Fn(i32) -> Option<T>,
    what: &str,
) -> Vec<T> {
    let mut read = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        match from_wire(*value) {
            Some(code) => read.push(code),
            None => violations.add(
                format!("{field}[{index}]"),
                format!("{value} is not a known {what}"),
            ),
        }
    }
    read
}
