//! Inclusion and consistency proofs on a large in-memory log, as the coordinator serves them
//! (`MemoryTree`, `services/coordinator/src/app/ledger/proofs.rs`), at random leaves and sizes.

use std::time::Instant;

use accord_trust::log::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash};

use crate::{Random, millis_since, percentile};

pub(crate) fn run(leaves: usize, samples: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut tree = MemoryTree::new();
    for leaf in 0..leaves as u64 {
        tree.push(leaf_hash(&leaf.to_be_bytes()));
    }
    println!(
        "proofs: a tree of {leaves} leaves ({:.0} ms to build, not timed), {samples} proofs of each \
         kind at random leaves and sizes",
        millis_since(started)
    );
    let size = tree.size();
    let mut random = Random::new(20_251_202);
    let (mut made, mut verified) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        let tree_size = 1 + random.below(size);
        let leaf_index = random.below(tree_size);
        let root = tree.root_hash(tree_size).expect("a size within the tree");
        let leaf = tree.leaf_hash(leaf_index).expect("a leaf within the tree");
        let started = Instant::now();
        let Ok(proof) = inclusion_proof(&tree, leaf_index, tree_size);
        let proof = proof?;
        made.push(millis_since(started) * 1_000.0);
        let started = Instant::now();
        proof.verify(&leaf, &root)?;
        verified.push(millis_since(started) * 1_000.0);
    }
    report("inclusion", &made, &verified);
    let (mut made, mut verified) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        let second_size = 2 + random.below(size - 1);
        let first_size = 1 + random.below(second_size - 1);
        let first_root = tree.root_hash(first_size).expect("a size within the tree");
        let second_root = tree.root_hash(second_size).expect("a size within the tree");
        let started = Instant::now();
        let Ok(proof) = consistency_proof(&tree, first_size, second_size);
        let proof = proof?;
        made.push(millis_since(started) * 1_000.0);
        let started = Instant::now();
        proof.verify(&first_root, &second_root)?;
        verified.push(millis_since(started) * 1_000.0);
    }
    report("consistency", &made, &verified);
    Ok(())
}

fn report(kind: &str, made: &[f64], verified: &[f64]) {
    println!(
        "  {kind}: made p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs; reference (verifying it) p50 \
         {:.1} µs, p99 {:.1} µs; made / verified at p99 {:.1}x",
        percentile(made, 50.0),
        percentile(made, 99.0),
        percentile(made, 100.0),
        percentile(verified, 50.0),
        percentile(verified, 99.0),
        percentile(made, 99.0) / percentile(verified, 99.0)
    );
}
