//! Snapshots: opening starts from the newest snapshot and reads only what comes after it, and
//! gets exactly what a full replay would: every event id found, duplicates refused on both
//! sides of the snapshot, the same validation state. A snapshot that is damaged or belongs to
//! another log is not used, and opening says why.

use super::support::{entries, new_entry};
use covenant_core::validate::{LedgerState, StateChange};
use covenant_store::{Batch, LogReader, LogStore, SledStore, StoreError};
use std::path::Path;

/// Appends `batches` batches of 10 entries `b<n>-<i>`, each recording one action, and returns
/// the validation state they give.
fn append_batches(store: &SledStore, range: std::ops::Range<u64>) -> LedgerState {
    let mut state = store.load_state().unwrap();
    for n in range {
        let changes = vec![StateChange::Action(format!("a-{n}"), "GB-GOV-1".to_owned())];
        state.apply_all(changes.clone());
        store
            .append(Batch {
                entries: entries(&format!("b{n}"), 10, 1_000 + n * 10),
                state_changes: changes,
                ..Batch::default()
            })
            .unwrap();
    }
    state
}

fn assert_every_event_found(store: &SledStore, batches: u64) {
    for n in 0..batches {
        for i in [0, 9] {
            let found = store.event(&format!("b{n}-{i}")).unwrap().expect("indexed");
            assert_eq!(found.seq, n * 10 + i);
        }
    }
    assert_eq!(store.event("b0-10").unwrap(), None);
}

#[test]
fn opening_from_a_snapshot_reads_only_the_tail_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create_or_open(dir.path()).unwrap();
    assert_eq!(store.snapshot_size(), 0);
    let state = append_batches(&store, 0..5);
    assert_eq!(store.write_snapshot(&state, None).unwrap(), 50);
    assert_eq!(store.snapshot_size(), 50);
    let state = append_batches(&store, 5..8);
    drop(store);

    let store = SledStore::open(dir.path()).unwrap();
    let recovery = store.recovery();
    assert_eq!(recovery.snapshot_size, Some(50));
    assert_eq!(recovery.snapshot_refused, None);
    assert_eq!(recovery.replayed_entries, 30);
    assert_eq!(store.snapshot_size(), 50);
    assert_eq!(store.load_state().unwrap(), state);
    assert_every_event_found(&store, 8);
    for (id, seq) in [("b2-4", 24), ("b6-1", 61)] {
        match store.append(Batch {
            entries: vec![new_entry(id, "GB-GOV-1", 5_000)],
            ..Batch::default()
        }) {
            Err(StoreError::DuplicateEvent { seq: found, .. }) => assert_eq!(found, seq),
            other => panic!("a duplicate of {id} was not refused: {other:?}"),
        }
    }
    assert_eq!(store.head().size, 80);
}

#[test]
fn without_a_snapshot_opening_reads_every_index_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create_or_open(dir.path()).unwrap();
    let state = append_batches(&store, 0..4);
    drop(store);
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.recovery().snapshot_size, None);
    assert_eq!(store.recovery().replayed_entries, 40);
    assert_eq!(store.load_state().unwrap(), state);
    assert_every_event_found(&store, 4);
}

fn reopen_with_snapshot_bytes(dir: &Path, bytes: &[u8]) -> SledStore {
    std::fs::write(dir.join("SNAPSHOT"), bytes).unwrap();
    SledStore::open(dir).unwrap()
}

#[test]
fn a_damaged_snapshot_is_not_used_and_the_log_gives_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create_or_open(dir.path()).unwrap();
    let state = append_batches(&store, 0..3);
    store.write_snapshot(&state, None).unwrap();
    let state = append_batches(&store, 3..5);
    drop(store);
    let good = std::fs::read(dir.path().join("SNAPSHOT")).unwrap();

    let mut in_header = good.clone();
    in_header[60] ^= 1;
    // A byte of the state section: the index is still used, the state comes from the log.
    let mut in_state = good.clone();
    in_state[215] ^= 1; // the header is 210 bytes
    let store = reopen_with_snapshot_bytes(dir.path(), &in_state);
    assert_eq!(store.recovery().snapshot_size, Some(30));
    assert_eq!(store.load_state().unwrap(), state);
    assert_eq!(store.sealed_snapshot_state(&[0; 32]).unwrap(), None);
    drop(store);
    // The last byte belongs to the index section.
    let mut in_index = good.clone();
    *in_index.last_mut().unwrap() ^= 1;
    let cut = &good[..good.len() - 1];
    // A snapshot an older release wrote (format 2 held the action ids as a map).
    let mut older = good.clone();
    older[..26].copy_from_slice(b"covenant-store snapshot 2\n");
    for (what, bytes, named) in [
        ("a flipped header byte", &in_header[..], "header's digest"),
        (
            "an older format",
            &older[..],
            r#"of snapshot format "2", this version reads "3""#,
        ),
        (
            "a flipped index byte",
            &in_index[..],
            "event index does not match its digest",
        ),
        ("a cut file", cut, "not the"),
    ] {
        let store = reopen_with_snapshot_bytes(dir.path(), bytes);
        let recovery = store.recovery();
        assert_eq!(recovery.snapshot_size, None, "{what}");
        let refused = recovery.snapshot_refused.clone().expect(what);
        assert!(refused.contains(named), "{what}: {refused}");
        assert_eq!(recovery.replayed_entries, 50, "{what}");
        assert_eq!(store.load_state().unwrap(), state, "{what}");
        assert_every_event_found(&store, 5);
    }
}

#[test]
fn a_snapshot_of_another_log_is_not_used() {
    let scratch = tempfile::tempdir().unwrap();
    let (ours, theirs) = (scratch.path().join("ours"), scratch.path().join("theirs"));
    let store = SledStore::create_or_open(&ours).unwrap();
    let state = append_batches(&store, 0..3);
    drop(store);
    // The same size and ids, different times: a different chain.
    let other = SledStore::create_or_open(&theirs).unwrap();
    for n in 0..3 {
        other
            .append(Batch {
                entries: entries(&format!("b{n}"), 10, 9_000 + n * 10),
                ..Batch::default()
            })
            .unwrap();
    }
    other.write_snapshot(&LedgerState::default(), None).unwrap();
    drop(other);
    let bytes = std::fs::read(theirs.join("SNAPSHOT")).unwrap();
    let store = reopen_with_snapshot_bytes(&ours, &bytes);
    let refused = store.recovery().snapshot_refused.clone().expect("refused");
    assert!(refused.contains("chain hash"), "{refused}");
    assert_eq!(store.load_state().unwrap(), state);
    assert_every_event_found(&store, 3);
}

#[test]
fn a_snapshot_beyond_the_log_is_not_used() {
    let scratch = tempfile::tempdir().unwrap();
    let (short, long) = (scratch.path().join("short"), scratch.path().join("long"));
    let store = SledStore::create_or_open(&long).unwrap();
    let state = append_batches(&store, 0..3);
    store.write_snapshot(&state, None).unwrap();
    drop(store);
    let store = SledStore::create_or_open(&short).unwrap();
    append_batches(&store, 0..2);
    drop(store);
    let bytes = std::fs::read(long.join("SNAPSHOT")).unwrap();
    let store = reopen_with_snapshot_bytes(&short, &bytes);
    let refused = store.recovery().snapshot_refused.clone().expect("refused");
    assert!(
        refused.contains("30 entries but the log has 20"),
        "{refused}"
    );
    assert_every_event_found(&store, 2);
}

/// A store opened for the ledger reads the sealed state while its engine opens, and hands it
/// over only as the file there now gives it: the snapshot's state when nothing changed, the
/// newer file's when a snapshot replaced it after the open, none when another key sealed it
/// or the file belongs to another log, and none when its state section is damaged.
#[test]
fn a_store_opened_for_the_ledger_hands_over_only_the_sealed_state_of_this_log() {
    let key = [5; 32];
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("ours");
    let store = SledStore::create_or_open(&dir).unwrap();
    let at_30 = append_batches(&store, 0..3);
    store.write_snapshot(&at_30, Some(key)).unwrap();
    let at_50 = append_batches(&store, 3..5);
    drop(store);

    let store = SledStore::open_for_ledger(&dir, key).unwrap();
    assert_eq!(store.recovery().snapshot_size, Some(30));
    assert_eq!(
        store.sealed_snapshot_state(&key).unwrap(),
        Some((30, at_30.clone()))
    );
    // Asked again (what was read ahead is taken): read from the file.
    assert_eq!(
        store.sealed_snapshot_state(&key).unwrap(),
        Some((30, at_30.clone()))
    );
    assert_eq!(store.sealed_snapshot_state(&[6; 32]).unwrap(), None);
    drop(store);

    let store = SledStore::open_for_ledger(&dir, key).unwrap();
    store.write_snapshot(&at_50, Some(key)).unwrap();
    assert_eq!(
        store.sealed_snapshot_state(&key).unwrap(),
        Some((50, at_50.clone()))
    );
    drop(store);

    // Read ahead with another key: nothing kept, the file read when asked.
    let store = SledStore::open_for_ledger(&dir, [6; 32]).unwrap();
    assert_eq!(
        store.sealed_snapshot_state(&key).unwrap(),
        Some((50, at_50.clone()))
    );
    drop(store);

    let good = std::fs::read(dir.join("SNAPSHOT")).unwrap();
    let mut in_state = good.clone();
    in_state[215] ^= 1; // the header is 210 bytes
    std::fs::write(dir.join("SNAPSHOT"), &in_state).unwrap();
    let store = SledStore::open_for_ledger(&dir, key).unwrap();
    assert_eq!(store.recovery().snapshot_size, Some(50));
    assert_eq!(store.sealed_snapshot_state(&key).unwrap(), None);
    assert_eq!(store.load_state().unwrap(), at_50);
    drop(store);

    // The same key's snapshot of another log (the same ids at other times: another chain).
    let theirs = scratch.path().join("theirs");
    let other = SledStore::create_or_open(&theirs).unwrap();
    for n in 0..5 {
        other
            .append(Batch {
                entries: entries(&format!("b{n}"), 10, 9_000 + n * 10),
                ..Batch::default()
            })
            .unwrap();
    }
    other
        .write_snapshot(&LedgerState::default(), Some(key))
        .unwrap();
    drop(other);
    std::fs::copy(theirs.join("SNAPSHOT"), dir.join("SNAPSHOT")).unwrap();
    let store = SledStore::open_for_ledger(&dir, key).unwrap();
    assert_eq!(store.recovery().snapshot_size, None);
    assert_eq!(store.sealed_snapshot_state(&key).unwrap(), None);
    assert_eq!(store.load_state().unwrap(), at_50);
    assert_every_event_found(&store, 5);
}
