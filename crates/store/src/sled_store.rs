//! [`LogStore`] on sled 0.34.
//!
//! One sled database per store, one tree per kind of record (see `layout`), and one sled
//! transaction across all trees per batch, followed by `flush` and the fsyncs sled leaves out.
//! The head lives in memory and moves only after a batch is durable, so readers never see an
//! entry that a crash could take back.

use crate::durable::{self, DirState, Syncer};
use crate::event_index::{self, EventIndex};
use crate::layout::{self, Meta};
use crate::snapshot::{self, SnapshotJob, WrittenSnapshot};
use crate::upgrade;
use crate::{
    Batch, Head, LogReader, LogStore, NewEntry, RejectionRecord, StateRecords, StoreError,
};
use covenant_core::entry::{ChainVerifier, Entry, chain_hash};
use covenant_core::merkle::{self, Hash, HashReader};
use covenant_core::validate::{IndexedEvent, LedgerState};
use sled::transaction::{TransactionError, TransactionalTree};
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

/// How many of the newest entries the cheap check on open re-links and re-hashes.
const OPEN_CHECK_ENTRIES: u64 = 16;

/// The log store on sled.
pub struct SledStore {
    dir: PathBuf,
    db: sled::Db,
    trees: Trees,
    /// The head and counters as of the last durable batch.
    meta: RwLock<Meta>,
    /// Serialises writers; holds what a write needs beyond the trees.
    writer: Mutex<Writer>,
    /// The event-id index of every durable entry (in memory; see `event_index`).
    index: RwLock<EventIndex>,
    /// The size of the newest snapshot (0: none).
    snapshot_size: AtomicU64,
    /// Engine inserts made by appends since the store was opened (benchmarks print it).
    engine_inserts: AtomicU64,
    recovery: Recovery,
    /// Serialises door refusal writes (apart from the writer: they must never hold up a batch).
    door: Mutex<()>,
}

/// How the last open rebuilt what the store keeps in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The size of the snapshot the open started from, if it used one.
    pub snapshot_size: Option<u64>,
    /// Why a snapshot that was there could not be used (the open then read the whole log).
    pub snapshot_refused: Option<String>,
    /// Entries after the snapshot whose index records the open read.
    pub replayed_entries: u64,
}

struct Writer {
    syncer: Syncer,
    /// Set when a write failed after sled may have applied part of it in memory: from then
    /// on the in-memory trees may be ahead of the disk, so only reopening is safe.
    failed: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OpenCheck {
    Head,
    Skip,
}

#[derive(Clone)]
pub(crate) struct Trees {
    pub entries: sled::Tree,
    pub hashes: sled::Tree,
    pub prints: sled::Tree,
    pub state: sled::Tree,
    pub rejections: sled::Tree,
    pub rejections_by_event: sled::Tree,
    pub checkpoints: sled::Tree,
    pub door_refusals: sled::Tree,
    pub door_refusals_by_event: sled::Tree,
    pub meta: sled::Tree,
}

impl Trees {
    fn open(db: &sled::Db) -> sled::Result<Self> {
        Ok(Self {
            entries: db.open_tree(layout::TREE_ENTRIES)?,
            hashes: db.open_tree(layout::TREE_HASHES)?,
            prints: db.open_tree(layout::TREE_PRINTS)?,
            state: db.open_tree(layout::TREE_STATE)?,
            rejections: db.open_tree(layout::TREE_REJECTIONS)?,
            rejections_by_event: db.open_tree(layout::TREE_REJECTIONS_BY_EVENT)?,
            checkpoints: db.open_tree(layout::TREE_CHECKPOINTS)?,
            door_refusals: db.open_tree(layout::TREE_DOOR_REFUSALS)?,
            door_refusals_by_event: db.open_tree(layout::TREE_DOOR_REFUSALS_BY_EVENT)?,
            meta: (**db).clone(),
        })
    }

    /// The trees a batch writes, in the order of [`BatchWrites`]'s fields.
    fn for_batch(&self) -> [sled::Tree; 7] {
        [
            self.entries.clone(),
            self.hashes.clone(),
            self.prints.clone(),
            self.state.clone(),
            self.rejections.clone(),
            self.rejections_by_event.clone(),
            self.meta.clone(),
        ]
    }
}

/// Everything one batch writes, per tree.
#[derive(Default)]
struct BatchWrites {
    entries: sled::Batch,
    hashes: sled::Batch,
    prints: sled::Batch,
    state: sled::Batch,
    rejections: sled::Batch,
    rejections_by_event: sled::Batch,
    meta: sled::Batch,
    /// How many inserts the batches above hold.
    inserts: u64,
    /// The fingerprint of each new entry's event id, in order.
    new_prints: Vec<u64>,
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
    /// Open an existing store. A path without a store's format marker is refused.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = path.as_ref();
        match durable::inspect(dir)? {
            DirState::Store => Self::open_existing(dir, OpenCheck::Head),
            DirState::Fresh => Err(StoreError::NotAStore {
                path: dir.display().to_string(),
            }),
        }
    }

    /// Open the store at `path`, creating it if the directory is missing or empty. A
    /// directory holding anything else is refused rather than written into.
    pub fn create_or_open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = path.as_ref();
        match durable::inspect(dir)? {
            DirState::Store => Self::open_existing(dir, OpenCheck::Head),
            DirState::Fresh => Self::create(dir),
        }
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn create(dir: &Path) -> Result<Self, StoreError> {
        durable::prepare_dir(dir)?;
        let db = open_engine(dir)?;
        let engine = |e| durable::engine_error(dir, e);
        if db.get(layout::META_FORMAT).map_err(engine)?.is_none() {
            // A creation that stopped early left at most an empty engine; anything else in
            // it belongs to someone else and is not ours to write into.
            let foreign = !db.is_empty() || db.tree_names().len() > 1;
            if foreign {
                return Err(StoreError::NotAStore {
                    path: dir.display().to_string(),
                });
            }
            let mut batch = sled::Batch::default();
            batch.insert(layout::META_FORMAT, durable::FORMAT.as_bytes());
            batch.insert(layout::META_HEAD, &Meta::empty().encode()[..]);
            db.apply_batch(batch).map_err(engine)?;
        }
        db.flush().map_err(engine)?;
        let mut syncer = Syncer::new(dir)?;
        syncer.sync()?;
        // The marker goes last: a directory with a marker always holds a complete store.
        durable::write_marker(dir)?;
        syncer.sync_store_dir()?;
        Self::from_engine(dir, db, syncer, OpenCheck::Head)
    }

    /// Open a store for the deep check, which checks everything the check on open does and
    /// more, and names the first bad entry rather than stopping at the head.
    pub(crate) fn open_for_check(dir: &Path) -> Result<Self, StoreError> {
        match durable::inspect(dir)? {
            DirState::Store => Self::open_existing(dir, OpenCheck::Skip),
            DirState::Fresh => Err(StoreError::NotAStore {
                path: dir.display().to_string(),
            }),
        }
    }

    fn open_existing(dir: &Path, open_check: OpenCheck) -> Result<Self, StoreError> {
        durable::prepare_dir(dir)?;
        let db = open_engine(dir)?;
        let syncer = Syncer::new(dir)?;
        Self::from_engine(dir, db, syncer, open_check)
    }

    fn from_engine(
        dir: &Path,
        db: sled::Db,
        mut syncer: Syncer,
        open_check: OpenCheck,
    ) -> Result<Self, StoreError> {
        let engine = |e| durable::engine_error(dir, e);
        let trees = Trees::open(&db).map_err(engine)?;
        match trees.meta.get(layout::META_FORMAT).map_err(engine)? {
            Some(format) if format.as_ref() == durable::FORMAT.as_bytes() => {
                upgrade::drop_old_tree(dir, &db, &mut syncer)?;
            }
            Some(format) if format.as_ref() == upgrade::FROM_FORMAT.as_bytes() => {
                upgrade::from_v2(dir, &db, &trees, &mut syncer)?;
            }
            Some(format) => {
                return Err(StoreError::IncompatibleFormat {
                    found: String::from_utf8_lossy(&format).escape_debug().to_string(),
                    expected: durable::FORMAT.to_owned(),
                });
            }
            None => {
                return Err(StoreError::CorruptMetadata(
                    "the engine holds no format record".to_owned(),
                ));
            }
        }
        if !durable::marker_is_current(dir)? {
            durable::write_marker(dir)?;
        }
        let meta = match trees.meta.get(layout::META_HEAD).map_err(engine)? {
            Some(bytes) => Meta::decode(&bytes).map_err(StoreError::CorruptMetadata)?,
            None => {
                return Err(StoreError::CorruptMetadata(
                    "the engine holds no head record".to_owned(),
                ));
            }
        };
        let mut store = Self {
            dir: dir.to_owned(),
            db,
            trees,
            meta: RwLock::new(meta),
            writer: Mutex::new(Writer {
                syncer,
                // Until the checks below pass, the store takes no writes and a close records
                // nothing.
                failed: Some("the store did not finish opening".to_owned()),
            }),
            index: RwLock::new(EventIndex::default()),
            snapshot_size: AtomicU64::new(0),
            engine_inserts: AtomicU64::new(0),
            recovery: Recovery::default(),
            door: Mutex::new(()),
        };
        if open_check == OpenCheck::Head {
            store.check_head()?;
        }
        store.check_closed_head()?;
        store.recovery = store.load_index()?;
        store.lock_writer_unchecked().failed = None;
        Ok(store)
    }

    fn lock_writer_unchecked(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// After a clean close the engine must recover the head and the latest checkpoint the
    /// store closed with. The checkpoint is written after its batch, so it is often the newest
    /// record in the engine's log, the first one a recovery that drops a damaged tail loses.
    fn check_closed_head(&self) -> Result<(), StoreError> {
        if let Some(closed) = durable::read_closed_head(&self.dir)? {
            let recovered = closed_record(&self.current_meta().head, &self.latest_checkpoint()?);
            // Records written before the checkpoint line existed hold the head alone.
            let mut compared = recovered.lines().zip(closed.lines());
            if let Some((recovered, closed)) = compared.find(|(r, c)| r != c) {
                return Err(StoreError::CorruptMetadata(format!(
                    "the store was closed at {} but the engine recovered {}",
                    closed.trim(),
                    recovered.trim()
                )));
            }
        }
        durable::remove_closed_head(&self.dir)
    }

    pub(crate) fn meta_snapshot(&self) -> Meta {
        self.current_meta()
    }

    pub(crate) fn trees(&self) -> &Trees {
        &self.trees
    }

    fn engine(&self) -> impl Fn(sled::Error) -> StoreError + '_ {
        |e| durable::engine_error(&self.dir, e)
    }

    fn current_meta(&self) -> Meta {
        *self
            .meta
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The cheap check on open: the newest entries link up to the head's chain hash, their
    /// leaves are the stored leaf hashes, nothing lies beyond the head, and the stored hashes
    /// give the head's root.
    fn check_head(&self) -> Result<(), StoreError> {
        let head = self.current_meta().head;
        let stored_entries = self.record_end(&self.trees.entries, "entries", |first, record| {
            layout::record_entries(first, record)
                .map(|parts| parts.len() as u64)
                .map_err(|(seq, problem)| corrupt(seq, problem))
        })?;
        if stored_entries != head.size {
            return Err(StoreError::CorruptMetadata(format!(
                "the head says {} entries but {stored_entries} are stored",
                head.size
            )));
        }
        let hash_count = merkle::stored_hash_count(head.size);
        let stored_hashes = self.record_end(&self.trees.hashes, "hashes", |_, record| {
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
        let Some((key, record)) = tree.last().map_err(self.engine())? else {
            return Ok(0);
        };
        let first = layout::decode_u64(&key).ok_or_else(|| bad_key(name))?;
        Ok(first + length(first, &record)?)
    }

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
            .map_err(self.engine())?
        else {
            return Ok(None);
        };
        let first = layout::decode_u64(&key).ok_or_else(|| bad_key("record"))?;
        Ok(Some((first, record)))
    }

    /// Stored hash `index`, read from the engine regardless of the head.
    pub(crate) fn read_hash(&self, index: u64) -> Result<Hash, StoreError> {
        let missing = || StoreError::CorruptMetadata(format!("stored hash {index} is missing"));
        let (first, record) = self
            .record_holding(&self.trees.hashes, index)?
            .ok_or_else(missing)?;
        layout::hash_in_record(&record, index - first).ok_or_else(missing)
    }

    /// Build everything `batch` writes, starting from `meta`. Nothing is written yet.
    fn prepare(&self, batch: Batch, meta: Meta) -> Result<(BatchWrites, Meta), StoreError> {
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
        if !batch.state_changes.is_empty() {
            // The record is keyed by the batch's first entry, so a batch without entries
            // would overwrite the next batch's changes.
            if next.head.size == meta.head.size {
                return Err(StoreError::InvalidEntry {
                    seq: meta.head.size,
                    problem: "a batch with state changes must append entries".to_owned(),
                });
            }
            let record = layout::encode_state_changes(&batch.state_changes).map_err(|problem| {
                StoreError::Engine(format!("encode state changes: {problem}"))
            })?;
            writes.put(Slot::State, &layout::seq_key(meta.head.size), record);
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
        match self.indexed_entry(event_id, print)? {
            Some((seq, _, _)) => Err(StoreError::DuplicateEvent {
                event_id: event_id.to_owned(),
                seq,
            }),
            None => Ok(()),
        }
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, EventIndex> {
        self.index
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, EventIndex> {
        self.index
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The durable entry holding `event_id` (its sequence number, encoding and header), if
    /// there is one: each candidate the index gives is read and its event id compared, so the
    /// answer is exact.
    fn indexed_entry(
        &self,
        event_id: &str,
        print: u64,
    ) -> Result<Option<(u64, Vec<u8>, EnvelopeHeader)>, StoreError> {
        let candidates = self.read_index().candidates(print);
        for seq in candidates {
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

    fn commit(&self, writes: BatchWrites, syncer: &mut Syncer) -> Result<(), StoreError> {
        let trees = self.trees.for_batch();
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
        self.db.flush().map_err(self.engine())?;
        syncer.sync()
    }

    /// The writer lock, refusing to hand it out once a write has failed.
    fn lock_writer(&self) -> Result<std::sync::MutexGuard<'_, Writer>, StoreError> {
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
    fn write_durably<T>(
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

fn open_engine(dir: &Path) -> Result<sled::Db, StoreError> {
    let engine_dir = dir.join(durable::ENGINE_DIR);
    durable::remove_unfinished_snapshots(&engine_dir)?;
    let config = engine_config(&engine_dir);
    match std::panic::catch_unwind(AssertUnwindSafe(|| durable::open_sled(&config))) {
        Ok(result) => result.map_err(|e| durable::engine_error(dir, e)),
        Err(panic) => Err(StoreError::CorruptMetadata(format!(
            "the storage engine failed while recovering: {}",
            panic_message(&panic)
        ))),
    }
}

/// The engine settings every store uses.
pub(crate) fn engine_config(engine_dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(engine_dir)
        .mode(sled::Mode::HighThroughput)
        .cache_capacity(64 * 1024 * 1024)
        // Every batch flushes itself; a background flusher would only add writes.
        .flush_every_ms(None)
}

pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned())
}

fn corrupt(seq: u64, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        seq,
        problem: problem.to_string(),
    }
}

fn bad_key(tree: &str) -> StoreError {
    StoreError::CorruptMetadata(format!("a key in the {tree} tree is not 8 bytes"))
}

/// The header fields of an envelope the store indexes: fields 1 and 2 of
/// `covenant.v1.Envelope`. Decoding only these skips the body without copying it.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct EnvelopeHeader {
    #[prost(string, tag = "1")]
    pub event_id: String,
    #[prost(string, tag = "2")]
    pub actor: String,
}

pub(crate) fn decode_envelope_header(envelope: &[u8]) -> Result<EnvelopeHeader, String> {
    <EnvelopeHeader as prost::Message>::decode(envelope)
        .map_err(|e| format!("envelope does not decode: {e}"))
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
            self.entries,
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
        let first_record = self
            .record_holding(&self.trees.entries, start)?
            .map_or(start, |(first, _)| first);
        let mut out = Vec::with_capacity((end - start).min(1 << 16) as usize);
        let mut next_seq = first_record;
        let records = self
            .trees
            .entries
            .range(layout::seq_key(first_record)..layout::seq_key(end));
        for item in records {
            let (key, record) = item.map_err(self.engine())?;
            if layout::decode_u64(&key) != Some(next_seq) {
                return Err(corrupt(next_seq, "the entry is missing"));
            }
            let parts = layout::record_entries(next_seq, &record)
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
        let print = event_index::fingerprint(event_id);
        let Some((seq, entry, header)) = self.indexed_entry(event_id, print)? else {
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
        let Some((key, note)) = self.trees.checkpoints.last().map_err(self.engine())? else {
            return Ok(None);
        };
        let size = layout::decode_u64(&key).ok_or_else(|| bad_key("checkpoints"))?;
        Ok(Some((size, note.to_vec())))
    }

    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .trees
            .checkpoints
            .get(layout::seq_key(size))
            .map_err(self.engine())?
            .map(|note| note.to_vec()))
    }

    fn checkpoint_sizes(&self) -> Result<Vec<u64>, StoreError> {
        self.trees
            .checkpoints
            .iter()
            .keys()
            .map(|key| {
                let key = key.map_err(self.engine())?;
                layout::decode_u64(&key).ok_or_else(|| bad_key("checkpoints"))
            })
            .collect()
    }

    fn rejections_for(&self, event_id: &str) -> Result<Vec<RejectionRecord>, StoreError> {
        let prefix = layout::rejection_event_prefix(event_id);
        let mut out = Vec::new();
        for key in self.trees.rejections_by_event.scan_prefix(&prefix).keys() {
            let key = key.map_err(self.engine())?;
            let rejection_key = &key[prefix.len()..];
            let value = self
                .trees
                .rejections
                .get(rejection_key)
                .map_err(self.engine())?
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
        self.trees
            .rejections
            .range(layout::rejection_key(since_ns, 0)..)
            .values()
            .take(limit)
            .map(|value| decode_rejection(&value.map_err(self.engine())?))
            .collect()
    }

    fn door_refusals_for(&self, event_id: &str) -> Result<Vec<RejectionRecord>, StoreError> {
        let prefix = layout::rejection_event_prefix(event_id);
        let mut out = Vec::new();
        for key in self
            .trees
            .door_refusals_by_event
            .scan_prefix(&prefix)
            .keys()
        {
            let key = key.map_err(self.engine())?;
            let counter_key = &key[prefix.len()..];
            // The oldest may be forgotten between reading the index and the record.
            if let Some(value) = self
                .trees
                .door_refusals
                .get(counter_key)
                .map_err(self.engine())?
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
        // Records are keyed by entry position, so iteration is in log order.
        Box::new(self.trees.state.range(layout::seq_key(from)..).map(|item| {
            let (key, record) = item.map_err(self.engine())?;
            let first = layout::decode_u64(&key).ok_or_else(|| bad_key("state"))?;
            let changes =
                layout::decode_state_changes(&record).map_err(StoreError::CorruptMetadata)?;
            Ok((first, changes))
        }))
    }

    fn sealed_snapshot_state(
        &self,
        seal_key: &[u8; 32],
    ) -> Result<Option<(u64, LedgerState)>, StoreError> {
        match self.usable_snapshot() {
            // A damaged state section is no shortcut: the caller re-derives from the start.
            Ok(Some((header, mut file))) if header.sealed_by(seal_key) => {
                Ok(snapshot::read_state(&header, &mut file)
                    .ok()
                    .map(|state| (header.size, state)))
            }
            _ => Ok(None),
        }
    }

    fn snapshot_size(&self) -> u64 {
        self.snapshot_size.load(Ordering::Relaxed)
    }
}

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
        let inserts = writes.inserts;
        self.write_durably(&mut writer, |syncer| self.commit(writes, syncer))?;
        self.engine_inserts.fetch_add(inserts, Ordering::Relaxed);
        // The index learns the batch before the head moves; a reader that finds a candidate
        // beyond the head skips it.
        let mut index = self.write_index();
        for (offset, print) in new_prints.into_iter().enumerate() {
            index.insert_fingerprint(print, meta.head.size + offset as u64);
        }
        drop(index);
        *self.meta.write().unwrap_or_else(|p| p.into_inner()) = next;
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
            self.trees
                .checkpoints
                .insert(layout::seq_key(size), note)
                .map_err(self.engine())?;
            self.db.flush().map_err(self.engine())?;
            syncer.sync()
        })
    }

    fn remember_door_refusal(&self, record: RejectionRecord) -> Result<bool, StoreError> {
        let _door = self.door.lock().unwrap_or_else(|p| p.into_inner());
        if self.door_refusal_count_for(&record.event_id) >= crate::MAX_DOOR_REFUSALS_PER_EVENT {
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
        let trees = [
            self.trees.door_refusals.clone(),
            self.trees.door_refusals_by_event.clone(),
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
    /// How the last open rebuilt the in-memory index and found the snapshot.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Engine inserts made by appends since the store was opened.
    pub fn engine_inserts(&self) -> u64 {
        self.engine_inserts.load(Ordering::Relaxed)
    }

    /// Whether the in-memory event index holds entry `seq` under fingerprint `print`.
    pub(crate) fn index_holds(&self, print: u64, seq: u64) -> bool {
        self.read_index().holds(print, seq)
    }

    /// How many entries the in-memory event index covers.
    pub(crate) fn index_len(&self) -> u64 {
        self.read_index().len()
    }

    /// The newest snapshot in the directory, opened, if it is one of this log: its size is
    /// within the log and its chain hash is the log's at that size.
    fn usable_snapshot(&self) -> Result<Option<(snapshot::Header, std::fs::File)>, String> {
        let Some((header, file)) = snapshot::open(&self.dir)? else {
            return Ok(None);
        };
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
        Ok(Some((header, file)))
    }

    /// Rebuild the in-memory event index: the snapshot's, then the per-batch records of
    /// fingerprints after it (all of them when there is no usable snapshot).
    fn load_index(&self) -> Result<Recovery, StoreError> {
        let mut recovery = Recovery::default();
        let found = self.usable_snapshot().and_then(|found| match found {
            Some((header, mut file)) => {
                snapshot::read_index(&header, &mut file).map(|index| Some((header.size, index)))
            }
            None => Ok(None),
        });
        let mut index = match found {
            Ok(Some((size, index))) => {
                recovery.snapshot_size = Some(size);
                self.snapshot_size.store(size, Ordering::Relaxed);
                EventIndex::from_sorted(index)
            }
            Ok(None) => EventIndex::default(),
            Err(problem) => {
                recovery.snapshot_refused = Some(problem);
                EventIndex::default()
            }
        };
        let from = index.len();
        for item in self.trees.prints.range(layout::seq_key(from)..) {
            let (key, record) = item.map_err(self.engine())?;
            let first = layout::decode_u64(&key).ok_or_else(|| bad_key(layout::TREE_PRINTS))?;
            if first != index.len() {
                return Err(corrupt(index.len(), "the event index record is missing"));
            }
            let prints =
                layout::decode_prints(&record).map_err(|problem| corrupt(first, problem))?;
            for (offset, print) in prints.into_iter().enumerate() {
                index.insert_fingerprint(print, first + offset as u64);
            }
        }
        let size = self.current_meta().head.size;
        if index.len() != size {
            return Err(StoreError::CorruptMetadata(format!(
                "the event index records cover {} entries but the log has {size}",
                index.len()
            )));
        }
        recovery.replayed_entries = size - from;
        *self.write_index() = index;
        Ok(recovery)
    }
}

impl SledStore {
    /// The first and last counter of the door refusals kept, if any.
    fn door_refusal_bounds(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let tree = &self.trees.door_refusals;
        let counter = |key: &[u8]| layout::decode_u64(key).ok_or_else(|| bad_key("door_refusals"));
        match (
            tree.first().map_err(self.engine())?,
            tree.last().map_err(self.engine())?,
        ) {
            (Some((first, _)), Some((last, _))) => Ok(Some((counter(&first)?, counter(&last)?))),
            _ => Ok(None),
        }
    }

    /// Forget the oldest door refusal, index entry included.
    fn forget_oldest_door_refusal(&self, counter: u64) -> Result<(), StoreError> {
        let key = layout::seq_key(counter);
        let Some(value) = self
            .trees
            .door_refusals
            .remove(key)
            .map_err(self.engine())?
        else {
            return Ok(());
        };
        let record = decode_rejection(&value)?;
        let mut index_key = layout::rejection_event_prefix(&record.event_id);
        index_key.extend_from_slice(&key);
        self.trees
            .door_refusals_by_event
            .remove(index_key)
            .map_err(self.engine())?;
        Ok(())
    }

    fn door_refusal_count_for(&self, event_id: &str) -> usize {
        self.trees
            .door_refusals_by_event
            .scan_prefix(layout::rejection_event_prefix(event_id))
            .keys()
            .count()
    }
}

fn decode_rejection(value: &[u8]) -> Result<RejectionRecord, StoreError> {
    layout::decode_rejection(value).map_err(StoreError::CorruptMetadata)
}

/// The clean-close record: the head, then the latest checkpoint (its size and the blake3
/// of its note, which changes when cosignatures are added).
fn closed_record(head: &Head, latest_checkpoint: &Option<(u64, Vec<u8>)>) -> String {
    let checkpoint = match latest_checkpoint {
        Some((size, note)) => format!("size {size} note {}", blake3::hash(note).to_hex()),
        None => "none".to_owned(),
    };
    format!(
        "size {} root {} chain {} stream {}\ncheckpoint {checkpoint}\n",
        head.size,
        hex_of(&head.root.0),
        hex_of(&head.chain_head),
        head.stream_seq
    )
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Drop for SledStore {
    fn drop(&mut self) {
        let writer = self.writer.get_mut().unwrap_or_else(|p| p.into_inner());
        if writer.failed.is_some() {
            return;
        }
        // Failing here only loses the extra check on the next open, never data: every batch
        // was durable before its append returned.
        let head = self.meta.get_mut().unwrap_or_else(|p| p.into_inner()).head;
        let closed = self
            .db
            .flush()
            .map_err(|e| durable::engine_error(&self.dir, e))
            .and_then(|_| writer.syncer.sync())
            .and_then(|()| self.latest_checkpoint());
        if let Ok(latest_checkpoint) = closed {
            let record = closed_record(&head, &latest_checkpoint);
            let _ = durable::write_closed_head(&self.dir, &record);
        }
    }
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("dir", &self.dir)
            .field("head", &self.head())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::proto;
    use prost::Message;

    fn new_entry(event_id: &str, stored_at_ns: u64) -> NewEntry {
        let envelope = proto::Envelope {
            event_id: event_id.to_owned(),
            actor: "GB-GOV-1".to_owned(),
            key_id: "key-1".to_owned(),
            signature: vec![0x5a; 64],
            ..proto::Envelope::default()
        }
        .encode_to_vec();
        NewEntry {
            stored_at_ns,
            digest: covenant_core::event::envelope_digest(&envelope),
            envelope,
            event_id: event_id.to_owned(),
            actor: "GB-GOV-1".to_owned(),
        }
    }

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
