//! The coordinator's schema, as migrations in code; applied on start
//! (`accord_edge::schema::migrate`). Append-only: a released migration is never edited.

use accord_edge::schema::{
    Migration, big_integer, big_integer_null, blob, blob_null, integer, string,
};
use sea_orm::sea_query::{Index, Table};
use sea_orm::{DatabaseBackend, DatabaseConnection, DbErr, DeriveIden, Statement};

/// Every migration of the coordinator, in order.
const MIGRATIONS: [Migration; 6] = [
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
        name: "m20261205_000005_settlement",
        statements: settlement,
    },
    Migration {
        name: "m20261205_000006_ledger_leaf_case",
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
        // state (its key and sequence) is a duplicate, however often it is resent. The event
        // key leads, so a batch's lookup by its keys is selective without table statistics
        // (PostgreSQL planned a fresh table's lookup on the reporter alone).
        backend.build(
            Index::create()
                .name("ledger_leaf_report")
                .table(LedgerLeaf::Table)
                .col(LedgerLeaf::EventKey)
                .col(LedgerLeaf::ReporterState)
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

/// Quotas, consents and settlement rounds: capacities per state and period, candidate counts
/// per pair, each state's consent to redirected admissions per ordered pair, and rounds with
/// their latest signed report, countersignatures and disputes.
fn settlement(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::create()
                .table(Capacity::Table)
                .col(string(Capacity::State))
                .col(big_integer(Capacity::PeriodStart))
                .col(big_integer(Capacity::PeriodEnd))
                .col(big_integer(Capacity::People))
                .col(big_integer(Capacity::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(Capacity::State)
                        .col(Capacity::PeriodStart),
                ),
        ),
        backend.build(
            Table::create()
                .table(CandidateCount::Table)
                .col(string(CandidateCount::State))
                .col(string(CandidateCount::OriginState))
                .col(big_integer(CandidateCount::Count))
                .col(big_integer(CandidateCount::CountedAt))
                .primary_key(
                    Index::create()
                        .col(CandidateCount::State)
                        .col(CandidateCount::OriginState),
                ),
        ),
        backend.build(
            Table::create()
                .table(RedirectConsent::Table)
                .col(string(RedirectConsent::AdmittingState))
                .col(string(RedirectConsent::OriginState))
                .col(string(RedirectConsent::ConsentingState))
                .col(integer(RedirectConsent::Consented))
                .col(big_integer(RedirectConsent::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(RedirectConsent::AdmittingState)
                        .col(RedirectConsent::OriginState)
                        .col(RedirectConsent::ConsentingState),
                ),
        ),
        backend.build(
            Table::create()
                .table(SettlementRound::Table)
                .col(string(SettlementRound::RoundId).primary_key())
                .col(big_integer(SettlementRound::PeriodStart))
                .col(big_integer(SettlementRound::PeriodEnd))
                .col(string(SettlementRound::Mode))
                .col(string(SettlementRound::Status))
                .col(string(SettlementRound::Participating))
                .col(string(SettlementRound::RedirectPairs))
                .col(big_integer(SettlementRound::OpenedAt))
                .col(big_integer_null(SettlementRound::CutOffAt))
                .col(big_integer_null(SettlementRound::TreeSize))
                .col(integer(SettlementRound::Version))
                .col(blob_null(SettlementRound::Report))
                .col(big_integer_null(SettlementRound::FinalisedAt)),
        ),
        backend.build(
            Table::create()
                .table(RoundCountersignature::Table)
                .col(string(RoundCountersignature::RoundId))
                .col(integer(RoundCountersignature::Version))
                .col(string(RoundCountersignature::State))
                .col(blob(RoundCountersignature::Signature))
                .col(big_integer(RoundCountersignature::RecordedAt))
                .primary_key(
                    Index::create()
                        .col(RoundCountersignature::RoundId)
                        .col(RoundCountersignature::Version)
                        .col(RoundCountersignature::State),
                ),
        ),
        backend.build(
            Table::create()
                .table(RoundDispute::Table)
                .col(big_integer(RoundDispute::Id).auto_increment().primary_key())
                .col(string(RoundDispute::RoundId))
                .col(blob(RoundDispute::Dispute))
                .col(big_integer(RoundDispute::RecordedAt)),
        ),
    ]
}

#[derive(DeriveIden)]
enum Capacity {
    Table,
    State,
    PeriodStart,
    PeriodEnd,
    #[sea_orm(iden = "capacity")]
    People,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CandidateCount {
    Table,
    State,
    OriginState,
    Count,
    CountedAt,
}

#[derive(DeriveIden)]
enum RedirectConsent {
    Table,
    AdmittingState,
    OriginState,
    ConsentingState,
    Consented,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SettlementRound {
    Table,
    RoundId,
    PeriodStart,
    PeriodEnd,
    Mode,
    Status,
    Participating,
    RedirectPairs,
    OpenedAt,
    CutOffAt,
    TreeSize,
    Version,
    Report,
    FinalisedAt,
}

#[derive(DeriveIden)]
enum RoundCountersignature {
    Table,
    RoundId,
    Version,
    State,
    Signature,
    RecordedAt,
}

#[derive(DeriveIden)]
enum RoundDispute {
    Table,
    Id,
    RoundId,
    Dispute,
    RecordedAt,
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
