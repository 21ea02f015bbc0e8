//! Reading the input of `accord settle` from JSON into the domain's settlement input.
//!
//! The shape is the settlement issue's: `mode` and `returns` required; `admissions`,
//! `capacity`, `candidates` and `consented` optional; no other field. Counts are non-negative
//! integers; states are ISO 3166-1 alpha-2 codes. Shape errors are reported here with their
//! JSON path; the domain then refuses pairs naming one state twice, duplicated entries and a
//! consent list outside multilateral mode, with its own location (`returns[3]`).

use accord_domain::StateCode;
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
    let returns = fields
        .required("returns")?
        .array()?
        .iter()
        .map(read_return)
        .collect::<Result<_, _>>()?;
    let mut parts = InputParts::new(mode, returns);
    if let Some(admissions) = fields.optional("admissions") {
        parts.admissions = admissions
            .array()?
            .iter()
            .map(read_admission)
            .collect::<Result<_, _>>()?;
    }
    if let Some(capacity) = fields.optional("capacity") {
        parts.capacity = read_capacity(&capacity)?;
    }
    if let Some(candidates) = fields.optional("candidates") {
        parts.candidates = candidates
            .array()?
            .iter()
            .map(read_pair_limit)
            .collect::<Result<_, _>>()?;
    }
    if let Some(consented) = fields.optional("consented") {
        let consents: Result<Vec<Consent>, json::Error> =
            consented.array()?.iter().map(read_consent).collect();
        parts.consented = Some(consents?);
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

fn read_return(entry: &Cursor<'_>) -> Result<Return, json::Error> {
    let fields = entry.object(&["from", "to", "count"])?;
    Ok(Return {
        from: fields.required("from")?.state()?,
        to: fields.required("to")?.state()?,
        count: fields.required("count")?.count()?,
    })
}

fn read_admission(entry: &Cursor<'_>) -> Result<Admission, json::Error> {
    let (admitting, origin, count) = read_counted_pair(entry)?;
    Ok(Admission {
        admitting,
        origin,
        count,
    })
}

fn read_pair_limit(entry: &Cursor<'_>) -> Result<PairLimit, json::Error> {
    let (admitting, origin, count) = read_counted_pair(entry)?;
    Ok(PairLimit {
        admitting,
        origin,
        count,
    })
}

fn read_counted_pair(entry: &Cursor<'_>) -> Result<(StateCode, StateCode, u64), json::Error> {
    let fields = entry.object(&["admitting", "origin", "count"])?;
    Ok((
        fields.required("admitting")?.state()?,
        fields.required("origin")?.state()?,
        fields.required("count")?.count()?,
    ))
}

fn read_consent(entry: &Cursor<'_>) -> Result<Consent, json::Error> {
    let fields = entry.object(&["admitting", "origin"])?;
    Ok(Consent {
        admitting: fields.required("admitting")?.state()?,
        origin: fields.required("origin")?.state()?,
    })
}

fn read_capacity(capacity: &Cursor<'_>) -> Result<Vec<CapacityLimit>, json::Error> {
    capacity
        .entries()?
        .into_iter()
        .map(|(key, value)| {
            let state = json::parse_state(key).map_err(|message| value.error(message))?;
            Ok(CapacityLimit {
                state,
                count: value.count()?,
            })
        })
        .collect()
}
