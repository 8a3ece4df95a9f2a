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

#[test]
fn check_consistency_proves_a_saved_checkpoint_is_extended_or_names_the_fork() {
    let dir = tempfile::tempdir().unwrap();
    let key = log_signer().verifier_key();
    let save = |name: &str, entries: u64, departments: usize| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            &published(&sample::entries(entries, departments)).files["checkpoint"],
        )
        .unwrap();
        path.to_str().unwrap().to_owned()
    };
    let at_300 = save("300.note", 300, 3);
    let at_500 = save("500.note", 500, 3);
    let server = TileServer::serve(&published(&sample::entries(800, 3)));
    let url = server.url();
    let check = |old: &str, new: Option<&str>| {
        let mut args = vec![
            "audit",
            "check-consistency",
            &url,
            "--old",
            old,
            "--key",
            &key,
        ];
        if let Some(new) = new {
            args.extend(["--new", new]);
        }
        covenant(&args)
    };

    let (code, stdout, stderr) = check(&at_300, None);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("ok: checkpoint 800 (root ")
            && stdout.contains("extends checkpoint 300"),
        "{stdout}"
    );
    let (code, stdout, stderr) = check(&at_300, Some(&at_500));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("ok: checkpoint 500 (root ")
            && stdout.contains("both proved against the log's checkpoint 800"),
        "{stdout}"
    );
    let (code, _, stderr) = check(&at_500, Some(&at_300));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is older than --old"), "{stderr}");

    // Another history: the log now signs trees that do not extend the saved one.
    let other = save("other-300.note", 300, 4);
    let other_500 = save("other-500.note", 500, 4);
    let (code, _, stderr) = check(&at_300, Some(&other_500));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "FAILED: fork: the checkpoint for size 800 does not extend the one for size 500"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = check(&other, None);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("FAILED: fork"), "{stderr}");
    assert!(stderr.contains("the saved checkpoint:"), "{stderr}");
    server.replace(&published(&sample::entries(300, 3)));
    let (code, _, stderr) = check(&other, None);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("FAILED: split view"), "{stderr}");
    let (code, _, stderr) = check(&at_500, None);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("FAILED: rollback"), "{stderr}");

    // A saved file that is not a checkpoint of this log cannot be checked.
    let junk = dir.path().join("junk.note");
    std::fs::write(&junk, "not a note").unwrap();
    let (code, _, stderr) = check(junk.to_str().unwrap(), None);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("is not a checkpoint note signed by this key"),
        "{stderr}"
    );
}

/// Exit 2 is "could not check" (docs/AUDIT.md): a missing file, a file that is not a proof
/// bundle, a key file that cannot be read. Each is named once, with its cause once, and none
/// is reported as a failed check.
#[test]
fn check_proof_names_files_it_cannot_use_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("ledger.vkey");
    std::fs::write(&key_file, format!("{}\n", log_signer().verifier_key())).unwrap();
    let key = key_file.to_str().unwrap();
    let in_dir = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();

    let missing = in_dir("nope.json");
    let (code, _, stderr) = covenant(&["audit", "check-proof", &missing, "--key", key]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!("error: I/O on {missing}: No such file or directory (os error 2)")
    );

    let csv = in_dir("events.csv");
    std::fs::write(&csv, "kind,actor\ncommitment,GB-GOV-02\n").unwrap();
    let (code, _, stderr) = covenant(&["audit", "check-proof", &csv, "--key", key]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!("error: {csv} is not a proof bundle: expected value at line 1 column 1")
    );

    // The key is read before the bundle, and a key file that is not there is named as such,
    // not taken for a malformed key.
    let no_key = in_dir("nokey.vkey");
    let (code, _, stderr) = covenant(&["audit", "check-proof", &csv, "--key", &no_key]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "error: cannot read the verifier key file {no_key}: No such file or directory (os error 2)"
        )
    );
    // A bundle of a format this version does not know cannot be checked either.
    let future = in_dir("future.json");
    let bundle = serde_json::json!({
        "format": "covenant-proof-bundle/v9", "seq": 0, "entry": "", "tree_size": 1,
        "inclusion_proof": [], "checkpoint": "", "verifier_key": "",
    });
    std::fs::write(&future, bundle.to_string()).unwrap();
    let (code, _, stderr) = covenant(&["audit", "check-proof", &future, "--key", key]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: cannot check {future}: bundle format")),
        "{stderr}"
    );
    let (code, _, stderr) = covenant(&["audit", "check-report", &csv, "--key", key]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: cannot check {csv}: not a report bundle")),
        "{stderr}"
    );

    let (code, _, stderr) = covenant(&["audit", "check-proof", &csv, "--key", "log+1+AAAA"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--key \"log+1+AAAA\" is not a log verifier key"),
        "{stderr}"
    );
}

/// `verify --store` on a path that is not there, or on a store a running ledger holds, could
/// not check anything: exit 2, saying what to do instead. A damaged store is a failed check.
#[test]
fn verify_store_tells_a_store_it_cannot_read_from_one_that_fails() {
    let dir = tempfile::tempdir().unwrap();
    let key = log_signer().verifier_key();
    let verify_store = |path: &std::path::Path| {
        covenant(&[
            "audit",
            "verify",
            "--store",
            path.to_str().unwrap(),
            "--key",
            &key,
            "--quiet",
        ])
    };

    let nothere = dir.path().join("nothere");
    let (code, _, stderr) = verify_store(&nothere);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!("error: --store {}: no such directory", nothere.display())
    );

    let not_a_store = dir.path().join("data");
    std::fs::create_dir_all(not_a_store.join("log")).unwrap();
    std::fs::write(not_a_store.join("covenant.toml"), "").unwrap();
    let (code, _, stderr) = verify_store(&not_a_store);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not a Covenant store"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "try --store {}",
            not_a_store.join("log").display()
        )),
        "{stderr}"
    );

    // A store held open, as a running ledger holds its own.
    let live = dir.path().join("live");
    let store = covenant_store::SledStore::create_or_open(&live).unwrap();
    let (code, _, stderr) = verify_store(&live);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: store directory {} is in use by another process",
            live.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("Verify a copy"), "{stderr}");
    assert!(
        stderr.contains("covenant audit verify <its URL>"),
        "{stderr}"
    );
    assert!(!stderr.contains("FAILED"), "{stderr}");
    drop(store);
}

/// A static mirror whose files are at a web server's root verifies from the server's bare
/// address, as one under a path does; a ledger's bare address still means its `/log/`.
#[test]
fn verify_finds_a_mirror_at_a_web_servers_root() {
    let key = log_signer().verifier_key();
    let log = published(&sample::entries(300, 3));
    let mirror = TileServer::serve_at_root(&log);
    for url in [mirror.url(), format!("{}/", mirror.url())] {
        let (code, stdout, stderr) = covenant(&["audit", "verify", &url, "--key", &key, "--quiet"]);
        assert_eq!(code, 0, "{url}: {stdout}{stderr}");
        assert!(stdout.contains("ok: verified all 300 entries"), "{stdout}");
    }
    let ledger = TileServer::serve(&log);
    let (code, stdout, stderr) =
        covenant(&["audit", "verify", &ledger.url(), "--key", &key, "--quiet"]);
    assert_eq!(code, 0, "{stdout}{stderr}");

    // Nothing at either place: exit 2, naming both.
    mirror.remove("checkpoint");
    let (code, _, stderr) = covenant(&["audit", "verify", &mirror.url(), "--key", &key]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: {0}/log/checkpoint (a ledger's) or {0}/checkpoint (a mirror's at the server's root) is not served (404)",
            mirror.url()
        )),
        "{stderr}"
    );
}
