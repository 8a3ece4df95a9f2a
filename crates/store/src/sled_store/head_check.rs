//! The cheap check on open: the newest entries and the stored hashes agree with the head.

use super::{SledStore, bad_key, corrupt};
use crate::layout;
use crate::{LogReader, StoreError};
use covenant_core::entry::{ChainVerifier, Entry};
use covenant_core::merkle;

/// How many of the newest entries the cheap check on open re-links and re-hashes.
const OPEN_CHECK_ENTRIES: u64 = 16;

impl SledStore {
    /// The cheap check on open: the newest entries link up to the head's chain hash, their
    /// leaves are the stored leaf hashes, nothing lies beyond the head, and the stored hashes
    /// give the head's root.
    pub(super) fn check_head(&self) -> Result<(), StoreError> {
        let head = self.current_meta().head;
        let engine = self.engine()?;
        let stored_entries =
            self.record_end(&engine.trees.entries, "entries", |first, record| {
                layout::plain_record(first, record, self.compressed_from)
                    .and_then(|plain| layout::record_entries(first, &plain).map(|p| p.len() as u64))
                    .map_err(|(seq, problem)| corrupt(seq, problem))
            })?;
        if stored_entries != head.size {
            return Err(StoreError::CorruptMetadata(format!(
                "the head says {} entries but {stored_entries} are stored",
                head.size
            )));
        }
        let hash_count = merkle::stored_hash_count(head.size);
        let stored_hashes = self.record_end(&engine.trees.hashes, "hashes", |_, record| {
            Ok(record.len() as u64 / 32)
        })?;
        if stored_hashes != hash_count {
            return Err(StoreError::CorruptMetadata(format!(
                "a log of {} entries has {hash_count} stored hashes but {stored_hashes} are stored",
                head.size
            )));
        }
        if head.size > 0 {
            let start = head.size.saturating_sub(OPEN_CHECK_ENTRIES + 1);
            let entries = self.entries(start, head.size)?;
            let first = Entry::decode(&entries[0]).map_err(|e| corrupt(start, e))?;
            let mut chain = ChainVerifier::resume(start, first.previous, first.stored_at_ns);
            for (offset, bytes) in entries.iter().enumerate() {
                let seq = start + offset as u64;
                chain.push(bytes).map_err(|e| corrupt(seq, e))?;
                let stored_leaf = self.read_hash(merkle::stored_hash_index(0, seq))?;
                if stored_leaf != merkle::leaf_hash(bytes) {
                    return Err(corrupt(
                        seq,
                        "the stored leaf hash differs from the entry's",
                    ));
                }
            }
            if chain.head() != head.chain_head {
                return Err(StoreError::CorruptMetadata(
                    "the newest entry's chain hash is not the head's".to_owned(),
                ));
            }
            let newest = Entry::decode(entries.last().expect("size > 0"))
                .map_err(|e| corrupt(head.size - 1, e))?;
            if newest.stored_at_ns != head.last_stored_at_ns {
                return Err(StoreError::CorruptMetadata(
                    "the newest entry's storage time is not the head's".to_owned(),
                ));
            }
        }
        let root = merkle::tree_root(head.size, self).map_err(|e| {
            StoreError::CorruptMetadata(format!("the tree root cannot be computed: {e}"))
        })?;
        if root != head.root {
            return Err(StoreError::CorruptMetadata(format!(
                "the stored hashes give a different root for size {} than the head records",
                head.size
            )));
        }
        Ok(())
    }

    /// One past the last item of a record tree: the last record's key plus its length.
    fn record_end(
        &self,
        tree: &sled::Tree,
        name: &str,
        length: impl Fn(u64, &[u8]) -> Result<u64, StoreError>,
    ) -> Result<u64, StoreError> {
        let Some((key, record)) = tree.last().map_err(self.engine_err())? else {
            return Ok(0);
        };
        let first = layout::decode_u64(&key).ok_or_else(|| bad_key(name))?;
        Ok(first + length(first, &record)?)
    }
}
