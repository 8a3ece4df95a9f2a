//! Verifying a log from what it publishes, entry by entry, with nothing taken on trust but the
//! log's verifier key.
//!
//! For every entry, in order: the chain link (sequence number, previous chain hash, storage
//! time), the leaf hash against the served level 0 tile, the envelope decoding, and the
//! authority and signature, by replaying the validation state machine from genesis (every
//! entry must be accepted at its place). Then every served hash tile against the recomputed
//! tree, and the recomputed root against the signed checkpoint.
//!
//! Speed comes from doing the expensive parts on every core: hashing and decoding entries in
//! parallel, and checking signatures in parallel batches. Only the cheap, order-dependent steps
//! (links, the tree's right edge, validation) run in sequence, and validation of one chunk
//! overlaps with the preparation of the next.
//!
//! # Verify, step by step
//!
//! 1. Fetch the checkpoint; check its signature and origin against the pinned verifier key
//!    (`verify_log`).
//! 2. Plan the downloads for the tree of that size (`plan`): every entry bundle, and every hash
//!    tile attached to the bundle after which it can be compared (a full tile after its last
//!    leaf, the partial edge at the end). `FETCHERS` download threads fetch ahead through
//!    bounded channels, so the network overlaps the checking.
//! 3. For each batch of `CHUNK_BUNDLES` bundles, on every core (`Structure::prepare`): split
//!    the bundles, then for each entry compute its blake3 chain hash and SHA-256 leaf hash and
//!    decode its envelope.
//! 4. In order, cheaply (`Structure::check_entry`): check each chain link, compare the leaf
//!    with the served level 0 tile, push the leaf into the tile checker (`crate::tiles`: it
//!    compares every hash tile as it completes, and its unfinished tiles give the root), and
//!    pick the key the entry claims (a key directory fed by genesis and key grants).
//! 5. On every core: batch-verify the signatures, `SIGNATURE_BATCH` per batch
//!    (`check_signatures`).
//! 6. In order: replay `covenant_core::validate` with the batch verdicts (validation trusts a
//!    verdict only for the key its own state names), `Authority::validate`.
//! 7. Compare the partial tiles at the edge and the recomputed root with the checkpoint, and
//!    the origin genesis names with the checkpoint's.
//!
//! Steps 3 to 6 run as three overlapping stages (nested `rayon::join`): batch k-1 is validated
//! while batch k's signatures are checked and batch k+1 is prepared. Errors carry where they
//! happened; a structural failure in a batch is reported only after the entries before it
//! have been validated, so the message always names the first failure.

use crate::AuditError;
use crate::source::LogSource;
use crate::tiles::TileChecker;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use covenant_core::checkpoint::{VerifiedCheckpoint, verify_checkpoint};
use covenant_core::entry::{ChainHash, ChainVerifier, EntryHeader, chain_hash, envelope_of};
use covenant_core::event::{self, DecodeError, DecodedEvent};
use covenant_core::merkle::{
    HASH_SIZE, Hash, TILE_WIDTH, Tile, decode_entry_bundle, entry_tile, hash_tile, leaf_hash,
    tile_path,
};
use covenant_core::proto::event_body::Kind;
use covenant_core::signing::{self, BatchItem, PublicKey};
use covenant_core::validate::{
    self, Decision, EventIndex, IndexedEvent, LedgerState, SignatureCheck,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::mpsc;

/// Entry bundles verified together: enough entries to keep every core busy.
const CHUNK_BUNDLES: usize = 32;
/// Signatures per batch verification.
const SIGNATURE_BATCH: usize = 64;
/// Concurrent downloads.
const FETCHERS: usize = 4;

/// Where progress goes (the binary draws a bar).
pub trait Progress: Sync {
    /// Verification of entries `from..to` starts.
    fn begin(&self, _from: u64, _to: u64) {}
    /// `entries` more entries are fully verified.
    fn advance(&self, _entries: u64) {}
}

/// Reports nothing.
pub struct Silent;
impl Progress for Silent {}

/// What a successful verification established.
#[derive(Debug, Clone)]
pub struct VerifiedLog {
    pub checkpoint: VerifiedCheckpoint,
    /// The checkpoint note as served.
    pub note: Vec<u8>,
    /// Entries checked in this run.
    pub entries_checked: u64,
    /// Hash tiles compared in this run.
    pub tiles_checked: u64,
}

/// Verify the whole log at `source` against the pinned `verifier_key`.
pub fn verify_log(
    source: &dyn LogSource,
    verifier_key: &str,
    progress: &dyn Progress,
) -> Result<(Verifier, VerifiedLog), AuditError> {
    let note = source.checkpoint()?;
    let checkpoint = verify_checkpoint(&note, verifier_key)?;
    let mut verifier = Verifier::new();
    let report = verifier.extend(source, checkpoint, note, progress)?;
    Ok((verifier, report))
}

/// A verified prefix of a log, able to continue to a larger checkpoint.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    structure: Structure,
    authority: Authority,
}

/// The order-dependent structural checks: chain, tree, tiles, and which key signs what.
#[derive(Debug, Clone, Default)]
struct Structure {
    chain: ChainVerifier,
    tiles: TileChecker,
    keys: SignerKeys,
}

/// The validation replay.
#[derive(Debug, Clone, Default)]
struct Authority {
    state: LedgerState,
    index: EventIds,
}

/// Fast maps for the in-order steps: every entry looks up and inserts here, and SipHash's
/// resistance to chosen keys is not needed by a process that exits when the log is checked.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The event ids seen so far, as validation asks for them.
#[derive(Debug, Clone, Default)]
struct EventIds(FastMap<String, IndexedEvent>);

impl EventIndex for EventIds {
    fn lookup(&self, event_id: &str) -> Option<IndexedEvent> {
        self.0.get(event_id).cloned()
    }
}

/// Every key the log has named so far, by key id. Used only to pick the key to batch-verify a
/// signature with; validation decides whether that key may speak (it trusts a batch verdict
/// only for the key its own state names).
#[derive(Debug, Clone, Default)]
struct SignerKeys {
    registrars: FastMap<String, PublicKey>,
    granted: FastMap<String, PublicKey>,
}

impl SignerKeys {
    fn from_state(state: &LedgerState) -> Self {
        Self {
            registrars: state
                .genesis
                .as_ref()
                .map(|g| g.registrars.clone().into_iter().collect())
                .unwrap_or_default(),
            granted: state
                .keys
                .iter()
                .map(|(id, key)| (id.clone(), key.public_key))
                .collect(),
        }
    }

    /// The key `event` claims to be signed with, learning any key it names.
    fn observe(&mut self, event: &DecodedEvent) -> Option<PublicKey> {
        let key_id = &event.envelope.key_id;
        match &event.kind {
            Kind::Genesis(genesis) => {
                for registrar in &genesis.registrars {
                    if let Ok(key) = registrar.public_key.as_slice().try_into() {
                        self.registrars.insert(registrar.key_id.clone(), key);
                    }
                }
                None
            }
            Kind::ActorRegistered(_) | Kind::KeyRevoked(_) | Kind::ActorSucceeded(_) => {
                self.registrars.get(key_id).copied()
            }
            Kind::KeyGranted(grant) => {
                let signer = self.registrars.get(key_id).copied();
                if let Ok(key) = grant.public_key.as_slice().try_into() {
                    self.granted.entry(grant.key_id.clone()).or_insert(key);
                }
                signer
            }
            _ => self.granted.get(key_id).copied(),
        }
    }
}

/// One entry ready for validation.
struct PreparedEntry {
    seq: u64,
    stored_at_ns: u64,
    event: DecodedEvent,
    public_key: Option<PublicKey>,
    signature_ok: bool,
}

/// Entries that passed the structural checks, and the first structural failure if any (every
/// entry before it is in `entries`).
struct PreparedChunk {
    entries: Vec<PreparedEntry>,
    failure: Option<AuditError>,
}

/// The downloads for one entry bundle: the bundle and the hash tiles that can be compared
/// once its entries are in.
#[derive(Debug, Clone)]
struct Job {
    bundle: Tile,
    tiles: Vec<Tile>,
}

struct Fetched {
    job: Job,
    bundle: Vec<u8>,
    tiles: Vec<(Tile, Vec<u8>)>,
}

impl Verifier {
    /// A verifier at the start of a log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries verified so far.
    pub fn size(&self) -> u64 {
        self.structure.chain.len()
    }

    /// The recomputed Merkle root of the verified prefix.
    pub fn root(&self) -> Hash {
        self.structure.tiles.root()
    }

    /// Verify entries `self.size()..checkpoint.size` from `source`, and that the result is
    /// exactly the tree `checkpoint` signs. On error the verifier must be discarded.
    pub fn extend(
        &mut self,
        source: &dyn LogSource,
        checkpoint: VerifiedCheckpoint,
        note: Vec<u8>,
        progress: &dyn Progress,
    ) -> Result<VerifiedLog, AuditError> {
        let start = self.size();
        let end = checkpoint.size;
        if end < start {
            return Err(AuditError::Rollback {
                seen_size: start,
                new_size: end,
            });
        }
        progress.begin(start, end);
        let tiles_before = self.structure.tiles.checked;
        let jobs = plan(start, end);
        let Self {
            structure,
            authority,
        } = self;
        authority.index.0.reserve((end - start) as usize);
        std::thread::scope(|scope| -> Result<(), AuditError> {
            let mut receivers = Vec::new();
            for worker in 0..FETCHERS.min(jobs.len()) {
                let (sender, receiver) = mpsc::sync_channel(CHUNK_BUNDLES);
                receivers.push(receiver);
                let my_jobs: Vec<Job> = jobs
                    .iter()
                    .skip(worker)
                    .step_by(FETCHERS)
                    .cloned()
                    .collect();
                scope.spawn(move || fetch_jobs(source, my_jobs, sender));
            }
            let mut fetched = (0..jobs.len()).map(|i| {
                receivers[i % receivers.len()]
                    .recv()
                    .unwrap_or_else(|_| Err(fetch_stopped()))
            });
            // Three stages overlap: validating batch k-1, checking the signatures of batch k
            // and preparing batch k+1, so the in-order steps of one batch run while the
            // other core checks signatures.
            let mut to_validate: Vec<PreparedEntry> = Vec::new();
            let mut to_sign: Vec<PreparedEntry> = Vec::new();
            loop {
                let (batch, fetch_error) = next_batch(&mut fetched);
                if batch.is_empty() && fetch_error.is_none() {
                    break;
                }
                let validating = std::mem::take(&mut to_validate);
                let mut signing = std::mem::take(&mut to_sign);
                let (validated, (signed, prepared)) = rayon::join(
                    || authority.validate(validating),
                    || {
                        rayon::join(
                            move || {
                                check_signatures(&mut signing);
                                signing
                            },
                            || structure.prepare(batch),
                        )
                    },
                );
                progress.advance(validated?);
                to_validate = signed;
                if let Some(failure) = prepared.failure.or(fetch_error) {
                    // Everything before the failure is validated first: an earlier entry's
                    // problem is the one to report.
                    progress.advance(authority.validate(std::mem::take(&mut to_validate))?);
                    let mut last = prepared.entries;
                    check_signatures(&mut last);
                    authority.validate(last)?;
                    return Err(failure);
                }
                to_sign = prepared.entries;
            }
            progress.advance(authority.validate(to_validate)?);
            check_signatures(&mut to_sign);
            progress.advance(authority.validate(to_sign)?);
            Ok(())
        })?;
        self.structure.tiles.finish()?;
        let computed = self.structure.tiles.root();
        if computed != checkpoint.root {
            return Err(AuditError::RootMismatch {
                size: end,
                signed: BASE64.encode(checkpoint.root.0),
                computed: BASE64.encode(computed.0),
            });
        }
        if let Some(genesis) = &self.authority.state.genesis
            && genesis.origin != checkpoint.origin
        {
            return Err(AuditError::OriginMismatch {
                genesis: genesis.origin.clone(),
                checkpoint: checkpoint.origin,
            });
        }
        Ok(VerifiedLog {
            checkpoint,
            note,
            entries_checked: end - start,
            tiles_checked: self.structure.tiles.checked - tiles_before,
        })
    }

    /// Everything needed to continue later (see [`Verifier::resume`]).
    pub fn snapshot(&self) -> VerifierSnapshot {
        let structure = &self.structure;
        VerifierSnapshot {
            size: structure.chain.len(),
            chain_head: hex::encode(structure.chain.head()),
            last_stored_at_ns: structure.chain.last_stored_at_ns(),
            pending_tiles: structure
                .tiles
                .pending()
                .iter()
                .map(|hashes| BASE64.encode(hashes))
                .collect(),
            ledger: self.authority.state.clone(),
            index: self.authority.index.0.clone().into_iter().collect(),
        }
    }

    /// Continue from a snapshot, checking that its parts agree with one another.
    pub fn resume(snapshot: VerifierSnapshot) -> Result<Self, String> {
        let chain_head: ChainHash = hex::decode(&snapshot.chain_head)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or("chain_head is not 32 hex bytes")?;
        let pending = snapshot
            .pending_tiles
            .iter()
            .map(|encoded| {
                BASE64
                    .decode(encoded)
                    .map_err(|_| "pending tile is not base64")
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tiles = TileChecker::resume(snapshot.size, pending)
            .ok_or("the pending tiles do not fit the snapshot's size")?;
        Ok(Self {
            structure: Structure {
                chain: ChainVerifier::resume(snapshot.size, chain_head, snapshot.last_stored_at_ns),
                tiles,
                keys: SignerKeys::from_state(&snapshot.ledger),
            },
            authority: Authority {
                state: snapshot.ledger,
                index: EventIds(snapshot.index.into_iter().collect()),
            },
        })
    }
}

/// A verifier's position, as saved in a monitor's state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifierSnapshot {
    pub size: u64,
    /// Hex chain hash of the last verified entry.
    pub chain_head: String,
    pub last_stored_at_ns: u64,
    /// Hashes of the unfinished tile at each level, base64.
    pub pending_tiles: Vec<String>,
    /// Validation state after the last verified entry.
    pub ledger: LedgerState,
    /// Event ids seen so far.
    pub index: HashMap<String, IndexedEvent>,
}

/// The bundles and tiles to fetch to go from `start` to `end` entries, in order.
fn plan(start: u64, end: u64) -> Vec<Job> {
    if end <= start {
        return vec![];
    }
    let first = start / TILE_WIDTH;
    let last = (end - 1) / TILE_WIDTH;
    let mut jobs: Vec<Job> = (first..=last)
        .map(|index| Job {
            bundle: entry_tile(end, index).expect("index is below the size"),
            tiles: hash_tile(end, 0, index).into_iter().collect(),
        })
        .collect();
    for level in 1u8..64 {
        let leaves_per_tile = 1u64 << (8 * (u32::from(level) + 1));
        let mut index = start / leaves_per_tile;
        let mut any = false;
        while let Some(tile) = hash_tile(end, level, index) {
            any = true;
            // A full tile can be compared once its last leaf is in; a partial one at the end.
            let last_leaf = if u64::from(tile.width()) == TILE_WIDTH {
                (index + 1) * leaves_per_tile - 1
            } else {
                end - 1
            };
            let job = (last_leaf / TILE_WIDTH - first) as usize;
            jobs[job].tiles.push(tile);
            index += 1;
        }
        if !any {
            break;
        }
    }
    jobs
}

fn fetch_jobs(
    source: &dyn LogSource,
    jobs: Vec<Job>,
    sender: mpsc::SyncSender<Result<Fetched, AuditError>>,
) {
    for job in jobs {
        let result = fetch_job(source, job);
        let failed = result.is_err();
        if sender.send(result).is_err() || failed {
            return;
        }
    }
}

fn fetch_job(source: &dyn LogSource, job: Job) -> Result<Fetched, AuditError> {
    let bundle = source.entry_bundle(&job.bundle)?;
    let tiles = job
        .tiles
        .iter()
        .map(|tile| Ok((*tile, source.hash_tile(tile)?)))
        .collect::<Result<Vec<_>, AuditError>>()?;
    Ok(Fetched { job, bundle, tiles })
}

fn fetch_stopped() -> AuditError {
    AuditError::Fetch {
        what: "log".into(),
        reason: "a download worker stopped unexpectedly".into(),
    }
}

/// Up to [`CHUNK_BUNDLES`] downloads, stopping at the first failure.
fn next_batch(
    fetched: &mut impl Iterator<Item = Result<Fetched, AuditError>>,
) -> (Vec<Fetched>, Option<AuditError>) {
    let mut batch = Vec::with_capacity(CHUNK_BUNDLES);
    for result in fetched.by_ref() {
        match result {
            Ok(item) => batch.push(item),
            Err(error) => return (batch, Some(error)),
        }
        if batch.len() == CHUNK_BUNDLES {
            break;
        }
    }
    (batch, None)
}

/// Hashes and decoding of one entry, computed in parallel.
struct EntryWork {
    chain: ChainHash,
    leaf: Hash,
    header: Option<EntryHeader>,
    event: Option<Result<DecodedEvent, DecodeError>>,
}

fn work_on(entry: &[u8]) -> EntryWork {
    let header = EntryHeader::parse(entry).ok();
    EntryWork {
        chain: chain_hash(entry),
        leaf: leaf_hash(entry),
        event: header.map(|_| event::decode(envelope_of(entry))),
        header,
    }
}

impl Structure {
    /// Structural checks of a batch of bundles (signatures are checked in the next stage).
    fn prepare(&mut self, mut batch: Vec<Fetched>) -> PreparedChunk {
        for fetched in &mut batch {
            for (tile, data) in std::mem::take(&mut fetched.tiles) {
                self.tiles.serve(tile, data);
            }
        }
        let split: Vec<Option<Vec<&[u8]>>> = batch
            .par_iter()
            .map(|fetched| decode_entry_bundle(&fetched.bundle))
            .collect();
        // The new entries of every bundle, flattened so that hashing and decoding can spread
        // over all cores; each bundle keeps its range and any problem with its shape.
        let mut items: Vec<(u64, &[u8])> = Vec::new();
        let mut slices: Vec<(std::ops::Range<usize>, Option<AuditError>)> = Vec::new();
        let mut next_seq = self.chain.len();
        for (fetched, entries) in batch.iter().zip(&split) {
            let path = tile_path(&fetched.job.bundle);
            let Some(entries) = entries else {
                slices.push((
                    items.len()..items.len(),
                    Some(AuditError::MalformedBundle { path }),
                ));
                break;
            };
            let first_seq = fetched.job.bundle.level_index() * TILE_WIDTH;
            let width = u64::from(fetched.job.bundle.width());
            let begin = items.len();
            for (position, entry) in entries.iter().enumerate().take(width as usize) {
                let seq = first_seq + position as u64;
                if seq >= next_seq {
                    items.push((seq, entry));
                }
            }
            next_seq = first_seq + width;
            let shape_error = (entries.len() as u64 != width).then_some(AuditError::BundleWidth {
                path,
                expected: width,
                found: entries.len() as u64,
            });
            slices.push((begin..items.len(), shape_error));
        }
        let mut work = items
            .par_iter()
            .map(|&(_, entry)| work_on(entry))
            .collect::<Vec<_>>()
            .into_iter();

        let mut entries = Vec::with_capacity(items.len());
        let mut failure = None;
        'bundles: for (range, shape_error) in slices {
            for &(seq, entry) in &items[range] {
                let work = work.next().expect("one result per item");
                match self.check_entry(seq, entry, work) {
                    Ok(prepared) => entries.push(prepared),
                    Err(error) => {
                        failure = Some(error);
                        break 'bundles;
                    }
                }
            }
            if shape_error.is_some() {
                failure = shape_error;
                break;
            }
        }
        PreparedChunk { entries, failure }
    }

    fn check_entry(
        &mut self,
        seq: u64,
        entry: &[u8],
        work: EntryWork,
    ) -> Result<PreparedEntry, AuditError> {
        self.chain.push_hashed(entry, work.chain)?;
        let header = work.header.expect("the chain check parsed the header");
        self.check_leaf(seq, work.leaf)?;
        let event = match work.event.expect("decoded when the header parsed") {
            Ok(event) => event,
            Err(error) => return Err(AuditError::Undecodable { seq, error }),
        };
        self.tiles.push_leaf(work.leaf)?;
        let public_key = self.keys.observe(&event);
        Ok(PreparedEntry {
            seq,
            stored_at_ns: header.stored_at_ns,
            event,
            public_key,
            signature_ok: false,
        })
    }

    fn check_leaf(&self, seq: u64, leaf: Hash) -> Result<(), AuditError> {
        let Some((tile, data)) = self.tiles.served_leaf_tile(seq) else {
            return Err(AuditError::Missing {
                what: format!("tile/0 for entry {seq}"),
            });
        };
        let position = (seq % TILE_WIDTH) as usize;
        let served = data.get(position * HASH_SIZE..(position + 1) * HASH_SIZE);
        if served != Some(leaf.0.as_slice()) {
            return Err(AuditError::LeafMismatch {
                seq,
                tile: tile_path(tile),
                position,
            });
        }
        Ok(())
    }
}

/// Batch-verify, on every core, the signatures of entries whose key is known.
fn check_signatures(entries: &mut [PreparedEntry]) {
    entries.par_chunks_mut(SIGNATURE_BATCH).for_each(|chunk| {
        let signed: Vec<(usize, PublicKey, Vec<u8>)> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| {
                let key = entry.public_key?;
                Some((
                    i,
                    key,
                    signing::envelope_signing_input(&entry.event.envelope),
                ))
            })
            .collect();
        let items: Vec<BatchItem<'_>> = signed
            .iter()
            .map(|(i, key, input)| BatchItem {
                public_key: *key,
                message: input,
                signature: &chunk[*i].event.envelope.signature,
            })
            .collect();
        // A thread-local ChaCha generator seeded from the OS: batch verification draws a
        // random scalar per signature, and a system call for each costs more than hashing.
        let verdicts = signing::verify_batch(&items, rand::thread_rng());
        let oks: Vec<(usize, bool)> = signed
            .iter()
            .zip(verdicts)
            .map(|((i, _, _), ok)| (*i, ok))
            .collect();
        for (i, ok) in oks {
            chunk[i].signature_ok = ok;
        }
    });
}

impl Authority {
    /// Replay validation over prepared entries; how many were accepted.
    fn validate(&mut self, entries: Vec<PreparedEntry>) -> Result<u64, AuditError> {
        let count = entries.len() as u64;
        for entry in entries {
            let check = match entry.public_key {
                Some(key) if entry.signature_ok => SignatureCheck::VerifiedWith(key),
                _ => SignatureCheck::Pending,
            };
            let decision = validate::validate(
                &self.state,
                &self.index,
                &entry.event,
                entry.seq,
                entry.stored_at_ns,
                check,
            );
            match decision {
                Decision::Accept(changes) => {
                    self.state.apply_all(changes);
                    // The entry is done with: its id and actor move into the index.
                    let DecodedEvent {
                        envelope, digest, ..
                    } = entry.event;
                    self.index.0.insert(
                        envelope.event_id,
                        IndexedEvent {
                            seq: entry.seq,
                            digest,
                            actor: envelope.actor,
                        },
                    );
                }
                Decision::Duplicate { seq: first } => {
                    return Err(AuditError::Duplicate {
                        seq: entry.seq,
                        event_id: entry.event.event_id().to_owned(),
                        first,
                    });
                }
                Decision::Reject(rejection) => {
                    return Err(AuditError::Rejected {
                        seq: entry.seq,
                        event_id: entry.event.event_id().to_owned(),
                        rejection,
                    });
                }
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_fetches_every_tile_once_after_its_last_leaf() {
        let jobs = plan(0, 70_000);
        assert_eq!(jobs.len(), 274);
        let all: Vec<Tile> = jobs.iter().flat_map(|j| j.tiles.clone()).collect();
        let expected: Vec<Tile> = crate::publish::tiles_of(70_000)
            .into_iter()
            .filter(|t| !t.is_data())
            .collect();
        assert_eq!(all.len(), expected.len());
        assert!(expected.iter().all(|t| all.contains(t)));
        // The full level 1 tile comes with the bundle holding leaf 65535.
        let level_one_full = Tile::new(8, 1, 0, 256, false);
        assert!(jobs[255].tiles.contains(&level_one_full));
        // Resuming mid-tile fetches that tile again, at its new width.
        let resumed = plan(300, 600);
        assert_eq!(resumed.len(), 2);
        assert_eq!(resumed[0].bundle, Tile::new(8, 0, 1, 256, true));
        assert!(resumed[1].tiles.contains(&Tile::new(8, 1, 0, 2, false)));
        assert!(plan(5, 5).is_empty());
    }
}
