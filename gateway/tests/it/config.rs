//! The gateway's configuration file, as an operator writes it: a state's node or the
//! coordinator upstream, tokens only as digests, each with its role, and a mistake named by
//! its key before anything starts.

use accord_gateway::GatewayConfig;
use accord_gateway::auth::Role;
use accord_gateway::config::Token;
use accord_gateway::config::Upstream;

use crate::support::state;

const FILE: &str = r#"
state = "GB"
listen_addr = "127.0.0.1:8101"

[node]
endpoint = "https://127.0.0.1:7101"

[tls]
ca = "pki/ca.pem"
certificate = "pki/issued/GB-gateway.pem"
private_key = "pki/issued/GB-gateway.key"

[[tokens]]
sha256 = "2888c45d0d7d6799aedbc885dff51e40c09872559d4020964805023ea379cc41"
role = "caseworker"
state = "GB"

[[tokens]]
sha256 = "e5f066a1d1bf1451bdb8d34a42b983a4c9346ec8f0c98676db0d2d691db66a4e"
role = "diplomat"
"#;

fn load(text: &str) -> Result<GatewayConfig, String> {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    GatewayConfig::load(Some(&path)).map_err(|error| error.to_string())
}

#[test]
fn a_complete_file_gives_the_node_the_identity_and_the_hashed_tokens() {
    let config = load(FILE).unwrap();
    assert_eq!(config.upstream, Upstream::Node(state("GB")));
    assert_eq!(config.endpoint, "https://127.0.0.1:7101");
    assert_eq!(
        config.server_name, "127.0.0.1",
        "the endpoint's host by default"
    );
    assert_eq!(
        config.tokens,
        [
            Token::for_secret("gb-caseworker-demo", Role::Caseworker(state("GB"))),
            Token::for_secret("diplomat-demo", Role::Diplomat),
        ]
    );
}

#[test]
fn a_mistake_is_named_by_its_key() {
    let check = |from: &str, to: &str, key: &str| {
        let error = load(&FILE.replacen(from, to, 1)).unwrap_err();
        assert!(error.contains(key), "{key}: {error}");
    };
    check("role = \"diplomat\"", "role = \"king\"", "tokens[1].role");
    check(
        "role = \"diplomat\"",
        "role = \"diplomat\"\nstate = \"FR\"",
        "tokens[1].state",
    );
    check("sha256 = \"2888", "sha256 = \"zz88", "tokens[0].sha256");
    check("https://127.0.0.1:7101", "127.0.0.1:7101", "node.endpoint");
    check("state = \"GB\"\nlisten_addr", "listen_addr", "state");
}

const COORDINATOR_FILE: &str = r#"
listen_addr = "127.0.0.1:8100"

[coordinator]
endpoint = "https://127.0.0.1:7100"

[tls]
ca = "pki/ca.pem"
certificate = "pki/issued/operator-console.pem"
private_key = "pki/issued/operator-console.key"

[[tokens]]
sha256 = "e5f066a1d1bf1451bdb8d34a42b983a4c9346ec8f0c98676db0d2d691db66a4e"
role = "diplomat"
"#;

#[test]
fn a_coordinator_table_makes_the_coordinators_gateway_and_fronts_no_state() {
    let config = load(COORDINATOR_FILE).unwrap();
    assert_eq!(config.upstream, Upstream::Coordinator);
    assert_eq!(config.endpoint, "https://127.0.0.1:7100");
    assert_eq!(config.server_name, "127.0.0.1");
    let check = |text: &str, key: &str| {
        let error = load(text).unwrap_err();
        assert!(error.contains(key), "{key}: {error}");
    };
    check(&format!("state = \"GB\"\n{COORDINATOR_FILE}"), "state");
    check(
        &COORDINATOR_FILE.replace(
            "[tls]",
            "[node]\nendpoint = \"https://127.0.0.1:7101\"\n\n[tls]",
        ),
        "coordinator",
    );
    check(
        &COORDINATOR_FILE.replace("https://127.0.0.1:7100", "127.0.0.1:7100"),
        "coordinator.endpoint",
    );
    check(
        &COORDINATOR_FILE.replace("[coordinator]\nendpoint = \"https://127.0.0.1:7100\"\n", ""),
        "node",
    );
}
