//! A directory and an enrolment read back from what a coordinator recorded: the same value,
//! and a refusal for what no sequence of changes could have made.

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

#[test]
fn an_enrolment_reads_back_as_the_steps_left_it() {
    let issued = Enrolment::issue("enr-1", state("PL"), day(1), day(20), 1, 3).unwrap();
    let approved = issued.approve(state("FR"), true, day(2)).unwrap();
    let used = approved.redeem(state("PL"), day(3)).unwrap();
    let restored = Enrolment::restore(
        "enr-1",
        state("PL"),
        day(1),
        day(20),
        1,
        vec![Approval {
            state: state("FR"),
            at: day(2),
        }],
        Some(day(3)),
        None,
    );
    assert_eq!(restored, Ok(used));
}

#[test]
fn an_enrolment_used_before_its_approvals_or_both_used_and_cancelled_is_refused() {
    let early = Enrolment::restore(
        "enr-1",
        state("PL"),
        day(1),
        day(20),
        1,
        Vec::new(),
        Some(day(3)),
        None,
    );
    assert_eq!(
        early,
        Err(Error::AwaitingApprovals {
            approvals: 0,
            required: 1
        })
    );
    let both = Enrolment::restore(
        "enr-1",
        state("PL"),
        day(1),
        day(20),
        0,
        Vec::new(),
        Some(day(3)),
        Some(day(4)),
    );
    assert_eq!(both, Err(Error::TokenUsed { used_at: day(3) }));
    let before_issue = Enrolment::restore(
        "enr-1",
        state("PL"),
        day(5),
        day(20),
        0,
        Vec::new(),
        None,
        Some(day(4)),
    );
    assert!(matches!(before_issue, Err(Error::TimeWentBackwards { .. })));
}
