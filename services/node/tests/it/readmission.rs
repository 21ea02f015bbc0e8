//! Readmission between real nodes over mTLS: the lifecycle paths end to end, both nodes
//! holding the same signed history.

use accord_domain::Timestamp;
use accord_node::convert::to_wire_time;
use accord_proto::v1 as pb;

use crate::federation::{Federation, START_MILLIS, eventually};

const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

pub fn time(millis: i64) -> prost_types::Timestamp {
    to_wire_time(Timestamp::from_millis(millis).unwrap())
}

pub fn open_request(key: &str) -> pb::OpenReadmissionRequest {
    pb::OpenReadmissionRequest {
        idempotency_key: key.to_owned(),
        requested_state: "FR".into(),
        regime: pb::Regime::Ukfr2025 as i32,
        arrival_time: Some(time(START_MILLIS - DAY_MS)),
        exceptional: false,
        detained: false,
        person: Some(pb::PersonalData {
            keyed_pseudonym: "ab".repeat(32),
            nationality: "AF".into(),
            birth_year: 1994,
            vulnerable: false,
            family_ties: true,
        }),
        evidence: vec![pb::Evidence {
            kind: pb::EvidenceKind::FingerprintHit as i32,
            reference: "EURODAC-1".into(),
            document_digest: Vec::new(),
            note: String::new(),
        }],
        notes: String::new(),
    }
}

/// Reads a case through a state's gateway.
pub async fn case(
    federation: &Federation,
    state: &str,
    case_ref: &str,
) -> Option<pb::ReadmissionCase> {
    let mut gateway = federation.gateway(state).await;
    gateway
        .get_readmission(pb::GetReadmissionRequest {
            case_ref: case_ref.to_owned(),
        })
        .await
        .ok()
        .and_then(|response| response.into_inner().readmission)
}

/// Waits until both nodes show `status` with the same history.
pub async fn both_reach(federation: &Federation, case_ref: &str, status: pb::ReadmissionStatus) {
    eventually(
        &format!("GB and FR both show {case_ref} as {status:?}"),
        || async {
            let (Some(gb), Some(fr)) = (
                case(federation, "GB", case_ref).await,
                case(federation, "FR", case_ref).await,
            ) else {
                return false;
            };
            gb.status == status as i32 && fr.status == status as i32 && gb.events == fr.events
        },
    )
    .await;
}

pub async fn open(federation: &Federation, key: &str) -> String {
    let mut gateway = federation.gateway("GB").await;
    let response = gateway
        .open_readmission(open_request(key))
        .await
        .unwrap()
        .into_inner();
    response.readmission.unwrap().case_ref
}

#[tokio::test]
async fn a_request_opened_by_gb_is_received_by_fr_and_both_hold_the_same_signed_history() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open(&federation, "open-1").await;
    assert!(case_ref.starts_with("RDM-GB-FR-"));
    both_reach(&federation, &case_ref, pb::ReadmissionStatus::Received).await;
    let fr = case(&federation, "FR", &case_ref).await.unwrap();
    assert_eq!(fr.events.len(), 2);
    assert_eq!(fr.events[0].acting_state, "GB");
    assert_eq!(fr.events[1].acting_state, "FR");
    assert_eq!(
        fr.received_at,
        Some(time(START_MILLIS)),
        "receipt time is FR's clock at delivery"
    );
    assert_eq!(
        fr.reply_due_at,
        Some(time(START_MILLIS + 14 * DAY_MS)),
        "UK–FR: 14 days to reply"
    );
    assert_eq!(
        fr.person.unwrap().nationality,
        "AF",
        "the person travels to the requested state"
    );
    assert!(fr.events.iter().all(|event| event.signature.len() == 64));
}

#[tokio::test]
async fn an_accepted_request_goes_through_transfer_to_arrival_on_both_nodes() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open(&federation, "open-1").await;
    both_reach(&federation, &case_ref, pb::ReadmissionStatus::Received).await;
    let mut fr = federation.gateway("FR").await;
    let mut gb = federation.gateway("GB").await;
    fr.decide_readmission(pb::DecideReadmissionRequest {
        idempotency_key: "accept-1".into(),
        case_ref: case_ref.clone(),
        decision: Some(pb::decide_readmission_request::Decision::Accept(
            pb::ReadmissionAcceptance {
                note: String::new(),
            },
        )),
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, pb::ReadmissionStatus::Accepted).await;
    gb.issue_transfer_decision(pb::IssueTransferDecisionRequest {
        idempotency_key: "decision-1".into(),
        case_ref: case_ref.clone(),
        decision_reference: "HO-2026-1".into(),
        notified_at: None,
    })
    .await
    .unwrap();
    both_reach(
        &federation,
        &case_ref,
        pb::ReadmissionStatus::TransferDecisionIssued,
    )
    .await;
    let slot_start = START_MILLIS + 7 * DAY_MS;
    gb.schedule_transfer(pb::ScheduleTransferRequest {
        idempotency_key: "schedule-1".into(),
        case_ref: case_ref.clone(),
        slot: Some(pb::TransferSlot {
            start_time: Some(time(slot_start)),
            end_time: Some(time(slot_start + 60 * 60 * 1_000)),
            handover_point: "Calais".into(),
            transport_mode: pb::TransportMode::Sea as i32,
        }),
        escorted: true,
        laissez_passer_reference: String::new(),
    })
    .await
    .unwrap();
    both_reach(
        &federation,
        &case_ref,
        pb::ReadmissionStatus::TransferScheduled,
    )
    .await;
    federation
        .clock
        .advance_millis(7 * DAY_MS + 30 * 60 * 1_000);
    gb.report_transfer(pb::ReportTransferRequest {
        idempotency_key: "transfer-1".into(),
        case_ref: case_ref.clone(),
        handed_over_at: Some(time(slot_start + 30 * 60 * 1_000)),
        handover_point: "Calais".into(),
    })
    .await
    .unwrap();
    both_reach(&federation, &case_ref, pb::ReadmissionStatus::Transferred).await;
    fr.confirm_arrival(pb::ConfirmArrivalRequest {
        idempotency_key: "arrival-1".into(),
        case_ref: case_ref.clone(),
        arrived_at: Some(time(slot_start + 90 * 60 * 1_000)),
    })
    .await
    .unwrap();
    both_reach(
        &federation,
        &case_ref,
        pb::ReadmissionStatus::ArrivalConfirmed,
    )
    .await;
    let history = case(&federation, "GB", &case_ref).await.unwrap().events;
    let kinds: Vec<i32> = history.iter().map(|event| event.kind).collect();
    use pb::ReadmissionEventKind as K;
    assert_eq!(
        kinds,
        [
            K::Submitted,
            K::Received,
            K::Accepted,
            K::TransferDecisionIssued,
            K::TransferScheduled,
            K::Transferred,
            K::ArrivalConfirmed
        ]
        .map(|kind| kind as i32)
    );
}
