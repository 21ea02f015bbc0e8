//! The person contract as `person.proto` documents it, value by value, through real nodes:
//! a pseudonym of exactly 64 lower-case hex digits, a nationality that is an assigned
//! ISO 3166-1 code or `XX` (stateless or unknown), a birth year that is 0 (unknown) or
//! between 1900 and the current year.

use accord_proto::v1 as pb;
use pb::ReadmissionStatus as Status;
use pb::readmission_event::Detail;

use crate::federation::Federation;
use crate::readmission::{all_cases, both_reach, open_request, person, shared_history};
use crate::support::assert_invalid;

/// Opens a request from GB to FR with `person`; the case reference, or the refusal.
async fn open_with(
    federation: &Federation,
    key: &str,
    person: pb::PersonalData,
) -> Result<String, tonic::Status> {
    let request = pb::OpenReadmissionRequest {
        person: Some(person),
        ..open_request(key)
    };
    let mut gb = federation.gateway("GB").await;
    let opened = gb.open_readmission(request).await?.into_inner();
    Ok(opened.readmission.unwrap().case_ref)
}

/// The person FR's node holds in the case's SUBMITTED event, once FR received it.
async fn person_received(federation: &Federation, case_ref: &str) -> pb::PersonalData {
    both_reach(federation, case_ref, Status::Received).await;
    let history = shared_history(federation, case_ref).await;
    match history[0].detail.as_ref() {
        Some(Detail::Submitted(submission)) => submission.person.clone().unwrap(),
        other => panic!("the first event is a SUBMITTED: {other:?}"),
    }
}

/// Asserts that GB's node refuses to send `person`, naming `field` alone.
async fn assert_person_refused(
    federation: &Federation,
    key: &str,
    person: pb::PersonalData,
    field: &str,
) {
    let refused = open_with(federation, key, person).await.expect_err(key);
    assert_invalid(&refused, &[field]);
}

#[tokio::test]
async fn every_value_the_contract_allows_travels_to_france_unchanged() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let hex = "0123456789abcdef".repeat(4);
    // Each case under a key that says what it sends: nationality, birth year, pseudonym.
    let allowed = [
        ("open-stateless-or-unknown", "XX", 1994, hex.clone()),
        ("open-unknown-birth-year", "AF", 0, hex.clone()),
        ("open-born-1900", "AF", 1900, hex.clone()),
        ("open-born-this-year", "AF", 2026, hex.clone()),
        ("open-digits-only", "ER", 1994, "0".repeat(64)),
    ];
    for (key, nationality, birth_year, keyed_pseudonym) in allowed {
        let sent = pb::PersonalData {
            nationality: nationality.into(),
            birth_year,
            keyed_pseudonym,
            ..person()
        };
        let opened = open_with(&federation, key, sent.clone()).await;
        let case_ref = opened.unwrap_or_else(|refused| panic!("{key}: {refused:?}"));
        assert_eq!(person_received(&federation, &case_ref).await, sent, "{key}");
    }
}

#[tokio::test]
async fn birth_years_before_1900_or_after_this_year_are_refused() {
    let federation = Federation::start(&["GB", "FR"]).await;
    for year in [1, 1899, 2027] {
        let person = pb::PersonalData {
            birth_year: year,
            ..person()
        };
        let key = format!("open-{year}");
        assert_person_refused(&federation, &key, person, "person.birth_year").await;
    }
}

#[tokio::test]
async fn a_nationality_is_an_assigned_upper_case_code_or_xx_and_nothing_else() {
    let federation = Federation::start(&["GB", "FR"]).await;
    for nationality in ["STATELESS", "UNDETERMINED", "xx", "af", "UK", "AFG", ""] {
        let person = pb::PersonalData {
            nationality: nationality.into(),
            ..person()
        };
        let key = format!("open-{nationality}");
        assert_person_refused(&federation, &key, person, "person.nationality").await;
    }
    assert_eq!(all_cases(&federation, "GB").await.len(), 0);
}

#[tokio::test]
async fn a_pseudonym_is_exactly_64_lower_case_hex_digits() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let hex = "0123456789abcdef".repeat(4);
    let refused = [
        ("upper", hex.to_uppercase()),
        ("short", hex[..63].to_owned()),
        ("long", format!("{hex}0")),
        ("printable", "Jane Doe 1994".to_owned()),
        ("empty", String::new()),
    ];
    for (what, pseudonym) in refused {
        let person = pb::PersonalData {
            keyed_pseudonym: pseudonym,
            ..person()
        };
        assert_person_refused(&federation, what, person, "person.keyed_pseudonym").await;
    }
}
