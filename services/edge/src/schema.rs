//! The schema side of every Accord service's store: migrations in code, applied in order,
//! each in its own transaction with its record, so that a migration is applied whole or not
//! at all; and the column shapes the schemas are written in.
//!
//! The record is the `seaql_migrations` table (a migration's name and when the database
//! applied it), as sea-orm-migration keeps it: databases it migrated carry on here. It is
//! not a dependency: its schema-discovery and CLI dependencies (and the date, decimal and
//! UUID features they turn on across sea-orm and sqlx) were a fifth of a release build.
//! Each service lists its own migrations; this module knows no table of theirs.

use sea_orm::sea_query::{ColumnDef, Expr, IntoIden, Query, Table};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, DeriveIden, Statement,
    TransactionTrait,
};

/// One migration: its name as the record keeps it, and its statements for a backend.
pub struct Migration {
    /// The name the record keeps, e.g. `m20261127_000001_initial_schema`. Never changes.
    pub name: &'static str,
    /// The statements, built for the database's backend.
    pub statements: fn(DatabaseBackend) -> Vec<Statement>,
}

/// Applies the migrations `db` has not recorded, in order, each whole or not at all.
pub async fn migrate(db: &DatabaseConnection, migrations: &[Migration]) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute(
        Table::create()
            .table(SeaqlMigrations::Table)
            .if_not_exists()
            .col(string(SeaqlMigrations::Version).primary_key())
            .col(big_integer(SeaqlMigrations::AppliedAt)),
    )
    .await?;
    let applied: Vec<String> = db
        .query_all(
            Query::select()
                .column(SeaqlMigrations::Version)
                .from(SeaqlMigrations::Table),
        )
        .await?
        .iter()
        .map(|row| row.try_get("", "version"))
        .collect::<Result<_, _>>()?;
    for Migration { name, statements } in migrations {
        if applied.iter().any(|version| version == name) {
            continue;
        }
        let transaction = db.begin().await?;
        for statement in statements(backend) {
            transaction.execute_raw(statement).await?;
        }
        transaction
            .execute(
                Query::insert()
                    .into_table(SeaqlMigrations::Table)
                    .columns([SeaqlMigrations::Version, SeaqlMigrations::AppliedAt])
                    .values_panic([(*name).into(), Expr::cust(database_now_seconds(backend))]),
            )
            .await?;
        transaction.commit().await?;
        tracing::info!(migration = name, "applied a migration");
    }
    Ok(())
}

/// The database's own clock, in seconds since the Unix epoch: when it applied a migration.
fn database_now_seconds(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)",
        _ => "CAST(strftime('%s', 'now') AS INTEGER)",
    }
}

/// The record of applied migrations.
#[derive(DeriveIden)]
enum SeaqlMigrations {
    Table,
    Version,
    AppliedAt,
}

/// A column of text, required.
pub fn string(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).string().not_null().take()
}

/// A column of text, optional.
pub fn string_null(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).string().null().take()
}

/// A column of long text, optional.
pub fn text_null(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).text().null().take()
}

/// A column of 32-bit integers, required.
pub fn integer(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).integer().not_null().take()
}

/// A column of 64-bit integers, required.
pub fn big_integer(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).big_integer().not_null().take()
}

/// A column of 64-bit integers, optional.
pub fn big_integer_null(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).big_integer().null().take()
}

/// A column of bytes, required.
pub fn blob(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).blob().not_null().take()
}

/// A column of bytes, optional.
pub fn blob_null(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).blob().null().take()
}

/// A statement of SQL the same on both backends.
pub fn sql(backend: DatabaseBackend, text: &str) -> Statement {
    Statement::from_string(backend, text)
}
