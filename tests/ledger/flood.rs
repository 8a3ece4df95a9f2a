//! A flood of junk through every door of `covenant serve` on a real nats-server: envelopes of
//! 64 KB signed by a key nobody granted, POSTed to `/v1/events` and published straight to the
//! stream, while genuine events keep arriving. Nothing of the HTTPS junk reaches the stream or
//! the log: the door remembers a small refusal record of each (its header and the reason, in a
//! table of at most `covenant_store::MAX_DOOR_REFUSALS`); what reaches the ledger through NATS
//! costs a bounded, small rejection record each; genuine events are accepted throughout, and
//! their latency is measured.
//!
//! `COVENANT_FLOOD_ENVELOPES` (default 600 per door) makes it bigger: `just flood` runs it with
//! many thousands and prints the figures BENCHMARKS.md quotes.

use super::support::world::{self, jetstream};
use super::support::*;
use covenant_core::proto::event_body::Kind;
use covenant_testkit::NatsServer;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const DCMS: &str = "GB-GOV-DCMS";
/// A junk envelope's size: just under the 65 000-byte limit.
const JUNK_TEXT_BYTES: usize = 64_000;
/// What one rejected junk envelope may cost the ledger's store, at most, on average.
const STORE_BYTES_PER_JUNK: u64 = 2_048;
/// Room for the storage engine's own granularity (segments, snapshots) and the genuine events.
const STORE_SLACK_BYTES: u64 = 8 << 20;

fn flood_size() -> usize {
    std::env::var("COVENANT_FLOOD_ENVELOPES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(600)
}

/// Bytes the files under `dir` take on disk.
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        let Ok(items) = std::fs::read_dir(&next) else {
            continue;
        };
        for item in items.flatten() {
            let Ok(metadata) = item.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                pending.push(item.path());
            } else {
                total += metadata.blocks() * 512;
            }
        }
    }
    total
}

fn junk(world: &mut World, n: usize) -> Vec<u8> {
    let mut kind = world::commitment(&format!("junk-{n}"));
    if let Kind::CommitmentMade(made) = &mut kind {
        made.text = "j".repeat(JUNK_TEXT_BYTES);
    }
    world.emit(DCMS, "ghost-1", kind)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn a_flood_of_junk_costs_bounded_space_and_genuine_events_still_get_in() {
    let envelopes = flood_size();
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    // A rate limit far above the flood, so that every junk envelope meets the door's checks.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[http]\ningest_per_second = 1000000.0\ningest_burst = 1000000\n");
    std::fs::write(&config, text).unwrap();
    let data = dir.path().join("data");
    let served = Served::start(&config, &data, Some(&server.url()));
    let url = served.base_url.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let js = runtime.block_on(jetstream(&server.url()));
    let onboarding = world.onboard(DCMS, "dcms-1", 2);
    let last_onboarded = world::id_and_actor(&onboarding[1]).0;
    runtime.block_on(async {
        for envelope in onboarding {
            world::publish(&js, envelope).await;
        }
    });
    wait_for_decision(&url, &last_onboarded);
    world.add_ungranted_key("ghost-1", 40);
    let http_junk: Vec<Vec<u8>> = (0..envelopes).map(|n| junk(&mut world, n)).collect();
    let nats_junk: Vec<Vec<u8>> = (0..envelopes)
        .map(|n| junk(&mut world, envelopes + n))
        .collect();
    let junk_bytes = http_junk[0].len();
    assert!(junk_bytes > 64_000 && junk_bytes <= covenant_core::MAX_ENVELOPE_BYTES);
    let genuine: Vec<Vec<u8>> = (0..40)
        .map(|n| world.commitment(DCMS, "dcms-1", &format!("c-{n}")))
        .collect();
    let store_before = disk_usage(&data.join("log"));
    let stream_info = |js: &async_nats::jetstream::Context| {
        runtime.block_on(async {
            let mut stream = js.get_stream("COVENANT_EVENTS").await.unwrap();
            stream.info().await.unwrap().state.clone()
        })
    };
    let stream_before = stream_info(&js);

    let started = Instant::now();
    let flooding = Arc::new(AtomicBool::new(true));
    // Door 1: HTTPS, from four clients at once.
    let http_flood: Vec<_> = http_junk
        .chunks(envelopes.div_ceil(4))
        .map(|chunk| {
            let (url, chunk) = (url.clone(), chunk.to_vec());
            std::thread::spawn(move || {
                chunk
                    .into_iter()
                    .map(|envelope| post_envelope(&url, envelope, "application/x-protobuf").0)
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    // Door 2: straight onto the stream (what a granted emitter's NATS user could send).
    let nats_flood = {
        let js = js.clone();
        let nats_junk = nats_junk.clone();
        runtime.spawn(async move {
            // At most 256 publishes awaiting their acknowledgement, as a real publisher keeps.
            let mut acks = std::collections::VecDeque::new();
            for envelope in nats_junk {
                if acks.len() >= 256 {
                    let ack: async_nats::jetstream::context::PublishAckFuture =
                        acks.pop_front().expect("not empty");
                    ack.await.expect("stored");
                }
                let message_id = covenant_core::subject::message_id(&envelope);
                let message = async_nats::jetstream::message::PublishMessage::build()
                    .payload(envelope.into())
                    .message_id(message_id);
                acks.push_back(
                    js.send_publish(covenant_core::subject::event_subject(DCMS), message)
                        .await
                        .expect("publish"),
                );
            }
            for ack in acks {
                ack.await.expect("stored");
            }
        })
    };
    // Genuine events through the HTTPS door meanwhile, one at a time; each one's latency is
    // from the POST to the ledger's decision.
    let genuine_flow = {
        let url = url.clone();
        let flooding = flooding.clone();
        std::thread::spawn(move || {
            let mut latencies = Vec::new();
            for envelope in genuine {
                let id = world::id_and_actor(&envelope).0;
                let during_flood = flooding.load(Ordering::Relaxed);
                let sent = Instant::now();
                let (status, json) = post_envelope(&url, envelope, "application/x-protobuf");
                assert_eq!(status, 202, "a genuine event is queued: {json}");
                let decided = wait_for_decision(&url, &id);
                assert_eq!(decided["status"], "accepted", "{decided}");
                latencies.push((sent.elapsed(), during_flood));
                std::thread::sleep(Duration::from_millis(25));
            }
            latencies
        })
    };
    let mut http_statuses = Vec::new();
    for client in http_flood {
        http_statuses.extend(client.join().unwrap());
    }
    runtime.block_on(nats_flood).unwrap();
    flooding.store(false, Ordering::Relaxed);
    let flood_time = started.elapsed();
    let latencies = genuine_flow.join().unwrap();

    // Every junk envelope at the HTTPS door was refused (403: the key was never granted).
    assert!(
        http_statuses.iter().all(|status| *status == 403),
        "{:?}",
        http_statuses.iter().find(|s| **s != 403)
    );
    // The ledger has read everything the stream holds.
    let stream_after = stream_info(&js);
    served.wait_for("the ledger to read the whole stream", |served| {
        served.metric("covenant_ledger_stream_sequence") == Some(stream_after.last_sequence as f64)
    });
    let store_after = disk_usage(&data.join("log"));
    let stream_messages = stream_after.messages - stream_before.messages;
    assert_eq!(
        stream_messages,
        (envelopes + latencies.len()) as u64,
        "only the NATS junk and the genuine events reached the stream: no HTTPS junk"
    );
    assert_eq!(
        served.metric("covenant_ledger_events_rejected_total{code=\"unknown_key\"}"),
        Some(envelopes as f64),
        "every piece of NATS junk was rejected"
    );
    let store_growth = store_after.saturating_sub(store_before);
    // Each junk envelope through either door costs at most its small record.
    let bound = STORE_BYTES_PER_JUNK * 2 * envelopes as u64 + STORE_SLACK_BYTES;
    let mut sorted: Vec<Duration> = latencies.iter().map(|(latency, _)| *latency).collect();
    sorted.sort();
    let during = latencies.iter().filter(|(_, flooding)| *flooding).count();
    eprintln!(
        "flood: {envelopes} junk envelopes of {junk_bytes} bytes through each door in {:.1} s \
         ({:.0} MB offered); stream +{:.1} MB (NATS junk and genuine only); ledger store +{:.2} MB \
         (bound {:.1} MB, {:.0} bytes per junk envelope); {} genuine events accepted, {during} \
         during the flood, latency p50 {:?} p99 {:?} max {:?}",
        flood_time.as_secs_f64(),
        (2 * envelopes * junk_bytes) as f64 / 1e6,
        (stream_after.bytes - stream_before.bytes) as f64 / 1e6,
        store_growth as f64 / 1e6,
        bound as f64 / 1e6,
        store_growth as f64 / (2 * envelopes) as f64,
        latencies.len(),
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.99),
        sorted[sorted.len() - 1],
    );
    assert!(
        store_growth <= bound,
        "the store grew {store_growth} bytes for {envelopes} rejected envelopes (bound {bound})"
    );
    assert!(during > 0, "some genuine events were sent during the flood");
    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");
}

#[test]
fn too_many_envelopes_from_one_address_get_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[http]\ningest_per_second = 0.5\ningest_burst = 3\n");
    std::fs::write(&config, text).unwrap();
    let served = Served::start(&config, &dir.path().join("data"), None);
    world.add_ungranted_key("dcms-1", 2);
    // A new connection per request: the server may close a connection after refusing a
    // request whose body it did not read, and a pooled connection reused in that moment ends
    // in "peer disconnected" instead of an answer (seen once on a loaded machine).
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(0)
        .build()
        .into();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    let mut too_many = serde_json::Value::Null;
    for n in 0..6 {
        let envelope = world.commitment(DCMS, "dcms-1", &format!("c-{n}"));
        let response = agent
            .post(format!("{}/v1/events", served.base_url))
            .header("Content-Type", "application/x-protobuf")
            .send(&envelope[..])
            .unwrap();
        let mut response = response;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            too_many = serde_json::from_str(&response.body_mut().read_to_string().unwrap())
                .unwrap_or_default();
        }
    }
    // Three from the burst (refused by the ledger: the key was never granted), then 429.
    assert_eq!(statuses, [403, 403, 403, 429, 429, 429], "{statuses:?}");
    assert_eq!(retry_after.as_deref(), Some("2"));
    assert_eq!(too_many["error"]["code"], "too_many_requests", "{too_many}");
    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");
}
