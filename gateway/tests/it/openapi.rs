//! The OpenAPI document: version 3.1, every local action of the node's API as a route, and
//! every route it lists served by the gateway.

use reqwest::Method;
use serde_json::Value;

use crate::support::{States, answer};

/// Every REST route a ministry's case system uses: one per local RPC of the node's
/// `ReadmissionService` and `AdmissionService`, the document itself, and the pages.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/readmissions"),
    ("get", "/v1/readmissions"),
    ("get", "/v1/readmissions/{case_ref}"),
    ("post", "/v1/readmissions/{case_ref}/examination"),
    ("post", "/v1/readmissions/{case_ref}/decision"),
    ("post", "/v1/readmissions/{case_ref}/information-requests"),
    ("post", "/v1/readmissions/{case_ref}/information"),
    (
        "post",
        "/v1/readmissions/{case_ref}/re-examination-requests",
    ),
    (
        "post",
        "/v1/readmissions/{case_ref}/re-examination-decision",
    ),
    ("post", "/v1/readmissions/{case_ref}/closure"),
    ("post", "/v1/readmissions/{case_ref}/transfer-decision"),
    ("post", "/v1/readmissions/{case_ref}/legal-holds"),
    ("post", "/v1/readmissions/{case_ref}/legal-hold-releases"),
    ("post", "/v1/readmissions/{case_ref}/transfer"),
    ("post", "/v1/readmissions/{case_ref}/transfer-postponements"),
    ("post", "/v1/readmissions/{case_ref}/handover"),
    ("post", "/v1/readmissions/{case_ref}/transfer-failure"),
    ("post", "/v1/readmissions/{case_ref}/arrival"),
    ("post", "/v1/readmissions/{case_ref}/no-show"),
    ("post", "/v1/readmissions/{case_ref}/withdrawal"),
    ("post", "/v1/offers"),
    ("get", "/v1/offers"),
    ("get", "/v1/offers/{offer_ref}"),
    ("post", "/v1/offers/{offer_ref}/amendments"),
    ("post", "/v1/offers/{offer_ref}/pause"),
    ("post", "/v1/offers/{offer_ref}/resumption"),
    ("post", "/v1/offers/{offer_ref}/closure"),
    ("post", "/v1/admissions"),
    ("get", "/v1/admissions"),
    ("get", "/v1/admissions/{case_ref}"),
    ("post", "/v1/admissions/{case_ref}/vetting"),
    ("post", "/v1/admissions/{case_ref}/decision"),
    ("post", "/v1/admissions/{case_ref}/withdrawal"),
    ("post", "/v1/admissions/{case_ref}/travel"),
    ("post", "/v1/admissions/{case_ref}/arrival"),
    ("post", "/v1/admissions/{case_ref}/departure"),
    ("post", "/v1/admissions/{case_ref}/grant-lapse"),
    ("get", "/v1/allocations"),
    ("get", "/openapi.json"),
    ("get", "/login"),
    ("post", "/login"),
    ("get", "/cases"),
];

/// The (method, path) pairs the document lists.
fn operations(document: &Value) -> Vec<(String, String)> {
    let mut operations: Vec<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|key| ["get", "post", "put", "patch", "delete"].contains(&key.as_str()))
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    operations.sort();
    operations
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_lists_every_route() {
    let states = States::start().await;
    let response = states
        .http
        .get(states.url("GB", "/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut expected: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    expected.sort();
    assert_eq!(operations(&document), expected);
    let regime = &document["components"]["schemas"]["OpenReadmission"]["properties"]["regime"];
    assert_eq!(
        regime["enum"],
        serde_json::json!(["UKFR_2025", "DUBLIN_III", "AMMR_2026", "EU_1FOR1"]),
        "coded fields list the proto's codes: {regime}"
    );
    let problem = &document["components"]["schemas"]["Problem"];
    assert!(problem["properties"]["violations"].is_object(), "{problem}");
}

#[tokio::test]
async fn every_route_the_document_lists_is_served() {
    let states = States::start().await;
    let document: Value = states
        .http
        .get(states.url("GB", "/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (method, path) in operations(&document) {
        if !path.starts_with("/v1/") {
            continue; // the document itself and the pages, which pages.rs covers
        }
        let concrete = path
            .replace("{case_ref}", "RDM-GB-FR-00001M8DSQ45PX4HB9CY176Z7X")
            .replace("{offer_ref}", "OFR-GB-FR-00001M8DSQ45PX4HB9CY176Z7X");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = states
            .http
            .request(method.clone(), states.url("GB", &concrete))
            .send()
            .await
            .unwrap();
        let (status, _) = answer(response).await;
        assert_eq!(status, 401, "{method} {path}: served, and asks who calls");
    }
}
