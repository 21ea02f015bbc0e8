//! What a caller's idempotency key becomes on its way to the coordinator: a node signs its
//! events under a key of its own making (event.proto, `EventAttestation.idempotency_key`),
//! `k1-` and the HMAC-SHA-256 of the caller's key under the node's secret. The caller's key,
//! which may be any text, is kept nowhere: not in an attestation, not in any table.

use accord_domain::CaseRef;
use accord_node::convert::envelope::attestation;
use accord_proto::v1 as pb;
use prost::Message;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use crate::federation::{Federation, state};
use crate::readmission::{acceptance, both_reach, open_request, shared_history};
use crate::support::assert_refused;

/// A caseworker's key that names a person, as validation lets through (printable ASCII,
/// no spaces).
const PERSONAL_KEY: &str = "Jane.Doe.1990-01-01";

/// Whether `key` is an event key a node made from a caller's: `k1-` and 64 lowercase hex
/// digits.
fn is_pseudonym(key: &str) -> bool {
    key.strip_prefix("k1-").is_some_and(|digits| {
        digits.len() == 64
            && digits
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
    })
}

/// The attestation `event` is signed through, encoded as the coordinator receives it.
fn attestation_bytes(event: &pb::ReadmissionEvent) -> Vec<u8> {
    let case_ref = CaseRef::parse(&event.case_ref).unwrap();
    let pair = (case_ref.first_state(), case_ref.second_state());
    attestation::<accord_domain::readmission::ReadmissionCase>(event, pair).encode_to_vec()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Every value of every column of every table of the SQLite database at `path`, as the
/// table, the column and the value's bytes (`hex()` of each, so integers, text and blobs
/// alike).
async fn every_stored_value(path: &std::path::Path) -> Vec<(String, String, Vec<u8>)> {
    let db = Database::connect(format!("sqlite://{}?mode=ro", path.display()))
        .await
        .unwrap();
    let mut values = Vec::new();
    for table in strings(&db, "SELECT name FROM sqlite_master WHERE type = 'table'").await {
        let columns = strings(
            &db,
            &format!("SELECT name FROM pragma_table_info('{table}')"),
        )
        .await;
        for column in columns {
            let query = format!("SELECT hex(\"{column}\") AS name FROM \"{table}\"");
            for hex_value in strings(&db, &query).await {
                values.push((
                    table.clone(),
                    column.clone(),
                    hex::decode(hex_value).unwrap(),
                ));
            }
        }
    }
    db.close().await.unwrap();
    values
}

/// The `name` column of every row `query` gives.
async fn strings(db: &DatabaseConnection, query: &str) -> Vec<String> {
    let statement = Statement::from_string(db.get_database_backend(), query.to_owned());
    db.query_all_raw(statement)
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get("", "name").unwrap())
        .collect()
}

#[tokio::test]
async fn a_caller_key_that_names_a_person_is_in_no_attestation_and_no_table_and_a_retry_replays() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let mut gb = federation.gateway("GB").await;
    let first = gb
        .open_readmission(open_request(PERSONAL_KEY))
        .await
        .unwrap()
        .into_inner();
    let retried = gb
        .open_readmission(open_request(PERSONAL_KEY))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried, first, "a retry replays the first answer");
    let case_ref = first.readmission.unwrap().case_ref;
    both_reach(&federation, &case_ref, pb::ReadmissionStatus::Received).await;

    let other = pb::OpenReadmissionRequest {
        notes: "Another request under the same key.".into(),
        ..open_request(PERSONAL_KEY)
    };
    let reused = gb.open_readmission(other).await.unwrap_err();
    assert_refused(
        &reused,
        tonic::Code::AlreadyExists,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert!(
        reused.message().contains(PERSONAL_KEY) && !reused.message().contains("k1-"),
        "the caller is told its own key back: {}",
        reused.message()
    );

    let history = shared_history(&federation, &case_ref).await;
    assert_eq!(history.len(), 2);
    for event in &history {
        assert!(
            is_pseudonym(&event.idempotency_key),
            "{}",
            event.idempotency_key
        );
        for bytes in [attestation_bytes(event), event.encode_to_vec()] {
            assert!(!contains(&bytes, PERSONAL_KEY.as_bytes()), "{event:?}");
        }
    }
    for code in ["GB", "FR"] {
        let stored = every_stored_value(&federation.database_path(code)).await;
        let mut tables: Vec<&str> = stored.iter().map(|(table, ..)| table.as_str()).collect();
        tables.dedup();
        let expected: &[&str] = match code {
            "GB" => &["case_event", "idempotency", "outbox", "node_secret"],
            _ => &["case_event", "outbox", "node_secret"],
        };
        for table in expected {
            assert!(
                tables.contains(table),
                "{code} holds rows of {table}: {tables:?}"
            );
        }
        assert!(
            stored
                .iter()
                .any(|(.., value)| contains(value, case_ref.as_bytes())),
            "the scan reads what {code} stored"
        );
        for (table, column, value) in &stored {
            for needle in [PERSONAL_KEY, "Jane.Doe", "1990-01-01"] {
                assert!(
                    !contains(value, needle.as_bytes()),
                    "{code}'s {table}.{column} holds {needle:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_caller_key_gives_the_same_event_key_after_a_restart_and_another_under_another_node_s_secret()
 {
    let mut federation = Federation::start(&["GB", "FR"]).await;
    let mut gb = federation.gateway("GB").await;
    let opened = gb
        .open_readmission(open_request("shared-key"))
        .await
        .unwrap()
        .into_inner();
    let case_ref = opened.readmission.unwrap().case_ref;
    both_reach(&federation, &case_ref, pb::ReadmissionStatus::Received).await;
    let submitted_key = shared_history(&federation, &case_ref).await[0]
        .idempotency_key
        .clone();

    federation.stop("GB").await;
    federation.restart("GB").await;
    let mut gb = federation.gateway("GB").await;
    let retried = gb
        .open_readmission(open_request("shared-key"))
        .await
        .unwrap()
        .into_inner();
    let case = retried.readmission.unwrap();
    assert_eq!(
        case.case_ref, case_ref,
        "after a restart on the same database the retry still replays: the secret was kept"
    );
    assert_eq!(case.events[0].idempotency_key, submitted_key);

    let mut fr = federation.gateway("FR").await;
    fr.decide_readmission(acceptance("shared-key", &case_ref))
        .await
        .unwrap();
    both_reach(&federation, &case_ref, pb::ReadmissionStatus::Accepted).await;
    let history = shared_history(&federation, &case_ref).await;
    let accepted = history.last().unwrap();
    assert_eq!(accepted.acting_state, state("FR").to_string());
    assert!(is_pseudonym(&accepted.idempotency_key));
    assert_ne!(
        accepted.idempotency_key, submitted_key,
        "FR's secret is not GB's: one caller key, two event keys"
    );
    assert!(
        history
            .iter()
            .all(|event| is_pseudonym(&event.idempotency_key))
    );
}
