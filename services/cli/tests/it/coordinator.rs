//! `accord coordinator` through the real binary: an invalid configuration exits 64; a valid
//! one serves until SIGTERM; an operator issues, lists and cancels enrolment tokens with
//! `accord coordinator token`, and bad input exits 2 without sending anything.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn accord(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(args)
        .output()
        .expect("accord runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_coordinator_without_an_address_refuses_to_start_with_exit_64() {
    let output = accord(&["coordinator"]);
    assert_eq!(output.status.code(), Some(64), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("listen_addr"),
        "{}",
        text(&output.stderr)
    );
}

/// The network's root and issuing CA, the coordinator's certificate and signing key, and
/// operator alice's certificate, in `folder/pki` (without the root's key); the
/// coordinator's configuration in `folder`.
fn network(folder: &Path) -> std::path::PathBuf {
    let pki = folder.join("pki");
    let pki_dir = pki.to_str().unwrap();
    for args in [
        vec!["pki", "init", "--dir", pki_dir],
        vec!["pki", "issuing-ca", "--dir", pki_dir],
        vec!["pki", "issue", "--dir", pki_dir, "--role", "coordinator"],
        vec![
            "pki", "issue", "--dir", pki_dir, "--role", "operator", "--name", "alice",
        ],
    ] {
        let output = accord(&args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    // The root's key goes offline: the coordinator issues with the issuing CA alone.
    std::fs::remove_file(pki.join("ca.key")).unwrap();
    let config = folder.join("coordinator.toml");
    std::fs::write(
        &config,
        format!(
            r#"listen_addr = "127.0.0.1:0"
endpoint = "https://127.0.0.1:7000"
database_url = "sqlite://{folder}/coordinator.db?mode=rwc"
[tls]
ca = "{folder}/pki/ca.pem"
crl = "{folder}/pki/crl.pem"
certificate = "{folder}/pki/issued/coordinator.pem"
private_key = "{folder}/pki/issued/coordinator.key"
signing_key = "{folder}/pki/issued/coordinator.signing.key"
[issuing]
certificate = "{folder}/pki/issuing-ca.pem"
private_key = "{folder}/pki/issuing-ca.key"
"#,
            folder = folder.display()
        ),
    )
    .unwrap();
    config
}

/// Starts `accord coordinator --config config`; answers the process and its URL.
fn spawn_coordinator(config: &Path) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["coordinator", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let address = first
        .strip_prefix("accord coordinator: listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    (child, format!("https://{address}"))
}

/// Stops the coordinator with SIGTERM and checks that it exits 0.
fn stop(mut child: std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "a graceful shutdown exits 0"
    );
}

#[test]
fn a_ministry_joins_with_accord_join_and_its_keys_stay_in_its_folder() {
    let folder = tempfile::tempdir().unwrap();
    let config = network(folder.path());
    let (child, url) = spawn_coordinator(&config);
    let pki = folder.path().join("pki");
    let issued = accord(&[
        "coordinator",
        "token",
        "issue",
        "--state",
        "PL",
        "--coordinator",
        &url,
        "--pki",
        pki.to_str().unwrap(),
        "--operator",
        "alice",
    ]);
    assert_eq!(issued.status.code(), Some(0), "{}", text(&issued.stderr));
    let token = text(&issued.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("token: ").map(str::to_owned))
        .unwrap();
    let ca = pki.join("ca.pem");
    let poland = folder.path().join("pl");
    let join = |state: &str, token: &str, dir: &Path| {
        accord(&[
            "join",
            "--coordinator",
            url.trim_start_matches("https://"),
            "--ca",
            ca.to_str().unwrap(),
            "--state",
            state,
            "--token",
            token,
            "--endpoint",
            "127.0.0.1:7311",
            "--dir",
            dir.to_str().unwrap(),
        ])
    };
    let joined = join("PL", &token, &poland);
    let printed = text(&joined.stdout);
    assert_eq!(joined.status.code(), Some(0), "{}", text(&joined.stderr));
    assert!(
        printed.contains("PL joined the network: directory version 1"),
        "{printed}"
    );
    assert!(printed.contains("accord node --config"), "{printed}");
    for file in [
        "node.pem",
        "node.key",
        "gateway.pem",
        "gateway.key",
        "signing.key",
        "ca.pem",
        "node.toml",
    ] {
        assert!(poland.join(file).exists(), "{file}");
    }
    let again = join("PL", &token, &poland);
    assert_eq!(
        again.status.code(),
        Some(2),
        "a joined folder is kept: {}",
        text(&again.stderr)
    );
    let used = join("PL", &token, &folder.path().join("pl-again"));
    assert_eq!(used.status.code(), Some(1));
    assert!(
        text(&used.stderr).contains("token was used"),
        "{}",
        text(&used.stderr)
    );
    // Czechia needs one member's approval: Poland gives it with its own keys.
    let czech = accord(&[
        "coordinator",
        "token",
        "issue",
        "--state",
        "CZ",
        "--approvals",
        "1",
        "--coordinator",
        &url,
        "--pki",
        pki.to_str().unwrap(),
        "--operator",
        "alice",
    ]);
    let czech_out = text(&czech.stdout);
    assert_eq!(czech.status.code(), Some(0), "{}", text(&czech.stderr));
    let field = |name: &str| {
        czech_out
            .lines()
            .find_map(|line| line.strip_prefix(name).map(str::to_owned))
            .unwrap()
    };
    let (czech_token, czech_id) = (field("token: "), field("token_id: "));
    let early = join("CZ", &czech_token, &folder.path().join("cz"));
    assert_eq!(early.status.code(), Some(1), "awaiting an approval");
    let approve = |candidate: &str| {
        accord(&[
            "member",
            "approve",
            "--coordinator",
            &url,
            "--dir",
            poland.to_str().unwrap(),
            "--token-id",
            &czech_id,
            "--candidate",
            candidate,
        ])
    };
    let approved = approve("CZ");
    assert_eq!(
        approved.status.code(),
        Some(0),
        "{}",
        text(&approved.stderr)
    );
    assert!(
        text(&approved.stdout).contains("1 of 1 approvals (PL)"),
        "{}",
        text(&approved.stdout)
    );
    assert_eq!(approve("Czechia").status.code(), Some(2));
    // The same folder: the kept keys and request are sent again.
    let czech_joined = join("CZ", &czech_token, &folder.path().join("cz"));
    assert_eq!(
        czech_joined.status.code(),
        Some(0),
        "{}",
        text(&czech_joined.stderr)
    );
    // The operator records what Poland and Czechia agreed, then cuts Czechia off.
    let operate = |extra: &[&str]| {
        let mut args = vec!["coordinator"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "--coordinator",
            &url,
            "--pki",
            pki.to_str().unwrap(),
            "--operator",
            "alice",
        ]);
        accord(&args)
    };
    let agreed = operate(&[
        "agreement",
        "set",
        "--pair",
        "PL,CZ",
        "--regimes",
        "EU_1FOR1,DUBLIN_III",
        "--parity-limit",
        "20",
    ]);
    assert_eq!(agreed.status.code(), Some(0), "{}", text(&agreed.stderr));
    assert!(
        text(&agreed.stdout).contains("agreement CZ-PL: "),
        "{}",
        text(&agreed.stdout)
    );
    let bad_regime = operate(&[
        "agreement",
        "set",
        "--pair",
        "PL,CZ",
        "--regimes",
        "EU_2FOR1",
    ]);
    assert_eq!(
        bad_regime.status.code(),
        Some(2),
        "{}",
        text(&bad_regime.stderr)
    );
    let bad_reason = operate(&["member", "suspend", "--state", "CZ", "--reason", "boredom"]);
    assert_eq!(
        bad_reason.status.code(),
        Some(2),
        "{}",
        text(&bad_reason.stderr)
    );
    let suspended = operate(&[
        "member",
        "suspend",
        "--state",
        "CZ",
        "--reason",
        "agreement-breach",
    ]);
    assert_eq!(
        suspended.status.code(),
        Some(0),
        "{}",
        text(&suspended.stderr)
    );
    assert!(
        text(&suspended.stdout).contains("CZ suspended: Suspended"),
        "{}",
        text(&suspended.stdout)
    );
    let revoked = operate(&[
        "member",
        "revoke",
        "--state",
        "CZ",
        "--reason",
        "security-incident",
    ]);
    assert!(
        text(&revoked.stdout).contains("CZ revoked: Revoked"),
        "{}",
        text(&revoked.stderr)
    );
    let again = operate(&["member", "reinstate", "--state", "CZ"]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "a revoked member stays revoked"
    );
    let bad_state = join("Poland", &token, &folder.path().join("x"));
    assert_eq!(
        bad_state.status.code(),
        Some(2),
        "{}",
        text(&bad_state.stderr)
    );
    assert!(
        !folder.path().join("x").exists(),
        "bad input writes nothing"
    );
    stop(child);
}

#[test]
fn an_operator_issues_lists_and_cancels_tokens_on_a_running_coordinator() {
    let folder = tempfile::tempdir().unwrap();
    let config = network(folder.path());
    let (child, url) = spawn_coordinator(&config);
    let pki = folder.path().join("pki");
    let operator = [
        "--coordinator",
        &url,
        "--pki",
        pki.to_str().unwrap(),
        "--operator",
        "alice",
    ];
    let token = |extra: &[&str]| {
        let mut args = vec!["coordinator", "token"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&operator);
        accord(&args)
    };

    let issued = token(&["issue", "--state", "PL", "--idempotency-key", "k-1"]);
    let printed = text(&issued.stdout);
    assert_eq!(issued.status.code(), Some(0), "{}", text(&issued.stderr));
    assert!(printed.contains("state: PL\nstatus: READY\n"), "{printed}");
    let secret = printed
        .lines()
        .find_map(|line| line.strip_prefix("token: "))
        .unwrap()
        .to_owned();
    assert_eq!(secret.len(), 64);
    let expires_at = printed
        .lines()
        .find_map(|line| line.strip_prefix("expires_at: "))
        .unwrap()
        .to_owned();
    let replayed = token(&[
        "issue",
        "--state",
        "PL",
        "--expires-at",
        &expires_at,
        "--idempotency-key",
        "k-1",
    ]);
    assert!(
        text(&replayed.stdout).contains(&secret),
        "a retry shows the same token: {}",
        text(&replayed.stderr)
    );

    let token_id = printed
        .lines()
        .find_map(|line| line.strip_prefix("token_id: "))
        .unwrap()
        .to_owned();
    let listed = token(&["list"]);
    assert!(text(&listed.stdout).contains(&token_id));
    let cancelled = token(&["cancel", "--token-id", &token_id]);
    assert!(
        text(&cancelled.stdout).contains("status: CANCELLED"),
        "{}",
        text(&cancelled.stdout)
    );
    let again = token(&["cancel", "--token-id", &token_id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("FailedPrecondition"),
        "{}",
        text(&again.stderr)
    );

    for (label, extra) in [
        ("a zero ttl", vec!["issue", "--state", "PL", "--ttl", "0h"]),
        (
            "a ttl without a unit",
            vec!["issue", "--state", "PL", "--ttl", "24"],
        ),
        (
            "an expiry that is no time",
            vec!["issue", "--state", "PL", "--expires-at", "tomorrow"],
        ),
    ] {
        let refused = token(&extra);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{label}: {}",
            text(&refused.stderr)
        );
    }
    let stranger = accord(&[
        "coordinator",
        "token",
        "list",
        "--coordinator",
        &url,
        "--pki",
        pki.to_str().unwrap(),
        "--operator",
        "bob",
    ]);
    assert_eq!(
        stranger.status.code(),
        Some(2),
        "no certificate for bob: {}",
        text(&stranger.stderr)
    );

    stop(child);
}

#[test]
fn a_joined_node_first_started_while_the_coordinator_is_down_serves_what_join_received() {
    let folder = tempfile::tempdir().unwrap();
    let config = network(folder.path());
    let (child, url) = spawn_coordinator(&config);
    let pki = folder.path().join("pki");
    let operator = [
        "--coordinator",
        &url,
        "--pki",
        pki.to_str().unwrap(),
        "--operator",
        "alice",
    ];
    let mut joined = Vec::new();
    for (state, port) in [("GB", "7321"), ("FR", "7322")] {
        let mut args = vec!["coordinator", "token", "issue", "--state", state];
        args.extend_from_slice(&operator);
        let issued = accord(&args);
        let token = text(&issued.stdout)
            .lines()
            .find_map(|line| line.strip_prefix("token: ").map(str::to_owned))
            .unwrap();
        let dir = folder.path().join(state);
        let join = accord(&[
            "join",
            "--coordinator",
            &url,
            "--ca",
            pki.join("ca.pem").to_str().unwrap(),
            "--state",
            state,
            "--token",
            &token,
            "--endpoint",
            &format!("127.0.0.1:{port}"),
            "--dir",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(join.status.code(), Some(0), "{}", text(&join.stderr));
        joined.push(dir);
    }
    // The coordinator goes down before FR's node ever started.
    stop(child);
    let mut node = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args([
            "node",
            "--config",
            joined[1].join("node.toml").to_str().unwrap(),
        ])
        .env("RUST_LOG", "info")
        .env("ACCORD_NODE_LISTEN_ADDR", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = node.stderr.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    while let Ok(line) = received.recv_timeout(std::time::Duration::from_secs(20)) {
        let served = line.contains("applied a new directory version") && line.contains("version=2");
        seen.push(line);
        if served {
            break;
        }
    }
    stop(node);
    // The first start stored it: the node's database now holds version 2.
    assert!(
        seen.iter().any(|line| line.contains("version=2")),
        "{seen:#?}"
    );
}

#[test]
fn an_operator_runs_a_round_and_exports_a_report_that_verifies() {
    let folder = tempfile::tempdir().unwrap();
    let config = network(folder.path());
    let (child, url) = spawn_coordinator(&config);
    let pki = folder.path().join("pki");
    let operator = [
        "--coordinator",
        &url,
        "--pki",
        pki.to_str().unwrap(),
        "--operator",
        "alice",
    ];
    let round = |extra: &[&str]| {
        let mut args = vec!["coordinator", "round"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&operator);
        accord(&args)
    };
    // Two states join: a round settles between members.
    for (state, port) in [("GB", "7321"), ("FR", "7322")] {
        let mut issue = vec!["coordinator", "token", "issue", "--state", state];
        issue.extend_from_slice(&operator);
        let issued = accord(&issue);
        let token = text(&issued.stdout)
            .lines()
            .find_map(|line| line.strip_prefix("token: ").map(str::to_owned))
            .unwrap();
        let dir = folder.path().join(state);
        let joined = accord(&[
            "join",
            "--coordinator",
            url.trim_start_matches("https://"),
            "--ca",
            pki.join("ca.pem").to_str().unwrap(),
            "--state",
            state,
            "--token",
            &token,
            "--endpoint",
            &format!("127.0.0.1:{port}"),
            "--dir",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(joined.status.code(), Some(0), "{}", text(&joined.stderr));
    }
    let period = [
        "--from",
        "2026-11-01T00:00:00Z",
        "--until",
        "2026-11-08T00:00:00Z",
    ];
    let mut open = vec!["open", "--mode", "sideways"];
    open.extend_from_slice(&period);
    let refused = round(&open);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("--mode"));
    open[2] = "bilateral";
    let opened = round(&open);
    assert_eq!(opened.status.code(), Some(0), "{}", text(&opened.stderr));
    let round_id = text(&opened.stdout)
        .lines()
        .find_map(|line| {
            line.strip_prefix("round ")?
                .strip_suffix(": OPEN")
                .map(str::to_owned)
        })
        .unwrap();
    let overlapping = round(&open);
    assert_eq!(overlapping.status.code(), Some(1));
    assert!(text(&overlapping.stderr).contains("FailedPrecondition"));
    let closed = round(&["close", "--round", &round_id]);
    assert!(
        text(&closed.stdout).contains("CLOSED"),
        "{}",
        text(&closed.stderr)
    );
    // Nothing was reported in the period: the report settles nothing and is final at once.
    let proposed = round(&["propose", "--round", &round_id]);
    assert!(
        text(&proposed.stdout).contains("FINAL"),
        "{}",
        text(&proposed.stderr)
    );
    let bundle = folder.path().join("round.pb");
    let exported = round(&[
        "export",
        "--round",
        &round_id,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    let ca = pki.join("ca.pem");
    let verified = accord(&[
        "report",
        "verify",
        bundle.to_str().unwrap(),
        "--ca",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        text(&verified.stderr)
    );
    assert!(
        text(&verified.stdout).contains("ok: final"),
        "{}",
        text(&verified.stdout)
    );
    stop(child);
}
