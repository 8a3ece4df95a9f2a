//! The witness over HTTP: cosigning a growing log, refusing forks, and the submit client.

use crate::support::{TileServer, WitnessServer, log_signer, published};
use covenant_audit::witness::submit;
use covenant_audit::{AuditError, HttpSource};
use covenant_core::cosignature::{CosignatureVerifier, cosigned_by};
use covenant_testkit::sample;

fn start_witness(state_file: &std::path::Path) -> WitnessServer {
    WitnessServer::start(
        "witness.example/w1",
        0x77,
        &[log_signer().verifier_key()],
        state_file,
    )
}

fn log(size: u64, departments: usize) -> covenant_audit::publish::StaticLog {
    published(&sample::entries(size, departments))
}

#[test]
fn cosigns_a_growing_log_and_refuses_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let witness = start_witness(&dir.path().join("witness.json"));
    let key = log_signer().verifier_key();
    let server = TileServer::serve(&log(300, 3));
    let source = HttpSource::new(&server.url()).unwrap();

    let first = submit(&source, &key, &witness.url, Some(&witness.verifier_key)).unwrap();
    assert_eq!(first.checkpoint.size, 300);
    let verifiers = [CosignatureVerifier::new(&witness.verifier_key).unwrap()];
    assert_eq!(cosigned_by(&first.note, &verifiers).unwrap().len(), 1);
    // The log's own signature is still there and still verifies.
    covenant_core::checkpoint::verify_checkpoint(&first.note, &key).unwrap();

    server.replace(&log(700, 3));
    let grown = submit(&source, &key, &witness.url, Some(&witness.verifier_key)).unwrap();
    assert_eq!(grown.checkpoint.size, 700);
    assert_eq!(cosigned_by(&grown.note, &verifiers).unwrap().len(), 1);

    // Another tree of the same size: 409 Conflict.
    server.replace(&log(700, 4));
    let refused = submit(&source, &key, &witness.url, None).unwrap_err();
    assert!(
        matches!(refused, AuditError::WitnessRefused { status: 409, .. }),
        "{refused}"
    );

    // A larger tree that does not extend what was cosigned: the proof cannot verify (422).
    server.replace(&log(900, 4));
    let refused = submit(&source, &key, &witness.url, None).unwrap_err();
    assert!(
        matches!(refused, AuditError::WitnessRefused { status: 422, .. }),
        "{refused}"
    );
}

#[test]
fn remembers_what_it_cosigned_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("witness.json");
    let key = log_signer().verifier_key();
    let server = TileServer::serve(&log(300, 3));
    let source = HttpSource::new(&server.url()).unwrap();
    {
        let witness = start_witness(&state_file);
        submit(&source, &key, &witness.url, None).unwrap();
    }
    let witness = start_witness(&state_file);
    server.replace(&log(300, 4));
    let refused = submit(&source, &key, &witness.url, None).unwrap_err();
    assert!(
        matches!(refused, AuditError::WitnessRefused { status: 409, .. }),
        "{refused}"
    );
}

#[test]
fn stores_only_the_log_signed_checkpoint_not_what_a_caller_added() {
    use covenant_audit::witness::{AddCheckpoint, Witness};
    use covenant_core::cosignature::Cosigner;
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("witness.json");
    let signer = log_signer();
    let witness = Witness::open(
        Cosigner::new("witness.example/w1", [0x77; 32]).unwrap(),
        &[signer.verifier_key()],
        &state_file,
    )
    .unwrap();
    let note = signer.sign(5, covenant_core::merkle::Hash([3; 32]));
    // A caller appends signature lines of its own: 90 of them, 10 KB of junk.
    let junk_line = format!(
        "— junk.example/{} {}\n",
        "x".repeat(40),
        "QUFBQUFBQUFB".repeat(4)
    );
    let padded = [note.clone(), junk_line.repeat(90).into_bytes()].concat();
    let request = AddCheckpoint::encode(0, &[], &padded);
    witness.add_checkpoint(&request, 1_700_000_000).unwrap();
    let stored = std::fs::read_to_string(&state_file).unwrap();
    assert!(!stored.contains("junk.example"), "{stored}");
    assert!(
        stored.len() < note.len() * 2 + 400,
        "the state holds the log's note and little else: {} bytes",
        stored.len()
    );
    let state: serde_json::Value = serde_json::from_str(&stored).unwrap();
    let kept = state["logs"][signer.origin()]["checkpoint"]
        .as_str()
        .unwrap();
    assert_eq!(kept.as_bytes(), &note[..]);
}
