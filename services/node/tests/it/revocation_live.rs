//! Revocation that bites within seconds: nodes that follow a real coordinator fetch its
//! revocation list with the directory and check every new connection against it, both
//! ways, over real mTLS on 127.0.0.1. An operator revokes FR; GB's node then refuses FR's
//! node at the handshake, will not talk to a server presenting FR's certificate, refuses
//! FR's calls over a connection opened before, and still refuses FR after a restart while
//! the coordinator is down.

use accord_node::revocation::live::{LiveRevocations, Offered, Refused};
use accord_node::store::StoredRevocationList;
use accord_proto::v1 as pb;
use accord_trust::{ClientTls, PeerIdentity};
use tonic::Code;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::federation::{Federation, eventually, state};
use crate::readmission::deliver;
use crate::support::{assert_refused, time};

/// GB and FR joined to a real coordinator, agreeing the UK–France regime, each node holding
/// the coordinator's revocation list.
async fn network() -> Federation {
    let federation = Federation::start_joined(&["GB", "FR"], &[]).await;
    let agreement = pb::Agreement {
        first_state: "FR".into(),
        second_state: "GB".into(),
        regimes: vec![pb::Regime::Ukfr2025 as i32],
        effective_from: Some(time(federation.clock_millis())),
        parity_limit: Some(50),
        ..Default::default()
    };
    let request = pb::SetAgreementRequest {
        idempotency_key: "agree".into(),
        agreement: Some(agreement),
    };
    federation.operator().set_agreement(request).await.unwrap();
    for code in ["GB", "FR"] {
        let live = live(&federation, code);
        let app = federation.app(code).clone();
        eventually(&format!("{code} holds a list and FR–GB partners"), || {
            let (live, app) = (live.clone(), app.clone());
            async move { live.held_number().await.is_some() && !app.partner_states().is_empty() }
        })
        .await;
    }
    federation
}

fn live(federation: &Federation, code: &str) -> LiveRevocations {
    federation.nodes[&state(code)].revocations.clone().unwrap()
}

async fn revoke(federation: &Federation, code: &str) {
    let revocation = pb::RevokeMemberRequest {
        idempotency_key: format!("revoke-{code}"),
        state: code.into(),
        reason: pb::MemberStatusReason::KeyCompromise as i32,
    };
    federation
        .operator()
        .revoke_member(revocation)
        .await
        .unwrap();
}

/// The coordinator's current list, PEM.
async fn current_list(federation: &Federation) -> String {
    let mut operator = federation.operator();
    let list = operator
        .get_revocation_list(pb::GetRevocationListRequest {})
        .await
        .unwrap();
    list.into_inner().crl_pem
}

/// An event of FR's, as FR's node delivers it (empty otherwise: refused as invalid).
fn fr_event() -> pb::DeliverReadmissionEventRequest {
    pb::DeliverReadmissionEventRequest {
        event: Some(pb::ReadmissionEvent {
            acting_state: "FR".into(),
            ..Default::default()
        }),
    }
}

/// FR's node delivering to GB's node on a new connection: how it was answered. With TLS 1.3
/// a refused client certificate shows on the first call, as a transport error.
async fn fr_calls_gb(federation: &Federation) -> String {
    let event = fr_event().event.unwrap();
    match deliver(federation, "FR", "GB", event).await {
        Ok(_) => "acknowledged".to_owned(),
        Err(status) => format!("{status:?}"),
    }
}

/// GB's node's client configuration (as its courier uses it now) opening a connection to
/// FR's node, which presents FR's node certificate: how the handshake ended.
async fn gb_connects_to_fr(federation: &Federation) -> Result<(), String> {
    let config = live(federation, "GB").client_config();
    let tls = ClientTls::from_config(config, "127.0.0.1")
        .unwrap()
        .expect_peer(PeerIdentity::Node(state("FR")));
    let endpoint = format!("https://{}", federation.nodes[&state("FR")].address);
    match accord_trust::connect(&endpoint, &tls).await {
        Ok(_) => Ok(()),
        Err(error) => Err(format!("{error:?}")),
    }
}

#[tokio::test]
async fn a_revoked_member_is_refused_both_ways_within_seconds_and_after_a_restart_without_the_coordinator()
 {
    let mut federation = network().await;
    let before = fr_calls_gb(&federation).await;
    assert!(!before.contains("CertificateRevoked"), "{before}");
    gb_connects_to_fr(&federation).await.unwrap();
    let mut opened_before = federation.node_client("FR", "GB").await;
    let answered = opened_before
        .deliver_readmission_event(fr_event())
        .await
        .unwrap_err();
    assert_eq!(answered.code(), Code::InvalidArgument, "{answered:?}");
    let held_before = live(&federation, "GB").held_number().await.unwrap();

    revoke(&federation, "FR").await;
    eventually("GB refuses FR's node at the handshake", || async {
        fr_calls_gb(&federation)
            .await
            .contains("CertificateRevoked")
    })
    .await;
    let held = live(&federation, "GB").held_number().await.unwrap();
    assert!(held > held_before, "{held} after {held_before}");
    let refused = gb_connects_to_fr(&federation).await.unwrap_err();
    assert!(refused.contains("Revoked"), "{refused}");
    // The connection FR opened before: each call refused, FR being no partner now.
    let refused = opened_before
        .deliver_readmission_event(fr_event())
        .await
        .unwrap_err();
    assert_refused(&refused, Code::PermissionDenied, "CALLER_NOT_ALLOWED");

    // GB restarted while the coordinator is down: the stored list applies from the start.
    federation.stop("GB").await;
    federation.stop_coordinator().await;
    federation.restart("GB").await;
    assert_eq!(live(&federation, "GB").held_number().await, Some(held));
    let after_restart = fr_calls_gb(&federation).await;
    assert!(
        after_restart.contains("CertificateRevoked"),
        "{after_restart}"
    );
    let refused = gb_connects_to_fr(&federation).await.unwrap_err();
    assert!(refused.contains("Revoked"), "{refused}");
}

#[tokio::test]
async fn a_list_not_newer_is_ignored_and_a_garbage_one_is_refused_while_the_held_one_stays() {
    let federation = network().await;
    let gb = live(&federation, "GB");
    let first = current_list(&federation).await;
    assert_eq!(gb.offer(&first).await.unwrap(), Offered::Unchanged);
    revoke(&federation, "FR").await;
    let newer = current_list(&federation).await;
    eventually("GB applies the newer list", || {
        let gb = gb.clone();
        let newer = newer.clone();
        async move {
            let number = accord_trust::Crl::from_pem(&newer)
                .unwrap()
                .number()
                .unwrap();
            gb.held_number().await == number
        }
    })
    .await;
    let held = gb.held_number().await;
    let refused_before = gb.refused();

    let older = gb.offer(&first).await;
    assert!(matches!(older, Err(Refused::Older { .. })), "{older:?}");
    let garbage = "-----BEGIN X509 CRL-----\nnot a list\n-----END X509 CRL-----\n";
    let unreadable = gb.offer(garbage).await;
    assert!(
        matches!(unreadable, Err(Refused::Unreadable(_))),
        "{unreadable:?}"
    );
    assert_eq!(gb.refused(), refused_before + 2);
    assert_eq!(gb.held_number().await, held);
    let store = federation.app("GB").store().clone();
    let stored = store.load_revocation_list().await.unwrap().unwrap();
    assert_eq!(Some(stored.number), held, "the store keeps the held list");
    let refusal = fr_calls_gb(&federation).await;
    assert!(refusal.contains("CertificateRevoked"), "{refusal}");
}

#[tokio::test]
async fn health_turns_not_serving_when_the_held_list_expires_and_serving_with_a_newer_one() {
    let federation = network().await;
    let health = HealthClient::new(federation.gateway_channel("GB").await);
    let status = || {
        let mut health = health.clone();
        async move {
            let request = HealthCheckRequest {
                service: String::new(),
            };
            health.check(request).await.unwrap().into_inner().status
        }
    };
    assert_eq!(status().await, ServingStatus::Serving as i32);
    let next_update = live(&federation, "GB").next_update().borrow().unwrap();
    let now = federation.clock_millis();
    federation
        .clock
        .advance_millis(next_update.as_millis() - now);
    eventually("GB's health turns NOT_SERVING", || async {
        status().await == ServingStatus::NotServing as i32
    })
    .await;

    // A revocation issues a list dated by the coordinator's clock (the shared one).
    revoke(&federation, "FR").await;
    eventually("GB's health turns SERVING with the newer list", || async {
        status().await == ServingStatus::Serving as i32
    })
    .await;
}

#[tokio::test]
async fn the_store_keeps_only_a_newer_revocation_list() {
    for database in crate::databases::fresh_databases().await {
        let store = database.store().await;
        let backend = database.backend;
        assert_eq!(
            store.load_revocation_list().await.unwrap(),
            None,
            "{backend}"
        );
        let kept = |number: u64| StoredRevocationList {
            number,
            pem: format!("list {number}"),
            saved_at: 0,
        };
        assert!(
            store.save_revocation_list(kept(3)).await.unwrap(),
            "{backend}"
        );
        assert!(
            !store.save_revocation_list(kept(2)).await.unwrap(),
            "{backend}: older"
        );
        assert!(
            !store.save_revocation_list(kept(3)).await.unwrap(),
            "{backend}: same"
        );
        let held = store.load_revocation_list().await.unwrap();
        assert_eq!(held, Some(kept(3)), "{backend}");
        assert!(
            store.save_revocation_list(kept(4)).await.unwrap(),
            "{backend}"
        );
        let held = store.load_revocation_list().await.unwrap();
        assert_eq!(held, Some(kept(4)), "{backend}");
    }
}
