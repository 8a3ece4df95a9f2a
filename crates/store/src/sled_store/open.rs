//! Opening and creating a store: the directory and format checks, the engine's settings, and
//! the order of the checks an open runs before the store takes writes.
//!
//! # Recovery on open, step by step
//!
//! 1. **Format and writability first** (`durable::inspect`, `durable::prepare_dir`). Without a
//!    `FORMAT` file the path is not a store (`NotAStore`); a different marker is
//!    `IncompatibleFormat` (a v2 or v3 store is upgraded in place, `crate::upgrade`); a directory
//!    that cannot be written is `ReadOnly`. None of these lets the engine touch a byte. A
//!    directory holding only `sled/` and a temporary marker is a creation that stopped before
//!    its last step and is completed; an engine directory with someone else's data in it is
//!    refused.
//! 2. **Unfinished sled snapshots are removed** (`durable::remove_unfinished_snapshots`). sled
//!    writes a snapshot (also while recovering on open) as `snap.<lsn>.generating` and renames
//!    it when complete, but when choosing one to load it does not skip `.generating` files,
//!    so a crash in the middle of a snapshot leaves a database sled itself refuses to open
//!    (sled issues 1527 and 1533). The log the snapshot summarises is still there, so the
//!    store deletes such files and sled falls back to the previous snapshot and a longer
//!    replay.
//! 3. **The snapshot starts being read** (`preload`): its event index, and for
//!    `SledStore::open_for_ledger` its validation state sealed with the given key, each on a
//!    thread of its own while the engine recovers; step 7 uses them only after the checks
//!    there.
//! 4. **sled recovers its log.** It loads its snapshot and replays the log after it (at most
//!    about `REFRESH_EVERY_LOG_BYTES`, since the running store reopens the engine that often:
//!    `engine`), checking the CRC of every message; it stops at the first message that is torn or belongs to a
//!    batch whose seal never reached the disk. A half-written batch is therefore absent as a
//!    whole.
//! 5. **The head record is read** (it was written in the same transaction as its batch) and
//!    checked cheaply (`head_check`): the stored entries and stored hashes end exactly where
//!    the head says, the newest entries (`OPEN_CHECK_ENTRIES` and the one before) link up to
//!    the head's chain hash and storage time and their leaf hashes are the stored ones, and the
//!    root computed from the stored hashes is the head's root. Anything else is
//!    `Corrupt { seq, .. }` or `CorruptMetadata`.
//! 6. **A clean close is held to its word** (`close`). If `CLOSED` is present, the recovered
//!    head and newest checkpoint (its size and the blake3 of its note) must be the ones it
//!    records; otherwise damage near the end of sled's log, which recovery cannot tell from a
//!    torn write and would silently drop, would lose acknowledged entries or a signed
//!    checkpoint (written after its batch, so often the newest record of all). `CLOSED` is
//!    then removed (and the directory synced) before the first write, so a later crash is
//!    never mistaken for damage.
//! 7. **The event-id index is rebuilt in memory** (`recovery`): from `SNAPSHOT` if its digest
//!    holds, its size is within the log and its chain hash is the log's there (otherwise
//!    `SledStore::recovery` says why it was not used), then from every `prints` record after
//!    it; the records must cover the log exactly, or the store is `Corrupt`. `load_state`
//!    likewise starts from the snapshot's state and replays the `state` records after it.
//! 8. The store accepts writes, and a background thread starts reading the stored hashes of the
//!    tree's upper levels into memory (`crate::upper_hashes`), for tiles and proofs.
//!
//! The deep check (`crate::check`) goes further, offline, and skips step 5 because it checks
//! everything that step does and names the first bad entry.

use super::engine::{Engine, REFRESH_EVERY_ENTRIES};
use super::preload::Preload;
use super::{Recovery, SledStore, Trees, Writer, panic_message};
use crate::StoreError;
use crate::durable::{self, DirState, Syncer};
use crate::event_index::EventIndex;
use crate::layout::{self, Meta};
use crate::upgrade;
use crate::upper_hashes::Warmer;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

#[derive(Clone, Copy, PartialEq, Eq)]
enum IfMissing {
    Create,
    Refuse,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OpenCheck {
    Head,
    Skip,
}

impl SledStore {
    /// Open an existing store. A path without a store's format marker is refused.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_at(path.as_ref(), IfMissing::Refuse, None)
    }

    /// Open the store at `path`, creating it if the directory is missing or empty. A
    /// directory holding anything else is refused rather than written into.
    pub fn create_or_open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_at(path.as_ref(), IfMissing::Create, None)
    }

    /// [`SledStore::open`] for the ledger whose log key's snapshot key is `seal_key`
    /// (`LogSigner::snapshot_key`): the open also reads the snapshot's validation state, if
    /// that key sealed it, on a thread of its own while the engine recovers, and the
    /// sequencer opening over the store next takes it from memory
    /// ([`crate::LogReader::sealed_snapshot_state`]).
    pub fn open_for_ledger(path: impl AsRef<Path>, seal_key: [u8; 32]) -> Result<Self, StoreError> {
        Self::open_at(path.as_ref(), IfMissing::Refuse, Some(seal_key))
    }

    /// [`SledStore::create_or_open`], reading the sealed state as [`SledStore::open_for_ledger`]
    /// does.
    pub fn create_or_open_for_ledger(
        path: impl AsRef<Path>,
        seal_key: [u8; 32],
    ) -> Result<Self, StoreError> {
        Self::open_at(path.as_ref(), IfMissing::Create, Some(seal_key))
    }

    fn open_at(
        dir: &Path,
        if_missing: IfMissing,
        state_key: Option<[u8; 32]>,
    ) -> Result<Self, StoreError> {
        match (durable::inspect(dir)?, if_missing) {
            (DirState::Store, _) => Self::open_existing(dir, OpenCheck::Head, state_key),
            (DirState::Fresh, IfMissing::Create) => Self::create(dir),
            (DirState::Fresh, IfMissing::Refuse) => Err(StoreError::NotAStore {
                path: dir.display().to_string(),
            }),
        }
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
            batch.insert(layout::META_COMPRESSED_FROM, &layout::seq_key(0)[..]);
            db.apply_batch(batch).map_err(engine)?;
        }
        db.flush().map_err(engine)?;
        let mut syncer = Syncer::new(dir)?;
        syncer.sync()?;
        // The marker goes last: a directory with a marker always holds a complete store.
        durable::write_marker(dir)?;
        syncer.sync_store_dir()?;
        Self::from_engine(dir, db, syncer, OpenCheck::Head, Preload::nothing())
    }

    /// Open a store for the deep check, which checks everything the check on open does and
    /// more, and names the first bad entry rather than stopping at the head.
    pub(crate) fn open_for_check(dir: &Path) -> Result<Self, StoreError> {
        match durable::inspect(dir)? {
            DirState::Store => Self::open_existing(dir, OpenCheck::Skip, None),
            DirState::Fresh => Err(StoreError::NotAStore {
                path: dir.display().to_string(),
            }),
        }
    }

    fn open_existing(
        dir: &Path,
        open_check: OpenCheck,
        state_key: Option<[u8; 32]>,
    ) -> Result<Self, StoreError> {
        durable::prepare_dir(dir)?;
        let started = std::time::Instant::now();
        let preload = Preload::start(dir, state_key);
        let db = open_engine(dir)?;
        let engine_open = started.elapsed();
        let syncer = Syncer::new(dir)?;
        let mut store = Self::from_engine(dir, db, syncer, open_check, preload)?;
        store.recovery.engine_open = engine_open;
        Ok(store)
    }

    fn from_engine(
        dir: &Path,
        db: sled::Db,
        mut syncer: Syncer,
        open_check: OpenCheck,
        preload: Preload,
    ) -> Result<Self, StoreError> {
        let engine = |e| durable::engine_error(dir, e);
        let trees = Trees::open(&db).map_err(engine)?;
        let mut format = trees.meta.get(layout::META_FORMAT).map_err(engine)?;
        if format.as_deref() == Some(upgrade::V2_FORMAT.as_bytes()) {
            upgrade::from_v2(dir, &db, &trees, &mut syncer)?;
            format = Some(upgrade::V3_FORMAT.as_bytes().into());
        }
        if format.as_deref() == Some(upgrade::V3_FORMAT.as_bytes()) {
            let size = stored_meta(dir, &trees)?.head.size;
            upgrade::from_v3(dir, &db, &trees, size, &mut syncer)?;
            format = Some(durable::FORMAT.as_bytes().into());
        }
        if format.as_deref() == Some(upgrade::V4_FORMAT.as_bytes()) {
            upgrade::from_v4(dir, &db, &mut syncer)?;
            format = Some(durable::FORMAT.as_bytes().into());
        }
        match format {
            Some(format) if format.as_ref() == durable::FORMAT.as_bytes() => {
                upgrade::drop_old_tree(dir, &db, &mut syncer)?;
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
        let meta = stored_meta(dir, &trees)?;
        let compressed_from = match trees
            .meta
            .get(layout::META_COMPRESSED_FROM)
            .map_err(engine)?
        {
            Some(bytes) => layout::decode_u64(&bytes).ok_or_else(|| {
                StoreError::CorruptMetadata(format!(
                    "the first compressed record is named in {} bytes, not 8",
                    bytes.len()
                ))
            })?,
            None => {
                return Err(StoreError::CorruptMetadata(
                    "the engine does not say which records are compressed".to_owned(),
                ));
            }
        };
        let size = meta.head.size;
        let mut store = Self {
            dir: dir.to_owned(),
            engine: parking_lot::RwLock::new(Ok(Engine { db, trees })),
            refreshes: refreshes(size),
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
            compressed_from,
            recovery: Recovery::default(),
            door: Mutex::new(()),
            upper: Arc::default(),
            warmer: Mutex::new(None),
            preloaded_state: Mutex::new(preload.state),
        };
        if open_check == OpenCheck::Head {
            store.check_head()?;
        }
        store.check_closed_head()?;
        store.recovery = store.load_index(preload.index)?;
        store.lock_writer_unchecked().failed = None;
        if open_check == OpenCheck::Head {
            let hashes = store.engine()?.trees.hashes.clone();
            *store.warmer.get_mut().unwrap_or_else(|p| p.into_inner()) =
                Warmer::start(hashes, store.upper.clone(), size);
        }
        Ok(store)
    }

    pub(super) fn lock_writer_unchecked(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

pub(super) fn open_engine(dir: &Path) -> Result<sled::Db, StoreError> {
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

/// The head and counters the engine holds.
fn stored_meta(dir: &Path, trees: &Trees) -> Result<Meta, StoreError> {
    match trees.meta.get(layout::META_HEAD) {
        Ok(Some(bytes)) => Meta::decode(&bytes).map_err(StoreError::CorruptMetadata),
        Ok(None) => Err(StoreError::CorruptMetadata(
            "the engine holds no head record".to_owned(),
        )),
        Err(e) => Err(durable::engine_error(dir, e)),
    }
}

/// The refresh schedule of an engine opened at `size` entries (`engine`).
fn refreshes(size: u64) -> crate::Refreshes {
    let refreshes = crate::Refreshes::new(REFRESH_EVERY_ENTRIES, size);
    refreshes.set_every_log_bytes(super::REFRESH_EVERY_LOG_BYTES);
    refreshes
}

/// The engine settings every store uses.
fn engine_config(engine_dir: &Path) -> sled::Config {
    durable::sled_config(engine_dir)
        .mode(sled::Mode::HighThroughput)
        .cache_capacity(64 * 1024 * 1024)
        // Every batch flushes itself; a background flusher would only add writes.
        .flush_every_ms(None)
}
