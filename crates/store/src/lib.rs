//! The ledger's log store.
//!
//! One append-only sequence of entries with everything derived from it that readers need: the
//! blake3 chain head, the SHA-256 Merkle stored hashes (for proofs and tiles), signed
//! checkpoints, the event-id index (idempotency) and the rejection records. Writers hand over
//! a [`Batch`]; [`LogStore::append`] makes all of it durable at once (group commit) before it
//! returns. Nothing outside this crate touches the storage engine: everything goes through the
//! [`LogStore`] trait, and the conformance suite in `tests/` is what any engine must pass.
//!
//! - [`SledStore`]: the store on sled 0.34, with the fsyncs sled leaves out and a cheap check
//!   of the head on open; its module docs state the durability guarantees and list the write
//!   path down to each fsync, and `sled_store::open` the recovery on open.
//! - [`check`]: the deep offline check behind `covenant audit verify --store PATH`.

#![forbid(unsafe_code)]

pub mod check;
pub mod derive;
mod durable;
mod event_index;
mod layout;
mod refresh;
mod seal;
mod sled_store;
mod snapshot;
mod upgrade;
mod upper_hashes;

pub use durable::{SEGMENT_BYTES, open_sled, reclaim_after_batch, sled_config};
/// Public so that the store benchmark can time compression alone.
#[doc(hidden)]
pub use layout::compress_record;
pub use refresh::{RefreshCost, Refreshes};
pub use sled_store::{REFRESH_EVERY_ENTRIES, REFRESH_EVERY_LOG_BYTES, Recovery, SledStore};
pub use snapshot::{SnapshotJob, WrittenSnapshot};

/// State records in log order (see [`LogReader::state_records`]).
pub type StateRecords<'a> =
    Box<dyn Iterator<Item = Result<(u64, Vec<StateChange>), StoreError>> + 'a>;

use covenant_core::entry::ChainHash;
use covenant_core::merkle::{Hash, HashReader};
use covenant_core::validate::{IndexedEvent, LedgerState, RejectCode, StateChange};
use serde::{Deserialize, Serialize};

/// An accepted event to append. The store assigns its sequence number and chain link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// When the broker stored the message (nanoseconds since the Unix epoch).
    pub stored_at_ns: u64,
    /// The envelope bytes exactly as received.
    pub envelope: Vec<u8>,
    pub event_id: String,
    pub actor: String,
    /// blake3 of `envelope` (see `covenant_core::event::envelope_digest`).
    pub digest: [u8; 32],
}

/// A rejected event, kept so the emitter can ask why and auditors can see what was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionRecord {
    /// The envelope's event id, or the message id the broker saw when the bytes did not decode.
    pub event_id: String,
    /// Stream sequence of the message (0 for HTTPS ingest in embedded mode).
    pub stream_seq: u64,
    pub stored_at_ns: u64,
    pub code: RejectCode,
    pub message: String,
    /// blake3 of the rejected bytes (all of them, whatever `envelope` keeps).
    pub digest: [u8; 32],
    /// What is kept of the rejected bytes: all of them where they are evidence (an
    /// equivocation), otherwise only the header, so that junk costs bounded space (the ledger
    /// decides which; see `covenant_ledger::sequencer`).
    pub envelope: Vec<u8>,
}

/// Everything one group commit writes, atomically.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub entries: Vec<NewEntry>,
    /// Validation state changes produced by `entries`, in order.
    pub state_changes: Vec<StateChange>,
    pub rejections: Vec<RejectionRecord>,
    /// The input stream sequence this batch consumed through, if the input is a stream.
    pub stream_seq: Option<u64>,
    /// Seal the batch's state record with this key (the log key's snapshot key), so that an
    /// open by the key's holder applies the record instead of re-deriving it
    /// ([`LogReader::apply_sealed_records`]); none: unsealed.
    pub seal_key: Option<[u8; 32]>,
}

/// The validation state after [`LogReader::apply_sealed_records`].
#[derive(Debug, Clone, PartialEq)]
pub struct SealedRecords {
    /// The entry the state is as of: the end of the last batch whose seal checked, or where
    /// the walk started.
    pub size: u64,
    pub state: LedgerState,
    /// Why the walk stopped before the head, if it did.
    pub stopped: Option<SealStop>,
}

/// Why [`LogReader::apply_sealed_records`] stopped before the head.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealStop {
    /// The batch at this entry has no seal: it was appended without the key, or before
    /// seals existed. Nothing is wrong.
    #[error("the batch at entry {0} is not sealed")]
    Unsealed(u64),
    /// The seal of the batch at this entry does not vouch for it: the seal or the record was
    /// altered, or made with another key. Re-deriving the entries finds which.
    #[error("the seal of the batch at entry {at} does not vouch for it: {problem}")]
    Refused { at: u64, problem: String },
}

/// The log's head after the last durable batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    /// Number of entries.
    pub size: u64,
    /// Chain hash of the last entry (zeros when empty).
    pub chain_head: ChainHash,
    /// Merkle root of all entries.
    pub root: Hash,
    /// Broker storage time of the last entry.
    pub last_stored_at_ns: u64,
    /// Input stream sequence consumed through (0 when none).
    pub stream_seq: u64,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{path} is not a Covenant store (no format marker)")]
    NotAStore { path: String },
    #[error(
        "store format {found} is not supported by this version (expected {expected}): a newer \
         store needs the version that wrote it; a log on NATS can also be re-derived from the \
         event stream into a new directory with `covenant ledger rebuild`, and an embedded log \
         restored from a copy (docs/OPERATING.md, sections 5 and 6)"
    )]
    IncompatibleFormat { found: String, expected: String },
    #[error("store directory {path} cannot be written: {reason}")]
    ReadOnly { path: String, reason: String },
    #[error("storage engine: {0}")]
    Engine(String),
    // The message carries the cause, so it is not also the error's source (a field named
    // `source` would be): printed with its chain, the cause would appear twice.
    #[error("I/O on {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("store is corrupt at entry {seq}: {problem}")]
    Corrupt { seq: u64, problem: String },
    #[error("store is corrupt: {0}")]
    CorruptMetadata(String),
    #[error("disk is full writing {path}; nothing from the failed batch was acknowledged")]
    DiskFull { path: String },
    #[error("event id {event_id} is already in the log at entry {seq}; the batch was not written")]
    DuplicateEvent { event_id: String, seq: u64 },
    #[error("event id {event_id} appears twice in one batch; the batch was not written")]
    DuplicateInBatch { event_id: String },
    #[error("entry {seq} cannot be appended: {problem}")]
    InvalidEntry { seq: u64, problem: String },
    #[error("checkpoint for size {size} is refused: {problem}")]
    InvalidCheckpoint { size: u64, problem: String },
    #[error("store stopped accepting writes after a failed write ({reason}); reopen it to recover")]
    NeedsReopen { reason: String },
    #[error("store directory {path} is in use by another process")]
    Locked { path: String },
}

/// What everything that only reads the log needs: the HTTP server, the projections, the audit
/// tools and the replica checks. Nothing here writes, so a reader handed one cannot append.
pub trait LogReader: HashReader + Send + Sync {
    fn head(&self) -> Head;

    /// Encoded entry `seq` (see `covenant_core::entry`).
    fn entry(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// Encoded entries `start..end` (clamped to the log's size).
    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError>;

    /// What the event-id index says about `event_id`.
    fn event(&self, event_id: &str) -> Result<Option<IndexedEvent>, StoreError>;

    /// [`LogReader::event`] as the index stood before entry `before`: an event first
    /// appended at or after it is not found, and is not read to find that out (re-deriving the
    /// log asks this of every entry about the entry itself).
    fn event_before(&self, event_id: &str, before: u64)
    -> Result<Option<IndexedEvent>, StoreError>;

    /// The checkpoint with the largest size.
    fn latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError>;

    /// The checkpoint stored for exactly `size`, if any.
    fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every checkpoint size stored, ascending.
    fn checkpoint_sizes(&self) -> Result<Vec<u64>, StoreError>;

    /// Rejections recorded for an event id, oldest first.
    fn rejections_for(&self, event_id: &str) -> Result<Vec<RejectionRecord>, StoreError>;

    /// Rejections stored at or after `since_ns`, oldest first, at most `limit`.
    fn rejections_since(
        &self,
        since_ns: u64,
        limit: usize,
    ) -> Result<Vec<RejectionRecord>, StoreError>;

    /// The validation state as of the head: the newest snapshot's, with the state records
    /// after it replayed.
    fn load_state(&self) -> Result<LedgerState, StoreError>;

    /// The state records from entry `from` on, in log order: each keyed by the first entry
    /// of its batch, with that batch's state changes in order.
    fn state_records(&self, from: u64) -> StateRecords<'_>;

    /// The size and validation state of the snapshot the store opened from, if it was sealed
    /// with `seal_key`: a state the holder of the key vouched for, so that only what follows
    /// it needs applying ([`LogReader::apply_sealed_records`]) or re-deriving.
    fn sealed_snapshot_state(
        &self,
        seal_key: &[u8; 32],
    ) -> Result<Option<(u64, LedgerState)>, StoreError>;

    /// Apply to `state`, the validation state as of entry `from`, the state records from
    /// `from` on, for as long as each batch carries a seal made with `seal_key` that links it
    /// to the one before and the last links to the log where it ends (`seal`): the state the
    /// key's holder vouched for, as of the entry where the seals stop. The entries after that
    /// need re-deriving ([`derive::check_state_records`]).
    fn apply_sealed_records(
        &self,
        seal_key: &[u8; 32],
        from: u64,
        state: LedgerState,
    ) -> Result<SealedRecords, StoreError>;

    /// The size the newest snapshot describes (0: there is none).
    fn snapshot_size(&self) -> u64;

    /// Refusals at the HTTPS door remembered for an event id, oldest first.
    fn door_refusals_for(&self, event_id: &str) -> Result<Vec<RejectionRecord>, StoreError>;
}

/// The log store as its one writer, the ledger, uses it: every read, and the writes (appends,
/// checkpoints, snapshots, door refusals).
pub trait LogStore: LogReader {
    /// Append a batch and make it durable before returning (flush and fsync). Either all of
    /// it is there after a crash, or none of it.
    fn append(&self, batch: Batch) -> Result<Head, StoreError>;

    /// Store a signed checkpoint note for tree size `size`.
    fn put_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError>;

    /// Everything a snapshot of the head needs: `state` must be the validation state as of the
    /// head. The job is written anywhere ([`SnapshotJob::write`]), typically off the commit
    /// path, and handed back with [`LogStore::finish_snapshot`].
    fn begin_snapshot(
        &self,
        state: LedgerState,
        seal_key: Option<[u8; 32]>,
    ) -> Result<SnapshotJob, StoreError>;

    /// Adopt a written snapshot: the next open starts from it, and the in-memory index takes
    /// its merged pairs.
    fn finish_snapshot(&self, written: WrittenSnapshot);

    /// Write a snapshot of the head in place (begin, write, finish). Returns its size.
    fn write_snapshot(
        &self,
        state: &LedgerState,
        seal_key: Option<[u8; 32]>,
    ) -> Result<u64, StoreError> {
        let written = self.begin_snapshot(state.clone(), seal_key)?.write()?;
        let size = written.size;
        self.finish_snapshot(written);
        Ok(size)
    }

    /// Remember a refusal decided at the HTTPS door (`POST /v1/events`): nothing of that
    /// envelope reached the stream or the log, so the ledger never records it, yet whoever sent
    /// it may ask about its event id later. Door refusals are kept apart from the rejections the
    /// ledger decided (those are derived from the stream and identical on every replica and
    /// rebuild), and their space is bounded because anyone may send them: at most
    /// [`MAX_DOOR_REFUSALS`] in all (the oldest is forgotten first) and at most
    /// [`MAX_DOOR_REFUSALS_PER_EVENT`] per event id (later ones are not kept). Returns whether
    /// the record was kept. Not made durable on its own: it reaches the disk with the store's
    /// next durable write.
    fn remember_door_refusal(&self, record: RejectionRecord) -> Result<bool, StoreError>;
}

/// Most refusals at the HTTPS door kept at once (each a few hundred bytes to about 2 KB: the
/// envelope's header with every field cut to 128 bytes, and a sentence of at most 1 024 bytes).
pub const MAX_DOOR_REFUSALS: u64 = 20_000;

/// Most refusals at the HTTPS door kept for one event id.
pub const MAX_DOOR_REFUSALS_PER_EVENT: usize = 8;
