//! The front door, probed as an attacker would: what the ingest door refuses before anything is
//! published or stored, headers the stream door refuses without losing its connection, event
//! ids that cannot be pre-empted, and rejections that cost bounded space.

use crate::support::*;
use covenant_core::proto::{self, Envelope, EventBody, event_body::Kind};
use covenant_core::signing::{EnvelopeHeader, EventSigner, seal};
use covenant_core::validate::RejectCode;
use covenant_ledger::{IngestReply, LedgerOptions};
use covenant_testkit::NatsServer;
use prost::Message;

const DCMS: &str = "GB-GOV-DCMS";
const DHSC: &str = "GB-GOV-DHSC";

/// A broker, a running ledger and two onboarded departments (keys `dcms-1`, `dhsc-1`).
struct Setup {
    _server: NatsServer,
    node: Node,
    world: World,
    jetstream: async_nats::jetstream::Context,
}

impl Setup {
    async fn new() -> Self {
        let server = NatsServer::start();
        let mut world = World::new();
        let node = Node::start(&world, &server.url(), LedgerOptions::default()).await;
        let jetstream = jetstream(&server.url()).await;
        let mut onboarding = world.onboard(DCMS, "dcms-1", 2);
        onboarding.extend(world.onboard(DHSC, "dhsc-1", 3));
        for envelope in onboarding {
            publish(&jetstream, envelope).await;
        }
        node.wait_for_size(5).await;
        Self {
            _server: server,
            node,
            world,
            jetstream,
        }
    }

    async fn stream_messages(&self) -> u64 {
        let mut stream = self.jetstream.get_stream("COVENANT_EVENTS").await.unwrap();
        stream.info().await.unwrap().state.messages
    }

    fn stored_rejections(&self) -> usize {
        self.node
            .store
            .rejections_since(0, usize::MAX)
            .unwrap()
            .len()
    }
}

/// An envelope with any header at all, signed by `signer` (or carrying a zero signature).
fn envelope_with(event_id: &str, actor: &str, key_id: &str, kind: Kind, seed: u8) -> Vec<u8> {
    let header = EnvelopeHeader {
        event_id,
        actor,
        occurred_at_ms: OCCURRED_AT_MS,
        key_id,
    };
    seal(header, kind, &EventSigner::from_seed([seed; 32])).encode_to_vec()
}

/// A genesis body under any header.
fn genesis_envelope(event_id: &str, actor: &str) -> Vec<u8> {
    let body = EventBody {
        kind: Some(Kind::Genesis(proto::Genesis {
            origin: ORIGIN.into(),
            registrar_actor: actor.chars().take(128).collect(),
            registrars: vec![proto::RegistrarKey {
                key_id: "attacker".into(),
                public_key: EventSigner::from_seed([66; 32]).public_key().to_vec(),
            }],
            ..Default::default()
        })),
    };
    Envelope {
        event_id: event_id.into(),
        actor: actor.into(),
        body: body.encode_to_vec(),
        ..Default::default()
    }
    .encode_to_vec()
}

fn refused_code(reply: IngestReply) -> RejectCode {
    match reply {
        IngestReply::Rejected { rejection, .. } => rejection.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_refuses_what_could_not_be_accepted_and_stores_nothing() {
    let mut setup = Setup::new().await;
    let messages_before = setup.stream_messages().await;
    let rejections_before = setup.stored_rejections();
    let id = setup.world.fresh_id();

    setup.world.add_ungranted_key("ghost-1", 40);
    // The registrar's own signer (seed 1), to sign what only emitters may.
    setup.world.add_ungranted_key(REGISTRAR_KEY, 1);
    let mut tampered = setup.world.commitment(DCMS, "dcms-1", "c-t");
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let cases: Vec<(&str, Vec<u8>, RejectCode)> = vec![
        (
            "an unknown key",
            setup.world.commitment(DCMS, "ghost-1", "c-1"),
            RejectCode::UnknownKey,
        ),
        ("a bad signature", tampered, RejectCode::BadSignature),
        (
            "another actor's key",
            setup.world.commitment(DCMS, "dhsc-1", "c-2"),
            RejectCode::UnauthorisedKey,
        ),
        (
            "a registrar key on an emitter's event",
            setup.world.emit(DCMS, REGISTRAR_KEY, commitment("c-3")),
            RejectCode::UnauthorisedKey,
        ),
        (
            "the log's own genesis",
            setup.world.genesis().envelope_bytes(),
            RejectCode::GenesisMisplaced,
        ),
        (
            "a genesis with a newline in its event id",
            genesis_envelope("genesis\nX-Evil: 1", REGISTRAR_ACTOR),
            RejectCode::InvalidField,
        ),
        (
            "a genesis with a 5,000-character actor",
            genesis_envelope("genesis", &"A".repeat(5000)),
            RejectCode::InvalidField,
        ),
        (
            "an event id with a newline",
            envelope_with(&format!("{id}\n"), DCMS, "dcms-1", commitment("c-4"), 2),
            RejectCode::InvalidField,
        ),
        (
            "a 5,000-character actor",
            envelope_with(&id, &"A".repeat(5000), "dcms-1", commitment("c-5"), 2),
            RejectCode::InvalidField,
        ),
    ];
    for (what, envelope, code) in cases {
        let reply = setup.node.ingest.submit(envelope.into()).await.unwrap();
        assert_eq!(refused_code(reply), code, "{what}");
    }
    assert_eq!(
        setup.stream_messages().await,
        messages_before,
        "nothing reached the stream"
    );
    assert_eq!(
        setup.stored_rejections(),
        rejections_before,
        "nothing stored"
    );

    // The door still opens for a genuine event.
    let genuine = setup.world.commitment(DCMS, "dcms-1", "c-ok");
    let reply = setup.node.ingest.submit(genuine.into()).await.unwrap();
    assert!(
        matches!(
            reply,
            IngestReply::Queued {
                duplicate: false,
                ..
            }
        ),
        "{reply:?}"
    );
    setup.node.wait_for_size(6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_junk_envelope_under_a_genuine_id_does_not_pre_empt_it() {
    let mut setup = Setup::new().await;
    let genuine = setup.world.commitment(DCMS, "dcms-1", "c-1");
    let (id, _) = id_and_actor(&genuine);
    // Junk claiming the genuine id, published first, under the id as its message id (what an
    // attacker who can guess ids would choose) and under its own digest.
    let mut junk = Envelope::decode(&genuine[..]).unwrap();
    junk.signature = vec![7; 64];
    let junk = junk.encode_to_vec();
    publish_raw(&setup.jetstream, DCMS, Some(&id), junk.clone()).await;
    publish(&setup.jetstream, junk).await;

    let reply = setup
        .node
        .ingest
        .submit(genuine.clone().into())
        .await
        .unwrap();
    assert!(
        matches!(
            reply,
            IngestReply::Queued {
                duplicate: false,
                ..
            }
        ),
        "the genuine envelope is not taken for a duplicate: {reply:?}"
    );
    setup.node.wait_for_size(6).await;
    let indexed = setup.node.store.event(&id).unwrap().expect("accepted");
    assert_eq!(
        indexed.digest,
        covenant_core::event::envelope_digest(&genuine)
    );
    let junk_records = setup.node.store.rejections_for(&id).unwrap();
    assert_eq!(junk_records.len(), 2, "both pieces of junk were rejected");
    assert!(
        junk_records
            .iter()
            .all(|record| record.code == RejectCode::BadSignature)
    );

    // A byte-identical re-send is still a duplicate, at the broker and in the ledger.
    let again = setup.node.ingest.submit(genuine.into()).await.unwrap();
    assert!(
        matches!(
            again,
            IngestReply::Queued {
                duplicate: true,
                ..
            }
        ),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_headers_and_genesis_on_the_stream_are_rejected_and_the_ledger_keeps_reading() {
    let mut setup = Setup::new().await;
    let id = setup.world.fresh_id();
    let long_actor = "A".repeat(5000);
    let cases: Vec<(&str, Vec<u8>, RejectCode)> = vec![
        (
            "genesis",
            setup.world.genesis().envelope_bytes(),
            RejectCode::GenesisMisplaced,
        ),
        (
            "genesis with a newline in its id",
            genesis_envelope("genesis\n", REGISTRAR_ACTOR),
            RejectCode::InvalidField,
        ),
        (
            "genesis with a 5,000-character actor",
            genesis_envelope("genesis", &long_actor),
            RejectCode::InvalidField,
        ),
        (
            "a newline in an event id",
            envelope_with(&format!("{id}\r\n"), DCMS, "dcms-1", commitment("c-1"), 2),
            RejectCode::InvalidField,
        ),
        (
            "a 5,000-character actor",
            envelope_with(&id, &long_actor, "dcms-1", commitment("c-2"), 2),
            RejectCode::InvalidField,
        ),
    ];
    let mut last_seq = 0;
    for (what, envelope, _) in &cases {
        last_seq = publish_raw(&setup.jetstream, DCMS, Some(what), envelope.clone()).await;
    }
    setup.node.wait_for_stream_seq(last_seq).await;
    let records = setup.node.store.rejections_since(0, usize::MAX).unwrap();
    assert_eq!(records.len(), cases.len());
    for ((what, envelope, code), record) in cases.iter().zip(&records) {
        assert_eq!(record.code, *code, "{what}: {}", record.message);
        assert_eq!(
            record.digest,
            covenant_core::event::envelope_digest(envelope)
        );
        assert!(
            record.message.len() <= covenant_ledger::sequencer::MAX_REJECTION_MESSAGE_BYTES,
            "{what}"
        );
    }
    assert_eq!(setup.node.store.head().size, 5, "nothing appended");
    // Still connected and reading.
    let genuine = setup.world.commitment(DCMS, "dcms-1", "c-ok");
    publish(&setup.jetstream, genuine).await;
    setup.node.wait_for_size(6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_envelope_keeps_its_header_and_an_equivocation_its_bytes() {
    let mut setup = Setup::new().await;
    setup.world.add_ungranted_key("ghost-1", 40);
    let mut big = commitment("c-big");
    if let Kind::CommitmentMade(made) = &mut big {
        made.text = "x".repeat(60_000);
    }
    let junk = setup.world.emit(DCMS, "ghost-1", big.clone());
    let (junk_id, _) = id_and_actor(&junk);
    let seq = publish(&setup.jetstream, junk.clone()).await;
    setup.node.wait_for_stream_seq(seq).await;
    let record = &setup.node.store.rejections_for(&junk_id).unwrap()[0];
    assert_eq!(record.code, RejectCode::UnknownKey);
    assert!(
        record.envelope.len() < 300,
        "{} bytes kept of a {}-byte envelope",
        record.envelope.len(),
        junk.len()
    );
    let header = Envelope::decode(&record.envelope[..]).unwrap();
    assert_eq!(
        (
            header.event_id.as_str(),
            header.actor.as_str(),
            header.key_id.as_str()
        ),
        (junk_id.as_str(), DCMS, "ghost-1")
    );
    assert!(header.body.is_empty());
    assert_eq!(record.digest, covenant_core::event::envelope_digest(&junk));

    // Equivocation by a granted key is evidence: kept whole.
    let first = setup.world.emit(DCMS, "dcms-1", commitment("c-1"));
    let (id, _) = id_and_actor(&first);
    publish(&setup.jetstream, first).await;
    setup.node.wait_for_size(6).await;
    let second = setup.world.emit_with_id(&id, DCMS, "dcms-1", big);
    let seq = publish(&setup.jetstream, second.clone()).await;
    setup.node.wait_for_stream_seq(seq).await;
    let record = &setup.node.store.rejections_for(&id).unwrap()[0];
    assert_eq!(record.code, RejectCode::Equivocation);
    assert_eq!(record.envelope, second);
}
