//! The transparency log's primitives: what the coordinator needs to keep an append-only,
//! verifiable log of accepted events, and what a member node needs to check it and, as a
//! witness, cosign its tree heads.
//!
//! - [`merkle`]: RFC 6962 / RFC 9162 hashing (`SHA-256(0x00 ‖ leaf)`,
//!   `SHA-256(0x01 ‖ left ‖ right)`), the root of any tree size, the empty tree's hash, and
//!   [`HashSource`] — complete-subtree hashes, the one thing a store must serve for the log
//!   to answer any head or proof without loading leaves — with [`MemoryTree`] in memory.
//! - [`proof`]: inclusion proofs (single and batch) and consistency proofs, made from a
//!   [`HashSource`] for any published size and checked against roots alone (RFC 9162 §2.1.3,
//!   §2.1.4).
//! - [`note`], [`checkpoint`], [`cosignature`]: tree heads as C2SP checkpoints in signed
//!   notes, signed by the log with an Ed25519 [`crate::EventSigningKey`] and cosigned by
//!   witnesses (`cosignature/v1`), so that the Go ecosystem's log tooling (sumdb's `note`,
//!   transparency-dev, torchwood's witness) can read Accord's log.
//!
//! Everything here is pure and synchronous: no I/O, no clock (a cosignature's time is an
//! argument), no storage, no notion of what a leaf means or which witnesses are enough.
//!
//! **Why this is written here and not taken from a crate.** The candidates were checked:
//! `signed_note` 0.2 and `tlog_tiles` 0.2 (cloudflare/azul) implement the C2SP formats but
//! depend on ed25519-dalek 2, sha2 0.10 and base64 0.21 — a second copy of each of our
//! cryptographic majors (ed25519-dalek 3, sha2 0.11), which the workspace keeps single.
//! `ct-merkle` 0.3 shares our `digest` 0.11 but proves only against its current in-memory
//! tree (never an older published size), holds every leaf in memory, takes leaf values
//! rather than leaf hashes, panics on out-of-range arguments and has no consistency proof
//! from a store — the coordinator must serve proofs for any published head from its
//! database, which is what [`HashSource`] is for. The algorithms are a few dozen lines each
//! straight from RFC 9162, and are checked against the transparency-dev/merkle and Go sumdb
//! test vectors and by exhaustive checks over every size (`tests/it/log_*.rs`). base64 is
//! the one crate used, already in the tree through rcgen.

pub mod checkpoint;
pub mod cosignature;
pub mod merkle;
pub mod note;
pub mod proof;

pub use checkpoint::{Checkpoint, OpenedCheckpoint};
pub use cosignature::cosign;
pub use merkle::{Hash, HashSource, MemoryTree, empty_root, leaf_hash, node_hash, root_hash};
pub use note::{KeyHash, KeyName, Note, NoteSignature, NoteVerifier, SignatureType, Verified};
pub use proof::{
    ConsistencyProof, InclusionProof, consistency_proof, inclusion_proof, inclusion_proofs,
    verify_inclusions,
};
