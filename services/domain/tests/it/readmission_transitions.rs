//! The readmission transition table, checked row by row through `ReadmissionCase::apply`.

use accord_domain::readmission::{
    Performer, ReadmissionEventKind, ReadmissionStatus as Status, ReadmissionStep as Step,
    transition,
};
use accord_domain::reason::ReadmissionReason;
use accord_domain::regime::{Party, Silence};
use accord_domain::{Actor, Lifecycle, Period, Regime, RegimeProfile};

use super::support::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The requesting state, GB.
    S,
    /// The requested state, FR.
    R,
    ClockS,
    ClockR,
    /// DE, party to nothing.
    Stranger,
}

const EVERYONE: [Who; 5] = [Who::S, Who::R, Who::ClockS, Who::ClockR, Who::Stranger];

fn actor(who: Who) -> Actor {
    match who {
        Who::S => gb(),
        Who::R => fr(),
        Who::ClockS => Actor::Clock(britain()),
        Who::ClockR => Actor::Clock(france()),
        Who::Stranger => Actor::State(germany()),
    }
}

fn uk_france() -> RegimeProfile {
    Regime::Ukfr2025.profile()
}

/// UK–France where silence means nothing, so a case in examination can run out of time.
fn silence_means_nothing() -> RegimeProfile {
    RegimeProfile {
        silence: Silence::MeansNothing,
        ..uk_france()
    }
}

/// UK–France with re-examination limits longer than the end-to-end limit.
fn long_re_examination() -> RegimeProfile {
    RegimeProfile {
        re_examination_request_window: Period::Months(6),
        re_examination_reply: Period::Months(6),
        ..uk_france()
    }
}

fn profiles() -> Vec<RegimeProfile> {
    vec![
        uk_france(),
        silence_means_nothing(),
        long_re_examination(),
        Regime::DublinIii.profile(),
    ]
}

fn attempt(
    profile: &RegimeProfile,
    from: Status,
    who: Who,
    step: Step,
) -> Option<Result<Status, &'static str>> {
    let case = case_in(profile, from)?;
    let now = attempt_time(&case, step);
    let kind = sample_kind(step, &case, now);
    Some(
        case.apply(actor(who), &kind, now)
            .map(|next| next.status())
            .map_err(|error| error_name(&error)),
    )
}

fn check_under(
    profile: &RegimeProfile,
    from: Status,
    who: Who,
    step: Step,
    expected: Result<Status, &str>,
) {
    let outcome = attempt(profile, from, who, step)
        .unwrap_or_else(|| panic!("{from} is unreachable under the test profile"));
    assert_eq!(outcome, expected, "{from} --{step} by {who:?}-->");
}

fn check(from: Status, who: Who, step: Step, expected: Result<Status, &str>) {
    check_under(&uk_france(), from, who, step, expected);
}

#[test]
fn the_requested_state_receives_examines_and_answers() {
    check(
        Status::Submitted,
        Who::R,
        Step::Received,
        Ok(Status::Received),
    );
    check(
        Status::Received,
        Who::R,
        Step::ExaminationStarted,
        Ok(Status::UnderExamination),
    );
    check(
        Status::Received,
        Who::R,
        Step::Accepted,
        Ok(Status::Accepted),
    );
    check(
        Status::Received,
        Who::R,
        Step::Rejected,
        Ok(Status::Rejected),
    );
    check(
        Status::Received,
        Who::R,
        Step::InformationRequested,
        Ok(Status::InfoRequested),
    );
    check(
        Status::UnderExamination,
        Who::R,
        Step::Accepted,
        Ok(Status::Accepted),
    );
    check(
        Status::UnderExamination,
        Who::R,
        Step::Rejected,
        Ok(Status::Rejected),
    );
    check(
        Status::UnderExamination,
        Who::R,
        Step::InformationRequested,
        Ok(Status::InfoRequested),
    );
    check(
        Status::InfoRequested,
        Who::S,
        Step::InformationProvided,
        Ok(Status::UnderExamination),
    );
    check(
        Status::InfoRequested,
        Who::R,
        Step::Accepted,
        Ok(Status::Accepted),
    );
    check(
        Status::InfoRequested,
        Who::R,
        Step::Rejected,
        Ok(Status::Rejected),
    );
}

#[test]
fn the_requested_states_clock_accepts_by_default_from_every_reply_status() {
    for from in [
        Status::Received,
        Status::UnderExamination,
        Status::InfoRequested,
    ] {
        check(
            from,
            Who::ClockR,
            Step::AcceptedByDefault,
            Ok(Status::AcceptedByDefault),
        );
        check(
            from,
            Who::ClockS,
            Step::AcceptedByDefault,
            Err("WrongActor"),
        );
        check(from, Who::R, Step::AcceptedByDefault, Err("WrongActor"));
    }
}

#[test]
fn a_rejection_can_be_challenged_accepted_or_left_to_close() {
    check(
        Status::Rejected,
        Who::S,
        Step::ReExaminationRequested,
        Ok(Status::ReExaminationRequested),
    );
    check(
        Status::Rejected,
        Who::S,
        Step::RejectionAccepted,
        Ok(Status::ClosedRejected),
    );
    check(
        Status::Rejected,
        Who::ClockS,
        Step::RejectionClosed,
        Ok(Status::ClosedRejected),
    );
    check(
        Status::ReExaminationRequested,
        Who::R,
        Step::AcceptedOnReExamination,
        Ok(Status::Accepted),
    );
    check(
        Status::ReExaminationRequested,
        Who::R,
        Step::RejectedFinal,
        Ok(Status::RejectedFinal),
    );
    check(
        Status::ReExaminationRequested,
        Who::ClockS,
        Step::ReExaminationLapsed,
        Ok(Status::ReExaminationLapsed),
    );
    check(
        Status::ReExaminationRequested,
        Who::ClockR,
        Step::ReExaminationLapsed,
        Err("WrongActor"),
    );
    check(
        Status::Rejected,
        Who::S,
        Step::Withdrawn,
        Err("StepNotAllowed"),
    );
    check(
        Status::Rejected,
        Who::R,
        Step::Accepted,
        Err("StepNotAllowed"),
    );
}

#[test]
fn the_requesting_state_runs_the_transfer_and_the_requested_state_confirms() {
    check(
        Status::Accepted,
        Who::S,
        Step::TransferDecisionIssued,
        Ok(Status::TransferDecisionIssued),
    );
    check(
        Status::AcceptedByDefault,
        Who::S,
        Step::TransferDecisionIssued,
        Ok(Status::TransferDecisionIssued),
    );
    check(
        Status::TransferDecisionIssued,
        Who::S,
        Step::TransferScheduled,
        Ok(Status::TransferScheduled),
    );
    check(
        Status::TransferDecisionIssued,
        Who::S,
        Step::LegalHoldPlaced,
        Ok(Status::LegalHold),
    );
    check(
        Status::LegalHold,
        Who::S,
        Step::LegalHoldReleased,
        Ok(Status::TransferDecisionIssued),
    );
    check(
        Status::TransferScheduled,
        Who::S,
        Step::TransferPostponed,
        Ok(Status::TransferScheduled),
    );
    check(
        Status::TransferScheduled,
        Who::S,
        Step::TransferExecuted,
        Ok(Status::Transferred),
    );
    check(
        Status::TransferScheduled,
        Who::S,
        Step::TransferFailed,
        Ok(Status::TransferFailed),
    );
    check(
        Status::TransferScheduled,
        Who::S,
        Step::LegalHoldPlaced,
        Ok(Status::LegalHold),
    );
    check(
        Status::TransferFailed,
        Who::S,
        Step::TransferScheduled,
        Ok(Status::TransferScheduled),
    );
    check(
        Status::TransferFailed,
        Who::S,
        Step::LegalHoldPlaced,
        Ok(Status::LegalHold),
    );
    check(
        Status::Transferred,
        Who::R,
        Step::ArrivalConfirmed,
        Ok(Status::ArrivalConfirmed),
    );
    check(
        Status::Transferred,
        Who::R,
        Step::NoShow,
        Ok(Status::NoShow),
    );
    check(
        Status::Transferred,
        Who::S,
        Step::ArrivalConfirmed,
        Err("WrongActor"),
    );
    check(
        Status::Transferred,
        Who::R,
        Step::TransferFailed,
        Err("StepNotAllowed"),
    );
    check(
        Status::Accepted,
        Who::R,
        Step::TransferDecisionIssued,
        Err("WrongActor"),
    );
    check(
        Status::TransferDecisionIssued,
        Who::S,
        Step::TransferExecuted,
        Err("StepNotAllowed"),
    );
    check(
        Status::LegalHold,
        Who::S,
        Step::TransferScheduled,
        Err("StepNotAllowed"),
    );
}

#[test]
fn the_requesting_state_may_withdraw_until_the_hand_over() {
    for from in [
        Status::Submitted,
        Status::Received,
        Status::UnderExamination,
        Status::InfoRequested,
        Status::Accepted,
        Status::AcceptedByDefault,
        Status::ReExaminationRequested,
        Status::TransferDecisionIssued,
        Status::LegalHold,
        Status::TransferScheduled,
        Status::TransferFailed,
    ] {
        check(from, Who::S, Step::Withdrawn, Ok(Status::Withdrawn));
        check(from, Who::R, Step::Withdrawn, Err("WrongActor"));
    }
    check(
        Status::Transferred,
        Who::S,
        Step::Withdrawn,
        Err("StepNotAllowed"),
    );
}

#[test]
fn the_requesting_states_clock_expires_cases_when_a_limit_passes() {
    for from in [
        Status::Submitted,
        Status::Accepted,
        Status::AcceptedByDefault,
        Status::TransferDecisionIssued,
        Status::TransferScheduled,
        Status::TransferFailed,
    ] {
        check(from, Who::ClockS, Step::Expired, Ok(Status::Expired));
        check(from, Who::ClockR, Step::Expired, Err("WrongActor"));
    }
    // Under UK–France the 14-day acceptance by default always comes before the 3-month limit.
    check(Status::Received, Who::ClockS, Step::Expired, Err("NotDue"));
    for from in [
        Status::Received,
        Status::UnderExamination,
        Status::InfoRequested,
    ] {
        check_under(
            &silence_means_nothing(),
            from,
            Who::ClockS,
            Step::Expired,
            Ok(Status::Expired),
        );
    }
    for from in [Status::Rejected, Status::ReExaminationRequested] {
        check_under(
            &long_re_examination(),
            from,
            Who::ClockS,
            Step::Expired,
            Ok(Status::Expired),
        );
    }
    check(
        Status::LegalHold,
        Who::ClockS,
        Step::Expired,
        Err("StepNotAllowed"),
    );
    check(
        Status::Transferred,
        Who::ClockS,
        Step::Expired,
        Err("StepNotAllowed"),
    );
}

#[test]
fn terminal_statuses_refuse_every_step() {
    for from in Status::ALL
        .into_iter()
        .filter(|status| status.is_terminal())
    {
        for step in Step::ALL {
            check(from, Who::S, step, Err("StepNotAllowed"));
            check(from, Who::ClockR, step, Err("StepNotAllowed"));
        }
    }
}

#[test]
fn every_row_of_the_table_can_be_taken_by_its_performer_and_no_one_else() {
    let mut rows = 0;
    for from in Status::ALL {
        for step in Step::ALL {
            let Some(row) = transition(from, step) else {
                continue;
            };
            rows += 1;
            let performer = match row.performer {
                Performer::Party(Party::Requesting) => Who::S,
                Performer::Party(Party::Requested) => Who::R,
                Performer::Clock(duty) => match uk_france().clock_owners.owner(duty) {
                    Party::Requesting => Who::ClockS,
                    Party::Requested => Who::ClockR,
                },
            };
            let taken = profiles()
                .iter()
                .filter_map(|profile| attempt(profile, from, performer, step))
                .any(|outcome| outcome == Ok(row.to));
            assert!(taken, "{from} --{step}--> {} was never taken", row.to);
            for who in EVERYONE.into_iter().filter(|who| *who != performer) {
                let expected = if who == Who::Stranger {
                    "NotAParty"
                } else {
                    "WrongActor"
                };
                check_under(&profiles()[3], from, who, step, Err(expected));
            }
        }
    }
    assert_eq!(rows, 55, "the table changed: update the tests");
}

#[test]
fn every_step_missing_from_the_table_is_refused_naming_status_and_step() {
    for from in Status::ALL {
        let Some(case) = case_in(&uk_france(), from) else {
            continue;
        };
        for step in Step::ALL
            .into_iter()
            .filter(|step| transition(from, *step).is_none())
        {
            let now = attempt_time(&case, step);
            let kind = sample_kind(step, &case, now);
            for who in [Who::S, Who::R, Who::ClockS, Who::ClockR] {
                let error = case.apply(actor(who), &kind, now).unwrap_err();
                assert_eq!(
                    error,
                    accord_domain::readmission::Error::StepNotAllowed { status: from, step }
                );
                assert!(error.to_string().contains(from.code()));
                assert!(error.to_string().contains(step.code()));
            }
        }
    }
}

#[test]
fn strangers_are_refused_before_anything_else() {
    for from in [
        Status::Submitted,
        Status::TransferScheduled,
        Status::Expired,
    ] {
        for step in [
            Step::Received,
            Step::Accepted,
            Step::Withdrawn,
            Step::Expired,
        ] {
            check(from, Who::Stranger, step, Err("NotAParty"));
        }
    }
}

#[test]
fn rejections_need_distinct_reasons_and_parity_only_where_the_regime_allows_it() {
    let examined = case_in(&uk_france(), Status::UnderExamination).unwrap();
    let now = examined.last_event_at().plus_millis(hours(1));
    let reject = |reasons: Vec<ReadmissionReason>| ReadmissionEventKind::Rejected {
        reasons,
        detailed_reasons: text("Numbers out of balance this week."),
    };
    let outcome = |case: &accord_domain::readmission::ReadmissionCase, kind| {
        case.apply(fr(), &kind, now)
            .map(|next| next.status())
            .map_err(|error| error_name(&error))
    };
    assert_eq!(outcome(&examined, reject(vec![])), Err("NoReasons"));
    let twice = vec![
        ReadmissionReason::IdentityNotEstablished,
        ReadmissionReason::IdentityNotEstablished,
    ];
    assert_eq!(outcome(&examined, reject(twice)), Err("DuplicateReason"));
    let parity = vec![ReadmissionReason::ParityImbalance];
    assert_eq!(
        outcome(&examined, reject(parity.clone())),
        Ok(Status::Rejected)
    );
    let dublin = case_in(&Regime::DublinIii.profile(), Status::UnderExamination).unwrap();
    assert_eq!(
        outcome(&dublin, reject(parity)),
        Err("ParityRefusalNotAllowed")
    );
    let rejected = case_in(&uk_france(), Status::Rejected).unwrap();
    assert_eq!(
        rejected.rejection().unwrap().reasons,
        vec![ReadmissionReason::NoProofOfStayOrTransit]
    );
}

#[test]
fn transfer_slots_respect_the_notice_and_the_hand_over_its_slot() {
    let decided = case_in(&uk_france(), Status::TransferDecisionIssued).unwrap();
    let now = decided.last_event_at().plus_millis(hours(1));
    let too_soon = ReadmissionEventKind::TransferScheduled {
        slot: now.plus(Period::CalendarDays(1)),
    };
    let error = decided.apply(gb(), &too_soon, now).unwrap_err();
    assert_eq!(error_name(&error), "SlotTooSoon");
    let scheduled = case_in(&uk_france(), Status::TransferScheduled).unwrap();
    let before_slot = scheduled.last_event_at().plus_millis(hours(1));
    let error = scheduled
        .apply(gb(), &ReadmissionEventKind::TransferExecuted, before_slot)
        .unwrap_err();
    assert_eq!(error_name(&error), "TransferBeforeSlot");
}

#[test]
fn event_times_never_go_backwards() {
    let received = case_in(&uk_france(), Status::Received).unwrap();
    let earlier = received.last_event_at().plus_millis(-1);
    let error = received
        .apply(fr(), &ReadmissionEventKind::Accepted, earlier)
        .unwrap_err();
    assert_eq!(error_name(&error), "TimeWentBackwards");
    let same_instant = received.last_event_at();
    assert!(
        received
            .apply(fr(), &ReadmissionEventKind::Accepted, same_instant)
            .is_ok()
    );
}
