//! The coordinator's gateway's pages as a browser meets them: a diplomat signs in and reads
//! the rounds and a FINAL round's report — every figure of the signed report on the page,
//! one arrow of the flow diagram per instruction, in English and French; an operator sets a
//! capacity through the quotas form (which carries the session's anti-forgery value) and
//! sees it listed; a diplomat gets no form and a forged post is refused; a caseworker is
//! turned away.

use accord_proto::v1 as pb;
use reqwest::redirect::Policy;

use crate::federation::Federation;
use crate::support::{DIPLOMAT, GB_CASEWORKER, OPERATOR};

const FORM: &str = "application/x-www-form-urlencoded";

pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The value of the hidden field `name` in `html`.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        .to_owned()
}

/// The `name=value` of a response's `Set-Cookie`.
pub(crate) fn cookie_of(response: &reqwest::Response) -> String {
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Signs in with `token` through the sign-in form: the session cookie.
pub(crate) async fn sign_in(federation: &Federation, token: &str) -> String {
    let form = browser()
        .get(federation.url("/login"))
        .send()
        .await
        .unwrap();
    let csrf_cookie = cookie_of(&form);
    let csrf = hidden(&form.text().await.unwrap(), "csrf");
    let response = browser()
        .post(federation.url("/login"))
        .header("content-type", FORM)
        .header("cookie", csrf_cookie)
        .body(format!("token={token}&lang=en&csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/rounds?lang=en");
    cookie_of(&response)
}

/// GETs a page with the session `cookie`: its status and HTML.
pub(crate) async fn page(federation: &Federation, path: &str, cookie: &str) -> (u16, String) {
    let response = browser()
        .get(federation.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The HTML of the table row `<tr data-state="STATE">`.
pub(crate) fn state_row<'a>(html: &'a str, table: &str, state: &str) -> &'a str {
    let table = html
        .split(&format!("<table id=\"{table}\">"))
        .nth(1)
        .unwrap();
    let row = table
        .split(&format!("<tr data-state=\"{state}\">"))
        .nth(1)
        .unwrap_or_else(|| panic!("no row of {state}"));
    row.split("</tr>").next().unwrap()
}

#[tokio::test]
async fn a_diplomat_reads_a_final_rounds_report_with_every_figure_and_one_arrow_per_instruction() {
    let federation = Federation::start().await;
    let round = federation.final_round().await;
    let signed = round.report.as_ref().unwrap();
    let report = signed.report.as_ref().unwrap();
    let cookie = sign_in(&federation, DIPLOMAT).await;

    let (status, list) = page(&federation, "/rounds", &cookie).await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains(&format!("href=\"/rounds/{}?lang=en\"", round.round_id)));
    assert!(list.contains("FINAL") && list.contains("3 / 3"), "{list}");

    let path = format!("/rounds/{}", round.round_id);
    let (status, html) = page(&federation, &path, &cookie).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"en\">") && html.contains("Figures per state"));
    assert!(!html.contains("<script"), "no script on the page");
    assert!(html.contains(&format!("<dd id=\"settled\">{}</dd>", report.settled)));
    assert!(html.contains(&format!("<dd id=\"required\">{}</dd>", report.required)));
    assert!(html.contains(&format!(
        "<dd id=\"required-gross\">{}</dd>",
        report.required_gross
    )));
    for figures in &report.state_figures {
        let row = state_row(&html, "figures", &figures.state);
        for (name, value) in [
            ("returned", i64::from(figures.returned)),
            ("received", i64::from(figures.received)),
            ("admitted", i64::from(figures.admitted)),
            ("released", i64::from(figures.released)),
            ("debts", i64::from(figures.debts)),
            ("credits", i64::from(figures.credits)),
            ("position", figures.position),
            ("carried_in", i64::from(figures.carried_in)),
        ] {
            assert!(
                row.contains(&format!("data-figure=\"{name}\">{value}<")),
                "{} {name} = {value} in {row}",
                figures.state
            );
        }
    }
    // The diagram: exactly one arrow per instruction, each naming its instruction.
    let svg = html
        .split("<svg id=\"flows\"")
        .nth(1)
        .unwrap()
        .split("</svg>")
        .next()
        .unwrap();
    assert!(!report.instructions.is_empty());
    assert_eq!(
        svg.matches("<path data-instruction=").count(),
        report.instructions.len(),
        "{svg}"
    );
    for instruction in &report.instructions {
        let name = format!(
            "data-instruction=\"{}-{}\"",
            instruction.origin_state, instruction.admitting_state
        );
        assert_eq!(svg.matches(&name).count(), 1, "{name}");
    }
    // Each signature: the coordinator's key and every state's countersignature.
    let coordinator_key = &signed.signature.as_ref().unwrap().signing_key_id;
    assert!(html.contains(&format!("<code>{coordinator_key}</code>")));
    for countersignature in &signed.countersignatures {
        assert!(html.contains(&format!(
            "<tr data-signer=\"{}\"><td>{}</td><td><code>{}</code></td>",
            countersignature.state, countersignature.state, countersignature.signing_key_id
        )));
    }
    // The download links work for the signed-in browser, and say what the REST API says.
    for (file, content_type) in [
        ("report.json", "application/json"),
        ("report.csv", "text/csv; charset=utf-8"),
    ] {
        let link = format!("/rounds/{}/{file}", round.round_id);
        assert!(
            html.contains(&format!("<a href=\"{link}\" download>")),
            "{file}"
        );
        let download = browser()
            .get(federation.url(&link))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(download.status(), 200);
        assert_eq!(download.headers()["content-type"], content_type);
        let bytes = download.bytes().await.unwrap();
        let rest = federation
            .http
            .get(federation.url(&format!("/v1{link}")))
            .bearer_auth(DIPLOMAT)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(bytes, rest);
    }
    let stranger = browser()
        .get(federation.url(&format!("/rounds/{}/report.csv", round.round_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 303);

    let (status, french) = page(&federation, &format!("{path}?lang=fr"), &cookie).await;
    assert_eq!(status, 200);
    assert!(french.contains("<html lang=\"fr\">"));
    assert!(french.contains("Chiffres par État") && french.contains("Flux entre États"));
    assert!(!french.contains("Figures per state"));
}

#[tokio::test]
async fn an_operator_sets_a_capacity_through_the_form_and_a_diplomat_cannot() {
    let federation = Federation::start().await;
    let operator = sign_in(&federation, OPERATOR).await;
    let (status, html) = page(&federation, "/quotas", &operator).await;
    assert_eq!(status, 200, "{html}");
    let csrf = hidden(&html, "csrf");
    let key = hidden(&html, "idempotency_key");
    let post = |cookie: &str, csrf: &str| {
        browser()
            .post(federation.url("/quotas"))
            .header("content-type", FORM)
            .header("cookie", cookie.to_owned())
            .body(format!(
                "lang=en&csrf={csrf}&idempotency_key={key}&state=DE&start=2026-02-02&end=2026-02-09&capacity=25"
            ))
            .send()
    };
    // Without the session's anti-forgery value, nothing is set.
    let forged = post(&operator, "0000").await.unwrap();
    assert_eq!(forged.status(), 403);
    let response = post(&operator, &csrf).await.unwrap();
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    assert_eq!(response.headers()["location"], "/quotas?lang=en");
    let (_, listed) = page(&federation, "/quotas", &operator).await;
    let row = state_row(&listed, "capacities", "DE");
    assert!(row.contains("2026-02-02T00:00:00Z") && row.contains("data-figure=\"capacity\">25<"));
    let capacities = federation
        .operator
        .clone()
        .list_quotas(pb::ListQuotasRequest::default())
        .await
        .unwrap()
        .into_inner()
        .capacities;
    assert_eq!(capacities.len(), 1);
    assert_eq!(
        (capacities[0].state.as_str(), capacities[0].capacity),
        ("DE", 25)
    );

    // A diplomat sees the quotas without a form, and a post from its session is refused.
    let diplomat = sign_in(&federation, DIPLOMAT).await;
    let (status, html) = page(&federation, "/quotas", &diplomat).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-figure=\"capacity\">25<"));
    assert!(!html.contains("id=\"set-capacity\""));
    let (_, breaks) = page(&federation, "/breaks", &diplomat).await;
    assert!(!breaks.contains("name=\"reason\""));
    let operator_csrf = hidden(&page(&federation, "/quotas", &operator).await.1, "csrf");
    let refused = post(&diplomat, &operator_csrf).await.unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn strangers_go_to_sign_in_and_caseworkers_are_turned_away() {
    let federation = Federation::start().await;
    for path in [
        "/rounds",
        "/breaks",
        "/quotas",
        "/rounds/RND-1",
        "/balances",
        "/members",
    ] {
        let response = browser().get(federation.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/login?lang=en");
    }
    let caseworker = sign_in(&federation, GB_CASEWORKER).await;
    for path in ["/rounds", "/balances", "/members"] {
        let (status, html) = page(&federation, path, &caseworker).await;
        assert_eq!(status, 403, "{path}");
        assert!(html.contains("operators and for diplomats"), "{html}");
    }
    let (status, _) = page(&federation, "/cases", &caseworker).await;
    assert_eq!(status, 404, "no case list on the coordinator's gateway");
}

#[tokio::test]
async fn an_operator_waives_a_break_with_a_reason_through_the_breaks_form() {
    let federation = Federation::start().await;
    federation.conflicting_reports().await;
    let operator = sign_in(&federation, OPERATOR).await;
    let (status, html) = page(&federation, "/breaks", &operator).await;
    assert_eq!(status, 200, "{html}");
    let break_id = html
        .split("<tr data-break=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let summary = html.split("<table id=\"summary\">").nth(1).unwrap();
    assert!(
        summary.contains("</td><td>DAYS_0_TO_3</td><td class=\"number\">1</td>"),
        "{summary}"
    );
    let csrf = hidden(&html, "csrf");
    let key = hidden(&html, "idempotency_key");
    let post = |reason: &str| {
        browser()
            .post(federation.url(&format!(
                "/breaks/{}/resolution",
                break_id.replace('/', "%2F")
            )))
            .header("content-type", FORM)
            .header("cookie", operator.clone())
            .body(format!(
                "lang=en&csrf={csrf}&idempotency_key={key}&reason={reason}"
            ))
            .send()
    };
    // Without a reason the coordinator refuses, and the page says which field.
    let refused = post("").await.unwrap();
    assert_eq!(refused.status(), 400);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("class=\"error\"") && text.contains("reason: "),
        "{text}"
    );
    let waived = post("settled+between+the+ministries").await.unwrap();
    assert_eq!(waived.status(), 303, "{}", waived.text().await.unwrap());

    let (status, resolved) = federation.get("/v1/breaks?status=RESOLVED", DIPLOMAT).await;
    assert_eq!(status, 200);
    let resolved = &resolved["breaks"][0];
    assert_eq!(resolved["break_id"], break_id.as_str());
    assert_eq!(resolved["resolution"], "WAIVED");
    assert_eq!(
        resolved["resolution_reason"],
        "settled between the ministries"
    );
    assert_eq!(
        resolved["resolved_by"], "alice",
        "the gateway's operator identity"
    );
    let (_, open) = page(&federation, "/breaks", &operator).await;
    assert!(!open.contains(&break_id));
}
