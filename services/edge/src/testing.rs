//! What the services' tests share (feature `testing`, dev-dependencies only): reading a
//! refusal as `common.proto` shapes it, and a fresh PostgreSQL database per test on the
//! server `ACCORD_TEST_DATABASE_URL` names. Tests only: it panics where a test should fail.

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectionTrait, Database};
use tonic_types::StatusExt;

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
