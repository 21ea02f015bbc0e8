//! Validation of every field (one `google.rpc.BadRequest` violation per bad field, unknown
//! enum values refused, nothing stored), and the standard gRPC services next to the API.

use accord_proto::v1 as pb;
use accord_trust::PeerIdentity;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::federation::{Federation, START_MILLIS, state};
use crate::readmission::{
    DAY_MS, all_cases, bad_fields, open_and_receive, open_request, reason, shared_history, slot,
    time,
};

fn assert_invalid(status: &tonic::Status, fields: &[&str]) {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(reason(status), "FIELD_INVALID");
    assert_eq!(bad_fields(status), fields, "{}", status.message());
}

#[tokio::test]
async fn an_open_request_with_bad_fields_names_each_one_and_stores_nothing() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let mut gateway = federation.gateway("GB").await;
    let request = pb::OpenReadmissionRequest {
        idempotency_key: String::new(),
        requested_state: "fr".into(),
        regime: 99,
        arrival_time: None,
        person: Some(pb::PersonalData {
            keyed_pseudonym: "XYZ".into(),
            nationality: "Afghan".into(),
            birth_year: 1850,
            vulnerable: false,
            family_ties: false,
        }),
        evidence: vec![pb::Evidence {
            kind: 42,
            reference: String::new(),
            document_digest: vec![1, 2, 3],
            note: String::new(),
        }],
        ..Default::default()
    };
    let refused = gateway.open_readmission(request).await.unwrap_err();
    assert_invalid(
        &refused,
        &[
            "arrival_time",
            "evidence[0].document_digest",
            "evidence[0].kind",
            "evidence[0].reference",
            "idempotency_key",
            "person.birth_year",
            "person.keyed_pseudonym",
            "person.nationality",
            "regime",
            "requested_state",
        ],
    );
    let missing_person = pb::OpenReadmissionRequest {
        person: None,
        ..open_request("open-1")
    };
    let refused = gateway.open_readmission(missing_person).await.unwrap_err();
    assert_invalid(&refused, &["person"]);
    let too_much_evidence = pb::OpenReadmissionRequest {
        evidence: vec![open_request("unused").evidence[0].clone(); 51],
        ..open_request("open-3")
    };
    let refused = gateway
        .open_readmission(too_much_evidence)
        .await
        .unwrap_err();
    assert_invalid(&refused, &["evidence"]);
    let to_itself = pb::OpenReadmissionRequest {
        requested_state: "GB".into(),
        ..open_request("open-2")
    };
    let refused = gateway.open_readmission(to_itself).await.unwrap_err();
    assert_invalid(&refused, &["requested_state"]);
    assert!(all_cases(&federation, "GB").await.is_empty());
    assert!(all_cases(&federation, "FR").await.is_empty());
}

#[tokio::test]
async fn steps_with_bad_fields_name_each_one_and_change_nothing() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let mut fr = federation.gateway("FR").await;
    let mut gb = federation.gateway("GB").await;
    let refused = fr
        .decide_readmission(pb::DecideReadmissionRequest {
            idempotency_key: "k".repeat(200),
            case_ref: "nonsense".into(),
            decision: Some(pb::decide_readmission_request::Decision::Reject(
                pb::ReadmissionRejection {
                    reasons: vec![0, 99],
                    detailed_reasons: String::new(),
                },
            )),
        })
        .await
        .unwrap_err();
    assert_invalid(
        &refused,
        &[
            "case_ref",
            "idempotency_key",
            "reject.detailed_reasons",
            "reject.reasons[0]",
            "reject.reasons[1]",
        ],
    );
    let refused = fr
        .decide_readmission(pb::DecideReadmissionRequest {
            idempotency_key: "decide-1".into(),
            case_ref: case_ref.clone(),
            decision: None,
        })
        .await
        .unwrap_err();
    assert_invalid(&refused, &["decision"]);
    let refused = gb
        .withdraw_readmission(pb::WithdrawReadmissionRequest {
            idempotency_key: "withdraw-1".into(),
            case_ref: case_ref.clone(),
            reason: 9,
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_invalid(&refused, &["reason"]);
    let refused = gb
        .place_legal_hold(pb::PlaceLegalHoldRequest {
            idempotency_key: "hold-1".into(),
            case_ref: case_ref.clone(),
            kind: 77,
            reference: String::new(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_invalid(&refused, &["kind"]);
    let mut bad_slot = slot(START_MILLIS + 7 * DAY_MS);
    bad_slot.end_time = bad_slot.start_time;
    bad_slot.transport_mode = 9;
    let refused = gb
        .postpone_transfer(pb::PostponeTransferRequest {
            idempotency_key: "postpone-1".into(),
            case_ref: case_ref.clone(),
            reason: 0,
            note: String::new(),
            slot: Some(bad_slot),
        })
        .await
        .unwrap_err();
    assert_invalid(
        &refused,
        &["reason", "slot.end_time", "slot.transport_mode"],
    );
    let refused = gb
        .schedule_transfer(pb::ScheduleTransferRequest {
            idempotency_key: "schedule-1".into(),
            case_ref: case_ref.clone(),
            slot: None,
            escorted: false,
            laissez_passer_reference: String::new(),
        })
        .await
        .unwrap_err();
    assert_invalid(&refused, &["slot"]);
    let refused = gb
        .report_transfer(pb::ReportTransferRequest {
            idempotency_key: "transfer-1".into(),
            case_ref: case_ref.clone(),
            handed_over_at: None,
            handover_point: String::new(),
        })
        .await
        .unwrap_err();
    assert_invalid(&refused, &["handed_over_at", "handover_point"]);
    let refused = gb
        .report_transfer(pb::ReportTransferRequest {
            idempotency_key: "transfer-2".into(),
            case_ref: case_ref.clone(),
            handed_over_at: Some(time(START_MILLIS + DAY_MS)),
            handover_point: "C".repeat(129),
        })
        .await
        .unwrap_err();
    assert_invalid(&refused, &["handed_over_at", "handover_point"]);
    let refused = gb
        .issue_transfer_decision(pb::IssueTransferDecisionRequest {
            idempotency_key: "decision-1".into(),
            case_ref: case_ref.clone(),
            decision_reference: String::new(),
            notified_at: None,
        })
        .await
        .unwrap_err();
    assert_invalid(&refused, &["decision_reference", "notified_at"]);
    let refused = fr
        .report_no_show(pb::ReportNoShowRequest {
            idempotency_key: "no-show-1".into(),
            case_ref: case_ref.clone(),
            note: "n".repeat(2_001),
        })
        .await
        .unwrap_err();
    assert_invalid(&refused, &["note"]);
    assert_eq!(shared_history(&federation, &case_ref).await.len(), 2);
}

#[tokio::test]
async fn a_list_with_unknown_filter_values_is_refused_field_by_field() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let refused = federation
        .gateway("GB")
        .await
        .list_readmissions(pb::ListReadmissionsRequest {
            page_size: 10,
            page_token: "not a token".into(),
            counterpart_state: "France".into(),
            role: 7,
            statuses: vec![99],
            updated_since: None,
        })
        .await
        .unwrap_err();
    assert_invalid(
        &refused,
        &["counterpart_state", "page_token", "role", "statuses[0]"],
    );
    let refused = federation
        .gateway("GB")
        .await
        .get_readmission(pb::GetReadmissionRequest {
            case_ref: String::new(),
        })
        .await
        .unwrap_err();
    assert_invalid(&refused, &["case_ref"]);
}

#[tokio::test]
async fn health_answers_serving_over_mtls() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let channel = federation
        .channel_as(PeerIdentity::Gateway(state("GB")), "GB")
        .await;
    let mut health = HealthClient::new(channel);
    for service in ["", "accord.v1.ReadmissionService"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.status,
            ServingStatus::Serving as i32,
            "health of {service:?}"
        );
    }
}

#[tokio::test]
async fn reflection_lists_the_readmission_service() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let channel = federation
        .channel_as(PeerIdentity::Gateway(state("GB")), "GB")
        .await;
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a list of services: {answer:?}");
    };
    let names: Vec<String> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    assert!(
        names
            .iter()
            .any(|name| name == "accord.v1.ReadmissionService"),
        "{names:?}"
    );
}
