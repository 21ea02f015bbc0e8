//! The coordinator's gateway's pages in a real browser (headless Chromium, see `chromium`):
//! a diplomat signs in through the form, reads a FINAL round whose figures on the page are
//! the report's JSON as the same session downloads it, with one arrow of the flow diagram per
//! instruction, switches to French and keeps a screenshot; an operator sets a capacity
//! through the quotas form, which the coordinator then lists. What `coordinator_pages` checks
//! in the HTML, these check as a browser renders it and as a person uses it.

use std::collections::BTreeMap;

use fantoccini::Locator;
use serde_json::Value;

use crate::chromium::Browser;
use crate::federation::Federation;
use crate::support::{DIPLOMAT, OPERATOR};

/// The figures of the table `#figures` per state, as the page shows them.
async fn figures_on_page(browser: &Browser) -> BTreeMap<(String, String), i64> {
    let mut figures = BTreeMap::new();
    for row in browser.find_all("#figures tr[data-state]").await {
        let state = row.attr("data-state").await.unwrap().unwrap();
        for cell in row.find_all(Locator::Css("td[data-figure]")).await.unwrap() {
            let name = cell.attr("data-figure").await.unwrap().unwrap();
            let value = cell.text().await.unwrap().parse().unwrap();
            figures.insert((state.clone(), name), value);
        }
    }
    figures
}

/// The figures per state of the report's JSON.
fn figures_in_report(report: &Value) -> BTreeMap<(String, String), i64> {
    let names = [
        "returned",
        "received",
        "admitted",
        "released",
        "debts",
        "credits",
        "position",
        "carried_in",
    ];
    let mut figures = BTreeMap::new();
    for state_figures in report["state_figures"].as_array().unwrap() {
        let state = state_figures["state"].as_str().unwrap();
        for name in names {
            let value = state_figures[name].as_i64().unwrap();
            figures.insert((state.to_owned(), name.to_owned()), value);
        }
    }
    figures
}

/// The instructions of the report's JSON, named as the diagram names its arrows.
fn instructions_in_report(report: &Value) -> Vec<String> {
    let mut names: Vec<String> = report["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|instruction| {
            format!(
                "{}-{}",
                instruction["origin"].as_str().unwrap(),
                instruction["admitting"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_diplomat_reads_a_final_round_in_chromium_as_its_report_says_then_in_french() {
    let (federation, browser) = tokio::join!(Federation::start(), Browser::start());
    let Some(browser) = browser else { return };
    let round = federation.final_round().await;
    browser.sign_in(&federation, DIPLOMAT).await;

    let path = format!("/rounds/{}", round.round_id);
    browser
        .open(&federation.url(&format!("{path}?lang=en")), "#figures")
        .await;
    let report = browser.fetch_json(&format!("{path}/report.json")).await;
    assert_eq!(report["round_id"], round.round_id.as_str());
    assert_eq!(browser.text("#status").await, "FINAL");
    for (id, field) in [
        ("#settled", "settled"),
        ("#redirected", "redirected"),
        ("#required", "required"),
        ("#required-gross", "required_gross"),
    ] {
        assert_eq!(browser.text(id).await, report[field].to_string(), "{field}");
    }
    assert_eq!(figures_on_page(&browser).await, figures_in_report(&report));

    // The diagram: one arrow per instruction, each naming its instruction.
    let expected = instructions_in_report(&report);
    assert!(!expected.is_empty(), "a round with instructions");
    let mut arrows = Vec::new();
    for arrow in browser.find_all("svg#flows [data-instruction]").await {
        arrows.push(arrow.attr("data-instruction").await.unwrap().unwrap());
    }
    arrows.sort();
    assert_eq!(arrows, expected);

    // In French, through the page's own link.
    browser
        .find("nav a[href='?lang=fr']")
        .await
        .click()
        .await
        .unwrap();
    browser.wait_for("html[lang='fr']").await;
    let headings = browser.texts("h2").await;
    assert!(
        headings
            .iter()
            .any(|heading| heading == "Chiffres par État")
            && headings.iter().any(|heading| heading == "Flux entre États"),
        "{headings:?}"
    );
    assert_eq!(
        browser.text("#settled").await,
        report["settled"].to_string()
    );
    let folder = tempfile::tempdir().unwrap();
    browser.screenshot(folder.path(), "round-final-fr").await;
    browser.close().await;
}

#[tokio::test]
async fn an_operator_sets_a_capacity_through_the_quotas_form_in_chromium() {
    let (federation, browser) = tokio::join!(Federation::start(), Browser::start());
    let Some(browser) = browser else { return };
    browser.sign_in(&federation, OPERATOR).await;
    browser
        .open(&federation.url("/quotas?lang=en"), "form#set-capacity")
        .await;
    let csrf = browser.find("#set-capacity input[name=csrf]").await;
    assert!(!csrf.attr("value").await.unwrap().unwrap().is_empty());

    let form = browser
        .client()
        .form(Locator::Css("#set-capacity"))
        .await
        .unwrap();
    browser
        .find("#set-capacity input[name=state]")
        .await
        .send_keys("DE")
        .await
        .unwrap();
    browser
        .find("#set-capacity input[name=capacity]")
        .await
        .send_keys("25")
        .await
        .unwrap();
    // Typing into a date field follows the browser's locale; its value is ISO 8601 in any.
    form.set_by_name("start", "2026-02-02").await.unwrap();
    form.set_by_name("end", "2026-02-09").await.unwrap();
    form.submit().await.unwrap();

    let row = "#capacities tr[data-state='DE']";
    browser.wait_for(row).await;
    assert_eq!(
        browser
            .text(&format!("{row} td[data-figure=capacity]"))
            .await,
        "25"
    );
    assert_eq!(
        browser.text(&format!("{row} td:nth-child(2)")).await,
        "2026-02-02T00:00:00Z"
    );
    assert!(browser.find_all(".error").await.is_empty());

    let quotas: Value = federation
        .http
        .get(federation.url("/v1/quotas"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let capacities = quotas["capacities"].as_array().unwrap();
    assert_eq!(capacities.len(), 1, "{quotas}");
    assert_eq!(capacities[0]["state"], "DE");
    assert_eq!(capacities[0]["capacity"], 25);
    assert_eq!(
        capacities[0]["period"]["start_time"],
        "2026-02-02T00:00:00Z"
    );
    browser.close().await;
}
