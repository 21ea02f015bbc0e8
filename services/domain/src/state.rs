//! Member states, named by their ISO 3166-1 alpha-2 code.
//!
//! A [`StateCode`] is two upper-case ASCII letters that name a country the network can
//! admit (`GB`, `FR`, …). It is parsed once at the edge; past that point an invalid code
//! cannot exist. The module does not know which states are members: that is the
//! coordinator's directory.

use std::fmt;

use crate::coded::parse_traits;

/// One participating state, by its ISO 3166-1 alpha-2 code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StateCode([u8; 2]);

/// Why a text is not a state code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not exactly two characters long.
    #[error("state code {0:?} must be two letters (ISO 3166-1 alpha-2)")]
    Length(String),
    /// The text has a character outside `A`–`Z`.
    #[error("state code {0:?} must be upper-case letters A-Z (ISO 3166-1 alpha-2)")]
    Letters(String),
    /// Two upper-case letters that are not an assigned ISO 3166-1 code.
    #[error("state code {0:?} is not an assigned ISO 3166-1 alpha-2 code")]
    Unassigned(String),
}

/// Every officially assigned ISO 3166-1 alpha-2 code, sorted, so membership is a binary search.
const ASSIGNED: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

impl StateCode {
    /// Parses an ISO 3166-1 alpha-2 code. Lower case is refused rather than folded, so that
    /// one state has exactly one spelling on the wire, in storage and in signed bytes.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bytes = text.as_bytes();
        if text.chars().count() != 2 {
            return Err(Error::Length(text.to_owned()));
        }
        if !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(Error::Letters(text.to_owned()));
        }
        if ASSIGNED.binary_search(&text).is_err() {
            return Err(Error::Unassigned(text.to_owned()));
        }
        Ok(Self([bytes[0], bytes[1]]))
    }

    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        // Invariant: both bytes are ASCII upper-case letters, checked in `parse`.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for StateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for StateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateCode({})", self.as_str())
    }
}

parse_traits!(StateCode, Error);

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, Error>) {
        assert_eq!(
            StateCode::parse(input).map(|code| code.to_string()),
            expected.map(str::to_owned)
        );
    }

    #[test]
    fn parses_assigned_codes_and_refuses_everything_else() {
        check("GB", Ok("GB"));
        check("FR", Ok("FR"));
        check("gb", Err(Error::Letters("gb".into())));
        check("G", Err(Error::Length("G".into())));
        check("GBR", Err(Error::Length("GBR".into())));
        check("", Err(Error::Length("".into())));
        check("G1", Err(Error::Letters("G1".into())));
        check("ÉU", Err(Error::Letters("ÉU".into())));
        check("XX", Err(Error::Unassigned("XX".into())));
        check("UK", Err(Error::Unassigned("UK".into())));
    }

    #[test]
    fn assigned_table_is_sorted_for_binary_search() {
        assert!(ASSIGNED.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
