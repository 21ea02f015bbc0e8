//! The lifecycle every case kind shares: what `record` returns and what `replay` refuses, checked
//! once through the trait for readmissions, offers and admissions alike.

use accord_domain::admission::{
    self, AdmissionCase, AdmissionEventKind, Offer, OfferEventKind, OfferWindow,
};
use accord_domain::readmission::{self, ReadmissionCase, ReadmissionEventKind};
use accord_domain::regime::Silence;
use accord_domain::{
    Actor, CaseRef, Event, Lifecycle, Period, Regime, RegimeProfile, ReplayError, ReplyTrack,
    Timestamp,
};

use super::support::*;

/// A history of three events, recorded through [`Lifecycle::record`], and the record it ends in.
struct History<L: Lifecycle> {
    events: Vec<Event<L::Kind>>,
    last: L,
}

fn record_all<L: Lifecycle>(
    opened: L,
    first: Event<L::Kind>,
    steps: Vec<(Actor, L::Kind)>,
) -> History<L> {
    let mut last = opened;
    let mut events = vec![first];
    for (actor, kind) in steps {
        let now = last.last_event_at().plus_millis(hours(1));
        let (next, event) = last
            .record(actor, kind, now)
            .unwrap_or_else(|error| panic!("recording: {error}"));
        assert_eq!(event.sequence, next.sequence());
        assert_eq!(&event.case_ref, next.case_ref());
        assert_eq!(event.occurred_at, next.last_event_at());
        assert_eq!(event.actor, actor);
        events.push(event);
        last = next;
    }
    History { events, last }
}

fn readmission_history() -> History<ReadmissionCase> {
    let now = arrival().plus(Period::CalendarDays(1));
    let (case, first) = ReadmissionCase::submit(
        readmission_ref(),
        Regime::Ukfr2025.profile(),
        arrival(),
        ReplyTrack::Standard,
        now,
    )
    .unwrap();
    let steps = vec![
        (fr(), ReadmissionEventKind::Received),
        (fr(), ReadmissionEventKind::ExaminationStarted),
    ];
    record_all(case, first, steps)
}

fn offer_ref() -> CaseRef {
    CaseRef::parse("OFR-GB-FR-2025W40").unwrap()
}

/// GB's offer of three places to people in France for October 2025, with its opening event.
fn published_offer() -> (Offer, Event<OfferEventKind>) {
    let window = OfferWindow::new(at("2025-10-01T00:00:00Z"), at("2025-10-31T00:00:00Z")).unwrap();
    Offer::publish(
        offer_ref(),
        Regime::Ukfr2025,
        3,
        window,
        at("2025-09-25T09:00:00Z"),
    )
    .unwrap()
}

fn offer_history() -> History<Offer> {
    let (offer, first) = published_offer();
    let steps = vec![
        (
            gb(),
            OfferEventKind::Amended {
                capacity: Some(4),
                closes_at: None,
            },
        ),
        (gb(), OfferEventKind::Closed),
    ];
    record_all(offer, first, steps)
}

fn admission_history() -> History<AdmissionCase> {
    let (offer, _) = published_offer();
    let nomination = AdmissionCase::nominate(
        CaseRef::parse("ADM-GB-FR-1").unwrap(),
        &offer,
        Regime::Ukfr2025.profile(),
        gb(),
        at("2025-10-02T09:00:00Z"),
    )
    .unwrap();
    let steps = vec![
        (gb(), AdmissionEventKind::VettingStarted),
        (gb(), AdmissionEventKind::Granted),
    ];
    record_all(nomination.case, nomination.case_event, steps)
}

/// Replays `history` whole, then checks the refusals every lifecycle shares.
fn check_replay<L>(history: &History<L>, replay_error: fn(&L::Error) -> Option<&ReplayError>)
where
    L: Lifecycle + PartialEq + std::fmt::Debug,
{
    let events = &history.events;
    assert_eq!(L::replay(events).as_ref().ok(), Some(&history.last));
    assert_eq!(
        L::begin(&events[0]).map(|opened| opened.sequence()).ok(),
        Some(1)
    );

    let refusal = |events: &[Event<L::Kind>]| match L::replay(events) {
        Ok(_) => panic!("replay of {events:?} should be refused"),
        Err(error) => replay_error(&error).cloned(),
    };
    assert_eq!(refusal(&[]), Some(ReplayError::ReplayStart));
    assert_eq!(refusal(&events[1..]), Some(ReplayError::ReplayStart));

    let skipped = [events[0].clone(), events[2].clone()];
    assert_eq!(
        refusal(&skipped),
        Some(ReplayError::ReplayOrder {
            expected_case_ref: events[0].case_ref.clone(),
            expected_sequence: 2,
            found_case_ref: events[2].case_ref.clone(),
            found_sequence: 3,
        })
    );

    let mut foreign = events[1].clone();
    foreign.case_ref = CaseRef::parse("RDM-DE-FR-OTHER").unwrap();
    let mixed = [events[0].clone(), foreign.clone()];
    assert_eq!(
        refusal(&mixed),
        Some(ReplayError::ReplayOrder {
            expected_case_ref: events[0].case_ref.clone(),
            expected_sequence: 2,
            found_case_ref: foreign.case_ref,
            found_sequence: 2,
        })
    );

    let mut by_the_other_party = events[0].clone();
    by_the_other_party.actor = Actor::State(by_the_other_party.case_ref.second_state());
    assert_eq!(
        L::begin(&by_the_other_party)
            .err()
            .and_then(|error| replay_error(&error).cloned()),
        Some(ReplayError::ReplayStart)
    );
}

/// Asserts that `$result` is an error matching `$error` (a pattern, so a function cannot take
/// it), showing what it was instead.
macro_rules! assert_refused {
    ($result:expr, $error:pat) => {{
        let result = $result;
        assert!(matches!(result, Err($error)), "{result:?}");
    }};
}

#[test]
fn a_readmission_replays_what_it_recorded_and_refuses_a_broken_history() {
    check_replay(&readmission_history(), |error| match error {
        readmission::Error::Replay(replay) => Some(replay),
        _ => None,
    });
}

#[test]
fn an_offer_replays_what_it_recorded_and_refuses_a_broken_history() {
    check_replay(&offer_history(), |error| match error {
        admission::offer::Error::Replay(replay) => Some(replay),
        _ => None,
    });
}

#[test]
fn an_admission_replays_what_it_recorded_and_refuses_a_broken_history() {
    check_replay(&admission_history(), |error| match error {
        admission::Error::Replay(replay) => Some(replay),
        _ => None,
    });
}

#[test]
fn a_history_must_open_with_its_opening_step() {
    let readmission = readmission_history();
    let mut received_first = readmission.events[1].clone();
    received_first.sequence = 1;
    received_first.actor = gb();
    assert_eq!(
        ReadmissionCase::begin(&received_first),
        Err(readmission::Error::Replay(ReplayError::ReplayStart))
    );
    let offer = offer_history();
    let mut closed_first = offer.events[2].clone();
    closed_first.sequence = 1;
    assert_eq!(
        Offer::begin(&closed_first),
        Err(admission::offer::Error::Replay(ReplayError::ReplayStart))
    );
}

#[test]
fn an_opening_event_is_checked_as_its_constructor_checks_it() {
    let mut late = readmission_history().events[0].clone();
    late.occurred_at = arrival().plus(Period::CalendarDays(30));
    assert_refused!(
        ReadmissionCase::begin(&late).map(|case| case.status()),
        readmission::Error::RequestOutOfTime { .. }
    );
    let mut other_pair = admission_history().events[0].clone();
    other_pair.case_ref = CaseRef::parse("ADM-GB-DE-1").unwrap();
    other_pair.actor = gb();
    assert_refused!(
        AdmissionCase::begin(&other_pair).map(|case| case.status()),
        admission::Error::WrongCaseRef { .. }
    );
}

#[test]
fn a_readmission_replays_under_a_tuned_profile_of_its_own_regime_only() {
    let history = readmission_history();
    let tuned = RegimeProfile {
        silence: Silence::MeansNothing,
        ..Regime::Ukfr2025.profile()
    };
    let replayed = ReadmissionCase::replay_under(tuned.clone(), &history.events).unwrap();
    assert_eq!(replayed.profile(), &tuned);
    assert_eq!(replayed.status(), history.last.status());
    assert_refused!(
        ReadmissionCase::replay_under(Regime::DublinIii.profile(), &history.events),
        readmission::Error::RegimeMismatch { .. }
    );
}

#[test]
fn record_returns_the_event_it_applied() {
    let history = readmission_history();
    let last_event = history.events.last().unwrap();
    assert_eq!(last_event.kind, ReadmissionEventKind::ExaminationStarted);
    let at_same_instant: Timestamp = history.last.last_event_at();
    let again = history
        .last
        .apply(fr(), &ReadmissionEventKind::Accepted, at_same_instant)
        .unwrap();
    let (recorded, event) = history
        .last
        .record(fr(), ReadmissionEventKind::Accepted, at_same_instant)
        .unwrap();
    assert_eq!(recorded, again);
    assert_eq!(event.kind, ReadmissionEventKind::Accepted);
    assert_eq!(event.sequence, 4);
}
