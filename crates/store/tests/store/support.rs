//! Builders shared by the store's integration tests.

use covenant_core::entry::ChainVerifier;
use covenant_core::merkle::MemoryTree;
use covenant_core::proto;
use covenant_store::{Head, LogStore, NewEntry};
use prost::Message;
use std::path::Path;

/// An envelope as the ledger would store it, with a body padded to about `body_len` bytes.
pub fn envelope(event_id: &str, actor: &str, body_len: usize) -> Vec<u8> {
    proto::Envelope {
        event_id: event_id.to_owned(),
        actor: actor.to_owned(),
        occurred_at_ms: 1_764_000_000_000,
        key_id: "key-1".to_owned(),
        body: (0..body_len)
            .map(|i| (i * 7 + event_id.len()) as u8)
            .collect(),
        signature: vec![0x5a; 64],
    }
    .encode_to_vec()
}

pub fn new_entry(event_id: &str, actor: &str, stored_at_ns: u64) -> NewEntry {
    new_entry_sized(event_id, actor, stored_at_ns, 64)
}

pub fn new_entry_sized(
    event_id: &str,
    actor: &str,
    stored_at_ns: u64,
    body_len: usize,
) -> NewEntry {
    let envelope = envelope(event_id, actor, body_len);
    NewEntry {
        stored_at_ns,
        digest: covenant_core::event::envelope_digest(&envelope),
        envelope,
        event_id: event_id.to_owned(),
        actor: actor.to_owned(),
    }
}

/// `count` entries with ids `<prefix>-<n>` stored at increasing times from `first_ns`.
pub fn entries(prefix: &str, count: usize, first_ns: u64) -> Vec<NewEntry> {
    (0..count)
        .map(|n| new_entry(&format!("{prefix}-{n}"), "GB-GOV-1", first_ns + n as u64))
        .collect()
}

/// Re-derive the head of a store from its entries alone and compare.
pub fn assert_consistent(store: &impl LogStore) -> Head {
    let head = store.head();
    let entries = store.entries(0, head.size).expect("read entries");
    assert_eq!(entries.len() as u64, head.size);
    let mut chain = ChainVerifier::new();
    let mut tree = MemoryTree::new();
    for bytes in &entries {
        chain.push(bytes).expect("chain links");
        tree.push(bytes);
    }
    assert_eq!(chain.head(), head.chain_head, "chain head");
    assert_eq!(tree.root(), head.root, "root");
    if head.size > 0 {
        assert_eq!(
            covenant_core::merkle::tree_root(head.size, store).expect("root from stored hashes"),
            head.root
        );
    }
    head
}

/// Copy a store directory, files and all.
pub fn copy_dir(from: &Path, to: &Path) {
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
