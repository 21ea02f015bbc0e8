//! Admission allocations: the instructions of final settlement rounds that name this node's
//! state, as the settler records them (`crate::settlement`), and the rounds it has read.
//!
//! A round's allocations are written once, with the round marked read, in one transaction;
//! a round read again (after a restart) writes nothing new. Statements are SQL over the
//! tables of `m20261205_000011_admission_allocations`, the same on SQLite and PostgreSQL.

use sea_orm::{ConnectionTrait, FromQueryResult, TransactionTrait, Value};

use super::{Error, Store};

/// One allocation as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct AllocationRecord {
    /// The round whose report gave the instruction.
    pub round_id: String,
    /// The report's version.
    pub report_version: i64,
    /// The admitting state's code.
    pub admitting_state: String,
    /// The origin state's code.
    pub origin_state: String,
    /// How many people.
    pub people: i64,
    /// 1 for a redirected admission, else 0.
    pub redirected: i64,
    /// The deadline (ms), when the report gives one.
    pub perform_by: Option<i64>,
    /// The round's period: its first instant (ms).
    pub period_start: i64,
    /// The round's period: the first instant after it (ms).
    pub period_end: i64,
    /// When this node recorded it (ms).
    pub recorded_at: i64,
}

impl Store {
    /// Whether the final round `round_id` was read already.
    pub async fn allocation_round_read(&self, round_id: &str) -> Result<bool, Error> {
        #[derive(FromQueryResult)]
        struct Found {
            #[allow(dead_code)]
            round_id: String,
        }
        let [at] = <[String; 1]>::try_from(self.placeholders(1)).unwrap_or_default();
        let sql = format!("SELECT round_id FROM allocation_round WHERE round_id = {at}");
        let statement = self.statement(sql, vec![round_id.into()]);
        Ok(Found::find_by_statement(statement)
            .one(&self.db)
            .await?
            .is_some())
    }

    /// Records the final round `round_id` as read, with its allocations, in one transaction;
    /// what was recorded before stays as it was.
    pub async fn record_allocations(
        &self,
        round_id: &str,
        read_at: i64,
        allocations: &[AllocationRecord],
    ) -> Result<(), Error> {
        let transaction = self.db.begin().await?;
        let places = self.placeholders(10);
        let sql = format!(
            "INSERT INTO allocation (round_id, report_version, admitting_state, origin_state, \
             people, redirected, perform_by, period_start, period_end, recorded_at) \
             VALUES ({}) ON CONFLICT DO NOTHING",
            places.join(", ")
        );
        for record in allocations {
            let values: Vec<Value> = vec![
                record.round_id.clone().into(),
                record.report_version.into(),
                record.admitting_state.clone().into(),
                record.origin_state.clone().into(),
                record.people.into(),
                record.redirected.into(),
                record.perform_by.into(),
                record.period_start.into(),
                record.period_end.into(),
                record.recorded_at.into(),
            ];
            transaction
                .execute_raw(self.statement(sql.clone(), values))
                .await?;
        }
        let [id, at] = <[String; 2]>::try_from(self.placeholders(2)).unwrap_or_default();
        let sql = format!(
            "INSERT INTO allocation_round (round_id, read_at) VALUES ({id}, {at}) \
             ON CONFLICT DO NOTHING"
        );
        transaction
            .execute_raw(self.statement(sql, vec![round_id.into(), read_at.into()]))
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Every allocation, or `round_id`'s only: newest period first, then by round and pair.
    pub async fn allocations(
        &self,
        round_id: Option<&str>,
    ) -> Result<Vec<AllocationRecord>, Error> {
        let columns = "round_id, report_version, admitting_state, origin_state, people, \
                       redirected, perform_by, period_start, period_end, recorded_at";
        let order = "ORDER BY period_end DESC, round_id DESC, admitting_state, origin_state";
        let statement = match round_id {
            Some(round_id) => {
                let [at] = <[String; 1]>::try_from(self.placeholders(1)).unwrap_or_default();
                let sql = format!("SELECT {columns} FROM allocation WHERE round_id = {at} {order}");
                self.statement(sql, vec![round_id.into()])
            }
            None => self.statement(format!("SELECT {columns} FROM allocation {order}"), vec![]),
        };
        Ok(AllocationRecord::find_by_statement(statement)
            .all(&self.db)
            .await?)
    }
}
