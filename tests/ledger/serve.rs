//! `covenant serve`: HTTPS ingest in both modes, event status, metrics, clean shutdown, the
//! generated log key, and refusing a different genesis.

use super::support::world::{action, commitment};
use super::support::*;
use covenant_testkit::NatsServer;

const PROTOBUF: &str = "application/x-protobuf";
const DCMS: &str = "GB-GOV-DCMS";

fn id_of(envelope: &[u8]) -> String {
    world::id_and_actor(envelope).0
}

#[test]
fn embedded_ingest_answers_synchronously_and_status_follows() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    let data = dir.path().join("data");
    let served = Served::start(&config, &data, None);
    let url = served.base_url.clone();

    let mut grant_id = String::new();
    for (position, envelope) in world.onboard(DCMS, "dcms-1", 2).into_iter().enumerate() {
        grant_id = id_of(&envelope);
        let (status, json) = post_envelope(&url, envelope, PROTOBUF);
        assert_eq!(status, 202, "{json}");
        assert_eq!(json["status"], "accepted");
        assert_eq!(json["seq"], position as u64 + 1);
    }
    let made = world.commitment(DCMS, "dcms-1", "c-1");
    let made_id = id_of(&made);
    let (status, json) = post_envelope(&url, made.clone(), PROTOBUF);
    assert_eq!((status, json["seq"].as_u64()), (202, Some(3)));
    assert_documented("post-accepted", &json);
    let (status, json) = post_envelope(&url, made, PROTOBUF);
    assert_eq!(
        (status, &json["duplicate"]),
        (202, &serde_json::json!(true)),
        "{json}"
    );

    // Stateless problems: 400 with the rejection, at once.
    let (status, json) = post_envelope(&url, vec![0xff; 30], PROTOBUF);
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (400, Some("undecodable")),
        "{json}"
    );
    let mut big = commitment("c-big");
    if let covenant_core::proto::event_body::Kind::CommitmentMade(made) = &mut big {
        made.text = "x".repeat(70 * 1024);
    }
    let oversized = world.emit(DCMS, "dcms-1", big);
    let (status, json) = post_envelope(&url, oversized, PROTOBUF);
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (400, Some("oversized")),
        "{json}"
    );
    let (status, json) = post_envelope(
        &url,
        world.commitment(DCMS, "dcms-1", "c-2"),
        "application/json",
    );
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (415, Some("unsupported_media_type")),
        "{json}"
    );

    // Key problems are refused at the door: nothing reaches the log, the refusal is
    // remembered under the event id.
    world.add_ungranted_key("ghost-1", 40);
    let unknown_key = world.commitment(DCMS, "ghost-1", "c-3");
    let unknown_key_id = id_of(&unknown_key);
    let (status, refused) = post_envelope(&url, unknown_key, PROTOBUF);
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("unknown_key")),
        "{refused}"
    );
    assert_eq!(refused["error"]["event_id"], unknown_key_id.as_str());
    assert_documented("post-refused", &refused);
    // The sequencer's decisions come back synchronously.
    let missing = world.emit(DCMS, "dcms-1", action("a-1", &["c-missing"]));
    let missing_id = id_of(&missing);
    let (status, json) = post_envelope(&url, missing, PROTOBUF);
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (422, Some("unknown_commitment")),
        "{json}"
    );
    assert_documented("post-refused", &json);
    let conflicting = world.emit_with_id(&made_id, DCMS, "dcms-1", commitment("c-other"));
    let (status, json) = post_envelope(&url, conflicting, PROTOBUF);
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (409, Some("equivocation")),
        "{json}"
    );

    // A refusal at the door under an accepted event's id changes nothing about it.
    let impostor = world.emit_with_id(&made_id, DCMS, "ghost-1", commitment("c-impostor"));
    let (status, json) = post_envelope(&url, impostor, PROTOBUF);
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (403, Some("unknown_key")),
        "{json}"
    );
    let (status, json) = event_status(&url, &made_id);
    assert_eq!(
        (status, json["status"].as_str(), json["seq"].as_u64()),
        (200, Some("accepted"), Some(3))
    );
    assert_eq!(json["rejections"][0]["code"], "equivocation");
    assert_eq!(
        json["rejections"].as_array().map(Vec::len),
        Some(1),
        "only the ledger's own rejection: {json}"
    );
    let (status, json) = event_status(&url, &unknown_key_id);
    assert_eq!(
        (status, json["status"].as_str(), json["code"].as_str()),
        (200, Some("rejected"), Some("unknown_key")),
        "refused at the door, then asked about: {json}"
    );
    assert_eq!(json["message"], refused["error"]["message"], "{json}");
    assert_eq!(json["stream_seq"], 0, "{json}");
    assert_documented("status-rejected", &json);
    // A refusal at the door answers exactly as one the ledger decided.
    let (status, decided) = event_status(&url, &missing_id);
    assert_eq!(
        (status, decided["code"].as_str()),
        (200, Some("unknown_commitment"))
    );
    assert_documented("status-rejected", &decided);
    let (status, json) = event_status(&url, &grant_id);
    assert_eq!((status, json["seq"].as_u64()), (200, Some(2)), "{json}");
    assert_documented("status-accepted", &json);
    assert_eq!(
        covenant(&["events", "status", &unknown_key_id, "--server", &url]).0,
        2
    );
    // A refusal remembered first gives way once the genuine event under that id is accepted.
    let contested = world.fresh_id();
    let junk_first = world.emit_with_id(&contested, DCMS, "ghost-1", commitment("c-4"));
    assert_eq!(post_envelope(&url, junk_first, PROTOBUF).0, 403);
    assert_eq!(event_status(&url, &contested).1["status"], "rejected");
    let genuine = world.emit_with_id(&contested, DCMS, "dcms-1", commitment("c-4"));
    assert_eq!(post_envelope(&url, genuine, PROTOBUF).0, 202);
    let (status, json) = event_status(&url, &contested);
    assert_eq!(
        (status, json["status"].as_str(), &json["rejections"]),
        (200, Some("accepted"), &serde_json::json!([])),
        "{json}"
    );
    let never = world.fresh_id();
    let (status, json) = event_status(&url, &never);
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{json}"
    );
    assert_eq!(json["error"]["event_id"], never.as_str());
    assert_documented("status-unknown", &json);

    assert_eq!(
        covenant(&["events", "status", &made_id, "--server", &url]).0,
        0
    );
    let equivocation_id = made_id.clone();
    let (code, stdout, _) = covenant(&["events", "status", &equivocation_id, "--server", &url]);
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = covenant(&["events", "status", &never, "--server", &url]);
    assert_eq!(code, 3);
    assert!(
        stdout.contains("(not processed yet, or never published)"),
        "{stdout}"
    );
    let (code, stdout, _) = covenant(&["events", "status", "NOTANID", "--server", &url]);
    assert_eq!(code, 3, "unknown, as the ledger answers");
    assert!(
        stdout.contains("it is not an event id, a ULID or a UUIDv7, so no event has it"),
        "{stdout}"
    );

    assert_eq!(
        served.metric("covenant_ledger_events_rejected_total{code=\"unknown_key\"}"),
        None
    );
    assert_eq!(
        served.metric("covenant_ledger_ingest_refused_total{code=\"unknown_key\"}"),
        Some(3.0),
        "the ghost's envelope, its attempt on the accepted event's id and on a new one"
    );
    assert_eq!(
        served.metric("covenant_ledger_ingest_refused_total{code=\"oversized\"}"),
        Some(1.0)
    );
    assert_eq!(served.metric("covenant_ledger_log_size"), Some(5.0));

    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("stopped cleanly at 5 entries"), "{stderr}");
}

/// A re-encoded copy of a genuine envelope (same values, so the signature would verify) is
/// refused at the HTTPS door as not canonical, and the genuine event's status never shows an
/// equivocation by its signer.
#[test]
fn an_altered_copy_is_refused_at_the_https_door_and_blames_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    let served = Served::start(&config, &dir.path().join("data"), None);
    let url = served.base_url.clone();
    for envelope in world.onboard(DCMS, "dcms-1", 2) {
        assert_eq!(post_envelope(&url, envelope, PROTOBUF).0, 202);
    }
    let genuine = world.commitment(DCMS, "dcms-1", "c-1");
    let id = id_of(&genuine);
    assert_eq!(post_envelope(&url, genuine.clone(), PROTOBUF).0, 202);
    let appended = [genuine.as_slice(), &[0x78, 0x01]].concat();
    let (status, json) = post_envelope(&url, appended, PROTOBUF);
    assert_eq!(status, 400, "{json}");
    assert!(json.to_string().contains("non_canonical"), "{json}");
    let (status, json) = event_status(&url, &id);
    assert_eq!((status, json["status"].as_str()), (200, Some("accepted")));
    assert!(!json.to_string().contains("equivocation"), "{json}");
    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");
}

#[test]
fn nats_ingest_queues_and_the_decision_comes_by_status() {
    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    let served = Served::start(&config, &dir.path().join("data"), Some(&server.url()));
    let url = served.base_url.clone();
    let mut last_id = String::new();
    for envelope in world.onboard(DCMS, "dcms-1", 2) {
        last_id = id_of(&envelope);
        let (status, json) = post_envelope(&url, envelope, PROTOBUF);
        assert_eq!(
            (status, json["status"].as_str()),
            (202, Some("queued")),
            "{json}"
        );
        assert!(json["stream_seq"].as_u64().is_some());
        assert_documented("post-queued", &json);
    }
    assert_eq!(wait_for_decision(&url, &last_id)["seq"], 2);
    let (status, json) = post_envelope(&url, vec![0x0a, 0xff], PROTOBUF);
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (400, Some("undecodable")),
        "{json}"
    );
    // Key and signature problems are refused at the door: nothing reaches the stream.
    world.add_ungranted_key("ghost-1", 40);
    let unknown_key = world.commitment(DCMS, "ghost-1", "c-1");
    let unknown_key_id = id_of(&unknown_key);
    let (status, json) = post_envelope(&url, unknown_key, PROTOBUF);
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (403, Some("unknown_key")),
        "{json}"
    );
    let (status, json) = event_status(&url, &unknown_key_id);
    assert_eq!(
        (status, json["status"].as_str(), json["code"].as_str()),
        (200, Some("rejected"), Some("unknown_key")),
        "a refusal at the door is remembered with a broker too: {json}"
    );
    // State rules are decided later, in stream order.
    let missing = world.emit(DCMS, "dcms-1", action("a-1", &["c-missing"]));
    let missing_id = id_of(&missing);
    let (status, json) = post_envelope(&url, missing, PROTOBUF);
    assert_eq!(
        (status, json["status"].as_str()),
        (202, Some("queued")),
        "{json}"
    );
    let decided = wait_for_decision(&url, &missing_id);
    assert_eq!(
        (decided["status"].as_str(), decided["code"].as_str()),
        (Some("rejected"), Some("unknown_commitment"))
    );
    assert_eq!(
        covenant(&["events", "status", &missing_id, "--server", &url]).0,
        2
    );
    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");
}

#[test]
fn first_start_generates_a_private_log_key_and_a_changed_genesis_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let world = World::new();
    let config = write_config(dir.path(), &world);
    let data = dir.path().join("data");
    let served = Served::start(&config, &data, None);
    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("generated a new log signing key"),
        "{stderr}"
    );
    let mode = std::fs::metadata(data.join("log.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Same key on the second start, no new one.
    let served = Served::start(&config, &data, None);
    let (_, stderr) = served.terminate();
    assert!(!stderr.contains("generated"), "{stderr}");

    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("ledger tests", "another log");
    std::fs::write(&config, text).unwrap();
    let (code, _, stderr) = covenant(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_ne!(code, 0);
    assert!(stderr.contains("different genesis"), "{stderr}");
    assert!(
        stderr.contains("description: stored \"ledger tests\", configured \"another log\""),
        "{stderr}"
    );
}

#[test]
fn a_sigterm_while_starting_stops_the_ledger_cleanly() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &World::new());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_covenant"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start covenant serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stderr = String::new();
    // The first start generates the log key: the ledger is still opening its store.
    for line in lines.by_ref().map_while(Result::ok) {
        stderr.push_str(&(line.clone() + "\n"));
        if line.contains("generated a new log signing key") {
            break;
        }
    }
    covenant_testkit::send_signal(child.id(), covenant_testkit::SIGTERM, false);
    lines
        .map_while(Result::ok)
        .for_each(|line| stderr.push_str(&(line + "\n")));
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("terminated; finishing"), "{stderr}");
    assert!(stderr.contains("stopped cleanly at 1 entries"), "{stderr}");
}
