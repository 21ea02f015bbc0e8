//! The ledger's tables: the log's leaves, its published heads and the members'
//! cosignatures.
//!
//! Leaves are appended in index order by one writer at a time (the app serialises appends),
//! each batch in one transaction, so the log in the database never has a gap and never
//! holds a leaf that was not acknowledged as part of a whole committed batch. A report is
//! stored once: (reporter, event key, acting state, sequence) is unique.

use sea_orm::{
    ActiveValue, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::{Error, Store, rows, to_i64};

/// Rows per INSERT statement: 14 columns each, well inside both databases' limits on bound
/// parameters.
const ROWS_PER_INSERT: usize = 256;

/// One leaf as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRecord {
    /// The leaf's index in the log.
    pub leaf_index: u64,
    /// The reporting state.
    pub reporter_state: String,
    /// The state that recorded and signed the event.
    pub acting_state: String,
    /// The event's node-made idempotency key.
    pub event_key: String,
    /// The event's number in its case.
    pub sequence: u64,
    /// The case reference.
    pub case_ref: String,
    /// The pair's first state.
    pub first_state: String,
    /// The pair's second state.
    pub second_state: String,
    /// The event kind's code.
    pub event_kind: String,
    /// When the event took effect (ms).
    pub occurred_at: i64,
    /// SHA-256 of the event's canonical bytes.
    pub event_digest: Vec<u8>,
    /// The leaf's RFC 6962 hash.
    pub leaf_hash: Vec<u8>,
    /// `accord.v1.LedgerLeaf`, canonical bytes.
    pub leaf: Vec<u8>,
    /// When the coordinator logged it (ms).
    pub accepted_at: i64,
}

/// A published tree head as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadRecord {
    /// The number of leaves.
    pub tree_size: u64,
    /// The root hash.
    pub root_hash: Vec<u8>,
    /// When the coordinator computed it (ms).
    pub timestamp: i64,
    /// The coordinator's key that signed it.
    pub signing_key_id: String,
    /// The coordinator's note signature.
    pub signature: Vec<u8>,
    /// The checkpoint as a signed note, without cosignatures.
    pub signed_note: String,
}

/// A member's cosignature of a head as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureRecord {
    /// The head's size.
    pub tree_size: u64,
    /// The cosigning state.
    pub state: String,
    /// Its key, as the directory lists it.
    pub signing_key_id: String,
    /// The cosignature's time, POSIX seconds.
    pub signed_at: u64,
    /// The Ed25519 signature.
    pub signature: Vec<u8>,
    /// When the coordinator recorded it (ms).
    pub recorded_at: i64,
}

/// An operator's resolution of a break as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolutionRecord {
    /// The break's id.
    pub break_id: String,
    /// The operator's name.
    pub operator: String,
    /// Why.
    pub reason: String,
    /// When (ms).
    pub resolved_at: i64,
}

impl Store {
    /// Every break resolution, oldest first.
    pub async fn resolutions(&self) -> Result<Vec<ResolutionRecord>, Error> {
        use rows::break_resolution::Column;
        let rows = rows::break_resolution::Entity::find()
            .order_by_asc(Column::ResolvedAt)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| ResolutionRecord {
                break_id: row.break_id,
                operator: row.operator,
                reason: row.reason,
                resolved_at: row.resolved_at,
            })
            .collect())
    }

    /// Appends `leaves` (the next indices, in order) in one transaction.
    pub async fn append_leaves(&self, leaves: Vec<LeafRecord>) -> Result<(), Error> {
        let transaction = self.db.begin().await?;
        let mut rows = leaves.into_iter().map(leaf_row).peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_INSERT).collect();
            rows::ledger_leaf::Entity::insert_many(chunk)
                .exec(&transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// The leaves `reporter` logged under any of `event_keys`.
    pub async fn reported(
        &self,
        reporter: &str,
        event_keys: Vec<String>,
    ) -> Result<Vec<LeafRecord>, Error> {
        use rows::ledger_leaf::Column;
        if event_keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = rows::ledger_leaf::Entity::find()
            .filter(Column::ReporterState.eq(reporter.to_owned()))
            .filter(Column::EventKey.is_in(event_keys))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(leaf_from_row).collect())
    }

    /// The leaves `start..end`, in index order.
    pub async fn leaves(&self, start: u64, end: u64) -> Result<Vec<LeafRecord>, Error> {
        use rows::ledger_leaf::Column;
        let rows = rows::ledger_leaf::Entity::find()
            .filter(Column::LeafIndex.gte(to_i64(start)))
            .filter(Column::LeafIndex.lt(to_i64(end)))
            .order_by_asc(Column::LeafIndex)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(leaf_from_row).collect())
    }

    /// The leaves of `case_ref` below `below`, in index order, at most `limit`.
    pub async fn case_leaves(
        &self,
        case_ref: &str,
        below: u64,
        limit: u64,
    ) -> Result<Vec<LeafRecord>, Error> {
        use rows::ledger_leaf::Column;
        let rows = rows::ledger_leaf::Entity::find()
            .filter(Column::CaseRef.eq(case_ref.to_owned()))
            .filter(Column::LeafIndex.lt(to_i64(below)))
            .order_by_asc(Column::LeafIndex)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(leaf_from_row).collect())
    }

    /// The first leaf in which `reporter` reported the event with `event_digest`.
    pub async fn leaf_by_digest(
        &self,
        reporter: &str,
        event_digest: &[u8],
    ) -> Result<Option<LeafRecord>, Error> {
        use rows::ledger_leaf::Column;
        let row = rows::ledger_leaf::Entity::find()
            .filter(Column::EventDigest.eq(event_digest.to_vec()))
            .filter(Column::ReporterState.eq(reporter.to_owned()))
            .order_by_asc(Column::LeafIndex)
            .one(&self.db)
            .await?;
        Ok(row.map(leaf_from_row))
    }

    /// Records a published head; a head of that size published before stays.
    pub async fn insert_head(&self, head: HeadRecord) -> Result<(), Error> {
        rows::ledger_head::Entity::insert(rows::ledger_head::ActiveModel {
            tree_size: ActiveValue::Set(to_i64(head.tree_size)),
            root_hash: ActiveValue::Set(head.root_hash),
            timestamp: ActiveValue::Set(head.timestamp),
            signing_key_id: ActiveValue::Set(head.signing_key_id),
            signature: ActiveValue::Set(head.signature),
            signed_note: ActiveValue::Set(head.signed_note),
        })
        .on_conflict_do_nothing()
        .exec(&self.db)
        .await?;
        Ok(())
    }

    /// The head published at `tree_size`, or the latest for `None`.
    pub async fn head(&self, tree_size: Option<u64>) -> Result<Option<HeadRecord>, Error> {
        use rows::ledger_head::{Column, Entity};
        let query = match tree_size {
            Some(size) => Entity::find().filter(Column::TreeSize.eq(to_i64(size))),
            None => Entity::find().order_by_desc(Column::TreeSize),
        };
        Ok(query.one(&self.db).await?.map(|row| HeadRecord {
            tree_size: u64::try_from(row.tree_size).unwrap_or(0),
            root_hash: row.root_hash,
            timestamp: row.timestamp,
            signing_key_id: row.signing_key_id,
            signature: row.signature,
            signed_note: row.signed_note,
        }))
    }

    /// The cosignatures of the head of `tree_size`, by state.
    pub async fn cosignatures(&self, tree_size: u64) -> Result<Vec<CosignatureRecord>, Error> {
        use rows::ledger_cosignature::Column;
        let rows = rows::ledger_cosignature::Entity::find()
            .filter(Column::TreeSize.eq(to_i64(tree_size)))
            .order_by_asc(Column::State)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| CosignatureRecord {
                tree_size: u64::try_from(row.tree_size).unwrap_or(0),
                state: row.state,
                signing_key_id: row.signing_key_id,
                signed_at: u64::try_from(row.signed_at).unwrap_or(0),
                signature: row.signature,
                recorded_at: row.recorded_at,
            })
            .collect())
    }
}

/// The cosignature's row: a state's later cosignature of one head replaces its earlier one.
pub(super) async fn write_cosignature(
    transaction: &sea_orm::DatabaseTransaction,
    record: CosignatureRecord,
) -> Result<(), Error> {
    use rows::ledger_cosignature::{ActiveModel, Column, Entity};
    Entity::insert(ActiveModel {
        tree_size: ActiveValue::Set(to_i64(record.tree_size)),
        state: ActiveValue::Set(record.state),
        signing_key_id: ActiveValue::Set(record.signing_key_id),
        signed_at: ActiveValue::Set(to_i64(record.signed_at)),
        signature: ActiveValue::Set(record.signature),
        recorded_at: ActiveValue::Set(record.recorded_at),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::columns([Column::TreeSize, Column::State])
            .update_columns([
                Column::SigningKeyId,
                Column::SignedAt,
                Column::Signature,
                Column::RecordedAt,
            ])
            .to_owned(),
    )
    .exec(transaction)
    .await?;
    Ok(())
}

/// The resolution's row; a break resolved before is a conflict (it is resolved once).
pub(super) async fn write_resolution(
    transaction: &sea_orm::DatabaseTransaction,
    record: ResolutionRecord,
) -> Result<(), Error> {
    use rows::break_resolution::{ActiveModel, Entity};
    let inserted = Entity::insert(ActiveModel {
        break_id: ActiveValue::Set(record.break_id),
        operator: ActiveValue::Set(record.operator),
        reason: ActiveValue::Set(record.reason),
        resolved_at: ActiveValue::Set(record.resolved_at),
    })
    .on_conflict_do_nothing()
    .exec(transaction)
    .await?;
    if matches!(inserted, sea_orm::TryInsertResult::Conflicted) {
        return Err(Error::Conflict);
    }
    Ok(())
}

fn leaf_row(record: LeafRecord) -> rows::ledger_leaf::ActiveModel {
    rows::ledger_leaf::ActiveModel {
        leaf_index: ActiveValue::Set(to_i64(record.leaf_index)),
        reporter_state: ActiveValue::Set(record.reporter_state),
        acting_state: ActiveValue::Set(record.acting_state),
        event_key: ActiveValue::Set(record.event_key),
        sequence: ActiveValue::Set(to_i64(record.sequence)),
        case_ref: ActiveValue::Set(record.case_ref),
        first_state: ActiveValue::Set(record.first_state),
        second_state: ActiveValue::Set(record.second_state),
        event_kind: ActiveValue::Set(record.event_kind),
        occurred_at: ActiveValue::Set(record.occurred_at),
        event_digest: ActiveValue::Set(record.event_digest),
        leaf_hash: ActiveValue::Set(record.leaf_hash),
        leaf: ActiveValue::Set(record.leaf),
        accepted_at: ActiveValue::Set(record.accepted_at),
    }
}

fn leaf_from_row(row: rows::ledger_leaf::Model) -> LeafRecord {
    LeafRecord {
        leaf_index: u64::try_from(row.leaf_index).unwrap_or(0),
        reporter_state: row.reporter_state,
        acting_state: row.acting_state,
        event_key: row.event_key,
        sequence: u64::try_from(row.sequence).unwrap_or(0),
        case_ref: row.case_ref,
        first_state: row.first_state,
        second_state: row.second_state,
        event_kind: row.event_kind,
        occurred_at: row.occurred_at,
        event_digest: row.event_digest,
        leaf_hash: row.leaf_hash,
        leaf: row.leaf,
        accepted_at: row.accepted_at,
    }
}
