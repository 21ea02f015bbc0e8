//! Deadlines of readmission cases, with fixed instants.

use accord_domain::deadline::{self, Deadline};
use accord_domain::readmission::{
    ExpiryCause, ReadmissionCase, ReadmissionEventKind as Kind, ReadmissionStatus as Status,
    ReadmissionStep as Step,
};
use accord_domain::reason::{LegalHoldKind, ReadmissionReason};
use accord_domain::regime::Silence;
use accord_domain::{Actor, Lifecycle, Period, Regime, RegimeProfile, ReplyTrack, Timestamp};

use super::support::*;

fn uk_france() -> RegimeProfile {
    Regime::Ukfr2025.profile()
}

/// Submitted on 2025-09-02 08:00, received by France at 09:00.
fn received(profile: &RegimeProfile, track: ReplyTrack) -> ReadmissionCase {
    let case = submitted(profile, track);
    case.apply(fr(), &Kind::Received, at("2025-09-02T09:00:00Z"))
        .unwrap()
}

fn apply(case: &ReadmissionCase, actor: Actor, kind: Kind, now: &str) -> ReadmissionCase {
    case.apply(actor, &kind, at(now))
        .unwrap_or_else(|error| panic!("{error}"))
}

fn refusal(case: &ReadmissionCase, actor: Actor, kind: Kind, now: &str) -> &'static str {
    error_name(&case.apply(actor, &kind, at(now)).unwrap_err())
}

fn accepted_and_decided(profile: &RegimeProfile) -> ReadmissionCase {
    let case = received(profile, ReplyTrack::Standard);
    let case = apply(&case, fr(), Kind::Accepted, "2025-09-05T10:00:00Z");
    apply(
        &case,
        gb(),
        Kind::TransferDecisionIssued,
        "2025-09-05T11:00:00Z",
    )
}

#[test]
fn uk_france_reply_is_due_fourteen_days_after_receipt() {
    let case = received(&uk_france(), ReplyTrack::Standard);
    assert_eq!(
        deadline::deadlines(&case).reply,
        Some(Deadline::At(at("2025-09-16T09:00:00.000Z")))
    );
    let exceptional = received(&uk_france(), ReplyTrack::Exceptional);
    assert_eq!(
        deadline::deadlines(&exceptional).reply,
        Some(Deadline::At(at("2025-09-30T09:00:00.000Z")))
    );
}

#[test]
fn acceptance_by_default_is_due_one_millisecond_after_the_deadline_and_not_before() {
    let case = received(&uk_france(), ReplyTrack::Standard);
    assert_eq!(deadline::due(&case, at("2025-09-16T09:00:00.000Z")), None);
    let due = deadline::due(&case, at("2025-09-16T09:00:00.001Z")).unwrap();
    assert_eq!(due.kind, Kind::AcceptedByDefault);
    assert_eq!(due.actor, Actor::Clock(france()));
    assert_eq!(due.lapsed_at(), at("2025-09-16T09:00:00.001Z"));

    let clock = Actor::Clock(france());
    assert_eq!(
        refusal(
            &case,
            clock,
            Kind::AcceptedByDefault,
            "2025-09-16T09:00:00.000Z"
        ),
        "NotDue"
    );
    // Recorded a day late, the acceptance still dates from the lapse.
    let accepted = apply(
        &case,
        clock,
        Kind::AcceptedByDefault,
        "2025-09-17T12:00:00Z",
    );
    assert_eq!(accepted.status(), Status::AcceptedByDefault);
    assert_eq!(accepted.accepted_at(), Some(at("2025-09-16T09:00:00.001Z")));
}

#[test]
fn exceptional_cases_wait_twenty_eight_days() {
    let case = received(&uk_france(), ReplyTrack::Exceptional);
    assert_eq!(deadline::due(&case, at("2025-09-30T09:00:00.000Z")), None);
    assert!(deadline::due(&case, at("2025-09-30T09:00:00.001Z")).is_some());
}

#[test]
fn the_requested_state_can_answer_until_the_deadline_but_not_after() {
    let case = received(&uk_france(), ReplyTrack::Standard);
    let in_time = apply(&case, fr(), rejection(), "2025-09-16T09:00:00.000Z");
    assert_eq!(in_time.status(), Status::Rejected);
    assert_eq!(
        refusal(&case, fr(), rejection(), "2025-09-16T09:00:00.001Z"),
        "DeadlinePassed"
    );
    assert_eq!(
        refusal(&case, fr(), Kind::Accepted, "2025-09-16T09:00:00.001Z"),
        "DeadlinePassed"
    );
}

#[test]
fn where_silence_means_nothing_no_acceptance_by_default_is_due() {
    let profile = RegimeProfile {
        silence: Silence::MeansNothing,
        ..uk_france()
    };
    let case = received(&profile, ReplyTrack::Standard);
    assert_eq!(deadline::due(&case, at("2025-10-20T00:00:00Z")), None);
    let late = apply(&case, fr(), Kind::Accepted, "2025-10-20T00:00:00Z");
    assert_eq!(late.status(), Status::Accepted);
}

#[test]
fn an_information_request_pauses_the_reply_clock_only_where_the_regime_says_so() {
    let pausing = RegimeProfile {
        info_request_pauses_reply_clock: true,
        ..uk_france()
    };
    for (profile, expected) in [
        (uk_france(), "2025-09-16T09:00:00.000Z"),
        (pausing, "2025-09-19T09:00:00.000Z"),
    ] {
        let case = received(&profile, ReplyTrack::Standard);
        let questions = Kind::InformationRequested {
            questions: text("Which beach?"),
        };
        let asked = apply(&case, fr(), questions, "2025-09-03T09:00:00Z");
        let answer = Kind::InformationProvided {
            answer: text("Gravelines."),
        };
        let answered = apply(&asked, gb(), answer, "2025-09-06T09:00:00Z");
        assert_eq!(
            deadline::deadlines(&answered).reply,
            Some(Deadline::At(at(expected)))
        );
    }
}

#[test]
fn a_rejection_closes_when_the_three_week_window_passes_unused() {
    let case = received(&uk_france(), ReplyTrack::Standard);
    let rejected = apply(&case, fr(), rejection(), "2025-09-04T10:00:00Z");
    assert_eq!(
        deadline::deadlines(&rejected).re_examination_request,
        Some(Deadline::At(at("2025-09-25T10:00:00.000Z")))
    );
    let grounds = || Kind::ReExaminationRequested {
        grounds: text("Eurodac hit."),
    };
    assert_eq!(
        refusal(&rejected, gb(), grounds(), "2025-09-25T10:00:00.001Z"),
        "DeadlinePassed"
    );
    let requested = apply(&rejected, gb(), grounds(), "2025-09-25T10:00:00.000Z");
    assert_eq!(requested.status(), Status::ReExaminationRequested);
    let due = deadline::due(&rejected, at("2025-09-25T10:00:00.001Z")).unwrap();
    assert_eq!(due.kind, Kind::RejectionClosed);
    assert_eq!(due.actor, Actor::Clock(britain()));
}

#[test]
fn an_unanswered_re_examination_lapses_after_two_weeks() {
    let case = received(&uk_france(), ReplyTrack::Standard);
    let rejected = apply(&case, fr(), rejection(), "2025-09-04T10:00:00Z");
    let grounds = Kind::ReExaminationRequested {
        grounds: text("Eurodac hit."),
    };
    let requested = apply(&rejected, gb(), grounds, "2025-09-08T10:00:00Z");
    assert_eq!(
        deadline::due(&requested, at("2025-09-22T10:00:00.000Z")),
        None
    );
    let due = deadline::due(&requested, at("2025-09-22T10:00:00.001Z")).unwrap();
    assert_eq!(
        (due.kind.clone(), due.actor),
        (Kind::ReExaminationLapsed, Actor::Clock(britain()))
    );
    let lapsed = apply(&requested, due.actor, due.kind, "2025-09-22T10:00:00.001Z");
    assert_eq!(lapsed.status(), Status::ReExaminationLapsed);
    let late_answer = Kind::AcceptedOnReExamination;
    assert_eq!(
        refusal(&requested, fr(), late_answer, "2025-09-23T00:00:00Z"),
        "DeadlinePassed"
    );
}

#[test]
fn a_uk_france_case_expires_three_months_after_arrival() {
    let decided = accepted_and_decided(&uk_france());
    assert_eq!(
        deadline::deadlines(&decided).procedure,
        Some(Deadline::At(at("2025-12-01T08:00:00.000Z")))
    );
    assert_eq!(
        deadline::due(&decided, at("2025-12-01T08:00:00.000Z")),
        None
    );
    let due = deadline::due(&decided, at("2025-12-01T08:00:00.001Z")).unwrap();
    assert_eq!(
        due.kind,
        Kind::Expired {
            cause: ExpiryCause::ProcedureTimeExhausted
        }
    );
    assert_eq!(due.actor, Actor::Clock(britain()));
    let expired = apply(&decided, due.actor, due.kind, "2025-12-01T08:00:00.001Z");
    assert_eq!(
        expired.expiry_cause(),
        Some(ExpiryCause::ProcedureTimeExhausted)
    );
    let wrong_cause = Kind::Expired {
        cause: ExpiryCause::TransferTimeExhausted,
    };
    assert_eq!(
        refusal(
            &decided,
            Actor::Clock(britain()),
            wrong_cause,
            "2025-12-01T08:00:00.001Z"
        ),
        "NotDue"
    );
}

/// Schedules the transfer of `decided` at `now`: the slot `refused_slot` is refused with
/// `refusal_name`, and `allowed_slot`, the other side of the limit, is accepted.
fn check_slot_limit(
    decided: &ReadmissionCase,
    now: &str,
    (refused_slot, refusal_name): (&str, &str),
    allowed_slot: &str,
) {
    let schedule = |slot| Kind::TransferScheduled { slot: at(slot) };
    assert_eq!(
        refusal(decided, gb(), schedule(refused_slot), now),
        refusal_name,
        "slot {refused_slot}"
    );
    let allowed = decided.apply(gb(), &schedule(allowed_slot), at(now));
    assert!(allowed.is_ok(), "slot {allowed_slot}: {allowed:?}");
}

#[test]
fn a_slot_beyond_the_end_to_end_limit_is_refused() {
    let decided = accepted_and_decided(&uk_france());
    check_slot_limit(
        &decided,
        "2025-11-20T08:00:00Z",
        ("2025-12-01T08:00:00.001Z", "SlotAfterDeadline"),
        "2025-12-01T08:00:00.000Z",
    );
}

#[test]
fn the_transfer_notice_counts_working_days() {
    // Decision on Friday 2025-09-05 11:00: three working days later is Wednesday 11:00.
    let decided = accepted_and_decided(&uk_france());
    let (tuesday, wednesday) = ("2025-09-09T11:00:00Z", "2025-09-10T11:00:00Z");
    check_slot_limit(
        &decided,
        "2025-09-05T11:00:00Z",
        (tuesday, "SlotTooSoon"),
        wednesday,
    );
}

#[test]
fn a_legal_hold_pauses_the_uk_france_clocks_for_its_length() {
    let decided = accepted_and_decided(&uk_france());
    let hold = Kind::LegalHoldPlaced {
        kind: LegalHoldKind::SuspensiveAppeal,
    };
    let held = apply(&decided, gb(), hold, "2025-10-01T08:00:00Z");
    let during = deadline::deadlines(&held);
    assert_eq!(during.procedure, Some(Deadline::Suspended));
    assert_eq!(during.transfer, Some(Deadline::Suspended));
    assert_eq!(deadline::due(&held, Timestamp::MAX), None);
    let released = apply(&held, gb(), Kind::LegalHoldReleased, "2025-10-11T08:00:00Z");
    assert_eq!(released.status(), Status::TransferDecisionIssued);
    let after = deadline::deadlines(&released);
    assert_eq!(
        after.procedure,
        Some(Deadline::At(at("2025-12-11T08:00:00.000Z")))
    );
    assert_eq!(
        after.transfer,
        Some(Deadline::At(at("2026-03-15T10:00:00.000Z")))
    );
    assert_eq!(
        deadline::due(&released, at("2025-12-01T08:00:00.001Z")),
        None
    );
    assert!(deadline::due(&released, at("2025-12-11T08:00:00.001Z")).is_some());
}

#[test]
fn under_dublin_a_released_hold_restarts_the_six_month_transfer_clock() {
    let decided = accepted_and_decided(&Regime::DublinIii.profile());
    assert_eq!(
        deadline::deadlines(&decided).transfer,
        Some(Deadline::At(at("2026-03-05T10:00:00.000Z")))
    );
    assert_eq!(deadline::deadlines(&decided).procedure, None);
    let hold = Kind::LegalHoldPlaced {
        kind: LegalHoldKind::CourtOrder,
    };
    let held = apply(&decided, gb(), hold, "2025-11-01T08:00:00Z");
    let released = apply(&held, gb(), Kind::LegalHoldReleased, "2026-01-15T08:00:00Z");
    assert_eq!(
        deadline::deadlines(&released).transfer,
        Some(Deadline::At(at("2026-07-15T08:00:00.000Z")))
    );
    let due = deadline::due(&released, at("2026-07-15T08:00:00.001Z")).unwrap();
    assert_eq!(
        due.kind,
        Kind::Expired {
            cause: ExpiryCause::TransferTimeExhausted
        }
    );
}

#[test]
fn requests_are_refused_out_of_the_fourteen_day_window_with_r08() {
    let profile = uk_france();
    let last_instant = arrival().plus(Period::CalendarDays(14));
    let track = ReplyTrack::Standard;
    assert!(
        ReadmissionCase::submit(
            readmission_ref(),
            profile.clone(),
            arrival(),
            track,
            last_instant
        )
        .is_ok()
    );
    let late = last_instant.plus_millis(1);
    let error = ReadmissionCase::submit(readmission_ref(), profile.clone(), arrival(), track, late)
        .unwrap_err();
    assert_eq!(error_name(&error), "RequestOutOfTime");
    assert_eq!(
        error.refusal_reason(),
        Some(ReadmissionReason::RequestOutOfTime)
    );
    let before_arrival = arrival().plus_millis(-1);
    let error = ReadmissionCase::submit(
        readmission_ref(),
        profile.clone(),
        arrival(),
        track,
        before_arrival,
    )
    .unwrap_err();
    assert_eq!(error_name(&error), "ArrivalAfterSubmission");
    let offer_ref = accord_domain::CaseRef::parse("OFR-GB-FR-1").unwrap();
    let error =
        ReadmissionCase::submit(offer_ref, profile, arrival(), track, last_instant).unwrap_err();
    assert_eq!(error_name(&error), "WrongCaseKind");
}

#[test]
fn the_earliest_passed_deadline_is_due_first() {
    // Received and never answered: at the end-to-end limit, acceptance by default (due since
    // mid-September) must be recorded first; the expiry follows.
    let case = received(&uk_france(), ReplyTrack::Standard);
    let late = at("2025-12-02T00:00:00Z");
    let first = deadline::due(&case, late).unwrap();
    assert_eq!(first.kind.step(), Step::AcceptedByDefault);
    let accepted = case.apply(first.actor, &first.kind, late).unwrap();
    let second = deadline::due(&accepted, late).unwrap();
    assert_eq!(second.kind.step(), Step::Expired);
    assert!(accepted.apply(second.actor, &second.kind, late).is_ok());
}

#[test]
fn the_requesting_state_records_acceptance_by_default_only_once_the_log_s_time_is_past_the_deadline()
 {
    let case = received(&uk_france(), ReplyTrack::Standard);
    let check = |log_time: &str, expected: Option<Actor>| {
        let due = deadline::acceptance_on_log_clock(&case, at(log_time));
        assert_eq!(due.as_ref().map(|due| due.actor), expected, "at {log_time}");
    };
    check("2025-09-16T09:00:00.000Z", None);
    check("2025-09-16T09:00:00.001Z", Some(Actor::Clock(britain())));
    check("2025-10-01T00:00:00.000Z", Some(Actor::Clock(britain())));

    let accepted = apply(
        &case,
        Actor::Clock(britain()),
        Kind::AcceptedByDefault,
        "2025-09-16T09:00:00.001Z",
    );
    assert_eq!(accepted.status(), Status::AcceptedByDefault);
    assert_eq!(accepted.accepted_at(), Some(at("2025-09-16T09:00:00.001Z")));
    assert_eq!(
        refusal(
            &case,
            Actor::Clock(britain()),
            Kind::AcceptedByDefault,
            "2025-09-16T09:00:00.000Z"
        ),
        "NotDue"
    );
    // Only acceptance by default has a second recorder: S's clock closes nothing of R's.
    assert_eq!(
        refusal(
            &case,
            Actor::State(britain()),
            Kind::Accepted,
            "2025-09-03T09:00:00Z"
        ),
        "WrongActor"
    );
}

#[test]
fn a_reply_on_the_log_is_an_acceptance_a_rejection_a_lapse_or_a_clock_pausing_question() {
    let pausing = Regime::Ammr2026.profile();
    let running = uk_france();
    let check = |profile: &RegimeProfile, step: Step, expected: bool| {
        assert_eq!(
            deadline::answers_request(profile, step),
            expected,
            "{step:?} under {:?}",
            profile.regime
        );
    };
    for profile in [&pausing, &running] {
        check(profile, Step::Accepted, true);
        check(profile, Step::Rejected, true);
        check(profile, Step::AcceptedByDefault, true);
        check(profile, Step::ExaminationStarted, false);
        check(profile, Step::Received, false);
    }
    check(
        &running,
        Step::InformationRequested,
        running.info_request_pauses_reply_clock,
    );
    check(
        &pausing,
        Step::InformationRequested,
        pausing.info_request_pauses_reply_clock,
    );
}
