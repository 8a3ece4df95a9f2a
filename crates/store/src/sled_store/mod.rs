//! [`LogStore`] on sled 0.34.
//!
//! One sled database per store, one tree per kind of record (see `layout`), and one sled
//! transaction across all trees per batch, followed by `flush` and the fsyncs sled leaves out.
//! The head lives in memory and moves only after a batch is durable, so readers never see an
//! entry that a crash could take back.
//!
//! An open runs `open` (directory, format, engine), then `head_check`, `close` (the record a
//! clean close left) and `recovery` (the event index). An append runs `batch` (everything that
//! can refuse it, built in memory), then `commit` (transaction, flush, fsync), then moves the
//! index and the head (`write`).
//!
//! [`LogStore`]: crate::LogStore

mod batch;
mod close;
mod commit;
mod head_check;
mod open;
mod read;
mod recovery;
mod trees;
mod write;

pub use recovery::Recovery;
pub(crate) use trees::Trees;

use crate::durable::{self, Syncer};
use crate::event_index::EventIndex;
use crate::layout::{self, Meta};
use crate::{LogReader, RejectionRecord, StoreError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

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
mod fixture {
    use crate::NewEntry;
    use covenant_core::proto;
    use prost::Message;

    pub(super) fn new_entry(event_id: &str, stored_at_ns: u64) -> NewEntry {
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
