//! What the services' tests share (feature `testing`, dev-dependencies only): reading a
//! refusal as `common.proto` shapes it, a node's signed event report, the coordinator's latest
//! signed tree head, and a fresh PostgreSQL database per test on the server `ACCORD_TEST_DATABASE_URL` names. Tests only:
//! it panics where a test should fail.

use std::sync::atomic::{AtomicU32, Ordering};

use std::time::{Duration, Instant};

use accord_proto::v1 as pb;
use accord_proto::v1::ledger_service_client::LedgerServiceClient;
use accord_trust::{EventSigningKey, SigningDomain};
use prost::Message;
use sea_orm::{ConnectionTrait, Database};
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// How long [`head_of`] waits for a head: heads come every few tens of milliseconds, and a
/// busy machine may delay them, so the wait is bounded by time, not by a count of polls.
const HEAD_WAIT: Duration = Duration::from_secs(30);

/// How often [`head_of`] asks.
const HEAD_POLL: Duration = Duration::from_millis(50);

/// The `google.rpc.ErrorInfo` reason of a refusal (empty without one).
pub fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

/// The fields a refusal's `google.rpc.BadRequest` names, sorted.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    let mut fields: Vec<String> = status
        .get_error_details()
        .bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .iter()
                .map(|violation| violation.field.clone())
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

/// `signer`'s signed report of event `sequence` of `case` (a readmission between the two
/// states its reference names), acted by `acting`, of `kind`, at `occurred_at`; `digest` is
/// every byte of the event's digest, and with `sequence` makes its node-made key.
pub fn event_report(
    signer: &EventSigningKey,
    acting: &str,
    case: &str,
    sequence: u64,
    digest: u8,
    kind: pb::ReadmissionEventKind,
    occurred_at: prost_types::Timestamp,
) -> pb::EventReport {
    let pair: Vec<&str> = case.split('-').skip(1).take(2).collect();
    let attestation = pb::EventAttestation {
        case_ref: case.to_owned(),
        pair: Some(pb::StatePair {
            first_state: pair[0].to_owned(),
            second_state: pair[1].to_owned(),
        }),
        sequence,
        acting_state: acting.to_owned(),
        occurred_at: Some(occurred_at),
        idempotency_key: format!(
            "k1-{:064x}",
            u128::from(digest) << 8 | u128::from(sequence as u8)
        ),
        signing_key_id: signer.key_id().to_string(),
        event_digest: vec![digest; 32],
        kind: Some(pb::event_attestation::Kind::ReadmissionEventKind(
            kind.into(),
        )),
    };
    let signature = signer.sign(SigningDomain::EVENT, &attestation.encode_to_vec());
    pb::EventReport {
        attestation: Some(attestation),
        signature: signature.to_bytes().to_vec(),
    }
}

/// The coordinator's latest signed tree head, with its cosignatures.
pub async fn latest_head(ledger: &mut LedgerServiceClient<Channel>) -> pb::SignedTreeHead {
    ledger
        .get_tree_head(pb::GetTreeHeadRequest { tree_size: 0 })
        .await
        .expect("GetTreeHead")
        .into_inner()
        .tree_head
        .expect("a signed tree head")
}

/// The latest signed head once it holds at least `size` leaves (panics after [`HEAD_WAIT`]).
pub async fn head_of(ledger: &mut LedgerServiceClient<Channel>, size: u64) -> pb::SignedTreeHead {
    let deadline = Instant::now() + HEAD_WAIT;
    while Instant::now() < deadline {
        let head = latest_head(ledger).await;
        if head.tree_head.as_ref().expect("a tree head").tree_size >= size {
            return head;
        }
        tokio::time::sleep(HEAD_POLL).await;
    }
    panic!("no head of {size} leaves was published");
}

/// Creates a new, empty database on `server_url`'s PostgreSQL server and returns its URL.
/// Its name starts with `prefix` and names this process and a counter, so that parallel
/// test processes never share one.
pub async fn fresh_postgres_database(server_url: &str, prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let server = Database::connect(server_url)
        .await
        .expect("connect to ACCORD_TEST_DATABASE_URL");
    server
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    server.close().await.expect("close");
    let (base, _database) = server_url
        .rsplit_once('/')
        .expect("URL ends with /DATABASE");
    format!("{base}/{name}")
}
