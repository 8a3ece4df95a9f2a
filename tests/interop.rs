//! The independent verifier in interop/python, written from docs/SPEC.md alone, against the
//! reference implementation: every conformance vector of spec/vectors, the SPEC's worked
//! example, the log release 0.1 wrote, a live log that `covenant serve` built from events of
//! every kind fed through a real nats-server, and logs that lie (which it must refuse, naming
//! what is wrong).

use crate::audit::tile_server::TileServer;
use crate::ledger::support::world::{self, ORIGIN, World, header};
use crate::ledger::support::{Served, get, wait_for_decision, write_config};
use covenant_audit::publish::StaticLog;
use covenant_core::checkpoint::LogSigner;
use covenant_core::entry::{Entry, chain_hash};
use covenant_core::proto::event_body::Kind;
use covenant_core::proto::*;
use covenant_core::signing::{EventSigner, seal};
use covenant_store::{LogReader, SledStore};
use covenant_testkit::NatsServer;
use prost::Message;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const DCMS: &str = "GB-GOV-DCMS";
const DHSC: &str = "GB-GOV-DHSC";
const MP: &str = "uk-mp:4514";
const WATCHDOG: &str = "GB-CHC-1234567";
const SUCCESSOR: &str = "GB-GOV-DCMS-2";
/// Plain commitments in the live log, beside the events of every other kind: a few hundred
/// entries keep the pure-Python signature checks to a few seconds.
const PLAIN_COMMITMENTS: usize = 200;

/// The interpreter of a virtual environment under the target directory holding
/// interop/python/requirements.txt, made once per run (and again when the requirements change).
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(prepare_environment)
}

fn prepare_environment() -> PathBuf {
    let requirements = Path::new(REPO).join("interop/python/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).expect("read the requirements");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .to_path_buf();
    let venv = target.join("interop-venv");
    let stamp = |dir: &Path| dir.join("covenant-requirements.txt");
    if std::fs::read_to_string(stamp(&venv)).ok().as_deref() == Some(wanted.as_str()) {
        return venv.join("bin/python");
    }
    let version = Command::new("python3").arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|output| output.status.success()),
        "python3 is needed to run the independent verifier (interop/python): install Python 3.9 \
         or newer with its venv module ({version:?})"
    );
    // Built aside and renamed into place, so that a run stopped halfway leaves nothing that
    // looks ready.
    let partial = target.join(format!("interop-venv.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    run_checked(Command::new("python3").args(["-m", "venv"]).arg(&partial));
    run_checked(
        Command::new(partial.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
    );
    std::fs::write(stamp(&partial), &wanted).expect("write the requirements stamp");
    let _ = std::fs::remove_dir_all(&venv);
    std::fs::rename(&partial, &venv).expect("move the environment into place");
    venv.join("bin/python")
}

fn run_checked(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `python -m covenant_verify ARGS`: exit code, stdout and stderr.
fn covenant_verify(args: &[&str]) -> (i32, String, String) {
    python_module("covenant_verify", args)
}

fn python_module(module: &str, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(python())
        .args(["-m", module])
        .args(args)
        .current_dir(Path::new(REPO).join("interop/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run the Python verifier");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_python_verifier_gives_every_answer_of_the_conformance_vectors() {
    let vectors = Path::new(REPO).join("spec/vectors");
    let (code, stdout, stderr) = covenant_verify(&["vectors", vectors.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // Every file of spec/vectors/README.md is there and ran, and no case failed.
    for file in ["envelopes", "entries", "merkle", "checkpoints", "ed25519"] {
        assert!(
            stdout.contains(&format!("PASS {file}.json: ")),
            "no case of {file}.json passed: {stdout}{stderr}"
        );
    }
    assert!(!stdout.contains("FAIL "), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap_or_default()
            .contains(" 0 failed"),
        "{stdout}"
    );
}

#[test]
fn the_python_verifier_recomputes_the_worked_example_of_the_spec() {
    let (code, stdout, stderr) = python_module(
        "unittest",
        &[
            "discover",
            "--start-directory",
            "tests",
            "--top-level-directory",
            ".",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("OK"), "{stderr}");
}

/// Every kind of event, in an order the rules accept: the registry, commitments with
/// indicators, sources and delivery partners, amendments, actions with money, outcomes with
/// measurements, assessments, a withdrawal, a retraction, an adoption and a succession.
fn every_kind_of_event(world: &mut World, assessor: &EventSigner) -> Vec<Vec<u8>> {
    let mut events = Vec::new();
    events.extend(world.onboard(DCMS, "dcms-1", 2));
    events.extend(world.onboard(DHSC, "dhsc-1", 3));
    events.push(world.registry(Kind::ActorRegistered(ActorRegistered {
        actor_id: MP.into(),
        name: "A Member".into(),
        kind: ActorKind::Mp as i32,
        identifiers: vec!["uk-parliament-member:4514".into()],
        constituency: "Somewhere North".into(),
        party: "An Independent".into(),
        url: "https://members.parliament.uk/member/4514".into(),
    })));
    events.push(world.grant("mp-1", MP, 4));
    events.push(world.registry(Kind::ActorRegistered(ActorRegistered {
        actor_id: WATCHDOG.into(),
        name: "A Watchdog".into(),
        kind: ActorKind::Watchdog as i32,
        ..Default::default()
    })));
    events.push(world.registry(Kind::KeyGranted(KeyGranted {
        key_id: "watchdog-1".into(),
        public_key: assessor.public_key().to_vec(),
        actor_id: WATCHDOG.into(),
        roles: vec![KeyRole::Assessor as i32],
    })));
    events.push(world.register_actor(SUCCESSOR));
    events.push(world.grant("dcms-old", DCMS, 6));
    events.push(world.revoke("dcms-old"));

    for i in 0..PLAIN_COMMITMENTS {
        events.push(world.commitment(DCMS, "dcms-1", &format!("c-{i}")));
    }
    events.push(world.emit(DCMS, "dcms-1", rich_commitment()));
    events.push(world.emit(DCMS, "dcms-1", legacy_commitment()));
    events.push(world.emit(
        DCMS,
        "dcms-1",
        Kind::CommitmentAmended(CommitmentAmended {
            commitment_id: "dcms-rich".into(),
            class: AmendmentClass::TargetChange as i32,
            changes: vec![
                FieldChange {
                    field: AmendedField::TargetValue as i32,
                    new_value: "120.5".into(),
                    indicator_id: "visits".into(),
                },
                FieldChange {
                    field: AmendedField::Text as i32,
                    new_value: "We will fund 120.5 thousand visits a year.".into(),
                    indicator_id: String::new(),
                },
            ],
            rationale: "The spending review raised the budget.".into(),
            sources: vec![source("https://www.gov.uk/spending-review")],
            effective_on: "2026-03-01".into(),
        }),
    ));
    events.push(world.emit(
        DCMS,
        "dcms-1",
        Kind::CommitmentAmended(CommitmentAmended {
            commitment_id: "c-1".into(),
            class: AmendmentClass::DeadlineChange as i32,
            changes: vec![FieldChange {
                field: AmendedField::DueBy as i32,
                new_value: "2027-01-01".into(),
                indicator_id: String::new(),
            }],
            rationale: "Delayed by the election.".into(),
            ..Default::default()
        }),
    ));
    // A delivery partner records an action with money against the owner's commitment.
    events.push(world.emit(
        DHSC,
        "dhsc-1",
        Kind::ActionRecorded(ActionRecorded {
            action_id: "a-rich".into(),
            commitment_ids: vec!["dcms-rich".into()],
            r#type: ActionType::Funding as i32,
            taken_on: "2026-02-01".into(),
            description: "Grants to local museums".into(),
            money: Some(Money {
                amount_minor: 25_000_000,
                currency: "GBP".into(),
                stage: MoneyStage::Committed as i32,
            }),
            evidence: vec![link("https://www.gov.uk/grants?year=2026#museums")],
            partners: vec!["Arts Council England".into()],
        }),
    ));
    let outcome = world.emit(
        DCMS,
        "dcms-1",
        Kind::OutcomeReported(OutcomeReported {
            commitment_id: "dcms-rich".into(),
            verdict: Verdict::PartlyDelivered as i32,
            reported_on: "2026-06-01".into(),
            summary: "Visits rose, the share did not.".into(),
            lessons: "Start earlier.".into(),
            evidence: vec![link("https://www.gov.uk/museum-visits")],
            measurements: vec![
                Measurement {
                    indicator_id: "visits".into(),
                    value: 130.0,
                    measured_on: "2026-05-31".into(),
                    period: "2025-26".into(),
                },
                Measurement {
                    indicator_id: "share".into(),
                    value: -0.5,
                    measured_on: "2026-05-31".into(),
                    period: String::new(),
                },
            ],
            ..Default::default()
        }),
    );
    let outcome_id = world::id_and_actor(&outcome).0;
    events.push(outcome);
    for outcome_event_id in [outcome_id, String::new()] {
        events.push(signed(
            world,
            assessor,
            WATCHDOG,
            "watchdog-1",
            Kind::AssessmentPublished(AssessmentPublished {
                commitment_id: "dcms-rich".into(),
                outcome_event_id,
                stance: Stance::Disputes as i32,
                summary: "The share fell.".into(),
                evidence: vec![link("https://watchdog.example.org/reports/1")],
                assessed_verdict: Verdict::NotDelivered as i32,
            }),
        ));
    }
    events.push(world.emit(DCMS, "dcms-1", world::withdrawal("c-2")));
    let action = world.emit(DCMS, "dcms-1", world::action("a-mistake", &["c-4"]));
    let action_id = world::id_and_actor(&action).0;
    events.push(action);
    events.push(world.emit(
        DCMS,
        "dcms-1",
        Kind::Retraction(Retraction {
            event_id: action_id,
            reason: "Recorded against the wrong commitment.".into(),
        }),
    ));
    events.push(world.emit(MP, "mp-1", world::commitment("mp-pledge")));
    events.push(world.emit(
        DCMS,
        "dcms-1",
        Kind::CommitmentAdopted(CommitmentAdopted {
            commitment_id: "mp-pledge".into(),
            adopted_on: "2026-04-01".into(),
            note: String::new(),
        }),
    ));
    events.push(world.registry(Kind::ActorSucceeded(ActorSucceeded {
        predecessor_id: DCMS.into(),
        successor_id: SUCCESSOR.into(),
        kind: SuccessionKind::Renamed as i32,
        effective_on: "2026-07-01".into(),
        commitment_ids: vec!["c-5".into(), "c-6".into()],
        note: "Renamed in the reshuffle.".into(),
    })));
    events
}

fn source(url: &str) -> Source {
    Source {
        kind: SourceKind::PolicyPaper as i32,
        title: "The paper".into(),
        url: url.into(),
    }
}

fn link(url: &str) -> Link {
    Link {
        title: "Evidence".into(),
        url: url.into(),
        kind: SourceKind::Other as i32,
    }
}

fn rich_commitment() -> Kind {
    Kind::CommitmentMade(CommitmentMade {
        commitment_id: "dcms-rich".into(),
        title: "More museum visits".into(),
        text: "We will fund 100 thousand museum visits a year.".into(),
        source: Some(Source {
            kind: SourceKind::Manifesto as i32,
            title: "Manifesto".into(),
            url: String::new(),
        }),
        made_on: "2025-07-17".into(),
        due_by: "2028-03-31".into(),
        themes: vec!["community".into(), "equal-access".into()],
        partners: vec!["Local museums".into()],
        delivery_partners: vec![DHSC.into()],
        indicators: vec![
            Indicator {
                measure: "museum visits".into(),
                unit: "thousand".into(),
                higher_is_better: true,
                baseline_value: Some(0.0),
                baseline_date: "2025-04-01".into(),
                target_value: Some(100.0),
                comparator: Comparator::AtLeast as i32,
                deadline: "2028-03-31".into(),
                indicator_id: "visits".into(),
                ..Default::default()
            },
            Indicator {
                measure: "share of first-time visitors".into(),
                unit: "%".into(),
                target_value: Some(-1.5),
                target_upper: Some(60.0),
                target_period: "2027-28".into(),
                comparator: Comparator::Between as i32,
                indicator_id: "share".into(),
                ..Default::default()
            },
        ],
        sources: vec![source("https://www.gov.uk/paper"), source("")],
        evidence: vec![link("http://localhost:8080/a")],
        ..Default::default()
    })
}

fn legacy_commitment() -> Kind {
    Kind::CommitmentMade(CommitmentMade {
        commitment_id: "dcms-legacy".into(),
        title: "Fewer closures".into(),
        text: "No more than ten libraries will close.".into(),
        made_on: "2024-02-29".into(),
        indicator: Some(Indicator {
            measure: "library closures".into(),
            target_value: Some(10.0),
            comparator: Comparator::AtMost as i32,
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// An envelope signed by a key the world does not hold.
fn signed(
    world: &mut World,
    signer: &EventSigner,
    actor: &str,
    key_id: &str,
    kind: Kind,
) -> Vec<u8> {
    let id = world.fresh_id();
    seal(header(&id, actor, key_id), kind, signer).encode_to_vec()
}

fn publish_all(nats: &str, envelopes: &[Vec<u8>]) {
    let runtime = tokio::runtime::Runtime::new().expect("start a tokio runtime");
    runtime.block_on(async {
        let jetstream = world::jetstream(nats).await;
        for envelope in envelopes {
            world::publish(&jetstream, envelope.clone()).await;
        }
    });
}

fn checkpoint_size(url: &str) -> Option<u64> {
    let (status, text) = get(&format!("{url}/log/checkpoint"))?;
    (status == 200)
        .then(|| text.lines().nth(1)?.parse().ok())
        .flatten()
}

/// Wait until the checkpoint covers every event; name the first rejected one if it never does.
fn wait_for_every_event(url: &str, envelopes: &[Vec<u8>]) {
    let size = 1 + envelopes.len() as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while checkpoint_size(url) != Some(size) {
        if Instant::now() > deadline {
            for envelope in envelopes {
                let id = world::id_and_actor(envelope).0;
                let decision = wait_for_decision(url, &id);
                assert_eq!(decision["status"], "accepted", "{id}: {decision}");
            }
            panic!("no checkpoint of size {size}: {:?}", checkpoint_size(url));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Entries with new chain links and positions, each keeping the time of its position.
fn rechain(envelopes: &[Vec<u8>], times: &[u64]) -> Vec<Vec<u8>> {
    let mut previous = [0; 32];
    envelopes
        .iter()
        .zip(times)
        .enumerate()
        .map(|(seq, (envelope, &stored_at_ns))| {
            let bytes = Entry {
                seq: seq as u64,
                stored_at_ns,
                previous,
                envelope: envelope.clone(),
            }
            .encode();
            previous = chain_hash(&bytes);
            bytes
        })
        .collect()
}

/// Run the Python verifier on a log; (exit code, everything it printed).
fn verify(url: &str, key: &str) -> (i32, String) {
    let (code, stdout, stderr) = covenant_verify(&["log", url, "--key", key]);
    (code, format!("{stdout}{stderr}"))
}

fn assert_refused(url: &str, key: &str, expected: &str) {
    let (code, output) = verify(url, key);
    assert_eq!(code, 1, "the lie was not caught: {output}");
    assert!(
        output.contains(&format!("FAILED: {expected}")),
        "expected 'FAILED: {expected}', got: {output}"
    );
}

#[test]
fn the_python_verifier_accepts_a_live_log_and_refuses_logs_that_lie() {
    let started = Instant::now();
    python(); // before the ledger runs: the first run builds the environment
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new();
    let assessor = EventSigner::from_seed([5; 32]);
    let config = write_config(dir.path(), &world);
    let data = dir.path().join("data");
    let served = Served::start(&config, &data, Some(&nats.url()));
    let url = served.base_url.clone();
    let events = every_kind_of_event(&mut world, &assessor);
    publish_all(&nats.url(), &events);
    wait_for_every_event(&url, &events);
    let (_, key) = get(&format!("{url}/log/verifier-key")).expect("the verifier key");
    let key = key.trim().to_owned();

    // The live log, as the ledger serves it, verifies.
    let (code, output) = verify(&url, &key);
    assert_eq!(code, 0, "{output}");
    let size = events.len() + 1;
    assert!(
        output.contains(&format!("ok: verified all {size} entries")),
        "{output}"
    );
    // A checkpoint signed by a key that is not the pinned one is refused.
    let stranger = LogSigner::new(ORIGIN, [7; 32]).unwrap();
    assert_refused(
        &url,
        &stranger.verifier_key(),
        "checkpoint: no signature by",
    );

    let (status, stderr) = served.terminate();
    assert!(status.success(), "{stderr}");
    let store = SledStore::create_or_open(data.join("log")).expect("open the stopped store");
    let entries = store
        .entries(0, store.head().size)
        .expect("read the entries");
    drop(store);
    assert_eq!(entries.len(), size);
    let decoded: Vec<Entry> = entries
        .iter()
        .map(|bytes| Entry::decode(bytes).expect("an entry the ledger wrote"))
        .collect();
    let mut envelopes: Vec<Vec<u8>> = decoded.iter().map(|e| e.envelope.clone()).collect();
    let times: Vec<u64> = decoded.iter().map(|e| e.stored_at_ns).collect();

    // The same entries from a static file server, signed by a key of our own: they verify.
    let signer = LogSigner::new(ORIGIN, [8; 32]).unwrap();
    let key = signer.verifier_key();
    let server = TileServer::serve(&StaticLog::publish(&entries, &signer));
    let (code, output) = verify(&server.url(), &key);
    assert_eq!(code, 0, "{output}");

    // One byte of an entry changed in its bundle: the leaf hash no longer matches.
    assert!(size < 256, "one partial entry bundle");
    server.edit(&format!("tile/entries/000.p/{size}"), |bundle| {
        let at = bundle.len() / 2;
        bundle[at] ^= 0x20;
    });
    let (code, output) = verify(&server.url(), &key);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("FAILED: entry "), "{output}");

    // Lies that the hashes cannot show, on logs whose chain, tree and checkpoint are honest
    // about what they hold: only replaying the rules catches them.
    let last = envelopes.len() - 1;
    let mut forged = Envelope::decode(&envelopes[last][..]).unwrap();
    forged.signature[10] ^= 1;
    let honest_last = std::mem::replace(&mut envelopes[last], forged.encode_to_vec());
    server.replace(&StaticLog::publish(&rechain(&envelopes, &times), &signer));
    assert_refused(&server.url(), &key, &format!("entry {last}: bad_signature"));
    envelopes[last] = honest_last;

    // An envelope re-encoded with its signature first: it decodes to the same fields, and
    // its signature still verifies, but its bytes are not the canonical encoding.
    let envelope = Envelope::decode(&envelopes[last][..]).unwrap();
    let signature_first = [
        Envelope {
            signature: envelope.signature.clone(),
            ..Default::default()
        }
        .encode_to_vec(),
        Envelope {
            signature: Vec::new(),
            ..envelope
        }
        .encode_to_vec(),
    ]
    .concat();
    let honest_last = std::mem::replace(&mut envelopes[last], signature_first);
    server.replace(&StaticLog::publish(&rechain(&envelopes, &times), &signer));
    assert_refused(&server.url(), &key, &format!("entry {last}: non_canonical"));
    envelopes[last] = honest_last;

    // A key used before the registrar granted it: DCMS's grant (entry 2) swapped with its
    // first commitment (entry 12).
    let first_commitment = 12;
    envelopes.swap(2, first_commitment);
    server.replace(&StaticLog::publish(&rechain(&envelopes, &times), &signer));
    assert_refused(&server.url(), &key, "entry 2: unknown_key");
    envelopes.swap(2, first_commitment);

    // A log whose genesis names another origin than its checkpoint.
    let elsewhere = LogSigner::new("elsewhere.example/log", [8; 32]).unwrap();
    server.replace(&StaticLog::publish(
        &rechain(&envelopes, &times),
        &elsewhere,
    ));
    assert_refused(
        &server.url(),
        &elsewhere.verifier_key(),
        "entry 0: genesis names the origin",
    );

    eprintln!(
        "the interop test took {:.1} s for {size} entries",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_python_verifier_accepts_the_log_release_0_1_wrote() {
    // tests/data/compat-0.1: the entries (each prefixed with its u32 big-endian length), the
    // checkpoint the old ledger signed over all of them, and its verifier key. Served as they
    // are, with the old signature: today's rules, written from the SPEC, accept every entry.
    let fixture = Path::new(REPO).join("tests/data/compat-0.1");
    let bytes = std::fs::read(fixture.join("entries.bin")).expect("read the old entries");
    let mut entries = Vec::new();
    let mut rest = bytes.as_slice();
    while let Some((length, tail)) = rest.split_first_chunk::<4>() {
        let (entry, tail) = tail.split_at(u32::from_be_bytes(*length) as usize);
        entries.push(entry.to_vec());
        rest = tail;
    }
    let mut tree = covenant_core::merkle::MemoryTree::new();
    entries.iter().for_each(|entry| tree.push(entry));
    let checkpoint = std::fs::read(fixture.join("checkpoint")).expect("read the old checkpoint");
    let key = std::fs::read_to_string(fixture.join("verifier-key")).expect("read the old key");
    let log = StaticLog::publish_with_checkpoint(&entries, &tree, &checkpoint, key.trim());
    let server = TileServer::serve(&log);
    let (code, output) = verify(&server.url(), key.trim());
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains(&format!("ok: verified all {} entries", entries.len())),
        "{output}"
    );
}
