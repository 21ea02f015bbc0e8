//! Network membership through its public API: coded lists and endpoints, enrolment tokens over
//! time, agreements, every directory change accepted or refused as a table written out by hand
//! says, and a property test over random sequences of changes.
//!
//! The expected outcomes come from the brief the module was written to (and `membership.proto`),
//! never from the implementation: every table lists the outcome it expects.

mod agreement;
mod directory;
mod endpoint;
mod enrolment;
mod properties;
mod restore;

use accord_domain::membership::{
    Agreement, CertificateRole, Directory, DirectoryChange, Endpoint, Member, MemberCertificate,
    MemberStatus, SigningKeyEntry, SigningKeyStatus, StatusReason,
};
use accord_domain::{Period, Regime, StateCode, Timestamp};

use super::support::{at, state};

/// Day `n` of the tests' calendar, at 09:00 UTC. Directory tests change the network on
/// [`today`], day 10.
pub fn day(n: u32) -> Timestamp {
    at("2025-10-01T09:00:00Z").plus(Period::CalendarDays(n))
}

/// When the directory tests make their changes.
pub fn today() -> Timestamp {
    day(10)
}

/// `instant` plus `millis` milliseconds (minus, if negative).
pub fn offset(instant: Timestamp, millis: i64) -> Timestamp {
    instant.plus_millis(millis)
}

/// The node endpoint the tests give `state`: `https://node.xx.example:8443`.
pub fn endpoint_of(state: StateCode) -> Endpoint {
    let host = state.as_str().to_ascii_lowercase();
    Endpoint::parse(&format!("https://node.{host}.example:8443")).unwrap()
}

/// A certificate of `role` whose fingerprint and serial are made of `byte`.
pub fn certificate(role: CertificateRole, byte: u8) -> MemberCertificate {
    MemberCertificate {
        role,
        sha256_fingerprint: [byte; 32],
        serial: vec![byte],
        not_before: day(0),
        not_after: day(365),
    }
}

/// An active key `key_id`, valid from `valid_from`, with no end.
pub fn key(key_id: &str, valid_from: Timestamp) -> SigningKeyEntry {
    SigningKeyEntry {
        key_id: key_id.to_owned(),
        public_key: [key_id.len() as u8; 32],
        status: SigningKeyStatus::Active,
        valid_from,
        valid_until: None,
    }
}

/// The member a state's enrolment asks for: active, one node certificate, one active key
/// `xx-1` valid from day 0. Its times are placeholders the directory overwrites.
pub fn new_member(code: &str) -> Member {
    let state = state(code);
    Member {
        state,
        status: MemberStatus::Active,
        status_reason: None,
        status_changed_at: Timestamp::MIN,
        joined_at: Timestamp::MIN,
        endpoint: endpoint_of(state),
        certificates: vec![certificate(CertificateRole::Node, 1)],
        signing_keys: vec![key(&format!("{}-1", code.to_ascii_lowercase()), day(0))],
    }
}

/// An agreement under `UKFR_2025` alone, with no parity limit.
pub fn agreement(a: &str, b: &str, from: Timestamp, sunset_at: Option<Timestamp>) -> Agreement {
    Agreement::new(
        state(a),
        state(b),
        vec![Regime::Ukfr2025],
        None,
        from,
        sunset_at,
    )
    .unwrap()
}

/// `change` at `now`, which must be accepted.
pub fn apply(directory: &Directory, change: DirectoryChange, now: Timestamp) -> Directory {
    directory
        .apply(change, now)
        .unwrap_or_else(|error| panic!("building the directory: {error}"))
}

/// The network most directory tests start from, built through `apply` on days 0 to 5:
///
/// - FR, GB and DE are active. FR has the active keys `fr-1` and `fr-2` and the retired key
///   `fr-retired` (retired on day 2); GB and DE have one key each (`gb-1`, `de-1`).
/// - BE is suspended (day 3); IT is revoked (day 4).
/// - GB and FR agreed `UKFR_2025` from day 0 to day 100 (recorded on day 5).
/// - ES is not a member.
pub fn network() -> Directory {
    use DirectoryChange as Change;
    let mut directory = Directory::empty(day(0));
    for code in ["FR", "GB", "DE", "BE", "IT"] {
        let member = new_member(code);
        directory = apply(&directory, Change::Enrol { member }, day(0));
    }
    let france = state("FR");
    for key_id in ["fr-2", "fr-retired"] {
        let key = key(key_id, day(1));
        directory = apply(
            &directory,
            Change::AddSigningKey { state: france, key },
            day(1),
        );
    }
    let key_id = "fr-retired".to_owned();
    let retire = Change::RetireSigningKey {
        state: france,
        key_id,
    };
    directory = apply(&directory, retire, day(2));
    let suspend = Change::Suspend {
        state: state("BE"),
        reason: StatusReason::RequestedByMember,
    };
    directory = apply(&directory, suspend, day(3));
    let revoke = Change::Revoke {
        state: state("IT"),
        reason: StatusReason::LeftScheme,
    };
    directory = apply(&directory, revoke, day(4));
    let agreement = agreement("GB", "FR", day(0), Some(day(100)));
    apply(&directory, Change::SetAgreement { agreement }, day(5))
}
