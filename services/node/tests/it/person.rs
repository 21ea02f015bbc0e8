//! The person contract as `person.proto` documents it, value by value, through real nodes:
//! a pseudonym of exactly 64 lower-case hex digits, a nationality that is an assigned
//! ISO 3166-1 code or `XX` (stateless or unknown), a birth year that is 0 (unknown) or
//! between 1900 and the current year.

use accord_proto::v1 as pb;
use pb::ReadmissionStatus as Status;
use pb::readmission_event::Detail;

use crate::federation::Federation;
use crate::readmission::{all_cases, bad_fields, both_reach, open_request, shared_history};

/// Opens a request from GB to FR with `person`; the case reference, or the refusal.
async fn open_with(
    federation: &Federation,
    key: &str,
    person: pb::PersonalData,
) -> Result<String, tonic::Status> {
    let mut request = open_request(key);
    request.person = Some(person);
    federation
        .gateway("GB")
        .await
        .open_readmission(request)
        .await
        .map(|response| response.into_inner().readmission.unwrap().case_ref)
}

fn person() -> pb::PersonalData {
    open_request("template").person.unwrap()
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

async fn assert_refused(federation: &Federation, key: &str, person: pb::PersonalData, field: &str) {
    let refused = open_with(federation, key, person).await.unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::InvalidArgument,
        "{key}: {refused:?}"
    );
    assert_eq!(bad_fields(&refused), [field], "{key}");
}

#[tokio::test]
async fn a_stateless_person_or_one_of_unknown_nationality_travels_as_xx() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_with(
        &federation,
        "open-xx",
        pb::PersonalData {
            nationality: "XX".into(),
            ..person()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        person_received(&federation, &case_ref).await.nationality,
        "XX"
    );
}

#[tokio::test]
async fn an_unknown_birth_year_travels_as_0() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_with(
        &federation,
        "open-unknown-year",
        pb::PersonalData {
            birth_year: 0,
            ..person()
        },
    )
    .await
    .unwrap();
    assert_eq!(person_received(&federation, &case_ref).await.birth_year, 0);
}

#[tokio::test]
async fn birth_years_from_1900_to_this_year_are_accepted_and_others_refused() {
    let federation = Federation::start(&["GB", "FR"]).await;
    for year in [1900, 2026] {
        let accepted = open_with(
            &federation,
            &format!("open-{year}"),
            pb::PersonalData {
                birth_year: year,
                ..person()
            },
        )
        .await;
        assert!(accepted.is_ok(), "{year}: {accepted:?}");
    }
    for year in [1, 1899, 2027] {
        let person = pb::PersonalData {
            birth_year: year,
            ..person()
        };
        assert_refused(
            &federation,
            &format!("open-{year}"),
            person,
            "person.birth_year",
        )
        .await;
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
        assert_refused(&federation, &key, person, "person.nationality").await;
    }
    assert_eq!(all_cases(&federation, "GB").await.len(), 0);
}

#[tokio::test]
async fn a_pseudonym_is_exactly_64_lower_case_hex_digits() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let hex = "0123456789abcdef".repeat(4);
    let case_ref = open_with(
        &federation,
        "open-hex",
        pb::PersonalData {
            keyed_pseudonym: hex.clone(),
            ..person()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        person_received(&federation, &case_ref)
            .await
            .keyed_pseudonym,
        hex
    );
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
        assert_refused(&federation, what, person, "person.keyed_pseudonym").await;
    }
}
