//! What every benchmark shares: where figures go (`target/bench/`), writing them as JSON, the
//! machine's load average to read them by, memory and disk figures, dropping a directory's
//! files from the page cache for a cold start, and timing a restart's parts alone.

use std::path::PathBuf;

/// `target/bench` (under `CARGO_TARGET_DIR` when set), created if missing.
pub fn dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir).expect("make target/bench");
    dir
}

/// Write `figures` to `target/bench/NAME.json` and say so.
pub fn write_json(name: &str, figures: &serde_json::Value) {
    let path = dir().join(format!("{name}.json"));
    let bytes = serde_json::to_vec_pretty(figures).expect("encode json");
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    println!("wrote {}", path.display());
}

/// Print the projections' engine writes per entry by kind of key (most first, as
/// `covenant_query::Projections::engine_writes_per_entry_by_kind` gives them) and return them
/// for the benchmark's JSON: sled's writing bounds catching up, so where the writes go says
/// what would move it.
pub fn writes_by_kind(per_entry: &[(&str, f64)]) -> serde_json::Value {
    let listed: Vec<String> = per_entry
        .iter()
        .map(|(kind, writes)| format!("{kind} {writes:.3}"))
        .collect();
    println!(
        "  engine writes per entry by kind of key: {}",
        listed.join(", ")
    );
    per_entry
        .iter()
        .map(|(kind, writes)| {
            (
                (*kind).to_owned(),
                ((writes * 1000.0).round() / 1000.0).into(),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The 1, 5 and 15 minute load averages as `/proc/loadavg` gives them: other work on the
/// machine slows every contender, and the disk's fsync latency most of all.
pub fn load_averages() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The 1 minute load average (-1 when unknown).
pub fn load_average() -> f64 {
    load_averages()
        .split_whitespace()
        .next()
        .and_then(|first| first.parse().ok())
        .unwrap_or(-1.0)
}

/// Resident memory of a process as `/proc/<pid>/status` gives it, in bytes: now (`VmRSS`) and
/// the most it has used (`VmHWM`). Both zero where there is no `/proc`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    pub resident: u64,
    pub peak: u64,
}

impl Memory {
    /// This process's memory.
    pub fn of_self() -> Self {
        Self::of("self")
    }

    /// The memory of process `pid` (a number, or `self`).
    pub fn of(pid: &str) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kib = |field: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|number| number.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Self {
            resident: kib("VmRSS:") * 1024,
            peak: kib("VmHWM:") * 1024,
        }
    }

    /// `{"rss_mb": .., "peak_rss_mb": ..}`, in MiB.
    pub fn json(&self) -> serde_json::Value {
        let mib = |bytes: u64| (bytes as f64 / (1024.0 * 1024.0)).round();
        serde_json::json!({ "rss_mb": mib(self.resident), "peak_rss_mb": mib(self.peak) })
    }
}

/// Bytes on disk under `path` (blocks allocated, so sparse files count as what they use),
/// 0 for a path that does not exist.
pub fn disk_usage(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !metadata.is_dir() {
        return metadata.blocks() * 512;
    }
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| disk_usage(&entry.path()))
                .sum()
        })
        .unwrap_or(0)
}

/// The broker a benchmark runs against: as production runs it (`sync_interval: always`,
/// [`crate::NatsServer::start_durable`]) unless `COVENANT_BENCH_BROKER_SYNC=default` asks for
/// NATS's default (fsync every two minutes). Returns the server and the setting's name.
pub fn broker() -> (crate::NatsServer, &'static str) {
    if std::env::var("COVENANT_BENCH_BROKER_SYNC").is_ok_and(|kind| kind == "default") {
        return (crate::NatsServer::start(), "default (2m)");
    }
    (crate::NatsServer::start_durable(), "always")
}

/// The file [`summarise`] writes in [`dir`].
pub const SUMMARY: &str = "summary.json";

/// Gather every benchmark's figures in `dir` (each `NAME.json` but the summary itself) into one
/// document, `{"load_averages": ..., "seconds": {NAME: s, ..., "total": s}, "benchmarks":
/// {NAME: figures, ...}}`, with `seconds` the wall-clock time each took as the caller measured
/// it, write it to [`SUMMARY`] and return it. A file that is not JSON is named in the error.
pub fn summarise(
    dir: &std::path::Path,
    seconds: &[(String, u64)],
) -> Result<serde_json::Value, String> {
    let mut benchmarks = serde_json::Map::new();
    let listing = std::fs::read_dir(dir).map_err(|e| format!("read {}: {e}", dir.display()))?;
    for item in listing {
        let path = item
            .map_err(|e| format!("read {}: {e}", dir.display()))?
            .path();
        let Some(name) = path.file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        if path.extension().is_none_or(|extension| extension != "json")
            || path.file_name().is_some_and(|file| file == SUMMARY)
        {
            continue;
        }
        let text = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        let figures = serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        benchmarks.insert(name.to_owned(), figures);
    }
    let seconds: serde_json::Map<String, serde_json::Value> = seconds
        .iter()
        .map(|(name, s)| (name.clone(), (*s).into()))
        .collect();
    let summary = serde_json::json!({
        "load_averages": load_averages(),
        "seconds": seconds,
        "benchmarks": benchmarks,
    });
    let out = dir.join(SUMMARY);
    let bytes = serde_json::to_vec_pretty(&summary).map_err(|e| e.to_string())?;
    std::fs::write(&out, bytes).map_err(|e| format!("write {}: {e}", out.display()))?;
    Ok(summary)
}

/// The page cache's hold on the files under a directory, in bytes, before and after
/// [`evict_page_cache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Eviction {
    pub cached_before: u64,
    pub cached_after: u64,
    pub file_bytes: u64,
}

/// Write back every file under `path` and drop its pages from the kernel's page cache
/// (`posix_fadvise(POSIX_FADV_DONTNEED)`), so that the next open reads them from the disk as
/// after a reboot, without the root privileges dropping the whole cache takes. The cache's
/// hold is counted with `mincore` before and after, so a figure taken "cold" says how cold.
pub fn evict_page_cache(path: &std::path::Path) -> Eviction {
    use std::os::unix::io::AsRawFd;
    let mut eviction = Eviction::default();
    for file in files_under(path) {
        let Ok(opened) = std::fs::File::open(&file) else {
            continue;
        };
        let len = opened.metadata().map(|m| m.len()).unwrap_or(0);
        eviction.file_bytes += len;
        eviction.cached_before += cached_bytes(&opened, len);
        // Dirty pages cannot be dropped: write them back first.
        let _ = opened.sync_all();
        // SAFETY: a valid descriptor of a file this function holds open; the call only
        // advises the kernel and touches no memory of ours.
        #[allow(unsafe_code)]
        unsafe {
            libc::posix_fadvise(opened.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        }
        eviction.cached_after += cached_bytes(&opened, len);
    }
    eviction
}

/// Read every file under `path` once, so that the page cache holds them again after
/// [`evict_page_cache`] (as on a server that has run for a while). Returns the bytes of them
/// the cache holds afterwards.
pub fn load_page_cache(path: &std::path::Path) -> u64 {
    files_under(path)
        .iter()
        .filter_map(|file| {
            let mut opened = std::fs::File::open(file).ok()?;
            std::io::copy(&mut opened, &mut std::io::sink()).ok()?;
            let len = opened.metadata().ok()?.len();
            Some(cached_bytes(&opened, len))
        })
        .sum()
}

fn files_under(path: &std::path::Path) -> Vec<PathBuf> {
    match std::fs::read_dir(path) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .flat_map(|entry| {
                let path = entry.path();
                if path.is_dir() {
                    files_under(&path)
                } else {
                    vec![path]
                }
            })
            .collect(),
        Err(_) => vec![],
    }
}

/// Bytes of the first `len` bytes of `file` held in the page cache (`mincore` over a
/// read-only mapping; 0 when it cannot be mapped).
fn cached_bytes(file: &std::fs::File, len: u64) -> u64 {
    use std::os::unix::io::AsRawFd;
    if len == 0 {
        return 0;
    }
    // SAFETY: the mapping is read-only, private to this function, never dereferenced by us
    // (only mincore reads the page table for it), and unmapped before returning; `residency`
    // has one byte per page of it, as mincore requires.
    #[allow(unsafe_code)]
    unsafe {
        let page = libc::sysconf(libc::_SC_PAGESIZE).max(1) as u64;
        let mapped = libc::mmap(
            std::ptr::null_mut(),
            len as usize,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        );
        if mapped == libc::MAP_FAILED {
            return 0;
        }
        let mut residency = vec![0u8; len.div_ceil(page) as usize];
        let answered = libc::mincore(mapped, len as usize, residency.as_mut_ptr()) == 0;
        libc::munmap(mapped, len as usize);
        if !answered {
            return 0;
        }
        residency.iter().filter(|&&byte| byte & 1 == 1).count() as u64 * page
    }
}

/// Apply every sealed validation state record in `store` from entry 0 with `key`, alone:
/// the entries they cover and the seconds it took, what applying costs an entry over the
/// whole log (a restart applies those after the newest snapshot).
pub fn apply_all_sealed_records(
    store: &dyn covenant_store::LogReader,
    key: &[u8; 32],
) -> (u64, f64) {
    let applying = std::time::Instant::now();
    let applied = store
        .apply_sealed_records(key, 0, covenant_core::validate::LedgerState::default())
        .expect("apply the sealed state records");
    (applied.size, applying.elapsed().as_secs_f64())
}

/// What a restart just before the next snapshot spends on the state records, measured rather
/// than estimated ([`apply_last_sealed_records_cold`]).
#[derive(Debug, Clone, Copy)]
pub struct ColdTail {
    /// The entries whose records were applied: from the first batch at or after
    /// `size - entries`.
    pub entries: u64,
    /// Seconds the store's sealed walk took (what a restart runs: the records read ahead).
    pub walk_s: f64,
    /// Seconds reading and applying the same records one at a time took, the walk's baseline.
    pub one_at_a_time_s: f64,
}

/// Apply the sealed state records of the last `entries` entries of the store in `dir` with
/// its files dropped from the page cache and the engine reopened, as a restart just before
/// the next snapshot does, on the state before them (built from the records first, warm);
/// then again read one record at a time, cold again, for the baseline.
pub fn apply_last_sealed_records_cold(
    dir: &std::path::Path,
    key: &[u8; 32],
    entries: u64,
) -> ColdTail {
    use covenant_store::{LogReader, SledStore};
    let (size, from, before) = {
        let store = SledStore::open(dir).expect("reopen the store");
        let size = store.head().size;
        let mut before = covenant_core::validate::LedgerState::default();
        let mut from = size;
        for record in store.state_records(0) {
            let (first, changes) = record.expect("read a state record");
            if first >= size.saturating_sub(entries) {
                from = first;
                break;
            }
            before.apply_all(changes);
        }
        (size, from, before)
    };
    let cold_store = || {
        evict_page_cache(dir);
        SledStore::open(dir).expect("reopen the store")
    };
    let store = cold_store();
    let walking = std::time::Instant::now();
    let applied = store
        .apply_sealed_records(key, from, before.clone())
        .expect("apply the sealed state records");
    let walk_s = walking.elapsed().as_secs_f64();
    assert_eq!(
        (applied.size, applied.stopped.is_none()),
        (size, true),
        "the last records are sealed to the head"
    );
    drop(store);
    let store = cold_store();
    let mut state = before;
    let reading = std::time::Instant::now();
    for record in store.state_records(from) {
        state.apply_all(record.expect("read a state record").1);
    }
    let one_at_a_time_s = reading.elapsed().as_secs_f64();
    assert!(
        state == applied.state,
        "the same records give the same state"
    );
    ColdTail {
        entries: size - from,
        walk_s,
        one_at_a_time_s,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_summary_holds_every_benchmark_and_not_itself() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("store.json"), br#"{"ratio": 0.5}"#).unwrap();
        std::fs::write(dir.path().join("query.json"), br#"{"p99_ms": 2}"#).unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"not a benchmark").unwrap();
        let timed = [("store".to_owned(), 95), ("total".to_owned(), 3100)];
        let first = super::summarise(dir.path(), &timed).unwrap();
        let again = super::summarise(dir.path(), &[]).unwrap();
        assert_eq!(
            first["benchmarks"], again["benchmarks"],
            "the summary is not summarised"
        );
        let names: Vec<&String> = first["benchmarks"].as_object().unwrap().keys().collect();
        assert_eq!(names, ["query", "store"]);
        assert_eq!(first["benchmarks"]["store"]["ratio"], 0.5);
        assert_eq!(first["seconds"]["store"], 95);
        assert_eq!(first["seconds"]["total"], 3100);
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(super::SUMMARY)).unwrap())
                .unwrap();
        assert_eq!(written["benchmarks"], first["benchmarks"]);
    }

    #[test]
    fn this_process_has_resident_memory_no_more_than_its_peak() {
        let before = super::Memory::of_self();
        let held = vec![1u8; 64 << 20];
        let after = super::Memory::of_self();
        assert!(
            after.resident >= before.resident + (32 << 20),
            "{before:?} {after:?}"
        );
        assert!(after.peak >= after.resident, "{after:?}");
        assert_eq!(held.iter().map(|&b| u64::from(b)).sum::<u64>(), 64 << 20);
        assert_eq!(
            super::Memory::of("no-such-process"),
            super::Memory::default()
        );
    }

    #[test]
    fn disk_usage_counts_the_blocks_of_every_file_below() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a"), vec![7u8; 100_000]).unwrap();
        std::fs::write(dir.path().join("b"), vec![7u8; 50_000]).unwrap();
        let used = super::disk_usage(dir.path());
        assert!((150_000..400_000).contains(&used), "{used}");
        assert!(super::disk_usage(&dir.path().join("sub")) >= 100_000);
        assert_eq!(super::disk_usage(&dir.path().join("missing")), 0);
    }

    #[test]
    fn evicting_drops_the_files_below_from_the_page_cache_and_loading_reads_them_back() {
        // Under target/, not /tmp: a tmpfs holds its files in the page cache for good.
        let dir = tempfile::tempdir_in(super::dir()).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/data"), vec![7u8; 8 << 20]).unwrap();
        let eviction = super::evict_page_cache(dir.path());
        assert_eq!(eviction.file_bytes, 8 << 20);
        assert!(eviction.cached_before >= 4 << 20, "{eviction:?}");
        assert!(eviction.cached_after < 1 << 20, "{eviction:?}");
        assert!(super::load_page_cache(dir.path()) >= 7 << 20, "read back");
        assert_eq!(
            super::evict_page_cache(&dir.path().join("missing")),
            super::Eviction::default()
        );
    }

    #[test]
    fn a_figures_file_that_is_not_json_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.json"), b"{").unwrap();
        let error = super::summarise(dir.path(), &[]).unwrap_err();
        assert!(error.contains("broken.json"), "{error}");
    }

    #[test]
    fn the_directory_is_target_bench_and_exists() {
        let dir = super::dir();
        assert!(dir.ends_with("target/bench"), "{}", dir.display());
        assert!(dir.is_dir());
    }

    #[test]
    fn load_averages_are_three_numbers() {
        let text = super::load_averages();
        assert_eq!(text.split_whitespace().count(), 3, "{text:?}");
        assert!(super::load_average() >= 0.0);
    }
}
