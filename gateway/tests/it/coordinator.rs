//! The coordinator's gateway over a real coordinator with a FINAL round: diplomats and
//! operators read rounds, the signed report's figures and its JSON and CSV downloads as the
//! coordinator renders them, balances, breaks and quotas; only operators write; caseworkers
//! are refused; every refusal is problem+json; the OpenAPI document lists every route.

use accord_proto::v1 as pb;
use serde_json::{Value, json};

use crate::federation::Federation;
use crate::support::{DIPLOMAT, GB_CASEWORKER, OPERATOR, answer, violated_fields};

impl Federation {
    /// GETs `path` as `token`: the status and the JSON body.
    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let request = self.http.get(self.url(path)).bearer_auth(token);
        answer(request.send().await.unwrap()).await
    }
}

/// The signed report of `round`.
fn signed(round: &pb::Round) -> &pb::SettlementReport {
    round.report.as_ref().unwrap().report.as_ref().unwrap()
}

#[tokio::test]
async fn a_diplomat_reads_the_final_round_and_its_report_as_the_coordinator_signed_it() {
    let federation = Federation::start().await;
    let round = federation.final_round().await;
    let report = signed(&round);

    let (status, page) = federation.get("/v1/rounds?statuses=FINAL", DIPLOMAT).await;
    assert_eq!(status, 200, "{page}");
    let rounds = page["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 1);
    assert_eq!(rounds[0]["round_id"], round.round_id.as_str());
    assert_eq!(rounds[0]["status"], "FINAL");
    let (_, proposed) = federation
        .get("/v1/rounds?statuses=PROPOSED", DIPLOMAT)
        .await;
    assert_eq!(
        proposed["rounds"],
        json!([]),
        "the status filter reaches the coordinator"
    );

    let (status, one) = federation
        .get(&format!("/v1/rounds/{}", round.round_id), DIPLOMAT)
        .await;
    assert_eq!(status, 200, "{one}");
    let summary = &one["report"];
    assert_eq!(summary["settled"], report.settled);
    assert_eq!(summary["required_gross"], report.required_gross);
    assert_eq!(
        summary["report_digest"],
        hex::encode(&round.report.as_ref().unwrap().report_digest)
    );
    let signers: Vec<&str> = summary["countersignatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|signature| signature["state"].as_str().unwrap())
        .collect();
    assert_eq!(signers, ["DE", "FR", "GB"]);

    // report.json is the coordinator's rendering, byte for byte, with its content type.
    let response = federation
        .http
        .get(federation.url(&format!("/v1/rounds/{}/report.json", round.round_id)))
        .bearer_auth(DIPLOMAT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["round_id"], round.round_id.as_str());
    assert_eq!(document["settled"], report.settled);
    assert_eq!(
        document["instructions"].as_array().unwrap().len(),
        report.instructions.len()
    );
    for (rendered, figures) in document["state_figures"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&report.state_figures)
    {
        assert_eq!(rendered["state"], figures.state.as_str());
        assert_eq!(rendered["returned"], figures.returned);
        assert_eq!(rendered["received"], figures.received);
        assert_eq!(rendered["debts"], figures.debts);
        assert_eq!(rendered["position"], figures.position);
    }

    let response = federation
        .http
        .get(federation.url(&format!("/v1/rounds/{}/report.csv", round.round_id)))
        .bearer_auth(DIPLOMAT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("{}.csv", round.round_id))
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with("# instructions"), "{text}");
    for figures in &report.state_figures {
        let line = format!(
            "{},{},{},{},{},{},{},{},{}",
            figures.state,
            figures.returned,
            figures.received,
            figures.admitted,
            figures.released,
            figures.carried_in,
            figures.debts,
            figures.credits,
            figures.position
        );
        assert!(
            text.lines().any(|row| row.trim_end() == line),
            "{line} in {text}"
        );
    }

    let (status, missing) = federation.get("/v1/rounds/RND-1999-W01-1", DIPLOMAT).await;
    assert_eq!(status, 404, "{missing}");
}

#[tokio::test]
async fn balances_breaks_and_quotas_are_read_by_diplomats_and_set_by_operators_only() {
    let federation = Federation::start().await;
    let (status, balances) = federation.get("/v1/balances", DIPLOMAT).await;
    assert_eq!(status, 200, "{balances}");
    let gb_fr = balances["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair["first_state"] == "GB" && pair["second_state"] == "FR")
        .unwrap();
    assert_eq!(gb_fr["returns"], 3);
    let (status, breaks) = federation
        .get(
            "/v1/breaks?kind=ONE_SIDED,MISMATCH&age=DAYS_0_TO_3&status=OPEN",
            OPERATOR,
        )
        .await;
    assert_eq!((status, &breaks["breaks"]), (200, &json!([])), "{breaks}");
    let (status, refused) = federation.get("/v1/breaks?kind=SIDEWAYS", OPERATOR).await;
    assert_eq!(status, 400);
    assert_eq!(violated_fields(&refused), ["kind"]);

    let capacity = json!({
        "state": "FR",
        "period": {"start_time": "2026-01-05T00:00:00Z", "end_time": "2026-01-12T00:00:00Z"},
        "capacity": 40
    });
    let put = |token: &'static str, key: Option<&'static str>| {
        let mut request = federation
            .http
            .put(federation.url("/v1/quotas/capacity"))
            .bearer_auth(token)
            .json(&capacity);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        async move { answer(request.send().await.unwrap()).await }
    };
    let (status, refused) = put(DIPLOMAT, Some("capacity-1")).await;
    assert_eq!(
        (status, refused["reason"].as_str()),
        (403, Some("ROLE_NOT_ALLOWED"))
    );
    let (status, refused) = put(OPERATOR, None).await;
    assert_eq!(status, 400);
    assert_eq!(violated_fields(&refused), ["Idempotency-Key"]);
    let (status, stored) = put(OPERATOR, Some("capacity-1")).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(
        (stored["state"].as_str(), stored["capacity"].as_u64()),
        (Some("FR"), Some(40))
    );
    let (status, again) = put(OPERATOR, Some("capacity-1")).await;
    assert_eq!(
        (status, &again),
        (200, &stored),
        "a replay answers the first result"
    );

    let (status, quotas) = federation.get("/v1/quotas", DIPLOMAT).await;
    assert_eq!(status, 200);
    assert_eq!(quotas["capacities"][0], stored);
}

#[tokio::test]
async fn callers_without_a_token_or_with_a_caseworkers_are_refused_as_problems() {
    let federation = Federation::start().await;
    let bare = federation
        .http
        .get(federation.url("/v1/rounds"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        bare.headers()["www-authenticate"],
        "Bearer realm=\"accord\""
    );
    let (status, problem) = answer(bare).await;
    assert_eq!(
        (status, problem["reason"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    for path in ["/v1/rounds", "/v1/balances", "/v1/breaks", "/v1/quotas"] {
        let (status, problem) = federation.get(path, GB_CASEWORKER).await;
        assert_eq!(status, 403, "{path}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("coordinator"),
            "{problem}"
        );
    }
    // The node's routes are not the coordinator gateway's.
    let (status, _) = federation.get("/v1/readmissions", OPERATOR).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_break_waived_without_a_reason_is_a_problem_that_names_the_field() {
    let federation = Federation::start().await;
    let resolve = |token: &'static str, reason: &'static str| {
        let request = federation
            .http
            .post(federation.url("/v1/breaks/BRK-1/resolution"))
            .bearer_auth(token)
            .header("Idempotency-Key", "waive-1")
            .json(&json!({ "reason": reason }));
        async move { answer(request.send().await.unwrap()).await }
    };
    let (status, problem) = resolve(OPERATOR, "").await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        violated_fields(&problem).contains(&"reason".to_owned()),
        "{problem}"
    );
    let (status, problem) = resolve(DIPLOMAT, "settled by phone").await;
    assert_eq!(
        (status, problem["reason"].as_str()),
        (403, Some("ROLE_NOT_ALLOWED"))
    );
}

#[tokio::test]
async fn the_coordinators_openapi_document_lists_every_route_it_serves() {
    let federation = Federation::start().await;
    let document: Value = federation
        .http
        .get(federation.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/rounds", "get"),
        ("/v1/rounds/{round_id}", "get"),
        ("/v1/rounds/{round_id}/report.json", "get"),
        ("/v1/rounds/{round_id}/report.csv", "get"),
        ("/v1/balances", "get"),
        ("/v1/breaks", "get"),
        ("/v1/quotas", "get"),
        ("/v1/quotas/capacity", "put"),
        ("/v1/breaks/{break_id}/resolution", "post"),
        ("/rounds", "get"),
        ("/rounds/{round_id}", "get"),
        ("/rounds/{round_id}/report.json", "get"),
        ("/rounds/{round_id}/report.csv", "get"),
        ("/breaks", "get"),
        ("/breaks/{break_id}/resolution", "post"),
        ("/quotas", "get"),
        ("/quotas", "post"),
        ("/balances", "get"),
        ("/members", "get"),
        ("/login", "post"),
    ] {
        assert!(paths[path].get(method).is_some(), "{method} {path}");
    }
    assert!(
        !paths.contains_key("/v1/readmissions"),
        "only the routes this gateway serves"
    );
}
