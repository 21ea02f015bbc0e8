//! Offers and admission cases through the gateways: GB publishes an offer for people in
//! France and nominates a candidate; FR's gateway shows both; GB grants, the person arrives.

use serde_json::json;

use crate::support::{DIPLOMAT, FR_CASEWORKER, GB_CASEWORKER, States, violated_fields};

#[tokio::test]
async fn an_offer_and_a_nomination_reach_the_origin_state_and_the_grant_follows() {
    let states = States::start().await;
    let offer = json!({
        "origin_state": "FR",
        "regime": "UKFR_2025",
        "capacity": 5,
        "window": {"start_time": "2026-03-02T09:00:00Z", "end_time": "2026-06-01T00:00:00Z"},
        "priority_rules_version": "2026-1"
    });
    let (status, published) = states
        .post("GB", "/v1/offers", GB_CASEWORKER, "offer-1", &offer)
        .await;
    assert_eq!(status, 201, "{published}");
    assert_eq!(published["offer"]["status"], "OPEN");
    assert_eq!(published["offer"]["capacity"], 5);
    let offer_ref = published["offer"]["offer_ref"].as_str().unwrap().to_owned();

    let nomination = json!({
        "offer_ref": offer_ref,
        "person": {"keyed_pseudonym": "e".repeat(64), "nationality": "ER", "birth_year": 2001},
        "expression_of_interest_reference": "EOI-17"
    });
    let (status, nominated) = states
        .post(
            "GB",
            "/v1/admissions",
            GB_CASEWORKER,
            "nominate-1",
            &nomination,
        )
        .await;
    assert_eq!(status, 201, "{nominated}");
    assert_eq!(nominated["admission"]["status"], "NOMINATED");
    let case_ref = nominated["admission"]["case_ref"]
        .as_str()
        .unwrap()
        .to_owned();

    let seen = states
        .wait_for(
            "FR",
            &format!("/v1/offers/{offer_ref}"),
            FR_CASEWORKER,
            |offer| offer["used"] == 1,
        )
        .await;
    assert_eq!(seen["admitting_state"], "GB");
    let page = states
        .wait_for(
            "FR",
            "/v1/admissions?counterpart_state=GB",
            FR_CASEWORKER,
            |page| {
                page["admissions"]
                    .as_array()
                    .is_some_and(|cases| cases.len() == 1)
            },
        )
        .await;
    assert_eq!(page["admissions"][0]["case_ref"], case_ref.as_str());

    let path = format!("/v1/admissions/{case_ref}");
    let (status, vetting) = states
        .post(
            "GB",
            &format!("{path}/vetting"),
            GB_CASEWORKER,
            "vet-1",
            &json!(null),
        )
        .await;
    assert_eq!(status, 200, "{vetting}");
    let grant = json!({"decision": "GRANT", "visa_valid_until": "2026-05-01T00:00:00Z"});
    let (status, granted) = states
        .post(
            "GB",
            &format!("{path}/decision"),
            GB_CASEWORKER,
            "grant-1",
            &grant,
        )
        .await;
    assert_eq!(status, 200, "{granted}");
    assert_eq!(granted["admission"]["status"], "GRANTED");
    assert!(
        granted["admission"]["visa_valid_until"].is_string(),
        "{granted}"
    );
}

#[tokio::test]
async fn allocations_are_listed_for_readers_and_their_filters_checked() {
    let states = States::start().await;
    for reader in [GB_CASEWORKER, DIPLOMAT] {
        let (status, page) = states
            .get("GB", "/v1/allocations?role=ADMITTING", reader)
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["allocations"], json!([]), "no round is final yet");
        assert!(page["next_page_token"].is_null());
    }
    let (status, problem) = states
        .get("GB", "/v1/allocations?role=LENDER", GB_CASEWORKER)
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(violated_fields(&problem), ["role"]);
    let (status, _) = states.get("GB", "/v1/allocations", FR_CASEWORKER).await;
    assert_eq!(status, 403);
}
