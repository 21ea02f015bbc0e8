//! A state joins as a ministry would: `joining::join` makes its keys in its own folder, sends
//! only CSRs and a public key with its token to `Enrol` (no client certificate), and gets
//! certificates that then work for mTLS, a directory that lists it, and a node configuration.
//! Every bad token is refused with its own status, audited, and a flood of them is cut off.

use std::os::unix::fs::PermissionsExt;

use accord_coordinator::joining::{self, JoinError, JoinRequest, JoinedFolder, join};
use accord_domain::StateCode;
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::pki::csr::key_and_request;
use accord_trust::{EventSigningKey, Identity, PeerIdentity};
use prost::Message;
use tonic::Code;

use crate::member::channel;
use crate::network::{HOUR_MS, Network, bad_fields, reason, signed_directory};

fn request(network: &Network, state: &str, token: &str, dir: &std::path::Path) -> JoinRequest {
    JoinRequest {
        coordinator: network.endpoint(),
        ca_pem: network.ca_pem(),
        state: StateCode::parse(state).unwrap(),
        token: token.to_owned(),
        endpoint: "127.0.0.1:7301".to_owned(),
        listen_addr: None,
        dir: dir.to_owned(),
    }
}

/// A raw `Enrol` request for `state` with fresh keys.
fn enrol_request(state: &str, token: &str, key: &str) -> pb::EnrolRequest {
    let code = StateCode::parse(state).unwrap();
    pb::EnrolRequest {
        idempotency_key: key.to_owned(),
        enrolment_token: token.to_owned(),
        state: state.to_owned(),
        node_csr_pem: key_and_request(&PeerIdentity::Node(code)).unwrap().csr_pem,
        gateway_csr_pem: key_and_request(&PeerIdentity::Gateway(code))
            .unwrap()
            .csr_pem,
        node_endpoint: "https://127.0.0.1:7301".to_owned(),
        signing_public_key: EventSigningKey::generate()
            .unwrap()
            .verifying_key()
            .to_bytes()
            .to_vec(),
    }
}

#[tokio::test]
async fn a_state_joins_with_its_token_and_its_keys_never_leave_its_folder() {
    for network in Network::on_every_database().await {
        let (token_id, token) = network.token_for("PL", 0).await;
        let folder = tempfile::tempdir().unwrap();
        let joined = join(request(&network, "PL", &token, folder.path()))
            .await
            .unwrap();
        assert_eq!(joined.member.state, "PL");
        assert_eq!(joined.member.status(), pb::MemberStatus::Active);
        assert_eq!(joined.member.node_endpoint, "https://127.0.0.1:7301");
        assert_eq!(joined.directory_version, 1);
        let files = JoinedFolder::new(folder.path());
        for secret in [files.node_key(), files.gateway_key(), files.signing_key()] {
            let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", secret.display());
        }
        // The event key registered is the one made in the folder.
        let signing_key = EventSigningKey::load(&files.signing_key()).unwrap();
        assert_eq!(
            joined.member.signing_keys[0].public_key,
            signing_key.verifying_key().to_bytes().to_vec()
        );
        // The node's certificate is for its key and works for mTLS at once.
        let identity = Identity::load(&files.node_certificate(), &files.node_key()).unwrap();
        assert_eq!(
            identity.peer_identity().unwrap(),
            PeerIdentity::Node(StateCode::parse("PL").unwrap())
        );
        let channel = channel(&network, &files.node_certificate(), &files.node_key());
        let directory = signed_directory(MembershipServiceClient::new(channel))
            .await
            .directory
            .unwrap();
        assert_eq!(directory.members.len(), 1);
        // The gateway's certificate names the gateway.
        let gateway = Identity::load(&files.gateway_certificate(), &files.gateway_key()).unwrap();
        assert_eq!(
            gateway.peer_identity().unwrap(),
            PeerIdentity::Gateway(StateCode::parse("PL").unwrap())
        );
        // The configuration names the folder's files and the coordinator.
        let config = std::fs::read_to_string(&joined.node_config).unwrap();
        assert!(config.contains("state = \"PL\""), "{config}");
        assert!(
            config.contains("listen_addr = \"127.0.0.1:7301\""),
            "{config}"
        );
        assert!(config.contains(&network.endpoint()), "{config}");
        // The token is used, and the join audited under it.
        let audited = network.audited("Enrol").await;
        assert_eq!(
            audited,
            vec![(format!("enrolment:{token_id}"), "OK".to_owned())]
        );
    }
}

#[tokio::test]
async fn a_retried_enrolment_gets_the_same_certificates_and_a_used_token_is_refused() {
    let network = Network::start().await;
    let (_, token) = network.token_for("PL", 0).await;
    let enrol = enrol_request("PL", &token, "join-1");
    let mut anonymous = network.anonymous();
    let first = anonymous.enrol(enrol.clone()).await.unwrap().into_inner();
    let again = anonymous.enrol(enrol).await.unwrap().into_inner();
    assert_eq!(
        first.node_certificate_chain_pem,
        again.node_certificate_chain_pem
    );
    let other = anonymous
        .enrol(enrol_request("PL", &token, "join-2"))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::AlreadyExists);
    assert_eq!(reason(&other), "ENROLMENT_TOKEN_USED");
    // A folder that holds certificates is never overwritten.
    let folder = tempfile::tempdir().unwrap();
    let (_, token) = network.token_for("CZ", 0).await;
    join(request(&network, "CZ", &token, folder.path()))
        .await
        .unwrap();
    let refused = join(request(&network, "CZ", &token, folder.path()))
        .await
        .unwrap_err();
    assert!(matches!(refused, JoinError::AlreadyJoined(_)), "{refused}");
    assert!(refused.is_usage());
}

#[tokio::test]
async fn unknown_expired_cancelled_and_foreign_tokens_are_each_refused_and_audited() {
    let network = Network::start().await;
    let mut anonymous = network.anonymous();
    let unknown = anonymous
        .enrol(enrol_request("PL", &"0".repeat(64), "u-1"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::Unauthenticated);
    assert_eq!(reason(&unknown), "ENROLMENT_TOKEN_UNKNOWN");

    let (token_id, token) = network.token_for("PL", 0).await;
    let foreign = anonymous
        .enrol(enrol_request("CZ", &token, "f-1"))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::PermissionDenied);

    network
        .operator()
        .cancel_enrolment_token(pb::CancelEnrolmentTokenRequest {
            idempotency_key: "c-1".to_owned(),
            token_id,
        })
        .await
        .unwrap();
    let cancelled = anonymous
        .enrol(enrol_request("PL", &token, "c-2"))
        .await
        .unwrap_err();
    assert_eq!(cancelled.code(), Code::Unauthenticated);
    assert_eq!(reason(&cancelled), "ENROLMENT_TOKEN_CANCELLED");

    let (_, late) = network.token_for("SK", 0).await;
    network.clock.advance_millis(25 * HOUR_MS);
    let expired = anonymous
        .enrol(enrol_request("SK", &late, "e-1"))
        .await
        .unwrap_err();
    assert_eq!(expired.code(), Code::Unauthenticated);
    assert_eq!(reason(&expired), "ENROLMENT_TOKEN_EXPIRED");

    let outcomes: Vec<String> = network
        .audited("Enrol")
        .await
        .into_iter()
        .map(|(_, outcome)| outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            "TOKEN_UNKNOWN",
            "PERMISSION_DENIED",
            "TOKEN_CANCELLED",
            "TOKEN_EXPIRED"
        ]
    );
    let directory = network.app().directory();
    assert_eq!(directory.directory().members().len(), 0);
}

#[tokio::test]
async fn a_csr_for_another_identity_and_malformed_fields_are_refused_field_by_field() {
    let network = Network::start().await;
    let (_, token) = network.token_for("PL", 0).await;
    let mut asking_for_france = enrol_request("PL", &token, "x-1");
    asking_for_france.node_csr_pem = enrol_request("FR", &token, "x").node_csr_pem;
    asking_for_france.gateway_csr_pem = "not a csr".to_owned();
    asking_for_france.node_endpoint = "http://127.0.0.1".to_owned();
    asking_for_france.signing_public_key = vec![1, 2, 3];
    let refused = network
        .anonymous()
        .enrol(asking_for_france)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        bad_fields(&refused),
        [
            "gateway_csr_pem",
            "node_csr_pem",
            "node_endpoint",
            "signing_public_key"
        ]
    );
    // Nothing changed: the token still admits its state.
    network
        .anonymous()
        .enrol(enrol_request("PL", &token, "x-2"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_caller_without_a_certificate_reaches_enrol_and_nothing_else() {
    let network = Network::start().await;
    let refused = network
        .anonymous()
        .get_directory(pb::GetDirectoryRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let refused = network
        .anonymous()
        .issue_enrolment_token(pb::IssueEnrolmentTokenRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_flood_of_bad_tokens_from_one_address_is_cut_off_for_the_minute() {
    let network = Network::start().await;
    let (_, token) = network.token_for("PL", 0).await;
    let mut anonymous = network.anonymous();
    for attempt in 0..10 {
        let refused = anonymous
            .enrol(enrol_request("PL", &format!("{attempt:064}"), "b"))
            .await
            .unwrap_err();
        assert_eq!(reason(&refused), "ENROLMENT_TOKEN_UNKNOWN");
    }
    let cut_off = anonymous
        .enrol(enrol_request("PL", &token, "good"))
        .await
        .unwrap_err();
    assert_eq!(cut_off.code(), Code::ResourceExhausted);
    network.clock.advance_millis(61_000);
    anonymous
        .enrol(enrol_request("PL", &token, "good"))
        .await
        .unwrap();
}

/// The 32-byte secret inside a PKCS#8 key file (P-256 or Ed25519): the first 32-byte
/// OCTET STRING of its DER.
fn secret_of(key_file: &std::path::Path) -> Vec<u8> {
    let pem = std::fs::read(key_file).unwrap();
    let key = rustls_pemfile::private_key(&mut pem.as_slice())
        .unwrap()
        .unwrap();
    let der = key.secret_der();
    let at = der
        .windows(2)
        .position(|tag| tag == [0x04, 0x20])
        .expect("a 32-byte OCTET STRING");
    der[at + 2..at + 34].to_vec()
}

#[tokio::test]
async fn no_private_key_of_the_joining_state_is_in_the_bytes_it_sends() {
    let network = Network::start().await;
    let (_, token) = network.token_for("PL", 0).await;
    let folder = tempfile::tempdir().unwrap();
    let join_request = request(&network, "PL", &token, folder.path());
    let sent = joining::enrol_request(&join_request)
        .unwrap()
        .encode_to_vec();
    let files = JoinedFolder::new(folder.path());
    for key_file in [files.node_key(), files.gateway_key(), files.signing_key()] {
        let secret = secret_of(&key_file);
        assert!(
            !sent.windows(secret.len()).any(|window| window == secret),
            "{} is in the request",
            key_file.display()
        );
        let pem = std::fs::read_to_string(&key_file).unwrap();
        let body: String = pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let sent_text = String::from_utf8_lossy(&sent);
        assert!(
            !sent_text.contains(&body[..40]),
            "{} as text",
            key_file.display()
        );
    }
    // The join sends exactly the request made and kept, and succeeds with it.
    assert_eq!(
        joining::enrol_request(&join_request)
            .unwrap()
            .encode_to_vec(),
        sent
    );
    join(join_request).await.unwrap();
}
