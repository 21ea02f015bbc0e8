//! Quotas, consents and settlement rounds as stored: capacities per state and period,
//! candidate counts per pair, each state's consent to redirected admissions, and rounds with
//! their latest signed report (protobuf bytes, as the coordinator signed it), the states'
//! countersignatures per report version, and disputes.
//!
//! A round changes only from the status it was read in (`RoundWrite::Update` names it), so
//! two operators racing to close or propose one round cannot both succeed.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, FromQueryResult, Statement, Value};

use super::{Error, Store};

/// One state's consent on one ordered pair.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ConsentRecord {
    /// The admitting state.
    pub admitting_state: String,
    /// The origin state.
    pub origin_state: String,
    /// The consenting state, one of the pair.
    pub consenting_state: String,
    /// 1 while it consents, 0 once withdrawn.
    pub consented: i32,
    /// When it last changed (ms).
    pub updated_at: i64,
}

/// A state's capacity for a period.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct CapacityRecord {
    /// The admitting state.
    pub state: String,
    /// The period's first instant (ms).
    pub period_start: i64,
    /// The first instant after it (ms).
    pub period_end: i64,
    /// How many people.
    pub capacity: i64,
    /// When it was set (ms).
    pub updated_at: i64,
}

/// A state's candidates ready from one origin.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct CandidateRecord {
    /// The admitting state.
    pub state: String,
    /// The origin state.
    pub origin_state: String,
    /// How many.
    pub count: i64,
    /// When the node counted (ms).
    pub counted_at: i64,
}

/// A settlement round as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct RoundRecord {
    /// Its id.
    pub round_id: String,
    /// The period's first instant (ms).
    pub period_start: i64,
    /// The first instant after it (ms).
    pub period_end: i64,
    /// The netting mode's code.
    pub mode: String,
    /// The status's code.
    pub status: String,
    /// The participating states, comma-separated.
    pub participating: String,
    /// The redirect pairs, `A>O` comma-separated.
    pub redirect_pairs: String,
    /// When it opened (ms).
    pub opened_at: i64,
    /// When it was cut off (ms).
    pub cut_off_at: Option<i64>,
    /// The log's size at the cut-off.
    pub tree_size: Option<i64>,
    /// The latest report's version (0 before the first proposal).
    pub version: i32,
    /// The latest `SignedSettlementReport`, without countersignatures.
    pub report: Option<Vec<u8>>,
    /// When it became final (ms).
    pub finalised_at: Option<i64>,
}

/// A state's countersignature of one version of a round's report.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct CountersignatureRecord {
    /// The round.
    pub round_id: String,
    /// The report's version.
    pub version: i32,
    /// The state.
    pub state: String,
    /// `accord.v1.StateSignature`, protobuf bytes.
    pub signature: Vec<u8>,
    /// When it was recorded (ms).
    pub recorded_at: i64,
}

/// A state's signed dispute of a round.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct DisputeRecord {
    /// The round.
    pub round_id: String,
    /// `accord.v1.SignedRoundDispute`, protobuf bytes.
    pub dispute: Vec<u8>,
    /// When it was recorded (ms).
    pub recorded_at: i64,
}

/// How a change writes a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundWrite {
    /// A new round (its id must be new).
    Insert(RoundRecord),
    /// The round's new state, if it is still in `from_status`.
    Update {
        /// The status it was read in.
        from_status: String,
        /// Its new state.
        round: RoundRecord,
    },
}

/// What one settlement request writes, within the change's transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettlementWrite {
    /// A consent given or withdrawn.
    pub consent: Option<ConsentRecord>,
    /// A capacity set.
    pub capacity: Option<CapacityRecord>,
    /// A state's candidate counts, replacing all of its earlier ones: (state, counts).
    pub candidates: Option<(String, Vec<CandidateRecord>)>,
    /// A round opened or changed.
    pub round: Option<RoundWrite>,
    /// A countersignature.
    pub countersignature: Option<CountersignatureRecord>,
    /// A dispute.
    pub dispute: Option<DisputeRecord>,
}

/// `count` bound-parameter placeholders as `backend` writes them (`$1`, … or `?`).
fn placeholders(backend: DbBackend, count: usize) -> Vec<String> {
    (1..=count)
        .map(|index| match backend {
            DbBackend::Postgres => format!("${index}"),
            _ => "?".to_owned(),
        })
        .collect()
}

fn statement(backend: DbBackend, sql: String, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql, values)
}

/// Runs `sql` within `transaction` with `values` bound; answers how many rows it changed.
async fn execute(
    transaction: &DatabaseTransaction,
    sql: String,
    values: Vec<Value>,
) -> Result<u64, Error> {
    let backend = transaction.get_database_backend();
    let result = transaction
        .execute_raw(statement(backend, sql, values))
        .await?;
    Ok(result.rows_affected())
}

/// A row's placeholders in `transaction`'s dialect, comma-separated.
fn row_placeholders(transaction: &DatabaseTransaction, count: usize) -> String {
    placeholders(transaction.get_database_backend(), count).join(", ")
}

impl Store {
    /// Every consent, ordered by pair and consenting state.
    pub async fn consents(&self) -> Result<Vec<ConsentRecord>, Error> {
        let sql = "SELECT admitting_state, origin_state, consenting_state, consented, updated_at \
                   FROM redirect_consent \
                   ORDER BY admitting_state, origin_state, consenting_state"
            .to_owned();
        self.settlement_rows(sql, Vec::new()).await
    }

    /// Every capacity, newest period first.
    pub async fn capacities(&self) -> Result<Vec<CapacityRecord>, Error> {
        let sql = "SELECT state, period_start, period_end, capacity, updated_at FROM capacity \
                   ORDER BY period_start DESC, state"
            .to_owned();
        self.settlement_rows(sql, Vec::new()).await
    }

    /// Every state's latest candidate counts.
    pub async fn candidates(&self) -> Result<Vec<CandidateRecord>, Error> {
        let sql = "SELECT state, origin_state, count, counted_at FROM candidate_count \
                   ORDER BY state, origin_state"
            .to_owned();
        self.settlement_rows(sql, Vec::new()).await
    }

    /// Every round, newest period first.
    pub async fn rounds(&self) -> Result<Vec<RoundRecord>, Error> {
        let sql = format!(
            "SELECT {ROUND_COLUMNS} FROM settlement_round ORDER BY period_start DESC, round_id DESC"
        );
        self.settlement_rows(sql, Vec::new()).await
    }

    /// The round `round_id`.
    pub async fn round(&self, round_id: &str) -> Result<Option<RoundRecord>, Error> {
        let backend = self.db.get_database_backend();
        let [id] = <[String; 1]>::try_from(placeholders(backend, 1)).unwrap_or_default();
        let sql = format!("SELECT {ROUND_COLUMNS} FROM settlement_round WHERE round_id = {id}");
        Ok(
            RoundRecord::find_by_statement(statement(backend, sql, vec![round_id.into()]))
                .one(&self.db)
                .await?,
        )
    }

    /// The countersignatures of `round_id`'s report `version`, by state.
    pub async fn countersignatures(
        &self,
        round_id: &str,
        version: i32,
    ) -> Result<Vec<CountersignatureRecord>, Error> {
        let backend = self.db.get_database_backend();
        let [id, number] = <[String; 2]>::try_from(placeholders(backend, 2)).unwrap_or_default();
        let sql = format!(
            "SELECT round_id, version, state, signature, recorded_at FROM round_countersignature \
             WHERE round_id = {id} AND version = {number} ORDER BY state"
        );
        self.settlement_rows(sql, vec![round_id.into(), version.into()])
            .await
    }

    /// The disputes of `round_id`, oldest first.
    pub async fn disputes(&self, round_id: &str) -> Result<Vec<DisputeRecord>, Error> {
        let backend = self.db.get_database_backend();
        let [id] = <[String; 1]>::try_from(placeholders(backend, 1)).unwrap_or_default();
        let sql = format!(
            "SELECT round_id, dispute, recorded_at FROM round_dispute WHERE round_id = {id} \
             ORDER BY id"
        );
        self.settlement_rows(sql, vec![round_id.into()]).await
    }

    /// The rows `sql` selects with `values` bound, as `R`.
    async fn settlement_rows<R: FromQueryResult>(
        &self,
        sql: String,
        values: Vec<Value>,
    ) -> Result<Vec<R>, Error> {
        let backend = self.db.get_database_backend();
        Ok(R::find_by_statement(statement(backend, sql, values))
            .all(&self.db)
            .await?)
    }
}

const ROUND_COLUMNS: &str = "round_id, period_start, period_end, mode, status, participating, \
                             redirect_pairs, opened_at, cut_off_at, tree_size, version, report, \
                             finalised_at";

/// Writes `write` within `transaction`.
pub(super) async fn write(
    transaction: &DatabaseTransaction,
    write: SettlementWrite,
) -> Result<(), Error> {
    if let Some(consent) = write.consent {
        write_consent(transaction, consent).await?;
    }
    if let Some(capacity) = write.capacity {
        write_capacity(transaction, capacity).await?;
    }
    if let Some((state, counts)) = write.candidates {
        write_candidates(transaction, state, counts).await?;
    }
    match write.round {
        Some(RoundWrite::Insert(round)) => insert_round(transaction, round).await?,
        Some(RoundWrite::Update { from_status, round }) => {
            update_round(transaction, &from_status, round).await?;
        }
        None => {}
    }
    if let Some(signature) = write.countersignature {
        write_countersignature(transaction, signature).await?;
    }
    if let Some(dispute) = write.dispute {
        let p = row_placeholders(transaction, 3);
        let sql =
            format!("INSERT INTO round_dispute (round_id, dispute, recorded_at) VALUES ({p})");
        let values = vec![
            dispute.round_id.into(),
            dispute.dispute.into(),
            dispute.recorded_at.into(),
        ];
        execute(transaction, sql, values).await?;
    }
    Ok(())
}

async fn write_consent(
    transaction: &DatabaseTransaction,
    consent: ConsentRecord,
) -> Result<(), Error> {
    let p = row_placeholders(transaction, 5);
    let sql = format!(
        "INSERT INTO redirect_consent (admitting_state, origin_state, consenting_state, \
         consented, updated_at) VALUES ({p}) \
         ON CONFLICT (admitting_state, origin_state, consenting_state) DO UPDATE SET \
         consented = excluded.consented, updated_at = excluded.updated_at"
    );
    let values = vec![
        consent.admitting_state.into(),
        consent.origin_state.into(),
        consent.consenting_state.into(),
        consent.consented.into(),
        consent.updated_at.into(),
    ];
    execute(transaction, sql, values).await?;
    Ok(())
}

async fn write_capacity(
    transaction: &DatabaseTransaction,
    capacity: CapacityRecord,
) -> Result<(), Error> {
    let p = row_placeholders(transaction, 5);
    let sql = format!(
        "INSERT INTO capacity (state, period_start, period_end, capacity, updated_at) \
         VALUES ({p}) ON CONFLICT (state, period_start) DO UPDATE SET \
         period_end = excluded.period_end, capacity = excluded.capacity, \
         updated_at = excluded.updated_at"
    );
    let values = vec![
        capacity.state.into(),
        capacity.period_start.into(),
        capacity.period_end.into(),
        capacity.capacity.into(),
        capacity.updated_at.into(),
    ];
    execute(transaction, sql, values).await?;
    Ok(())
}

async fn write_candidates(
    transaction: &DatabaseTransaction,
    state: String,
    counts: Vec<CandidateRecord>,
) -> Result<(), Error> {
    let only = row_placeholders(transaction, 1);
    let sql = format!("DELETE FROM candidate_count WHERE state = {only}");
    execute(transaction, sql, vec![state.into()]).await?;
    for count in counts {
        let p = row_placeholders(transaction, 4);
        let sql = format!(
            "INSERT INTO candidate_count (state, origin_state, count, counted_at) \
             VALUES ({p})"
        );
        let values = vec![
            count.state.into(),
            count.origin_state.into(),
            count.count.into(),
            count.counted_at.into(),
        ];
        execute(transaction, sql, values).await?;
    }
    Ok(())
}

async fn write_countersignature(
    transaction: &DatabaseTransaction,
    signature: CountersignatureRecord,
) -> Result<(), Error> {
    let p = row_placeholders(transaction, 5);
    let sql = format!(
        "INSERT INTO round_countersignature (round_id, version, state, signature, \
         recorded_at) VALUES ({p}) \
         ON CONFLICT (round_id, version, state) DO NOTHING"
    );
    let values = vec![
        signature.round_id.into(),
        signature.version.into(),
        signature.state.into(),
        signature.signature.into(),
        signature.recorded_at.into(),
    ];
    execute(transaction, sql, values).await?;
    Ok(())
}

fn round_values(round: RoundRecord) -> Vec<Value> {
    vec![
        round.round_id.into(),
        round.period_start.into(),
        round.period_end.into(),
        round.mode.into(),
        round.status.into(),
        round.participating.into(),
        round.redirect_pairs.into(),
        round.opened_at.into(),
        round.cut_off_at.into(),
        round.tree_size.into(),
        round.version.into(),
        round.report.into(),
        round.finalised_at.into(),
    ]
}

async fn insert_round(transaction: &DatabaseTransaction, round: RoundRecord) -> Result<(), Error> {
    let p = row_placeholders(transaction, 13);
    let sql = format!(
        "INSERT INTO settlement_round ({ROUND_COLUMNS}) VALUES ({p}) \
         ON CONFLICT (round_id) DO NOTHING"
    );
    if execute(transaction, sql, round_values(round)).await? != 1 {
        return Err(Error::Conflict);
    }
    Ok(())
}

async fn update_round(
    transaction: &DatabaseTransaction,
    from_status: &str,
    round: RoundRecord,
) -> Result<(), Error> {
    let backend = transaction.get_database_backend();
    let p = placeholders(backend, 10);
    let sql = format!(
        "UPDATE settlement_round SET status = {}, cut_off_at = {}, tree_size = {}, version = {}, \
         report = {}, finalised_at = {}, participating = {} \
         WHERE round_id = {} AND status = {} AND opened_at = {}",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]
    );
    let values = vec![
        round.status.into(),
        round.cut_off_at.into(),
        round.tree_size.into(),
        round.version.into(),
        round.report.into(),
        round.finalised_at.into(),
        round.participating.into(),
        round.round_id.into(),
        from_status.into(),
        round.opened_at.into(),
    ];
    if execute(transaction, sql, values).await? != 1 {
        return Err(Error::Conflict);
    }
    Ok(())
}
