//! Typed case references: `RDM-GB-FR-7Q2K`, `ADM-GB-FR-19`, `OFR-GB-FR-2025W33`.
//!
//! A reference names what it refers to and between whom, so that two parties, the
//! coordinator and an auditor read the same case from the same string
//! (cf. Regulation 1560/2003 Art. 20, which gives DubliNet requests a typed reference):
//!
//! | prefix | kind | first state | second state |
//! | --- | --- | --- | --- |
//! | `RDM` | readmission | requesting state (returns the person) | requested state (takes them back) |
//! | `ADM` | admission | admitting state | origin state (where the person is) |
//! | `OFR` | admission offer | admitting state | origin state |
//!
//! The final part is an identifier of 1 to 32 characters from `0-9` and `A-Z`, chosen by the
//! state that opens the case. The two states must differ. There is one spelling: lower case
//! is refused, not folded, because references are signed as bytes.
//!
//! This module does not allocate identifiers nor check that a case exists.

use std::fmt;

use crate::coded::parse_traits;

use crate::StateCode;
use crate::state;

/// The longest identifier part of a reference, in characters.
pub const CASE_ID_LENGTH_MAX: usize = 32;

/// What a case reference refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CaseKind {
    /// A readmission request (`RDM`): the first state asks the second to take a person back.
    Readmission,
    /// An admission case (`ADM`): the first state admits a person from the second.
    Admission,
    /// An admission offer (`OFR`): the first state offers admissions to people in the second.
    Offer,
}

impl CaseKind {
    /// Every kind, in prefix order of the table above.
    pub const ALL: [CaseKind; 3] = [CaseKind::Readmission, CaseKind::Admission, CaseKind::Offer];

    /// The three-letter prefix: `RDM`, `ADM` or `OFR`.
    pub fn prefix(self) -> &'static str {
        match self {
            CaseKind::Readmission => "RDM",
            CaseKind::Admission => "ADM",
            CaseKind::Offer => "OFR",
        }
    }

    fn from_prefix(prefix: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.prefix() == prefix)
    }
}

impl fmt::Display for CaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

/// Why a text or a set of parts is not a case reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not four parts separated by `-`.
    #[error("case reference {0:?} must look like KIND-STATE-STATE-ID, e.g. RDM-GB-FR-7Q2K")]
    Shape(String),
    /// The prefix is not `RDM`, `ADM` or `OFR`.
    #[error("case reference prefix {0:?} is not one of RDM, ADM, OFR")]
    Kind(String),
    /// One of the two state parts is not a state code.
    #[error("case reference has an invalid state")]
    State(#[from] state::Error),
    /// Both state parts name the same state.
    #[error("a case is between two different states, not {0} and itself")]
    SameState(StateCode),
    /// The identifier is empty, too long, or has a character outside `0-9A-Z`.
    #[error("case identifier {0:?} must be 1 to 32 characters from 0-9 and A-Z")]
    Id(String),
}

/// Where the identifier starts in a reference's text: after `KIND-ST-ST-`.
const ID_START: usize = "RDM-GB-FR-".len();

/// A parsed, valid case reference.
///
/// It keeps its text as well as its parts: a reference is written out (stored, signed, sent,
/// logged) several times per request, and copying the text costs a seventh of formatting it
/// anew (BENCHMARKS.md, "Instructions per request").
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseRef {
    kind: CaseKind,
    first_state: StateCode,
    second_state: StateCode,
    /// `KIND-ST-ST-ID`, the identifier from [`ID_START`]; ordered after the parts, so that
    /// references order by kind, states, then identifier.
    text: Box<str>,
}

impl CaseRef {
    /// Builds a reference from its parts, with the same checks as [`CaseRef::parse`].
    pub fn new(
        kind: CaseKind,
        first_state: StateCode,
        second_state: StateCode,
        id: &str,
    ) -> Result<Self, Error> {
        if first_state == second_state {
            return Err(Error::SameState(first_state));
        }
        let id_ok = (1..=CASE_ID_LENGTH_MAX).contains(&id.len())
            && id
                .bytes()
                .all(|byte| byte.is_ascii_digit() || byte.is_ascii_uppercase());
        if !id_ok {
            return Err(Error::Id(id.to_owned()));
        }
        let text = format!("{}-{first_state}-{second_state}-{id}", kind.prefix());
        Ok(Self {
            kind,
            first_state,
            second_state,
            text: text.into_boxed_str(),
        })
    }

    /// Parses `KIND-STATE-STATE-ID`, e.g. `RDM-GB-FR-7Q2K`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = text.split('-').collect();
        let [prefix, first, second, id] = parts.as_slice() else {
            return Err(Error::Shape(text.to_owned()));
        };
        let kind =
            CaseKind::from_prefix(prefix).ok_or_else(|| Error::Kind((*prefix).to_owned()))?;
        Self::new(
            kind,
            StateCode::parse(first)?,
            StateCode::parse(second)?,
            id,
        )
    }

    /// What the reference refers to.
    pub fn kind(&self) -> CaseKind {
        self.kind
    }

    /// The first state: the requesting state of a readmission, the admitting state of an
    /// admission or offer.
    pub fn first_state(&self) -> StateCode {
        self.first_state
    }

    /// The second state: the requested state of a readmission, the origin state of an
    /// admission or offer.
    pub fn second_state(&self) -> StateCode {
        self.second_state
    }

    /// The identifier part, unique per kind and pair of states.
    pub fn id(&self) -> &str {
        &self.text[ID_START..]
    }

    /// The reference as text, `KIND-STATE-STATE-ID`: what [`Display`](fmt::Display) writes.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaseRef({self})")
    }
}

parse_traits!(CaseRef, Error);

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, Error>) {
        assert_eq!(
            CaseRef::parse(input).map(|case_ref| case_ref.to_string()),
            expected.map(str::to_owned),
            "{input}"
        );
    }

    #[test]
    fn parses_the_three_kinds_and_refuses_everything_else() {
        check("RDM-GB-FR-7Q2K", Ok("RDM-GB-FR-7Q2K"));
        check("ADM-GB-FR-19", Ok("ADM-GB-FR-19"));
        check("OFR-FR-GB-2025W33", Ok("OFR-FR-GB-2025W33"));
        check(
            &format!("RDM-GB-FR-{}", "Z".repeat(32)),
            Ok(&format!("RDM-GB-FR-{}", "Z".repeat(32))),
        );
        check("RDM-GB-FR", Err(Error::Shape("RDM-GB-FR".into())));
        check("RDM-GB-FR-1-2", Err(Error::Shape("RDM-GB-FR-1-2".into())));
        check("XYZ-GB-FR-1", Err(Error::Kind("XYZ".into())));
        check("rdm-GB-FR-1", Err(Error::Kind("rdm".into())));
        check(
            "RDM-GB-GB-1",
            Err(Error::SameState(StateCode::parse("GB").unwrap())),
        );
        check("RDM-GB-FR-", Err(Error::Id("".into())));
        check("RDM-GB-FR-7q2k", Err(Error::Id("7q2k".into())));
        check("RDM-GB-FR-7 2K", Err(Error::Id("7 2K".into())));
        check(
            &format!("RDM-GB-FR-{}", "Z".repeat(33)),
            Err(Error::Id("Z".repeat(33))),
        );
        assert!(matches!(
            CaseRef::parse("RDM-UK-FR-1"),
            Err(Error::State(_))
        ));
    }

    #[test]
    fn accessors_name_the_kind_and_both_states() {
        let case_ref = CaseRef::parse("ADM-GB-FR-19").unwrap();
        assert_eq!(case_ref.kind(), CaseKind::Admission);
        assert_eq!(case_ref.first_state().as_str(), "GB");
        assert_eq!(case_ref.second_state().as_str(), "FR");
        assert_eq!(case_ref.id(), "19");
        let built = CaseRef::new(
            CaseKind::Admission,
            case_ref.first_state(),
            case_ref.second_state(),
            "19",
        )
        .unwrap();
        assert_eq!(built, case_ref);
        assert_eq!(built.as_str(), "ADM-GB-FR-19");
    }

    #[test]
    fn references_order_by_kind_then_states_then_identifier() {
        let ordered = [
            "RDM-FR-GB-9",
            "RDM-GB-FR-10",
            "RDM-GB-FR-9",
            "ADM-AT-BE-1",
            "OFR-AT-BE-1",
        ]
        .map(|text| CaseRef::parse(text).unwrap());
        for pair in ordered.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
        }
    }
}
