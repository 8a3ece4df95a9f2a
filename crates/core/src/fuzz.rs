//! Property tests over hostile input, on the stable toolchain: every decoder and parser that
//! reads bytes from outside (envelopes and bodies, validation of whatever decodes, entries,
//! entry bundles, tile paths, proofs, checkpoints, signed notes and cosignatures, witness
//! requests, proof bundles) is fed arbitrary bytes and structure-aware mutations of valid
//! input. Each must return, never panic, and every refusal is a typed error.
//!
//! `just test` runs the default number of cases; `just fuzz` runs many more (the
//! `PROPTEST_CASES` environment variable) and proptest keeps every failing input in
//! `crates/core/proptest-regressions/fuzz.txt`, replayed first on every later run.

use crate::bundle::ProofBundle;
use crate::checkpoint::{LogSigner, verify_checkpoint};
use crate::cosignature::{CosignatureVerifier, Cosigner, cosigned_by};
use crate::entry::{Entry, EntryHeader};
use crate::event::{self, DecodeError};
use crate::merkle::{self, Hash, MemoryTree};
use crate::proto::{self, Envelope, event_body::Kind};
use crate::signing::{EnvelopeHeader, EventSigner, seal};
use crate::tlog_witness::AddCheckpoint;
use crate::validate::{
    self, Decision, GenesisRecord, IndexedEvent, KeyRecord, LedgerState, Rejection, SignatureCheck,
    genesis_envelope,
};
use proptest::prelude::*;
use prost::Message;
use std::collections::{BTreeMap, HashMap};

const EVENT_ID: &str = "01JDQ7Z6X5K3T9V2B8N4M1P0QR";

fn signer() -> EventSigner {
    EventSigner::from_seed([2; 32])
}

/// Valid envelopes of several kinds, as mutation seeds.
fn seeds() -> Vec<Vec<u8>> {
    let header = EnvelopeHeader {
        event_id: EVENT_ID,
        actor: "GB-GOV-DCMS",
        occurred_at_ms: 1_767_225_600_000,
        key_id: "dcms-1",
    };
    let kinds = vec![
        Kind::CommitmentMade(proto::CommitmentMade {
            commitment_id: "c-1".into(),
            title: "Build".into(),
            text: "We will build it.".into(),
            made_on: "2026-01-01".into(),
            due_by: "2026-12-31".into(),
            themes: vec!["housing".into()],
            ..Default::default()
        }),
        Kind::ActionRecorded(proto::ActionRecorded {
            action_id: "a-1".into(),
            commitment_ids: vec!["c-1".into()],
            r#type: proto::ActionType::Funding as i32,
            taken_on: "2026-02-01".into(),
            description: "Spent".into(),
            money: Some(proto::Money {
                amount_minor: 100,
                currency: "GBP".into(),
                stage: proto::MoneyStage::Spent as i32,
            }),
            ..Default::default()
        }),
        Kind::OutcomeReported(proto::OutcomeReported {
            commitment_id: "c-1".into(),
            verdict: proto::Verdict::Delivered as i32,
            reported_on: "2026-03-01".into(),
            ..Default::default()
        }),
        Kind::Retraction(proto::Retraction {
            event_id: EVENT_ID.into(),
            reason: "error".into(),
        }),
    ];
    let mut seeds: Vec<Vec<u8>> = kinds
        .into_iter()
        .map(|kind| seal(header, kind, &signer()).encode_to_vec())
        .collect();
    seeds.push(
        genesis_envelope(proto::Genesis {
            origin: "fuzz.example/log".into(),
            registrar_actor: "covenant-registrar".into(),
            registrars: vec![proto::RegistrarKey {
                key_id: "registrar-1".into(),
                public_key: vec![7; 32],
            }],
            description: String::new(),
        })
        .encode_to_vec(),
    );
    seeds
}

/// A state in which the seeds' key is granted to their actor, and an index with one event.
fn state_and_index() -> (LedgerState, HashMap<String, IndexedEvent>) {
    let mut state = LedgerState {
        genesis: Some(GenesisRecord {
            origin: "fuzz.example/log".into(),
            registrar_actor: "covenant-registrar".into(),
            registrars: BTreeMap::from([("registrar-1".to_owned(), [7; 32])]),
        }),
        ..Default::default()
    };
    state.keys.insert(
        "dcms-1".into(),
        KeyRecord {
            public_key: signer().public_key(),
            actor: "GB-GOV-DCMS".into(),
            emitter: true,
            assessor: true,
            revoked: false,
        },
    );
    let index = HashMap::from([(
        EVENT_ID.to_owned(),
        IndexedEvent {
            seq: 3,
            digest: [1; 32],
            actor: "GB-GOV-DCMS".into(),
        },
    )]);
    (state, index)
}

/// One mutation of a byte string: flip, overwrite, insert, delete, truncate or splice.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..40))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len().max(1);
        match mutation {
            Mutation::Flip(at, mask) => {
                if !bytes.is_empty() {
                    bytes[at % len] ^= mask;
                }
            }
            Mutation::Insert(at, inserted) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, inserted.iter().copied());
            }
            Mutation::Delete(at, count) => {
                let at = at % len;
                let end = (at + count).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Mutation::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

/// Decode and, when that succeeds, validate: both must return, and a refusal is typed.
fn decode_and_validate(bytes: &[u8]) {
    match event::decode(bytes) {
        Ok(decoded) => {
            // Whatever decodes has a header every door can use as it is.
            if decoded.kind_name() == "genesis" {
                assert_eq!(decoded.event_id(), validate::GENESIS_EVENT_ID);
            } else {
                assert!(event::is_valid_event_id(decoded.event_id()));
                assert!(event::is_valid_id(&decoded.envelope.key_id));
            }
            assert!(event::is_valid_id(decoded.actor()));
            let (state, index) = state_and_index();
            for signature in [
                SignatureCheck::Pending,
                SignatureCheck::VerifiedWith(signer().public_key()),
            ] {
                match validate::validate(&state, &index, &decoded, 5, 1, signature) {
                    Decision::Reject(rejection) => assert!(!rejection.message.is_empty()),
                    Decision::Accept(_) | Decision::Duplicate { .. } => {}
                }
            }
            let _ = validate::authorise(&state, &decoded);
        }
        Err(error) => {
            assert!(!error.to_string().is_empty());
            let rejection = Rejection::from(error);
            assert!(!rejection.message.is_empty());
        }
    }
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[A-Za-z0-9._:/-]{0,140}",
        "[\\x00-\\x7f]{0,20}",
        Just("A".repeat(5000)),
        Just("genesis\n".to_owned()),
        Just(EVENT_ID.to_owned()),
    ]
}

fn signed_note() -> (LogSigner, Vec<u8>) {
    let signer = LogSigner::new("fuzz.example/log", [3; 32]).expect("a valid origin");
    let mut tree = MemoryTree::new();
    (0..7u8).for_each(|i| tree.push(&[i]));
    let note = signer.sign(7, tree.root());
    (signer, note)
}

proptest! {
    #[test]
    fn envelopes_of_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        decode_and_validate(&bytes);
    }

    #[test]
    fn mutated_valid_envelopes(
        seed in 0..5usize,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let bytes = mutate(seeds()[seed].clone(), &mutations);
        decode_and_validate(&bytes);
    }

    #[test]
    fn envelopes_with_arbitrary_headers(
        event_id in arbitrary_text(),
        actor in arbitrary_text(),
        key_id in arbitrary_text(),
        occurred_at_ms in any::<i64>(),
        signature in prop::collection::vec(any::<u8>(), 0..80),
        seed in 0..5usize,
    ) {
        let original = Envelope::decode(&seeds()[seed][..]).expect("a seed decodes");
        let envelope = Envelope {
            event_id,
            actor,
            key_id,
            occurred_at_ms,
            signature,
            body: original.body,
        };
        decode_and_validate(&envelope.encode_to_vec());
    }

    #[test]
    fn bodies_of_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..400)) {
        let envelope = Envelope {
            event_id: EVENT_ID.into(),
            actor: "GB-GOV-DCMS".into(),
            key_id: "dcms-1".into(),
            occurred_at_ms: 0,
            body,
            signature: vec![0; 64],
        };
        decode_and_validate(&envelope.encode_to_vec());
    }

    #[test]
    fn entries_and_bundles_of_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Err(error) = Entry::decode(&bytes) {
            prop_assert!(!error.to_string().is_empty());
        }
        let _ = EntryHeader::parse(&bytes);
        let _ = crate::entry::envelope_of(&bytes);
        if let Some(entries) = merkle::decode_entry_bundle(&bytes) {
            prop_assert_eq!(merkle::encode_entry_bundle(entries.iter().copied()), bytes);
        }
    }

    #[test]
    fn tile_paths(path in prop_oneof![
        ".{0,60}",
        "tile/[0-9]{1,2}/(data/)?(x[0-9]{3}/){0,3}[0-9]{1,4}(\\.p/[0-9]{1,3})?",
        "\\.\\./.{0,20}",
    ]) {
        if let Some(tile) = merkle::parse_tile_path(&path) {
            let again = merkle::parse_tile_path(&merkle::tile_path(&tile));
            prop_assert_eq!(again.map(|t| merkle::tile_path(&t)), Some(merkle::tile_path(&tile)));
        }
    }

    #[test]
    fn proofs_with_arbitrary_hashes(
        proof in prop::collection::vec(any::<[u8; 32]>(), 0..70),
        size in any::<u64>(),
        other_size in any::<u64>(),
        index in any::<u64>(),
    ) {
        let proof: Vec<Hash> = proof.into_iter().map(Hash).collect();
        let _ = merkle::check_inclusion(&proof, size, Hash([1; 32]), index, Hash([2; 32]));
        let _ = merkle::check_consistency(&proof, size, Hash([1; 32]), other_size, Hash([2; 32]));
    }

    #[test]
    fn checkpoints_and_notes(
        mutations in prop::collection::vec(mutation(), 0..5),
        line in ".{0,120}",
    ) {
        let (signer, note) = signed_note();
        let witness = Cosigner::new("witness.example/w", [4; 32]).expect("a valid name");
        let body_end = note.windows(2).position(|w| w == b"\n\n").map_or(note.len(), |p| p + 1);
        let cosigned = [
            &note[..],
            witness.cosign(&note[..body_end], 1_700_000_000).as_bytes(),
        ]
        .concat();
        let damaged = mutate(cosigned, &mutations);
        match verify_checkpoint(&damaged, &signer.verifier_key()) {
            Ok(checkpoint) => {
                prop_assert!(checkpoint.log_signed_note.starts_with(&checkpoint.body));
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
        let verifiers = [CosignatureVerifier::new(&witness.verifier_key()).expect("a key")];
        let _ = cosigned_by(&damaged, &verifiers);
        let _ = verifiers[0].verify_line(&note[..body_end], &line);
        let _ = CosignatureVerifier::new(&line);
        let _ = verify_checkpoint(&note, &line);
    }

    #[test]
    fn witness_requests(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        mutations in prop::collection::vec(mutation(), 0..5),
    ) {
        let _ = AddCheckpoint::parse(&bytes);
        let (_, note) = signed_note();
        let request = AddCheckpoint::encode(3, &[Hash([9; 32]), Hash([8; 32])], &note);
        if let Err(error) = AddCheckpoint::parse(&mutate(request, &mutations)) {
            prop_assert!(!error.0.is_empty());
        }
    }

    #[test]
    fn proof_bundles(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        field in 0..7usize,
        number in any::<u64>(),
        text in ".{0,80}",
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        let (signer, _) = signed_note();
        if let Ok(bundle) = serde_json::from_slice::<ProofBundle>(&bytes) {
            let _ = bundle.verify(&signer.verifier_key());
        }
        // A real bundle with one field replaced, and its JSON mutated.
        let mut bundle = real_bundle(&signer);
        match field {
            0 => bundle.format = text,
            1 => bundle.seq = number,
            2 => bundle.entry = text,
            3 => bundle.tree_size = number,
            4 => bundle.inclusion_proof.push(text),
            5 => bundle.checkpoint = text,
            _ => bundle.verifier_key = text,
        }
        if let Err(error) = bundle.verify(&signer.verifier_key()) {
            prop_assert!(!error.to_string().is_empty());
        }
        let json = serde_json::to_vec(&real_bundle(&signer)).expect("a bundle serialises");
        if let Ok(parsed) = serde_json::from_slice::<ProofBundle>(&mutate(json, &mutations)) {
            let _ = parsed.verify(&signer.verifier_key());
        }
    }
}

fn real_bundle(signer: &LogSigner) -> ProofBundle {
    let entries: Vec<Vec<u8>> = (0..7u64)
        .map(|seq| {
            Entry {
                seq,
                stored_at_ns: seq,
                previous: [0; 32],
                envelope: seeds()[0].clone(),
            }
            .encode()
        })
        .collect();
    let mut tree = MemoryTree::new();
    entries.iter().for_each(|entry| tree.push(entry));
    let proof = merkle::prove_inclusion(7, 2, &tree).expect("a proof");
    let note = signer.sign(7, tree.root());
    ProofBundle::new(2, &entries[2], 7, &proof, &note, &signer.verifier_key())
}

#[test]
fn a_decode_error_names_what_is_wrong() {
    // The fuzz properties rely on every refusal being typed; make sure the types say why.
    let error = event::decode(&[0xff]).unwrap_err();
    assert!(matches!(error, DecodeError::Envelope(_)));
}
