//! A store of format v2 (the event-id index in the engine, one item per event) is upgraded in
//! place when it is opened: nothing is lost, the index answers as before, and the deep check
//! passes on the result.

use super::support::{entries, new_entry};
use covenant_core::validate::StateChange;
use covenant_store::check::{CheckOptions, verify_store};
use covenant_store::{Batch, LogReader, LogStore, SledStore, StoreError};
use std::path::Path;

/// Turn a fresh v3 store into the v2 layout: the same trees, except the event index as one
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
    let db = covenant_store::open_sled(&sled::Config::new().path(dir.join("sled"))).unwrap();
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
        "covenant-store v3\n"
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
    let db = covenant_store::open_sled(&sled::Config::new().path(dir.join("sled"))).unwrap();
    assert!(
        !db.tree_names()
            .iter()
            .any(|name| name.as_ref() == b"events"),
        "the v2 event tree is gone"
    );
}
