//! Every rejection through the real broker: the event is published to the stream, the ledger
//! rejects it with its reason code, records it in the store, publishes it on
//! `acct.rejected.<event_id>` and counts it in the metrics.

use crate::support::*;
use covenant_core::validate::RejectCode;
use covenant_ledger::{LedgerOptions, RejectionNotice};
use covenant_testkit::NatsServer;
use futures::StreamExt;
use std::time::Duration;

const DCMS: &str = "GB-GOV-DCMS";
const DHSC: &str = "GB-GOV-DHSC";

/// A broker, a running ledger and two onboarded departments (keys `dcms-1`, `dhsc-1`).
struct Setup {
    _server: NatsServer,
    node: Node,
    world: World,
    client: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
}

impl Setup {
    async fn new() -> Self {
        let server = NatsServer::start();
        let mut world = World::new();
        let node = Node::start(&world, &server.url(), LedgerOptions::default()).await;
        let client = async_nats::connect(server.url()).await.unwrap();
        let jetstream = async_nats::jetstream::new(client.clone());
        let mut setup = vec![];
        setup.extend(world.onboard(DCMS, "dcms-1", 2));
        setup.extend(world.onboard(DHSC, "dhsc-1", 3));
        for envelope in setup {
            publish(&jetstream, envelope).await;
        }
        node.wait_for_size(5).await;
        Self {
            _server: server,
            node,
            world,
            client,
            jetstream,
        }
    }

    /// Publish `envelope` as `actor` with `msg_id` and expect the ledger to reject it with
    /// `code`, filed under `event_id`.
    async fn expect_rejection(
        &self,
        actor: &str,
        event_id: &str,
        msg_id: Option<&str>,
        envelope: Vec<u8>,
        code: RejectCode,
    ) -> RejectionNotice {
        let subject = covenant_ledger::stream::rejected_subject(event_id);
        let mut notices = self.client.subscribe(subject.clone()).await.unwrap();
        self.client.flush().await.unwrap();
        let before = self.node.metrics.rejected(code);
        let size_before = self.node.store.head().size;
        let stream_seq = publish_raw(&self.jetstream, actor, msg_id, envelope.clone()).await;
        let message = tokio::time::timeout(Duration::from_secs(20), notices.next())
            .await
            .unwrap_or_else(|_| panic!("no rejection published on {subject}"))
            .expect("subscription open");
        let notice: RejectionNotice = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(notice.code, code, "{}", notice.message);
        assert_eq!(notice.event_id, event_id);
        assert_eq!(notice.stream_seq, stream_seq);
        assert!(!notice.message.is_empty());
        let records = self.node.store.rejections_for(event_id).unwrap();
        let record = records.last().expect("the rejection is recorded");
        assert_eq!((record.code, record.stream_seq), (code, stream_seq));
        assert_eq!(
            record.digest,
            covenant_core::event::envelope_digest(&envelope)
        );
        if code == RejectCode::Equivocation {
            assert_eq!(record.envelope, envelope, "evidence is kept whole");
        } else {
            assert_eq!(
                record.envelope,
                covenant_ledger::sequencer::kept_bytes(code, &envelope),
                "only the header is kept"
            );
            assert!(record.envelope.len() <= 600, "{}", record.envelope.len());
        }
        assert_eq!(self.node.metrics.rejected(code), before + 1);
        assert_eq!(self.node.store.head().size, size_before, "nothing appended");
        notice
    }

    /// Publish and wait for acceptance.
    async fn accept(&self, envelope: Vec<u8>) {
        let size = self.node.store.head().size;
        publish(&self.jetstream, envelope).await;
        self.node.wait_for_size(size + 1).await;
    }
}

async fn expect_own_rejection(
    setup: &Setup,
    envelope: Vec<u8>,
    code: RejectCode,
) -> RejectionNotice {
    let (event_id, actor) = id_and_actor(&envelope);
    setup
        .expect_rejection(&actor, &event_id, Some(&event_id), envelope, code)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_bytes_are_rejected_under_their_message_id() {
    let setup = Setup::new().await;
    setup
        .expect_rejection(
            DCMS,
            "garbage-1",
            Some("garbage-1"),
            vec![0xff; 40],
            RejectCode::Undecodable,
        )
        .await;
    // Without a message id the stream position names it.
    let stream_seq = setup
        .jetstream
        .get_stream("COVENANT_EVENTS")
        .await
        .unwrap()
        .cached_info()
        .state
        .last_sequence
        + 1;
    setup
        .expect_rejection(
            DCMS,
            &format!("stream-{stream_seq}"),
            None,
            vec![0x0a, 0xff],
            RejectCode::Undecodable,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_over_64_kib_is_rejected_as_oversized() {
    let mut setup = Setup::new().await;
    let mut big = commitment("c-big");
    if let covenant_core::proto::event_body::Kind::CommitmentMade(made) = &mut big {
        made.text = "x".repeat(70 * 1024);
    }
    let envelope = setup.world.emit(DCMS, "dcms-1", big);
    assert!(envelope.len() > 64 * 1024);
    let notice = expect_own_rejection(&setup, envelope, RejectCode::Oversized).await;
    assert!(
        notice.message.contains("over the 65000-byte limit"),
        "{}",
        notice.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signature_unknown_key_and_another_actors_key_are_rejected() {
    let mut setup = Setup::new().await;
    let mut tampered = setup.world.commitment(DCMS, "dcms-1", "c-1");
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    expect_own_rejection(&setup, tampered, RejectCode::BadSignature).await;

    setup.world.add_ungranted_key("ghost-1", 40);
    let unknown = setup.world.commitment(DCMS, "ghost-1", "c-2");
    let notice = expect_own_rejection(&setup, unknown, RejectCode::UnknownKey).await;
    assert!(notice.message.contains("ghost-1"), "{}", notice.message);

    let foreign = setup.world.commitment(DCMS, "dhsc-1", "c-3");
    let notice = expect_own_rejection(&setup, foreign, RejectCode::UnauthorisedKey).await;
    assert!(
        notice
            .message
            .contains("speaks for GB-GOV-DHSC, not GB-GOV-DCMS"),
        "{}",
        notice.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_without_a_restart_and_the_revoked_key_is_refused() {
    let mut setup = Setup::new().await;
    let grant = setup.world.grant("dcms-2", DCMS, 4);
    setup.accept(grant).await;
    let with_new_key = setup.world.commitment(DCMS, "dcms-2", "c-new");
    setup.accept(with_new_key).await;
    let revoke = setup.world.revoke("dcms-1");
    setup.accept(revoke).await;
    let with_old_key = setup.world.commitment(DCMS, "dcms-1", "c-old");
    expect_own_rejection(&setup, with_old_key, RejectCode::RevokedKey).await;
    let again_new = setup.world.commitment(DCMS, "dcms-2", "c-newer");
    setup.accept(again_new).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equivocation_is_rejected_and_both_envelopes_are_kept() {
    let mut setup = Setup::new().await;
    let id = setup.world.fresh_id();
    let first = setup
        .world
        .emit_with_id(&id, DCMS, "dcms-1", commitment("c-1"));
    let second = setup
        .world
        .emit_with_id(&id, DCMS, "dcms-1", commitment("c-1-changed"));
    setup.accept(first.clone()).await;
    // Within JetStream's duplicate window the broker itself would drop a second message with
    // the same Nats-Msg-Id; after it (simulated with another message id) the ledger decides.
    let notice = setup
        .expect_rejection(
            DCMS,
            &id,
            Some("after-the-window"),
            second,
            RejectCode::Equivocation,
        )
        .await;
    assert!(
        notice.message.contains("both are kept as evidence"),
        "{}",
        notice.message
    );
    let indexed = setup
        .node
        .store
        .event(&id)
        .unwrap()
        .expect("the first stays in the log");
    let entry = setup.node.store.entry(indexed.seq).unwrap().unwrap();
    assert_eq!(covenant_core::entry::envelope_of(&entry), first);
    // The very same bytes again are a duplicate: acknowledged, not appended, not rejected.
    let size = setup.node.store.head().size;
    let stream_seq = publish_raw(&setup.jetstream, DCMS, Some("replay"), first).await;
    setup.node.wait_for_stream_seq(stream_seq).await;
    assert_eq!(setup.node.store.head().size, size);
    assert_eq!(setup.node.metrics.duplicates(), 1);
}

/// Someone without the key re-encodes a genuine envelope already in the log (an unknown field
/// appended, a field repeated): the copy decodes to the same values and its signature would
/// verify, but it is refused as not canonical and never recorded as the signer's equivocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_altered_copy_of_a_signed_envelope_is_not_equivocation() {
    let mut setup = Setup::new().await;
    let genuine = setup.world.commitment(DCMS, "dcms-1", "c-1");
    let (id, _) = id_and_actor(&genuine);
    setup.accept(genuine.clone()).await;
    let appended = [genuine.as_slice(), &[0x78, 0x01]].concat();
    let decoded =
        <covenant_core::proto::Envelope as prost::Message>::decode(genuine.as_slice()).unwrap();
    let repeated = [
        genuine.as_slice(),
        &prost::Message::encode_to_vec(&covenant_core::proto::Envelope {
            actor: decoded.actor.clone(),
            ..Default::default()
        }),
    ]
    .concat();
    for (attempt, altered) in [appended, repeated].into_iter().enumerate() {
        let msg_id = format!("altered-{attempt}");
        let notice = setup
            .expect_rejection(DCMS, &id, Some(&msg_id), altered, RejectCode::NonCanonical)
            .await;
        assert!(notice.message.contains("canonical"), "{}", notice.message);
    }
    let records = setup.node.store.rejections_for(&id).unwrap();
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .all(|record| record.code == RejectCode::NonCanonical),
        "{records:?}"
    );
    assert_eq!(setup.node.metrics.rejected(RejectCode::Equivocation), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_foreign_commitments_are_rejected() {
    let mut setup = Setup::new().await;
    let unknown = setup
        .world
        .emit(DCMS, "dcms-1", action("a-1", &["c-missing"]));
    expect_own_rejection(&setup, unknown, RejectCode::UnknownCommitment).await;
    let theirs = setup.world.commitment(DHSC, "dhsc-1", "c-dhsc");
    setup.accept(theirs).await;
    let foreign = setup.world.emit(DCMS, "dcms-1", action("a-2", &["c-dhsc"]));
    expect_own_rejection(&setup, foreign, RejectCode::ForeignCommitment).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_on_a_withdrawn_commitment_is_rejected() {
    let mut setup = Setup::new().await;
    let made = setup.world.commitment(DCMS, "dcms-1", "c-w");
    setup.accept(made).await;
    let withdrawn = setup.world.emit(DCMS, "dcms-1", withdrawal("c-w"));
    setup.accept(withdrawn).await;
    let late = setup.world.emit(DCMS, "dcms-1", outcome("c-w"));
    expect_own_rejection(&setup, late, RejectCode::CommitmentWithdrawn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timestamp_far_in_the_future_is_rejected() {
    let mut setup = Setup::new().await;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let next_hour = setup
        .world
        .emit_at(DCMS, "dcms-1", commitment("c-f"), now_ms + 3_600_000);
    let notice = expect_own_rejection(&setup, next_hour, RejectCode::FutureTimestamp).await;
    assert!(
        notice.message.contains("more than 10 minutes after"),
        "{}",
        notice.message
    );
    // Five minutes ahead is within the allowed skew.
    let soon = setup
        .world
        .emit_at(DCMS, "dcms-1", commitment("c-s"), now_ms + 300_000);
    setup.accept(soon).await;
}
