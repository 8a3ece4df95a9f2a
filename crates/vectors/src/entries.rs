//! `entries.json`: entry bytes with their fields, chain hash and leaf hash; malformed entries;
//! and chains, valid or broken at a known entry (SPEC sections 3 to 5).

use crate::{Failures, case_name, envelopes, hex_list, json_u64, read_hex};
use covenant_core::entry::{ChainVerifier, Entry, chain_hash};
use covenant_core::merkle::leaf_hash;
use serde_json::{Value, json};

fn valid_case(name: &str, why: &str, entry: &[u8]) -> Value {
    let decoded = Entry::decode(entry).expect("a valid entry");
    json!({
        "name": name,
        "why": why,
        "entry": hex::encode(entry),
        "expect": "valid",
        "seq": json_u64(decoded.seq),
        "stored_at_ns": json_u64(decoded.stored_at_ns),
        "previous": hex::encode(decoded.previous),
        "envelope": hex::encode(&decoded.envelope),
        "chain_hash": hex::encode(chain_hash(entry)),
        "leaf_hash": hex::encode(leaf_hash(entry).0),
    })
}

fn invalid_case(name: &str, why: &str, entry: Vec<u8>) -> Value {
    assert!(Entry::decode(&entry).is_err(), "{name} decodes");
    json!({ "name": name, "why": why, "entry": hex::encode(entry), "expect": "invalid" })
}

/// The number of the first entry that breaks a chain rule, if any.
fn first_bad(entries: &[Vec<u8>]) -> Option<usize> {
    let mut chain = ChainVerifier::new();
    entries.iter().position(|entry| chain.push(entry).is_err())
}

fn chain_case(name: &str, why: &str, entries: &[Vec<u8>], expected: Option<usize>) -> Value {
    assert_eq!(first_bad(entries), expected, "{name}");
    json!({ "name": name, "why": why, "entries": hex_list(entries), "first_bad": expected })
}

/// An entry rewritten with `edit` applied to its decoded fields.
fn edited(entry: &[u8], edit: impl FnOnce(&mut Entry)) -> Vec<u8> {
    let mut decoded = Entry::decode(entry).expect("a valid entry");
    edit(&mut decoded);
    decoded.encode()
}

/// Build `entries.json`.
pub fn generate() -> Value {
    let log = envelopes::base_entries();
    let chain: Vec<Vec<u8>> = log[..6].to_vec();
    let mut cases = vec![
        valid_case(
            "genesis-entry",
            "Entry 0: previous is 32 zero bytes, stored_at_ns is 0.",
            &log[0],
        ),
        valid_case(
            "registry-entry",
            "Entry 1, a registrar's actor registration.",
            &log[1],
        ),
        valid_case(
            "commitment-entry",
            "A commitment with indicators and a delivery partner.",
            &log[11],
        ),
    ];
    let entry = &log[1];
    let mut wrong_version = entry.clone();
    wrong_version[0] = 2;
    let mut long_length = entry.clone();
    let declared = u32::from_be_bytes(long_length[49..53].try_into().expect("4 bytes")) + 1;
    long_length[49..53].copy_from_slice(&declared.to_be_bytes());
    let mut short_length = entry.clone();
    short_length[49..53].copy_from_slice(&(declared - 2).to_be_bytes());
    let oversized = Entry {
        seq: 1,
        stored_at_ns: 0,
        previous: [0; 32],
        envelope: vec![0x0a; 65_001],
    }
    .encode();
    cases.extend([
        invalid_case(
            "version-2",
            "The first byte is the version, 1.",
            wrong_version,
        ),
        invalid_case(
            "length-too-long",
            "The declared envelope length is one more than the bytes that follow.",
            long_length,
        ),
        invalid_case(
            "length-too-short",
            "The declared envelope length is one less than the bytes that follow.",
            short_length,
        ),
        invalid_case(
            "truncated-header",
            "Fewer than 53 bytes.",
            entry[..52].to_vec(),
        ),
        invalid_case(
            "envelope-over-limit",
            "An envelope of 65 001 bytes.",
            oversized,
        ),
    ]);
    let mut broken_link = chain.clone();
    broken_link[3] = edited(&chain[3], |e| e.previous[0] ^= 1);
    let mut wrong_seq = chain.clone();
    wrong_seq[2] = edited(&chain[2], |e| e.seq = 3);
    let mut time_backwards = chain.clone();
    let earlier = Entry::decode(&chain[3]).expect("valid").stored_at_ns - 1;
    time_backwards[4] = edited(&chain[4], |e| e.stored_at_ns = earlier);
    let mut first_not_zero = chain.clone();
    first_not_zero[0] = edited(&chain[0], |e| e.previous = [1; 32]);
    let chains = vec![
        chain_case("valid", "The first six entries of a log.", &chain, None),
        chain_case(
            "broken-link",
            "Entry 3's previous is not the chain hash of entry 2.",
            &broken_link,
            Some(3),
        ),
        chain_case(
            "wrong-seq",
            "Entry 2 says it is entry 3.",
            &wrong_seq,
            Some(2),
        ),
        chain_case(
            "time-goes-back",
            "Entry 4 was stored before entry 3.",
            &time_backwards,
            Some(4),
        ),
        chain_case(
            "first-previous-not-zero",
            "Entry 0's previous must be 32 zero bytes.",
            &first_not_zero,
            Some(0),
        ),
    ];
    json!({ "vectors": "entries", "cases": cases, "chains": chains })
}

/// Check every case of `entries.json`.
pub fn check(vectors: &Value, failures: &mut Failures) {
    for case in vectors["cases"].as_array().into_iter().flatten() {
        let name = case_name("entries", case);
        let Some(bytes) = read_hex(&case["entry"]) else {
            failures.add(name, "no entry".into());
            continue;
        };
        match (Entry::decode(&bytes), case["expect"].as_str()) {
            (Ok(entry), Some("valid")) => {
                let expected = [
                    ("seq", json_u64(entry.seq)),
                    ("stored_at_ns", json_u64(entry.stored_at_ns)),
                    ("previous", json!(hex::encode(entry.previous))),
                    ("envelope", json!(hex::encode(&entry.envelope))),
                    ("chain_hash", json!(hex::encode(chain_hash(&bytes)))),
                    ("leaf_hash", json!(hex::encode(leaf_hash(&bytes).0))),
                ];
                for (field, value) in expected {
                    if case[field] != value {
                        failures.add(name.clone(), format!("{field} is {value}"));
                    }
                }
            }
            (Err(_), Some("invalid")) => {}
            (result, expected) => {
                failures.add(name, format!("expected {expected:?}, got {result:?}"));
            }
        }
    }
    for case in vectors["chains"].as_array().into_iter().flatten() {
        let entries: Vec<Vec<u8>> = case["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(read_hex)
            .collect();
        let found = first_bad(&entries);
        let expected = case["first_bad"].as_u64().map(|n| n as usize);
        if found != expected {
            failures.add(
                case_name("entries chain", case),
                format!("expected first bad entry {expected:?}, got {found:?}"),
            );
        }
    }
}
