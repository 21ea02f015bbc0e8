//! A JSON tree that keeps every key of an object, and a cursor that reads it with paths.
//!
//! `serde_json::Value` keeps the last of two equal keys and sorts the rest; Accord refuses a
//! duplicated key instead, so [`Node`] keeps objects as lists of pairs. A [`Cursor`] walks the
//! tree, knows its path (`input.returns[2].count`), and turns every mismatch into one
//! [`Error`] line naming the path, what was expected and what was found. This module knows
//! JSON shapes, not settlement: `input` and `output` give the fields their meaning.

use std::fmt;

use accord_domain::StateCode;
use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

/// Defines `fn $reader(entry: &Cursor) -> Result<$record, Error>` for a record of two states
/// and a count whose JSON keys are its field names, e.g. `{"admitting": "GB", "origin": "FR",
/// "count": 3}`: no other key, each once, the states checked in order, then the count. A macro
/// because a function cannot name another type's fields.
macro_rules! counted_pair_reader {
    ($reader:ident, $record:ident { $first:ident, $second:ident }) => {
        fn $reader(
            entry: &$crate::settle::json::Cursor<'_>,
        ) -> Result<$record, $crate::settle::json::Error> {
            let fields = entry.object(&[stringify!($first), stringify!($second), "count"])?;
            Ok($record {
                $first: fields.required(stringify!($first))?.state()?,
                $second: fields.required(stringify!($second))?.state()?,
                count: fields.required("count")?.count()?,
            })
        }
    };
}

/// A parsed JSON value, objects in document order with duplicates kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// Any number, as serde_json read it.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object, as its key–value pairs in document order.
    Object(Vec<(String, Node)>),
}

/// A problem at one place of a JSON document: `{path}: {message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Where: `input.returns[2].count`, or the document's name for a syntax error.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for Error {}

/// Parses `text` as one JSON document named `name` (`input`, `report`).
pub fn parse(name: &str, text: &str) -> Result<Node, Error> {
    serde_json::from_str(text).map_err(|error| Error {
        path: name.to_owned(),
        message: format!("malformed JSON: {error}"),
    })
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Node, E> {
        Ok(Node::Bool(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Node, E> {
        Ok(Node::Number(value.into()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Node, E> {
        Ok(Node::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Node, E> {
        serde_json::Number::from_f64(value)
            .map(Node::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Node, E> {
        Ok(Node::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Node, E> {
        Ok(Node::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = sequence.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut pairs = Vec::new();
        while let Some(pair) = map.next_entry()? {
            pairs.push(pair);
        }
        Ok(Node::Object(pairs))
    }
}

/// A position in a [`Node`] tree, with its path.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    node: &'a Node,
    path: String,
}

/// The fields of an object, checked against the allowed names and for duplicates.
#[derive(Debug)]
pub struct Fields<'a> {
    path: String,
    pairs: &'a [(String, Node)],
}

impl<'a> Cursor<'a> {
    /// The root of a document named `name`.
    pub fn root(node: &'a Node, name: &str) -> Self {
        Self {
            node,
            path: name.to_owned(),
        }
    }

    /// An error at this position.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    fn expected(&self, what: &str) -> Error {
        self.error(format!("must be {what}, found {}", describe(self.node)))
    }

    /// This position as an object whose keys are all in `allowed`, each at most once.
    pub fn object(&self, allowed: &[&str]) -> Result<Fields<'a>, Error> {
        let Node::Object(pairs) = self.node else {
            return Err(self.expected("an object"));
        };
        let fields = Fields {
            path: self.path.clone(),
            pairs,
        };
        for (index, (key, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&key.as_str()) {
                let expected = allowed.join(", ");
                return Err(fields
                    .child(key)
                    .error(format!("unknown field; expected one of {expected}")));
            }
            fields.refuse_repeated_key(index)?;
        }
        Ok(fields)
    }

    /// This position as an object used as a map: every key once, in document order.
    pub fn entries(&self) -> Result<Vec<(&'a str, Cursor<'a>)>, Error> {
        let Node::Object(pairs) = self.node else {
            return Err(self.expected("an object"));
        };
        let fields = Fields {
            path: self.path.clone(),
            pairs,
        };
        let mut entries = Vec::with_capacity(pairs.len());
        for (index, (key, _)) in pairs.iter().enumerate() {
            fields.refuse_repeated_key(index)?;
            entries.push((key.as_str(), fields.child(key)));
        }
        Ok(entries)
    }

    /// This position as an array of positions.
    pub fn array(&self) -> Result<Vec<Cursor<'a>>, Error> {
        let Node::Array(items) = self.node else {
            return Err(self.expected("an array"));
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(index, node)| Cursor {
                node,
                path: format!("{}[{index}]", self.path),
            })
            .collect())
    }

    /// This position as an array, each item read by `read`.
    pub fn list<T>(&self, read: fn(&Cursor<'a>) -> Result<T, Error>) -> Result<Vec<T>, Error> {
        self.array()?.iter().map(read).collect()
    }

    /// This position as an object keyed by state codes, every key once, in document order;
    /// each key is parsed as its entry is taken, so the first problem in the document is the
    /// one reported.
    pub fn state_entries(
        &self,
    ) -> Result<impl Iterator<Item = Result<(StateCode, Cursor<'a>), Error>> + use<'a>, Error> {
        Ok(self.entries()?.into_iter().map(|(key, value)| {
            let state = parse_state(key).map_err(|message| value.error(message))?;
            Ok((state, value))
        }))
    }

    /// This position as a string.
    pub fn string(&self) -> Result<&'a str, Error> {
        match self.node {
            Node::String(text) => Ok(text),
            _ => Err(self.expected("a string")),
        }
    }

    /// This position as a non-negative integer (a count of people).
    pub fn count(&self) -> Result<u64, Error> {
        match self.node {
            Node::Number(number) => number
                .as_u64()
                .ok_or_else(|| self.expected("a non-negative integer")),
            _ => Err(self.expected("a non-negative integer")),
        }
    }

    /// This position as a signed integer.
    pub fn integer(&self) -> Result<i64, Error> {
        match self.node {
            Node::Number(number) => number.as_i64().ok_or_else(|| self.expected("an integer")),
            _ => Err(self.expected("an integer")),
        }
    }

    /// This position as a number.
    pub fn float(&self) -> Result<f64, Error> {
        match self.node {
            Node::Number(number) => number.as_f64().ok_or_else(|| self.expected("a number")),
            _ => Err(self.expected("a number")),
        }
    }

    /// This position as a state code (ISO 3166-1 alpha-2).
    pub fn state(&self) -> Result<StateCode, Error> {
        parse_state(self.string()?).map_err(|message| self.error(message))
    }
}

/// Parses a state code, describing a refusal in a sentence.
fn parse_state(text: &str) -> Result<StateCode, String> {
    StateCode::parse(text).map_err(|error| error.to_string())
}

impl<'a> Fields<'a> {
    fn child(&self, key: &str) -> Cursor<'a> {
        let node = self
            .pairs
            .iter()
            .find(|(name, _)| name == key)
            .map_or(&Node::Null, |(_, node)| node);
        Cursor {
            node,
            path: format!("{}.{key}", self.path),
        }
    }

    fn refuse_repeated_key(&self, index: usize) -> Result<(), Error> {
        let key = &self.pairs[index].0;
        if self.pairs[..index]
            .iter()
            .any(|(earlier, _)| earlier == key)
        {
            return Err(self
                .child(key)
                .error("duplicated entry: the key appears twice"));
        }
        Ok(())
    }

    /// The field `name`, if present.
    pub fn optional(&self, name: &str) -> Option<Cursor<'a>> {
        self.pairs
            .iter()
            .any(|(key, _)| key == name)
            .then(|| self.child(name))
    }

    /// The field `name`, or an error naming it as missing.
    pub fn required(&self, name: &str) -> Result<Cursor<'a>, Error> {
        self.optional(name).ok_or_else(|| Error {
            path: format!("{}.{name}", self.path),
            message: "missing field".to_owned(),
        })
    }
}

/// What a node is, for "found …" in messages: the value itself when short.
fn describe(node: &Node) -> String {
    match node {
        Node::Null => "null".to_owned(),
        Node::Bool(value) => value.to_string(),
        Node::Number(number) => number.to_string(),
        Node::String(text) if text.chars().count() <= 40 => format!("{text:?}"),
        Node::String(_) => "a long string".to_owned(),
        Node::Array(_) => "an array".to_owned(),
        Node::Object(_) => "an object".to_owned(),
    }
}
