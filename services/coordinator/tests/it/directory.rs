//! The signed directory: version 0 published at first start, kept across restarts, streamed
//! to watchers, and refused changes for states that are not members.

use accord_proto::v1 as pb;
use accord_trust::{EventVerifyingKey, Signature, SigningDomain};
use prost::Message;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::network::{Network, node, signed_directory};

fn verify(network: &Network, signed: &pb::SignedDirectory) {
    let key: EventVerifyingKey = network.signing_key().verifying_key();
    let signature = signed.signature.as_ref().unwrap();
    assert_eq!(signature.signing_key_id, key.key_id().to_string());
    let bytes = signed.directory.as_ref().unwrap().encode_to_vec();
    key.verify(
        SigningDomain::DIRECTORY,
        &bytes,
        &Signature::from_slice(&signature.signature).unwrap(),
    )
    .expect("the directory's signature verifies under the coordinator's key");
}

#[tokio::test]
async fn a_new_coordinator_publishes_the_empty_directory_signed_and_keeps_it_across_a_restart() {
    for mut network in Network::on_every_database().await {
        let first = signed_directory(network.client_as(&node("FR"))).await;
        verify(&network, &first);
        let directory = first.directory.as_ref().unwrap();
        assert_eq!(directory.version, 0);
        assert!(directory.members.is_empty());
        assert_eq!(directory.coordinator_endpoint, network.config().endpoint);
        network.restart().await;
        let again = signed_directory(network.operator()).await;
        assert_eq!(again, first, "the stored version, byte for byte");
    }
}

#[tokio::test]
async fn directory_changes_naming_states_that_are_not_members_are_refused_and_nothing_is_published()
{
    let network = Network::start().await;
    let mut operator_client = network.operator();
    let agreement = operator_client
        .set_agreement(pb::SetAgreementRequest {
            idempotency_key: "a-1".to_owned(),
            agreement: Some(pb::Agreement {
                first_state: "GB".to_owned(),
                second_state: "FR".to_owned(),
                regimes: vec![pb::Regime::Ukfr2025.into()],
                effective_from: Some(network.at(0)),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(agreement.code(), Code::NotFound, "{agreement:?}");
    let suspend = operator_client
        .suspend_member(pb::SuspendMemberRequest {
            idempotency_key: "s-1".to_owned(),
            state: "FR".to_owned(),
            reason: pb::MemberStatusReason::SecurityIncident.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(suspend.code(), Code::NotFound);
    let no_reason = operator_client
        .suspend_member(pb::SuspendMemberRequest {
            idempotency_key: "s-2".to_owned(),
            state: "FR".to_owned(),
            reason: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(no_reason.code(), Code::InvalidArgument);
    let directory = signed_directory(operator_client).await;
    assert_eq!(directory.directory.unwrap().version, 0);
}

#[tokio::test]
async fn only_operators_change_the_directory() {
    let network = Network::start().await;
    let mut member = network.client_as(&node("FR"));
    let refused = member
        .reinstate_member(pb::ReinstateMemberRequest {
            idempotency_key: "r-1".to_owned(),
            state: "FR".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let coordinator = network
        .client_as(&accord_trust::PeerIdentity::Coordinator)
        .get_directory(pb::GetDirectoryRequest {})
        .await
        .unwrap_err();
    assert_eq!(coordinator.code(), Code::PermissionDenied);
}

/// FR's node's watch of every directory version.
async fn watch_as_fr(network: &Network) -> tonic::Streaming<pb::WatchDirectoryResponse> {
    network
        .client_as(&node("FR"))
        .watch_directory(pb::WatchDirectoryRequest { after_version: 0 })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_watcher_holding_nothing_receives_even_the_empty_first_version_at_once() {
    let network = Network::start().await;
    let mut versions = watch_as_fr(&network).await;
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), versions.next())
        .await
        .expect("the current version comes at once")
        .unwrap()
        .unwrap();
    assert_eq!(first.directory.unwrap().directory.unwrap().version, 0);
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(200), versions.next()).await;
    assert!(quiet.is_err(), "nothing else until the directory changes");
}

#[tokio::test]
async fn a_coordinator_stops_promptly_while_nodes_watch_and_the_watch_ends() {
    let mut network = Network::start().await;
    let mut versions = watch_as_fr(&network).await;
    versions.next().await.unwrap().unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), network.restart())
        .await
        .expect("the drain does not wait for the watch");
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), versions.next())
        .await
        .expect("the watch ends when the coordinator stops");
    assert!(!matches!(ended, Some(Ok(_))), "{ended:?}");
}
