//! A settlement round from a real case to FINAL: GB returns a person to FR through the real
//! lifecycle, both nodes report every event to the coordinator's log, an operator opens,
//! cuts off and proposes a round, and both nodes check the report (its certificate and
//! figures, the log's consistency with what they witnessed, the inclusion of their counted
//! events) and countersign it without anyone's help. Once it is final, each node lists the
//! round's instruction as an admission allocation for its caseworkers. A node whose witnessed
//! log the report contradicts disputes it on its own, and nothing settles.

use accord_node::store::AllocationRecord;
use accord_proto::v1 as pb;
use accord_proto::v1::settlement_service_client::SettlementServiceClient;
use accord_trust::PeerIdentity;
use tonic::Code;
use tonic::transport::Channel;

use crate::directory::Network;
use crate::federation::{Federation, START_MILLIS, eventually_some, state};
use crate::readmission::{acceptance, both_reach, schedule, transfer_report};
use crate::support::{DAY_MS, HOUR_MS, step, time};
use crate::witness::{logged_by_both, operator_channel};

/// GB's return of a person to FR, from the request to FR's confirmation of the arrival, with
/// times relative to now; answers the case and when the person arrived.
async fn returned(network: &Network, key: &str) -> (String, i64) {
    let federation = &network.federation;
    let case_ref = network.open_and_receive(key).await;
    let mut fr = federation.gateway("FR").await;
    fr.decide_readmission(acceptance(&format!("{key}-accept"), &case_ref))
        .await
        .unwrap();
    both_reach(federation, &case_ref, pb::ReadmissionStatus::Accepted).await;
    let mut gb = federation.gateway("GB").await;
    gb.issue_transfer_decision(pb::IssueTransferDecisionRequest {
        decision_reference: "HO-2026-7".into(),
        notified_at: Some(time(network.now())),
        ..step(&format!("{key}-decision"), &case_ref)
    })
    .await
    .unwrap();
    both_reach(
        federation,
        &case_ref,
        pb::ReadmissionStatus::TransferDecisionIssued,
    )
    .await;
    let slot_start = network.now() + 7 * DAY_MS;
    schedule(
        federation,
        &format!("{key}-schedule"),
        &case_ref,
        slot_start,
    )
    .await;
    federation.clock.advance_millis(7 * DAY_MS + HOUR_MS);
    let arrived = slot_start + HOUR_MS / 2;
    let report = transfer_report(&format!("{key}-transfer"), &case_ref, arrived);
    gb.report_transfer(report).await.unwrap();
    both_reach(federation, &case_ref, pb::ReadmissionStatus::Transferred).await;
    fr.confirm_arrival(pb::ConfirmArrivalRequest {
        arrived_at: Some(time(arrived)),
        ..step(&format!("{key}-arrival"), &case_ref)
    })
    .await
    .unwrap();
    let confirmed = both_reach(
        federation,
        &case_ref,
        pb::ReadmissionStatus::ArrivalConfirmed,
    )
    .await;
    logged_by_both(federation, &case_ref, confirmed.events.len()).await;
    (case_ref, arrived)
}

/// An operator's round over `mode` from `period_start` to an hour from now, cut off once
/// the period ended (the clock moves two hours) and proposed; answers the proposed round.
pub async fn proposed_round(
    federation: &Federation,
    operator: &mut SettlementServiceClient<Channel>,
    period_start: i64,
    mode: pb::NettingMode,
) -> pb::Round {
    let round_id = operator
        .open_round(pb::OpenRoundRequest {
            idempotency_key: "open".into(),
            period: Some(pb::TimeRange {
                start_time: Some(time(period_start)),
                end_time: Some(time(federation.clock_millis() + HOUR_MS)),
            }),
            mode: mode.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap()
        .round_id;
    federation.clock.advance_millis(2 * HOUR_MS);
    operator
        .close_round(pb::CloseRoundRequest {
            idempotency_key: "close".into(),
            round_id: round_id.clone(),
        })
        .await
        .unwrap();
    operator
        .propose_round(pb::ProposeRoundRequest {
            idempotency_key: "propose".into(),
            round_id,
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap()
}

/// Waits until the nodes bring `round_id` to `status` on their own; answers the round.
pub async fn round_reaching(
    operator: &SettlementServiceClient<Channel>,
    round_id: &str,
    status: pb::RoundStatus,
) -> pb::Round {
    eventually_some(&format!("round {round_id} {status:?}"), || {
        let mut operator = operator.clone();
        let round_id = round_id.to_owned();
        async move {
            let round = operator
                .get_round(pb::GetRoundRequest { round_id })
                .await
                .unwrap()
                .into_inner()
                .round
                .unwrap();
            (round.status() == status).then_some(round)
        }
    })
    .await
}

/// The states that countersigned `round`'s report, in order.
pub fn signers(round: pb::Round) -> Vec<String> {
    let report = round.report.unwrap();
    report
        .countersignatures
        .iter()
        .map(|signature| signature.state.clone())
        .collect()
}

#[tokio::test]
async fn both_nodes_check_and_countersign_a_round_of_their_real_case_and_it_is_final() {
    let network = Network::start(&[]).await;
    network.agree(&[pb::Regime::Ukfr2025], None).await;
    let (case_ref, arrived) = returned(&network, "settled").await;
    let mut operator = SettlementServiceClient::new(operator_channel(&network.federation));
    let period_start = arrived - DAY_MS;
    let federation = &network.federation;
    let mode = pb::NettingMode::Bilateral;
    let proposed = proposed_round(federation, &mut operator, period_start, mode).await;
    let round_id = proposed.round_id.clone();
    let report = proposed.report.unwrap().report.unwrap();
    let movements = &report.inputs.as_ref().unwrap().movements;
    assert_eq!(movements.len(), 1, "{movements:?}");
    assert_eq!(movements[0].case_ref, case_ref);
    assert_eq!(report.affected_states, ["FR", "GB"]);
    // GB owes FR one admission: the instruction of a bilateral round.
    let instructions: Vec<_> = report
        .instructions
        .iter()
        .map(|i| (i.admitting_state.as_str(), i.origin_state.as_str(), i.count))
        .collect();
    assert_eq!(instructions, [("GB", "FR", 1)]);

    let last = round_reaching(&operator, &round_id, pb::RoundStatus::Final).await;
    assert_eq!(signers(last), ["FR", "GB"]);

    // Both nodes list the instruction as an allocation: GB admits one person from FR by the
    // instruction's deadline.
    let allocation = &report.instructions[0];
    for (code, role) in [
        ("GB", pb::AdmissionRole::Admitting),
        ("FR", pb::AdmissionRole::Origin),
    ] {
        let mut caseworkers = network.federation.admission(code).await;
        let listed = eventually_some("the node records the final round's allocation", || {
            let mut caseworkers = caseworkers.clone();
            async move {
                let page = caseworkers
                    .list_allocations(pb::ListAllocationsRequest {
                        role: role.into(),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                (!page.allocations.is_empty()).then_some(page)
            }
        })
        .await;
        assert_eq!(listed.allocations.len(), 1, "{code}");
        let found = &listed.allocations[0];
        assert_eq!(found.round_id, round_id);
        assert_eq!(
            (
                found.admitting_state.as_str(),
                found.origin_state.as_str(),
                found.count
            ),
            ("GB", "FR", 1)
        );
        assert_eq!(found.perform_by, allocation.perform_by);
        assert!(listed.next_page_token.is_empty());
        // The other role lists nothing: GB takes no one from itself.
        let other = if role == pb::AdmissionRole::Admitting {
            pb::AdmissionRole::Origin
        } else {
            pb::AdmissionRole::Admitting
        };
        let none = caseworkers
            .list_allocations(pb::ListAllocationsRequest {
                role: other.into(),
                round_id: round_id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(none.allocations.is_empty(), "{code}");
        // A malformed filter and a forged page token are refused, each named.
        let refused = caseworkers
            .list_allocations(pb::ListAllocationsRequest {
                round_id: "RND 2026; DROP".into(),
                page_token: "not-a-token".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(
            refused.message().contains("round_id"),
            "{}",
            refused.message()
        );
        assert!(
            refused.message().contains("page_token"),
            "{}",
            refused.message()
        );
    }
    // A partner's node does not read another state's allocations.
    let mut from_fr = network
        .federation
        .admission_as(PeerIdentity::Node(state("FR")), "GB")
        .await;
    let refused = from_fr
        .list_allocations(pb::ListAllocationsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

/// An allocation of `round` (whose period ends on `day`) for the pair, as the settler
/// records it.
fn recorded(round: &str, day: i64, admitting: &str, origin: &str) -> AllocationRecord {
    AllocationRecord {
        round_id: round.to_owned(),
        report_version: 1,
        admitting_state: admitting.to_owned(),
        origin_state: origin.to_owned(),
        people: 2,
        redirected: 0,
        perform_by: Some(START_MILLIS + (day + 14) * DAY_MS),
        period_start: START_MILLIS + (day - 7) * DAY_MS,
        period_end: START_MILLIS + day * DAY_MS,
        recorded_at: START_MILLIS,
    }
}

#[tokio::test]
async fn allocations_page_newest_round_first_and_a_token_of_another_list_is_refused() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let store = federation.app("GB").store();
    let rounds = [
        ("RND-2026-01-05-1", 7, vec![("GB", "FR"), ("BE", "GB")]),
        ("RND-2026-01-12-1", 14, vec![("GB", "FR")]),
        ("RND-2026-01-19-1", 21, vec![("FR", "GB"), ("GB", "BE")]),
    ];
    for (round, day, pairs) in &rounds {
        let allocations: Vec<_> = pairs
            .iter()
            .map(|(admitting, origin)| recorded(round, *day, admitting, origin))
            .collect();
        store
            .record_allocations(round, START_MILLIS, &allocations)
            .await
            .unwrap();
        // A round read again writes nothing new.
        store
            .record_allocations(round, START_MILLIS, &allocations)
            .await
            .unwrap();
    }
    let mut caseworkers = federation.admission("GB").await;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = caseworkers
            .list_allocations(pb::ListAllocationsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.allocations.len() <= 2);
        seen.extend(page.allocations.into_iter().map(|found| {
            format!(
                "{} {}>{}",
                found.round_id, found.admitting_state, found.origin_state
            )
        }));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        seen,
        [
            "RND-2026-01-19-1 FR>GB",
            "RND-2026-01-19-1 GB>BE",
            "RND-2026-01-12-1 GB>FR",
            "RND-2026-01-05-1 BE>GB",
            "RND-2026-01-05-1 GB>FR",
        ]
    );
    let admitting = caseworkers
        .list_allocations(pb::ListAllocationsRequest {
            role: pb::AdmissionRole::Admitting.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(admitting.allocations.len(), 3);
    // A token well formed but from another list (this round has no such allocation).
    let refused = caseworkers
        .list_allocations(pb::ListAllocationsRequest {
            round_id: "RND-2026-01-12-1".into(),
            page_token: "RND-2026-01-19-1/FR/GB".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("page_token"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn a_node_whose_witnessed_log_the_report_contradicts_disputes_it_and_nothing_settles() {
    let network = Network::start(&[]).await;
    network.agree(&[pb::Regime::Ukfr2025], None).await;
    let (_, arrived) = returned(&network, "disputed").await;
    // FR's node remembers cosigning a head the coordinator's log cannot extend to: as if the
    // coordinator had shown it another history (a fork). Its witness refuses every head
    // since, and its settler must refuse the round's.
    let fr_store = network.federation.app("FR").store().clone();
    // First FR's witness catches up with the log's last head (the log no longer grows), so
    // that no cosignature still under way overwrites the head written below.
    let mut ledger = crate::witness::ledger(&network.federation);
    let last_head = accord_edge::testing::latest_head(&mut ledger)
        .await
        .tree_head
        .unwrap();
    eventually_some("FR's witness cosigns the log's last head", || {
        let fr_store = fr_store.clone();
        let size = last_head.tree_size;
        async move {
            let witnessed = fr_store.witnessed_head().await.unwrap();
            witnessed
                .filter(|head| u64::try_from(head.tree_size) == Ok(size))
                .map(|_| ())
        }
    })
    .await;
    fr_store
        .save_witnessed_head(&accord_node::store::WitnessedHead {
            tree_size: 1_000_000,
            root_hash: vec![7; 32],
            checkpoint: "a head of another history".to_owned(),
            cosigned_at: network.now(),
        })
        .await
        .unwrap();
    let mut operator = SettlementServiceClient::new(operator_channel(&network.federation));
    let federation = &network.federation;
    let mode = pb::NettingMode::Bilateral;
    let proposed = proposed_round(federation, &mut operator, arrived - DAY_MS, mode).await;
    let disputed = round_reaching(&operator, &proposed.round_id, pb::RoundStatus::Disputed).await;
    let dispute = disputed.disputes[0].dispute.as_ref().unwrap();
    assert_eq!(dispute.state, "FR");
    assert_eq!(
        dispute.reasons,
        [pb::DisputeReason::TreeHeadInconsistent as i32]
    );
    // Nothing settles: no allocation reaches either node.
    network.federation.clock.advance_millis(HOUR_MS);
    for code in ["GB", "FR"] {
        let mut caseworkers = network.federation.admission(code).await;
        let listed = caseworkers
            .list_allocations(pb::ListAllocationsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(listed.allocations.is_empty(), "{code}");
    }
}
