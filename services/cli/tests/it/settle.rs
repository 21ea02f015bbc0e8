//! `accord settle` through the real binary: the shared vectors, `--verify`, files and standard
//! streams, determinism, and one-line refusals of bad input with exit status 2.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn accord() -> Command {
    Command::new(env!("CARGO_BIN_EXE_accord"))
}

/// Runs `accord settle ARGS` with `stdin` on standard input.
fn settle(args: &[&str], stdin: &str) -> Output {
    let mut child = accord()
        .arg("settle")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("accord starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin takes the input");
    child.wait_with_output().expect("accord finishes")
}

fn stdout_json(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the output is JSON")
}

/// The shared settlement vectors (`domain/tests/vectors/settlement/*.json`), each with its
/// path, in path order.
fn vectors() -> Vec<(PathBuf, Value)> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../domain/tests/vectors/settlement");
    let mut vectors: Vec<(PathBuf, Value)> = std::fs::read_dir(&folder)
        .expect("the vectors folder exists")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.extension() == Some(OsStr::new("json")))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a readable vector");
            let vector = serde_json::from_str(&text).expect("a JSON vector");
            (path, vector)
        })
        .collect();
    vectors.sort_by(|(left, _), (right, _)| left.cmp(right));
    vectors
}

#[test]
fn every_vector_settles_to_its_expected_figures_and_its_report_verifies() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let vectors = vectors();
    assert_eq!(vectors.len(), 11);
    for (path, vector) in vectors {
        let input_path = folder.path().join("input.json");
        let report_path = folder.path().join("report.json");
        std::fs::write(&input_path, vector["input"].to_string()).expect("input written");
        let input_arg = input_path.to_str().expect("a UTF-8 path");
        let report_arg = report_path.to_str().expect("a UTF-8 path");
        let solved = settle(&["--input", input_arg, "--output", report_arg], "");
        assert_eq!(solved.status.code(), Some(0), "{}", path.display());
        assert!(solved.stdout.is_empty());
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&report_path).expect("report written"))
                .expect("the report is JSON");
        for field in [
            "settled",
            "redirected",
            "required",
            "required_gross",
            "netting_efficiency",
            "credits",
        ] {
            assert_eq!(
                report[field],
                vector["expect"][field],
                "{}: {field}",
                path.display()
            );
        }
        let verified = settle(&["--input", input_arg, "--verify", report_arg], "");
        assert_eq!(verified.status.code(), Some(0), "{}", path.display());
        assert!(String::from_utf8_lossy(&verified.stdout).starts_with("verified: "));
    }
}

#[test]
fn the_three_state_cycle_needs_thirty_admissions_gross_and_none_multilateral() {
    let cycle = |mode: &str| {
        json!({"mode": mode, "returns": [
            {"from": "GB", "to": "FR", "count": 10},
            {"from": "FR", "to": "BE", "count": 10},
            {"from": "BE", "to": "GB", "count": 10},
        ]})
        .to_string()
    };
    let gross = stdout_json(&settle(&[], &cycle("gross")));
    assert_eq!(
        (gross["required"].clone(), gross["settled"].clone()),
        (json!(30), json!(30))
    );
    let multilateral = stdout_json(&settle(&[], &cycle("multilateral")));
    assert_eq!(multilateral["required"], json!(0));
    assert_eq!(multilateral["instructions"], json!([]));
    assert_eq!(multilateral["netting_efficiency"], json!(1.0));
}

#[test]
fn the_report_has_exactly_the_documented_fields_in_order() {
    let input = r#"{"mode": "multilateral",
        "returns": [{"from": "GB", "to": "FR", "count": 120}],
        "admissions": [{"admitting": "GB", "origin": "FR", "count": 40}],
        "capacity": {"GB": 50},
        "candidates": [{"admitting": "GB", "origin": "FR", "count": 80}],
        "consented": [{"admitting": "GB", "origin": "BE"}]}"#;
    let output = settle(&[], input);
    let text = String::from_utf8(output.stdout.clone()).expect("UTF-8 output");
    let positions: Vec<usize> = [
        "\"mode\"",
        "\"instructions\"",
        "\"settled\"",
        "\"redirected\"",
        "\"required\"",
        "\"required_gross\"",
        "\"netting_efficiency\"",
        "\"residual\"",
        "\"credits\"",
        "\"certificate\"",
    ]
    .iter()
    .map(|field| text.find(field).expect("every field is present"))
    .collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{text}");
    let report = stdout_json(&output);
    assert_eq!(
        report["instructions"],
        json!([{"admitting": "GB", "origin": "FR", "count": 50}])
    );
    assert_eq!(
        report["residual"],
        json!({
            "BE": {"to_admit": 0, "to_release": 0},
            "FR": {"to_admit": 0, "to_release": 30},
            "GB": {"to_admit": 30, "to_release": 0},
        })
    );
    assert_eq!(report["netting_efficiency"], json!(0.0));
}

#[test]
fn the_same_content_in_another_order_gives_byte_identical_output() {
    let first = r#"{"mode": "multilateral", "returns": [
        {"from": "GB", "to": "FR", "count": 40}, {"from": "NL", "to": "BE", "count": 40},
        {"from": "GB", "to": "BE", "count": 5}], "capacity": {"GB": 40, "NL": 100}}"#;
    let second = r#"{"capacity": {"NL": 100, "GB": 40}, "returns": [
        {"count": 5, "to": "BE", "from": "GB"}, {"from": "NL", "to": "BE", "count": 40},
        {"from": "GB", "to": "FR", "count": 40}], "mode": "multilateral"}"#;
    let first_output = settle(&[], first);
    assert_eq!(first_output.status.code(), Some(0));
    assert_eq!(first_output.stdout, settle(&[], second).stdout);
}

#[test]
fn a_tampered_report_does_not_verify() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let input = r#"{"mode": "multilateral", "returns": [
        {"from": "GB", "to": "IT", "count": 10}, {"from": "DE", "to": "FR", "count": 10}]}"#;
    let mut report = stdout_json(&settle(&[], input));
    let input_path = folder.path().join("input.json");
    std::fs::write(&input_path, input).expect("input written");
    report["instructions"] = json!([
        {"admitting": "DE", "origin": "IT", "count": 10},
        {"admitting": "GB", "origin": "FR", "count": 10},
    ]);
    report["redirected"] = json!(20);
    let report_path = folder.path().join("report.json");
    std::fs::write(&report_path, report.to_string()).expect("report written");
    let output = settle(
        &[
            "--input",
            input_path.to_str().expect("a UTF-8 path"),
            "--verify",
            report_path.to_str().expect("a UTF-8 path"),
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 errors");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("does not verify: certificate.potentials"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn a_report_that_is_not_a_report_is_refused_with_status_2() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let report_path = folder.path().join("report.json");
    std::fs::write(&report_path, r#"{"mode": "gross"}"#).expect("report written");
    let input = r#"{"mode": "gross", "returns": []}"#;
    let output = settle(
        &["--verify", report_path.to_str().expect("a UTF-8 path")],
        input,
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 errors");
    assert_eq!(
        stderr,
        "accord settle: report.instructions: missing field\n"
    );
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_problem_and_its_place() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"mode": "gross", "returns": ["#,
            "input: malformed JSON: ",
        ),
        (
            r#"{"mode": "netted", "returns": []}"#,
            r#"input.mode: unknown mode "netted"; expected gross, bilateral or multilateral"#,
        ),
        (
            r#"{"mode": "gross", "returns": [], "extra": 1}"#,
            "input.extra: unknown field; expected one of mode, returns, admissions, capacity, candidates, consented",
        ),
        (r#"{"mode": "gross"}"#, "input.returns: missing field"),
        (
            r#"{"mode": "gross", "returns": [{"from": "gb", "to": "FR", "count": 1}]}"#,
            r#"input.returns[0].from: state code "gb" must be upper-case letters A-Z"#,
        ),
        (
            r#"{"mode": "gross", "returns": [{"from": "GB", "to": "FR", "count": 1},
               {"from": "GB", "to": "BE", "count": 1}, {"from": "BE", "to": "FR", "count": -3}]}"#,
            "input.returns[2].count: must be a non-negative integer, found -3",
        ),
        (
            r#"{"mode": "gross", "returns": [{"from": "GB", "to": "FR", "count": 2.5}]}"#,
            "input.returns[0].count: must be a non-negative integer, found 2.5",
        ),
        (
            r#"{"mode": "gross", "returns": [{"from": "FR", "to": "FR", "count": 2}]}"#,
            "input.returns[0]: names FR on both sides; a pair needs two different states",
        ),
        (
            r#"{"mode": "gross", "returns": [{"from": "GB", "to": "FR", "count": 2},
               {"from": "GB", "to": "FR", "count": 3}]}"#,
            "input.returns[1]: duplicated entry, already given at returns[0]",
        ),
        (
            r#"{"mode": "gross", "returns": [], "capacity": {"GB": 1, "GB": 2}}"#,
            "input.capacity.GB: duplicated entry: the key appears twice",
        ),
        (
            r#"{"mode": "gross", "returns": [], "capacity": {"UK": 1}}"#,
            r#"input.capacity.UK: state code "UK" is not an assigned ISO 3166-1 alpha-2 code"#,
        ),
        (
            r#"{"mode": "bilateral", "returns": [], "consented": []}"#,
            "input.consented: only allowed in multilateral mode, not in bilateral mode",
        ),
        (
            r#"{"mode": "multilateral", "returns": [], "consented": [{"admitting": "GB"}]}"#,
            "input.consented[0].origin: missing field",
        ),
    ];
    for (input, expected) in cases {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let output_path = folder.path().join("report.json");
        let output = settle(
            &["--output", output_path.to_str().expect("a UTF-8 path")],
            input,
        );
        let stderr = String::from_utf8(output.stderr).expect("UTF-8 errors");
        assert_eq!(output.status.code(), Some(2), "{input}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        let line = stderr.trim_end();
        assert!(
            line.starts_with(&format!("accord settle: {expected}")),
            "{line}"
        );
        assert!(output.stdout.is_empty());
        assert!(!output_path.exists(), "no partial output");
    }
}

#[test]
fn a_missing_input_file_exits_2() {
    let output = settle(&["--input", "/nonexistent/accord/input.json"], "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 errors");
    assert!(stderr.starts_with("accord settle: /nonexistent/accord/input.json: cannot read"));
}
