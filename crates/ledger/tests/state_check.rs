//! Every stored record is checked, the validation state records included: the deep check
//! re-derives the state from the log and the ledger refuses to open on a difference. A real
//! log (signed events through the sequencer) is damaged one record at a time, through the
//! storage engine so that its own checksums still pass, in every kind of record the store
//! keeps.

use crate::support::*;
use bytes::Bytes;
use covenant_ledger::{Incoming, LedgerError, Origin, Sequencer};
use covenant_store::check::{CheckOptions, CheckReport, verify_store};
use covenant_store::{LogReader, LogStore, SledStore, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn direct(envelope: Vec<u8>) -> Incoming {
    Incoming {
        envelope: Bytes::from(envelope),
        stored_at_ns: STORED_AT_NS,
        origin: Origin::Direct,
    }
}

/// A small real log: two departments, commitments, actions, a revoked key, rejections, and a
/// checkpoint after every batch.
fn build_log(path: &Path, world: &mut World) {
    let store: Arc<dyn LogStore> = Arc::new(SledStore::create_or_open(path).unwrap());
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    let signer = world.log_signer();
    let mut batches: Vec<Vec<Vec<u8>>> = vec![
        world.onboard("GB-GOV-DCMS", "dcms-1", 2),
        world.onboard("GB-GOV-DHSC", "dhsc-1", 3),
    ];
    batches.push(
        (0..6)
            .map(|n| world.commitment("GB-GOV-DCMS", "dcms-1", &format!("c-{n}")))
            .collect(),
    );
    batches.push(vec![
        world.emit("GB-GOV-DCMS", "dcms-1", action("a-1", &["c-1", "c-2"])),
        world.emit("GB-GOV-DCMS", "dcms-1", outcome("c-3")),
        world.emit("GB-GOV-DCMS", "dcms-1", withdrawal("c-4")),
        world.commitment("GB-GOV-DHSC", "dhsc-1", "h-1"),
        world.commitment("GB-GOV-DCMS", "dhsc-1", "rejected"),
    ]);
    batches.push(vec![world.revoke("dhsc-1")]);
    for batch in batches {
        let report = sequencer
            .process(batch.into_iter().map(direct).collect())
            .unwrap();
        store
            .put_checkpoint(
                report.head.size,
                &signer.sign(report.head.size, report.head.root),
            )
            .unwrap();
    }
}

fn options(world: &World) -> CheckOptions {
    CheckOptions {
        verifier_key: Some(world.log_signer().verifier_key()),
        validation_state: true,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        if item.file_type().unwrap().is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), target).unwrap();
        }
    }
}

/// Flip the byte `back` bytes from the end of one record of `tree` (where a sealed state
/// record keeps its seal: the last 72 bytes).
fn damage_from_end(store_dir: &Path, tree: &str, record: usize, back: usize, mask: u8) -> bool {
    let db =
        covenant_store::open_sled(&covenant_store::sled_config(&store_dir.join("sled"))).unwrap();
    let tree = db.open_tree(tree).unwrap();
    let Some(Ok((key, value))) = tree.iter().nth(record) else {
        return false;
    };
    let mut damaged = value.to_vec();
    let at = damaged.len() - back;
    damaged[at] ^= mask;
    tree.insert(key, damaged).unwrap();
    db.flush().unwrap();
    true
}

/// Flip one byte of one record of `tree` (the default tree when `tree` is empty) through the
/// engine. Returns false when the tree has no such record.
fn damage(store_dir: &Path, tree: &str, record: usize, byte: usize, mask: u8) -> bool {
    let db =
        covenant_store::open_sled(&covenant_store::sled_config(&store_dir.join("sled"))).unwrap();
    let tree = if tree.is_empty() {
        (*db).clone()
    } else {
        db.open_tree(tree).unwrap()
    };
    let Some(Ok((key, value))) = tree.iter().nth(record) else {
        return false;
    };
    let mut damaged = value.to_vec();
    if damaged.is_empty() {
        return false;
    }
    let at = byte % damaged.len();
    damaged[at] ^= mask;
    tree.insert(key, damaged).unwrap();
    db.flush().unwrap();
    true
}

/// Open a ledger's sequencer again over the store at `path`, with the log key's snapshot
/// key or none.
/// Open as `covenant serve` does: with a key, the store reads the sealed state ahead.
fn reopen(path: &Path, world: &World, key: Option<[u8; 32]>) -> Result<Sequencer, LedgerError> {
    let store = match key {
        Some(key) => SledStore::open_for_ledger(path, key),
        None => SledStore::open(path),
    };
    let store: Arc<dyn LogStore> = Arc::new(store.unwrap());
    Sequencer::open_sealed(store, &world.genesis(), key)
}

fn check(dir: &Path, world: &World) -> Result<CheckReport, StoreError> {
    verify_store(dir, &options(world), &mut |_| {})
}

#[test]
fn a_changed_validation_state_record_is_reported_and_the_ledger_will_not_open() {
    let mut world = World::new();
    let scratch = tempfile::tempdir().unwrap();
    let original = scratch.path().join("log");
    build_log(&original, &mut world);
    let expected = check(&original, &world).expect("the untouched log checks");
    assert!(expected.state_records >= 5, "{expected:?}");
    let reference_state = SledStore::open(&original).unwrap().load_state().unwrap();

    let (mut reported, mut refused) = (0, 0);
    for record in 0..expected.state_records as usize {
        for byte in [0usize, 7, 19, 40, 77, 131] {
            let copy = scratch.path().join(format!("state-{record}-{byte}"));
            copy_dir(&original, &copy);
            assert!(damage(&copy, "state", record, byte, 0x01));
            let changed = SledStore::open(&copy)
                .ok()
                .map(|store| store.load_state().map(|state| state != reference_state));
            match check(&copy, &world) {
                Err(error) => {
                    assert!(!error.to_string().is_empty());
                    reported += 1;
                }
                Ok(report) => {
                    assert!(
                        matches!(changed, Some(Ok(false))),
                        "state record {record} byte {byte}: the check passed a changed state"
                    );
                    assert_eq!(report.head, expected.head);
                }
            }
            // A state record that still decodes but says something else: the ledger refuses.
            if let Some(Ok(true)) = changed {
                let store: Arc<dyn LogStore> = Arc::new(SledStore::open(&copy).unwrap());
                match Sequencer::open(store, &world.genesis()) {
                    Err(LedgerError::Store(StoreError::CorruptMetadata(problem))) => {
                        assert!(problem.contains("validation state"), "{problem}");
                        refused += 1;
                    }
                    Err(other) => panic!("refused for another reason: {other}"),
                    Ok(_) => panic!("the ledger opened over a changed validation state"),
                }
            }
            std::fs::remove_dir_all(&copy).unwrap();
        }
    }
    assert!(
        reported > 0 && refused > 0,
        "{reported} reported, {refused} refused"
    );
}

#[test]
fn a_changed_record_of_every_kind_is_reported() {
    let mut world = World::new();
    let scratch = tempfile::tempdir().unwrap();
    let original = scratch.path().join("log");
    build_log(&original, &mut world);
    let expected = check(&original, &world).expect("the untouched log checks");
    let trees = [
        "entries",
        "hashes",
        "prints",
        "state",
        "rejections",
        "rejections_by_event",
        "checkpoints",
        "",
    ];
    let mut damaged_copies: Vec<(String, PathBuf)> = Vec::new();
    for tree in trees {
        for (record, byte, mask) in [(0, 9, 0x10), (1, 33, 0x01), (2, 3, 0x80)] {
            let copy = scratch.path().join(format!("{tree}-{record}"));
            copy_dir(&original, &copy);
            if damage(&copy, tree, record, byte, mask) {
                damaged_copies.push((format!("{tree:?} record {record} byte {byte}"), copy));
            } else {
                std::fs::remove_dir_all(&copy).unwrap();
            }
        }
    }
    assert!(damaged_copies.len() >= trees.len() * 2);
    for (place, copy) in damaged_copies {
        match check(&copy, &world) {
            Err(error) => assert!(!error.to_string().is_empty(), "{place}"),
            // The rejection index holds keys
            // only: a flip in a value the check never trusts is harmless only if the store
            // holds the same data, which the digest over every key and value shows.
            Ok(report) => assert_eq!(report, expected, "{place}: passed with changed data"),
        }
    }
}

/// A ledger with a log key seals its snapshots, and opening re-derives only the entries after
/// a sealed one. A snapshot anyone else writes is not trusted: the whole log is re-derived,
/// and a validation state the snapshot lies about is refused.
#[test]
fn only_a_snapshot_sealed_with_the_log_key_spares_the_full_check() {
    let mut world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let key = world.log_signer().snapshot_key();
    {
        let store: Arc<dyn LogStore> = Arc::new(SledStore::create_or_open(&path).unwrap());
        let mut sequencer =
            Sequencer::open_sealed(store.clone(), &world.genesis(), Some(key)).unwrap();
        sequencer.snapshot_every(5);
        for batch in [
            world.onboard("GB-GOV-DCMS", "dcms-1", 2),
            (0..4)
                .map(|n| world.commitment("GB-GOV-DCMS", "dcms-1", &format!("c-{n}")))
                .collect(),
            vec![world.emit("GB-GOV-DCMS", "dcms-1", action("a-1", &["c-1"]))],
        ] {
            sequencer
                .process(batch.into_iter().map(direct).collect())
                .unwrap();
            sequencer.finish_snapshots();
        }
        // Entries 0..8: a snapshot at 7, after the commitments.
        assert_eq!(store.snapshot_size(), 7);
    }
    let open = |key: Option<[u8; 32]>| reopen(&path, &world, key);
    // What opening reports: the sealed record after the snapshot applied; with another key
    // or none, all eight entries re-derived.
    let sealed = open(Some(key)).unwrap().state_check();
    assert_eq!((sealed.from, sealed.applied, sealed.rederived), (7, 1, 0));
    assert!(sealed.snapshot_load > std::time::Duration::ZERO);
    for key in [Some([1; 32]), None] {
        let unsealed = open(key).unwrap().state_check();
        assert_eq!(
            (unsealed.from, unsealed.applied, unsealed.rederived),
            (0, 0, 8)
        );
        assert_eq!(unsealed.snapshot_load, std::time::Duration::ZERO);
    }

    // Someone without the key replaces the snapshot with one where a commitment is withdrawn.
    {
        let store = SledStore::open(&path).unwrap();
        let mut forged = store.load_state().unwrap();
        let mut record = forged.commitments["c-0"].clone();
        record.withdrawn = true;
        forged.commitments.insert("c-0".to_owned(), record);
        store.write_snapshot(&forged, None).unwrap();
        assert_eq!(store.snapshot_size(), store.head().size);
    }
    match open(Some(key)) {
        Err(LedgerError::Store(StoreError::CorruptMetadata(problem))) => {
            assert!(problem.contains("validation state"), "{problem}")
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("the ledger trusted a snapshot it did not seal"),
    }
}

/// A log written by a ledger with the log key, in batches, without snapshots: every batch's
/// state record sealed.
fn build_sealed_log(path: &Path, world: &mut World, key: [u8; 32]) {
    let store: Arc<dyn LogStore> = Arc::new(SledStore::create_or_open(path).unwrap());
    let mut sequencer = Sequencer::open_sealed(store, &world.genesis(), Some(key)).unwrap();
    sequencer.snapshot_every(0);
    let batches = [
        world.onboard("GB-GOV-DCMS", "dcms-1", 2),
        (0..4)
            .map(|n| world.commitment("GB-GOV-DCMS", "dcms-1", &format!("c-{n}")))
            .collect(),
        vec![world.emit("GB-GOV-DCMS", "dcms-1", action("a-1", &["c-1"]))],
        vec![world.emit("GB-GOV-DCMS", "dcms-1", withdrawal("c-2"))],
    ];
    for batch in batches {
        sequencer
            .process(batch.into_iter().map(direct).collect())
            .unwrap();
    }
}

/// With every batch sealed, opening applies the stored records instead of re-deriving the
/// entries. A record altered under its seal is not taken: the walk stops there, the entries
/// from there are re-derived, and the ledger refuses the store. An altered seal costs only
/// the re-deriving: the records are right, so the ledger opens.
#[test]
fn sealed_state_records_are_applied_and_an_altered_one_is_re_derived() {
    let mut world = World::new();
    let key = world.log_signer().snapshot_key();
    let scratch = tempfile::tempdir().unwrap();
    let original = scratch.path().join("log");
    build_sealed_log(&original, &mut world, key);
    let open = |path: &Path, key: Option<[u8; 32]>| reopen(path, &world, key);
    let size = SledStore::open(&original).unwrap().head().size;
    let sealed = open(&original, Some(key)).unwrap().state_check();
    assert_eq!(
        (sealed.from, sealed.applied, sealed.rederived),
        (0, size, 0)
    );
    let unsealed = open(&original, None).unwrap().state_check();
    assert_eq!((unsealed.applied, unsealed.rederived), (0, size));
    // What the seals vouch for is what the log gives.
    let store = SledStore::open(&original).unwrap();
    let applied = store
        .apply_sealed_records(&key, 0, Default::default())
        .unwrap();
    assert_eq!((applied.size, applied.stopped.clone()), (size, None));
    let derived = covenant_store::derive::derive_state(&store, &mut |_, _| Ok(())).unwrap();
    assert_eq!(applied.state, derived);
    // Applying from a later batch start, with that batch's state as of it, ends the same.
    let first_batch_end = store.state_records(0).nth(1).unwrap().unwrap().0;
    let mut partial = covenant_core::validate::LedgerState::default();
    for record in store.state_records(0).take(1) {
        partial.apply_all(record.unwrap().1);
    }
    let later = store
        .apply_sealed_records(&key, first_batch_end, partial)
        .unwrap();
    assert_eq!((later.size, later.state), (size, derived));
    drop(store);

    let records = SledStore::open(&original).unwrap().state_records(0).count();
    assert!(records >= 4, "{records} state records");
    for record in 0..records {
        // A record altered through the engine, so that it still decodes: refused.
        let copy = scratch.path().join(format!("record-{record}"));
        copy_dir(&original, &copy);
        assert!(damage(&copy, "state", record, 9, 0x01));
        let store = SledStore::open(&copy).unwrap();
        let applied = store
            .apply_sealed_records(&key, 0, Default::default())
            .unwrap();
        assert!(
            matches!(
                applied.stopped,
                Some(covenant_store::SealStop::Refused { .. })
            ),
            "record {record}: {:?}",
            applied.stopped
        );
        assert!(applied.size < size);
        drop(store);
        match open(&copy, Some(key)) {
            Err(LedgerError::Store(StoreError::CorruptMetadata(problem))) => {
                assert!(problem.contains("state"), "{problem}")
            }
            Err(other) => panic!("record {record}: refused for another reason: {other}"),
            Ok(_) => panic!("record {record}: the ledger opened over an altered sealed record"),
        }
        std::fs::remove_dir_all(&copy).unwrap();

        // The seal of the same batch altered: its record and those after are re-derived.
        let copy = scratch.path().join(format!("seal-{record}"));
        copy_dir(&original, &copy);
        // The MAC, the last 32 bytes.
        assert!(damage_from_end(&copy, "state", record, 1, 0x01));
        let opened = open(&copy, Some(key)).unwrap().state_check();
        assert!(opened.rederived > 0, "seal {record}: {opened:?}");
        assert_eq!(opened.applied + opened.rederived, size);
        std::fs::remove_dir_all(&copy).unwrap();

        // Where a seal says its batch ends, and the chain hash it ends on, the deep check
        // holds against the log (the MAC needs the key, which only the ledger has).
        // The end's last byte, then a byte of the chain hash.
        for back in [65, 50] {
            let copy = scratch.path().join(format!("seal-{record}-{back}"));
            copy_dir(&original, &copy);
            assert!(damage_from_end(&copy, "state", record, back, 0x01));
            let error = check(&copy, &world).expect_err("a seal that says something else");
            assert!(error.to_string().contains("seal"), "{error}");
            std::fs::remove_dir_all(&copy).unwrap();
        }
    }
    check(&original, &world).expect("the untouched sealed log checks");
}

/// A store whose first batches were written without the key (before seals existed, say)
/// applies nothing sealed before them: the seals must link from where the walk starts.
#[test]
fn seals_after_an_unsealed_batch_are_not_applied_before_it() {
    let mut world = World::new();
    let key = world.log_signer().snapshot_key();
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("log");
    {
        let store: Arc<dyn LogStore> = Arc::new(SledStore::create_or_open(&path).unwrap());
        let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
        sequencer
            .process(
                world
                    .onboard("GB-GOV-DCMS", "dcms-1", 2)
                    .into_iter()
                    .map(direct)
                    .collect(),
            )
            .unwrap();
        drop(sequencer);
        let mut sequencer = Sequencer::open_sealed(store, &world.genesis(), Some(key)).unwrap();
        sequencer.snapshot_every(0);
        let commitments = (0..3)
            .map(|n| world.commitment("GB-GOV-DCMS", "dcms-1", &format!("c-{n}")))
            .map(direct)
            .collect();
        sequencer.process(commitments).unwrap();
    }
    let store = SledStore::open(&path).unwrap();
    let size = store.head().size;
    let applied = store
        .apply_sealed_records(&key, 0, Default::default())
        .unwrap();
    assert_eq!(applied.size, 0);
    assert_eq!(applied.stopped, Some(covenant_store::SealStop::Unsealed(0)));
    drop(store);
    let check = reopen(&path, &world, Some(key)).unwrap().state_check();
    assert_eq!((check.applied, check.rederived), (0, size));
}
