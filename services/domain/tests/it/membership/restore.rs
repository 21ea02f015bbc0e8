//! A directory and an enrolment read back from what a coordinator recorded: the same value,
//! and a refusal for what no sequence of changes could have made.

use accord_domain::Timestamp;
use accord_domain::membership::{Approval, Directory, Enrolment, Error, MemberStatus};

use super::{agreement, day, network, new_member};
use crate::support::state;

fn restored(directory: &Directory) -> Result<Directory, Error> {
    Directory::restore(
        directory.version(),
        directory.issued_at(),
        directory.members().cloned().collect(),
        directory.agreements().to_vec(),
    )
}

#[test]
fn a_published_directory_reads_back_as_the_same_value() {
    let directory = network();
    assert_eq!(restored(&directory), Ok(directory));
}

#[test]
fn a_directory_listing_a_state_twice_or_an_agreement_with_a_stranger_is_refused() {
    let directory = network();
    let mut members: Vec<_> = directory.members().cloned().collect();
    members.push(new_member("FR"));
    let twice = Directory::restore(1, day(5), members, Vec::new());
    assert_eq!(
        twice,
        Err(Error::AlreadyMember {
            state: state("FR"),
            status: MemberStatus::Active
        })
    );
    let stranger = Directory::restore(
        1,
        day(5),
        directory.members().cloned().collect(),
        vec![agreement("ES", "FR", day(0), None)],
    );
    assert_eq!(stranger, Err(Error::NotAMember { state: state("ES") }));
}

#[test]
fn a_directory_with_overlapping_agreements_of_a_pair_is_refused() {
    let directory = network();
    let overlapping = Directory::restore(
        directory.version(),
        directory.issued_at(),
        directory.members().cloned().collect(),
        vec![
            agreement("GB", "FR", day(0), Some(day(50))),
            agreement("FR", "GB", day(40), None),
        ],
    );
    assert!(matches!(
        overlapping,
        Err(Error::OverlappingAgreement { .. })
    ));
}

/// `PL`'s token `enr-1`, expiring on day 20, read back as issued at `issued_at` needing
/// `required_approvals`, with `approvals` and the use and cancellation given.
fn restored_enrolment(
    issued_at: Timestamp,
    required_approvals: u32,
    approvals: Vec<Approval>,
    used_at: Option<Timestamp>,
    cancelled_at: Option<Timestamp>,
) -> Result<Enrolment, Error> {
    Enrolment::restore(
        "enr-1",
        state("PL"),
        issued_at,
        day(20),
        required_approvals,
        approvals,
        used_at,
        cancelled_at,
    )
}

#[test]
fn an_enrolment_reads_back_as_the_steps_left_it() {
    let issued = Enrolment::issue("enr-1", state("PL"), day(1), day(20), 1, 3).unwrap();
    let approved = issued.approve(state("FR"), true, day(2)).unwrap();
    let used = approved.redeem(state("PL"), day(3)).unwrap();
    let approvals = vec![Approval {
        state: state("FR"),
        at: day(2),
    }];
    let restored = restored_enrolment(day(1), 1, approvals, Some(day(3)), None);
    assert_eq!(restored, Ok(used));
}

#[test]
fn an_enrolment_used_before_its_approvals_or_both_used_and_cancelled_is_refused() {
    let check = |issued_at, required_approvals, used_at, cancelled_at, expected| {
        let restored = restored_enrolment(
            issued_at,
            required_approvals,
            Vec::new(),
            used_at,
            cancelled_at,
        );
        assert_eq!(restored, Err(expected));
    };
    let used_early = Error::AwaitingApprovals {
        approvals: 0,
        required: 1,
    };
    check(day(1), 1, Some(day(3)), None, used_early);
    let used_and_cancelled = Error::TokenUsed { used_at: day(3) };
    check(day(1), 0, Some(day(3)), Some(day(4)), used_and_cancelled);
    let cancelled_before_issue = Error::TimeWentBackwards {
        last_change_at: day(5),
        now: day(4),
    };
    check(day(5), 0, None, Some(day(4)), cancelled_before_issue);
}
