//! A week's cases, worked by the states' case systems through their nodes' real gRPC paths,
//! in two stages around the clock's jump to the transfers:
//!
//! - [`open`], at the week's start: each return is requested, received, decided (a few
//!   rejected, with their reasons), and, when accepted, given a transfer decision and a slot
//!   five days on (three working days' notice in any week); each admission is nominated
//!   under the flow's offer, vetted and granted (a few refused), with travel booked for the
//!   same day.
//! - [`complete`], once the clock is past the slots: returns are handed over and their
//!   arrival confirmed (or a no-show reported); admitted people arrive and their departure is
//!   confirmed where the regime asks for it.
//!
//! [`agreed`] waits until both parties of every case and offer hold the same signed history,
//! and answers how many leaves the log should hold for them (each party reports each event).

use std::future::Future;

use accord_domain::StateCode;
use accord_proto::v1 as pb;
use prost_types::Timestamp;
use tokio::task::JoinSet;

use super::Error;
use super::parties::{Caseworkers, Parties, call, eventually, found};
use super::scenario::{Admissions, Returns};

/// A day, in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// An hour, in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;

/// The transfers' slots and the admitted people's departures: five days into the week.
pub const TRAVEL_AFTER_MS: i64 = 5 * DAY_MS;

/// When the second stage runs: the slots and departures are over.
pub const COMPLETE_AFTER_MS: i64 = TRAVEL_AFTER_MS + 3 * HOUR_MS;

/// How many cases of a week are worked at once.
const CONCURRENT: usize = 48;

/// A week of the scenario: its number (from 1) and its start on the demo's clock.
#[derive(Debug, Clone, Copy)]
pub struct Week {
    /// From 1, over the whole scenario.
    pub number: u32,
    /// Its start, milliseconds since the epoch.
    pub start: i64,
}

impl Week {
    fn at(self, offset_ms: i64) -> Option<Timestamp> {
        Some(time(self.start + offset_ms))
    }
}

/// How a return is meant to end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReturnEnd {
    /// The requested state rejects it.
    Rejected(pb::ReadmissionReason),
    /// The person is handed over and arrives.
    Arrives,
    /// The person is handed over and does not appear.
    NoShow,
}

/// How an admission is meant to end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AdmissionEnd {
    /// The admitting state refuses the candidate.
    Refused(pb::AdmissionRefusalReason),
    /// The person arrives.
    Admitted,
}

/// A return under way.
#[derive(Debug, Clone)]
pub struct Return {
    /// The requesting state.
    pub from: StateCode,
    /// The requested state.
    pub to: StateCode,
    /// The case.
    pub case_ref: String,
    /// How it ends.
    pub end: ReturnEnd,
}

/// An admission under way.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The admitting state.
    pub admitting: StateCode,
    /// The origin state.
    pub origin: StateCode,
    /// The case.
    pub case_ref: String,
    /// How it ends.
    pub end: AdmissionEnd,
}

/// An offer a flow nominates under, for its phase.
#[derive(Debug, Clone)]
pub struct Offer {
    /// The admitting state.
    pub admitting: StateCode,
    /// The origin state.
    pub origin: StateCode,
    /// The offer.
    pub offer_ref: String,
}

/// A week's cases once opened.
#[derive(Debug, Default)]
pub struct Opened {
    /// The returns.
    pub returns: Vec<Return>,
    /// The admissions.
    pub admissions: Vec<Admission>,
}

/// Publishes the offer of `flow` for a phase of `weeks` weeks from `week`: as many places as
/// it nominates, open for the phase and a month beyond.
pub async fn publish(
    parties: &Parties,
    flow: &Admissions,
    week: Week,
    weeks: u32,
) -> Result<Offer, Error> {
    let capacity: u32 = flow.per_week.iter().sum();
    let mut admitting = parties.of(flow.admitting)?.admission;
    let request = pb::PublishOfferRequest {
        idempotency_key: format!(
            "demo-offer-{}-{}-w{}",
            flow.admitting, flow.origin, week.number
        ),
        origin_state: flow.origin.to_string(),
        regime: flow.regime.into(),
        capacity,
        window: Some(pb::TimeRange {
            start_time: week.at(0),
            end_time: week.at((i64::from(weeks) * 7 + 30) * DAY_MS),
        }),
        priority_rules_version: "demo".into(),
    };
    let published = call!("PublishOffer", admitting, publish_offer, request)?;
    let offer = published
        .offer
        .ok_or_else(|| Error::Answer("PublishOffer answered no offer".into()))?;
    Ok(Offer {
        admitting: flow.admitting,
        origin: flow.origin,
        offer_ref: offer.offer_ref,
    })
}

/// The first stage of `week` (see the module documentation) for its returns and admissions;
/// `offers` has one offer per admission flow, in order.
pub async fn open(
    parties: &Parties,
    week: Week,
    week_of_phase: usize,
    (returns, admissions): (&[Returns], &[Admissions]),
    offers: &[Offer],
) -> Result<Opened, Error> {
    let mut tasks = Tasks::new();
    let mut opened = Opened::default();
    for flow in returns {
        let ends = return_ends(flow, week_of_phase);
        for (index, end) in ends.into_iter().enumerate() {
            let (s, r) = (parties.of(flow.from)?, parties.of(flow.to)?);
            let flow = flow.clone();
            tasks
                .run(async move {
                    request(s, r, &flow, week, index, end)
                        .await
                        .map(Worked::Return)
                })
                .await?;
        }
    }
    for (flow, offer) in admissions.iter().zip(offers) {
        for (index, end) in admission_ends(flow, week_of_phase).into_iter().enumerate() {
            let admitting = parties.of(flow.admitting)?;
            let offer = offer.clone();
            let task = async move { nominate(admitting, &offer, week, index, end).await };
            tasks
                .run(async move { task.await.map(Worked::Admission) })
                .await?;
        }
    }
    for worked in tasks.finish().await? {
        match worked {
            Worked::Return(case) => opened.returns.push(case),
            Worked::Admission(case) => opened.admissions.push(case),
            Worked::Done => {}
        }
    }
    Ok(opened)
}

/// The second stage of `week` for what [`open`] started.
pub async fn complete(parties: &Parties, week: Week, opened: &Opened) -> Result<(), Error> {
    let mut tasks = Tasks::new();
    for case in opened
        .returns
        .iter()
        .filter(|case| !matches!(case.end, ReturnEnd::Rejected(_)))
    {
        let (s, r) = (parties.of(case.from)?, parties.of(case.to)?);
        let case = case.clone();
        tasks
            .run(async move { hand_over(s, r, &case, week).await.map(|()| Worked::Done) })
            .await?;
    }
    for case in opened
        .admissions
        .iter()
        .filter(|case| case.end == AdmissionEnd::Admitted)
    {
        let (admitting, origin) = (parties.of(case.admitting)?, parties.of(case.origin)?);
        let case = case.clone();
        tasks
            .run(async move {
                arrive(admitting, origin, &case, week)
                    .await
                    .map(|()| Worked::Done)
            })
            .await?;
    }
    tasks.finish().await?;
    Ok(())
}

/// Waits until both parties of every case of `opened` and of every offer hold the same
/// history; answers the number of events of the cases and of the offers, each of which both
/// parties report to the log.
pub async fn agreed(
    parties: &Parties,
    opened: &Opened,
    offers: &[Offer],
) -> Result<(u64, u64), Error> {
    let mut events = 0;
    for case in &opened.returns {
        let (s, r) = (parties.of(case.from)?, parties.of(case.to)?);
        events += readmission_agreed(s, r, &case.case_ref).await?;
    }
    for case in &opened.admissions {
        let (a, o) = (parties.of(case.admitting)?, parties.of(case.origin)?);
        events += admission_agreed(a, o, &case.case_ref).await?;
    }
    let mut offer_events = 0;
    for offer in offers {
        let (a, o) = (parties.of(offer.admitting)?, parties.of(offer.origin)?);
        offer_events += offer_agreed(a, o, &offer.offer_ref).await?;
    }
    Ok((events, offer_events))
}

/// Which of the week's requests of `flow` end how: the first ones rejected (one reason each,
/// in the scenario's order), then the no-shows, then arrivals.
fn return_ends(flow: &Returns, week_of_phase: usize) -> Vec<ReturnEnd> {
    let count = flow.per_week[week_of_phase] as usize;
    let rejected = flow.rejected.iter().flat_map(|(reason, count)| {
        std::iter::repeat_n(ReturnEnd::Rejected(*reason), *count as usize)
    });
    let no_shows = std::iter::repeat_n(ReturnEnd::NoShow, flow.no_shows as usize);
    rejected
        .chain(no_shows)
        .chain(std::iter::repeat(ReturnEnd::Arrives))
        .take(count)
        .collect()
}

/// Which of the week's nominations of `flow` end how: the first ones refused, then admitted.
fn admission_ends(flow: &Admissions, week_of_phase: usize) -> Vec<AdmissionEnd> {
    let count = flow.per_week[week_of_phase] as usize;
    flow.refused
        .iter()
        .flat_map(|(reason, count)| {
            std::iter::repeat_n(AdmissionEnd::Refused(*reason), *count as usize)
        })
        .chain(std::iter::repeat(AdmissionEnd::Admitted))
        .take(count)
        .collect()
}

/// S requests, R receives and decides; an accepted return gets its transfer decision and slot.
async fn request(
    mut s: Caseworkers,
    mut r: Caseworkers,
    flow: &Returns,
    week: Week,
    index: usize,
    end: ReturnEnd,
) -> Result<Return, Error> {
    let key = format!("demo-w{}-{}{}-{index}", week.number, flow.from, flow.to);
    let open = pb::OpenReadmissionRequest {
        idempotency_key: format!("{key}-open"),
        requested_state: flow.to.to_string(),
        regime: flow.regime.into(),
        arrival_time: week.at(-DAY_MS),
        person: Some(person(week, &key, index)),
        evidence: vec![pb::Evidence {
            kind: pb::EvidenceKind::FingerprintHit.into(),
            reference: format!("EURODAC-{}-{index}", week.number),
            ..Default::default()
        }],
        ..Default::default()
    };
    let opened = call!("OpenReadmission", s.readmission, open_readmission, open)?;
    let case_ref = opened
        .readmission
        .ok_or_else(|| Error::Answer("OpenReadmission answered no case".into()))?
        .case_ref;
    let case = Return {
        from: flow.from,
        to: flow.to,
        case_ref: case_ref.clone(),
        end,
    };
    readmission_reaches(&r, &case_ref, pb::ReadmissionStatus::Received).await?;
    let decision = match end {
        ReturnEnd::Rejected(reason) => {
            pb::decide_readmission_request::Decision::Reject(pb::ReadmissionRejection {
                reasons: vec![reason.into()],
                detailed_reasons: format!("Refused on the ground {}.", reason.as_str_name()),
            })
        }
        ReturnEnd::Arrives | ReturnEnd::NoShow => {
            pb::decide_readmission_request::Decision::Accept(pb::ReadmissionAcceptance::default())
        }
    };
    let decide = pb::DecideReadmissionRequest {
        idempotency_key: format!("{key}-decide"),
        case_ref: case_ref.clone(),
        decision: Some(decision),
    };
    call!(
        "DecideReadmission",
        r.readmission,
        decide_readmission,
        decide
    )?;
    if matches!(end, ReturnEnd::Rejected(_)) {
        return Ok(case);
    }
    readmission_reaches(&s, &case_ref, pb::ReadmissionStatus::Accepted).await?;
    let decision = pb::IssueTransferDecisionRequest {
        idempotency_key: format!("{key}-decision"),
        case_ref: case_ref.clone(),
        decision_reference: format!("TD-{key}"),
        notified_at: week.at(0),
    };
    call!(
        "IssueTransferDecision",
        s.readmission,
        issue_transfer_decision,
        decision
    )?;
    let schedule = pb::ScheduleTransferRequest {
        idempotency_key: format!("{key}-schedule"),
        case_ref: case_ref.clone(),
        slot: Some(pb::TransferSlot {
            start_time: week.at(TRAVEL_AFTER_MS),
            end_time: week.at(TRAVEL_AFTER_MS + HOUR_MS),
            handover_point: "Calais".into(),
            transport_mode: pb::TransportMode::Sea.into(),
        }),
        escorted: true,
        laissez_passer_reference: format!("LP-{key}"),
    };
    call!(
        "ScheduleTransfer",
        s.readmission,
        schedule_transfer,
        schedule
    )?;
    Ok(case)
}

/// S hands the person over in the slot; R confirms the arrival, or reports a no-show.
async fn hand_over(
    mut s: Caseworkers,
    mut r: Caseworkers,
    case: &Return,
    week: Week,
) -> Result<(), Error> {
    let key = format!("demo-{}", case.case_ref);
    let handed_over_at = week.at(TRAVEL_AFTER_MS + HOUR_MS / 2);
    let transfer = pb::ReportTransferRequest {
        idempotency_key: format!("{key}-transfer"),
        case_ref: case.case_ref.clone(),
        handed_over_at,
        handover_point: "Calais".into(),
    };
    call!("ReportTransfer", s.readmission, report_transfer, transfer)?;
    readmission_reaches(&r, &case.case_ref, pb::ReadmissionStatus::Transferred).await?;
    if case.end == ReturnEnd::NoShow {
        let no_show = pb::ReportNoShowRequest {
            idempotency_key: format!("{key}-no-show"),
            case_ref: case.case_ref.clone(),
            note: "The person did not appear at the handover point.".into(),
        };
        call!("ReportNoShow", r.readmission, report_no_show, no_show)?;
    } else {
        let arrival = pb::ConfirmArrivalRequest {
            idempotency_key: format!("{key}-arrival"),
            case_ref: case.case_ref.clone(),
            arrived_at: handed_over_at,
        };
        call!("ConfirmArrival", r.readmission, confirm_arrival, arrival)?;
    }
    Ok(())
}

/// The admitting state nominates a candidate, vets and decides; a grant gets its travel.
async fn nominate(
    mut a: Caseworkers,
    offer: &Offer,
    week: Week,
    index: usize,
    end: AdmissionEnd,
) -> Result<Admission, Error> {
    let key = format!(
        "demo-w{}-{}{}-adm-{index}",
        week.number, offer.admitting, offer.origin
    );
    let nomination = pb::NominateCandidateRequest {
        idempotency_key: format!("{key}-nominate"),
        offer_ref: offer.offer_ref.clone(),
        person: Some(person(week, &key, index)),
        expression_of_interest_reference: format!("EOI-{key}"),
        ..Default::default()
    };
    let nominated = call!(
        "NominateCandidate",
        a.admission,
        nominate_candidate,
        nomination
    )?;
    let case_ref = nominated
        .admission
        .ok_or_else(|| Error::Answer("NominateCandidate answered no case".into()))?
        .case_ref;
    let vetting = pb::StartVettingRequest {
        idempotency_key: format!("{key}-vetting"),
        case_ref: case_ref.clone(),
    };
    call!("StartVetting", a.admission, start_vetting, vetting)?;
    let decision = match end {
        AdmissionEnd::Refused(reason) => {
            pb::decide_admission_request::Decision::Refuse(pb::AdmissionRefusal {
                reasons: vec![reason.into()],
                detailed_reasons: format!("Refused on the ground {}.", reason.as_str_name()),
            })
        }
        AdmissionEnd::Admitted => {
            pb::decide_admission_request::Decision::Grant(pb::AdmissionGrant {
                visa_valid_until: week.at(80 * DAY_MS),
            })
        }
    };
    let decide = pb::DecideAdmissionRequest {
        idempotency_key: format!("{key}-decide"),
        case_ref: case_ref.clone(),
        decision: Some(decision),
    };
    call!("DecideAdmission", a.admission, decide_admission, decide)?;
    if end == AdmissionEnd::Admitted {
        let travel = pb::BookTravelRequest {
            idempotency_key: format!("{key}-travel"),
            case_ref: case_ref.clone(),
            travel: Some(pb::TravelBooking {
                departure_time: week.at(TRAVEL_AFTER_MS + 2 * HOUR_MS),
                transport_mode: pb::TransportMode::Rail.into(),
                departure_point: "Calais-Fréthun".into(),
                entry_point: "Folkestone".into(),
            }),
        };
        call!("BookTravel", a.admission, book_travel, travel)?;
    }
    Ok(Admission {
        admitting: offer.admitting,
        origin: offer.origin,
        case_ref,
        end,
    })
}

/// The admitted person arrives; the origin state confirms the departure where asked.
async fn arrive(
    mut a: Caseworkers,
    mut o: Caseworkers,
    case: &Admission,
    week: Week,
) -> Result<(), Error> {
    let key = format!("demo-{}", case.case_ref);
    let arrival = pb::ReportArrivalRequest {
        idempotency_key: format!("{key}-arrival"),
        case_ref: case.case_ref.clone(),
        arrived_at: week.at(TRAVEL_AFTER_MS + 5 * HOUR_MS / 2),
        entry_point: "Folkestone".into(),
    };
    let arrived = call!("ReportArrival", a.admission, report_arrival, arrival)?;
    let required = arrived
        .admission
        .is_some_and(|admission| admission.departure_confirmation_required);
    if required {
        let seen = admission_reaches(&o, &case.case_ref, pb::AdmissionStatus::Arrived).await?;
        let confirmation = pb::ConfirmDepartureRequest {
            idempotency_key: format!("{key}-departure"),
            case_ref: case.case_ref.clone(),
            departed_at: seen.travel.and_then(|travel| travel.departure_time),
            departure_point: "Calais-Fréthun".into(),
        };
        call!(
            "ConfirmDeparture",
            o.admission,
            confirm_departure,
            confirmation
        )?;
    }
    Ok(())
}

/// A person for the case `key` names: a keyed pseudonym of its own, nationalities and years
/// of birth varied.
fn person(week: Week, key: &str, index: usize) -> pb::PersonalData {
    const NATIONALITIES: [&str; 8] = ["AF", "ER", "IR", "IQ", "SY", "SD", "VN", "AL"];
    let digest = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    pb::PersonalData {
        keyed_pseudonym: format!("{digest:016x}{:016x}{:032x}", u64::from(week.number), index),
        nationality: NATIONALITIES[index % NATIONALITIES.len()].into(),
        birth_year: 1975 + u32::try_from(index % 30).unwrap_or(0),
        vulnerable: index.is_multiple_of(11),
        family_ties: index.is_multiple_of(3),
    }
}

/// `party`'s node's copy of the readmission case; `None` while it holds none.
async fn readmission_on(
    mut party: Caseworkers,
    case_ref: &str,
) -> Result<Option<pb::ReadmissionCase>, Error> {
    let request = pb::GetReadmissionRequest {
        case_ref: case_ref.to_owned(),
    };
    let answer = found(
        "GetReadmission",
        party.readmission.get_readmission(request).await,
    )?;
    Ok(answer.and_then(|answer| answer.readmission))
}

/// `party`'s node's copy of the admission case; `None` while it holds none.
async fn admission_on(
    mut party: Caseworkers,
    case_ref: &str,
) -> Result<Option<pb::AdmissionCase>, Error> {
    let request = pb::GetAdmissionRequest {
        case_ref: case_ref.to_owned(),
    };
    let answer = found("GetAdmission", party.admission.get_admission(request).await)?;
    Ok(answer.and_then(|answer| answer.admission))
}

/// `party`'s node's copy of the offer; `None` while it holds none.
async fn offer_on(mut party: Caseworkers, offer_ref: &str) -> Result<Option<pb::Offer>, Error> {
    let request = pb::GetOfferRequest {
        offer_ref: offer_ref.to_owned(),
    };
    let answer = found("GetOffer", party.admission.get_offer(request).await)?;
    Ok(answer.and_then(|answer| answer.offer))
}

/// Waits until `party`'s node shows the readmission case in `status`.
async fn readmission_reaches(
    party: &Caseworkers,
    case_ref: &str,
    status: pb::ReadmissionStatus,
) -> Result<pb::ReadmissionCase, Error> {
    let what = || format!("{case_ref} to be {} on the node", status.as_str_name());
    eventually(what, || async move {
        let case = readmission_on(party.clone(), case_ref).await?;
        Ok(case.filter(|case| case.status == status as i32))
    })
    .await
}

/// Waits until `party`'s node shows the admission case in `status`.
async fn admission_reaches(
    party: &Caseworkers,
    case_ref: &str,
    status: pb::AdmissionStatus,
) -> Result<pb::AdmissionCase, Error> {
    let what = || format!("{case_ref} to be {} on the node", status.as_str_name());
    eventually(what, || async move {
        let case = admission_on(party.clone(), case_ref).await?;
        Ok(case.filter(|case| case.status == status as i32))
    })
    .await
}

/// Waits until both parties hold the same history of a case or offer, its status and events
/// as `read` reads them; answers its number of events.
async fn both_hold<E, F, Fut>(
    what: &str,
    first: Caseworkers,
    second: Caseworkers,
    read: F,
) -> Result<u64, Error>
where
    E: PartialEq,
    F: Fn(Caseworkers) -> Fut,
    Fut: Future<Output = Result<Option<(i32, Vec<E>)>, Error>>,
{
    eventually(
        || format!("both parties to hold the same history of {what}"),
        || {
            let (one, other) = (read(first.clone()), read(second.clone()));
            async move {
                let (Some(one), Some(other)) = (one.await?, other.await?) else {
                    return Ok(None);
                };
                Ok((one == other).then_some(one.1.len() as u64))
            }
        },
    )
    .await
}

async fn readmission_agreed(s: Caseworkers, r: Caseworkers, case_ref: &str) -> Result<u64, Error> {
    both_hold(case_ref, s, r, |party| async move {
        let case = readmission_on(party, case_ref).await?;
        Ok(case.map(|case| (case.status, case.events)))
    })
    .await
}

async fn admission_agreed(a: Caseworkers, o: Caseworkers, case_ref: &str) -> Result<u64, Error> {
    both_hold(case_ref, a, o, |party| async move {
        let case = admission_on(party, case_ref).await?;
        Ok(case.map(|case| (case.status, case.events)))
    })
    .await
}

async fn offer_agreed(a: Caseworkers, o: Caseworkers, offer_ref: &str) -> Result<u64, Error> {
    both_hold(offer_ref, a, o, |party| async move {
        let offer = offer_on(party, offer_ref).await?;
        Ok(offer.map(|offer| (offer.status, offer.events)))
    })
    .await
}

/// What a task of a stage ends with.
enum Worked {
    Return(Return),
    Admission(Admission),
    Done,
}

/// A stage's tasks, at most [`CONCURRENT`] at once; the first error ends the stage.
struct Tasks {
    running: JoinSet<Result<Worked, Error>>,
    done: Vec<Worked>,
}

impl Tasks {
    fn new() -> Self {
        Self {
            running: JoinSet::new(),
            done: Vec::new(),
        }
    }

    async fn run(
        &mut self,
        task: impl Future<Output = Result<Worked, Error>> + Send + 'static,
    ) -> Result<(), Error> {
        while self.running.len() >= CONCURRENT {
            self.join_one().await?;
        }
        self.running.spawn(task);
        Ok(())
    }

    async fn join_one(&mut self) -> Result<(), Error> {
        if let Some(joined) = self.running.join_next().await {
            let worked = joined
                .map_err(|error| Error::Answer(format!("a case's task failed: {error}")))??;
            self.done.push(worked);
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<Vec<Worked>, Error> {
        while !self.running.is_empty() {
            self.join_one().await?;
        }
        Ok(self.done)
    }
}

pub(super) fn time(millis: i64) -> Timestamp {
    Timestamp {
        seconds: millis.div_euclid(1_000),
        nanos: i32::try_from(millis.rem_euclid(1_000) * 1_000_000).unwrap_or(0),
    }
}
