//! A multilateral round between three real nodes: France, Germany and Belgium join a real
//! coordinator, agree `DUBLIN_III` pairwise, and return one person each around a cycle
//! (FR to DE, DE to BE, BE to FR) through the real lifecycle; every node reports its events
//! to the log, an operator runs a multilateral round, and all three nodes check and
//! countersign it on their own: the cycle nets to nothing to admit, and the round is FINAL
//! — with the nodes' stores on SQLite, and on PostgreSQL when a server is named.

use accord_proto::v1 as pb;
use accord_proto::v1::settlement_service_client::SettlementServiceClient;

use crate::federation::{Federation, both_hold, eventually_some};
use crate::readmission::{acceptance, case, evidence, person, slot};
use crate::settlement_round::{proposed_round, round_reaching, signers};
use crate::support::{DAY_MS, HOUR_MS, step, time};
use crate::witness::{leaves, operator_channel};

/// The three states, and the cycle of returns between them.
const STATES: [&str; 3] = ["BE", "DE", "FR"];
const CYCLE: [(&str, &str); 3] = [("FR", "DE"), ("DE", "BE"), ("BE", "FR")];

/// The operator records `DUBLIN_III` for every pair; waits until every node has both
/// partners.
async fn agree_pairwise(federation: &Federation) {
    let start = federation.clock_millis();
    for (index, (first, second)) in [("BE", "DE"), ("BE", "FR"), ("DE", "FR")]
        .into_iter()
        .enumerate()
    {
        let agreement = pb::Agreement {
            first_state: first.into(),
            second_state: second.into(),
            regimes: vec![pb::Regime::DublinIii as i32],
            effective_from: Some(time(start - DAY_MS)),
            ..Default::default()
        };
        federation
            .operator()
            .set_agreement(pb::SetAgreementRequest {
                idempotency_key: format!("agree-{index}"),
                agreement: Some(agreement),
            })
            .await
            .unwrap();
    }
    eventually_some("every node has its two partners", || async {
        STATES
            .iter()
            .all(|code| federation.app(code).partner_states().len() == 2)
            .then_some(())
    })
    .await;
}

/// Waits until `from` and `to` both show the case in `status` with one history; answers
/// the number of its events.
async fn both_in(
    federation: &Federation,
    (from, to): (&'static str, &'static str),
    case_ref: &str,
    status: pb::ReadmissionStatus,
) -> usize {
    let read = |state| case(federation, state, case_ref);
    let agree = |first: &pb::ReadmissionCase, second: &pb::ReadmissionCase| {
        first.events == second.events
            && first.status == status as i32
            && second.status == status as i32
    };
    let seen = both_hold(&format!("{case_ref} {status:?}"), [from, to], read, agree).await;
    seen.events.len()
}

/// Waits until the log's published head holds `events` reports of `case_ref` by each of
/// `from` and `to`.
async fn logged_by_both(
    federation: &Federation,
    (from, to): (&str, &str),
    case_ref: &str,
    events: usize,
) {
    eventually_some(&format!("{case_ref} logged by {from} and {to}"), || async {
        let leaves = leaves(federation).await;
        let by = |reporter: &str| {
            leaves
                .iter()
                .filter(|leaf| {
                    leaf.reporter_state == reporter
                        && leaf
                            .report
                            .as_ref()
                            .and_then(|report| report.attestation.as_ref())
                            .is_some_and(|attestation| attestation.case_ref == case_ref)
                })
                .count()
        };
        (by(from) == events && by(to) == events).then_some(())
    })
    .await;
}

/// `from` returns one person to `to` under `DUBLIN_III`, up to `to`'s confirmation of the
/// arrival; answers the case and when the person arrived.
async fn returned(federation: &Federation, from: &'static str, to: &'static str) -> (String, i64) {
    let pair = (from, to);
    let key = |what: &str| format!("{from}-{to}-{what}");
    let mut requesting = federation.gateway(from).await;
    let mut requested = federation.gateway(to).await;
    let opened = requesting
        .open_readmission(pb::OpenReadmissionRequest {
            idempotency_key: key("open"),
            requested_state: to.into(),
            regime: pb::Regime::DublinIii as i32,
            arrival_time: Some(time(federation.clock_millis() - DAY_MS)),
            exceptional: false,
            detained: false,
            person: Some(person()),
            evidence: vec![evidence(pb::EvidenceKind::FingerprintHit, "EURODAC-1")],
            notes: String::new(),
        })
        .await
        .unwrap();
    let case_ref = opened.into_inner().readmission.unwrap().case_ref;
    both_in(federation, pair, &case_ref, pb::ReadmissionStatus::Received).await;
    requested
        .decide_readmission(acceptance(&key("accept"), &case_ref))
        .await
        .unwrap();
    both_in(federation, pair, &case_ref, pb::ReadmissionStatus::Accepted).await;
    requesting
        .issue_transfer_decision(pb::IssueTransferDecisionRequest {
            decision_reference: key("decision"),
            notified_at: Some(time(federation.clock_millis())),
            ..step(&key("decision"), &case_ref)
        })
        .await
        .unwrap();
    let status = pb::ReadmissionStatus::TransferDecisionIssued;
    both_in(federation, pair, &case_ref, status).await;
    let slot_start = federation.clock_millis() + 7 * DAY_MS;
    requesting
        .schedule_transfer(pb::ScheduleTransferRequest {
            slot: Some(slot(slot_start)),
            escorted: true,
            laissez_passer_reference: "LP-1".into(),
            ..step(&key("schedule"), &case_ref)
        })
        .await
        .unwrap();
    let status = pb::ReadmissionStatus::TransferScheduled;
    both_in(federation, pair, &case_ref, status).await;
    federation.clock.advance_millis(7 * DAY_MS + HOUR_MS);
    let arrived = slot_start + HOUR_MS / 2;
    requesting
        .report_transfer(pb::ReportTransferRequest {
            handed_over_at: Some(time(arrived)),
            handover_point: "Quiévrain".into(),
            ..step(&key("transfer"), &case_ref)
        })
        .await
        .unwrap();
    both_in(
        federation,
        pair,
        &case_ref,
        pb::ReadmissionStatus::Transferred,
    )
    .await;
    requested
        .confirm_arrival(pb::ConfirmArrivalRequest {
            arrived_at: Some(time(arrived)),
            ..step(&key("arrival"), &case_ref)
        })
        .await
        .unwrap();
    let status = pb::ReadmissionStatus::ArrivalConfirmed;
    let events = both_in(federation, pair, &case_ref, status).await;
    logged_by_both(federation, pair, &case_ref, events).await;
    (case_ref, arrived)
}

#[tokio::test]
async fn three_nodes_countersign_a_multilateral_round_of_their_real_cycle_and_it_is_final() {
    // The nodes on SQLite; then, when a server is named, on PostgreSQL.
    let mut databases = vec![Vec::new()];
    if let Ok(server_url) = std::env::var("ACCORD_TEST_DATABASE_URL") {
        let mut urls = Vec::new();
        for code in STATES {
            urls.push((
                code,
                crate::databases::fresh_postgres_url(&server_url).await,
            ));
        }
        databases.push(urls);
    }
    for databases in databases {
        settles_the_cycle(&databases).await;
    }
}

async fn settles_the_cycle(databases: &[(&str, String)]) {
    let federation = Federation::start_joined(&STATES, databases).await;
    agree_pairwise(&federation).await;
    let period_start = federation.clock_millis() - DAY_MS;
    let mut cases = Vec::new();
    for (from, to) in CYCLE {
        cases.push(returned(&federation, from, to).await.0);
    }
    // Every event of the cycle is in the published log, from both of its parties.
    let mut operator = SettlementServiceClient::new(operator_channel(&federation));
    let mode = pb::NettingMode::Multilateral;
    let proposed = proposed_round(&federation, &mut operator, period_start, mode).await;
    let round_id = proposed.round_id.clone();
    let report = proposed.report.unwrap().report.unwrap();
    let mut counted: Vec<&str> = report
        .inputs
        .as_ref()
        .unwrap()
        .movements
        .iter()
        .map(|movement| movement.case_ref.as_str())
        .collect();
    counted.sort_unstable();
    cases.sort_unstable();
    assert_eq!(counted, cases);
    // The cycle nets to nothing: three admissions gross, none multilateral.
    assert_eq!(report.required_gross, 3);
    assert_eq!(report.required, 0);
    assert_eq!(report.settled, 0);
    assert_eq!(
        (
            report.netting_efficiency_numerator,
            report.netting_efficiency_denominator
        ),
        (3, 3)
    );
    assert_eq!(report.affected_states, STATES);

    let last = round_reaching(&operator, &round_id, pb::RoundStatus::Final).await;
    assert_eq!(signers(last), STATES);
}
