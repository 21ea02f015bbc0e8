//! Nodes report to the coordinator's ledger and witness its log: real nodes and a real
//! coordinator over mTLS. Every event either node records or accepts reaches the log once,
//! by each party, and the two parties' reports match; nothing is lost while the coordinator
//! is down; each node cosigns the heads it checked, and refuses — never cosigns — a head
//! that forks the log, shrinks it, or is not signed by the coordinator.

use accord_proto::v1 as pb;
use accord_proto::v1::ledger_service_client::LedgerServiceClient;
use accord_trust::EventSigningKey;
use accord_trust::log::{Checkpoint, Hash, KeyName};
use tonic::Code;
use tonic::transport::Channel;

use crate::directory::Network;
use accord_edge::testing::latest_head;

use crate::federation::{Federation, eventually, eventually_some, state};
use crate::readmission::{acceptance, both_reach};

/// The coordinator's ledger, as its operator alice reads it.
pub fn ledger(federation: &Federation) -> LedgerServiceClient<Channel> {
    LedgerServiceClient::new(operator_channel(federation))
}

/// A channel to the coordinator as its operator alice.
pub fn operator_channel(federation: &Federation) -> Channel {
    federation.coordinator_channel_as(&crate::federation::joined::operator())
}

/// Every leaf of the log, as the operator reads them.
pub async fn leaves(federation: &Federation) -> Vec<pb::LedgerLeaf> {
    let mut client = ledger(federation);
    let head = latest_head(&mut client).await;
    let size = head.tree_head.unwrap().tree_size;
    if size == 0 {
        return Vec::new();
    }
    client
        .get_leaves(pb::GetLeavesRequest {
            start_index: 0,
            end_index: size,
        })
        .await
        .unwrap()
        .into_inner()
        .leaves
        .into_iter()
        .map(|entry| entry.leaf.unwrap())
        .collect()
}

/// Waits until the log holds `count` reports of `case_ref`'s events by each of GB and FR.
pub async fn logged_by_both(
    federation: &Federation,
    case_ref: &str,
    count: usize,
) -> Vec<pb::LedgerLeaf> {
    eventually_some(
        &format!("{count} events of {case_ref} logged by both"),
        || async {
            let all = leaves(federation).await;
            let of_case: Vec<pb::LedgerLeaf> = all
                .into_iter()
                .filter(|leaf| {
                    leaf.report
                        .as_ref()
                        .unwrap()
                        .attestation
                        .as_ref()
                        .unwrap()
                        .case_ref
                        == case_ref
                })
                .collect();
            let by = |reporter: &str| {
                of_case
                    .iter()
                    .filter(|leaf| leaf.reporter_state == reporter)
                    .count()
            };
            (by("GB") == count && by("FR") == count).then_some(of_case)
        },
    )
    .await
}

#[tokio::test]
async fn both_parties_report_each_event_once_and_their_reports_match() {
    let network = Network::start(&[]).await;
    network.agree(&[pb::Regime::Ukfr2025], None).await;
    let federation = &network.federation;
    let case_ref = network.open_and_receive("witnessed").await;
    let mut fr = federation.gateway("FR").await;
    fr.decide_readmission(acceptance("witnessed-accept", &case_ref))
        .await
        .unwrap();
    let accepted = both_reach(federation, &case_ref, pb::ReadmissionStatus::Accepted).await;
    let events = accepted.events.len();
    let logged = logged_by_both(federation, &case_ref, events).await;
    // What each party reported of one event is the same attestation, signed by its actor,
    // and carries no caller's key.
    for leaf in &logged {
        let attestation = leaf.report.as_ref().unwrap().attestation.as_ref().unwrap();
        let twin = logged
            .iter()
            .find(|other| {
                other.reporter_state != leaf.reporter_state
                    && other
                        .report
                        .as_ref()
                        .unwrap()
                        .attestation
                        .as_ref()
                        .unwrap()
                        .sequence
                        == attestation.sequence
            })
            .unwrap();
        assert_eq!(twin.report, leaf.report);
    }
    // Both reports of every event match: no break.
    let breaks = ledger(federation)
        .list_breaks(pb::ListBreaksRequest::default())
        .await
        .unwrap()
        .into_inner()
        .breaks;
    assert!(breaks.is_empty(), "{breaks:?}");
    // Each node's queue is empty and nothing was refused.
    for code in ["GB", "FR"] {
        let store = federation.app(code).store();
        assert!(store.unreported_events(10).await.unwrap().is_empty());
        assert!(store.refused_reports().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn events_recorded_while_the_coordinator_is_down_are_reported_once_when_it_returns() {
    let mut network = Network::start(&[]).await;
    network.agree(&[pb::Regime::Ukfr2025], None).await;
    let case_ref = network.open_and_receive("outage").await;
    let federation = &mut network.federation;
    logged_by_both(federation, &case_ref, 2).await;
    federation.stop_coordinator().await;
    let mut fr = federation.gateway("FR").await;
    fr.decide_readmission(acceptance("outage-accept", &case_ref))
        .await
        .unwrap();
    let accepted = both_reach(federation, &case_ref, pb::ReadmissionStatus::Accepted).await;
    assert!(
        !federation
            .app("GB")
            .store()
            .unreported_events(10)
            .await
            .unwrap()
            .is_empty(),
        "GB's report waits in its queue"
    );
    federation.restart_coordinator().await;
    let logged = logged_by_both(federation, &case_ref, accepted.events.len()).await;
    assert_eq!(
        logged.len(),
        2 * accepted.events.len(),
        "each report logged once"
    );
}

/// A checkpoint for `size` leaves with `root`, signed by `key` as the coordinator's log.
fn forged_head(key: &EventSigningKey, size: u64, root: [u8; 32]) -> pb::SignedTreeHead {
    let origin = KeyName::parse("accord/ledger").unwrap();
    let checkpoint = Checkpoint::new(&origin, size, Hash::from_bytes(root))
        .with_extensions(vec!["timestamp 1".to_owned()])
        .unwrap();
    let note = checkpoint.sign(key).unwrap();
    pb::SignedTreeHead {
        tree_head: Some(pb::TreeHead {
            tree_size: size,
            root_hash: root.to_vec(),
            timestamp: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: 1_000_000,
            }),
        }),
        signature: None,
        cosignatures: Vec::new(),
        checkpoint: note.to_string(),
    }
}

#[tokio::test]
async fn each_node_cosigns_the_heads_it_checked_and_never_a_forked_one() {
    let network = Network::start(&[]).await;
    network.agree(&[pb::Regime::Ukfr2025], None).await;
    let federation = &network.federation;
    let case_ref = network.open_and_receive("fork").await;
    logged_by_both(federation, &case_ref, 2).await;
    // Both witnesses cosign a head that holds their reports.
    let cosigned = eventually_some("GB and FR cosign a head with their reports", || async {
        let head = latest_head(&mut ledger(federation)).await;
        let states: Vec<&str> = head.cosignatures.iter().map(|c| c.state.as_str()).collect();
        (head.tree_head.as_ref().unwrap().tree_size >= 4 && states == ["FR", "GB"])
            .then_some(head.clone())
    })
    .await;
    let size = cosigned.tree_head.as_ref().unwrap().tree_size;
    let witness = federation.nodes[&state("GB")].witness.clone().unwrap();
    eventually("GB keeps the head it cosigned", || async {
        federation
            .app("GB")
            .store()
            .witnessed_head()
            .await
            .unwrap()
            .is_some_and(|head| head.tree_size as u64 >= size)
    })
    .await;
    let before = witness.refused();
    let coordinator_key =
        EventSigningKey::load(&federation.coordinator.as_ref().unwrap().signing_key).unwrap();

    // A larger log whose root is not an extension of the cosigned one: a fork.
    let forked = forged_head(&coordinator_key, size + 1_000, [7; 32]);
    let refused = witness.witness(forked).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    // A smaller log than the one cosigned.
    let shrunk = forged_head(&coordinator_key, 1, [8; 32]);
    assert!(witness.witness(shrunk).await.is_err());
    // A head the coordinator's key did not sign.
    let stranger = EventSigningKey::generate().unwrap();
    let unsigned = forged_head(&stranger, size + 1, [9; 32]);
    assert!(witness.witness(unsigned).await.is_err());
    assert_eq!(witness.refused(), before + 3);
    let kept = federation
        .app("GB")
        .store()
        .witnessed_head()
        .await
        .unwrap()
        .unwrap();
    assert!(
        kept.tree_size as u64 <= size + 10,
        "a refused head was kept"
    );
    assert_ne!(kept.root_hash, vec![7; 32]);
}
