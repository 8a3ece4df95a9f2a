//! From an empty directory to a verified ledger of one's own, with only the commands
//! `covenant init` prints: embedded, two actors' rows in one CSV file published over HTTPS,
//! the dry run catching a mistyped reference, `covenant audit verify`; then the same ledger
//! moved onto NATS with `covenant ledger migrate`, keeping its root.

use crate::cli_keys::{covenant, stderr, stdout};
use covenant_emit::keys::{KeyFile, KeyKind};
use covenant_testkit::NatsServer;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ORIGIN: &str = "ledger.example.org/commitments";

/// Two actors' rows in one file, in the order they must reach the ledger.
const EVENTS_CSV: &str = "\
actor,kind,commitment_id,title,text,made_on,due_by,action_id,commitment_ids,type,taken_on,description,verdict,reported_on,summary
GB-EXAMPLE-1,commitment,ex-housing,Homes,We will build 100 homes.,2025-05-01,2026-05-01,,,,,,,,
GB-COUNCIL-7,commitment,council-parks,Parks,We will open two parks.,2025-06-01,2026-06-01,,,,,,,,
GB-EXAMPLE-1,action,,,,,,ex-housing-fund,ex-housing,funding,2025-07-01,Land bought.,,,
GB-COUNCIL-7,outcome,council-parks,,,,,,,,,,delivered,2025-12-01,Both parks are open.
";

/// What `covenant init` printed, and the commands it said to run next.
struct Printed {
    serve: String,
    enrol: String,
    emit: String,
    verify: String,
}

fn printed_commands(output: &str) -> Printed {
    let commands: Vec<String> = output
        .lines()
        .filter_map(|line| line.strip_prefix("   covenant "))
        .map(|rest| format!("covenant {rest}"))
        .collect();
    let [serve, enrol, emit, verify] = <[String; 4]>::try_from(commands.clone())
        .unwrap_or_else(|_| panic!("four commands in:\n{output}"));
    assert!(serve.starts_with("covenant serve "), "{serve}");
    assert!(enrol.starts_with("covenant enrol "), "{enrol}");
    assert!(emit.starts_with("covenant emit "), "{emit}");
    assert!(verify.starts_with("covenant audit verify "), "{verify}");
    Printed {
        serve,
        enrol,
        emit,
        verify,
    }
}

/// A printed command line, run by a shell in `cwd` exactly as a user would paste it, with the
/// `covenant` under test first on the PATH.
fn shell(line: &str, cwd: &Path) -> Command {
    let binary = Path::new(env!("CARGO_BIN_EXE_covenant"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .args(["-c", &format!("exec {line}")])
        .current_dir(cwd)
        .env("PATH", path)
        .env("RUST_LOG", "warn");
    for name in [
        "COVENANT_CONFIG",
        "COVENANT_NATS_URL",
        "COVENANT_DATA",
        "COVENANT_LISTEN",
    ] {
        command.env_remove(name);
    }
    command
}

fn run(line: &str, cwd: &Path) -> Output {
    shell(line, cwd).output().expect("run a printed command")
}

/// `covenant serve` started from its printed command line.
struct Server {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(line: &str, cwd: &Path, url: &str) -> Self {
        let mut child = shell(line, cwd)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start covenant serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let mut server = Self { child, stderr };
        let deadline = Instant::now() + Duration::from_secs(30);
        // Listening on the port init configured, and saying so: not some other program.
        let announced = format!("serving {url}");
        while !(server.stderr().contains(&announced) && get(&format!("{url}/metrics")).is_some()) {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("covenant serve exited with {status}: {}", server.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "covenant serve did not answer: {}",
                server.stderr()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        server
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// SIGTERM, and wait until it has stopped cleanly.
    fn stop(mut self) {
        covenant_testkit::send_signal(self.child.id(), covenant_testkit::SIGTERM, false);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}: {}", self.stderr());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(url: &str) -> Option<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call().ok()?;
    let status = response.status().as_u16();
    Some((status, response.body_mut().read_to_string().ok()?))
}

/// The (size, root) lines of the checkpoint the server publishes, once it covers `size`.
fn checkpoint(url: &str, size: u64) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((200, note)) = get(&format!("{url}/log/checkpoint")) {
            let lines: Vec<&str> = note.lines().collect();
            if lines.len() > 2 && lines[1] == size.to_string() {
                assert_eq!(lines[0], ORIGIN, "{note}");
                return (lines[1].to_owned(), lines[2].to_owned());
            }
        }
        assert!(Instant::now() < deadline, "no checkpoint of size {size}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The ids in `emit`'s dry-run listing, with the row each belongs to.
fn dry_run_ids(output: &str) -> Vec<(String, String, String)> {
    output
        .lines()
        .filter_map(|line| {
            let (label, rest) = line.split_once(": ")?;
            let mut words = rest.split(' ');
            let id = words.next()?.to_owned();
            let actor = rest.rsplit(' ').next()?.to_owned();
            label
                .starts_with("row ")
                .then(|| (label.to_owned(), id, actor))
        })
        .collect()
}

/// A ledger set up with init's commands: two actors enrolled, one CSV file of both actors'
/// rows published over HTTPS to the embedded ledger. Returns the server, the checkpoint size
/// and the commands.
struct Setup {
    work: tempfile::TempDir,
    ledger_dir: PathBuf,
    url: String,
    printed: Printed,
    server: Server,
    size: u64,
}

fn set_up_embedded_ledger() -> Setup {
    let work = tempfile::tempdir().unwrap();
    let ledger_dir = work.path().join("ledger");
    let port = covenant_testkit::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let init = covenant(
        work.path(),
        &[
            "init",
            ledger_dir.to_str().unwrap(),
            "--origin",
            ORIGIN,
            "--listen",
            &listen,
        ],
    );
    assert!(init.status.success(), "{}", stderr(&init));
    let printed = printed_commands(&stdout(&init));
    assert!(printed.enrol.contains(&format!("--ledger {url}")));
    for key in ["keys/log.key", "keys/registrar.key"] {
        let path = ledger_dir.join(key);
        assert!(path.exists(), "{key}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    assert_eq!(
        KeyFile::read(&ledger_dir.join("keys/log.key"))
            .unwrap()
            .origin
            .as_deref(),
        Some(ORIGIN)
    );
    assert!(ledger_dir.join("data").is_dir());

    // 1. serve.
    let server = Server::start(&printed.serve, work.path(), &url);
    // 2. enrol, as printed for the first actor and with its own values for the second.
    let first = run(&printed.enrol, work.path());
    assert!(
        first.status.success(),
        "{}{}",
        stdout(&first),
        stderr(&first)
    );
    assert!(
        stdout(&first).contains("accepted at entry"),
        "{}",
        stdout(&first)
    );
    assert!(
        stdout(&first).contains("with key GB-EXAMPLE-1.emitter-"),
        "the key id names the role granted: {}",
        stdout(&first)
    );
    let second_line = printed.enrol.replace(
        "--actor GB-EXAMPLE-1 --name 'Example Department' --kind department",
        "--actor GB-COUNCIL-7 --name 'Example Council' --kind council",
    );
    assert_ne!(
        second_line, printed.enrol,
        "the actor's flags are as expected"
    );
    let second = run(&second_line, work.path());
    assert!(
        second.status.success(),
        "{}{}",
        stdout(&second),
        stderr(&second)
    );
    let keys: Vec<_> = std::fs::read_dir(ledger_dir.join("keys/emitters"))
        .unwrap()
        .map(|entry| KeyFile::read(&entry.unwrap().path()).unwrap())
        .collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|key| key.kind == KeyKind::Emitter));

    // 3. emit: first the dry run init suggests, then for real.
    std::fs::write(work.path().join("events.csv"), EVENTS_CSV).unwrap();
    let dry = run(&format!("{} --dry-run", printed.emit), work.path());
    assert!(dry.status.success(), "{}{}", stdout(&dry), stderr(&dry));
    let planned = dry_run_ids(&stdout(&dry));
    let rows: Vec<(&str, &str)> = planned
        .iter()
        .map(|(label, _, actor)| (label.as_str(), actor.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("row 2", "GB-EXAMPLE-1"),
            ("row 3", "GB-COUNCIL-7"),
            ("row 4", "GB-EXAMPLE-1"),
            ("row 5", "GB-COUNCIL-7"),
        ],
        "every row, in the order written, with its actor:\n{}",
        stdout(&dry)
    );
    let emitted = run(&printed.emit, work.path());
    assert!(
        emitted.status.success(),
        "{}{}",
        stdout(&emitted),
        stderr(&emitted)
    );
    let report = stdout(&emitted);
    for (label, id, _) in &planned {
        assert!(
            report.contains(&format!("published {id} ")),
            "{label}'s id is the one the dry run printed:\n{report}"
        );
        let (status, body) = get(&format!("{url}/v1/events/{id}")).unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"accepted\""), "{body}");
    }
    assert_eq!(report.matches("accepted at entry").count(), 4, "{report}");
    let outbox = ledger_dir.join("outbox");
    assert_eq!(
        std::fs::read_dir(&outbox).unwrap().count(),
        0,
        "outbox empty"
    );

    // The same file again adds nothing: the ledger already holds every event.
    let again = run(&printed.emit, work.path());
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        stdout(&again)
            .matches("(already stored: not added again)")
            .count(),
        4,
        "{}",
        stdout(&again)
    );

    // genesis, two registrations, two grants, four rows.
    let size = 9;
    checkpoint(&url, size);
    let verified = run(&printed.verify, work.path());
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(
        stdout(&verified).contains(&format!("verified all {size} entries")),
        "{}",
        stdout(&verified)
    );
    Setup {
        work,
        ledger_dir,
        url,
        printed,
        server,
        size,
    }
}

#[test]
fn init_leads_from_an_empty_directory_to_a_verified_ledger_of_two_actors_over_https() {
    let setup = set_up_embedded_ledger();
    let work = setup.work.path();

    // A mistyped reference, a commitment made again, one spoken for by another actor and an
    // indicator it does not have are caught by the dry run, against the live ledger, before anything is published; an
    // outcome of a commitment in the ledger, by its owner, passes.
    std::fs::write(
        work.join("more.csv"),
        "actor,kind,commitment_id,title,text,made_on,verdict,reported_on,class,field,new_value,indicator_id,rationale\n\
         GB-EXAMPLE-1,outcome,ex-housing,,,,delivered,2026-04-01,,,,,\n\
         GB-COUNCIL-7,outcome,council-prks,,,,delivered,2026-04-01,,,,,\n\
         GB-COUNCIL-7,outcome,ex-housing,,,,delivered,2026-04-01,,,,,\n\
         GB-EXAMPLE-1,commitment,ex-housing,Homes,We will build 100 homes.,2025-05-01,,,,,,,\n\
         GB-EXAMPLE-1,amendment,ex-housing,,,,,,target_change,target_value,120,homes,Costs rose.\n",
    )
    .unwrap();
    let typo = run(
        &format!(
            "{} --dry-run",
            setup.printed.emit.replace("events.csv", "more.csv")
        ),
        work,
    );
    assert!(!typo.status.success());
    let listing = stdout(&typo);
    assert!(
        listing.contains("row 3: commitment council-prks not found: neither earlier in this file nor in the ledger"),
        "{listing}"
    );
    assert!(
        listing.contains(
            "row 4: commitment ex-housing belongs to GB-EXAMPLE-1; GB-COUNCIL-7 cannot speak for it"
        ),
        "{listing}"
    );
    assert!(
        listing.contains("row 5: commitment ex-housing already exists in the ledger"),
        "{listing}"
    );
    assert!(
        !listing.contains("commitment ex-housing not found") && !listing.contains("  row 2: "),
        "{listing}"
    );
    assert!(
        listing.contains("row 6: commitment ex-housing has no indicator homes; it names none"),
        "{listing}"
    );
    assert!(
        stderr(&typo).contains("4 problem(s) the ledger would reject; nothing published"),
        "{}",
        stderr(&typo)
    );
    checkpoint(&setup.url, setup.size);

    // A rejected row comes back with the ledger's reason, over HTTPS as over NATS.
    std::fs::write(
        work.join("late.csv"),
        "actor,kind,commitment_id,verdict,reported_on\n\
         GB-COUNCIL-7,outcome,no-such-commitment,delivered,2026-04-01\n",
    )
    .unwrap();
    let rejected = run(&setup.printed.emit.replace("events.csv", "late.csv"), work);
    assert!(!rejected.status.success());
    assert!(
        stdout(&rejected).contains("rejected (unknown_commitment)"),
        "{}",
        stdout(&rejected)
    );

    // While the ledger is down the emitter keeps the event in its outbox and retries until
    // the ledger is back.
    setup.server.stop();
    std::fs::write(
        work.join("after.csv"),
        "actor,kind,commitment_id,verdict,reported_on\n\
         GB-EXAMPLE-1,outcome,ex-housing,partly_delivered,2026-05-01\n",
    )
    .unwrap();
    let waiting = shell(&setup.printed.emit.replace("events.csv", "after.csv"), work)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let outbox = setup.ledger_dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_dir(&outbox).unwrap().count() == 0 {
        assert!(
            Instant::now() < deadline,
            "the event never reached the outbox"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let server = Server::start(&setup.printed.serve, work, &setup.url);
    let waited = waiting.wait_with_output().unwrap();
    assert!(
        waited.status.success(),
        "{}{}",
        stdout(&waited),
        stderr(&waited)
    );
    assert!(
        stdout(&waited).contains("accepted at entry 9"),
        "{}",
        stdout(&waited)
    );
    assert_eq!(
        std::fs::read_dir(&outbox).unwrap().count(),
        0,
        "outbox empty"
    );

    // A single event from flags, and a file of signed envelopes, go the same way.
    let keys = setup.ledger_dir.join("keys/emitters");
    let single = covenant(
        work,
        &[
            "emit",
            "withdrawal",
            "--keys",
            keys.to_str().unwrap(),
            "--actor",
            "GB-COUNCIL-7",
            "--ledger",
            &setup.url,
            "--commitment-id",
            "council-parks",
            "--reason",
            "Merged into the green spaces plan.",
            "--occurred-at",
            "2026-03-01",
        ],
    );
    assert!(
        single.status.success(),
        "{}{}",
        stdout(&single),
        stderr(&single)
    );
    assert!(
        stdout(&single).contains("accepted at entry 10"),
        "{}",
        stdout(&single)
    );
    let registrar_key = setup.ledger_dir.join("keys/registrar.key");
    let signed = covenant(
        work,
        &[
            "keys",
            "register-actor",
            "--registrar-key",
            registrar_key.to_str().unwrap(),
            "--actor",
            "GB-NHS-3",
            "--name",
            "Example Trust",
            "--kind",
            "nhs_body",
            "--out",
            "registry.env",
        ],
    );
    assert!(signed.status.success(), "{}", stderr(&signed));
    let envelopes = covenant(
        work,
        &["emit", "--envelope", "registry.env", "--ledger", &setup.url],
    );
    assert!(
        envelopes.status.success(),
        "{}{}",
        stdout(&envelopes),
        stderr(&envelopes)
    );
    assert!(
        stdout(&envelopes).contains("accepted at entry 11"),
        "{}",
        stdout(&envelopes)
    );

    // Killed after the ledger took an event but before the outbox forgot it: the next run
    // re-sends it from the outbox and the ledger answers that it has it already.
    std::fs::write(
        work.join("crash.csv"),
        "actor,kind,commitment_id,title,text,made_on\n\
         GB-EXAMPLE-1,commitment,ex-crash,Crash,We will survive a crash.,2026-01-01\n",
    )
    .unwrap();
    let crash_line = setup.printed.emit.replace("events.csv", "crash.csv");
    let mut halted = shell(&crash_line, work)
        .env(covenant_emit::emitter::HALT_AT_ENV, "after-publish")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut halt_line = String::new();
    BufReader::new(halted.stderr.take().unwrap())
        .read_line(&mut halt_line)
        .unwrap();
    assert!(
        halt_line.contains("covenant-emit halted AfterPublish"),
        "{halt_line}"
    );
    halted.kill().unwrap();
    halted.wait().unwrap();
    assert_eq!(
        std::fs::read_dir(&outbox).unwrap().count(),
        1,
        "left in the outbox"
    );
    let resumed = run(&crash_line, work);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let resumed = stdout(&resumed);
    assert!(
        resumed.contains("re-sent 1 event(s) left in the outbox"),
        "{resumed}"
    );
    assert!(
        resumed.contains("(already stored: not added again)"),
        "{resumed}"
    );
    assert!(resumed.contains("accepted at entry 12"), "{resumed}");
    assert_eq!(
        std::fs::read_dir(&outbox).unwrap().count(),
        0,
        "outbox empty"
    );

    // init refuses to run again over the same directory, and never touches the keys.
    let log_key = std::fs::read(setup.ledger_dir.join("keys/log.key")).unwrap();
    let again = covenant(
        work,
        &[
            "init",
            setup.ledger_dir.to_str().unwrap(),
            "--origin",
            "another.example.org/log",
        ],
    );
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains(&format!("already exists for log \"{ORIGIN}\"")),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read(setup.ledger_dir.join("keys/log.key")).unwrap(),
        log_key
    );
    server.stop();
}

#[test]
fn init_refuses_shared_origins_and_existing_keys() {
    let work = tempfile::tempdir().unwrap();
    let shared = covenant(
        work.path(),
        &["init", "a", "--origin", "demo.covenant.local/log"],
    );
    assert!(!shared.status.success());
    assert!(stderr(&shared).contains("shared by every test and demo log"));
    std::fs::create_dir_all(work.path().join("b/keys")).unwrap();
    std::fs::write(work.path().join("b/keys/registrar.key"), "precious").unwrap();
    let existing = covenant(work.path(), &["init", "b", "--origin", ORIGIN]);
    assert!(!existing.status.success());
    assert!(
        stderr(&existing).contains("refusing to overwrite a key"),
        "{}",
        stderr(&existing)
    );
    assert_eq!(
        std::fs::read_to_string(work.path().join("b/keys/registrar.key")).unwrap(),
        "precious"
    );
    assert!(
        !work.path().join("b/keys/log.key").exists(),
        "nothing is written when anything is refused"
    );

    // With NATS, the event stream must not already hold another log's events.
    let nats = NatsServer::start();
    crate::cli_emit::create_event_stream(&nats.url());
    let fresh = covenant(
        work.path(),
        &["init", "c", "--origin", ORIGIN, "--nats", &nats.url()],
    );
    assert!(
        fresh.status.success(),
        "an empty stream is fine: {}",
        stderr(&fresh)
    );
    let config = std::fs::read_to_string(work.path().join("c/covenant.toml")).unwrap();
    assert!(
        config.contains(&format!("url = \"{}\"", nats.url())),
        "{config}"
    );
    crate::cli_emit::publish_raw(&nats.url(), "acct.events.X", b"someone else's event");
    let used = covenant(
        work.path(),
        &["init", "d", "--origin", ORIGIN, "--nats", &nats.url()],
    );
    assert!(!used.status.success());
    assert!(
        stderr(&used).contains("already holds 1 events of another log"),
        "{}",
        stderr(&used)
    );
}

#[test]
fn an_embedded_ledger_moves_to_nats_with_the_same_root() {
    let setup = set_up_embedded_ledger();
    let work = setup.work.path();
    let (size, root) = checkpoint(&setup.url, setup.size);
    setup.server.stop();

    let nats = NatsServer::start();
    let config = setup.ledger_dir.join("covenant.toml");
    let new_data = setup.ledger_dir.join("data-nats");
    // The embedded store itself cannot follow a stream; the refusal says what to do.
    let refused = run(
        &format!("{} --nats {}", setup.printed.serve, nats.url()),
        work,
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("move it onto the stream with `covenant ledger migrate`"),
        "{}",
        stderr(&refused)
    );
    let migrated = covenant(
        work,
        &[
            "ledger",
            "migrate",
            "--config",
            config.to_str().unwrap(),
            "--nats",
            &nats.url(),
            "--to",
            new_data.to_str().unwrap(),
        ],
    );
    assert!(
        migrated.status.success(),
        "{}{}",
        stdout(&migrated),
        stderr(&migrated)
    );
    let report = stdout(&migrated);
    assert!(report.contains(&format!("root {root}")), "{report}");
    assert!(
        report.contains("the same root as the embedded log"),
        "{report}"
    );

    // The ledger now runs on NATS from the migrated store and serves the same checkpoint.
    let serve_on_nats = format!(
        "{} --nats {} --data {}",
        setup.printed.serve,
        nats.url(),
        new_data.display()
    );
    let server = Server::start(&serve_on_nats, work, &setup.url);
    assert_eq!(checkpoint(&setup.url, setup.size), (size, root.clone()));

    // A replica rebuilt from the stream alone derives the same log; one without the log key
    // cannot check the migrated times and refuses rather than derive another log.
    let replica = setup.ledger_dir.join("data-replica");
    let rebuilt = covenant(
        work,
        &[
            "ledger",
            "rebuild",
            "--config",
            config.to_str().unwrap(),
            "--nats",
            &nats.url(),
            "--data",
            replica.to_str().unwrap(),
        ],
    );
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    assert!(
        stdout(&rebuilt).contains(&format!("root {root}")),
        "{}",
        stdout(&rebuilt)
    );
    let text = std::fs::read_to_string(&config).unwrap();
    let without_key: String = text
        .lines()
        .filter(|line| !line.starts_with("log_key"))
        .map(|line| format!("{line}\n"))
        .collect();
    let keyless = setup.ledger_dir.join("keyless.toml");
    std::fs::write(&keyless, without_key).unwrap();
    let refused = covenant(
        work,
        &[
            "ledger",
            "rebuild",
            "--config",
            keyless.to_str().unwrap(),
            "--nats",
            &nats.url(),
            "--data",
            setup.ledger_dir.join("data-keyless").to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("was migrated from an embedded log"),
        "{}",
        stderr(&refused)
    );

    // New events go through NATS now and extend the same log.
    std::fs::write(
        work.join("more.csv"),
        "actor,kind,commitment_id,verdict,reported_on\n\
         GB-EXAMPLE-1,outcome,ex-housing,delivered,2026-04-01\n",
    )
    .unwrap();
    let more = run(
        &format!(
            "{} --nats {}",
            setup.printed.emit.replace("events.csv", "more.csv"),
            nats.url()
        ),
        work,
    );
    assert!(more.status.success(), "{}{}", stdout(&more), stderr(&more));
    assert!(
        stdout(&more).contains("at stream sequence 9"),
        "{}",
        stdout(&more)
    );
    assert!(
        stdout(&more).contains("accepted at entry 9"),
        "{}",
        stdout(&more)
    );
    checkpoint(&setup.url, setup.size + 1);
    let verified = run(&setup.printed.verify, work);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(
        stdout(&verified).contains(&format!("verified all {} entries", setup.size + 1)),
        "{}",
        stdout(&verified)
    );
    server.stop();
}
