//! `/log/...` against the C2SP tlog-tiles layout, recomputed here from the entries.

use crate::spec::{self, Hash};
use crate::support::{Fixture, SIGNED, body, header};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use covenant_testkit::sample;

/// Leaf hashes of the signed part of the log, recomputed from the envelopes.
fn signed_leaves(fixture: &Fixture) -> (Vec<Vec<u8>>, Vec<Hash>) {
    let entries = spec::entries(&fixture.envelopes[..SIGNED as usize], sample::stored_at_ns);
    let leaves = entries.iter().map(|e| spec::leaf(e)).collect();
    (entries, leaves)
}

#[tokio::test]
async fn the_checkpoint_is_a_signed_note_over_the_recomputed_root() {
    let fixture = Fixture::new();
    let response = fixture.get("/log/checkpoint").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(header(&response, "cache-control"), "no-cache");
    let note = body(response).await;
    let (origin, size, root) = spec::check_note(&note, &fixture.signer.verifier_key());
    assert_eq!(origin, sample::ORIGIN);
    // The checkpoint is the latest signed one, not the store's unsigned head.
    assert_eq!(size, SIGNED);
    let (_, leaves) = signed_leaves(&fixture);
    assert_eq!(root, spec::mth(&leaves));
}

#[tokio::test]
async fn without_a_witnessing_ledger_there_is_no_witnessed_checkpoint() {
    let fixture = Fixture::new();
    let response = fixture.get("/log/checkpoint/witnessed").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let message = String::from_utf8(body(response).await).unwrap();
    assert!(message.contains("no witnessed checkpoint"), "{message}");
}

#[tokio::test]
async fn the_verifier_key_is_served_in_note_format() {
    let fixture = Fixture::new();
    let response = fixture.get("/log/verifier-key").await;
    assert_eq!(response.status(), StatusCode::OK);
    let key = String::from_utf8(body(response).await).unwrap();
    assert_eq!(key.trim(), fixture.signer.verifier_key());
    assert!(key.starts_with("covenant.example/log+"));
}

#[tokio::test]
async fn hash_tiles_hold_the_tree_levels_and_full_ones_are_immutable() {
    let fixture = Fixture::new();
    let (_, leaves) = signed_leaves(&fixture);
    // Size 600: level 0 has two full tiles and one of width 88; level 1 has one of width 2,
    // holding the hashes of the two full level 0 tiles.
    let level_one: Vec<Hash> = leaves
        .chunks(256)
        .filter(|c| c.len() == 256)
        .map(spec::mth)
        .collect();
    let expected: Vec<(String, Vec<Hash>, bool)> = vec![
        (spec::tile_path(0, 0, 256), leaves[..256].to_vec(), true),
        (spec::tile_path(0, 1, 256), leaves[256..512].to_vec(), true),
        (spec::tile_path(0, 2, 88), leaves[512..600].to_vec(), false),
        (spec::tile_path(1, 0, 2), level_one, false),
    ];
    assert_eq!(expected[2].0, "tile/0/002.p/88");
    for (path, hashes, full) in expected {
        let response = fixture.get(&format!("/log/{path}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "application/octet-stream"
        );
        let cache = header(&response, "cache-control").to_owned();
        if full {
            assert_eq!(cache, "public, max-age=31536000, immutable", "{path}");
        } else {
            assert!(
                cache.contains("max-age=") && !cache.contains("immutable"),
                "{path}: {cache}"
            );
        }
        assert_eq!(body(response).await, hashes.concat(), "{path}");
    }
}

#[tokio::test]
async fn entry_bundles_hold_the_entries_exactly_as_hashed() {
    let fixture = Fixture::new();
    let (entries, leaves) = signed_leaves(&fixture);
    for (index, width) in [(0u64, 256usize), (1, 256), (2, 88)] {
        let path = spec::bundle_path(index, width);
        let response = fixture.get(&format!("/log/{path}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let bundle = body(response).await;
        // Big-endian u16 length, then the entry.
        let mut rest = &bundle[..];
        let mut position = index as usize * 256;
        while !rest.is_empty() {
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            let entry = &rest[2..2 + len];
            assert_eq!(entry, entries[position].as_slice());
            assert_eq!(spec::leaf(entry), leaves[position]);
            rest = &rest[2 + len..];
            position += 1;
        }
        assert_eq!(position, index as usize * 256 + width, "{path}");
    }
}

#[tokio::test]
async fn entry_bundles_are_compressed_for_clients_that_ask() {
    let fixture = Fixture::new();
    let request = Request::get("/log/tile/entries/000")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let response = fixture.request(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-encoding"), "gzip");
}

#[tokio::test]
async fn only_tiles_of_the_latest_checkpoint_exist() {
    let fixture = Fixture::new();
    // The store holds 700 entries, but only 600 are signed.
    for path in [
        "tile/0/002",      // full, but only 88 of it is signed
        "tile/0/002.p/89", // wider than what is signed
        "tile/0/003.p/1",  // beyond the signed tree
        "tile/entries/002",
        "tile/entries/002.p/100",
        "tile/1/000",
        "tile/1/000.p/3",
        "tile/2/000.p/1",
        "tile/0/2", // not a C2SP path
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/8/0/000", // Go sumdb layout, not C2SP
        "tile/data/000",
    ] {
        let response = fixture.get(&format!("/log/{path}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // A narrower partial tile of an existing tile is a prefix of it (its hashes never change).
    let (_, leaves) = signed_leaves(&fixture);
    let response = fixture.get("/log/tile/0/002.p/10").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, leaves[512..522].concat());
}

#[tokio::test]
async fn tiles_follow_a_new_checkpoint() {
    let fixture = Fixture::new();
    let head = covenant_store::LogReader::head(&*fixture.store);
    let note = fixture.signer.sign(head.size, head.root);
    covenant_store::LogStore::put_checkpoint(&*fixture.store, head.size, &note).unwrap();
    let response = fixture.get("/log/tile/0/002.p/188").await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = fixture.get("/log/tile/0/002.p/88").await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "older checkpoints' partial tiles stay"
    );
}
