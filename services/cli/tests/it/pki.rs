//! `accord pki` through the real binary: a CA made, certificates issued and revoked, and
//! bad input refused with one line and exit status 2.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use accord_trust::pki::directory::PkiDirectory;
use accord_trust::{EventVerifyingKey, Identity, PeerIdentity};

fn accord_pki(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accord"))
        .arg("pki")
        .args(args)
        .output()
        .expect("accord runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeded(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Exit status 2 and exactly one line on standard error that contains `expected`.
fn refused_with(output: &Output, expected: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.contains(expected),
        "{stderr:?} should say {expected:?}"
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn initialised() -> (tempfile::TempDir, String) {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("ca").display().to_string();
    succeeded(&accord_pki(&["init", "--dir", &dir]));
    (folder, dir)
}

fn state(code: &str) -> accord_domain::StateCode {
    accord_domain::StateCode::parse(code).unwrap()
}

#[test]
fn init_creates_the_ca_and_an_empty_revocation_list() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("ca");

    let stdout = succeeded(&accord_pki(&["init", "--dir", &dir.display().to_string()]));

    let directory = PkiDirectory::new(&dir);
    assert!(
        stdout.contains(&directory.ca_certificate_path().display().to_string()),
        "{stdout}"
    );
    assert_eq!(mode(&directory.ca_key_path()), 0o600);
    accord_trust::load_ca(&directory.ca_certificate_path()).unwrap();
    let crl = accord_trust::load_crl(&directory.crl_path()).unwrap();
    assert!(crl.revoked_serials().unwrap().is_empty());
}

#[test]
fn init_refuses_to_overwrite_an_existing_ca() {
    let (_folder, dir) = initialised();
    let key_before = std::fs::read(PkiDirectory::new(&dir).ca_key_path()).unwrap();

    refused_with(&accord_pki(&["init", "--dir", &dir]), "already exists");

    assert_eq!(
        std::fs::read(PkiDirectory::new(&dir).ca_key_path()).unwrap(),
        key_before
    );
}

#[test]
fn issue_node_writes_the_certificate_key_and_event_signing_keys_and_prints_their_paths() {
    let (_folder, dir) = initialised();

    let stdout = succeeded(&accord_pki(&[
        "issue", "--dir", &dir, "--state", "FR", "--role", "node",
    ]));

    let directory = PkiDirectory::new(&dir);
    let node = PeerIdentity::Node(state("FR"));
    let certificate_path = directory.certificate_path(&node);
    let key_path = directory.key_path(&node);
    for path in [
        &certificate_path,
        &key_path,
        &directory.signing_key_path(state("FR")),
    ] {
        assert!(
            stdout.contains(&path.display().to_string()),
            "{path:?} not in {stdout}"
        );
    }
    assert_eq!(mode(&key_path), 0o600);
    assert_eq!(mode(&directory.signing_key_path(state("FR"))), 0o600);
    let identity = Identity::load(&certificate_path, &key_path).unwrap();
    assert_eq!(identity.peer_identity().unwrap(), node);
    let verifying_key =
        EventVerifyingKey::load(&directory.verifying_key_path(state("FR"))).unwrap();
    assert!(
        stdout.contains(&verifying_key.key_id().to_string()),
        "{stdout}"
    );
}

#[test]
fn issue_gateway_writes_a_client_certificate() {
    let (_folder, dir) = initialised();

    succeeded(&accord_pki(&[
        "issue", "--dir", &dir, "--state", "FR", "--role", "gateway",
    ]));

    let directory = PkiDirectory::new(&dir);
    let gateway = PeerIdentity::Gateway(state("FR"));
    let identity = Identity::load(
        &directory.certificate_path(&gateway),
        &directory.key_path(&gateway),
    )
    .unwrap();
    assert_eq!(identity.peer_identity().unwrap(), gateway);
}

#[test]
fn issue_coordinator_with_its_own_server_names() {
    let (_folder, dir) = initialised();

    let stdout = succeeded(&accord_pki(&[
        "issue",
        "--dir",
        &dir,
        "--role",
        "coordinator",
        "--dns",
        "coordinator.accord.example",
        "--ip",
        "10.0.0.7",
    ]));

    assert!(stdout.contains("spiffe://accord/coordinator"), "{stdout}");
}

#[test]
fn a_bad_state_code_is_refused_with_one_clear_line() {
    let (_folder, dir) = initialised();

    let output = accord_pki(&["issue", "--dir", &dir, "--state", "XX", "--role", "node"]);

    refused_with(
        &output,
        "state code \"XX\" is not an assigned ISO 3166-1 alpha-2 code",
    );
    let lower = accord_pki(&["issue", "--dir", &dir, "--state", "fr", "--role", "node"]);
    refused_with(&lower, "upper-case");
}

#[test]
fn a_node_without_a_state_and_a_gateway_with_server_names_are_refused() {
    let (_folder, dir) = initialised();

    refused_with(
        &accord_pki(&["issue", "--dir", &dir, "--role", "node"]),
        "need --state",
    );
    let gateway_with_dns = accord_pki(&[
        "issue",
        "--dir",
        &dir,
        "--state",
        "FR",
        "--role",
        "gateway",
        "--dns",
        "x.example",
    ]);
    refused_with(&gateway_with_dns, "client-only");
}

#[test]
fn issuing_twice_needs_force() {
    let (_folder, dir) = initialised();
    let issue = ["issue", "--dir", &dir, "--state", "GB", "--role", "node"];
    succeeded(&accord_pki(&issue));

    refused_with(&accord_pki(&issue), "--force");
    let stdout = succeeded(&accord_pki(&[&issue[..], &["--force"]].concat()));
    assert!(
        stdout.contains("kept"),
        "the event-signing key is kept: {stdout}"
    );
}

#[test]
fn revoking_a_node_puts_its_serial_in_the_revocation_list() {
    let (_folder, dir) = initialised();
    succeeded(&accord_pki(&[
        "issue", "--dir", &dir, "--state", "FR", "--role", "node",
    ]));
    let directory = PkiDirectory::new(&dir);
    let serial = directory.index().unwrap()[0].serial.clone();

    let stdout = succeeded(&accord_pki(&[
        "revoke", "--dir", &dir, "--state", "FR", "--role", "node",
    ]));

    assert!(stdout.contains(&serial.to_string()), "{stdout}");
    let crl = accord_trust::load_crl(&directory.crl_path()).unwrap();
    assert_eq!(
        crl.revoked_serials().unwrap(),
        std::slice::from_ref(&serial)
    );
    let listed = succeeded(&accord_pki(&["list", "--dir", &dir]));
    assert!(
        listed.contains(&format!("{serial}\tspiffe://accord/state/FR")),
        "{listed}"
    );
    assert!(listed.contains("revoked"), "{listed}");
    refused_with(
        &accord_pki(&["revoke", "--dir", &dir, "--serial", &serial.to_string()]),
        "already revoked",
    );
}

#[test]
fn commands_on_a_directory_without_a_ca_say_to_run_init() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().display().to_string();

    refused_with(
        &accord_pki(&["issue", "--dir", &dir, "--state", "FR", "--role", "node"]),
        "accord pki init",
    );
}
