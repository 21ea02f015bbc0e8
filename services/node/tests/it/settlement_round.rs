//! A settlement round from a real case to FINAL: GB returns a person to FR through the real
//! lifecycle, both nodes report every event to the coordinator's log, an operator opens,
//! cuts off and proposes a round, and both nodes check the report (its certificate and
//! figures, the log's consistency with what they witnessed, the inclusion of their counted
//! events) and countersign it without anyone's help.

use accord_proto::v1 as pb;
use accord_proto::v1::settlement_service_client::SettlementServiceClient;

use crate::directory::Network;
use crate::federation::eventually_some;
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

#[tokio::test]
async fn both_nodes_check_and_countersign_a_round_of_their_real_case_and_it_is_final() {
    let network = Network::start(&[]).await;
    network.agree(&[pb::Regime::Ukfr2025], None).await;
    let (case_ref, arrived) = returned(&network, "settled").await;
    let mut operator = SettlementServiceClient::new(operator_channel(&network.federation));
    let opened = operator
        .open_round(pb::OpenRoundRequest {
            idempotency_key: "open".into(),
            period: Some(pb::TimeRange {
                start_time: Some(time(arrived - DAY_MS)),
                end_time: Some(time(network.now() + HOUR_MS)),
            }),
            mode: pb::NettingMode::Bilateral.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
    let round_id = opened.round_id;
    // The period ends; the round is cut off after it.
    network.federation.clock.advance_millis(2 * HOUR_MS);
    operator
        .close_round(pb::CloseRoundRequest {
            idempotency_key: "close".into(),
            round_id: round_id.clone(),
        })
        .await
        .unwrap();
    let proposed = operator
        .propose_round(pb::ProposeRoundRequest {
            idempotency_key: "propose".into(),
            round_id: round_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .round
        .unwrap();
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

    let last = eventually_some("both nodes countersign and the round is final", || {
        let mut operator = operator.clone();
        let round_id = round_id.clone();
        async move {
            let round = operator
                .get_round(pb::GetRoundRequest { round_id })
                .await
                .unwrap()
                .into_inner()
                .round
                .unwrap();
            (round.status() == pb::RoundStatus::Final).then_some(round)
        }
    })
    .await;
    let signers: Vec<_> = last
        .report
        .unwrap()
        .countersignatures
        .iter()
        .map(|signature| signature.state.clone())
        .collect();
    assert_eq!(signers, ["FR", "GB"]);
}
