//! The deep check: re-derive everything in a store from its entries, offline, and name the
//! first thing that does not match.
//!
//! [`verify_store`] reads every record of every tree, so the engine's own per-record checksums
//! are exercised on all live data, and then checks what the checksums cannot: every entry
//! decodes and links to the one before it, every stored hash is the one the entries give,
//! the event index says exactly what the entries say, every checkpoint commits to the tree
//! at its size (and is signed by the log key, when one is given), the validation state records
//! are exactly the state changes the entries give under the validation rules (`crate::derive`),
//! and the head is the end of all of that. `covenant audit verify --store PATH` calls it.
//!
//! The validation state is checked twice: each batch's record against the changes its entries
//! give (and a sealed record's seal against the run of entries it names and the chain hash it
//! ends on; its MAC needs the log key), and the state an open loads (snapshot included)
//! against the result; the event index likewise, from every `prints` record and as the open
//! loaded it from the snapshot. Bytes in sled's free space or in superseded page versions are
//! read by no one; a flip there changes nothing the store holds, which the tamper tests
//! (`tests/store/tamper.rs`) check by comparing a digest of every key and value with the
//! untouched store's.

use crate::event_index;
use crate::layout::{self, Meta};
use crate::sled_store::{self, SledStore, Trees};
use crate::{Head, LogReader, StoreError};
use covenant_core::entry::{ChainVerifier, Entry};
use covenant_core::merkle::{self, Hash, TreeFrontier};
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::Path;

/// What to check beyond the log's own consistency.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// The log's verifier key (`<origin>+<key id>+<base64>`): when given, every stored
    /// checkpoint's signature is checked against it.
    pub verifier_key: Option<String>,
    /// Re-derive the validation state from the entries under the validation rules and require
    /// the stored state records to hold exactly it. Needs a log of real events (entry 0 a
    /// genesis); `covenant audit verify --store` always sets it.
    pub validation_state: bool,
}

/// How far the check has got, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Entries checked so far.
    pub checked: u64,
    /// Entries in the log.
    pub total: u64,
}

/// What a successful check found.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    pub head: Head,
    pub stored_hashes: u64,
    pub checkpoints: u64,
    /// Checkpoints whose signature was checked (all of them when a verifier key was given).
    pub signatures_checked: u64,
    pub rejections: u64,
    pub state_records: u64,
    /// blake3 over every key and value in the store, tree by tree: two stores with the same
    /// digest hold the same data.
    pub content_digest: [u8; 32],
}

/// How often, in entries, the progress callback is called.
const PROGRESS_EVERY: u64 = 4096;

/// Check the store at `path` completely. It must not be open elsewhere (the engine locks its
/// directory): check a stopped ledger's store, or a copy.
pub fn verify_store(
    path: &Path,
    options: &CheckOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<CheckReport, StoreError> {
    // A damaged file can make the engine panic deep inside its recovery or its readers; the
    // check turns that into an error instead of taking the tool down.
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        let store = SledStore::open_for_check(path)?;
        // A store opened for the check takes no writes, so it never refreshes its engine and
        // the check may keep the trees for as long as it runs.
        let trees = store.engine()?.trees.clone();
        Checker::new(&store, trees, options).run(progress)
    }))
    .unwrap_or_else(|panic| {
        Err(StoreError::CorruptMetadata(format!(
            "the storage engine failed reading the store: {}",
            sled_store::panic_message(&panic)
        )))
    })
}

/// The size and root a checkpoint note claims, without checking its signature.
pub(crate) fn checkpoint_claim(note: &[u8]) -> Result<(u64, Hash), String> {
    let note =
        signed_note::Note::from_bytes(note).map_err(|e| format!("not a signed note: {e}"))?;
    let checkpoint = tlog_tiles::Checkpoint::from_bytes(note.text())
        .map_err(|e| format!("not a checkpoint: {e}"))?;
    Ok((checkpoint.size(), *checkpoint.hash()))
}

struct Checker<'a> {
    store: &'a SledStore,
    trees: Trees,
    options: &'a CheckOptions,
    meta: Meta,
    digest: blake3::Hasher,
    /// The fingerprint the event index records hold for each entry, in order.
    prints: Vec<u64>,
}

impl<'a> Checker<'a> {
    fn new(store: &'a SledStore, trees: Trees, options: &'a CheckOptions) -> Self {
        Self {
            store,
            trees,
            options,
            meta: store.meta_snapshot(),
            digest: blake3::Hasher::new(),
            prints: Vec::new(),
        }
    }

    fn run(mut self, progress: &mut dyn FnMut(Progress)) -> Result<CheckReport, StoreError> {
        let checkpoints = self.read_checkpoints()?;
        self.read_prints()?;
        let signatures_checked = self.check_log(&checkpoints, progress)?;
        let stored_hashes = self.check_hash_records()?;
        self.check_event_index_size()?;
        let state_records = self.check_state()?;
        if self.options.validation_state {
            self.check_state_against_the_log()?;
        }
        let rejections = self.check_rejections()?;
        self.digest_tree(&self.trees.meta.clone())?;
        Ok(CheckReport {
            head: self.meta.head,
            stored_hashes,
            checkpoints: checkpoints.len() as u64,
            signatures_checked,
            rejections,
            state_records,
            content_digest: *self.digest.finalize().as_bytes(),
        })
    }

    fn engine(&self) -> impl Fn(sled::Error) -> StoreError + '_ {
        |e| crate::durable::engine_error(self.store.path(), e)
    }

    fn read_checkpoints(&mut self) -> Result<BTreeMap<u64, Vec<u8>>, StoreError> {
        let mut checkpoints = BTreeMap::new();
        for item in self.trees.checkpoints.iter() {
            let (key, note) = item.map_err(self.engine())?;
            self.feed_digest(b"checkpoints", &key, &note);
            let size = layout::decode_u64(&key).ok_or_else(|| {
                StoreError::CorruptMetadata("a checkpoint key is not 8 bytes".to_owned())
            })?;
            if size > self.meta.head.size {
                return Err(StoreError::InvalidCheckpoint {
                    size,
                    problem: format!("the log has only {} entries", self.meta.head.size),
                });
            }
            checkpoints.insert(size, note.to_vec());
        }
        Ok(checkpoints)
    }

    /// Walk the entries in order, checking each against the chain, the stored hashes and the
    /// event index, and each checkpoint when the walk reaches its size. Returns how many
    /// checkpoint signatures were checked.
    fn check_log(
        &mut self,
        checkpoints: &BTreeMap<u64, Vec<u8>>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<u64, StoreError> {
        let head = self.meta.head;
        let mut chain = ChainVerifier::new();
        let mut frontier = TreeFrontier::new();
        let mut signatures_checked = 0;
        if let Some(note) = checkpoints.get(&0) {
            signatures_checked += self.check_checkpoint(0, frontier.root(), note)?;
        }
        progress(Progress {
            checked: 0,
            total: head.size,
        });
        let entries_tree = self.trees.entries.clone();
        for item in entries_tree.iter() {
            let (key, record) = item.map_err(self.engine())?;
            let first = chain.len();
            if layout::decode_u64(&key) != Some(first) {
                return Err(corrupt(
                    first,
                    "the entry is missing (the next record starts elsewhere)",
                ));
            }
            let plain = layout::plain_record(first, &record, self.store.compressed_from)
                .map_err(|(seq, p)| corrupt(seq, p))?;
            // The digest covers what the records hold, not how they are compressed.
            self.feed_digest(b"entries", &key, &plain);
            let parts =
                layout::record_entries(first, &plain).map_err(|(seq, p)| corrupt(seq, p))?;
            for part in parts {
                let seq = chain.len();
                if seq >= head.size {
                    return Err(corrupt(
                        seq,
                        format!("the entry lies beyond the head's size {}", head.size),
                    ));
                }
                let bytes = layout::entry_bytes(seq, part);
                chain.push(&bytes).map_err(|e| corrupt(seq, e))?;
                let leaf = merkle::leaf_hash(&bytes);
                self.check_stored_hashes(seq, leaf)?;
                frontier.push(leaf);
                self.check_indexed(seq, &bytes)?;
                if let Some(note) = checkpoints.get(&(seq + 1)) {
                    signatures_checked += self.check_checkpoint(seq + 1, frontier.root(), note)?;
                }
                if (seq + 1).is_multiple_of(PROGRESS_EVERY) {
                    progress(Progress {
                        checked: seq + 1,
                        total: head.size,
                    });
                }
            }
        }
        if chain.len() != head.size {
            return Err(corrupt(
                chain.len(),
                "the entry is missing (the log ends early)",
            ));
        }
        if chain.head() != head.chain_head {
            return Err(StoreError::CorruptMetadata(
                "the head's chain hash is not the last entry's".to_owned(),
            ));
        }
        if frontier.root() != head.root {
            return Err(StoreError::CorruptMetadata(
                "the head's root is not the root of the entries".to_owned(),
            ));
        }
        let last_stored_at = match head.size {
            0 => 0,
            size => self.entry_stored_at(size - 1)?,
        };
        if last_stored_at != head.last_stored_at_ns {
            return Err(StoreError::CorruptMetadata(
                "the head's storage time is not the last entry's".to_owned(),
            ));
        }
        progress(Progress {
            checked: head.size,
            total: head.size,
        });
        Ok(signatures_checked)
    }

    fn entry_stored_at(&self, seq: u64) -> Result<u64, StoreError> {
        let bytes = self
            .store
            .entry(seq)?
            .ok_or_else(|| corrupt(seq, "the entry is missing"))?;
        Ok(Entry::decode(&bytes)
            .map_err(|e| corrupt(seq, e))?
            .stored_at_ns)
    }

    /// The stored hashes leaf `seq` added must be the ones the entries give. Earlier stored
    /// hashes were checked already, so reading them back to compute these is sound.
    fn check_stored_hashes(&mut self, seq: u64, leaf: Hash) -> Result<(), StoreError> {
        let expected = merkle::new_stored_hashes(seq, leaf, self.store)
            .map_err(|e| corrupt(seq, format!("stored hashes cannot be read: {e}")))?;
        let first_index = merkle::stored_hash_count(seq);
        for (offset, expected_hash) in expected.iter().enumerate() {
            let index = first_index + offset as u64;
            let stored = self.store.read_hash(index).map_err(|e| corrupt(seq, e))?;
            if stored != *expected_hash {
                return Err(corrupt(
                    seq,
                    format!(
                        "stored hash {index} (level {offset}) differs from the one the entries give"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Read every event index record, in order, requiring them to cover the log without a
    /// gap.
    fn read_prints(&mut self) -> Result<(), StoreError> {
        for item in self.trees.prints.iter() {
            let (key, record) = item.map_err(self.engine())?;
            self.feed_digest(b"prints", &key, &record);
            let first = self.prints.len() as u64;
            if layout::decode_u64(&key) != Some(first) {
                return Err(corrupt(
                    first,
                    "the event index record is missing (the next record starts elsewhere)",
                ));
            }
            let prints = layout::decode_prints(&record).map_err(|p| corrupt(first, p))?;
            self.prints.extend(prints);
        }
        Ok(())
    }

    /// The entry's event id is in the event index records at its place, and in the index the
    /// store rebuilt in memory on open (from its snapshot and those records).
    fn check_indexed(&mut self, seq: u64, entry_bytes: &[u8]) -> Result<(), StoreError> {
        let envelope = covenant_core::entry::envelope_of(entry_bytes);
        let header = sled_store::decode_envelope_header(envelope).map_err(|p| corrupt(seq, p))?;
        let print = event_index::fingerprint(&header.event_id);
        let recorded = usize::try_from(seq).ok().and_then(|at| self.prints.get(at));
        if recorded != Some(&print) {
            return Err(corrupt(
                seq,
                format!(
                    "the event index record does not hold event id {:?} here",
                    header.event_id
                ),
            ));
        }
        if !self.store.index_holds(print, seq) {
            return Err(corrupt(
                seq,
                format!(
                    "the event index loaded on open (snapshot and records) does not hold event id {:?} here",
                    header.event_id
                ),
            ));
        }
        Ok(())
    }

    fn check_checkpoint(&self, size: u64, root: Hash, note: &[u8]) -> Result<u64, StoreError> {
        let bad = |problem: String| StoreError::InvalidCheckpoint { size, problem };
        let (claimed_size, claimed_root) = checkpoint_claim(note).map_err(bad)?;
        if claimed_size != size {
            return Err(bad(format!(
                "it is stored under size {size} but says {claimed_size}"
            )));
        }
        if claimed_root != root {
            return Err(bad(
                "its root is not the root of the entries at that size".to_owned()
            ));
        }
        let Some(key) = &self.options.verifier_key else {
            return Ok(0);
        };
        let verified = covenant_core::checkpoint::verify_checkpoint(note, key)
            .map_err(|e| bad(e.to_string()))?;
        if verified.size != size || verified.root != root {
            return Err(bad("the signed body differs from the checkpoint".to_owned()));
        }
        Ok(1)
    }

    /// The hash records follow each other without gap or overlap and hold exactly the stored
    /// hashes of the log, no more (more would mean a batch half-applied).
    fn check_hash_records(&mut self) -> Result<u64, StoreError> {
        let expected = merkle::stored_hash_count(self.meta.head.size);
        let mut next_index = 0;
        for item in self.trees.hashes.clone().iter() {
            let (key, record) = item.map_err(self.engine())?;
            self.feed_digest(b"hashes", &key, &record);
            if layout::decode_u64(&key) != Some(next_index) {
                return Err(corrupt(
                    entry_of_hash(next_index),
                    format!("the hash record for stored hash {next_index} is missing"),
                ));
            }
            if record.is_empty() || record.len() % 32 != 0 {
                return Err(corrupt(
                    entry_of_hash(next_index),
                    format!(
                        "the hash record at {next_index} is {} bytes long",
                        record.len()
                    ),
                ));
            }
            next_index += record.len() as u64 / 32;
        }
        if next_index != expected {
            return Err(StoreError::CorruptMetadata(format!(
                "{next_index} stored hashes are stored but a log of {} entries has {expected}",
                self.meta.head.size
            )));
        }
        Ok(expected)
    }

    fn check_event_index_size(&self) -> Result<(), StoreError> {
        let recorded = self.prints.len() as u64;
        let loaded = self.store.index_len();
        if recorded != self.meta.head.size || loaded != self.meta.head.size {
            return Err(StoreError::CorruptMetadata(format!(
                "the event index records hold {recorded} events and the index loaded on open {loaded}, but the log has {} entries",
                self.meta.head.size
            )));
        }
        Ok(())
    }

    fn check_state(&mut self) -> Result<u64, StoreError> {
        let mut count = 0;
        let mut records = self.trees.state.clone().iter().peekable();
        while let Some(item) = records.next() {
            let (key, value) = item.map_err(self.engine())?;
            self.feed_digest(b"state", &key, &value);
            let first_seq = layout::decode_u64(&key)
                .filter(|seq| *seq < self.meta.head.size)
                .ok_or_else(|| {
                    StoreError::CorruptMetadata(
                        "a state record is not keyed by an entry of the log".to_owned(),
                    )
                })?;
            let record = layout::decode_state_record(&value).map_err(|problem| {
                corrupt(first_seq, format!("its batch's state record: {problem}"))
            })?;
            if let Some((seal, _)) = record.seal {
                let next = match records.peek() {
                    Some(Ok((next, _))) => layout::decode_u64(next),
                    _ => None,
                };
                self.check_seal(first_seq, &seal, next)?;
            }
            count += 1;
        }
        Ok(count)
    }

    /// A sealed state record's seal (`crate::seal`) covers a run of the log's entries from
    /// its key, before the next record's, and ends on the chain hash the entries give. Its
    /// MAC needs the log key's snapshot key, which only the ledger holds; an open with it
    /// checks the MACs.
    fn check_seal(
        &self,
        first: u64,
        seal: &crate::seal::Seal,
        next_record: Option<u64>,
    ) -> Result<(), StoreError> {
        let within = seal.end > first
            && seal.end <= self.meta.head.size
            && next_record.is_none_or(|next| seal.end <= next);
        if !within {
            return Err(corrupt(
                first,
                format!(
                    "its batch's state seal covers entries {first}..{}, which is not a run of the log before the next batch's record",
                    seal.end
                ),
            ));
        }
        let last = self.store.entry(seal.end - 1)?.unwrap_or_default();
        if covenant_core::entry::chain_hash(&last) != seal.chain_head {
            return Err(corrupt(
                first,
                "its batch's state seal does not end on the log's chain hash".to_owned(),
            ));
        }
        Ok(())
    }

    /// The state records hold exactly the changes the entries give, batch by batch
    /// (`derive::check_state_records` from entry 0).
    fn check_state_against_the_log(&mut self) -> Result<(), StoreError> {
        let derived = crate::derive::check_state_records(
            self.store,
            0,
            covenant_core::validate::LedgerState::default(),
        )?;
        // What an open loads comes from the snapshot as well as from the records after it.
        let loaded = self.store.load_state()?;
        if let Some(difference) = crate::derive::first_difference(&derived, &loaded) {
            return Err(StoreError::CorruptMetadata(format!(
                "the validation state an open loads (the snapshot's and the records after it) differs from the one the log gives ({difference})"
            )));
        }
        Ok(())
    }

    /// Every rejection decodes and is indexed under its event id, and the index names no
    /// rejection that is not there.
    fn check_rejections(&mut self) -> Result<u64, StoreError> {
        let trees = self.trees.clone();
        let mut count = 0;
        for item in trees.rejections.iter() {
            let (key, value) = item.map_err(self.engine())?;
            self.feed_digest(b"rejections", &key, &value);
            let record = layout::decode_rejection(&value).map_err(StoreError::CorruptMetadata)?;
            if layout::decode_u64(&key[..8.min(key.len())]) != Some(record.stored_at_ns)
                || key.len() != 16
            {
                return Err(StoreError::CorruptMetadata(format!(
                    "rejection of {:?} is filed under the wrong time",
                    record.event_id
                )));
            }
            let mut index_key = layout::rejection_event_prefix(&record.event_id);
            index_key.extend_from_slice(&key);
            if !trees
                .rejections_by_event
                .contains_key(&index_key)
                .map_err(self.engine())?
            {
                return Err(StoreError::CorruptMetadata(format!(
                    "rejection of {:?} is missing from the rejection index",
                    record.event_id
                )));
            }
            count += 1;
        }
        let indexed = trees.rejections_by_event.len() as u64;
        if indexed != count {
            return Err(StoreError::CorruptMetadata(format!(
                "the rejection index holds {indexed} records but there are {count} rejections"
            )));
        }
        for key in trees.rejections_by_event.iter().keys() {
            let key = key.map_err(self.engine())?;
            self.feed_digest(b"rejections_by_event", &key, &[]);
        }
        if count != self.meta.rejection_count {
            return Err(StoreError::CorruptMetadata(format!(
                "the head counts {} rejections but {count} are stored",
                self.meta.rejection_count
            )));
        }
        Ok(count)
    }

    fn digest_tree(&mut self, tree: &sled::Tree) -> Result<(), StoreError> {
        for item in tree.iter() {
            let (key, value) = item.map_err(self.engine())?;
            self.feed_digest(b"meta", &key, &value);
        }
        Ok(())
    }

    fn feed_digest(&mut self, tree: &[u8], key: &[u8], value: &[u8]) {
        for part in [tree, key, value] {
            self.digest.update(&(part.len() as u64).to_be_bytes());
            self.digest.update(part);
        }
    }
}

/// The entry whose append created stored hash `index`.
fn entry_of_hash(index: u64) -> u64 {
    let (level, n) = tlog_tiles::split_stored_hash_index(index);
    ((n + 1) << level) - 1
}

fn corrupt(seq: u64, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        seq,
        problem: problem.to_string(),
    }
}
