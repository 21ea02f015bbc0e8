//! Admission offers and admission cases through their public API.

use accord_domain::admission::offer::Error as OfferError;
use accord_domain::admission::{
    self, AdmissionCase, AdmissionEventKind as Kind, AdmissionPerformer as By,
    AdmissionStatus as Status, AdmissionStep as Step, Error, Nomination, Offer, OfferEventKind,
    OfferStatus, OfferWindow,
};
use accord_domain::deadline;
use accord_domain::reason::{AdmissionRefusal, OfferPauseReason};
use accord_domain::{Actor, CaseRef, Lifecycle, Regime, Timestamp};

use super::support::*;

fn offer_ref() -> CaseRef {
    CaseRef::parse("OFR-GB-FR-2025W40").unwrap()
}

fn admission_ref(id: u32) -> CaseRef {
    CaseRef::parse(&format!("ADM-GB-FR-{id}")).unwrap()
}

fn window() -> OfferWindow {
    OfferWindow::new(at("2025-10-01T00:00:00Z"), at("2025-10-31T23:59:59.999Z")).unwrap()
}

fn published(regime: Regime, capacity: u32) -> Offer {
    Offer::publish(
        offer_ref(),
        regime,
        capacity,
        window(),
        at("2025-09-25T09:00:00Z"),
    )
    .unwrap()
    .0
}

fn nominate(offer: &Offer, id: u32, now: &str) -> Result<Nomination, Error> {
    let profile = offer.regime().profile();
    AdmissionCase::nominate(admission_ref(id), offer, profile, gb(), at(now))
}

fn nominated() -> AdmissionCase {
    nominate(&published(Regime::Ukfr2025, 5), 1, "2025-10-02T09:00:00Z")
        .unwrap()
        .case
}

fn granted(regime: Regime) -> AdmissionCase {
    let nomination = nominate(&published(regime, 5), 1, "2025-10-02T09:00:00Z").unwrap();
    nomination
        .case
        .apply(gb(), &Kind::Granted, at("2025-10-06T09:00:00Z"))
        .unwrap()
}

fn check(
    case: &AdmissionCase,
    actor: Actor,
    kind: Kind,
    now: &str,
    expected: Result<Status, &str>,
) {
    let outcome = case
        .apply(actor, &kind, at(now))
        .map(|next| next.status())
        .map_err(|error| admission_error_name(&error));
    assert_eq!(outcome, expected, "{} --{}-->", case.status(), kind.step());
}

#[test]
fn a_nomination_claims_a_slot_of_an_open_offer() {
    let offer = published(Regime::Ukfr2025, 2);
    let nomination = nominate(&offer, 1, "2025-10-02T09:00:00Z").unwrap();
    assert_eq!(nomination.case.status(), Status::Nominated);
    assert_eq!(nomination.offer.used(), 1);
    assert!(nomination.offer.holds_slot(&admission_ref(1)));
    assert_eq!(nomination.case_event.sequence, 1);
    assert_eq!(
        nomination.offer_event.kind,
        OfferEventKind::SlotClaimed {
            admission: admission_ref(1)
        }
    );
    assert_eq!(nomination.offer_event.sequence, 2);
}

#[test]
fn nominations_are_refused_when_the_offer_is_paused_closed_full_or_outside_its_window() {
    let offer = published(Regime::Ukfr2025, 1);
    let in_window = "2025-10-02T09:00:00Z";
    let refused = |offer: &Offer, id, now| match nominate(offer, id, now) {
        Err(Error::Offer(error)) => error,
        other => panic!("expected an offer refusal, got {other:?}"),
    };
    let reason = OfferPauseReason::ParityNotReached;
    let paused = offer
        .apply(
            gb(),
            &OfferEventKind::Paused { reason },
            at("2025-10-01T09:00:00Z"),
        )
        .unwrap();
    assert_eq!(
        refused(&paused, 1, in_window),
        OfferError::Paused { reason }
    );
    let closed = offer
        .apply(gb(), &OfferEventKind::Closed, at("2025-10-01T09:00:00Z"))
        .unwrap();
    assert_eq!(refused(&closed, 1, in_window), OfferError::Closed);
    let full = nominate(&offer, 1, in_window).unwrap().offer;
    assert_eq!(
        refused(&full, 2, in_window),
        OfferError::Full { capacity: 1 }
    );
    assert!(matches!(
        refused(&offer, 1, "2025-11-01T00:00:00Z"),
        OfferError::OutsideWindow { .. }
    ));
    assert!(matches!(
        refused(&offer, 1, "2025-09-30T23:59:59.999Z"),
        OfferError::OutsideWindow { .. }
    ));
    assert_eq!(
        refused(&full, 1, in_window),
        OfferError::AlreadyClaimed {
            admission: admission_ref(1)
        }
    );
    let resumed = paused
        .apply(gb(), &OfferEventKind::Resumed, at("2025-10-02T08:00:00Z"))
        .unwrap();
    assert_eq!(resumed.status(), OfferStatus::Open);
    assert!(nominate(&resumed, 1, in_window).is_ok());
}

#[test]
fn only_the_admitting_state_acts_on_its_offer() {
    let offer = published(Regime::Ukfr2025, 3);
    let reason = OfferPauseReason::JointCommittee;
    let pause = OfferEventKind::Paused { reason };
    assert!(matches!(
        offer.apply(fr(), &pause, at("2025-10-01T00:00:00Z")),
        Err(OfferError::WrongActor { .. })
    ));
    let error = AdmissionCase::nominate(
        admission_ref(1),
        &offer,
        Regime::Ukfr2025.profile(),
        fr(),
        at("2025-10-02T09:00:00Z"),
    )
    .unwrap_err();
    assert!(matches!(error, Error::Offer(OfferError::WrongActor { .. })));
}

#[test]
fn nominations_must_match_the_offers_pair_and_regime() {
    let offer = published(Regime::Ukfr2025, 3);
    let now = at("2025-10-02T09:00:00Z");
    let other_pair = CaseRef::parse("ADM-GB-BE-1").unwrap();
    let error = AdmissionCase::nominate(other_pair, &offer, Regime::Ukfr2025.profile(), gb(), now)
        .unwrap_err();
    assert_eq!(admission_error_name(&error), "WrongCaseRef");
    let error = AdmissionCase::nominate(
        admission_ref(1),
        &offer,
        Regime::DublinIii.profile(),
        gb(),
        now,
    )
    .unwrap_err();
    assert_eq!(admission_error_name(&error), "RegimeMismatch");
}

#[test]
fn a_grant_carries_a_visa_valid_three_months_under_uk_france() {
    let case = granted(Regime::Ukfr2025);
    assert_eq!(case.status(), Status::Granted);
    assert_eq!(case.visa_valid_until(), Some(at("2026-01-06T09:00:00Z")));
}

#[test]
fn the_admitting_state_decides_and_the_origin_confirms_the_departure() {
    let nominated = nominate(&published(Regime::Ukfr2025, 5), 1, "2025-10-02T09:00:00Z")
        .unwrap()
        .case;
    let later = "2025-10-03T09:00:00Z";
    check(&nominated, gb(), Kind::Granted, later, Ok(Status::Granted));
    let refuse = |reasons| Kind::Refused { reasons };
    check(
        &nominated,
        gb(),
        refuse(vec![AdmissionRefusal::SecurityCheckFailed]),
        later,
        Ok(Status::Refused),
    );
    check(&nominated, gb(), refuse(vec![]), later, Err("NoReasons"));
    let twice = vec![
        AdmissionRefusal::DocumentMismatch,
        AdmissionRefusal::DocumentMismatch,
    ];
    check(
        &nominated,
        gb(),
        refuse(twice),
        later,
        Err("DuplicateReason"),
    );
    let withdraw = Kind::Withdrawn {
        reason: text("Candidate withdrew."),
    };
    check(&nominated, gb(), withdraw, later, Ok(Status::Withdrawn));
    check(&nominated, fr(), Kind::Granted, later, Err("WrongActor"));
    check(
        &nominated,
        Actor::State(germany()),
        Kind::Granted,
        later,
        Err("NotAParty"),
    );
    check(
        &nominated,
        gb(),
        Kind::Arrived,
        later,
        Err("StepNotAllowed"),
    );

    let case = granted(Regime::Ukfr2025);
    check(
        &case,
        gb(),
        Kind::Arrived,
        "2025-10-20T09:00:00Z",
        Ok(Status::Arrived),
    );
    check(
        &case,
        fr(),
        Kind::Arrived,
        "2025-10-20T09:00:00Z",
        Err("WrongActor"),
    );
    check(
        &case,
        gb(),
        Kind::Granted,
        "2025-10-20T09:00:00Z",
        Err("StepNotAllowed"),
    );
    let arrived = case
        .apply(gb(), &Kind::Arrived, at("2025-10-20T09:00:00Z"))
        .unwrap();
    assert!(!arrived.is_counted());
    check(
        &arrived,
        gb(),
        Kind::DepartureConfirmed,
        "2025-10-21T09:00:00Z",
        Err("WrongActor"),
    );
    check(
        &arrived,
        fr(),
        Kind::DepartureConfirmed,
        "2025-10-21T09:00:00Z",
        Ok(Status::DepartureConfirmed),
    );
    let confirmed = arrived
        .apply(fr(), &Kind::DepartureConfirmed, at("2025-10-21T09:00:00Z"))
        .unwrap();
    assert!(confirmed.is_counted());
    assert!(confirmed.is_closed());
}

#[test]
fn where_the_regime_asks_no_confirmation_the_arrival_counts() {
    let case = granted(Regime::DublinIii);
    let arrived = case
        .apply(gb(), &Kind::Arrived, at("2025-10-20T09:00:00Z"))
        .unwrap();
    assert!(arrived.is_counted());
    assert!(arrived.is_closed());
    check(
        &arrived,
        fr(),
        Kind::DepartureConfirmed,
        "2025-10-21T09:00:00Z",
        Err("ConfirmationNotRequired"),
    );
}

#[test]
fn an_unused_grant_lapses_one_millisecond_after_the_visa_expires() {
    let case = granted(Regime::Ukfr2025);
    let clock = Actor::Clock(britain());
    assert_eq!(
        deadline::admission_due(&case, at("2026-01-06T09:00:00.000Z")),
        None
    );
    let due = deadline::admission_due(&case, at("2026-01-06T09:00:00.001Z")).unwrap();
    assert_eq!((due.kind.clone(), due.actor), (Kind::GrantLapsed, clock));
    check(
        &case,
        clock,
        Kind::GrantLapsed,
        "2026-01-06T09:00:00.000Z",
        Err("NotDue"),
    );
    check(
        &case,
        clock,
        Kind::GrantLapsed,
        "2026-01-06T09:00:00.001Z",
        Ok(Status::GrantLapsed),
    );
    check(
        &case,
        gb(),
        Kind::GrantLapsed,
        "2026-01-06T09:00:00.001Z",
        Err("WrongActor"),
    );
    check(
        &case,
        gb(),
        Kind::Arrived,
        "2026-01-06T09:00:00.000Z",
        Ok(Status::Arrived),
    );
    check(
        &case,
        gb(),
        Kind::Arrived,
        "2026-01-06T09:00:00.001Z",
        Err("DeadlinePassed"),
    );
    let lapsed = case
        .apply(clock, &Kind::GrantLapsed, at("2026-01-07T00:00:00Z"))
        .unwrap();
    assert!(lapsed.status().releases_offer_slot());
}

#[test]
fn a_slot_given_back_can_be_claimed_again() {
    let offer = published(Regime::Ukfr2025, 1);
    let first = nominate(&offer, 1, "2025-10-02T09:00:00Z").unwrap();
    let refused = first
        .case
        .apply(
            gb(),
            &Kind::Refused {
                reasons: vec![AdmissionRefusal::NotPresentInTerritory],
            },
            at("2025-10-03T09:00:00Z"),
        )
        .unwrap();
    assert!(refused.status().releases_offer_slot());
    let release = OfferEventKind::SlotReleased {
        admission: admission_ref(1),
    };
    let offer = first
        .offer
        .apply(gb(), &release, at("2025-10-03T09:00:00Z"))
        .unwrap();
    assert_eq!(offer.used(), 0);
    assert!(matches!(
        offer.apply(gb(), &release, at("2025-10-03T09:00:00Z")),
        Err(OfferError::NotClaimed { .. })
    ));
    assert!(nominate(&offer, 2, "2025-10-04T09:00:00Z").is_ok());
}

fn amend(capacity: Option<u32>, closes_at: Option<&str>) -> OfferEventKind {
    OfferEventKind::Amended {
        capacity,
        closes_at: closes_at.map(at),
    }
}

#[test]
fn an_amendment_grows_capacity_but_never_below_the_slots_taken() {
    let offer = published(Regime::Ukfr2025, 2);
    let offer = nominate(&offer, 1, "2025-10-02T09:00:00Z").unwrap().offer;
    let offer = nominate(&offer, 2, "2025-10-02T10:00:00Z").unwrap().offer;
    let now = at("2025-10-03T09:00:00Z");
    assert_eq!(
        offer.apply(gb(), &amend(Some(1), None), now),
        Err(OfferError::CapacityBelowUse {
            capacity: 1,
            used: 2
        })
    );
    let grown = offer.apply(gb(), &amend(Some(3), None), now).unwrap();
    assert_eq!(grown.remaining(), 1);
    assert_eq!(grown.window(), window());
}

#[test]
fn an_amendment_moves_the_windows_end_but_not_before_its_opening() {
    let offer = published(Regime::Ukfr2025, 2);
    let now = at("2025-10-03T09:00:00Z");
    let extended = offer
        .apply(gb(), &amend(None, Some("2025-11-30T23:59:59Z")), now)
        .unwrap();
    assert_eq!(extended.window().closes_at(), at("2025-11-30T23:59:59Z"));
    assert_eq!(extended.capacity(), 2);
    assert!(nominate(&extended, 1, "2025-11-15T09:00:00Z").is_ok());
    assert!(matches!(
        offer.apply(gb(), &amend(None, Some("2025-09-01T00:00:00Z")), now),
        Err(OfferError::EmptyWindow { .. })
    ));
    assert_eq!(
        offer.apply(gb(), &amend(None, None), now),
        Err(OfferError::EmptyAmendment)
    );
    let closed = offer.apply(gb(), &OfferEventKind::Closed, now).unwrap();
    assert!(matches!(
        closed.apply(gb(), &amend(Some(5), None), now),
        Err(OfferError::StepNotAllowed { .. })
    ));
}

/// Every allowed admission step, written out from DOMAIN.md ("Admission offer", coordinator
/// layer) and DESIGN.md §3; anything not listed is refused. DOMAIN.md's SLOT_MATCHED (linking
/// a slot to a readmission's debt) is not an admission step: the offer's SLOT_CLAIMED names the
/// admission, and the ledger, not the case, pairs admissions with returns.
#[test]
fn the_admission_transition_table_has_exactly_these_rows() {
    use Status::*;
    #[rustfmt::skip]
    let expected: &[(Status, Step, By, Status)] = &[
        (Nominated, Step::VettingStarted, By::Admitting, Vetting),
        // Deliberate: vetting is optional; A may decide straight from NOMINATED, as DESIGN.md
        // §3 draws it (NOMINATED → GRANTED | REFUSED | WITHDRAWN; module docs).
        (Nominated, Step::Granted, By::Admitting, Granted),
        (Nominated, Step::Refused, By::Admitting, Refused),
        // DOMAIN.md's CANDIDATE_WITHDRAWN; A records it, for the person or itself.
        (Nominated, Step::Withdrawn, By::Admitting, Withdrawn),
        (Vetting, Step::Granted, By::Admitting, Granted),
        (Vetting, Step::Refused, By::Admitting, Refused),
        (Vetting, Step::Withdrawn, By::Admitting, Withdrawn),
        (Granted, Step::TravelBooked, By::Admitting, TravelBooked),
        // Deliberate: booking is optional; A may report the arrival straight from GRANTED
        // (module docs), as DESIGN.md §3 draws it.
        (Granted, Step::Arrived, By::Admitting, Arrived),
        (Granted, Step::GrantLapsed, By::AdmittingClock, GrantLapsed),
        (TravelBooked, Step::Arrived, By::Admitting, Arrived),
        // Deliberate: a booked journey does not stop the visa running out (module docs:
        // "grant lapse [is] possible from GRANTED and TRAVEL_BOOKED").
        (TravelBooked, Step::GrantLapsed, By::AdmittingClock, GrantLapsed),
        // DOMAIN.md's ARRIVED ─▶ COUNTED is `AdmissionCase::is_counted`; DESIGN.md §3 adds O's
        // confirmation where the regime asks for it.
        (Arrived, Step::DepartureConfirmed, By::Origin, DepartureConfirmed),
    ];
    for from in Status::ALL {
        for step in Step::ALL {
            let row = admission::transition(from, step)
                .map(|transition| (transition.performer, transition.to));
            let wanted = expected
                .iter()
                .find(|(status, wanted_step, _, _)| *status == from && *wanted_step == step)
                .map(|(_, _, performer, to)| (*performer, *to));
            assert_eq!(row, wanted, "{from} --{step}-->");
        }
    }
}

#[test]
fn vetting_is_an_optional_step_before_the_decision() {
    let later = "2025-10-03T09:00:00Z";
    let nominated = nominated();
    check(
        &nominated,
        gb(),
        Kind::VettingStarted,
        later,
        Ok(Status::Vetting),
    );
    check(
        &nominated,
        fr(),
        Kind::VettingStarted,
        later,
        Err("WrongActor"),
    );
    let vetting = nominated
        .apply(gb(), &Kind::VettingStarted, at(later))
        .unwrap();
    assert!(!vetting.is_closed());
    let decision_time = "2025-10-04T09:00:00Z";
    check(
        &vetting,
        gb(),
        Kind::Granted,
        decision_time,
        Ok(Status::Granted),
    );
    let refuse = Kind::Refused {
        reasons: vec![AdmissionRefusal::SecurityCheckFailed],
    };
    check(&vetting, gb(), refuse, decision_time, Ok(Status::Refused));
    let withdraw = Kind::Withdrawn {
        reason: text("Candidate withdrew."),
    };
    check(
        &vetting,
        gb(),
        withdraw,
        decision_time,
        Ok(Status::Withdrawn),
    );
    for not_now in [Kind::VettingStarted, Kind::TravelBooked, Kind::Arrived] {
        check(
            &vetting,
            gb(),
            not_now,
            decision_time,
            Err("StepNotAllowed"),
        );
    }
}

#[test]
fn a_booked_journey_ends_in_arrival_or_a_lapsed_grant() {
    let case = granted(Regime::Ukfr2025);
    let booking_time = "2025-10-10T09:00:00Z";
    check(
        &case,
        gb(),
        Kind::TravelBooked,
        booking_time,
        Ok(Status::TravelBooked),
    );
    check(
        &case,
        fr(),
        Kind::TravelBooked,
        booking_time,
        Err("WrongActor"),
    );
    let booked = case
        .apply(gb(), &Kind::TravelBooked, at(booking_time))
        .unwrap();
    assert!(!booked.is_closed());
    assert_eq!(booked.visa_valid_until(), case.visa_valid_until());
    check(
        &booked,
        gb(),
        Kind::Arrived,
        "2025-10-20T09:00:00Z",
        Ok(Status::Arrived),
    );
    let withdraw = Kind::Withdrawn {
        reason: text("Candidate withdrew."),
    };
    check(
        &booked,
        gb(),
        withdraw,
        "2025-10-20T09:00:00Z",
        Err("StepNotAllowed"),
    );
    check(
        &booked,
        gb(),
        Kind::TravelBooked,
        "2025-10-20T09:00:00Z",
        Err("StepNotAllowed"),
    );
    let clock = Actor::Clock(britain());
    let lapse_time = "2026-01-06T09:00:00.001Z";
    let due = deadline::admission_due(&booked, at(lapse_time)).unwrap();
    assert_eq!(due.kind, Kind::GrantLapsed);
    check(
        &booked,
        clock,
        Kind::GrantLapsed,
        lapse_time,
        Ok(Status::GrantLapsed),
    );
    check(
        &booked,
        gb(),
        Kind::Arrived,
        lapse_time,
        Err("DeadlinePassed"),
    );
}

#[test]
fn offers_and_admissions_replay_from_their_events() {
    let (offer, published_event) = Offer::publish(
        offer_ref(),
        Regime::Ukfr2025,
        3,
        window(),
        at("2025-09-25T09:00:00Z"),
    )
    .unwrap();
    let nomination = nominate(&offer, 7, "2025-10-02T09:00:00Z").unwrap();
    let (case, granted_event) = nomination
        .case
        .record(gb(), Kind::Granted, at("2025-10-03T09:00:00Z"))
        .unwrap();
    let replayed =
        AdmissionCase::replay(&[nomination.case_event.clone(), granted_event.clone()]).unwrap();
    assert_eq!(replayed, case);
    let offer_again = Offer::replay(&[published_event, nomination.offer_event]).unwrap();
    assert_eq!(offer_again, nomination.offer);
    let out_of_order = AdmissionCase::replay(&[granted_event]);
    assert_eq!(
        out_of_order.map_err(|error| admission_error_name(&error)),
        Err("ReplayStart")
    );
}

#[test]
fn admission_codes_parse_back() {
    for status in Status::ALL {
        assert_eq!(Status::parse(status.code()), Ok(status));
    }
    for step in Step::ALL {
        assert_eq!(Step::parse(step.code()), Ok(step));
    }
    assert!(Timestamp::parse("2025-10-01T00:00:00Z").is_ok());
}
