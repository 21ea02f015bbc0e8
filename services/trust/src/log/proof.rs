//! Inclusion and consistency proofs (RFC 9162 §2.1.3 and §2.1.4): made from any
//! [`HashSource`], checked against tree heads alone.
//!
//! **Inclusion.** [`inclusion_proof`] is RFC 9162's PATH(m, D\[n\]): the audit path from the
//! leaf's sibling up, for any tree size the source holds (so a proof can lead to an older,
//! already published head). [`InclusionProof::verify`] is the algorithm of §2.1.3.2.
//!
//! **Several leaves.** A batch is the set of single proofs to one tree size
//! ([`inclusion_proofs`], [`verify_inclusions`]), not a compact multi-proof: RFC 9162 defines
//! none, `accord.v1.InclusionProof` carries one leaf, a state checks the proofs of its own
//! events one by one as they arrive, and a leaf's proof is at most 64 hashes. A multi-proof
//! would share the upper hashes of neighbouring leaves; it can come later behind the same
//! functions if reports ever carry thousands of proofs.
//!
//! **Consistency.** [`consistency_proof`] is PROOF(m, D\[n\]) of §2.1.4.1 and
//! [`ConsistencyProof::verify`] the algorithm of §2.1.4.2, which the RFC defines for
//! `0 < m < n`. At the edges Accord follows the reference implementation
//! (transparency-dev/merkle) and its test vectors: for `m = n` the proof is empty and holds
//! exactly when the two roots are equal; `m = 0` is refused on both sides, because the
//! empty tree is a prefix of every tree — there is nothing to prove, and a witness with no
//! earlier head of a log accepts its first head on first use rather than through a proof.
//!
//! What this module does not do: it never decides which tree head to trust — the caller
//! brings a root it has from a verified checkpoint ([`super::checkpoint`]).

use super::merkle::{Hash, HashSource, largest_power_of_two_below, node_hash, range_hash};

/// Why a proof cannot be made or does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An inclusion proof for a leaf at or beyond the tree size.
    #[error("leaf {leaf_index} is not in a tree of {tree_size} leaves")]
    LeafOutsideTree {
        /// The leaf's index.
        leaf_index: u64,
        /// The tree size.
        tree_size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("a tree of {first_size} leaves cannot be a prefix of one of {second_size}")]
    SizesOutOfOrder {
        /// The first (older) size.
        first_size: u64,
        /// The second (newer) size.
        second_size: u64,
    },
    /// A consistency proof from the empty tree (see the module documentation).
    #[error("a consistency proof from the empty tree proves nothing")]
    EmptyFirstTree,
    /// A proof that does not have the length its sizes call for.
    #[error("the proof has {actual} hashes where its sizes call for {expected}")]
    WrongLength {
        /// The length the sizes call for.
        expected: usize,
        /// The proof's length.
        actual: usize,
    },
    /// A proof whose hashes lead to another root: the leaf is not there, or the trees differ.
    #[error("the proof does not lead to the tree head's root hash")]
    RootMismatch,
}

/// Proof that one leaf is in the tree of one size: RFC 9162's `inclusion_path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf's index.
    pub leaf_index: u64,
    /// The size of the tree the proof leads to.
    pub tree_size: u64,
    /// The audit path, from the leaf's sibling up to the root's child.
    pub audit_path: Vec<Hash>,
}

/// Proof that the tree of one size is a prefix of the tree of a larger size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The older, smaller size (`m`).
    pub first_size: u64,
    /// The newer size (`n`).
    pub second_size: u64,
    /// RFC 9162's `consistency_path`.
    pub path: Vec<Hash>,
}

/// The proof that leaf `leaf_index` is in the tree of `tree_size` leaves, made from `source`
/// (which must hold at least `tree_size` leaves). The outer error is the source's.
pub fn inclusion_proof<S: HashSource + ?Sized>(
    source: &S,
    leaf_index: u64,
    tree_size: u64,
) -> Result<Result<InclusionProof, Error>, S::Error> {
    if leaf_index >= tree_size {
        return Ok(Err(Error::LeafOutsideTree {
            leaf_index,
            tree_size,
        }));
    }
    // PATH(m, D[start:end]), unrolled from the root down: each step keeps the half holding
    // the leaf and records the other half's hash; the RFC lists them from the leaf up.
    let (mut start, mut end) = (0, tree_size);
    let mut audit_path = Vec::new();
    while end - start > 1 {
        let split = start + largest_power_of_two_below(end - start);
        if leaf_index < split {
            audit_path.push(range_hash(source, split, end)?);
            end = split;
        } else {
            audit_path.push(range_hash(source, start, split)?);
            start = split;
        }
    }
    audit_path.reverse();
    Ok(Ok(InclusionProof {
        leaf_index,
        tree_size,
        audit_path,
    }))
}

/// The proofs for several leaves in one tree (see the module documentation on batches).
pub fn inclusion_proofs<S: HashSource + ?Sized>(
    source: &S,
    leaf_indices: &[u64],
    tree_size: u64,
) -> Result<Result<Vec<InclusionProof>, Error>, S::Error> {
    let mut proofs = Vec::with_capacity(leaf_indices.len());
    for &leaf_index in leaf_indices {
        match inclusion_proof(source, leaf_index, tree_size)? {
            Ok(proof) => proofs.push(proof),
            Err(error) => return Ok(Err(error)),
        }
    }
    Ok(Ok(proofs))
}

/// The proof that the tree of `first_size` leaves is a prefix of the tree of `second_size`,
/// made from `source` (which must hold at least `second_size` leaves). The outer error is
/// the source's.
pub fn consistency_proof<S: HashSource + ?Sized>(
    source: &S,
    first_size: u64,
    second_size: u64,
) -> Result<Result<ConsistencyProof, Error>, S::Error> {
    if first_size > second_size {
        return Ok(Err(Error::SizesOutOfOrder {
            first_size,
            second_size,
        }));
    }
    if first_size == 0 {
        return Ok(Err(Error::EmptyFirstTree));
    }
    // SUBPROOF(m, D[start:end], known), unrolled from the root down. `known` says whether
    // the current range's first `m - start` leaves form a subtree whose hash the verifier
    // already has (the old root itself); once the walk turns right, it does not.
    let (mut start, mut end, mut known) = (0, second_size, true);
    let mut path = Vec::new();
    while first_size != end {
        let split = start + largest_power_of_two_below(end - start);
        if first_size <= split {
            path.push(range_hash(source, split, end)?);
            end = split;
        } else {
            path.push(range_hash(source, start, split)?);
            start = split;
            known = false;
        }
    }
    if !known {
        path.push(range_hash(source, start, end)?);
    }
    path.reverse();
    Ok(Ok(ConsistencyProof {
        first_size,
        second_size,
        path,
    }))
}

impl InclusionProof {
    /// Checks that the leaf with `leaf_hash` is at [`Self::leaf_index`] in the tree of
    /// [`Self::tree_size`] leaves whose root is `root` (RFC 9162 §2.1.3.2).
    ///
    /// The root is what binds the size: one audit path can fit more than one tree size, so
    /// `root` and [`Self::tree_size`] must come together from one verified tree head.
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> Result<(), Error> {
        if self.leaf_index >= self.tree_size {
            return Err(Error::LeafOutsideTree {
                leaf_index: self.leaf_index,
                tree_size: self.tree_size,
            });
        }
        let expected = inclusion_path_length(self.leaf_index, self.tree_size);
        if self.audit_path.len() != expected {
            return Err(Error::WrongLength {
                expected,
                actual: self.audit_path.len(),
            });
        }
        let (mut index, mut last) = (self.leaf_index, self.tree_size - 1);
        let mut computed = *leaf_hash;
        for sibling in &self.audit_path {
            if last == 0 {
                return Err(Error::RootMismatch);
            }
            if index & 1 == 1 || index == last {
                computed = node_hash(sibling, &computed);
                while index & 1 == 0 && index != 0 {
                    index >>= 1;
                    last >>= 1;
                }
            } else {
                computed = node_hash(&computed, sibling);
            }
            index >>= 1;
            last >>= 1;
        }
        if last == 0 && computed == *root {
            Ok(())
        } else {
            Err(Error::RootMismatch)
        }
    }
}

/// Checks several inclusion proofs against one root: `items` pairs each proof with its
/// leaf's hash. Every proof must be for `tree_size`. Fails on the first that does not hold,
/// naming its position.
pub fn verify_inclusions(
    items: &[(&InclusionProof, Hash)],
    tree_size: u64,
    root: &Hash,
) -> Result<(), (usize, Error)> {
    for (position, (proof, leaf_hash)) in items.iter().enumerate() {
        if proof.tree_size != tree_size {
            return Err((position, Error::RootMismatch));
        }
        proof
            .verify(leaf_hash, root)
            .map_err(|error| (position, error))?;
    }
    Ok(())
}

impl ConsistencyProof {
    /// Checks that the tree of [`Self::first_size`] leaves with root `first_root` is a prefix
    /// of the tree of [`Self::second_size`] leaves with root `second_root` (RFC 9162
    /// §2.1.4.2; the edges `m = n` and `m = 0` as the module documentation says).
    pub fn verify(&self, first_root: &Hash, second_root: &Hash) -> Result<(), Error> {
        let (first_size, second_size) = (self.first_size, self.second_size);
        if first_size > second_size {
            return Err(Error::SizesOutOfOrder {
                first_size,
                second_size,
            });
        }
        if first_size == 0 {
            return Err(Error::EmptyFirstTree);
        }
        if first_size == second_size {
            if !self.path.is_empty() {
                return Err(Error::WrongLength {
                    expected: 0,
                    actual: self.path.len(),
                });
            }
            return if first_root == second_root {
                Ok(())
            } else {
                Err(Error::RootMismatch)
            };
        }
        let expected = consistency_path_length(first_size, second_size);
        if self.path.len() != expected {
            return Err(Error::WrongLength {
                expected,
                actual: self.path.len(),
            });
        }
        self.verify_path(first_root, second_root)
    }

    /// Steps 2–7 of RFC 9162 §2.1.4.2, for `0 < m < n` and a path of the right length.
    fn verify_path(&self, first_root: &Hash, second_root: &Hash) -> Result<(), Error> {
        let mut path = self.path.iter();
        // Step 2: when m is a power of two the old root is itself a node of the new tree and
        // starts the walk; otherwise the path's first hash does.
        let start = if self.first_size.is_power_of_two() {
            *first_root
        } else {
            *path.next().ok_or(Error::RootMismatch)?
        };
        let (mut index, mut last) = (self.first_size - 1, self.second_size - 1);
        while index & 1 == 1 {
            index >>= 1;
            last >>= 1;
        }
        let (mut first, mut second) = (start, start);
        for hash in path {
            if last == 0 {
                return Err(Error::RootMismatch);
            }
            if index & 1 == 1 || index == last {
                first = node_hash(hash, &first);
                second = node_hash(hash, &second);
                while index & 1 == 0 && index != 0 {
                    index >>= 1;
                    last >>= 1;
                }
            } else {
                second = node_hash(&second, hash);
            }
            index >>= 1;
            last >>= 1;
        }
        if last == 0 && first == *first_root && second == *second_root {
            Ok(())
        } else {
            Err(Error::RootMismatch)
        }
    }
}

/// How many hashes the audit path of leaf `index` in a tree of `size` has: one per level
/// below the root on the leaf's path. The levels where the leaf's path and the last leaf's
/// path have already split all have a sibling; above that, the leaf is on the right border
/// and gets a sibling only where the border turns right (a set bit of the last index).
fn inclusion_path_length(index: u64, size: u64) -> usize {
    let last = size - 1;
    let inner = u64::BITS - (index ^ last).leading_zeros();
    let border = (last >> inner).count_ones();
    (inner + border) as usize
}

/// How many hashes the consistency proof from `first_size` to `second_size` has
/// (`0 < first_size < second_size`): the inclusion path of the old tree's last leaf, less
/// the levels below the largest complete subtree that ends the old tree, plus that subtree's
/// own hash unless it is the old root (`first_size` a power of two).
fn consistency_path_length(first_size: u64, second_size: u64) -> usize {
    let shared_levels = (first_size - 1).trailing_ones();
    let path = inclusion_path_length(first_size - 1, second_size) - shared_levels as usize;
    path + usize::from(!first_size.is_power_of_two())
}

#[cfg(test)]
mod tests {
    use super::super::merkle::{MemoryTree, leaf_hash};
    use super::*;

    fn tree(size: u8) -> MemoryTree {
        MemoryTree::from_leaf_hashes((0..size).map(|byte| leaf_hash(&[byte])))
    }

    #[test]
    fn the_expected_lengths_match_the_proofs_made() {
        let tree = tree(40);
        for size in 1..=40 {
            for index in 0..size {
                let Ok(proof) = inclusion_proof(&tree, index, size);
                let proof = proof.unwrap();
                assert_eq!(proof.audit_path.len(), inclusion_path_length(index, size));
            }
            for first in 1..size {
                let Ok(proof) = consistency_proof(&tree, first, size);
                let proof = proof.unwrap();
                assert_eq!(proof.path.len(), consistency_path_length(first, size));
            }
        }
    }
}
