//! The writes: the [`LogStore`] impl (appends, checkpoints, door refusals, snapshots) and the
//! bookkeeping of the bounded door-refusal trees.

use super::{SledStore, bad_key, decode_rejection};
use crate::durable;
use crate::layout;
use crate::snapshot::{SnapshotJob, WrittenSnapshot};
use crate::{Batch, Head, LogReader, LogStore, RejectionRecord, StoreError};
use covenant_core::merkle;
use covenant_core::validate::LedgerState;
use sled::transaction::{TransactionError, TransactionalTree};
use std::sync::atomic::Ordering;

impl LogStore for SledStore {
    fn append(&self, batch: Batch) -> Result<Head, StoreError> {
        let mut writer = self.lock_writer()?;
        let meta = self.current_meta();
        let nothing_to_write = batch.entries.is_empty()
            && batch.state_changes.is_empty()
            && batch.rejections.is_empty()
            && batch
                .stream_seq
                .is_none_or(|seq| seq == meta.head.stream_seq);
        if nothing_to_write {
            return Ok(meta.head);
        }
        // Everything that can refuse the batch runs before the first write.
        let (mut writes, next) = self.prepare(batch, meta)?;
        let new_prints = std::mem::take(&mut writes.new_prints);
        let new_upper_hashes = std::mem::take(&mut writes.new_upper_hashes);
        let inserts = writes.inserts;
        self.write_durably(&mut writer, |syncer| self.commit(writes, syncer))?;
        self.engine_inserts.fetch_add(inserts, Ordering::Relaxed);
        self.upper.keep_all(new_upper_hashes);
        // The index learns the batch before the head moves; a reader that finds a candidate
        // beyond the head skips it.
        let mut index = self.write_index();
        for (offset, print) in new_prints.into_iter().enumerate() {
            index.insert_fingerprint(print, meta.head.size + offset as u64);
        }
        drop(index);
        *self.meta.write().unwrap_or_else(|p| p.into_inner()) = next;
        // The batch is durable whatever the refresh does; a refresh that fails leaves the
        // store refusing writes until it is reopened, naming why.
        let _ = self.refresh_engine_if_due(&mut writer, next.head.size);
        Ok(next.head)
    }

    fn put_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        let mut writer = self.lock_writer()?;
        let head = self.head();
        if size > head.size {
            return Err(StoreError::InvalidCheckpoint {
                size,
                problem: format!("the log has only {} entries", head.size),
            });
        }
        let (note_size, note_root) = crate::check::checkpoint_claim(note)
            .map_err(|problem| StoreError::InvalidCheckpoint { size, problem })?;
        if note_size != size {
            return Err(StoreError::InvalidCheckpoint {
                size,
                problem: format!("the note is for size {note_size}"),
            });
        }
        let root = merkle::tree_root(size, self)
            .map_err(|e| StoreError::CorruptMetadata(format!("tree root at size {size}: {e}")))?;
        if root != note_root {
            return Err(StoreError::InvalidCheckpoint {
                size,
                problem: "the note's root is not the log's root at that size".to_owned(),
            });
        }
        self.write_durably(&mut writer, |syncer| {
            let engine = self.engine()?;
            engine
                .trees
                .checkpoints
                .insert(layout::seq_key(size), note)
                .map_err(self.engine_err())?;
            let flushed = engine.db.flush().map_err(self.engine_err())?;
            self.refreshes.flushed(flushed);
            syncer.sync()
        })
    }

    fn remember_door_refusal(&self, record: RejectionRecord) -> Result<bool, StoreError> {
        let _door = self.door.lock().unwrap_or_else(|p| p.into_inner());
        if self.door_refusal_count_for(&record.event_id)? >= crate::MAX_DOOR_REFUSALS_PER_EVENT {
            return Ok(false);
        }
        // Counters only grow and only the oldest is ever removed, so the kept ones are
        // first..=last without gaps.
        let next = match self.door_refusal_bounds()? {
            Some((mut first, last)) => {
                while last - first + 1 >= crate::MAX_DOOR_REFUSALS {
                    self.forget_oldest_door_refusal(first)?;
                    first += 1;
                }
                last + 1
            }
            None => 0,
        };
        let key = layout::seq_key(next);
        let mut index_key = layout::rejection_event_prefix(&record.event_id);
        index_key.extend_from_slice(&key);
        let value = layout::encode_rejection(&record);
        let engine = self.engine()?;
        let trees = [
            engine.trees.door_refusals.clone(),
            engine.trees.door_refusals_by_event.clone(),
        ];
        let outcome: Result<(), TransactionError<()>> =
            sled::Transactional::transaction(&trees[..], |views: &Vec<TransactionalTree>| {
                views[0].insert(&key[..], &value[..])?;
                views[1].insert(&index_key[..], &[][..])?;
                Ok(())
            });
        outcome.map_err(|e| match e {
            TransactionError::Storage(e) => durable::engine_error(&self.dir, e),
            TransactionError::Abort(()) => StoreError::Engine("transaction aborted".to_owned()),
        })?;
        Ok(true)
    }

    fn begin_snapshot(
        &self,
        state: LedgerState,
        seal_key: Option<[u8; 32]>,
    ) -> Result<SnapshotJob, StoreError> {
        // Under the writer lock, so the head and the index are those of one moment.
        let _writer = self.lock_writer()?;
        let head = self.head();
        let (sorted, recent) = self.read_index().snapshot_parts();
        Ok(SnapshotJob {
            dir: self.dir.clone(),
            size: head.size,
            chain_head: head.chain_head,
            state,
            sorted,
            recent,
            seal_key,
        })
    }

    fn finish_snapshot(&self, written: WrittenSnapshot) {
        self.write_index().adopt(written.merged, written.size);
        self.snapshot_size.store(written.size, Ordering::Relaxed);
    }
}

impl SledStore {
    /// The first and last counter of the door refusals kept, if any.
    fn door_refusal_bounds(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let engine = self.engine()?;
        let tree = &engine.trees.door_refusals;
        let counter = |key: &[u8]| layout::decode_u64(key).ok_or_else(|| bad_key("door_refusals"));
        match (
            tree.first().map_err(self.engine_err())?,
            tree.last().map_err(self.engine_err())?,
        ) {
            (Some((first, _)), Some((last, _))) => Ok(Some((counter(&first)?, counter(&last)?))),
            _ => Ok(None),
        }
    }

    /// Forget the oldest door refusal, index entry included.
    fn forget_oldest_door_refusal(&self, counter: u64) -> Result<(), StoreError> {
        let key = layout::seq_key(counter);
        let engine = self.engine()?;
        let Some(value) = engine
            .trees
            .door_refusals
            .remove(key)
            .map_err(self.engine_err())?
        else {
            return Ok(());
        };
        let record = decode_rejection(&value)?;
        let mut index_key = layout::rejection_event_prefix(&record.event_id);
        index_key.extend_from_slice(&key);
        engine
            .trees
            .door_refusals_by_event
            .remove(index_key)
            .map_err(self.engine_err())?;
        Ok(())
    }

    fn door_refusal_count_for(&self, event_id: &str) -> Result<usize, StoreError> {
        Ok(self
            .engine()?
            .trees
            .door_refusals_by_event
            .scan_prefix(layout::rejection_event_prefix(event_id))
            .keys()
            .count())
    }
}
