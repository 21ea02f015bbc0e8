//! Validation of every field: one `google.rpc.BadRequest` violation per bad field, unknown
//! enum values refused, nothing stored.

use accord_proto::v1 as pb;

use crate::federation::{Federation, START_MILLIS};
use crate::readmission::{
    acceptance, assert_no_case, open_and_receive, open_request, person, refused_open,
    shared_history, slot, transfer_report,
};
use crate::support::{DAY_MS, Step, assert_invalid, step};

#[tokio::test]
async fn an_open_request_with_bad_fields_names_each_one_and_stores_nothing() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let every_field_wrong = pb::OpenReadmissionRequest {
        idempotency_key: String::new(),
        requested_state: "fr".into(),
        regime: 99,
        arrival_time: None,
        person: Some(pb::PersonalData {
            keyed_pseudonym: "XYZ".into(),
            nationality: "Afghan".into(),
            birth_year: 1850,
            ..person()
        }),
        evidence: vec![pb::Evidence {
            kind: 42,
            reference: String::new(),
            document_digest: vec![1, 2, 3],
            note: String::new(),
        }],
        ..Default::default()
    };
    let requests: [(pb::OpenReadmissionRequest, &[&str]); 4] = [
        (
            every_field_wrong,
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
        ),
        (
            pb::OpenReadmissionRequest {
                person: None,
                ..open_request("open-1")
            },
            &["person"],
        ),
        (
            pb::OpenReadmissionRequest {
                evidence: vec![open_request("unused").evidence[0].clone(); 51],
                ..open_request("open-3")
            },
            &["evidence"],
        ),
        (
            pb::OpenReadmissionRequest {
                requested_state: "GB".into(),
                ..open_request("open-2")
            },
            &["requested_state"],
        ),
    ];
    for (request, fields) in requests {
        assert_invalid(&refused_open(&federation, "GB", request).await, fields);
    }
    assert_no_case(&federation).await;
}

#[tokio::test]
async fn steps_with_bad_fields_name_each_one_and_change_nothing() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    let mut fr = federation.gateway("FR").await;
    let mut gb = federation.gateway("GB").await;
    let nonsense = pb::DecideReadmissionRequest {
        idempotency_key: "k".repeat(200),
        case_ref: "nonsense".into(),
        decision: Some(pb::decide_readmission_request::Decision::Reject(
            pb::ReadmissionRejection {
                reasons: vec![0, 99],
                detailed_reasons: String::new(),
            },
        )),
    };
    let undecided = pb::DecideReadmissionRequest {
        decision: None,
        ..acceptance("decide-1", &case_ref)
    };
    let withdrawal = pb::WithdrawReadmissionRequest {
        reason: 9,
        ..step("withdraw-1", &case_ref)
    };
    let hold = pb::PlaceLegalHoldRequest {
        kind: 77,
        ..step("hold-1", &case_ref)
    };
    let mut bad_slot = slot(START_MILLIS + 7 * DAY_MS);
    bad_slot.end_time = bad_slot.start_time;
    bad_slot.transport_mode = 9;
    let postponement = pb::PostponeTransferRequest {
        slot: Some(bad_slot),
        ..step("postpone-1", &case_ref)
    };
    let no_slot = pb::ScheduleTransferRequest::keyed("schedule-1", &case_ref);
    let unsaid = pb::ReportTransferRequest {
        handed_over_at: None,
        handover_point: String::new(),
        ..transfer_report("transfer-1", &case_ref, START_MILLIS)
    };
    let in_the_future = pb::ReportTransferRequest {
        handover_point: "C".repeat(129),
        ..transfer_report("transfer-2", &case_ref, START_MILLIS + DAY_MS)
    };
    let no_decision = pb::IssueTransferDecisionRequest::keyed("decision-1", &case_ref);
    let long_note = pb::ReportNoShowRequest {
        note: "n".repeat(2_001),
        ..step("no-show-1", &case_ref)
    };
    let refusals: [(Result<(), tonic::Status>, &[&str]); 10] = [
        (
            fr.decide_readmission(nonsense).await.map(drop),
            &[
                "case_ref",
                "idempotency_key",
                "reject.detailed_reasons",
                "reject.reasons[0]",
                "reject.reasons[1]",
            ],
        ),
        (
            fr.decide_readmission(undecided).await.map(drop),
            &["decision"],
        ),
        (
            gb.withdraw_readmission(withdrawal).await.map(drop),
            &["reason"],
        ),
        (gb.place_legal_hold(hold).await.map(drop), &["kind"]),
        (
            gb.postpone_transfer(postponement).await.map(drop),
            &["reason", "slot.end_time", "slot.transport_mode"],
        ),
        (gb.schedule_transfer(no_slot).await.map(drop), &["slot"]),
        (
            gb.report_transfer(unsaid).await.map(drop),
            &["handed_over_at", "handover_point"],
        ),
        (
            gb.report_transfer(in_the_future).await.map(drop),
            &["handed_over_at", "handover_point"],
        ),
        (
            gb.issue_transfer_decision(no_decision).await.map(drop),
            &["decision_reference", "notified_at"],
        ),
        (fr.report_no_show(long_note).await.map(drop), &["note"]),
    ];
    for (answer, fields) in refusals {
        assert_invalid(&answer.unwrap_err(), fields);
    }
    assert_eq!(shared_history(&federation, &case_ref).await.len(), 2);
}

#[tokio::test]
async fn a_list_with_unknown_filter_values_is_refused_field_by_field() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let mut gb = federation.gateway("GB").await;
    let filter = pb::ListReadmissionsRequest {
        page_size: 10,
        page_token: "not a token".into(),
        counterpart_state: "France".into(),
        role: 7,
        statuses: vec![99],
        updated_since: None,
    };
    let refused = gb.list_readmissions(filter).await.unwrap_err();
    assert_invalid(
        &refused,
        &["counterpart_state", "page_token", "role", "statuses[0]"],
    );
    let nameless = pb::GetReadmissionRequest {
        case_ref: String::new(),
    };
    let refused = gb.get_readmission(nameless).await.unwrap_err();
    assert_invalid(&refused, &["case_ref"]);
}
