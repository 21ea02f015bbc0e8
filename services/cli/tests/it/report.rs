//! `accord report verify` through the real binary: a report settled by the domain engine over
//! four states, signed by a coordinator key that an issuing CA certified, countersigned by
//! every affected state with the keys of a signed directory, at a checkpoint of a log of
//! signed events — then altered, stripped, swapped and forked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use accord_edge::report::bundle::{Event, TrustedCheckpoint};
use accord_edge::report::testing::{CUT_OFF_SIZE, LOG_ORIGIN, Network};
use accord_proto::v1 as pb;
use accord_trust::log::{Checkpoint, KeyName, MemoryTree, consistency_proof, leaf_hash};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use prost::Message;

/// A folder with CA.pem, and the files each test writes.
struct Folder {
    folder: tempfile::TempDir,
}

impl Folder {
    fn new(network: &Network) -> Self {
        let folder = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(folder.path().join("ca.pem"), network.ca_pem()).expect("CA written");
        Self { folder }
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.folder.path().join(name);
        std::fs::write(&path, bytes).expect("file written");
        path
    }

    fn ca(&self) -> PathBuf {
        self.folder.path().join("ca.pem")
    }
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// Runs `accord report verify REPORT --ca CA.pem EXTRA…`.
fn verify(folder: &Folder, report: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["report", "verify", arg(report), "--ca", arg(&folder.ca())])
        .args(extra)
        .output()
        .expect("accord runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that verification failed a check (exit 1) with one line mentioning `expected`.
fn failed_with(output: &Output, expected: &str) {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("accord report verify: FAILED: ") && stderr.contains(expected),
        "expected {expected:?} in {stderr:?}"
    );
}

/// The checkpoint file: the signed note, then the proof lines.
fn checkpoint_file(trusted: &TrustedCheckpoint) -> String {
    let mut text = String::from_utf8(trusted.note.clone()).expect("a note is text");
    for hash in &trusted.consistency_proof {
        text.push_str(&BASE64.encode(hash.as_bytes()));
        text.push('\n');
    }
    text
}

/// One events line.
fn event_line(event: &Event) -> String {
    let path: Vec<String> = event
        .audit_path
        .iter()
        .map(|hash| BASE64.encode(hash.as_bytes()))
        .collect();
    serde_json::json!({
        "leaf_index": event.leaf_index,
        "tree_size": event.tree_size,
        "leaf": BASE64.encode(&event.leaf),
        "audit_path": path,
    })
    .to_string()
}

fn bundle_bytes(network: &Network, report: pb::SignedSettlementReport) -> Vec<u8> {
    network.bundle(report).encode_to_vec()
}

/// Where `needle` starts in `haystack`.
fn position_of(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
        .expect("the part is in the file")
}

#[test]
fn a_final_report_verifies_with_a_trusted_checkpoint_and_events_and_says_each_check() {
    let network = Network::new(CUT_OFF_SIZE);
    let folder = Folder::new(&network);
    let report = folder.write("report.pb", bundle_bytes(&network, network.final_report()));
    let checkpoint = folder.write(
        "trusted.checkpoint",
        checkpoint_file(&network.trusted(6, CUT_OFF_SIZE)),
    );
    let events = [
        network.event(2, CUT_OFF_SIZE),
        network.event(7, CUT_OFF_SIZE),
    ];
    let lines: Vec<String> = events.iter().map(event_line).collect();
    let events = folder.write("events.jsonl", lines.join("\n") + "\n");

    let output = verify(
        &folder,
        &report,
        &[
            "--log-checkpoint",
            arg(&checkpoint),
            "--events",
            arg(&events),
        ],
    );

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let stdout = stdout(&output);
    let expected = [
        "ok: bundle: decoded, canonical",
        "ok: coordinator certificate: key ",
        "ok: directory: version 3",
        "ok: coordinator signature: report RND-2025-W25-1 version 1",
        "ok: optimality certificate: ",
        "ok: checkpoint: log accord.example/ledger at size 10",
        "ok: countersignature of DE: valid",
        "ok: final: every affected state countersigned (DE, FR, GB, IT)",
        "ok: trusted checkpoint: the log at size 6 is consistent with the cut-off at size 10",
        "ok: event on line 1: leaf 2 (RDM-",
        "ok: event on line 2: leaf 7 (RDM-",
    ];
    for line in expected {
        assert!(stdout.contains(line), "{line:?} not in:\n{stdout}");
    }
    assert_eq!(stdout.lines().count(), 6 + 4 + 1 + 1 + 2, "{stdout}");
    assert!(stderr(&output).is_empty());
}

#[test]
fn one_altered_byte_in_the_certificate_a_countersignature_or_elsewhere_fails() {
    let network = Network::new(CUT_OFF_SIZE);
    let folder = Folder::new(&network);
    let signed = network.final_report();
    let bytes = bundle_bytes(&network, signed.clone());
    let report = signed.report.as_ref().expect("a report");
    let certificate = report.certificate.as_ref().expect("a certificate");
    // Each position is inside a value (a state code, a signature, a hash), so the file still
    // decodes and a named check fails.
    let inside_certificate = position_of(&bytes, &certificate.potentials[1].encode_to_vec()) + 2;
    let inside_figures = position_of(&bytes, &report.state_figures[1].encode_to_vec()) + 2;
    let countersignature = &signed.countersignatures[1].signature;
    let inside_countersignature = position_of(&bytes, countersignature) + 10;
    let bundle = network.bundle(signed.clone());
    let checkpoint = &bundle.tree_head.as_ref().expect("a tree head").checkpoint;
    let inside_checkpoint = position_of(&bytes, checkpoint.as_bytes()) + LOG_ORIGIN.len() + 8;
    let inside_coordinator_certificate = position_of(&bytes, &network.coordinator_chain[0]) + 200;
    let directory_signature = &network.directory.wire().signature.as_ref();
    let directory_signature = &directory_signature.expect("a signature").signature;
    let inside_directory = position_of(&bytes, directory_signature) + 5;
    let positions = [
        ("certificate", inside_certificate, "report digest"),
        ("state figures", inside_figures, "report digest"),
        (
            "countersignature",
            inside_countersignature,
            "countersignature of FR: does not verify",
        ),
        ("checkpoint", inside_checkpoint, "checkpoint: "),
        (
            "coordinator certificate",
            inside_coordinator_certificate,
            "coordinator certificate: ",
        ),
        ("directory", inside_directory, "directory: "),
    ];
    for (what, position, expected) in positions {
        let mut altered = bytes.clone();
        altered[position] ^= 0x04;
        let report = folder.write("altered.pb", &altered);
        let output = verify(&folder, &report, &[]);
        assert_eq!(output.status.code(), Some(1), "{what}: {}", stderr(&output));
        failed_with(&output, expected);
    }
}

#[test]
fn a_dropped_countersignature_fails_naming_the_state() {
    let network = Network::new(CUT_OFF_SIZE);
    let folder = Folder::new(&network);
    let mut signed = network.final_report();
    signed
        .countersignatures
        .retain(|countersignature| countersignature.state != "GB");
    let report = folder.write("report.pb", bundle_bytes(&network, signed));

    let output = verify(&folder, &report, &[]);

    failed_with(&output, "countersignature of GB: missing");
    assert!(stdout(&output).contains("ok: countersignature of FR: valid"));
}

#[test]
fn a_swapped_event_fails_inclusion() {
    let network = Network::new(CUT_OFF_SIZE);
    let folder = Folder::new(&network);
    let report = folder.write("report.pb", bundle_bytes(&network, network.final_report()));
    let genuine = network.event(2, CUT_OFF_SIZE);
    let mut swapped = network.event(5, CUT_OFF_SIZE);
    swapped.leaf = network.leaves[6].clone();
    let events = folder.write(
        "events.jsonl",
        format!("{}\n{}\n", event_line(&genuine), event_line(&swapped)),
    );

    let output = verify(&folder, &report, &["--events", arg(&events)]);

    failed_with(
        &output,
        "event on line 2: not included in the log at the cut-off as leaf 5",
    );
}

#[test]
fn a_checkpoint_from_a_forked_log_fails_consistency() {
    let network = Network::new(CUT_OFF_SIZE);
    let folder = Folder::new(&network);
    let report = folder.write("report.pb", bundle_bytes(&network, network.final_report()));
    // The same first seven leaves, then others, signed by the same coordinator key.
    let size = CUT_OFF_SIZE + 3;
    let mut fork = MemoryTree::new();
    for index in 0..size {
        let salt = if index < 7 { "" } else { "X" };
        fork.push(leaf_hash(&network.leaf(index, salt)));
    }
    let name = KeyName::parse(LOG_ORIGIN).expect("a key name");
    let note = Checkpoint::new(&name, size, fork.root_hash(size).expect("a root"))
        .sign(&network.coordinator)
        .expect("a signed note");
    let Ok(proof) = consistency_proof(&fork, CUT_OFF_SIZE, size);
    let trusted = TrustedCheckpoint {
        note: note.to_string().into_bytes(),
        consistency_proof: proof.expect("sizes in order").path,
    };
    let checkpoint = folder.write("forked.checkpoint", checkpoint_file(&trusted));

    let output = verify(&folder, &report, &["--log-checkpoint", arg(&checkpoint)]);

    failed_with(
        &output,
        "the log at size 13 is not consistent with the report's cut-off at size 10",
    );
}

#[test]
fn a_report_that_does_not_decode_fails_like_any_altered_byte() {
    let network = Network::new(CUT_OFF_SIZE);
    let folder = Folder::new(&network);
    let garbage = folder.write("garbage.pb", b"this is not a report bundle \xff\xfe\x00");
    let output = verify(&folder, &garbage, &[]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("accord report verify: FAILED: ") && stderr.contains("decode"),
        "{stderr}"
    );
}

#[test]
fn unreadable_input_exits_2_with_one_line_naming_the_file() {
    let network = Network::new(CUT_OFF_SIZE);
    let folder = Folder::new(&network);
    let report = folder.write("report.pb", bundle_bytes(&network, network.final_report()));
    let bad_events = folder.write("events.jsonl", "{\"leaf_index\": 1}\n");
    let missing = folder.folder.path().join("missing.pb");
    let cases = [
        (verify(&folder, &missing, &[]), "missing.pb"),
        (
            verify(&folder, &report, &["--events", arg(&bad_events)]),
            "events.jsonl: line 1",
        ),
    ];
    for (output, expected) in cases {
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("accord report verify: ") && stderr.contains(expected),
            "{stderr}"
        );
    }
}
