//! Crash recovery: a child process appends while the parent SIGKILLs it at random moments;
//! after every kill the store must open with a consistent head that holds every batch the
//! child saw acknowledged. And a disk that fills up mid-batch fails that batch cleanly.
//!
//! The child is this same test binary, re-run with `--exact <test>` and an environment
//! variable that puts the test into child mode (so each test is parent and child, and never
//! passes without checking).

use super::support::{assert_consistent, new_entry_sized};
use covenant_core::entry::ChainVerifier;
use covenant_core::merkle::MemoryTree;
use covenant_store::check::{CheckOptions, verify_store};
use covenant_store::{Batch, LogReader, LogStore, SledStore};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_DIR: &str = "COVENANT_STORE_TEST_CHILD_DIR";
const CHILD_SEED: &str = "COVENANT_STORE_TEST_CHILD_SEED";

/// A small, seedable random source (splitmix64): the tests print their seed so a failure
/// can be replayed with `COVENANT_STORE_TEST_SEED`.
pub struct Rng(u64);

impl Rng {
    pub fn from_env_or_clock(name: &str) -> Self {
        let seed = std::env::var("COVENANT_STORE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{name}: COVENANT_STORE_TEST_SEED={seed}");
        Self(seed)
    }

    pub fn seeded(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

/// What the child prints after each append returns: `ACK <size> <root hex> <chain hex>`.
#[derive(Debug, Clone, PartialEq)]
struct Ack {
    size: u64,
    root: [u8; 32],
    chain: [u8; 32],
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut words = line.strip_prefix("ACK ")?.split(' ');
    let size = words.next()?.parse().ok()?;
    let root = hex::decode(words.next()?).ok()?.try_into().ok()?;
    let chain = hex::decode(words.next()?).ok()?.try_into().ok()?;
    Some(Ack { size, root, chain })
}

/// Child mode: append random batches forever, announcing each returned head.
fn append_until_killed(dir: &Path, seed: u64) -> ! {
    let mut rng = Rng::seeded(seed);
    let store = SledStore::create_or_open(dir).expect("child: open store");
    let mut stdout = std::io::stdout();
    loop {
        let head = store.head();
        let count = rng.between(1, 120);
        let entries = (0..count)
            .map(|n| {
                let seq = head.size + n;
                new_entry_sized(&format!("crash-{seq}"), "GB-GOV-1", seq, 200)
            })
            .collect();
        let head = store
            .append(Batch {
                entries,
                stream_seq: Some(head.size + count),
                ..Batch::default()
            })
            .expect("child: append");
        writeln!(
            stdout,
            "ACK {} {} {}",
            head.size,
            hex::encode(head.root.0),
            hex::encode(head.chain_head)
        )
        .and_then(|()| stdout.flush())
        .expect("child: report");
    }
}

fn spawn_child(test_name: &str, dir: &Path, seed: u64) -> std::process::Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_SEED, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// The child's mode, when this process is a child.
fn child_dir() -> Option<(std::path::PathBuf, u64)> {
    let dir = std::env::var_os(CHILD_DIR)?;
    let seed = std::env::var(CHILD_SEED).ok()?.parse().ok()?;
    Some((dir.into(), seed))
}

/// Every acknowledged head must be a prefix of the recovered log: same root and chain hash
/// at that size.
fn assert_acknowledged_present(store: &SledStore, acks: &[Ack]) {
    let head = assert_consistent(store);
    let entries = store.entries(0, head.size).expect("read entries");
    let mut tree = MemoryTree::new();
    let mut chain = ChainVerifier::new();
    let mut acks = acks.iter().peekable();
    if let Some(last) = acks.clone().last() {
        assert!(
            head.size >= last.size,
            "acknowledged size {} lost: the store recovered {} entries",
            last.size,
            head.size
        );
    }
    for bytes in &entries {
        tree.push(bytes);
        chain.push(bytes).expect("chain");
        while let Some(ack) = acks.next_if(|ack| ack.size == tree.size()) {
            assert_eq!(
                tree.root().0,
                ack.root,
                "root at acknowledged size {}",
                ack.size
            );
            assert_eq!(
                chain.head(),
                ack.chain,
                "chain at acknowledged size {}",
                ack.size
            );
        }
    }
    assert!(acks.next().is_none(), "an acknowledged head is missing");
}

#[test]
fn kill_nine_at_random_moments_loses_nothing_acknowledged() {
    if let Some((dir, seed)) = child_dir() {
        append_until_killed(&dir, seed);
    }
    let test_name = "crash::kill_nine_at_random_moments_loses_nothing_acknowledged";
    let mut rng = Rng::from_env_or_clock(test_name);
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    let mut acks: Vec<Ack> = Vec::new();
    let started = Instant::now();
    let rounds = 24;
    let mut kills_after_acks = 0;
    for round in 0..rounds {
        let mut child = spawn_child(test_name, &dir, rng.next());
        let stdout = child.stdout.take().expect("child stdout");
        let (first_ack_sender, first_ack) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut round_acks = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(ack) = parse_ack(&line) {
                    if round_acks.is_empty() {
                        let _ = first_ack_sender.send(());
                    }
                    round_acks.push(ack);
                }
            }
            round_acks
        });
        if round % 2 == 0 {
            // Anywhere from the start, including the middle of opening (recovering from the
            // previous kill).
            std::thread::sleep(Duration::from_millis(rng.between(0, 80)));
        } else {
            // Somewhere in the appends, however slow the machine is to start the child.
            first_ack
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("round {round}: the child never appended"));
            std::thread::sleep(Duration::from_millis(rng.between(0, 60)));
        }
        child.kill().expect("SIGKILL the child");
        let status = child.wait().expect("reap the child");
        assert!(
            !status.success(),
            "round {round}: the child must die by the signal"
        );
        let round_acks = reader.join().expect("reader");
        if !round_acks.is_empty() {
            kills_after_acks += 1;
        }
        acks.extend(round_acks);
        if !dir.join("FORMAT").exists() {
            continue; // killed before the store was ever created
        }
        let store = SledStore::open(&dir)
            .unwrap_or_else(|e| panic!("round {round}: reopen after kill -9: {e}"));
        assert_acknowledged_present(&store, &acks);
    }
    assert!(
        kills_after_acks >= rounds / 2,
        "half the rounds kill during appends"
    );
    let report = verify_store(&dir, &CheckOptions::default(), &mut |_| {}).expect("deep check");
    assert!(report.head.size >= acks.last().map_or(0, |a| a.size));
    eprintln!(
        "{rounds} kills, {} acknowledged batches, {} entries, {:?}",
        acks.len(),
        report.head.size,
        started.elapsed()
    );
}

/// Child mode for the full-disk test: cap the size of any file this process may write just
/// above what the store holds, so the engine's writes fail as on a full disk (EFBIG, which
/// the store reports like ENOSPC), and append until that happens.
fn append_until_full(dir: &Path) -> ! {
    let store = SledStore::open(dir).expect("child: open store");
    let log_size = std::fs::metadata(dir.join("sled/db"))
        .expect("log file")
        .len();
    // SAFETY: plain libc calls with valid arguments; ignoring SIGXFSZ turns the size limit
    // into an EFBIG error instead of killing the process.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let limit = libc::rlimit {
            rlim_cur: log_size + 256 * 1024,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
    let mut stdout = std::io::stdout();
    for round in 0..10_000u64 {
        let head = store.head();
        let entries = (0..50)
            .map(|n| {
                let seq = head.size + n;
                new_entry_sized(&format!("full-{seq}"), "GB-GOV-1", seq, 400)
            })
            .collect();
        match store.append(Batch {
            entries,
            ..Batch::default()
        }) {
            Ok(head) => {
                writeln!(
                    stdout,
                    "ACK {} {} {}",
                    head.size,
                    hex::encode(head.root.0),
                    hex::encode(head.chain_head)
                )
                .and_then(|()| stdout.flush())
                .expect("child: report");
            }
            Err(error) => {
                let again = store.append(Batch {
                    entries: vec![new_entry_sized("after-full", "GB-GOV-1", u64::MAX, 10)],
                    ..Batch::default()
                });
                writeln!(stdout, "FAILED {round} {error:?} | {again:?}").expect("child: report");
                std::process::exit(0);
            }
        }
    }
    writeln!(stdout, "NEVER FULL").expect("child: report");
    std::process::exit(0);
}

#[test]
fn a_full_disk_fails_the_batch_cleanly_and_keeps_the_store() {
    let test_name = "crash::a_full_disk_fails_the_batch_cleanly_and_keeps_the_store";
    if let Some((dir, _)) = child_dir() {
        append_until_full(&dir);
    }
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    let store = SledStore::create_or_open(&dir).unwrap();
    store
        .append(Batch {
            entries: (0..20)
                .map(|n| new_entry_sized(&format!("before-{n}"), "GB-GOV-1", n, 400))
                .collect(),
            ..Batch::default()
        })
        .unwrap();
    drop(store);
    let output = spawn_child(test_name, &dir, 0)
        .wait_with_output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let acks: Vec<Ack> = stdout.lines().filter_map(parse_ack).collect();
    let failure = stdout
        .lines()
        .find(|line| line.starts_with("FAILED"))
        .unwrap_or_else(|| panic!("the child never hit the size limit:\n{stdout}"));
    assert!(
        failure.contains("DiskFull"),
        "a full disk must be named as such: {failure}"
    );
    assert!(
        failure.contains("| Err("),
        "the store must refuse writes after a failed batch: {failure}"
    );
    assert!(!acks.is_empty(), "some batches fit before the disk filled");
    let store = SledStore::open(&dir).expect("reopen after the disk filled");
    assert_acknowledged_present(&store, &acks);
    // With room again, the store carries on.
    let size = store.head().size;
    store
        .append(Batch {
            entries: vec![new_entry_sized("after", "GB-GOV-1", u64::MAX / 2, 400)],
            ..Batch::default()
        })
        .expect("append once there is room");
    assert_eq!(store.head().size, size + 1);
    drop(store);
    verify_store(&dir, &CheckOptions::default(), &mut |_| {}).expect("deep check");
}
