//! A batch of plain changes as one SQLite query: the writer's fast path.
//!
//! sqlx runs SQLite on a worker thread per connection, and every statement is a hand-off to
//! that thread and back. On a busy machine each hand-off waits for a core, so a batch written
//! statement by statement (a look-up, BEGIN, an INSERT per table, COMMIT) spends more time
//! waiting in that chain than working, and every request waits for the whole chain. Here a
//! batch is BEGIN, **one** query holding every statement of the batch (SQLite's driver runs
//! the statements of one query in turn, binding each its own parameters, and keeps the whole
//! query prepared), and COMMIT: three hand-offs, whatever the batch holds.
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

use sea_orm::sqlx::{self, AssertSqlSafe, Connection as _, Sqlite};

use super::model::{AuditRecord, CaseRecord, CaseWrite, Change, DeliveryOutcome};
use super::writer::{Job, to_i64};

/// Most rows per INSERT statement: SQLite binds at most 32,766 parameters per statement, and
/// the widest insert here has nine columns.
const ROWS_PER_STATEMENT: usize = 256;

/// Why the fast path did not commit a batch (the slow path then takes it).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// SQLite refused a statement, commonly a key constraint (see the module's docs).
    #[error("sqlite: {0}")]
    Sqlite(#[from] sqlx::Error),
    /// The batch holds a change only the slow path can write (see [`eligible`]).
    #[error("the batch holds a change the fast path does not write")]
    Ineligible,
    /// The rollback after a refusal failed: the connection may still hold the transaction.
    #[error("rollback after a refusal: {0}")]
    RollbackFailed(sqlx::Error),
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
/// events to it, starting right after the history it read; deliveries and audit records
/// always qualify. A replacement (a sequence clash) or an update without events goes to the
/// slow path, whose per-change checks it needs.
pub(crate) fn eligible(batch: &[Job]) -> bool {
    batch.iter().all(|job| match job {
        Job::Change(change, _) => match &change.case {
            CaseWrite::Create(_) => true,
            CaseWrite::Update {
                expected_event_count,
                ..
            } => change
                .events
                .first()
                .is_some_and(|first| first.sequence == expected_event_count + 1),
            CaseWrite::Replace { .. } => false,
        },
        Job::Delivery(..) | Job::Audit(..) => true,
    })
}

/// Commits `batch` in one transaction of three hand-offs on `connection` and says how long
/// each took, or rolls back and says why (an ineligible batch is refused before anything
/// runs).
pub(crate) async fn commit(
    connection: &mut sqlx::SqliteConnection,
    batch: &[Job],
) -> Result<Phases, Error> {
    if !eligible(batch) {
        return Err(Error::Ineligible);
    }
    let started = Instant::now();
    let statements = Statements::of(batch);
    let mut transaction = connection.begin().await?;
    let begun = Instant::now();
    let outcome = statements.run(&mut transaction).await;
    let written = Instant::now();
    match outcome {
        Ok(()) => {
            transaction.commit().await?;
            Ok(Phases {
                begin: begun - started,
                statements: written - begun,
                commit: written.elapsed(),
            })
        }
        Err(error) => {
            // An explicit rollback, so that the connection is clean for the next batch.
            transaction
                .rollback()
                .await
                .map_err(Error::RollbackFailed)?;
            Err(error)
        }
    }
}

/// How long a committed batch took in each of its hand-offs to sqlx's worker thread: each
/// includes the wait for that thread and for the writer to be woken again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phases {
    /// BEGIN.
    pub(crate) begin: Duration,
    /// The batch's query, with building it.
    pub(crate) statements: Duration,
    /// COMMIT, with its sync to disk.
    pub(crate) commit: Duration,
}

/// Means of [`Phases`] over a period, logged at debug level (`RUST_LOG=accord_node::store=debug`)
/// every [`Timings::PERIOD`]: where a request's wait for its commit goes.
pub(crate) struct Timings {
    since: Instant,
    batches: u32,
    changes: usize,
    total: [Duration; 3],
}

impl Timings {
    /// How often the means are logged, while batches are committed.
    pub(crate) const PERIOD: Duration = Duration::from_secs(10);

    pub(crate) fn new() -> Self {
        Self {
            since: Instant::now(),
            batches: 0,
            changes: 0,
            total: [Duration::ZERO; 3],
        }
    }

    /// Adds a batch of `changes` jobs; logs and starts over once a period has passed.
    pub(crate) fn add(&mut self, changes: usize, phases: Phases) {
        self.batches += 1;
        self.changes += changes;
        for (total, phase) in
            self.total
                .iter_mut()
                .zip([phases.begin, phases.statements, phases.commit])
        {
            *total += phase;
        }
        let elapsed = self.since.elapsed();
        if elapsed < Self::PERIOD {
            return;
        }
        let [begin, statements, commit] = self.total.map(|total| total / self.batches);
        tracing::debug!(
            batches_per_second = f64::from(self.batches) / elapsed.as_secs_f64(),
            jobs_per_batch = self.changes as f64 / f64::from(self.batches),
            ?begin,
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
                    match &change.case {
                        CaseWrite::Create(record) => statements.new_cases.push(record),
                        // `commit` admits no replacement (see `eligible`).
                        CaseWrite::Update {
                            record,
                            expected_event_count,
                        }
                        | CaseWrite::Replace {
                            record,
                            expected_event_count,
                            ..
                        } => {
                            statements.updates.push((record, *expected_event_count));
                        }
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

    /// Runs every statement as one query inside `transaction` and checks the count.
    async fn run(&self, transaction: &mut sqlx::SqliteConnection) -> Result<(), Error> {
        let mut sql = String::new();
        let mut query_arguments = sqlx::sqlite::SqliteArguments::default();
        self.write_updates(&mut sql, &mut query_arguments)?;
        self.write_inserts(&mut sql, &mut query_arguments)?;
        self.write_deliveries(&mut sql, &mut query_arguments)?;
        self.write_audits(&mut sql, &mut query_arguments)?;
        // The text holds only fixed table and column names and placeholders; every value is
        // bound.
        let result = sqlx::query_with::<Sqlite, _>(AssertSqlSafe(sql), query_arguments)
            .execute(&mut *transaction)
            .await?;
        let expected = self.expected_rows();
        if result.rows_affected() == expected {
            Ok(())
        } else {
            Err(Error::CountMismatch {
                changed: result.rows_affected(),
                expected,
            })
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
                bind(arguments, case.case_kind.as_str())?;
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
            bind(arguments, key.created_at)
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
                    bind(arguments, i64::from(*attempts))?;
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
                    bind(arguments, i64::from(*attempts))?;
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
