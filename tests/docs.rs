//! The docs keep up with the code: ARCHITECTURE.md's module map names every module that
//! exists, under its own crate.

use std::path::{Path, PathBuf};

/// Every module under `src` (a crate's source folder) as a path from the crate root
/// (`pages::embed::card`), test modules left out.
fn modules(src: &Path) -> Vec<String> {
    let mut found = vec![];
    let mut folders = vec![src.to_owned()];
    while let Some(folder) = folders.pop() {
        for item in std::fs::read_dir(&folder).unwrap() {
            let path = item.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|extension| extension != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let parts: Vec<String> = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            let parts = match parts.last().map(String::as_str) {
                Some("lib" | "main") if parts.len() == 1 => continue,
                Some("mod") => &parts[..parts.len() - 1],
                _ => &parts[..],
            };
            if parts.last().is_some_and(|last| last == "tests") {
                continue;
            }
            found.push(parts.join("::"));
        }
    }
    found.sort();
    found
}

#[test]
fn the_architecture_module_map_lists_every_module_under_its_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|item| item.unwrap().path().join("src"))
        .filter(|src| src.is_dir())
        .collect();
    sources.push(root.join("src"));
    let mut missing = vec![];
    let mut listed = 0;
    for src in sources {
        let folder = src
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let heading = format!("(`{folder}/`)");
        let section = map
            .split("\n### ")
            .find(|section| section.lines().next().unwrap_or("").contains(&heading));
        for module in modules(&src) {
            if section.is_some_and(|section| section.contains(&format!("| `{module}` |"))) {
                listed += 1;
            } else {
                missing.push(format!("{folder}: {module}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's module map lacks {missing:?}; scripts/module-map.py rewrites it"
    );
    assert!(listed > 100, "only {listed} modules found");
}
