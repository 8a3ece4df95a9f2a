//! [`LogStore`] on sled 0.34.
//!
//! One sled database per store, one tree per kind of record (see `layout`), and one sled
//! transaction across all trees per batch, followed by `flush` and the fsyncs sled leaves out.
//! The head lives in memory and moves only after a batch is durable, so readers never see an
//! entry that a crash could take back.
//!
//! An open runs `open` (directory, format, engine), then `head_check`, `close` (the record a
//! clean close left) and `recovery` (the event index); `open` lists the steps. An append runs
//! `batch` (everything that can refuse it, built in memory), then `commit` (transaction, flush,
//! fsync), then moves the index and the head (`write`); once sled has flushed
//! [`REFRESH_EVERY_LOG_BYTES`] to its log since the engine opened (or
//! [`REFRESH_EVERY_ENTRIES`] entries were appended), it then reopens the engine (`engine`),
//! so that no open replays more of sled's log than that.
//!
//! # Guarantees
//!
//! - When [`LogStore::append`] returns `Ok`, everything in the batch survives `kill -9` and
//!   power loss: the entries, their stored Merkle hashes, the event-index records, the
//!   validation state records, the rejection records, the input stream sequence and the new
//!   head.
//! - A batch is applied whole or not at all. After a crash at any instant, the store holds a
//!   prefix of the batches whose `append` was called, ending at a batch boundary, and that
//!   prefix includes every batch whose `append` returned.
//! - Readers never see what a crash could take back: the head, `entries`, `event` and the
//!   stored hashes are served up to the in-memory head, which moves only after the batch is
//!   durable.
//! - A refused batch (bad entry, event id already in the log or twice in the batch) writes
//!   nothing. A write that fails after reaching the engine (disk full, I/O error) leaves the
//!   store refusing further writes (`StoreError::NeedsReopen`) until it is reopened, because
//!   the engine's memory may then hold part of the failed batch; reopening recovers exactly
//!   what is on disk.
//!
//! # On disk
//!
//! A store is a directory:
//!
//! | path | what |
//! |---|---|
//! | `FORMAT` | the format marker (`durable::FORMAT`); checked before the engine opens anything |
//! | `CLOSED` | present only while the store is closed cleanly: the head and newest checkpoint it closed with (`close`) |
//! | `SNAPSHOT` | the validation state and the event-id index as of one size of the log (`crate::snapshot` documents every byte); optional: without it, opening reads every per-batch record |
//! | `sled/` | the sled 0.34 database: `conf` (its settings, among them the log's segment size: 8 MiB since 2026-12-05, 512 KiB in engines made before, `durable::sled_config`), the log file `db`, `snap.*` snapshots, `blobs/` |
//!
//! Inside sled, one tree per kind of record; `crate::layout` documents every key and value.
//!
//! # Writing a batch, step by step
//!
//! 1. **Take the writer lock** (`commit`). One writer at a time; if an earlier write failed,
//!    refuse with `NeedsReopen`.
//! 2. **Check the batch, writing nothing** (`batch`). Every envelope is within
//!    `covenant_core::MAX_ENVELOPE_BYTES`, no storage time goes backwards, each `digest` is the
//!    blake3 of its envelope, each event id and actor are the envelope's own, no event id
//!    appears twice in the batch or is already in the event index. Any failure returns a typed
//!    error (`InvalidEntry`, `DuplicateEvent`, `DuplicateInBatch`) and the store is as it was.
//!    The index is in memory, so the check costs a hash of the id and a probe (an entry read
//!    only when the fingerprint is already there).
//! 3. **Compute everything in memory** (`batch`). Sequence numbers, the canonical entry
//!    encoding with its link to the previous chain hash (`covenant_core::entry`), leaf hashes
//!    and new stored hashes (`covenant_core::merkle::new_stored_hashes`, reading earlier
//!    hashes from disk and this batch's from memory), the new root, the records for every tree
//!    and the new head record.
//! 4. **One sled transaction across the batch's trees** (`commit`: entries, hashes, prints,
//!    state, rejections, rejections by event, and the head). sled marks the log messages of a
//!    transaction so that recovery replays all of them or none (its batch "peg": a write is
//!    recovered only if the batch that contains it was sealed). This gives atomicity, not
//!    durability: nothing has been forced to disk yet.
//! 5. **`sled::Db::flush()`.** sled writes its in-memory log buffers to `sled/db` with
//!    `pwrite` and then calls `sync_file_range` on the written range. That hands the bytes to
//!    the device but does **not** make them durable (see `commit` for why).
//! 6. **`fsync` of `sled/db`** (`durable::Syncer`: `File::sync_all` on a descriptor the store
//!    keeps open; fsync writes back every dirty page of the file, whichever descriptor wrote
//!    it, plus its size and other metadata, and asks the device to flush its write cache).
//!    From here on the batch survives power loss.
//! 7. **`fsync` of new blob files.** sled writes messages too large for a log segment into
//!    files under `sled/blobs/` without syncing them; the store fsyncs every blob file it has
//!    not synced before, and the `blobs` directory when its listing changed.
//! 8. **`fsync` of the `sled/` directory, if its listing changed** since the last sync (a new
//!    snapshot, a rename, a removed file). The log file growing needs no directory sync:
//!    step 6 covers the file's size.
//! 9. **Add the batch's fingerprints to the in-memory index, then move the in-memory head**
//!    and return it (`write`). Only now do readers see the batch (a lookup that meets a
//!    fingerprint beyond the head skips it).
//!
//! In the usual case a batch costs one transaction, one `flush` and one `fsync`.
//! `put_checkpoint` follows the same path for its single record (after checking that the
//! note's size and root are the log's), so a stored checkpoint is durable when the call
//! returns. Door refusals (`remember_door_refusal`) go to their own bounded trees under a lock
//! of their own, so they never hold up a batch, and are not flushed on their own (the next
//! batch's flush and fsync carry them): they answer callers and are no part of the log.
//!
//! [`LogStore`]: crate::LogStore
//! [`LogStore::append`]: crate::LogStore::append

mod batch;
mod close;
mod commit;
mod engine;
mod head_check;
mod open;
mod preload;
mod read;
mod recovery;
mod trees;
mod write;

pub use engine::{REFRESH_EVERY_ENTRIES, REFRESH_EVERY_LOG_BYTES};
pub use recovery::Recovery;
pub(crate) use trees::Trees;

use crate::durable::{self, Syncer};
use crate::event_index::EventIndex;
use crate::layout::{self, Meta};
use crate::upper_hashes::{UpperHashes, Warmer};
use crate::{LogReader, RejectionRecord, StoreError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The log store on sled.
pub struct SledStore {
    dir: PathBuf,
    /// The engine and its trees; a refresh swaps them for a freshly opened pair (`engine`).
    engine: engine::EngineSlot,
    /// When the engine is next reopened, and what reopening it has cost (`engine`).
    refreshes: crate::Refreshes,
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
    /// The first entry whose record is compressed (`layout::META_COMPRESSED_FROM`).
    pub(crate) compressed_from: u64,
    recovery: Recovery,
    /// Serialises door refusal writes (apart from the writer: they must never hold up a batch).
    door: Mutex<()>,
    /// The stored hashes of the tree's upper levels (see `upper_hashes`).
    upper: Arc<UpperHashes>,
    /// Reads the upper hashes already on disk after an open; stopped before the store closes.
    warmer: Mutex<Option<Warmer>>,
    /// The snapshot's sealed validation state, read beside the engine's recovery for the
    /// sequencer's first question (`SledStore::open_for_ledger`); taken by that question.
    preloaded_state: Mutex<Option<preload::Pending<covenant_core::validate::LedgerState>>>,
}

struct Writer {
    syncer: Syncer,
    /// Set when a write failed after sled may have applied part of it in memory: from then
    /// on the in-memory trees may be ahead of the disk, so only reopening is safe.
    failed: Option<String>,
}

impl SledStore {
    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn meta_snapshot(&self) -> Meta {
        self.current_meta()
    }

    fn engine_err(&self) -> impl Fn(sled::Error) -> StoreError + '_ {
        |e| durable::engine_error(&self.dir, e)
    }

    fn current_meta(&self) -> Meta {
        *self
            .meta
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
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
    /// Engine inserts made by appends since the store was opened.
    pub fn engine_inserts(&self) -> u64 {
        self.engine_inserts.load(Ordering::Relaxed)
    }

    /// How many upper-level stored hashes the store holds in memory (see `upper_hashes`).
    pub fn upper_hashes_held(&self) -> usize {
        self.upper.len()
    }

    /// Wait until the upper hashes on disk at open are all in memory.
    pub fn finish_warming(&self) {
        let warmer = self
            .warmer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take();
        if let Some(warmer) = warmer {
            warmer.finish();
        }
    }

    /// Whether the in-memory event index holds entry `seq` under fingerprint `print`.
    pub(crate) fn index_holds(&self, print: u64, seq: u64) -> bool {
        self.read_index().holds(print, seq)
    }

    /// How many entries the in-memory event index covers.
    pub(crate) fn index_len(&self) -> u64 {
        self.read_index().len()
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

fn decode_rejection(value: &[u8]) -> Result<RejectionRecord, StoreError> {
    layout::decode_rejection(value).map_err(StoreError::CorruptMetadata)
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

/// An entry as the ledger hands it over, for the submodules' tests.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::NewEntry;
    use covenant_core::proto;
    use prost::Message;

    /// Append entries `e-{n}` stored at `n` ns for each `n` in `range`, in batches of 1,000.
    pub(crate) fn append_entries(store: &crate::SledStore, range: std::ops::Range<u64>) {
        use crate::LogStore;
        for first in range.clone().step_by(1_000) {
            let entries = (first..range.end.min(first + 1_000))
                .map(|n| new_entry(&format!("e-{n}"), n))
                .collect();
            store
                .append(crate::Batch {
                    entries,
                    ..crate::Batch::default()
                })
                .unwrap();
        }
    }

    pub(crate) fn new_entry(event_id: &str, stored_at_ns: u64) -> NewEntry {
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
}
