//! A member rotates its credentials while it serves: a new node certificate from a fresh CSR
//! works at once while the old one stays listed until it expires, a second event key lives
//! beside the first until the first is retired, and the last key cannot be retired. Only the
//! member's own active node may do either.

use accord_coordinator::joining::JoinedFolder;
use accord_domain::StateCode;
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::pki::csr::key_and_request;
use accord_trust::{EventSigningKey, PeerIdentity};
use tonic::Code;
use tonic::transport::Channel;

use crate::member::{Member, channel, joined};
use crate::network::{Network, bad_fields, node, operator, reason};

/// A client of the coordinator's `MembershipService` as the holder of `certificate`.
fn client_with(
    network: &Network,
    certificate: &std::path::Path,
    key: &std::path::Path,
) -> MembershipServiceClient<Channel> {
    MembershipServiceClient::new(channel(network, certificate, key))
}

#[tokio::test]
async fn a_member_renews_its_node_certificate_and_adds_a_key_in_one_version() {
    for network in Network::on_every_database().await {
        let Member {
            folder,
            membership: mut pl,
            ..
        } = joined(&network, "PL", 7501).await;
        let fresh = key_and_request(&PeerIdentity::Node(StateCode::parse("PL").unwrap())).unwrap();
        let second_key = EventSigningKey::generate().unwrap();
        let renewed = pl
            .renew_credentials(pb::RenewCredentialsRequest {
                idempotency_key: "renew-1".to_owned(),
                node_csr_pem: fresh.csr_pem.clone(),
                signing_public_key: second_key.verifying_key().to_bytes().to_vec(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let member = renewed.member.unwrap();
        let node_certificates = member
            .certificates
            .iter()
            .filter(|certificate| certificate.role() == pb::CertificateRole::Node)
            .count();
        assert_eq!(node_certificates, 2, "old and new, both live");
        assert_eq!(member.signing_keys.len(), 2, "two live keys");
        assert_eq!(renewed.signing_key_id, second_key.key_id().to_string());
        // The new certificate works for mTLS at once.
        let renewed_files = tempfile::tempdir().unwrap();
        let certificate = renewed_files.path().join("node.pem");
        let key = renewed_files.path().join("node.key");
        std::fs::write(&certificate, &renewed.node_certificate_chain_pem).unwrap();
        std::fs::write(&key, &fresh.key_pem).unwrap();
        client_with(&network, &certificate, &key)
            .get_directory(pb::GetDirectoryRequest {})
            .await
            .unwrap();
        // So does the old one, until it expires.
        let files = JoinedFolder::new(folder.path());
        client_with(&network, &files.node_certificate(), &files.node_key())
            .get_directory(pb::GetDirectoryRequest {})
            .await
            .unwrap();

        // The first key retires; the second, now the last, cannot.
        let first_key = EventSigningKey::load(&files.signing_key()).unwrap();
        let retired = pl
            .retire_signing_key(pb::RetireSigningKeyRequest {
                idempotency_key: "retire-1".to_owned(),
                signing_key_id: first_key.key_id().to_string(),
            })
            .await
            .unwrap()
            .into_inner()
            .member
            .unwrap();
        let first = retired
            .signing_keys
            .iter()
            .find(|key| key.key_id == first_key.key_id().to_string())
            .unwrap();
        assert_eq!(first.status(), pb::SigningKeyStatus::Retired);
        assert!(first.valid_until.is_some());
        let last = pl
            .retire_signing_key(pb::RetireSigningKeyRequest {
                idempotency_key: "retire-2".to_owned(),
                signing_key_id: second_key.key_id().to_string(),
            })
            .await
            .unwrap_err();
        assert_eq!(last.code(), Code::FailedPrecondition);
        assert_eq!(reason(&last), "ILLEGAL_TRANSITION");
        let unknown = pl
            .retire_signing_key(pb::RetireSigningKeyRequest {
                idempotency_key: "retire-3".to_owned(),
                signing_key_id: "0".repeat(16),
            })
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), Code::NotFound);
        let audited = network.audited("RetireSigningKey").await;
        assert_eq!(
            audited,
            vec![("spiffe://accord/state/PL".to_owned(), "OK".to_owned())]
        );
    }
}

#[tokio::test]
async fn only_the_members_own_active_node_renews_and_asks_for_its_own_identities() {
    let network = Network::start().await;
    let Member {
        folder: _folder,
        membership: mut pl,
        ..
    } = joined(&network, "PL", 7501).await;
    let france = key_and_request(&PeerIdentity::Node(StateCode::parse("FR").unwrap())).unwrap();
    let refused = pl
        .renew_credentials(pb::RenewCredentialsRequest {
            idempotency_key: "renew-1".to_owned(),
            node_csr_pem: france.csr_pem,
            node_endpoint: "ftp://somewhere".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&refused), ["node_csr_pem", "node_endpoint"]);
    let nothing = pl
        .renew_credentials(pb::RenewCredentialsRequest {
            idempotency_key: "renew-2".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&nothing), ["request"]);
    for stranger in [operator("alice"), node("FR")] {
        let refused = network
            .client_as(&stranger)
            .renew_credentials(pb::RenewCredentialsRequest {
                idempotency_key: "renew-3".to_owned(),
                node_endpoint: "https://127.0.0.1:7502".to_owned(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{stranger}");
    }
    // A suspended member renews nothing.
    network
        .operator()
        .suspend_member(pb::SuspendMemberRequest {
            idempotency_key: "s-1".to_owned(),
            state: "PL".to_owned(),
            reason: pb::MemberStatusReason::AgreementBreach as i32,
        })
        .await
        .unwrap();
    let suspended = pl
        .renew_credentials(pb::RenewCredentialsRequest {
            idempotency_key: "renew-4".to_owned(),
            node_endpoint: "https://127.0.0.1:7502".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(suspended.code(), Code::PermissionDenied);
    assert_eq!(network.app().directory().directory().version(), 2);
}
