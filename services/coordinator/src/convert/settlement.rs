//! Settlement on the wire: each `SettlementService` request parsed into a command (every bad
//! field at once), and rounds, consents and quotas written out.
//!
//! A round's report travels as the coordinator signed it (`accord_edge::report`); the store
//! keeps its bytes, and a round's countersignatures and disputes their signed bytes, so what
//! a state signed is what it is shown again.

use accord_domain::settlement::Mode;
use accord_domain::{StateCode, Timestamp};
use accord_edge::violation::{Invalid, Violations};
use accord_edge::wire::{from_wire_time, to_wire_time};
use accord_proto::v1 as pb;
use accord_trust::KeyId;
use prost::Message;

use super::command::RequestKey;
use super::request_key;
use crate::store::{
    CapacityRecord, ConsentRecord, CountersignatureRecord, DisputeRecord, RoundRecord,
};

/// The most case references a dispute may name.
const DISPUTED_CASES_MAX: usize = 1_000;

/// A round's status, as stored and on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundStatus {
    /// Events of the period are still coming in.
    Open,
    /// The tree head it counts from is fixed.
    Closed,
    /// Computed, signed, waiting for countersignatures.
    Proposed,
    /// Every affected state countersigned. Terminal.
    Final,
    /// A state refused the proposal.
    Disputed,
}

impl RoundStatus {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Closed => "CLOSED",
            Self::Proposed => "PROPOSED",
            Self::Final => "FINAL",
            Self::Disputed => "DISPUTED",
        }
    }

    /// The status of a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        [
            Self::Open,
            Self::Closed,
            Self::Proposed,
            Self::Final,
            Self::Disputed,
        ]
        .into_iter()
        .find(|status| status.code() == code)
    }

    fn to_wire(self) -> pb::RoundStatus {
        match self {
            Self::Open => pb::RoundStatus::Open,
            Self::Closed => pb::RoundStatus::Closed,
            Self::Proposed => pb::RoundStatus::Proposed,
            Self::Final => pb::RoundStatus::Final,
            Self::Disputed => pb::RoundStatus::Disputed,
        }
    }
}

/// The stored code of a netting mode.
pub fn mode_code(mode: Mode) -> &'static str {
    match mode {
        Mode::Gross => "GROSS",
        Mode::Bilateral => "BILATERAL",
        Mode::Multilateral => "MULTILATERAL",
    }
}

/// The netting mode of a stored code.
pub fn mode_of(code: &str) -> Option<Mode> {
    Mode::ALL.into_iter().find(|mode| mode_code(*mode) == code)
}

fn mode_to_wire(mode: Mode) -> pb::NettingMode {
    match mode {
        Mode::Gross => pb::NettingMode::Gross,
        Mode::Bilateral => pb::NettingMode::Bilateral,
        Mode::Multilateral => pb::NettingMode::Multilateral,
    }
}

/// `OpenRound`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRound {
    /// The period's first instant.
    pub start: Timestamp,
    /// The first instant after it.
    pub end: Timestamp,
    /// The netting mode.
    pub mode: Mode,
    /// The participating states; empty for every active member.
    pub participating: Vec<StateCode>,
    /// (admitting, origin) pairs allowed redirected admissions.
    pub redirect_pairs: Vec<(StateCode, StateCode)>,
}

/// `CountersignRound`.
#[derive(Debug, Clone, PartialEq)]
pub struct Countersign {
    /// The round.
    pub round_id: String,
    /// The digest of the report countersigned.
    pub report_digest: Vec<u8>,
    /// The state's signature.
    pub countersignature: pb::StateSignature,
}

/// `DisputeRound`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispute {
    /// The signed dispute, as sent.
    pub signed: pb::SignedRoundDispute,
    /// The disputing state.
    pub state: StateCode,
}

/// `SetRedirectConsent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetConsent {
    /// The pair's admitting state.
    pub admitting: StateCode,
    /// The pair's origin state.
    pub origin: StateCode,
    /// The state that consents, or withdraws.
    pub consenting: StateCode,
    /// True to consent.
    pub consented: bool,
}

/// `SetCapacity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetCapacity {
    /// The admitting state.
    pub state: StateCode,
    /// The period's first instant.
    pub start: Timestamp,
    /// The first instant after it.
    pub end: Timestamp,
    /// How many people.
    pub capacity: u32,
}

/// `ReportCandidates`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidates {
    /// Per origin state, the candidates ready.
    pub counts: Vec<(StateCode, u32)>,
    /// When the node counted.
    pub counted_at: Timestamp,
}

/// A round with what was signed about its latest report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundView {
    /// The round as stored.
    pub round: RoundRecord,
    /// The latest report's countersignatures.
    pub countersignatures: Vec<CountersignatureRecord>,
    /// Every dispute of the round.
    pub disputes: Vec<DisputeRecord>,
    /// Affected states that have not countersigned the latest report.
    pub awaiting: Vec<StateCode>,
}

fn period(
    violations: &mut Violations,
    field: &str,
    range: Option<&pb::TimeRange>,
) -> Option<(Timestamp, Timestamp)> {
    let Some(range) = range else {
        violations.add(field, "is required");
        return None;
    };
    let time = |violations: &mut Violations, name: &str, value: Option<&prost_types::Timestamp>| {
        match value {
            Some(value) => violations.check(&format!("{field}.{name}"), from_wire_time(value)),
            None => {
                violations.add(format!("{field}.{name}"), "is required");
                None
            }
        }
    };
    let start = time(violations, "start_time", range.start_time.as_ref());
    let end = time(violations, "end_time", range.end_time.as_ref());
    match (start, end) {
        (Some(start), Some(end)) if start < end => Some((start, end)),
        (Some(_), Some(_)) => {
            violations.add(format!("{field}.end_time"), "must be after start_time");
            None
        }
        _ => None,
    }
}

fn state(violations: &mut Violations, field: &str, text: &str) -> Option<StateCode> {
    violations.check(field, StateCode::parse(text))
}

/// `OpenRound`.
pub fn open_round(
    message: &pb::OpenRoundRequest,
    path: &str,
) -> Result<(RequestKey, OpenRound), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    let period = period(&mut violations, "period", message.period.as_ref());
    let mode = match pb::NettingMode::try_from(message.mode) {
        Ok(pb::NettingMode::Gross) => Some(Mode::Gross),
        Ok(pb::NettingMode::Bilateral) => Some(Mode::Bilateral),
        Ok(pb::NettingMode::Multilateral) => Some(Mode::Multilateral),
        _ => {
            violations.add("mode", "is required: GROSS, BILATERAL or MULTILATERAL");
            None
        }
    };
    let mut participating = Vec::new();
    for (index, code) in message.participating_states.iter().enumerate() {
        if let Some(code) = state(
            &mut violations,
            &format!("participating_states[{index}]"),
            code,
        ) {
            participating.push(code);
        }
    }
    participating.sort();
    participating.dedup();
    let mut redirect_pairs = Vec::new();
    for (index, pair) in message.redirect_pairs.iter().enumerate() {
        let field = format!("redirect_pairs[{index}]");
        let admitting = state(
            &mut violations,
            &format!("{field}.admitting_state"),
            &pair.admitting_state,
        );
        let origin = state(
            &mut violations,
            &format!("{field}.origin_state"),
            &pair.origin_state,
        );
        match (admitting, origin) {
            (Some(admitting), Some(origin)) if admitting == origin => {
                violations.add(field, "names one state twice");
            }
            (Some(admitting), Some(origin)) => redirect_pairs.push((admitting, origin)),
            _ => {}
        }
    }
    if !redirect_pairs.is_empty() && mode.is_some_and(|mode| mode != Mode::Multilateral) {
        violations.add("redirect_pairs", "are for the MULTILATERAL mode only");
    }
    violations.finish()?;
    match (key, period, mode) {
        (Some(key), Some((start, end)), Some(mode)) => Ok((
            key,
            OpenRound {
                start,
                end,
                mode,
                participating,
                redirect_pairs,
            },
        )),
        _ => Err(Invalid::field("request", "is incomplete")),
    }
}

/// `CloseRound`.
pub fn close_round(
    message: &pb::CloseRoundRequest,
    path: &str,
) -> Result<(RequestKey, String), Invalid> {
    round_step(message, &message.idempotency_key, &message.round_id, path)
}

/// `ProposeRound`.
pub fn propose_round(
    message: &pb::ProposeRoundRequest,
    path: &str,
) -> Result<(RequestKey, String), Invalid> {
    round_step(message, &message.idempotency_key, &message.round_id, path)
}

/// A keyed request naming a round (`CloseRound`, `ProposeRound`).
fn round_step(
    message: &impl Message,
    idempotency_key: &str,
    round_id: &str,
    path: &str,
) -> Result<(RequestKey, String), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, idempotency_key, message);
    if round_id.is_empty() || round_id.len() > 64 {
        violations.add("round_id", "must be 1 to 64 characters");
    }
    violations.finish()?;
    key.map(|key| (key, round_id.to_owned()))
        .ok_or_else(|| Invalid::field("idempotency_key", "is required"))
}

/// `CountersignRound`.
pub fn countersign(
    message: &pb::CountersignRoundRequest,
    path: &str,
) -> Result<(RequestKey, Countersign), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    if message.round_id.is_empty() {
        violations.add("round_id", "is required");
    }
    if message.report_digest.len() != 32 {
        violations.add("report_digest", "must be 32 bytes (SHA-256)");
    }
    match message.countersignature.as_ref() {
        None => violations.add("countersignature", "is required"),
        Some(signature) => {
            state(&mut violations, "countersignature.state", &signature.state);
            check_signature_form(&mut violations, "countersignature", signature);
        }
    }
    violations.finish()?;
    match (key, message.countersignature.clone()) {
        (Some(key), Some(countersignature)) => Ok((
            key,
            Countersign {
                round_id: message.round_id.clone(),
                report_digest: message.report_digest.clone(),
                countersignature,
            },
        )),
        _ => Err(Invalid::field("request", "is incomplete")),
    }
}

/// A state signature's key ID and bytes, as fields under `field`.
fn check_signature_form(violations: &mut Violations, field: &str, signature: &pb::StateSignature) {
    if KeyId::parse(&signature.signing_key_id).is_err() {
        violations.add(format!("{field}.signing_key_id"), "must be 16 hex digits");
    }
    if signature.signature.len() != 64 {
        violations.add(format!("{field}.signature"), "must be 64 bytes (Ed25519)");
    }
}

/// `DisputeRound`.
pub fn dispute(
    message: &pb::DisputeRoundRequest,
    path: &str,
) -> Result<(RequestKey, Dispute), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    let signed = message.dispute.as_ref();
    let dispute = signed.and_then(|signed| signed.dispute.as_ref());
    let signature = signed.and_then(|signed| signed.signature.as_ref());
    let mut disputing = None;
    match dispute {
        None => violations.add("dispute.dispute", "is required"),
        Some(dispute) => {
            if dispute.round_id.is_empty() {
                violations.add("dispute.dispute.round_id", "is required");
            }
            if dispute.report_digest.len() != 32 {
                violations.add(
                    "dispute.dispute.report_digest",
                    "must be 32 bytes (SHA-256)",
                );
            }
            disputing = state(&mut violations, "dispute.dispute.state", &dispute.state);
            let known = |reason: &i32| {
                pb::DisputeReason::try_from(*reason)
                    .is_ok_and(|reason| reason != pb::DisputeReason::Unspecified)
            };
            if dispute.reasons.is_empty() || !dispute.reasons.iter().all(known) {
                violations.add(
                    "dispute.dispute.reasons",
                    "must name at least one known reason",
                );
            }
            if dispute.case_refs.len() > DISPUTED_CASES_MAX {
                violations.add("dispute.dispute.case_refs", "must name at most 1,000 cases");
            }
            for (index, case_ref) in dispute.case_refs.iter().enumerate() {
                violations.check(
                    &format!("dispute.dispute.case_refs[{index}]"),
                    accord_domain::CaseRef::parse(case_ref),
                );
            }
        }
    }
    match signature {
        None => violations.add("dispute.signature", "is required"),
        Some(signature) => {
            let signer = state(&mut violations, "dispute.signature.state", &signature.state);
            if signer.is_some() && signer != disputing {
                violations.add("dispute.signature.state", "must be the disputing state");
            }
            check_signature_form(&mut violations, "dispute.signature", signature);
        }
    }
    violations.finish()?;
    match (key, signed.cloned(), disputing) {
        (Some(key), Some(signed), Some(state)) => Ok((key, Dispute { signed, state })),
        _ => Err(Invalid::field("request", "is incomplete")),
    }
}

/// `SetRedirectConsent`: the pair and the consent.
pub fn consent(
    message: &pb::SetRedirectConsentRequest,
    path: &str,
) -> Result<(RequestKey, SetConsent), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    let consent = message.consent.as_ref();
    let pair = consent.and_then(|consent| consent.pair.as_ref());
    if pair.is_none() {
        violations.add("consent.pair", "is required");
    }
    let admitting = pair.and_then(|pair| {
        state(
            &mut violations,
            "consent.pair.admitting_state",
            &pair.admitting_state,
        )
    });
    let origin = pair.and_then(|pair| {
        state(
            &mut violations,
            "consent.pair.origin_state",
            &pair.origin_state,
        )
    });
    let consenting = consent.and_then(|consent| {
        state(
            &mut violations,
            "consent.consenting_state",
            &consent.consenting_state,
        )
    });
    if let (Some(admitting), Some(origin)) = (admitting, origin)
        && admitting == origin
    {
        violations.add("consent.pair", "names one state twice");
    }
    violations.finish()?;
    match (key, admitting, origin, consenting, consent) {
        (Some(key), Some(admitting), Some(origin), Some(consenting), Some(consent)) => Ok((
            key,
            SetConsent {
                admitting,
                origin,
                consenting,
                consented: consent.consented,
            },
        )),
        _ => Err(Invalid::field("request", "is incomplete")),
    }
}

/// `SetCapacity`.
pub fn capacity(
    message: &pb::SetCapacityRequest,
    path: &str,
) -> Result<(RequestKey, SetCapacity), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    let admitting = state(&mut violations, "state", &message.state);
    let period = period(&mut violations, "period", message.period.as_ref());
    violations.finish()?;
    match (key, admitting, period) {
        (Some(key), Some(state), Some((start, end))) => Ok((
            key,
            SetCapacity {
                state,
                start,
                end,
                capacity: message.capacity,
            },
        )),
        _ => Err(Invalid::field("request", "is incomplete")),
    }
}

/// `ReportCandidates` by `reporter`: (origin, count) per origin.
pub fn candidates(
    message: &pb::ReportCandidatesRequest,
    path: &str,
    reporter: StateCode,
) -> Result<(RequestKey, Candidates), Invalid> {
    let mut violations = Violations::new();
    let key = request_key(&mut violations, path, &message.idempotency_key, message);
    let mut counts = Vec::new();
    for (index, pair) in message.candidates.iter().enumerate() {
        let field = format!("candidates[{index}]");
        if pair.first_state != reporter.as_str() {
            violations.add(format!("{field}.first_state"), "must be the caller's state");
        }
        if let Some(origin) = state(
            &mut violations,
            &format!("{field}.second_state"),
            &pair.second_state,
        ) {
            if origin == reporter {
                violations.add(format!("{field}.second_state"), "must be another state");
            } else if counts.iter().any(|(seen, _)| *seen == origin) {
                violations.add(format!("{field}.second_state"), "is listed twice");
            } else {
                counts.push((origin, pair.count));
            }
        }
    }
    let counted_at = match message.counted_at.as_ref() {
        Some(time) => violations.check("counted_at", from_wire_time(time)),
        None => {
            violations.add("counted_at", "is required");
            None
        }
    };
    violations.finish()?;
    match (key, counted_at) {
        (Some(key), Some(counted_at)) => Ok((key, Candidates { counts, counted_at })),
        _ => Err(Invalid::field("request", "is incomplete")),
    }
}

fn millis(value: i64) -> Option<prost_types::Timestamp> {
    Timestamp::from_millis(value).ok().map(to_wire_time)
}

fn range(start: i64, end: i64) -> pb::TimeRange {
    pb::TimeRange {
        start_time: millis(start),
        end_time: millis(end),
    }
}

/// The redirect pairs of a stored round (`A>O` comma-separated).
pub fn stored_pairs(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter_map(|pair| pair.split_once('>'))
        .map(|(admitting, origin)| (admitting.to_owned(), origin.to_owned()))
        .collect()
}

/// A round as the wire carries it.
pub fn round_to_wire(view: &RoundView) -> pb::Round {
    let round = &view.round;
    let mut report = round
        .report
        .as_deref()
        .and_then(|bytes| pb::SignedSettlementReport::decode(bytes).ok());
    if let Some(report) = report.as_mut() {
        report.countersignatures = view
            .countersignatures
            .iter()
            .filter_map(|record| pb::StateSignature::decode(record.signature.as_slice()).ok())
            .collect();
    }
    pb::Round {
        round_id: round.round_id.clone(),
        period: Some(range(round.period_start, round.period_end)),
        mode: mode_of(&round.mode)
            .map_or(pb::NettingMode::Unspecified, mode_to_wire)
            .into(),
        status: RoundStatus::parse(&round.status)
            .map_or(pb::RoundStatus::Unspecified, RoundStatus::to_wire)
            .into(),
        participating_states: round
            .participating
            .split(',')
            .filter(|code| !code.is_empty())
            .map(str::to_owned)
            .collect(),
        redirect_pairs: stored_pairs(&round.redirect_pairs)
            .into_iter()
            .map(|(admitting_state, origin_state)| pb::RedirectPair {
                admitting_state,
                origin_state,
            })
            .collect(),
        opened_at: millis(round.opened_at),
        cut_off_at: round.cut_off_at.and_then(millis),
        report,
        awaiting_countersignature: view.awaiting.iter().map(ToString::to_string).collect(),
        disputes: view
            .disputes
            .iter()
            .filter_map(|record| pb::SignedRoundDispute::decode(record.dispute.as_slice()).ok())
            .collect(),
        finalised_at: round.finalised_at.and_then(millis),
    }
}

/// A consent as the wire carries it.
pub fn consent_to_wire(record: &ConsentRecord) -> pb::RedirectConsent {
    pb::RedirectConsent {
        pair: Some(pb::RedirectPair {
            admitting_state: record.admitting_state.clone(),
            origin_state: record.origin_state.clone(),
        }),
        consenting_state: record.consenting_state.clone(),
        consented: record.consented != 0,
        updated_at: millis(record.updated_at),
    }
}

/// A capacity as the wire carries it.
pub fn capacity_to_wire(record: &CapacityRecord) -> pb::StateCapacity {
    pb::StateCapacity {
        state: record.state.clone(),
        period: Some(range(record.period_start, record.period_end)),
        capacity: u32::try_from(record.capacity).unwrap_or(u32::MAX),
        updated_at: millis(record.updated_at),
    }
}

/// A pair's parity limit, saturating at the wire's `u32::MAX` (no change time is kept).
pub fn parity_limit_to_wire(first: StateCode, second: StateCode, limit: u64) -> pb::ParityLimit {
    pb::ParityLimit {
        first_state: first.to_string(),
        second_state: second.to_string(),
        limit: u32::try_from(limit).unwrap_or(u32::MAX),
        updated_at: None,
    }
}

/// The default and largest page of a settlement list.
const PAGE_DEFAULT: usize = 50;
const PAGE_MAX: usize = 500;

/// Where a page of a list starts and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// At most this many items.
    pub size: usize,
    /// The key of the previous page's last item.
    pub after: Option<String>,
}

/// `ListRounds`' filter and page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRounds {
    /// Only rounds in one of these statuses; empty for all.
    pub statuses: Vec<RoundStatus>,
    /// Only rounds this state participates in.
    pub state: Option<StateCode>,
    /// The page.
    pub page: Page,
}

/// `ListQuotas`' filter and page of capacities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuotas {
    /// Only this state's quotas.
    pub state: Option<StateCode>,
    /// Only capacities whose period overlaps this one.
    pub period: Option<(Timestamp, Timestamp)>,
    /// The page.
    pub page: Page,
}

/// A round's key in a list: its id.
pub fn round_key(round: &RoundRecord) -> String {
    round.round_id.clone()
}

/// A capacity's key in a list: `STATE/PERIOD_START_MS`.
pub fn capacity_key(record: &CapacityRecord) -> String {
    format!("{}/{}", record.state, record.period_start)
}

fn page(
    violations: &mut Violations,
    size: u32,
    token: &str,
    well_formed: fn(&str) -> bool,
) -> Page {
    let after = (!token.is_empty()).then(|| token.to_owned());
    if after.as_deref().is_some_and(|token| !well_formed(token)) {
        violations.add("page_token", "is not a token this list gave");
    }
    Page {
        size: match size as usize {
            0 => PAGE_DEFAULT,
            size => size.min(PAGE_MAX),
        },
        after,
    }
}

/// `ListRounds`: every bad field at once (an unknown status is named, not ignored).
pub fn list_rounds(message: &pb::ListRoundsRequest) -> Result<ListRounds, Invalid> {
    let mut violations = Violations::new();
    let mut statuses = Vec::new();
    for (index, value) in message.statuses.iter().enumerate() {
        let parsed = pb::RoundStatus::try_from(*value).ok().and_then(|status| {
            RoundStatus::parse(status.as_str_name().strip_prefix("ROUND_STATUS_")?)
        });
        match parsed {
            Some(status) => statuses.push(status),
            None => violations.add(
                format!("statuses[{index}]"),
                format!("{value} is not a round status"),
            ),
        }
    }
    let state = (!message.state.is_empty())
        .then(|| state(&mut violations, "state", &message.state))
        .flatten();
    let well_formed = |token: &str| {
        (1..=64).contains(&token.len())
            && token
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
    };
    let page = page(
        &mut violations,
        message.page_size,
        &message.page_token,
        well_formed,
    );
    violations.finish()?;
    Ok(ListRounds {
        statuses,
        state,
        page,
    })
}

/// `ListQuotas`: every bad field at once.
pub fn list_quotas(message: &pb::ListQuotasRequest) -> Result<ListQuotas, Invalid> {
    let mut violations = Violations::new();
    let state = (!message.state.is_empty())
        .then(|| state(&mut violations, "state", &message.state))
        .flatten();
    let period = message
        .period
        .as_ref()
        .and_then(|range| period(&mut violations, "period", Some(range)));
    let well_formed = |token: &str| {
        token.split_once('/').is_some_and(|(state, millis)| {
            StateCode::parse(state).is_ok() && millis.parse::<i64>().is_ok()
        })
    };
    let page = page(
        &mut violations,
        message.page_size,
        &message.page_token,
        well_formed,
    );
    violations.finish()?;
    Ok(ListQuotas {
        state,
        period,
        page,
    })
}
