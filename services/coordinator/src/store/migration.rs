//! The coordinator's schema, as migrations in code; applied on start
//! (`accord_edge::schema::migrate`). Append-only: a released migration is never edited.

use accord_edge::schema::{Migration, big_integer, big_integer_null, blob, integer, string};
use sea_orm::sea_query::{Index, Table};
use sea_orm::{DatabaseBackend, DatabaseConnection, DbErr, DeriveIden, Statement};

/// Every migration of the coordinator, in order.
const MIGRATIONS: [Migration; 5] = [
    Migration {
        name: "m20261204_000001_membership",
        statements: membership,
    },
    Migration {
        name: "m20261205_000002_enrolment_approvals",
        statements: enrolment_approvals,
    },
    Migration {
        name: "m20261205_000003_ledger",
        statements: ledger,
    },
    Migration {
        name: "m20261205_000004_break_resolutions",
        statements: break_resolutions,
    },
    Migration {
        name: "m20261206_000005_ledger_leaf_case",
        statements: ledger_leaf_case,
    },
];

/// Applies the coordinator's migrations `db` has not recorded, in order, each whole.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    accord_edge::schema::migrate(db, &MIGRATIONS).await
}

/// Enrolments, directory versions, idempotency records and the audit log.
fn membership(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::create()
                .table(Enrolment::Table)
                .col(string(Enrolment::TokenId).primary_key())
                .col(string(Enrolment::TokenSha256).unique_key())
                .col(string(Enrolment::State))
                .col(big_integer(Enrolment::IssuedAt))
                .col(big_integer(Enrolment::ExpiresAt))
                .col(integer(Enrolment::RequiredApprovals))
                .col(big_integer_null(Enrolment::UsedAt))
                .col(big_integer_null(Enrolment::CancelledAt))
                .col(string(Enrolment::IssuedBy)),
        ),
        backend.build(
            Index::create()
                .name("enrolment_newest")
                .table(Enrolment::Table)
                .col(Enrolment::IssuedAt)
                .col(Enrolment::TokenId),
        ),
        backend.build(
            Table::create()
                .table(DirectoryVersion::Table)
                .col(big_integer(DirectoryVersion::Version).primary_key())
                .col(big_integer(DirectoryVersion::IssuedAt))
                .col(blob(DirectoryVersion::SignedDirectory)),
        ),
        backend.build(
            Table::create()
                .table(Idempotency::Table)
                .col(string(Idempotency::Caller))
                .col(string(Idempotency::Key))
                .col(blob(Idempotency::RequestDigest))
                .col(blob(Idempotency::Response))
                .col(big_integer(Idempotency::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(Idempotency::Caller)
                        .col(Idempotency::Key),
                ),
        ),
        backend.build(
            Table::create()
                .table(AuditLog::Table)
                .col(big_integer(AuditLog::Id).auto_increment().primary_key())
                .col(big_integer(AuditLog::At))
                .col(string(AuditLog::Peer))
                .col(string(AuditLog::Operation))
                .col(string(AuditLog::Outcome))
                .col(string(AuditLog::Detail)),
        ),
    ]
}

/// Members' signed approvals of enrolments, one per approving state.
fn enrolment_approvals(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::create()
                .table(EnrolmentApproval::Table)
                .col(string(EnrolmentApproval::TokenId))
                .col(string(EnrolmentApproval::State))
                .col(big_integer(EnrolmentApproval::At))
                .col(string(EnrolmentApproval::SigningKeyId))
                .col(blob(EnrolmentApproval::Signature))
                .primary_key(
                    Index::create()
                        .col(EnrolmentApproval::TokenId)
                        .col(EnrolmentApproval::State),
                ),
        ),
    ]
}

/// The ledger: the log's leaves, its published heads and the members' cosignatures.
fn ledger(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::create()
                .table(LedgerLeaf::Table)
                .col(big_integer(LedgerLeaf::LeafIndex).primary_key())
                .col(string(LedgerLeaf::ReporterState))
                .col(string(LedgerLeaf::ActingState))
                .col(string(LedgerLeaf::EventKey))
                .col(big_integer(LedgerLeaf::Sequence))
                .col(string(LedgerLeaf::CaseRef))
                .col(string(LedgerLeaf::FirstState))
                .col(string(LedgerLeaf::SecondState))
                .col(string(LedgerLeaf::EventKind))
                .col(big_integer(LedgerLeaf::OccurredAt))
                .col(blob(LedgerLeaf::EventDigest))
                .col(blob(LedgerLeaf::LeafHash))
                .col(blob(LedgerLeaf::Leaf))
                .col(big_integer(LedgerLeaf::AcceptedAt)),
        ),
        // A report is logged once: the same reporter's report of one event of the acting
        // state (its key and sequence) is a duplicate, however often it is resent.
        backend.build(
            Index::create()
                .name("ledger_leaf_report")
                .table(LedgerLeaf::Table)
                .col(LedgerLeaf::ReporterState)
                .col(LedgerLeaf::EventKey)
                .col(LedgerLeaf::ActingState)
                .col(LedgerLeaf::Sequence)
                .unique(),
        ),
        backend.build(
            Index::create()
                .name("ledger_leaf_digest")
                .table(LedgerLeaf::Table)
                .col(LedgerLeaf::EventDigest),
        ),
        backend.build(
            Table::create()
                .table(LedgerHead::Table)
                .col(big_integer(LedgerHead::TreeSize).primary_key())
                .col(blob(LedgerHead::RootHash))
                .col(big_integer(LedgerHead::Timestamp))
                .col(string(LedgerHead::SigningKeyId))
                .col(blob(LedgerHead::Signature))
                .col(string(LedgerHead::SignedNote)),
        ),
        backend.build(
            Table::create()
                .table(LedgerCosignature::Table)
                .col(big_integer(LedgerCosignature::TreeSize))
                .col(string(LedgerCosignature::State))
                .col(string(LedgerCosignature::SigningKeyId))
                .col(big_integer(LedgerCosignature::SignedAt))
                .col(blob(LedgerCosignature::Signature))
                .col(big_integer(LedgerCosignature::RecordedAt))
                .primary_key(
                    Index::create()
                        .col(LedgerCosignature::TreeSize)
                        .col(LedgerCosignature::State),
                ),
        ),
    ]
}

/// A case's leaves, read by `ListCaseLeaves` (the log's clock for acceptance by default).
fn ledger_leaf_case(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Index::create()
                .name("ledger_leaf_case")
                .table(LedgerLeaf::Table)
                .col(LedgerLeaf::CaseRef)
                .col(LedgerLeaf::LeafIndex),
        ),
    ]
}

/// Operators' resolutions of reconciliation breaks (breaks themselves are derived from the
/// log's leaves, never stored).
fn break_resolutions(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::create()
                .table(BreakResolution::Table)
                .col(string(BreakResolution::BreakId).primary_key())
                .col(string(BreakResolution::Operator))
                .col(string(BreakResolution::Reason))
                .col(big_integer(BreakResolution::ResolvedAt)),
        ),
    ]
}

#[derive(DeriveIden)]
enum BreakResolution {
    Table,
    BreakId,
    Operator,
    Reason,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum LedgerLeaf {
    Table,
    LeafIndex,
    ReporterState,
    ActingState,
    EventKey,
    Sequence,
    CaseRef,
    FirstState,
    SecondState,
    EventKind,
    OccurredAt,
    EventDigest,
    LeafHash,
    Leaf,
    AcceptedAt,
}

#[derive(DeriveIden)]
enum LedgerHead {
    Table,
    TreeSize,
    RootHash,
    Timestamp,
    SigningKeyId,
    Signature,
    SignedNote,
}

#[derive(DeriveIden)]
enum LedgerCosignature {
    Table,
    TreeSize,
    State,
    SigningKeyId,
    SignedAt,
    Signature,
    RecordedAt,
}

#[derive(DeriveIden)]
enum EnrolmentApproval {
    Table,
    TokenId,
    State,
    At,
    SigningKeyId,
    Signature,
}

#[derive(DeriveIden)]
enum Enrolment {
    Table,
    TokenId,
    TokenSha256,
    State,
    IssuedAt,
    ExpiresAt,
    RequiredApprovals,
    UsedAt,
    CancelledAt,
    IssuedBy,
}

#[derive(DeriveIden)]
enum DirectoryVersion {
    Table,
    Version,
    IssuedAt,
    SignedDirectory,
}

#[derive(DeriveIden)]
enum Idempotency {
    Table,
    Caller,
    #[sea_orm(iden = "idempotency_key")]
    Key,
    RequestDigest,
    Response,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Peer,
    Operation,
    Outcome,
    Detail,
}
