//! The coordinator's gateway's pages in a real browser (headless Chromium driven over
//! WebDriver, `accord_edge::browser`) on the rounds `accord demo --serve` settled, as a
//! diplomat and an operator use them: a diplomat signs in through the form and reads a demo
//! round whose figures on the page are the report's JSON as the same session downloads it,
//! with one arrow of the flow diagram per instruction, switches to French and keeps a
//! screenshot; an operator sets a capacity through the quotas form, which the coordinator
//! then lists. The whole federation runs as real processes.

use std::collections::BTreeMap;
use std::path::Path;

use accord_edge::browser::Browser;
use fantoccini::Locator;
use serde_json::Value;

use crate::demo::{Serving, prepared};
use crate::get_json;

/// A demo federation serving, its description, the browser, and the folder they live in;
/// `None` when the browser test is skipped (no Chromium, said loudly).
async fn demo_and_browser() -> Option<(tempfile::TempDir, Serving, Value, Browser)> {
    let browser = Browser::start().await?;
    let (folder, scenario, dir) = prepared();
    let mut serving = Serving::spawn(&dir, &scenario);
    let federation = tokio::task::block_in_place(|| serving.federation(&dir));
    Some((folder, serving, federation, browser))
}

/// The demo's final round whose report has instructions (the pilot's week), from the
/// reports the demo wrote.
fn round_with_instructions(dir: &Path) -> String {
    let reports = std::fs::read_dir(dir.join("reports")).unwrap();
    reports
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .find_map(|path| {
            let report: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let instructed = !report["instructions"].as_array()?.is_empty();
            instructed.then(|| report["round_id"].as_str().unwrap().to_owned())
        })
        .expect("a demo round with instructions")
}

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

#[tokio::test(flavor = "multi_thread")]
async fn a_diplomat_reads_a_demo_round_in_chromium_as_its_report_says_then_in_french() {
    let Some((folder, serving, federation, browser)) = demo_and_browser().await else {
        return;
    };
    let gateway = federation["coordinator"]["gateway"].as_str().unwrap();
    browser
        .sign_in(gateway, federation["tokens"]["diplomat"].as_str().unwrap())
        .await;
    let round_id = round_with_instructions(&folder.path().join("federation"));
    let path = format!("/rounds/{round_id}");
    browser
        .open(&format!("{gateway}{path}?lang=en"), "#figures")
        .await;
    let report = browser.fetch_json(&format!("{path}/report.json")).await;
    assert_eq!(report["round_id"], round_id.as_str());
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
    browser.screenshot(folder.path(), "demo-round-fr").await;
    browser.close().await;
    tokio::task::block_in_place(|| serving.stop());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_sets_a_capacity_through_the_quotas_form_in_chromium() {
    let Some((_folder, serving, federation, browser)) = demo_and_browser().await else {
        return;
    };
    let gateway = federation["coordinator"]["gateway"].as_str().unwrap();
    let operator = federation["tokens"]["operator"].as_str().unwrap();
    browser.sign_in(gateway, operator).await;
    browser
        .open(&format!("{gateway}/quotas?lang=en"), "form#set-capacity")
        .await;
    let csrf = browser.find("#set-capacity input[name=csrf]").await;
    assert!(!csrf.attr("value").await.unwrap().unwrap().is_empty());

    let form = browser
        .client()
        .form(Locator::Css("#set-capacity"))
        .await
        .unwrap();
    for (field, value) in [("state", "DE"), ("capacity", "25")] {
        browser
            .find(&format!("#set-capacity input[name={field}]"))
            .await
            .send_keys(value)
            .await
            .unwrap();
    }
    // Typing into a date field follows the browser's locale; its value is ISO 8601 in any.
    form.set_by_name("start", "2026-02-02").await.unwrap();
    form.set_by_name("end", "2026-02-09").await.unwrap();
    form.submit().await.unwrap();

    let row = "#capacities tr[data-state='DE']";
    browser.wait_for(row).await;
    let shown = browser
        .text(&format!("{row} td[data-figure=capacity]"))
        .await;
    assert_eq!(shown, "25");
    assert!(browser.find_all(".error").await.is_empty());

    let quotas = get_json(&format!("{gateway}/v1/quotas"), operator).await;
    let capacities = quotas["capacities"].as_array().unwrap();
    assert_eq!(capacities.len(), 1, "{quotas}");
    assert_eq!(capacities[0]["state"], "DE");
    assert_eq!(capacities[0]["capacity"], 25);
    assert_eq!(
        capacities[0]["period"]["start_time"],
        "2026-02-02T00:00:00Z"
    );
    browser.close().await;
    tokio::task::block_in_place(|| serving.stop());
}
