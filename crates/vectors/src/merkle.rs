//! `merkle.json`: RFC 6962 tree hashes for every size up to 13 leaves, inclusion and
//! consistency proofs (good and tampered), and C2SP tile paths (SPEC sections 5 and 7).

use crate::{Failures, case_name, hex_list, read_hash, read_hex};
use covenant_core::merkle::{
    Hash, MemoryTree, check_consistency, check_inclusion, entry_tile, hash_tile, leaf_hash,
    prove_consistency, prove_inclusion, tile_path,
};
use serde_json::{Value, json};

const LEAVES: usize = 13;

fn leaves() -> Vec<Vec<u8>> {
    (0..LEAVES)
        .map(|i| format!("leaf {i}").into_bytes())
        .collect()
}

fn tree(leaves: &[Vec<u8>]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in leaves {
        tree.push(leaf);
    }
    tree
}

fn root_of(leaves: &[Vec<u8>], size: usize) -> Hash {
    tree(&leaves[..size]).root()
}

fn flipped(hashes: &[Hash], which: usize) -> Vec<Hash> {
    let mut hashes = hashes.to_vec();
    hashes[which].0[0] ^= 1;
    hashes
}

fn inclusion_cases(leaves: &[Vec<u8>], whole: &MemoryTree) -> Vec<Value> {
    let mut cases = vec![];
    let mut add = |name: String, why: &str, index: u64, size: u64, proof: Vec<Hash>, root| {
        let leaf = leaf_hash(&leaves[index as usize]);
        let expect = check_inclusion(&proof, size, root, index, leaf).is_ok();
        cases.push(json!({
            "name": name, "why": why, "index": index, "size": size,
            "leaf_hash": hex::encode(leaf.0), "proof": hash_list(&proof),
            "root": hex::encode(root.0), "expect": expect,
        }));
        expect
    };
    for (index, size) in [
        (0, 1),
        (0, 2),
        (1, 2),
        (3, 7),
        (6, 7),
        (4, 8),
        (12, 13),
        (5, 13),
    ] {
        let proof = prove_inclusion(size, index, whole).expect("in range");
        let root = root_of(leaves, size as usize);
        let ok = add(
            format!("inclusion-{index}-in-{size}"),
            "A proof the reference implementation made.",
            index,
            size,
            proof,
            root,
        );
        assert!(ok);
    }
    let proof = prove_inclusion(7, 3, whole).expect("in range");
    let root = root_of(leaves, 7);
    let refused = [
        add(
            "inclusion-tampered-hash".into(),
            "One proof hash with a bit flipped.",
            3,
            7,
            flipped(&proof, 1),
            root,
        ),
        add(
            "inclusion-wrong-index".into(),
            "A good proof checked at another index.",
            2,
            7,
            proof.clone(),
            root,
        ),
        add(
            "inclusion-short-proof".into(),
            "A proof missing its last hash.",
            3,
            7,
            proof[..proof.len() - 1].to_vec(),
            root,
        ),
        add(
            "inclusion-wrong-root".into(),
            "A good proof against the root of another size.",
            3,
            7,
            proof,
            root_of(leaves, 8),
        ),
    ];
    assert_eq!(refused, [false; 4]);
    cases
}

fn consistency_cases(leaves: &[Vec<u8>], whole: &MemoryTree) -> Vec<Value> {
    let mut cases = vec![];
    let mut add = |name: String, why: &str, from: u64, to: u64, proof: Vec<Hash>| {
        let (from_root, to_root) = (root_of(leaves, from as usize), root_of(leaves, to as usize));
        let expect = check_consistency(&proof, to, to_root, from, from_root).is_ok();
        cases.push(json!({
            "name": name, "why": why, "from": from, "to": to,
            "from_root": hex::encode(from_root.0), "to_root": hex::encode(to_root.0),
            "proof": hash_list(&proof), "expect": expect,
        }));
        expect
    };
    for (from, to) in [(1, 1), (1, 2), (3, 7), (4, 8), (6, 13), (8, 13), (13, 13)] {
        let proof = prove_consistency(to, from, whole).expect("in order");
        let ok = add(
            format!("consistency-{from}-to-{to}"),
            "A proof the reference implementation made.",
            from,
            to,
            proof,
        );
        assert!(ok);
    }
    let proof = prove_consistency(7, 3, whole).expect("in order");
    let refused = [
        add(
            "consistency-tampered-hash".into(),
            "One proof hash with a bit flipped.",
            3,
            7,
            flipped(&proof, 0),
        ),
        add(
            "consistency-wrong-sizes".into(),
            "A good proof checked between other sizes.",
            3,
            8,
            proof.clone(),
        ),
        add(
            "consistency-extra-hash".into(),
            "A good proof with one hash too many.",
            3,
            7,
            [proof.clone(), vec![proof[0]]].concat(),
        ),
    ];
    assert_eq!(refused, [false; 3]);
    cases
}

fn tile_paths() -> Vec<Value> {
    let hash = |size, level, index| hash_tile(size, level, index).expect("the tile exists");
    let tiles = [
        hash(70_000, 0, 0),
        hash(70_000, 0, 273),
        hash(70_000, 1, 0),
        hash(70_000, 1, 1),
        hash(70_000, 2, 0),
        hash(1_234_068 * 256, 0, 1_234_067),
        hash(256u64.pow(3) * 1000, 2, 999),
        entry_tile(70_000, 5).expect("the bundle exists"),
        entry_tile(70_000, 273).expect("the bundle exists"),
    ];
    tiles
        .iter()
        .map(|tile| {
            let width = (tile.width() < 256).then_some(tile.width());
            let level = if tile.is_data() {
                json!("entries")
            } else {
                json!(tile.level())
            };
            json!({
                "level": level, "index": tile.level_index(), "width": width,
                "path": tile_path(tile),
            })
        })
        .collect()
}

/// Build `merkle.json`.
pub fn generate() -> Value {
    let leaves = leaves();
    let whole = tree(&leaves);
    let roots: Vec<Value> = (0..=LEAVES)
        .map(|size| json!({ "size": size, "root": hex::encode(root_of(&leaves, size).0) }))
        .collect();
    json!({
        "vectors": "merkle",
        "leaves": hex_list(&leaves),
        "roots": roots,
        "inclusion": inclusion_cases(&leaves, &whole),
        "consistency": consistency_cases(&leaves, &whole),
        "tile_paths": tile_paths(),
    })
}

fn hashes(value: &Value) -> Option<Vec<Hash>> {
    value
        .as_array()?
        .iter()
        .map(|h| read_hash(h).map(Hash))
        .collect()
}

fn hash_list(hashes: &[Hash]) -> Value {
    let bytes: Vec<[u8; 32]> = hashes.iter().map(|hash| hash.0).collect();
    hex_list(&bytes)
}

/// Check every case of `merkle.json`.
pub fn check(vectors: &Value, failures: &mut Failures) {
    let leaves: Vec<Vec<u8>> = vectors["leaves"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(read_hex)
        .collect();
    for case in vectors["roots"].as_array().into_iter().flatten() {
        let size = case["size"].as_u64().unwrap_or(u64::MAX) as usize;
        let root = read_hash(&case["root"]);
        if size > leaves.len() || root != Some(root_of(&leaves, size).0) {
            failures.add(format!("merkle: root of {size}"), "differs".into());
        }
    }
    for case in vectors["inclusion"].as_array().into_iter().flatten() {
        let answer = (|| {
            let (index, size) = (case["index"].as_u64()?, case["size"].as_u64()?);
            let leaf = leaf_hash(leaves.get(index as usize)?);
            if Some(leaf.0) != read_hash(&case["leaf_hash"]) {
                return None;
            }
            let proof = hashes(&case["proof"])?;
            Some(
                check_inclusion(&proof, size, Hash(read_hash(&case["root"])?), index, leaf).is_ok(),
            )
        })();
        if answer != case["expect"].as_bool() {
            failures.add(case_name("merkle", case), format!("got {answer:?}"));
        }
    }
    for case in vectors["consistency"].as_array().into_iter().flatten() {
        let answer = (|| {
            let (from, to) = (case["from"].as_u64()?, case["to"].as_u64()?);
            let proof = hashes(&case["proof"])?;
            let (from_root, to_root) = (
                Hash(read_hash(&case["from_root"])?),
                Hash(read_hash(&case["to_root"])?),
            );
            Some(check_consistency(&proof, to, to_root, from, from_root).is_ok())
        })();
        if answer != case["expect"].as_bool() {
            failures.add(case_name("merkle", case), format!("got {answer:?}"));
        }
    }
    for case in vectors["tile_paths"].as_array().into_iter().flatten() {
        let path = case["path"].as_str().unwrap_or_default();
        let parsed = covenant_core::merkle::parse_tile_path(path);
        let matches = parsed.is_some_and(|tile| {
            let level = if tile.is_data() {
                json!("entries")
            } else {
                json!(tile.level())
            };
            let width = (tile.width() < 256).then_some(tile.width());
            case["level"] == level
                && case["index"] == json!(tile.level_index())
                && case["width"] == json!(width)
        });
        if !matches {
            failures.add(
                format!("merkle: tile path {path}"),
                "does not parse to its tile".into(),
            );
        }
    }
}
