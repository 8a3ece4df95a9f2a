//! docs/SPEC.md's worked example: a log of three entries (genesis and two registry events)
//! from fixed seeds. `tests/data/spec-example.txt` holds every value; this test
//!
//! 1. rebuilds the example with the project's own code and requires the file to match it
//!    (run with `COVENANT_BLESS=1` to rewrite the file on purpose, then review the diff);
//! 2. recomputes every value in the file from the file alone, with code written here from the
//!    specification (sha2, blake3, ed25519-dalek, prost), not with the project's helpers;
//! 3. requires docs/SPEC.md to show the file verbatim.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use covenant_core::checkpoint::LogSigner;
use covenant_core::merkle::MemoryTree;
use covenant_core::proto::{self, event_body::Kind};
use covenant_testkit::sample;
use ed25519_dalek::{Signature, SigningKey, Verifier as _, VerifyingKey};
use prost::Message;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

const SIZE: u64 = 3;

fn data_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/spec-example.txt")
}

fn spec_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/SPEC.md")
}

/// Hex, 32 bytes to a line, each line indented.
fn wrapped(bytes: &[u8]) -> String {
    hex::encode(bytes)
        .as_bytes()
        .chunks(64)
        .map(|line| format!("  {}\n", std::str::from_utf8(line).unwrap()))
        .collect()
}

/// The example, built with the project's own code.
fn generate() -> String {
    let envelopes = sample::envelopes(SIZE, 1);
    let entries = sample::chain(&envelopes);
    let log = LogSigner::new(sample::ORIGIN, sample::LOG_SEED).unwrap();
    let registrar = sample::registrar();
    let mut out = String::new();
    out += &format!("origin: {}\n", sample::ORIGIN);
    out += &format!("log key seed: {}\n", hex::encode(sample::LOG_SEED));
    out += &format!("log public key: {}\n", hex::encode(log.public_key()));
    out += &format!("verifier key: {}\n", log.verifier_key());
    out += &format!(
        "registrar key seed: {}\n",
        hex::encode(sample::REGISTRAR_SEED)
    );
    out += &format!(
        "registrar public key: {}\n",
        hex::encode(registrar.public_key())
    );
    let mut tree = MemoryTree::new();
    for (seq, (envelope, entry)) in envelopes.iter().zip(&entries).enumerate() {
        let decoded = proto::Envelope::decode(&envelope[..]).unwrap();
        out += "\n";
        out += &format!("entry {seq} envelope:\n{}", wrapped(envelope));
        if seq > 0 {
            let input = covenant_core::signing::envelope_signing_input(&decoded);
            out += &format!("entry {seq} signing input:\n{}", wrapped(&input));
            out += &format!("entry {seq} signature:\n{}", wrapped(&decoded.signature));
        }
        out += &format!(
            "entry {seq} stored_at_ns: {}\n",
            sample::stored_at_ns(seq as u64)
        );
        out += &format!("entry {seq}:\n{}", wrapped(entry));
        out += &format!(
            "entry {seq} chain hash: {}\n",
            hex::encode(covenant_core::entry::chain_hash(entry))
        );
        out += &format!(
            "entry {seq} leaf hash: {}\n",
            hex::encode(covenant_core::merkle::leaf_hash(entry).0)
        );
        tree.push(entry);
    }
    let node = tlog_node(&entries[0], &entries[1]);
    out += "\n";
    out += &format!("node hash of leaves 0 and 1: {}\n", hex::encode(node));
    out += &format!("root: {}\n", hex::encode(tree.root().0));
    out += &format!("root (base64): {}\n", BASE64.encode(tree.root().0));
    let note = String::from_utf8(log.sign(SIZE, tree.root())).unwrap();
    out += "checkpoint:\n";
    for line in note.lines() {
        if line.is_empty() {
            out += "\n";
        } else {
            out += &format!("  {line}\n");
        }
    }
    out
}

fn tlog_node(left: &[u8], right: &[u8]) -> [u8; 32] {
    let (l, r) = (
        covenant_core::merkle::leaf_hash(left),
        covenant_core::merkle::leaf_hash(right),
    );
    let mut hasher = Sha256::new();
    hasher.update([1]);
    hasher.update(l.0);
    hasher.update(r.0);
    hasher.finalize().into()
}

/// `name: value` lines, and `name:` followed by indented lines (hex is joined, other text
/// keeps its lines).
fn parse(text: &str) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':').expect("name: value");
        let value = value.trim();
        if !value.is_empty() {
            values.insert(name.to_owned(), value.to_owned());
            continue;
        }
        let mut block = Vec::new();
        while let Some(next) = lines.peek() {
            if let Some(indented) = next.strip_prefix("  ") {
                block.push(indented.to_owned());
            } else if next.is_empty() && name == "checkpoint" {
                block.push(String::new());
            } else {
                break;
            }
            lines.next();
        }
        while block.last().is_some_and(String::is_empty) {
            block.pop();
        }
        let joined = if name == "checkpoint" {
            block.join("\n") + "\n"
        } else {
            block.concat()
        };
        values.insert(name.to_owned(), joined);
    }
    values
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    parts.iter().for_each(|p| hasher.update(p));
    hasher.finalize().into()
}

fn bytes(values: &BTreeMap<String, String>, name: &str) -> Vec<u8> {
    hex::decode(values.get(name).unwrap_or_else(|| panic!("no {name}")))
        .unwrap_or_else(|_| panic!("{name} is not hex"))
}

fn length_prefixed(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u32).to_be_bytes());
    out.extend_from_slice(field);
}

#[test]
fn the_worked_example_is_what_the_code_produces() {
    let generated = generate();
    if std::env::var_os("COVENANT_BLESS").is_some() {
        std::fs::create_dir_all(data_file().parent().unwrap()).unwrap();
        std::fs::write(data_file(), &generated).unwrap();
    }
    let file = std::fs::read_to_string(data_file()).expect("tests/data/spec-example.txt");
    assert_eq!(
        file, generated,
        "the worked example changed: rerun with COVENANT_BLESS=1 and review the diff"
    );
}

#[test]
fn the_spec_shows_the_worked_example_verbatim() {
    let file = std::fs::read_to_string(data_file()).unwrap();
    let spec = std::fs::read_to_string(spec_file()).expect("docs/SPEC.md");
    let fenced = format!("```text\n{file}```");
    assert!(
        spec.contains(&fenced),
        "docs/SPEC.md must contain tests/data/spec-example.txt verbatim in a ```text block"
    );
}

#[test]
fn every_value_of_the_worked_example_recomputes_from_the_spec() {
    let values = parse(&std::fs::read_to_string(data_file()).unwrap());
    let origin = values["origin"].clone();

    // Keys: Ed25519 public keys from the seeds; the note verifier key and its key id.
    let log_key = SigningKey::from_bytes(&bytes(&values, "log key seed").try_into().unwrap());
    assert_eq!(
        log_key.verifying_key().to_bytes().to_vec(),
        bytes(&values, "log public key")
    );
    let registrar =
        SigningKey::from_bytes(&bytes(&values, "registrar key seed").try_into().unwrap());
    let registrar_public = registrar.verifying_key();
    assert_eq!(
        registrar_public.to_bytes().to_vec(),
        bytes(&values, "registrar public key")
    );
    let encoded_key = [&[0x01], log_key.verifying_key().as_bytes().as_slice()].concat();
    let key_id = &sha256(&[origin.as_bytes(), b"\n", &encoded_key])[..4];
    assert_eq!(
        values["verifier key"],
        format!(
            "{origin}+{}+{}",
            hex::encode(key_id),
            BASE64.encode(&encoded_key)
        )
    );

    // Entries: envelope, signature, encoding, chain hash, leaf hash.
    let mut previous = [0u8; 32];
    let mut leaves = Vec::new();
    for seq in 0..SIZE {
        let envelope_bytes = bytes(&values, &format!("entry {seq} envelope"));
        let envelope = proto::Envelope::decode(&envelope_bytes[..]).unwrap();
        let body = proto::EventBody::decode(&envelope.body[..]).unwrap();
        if seq == 0 {
            // Genesis: fixed header, unsigned, names the registrar key.
            assert_eq!(envelope.event_id, "genesis");
            assert_eq!(envelope.occurred_at_ms, 0);
            assert!(envelope.key_id.is_empty() && envelope.signature.is_empty());
            let Some(Kind::Genesis(genesis)) = body.kind else {
                panic!("entry 0 is not genesis")
            };
            assert_eq!(genesis.origin, origin);
            assert_eq!(envelope.actor, genesis.registrar_actor);
            assert_eq!(
                genesis.registrars[0].public_key,
                registrar_public.to_bytes()
            );
        } else {
            let mut input = b"covenant/v1/envelope-signature\n".to_vec();
            length_prefixed(&mut input, envelope.event_id.as_bytes());
            length_prefixed(&mut input, envelope.actor.as_bytes());
            input.extend_from_slice(&envelope.occurred_at_ms.to_be_bytes());
            length_prefixed(&mut input, envelope.key_id.as_bytes());
            length_prefixed(&mut input, &envelope.body);
            assert_eq!(input, bytes(&values, &format!("entry {seq} signing input")));
            let signature = bytes(&values, &format!("entry {seq} signature"));
            assert_eq!(signature, envelope.signature);
            registrar_public
                .verify(&input, &Signature::from_slice(&signature).unwrap())
                .unwrap();
        }
        let stored_at: u64 = values[&format!("entry {seq} stored_at_ns")]
            .parse()
            .unwrap();
        let mut entry = vec![0x01];
        entry.extend_from_slice(&seq.to_be_bytes());
        entry.extend_from_slice(&stored_at.to_be_bytes());
        entry.extend_from_slice(&previous);
        entry.extend_from_slice(&(envelope_bytes.len() as u32).to_be_bytes());
        entry.extend_from_slice(&envelope_bytes);
        assert_eq!(
            entry,
            bytes(&values, &format!("entry {seq}")),
            "entry {seq}"
        );
        let chain = blake3::derive_key("covenant 2026-11 ledger entry chain v1", &entry);
        assert_eq!(
            chain.to_vec(),
            bytes(&values, &format!("entry {seq} chain hash"))
        );
        let leaf = sha256(&[&[0x00], &entry]);
        assert_eq!(
            leaf.to_vec(),
            bytes(&values, &format!("entry {seq} leaf hash"))
        );
        previous = chain;
        leaves.push(leaf);
    }

    // The tree: MTH(3 leaves) = node(node(l0, l1), l2).
    let node = sha256(&[&[0x01], &leaves[0], &leaves[1]]);
    assert_eq!(node.to_vec(), bytes(&values, "node hash of leaves 0 and 1"));
    let root = sha256(&[&[0x01], &node, &leaves[2]]);
    assert_eq!(root.to_vec(), bytes(&values, "root"));
    assert_eq!(values["root (base64)"], BASE64.encode(root));

    // The checkpoint: body, then a blank line, then the log's signature line.
    let note = &values["checkpoint"];
    let body = format!("{origin}\n{SIZE}\n{}\n", BASE64.encode(root));
    let signature_line = note
        .strip_prefix(&format!("{body}\n"))
        .expect("body then blank line");
    let encoded = signature_line
        .strip_prefix(&format!("— {origin} "))
        .and_then(|rest| rest.strip_suffix('\n'))
        .expect("— <origin> <base64>");
    let signature = BASE64.decode(encoded).unwrap();
    assert_eq!(&signature[..4], key_id);
    VerifyingKey::from(&log_key)
        .verify(
            body.as_bytes(),
            &Signature::from_slice(&signature[4..]).unwrap(),
        )
        .unwrap();
}
