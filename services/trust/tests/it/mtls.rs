//! Who gets through Accord's mTLS, and who is stopped before any handler runs.

use std::sync::Arc;

use accord_trust::channel::{self, ClientTls};
use accord_trust::pki::{Serial, Validity};
use accord_trust::{OperatorName, PeerIdentity};
use time::Duration;
use tonic::Code;

use crate::support::{
    Authentication, Refusal, RunningServer, TestNetwork, assert_refused_before_any_handler,
    call_act, call_act_on, start_server, start_server_with, state,
};

/// A network with FR's node serving the probe, trusting the CA, with a CRL revoking
/// `revoked`.
async fn fr_node_server(network: &TestNetwork, revoked: &[Serial]) -> RunningServer {
    let server_identity = network.identity(PeerIdentity::Node(state("FR")));
    start_server(&server_identity, &network.ca(), &[network.crl(revoked)]).await
}

#[tokio::test]
async fn a_node_and_its_gateway_are_served_and_the_handler_sees_each_as_itself() {
    let network = TestNetwork::new();
    for (client_identity, spiffe_id) in [
        (PeerIdentity::Node(state("FR")), "spiffe://accord/state/FR"),
        (
            PeerIdentity::Gateway(state("FR")),
            "spiffe://accord/state/FR/gateway",
        ),
    ] {
        let server = fr_node_server(&network, &[]).await;
        let client = network.client(&network.identity(client_identity.clone()));

        let peer = call_act(&server, &client, "FR").await.unwrap();

        assert_eq!(peer, spiffe_id);
        assert_eq!(
            PeerIdentity::from_spiffe_id(&peer).unwrap(),
            client_identity
        );
        assert_eq!(server.counters.handler_calls(), 1, "{spiffe_id}");
        assert_eq!(server.counters.work_done(), 1, "{spiffe_id}");
    }
}

#[tokio::test]
async fn peers_calling_in_turn_over_their_own_connections_are_each_seen_as_themselves() {
    let network = TestNetwork::new();
    let server = fr_node_server(&network, &[]).await;
    let peers = [
        PeerIdentity::Node(state("GB")),
        PeerIdentity::Gateway(state("FR")),
        PeerIdentity::Node(state("BE")),
    ];
    let mut channels = Vec::new();
    for peer in &peers {
        let tls = network.client(&network.identity(peer.clone()));
        channels.push(channel::connect(&server.endpoint(), &tls).await.unwrap());
    }
    // Interleaved, so that the identity remembered for one connection is never served to
    // the next one.
    for _round in 0..3 {
        for (peer, channel) in peers.iter().zip(&channels) {
            let acting = match peer {
                PeerIdentity::Node(state) | PeerIdentity::Gateway(state) => state.to_string(),
                other => panic!("unexpected peer {other:?}"),
            };
            let seen = call_act_on(channel.clone(), &acting).await.unwrap();
            assert_eq!(PeerIdentity::from_spiffe_id(&seen).unwrap(), *peer);
        }
    }
    assert_eq!(server.counters.work_done(), 9);
}

#[tokio::test]
async fn the_interceptor_and_the_bare_handler_read_the_same_identity_as_the_layer() {
    let network = TestNetwork::new();
    let server_identity = network.identity(PeerIdentity::Node(state("FR")));
    let client = network.client(&network.identity(PeerIdentity::Node(state("GB"))));
    for authentication in [Authentication::Interceptor, Authentication::HandlerOnly] {
        let server = start_server_with(&server_identity, &network.ca(), &[], authentication).await;

        let peer = call_act(&server, &client, "GB").await.unwrap();

        assert_eq!(peer, "spiffe://accord/state/GB", "{authentication:?}");
        let refusal = call_act(&server, &client, "FR").await.unwrap_err();
        assert_eq!(
            refusal.code(),
            Some(Code::PermissionDenied),
            "{authentication:?}"
        );
        assert_eq!(server.counters.work_done(), 1, "{authentication:?}");
    }
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let network = TestNetwork::new();
    let server = fr_node_server(&network, &[]).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(network.ca().certificates()[0].clone()).unwrap();
    let mut config =
        rustls::ClientConfig::builder_with_provider(accord_trust::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let client = ClientTls::from_config(Arc::new(config), "localhost").unwrap();

    assert_refused_before_any_handler(
        "no certificate",
        call_act(&server, &client, "FR").await,
        &server,
        &["CertificateRequired"],
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let network = TestNetwork::new();
    let server = fr_node_server(&network, &[]).await;
    let impostor_network = TestNetwork::new();
    let impostor = impostor_network.identity(PeerIdentity::Node(state("FR")));
    // The impostor trusts the real CA, so only its own certificate can fail. Its CA copies
    // the real CA's name, so rustls finds the real CA and the signature check fails.
    let client = network.client(&impostor);

    assert_refused_before_any_handler(
        "another CA",
        call_act(&server, &client, "FR").await,
        &server,
        &["UnknownCA", "DecryptError", "BadCertificate"],
    );
}

#[tokio::test]
async fn a_certificate_outside_its_validity_window_is_refused() {
    let network = TestNetwork::new();
    let server = fr_node_server(&network, &[]).await;
    let days = Duration::days;
    for (label, not_before, not_after) in [
        ("expired", -days(10), -days(1)),
        ("not yet valid", days(1), days(10)),
    ] {
        let validity = Validity::new(network.now + not_before, network.now + not_after).unwrap();
        let (identity, _) = network.identity_valid(PeerIdentity::Node(state("FR")), validity);

        let outcome = call_act(&server, &network.client(&identity), "FR").await;

        assert_refused_before_any_handler(label, outcome, &server, &["CertificateExpired"]);
    }
}

#[tokio::test]
async fn a_revoked_certificate_is_refused() {
    let network = TestNetwork::new();
    let validity = Validity::days_from(network.now, 1).unwrap();
    let (revoked_identity, revoked_serial) =
        network.identity_valid(PeerIdentity::Node(state("FR")), validity);
    let server = fr_node_server(&network, &[revoked_serial]).await;

    assert_refused_before_any_handler(
        "revoked",
        call_act(&server, &network.client(&revoked_identity), "FR").await,
        &server,
        &["CertificateRevoked"],
    );
}

#[tokio::test]
async fn a_certificate_revoked_while_serving_is_refused_once_the_new_crl_is_loaded() {
    let network = TestNetwork::new();
    let server_identity = network.identity(PeerIdentity::Node(state("FR")));
    let server = start_server(&server_identity, &network.ca(), &[network.crl(&[])]).await;
    let validity = Validity::days_from(network.now, 1).unwrap();
    let (client_identity, serial) =
        network.identity_valid(PeerIdentity::Node(state("GB")), validity);
    let client = network.client(&client_identity);
    assert!(call_act(&server, &client, "GB").await.is_ok());

    let new_config =
        accord_trust::server_config(&server_identity, &network.ca(), &[network.crl(&[serial])])
            .unwrap();
    server.config.replace(new_config);

    let refusal = call_act(&server, &client, "GB").await.unwrap_err();
    assert!(
        format!("{refusal:?}").contains("CertificateRevoked"),
        "{refusal:?}"
    );
    assert_eq!(
        server.counters.handler_calls(),
        1,
        "only the call before the revocation ran"
    );
}

#[tokio::test]
async fn one_states_certificate_acting_as_another_state_is_permission_denied() {
    let network = TestNetwork::new();
    let server = fr_node_server(&network, &[]).await;
    let client = network.client(&network.identity(PeerIdentity::Node(state("FR"))));

    let refusal = call_act(&server, &client, "GB").await.unwrap_err();

    assert_eq!(refusal.code(), Some(Code::PermissionDenied), "{refusal:?}");
    assert_eq!(
        server.counters.handler_calls(),
        1,
        "the handler's authorization refused it"
    );
    assert_eq!(server.counters.work_done(), 0, "no work was done");
}

/// A certificate the network CA signed that names nobody: no SPIFFE URI at all.
fn nameless_identity(network: &TestNetwork) -> accord_trust::Identity {
    let issuer = rcgen::Issuer::from_ca_cert_pem(
        network.authority.certificate_pem(),
        rcgen::KeyPair::from_pem(&network.authority.key_pem()).unwrap(),
    )
    .unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = network.now - Duration::minutes(5);
    params.not_after = network.now + Duration::days(1);
    let certificate = params.signed_by(&key, &issuer).unwrap();
    accord_trust::Identity::from_pem(&certificate.pem(), &key.serialize_pem()).unwrap()
}

#[tokio::test]
async fn a_certificate_from_the_ca_without_an_accord_identity_is_unauthenticated() {
    let network = TestNetwork::new();
    let server_identity = network.identity(PeerIdentity::Node(state("FR")));
    let client = network.client(&nameless_identity(&network));
    for authentication in [Authentication::Layer, Authentication::Interceptor] {
        let crls = [network.crl(&[])];
        let server =
            start_server_with(&server_identity, &network.ca(), &crls, authentication).await;

        let refusal = call_act(&server, &client, "FR").await.unwrap_err();

        let context = format!("{authentication:?}: {refusal:?}");
        assert_eq!(refusal.code(), Some(Code::Unauthenticated), "{context}");
        assert_eq!(server.counters.handler_calls(), 0, "{context}");
    }
}

#[tokio::test]
async fn an_operator_is_served_but_acts_for_no_state() {
    let network = TestNetwork::new();
    let server = fr_node_server(&network, &[]).await;
    let operator = PeerIdentity::Operator(OperatorName::parse("alice").unwrap());
    let client = network.client(&network.identity(operator));

    let refusal = call_act(&server, &client, "FR").await.unwrap_err();

    assert_eq!(refusal.code(), Some(Code::PermissionDenied));
    assert_eq!(server.counters.handler_calls(), 1);
}

#[tokio::test]
async fn a_client_expecting_another_server_identity_does_not_connect() {
    let network = TestNetwork::new();
    let server = fr_node_server(&network, &[]).await;
    let identity = network.identity(PeerIdentity::Node(state("GB")));

    let expecting_fr = network
        .client(&identity)
        .expect_peer(PeerIdentity::Node(state("FR")));
    assert!(call_act(&server, &expecting_fr, "GB").await.is_ok());

    let expecting_de = network
        .client(&identity)
        .expect_peer(PeerIdentity::Node(state("DE")));
    let refusal = call_act(&server, &expecting_de, "GB").await.unwrap_err();
    assert!(
        matches!(&refusal, Refusal::Connect(channel::Error::Transport { .. })),
        "{refusal:?}"
    );
    assert_eq!(server.counters.handler_calls(), 1);
}

#[tokio::test]
async fn a_stalled_handshake_does_not_hold_up_other_clients() {
    let network = TestNetwork::new();
    let server = fr_node_server(&network, &[]).await;
    // A client that opens TCP and never says a word holds its handshake until the timeout.
    let _silent = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let client = network.client(&network.identity(PeerIdentity::Node(state("FR"))));

    let well_before_the_timeout = accord_trust::listener::HANDSHAKE_TIMEOUT / 2;
    let outcome =
        tokio::time::timeout(well_before_the_timeout, call_act(&server, &client, "FR")).await;

    assert!(matches!(outcome, Ok(Ok(_))), "{outcome:?}");
}

#[tokio::test]
async fn a_lazy_channel_connects_on_first_use() {
    let network = TestNetwork::new();
    let server = fr_node_server(&network, &[]).await;
    let client = network.client(&network.identity(PeerIdentity::Node(state("FR"))));
    let channel = channel::connect_lazy(&server.endpoint(), &client).unwrap();
    assert_eq!(server.counters.handler_calls(), 0);

    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let request = tonic::Request::new(crate::support::ActRequest {
        acting_state: "FR".to_owned(),
    });
    let path = http::uri::PathAndQuery::from_static("/accord.test.v1.Probe/Act");
    let response = grpc
        .unary::<_, crate::support::ActResponse, _>(
            request,
            path,
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap();
    assert_eq!(response.into_inner().peer, "spiffe://accord/state/FR");
}

#[test]
fn endpoints_must_be_https_with_a_port() {
    let network = TestNetwork::new();
    let client = network.client(&network.identity(PeerIdentity::Node(state("FR"))));
    for endpoint in [
        "http://127.0.0.1:50051",
        "https://127.0.0.1",
        "127.0.0.1:50051",
        "not a uri",
    ] {
        let error = channel::connect_lazy(endpoint, &client).unwrap_err();
        assert!(
            matches!(error, channel::Error::Endpoint(_)),
            "{endpoint}: {error:?}"
        );
    }
}
