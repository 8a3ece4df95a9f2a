//! The dev profile builds code that runs only while building without optimisation: every
//! procedural macro, what only macros use, and what only build scripts use must be listed in
//! the root Cargo.toml's `[profile.dev.package]` with `opt-level = 0`, or the `"*"` entry
//! optimises it (a dependency added later would otherwise slow every fresh build unnoticed).

use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::process::Command;

pub(crate) fn cargo_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let host = String::from_utf8(
        Command::new("rustc")
            .arg("-vV")
            .output()
            .expect("run rustc -vV")
            .stdout,
    )
    .unwrap();
    let host = host
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned();
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Names of the packages whose code runs only while building: proc macros, and whatever is
/// reached only through a proc macro or a build dependency, in every version present.
fn build_time_packages(metadata: &Value) -> BTreeSet<String> {
    let packages: HashMap<&str, &Value> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| (package["id"].as_str().unwrap(), package))
        .collect();
    let is_proc_macro = |id: &str| {
        packages[id]["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|target| {
                target["kind"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|kind| kind == "proc-macro")
            })
    };
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| (node["id"].as_str().unwrap(), node))
        .collect();
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    // Everything compiled into a library, binary, test or bench: reached from a member through
    // normal and dev edges, without entering a proc macro.
    let mut at_run_time: BTreeSet<&str> = members.iter().copied().collect();
    let mut queue = members.clone();
    while let Some(id) = queue.pop() {
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let runs = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|kind| kind["kind"].is_null() || kind["kind"] == "dev");
            let dep_id = dep["pkg"].as_str().unwrap();
            if runs && !is_proc_macro(dep_id) && at_run_time.insert(dep_id) {
                queue.push(dep_id);
            }
        }
    }
    // A profile names a package, not one of its versions: a name with a version that runs
    // stays optimised.
    let name = |id: &str| packages[id]["name"].as_str().unwrap().to_owned();
    let running: BTreeSet<String> = at_run_time.iter().map(|id| name(id)).collect();
    nodes
        .keys()
        .map(|id| name(id))
        .filter(|name| !running.contains(name))
        .collect()
}

#[test]
fn code_that_runs_only_while_building_is_built_without_optimisation() {
    let metadata = cargo_metadata();
    let build_time = build_time_packages(&metadata);
    // Sanity: the derive macros every crate uses are found.
    assert!(build_time.contains("serde_derive"), "{build_time:?}");
    assert!(build_time.contains("prost-build"), "{build_time:?}");
    assert!(!build_time.contains("tokio"), "{build_time:?}");

    let manifest: toml::Table =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
    let listed = &manifest["profile"]["dev"]["package"];
    let unoptimised = |name: &str| {
        listed
            .get(name)
            .and_then(|settings| settings.get("opt-level"))
            .and_then(toml::Value::as_integer)
            == Some(0)
    };
    let missing: Vec<&String> = build_time
        .iter()
        .filter(|name| !unoptimised(name))
        .collect();
    assert!(
        missing.is_empty(),
        "add these to [profile.dev.package] in Cargo.toml with opt-level = 0: {missing:?}"
    );
}
