//! The personal data a case carries, and nothing more (DESIGN.md §4, data minimisation).
//!
//! A person is known to Accord only by a keyed pseudonym, a nationality, a birth year and two
//! flags (vulnerability, family ties). Each part is validated when built, so a
//! [`PersonalData`] value is always complete and plausible. These values pass only between
//! the two nodes of a case, in the wire form of the case's first event (`person.proto`); the
//! coordinator never sees them, and the domain's event types (see `event`) never hold them. `Debug` prints no personal
//! data, so a stray `{:?}` in a log cannot leak a person.
//!
//! This module does not compute pseudonyms (the node keys them) and does not read the clock:
//! the current year is an argument.

use std::fmt;

use crate::StateCode;
use crate::state;

/// The length of a pseudonym in hexadecimal characters (32 bytes, e.g. an HMAC-SHA-256).
pub const PSEUDONYM_HEX_LENGTH: usize = 64;
/// The earliest birth year accepted.
pub const BIRTH_YEAR_MIN: u16 = 1900;
/// The birth year the wire sends when the year is not known (`person.proto`).
pub const BIRTH_YEAR_UNKNOWN: i64 = 0;
/// The nationality code the wire sends for a stateless person or an unknown nationality
/// (`person.proto`): ISO 3166-1 reserves `XX` for user assignment, and ICAO 9303 uses it
/// for a person of unspecified nationality.
pub const NATIONALITY_STATELESS_OR_UNKNOWN: &str = "XX";

/// Why a value is not valid personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The pseudonym is not 64 lower-case hexadecimal characters.
    #[error("a pseudonym must be 64 lower-case hexadecimal characters")]
    Pseudonym,
    /// The birth year is neither 0 (unknown) nor between 1900 and the current year.
    #[error(
        "birth year {year} is neither 0 (unknown) nor within {BIRTH_YEAR_MIN}..={current_year}"
    )]
    BirthYear {
        /// The refused year.
        year: i64,
        /// The current year, as passed in.
        current_year: i64,
    },
    /// The nationality is neither an assigned state code nor `XX`.
    #[error(
        "nationality is neither an assigned ISO 3166-1 alpha-2 code nor XX (stateless or unknown)"
    )]
    Nationality(#[from] state::Error),
}

/// A keyed pseudonym of a person: 32 bytes, written as 64 lower-case hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pseudonym([u8; 32]);

impl Pseudonym {
    /// Parses 64 lower-case hexadecimal characters (upper case is refused: one spelling).
    pub fn parse(hex: &str) -> Result<Self, Error> {
        let bytes = hex.as_bytes();
        if bytes.len() != PSEUDONYM_HEX_LENGTH {
            return Err(Error::Pseudonym);
        }
        let mut pseudonym = [0_u8; 32];
        for (index, pair) in bytes.chunks_exact(2).enumerate() {
            let high = hex_digit(pair[0]).ok_or(Error::Pseudonym)?;
            let low = hex_digit(pair[1]).ok_or(Error::Pseudonym)?;
            pseudonym[index] = high << 4 | low;
        }
        Ok(Self(pseudonym))
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64-character lower-case hex form.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonym(redacted)")
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}

/// A person's nationality as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Nationality {
    /// A national of the state with this ISO 3166-1 code.
    Of(StateCode),
    /// Stateless, or the nationality is not (yet) established: one value on the wire
    /// (`XX`), because neither state's rules tell the two apart in a case.
    StatelessOrUnknown,
}

impl Nationality {
    /// Parses an assigned ISO 3166-1 alpha-2 code, or `XX` (stateless or unknown).
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text == NATIONALITY_STATELESS_OR_UNKNOWN {
            return Ok(Self::StatelessOrUnknown);
        }
        Ok(Self::Of(StateCode::parse(text)?))
    }

    /// The stable code: the state code, or `XX`.
    pub fn code(&self) -> &str {
        match self {
            Self::Of(state) => state.as_str(),
            Self::StatelessOrUnknown => NATIONALITY_STATELESS_OR_UNKNOWN,
        }
    }
}

/// A birth year between 1900 and the current year, or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BirthYear(Option<u16>);

impl BirthYear {
    /// Validates `year` against 1900 and `current_year` (from the caller's clock);
    /// [`BIRTH_YEAR_UNKNOWN`] (0) is the unknown year.
    pub fn new(year: i64, current_year: i64) -> Result<Self, Error> {
        if year == BIRTH_YEAR_UNKNOWN {
            return Ok(Self(None));
        }
        if year < i64::from(BIRTH_YEAR_MIN) || year > current_year {
            return Err(Error::BirthYear { year, current_year });
        }
        // Invariant: year ≤ current_year, and no caller lives past the year 65535.
        u16::try_from(year)
            .map(|year| Self(Some(year)))
            .map_err(|_| Error::BirthYear { year, current_year })
    }

    /// The year, when known.
    pub fn year(self) -> Option<u16> {
        self.0
    }
}

/// Everything Accord knows of a person.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonalData {
    /// The keyed pseudonym.
    pub pseudonym: Pseudonym,
    /// The nationality.
    pub nationality: Nationality,
    /// The birth year.
    pub birth_year: BirthYear,
    /// Whether the person is vulnerable (and needs care in the procedure).
    pub vulnerable: bool,
    /// Whether the person has family ties in the other state.
    pub family_ties: bool,
}

impl PersonalData {
    /// Builds personal data from text fields, as they come from a form or the wire.
    pub fn parse(
        pseudonym_hex: &str,
        nationality: &str,
        birth_year: i64,
        current_year: i64,
        vulnerable: bool,
        family_ties: bool,
    ) -> Result<Self, Error> {
        Ok(Self {
            pseudonym: Pseudonym::parse(pseudonym_hex)?,
            nationality: Nationality::parse(nationality)?,
            birth_year: BirthYear::new(birth_year, current_year)?,
            vulnerable,
            family_ties,
        })
    }
}

impl fmt::Debug for PersonalData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonalData(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PSEUDONYM: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn accepts_complete_plausible_data() {
        let person = PersonalData::parse(PSEUDONYM, "AF", 1999, 2025, true, false).unwrap();
        assert_eq!(person.pseudonym.to_hex(), PSEUDONYM);
        assert_eq!(
            person.nationality,
            Nationality::Of(StateCode::parse("AF").unwrap())
        );
        assert_eq!(person.birth_year.year(), Some(1999));
        assert_eq!(
            Nationality::parse("XX").unwrap(),
            Nationality::StatelessOrUnknown
        );
        assert_eq!(Nationality::StatelessOrUnknown.code(), "XX");
        assert_eq!(BirthYear::new(0, 2025).unwrap().year(), None);
    }

    #[test]
    fn refuses_malformed_pseudonyms_years_and_nationalities() {
        let upper = PSEUDONYM.to_uppercase();
        for pseudonym in [
            "",
            &PSEUDONYM[..63],
            &upper,
            &format!("{}g", &PSEUDONYM[..63]),
        ] {
            assert_eq!(Pseudonym::parse(pseudonym), Err(Error::Pseudonym));
        }
        assert!(BirthYear::new(1899, 2025).is_err());
        assert!(BirthYear::new(2026, 2025).is_err());
        assert!(BirthYear::new(1900, 2025).is_ok());
        assert!(BirthYear::new(2025, 2025).is_ok());
        assert!(BirthYear::new(-1, 2025).is_err());
        assert!(Nationality::parse("STATELESS").is_err());
        assert!(Nationality::parse("xx").is_err());
        assert!(Nationality::parse("UK").is_err());
    }

    #[test]
    fn debug_output_reveals_no_personal_data() {
        let person = PersonalData::parse(PSEUDONYM, "AF", 1999, 2025, true, true).unwrap();
        let printed = format!("{person:?} {:?}", person.pseudonym);
        assert!(!printed.contains("0011"));
        assert!(!printed.contains("1999"));
        assert!(!printed.contains("AF"));
    }
}
