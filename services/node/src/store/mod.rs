//! The node's storage: sea-orm over SQLite (embedded default) or PostgreSQL.
//!
//! The only module of the node that touches sea-orm. Reads go straight to the connection
//! pool; every write goes through the single writer task of `writer`, which groups
//! concurrent changes into one transaction (group commit) and makes each change atomic with
//! its outbox messages (the transactional outbox). It also keeps the node's secret
//! ([`NodeSecret`]), made at the database's first start and read at every later one, which
//! keys the node's pseudonyms of callers' idempotency keys; it never holds a caller's key.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`: a change is on disk, and survives power
//! loss, before its caller is answered; readers never block the writer. PostgreSQL runs with
//! its own defaults (`synchronous_commit=on`).

mod allocation;
mod batch;
mod migration;
pub mod model;
mod reporting;
mod rows;
mod secret;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ColumnTrait, ConnectOptions, Database, DatabaseConnection, DbBackend, EntityTrait,
    FromQueryResult, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use tokio::sync::{Notify, oneshot};

use accord_edge::audit;
pub use allocation::AllocationRecord;
pub use model::{
    AuditRecord, CaseKind, CaseRecord, CaseWrite, Change, Channel, Committed, DeliveryContent,
    DeliveryOutcome, EventRecord, EventRef, IdempotencyRecord, NodeSecret, OutboxMessage,
    PendingDelivery, StoredAnswer, StoredDirectory, StoredRevocationList, SummaryUpdate,
    kind_column, kind_from_column,
};
pub use reporting::{ReportAnswer, ReportOutcome, ReportedEvent, UnreportedEvent, WitnessedHead};
use writer::{Job, WriterHandle, to_i64};
pub use writer::{WRITE_BATCH_MAX, WRITE_QUEUE_CAPACITY};

/// The one row of `membership_directory`.
const DIRECTORY_SLOT: i32 = 1;

/// The one row of `revocation_list`.
const REVOCATION_LIST_SLOT: i32 = 1;

/// How long a SQLite connection waits for a lock before failing (readers during a checkpoint).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The writer connection's SQLite page cache: negative means KiB, so 32 MiB.
const WRITER_CACHE_SIZE: &str = "-32768";

/// Prepared statements the writer keeps: its few statement shapes (see `writer`), with room.
const WRITER_STATEMENT_CACHE: usize = 256;

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The idempotency key was used before with other content.
    #[error("idempotency key {idempotency_key:?} was already used with different content")]
    KeyReused {
        /// The key.
        idempotency_key: String,
    },
    /// Another change reached the same case or key first; read again and retry.
    #[error("the case changed concurrently")]
    Conflict,
    /// The database refused or failed; the driver's error is the source.
    #[error("the database failed")]
    Database(#[from] sea_orm::DbErr),
    /// A stored value is not one this version writes (a corrupted or foreign database).
    #[error("stored value not understood: {0}")]
    Corrupt(String),
    /// The writer task has stopped (the node is shutting down).
    #[error("the store is shutting down")]
    WriterStopped,
    /// The operating system gave no randomness for the node's secret.
    #[error("no randomness for the node's secret")]
    NoRandomness,
}

/// Writes `row` into its table's one slot unless the slot holds the same or a larger
/// `version` already (then `rest` keeps its values too); returns whether it was written. One
/// statement, an upsert whose update only a larger version passes, so versions only grow
/// whatever order concurrent callers come in, and no other writer can come between reading
/// the version held and writing the newer one (SQLite would refuse the upgrade of a read
/// transaction; its busy timeout covers a concurrent writer).
async fn keep_if_newer<E: EntityTrait>(
    db: &DatabaseConnection,
    row: E::ActiveModel,
    slot: E::Column,
    version: E::Column,
    rest: impl IntoIterator<Item = E::Column>,
) -> Result<bool, Error> {
    use sea_orm::sea_query::{Alias, OnConflict};
    let newer = Expr::col((E::default(), version)).lt(Expr::col((Alias::new("excluded"), version)));
    let on_conflict = OnConflict::column(slot)
        .update_columns(std::iter::once(version).chain(rest))
        .action_and_where(newer)
        .to_owned();
    let written = E::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await?;
    Ok(written > 0)
}

/// The events of `case_ref`, in order: a query to narrow or run.
fn history_of(case_ref: &str) -> sea_orm::Select<rows::case_event::Entity> {
    rows::case_event::Entity::find()
        .filter(rows::case_event::Column::CaseRef.eq(case_ref.to_owned()))
        .order_by(rows::case_event::Column::Sequence, Order::Asc)
}

/// Errors compare by kind and by what they name; two database failures are the same when
/// the database reports them alike (its error type has no equality of its own).
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::KeyReused { idempotency_key: a }, Self::KeyReused { idempotency_key: b }) => {
                a == b
            }
            (Self::Database(a), Self::Database(b)) => a.to_string() == b.to_string(),
            (Self::Corrupt(a), Self::Corrupt(b)) => a == b,
            (Self::Conflict, Self::Conflict)
            | (Self::WriterStopped, Self::WriterStopped)
            | (Self::NoRandomness, Self::NoRandomness) => true,
            _ => false,
        }
    }
}

impl Eq for Error {}

/// The node's database.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    writer: WriterHandle,
    outbox_written: Arc<Notify>,
    audit_cap: Arc<audit::Cap>,
    node_secret: NodeSecret,
}

impl Store {
    /// Connects to `database_url` (`sqlite://PATH?mode=rwc` or `postgres://…`), applies the
    /// migrations, reads the node's secret (made now if this is the database's first start)
    /// and starts the writer. `max_connections` bounds the read pool; the writer has a
    /// connection of its own (see `writer_options`).
    pub async fn connect(database_url: &str, max_connections: u32) -> Result<Self, Error> {
        let db = Database::connect(connect_options(database_url, max_connections)).await?;
        migration::migrate(&db).await?;
        let node_secret = secret::node_secret(&db).await?;
        let writer_db = if is_sqlite_memory(database_url) {
            // Every connection to `sqlite::memory:` is a database of its own.
            db.clone()
        } else {
            Database::connect(writer_options(database_url)).await?
        };
        let outbox_written = Arc::new(Notify::new());
        let writer = WriterHandle::spawn(writer_db, outbox_written.clone());
        Ok(Self {
            db,
            writer,
            outbox_written,
            audit_cap: Arc::new(audit::Cap::new(audit::ROWS_PER_CALLER_PER_MINUTE_DEFAULT)),
            node_secret,
        })
    }

    /// The node's secret, as the store keeps it since the node's first start.
    pub fn node_secret(&self) -> &NodeSecret {
        &self.node_secret
    }

    /// The store, keeping at most `rows_per_minute` audit rows per caller and minute (and a
    /// summary of the rest, `accord_edge::audit`).
    pub fn with_audit_cap(self, rows_per_minute: u32) -> Self {
        Self {
            audit_cap: Arc::new(audit::Cap::new(rows_per_minute)),
            ..self
        }
    }

    /// Notified after each commit that wrote outbox messages (the dispatcher waits on it).
    pub fn outbox_written(&self) -> Arc<Notify> {
        self.outbox_written.clone()
    }

    /// Commits a change atomically, after checking its idempotency key and the case version.
    pub async fn commit(&self, change: Change) -> Result<Committed, Error> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .submit(Job::Change(Box::new(change), reply))
            .await?;
        answer.await.map_err(|_| Error::WriterStopped)?
    }

    /// Records the outcome of a delivery attempt.
    pub async fn record_delivery(&self, outcome: DeliveryOutcome) -> Result<(), Error> {
        let (reply, answer) = oneshot::channel();
        self.writer.submit(Job::Delivery(outcome, reply)).await?;
        answer.await.map_err(|_| Error::WriterStopped)?
    }

    /// Records a refused call in the audit table, within the caller's cap per minute
    /// (`accord_edge::audit`): past it the row is counted, and summarised once the minute is over.
    pub async fn record_audit(&self, record: AuditRecord) -> Result<(), Error> {
        let admission = self.audit_cap.admit(&record);
        if let Some(summary) = admission.summary {
            self.write_audit(summary).await?;
        }
        if admission.write {
            self.write_audit(record).await?;
        }
        Ok(())
    }

    /// Writes the summaries of the callers' minutes that ended before `now_ms` and dropped
    /// rows (the deadline sweeper calls it, so a flood that stopped is still summarised).
    pub async fn flush_audit_summaries(&self, now_ms: i64) -> Result<(), Error> {
        for summary in self.audit_cap.flush(now_ms) {
            self.write_audit(summary).await?;
        }
        Ok(())
    }

    async fn write_audit(&self, record: AuditRecord) -> Result<(), Error> {
        let (reply, answer) = oneshot::channel();
        self.writer.submit(Job::Audit(record, reply)).await?;
        answer.await.map_err(|_| Error::WriterStopped)?
    }

    /// The first answer given to (caller, key), if any.
    pub async fn find_idempotency(
        &self,
        caller: &str,
        idempotency_key: &str,
    ) -> Result<Option<IdempotencyRecord>, Error> {
        let row =
            rows::idempotency::Entity::find_by_id((caller.to_owned(), idempotency_key.to_owned()))
                .one(&self.db)
                .await?;
        Ok(row.map(idempotency_from_row))
    }

    /// A case's summary and full history, events in order.
    pub async fn load_case(
        &self,
        case_ref: &str,
    ) -> Result<Option<(CaseRecord, Vec<EventRecord>)>, Error> {
        let Some(summary) = rows::case::Entity::find_by_id(case_ref.to_owned())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let events = history_of(case_ref).all(&self.db).await?;
        Ok(Some((
            case_from_row(summary)?,
            events.into_iter().map(event_from_row).collect(),
        )))
    }

    /// A case's events 1 to `through`, in order: the history an idempotency record's answer
    /// refers to.
    pub async fn events_through(
        &self,
        case_ref: &str,
        through: u64,
    ) -> Result<Vec<EventRecord>, Error> {
        let events = history_of(case_ref)
            .filter(rows::case_event::Column::Sequence.lte(to_i64(through)))
            .all(&self.db)
            .await?;
        Ok(events.into_iter().map(event_from_row).collect())
    }

    /// The event of `case_ref` an actor recorded under an idempotency key, if it is stored
    /// here.
    pub async fn find_event(
        &self,
        case_ref: &str,
        acting_state: &str,
        idempotency_key: &str,
    ) -> Result<Option<EventRecord>, Error> {
        let row = history_of(case_ref)
            .filter(rows::case_event::Column::ActingState.eq(acting_state.to_owned()))
            .filter(rows::case_event::Column::IdempotencyKey.eq(idempotency_key.to_owned()))
            .one(&self.db)
            .await?;
        Ok(row.map(event_from_row))
    }

    /// A page of case summaries of one kind, newest first, after `after_ref` (the last
    /// reference of the page before).
    ///
    /// Newest by the reference's creation time: a reference's ID begins with the time its
    /// node created it (13 base-32 digits of milliseconds, see `app::new_case_id`), the
    /// submission of a request, the nomination of an admission, the publication of an
    /// offer. Ties are broken by the reference, descending. Index `case_summary_newest`
    /// serves the order and the page's start.
    pub async fn list_cases(
        &self,
        filter: &CaseFilter,
        after_ref: Option<&str>,
        limit: u64,
    ) -> Result<Vec<CaseRecord>, Error> {
        use rows::case::Column;
        let mut query =
            rows::case::Entity::find().filter(Column::CaseKind.eq(kind_column(filter.case_kind)));
        if let Some(counterpart) = &filter.counterpart {
            query = query.filter(
                sea_orm::Condition::any()
                    .add(Column::FirstState.eq(counterpart.clone()))
                    .add(Column::SecondState.eq(counterpart.clone())),
            );
        }
        if let Some(status) = &filter.status {
            query = query.filter(Column::Status.eq(status.clone()));
        }
        if let Some(after_ref) = after_ref {
            // The same characters as `CREATED` takes (SQL counts from 1). The first bound
            // lets the index seek the page's start; the second finishes the comparison of
            // (time, reference) pairs.
            let created: String = after_ref.chars().skip(10).take(13).collect();
            query = query
                .filter(ExprTrait::lte(Expr::cust(CREATED), created.clone()))
                .filter(
                    sea_orm::Condition::any()
                        .add(ExprTrait::lt(Expr::cust(CREATED), created))
                        .add(Column::CaseRef.lt(after_ref.to_owned())),
                );
        }
        let rows = query
            .order_by(Expr::cust(CREATED), Order::Desc)
            .order_by(Column::CaseRef, Order::Desc)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter().map(case_from_row).collect()
    }

    /// Cases whose next deadline is at or before `now`, oldest deadline first.
    pub async fn due_deadlines(&self, now: i64, limit: u64) -> Result<Vec<CaseRecord>, Error> {
        use rows::case::Column;
        let rows = rows::case::Entity::find()
            .filter(Column::NextDeadlineAt.lte(now))
            .order_by(Column::NextDeadlineAt, Order::Asc)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter().map(case_from_row).collect()
    }

    /// The earliest pending deadline, to know how long the sweeper may sleep.
    pub async fn next_deadline(&self) -> Result<Option<i64>, Error> {
        use rows::case::Column;
        let row = rows::case::Entity::find()
            .filter(Column::NextDeadlineAt.is_not_null())
            .order_by(Column::NextDeadlineAt, Order::Asc)
            .one(&self.db)
            .await?;
        Ok(row.and_then(|row| row.next_deadline_at))
    }

    /// Messages due for delivery at `now` to `destinations` (the partners whose links are
    /// not backing off), at most `limit`, oldest first: for each case only its oldest
    /// pending message, so that a case's messages leave in order. A message the partner
    /// refused for good holds the case's later messages back (for operators to resolve)
    /// rather than letting them overtake it; a superseded message does not.
    ///
    /// Each destination is read on its own, along `outbox_due_by_destination` (its pending
    /// messages in id order), stopping at the limit: another partner's backlog — a partner
    /// down for a week — is never walked.
    pub async fn due_deliveries(
        &self,
        now: i64,
        limit: u64,
        destinations: &[String],
    ) -> Result<Vec<PendingDelivery>, Error> {
        let backend = self.db.get_database_backend();
        let placeholder = |index: usize| match backend {
            DbBackend::Postgres => format!("${index}"),
            _ => "?".to_owned(),
        };
        // The walk follows `outbox_due_by_destination` (one destination's pending messages
        // in id order) and stops at the limit; `outbox_pending_case` answers the NOT EXISTS.
        // Each message's event is read in the same statement, so a message and its event
        // are one snapshot.
        let sql = format!(
            "SELECT o.id, o.case_ref, o.destination, o.channel, o.payload, o.attempts, \
                    e.envelope \
             FROM outbox o \
             LEFT JOIN case_event e \
               ON e.case_ref = o.event_case_ref AND e.sequence = o.event_sequence \
             WHERE o.destination = {destination} \
               AND o.delivered_at IS NULL AND o.failed_reason IS NULL \
               AND o.next_attempt_at <= {now} \
               AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.case_ref = o.case_ref \
                   AND p.delivered_at IS NULL AND p.id < o.id) \
             ORDER BY o.id LIMIT {limit}",
            destination = placeholder(1),
            now = placeholder(2),
            limit = placeholder(3),
        );
        let mut rows = Vec::new();
        for destination in destinations {
            let values: Vec<sea_orm::Value> =
                vec![destination.clone().into(), now.into(), to_i64(limit).into()];
            let statement = Statement::from_sql_and_values(backend, sql.clone(), values);
            rows.extend(DueRow::find_by_statement(statement).all(&self.db).await?);
        }
        rows.sort_by_key(|row| row.id);
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        rows.into_iter()
            .map(|row| {
                let channel = Channel::parse(&row.channel)
                    .ok_or_else(|| Error::Corrupt(format!("outbox channel {:?}", row.channel)))?;
                let content = match row.envelope {
                    Some(event) => DeliveryContent::Event(event),
                    None if !row.payload.is_empty() => DeliveryContent::Request(row.payload),
                    None => {
                        return Err(Error::Corrupt(format!(
                            "outbox message {} names an event that is not in the history",
                            row.id
                        )));
                    }
                };
                Ok(PendingDelivery {
                    id: row.id,
                    case_ref: row.case_ref,
                    destination: row.destination,
                    channel,
                    content,
                    attempts: u32::try_from(row.attempts).unwrap_or(0),
                })
            })
            .collect()
    }

    /// How many outbox messages are neither delivered nor refused.
    pub async fn pending_delivery_count(&self) -> Result<u64, Error> {
        use rows::outbox::Column;
        Ok(rows::outbox::Entity::find()
            .filter(Column::DeliveredAt.is_null())
            .filter(Column::FailedReason.is_null())
            .count(&self.db)
            .await?)
    }

    /// How many outbox messages about `case_ref` await delivery.
    pub async fn pending_delivery_count_for(&self, case_ref: &str) -> Result<u64, Error> {
        use rows::outbox::Column;
        Ok(rows::outbox::Entity::find()
            .filter(Column::CaseRef.eq(case_ref.to_owned()))
            .filter(Column::DeliveredAt.is_null())
            .filter(Column::FailedReason.is_null())
            .count(&self.db)
            .await?)
    }

    /// Cases of `case_kind` between `first_state` and `second_state` with `status`:
    /// the ledger's counts of confirmed movements.
    pub async fn count_cases(
        &self,
        case_kind: CaseKind,
        first_state: &str,
        second_state: &str,
        status: &str,
    ) -> Result<u64, Error> {
        use rows::case::Column;
        Ok(rows::case::Entity::find()
            .filter(Column::CaseKind.eq(kind_column(case_kind)))
            .filter(Column::FirstState.eq(first_state.to_owned()))
            .filter(Column::SecondState.eq(second_state.to_owned()))
            .filter(Column::Status.eq(status.to_owned()))
            .count(&self.db)
            .await?)
    }

    /// The audit table, oldest first (for operators and tests).
    pub async fn audit_log(&self, limit: u64) -> Result<Vec<AuditRecord>, Error> {
        Ok(audit::oldest_first(&self.db, Some(limit)).await?)
    }

    /// Keeps `directory` as the last verified one, unless the store holds the same or a
    /// newer version already; returns whether it was kept. Versions only grow here, whatever
    /// order concurrent callers come in (the check and the write are one transaction).
    /// Written beside the writer task, not through it: a directory comes once per version,
    /// and SQLite's busy timeout covers the writer's lock.
    pub async fn save_directory(&self, directory: StoredDirectory) -> Result<bool, Error> {
        use rows::membership_directory::{ActiveModel, Column, Entity};
        let version = i64::try_from(directory.version)
            .map_err(|_| Error::Corrupt(format!("directory version {}", directory.version)))?;
        let row = ActiveModel {
            slot: Set(DIRECTORY_SLOT),
            version: Set(version),
            signed_directory: Set(directory.signed),
            saved_at: Set(directory.saved_at),
        };
        let rest = [Column::SignedDirectory, Column::SavedAt];
        keep_if_newer::<Entity>(&self.db, row, Column::Slot, Column::Version, rest).await
    }

    /// The last verified directory this node kept, if any.
    pub async fn load_directory(&self) -> Result<Option<StoredDirectory>, Error> {
        let row = rows::membership_directory::Entity::find_by_id(DIRECTORY_SLOT)
            .one(&self.db)
            .await?;
        row.map(|row| {
            Ok(StoredDirectory {
                version: u64::try_from(row.version)
                    .map_err(|_| Error::Corrupt(format!("directory version {}", row.version)))?,
                signed: row.signed_directory,
                saved_at: row.saved_at,
            })
        })
        .transpose()
    }

    /// Keeps `list` as the last applied revocation list, unless the store holds one with the
    /// same or a larger number; returns whether it was kept. One statement (an upsert whose
    /// update only a larger number passes), so numbers only grow here whatever order
    /// concurrent callers come in, and SQLite's busy timeout covers a concurrent writer.
    pub async fn save_revocation_list(&self, list: StoredRevocationList) -> Result<bool, Error> {
        use rows::revocation_list::{ActiveModel, Column, Entity};
        let number = i64::try_from(list.number)
            .map_err(|_| Error::Corrupt(format!("revocation list number {}", list.number)))?;
        let row = ActiveModel {
            slot: Set(REVOCATION_LIST_SLOT),
            crl_number: Set(number),
            crl_pem: Set(list.pem),
            saved_at: Set(list.saved_at),
        };
        let rest = [Column::CrlPem, Column::SavedAt];
        keep_if_newer::<Entity>(&self.db, row, Column::Slot, Column::CrlNumber, rest).await
    }

    /// The last revocation list this node kept, if any.
    pub async fn load_revocation_list(&self) -> Result<Option<StoredRevocationList>, Error> {
        let row = rows::revocation_list::Entity::find_by_id(REVOCATION_LIST_SLOT)
            .one(&self.db)
            .await?;
        row.map(|row| {
            Ok(StoredRevocationList {
                number: u64::try_from(row.crl_number).map_err(|_| {
                    Error::Corrupt(format!("revocation list number {}", row.crl_number))
                })?,
                pem: row.crl_pem,
                saved_at: row.saved_at,
            })
        })
        .transpose()
    }

    /// Closes the connection pool (after the writer has drained).
    pub async fn close(self) -> Result<(), Error> {
        drop(self.writer);
        Ok(self.db.close().await?)
    }
}

/// The creation time at the head of a case reference's ID: `KIND-SS-SS-` is 10 characters,
/// the time 13 (see [`Store::list_cases`]). The same expression as index
/// `case_summary_newest`'s, so that the index serves it.
const CREATED: &str = "substr(case_ref, 11, 13)";

/// The read pool's options: WAL and `synchronous=FULL` on SQLite (see the module's docs).
fn connect_options(database_url: &str, max_connections: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(database_url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(durable_sqlite);
    options
}

/// WAL, `synchronous=FULL`, a busy timeout for readers during a checkpoint.
fn durable_sqlite(sqlite: SqliteConnectOptions) -> SqliteConnectOptions {
    sqlite
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .create_if_missing(true)
}

/// The writer's own connections, never shared with readers, so that their page caches hold
/// the pages every batch touches (the right edge of each table and index) and their prepared
/// statements stay prepared. On SQLite their statement journals and temporary tables live in
/// memory (`temp_store=MEMORY`: a multi-row INSERT that fails half-way is rolled back from
/// memory, not from a file) and their page caches are larger than the default 2 MiB.
///
/// Two connections on SQLite: the writer holds one for its fast path (`store::batch`) and
/// sea-orm takes the other for the slow path; both are the writer's, used one at a time.
fn writer_options(database_url: &str) -> ConnectOptions {
    let connections = if database_url.starts_with("sqlite:") {
        2
    } else {
        1
    };
    let mut options = connect_options(database_url, connections);
    options
        .idle_timeout(None::<Duration>)
        .max_lifetime(None::<Duration>)
        .map_sqlx_sqlite_opts(|sqlite| {
            durable_sqlite(sqlite)
                .pragma("temp_store", "MEMORY")
                .pragma("cache_size", WRITER_CACHE_SIZE)
                .statement_cache_capacity(WRITER_STATEMENT_CACHE)
        });
    options
}

/// Whether `database_url` names an in-memory SQLite database (one per connection).
fn is_sqlite_memory(database_url: &str) -> bool {
    database_url.starts_with("sqlite:") && database_url.contains(":memory:")
}

/// Which cases a list returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFilter {
    /// The kind of case.
    pub case_kind: CaseKind,
    /// Only cases with this partner state on either side.
    pub counterpart: Option<String>,
    /// Only cases in this status.
    pub status: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct DueRow {
    id: i64,
    case_ref: String,
    destination: String,
    channel: String,
    /// A whole request (messages written before migration 3), else empty.
    payload: Vec<u8>,
    attempts: i32,
    /// The named event, signed (messages written since migration 3).
    envelope: Option<Vec<u8>>,
}

fn case_from_row(row: rows::case::Model) -> Result<CaseRecord, Error> {
    let case_kind = kind_from_column(&row.case_kind)
        .ok_or_else(|| Error::Corrupt(format!("case kind {:?}", row.case_kind)))?;
    Ok(CaseRecord {
        case_ref: row.case_ref,
        case_kind,
        first_state: row.first_state,
        second_state: row.second_state,
        status: row.status,
        event_count: u64::try_from(row.event_count).unwrap_or(0),
        created_at: row.created_at,
        updated_at: row.updated_at,
        next_deadline_at: row.next_deadline_at,
    })
}

fn case_to_row(record: &CaseRecord) -> rows::case::ActiveModel {
    rows::case::ActiveModel {
        case_ref: Set(record.case_ref.clone()),
        case_kind: Set(kind_column(record.case_kind).to_owned()),
        first_state: Set(record.first_state.clone()),
        second_state: Set(record.second_state.clone()),
        status: Set(record.status.clone()),
        event_count: Set(to_i64(record.event_count)),
        created_at: Set(record.created_at),
        updated_at: Set(record.updated_at),
        next_deadline_at: Set(record.next_deadline_at),
    }
}

fn event_from_row(row: rows::case_event::Model) -> EventRecord {
    EventRecord {
        case_ref: row.case_ref,
        sequence: u64::try_from(row.sequence).unwrap_or(0),
        kind: row.kind,
        acting_state: row.acting_state,
        occurred_at: row.occurred_at,
        idempotency_key: row.idempotency_key,
        envelope: row.envelope,
    }
}

fn event_to_row(record: &EventRecord) -> rows::case_event::ActiveModel {
    rows::case_event::ActiveModel {
        case_ref: Set(record.case_ref.clone()),
        sequence: Set(to_i64(record.sequence)),
        kind: Set(record.kind.clone()),
        acting_state: Set(record.acting_state.clone()),
        occurred_at: Set(record.occurred_at),
        idempotency_key: Set(record.idempotency_key.clone()),
        envelope: Set(record.envelope.clone()),
    }
}

fn idempotency_from_row(row: rows::idempotency::Model) -> IdempotencyRecord {
    IdempotencyRecord {
        caller: row.caller,
        idempotency_key: row.idempotency_key,
        operation: row.operation,
        request_digest: row.request_digest,
        response: row.response,
        created_at: row.created_at,
        history_through: row
            .history_through
            .and_then(|sequence| u64::try_from(sequence).ok()),
    }
}

fn idempotency_to_row(record: &IdempotencyRecord) -> rows::idempotency::ActiveModel {
    rows::idempotency::ActiveModel {
        caller: Set(record.caller.clone()),
        idempotency_key: Set(record.idempotency_key.clone()),
        operation: Set(record.operation.clone()),
        request_digest: Set(record.request_digest.clone()),
        response: Set(record.response.clone()),
        created_at: Set(record.created_at),
        history_through: Set(record.history_through.map(to_i64)),
    }
}

fn outbox_to_row(message: &OutboxMessage) -> rows::outbox::ActiveModel {
    rows::outbox::ActiveModel {
        case_ref: Set(message.case_ref.clone()),
        destination: Set(message.destination.clone()),
        channel: Set(message.channel.as_str().to_owned()),
        payload: Set(Vec::new()),
        event_case_ref: Set(Some(message.event.case_ref.clone())),
        event_sequence: Set(Some(to_i64(message.event.sequence))),
        attempts: Set(0),
        next_attempt_at: Set(message.created_at),
        created_at: Set(message.created_at),
        delivered_at: Set(None),
        failed_reason: Set(None),
        last_error: Set(None),
        ..Default::default()
    }
}
