//! The checked-in conformance vectors are exactly what the generator writes, and every one of
//! them gives its expected answer in covenant-core.

use serde_json::Value;
use std::path::PathBuf;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spec/vectors")
}

#[test]
fn checked_in_vectors_are_what_the_generator_writes() {
    for (name, text) in covenant_vectors::generate() {
        let path = vectors_dir().join(name);
        let checked_in = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run `just vectors`", path.display()));
        assert!(
            checked_in == text,
            "{name} differs from what the generator writes: run `just vectors` and review the change"
        );
    }
}

#[test]
fn every_checked_in_vector_passes_in_covenant_core() {
    let (cases, failures) = covenant_vectors::check_dir(&vectors_dir()).expect("readable vectors");
    assert!(failures.0.is_empty(), "{:#?}", failures.0);
    assert!(cases > 200, "only {cases} cases");
}

/// A file, a list in it, and a change that makes the first passing case of the list wrong.
type Flip = (&'static str, &'static str, fn(&mut Value));

/// Every file's checker notices a case whose expected answer is wrong: the vectors above
/// cannot pass by checking nothing.
#[test]
fn a_wrong_expected_answer_is_caught_in_every_file() {
    let flips: [Flip; 9] = [
        ("envelopes.json", "cases", |c| {
            c["expect"] = "duplicate".into()
        }),
        ("envelopes.json", "cases", |c| {
            c["stored_at_ns"] = "0".into()
        }),
        ("entries.json", "cases", |c| {
            c["leaf_hash"] = "00".repeat(32).into()
        }),
        ("entries.json", "chains", |c| c["first_bad"] = 1.into()),
        ("merkle.json", "inclusion", |c| c["expect"] = false.into()),
        ("merkle.json", "consistency", |c| c["expect"] = false.into()),
        ("merkle.json", "tile_paths", |c| c["index"] = 7.into()),
        ("checkpoints.json", "cosignatures", |c| {
            c["timestamp"] = "1".into()
        }),
        ("ed25519.json", "cases", |c| c["expect"] = false.into()),
    ];
    for (file, list, flip) in flips {
        let text = std::fs::read_to_string(vectors_dir().join(file)).expect("checked in");
        let mut value: Value = serde_json::from_str(&text).expect("JSON");
        // The first case that passes as checked in (an accepted envelope, a valid entry, a good
        // proof, or a list without verdicts), so that the flip makes it wrong.
        let first = value[list]
            .as_array_mut()
            .and_then(|cases| {
                cases.iter_mut().find(|case| {
                    matches!(&case["expect"], Value::Null | Value::Bool(true))
                        || case["expect"] == "accept"
                        || case["expect"] == "valid"
                })
            })
            .expect("a case");
        flip(first);
        let mut failures = covenant_vectors::Failures::default();
        covenant_vectors::check_value(file, &value, &mut failures).expect("the right kind");
        assert_eq!(failures.0.len(), 1, "{file} {list}: {:?}", failures.0);
    }
}

/// docs/SPEC.md's appendix lists exactly the currency codes covenant-core accepts.
#[test]
fn the_spec_lists_the_currencies_core_accepts() {
    let spec = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/SPEC.md"),
    )
    .expect("docs/SPEC.md");
    let block = spec
        .split_once("<!-- currency-codes -->\n```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("the currency block in appendix A");
    let listed: Vec<&str> = block.split_whitespace().collect();
    assert_eq!(listed, covenant_core::currency::ISO_4217_CODES);
}
