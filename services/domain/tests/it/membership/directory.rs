//! The directory: every change accepted or refused as the tables say, and what each accepted
//! change does. Every table row starts from the same [`network`], changed on [`today`].

use accord_domain::Regime;
use accord_domain::membership::{
    Agreement, CertificateRole, Directory, DirectoryChange as Change, Endpoint, Error, Member,
    MemberStatus, SigningKeyEntry, SigningKeyStatus, StatusReason,
};

use super::super::support::{membership_error_name, state};
use super::{agreement, apply, certificate, day, key, network, new_member, offset, today};

/// One row of a directory table: a label, a change, and `Ok` or the refusing error's name.
type Row<'a> = (&'a str, Change, Result<(), &'a str>);

/// Applies each row's change to the [`network`] on [`today`]: an accepted change gives the
/// next version, issued today; a refused one is named by its error variant.
fn check(table: Vec<Row>) {
    for (label, change, expected) in table {
        let before = network();
        let outcome = before.apply(change, today()).map(|after| {
            assert_eq!(after.version(), before.version() + 1, "{label}");
            assert_eq!(after.issued_at(), today(), "{label}");
        });
        let outcome = outcome.map_err(|error| membership_error_name(&error));
        assert_eq!(outcome, expected, "{label}");
    }
}

fn enrol(member: Member) -> Change {
    Change::Enrol { member }
}

/// Spain's enrolment with its keys replaced.
fn spain_with_keys(signing_keys: Vec<SigningKeyEntry>) -> Member {
    Member {
        signing_keys,
        ..new_member("ES")
    }
}

fn retired(key_id: &str) -> SigningKeyEntry {
    SigningKeyEntry {
        status: SigningKeyStatus::Retired,
        valid_until: Some(day(9)),
        ..key(key_id, day(0))
    }
}

#[test]
fn a_state_enrols_once_active_with_a_node_certificate_and_an_active_key() {
    use CertificateRole::{Gateway, Node};
    let with_certificates = |certificates| Member {
        certificates,
        ..new_member("ES")
    };
    let with_end = SigningKeyEntry {
        valid_until: Some(day(30)),
        ..key("es-1", day(0))
    };
    #[rustfmt::skip]
    let table: Vec<Row> = vec![
        ("a new state", enrol(new_member("ES")), Ok(())),
        ("with a gateway and a retired key too", enrol(Member {
            certificates: vec![certificate(Node, 1), certificate(Gateway, 2)],
            signing_keys: vec![retired("es-0"), key("es-1", day(0))],
            ..new_member("ES")
        }), Ok(())),
        ("an active member", enrol(new_member("FR")), Err("AlreadyMember")),
        ("a suspended member", enrol(new_member("BE")), Err("AlreadyMember")),
        ("a revoked member", enrol(new_member("IT")), Err("AlreadyMember")),
        ("listed suspended", enrol(Member { status: MemberStatus::Suspended, ..new_member("ES") }), Err("NewMemberNotActive")),
        ("listed revoked", enrol(Member { status: MemberStatus::Revoked, ..new_member("ES") }), Err("NewMemberNotActive")),
        ("with a gateway certificate only", enrol(with_certificates(vec![certificate(Gateway, 2)])), Err("NoNodeCertificate")),
        ("without certificates", enrol(with_certificates(Vec::new())), Err("NoNodeCertificate")),
        ("without keys", enrol(spain_with_keys(Vec::new())), Err("NoActiveSigningKey")),
        ("with a retired key only", enrol(spain_with_keys(vec![retired("es-0")])), Err("NoActiveSigningKey")),
        ("with one key id twice", enrol(spain_with_keys(vec![key("es-1", day(0)), key("es-1", day(1))])), Err("DuplicateSigningKey")),
        ("with an active key that has an end", enrol(spain_with_keys(vec![with_end])), Err("ActiveKeyWithEnd")),
    ];
    check(table);
}

#[test]
fn suspension_reinstatement_and_revocation_follow_the_status_rules() {
    use StatusReason::*;
    let suspend = |code, reason| Change::Suspend {
        state: state(code),
        reason,
    };
    let reinstate = |code| Change::Reinstate { state: state(code) };
    let revoke = |code, reason| Change::Revoke {
        state: state(code),
        reason,
    };
    #[rustfmt::skip]
    let table: Vec<Row> = vec![
        ("suspend an active member", suspend("FR", SecurityIncident), Ok(())),
        ("suspend at its own request", suspend("GB", RequestedByMember), Ok(())),
        ("suspend a suspended member", suspend("BE", SecurityIncident), Err("IllegalStatusChange")),
        ("suspend a revoked member", suspend("IT", SecurityIncident), Err("IllegalStatusChange")),
        ("suspend a stranger", suspend("ES", SecurityIncident), Err("NotAMember")),
        ("suspend because resolved", suspend("FR", Resolved), Err("ReasonNotAllowed")),
        ("reinstate a suspended member", reinstate("BE"), Ok(())),
        ("reinstate an active member", reinstate("FR"), Err("IllegalStatusChange")),
        ("reinstate a revoked member", reinstate("IT"), Err("IllegalStatusChange")),
        ("reinstate a stranger", reinstate("ES"), Err("NotAMember")),
        ("revoke an active member", revoke("FR", KeyCompromise), Ok(())),
        ("revoke a suspended member", revoke("BE", LeftScheme), Ok(())),
        ("revoke a revoked member", revoke("IT", LeftScheme), Err("IllegalStatusChange")),
        ("revoke a stranger", revoke("ES", AgreementBreach), Err("NotAMember")),
        ("revoke because resolved", revoke("FR", Resolved), Err("ReasonNotAllowed")),
    ];
    check(table);
}

#[test]
fn an_agreement_binds_two_members_not_revoked_and_never_overlaps_another_of_its_pair() {
    let set = |agreement| Change::SetAgreement { agreement };
    #[rustfmt::skip]
    let table: Vec<Row> = vec![
        ("a new pair", set(agreement("DE", "FR", day(0), None)), Ok(())),
        ("a pair with a suspended member", set(agreement("BE", "FR", day(0), None)), Ok(())),
        ("the same start, a new sunset", set(agreement("FR", "GB", day(0), Some(day(60)))), Ok(())),
        ("the same start, no sunset", set(agreement("GB", "FR", day(0), None)), Ok(())),
        ("from the sunset on", set(agreement("GB", "FR", day(100), None)), Ok(())),
        ("ending at the start", set(agreement("GB", "FR", offset(day(0), -5), Some(day(0)))), Ok(())),
        ("starting inside", set(agreement("GB", "FR", day(50), None)), Err("OverlappingAgreement")),
        ("starting just before the sunset", set(agreement("GB", "FR", offset(day(100), -1), None)), Err("OverlappingAgreement")),
        ("ending just after the start", set(agreement("GB", "FR", offset(day(0), -5), Some(offset(day(0), 1)))), Err("OverlappingAgreement")),
        ("with a revoked member", set(agreement("IT", "FR", day(0), None)), Err("MemberRevoked")),
        ("with a stranger", set(agreement("ES", "FR", day(0), None)), Err("NotAMember")),
        ("between a stranger and a revoked member", set(agreement("ES", "IT", day(0), None)), Err("NotAMember")),
    ];
    check(table);
}

#[test]
fn keys_are_added_active_and_new_and_retired_while_another_stays_active() {
    let add = |code, key| Change::AddSigningKey {
        state: state(code),
        key,
    };
    let retire = |code, key_id: &str| Change::RetireSigningKey {
        state: state(code),
        key_id: key_id.to_owned(),
    };
    let revoked_key = SigningKeyEntry {
        status: SigningKeyStatus::Revoked,
        ..key("fr-3", today())
    };
    let with_end = SigningKeyEntry {
        valid_until: Some(day(30)),
        ..key("fr-3", today())
    };
    #[rustfmt::skip]
    let table: Vec<Row> = vec![
        ("a new key valid from now", add("FR", key("fr-3", today())), Ok(())),
        ("a new key valid from tomorrow", add("FR", key("fr-3", day(11))), Ok(())),
        ("a key for a suspended member", add("BE", key("be-2", today())), Ok(())),
        ("a key id the member has", add("FR", key("fr-1", today())), Err("DuplicateSigningKey")),
        ("a key id its retired key has", add("FR", key("fr-retired", today())), Err("DuplicateSigningKey")),
        ("a retired key", add("FR", retired("fr-3")), Err("NewKeyNotActive")),
        ("a revoked key", add("FR", revoked_key), Err("NewKeyNotActive")),
        ("an active key with an end", add("FR", with_end), Err("ActiveKeyWithEnd")),
        ("a key valid from before now", add("FR", key("fr-3", offset(today(), -1))), Err("KeyValidFromPast")),
        ("a key for a revoked member", add("IT", key("it-2", today())), Err("MemberRevoked")),
        ("a key for a stranger", add("ES", key("es-1", today())), Err("NotAMember")),
        ("retire one of two active keys", retire("FR", "fr-1"), Ok(())),
        ("retire the other one", retire("FR", "fr-2"), Ok(())),
        ("retire the last active key", retire("GB", "gb-1"), Err("LastActiveKey")),
        ("retire a retired key", retire("FR", "fr-retired"), Err("SigningKeyNotActive")),
        ("retire an unknown key", retire("FR", "fr-9"), Err("UnknownSigningKey")),
        ("retire another member's key", retire("FR", "gb-1"), Err("UnknownSigningKey")),
        ("retire a revoked member's key", retire("IT", "it-1"), Err("MemberRevoked")),
        ("retire a stranger's key", retire("ES", "es-1"), Err("NotAMember")),
    ];
    check(table);
}

#[test]
fn certificates_and_endpoints_change_for_members_not_revoked() {
    use CertificateRole::{Gateway, Node};
    let certificates = |code, certificates| Change::SetCertificates {
        state: state(code),
        certificates,
    };
    let endpoint = |code| Change::SetEndpoint {
        state: state(code),
        endpoint: Endpoint::parse("https://node2.example:443").unwrap(),
    };
    let renewal = vec![
        certificate(Node, 1),
        certificate(Node, 2),
        certificate(Gateway, 3),
    ];
    #[rustfmt::skip]
    let table: Vec<Row> = vec![
        ("old and new node certificates and a gateway", certificates("FR", renewal.clone()), Ok(())),
        ("a node certificate alone", certificates("FR", vec![certificate(Node, 2)]), Ok(())),
        ("for a suspended member", certificates("BE", renewal.clone()), Ok(())),
        ("a gateway certificate alone", certificates("FR", vec![certificate(Gateway, 3)]), Err("NoNodeCertificate")),
        ("no certificate", certificates("FR", Vec::new()), Err("NoNodeCertificate")),
        ("for a revoked member", certificates("IT", renewal.clone()), Err("MemberRevoked")),
        ("for a stranger", certificates("ES", renewal), Err("NotAMember")),
        ("a new endpoint", endpoint("FR"), Ok(())),
        ("a new endpoint for a suspended member", endpoint("BE"), Ok(())),
        ("a new endpoint for a revoked member", endpoint("IT"), Err("MemberRevoked")),
        ("a new endpoint for a stranger", endpoint("ES"), Err("NotAMember")),
    ];
    check(table);
}

#[test]
fn the_empty_directory_is_version_zero_and_every_change_adds_one() {
    let empty = Directory::empty(day(0));
    assert_eq!(empty.version(), 0);
    assert_eq!(empty.issued_at(), day(0));
    assert_eq!(empty.members().len(), 0);
    assert!(empty.agreements().is_empty());
    assert_eq!(empty.active_members(), 0);
    let first = apply(&empty, enrol(new_member("FR")), day(1));
    assert_eq!((first.version(), first.issued_at()), (1, day(1)));
    // The network is 11 changes: 5 enrolments, 2 keys, 1 retirement, 1 suspension,
    // 1 revocation, 1 agreement, the last on day 5.
    let network = network();
    assert_eq!((network.version(), network.issued_at()), (11, day(5)));
    let codes: Vec<&str> = network
        .members()
        .map(|member| member.state.as_str())
        .collect();
    assert_eq!(codes, ["BE", "DE", "FR", "GB", "IT"]);
}

#[test]
fn a_change_dated_before_the_current_version_is_refused_and_one_at_the_same_instant_accepted() {
    let network = network();
    let change = || enrol(new_member("ES"));
    assert_eq!(
        network.apply(change(), offset(day(5), -1)),
        Err(Error::TimeWentBackwards {
            last_change_at: day(5),
            now: offset(day(5), -1),
        })
    );
    let same_instant = apply(&network, change(), day(5));
    assert_eq!(
        (same_instant.version(), same_instant.issued_at()),
        (12, day(5))
    );
}

#[test]
fn a_new_member_is_listed_active_from_the_change_and_an_old_one_cannot_enrol_again() {
    let asked = Member {
        status_reason: Some(StatusReason::SecurityIncident),
        ..new_member("ES")
    };
    let directory = apply(&network(), enrol(asked.clone()), today());
    let listed = directory.member(state("ES")).unwrap();
    let expected = Member {
        status_reason: None,
        status_changed_at: today(),
        joined_at: today(),
        ..asked
    };
    assert_eq!(listed, &expected);
    assert!(directory.is_active(state("ES")));
    for (code, status) in [
        ("FR", MemberStatus::Active),
        ("BE", MemberStatus::Suspended),
        ("IT", MemberStatus::Revoked),
    ] {
        assert_eq!(
            network().apply(enrol(new_member(code)), today()),
            Err(Error::AlreadyMember {
                state: state(code),
                status
            })
        );
    }
}

#[test]
fn a_status_change_records_its_reason_and_time() {
    let france = state("FR");
    let suspend = Change::Suspend {
        state: france,
        reason: StatusReason::SecurityIncident,
    };
    let suspended = apply(&network(), suspend, today());
    let member = suspended.member(france).unwrap();
    assert_eq!(member.status, MemberStatus::Suspended);
    assert_eq!(member.status_reason, Some(StatusReason::SecurityIncident));
    assert_eq!(member.status_changed_at, today());
    assert_eq!(member.joined_at, day(0));
    assert!(!suspended.is_active(france));
    // Suspension cuts the member off; it does not end its keys.
    assert!(suspended.signing_key(france, "fr-1", today()).is_some());
    let reinstated = apply(&suspended, Change::Reinstate { state: france }, day(11));
    let member = reinstated.member(france).unwrap();
    assert_eq!(member.status, MemberStatus::Active);
    assert_eq!(member.status_reason, Some(StatusReason::Resolved));
    assert_eq!(member.status_changed_at, day(11));
    assert_eq!(
        reinstated.apply(Change::Reinstate { state: france }, day(12)),
        Err(Error::IllegalStatusChange {
            state: france,
            from: MemberStatus::Active,
            to: MemberStatus::Active,
        })
    );
    let revoke_because_resolved = Change::Revoke {
        state: france,
        reason: StatusReason::Resolved,
    };
    assert_eq!(
        reinstated.apply(revoke_because_resolved, day(12)),
        Err(Error::ReasonNotAllowed {
            state: france,
            to: MemberStatus::Revoked,
            reason: StatusReason::Resolved,
        })
    );
}

#[test]
fn revocation_ends_every_key_of_the_member_at_the_revocation_or_earlier() {
    let france = state("FR");
    let future_key = Change::AddSigningKey {
        state: france,
        key: key("fr-3", day(20)),
    };
    let before = apply(&network(), future_key, today());
    let revoke = Change::Revoke {
        state: france,
        reason: StatusReason::KeyCompromise,
    };
    let revoked = apply(&before, revoke, day(11));
    let member = revoked.member(france).unwrap();
    assert_eq!(member.status, MemberStatus::Revoked);
    let keys: Vec<(&str, SigningKeyStatus, Option<_>)> = member
        .signing_keys
        .iter()
        .map(|key| (key.key_id.as_str(), key.status, key.valid_until))
        .collect();
    use SigningKeyStatus::Revoked;
    assert_eq!(
        keys,
        [
            ("fr-1", Revoked, Some(day(11))),
            ("fr-2", Revoked, Some(day(11))),
            ("fr-retired", Revoked, Some(day(2))),
            ("fr-3", Revoked, Some(day(11))),
        ]
    );
    // Signatures dated before the revocation still verify; none from it on.
    assert!(
        revoked
            .signing_key(france, "fr-1", offset(day(11), -1))
            .is_some()
    );
    assert!(revoked.signing_key(france, "fr-1", day(11)).is_none());
    assert!(revoked.signing_key(france, "fr-retired", day(1)).is_some());
    assert!(revoked.signing_key(france, "fr-retired", day(2)).is_none());
    assert!(revoked.signing_key(france, "fr-3", day(20)).is_none());
    assert_eq!(
        revoked.apply(
            Change::Suspend {
                state: france,
                reason: StatusReason::SecurityIncident
            },
            day(12)
        ),
        Err(Error::IllegalStatusChange {
            state: france,
            from: MemberStatus::Revoked,
            to: MemberStatus::Suspended,
        })
    );
}

#[test]
fn a_key_rotation_keeps_old_and_new_keys_valid_until_the_old_one_retires() {
    let britain = state("GB");
    let add = Change::AddSigningKey {
        state: britain,
        key: key("gb-2", today()),
    };
    let rotating = apply(&network(), add, today());
    assert!(rotating.signing_key(britain, "gb-1", today()).is_some());
    assert!(rotating.signing_key(britain, "gb-2", today()).is_some());
    assert!(
        rotating
            .signing_key(britain, "gb-2", offset(today(), -1))
            .is_none()
    );
    let retire = |key_id: &str| Change::RetireSigningKey {
        state: britain,
        key_id: key_id.to_owned(),
    };
    let rotated = apply(&rotating, retire("gb-1"), day(12));
    let old = rotated.member(britain).unwrap().signing_key_by_id("gb-1");
    assert_eq!(
        old.map(|key| (key.status, key.valid_until)),
        Some((SigningKeyStatus::Retired, Some(day(12))))
    );
    assert!(rotated.signing_key(britain, "gb-1", day(11)).is_some());
    assert!(rotated.signing_key(britain, "gb-1", day(12)).is_none());
    assert!(rotated.signing_key(britain, "gb-2", day(12)).is_some());
    assert!(rotated.signing_key(state("ES"), "gb-2", day(12)).is_none());
    assert_eq!(
        rotated.apply(retire("gb-2"), day(13)),
        Err(Error::LastActiveKey {
            state: britain,
            key_id: "gb-2".to_owned(),
        })
    );
    assert_eq!(
        rotated.apply(retire("gb-1"), day(13)),
        Err(Error::SigningKeyNotActive {
            state: britain,
            key_id: "gb-1".to_owned(),
            status: SigningKeyStatus::Retired,
        })
    );
}

#[test]
fn agreements_are_kept_by_pair_then_start_and_one_with_the_same_start_is_replaced() {
    let set = |agreement| Change::SetAgreement { agreement };
    let mut directory = network();
    for agreement in [
        agreement("GB", "FR", day(100), None),
        agreement("FR", "DE", day(0), Some(day(150))),
        agreement("BE", "FR", day(5), None),
    ] {
        directory = apply(&directory, set(agreement), today());
    }
    let replacement = Agreement::new(
        state("FR"),
        state("GB"),
        vec![Regime::Eu1for1, Regime::Ukfr2025],
        None,
        day(0),
        Some(day(60)),
    )
    .unwrap();
    directory = apply(&directory, set(replacement.clone()), today());
    assert_eq!(
        directory.agreements(),
        &[
            agreement("BE", "FR", day(5), None),
            agreement("DE", "FR", day(0), Some(day(150))),
            replacement,
            agreement("FR", "GB", day(100), None),
        ]
    );
    let stretching = agreement("FR", "GB", day(0), Some(offset(day(100), 1)));
    assert_eq!(
        directory.apply(set(stretching), today()),
        Err(Error::OverlappingAgreement {
            pair: (state("FR"), state("GB")),
            effective_from: day(0),
            existing_effective_from: day(100),
        })
    );
}

#[test]
fn the_agreement_in_force_is_found_from_either_state() {
    let set = |agreement| Change::SetAgreement { agreement };
    let mut directory = network();
    for agreement in [
        agreement("GB", "FR", day(100), None),
        agreement("DE", "FR", day(0), Some(day(150))),
    ] {
        directory = apply(&directory, set(agreement), today());
    }
    let (france, britain, germany) = (state("FR"), state("GB"), state("DE"));
    let start = |found: Option<&Agreement>| found.map(Agreement::effective_from);
    assert_eq!(
        start(directory.agreement_between(britain, france, day(50))),
        Some(day(0))
    );
    assert_eq!(
        start(directory.agreement_between(france, britain, day(50))),
        Some(day(0))
    );
    assert_eq!(
        start(directory.agreement_between(france, britain, day(100))),
        Some(day(100))
    );
    assert_eq!(
        start(directory.agreement_between(france, britain, offset(day(0), -1))),
        None
    );
    assert_eq!(
        start(directory.agreement_between(britain, germany, day(50))),
        None
    );
    assert_eq!(
        start(directory.agreement_between(france, france, day(50))),
        None
    );
    let partners = |state, at| -> Vec<_> {
        directory
            .agreements_of(state, at)
            .map(|agreement| agreement.other(state).unwrap())
            .collect()
    };
    assert_eq!(partners(france, today()), [germany, britain]);
    assert_eq!(partners(france, day(200)), [britain]);
    assert_eq!(partners(britain, today()), [france]);
    assert_eq!(partners(state("BE"), today()), []);
}

#[test]
fn certificates_and_endpoint_are_replaced_as_given() {
    let france = state("FR");
    let renewal = vec![
        certificate(CertificateRole::Node, 1),
        certificate(CertificateRole::Node, 2),
        certificate(CertificateRole::Gateway, 3),
    ];
    let set_certificates = Change::SetCertificates {
        state: france,
        certificates: renewal.clone(),
    };
    let renewed = apply(&network(), set_certificates, today());
    assert_eq!(renewed.member(france).unwrap().certificates, renewal);
    let endpoint = Endpoint::parse("https://[2001:db8::7]:9443").unwrap();
    let set_endpoint = Change::SetEndpoint {
        state: france,
        endpoint: endpoint.clone(),
    };
    let moved = apply(&renewed, set_endpoint, day(11));
    assert_eq!(moved.member(france).unwrap().endpoint, endpoint);
    assert_eq!(moved.version(), network().version() + 2);
}

#[test]
fn only_active_members_count_as_active() {
    let network = network();
    assert_eq!(network.active_members(), 3);
    for (code, active) in [
        ("FR", true),
        ("GB", true),
        ("DE", true),
        ("BE", false),
        ("IT", false),
        ("ES", false),
    ] {
        assert_eq!(network.is_active(state(code)), active, "{code}");
    }
}

#[test]
fn a_node_takes_a_directory_only_if_it_is_newer_than_the_one_it_holds() {
    let network = network();
    assert!(network.newer_than(10));
    assert!(!network.newer_than(11));
    assert!(!network.newer_than(12));
    assert!(!Directory::empty(day(0)).newer_than(0));
}
