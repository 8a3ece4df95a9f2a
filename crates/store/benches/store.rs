//! Store benchmark: durable appends per second for batches of 1, 100 and 1000 entries of
//! 400-byte envelopes, and bytes on disk per entry, against a plain append-only file with
//! one fsync per batch measured in the same run (the floor any durable log pays).
//!
//! A third column is bare sled with the same durability (one insert per entry keyed by
//! sequence number, `flush` and `fsync` per batch), to separate what the engine costs from
//! what the store adds on top (records, stored hashes, the event index, checks).
//!
//! `just bench store` (or `cargo bench -p covenant-store --bench store`). Prints a table and
//! writes target/bench/store.json. `STORE_BENCH_SCALE=0.1` shortens the run.

use covenant_core::entry::Entry;
use covenant_core::proto;
use covenant_store::{Batch, LogStore, NewEntry, SledStore};
use prost::Message;
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
    let mut results = Vec::new();
    for case in &cases {
        let batches = ((case.batches as f64 * scale) as usize).max(2);
        let entries = make_entries(case.batch * batches);
        let raw_entry_bytes = entries
            .iter()
            .map(|e| (covenant_core::entry::ENTRY_HEADER_BYTES + e.envelope.len()) as f64)
            .sum::<f64>()
            / entries.len() as f64;
        let file_dir = work.path().join(format!("file-{}", case.batch));
        let (file_time, file_bytes) = plain_file(&file_dir, &entries, case.batch);
        let sled_dir = work.path().join(format!("sled-{}", case.batch));
        let (sled_time, sled_bytes) = bare_sled(&sled_dir, &entries, case.batch);
        let store_dir = work.path().join(format!("store-{}", case.batch));
        let (store_time, store_bytes) = sled_store(&store_dir, entries, case.batch);
        let count = (case.batch * batches) as u64;
        results.push(Figures {
            batch: case.batch,
            entries: count,
            store_per_s: count as f64 / store_time.as_secs_f64(),
            file_per_s: count as f64 / file_time.as_secs_f64(),
            sled_per_s: count as f64 / sled_time.as_secs_f64(),
            store_bytes_per_entry: store_bytes as f64 / count as f64,
            file_bytes_per_entry: file_bytes as f64 / count as f64,
            sled_bytes_per_entry: sled_bytes as f64 / count as f64,
            raw_entry_bytes,
        });
    }
    print_table(&results);
    write_json(&results);
}

fn make_entries(count: usize) -> Vec<NewEntry> {
    (0..count)
        .map(|n| {
            let event_id = format!("01JBENCH{n:018}");
            let actor = "GB-GOV-17".to_owned();
            let mut envelope = proto::Envelope {
                event_id: event_id.clone(),
                actor: actor.clone(),
                occurred_at_ms: 1_764_000_000_000 + n as i64,
                key_id: "GB-GOV-17/2026-1".to_owned(),
                body: Vec::new(),
                signature: vec![0x42; 64],
            };
            let padding = ENVELOPE_BYTES - envelope.encoded_len() - 3;
            // Body bytes vary like real text does, so nothing compresses by accident.
            envelope.body = (0..padding).map(|i| (i * 31 + n * 7) as u8).collect();
            let envelope = envelope.encode_to_vec();
            NewEntry {
                stored_at_ns: 1_764_000_000_000_000_000 + n as u64,
                digest: covenant_core::event::envelope_digest(&envelope),
                envelope,
                event_id,
                actor,
            }
        })
        .collect()
}

/// The floor: each batch's encoded entries appended to one file, then one fsync.
fn plain_file(dir: &Path, entries: &[NewEntry], batch: usize) -> (Duration, u64) {
    std::fs::create_dir_all(dir).expect("make file directory");
    let path = dir.join("log");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open plain log file");
    File::open(dir)
        .and_then(|d| d.sync_all())
        .expect("sync directory");
    let started = Instant::now();
    let mut buffer = Vec::new();
    let mut in_buffer = 0;
    encode_all(entries, |_, encoded| {
        buffer.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
        buffer.extend_from_slice(&encoded);
        in_buffer += 1;
        if in_buffer == batch {
            file.write_all(&buffer).expect("append to plain log");
            file.sync_all().expect("fsync plain log");
            buffer.clear();
            in_buffer = 0;
        }
    });
    if in_buffer > 0 {
        file.write_all(&buffer).expect("append to plain log");
        file.sync_all().expect("fsync plain log");
    }
    let elapsed = started.elapsed();
    (elapsed, disk_usage(dir))
}

/// Each entry's canonical encoding encoded into `f`, in order, with its chain link.
fn encode_all(entries: &[NewEntry], mut f: impl FnMut(u64, Vec<u8>)) {
    let mut previous = [0; 32];
    for (seq, entry) in entries.iter().enumerate() {
        let encoded = Entry {
            seq: seq as u64,
            stored_at_ns: entry.stored_at_ns,
            previous,
            envelope: entry.envelope.clone(),
        }
        .encode();
        previous = covenant_core::entry::chain_hash(&encoded);
        f(seq as u64, encoded);
    }
}

/// The engine alone: one insert per encoded entry, then flush and fsync, per batch.
fn bare_sled(dir: &Path, entries: &[NewEntry], batch: usize) -> (Duration, u64) {
    let db = sled::Config::new()
        .path(dir)
        .mode(sled::Mode::HighThroughput)
        .cache_capacity(64 * 1024 * 1024)
        .flush_every_ms(None)
        .open()
        .expect("open sled");
    let log = File::open(dir.join("db")).expect("open sled log file");
    let mut encoded = Vec::with_capacity(entries.len());
    let started = Instant::now();
    encode_all(entries, |seq, bytes| encoded.push((seq, bytes)));
    for chunk in encoded.chunks(batch) {
        let mut writes = sled::Batch::default();
        for (seq, bytes) in chunk {
            writes.insert(&seq.to_be_bytes(), bytes.as_slice());
        }
        db.apply_batch(writes).expect("sled batch");
        db.flush().expect("sled flush");
        log.sync_all().expect("fsync sled log");
    }
    let elapsed = started.elapsed();
    drop(db);
    (elapsed, disk_usage(dir))
}

fn sled_store(dir: &Path, entries: Vec<NewEntry>, batch: usize) -> (Duration, u64) {
    let store = SledStore::create_or_open(dir).expect("create store");
    let mut entries = entries.into_iter().peekable();
    let started = Instant::now();
    while entries.peek().is_some() {
        let chunk: Vec<NewEntry> = entries.by_ref().take(batch).collect();
        store
            .append(Batch {
                entries: chunk,
                ..Batch::default()
            })
            .expect("append");
    }
    let elapsed = started.elapsed();
    drop(store);
    (elapsed, disk_usage(dir))
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
        "{:>6} {:>8} {:>14} {:>14} {:>7} {:>12} {:>12} {:>10} {:>9}",
        "batch",
        "entries",
        "store/s",
        "file/s",
        "ratio",
        "store B/e",
        "file B/e",
        "raw B/e",
        "space x"
    );
    for f in results {
        println!(
            "{:>6} {:>8} {:>14.0} {:>14.0} {:>7.2} {:>12.0} {:>12.0} {:>10.0} {:>9.2}",
            f.batch,
            f.entries,
            f.store_per_s,
            f.file_per_s,
            f.store_per_s / f.file_per_s,
            f.store_bytes_per_entry,
            f.file_bytes_per_entry,
            f.raw_entry_bytes,
            f.store_bytes_per_entry / f.raw_entry_bytes,
        );
    }
}

fn write_json(results: &[Figures]) {
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
            })
        })
        .collect();
    let json = serde_json::json!({
        "bench": "store",
        "envelope_bytes": ENVELOPE_BYTES,
        "baseline": "plain append-only file, one fsync per batch, same run",
        "goal": "rate_ratio >= 0.5 at batch 1000, space_ratio < 1.5",
        "cases": cases,
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
    dir
}
