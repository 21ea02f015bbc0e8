//! `accord pki` through the real binary: a CA made, certificates issued and revoked, and
//! bad input refused with one line and exit status 2.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use accord_trust::pki::directory::PkiDirectory;
use accord_trust::{EventVerifyingKey, Identity, PeerIdentity};

use crate::{succeeded, text};

fn accord_pki(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accord"))
        .arg("pki")
        .args(args)
        .output()
        .expect("accord runs")
}

/// Exit status 2 and exactly one line on standard error that contains `expected`.
fn refused_with(output: &Output, expected: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{expected:?}: stderr: {stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "{expected:?}: one line: {stderr:?}"
    );
    assert!(
        stderr.contains(expected),
        "{stderr:?} should say {expected:?}"
    );
}

/// The arguments of `accord pki issue` for `role` of `state` in the CA directory `dir`.
fn issue_for_state<'a>(dir: &'a str, state: &'a str, role: &'a str) -> [&'a str; 7] {
    ["issue", "--dir", dir, "--state", state, "--role", role]
}

/// `text` (what the command printed) contains `expected`.
fn assert_mentions(text: &str, expected: &str) {
    assert!(text.contains(expected), "{expected:?} not in {text}");
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
    assert_mentions(
        &stdout,
        &directory.ca_certificate_path().display().to_string(),
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

    let stdout = succeeded(&accord_pki(&issue_for_state(&dir, "FR", "node")));

    let directory = PkiDirectory::new(&dir);
    let node = PeerIdentity::Node(state("FR"));
    let certificate_path = directory.certificate_path(&node);
    let key_path = directory.key_path(&node);
    for path in [
        &certificate_path,
        &key_path,
        &directory.signing_key_path(state("FR")),
    ] {
        assert_mentions(&stdout, &path.display().to_string());
    }
    assert_eq!(mode(&key_path), 0o600);
    assert_eq!(mode(&directory.signing_key_path(state("FR"))), 0o600);
    let identity = Identity::load(&certificate_path, &key_path).unwrap();
    assert_eq!(identity.peer_identity().unwrap(), node);
    let verifying_key =
        EventVerifyingKey::load(&directory.verifying_key_path(state("FR"))).unwrap();
    assert_mentions(&stdout, &verifying_key.key_id().to_string());
}

#[test]
fn issue_gateway_writes_a_client_certificate() {
    let (_folder, dir) = initialised();

    succeeded(&accord_pki(&issue_for_state(&dir, "FR", "gateway")));

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

    assert_mentions(&stdout, "spiffe://accord/coordinator");
}

#[test]
fn bad_issue_input_is_refused_with_one_clear_line() {
    let (_folder, dir) = initialised();
    let node_without_state = vec!["issue", "--dir", &dir, "--role", "node"];
    let gateway = issue_for_state(&dir, "FR", "gateway");
    let gateway_with_dns = [&gateway[..], &["--dns", "x.example"]].concat();
    for (args, expected) in [
        (
            issue_for_state(&dir, "XX", "node").to_vec(),
            "state code \"XX\" is not an assigned ISO 3166-1 alpha-2 code",
        ),
        (issue_for_state(&dir, "fr", "node").to_vec(), "upper-case"),
        (node_without_state, "need --state"),
        (gateway_with_dns, "client-only"),
    ] {
        refused_with(&accord_pki(&args), expected);
    }
}

#[test]
fn issuing_twice_needs_force() {
    let (_folder, dir) = initialised();
    let issue = issue_for_state(&dir, "GB", "node");
    succeeded(&accord_pki(&issue));

    refused_with(&accord_pki(&issue), "--force");
    let stdout = succeeded(&accord_pki(&[&issue[..], &["--force"]].concat()));
    assert_mentions(&stdout, "kept"); // the event-signing key
}

#[test]
fn revoking_a_node_puts_its_serial_in_the_revocation_list() {
    let (_folder, dir) = initialised();
    succeeded(&accord_pki(&issue_for_state(&dir, "FR", "node")));
    let directory = PkiDirectory::new(&dir);
    let serial = directory.index().unwrap()[0].serial.clone();

    let stdout = succeeded(&accord_pki(&[
        "revoke", "--dir", &dir, "--state", "FR", "--role", "node",
    ]));

    assert_mentions(&stdout, &serial.to_string());
    let crl = accord_trust::load_crl(&directory.crl_path()).unwrap();
    assert_eq!(
        crl.revoked_serials().unwrap(),
        std::slice::from_ref(&serial)
    );
    let listed = succeeded(&accord_pki(&["list", "--dir", &dir]));
    assert_mentions(&listed, &format!("{serial}\tspiffe://accord/state/FR"));
    assert_mentions(&listed, "revoked");
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
        &accord_pki(&issue_for_state(&dir, "FR", "node")),
        "accord pki init",
    );
}

/// The issuing CA's serial, as `accord pki issuing-ca` printed it.
fn issuing_ca_serial(stdout: &str) -> String {
    let after = stdout
        .split("(serial ")
        .nth(1)
        .expect("a serial is printed");
    after.split(')').next().unwrap().to_owned()
}

#[test]
fn an_issuing_ca_in_a_new_directory_issues_and_revokes_without_the_roots_key() {
    let (folder, root_dir) = initialised();
    let online_dir = folder.path().join("online").display().to_string();
    let online = PkiDirectory::new(&online_dir);

    let stdout = succeeded(&accord_pki(&[
        "issuing-ca",
        "--pki",
        &root_dir,
        "--out",
        &online_dir,
    ]));
    succeeded(&accord_pki(&issue_for_state(&online_dir, "FR", "node")));
    succeeded(&accord_pki(&[
        "revoke",
        "--dir",
        &online_dir,
        "--role",
        "node",
        "--state",
        "FR",
    ]));

    assert_mentions(&stdout, "keep it offline");
    assert!(
        !online.ca_key_path().exists(),
        "the root's key stays in its directory"
    );
    assert_eq!(mode(&online.issuing_ca_key_path()), 0o600);
    let fr = PeerIdentity::Node(state("FR"));
    let identity = Identity::load(&online.certificate_path(&fr), &online.key_path(&fr)).unwrap();
    assert_eq!(
        identity.certificate_chain().len(),
        2,
        "FR's certificate, then the issuing CA's"
    );
    assert_eq!(identity.peer_identity().unwrap(), fr);
    let crls = accord_trust::load_crls(&online.crl_path()).unwrap();
    assert_eq!(crls.len(), 2, "the issuing CA's list, then the root's");
    let fr_serial = online.index().unwrap()[0].serial.clone();
    assert_eq!(crls[0].revoked_serials().unwrap(), [fr_serial]);
    assert!(crls[1].revoked_serials().unwrap().is_empty());
    let listed = succeeded(&accord_pki(&["list", "--dir", &online_dir]));
    assert_mentions(&listed, "revoked");
}

#[test]
fn the_root_revokes_an_issuing_ca_and_its_directory_ships_the_roots_new_list() {
    let (folder, root_dir) = initialised();
    let online_dir = folder.path().join("online").display().to_string();
    let online = PkiDirectory::new(&online_dir);
    let root = PkiDirectory::new(&root_dir);
    let stdout = succeeded(&accord_pki(&[
        "issuing-ca",
        "--dir",
        &root_dir,
        "--out",
        &online_dir,
        "--days",
        "30",
    ]));
    let serial = issuing_ca_serial(&stdout);

    let revoked = succeeded(&accord_pki(&[
        "revoke",
        "--dir",
        &root_dir,
        "--issuing-ca",
        &serial,
    ]));
    succeeded(&accord_pki(&["crl", "--dir", &root_dir, "--root"]));
    std::fs::copy(root.root_crl_path(), online.root_crl_path()).unwrap();
    succeeded(&accord_pki(&["crl", "--dir", &online_dir]));

    assert_mentions(&revoked, "every certificate below it is refused");
    assert_mentions(&revoked, "root-crl.pem");
    let crls = accord_trust::load_crls(&online.crl_path()).unwrap();
    let root_list: Vec<String> = crls[1]
        .revoked_serials()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(root_list, std::slice::from_ref(&serial));
    refused_with(
        &accord_pki(&issue_for_state(&online_dir, "FR", "node")),
        "revoked by the root",
    );
    refused_with(
        &accord_pki(&["revoke", "--dir", &root_dir, "--issuing-ca", &serial]),
        "already revoked",
    );
}

#[test]
fn bad_issuing_ca_input_exits_2_with_one_clear_line() {
    let (folder, root_dir) = initialised();
    let nowhere = folder.path().join("nowhere").display().to_string();
    let base = ["issuing-ca", "--dir", root_dir.as_str()];
    let issuing_ca = |extra: &[&'static str]| [&base[..], extra].concat();

    refused_with(
        &accord_pki(&["issuing-ca", "--dir", &nowhere]),
        "accord pki init",
    );
    refused_with(
        &accord_pki(&issuing_ca(&["--days", "4000"])),
        "within its issuer's validity",
    );
    refused_with(
        &accord_pki(&["revoke", "--dir", &root_dir, "--issuing-ca", "0badc0de"]),
        "made no issuing CA",
    );
    let zero_days = accord_pki(&issuing_ca(&["--days", "0"]));
    assert_eq!(
        zero_days.status.code(),
        Some(2),
        "{}",
        text(&zero_days.stderr)
    );
    succeeded(&accord_pki(&issuing_ca(&[])));
    refused_with(&accord_pki(&issuing_ca(&[])), "already exists");
    let root = PkiDirectory::new(&root_dir);
    std::fs::remove_file(root.ca_key_path()).unwrap();
    refused_with(
        &accord_pki(&["crl", "--dir", &root_dir, "--root"]),
        "bring it back from offline storage",
    );
    succeeded(&accord_pki(&["crl", "--dir", &root_dir]));
    succeeded(&accord_pki(&issue_for_state(&root_dir, "GB", "gateway")));
}
