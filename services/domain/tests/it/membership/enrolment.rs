//! Enrolment tokens: their issue, their status over time, approvals, cancellation and use.
//!
//! Spain (ES) is the candidate of every enrolment; GB and DE are the members that approve.

use accord_domain::membership::{
    Approval, ENROLMENT_TTL_MAX, Enrolment, EnrolmentStatus as Status, Error,
};
use accord_domain::{Period, StateCode, Timestamp};

use super::super::support::state;
use super::{day, offset};

fn spain() -> StateCode {
    state("ES")
}

/// A token for ES issued on day 10, expiring on day 20, that needs `required` approvals; two
/// members are active.
fn issued(required: u32) -> Enrolment {
    Enrolment::issue("tok-es-1", spain(), day(10), day(20), required, 2).unwrap()
}

/// A token that needs two approvals, approved by GB on day 11 and DE on day 12.
fn ready() -> Enrolment {
    issued(2)
        .approve(state("GB"), true, day(11))
        .and_then(|enrolment| enrolment.approve(state("DE"), true, day(12)))
        .unwrap()
}

fn check_issue(
    token_id: &str,
    expires_at: Timestamp,
    required: u32,
    active_members: usize,
    expected: Result<(), Error>,
) {
    let outcome = Enrolment::issue(
        token_id,
        spain(),
        day(10),
        expires_at,
        required,
        active_members,
    )
    .map(|_| ());
    assert_eq!(outcome, expected, "{token_id:?} expiring {expires_at}");
}

#[test]
fn a_token_is_issued_with_a_valid_id_an_expiry_within_30_days_and_enough_members() {
    let now = day(10);
    let latest = now.plus(Period::CalendarDays(30));
    assert_eq!(now.plus(ENROLMENT_TTL_MAX), latest);
    let invalid_id = |token_id: &str| {
        Err(Error::InvalidTokenId {
            token_id: token_id.to_owned(),
        })
    };
    check_issue("tok-1", offset(now, 1), 0, 0, Ok(()));
    check_issue("tok-1", latest, 2, 2, Ok(()));
    check_issue("Ab_9-z", day(11), 1, 5, Ok(()));
    check_issue(&"x".repeat(64), day(11), 0, 0, Ok(()));
    check_issue("", day(11), 0, 0, invalid_id(""));
    check_issue(&"x".repeat(65), day(11), 0, 0, invalid_id(&"x".repeat(65)));
    check_issue("tok 1", day(11), 0, 0, invalid_id("tok 1"));
    check_issue("tok/1", day(11), 0, 0, invalid_id("tok/1"));
    check_issue("tök", day(11), 0, 0, invalid_id("tök"));
    check_issue(
        "tok-1",
        now,
        0,
        0,
        Err(Error::ExpiryNotAfterIssue {
            expires_at: now,
            now,
        }),
    );
    check_issue(
        "tok-1",
        day(9),
        0,
        0,
        Err(Error::ExpiryNotAfterIssue {
            expires_at: day(9),
            now,
        }),
    );
    check_issue(
        "tok-1",
        offset(latest, 1),
        0,
        0,
        Err(Error::ExpiryTooFar {
            expires_at: offset(latest, 1),
            latest,
        }),
    );
    check_issue(
        "tok-1",
        day(11),
        3,
        2,
        Err(Error::TooManyApprovalsRequired {
            required: 3,
            active_members: 2,
        }),
    );
    check_issue(
        "tok-1",
        day(11),
        1,
        0,
        Err(Error::TooManyApprovalsRequired {
            required: 1,
            active_members: 0,
        }),
    );
}

#[test]
fn a_new_enrolment_keeps_what_it_was_issued_with() {
    let enrolment = issued(2);
    assert_eq!(enrolment.token_id(), "tok-es-1");
    assert_eq!(enrolment.state(), spain());
    assert_eq!(enrolment.issued_at(), day(10));
    assert_eq!(enrolment.expires_at(), day(20));
    assert_eq!(enrolment.required_approvals(), 2);
    assert!(enrolment.approvals().is_empty());
    assert_eq!(enrolment.used_at(), None);
    assert_eq!(enrolment.cancelled_at(), None);
}

#[test]
fn an_enrolments_status_follows_its_approvals_use_cancellation_and_expiry() {
    let awaiting = issued(2);
    let approved_once = awaiting.approve(state("GB"), true, day(11)).unwrap();
    let ready = ready();
    let used = ready.redeem(spain(), day(13)).unwrap();
    let cancelled = ready.cancel(day(13)).unwrap();
    let cancelled_while_awaiting = approved_once.cancel(day(11)).unwrap();
    let no_approvals_needed = issued(0);
    let just_before_expiry = offset(day(20), -1);
    #[rustfmt::skip]
    let table: &[(&str, &Enrolment, Timestamp, Status)] = &[
        ("issued", &awaiting, day(10), Status::AwaitingApprovals),
        ("issued, just before expiry", &awaiting, just_before_expiry, Status::AwaitingApprovals),
        ("issued, at expiry", &awaiting, day(20), Status::Expired),
        ("one of two approvals", &approved_once, day(11), Status::AwaitingApprovals),
        ("two of two approvals", &ready, day(12), Status::Ready),
        ("ready, just before expiry", &ready, just_before_expiry, Status::Ready),
        ("ready, at expiry", &ready, day(20), Status::Expired),
        ("ready, long after expiry", &ready, day(400), Status::Expired),
        ("no approval required", &no_approvals_needed, day(10), Status::Ready),
        ("no approval required, at expiry", &no_approvals_needed, day(20), Status::Expired),
        ("used", &used, day(13), Status::Used),
        ("used, after expiry", &used, day(25), Status::Used),
        ("cancelled when ready", &cancelled, day(13), Status::Cancelled),
        ("cancelled, after expiry", &cancelled, day(25), Status::Cancelled),
        ("cancelled while awaiting", &cancelled_while_awaiting, day(11), Status::Cancelled),
    ];
    for (label, enrolment, now, expected) in table {
        assert_eq!(enrolment.status(*now), *expected, "{label} at {now}");
    }
}

#[test]
fn each_approval_is_recorded_with_its_state_and_time() {
    let enrolment = ready();
    assert_eq!(
        enrolment.approvals(),
        &[
            Approval {
                state: state("GB"),
                at: day(11)
            },
            Approval {
                state: state("DE"),
                at: day(12)
            },
        ]
    );
}

/// A row of the approval table: the enrolment, the approver, whether it is an active member,
/// when it approves, and the expected status and number of approvals, or refusal.
type Approving<'a> = (
    &'a Enrolment,
    &'a str,
    bool,
    Timestamp,
    Result<(Status, usize), Error>,
);

#[test]
fn approvals_come_once_from_each_active_member_other_than_the_candidate() {
    let awaiting = issued(2);
    let approved_once = awaiting.approve(state("GB"), true, day(11)).unwrap();
    let cancelled = awaiting.cancel(day(11)).unwrap();
    let ready = ready();
    let gb_approved = Error::AlreadyApproved {
        approver: state("GB"),
        approved_at: day(11),
    };
    let just_before = offset(day(11), -1);
    #[rustfmt::skip]
    let table: &[Approving] = &[
        (&awaiting, "GB", true, day(11), Ok((Status::AwaitingApprovals, 1))),
        (&approved_once, "DE", true, day(12), Ok((Status::Ready, 2))),
        (&approved_once, "GB", true, day(12), Err(gb_approved.clone())),
        // A repeated approval reads the same once the token is ready.
        (&ready, "GB", true, day(13), Err(gb_approved)),
        (&ready, "FR", true, day(13), Err(Error::NotAwaitingApprovals { status: Status::Ready })),
        (&awaiting, "GB", true, day(20), Err(Error::NotAwaitingApprovals { status: Status::Expired })),
        (&cancelled, "DE", true, day(12), Err(Error::NotAwaitingApprovals { status: Status::Cancelled })),
        (&awaiting, "ES", true, day(11), Err(Error::CandidateCannotApprove { state: spain() })),
        (&awaiting, "BE", false, day(11), Err(Error::ApproverNotActive { approver: state("BE") })),
        (&approved_once, "DE", true, just_before, Err(Error::TimeWentBackwards { last_change_at: day(11), now: just_before })),
        (&awaiting, "DE", true, day(9), Err(Error::TimeWentBackwards { last_change_at: day(10), now: day(9) })),
    ];
    for (enrolment, approver, active, now, expected) in table {
        let outcome = enrolment
            .approve(state(approver), *active, *now)
            .map(|next| (next.status(*now), next.approvals().len()));
        assert_eq!(outcome, *expected, "{approver} approving at {now}");
    }
}

#[test]
fn only_a_token_awaiting_approvals_or_ready_can_be_cancelled() {
    let used = ready().redeem(spain(), day(13)).unwrap();
    let cancelled = ready().cancel(day(13)).unwrap();
    #[rustfmt::skip]
    let table: &[(&str, Enrolment, Timestamp, Result<Timestamp, Error>)] = &[
        ("awaiting approvals", issued(2), day(11), Ok(day(11))),
        ("ready", ready(), day(13), Ok(day(13))),
        ("used", used, day(14), Err(Error::NotCancellable { status: Status::Used })),
        ("expired", ready(), day(20), Err(Error::NotCancellable { status: Status::Expired })),
        ("cancelled", cancelled, day(14), Err(Error::NotCancellable { status: Status::Cancelled })),
    ];
    for (label, enrolment, now, expected) in table {
        let outcome = enrolment.cancel(*now).map(|next| {
            assert_eq!(next.status(*now), Status::Cancelled);
            next.cancelled_at().unwrap()
        });
        assert_eq!(outcome, *expected, "cancelling a token {label}");
    }
}

/// A row of the redemption table: what the token is, who uses it, when, and the expected use
/// time or refusal.
type Redemption<'a> = (
    &'a str,
    &'a Enrolment,
    &'a str,
    Timestamp,
    Result<Timestamp, Error>,
);

#[test]
fn a_token_is_used_once_by_its_state_when_ready_and_each_refusal_says_why() {
    let used = ready().redeem(spain(), day(13)).unwrap();
    let cancelled = ready().cancel(day(13)).unwrap();
    let half_approved = issued(2).approve(state("GB"), true, day(11)).unwrap();
    #[rustfmt::skip]
    let table: &[Redemption] = &[
        ("ready, by its state", &ready(), "ES", day(13), Ok(day(13))),
        ("ready, just before expiry", &ready(), "ES", offset(day(20), -1), Ok(offset(day(20), -1))),
        ("needing no approval", &issued(0), "ES", day(10), Ok(day(10))),
        ("used", &used, "ES", day(14), Err(Error::TokenUsed { used_at: day(13) })),
        ("used, then expired", &used, "ES", day(25), Err(Error::TokenUsed { used_at: day(13) })),
        ("cancelled", &cancelled, "ES", day(14), Err(Error::TokenCancelled { cancelled_at: day(13) })),
        ("cancelled, then expired", &cancelled, "ES", day(25), Err(Error::TokenCancelled { cancelled_at: day(13) })),
        ("expired", &ready(), "ES", day(20), Err(Error::TokenExpired { expires_at: day(20), now: day(20) })),
        ("expired while awaiting", &half_approved, "ES", day(21), Err(Error::TokenExpired { expires_at: day(20), now: day(21) })),
        ("ready, by another state", &ready(), "PT", day(13), Err(Error::WrongState { token_state: spain(), asked: state("PT") })),
        ("awaiting, by another state", &half_approved, "PT", day(13), Err(Error::WrongState { token_state: spain(), asked: state("PT") })),
        ("awaiting one approval", &half_approved, "ES", day(13), Err(Error::AwaitingApprovals { approvals: 1, required: 2 })),
        ("awaiting both approvals", &issued(2), "ES", day(13), Err(Error::AwaitingApprovals { approvals: 0, required: 2 })),
        ("dated before the last approval", &ready(), "ES", day(11), Err(Error::TimeWentBackwards { last_change_at: day(12), now: day(11) })),
    ];
    for (label, enrolment, asked, now, expected) in table {
        let outcome = enrolment.redeem(state(asked), *now).map(|next| {
            assert_eq!(next.status(*now), Status::Used);
            next.used_at().unwrap()
        });
        assert_eq!(outcome, *expected, "using a token {label}");
    }
}
