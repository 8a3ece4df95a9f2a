//! `checkpoints.json`: signed checkpoint notes, good and bad, and witness cosignatures
//! (SPEC sections 6 and 10).

use crate::{Failures, case_name, json_u64, read_u64};
use covenant_core::checkpoint::{LogSigner, checkpoint_body, verify_checkpoint};
use covenant_core::cosignature::{CosignatureVerifier, Cosigner};
use covenant_core::merkle::Hash;
use serde_json::{Value, json};

const ORIGIN: &str = "covenant.example/log";
const WITNESS: &str = "witness.example/w1";
const TIMESTAMP: u64 = 1_767_225_600;

fn root() -> Hash {
    Hash(*blake3::hash(b"covenant conformance vectors").as_bytes())
}

fn log_signer() -> LogSigner {
    LogSigner::new(ORIGIN, [0x4c; 32]).expect("a valid origin")
}

/// The checkpoint body of a note: everything up to its blank line.
fn body_of(note: &str) -> &str {
    note.split_once("\n\n").map_or(note, |(body, _)| body)
}

fn note_text(note: Vec<u8>) -> String {
    String::from_utf8(note).expect("notes are UTF-8")
}

/// The note made by signing `body` (any text) with the log's key, through the signed-note
/// format: how a log that writes a wrong body would sign it.
fn signed_body(body: &str) -> String {
    use signed_note::{Note, Signer, StandardSigner};
    let seed = [0x4c; 32];
    let public = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    let id = signed_note::key_id(ORIGIN, &[&[1u8][..], &public].concat());
    let encoded = base64_standard(&[&[1u8][..], &seed].concat());
    let signer = StandardSigner::new(&format!("PRIVATE+KEY+{ORIGIN}+{id:08x}+{encoded}"))
        .expect("a valid signer key");
    let mut note = Note::new(body.as_bytes(), &[]).expect("a well-formed note text");
    note.add_sigs(&[&signer as &dyn Signer]).expect("signs");
    note_text(note.to_bytes())
}

fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn checkpoint_case(name: &str, why: &str, note: &str, key: &str) -> Value {
    let verified = verify_checkpoint(note.as_bytes(), key);
    let mut case = json!({
        "name": name, "why": why, "note": note,
        "expect": if verified.is_ok() { "valid" } else { "invalid" },
    });
    if let Ok(checkpoint) = verified {
        case["size"] = json_u64(checkpoint.size);
        case["root"] = json!(hex::encode(checkpoint.root.0));
    }
    case
}

/// The timestamp of the first line of `witness_key` in `note` that verifies, if any.
fn cosigned_at(note: &str, witness_key: &str) -> Option<u64> {
    let witness = CosignatureVerifier::new(witness_key).ok()?;
    let (body, signatures) = note.split_once("\n\n")?;
    let body = format!("{body}\n");
    signatures
        .lines()
        .find_map(|line| witness.verify_line(body.as_bytes(), line).ok())
}

fn cosignature_case(name: &str, why: &str, note: &str, witness_key: &str) -> Value {
    let timestamp = cosigned_at(note, witness_key);
    let mut case = json!({
        "name": name, "why": why, "witness_key": witness_key, "note": note,
        "expect": if timestamp.is_some() { "valid" } else { "invalid" },
    });
    if let Some(timestamp) = timestamp {
        case["timestamp"] = json_u64(timestamp);
    }
    case
}

/// Build `checkpoints.json`.
pub fn generate() -> Value {
    let signer = log_signer();
    let key = signer.verifier_key();
    let note = note_text(signer.sign(3, root()));
    let witness = Cosigner::new(WITNESS, [0x57; 32]).expect("a valid name");
    let body = checkpoint_body(ORIGIN, 3, root());
    let cosigned = format!("{note}{}", witness.cosign(&body, TIMESTAMP));
    let other_log = note_text(
        LogSigner::new("other.example/log", [0x4d; 32])
            .expect("valid")
            .sign(3, root()),
    );
    let other_line = other_log.split_once("\n\n").expect("a note").1;
    let impostor = note_text(
        LogSigner::new(ORIGIN, [0x4e; 32])
            .expect("valid")
            .sign(3, root()),
    );
    let good_body = format!("{}\n", body_of(&note));
    let cases = vec![
        checkpoint_case(
            "valid",
            "A checkpoint of size 3 signed by the log's key.",
            &note,
            &key,
        ),
        checkpoint_case(
            "valid-with-cosignature",
            "A witness's line after the log's: still the log's checkpoint.",
            &cosigned,
            &key,
        ),
        checkpoint_case(
            "valid-with-unknown-line",
            "A line by a key the verifier does not know is ignored.",
            &format!("{note}{other_line}"),
            &key,
        ),
        checkpoint_case(
            "size-altered",
            "The size changed after signing.",
            &note.replacen("\n3\n", "\n4\n", 1),
            &key,
        ),
        checkpoint_case(
            "impostor-key",
            "Signed by another key under the log's name.",
            &impostor,
            &key,
        ),
        checkpoint_case(
            "only-another-log",
            "Signed only by another log.",
            &other_log,
            &key,
        ),
        checkpoint_case(
            "extension-line",
            "A body with a fourth (extension) line, signed by the log's key: a Covenant checkpoint has exactly three lines.",
            &signed_body(&format!("{good_body}extension\n")),
            &key,
        ),
        checkpoint_case(
            "size-leading-zero",
            "The size written as 03, signed by the log's key.",
            &signed_body(&good_body.replacen("\n3\n", "\n03\n", 1)),
            &key,
        ),
        checkpoint_case(
            "origin-mismatch",
            "A body naming another origin, signed by the log's key.",
            &signed_body(&good_body.replacen(ORIGIN, "other.example/log", 1)),
            &key,
        ),
        checkpoint_case(
            "no-signature",
            "A body and a blank line, no signature line.",
            &format!("{good_body}\n"),
            &key,
        ),
    ];
    let witness_key = witness.verifier_key();
    let other_witness = Cosigner::new(WITNESS, [0x58; 32]).expect("valid");
    let later_timestamp = {
        let line = witness.cosign(&body, TIMESTAMP);
        let (prefix, encoded) = line.trim_end().rsplit_once(' ').expect("a line");
        use base64::Engine;
        let engine = base64::engine::general_purpose::STANDARD;
        let mut bytes = engine.decode(encoded).expect("base64");
        bytes[11] ^= 1;
        format!("{note}{prefix} {}\n", engine.encode(bytes))
    };
    let cosignatures = vec![
        cosignature_case(
            "cosigned",
            "A cosignature/v1 line over the checkpoint body at a timestamp.",
            &cosigned,
            &witness_key,
        ),
        cosignature_case(
            "timestamp-altered",
            "The timestamp changed after signing.",
            &later_timestamp,
            &witness_key,
        ),
        cosignature_case(
            "other-body",
            "A cosignature over the checkpoint of another size.",
            &format!(
                "{note}{}",
                witness.cosign(&checkpoint_body(ORIGIN, 4, root()), TIMESTAMP)
            ),
            &witness_key,
        ),
        cosignature_case(
            "other-witness-key",
            "A line under the witness's name by another key.",
            &format!("{note}{}", other_witness.cosign(&body, TIMESTAMP)),
            &witness_key,
        ),
        cosignature_case(
            "not-cosigned",
            "Only the log's own line.",
            &note,
            &witness_key,
        ),
    ];
    json!({
        "vectors": "checkpoints",
        "verifier_key": key,
        "cases": cases,
        "cosignatures": cosignatures,
    })
}

/// Check every case of `checkpoints.json`.
pub fn check(vectors: &Value, failures: &mut Failures) {
    let key = vectors["verifier_key"].as_str().unwrap_or_default();
    for case in vectors["cases"].as_array().into_iter().flatten() {
        let note = case["note"].as_str().unwrap_or_default();
        let answer = match verify_checkpoint(note.as_bytes(), key) {
            Ok(checkpoint) => {
                let same = read_u64(&case["size"]) == Some(checkpoint.size)
                    && case["root"].as_str() == Some(hex::encode(checkpoint.root.0).as_str());
                if same {
                    "valid"
                } else {
                    "valid with another size or root"
                }
            }
            Err(_) => "invalid",
        };
        if Some(answer) != case["expect"].as_str() {
            failures.add(case_name("checkpoints", case), format!("got {answer}"));
        }
    }
    for case in vectors["cosignatures"].as_array().into_iter().flatten() {
        let note = case["note"].as_str().unwrap_or_default();
        let witness_key = case["witness_key"].as_str().unwrap_or_default();
        let answer = match cosigned_at(note, witness_key) {
            Some(timestamp) if read_u64(&case["timestamp"]) == Some(timestamp) => "valid",
            Some(_) => "valid at another time",
            None => "invalid",
        };
        if Some(answer) != case["expect"].as_str() {
            failures.add(
                case_name("checkpoints cosignature", case),
                format!("got {answer}"),
            );
        }
    }
}
