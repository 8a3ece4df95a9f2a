//! deploy/nats/auth.conf on a real nats-server: an emitter may publish only on its own actor's
//! subject; the ledger user can run the ledger.

use super::support::world;
use super::support::*;
use covenant_testkit::NatsServer;
use std::time::Duration;

/// The example public nkeys in deploy/nats/auth.conf, in the order they appear.
const EXAMPLE_KEYS: [&str; 4] = [
    "UC3E3ORDZ5Y352AA3KCJNN5JR7BK3SOAXRDFL4XTM4BTSAG6MMNRCYB3",
    "UBH3SKQG3PWNMFYTM5E5L7PKTGV3WGXO3E6MND5I2LLVML6FFMHALT5X",
    "UBHUXAOHPYY3BPHAYSQVVUJU2YEOFBI4JX22UDPMOJHVFSUIZG7WY5BL",
    "UAPMNN2B7BS3H43BJLCADIDKUUVBZAMZ4YCPBCBVWQTD4QKYD6ETOT6O",
];

/// Start nats-server with deploy/nats/auth.conf, its example keys replaced by `keys`.
fn start_with_auth(dir: &std::path::Path, keys: &[String; 4]) -> (NatsServer, String) {
    let mut auth = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/nats/auth.conf"
    ))
    .expect("read deploy/nats/auth.conf");
    for (example, key) in EXAMPLE_KEYS.iter().zip(keys) {
        assert!(auth.contains(example), "auth.conf still lists {example}");
        auth = auth.replace(example, key);
    }
    std::fs::write(dir.join("auth.conf"), auth).unwrap();
    let server = NatsServer::start_with_config(&dir.join("auth.conf"));
    let url = server.url();
    (server, url)
}

async fn connect_as(url: &str, seed: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_nkey(seed.to_owned())
        .connect(url)
        .await
        .expect("connect with the nkey")
}

#[test]
fn an_emitter_may_publish_only_on_its_own_subject() {
    let dir = tempfile::tempdir().unwrap();
    let pairs: Vec<nkeys::KeyPair> = (0..4).map(|_| nkeys::KeyPair::new_user()).collect();
    let public: [String; 4] = std::array::from_fn(|i| pairs[i].public_key());
    let seed = |i: usize| pairs[i].seed().unwrap();
    let (_server, url) = start_with_auth(dir.path(), &public);
    let mut world = World::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // The ledger user can create and read the stream.
        let ledger = async_nats::jetstream::new(connect_as(&url, &seed(0)).await);
        covenant_ledger::ensure_stream(&ledger, &covenant_ledger::StreamSettings::default())
            .await
            .expect("the ledger user manages the stream");

        let dcms = {
            let client = connect_as(&url, &seed(2)).await;
            let mut context = async_nats::jetstream::new(client);
            context.set_timeout(Duration::from_secs(2));
            context
        };
        world.add_ungranted_key("dcms-1", 2);
        let own = world.commitment("GB-GOV-DCMS", "dcms-1", "c-1");
        world::publish(&dcms, own).await;

        let mut ledger_stream = ledger.get_stream("COVENANT_EVENTS").await.unwrap();
        let before = ledger_stream.info().await.unwrap().state.messages;
        world.add_ungranted_key("dhsc-1", 3);
        let foreign = world.commitment("GB-GOV-DHSC", "dhsc-1", "c-2");
        let attempt = dcms
            .send_publish(
                "acct.events.GB-GOV-DHSC",
                async_nats::jetstream::message::PublishMessage::build().payload(foreign.into()),
            )
            .await;
        let refused = match attempt {
            Err(_) => true,
            Ok(ack) => ack.await.is_err(),
        };
        assert!(refused, "the broker refused DCMS publishing as DHSC");
        let after = ledger_stream.info().await.unwrap().state.messages;
        assert_eq!(after, before, "nothing reached the stream");

        // A watcher can read checkpoints but cannot publish events.
        let watcher = async_nats::jetstream::new(connect_as(&url, &seed(1)).await);
        let mut watcher = watcher;
        watcher.set_timeout(Duration::from_secs(2));
        let attempt = watcher
            .send_publish(
                "acct.events.GB-GOV-DCMS",
                async_nats::jetstream::message::PublishMessage::build().payload(vec![1].into()),
            )
            .await;
        let refused = match attempt {
            Err(_) => true,
            Ok(ack) => ack.await.is_err(),
        };
        assert!(refused, "the watcher may not publish events");
        assert!(
            async_nats::connect(&url).await.is_err(),
            "anonymous users are refused"
        );
    });
}

/// `covenant keys grant --nats-seed-out` makes the emitter's NATS user with its grant: the
/// printed entry, pasted into the server's users, lets the emitter (connecting with the seed
/// file, through the emitter library) publish on its own actor's subject and nowhere else.
#[test]
fn keys_grant_makes_a_nats_user_that_publishes_only_as_its_actor() {
    use covenant_emit::publish::{Publisher, PublisherConfig};
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (code, _, stderr) = covenant(&[
        "keys",
        "generate",
        "--kind",
        "registrar",
        "--out",
        &path("reg.key"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, entry, stderr) = covenant(&[
        "keys",
        "grant",
        "--registrar-key",
        &path("reg.key"),
        "--key-id",
        "dcms-1",
        "--public-key",
        &"ab".repeat(32),
        "--actor",
        "GB-GOV-DCMS",
        "--role",
        "emitter",
        "--out",
        &path("grant.env"),
        "--nats-seed-out",
        &path("dcms.seed"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(entry.contains("\"acct.events.GB-GOV-DCMS\""), "{entry}");
    assert!(!entry.contains("acct.events.>"), "{entry}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path("dcms.seed"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let ledger = nkeys::KeyPair::new_user();
    let config = format!(
        "accounts {{\n  COVENANT {{\n    jetstream: enabled\n    users: [\n      {{ nkey: {}, permissions: {{ publish: [\">\"], subscribe: [\">\"] }} }}\n{entry}\n    ]\n  }}\n}}\n",
        ledger.public_key()
    );
    std::fs::write(dir.path().join("auth.conf"), config).unwrap();
    let server = NatsServer::start_with_config(&dir.path().join("auth.conf"));
    let url = server.url();
    let mut world = World::new();
    world.add_ungranted_key("dcms-1", 2);
    world.add_ungranted_key("dhsc-1", 3);
    let own = world.commitment("GB-GOV-DCMS", "dcms-1", "c-1");
    let foreign = world.commitment("GB-GOV-DHSC", "dhsc-1", "c-2");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ledger = async_nats::jetstream::new(connect_as(&url, &ledger.seed().unwrap()).await);
        covenant_ledger::ensure_stream(&ledger, &covenant_ledger::StreamSettings::default())
            .await
            .expect("the ledger user manages the stream");
        let mut config = PublisherConfig::new(&url);
        config.credentials_file = Some(dir.path().join("dcms.seed"));
        config.ack_timeout = Duration::from_secs(2);
        config.retry.give_up_after = Duration::from_secs(3);
        let publisher = Publisher::connect(config)
            .await
            .expect("the seed file connects");
        let own = covenant_emit::build::SealedEvent::from_bytes(own).unwrap();
        publisher.publish(&own).await.expect("its own subject");
        let foreign = covenant_emit::build::SealedEvent::from_bytes(foreign).unwrap();
        assert!(
            publisher.publish(&foreign).await.is_err(),
            "another actor's subject is refused"
        );
        let mut stream = ledger.get_stream("COVENANT_EVENTS").await.unwrap();
        assert_eq!(stream.info().await.unwrap().state.messages, 1);
        assert!(
            async_nats::connect(&url).await.is_err(),
            "anonymous users are refused"
        );
    });
}
