//! A store of format v2 (the event-id index in the engine, one item per event), v3 (entry
//! records not compressed) or v4 (no sealed state records) is upgraded in place when it is
//! opened: nothing is lost, the index answers as before, and the deep check passes on the
//! result.

use super::support::{entries, new_entry};
use covenant_core::validate::StateChange;
use covenant_store::check::{CheckOptions, verify_store};
use covenant_store::{Batch, LogReader, LogStore, SledStore, StoreError};
use std::path::Path;

/// Turn a fresh store into the v3 layout: every entry record plain, no record of which are
/// compressed, and v3 format markers.
fn make_v3(dir: &Path) {
    let db = covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
    let entries = db.open_tree("entries").unwrap();
    for item in entries.iter() {
        let (key, record) = item.unwrap();
        entries
            .insert(key, zstd::decode_all(record.as_ref()).unwrap())
            .unwrap();
    }
    db.remove("compressed_from").unwrap();
    db.insert("format", "covenant-store v3").unwrap();
    db.flush().unwrap();
    drop(db);
    std::fs::write(dir.join("FORMAT"), "covenant-store v3\n").unwrap();
}

/// Whether the entry record that starts at `first` is stored as a zstd frame.
fn compressed(dir: &Path, first: u64) -> bool {
    let db = covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
    let record = db
        .open_tree("entries")
        .unwrap()
        .get(first.to_be_bytes())
        .unwrap()
        .expect("a record starts there");
    record.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
}

/// Turn a fresh store into the v2 layout: plain records as in v3, the event index as one
/// item per event instead of the per-batch fingerprint records, and v2 format markers.
fn make_v2(dir: &Path) {
    let store = SledStore::open(dir).unwrap();
    let size = store.head().size;
    let ids: Vec<String> = (0..size)
        .map(|seq| {
            let entry = store.entry(seq).unwrap().unwrap();
            header_id(covenant_core::entry::envelope_of(&entry))
        })
        .collect();
    drop(store);
    make_v3(dir);
    let db = covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
    let events = db.open_tree("events").unwrap();
    for (seq, id) in ids.iter().enumerate() {
        events
            .insert(id.as_bytes(), &(seq as u64).to_be_bytes())
            .unwrap();
    }
    db.drop_tree("prints").unwrap();
    db.insert("format", "covenant-store v2").unwrap();
    db.flush().unwrap();
    drop(db);
    std::fs::write(dir.join("FORMAT"), "covenant-store v2\n").unwrap();
}

/// The event id of an envelope (the test support's bodies are not events: read the field).
fn header_id(envelope: &[u8]) -> String {
    use prost::Message;
    covenant_core::proto::Envelope::decode(envelope)
        .unwrap()
        .event_id
}

#[test]
fn a_v2_store_is_upgraded_on_open_and_loses_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    let store = SledStore::create_or_open(&dir).unwrap();
    for n in 0..3u64 {
        store
            .append(Batch {
                entries: entries(&format!("b{n}"), 2_000, 1 + n * 10_000),
                state_changes: vec![StateChange::Action(format!("a-{n}"), "GB-GOV-1".to_owned())],
                ..Batch::default()
            })
            .unwrap();
    }
    let (head, state) = (store.head(), store.load_state().unwrap());
    drop(store);
    make_v2(&dir);

    let store = SledStore::open(&dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("FORMAT")).unwrap(),
        "covenant-store v5\n"
    );
    assert_eq!(store.head(), head);
    assert_eq!(store.load_state().unwrap(), state);
    for (id, seq) in [("b0-0", 0), ("b1-1999", 3_999), ("b2-7", 4_007)] {
        assert_eq!(store.event(id).unwrap().map(|found| found.seq), Some(seq));
    }
    match store.append(Batch {
        entries: vec![new_entry("b1-5", "GB-GOV-1", 99_999)],
        ..Batch::default()
    }) {
        Err(StoreError::DuplicateEvent { seq, .. }) => assert_eq!(seq, 2_005),
        other => panic!("a duplicate got past the upgraded index: {other:?}"),
    }
    drop(store);
    let report = verify_store(&dir, &CheckOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(report.head, head);
    let db = covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
    assert!(
        !db.tree_names()
            .iter()
            .any(|name| name.as_ref() == b"events"),
        "the v2 event tree is gone"
    );
}

#[test]
fn a_v3_store_keeps_its_plain_records_and_compresses_the_new_ones() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    let store = SledStore::create_or_open(&dir).unwrap();
    store
        .append(Batch {
            entries: entries("old", 100, 1),
            ..Batch::default()
        })
        .unwrap();
    drop(store);
    make_v3(&dir);
    assert!(!compressed(&dir, 0), "the v3 store holds plain records");

    let store = SledStore::open(&dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("FORMAT")).unwrap(),
        "covenant-store v5\n"
    );
    let old_entries = store.entries(0, 100).unwrap();
    store
        .append(Batch {
            entries: entries("new", 100, 1_000),
            ..Batch::default()
        })
        .unwrap();
    let head = store.head();
    drop(store);
    assert!(
        !compressed(&dir, 0),
        "records before the upgrade stay as they were"
    );
    assert!(compressed(&dir, 100), "records after it are compressed");

    let store = SledStore::open(&dir).unwrap();
    assert_eq!(store.head(), head);
    assert_eq!(store.entries(0, 100).unwrap(), old_entries);
    assert_eq!(store.entries(0, 200).unwrap().len(), 200);
    assert_eq!(
        store.event("new-99").unwrap().map(|found| found.seq),
        Some(199)
    );
    drop(store);
    let report = verify_store(&dir, &CheckOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(report.head, head);
}

#[test]
fn a_store_that_does_not_say_which_records_are_compressed_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    let store = SledStore::create_or_open(&dir).unwrap();
    store
        .append(Batch {
            entries: entries("e", 10, 1),
            ..Batch::default()
        })
        .unwrap();
    drop(store);
    let db = covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
    db.insert("compressed_from", &[0u8; 3]).unwrap();
    db.flush().unwrap();
    drop(db);
    match SledStore::open(&dir) {
        Err(StoreError::CorruptMetadata(problem)) => {
            assert!(problem.contains("in 3 bytes, not 8"), "{problem}");
        }
        other => panic!("expected the bad record to be named, got {other:?}"),
    }
    let db = covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
    db.remove("compressed_from").unwrap();
    db.flush().unwrap();
    drop(db);
    match SledStore::open(&dir) {
        Err(StoreError::CorruptMetadata(problem)) => {
            assert!(
                problem.contains("which records are compressed"),
                "{problem}"
            );
        }
        other => panic!("expected the missing record to be named, got {other:?}"),
    }
}

/// A v4 store is a v5 store without seals: opening rewrites only its format markers, and
/// batches appended after it may be sealed.
#[test]
fn a_v4_store_is_marked_v5_and_takes_sealed_batches() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    let store = SledStore::create_or_open(&dir).unwrap();
    store
        .append(Batch {
            entries: entries("old", 10, 1),
            state_changes: vec![StateChange::Action(
                "a-old".to_owned(),
                "GB-GOV-1".to_owned(),
            )],
            ..Batch::default()
        })
        .unwrap();
    drop(store);
    {
        let db =
            covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
        db.insert("format", "covenant-store v4").unwrap();
        db.flush().unwrap();
    }
    std::fs::write(dir.join("FORMAT"), "covenant-store v4\n").unwrap();

    let store = SledStore::open(&dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("FORMAT")).unwrap(),
        "covenant-store v5\n"
    );
    drop(store);
    {
        let db =
            covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
        let format = db.get("format").unwrap().unwrap();
        assert_eq!(
            &format[..],
            b"covenant-store v5",
            "the engine's format record"
        );
    }
    let store = SledStore::open(&dir).unwrap();
    let key = [3; 32];
    store
        .append(Batch {
            entries: entries("new", 10, 100),
            seal_key: Some(key),
            ..Batch::default()
        })
        .unwrap();
    let head = store.head();
    // The old batch is not sealed, so nothing is applied from entry 0; from the new batch on,
    // its seal (over a record of no changes) is.
    let from_zero = store
        .apply_sealed_records(&key, 0, Default::default())
        .unwrap();
    assert_eq!(from_zero.size, 0);
    assert_eq!(
        from_zero.stopped,
        Some(covenant_store::SealStop::Unsealed(0))
    );
    let old_state = store.load_state().unwrap();
    let from_new = store
        .apply_sealed_records(&key, 10, old_state.clone())
        .unwrap();
    assert_eq!((from_new.size, from_new.stopped), (20, None));
    assert_eq!(from_new.state, old_state);
    drop(store);
    let report = verify_store(&dir, &CheckOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(report.head, head);
    assert_eq!(report.state_records, 2);
}
