//! `accord coordinator` through the real binary: an invalid configuration exits 64; a valid
//! one serves until SIGTERM; an operator issues, lists and cancels enrolment tokens with
//! `accord coordinator token`, and bad input exits 2 without sending anything.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::{accord, all_succeed, exited_with, listening, stop, succeeded, text, verify_report};

#[test]
fn a_coordinator_without_an_address_refuses_to_start_with_exit_64() {
    let refused = exited_with(&accord(&["coordinator"]), 64);
    assert!(refused.contains("listen_addr"), "{refused}");
}

/// A network's running coordinator, in a temporary folder: its root and issuing CA, the
/// coordinator's certificate and signing key, and operator alice's certificate in `pki`
/// (without the root's key).
struct Network {
    folder: tempfile::TempDir,
    pki: PathBuf,
    coordinator: Child,
    /// The coordinator, `https://127.0.0.1:PORT`.
    url: String,
}

impl Network {
    /// Makes the network's credentials and the coordinator's configuration, and starts it.
    fn start() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let pki = folder.path().join("pki");
        let pki_dir = pki.to_str().unwrap();
        all_succeed(&[
            vec!["pki", "init", "--dir", pki_dir],
            vec!["pki", "issuing-ca", "--dir", pki_dir],
            vec!["pki", "issue", "--dir", pki_dir, "--role", "coordinator"],
            vec![
                "pki", "issue", "--dir", pki_dir, "--role", "operator", "--name", "alice",
            ],
        ]);
        // The root's key goes offline: the coordinator issues with the issuing CA alone.
        std::fs::remove_file(pki.join("ca.key")).unwrap();
        let config = folder.path().join("coordinator.toml");
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
                folder = folder.path().display()
            ),
        )
        .unwrap();
        let (coordinator, address) = listening(
            &["coordinator", "--config", config.to_str().unwrap()],
            "accord coordinator",
        );
        Self {
            folder,
            pki,
            coordinator,
            url: format!("https://{address}"),
        }
    }

    /// The coordinator as `HOST:PORT`, without the scheme.
    fn address(&self) -> &str {
        self.url.trim_start_matches("https://")
    }

    /// `path` in the network's folder.
    fn path(&self, path: &str) -> PathBuf {
        self.folder.path().join(path)
    }

    /// `accord coordinator COMMAND…` as `operator`, on the running coordinator.
    fn operate_as(&self, operator: &str, command: &[&str]) -> Output {
        let mut args = vec!["coordinator"];
        args.extend_from_slice(command);
        args.extend_from_slice(&[
            "--coordinator",
            &self.url,
            "--pki",
            self.pki.to_str().unwrap(),
            "--operator",
            operator,
        ]);
        accord(&args)
    }

    /// `accord coordinator COMMAND…` as alice.
    fn operate(&self, command: &[&str]) -> Output {
        self.operate_as("alice", command)
    }

    /// `accord join` of `state` with `token` into `dir`, its node at `endpoint`, through the
    /// coordinator named as `coordinator` (`HOST:PORT` or `https://HOST:PORT`).
    fn join(
        &self,
        coordinator: &str,
        state: &str,
        token: &str,
        endpoint: &str,
        dir: &Path,
    ) -> Output {
        accord(&[
            "join",
            "--coordinator",
            coordinator,
            "--ca",
            self.pki.join("ca.pem").to_str().unwrap(),
            "--state",
            state,
            "--token",
            token,
            "--endpoint",
            endpoint,
            "--dir",
            dir.to_str().unwrap(),
        ])
    }

    /// `state` joins with a token alice issues, its node at port `port` of 127.0.0.1, its
    /// folder `state` in the network's folder; answers that folder.
    fn enrol(&self, coordinator: &str, state: &str, port: &str) -> PathBuf {
        let issued = self.operate(&["token", "issue", "--state", state]);
        let token = field(&text(&issued.stdout), "token: ");
        let dir = self.path(state);
        let endpoint = format!("127.0.0.1:{port}");
        succeeded(&self.join(coordinator, state, &token, &endpoint, &dir));
        dir
    }

    /// Stops the coordinator with SIGTERM and checks that it exits 0; answers the network's
    /// folder, kept until it is dropped.
    fn stop(self) -> tempfile::TempDir {
        stop(self.coordinator);
        self.folder
    }
}

/// The value of the line of `printed` that starts with `name`.
fn field(printed: &str, name: &str) -> String {
    printed
        .lines()
        .find_map(|line| line.strip_prefix(name).map(str::to_owned))
        .unwrap()
}

#[test]
fn a_ministry_joins_with_accord_join_and_its_keys_stay_in_its_folder() {
    let network = Network::start();
    let issued = succeeded(&network.operate(&["token", "issue", "--state", "PL"]));
    let token = field(&issued, "token: ");
    let poland = network.path("pl");
    let join = |state: &str, token: &str, dir: &Path| {
        network.join(network.address(), state, token, "127.0.0.1:7311", dir)
    };
    let printed = succeeded(&join("PL", &token, &poland));
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
    let used = exited_with(&join("PL", &token, &network.path("pl-again")), 1);
    assert!(used.contains("token was used"), "{used}");
    // Czechia needs one member's approval: Poland gives it with its own keys.
    let czech =
        succeeded(&network.operate(&["token", "issue", "--state", "CZ", "--approvals", "1"]));
    let (czech_token, czech_id) = (field(&czech, "token: "), field(&czech, "token_id: "));
    let early = join("CZ", &czech_token, &network.path("cz"));
    assert_eq!(early.status.code(), Some(1), "awaiting an approval");
    let approve = |candidate: &str| {
        accord(&[
            "member",
            "approve",
            "--coordinator",
            &network.url,
            "--dir",
            poland.to_str().unwrap(),
            "--token-id",
            &czech_id,
            "--candidate",
            candidate,
        ])
    };
    let approved = succeeded(&approve("CZ"));
    assert!(approved.contains("1 of 1 approvals (PL)"), "{approved}");
    assert_eq!(approve("Czechia").status.code(), Some(2));
    // The same folder: the kept keys and request are sent again.
    succeeded(&join("CZ", &czech_token, &network.path("cz")));
    // The operator records what Poland and Czechia agreed, then cuts Czechia off.
    let agreed = succeeded(&network.operate(&[
        "agreement",
        "set",
        "--pair",
        "PL,CZ",
        "--regimes",
        "EU_1FOR1,DUBLIN_III",
        "--parity-limit",
        "20",
    ]));
    assert!(agreed.contains("agreement CZ-PL: "), "{agreed}");
    let bad_regime = network.operate(&[
        "agreement",
        "set",
        "--pair",
        "PL,CZ",
        "--regimes",
        "EU_2FOR1",
    ]);
    exited_with(&bad_regime, 2);
    let bad_reason =
        network.operate(&["member", "suspend", "--state", "CZ", "--reason", "boredom"]);
    exited_with(&bad_reason, 2);
    let suspended = succeeded(&network.operate(&[
        "member",
        "suspend",
        "--state",
        "CZ",
        "--reason",
        "agreement-breach",
    ]));
    assert!(suspended.contains("CZ suspended: Suspended"), "{suspended}");
    let revoked = network.operate(&[
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
    let again = network.operate(&["member", "reinstate", "--state", "CZ"]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "a revoked member stays revoked"
    );
    exited_with(&join("Poland", &token, &network.path("x")), 2);
    assert!(!network.path("x").exists(), "bad input writes nothing");
    network.stop();
}

#[test]
fn an_operator_issues_lists_and_cancels_tokens_on_a_running_coordinator() {
    let network = Network::start();
    let token = |extra: &[&str]| {
        let mut command = vec!["token"];
        command.extend_from_slice(extra);
        network.operate(&command)
    };

    let printed = succeeded(&token(&[
        "issue",
        "--state",
        "PL",
        "--idempotency-key",
        "k-1",
    ]));
    assert!(printed.contains("state: PL\nstatus: READY\n"), "{printed}");
    let secret = field(&printed, "token: ");
    assert_eq!(secret.len(), 64);
    let expires_at = field(&printed, "expires_at: ");
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

    let token_id = field(&printed, "token_id: ");
    let listed = token(&["list"]);
    assert!(text(&listed.stdout).contains(&token_id));
    let cancelled = token(&["cancel", "--token-id", &token_id]);
    assert!(
        text(&cancelled.stdout).contains("status: CANCELLED"),
        "{}",
        text(&cancelled.stdout)
    );
    let again = exited_with(&token(&["cancel", "--token-id", &token_id]), 1);
    assert!(again.contains("FailedPrecondition"), "{again}");

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
    let stranger = network.operate_as("bob", &["token", "list"]);
    assert_eq!(
        stranger.status.code(),
        Some(2),
        "no certificate for bob: {}",
        text(&stranger.stderr)
    );

    network.stop();
}

#[test]
fn a_joined_node_first_started_while_the_coordinator_is_down_serves_what_join_received() {
    let network = Network::start();
    network.enrol(&network.url, "GB", "7321");
    let france = network.enrol(&network.url, "FR", "7322");
    // The coordinator goes down before FR's node ever started.
    let _folder = network.stop();
    let mut node = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args([
            "node",
            "--config",
            france.join("node.toml").to_str().unwrap(),
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
    let network = Network::start();
    let round = |extra: &[&str]| {
        let mut command = vec!["round"];
        command.extend_from_slice(extra);
        network.operate(&command)
    };
    // Two states join: a round settles between members.
    network.enrol(network.address(), "GB", "7321");
    network.enrol(network.address(), "FR", "7322");
    let period = [
        "--from",
        "2026-11-01T00:00:00Z",
        "--until",
        "2026-11-08T00:00:00Z",
    ];
    let mut open = vec!["open", "--mode", "sideways"];
    open.extend_from_slice(&period);
    let refused = exited_with(&round(&open), 2);
    assert!(refused.contains("--mode"));
    open[2] = "bilateral";
    let round_id = succeeded(&round(&open))
        .lines()
        .find_map(|line| {
            line.strip_prefix("round ")?
                .strip_suffix(": OPEN")
                .map(str::to_owned)
        })
        .unwrap();
    let overlapping = exited_with(&round(&open), 1);
    assert!(overlapping.contains("FailedPrecondition"));
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
    let bundle = network.path("round.pb");
    succeeded(&round(&[
        "export",
        "--round",
        &round_id,
        "--out",
        bundle.to_str().unwrap(),
    ]));
    let verified = verify_report(&bundle, &network.pki.join("ca.pem"));
    assert!(verified.contains("ok: final"), "{verified}");
    network.stop();
}
