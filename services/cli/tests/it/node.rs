//! `accord node` and the binary's own flags through the real binary: an invalid
//! configuration exits 64 before any port is bound; a valid one serves until SIGTERM and
//! then exits cleanly.

use std::path::Path;

use crate::{accord, accord_with, all_succeed, exited_with, listening, stop, text};

#[test]
fn version_and_help_name_the_program_and_its_subcommands() {
    let version = accord(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("accord {}", env!("CARGO_PKG_VERSION"))
    );
    let help = accord(&["--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    for subcommand in ["node", "pki", "settle"] {
        assert!(text.contains(subcommand), "help lists {subcommand}: {text}");
    }
}

/// Exit status 64 (an invalid configuration) with `expected` on standard error; `label` says
/// which configuration was refused.
fn refused_as_invalid_configuration(label: &str, output: &std::process::Output, expected: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(64), "{label}: {stderr}");
    assert!(
        stderr.contains(expected),
        "{label}: {stderr:?} should say {expected:?}"
    );
}

#[test]
fn a_node_without_a_state_refuses_to_start_with_exit_64() {
    let output = accord_with(&["node"], &[("ACCORD_NODE_LISTEN_ADDR", "127.0.0.1:0")]);
    refused_as_invalid_configuration("no state", &output, "`state`: is required");
}

#[test]
fn a_node_with_an_invalid_value_names_the_key_and_exits_64() {
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("node.toml");
    for (label, text, expected) in [
        (
            "an invalid state",
            "state = \"XX\"\nlisten_addr = \"127.0.0.1:0\"\n",
            "`state`: state code \"XX\"",
        ),
        (
            "an unknown key",
            "state = \"FR\"\nlisten_addr = \"127.0.0.1:0\"\nsurprise = 1\n",
            "surprise",
        ),
    ] {
        std::fs::write(&config, text).unwrap();
        let output = accord(&["node", "--config", config.to_str().unwrap()]);
        refused_as_invalid_configuration(label, &output, expected);
    }
}

#[test]
fn a_node_with_both_a_coordinator_and_static_partners_exits_64() {
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("node.toml");
    let text = "state = \"FR\"\nlisten_addr = \"127.0.0.1:0\"\n\
        [coordinator]\nendpoint = \"https://127.0.0.1:7100\"\n\
        signing_public_key = \"coordinator.signing.pub\"\n\
        [[partners]]\nstate = \"GB\"\nendpoint = \"https://127.0.0.1:7002\"\n\
        signing_public_key = \"gb.signing.pub\"\nregimes = [\"UKFR_2025\"]\n";
    std::fs::write(&config, text).unwrap();
    let output = accord(&["node", "--config", config.to_str().unwrap()]);
    refused_as_invalid_configuration(
        "a coordinator and partners",
        &output,
        "`partners`: must be empty with [coordinator]",
    );
}

#[test]
fn a_node_whose_certificate_file_is_missing_exits_64() {
    let folder = tempfile::tempdir().unwrap();
    let config = write_config(folder.path(), "missing/ca.pem");
    let output = accord(&["node", "--config", config.to_str().unwrap()]);
    refused_as_invalid_configuration("a missing CA file", &output, "tls");
}

#[test]
fn a_node_serves_until_sigterm_then_exits_cleanly() {
    let folder = tempfile::tempdir().unwrap();
    issue_pki(folder.path());
    let config = write_config(folder.path(), "pki/ca.pem");
    let (child, address) = listening(
        &["node", "--config", config.to_str().unwrap()],
        "accord node",
    );
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    stop(child);
    assert!(
        folder.path().join("fr.db").exists(),
        "the database was created and migrated"
    );
}

/// A network CA and FR's and GB's node certificates in `folder/pki`.
fn issue_pki(folder: &Path) {
    let pki = folder.join("pki");
    let pki_dir = pki.to_str().unwrap();
    all_succeed(&[
        vec!["pki", "init", "--dir", pki_dir],
        vec![
            "pki", "issue", "--dir", pki_dir, "--state", "FR", "--role", "node",
        ],
        vec![
            "pki", "issue", "--dir", pki_dir, "--state", "GB", "--role", "node",
        ],
    ]);
}

#[test]
fn a_busy_port_exits_1_with_the_os_reason_before_any_database_is_created() {
    let folder = tempfile::tempdir().unwrap();
    issue_pki(folder.path());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let config = write_config_listening(folder.path(), "pki/ca.pem", &address);
    let refused = exited_with(&accord(&["node", "--config", config.to_str().unwrap()]), 1);
    assert!(
        refused.contains("Address already in use"),
        "the operating system's reason: {refused}"
    );
    assert!(
        !folder.path().join("fr.db").exists(),
        "no database is created for a node that cannot listen"
    );
}

fn write_config(folder: &Path, ca: &str) -> std::path::PathBuf {
    write_config_listening(folder, ca, "127.0.0.1:0")
}

fn write_config_listening(folder: &Path, ca: &str, listen_addr: &str) -> std::path::PathBuf {
    let path = folder.join("node.toml");
    let text = format!(
        r#"state = "FR"
listen_addr = "{listen_addr}"
database_url = "sqlite://{folder}/fr.db?mode=rwc"

[tls]
ca = "{folder}/{ca}"
crl = "{folder}/pki/crl.pem"
certificate = "{folder}/pki/issued/FR-node.pem"
private_key = "{folder}/pki/issued/FR-node.key"
signing_key = "{folder}/pki/issued/FR-node.signing.key"

[[partners]]
state = "GB"
endpoint = "https://127.0.0.1:1"
signing_public_key = "{folder}/pki/issued/GB-node.signing.pub"
regimes = ["UKFR_2025"]
"#,
        folder = folder.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}
