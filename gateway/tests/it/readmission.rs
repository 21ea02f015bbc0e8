//! A readmission case worked through two states' gateways: opened by GB's caseworker, seen
//! and decided by FR's through FR's gateway, listed with filters, and replayed safely.

use serde_json::json;

use crate::support::{FR_CASEWORKER, GB_CASEWORKER, States, readmission_request, violated_fields};

#[tokio::test]
async fn a_case_opened_at_gb_is_received_decided_and_listed_through_both_gateways() {
    let states = States::start().await;
    let (status, opened) = states
        .post(
            "GB",
            "/v1/readmissions",
            GB_CASEWORKER,
            "open-1",
            &readmission_request('a'),
        )
        .await;
    assert_eq!(status, 201, "{opened}");
    let case_ref = opened["readmission"]["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(case_ref.starts_with("RDM-GB-FR-"), "{case_ref}");
    assert_eq!(opened["readmission"]["status"], "SUBMITTED");
    assert_eq!(opened["readmission"]["regime"], "UKFR_2025");
    assert_eq!(opened["event"]["kind"], "SUBMITTED");
    assert_eq!(opened["readmission"]["person"]["nationality"], "SY");

    let path = format!("/v1/readmissions/{case_ref}");
    let received = states
        .wait_for("FR", &path, FR_CASEWORKER, |case| {
            case["status"] == "RECEIVED"
        })
        .await;
    assert_eq!(received["requesting_state"], "GB");
    assert_eq!(received["evidence"][0]["kind"], "FINGERPRINT_HIT");
    assert!(received["reply_due_at"].is_string(), "{received}");

    let decision = json!({"decision": "ACCEPT", "note": "Identity confirmed."});
    let (status, accepted) = states
        .post(
            "FR",
            &format!("{path}/decision"),
            FR_CASEWORKER,
            "decide-1",
            &decision,
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["readmission"]["status"], "ACCEPTED");
    assert_eq!(accepted["event"]["acting_state"], "FR");

    states
        .wait_for("GB", &path, GB_CASEWORKER, |case| {
            case["status"] == "ACCEPTED"
        })
        .await;
    let (status, page) = states
        .get(
            "GB",
            "/v1/readmissions?statuses=ACCEPTED&counterpart_state=FR",
            GB_CASEWORKER,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let listed: Vec<&str> = page["readmissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| case["case_ref"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [case_ref.as_str()]);
    let (_, none) = states
        .get("GB", "/v1/readmissions?statuses=REJECTED", GB_CASEWORKER)
        .await;
    assert_eq!(none["readmissions"], json!([]));
}

#[tokio::test]
async fn a_second_decision_on_a_decided_case_is_a_conflict_naming_the_transition() {
    let states = States::start().await;
    let (_, opened) = states
        .post(
            "GB",
            "/v1/readmissions",
            GB_CASEWORKER,
            "open-2",
            &readmission_request('b'),
        )
        .await;
    let path = format!(
        "/v1/readmissions/{}",
        opened["readmission"]["case_ref"].as_str().unwrap()
    );
    states
        .wait_for("FR", &path, FR_CASEWORKER, |case| {
            case["status"] == "RECEIVED"
        })
        .await;
    let accept = json!({"decision": "ACCEPT"});
    let (status, _) = states
        .post(
            "FR",
            &format!("{path}/decision"),
            FR_CASEWORKER,
            "decide-a",
            &accept,
        )
        .await;
    assert_eq!(status, 200);
    let reject = json!({"decision": "REJECT", "reasons": ["INSUFFICIENT_EVIDENCE"], "detailed_reasons": "Too late."});
    let (status, problem) = states
        .post(
            "FR",
            &format!("{path}/decision"),
            FR_CASEWORKER,
            "decide-b",
            &reject,
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["reason"], "ILLEGAL_TRANSITION");
    assert_eq!(
        problem["preconditions"][0]["type"], "ILLEGAL_TRANSITION",
        "{problem}"
    );
}

#[tokio::test]
async fn replaying_an_idempotency_key_gives_the_same_case_and_other_content_is_refused() {
    let states = States::start().await;
    let request = readmission_request('c');
    let (first_status, first) = states
        .post(
            "GB",
            "/v1/readmissions",
            GB_CASEWORKER,
            "open-once",
            &request,
        )
        .await;
    let (replay_status, replay) = states
        .post(
            "GB",
            "/v1/readmissions",
            GB_CASEWORKER,
            "open-once",
            &request,
        )
        .await;
    assert_eq!((first_status, replay_status), (201, 201));
    assert_eq!(
        first["readmission"]["case_ref"],
        replay["readmission"]["case_ref"]
    );
    assert_eq!(first["event"], replay["event"]);
    let (_, page) = states.get("GB", "/v1/readmissions", GB_CASEWORKER).await;
    assert_eq!(page["readmissions"].as_array().unwrap().len(), 1, "{page}");

    let mut other = request.clone();
    other["notes"] = json!("Other content under the same key.");
    let (status, problem) = states
        .post("GB", "/v1/readmissions", GB_CASEWORKER, "open-once", &other)
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["reason"], "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(violated_fields(&problem), Vec::<String>::new());
}

#[tokio::test]
async fn lists_come_in_pages_that_follow_their_token() {
    let states = States::start().await;
    for (index, digit) in ['1', '2', '3'].into_iter().enumerate() {
        let (status, _) = states
            .post(
                "GB",
                "/v1/readmissions",
                GB_CASEWORKER,
                &format!("page-{index}"),
                &readmission_request(digit),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (_, first) = states
        .get("GB", "/v1/readmissions?page_size=2", GB_CASEWORKER)
        .await;
    assert_eq!(
        first["readmissions"].as_array().unwrap().len(),
        2,
        "{first}"
    );
    assert!(
        first["readmissions"][0]["person"].is_null(),
        "lists carry no person: {first}"
    );
    let token = first["next_page_token"].as_str().expect("a next page");
    let (_, second) = states
        .get(
            "GB",
            &format!(
                "/v1/readmissions?page_size=2&page_token={}",
                token
                    .replace('+', "%2B")
                    .replace('/', "%2F")
                    .replace('=', "%3D")
            ),
            GB_CASEWORKER,
        )
        .await;
    assert_eq!(
        second["readmissions"].as_array().unwrap().len(),
        1,
        "{second}"
    );
    assert!(second["next_page_token"].is_null(), "{second}");
}

/// Opens a case at GB as `key` and waits until FR's gateway shows it received: its path.
async fn received(states: &States, key: &str, digit: char) -> String {
    let (status, opened) = states
        .post(
            "GB",
            "/v1/readmissions",
            GB_CASEWORKER,
            key,
            &readmission_request(digit),
        )
        .await;
    assert_eq!(status, 201, "{opened}");
    let path = format!(
        "/v1/readmissions/{}",
        opened["readmission"]["case_ref"].as_str().unwrap()
    );
    states
        .wait_for("FR", &path, FR_CASEWORKER, |case| {
            case["status"] == "RECEIVED"
        })
        .await;
    path
}

#[tokio::test]
async fn a_return_is_scheduled_handed_over_and_confirmed_through_the_gateways() {
    let states = States::start().await;
    let path = received(&states, "return-open", 'f').await;
    let step =
        |code: &'static str, step: &'static str, token: &'static str, body: serde_json::Value| {
            let states = &states;
            let path = path.clone();
            async move {
                let (status, answer) = states
                    .post(
                        code,
                        &format!("{path}/{step}"),
                        token,
                        &format!("return-{step}"),
                        &body,
                    )
                    .await;
                assert_eq!(status, 200, "{step}: {answer}");
                answer["readmission"]["status"].as_str().unwrap().to_owned()
            }
        };
    assert_eq!(
        step(
            "FR",
            "decision",
            FR_CASEWORKER,
            json!({"decision": "ACCEPT"})
        )
        .await,
        "ACCEPTED"
    );
    states
        .wait_for("GB", &path, GB_CASEWORKER, |case| {
            case["status"] == "ACCEPTED"
        })
        .await;
    let decision =
        json!({"decision_reference": "HO-2026-1", "notified_at": "2026-03-02T09:00:00Z"});
    assert_eq!(
        step("GB", "transfer-decision", GB_CASEWORKER, decision).await,
        "TRANSFER_DECISION_ISSUED"
    );
    let slot = json!({"slot": {
        "start_time": "2026-03-09T09:00:00Z", "end_time": "2026-03-09T10:00:00Z",
        "handover_point": "Calais", "transport_mode": "SEA"
    }, "escorted": true});
    let scheduled = step("GB", "transfer", GB_CASEWORKER, slot).await;
    assert_eq!(scheduled, "TRANSFER_SCHEDULED");
    let (_, seen) = states.get("GB", &path, GB_CASEWORKER).await;
    assert_eq!(seen["transfer_slot"]["transport_mode"], "SEA", "{seen}");

    states
        .clock
        .advance_millis(7 * 24 * 60 * 60 * 1_000 + 30 * 60 * 1_000);
    let handover = json!({"handed_over_at": "2026-03-09T09:30:00Z", "handover_point": "Calais"});
    assert_eq!(
        step("GB", "handover", GB_CASEWORKER, handover).await,
        "TRANSFERRED"
    );
    states
        .wait_for("FR", &path, FR_CASEWORKER, |case| {
            case["status"] == "TRANSFERRED"
        })
        .await;
    let arrival = json!({"arrived_at": "2026-03-09T09:30:00Z"});
    assert_eq!(
        step("FR", "arrival", FR_CASEWORKER, arrival).await,
        "ARRIVAL_CONFIRMED"
    );
    let confirmed = states
        .wait_for("GB", &path, GB_CASEWORKER, |case| {
            case["status"] == "ARRIVAL_CONFIRMED"
        })
        .await;
    let kinds: Vec<&str> = confirmed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "SUBMITTED",
            "RECEIVED",
            "ACCEPTED",
            "TRANSFER_DECISION_ISSUED",
            "TRANSFER_SCHEDULED",
            "TRANSFERRED",
            "ARRIVAL_CONFIRMED"
        ]
    );
}
