//! Crash tests: a real emitter process is killed with SIGKILL at the worst moments, and a
//! restart must deliver its event exactly once.
//!
//! This program is both sides. Run normally, it is the test: it starts nats-server, runs itself
//! as a child emitter with `COVENANT_EMIT_HALT_AT` set (the child stops at that point and waits),
//! kills the child, restarts an emitter on the same outbox and checks the stream.

mod common;

use common::{commitments, create_event_stream, quick_config, stream_messages};
use covenant_emit::emitter::{Emitter, EmitterConfig, HALT_AT_ENV};
use covenant_testkit::NatsServer;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child: `<nats url> <outbox dir>`.
const CHILD_ENV: &str = "COVENANT_EMIT_CRASH_CHILD";

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("start a tokio runtime");
    if let Ok(arguments) = std::env::var(CHILD_ENV) {
        let (url, outbox) = arguments.split_once(' ').expect("url and outbox");
        runtime.block_on(child(url, Path::new(outbox)));
        return;
    }
    let started = Instant::now();
    runtime.block_on(killed_after_publish_before_ack_is_re_sent_and_stored_once());
    println!("test killed_after_publish_before_ack_is_re_sent_and_stored_once ... ok");
    runtime.block_on(killed_before_publish_is_sent_on_restart());
    println!("test killed_before_publish_is_sent_on_restart ... ok");
    println!("crash tests passed in {:.1?}", started.elapsed());
}

/// The emitter under test: publish one event (halting where the parent asked).
async fn child(url: &str, outbox: &Path) {
    let config = EmitterConfig {
        publisher: quick_config(url),
        outbox_dir: outbox.to_owned(),
    };
    let emitter = Emitter::open(config).await.expect("open the emitter");
    emitter
        .emit(commitments(1).remove(0))
        .await
        .expect("emit the event");
}

/// Run the child until it reports the halt point, then SIGKILL it.
fn run_child_until_halt(url: &str, outbox: &Path, halt_at: &str) -> String {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, format!("{url} {}", outbox.display()))
        .env(HALT_AT_ENV, halt_at)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child emitter");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let halted = loop {
        let line = lines
            .next()
            .expect("the child reports its halt before exiting")
            .expect("read the child's stderr");
        if line.starts_with("covenant-emit halted") {
            break line;
        }
    };
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    assert!(
        !status.success(),
        "the child was killed, not finished: {status}"
    );
    halted
}

fn outbox_files(outbox: &Path) -> usize {
    std::fs::read_dir(outbox).expect("list the outbox").count()
}

async fn killed_after_publish_before_ack_is_re_sent_and_stored_once() {
    let server = NatsServer::start();
    create_event_stream(&server.url()).await;
    let outbox = tempfile::tempdir().unwrap();
    let event = commitments(1).remove(0);

    let halted = run_child_until_halt(&server.url(), outbox.path(), "after-publish");
    assert_eq!(
        halted,
        format!("covenant-emit halted AfterPublish {}", event.event_id)
    );
    assert_eq!(
        outbox_files(outbox.path()),
        1,
        "the unacknowledged event is still in the outbox"
    );
    // The broker did get it before the crash: the ack was what got lost.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stream_messages(&server.url()).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the published event never reached the stream"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let config = EmitterConfig {
        publisher: quick_config(&server.url()),
        outbox_dir: outbox.path().to_owned(),
    };
    let restarted = Emitter::open(config).await.unwrap();
    let recovered = restarted.recovered();
    assert_eq!(recovered.len(), 1, "the restart re-sends the outbox");
    assert_eq!(recovered[0].event_id, event.event_id);
    assert!(
        recovered[0].duplicate,
        "JetStream recognised the re-sent event id"
    );
    assert_eq!(outbox_files(outbox.path()), 0);

    let messages = stream_messages(&server.url()).await;
    assert_eq!(messages.len(), 1, "stored exactly once");
    assert_eq!(
        messages[0].1,
        covenant_core::subject::message_id(&event.bytes),
        "the message id is the digest of the bytes"
    );
    assert_eq!(messages[0].2, event.bytes.to_vec(), "the same bytes");
}

async fn killed_before_publish_is_sent_on_restart() {
    let server = NatsServer::start();
    create_event_stream(&server.url()).await;
    let outbox = tempfile::tempdir().unwrap();
    let event = commitments(1).remove(0);

    let halted = run_child_until_halt(&server.url(), outbox.path(), "before-publish");
    assert_eq!(
        halted,
        format!("covenant-emit halted BeforePublish {}", event.event_id)
    );
    assert_eq!(outbox_files(outbox.path()), 1);
    assert!(
        stream_messages(&server.url()).await.is_empty(),
        "nothing was sent"
    );

    let config = EmitterConfig {
        publisher: quick_config(&server.url()),
        outbox_dir: outbox.path().to_owned(),
    };
    let restarted = Emitter::open(config).await.unwrap();
    assert_eq!(restarted.recovered().len(), 1);
    assert!(!restarted.recovered()[0].duplicate, "first delivery");
    assert_eq!(outbox_files(outbox.path()), 0);
    let messages = stream_messages(&server.url()).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].2, event.bytes.to_vec());
}
