//! The reads: the [`LogReader`] impl, the stored hashes behind proofs, and event lookups that
//! the index narrows and the entries confirm.

use super::engine::EngineRef;
use super::preload::Pending;
use super::{
    EnvelopeHeader, SledStore, bad_key, corrupt, decode_envelope_header, decode_rejection,
};
use crate::event_index;
use crate::layout;
use crate::seal::SealChain;
use crate::snapshot;
use crate::{Head, LogReader, RejectionRecord, SealStop, SealedRecords, StateRecords, StoreError};
use covenant_core::entry::{ChainHash, GENESIS_PREVIOUS, chain_hash};
use covenant_core::merkle::{self, Hash, HashReader};
use covenant_core::validate::{IndexedEvent, LedgerState};
use std::sync::atomic::{AtomicBool, Ordering};

impl SledStore {
    /// The record of `tree` that holds item `index`: its first item's index and its value.
    fn record_holding(
        &self,
        tree: &sled::Tree,
        index: u64,
    ) -> Result<Option<(u64, sled::IVec)>, StoreError> {
        let Some((key, record)) = tree
            .range(..=layout::seq_key(index))
            .next_back()
            .transpose()
            .map_err(self.engine_err())?
        else {
            return Ok(None);
        };
        let first = layout::decode_u64(&key).ok_or_else(|| bad_key("record"))?;
        Ok(Some((first, record)))
    }

    /// Stored hash `index`, read from the engine regardless of the head.
    pub(crate) fn read_hash(&self, index: u64) -> Result<Hash, StoreError> {
        if let Some(hash) = self.upper.get(index) {
            return Ok(hash);
        }
        let missing = || StoreError::CorruptMetadata(format!("stored hash {index} is missing"));
        let (first, record) = self
            .record_holding(&self.engine()?.trees.hashes, index)?
            .ok_or_else(missing)?;
        let hash = layout::hash_in_record(&record, index - first).ok_or_else(missing)?;
        self.upper.keep_if_upper(index, hash);
        Ok(hash)
    }

    /// The durable entry holding `event_id` (its sequence number, encoding and header), if
    /// there is one: each candidate the index gives is read and its event id compared, so the
    /// answer is exact.
    pub(super) fn indexed_entry(
        &self,
        event_id: &str,
        print: u64,
        below: u64,
    ) -> Result<Option<(u64, Vec<u8>, EnvelopeHeader)>, StoreError> {
        let candidates = self.read_index().candidates(print);
        // Entries at or past `below` are not asked about, so they are not read.
        for seq in candidates.into_iter().filter(|&seq| seq < below) {
            // A candidate beyond the head belongs to a batch that is not durable yet.
            let Some(entry) = self.entry(seq)? else {
                continue;
            };
            let envelope = covenant_core::entry::envelope_of(&entry);
            let header =
                decode_envelope_header(envelope).map_err(|problem| corrupt(seq, problem))?;
            if header.event_id == event_id {
                return Ok(Some((seq, entry, header)));
            }
        }
        Ok(None)
    }
}

impl HashReader for SledStore {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let durable_count = merkle::stored_hash_count(self.current_meta().head.size);
        indexes
            .iter()
            .map(|&index| {
                if index >= durable_count {
                    return Err(tlog_tiles::Error::IndexesNotInTree);
                }
                self.read_hash(index)
                    .map_err(|e| tlog_tiles::Error::InvalidInput(e.to_string()))
            })
            .collect()
    }
}

impl LogReader for SledStore {
    fn head(&self) -> Head {
        self.current_meta().head
    }

    fn entry(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entries(seq, seq.saturating_add(1))?.pop())
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let end = end.min(self.head().size);
        if start >= end {
            return Ok(Vec::new());
        }
        let engine = self.engine()?;
        let first_record = self
            .record_holding(&engine.trees.entries, start)?
            .map_or(start, |(first, _)| first);
        let mut out = Vec::with_capacity((end - start).min(1 << 16) as usize);
        let mut next_seq = first_record;
        let records = engine
            .trees
            .entries
            .range(layout::seq_key(first_record)..layout::seq_key(end));
        for item in records {
            let (key, record) = item.map_err(self.engine_err())?;
            if layout::decode_u64(&key) != Some(next_seq) {
                return Err(corrupt(next_seq, "the entry is missing"));
            }
            let plain = layout::plain_record(next_seq, &record, self.compressed_from)
                .map_err(|(seq, problem)| corrupt(seq, problem))?;
            let parts = layout::record_entries(next_seq, &plain)
                .map_err(|(seq, problem)| corrupt(seq, problem))?;
            for part in parts {
                if (start..end).contains(&next_seq) {
                    out.push(layout::entry_bytes(next_seq, part));
                }
                next_seq += 1;
            }
        }
        if out.len() as u64 != end - start {
            return Err(corrupt(start + out.len() as u64, "the entry is missing"));
        }
        Ok(out)
    }

    fn event(&self, event_id: &str) -> Result<Option<IndexedEvent>, StoreError> {
        self.event_before(event_id, u64::MAX)
    }

    fn event_before(
        &self,
        event_id: &str,
        before: u64,
    ) -> Result<Option<IndexedEvent>, StoreError> {
        let print = event_index::fingerprint(event_id);
        let Some((seq, entry, header)) = self.indexed_entry(event_id, print, before)? else {
            return Ok(None);
        };
        let envelope = covenant_core::entry::envelope_of(&entry);
        Ok(Some(IndexedEvent {
            seq,
            digest: covenant_core::event::envelope_digest(envelope),
            actor: header.actor,
        }))
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let Some((key, note)) = self
            .engine()?
            .trees
            .checkpoints
            .last()
            .map_err(self.engine_err())?
        else {
            return Ok(None);
        };
        let size = layout::decode_u64(&key).ok_or_else(|| bad_key("checkpoints"))?;
        Ok(Some((size, note.to_vec())))
    }

    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .engine()?
            .trees
            .checkpoints
            .get(layout::seq_key(size))
            .map_err(self.engine_err())?
            .map(|note| note.to_vec()))
    }

    fn checkpoint_sizes(&self) -> Result<Vec<u64>, StoreError> {
        self.engine()?
            .trees
            .checkpoints
            .iter()
            .keys()
            .map(|key| {
                let key = key.map_err(self.engine_err())?;
                layout::decode_u64(&key).ok_or_else(|| bad_key("checkpoints"))
            })
            .collect()
    }

    fn rejections_for(&self, event_id: &str) -> Result<Vec<RejectionRecord>, StoreError> {
        let prefix = layout::rejection_event_prefix(event_id);
        let mut out = Vec::new();
        let engine = self.engine()?;
        for key in engine.trees.rejections_by_event.scan_prefix(&prefix).keys() {
            let key = key.map_err(self.engine_err())?;
            let rejection_key = &key[prefix.len()..];
            let value = engine
                .trees
                .rejections
                .get(rejection_key)
                .map_err(self.engine_err())?
                .ok_or_else(|| {
                    StoreError::CorruptMetadata(format!(
                        "the rejection index names a missing rejection for {event_id:?}"
                    ))
                })?;
            out.push(decode_rejection(&value)?);
        }
        Ok(out)
    }

    fn rejections_since(
        &self,
        since_ns: u64,
        limit: usize,
    ) -> Result<Vec<RejectionRecord>, StoreError> {
        self.engine()?
            .trees
            .rejections
            .range(layout::rejection_key(since_ns, 0)..)
            .values()
            .take(limit)
            .map(|value| decode_rejection(&value.map_err(self.engine_err())?))
            .collect()
    }

    fn door_refusals_for(&self, event_id: &str) -> Result<Vec<RejectionRecord>, StoreError> {
        let prefix = layout::rejection_event_prefix(event_id);
        let mut out = Vec::new();
        let engine = self.engine()?;
        for key in engine
            .trees
            .door_refusals_by_event
            .scan_prefix(&prefix)
            .keys()
        {
            let key = key.map_err(self.engine_err())?;
            let counter_key = &key[prefix.len()..];
            // The oldest may be forgotten between reading the index and the record.
            if let Some(value) = engine
                .trees
                .door_refusals
                .get(counter_key)
                .map_err(self.engine_err())?
            {
                out.push(decode_rejection(&value)?);
            }
        }
        Ok(out)
    }

    fn load_state(&self) -> Result<LedgerState, StoreError> {
        // A snapshot the open could not use is not used here either (`recovery` says why).
        let (from, mut state) = match self.usable_snapshot() {
            Ok(Some((header, mut file))) => match snapshot::read_state(&header, &mut file) {
                Ok(state) => (header.size, state),
                Err(_) => (0, LedgerState::default()),
            },
            Ok(None) | Err(_) => (0, LedgerState::default()),
        };
        for record in self.state_records(from) {
            state.apply_all(record?.1);
        }
        Ok(state)
    }

    fn state_records(&self, from: u64) -> StateRecords<'_> {
        let engine = match self.engine() {
            Ok(engine) => engine,
            Err(error) => return Box::new(std::iter::once(Err(error))),
        };
        // Records are keyed by entry position, so iteration is in log order.
        let records = engine.trees.state.range(layout::seq_key(from)..);
        // The iterator keeps the engine handle, so a refresh waits until it is dropped.
        Box::new(
            HoldingEngine {
                _engine: engine,
                items: records,
            }
            .map(|item| {
                let (key, record) = item.map_err(self.engine_err())?;
                let first = layout::decode_u64(&key).ok_or_else(|| bad_key("state"))?;
                let changes =
                    layout::decode_state_changes(&record).map_err(StoreError::CorruptMetadata)?;
                Ok((first, changes))
            }),
        )
    }

    fn sealed_snapshot_state(
        &self,
        seal_key: &[u8; 32],
    ) -> Result<Option<(u64, LedgerState)>, StoreError> {
        let preloaded = self
            .preloaded_state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take();
        match self.usable_snapshot() {
            // A damaged state section is no shortcut: the caller re-derives from the start.
            Ok(Some((header, mut file))) if header.sealed_by(seal_key) => {
                let state = match preloaded.map(Pending::finish) {
                    // Read from this very file (the header holds its digests) with this key.
                    Some(Ok(Some((read, state)))) if read == header => Ok(state),
                    _ => snapshot::read_state(&header, &mut file),
                };
                Ok(state.ok().map(|state| (header.size, state)))
            }
            _ => Ok(None),
        }
    }

    fn apply_sealed_records(
        &self,
        seal_key: &[u8; 32],
        from: u64,
        state: LedgerState,
    ) -> Result<SealedRecords, StoreError> {
        let head = self.head();
        let chain_before = match from.checked_sub(1) {
            None => GENESIS_PREVIOUS,
            Some(last) => self.chain_hash_of(last)?,
        };
        let mut chain = SealChain::starting_at(seal_key, from, chain_before);
        // The state is a persistent map: the copy costs nothing, and the one handed in is
        // the answer if the seals turn out not to end on this log.
        let mut sealed = state.clone();
        let stopped = self.walk_seals(&mut chain, head.size, &mut sealed)?;
        let size = chain.size();
        let ends_on_the_log = size == from
            || chain.chain_head()
                == if size == head.size {
                    head.chain_head
                } else {
                    self.chain_hash_of(size - 1)?
                };
        if !ends_on_the_log {
            return Ok(SealedRecords {
                size: from,
                state,
                stopped: Some(SealStop::Refused {
                    at: from,
                    problem: format!("the seals up to entry {size} do not end on this log's chain"),
                }),
            });
        }
        Ok(SealedRecords {
            size,
            state: sealed,
            stopped,
        })
    }

    fn snapshot_size(&self) -> u64 {
        self.snapshot_size.load(Ordering::Relaxed)
    }
}

impl SledStore {
    /// The chain hash of entry `seq`, read from the log.
    fn chain_hash_of(&self, seq: u64) -> Result<ChainHash, StoreError> {
        let bytes = self.entry(seq)?.ok_or_else(|| StoreError::Corrupt {
            seq,
            problem: "the entry is missing".to_owned(),
        })?;
        Ok(chain_hash(&bytes))
    }

    /// Apply to `state` the records of the batches `chain` admits, up to `size`; returns why
    /// it stopped before `size`, if it did.
    fn walk_seals(
        &self,
        chain: &mut SealChain<'_>,
        size: u64,
        state: &mut LedgerState,
    ) -> Result<Option<SealStop>, StoreError> {
        let engine = self.engine()?;
        let walked = AtomicBool::new(false);
        std::thread::scope(|scope| {
            read_ahead(scope, &engine.trees.state, chain.size(), size, &walked);
            let stop = self.walk_records(&engine, chain, size, state);
            walked.store(true, Ordering::Relaxed);
            stop
        })
    }

    /// [`SledStore::walk_seals`] on the engine it holds.
    fn walk_records(
        &self,
        engine: &EngineRef<'_>,
        chain: &mut SealChain<'_>,
        size: u64,
        state: &mut LedgerState,
    ) -> Result<Option<SealStop>, StoreError> {
        for item in engine.trees.state.range(layout::seq_key(chain.size())..) {
            if chain.size() >= size {
                break;
            }
            let (key, value) = item.map_err(self.engine_err())?;
            let first = layout::decode_u64(&key).ok_or_else(|| bad_key("state"))?;
            // In a sealed log every batch has a record; a gap is a batch without one.
            if first > chain.size() {
                return Ok(Some(SealStop::Unsealed(chain.size())));
            }
            let refused = |problem: String| Ok(Some(SealStop::Refused { at: first, problem }));
            let record = match layout::decode_state_record(&value) {
                Ok(record) => record,
                Err(problem) => return refused(problem),
            };
            let Some((seal, sealed_len)) = record.seal else {
                return Ok(Some(SealStop::Unsealed(first)));
            };
            if seal.end > size {
                return refused(format!("it ends at entry {}, beyond the head", seal.end));
            }
            if let Err(problem) = chain.admit(first, &seal, &value[..sealed_len]) {
                return refused(problem);
            }
            state.apply_all(record.changes);
        }
        Ok((chain.size() < size).then(|| SealStop::Unsealed(chain.size())))
    }
}

/// How many threads read a long walk's state records ahead of it.
const READ_AHEAD_THREADS: u64 = 4;

/// The fewest entries whose state records are read ahead: a shorter walk is a few reads.
const READ_AHEAD_MIN_ENTRIES: u64 = 32_768;

/// Read the state records of entries `from..to` of `tree` on threads of their own, a share of
/// the range each, until they are read or `walked` is set, so that the walk over them finds
/// them in memory. sled's leaves lie scattered through its log, written as the log grew
/// beside everything else, so a walk alone waits for the disk one leaf at a time; the threads
/// keep several reads in flight. Only a shortcut: a record they fail to read, the walk reads
/// (and reports) itself.
fn read_ahead<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    tree: &'scope sled::Tree,
    from: u64,
    to: u64,
    walked: &'scope AtomicBool,
) {
    let entries = to.saturating_sub(from);
    if entries < READ_AHEAD_MIN_ENTRIES {
        return;
    }
    let share = entries.div_ceil(READ_AHEAD_THREADS);
    for start in (from..to).step_by(share as usize) {
        let range = layout::seq_key(start)..layout::seq_key(start.saturating_add(share));
        let reading = std::thread::Builder::new()
            .name("covenant-read-ahead".to_owned())
            .spawn_scoped(scope, move || {
                for item in tree.range(range) {
                    if item.is_err() || walked.load(Ordering::Relaxed) {
                        break;
                    }
                }
            });
        // Without a thread the walk reads the share itself.
        drop(reading);
    }
}

/// An iterator over the engine that holds the engine handle while it lives.
struct HoldingEngine<'a, I> {
    _engine: EngineRef<'a>,
    items: I,
}

impl<I: Iterator> Iterator for HoldingEngine<'_, I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        self.items.next()
    }
}
