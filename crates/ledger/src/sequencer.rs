//! The sequencer: batches of raw envelopes in, one durable store batch out.
//!
//! Two steps, so that a pipeline can overlap them:
//! 1. [`prepare`] (parallel, pure): decode every envelope and batch-verify the signatures on
//!    all cores, with keys looked up in a [`KeyDirectory`] snapshot.
//! 2. [`Sequencer::commit`] (sequential, in input order): validate each event against the
//!    state and an in-batch overlay of the event index, then append everything in one
//!    [`LogStore::append`] together with the stream sequence consumed through.
//!
//! Validation trusts a batch verdict only for the key the state names when the event is
//! validated, so a key revoked or granted earlier in the same batch is still judged exactly.
//!
//! # Committing a batch
//!
//! For each event, in stream order, `covenant_core::validate::validate` runs against the
//! in-memory `LedgerState` and an index overlay (events accepted earlier in the batch, then the
//! store's event index), with the batch verdict passed as `SignatureCheck::VerifiedWith(key)`.
//! Then one [`LogStore::append`] with the entries, the state changes, the rejection records and
//! the stream sequence consumed through. If the append fails, the in-memory state is reloaded
//! from the store and the ledger stops with the error; nothing of the batch is acknowledged.
//!
//! # Guarantees
//!
//! - Nothing accepted is lost: an entry exists only once [`LogStore::append`] has made its
//!   batch durable, and the input it came from stays in the JetStream stream (limits
//!   retention, no limits; `crate::stream`) until then and after.
//! - Nothing is appended twice: the store records, in the same atomic batch as the entries,
//!   the stream sequence the batch consumed through. After a crash at any instant the ledger
//!   resumes after that sequence and skips anything at or below it
//!   (`Disposition::AlreadyConsumed`); a replay published later under another message id meets
//!   the event-id index (same bytes: a duplicate, not appended; different bytes: an
//!   `equivocation` rejection kept as evidence). The store's own refusal of an event id
//!   already indexed is the last guard.
//! - Nothing is rejected silently: every rejection has a code and a sentence
//!   (`covenant_core::validate::Rejection`), is stored, published on
//!   `acct.rejected.<event_id>` (with NATS), counted in `/metrics`, and answered by
//!   `GET /v1/events/{event_id}`.
//! - Junk costs bounded space: a stored rejection keeps the envelope's header, the blake3
//!   digest of its bytes and a sentence of at most [`MAX_REJECTION_MESSAGE_BYTES`]; only an
//!   equivocation keeps the whole envelope, as evidence ([`kept_bytes`]).
//! - The stored validation state is the log's: on open the sequencer re-derives it from the
//!   entries and requires every state record to hold exactly the changes its batch's entries
//!   give (`covenant_store::derive::check_state_records`; signatures are not checked again),
//!   refusing the store otherwise; the state it runs with is the derived one. A ledger with a
//!   log key vouches for what it writes, and opening takes its word where it can: it starts
//!   from the store's snapshot when the snapshot carries its seal (`LogSigner::snapshot_key`),
//!   then applies the state records its seals vouch for (each batch's record is sealed with
//!   the same key and linked to the log's chain hashes;
//!   `covenant_store::LogReader::apply_sealed_records`), and re-derives only the entries
//!   after the last of those, none when every batch is sealed. An unsealed snapshot or
//!   record is not trusted: what it covers is re-derived. Snapshots come
//!   [`snapshot_interval`] apart (a quarter of the log, from [`SNAPSHOT_MIN_ENTRIES`] up to
//!   [`SNAPSHOT_EVERY_ENTRIES`]) to bound the records applied. `covenant audit verify
//!   --store` re-derives everything, whatever is sealed.
//! - Replicas agree byte for byte: validation is a pure function of the log before the event
//!   and the event itself, and an entry's time is the broker's storage time of its message,
//!   clamped so that it never goes below the previous entry's (a new cluster leader's clock
//!   may lag; the clamp is itself deterministic). Batch boundaries do not matter: a batch is
//!   validated event by event with an overlay of everything earlier in it.
//!
//! # Acknowledgement order
//!
//! 1. The input stage reads messages and [`prepare`] verifies them; [`Sequencer::commit`]
//!    validates them and builds one `covenant_store::Batch`.
//! 2. It calls `append`, which returns only once the batch is durable (the store's write path,
//!    `covenant_store::SledStore`).
//! 3. Only then does the position consumed through count: it is the head's stream sequence,
//!    written in the same batch. JetStream gets no acknowledgement at all (`crate::stream`'s
//!    ordered consumer); the emitter's acknowledgement is JetStream's own PubAck. A crash
//!    between 2 and 3 means the ledger resumes from the head's stream sequence, and the event
//!    index turns a re-read event into a duplicate instead of a second entry.
//! 4. Replies to HTTPS requests (embedded), rejections and a due checkpoint go out after that.
//!
//! So nothing is acknowledged to an emitter, and no checkpoint is published, for an entry
//! that a crash could still take back.

use crate::LedgerError;
use crate::genesis::{GenesisConfig, check_stored_genesis};
use crate::migration::{MigratedEntry, MigrationKey};
use bytes::Bytes;
use covenant_core::event::{self, DecodedEvent};
use covenant_core::signing::{self, BatchItem, PublicKey};
use covenant_core::validate::{
    self, Decision, EventIndex, IndexedEvent, LedgerState, RejectCode, Rejection, SignatureCheck,
    StateChange,
};
use covenant_store::{
    Batch, Head, LogStore, NewEntry, RejectionRecord, SealStop, SealedRecords, StoreError,
    WrittenSnapshot,
};
use rayon::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// Where an envelope came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A message of the input stream.
    Stream {
        seq: u64,
        /// The `Nats-Msg-Id` header, if the publisher set one.
        msg_id: Option<String>,
    },
    /// HTTPS ingest in embedded mode, or the ledger itself (genesis).
    Direct,
    /// A message of the input stream copied there from an embedded log by `covenant ledger
    /// migrate`, with the log key's claim of the entry's original time (`migration`).
    Migrated {
        seq: u64,
        msg_id: Option<String>,
        claim: MigratedEntry,
    },
}

/// One envelope to sequence.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub envelope: Bytes,
    /// When the broker stored it (the local clock only in embedded mode).
    pub stored_at_ns: u64,
    pub origin: Origin,
}

/// An envelope decoded and with its signature checked, ready for [`Sequencer::commit`].
#[derive(Debug)]
pub struct Prepared {
    incoming: Incoming,
    decoded: Result<DecodedEvent, Rejection>,
    signature: SignatureCheck,
}

impl Prepared {
    /// Whether the envelope decoded and its signature was verified in the batch.
    pub fn verified(&self) -> bool {
        self.decoded.is_ok() && matches!(self.signature, SignatureCheck::VerifiedWith(_))
    }
}

/// What happened to one incoming envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Appended as entry `seq`.
    Accepted {
        seq: u64,
    },
    /// The same bytes are already entry `seq`: nothing appended.
    Duplicate {
        seq: u64,
    },
    Rejected(RejectionRecord),
    /// A stream message at or below the sequence the store has already consumed through
    /// (redelivered after a restart): skipped.
    AlreadyConsumed,
}

/// The result of one committed batch.
#[derive(Debug, Clone)]
pub struct BatchReport {
    /// One outcome per incoming envelope, in input order.
    pub outcomes: Vec<Disposition>,
    /// The head after the batch.
    pub head: Head,
    /// Time spent in the store's durable append (zero when nothing was written).
    pub append_time: std::time::Duration,
}

/// The registry as of the last durable batch (the genesis registrars and every granted key
/// with its actor, roles and revocation), shared between the commit step, which updates it
/// after each durable batch, and its readers: the prepare step (keys for batch verification)
/// and the ingest doors (authority checks before anything is published or stored).
#[derive(Debug, Clone, Default)]
pub struct KeyDirectory {
    registry: Arc<RwLock<LedgerState>>,
}

impl KeyDirectory {
    fn from_state(state: &LedgerState) -> Self {
        let directory = Self::default();
        {
            let mut registry = directory.write();
            registry.genesis = state.genesis.clone();
            registry.keys = state.keys.clone();
        }
        directory
    }

    /// The key a key id names, if any.
    pub fn get(&self, key_id: &str) -> Option<PublicKey> {
        self.read().public_key(key_id)
    }

    /// Whether `event` could be accepted as far as the registry decides: not a genesis entry,
    /// a live key granted for its actor and kind, and a signature that verifies
    /// ([`validate::authorise`]).
    pub fn authorise(&self, event: &DecodedEvent) -> Result<(), Rejection> {
        validate::authorise(&self.read(), event)
    }

    /// Put the registry back to `state`'s, in place, so that every holder sees it.
    fn reset(&self, state: &LedgerState) {
        let mut registry = self.write();
        registry.genesis = state.genesis.clone();
        registry.keys = state.keys.clone();
    }

    fn observe(&self, changes: &[StateChange]) {
        let mut registry = None;
        for change in changes {
            if matches!(change, StateChange::Key(..) | StateChange::Genesis(_)) {
                registry
                    .get_or_insert_with(|| self.write())
                    .apply(change.clone());
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, LedgerState> {
        self.registry.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, LedgerState> {
        self.registry
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Signatures verified together per chunk; chunks run on all cores.
const VERIFY_CHUNK: usize = 64;

/// Decode every envelope and batch-verify the signatures of those whose key is known.
///
/// Pure apart from the CSPRNG of the batch equation (each rayon thread's `thread_rng`), and
/// safe to run ahead of [`Sequencer::commit`] with an older key snapshot.
pub fn prepare(batch: Vec<Incoming>, keys: &KeyDirectory) -> Vec<Prepared> {
    let decoded: Vec<(Incoming, Result<DecodedEvent, Rejection>)> = batch
        .into_par_iter()
        .map(|incoming| {
            let decoded = event::decode(&incoming.envelope).map_err(Rejection::from);
            (incoming, decoded)
        })
        .collect();
    let candidates: Vec<(usize, PublicKey)> = decoded
        .iter()
        .enumerate()
        .filter_map(|(position, (_, decoded))| {
            let event = decoded.as_ref().ok()?;
            keys.get(&event.envelope.key_id)
                .map(|public_key| (position, public_key))
        })
        .collect();
    let verdicts: Vec<bool> = candidates
        .par_chunks(VERIFY_CHUNK)
        .flat_map_iter(|chunk| {
            let inputs: Vec<Vec<u8>> = chunk
                .iter()
                .map(|(position, _)| envelope_of(&decoded[*position].1))
                .map(signing::envelope_signing_input)
                .collect();
            let items: Vec<BatchItem<'_>> = chunk
                .iter()
                .zip(&inputs)
                .map(|((position, public_key), input)| BatchItem {
                    public_key: *public_key,
                    message: input,
                    signature: &envelope_of(&decoded[*position].1).signature,
                })
                .collect();
            signing::verify_batch(&items, rand::thread_rng())
        })
        .collect();
    let mut checks = vec![SignatureCheck::Pending; decoded.len()];
    for ((position, public_key), verified) in candidates.into_iter().zip(verdicts) {
        if verified {
            checks[position] = SignatureCheck::VerifiedWith(public_key);
        }
    }
    decoded
        .into_iter()
        .zip(checks)
        .map(|((incoming, decoded), signature)| Prepared {
            incoming,
            decoded,
            signature,
        })
        .collect()
}

fn envelope_of(decoded: &Result<DecodedEvent, Rejection>) -> &covenant_core::proto::Envelope {
    &decoded
        .as_ref()
        .expect("only decoded events are verified")
        .envelope
}

/// The event-id index as of the store plus the events accepted earlier in this batch. A store
/// read error is kept and surfaces after the lookup: treating it as "not found" could append
/// an event twice.
struct BatchIndex<'a> {
    store: &'a dyn LogStore,
    pending: HashMap<String, IndexedEvent>,
    failure: RefCell<Option<StoreError>>,
}

impl EventIndex for BatchIndex<'_> {
    fn lookup(&self, event_id: &str) -> Option<IndexedEvent> {
        if let Some(found) = self.pending.get(event_id) {
            return Some(found.clone());
        }
        match self.store.event(event_id) {
            Ok(found) => found,
            Err(error) => {
                self.failure.borrow_mut().get_or_insert(error);
                None
            }
        }
    }
}

/// The validation state as of the head, checked against the log: the state as of the newest
/// snapshot sealed with `snapshot_key` (only the holder of the log key can vouch for a state)
/// or the empty one, then the state records its seals vouch for applied, then the entries
/// after those re-derived and checked against the stored records. Without a key, the whole
/// log is re-derived.
fn checked_state(
    store: &dyn LogStore,
    snapshot_key: Option<&[u8; 32]>,
) -> Result<(LedgerState, StateCheck), LedgerError> {
    let altered = |error: StoreError| match error {
        StoreError::CorruptMetadata(problem) => {
            LedgerError::Store(StoreError::CorruptMetadata(format!(
                "{problem}; the store has been altered: run `covenant audit verify --store` and rebuild it"
            )))
        }
        other => LedgerError::Store(other),
    };
    let loading = Instant::now();
    let sealed = match snapshot_key {
        Some(key) => store.sealed_snapshot_state(key)?,
        None => None,
    };
    // Asking without a key, or for a snapshot sealed with another, reads no state.
    let snapshot_load = match sealed {
        Some(_) => loading.elapsed(),
        None => Duration::ZERO,
    };
    let (from, base) = sealed.unwrap_or_default();
    let applying = Instant::now();
    let applied = match snapshot_key {
        Some(key) => store.apply_sealed_records(key, from, base)?,
        None => SealedRecords {
            size: from,
            state: base,
            stopped: None,
        },
    };
    let apply = applying.elapsed();
    let rederiving = Instant::now();
    let state = covenant_store::derive::check_state_records(store, applied.size, applied.state)
        .map_err(altered)?;
    let rederive = rederiving.elapsed();
    // A snapshot nobody vouched for was not used above, but the store's own loading would
    // start from it (after a failed batch, say): it must say what the log says.
    if from == 0 && store.snapshot_size() > 0 {
        let loaded = store.load_state()?;
        if let Some(difference) = covenant_store::derive::first_difference(&state, &loaded) {
            return Err(altered(StoreError::CorruptMetadata(format!(
                "the validation state of the unsealed snapshot differs from the one the log gives ({difference})"
            ))));
        }
    }
    let check = StateCheck {
        from,
        applied: applied.size - from,
        rederived: store.head().size.saturating_sub(applied.size),
        snapshot_load,
        apply,
        rederive,
    };
    if let Some(stop @ SealStop::Refused { .. }) = &applied.stopped {
        tracing::warn!(
            "the state seals stop before the head: {stop}; the entries after it were re-derived and agree"
        );
    }
    tracing::info!(
        snapshot_size = from,
        applied = check.applied,
        rederived = check.rederived,
        snapshot_load_ms = snapshot_load.as_millis() as u64,
        apply_ms = apply.as_millis() as u64,
        rederive_ms = rederive.as_millis() as u64,
        "checked the stored validation state"
    );
    Ok((state, check))
}

/// How opening checked the stored validation state against the log, in three parts: the
/// state as of the newest sealed snapshot, the sealed state records after it applied, and
/// the entries after those re-derived. What a restart costs beyond the store's own opening:
/// the first part grows with the state, the second with the entries since the snapshot (at
/// most [`SNAPSHOT_EVERY_ENTRIES`], at a fraction of re-deriving's cost), and the third is
/// the entries the seals do not cover (none when the ledger that wrote them had the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateCheck {
    /// The sealed snapshot's size, or 0.
    pub from: u64,
    /// Entries after it whose sealed state records were applied
    /// (`covenant_store::LogReader::apply_sealed_records`).
    pub applied: u64,
    /// Entries after those re-derived and compared with the stored records.
    pub rederived: u64,
    /// Reading, checking and decoding the sealed snapshot's state (zero when none was used).
    pub snapshot_load: Duration,
    /// Checking the seals and applying the records they vouch for.
    pub apply: Duration,
    /// Re-deriving the entries after those and comparing them with the stored records.
    pub rederive: Duration,
}

/// The sequencer over a store: the validation state, the head and the key directory.
pub struct Sequencer {
    store: Arc<dyn LogStore>,
    state: LedgerState,
    head: Head,
    keys: KeyDirectory,
    stopped: bool,
    /// The log key that vouches for migrated entries' times; none: migrated messages stop
    /// the sequencer (their times cannot be checked).
    migration_key: Option<MigrationKey>,
    /// A snapshot is written once this many entries follow the newest one.
    snapshot_every: u64,
    /// Seals the snapshots and state records written (the log key's; none: unsealed, and
    /// opening re-derives the whole log).
    snapshot_key: Option<[u8; 32]>,
    /// A snapshot being written on its own thread.
    snapshot_job: Option<std::thread::JoinHandle<Result<WrittenSnapshot, StoreError>>>,
    /// How opening checked the stored validation state.
    state_check: StateCheck,
}

/// The most entries between snapshots of the validation state and the event index: an open
/// applies (or, unsealed, re-derives) at most this many entries' records, and writing a
/// snapshot (the whole state and index, on its own thread; the commit thread only hands it
/// over) happens at least this rarely. Half a million keeps a cold restart at 10 million
/// entries about 2 s even just before the next snapshot (applying the records cold costs
/// about 1 µs an entry there), for a 320 MB snapshot written every 500,000 entries.
pub const SNAPSHOT_EVERY_ENTRIES: u64 = 500_000;

/// The fewest entries between snapshots.
pub const SNAPSHOT_MIN_ENTRIES: u64 = 131_072;

/// How many entries after the newest snapshot the next is due, for a log of `size` entries
/// and at most `every` apart: a quarter of the log, from [`SNAPSHOT_MIN_ENTRIES`] (or `every`,
/// if smaller) up to `every`. A snapshot costs about what the log holds to write, so spacing
/// them by a share of the log keeps that cost per entry about flat, and a small log's restart
/// applies a quarter of it at most, not a million entries.
pub fn snapshot_interval(size: u64, every: u64) -> u64 {
    (size / 4).clamp(SNAPSHOT_MIN_ENTRIES.min(every), every)
}

impl Sequencer {
    /// Open over `store`: write entry 0 from `genesis` into an empty store, or check that the
    /// stored entry 0 is exactly the configured one, and that the stored validation state is
    /// the one the log gives (re-derived from every entry; refused when they differ).
    pub fn open(store: Arc<dyn LogStore>, genesis: &GenesisConfig) -> Result<Self, LedgerError> {
        Self::open_sealed(store, genesis, None)
    }

    /// [`Sequencer::open`] for a ledger with a log key: the snapshots and state records it
    /// writes are sealed with `snapshot_key` (`LogSigner::snapshot_key`), and opening starts
    /// from what that key sealed (the snapshot, then the records after it) and re-derives only
    /// the entries after those, so a restart costs the records since the snapshot, not the
    /// whole log.
    pub fn open_sealed(
        store: Arc<dyn LogStore>,
        genesis: &GenesisConfig,
        snapshot_key: Option<[u8; 32]>,
    ) -> Result<Self, LedgerError> {
        genesis.check()?;
        let head = store.head();
        if head.size > 0 {
            let entry = store.entry(0)?.ok_or_else(|| {
                LedgerError::CorruptGenesis("the store has entries but no entry 0".to_owned())
            })?;
            check_stored_genesis(&entry, genesis)?;
        }
        let (state, state_check) = checked_state(&*store, snapshot_key.as_ref())?;
        let mut sequencer = Self {
            keys: KeyDirectory::from_state(&state),
            store,
            state,
            head,
            stopped: false,
            migration_key: None,
            snapshot_every: SNAPSHOT_EVERY_ENTRIES,
            snapshot_key,
            state_check,
            snapshot_job: None,
        };
        if head.size == 0 {
            sequencer.write_genesis(genesis)?;
        }
        Ok(sequencer)
    }

    fn write_genesis(&mut self, genesis: &GenesisConfig) -> Result<(), LedgerError> {
        let report = self.process(vec![Incoming {
            envelope: Bytes::from(genesis.envelope_bytes()),
            stored_at_ns: 0,
            origin: Origin::Direct,
        }])?;
        match &report.outcomes[..] {
            [Disposition::Accepted { seq: 0 }] => Ok(()),
            other => Err(LedgerError::InvalidGenesis(format!(
                "entry 0 was not written: {other:?}"
            ))),
        }
    }

    pub fn head(&self) -> Head {
        self.head
    }

    /// How opening checked the stored validation state, with the time each part took.
    pub fn state_check(&self) -> StateCheck {
        self.state_check
    }

    /// Write snapshots at most `entries` entries apart (0: never; see [`snapshot_interval`]).
    pub fn snapshot_every(&mut self, entries: u64) {
        self.snapshot_every = entries;
    }

    /// Start a snapshot when one is due, on its own thread: the state is a persistent map, so
    /// handing it over costs nothing, and the commit thread never waits for the writing. A
    /// snapshot is only a shortcut for the next open, so failing to write one is logged and
    /// the ledger goes on.
    fn snapshot_if_due(&mut self) {
        if self
            .snapshot_job
            .as_ref()
            .is_some_and(std::thread::JoinHandle::is_finished)
        {
            self.finish_snapshots();
        }
        let due = self.snapshot_every > 0
            && self.snapshot_job.is_none()
            && self.head.size
                >= self.store.snapshot_size()
                    + snapshot_interval(self.head.size, self.snapshot_every);
        if !due {
            return;
        }
        let job = match self
            .store
            .begin_snapshot(self.state.clone(), self.snapshot_key)
        {
            Ok(job) => job,
            Err(error) => {
                tracing::error!(%error, "starting a snapshot; the next open replays more");
                return;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("covenant-snapshot".to_owned())
            .spawn(move || {
                let started = std::time::Instant::now();
                let written = job.write();
                if let Ok(written) = &written {
                    tracing::info!(
                        size = written.size,
                        bytes = written.bytes,
                        millis = started.elapsed().as_millis() as u64,
                        "wrote a snapshot of the validation state and the event index"
                    );
                }
                written
            });
        match spawned {
            Ok(handle) => self.snapshot_job = Some(handle),
            Err(error) => tracing::error!(%error, "starting the snapshot thread"),
        }
    }

    /// Wait for a snapshot being written, if any, and hand it to the store.
    pub fn finish_snapshots(&mut self) {
        let Some(handle) = self.snapshot_job.take() else {
            return;
        };
        match handle.join() {
            Ok(Ok(written)) => self.store.finish_snapshot(written),
            Ok(Err(error)) => {
                tracing::error!(%error, "writing a snapshot; the next open replays more")
            }
            Err(_) => tracing::error!("the snapshot thread panicked; the next open replays more"),
        }
    }

    /// Take migrated entries' times from their claims when this log key signed them.
    pub fn trust_migrations_by(&mut self, key: MigrationKey) {
        self.migration_key = Some(key);
    }

    /// The time a message becomes an entry with: the broker's, or for a migrated message
    /// whose claim the log key signed for exactly this entry, the original log's.
    fn arrival_time(&self, incoming: &Incoming, next_seq: u64) -> Result<u64, LedgerError> {
        let Origin::Migrated { seq, claim, .. } = &incoming.origin else {
            return Ok(incoming.stored_at_ns);
        };
        let Some(key) = &self.migration_key else {
            return Err(LedgerError::MigrationUnverifiable { stream_seq: *seq });
        };
        if claim.verify(&key.public_key, &key.origin, next_seq, &incoming.envelope) {
            Ok(claim.stored_at_ns)
        } else {
            tracing::warn!(
                stream_seq = seq,
                claimed_entry = claim.seq,
                next_seq,
                "a migrated message's claim does not hold here; it gets the broker's time"
            );
            Ok(incoming.stored_at_ns)
        }
    }

    pub fn state(&self) -> &LedgerState {
        &self.state
    }

    pub fn store(&self) -> &Arc<dyn LogStore> {
        &self.store
    }

    /// The key directory [`prepare`] reads; updated after every durable batch.
    pub fn keys(&self) -> KeyDirectory {
        self.keys.clone()
    }

    /// Prepare and commit in one call.
    pub fn process(&mut self, batch: Vec<Incoming>) -> Result<BatchReport, LedgerError> {
        let prepared = prepare(batch, &self.keys);
        self.commit(prepared)
    }

    /// Validate in order and append durably. On a store failure nothing of the batch is
    /// acknowledged, the in-memory state is reloaded from the store, and the error returned.
    pub fn commit(&mut self, prepared: Vec<Prepared>) -> Result<BatchReport, LedgerError> {
        if self.stopped {
            return Err(LedgerError::Stopped);
        }
        let result = self.validate_and_append(prepared);
        if result.is_err() {
            self.recover();
        }
        result
    }

    fn validate_and_append(&mut self, prepared: Vec<Prepared>) -> Result<BatchReport, LedgerError> {
        let store = Arc::clone(&self.store);
        let mut index = BatchIndex {
            store: &*store,
            pending: HashMap::new(),
            failure: RefCell::new(None),
        };
        let mut batch = Batch {
            seal_key: self.snapshot_key,
            ..Batch::default()
        };
        let mut outcomes = Vec::with_capacity(prepared.len());
        let mut next_seq = self.head.size;
        let mut last_stored_at_ns = self.head.last_stored_at_ns;
        let mut consumed_through = self.head.stream_seq;
        for item in prepared {
            let (stream_seq, msg_id) = match &item.incoming.origin {
                Origin::Stream { seq, msg_id } | Origin::Migrated { seq, msg_id, .. } => {
                    (*seq, msg_id.as_deref())
                }
                Origin::Direct => (0, None),
            };
            if stream_seq > 0 {
                if stream_seq <= consumed_through {
                    outcomes.push(Disposition::AlreadyConsumed);
                    continue;
                }
                consumed_through = stream_seq;
                batch.stream_seq = Some(stream_seq);
            }
            // Entries must never go back in time; a new cluster leader's clock may lag the
            // old one's, so the time is clamped to the previous entry's, deterministically.
            let stored_at_ns = self
                .arrival_time(&item.incoming, next_seq)?
                .max(last_stored_at_ns);
            let event = match item.decoded {
                Ok(event) => event,
                Err(rejection) => {
                    let event_id =
                        undecodable_event_id(&item.incoming.envelope, msg_id, stream_seq);
                    let record = rejection_record(
                        event_id,
                        stream_seq,
                        stored_at_ns,
                        rejection,
                        &item.incoming.envelope,
                    );
                    batch.rejections.push(record.clone());
                    outcomes.push(Disposition::Rejected(record));
                    continue;
                }
            };
            let decision = validate::validate(
                &self.state,
                &index,
                &event,
                next_seq,
                stored_at_ns,
                item.signature,
            );
            if let Some(error) = index.failure.borrow_mut().take() {
                return Err(error.into());
            }
            match decision {
                Decision::Accept(changes) => {
                    let event_id = event.event_id().to_owned();
                    let actor = event.actor().to_owned();
                    index.pending.insert(
                        event_id.clone(),
                        IndexedEvent {
                            seq: next_seq,
                            digest: event.digest,
                            actor: actor.clone(),
                        },
                    );
                    self.state.apply_all(changes.iter().cloned());
                    batch.state_changes.extend(changes);
                    batch.entries.push(NewEntry {
                        stored_at_ns,
                        envelope: item.incoming.envelope.to_vec(),
                        event_id,
                        actor,
                        digest: event.digest,
                    });
                    last_stored_at_ns = stored_at_ns;
                    outcomes.push(Disposition::Accepted { seq: next_seq });
                    next_seq += 1;
                }
                Decision::Duplicate { seq } => outcomes.push(Disposition::Duplicate { seq }),
                Decision::Reject(rejection) => {
                    let record = rejection_record(
                        event.event_id().to_owned(),
                        stream_seq,
                        stored_at_ns,
                        rejection,
                        &item.incoming.envelope,
                    );
                    batch.rejections.push(record.clone());
                    outcomes.push(Disposition::Rejected(record));
                }
            }
        }
        drop(index);
        if batch.entries.is_empty() && batch.rejections.is_empty() && batch.stream_seq.is_none() {
            return Ok(BatchReport {
                outcomes,
                head: self.head,
                append_time: std::time::Duration::ZERO,
            });
        }
        let key_changes: Vec<StateChange> = batch
            .state_changes
            .iter()
            .filter(|change| matches!(change, StateChange::Key(..) | StateChange::Genesis(_)))
            .cloned()
            .collect();
        let append_started = std::time::Instant::now();
        let head = self.store.append(batch)?;
        let append_time = append_started.elapsed();
        if head.size != next_seq {
            self.stopped = true;
            return Err(LedgerError::HeadMismatch {
                expected: next_seq,
                found: head.size,
            });
        }
        self.head = head;
        self.keys.observe(&key_changes);
        self.snapshot_if_due();
        Ok(BatchReport {
            outcomes,
            head,
            append_time,
        })
    }

    /// Put the in-memory state back in line with the store after a failed batch.
    fn recover(&mut self) {
        match self.store.load_state() {
            Ok(state) => {
                self.keys.reset(&state);
                self.state = state;
                self.head = self.store.head();
            }
            Err(error) => {
                tracing::error!(%error, "reloading the validation state after a failed batch");
                self.stopped = true;
            }
        }
    }
}

impl Drop for Sequencer {
    /// A snapshot being written is finished, so that a clean stop leaves it for the next open.
    fn drop(&mut self) {
        self.finish_snapshots();
    }
}

pub(crate) fn rejection_record(
    event_id: String,
    stream_seq: u64,
    stored_at_ns: u64,
    rejection: Rejection,
    envelope: &[u8],
) -> RejectionRecord {
    RejectionRecord {
        event_id,
        stream_seq,
        stored_at_ns,
        code: rejection.code,
        message: bounded_message(rejection.message),
        digest: event::envelope_digest(envelope),
        envelope: kept_bytes(rejection.code, envelope),
    }
}

/// The longest rejection message stored: messages quote field values, which an envelope of
/// junk can make tens of kilobytes long.
pub const MAX_REJECTION_MESSAGE_BYTES: usize = 1024;

/// The longest header field kept of a rejected envelope that is not evidence; valid ids are
/// at most 128 bytes.
const MAX_KEPT_FIELD_BYTES: usize = 128;

fn bounded_message(mut message: String) -> String {
    if message.len() > MAX_REJECTION_MESSAGE_BYTES {
        let mut end = MAX_REJECTION_MESSAGE_BYTES - 3;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("...");
    }
    message
}

/// What a rejection record keeps of the rejected bytes. An equivocation (a key that is granted
/// and verifies signed a second, different envelope under an event id already in the log) is
/// evidence against the emitter, so its bytes are kept whole. Anything else is kept as its
/// header alone (the envelope without its body, each field cut short), so that storing a
/// rejection costs a bounded few hundred bytes whatever was sent; the digest beside it still
/// identifies the exact bytes.
pub fn kept_bytes(code: RejectCode, envelope: &[u8]) -> Vec<u8> {
    if code == RejectCode::Equivocation {
        return envelope.to_vec();
    }
    let Ok(header) = <covenant_core::proto::Envelope as prost::Message>::decode(envelope) else {
        return Vec::new();
    };
    let cut = |text: String| -> String {
        if text.len() <= MAX_KEPT_FIELD_BYTES {
            return text;
        }
        let mut end = MAX_KEPT_FIELD_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].to_owned()
    };
    let mut signature = header.signature;
    signature.truncate(64);
    let kept = covenant_core::proto::Envelope {
        event_id: cut(header.event_id),
        actor: cut(header.actor),
        occurred_at_ms: header.occurred_at_ms,
        key_id: cut(header.key_id),
        body: Vec::new(),
        signature,
    };
    prost::Message::encode_to_vec(&kept)
}

/// The id to file a rejection under when the envelope did not decode: its own event id if the
/// protobuf header still parses, else the broker's message id, else the stream position.
pub fn undecodable_event_id(envelope: &[u8], msg_id: Option<&str>, stream_seq: u64) -> String {
    let own_id = <covenant_core::proto::Envelope as prost::Message>::decode(envelope)
        .ok()
        .map(|envelope| envelope.event_id)
        .filter(|id| !id.is_empty() && id.len() <= 128);
    if let Some(id) = own_id {
        return id;
    }
    if let Some(id) = msg_id.filter(|id| !id.is_empty()) {
        return id.to_owned();
    }
    if stream_seq > 0 {
        format!("stream-{stream_seq}")
    } else {
        "unidentified".to_owned()
    }
}
