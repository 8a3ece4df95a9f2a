//! The conformance vectors of docs/SPEC.md, checked in under `spec/vectors/`: [`generate`]
//! writes them from covenant-core (`just vectors`), [`check_dir`] runs every one of them back
//! through covenant-core, as any other implementation should.
//!
//! Each module owns one file: it builds the cases, asserting as it goes that covenant-core
//! gives the answer each case was written to show, and it checks a file's cases.

#![forbid(unsafe_code)]

mod checkpoints;
mod ed25519;
mod entries;
mod envelopes;
mod merkle;
mod replay;

use serde_json::Value;
use std::path::Path;

/// The vector files, in the order `generate` writes them.
pub const FILES: [&str; 5] = [
    "envelopes.json",
    "entries.json",
    "merkle.json",
    "checkpoints.json",
    "ed25519.json",
];

/// Every vector file as `(file name, JSON text)`.
pub fn generate() -> Vec<(&'static str, String)> {
    let values = [
        envelopes::generate(),
        entries::generate(),
        merkle::generate(),
        checkpoints::generate(),
        ed25519::generate(),
    ];
    FILES
        .iter()
        .zip(values)
        .map(|(name, value)| {
            let text = serde_json::to_string_pretty(&value).expect("JSON values serialize");
            (*name, text + "\n")
        })
        .collect()
}

/// Cases that did not give their expected answer: `(case, what happened)`.
#[derive(Debug, Default)]
pub struct Failures(pub Vec<(String, String)>);

impl Failures {
    fn add(&mut self, case: String, what: String) {
        self.0.push((case, what));
    }
}

/// Why the vectors in a directory could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not JSON: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path} names its kind {found:?}, not {expected:?}")]
    Kind {
        path: String,
        found: String,
        expected: String,
    },
}

/// Run every vector file in `dir` through covenant-core; the number of cases checked and the
/// failures.
pub fn check_dir(dir: &Path) -> Result<(usize, Failures), VectorError> {
    let mut failures = Failures::default();
    let mut cases = 0;
    for name in FILES {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(|source| VectorError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|source| VectorError::Json {
            path: path.display().to_string(),
            source,
        })?;
        cases += check_value(name, &value, &mut failures).map_err(|found| VectorError::Kind {
            path: path.display().to_string(),
            found,
            expected: name.trim_end_matches(".json").to_owned(),
        })?;
    }
    Ok((cases, failures))
}

/// Check one file's cases; the number of cases, or the kind the file names if it is not the
/// one its name says.
pub fn check_value(name: &str, value: &Value, failures: &mut Failures) -> Result<usize, String> {
    let kind = value["vectors"].as_str().unwrap_or_default();
    if kind != name.trim_end_matches(".json") {
        return Err(kind.to_owned());
    }
    let before = failures.0.len();
    let count = |key: &str| value[key].as_array().map_or(0, Vec::len);
    let cases = match kind {
        "envelopes" => {
            envelopes::check(value, failures);
            count("cases")
        }
        "entries" => {
            entries::check(value, failures);
            count("cases") + count("chains")
        }
        "merkle" => {
            merkle::check(value, failures);
            count("roots") + count("inclusion") + count("consistency") + count("tile_paths")
        }
        "checkpoints" => {
            checkpoints::check(value, failures);
            count("cases") + count("cosignatures")
        }
        _ => {
            ed25519::check(value, failures);
            count("cases")
        }
    };
    debug_assert!(failures.0.len() >= before);
    Ok(cases)
}

fn json_u64(value: u64) -> Value {
    Value::String(value.to_string())
}

fn read_u64(value: &Value) -> Option<u64> {
    value.as_str()?.parse().ok()
}

fn read_hex(value: &Value) -> Option<Vec<u8>> {
    hex::decode(value.as_str()?).ok()
}

fn read_hash(value: &Value) -> Option<[u8; 32]> {
    read_hex(value)?.try_into().ok()
}

fn hex_list<T: AsRef<[u8]>>(items: &[T]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|item| Value::String(hex::encode(item)))
            .collect(),
    )
}

/// The `why` and `name` of a case, checked for presence by the tests of the files.
fn case_name(file: &str, case: &Value) -> String {
    format!("{file}: {}", case["name"].as_str().unwrap_or("?"))
}
