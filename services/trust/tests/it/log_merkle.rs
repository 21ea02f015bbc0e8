//! The transparency log's Merkle tree: known answers from RFC 6962's reference test data
//! (transparency-dev/merkle), and every proof of every small tree checked both ways.

use std::cell::Cell;
use std::collections::HashMap;

use accord_trust::log::merkle::{HASH_LENGTH_BYTES, HashSource};
use accord_trust::log::proof::Error;
use accord_trust::log::{
    ConsistencyProof, Hash, InclusionProof, MemoryTree, consistency_proof, empty_root,
    inclusion_proof, inclusion_proofs, leaf_hash, node_hash, root_hash, verify_inclusions,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The largest tree the exhaustive checks build: every size up to it, every leaf, every pair.
const EXHAUSTIVE_SIZE_MAX: u64 = 64;

/// The reference vectors, transcribed with their source and licence in the file's header.
const VECTORS: &str = include_str!("data/merkle_vectors.txt");

fn hex_hash(text: &str) -> Hash {
    let mut bytes = [0_u8; HASH_LENGTH_BYTES];
    hex::decode_to_slice(text, &mut bytes).unwrap();
    Hash::from_bytes(bytes)
}

/// The leaves of RFC 6962's reference tests (transparency-dev/merkle `testonly.LeafInputs`).
fn reference_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
    ]
    .into_iter()
    .chain(["606162636465666768696a6b6c6d6e6f"])
    .map(|leaf| hex::decode(leaf).unwrap())
    .collect()
}

/// Leaves `0..size`, each the bytes of its index.
fn tree_of(size: u64) -> MemoryTree {
    MemoryTree::from_leaf_hashes((0..size).map(|index| leaf_hash(&index.to_be_bytes())))
}

fn flipped(hash: &Hash) -> Hash {
    let mut bytes = *hash.as_bytes();
    bytes[HASH_LENGTH_BYTES - 1] ^= 1;
    Hash::from_bytes(bytes)
}

#[test]
fn roots_of_the_reference_leaves_are_rfc_6962s() {
    let expected = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let leaves = reference_leaves();
    let tree = MemoryTree::from_leaf_hashes(leaves.iter().map(|leaf| leaf_hash(leaf)));
    assert_eq!(empty_root(), hex_hash(expected[0]));
    for (size, root) in expected.iter().enumerate() {
        assert_eq!(
            tree.root_hash(size as u64),
            Some(hex_hash(root)),
            "size {size}"
        );
    }
    // The level-1 node over leaves 6 and 7, also listed by the reference.
    let node = node_hash(&leaf_hash(&leaves[6]), &leaf_hash(&leaves[7]));
    let expected_node = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0";
    assert_eq!(node, hex_hash(expected_node));
}

/// One reference vector's hash field: `None` when it is not a 32-byte hash, which
/// `Hash::from_slice` refuses at the edge before any proof is checked.
fn vector_hash(field: &str) -> Option<Hash> {
    let bytes = if field == "-" {
        Vec::new()
    } else {
        BASE64.decode(field).unwrap()
    };
    Hash::from_slice(&bytes).ok()
}

fn vector_proof(field: &str) -> Option<Vec<Hash>> {
    if field == "[]" {
        return Some(Vec::new());
    }
    field.split(',').map(vector_hash).collect()
}

/// What our types make of a vector's fields: `None` when one cannot be held at all.
fn check_vector(kind: &str, fields: &[&str]) -> Option<Result<(), Error>> {
    let (first, second) = (fields[0].parse().unwrap(), fields[1].parse().unwrap());
    let path = vector_proof(fields[5])?;
    match kind {
        "inclusion" => {
            let (root, leaf) = (vector_hash(fields[2])?, vector_hash(fields[3])?);
            let proof = InclusionProof {
                leaf_index: first,
                tree_size: second,
                audit_path: path,
            };
            Some(proof.verify(&leaf, &root))
        }
        _ => {
            let roots = (vector_hash(fields[2]), vector_hash(fields[3]));
            // Two equal placeholders that are not hashes ("don't care") stand for one hash.
            let (first_root, second_root) = match roots {
                (Some(first_root), Some(second_root)) => (first_root, second_root),
                _ if fields[2] == fields[3] => (empty_root(), empty_root()),
                _ => return None,
            };
            let proof = ConsistencyProof {
                first_size: first,
                second_size: second,
                path,
            };
            Some(proof.verify(&first_root, &second_root))
        }
    }
}

#[test]
fn every_reference_proof_vector_is_judged_as_the_reference_judges_it() {
    let mut counted = HashMap::new();
    for line in VECTORS.lines().filter(|line| !line.starts_with('#')) {
        let fields: Vec<&str> = line.split(' ').collect();
        let [kind, file, rest @ ..] = fields.as_slice() else {
            panic!("malformed vector line {line:?}");
        };
        let want_ok = rest[4] == "ok";
        let outcome = check_vector(
            kind,
            &[rest[0], rest[1], rest[2], rest[3], rest[4], rest[5]],
        );
        match outcome {
            Some(outcome) => assert_eq!(outcome.is_ok(), want_ok, "{file}: {outcome:?}"),
            None => assert!(
                !want_ok,
                "{file}: a field the reference accepts is not a hash"
            ),
        }
        *counted.entry(*kind).or_insert(0) += 1;
    }
    assert!(counted["inclusion"] >= 90, "{counted:?}");
    assert!(counted["consistency"] >= 90, "{counted:?}");
}

#[test]
fn proofs_made_for_the_reference_tree_are_the_reference_proofs() {
    let leaves = reference_leaves();
    let tree = MemoryTree::from_leaf_hashes(leaves.iter().map(|leaf| leaf_hash(leaf)));
    let mut checked = 0;
    for line in VECTORS.lines().filter(|line| line.contains("happy-path")) {
        let fields: Vec<&str> = line.split(' ').collect();
        let (first, second) = (fields[2].parse().unwrap(), fields[3].parse().unwrap());
        let expected = vector_proof(fields[7]).unwrap();
        let made = if fields[0] == "inclusion" {
            let Ok(proof) = inclusion_proof(&tree, first, second);
            proof.unwrap().audit_path
        } else {
            let Ok(proof) = consistency_proof(&tree, first, second);
            proof.unwrap().path
        };
        assert_eq!(made, expected, "{}", fields[1]);
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} happy paths");
}

#[test]
fn every_inclusion_proof_of_every_small_tree_holds_and_nothing_else_does() {
    let tree = tree_of(EXHAUSTIVE_SIZE_MAX + 1);
    for size in 1..=EXHAUSTIVE_SIZE_MAX {
        let root = tree.root_hash(size).unwrap();
        for index in 0..size {
            let Ok(proof) = inclusion_proof(&tree, index, size);
            let proof = proof.unwrap();
            let leaf = tree.leaf_hash(index).unwrap();
            assert_eq!(proof.verify(&leaf, &root), Ok(()), "leaf {index} of {size}");
            let wrong_leaf = leaf_hash(b"not in the log");
            assert!(
                proof.verify(&wrong_leaf, &root).is_err(),
                "wrong leaf {index}/{size}"
            );
            assert!(
                proof.verify(&leaf, &flipped(&root)).is_err(),
                "wrong root {index}/{size}"
            );
            for other in (0..size).filter(|&other| other != index) {
                let moved = InclusionProof {
                    leaf_index: other,
                    ..proof.clone()
                };
                assert!(
                    moved.verify(&leaf, &root).is_err(),
                    "leaf {index} as {other}/{size}"
                );
            }
            for position in 0..proof.audit_path.len() {
                let mut tampered = proof.clone();
                tampered.audit_path[position] = flipped(&tampered.audit_path[position]);
                assert!(
                    tampered.verify(&leaf, &root).is_err(),
                    "hash {position}, {index}/{size}"
                );
            }
            let mut longer = proof.clone();
            longer.audit_path.push(root);
            assert!(longer.verify(&leaf, &root).is_err());
            // The size is bound by the root, not the path (one path can fit several sizes):
            // against the next size's root, the proof fails.
            let next_root = tree.root_hash(size + 1).unwrap();
            let resized = InclusionProof {
                tree_size: size + 1,
                ..proof.clone()
            };
            assert!(
                resized.verify(&leaf, &next_root).is_err(),
                "size {size} as {}",
                size + 1
            );
        }
    }
}

#[test]
fn every_consistency_proof_between_small_trees_holds_and_tampering_fails() {
    let tree = tree_of(EXHAUSTIVE_SIZE_MAX);
    for second in 1..=EXHAUSTIVE_SIZE_MAX {
        let second_root = tree.root_hash(second).unwrap();
        for first in 1..=second {
            let first_root = tree.root_hash(first).unwrap();
            let Ok(proof) = consistency_proof(&tree, first, second);
            let proof = proof.unwrap();
            let label = format!("{first} → {second}");
            assert_eq!(proof.verify(&first_root, &second_root), Ok(()), "{label}");
            assert!(
                proof.verify(&flipped(&first_root), &second_root).is_err(),
                "{label}"
            );
            assert!(
                proof.verify(&first_root, &flipped(&second_root)).is_err(),
                "{label}"
            );
            for position in 0..proof.path.len() {
                let mut tampered = proof.clone();
                tampered.path[position] = flipped(&tampered.path[position]);
                assert!(
                    tampered.verify(&first_root, &second_root).is_err(),
                    "{label} @{position}"
                );
            }
            let mut longer = proof.clone();
            longer.path.push(first_root);
            assert!(
                longer.verify(&first_root, &second_root).is_err(),
                "{label} longer"
            );
            if first < second {
                let swapped = proof.verify(&second_root, &first_root);
                assert!(swapped.is_err(), "{label} swapped");
                let shorter = ConsistencyProof {
                    path: proof.path[1..].to_vec(),
                    ..proof.clone()
                };
                assert!(
                    shorter.verify(&first_root, &second_root).is_err(),
                    "{label} shorter"
                );
                let other_first = tree.root_hash(first + 1).unwrap();
                let moved = ConsistencyProof {
                    first_size: first + 1,
                    ..proof.clone()
                };
                assert!(
                    moved.verify(&other_first, &second_root).is_err(),
                    "{label} moved"
                );
            }
        }
    }
}

#[test]
fn consistency_edges_equal_sizes_and_the_empty_tree() {
    let tree = tree_of(5);
    let root = tree.root_hash(5).unwrap();
    let Ok(same) = consistency_proof(&tree, 5, 5);
    let same = same.unwrap();
    assert!(same.path.is_empty());
    assert_eq!(same.verify(&root, &root), Ok(()));
    assert_eq!(
        same.verify(&root, &flipped(&root)),
        Err(Error::RootMismatch)
    );
    let Ok(from_empty) = consistency_proof(&tree, 0, 5);
    assert_eq!(from_empty, Err(Error::EmptyFirstTree));
    let empty = ConsistencyProof {
        first_size: 0,
        second_size: 5,
        path: Vec::new(),
    };
    assert_eq!(
        empty.verify(&empty_root(), &root),
        Err(Error::EmptyFirstTree)
    );
    let Ok(backwards) = consistency_proof(&tree, 5, 4);
    assert!(matches!(backwards, Err(Error::SizesOutOfOrder { .. })));
    let Ok(outside) = inclusion_proof(&tree, 5, 5);
    assert!(matches!(outside, Err(Error::LeafOutsideTree { .. })));
}

#[test]
fn a_batch_of_inclusion_proofs_holds_together_and_names_the_bad_one() {
    let tree = tree_of(21);
    let root = tree.root_hash(21).unwrap();
    let indices = [0, 7, 8, 20];
    let Ok(proofs) = inclusion_proofs(&tree, &indices, 21);
    let proofs = proofs.unwrap();
    let mut items: Vec<(&InclusionProof, Hash)> = proofs
        .iter()
        .map(|proof| (proof, tree.leaf_hash(proof.leaf_index).unwrap()))
        .collect();
    assert_eq!(verify_inclusions(&items, 21, &root), Ok(()));
    items[2].1 = leaf_hash(b"forged");
    assert_eq!(
        verify_inclusions(&items, 21, &root),
        Err((2, Error::RootMismatch))
    );
    let Ok(outside) = inclusion_proofs(&tree, &[3, 21], 21);
    assert!(matches!(
        outside,
        Err(Error::LeafOutsideTree { leaf_index: 21, .. })
    ));
}

/// A store's view of the log: complete-subtree hashes by (level, index), as a coordinator's
/// table would keep them, without a single leaf — counting reads.
struct StoredHashes {
    hashes: HashMap<(u32, u64), Hash>,
    reads: Cell<usize>,
}

impl StoredHashes {
    fn copy_of(tree: &MemoryTree) -> Self {
        let mut hashes = HashMap::new();
        for level in 0..u64::BITS {
            for index in 0..(tree.size() >> level) {
                let Ok(hash) = tree.subtree_hash(level, index);
                hashes.insert((level, index), hash);
            }
        }
        Self {
            hashes,
            reads: Cell::new(0),
        }
    }
}

impl HashSource for StoredHashes {
    type Error = String;

    fn subtree_hash(&self, level: u32, index: u64) -> Result<Hash, String> {
        self.reads.set(self.reads.get() + 1);
        self.hashes
            .get(&(level, index))
            .copied()
            .ok_or_else(|| format!("no stored hash for level {level}, index {index}"))
    }
}

#[test]
fn a_store_of_subtree_hashes_serves_heads_and_proofs_for_any_published_size() {
    let size = 1000;
    let tree = tree_of(size);
    let store = StoredHashes::copy_of(&tree);
    for published in [1, 2, 3, 500, 777, 999, 1000] {
        assert_eq!(
            root_hash(&store, published),
            Ok(tree.root_hash(published).unwrap())
        );
        store.reads.set(0);
        let proof = inclusion_proof(&store, 0, published).unwrap().unwrap();
        let log_squared = (u64::BITS - published.leading_zeros()).pow(2) as usize;
        assert!(
            store.reads.get() <= log_squared,
            "{} reads for size {published}",
            store.reads.get()
        );
        let Ok(expected) = inclusion_proof(&tree, 0, published);
        assert_eq!(proof, expected.unwrap());
        let consistency = consistency_proof(&store, published / 2 + 1, published)
            .unwrap()
            .unwrap();
        let Ok(expected) = consistency_proof(&tree, published / 2 + 1, published);
        assert_eq!(consistency, expected.unwrap());
    }
    let mut partial = StoredHashes::copy_of(&tree);
    partial.hashes.remove(&(3, 124)); // leaves 992..1000
    assert_eq!(
        inclusion_proof(&partial, 3, 1000).map(|_| ()),
        Err("no stored hash for level 3, index 124".to_owned())
    );
}
