//! The node's side of the coordinator's ledger: which events are still to report, the leaf
//! each reported one became (or why the coordinator refused it), and the last tree head this
//! node cosigned as a witness.
//!
//! An event's row is its own place in the reporter's queue (`reported_leaf` and
//! `report_refused` both empty, indexed), so an event is queued in the very transaction that
//! records it and cannot be lost between the two. Statements are written in SQL over the
//! columns the ledger added (`m20261205_000010_ledger_reporting`); the event rows' other
//! columns stay the writer's.

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};

use super::{Error, Store};

/// An event still to report: its case, number and signed bytes.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct UnreportedEvent {
    /// The case.
    pub case_ref: String,
    /// The event's number.
    pub sequence: i64,
    /// The signed event, as stored.
    pub envelope: Vec<u8>,
}

/// An event the coordinator logged, with its leaf.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ReportedEvent {
    /// The leaf's index.
    pub reported_leaf: i64,
    /// The case.
    pub case_ref: String,
    /// The event's number.
    pub sequence: i64,
    /// The signed event, as stored.
    pub envelope: Vec<u8>,
}

/// The coordinator's answer for one reported event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportAnswer {
    /// The case.
    pub case_ref: String,
    /// The event's number.
    pub sequence: u64,
    /// What the coordinator did.
    pub outcome: ReportOutcome,
}

/// What the coordinator did with a reported event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// Logged (now or before) as this leaf.
    Logged(u64),
    /// Refused, for this reason; it leaves the queue.
    Refused(String),
}

/// The last tree head this node checked and cosigned.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct WitnessedHead {
    /// The number of leaves.
    pub tree_size: i64,
    /// The root hash.
    pub root_hash: Vec<u8>,
    /// The signed checkpoint as received.
    pub checkpoint: String,
    /// When this node cosigned it (ms).
    pub cosigned_at: i64,
}

impl Store {
    pub(super) fn placeholders(&self, count: usize) -> Vec<String> {
        let postgres = self.db.get_database_backend() == DbBackend::Postgres;
        (1..=count)
            .map(|index| {
                if postgres {
                    format!("${index}")
                } else {
                    "?".to_owned()
                }
            })
            .collect()
    }

    pub(super) fn statement(&self, sql: String, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.db.get_database_backend(), sql, values)
    }

    /// Up to `limit` events not reported yet, by case and number.
    pub async fn unreported_events(&self, limit: u64) -> Result<Vec<UnreportedEvent>, Error> {
        let [limit_at] = <[String; 1]>::try_from(self.placeholders(1)).unwrap_or_default();
        let sql = format!(
            "SELECT case_ref, sequence, envelope FROM case_event \
             WHERE reported_leaf IS NULL AND report_refused IS NULL \
             ORDER BY case_ref, sequence LIMIT {limit_at}"
        );
        let statement = self.statement(sql, vec![super::writer::to_i64(limit).into()]);
        Ok(UnreportedEvent::find_by_statement(statement)
            .all(&self.db)
            .await?)
    }

    /// Records the coordinator's answers for a batch in one transaction: each event the log
    /// holds with its leaf, each refused one with the reason.
    pub async fn record_report_answers(&self, answers: &[ReportAnswer]) -> Result<(), Error> {
        use sea_orm::TransactionTrait;
        let [value, case, number] =
            <[String; 3]>::try_from(self.placeholders(3)).unwrap_or_default();
        let transaction = self.db.begin().await?;
        for answer in answers {
            let (column, value_of) = match &answer.outcome {
                ReportOutcome::Logged(leaf) => {
                    ("reported_leaf", Value::from(super::writer::to_i64(*leaf)))
                }
                ReportOutcome::Refused(why) => ("report_refused", Value::from(why.clone())),
            };
            let sql = format!(
                "UPDATE case_event SET {column} = {value} WHERE case_ref = {case} AND sequence = {number}"
            );
            let values = vec![
                value_of,
                answer.case_ref.clone().into(),
                super::writer::to_i64(answer.sequence).into(),
            ];
            transaction.execute_raw(self.statement(sql, values)).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Up to `limit` events this node reported whose leaves are below `tree_size` and whose
    /// inclusion it has not proved yet, by leaf.
    pub async fn unproved_reports(
        &self,
        tree_size: u64,
        limit: u64,
    ) -> Result<Vec<ReportedEvent>, Error> {
        let [below, count] = <[String; 2]>::try_from(self.placeholders(2)).unwrap_or_default();
        let sql = format!(
            "SELECT reported_leaf, case_ref, sequence, envelope FROM case_event \
             WHERE reported_leaf IS NOT NULL AND included_in IS NULL AND reported_leaf < {below} \
             ORDER BY reported_leaf LIMIT {count}"
        );
        let values = vec![
            super::writer::to_i64(tree_size).into(),
            super::writer::to_i64(limit).into(),
        ];
        Ok(
            ReportedEvent::find_by_statement(self.statement(sql, values))
                .all(&self.db)
                .await?,
        )
    }

    /// Records that the leaves `leaves` were proved included in the head of `tree_size`.
    pub async fn mark_included(&self, leaves: &[u64], tree_size: u64) -> Result<(), Error> {
        if leaves.is_empty() {
            return Ok(());
        }
        let places = self.placeholders(leaves.len() + 1);
        let sql = format!(
            "UPDATE case_event SET included_in = {} WHERE reported_leaf IN ({})",
            places[0],
            places[1..].join(", ")
        );
        let mut values: Vec<Value> = vec![super::writer::to_i64(tree_size).into()];
        values.extend(
            leaves
                .iter()
                .map(|&leaf| Value::from(super::writer::to_i64(leaf))),
        );
        self.db.execute_raw(self.statement(sql, values)).await?;
        Ok(())
    }

    /// The events the coordinator refused to log, as (case, number, why).
    pub async fn refused_reports(&self) -> Result<Vec<(String, i64, String)>, Error> {
        #[derive(FromQueryResult)]
        struct Refused {
            case_ref: String,
            sequence: i64,
            report_refused: String,
        }
        let sql = "SELECT case_ref, sequence, report_refused FROM case_event \
                   WHERE report_refused IS NOT NULL ORDER BY case_ref, sequence"
            .to_owned();
        let rows = Refused::find_by_statement(self.statement(sql, Vec::new()))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.case_ref, row.sequence, row.report_refused))
            .collect())
    }

    /// The last head this node cosigned, if any.
    pub async fn witnessed_head(&self) -> Result<Option<WitnessedHead>, Error> {
        let sql = "SELECT tree_size, root_hash, checkpoint, cosigned_at FROM witness_head \
                   WHERE slot = 1"
            .to_owned();
        Ok(
            WitnessedHead::find_by_statement(self.statement(sql, Vec::new()))
                .one(&self.db)
                .await?,
        )
    }

    /// Keeps `head` as the last head this node cosigned.
    pub async fn save_witnessed_head(&self, head: &WitnessedHead) -> Result<(), Error> {
        let [size, root, checkpoint, at] =
            <[String; 4]>::try_from(self.placeholders(4)).unwrap_or_default();
        let sql = format!(
            "INSERT INTO witness_head (slot, tree_size, root_hash, checkpoint, cosigned_at) \
             VALUES (1, {size}, {root}, {checkpoint}, {at}) \
             ON CONFLICT (slot) DO UPDATE SET tree_size = excluded.tree_size, \
             root_hash = excluded.root_hash, checkpoint = excluded.checkpoint, \
             cosigned_at = excluded.cosigned_at"
        );
        let values = vec![
            head.tree_size.into(),
            head.root_hash.clone().into(),
            head.checkpoint.clone().into(),
            head.cosigned_at.into(),
        ];
        self.db.execute_raw(self.statement(sql, values)).await?;
        Ok(())
    }
}
