//! `monitor`: following a growing log, and the alarms on a split view, a rollback, a fork and
//! bad new entries.

use crate::support::{TileServer, log_signer, published};
use covenant_audit::monitor::{Alarm, MonitorState, Outcome, check_once, send_webhook};
use covenant_audit::{AuditError, HttpSource, Silent, sample};
use std::path::Path;

/// One monitor run against `server`, saving the state when all is well.
fn run(server: &TileServer, state_file: &Path) -> Result<Outcome, Alarm> {
    let source = HttpSource::new(&server.url()).unwrap();
    let state = MonitorState::load(state_file).unwrap();
    let (state, outcome) = check_once(&source, state, &log_signer().verifier_key(), &Silent)?;
    state.save(state_file).unwrap();
    Ok(outcome)
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
        Outcome::FirstVerification { size: 300 }
    );
    assert_eq!(
        run(&server, &state_file).unwrap(),
        Outcome::Unchanged { size: 300 }
    );
    server.replace(&log(700, 3));
    assert_eq!(
        run(&server, &state_file).unwrap(),
        Outcome::Advanced { from: 300, to: 700 }
    );
    server.replace(&log(1_000, 3));
    assert_eq!(
        run(&server, &state_file).unwrap(),
        Outcome::Advanced {
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
