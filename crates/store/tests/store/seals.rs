//! Sealed state records (`covenant_store::LogReader::apply_sealed_records`): the store applies
//! what the seals of one key vouch for, stops where they do not, and the deep check holds
//! every seal to the run of entries it names and the chain hash it ends on.

use super::support::entries;
use covenant_core::validate::{LedgerState, StateChange};
use covenant_store::check::{CheckOptions, verify_store};
use covenant_store::{Batch, LogReader, LogStore, SealStop, SledStore, StoreError};
use std::path::Path;

const KEY: [u8; 32] = [7; 32];
/// A seal's bytes at the end of its record: the end (8), the chain hash (32), the MAC (32).
const SEAL_BYTES: usize = 72;

/// Append 5 entries whose ids start with `prefix`, recording `actions` new action ids, sealed
/// with `seal_key` if given.
fn append(
    store: &SledStore,
    prefix: &str,
    first_ns: u64,
    actions: usize,
    seal_key: Option<[u8; 32]>,
) {
    store
        .append(Batch {
            entries: entries(prefix, 5, first_ns),
            state_changes: new_actions(prefix, actions),
            seal_key,
            ..Batch::default()
        })
        .unwrap();
}

/// The state changes [`append`] records: `actions` new action ids starting with `prefix`.
fn new_actions(prefix: &str, actions: usize) -> Vec<StateChange> {
    (0..actions)
        .map(|n| StateChange::Action(format!("{prefix}-{n}"), "GB-GOV-1".to_owned()))
        .collect()
}

/// Three sealed batches of 5 entries at 0, 5 and 10, the last changing no state (its record
/// holds the seal alone).
fn sealed_store(dir: &Path) -> SledStore {
    let store = SledStore::create_or_open(dir).unwrap();
    for (batch, actions) in [(0u64, 2usize), (1, 1), (2, 0)] {
        append(
            &store,
            &format!("b{batch}"),
            100 * (batch + 1),
            actions,
            Some(KEY),
        );
    }
    store
}

/// How a test alters a seal.
#[derive(Debug, Clone, Copy)]
enum Alter {
    /// Name another end.
    End(u64),
    /// Name another end and the log's own chain hash there, as anyone can read it.
    EndAndChainHash(u64),
    /// Flip a byte of the chain hash.
    ChainHash,
}

/// Alter the seal of the state record at entry `record` through the engine, whose checksums
/// stay right.
fn alter_seal(dir: &Path, record: u64, alter: Alter) {
    let chain_hash_at = |end: u64| {
        let store = SledStore::open(dir).unwrap();
        covenant_core::entry::chain_hash(&store.entry(end - 1).unwrap().unwrap())
    };
    let new_chain_hash = match alter {
        Alter::EndAndChainHash(end) => Some(chain_hash_at(end)),
        _ => None,
    };
    let db = covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
    let tree = db.open_tree("state").unwrap();
    let key = record.to_be_bytes();
    let mut value = tree.get(key).unwrap().unwrap().to_vec();
    let seal = value.len() - SEAL_BYTES;
    match alter {
        Alter::End(end) | Alter::EndAndChainHash(end) => {
            value[seal..seal + 8].copy_from_slice(&end.to_be_bytes())
        }
        Alter::ChainHash => value[seal + 20] ^= 1,
    }
    if let Some(hash) = new_chain_hash {
        value[seal + 8..seal + 40].copy_from_slice(&hash);
    }
    tree.insert(key, value).unwrap();
    db.flush().unwrap();
}

#[test]
fn sealed_records_apply_to_the_head_and_only_from_a_batch_start_with_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = sealed_store(dir.path());
    let whole = store
        .apply_sealed_records(&KEY, 0, LedgerState::default())
        .unwrap();
    assert_eq!((whole.size, whole.stopped.clone()), (15, None));
    assert_eq!(whole.state, store.load_state().unwrap());
    assert_eq!(whole.state.actions.len(), 3);
    // Another key vouches for nothing.
    let other = store
        .apply_sealed_records(&[8; 32], 0, LedgerState::default())
        .unwrap();
    assert_eq!(other.size, 0);
    assert!(
        matches!(other.stopped, Some(SealStop::Refused { at: 0, .. })),
        "{other:?}"
    );
    assert_eq!(other.state, LedgerState::default());
    // From the head: nothing to apply.
    let at_head = store
        .apply_sealed_records(&KEY, 15, whole.state.clone())
        .unwrap();
    assert_eq!((at_head.size, at_head.stopped), (15, None));
    // From inside a batch, no seal links: the chain hash before entry 3 begins no batch.
    let inside = store
        .apply_sealed_records(&KEY, 3, LedgerState::default())
        .unwrap();
    assert_eq!(inside.size, 3);
    assert!(inside.stopped.is_some());
}

#[test]
fn a_seal_that_names_another_run_of_entries_is_reported_by_the_deep_check() {
    let scratch = tempfile::tempdir().unwrap();
    let original = scratch.path().join("store");
    drop(sealed_store(&original));
    let options = CheckOptions::default();
    let expected = verify_store(&original, &options, &mut |_| {}).unwrap();
    assert_eq!(expected.state_records, 3);
    // Ending where it begins, inside the next batch (with the chain hash the log has there,
    // too), past the head; and the chain hash changed.
    for (record, alter) in [
        (0, Alter::End(0)),
        (0, Alter::End(6)),
        (0, Alter::EndAndChainHash(7)),
        (10, Alter::End(16)),
        (5, Alter::ChainHash),
    ] {
        let copy = scratch.path().join(format!("{record}-{alter:?}"));
        super::support::copy_dir(&original, &copy);
        alter_seal(&copy, record, alter);
        match verify_store(&copy, &options, &mut |_| {}) {
            Err(StoreError::Corrupt { seq, problem }) => {
                assert_eq!(seq, record);
                assert!(problem.contains("state seal"), "{problem}");
            }
            other => panic!("record {record}, {alter:?}: {other:?}"),
        }
        // Nor does the store apply it, or anything after it.
        let store = SledStore::open(&copy).unwrap();
        let applied = store
            .apply_sealed_records(&KEY, 0, LedgerState::default())
            .unwrap();
        assert_eq!(applied.size, record, "{alter:?}");
        assert!(matches!(applied.stopped, Some(SealStop::Refused { at, .. }) if at == record));
    }
}

#[test]
fn a_batch_appended_without_the_key_ends_the_seals_as_unsealed() {
    let dir = tempfile::tempdir().unwrap();
    let store = sealed_store(dir.path());
    // A batch without the key that changes no state leaves no record at all.
    append(&store, "plain", 1_000, 0, None);
    append(&store, "after", 2_000, 0, Some(KEY));
    let applied = store
        .apply_sealed_records(&KEY, 0, LedgerState::default())
        .unwrap();
    assert_eq!(applied.size, 15);
    assert_eq!(applied.stopped, Some(SealStop::Unsealed(15)));
    // From the sealed batch after it, the seals apply to the head.
    let state = store.load_state().unwrap();
    let after = store.apply_sealed_records(&KEY, 20, state.clone()).unwrap();
    assert_eq!((after.size, after.stopped), (25, None));
    // The log ending in a batch without the key: the seals stop where its entries begin.
    append(&store, "last", 3_000, 0, None);
    let before_last = store.apply_sealed_records(&KEY, 20, state).unwrap();
    assert_eq!(before_last.size, 25);
    assert_eq!(before_last.stopped, Some(SealStop::Unsealed(25)));
}

/// A sealed batch that appends no entries (rejections only) writes no seal: a seal names a
/// run of entries, and the next batch's record takes the same key.
#[test]
fn a_sealed_batch_without_entries_writes_no_seal() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    let store = sealed_store(&dir);
    store
        .append(Batch {
            rejections: vec![super::conformance::rejection(
                "refused",
                9_000,
                covenant_core::validate::RejectCode::BadSignature,
            )],
            seal_key: Some(KEY),
            ..Batch::default()
        })
        .unwrap();
    let applied = store
        .apply_sealed_records(&KEY, 0, LedgerState::default())
        .unwrap();
    assert_eq!((applied.size, applied.stopped), (15, None));
    drop(store);
    let report = verify_store(&dir, &CheckOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(report.state_records, 3);
}

#[test]
fn a_state_record_keyed_at_the_head_is_reported_by_the_deep_check() {
    let dir = tempfile::tempdir().unwrap();
    drop(sealed_store(dir.path()));
    {
        let db = covenant_store::open_sled(&covenant_store::sled_config(&dir.path().join("sled")))
            .unwrap();
        let tree = db.open_tree("state").unwrap();
        let last = tree.get(10u64.to_be_bytes()).unwrap().unwrap();
        tree.insert(15u64.to_be_bytes(), last).unwrap();
        db.flush().unwrap();
    }
    match verify_store(dir.path(), &CheckOptions::default(), &mut |_| {}) {
        Err(StoreError::CorruptMetadata(problem)) => {
            assert!(problem.contains("not keyed by an entry"), "{problem}")
        }
        other => panic!("a record past the log: {other:?}"),
    }
}

/// Append `batches` sealed batches of `per_batch` entries and `actions` new action ids each,
/// walk them all, then alter the seal of batch `refused` and walk again: every change the
/// seals admit applies, and none from the refused seal on.
fn walk_up_to_a_refused_seal(batches: u64, per_batch: u64, actions: usize, refused: u64) {
    let dir = tempfile::tempdir().unwrap();
    let prefixes: Vec<String> = (0..batches).map(|batch| format!("b{batch}")).collect();
    {
        let store = SledStore::create_or_open(dir.path()).unwrap();
        for (n, prefix) in (0..).zip(&prefixes) {
            store
                .append(Batch {
                    entries: entries(prefix, per_batch as usize, 1 + n * per_batch),
                    state_changes: new_actions(prefix, actions),
                    seal_key: Some(KEY),
                    ..Batch::default()
                })
                .unwrap();
        }
        let whole = store
            .apply_sealed_records(&KEY, 0, LedgerState::default())
            .unwrap();
        assert_eq!(
            (whole.size, whole.stopped.clone()),
            (batches * per_batch, None)
        );
        assert_eq!(whole.state, store.load_state().unwrap());
        assert_eq!(whole.state.actions.len(), batches as usize * actions);
    }
    let at = refused * per_batch;
    alter_seal(dir.path(), at, Alter::ChainHash);
    let store = SledStore::open(dir.path()).unwrap();
    let partial = store
        .apply_sealed_records(&KEY, 0, LedgerState::default())
        .unwrap();
    assert_eq!(partial.size, at);
    assert!(
        matches!(partial.stopped, Some(SealStop::Refused { at: stop, .. }) if stop == at),
        "{partial:?}"
    );
    let mut before = LedgerState::default();
    before.apply_all(
        prefixes[..refused as usize]
            .iter()
            .flat_map(|prefix| new_actions(prefix, actions)),
    );
    assert_eq!(partial.state, before);
}

/// A walk over thousands of changes in several batches.
#[test]
fn many_changes_apply_up_to_a_refused_seal() {
    walk_up_to_a_refused_seal(4, 5, 3_000, 3);
}

/// A walk long enough to be read ahead on threads of its own: it applies exactly what the
/// walk alone would, and a refused seal still ends it (the threads reading the records after
/// it do not carry the walk on).
#[test]
fn a_walk_read_ahead_applies_the_same_up_to_a_refused_seal() {
    walk_up_to_a_refused_seal(5, 8_000, 10, 2);
}
