//! A new replica seeded from a copy of another replica's store (`covenant ledger seed`): the
//! copy is checked completely before it becomes the store, then `covenant serve` continues
//! from the copy's stream position and ends with the same log as the replica it came from. A
//! damaged copy, or a copy of a log signed by another key, is refused and leaves nothing.

use super::support::world::{World, jetstream, publish};
use super::support::{Served, covenant, serve_command, write_config};
use covenant_emit::keys::{KeyFile, KeyKind};
use covenant_testkit::NatsServer;
use std::path::Path;
use std::process::Command;

const DCMS: &str = "GB-GOV-DCMS";

fn serve(config: &Path, data: &Path, log_key: &Path, nats: &str) -> Served {
    let mut command = serve_command(config, data);
    command.arg("--log-key").arg(log_key).args(["--nats", nats]);
    Served::spawn(command)
}

fn checkpoint(served: &Served) -> Option<(u64, String)> {
    let (status, _, note) = served.try_get("/log/checkpoint")?;
    let size = note.lines().nth(1)?.parse().ok()?;
    (status == 200).then_some((size, note))
}

fn write_log_key(path: &Path, world: &World) {
    let mut key = KeyFile::generate(KeyKind::Log);
    key.origin = Some(world.genesis().origin);
    key.write_new(path).unwrap();
}

fn seed(config: &Path, data: &Path, from: &Path, log_key: &Path) -> (i32, String, String) {
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    covenant(&[
        "ledger",
        "seed",
        "--config",
        &path(config),
        "--data",
        &path(data),
        "--from",
        &path(from),
        "--log-key",
        &path(log_key),
    ])
}

/// Flip one byte of the envelope of entry `victim` through the engine, so the engine's own
/// checksums hold and only the log's checks can notice.
pub(crate) fn damage_entry(store: &Path, victim: u64) {
    let db = covenant_store::open_sled(&covenant_store::sled_config(&store.join("sled"))).unwrap();
    let entries = db.open_tree("entries").unwrap();
    let (key, record) = entries
        .range(..=victim.to_be_bytes())
        .next_back()
        .unwrap()
        .unwrap();
    let first = u64::from_be_bytes(key.as_ref().try_into().unwrap());
    // Records are zstd frames (store format v4): damage the entry, not the frame.
    let record = zstd::decode_all(record.as_ref()).unwrap();
    // Each entry in a record: stored_at (8), previous (32), length (4), envelope.
    let mut at = 0;
    for _ in first..victim {
        let len = u32::from_be_bytes(record[at + 40..at + 44].try_into().unwrap()) as usize;
        at += 44 + len;
    }
    let mut damaged = record.to_vec();
    damaged[at + 44 + 20] ^= 0x01;
    entries
        .insert(key, zstd::bulk::compress(&damaged, 1).unwrap())
        .unwrap();
    db.flush().unwrap();
}

#[test]
fn a_replica_seeded_from_a_checked_copy_continues_from_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    let log_key = dir.path().join("log.key");
    write_log_key(&log_key, &world);
    let nats = NatsServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let publish_all = |envelopes: Vec<Vec<u8>>| {
        runtime.block_on(async {
            let js = jetstream(&nats.url()).await;
            for envelope in envelopes {
                publish(&js, envelope).await;
            }
        })
    };

    let original_data = dir.path().join("original");
    let original = serve(&config, &original_data, &log_key, &nats.url());
    let mut first = world.onboard(DCMS, "dcms-1", 2);
    for i in 0..30 {
        first.push(world.commitment(DCMS, "dcms-1", &format!("c-{i}")));
    }
    publish_all(first);
    original.wait_for("the first checkpoint", |s| {
        checkpoint(s).is_some_and(|(size, _)| size == 33)
    });
    let (status, stderr) = original.terminate();
    assert!(status.success(), "{stderr}");
    let copy = original_data.join("log");

    // A copy checked against another log key is refused, and nothing is left behind.
    let stranger_key = dir.path().join("stranger.key");
    write_log_key(&stranger_key, &world);
    let refused_data = dir.path().join("refused");
    let (code, _, stderr) = seed(&config, &refused_data, &copy, &stranger_key);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("FAILED: the copy"), "{stderr}");
    assert!(stderr.contains("was not kept"), "{stderr}");
    assert!(!refused_data.join("log").exists());
    assert!(!refused_data.join("log.seeding").exists());
    assert!(!refused_data.exists(), "the data directory it made is gone");

    // A damaged copy is refused with the entry named.
    let damaged_copy = dir.path().join("damaged-copy");
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let copied = Command::new("cp")
        .args(["-r", &path(&copy), &path(&damaged_copy)])
        .status()
        .unwrap();
    assert!(copied.success());
    damage_entry(&damaged_copy, 20);
    let (code, _, stderr) = seed(&config, &refused_data, &damaged_copy, &log_key);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("corrupt at entry 20"),
        "the damaged entry is named: {stderr}"
    );
    assert!(!refused_data.join("log").exists());

    // A good copy seeds a replica that continues from the stream.
    let seeded_data = dir.path().join("seeded");
    let (code, stdout, stderr) = seed(&config, &seeded_data, &copy, &log_key);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("continues from stream sequence 33"),
        "{stdout}"
    );
    assert!(stdout.contains("entries 33"), "{stdout}");
    assert!(
        stdout.contains("ok: store self-check: 33 entries"),
        "{stdout}"
    );
    let (code, _, stderr) = seed(&config, &seeded_data, &copy, &log_key);
    assert_ne!(code, 0, "a second seed into the same directory is refused");
    assert!(stderr.contains("already exists"), "{stderr}");

    let later: Vec<_> = (0..5)
        .map(|i| world.commitment(DCMS, "dcms-1", &format!("later-{i}")))
        .collect();
    publish_all(later);
    let seeded = serve(&config, &seeded_data, &log_key, &nats.url());
    let original = serve(&config, &original_data, &log_key, &nats.url());
    for served in [&seeded, &original] {
        served.wait_for("the later events", |s| {
            checkpoint(s).is_some_and(|(size, _)| size == 38)
        });
    }
    assert_eq!(
        checkpoint(&seeded).unwrap().1,
        checkpoint(&original).unwrap().1,
        "the seeded replica signs the same checkpoint as the one it was copied from"
    );
}
