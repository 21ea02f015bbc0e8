//! RFC 6962 / RFC 9162 §2.1 Merkle tree hashing: leaf and node hashes, the tree head of any
//! size, and where the hashes of a tree come from ([`HashSource`]).
//!
//! A tree is read only through [`HashSource::subtree_hash`]: the hash of a *complete,
//! aligned* subtree of `2^level` leaves. Such a hash never changes once the log has that
//! many leaves, so a store can keep each one as it is completed (a log of `n` leaves has
//! fewer than `2n` of them) and serve any tree head or proof, for any published size, with
//! `O(log² n)` reads and without loading the leaves. [`MemoryTree`] is the in-memory
//! source: every complete subtree, level by level, appended in `O(log n)`.
//!
//! What this module does not do: it neither stores nor reads anything outside memory, and
//! it knows nothing of what a leaf means (the caller hashes leaf bytes with [`leaf_hash`]).

use std::convert::Infallible;
use std::fmt;

use sha2::{Digest as _, Sha256};

/// Length of a hash, in bytes (SHA-256).
pub const HASH_LENGTH_BYTES: usize = 32;

/// Domain-separation prefix of a leaf hash (RFC 6962 §2.1).
const LEAF_PREFIX: u8 = 0x00;

/// Domain-separation prefix of an interior node hash (RFC 6962 §2.1).
const NODE_PREFIX: u8 = 0x01;

/// Deepest level a subtree can have: a tree of at most `u64::MAX` leaves.
const LEVEL_MAX: u32 = 63;

/// A SHA-256 hash in the tree: a leaf hash, a node hash or a tree head's root hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash([u8; HASH_LENGTH_BYTES]);

impl Hash {
    /// The hash with these 32 bytes.
    pub const fn from_bytes(bytes: [u8; HASH_LENGTH_BYTES]) -> Self {
        Self(bytes)
    }

    /// The hash in `bytes`, which must be 32 bytes long (as a wire field's hash must).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashLengthError> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| HashLengthError(bytes.len()))
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; HASH_LENGTH_BYTES] {
        &self.0
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Hash({})", hex::encode(self.0))
    }
}

impl fmt::Display for Hash {
    /// Lowercase hexadecimal.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(self.0))
    }
}

/// A hash field that is not 32 bytes long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a SHA-256 hash is 32 bytes, not {0}")]
pub struct HashLengthError(pub usize);

/// The root hash of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// The hash of a leaf: `SHA-256(0x00 ‖ leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(leaf);
    Hash(hasher.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

/// Where the hashes of a log's tree come from.
///
/// Every call names a complete, aligned subtree — its leaves are
/// `index·2^level .. (index+1)·2^level` — that lies inside the tree size the caller asked
/// about; level 0 is the leaf hashes. An implementation backed by a database keeps each such
/// hash once the log reaches its last leaf (they never change afterwards) and answers with one
/// read.
pub trait HashSource {
    /// Why a hash could not be read (a store's error; [`Infallible`] in memory).
    type Error;

    /// The hash of the complete subtree of `2^level` leaves starting at leaf
    /// `index << level`.
    fn subtree_hash(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// The root hash of the first `tree_size` leaves — MTH(D\[0:n\]) of RFC 9162 §2.1.1; the
/// empty tree's hash for size 0. The source must hold at least `tree_size` leaves.
pub fn root_hash<S: HashSource + ?Sized>(source: &S, tree_size: u64) -> Result<Hash, S::Error> {
    if tree_size == 0 {
        return Ok(empty_root());
    }
    range_hash(source, 0, tree_size)
}

/// MTH of the leaves `start..end`, where `end > start` and `start` is a multiple of a power
/// of two at least `end - start` — true of every range RFC 9162's recursion visits: the tree
/// splits at the largest power of two below its size, so each right part starts on a
/// boundary of the left part's size.
pub(crate) fn range_hash<S: HashSource + ?Sized>(
    source: &S,
    start: u64,
    end: u64,
) -> Result<Hash, S::Error> {
    let size = end - start;
    debug_assert!(size > 0, "an empty range has no hash");
    if size.is_power_of_two() {
        let level = size.trailing_zeros();
        debug_assert_eq!(start % size, 0, "a complete subtree is aligned");
        return source.subtree_hash(level, start >> level);
    }
    let split = largest_power_of_two_below(size);
    let left = source.subtree_hash(split.trailing_zeros(), start >> split.trailing_zeros())?;
    let right = range_hash(source, start + split, end)?;
    Ok(node_hash(&left, &right))
}

/// The largest power of two strictly smaller than `size` (RFC 9162's `k`); `size` ≥ 2.
pub(crate) fn largest_power_of_two_below(size: u64) -> u64 {
    debug_assert!(size >= 2);
    1 << (u64::BITS - 1 - (size - 1).leading_zeros())
}

/// A whole tree in memory: every complete subtree's hash, level by level.
///
/// Appending a leaf hash completes at most one subtree per level, so [`MemoryTree::push`] is
/// `O(log n)` and any tree head or proof for any size up to [`MemoryTree::size`] is served
/// from memory. It holds about `2n` hashes (64 bytes per leaf); the coordinator's store is a
/// [`HashSource`] of its own.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` is the hash of leaves `i·2^l .. (i+1)·2^l`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of these leaf hashes, in order.
    pub fn from_leaf_hashes(leaf_hashes: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf_hash in leaf_hashes {
            tree.push(leaf_hash);
        }
        tree
    }

    /// Appends a leaf by its hash (see [`leaf_hash`]); returns its index.
    pub fn push(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.size();
        let mut level = 0;
        let mut hash = leaf_hash;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
            let count = self.levels[level].len();
            if count % 2 == 1 {
                return index;
            }
            hash = node_hash(&self.levels[level][count - 2], &hash);
            level += 1;
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The root hash of the first `tree_size` leaves, or `None` when the tree is smaller.
    pub fn root_hash(&self, tree_size: u64) -> Option<Hash> {
        if tree_size > self.size() {
            return None;
        }
        let Ok(root) = root_hash(self, tree_size);
        Some(root)
    }

    /// The hash of leaf `index`, if there is one.
    pub fn leaf_hash(&self, index: u64) -> Option<Hash> {
        let index = usize::try_from(index).ok()?;
        self.levels.first()?.get(index).copied()
    }
}

impl HashSource for MemoryTree {
    type Error = Infallible;

    /// # Panics
    ///
    /// When the subtree is not complete in this tree: callers ask only within a size they
    /// checked against [`MemoryTree::size`], so this is a bug in the caller.
    fn subtree_hash(&self, level: u32, index: u64) -> Result<Hash, Infallible> {
        assert!(
            level <= LEVEL_MAX,
            "subtree level {level} is beyond any tree"
        );
        let hash = usize::try_from(level)
            .ok()
            .and_then(|level| self.levels.get(level))
            .and_then(|hashes| hashes.get(usize::try_from(index).ok()?))
            .copied();
        Ok(hash.unwrap_or_else(|| {
            panic!(
                "subtree {index} of level {level} is not complete in a tree of {} leaves",
                self.size()
            )
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_power_of_two_below_a_size_is_strictly_below_it() {
        let rows = [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (u64::MAX, 1 << 63),
        ];
        for (size, expected) in rows {
            assert_eq!(largest_power_of_two_below(size), expected, "size {size}");
        }
    }

    #[test]
    fn a_memory_tree_keeps_every_complete_subtree() {
        let leaves: Vec<Hash> = (0_u8..5).map(|byte| leaf_hash(&[byte])).collect();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        assert_eq!(tree.size(), 5);
        let pair = node_hash(&leaves[0], &leaves[1]);
        assert_eq!(tree.subtree_hash(1, 0), Ok(pair));
        let four = node_hash(&pair, &node_hash(&leaves[2], &leaves[3]));
        assert_eq!(tree.root_hash(4), Some(four));
        assert_eq!(tree.root_hash(5), Some(node_hash(&four, &leaves[4])));
        assert_eq!(tree.root_hash(6), None);
        assert_eq!(tree.root_hash(0), Some(empty_root()));
        assert_eq!(tree.leaf_hash(4), Some(leaves[4]));
        assert_eq!(tree.leaf_hash(5), None);
    }
}
