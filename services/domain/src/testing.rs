//! Helpers for the unit tests inside the crate: the literal states and instants they are
//! written with, parsed or the test fails. Compiled for tests only.

use crate::{StateCode, Timestamp};

/// The state of an assigned ISO 3166-1 code written in a test.
pub(crate) fn state(code: &str) -> StateCode {
    StateCode::parse(code).expect("test codes are assigned")
}

/// The instant of an RFC 3339 text written in a test.
pub(crate) fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("test instants are RFC 3339")
}
