//! The durable-write path: one sled transaction across a batch's trees, the engine's flush and
//! the fsyncs sled leaves out, under a writer lock that a failed write closes until reopen.
//!
//! These are steps 1 and 4 to 8 of the write path the parent module lists.
//!
//! Why the fsyncs: sled 0.34's `flush()` ends in `sync_file_range`, not `fsync` (sled issue
//! 1452). `sync_file_range` starts and waits for write-back of the file's dirty pages in a
//! range, but it neither writes the file's metadata (the size of a grown file, block
//! allocations) nor issues a cache flush to the device, so after a power cut the "flushed"
//! data can be missing or the file shorter than sled believes. So `durable::Syncer` fsyncs
//! the log file after every flush, and also what sled never syncs at all: new blob files and
//! changed directory listings.

use super::batch::BatchWrites;
use super::{SledStore, Writer, panic_message};
use crate::StoreError;
use crate::durable::{self, Syncer};
use sled::transaction::{TransactionError, TransactionalTree};
use std::panic::AssertUnwindSafe;

impl SledStore {
    pub(super) fn commit(
        &self,
        writes: BatchWrites,
        syncer: &mut Syncer,
    ) -> Result<(), StoreError> {
        let engine = self.engine()?;
        let trees = engine.trees.for_batch();
        let BatchWrites {
            entries,
            hashes,
            prints,
            state,
            rejections,
            rejections_by_event,
            meta,
            inserts: _,
            new_prints: _,
            new_upper_hashes: _,
        } = writes;
        let batches = [
            entries,
            hashes,
            prints,
            state,
            rejections,
            rejections_by_event,
            meta,
        ];
        let outcome: Result<(), TransactionError<()>> =
            sled::Transactional::transaction(&trees[..], |views: &Vec<TransactionalTree>| {
                for (view, batch) in views.iter().zip(&batches) {
                    view.apply_batch(batch)?;
                }
                Ok(())
            });
        outcome.map_err(|e| match e {
            TransactionError::Storage(e) => durable::engine_error(&self.dir, e),
            TransactionError::Abort(()) => StoreError::Engine("transaction aborted".to_owned()),
        })?;
        let flushed = engine.db.flush().map_err(self.engine_err())?;
        self.refreshes.flushed(flushed);
        syncer.sync()
    }

    /// The writer lock, refusing to hand it out once a write has failed.
    pub(super) fn lock_writer(&self) -> Result<std::sync::MutexGuard<'_, Writer>, StoreError> {
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(reason) = &writer.failed {
            return Err(StoreError::NeedsReopen {
                reason: reason.clone(),
            });
        }
        Ok(writer)
    }

    /// Run a write under the writer lock. If it fails once it has reached the engine, the
    /// engine's memory may hold part of it, so the store refuses further writes until it is
    /// reopened (reopening recovers exactly what is on disk).
    pub(super) fn write_durably<T>(
        &self,
        writer: &mut Writer,
        write: impl FnOnce(&mut Syncer) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| write(&mut writer.syncer)))
            .unwrap_or_else(|panic| {
                Err(StoreError::Engine(format!(
                    "the storage engine failed: {}",
                    panic_message(&panic)
                )))
            });
        if let Err(error) = &result {
            writer.failed = Some(error.to_string());
        }
        result
    }
}
