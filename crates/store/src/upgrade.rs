//! Upgrading a store of an older format in place, one step at a time (v2 to v3 to v4 to v5).
//!
//! v2 kept the event-id index in the engine, one item per event (tree `events`: id to
//! sequence number). v3 keeps one record of fingerprints per batch (tree `prints`) and the
//! index in memory; everything else is the same. The upgrade derives the `prints` records from
//! the entries and writes them together with the new format record in one transaction, then
//! drops the old tree and rewrites the format file. A crash before the transaction leaves a v2
//! store, which upgrades again on the next open; a crash after it leaves a v3 engine (at worst
//! with the old tree still there, dropped on the next open, and a format file still saying v2,
//! rewritten on the next open).
//!
//! v4 stores each entries record as a zstd frame (`layout::compress_record`). Rewriting every
//! record of a large log would take as long as writing it, so the upgrade rewrites none: it
//! records the head's size as the first compressed record (`layout::META_COMPRESSED_FROM`)
//! together with the new format record, in one batch, and records before it stay plain.
//!
//! v5 lets a state record end in a seal (`crate::seal`), which v4 cannot read. A v4 store
//! has no seals and is a v5 store as it is: the upgrade rewrites the format record only, so
//! that no older version writes into a store that may hold sealed records.

use crate::StoreError;
use crate::durable::{self, Syncer};
use crate::event_index;
use crate::layout;
use crate::sled_store::{Trees, decode_envelope_header};
use sled::transaction::{TransactionError, TransactionalTree};
use std::path::Path;

/// The formats this module upgrades from.
pub(crate) const V2_FORMAT: &str = "covenant-store v2";
pub(crate) const V3_FORMAT: &str = "covenant-store v3";
pub(crate) const V4_FORMAT: &str = "covenant-store v4";

/// The v2 tree that v3 no longer keeps.
const OLD_EVENTS_TREE: &str = "events";

/// Entries per `prints` record written by the upgrade (any split is valid: records only have
/// to follow each other without a gap).
const PRINTS_PER_RECORD: usize = 4096;

/// Upgrade the engine of a v2 store in `dir` to v3 (whose records are all plain).
pub(crate) fn from_v2(
    dir: &Path,
    db: &sled::Db,
    trees: &Trees,
    syncer: &mut Syncer,
) -> Result<(), StoreError> {
    let engine = |e| durable::engine_error(dir, e);
    let mut records = Vec::new();
    let mut pending: Vec<u64> = Vec::with_capacity(PRINTS_PER_RECORD);
    let mut next_seq = 0;
    for item in trees.entries.iter() {
        let (key, record) = item.map_err(engine)?;
        let first = layout::decode_u64(&key).ok_or_else(|| corrupt(next_seq, "a bad key"))?;
        if first != next_seq {
            return Err(corrupt(next_seq, "the entry is missing"));
        }
        let parts = layout::record_entries(first, &record).map_err(|(seq, p)| corrupt(seq, &p))?;
        for part in parts {
            let entry = layout::entry_bytes(next_seq, part);
            let envelope = covenant_core::entry::envelope_of(&entry);
            let header = decode_envelope_header(envelope).map_err(|p| corrupt(next_seq, &p))?;
            pending.push(event_index::fingerprint(&header.event_id));
            next_seq += 1;
            if pending.len() == PRINTS_PER_RECORD {
                let first = next_seq - pending.len() as u64;
                records.push((layout::seq_key(first), layout::encode_prints(&pending)));
                pending.clear();
            }
        }
    }
    if !pending.is_empty() {
        let first = next_seq - pending.len() as u64;
        records.push((layout::seq_key(first), layout::encode_prints(&pending)));
    }
    let written: Result<(), TransactionError<()>> = sled::Transactional::transaction(
        &[trees.prints.clone(), trees.meta.clone()][..],
        |views: &Vec<TransactionalTree>| {
            for (key, value) in &records {
                views[0].insert(&key[..], &value[..])?;
            }
            views[1].insert(layout::META_FORMAT, V3_FORMAT.as_bytes())?;
            Ok(())
        },
    );
    written.map_err(|e| match e {
        TransactionError::Storage(e) => engine(e),
        TransactionError::Abort(()) => StoreError::Engine("upgrade transaction aborted".into()),
    })?;
    db.flush().map_err(engine)?;
    syncer.sync()?;
    drop_old_tree(dir, db, syncer)
}

/// Upgrade the engine of a v3 store in `dir`, holding `size` entries, to v4 and on to the
/// current format (v5 changes nothing a v3 store holds): the records written from now on are
/// compressed, those already there stay as they are.
pub(crate) fn from_v3(
    dir: &Path,
    db: &sled::Db,
    trees: &Trees,
    size: u64,
    syncer: &mut Syncer,
) -> Result<(), StoreError> {
    let engine = |e| durable::engine_error(dir, e);
    let mut batch = sled::Batch::default();
    batch.insert(layout::META_COMPRESSED_FROM, &layout::seq_key(size)[..]);
    batch.insert(layout::META_FORMAT, durable::FORMAT.as_bytes());
    trees.meta.apply_batch(batch).map_err(engine)?;
    db.flush().map_err(engine)?;
    syncer.sync()
}

/// Upgrade the engine of a v4 store to v5: the format record only.
pub(crate) fn from_v4(dir: &Path, db: &sled::Db, syncer: &mut Syncer) -> Result<(), StoreError> {
    let engine = |e| durable::engine_error(dir, e);
    db.insert(layout::META_FORMAT, durable::FORMAT.as_bytes())
        .map_err(engine)?;
    db.flush().map_err(engine)?;
    syncer.sync()
}

/// Drop the v2 event tree if it is still there (an upgrade that stopped after its transaction).
pub(crate) fn drop_old_tree(
    dir: &Path,
    db: &sled::Db,
    syncer: &mut Syncer,
) -> Result<(), StoreError> {
    let engine = |e| durable::engine_error(dir, e);
    let present = db
        .tree_names()
        .iter()
        .any(|name| name.as_ref() == OLD_EVENTS_TREE.as_bytes());
    if present {
        db.drop_tree(OLD_EVENTS_TREE).map_err(engine)?;
        db.flush().map_err(engine)?;
        syncer.sync()?;
    }
    Ok(())
}

fn corrupt(seq: u64, problem: &str) -> StoreError {
    StoreError::Corrupt {
        seq,
        problem: format!("upgrading from {V2_FORMAT}: {problem}"),
    }
}
