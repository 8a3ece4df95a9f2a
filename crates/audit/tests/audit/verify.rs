//! `verify` over HTTP: an honest log passes, and every kind of tampering a watchdog must catch
//! is named precisely.

use crate::support::{TileServer, log_signer, published};
use covenant_audit::publish::StaticLog;
use covenant_audit::{AuditError, HttpSource, Silent, verify_log};
use covenant_core::checkpoint::{CheckpointError, LogSigner};
use covenant_core::entry::ChainError;
use covenant_core::merkle::{Hash, MemoryTree};
use covenant_core::validate::RejectCode;
use covenant_testkit::sample;

const SIZE: u64 = 700;

fn verify(server: &TileServer) -> Result<u64, AuditError> {
    let source = HttpSource::new(&server.url()).unwrap();
    verify_log(&source, &log_signer().verifier_key(), &Silent)
        .map(|(_, report)| report.entries_checked)
}

fn honest_entries() -> Vec<Vec<u8>> {
    sample::entries(SIZE, 3)
}

/// Re-chain envelopes after changing them, as an operator rewriting history would.
fn rechained(mut envelopes: Vec<Vec<u8>>, change: impl FnOnce(&mut Vec<Vec<u8>>)) -> Vec<Vec<u8>> {
    change(&mut envelopes);
    sample::chain(&envelopes)
}

/// A bare server address is a ledger (log under `/log/`) or a static mirror at the web
/// server's root: both verify, each from where it serves its checkpoint, and a server that
/// serves neither is named with both places looked at.
#[test]
fn a_bare_address_finds_a_ledger_or_a_mirror_at_the_root() {
    let entries = sample::entries(300, 3);
    let key = log_signer().verifier_key();
    for (server, prefix) in [
        (TileServer::serve(&published(&entries)), "/log/"),
        (TileServer::serve_at_root(&published(&entries)), "/"),
    ] {
        for url in [server.url(), format!("{}/", server.url())] {
            let source = HttpSource::new(&url).unwrap();
            let (_, report) =
                verify_log(&source, &key, &Silent).unwrap_or_else(|error| panic!("{url}: {error}"));
            assert_eq!(report.entries_checked, 300);
            assert_eq!(
                source.prefix(),
                Some(format!("{}{prefix}", server.url()).as_str())
            );
        }
    }

    let empty = TileServer::serve_at_root(&StaticLog::default());
    let source = HttpSource::new(&empty.url()).unwrap();
    let error = verify_log(&source, &key, &Silent).unwrap_err();
    assert!(!error.is_misbehaviour(), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "{0}/log/checkpoint (a ledger's) or {0}/checkpoint (a mirror's at the server's root) \
             is not served (404)",
            empty.url()
        )
    );
}

#[test]
fn an_honest_log_verifies_completely() {
    let entries = honest_entries();
    let server = TileServer::serve(&published(&entries));
    let source = HttpSource::new(&server.url()).unwrap();
    let (verifier, report) = verify_log(&source, &log_signer().verifier_key(), &Silent).unwrap();
    assert_eq!(report.entries_checked, SIZE);
    // Level 0: two full tiles and a partial one; level 1: one partial tile.
    assert_eq!(report.tiles_checked, 4);
    assert_eq!(report.checkpoint.size, SIZE);
    assert_eq!(verifier.size(), SIZE);
}

#[test]
fn a_changed_byte_in_a_served_entry_is_named() {
    let server = TileServer::serve(&published(&honest_entries()));
    // Entry 300 is the 45th entry of the second bundle; change its last byte.
    server.edit("tile/entries/001", |bundle| {
        let mut offset = 0;
        for _ in 0..44 {
            offset += 2 + u16::from_be_bytes([bundle[offset], bundle[offset + 1]]) as usize;
        }
        let len = u16::from_be_bytes([bundle[offset], bundle[offset + 1]]) as usize;
        bundle[offset + 2 + len - 1] ^= 0x01;
    });
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(&error, AuditError::LeafMismatch { seq: 300, tile, position: 44 } if tile == "tile/0/001"),
        "{error}"
    );
    assert!(error.to_string().starts_with("entry 300:"), "{error}");
}

#[test]
fn a_changed_signature_is_caught_even_when_the_operator_recomputes_everything() {
    // The operator changes a byte of entry 300's signature and republishes a consistent
    // chain, tree and checkpoint: only the signature check can catch it.
    let envelopes = sample::envelopes(SIZE, 3);
    let entries = rechained(envelopes, |envelopes| {
        let last = envelopes[300].len() - 1;
        envelopes[300][last] ^= 0x01;
    });
    let server = TileServer::serve(&published(&entries));
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(&error, AuditError::Rejected { seq: 300, rejection, .. } if rejection.code == RejectCode::BadSignature),
        "{error}"
    );
}

#[test]
fn a_removed_entry_is_named() {
    let mut entries = honest_entries();
    entries.remove(300);
    let server = TileServer::serve(&published(&entries));
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(
            error,
            AuditError::Chain(ChainError::WrongSequence {
                expected: 300,
                found: 301
            })
        ),
        "{error}"
    );
}

#[test]
fn an_entry_removed_and_the_chain_rewritten_is_still_caught() {
    // Renumbering and re-chaining after a removal keeps every link and signature valid, but
    // the events after it are replayed against a history without the removed one: here a
    // key grant disappears, so the first event signed with that key has no authority.
    let envelopes = sample::envelopes(SIZE, 3);
    let entries = rechained(envelopes, |envelopes| {
        envelopes.remove(2); // the grant of the first department's key
    });
    let server = TileServer::serve(&published(&entries));
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(&error, AuditError::Rejected { rejection, .. } if rejection.code == RejectCode::UnknownKey),
        "{error}"
    );
}

#[test]
fn a_reordered_pair_is_named() {
    let mut entries = honest_entries();
    entries.swap(300, 301);
    let server = TileServer::serve(&published(&entries));
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(
            error,
            AuditError::Chain(ChainError::WrongSequence {
                expected: 300,
                found: 301
            })
        ),
        "{error}"
    );
}

#[test]
fn a_checkpoint_signed_by_an_unknown_key_is_refused() {
    let entries = honest_entries();
    let impostor = LogSigner::new(sample::ORIGIN, [0x66; 32]).unwrap();
    let server = TileServer::serve(&StaticLog::publish(&entries, &impostor));
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(
            error,
            AuditError::Checkpoint(CheckpointError::BadSignature(_))
        ),
        "{error}"
    );
}

#[test]
fn a_checkpoint_that_signs_another_root_is_named() {
    let entries = honest_entries();
    let mut tree = MemoryTree::new();
    entries.iter().for_each(|e| tree.push(e));
    let lie = log_signer().sign(SIZE, Hash([7; 32]));
    let log =
        StaticLog::publish_with_checkpoint(&entries, &tree, &lie, &log_signer().verifier_key());
    let server = TileServer::serve(&log);
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(error, AuditError::RootMismatch { size: SIZE, .. }),
        "{error}"
    );
}

#[test]
fn a_hash_tile_that_does_not_match_its_checkpoint_is_named() {
    let server = TileServer::serve(&published(&honest_entries()));
    server.edit("tile/1/000.p/2", |tile| tile[40] ^= 0x80);
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(&error, AuditError::TileMismatch { path, position: 1 } if path == "tile/1/000.p/2"),
        "{error}"
    );

    let server = TileServer::serve(&published(&honest_entries()));
    server.edit("tile/0/002.p/188", |tile| tile[32 * 10] ^= 0x80);
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(&error, AuditError::LeafMismatch { seq: 522, .. }),
        "{error}"
    );
}

#[test]
fn a_short_or_missing_bundle_is_named() {
    let server = TileServer::serve(&published(&honest_entries()));
    server.edit("tile/entries/002.p/188", |bundle| {
        let mut offset = 0;
        for _ in 0..187 {
            offset += 2 + u16::from_be_bytes([bundle[offset], bundle[offset + 1]]) as usize;
        }
        bundle.truncate(offset);
    });
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(&error, AuditError::BundleWidth { path, expected: 188, found: 187 } if path == "tile/entries/002.p/188"),
        "{error}"
    );

    let server = TileServer::serve(&published(&honest_entries()));
    server.remove("tile/entries/001");
    let error = verify(&server).unwrap_err();
    assert!(matches!(error, AuditError::Missing { .. }), "{error}");
}

#[test]
fn an_event_without_authority_is_named() {
    // A department signs a commitment in another department's name; the operator appends it
    // and publishes a consistent log. Replaying validation from genesis catches it.
    let departments = sample::departments(3);
    let mut envelopes = sample::envelopes(SIZE, 3);
    let mut forged = sample::commitment_envelope(400, &departments[1]);
    let mut decoded: covenant_core::proto::Envelope = prost::Message::decode(&forged[..]).unwrap();
    decoded.actor = departments[2].actor.clone();
    departments[1].signer.sign_envelope(&mut decoded);
    forged = prost::Message::encode_to_vec(&decoded);
    envelopes[400] = forged;
    let server = TileServer::serve(&published(&sample::chain(&envelopes)));
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(&error, AuditError::Rejected { seq: 400, rejection, .. } if rejection.code == RejectCode::UnauthorisedKey),
        "{error}"
    );
}

#[test]
fn a_repeated_event_is_named() {
    let mut envelopes = sample::envelopes(SIZE, 3);
    envelopes[500] = envelopes[450].clone();
    let server = TileServer::serve(&published(&sample::chain(&envelopes)));
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(
            error,
            AuditError::Duplicate {
                seq: 500,
                first: 450,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_non_canonical_entry_is_named_though_its_signature_verifies() {
    // An operator appends an unknown field to a genuine envelope and republishes a
    // consistent log: the signature still verifies, the canonical-encoding rule does not.
    let entries = rechained(sample::envelopes(SIZE, 3), |envelopes| {
        envelopes[300].extend([0x78, 0x01]);
    });
    let server = TileServer::serve(&published(&entries));
    let error = verify(&server).unwrap_err();
    assert!(
        matches!(
            &error,
            AuditError::Undecodable {
                seq: 300,
                error: covenant_core::event::DecodeError::NonCanonical { .. }
            }
        ),
        "{error}"
    );
}

#[test]
fn a_genesis_naming_another_origin_is_named() {
    // Checkpoints signed for one origin over a log whose genesis names another.
    let signer = LogSigner::new("another.example/log", [0x4c; 32]).unwrap();
    let entries = honest_entries();
    let server = TileServer::serve(&StaticLog::publish(&entries, &signer));
    let source = HttpSource::new(&server.url()).unwrap();
    let error = verify_log(&source, &signer.verifier_key(), &Silent).unwrap_err();
    assert!(
        matches!(&error, AuditError::OriginMismatch { .. }),
        "{error}"
    );
}
