//! The store's handle on the engine, and the refresh that bounds how long an open takes.
//!
//! sled 0.34 writes its page-table snapshot only while it opens (`pagecache::snapshot`), and
//! an open replays its log from that snapshot to the end. A store that runs for weeks and is
//! then restarted would replay everything written since it last opened: 16 to 18 s at ten
//! million entries with the page cache cold (`just bench log-reads`), growing with the log.
//! So the writer reopens the engine once sled has flushed [`REFRESH_EVERY_LOG_BYTES`] to its
//! log since it opened, or [`REFRESH_EVERY_ENTRIES`] entries have been appended
//! ([`SledStore::refresh_engine_if_due`]): the reopen writes a new snapshot, and the next
//! open, whenever it comes, replays at most that much log.
//!
//! A refresh holds the writer lock and waits for readers to leave the engine; it costs what
//! an open of that tail costs, read from the page cache since it was just written: mostly
//! replaying the log (`just bench ingest` prints each reopening's hold and the part of it
//! sled spent opening). The log's bytes, not the entries, set that cost: small batches write
//! more log an entry (the head and the last tree nodes again for every batch), so at 2,600
//! events/s, about three events a batch, 262,144 entries left 243 MB of log to replay against
//! 175 MB for the same entries in large batches. Nothing on
//! disk changes meaning: the engine's state is what the last durable batch left, and the
//! refreshed engine must hold the same head record or the store stops taking writes.
//!
//! Readers take the handle with `read_recursive`, so a read that runs inside another read
//! never waits behind a refresh that is waiting for the outer one.

use super::{SledStore, Trees, Writer, open};
use crate::StoreError;
use crate::durable;
use crate::layout::{self, Meta};
use crate::upper_hashes::Warmer;
use parking_lot::{MappedRwLockReadGuard, RwLock, RwLockReadGuard};

/// Entries appended between two reopenings of the engine, at most.
pub const REFRESH_EVERY_ENTRIES: u64 = 262_144;

/// Bytes of sled's log flushed between two reopenings of the engine, at most (and a little
/// more: the batch that crosses it): the most a restart replays. About 200,000 entries in
/// batches of 1,000.
pub const REFRESH_EVERY_LOG_BYTES: u64 = 128 << 20;

/// An open engine and its trees.
pub(crate) struct Engine {
    pub db: sled::Db,
    pub trees: Trees,
}

/// The engine, or why there is none (a refresh that could not reopen it).
pub(super) type EngineSlot = RwLock<Result<Engine, String>>;

/// A read handle on the engine: a refresh waits until every handle is dropped.
pub(crate) type EngineRef<'a> = MappedRwLockReadGuard<'a, Engine>;

impl SledStore {
    /// The engine, for as long as the handle lives.
    pub(crate) fn engine(&self) -> Result<EngineRef<'_>, StoreError> {
        RwLockReadGuard::try_map(self.engine.read_recursive(), |slot| slot.as_ref().ok()).map_err(
            |slot| StoreError::NeedsReopen {
                reason: slot
                    .as_ref()
                    .err()
                    .cloned()
                    .unwrap_or_else(|| "the storage engine is closed".to_owned()),
            },
        )
    }

    /// When the engine is next reopened ([`REFRESH_EVERY_ENTRIES`] unless set otherwise), and
    /// how many reopenings there have been since the store was opened and the longest (which
    /// held the writer and the readers that long).
    pub fn refreshes(&self) -> &crate::Refreshes {
        &self.refreshes
    }

    /// After a durable append: reopen the engine if [`REFRESH_EVERY_ENTRIES`] or more entries
    /// have been appended, or [`REFRESH_EVERY_LOG_BYTES`] flushed to sled's log, since it was
    /// last opened.
    pub(super) fn refresh_engine_if_due(
        &self,
        writer: &mut Writer,
        size: u64,
    ) -> Result<(), StoreError> {
        if !self.refreshes.is_due(size, self.refreshes.every()) {
            return Ok(());
        }
        self.refresh_engine(writer, size)
    }

    /// Close the engine and open it again, so that it writes a snapshot of its page table.
    /// Holds the writer lock (`writer`); readers wait for the moment it takes.
    fn refresh_engine(&self, writer: &mut Writer, size: u64) -> Result<(), StoreError> {
        // The warmer reads through its own handle on the engine: dropping it stops it, and it
        // starts again on the new engine, skipping the hashes it already holds.
        let warming = self
            .warmer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take()
            .is_some();
        let expected = self.current_meta();
        let mut slot = self.engine.write();
        let held_from = std::time::Instant::now();
        let mut engine_open = std::time::Duration::ZERO;
        let reopened = self.write_durably(writer, |syncer| {
            if let Ok(engine) = &*slot {
                // Door refusals are written without a flush of their own.
                engine
                    .db
                    .flush()
                    .map_err(|e| durable::engine_error(&self.dir, e))?;
            }
            *slot = Err("the storage engine is being reopened".to_owned());
            let opening = std::time::Instant::now();
            let db = open::open_engine(&self.dir);
            engine_open = opening.elapsed();
            let db = db?;
            let trees = Trees::open(&db).map_err(|e| durable::engine_error(&self.dir, e))?;
            check_same_head(&trees, &expected)?;
            // The new page-table snapshot changed the engine directory's listing.
            syncer.sync()?;
            Ok(Engine { db, trees })
        });
        let cost = crate::RefreshCost {
            held: held_from.elapsed(),
            engine_open,
        };
        self.refreshes
            .record(cost, reopened.is_ok().then_some(size));
        match reopened {
            Ok(engine) => {
                if warming {
                    *self.warmer.lock().unwrap_or_else(|p| p.into_inner()) =
                        Warmer::start(engine.trees.hashes.clone(), self.upper.clone(), size);
                }
                *slot = Ok(engine);
                Ok(())
            }
            Err(error) => {
                *slot = Err(error.to_string());
                Err(error)
            }
        }
    }
}

/// The reopened engine must hold the head the store was serving.
fn check_same_head(trees: &Trees, expected: &Meta) -> Result<(), StoreError> {
    let stored = trees
        .meta
        .get(layout::META_HEAD)
        .map_err(|e| StoreError::Engine(e.to_string()))?
        .ok_or_else(|| StoreError::CorruptMetadata("the reopened engine holds no head".into()))?;
    let stored = Meta::decode(&stored).map_err(StoreError::CorruptMetadata)?;
    if stored != *expected {
        return Err(StoreError::CorruptMetadata(format!(
            "the reopened engine's head is at {} entries, the store's at {} entries",
            stored.head.size, expected.head.size
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sled_store::fixture::{append_entries, new_entry};
    use crate::{Batch, LogReader, LogStore};
    use std::sync::atomic::Ordering;

    /// One batch of `count` entries from `first`.
    fn append(store: &SledStore, first: u64, count: u64) {
        append_entries(store, first..first + count);
    }

    /// sled's page-table snapshots in the engine directory (`snap.<lsn>`).
    fn engine_snapshots(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(durable::ENGINE_DIR))
            .unwrap()
            .map(|item| item.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("snap."))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_engine_is_reopened_once_the_entries_since_it_opened_reach_the_interval() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::create_or_open(dir.path()).unwrap();
        store.refreshes().set_every(10);
        append(&store, 0, 9);
        assert_eq!(store.refreshes().count(), 0, "9 entries since the open");
        let before = engine_snapshots(dir.path());
        assert_eq!(store.refreshes().longest(), std::time::Duration::ZERO);
        append(&store, 9, 1);
        assert_eq!(store.refreshes().count(), 1, "10 entries since the open");
        let cost = store.refreshes().longest_cost();
        assert!(
            cost.engine_open > std::time::Duration::ZERO && cost.engine_open < cost.held,
            "sled's open is timed, inside the hold: {cost:?}"
        );
        assert_eq!(store.refreshes().last_cost(), Some(cost));
        assert_ne!(
            engine_snapshots(dir.path()),
            before,
            "reopening wrote a new page-table snapshot"
        );
        // The count starts again from the refresh.
        append(&store, 10, 9);
        assert_eq!(store.refreshes().count(), 1);
        append(&store, 19, 3);
        assert_eq!(store.refreshes().count(), 2);
    }

    #[test]
    fn the_engine_is_reopened_once_sled_has_flushed_the_log_bytes_since_it_opened() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::create_or_open(dir.path()).unwrap();
        assert_eq!(store.refreshes().every_log_bytes(), REFRESH_EVERY_LOG_BYTES);
        store.refreshes().set_every(u64::MAX);
        append(&store, 0, 3);
        let one_batch = store.refreshes().flushed_since_open();
        assert!(one_batch > 0, "appends count the log bytes sled flushed");
        let signer =
            covenant_core::checkpoint::LogSigner::new("test.example/log", [7; 32]).unwrap();
        let root = covenant_core::merkle::tree_root(3, &store).unwrap();
        store.put_checkpoint(3, &signer.sign(3, root)).unwrap();
        assert!(
            store.refreshes().flushed_since_open() > one_batch,
            "and so do checkpoints"
        );
        assert_eq!(store.refreshes().count(), 0);
        // One byte more than flushed so far: the next batch crosses it.
        store
            .refreshes()
            .set_every_log_bytes(store.refreshes().flushed_since_open() + 1);
        append(&store, 3, 3);
        assert_eq!(store.refreshes().count(), 1, "the bytes are reached");
        assert_eq!(store.refreshes().flushed_since_open(), 0);
    }

    #[test]
    fn a_refreshed_store_serves_and_takes_everything_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let head = {
            let store = SledStore::create_or_open(dir.path()).unwrap();
            store.refreshes().set_every(4);
            for first in (0..40).step_by(5) {
                append(&store, first, 5);
            }
            assert_eq!(store.refreshes().count(), 8);
            assert_eq!(store.entries(0, 40).unwrap().len(), 40);
            assert_eq!(store.event("e-17").unwrap().map(|e| e.seq), Some(17));
            // A duplicate is still refused after the engine was reopened under it.
            let again = store.append(Batch {
                entries: vec![new_entry("e-3", 41)],
                ..Batch::default()
            });
            assert!(
                matches!(again, Err(StoreError::DuplicateEvent { .. })),
                "{again:?}"
            );
            store.head()
        };
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.head(), head);
        drop(store);
        let report = crate::check::verify_store(
            dir.path(),
            &crate::check::CheckOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(report.head, head);
    }

    #[test]
    fn readers_running_during_refreshes_see_every_durable_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::create_or_open(dir.path()).unwrap();
        store.refreshes().set_every(3);
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let size = store.head().size;
                    assert_eq!(store.entries(0, size).unwrap().len() as u64, size);
                    reads += 1;
                }
                reads
            });
            for first in (0..60).step_by(2) {
                append(&store, first, 2);
            }
            stop.store(true, Ordering::Relaxed);
            assert!(reader.join().unwrap() > 0);
        });
        // Batches of 2 against an interval of 3: a refresh every 4 entries.
        assert_eq!(store.refreshes().count(), 15);
    }

    #[test]
    fn a_refresh_while_the_upper_hashes_are_read_back_still_reads_them_all() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::create_or_open(dir.path()).unwrap();
            append(&store, 0, 700);
        }
        let store = SledStore::open(dir.path()).unwrap();
        store.refreshes().set_every(1);
        append(&store, 700, 1);
        assert_eq!(store.refreshes().count(), 1);
        store.finish_warming();
        let expected = crate::upper_hashes::indexes(701).count();
        assert!(expected > 0);
        assert_eq!(store.upper_hashes_held(), expected);
    }

    #[test]
    fn a_reopened_engine_with_another_head_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::create_or_open(dir.path()).unwrap();
        append(&store, 0, 2);
        let engine = store.engine().unwrap();
        let mut other = store.current_meta();
        assert!(check_same_head(&engine.trees, &other).is_ok());
        other.head.size += 1;
        let refused = check_same_head(&engine.trees, &other);
        assert!(
            matches!(&refused, Err(StoreError::CorruptMetadata(problem)) if problem.contains("3 entries")),
            "{refused:?}"
        );
    }
}
