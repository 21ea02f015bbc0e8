//! The single writer: every change to the node's database goes through one task that groups
//! concurrent changes into one transaction with multi-row INSERTs (group commit).
//!
//! Why: SQLite allows one writer at a time, and a commit costs a sync to disk. One commit per
//! request caps a node at a few thousand requests a second; one commit per *batch* of
//! requests, each batch a handful of multi-row statements, keeps every request durable
//! before its reply and lets the throughput grow with the load. The same path serves
//! PostgreSQL unchanged.
//!
//! Guarantees, per change: it is committed entirely or not at all; its caller is answered
//! only after the commit; a change whose idempotency key was seen before is answered with
//! the first response (same content) or refused (other content) and writes nothing; a change
//! to a case that moved since it was read writes nothing and reports `Error::Conflict`, so
//! the use case can read again and retry. If a batch fails as a whole, each of its changes
//! is retried alone, so one bad change never fails its neighbours.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{Sqlite, SqlitePool};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    QueryFilter, Set, SqlErr, TransactionTrait,
};
use tokio::sync::{Notify, mpsc, oneshot};

use super::model::{
    AuditRecord, CaseWrite, Change, Committed, DeliveryOutcome, IdempotencyRecord, StoredAnswer,
};
use super::{Error, batch, rows};
use std::sync::Arc;

/// The most jobs one transaction takes. Bounded so one commit's latency stays small and
/// statements stay under SQLite's limit of bound parameters.
pub const WRITE_BATCH_MAX: usize = 256;

/// The writer's queue length: callers wait (backpressure) beyond it.
pub const WRITE_QUEUE_CAPACITY: usize = 4096;

/// The `failed_reason` of an outbox message whose event lost a sequence clash.
pub const SUPERSEDED: &str = "superseded: the event lost a sequence clash and was replaced";

/// Rows per multi-row INSERT statement (SQLite binds at most 32,766 parameters).
const ROWS_PER_INSERT: usize = 512;

/// One unit of work for the writer.
pub(crate) enum Job {
    /// A use case's change; answered after commit.
    Change(Box<Change>, oneshot::Sender<Result<Committed, Error>>),
    /// The dispatcher's record of a delivery attempt; answered after commit.
    Delivery(DeliveryOutcome, oneshot::Sender<Result<(), Error>>),
    /// A refused call for the audit table; answered after commit.
    Audit(AuditRecord, oneshot::Sender<Result<(), Error>>),
}

/// The write side of the store, cloned into every use case.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    queue: mpsc::Sender<Job>,
}

/// The writer's connections: sea-orm's for the slow path, and on SQLite the pool's other
/// connection for the fast path (`store::batch`), which the writer holds between batches.
///
/// Why held: a connection handed back to sqlx's pool is returned by a task of its own, so
/// taking it again for the next batch waited for that task to be scheduled. Timed in the
/// node under load (N = 64, 25 changes a batch), taking the connection and beginning took
/// 0.76 ms a batch when taken from the pool, 0.40 ms when held: longer, either way, than the
/// batch's query.
struct Connection {
    db: DatabaseConnection,
    sqlite: Option<SqlitePool>,
    fast: Option<PoolConnection<Sqlite>>,
    /// The fast path's hand-off times, for the debug log.
    timings: batch::Timings,
}

impl Connection {
    /// The writer's connections on `db`, with the fast path on SQLite.
    fn new(db: DatabaseConnection) -> Self {
        let sqlite = (db.get_database_backend() == DbBackend::Sqlite)
            .then(|| db.get_sqlite_connection_pool().clone());
        Self {
            db,
            sqlite,
            fast: None,
            timings: batch::Timings::new(),
        }
    }

    /// The fast path's connection, taken from the pool the first time. `None` where the pool
    /// cannot spare one (a single-connection pool would leave the slow path none).
    async fn fast(&mut self) -> Option<&mut PoolConnection<Sqlite>> {
        let pool = self.sqlite.as_ref()?;
        if self.fast.is_none() && pool.options().get_max_connections() > 1 {
            match pool.acquire().await {
                Ok(connection) => self.fast = Some(connection),
                Err(error) => tracing::warn!(%error, "no connection for the fast path"),
            }
        }
        self.fast.as_mut()
    }
}

impl WriterHandle {
    /// Starts the writer task on `db`; `outbox_written` is notified after every commit that
    /// added messages to the outbox.
    pub(crate) fn spawn(db: DatabaseConnection, outbox_written: Arc<Notify>) -> Self {
        let (queue, jobs) = mpsc::channel(WRITE_QUEUE_CAPACITY);
        let connection = Connection::new(db);
        tokio::spawn(run(connection, jobs, outbox_written));
        Self { queue }
    }

    pub(crate) async fn submit(&self, job: Job) -> Result<(), Error> {
        self.queue.send(job).await.map_err(|_| Error::WriterStopped)
    }
}

async fn run(
    mut connection: Connection,
    mut jobs: mpsc::Receiver<Job>,
    outbox_written: Arc<Notify>,
) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < WRITE_BATCH_MAX {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (_path, wrote_outbox) = commit_batch(&mut connection, batch).await;
        if wrote_outbox {
            outbox_written.notify_one();
        }
    }
}

/// A job whose fate is decided before the transaction: replays and reused keys.
enum Verdict {
    Write,
    Answer(Result<Committed, Error>),
    /// Same key and content as the change at this index, earlier in this batch: it takes
    /// that change's fate once the batch is committed — its response if it was written,
    /// `Conflict` if it was stale (then nothing holds the key, and a retry decides afresh).
    FollowEarlier(usize, StoredAnswer),
}

/// Which of the writer's paths committed a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// `store::batch`: the whole batch as one query.
    Fast,
    /// sea-orm, judging every change (and every job alone if the batch fails as a whole).
    Slow,
}

/// Commits a batch: on SQLite through the fast path (`store::batch`) when it can take the
/// batch, else (or when the fast path refused it) judging every change; falls back to one
/// transaction per job if the batch fails as a whole. Returns the path that committed it
/// (the equivalence test checks that the fast path is exercised) and whether outbox messages
/// were committed.
async fn commit_batch(connection: &mut Connection, batch: Vec<Job>) -> (Path, bool) {
    if let Some(fast) = connection.fast().await
        && batch::eligible(&batch)
    {
        match batch::commit(fast, &batch).await {
            Ok(phases) => {
                connection.timings.add(batch.len(), phases);
                return (Path::Fast, answer_applied(batch));
            }
            Err(error) => {
                tracing::debug!(
                    error = &error as &dyn std::error::Error,
                    jobs = batch.len(),
                    "fast path refused the batch; judging each change"
                );
                if error.leaves_connection_unusable()
                    && let Some(unusable) = connection.fast.take()
                {
                    // Closed, not returned: it may still hold a transaction. The pool opens
                    // another for the next batch.
                    if let Err(error) = unusable.close().await {
                        tracing::warn!(
                            error = &error as &dyn std::error::Error,
                            "closing the fast path's connection"
                        );
                    }
                }
            }
        }
    }
    (Path::Slow, commit_slow(&connection.db, batch).await)
}

/// The slow path: judges every change of the batch in one transaction, or each job in one
/// of its own if the batch fails as a whole.
async fn commit_slow(db: &DatabaseConnection, batch: Vec<Job>) -> bool {
    if batch.len() == 1 {
        return commit_alone(db, batch).await;
    }
    let verdicts = match judge_idempotency(db, &batch).await {
        Ok(verdicts) => verdicts,
        Err(error) => {
            tracing::warn!(%error, "idempotency look-up failed; retrying jobs one by one");
            return commit_each(db, batch).await;
        }
    };
    match write(db, &batch, &verdicts).await {
        Ok(stale) => answer(batch, verdicts, stale),
        Err(error) => {
            tracing::debug!(%error, jobs = batch.len(), "batch failed; retrying jobs one by one");
            commit_each(db, batch).await
        }
    }
}

async fn commit_each(db: &DatabaseConnection, batch: Vec<Job>) -> bool {
    let mut wrote_outbox = false;
    for job in batch {
        wrote_outbox |= commit_alone(db, vec![job]).await;
    }
    wrote_outbox
}

async fn commit_alone(db: &DatabaseConnection, batch: Vec<Job>) -> bool {
    let verdicts = match judge_idempotency(db, &batch).await {
        Ok(verdicts) => verdicts,
        Err(error) => {
            fail_all(batch, &error);
            return false;
        }
    };
    match write(db, &batch, &verdicts).await {
        Ok(stale) => answer(batch, verdicts, stale),
        Err(error) => {
            fail_all(batch, &error);
            false
        }
    }
}

fn fail_all(batch: Vec<Job>, error: &DbErr) {
    for job in batch {
        let failure = classify(error);
        match job {
            Job::Change(_, reply) => {
                let _receiver_gone = reply.send(Err(failure));
            }
            Job::Delivery(_, reply) | Job::Audit(_, reply) => {
                let _receiver_gone = reply.send(Err(failure));
            }
        }
    }
}

/// A unique-key violation means another change got there first: the caller reads again.
fn classify(error: &DbErr) -> Error {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Error::Conflict,
        _ => Error::Database(error.clone()),
    }
}

/// Looks up every idempotency key of the batch in one query and decides each change.
async fn judge_idempotency(db: &DatabaseConnection, batch: &[Job]) -> Result<Vec<Verdict>, DbErr> {
    let keyed: Vec<&IdempotencyRecord> = batch
        .iter()
        .filter_map(|job| match job {
            Job::Change(change, _) => change.idempotency.as_ref(),
            _ => None,
        })
        .collect();
    let mut known: HashMap<(String, String), IdempotencyRecord> = HashMap::new();
    if !keyed.is_empty() {
        let mut condition = Condition::any();
        for record in &keyed {
            condition = condition.add(
                Condition::all()
                    .add(rows::idempotency::Column::Caller.eq(record.caller.clone()))
                    .add(
                        rows::idempotency::Column::IdempotencyKey
                            .eq(record.idempotency_key.clone()),
                    ),
            );
        }
        for row in rows::idempotency::Entity::find()
            .filter(condition)
            .all(db)
            .await?
        {
            known.insert(
                (row.caller.clone(), row.idempotency_key.clone()),
                super::idempotency_from_row(row),
            );
        }
    }
    let mut seen_in_batch: HashMap<(String, String), (usize, &IdempotencyRecord)> = HashMap::new();
    let verdicts = batch
        .iter()
        .enumerate()
        .map(|(index, job)| {
            let Job::Change(change, _) = job else {
                return Verdict::Write;
            };
            let Some(record) = &change.idempotency else {
                return Verdict::Write;
            };
            let key = (record.caller.clone(), record.idempotency_key.clone());
            if let Some(first) = known.get(&key) {
                return Verdict::Answer(replay_or_refuse(first, record));
            }
            if let Some((earlier_index, earlier)) = seen_in_batch.get(&key) {
                return if earlier.request_digest == record.request_digest
                    && earlier.operation == record.operation
                {
                    Verdict::FollowEarlier(*earlier_index, earlier.answer())
                } else {
                    Verdict::Answer(Err(Error::KeyReused {
                        idempotency_key: record.idempotency_key.clone(),
                    }))
                };
            }
            seen_in_batch.insert(key, (index, record));
            Verdict::Write
        })
        .collect();
    Ok(verdicts)
}

fn replay_or_refuse(
    first: &IdempotencyRecord,
    now: &IdempotencyRecord,
) -> Result<Committed, Error> {
    if first.request_digest == now.request_digest && first.operation == now.operation {
        Ok(Committed::Replayed(first.answer()))
    } else {
        Err(Error::KeyReused {
            idempotency_key: now.idempotency_key.clone(),
        })
    }
}

/// Writes the batch in one transaction. Returns, per job, whether its case update found
/// the case moved (stale), in which case nothing of that job was written.
///
/// On SQLite the transaction takes the write lock at `BEGIN` (`IMMEDIATE`): it reads a
/// summary before it writes, and a deferred transaction whose snapshot another connection
/// (the ledger's reporter, the settler) committed past cannot write at all — SQLite answers
/// "database is locked" at once, without waiting (found by `accord demo`: nominations under
/// one offer while the reporter recorded the log's answers). PostgreSQL ignores the mode.
async fn write(
    db: &DatabaseConnection,
    batch: &[Job],
    verdicts: &[Verdict],
) -> Result<Vec<bool>, DbErr> {
    let options = sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..sea_orm::TransactionOptions::default()
    };
    let transaction = db.begin_with_options(options).await?;
    let mut stale = vec![false; batch.len()];
    for (index, job) in batch.iter().enumerate() {
        if let (Job::Change(change, _), Verdict::Write) = (job, &verdicts[index]) {
            stale[index] = !write_summaries(&transaction, change).await?;
        }
    }
    let writes: Vec<&Change> = batch
        .iter()
        .enumerate()
        .filter_map(|(index, job)| match (job, &verdicts[index]) {
            (Job::Change(change, _), Verdict::Write) if !stale[index] => Some(change.as_ref()),
            _ => None,
        })
        .collect();
    insert_changes(&transaction, &writes).await?;
    for job in batch {
        match job {
            Job::Delivery(outcome, _) => record_delivery(&transaction, outcome).await?,
            Job::Audit(record, _) => {
                accord_edge::audit::insert(&transaction, [record.clone()]).await?
            }
            Job::Change(..) => {}
        }
    }
    transaction.commit().await?;
    Ok(stale)
}

/// Writes a change's summaries: its case's and, when it moves one, its offer's. Returns
/// false, having written neither, when either moved since it was read: both are checked
/// before either is written (this task is the only writer, so nothing moves in between).
async fn write_summaries(
    transaction: &DatabaseTransaction,
    change: &Change,
) -> Result<bool, DbErr> {
    let Some(offer) = &change.offer else {
        return write_case(transaction, &change.case).await;
    };
    let case_unmoved = match change.case.expected() {
        None => true,
        Some((record, expected_event_count)) => {
            unmoved(transaction, &record.case_ref, expected_event_count).await?
        }
    };
    if !case_unmoved
        || !unmoved(
            transaction,
            &offer.record.case_ref,
            offer.expected_event_count,
        )
        .await?
    {
        return Ok(false);
    }
    Ok(write_case(transaction, &change.case).await?
        && update_case(transaction, &offer.record, offer.expected_event_count).await?)
}

/// Whether `case_ref`'s summary still holds `expected_event_count` events.
async fn unmoved(
    transaction: &DatabaseTransaction,
    case_ref: &str,
    expected_event_count: u64,
) -> Result<bool, DbErr> {
    let summary = rows::case::Entity::find_by_id(case_ref.to_owned())
        .one(transaction)
        .await?;
    Ok(summary.is_some_and(|summary| summary.event_count == to_i64(expected_event_count)))
}

/// Writes an update or a replacement of a case's summary; returns false when the case moved
/// since it was read (then nothing was written). Creations are inserted with the batch.
async fn write_case(transaction: &DatabaseTransaction, case: &CaseWrite) -> Result<bool, DbErr> {
    match case {
        CaseWrite::Create(_) => Ok(true),
        CaseWrite::Update {
            record,
            expected_event_count,
        } => update_case(transaction, record, *expected_event_count).await,
        CaseWrite::Replace {
            record,
            expected_event_count,
            from_sequence,
            whole_answers,
        } => {
            if !update_case(transaction, record, *expected_event_count).await? {
                return Ok(false);
            }
            replace_history(
                transaction,
                &record.case_ref,
                *from_sequence,
                record.updated_at,
            )
            .await?;
            for answer in whole_answers {
                make_answer_whole(transaction, answer).await?;
            }
            Ok(true)
        }
    }
}

/// Deletes a case's events from `from_sequence` on and marks its undelivered messages
/// superseded (delivered to no one, kept for operators, no longer holding the case's queue).
async fn replace_history(
    transaction: &DatabaseTransaction,
    case_ref: &str,
    from_sequence: u64,
    at: i64,
) -> Result<(), DbErr> {
    rows::case_event::Entity::delete_many()
        .filter(rows::case_event::Column::CaseRef.eq(case_ref.to_owned()))
        .filter(rows::case_event::Column::Sequence.gte(to_i64(from_sequence)))
        .exec(transaction)
        .await?;
    use rows::outbox::{ActiveModel, Column, Entity};
    let superseded = ActiveModel {
        delivered_at: Set(Some(at)),
        failed_reason: Set(Some(SUPERSEDED.to_owned())),
        ..Default::default()
    };
    Entity::update_many()
        .set(superseded)
        .filter(Column::CaseRef.eq(case_ref.to_owned()))
        .filter(Column::DeliveredAt.is_null())
        .filter(Column::FailedReason.is_null())
        .exec(transaction)
        .await?;
    Ok(())
}

/// Rewrites an idempotency record's answer whole, with its history.
async fn make_answer_whole(
    transaction: &DatabaseTransaction,
    answer: &IdempotencyRecord,
) -> Result<(), DbErr> {
    use rows::idempotency::Column;
    rows::idempotency::Entity::update_many()
        .col_expr(Column::Response, Expr::value(answer.response.clone()))
        .col_expr(Column::HistoryThrough, Expr::value(None::<i64>))
        .filter(Column::Caller.eq(answer.caller.clone()))
        .filter(Column::IdempotencyKey.eq(answer.idempotency_key.clone()))
        .exec(transaction)
        .await?;
    Ok(())
}

async fn update_case(
    connection: &DatabaseTransaction,
    record: &super::model::CaseRecord,
    expected_event_count: u64,
) -> Result<bool, DbErr> {
    use rows::case::Column;
    let result = rows::case::Entity::update_many()
        .col_expr(Column::Status, Expr::value(record.status.clone()))
        .col_expr(Column::EventCount, Expr::value(to_i64(record.event_count)))
        .col_expr(Column::UpdatedAt, Expr::value(record.updated_at))
        .col_expr(Column::NextDeadlineAt, Expr::value(record.next_deadline_at))
        .filter(Column::CaseRef.eq(record.case_ref.clone()))
        .filter(Column::EventCount.eq(to_i64(expected_event_count)))
        .exec(connection)
        .await?;
    Ok(result.rows_affected == 1)
}

async fn insert_changes(
    connection: &DatabaseTransaction,
    changes: &[&Change],
) -> Result<(), DbErr> {
    // Rows are built before the first await: the future then holds no borrowing iterator.
    let new_cases: Vec<_> = changes
        .iter()
        .filter_map(|change| match &change.case {
            CaseWrite::Create(record) => Some(super::case_to_row(record)),
            CaseWrite::Update { .. } | CaseWrite::Replace { .. } => None,
        })
        .collect();
    let events: Vec<_> = changes
        .iter()
        .flat_map(|change| change.events.iter().map(super::event_to_row))
        .collect();
    let keys: Vec<_> = changes
        .iter()
        .filter_map(|change| change.idempotency.as_ref().map(super::idempotency_to_row))
        .collect();
    let messages: Vec<_> = changes
        .iter()
        .flat_map(|change| change.outbox.iter().map(super::outbox_to_row))
        .collect();
    insert_all::<rows::case::Entity, _>(connection, new_cases).await?;
    insert_all::<rows::case_event::Entity, _>(connection, events).await?;
    insert_all::<rows::idempotency::Entity, _>(connection, keys).await?;
    insert_all::<rows::outbox::Entity, _>(connection, messages).await?;
    Ok(())
}

/// Inserts rows with as few multi-row INSERT statements as the parameter limit allows.
async fn insert_all<E, A>(connection: &DatabaseTransaction, rows: Vec<A>) -> Result<(), DbErr>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    let mut rows = rows;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(ROWS_PER_INSERT));
        E::insert_many(rows)
            .exec_without_returning(connection)
            .await?;
        rows = rest;
    }
    Ok(())
}

async fn record_delivery(
    connection: &DatabaseTransaction,
    outcome: &DeliveryOutcome,
) -> Result<(), DbErr> {
    use rows::outbox::{ActiveModel, Column, Entity};
    let (id, update) = match outcome {
        DeliveryOutcome::Delivered { id, at } => (
            *id,
            ActiveModel {
                delivered_at: Set(Some(*at)),
                ..Default::default()
            },
        ),
        DeliveryOutcome::Retry {
            id,
            attempts,
            next_attempt_at,
            error,
        } => (
            *id,
            ActiveModel {
                attempts: Set(to_i32(*attempts)),
                next_attempt_at: Set(*next_attempt_at),
                last_error: Set(Some(error.clone())),
                ..Default::default()
            },
        ),
        DeliveryOutcome::Refused {
            id,
            attempts,
            reason,
        } => (
            *id,
            ActiveModel {
                attempts: Set(to_i32(*attempts)),
                failed_reason: Set(Some(reason.clone())),
                ..Default::default()
            },
        ),
    };
    Entity::update_many()
        .set(update)
        .filter(Column::Id.eq(id))
        .exec(connection)
        .await?;
    Ok(())
}

/// Answers every job of a batch the fast path committed whole.
fn answer_applied(batch: Vec<Job>) -> bool {
    let verdicts = batch.iter().map(|_| Verdict::Write).collect();
    let stale = vec![false; batch.len()];
    answer(batch, verdicts, stale)
}

/// Answers every job of a committed batch. Returns whether outbox messages were committed.
fn answer(batch: Vec<Job>, verdicts: Vec<Verdict>, stale: Vec<bool>) -> bool {
    let mut wrote_outbox = false;
    let stale_at = stale.clone();
    for ((job, verdict), was_stale) in batch.into_iter().zip(verdicts).zip(stale) {
        match job {
            Job::Change(change, reply) => {
                let result = match verdict {
                    Verdict::Answer(result) => result,
                    Verdict::FollowEarlier(earlier, _) if stale_at[earlier] => Err(Error::Conflict),
                    Verdict::FollowEarlier(_, answer) => Ok(Committed::Replayed(answer)),
                    Verdict::Write if was_stale => Err(Error::Conflict),
                    Verdict::Write => {
                        wrote_outbox |= !change.outbox.is_empty();
                        Ok(Committed::Applied)
                    }
                };
                let _receiver_gone = reply.send(result);
            }
            Job::Delivery(_, reply) | Job::Audit(_, reply) => {
                let _receiver_gone = reply.send(Ok(()));
            }
        }
    }
    wrote_outbox
}

/// Counts and times are far below `i64::MAX`; saturate rather than wrap if one ever is not.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Attempt counts in the outbox's `i32` column: saturated too.
pub(crate) fn to_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod equivalence;
