//! The node's schema, as migrations in code; applied on start.
//!
//! Migrations are append-only: a released migration is never edited, a change is a new
//! migration. Tables are created with sea-query statements so that the same code makes the
//! SQLite and the PostgreSQL schema.
//!
//! [`migrate`] applies, in order, each migration the database has not recorded, each whole
//! or not at all, with the record sea-orm-migration kept (`accord_edge::schema`).

use accord_edge::schema::{
    Migration, big_integer, big_integer_null, blob, integer, sql, string, string_null, text_null,
};
use sea_orm::sea_query::{Index, Table};
use sea_orm::{DatabaseBackend, DatabaseConnection, DbErr, DeriveIden, Statement};

/// Applies the node's migrations `db` has not recorded, in order, each whole or not at all
/// (`accord_edge::schema::migrate`).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    accord_edge::schema::migrate(db, &MIGRATIONS).await
}

/// Every migration of the node, in order.
const MIGRATIONS: [Migration; 11] = [
    Migration {
        name: "m20261127_000001_initial_schema",
        statements: initial_schema,
    },
    Migration {
        name: "m20261127_000002_hot_path_indexes",
        statements: hot_path_indexes,
    },
    Migration {
        name: "m20261127_000003_outbox_event_reference",
        statements: outbox_event_reference,
    },
    Migration {
        name: "m20261127_000004_newest_cases_index",
        statements: newest_cases_index,
    },
    Migration {
        name: "m20261127_000005_answer_history_reference",
        statements: answer_history_reference,
    },
    Migration {
        name: "m20261127_000006_outbox_due_by_destination",
        statements: outbox_due_by_destination,
    },
    Migration {
        name: "m20261204_000007_membership_directory",
        statements: membership_directory,
    },
    Migration {
        name: "m20261205_000008_revocation_list",
        statements: revocation_list,
    },
    Migration {
        name: "m20261205_000009_node_secret",
        statements: node_secret,
    },
    Migration {
        name: "m20261205_000010_ledger_reporting",
        statements: ledger_reporting,
    },
    Migration {
        name: "m20261205_000011_admission_allocations",
        statements: admission_allocations,
    },
];

/// Cases, their events, idempotency records, the outbox and the audit log.
fn initial_schema(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::create()
                .table(CaseSummary::Table)
                .col(string(CaseSummary::CaseRef).primary_key())
                .col(string(CaseSummary::CaseKind))
                .col(string(CaseSummary::FirstState))
                .col(string(CaseSummary::SecondState))
                .col(string(CaseSummary::Status))
                .col(big_integer(CaseSummary::EventCount))
                .col(big_integer(CaseSummary::CreatedAt))
                .col(big_integer(CaseSummary::UpdatedAt))
                .col(big_integer_null(CaseSummary::NextDeadlineAt)),
        ),
        backend.build(
            Index::create()
                .name("case_summary_by_deadline")
                .table(CaseSummary::Table)
                .col(CaseSummary::NextDeadlineAt),
        ),
        backend.build(
            Table::create()
                .table(CaseEvent::Table)
                .col(string(CaseEvent::CaseRef))
                .col(big_integer(CaseEvent::Sequence))
                .col(string(CaseEvent::Kind))
                .col(string(CaseEvent::ActingState))
                .col(big_integer(CaseEvent::OccurredAt))
                .col(string(CaseEvent::IdempotencyKey))
                .col(blob(CaseEvent::Envelope))
                .primary_key(
                    Index::create()
                        .col(CaseEvent::CaseRef)
                        .col(CaseEvent::Sequence),
                ),
        ),
        backend.build(
            Index::create()
                .name("case_event_by_actor_key")
                .table(CaseEvent::Table)
                .col(CaseEvent::ActingState)
                .col(CaseEvent::IdempotencyKey)
                .unique(),
        ),
        backend.build(
            Table::create()
                .table(Idempotency::Table)
                .col(string(Idempotency::Caller))
                .col(string(Idempotency::IdempotencyKey))
                .col(string(Idempotency::Operation))
                .col(blob(Idempotency::RequestDigest))
                .col(blob(Idempotency::Response))
                .col(big_integer(Idempotency::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(Idempotency::Caller)
                        .col(Idempotency::IdempotencyKey),
                ),
        ),
        backend.build(
            Table::create()
                .table(Outbox::Table)
                .col(big_integer(Outbox::Id).auto_increment().primary_key())
                .col(string(Outbox::CaseRef))
                .col(string(Outbox::Destination))
                .col(string(Outbox::Channel))
                .col(blob(Outbox::Payload))
                .col(integer(Outbox::Attempts))
                .col(big_integer(Outbox::NextAttemptAt))
                .col(big_integer(Outbox::CreatedAt))
                .col(big_integer_null(Outbox::DeliveredAt))
                .col(text_null(Outbox::FailedReason))
                .col(text_null(Outbox::LastError)),
        ),
        backend.build(
            Index::create()
                .name("outbox_pending_by_case")
                .table(Outbox::Table)
                .col(Outbox::DeliveredAt)
                .col(Outbox::CaseRef)
                .col(Outbox::Id),
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

/// The outbox indexed for its readers, pending messages only: `outbox_due` (id order) lets
/// the dispatcher's look-up of due messages walk the pending messages oldest first and stop
/// at its limit (it sorted every pending message before), and `outbox_pending_case` (per
/// case, id order) answers "is an earlier message of this case still pending". Both are
/// partial, so a delivered message leaves them and they stay as small as the backlog.
/// They replace `outbox_pending_by_case`, which held every message ever sent. Partial
/// indexes are written the same way in SQLite and PostgreSQL, so the statements are SQL.
///
/// And an actor's event keys are unique per case (`case_event_by_case_actor_key`) rather
/// than across all cases (`case_event_by_actor_key`): a delivery names its case, so the
/// look-up needs no more, and an index led by the case reference (which grows with time) is
/// appended to, where one led by the clients' keys is written all over.
fn hot_path_indexes(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        sql(
            backend,
            "CREATE INDEX outbox_due ON outbox (id) \
             WHERE delivered_at IS NULL AND failed_reason IS NULL",
        ),
        sql(
            backend,
            "CREATE INDEX outbox_pending_case ON outbox (case_ref, id) \
             WHERE delivered_at IS NULL",
        ),
        backend.build(
            Index::drop()
                .name("outbox_pending_by_case")
                .table(Outbox::Table),
        ),
        backend.build(
            Index::drop()
                .name("case_event_by_actor_key")
                .table(CaseEvent::Table),
        ),
        backend.build(
            Index::create()
                .name("case_event_by_case_actor_key")
                .table(CaseEvent::Table)
                .col(CaseEvent::CaseRef)
                .col(CaseEvent::ActingState)
                .col(CaseEvent::IdempotencyKey)
                .unique(),
        ),
    ]
}

/// Outbox messages name the event they deliver (`event_case_ref`, `event_sequence`) instead of
/// holding a copy of it in `payload`: the event is already in `case_event`, written in the
/// same transaction, and the copy was a fifth of the bytes an opened case wrote. Messages
/// written before keep their payload and are sent from it.
fn outbox_event_reference(backend: DatabaseBackend) -> Vec<Statement> {
    // One column per statement: SQLite alters one column at a time.
    vec![
        backend.build(
            Table::alter()
                .table(Outbox::Table)
                .add_column(string_null(Outbox::EventCaseRef)),
        ),
        backend.build(
            Table::alter()
                .table(Outbox::Table)
                .add_column(big_integer_null(Outbox::EventSequence)),
        ),
    ]
}

/// Lists return cases newest first, by the creation time at the head of the reference's ID
/// (`Store::list_cases`); this index serves that order per kind. SQLite and PostgreSQL
/// both index the same expression.
fn newest_cases_index(backend: DatabaseBackend) -> Vec<Statement> {
    vec![sql(
        backend,
        "CREATE INDEX case_summary_newest \
         ON case_summary (case_kind, substr(case_ref, 11, 13), case_ref)",
    )]
}

/// Idempotency records leave the case history out of their answer (`history_through`): the
/// answer's history is the case's events 1 to `history_through`, read back from
/// `case_event` on a replay. Every step's answer holds the case with its whole history, so
/// records holding it grew with the square of a case's length, and an opening's record was
/// half of the bytes an opened case wrote. Records written before keep their whole answer
/// (`history_through` NULL) and are answered from it.
fn answer_history_reference(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::alter()
                .table(Idempotency::Table)
                .add_column(big_integer_null(Idempotency::HistoryThrough)),
        ),
    ]
}

/// The dispatcher's look-up of due messages walks each partner's pending messages on their
/// own (`outbox_due_by_destination`, destination then id order), instead of every pending
/// message in id order (`outbox_due`, dropped). With `outbox_due`, a partner whose link was
/// backing off was filtered out message by message, so every round for the other partners
/// walked its whole backlog; now a round reads only the partners it may send to.
fn outbox_due_by_destination(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        sql(
            backend,
            "CREATE INDEX outbox_due_by_destination ON outbox (destination, id) \
             WHERE delivered_at IS NULL AND failed_reason IS NULL",
        ),
        sql(backend, "DROP INDEX outbox_due"),
    ]
}

/// The last signed directory this node verified and applied (`[coordinator]`): one row,
/// its version and its signed bytes as the coordinator sent them, so that a node started
/// while the coordinator is unreachable serves the partners it last knew, and a replayed
/// older version is recognised after a restart too.
fn membership_directory(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::create()
                .table(MembershipDirectory::Table)
                .col(integer(MembershipDirectory::Slot).primary_key())
                .col(big_integer(MembershipDirectory::Version))
                .col(blob(MembershipDirectory::SignedDirectory))
                .col(big_integer(MembershipDirectory::SavedAt)),
        ),
    ]
}

/// The last revocation list this node fetched from the coordinator and applied
/// (`[coordinator]`): one row, its number and its PEM, so that a node restarted while the
/// coordinator is unreachable still refuses the certificates it revoked.
fn revocation_list(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::create()
                .table(RevocationList::Table)
                .col(integer(RevocationList::Slot).primary_key())
                .col(big_integer(RevocationList::CrlNumber))
                .col(string(RevocationList::CrlPem))
                .col(big_integer(RevocationList::SavedAt)),
        ),
    ]
}

/// The node's side of the coordinator's ledger (`[coordinator]`): each event's leaf once the
/// coordinator logged its report (or why it refused it) and the size of the first head in
/// which this node checked the leaf's inclusion; an index of the events not reported yet —
/// the reporter's queue, committed with each event by construction — and of those reported
/// but not yet proved included; and the last tree head this node cosigned as a witness.
fn ledger_reporting(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        sql(
            backend,
            "ALTER TABLE case_event ADD COLUMN reported_leaf BIGINT NULL",
        ),
        sql(
            backend,
            "ALTER TABLE case_event ADD COLUMN report_refused TEXT NULL",
        ),
        sql(
            backend,
            "CREATE INDEX case_event_unreported ON case_event (case_ref, sequence) \
             WHERE reported_leaf IS NULL AND report_refused IS NULL",
        ),
        sql(
            backend,
            "ALTER TABLE case_event ADD COLUMN included_in BIGINT NULL",
        ),
        sql(
            backend,
            "CREATE INDEX case_event_unproved ON case_event (reported_leaf) \
             WHERE reported_leaf IS NOT NULL AND included_in IS NULL",
        ),
        backend.build(
            Table::create()
                .table(WitnessHead::Table)
                .col(integer(WitnessHead::Slot).primary_key())
                .col(big_integer(WitnessHead::TreeSize))
                .col(blob(WitnessHead::RootHash))
                .col(string(WitnessHead::Checkpoint))
                .col(big_integer(WitnessHead::CosignedAt)),
        ),
    ]
}

/// The instructions of final settlement rounds that name this node's state, one row per
/// (round, admitting, origin), and every final round already read (so a round naming no
/// instruction of this state is not read again).
fn admission_allocations(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        sql(
            backend,
            "CREATE TABLE allocation (round_id VARCHAR NOT NULL, report_version BIGINT NOT NULL, \
             admitting_state VARCHAR NOT NULL, origin_state VARCHAR NOT NULL, \
             people BIGINT NOT NULL, redirected BIGINT NOT NULL, perform_by BIGINT NULL, \
             period_start BIGINT NOT NULL, period_end BIGINT NOT NULL, \
             recorded_at BIGINT NOT NULL, \
             PRIMARY KEY (round_id, admitting_state, origin_state))",
        ),
        sql(
            backend,
            "CREATE TABLE allocation_round (round_id VARCHAR NOT NULL PRIMARY KEY, \
             read_at BIGINT NOT NULL)",
        ),
    ]
}

/// The node's secret: one row, 32 random bytes made at the node's first start
/// (`Store::connect`), which key the pseudonyms of its callers' idempotency keys in the
/// events it signs (`app::event_key`).
fn node_secret(backend: DatabaseBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::create()
                .table(NodeSecret::Table)
                .col(integer(NodeSecret::Slot).primary_key())
                .col(blob(NodeSecret::Secret)),
        ),
    ]
}

#[derive(DeriveIden)]
enum WitnessHead {
    Table,
    Slot,
    TreeSize,
    RootHash,
    Checkpoint,
    CosignedAt,
}

#[derive(DeriveIden)]
enum NodeSecret {
    Table,
    Slot,
    Secret,
}

#[derive(DeriveIden)]
enum RevocationList {
    Table,
    Slot,
    CrlNumber,
    CrlPem,
    SavedAt,
}

#[derive(DeriveIden)]
enum MembershipDirectory {
    Table,
    Slot,
    Version,
    SignedDirectory,
    SavedAt,
}

#[derive(DeriveIden)]
enum CaseSummary {
    Table,
    CaseRef,
    CaseKind,
    FirstState,
    SecondState,
    Status,
    EventCount,
    CreatedAt,
    UpdatedAt,
    NextDeadlineAt,
}

#[derive(DeriveIden)]
enum CaseEvent {
    Table,
    CaseRef,
    Sequence,
    Kind,
    ActingState,
    OccurredAt,
    IdempotencyKey,
    Envelope,
}

#[derive(DeriveIden)]
#[allow(clippy::enum_variant_names)] // `IdempotencyKey` is the column's name
enum Idempotency {
    Table,
    Caller,
    IdempotencyKey,
    Operation,
    RequestDigest,
    Response,
    CreatedAt,
    HistoryThrough,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    CaseRef,
    Destination,
    Channel,
    Payload,
    Attempts,
    NextAttemptAt,
    CreatedAt,
    DeliveredAt,
    FailedReason,
    LastError,
    EventCaseRef,
    EventSequence,
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
