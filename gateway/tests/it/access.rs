//! Who may call what: no token or an unknown one is 401 with `WWW-Authenticate`; a diplomat
//! and an operator read but never act; a caseworker acts only through its own state's
//! gateway. A refused call never reaches the node.

use reqwest::Method;
use serde_json::json;

use crate::support::{
    DIPLOMAT, FR_CASEWORKER, GB_CASEWORKER, OPERATOR, States, answer, readmission_request,
};

#[tokio::test]
async fn a_call_without_a_known_bearer_token_is_401_with_a_challenge() {
    let states = States::start().await;
    let bare = states
        .http
        .get(states.url("GB", "/v1/readmissions"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        bare.headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap(),
        "Bearer realm=\"accord\""
    );
    let (status, problem) = answer(bare).await;
    assert_eq!(status, 401);
    assert_eq!(problem["reason"], "UNAUTHENTICATED");

    for token in ["not-a-token", ""] {
        let (status, problem) = states.get("GB", "/v1/readmissions", token).await;
        assert_eq!(status, 401, "{token:?}: {problem}");
    }
    let basic = states
        .http
        .get(states.url("GB", "/v1/readmissions"))
        .header("Authorization", "Basic Z2I6Y2FzZXdvcmtlcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(answer(basic).await.0, 401);
}

#[tokio::test]
async fn diplomats_and_operators_read_but_never_act() {
    let states = States::start().await;
    let (status, opened) = states
        .post(
            "GB",
            "/v1/readmissions",
            GB_CASEWORKER,
            "open-1",
            &readmission_request('d'),
        )
        .await;
    assert_eq!(status, 201);
    let case_ref = opened["readmission"]["case_ref"].as_str().unwrap();
    for reader in [DIPLOMAT, OPERATOR] {
        let (status, page) = states.get("GB", "/v1/readmissions", reader).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["readmissions"][0]["case_ref"], case_ref);
        let (status, _) = states
            .get("GB", &format!("/v1/readmissions/{case_ref}"), reader)
            .await;
        assert_eq!(status, 200);

        let (status, problem) = states
            .post(
                "GB",
                "/v1/readmissions",
                reader,
                "by-reader",
                &readmission_request('e'),
            )
            .await;
        assert_eq!(status, 403, "{problem}");
        assert_eq!(problem["reason"], "ROLE_NOT_ALLOWED");
        let (status, _) = states
            .post(
                "GB",
                &format!("/v1/readmissions/{case_ref}/withdrawal"),
                reader,
                "w",
                &json!({"reason": "OTHER"}),
            )
            .await;
        assert_eq!(status, 403);
    }
    let (_, page) = states.get("GB", "/v1/readmissions", GB_CASEWORKER).await;
    assert_eq!(
        page["readmissions"].as_array().unwrap().len(),
        1,
        "nothing reached the node: {page}"
    );
}

#[tokio::test]
async fn a_caseworker_of_another_state_can_do_nothing_on_this_gateway() {
    let states = States::start().await;
    let (status, problem) = states
        .post(
            "GB",
            "/v1/readmissions",
            FR_CASEWORKER,
            "fr-on-gb",
            &readmission_request('f'),
        )
        .await;
    assert_eq!(status, 403, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("caseworker of FR"),
        "{problem}"
    );
    for path in ["/v1/readmissions", "/v1/offers", "/v1/admissions"] {
        let (status, _) = states.get("GB", path, FR_CASEWORKER).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = states.get("FR", "/v1/readmissions", FR_CASEWORKER).await;
    assert_eq!(
        status, 200,
        "the same token works on its own state's gateway"
    );
    let listed = states
        .call(Method::GET, "GB", "/v1/readmissions", GB_CASEWORKER)
        .send()
        .await
        .unwrap();
    assert_eq!(answer(listed).await.1["readmissions"], json!([]));
}
