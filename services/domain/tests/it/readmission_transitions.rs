//! The readmission lifecycle, checked against a table written out by hand from DOMAIN.md
//! ("Readmission request") and DESIGN.md §3, not taken from the code: [`LIFECYCLE`] lists every
//! allowed (status, step) with who takes it and where it leads; `transition()` must agree with
//! it on every pair, and `apply` must let each row's performer, and no one else, take it.
//!
//! Where the code deliberately differs from DOMAIN.md, the row says why, citing the code's
//! documentation. Statuses DOMAIN.md names that the domain does not model as statuses:
//! `DRAFT` (local, before `submit`), `DELIVERY_RETRYING` / `DELIVERY_FAILED` (delivery is the
//! node's outbox, not a lifecycle step: the module "does not sign, store or send events"),
//! `TRANSFER_POSTPONED` (a step back to TRANSFER_SCHEDULED), `TRANSFER_EXECUTED` (DESIGN.md's
//! TRANSFERRED), `COUNTED` (`ReadmissionStatus::is_counted` of ARRIVAL_CONFIRMED), and
//! `RESPONSIBILITY_SHIFTED` after EXPIRED (not modelled: EXPIRED is terminal).

use accord_domain::readmission::{
    Performer, ReadmissionEventKind, ReadmissionStatus as Status, ReadmissionStep as Step,
    Transition, transition,
};
use accord_domain::reason::ReadmissionReason;
use accord_domain::regime::{ClockDuty, Party, Silence};
use accord_domain::{Actor, Lifecycle, Period, Regime, RegimeProfile};

use super::support::*;

/// The requesting state S.
const S: Performer = Performer::Party(Party::Requesting);
/// The requested state R.
const R: Performer = Performer::Party(Party::Requested);
/// The node the regime names for the reply deadline (R's under every profile).
const ACCEPTANCE_CLOCK: Performer = Performer::Clock(ClockDuty::AcceptanceByDefault);
/// The node the regime names for the re-examination window (S's).
const CLOSURE_CLOCK: Performer = Performer::Clock(ClockDuty::RejectionClosure);
/// The node the regime names for the re-examination reply (S's).
const LAPSE_CLOCK: Performer = Performer::Clock(ClockDuty::ReExaminationLapse);
/// The node the regime names for the end-to-end and transfer limits (S's).
const EXPIRY_CLOCK: Performer = Performer::Clock(ClockDuty::Expiry);

/// Every allowed step: (from, step, who takes it, to). Anything not listed is refused.
///
/// Deadline steps are taken by a node's clock, not by the coordinator's as DOMAIN.md says of
/// ACCEPTED_BY_DEFAULT: the coordinator is not built, and the regime names whose node records
/// each deadline (`regime` module docs, `ClockOwners`; ARCHITECTURE.md: "Deadlines … are events
/// recorded by the node whose clock the regime names").
#[rustfmt::skip]
const LIFECYCLE: &[(Status, Step, Performer, Status)] = &[
    // SUBMITTED ─ NAP receipt ─▶ RECEIVED: R's access point receives the request.
    (Status::Submitted, Step::Received, R, Status::Received),
    (Status::Submitted, Step::Withdrawn, S, Status::Withdrawn),
    (Status::Submitted, Step::Expired, EXPIRY_CLOCK, Status::Expired),

    // RECEIVED ─▶ UNDER_EXAMINATION.
    (Status::Received, Step::ExaminationStarted, R, Status::UnderExamination),
    // Deliberate: R may reply straight from RECEIVED, as DESIGN.md §3 draws it
    // (RECEIVED → ACCEPTED | ACCEPTED_BY_DEFAULT | REJECTED); recording the start of the
    // examination is optional (`reply_step`: "from RECEIVED, UNDER_EXAMINATION, INFO_REQUESTED").
    (Status::Received, Step::Accepted, R, Status::Accepted),
    (Status::Received, Step::AcceptedByDefault, ACCEPTANCE_CLOCK, Status::AcceptedByDefault),
    (Status::Received, Step::Rejected, R, Status::Rejected),
    (Status::Received, Step::InformationRequested, R, Status::InfoRequested),
    (Status::Received, Step::Withdrawn, S, Status::Withdrawn),
    (Status::Received, Step::Expired, EXPIRY_CLOCK, Status::Expired),

    // UNDER_EXAMINATION ─▶ ACCEPTED | ACCEPTED_BY_DEFAULT | REJECTED | INFO_REQUESTED
    //                   | WITHDRAWN.
    (Status::UnderExamination, Step::Accepted, R, Status::Accepted),
    (Status::UnderExamination, Step::AcceptedByDefault, ACCEPTANCE_CLOCK, Status::AcceptedByDefault),
    (Status::UnderExamination, Step::Rejected, R, Status::Rejected),
    (Status::UnderExamination, Step::InformationRequested, R, Status::InfoRequested),
    (Status::UnderExamination, Step::Withdrawn, S, Status::Withdrawn),
    (Status::UnderExamination, Step::Expired, EXPIRY_CLOCK, Status::Expired),

    // INFO_REQUESTED ─▶ UNDER_EXAMINATION: S answers R's questions.
    (Status::InfoRequested, Step::InformationProvided, S, Status::UnderExamination),
    // The reply clock keeps running during an information request (DOMAIN.md's default), so it
    // can lapse here.
    (Status::InfoRequested, Step::AcceptedByDefault, ACCEPTANCE_CLOCK, Status::AcceptedByDefault),
    // Deliberate: R may decide without waiting for the answer (`reply_step`, as above). A
    // second information request while one is pending is refused.
    (Status::InfoRequested, Step::Accepted, R, Status::Accepted),
    (Status::InfoRequested, Step::Rejected, R, Status::Rejected),
    (Status::InfoRequested, Step::Withdrawn, S, Status::Withdrawn),
    (Status::InfoRequested, Step::Expired, EXPIRY_CLOCK, Status::Expired),

    // REJECTED ─▶ RE_EXAMINATION_REQUESTED | CLOSED_REJECTED. DOMAIN.md's one arrow to
    // CLOSED_REJECTED is two steps: S accepts the rejection, or S's clock closes it when the
    // 3-week window passes unused (`ReadmissionStatus::ClosedRejected`: "accepted by the
    // requesting state or unchallenged").
    (Status::Rejected, Step::ReExaminationRequested, S, Status::ReExaminationRequested),
    (Status::Rejected, Step::RejectionAccepted, S, Status::ClosedRejected),
    (Status::Rejected, Step::RejectionClosed, CLOSURE_CLOCK, Status::ClosedRejected),
    // No withdrawal from REJECTED: "the rejection closes the case instead" (`can_be_withdrawn`).
    (Status::Rejected, Step::Expired, EXPIRY_CLOCK, Status::Expired),

    // RE_EXAMINATION_REQUESTED ─▶ ACCEPTED | REJECTED_FINAL | RE_EXAMINATION_LAPSED.
    (Status::ReExaminationRequested, Step::AcceptedOnReExamination, R, Status::Accepted),
    (Status::ReExaminationRequested, Step::RejectedFinal, R, Status::RejectedFinal),
    (Status::ReExaminationRequested, Step::ReExaminationLapsed, LAPSE_CLOCK, Status::ReExaminationLapsed),
    (Status::ReExaminationRequested, Step::Withdrawn, S, Status::Withdrawn),
    (Status::ReExaminationRequested, Step::Expired, EXPIRY_CLOCK, Status::Expired),

    // ACCEPTED | ACCEPTED_BY_DEFAULT ─▶ TRANSFER_DECISION_ISSUED (S decides the transfer).
    (Status::Accepted, Step::TransferDecisionIssued, S, Status::TransferDecisionIssued),
    (Status::Accepted, Step::Withdrawn, S, Status::Withdrawn),
    (Status::Accepted, Step::Expired, EXPIRY_CLOCK, Status::Expired),
    (Status::AcceptedByDefault, Step::TransferDecisionIssued, S, Status::TransferDecisionIssued),
    (Status::AcceptedByDefault, Step::Withdrawn, S, Status::Withdrawn),
    (Status::AcceptedByDefault, Step::Expired, EXPIRY_CLOCK, Status::Expired),

    // TRANSFER_DECISION_ISSUED ─▶ LEGAL_HOLD | TRANSFER_SCHEDULED.
    (Status::TransferDecisionIssued, Step::LegalHoldPlaced, S, Status::LegalHold),
    (Status::TransferDecisionIssued, Step::TransferScheduled, S, Status::TransferScheduled),
    (Status::TransferDecisionIssued, Step::Withdrawn, S, Status::Withdrawn),
    (Status::TransferDecisionIssued, Step::Expired, EXPIRY_CLOCK, Status::Expired),

    // LEGAL_HOLD "pauses or stops per regime"; DOMAIN.md draws no way out. The release goes
    // back to the decision, not to the old slot: "a held transfer needs a new slot, with fresh
    // notice, once the hold ends" (`place_hold`). No expiry under a hold: its clocks are
    // suspended (`deadline` module docs, `can_expire`).
    (Status::LegalHold, Step::LegalHoldReleased, S, Status::TransferDecisionIssued),
    (Status::LegalHold, Step::Withdrawn, S, Status::Withdrawn),

    // TRANSFER_SCHEDULED ─▶ TRANSFER_POSTPONED ─▶ TRANSFER_SCHEDULED
    //                    ─▶ TRANSFER_EXECUTED | TRANSFER_FAILED.
    (Status::TransferScheduled, Step::TransferPostponed, S, Status::TransferScheduled),
    (Status::TransferScheduled, Step::TransferExecuted, S, Status::Transferred),
    (Status::TransferScheduled, Step::TransferFailed, S, Status::TransferFailed),
    // Deliberate: a court order can come after the slot is set (`place_hold` clears the slot).
    (Status::TransferScheduled, Step::LegalHoldPlaced, S, Status::LegalHold),
    (Status::TransferScheduled, Step::Withdrawn, S, Status::Withdrawn),
    (Status::TransferScheduled, Step::Expired, EXPIRY_CLOCK, Status::Expired),

    // TRANSFER_EXECUTED (DESIGN.md's TRANSFERRED) ─▶ ARRIVAL_CONFIRMED | NO_SHOW, told by R
    // (AMMR Art. 46(1)). After the hand-over the person has moved: no withdrawal and no
    // expiry (`can_be_withdrawn`, `can_expire`), although DOMAIN.md says "ANY non-terminal ─▶
    // EXPIRED".
    (Status::Transferred, Step::ArrivalConfirmed, R, Status::ArrivalConfirmed),
    (Status::Transferred, Step::NoShow, R, Status::NoShow),

    // Deliberate: TRANSFER_FAILED is not terminal; "it may be scheduled again"
    // (`ReadmissionStatus::TransferFailed`), or held.
    (Status::TransferFailed, Step::TransferScheduled, S, Status::TransferScheduled),
    (Status::TransferFailed, Step::LegalHoldPlaced, S, Status::LegalHold),
    (Status::TransferFailed, Step::Withdrawn, S, Status::Withdrawn),
    (Status::TransferFailed, Step::Expired, EXPIRY_CLOCK, Status::Expired),
];

/// The table's row for `step` from `from`, if it has one.
fn expected_row(from: Status, step: Step) -> Option<Transition> {
    LIFECYCLE
        .iter()
        .find(|(status, row_step, _, _)| *status == from && *row_step == step)
        .map(|(_, _, performer, to)| Transition {
            performer: *performer,
            to: *to,
        })
}

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

/// The test actor a performer stands for. Every test profile keeps the default clock owners:
/// R's node accepts by default, S's node records every other deadline (`regime` module docs).
fn who_performs(performer: Performer) -> Who {
    match performer {
        Performer::Party(Party::Requesting) => Who::S,
        Performer::Party(Party::Requested) => Who::R,
        Performer::Clock(ClockDuty::AcceptanceByDefault) => Who::ClockR,
        Performer::Clock(_) => Who::ClockS,
    }
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

/// Acceptance by default also has S's clock as recorder: S's node on the coordinator log's
/// clock (`deadline::acceptance_on_log_clock`; the node checks the log's checkpoint).
#[test]
fn either_states_clock_accepts_by_default_from_every_reply_status() {
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
            Ok(Status::AcceptedByDefault),
        );
        check(from, Who::R, Step::AcceptedByDefault, Err("WrongActor"));
        check(from, Who::S, Step::AcceptedByDefault, Err("WrongActor"));
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
fn transition_allows_exactly_the_lifecycle_tables_steps_to_its_targets_by_its_performers() {
    for (index, (from, step, _, _)) in LIFECYCLE.iter().enumerate() {
        let repeated = LIFECYCLE[..index]
            .iter()
            .any(|(other_from, other_step, _, _)| other_from == from && other_step == step);
        assert!(!repeated, "{from} --{step}--> is listed twice");
    }
    for from in Status::ALL {
        for step in Step::ALL {
            assert_eq!(
                transition(from, step),
                expected_row(from, step),
                "{from} --{step}-->"
            );
        }
    }
}

#[test]
fn terminal_statuses_have_no_row_in_the_lifecycle_table() {
    for (from, step, _, _) in LIFECYCLE {
        assert!(
            !from.is_terminal(),
            "{from} --{step}--> leaves a terminal status"
        );
    }
}

#[test]
fn every_row_of_the_lifecycle_table_is_taken_by_its_performer_and_no_one_else() {
    for &(from, step, performer, to) in LIFECYCLE {
        let performer = who_performs(performer);
        let taken = profiles()
            .iter()
            .filter_map(|profile| attempt(profile, from, performer, step))
            .any(|outcome| outcome == Ok(to));
        assert!(taken, "{from} --{step}--> {to} was never taken");
        // S's clock is acceptance by default's second recorder, on the log's clock.
        let log_clock = |who: &Who| step == Step::AcceptedByDefault && *who == Who::ClockS;
        for who in EVERYONE
            .into_iter()
            .filter(|who| *who != performer && !log_clock(who))
        {
            let expected = if who == Who::Stranger {
                "NotAParty"
            } else {
                "WrongActor"
            };
            check_under(&profiles()[3], from, who, step, Err(expected));
        }
    }
}

#[test]
fn every_step_missing_from_the_lifecycle_table_is_refused_naming_status_and_step() {
    for from in Status::ALL {
        let Some(case) = case_in(&uk_france(), from) else {
            continue;
        };
        for step in Step::ALL
            .into_iter()
            .filter(|step| expected_row(from, *step).is_none())
        {
            let now = attempt_time(&case, step);
            let kind = sample_kind(step, &case, now);
            for who in [Who::S, Who::R, Who::ClockS, Who::ClockR] {
                let error = case.apply(actor(who), &kind, now).unwrap_err();
                assert_eq!(
                    error,
                    accord_domain::readmission::Error::Step(
                        accord_domain::StepRefusal::StepNotAllowed { status: from, step }
                    )
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
