//! Proofs and leaves, for published heads only: inclusion proofs (one leaf, or several for a
//! witness's own events), consistency proofs between two published sizes, and leaf ranges
//! from which an auditor rebuilds the tree, and one case's leaves as of a checkpoint signed
//! at the time asked (the log's clock for acceptance by default: `case_leaves`).
//!
//! Proofs come from the in-memory tree, which holds every leaf of every published head.
//! A member sees the leaves of its own pairs only; for the others a range gives the hash
//! alone, and an inclusion proof is NOT_FOUND, as if the leaf did not exist.

use accord_domain::CaseRef;
use accord_trust::log::{ConsistencyProof, Hash, consistency_proof, inclusion_proofs};

use super::{Ledger, Reader};
use crate::app::Error;
use crate::convert::ledger::{Inclusion, LeafEntry, LeafQuery, SignedHead};
use crate::store::LeafRecord;

/// The most leaves a range or a batch of proofs may ask for.
pub const LEAVES_PER_CALL_MAX: u64 = 1_000;

/// The most leaves one batch of inclusion proofs may name.
pub const PROOFS_PER_CALL_MAX: usize = 512;

impl Ledger {
    /// The proof that the leaf `query` names is in the published head of `tree_size` (the
    /// latest for `None`), with that head.
    pub async fn inclusion(
        &self,
        reader: Reader,
        query: LeafQuery,
        tree_size: Option<u64>,
    ) -> Result<(Inclusion, SignedHead), Error> {
        let head = self.signed_head(tree_size).await?;
        let record = match query {
            LeafQuery::Index(index) => {
                if index >= head.tree_size {
                    return Err(Error::invalid(
                        "leaf_index",
                        format!("must be below the tree size {}", head.tree_size),
                    ));
                }
                self.store().leaves(index, index + 1).await?.pop()
            }
            LeafQuery::Digest { digest, reporter } => {
                let reporter = match (reporter, reader) {
                    (Some(state), _) | (None, Reader::Member(state)) => state,
                    (None, Reader::Operator) => {
                        return Err(Error::invalid(
                            "reporter_state",
                            "is required for an operator asking by event digest",
                        ));
                    }
                };
                self.store()
                    .leaf_by_digest(reporter.as_str(), &digest)
                    .await?
                    .filter(|record| record.leaf_index < head.tree_size)
            }
        };
        let record = record
            .filter(|record| reader.sees(&record.first_state, &record.second_state))
            .ok_or_else(|| Error::NotFound("a leaf".to_owned()))?;
        let mut proofs = self.proofs(&[record.leaf_index], head.tree_size)?;
        let proof = proofs
            .pop()
            .ok_or_else(|| Error::NotFound("a leaf".to_owned()))?;
        Ok((
            Inclusion {
                proof,
                leaf: record.leaf,
            },
            head,
        ))
    }

    /// The proofs that the leaves `indices` are in the published head of `tree_size` (the
    /// latest for `None`), with that head.
    pub async fn inclusions(
        &self,
        reader: Reader,
        indices: &[u64],
        tree_size: Option<u64>,
    ) -> Result<(Vec<Inclusion>, SignedHead), Error> {
        if indices.is_empty() || indices.len() > PROOFS_PER_CALL_MAX {
            return Err(Error::invalid(
                "leaf_indices",
                format!("must name 1 to {PROOFS_PER_CALL_MAX} leaves"),
            ));
        }
        let head = self.signed_head(tree_size).await?;
        if let Some(index) = indices.iter().find(|&&index| index >= head.tree_size) {
            return Err(Error::invalid(
                "leaf_indices",
                format!("{index} is not below the tree size {}", head.tree_size),
            ));
        }
        let mut records = Vec::with_capacity(indices.len());
        for &index in indices {
            let record = self
                .store()
                .leaves(index, index + 1)
                .await?
                .pop()
                .filter(|record| reader.sees(&record.first_state, &record.second_state))
                .ok_or_else(|| Error::NotFound(format!("leaf {index}")))?;
            records.push(record);
        }
        let proofs = self.proofs(indices, head.tree_size)?;
        let inclusions = proofs
            .into_iter()
            .zip(records)
            .map(|(proof, record)| Inclusion {
                proof,
                leaf: record.leaf,
            })
            .collect();
        Ok((inclusions, head))
    }

    fn proofs(
        &self,
        indices: &[u64],
        tree_size: u64,
    ) -> Result<Vec<accord_trust::log::InclusionProof>, Error> {
        let tree = self.tree();
        let Ok(proofs) = inclusion_proofs(&*tree, indices, tree_size);
        proofs.map_err(|error| Error::internal("proving inclusion", error))
    }

    /// The proof that the published head of `first` leaves is a prefix of the published head
    /// of `second` (the latest for `None`).
    pub async fn consistency(
        &self,
        first: u64,
        second: Option<u64>,
    ) -> Result<ConsistencyProof, Error> {
        // Sizes out of order are the request's fault, whatever heads exist.
        if let Some(second) = second.filter(|second| first > *second) {
            return Err(Error::invalid(
                "first_tree_size",
                format!("must be at most second_tree_size {second}"),
            ));
        }
        let second = self.signed_head(second).await?.tree_size;
        if first == 0 || first > second {
            return Err(Error::invalid(
                "first_tree_size",
                format!("must be 1 to the second tree size {second}"),
            ));
        }
        self.signed_head(Some(first)).await?;
        let tree = self.tree();
        let Ok(proof) = consistency_proof(&*tree, first, second);
        proof.map_err(|error| Error::internal("proving consistency", error))
    }

    /// The leaves `start..end` of the published log, each with its hash, and the leaf itself
    /// where `reader` may see it.
    pub async fn leaves(
        &self,
        reader: Reader,
        start: u64,
        end: u64,
    ) -> Result<Vec<LeafEntry>, Error> {
        let published = self.signed_head(None).await?.tree_size;
        if end <= start || end - start > LEAVES_PER_CALL_MAX || end > published {
            return Err(Error::invalid(
                "end_index",
                format!(
                    "must be above start_index, at most {LEAVES_PER_CALL_MAX} above it and at \
                     most the published size {published}"
                ),
            ));
        }
        let records = self.store().leaves(start, end).await?;
        records
            .into_iter()
            .map(|record| entry(reader, record))
            .collect()
    }

    /// The leaves of `case_ref` below the latest published size, at most
    /// `LEAVES_PER_CALL_MAX` (and whether there were more), with a checkpoint of that size
    /// signed now: what the requesting state's node cites when it records acceptance by
    /// default, since it shows when the log held no reply. A member sees only its own
    /// pairs' cases (NOT_FOUND otherwise, as for a leaf).
    pub async fn case_leaves(
        &self,
        reader: Reader,
        case_ref: &CaseRef,
    ) -> Result<(SignedHead, Vec<LeafEntry>, bool), Error> {
        let (first, second) = (case_ref.first_state(), case_ref.second_state());
        if !reader.sees(first.as_str(), second.as_str()) {
            return Err(Error::NotFound(format!("the leaves of {case_ref}")));
        }
        let head = self.fresh_head().await?;
        let mut records = self
            .store()
            .case_leaves(
                &case_ref.to_string(),
                head.tree_size,
                LEAVES_PER_CALL_MAX + 1,
            )
            .await?;
        let truncated = records.len() as u64 > LEAVES_PER_CALL_MAX;
        records.truncate(usize::try_from(LEAVES_PER_CALL_MAX).unwrap_or(usize::MAX));
        let entries = records
            .into_iter()
            .map(|record| entry(reader, record))
            .collect::<Result<_, _>>()?;
        Ok((head, entries, truncated))
    }
}

fn entry(reader: Reader, record: LeafRecord) -> Result<LeafEntry, Error> {
    let leaf_hash = Hash::from_slice(&record.leaf_hash)
        .map_err(|error| Error::internal("reading a leaf hash", error))?;
    let visible = reader.sees(&record.first_state, &record.second_state);
    Ok(LeafEntry {
        leaf_index: record.leaf_index,
        leaf_hash,
        leaf: visible.then_some(record.leaf),
    })
}
