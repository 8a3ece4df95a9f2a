//! `/v1/proof/...`: proofs that verify with RFC 9162's algorithms, and clear refusals.

use crate::spec::{self, Hash};
use crate::support::{Fixture, SIGNED, body, header};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use covenant_core::bundle::ProofBundle;
use covenant_testkit::sample;
use serde_json::Value;

fn hash(value: &Value) -> Hash {
    BASE64
        .decode(value.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn hashes(value: &Value) -> Vec<Hash> {
    value.as_array().unwrap().iter().map(hash).collect()
}

async fn json(fixture: &Fixture, uri: &str) -> (StatusCode, Value) {
    let response = fixture.get(uri).await;
    let status = response.status();
    (
        status,
        serde_json::from_slice(&body(response).await).unwrap(),
    )
}

fn leaves(fixture: &Fixture, size: u64) -> Vec<Hash> {
    spec::entries(&fixture.envelopes[..size as usize], sample::stored_at_ns)
        .iter()
        .map(|e| spec::leaf(e))
        .collect()
}

#[tokio::test]
async fn inclusion_proofs_verify_against_the_signed_root() {
    let fixture = Fixture::new();
    let leaves = leaves(&fixture, SIGNED);
    let root = spec::mth(&leaves);
    for seq in [0u64, 1, 255, 256, 511, 599] {
        let (status, proof) = json(&fixture, &format!("/v1/proof/inclusion?seq={seq}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(proof["tree_size"], SIGNED);
        assert_eq!(hash(&proof["root"]), root);
        assert_eq!(hash(&proof["leaf_hash"]), leaves[seq as usize]);
        let path = hashes(&proof["proof"]);
        assert!(
            spec::verify_inclusion(seq, SIGNED, &leaves[seq as usize], &path, &root),
            "seq {seq}"
        );
        // The signed checkpoint comes along.
        let note = proof["checkpoint"].as_str().unwrap();
        let (_, size, signed_root) =
            spec::check_note(note.as_bytes(), &fixture.signer.verifier_key());
        assert_eq!((size, signed_root), (SIGNED, root));
    }
}

#[tokio::test]
async fn inclusion_by_event_id_and_in_an_older_tree() {
    let fixture = Fixture::new();
    let event_id = sample::event_id(42);
    let (status, proof) = json(
        &fixture,
        &format!("/v1/proof/inclusion?event_id={event_id}&size=100"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    assert_eq!(proof["seq"], 42);
    assert_eq!(proof["event_id"], event_id.as_str());
    let leaves = leaves(&fixture, 100);
    let root = spec::mth(&leaves);
    assert_eq!(hash(&proof["root"]), root);
    assert!(spec::verify_inclusion(
        42,
        100,
        &leaves[42],
        &hashes(&proof["proof"]),
        &root
    ));
    // No checkpoint was signed at size 100.
    assert!(proof["checkpoint"].is_null());
}

#[tokio::test]
async fn consistency_proofs_verify() {
    let fixture = Fixture::new();
    let all = leaves(&fixture, SIGNED);
    for (from, to) in [
        (1u64, SIGNED),
        (100, SIGNED),
        (256, 512),
        (300, 600),
        (600, 600),
    ] {
        let (status, proof) = json(
            &fixture,
            &format!("/v1/proof/consistency?from={from}&to={to}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{proof}");
        let (from_root, to_root) = (
            spec::mth(&all[..from as usize]),
            spec::mth(&all[..to as usize]),
        );
        assert_eq!(hash(&proof["from_root"]), from_root);
        assert_eq!(hash(&proof["to_root"]), to_root);
        assert!(
            spec::verify_consistency(from, to, &from_root, &to_root, &hashes(&proof["proof"])),
            "{from} -> {to}"
        );
    }
    let (_, proof) = json(&fixture, "/v1/proof/consistency?from=10").await;
    assert_eq!(proof["to"], SIGNED);
    assert!(proof["to_checkpoint"].is_string());
}

#[tokio::test]
async fn bad_parameters_get_a_400_that_says_what_is_wrong() {
    let fixture = Fixture::new();
    let id = sample::event_id(3);
    for (uri, says) in [
        (
            "/v1/proof/inclusion".to_owned(),
            "exactly one of event_id or seq",
        ),
        (
            format!("/v1/proof/inclusion?seq=1&event_id={id}"),
            "exactly one",
        ),
        (
            "/v1/proof/inclusion?seq=abc".to_owned(),
            "seq must be a whole number",
        ),
        (
            "/v1/proof/inclusion?seq=-1".to_owned(),
            "seq must be a whole number",
        ),
        (
            "/v1/proof/inclusion?seq=1&size=0".to_owned(),
            "size must be at least 1",
        ),
        (
            "/v1/proof/inclusion?seq=1&size=601".to_owned(),
            "larger than the latest signed checkpoint",
        ),
        (
            "/v1/proof/inclusion?seq=600".to_owned(),
            "entry 600 is not in the tree of size 600",
        ),
        (
            "/v1/proof/inclusion?seq=50&size=50".to_owned(),
            "entry 50 is not in the tree of size 50",
        ),
        ("/v1/proof/consistency".to_owned(), "from is required"),
        (
            "/v1/proof/consistency?from=x".to_owned(),
            "from must be a whole number",
        ),
        (
            "/v1/proof/consistency?from=0".to_owned(),
            "from must be at least 1",
        ),
        (
            "/v1/proof/consistency?from=20&to=10".to_owned(),
            "must not be larger than to",
        ),
        (
            "/v1/proof/consistency?from=1&to=99999999999999999999".to_owned(),
            "to must be a whole number",
        ),
        (
            "/v1/proof/consistency?from=1&to=700".to_owned(),
            "larger than the latest signed checkpoint",
        ),
    ] {
        let (status, error) = json(&fixture, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {error}");
        assert_eq!(error["error"]["code"], "bad_parameter", "{uri}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{uri}: {message}");
        let parameter = error["error"]["parameter"].as_str().unwrap();
        let route_takes = if uri.contains("inclusion") {
            &["event_id", "seq", "size"][..]
        } else {
            &["from", "to"][..]
        };
        assert!(
            route_takes.contains(&parameter),
            "{uri}: the parameter named is one the route takes: {error}"
        );
    }
    let (status, error) = json(
        &fixture,
        "/v1/proof/inclusion?event_id=01JG0000000000000000099999",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "not_found");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not in the log")
    );
}

#[tokio::test]
async fn the_proof_bundle_checks_offline_with_the_pinned_key() {
    let fixture = Fixture::new();
    let event_id = sample::event_id(321);
    let response = fixture.get(&format!("/v1/proof/bundle/{event_id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        header(&response, "content-disposition")
            .contains(&format!("covenant-proof-{event_id}.json"))
    );
    let bundle: ProofBundle = serde_json::from_slice(&body(response).await).unwrap();
    let verified = bundle.verify(&fixture.signer.verifier_key()).unwrap();
    assert_eq!(verified.entry.seq, 321);
    assert_eq!(verified.event.event_id(), event_id);
    assert_eq!(verified.checkpoint.size, SIGNED);
    // Checked independently too: the entry's leaf is in the signed tree.
    let entry = BASE64.decode(&bundle.entry).unwrap();
    let proof: Vec<Hash> = bundle
        .inclusion_proof
        .iter()
        .map(|h| BASE64.decode(h).unwrap().try_into().unwrap())
        .collect();
    let (_, size, root) =
        spec::check_note(bundle.checkpoint.as_bytes(), &fixture.signer.verifier_key());
    assert!(spec::verify_inclusion(
        321,
        size,
        &spec::leaf(&entry),
        &proof,
        &root
    ));

    // An event appended after the latest checkpoint has no bundle yet.
    let late = sample::event_id(650);
    let (status, error) = json(&fixture, &format!("/v1/proof/bundle/{late}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not yet covered"),
        "{error}"
    );
}
