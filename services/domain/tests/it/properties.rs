//! Property tests: random sequences of steps never break the lifecycles' invariants.

use std::collections::BTreeMap;

use accord_domain::admission::{
    self, AdmissionCase, AdmissionEventKind, AdmissionStep, Offer, OfferEventKind, OfferWindow,
};
use accord_domain::deadline;
use accord_domain::readmission::{
    ReadmissionCase, ReadmissionEvent, ReadmissionEventKind, ReadmissionStatus, ReadmissionStep,
    transition,
};
use accord_domain::reason::{AdmissionRefusal, OfferPauseReason, ReadmissionReason};
use accord_domain::regime::Silence;
use accord_domain::{
    Actor, CaseRef, Lifecycle, Period, Regime, RegimeProfile, ReplyTrack, Timestamp,
};
use proptest::prelude::*;

use super::support::*;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// How far the clock moves before an attempt: mostly hours, sometimes weeks, now and then
/// backwards.
fn time_step() -> impl Strategy<Value = i64> {
    prop_oneof![
        12 => 0..DAY_MS,
        3 => 0..(20 * DAY_MS),
        1 => -(DAY_MS)..0,
    ]
}

fn actor(index: u8) -> Actor {
    match index % 6 {
        0 => gb(),
        1 => fr(),
        2 => Actor::Clock(britain()),
        3 => Actor::Clock(france()),
        4 => Actor::State(germany()),
        _ => Actor::Clock(germany()),
    }
}

fn profile(index: u8) -> RegimeProfile {
    match index % 4 {
        0 => Regime::Ukfr2025.profile(),
        1 => Regime::DublinIii.profile(),
        2 => Regime::Ammr2026.profile(),
        _ => RegimeProfile {
            silence: Silence::MeansNothing,
            info_request_pauses_reply_clock: true,
            ..Regime::Eu1for1.profile()
        },
    }
}

/// One random attempt. Most attempts pick a step the table allows from the current status
/// and its rightful actor, so that sequences reach deep into the lifecycle; the others pick
/// any step and any actor, so that refusals are exercised too.
#[derive(Debug, Clone)]
struct Attempt {
    advance_ms: i64,
    take_due: bool,
    follow_table: bool,
    rightful_actor: bool,
    actor: u8,
    step: usize,
    reasons: Vec<u8>,
    slot_offset_ms: i64,
}

fn attempt() -> impl Strategy<Value = Attempt> {
    (
        (time_step(), prop::bool::weighted(0.2)),
        (prop::bool::weighted(0.75), prop::bool::weighted(0.8)),
        (0..6_u8, 0..ReadmissionStep::ALL.len()),
        (prop::collection::vec(0..16_u8, 0..3), 0..(20 * DAY_MS)),
    )
        .prop_map(|(timing, choice, pick, payload)| Attempt {
            advance_ms: timing.0,
            take_due: timing.1,
            follow_table: choice.0,
            rightful_actor: choice.1,
            actor: pick.0,
            step: pick.1,
            reasons: payload.0,
            slot_offset_ms: payload.1,
        })
}

/// The step an attempt asks for.
fn step_of(attempt: &Attempt, case: &ReadmissionCase) -> ReadmissionStep {
    // Withdrawal is allowed almost everywhere; taken as often as any other step it would end
    // most sequences early, so it is offered about one time in 24.
    let rarely_withdraw = attempt.actor != 0 || !attempt.step.is_multiple_of(4);
    let allowed: Vec<ReadmissionStep> = ReadmissionStep::ALL
        .into_iter()
        .filter(|step| transition(case.status(), *step).is_some())
        .filter(|step| !(rarely_withdraw && *step == ReadmissionStep::Withdrawn))
        .collect();
    if attempt.follow_table && !allowed.is_empty() {
        allowed[attempt.step % allowed.len()]
    } else {
        ReadmissionStep::ALL[attempt.step]
    }
}

/// The actor an attempt acts as.
fn actor_of(attempt: &Attempt, case: &ReadmissionCase, step: ReadmissionStep) -> Actor {
    match transition(case.status(), step) {
        Some(row) if attempt.rightful_actor => case.performer_actor(row.performer),
        _ => actor(attempt.actor),
    }
}

/// The event kind an attempt asks for, with its random payload.
fn kind_of(
    attempt: &Attempt,
    step: ReadmissionStep,
    case: &ReadmissionCase,
    now: Timestamp,
) -> ReadmissionEventKind {
    let reasons: Vec<ReadmissionReason> = attempt
        .reasons
        .iter()
        .map(|index| ReadmissionReason::ALL[usize::from(*index)])
        .collect();
    let slot = now.plus_millis(attempt.slot_offset_ms);
    match step {
        ReadmissionStep::Rejected => ReadmissionEventKind::Rejected {
            reasons,
            detailed_reasons: text("Reasons."),
        },
        ReadmissionStep::RejectedFinal => ReadmissionEventKind::RejectedFinal {
            reasons,
            detailed_reasons: text("Reasons."),
        },
        ReadmissionStep::TransferScheduled => ReadmissionEventKind::TransferScheduled { slot },
        ReadmissionStep::TransferPostponed => ReadmissionEventKind::TransferPostponed { slot },
        other => sample_kind(other, case, now),
    }
}

/// Checks what an accepted step did against the transition table.
fn check_accepted(
    before: &ReadmissionCase,
    after: &ReadmissionCase,
    actor: Actor,
    kind: &ReadmissionEventKind,
    now: Timestamp,
) -> Result<(), TestCaseError> {
    let step = kind.step();
    let row = transition(before.status(), step);
    prop_assert!(
        row.is_some(),
        "{} --{step}--> accepted without a row",
        before.status()
    );
    let row = row.unwrap();
    prop_assert_eq!(after.status(), row.to);
    // Acceptance by default has a second recorder: S's node on the log's clock.
    let log_clock =
        step == ReadmissionStep::AcceptedByDefault && actor == Actor::Clock(before.requesting());
    prop_assert!(
        log_clock || actor == before.performer_actor(row.performer),
        "{actor:?} took {step}"
    );
    prop_assert!(ReadmissionStatus::ALL.contains(&after.status()));
    prop_assert!(!before.status().is_terminal());
    prop_assert!(now >= before.last_event_at());
    prop_assert_eq!(after.sequence(), before.sequence() + 1);
    prop_assert_eq!(after.last_event_at(), now);
    if actor.is_clock() {
        let due = deadline::due(before, now).map(|due| due.kind);
        prop_assert_eq!(due.as_ref(), Some(kind));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_readmission_steps_stay_inside_the_transition_table(
        profile_index in 0..4_u8,
        track_index in 0..3_usize,
        attempts in prop::collection::vec(attempt(), 0..80),
    ) {
        let profile = profile(profile_index);
        let track = ReplyTrack::ALL[track_index];
        let submitted_at = arrival().plus(Period::CalendarDays(2));
        let (mut case, first) = ReadmissionCase::submit(
            readmission_ref(), profile.clone(), arrival(), track, submitted_at,
        ).unwrap();
        let mut events: Vec<ReadmissionEvent> = vec![first];
        let mut now = submitted_at;
        for attempt in &attempts {
            now = now.plus_millis(attempt.advance_ms);
            if attempt.take_due && let Some(due) = deadline::due(&case, now.max(case.last_event_at())) {
                let at = now.max(case.last_event_at());
                let recorded = case.record(due.actor, due.kind.clone(), at);
                prop_assert!(recorded.is_ok(), "a due event was refused: {:?}", recorded);
                let (next, event) = recorded.unwrap();
                check_accepted(&case, &next, due.actor, &due.kind, at)?;
                events.push(event);
                case = next;
                continue;
            }
            let step = step_of(attempt, &case);
            let actor = actor_of(attempt, &case, step);
            let kind = kind_of(attempt, step, &case, now);
            match case.record(actor, kind.clone(), now) {
                Ok((next, event)) => {
                    check_accepted(&case, &next, actor, &kind, now)?;
                    events.push(event);
                    case = next;
                }
                Err(error) => {
                    let message = error.to_string();
                    prop_assert!(message.contains(kind.step().code()), "{message}");
                    prop_assert!(message.contains(case.status().code()), "{message}");
                }
            }
        }
        prop_assert_eq!(ReadmissionCase::replay_under(profile, &events), Ok(case));
    }
}

#[derive(Debug, Clone)]
enum AdmissionOp {
    Nominate(u32),
    StartVetting(u32),
    Grant(u32),
    Refuse(u32, bool),
    Withdraw(u32),
    BookTravel(u32),
    Arrive(u32),
    ConfirmDeparture(u32),
    RecordDue(u32),
    ReleaseSlot(u32),
    Pause,
    Resume,
    Close,
    /// A new capacity, and whether to move the window's end by a month.
    Amend(Option<u32>, bool),
}

fn admission_op() -> impl Strategy<Value = AdmissionOp> {
    let id = 0..5_u32;
    prop_oneof![
        4 => id.clone().prop_map(AdmissionOp::Nominate),
        1 => id.clone().prop_map(AdmissionOp::StartVetting),
        2 => id.clone().prop_map(AdmissionOp::Grant),
        1 => (id.clone(), any::<bool>()).prop_map(|(id, empty)| AdmissionOp::Refuse(id, empty)),
        1 => id.clone().prop_map(AdmissionOp::Withdraw),
        1 => id.clone().prop_map(AdmissionOp::BookTravel),
        2 => id.clone().prop_map(AdmissionOp::Arrive),
        1 => id.clone().prop_map(AdmissionOp::ConfirmDeparture),
        1 => id.clone().prop_map(AdmissionOp::RecordDue),
        2 => id.prop_map(AdmissionOp::ReleaseSlot),
        1 => Just(AdmissionOp::Pause),
        1 => Just(AdmissionOp::Resume),
        1 => Just(AdmissionOp::Close),
        1 => (prop::option::of(0..6_u32), any::<bool>())
            .prop_map(|(capacity, extend)| AdmissionOp::Amend(capacity, extend)),
    ]
}

/// Like [`time_step`], with the odd jump of months so that visas run out.
fn admission_time_step() -> impl Strategy<Value = i64> {
    prop_oneof![
        10 => time_step(),
        1 => 0..(100 * DAY_MS),
    ]
}

fn admission_ref(id: u32) -> CaseRef {
    CaseRef::parse(&format!("ADM-GB-FR-{id}")).unwrap()
}

/// The event kind and actor an operation asks of an existing case, if it is a case step.
fn case_step(
    op: &AdmissionOp,
    case: &AdmissionCase,
    now: Timestamp,
) -> Option<(Actor, AdmissionEventKind)> {
    let kind = match op {
        AdmissionOp::StartVetting(_) => AdmissionEventKind::VettingStarted,
        AdmissionOp::Grant(_) => AdmissionEventKind::Granted,
        AdmissionOp::Refuse(_, empty) => AdmissionEventKind::Refused {
            reasons: if *empty {
                vec![]
            } else {
                vec![AdmissionRefusal::WindowClosed]
            },
        },
        AdmissionOp::Withdraw(_) => AdmissionEventKind::Withdrawn {
            reason: text("Withdrawn."),
        },
        AdmissionOp::BookTravel(_) => AdmissionEventKind::TravelBooked,
        AdmissionOp::Arrive(_) => AdmissionEventKind::Arrived,
        AdmissionOp::ConfirmDeparture(_) => AdmissionEventKind::DepartureConfirmed,
        AdmissionOp::RecordDue(_) => {
            let due = deadline::admission_due(case, now)?;
            return Some((due.actor, due.kind));
        }
        _ => return None,
    };
    let actor = if kind == AdmissionEventKind::DepartureConfirmed {
        fr()
    } else {
        gb()
    };
    Some((actor, kind))
}

fn offer_step(op: &AdmissionOp, offer: &Offer) -> Option<OfferEventKind> {
    match op {
        AdmissionOp::Pause => Some(OfferEventKind::Paused {
            reason: OfferPauseReason::Capacity,
        }),
        AdmissionOp::Resume => Some(OfferEventKind::Resumed),
        AdmissionOp::Close => Some(OfferEventKind::Closed),
        AdmissionOp::Amend(capacity, extend) => Some(OfferEventKind::Amended {
            capacity: *capacity,
            closes_at: extend.then(|| offer.window().closes_at().plus_millis(30 * DAY_MS)),
        }),
        AdmissionOp::ReleaseSlot(id) => Some(OfferEventKind::SlotReleased {
            admission: admission_ref(*id),
        }),
        _ => None,
    }
}

fn op_id(op: &AdmissionOp) -> Option<u32> {
    match op {
        AdmissionOp::Nominate(id)
        | AdmissionOp::StartVetting(id)
        | AdmissionOp::Grant(id)
        | AdmissionOp::Refuse(id, _)
        | AdmissionOp::Withdraw(id)
        | AdmissionOp::BookTravel(id)
        | AdmissionOp::Arrive(id)
        | AdmissionOp::ConfirmDeparture(id)
        | AdmissionOp::RecordDue(id)
        | AdmissionOp::ReleaseSlot(id) => Some(*id),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_admission_steps_never_overfill_an_offer_nor_leave_the_table(
        capacity in 1..5_u32,
        dublin in any::<bool>(),
        ops in prop::collection::vec((admission_op(), admission_time_step()), 0..80),
    ) {
        let regime = if dublin { Regime::DublinIii } else { Regime::Ukfr2025 };
        let window = OfferWindow::new(at("2025-10-01T00:00:00Z"), at("2026-03-31T00:00:00Z")).unwrap();
        let offer_ref = CaseRef::parse("OFR-GB-FR-1").unwrap();
        let mut now = at("2025-10-01T00:00:00Z");
        let (mut offer, _) = Offer::publish(offer_ref, regime, capacity, window, now).unwrap();
        let mut cases: BTreeMap<u32, AdmissionCase> = BTreeMap::new();
        for (op, advance) in &ops {
            now = now.plus_millis(*advance);
            let id = op_id(op);
            if let AdmissionOp::Nominate(id) = op {
                let had_room = offer.check_open(now).is_ok() && !offer.holds_slot(&admission_ref(*id));
                match AdmissionCase::nominate(admission_ref(*id), &offer, regime.profile(), gb(), now) {
                    Ok(nomination) => {
                        prop_assert!(had_room && now >= offer.last_event_at());
                        prop_assert_eq!(nomination.offer.used(), offer.used() + 1);
                        offer = nomination.offer;
                        cases.insert(*id, nomination.case);
                    }
                    Err(error) => prop_assert!(matches!(error, admission::Error::Offer(_))),
                }
            } else if let Some(kind) = offer_step(op, &offer) {
                if let Ok(next) = offer.apply(gb(), &kind, now) {
                    offer = next;
                }
            } else if let Some(case) = id.and_then(|id| cases.get(&id))
                && let Some((actor, kind)) = case_step(op, case, now)
                && let Ok(next) = case.apply(actor, &kind, now)
            {
                let row = admission::transition(case.status(), kind.step());
                prop_assert!(row.is_some());
                let row = row.unwrap();
                prop_assert_eq!(next.status(), row.to);
                prop_assert_eq!(actor, case.performer_actor(row.performer));
                prop_assert!(kind.step() != AdmissionStep::Nominated);
                prop_assert!(now >= case.last_event_at());
                cases.insert(id.unwrap_or_default(), next);
            }
            prop_assert!(offer.used() <= offer.capacity());
            let holders = cases.keys().filter(|id| offer.holds_slot(&admission_ref(**id))).count();
            prop_assert_eq!(holders, offer.used() as usize);
        }
    }
}
