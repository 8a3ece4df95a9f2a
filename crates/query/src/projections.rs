//! The projection database: opening it, following the log, and resolving as-of points.
//!
//! # Guarantees
//!
//! - every answer is a function of a prefix of the log and dates, so the same as-of gives the
//!   same answer on every replica, today and in ten years;
//! - the projections can always be thrown away: `covenant query rebuild` applies the log again
//!   from entry 0 and writes exactly what following it incrementally writes (`apply`; only
//!   how the search index and the feeds group items into runs follows the batches);
//! - a restart replays nothing already applied: the count of entries applied is stored in the
//!   same atomic sled batch as what they changed;
//! - a restart after a catch-up reads back at most [`REFRESH_EVERY_ENTRIES`] entries' writes,
//!   or an eighth of all if more: the follower reopens the engine that often while it works
//!   through a backlog, because sled records where its data lies only when it opens (a
//!   replica following the log live does not, see [`REFRESH_MIN_BACKLOG`]);
//! - a retracted event stops counting but never disappears: it stays in the history, marked
//!   with the retraction that removed it.
//!
//! # Answering as of a point
//!
//! [`Projections::resolve`] turns an [`AsOf`] into a [`ResolvedAsOf`]: a point on two time
//! axes. A size (the entries that count: what the log had recorded), an optional world date
//! (events that happened after it do not count, by each event's own date,
//! `state::happened_on`), and the date that judges overdue. At the latest point (every applied
//! entry, no world date) a query reads records, aggregates and the due-date and moved indexes:
//! an actor's scorecard is one aggregate read, overdue counts are a sum over its due-date
//! histogram below the date, and the lists are short range scans, whatever the log's size. At
//! any other point it takes each candidate commitment (from the ever-owned, theme or word
//! indexes, which only grow) as it stood there: its latest record when nothing about it was
//! recorded after the point's size or happened after its world date
//! (`CommitmentRecord::stands_at`), otherwise a fold of its facts through `state::Cut`. So it
//! is exact but costs a read per candidate and a fold per changed one; the tests check that
//! every way gives identical answers ([`ResolvedAsOf::without_fast_path`]).
//!
//! # Format
//!
//! The layout carries a format name (`FORMAT`); a database written in another layout is
//! cleared on open, with a warning naming both formats, and projected again from the log by
//! the follower, since everything in it derives from the log. Until it has caught up, answers
//! say how far it has got (`as_of.size`).

use crate::QueryError;
use crate::apply::{BatchWriter, FactCache, ReadAhead, Sealed, Writes, read_u64, write_batch};
use crate::keys::{self, Key};
use crate::view::AsOfInfo;
use covenant_core::event::Date;
use covenant_store::{LogReader, RefreshCost, Refreshes};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Version of the projection's layout; a different one needs `covenant query rebuild`.
const FORMAT: &str = "covenant-query 9";

/// How many entries one atomic batch applies by default.
pub const DEFAULT_BATCH_ENTRIES: u64 = 8_192;

/// Entries applied between two reopenings of the engine, at least: the most a restart reads
/// back, until the projections hold [`REFRESH_TAIL_FRACTION`] times as many.
///
/// sled 0.34 writes its page-table snapshot only while it opens, and an open replays its log
/// from that snapshot, so without reopening, the first restart after a long run reads back
/// everything the run wrote (88 s for ten million entries' 29 GB with the page cache cold).
/// A refresh holds the readers out for as long as closing and opening take, and that grows
/// with the whole database (its page table), not only the tail: 0.8 s at a million entries.
pub const REFRESH_EVERY_ENTRIES: u64 = 65_536;

/// Past [`REFRESH_EVERY_ENTRIES`] times this, the interval grows with what is applied (an
/// eighth of it), so that refreshes, each costing more as the database grows, stay a small
/// share of the time, and a restart reads back at most an eighth of the projections' writes.
pub const REFRESH_TAIL_FRACTION: u64 = 8;

/// Refreshes happen only while a catch-up has at least this many entries left to apply (or
/// the interval, if smaller): a replica that far behind is not ready (its projections trail
/// the newest checkpoint, `/readyz`), so no query routed to it waits for the refresh. A
/// refresh costs more as the database grows (13.4 s at ten million entries), and a serving
/// replica must not stop answering that long; so one that follows the log live never
/// refreshes, and its next restart reads back what it applied since it last opened.
pub const REFRESH_MIN_BACKLOG: u64 = DEFAULT_BATCH_ENTRIES;

/// Entries between refreshes once `applied` are: `every`, or an eighth of those applied.
fn refresh_interval(applied: u64, every: u64) -> u64 {
    every.max(applied / REFRESH_TAIL_FRACTION)
}

/// Whether a catch-up with `backlog` entries still to apply may refresh.
fn refresh_allowed(backlog: u64, every: u64) -> bool {
    backlog >= every.min(REFRESH_MIN_BACKLOG)
}

/// The promised-versus-done projections of one log, persisted in their own sled database.
pub struct Projections {
    /// The open engine, or why there is none. Readers hold it shared for a whole query (the
    /// readers' gate, [`Projections::read_gate`]); a batch takes it exclusively only while
    /// sled applies the batch, so a query never sees half of one, and a refresh while it
    /// reopens the engine.
    pub(crate) engine: EngineSlot,
    dir: PathBuf,
    applied: AtomicU64,
    /// One writer at a time; it alone uses the cache of recently touched commitments.
    writer: Mutex<FactCache>,
    /// When the engine is next reopened, and what reopening it has cost.
    refreshes: Refreshes,
    /// Keys written or removed by catch-ups since open (each key once per batch), by tag.
    engine_writes: parking_lot::Mutex<[u64; 256]>,
    /// The longest a batch has held the readers' gate since open, in nanoseconds.
    longest_gate_hold_ns: AtomicU64,
    /// How long the last batch held it, in nanoseconds.
    last_gate_hold_ns: AtomicU64,
    /// How long every batch and reopening together have held it, in nanoseconds.
    total_gate_hold_ns: AtomicU64,
    /// Notified whenever `applied` moves, for [`Projections::wait_until_applied`].
    progress: (Mutex<()>, Condvar),
    /// Every commitment folded at an earlier point, while a request holds it
    /// ([`Projections::share_fold`]).
    pub(crate) shared: crate::read::SharedSlot,
}

/// Whether a catch-up prepares the next batch while sled writes the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// Each batch written on a thread of its own while the next is prepared: the fastest
    /// when nothing else in the process needs the second core or sled (a rebuild, or
    /// projections catching up with a log that has stopped growing).
    Writes,
    /// One batch at a time. sled's lock is process-wide, so a writer that is nearly always
    /// writing keeps a ledger in the same process from appending: a new replica whose ledger
    /// was catching up too drained the log 1.46 times slower beside overlapping writes.
    None,
}

/// A batch sled is writing while the next is prepared.
struct InFlight<'scope> {
    /// What it writes, which the next batch reads through until it is in.
    writes: Arc<Writes>,
    writing: Writing<'scope>,
    /// Entries applied once it is in.
    applied: u64,
}

/// Where a batch is being written.
enum Writing<'scope> {
    OnThread(std::thread::ScopedJoinHandle<'scope, Result<Duration, QueryError>>),
    /// Written already, on the preparing thread (no thread could start).
    Done(Result<Duration, QueryError>),
}

/// A stored key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// An open projection database: sled and its one tree.
pub(crate) struct Engine {
    db: sled::Db,
    pub tree: sled::Tree,
}

/// The engine, or why there is none (a refresh that could not reopen it).
pub(crate) type EngineSlot = parking_lot::RwLock<Result<Engine, String>>;

/// A shared hold on the engine's tree: a batch or a refresh waits until it is dropped.
pub(crate) type TreeRef<'a> = parking_lot::MappedRwLockReadGuard<'a, sled::Tree>;

impl Engine {
    fn open(dir: &Path) -> Result<Self, QueryError> {
        let config = covenant_store::sled_config(dir)
            .cache_capacity(1024 * 1024 * 1024)
            .mode(sled::Mode::HighThroughput);
        let db = covenant_store::open_sled(&config).map_err(|error| QueryError::Open {
            path: dir.display().to_string(),
            reason: error.to_string(),
        })?;
        let tree = db.open_tree("projections")?;
        Ok(Self { db, tree })
    }
}

/// What to answer as of, on two time axes (docs/API.md, "Two time axes"): the world on a date
/// (when things happened), according to what the log had recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsOf {
    /// The world as it stood on this date: events dated after it do not count, and overdue is
    /// judged on it. `None`: everything recorded, judged on today (or on the recording date).
    pub world: Option<Date>,
    pub recorded: Recorded,
}

/// The transaction-time axis: which entries of the log count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Everything the log holds now.
    Now,
    /// The log's first `size` entries (a checkpoint size): provable.
    Size(u64),
    /// Every entry the broker stored on or before this date.
    Date(Date),
}

impl AsOf {
    /// The newest state, with overdue judged on the caller's today.
    pub const LATEST: Self = Self {
        world: None,
        recorded: Recorded::Now,
    };

    /// As recorded by the log's first `size` entries, judged on the storage date of the last.
    pub fn size(size: u64) -> Self {
        Self {
            world: None,
            recorded: Recorded::Size(size),
        }
    }

    /// Everything the broker had stored by the end of `date`, judged on `date`.
    pub fn recorded_on(date: Date) -> Self {
        Self {
            world: None,
            recorded: Recorded::Date(date),
        }
    }

    /// The world on `date`, according to everything the log holds now.
    pub fn date(date: Date) -> Self {
        Self {
            world: Some(date),
            recorded: Recorded::Now,
        }
    }
}

impl AsOf {
    /// Read the two query parameters: `as_of` (a date: the world on that date; or a whole
    /// number: as recorded by that checkpoint size) and `recorded` (a checkpoint size or a
    /// date: which entries of the log count). Blank text counts as absent. The error names the
    /// parameter and says what is wrong.
    pub fn parse(
        as_of: Option<&str>,
        recorded: Option<&str>,
    ) -> Result<Self, (&'static str, String)> {
        let as_of = as_of.map(str::trim).filter(|text| !text.is_empty());
        let recorded = recorded.map(str::trim).filter(|text| !text.is_empty());
        let mut answer = Self::LATEST;
        if let Some(text) = as_of {
            match parse_point(text)
                .map_err(|problem| ("as_of", format!("as_of {text:?} {problem}")))?
            {
                Recorded::Size(size) => answer.recorded = Recorded::Size(size),
                Recorded::Date(date) => answer.world = Some(date),
                Recorded::Now => {}
            }
        }
        if let Some(text) = recorded {
            if matches!(answer.recorded, Recorded::Size(_)) {
                return Err((
                    "recorded",
                    "recorded cannot be combined with an as_of checkpoint size; give as_of a date"
                        .into(),
                ));
            }
            answer.recorded = parse_point(text)
                .map_err(|problem| ("recorded", format!("recorded {text:?} {problem}")))?;
        }
        Ok(answer)
    }
}

fn parse_point(text: &str) -> Result<Recorded, &'static str> {
    if text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text
            .parse()
            .map(Recorded::Size)
            .map_err(|_| "is too large for a log size");
    }
    Date::parse(text)
        .map(Recorded::Date)
        .ok_or("is neither a date (YYYY-MM-DD) nor a checkpoint size (a whole number)")
}

/// A resolved as-of point: the entries that count and the date that judges overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedAsOf {
    /// Entries with `seq < size` count.
    pub size: u64,
    /// The date that judges overdue.
    pub date: Date,
    /// Events that happened after this date do not count (see `state::happened_on`).
    pub world: Option<Date>,
    /// `size` is everything applied and no date cuts the world, so the latest records and
    /// aggregates answer.
    pub latest: bool,
    /// At another point, a commitment with nothing recorded or happening after it answers
    /// from its latest record instead of a fold of its facts (the same answer, faster).
    pub reuse_records: bool,
}

impl ResolvedAsOf {
    pub fn info(&self) -> AsOfInfo {
        AsOfInfo {
            size: self.size,
            date: self.date.to_string(),
            world: self.world.map(|date| date.to_string()),
            latest: self.latest,
        }
    }

    /// Which facts count at this point.
    pub fn cut(&self) -> crate::state::Cut {
        crate::state::Cut {
            size: self.size,
            world: self.world,
        }
    }

    /// The same point answered by folding every commitment instead of reading the latest
    /// records: slower, and the reference the fast paths are tested against.
    pub fn without_fast_path(mut self) -> Self {
        self.latest = false;
        self.reuse_records = false;
        self
    }
}

impl Projections {
    /// Open (or create) the projection database in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, QueryError> {
        let dir = dir.as_ref().to_path_buf();
        let engine = Engine::open(&dir)?;
        let tree = &engine.tree;
        // Projections are derived from the log alone, so a layout written by another version
        // is discarded and the log projected again from the start.
        let found = tree.get(keys::format())?;
        if found.as_deref() != Some(FORMAT.as_bytes()) {
            if let Some(found) = found {
                tracing::warn!(
                    path = %dir.display(),
                    found = %String::from_utf8_lossy(&found),
                    expected = FORMAT,
                    "the query projections were written in another layout; they are cleared \
                     and the log is projected again from entry 0 (answers say how far as_of.size \
                     has got)"
                );
            }
            tree.clear()?;
            tree.insert(keys::format(), FORMAT.as_bytes())?;
            tree.flush()?;
        }
        let applied = read_u64(tree.get(keys::applied())?.as_deref());
        Ok(Self {
            engine: parking_lot::RwLock::new(Ok(engine)),
            dir,
            applied: AtomicU64::new(applied),
            writer: Mutex::new(FactCache::default()),
            refreshes: Refreshes::new(REFRESH_EVERY_ENTRIES, applied),
            engine_writes: parking_lot::Mutex::new([0; 256]),
            longest_gate_hold_ns: AtomicU64::new(0),
            last_gate_hold_ns: AtomicU64::new(0),
            total_gate_hold_ns: AtomicU64::new(0),
            progress: (Mutex::new(()), Condvar::new()),
            shared: Default::default(),
        })
    }

    /// Where the database lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of log entries applied so far.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Keys written or removed in the engine by catch-ups since this handle was opened: every
    /// key a batch touched counts once, however many entries of the batch touched it. For the
    /// benchmark's inserts per entry.
    pub fn engine_writes(&self) -> u64 {
        self.engine_writes.lock().iter().sum()
    }

    /// [`Projections::engine_writes`] by the kind of key ([`keys::KINDS`]): where catching up
    /// spends its writes.
    pub fn engine_writes_by_kind(&self) -> std::collections::BTreeMap<&'static str, u64> {
        let by_tag = *self.engine_writes.lock();
        let mut by_kind = std::collections::BTreeMap::new();
        for (tag, writes) in (0..=u8::MAX).zip(by_tag).filter(|(_, writes)| *writes > 0) {
            *by_kind.entry(keys::kind(&[tag])).or_default() += writes;
        }
        by_kind
    }

    /// [`Projections::engine_writes_by_kind`] per entry of `entries` applied, most first: the
    /// figure the benchmarks print.
    pub fn engine_writes_per_entry_by_kind(&self, entries: u64) -> Vec<(&'static str, f64)> {
        let mut per_entry: Vec<(&'static str, f64)> = self
            .engine_writes_by_kind()
            .into_iter()
            .map(|(kind, writes)| (kind, writes as f64 / entries.max(1) as f64))
            .collect();
        per_entry.sort_by(|a, b| b.1.total_cmp(&a.1));
        per_entry
    }

    /// The longest any batch applied since this handle was opened held the readers' gate: the
    /// longest a query can have waited for the projections to change under it.
    pub fn longest_gate_hold(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.longest_gate_hold_ns.load(Ordering::Relaxed))
    }

    /// How long every batch applied and every reopening of the engine since this handle was
    /// opened held the readers' gate together: the time sled spent writing, which bounds
    /// catching up once it nears the whole.
    pub fn total_gate_hold(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.total_gate_hold_ns.load(Ordering::Relaxed))
    }

    /// How long the last batch applied held the readers' gate.
    pub fn last_gate_hold(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.last_gate_hold_ns.load(Ordering::Relaxed))
    }

    /// Wait until at least `size` entries are applied (by a [`crate::Follower`] or any other
    /// catch-up), for at most `timeout`. Returns whether they were. Applies nothing itself.
    pub fn wait_until_applied(&self, size: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (lock, moved) = &self.progress;
        let mut guard = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while self.applied() < size {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = moved
                .wait_timeout(guard, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        true
    }

    /// Record a new applied count and wake whoever waits for it.
    fn set_applied(&self, applied: u64) {
        // Stored under the lock, so a waiter cannot check the count between the store and
        // the notification and then sleep through it.
        let _guard = self
            .progress
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.applied.store(applied, Ordering::Release);
        self.progress.1.notify_all();
    }

    /// Apply every entry the store has beyond those already applied, in atomic batches of
    /// [`DEFAULT_BATCH_ENTRIES`]. Returns the number of entries applied in total.
    pub fn catch_up(&self, store: &dyn LogReader) -> Result<u64, QueryError> {
        self.catch_up_to(store, store.head().size, DEFAULT_BATCH_ENTRIES)
    }

    /// Apply entries up to (not including) `end`, `batch_entries` per atomic batch.
    pub fn catch_up_to(
        &self,
        store: &dyn LogReader,
        end: u64,
        batch_entries: u64,
    ) -> Result<u64, QueryError> {
        self.catch_up_overlapping(store, end, batch_entries, Overlap::Writes)
    }

    /// [`Projections::catch_up_to`], saying whether to prepare a batch while the one before
    /// is written ([`Overlap`]).
    pub fn catch_up_overlapping(
        &self,
        store: &dyn LogReader,
        end: u64,
        batch_entries: u64,
        overlap: Overlap,
    ) -> Result<u64, QueryError> {
        let mut writer = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.apply_up_to(&mut writer, store, end, batch_entries, overlap)
    }

    /// Make everything applied durable now. Catching up does not wait for the disk: each
    /// batch is atomic and a crash loses at most the last few, which the next catch-up applies
    /// again from the stored count.
    pub fn flush(&self) -> Result<(), QueryError> {
        self.tree()?.flush()?;
        Ok(())
    }

    /// The engine's tree, held shared until the handle is dropped.
    pub(crate) fn tree(&self) -> Result<TreeRef<'_>, QueryError> {
        parking_lot::RwLockReadGuard::try_map(self.engine.read_recursive(), |slot| {
            slot.as_ref().ok().map(|engine| &engine.tree)
        })
        .map_err(|slot| {
            QueryError::Unavailable(
                slot.as_ref()
                    .err()
                    .cloned()
                    .unwrap_or_else(|| "closed".to_owned()),
            )
        })
    }

    /// When the engine is next reopened (every [`REFRESH_EVERY_ENTRIES`] unless set otherwise,
    /// growing past it as [`REFRESH_TAIL_FRACTION`] says), how many reopenings there have
    /// been since open, and the longest (which held the readers out that long, and counts in
    /// [`Projections::longest_gate_hold`] too).
    pub fn refreshes(&self) -> &Refreshes {
        &self.refreshes
    }

    /// Reopen the engine if [`REFRESH_EVERY_ENTRIES`] entries, or an eighth of those applied if
    /// more, have been applied since it was last opened and at least [`REFRESH_MIN_BACKLOG`]
    /// are left to apply (`backlog`), so that it writes its page-table snapshot and a restart
    /// reads back at most that many entries' writes. The writer calls
    /// it between batches, holding no handle on the tree; readers wait (the time counts as a
    /// gate hold). An engine that a refresh failed to reopen is tried again here.
    fn refresh_engine_if_due(&self, applied: u64, backlog: u64) -> Result<(), QueryError> {
        let every = self.refreshes.every();
        let due = self
            .refreshes
            .is_due(applied, refresh_interval(applied, every))
            && refresh_allowed(backlog, every);
        if !due && self.engine.read().is_ok() {
            return Ok(());
        }
        let mut slot = self.engine.write();
        let held_from = Instant::now();
        if let Ok(engine) = &*slot {
            engine.db.flush()?;
        }
        // The old engine must be gone before the new one can lock the directory.
        *slot = Err("the engine is being reopened".to_owned());
        let opening = Instant::now();
        let reopened = Engine::open(&self.dir);
        let engine_open = opening.elapsed();
        let held = held_from.elapsed();
        let held_ns = u64::try_from(held.as_nanos()).unwrap_or(u64::MAX);
        self.longest_gate_hold_ns
            .fetch_max(held_ns, Ordering::Relaxed);
        self.total_gate_hold_ns
            .fetch_add(held_ns, Ordering::Relaxed);
        let cost = RefreshCost { held, engine_open };
        self.refreshes
            .record(cost, reopened.is_ok().then_some(applied));
        match reopened {
            Ok(engine) => {
                *slot = Ok(engine);
                Ok(())
            }
            Err(error) => {
                *slot = Err(error.to_string());
                Err(error)
            }
        }
    }

    /// Apply entries up to `end`, `batch_entries` per atomic batch; with [`Overlap::Writes`],
    /// preparing each batch while sled writes the one before on a thread of its own
    /// (`InFlight`): preparing (decoding, folding, encoding) and sled's writing each take about
    /// half of a batch's time.
    ///
    /// sled lets no read run while it writes a batch (its lock is process-wide, the log
    /// store's reads included), so a batch's entries are read before the batch ahead of it
    /// starts writing, and preparing reads what it can from the writer's cache.
    fn apply_up_to(
        &self,
        cache: &mut FactCache,
        store: &dyn LogReader,
        end: u64,
        batch_entries: u64,
        overlap: Overlap,
    ) -> Result<u64, QueryError> {
        let batch_entries = batch_entries.max(1);
        let end = end.min(store.head().size);
        self.refresh_engine_if_due(self.applied(), self.backlog(store))?;
        let next_range =
            |start: u64| (start < end).then(|| (start, end.min(start + batch_entries)));
        let caught_up = std::thread::scope(|scope| {
            // A handle of its own, so that the writer holds no shared hold on the engine while
            // a batch takes it exclusively or a refresh replaces it.
            let mut tree = self.tree()?.clone();
            let mut in_flight: Option<InFlight<'_>> = None;
            let read_ahead = |tree: &sled::Tree, start: u64| {
                next_range(start)
                    .map(|(start, stop)| ReadAhead::read(store, tree, start, stop))
                    .transpose()
            };
            let mut ahead = read_ahead(&tree, self.applied())?;
            loop {
                let sealed = ahead.take().map(|read| {
                    let overlay = in_flight.as_ref().map(|flight| &*flight.writes);
                    self.prepare(&tree, cache, store, overlay, read)
                });
                // Whatever happened to the next batch, the one in flight is finished first:
                // until `applied` counts it, a later catch-up would apply it again.
                if let Some(flight) = in_flight.take() {
                    tree = self.settle(flight, tree, store)?;
                }
                let Some(sealed) = sealed.transpose()? else {
                    return Ok(self.applied());
                };
                ahead = read_ahead(&tree, sealed.applied)?;
                let flight = self.start_writing(scope, &tree, sealed, overlap);
                match overlap {
                    Overlap::Writes => in_flight = Some(flight),
                    Overlap::None => tree = self.settle(flight, tree, store)?,
                }
            }
        });
        if caught_up.is_err() {
            // The cache holds what sealed batches touched, and one of them may not be in.
            cache.clear();
        }
        caught_up
    }

    /// Settle the writes of the entries read ahead, reading through `in_flight`.
    fn prepare(
        &self,
        tree: &sled::Tree,
        cache: &mut FactCache,
        store: &dyn LogReader,
        in_flight: Option<&Writes>,
        read: ReadAhead,
    ) -> Result<Sealed, QueryError> {
        let (start, entries, lookups) = read.into_parts();
        let mut batch = BatchWriter::new(tree, in_flight, &lookups, store, cache, start);
        for entry in entries {
            batch.apply_entry(entry)?;
        }
        batch.seal()
    }

    /// Entries the log holds beyond those applied: the log's backlog, not a call's (the
    /// follower applies a few batches a call).
    fn backlog(&self, store: &dyn LogReader) -> u64 {
        store.head().size.saturating_sub(self.applied())
    }

    /// Start writing a sealed batch: on a thread of its own if the batches overlap (on this
    /// one if none can start), otherwise here.
    fn start_writing<'scope>(
        &'scope self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        tree: &sled::Tree,
        sealed: Sealed,
        overlap: Overlap,
    ) -> InFlight<'scope> {
        let writes = Arc::new(sealed.writes);
        let writing = match overlap {
            Overlap::None => Writing::Done(write_batch(&writes, tree, &self.engine)),
            Overlap::Writes => {
                let shared = writes.clone();
                let handle = tree.clone();
                let spawned = std::thread::Builder::new()
                    .name("covenant-query-writer".to_owned())
                    .spawn_scoped(scope, move || write_batch(&shared, &handle, &self.engine));
                match spawned {
                    Ok(thread) => Writing::OnThread(thread),
                    Err(error) => {
                        tracing::warn!(%error, "no thread to write a projection batch on; writing it here");
                        Writing::Done(write_batch(&writes, tree, &self.engine))
                    }
                }
            }
        };
        InFlight {
            writes,
            writing,
            applied: sealed.applied,
        }
    }

    /// Finish a batch in flight, then reopen the engine if that is due, and return the handle
    /// to write on next.
    fn settle(
        &self,
        flight: InFlight<'_>,
        tree: sled::Tree,
        store: &dyn LogReader,
    ) -> Result<sled::Tree, QueryError> {
        self.finish(flight)?;
        // A refresh cannot reopen the engine while a handle holds it; and the new handle is
        // taken while no batch holds the readers' gate, which a batch in flight would make it
        // wait for.
        drop(tree);
        self.refresh_engine_if_due(self.applied(), self.backlog(store))?;
        Ok(self.tree()?.clone())
    }

    /// Wait until a batch in flight is in the tree, then count it as applied.
    fn finish(&self, flight: InFlight<'_>) -> Result<(), QueryError> {
        let gate_held = match flight.writing {
            Writing::OnThread(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
            Writing::Done(result) => result?,
        };
        let mut written = self.engine_writes.lock();
        for key in flight.writes.keys() {
            written[usize::from(key.first().copied().unwrap_or_default())] += 1;
        }
        drop(written);
        let held = u64::try_from(gate_held.as_nanos()).unwrap_or(u64::MAX);
        self.longest_gate_hold_ns.fetch_max(held, Ordering::Relaxed);
        self.total_gate_hold_ns.fetch_add(held, Ordering::Relaxed);
        self.last_gate_hold_ns.store(held, Ordering::Relaxed);
        self.set_applied(flight.applied);
        Ok(())
    }

    /// Forget everything applied, ready to apply the log again from entry 0.
    pub fn clear(&self) -> Result<(), QueryError> {
        let mut writer = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        writer.clear();
        let exclusive = self.engine.write();
        let engine = exclusive
            .as_ref()
            .map_err(|reason| QueryError::Unavailable(reason.clone()))?;
        engine.tree.clear()?;
        engine.tree.insert(keys::format(), FORMAT.as_bytes())?;
        self.set_applied(0);
        self.refreshes.opened(0);
        engine.db.flush()?;
        Ok(())
    }

    /// Clear and apply the whole log again.
    pub fn rebuild(&self, store: &dyn LogReader) -> Result<u64, QueryError> {
        self.clear()?;
        let applied = self.catch_up(store)?;
        self.flush()?;
        Ok(applied)
    }

    /// Every key and value, in order: for tests that compare two projections byte for byte.
    /// Runs (see `keys::WORD`, `keys::FEED`) are shown as one key per item, `w` + word + id
    /// and `n` + group + seq + id, as how items fall into runs depends on the batch sizes and
    /// nothing else.
    #[doc(hidden)]
    pub fn dump(&self) -> Result<Vec<KeyValue>, QueryError> {
        let mut dump = vec![];
        for item in self.tree()?.iter() {
            let (key, value) = item?;
            let decode_error = crate::apply::corrupt(&key);
            let run_prefix = &key[..key.len().saturating_sub(8)];
            match key.first() {
                Some(&keys::WORD) => {
                    let run: keys::WordRun =
                        crate::fact::decode(&value, "word run").map_err(&decode_error)?;
                    for id in run {
                        dump.push(([run_prefix, id.as_bytes()].concat(), vec![]));
                    }
                }
                Some(&keys::FEED) => {
                    let run: keys::FeedRun =
                        crate::fact::decode(&value, "feed run").map_err(&decode_error)?;
                    for (seq, id) in run {
                        let item = [run_prefix, &seq.to_be_bytes(), id.as_bytes()].concat();
                        dump.push((item, vec![]));
                    }
                }
                _ => dump.push((key.to_vec(), value.to_vec())),
            }
        }
        dump.sort();
        if let Some(pair) = dump.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(crate::apply::corrupt(&pair[0].0)(
                "this item is in two runs".into(),
            ));
        }
        Ok(dump)
    }

    /// Resolve what to answer as of. `today` judges overdue for [`AsOf::LATEST`]; dates after
    /// it are refused, as the log cannot say how things will stand.
    pub fn resolve(&self, as_of: AsOf, today: Date) -> Result<ResolvedAsOf, QueryError> {
        let applied = self.applied();
        if let Some(date) = as_of.world
            && date > today
        {
            return Err(QueryError::AsOfInFuture { date, today });
        }
        let (size, recorded_date) = match as_of.recorded {
            Recorded::Now => (applied, today),
            Recorded::Size(size) => {
                if size > applied {
                    return Err(QueryError::AsOfBeyondLog {
                        size,
                        log_size: applied,
                    });
                }
                (size, self.day_of_entry(size)?.unwrap_or(today))
            }
            Recorded::Date(date) => {
                if date > today {
                    return Err(QueryError::AsOfInFuture { date, today });
                }
                (self.size_at_end_of(date)?, date)
            }
        };
        Ok(ResolvedAsOf {
            size,
            date: as_of.world.unwrap_or(recorded_date),
            world: as_of.world,
            latest: size == applied && as_of.world.is_none(),
            reuse_records: true,
        })
    }

    /// Entries stored on or before `date`.
    fn size_at_end_of(&self, date: Date) -> Result<u64, QueryError> {
        let end = Key::new(keys::DAY_END).date(date).into_bytes();
        let start = vec![keys::DAY_END];
        match self.tree()?.range(start..=end).next_back() {
            Some(item) => Ok(read_u64(Some(&item?.1))),
            None => Ok(0),
        }
    }

    /// Storage date of entry `size - 1` (`None` for an empty prefix).
    fn day_of_entry(&self, size: u64) -> Result<Option<Date>, QueryError> {
        if size == 0 {
            return Ok(None);
        }
        let start = Key::new(keys::END_DAY).seq(size).into_bytes();
        let Some(item) = self.tree()?.range(start..).next() else {
            return Ok(None);
        };
        let (key, value) = item?;
        if key.first() != Some(&keys::END_DAY) {
            return Ok(None);
        }
        Ok(keys::read_date(&value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_interval_is_fixed_until_an_eighth_of_the_applied_is_more() {
        assert_eq!(refresh_interval(0, REFRESH_EVERY_ENTRIES), 65_536);
        assert_eq!(refresh_interval(524_288, REFRESH_EVERY_ENTRIES), 65_536);
        assert_eq!(refresh_interval(524_296, REFRESH_EVERY_ENTRIES), 65_537);
        assert_eq!(
            refresh_interval(10_000_000, REFRESH_EVERY_ENTRIES),
            1_250_000
        );
        assert_eq!(refresh_interval(16, 5), 5);
    }

    #[test]
    fn only_a_catch_up_with_a_backlog_refreshes() {
        assert!(!refresh_allowed(8_191, REFRESH_EVERY_ENTRIES));
        assert!(refresh_allowed(8_192, REFRESH_EVERY_ENTRIES));
        assert!(!refresh_allowed(4, 5));
        assert!(refresh_allowed(5, 5));
    }
}
