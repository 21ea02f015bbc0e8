//! The coordinator's storage: enrolments, every signed directory version, the ledger's log
//! (`ledger`), idempotency records and the audit log, on SQLite (the embedded default; WAL,
//! `synchronous=FULL`, as the node's) or PostgreSQL. The only module that touches sea-orm;
//! the application sees the plain records below.
//!
//! A [`Change`] is one transaction: an enrolment written, a directory version published,
//! the request's idempotency record and its audit rows commit together or not at all.
//! Directory versions are keyed by their number, so two writers cannot both publish one
//! version: the second gets [`Error::Conflict`].

mod ledger;
mod migration;
mod rows;
mod settlement;

pub use ledger::{CosignatureRecord, HeadRecord, LeafRecord, ResolutionRecord};
pub use settlement::{
    CandidateRecord, CapacityRecord, ConsentRecord, CountersignatureRecord, DisputeRecord,
    RoundRecord, RoundWrite, SettlementWrite,
};

use std::sync::Arc;
use std::time::Duration;

use accord_edge::audit;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveValue, ColumnTrait, Condition, ConnectOptions, Database, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Someone else wrote first: the directory version or the token is taken.
    #[error("a concurrent change was committed first")]
    Conflict,
    /// The idempotency key was used before (the caller's first answer stands).
    #[error("idempotency key {idempotency_key:?} is already recorded")]
    KeyReused {
        /// The key.
        idempotency_key: String,
    },
    /// The database refused or failed; the driver's error is the source.
    #[error("the database failed")]
    Database(#[from] DbErr),
}

/// An enrolment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentRecord {
    /// The token's public id.
    pub token_id: String,
    /// Lower-case hex SHA-256 of the secret.
    pub token_sha256: String,
    /// The state it admits.
    pub state: String,
    /// When it was issued (ms).
    pub issued_at: i64,
    /// When it stops working (ms).
    pub expires_at: i64,
    /// Approvals required first.
    pub required_approvals: u32,
    /// When it was used (ms).
    pub used_at: Option<i64>,
    /// When it was cancelled (ms).
    pub cancelled_at: Option<i64>,
    /// The operator who issued it.
    pub issued_by: String,
    /// The approvals recorded so far, oldest first.
    pub approvals: Vec<ApprovalRecord>,
}

/// One member's approval of an enrolment, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    /// The enrolment's token id.
    pub token_id: String,
    /// The approving state.
    pub state: String,
    /// When it was recorded (ms).
    pub at: i64,
    /// The key it was signed with.
    pub signing_key_id: String,
    /// The Ed25519 signature.
    pub signature: Vec<u8>,
}

/// One signed directory version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDirectory {
    /// The version.
    pub version: u64,
    /// When it was issued (ms).
    pub issued_at: i64,
    /// `accord.v1.SignedDirectory`, protobuf bytes.
    pub signed_directory: Vec<u8>,
}

/// A request's first answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The caller's SPIFFE ID.
    pub caller: String,
    /// The caller's key.
    pub idempotency_key: String,
    /// SHA-256 of the request's method and content.
    pub request_digest: Vec<u8>,
    /// The answer, protobuf bytes.
    pub response: Vec<u8>,
    /// When (ms).
    pub created_at: i64,
}

/// One audited action or refusal (the record every Accord server audits with).
pub use accord_edge::audit::Record as AuditRecord;

/// How a change writes an enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrolmentWrite {
    /// A new token (its id and hash must be new).
    Insert(EnrolmentRecord),
    /// A token's new state (used or cancelled), if `expected_unchanged` still holds: the
    /// token was neither used nor cancelled since it was read.
    Update(EnrolmentRecord),
}

/// What one request writes, in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// An enrolment to insert or update.
    pub enrolment: Option<EnrolmentWrite>,
    /// An approval to record (its state must not have approved the enrolment before).
    pub approval: Option<ApprovalRecord>,
    /// A directory version to publish.
    pub directory: Option<StoredDirectory>,
    /// A member's cosignature of a published head.
    pub cosignature: Option<CosignatureRecord>,
    /// An operator's resolution of a break (resolved once).
    pub resolution: Option<ResolutionRecord>,
    /// Quotas, consents and rounds.
    pub settlement: SettlementWrite,
    /// The request's first answer.
    pub idempotency: Option<IdempotencyRecord>,
    /// What to audit.
    pub audit: Vec<AuditRecord>,
}

/// How long a SQLite connection waits for another's lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLite as the node runs it: WAL with `synchronous=FULL`, so a commit is one sync of the
/// log and is on disk before it is acknowledged, and readers (proofs, heads) never block the
/// appender. sqlx's default, a rollback journal, synced the journal and the database and
/// removed the journal at every commit: the ledger's batch transaction took twice as long
/// (BENCHMARKS.md, "Ledger and settlement").
fn durable_sqlite(sqlite: SqliteConnectOptions) -> SqliteConnectOptions {
    sqlite
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
}

/// The coordinator's database.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// The audit log's flood guard for refused calls (`accord_edge::audit`).
    audit_cap: Arc<audit::Cap>,
}

impl Store {
    /// Connects to `database_url` (`sqlite://PATH?mode=rwc` or `postgres://…`) with at
    /// most `max_connections`, and applies the migrations.
    pub async fn connect(database_url: &str, max_connections: u32) -> Result<Self, Error> {
        let mut options = ConnectOptions::new(database_url.to_owned());
        options
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(durable_sqlite);
        let db = Database::connect(options).await?;
        migration::migrate(&db).await?;
        Ok(Self {
            db,
            audit_cap: Arc::new(audit::Cap::new(audit::ROWS_PER_CALLER_PER_MINUTE_DEFAULT)),
        })
    }

    /// The newest directory version, if any was published.
    pub async fn latest_directory(&self) -> Result<Option<StoredDirectory>, Error> {
        let row = rows::directory_version::Entity::find()
            .order_by_desc(rows::directory_version::Column::Version)
            .one(&self.db)
            .await?;
        Ok(row.map(directory_from_row))
    }

    /// The first answer recorded for (`caller`, `idempotency_key`).
    pub async fn find_idempotency(
        &self,
        caller: &str,
        idempotency_key: &str,
    ) -> Result<Option<IdempotencyRecord>, Error> {
        let row =
            rows::idempotency::Entity::find_by_id((caller.to_owned(), idempotency_key.to_owned()))
                .one(&self.db)
                .await?;
        Ok(row.map(|row| IdempotencyRecord {
            caller: row.caller,
            idempotency_key: row.idempotency_key,
            request_digest: row.request_digest,
            response: row.response,
            created_at: row.created_at,
        }))
    }

    /// The enrolment with id `token_id`.
    pub async fn find_enrolment(&self, token_id: &str) -> Result<Option<EnrolmentRecord>, Error> {
        let row = rows::enrolment::Entity::find_by_id(token_id.to_owned())
            .one(&self.db)
            .await?;
        self.with_approvals(row.into_iter().collect())
            .await
            .map(|mut records| records.pop())
    }

    /// The enrolment whose secret hashes to `token_sha256`.
    pub async fn find_enrolment_by_token(
        &self,
        token_sha256: &str,
    ) -> Result<Option<EnrolmentRecord>, Error> {
        let row = rows::enrolment::Entity::find()
            .filter(rows::enrolment::Column::TokenSha256.eq(token_sha256.to_owned()))
            .one(&self.db)
            .await?;
        self.with_approvals(row.into_iter().collect())
            .await
            .map(|mut records| records.pop())
    }

    /// Up to `limit` enrolments, newest first, after `after` (the (issued_at, token_id) of
    /// the last one of the page before).
    pub async fn list_enrolments(
        &self,
        after: Option<(i64, &str)>,
        limit: u64,
    ) -> Result<Vec<EnrolmentRecord>, Error> {
        use rows::enrolment::Column;
        let mut query = rows::enrolment::Entity::find()
            .order_by_desc(Column::IssuedAt)
            .order_by_desc(Column::TokenId)
            .limit(limit);
        if let Some((issued_at, token_id)) = after {
            query = query.filter(
                Condition::any().add(Column::IssuedAt.lt(issued_at)).add(
                    Condition::all()
                        .add(Column::IssuedAt.eq(issued_at))
                        .add(Column::TokenId.lt(token_id.to_owned())),
                ),
            );
        }
        let rows = query.all(&self.db).await?;
        self.with_approvals(rows).await
    }

    /// The records of `rows`, each with its approvals.
    async fn with_approvals(
        &self,
        rows: Vec<rows::enrolment::Model>,
    ) -> Result<Vec<EnrolmentRecord>, Error> {
        use rows::enrolment_approval::Column;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|row| row.token_id.clone()).collect();
        let approvals = rows::enrolment_approval::Entity::find()
            .filter(Column::TokenId.is_in(ids))
            .order_by_asc(Column::At)
            .order_by_asc(Column::State)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut record = enrolment_from_row(row);
                record.approvals = approvals
                    .iter()
                    .filter(|approval| approval.token_id == record.token_id)
                    .map(|approval| ApprovalRecord {
                        token_id: approval.token_id.clone(),
                        state: approval.state.clone(),
                        at: approval.at,
                        signing_key_id: approval.signing_key_id.clone(),
                        signature: approval.signature.clone(),
                    })
                    .collect();
                record
            })
            .collect())
    }

    /// Records a refused call on its own (changes carry their audit rows), within the
    /// caller's cap per minute (`accord_edge::audit`): past it the row is counted, and the
    /// count written as one summary row by the first refusal audited after the minute.
    pub async fn record_audit(&self, record: AuditRecord) -> Result<(), Error> {
        let admission = self.audit_cap.admit(&record);
        let mut written: Vec<AuditRecord> = self.audit_cap.flush(record.at);
        written.extend(admission.summary);
        if admission.write {
            written.push(record);
        }
        Ok(audit::insert(&self.db, written).await?)
    }

    /// The audit rows, oldest first (for operators and tests).
    pub async fn audit_log(&self) -> Result<Vec<AuditRecord>, Error> {
        Ok(audit::oldest_first(&self.db, None).await?)
    }

    /// Commits `change` whole, or nothing of it.
    pub async fn commit(&self, change: Change) -> Result<(), Error> {
        let transaction = self.db.begin().await?;
        match write(&transaction, change).await {
            Ok(()) => Ok(transaction.commit().await?),
            Err(error) => {
                transaction.rollback().await?;
                Err(error)
            }
        }
    }
}

async fn write(transaction: &DatabaseTransaction, change: Change) -> Result<(), Error> {
    if let Some(record) = change.idempotency {
        let key = record.idempotency_key.clone();
        let inserted = rows::idempotency::Entity::insert(rows::idempotency::ActiveModel {
            caller: ActiveValue::Set(record.caller),
            idempotency_key: ActiveValue::Set(record.idempotency_key),
            request_digest: ActiveValue::Set(record.request_digest),
            response: ActiveValue::Set(record.response),
            created_at: ActiveValue::Set(record.created_at),
        })
        .on_conflict_do_nothing()
        .exec(transaction)
        .await?;
        if matches!(inserted, sea_orm::TryInsertResult::Conflicted) {
            return Err(Error::KeyReused {
                idempotency_key: key,
            });
        }
    }
    match change.enrolment {
        Some(EnrolmentWrite::Insert(record)) => {
            let inserted = rows::enrolment::Entity::insert(enrolment_row(record))
                .on_conflict_do_nothing()
                .exec(transaction)
                .await?;
            if matches!(inserted, sea_orm::TryInsertResult::Conflicted) {
                return Err(Error::Conflict);
            }
        }
        Some(EnrolmentWrite::Update(record)) => {
            use rows::enrolment::Column;
            // Only a token still unused and not cancelled changes: a second redemption or a
            // cancellation racing a use finds nothing to update.
            let updated = rows::enrolment::Entity::update_many()
                .col_expr(Column::UsedAt, record.used_at.into())
                .col_expr(Column::CancelledAt, record.cancelled_at.into())
                .filter(Column::TokenId.eq(record.token_id))
                .filter(Column::UsedAt.is_null())
                .filter(Column::CancelledAt.is_null())
                .exec(transaction)
                .await?;
            if updated.rows_affected != 1 {
                return Err(Error::Conflict);
            }
        }
        None => {}
    }
    if let Some(approval) = change.approval {
        let inserted =
            rows::enrolment_approval::Entity::insert(rows::enrolment_approval::ActiveModel {
                token_id: ActiveValue::Set(approval.token_id),
                state: ActiveValue::Set(approval.state),
                at: ActiveValue::Set(approval.at),
                signing_key_id: ActiveValue::Set(approval.signing_key_id),
                signature: ActiveValue::Set(approval.signature),
            })
            .on_conflict_do_nothing()
            .exec(transaction)
            .await?;
        if matches!(inserted, sea_orm::TryInsertResult::Conflicted) {
            return Err(Error::Conflict);
        }
    }
    if let Some(directory) = change.directory {
        let inserted =
            rows::directory_version::Entity::insert(rows::directory_version::ActiveModel {
                version: ActiveValue::Set(to_i64(directory.version)),
                issued_at: ActiveValue::Set(directory.issued_at),
                signed_directory: ActiveValue::Set(directory.signed_directory),
            })
            .on_conflict_do_nothing()
            .exec(transaction)
            .await?;
        if matches!(inserted, sea_orm::TryInsertResult::Conflicted) {
            return Err(Error::Conflict);
        }
    }
    if let Some(cosignature) = change.cosignature {
        ledger::write_cosignature(transaction, cosignature).await?;
    }
    if let Some(resolution) = change.resolution {
        ledger::write_resolution(transaction, resolution).await?;
    }
    settlement::write(transaction, change.settlement).await?;
    Ok(audit::insert(transaction, change.audit).await?)
}

fn enrolment_row(record: EnrolmentRecord) -> rows::enrolment::ActiveModel {
    rows::enrolment::ActiveModel {
        token_id: ActiveValue::Set(record.token_id),
        token_sha256: ActiveValue::Set(record.token_sha256),
        state: ActiveValue::Set(record.state),
        issued_at: ActiveValue::Set(record.issued_at),
        expires_at: ActiveValue::Set(record.expires_at),
        required_approvals: ActiveValue::Set(
            i32::try_from(record.required_approvals).unwrap_or(i32::MAX),
        ),
        used_at: ActiveValue::Set(record.used_at),
        cancelled_at: ActiveValue::Set(record.cancelled_at),
        issued_by: ActiveValue::Set(record.issued_by),
    }
}

fn enrolment_from_row(row: rows::enrolment::Model) -> EnrolmentRecord {
    EnrolmentRecord {
        token_id: row.token_id,
        token_sha256: row.token_sha256,
        state: row.state,
        issued_at: row.issued_at,
        expires_at: row.expires_at,
        required_approvals: u32::try_from(row.required_approvals).unwrap_or(0),
        used_at: row.used_at,
        cancelled_at: row.cancelled_at,
        issued_by: row.issued_by,
        approvals: Vec::new(),
    }
}

fn directory_from_row(row: rows::directory_version::Model) -> StoredDirectory {
    StoredDirectory {
        version: u64::try_from(row.version).unwrap_or(0),
        issued_at: row.issued_at,
        signed_directory: row.signed_directory,
    }
}

/// A count or version as the `i64` a column holds (saturating: no version reaches it).
fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
