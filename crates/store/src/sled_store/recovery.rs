//! The rebuild of the in-memory event index on open, from the newest usable snapshot and then the
//! per-batch fingerprint records after it, and the [`Recovery`] that reports how it went.

use super::preload::Pending;
use super::{SledStore, bad_key, corrupt};
use crate::event_index::{self, EventIndex};
use crate::layout;
use crate::snapshot;
use crate::{LogReader, StoreError};
use covenant_core::entry::chain_hash;
use std::sync::atomic::Ordering;

/// How the last open rebuilt what the store keeps in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The size of the snapshot the open started from, if it used one.
    pub snapshot_size: Option<u64>,
    /// Why a snapshot that was there could not be used (the open then read the whole log).
    pub snapshot_refused: Option<String>,
    /// Entries after the snapshot whose index records the open read.
    pub replayed_entries: u64,
    /// How long the engine took to open (sled recovering its own log).
    pub engine_open: std::time::Duration,
    /// How long the open then took to finish the event index: waiting for the snapshot's
    /// (read beside the engine's recovery, `preload`) and replaying the records after it.
    pub index_load: std::time::Duration,
}

impl SledStore {
    /// How the last open rebuilt the in-memory index and found the snapshot.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The newest snapshot in the directory, opened, if it is one of this log (as
    /// `check_of_this_log` decides).
    pub(super) fn usable_snapshot(
        &self,
    ) -> Result<Option<(snapshot::Header, std::fs::File)>, String> {
        let Some((header, file)) = snapshot::open(&self.dir)? else {
            return Ok(None);
        };
        self.check_of_this_log(&header)?;
        Ok(Some((header, file)))
    }

    /// Whether a snapshot is of this log: its size is within the log and its chain hash is
    /// the log's at that size.
    fn check_of_this_log(&self, header: &snapshot::Header) -> Result<(), String> {
        let head = self.current_meta().head;
        if header.size > head.size {
            return Err(format!(
                "it describes {} entries but the log has {}",
                header.size, head.size
            ));
        }
        let chain_head = match header.size {
            0 => [0; 32],
            size => {
                let entry = self
                    .entry(size - 1)
                    .map_err(|e| e.to_string())?
                    .ok_or("its last entry is missing")?;
                chain_hash(&entry)
            }
        };
        if chain_head != header.chain_head {
            return Err(format!(
                "its chain hash at size {} is not the log's",
                header.size
            ));
        }
        Ok(())
    }

    /// Rebuild the in-memory event index: the snapshot's (`read`, begun before the engine
    /// opened), then the per-batch records of fingerprints after it (all of them when there
    /// is no usable snapshot).
    pub(super) fn load_index(
        &self,
        read: Pending<Vec<(u64, u64)>>,
    ) -> Result<Recovery, StoreError> {
        let started = std::time::Instant::now();
        let mut recovery = Recovery::default();
        let found = read.finish().and_then(|found| match found {
            Some((header, pairs)) => self
                .check_of_this_log(&header)
                .map(|()| Some((header.size, pairs))),
            None => Ok(None),
        });
        let snapshot_pairs = match found {
            Ok(Some((size, pairs))) => {
                recovery.snapshot_size = Some(size);
                self.snapshot_size.store(size, Ordering::Relaxed);
                pairs
            }
            Ok(None) => Vec::new(),
            Err(problem) => {
                recovery.snapshot_refused = Some(problem);
                Vec::new()
            }
        };
        let from = snapshot_pairs.len() as u64;
        // The records after the snapshot are sorted and merged into its pairs rather than
        // inserted one by one into the index's map: at ten million entries, 4.5 s against
        // about one.
        let mut tail: Vec<(u64, u64)> = Vec::new();
        for item in self.engine()?.trees.prints.range(layout::seq_key(from)..) {
            let (key, record) = item.map_err(self.engine_err())?;
            let first = layout::decode_u64(&key).ok_or_else(|| bad_key(layout::TREE_PRINTS))?;
            let next = from + tail.len() as u64;
            if first != next {
                return Err(corrupt(next, "the event index record is missing"));
            }
            let prints =
                layout::decode_prints(&record).map_err(|problem| corrupt(first, problem))?;
            tail.extend((first..).zip(prints).map(|(seq, print)| (print, seq)));
        }
        let index = EventIndex::from_sorted(event_index::merge_sorted(snapshot_pairs, tail));
        let size = self.current_meta().head.size;
        if index.len() != size {
            return Err(StoreError::CorruptMetadata(format!(
                "the event index records cover {} entries but the log has {size}",
                index.len()
            )));
        }
        recovery.replayed_entries = size - from;
        recovery.index_load = started.elapsed();
        *self.write_index() = index;
        Ok(recovery)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_index;
    use crate::sled_store::fixture::new_entry;
    use crate::snapshot::SnapshotJob;
    use crate::{Batch, Head, LogStore};
    use covenant_core::validate::LedgerState;

    fn append_one(
        store: &SledStore,
        event_id: &str,
        stored_at_ns: u64,
    ) -> Result<Head, StoreError> {
        store.append(Batch {
            entries: vec![new_entry(event_id, stored_at_ns)],
            ..Batch::default()
        })
    }

    /// An index loaded from a snapshot that lies (here: one entry under another id's
    /// fingerprint, with a digest that matches) makes the deep check fail, naming the entry.
    #[test]
    fn the_deep_check_catches_a_snapshot_whose_index_lies() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::create_or_open(dir.path()).unwrap();
            for n in 0..5 {
                append_one(&store, &format!("e-{n}"), n).unwrap();
            }
            let head = store.head();
            let mut pairs: Vec<(u64, u64)> = (0..5)
                .map(|n| (event_index::fingerprint(&format!("e-{n}")), n))
                .collect();
            pairs[3].0 = event_index::fingerprint("someone-else");
            pairs.sort_unstable();
            SnapshotJob {
                dir: dir.path().to_owned(),
                size: head.size,
                chain_head: head.chain_head,
                state: LedgerState::default(),
                sorted: std::sync::Arc::new(pairs),
                recent: Vec::new(),
                seal_key: None,
            }
            .write()
            .unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.recovery().snapshot_size, Some(5));
        // The lie hides entry 3 from lookups, so the store alone would take it again...
        assert_eq!(store.event("e-3").unwrap(), None);
        drop(store);
        // ...which is what the deep check is for.
        let error = crate::check::verify_store(
            dir.path(),
            &crate::check::CheckOptions::default(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(&error, StoreError::Corrupt { seq: 3, problem } if problem.contains("loaded on open")),
            "{error}"
        );
    }
}
