//! The `lean` stage: a reference group-commit writer on the node's own schema, to measure
//! what the store could do without the ORM on its hot path.
//!
//! Same database (created by the node's migrations), same SQLite settings (WAL,
//! `synchronous=FULL`), same rows as the `commit` stage, same guarantee (each change
//! committed before its caller hears back), and the same per-batch idempotency look-up. What
//! differs is only the mechanics: one dedicated connection (its page cache stays warm),
//! statements written by hand and bound directly through sqlx, and multi-row INSERTs cut
//! into a few fixed sizes so that each size is prepared once and then served from the
//! statement cache. A benchmark fixture, not a proposal for the node's code as written.

use std::time::Duration;

use accord_node::store::{CaseWrite, Change};
use anyhow::Context;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
// The SQL texts are built from fixed column lists and placeholder counts only; every value
// is bound.
use sea_orm::sqlx::{self, AssertSqlSafe, Connection, SqliteConnection};

use crate::group::{self, Queue};

/// Rows per INSERT statement: a batch is cut greedily into these sizes, so only these few
/// statement texts exist per table and all of them stay prepared.
const CHUNK_SIZES: [usize; 4] = [64, 16, 4, 1];

/// How long a connection waits for a lock, as the node's store.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The lean writer's queue.
#[derive(Clone)]
pub struct LeanWriter {
    queue: Queue<Change>,
}

impl LeanWriter {
    /// Opens one connection to the SQLite file at `path` (already migrated) and starts the
    /// writer task.
    pub async fn start(path: &std::path::Path) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .statement_cache_capacity(64);
        let connection = SqliteConnection::connect_with(&options)
            .await
            .with_context(|| path.display().to_string())?;
        let (queue, jobs) = Queue::new();
        tokio::spawn(group::run(connection, jobs, write));
        Ok(Self { queue })
    }

    /// Commits `change`; returns once it is durable.
    pub async fn commit(&self, change: Change) -> Result<(), String> {
        self.queue.commit(change, "lean").await
    }
}

/// One transaction: the idempotency look-up, then one multi-row INSERT per table and chunk.
async fn write(connection: &mut SqliteConnection, changes: &[&Change]) -> Result<(), sqlx::Error> {
    let mut transaction = connection.begin().await?;
    let known = known_keys(&mut transaction, changes).await?;
    if known > 0 {
        return Err(sqlx::Error::Protocol(format!(
            "{known} keys were already used"
        )));
    }
    for chunk in chunks(changes) {
        insert_cases(&mut transaction, chunk).await?;
        insert_events(&mut transaction, chunk).await?;
        insert_keys(&mut transaction, chunk).await?;
        insert_messages(&mut transaction, chunk).await?;
    }
    transaction.commit().await
}

/// Splits the batch greedily into the fixed chunk sizes.
fn chunks<'a>(changes: &'a [&'a Change]) -> Vec<&'a [&'a Change]> {
    let mut result = Vec::new();
    let mut rest = changes;
    while !rest.is_empty() {
        let size = CHUNK_SIZES
            .iter()
            .copied()
            .find(|size| *size <= rest.len())
            .unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        result.push(chunk);
        rest = tail;
    }
    result
}

fn placeholders(columns: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

async fn known_keys(
    transaction: &mut SqliteConnection,
    changes: &[&Change],
) -> Result<i64, sqlx::Error> {
    let mut total = 0;
    for chunk in chunks(changes) {
        let sql = format!(
            "SELECT count(*) FROM idempotency WHERE (caller, idempotency_key) IN (VALUES {})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
        for change in chunk {
            let record = change.idempotency.as_ref();
            query = query
                .bind(record.map(|record| record.caller.clone()))
                .bind(record.map(|record| record.idempotency_key.clone()));
        }
        total += query.fetch_one(&mut *transaction).await?;
    }
    Ok(total)
}

async fn insert_cases(
    transaction: &mut SqliteConnection,
    chunk: &[&Change],
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO case_summary (case_ref, case_kind, first_state, second_state, status, \
         event_count, created_at, updated_at, next_deadline_at) VALUES {}",
        placeholders(9, chunk.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for change in chunk {
        let CaseWrite::Create(case) = &change.case else {
            return Err(sqlx::Error::Protocol(
                "the lean stage only opens cases".into(),
            ));
        };
        query = query
            .bind(case.case_ref.clone())
            .bind(accord_node::store::kind_column(case.case_kind))
            .bind(case.first_state.clone())
            .bind(case.second_state.clone())
            .bind(case.status.clone())
            .bind(i64::try_from(case.event_count).unwrap_or(i64::MAX))
            .bind(case.created_at)
            .bind(case.updated_at)
            .bind(case.next_deadline_at);
    }
    query.execute(&mut *transaction).await.map(|_| ())
}

async fn insert_events(
    transaction: &mut SqliteConnection,
    chunk: &[&Change],
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO case_event (case_ref, sequence, kind, acting_state, occurred_at, \
         idempotency_key, envelope) VALUES {}",
        placeholders(7, chunk.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for change in chunk {
        let event = change
            .events
            .first()
            .ok_or_else(|| sqlx::Error::Protocol("an open records one event".into()))?;
        query = query
            .bind(event.case_ref.clone())
            .bind(i64::try_from(event.sequence).unwrap_or(i64::MAX))
            .bind(event.kind.clone())
            .bind(event.acting_state.clone())
            .bind(event.occurred_at)
            .bind(event.idempotency_key.clone())
            .bind(event.envelope.clone());
    }
    query.execute(&mut *transaction).await.map(|_| ())
}

async fn insert_keys(
    transaction: &mut SqliteConnection,
    chunk: &[&Change],
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO idempotency (caller, idempotency_key, operation, request_digest, \
         response, created_at) VALUES {}",
        placeholders(6, chunk.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for change in chunk {
        let record = change
            .idempotency
            .as_ref()
            .ok_or_else(|| sqlx::Error::Protocol("an open carries a key".into()))?;
        query = query
            .bind(record.caller.clone())
            .bind(record.idempotency_key.clone())
            .bind(record.operation.clone())
            .bind(record.request_digest.clone())
            .bind(record.response.clone())
            .bind(record.created_at);
    }
    query.execute(&mut *transaction).await.map(|_| ())
}

async fn insert_messages(
    transaction: &mut SqliteConnection,
    chunk: &[&Change],
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO outbox (case_ref, destination, channel, payload, event_case_ref, \
         event_sequence, attempts, next_attempt_at, created_at) VALUES {}",
        placeholders(9, chunk.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for change in chunk {
        let message = change
            .outbox
            .first()
            .ok_or_else(|| sqlx::Error::Protocol("an open queues one message".into()))?;
        query = query
            .bind(message.case_ref.clone())
            .bind(message.destination.clone())
            .bind(message.channel.as_str())
            .bind(Vec::<u8>::new())
            .bind(message.event.case_ref.clone())
            .bind(i64::try_from(message.event.sequence).unwrap_or(i64::MAX))
            .bind(0_i32)
            .bind(message.created_at)
            .bind(message.created_at);
    }
    query.execute(&mut *transaction).await.map(|_| ())
}
