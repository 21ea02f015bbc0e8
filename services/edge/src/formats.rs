//! Closed formats the coordinator checks on input beyond the domain's own parsers
//! (`StateCode`, `CaseRef`, `IdempotencyKey`): what the privacy test of `accord-proto`
//! (`proto/tests/it/privacy.rs`, `Format`) promises each string field it reaches holds.
//!
//! - [`event_key`]: an event's key as its acting node made it (event.proto,
//!   `EventAttestation.idempotency_key`), never a caseworker's own text.
//!
//! Pure: no I/O, no clock. Errors never repeat the value they refuse (it may be anything a
//! caller sent); the service decides what to echo (`echo::cut_long_values`).

use accord_domain::CaseRef;

/// What a node's pseudonym of a caller's key starts with (the scheme's version).
pub const EVENT_KEY_PSEUDONYM_PREFIX: &str = "k1-";

/// How many lowercase hex digits follow [`EVENT_KEY_PSEUDONYM_PREFIX`]: HMAC-SHA-256's 32
/// bytes.
pub const EVENT_KEY_PSEUDONYM_DIGITS: usize = 64;

/// What a deadline event's key starts with.
pub const EVENT_KEY_DEADLINE_PREFIX: &str = "deadline:";

/// The longest step code a deadline key may name.
pub const EVENT_KEY_STEP_LENGTH_MAX: usize = 64;

/// A value that is not of its format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not an event key.
    #[error(
        "is not an event key: `k1-` and 64 lowercase hex digits, or \
         `deadline:CASE_REF:STEP` with a valid case reference and an upper-case step code"
    )]
    EventKey,
}

/// An event's key, read: which of the two forms event.proto allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKey {
    /// `k1-` and 64 lowercase hex digits: the acting node's pseudonym of its caller's key
    /// (HMAC-SHA-256 under a secret the node keeps), which tells nothing of the key.
    Pseudonym,
    /// `deadline:CASE_REF:STEP`: the system event a passed deadline records, which both
    /// parties derive alike.
    Deadline {
        /// The case the deadline is of (a reader checks it is the event's own case).
        case_ref: CaseRef,
        /// The step's code, upper case (`ACCEPTED_BY_DEFAULT`).
        step: String,
    },
}

/// Reads an event's key (event.proto, `EventAttestation.idempotency_key`): `k1-` and 64
/// lowercase hex digits, or `deadline:` + a valid case reference + `:` + an upper-case code
/// of `[A-Z_]+`. Anything else is refused, so no caseworker's text reaches the ledger.
pub fn event_key(text: &str) -> Result<EventKey, Error> {
    if let Some(digits) = text.strip_prefix(EVENT_KEY_PSEUDONYM_PREFIX) {
        let lowercase_hex = |byte: u8| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
        return if digits.len() == EVENT_KEY_PSEUDONYM_DIGITS && digits.bytes().all(lowercase_hex) {
            Ok(EventKey::Pseudonym)
        } else {
            Err(Error::EventKey)
        };
    }
    let rest = text
        .strip_prefix(EVENT_KEY_DEADLINE_PREFIX)
        .ok_or(Error::EventKey)?;
    let (case_ref, step) = rest.rsplit_once(':').ok_or(Error::EventKey)?;
    let step_is_code = (1..=EVENT_KEY_STEP_LENGTH_MAX).contains(&step.len())
        && step
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte == b'_');
    if !step_is_code {
        return Err(Error::EventKey);
    }
    let case_ref = CaseRef::parse(case_ref).map_err(|_| Error::EventKey)?;
    Ok(EventKey::Deadline {
        case_ref,
        step: step.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use accord_domain::CaseRef;

    use super::{Error, EventKey, event_key};

    const CASE_REF: &str = "RDM-GB-FR-01HZY7N4Q8R2S3T4V5W6X7Y8Z9";

    fn pseudonym(digits: &str) -> String {
        format!("k1-{digits}")
    }

    fn check(text: &str, expected: Result<EventKey, Error>) {
        assert_eq!(event_key(text), expected, "{text:?}");
    }

    #[test]
    fn a_pseudonym_is_k1_and_64_lowercase_hex_digits() {
        let hex = "0123456789abcdef".repeat(4);
        check(&pseudonym(&hex), Ok(EventKey::Pseudonym));
        check(&pseudonym(&hex.to_uppercase()), Err(Error::EventKey));
        check(&pseudonym(&hex[..63]), Err(Error::EventKey));
        check(&pseudonym(&format!("{hex}0")), Err(Error::EventKey));
        check(
            &pseudonym(&format!("{}g", &hex[..63])),
            Err(Error::EventKey),
        );
        check(&format!("k2-{hex}"), Err(Error::EventKey));
        check(&format!("K1-{hex}"), Err(Error::EventKey));
        check("k1-", Err(Error::EventKey));
    }

    #[test]
    fn a_deadline_key_names_a_valid_case_and_an_upper_case_step() {
        let case_ref = CaseRef::parse(CASE_REF).unwrap();
        for step in ["ACCEPTED_BY_DEFAULT", "EXPIRED", "GRANT_LAPSED"] {
            check(
                &format!("deadline:{CASE_REF}:{step}"),
                Ok(EventKey::Deadline {
                    case_ref: case_ref.clone(),
                    step: step.to_owned(),
                }),
            );
        }
        for refused in [
            format!("deadline:{CASE_REF}:"),
            format!("deadline:{CASE_REF}:accepted_by_default"),
            format!("deadline:{CASE_REF}:ACCEPTED BY DEFAULT"),
            format!("deadline:{CASE_REF}:ACCEPTED-1"),
            format!("deadline:{CASE_REF}:{}", "A".repeat(65)),
            format!("deadline:{CASE_REF}"),
            "deadline:RDM-GB-FR:EXPIRED".to_owned(),
            "deadline:XXX-GB-FR-1:EXPIRED".to_owned(),
            "deadline::EXPIRED".to_owned(),
            format!("deadline:{CASE_REF}:Jane:EXPIRED"),
            format!("Deadline:{CASE_REF}:EXPIRED"),
        ] {
            check(&refused, Err(Error::EventKey));
        }
    }

    #[test]
    fn a_caseworker_s_text_is_no_event_key() {
        for text in [
            "",
            "Jane.Doe.1990-01-01",
            "open-1",
            "claim:ADM-GB-FR-01HZY7N4Q8R2S3T4V5W6X7Y8Z9",
            "receipt:RDM-GB-FR-01HZY7N4Q8R2S3T4V5W6X7Y8Z9",
            "018f3a6e-7c2b-7d4e-9f10-2b3c4d5e6f70",
        ] {
            check(text, Err(Error::EventKey));
        }
    }

    #[test]
    fn the_refusal_repeats_nothing_of_the_value() {
        let refusal = event_key("Jane.Doe.1990-01-01").unwrap_err().to_string();
        assert!(!refusal.contains("Jane"), "{refusal}");
    }
}
