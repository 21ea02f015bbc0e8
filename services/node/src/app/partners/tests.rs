//! The mapping of a directory to this node's partners, and what each partner's standing,
//! keys and agreements allow, as pure look-ups.

use accord_domain::membership::{
    Agreement, CertificateRole, Directory, Endpoint, Member, MemberCertificate, MemberStatus,
    SigningKeyEntry, SigningKeyStatus,
};
use accord_domain::parity::ParityLimit;
use accord_domain::{Regime, StateCode, Timestamp};
use accord_trust::EventSigningKey;

use super::{PartnerBook, Standing};
use crate::app::{Error, Precondition};

const HOUR: i64 = 3_600_000;
const START: i64 = 1_772_442_000_000;

fn at(hours: i64) -> Timestamp {
    Timestamp::from_millis(START + hours * HOUR).unwrap()
}

fn state(code: &str) -> StateCode {
    StateCode::parse(code).unwrap()
}

fn key_entry(key: &EventSigningKey, from: i64, until: Option<i64>) -> SigningKeyEntry {
    let public = key.verifying_key();
    SigningKeyEntry {
        key_id: public.key_id().to_string(),
        public_key: public.to_bytes(),
        status: if until.is_some() {
            SigningKeyStatus::Retired
        } else {
            SigningKeyStatus::Active
        },
        valid_from: at(from),
        valid_until: until.map(at),
    }
}

fn member(code: &str, status: MemberStatus, keys: Vec<SigningKeyEntry>) -> Member {
    Member {
        state: state(code),
        status,
        status_reason: None,
        status_changed_at: at(0),
        joined_at: at(0),
        endpoint: Endpoint::parse(&format!("https://{}.example:7001", code.to_lowercase()))
            .unwrap(),
        certificates: vec![MemberCertificate {
            role: CertificateRole::Node,
            sha256_fingerprint: [7; 32],
            serial: vec![1],
            not_before: at(0),
            not_after: at(1000),
        }],
        signing_keys: keys,
    }
}

fn agreement(
    a: &str,
    b: &str,
    regimes: &[Regime],
    limit: Option<u64>,
    sunset: Option<i64>,
) -> Agreement {
    Agreement::new(
        state(a),
        state(b),
        regimes.to_vec(),
        limit.map(ParityLimit),
        at(0),
        sunset.map(at),
    )
    .unwrap()
}

fn directory(members: Vec<Member>, agreements: Vec<Agreement>) -> Directory {
    Directory::restore(7, at(0), members, agreements).unwrap()
}

fn some_key() -> Vec<SigningKeyEntry> {
    vec![key_entry(&EventSigningKey::generate().unwrap(), 0, None)]
}

#[test]
fn partners_are_the_unrevoked_members_that_share_an_agreement_with_this_state() {
    let listed = directory(
        vec![
            member("FR", MemberStatus::Active, some_key()),
            member("GB", MemberStatus::Active, some_key()),
            member("BE", MemberStatus::Suspended, some_key()),
            member("DE", MemberStatus::Revoked, some_key()),
            member("IT", MemberStatus::Active, some_key()),
        ],
        vec![
            agreement("FR", "GB", &[Regime::Ukfr2025], None, None),
            agreement("FR", "BE", &[Regime::DublinIii], None, None),
            agreement("FR", "DE", &[Regime::DublinIii], None, None),
            agreement("GB", "IT", &[Regime::DublinIii], None, None),
        ],
    );
    let book = PartnerBook::from_directory(state("FR"), &listed);
    assert_eq!(book.states(), vec![state("BE"), state("GB")]);
    assert_eq!(book.standing(state("BE")), Some(Standing::Suspended));
    assert_eq!(
        book.sendable_states(),
        vec![state("GB")],
        "a suspended partner's messages wait"
    );
    assert_eq!(book.version(), Some(7));
    let unlisted = PartnerBook::from_directory(state("ES"), &listed);
    assert!(
        unlisted.states().is_empty(),
        "a state the directory does not list has no partner"
    );
}

#[test]
fn a_suspended_node_sends_nothing_and_opens_nothing() {
    let listed = directory(
        vec![
            member("FR", MemberStatus::Suspended, some_key()),
            member("GB", MemberStatus::Active, some_key()),
        ],
        vec![agreement("FR", "GB", &[Regime::Ukfr2025], None, None)],
    );
    let book = PartnerBook::from_directory(state("FR"), &listed);
    assert!(book.sendable_states().is_empty());
    assert!(matches!(
        book.check_new_case(state("GB"), Regime::Ukfr2025, "GB", at(1)),
        Err(Error::MemberSuspended(_))
    ));
    assert!(matches!(
        book.check_not_suspended(state("GB")),
        Err(Error::MemberSuspended(_))
    ));
}

#[test]
fn new_cases_follow_the_agreement_in_force_and_its_parity_limit() {
    let listed = directory(
        vec![
            member("FR", MemberStatus::Active, some_key()),
            member("GB", MemberStatus::Active, some_key()),
            member("BE", MemberStatus::Suspended, some_key()),
        ],
        vec![
            agreement("FR", "GB", &[Regime::Ukfr2025], Some(5), Some(10)),
            agreement("FR", "BE", &[Regime::DublinIii], None, None),
        ],
    );
    let book = PartnerBook::from_directory(state("FR"), &listed);
    let check = |partner: &str, regime, hours| {
        book.check_new_case(state(partner), regime, "subject", at(hours))
            .map_err(|error| match error {
                Error::FailedPrecondition { precondition, .. } => Some(precondition),
                _ => None,
            })
    };
    assert_eq!(check("GB", Regime::Ukfr2025, 1), Ok(()));
    assert_eq!(
        check("GB", Regime::DublinIii, 1),
        Err(Some(Precondition::NoAgreement))
    );
    assert_eq!(
        check("GB", Regime::Ukfr2025, 10),
        Err(Some(Precondition::NoAgreement)),
        "from the sunset on, no new case"
    );
    assert!(
        book.is_partner(state("GB")),
        "past the sunset GB stays a partner for open cases"
    );
    assert_eq!(
        check("BE", Regime::DublinIii, 1),
        Err(Some(Precondition::PartnerSuspended))
    );
    assert_eq!(
        check("ES", Regime::DublinIii, 1),
        Err(Some(Precondition::NoAgreement))
    );
    assert_eq!(book.parity_limit(state("GB"), at(1)), Some(ParityLimit(5)));
    assert_eq!(book.parity_limit(state("GB"), at(10)), None);
}

#[test]
fn keys_are_found_by_id_among_those_valid_when_the_event_was_received() {
    let old = EventSigningKey::generate().unwrap();
    let new = EventSigningKey::generate().unwrap();
    let listed = directory(
        vec![
            member("FR", MemberStatus::Active, some_key()),
            member(
                "GB",
                MemberStatus::Active,
                vec![key_entry(&old, 0, Some(5)), key_entry(&new, 2, None)],
            ),
        ],
        vec![agreement("FR", "GB", &[Regime::Ukfr2025], None, None)],
    );
    let book = PartnerBook::from_directory(state("FR"), &listed);
    let old_id = old.key_id().to_string();
    let new_id = new.key_id().to_string();
    let found = |id: &str, hours| {
        book.key(state("GB"), id, at(hours), "RDM #1")
            .map(|key| key.key_id().to_string())
    };
    assert_eq!(
        found(&old_id, 3).ok(),
        Some(old_id.clone()),
        "both keys live during the rotation"
    );
    assert_eq!(found(&new_id, 3).ok(), Some(new_id.clone()));
    assert!(
        matches!(found(&old_id, 5), Err(Error::SignatureInvalid(_))),
        "retired before receipt"
    );
    assert!(
        matches!(found(&new_id, 1), Err(Error::SignatureInvalid(_))),
        "not yet valid at receipt"
    );
    assert!(matches!(
        found("00000000000000000000000000000000", 3),
        Err(Error::FailedPrecondition {
            precondition: Precondition::SigningKeyUnknown,
            ..
        })
    ));
}
