//! The audit log's record and its flood guard, as every Accord server keeps them: a row per
//! audited call (each server's own store writes it), and at most a configured number of
//! refusals per caller and minute, with one summary row for what was dropped.
//!
//! A refused call is audited so an operator can find it; a caller refused in a loop must
//! not turn that into unbounded writes (each row is a commit) or bury every other row. The
//! guard ([`Cap`]) counts per caller (the row's `peer`) within each minute of the server's
//! clock (the row's `at`); past the cap it drops the row and counts it. When the minute is
//! over — at the next audited refusal, or when the server flushes — one summary row
//! ([`CAP_REACHED`]) says how many were dropped. So a flood writes at most cap + 1 rows per
//! caller and minute. The guard keeps no state in the database; a restart forgets the
//! counts of the current minute (and the summary of its drops, which the server's log has).
//! It guards refusals only: what a server does on an operator's behalf is audited whole.
//!
//! The table, `audit_log`, is the same in every server's schema (each server's migrations
//! create it): [`row`] is its sea-orm entity, and [`insert`] and [`oldest_first`] its only
//! writes and reads, used by each server's store module and nowhere else.

use std::collections::HashMap;
use std::sync::Mutex;

use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect};

/// One audited call: who, what, when and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When (ms, the server's clock).
    pub at: i64,
    /// Who: the caller as its certificate showed it, or `unauthenticated@ADDRESS`.
    pub peer: String,
    /// The RPC's full name.
    pub operation: String,
    /// `OK`, or the refusal's status or reason.
    pub outcome: String,
    /// What was done or refused and why, in a sentence, without secrets.
    pub detail: String,
}

/// The `audit_log` table's row.
pub mod row {
    use sea_orm::entity::prelude::*;

    /// One audited call, as stored.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        /// Order of recording.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// [`Record::at`](super::Record::at).
        pub at: i64,
        /// [`Record::peer`](super::Record::peer).
        pub peer: String,
        /// [`Record::operation`](super::Record::operation).
        pub operation: String,
        /// [`Record::outcome`](super::Record::outcome).
        pub outcome: String,
        /// [`Record::detail`](super::Record::detail).
        pub detail: String,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Writes `records` in order, in `connection`'s transaction if it is one.
pub async fn insert(
    connection: &impl ConnectionTrait,
    records: impl IntoIterator<Item = Record>,
) -> Result<(), DbErr> {
    let rows: Vec<row::ActiveModel> = records
        .into_iter()
        .map(|record| row::ActiveModel {
            id: NotSet,
            at: Set(record.at),
            peer: Set(record.peer),
            operation: Set(record.operation),
            outcome: Set(record.outcome),
            detail: Set(record.detail),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    row::Entity::insert_many(rows)
        .exec_without_returning(connection)
        .await?;
    Ok(())
}

/// The rows, oldest first, the first `limit` of them or all (for operators and tests).
pub async fn oldest_first(
    connection: &impl ConnectionTrait,
    limit: Option<u64>,
) -> Result<Vec<Record>, DbErr> {
    let rows = row::Entity::find()
        .order_by_asc(row::Column::Id)
        .limit(limit)
        .all(connection)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Record {
            at: row.at,
            peer: row.peer,
            operation: row.operation,
            outcome: row.outcome,
            detail: row.detail,
        })
        .collect())
}

/// Refusals audited per caller and minute unless configured otherwise (the node's
/// `limits.audit_rows_per_caller_per_minute`).
pub const ROWS_PER_CALLER_PER_MINUTE_DEFAULT: u32 = 60;

/// The outcome of a summary row.
pub const CAP_REACHED: &str = "AUDIT_CAP_REACHED";

/// One minute, in milliseconds.
const MINUTE_MS: i64 = 60_000;

/// Most callers counted at once: a flood from ever new callers (unauthenticated addresses)
/// cannot grow the table past this; when full, new callers share one window.
const CALLERS_MAX: usize = 4_096;

/// The caller new callers share while the table is full.
const OVERFLOW_CALLER: &str = "(other callers)";

#[derive(Debug, Clone, Copy)]
struct Window {
    minute: i64,
    written: u32,
    dropped: u64,
}

/// Counts audited refusals per caller and minute.
#[derive(Debug)]
pub struct Cap {
    per_minute: u32,
    windows: Mutex<HashMap<String, Window>>,
}

/// What to write for one audited refusal.
#[derive(Debug, Default)]
pub struct Admission {
    /// The summary of the caller's previous minute, if it dropped rows.
    pub summary: Option<Record>,
    /// Whether the refusal's own row is written.
    pub write: bool,
}

impl Cap {
    /// A guard of `per_minute` rows per caller and minute.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts `record` against its caller's minute.
    pub fn admit(&self, record: &Record) -> Admission {
        let minute = record.at.div_euclid(MINUTE_MS);
        // A poisoned lock only loses counts: write the row.
        let Ok(mut windows) = self.windows.lock() else {
            return Admission {
                summary: None,
                write: true,
            };
        };
        let mut admission = Admission::default();
        if !windows.contains_key(&record.peer) && windows.len() >= CALLERS_MAX {
            windows.retain(|_, window| window.minute >= minute && window.dropped == 0);
        }
        let caller = if windows.contains_key(&record.peer) || windows.len() < CALLERS_MAX {
            record.peer.as_str()
        } else {
            OVERFLOW_CALLER
        };
        let window = windows.entry(caller.to_owned()).or_insert(Window {
            minute,
            written: 0,
            dropped: 0,
        });
        if window.minute != minute {
            admission.summary = summary(caller, window, self.per_minute);
            *window = Window {
                minute,
                written: 0,
                dropped: 0,
            };
        }
        if window.written < self.per_minute {
            window.written += 1;
            admission.write = true;
        } else {
            window.dropped = window.dropped.saturating_add(1);
        }
        admission
    }

    /// The summaries of every minute before `now_ms`'s that dropped rows; those windows are
    /// forgotten.
    pub fn flush(&self, now_ms: i64) -> Vec<Record> {
        let minute = now_ms.div_euclid(MINUTE_MS);
        let Ok(mut windows) = self.windows.lock() else {
            return Vec::new();
        };
        let mut summaries = Vec::new();
        windows.retain(|caller, window| {
            if window.minute >= minute {
                return true;
            }
            summaries.extend(summary(caller, window, self.per_minute));
            false
        });
        summaries
    }
}

/// The row that says how many of `caller`'s refusals `window` dropped, if any.
fn summary(caller: &str, window: &Window, per_minute: u32) -> Option<Record> {
    (window.dropped > 0).then(|| Record {
        at: (window.minute + 1) * MINUTE_MS - 1,
        peer: caller.to_owned(),
        operation: "(audit log)".to_owned(),
        outcome: CAP_REACHED.to_owned(),
        detail: format!(
            "{} more refused calls in the minute from {} ms were not recorded: the audit log keeps at most {per_minute} per caller and minute",
            window.dropped,
            window.minute * MINUTE_MS
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(peer: &str, at: i64) -> Record {
        Record {
            at,
            peer: peer.to_owned(),
            operation: "op".to_owned(),
            outcome: "PERMISSION_DENIED".to_owned(),
            detail: String::new(),
        }
    }

    #[test]
    fn past_the_cap_rows_are_counted_and_summarised_once_the_minute_is_over() {
        let cap = Cap::new(2);
        let written: Vec<bool> = (0..5)
            .map(|index| cap.admit(&refusal("a", 1_000 + index)).write)
            .collect();
        assert_eq!(written, [true, true, false, false, false]);
        assert!(cap.admit(&refusal("b", 1_000)).write, "callers count apart");
        assert!(cap.flush(59_999).is_empty(), "the minute is not over");
        let next = cap.admit(&refusal("a", 60_000));
        assert!(next.write);
        let summary = next.summary.unwrap();
        assert_eq!(summary.outcome, CAP_REACHED);
        assert!(summary.detail.starts_with("3 more"), "{}", summary.detail);
        assert!(
            cap.flush(120_000).is_empty(),
            "b dropped nothing, a's minute is summarised"
        );
    }

    #[test]
    fn a_flush_summarises_a_caller_that_went_quiet() {
        let cap = Cap::new(1);
        cap.admit(&refusal("a", 0));
        cap.admit(&refusal("a", 1));
        let summaries = cap.flush(60_000);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].at, 59_999);
    }
}
