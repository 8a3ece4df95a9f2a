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
