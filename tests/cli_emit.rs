//! `covenant emit` against a real nats-server: from a CSV file, from flags, from envelope
//! files; idempotent re-runs; nothing published when a row is bad; a killed run recovered.

use crate::cli_keys::{covenant, field, stderr, stdout};
use async_nats::jetstream::{self, stream};
use covenant_core::subject::{DUPLICATE_WINDOW_SECS, EVENT_STREAM, EVENT_SUBJECTS};
use covenant_emit::emitter::HALT_AT_ENV;
use covenant_emit::envelope_file;
use covenant_testkit::NatsServer;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("start a tokio runtime")
}

/// Create the event stream with the settings the ledger uses.
pub fn create_event_stream(nats_url: &str) {
    runtime().block_on(async {
        let client = async_nats::connect(nats_url)
            .await
            .expect("connect to nats");
        jetstream::new(client)
            .create_stream(stream::Config {
                name: EVENT_STREAM.to_owned(),
                subjects: vec![EVENT_SUBJECTS.to_owned()],
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                max_age: Duration::ZERO,
                duplicate_window: Duration::from_secs(DUPLICATE_WINDOW_SECS),
                ..Default::default()
            })
            .await
            .expect("create the event stream");
    });
}

/// Publish bytes on a subject of the event stream and wait for JetStream's ack.
pub fn publish_raw(nats_url: &str, subject: &str, payload: &'static [u8]) {
    runtime().block_on(async {
        let client = async_nats::connect(nats_url)
            .await
            .expect("connect to nats");
        jetstream::new(client)
            .publish(subject.to_owned(), payload.into())
            .await
            .expect("publish")
            .await
            .expect("stored");
    });
}

/// Every message in the event stream: (subject, the envelope's event id, payload). Checks that
/// every message was published with `Nats-Msg-Id` set to the digest of its bytes.
pub fn stream_messages(nats_url: &str) -> Vec<(String, String, Vec<u8>)> {
    runtime().block_on(async {
        let client = async_nats::connect(nats_url)
            .await
            .expect("connect to nats");
        let mut stream = jetstream::new(client)
            .get_stream(EVENT_STREAM)
            .await
            .expect("the event stream exists");
        let count = stream.info().await.expect("stream info").state.messages;
        let mut messages = Vec::with_capacity(count as usize);
        for sequence in 1..=count {
            let message = stream
                .get_raw_message(sequence)
                .await
                .expect("read a message");
            let message_id = message
                .headers
                .get("Nats-Msg-Id")
                .map(|value| value.as_str().to_owned())
                .unwrap_or_default();
            assert_eq!(
                message_id,
                covenant_core::subject::message_id(&message.payload),
                "Nats-Msg-Id is the digest of the bytes"
            );
            let id =
                <covenant_core::proto::Envelope as prost::Message>::decode(&message.payload[..])
                    .map(|envelope| envelope.event_id)
                    .unwrap_or_default();
            messages.push((message.subject.to_string(), id, message.payload.to_vec()));
        }
        messages
    })
}

/// A directory with an emitter key for GB-GOV-23.
fn emitter_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let output = covenant(
        dir.path(),
        &[
            "keys",
            "generate",
            "--kind",
            "emitter",
            "--actor",
            "GB-GOV-23",
            "--key-id",
            "dcms-1",
            "--out",
            "dcms.key",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    dir
}

const CSV: &str = "\
kind,commitment_id,title,text,made_on,due_by,themes,action_id,commitment_ids,type,taken_on,description,money_amount,money_stage,verdict,reported_on,summary
commitment,dcms-covenant-council,Joint council,We will set up a joint council.,2025-07-17,2025-12-31,community,,,,,,,,,,
action,,,,,,,dcms-council-secretariat,dcms-covenant-council,funding,2025-09-15,Secretariat funded.,\"450,000\",committed,,,
outcome,dcms-covenant-council,,,,,,,,,,,,,delivered,2025-12-08,The council has met twice.
";

fn ids_in(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("published "))
        .map(|rest| rest.split(' ').next().unwrap().to_owned())
        .collect()
}

#[test]
fn a_csv_file_is_published_in_order_and_a_second_run_adds_nothing() {
    let server = NatsServer::start();
    create_event_stream(&server.url());
    let dir = emitter_dir();
    std::fs::write(dir.path().join("events.csv"), CSV).unwrap();
    let args = [
        "emit",
        "--nats",
        &server.url(),
        "--key",
        "dcms.key",
        "--file",
        "events.csv",
    ];

    let first = covenant(dir.path(), &args);
    assert!(first.status.success(), "{}", stderr(&first));
    let ids = ids_in(&stdout(&first));
    assert_eq!(ids.len(), 3, "{}", stdout(&first));
    let messages = stream_messages(&server.url());
    assert_eq!(
        messages.iter().map(|m| m.1.clone()).collect::<Vec<_>>(),
        ids,
        "stored in file order"
    );
    assert!(messages.iter().all(|m| m.0 == "acct.events.GB-GOV-23"));
    assert_eq!(
        std::fs::read_dir(dir.path().join("covenant-outbox"))
            .unwrap()
            .count(),
        0,
        "the outbox is empty once everything is acknowledged"
    );

    let second = covenant(dir.path(), &args);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(ids_in(&stdout(&second)), ids, "ids derive from the rows");
    assert_eq!(stdout(&second).matches("already stored").count(), 3);
    assert_eq!(stream_messages(&server.url()).len(), 3);
}

#[test]
fn a_bad_row_is_named_and_nothing_is_published() {
    let server = NatsServer::start();
    create_event_stream(&server.url());
    let dir = emitter_dir();
    let bad = CSV.replace("2025-12-08", "2025-12-32");
    std::fs::write(dir.path().join("events.csv"), bad).unwrap();
    let url = server.url();
    for dry_run in [true, false] {
        let mut args = vec![
            "emit",
            "--nats",
            &url,
            "--key",
            "dcms.key",
            "--file",
            "events.csv",
        ];
        if dry_run {
            args.push("--dry-run");
        }
        let output = covenant(dir.path(), &args);
        assert!(!output.status.success());
        assert!(
            stderr(&output).contains(
                "events.csv: row 4, reported_on: \"2025-12-32\" is not a date (YYYY-MM-DD)"
            ),
            "{}",
            stderr(&output)
        );
        assert!(
            stderr(&output)
                .contains("1 of 3 rows in events.csv are invalid; nothing was published")
        );
    }
    assert!(stream_messages(&server.url()).is_empty());
}

#[test]
fn a_commitment_made_twice_in_one_file_stops_it_before_anything_is_published() {
    let server = NatsServer::start();
    create_event_stream(&server.url());
    let dir = emitter_dir();
    let twice = format!(
        "{CSV}commitment,dcms-covenant-council,Joint council,We will set up a council.,2025-07-18,2026-03-31,community,,,,,,,,,,\n"
    );
    std::fs::write(dir.path().join("events.csv"), twice).unwrap();
    let url = server.url();
    let args = [
        "emit",
        "--nats",
        &url,
        "--key",
        "dcms.key",
        "--file",
        "events.csv",
    ];
    let dry = covenant(dir.path(), &[&args[..], &["--dry-run"]].concat());
    assert!(!dry.status.success());
    assert!(
        stdout(&dry)
            .contains("row 5: commitment dcms-covenant-council is made by an earlier row too"),
        "{}",
        stdout(&dry)
    );
    let real = covenant(dir.path(), &args);
    assert!(!real.status.success());
    assert!(
        stderr(&real).contains(
            "nothing published: the ledger would reject these rows\n  row 5: commitment dcms-covenant-council is made by an earlier row too"
        ),
        "{}",
        stderr(&real)
    );
    assert!(stream_messages(&server.url()).is_empty());
}

#[test]
fn dry_run_checks_without_publishing() {
    let server = NatsServer::start();
    create_event_stream(&server.url());
    let dir = emitter_dir();
    std::fs::write(dir.path().join("events.csv"), CSV).unwrap();
    let output = covenant(
        dir.path(),
        &[
            "emit",
            "--nats",
            &server.url(),
            "--key",
            "dcms.key",
            "--file",
            "events.csv",
            "--dry-run",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("3 event(s) valid; nothing published (dry run)"));
    assert!(stream_messages(&server.url()).is_empty());
}

#[test]
fn one_event_from_flags_and_registry_envelopes_from_a_file() {
    let server = NatsServer::start();
    create_event_stream(&server.url());
    let dir = emitter_dir();
    let registrar = covenant(
        dir.path(),
        &[
            "keys",
            "generate",
            "--kind",
            "registrar",
            "--key-id",
            "registrar-1",
            "--out",
            "reg.key",
        ],
    );
    assert!(registrar.status.success());
    let public_key = field(
        &stdout(&covenant(dir.path(), &["keys", "show", "dcms.key"])),
        "public key",
    );
    for args in [
        vec![
            "keys",
            "register-actor",
            "--registrar-key",
            "reg.key",
            "--actor",
            "GB-GOV-23",
            "--name",
            "DCMS",
            "--kind",
            "department",
            "--out",
            "grant.env",
        ],
        vec![
            "keys",
            "grant",
            "--registrar-key",
            "reg.key",
            "--key-id",
            "dcms-1",
            "--public-key",
            &public_key,
            "--actor",
            "GB-GOV-23",
            "--role",
            "emitter",
            "--out",
            "grant.env",
        ],
    ] {
        assert!(covenant(dir.path(), &args).status.success());
    }
    let published = covenant(
        dir.path(),
        &["emit", "--nats", &server.url(), "--envelope", "grant.env"],
    );
    assert!(published.status.success(), "{}", stderr(&published));
    let expected =
        envelope_file::parse(&std::fs::read(dir.path().join("grant.env")).unwrap()).unwrap();
    let messages = stream_messages(&server.url());
    assert_eq!(
        messages.iter().map(|m| m.2.clone()).collect::<Vec<_>>(),
        expected,
        "the exact signed bytes"
    );
    assert!(
        messages
            .iter()
            .all(|m| m.0 == "acct.events.covenant-registrar")
    );

    let event_id = "01K0ATWJ00AAAAAAAAAAAAAAAA";
    let flags = covenant(
        dir.path(),
        &[
            "emit",
            "commitment",
            "--nats",
            &server.url(),
            "--key",
            "dcms.key",
            "--event-id",
            event_id,
            "--commitment-id",
            "dcms-volunteering",
            "--title",
            "A volunteering strategy",
            "--text",
            "We will publish a national volunteering strategy.",
            "--made-on",
            "2025-03-10",
            "--due-by",
            "2026-03-31",
            "--themes",
            "community,opportunity",
        ],
    );
    assert!(flags.status.success(), "{}", stderr(&flags));
    let messages = stream_messages(&server.url());
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[2].1, event_id);
    let event = covenant_core::event::decode(&messages[2].2).unwrap();
    let covenant_core::proto::event_body::Kind::CommitmentMade(made) = event.kind else {
        panic!("a commitment");
    };
    assert_eq!(made.themes, ["community", "opportunity"]);
    assert_eq!(event.envelope.key_id, "dcms-1");

    let bad_flag = covenant(
        dir.path(),
        &[
            "emit",
            "withdrawal",
            "--nats",
            &server.url(),
            "--key",
            "dcms.key",
            "--commitment-id",
            "dcms-volunteering",
        ],
    );
    assert!(!bad_flag.status.success());
    assert!(
        stderr(&bad_flag).contains("--reason: is required"),
        "{}",
        stderr(&bad_flag)
    );
}

#[test]
fn a_run_killed_after_publishing_is_completed_by_the_next_run_without_a_duplicate() {
    let server = NatsServer::start();
    create_event_stream(&server.url());
    let dir = emitter_dir();
    std::fs::write(
        dir.path().join("events.csv"),
        CSV.lines().take(2).collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
    let args = [
        "emit",
        "--nats",
        &server.url(),
        "--key",
        "dcms.key",
        "--file",
        "events.csv",
    ];

    let mut child = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .current_dir(dir.path())
        .args(args)
        .env(HALT_AT_ENV, "after-publish")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let halted = lines
        .map_while(Result::ok)
        .find(|line| line.starts_with("covenant-emit halted"))
        .expect("the run halts after publishing");
    child.kill().unwrap();
    child.wait().unwrap();
    let event_id = halted.rsplit(' ').next().unwrap().to_owned();
    let outbox = dir.path().join("covenant-outbox");
    assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 1);

    let next = covenant(dir.path(), &args);
    assert!(next.status.success(), "{}", stderr(&next));
    assert!(
        stdout(&next).contains("re-sent 1 event(s) left in the outbox"),
        "{}",
        stdout(&next)
    );
    let messages = stream_messages(&server.url());
    assert_eq!(messages.len(), 1, "stored once");
    assert_eq!(messages[0].1, event_id);
    assert_eq!(std::fs::read_dir(Path::new(&outbox)).unwrap().count(), 0);
}

/// Every field of a real commitment has a flag: shared delivery, named targets, sources and
/// evidence; a multi-field amendment; measurements; a verdict; an adoption.
#[test]
fn flags_carry_every_field_of_real_commitments() {
    use covenant_core::proto::{self, event_body::Kind};
    let server = NatsServer::start();
    create_event_stream(&server.url());
    let dir = emitter_dir();
    let url = server.url();
    let emit = |args: &[&str]| {
        let mut all = vec!["emit", args[0], "--nats", &url, "--key", "dcms.key"];
        all.extend_from_slice(&args[1..]);
        let output = covenant(dir.path(), &all);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    };
    emit(&[
        "commitment",
        "--commitment-id",
        "pfc-homes",
        "--title",
        "Homes",
        "--text",
        "Build 1.5 million homes",
        "--made-on",
        "2024-12-05",
        "--delivery-partners",
        "GB-GOV-7,GB-GOV-5",
        "--indicator",
        "homes|net additional dwellings|>=1500000|homes",
        "--indicator",
        "decisions|infrastructure decisions|at least 150|decisions",
        "--source",
        "policy_paper|Plan for Change|https://www.gov.uk/missions",
        "--evidence",
        "Statistics|https://www.gov.uk/statistics",
    ]);
    emit(&[
        "amendment",
        "--commitment-id",
        "pfc-homes",
        "--class",
        "target_change",
        "--rationale",
        "revised",
        "--change",
        "target_value:homes=1300000",
        "--change",
        "text=Build 1.3 million homes",
        "--effective-on",
        "2025-11-20",
    ]);
    emit(&[
        "outcome",
        "--commitment-id",
        "pfc-homes",
        "--verdict",
        "delivered",
        "--reported-on",
        "2026-04-30",
        "--measurement",
        "homes|1200000|2026-03-31",
    ]);
    emit(&[
        "assessment",
        "--commitment-id",
        "pfc-homes",
        "--stance",
        "disputes",
        "--summary",
        "conversions counted",
        "--assessed-verdict",
        "not_delivered",
    ]);
    emit(&[
        "adoption",
        "--commitment-id",
        "pledge",
        "--adopted-on",
        "2024-07-17",
        "--note",
        "King's Speech",
    ]);
    let kinds: Vec<Kind> = stream_messages(&server.url())
        .iter()
        .map(|(_, _, bytes)| covenant_core::event::decode(bytes).unwrap().kind)
        .collect();
    let [
        Kind::CommitmentMade(made),
        Kind::CommitmentAmended(amended),
        Kind::OutcomeReported(outcome),
        Kind::AssessmentPublished(assessment),
        Kind::CommitmentAdopted(adopted),
    ] = kinds.as_slice()
    else {
        panic!("{kinds:?}");
    };
    assert_eq!(made.delivery_partners, ["GB-GOV-7", "GB-GOV-5"]);
    assert_eq!(made.indicators.len(), 2);
    assert_eq!(
        made.indicators[1].comparator,
        proto::Comparator::AtLeast as i32
    );
    assert_eq!(made.sources[0].url, "https://www.gov.uk/missions");
    assert_eq!(made.evidence[0].title, "Statistics");
    assert_eq!(amended.changes.len(), 2);
    assert_eq!(amended.changes[0].indicator_id, "homes");
    assert_eq!(amended.effective_on, "2025-11-20");
    assert_eq!(outcome.measurements[0].value, 1_200_000.0);
    assert_eq!(assessment.outcome_event_id, "");
    assert_eq!(
        assessment.assessed_verdict,
        proto::Verdict::NotDelivered as i32
    );
    assert_eq!(adopted.note, "King's Speech");
}
