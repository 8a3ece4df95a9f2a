//! The conformance suite: what any `LogStore` engine must do. Each function takes an
//! [`Engine`] so a second engine runs the same checks by implementing it.

use super::support::{assert_consistent, entries, new_entry, new_entry_sized};
use covenant_core::checkpoint::LogSigner;
use covenant_core::entry::{Entry, GENESIS_PREVIOUS};
use covenant_core::merkle::{self, EMPTY_HASH, MemoryTree};
use covenant_core::validate::{
    ActorRecord, CommitmentRecord, LedgerState, RejectCode, StateChange,
};
use covenant_store::{Batch, LogReader, LogStore, RejectionRecord, StoreError};
use std::path::Path;

/// How the suite makes and reopens stores of one engine.
pub trait Engine {
    type Store: LogStore;
    fn create(&self, dir: &Path) -> Self::Store;
    fn reopen(&self, dir: &Path) -> Self::Store;
}

fn batch_of(entries: Vec<covenant_store::NewEntry>) -> Batch {
    Batch {
        entries,
        ..Batch::default()
    }
}

fn signer() -> LogSigner {
    LogSigner::new("covenant.test/log", [9; 32]).expect("signer")
}

pub fn empty_store_has_empty_head(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    let head = store.head();
    assert_eq!(head.size, 0);
    assert_eq!(head.chain_head, GENESIS_PREVIOUS);
    assert_eq!(head.root, EMPTY_HASH);
    assert_eq!(head.stream_seq, 0);
    assert_eq!(store.entry(0).unwrap(), None);
    assert!(store.entries(0, 10).unwrap().is_empty());
    assert_eq!(store.latest_checkpoint().unwrap(), None);
    assert_eq!(store.load_state().unwrap(), LedgerState::default());
}

pub fn appends_assign_sequence_chain_and_tree(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    let first = store.append(batch_of(entries("a", 3, 100))).unwrap();
    assert_eq!(first.size, 3);
    assert_eq!(first.last_stored_at_ns, 102);
    let second = store.append(batch_of(entries("b", 5, 200))).unwrap();
    assert_eq!(second.size, 8);
    assert_eq!(store.head(), second);
    let all = store.entries(0, 100).unwrap();
    assert_eq!(all.len(), 8, "entries are clamped to the log");
    let fourth = Entry::decode(&all[3]).unwrap();
    assert_eq!(fourth.seq, 3);
    assert_eq!(fourth.stored_at_ns, 200);
    assert_eq!(fourth.envelope, new_entry("b-0", "GB-GOV-1", 200).envelope);
    assert_eq!(store.entry(3).unwrap().as_deref(), Some(all[3].as_slice()));
    assert_eq!(store.entry(8).unwrap(), None);
    assert_eq!(store.entries(2, 4).unwrap(), all[2..4].to_vec());
    assert!(store.entries(6, 2).unwrap().is_empty());
    assert_consistent(&store);
}

pub fn event_index_finds_persisted_events(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    store.append(batch_of(entries("e", 4, 1))).unwrap();
    let expected = new_entry("e-2", "GB-GOV-1", 3);
    let indexed = store.event("e-2").unwrap().expect("indexed");
    assert_eq!(indexed.seq, 2);
    assert_eq!(indexed.digest, expected.digest);
    assert_eq!(indexed.actor, "GB-GOV-1");
    assert_eq!(store.event("e-9").unwrap(), None);
    // As the index stood before an entry: only what came earlier is found.
    assert_eq!(store.event_before("e-2", 3).unwrap(), Some(indexed.clone()));
    assert_eq!(store.event_before("e-2", 2).unwrap(), None);
    assert_eq!(store.event_before("e-2", 0).unwrap(), None);
    assert_eq!(store.event_before("e-9", u64::MAX).unwrap(), None);
}

/// Everything observable, to show that a refused batch changed nothing.
type Snapshot = (String, Vec<Vec<u8>>, String, Vec<RejectionRecord>, Vec<u64>);

fn snapshot(store: &impl LogStore) -> Snapshot {
    (
        format!("{:?}", store.head()),
        store.entries(0, u64::MAX).unwrap(),
        format!("{:?}", store.load_state().unwrap()),
        store.rejections_since(0, usize::MAX).unwrap(),
        store.checkpoint_sizes().unwrap(),
    )
}

fn full_batch(entries: Vec<covenant_store::NewEntry>, stream_seq: u64) -> Batch {
    Batch {
        state_changes: vec![StateChange::Action(
            "action-x".to_owned(),
            "GB-GOV-1".to_owned(),
        )],
        rejections: vec![rejection("r-x", 5, RejectCode::BadSignature)],
        stream_seq: Some(stream_seq),
        seal_key: None,
        entries,
    }
}

pub fn duplicate_event_ids_are_refused_with_nothing_written(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    store.append(batch_of(entries("d", 3, 10))).unwrap();
    let before = snapshot(&store);
    // Already in the log.
    let again = vec![
        new_entry("fresh-1", "GB-GOV-1", 20),
        new_entry("d-1", "GB-GOV-1", 21),
    ];
    match store.append(full_batch(again, 99)) {
        Err(StoreError::DuplicateEvent { event_id, seq }) => {
            assert_eq!(event_id, "d-1");
            assert_eq!(seq, 1);
        }
        other => panic!("expected a duplicate event error, got {other:?}"),
    }
    assert_eq!(snapshot(&store), before);
    // Twice in one batch.
    let twice = vec![
        new_entry("fresh-2", "GB-GOV-1", 20),
        new_entry("fresh-2", "GB-GOV-1", 21),
    ];
    assert!(matches!(
        store.append(full_batch(twice, 99)),
        Err(StoreError::DuplicateInBatch { event_id }) if event_id == "fresh-2"
    ));
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.event("fresh-1").unwrap(), None);
    drop(store);
    let store = engine.reopen(dir.path());
    assert_eq!(snapshot(&store), before);
    // The store still takes good batches afterwards.
    store.append(batch_of(entries("after", 2, 30))).unwrap();
    assert_consistent(&store);
}

/// A lookup that found an id missing must not vouch for it once the id has been appended, even
/// when readers keep asking while the appends run (an engine may remember such answers to spare
/// the append a second lookup).
pub fn lookups_that_found_nothing_never_let_a_duplicate_in(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    let ids: Vec<String> = (0..40).map(|n| format!("looked-up-{n}")).collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for id in &ids {
                    store.event(id).unwrap();
                }
            }
        });
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(store.event(id).unwrap(), None);
            let entry = new_entry(id, "GB-GOV-1", 100 + n as u64);
            store.append(batch_of(vec![entry])).unwrap();
        }
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(
                store.event(id).unwrap().map(|found| found.seq),
                Some(n as u64)
            );
            let again = new_entry(id, "GB-GOV-1", 1_000);
            match store.append(batch_of(vec![again])) {
                Err(StoreError::DuplicateEvent { event_id, seq }) => {
                    assert_eq!((event_id.as_str(), seq), (id.as_str(), n as u64));
                }
                other => panic!("{id}: expected a duplicate event error, got {other:?}"),
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(store.head().size, ids.len() as u64);
    assert_consistent(&store);
}

pub fn malformed_entries_are_refused_with_nothing_written(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    store.append(batch_of(entries("m", 2, 1_000))).unwrap();
    let before = snapshot(&store);
    let mut wrong_digest = new_entry("bad-digest", "GB-GOV-1", 2_000);
    wrong_digest.digest[0] ^= 1;
    let mut wrong_id = new_entry("bad-id", "GB-GOV-1", 2_000);
    wrong_id.event_id = "another-id".to_owned();
    let mut not_an_envelope = new_entry("garbage", "GB-GOV-1", 2_000);
    not_an_envelope.envelope = vec![0xff; 10];
    not_an_envelope.digest = covenant_core::event::envelope_digest(&not_an_envelope.envelope);
    let cases = [
        wrong_digest,
        wrong_id,
        not_an_envelope,
        new_entry("too-early", "GB-GOV-1", 999),
        new_entry_sized(
            "too-big",
            "GB-GOV-1",
            2_000,
            covenant_core::MAX_ENVELOPE_BYTES,
        ),
    ];
    for bad in cases {
        let batch = full_batch(vec![new_entry("good", "GB-GOV-1", 2_000), bad.clone()], 7);
        match store.append(batch) {
            Err(StoreError::InvalidEntry { seq, problem }) => {
                assert_eq!(seq, 3, "{} names the refused entry", bad.event_id);
                assert!(!problem.is_empty());
            }
            other => panic!(
                "{}: expected an invalid entry error, got {other:?}",
                bad.event_id
            ),
        }
        assert_eq!(snapshot(&store), before, "{}", bad.event_id);
    }
}

/// State changes come from accepted events, so a batch that carries changes but no entries is
/// a caller's mistake; it is refused rather than filed where the next batch's would go.
pub fn state_changes_without_entries_are_refused(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    store.append(batch_of(entries("n", 2, 1_000))).unwrap();
    let before = snapshot(&store);
    let orphan_changes = full_batch(Vec::new(), 9);
    match store.append(orphan_changes) {
        Err(StoreError::InvalidEntry { seq, problem }) => {
            assert_eq!(seq, 2);
            assert!(problem.contains("state changes"), "{problem}");
        }
        other => panic!("expected an invalid entry error, got {other:?}"),
    }
    assert_eq!(snapshot(&store), before);
}

pub fn rejection(event_id: &str, stored_at_ns: u64, code: RejectCode) -> RejectionRecord {
    RejectionRecord {
        event_id: event_id.to_owned(),
        stream_seq: stored_at_ns * 10,
        stored_at_ns,
        code,
        message: format!("{event_id} was refused"),
        digest: *blake3::hash(event_id.as_bytes()).as_bytes(),
        envelope: event_id.as_bytes().to_vec(),
    }
}

pub fn rejections_are_found_by_event_and_by_time(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    let first = vec![
        rejection("x", 10, RejectCode::BadSignature),
        rejection("y", 20, RejectCode::UnknownKey),
        rejection("x", 30, RejectCode::Equivocation),
    ];
    let head = store
        .append(Batch {
            rejections: first.clone(),
            stream_seq: Some(3),
            ..Batch::default()
        })
        .unwrap();
    assert_eq!(head.size, 0, "rejections append no entries");
    assert_eq!(head.stream_seq, 3);
    store
        .append(Batch {
            entries: entries("ok", 1, 40),
            rejections: vec![rejection("x", 50, RejectCode::FutureTimestamp)],
            ..Batch::default()
        })
        .unwrap();
    let for_x = store.rejections_for("x").unwrap();
    let codes: Vec<_> = for_x.iter().map(|r| (r.stored_at_ns, r.code)).collect();
    assert_eq!(
        codes,
        [
            (10, RejectCode::BadSignature),
            (30, RejectCode::Equivocation),
            (50, RejectCode::FutureTimestamp)
        ]
    );
    assert_eq!(for_x[0], first[0]);
    assert_eq!(store.rejections_for("y").unwrap(), vec![first[1].clone()]);
    assert!(store.rejections_for("z").unwrap().is_empty());
    // An event id that is a prefix of another does not see the other's rejections.
    store
        .append(Batch {
            rejections: vec![rejection("xx", 60, RejectCode::UnknownKey)],
            ..Batch::default()
        })
        .unwrap();
    assert_eq!(store.rejections_for("x").unwrap().len(), 3);
    let since: Vec<_> = store
        .rejections_since(20, 3)
        .unwrap()
        .into_iter()
        .map(|r| r.stored_at_ns)
        .collect();
    assert_eq!(since, [20, 30, 50]);
    assert_eq!(store.rejections_since(61, 10).unwrap(), vec![]);
}

pub fn door_refusals_are_bounded_and_kept_apart(engine: &impl Engine) {
    use covenant_store::{MAX_DOOR_REFUSALS, MAX_DOOR_REFUSALS_PER_EVENT};
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    let refusal = |event_id: &str, at: u64| RejectionRecord {
        stream_seq: 0,
        ..rejection(event_id, at, RejectCode::UnknownKey)
    };
    assert!(store.remember_door_refusal(refusal("a", 1)).unwrap());
    assert_eq!(store.door_refusals_for("a").unwrap(), vec![refusal("a", 1)]);
    assert!(
        store.rejections_for("a").unwrap().is_empty()
            && store.rejections_since(0, 10).unwrap().is_empty(),
        "door refusals are not the ledger's rejections"
    );
    assert!(store.door_refusals_for("aa").unwrap().is_empty());
    // One event id cannot take more than its share.
    for at in 2..=(MAX_DOOR_REFUSALS_PER_EVENT as u64 + 3) {
        let kept = store.remember_door_refusal(refusal("a", at)).unwrap();
        assert_eq!(kept, at <= MAX_DOOR_REFUSALS_PER_EVENT as u64, "{at}");
    }
    let for_a = store.door_refusals_for("a").unwrap();
    assert_eq!(for_a.len(), MAX_DOOR_REFUSALS_PER_EVENT);
    assert_eq!(for_a[0].stored_at_ns, 1, "oldest first");
    // In all, the oldest are forgotten beyond the bound: 8 + MAX + 1 sent, MAX kept.
    for n in 0..=MAX_DOOR_REFUSALS {
        let id = format!("flood-{n}");
        assert!(store.remember_door_refusal(refusal(&id, 100 + n)).unwrap());
    }
    let kept = |id: &str| store.door_refusals_for(id).unwrap().len();
    assert_eq!(kept("a"), 0, "the oldest went first");
    assert_eq!(kept("flood-0"), 0);
    assert_eq!(kept("flood-1"), 1, "exactly {MAX_DOOR_REFUSALS} are kept");
    let newest = format!("flood-{MAX_DOOR_REFUSALS}");
    assert_eq!(kept(&newest), 1);
    // They reach the disk with the next durable write.
    store.append(batch_of(entries("after", 1, 10))).unwrap();
    drop(store);
    let store = engine.reopen(dir.path());
    assert_eq!(store.door_refusals_for(&newest).unwrap().len(), 1);
}

pub fn state_is_loaded_without_replaying_the_log(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    let actor = |successors: Vec<&str>| ActorRecord {
        kind: 1,
        successors: successors.into_iter().map(str::to_owned).collect(),
    };
    let commitment = |withdrawn| CommitmentRecord {
        owner: "GB-GOV-1".to_owned(),
        withdrawn,
        outcomes: vec![],
    };
    let batches = [
        vec![
            StateChange::Actor("GB-GOV-1".to_owned(), actor(vec![])),
            StateChange::Commitment("c-1".to_owned(), commitment(false)),
        ],
        vec![
            StateChange::Action("a-1".to_owned(), "GB-GOV-1".to_owned()),
            StateChange::Commitment("c-1".to_owned(), commitment(true)),
            StateChange::Actor("GB-GOV-1".to_owned(), actor(vec!["GB-GOV-2"])),
            StateChange::Retracted("e-3".to_owned()),
        ],
    ];
    let mut expected = LedgerState::default();
    for (n, changes) in batches.into_iter().enumerate() {
        expected.apply_all(changes.clone());
        store
            .append(Batch {
                entries: entries(&format!("s{n}"), 1, n as u64),
                state_changes: changes,
                ..Batch::default()
            })
            .unwrap();
        assert_eq!(store.load_state().unwrap(), expected);
    }
    drop(store);
    assert_eq!(engine.reopen(dir.path()).load_state().unwrap(), expected);
}

pub fn checkpoints_are_kept_and_checked(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    let signer = signer();
    let mut tree = MemoryTree::new();
    for (n, batch) in [3usize, 4, 2].into_iter().enumerate() {
        store
            .append(batch_of(entries(&format!("k{n}"), batch, n as u64 * 10)))
            .unwrap();
        for bytes in store.entries(tree.size(), u64::MAX).unwrap() {
            tree.push(&bytes);
        }
        let note = signer.sign(tree.size(), tree.root());
        store.put_checkpoint(tree.size(), &note).unwrap();
    }
    assert_eq!(store.checkpoint_sizes().unwrap(), vec![3, 7, 9]);
    let (latest_size, latest) = store.latest_checkpoint().unwrap().unwrap();
    assert_eq!(latest_size, 9);
    let verified =
        covenant_core::checkpoint::verify_checkpoint(&latest, &signer.verifier_key()).unwrap();
    assert_eq!(verified.root, store.head().root);
    assert!(store.checkpoint(7).unwrap().is_some());
    assert_eq!(store.checkpoint(8).unwrap(), None);
    // Refused: beyond the log, wrong root, size that differs from the note's.
    let beyond = signer.sign(10, tree.root());
    assert!(matches!(
        store.put_checkpoint(10, &beyond),
        Err(StoreError::InvalidCheckpoint { size: 10, .. })
    ));
    let wrong_root = signer.sign(5, tree.root());
    assert!(matches!(
        store.put_checkpoint(5, &wrong_root),
        Err(StoreError::InvalidCheckpoint { size: 5, .. })
    ));
    assert!(matches!(
        store.put_checkpoint(4, &wrong_root),
        Err(StoreError::InvalidCheckpoint { size: 4, .. })
    ));
    assert!(matches!(
        store.put_checkpoint(4, b"not a note"),
        Err(StoreError::InvalidCheckpoint { size: 4, .. })
    ));
    assert_eq!(store.checkpoint_sizes().unwrap(), vec![3, 7, 9]);
    drop(store);
    let store = engine.reopen(dir.path());
    assert_eq!(store.checkpoint_sizes().unwrap(), vec![3, 7, 9]);
}

pub fn proofs_from_stored_hashes_verify(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    let mut roots = vec![EMPTY_HASH];
    for (n, size) in [1usize, 2, 5, 8, 13, 300].into_iter().enumerate() {
        let head = store
            .append(batch_of(entries(&format!("p{n}"), size, n as u64 * 1000)))
            .unwrap();
        roots.resize(head.size as usize, EMPTY_HASH);
        roots.push(head.root);
    }
    let head = store.head();
    let all = store.entries(0, head.size).unwrap();
    for index in [0, 1, 7, 28, 200, head.size - 1] {
        let proof = merkle::prove_inclusion(head.size, index, &store).unwrap();
        let leaf = merkle::leaf_hash(&all[index as usize]);
        merkle::check_inclusion(&proof, head.size, head.root, index, leaf).unwrap();
    }
    for old_size in [1u64, 3, 8, 16, 29] {
        let proof = merkle::prove_consistency(head.size, old_size, &store).unwrap();
        merkle::check_consistency(
            &proof,
            head.size,
            head.root,
            old_size,
            roots[old_size as usize],
        )
        .unwrap();
    }
    // Hashes of a larger tree than the log are not there.
    assert!(merkle::tree_root(head.size + 1, &store).is_err());
}

pub fn everything_survives_reopening(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    store
        .append(Batch {
            entries: entries("r", 20, 5),
            state_changes: vec![StateChange::Action("a".to_owned(), "GB-GOV-1".to_owned())],
            rejections: vec![rejection("bad", 6, RejectCode::UnknownKey)],
            stream_seq: Some(21),
            seal_key: None,
        })
        .unwrap();
    let before = snapshot(&store);
    let head = store.head();
    drop(store);
    let store = engine.reopen(dir.path());
    assert_eq!(store.head(), head);
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.event("r-19").unwrap().map(|e| e.seq), Some(19));
    let next = store.append(batch_of(entries("s", 2, 100))).unwrap();
    assert_eq!(next.size, 22);
    assert_eq!(
        next.stream_seq, 21,
        "stream sequence carries over when a batch names none"
    );
    assert_consistent(&store);
}

pub fn concurrent_readers_see_consistent_heads(engine: &impl Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = engine.create(dir.path());
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut checks = 0;
                    while !done.load(std::sync::atomic::Ordering::SeqCst) || checks == 0 {
                        let head = store.head();
                        let seen = store.entries(0, head.size).unwrap();
                        assert!(seen.len() as u64 >= head.size);
                        let mut tree = MemoryTree::new();
                        seen.iter()
                            .take(head.size as usize)
                            .for_each(|bytes| tree.push(bytes));
                        assert_eq!(tree.root(), head.root, "a head and its entries agree");
                        checks += 1;
                    }
                })
            })
            .collect();
        for n in 0..30 {
            store
                .append(batch_of(entries(&format!("c{n}"), 7, n * 100)))
                .unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        readers
            .into_iter()
            .for_each(|reader| reader.join().unwrap());
    });
    assert_eq!(assert_consistent(&store).size, 210);
}
