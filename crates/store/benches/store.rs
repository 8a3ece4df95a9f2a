//! Store benchmark: durable appends per second for batches of 1, 100 and 1000 entries of
//! 400-byte envelopes, and bytes on disk per entry, against a plain append-only file with
//! one fsync per batch measured in the same run (the floor any durable log pays).
//!
//! A third contender is bare sled with the same durability (one insert per entry keyed by
//! sequence number, `flush` and `fsync` per batch), to separate what the engine costs from
//! what the store adds on top (records, stored hashes, the event index, checks).
//!
//! The three take turns batch by batch (in rotating order), and each is timed only while it
//! appends, so a burst of disk traffic from elsewhere on the machine lands on all of them
//! alike instead of on whichever happened to run at the time.
//!
//! Last, loading the validation state a snapshot holds (what a restart reads before it checks
//! the entries after the snapshot), shaped as at 10M entries of the replica benchmark's mix:
//! 1M commitments and 8M action ids. The baselines, in the same run, are the same action ids
//! loaded as a persistent set of strings, the form they had before they became an `IdSet`, and
//! the same commitments as a persistent map, the form they had before they became an `IdMap`.
//!
//! `just bench store` (or `cargo bench -p covenant-store --bench store`). Prints a table and
//! writes target/bench/store.json. `STORE_BENCH_SCALE=0.1` shortens the run;
//! `STORE_BENCH_SCALE=50` appends 10M entries at batch 1000 (the space goal's condition).

#[path = "support/filler.rs"]
mod filler;

use covenant_core::entry::{Entry, GENESIS_PREVIOUS};
use covenant_store::{Batch, LogStore, NewEntry, SledStore};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Envelope size the figures are quoted for.
const ENVELOPE_BYTES: usize = 400;

struct Case {
    batch: usize,
    batches: usize,
}

#[derive(Debug)]
struct Figures {
    batch: usize,
    entries: u64,
    store_per_s: f64,
    file_per_s: f64,
    sled_per_s: f64,
    store_bytes_per_entry: f64,
    file_bytes_per_entry: f64,
    sled_bytes_per_entry: f64,
    raw_entry_bytes: f64,
    /// Engine inserts the store made per entry appended.
    store_inserts_per_entry: f64,
}

/// Something that appends a batch durably.
trait Contender {
    fn append(&mut self, batch: &[NewEntry]);
    /// Close it and return the bytes its directory occupies and the engine inserts it made,
    /// where it counts them.
    fn finish(self: Box<Self>) -> (u64, Option<u64>);
}

fn main() {
    let scale: f64 = std::env::var("STORE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let cases = [
        Case {
            batch: 1,
            batches: 2_000,
        },
        Case {
            batch: 100,
            batches: 500,
        },
        Case {
            batch: 1_000,
            batches: 200,
        },
    ];
    let work = tempfile::Builder::new()
        .prefix("covenant-store-bench")
        .tempdir_in(bench_dir())
        .expect("make a scratch directory under target/bench");
    let load_before = load_average();
    let results: Vec<Figures> = cases
        .iter()
        .map(|case| run_case(case, scale, work.path()))
        .collect();
    let load_after = load_average();
    print_table(&results);
    println!("load average before: {load_before}; after: {load_after}");
    // Neither grows past its size at scale 1: a run at 10M entries is about the appends.
    let compression = compression(scale);
    let state_load = state_load(scale.min(1.0));
    write_json(&results, [load_before, load_after], state_load, compression);
}

/// Compressing records alone, as the store does before each insert (part of its rates
/// above): records of 16 canonical entries without the 9 bytes a record implies.
fn compression(scale: f64) -> serde_json::Value {
    let entries = make_entries(0, ((200_000.0 * scale.min(1.0)) as usize).max(1_000));
    let mut chainer = Chainer::new();
    let records: Vec<Vec<u8>> = entries
        .chunks(16)
        .map(|chunk| {
            chunk
                .iter()
                .flat_map(|entry| chainer.encode(entry).1.split_off(9))
                .collect()
        })
        .collect();
    let plain: usize = records.iter().map(Vec::len).sum();
    let started = Instant::now();
    let stored: usize = records
        .iter()
        .map(|record| covenant_store::compress_record(record).len())
        .sum();
    let us_per_entry = started.elapsed().as_secs_f64() * 1e6 / entries.len() as f64;
    let ratio = stored as f64 / plain as f64;
    println!(
        "records compressed alone (zstd, as the store writes them): {ratio:.3} of their bytes, \
         {us_per_entry:.2} µs an entry"
    );
    serde_json::json!({ "stored_over_plain": ratio, "us_per_entry": us_per_entry })
}

/// Loading a snapshot's validation state: 1M commitments (times the scale), eight action ids
/// each, decoded as `snapshot::read_state` does after its digest check; the best of three.
fn state_load(scale: f64) -> serde_json::Value {
    use covenant_core::validate::{CommitmentRecord, LedgerState, StateChange};
    let commitments = ((1_000_000.0 * scale) as u64).max(1_000);
    let mut state = LedgerState::default();
    let mut changes = Vec::new();
    for n in 0..commitments {
        let owner = format!("GB-BODY-{}", n % 1_000);
        for action in 0..8 {
            changes.push(StateChange::Action(
                format!("action-{}", n * 8 + action),
                owner.clone(),
            ));
        }
        let record = CommitmentRecord {
            owner,
            withdrawn: false,
            outcomes: vec![format!("outcome-{n}")],
        };
        changes.push(StateChange::Commitment(format!("c-{n}"), record));
    }
    state.apply_all(changes);
    let bytes = postcard::to_allocvec(&state).expect("encode the state");
    // Each load times itself and returns before its result is dropped: a restart keeps what
    // it loads, and freeing 8M strings would add to the baseline's time only.
    let best_of_three =
        |load: &dyn Fn() -> f64| (0..3).map(|_| load()).fold(f64::INFINITY, f64::min);
    let load_s = best_of_three(&|| {
        let started = Instant::now();
        let loaded: LedgerState = postcard::from_bytes(&bytes).expect("decode the state");
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(loaded.actions.len(), state.actions.len());
        seconds
    });
    let ids: Vec<&str> = state.actions.iter().collect();
    let id_bytes = postcard::to_allocvec(&ids).expect("encode the ids");
    let persistent_set_s = best_of_three(&|| {
        let started = Instant::now();
        let set: imbl::OrdSet<String> = postcard::from_bytes(&id_bytes).expect("decode the ids");
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(set.len(), ids.len());
        seconds
    });
    let records = postcard::to_allocvec(&state.commitments).expect("encode the commitments");
    let id_map_s = best_of_three(&|| {
        let started = Instant::now();
        let map: covenant_core::id_map::IdMap<CommitmentRecord> =
            postcard::from_bytes(&records).expect("decode the commitments");
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(map.len(), state.commitments.len());
        seconds
    });
    let persistent_map_s = best_of_three(&|| {
        let started = Instant::now();
        let map: imbl::OrdMap<String, CommitmentRecord> =
            postcard::from_bytes(&records).expect("decode the commitments");
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(map.len(), state.commitments.len());
        seconds
    });
    let actions = state.actions.len();
    println!(
        "validation state of {commitments} commitments and {actions} action ids ({} MB): loads in {load_s:.2} s; the action ids alone as a persistent set of strings: {persistent_set_s:.2} s ({:.2}x); the commitments alone {id_map_s:.2} s, as a persistent map {persistent_map_s:.2} s ({:.2}x)",
        bytes.len() / 1_000_000,
        persistent_set_s / load_s,
        persistent_map_s / id_map_s
    );
    serde_json::json!({
        "commitments": commitments,
        "action_ids": actions,
        "bytes": bytes.len(),
        "load_s": load_s,
        "action_ids_as_persistent_set_s": persistent_set_s,
        "commitments_s": id_map_s,
        "commitments_as_persistent_map_s": persistent_map_s,
    })
}

fn run_case(case: &Case, scale: f64, work: &Path) -> Figures {
    let batches = ((case.batches as f64 * scale) as usize).max(2);
    let mut raw_bytes = 0.0;
    let mut contenders: Vec<Box<dyn Contender>> = vec![
        Box::new(StoreContender::new(
            &work.join(format!("store-{}", case.batch)),
        )),
        Box::new(FileContender::new(
            &work.join(format!("file-{}", case.batch)),
        )),
        Box::new(SledContender::new(
            &work.join(format!("sled-{}", case.batch)),
        )),
    ];
    let mut elapsed = [Duration::ZERO; 3];
    // Made batch by batch, so that millions of entries need not be held at once.
    for round in 0..batches {
        let chunk = make_entries(round * case.batch, case.batch);
        raw_bytes += chunk
            .iter()
            .map(|e| (covenant_core::entry::ENTRY_HEADER_BYTES + e.envelope.len()) as f64)
            .sum::<f64>();
        for turn in 0..contenders.len() {
            let which = (round + turn) % contenders.len();
            let started = Instant::now();
            contenders[which].append(&chunk);
            elapsed[which] += started.elapsed();
        }
    }
    let mut finished = contenders.into_iter().map(|contender| contender.finish());
    let (store, file, sled) = (
        finished.next().unwrap_or_default(),
        finished.next().unwrap_or_default(),
        finished.next().unwrap_or_default(),
    );
    let (store_bytes, file_bytes, sled_bytes) = (store.0, file.0, sled.0);
    let count = (batches * case.batch) as f64;
    let raw_entry_bytes = raw_bytes / count;
    Figures {
        batch: case.batch,
        entries: count as u64,
        store_per_s: count / elapsed[0].as_secs_f64(),
        file_per_s: count / elapsed[1].as_secs_f64(),
        sled_per_s: count / elapsed[2].as_secs_f64(),
        store_bytes_per_entry: store_bytes as f64 / count,
        file_bytes_per_entry: file_bytes as f64 / count,
        sled_bytes_per_entry: sled_bytes as f64 / count,
        raw_entry_bytes,
        store_inserts_per_entry: store.1.unwrap_or(0) as f64 / count,
    }
}

fn make_entries(first: usize, count: usize) -> Vec<NewEntry> {
    (first as u64..(first + count) as u64)
        .map(|n| filler::entry("01JBENCH", n, ENVELOPE_BYTES))
        .collect()
}

/// Canonical entries with their chain links, as the store would write them.
struct Chainer {
    next_seq: u64,
    previous: [u8; 32],
}

impl Chainer {
    fn new() -> Self {
        Self {
            next_seq: 0,
            previous: GENESIS_PREVIOUS,
        }
    }

    fn encode(&mut self, entry: &NewEntry) -> (u64, Vec<u8>) {
        let seq = self.next_seq;
        let encoded = Entry {
            seq,
            stored_at_ns: entry.stored_at_ns,
            previous: self.previous,
            envelope: entry.envelope.clone(),
        }
        .encode();
        self.previous = covenant_core::entry::chain_hash(&encoded);
        self.next_seq += 1;
        (seq, encoded)
    }
}

/// The store under test.
struct StoreContender {
    dir: PathBuf,
    store: SledStore,
}

impl StoreContender {
    fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            store: SledStore::create_or_open(dir).expect("create store"),
        }
    }
}

impl Contender for StoreContender {
    fn append(&mut self, batch: &[NewEntry]) {
        self.store
            .append(Batch {
                entries: batch.to_vec(),
                // Sealed, as a ledger with a log key writes (one more item per batch).
                seal_key: Some([7; 32]),
                ..Batch::default()
            })
            .expect("append");
    }

    fn finish(self: Box<Self>) -> (u64, Option<u64>) {
        let (dir, inserts) = (self.dir.clone(), self.store.engine_inserts());
        drop(self);
        (disk_usage(&dir), Some(inserts))
    }
}

/// The floor: each batch's canonical entries, length-prefixed, appended to one file, then
/// one fsync.
struct FileContender {
    dir: PathBuf,
    file: File,
    chainer: Chainer,
}

impl FileContender {
    fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("make file directory");
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("log"))
            .expect("open plain log file");
        File::open(dir)
            .and_then(|d| d.sync_all())
            .expect("sync directory");
        Self {
            dir: dir.to_owned(),
            file,
            chainer: Chainer::new(),
        }
    }
}

impl Contender for FileContender {
    fn append(&mut self, batch: &[NewEntry]) {
        let mut buffer = Vec::new();
        for entry in batch {
            let (_, encoded) = self.chainer.encode(entry);
            buffer.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
            buffer.extend_from_slice(&encoded);
        }
        self.file.write_all(&buffer).expect("append to plain log");
        self.file.sync_all().expect("fsync plain log");
    }

    fn finish(self: Box<Self>) -> (u64, Option<u64>) {
        (disk_usage(&self.dir), None)
    }
}

/// The engine alone: one insert per canonical entry, then flush and fsync, per batch.
struct SledContender {
    dir: PathBuf,
    db: sled::Db,
    log: File,
    chainer: Chainer,
}

impl SledContender {
    fn new(dir: &Path) -> Self {
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .cache_capacity(64 * 1024 * 1024)
            .flush_every_ms(None)
            .open()
            .expect("open sled");
        let log = File::open(dir.join("db")).expect("open sled log file");
        Self {
            dir: dir.to_owned(),
            db,
            log,
            chainer: Chainer::new(),
        }
    }
}

impl Contender for SledContender {
    fn append(&mut self, batch: &[NewEntry]) {
        let mut writes = sled::Batch::default();
        for entry in batch {
            let (seq, encoded) = self.chainer.encode(entry);
            writes.insert(&seq.to_be_bytes(), encoded);
        }
        self.db.apply_batch(writes).expect("sled batch");
        self.db.flush().expect("sled flush");
        self.log.sync_all().expect("fsync sled log");
    }

    fn finish(self: Box<Self>) -> (u64, Option<u64>) {
        let dir = self.dir.clone();
        drop(self);
        (disk_usage(&dir), None)
    }
}

/// Bytes the directory occupies on disk (allocated blocks, as `du` counts them).
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for item in std::fs::read_dir(dir).expect("list directory") {
        let item = item.expect("list directory");
        let metadata = item.metadata().expect("stat");
        total += if metadata.is_dir() {
            disk_usage(&item.path())
        } else {
            metadata.blocks() * 512
        };
    }
    total
}

fn print_table(results: &[Figures]) {
    println!(
        "{:>6} {:>8} {:>9} {:>9} {:>9} {:>10} {:>10} {:>9} {:>9} {:>8} {:>8} {:>7} {:>6}",
        "batch",
        "entries",
        "store/s",
        "file/s",
        "sled/s",
        "store/file",
        "store B/e",
        "file B/e",
        "sled B/e",
        "raw B/e",
        "store x",
        "sled x",
        "ins/e"
    );
    for f in results {
        println!(
            "{:>6} {:>8} {:>9.0} {:>9.0} {:>9.0} {:>10.2} {:>10.0} {:>9.0} {:>9.0} {:>8.0} {:>8.2} {:>7.2} {:>6.3}",
            f.batch,
            f.entries,
            f.store_per_s,
            f.file_per_s,
            f.sled_per_s,
            f.store_per_s / f.file_per_s,
            f.store_bytes_per_entry,
            f.file_bytes_per_entry,
            f.sled_bytes_per_entry,
            f.raw_entry_bytes,
            f.store_bytes_per_entry / f.raw_entry_bytes,
            f.sled_bytes_per_entry / f.raw_entry_bytes,
            f.store_inserts_per_entry,
        );
    }
    println!(
        "store/file: durable appends/s of the store over the plain file; x: bytes on disk per entry over raw entry bytes; ins/e: the store's engine inserts per entry"
    );
}

fn write_json(
    results: &[Figures],
    load_averages: [String; 2],
    state_load: serde_json::Value,
    compression: serde_json::Value,
) {
    let cases: Vec<serde_json::Value> = results
        .iter()
        .map(|f| {
            serde_json::json!({
                "batch": f.batch,
                "entries": f.entries,
                "store_appends_per_s": f.store_per_s,
                "file_appends_per_s": f.file_per_s,
                "bare_sled_appends_per_s": f.sled_per_s,
                "rate_ratio": f.store_per_s / f.file_per_s,
                "store_bytes_per_entry": f.store_bytes_per_entry,
                "file_bytes_per_entry": f.file_bytes_per_entry,
                "bare_sled_bytes_per_entry": f.sled_bytes_per_entry,
                "raw_entry_bytes": f.raw_entry_bytes,
                "space_ratio": f.store_bytes_per_entry / f.raw_entry_bytes,
                "bare_sled_space_ratio": f.sled_bytes_per_entry / f.raw_entry_bytes,
                "engine_inserts_per_entry": f.store_inserts_per_entry,
            })
        })
        .collect();
    let json = serde_json::json!({
        "bench": "store",
        "envelope_bytes": ENVELOPE_BYTES,
        "baseline": "plain append-only file, one fsync per batch, same run",
        "goal": "rate_ratio >= 0.5 at batch 1000, space_ratio < 1.5",
        "load_average_before_after": load_averages,
        "cases": cases,
        "state_load": state_load,
        "compression": compression,
    });
    let path = bench_dir().join("store.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&json).expect("encode json"),
    )
    .expect("write target/bench/store.json");
    println!("wrote {}", path.display());
}

/// target/bench of the workspace: CARGO_TARGET_DIR when set, else next to the workspace root.
fn bench_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir).expect("make target/bench");
    dir.canonicalize().unwrap_or(dir)
}

/// The machine's load average, for reading the figures: other work on the machine slows
/// every contender, and the disk's fsync latency most of all.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}
