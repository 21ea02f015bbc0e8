//! Identity from the certificate only: impersonation refused with PERMISSION_DENIED before
//! any validation or storage, and written to the audit table; forged signatures refused.

use accord_proto::v1 as pb;
use accord_trust::PeerIdentity;

use crate::federation::{Federation, START_MILLIS, state};
use crate::readmission::{
    all_cases, case, deliver, forged_acceptance, open_and_receive, open_request, shared_history,
    sign,
};
use crate::support::{assert_refused, reason, time};

/// The audit records of `code`'s node whose peer is `peer`.
async fn audited(
    federation: &Federation,
    code: &str,
    peer: &str,
) -> Vec<accord_node::store::AuditRecord> {
    let mut audit = federation.audit(code).await;
    audit.retain(|record| record.peer == peer);
    audit
}

/// Asserts that a call was refused for who made it, `what` saying which call.
fn assert_denied(answer: Result<(), tonic::Status>, what: &str) {
    let status = answer.expect_err(what);
    let (code, reason) = (status.code(), reason(&status));
    let denied = (tonic::Code::PermissionDenied, "CALLER_NOT_ALLOWED");
    assert_eq!((code, reason.as_str()), denied, "{what}: {status:?}");
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

/// Asserts that FR's node audited `refusals` calls from `node`'s node and that the case still
/// holds only its first two events.
async fn assert_refusals_audited(
    federation: &Federation,
    case_ref: &str,
    node: &str,
    refusals: usize,
) {
    let peer = format!("spiffe://accord/state/{node}");
    assert_eq!(audited(federation, "FR", &peer).await.len(), refusals);
    assert_eq!(shared_history(federation, case_ref).await.len(), 2);
}

/// Delivers `event` from `from`'s node to FR's; whether FR took it.
async fn deliver_to_fr(
    federation: &Federation,
    from: &str,
    event: pb::ReadmissionEvent,
) -> Result<(), tonic::Status> {
    deliver(federation, from, "FR", event).await.map(drop)
}

#[tokio::test]
async fn frances_gateway_may_not_call_the_british_local_api() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let fr_gateway = PeerIdentity::Gateway(state("FR"));
    let mut intruder = federation.client_as(fr_gateway, "GB").await;
    let opened = intruder.open_readmission(open_request("open-1")).await;
    assert_denied(opened.map(drop), "FR's gateway opening a case on GB's node");
    let malformed = pb::OpenReadmissionRequest::default();
    let malformed = intruder.open_readmission(malformed).await;
    assert_denied(malformed.map(drop), "authorization comes before validation");
    let listing = pb::ListReadmissionsRequest::default();
    let listed = intruder.list_readmissions(listing).await;
    assert_denied(listed.map(drop), "FR's gateway reading GB's cases");
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
    for (node, key) in [("GB", "open-1"), ("FR", "open-2")] {
        let mut as_node = federation.node_client(node, "GB").await;
        let opened = as_node.open_readmission(open_request(key)).await;
        assert_denied(
            opened.map(drop),
            &format!("{node}'s node on GB's gateway API"),
        );
        let peer = format!("spiffe://accord/state/{node}");
        assert_eq!(audited(&federation, "GB", &peer).await.len(), 1, "{peer}");
    }
    assert!(all_cases(&federation, "GB").await.is_empty());
}

#[tokio::test]
async fn a_gateway_may_not_deliver_events() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let submitted = case(&federation, "FR", &case_ref).await.unwrap().events[0].clone();
    for (gateway, node) in [("GB", "GB"), ("GB", "FR"), ("FR", "FR")] {
        let identity = PeerIdentity::Gateway(state(gateway));
        let mut client = federation.client_as(identity, node).await;
        let delivery = pb::DeliverReadmissionEventRequest {
            event: Some(submitted.clone()),
        };
        let delivered = client.deliver_readmission_event(delivery).await;
        let what = format!("{gateway}'s gateway delivering to {node}");
        assert_denied(delivered.map(drop), &what);
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
    let deliveries = [
        (
            submitted,
            "BE's node, no partner of FR, delivering GB's event",
        ),
        (
            bare_event(&case_ref, "BE"),
            "a malformed event from BE is refused for who sent it",
        ),
    ];
    for (event, what) in deliveries {
        let mut outsider = federation.client_as(belgium.clone(), "FR").await;
        let delivery = pb::DeliverReadmissionEventRequest { event: Some(event) };
        let delivered = outsider.deliver_readmission_event(delivery).await;
        assert_denied(delivered.map(drop), what);
    }
    assert_refusals_audited(&federation, &case_ref, "BE", 2).await;
}

#[tokio::test]
async fn a_partner_of_both_states_may_not_act_in_a_case_between_them() {
    let federation = Federation::start(&["GB", "FR", "BE"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let fr_view = case(&federation, "FR", &case_ref).await.unwrap();
    let deliveries = [
        (fr_view.events[0].clone(), "BE relaying GB's genuine event"),
        (
            forged_acceptance(&federation, &case_ref, "BE", "BE"),
            "BE acting in its own name in a GB–FR case",
        ),
        (
            bare_event(&case_ref, "BE"),
            "authorization comes before validation",
        ),
    ];
    for (event, what) in deliveries {
        assert_denied(deliver_to_fr(&federation, "BE", event).await, what);
    }
    assert_refusals_audited(&federation, &case_ref, "BE", 3).await;
}

#[tokio::test]
async fn a_node_may_not_deliver_an_event_in_its_partners_name() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let as_france = forged_acceptance(&federation, &case_ref, "FR", "GB");
    let delivered = deliver_to_fr(&federation, "GB", as_france).await;
    assert_denied(delivered, "GB's node delivering an event acting as FR");
    let malformed = deliver_to_fr(&federation, "GB", bare_event(&case_ref, "FR")).await;
    assert_denied(malformed, "authorization comes before validation");
    assert_refusals_audited(&federation, &case_ref, "GB", 2).await;
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
    for original in [genuine, fresh.clone()] {
        let mut tampered = original.clone();
        tampered.signature[0] ^= 0x01;
        let mut altered = original;
        altered.occurred_at = Some(time(START_MILLIS - 1));
        for (event, what) in [(tampered, "a flipped bit"), (altered, "a changed field")] {
            let refused = deliver(&federation, "GB", "FR", event)
                .await
                .expect_err(what);
            assert_refused(&refused, tonic::Code::InvalidArgument, "SIGNATURE_INVALID");
        }
    }
    assert_eq!(
        all_cases(&federation, "FR").await.len(),
        1,
        "nothing stored"
    );
    // The same event, signed and untouched, is taken: the refusals were for the tampering.
    let answer = deliver(&federation, "GB", "FR", fresh.clone()).await;
    assert!(!answer.unwrap().already_delivered);
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
    let mut belgium = federation.node_client("BE", "FR").await;
    let refused = belgium.list_readmission_events(request(0, "")).await;
    assert_denied(refused.map(drop), "BE reading a GB–FR history");
    assert_eq!(
        audited(&federation, "FR", "spiffe://accord/state/BE")
            .await
            .len(),
        1
    );
    let mut britain = federation.node_client("GB", "FR").await;
    let partner_view = britain.list_readmission_events(request(0, "")).await;
    let events = partner_view.unwrap().into_inner().events;
    assert_eq!(events.len(), 2, "GB, a party, reads FR's copy");
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
