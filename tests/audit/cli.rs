//! `covenant audit verify` and `monitor` against static logs that lie: exit codes, messages,
//! the alarm and its webhook.

use super::served::covenant;
use super::tile_server::{TileServer, log_signer, published};
use covenant_testkit::sample;

#[test]
fn verify_names_the_first_failure_and_exits_1() {
    let key = log_signer().verifier_key();
    let server = TileServer::serve(&published(&sample::entries(700, 3)));
    let (code, stdout, stderr) =
        covenant(&["audit", "verify", &server.url(), "--key", &key, "--quiet"]);
    assert_eq!(code, 0, "{stdout}{stderr}");

    let mut entries = sample::entries(700, 3);
    entries.swap(300, 301);
    server.replace(&published(&entries));
    let (code, _, stderr) = covenant(&["audit", "verify", &server.url(), "--key", &key, "--quiet"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("FAILED: entry at position 300 says it is entry 301"),
        "{stderr}"
    );

    // Nothing listening: the check could not be completed, which is not a failed check.
    let nothing_listening = covenant_testkit::ReservedPort::new();
    let port = nothing_listening.port();
    let (code, _, stderr) = covenant(&[
        "audit",
        "verify",
        &format!("http://127.0.0.1:{port}"),
        "--key",
        &key,
        "--quiet",
    ]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn monitor_raises_the_alarm_on_a_forked_log() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("monitor.json");
    let state = state.to_str().unwrap();
    let key = log_signer().verifier_key();
    let server = TileServer::serve(&published(&sample::entries(300, 3)));
    let url = server.url();
    let monitor = |extra: &[&str]| {
        let mut args = vec![
            "audit", "monitor", &url, "--state", state, "--key", &key, "--once", "--quiet",
        ];
        args.extend_from_slice(extra);
        covenant(&args)
    };
    let (code, stdout, stderr) = monitor(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("verified the whole log (300 entries)"),
        "{stdout}"
    );

    server.replace(&published(&sample::entries(500, 3)));
    let (code, stdout, stderr) = monitor(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("size 300 -> 500: consistent, 200 new entries verified"),
        "{stdout}"
    );

    // The log now shows a different history of the same size: the alarm, with the webhook.
    server.replace(&published(&sample::entries(500, 4)));
    let webhook = server.webhook_url();
    let (code, _, stderr) = monitor(&["--webhook", &webhook]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "ALARM (split_view): split view: the log signed two different trees of size 500"
        ),
        "{stderr}"
    );
    let posted = server.webhooks();
    assert_eq!(posted.len(), 1);
    let alarm: serde_json::Value = serde_json::from_str(&posted[0]).unwrap();
    assert_eq!(alarm["alarm"], "split_view");

    // A larger tree that does not extend the one seen: a fork.
    server.replace(&published(&sample::entries(800, 4)));
    let (code, _, stderr) = monitor(&[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("ALARM (fork)"), "{stderr}");
}
