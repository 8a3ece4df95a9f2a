//! A log written by release 0.1 still verifies, re-validates and projects.
//!
//! `tests/data/compat-0.1/` holds the demo data set as release 0.1 wrote it (308 entries: every
//! entry's bytes, length-prefixed with a u32 big-endian, then the signed checkpoint over all of
//! them and the log's verifier key). It is never regenerated: it stands for logs already out
//! there. Every rule added since must still accept every one of its events, the chain and the
//! Merkle root must come out byte for byte, and the projections must read it.

use covenant_core::checkpoint::verify_checkpoint;
use covenant_core::entry::{ENTRY_HEADER_BYTES, EntryHeader};
use covenant_query::{AsOf, CommitmentFilter, Projections, Status};
use covenant_store::{LogReader, LogStore, SledStore};
use covenant_testkit::log::LogWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/compat-0.1")
        .join(name)
}

fn entries() -> Vec<Vec<u8>> {
    let bytes = std::fs::read(fixture("entries.bin")).unwrap();
    let mut rest = bytes.as_slice();
    let mut entries = vec![];
    while !rest.is_empty() {
        let (len, tail) = rest.split_at(4);
        let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
        let (entry, tail) = tail.split_at(len);
        entries.push(entry.to_vec());
        rest = tail;
    }
    entries
}

/// Re-derive the log from the old entries' envelopes and storage times with today's rules.
fn rederive(entries: &[Vec<u8>], store: &SledStore) {
    let mut log = LogWriter::for_replay(store).unwrap();
    for (seq, entry) in entries.iter().enumerate() {
        let seq = seq as u64;
        let header = EntryHeader::parse(entry).unwrap();
        assert_eq!(header.seq, seq);
        let envelope = &entry[ENTRY_HEADER_BYTES..];
        let written = log
            .replay(envelope, header.stored_at_ns)
            .unwrap_or_else(|error| panic!("entry {seq} is no longer accepted: {error}"));
        assert_eq!(written, seq);
    }
    log.flush().unwrap();
}

#[test]
fn a_log_written_by_release_0_1_verifies_and_projects() {
    let entries = entries();
    assert_eq!(entries.len(), 308);
    let note = std::fs::read(fixture("checkpoint")).unwrap();
    let verifier_key = std::fs::read_to_string(fixture("verifier-key")).unwrap();
    let checkpoint = verify_checkpoint(&note, verifier_key.trim()).unwrap();
    assert_eq!(checkpoint.size, 308);

    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    {
        let store = SledStore::create_or_open(&store_dir).unwrap();
        rederive(&entries, &store);
        let head = store.head();
        assert_eq!(
            head.root, checkpoint.root,
            "the Merkle root came out differently"
        );
        assert_eq!(
            store.entries(0, head.size).unwrap(),
            entries,
            "entry bytes differ"
        );
        store.put_checkpoint(head.size, &note).unwrap();

        let projections = Projections::open(dir.path().join("query")).unwrap();
        projections.catch_up(&store).unwrap();
        let today = covenant_core::event::Date::parse("2026-12-01").unwrap();
        let point = projections.resolve(AsOf::LATEST, today).unwrap();
        let page = projections
            .commitments(&point, &CommitmentFilter::default(), None, 500)
            .unwrap();
        assert!(page.items.len() > 40, "{} commitments", page.items.len());
        let count = |status: Status| page.items.iter().filter(|i| i.status == status).count();
        for status in [
            Status::Delivered,
            Status::PartlyDelivered,
            Status::Withdrawn,
            Status::Overdue,
        ] {
            assert!(count(status) > 0, "no {status} commitment in the old log");
        }
        assert!(page.items.iter().any(|item| item.flags.goalposts_moved));
        assert!(page.items.iter().any(|item| item.flags.disputed));
    }
    std::fs::write(dir.path().join("log.vkey"), &verifier_key).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .args(["audit", "verify", "--store"])
        .arg(&store_dir)
        .arg("--key")
        .arg(dir.path().join("log.vkey"))
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "audit verify --store failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
