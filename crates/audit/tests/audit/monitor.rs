//! `monitor`: following a growing log, and the alarms on a split view, a rollback, a fork and
//! bad new entries.

use crate::support::{TileServer, log_signer, published};
use covenant_audit::monitor::{Alarm, Finding, MonitorState, check_once, send_webhook};
use covenant_audit::{AuditError, Cosigned, HttpSource, Silent, WitnessQuorum};
use covenant_core::cosignature::{CosignatureVerifier, Cosigner};
use covenant_testkit::sample;
use std::path::Path;

/// One monitor run against `server`, saving the state when all is well.
fn run(server: &TileServer, state_file: &Path) -> Result<Finding, Alarm> {
    let (outcome, cosigned) = run_requiring(server, state_file, &WitnessQuorum::default())?;
    assert_eq!(cosigned, None, "no witness was required");
    Ok(outcome)
}

/// A monitor run that requires `witnesses`' cosignatures.
fn run_requiring(
    server: &TileServer,
    state_file: &Path,
    witnesses: &WitnessQuorum,
) -> Result<(Finding, Option<Cosigned>), Alarm> {
    let source = HttpSource::new(&server.url()).unwrap();
    let state = MonitorState::load(state_file).unwrap();
    let key = log_signer().verifier_key();
    let (state, outcome, cosigned) = check_once(&source, state, &key, witnesses, &Silent)?;
    state.save(state_file).unwrap();
    Ok((outcome, cosigned))
}

fn log(size: u64, departments: usize) -> covenant_audit::publish::StaticLog {
    published(&sample::entries(size, departments))
}

#[test]
fn follows_a_growing_log_and_remembers_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("monitor.json");
    let server = TileServer::serve(&log(300, 3));
    assert_eq!(
        run(&server, &state_file).unwrap(),
        Finding::FirstVerification { size: 300 }
    );
    assert_eq!(
        run(&server, &state_file).unwrap(),
        Finding::Unchanged { size: 300 }
    );
    server.replace(&log(700, 3));
    assert_eq!(
        run(&server, &state_file).unwrap(),
        Finding::Advanced { from: 300, to: 700 }
    );
    server.replace(&log(1_000, 3));
    assert_eq!(
        run(&server, &state_file).unwrap(),
        Finding::Advanced {
            from: 700,
            to: 1_000
        }
    );
    assert_eq!(
        MonitorState::load(&state_file).unwrap().unwrap().size(),
        1_000
    );
}

#[test]
fn two_trees_of_the_same_size_are_a_split_view() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("monitor.json");
    let server = TileServer::serve(&log(300, 3));
    run(&server, &state_file).unwrap();
    // The same key signs another tree of the same size: what another reader may be shown.
    server.replace(&log(300, 4));
    let alarm = run(&server, &state_file).unwrap_err();
    assert!(
        matches!(alarm.error, AuditError::SplitView { size: 300, .. }),
        "{alarm}"
    );
    assert_eq!(alarm.kind(), "split_view");
    assert!(alarm.is_misbehaviour());
    // Both signed notes are kept as evidence.
    let (seen, observed) = (
        alarm.last_verified.clone().unwrap(),
        alarm.observed.clone().unwrap(),
    );
    assert!(seen.starts_with("covenant.example/log\n300\n"));
    assert!(observed.starts_with("covenant.example/log\n300\n"));
    assert_ne!(seen, observed);
    // The state still holds the tree seen first.
    assert_eq!(
        MonitorState::load(&state_file).unwrap().unwrap().checkpoint,
        seen
    );
}

#[test]
fn a_smaller_tree_is_a_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("monitor.json");
    let server = TileServer::serve(&log(300, 3));
    run(&server, &state_file).unwrap();
    server.replace(&log(200, 3));
    let alarm = run(&server, &state_file).unwrap_err();
    assert!(
        matches!(
            alarm.error,
            AuditError::Rollback {
                seen_size: 300,
                new_size: 200
            }
        ),
        "{alarm}"
    );
}

#[test]
fn a_larger_tree_that_rewrites_history_is_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("monitor.json");
    let server = TileServer::serve(&log(300, 3));
    run(&server, &state_file).unwrap();
    // A valid, well-signed log of 700 entries whose first 300 are not the ones seen.
    server.replace(&log(700, 4));
    let alarm = run(&server, &state_file).unwrap_err();
    assert!(
        matches!(
            alarm.error,
            AuditError::NotAnExtension {
                old_size: 300,
                new_size: 700,
                ..
            }
        ),
        "{alarm}"
    );
    assert_eq!(alarm.kind(), "fork");
}

#[test]
fn bad_new_entries_raise_the_alarm() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("monitor.json");
    let server = TileServer::serve(&log(300, 3));
    run(&server, &state_file).unwrap();
    // The log grows consistently, but entry 500 carries a broken signature.
    let mut envelopes = sample::envelopes(700, 3);
    let last = envelopes[500].len() - 1;
    envelopes[500][last] ^= 1;
    server.replace(&published(&sample::chain(&envelopes)));
    let alarm = run(&server, &state_file).unwrap_err();
    assert!(
        matches!(alarm.error, AuditError::Rejected { seq: 500, .. }),
        "{alarm}"
    );
    assert_eq!(alarm.kind(), "verification_failed");
}

#[test]
fn an_unreachable_log_is_not_misbehaviour() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("monitor.json");
    let server = TileServer::serve(&log(300, 3));
    run(&server, &state_file).unwrap();
    server.remove("checkpoint");
    let alarm = run(&server, &state_file).unwrap_err();
    assert!(!alarm.is_misbehaviour(), "{alarm}");
    assert_eq!(alarm.kind(), "unreachable");
}

#[test]
fn alarms_reach_the_webhook_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("monitor.json");
    let server = TileServer::serve(&log(300, 3));
    run(&server, &state_file).unwrap();
    server.replace(&log(300, 4));
    let alarm = run(&server, &state_file).unwrap_err();
    send_webhook(&server.webhook_url(), &server.url(), &alarm).unwrap();
    let posted = server.webhooks();
    assert_eq!(posted.len(), 1);
    let json: serde_json::Value = serde_json::from_str(&posted[0]).unwrap();
    assert_eq!(json["alarm"], "split_view");
    assert_eq!(json["log"], server.url());
    assert!(json["message"].as_str().unwrap().contains("split view"));
    assert!(
        json["last_verified_checkpoint"]
            .as_str()
            .unwrap()
            .contains("\n300\n")
    );
}

/// Append `witness`'s cosignature line to the served checkpoint.
fn cosign_served_checkpoint(server: &TileServer, witness: &Cosigner) {
    server.edit("checkpoint", |note| {
        let text = String::from_utf8(note.clone()).unwrap();
        let (body, _) = text.split_once("\n\n").unwrap();
        let line = witness.cosign(format!("{body}\n").as_bytes(), 1_700_000_000);
        note.extend_from_slice(line.as_bytes());
    });
}

#[test]
fn a_checkpoint_without_the_required_cosignatures_raises_the_alarm() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("monitor.json");
    let witnesses: Vec<Cosigner> = (1..=2)
        .map(|n| Cosigner::new(&format!("w{n}.example/witness"), [n; 32]).unwrap())
        .collect();
    let pinned = || {
        witnesses
            .iter()
            .map(|w| CosignatureVerifier::new(&w.verifier_key()).unwrap())
            .collect::<Vec<_>>()
    };
    let one_of_two = WitnessQuorum::new(pinned(), Some(1)).unwrap();
    let both = WitnessQuorum::new(pinned(), None).unwrap();
    let server = TileServer::serve(&log(300, 3));
    cosign_served_checkpoint(&server, &witnesses[0]);

    let (outcome, cosigned) = run_requiring(&server, &state_file, &one_of_two).unwrap();
    assert_eq!(outcome, Finding::FirstVerification { size: 300 });
    assert_eq!(cosigned.unwrap().by, ["w1.example/witness"]);

    let alarm = run_requiring(&server, &state_file, &both).unwrap_err();
    assert!(alarm.is_misbehaviour(), "{alarm}");
    assert_eq!(alarm.kind(), "unwitnessed");
    assert!(
        alarm
            .to_string()
            .contains("no valid cosignature by w2.example/witness"),
        "{alarm}"
    );

    // The log grows, but its new checkpoint carries no cosignature: the alarm is raised
    // before the new entries are even read, and the state keeps the last witnessed view.
    server.replace(&log(500, 3));
    let alarm = run_requiring(&server, &state_file, &one_of_two).unwrap_err();
    assert_eq!(alarm.kind(), "unwitnessed");
    assert!(alarm.last_verified.unwrap().contains("\n300\n"));
    cosign_served_checkpoint(&server, &witnesses[1]);
    let (outcome, cosigned) = run_requiring(&server, &state_file, &one_of_two).unwrap();
    assert_eq!(outcome, Finding::Advanced { from: 300, to: 500 });
    assert_eq!(cosigned.unwrap().by, ["w2.example/witness"]);
}
