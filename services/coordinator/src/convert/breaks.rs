//! Reconciliation on the wire: event kinds between their wire names and the domain's
//! steps, `ListBreaks`' filters and pages, breaks, and the per-pair summary.
//!
//! Wire event kinds and domain steps share their names but for four readmission steps the
//! wire names after the outcome (`RE_EXAMINATION_ACCEPTED` is the domain's
//! `ACCEPTED_ON_RE_EXAMINATION`); `CLOSED_REJECTED` is one wire kind for the domain's two
//! ways of closing a refused case, read as `REJECTION_CLOSED`.

use accord_domain::StateCode;
use accord_domain::admission::{AdmissionStep, OfferStep};
use accord_domain::case_ref::CaseRef;
use accord_domain::readmission::ReadmissionStep;
use accord_domain::reconciliation::{
    AgeBucket, Break, BreakDetail, BreakFilter, BreakKind, BreakSubject, EventKind, StatePair,
};
use accord_domain::{FreeText, Timestamp};
use accord_edge::violation::{Invalid, Violations};
use accord_edge::wire::{coded_from_wire, coded_to_wire, from_wire_time, to_wire_time};
use accord_proto::v1 as pb;

/// Readmission kinds whose wire name differs from the domain step's, (wire, domain).
const READMISSION_RENAMED: [(&str, &str); 5] = [
    ("RE_EXAMINATION_ACCEPTED", "ACCEPTED_ON_RE_EXAMINATION"),
    ("RE_EXAMINATION_REJECTED", "REJECTED_FINAL"),
    ("CLOSED_REJECTED", "REJECTION_CLOSED"),
    ("CLOSED_REJECTED", "REJECTION_ACCEPTED"),
    ("TRANSFERRED", "TRANSFER_EXECUTED"),
];

/// The domain's kind of a wire event kind's name, e.g. `ADMISSION_EVENT_KIND_ARRIVED`.
pub fn event_kind(name: &str) -> Option<EventKind> {
    if let Some(rest) = name.strip_prefix("READMISSION_EVENT_KIND_") {
        let code = READMISSION_RENAMED
            .iter()
            .find(|(wire, _)| *wire == rest)
            .map_or(rest, |(_, domain)| domain);
        let code = format!("READMISSION_{code}");
        return by_code(&ReadmissionStep::ALL, ReadmissionStep::code, &code)
            .map(EventKind::Readmission);
    }
    if let Some(rest) = name.strip_prefix("ADMISSION_EVENT_KIND_") {
        let code = format!("ADMISSION_{rest}");
        return by_code(&AdmissionStep::ALL, AdmissionStep::code, &code).map(EventKind::Admission);
    }
    let rest = name.strip_prefix("OFFER_EVENT_KIND_")?;
    by_code(&OfferStep::ALL, OfferStep::code, &format!("OFFER_{rest}")).map(EventKind::Offer)
}

/// The value of `all` whose code is `code`.
fn by_code<T: Copy>(all: &[T], code_of: fn(T) -> &'static str, code: &str) -> Option<T> {
    all.iter().copied().find(|value| code_of(*value) == code)
}

/// The wire kind of a domain event kind, as `Break.event_kind` carries it.
pub fn event_kind_to_wire(kind: EventKind) -> pb::r#break::EventKind {
    use pb::r#break::EventKind as Wire;
    match kind {
        EventKind::Readmission(step) => {
            let code = step.code().trim_start_matches("READMISSION_");
            let name = READMISSION_RENAMED
                .iter()
                .find(|(_, domain)| *domain == code)
                .map_or(code, |(wire, _)| wire);
            let value =
                pb::ReadmissionEventKind::from_str_name(&format!("READMISSION_EVENT_KIND_{name}"))
                    .unwrap_or_default();
            Wire::ReadmissionEventKind(value.into())
        }
        EventKind::Admission(step) => {
            let name = step.code().trim_start_matches("ADMISSION_");
            let value =
                pb::AdmissionEventKind::from_str_name(&format!("ADMISSION_EVENT_KIND_{name}"))
                    .unwrap_or_default();
            Wire::AdmissionEventKind(value.into())
        }
        EventKind::Offer(step) => {
            let name = step.code().trim_start_matches("OFFER_");
            let value = pb::OfferEventKind::from_str_name(&format!("OFFER_EVENT_KIND_{name}"))
                .unwrap_or_default();
            Wire::OfferEventKind(value.into())
        }
    }
}

/// `ListBreaks`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListBreaks {
    /// The domain's filter (state, kinds, age, open or resolved).
    pub filter: BreakFilter,
    /// Only breaks of this case.
    pub case_ref: Option<CaseRef>,
    /// The most breaks to answer (0: the default).
    pub page_size: u32,
    /// Where the page starts: after the break with this (detection time, id).
    pub after: Option<(i64, String)>,
}

/// A page of breaks as of `now`, and where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakPage {
    /// The breaks, oldest detection first.
    pub breaks: Vec<Break>,
    /// The instant the breaks are aged at.
    pub now: Timestamp,
    /// The last break's (detection time, id), when more follow.
    pub next: Option<(i64, String)>,
}

/// `ResolveBreak`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveBreak {
    /// The break's id.
    pub break_id: String,
    /// The operator's reason.
    pub reason: FreeText,
}

/// The longest reason an operator may give.
const REASON_LENGTH_MAX: usize = 500;

/// `ListBreaks`' filters and page.
pub fn list_breaks(message: &pb::ListBreaksRequest) -> Result<ListBreaks, Invalid> {
    let mut violations = Violations::new();
    let state = (!message.state.is_empty())
        .then(|| violations.check("state", StateCode::parse(&message.state)))
        .flatten();
    let mut kinds = std::collections::BTreeSet::new();
    for &value in &message.kinds {
        match coded_from_wire::<pb::BreakKind, _>(value, |code| {
            by_code(&BreakKind::ALL, BreakKind::code, code)
        }) {
            Some(kind) => {
                kinds.insert(kind);
            }
            None => violations.add("kinds", format!("{value} is not a break kind")),
        }
    }
    let age_bucket = match message.age_bucket {
        0 => None,
        value => {
            let bucket = coded_from_wire::<pb::BreakAgeBucket, _>(value, |code| {
                by_code(&AgeBucket::ALL, AgeBucket::code, code)
            });
            if bucket.is_none() {
                violations.add("age_bucket", format!("{value} is not an age bucket"));
            }
            bucket
        }
    };
    let open = match pb::BreakStatus::try_from(message.status) {
        Ok(pb::BreakStatus::Unspecified | pb::BreakStatus::Open) => Some(true),
        Ok(pb::BreakStatus::Resolved) => Some(false),
        Err(_) => {
            violations.add(
                "status",
                format!("{} is not a break status", message.status),
            );
            None
        }
    };
    let case_ref = (!message.case_ref.is_empty())
        .then(|| violations.check("case_ref", CaseRef::parse(&message.case_ref)))
        .flatten();
    if !message.round_id.is_empty() {
        violations.add("round_id", "no settlement round has breaks yet");
    }
    let after = (!message.page_token.is_empty())
        .then(|| match page_token(&message.page_token) {
            Some(after) => Some(after),
            None => {
                violations.add("page_token", "is not a token this coordinator gave");
                None
            }
        })
        .flatten();
    violations.finish()?;
    Ok(ListBreaks {
        filter: BreakFilter {
            pair: None,
            state,
            kinds,
            age_bucket,
            open,
        },
        case_ref,
        page_size: message.page_size,
        after,
    })
}

/// `ResolveBreak`'s break and reason.
pub fn resolve_break(message: &pb::ResolveBreakRequest) -> Result<ResolveBreak, Invalid> {
    let mut violations = Violations::new();
    if message.break_id.is_empty() || message.break_id.len() > 200 {
        violations.add("break_id", "must be 1 to 200 characters");
    }
    let reason = violations.check("reason", FreeText::parse(&message.reason));
    if message.reason.chars().count() > REASON_LENGTH_MAX {
        violations.add(
            "reason",
            format!("must be at most {REASON_LENGTH_MAX} characters"),
        );
    }
    violations.finish()?;
    let reason = reason.ok_or_else(|| Invalid::field("reason", "is required"))?;
    Ok(ResolveBreak {
        break_id: message.break_id.clone(),
        reason,
    })
}

/// A page token: the last break's detection time and id.
pub fn page_token_of(after: &(i64, String)) -> String {
    format!("{}.{}", after.0, after.1)
}

fn page_token(text: &str) -> Option<(i64, String)> {
    let (millis, id) = text.split_once('.')?;
    let millis = millis.parse().ok()?;
    (!id.is_empty()).then(|| (millis, id.to_owned()))
}

/// A break, aged at `now`, as the wire carries it.
pub fn break_to_wire(found: &Break, now: Timestamp) -> pb::Break {
    let (sequence, event_kind) = match found.detail() {
        BreakDetail::OneSided { kind, sequence, .. } => (*sequence, Some(*kind)),
        BreakDetail::Mismatch { kind, .. } | BreakDetail::Duplicate { kind, .. } => {
            (0, Some(*kind))
        }
        BreakDetail::Conflict { sequence, claims } => {
            (*sequence, claims.iter().next().map(|(_, kind)| *kind))
        }
        BreakDetail::NotPerformed { kind, .. } => (0, Some(*kind)),
        BreakDetail::Lapsed { .. } => (0, None),
    };
    let (round_id, shortfall) = match (found.subject(), found.detail()) {
        (BreakSubject::Instruction(instruction), BreakDetail::Lapsed { shortfall, .. }) => (
            instruction.round_id.clone(),
            u32::try_from(*shortfall).unwrap_or(u32::MAX),
        ),
        _ => (String::new(), 0),
    };
    let resolution = found.resolution();
    pb::Break {
        break_id: found.id().as_str().to_owned(),
        kind: coded_to_wire::<pb::BreakKind>(found.kind().code()).into(),
        status: if resolution.is_some() {
            pb::BreakStatus::Resolved
        } else {
            pb::BreakStatus::Open
        }
        .into(),
        resolution: if resolution.is_some() {
            pb::BreakResolution::Waived
        } else {
            pb::BreakResolution::Unspecified
        }
        .into(),
        case_ref: found
            .case_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        pair: Some(pair_to_wire(found.pair())),
        sequence,
        event_kind: event_kind.map(event_kind_to_wire),
        reported_by: found
            .reported_by()
            .iter()
            .map(ToString::to_string)
            .collect(),
        leaf_indices: Vec::new(),
        round_id,
        shortfall,
        detected_at: Some(to_wire_time(found.detected_at())),
        age_days: u32::try_from(found.age_days(now)).unwrap_or(u32::MAX),
        age_bucket: coded_to_wire::<pb::BreakAgeBucket>(found.age_bucket(now).code()).into(),
        resolved_at: resolution.map(|resolution| to_wire_time(resolution.resolved_at)),
        resolved_by: resolution
            .map(|resolution| resolution.operator.as_str().to_owned())
            .unwrap_or_default(),
        resolution_reason: resolution
            .map(|resolution| resolution.reason.as_str().to_owned())
            .unwrap_or_default(),
    }
}

/// A pair as the wire carries it.
pub fn pair_to_wire(pair: StatePair) -> pb::StatePair {
    pb::StatePair {
        first_state: pair.first().to_string(),
        second_state: pair.second().to_string(),
    }
}

/// `GetReconciliationSummary`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryRequest {
    /// Only pairs that include this state.
    pub state: Option<StateCode>,
    /// Only events that took effect in [start, end).
    pub period: Option<(Timestamp, Timestamp)>,
    /// The head's size; 0 for the latest.
    pub tree_size: u64,
}

/// `GetReconciliationSummary`'s state filter, period and size.
pub fn summary_request(
    message: &pb::GetReconciliationSummaryRequest,
) -> Result<SummaryRequest, Invalid> {
    let mut violations = Violations::new();
    let state = (!message.state.is_empty())
        .then(|| violations.check("state", StateCode::parse(&message.state)))
        .flatten();
    let period = message.period.as_ref().and_then(|range| {
        let start = range
            .start_time
            .as_ref()
            .and_then(|time| violations.check("period.start_time", from_wire_time(time)));
        let end = range
            .end_time
            .as_ref()
            .and_then(|time| violations.check("period.end_time", from_wire_time(time)));
        match (start, end) {
            (Some(start), Some(end)) if start < end => Some((start, end)),
            _ => {
                violations.add("period", "needs a start before its end");
                None
            }
        }
    });
    violations.finish()?;
    Ok(SummaryRequest {
        state,
        period,
        tree_size: message.tree_size,
    })
}

/// One pair's reconciliation figures as the wire carries them.
pub fn figures_to_wire(
    first: StateCode,
    second: StateCode,
    figures: &crate::app::ledger::PairFigures,
) -> pb::PairReconciliation {
    pb::PairReconciliation {
        pair: Some(pb::StatePair {
            first_state: first.to_string(),
            second_state: second.to_string(),
        }),
        matched_returns: figures.matched_returns,
        matched_admissions: figures.matched_admissions,
        pending_confirmations: figures.pending_confirmations,
        open_breaks: figures
            .open_breaks
            .iter()
            .map(|((kind, bucket), count)| pb::BreakCount {
                kind: coded_to_wire::<pb::BreakKind>(kind.code()).into(),
                age_bucket: coded_to_wire::<pb::BreakAgeBucket>(bucket.code()).into(),
                count: *count,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wire_event_kind_is_a_domain_kind_and_back() {
        for value in 1..=30 {
            if let Ok(kind) = pb::ReadmissionEventKind::try_from(value) {
                let domain = event_kind(kind.as_str_name())
                    .unwrap_or_else(|| panic!("{} has no domain kind", kind.as_str_name()));
                assert_eq!(
                    event_kind_to_wire(domain),
                    pb::r#break::EventKind::ReadmissionEventKind(value)
                );
            }
            if let Ok(kind) = pb::AdmissionEventKind::try_from(value) {
                let domain = event_kind(kind.as_str_name()).unwrap();
                assert_eq!(
                    event_kind_to_wire(domain),
                    pb::r#break::EventKind::AdmissionEventKind(value)
                );
            }
            if let Ok(kind) = pb::OfferEventKind::try_from(value) {
                let domain = event_kind(kind.as_str_name()).unwrap();
                assert_eq!(
                    event_kind_to_wire(domain),
                    pb::r#break::EventKind::OfferEventKind(value)
                );
            }
        }
        assert_eq!(event_kind("READMISSION_EVENT_KIND_UNSPECIFIED"), None);
    }
}
