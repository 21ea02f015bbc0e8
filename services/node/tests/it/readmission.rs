//! Readmission between real nodes over mTLS: the lifecycle paths end to end, both nodes
//! holding the same signed history. The helpers here are shared by the `readmission_*`
//! modules: they drive a case through its steps as each state's caseworkers would, through
//! their own gateway.

use accord_domain::{CaseRef, Timestamp};
use accord_node::convert::to_wire_time;
use accord_proto::v1 as pb;
use accord_trust::{EventSigningKey, SigningDomain};
use prost::Message;
use sha2::{Digest, Sha256};
use tonic_types::StatusExt;

use crate::federation::{Federation, START_MILLIS, eventually};

pub const DAY_MS: i64 = 24 * 60 * 60 * 1_000;
pub const HOUR_MS: i64 = 60 * 60 * 1_000;

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

/// Opens a case on GB and waits until FR has received it.
pub async fn open_and_receive(federation: &Federation, key: &str) -> String {
    let case_ref = open(federation, key).await;
    both_reach(federation, &case_ref, pb::ReadmissionStatus::Received).await;
    case_ref
}

/// The kinds of a history, in order.
pub fn kinds(events: &[pb::ReadmissionEvent]) -> Vec<pb::ReadmissionEventKind> {
    events
        .iter()
        .map(|event| pb::ReadmissionEventKind::try_from(event.kind).unwrap())
        .collect()
}

/// The history both nodes hold (asserting that they hold the same one).
pub async fn shared_history(federation: &Federation, case_ref: &str) -> Vec<pb::ReadmissionEvent> {
    let gb = case(federation, "GB", case_ref).await.unwrap();
    let fr = case(federation, "FR", case_ref).await.unwrap();
    assert_eq!(gb.events, fr.events, "GB and FR hold different histories");
    assert_eq!(gb.status, fr.status);
    gb.events
}

/// The `google.rpc.ErrorInfo` reason of a refusal.
pub fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

/// The fields named by a refusal's `google.rpc.BadRequest`, sorted.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    let mut fields: Vec<String> = status
        .get_error_details()
        .bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .iter()
                .map(|violation| violation.field.clone())
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

/// FR's decision to accept.
pub fn acceptance(key: &str, case_ref: &str) -> pb::DecideReadmissionRequest {
    pb::DecideReadmissionRequest {
        idempotency_key: key.into(),
        case_ref: case_ref.into(),
        decision: Some(pb::decide_readmission_request::Decision::Accept(
            pb::ReadmissionAcceptance {
                note: String::new(),
            },
        )),
    }
}

/// A refusal with reason codes and detailed reasons.
pub fn refusal(reasons: &[pb::ReadmissionReason]) -> pb::ReadmissionRejection {
    pb::ReadmissionRejection {
        reasons: reasons.iter().map(|reason| *reason as i32).collect(),
        detailed_reasons: "No proof of transit through France was provided.".into(),
    }
}

/// FR's decision to reject.
pub fn rejection(
    key: &str,
    case_ref: &str,
    reasons: &[pb::ReadmissionReason],
) -> pb::DecideReadmissionRequest {
    pb::DecideReadmissionRequest {
        idempotency_key: key.into(),
        case_ref: case_ref.into(),
        decision: Some(pb::decide_readmission_request::Decision::Reject(refusal(
            reasons,
        ))),
    }
}

/// A transfer slot of one hour from `start_millis`, at Calais by sea.
pub fn slot(start_millis: i64) -> pb::TransferSlot {
    pb::TransferSlot {
        start_time: Some(time(start_millis)),
        end_time: Some(time(start_millis + HOUR_MS)),
        handover_point: "Calais".into(),
        transport_mode: pb::TransportMode::Sea as i32,
    }
}

/// A case accepted by FR, with GB's transfer decision issued: ready for a slot.
pub async fn accepted_with_transfer_decision(federation: &Federation, key: &str) -> String {
    let case_ref = open_and_receive(federation, key).await;
    let mut fr = federation.gateway("FR").await;
    let mut gb = federation.gateway("GB").await;
    fr.decide_readmission(acceptance(&format!("{key}-accept"), &case_ref))
        .await
        .unwrap();
    both_reach(federation, &case_ref, pb::ReadmissionStatus::Accepted).await;
    gb.issue_transfer_decision(pb::IssueTransferDecisionRequest {
        idempotency_key: format!("{key}-decision"),
        case_ref: case_ref.clone(),
        decision_reference: "HO-2026-1".into(),
        notified_at: Some(time(START_MILLIS)),
    })
    .await
    .unwrap();
    both_reach(
        federation,
        &case_ref,
        pb::ReadmissionStatus::TransferDecisionIssued,
    )
    .await;
    case_ref
}

/// GB books `slot` for the case.
pub async fn schedule(federation: &Federation, key: &str, case_ref: &str, slot_start: i64) {
    let mut gb = federation.gateway("GB").await;
    gb.schedule_transfer(pb::ScheduleTransferRequest {
        idempotency_key: key.into(),
        case_ref: case_ref.into(),
        slot: Some(slot(slot_start)),
        escorted: true,
        laissez_passer_reference: "LP-1".into(),
    })
    .await
    .unwrap();
    both_reach(
        federation,
        case_ref,
        pb::ReadmissionStatus::TransferScheduled,
    )
    .await;
}

/// A case handed over by GB at its slot, a week after the start: FR's turn to confirm.
pub async fn transferred(federation: &Federation, key: &str) -> String {
    let case_ref = accepted_with_transfer_decision(federation, key).await;
    let slot_start = START_MILLIS + 7 * DAY_MS;
    schedule(
        federation,
        &format!("{key}-schedule"),
        &case_ref,
        slot_start,
    )
    .await;
    federation.clock.advance_millis(7 * DAY_MS + HOUR_MS / 2);
    federation
        .gateway("GB")
        .await
        .report_transfer(pb::ReportTransferRequest {
            idempotency_key: format!("{key}-transfer"),
            case_ref: case_ref.clone(),
            handed_over_at: Some(time(slot_start + HOUR_MS / 2)),
            handover_point: "Calais".into(),
        })
        .await
        .unwrap();
    both_reach(federation, &case_ref, pb::ReadmissionStatus::Transferred).await;
    case_ref
}

/// A case whose return FR confirmed: it counts in the pair's ledger.
pub async fn arrival_confirmed(federation: &Federation, key: &str) -> String {
    let case_ref = transferred(federation, key).await;
    federation
        .gateway("FR")
        .await
        .confirm_arrival(pb::ConfirmArrivalRequest {
            idempotency_key: format!("{key}-arrival"),
            case_ref: case_ref.clone(),
            arrived_at: Some(time(START_MILLIS + 7 * DAY_MS + HOUR_MS / 2)),
        })
        .await
        .unwrap();
    both_reach(
        federation,
        &case_ref,
        pb::ReadmissionStatus::ArrivalConfirmed,
    )
    .await;
    case_ref
}

/// Signs `event` with `key` as accord.v1 specifies (event.proto): key id set and signature
/// empty, SHA-256 of the encoding as the attestation's digest, the attestation signed. The
/// tests sign by hand to forge, replay or tamper with deliveries.
pub fn sign(event: &mut pb::ReadmissionEvent, key: &EventSigningKey) {
    event.signing_key_id = key.key_id().to_string();
    event.signature = Vec::new();
    let case_ref = CaseRef::parse(&event.case_ref).unwrap();
    let attestation = pb::EventAttestation {
        case_ref: event.case_ref.clone(),
        pair: Some(pb::StatePair {
            first_state: case_ref.first_state().to_string(),
            second_state: case_ref.second_state().to_string(),
        }),
        sequence: event.sequence,
        acting_state: event.acting_state.clone(),
        occurred_at: event.occurred_at,
        idempotency_key: event.idempotency_key.clone(),
        signing_key_id: event.signing_key_id.clone(),
        event_digest: Sha256::digest(event.encode_to_vec()).to_vec(),
        kind: Some(pb::event_attestation::Kind::ReadmissionEventKind(
            event.kind,
        )),
    };
    event.signature = key
        .sign(SigningDomain::EVENT, &attestation.encode_to_vec())
        .to_bytes()
        .to_vec();
}

/// Every case a node holds, through its gateway.
pub async fn all_cases(federation: &Federation, state: &str) -> Vec<pb::ReadmissionCase> {
    federation
        .gateway(state)
        .await
        .list_readmissions(pb::ListReadmissionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .readmissions
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
        notified_at: Some(time(START_MILLIS)),
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
    federation.clock.advance_millis(60 * 60 * 1_000);
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
