//! Shared by the ledger's tests and its benchmark: a small world of signed events (a
//! registrar, actors, keys), real stores in temporary directories, and NATS helpers.
#![allow(dead_code)]

use covenant_core::checkpoint::LogSigner;
use covenant_core::proto::event_body::Kind;
use covenant_core::proto::*;
use covenant_core::signing::{EnvelopeHeader, EventSigner, seal};
use covenant_ledger::{GenesisConfig, RegistrarKey};
use covenant_store::{LogStore, SledStore};
use prost::Message;
use std::collections::HashMap;
use std::sync::Arc;

pub const ORIGIN: &str = "test.covenant.example/log";
pub const REGISTRAR_ACTOR: &str = "covenant-registrar";
pub const REGISTRAR_KEY: &str = "registrar-1";
/// 2026-01-01T00:00:00Z, when the test events say they happened.
pub const OCCURRED_AT_MS: i64 = 1_767_225_600_000;
/// A broker storage time shortly after that, in nanoseconds.
pub const STORED_AT_NS: u64 = 1_767_225_700_000_000_000;

/// Signers and counters for building valid (and deliberately invalid) envelopes.
pub struct World {
    registrar: EventSigner,
    keys: HashMap<String, EventSigner>,
    next_id: u64,
    /// Distinguishes the ids of several worlds publishing to one stream.
    id_prefix: u32,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    pub fn new() -> Self {
        Self::with_id_prefix(0)
    }

    pub fn with_id_prefix(id_prefix: u32) -> Self {
        Self {
            registrar: EventSigner::from_seed([1; 32]),
            keys: HashMap::new(),
            next_id: 0,
            id_prefix,
        }
    }

    pub fn genesis(&self) -> GenesisConfig {
        GenesisConfig {
            origin: ORIGIN.into(),
            registrar_actor: REGISTRAR_ACTOR.into(),
            registrars: vec![RegistrarKey {
                key_id: REGISTRAR_KEY.into(),
                public_key: self.registrar.public_key(),
            }],
            description: "ledger tests".into(),
        }
    }

    pub fn log_signer(&self) -> LogSigner {
        LogSigner::new(ORIGIN, [9; 32]).expect("valid origin")
    }

    /// A fresh ULID-shaped event id.
    pub fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        format!("01JDQ{:05}{:016}", self.id_prefix, self.next_id)
    }

    pub fn registry(&mut self, kind: Kind) -> Vec<u8> {
        let id = self.fresh_id();
        seal(
            header(&id, REGISTRAR_ACTOR, REGISTRAR_KEY),
            kind,
            &self.registrar,
        )
        .encode_to_vec()
    }

    pub fn register_actor(&mut self, actor: &str) -> Vec<u8> {
        self.registry(Kind::ActorRegistered(ActorRegistered {
            actor_id: actor.into(),
            name: format!("Actor {actor}"),
            kind: ActorKind::Department as i32,
            ..Default::default()
        }))
    }

    /// Grant an emitter key with seed `[seed; 32]` to `actor`.
    pub fn grant(&mut self, key_id: &str, actor: &str, seed: u8) -> Vec<u8> {
        let signer = EventSigner::from_seed([seed; 32]);
        let envelope = self.registry(Kind::KeyGranted(KeyGranted {
            key_id: key_id.into(),
            public_key: signer.public_key().to_vec(),
            actor_id: actor.into(),
            roles: vec![KeyRole::Emitter as i32],
        }));
        self.keys.insert(key_id.to_owned(), signer);
        envelope
    }

    pub fn revoke(&mut self, key_id: &str) -> Vec<u8> {
        self.registry(Kind::KeyRevoked(KeyRevoked {
            key_id: key_id.into(),
            reason: "rotated".into(),
        }))
    }

    /// Register `actor` and grant it key `key_id`.
    pub fn onboard(&mut self, actor: &str, key_id: &str, seed: u8) -> Vec<Vec<u8>> {
        vec![self.register_actor(actor), self.grant(key_id, actor, seed)]
    }

    /// Remember a signer for a key id without granting it (for unknown-key tests).
    pub fn add_ungranted_key(&mut self, key_id: &str, seed: u8) {
        self.keys
            .insert(key_id.to_owned(), EventSigner::from_seed([seed; 32]));
    }

    pub fn emit(&mut self, actor: &str, key_id: &str, kind: Kind) -> Vec<u8> {
        let id = self.fresh_id();
        self.emit_with_id(&id, actor, key_id, kind)
    }

    pub fn emit_with_id(&mut self, id: &str, actor: &str, key_id: &str, kind: Kind) -> Vec<u8> {
        let signer = self.keys.get(key_id).expect("a known signer").clone();
        seal(header(id, actor, key_id), kind, &signer).encode_to_vec()
    }

    pub fn commitment(&mut self, actor: &str, key_id: &str, commitment_id: &str) -> Vec<u8> {
        self.emit(actor, key_id, commitment(commitment_id))
    }
}

pub fn header<'a>(event_id: &'a str, actor: &'a str, key_id: &'a str) -> EnvelopeHeader<'a> {
    EnvelopeHeader {
        event_id,
        actor,
        occurred_at_ms: OCCURRED_AT_MS,
        key_id,
    }
}

/// A commitment of about 400 bytes once sealed.
pub fn commitment(commitment_id: &str) -> Kind {
    Kind::CommitmentMade(CommitmentMade {
        commitment_id: commitment_id.into(),
        title: "Joint council with civil society".into(),
        text: "We will set up a joint council with civil society organisations, meeting \
               quarterly, to agree priorities for the covenant and report publicly on \
               progress against each of them."
            .into(),
        made_on: "2025-07-17".into(),
        due_by: "2026-07-17".into(),
        themes: vec!["community".into(), "dignity".into()],
        ..Default::default()
    })
}

pub fn action(action_id: &str, commitment_ids: &[&str]) -> Kind {
    Kind::ActionRecorded(ActionRecorded {
        action_id: action_id.into(),
        commitment_ids: commitment_ids.iter().map(|id| id.to_string()).collect(),
        r#type: ActionType::Funding as i32,
        taken_on: "2026-02-01".into(),
        description: "Grant to the council secretariat".into(),
        ..Default::default()
    })
}

pub fn outcome(commitment_id: &str) -> Kind {
    Kind::OutcomeReported(OutcomeReported {
        commitment_id: commitment_id.into(),
        verdict: Verdict::Delivered as i32,
        reported_on: "2026-06-01".into(),
        summary: "The council met four times.".into(),
        ..Default::default()
    })
}

pub fn withdrawal(commitment_id: &str) -> Kind {
    Kind::CommitmentWithdrawn(CommitmentWithdrawn {
        commitment_id: commitment_id.into(),
        reason: "dropped in the spending review".into(),
    })
}

/// A store in a fresh temporary directory (kept alive by the returned guard).
pub fn temp_store() -> (Arc<dyn LogStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let store = SledStore::create_or_open(dir.path().join("log")).expect("create the store");
    (Arc::new(store), dir)
}

/// Every encoded entry of a store.
pub fn all_entries(store: &dyn LogStore) -> Vec<Vec<u8>> {
    store.entries(0, store.head().size).expect("read entries")
}

/// Check the chain and the tree of a whole store; returns the envelopes in log order.
pub fn verify_log(store: &dyn LogStore) -> Vec<Vec<u8>> {
    let head = store.head();
    let entries = all_entries(store);
    assert_eq!(entries.len() as u64, head.size);
    let mut chain = covenant_core::entry::ChainVerifier::new();
    let mut frontier = covenant_core::merkle::TreeFrontier::new();
    let mut envelopes = Vec::with_capacity(entries.len());
    for entry in &entries {
        chain.push(entry).expect("the chain verifies");
        frontier.push(covenant_core::merkle::leaf_hash(entry));
        envelopes.push(covenant_core::entry::envelope_of(entry).to_vec());
    }
    assert_eq!(
        chain.head(),
        head.chain_head,
        "chain head matches the store's"
    );
    assert_eq!(frontier.root(), head.root, "tree root matches the store's");
    envelopes
}
