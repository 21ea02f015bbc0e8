//! What the services' tests share (feature `testing`, dev-dependencies only): reading a
//! refusal as `common.proto` shapes it, the coordinator's latest signed tree head, and a fresh
//! PostgreSQL database per test on the server `ACCORD_TEST_DATABASE_URL` names. Tests only:
//! it panics where a test should fail.

use std::sync::atomic::{AtomicU32, Ordering};

use std::time::{Duration, Instant};

use accord_proto::v1 as pb;
use accord_proto::v1::ledger_service_client::LedgerServiceClient;
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
