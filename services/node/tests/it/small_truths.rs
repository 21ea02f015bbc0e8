//! Small truths about a running node: reflection lists what it serves and nothing else; a
//! busy port or an expired CRL stops it before it creates a database; a CRL that expires
//! while it serves turns its health to `NOT_SERVING`.

use std::net::SocketAddr;
use std::sync::Arc;

use accord_domain::Timestamp;
use accord_node::clock::{Clock, ManualClock};
use accord_node::config::NodeConfig;
use accord_node::server::Node;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::federation::{Federation, eventually, state};

/// The CRL's `nextUpdate` in the federation's PKI, in milliseconds.
fn crl_next_update(federation: &Federation) -> i64 {
    let crl = accord_trust::load_crl(&federation.pki.crl_path()).unwrap();
    let next = crl.next_update().unwrap().unwrap();
    i64::try_from(next.unix_timestamp_nanos() / 1_000_000).unwrap()
}

/// GB's configuration with a database of its own in `folder` and an address of its own.
fn fresh_config(federation: &Federation, folder: &tempfile::TempDir) -> NodeConfig {
    let mut config = federation.nodes[&state("GB")].config.clone();
    config.database_url = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("fresh.db").display()
    );
    config.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config
}

#[tokio::test]
async fn reflection_lists_only_the_services_the_node_serves() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let channel = federation.gateway_channel("GB").await;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("a list of services: {answer:?}");
    };
    let mut names: Vec<String> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "accord.v1.AdmissionService",
            "accord.v1.ReadmissionService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection"
        ]
    );
}

#[tokio::test]
async fn a_busy_port_stops_the_node_with_the_os_reason_before_any_database_exists() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let folder = tempfile::tempdir().unwrap();
    let mut config = fresh_config(&federation, &folder);
    config.listen_addr = federation.nodes[&state("GB")].address;
    let refused = Node::build(config, Arc::new(federation.clock.clone()))
        .await
        .err()
        .expect("the port is taken by GB's running node");
    assert!(!refused.is_configuration());
    let reason = anyhow::Error::from(refused);
    assert!(
        format!("{reason:#}").contains("Address already in use"),
        "{reason:#}"
    );
    assert!(
        !folder.path().join("fresh.db").exists(),
        "no database was created"
    );
}

#[tokio::test]
async fn an_expired_crl_stops_the_node_at_start_with_a_configuration_error() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let folder = tempfile::tempdir().unwrap();
    let expired_at = Timestamp::from_millis(crl_next_update(&federation)).unwrap();
    let refused = Node::build(
        fresh_config(&federation, &folder),
        Arc::new(ManualClock::new(expired_at)),
    )
    .await
    .err()
    .expect("the CRL expired");
    assert!(refused.is_configuration(), "exit code 64: {refused}");
    assert_eq!(refused.to_string(), "configuration: tls.crl");
    let cause = std::error::Error::source(&refused)
        .expect("the reason is kept")
        .to_string();
    assert!(cause.contains("the CRL expired"), "{cause}");
    assert!(!folder.path().join("fresh.db").exists());
}

/// The services health reports on: the server as a whole, and each API.
const HEALTH_SERVICES: [&str; 3] = [
    "",
    "accord.v1.ReadmissionService",
    "accord.v1.AdmissionService",
];

#[tokio::test]
async fn a_crl_that_expires_while_serving_turns_health_to_not_serving() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let health = HealthClient::new(federation.gateway_channel("GB").await);
    let status = |service: &str| {
        let mut health = health.clone();
        let service = service.to_owned();
        async move {
            health
                .check(HealthCheckRequest { service })
                .await
                .unwrap()
                .into_inner()
                .status
        }
    };
    for service in HEALTH_SERVICES {
        let serving = status(service).await;
        assert_eq!(serving, ServingStatus::Serving as i32, "{service:?}");
    }
    let now = federation.clock.now().as_millis();
    federation
        .clock
        .advance_millis(crl_next_update(&federation) - now);
    eventually("GB's health turns NOT_SERVING", || async {
        status("").await == ServingStatus::NotServing as i32
    })
    .await;
    for service in HEALTH_SERVICES {
        let serving = status(service).await;
        assert_eq!(serving, ServingStatus::NotServing as i32, "{service:?}");
    }
}
