//! One round's latest signed report for people, drawn once for two uses: the page
//! `/rounds/{round_id}` behind the session (with the coordinator's navigation and the
//! downloads), and a standalone HTML document with the same content (no navigation, no link
//! that needs a session) that `accord demo` writes to a file
//! (`super::rounds::report_document`). Both come from the wire round, the previous final
//! round and the signed directory, so the two cannot drift apart.

use accord_proto::v1 as pb;
use askama::Template;

use super::diagram::{self, Diagram};
use super::difference::{self, Difference};
use super::text::Text;
use super::verification::{self, Checked};
use super::words::{self, Words};
use crate::convert::settlement as convert;
use crate::json::settlement::{Report, Round};

/// The round page, or the standalone report document.
#[derive(Template)]
#[template(path = "round.html")]
pub(crate) struct RoundPage {
    pub(crate) text: &'static Text,
    pub(crate) words: &'static Words,
    pub(crate) round: Round,
    pub(crate) period: String,
    pub(crate) report: Option<Report>,
    pub(crate) efficiency: String,
    pub(crate) diagram: Diagram,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) node_radius: String,
    pub(crate) signatures: Vec<Checked>,
    pub(crate) difference: Option<Difference>,
    /// What remains per state after the round, as the report says.
    pub(crate) residuals: Vec<pb::StateResidual>,
    /// A file of its own: no navigation, no language switch, no downloads, no links to
    /// other pages.
    pub(crate) standalone: bool,
}

/// The report of `round` in `text`'s language, its signatures checked against `directory`,
/// compared with `previous` (the previous final round).
pub(crate) fn view(
    round: &pb::Round,
    previous: Option<&pb::Round>,
    directory: Option<&pb::SignedDirectory>,
    text: &'static Text,
    standalone: bool,
) -> RoundPage {
    let json = convert::round(round);
    let report = json.report.clone();
    let (efficiency, diagram) = match &report {
        Some(report) => (
            localized(
                &super::rounds::efficiency(
                    report.netting_efficiency_numerator,
                    report.netting_efficiency_denominator,
                ),
                text,
            ),
            diagram::draw(&report.affected_states, &report.instructions),
        ),
        None => (String::new(), diagram::draw(&[], &[])),
    };
    let signatures = round
        .report
        .as_ref()
        .map(|signed| verification::check(signed, directory))
        .unwrap_or_default();
    RoundPage {
        text,
        words: words::of(text.lang),
        period: super::rounds::period_of(round.period.as_ref()),
        round: json,
        report,
        efficiency,
        diagram,
        width: diagram::WIDTH,
        height: diagram::HEIGHT,
        node_radius: format!("{:.1}", diagram::NODE_RADIUS),
        signatures,
        difference: previous.and_then(|previous| difference::between(round, previous)),
        residuals: round
            .report
            .as_ref()
            .and_then(|signed| signed.report.as_ref())
            .map(|report| report.residuals.clone())
            .unwrap_or_default(),
        standalone,
    }
}

/// A decimal as `text`'s language writes it: `66,7 %` in French.
fn localized(decimal: &str, text: &Text) -> String {
    if text.lang == "fr" {
        decimal.replace('.', ",")
    } else {
        decimal.to_owned()
    }
}
