//! How every subcommand words an error for the operator: the error with its sources, on one
//! line. It decides no exit status; each subcommand does.

/// `error` and its sources, `: `-separated ("error: source: source's source"), as the
/// operator needs them: each error's `Display` names only its own part.
pub fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `message` on one line. Errors from serde_json or the OS never span lines in practice;
/// this makes sure of it.
pub fn one_line(message: &str) -> String {
    message.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error named `name`, caused by `source` if any.
    #[derive(Debug)]
    struct Layer {
        name: &'static str,
        source: Option<Box<Layer>>,
    }

    impl std::fmt::Display for Layer {
        fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str(self.name)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.source.as_deref().map(|source| source as _)
        }
    }

    fn layer(name: &'static str, source: Option<Layer>) -> Layer {
        Layer {
            name,
            source: source.map(Box::new),
        }
    }

    #[test]
    fn an_error_is_shown_with_each_of_its_sources_in_turn() {
        let error = layer("outer", Some(layer("middle", Some(layer("inner", None)))));
        assert_eq!(with_sources(&error), "outer: middle: inner");
        assert_eq!(with_sources(&layer("alone", None)), "alone");
    }

    #[test]
    fn line_breaks_become_spaces() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }
}
