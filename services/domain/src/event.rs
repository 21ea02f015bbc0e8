//! The values every case event shares: who acts ([`Actor`]), the client's
//! [`IdempotencyKey`], and caseworkers' [`FreeText`].
//!
//! Every transition of a readmission, an admission or an offer is an event: a case
//! reference, a sequence number within the case, a kind, the acting state, the time, the
//! client-generated idempotency key and the kind's payload. Each lifecycle module defines its
//! own event type from these parts.
//!
//! This module does not define how events are encoded or signed: the wire form, its canonical
//! bytes and the signed `EventAttestation` belong to `accord-proto` (`common.proto`,
//! `event.proto`), and the node converts domain events to it at its edge.

use std::fmt;

use crate::StateCode;

/// The longest idempotency key, in bytes.
pub const IDEMPOTENCY_KEY_LENGTH_MAX: usize = 128;
/// The longest free text, in characters.
pub const FREE_TEXT_LENGTH_MAX_CHARS: usize = 4_000;

/// Why a value cannot be part of an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The idempotency key is empty, too long or has a character outside printable ASCII.
    #[error("an idempotency key must be 1 to 128 printable ASCII characters without spaces")]
    IdempotencyKey,
    /// The free text has no visible character.
    #[error("the text is blank")]
    BlankText,
    /// The free text is longer than the limit.
    #[error("the text has {chars} characters, more than {FREE_TEXT_LENGTH_MAX_CHARS}")]
    TextTooLong {
        /// The text's length in characters.
        chars: usize,
    },
    /// The free text has a control character other than line feed or tab.
    #[error("the text has a control character other than line feed or tab")]
    ControlCharacter,
}

/// Who takes a step: a state's people and systems, or a state's node recording a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Actor {
    /// A state acting through its caseworkers or its case system.
    State(StateCode),
    /// A state's node recording that a deadline has lapsed.
    Clock(StateCode),
}

impl Actor {
    /// The acting state, the one whose key signs the event.
    pub fn state(self) -> StateCode {
        match self {
            Actor::State(state) | Actor::Clock(state) => state,
        }
    }

    /// Whether this is a deadline clock rather than a decision.
    pub fn is_clock(self) -> bool {
        matches!(self, Actor::Clock(_))
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::State(state) => write!(f, "{state}"),
            Actor::Clock(state) => write!(f, "{state}'s deadline clock"),
        }
    }
}

/// A client-generated key that makes a step idempotent: a replay with the same key returns
/// the first result. 1 to 128 printable ASCII characters, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Validates a key.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let valid = (1..=IDEMPOTENCY_KEY_LENGTH_MAX).contains(&text.len())
            && text.bytes().all(|byte| byte.is_ascii_graphic());
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::IdempotencyKey)
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A caseworker's free text (detailed reasons, questions, grounds): 1 to 4000 characters with
/// at least one visible character, no control characters but line feed and tab.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FreeText(String);

impl FreeText {
    /// Validates a text. It is kept as written (not trimmed): the signed event carries it as is.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let chars = text.chars().count();
        if chars > FREE_TEXT_LENGTH_MAX_CHARS {
            return Err(Error::TextTooLong { chars });
        }
        if text
            .chars()
            .any(|character| character.is_control() && character != '\n' && character != '\t')
        {
            return Err(Error::ControlCharacter);
        }
        if text.trim().is_empty() {
            return Err(Error::BlankText);
        }
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FreeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_short_printable_ascii() {
        assert!(IdempotencyKey::parse("7f1c-2025-08-06/accept").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(128)).is_ok());
        for refused in ["", "with space", "tab\t", "é", &"k".repeat(129)] {
            assert_eq!(IdempotencyKey::parse(refused), Err(Error::IdempotencyKey));
        }
    }

    #[test]
    fn free_text_must_be_visible_bounded_and_free_of_control_characters() {
        assert!(FreeText::parse("No proof of transit.\nSee annex.").is_ok());
        assert_eq!(FreeText::parse(""), Err(Error::BlankText));
        assert_eq!(FreeText::parse(" \n\t "), Err(Error::BlankText));
        assert_eq!(FreeText::parse("a\u{0}b"), Err(Error::ControlCharacter));
        assert_eq!(FreeText::parse("a\r\nb"), Err(Error::ControlCharacter));
        assert!(FreeText::parse(&"é".repeat(4_000)).is_ok());
        assert_eq!(
            FreeText::parse(&"é".repeat(4_001)),
            Err(Error::TextTooLong { chars: 4_001 })
        );
    }

    #[test]
    fn actors_name_their_state() {
        let france = StateCode::parse("FR").unwrap();
        assert_eq!(Actor::State(france).state(), france);
        assert_eq!(Actor::Clock(france).to_string(), "FR's deadline clock");
        assert!(Actor::Clock(france).is_clock());
    }
}
