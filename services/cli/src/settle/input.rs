//! Reading the input of `accord settle` from JSON into the domain's settlement input.
//!
//! The shape is the settlement issue's: `mode` and `returns` required; `admissions`,
//! `capacity`, `candidates` and `consented` optional; no other field. Counts are non-negative
//! integers; states are ISO 3166-1 alpha-2 codes. Shape errors are reported here with their
//! JSON path; the domain then refuses pairs naming one state twice, duplicated entries and a
//! consent list outside multilateral mode, with its own location (`returns[3]`).

use accord_domain::settlement::{
    Admission, CapacityLimit, Consent, InputParts, Mode, PairLimit, Return, SettlementInput,
};

use super::json::{self, Cursor};

/// The name of the input document in error paths.
pub const DOCUMENT: &str = "input";

const TOP_FIELDS: &[&str] = &[
    "mode",
    "returns",
    "admissions",
    "capacity",
    "candidates",
    "consented",
];

/// Why an input was refused: its JSON shape, or a rule of the domain.
#[derive(Debug)]
pub enum Error {
    /// Malformed JSON, a wrong type, an unknown field, a bad count or state code.
    Shape(json::Error),
    /// A pair naming one state twice, a duplicated entry, consent outside multilateral mode.
    Rule(accord_domain::settlement::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Shape(error) => error.fmt(formatter),
            Error::Rule(error) => write!(formatter, "{DOCUMENT}.{error}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<json::Error> for Error {
    fn from(error: json::Error) -> Self {
        Error::Shape(error)
    }
}

/// Parses and validates the text of an input document.
pub fn parse(text: &str) -> Result<SettlementInput, Error> {
    let root = json::parse(DOCUMENT, text)?;
    let parts = read_parts(&Cursor::root(&root, DOCUMENT))?;
    SettlementInput::new(parts).map_err(Error::Rule)
}

fn read_parts(root: &Cursor<'_>) -> Result<InputParts, json::Error> {
    let fields = root.object(TOP_FIELDS)?;
    let mode = read_mode(&fields.required("mode")?)?;
    let returns = fields.required("returns")?.list(read_return)?;
    let mut parts = InputParts::new(mode, returns);
    if let Some(admissions) = fields.optional("admissions") {
        parts.admissions = admissions.list(read_admission)?;
    }
    if let Some(capacity) = fields.optional("capacity") {
        parts.capacity = read_capacity(&capacity)?;
    }
    if let Some(candidates) = fields.optional("candidates") {
        parts.candidates = candidates.list(read_pair_limit)?;
    }
    if let Some(consented) = fields.optional("consented") {
        parts.consented = Some(consented.list(read_consent)?);
    }
    Ok(parts)
}

/// Reads a mode name: `gross`, `bilateral` or `multilateral`.
pub fn read_mode(cursor: &Cursor<'_>) -> Result<Mode, json::Error> {
    let name = cursor.string()?;
    Mode::parse(name).ok_or_else(|| {
        cursor.error(format!(
            "unknown mode {name:?}; expected gross, bilateral or multilateral"
        ))
    })
}

counted_pair_reader!(read_return, Return { from, to });
counted_pair_reader!(read_admission, Admission { admitting, origin });
counted_pair_reader!(read_pair_limit, PairLimit { admitting, origin });

fn read_consent(entry: &Cursor<'_>) -> Result<Consent, json::Error> {
    let fields = entry.object(&["admitting", "origin"])?;
    Ok(Consent {
        admitting: fields.required("admitting")?.state()?,
        origin: fields.required("origin")?.state()?,
    })
}

fn read_capacity(capacity: &Cursor<'_>) -> Result<Vec<CapacityLimit>, json::Error> {
    capacity
        .state_entries()?
        .map(|entry| {
            let (state, value) = entry?;
            Ok(CapacityLimit {
                state,
                count: value.count()?,
            })
        })
        .collect()
}
