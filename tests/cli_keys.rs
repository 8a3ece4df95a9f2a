//! `covenant keys`: key files and signed registry events.

use covenant_core::checkpoint::LogSigner;
use covenant_core::event::decode;
use covenant_core::proto::{KeyRole, event_body::Kind};
use covenant_core::signing::verify_envelope;
use covenant_emit::envelope_file;
use covenant_emit::keys::{KeyFile, KeyKind};
use std::path::Path;
use std::process::{Command, Output};

pub fn covenant(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_covenant"))
        .current_dir(dir)
        .args(args)
        .env_remove("COVENANT_CONFIG")
        .env_remove("COVENANT_NATS_URL")
        .output()
        .expect("run covenant")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The value after `label: ` on a line of `covenant keys` output.
pub fn field(output: &str, label: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no {label:?} in {output}"))
        .to_owned()
}

#[test]
fn generate_writes_a_private_key_file_and_never_overwrites_it() {
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
            "--out",
            "dcms.key",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    let key = KeyFile::read(&dir.path().join("dcms.key")).unwrap();
    assert_eq!(key.kind, KeyKind::Emitter);
    assert_eq!(key.actor.as_deref(), Some("GB-GOV-23"));
    assert_eq!(field(&printed, "public key"), hex::encode(key.public_key()));
    assert_eq!(field(&printed, "key id"), key.key_id.clone().unwrap());
    assert!(
        !printed.contains(&hex::encode(key.seed)),
        "the secret is never printed"
    );
    // The hint names the role each kind of actor needs, with the kinds spelt as the API
    // spells them.
    assert!(
        printed.contains(
            "covenant keys register-actor --registrar-key REGISTRAR.key --actor GB-GOV-23"
        ),
        "{printed}"
    );
    assert!(
        printed.contains("mp, party, department, agency, council, nhs_body or joint_body publish commitments, actions and outcomes (--role emitter); watchdog or civil_society publish assessments (--role assessor)"),
        "{printed}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("dcms.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let again = covenant(
        dir.path(),
        &["keys", "generate", "--kind", "emitter", "--out", "dcms.key"],
    );
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("refusing to overwrite"),
        "{}",
        stderr(&again)
    );
    assert_eq!(KeyFile::read(&dir.path().join("dcms.key")).unwrap(), key);

    let shown = covenant(dir.path(), &["keys", "show", "dcms.key"]);
    assert_eq!(
        field(&stdout(&shown), "public key"),
        hex::encode(key.public_key())
    );
}

#[test]
fn log_keys_print_the_note_verifier_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = covenant(
        dir.path(),
        &[
            "keys",
            "generate",
            "--kind",
            "log",
            "--origin",
            "covenant.example.org/log",
            "--out",
            "log.key",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let key = KeyFile::read(&dir.path().join("log.key")).unwrap();
    let expected = LogSigner::new("covenant.example.org/log", key.seed)
        .unwrap()
        .verifier_key();
    assert_eq!(field(&stdout(&output), "verifier key"), expected);
    let shown = covenant(dir.path(), &["keys", "show", "log.key"]);
    assert_eq!(field(&stdout(&shown), "verifier key"), expected);

    let bad = covenant(
        dir.path(),
        &[
            "keys",
            "generate",
            "--kind",
            "log",
            "--origin",
            "has space",
            "--out",
            "bad.key",
        ],
    );
    assert!(!bad.status.success());
    assert!(
        !dir.path().join("bad.key").exists(),
        "nothing written for a bad origin"
    );
}

#[test]
fn registry_events_are_signed_by_the_registrar_and_appended_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = covenant(dir.path(), args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        output
    };
    run(&[
        "keys",
        "generate",
        "--kind",
        "registrar",
        "--key-id",
        "registrar-1",
        "--out",
        "reg.key",
    ]);
    let emitter = run(&[
        "keys",
        "generate",
        "--kind",
        "emitter",
        "--actor",
        "GB-GOV-23",
        "--out",
        "dcms.key",
    ]);
    let public_key = field(&stdout(&emitter), "public key");
    let key_id = field(&stdout(&emitter), "key id");
    run(&[
        "keys",
        "register-actor",
        "--registrar-key",
        "reg.key",
        "--actor",
        "GB-GOV-23",
        "--name",
        "Department for Culture, Media and Sport",
        "--kind",
        "department",
        "--identifier",
        "org-id:GB-GOV-23",
        "--out",
        "onboarding.env",
    ]);
    run(&[
        "keys",
        "grant",
        "--registrar-key",
        "reg.key",
        "--key-id",
        &key_id,
        "--public-key",
        &public_key,
        "--actor",
        "GB-GOV-23",
        "--role",
        "emitter",
        "--role",
        "assessor",
        "--out",
        "onboarding.env",
    ]);

    let registrar = KeyFile::read(&dir.path().join("reg.key")).unwrap();
    let envelopes =
        envelope_file::parse(&std::fs::read(dir.path().join("onboarding.env")).unwrap()).unwrap();
    assert_eq!(envelopes.len(), 2);
    let events: Vec<_> = envelopes
        .iter()
        .map(|bytes| decode(bytes).unwrap())
        .collect();
    for event in &events {
        assert_eq!(event.actor(), "covenant-registrar");
        assert_eq!(event.envelope.key_id, "registrar-1");
        assert!(verify_envelope(&registrar.public_key(), &event.envelope));
    }
    let Kind::ActorRegistered(registered) = &events[0].kind else {
        panic!("first comes the registration");
    };
    assert_eq!(registered.identifiers, ["org-id:GB-GOV-23"]);
    let Kind::KeyGranted(grant) = &events[1].kind else {
        panic!("then the grant");
    };
    assert_eq!(grant.key_id, key_id);
    assert_eq!(hex::encode(&grant.public_key), public_key);
    assert_eq!(
        grant.roles,
        [KeyRole::Emitter as i32, KeyRole::Assessor as i32]
    );

    // Without --out the envelope is printed as one base64 line.
    let printed = run(&[
        "keys",
        "revoke",
        "--registrar-key",
        "reg.key",
        "--key-id",
        &key_id,
        "--reason",
        "laptop lost",
    ]);
    let envelopes = envelope_file::parse(stdout(&printed).as_bytes()).unwrap();
    let Kind::KeyRevoked(revoked) = decode(&envelopes[0]).unwrap().kind else {
        panic!("a revocation");
    };
    assert_eq!(
        (revoked.key_id.as_str(), revoked.reason.as_str()),
        (key_id.as_str(), "laptop lost")
    );
}

#[test]
fn bad_registry_input_is_named_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    covenant(
        dir.path(),
        &[
            "keys",
            "generate",
            "--kind",
            "registrar",
            "--out",
            "reg.key",
        ],
    );
    covenant(
        dir.path(),
        &["keys", "generate", "--kind", "emitter", "--out", "dcms.key"],
    );
    let bad_key = covenant(
        dir.path(),
        &[
            "keys",
            "grant",
            "--registrar-key",
            "reg.key",
            "--key-id",
            "k",
            "--public-key",
            "abcd",
            "--actor",
            "GB-GOV-23",
            "--role",
            "emitter",
            "--out",
            "out.env",
        ],
    );
    assert!(!bad_key.status.success());
    assert!(
        stderr(&bad_key).contains("--public-key: \"abcd\" is not 64 hex digits"),
        "{}",
        stderr(&bad_key)
    );
    let not_registrar = covenant(
        dir.path(),
        &[
            "keys",
            "revoke",
            "--registrar-key",
            "dcms.key",
            "--key-id",
            "k",
            "--reason",
            "r",
            "--out",
            "out.env",
        ],
    );
    assert!(!not_registrar.status.success());
    assert!(stderr(&not_registrar).contains("registry events need a registrar key"));
    let bad_role = covenant(
        dir.path(),
        &[
            "keys",
            "grant",
            "--registrar-key",
            "reg.key",
            "--key-id",
            "k",
            "--public-key",
            &"ab".repeat(32),
            "--actor",
            "GB-GOV-23",
            "--role",
            "king",
        ],
    );
    assert!(!bad_role.status.success());
    assert!(
        stderr(&bad_role).contains("\"king\" is not a role"),
        "{}",
        stderr(&bad_role)
    );
    assert!(!dir.path().join("out.env").exists());
}
