//! A FINAL round's report, on its page and as the standalone document `accord demo` writes:
//! each signature shown as verified with the keys of the coordinator's signed directory,
//! and as NOT verified against a real directory that lacks a state's key or without any;
//! the difference from the previous final round; redirected instructions marked in the flow
//! diagram, still one arrow per instruction; English and French.

use accord_gateway::pages::rounds::report_document;
use accord_gateway::pages::text::Lang;
use accord_proto::v1 as pb;

use crate::coordinator_pages::{page, sign_in};
use crate::federation::Federation;
use crate::support::DIPLOMAT;

/// The HTML of the row `<tr data-signer="SIGNER">`.
fn signer_row<'a>(html: &'a str, signer: &str) -> &'a str {
    html.split(&format!("<tr data-signer=\"{signer}\">"))
        .nth(1)
        .unwrap_or_else(|| panic!("no signature of {signer} in {html}"))
        .split("</tr>")
        .next()
        .unwrap()
}

/// Every signer of `round`'s report: the coordinator and each countersigning state.
fn signers(round: &pb::Round) -> Vec<String> {
    let signed = round.report.as_ref().unwrap();
    let mut signers = vec!["coordinator".to_owned()];
    signers.extend(
        signed
            .countersignatures
            .iter()
            .map(|signature| signature.state.clone()),
    );
    signers
}

#[tokio::test]
async fn the_round_page_shows_every_signature_verified_with_the_directorys_keys() {
    let federation = Federation::start().await;
    let round = federation.final_round().await;
    let cookie = sign_in(&federation, DIPLOMAT).await;
    let (status, html) = page(&federation, &format!("/rounds/{}", round.round_id), &cookie).await;
    assert_eq!(status, 200, "{html}");
    let signers = signers(&round);
    assert_eq!(signers.len(), 4, "the coordinator, DE, FR and GB");
    for signer in &signers {
        let row = signer_row(&html, signer);
        assert!(
            row.contains("data-verified=\"true\">✔ verified<"),
            "{signer}: {row}"
        );
    }
    assert!(!html.contains("NOT verified"));
    assert!(
        html.contains("<p id=\"no-previous\">No earlier final round to compare with.</p>"),
        "the only final round has no previous one"
    );
    for link in ["/balances?lang=en", "/members?lang=en"] {
        assert!(html.contains(&format!("<a href=\"{link}\">")), "{link}");
    }
    let (_, french) = page(
        &federation,
        &format!("/rounds/{}?lang=fr", round.round_id),
        &cookie,
    )
    .await;
    assert!(french.contains("data-verified=\"true\">✔ vérifiée<"));
    assert!(french.contains("Aucun cycle final antérieur à comparer."));
}

#[tokio::test]
async fn the_standalone_report_is_the_pages_content_without_links_that_need_a_session() {
    let federation = Federation::start().await;
    let round = federation.final_round().await;
    let directory = federation.directory().await;
    let report = round.report.as_ref().unwrap().report.as_ref().unwrap();

    let html = report_document(&round, None, Some(&directory), Lang::English);
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<html lang=\"en\">"));
    assert!(html.contains("<style>") && !html.contains("<script") && !html.contains("<link"));
    assert!(
        !html.contains("href=\"/"),
        "no link into the gateway: {html}"
    );
    assert!(!html.contains("report.json") && !html.contains("?lang="));
    assert!(html.contains(&format!("<dd id=\"settled\">{}</dd>", report.settled)));
    for figures in &report.state_figures {
        assert!(html.contains(&format!("<tr data-state=\"{}\">", figures.state)));
    }
    let residuals = html
        .split("<table id=\"residuals\">")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    assert!(!report.residuals.is_empty());
    for residual in &report.residuals {
        let row = format!(
            "<tr data-state=\"{}\"><td>{}</td><td class=\"number\" data-figure=\"to_admit\">{}</td><td class=\"number\" data-figure=\"to_release\">{}</td></tr>",
            residual.state, residual.state, residual.to_admit, residual.to_release
        );
        assert!(residuals.contains(&row), "{row} in {residuals}");
    }
    let svg = html
        .split("<svg id=\"flows\"")
        .nth(1)
        .unwrap()
        .split("</svg>")
        .next()
        .unwrap();
    assert_eq!(
        svg.matches("<path data-instruction=").count(),
        report.instructions.len()
    );
    for signer in signers(&round) {
        assert!(
            signer_row(&html, &signer).contains("data-verified=\"true\""),
            "{signer}"
        );
    }

    // A real directory from before DE joined lists no key of DE's: DE's countersignature
    // does not verify; the others still do.
    let html = report_document(
        &round,
        None,
        Some(&federation.directory_before_de),
        Lang::English,
    );
    let de = signer_row(&html, "DE");
    assert!(
        de.contains("data-verified=\"false\">✘ NOT verified"),
        "{de}"
    );
    assert!(
        de.contains("is not DE&#x27;s in the directory")
            || de.contains("is not DE&#39;s in the directory"),
        "{de}"
    );
    for signer in ["coordinator", "FR", "GB"] {
        assert!(
            signer_row(&html, signer).contains("data-verified=\"true\""),
            "{signer}"
        );
    }
    // Without a directory, nothing verifies.
    let html = report_document(&round, None, None, Lang::French);
    assert!(html.contains("<html lang=\"fr\">") && html.contains("Chiffres par État"));
    for signer in signers(&round) {
        let row = signer_row(&html, &signer);
        assert!(
            row.contains("data-verified=\"false\">✘ NON vérifiée"),
            "{signer}: {row}"
        );
    }
}

#[tokio::test]
async fn the_standalone_report_shows_the_difference_from_the_previous_round_and_marks_redirects() {
    let federation = Federation::start().await;
    let round = federation.final_round().await;
    let directory = federation.directory().await;
    let report = round.report.as_ref().unwrap().report.as_ref().unwrap();
    // A previous final round, a period earlier, that settled two more and in which GB's
    // position was 5 higher (made here: the fixture settles one period).
    let mut previous = round.clone();
    previous.round_id = "RND-2025-W46-1".to_owned();
    let period = previous.period.as_mut().unwrap();
    let length = period.end_time.unwrap().seconds - period.start_time.unwrap().seconds;
    period.end_time = period.start_time;
    period.start_time.as_mut().unwrap().seconds -= length;
    let earlier = previous.report.as_mut().unwrap().report.as_mut().unwrap();
    earlier.settled += 2;
    for figures in &mut earlier.state_figures {
        if figures.state == "GB" {
            figures.position += 5;
        }
    }
    let html = report_document(&round, Some(&previous), Some(&directory), Lang::English);
    assert!(
        html.contains("<code id=\"previous-round\">RND-2025-W46-1</code>"),
        "{html}"
    );
    let settled = format!(
        "<tr data-change=\"settled\"><td>Settled</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">-2</td></tr>",
        report.settled + 2,
        report.settled
    );
    assert!(html.contains(&settled), "{settled} in {html}");
    let gb = report
        .state_figures
        .iter()
        .find(|figures| figures.state == "GB")
        .unwrap();
    assert!(html.contains(&format!(
        "<tr data-change=\"position-GB\"><td>Position GB</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">-5</td></tr>",
        gb.position + 5,
        gb.position
    )));
    assert!(
        html.contains("<tr data-change=\"position-FR\">")
            && html.contains("<tr data-change=\"required\">")
    );

    // A redirected instruction is drawn dashed and labelled, one arrow per instruction still.
    let mut redirected = round.clone();
    let instructions = &mut redirected
        .report
        .as_mut()
        .unwrap()
        .report
        .as_mut()
        .unwrap()
        .instructions;
    instructions[0].redirected = true;
    let marked = format!(
        "{}-{}",
        instructions[0].origin_state, instructions[0].admitting_state
    );
    let count = instructions.len();
    let html = report_document(&redirected, None, None, Lang::English);
    let svg = html
        .split("<svg id=\"flows\"")
        .nth(1)
        .unwrap()
        .split("</svg>")
        .next()
        .unwrap();
    assert_eq!(svg.matches("<path data-instruction=").count(), count);
    assert_eq!(svg.matches("class=\"redirected\"").count(), 1, "{svg}");
    assert!(svg.contains(&format!("<path data-instruction=\"{marked}\"")));
    assert!(svg.contains("↪ redirected</text>"));
}

#[tokio::test]
async fn a_second_final_round_is_compared_with_the_first_and_both_periods_are_charted() {
    let federation = Federation::start().await;
    let first = federation.final_round().await;
    let second = federation.second_final_round().await;
    let report = |round: &pb::Round| round.report.clone().unwrap().report.unwrap();
    let (before, now) = (report(&first), report(&second));
    let cookie = sign_in(&federation, DIPLOMAT).await;

    let (status, html) = page(
        &federation,
        &format!("/rounds/{}", second.round_id),
        &cookie,
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&format!(
        "<a id=\"previous-round\" href=\"/rounds/{}?lang=en\">",
        first.round_id
    )));
    let change = i64::from(now.settled) - i64::from(before.settled);
    let change = if change > 0 {
        format!("+{change}")
    } else {
        change.to_string()
    };
    let settled = format!(
        "<tr data-change=\"settled\"><td>Settled</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{change}</td></tr>",
        before.settled, now.settled
    );
    assert!(html.contains(&settled), "{settled} in {html}");
    let position = |report: &pb::SettlementReport, state: &str| {
        report
            .state_figures
            .iter()
            .find(|figures| figures.state == state)
            .map_or(0, |figures| figures.position)
    };
    for state in ["DE", "FR", "GB"] {
        let row = format!(
            "<tr data-change=\"position-{state}\"><td>Position {state}</td><td class=\"number\">{}</td><td class=\"number\">{}</td>",
            position(&before, state),
            position(&now, state)
        );
        assert!(html.contains(&row), "{row}");
    }
    for signer in signers(&second) {
        assert!(
            signer_row(&html, &signer).contains("data-verified=\"true\""),
            "{signer}"
        );
    }
    // The first round's page has no previous round: the second is later.
    let (_, html) = page(&federation, &format!("/rounds/{}", first.round_id), &cookie).await;
    assert!(html.contains("<p id=\"no-previous\">"));

    // The balances chart GB → FR: one pair of bars per final round's period, oldest first.
    let (_, balances) = page(&federation, "/balances", &cookie).await;
    let svg = balances
        .split("<svg id=\"chart-GB-FR\"")
        .nth(1)
        .unwrap()
        .split("</svg>")
        .next()
        .unwrap();
    let returns: Vec<&str> = svg
        .split("data-kind=\"returns\" data-count=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    let count = |report: &pb::SettlementReport| {
        let inputs = report.inputs.as_ref().unwrap();
        let pair = inputs
            .returns
            .iter()
            .find(|pair| pair.first_state == "GB" && pair.second_state == "FR");
        pair.map_or(0, |pair| pair.count).to_string()
    };
    assert_eq!(returns, [count(&before), count(&now)], "{svg}");
}
