//! `covenant demo`: loading the demo data through a real nats-server, generating a synthetic
//! load, and writing the demo configuration.

use crate::cli_emit::{create_event_stream, stream_messages};
use crate::cli_keys::{covenant, stderr, stdout};
use crate::ledger::support::Served;
use covenant_core::event::decode;
use covenant_core::validate::{
    Decision, IndexedEvent, LedgerState, SignatureCheck, genesis_envelope, validate,
};
use covenant_emit::envelope_file;
use covenant_emit::keys::KeyFile;
use covenant_testkit::NatsServer;
use std::collections::HashMap;

/// Validate envelopes in order as the ledger does; the number accepted.
fn accepted_by_the_ledger_rules(envelopes: &[Vec<u8>]) -> usize {
    let mut state = LedgerState::default();
    let mut index: HashMap<String, IndexedEvent> = HashMap::new();
    let genesis =
        prost::Message::encode_to_vec(&genesis_envelope(covenant_demo::genesis().to_proto()));
    let now_ns = 1_800_000_000_000_000_000;
    let Decision::Accept(changes) = validate(
        &state,
        &index,
        &decode(&genesis).unwrap(),
        0,
        now_ns,
        SignatureCheck::Pending,
    ) else {
        panic!("genesis refused");
    };
    state.apply_all(changes);
    let mut accepted = 0;
    for (position, bytes) in envelopes.iter().enumerate() {
        let event = decode(bytes).unwrap();
        let seq = accepted as u64 + 1;
        match validate(&state, &index, &event, seq, now_ns, SignatureCheck::Pending) {
            Decision::Accept(changes) => {
                state.apply_all(changes);
                index.insert(
                    event.event_id().to_owned(),
                    IndexedEvent {
                        seq,
                        digest: event.digest,
                        actor: event.actor().to_owned(),
                    },
                );
                accepted += 1;
            }
            Decision::Duplicate { .. } => {}
            Decision::Reject(rejection) => panic!("message {position} rejected: {rejection}"),
        }
    }
    accepted
}

#[test]
fn the_demo_loads_through_nats_once_and_yields_the_expected_scorecards() {
    let server = NatsServer::start();
    create_event_stream(&server.url());
    let dir = tempfile::tempdir().unwrap();
    let data = covenant_demo::demo();

    let load = covenant(dir.path(), &["demo", "load", "--nats", &server.url()]);
    assert!(load.status.success(), "{}", stderr(&load));
    assert!(
        stdout(&load).contains(&format!("{} events", data.events.len())),
        "{}",
        stdout(&load)
    );
    let messages = stream_messages(&server.url());
    let payloads: Vec<Vec<u8>> = messages.iter().map(|m| m.2.clone()).collect();
    assert_eq!(
        payloads, data.events,
        "every envelope, in order, byte for byte"
    );
    for (subject, id, payload) in &messages {
        let event = decode(payload).unwrap();
        assert_eq!(id, event.event_id());
        assert_eq!(
            subject,
            &covenant_core::subject::event_subject(event.actor())
        );
    }

    // The stream, read back, is what a ledger would ingest: all of it is accepted, and the
    // scorecards computed from it are the data set's expected summary.
    assert_eq!(accepted_by_the_ledger_rules(&payloads), data.events.len());
    let summary = covenant_demo::summary::summarise(&payloads, covenant_demo::end_date());
    assert_eq!(summary, data.summary);
    let dcms = &summary.actors["GB-GOV-23"];
    assert_eq!(dcms.count(covenant_demo::Status::Delivered), 4);

    let again = covenant(dir.path(), &["demo", "load", "--nats", &server.url()]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("nothing new"), "{}", stdout(&again));
    assert_eq!(
        stream_messages(&server.url()).len(),
        data.events.len(),
        "loading twice adds nothing"
    );
}

#[test]
fn a_synthetic_load_goes_through_the_same_path() {
    let server = NatsServer::start();
    create_event_stream(&server.url());
    let dir = tempfile::tempdir().unwrap();
    let load = covenant(
        dir.path(),
        &[
            "demo",
            "load",
            "--nats",
            &server.url(),
            "--data-set",
            "synthetic",
            "--scale",
            "1500",
        ],
    );
    assert!(load.status.success(), "{}", stderr(&load));
    let payloads: Vec<Vec<u8>> = stream_messages(&server.url())
        .into_iter()
        .map(|m| m.2)
        .collect();
    assert_eq!(payloads, covenant_demo::synthetic(1500).collect::<Vec<_>>());
    assert_eq!(accepted_by_the_ledger_rules(&payloads), 1500);
}

#[test]
fn generate_writes_the_synthetic_load_as_length_prefixed_envelopes() {
    let dir = tempfile::tempdir().unwrap();
    let output = covenant(
        dir.path(),
        &["demo", "generate", "--scale", "2000", "--out", "load.env"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let written =
        envelope_file::parse(&std::fs::read(dir.path().join("load.env")).unwrap()).unwrap();
    assert_eq!(written, covenant_demo::synthetic(2000).collect::<Vec<_>>());
}

#[test]
fn demo_config_writes_a_loadable_configuration_with_the_demo_keys() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = covenant(
            dir.path(),
            &[
                "demo",
                "config",
                "--out-dir",
                "demo",
                "--nats",
                "nats://127.0.0.1:4333",
                "--listen",
                "127.0.0.1:8181",
            ],
        );
        assert!(
            output.status.success(),
            "running it again is fine: {}",
            stderr(&output)
        );
        assert!(
            stdout(&output).contains("WARNING: the demo's log and registrar keys are public test keys, derived from fixed seeds"),
            "{}",
            stdout(&output)
        );
    }
    let demo = dir.path().join("demo");
    let text = std::fs::read_to_string(demo.join("covenant.toml")).unwrap();
    let genesis = covenant_demo::genesis();
    assert!(
        text.contains(&format!("origin = \"{}\"", genesis.origin)),
        "{text}"
    );
    assert!(
        text.contains(&hex::encode(genesis.registrar_public_key)),
        "{text}"
    );
    assert!(text.contains("url = \"nats://127.0.0.1:4333\""), "{text}");
    assert!(text.contains("listen = \"127.0.0.1:8181\""), "{text}");
    let log_key = KeyFile::read(&demo.join("log.key")).unwrap();
    assert_eq!(log_key.seed, covenant_demo::log_seed());
    assert_eq!(log_key.origin.as_deref(), Some(genesis.origin.as_str()));
    let registrar = KeyFile::read(&demo.join("registrar.key")).unwrap();
    assert_eq!(registrar.public_key(), genesis.registrar_public_key);

    // A different key already in place is never overwritten.
    std::fs::remove_file(demo.join("log.key")).unwrap();
    KeyFile::generate(covenant_emit::keys::KeyKind::Log)
        .write_new(&demo.join("log.key"))
        .unwrap();
    let clash = covenant(dir.path(), &["demo", "config", "--out-dir", "demo"]);
    assert!(!clash.status.success());
    assert!(
        stderr(&clash).contains("holds a different key"),
        "{}",
        stderr(&clash)
    );
}

/// `covenant serve` on the demo's configuration, run from `dir`.
fn start_ledger(dir: &std::path::Path, config: &str, nats_url: &str) -> Served {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_covenant"));
    command
        .current_dir(dir)
        .args(["serve", "--config", config, "--nats", nats_url]);
    Served::spawn(command)
}

#[test]
fn the_demo_and_a_new_emitter_go_through_a_running_ledger() {
    use covenant_emit::status::{EventStatus, LedgerClient};
    use std::time::Duration;

    let server = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let written = covenant(
        dir.path(),
        &[
            "demo",
            "config",
            "--out-dir",
            "demo",
            "--nats",
            &server.url(),
        ],
    );
    assert!(written.status.success(), "{}", stderr(&written));
    let ledger = start_ledger(dir.path(), "demo/covenant.toml", &server.url());

    // The ledger creates the stream; the loader waits for it if it is not there yet.
    let load = covenant(
        dir.path(),
        &[
            "demo",
            "load",
            "--config",
            "demo/covenant.toml",
            "--nats",
            &server.url(),
        ],
    );
    assert!(load.status.success(), "{}", stderr(&load));
    let data = covenant_demo::demo();
    let client = LedgerClient::new(&ledger.base_url);
    let last = decode(data.events.last().unwrap()).unwrap();
    let status = client
        .wait_for_decision(last.event_id(), Duration::from_secs(30))
        .unwrap();
    assert_eq!(
        status,
        EventStatus::Accepted {
            seq: Some(data.events.len() as u64)
        },
        "every demo event is accepted, in order, after the genesis entry"
    );
    for bytes in &data.events[..20] {
        let event = decode(bytes).unwrap();
        assert!(matches!(
            client.status(event.event_id()).unwrap(),
            EventStatus::Accepted { .. }
        ));
    }

    // The ledger's scorecards as of today are the data set's expected ones, actor by actor.
    let today = covenant_core::event::Date::from_unix_ms(covenant_emit::build::now_ms());
    let expected = data.summary_as_of(today);
    let get = |url: &str| -> serde_json::Value {
        let body = ureq::get(url)
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .body_mut()
            .read_to_string()
            .unwrap();
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
    };
    // The projections follow the log a moment behind the ledger's decisions.
    let log_size = data.events.len() as u64 + 1;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while get(&format!("{}/v1/actors/GB-GOV-23", ledger.base_url))["as_of"]["size"].as_u64()
        != Some(log_size)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the scorecards never caught up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut compared = 0;
    for (actor, scorecard) in &expected.actors {
        if scorecard.commitments() == 0 {
            continue;
        }
        let url = format!(
            "{}/v1/actors/{}",
            ledger.base_url,
            actor.replace(':', "%3A")
        );
        let answer = get(&url);
        let body = answer.to_string();
        for status in covenant_demo::Status::ALL {
            assert_eq!(
                answer["counts"][status.as_str()].as_u64(),
                Some(scorecard.count(status) as u64),
                "{actor} {}: {body}",
                status.as_str()
            );
        }
        let money = &answer["money"][0];
        for (stage, amount) in [
            ("pledged_minor", scorecard.pledged_minor),
            ("committed_minor", scorecard.committed_minor),
            ("spent_minor", scorecard.spent_minor),
        ] {
            assert_eq!(
                money[stage].as_i64().unwrap_or(0),
                amount,
                "{actor} {stage}: {body}"
            );
        }
        compared += 1;
    }
    assert_eq!(compared, 19, "every actor with commitments");

    // A new team onboards in the demo log with the demo registrar key, and hears back.
    let run = |args: &[&str]| covenant(dir.path(), args);
    assert!(
        run(&[
            "keys",
            "generate",
            "--kind",
            "emitter",
            "--actor",
            "GB-CHC-7654321",
            "--key-id",
            "trust-1",
            "--out",
            "trust.key"
        ])
        .status
        .success()
    );
    let public_key =
        crate::cli_keys::field(&stdout(&run(&["keys", "show", "trust.key"])), "public key");
    for args in [
        vec![
            "keys",
            "register-actor",
            "--registrar-key",
            "demo/registrar.key",
            "--actor",
            "GB-CHC-7654321",
            "--name",
            "Tollmouth Community Trust",
            "--kind",
            "civil-society",
            "--out",
            "onboard.env",
        ],
        vec![
            "keys",
            "grant",
            "--registrar-key",
            "demo/registrar.key",
            "--key-id",
            "trust-1",
            "--public-key",
            &public_key,
            "--actor",
            "GB-CHC-7654321",
            "--role",
            "emitter",
            "--out",
            "onboard.env",
        ],
    ] {
        assert!(run(&args).status.success());
    }
    let onboard = run(&[
        "emit",
        "--nats",
        &server.url(),
        "--envelope",
        "onboard.env",
        "--ledger",
        &ledger.base_url,
    ]);
    assert!(
        onboard.status.success(),
        "{}{}",
        stdout(&onboard),
        stderr(&onboard)
    );
    assert_eq!(
        stdout(&onboard).matches(": accepted at entry").count(),
        2,
        "{}",
        stdout(&onboard)
    );

    let promise = run(&[
        "emit",
        "commitment",
        "--nats",
        &server.url(),
        "--key",
        "trust.key",
        "--ledger",
        &ledger.base_url,
        "--commitment-id",
        "trust-youth-club",
        "--title",
        "Reopen the youth club",
        "--text",
        "We will reopen the youth club three evenings a week.",
        "--made-on",
        "2026-09-01",
    ]);
    assert!(
        promise.status.success(),
        "{}{}",
        stdout(&promise),
        stderr(&promise)
    );
    assert!(
        stdout(&promise).contains("commitment_made: accepted at entry"),
        "{}",
        stdout(&promise)
    );

    let stray = run(&[
        "emit",
        "action",
        "--nats",
        &server.url(),
        "--key",
        "trust.key",
        "--ledger",
        &ledger.base_url,
        "--action-id",
        "trust-a-1",
        "--commitment-ids",
        "no-such-commitment",
        "--type",
        "funding",
        "--taken-on",
        "2026-09-02",
        "--description",
        "Paid for a caretaker.",
    ]);
    assert!(!stray.status.success(), "a rejection is a failed run");
    assert!(
        stdout(&stray).contains(
            "rejected (unknown_commitment): commitment no-such-commitment does not exist"
        ),
        "{}",
        stdout(&stray)
    );
}

/// `just demo`'s script end to end: nats-server, the witness, the ledger and the loaded demo
/// data come up, the log verifies with the witness's cosignature required, a second run reuses
/// the data and adds nothing, and Ctrl-C stops everything with exit status 0.
#[test]
fn the_demo_script_runs_the_whole_system_and_stops_cleanly() {
    let scratch = tempfile::tempdir().unwrap();
    let demo_dir = scratch.path().join("demo");
    for run in ["first", "second"] {
        let port = covenant_testkit::free_port();
        let mut script = DemoScript::start(&demo_dir, port);
        let banner = script.read_until("Covenant is running.");
        let loaded = if run == "first" {
            format!("{} new to the stream", covenant_demo::demo().events.len())
        } else {
            "0 new to the stream".to_owned()
        };
        assert!(banner.contains(&loaded), "{run} run:\n{banner}");
        let rest = script.read_until("Ctrl-C stops everything");
        assert!(
            rest.contains(
                "WARNING: the demo's log, registrar and witness keys are public test keys"
            ),
            "{run} run: the keys are said to be public:\n{rest}"
        );
        let url = format!("http://127.0.0.1:{port}");
        let witness_key = demo_dir.join("witness.vkey");
        let verify = covenant(
            scratch.path(),
            &[
                "audit",
                "verify",
                &url,
                "--quiet",
                "--witness",
                witness_key.to_str().unwrap(),
            ],
        );
        assert!(verify.status.success(), "{run} run: {}", stderr(&verify));
        let report = stdout(&verify);
        // Entry 0 is the genesis record.
        let entries = covenant_demo::demo().events.len() + 1;
        assert!(
            report.contains(&format!("verified all {entries} entries")),
            "{report}"
        );
        assert!(
            report.contains("cosigned by 1 of the 1 pinned witnesses"),
            "{report}"
        );
        // Publication waits for the witness here, so the newest witnessed checkpoint is the
        // latest one.
        let note = |path: &str| {
            ureq::get(format!("{url}{path}"))
                .call()
                .unwrap_or_else(|e| panic!("GET {path}: {e}"))
                .body_mut()
                .read_to_string()
                .unwrap()
        };
        assert_eq!(
            note("/log/checkpoint/witnessed"),
            note("/log/checkpoint"),
            "{run} run"
        );
        let served = check_the_demo_report(scratch.path(), &demo_dir, &url, run);
        let status = script.interrupt();
        assert!(
            status.success(),
            "{run} run: Ctrl-C ends the demo with {status}"
        );
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "{run} run: the ledger stopped listening"
        );
        // A replica's own copy gives the same report as the server did, as docs/REPORT.md
        // tells an auditor to check.
        let size = served["checkpoint"]["size"].to_string();
        let key = demo_dir.join("log.vkey");
        let report_from = |data: &std::path::Path| {
            covenant(
                scratch.path(),
                &[
                    "report",
                    "--data",
                    data.to_str().unwrap(),
                    "--key",
                    key.to_str().unwrap(),
                    "--actor",
                    "GB-GOV-23",
                    "--year",
                    "2025",
                    "--format",
                    "json",
                    "--checkpoint",
                    &size,
                ],
            )
        };
        let local = report_from(&demo_dir.join("ledger"));
        assert!(local.status.success(), "{run} run: {}", stderr(&local));
        let local: serde_json::Value = serde_json::from_slice(&local.stdout).unwrap();
        for field in [
            "scope",
            "year",
            "period_end",
            "current",
            "previous",
            "goalposts",
            "disputes",
            "largest_changes",
        ] {
            assert_eq!(local[field], served[field], "{run} run: {field}");
        }
        assert_eq!(
            local["checkpoint"]["root_hash"],
            served["checkpoint"]["root_hash"]
        );
        // So does a backup of the log alone (docs/OPERATING.md, "Backups and restore"):
        // the report projects it first.
        let backup = scratch.path().join(format!("backup-{run}"));
        copy_dir(&demo_dir.join("ledger").join("log"), &backup.join("log"));
        let from_backup = report_from(&backup);
        assert!(
            from_backup.status.success(),
            "{run} run: {}",
            stderr(&from_backup)
        );
        assert!(
            stderr(&from_backup).contains("projections lack first"),
            "{}",
            stderr(&from_backup)
        );
        let from_backup: serde_json::Value = serde_json::from_slice(&from_backup.stdout).unwrap();
        assert_eq!(from_backup["current"], served["current"], "{run} run");
        assert_eq!(from_backup["disputes"], served["disputes"], "{run} run");
    }
}

/// The culture department's 2025 report, as the banner says to fetch and check it: its text
/// summary, its bundle passing `check-report`, and the same bundle with one number changed
/// failing it.
fn check_the_demo_report(
    scratch: &std::path::Path,
    demo_dir: &std::path::Path,
    url: &str,
    run: &str,
) -> serde_json::Value {
    let base = [
        "report",
        "--server",
        url,
        "--actor",
        "GB-GOV-23",
        "--year",
        "2025",
    ];
    let summary = covenant(scratch, &base);
    assert!(summary.status.success(), "{run} run: {}", stderr(&summary));
    let text = stdout(&summary);
    assert!(
        text.contains("Annual covenant report 2025: Department for Culture, Media and Sport"),
        "{text}"
    );
    assert!(text.contains("Commitments made"), "{text}");
    let bundle = demo_dir.join("dcms-2025.json");
    let mut args = base.to_vec();
    args.extend(["--format", "bundle", "--out", bundle.to_str().unwrap()]);
    let written = covenant(scratch, &args);
    assert!(written.status.success(), "{run} run: {}", stderr(&written));
    let key = demo_dir.join("log.vkey");
    let check = |file: &std::path::Path| {
        covenant(
            scratch,
            &[
                "audit",
                "check-report",
                file.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
            ],
        )
    };
    let checked = check(&bundle);
    assert!(
        checked.status.success(),
        "{run} run: {}{}",
        stdout(&checked),
        stderr(&checked)
    );
    assert!(
        stdout(&checked).contains("valid: every figure"),
        "{}",
        stdout(&checked)
    );

    let mut altered: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let made = &mut altered["report"]["current"]["figures"][0];
    assert_eq!(made["name"], "made");
    made["value"] = serde_json::json!(made["value"].as_i64().unwrap() + 1);
    let altered_path = scratch.join("altered.json");
    std::fs::write(&altered_path, serde_json::to_vec(&altered).unwrap()).unwrap();
    let refused = check(&altered_path);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(
        stdout(&refused).contains("FAILED  2025 made"),
        "{}",
        stdout(&refused)
    );
    let unreadable = check(&scratch.join("no-such-bundle.json"));
    assert_eq!(unreadable.status.code(), Some(2), "{}", stderr(&unreadable));
    let pdf = scratch.join("dcms-2025.pdf");
    let mut args = base.to_vec();
    args.extend(["--format", "pdf", "--out", pdf.to_str().unwrap()]);
    let written = covenant(scratch, &args);
    assert!(written.status.success(), "{run} run: {}", stderr(&written));
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
    let mut args = base.to_vec();
    args.extend(["--format", "json"]);
    let json = covenant(scratch, &args);
    assert!(json.status.success(), "{run} run: {}", stderr(&json));
    serde_json::from_slice(&json.stdout).expect("the report is JSON")
}

/// Copy a directory tree, as a backup does.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// scripts/demo.sh as a child process, with its output read line by line.
struct DemoScript {
    child: std::process::Child,
    output: std::io::BufReader<std::process::ChildStdout>,
}

impl DemoScript {
    fn start(demo_dir: &std::path::Path, port: u16) -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut child = std::process::Command::new("bash")
            .arg(root.join("scripts/demo.sh"))
            .env("COVENANT_BIN", env!("CARGO_BIN_EXE_covenant"))
            .env("NATS_SERVER", covenant_testkit::nats_server_binary())
            .env("COVENANT_DEMO_DIR", demo_dir)
            .env("COVENANT_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start scripts/demo.sh");
        let output = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
        Self { child, output }
    }

    /// Everything the script printed up to and including the line holding `marker`.
    fn read_until(&mut self, marker: &str) -> String {
        use std::io::BufRead;
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            let read = self
                .output
                .read_line(&mut line)
                .expect("read the script's output");
            assert!(read > 0, "the script ended before {marker:?}:\n{seen}");
            seen.push_str(&line);
            if line.contains(marker) {
                return seen;
            }
        }
    }

    /// Ctrl-C, as a terminal sends it, and the script's exit status.
    fn interrupt(mut self) -> std::process::ExitStatus {
        let sent = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
        std::io::Read::read_to_string(&mut self.output, &mut String::new()).ok();
        self.child.wait().expect("wait for the script")
    }
}

impl Drop for DemoScript {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
