//! The stored hashes of the tree's upper levels, kept in memory.
//!
//! A stored hash at level [`MIN_LEVEL`] (a tile's height) or above is the root of at least one
//! whole tile of entries; a log of n entries has about n / 128 of them (78,000, 2.5 MB, at ten
//! million). On disk each sits in the hashes record of the batch that completed it, so a level-1
//! tile (256 of them) or the upper half of an inclusion proof would read one record per hash,
//! scattered over the whole log and mostly outside the engine's cache. Here each costs a map
//! lookup.
//!
//! The map only ever holds hashes exactly as the engine holds them: those a durable batch wrote
//! and those read back from the engine. It needs no check of its own, and nothing of it is
//! persisted. A store fills it as batches are appended and, after an open, from a background
//! thread ([`Warmer`]) that reads the ones already on disk; until then a read that misses reads
//! the engine, as every read did before, and keeps what it read.

use crate::layout;
use covenant_core::merkle::{self, Hash, TILE_HEIGHT};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

/// The lowest level kept: a level-1 tile's hashes and everything above.
pub(crate) const MIN_LEVEL: u8 = TILE_HEIGHT;

/// Upper-level stored hashes by stored-hash index.
#[derive(Default)]
pub(crate) struct UpperHashes {
    by_index: RwLock<HashMap<u64, Hash>>,
}

impl UpperHashes {
    pub(crate) fn get(&self, index: u64) -> Option<Hash> {
        self.read().get(&index).copied()
    }

    /// Keep stored hash `index` if it is an upper one.
    pub(crate) fn keep_if_upper(&self, index: u64, hash: Hash) {
        if is_upper(index) {
            self.write().insert(index, hash);
        }
    }

    /// Keep hashes known to be upper ones (a durable batch's, see [`of_new_entry`]).
    pub(crate) fn keep_all(&self, hashes: Vec<(u64, Hash)>) {
        if !hashes.is_empty() {
            self.write().extend(hashes);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, Hash>> {
        self.by_index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<u64, Hash>> {
        self.by_index.write().unwrap_or_else(|p| p.into_inner())
    }
}

pub(crate) fn is_upper(index: u64) -> bool {
    merkle::split_stored_hash_index(index).0 >= MIN_LEVEL
}

/// The upper ones among the stored hashes one entry adds (`merkle::new_stored_hashes`, whose
/// hash `l` is at level `l`), given the stored-hash index of the first.
pub(crate) fn of_new_entry(first_index: u64, new_hashes: &[Hash]) -> Vec<(u64, Hash)> {
    new_hashes
        .iter()
        .enumerate()
        .skip(usize::from(MIN_LEVEL))
        .map(|(level, hash)| (first_index + level as u64, *hash))
        .collect()
}

/// The stored-hash indexes of every upper hash of a log of `size` entries, lowest level first
/// and in log order within a level (the order their records lie on disk).
pub(crate) fn indexes(size: u64) -> impl Iterator<Item = u64> {
    (MIN_LEVEL..64)
        .take_while(move |&level| size >> level > 0)
        .flat_map(move |level| (0..size >> level).map(move |n| merkle::stored_hash_index(level, n)))
}

/// The thread that reads the upper hashes already on disk after an open. Dropping it stops
/// the thread and waits for it, so the engine is never in use after its store is dropped.
pub(crate) struct Warmer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Warmer {
    /// Read the upper hashes of the first `size` entries from `hashes` (the engine's tree) into
    /// `upper`. A read that fails ends the warming; the reads that need the hash meet the
    /// failure themselves.
    pub(crate) fn start(hashes: sled::Tree, upper: Arc<UpperHashes>, size: u64) -> Option<Self> {
        if size < merkle::TILE_WIDTH {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("covenant-upper-hashes".to_owned())
            .spawn(move || {
                for index in indexes(size) {
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    if upper.get(index).is_some() {
                        continue;
                    }
                    match read_from_engine(&hashes, index) {
                        Some(hash) => upper.keep_if_upper(index, hash),
                        None => return,
                    }
                }
            })
            .ok()?;
        Some(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Warmer {
    /// Wait for the thread to read every hash.
    pub(crate) fn finish(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Warmer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Stored hash `index` from the hashes tree, if it is there and readable.
fn read_from_engine(hashes: &sled::Tree, index: u64) -> Option<Hash> {
    let (key, record) = hashes.range(..=layout::seq_key(index)).next_back()?.ok()?;
    let first = layout::decode_u64(&key)?;
    layout::hash_in_record(&record, index.checked_sub(first)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_means_a_tile_height_or_more() {
        assert!(!is_upper(merkle::stored_hash_index(MIN_LEVEL - 1, 5)));
        assert!(is_upper(merkle::stored_hash_index(MIN_LEVEL, 0)));
        assert!(is_upper(merkle::stored_hash_index(MIN_LEVEL + 3, 2)));
    }

    #[test]
    fn indexes_lists_every_upper_hash_of_a_size_once() {
        let size = 3 * 65_536 + 700;
        let listed: Vec<u64> = indexes(size).collect();
        let expected: Vec<u64> = (0..merkle::stored_hash_count(size))
            .filter(|&index| is_upper(index))
            .collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, expected);
        assert_eq!(listed.len(), expected.len());
        assert_eq!(indexes(merkle::TILE_WIDTH - 1).count(), 0);
        assert_eq!(indexes(merkle::TILE_WIDTH).count(), 1);
    }

    #[test]
    fn of_new_entry_keeps_the_levels_from_a_tile_height() {
        let hashes: Vec<Hash> = (0..10u8).map(|n| Hash([n; 32])).collect();
        let kept = of_new_entry(1_000, &hashes);
        assert_eq!(kept, vec![(1_008, Hash([8; 32])), (1_009, Hash([9; 32]))]);
        assert!(of_new_entry(1_000, &hashes[..8]).is_empty());
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;
    use crate::LogReader;
    use crate::sled_store::SledStore;
    use crate::sled_store::fixture::append_entries;

    fn store_of(dir: &std::path::Path, size: u64) -> SledStore {
        let store = SledStore::create_or_open(dir).unwrap();
        append_entries(&store, 0..size);
        store
    }

    /// Every stored hash the store serves, and the same read straight from the engine.
    fn served_and_stored(store: &SledStore) -> (Vec<Hash>, Vec<Option<Hash>>) {
        let count = merkle::stored_hash_count(store.head().size);
        let served = (0..count).map(|i| store.read_hash(i).unwrap()).collect();
        let stored = (0..count)
            .map(|i| read_from_engine(&store.engine().unwrap().trees.hashes, i))
            .collect();
        (served, stored)
    }

    #[test]
    fn appends_keep_the_upper_hashes_they_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(dir.path(), 3_000);
        assert_eq!(store.upper_hashes_held(), indexes(3_000).count());
        let (served, stored) = served_and_stored(&store);
        assert_eq!(served.into_iter().map(Some).collect::<Vec<_>>(), stored);
    }

    #[test]
    fn an_open_reads_the_upper_hashes_on_disk_and_serves_them_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        drop(store_of(dir.path(), 3_000));
        let store = SledStore::open(dir.path()).unwrap();
        store.finish_warming();
        assert_eq!(store.upper_hashes_held(), indexes(3_000).count());
        let (served, stored) = served_and_stored(&store);
        assert_eq!(served.iter().copied().map(Some).collect::<Vec<_>>(), stored);
        let head = store.head();
        for leaf in [0, 255, 1_024, 2_999] {
            let proof = merkle::prove_inclusion(head.size, leaf, &store).unwrap();
            let leaf_hash = served[merkle::stored_hash_index(0, leaf) as usize];
            merkle::check_inclusion(&proof, head.size, head.root, leaf, leaf_hash).unwrap();
        }
        // With the engine's hash records gone, the upper hashes are still served (from memory)
        // and the lower ones are not.
        store.engine().unwrap().trees.hashes.clear().unwrap();
        let upper = merkle::stored_hash_index(MIN_LEVEL, 3);
        assert_eq!(store.read_hash(upper).unwrap(), served[upper as usize]);
        assert!(
            store
                .read_hash(merkle::stored_hash_index(MIN_LEVEL - 1, 3))
                .is_err()
        );
    }

    #[test]
    fn an_open_at_exactly_one_tile_warms_its_one_upper_hash() {
        let dir = tempfile::tempdir().unwrap();
        drop(store_of(dir.path(), merkle::TILE_WIDTH));
        let store = SledStore::open(dir.path()).unwrap();
        store.finish_warming();
        assert_eq!(store.upper_hashes_held(), 1);
    }

    #[test]
    fn a_lower_hash_read_from_the_engine_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        drop(store_of(dir.path(), 300));
        let store = SledStore::open(dir.path()).unwrap();
        store.finish_warming();
        store.read_hash(merkle::stored_hash_index(0, 7)).unwrap();
        store
            .read_hash(merkle::stored_hash_index(MIN_LEVEL - 1, 1))
            .unwrap();
        assert_eq!(store.upper_hashes_held(), 1);
    }
}
