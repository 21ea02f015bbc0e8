//! Revocation as it must bite: an operator revokes a member, the next revocation list names
//! every certificate the member holds, the coordinator refuses the member's new connections
//! at the handshake and its calls over a connection opened before, and a restarted
//! coordinator still refuses it.

use accord_coordinator::joining::JoinedFolder;
use accord_proto::v1 as pb;
use accord_proto::v1::membership_service_client::MembershipServiceClient;
use accord_trust::Crl;
use tonic::Code;
use tonic::transport::Channel;

use crate::member::{joined, tls};
use crate::network::{Network, node, reason};

/// A client with the joined node's own certificate, on a fresh connection.
async fn as_member(
    network: &Network,
    folder: &std::path::Path,
) -> Result<MembershipServiceClient<Channel>, accord_trust::channel::Error> {
    let files = JoinedFolder::new(folder);
    let tls = tls(network, &files.node_certificate(), &files.node_key());
    let channel = accord_trust::connect(&network.endpoint(), &tls).await?;
    Ok(MembershipServiceClient::new(channel))
}

/// The member's new connection fails in the TLS handshake: with TLS 1.3 the client may
/// finish its side before the server refuses its certificate, so the refusal shows on the
/// connection or on its first call, as a transport error rather than an answer.
async fn assert_refused_at_handshake(network: &Network, folder: &std::path::Path) {
    let refusal = match as_member(network, folder).await {
        Err(error) => format!("{error:?}"),
        Ok(mut client) => {
            let refused = client
                .get_directory(pb::GetDirectoryRequest {})
                .await
                .unwrap_err();
            format!("{refused:?}")
        }
    };
    assert!(refusal.contains("CertificateRevoked"), "{refusal}");
}

fn revoke(state: &str, key: &str) -> pb::RevokeMemberRequest {
    pb::RevokeMemberRequest {
        idempotency_key: key.to_owned(),
        state: state.to_owned(),
        reason: pb::MemberStatusReason::SecurityIncident as i32,
    }
}

#[tokio::test]
async fn a_revoked_member_is_listed_refused_at_the_handshake_and_on_its_open_connection() {
    for mut network in Network::on_every_database().await {
        let pl = joined(&network, "PL", 7401).await;
        let folder = &pl.folder;
        let mut before = as_member(&network, folder.path()).await.unwrap();
        before
            .get_directory(pb::GetDirectoryRequest {})
            .await
            .unwrap();
        let first_list = before
            .get_revocation_list(pb::GetRevocationListRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(
            Crl::from_pem(&first_list.crl_pem)
                .unwrap()
                .revoked_serials()
                .unwrap()
                .is_empty()
        );

        let revoked = network
            .operator()
            .revoke_member(revoke("PL", "r-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            revoked.member.as_ref().unwrap().status(),
            pb::MemberStatus::Revoked
        );
        assert_eq!(revoked.directory_version, 2);

        let list = network
            .operator()
            .get_revocation_list(pb::GetRevocationListRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(list.crl_number > first_list.crl_number);
        // Under the issuing CA the root's list comes after it: a party needs both.
        let lists = Crl::all_from_pem(&list.crl_pem).unwrap();
        assert_eq!(lists.len(), 2, "the issuing CA's list, then the root's");
        assert!(!lists[0].same_issuer(&lists[1]).unwrap());
        assert_eq!(lists[0].der().as_ref(), list.crl_der.as_slice());
        let serials: Vec<Vec<u8>> = Crl::from_pem(&list.crl_pem)
            .unwrap()
            .revoked_serials()
            .unwrap()
            .into_iter()
            .map(|serial| serial.as_bytes().to_vec())
            .collect();
        let certificates = revoked.member.unwrap().certificates;
        assert_eq!(certificates.len(), 2, "node and gateway");
        for certificate in &certificates {
            assert!(serials.contains(&certificate.serial_number));
        }

        // The connection opened before the revocation: every call is refused.
        let refused = before
            .get_directory(pb::GetDirectoryRequest {})
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        // A new connection: refused at the handshake.
        assert_refused_at_handshake(&network, folder.path()).await;
        // And so after a restart.
        network.restart().await;
        assert_refused_at_handshake(&network, folder.path()).await;

        let audited = network.audited("RevokeMember").await;
        assert_eq!(
            audited,
            vec![("spiffe://accord/operator/alice".to_owned(), "OK".to_owned())]
        );
    }
}

#[tokio::test]
async fn only_operators_revoke_and_only_known_callers_read_the_list() {
    let network = Network::start().await;
    let _pl = joined(&network, "PL", 7401).await;
    let refused = network
        .client_as(&node("FR"))
        .revoke_member(revoke("PL", "r-1"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "CALLER_NOT_ALLOWED");
    let refused = network
        .anonymous()
        .get_revocation_list(pb::GetRevocationListRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let unknown = network
        .operator()
        .revoke_member(revoke("CZ", "r-2"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let directory = network.app().directory();
    assert_eq!(directory.directory().version(), 1, "nothing changed");
}
