//! The model test: random sequences of batches (and reopens) applied to the store and to a
//! plain `Vec` of encoded entries must agree on every entry, head, root and proof.

use super::support::new_entry_sized;
use covenant_core::entry::{Entry, GENESIS_PREVIOUS, chain_hash};
use covenant_core::merkle::{self, MemoryTree};
use covenant_store::{Batch, LogReader, LogStore, SledStore};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// Append entries with these body lengths and storage-time gaps.
    Append(Vec<(usize, u64)>),
    /// Close and reopen the store.
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => prop::collection::vec((0usize..700, 0u64..3), 0..40).prop_map(Step::Append),
        1 => Just(Step::Reopen),
    ]
}

/// The model: the log as a list of canonical entries.
#[derive(Default)]
struct Model {
    entries: Vec<Vec<u8>>,
    tree: MemoryTree,
    roots: Vec<merkle::Hash>,
    last_stored_at: u64,
}

impl Model {
    fn push(&mut self, stored_at_ns: u64, envelope: Vec<u8>) {
        let previous = self
            .entries
            .last()
            .map_or(GENESIS_PREVIOUS, |e| chain_hash(e));
        let entry = Entry {
            seq: self.entries.len() as u64,
            stored_at_ns,
            previous,
            envelope,
        }
        .encode();
        self.tree.push(&entry);
        self.entries.push(entry);
        self.roots.push(self.tree.root());
        self.last_stored_at = stored_at_ns;
    }

    fn root_at(&self, size: u64) -> merkle::Hash {
        match size {
            0 => merkle::EMPTY_HASH,
            size => self.roots[size as usize - 1],
        }
    }
}

fn check_against_model(store: &SledStore, model: &Model, probe: u64) -> Result<(), TestCaseError> {
    let head = store.head();
    let size = model.entries.len() as u64;
    prop_assert_eq!(head.size, size);
    prop_assert_eq!(head.root, model.tree.root());
    prop_assert_eq!(
        head.chain_head,
        model
            .entries
            .last()
            .map_or(GENESIS_PREVIOUS, |e| chain_hash(e))
    );
    prop_assert_eq!(head.last_stored_at_ns, model.last_stored_at);
    prop_assert_eq!(&store.entries(0, size + 5).unwrap(), &model.entries);
    if size == 0 {
        return Ok(());
    }
    let index = probe % size;
    let single = store.entry(index).unwrap();
    prop_assert_eq!(single.as_ref(), Some(&model.entries[index as usize]));
    let start = probe % size;
    let end = start + (probe >> 8) % 40;
    let expected: Vec<_> = model.entries[start as usize..(end.min(size)) as usize].to_vec();
    prop_assert_eq!(store.entries(start, end).unwrap(), expected);
    let proof = merkle::prove_inclusion(size, index, store).unwrap();
    let leaf = merkle::leaf_hash(&model.entries[index as usize]);
    prop_assert!(merkle::check_inclusion(&proof, size, head.root, index, leaf).is_ok());
    let old_size = 1 + (probe >> 16) % size;
    let proof = merkle::prove_consistency(size, old_size, store).unwrap();
    prop_assert!(
        merkle::check_consistency(&proof, size, head.root, old_size, model.root_at(old_size))
            .is_ok()
    );
    prop_assert_eq!(
        merkle::tree_root(old_size, store).unwrap(),
        model.root_at(old_size)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_store_behaves_like_a_vec_of_entries(
        steps in prop::collection::vec(step(), 1..10),
        probes in prop::collection::vec(any::<u64>(), 10),
    ) {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("store");
        let mut store = SledStore::create_or_open(&dir).unwrap();
        let mut model = Model::default();
        for (n, step) in steps.into_iter().enumerate() {
            match step {
                Step::Append(shape) => {
                    let mut entries = Vec::new();
                    for (body_len, gap) in shape {
                        let seq = model.entries.len() + entries.len();
                        let stored_at = model.last_stored_at.max(
                            entries.last().map_or(0, |e: &covenant_store::NewEntry| e.stored_at_ns),
                        ) + gap;
                        entries.push(new_entry_sized(&format!("m-{seq}"), "GB-GOV-3", stored_at, body_len));
                    }
                    for entry in &entries {
                        model.push(entry.stored_at_ns, entry.envelope.clone());
                    }
                    let head = store.append(Batch { entries, ..Batch::default() }).unwrap();
                    prop_assert_eq!(head, store.head());
                }
                Step::Reopen => {
                    drop(store);
                    store = SledStore::open(&dir).unwrap();
                }
            }
            check_against_model(&store, &model, probes[n % probes.len()])?;
        }
    }
}
