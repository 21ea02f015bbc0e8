//! Two real states for the gateway's tests: a network CA in a temporary folder, GB's and
//! FR's nodes on 127.0.0.1 over mTLS (each with its SQLite file, sharing one manual clock,
//! each the other's partner), and a real gateway in front of each node, called over HTTP
//! with reqwest. Every gateway knows the same four tokens.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use accord_domain::{Regime, StateCode, Timestamp};
use accord_gateway::auth::Role;
use accord_gateway::config::{Token, Upstream};
use accord_gateway::{Gateway, GatewayConfig};
use accord_node::clock::ManualClock;
use accord_node::config::{Deadlines, Delivery, Limits, NodeConfig, Partner, TlsPaths};
use accord_node::server::Node;
use accord_trust::PeerIdentity;
use accord_trust::pki::directory::PkiDirectory;
use accord_trust::pki::{IssueRequest, Validity};
use serde_json::Value;
use tokio::sync::oneshot;

/// The clock's start: Monday 2 March 2026, 09:00 UTC.
pub const START_MILLIS: i64 = 1_772_442_000_000;
/// The day before the start, when the test's people arrived.
pub const ARRIVED: &str = "2026-03-01T09:00:00Z";

/// The tokens every gateway knows.
pub const GB_CASEWORKER: &str = "gb-caseworker-token";
pub const FR_CASEWORKER: &str = "fr-caseworker-token";
pub const OPERATOR: &str = "operator-token";
pub const DIPLOMAT: &str = "diplomat-token";

/// How long a test waits for a partner's node to learn of a case.
const CONDITION_TIMEOUT: Duration = Duration::from_secs(20);

pub fn state(code: &str) -> StateCode {
    StateCode::parse(code).unwrap()
}

/// GB and FR, their nodes and their gateways; everything stops when it is dropped.
pub struct States {
    _folder: tempfile::TempDir,
    gateways: HashMap<StateCode, SocketAddr>,
    _stops: Vec<oneshot::Sender<()>>,
    pub http: reqwest::Client,
    /// The nodes' shared clock.
    pub clock: Arc<ManualClock>,
}

fn listener() -> std::net::TcpListener {
    std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap()
}

impl States {
    /// Starts GB's and FR's nodes, partners under every regime, and a gateway for each.
    pub async fn start() -> Self {
        accord_trust::install_crypto_provider();
        accord_telemetry::init_for_tests();
        let folder = tempfile::tempdir().unwrap();
        let pki = PkiDirectory::new(folder.path().join("pki"));
        let now = accord_trust::clock::wall_clock_now();
        let validity = || Validity::days_from(now, 30).unwrap();
        pki.init(validity(), validity()).unwrap();
        let codes = [state("GB"), state("FR")];
        for code in codes {
            for identity in [PeerIdentity::Node(code), PeerIdentity::Gateway(code)] {
                pki.issue(&IssueRequest::new(identity, validity()), false)
                    .unwrap();
            }
        }
        let clock = Arc::new(ManualClock::new(
            Timestamp::from_millis(START_MILLIS).unwrap(),
        ));
        let mut listeners: HashMap<StateCode, std::net::TcpListener> =
            codes.iter().map(|code| (*code, listener())).collect();
        let addresses: HashMap<StateCode, SocketAddr> = listeners
            .iter()
            .map(|(code, listener)| (*code, listener.local_addr().unwrap()))
            .collect();
        let mut states = Self {
            _folder: folder,
            gateways: HashMap::new(),
            _stops: Vec::new(),
            http: reqwest::Client::new(),
            clock: clock.clone(),
        };
        for code in codes {
            let config = node_config(&pki, states._folder.path(), code, &addresses);
            let node =
                Node::build_with_listener(config, clock.clone(), listeners.remove(&code).unwrap())
                    .await
                    .unwrap();
            let (stop, stopped) = oneshot::channel::<()>();
            tokio::spawn(node.run_until(async move {
                let _ = stopped.await;
            }));
            states._stops.push(stop);
            let gateway = Gateway::build_with_listener(
                gateway_config(&pki, code, addresses[&code]),
                listener(),
            )
            .await
            .unwrap();
            states.gateways.insert(code, gateway.local_addr());
            let (stop, stopped) = oneshot::channel::<()>();
            tokio::spawn(gateway.run_until(async move {
                let _ = stopped.await;
            }));
            states._stops.push(stop);
        }
        states
    }

    /// `http://…` of `code`'s gateway, with `path`.
    pub fn url(&self, code: &str, path: &str) -> String {
        format!("http://{}{path}", self.gateways[&state(code)])
    }

    /// A request to `code`'s gateway, with `token` as its bearer token.
    pub fn call(
        &self,
        method: reqwest::Method,
        code: &str,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(code, path))
            .bearer_auth(token)
    }

    /// GETs `path` on `code`'s gateway as `token`: the status and the JSON body.
    pub async fn get(&self, code: &str, path: &str, token: &str) -> (u16, Value) {
        answer(
            self.call(reqwest::Method::GET, code, path, token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// POSTs `body` to `path` on `code`'s gateway as `token` with idempotency key `key`.
    pub async fn post(
        &self,
        code: &str,
        path: &str,
        token: &str,
        key: &str,
        body: &Value,
    ) -> (u16, Value) {
        let request = self
            .call(reqwest::Method::POST, code, path, token)
            .header("Idempotency-Key", key)
            .json(body);
        answer(request.send().await.unwrap()).await
    }

    /// Polls `path` on `code`'s gateway as `token` until `done` holds for its 200 answer.
    pub async fn wait_for(
        &self,
        code: &str,
        path: &str,
        token: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + CONDITION_TIMEOUT;
        loop {
            let (status, body) = self.get(code, path, token).await;
            if status == 200 && done(&body) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "gave up waiting: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A gateway of GB whose node is not running (its port closed), the folder that holds its
/// PKI, and the handle that stops it when dropped.
pub async fn gateway_without_node() -> (SocketAddr, tempfile::TempDir, oneshot::Sender<()>) {
    accord_trust::install_crypto_provider();
    let folder = tempfile::tempdir().unwrap();
    let pki = PkiDirectory::new(folder.path().join("pki"));
    let now = accord_trust::clock::wall_clock_now();
    let validity = || Validity::days_from(now, 30).unwrap();
    pki.init(validity(), validity()).unwrap();
    pki.issue(
        &IssueRequest::new(PeerIdentity::Gateway(state("GB")), validity()),
        false,
    )
    .unwrap();
    let closed = listener().local_addr().unwrap(); // bound, then dropped: nobody listens
    let gateway =
        Gateway::build_with_listener(gateway_config(&pki, state("GB"), closed), listener())
            .await
            .unwrap();
    let address = gateway.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(gateway.run_until(async move {
        let _ = stopped.await;
    }));
    (address, folder, stop)
}

/// The status and JSON body of an answer; asserts an error is problem+json.
pub async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(content_type, "application/problem+json", "{status} {body}");
        assert_eq!(body["status"], status, "{body}");
    }
    (status, body)
}

/// A valid new readmission request of GB to FR under the UK–France regime.
pub fn readmission_request(pseudonym_digit: char) -> Value {
    serde_json::json!({
        "requested_state": "FR",
        "regime": "UKFR_2025",
        "arrival_time": ARRIVED,
        "person": {
            "keyed_pseudonym": pseudonym_digit.to_string().repeat(64),
            "nationality": "SY",
            "birth_year": 1998
        },
        "evidence": [{"kind": "FINGERPRINT_HIT", "reference": "EURODAC-1"}],
        "notes": "Arrived by small boat."
    })
}

/// The fields a problem's violations name, sorted.
pub fn violated_fields(problem: &Value) -> Vec<String> {
    let mut fields: Vec<String> = problem["violations"]
        .as_array()
        .map(|violations| {
            violations
                .iter()
                .map(|violation| violation["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

fn node_config(
    pki: &PkiDirectory,
    folder: &std::path::Path,
    code: StateCode,
    addresses: &HashMap<StateCode, SocketAddr>,
) -> NodeConfig {
    let partners = addresses
        .iter()
        .filter(|(other, _)| **other != code)
        .map(|(other, address)| Partner {
            state: *other,
            endpoint: format!("https://{address}"),
            server_name: "127.0.0.1".to_owned(),
            signing_public_key: pki.verifying_key_path(*other),
            regimes: Regime::ALL.to_vec(),
            parity_limit: None,
        })
        .collect();
    NodeConfig {
        state: code,
        listen_addr: addresses[&code],
        database_url: format!(
            "sqlite://{}?mode=rwc",
            folder.join(format!("{code}.db")).display()
        ),
        tls: TlsPaths {
            ca: pki.ca_certificate_path(),
            crl: Some(pki.crl_path()),
            certificate: pki.certificate_path(&PeerIdentity::Node(code)),
            private_key: pki.key_path(&PeerIdentity::Node(code)),
            signing_key: pki.signing_key_path(code),
        },
        coordinator: None,
        partners,
        limits: Limits::default(),
        delivery: Delivery {
            initial_backoff_ms: 20,
            max_backoff_ms: 200,
            poll_interval_ms: 50,
            max_in_flight: 16,
            attempt_timeout_ms: 5_000,
        },
        deadlines: Deadlines {
            sweep_interval_ms: 50,
            sweep_batch: 64,
        },
    }
}

fn gateway_config(pki: &PkiDirectory, code: StateCode, node: SocketAddr) -> GatewayConfig {
    let gateway = PeerIdentity::Gateway(code);
    GatewayConfig {
        upstream: Upstream::Node(code),
        listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        endpoint: format!("https://{node}"),
        server_name: "127.0.0.1".to_owned(),
        ca: pki.ca_certificate_path(),
        certificate: pki.certificate_path(&gateway),
        private_key: pki.key_path(&gateway),
        tokens: tokens(),
    }
}

/// The tokens every gateway knows, with their roles.
pub fn tokens() -> Vec<Token> {
    vec![
        Token::for_secret(GB_CASEWORKER, Role::Caseworker(state("GB"))),
        Token::for_secret(FR_CASEWORKER, Role::Caseworker(state("FR"))),
        Token::for_secret(OPERATOR, Role::Operator),
        Token::for_secret(DIPLOMAT, Role::Diplomat),
    ]
}
