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
        self.grant_signer(key_id, actor, EventSigner::from_seed([seed; 32]))
    }

    /// Grant `signer`'s public key to `actor` as emitter key `key_id`.
    pub fn grant_signer(&mut self, key_id: &str, actor: &str, signer: EventSigner) -> Vec<u8> {
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

    /// Register `actor` and grant it key `key_id` with `signer`.
    pub fn onboard_signer(
        &mut self,
        actor: &str,
        key_id: &str,
        signer: &EventSigner,
    ) -> Vec<Vec<u8>> {
        vec![
            self.register_actor(actor),
            self.grant_signer(key_id, actor, signer.clone()),
        ]
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

/// `kind` with its words (a commitment's title and text, an action's description, an
/// outcome's summary) replaced by as many bytes of prose picked by `seed`
/// (`covenant_testkit::text`): the same sizes, but as varied as what governments write, so
/// that the store compresses and the projections index it as they would real events.
pub fn in_prose(mut kind: Kind, seed: u64) -> Kind {
    use covenant_testkit::text::prose;
    let reword = |text: &mut String, salt: u64| *text = prose(seed ^ salt, text.len());
    match &mut kind {
        Kind::CommitmentMade(made) => {
            reword(&mut made.title, 1);
            reword(&mut made.text, 2);
        }
        Kind::ActionRecorded(action) => reword(&mut action.description, 3),
        Kind::OutcomeReported(outcome) => reword(&mut outcome.summary, 4),
        _ => {}
    }
    kind
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

/// A store in a fresh temporary directory under `parent`.
pub fn temp_store_in(parent: &std::path::Path) -> (Arc<dyn LogStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir_in(parent).expect("create a temporary directory");
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

impl World {
    /// Like [`World::emit`] with a chosen `occurred_at_ms`.
    pub fn emit_at(
        &mut self,
        actor: &str,
        key_id: &str,
        kind: Kind,
        occurred_at_ms: i64,
    ) -> Vec<u8> {
        let id = self.fresh_id();
        let signer = self.keys.get(key_id).expect("a known signer").clone();
        let header = EnvelopeHeader {
            occurred_at_ms,
            ..header(&id, actor, key_id)
        };
        seal(header, kind, &signer).encode_to_vec()
    }
}

/// The event id and actor of envelope bytes this world made.
pub fn id_and_actor(envelope: &[u8]) -> (String, String) {
    let envelope = Envelope::decode(envelope).expect("a test envelope decodes");
    (envelope.event_id, envelope.actor)
}

/// A running ledger on a real nats-server, with its own store.
pub struct Node {
    pub store: Arc<dyn LogStore>,
    pub ledger: Option<covenant_ledger::RunningLedger>,
    pub ingest: covenant_ledger::Ingest,
    pub metrics: covenant_ledger::LedgerMetrics,
    pub health: covenant_ledger::LedgerHealth,
    pub verifier_key: String,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Open a fresh store and run a ledger on the stream of the server at `url`.
    pub async fn start(world: &World, url: &str, options: covenant_ledger::LedgerOptions) -> Self {
        let (store, dir) = temp_store();
        Self::start_on(world, url, options, store, dir).await
    }

    pub async fn start_on(
        world: &World,
        url: &str,
        options: covenant_ledger::LedgerOptions,
        store: Arc<dyn LogStore>,
        dir: tempfile::TempDir,
    ) -> Self {
        let metrics = covenant_ledger::LedgerMetrics::default();
        let ledger = covenant_ledger::Ledger::open(
            store.clone(),
            &world.genesis(),
            Some(world.log_signer()),
            options,
            metrics.clone(),
        )
        .expect("open the ledger");
        let verifier_key = ledger.verifier_key().expect("a log key");
        let health = ledger.health();
        let client = async_nats::connect(url).await.expect("connect to nats");
        let (ingest, running) = ledger
            .run_stream(client, &covenant_ledger::StreamSettings::default())
            .await
            .expect("run the ledger on the stream");
        Self {
            store,
            ledger: Some(running),
            ingest,
            metrics,
            health,
            verifier_key,
            _dir: dir,
        }
    }

    pub async fn stop(&mut self) -> covenant_store::Head {
        self.ledger
            .take()
            .expect("running")
            .stop()
            .await
            .expect("the ledger stops cleanly")
    }

    /// Wait until the log has `size` entries.
    pub async fn wait_for_size(&self, size: u64) {
        let store = self.store.clone();
        wait_until(&format!("the log to reach {size} entries"), || {
            store.head().size >= size
        })
        .await;
        assert_eq!(
            self.store.head().size,
            size,
            "no more entries than expected"
        );
    }

    /// Wait until the stream position reaches `stream_seq`.
    pub async fn wait_for_stream_seq(&self, stream_seq: u64) {
        let store = self.store.clone();
        wait_until(
            &format!("stream sequence {stream_seq} to be consumed"),
            || store.head().stream_seq >= stream_seq,
        )
        .await;
    }
}

/// Poll `condition` every 10 ms for up to 20 s.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Publish envelope bytes to the actor's subject as emitters do (`Nats-Msg-Id` = the digest of
/// the bytes), and wait for JetStream's acknowledgement. Returns the stream sequence.
pub async fn publish(jetstream: &async_nats::jetstream::Context, envelope: Vec<u8>) -> u64 {
    let (_, actor) = id_and_actor(&envelope);
    let message_id = covenant_core::subject::message_id(&envelope);
    publish_raw(jetstream, &actor, Some(&message_id), envelope).await
}

/// Publish any bytes on `acct.events.<actor>`, with an optional message id.
pub async fn publish_raw(
    jetstream: &async_nats::jetstream::Context,
    actor: &str,
    msg_id: Option<&str>,
    payload: Vec<u8>,
) -> u64 {
    // Just after a clustered stream is created or elects a leader, a server may not yet know
    // who stores the subject and answers "no responders" (StreamNotFound); an emitter retries,
    // and so does the test. Nothing was stored, so a retry cannot add a second copy.
    for _ in 0..NO_RESPONDERS_RETRIES {
        let mut message =
            async_nats::jetstream::message::PublishMessage::build().payload(payload.clone().into());
        if let Some(msg_id) = msg_id {
            message = message.message_id(msg_id);
        }
        let stored = jetstream
            .send_publish(covenant_core::subject::event_subject(actor), message)
            .await
            .expect("publish")
            .await;
        match stored {
            Ok(ack) => return ack.sequence,
            Err(error)
                if error.kind()
                    == async_nats::jetstream::context::PublishErrorKind::StreamNotFound =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(error) => panic!("jetstream stores the message: {error}"),
        }
    }
    panic!("jetstream did not store the message: no responders for {NO_RESPONDERS_RETRIES} tries")
}

/// How often a publish answered "no responders" is tried again, 100 ms apart.
const NO_RESPONDERS_RETRIES: usize = 100;

/// A JetStream context on a fresh client.
pub async fn jetstream(url: &str) -> async_nats::jetstream::Context {
    async_nats::jetstream::new(async_nats::connect(url).await.expect("connect to nats"))
}

/// Wait until the replicated stream exists and has elected a leader: a publish before that is
/// answered "stream not found" by a three-node cluster still settling.
pub async fn wait_for_stream_leader(js: &async_nats::jetstream::Context) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Ok(mut stream) = js.get_stream("COVENANT_EVENTS").await
            && let Ok(info) = stream.info().await
            && info
                .cluster
                .as_ref()
                .is_some_and(|cluster| cluster.leader.is_some())
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the event stream has no leader after 60 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
