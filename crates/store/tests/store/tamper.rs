//! Tamper detection: flip single bytes at random places in a copy of a store and require
//! the deep check to report every flip that changes anything.
//!
//! What "reported" means here. The engine (sled) checksums every message it writes to its
//! log (CRC32) and checks the checksum whenever it reads one back, so a flip inside live data
//! surfaces as an engine corruption error when the check reads that record; the check then
//! re-derives everything the checksums cannot vouch for (chain links, stored hashes, the
//! event index, checkpoints, the head) from the entries. But most of an engine file is not
//! live data: free space at the end of segments, and old versions of pages that the log
//! cleaner has not reclaimed yet. A flip there changes nothing the store holds, and no
//! reader, ours or anyone's, will ever see it. One more case needs the store's help: a flip in
//! the part of the engine's log written since its last snapshot looks to the engine's recovery
//! exactly like a write torn by a crash, and it silently recovers the log up to that point. The
//! store was closed cleanly here, so the head and newest checkpoint it recorded at close (the
//! `CLOSED` file) no longer match and opening reports it; most flips in this small store land
//! there. So each flip must be either
//! - reported: opening fails or the check fails, with an error that says what is wrong; or
//! - provably harmless: the check passes and reports the same head and the same digest over
//!   every key and value of every tree as the untouched store.
//!
//! A flip that passes the check with a different log is a miss and fails the test; so does a
//! panic that escapes, or a check that does not finish.

use super::crash::Rng;
use super::support::{copy_dir, new_entry_sized};
use covenant_core::checkpoint::LogSigner;
use covenant_core::validate::{RejectCode, StateChange};
use covenant_store::check::{CheckOptions, CheckReport, verify_store};
use covenant_store::{Batch, LogStore, RejectionRecord, SledStore, StoreError};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

const FLIPS: usize = 160;
/// Generous: a check of this small store takes milliseconds.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

fn build_store(dir: &Path, signer: &LogSigner) {
    let store = SledStore::create_or_open(dir).unwrap();
    let mut stored_at = 1_000;
    for batch in 0..6u64 {
        let count = [1, 17, 40, 3, 64, 9][batch as usize];
        let entries = (0..count)
            .map(|n| {
                stored_at += 1;
                new_entry_sized(&format!("t{batch}-{n}"), "GB-GOV-7", stored_at, 120 + n * 3)
            })
            .collect();
        let head = store
            .append(Batch {
                entries,
                state_changes: vec![StateChange::Action(
                    format!("action-{batch}"),
                    "GB-GOV-7".to_owned(),
                )],
                rejections: vec![RejectionRecord {
                    event_id: format!("rejected-{batch}"),
                    stream_seq: batch,
                    stored_at_ns: stored_at,
                    code: RejectCode::BadSignature,
                    message: "signature does not verify".to_owned(),
                    digest: [batch as u8; 32],
                    envelope: vec![batch as u8; 50],
                }],
                stream_seq: Some(batch * 100),
                // Sealed, so that the seals are among the records damaged.
                seal_key: Some([7; 32]),
            })
            .unwrap();
        if batch % 2 == 1 {
            store
                .put_checkpoint(head.size, &signer.sign(head.size, head.root))
                .unwrap();
        }
    }
}

fn engine_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.join("sled")];
    while let Some(next) = pending.pop() {
        for item in std::fs::read_dir(&next).unwrap() {
            let path = item.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if std::fs::metadata(&path).unwrap().len() > 0 {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Run the check in its own thread so a hang is a failure, not a stuck test run.
fn check_with_timeout(dir: PathBuf, options: CheckOptions) -> Result<CheckReport, StoreError> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| verify_store(&dir, &options, &mut |_| {}));
        let _ = send.send(outcome);
    });
    match receive.recv_timeout(CHECK_TIMEOUT) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => panic!("the check panicked instead of reporting"),
        Err(_) => panic!("the check did not finish within {CHECK_TIMEOUT:?}"),
    }
}

#[test]
fn every_flipped_byte_is_reported_or_harmless() {
    let mut rng = Rng::from_env_or_clock("tamper::every_flipped_byte_is_reported_or_harmless");
    let scratch = tempfile::tempdir().unwrap();
    let original = scratch.path().join("original");
    let signer = LogSigner::new("covenant.test/log", [4; 32]).unwrap();
    build_store(&original, &signer);
    let options = CheckOptions {
        verifier_key: Some(signer.verifier_key()),
        ..CheckOptions::default()
    };
    // The check itself must not change the store: checking twice gives the same answer.
    let pristine = copy_of(&original, &scratch.path().join("pristine"));
    let expected = check_with_timeout(pristine.clone(), options.clone()).expect("untouched store");
    assert_eq!(
        check_with_timeout(pristine, options.clone()).expect("untouched store, again"),
        expected
    );
    assert_eq!(expected.signatures_checked, 3);
    let files = engine_files(&original);
    let (mut reported, mut harmless) = (0, 0);
    for flip in 0..FLIPS {
        let copy = copy_of(&original, &scratch.path().join(format!("flip-{flip}")));
        let relative = files[rng.between(0, files.len() as u64) as usize]
            .strip_prefix(&original)
            .unwrap()
            .to_owned();
        let victim = copy.join(&relative);
        let mut bytes = std::fs::read(&victim).unwrap();
        let offset = rng.between(0, bytes.len() as u64) as usize;
        let mask = rng.between(1, 256) as u8;
        bytes[offset] ^= mask;
        std::fs::write(&victim, &bytes).unwrap();
        let place = format!("{} byte {offset} ^ {mask:#04x}", relative.display());
        match check_with_timeout(copy.clone(), options.clone()) {
            Err(error) => {
                let message = error.to_string();
                assert!(
                    !message.is_empty(),
                    "{place}: an error must say what is wrong"
                );
                reported += 1;
            }
            Ok(report) => {
                assert_eq!(
                    report, expected,
                    "{place}: the check passed a changed store"
                );
                harmless += 1;
            }
        }
        std::fs::remove_dir_all(&copy).unwrap();
    }
    eprintln!("{FLIPS} flips: {reported} reported, {harmless} in unused space");
    assert!(
        reported > 0,
        "no flip was reported: the check cannot be reading the data"
    );
}

fn copy_of(original: &Path, to: &Path) -> PathBuf {
    copy_dir(original, to);
    to.to_owned()
}

#[test]
fn a_flipped_entry_names_its_sequence_number() {
    // Damage one entry's envelope through the engine (so its checksums are right) and the
    // check must name exactly that entry.
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    let signer = LogSigner::new("covenant.test/log", [4; 32]).unwrap();
    build_store(&dir, &signer);
    let before = verify_store(&dir, &CheckOptions::default(), &mut |_| {}).unwrap();
    let victim = 30u64;
    {
        let db =
            covenant_store::open_sled(&covenant_store::sled_config(&dir.join("sled"))).unwrap();
        let entries = db.open_tree("entries").unwrap();
        let (key, record) = entries
            .range(..=victim.to_be_bytes())
            .next_back()
            .unwrap()
            .unwrap();
        let first = u64::from_be_bytes(key.as_ref().try_into().unwrap());
        // Records are zstd frames (store format v4): damage the entry, not the frame.
        let record = zstd::decode_all(record.as_ref()).unwrap();
        // Walk the record to the victim's envelope: stored_at (8), previous (32), length (4).
        let mut at = 0;
        for _ in first..victim {
            let len = u32::from_be_bytes(record[at + 40..at + 44].try_into().unwrap()) as usize;
            at += 44 + len;
        }
        let mut damaged = record.to_vec();
        damaged[at + 44 + 20] ^= 0x01;
        entries
            .insert(key, zstd::bulk::compress(&damaged, 1).unwrap())
            .unwrap();
        db.flush().unwrap();
    }
    let mut progress = Vec::new();
    let error = verify_store(&dir, &CheckOptions::default(), &mut |p| progress.push(p))
        .expect_err("a damaged entry must be reported");
    match error {
        StoreError::Corrupt { seq, ref problem } => {
            assert_eq!(seq, victim, "{error}");
            assert!(!problem.is_empty());
        }
        other => panic!("expected the damaged entry to be named, got {other}"),
    }
    assert!(!progress.is_empty(), "progress is reported");
    assert!(before.head.size > victim);
}

#[test]
fn a_checkpoint_signed_by_another_key_is_reported() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("store");
    let signer = LogSigner::new("covenant.test/log", [4; 32]).unwrap();
    build_store(&dir, &signer);
    let stranger = LogSigner::new("covenant.test/log", [5; 32]).unwrap();
    let report = verify_store(
        &dir,
        &CheckOptions {
            verifier_key: Some(signer.verifier_key()),
            ..CheckOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.signatures_checked, report.checkpoints);
    let error = verify_store(
        &dir,
        &CheckOptions {
            verifier_key: Some(stranger.verifier_key()),
            ..CheckOptions::default()
        },
        &mut |_| {},
    )
    .expect_err("checkpoints do not verify under another key");
    assert!(
        matches!(error, StoreError::InvalidCheckpoint { size: 18, .. }),
        "the first checkpoint is named: {error}"
    );
}

#[test]
fn an_open_refuses_a_store_whose_newest_records_disagree_with_its_head() {
    // The cheap check on open, not the deep check: the store does not open at all.
    let scratch = tempfile::tempdir().unwrap();
    let original = scratch.path().join("store");
    let signer = LogSigner::new("covenant.test/log", [4; 32]).unwrap();
    build_store(&original, &signer);
    let size = covenant_store::LogReader::head(&SledStore::open(&original).unwrap()).size;

    let missing = copy_of(&original, &scratch.path().join("missing"));
    {
        let db =
            covenant_store::open_sled(&covenant_store::sled_config(&missing.join("sled"))).unwrap();
        let entries = db.open_tree("entries").unwrap();
        let (last, _) = entries.last().unwrap().unwrap();
        entries.remove(last).unwrap();
        db.flush().unwrap();
    }
    match SledStore::open(&missing) {
        Err(StoreError::CorruptMetadata(problem)) => {
            assert!(
                problem.contains(&format!("the head says {size} entries")),
                "{problem}"
            );
        }
        other => panic!("a store missing its newest record opened: {other:?}"),
    }

    let damaged = copy_of(&original, &scratch.path().join("damaged"));
    let newest = size - 1;
    {
        let db =
            covenant_store::open_sled(&covenant_store::sled_config(&damaged.join("sled"))).unwrap();
        let entries = db.open_tree("entries").unwrap();
        let (key, record) = entries.last().unwrap().unwrap();
        let mut plain = zstd::decode_all(record.as_ref()).unwrap();
        let at = plain.len() - 1;
        plain[at] ^= 0x01;
        entries
            .insert(key, zstd::bulk::compress(&plain, 1).unwrap())
            .unwrap();
        db.flush().unwrap();
    }
    match SledStore::open(&damaged) {
        Err(StoreError::Corrupt { seq, .. }) => assert_eq!(seq, newest),
        other => panic!("a store whose newest entry changed opened: {other:?}"),
    }
}
