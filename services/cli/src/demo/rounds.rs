//! The coordinator's side of a demo week, done by the federation's operator and the states
//! as they would: consents to redirected admissions (each state for itself), weekly
//! capacities, and the week's settlement round — opened, cut off once the log holds every
//! event of the week, proposed, and countersigned by every affected state's node on its own
//! until it is `FINAL`. Each final report is fetched as the coordinator renders it (JSON,
//! CSV and the bundle), verified as `accord report verify` verifies it, and written to
//! `DIR/reports/`.

use std::path::Path;

use accord_domain::StateCode;
use accord_edge::report::bundle;
use accord_gateway::pages::difference;
use accord_gateway::pages::rounds::report_document;
use accord_gateway::pages::text::Lang;
use accord_proto::v1 as pb;

use super::Error;
use super::cases::{DAY_MS, Week, time};
use super::parties::{Parties, call, eventually, found};
use super::scenario::{Consent, Phase};

/// A week, in milliseconds.
pub const WEEK_MS: i64 = 7 * DAY_MS;

/// Each state of a consent gives it, for itself, with its gateway's certificate.
pub async fn consent(parties: &Parties, consents: &[Consent]) -> Result<(), Error> {
    for (number, consent) in consents.iter().enumerate() {
        for state in &consent.by {
            let mut settlement = parties.of(*state)?.settlement;
            let request = pb::SetRedirectConsentRequest {
                idempotency_key: format!("demo-consent-{number}-{state}"),
                consent: Some(pb::RedirectConsent {
                    pair: Some(redirect_pair(consent)),
                    consenting_state: state.to_string(),
                    consented: true,
                    updated_at: None,
                }),
            };
            call!(
                "SetRedirectConsent",
                settlement,
                set_redirect_consent,
                request
            )?;
        }
    }
    Ok(())
}

/// The operator sets the phase's weekly capacities for `week`.
pub async fn set_capacities(parties: &Parties, phase: &Phase, week: Week) -> Result<(), Error> {
    let mut operator = parties.operator.settlement.clone();
    for (state, capacity) in &phase.capacities {
        let request = pb::SetCapacityRequest {
            idempotency_key: format!("demo-capacity-w{}-{state}", week.number),
            state: state.to_string(),
            period: Some(period(week)),
            capacity: *capacity,
        };
        call!("SetCapacity", operator, set_capacity, request)?;
    }
    Ok(())
}

/// The operator opens `week`'s round in the phase's mode, among its states, with the pairs
/// both of whose states consent to redirected admissions; answers the round's id.
pub async fn open(parties: &Parties, phase: &Phase, week: Week) -> Result<String, Error> {
    let mut operator = parties.operator.settlement.clone();
    let redirect_pairs = if phase.mode == pb::NettingMode::Multilateral {
        phase
            .consents
            .iter()
            .filter(|consent| consent.mutual())
            .map(redirect_pair)
            .collect()
    } else {
        Vec::new()
    };
    let request = pb::OpenRoundRequest {
        idempotency_key: format!("demo-round-w{}", week.number),
        period: Some(period(week)),
        mode: phase.mode.into(),
        participating_states: phase
            .round_states
            .iter()
            .map(StateCode::to_string)
            .collect(),
        redirect_pairs,
    };
    let opened = call!("OpenRound", operator, open_round, request)?;
    opened
        .round
        .map(|round| round.round_id)
        .ok_or_else(|| Error::Answer("OpenRound answered no round".into()))
}

/// Waits until the log's latest signed head holds at least `leaves` leaves.
pub async fn logged(parties: &Parties, leaves: u64) -> Result<(), Error> {
    eventually(
        || format!("the coordinator's log to hold {leaves} reports"),
        || {
            let mut ledger = parties.operator.ledger.clone();
            async move {
                let head = found(
                    "GetTreeHead",
                    ledger
                        .get_tree_head(pb::GetTreeHeadRequest::default())
                        .await,
                )?;
                let size = head
                    .and_then(|answer| answer.tree_head)
                    .and_then(|signed| signed.tree_head)
                    .map_or(0, |head| head.tree_size);
                Ok((size >= leaves).then_some(()))
            }
        },
    )
    .await
}

/// The operator cuts the round off and proposes it; answers it once every affected state's
/// node has countersigned it on its own (`FINAL`). A dispute ends the demo with its reasons.
pub async fn settle(parties: &Parties, round_id: &str) -> Result<pb::Round, Error> {
    let mut operator = parties.operator.settlement.clone();
    let close = pb::CloseRoundRequest {
        idempotency_key: format!("demo-close-{round_id}"),
        round_id: round_id.to_owned(),
    };
    call!("CloseRound", operator, close_round, close)?;
    let propose = pb::ProposeRoundRequest {
        idempotency_key: format!("demo-propose-{round_id}"),
        round_id: round_id.to_owned(),
    };
    call!("ProposeRound", operator, propose_round, propose)?;
    eventually(
        || format!("every affected state to countersign {round_id}"),
        || {
            let mut operator = operator.clone();
            let request = pb::GetRoundRequest {
                round_id: round_id.to_owned(),
            };
            async move {
                let round = call!("GetRound", operator, get_round, request)?
                    .round
                    .ok_or_else(|| Error::Answer("GetRound answered no round".into()))?;
                match round.status() {
                    pb::RoundStatus::Final => Ok(Some(round)),
                    pb::RoundStatus::Disputed => Err(Error::Disputed(
                        round.round_id.clone(),
                        format!("{:?}", round.disputes),
                    )),
                    _ => Ok(None),
                }
            }
        },
    )
    .await
}

/// Fetches the final round's report as JSON, CSV and bundle, verifies the bundle from the
/// root CA at `ca` alone, and writes the three files into `reports`, with the report as a
/// page in English and French (`accord_gateway::pages::rounds::report_document`: figures,
/// flows, signatures checked against the directory, the difference from the round before
/// among `earlier`); answers the round.
pub async fn write_report(
    parties: &Parties,
    round: pb::Round,
    earlier: &[pb::Round],
    (ca, reports): (&Path, &Path),
) -> Result<pb::Round, Error> {
    let roots = accord_trust::credentials::load_ca(ca)
        .map_err(|error| Error::Answer(format!("the network's CA {}: {error}", ca.display())))?;
    let mut bundle_bytes = Vec::new();
    for format in [
        pb::ReportFormat::Json,
        pb::ReportFormat::Csv,
        pb::ReportFormat::Bundle,
    ] {
        let mut operator = parties.operator.settlement.clone();
        let request = pb::GetRoundReportRequest {
            round_id: round.round_id.clone(),
            format: format.into(),
            ..Default::default()
        };
        let rendered = call!("GetRoundReport", operator, get_round_report, request)?;
        let name = match format {
            pb::ReportFormat::Bundle => format!("{}.bundle", round.round_id),
            _ => rendered.file_name.clone(),
        };
        if format == pb::ReportFormat::Bundle {
            bundle_bytes.clone_from(&rendered.rendering);
        }
        let path = reports.join(name);
        std::fs::write(&path, &rendered.rendering)
            .map_err(|error| Error::Write(path.clone(), error))?;
    }
    bundle::verify(&bundle_bytes, &roots, None, &[], &mut |_| {})
        .map_err(|error| Error::Verify(round.round_id.clone(), error))?;
    let mut membership = parties.operator.membership.clone();
    let directory = call!(
        "GetDirectory",
        membership,
        get_directory,
        pb::GetDirectoryRequest::default()
    )?
    .directory;
    let previous = difference::previous_final(&round, earlier);
    for (lang, suffix) in [(Lang::English, ""), (Lang::French, ".fr")] {
        let page = report_document(&round, previous, directory.as_ref(), lang);
        let path = reports.join(format!("{}{suffix}.html", round.round_id));
        std::fs::write(&path, page).map_err(|error| Error::Write(path.clone(), error))?;
    }
    Ok(round)
}

/// The operator's count of open breaks, by kind.
pub async fn open_breaks(parties: &Parties) -> Result<Vec<(String, u32)>, Error> {
    let mut ledger = parties.operator.ledger.clone();
    let mut counts = std::collections::BTreeMap::<String, u32>::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListBreaksRequest {
            page_size: 500,
            page_token: page_token.clone(),
            status: pb::BreakStatus::Open.into(),
            ..Default::default()
        };
        let page = call!("ListBreaks", ledger, list_breaks, request)?;
        for found in &page.breaks {
            let kind = found
                .kind()
                .as_str_name()
                .trim_start_matches("BREAK_KIND_")
                .to_owned();
            *counts.entry(kind).or_default() += 1;
        }
        if page.next_page_token.is_empty() {
            return Ok(counts.into_iter().collect());
        }
        page_token = page.next_page_token;
    }
}

fn period(week: Week) -> pb::TimeRange {
    pb::TimeRange {
        start_time: Some(time(week.start)),
        end_time: Some(time(week.start + WEEK_MS)),
    }
}

fn redirect_pair(consent: &Consent) -> pb::RedirectPair {
    pb::RedirectPair {
        admitting_state: consent.admitting.to_string(),
        origin_state: consent.origin.to_string(),
    }
}
