//! The sequencer over a real store, without a broker: genesis, ordering, idempotency, the
//! recorded stream position, time, and batch signature verification.

use crate::support::*;
use bytes::Bytes;
use covenant_core::entry::Entry;
use covenant_core::validate::RejectCode;
use covenant_ledger::{Disposition, GenesisConfig, Incoming, LedgerError, Origin, Sequencer};
use covenant_store::{LogReader, SledStore};
use std::sync::Arc;

fn from_stream(envelope: Vec<u8>, seq: u64, stored_at_ns: u64) -> Incoming {
    Incoming {
        envelope: Bytes::from(envelope),
        stored_at_ns,
        origin: Origin::Stream { seq, msg_id: None },
    }
}

fn direct(envelope: Vec<u8>) -> Incoming {
    Incoming {
        envelope: Bytes::from(envelope),
        stored_at_ns: STORED_AT_NS,
        origin: Origin::Direct,
    }
}

fn rejection_code(outcome: &Disposition) -> RejectCode {
    match outcome {
        Disposition::Rejected(record) => record.code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A world with one department (`GB-GOV-DCMS`, key `dcms-1`) already in the log.
fn onboarded(sequencer: &mut Sequencer, world: &mut World) {
    let batch = world
        .onboard("GB-GOV-DCMS", "dcms-1", 2)
        .into_iter()
        .map(direct)
        .collect();
    let report = sequencer.process(batch).unwrap();
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| matches!(o, Disposition::Accepted { .. })),
        "{report:?}"
    );
}

#[test]
fn genesis_is_entry_zero_and_identical_across_replicas() {
    let world = World::new();
    let (first, _dir1) = temp_store();
    let (second, _dir2) = temp_store();
    Sequencer::open(first.clone(), &world.genesis()).unwrap();
    Sequencer::open(second.clone(), &world.genesis()).unwrap();
    let entry = first.entry(0).unwrap().unwrap();
    assert_eq!(Some(entry.clone()), second.entry(0).unwrap());
    let decoded = Entry::decode(&entry).unwrap();
    assert_eq!(decoded.stored_at_ns, 0);
    assert_eq!(decoded.envelope, world.genesis().envelope_bytes());
    assert_eq!(first.head().root, second.head().root);
}

#[test]
fn restart_with_another_genesis_is_refused_and_writes_nothing() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    {
        let store = Arc::new(SledStore::create_or_open(&path).unwrap());
        Sequencer::open(store, &world.genesis()).unwrap();
    }
    let store = Arc::new(SledStore::open(&path).unwrap());
    let moved = GenesisConfig {
        origin: "elsewhere.example/log".into(),
        ..world.genesis()
    };
    let error = Sequencer::open(store.clone(), &moved)
        .err()
        .expect("refused");
    assert!(matches!(error, LedgerError::GenesisMismatch(_)), "{error}");
    assert!(
        error
            .to_string()
            .contains("origin: stored \"test.covenant.example/log\""),
        "{error}"
    );
    assert_eq!(store.head().size, 1);
    Sequencer::open(store, &world.genesis()).expect("the original genesis still opens");
}

#[test]
fn accepted_events_are_numbered_in_order_and_survive_a_restart() {
    let mut world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let commitment;
    {
        let store = Arc::new(SledStore::create_or_open(&path).unwrap());
        let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
        onboarded(&mut sequencer, &mut world);
        commitment = world.commitment("GB-GOV-DCMS", "dcms-1", "c-1");
        let report = sequencer.process(vec![direct(commitment.clone())]).unwrap();
        assert_eq!(report.outcomes, vec![Disposition::Accepted { seq: 3 }]);
        assert_eq!(report.head.size, 4);
    }
    let store = Arc::new(SledStore::open(&path).unwrap());
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    assert_eq!(sequencer.head().size, 4);
    // The state came back with the store: the commitment exists, the key is known.
    let action = world.emit("GB-GOV-DCMS", "dcms-1", action("a-1", &["c-1"]));
    let report = sequencer
        .process(vec![direct(action), direct(commitment)])
        .unwrap();
    assert_eq!(
        report.outcomes,
        vec![
            Disposition::Accepted { seq: 4 },
            Disposition::Duplicate { seq: 3 }
        ]
    );
    let envelopes = verify_log(&*store);
    assert_eq!(envelopes.len(), 5);
}

/// Snapshots are written as the log grows, and a restart from one knows every earlier event
/// (a duplicate is still a duplicate) and the state (a commitment made before it still exists).
#[test]
fn snapshots_follow_the_log_and_a_restart_from_one_loses_nothing() {
    let mut world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut commitments = Vec::new();
    {
        let store = Arc::new(SledStore::create_or_open(&path).unwrap());
        let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
        sequencer.snapshot_every(4);
        onboarded(&mut sequencer, &mut world);
        assert_eq!(store.snapshot_size(), 0, "3 entries: none due yet");
        for n in 0..6 {
            let commitment = world.commitment("GB-GOV-DCMS", "dcms-1", &format!("c-{n}"));
            sequencer.process(vec![direct(commitment.clone())]).unwrap();
            // Snapshots are written on their own thread; wait, so that the next is due.
            sequencer.finish_snapshots();
            commitments.push(commitment);
        }
        // Entries 0..9: snapshots at 4 and 8.
        assert_eq!(store.snapshot_size(), 8);
    }
    let store = Arc::new(SledStore::open(&path).unwrap());
    assert_eq!(store.recovery().snapshot_size, Some(8));
    assert_eq!(store.recovery().replayed_entries, 1);
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    let action = world.emit("GB-GOV-DCMS", "dcms-1", action("a-1", &["c-0", "c-5"]));
    let report = sequencer
        .process(vec![
            direct(commitments[1].clone()),
            direct(commitments[5].clone()),
            direct(action),
        ])
        .unwrap();
    assert_eq!(
        report.outcomes,
        vec![
            Disposition::Duplicate { seq: 4 },
            Disposition::Duplicate { seq: 8 },
            Disposition::Accepted { seq: 9 }
        ]
    );
}

#[test]
fn duplicates_inside_one_batch_are_appended_once() {
    let mut world = World::new();
    let (store, _dir) = temp_store();
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    onboarded(&mut sequencer, &mut world);
    let commitment = world.commitment("GB-GOV-DCMS", "dcms-1", "c-1");
    let report = sequencer
        .process(vec![direct(commitment.clone()), direct(commitment)])
        .unwrap();
    assert_eq!(
        report.outcomes,
        vec![
            Disposition::Accepted { seq: 3 },
            Disposition::Duplicate { seq: 3 }
        ]
    );
    assert_eq!(store.head().size, 4);
}

#[test]
fn equivocation_keeps_the_first_in_the_log_and_the_second_as_evidence() {
    let mut world = World::new();
    let (store, _dir) = temp_store();
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    onboarded(&mut sequencer, &mut world);
    let id = world.fresh_id();
    let first = world.emit_with_id(&id, "GB-GOV-DCMS", "dcms-1", commitment("c-1"));
    let second = world.emit_with_id(&id, "GB-GOV-DCMS", "dcms-1", commitment("c-2"));
    let report = sequencer
        .process(vec![direct(first.clone()), direct(second.clone())])
        .unwrap();
    assert_eq!(report.outcomes[0], Disposition::Accepted { seq: 3 });
    assert_eq!(
        rejection_code(&report.outcomes[1]),
        RejectCode::Equivocation
    );
    let evidence = store.rejections_for(&id).unwrap();
    assert_eq!(evidence.len(), 1);
    assert_eq!(evidence[0].envelope, second);
    assert_eq!(
        covenant_core::entry::envelope_of(&store.entry(3).unwrap().unwrap()),
        first
    );
}

#[test]
fn the_stream_position_is_recorded_and_redelivered_messages_are_skipped() {
    let mut world = World::new();
    let (store, _dir) = temp_store();
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    let mut batch = vec![];
    for (position, envelope) in world
        .onboard("GB-GOV-DCMS", "dcms-1", 2)
        .into_iter()
        .enumerate()
    {
        batch.push(from_stream(envelope, position as u64 + 1, STORED_AT_NS));
    }
    let report = sequencer.process(batch.clone()).unwrap();
    assert_eq!(report.head.stream_seq, 2);
    assert_eq!(store.head().stream_seq, 2);
    // After a crash between append and acknowledgement the broker delivers them again.
    let commitment = world.commitment("GB-GOV-DCMS", "dcms-1", "c-1");
    batch.push(from_stream(commitment, 3, STORED_AT_NS));
    let report = sequencer.process(batch).unwrap();
    assert_eq!(
        report.outcomes,
        vec![
            Disposition::AlreadyConsumed,
            Disposition::AlreadyConsumed,
            Disposition::Accepted { seq: 3 }
        ]
    );
    assert_eq!(store.head().stream_seq, 3);
    assert_eq!(store.head().size, 4);
}

#[test]
fn a_batch_of_only_rejections_still_records_its_position_and_the_rejections() {
    let world = World::new();
    let (store, _dir) = temp_store();
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    let garbage = Incoming {
        envelope: Bytes::from_static(&[0xff, 0xff, 0xff]),
        stored_at_ns: STORED_AT_NS,
        origin: Origin::Stream {
            seq: 1,
            msg_id: Some("client-id-1".into()),
        },
    };
    let report = sequencer.process(vec![garbage]).unwrap();
    assert_eq!(rejection_code(&report.outcomes[0]), RejectCode::Undecodable);
    assert_eq!(store.head().stream_seq, 1);
    let records = store.rejections_for("client-id-1").unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].stream_seq, 1);
}

#[test]
fn entry_times_never_go_backwards() {
    let mut world = World::new();
    let (store, _dir) = temp_store();
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    let envelopes = world.onboard("GB-GOV-DCMS", "dcms-1", 2);
    // A new cluster leader whose clock lags: the second message is stamped earlier.
    let batch = vec![
        from_stream(envelopes[0].clone(), 1, STORED_AT_NS),
        from_stream(envelopes[1].clone(), 2, STORED_AT_NS - 5_000),
    ];
    sequencer.process(batch).unwrap();
    let times: Vec<u64> = all_entries(&*store)
        .iter()
        .map(|entry| Entry::decode(entry).unwrap().stored_at_ns)
        .collect();
    assert_eq!(times, vec![0, STORED_AT_NS, STORED_AT_NS]);
    verify_log(&*store);
}

#[test]
fn a_bad_signature_in_a_batch_rejects_only_that_event() {
    let mut world = World::new();
    let (store, _dir) = temp_store();
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    onboarded(&mut sequencer, &mut world);
    let mut batch: Vec<Incoming> = (0..200)
        .map(|i| direct(world.commitment("GB-GOV-DCMS", "dcms-1", &format!("c-{i}"))))
        .collect();
    let mut tampered = batch[117].envelope.to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1; // the signature is the last field
    batch[117].envelope = Bytes::from(tampered);
    let report = sequencer.process(batch).unwrap();
    for (position, outcome) in report.outcomes.iter().enumerate() {
        if position == 117 {
            assert_eq!(rejection_code(outcome), RejectCode::BadSignature);
        } else {
            assert!(
                matches!(outcome, Disposition::Accepted { .. }),
                "{position}: {outcome:?}"
            );
        }
    }
    assert_eq!(store.head().size, 3 + 199);
}

#[test]
fn keys_granted_or_revoked_earlier_in_the_same_batch_are_honoured() {
    let mut world = World::new();
    let (store, _dir) = temp_store();
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    onboarded(&mut sequencer, &mut world);
    let grant = world.grant("dcms-2", "GB-GOV-DCMS", 3);
    let with_new_key = world.commitment("GB-GOV-DCMS", "dcms-2", "c-new");
    let revoke = world.revoke("dcms-1");
    let with_old_key = world.commitment("GB-GOV-DCMS", "dcms-1", "c-old");
    let report = sequencer
        .process(vec![
            direct(grant),
            direct(with_new_key),
            direct(revoke),
            direct(with_old_key),
        ])
        .unwrap();
    assert!(
        matches!(report.outcomes[1], Disposition::Accepted { .. }),
        "{report:?}"
    );
    assert_eq!(rejection_code(&report.outcomes[3]), RejectCode::RevokedKey);
    // The next batch verifies with the directory the commit updated.
    let next = world.commitment("GB-GOV-DCMS", "dcms-2", "c-next");
    let report = sequencer.process(vec![direct(next)]).unwrap();
    assert!(matches!(report.outcomes[0], Disposition::Accepted { .. }));
}

/// A stream message migrated from an embedded log keeps its original time only when the log
/// key signed that time for exactly the entry it becomes; an emitter's own claim (signed with
/// another key), a claim for another position, or one the sequencer cannot check does not.
#[test]
fn migrated_entries_keep_their_time_only_with_the_log_keys_claim() {
    use covenant_ledger::migration::{MigratedEntry, MigrationKey};
    let mut world = World::new();
    let (store, _dir) = temp_store();
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    let signer = world.log_signer();
    let log_seed = [9; 32];
    let origin = world.genesis().origin;
    let original_time = STORED_AT_NS;
    let broker_time = STORED_AT_NS + 3_600_000_000_000;
    let migrated = |envelope: Vec<u8>, stream_seq: u64, claim: MigratedEntry| Incoming {
        envelope: Bytes::from(envelope),
        stored_at_ns: broker_time + stream_seq,
        origin: Origin::Migrated {
            seq: stream_seq,
            msg_id: None,
            claim,
        },
    };
    let onboarding = world.onboard("GB-GOV-DCMS", "dcms-1", 2);

    // Without the log key the claim cannot be checked: nothing is appended.
    let claim = MigratedEntry::sign(log_seed, &origin, 1, original_time, &onboarding[0]);
    let error = sequencer
        .process(vec![migrated(onboarding[0].clone(), 1, claim.clone())])
        .unwrap_err();
    assert!(
        matches!(error, LedgerError::MigrationUnverifiable { stream_seq: 1 }),
        "{error}"
    );
    assert_eq!(store.head().size, 1);

    sequencer.trust_migrations_by(MigrationKey {
        origin: origin.clone(),
        public_key: signer.public_key(),
    });
    let stranger_claim =
        MigratedEntry::sign([3; 32], &origin, 2, original_time + 1, &onboarding[1]);
    let commitment = world.commitment("GB-GOV-DCMS", "dcms-1", "c-1");
    let wrong_position = MigratedEntry::sign(log_seed, &origin, 7, original_time + 2, &commitment);
    let report = sequencer
        .process(vec![
            migrated(onboarding[0].clone(), 1, claim),
            migrated(onboarding[1].clone(), 2, stranger_claim),
            migrated(commitment, 3, wrong_position),
        ])
        .unwrap();
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| matches!(o, Disposition::Accepted { .. })),
        "{report:?}"
    );
    let times: Vec<u64> = (1..4)
        .map(|seq| {
            Entry::decode(&store.entry(seq).unwrap().unwrap())
                .unwrap()
                .stored_at_ns
        })
        .collect();
    assert_eq!(
        times,
        [original_time, broker_time + 2, broker_time + 3],
        "only the log key's claim for that very entry sets its time"
    );
}

#[test]
fn a_sequencer_told_never_to_snapshot_writes_none() {
    let mut world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::create_or_open(dir.path().join("log")).unwrap());
    let mut sequencer = Sequencer::open(store.clone(), &world.genesis()).unwrap();
    sequencer.snapshot_every(0);
    onboarded(&mut sequencer, &mut world);
    for n in 0..3 {
        let commitment = world.commitment("GB-GOV-DCMS", "dcms-1", &format!("c-{n}"));
        sequencer.process(vec![direct(commitment)]).unwrap();
        sequencer.finish_snapshots();
    }
    assert_eq!(store.snapshot_size(), 0);
    assert!(!dir.path().join("log").join("SNAPSHOT").exists());
}

#[test]
fn snapshots_come_a_quarter_of_the_log_apart_within_their_bounds() {
    use covenant_ledger::sequencer::{
        SNAPSHOT_EVERY_ENTRIES as MOST, SNAPSHOT_MIN_ENTRIES as FEWEST, snapshot_interval,
    };
    assert_eq!(snapshot_interval(0, MOST), FEWEST);
    assert_eq!(snapshot_interval(4 * FEWEST + 3, MOST), FEWEST);
    assert_eq!(snapshot_interval(4 * FEWEST + 4, MOST), FEWEST + 1);
    assert_eq!(snapshot_interval(1_600_000, MOST), 400_000);
    assert_eq!(snapshot_interval(4 * MOST - 4, MOST), MOST - 1);
    assert_eq!(snapshot_interval(4 * MOST, MOST), MOST);
    assert_eq!(snapshot_interval(10 * MOST, MOST), MOST);
    // A bound set below the fewest (as the tests here do) is the interval.
    assert_eq!(snapshot_interval(0, 4), 4);
    assert_eq!(snapshot_interval(1_000, 4), 4);
    assert_eq!(snapshot_interval(1_000, 0), 0);
}
