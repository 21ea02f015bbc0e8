//! `loadgen echo-server --commit FILE [--sign]`: a minimal commit-before-reply server, the
//! benchmark's reference between the transport floor and the node.
//!
//! A benchmark fixture, not product code. The echo server's stack (same TLS, listener,
//! codec, limits and canned reply), plus the least a durable server does: each request's
//! bytes (its idempotency key and the request as received) are committed to a SQLite file —
//! WAL, `synchronous=FULL`, as the node — before the reply is sent, by one writer task that
//! groups the waiting requests into one transaction with one multi-row INSERT into one table
//! without a secondary index (group commit). With `--sign`, each request is first signed
//! with the state's Ed25519 event key, as the node signs each event, and the signature is
//! stored with it.
//!
//! No validation, no domain, no idempotency look-up, no event, no outbox: what the node
//! achieves relative to this server is what its own work costs beyond committing and
//! signing.

use std::path::Path;
use std::time::Duration;

use accord_trust::{EventSigningKey, SigningDomain};
use anyhow::Context;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
// The SQL text is built from a fixed column list and placeholders only; every value is bound.
use sea_orm::sqlx::{self, AssertSqlSafe, Connection, Executor, SqliteConnection};

use crate::group::{self, Queue};

/// How long a connection waits for a lock, as the node's store.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One request to commit: its idempotency key, its bytes and their signature (empty when
/// not signing).
struct Row {
    idempotency_key: String,
    body: Vec<u8>,
    signature: Vec<u8>,
}

/// The minimal server's storage and, with `--sign`, its signer.
#[derive(Clone)]
pub struct MinimalStore {
    queue: Queue<Row>,
    signer: Option<std::sync::Arc<EventSigningKey>>,
}

impl MinimalStore {
    /// Creates the table in the SQLite file at `path` (made if missing) and starts the
    /// writer task.
    pub async fn start(path: &Path, signer: Option<EventSigningKey>) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT);
        let mut connection = SqliteConnection::connect_with(&options)
            .await
            .with_context(|| path.display().to_string())?;
        connection
            .execute(
                "CREATE TABLE IF NOT EXISTS request (id INTEGER PRIMARY KEY, \
                 idempotency_key TEXT NOT NULL, body BLOB NOT NULL, signature BLOB NOT NULL)",
            )
            .await
            .context("creating the table")?;
        let (queue, jobs) = Queue::new();
        tokio::spawn(group::run(connection, jobs, write));
        Ok(Self {
            queue,
            signer: signer.map(std::sync::Arc::new),
        })
    }

    /// Signs (with `--sign`) and commits one request; returns once it is durable.
    pub async fn record(&self, idempotency_key: String, body: Vec<u8>) -> Result<(), String> {
        let signature = self.signer.as_ref().map_or_else(Vec::new, |signer| {
            signer.sign(SigningDomain::EVENT, &body).to_bytes().to_vec()
        });
        let row = Row {
            idempotency_key,
            body,
            signature,
        };
        self.queue.commit(row, "minimal server's").await
    }
}

/// One transaction, one multi-row INSERT: BEGIN, INSERT and COMMIT in one query, so one
/// hand-off to sqlx's worker thread, as the node's fast path for a batch of openings.
async fn write(connection: &mut SqliteConnection, batch: &[&Row]) -> Result<(), sqlx::Error> {
    let row = "(?, ?, ?)";
    let sql = format!(
        "BEGIN IMMEDIATE;\nINSERT INTO request (idempotency_key, body, signature) VALUES {};\nCOMMIT;",
        vec![row; batch.len()].join(", ")
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for row in batch {
        query = query
            .bind(row.idempotency_key.as_str())
            .bind(row.body.as_slice())
            .bind(row.signature.as_slice());
    }
    match query.execute(&mut *connection).await {
        Ok(_) => Ok(()),
        Err(error) => {
            // Leave the connection clean for the next batch; "no transaction is active" is
            // that clean state already.
            let _already_rolled_back = sqlx::raw_sql("ROLLBACK").execute(&mut *connection).await;
            Err(error)
        }
    }
}
