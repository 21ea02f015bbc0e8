//! A batch of plain changes as one SQLite query: the writer's fast path.
//!
//! sqlx runs SQLite on a worker thread per connection, and every statement is a hand-off to
//! that thread and back. On a busy machine each hand-off waits for a core, so a batch written
//! statement by statement (a look-up, BEGIN, an INSERT per table, COMMIT) spends more time
//! waiting in that chain than working, and every request waits for the whole chain. Here a
//! batch is **one** query holding BEGIN and every statement of the batch (SQLite's driver
//! runs the statements of one query in turn, binding each its own parameters, and keeps the
//! whole query prepared), and COMMIT, in the same query when the batch only inserts (see
//! [`commit`]): one or two hand-offs, whatever the batch holds. The writer holds the
//! connection between batches (`store::writer`).
//!
//! The query does not look idempotency keys up first and does not read the cases it
//! updates: it relies on the schema's constraints to refuse what the slow path would have
//! caught, and on a count to prove that every statement did what it should, before the
//! commit:
//! - a key used before (a replay, a reuse, or twice in the batch) violates the primary key
//!   of `idempotency`;
//! - an update of a case that moved since it was read either matches no row (the count
//!   falls short) or, because an update appends events from `expected_event_count + 1`
//!   (see [`eligible`]), violates the primary key of `case_event` (the case's events are
//!   never removed except by a replacement, which never shortens a history);
//! - the rows the statements report changed must add up to exactly the rows of the batch.
//!
//! Every statement is `OR FAIL`: a refusal stops the query where it is, without undoing the
//! statement's earlier rows. Those rows are rolled back with the whole transaction anyway, and
//! SQLite then keeps no statement journal (a copy of every page a multi-row statement
//! touches, kept in case the statement alone must be undone; 2.6 % of the node's CPU).
//!
//! Any refusal or a wrong count rolls the transaction back and the writer takes its slow
//! path for the batch, which judges each change on its own. So the fast path is an
//! optimisation only: it commits exactly what the slow path would, or nothing.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;
use sea_orm::sqlx::{self, AssertSqlSafe, Sqlite};

use super::model::{AuditRecord, CaseRecord, CaseWrite, Change, DeliveryOutcome, kind_column};
use super::writer::{Job, to_i32, to_i64};

/// Most rows per INSERT statement: SQLite binds at most 32,766 parameters per statement, and
/// the widest insert here has nine columns.
const ROWS_PER_STATEMENT: usize = 256;

/// Why the fast path did not commit a batch (the slow path then takes it).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// SQLite refused a statement, commonly a key constraint (see the module's docs).
    #[error("sqlite refused a statement of the batch")]
    Sqlite(#[from] sqlx::Error),
    /// The batch holds a change only the slow path can write (see [`eligible`]).
    #[error("the batch holds a change the fast path does not write")]
    Ineligible,
    /// The rollback after a refusal failed: the connection may still hold the transaction.
    #[error("the rollback after a refusal failed")]
    RollbackFailed(#[source] sqlx::Error),
    /// The statements changed another number of rows than the batch holds.
    #[error("the batch changed {changed} rows, expected {expected}")]
    CountMismatch {
        /// Rows the statements reported.
        changed: u64,
        /// Rows the batch holds.
        expected: u64,
    },
}

impl Error {
    /// Whether the connection must not take the next batch: its rollback failed, or sqlx
    /// lost it.
    pub(crate) fn leaves_connection_unusable(&self) -> bool {
        matches!(
            self,
            Self::RollbackFailed(_) | Self::Sqlite(sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed)
        )
    }
}

/// Whether the fast path can take `batch`: every change either creates its case or appends
/// events to it, starting right after the history it read, and moves no offer; deliveries
/// and audit records always qualify. A replacement (a sequence clash), an update without
/// events or a change that moves an offer goes to the slow path, whose per-change checks it
/// needs.
pub(crate) fn eligible(batch: &[Job]) -> bool {
    batch.iter().all(|job| match job {
        // A change that also moves an offer has two summaries to check before either is
        // written: the slow path's per-change checks.
        Job::Change(change, _) if change.offer.is_some() => false,
        Job::Change(change, _) => match &change.case {
            CaseWrite::Create(_) => true,
            CaseWrite::Update {
                expected_event_count,
                ..
            } => change.events.first().is_some_and(|first| {
                // Checked: a count no history reaches must not panic the writer, only miss.
                expected_event_count.checked_add(1) == Some(first.sequence)
            }),
            CaseWrite::Replace { .. } => false,
        },
        Job::Delivery(..) | Job::Audit(..) => true,
    })
}

/// Commits `batch` in one transaction on `connection` and says how long it took, or rolls
/// back and says why (an ineligible batch is refused before anything runs).
///
/// One hand-off when the batch only inserts: the query holds BEGIN, the statements and
/// COMMIT, since an INSERT either adds every row it names or fails, and a failure stops the
/// query before its COMMIT. Two when the batch also updates rows, which may match none
/// without failing: the query holds BEGIN and the statements, and COMMIT follows once the
/// count is checked.
pub(crate) async fn commit(
    connection: &mut sqlx::SqliteConnection,
    batch: &[Job],
) -> Result<Phases, Error> {
    if !eligible(batch) {
        return Err(Error::Ineligible);
    }
    let started = Instant::now();
    let statements = Statements::of(batch);
    let commit_in_query = statements.only_inserts();
    let outcome = statements.run(connection, commit_in_query).await;
    let written = Instant::now();
    let outcome = match outcome {
        Ok(()) if commit_in_query => Ok(()),
        Ok(()) => sqlx::raw_sql("COMMIT")
            .execute(&mut *connection)
            .await
            .map(drop)
            .map_err(Error::from),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => Ok(Phases {
            statements: written - started,
            commit: if commit_in_query {
                Duration::ZERO
            } else {
                written.elapsed()
            },
        }),
        Err(error) => {
            roll_back(connection).await?;
            Err(error)
        }
    }
}

/// Ends a transaction the fast path left open, so that the connection is clean for the next
/// batch. SQLite refuses a ROLLBACK when no transaction is open (the query failed at its
/// BEGIN, or SQLite already rolled back), which is the clean state sought.
async fn roll_back(connection: &mut sqlx::SqliteConnection) -> Result<(), Error> {
    match sqlx::raw_sql("ROLLBACK").execute(&mut *connection).await {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_database_error()
                .is_some_and(|error| error.message().contains("no transaction is active")) =>
        {
            Ok(())
        }
        Err(error) => Err(Error::RollbackFailed(error)),
    }
}

/// How long a committed batch took in its hand-offs to sqlx's worker thread: each includes
/// the wait for that thread and for the writer to be woken again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phases {
    /// The batch's query, with building it: BEGIN, the statements, and COMMIT when the batch
    /// only inserts.
    pub(crate) statements: Duration,
    /// COMMIT on its own, after a batch that updates rows (zero otherwise).
    pub(crate) commit: Duration,
}

/// Means of [`Phases`] over a period, logged at debug level (`RUST_LOG=accord_node::store=debug`)
/// every [`Timings::PERIOD`]: where a request's wait for its commit goes.
pub(crate) struct Timings {
    since: Instant,
    batches: u32,
    changes: usize,
    total: [Duration; 2],
}

impl Timings {
    /// How often the means are logged, while batches are committed.
    pub(crate) const PERIOD: Duration = Duration::from_secs(10);

    pub(crate) fn new() -> Self {
        Self {
            since: Instant::now(),
            batches: 0,
            changes: 0,
            total: [Duration::ZERO; 2],
        }
    }

    /// Adds a batch of `changes` jobs; logs and starts over once a period has passed.
    pub(crate) fn add(&mut self, changes: usize, phases: Phases) {
        self.batches += 1;
        self.changes += changes;
        for (total, phase) in self
            .total
            .iter_mut()
            .zip([phases.statements, phases.commit])
        {
            *total += phase;
        }
        let elapsed = self.since.elapsed();
        if elapsed < Self::PERIOD {
            return;
        }
        let [statements, commit] = self.total.map(|total| total / self.batches);
        tracing::debug!(
            batches_per_second = f64::from(self.batches) / elapsed.as_secs_f64(),
            jobs_per_batch = self.changes as f64 / f64::from(self.batches),
            ?statements,
            ?commit,
            "writer fast path: mean time per batch in each hand-off"
        );
        *self = Self::new();
    }
}

/// The batch's statements, their parameters and the rows they must change.
struct Statements<'a> {
    /// Each updated case with the event count its change read.
    updates: Vec<(&'a CaseRecord, u64)>,
    new_cases: Vec<&'a CaseRecord>,
    changes: Vec<&'a Change>,
    deliveries: Vec<&'a DeliveryOutcome>,
    audits: Vec<&'a AuditRecord>,
}

impl<'a> Statements<'a> {
    fn of(batch: &'a [Job]) -> Self {
        let mut statements = Self {
            updates: Vec::new(),
            new_cases: Vec::new(),
            changes: Vec::new(),
            deliveries: Vec::new(),
            audits: Vec::new(),
        };
        for job in batch {
            match job {
                Job::Change(change, _) => {
                    if let CaseWrite::Create(record) = &change.case {
                        statements.new_cases.push(record);
                    } else if let Some(update) = change.case.expected() {
                        // An update: `commit` admits no replacement (see `eligible`).
                        statements.updates.push(update);
                    }
                    statements.changes.push(change);
                }
                Job::Delivery(outcome, _) => statements.deliveries.push(outcome),
                Job::Audit(record, _) => statements.audits.push(record),
            }
        }
        statements
    }

    /// The rows every statement together must report changed.
    fn expected_rows(&self) -> u64 {
        let per_change: usize = self
            .changes
            .iter()
            .map(|change| {
                change.events.len()
                    + change.outbox.len()
                    + usize::from(change.idempotency.is_some())
            })
            .sum();
        let rows = self.updates.len()
            + self.new_cases.len()
            + per_change
            + self.deliveries.len()
            + self.audits.len();
        u64::try_from(rows).unwrap_or(u64::MAX)
    }

    /// Whether every statement inserts rows (no case or outbox update).
    fn only_inserts(&self) -> bool {
        self.updates.is_empty() && self.deliveries.is_empty()
    }

    /// Runs BEGIN and every statement as one query, with COMMIT at its end when
    /// `commit_in_query`, and checks that the statements changed exactly the batch's rows.
    async fn run(
        &self,
        connection: &mut sqlx::SqliteConnection,
        commit_in_query: bool,
    ) -> Result<(), Error> {
        // IMMEDIATE: the write lock is taken at BEGIN, so any wait for it comes first.
        let mut sql = String::from("BEGIN IMMEDIATE;\n");
        let mut query_arguments = sqlx::sqlite::SqliteArguments::default();
        self.write_updates(&mut sql, &mut query_arguments)?;
        self.write_inserts(&mut sql, &mut query_arguments)?;
        self.write_deliveries(&mut sql, &mut query_arguments)?;
        self.write_audits(&mut sql, &mut query_arguments)?;
        if commit_in_query {
            sql.push_str("COMMIT;\n");
        }
        // The text holds only fixed table and column names and placeholders; every value is
        // bound.
        let query = sqlx::query_with::<Sqlite, _>(AssertSqlSafe(sql), query_arguments);
        let results: Vec<sqlx::sqlite::SqliteQueryResult> =
            sqlx::Executor::execute_many(&mut *connection, query)
                .try_collect()
                .await?;
        // BEGIN and COMMIT change no rows, but SQLite reports for them the count of the
        // connection's last INSERT, UPDATE or DELETE: they are left out of the sum.
        let changed: u64 = results
            .iter()
            .skip(1)
            .take(
                results
                    .len()
                    .saturating_sub(1 + usize::from(commit_in_query)),
            )
            .map(sqlx::sqlite::SqliteQueryResult::rows_affected)
            .sum();
        let expected = self.expected_rows();
        if changed == expected {
            Ok(())
        } else if commit_in_query {
            // Committed already: every statement inserted, and an INSERT that returns adds
            // every row it names, so the batch is whole and is answered as committed. A
            // count that disagrees means sqlx reports rows another way than this code expects.
            tracing::error!(
                changed,
                expected,
                "fast path: the row count of a committed batch disagrees"
            );
            Ok(())
        } else {
            Err(Error::CountMismatch { changed, expected })
        }
    }

    fn write_updates(
        &self,
        sql: &mut String,
        arguments: &mut sqlx::sqlite::SqliteArguments,
    ) -> Result<(), Error> {
        for (record, expected) in &self.updates {
            sql.push_str(
                "UPDATE OR FAIL case_summary SET status = ?, event_count = ?, updated_at = ?, \
                 next_deadline_at = ? WHERE case_ref = ? AND event_count = ?;\n",
            );
            bind(arguments, record.status.clone())?;
            bind(arguments, to_i64(record.event_count))?;
            bind(arguments, record.updated_at)?;
            bind(arguments, record.next_deadline_at)?;
            bind(arguments, record.case_ref.clone())?;
            bind(arguments, to_i64(*expected))?;
        }
        Ok(())
    }

    fn write_inserts(
        &self,
        sql: &mut String,
        arguments: &mut sqlx::sqlite::SqliteArguments,
    ) -> Result<(), Error> {
        insert(
            sql,
            arguments,
            CASE_COLUMNS,
            &self.new_cases,
            |arguments, case| {
                bind(arguments, case.case_ref.clone())?;
                bind(arguments, kind_column(case.case_kind))?;
                bind(arguments, case.first_state.clone())?;
                bind(arguments, case.second_state.clone())?;
                bind(arguments, case.status.clone())?;
                bind(arguments, to_i64(case.event_count))?;
                bind(arguments, case.created_at)?;
                bind(arguments, case.updated_at)?;
                bind(arguments, case.next_deadline_at)
            },
        )?;
        let events: Vec<_> = self.changes.iter().flat_map(|c| &c.events).collect();
        insert(
            sql,
            arguments,
            EVENT_COLUMNS,
            &events,
            |arguments, event| {
                bind(arguments, event.case_ref.clone())?;
                bind(arguments, to_i64(event.sequence))?;
                bind(arguments, event.kind.clone())?;
                bind(arguments, event.acting_state.clone())?;
                bind(arguments, event.occurred_at)?;
                bind(arguments, event.idempotency_key.clone())?;
                bind(arguments, event.envelope.clone())
            },
        )?;
        let keys: Vec<_> = self
            .changes
            .iter()
            .filter_map(|c| c.idempotency.as_ref())
            .collect();
        insert(sql, arguments, KEY_COLUMNS, &keys, |arguments, key| {
            bind(arguments, key.caller.clone())?;
            bind(arguments, key.idempotency_key.clone())?;
            bind(arguments, key.operation.clone())?;
            bind(arguments, key.request_digest.clone())?;
            bind(arguments, key.response.clone())?;
            bind(arguments, key.created_at)?;
            bind(arguments, key.history_through.map(to_i64))
        })?;
        let messages: Vec<_> = self.changes.iter().flat_map(|c| &c.outbox).collect();
        insert(
            sql,
            arguments,
            OUTBOX_COLUMNS,
            &messages,
            |arguments, message| {
                bind(arguments, message.case_ref.clone())?;
                bind(arguments, message.destination.clone())?;
                bind(arguments, message.channel.as_str())?;
                bind(arguments, Vec::<u8>::new())?;
                bind(arguments, message.event.case_ref.clone())?;
                bind(arguments, to_i64(message.event.sequence))?;
                bind(arguments, 0_i32)?;
                bind(arguments, message.created_at)?;
                bind(arguments, message.created_at)
            },
        )
    }

    fn write_deliveries(
        &self,
        sql: &mut String,
        arguments: &mut sqlx::sqlite::SqliteArguments,
    ) -> Result<(), Error> {
        // Attempts are capped to the column's `i32` as the slow path writes them (sea-orm reads
        // them back as `i32`).
        for outcome in &self.deliveries {
            match outcome {
                DeliveryOutcome::Delivered { id, at } => {
                    sql.push_str("UPDATE OR FAIL outbox SET delivered_at = ? WHERE id = ?;\n");
                    bind(arguments, *at)?;
                    bind(arguments, *id)?;
                }
                DeliveryOutcome::Retry {
                    id,
                    attempts,
                    next_attempt_at,
                    error,
                } => {
                    sql.push_str(
                        "UPDATE OR FAIL outbox SET attempts = ?, next_attempt_at = ?, last_error = ? \
                         WHERE id = ?;\n",
                    );
                    bind(arguments, to_i32(*attempts))?;
                    bind(arguments, *next_attempt_at)?;
                    bind(arguments, error.clone())?;
                    bind(arguments, *id)?;
                }
                DeliveryOutcome::Refused {
                    id,
                    attempts,
                    reason,
                } => {
                    sql.push_str(
                        "UPDATE OR FAIL outbox SET attempts = ?, failed_reason = ? WHERE id = ?;\n",
                    );
                    bind(arguments, to_i32(*attempts))?;
                    bind(arguments, reason.clone())?;
                    bind(arguments, *id)?;
                }
            }
        }
        Ok(())
    }

    fn write_audits(
        &self,
        sql: &mut String,
        arguments: &mut sqlx::sqlite::SqliteArguments,
    ) -> Result<(), Error> {
        insert(
            sql,
            arguments,
            AUDIT_COLUMNS,
            &self.audits,
            |arguments, record| {
                bind(arguments, record.at)?;
                bind(arguments, record.peer.clone())?;
                bind(arguments, record.operation.clone())?;
                bind(arguments, record.outcome.clone())?;
                bind(arguments, record.detail.clone())
            },
        )
    }
}

/// A table and the columns the fast path writes, in binding order.
struct Columns {
    table: &'static str,
    names: &'static [&'static str],
}

const CASE_COLUMNS: Columns = Columns {
    table: "case_summary",
    names: &[
        "case_ref",
        "case_kind",
        "first_state",
        "second_state",
        "status",
        "event_count",
        "created_at",
        "updated_at",
        "next_deadline_at",
    ],
};

const EVENT_COLUMNS: Columns = Columns {
    table: "case_event",
    names: &[
        "case_ref",
        "sequence",
        "kind",
        "acting_state",
        "occurred_at",
        "idempotency_key",
        "envelope",
    ],
};

const KEY_COLUMNS: Columns = Columns {
    table: "idempotency",
    names: &[
        "caller",
        "idempotency_key",
        "operation",
        "request_digest",
        "response",
        "created_at",
        "history_through",
    ],
};

const OUTBOX_COLUMNS: Columns = Columns {
    table: "outbox",
    names: &[
        "case_ref",
        "destination",
        "channel",
        "payload",
        "event_case_ref",
        "event_sequence",
        "attempts",
        "next_attempt_at",
        "created_at",
    ],
};

const AUDIT_COLUMNS: Columns = Columns {
    table: "audit_log",
    names: &["at", "peer", "operation", "outcome", "detail"],
};

/// Appends multi-row INSERT statements for `rows` (at most [`ROWS_PER_STATEMENT`] each).
fn insert<T>(
    sql: &mut String,
    arguments: &mut sqlx::sqlite::SqliteArguments,
    columns: Columns,
    rows: &[T],
    mut bind_row: impl FnMut(&mut sqlx::sqlite::SqliteArguments, &T) -> Result<(), Error>,
) -> Result<(), Error> {
    let row_placeholders = format!("({})", vec!["?"; columns.names.len()].join(", "));
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        sql.push_str("INSERT OR FAIL INTO ");
        sql.push_str(columns.table);
        sql.push_str(" (");
        sql.push_str(&columns.names.join(", "));
        sql.push_str(") VALUES ");
        for (index, row) in chunk.iter().enumerate() {
            if index > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&row_placeholders);
            bind_row(arguments, row)?;
        }
        sql.push_str(";\n");
    }
    Ok(())
}

/// Binds one value; a value sqlx cannot encode is refused, never panicked on.
fn bind<'q, T>(arguments: &mut sqlx::sqlite::SqliteArguments, value: T) -> Result<(), Error>
where
    T: sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite>,
{
    use sqlx::Arguments;
    arguments
        .add(value)
        .map_err(|error| Error::Sqlite(sqlx::Error::Encode(error)))
}

#[cfg(test)]
mod tests {
    //! The fast path itself, below the writer: that it commits what it should in one query,
    //! refuses what the slow path must judge, and leaves its connection clean either way
    //! (the store's integration tests see only the writer's answers, which the slow path
    //! would give too).

    use sea_orm::Database;
    use sea_orm::sqlx::pool::PoolConnection;
    use tokio::sync::oneshot;

    use super::*;
    use crate::store::model::OutboxMessage;
    use crate::store::model::{CaseKind, Channel, EventRecord, EventRef, IdempotencyRecord};

    async fn fast_connection() -> (tempfile::TempDir, PoolConnection<Sqlite>) {
        let folder = tempfile::tempdir().expect("temporary folder");
        let url = format!(
            "sqlite://{}?mode=rwc",
            folder.path().join("node.db").display()
        );
        let db = Database::connect(&url).await.expect("database");
        crate::store::migration::migrate(&db)
            .await
            .expect("migrations");
        let connection = db
            .get_sqlite_connection_pool()
            .acquire()
            .await
            .expect("connection");
        (folder, connection)
    }

    fn summary(case_ref: &str, event_count: u64) -> CaseRecord {
        CaseRecord {
            case_ref: case_ref.into(),
            case_kind: CaseKind::Readmission,
            first_state: "GB".into(),
            second_state: "FR".into(),
            status: "SUBMITTED".into(),
            event_count,
            created_at: 1_000,
            updated_at: 1_000,
            next_deadline_at: None,
        }
    }

    fn change(case: CaseWrite, case_ref: &str, sequence: u64, key: &str) -> Job {
        let change = Change {
            idempotency: Some(IdempotencyRecord {
                caller: "gateway".into(),
                idempotency_key: key.into(),
                operation: "OpenReadmission".into(),
                request_digest: vec![1; 32],
                response: vec![2],
                created_at: 1_000,
                history_through: Some(sequence),
            }),
            case,
            offer: None,
            events: vec![EventRecord {
                case_ref: case_ref.into(),
                sequence,
                kind: "SUBMITTED".into(),
                acting_state: "GB".into(),
                occurred_at: 1_000,
                idempotency_key: key.into(),
                envelope: vec![3],
            }],
            outbox: vec![OutboxMessage {
                case_ref: case_ref.into(),
                destination: "FR".into(),
                channel: Channel::Readmission,
                event: EventRef {
                    case_ref: case_ref.into(),
                    sequence,
                },
                created_at: 1_000,
            }],
        };
        Job::Change(Box::new(change), oneshot::channel().0)
    }

    fn opening(case_ref: &str, key: &str) -> Job {
        change(CaseWrite::Create(summary(case_ref, 1)), case_ref, 1, key)
    }

    fn step(case_ref: &str, read_event_count: u64, key: &str) -> Job {
        let case = CaseWrite::Update {
            record: summary(case_ref, read_event_count + 1),
            expected_event_count: read_event_count,
        };
        change(case, case_ref, read_event_count + 1, key)
    }

    async fn count(connection: &mut sqlx::SqliteConnection, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(connection)
            .await
            .expect("count")
    }

    #[tokio::test]
    async fn openings_commit_in_one_query_with_every_row() {
        let (_folder, mut connection) = fast_connection().await;
        let batch = [opening("C-1", "k1"), opening("C-2", "k2")];
        let phases = commit(&mut connection, &batch).await.expect("committed");
        assert_eq!(
            phases.commit,
            Duration::ZERO,
            "COMMIT was part of the query"
        );
        for table in ["case_summary", "case_event", "idempotency", "outbox"] {
            assert_eq!(count(&mut connection, table).await, 2, "{table}");
        }
    }

    #[tokio::test]
    async fn steps_commit_after_their_count_is_checked() {
        let (_folder, mut connection) = fast_connection().await;
        commit(&mut connection, &[opening("C-1", "k1")])
            .await
            .expect("opened");
        let phases = commit(&mut connection, &[step("C-1", 1, "k2")])
            .await
            .expect("stepped");
        assert!(
            phases.commit > Duration::ZERO,
            "COMMIT was its own hand-off"
        );
        assert_eq!(count(&mut connection, "case_event").await, 2);
    }

    #[tokio::test]
    async fn a_stale_step_is_refused_whole_and_the_connection_takes_the_next_batch() {
        let (_folder, mut connection) = fast_connection().await;
        commit(&mut connection, &[opening("C-1", "k1")])
            .await
            .expect("opened");
        // Read at 0 events: the case's update matches no row, and its event 1 exists.
        let stale = step("C-1", 0, "k2");
        let refused = commit(&mut connection, &[opening("C-2", "k3"), stale]).await;
        assert!(matches!(
            refused,
            Err(Error::Sqlite(_) | Error::CountMismatch { .. })
        ));
        assert_eq!(
            count(&mut connection, "case_summary").await,
            1,
            "C-2 rolled back"
        );
        assert_eq!(count(&mut connection, "idempotency").await, 1);
        commit(&mut connection, &[opening("C-2", "k3")])
            .await
            .expect("the next batch commits on the same connection");
        assert_eq!(count(&mut connection, "case_summary").await, 2);
    }

    #[tokio::test]
    async fn a_reused_key_among_openings_is_refused_before_the_commit() {
        let (_folder, mut connection) = fast_connection().await;
        commit(&mut connection, &[opening("C-1", "k1")])
            .await
            .expect("opened");
        let refused = commit(
            &mut connection,
            &[opening("C-2", "k2"), opening("C-3", "k1")],
        )
        .await;
        assert!(matches!(refused, Err(Error::Sqlite(_))), "{refused:?}");
        assert_eq!(
            count(&mut connection, "case_summary").await,
            1,
            "nothing committed"
        );
        assert_eq!(count(&mut connection, "outbox").await, 1);
        commit(&mut connection, &[opening("C-2", "k2")])
            .await
            .expect("the next batch commits on the same connection");
    }
}
