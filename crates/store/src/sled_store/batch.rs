//! Preparing a batch: every check that can refuse it and every record it writes, built in
//! memory before anything reaches the engine.

use super::{SledStore, decode_envelope_header};
use crate::event_index;
use crate::layout::{self, Meta};
use crate::seal::{BatchStart, Seal};
use crate::upper_hashes;
use crate::{Batch, NewEntry, StoreError};
use covenant_core::entry::{Entry, chain_hash};
use covenant_core::merkle::{self, Hash, HashReader};
use std::collections::HashSet;

/// Everything one batch writes, per tree.
#[derive(Default)]
pub(super) struct BatchWrites {
    pub(super) entries: sled::Batch,
    pub(super) hashes: sled::Batch,
    pub(super) prints: sled::Batch,
    pub(super) state: sled::Batch,
    pub(super) rejections: sled::Batch,
    pub(super) rejections_by_event: sled::Batch,
    pub(super) meta: sled::Batch,
    /// How many inserts the batches above hold.
    pub(super) inserts: u64,
    /// The fingerprint of each new entry's event id, in order.
    pub(super) new_prints: Vec<u64>,
    /// The new upper-level stored hashes (`crate::upper_hashes`), by stored-hash index.
    pub(super) new_upper_hashes: Vec<(u64, Hash)>,
}

/// Which of [`BatchWrites`]'s batches a write goes to.
#[derive(Clone, Copy)]
enum Slot {
    Entries,
    Hashes,
    Prints,
    State,
    Rejections,
    RejectionsByEvent,
    Meta,
}

impl BatchWrites {
    fn put(&mut self, slot: Slot, key: &[u8], value: impl Into<sled::IVec>) {
        let batch = match slot {
            Slot::Entries => &mut self.entries,
            Slot::Hashes => &mut self.hashes,
            Slot::Prints => &mut self.prints,
            Slot::State => &mut self.state,
            Slot::Rejections => &mut self.rejections,
            Slot::RejectionsByEvent => &mut self.rejections_by_event,
            Slot::Meta => &mut self.meta,
        };
        batch.insert(key, value);
        self.inserts += 1;
    }
}

impl SledStore {
    /// Build everything `batch` writes, starting from `meta`. Nothing is written yet.
    pub(super) fn prepare(
        &self,
        batch: Batch,
        meta: Meta,
    ) -> Result<(BatchWrites, Meta), StoreError> {
        let mut writes = BatchWrites::default();
        let mut next = meta;
        let mut batch_ids = HashSet::with_capacity(batch.entries.len());
        let mut pending = PendingHashes {
            store: self,
            first_new: merkle::stored_hash_count(meta.head.size),
            new: Vec::with_capacity(batch.entries.len() * 2),
        };
        let mut record = Record::starting_at(next.head.size, pending.first_new);
        for entry in batch.entries {
            let seq = next.head.size;
            self.check_new_entry(&entry, seq, next.head.last_stored_at_ns, &mut batch_ids)?;
            let print = event_index::fingerprint(&entry.event_id);
            self.check_not_indexed(&entry.event_id, print)?;
            writes.new_prints.push(print);
            let stored_at_ns = entry.stored_at_ns;
            let encoded = Entry {
                seq,
                stored_at_ns,
                previous: next.head.chain_head,
                envelope: entry.envelope,
            }
            .encode();
            let leaf = merkle::leaf_hash(&encoded);
            let new_hashes = merkle::new_stored_hashes(seq, leaf, &pending)
                .map_err(|e| StoreError::CorruptMetadata(format!("stored hashes: {e}")))?;
            if record.is_full() {
                record.write_to(&mut writes);
                record = Record::starting_at(seq, pending.first_new + pending.new.len() as u64);
            }
            record.push(&encoded, &new_hashes);
            let first_index = pending.first_new + pending.new.len() as u64;
            writes
                .new_upper_hashes
                .extend(upper_hashes::of_new_entry(first_index, &new_hashes));
            pending.new.extend(new_hashes);
            next.head.chain_head = chain_hash(&encoded);
            next.head.last_stored_at_ns = stored_at_ns;
            next.head.size += 1;
        }
        if !record.is_empty() {
            record.write_to(&mut writes);
        }
        if !writes.new_prints.is_empty() {
            let prints = layout::encode_prints(&writes.new_prints);
            writes.put(Slot::Prints, &layout::seq_key(meta.head.size), prints);
        }
        if next.head.size != meta.head.size {
            next.head.root = merkle::tree_root(next.head.size, &pending)
                .map_err(|e| StoreError::CorruptMetadata(format!("tree root: {e}")))?;
        }
        let mut state_record = Vec::new();
        if !batch.state_changes.is_empty() {
            // The record is keyed by the batch's first entry, so a batch without entries
            // would overwrite the next batch's changes.
            if next.head.size == meta.head.size {
                return Err(StoreError::InvalidEntry {
                    seq: meta.head.size,
                    problem: "a batch with state changes must append entries".to_owned(),
                });
            }
            state_record =
                layout::encode_state_changes(&batch.state_changes).map_err(|problem| {
                    StoreError::Engine(format!("encode state changes: {problem}"))
                })?;
        }
        if let Some(key) = batch.seal_key.filter(|_| next.head.size > meta.head.size) {
            let start = BatchStart {
                first: meta.head.size,
                chain_before: meta.head.chain_head,
            };
            let seal = Seal::new(
                &key,
                start,
                next.head.size,
                next.head.chain_head,
                &state_record,
            );
            layout::seal_state_record(&mut state_record, &seal);
        }
        if !state_record.is_empty() {
            writes.put(Slot::State, &layout::seq_key(meta.head.size), state_record);
        }
        for record in &batch.rejections {
            let key = layout::rejection_key(record.stored_at_ns, next.rejection_count);
            next.rejection_count += 1;
            writes.put(Slot::Rejections, &key, layout::encode_rejection(record));
            let mut index_key = layout::rejection_event_prefix(&record.event_id);
            index_key.extend_from_slice(&key);
            writes.put(Slot::RejectionsByEvent, &index_key, &[][..]);
        }
        if let Some(stream_seq) = batch.stream_seq {
            next.head.stream_seq = stream_seq;
        }
        writes.put(Slot::Meta, layout::META_HEAD, &next.encode()[..]);
        Ok((writes, next))
    }

    /// Refuse an entry that would make the log or its index inconsistent.
    fn check_new_entry(
        &self,
        entry: &NewEntry,
        seq: u64,
        previous_stored_at_ns: u64,
        batch_ids: &mut HashSet<String>,
    ) -> Result<(), StoreError> {
        let invalid = |problem: String| StoreError::InvalidEntry { seq, problem };
        if entry.envelope.len() > covenant_core::MAX_ENVELOPE_BYTES {
            return Err(invalid(format!(
                "envelope of {} bytes exceeds the {}-byte limit",
                entry.envelope.len(),
                covenant_core::MAX_ENVELOPE_BYTES
            )));
        }
        if entry.stored_at_ns < previous_stored_at_ns {
            return Err(invalid(format!(
                "stored_at_ns {} is before the previous entry's {previous_stored_at_ns}",
                entry.stored_at_ns
            )));
        }
        if covenant_core::event::envelope_digest(&entry.envelope) != entry.digest {
            return Err(invalid(
                "digest is not the blake3 of the envelope".to_owned(),
            ));
        }
        let header = decode_envelope_header(&entry.envelope).map_err(invalid)?;
        if header.event_id != entry.event_id || header.actor != entry.actor {
            return Err(invalid(format!(
                "event id {:?} and actor {:?} differ from the envelope's {:?} and {:?}",
                entry.event_id, entry.actor, header.event_id, header.actor
            )));
        }
        if !batch_ids.insert(entry.event_id.clone()) {
            return Err(StoreError::DuplicateInBatch {
                event_id: entry.event_id.clone(),
            });
        }
        Ok(())
    }

    fn check_not_indexed(&self, event_id: &str, print: u64) -> Result<(), StoreError> {
        match self.indexed_entry(event_id, print, u64::MAX)? {
            Some((seq, _, _)) => Err(StoreError::DuplicateEvent {
                event_id: event_id.to_owned(),
                seq,
            }),
            None => Ok(()),
        }
    }
}

/// The record being filled while a batch is prepared.
struct Record {
    first_seq: u64,
    first_hash: u64,
    entries: Vec<u8>,
    count: usize,
    hashes: Vec<u8>,
}

impl Record {
    fn starting_at(first_seq: u64, first_hash: u64) -> Self {
        Self {
            first_seq,
            first_hash,
            entries: Vec::new(),
            count: 0,
            hashes: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn is_full(&self) -> bool {
        self.count >= layout::RECORD_MAX_ENTRIES || self.entries.len() >= layout::RECORD_MAX_BYTES
    }

    fn push(&mut self, encoded_entry: &[u8], new_hashes: &[Hash]) {
        layout::push_entry(&mut self.entries, encoded_entry);
        new_hashes
            .iter()
            .for_each(|hash| self.hashes.extend_from_slice(&hash.0));
        self.count += 1;
    }

    fn write_to(self, writes: &mut BatchWrites) {
        writes.put(
            Slot::Entries,
            &layout::seq_key(self.first_seq),
            layout::compress_record(&self.entries),
        );
        writes.put(Slot::Hashes, &layout::seq_key(self.first_hash), self.hashes);
    }
}

/// Persisted stored hashes plus the ones computed so far in the batch being prepared.
struct PendingHashes<'a> {
    store: &'a SledStore,
    first_new: u64,
    new: Vec<Hash>,
}

impl HashReader for PendingHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&index| match index.checked_sub(self.first_new) {
                Some(offset) => self
                    .new
                    .get(offset as usize)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree),
                None => self
                    .store
                    .read_hash(index)
                    .map_err(|e| tlog_tiles::Error::InvalidInput(e.to_string())),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::sled_store::SledStore;
    use crate::sled_store::fixture::new_entry;
    use crate::{Batch, LogStore};

    #[test]
    fn an_append_writes_nothing_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::create_or_open(dir.path()).unwrap();
        let entries = (0..1000).map(|n| new_entry(&format!("e-{n}"), n)).collect();
        store
            .append(Batch {
                entries,
                ..Batch::default()
            })
            .unwrap();
        // 63 records of entries and 63 of stored hashes (16 entries each), one record of
        // fingerprints and the head.
        assert_eq!(store.engine_inserts(), 63 + 63 + 1 + 1);
    }
}
