//! The crate boundaries ARCHITECTURE.md states, checked on the manifests: a crate cannot break
//! one without first taking a dependency these tests refuse.

use super::build_profile::cargo_metadata;
use serde_json::Value;

/// The names of `package`'s direct dependencies used by its library (not its tests or build).
fn library_dependencies(metadata: &Value, package: &str) -> Vec<String> {
    let found = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|candidate| candidate["name"] == package)
        .unwrap_or_else(|| panic!("{package} is in the workspace"));
    found["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|dependency| dependency["kind"].is_null())
        .map(|dependency| dependency["name"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_none_of(package: &str, refused: &[&str], why: &str) {
    let dependencies = library_dependencies(&cargo_metadata(), package);
    assert!(
        dependencies
            .iter()
            .any(|name| name.starts_with("covenant-")),
        "{package}: its dependencies were not read: {dependencies:?}"
    );
    for name in refused {
        assert!(
            !dependencies.iter().any(|dependency| dependency == name),
            "{package} depends on {name}: {why}"
        );
    }
}

#[test]
fn the_query_crate_has_no_wire_form() {
    assert_none_of(
        "covenant-query",
        &["utoipa", "axum", "atom_syndication", "csv"],
        "JSON shapes, OpenAPI, Atom and CSV belong to covenant-http",
    );
}

#[test]
fn the_core_crate_does_no_io() {
    assert_none_of(
        "covenant-core",
        &["tokio", "sled", "async-nats", "rand", "getrandom"],
        "covenant-core does no I/O, reads no clock and draws no randomness",
    );
}
