//! Bad fields of a request or a delivered event, named by their proto path, collected so
//! that the caller learns every bad field at once. Both edges (`convert`, `envelope`) read
//! the wire into these; the application error carries them to the one status mapping. It
//! knows nothing of gRPC or of use cases.

/// One bad field, named by its proto path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path, e.g. `person.birth_year`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

/// Every bad field of one request or event; nothing was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid request: {}", describe(.0))]
pub struct Invalid(pub Vec<FieldViolation>);

impl Invalid {
    /// One bad field.
    pub fn field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }
}

/// The violations as one line: `field: description; …`.
pub fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|violation| format!("{}: {}", violation.field, violation.description))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Collects field violations while a request is validated, so the caller learns every bad
/// field at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a bad field. A value the description quotes is cut ([`crate::echo::cut_long_values`]):
    /// a caller never gets its 100 KB field back, three times, in the status's trailers.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: crate::echo::cut_long_values(&description.into()),
        });
    }

    /// Keeps `result`'s value, or records its error against `field`.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    /// `Ok(())` when nothing was recorded.
    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.0))
        }
    }

    /// Whether a violation was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
