//! Property: whatever changes are asked for, in whatever order and at whatever times, the
//! accepted ones give versions 0, 1, 2, … issued at times that never go back, and leave a
//! directory that keeps its invariants: agreements of one pair never overlap, every member
//! not revoked can still be reached and still sign, and a revoked member's keys are ended.

use accord_domain::membership::{
    Agreement, CertificateRole, Directory, DirectoryChange as Change, Endpoint, Error, Member,
    MemberCertificate, MemberStatus, SigningKeyEntry, SigningKeyStatus, StatusReason,
};
use accord_domain::{Regime, StateCode};
use proptest::prelude::*;

use super::super::support::state;
use super::{certificate, day, key, new_member};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The states the changes name: enough for several pairs, few enough to meet often.
const STATES: [&str; 5] = ["FR", "GB", "DE", "BE", "IT"];

/// One random change, and how far the clock moves before it.
#[derive(Debug, Clone)]
struct Attempt {
    advance_ms: i64,
    kind: u8,
    state: usize,
    other: usize,
    reason: usize,
    key: u8,
    key_from_offset_ms: i64,
    start_day: u32,
    length_days: Option<u32>,
    regimes: u8,
}

/// Mostly hours to a few days forward, now and then backwards.
fn time_step() -> impl Strategy<Value = i64> {
    prop_oneof![
        10 => 0..(3 * DAY_MS),
        1 => -DAY_MS..0,
    ]
}

fn attempt() -> impl Strategy<Value = Attempt> {
    (
        (time_step(), 0..16_u8),
        (0..STATES.len(), 0..STATES.len(), 0..StatusReason::ALL.len()),
        (0..4_u8, -HOUR_MS..DAY_MS),
        (0..12_u32, prop::option::of(1..30_u32), 0..16_u8),
    )
        .prop_map(|(timing, states, keys, agreement)| Attempt {
            advance_ms: timing.0,
            kind: timing.1,
            state: states.0,
            other: states.1,
            reason: states.2,
            key: keys.0,
            key_from_offset_ms: keys.1,
            start_day: agreement.0,
            length_days: agreement.1,
            regimes: agreement.2,
        })
}

/// The agreement an attempt asks for: its state and another one, the regimes of its bit mask
/// (`UKFR_2025` when none), from its start for its length (no end when none).
fn agreement_of(attempt: &Attempt) -> Agreement {
    let first = state(STATES[attempt.state]);
    let second = state(STATES[(attempt.state + 1 + attempt.other % 4) % STATES.len()]);
    let mut regimes: Vec<Regime> = Regime::ALL
        .into_iter()
        .enumerate()
        .filter(|(bit, _)| attempt.regimes & (1 << bit) != 0)
        .map(|(_, regime)| regime)
        .collect();
    if regimes.is_empty() {
        regimes.push(Regime::Ukfr2025);
    }
    // Starts every five days, so that an agreement often has the start of one it replaces.
    let start_day = attempt.start_day * 5;
    let from = day(start_day);
    let sunset_at = attempt.length_days.map(|length| day(start_day + length));
    Agreement::new(first, second, regimes, None, from, sunset_at).unwrap()
}

fn change_of(attempt: &Attempt, now: accord_domain::Timestamp) -> Change {
    let code = STATES[attempt.state];
    let state = state(code);
    let reason = StatusReason::ALL[attempt.reason];
    let key_id = format!("{}-{}", code.to_ascii_lowercase(), attempt.key);
    match attempt.kind {
        0..=2 => Change::Enrol {
            member: new_member(code),
        },
        3 => Change::Suspend { state, reason },
        4 => Change::Reinstate { state },
        // Revocation is for good: asked for as often as the others, it would soon leave
        // nothing to change.
        5 if attempt.key == 0 => Change::Revoke { state, reason },
        5 => Change::Suspend { state, reason },
        6..=11 => Change::SetAgreement {
            agreement: agreement_of(attempt),
        },
        12 => Change::AddSigningKey {
            state,
            key: key(&key_id, now.plus_millis(attempt.key_from_offset_ms)),
        },
        13 => Change::RetireSigningKey { state, key_id },
        14 => Change::SetCertificates {
            state,
            certificates: certificates_of(attempt.key),
        },
        _ => Change::SetEndpoint {
            state,
            endpoint: Endpoint::parse(&format!("https://node{}.example:443", attempt.key)).unwrap(),
        },
    }
}

/// A gateway certificate, and a node certificate unless `variant` is 0 (a list the directory
/// refuses).
fn certificates_of(variant: u8) -> Vec<MemberCertificate> {
    let gateway = certificate(CertificateRole::Gateway, variant);
    let node = (variant > 0).then(|| certificate(CertificateRole::Node, variant));
    std::iter::once(gateway).chain(node).collect()
}

/// Agreements in strict (pair, start) order, and no two of a pair overlapping.
fn check_agreements(directory: &Directory) -> Result<(), TestCaseError> {
    let agreements = directory.agreements();
    let order = |agreement: &Agreement| (agreement.pair(), agreement.effective_from());
    for (index, agreement) in agreements.iter().enumerate() {
        for earlier in &agreements[..index] {
            prop_assert!(
                order(earlier) < order(agreement),
                "{earlier:?} before {agreement:?}"
            );
            prop_assert!(
                !earlier.overlaps(agreement),
                "{earlier:?} overlaps {agreement:?}"
            );
        }
        let (first, second) = agreement.pair();
        prop_assert!(directory.member(first).is_some() && directory.member(second).is_some());
    }
    Ok(())
}

/// A member not revoked has a node certificate and an active key; a revoked one has only
/// revoked keys that end no later than its revocation; no active key has an end; key ids are
/// unique.
fn check_member(member: &Member) -> Result<(), TestCaseError> {
    let keys = &member.signing_keys;
    for (index, key) in keys.iter().enumerate() {
        prop_assert!(keys[..index].iter().all(|other| other.key_id != key.key_id));
        if key.status == SigningKeyStatus::Active {
            prop_assert_eq!(key.valid_until, None);
        }
    }
    if member.status == MemberStatus::Revoked {
        let ended = |key: &SigningKeyEntry| {
            key.status == SigningKeyStatus::Revoked
                && key
                    .valid_until
                    .is_some_and(|until| until <= member.status_changed_at)
        };
        prop_assert!(keys.iter().all(ended), "{member:?}");
    } else {
        prop_assert!(member.has_certificate(CertificateRole::Node), "{member:?}");
        prop_assert!(member.active_signing_keys() >= 1, "{member:?}");
    }
    Ok(())
}

fn check_members(directory: &Directory) -> Result<(), TestCaseError> {
    let states: Vec<StateCode> = directory.members().map(|member| member.state).collect();
    prop_assert!(states.windows(2).all(|pair| pair[0] < pair[1]));
    for member in directory.members() {
        check_member(member)?;
    }
    let active = directory
        .members()
        .filter(|member| member.status == MemberStatus::Active)
        .count();
    prop_assert_eq!(directory.active_members(), active);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn accepted_changes_number_the_versions_in_order_and_keep_the_invariants(
        attempts in prop::collection::vec(attempt(), 0..80),
    ) {
        let mut directory = Directory::empty(day(0));
        let mut versions = vec![directory.version()];
        let mut now = day(0);
        for attempt in &attempts {
            now = now.plus_millis(attempt.advance_ms);
            let before = directory.issued_at();
            match directory.apply(change_of(attempt, now), now) {
                Ok(next) => {
                    prop_assert_eq!(next.version(), directory.version() + 1);
                    prop_assert!(next.issued_at() >= before);
                    prop_assert_eq!(next.issued_at(), now);
                    check_agreements(&next)?;
                    check_members(&next)?;
                    versions.push(next.version());
                    directory = next;
                }
                Err(error) if now < before => prop_assert_eq!(
                    error,
                    Error::TimeWentBackwards { last_change_at: before, now }
                ),
                Err(_) => {}
            }
        }
        let expected: Vec<u64> = (0..).take(versions.len()).collect();
        prop_assert_eq!(versions, expected);
    }
}
