//! Tidy tests: the workspace's shape, checked by reading its sources as text.
//!
//! Some rules of ARCHITECTURE.md and CONVENTIONS.md are mechanical — which module may name
//! which crate, how long a file or a function may grow — and a rule nobody checks drifts. Each
//! rule here is one test whose doc comment says why the rule exists; a failure lists every
//! offender as `file:line` with what it found, so the fix can start from the message. (The
//! spirit is rust-analyzer's `tidy.rs`: cheap text checks, no parser, reasons in the test.)
//!
//! The checks read Rust with a small lexer that blanks comments, strings and character
//! literals, so a `{` or a `pb::` inside them counts for nothing. It is good enough for this
//! codebase, not a Rust parser: a rule that misfires is fixed here, not worked around in the
//! code it checks.
//!
//! What is scanned: every workspace crate's non-test sources — `proto/src`, `services/*/src`
//! and `bench/*/src` — leaving out `tests/` folders, files named `tests.rs`, generated code
//! (it lives in `target/`, under `OUT_DIR`) and items marked `#[cfg(test)]` or `#[test]`.
//! These tests do not build or run anything; they live in the node's test binary because the
//! node is the crate whose shape they guard most.

use std::ops::Range;
use std::path::{Path, PathBuf};

/// The files under `services/node/src/app/` (paths relative to `app/`) that may name wire
/// types: none. The envelope, the one place that handles signed wire bytes, lives in
/// `convert/envelope.rs`, and the courier that sends them beside `grpc/`.
const WIRE_TYPES_ALLOWED_IN_APP: &[&str] = &[];

/// Paths that name a wire type: the generated protocol crate (imported as `pb`), prost, and
/// tonic with its richer-error types.
const WIRE_TYPE_PATHS: &[&str] = &[
    "accord_proto",
    "pb::",
    "prost::",
    "prost_types::",
    "tonic::",
    "tonic_types::",
];

/// Paths that name the node's store or the ORM behind it.
const STORE_PATHS: &[&str] = &["crate::store", "store::", "sea_orm"];

/// Macros that mark unfinished or debugging code.
const UNFINISHED_MACROS: &[&str] = &["todo!", "unimplemented!", "dbg!"];

/// A source file longer than this (not counting its `#[cfg(test)]` items) fails.
const FILE_LINES_MAX: usize = 800;

/// A function longer than this, from its `fn` line to its closing brace, fails.
const FUNCTION_LINES_MAX: usize = 100;

/// `services/node/src/app/**` names no wire type outside [`WIRE_TYPES_ALLOWED_IN_APP`].
///
/// Why: use cases speak the domain. Wire types are converted at the edges (`convert/` on the
/// way in, `grpc/` on the way out), so the API can change without touching a rule, and a
/// rule is read once, in domain terms, not twice beside the wire message it mirrors.
#[test]
fn the_app_names_no_wire_type_outside_the_envelope() {
    let app = "services/node/src/app/";
    let offenders = workspace_sources()
        .iter()
        .filter(|source| source.path.starts_with(app))
        .filter(|source| !WIRE_TYPES_ALLOWED_IN_APP.contains(&&source.path[app.len()..]))
        .flat_map(|source| source.lines_naming(WIRE_TYPE_PATHS))
        .collect();
    report(
        "app/ names a wire type outside the envelope: convert in `convert/` instead \
         (allowed files: WIRE_TYPES_ALLOWED_IN_APP)",
        offenders,
    );
}

/// `services/node/src/grpc/**` never names the store or sea-orm.
///
/// Why: handlers are thin — parse, call a use case, map the answer. Storage is the app's
/// business; a handler that reaches the store skips the app's authorization, idempotency and
/// outbox rules.
#[test]
fn the_grpc_handlers_never_name_the_store() {
    let offenders = workspace_sources()
        .iter()
        .filter(|source| source.path.starts_with("services/node/src/grpc/"))
        .flat_map(|source| source.lines_naming(STORE_PATHS))
        .collect();
    report(
        "grpc/ names the store: go through a use case in app/",
        offenders,
    );
}

/// No non-test source file passes [`FILE_LINES_MAX`] lines (its `#[cfg(test)]` items aside).
///
/// Why: files split by concept; a file that long holds several, and a reader looking for one
/// of them has to page through the others.
#[test]
fn no_source_file_passes_eight_hundred_lines() {
    let mut too_long: Vec<(usize, String)> = workspace_sources()
        .iter()
        .map(|source| (source.non_test_lines(), source.path.clone()))
        .filter(|(lines, _)| *lines > FILE_LINES_MAX)
        .collect();
    too_long.sort_by(|a, b| b.cmp(a));
    let offenders = too_long
        .into_iter()
        .map(|(lines, path)| format!("{path}: {lines} lines"))
        .collect();
    report(
        &format!("source files longer than {FILE_LINES_MAX} lines: split them by concept"),
        offenders,
    );
}

/// No function passes [`FUNCTION_LINES_MAX`] lines, methods and nested functions included,
/// test code aside.
///
/// Why: branching in the caller, computation in leaves. A function that fits on a screen can
/// be checked whole; TIGER_STYLE's limit is 70 lines, and this one leaves slack.
#[test]
fn no_function_passes_one_hundred_lines() {
    let mut too_long: Vec<(usize, String)> = workspace_sources()
        .iter()
        .flat_map(|source| {
            source
                .functions()
                .into_iter()
                .filter(|function| function.lines > FUNCTION_LINES_MAX)
                .map(|function| {
                    let at = format!("{}:{}", source.path, function.line);
                    (
                        function.lines,
                        format!("{at}: fn {}: {} lines", function.name, function.lines),
                    )
                })
        })
        .collect();
    too_long.sort_by(|a, b| b.cmp(a));
    report(
        &format!("functions longer than {FUNCTION_LINES_MAX} lines: split them"),
        too_long.into_iter().map(|(_, offender)| offender).collect(),
    );
}

/// No `todo!`, `unimplemented!` or `dbg!` in non-test sources.
///
/// Why: the first two panic on a path someone will take in production; `dbg!` writes to
/// stderr past the telemetry set-up and may print personal data. Clippy warns on all three;
/// this makes it a failure.
#[test]
fn no_source_holds_unfinished_or_debugging_macros() {
    let offenders = workspace_sources()
        .iter()
        .flat_map(|source| source.lines_naming(UNFINISHED_MACROS))
        .collect();
    report("todo!, unimplemented! or dbg! in non-test code", offenders);
}

// The lexer and counter, checked on small inline sources so the rules above can be trusted.

/// A function whose literals and comments hold braces of both kinds, and one after it.
const BRACES_IN_LITERALS: &str = r##"
fn braces_in_literals() {
    let open = "{ \" {";   // a { in a comment
    let close = '}';
    let quote = '"';
    /* } nested /* { */ } */
    let raw = r#"}" {"#;
    let lifetime: &'static str = "";
}
fn after() {}
"##;

#[test]
fn a_function_counts_from_its_fn_line_to_its_closing_brace() {
    let cases: [(&str, &str, &[&str]); 3] = [
        (
            "braces in literals and comments count for nothing",
            BRACES_IN_LITERALS,
            &["braces_in_literals: 8", "after: 1"],
        ),
        (
            "a nested function counts on its own and inside its parent",
            "impl Thing {\n    pub fn outer(&self) -> u8 {\n        fn inner() -> u8 {\n            1\n        }\n        inner()\n    }\n}\n",
            &["outer: 6", "inner: 3"],
        ),
        (
            "a one-line function is one line long",
            "fn one<'a>(text: &'a str) -> &'a str { text }\n",
            &["one: 1"],
        ),
    ];
    for (what, text, expected) in cases {
        let source = Source::parse("inline.rs", text);
        assert_eq!(lengths(&source), expected, "{what}");
    }
}

#[test]
fn declarations_function_pointers_and_test_code_are_not_counted() {
    let source = Source::parse(
        "inline.rs",
        "trait Shape {\n    fn area(&self) -> [u8; 4];\n}\ntype Callback = fn(u8) -> u8;\n\
         #[cfg(test)]\nmod tests {\n    fn helper() {\n    }\n}\n#[test]\nfn checks() {\n}\n\
         fn kept() {\n}\n",
    );
    assert_eq!(lengths(&source), ["kept: 2"]);
    assert_eq!(source.non_test_lines(), 6);
}

#[test]
fn a_path_is_found_only_at_an_identifier_boundary_and_outside_comments_and_strings() {
    let source = Source::parse(
        "inline.rs",
        "let a = restore::x;\n// crate::store::Store\nlet b = \"store::\";\nuse crate::store::Store;\n",
    );
    assert_eq!(
        source.lines_naming(STORE_PATHS),
        ["inline.rs:4: crate::store, store:: in `use crate::store::Store;`"]
    );
}

fn lengths(source: &Source) -> Vec<String> {
    let functions = source.functions().into_iter();
    functions
        .map(|function| format!("{}: {}", function.name, function.lines))
        .collect()
}

// Reporting.

/// Fails with every offender, one a line, under the rule's summary.
fn report(rule: &str, offenders: Vec<String>) {
    if !offenders.is_empty() {
        let count = offenders.len();
        panic!(
            "{rule}\n{count} offender(s):\n  {}\n",
            offenders.join("\n  ")
        );
    }
}

// Finding the sources.

/// Every non-test Rust source of the workspace's crates, sorted by path.
fn workspace_sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().expect("the workspace root exists");
    let mut crate_sources = vec![root.join("proto/src"), root.join("gateway/src")];
    for group in ["services", "bench"] {
        let Ok(entries) = std::fs::read_dir(root.join(group)) else {
            continue;
        };
        for entry in entries {
            crate_sources.push(
                entry
                    .expect("a readable directory entry")
                    .path()
                    .join("src"),
            );
        }
    }
    let mut files = Vec::new();
    for folder in crate_sources.iter().filter(|folder| folder.is_dir()) {
        collect_rust_files(folder, &mut files);
    }
    files.sort();
    let sources = files.iter().map(|file| {
        let text = std::fs::read_to_string(file).expect("a readable UTF-8 source file");
        let relative = file
            .strip_prefix(&root)
            .expect("a file under the workspace root");
        Source::parse(&relative.to_string_lossy().replace('\\', "/"), &text)
    });
    sources.collect()
}

/// Collects `.rs` files under `folder`, leaving out test folders, test files and build output.
fn collect_rust_files(folder: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).expect("a readable source folder") {
        let path = entry.expect("a readable directory entry").path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            if name != "tests" && name != "target" {
                collect_rust_files(&path, files);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            files.push(path);
        }
    }
}

// Reading a source.

/// One source file: its text, the same text with comments and literals blanked, and the byte
/// ranges of its test items.
struct Source {
    path: String,
    text: String,
    code: String,
    line_starts: Vec<usize>,
    test_items: Vec<Range<usize>>,
}

/// A function with a body: its name, the line of its `fn`, and its length in lines.
struct Function {
    name: String,
    line: usize,
    lines: usize,
}

impl Source {
    fn parse(path: &str, text: &str) -> Source {
        let code = blank_comments_and_literals(text);
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(offset, _)| offset + 1))
            .collect();
        let test_items = test_items(&code);
        Source {
            path: path.to_owned(),
            text: text.to_owned(),
            code,
            line_starts,
            test_items,
        }
    }

    /// The 1-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    fn is_test(&self, offset: usize) -> bool {
        self.test_items.iter().any(|item| item.contains(&offset))
    }

    fn non_test_lines(&self) -> usize {
        let text_lines = self.text.lines().count();
        let line_starts = self.line_starts[..text_lines].iter();
        line_starts.filter(|&&start| !self.is_test(start)).count()
    }

    /// One `file:line: what in `line`` entry per non-test line naming any of `paths`.
    fn lines_naming(&self, paths: &[&str]) -> Vec<String> {
        let mut found: Vec<(usize, Vec<&str>)> = Vec::new();
        for &path in paths {
            for offset in mentions(&self.code, path).filter(|&offset| !self.is_test(offset)) {
                let line = self.line_of(offset);
                match found.iter_mut().find(|(found_line, _)| *found_line == line) {
                    Some((_, names)) if names.contains(&path) => {}
                    Some((_, names)) => names.push(path),
                    None => found.push((line, vec![path])),
                }
            }
        }
        found.sort();
        let lines: Vec<&str> = self.text.lines().collect();
        let entries = found.into_iter().map(|(line, names)| {
            let shown = lines[line - 1].trim();
            format!("{}:{line}: {} in `{shown}`", self.path, names.join(", "))
        });
        entries.collect()
    }

    /// Every non-test function with a body, in source order.
    fn functions(&self) -> Vec<Function> {
        let code = self.code.as_bytes();
        let mut functions = Vec::new();
        for offset in mentions(&self.code, "fn").filter(|&offset| !self.is_test(offset)) {
            let after_keyword = &self.code[offset + 2..];
            let name_start = after_keyword.len() - after_keyword.trim_start().len();
            if name_start == 0 {
                continue; // `fn(u8)`, a function pointer type.
            }
            let name: String = after_keyword[name_start..]
                .chars()
                .take_while(|&character| is_identifier_byte(character as u8))
                .collect();
            if name.is_empty() {
                continue;
            }
            let Some(Body::Braces(open)) = item_body(code, offset) else {
                continue;
            };
            let Some(close) = matching_brace(code, open) else {
                continue;
            };
            let line = self.line_of(offset);
            functions.push(Function {
                name,
                line,
                lines: self.line_of(close) - line + 1,
            });
        }
        functions
    }
}

/// Byte offsets where `path` occurs in `code` starting at an identifier boundary (and, when
/// it ends in an identifier character, ending at one).
fn mentions<'a>(code: &'a str, path: &'a str) -> impl Iterator<Item = usize> + 'a {
    let bytes = code.as_bytes();
    let checks_end = path.bytes().last().is_some_and(is_identifier_byte);
    code.match_indices(path)
        .map(|(offset, _)| offset)
        .filter(move |&offset| {
            let starts_clean = offset == 0 || !is_identifier_byte(bytes[offset - 1]);
            let end = offset + path.len();
            let ends_clean = !checks_end || end == bytes.len() || !is_identifier_byte(bytes[end]);
            starts_clean && ends_clean
        })
}

fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Byte ranges of items under a test attribute (`#[cfg(test)]`, `#[test]`,
/// `#[tokio::test]`…): from the attribute to the item's closing brace or semicolon. A file
/// whose inner attribute is `#![cfg(test)]` is test code whole.
fn test_items(code: &str) -> Vec<Range<usize>> {
    let bytes = code.as_bytes();
    let mut items = Vec::new();
    for (start, _) in code.match_indices('#') {
        let inner = bytes.get(start + 1) == Some(&b'!');
        let open = start + 1 + usize::from(inner);
        if bytes.get(open) != Some(&b'[') {
            continue;
        }
        let Some(close) = matching(bytes, open, b'[', b']') else {
            continue;
        };
        let attribute: String = code[open + 1..close].split_whitespace().collect();
        if !is_test_attribute(&attribute) {
            continue;
        }
        if inner {
            items.clear();
            items.push(0..code.len());
            return items;
        }
        let end = match item_body(bytes, close + 1) {
            Some(Body::Semicolon(semicolon)) => semicolon + 1,
            Some(Body::Braces(open)) => matching_brace(bytes, open).map_or(code.len(), |c| c + 1),
            None => code.len(),
        };
        items.push(start..end);
    }
    items
}

fn is_test_attribute(attribute: &str) -> bool {
    let test_word = mentions(attribute, "test").next().is_some();
    attribute == "test"
        || attribute.ends_with("::test")
        || attribute.contains("::test(")
        || (attribute.starts_with("cfg(") && !attribute.starts_with("cfg(not") && test_word)
}

/// Where an item's body starts: its first `{` or `;` outside parentheses and brackets.
enum Body {
    Braces(usize),
    Semicolon(usize),
}

fn item_body(code: &[u8], from: usize) -> Option<Body> {
    let mut depth = 0usize;
    for (offset, &byte) in code.iter().enumerate().skip(from) {
        match byte {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b'{' if depth == 0 => return Some(Body::Braces(offset)),
            b';' if depth == 0 => return Some(Body::Semicolon(offset)),
            _ => {}
        }
    }
    None
}

fn matching_brace(code: &[u8], open: usize) -> Option<usize> {
    matching(code, open, b'{', b'}')
}

/// The offset of the delimiter closing the one at `open`, in blanked code.
fn matching(code: &[u8], open: usize, opening: u8, closing: u8) -> Option<usize> {
    let mut depth = 0usize;
    for (offset, &byte) in code.iter().enumerate().skip(open) {
        if byte == opening {
            depth += 1;
        } else if byte == closing {
            depth -= 1;
            if depth == 0 {
                return Some(offset);
            }
        }
    }
    None
}

// The lexer: comments, strings and character literals become spaces (newlines kept), so
// offsets and line numbers still match the text.

fn blank_comments_and_literals(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut code = bytes.to_vec();
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let end = if rest.starts_with(b"//") {
            rest.iter()
                .position(|&byte| byte == b'\n')
                .map_or(bytes.len(), |n| offset + n)
        } else if rest.starts_with(b"/*") {
            block_comment_end(bytes, offset)
        } else if let Some(end) = raw_string_end(bytes, offset) {
            end
        } else if bytes[offset] == b'"' {
            quoted_end(bytes, offset)
        } else if let Some(end) = character_end(bytes, offset) {
            end
        } else {
            offset += 1;
            continue;
        };
        for byte in &mut code[offset..end] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
        offset = end;
    }
    String::from_utf8(code).expect("blanking replaces whole characters")
}

/// The end of the (possibly nested) block comment starting at `start`.
fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut offset = start;
    while offset + 1 < bytes.len() {
        match &bytes[offset..offset + 2] {
            b"/*" => {
                depth += 1;
                offset += 2;
            }
            b"*/" => {
                depth -= 1;
                offset += 2;
                if depth == 0 {
                    return offset;
                }
            }
            _ => offset += 1,
        }
    }
    bytes.len()
}

/// The end of the raw string (`r"…"`, `r#"…"#`, `br"…"`, `cr"…"`) starting at `start`, if one
/// does.
fn raw_string_end(bytes: &[u8], start: usize) -> Option<usize> {
    if start > 0 && is_identifier_byte(bytes[start - 1]) {
        return None;
    }
    let mut offset = start;
    if matches!(bytes.get(offset), Some(b'b' | b'c')) {
        offset += 1;
    }
    if bytes.get(offset) != Some(&b'r') {
        return None;
    }
    offset += 1;
    let hashes = bytes[offset..]
        .iter()
        .take_while(|&&byte| byte == b'#')
        .count();
    offset += hashes;
    if bytes.get(offset) != Some(&b'"') {
        return None; // `r#ident`, or an identifier starting with r.
    }
    let closing: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    let body = &bytes[offset + 1..];
    let end = body
        .windows(closing.len())
        .position(|window| window == closing.as_slice());
    Some(end.map_or(bytes.len(), |end| offset + 1 + end + closing.len()))
}

/// The end of the escaped string whose opening quote is at `start`.
fn quoted_end(bytes: &[u8], start: usize) -> usize {
    let mut offset = start + 1;
    while offset < bytes.len() {
        match bytes[offset] {
            b'\\' => offset += 2,
            b'"' => return offset + 1,
            _ => offset += 1,
        }
    }
    bytes.len()
}

/// The end of the character literal at `start`, or `None` for a lifetime or a label.
fn character_end(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes[start] != b'\'' {
        return None;
    }
    let first = *bytes.get(start + 1)?;
    if first == b'\\' {
        let closing = bytes
            .get(start + 3..)?
            .iter()
            .position(|&byte| byte == b'\'')?;
        return Some(start + 3 + closing + 1);
    }
    let width = match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    };
    (bytes.get(start + 1 + width) == Some(&b'\'')).then_some(start + 2 + width)
}
