//! Refusals as `application/problem+json` (RFC 9457): the node's field violations by JSON
//! path, the gateway's own (codes and times it cannot read, a missing idempotency key), and
//! bodies that are not JSON at all, never axum's plain text.

use reqwest::Method;
use serde_json::json;

use crate::support::{
    GB_CASEWORKER, States, answer, gateway_without_node, readmission_request, violated_fields,
};

#[tokio::test]
async fn the_nodes_field_violations_come_back_by_json_path() {
    let states = States::start().await;
    let mut request = readmission_request('a');
    request["person"]["keyed_pseudonym"] = json!("Jean Dupont");
    request["person"]["nationality"] = json!("fr");
    let (status, problem) = states
        .post(
            "GB",
            "/v1/readmissions",
            GB_CASEWORKER,
            "bad-person",
            &request,
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["reason"], "FIELD_INVALID");
    assert_eq!(problem["type"], "urn:accord:problem:FIELD_INVALID");
    assert_eq!(
        violated_fields(&problem),
        ["person.keyed_pseudonym", "person.nationality"]
    );
    let (_, page) = states.get("GB", "/v1/readmissions", GB_CASEWORKER).await;
    assert_eq!(page["readmissions"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn codes_and_times_the_gateway_cannot_read_are_violations_too() {
    let states = States::start().await;
    let mut request = readmission_request('a');
    request["regime"] = json!("UK_FRANCE");
    request["arrival_time"] = json!("yesterday");
    request["evidence"][0]["kind"] = json!("RUMOUR");
    let (status, problem) = states
        .post(
            "GB",
            "/v1/readmissions",
            GB_CASEWORKER,
            "bad-codes",
            &request,
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["reason"], "FIELD_INVALID");
    assert_eq!(
        violated_fields(&problem),
        ["arrival_time", "evidence[0].kind", "regime"]
    );
    let (status, problem) = states
        .get("GB", "/v1/readmissions?statuses=SOMEWHERE", GB_CASEWORKER)
        .await;
    assert_eq!(status, 400);
    assert_eq!(violated_fields(&problem), ["statuses"]);
}

#[tokio::test]
async fn a_body_that_is_not_json_or_not_the_right_shape_is_a_400_problem() {
    let states = States::start().await;
    let post = |body: &'static str, content_type: &'static str| {
        states
            .call(Method::POST, "GB", "/v1/readmissions", GB_CASEWORKER)
            .header("Idempotency-Key", "bad-json")
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let (status, problem) = answer(
        post("{\"requested_state\": ", "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["reason"], "BODY_NOT_JSON");

    let (status, problem) = answer(
        post("{\"requested_state\": 7}", "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["reason"], "BODY_INVALID");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("requested_state"),
        "{problem}"
    );

    let (status, problem) = answer(post("requested_state=FR", "text/plain").await.unwrap()).await;
    assert_eq!(status, 415, "{problem}");
}

#[tokio::test]
async fn a_step_without_an_idempotency_key_is_refused_naming_the_header() {
    let states = States::start().await;
    let response = states
        .call(Method::POST, "GB", "/v1/readmissions", GB_CASEWORKER)
        .json(&readmission_request('a'))
        .send()
        .await
        .unwrap();
    let (status, problem) = answer(response).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(violated_fields(&problem), ["Idempotency-Key"]);
}

#[tokio::test]
async fn an_unknown_case_is_404_and_an_unknown_route_too() {
    let states = States::start().await;
    let (status, problem) = states
        .get(
            "GB",
            "/v1/readmissions/RDM-GB-FR-00001M8DSQ45PX4HB9CY176Z7X",
            GB_CASEWORKER,
        )
        .await;
    assert_eq!(status, 404, "{problem}");
    assert_eq!(problem["reason"], "RECORD_NOT_FOUND");
    let (status, problem) = states.get("GB", "/v2/nothing", GB_CASEWORKER).await;
    assert_eq!(status, 404);
    assert_eq!(problem["reason"], "NO_SUCH_ROUTE");
}

#[tokio::test]
async fn a_node_that_cannot_be_reached_is_a_503_problem() {
    let (address, _pki, _stop) = gateway_without_node().await;
    let response = reqwest::Client::new()
        .get(format!("http://{address}/v1/readmissions"))
        .bearer_auth(GB_CASEWORKER)
        .send()
        .await
        .unwrap();
    let (status, problem) = answer(response).await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["reason"], "UNAVAILABLE");
}
