//! The query API of `covenant serve` fed through NATS: a real nats-server, the ledger consuming
//! its stream, signed events published to JetStream, and the /v1 answers, CSV and Atom read
//! over HTTP; then a restart (the projections resume) and `covenant query rebuild`.

use crate::ledger::support::{Served, World, world, write_config};
use covenant_core::proto::event_body::Kind;
use covenant_core::proto::*;
use covenant_testkit::NatsServer;
use serde_json::Value;
use std::process::Command;

const DHSC: &str = "GB-GOV-DHSC";
const KEY: &str = "dhsc-1";

fn made(id: &str, title: &str, due_by: &str) -> Kind {
    Kind::CommitmentMade(CommitmentMade {
        commitment_id: id.into(),
        title: title.into(),
        text: format!("{title}, for every region"),
        made_on: "2025-09-01".into(),
        due_by: due_by.into(),
        themes: vec!["safety".into()],
        ..Default::default()
    })
}

fn publish_all(nats: &str, envelopes: Vec<Vec<u8>>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(nats).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        for envelope in envelopes {
            world::publish(&jetstream, envelope).await;
        }
    });
}

#[test]
fn the_query_api_answers_what_the_ledger_took_from_nats() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let config = write_config(dir.path(), &world);
    let data = dir.path().join("data");
    let served = Served::start(&config, &data, Some(&nats.url()));

    let mut envelopes = world.onboard(DHSC, KEY, 2);
    envelopes.push(world.emit(DHSC, KEY, made("dhsc-beds", "Open more beds", "2026-01-31")));
    envelopes.push(world.emit(
        DHSC,
        KEY,
        made("dhsc-nurses", "Recruit nurses", "2099-12-31"),
    ));
    envelopes.push(world.emit(DHSC, KEY, world::action("a-1", &["dhsc-nurses"])));
    envelopes.push(world.emit(
        DHSC,
        KEY,
        made("dhsc-clinics", "Open clinics", "2099-12-31"),
    ));
    envelopes.push(world.emit(DHSC, KEY, world::outcome("dhsc-clinics")));
    // Genesis and every envelope: the projections answer from what they have applied, so the
    // answers below wait until that is the whole log.
    let log_size = 1 + envelopes.len() as u64;
    publish_all(&nats.url(), envelopes);

    let card_path = format!("/v1/actors/{DHSC}");
    served.wait_for("the whole log projected", |s| {
        s.try_get(&card_path)
            .and_then(|(status, _, body)| (status == 200).then_some(body))
            .and_then(|body| serde_json::from_str::<Value>(&body).ok())
            .is_some_and(|card| card["as_of"]["size"] == log_size)
    });
    let card = served.json(&card_path);
    assert_eq!(card["commitments"], 3);
    assert_eq!(card["counts"]["overdue"], 1, "dhsc-beds was due 2026-01-31");
    assert_eq!(card["counts"]["in_progress"], 1);
    assert_eq!(card["counts"]["delivered"], 1);
    assert_eq!(card["delivery_rate"], 1.0);
    assert_eq!(card["overdue"]["items"][0]["id"], "dhsc-beds");

    let search = served.json("/v1/commitments?q=nurses%20REGION");
    assert_eq!(search["items"][0]["id"], "dhsc-nurses");
    assert_eq!(search["items"].as_array().unwrap().len(), 1);
    let history = served.json("/v1/commitments/dhsc-clinics/history");
    let events = history["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["kind"], "outcome_reported");
    let proof = events[1]["proof"]["inclusion"].as_str().unwrap().to_owned();
    served.wait_for("a checkpoint covering the outcome", |s| {
        s.try_get(&proof)
            .is_some_and(|(status, _, _)| status == 200)
    });
    let (status, content_type, csv) = served.get("/v1/commitments.csv");
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/csv"));
    assert_eq!(csv.lines().count(), 4, "header and three rows: {csv}");
    let (status, _, atom) = served.get(&format!("/v1/actors/{DHSC}/feed.atom"));
    assert_eq!(status, 200);
    let feed: atom_syndication::Feed = atom.parse().expect("valid Atom");
    assert!(
        feed.entries
            .iter()
            .any(|e| e.title.value.starts_with("Overdue: Open more beds"))
    );
    let (status, _, body) = served.get("/v1/commitments?as_of=tomorrow");
    assert_eq!(status, 400, "{body}");

    // A restart resumes from the stored projections; a rebuild from the log gives the same.
    let _ = served.terminate();
    let restarted = Served::start(&config, &data, Some(&nats.url()));
    assert_eq!(restarted.json(&card_path), card);
    let _ = restarted.terminate();
    let rebuild = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .args(["query", "rebuild", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        rebuild.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuild.stderr)
    );
    let rebuilt = Served::start(&config, &data, Some(&nats.url()));
    assert_eq!(rebuilt.json(&card_path), card);
}

#[test]
fn query_rebuild_names_a_missing_store() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .args(["query", "rebuild", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("open store"), "{stderr}");
}
