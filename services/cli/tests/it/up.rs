//! `accord up` through the real binary: a federation of GB, FR and DE comes up in a fresh
//! folder, `federation.json` names where and with which certificates to call it, a case
//! flows from GB's node to FR's over mTLS with the gateway certificates it names, the
//! coordinator's directory lists the three members and the scheme's agreements; SIGTERM
//! stops it with exit 0; a second run on the folder resumes with the same identities, data
//! and directory. Bad input exits 2 and writes nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use accord_domain::StateCode;
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_proto::v1::readmission_service_client::ReadmissionServiceClient;
use accord_trust::{ClientTls, Identity, PeerIdentity};
use serde_json::Value;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::{Spawned, accord, exited_with, text};

/// How long a federation may take to come up (a debug build, shared cores).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a case may take to reach the partner node.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `accord up`, its output going to files beside the federation's folder.
struct Up(Spawned);

impl Up {
    /// Starts `accord up --dir dir [--states states]`; `logs` holds its output.
    fn spawn(dir: &Path, states: Option<&str>, logs: &Path, run: &str) -> Self {
        let mut args = vec!["up", "--dir", dir.to_str().unwrap()];
        if let Some(states) = states {
            args.extend(["--states", states]);
        }
        Self(Spawned::spawn(&args, logs, run))
    }

    fn output(&self) -> String {
        self.0.output()
    }

    /// Waits for `dir/federation.json` and reads it; fails if the process exits first.
    fn federation(&mut self, dir: &Path) -> Value {
        let path = dir.join("federation.json");
        self.0.wait_for(START_TIMEOUT, "no federation.json", |_| {
            let text = std::fs::read_to_string(&path).ok()?;
            Some(serde_json::from_str(&text).unwrap())
        })
    }

    /// SIGTERM, then the exit code.
    fn stop(self) -> (Option<i32>, String) {
        self.0.stop()
    }
}

fn path(value: &Value) -> PathBuf {
    let path = PathBuf::from(value.as_str().unwrap());
    assert!(path.is_absolute(), "{path:?}");
    assert!(path.exists(), "{path:?}");
    path
}

/// An mTLS channel to `address` with `cert` and `key`, requiring `server`'s certificate
/// verified for 127.0.0.1 against `ca`.
async fn channel(
    ca: &Path,
    cert: &Path,
    key: &Path,
    address: &Value,
    server: PeerIdentity,
) -> Channel {
    let identity = Identity::load(cert, key).unwrap();
    let ca = accord_trust::load_ca(ca).unwrap();
    let tls = ClientTls::new(&identity, &ca, "127.0.0.1")
        .unwrap()
        .expect_peer(server);
    accord_trust::connect(&format!("https://{}", address.as_str().unwrap()), &tls)
        .await
        .unwrap()
}

/// The channel of `state`'s gateway to `state`'s node, as `federation.json` names them.
async fn gateway(federation: &Value, state: &str) -> Channel {
    let entry = &federation["states"][state];
    channel(
        &path(&federation["ca_cert"]),
        &path(&entry["client_cert"]),
        &path(&entry["client_key"]),
        &entry["grpc"],
        PeerIdentity::Node(StateCode::parse(state).unwrap()),
    )
    .await
}

/// The operator's channel to the coordinator.
async fn operator(federation: &Value) -> MembershipServiceClient<Channel> {
    let coordinator = &federation["coordinator"];
    MembershipServiceClient::new(
        channel(
            &path(&federation["ca_cert"]),
            &path(&coordinator["operator_cert"]),
            &path(&coordinator["operator_key"]),
            &coordinator["grpc"],
            PeerIdentity::Coordinator,
        )
        .await,
    )
}

async fn directory(federation: &Value) -> pb::Directory {
    operator(federation)
        .await
        .get_directory(pb::GetDirectoryRequest::default())
        .await
        .unwrap()
        .into_inner()
        .directory
        .unwrap()
        .directory
        .unwrap()
}

/// Every agreement, as `FIRST-SECOND: REGIME,REGIME` with the pair sorted.
fn agreements(directory: &pb::Directory) -> Vec<String> {
    let mut found: Vec<String> = directory
        .agreements
        .iter()
        .map(|agreement| {
            let mut pair = [
                agreement.first_state.clone(),
                agreement.second_state.clone(),
            ];
            pair.sort();
            let regimes: Vec<&str> = agreement
                .regimes()
                .map(|regime| regime.as_str_name().trim_start_matches("REGIME_"))
                .collect();
            format!("{}-{}: {}", pair[0], pair[1], regimes.join(","))
        })
        .collect();
    found.sort();
    found
}

/// GB's gateway opens a readmission request to FR on GB's node; answers its reference.
async fn open_case(federation: &Value) -> String {
    let arrival = prost_types::Timestamp {
        seconds: i64::try_from(std::time::UNIX_EPOCH.elapsed().unwrap().as_secs() - 2 * 86_400)
            .unwrap(),
        nanos: 0,
    };
    let opened = ReadmissionServiceClient::new(gateway(federation, "GB").await)
        .open_readmission(pb::OpenReadmissionRequest {
            idempotency_key: "up-test-case-1".to_owned(),
            requested_state: "FR".to_owned(),
            regime: pb::Regime::Ukfr2025.into(),
            arrival_time: Some(arrival),
            person: Some(pb::PersonalData {
                keyed_pseudonym: "5e".repeat(32),
                nationality: "ER".to_owned(),
                birth_year: 1999,
                ..Default::default()
            }),
            evidence: vec![pb::Evidence {
                kind: pb::EvidenceKind::FingerprintHit.into(),
                reference: "EURODAC-GB-0001".to_owned(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    opened.readmission.unwrap().case_ref
}

/// FR's readmissions, as FR's gateway lists them on FR's node.
async fn french_cases(federation: &Value) -> Vec<pb::ReadmissionCase> {
    ReadmissionServiceClient::new(gateway(federation, "FR").await)
        .list_readmissions(pb::ListReadmissionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .readmissions
}

/// Waits until FR's node lists the case `case_ref`.
async fn france_receives(federation: &Value, case_ref: &str) {
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    while !french_cases(federation)
        .await
        .iter()
        .any(|case| case.case_ref == case_ref)
    {
        assert!(Instant::now() < deadline, "FR never received {case_ref}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET path` on `state`'s gateway (or the coordinator's, for `"coordinator"`) with the
/// token of `role` (none for `None`): the status and the body.
async fn rest(federation: &Value, state: &str, path: &str, role: Option<&str>) -> (u16, String) {
    let base = match state {
        "coordinator" => federation["coordinator"]["gateway"].as_str().unwrap(),
        state => federation["states"][state]["gateway"].as_str().unwrap(),
    };
    let mut request = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(role) = role {
        request = request.bearer_auth(federation["tokens"][role].as_str().unwrap());
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

fn runtime() -> tokio::runtime::Runtime {
    accord_trust::install_crypto_provider();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_federation_comes_up_works_a_case_over_mtls_and_resumes_with_the_same_identities_and_data() {
    let folder = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let dir = folder.path().join("federation");
    let mut first = Up::spawn(&dir, Some("GB,FR,DE"), logs.path(), "first");
    let federation = first.federation(&dir);
    let states: Vec<&String> = federation["states"].as_object().unwrap().keys().collect();
    assert_eq!(states, ["DE", "FR", "GB"]);
    path(&federation["ca_key"]);
    let fr_gateway = path(&federation["states"]["FR"]["client_cert"]);
    assert_eq!(fr_gateway, dir.join("FR").join("gateway.pem"));
    // Each phase's clients live in their own runtime, dropped before the federation stops:
    // its connections close, as a finished client's do.
    let (case_ref, directory_version) = runtime().block_on(async {
        for state in ["GB", "FR", "DE"] {
            let health = HealthClient::new(gateway(&federation, state).await)
                .check(HealthCheckRequest::default())
                .await
                .unwrap()
                .into_inner();
            assert_eq!(health.status(), ServingStatus::Serving, "{state}");
        }
        let directory = directory(&federation).await;
        let mut members: Vec<(String, pb::MemberStatus)> = directory
            .members
            .iter()
            .map(|member| (member.state.clone(), member.status()))
            .collect();
        members.sort();
        assert_eq!(
            members,
            ["DE", "FR", "GB"].map(|state| (state.to_owned(), pb::MemberStatus::Active))
        );
        assert_eq!(
            agreements(&directory),
            ["DE-FR: DUBLIN_III,EU_1FOR1", "FR-GB: UKFR_2025"]
        );
        let case_ref = open_case(&federation).await;
        france_receives(&federation, &case_ref).await;
        // Each state's REST gateway, with the tokens federation.json names.
        let gb_cases = rest(&federation, "GB", "/v1/readmissions", Some("caseworker:GB")).await;
        assert_eq!(gb_cases.0, 200, "{}", gb_cases.1);
        assert!(gb_cases.1.contains(&case_ref), "{}", gb_cases.1);
        let read_only = rest(&federation, "FR", "/v1/readmissions", Some("diplomat")).await;
        assert_eq!(read_only.0, 200, "{}", read_only.1);
        let anonymous = rest(&federation, "GB", "/v1/readmissions", None).await;
        assert_eq!(anonymous.0, 401, "{}", anonymous.1);
        let elsewhere = rest(&federation, "GB", "/v1/readmissions", Some("caseworker:FR")).await;
        assert_eq!(
            elsewhere.0, 401,
            "FR's token is not GB's gateway's: {}",
            elsewhere.1
        );
        // The coordinator's gateway, for the diplomat and the operator only.
        let rounds = rest(&federation, "coordinator", "/v1/rounds", Some("diplomat")).await;
        assert_eq!(rounds.0, 200, "{}", rounds.1);
        let page = rest(&federation, "coordinator", "/v1/quotas", Some("operator")).await;
        assert_eq!(page.0, 200, "{}", page.1);
        let caseworker = rest(
            &federation,
            "coordinator",
            "/v1/rounds",
            Some("caseworker:GB"),
        )
        .await;
        assert_eq!(caseworker.0, 401, "{}", caseworker.1);
        (case_ref, directory.version)
    });
    let twice = exited_with(&accord(&["up", "--dir", dir.to_str().unwrap()]), 2);
    assert!(twice.contains("another `accord up` runs"), "{twice}");
    let printed = first.output();
    assert!(printed.contains("node FR"), "{printed}");
    assert!(printed.contains("federation.json"), "{printed}");
    let (code, output) = first.stop();
    assert_eq!(code, Some(0), "{output}");
    assert!(!dir.join("federation.json").exists(), "removed at shutdown");

    let ca_before = std::fs::read(dir.join("pki").join("ca.pem")).unwrap();
    let node_before = std::fs::read(dir.join("FR").join("node.pem")).unwrap();
    // Without --states: the folder's federation.
    let mut second = Up::spawn(&dir, None, logs.path(), "second");
    let resumed = second.federation(&dir);
    assert_eq!(resumed["tokens"], federation["tokens"], "the same tokens");
    assert_eq!(std::fs::read(path(&resumed["ca_cert"])).unwrap(), ca_before);
    assert_eq!(
        std::fs::read(dir.join("FR").join("node.pem")).unwrap(),
        node_before,
        "the same node certificate: no second join"
    );
    runtime().block_on(async {
        let directory = directory(&resumed).await;
        assert_eq!(directory.members.len(), 3);
        assert_eq!(
            directory.version, directory_version,
            "nothing re-recorded, ports kept"
        );
        let cases = french_cases(&resumed).await;
        assert!(
            cases.iter().any(|case| case.case_ref == case_ref),
            "FR's node kept the case"
        );
    });
    let (code, output) = second.stop();
    assert_eq!(code, Some(0), "{output}");
    // A state may be added to a folder's federation, never dropped.
    refused(&dir, "GB,FR", "DE is missing");
}

/// `accord up --dir dir --states states`, expected to exit 2 with `expected` in its message.
fn refused(dir: &Path, states: &str, expected: &str) {
    let output = accord(&["up", "--dir", dir.to_str().unwrap(), "--states", states]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{states}: {stderr}");
    assert!(stderr.contains(expected), "{states}: {stderr}");
}

#[test]
fn bad_input_is_refused_with_exit_2_and_nothing_written() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("federation");
    refused(&dir, "GB,XX", "\"XX\" is not a state of the scheme");
    refused(&dir, "GB,US", "\"US\" is not a state of the scheme");
    refused(&dir, "GB,FR,GB", "GB is named twice");
    refused(&dir, "GB", "at least two states");
    refused(&dir, "GB,DE", "GB would have no agreement");
    assert!(!dir.exists(), "nothing written");
    let occupied = folder.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("notes.txt"), "mine").unwrap();
    refused(&occupied, "GB,FR", "holds files but no federation");
    let entries: Vec<_> = std::fs::read_dir(&occupied).unwrap().collect();
    assert_eq!(entries.len(), 1, "nothing written beside notes.txt");
    let under_a_file = occupied.join("notes.txt").join("federation");
    refused(
        &under_a_file,
        "GB,FR",
        "is not a folder this user can write",
    );
}

#[test]
fn a_node_whose_port_was_taken_comes_back_on_another_and_the_directory_follows() {
    let folder = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let dir = folder.path().join("federation");
    let mut first = Up::spawn(&dir, Some("GB,FR"), logs.path(), "first");
    let federation = first.federation(&dir);
    let (code, output) = first.stop();
    assert_eq!(code, Some(0), "{output}");
    let french_address = federation["states"]["FR"]["grpc"]
        .as_str()
        .unwrap()
        .to_owned();
    let british_address = federation["states"]["GB"]["grpc"]
        .as_str()
        .unwrap()
        .to_owned();
    // Another program takes FR's port while the federation is down.
    let taken = std::net::TcpListener::bind(&french_address).unwrap();
    let mut second = Up::spawn(&dir, None, logs.path(), "second");
    let resumed = second.federation(&dir);
    let moved = resumed["states"]["FR"]["grpc"].as_str().unwrap();
    assert_ne!(moved, french_address);
    assert_eq!(
        resumed["states"]["GB"]["grpc"], british_address,
        "a free port is kept"
    );
    runtime().block_on(async {
        let directory = directory(&resumed).await;
        let france = directory
            .members
            .iter()
            .find(|member| member.state == "FR")
            .unwrap();
        assert_eq!(france.node_endpoint, format!("https://{moved}"));
        // GB's node reaches FR's at its new address.
        let case_ref = open_case(&resumed).await;
        france_receives(&resumed, &case_ref).await;
    });
    drop(taken);
    let (code, output) = second.stop();
    assert_eq!(code, Some(0), "{output}");
}
