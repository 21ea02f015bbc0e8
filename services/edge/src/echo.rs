//! What a status may repeat of a request: never a value whole.
//!
//! A refusal names the bad value to help the caller, but a caller that sent a 100 KB field
//! must not get it back (three times: message, `BadRequest` and its `Debug` in the
//! trailers). Every text a status carries goes through [`cut_long_values`] once, in the
//! one mapping to a status and in `Violations`. This module does not decide what is told to
//! whom; `app::Error` does.

/// Longest part of a request's value a status repeats, in characters (common.proto).
pub const ECHOED_VALUE_CHARS_MAX: usize = 64;

/// Longest text a status carries in one message or description, in bytes: a backstop for
/// values echoed without quotes.
pub const STATUS_TEXT_BYTES_MAX: usize = 1_024;

/// `text` with every quoted value (`"…"`, as `{:?}` writes one) longer than
/// [`ECHOED_VALUE_CHARS_MAX`] characters cut to that many and marked `…(N bytes)`, N the
/// value's full length; then the whole cut to [`STATUS_TEXT_BYTES_MAX`] the same way.
pub fn cut_long_values(text: &str) -> String {
    let mut cut = String::with_capacity(text.len().min(STATUS_TEXT_BYTES_MAX + 32));
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        cut.push_str(&rest[..=open]);
        let value = &rest[open + 1..];
        let close = closing_quote(value).unwrap_or(value.len());
        cut.push_str(&cut_value(&value[..close]));
        rest = &value[close..];
        if let Some(after) = rest.strip_prefix('"') {
            cut.push('"');
            rest = after;
        }
    }
    cut.push_str(rest);
    if cut.len() > STATUS_TEXT_BYTES_MAX {
        let end = floor_char_boundary(&cut, STATUS_TEXT_BYTES_MAX);
        return format!("{}…({} bytes)", &cut[..end], cut.len());
    }
    cut
}

/// The byte index of the first quote in `value` that `{:?}` did not escape.
fn closing_quote(value: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, character) in value.char_indices() {
        match character {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(index),
            _ => escaped = false,
        }
    }
    None
}

fn cut_value(value: &str) -> String {
    if value.ends_with(" bytes)") && value.contains('…') {
        return value.to_owned(); // cut before: a status's message repeats its violations
    }
    match value.char_indices().nth(ECHOED_VALUE_CHARS_MAX) {
        Some((end, _)) => format!("{}…({} bytes)", &value[..end], value.len()),
        None => value.to_owned(),
    }
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    (0..=index.min(text.len()))
        .rev()
        .find(|candidate| text.is_char_boundary(*candidate))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &str) {
        assert_eq!(cut_long_values(text), expected);
    }

    #[test]
    fn a_long_quoted_value_is_cut_and_its_length_said() {
        check("short \"RDM-GB\" stays", "short \"RDM-GB\" stays");
        let long = "A".repeat(100_000);
        check(
            &format!("case reference {long:?} is malformed"),
            &format!(
                "case reference \"{}…(100000 bytes)\" is malformed",
                "A".repeat(64)
            ),
        );
        check("an \"unclosed quote", "an \"unclosed quote");
        check(r#"escaped \"a\\\"b\" end"#, r#"escaped \"a\\\"b\" end"#);
    }

    #[test]
    fn a_long_text_without_quotes_is_cut_whole() {
        let cut = cut_long_values(&"é".repeat(2_000));
        assert!(cut.ends_with("…(4000 bytes)"), "{cut}");
        assert!(cut.len() < STATUS_TEXT_BYTES_MAX + 32);
    }
}
