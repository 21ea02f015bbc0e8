//! The coordinator's gateway's `/balances` and `/members` pages as a diplomat reads them
//! over a real coordinator: every pair's debts and credits now as `/v1/balances` gives them,
//! the FINAL round's period charted with its report's returns and admissions per pair; every
//! member's status and certificate expiry, and each agreement, as the signed directory lists
//! them; in English and French, linked from the coordinator pages' header.

use serde_json::Value;

use crate::coordinator_pages::{page, sign_in};
use crate::federation::Federation;
use crate::support::DIPLOMAT;

/// The HTML of the element that opens with `opening`, up to `closing`.
fn section<'a>(html: &'a str, opening: &str, closing: &str) -> &'a str {
    html.split(opening)
        .nth(1)
        .unwrap_or_else(|| panic!("no {opening} in {html}"))
        .split(closing)
        .next()
        .unwrap()
}

/// The row `<tr data-pair="A-O">` of table `table`.
fn pair_row<'a>(html: &'a str, table: &str, pair: &str) -> &'a str {
    let table = section(html, &format!("<table id=\"{table}\">"), "</table>");
    section(table, &format!("<tr data-pair=\"{pair}\">"), "</tr>")
}

fn figure(row: &str, name: &str, value: &Value) -> bool {
    row.contains(&format!("data-figure=\"{name}\">{value}<"))
}

#[tokio::test]
async fn a_diplomat_reads_each_pairs_debts_now_and_its_returns_and_admissions_per_period() {
    let federation = Federation::start().await;
    let round = federation.final_round().await;
    let report = round.report.as_ref().unwrap().report.as_ref().unwrap();
    let inputs = report.inputs.as_ref().unwrap();
    let cookie = sign_in(&federation, DIPLOMAT).await;

    let (status, rounds) = page(&federation, "/rounds", &cookie).await;
    assert_eq!(status, 200);
    for link in ["/balances?lang=en", "/members?lang=en"] {
        assert!(rounds.contains(&format!("<a href=\"{link}\">")), "{link}");
    }

    let (status, html) = page(&federation, "/balances", &cookie).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"en\">") && html.contains("Debts and credits now"));
    assert!(!html.contains("<script"));
    let (_, upstream) = federation.get("/v1/balances", DIPLOMAT).await;
    assert!(html.contains(&format!(
        "<dd id=\"tree-size\">{}</dd>",
        upstream["tree_size"]
    )));
    let pairs = upstream["pairs"].as_array().unwrap();
    assert!(!pairs.is_empty());
    for pair in pairs {
        let name = format!(
            "{}-{}",
            pair["first_state"].as_str().unwrap(),
            pair["second_state"].as_str().unwrap()
        );
        let row = pair_row(&html, "pairs", &name);
        for field in ["returns", "admissions", "debt", "credit"] {
            assert!(figure(row, field, &pair[field]), "{name} {field} in {row}");
        }
    }
    for position in upstream["positions"].as_array().unwrap() {
        let state = position["state"].as_str().unwrap();
        let table = section(&html, "<table id=\"positions\">", "</table>");
        let row = section(table, &format!("<tr data-state=\"{state}\">"), "</tr>");
        assert!(
            figure(row, "position", &position["position"]),
            "{state}: {row}"
        );
    }

    // The chart of each pair: the final round's period, with its report's counts.
    let period = section(&html, "data-period=\"", "\"").to_owned();
    assert!(period.starts_with("2025-11-"), "{period}");
    for (kind, counts) in [
        ("returns", &inputs.returns),
        ("admissions", &inputs.admissions),
    ] {
        for count in counts {
            let svg = section(
                &html,
                &format!(
                    "<svg id=\"chart-{}-{}\"",
                    count.first_state, count.second_state
                ),
                "</svg>",
            );
            let bar = format!(
                "data-period=\"{period}\" data-kind=\"{kind}\" data-count=\"{}\"",
                count.count
            );
            assert_eq!(svg.matches(&bar).count(), 1, "{bar} in {svg}");
        }
    }
    assert!(!inputs.returns.is_empty());

    let (status, french) = page(&federation, "/balances?lang=fr", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        french.contains("<html lang=\"fr\">") && french.contains("Dettes et crédits à ce jour")
    );
    assert!(french.contains("Renvois et admissions par période"));
    assert!(!french.contains("Debts and credits now"));
}

#[tokio::test]
async fn a_diplomat_reads_the_members_their_certificates_expiry_and_their_agreements() {
    let federation = Federation::start().await;
    federation.agreement("FR", "GB", 1_763_000_000).await;
    let signed = federation.directory().await;
    let directory = signed.directory.as_ref().unwrap();
    let cookie = sign_in(&federation, DIPLOMAT).await;

    let (status, html) = page(&federation, "/members", &cookie).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"en\">") && html.contains("Certificate expiry"));
    assert!(html.contains(&format!(
        "<dd id=\"directory-version\">{}</dd>",
        directory.version
    )));
    assert_eq!(directory.members.len(), 3);
    for member in &directory.members {
        let table = section(&html, "<table id=\"members\">", "</table>");
        let row = section(
            table,
            &format!("<tr data-state=\"{}\">", member.state),
            "</tr>",
        );
        assert!(row.contains("data-figure=\"status\">ACTIVE<"), "{row}");
        let expiry = member
            .certificates
            .iter()
            .filter_map(|certificate| certificate.not_after)
            .min_by_key(|time| time.seconds)
            .unwrap();
        assert!(
            row.contains(&format!("data-figure=\"expires\">{expiry}<")),
            "{expiry} in {row}"
        );
        for key in &member.signing_keys {
            assert!(row.contains(&key.key_id), "{} in {row}", key.key_id);
        }
    }
    assert_eq!(directory.agreements.len(), 1);
    let row = pair_row(&html, "agreements", "FR-GB");
    assert!(row.contains("data-figure=\"regimes\">UKFR_2025<"), "{row}");
    assert!(
        row.contains("data-figure=\"effective_from\">2025-11-13T02:13:20Z<"),
        "{row}"
    );
    assert!(row.contains("data-figure=\"parity_limit\">20<"), "{row}");

    let (status, french) = page(&federation, "/members?lang=fr", &cookie).await;
    assert_eq!(status, 200);
    assert!(french.contains("<html lang=\"fr\">") && french.contains("Expiration des certificats"));
    assert!(french.contains("Accords") && !french.contains("Certificate expiry"));
}
