//! Identity from the certificate only: impersonation refused with PERMISSION_DENIED before
//! any validation or storage, and written to the audit table; forged signatures refused.

use accord_proto::v1 as pb;
use accord_trust::PeerIdentity;

use crate::federation::{Federation, START_MILLIS, state};
use crate::readmission::{
    all_cases, case, open_and_receive, open_request, reason, shared_history, sign, time,
};

/// The audit records of `code`'s node whose peer is `peer`.
async fn audited(
    federation: &Federation,
    code: &str,
    peer: &str,
) -> Vec<accord_node::store::AuditRecord> {
    federation
        .app(code)
        .store()
        .audit_log(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|record| record.peer == peer)
        .collect()
}

fn assert_denied(status: &tonic::Status, what: &str) {
    assert_eq!(
        status.code(),
        tonic::Code::PermissionDenied,
        "{what}: {status:?}"
    );
    assert_eq!(reason(status), "CALLER_NOT_ALLOWED", "{what}");
}

/// An event for `case_ref` with nothing but the fields authorization reads: malformed in
/// every other respect, so that a refusal for malformation would show.
fn bare_event(case_ref: &str, acting_state: &str) -> pb::ReadmissionEvent {
    pb::ReadmissionEvent {
        case_ref: case_ref.into(),
        acting_state: acting_state.into(),
        ..Default::default()
    }
}

fn delivery(event: pb::ReadmissionEvent) -> pb::DeliverReadmissionEventRequest {
    pb::DeliverReadmissionEventRequest { event: Some(event) }
}

#[tokio::test]
async fn frances_gateway_may_not_call_the_british_local_api() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let mut intruder = federation
        .client_as(PeerIdentity::Gateway(state("FR")), "GB")
        .await;
    let refused = intruder
        .open_readmission(open_request("open-1"))
        .await
        .unwrap_err();
    assert_denied(&refused, "FR's gateway opening a case on GB's node");
    let malformed = intruder
        .open_readmission(pb::OpenReadmissionRequest::default())
        .await
        .unwrap_err();
    assert_denied(&malformed, "authorization comes before validation");
    let listed = intruder
        .list_readmissions(pb::ListReadmissionsRequest::default())
        .await
        .unwrap_err();
    assert_denied(&listed, "FR's gateway reading GB's cases");
    let records = audited(&federation, "GB", "spiffe://accord/state/FR/gateway").await;
    assert_eq!(records.len(), 3, "each refusal is audited: {records:?}");
    assert!(
        records
            .iter()
            .all(|record| record.outcome == "PERMISSION_DENIED")
    );
    assert!(records[0].operation.ends_with("/OpenReadmission"));
    assert!(all_cases(&federation, "GB").await.is_empty());
}

#[tokio::test]
async fn a_nodes_own_certificate_may_not_call_its_local_api() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let mut own_node = federation
        .client_as(PeerIdentity::Node(state("GB")), "GB")
        .await;
    let refused = own_node
        .open_readmission(open_request("open-1"))
        .await
        .unwrap_err();
    assert_denied(&refused, "GB's node certificate on GB's gateway API");
    let mut partner_node = federation.node_client("FR", "GB").await;
    let refused = partner_node
        .open_readmission(open_request("open-2"))
        .await
        .unwrap_err();
    assert_denied(&refused, "FR's node on GB's gateway API");
    assert_eq!(
        audited(&federation, "GB", "spiffe://accord/state/GB")
            .await
            .len(),
        1
    );
    assert_eq!(
        audited(&federation, "GB", "spiffe://accord/state/FR")
            .await
            .len(),
        1
    );
    assert!(all_cases(&federation, "GB").await.is_empty());
}

#[tokio::test]
async fn a_gateway_may_not_deliver_events() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let submitted = case(&federation, "FR", &case_ref).await.unwrap().events[0].clone();
    for (gateway, node) in [("GB", "GB"), ("GB", "FR"), ("FR", "FR")] {
        let refused = federation
            .client_as(PeerIdentity::Gateway(state(gateway)), node)
            .await
            .deliver_readmission_event(delivery(submitted.clone()))
            .await
            .unwrap_err();
        assert_denied(
            &refused,
            &format!("{gateway}'s gateway delivering to {node}"),
        );
    }
    let records = audited(&federation, "FR", "spiffe://accord/state/GB/gateway").await;
    assert_eq!(records.len(), 1);
    assert!(records[0].operation.ends_with("/DeliverReadmissionEvent"));
}

#[tokio::test]
async fn a_node_that_is_not_a_partner_may_not_deliver_events() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let belgium = federation.issue(PeerIdentity::Node(state("BE")));
    let submitted = case(&federation, "FR", &case_ref).await.unwrap().events[0].clone();
    let refused = federation
        .client_as(belgium.clone(), "FR")
        .await
        .deliver_readmission_event(delivery(submitted))
        .await
        .unwrap_err();
    assert_denied(
        &refused,
        "BE's node, no partner of FR, delivering GB's event",
    );
    let refused = federation
        .client_as(belgium, "FR")
        .await
        .deliver_readmission_event(delivery(bare_event(&case_ref, "BE")))
        .await
        .unwrap_err();
    assert_denied(
        &refused,
        "a malformed event from BE is refused for who sent it",
    );
    assert_eq!(
        audited(&federation, "FR", "spiffe://accord/state/BE")
            .await
            .len(),
        2
    );
    assert_eq!(shared_history(&federation, &case_ref).await.len(), 2);
}

#[tokio::test]
async fn a_partner_of_both_states_may_not_act_in_a_case_between_them() {
    let federation = Federation::start(&["GB", "FR", "BE"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let fr_view = case(&federation, "FR", &case_ref).await.unwrap();
    let mut belgium = federation.node_client("BE", "FR").await;
    let relayed = belgium
        .deliver_readmission_event(delivery(fr_view.events[0].clone()))
        .await
        .unwrap_err();
    assert_denied(&relayed, "BE relaying GB's genuine event");
    let mut forged = pb::ReadmissionEvent {
        case_ref: case_ref.clone(),
        sequence: 3,
        kind: pb::ReadmissionEventKind::Accepted as i32,
        acting_state: "BE".into(),
        occurred_at: Some(time(START_MILLIS)),
        idempotency_key: "be-accepts".into(),
        ..Default::default()
    };
    sign(&mut forged, &federation.signing_key("BE"));
    let refused = belgium
        .deliver_readmission_event(delivery(forged))
        .await
        .unwrap_err();
    assert_denied(&refused, "BE acting in its own name in a GB–FR case");
    let malformed = belgium
        .deliver_readmission_event(delivery(bare_event(&case_ref, "BE")))
        .await
        .unwrap_err();
    assert_denied(&malformed, "authorization comes before validation");
    assert_eq!(
        audited(&federation, "FR", "spiffe://accord/state/BE")
            .await
            .len(),
        3
    );
    assert_eq!(shared_history(&federation, &case_ref).await.len(), 2);
}

#[tokio::test]
async fn a_node_may_not_deliver_an_event_in_its_partners_name() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let mut as_france = pb::ReadmissionEvent {
        case_ref: case_ref.clone(),
        sequence: 3,
        kind: pb::ReadmissionEventKind::Accepted as i32,
        acting_state: "FR".into(),
        occurred_at: Some(time(START_MILLIS)),
        idempotency_key: "gb-accepts-for-fr".into(),
        ..Default::default()
    };
    sign(&mut as_france, &federation.signing_key("GB"));
    let mut britain = federation.node_client("GB", "FR").await;
    let refused = britain
        .deliver_readmission_event(delivery(as_france))
        .await
        .unwrap_err();
    assert_denied(&refused, "GB's node delivering an event acting as FR");
    let malformed = britain
        .deliver_readmission_event(delivery(bare_event(&case_ref, "FR")))
        .await
        .unwrap_err();
    assert_denied(&malformed, "authorization comes before validation");
    assert_eq!(
        audited(&federation, "FR", "spiffe://accord/state/GB")
            .await
            .len(),
        2
    );
    assert_eq!(shared_history(&federation, &case_ref).await.len(), 2);
}

#[tokio::test]
async fn a_tampered_event_is_refused_as_signature_invalid_and_nothing_is_stored() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let genuine = case(&federation, "FR", &case_ref).await.unwrap().events[0].clone();
    let mut fresh = genuine.clone();
    fresh.case_ref = format!("RDM-GB-FR-{}", "0".repeat(26));
    fresh.idempotency_key = "forged-open".into();
    sign(&mut fresh, &federation.signing_key("GB"));
    let mut britain = federation.node_client("GB", "FR").await;
    for original in [genuine, fresh.clone()] {
        let mut tampered = original.clone();
        tampered.signature[0] ^= 0x01;
        let refused = britain
            .deliver_readmission_event(delivery(tampered))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
        assert_eq!(reason(&refused), "SIGNATURE_INVALID");
        let mut altered = original;
        altered.occurred_at = Some(time(START_MILLIS - 1));
        let refused = britain
            .deliver_readmission_event(delivery(altered))
            .await
            .unwrap_err();
        assert_eq!(reason(&refused), "SIGNATURE_INVALID", "a changed field");
    }
    assert_eq!(
        all_cases(&federation, "FR").await.len(),
        1,
        "nothing stored"
    );
    // The same event, signed and untouched, is taken: the refusals were for the tampering.
    let answer = britain
        .deliver_readmission_event(delivery(fresh.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(!answer.already_delivered);
    assert!(case(&federation, "FR", &fresh.case_ref).await.is_some());
}

#[tokio::test]
async fn a_case_history_is_read_by_its_parties_only_and_paged() {
    let federation = Federation::start(&["GB", "FR", "BE"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let request = |page_size, page_token: &str| pb::ListReadmissionEventsRequest {
        case_ref: case_ref.clone(),
        after_sequence: 0,
        page_size,
        page_token: page_token.into(),
    };
    let refused = federation
        .node_client("BE", "FR")
        .await
        .list_readmission_events(request(0, ""))
        .await
        .unwrap_err();
    assert_denied(&refused, "BE reading a GB–FR history");
    assert_eq!(
        audited(&federation, "FR", "spiffe://accord/state/BE")
            .await
            .len(),
        1
    );
    let partner_view = federation
        .node_client("GB", "FR")
        .await
        .list_readmission_events(request(0, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(partner_view.events.len(), 2, "GB, a party, reads FR's copy");
    let mut gateway = federation.gateway("FR").await;
    let first = gateway
        .list_readmission_events(request(1, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.events.len(), 1);
    assert_eq!(first.events[0].sequence, 1);
    assert!(!first.next_page_token.is_empty());
    let second = gateway
        .list_readmission_events(request(1, &first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.events.len(), 1);
    assert_eq!(second.events[0].sequence, 2);
    assert!(second.next_page_token.is_empty(), "the last page");
}
