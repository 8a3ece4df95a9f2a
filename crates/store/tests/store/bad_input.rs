//! Paths that are not stores, stores of another format, directories that cannot be written,
//! and a store already open elsewhere: each gives an error that says so, and none changes a
//! byte of what is there.

use super::support::entries;
use covenant_core::checkpoint::LogSigner;
use covenant_store::{Batch, LogReader, LogStore, SledStore, StoreError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file under `dir` with its bytes, to show that a refused open changed nothing.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for item in std::fs::read_dir(&next).unwrap() {
            let path = item.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn small_store(dir: &Path) {
    let store = SledStore::create_or_open(dir).unwrap();
    store
        .append(Batch {
            entries: entries("b", 5, 1),
            ..Batch::default()
        })
        .unwrap();
}

#[test]
fn a_directory_holding_something_else_is_not_a_store() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("photos");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("holiday.jpg"), b"not a store").unwrap();
    let before = contents(&dir);
    for result in [SledStore::open(&dir), SledStore::create_or_open(&dir)] {
        match result {
            Err(StoreError::NotAStore { path }) => assert!(path.contains("photos")),
            other => panic!("expected not-a-store, got {other:?}"),
        }
    }
    assert_eq!(contents(&dir), before, "nothing was written");
    assert!(!dir.join("sled").exists());
}

#[test]
fn open_does_not_create_and_a_file_is_not_a_store() {
    let scratch = tempfile::tempdir().unwrap();
    let missing = scratch.path().join("missing");
    assert!(matches!(
        SledStore::open(&missing),
        Err(StoreError::NotAStore { .. })
    ));
    assert!(!missing.exists(), "open never creates a store");
    let empty = scratch.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(
        SledStore::open(&empty),
        Err(StoreError::NotAStore { .. })
    ));
    let file = scratch.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        SledStore::create_or_open(&file),
        Err(StoreError::NotAStore { .. })
    ));
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn a_bare_sled_database_of_someone_else_is_not_adopted() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    {
        let foreign = sled::open(dir.join("sled")).unwrap();
        foreign.insert(b"their key", b"their value").unwrap();
        foreign.flush().unwrap();
    }
    assert!(matches!(
        SledStore::create_or_open(&dir),
        Err(StoreError::NotAStore { .. })
    ));
    let foreign = sled::open(dir.join("sled")).unwrap();
    assert_eq!(foreign.len(), 1, "their data is as it was");
    assert!(foreign.get(b"format").unwrap().is_none());
}

#[test]
fn an_incompatible_format_is_named_and_left_alone() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    small_store(&dir);
    for old in [
        "covenant-store v1",
        "covenant-store v0",
        "covenant-store v6",
    ] {
        std::fs::write(dir.join("FORMAT"), format!("{old}\n")).unwrap();
        let before = contents(&dir);
        for result in [SledStore::open(&dir), SledStore::create_or_open(&dir)] {
            match result {
                Err(StoreError::IncompatibleFormat { found, expected }) => {
                    assert_eq!(found, old);
                    assert_eq!(expected, "covenant-store v5");
                }
                other => panic!("expected an incompatible format, got {other:?}"),
            }
        }
        assert_eq!(contents(&dir), before, "nothing was written");
    }
    std::fs::write(dir.join("FORMAT"), "covenant-store v5\n").unwrap();
    assert_eq!(SledStore::open(&dir).unwrap().head().size, 5);
}

#[test]
fn an_engine_of_an_unknown_format_is_named_even_under_a_current_marker() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    small_store(&dir);
    let db = covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
    db.insert("format", "covenant-store v9").unwrap();
    db.flush().unwrap();
    drop(db);
    match SledStore::open(&dir) {
        Err(StoreError::IncompatibleFormat { found, expected }) => {
            assert_eq!(found, "covenant-store v9");
            assert_eq!(expected, "covenant-store v5");
        }
        other => panic!("expected an incompatible format, got {other:?}"),
    }
}

/// Tests run as root, and root writes through any permission bits, so `chmod` cannot make a
/// directory read-only for them. sysfs refuses to create directories for everyone, root
/// included (EPERM, or EROFS where /sys is mounted read-only), so a store path under /sys is a
/// directory that cannot be written on any Linux machine.
#[test]
fn a_directory_that_cannot_be_written_is_named() {
    let path = Path::new("/sys/covenant-store-test");
    for result in [SledStore::create_or_open(path), SledStore::open(path)] {
        match result {
            Err(StoreError::ReadOnly { path, reason }) => {
                assert!(path.contains("/sys/covenant-store-test"));
                assert!(!reason.is_empty());
            }
            Err(StoreError::NotAStore { .. }) => {} // open refuses before trying to write
            other => panic!("expected a read-only error, got {other:?}"),
        }
    }
    assert!(matches!(
        SledStore::create_or_open(path),
        Err(StoreError::ReadOnly { .. })
    ));
    assert!(!path.exists());
}

#[test]
fn a_store_open_elsewhere_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    small_store(&dir);
    let first = SledStore::open(&dir).unwrap();
    match SledStore::open(&dir) {
        Err(StoreError::Locked { path }) => assert!(path.contains("store")),
        other => panic!("expected the store to be locked, got {other:?}"),
    }
    assert_eq!(first.head().size, 5, "the open store is unaffected");
    first
        .append(Batch {
            entries: entries("c", 1, 10),
            ..Batch::default()
        })
        .unwrap();
}

#[test]
fn a_creation_interrupted_before_the_marker_completes_on_the_next_open() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    small_store(&dir);
    // As if the process died between making the engine durable and renaming the marker.
    std::fs::rename(dir.join("FORMAT"), dir.join("FORMAT.tmp")).unwrap();
    std::fs::remove_file(dir.join("CLOSED")).unwrap();
    assert!(matches!(
        SledStore::open(&dir),
        Err(StoreError::NotAStore { .. })
    ));
    let store = SledStore::create_or_open(&dir).unwrap();
    assert_eq!(store.head().size, 5, "nothing is lost or re-created");
}

#[test]
fn a_damaged_head_record_is_reported_on_open() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    small_store(&dir);
    {
        let db =
            covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
        let mut head = db.get(b"head").unwrap().unwrap().to_vec();
        head[7] = 4; // size 5 -> 4
        db.insert(b"head", head).unwrap();
        db.flush().unwrap();
    }
    match SledStore::open(&dir) {
        Err(StoreError::CorruptMetadata(problem)) => assert!(problem.contains("5"), "{problem}"),
        other => panic!("expected a corrupt head, got {other:?}"),
    }
}

#[test]
fn a_checkpoint_lost_after_a_clean_close_is_reported_on_open() {
    // What the engine's recovery does when the newest part of its log is damaged: it keeps
    // the log up to the damage. A checkpoint is written after its batch, so it is the record
    // such a recovery loses first, and the head alone cannot tell.
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    let signer = LogSigner::new("covenant.test/log", [4; 32]).unwrap();
    {
        let store = SledStore::create_or_open(&dir).unwrap();
        let head = store
            .append(Batch {
                entries: entries("b", 5, 1),
                ..Batch::default()
            })
            .unwrap();
        store
            .put_checkpoint(head.size, &signer.sign(head.size, head.root))
            .unwrap();
    }
    {
        let db =
            covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
        let checkpoints = db.open_tree("checkpoints").unwrap();
        let (newest, _) = checkpoints.last().unwrap().unwrap();
        checkpoints.remove(newest).unwrap();
        db.flush().unwrap();
    }
    match SledStore::open(&dir) {
        Err(StoreError::CorruptMetadata(problem)) => {
            assert!(problem.contains("checkpoint size 5"), "{problem}");
            assert!(problem.contains("checkpoint none"), "{problem}");
        }
        other => panic!("expected the lost checkpoint to be reported, got {other:?}"),
    }
}

#[test]
fn a_store_closed_by_a_version_that_recorded_only_the_head_still_opens() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    small_store(&dir);
    let record = std::fs::read_to_string(dir.join("CLOSED")).unwrap();
    let head_line = record.lines().next().unwrap();
    assert!(head_line.starts_with("size 5 "), "{record}");
    std::fs::write(dir.join("CLOSED"), format!("{head_line}\n")).unwrap();
    assert_eq!(SledStore::open(&dir).unwrap().head().size, 5);
}

#[test]
fn a_snapshot_left_half_written_by_a_crash_does_not_stop_the_store_opening() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    small_store(&dir);
    // What a crash in the middle of sled writing a snapshot leaves behind: it sorts after
    // every finished snapshot, so sled would load it and fail its checksum.
    let unfinished = dir.join("sled/snap.7FFFFFFFFFFFFFFF.generating");
    std::fs::write(&unfinished, [0xab; 40]).unwrap();
    {
        let config = covenant_store::sled_config(&dir.join("sled"));
        assert!(
            matches!(config.open(), Err(sled::Error::Corruption { .. })),
            "sled alone does not open past it (the engine bug this guards against)"
        );
    }
    let store = SledStore::open(&dir).expect("the store opens");
    assert_eq!(store.head().size, 5);
    assert!(!unfinished.exists());
}
