//! Offline proof bundles (docs/SPEC.md, "Proof bundles").
//!
//! A bundle is one JSON document that proves "this entry is in the log the operator signed": the
//! entry bytes, their position, an inclusion proof, the signed checkpoint it leads to and the
//! log's verifier key. Anyone holding the bundle and the pinned key can check it without asking
//! the ledger anything, so a journalist can attach it to a story.
//!
//! The server that writes bundles and the tool that checks them both use this one type, so the
//! format cannot drift between them.

use crate::checkpoint::{self, CheckpointError, VerifiedCheckpoint};
use crate::entry::{Entry, EntryError};
use crate::event::{self, DecodedEvent};
use crate::merkle::{self, Hash, MerkleError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

/// The `format` field of version 1 bundles.
pub const BUNDLE_FORMAT: &str = "covenant-proof-bundle/v1";

/// A self-contained inclusion proof for one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofBundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// The entry's sequence number (its leaf index).
    pub seq: u64,
    /// The encoded entry, base64: exactly the bytes the Merkle leaf hashes.
    pub entry: String,
    /// The size of the tree the proof leads to (the checkpoint's size).
    pub tree_size: u64,
    /// The RFC 6962 audit path from the leaf to the root, base64 hashes, leaf side first.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint note for `tree_size`, as served at `/log/checkpoint`.
    pub checkpoint: String,
    /// The log's verifier key, for reference. A checker uses the key it pinned, never this one.
    pub verifier_key: String,
}

/// Why a bundle does not prove what it claims. Each message carries its cause's text, so no
/// variant also hands the cause out as its `source()` (the conversions are written out below:
/// `#[from]` would), or a caller printing the chain would print every cause twice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    #[error("bundle format {0:?} is not {BUNDLE_FORMAT}")]
    Format(String),
    #[error("bundle field {field} is not valid base64")]
    Base64 { field: String },
    #[error("bundle entry is malformed: {0}")]
    Entry(EntryError),
    #[error("bundle says entry {claimed} but the entry bytes say {inside}")]
    SeqMismatch { claimed: u64, inside: u64 },
    #[error("bundle entry's envelope does not decode: {0}")]
    Envelope(String),
    #[error("checkpoint: {0}")]
    Checkpoint(CheckpointError),
    #[error("bundle is for tree size {claimed} but its checkpoint is for size {signed}")]
    SizeMismatch { claimed: u64, signed: u64 },
    #[error("inclusion proof: {0}")]
    Inclusion(MerkleError),
}

impl From<EntryError> for BundleError {
    fn from(error: EntryError) -> Self {
        Self::Entry(error)
    }
}

impl From<CheckpointError> for BundleError {
    fn from(error: CheckpointError) -> Self {
        Self::Checkpoint(error)
    }
}

impl From<MerkleError> for BundleError {
    fn from(error: MerkleError) -> Self {
        Self::Inclusion(error)
    }
}

/// What a checked bundle proves.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    pub entry: Entry,
    pub event: DecodedEvent,
    pub checkpoint: VerifiedCheckpoint,
}

impl ProofBundle {
    /// Assemble a bundle. `proof` must be the inclusion proof of `seq` in the tree the
    /// checkpoint signs; [`ProofBundle::verify`] is how to be sure.
    pub fn new(
        seq: u64,
        entry_bytes: &[u8],
        tree_size: u64,
        proof: &[Hash],
        checkpoint_note: &[u8],
        verifier_key: &str,
    ) -> Self {
        Self {
            format: BUNDLE_FORMAT.to_owned(),
            seq,
            entry: BASE64.encode(entry_bytes),
            tree_size,
            inclusion_proof: proof.iter().map(|h| BASE64.encode(h.0)).collect(),
            checkpoint: String::from_utf8_lossy(checkpoint_note).into_owned(),
            verifier_key: verifier_key.to_owned(),
        }
    }

    /// Check everything against the verifier key the caller pinned: the checkpoint signature,
    /// that the entry decodes and is entry `seq`, and that the inclusion proof leads from the
    /// entry's leaf hash to the signed root.
    pub fn verify(&self, pinned_verifier_key: &str) -> Result<VerifiedBundle, BundleError> {
        if self.format != BUNDLE_FORMAT {
            return Err(BundleError::Format(self.format.clone()));
        }
        let entry_bytes = BASE64
            .decode(&self.entry)
            .map_err(|_| BundleError::Base64 {
                field: "entry".into(),
            })?;
        let entry = Entry::decode(&entry_bytes)?;
        if entry.seq != self.seq {
            return Err(BundleError::SeqMismatch {
                claimed: self.seq,
                inside: entry.seq,
            });
        }
        let event =
            event::decode(&entry.envelope).map_err(|e| BundleError::Envelope(e.to_string()))?;
        let checkpoint =
            checkpoint::verify_checkpoint(self.checkpoint.as_bytes(), pinned_verifier_key)?;
        if checkpoint.size != self.tree_size {
            return Err(BundleError::SizeMismatch {
                claimed: self.tree_size,
                signed: checkpoint.size,
            });
        }
        let proof = self
            .inclusion_proof
            .iter()
            .enumerate()
            .map(|(index, encoded)| decode_hash(encoded, index))
            .collect::<Result<Vec<_>, _>>()?;
        merkle::check_inclusion(
            &proof,
            checkpoint.size,
            checkpoint.root,
            self.seq,
            merkle::leaf_hash(&entry_bytes),
        )?;
        Ok(VerifiedBundle {
            entry,
            event,
            checkpoint,
        })
    }
}

fn decode_hash(encoded: &str, index: usize) -> Result<Hash, BundleError> {
    let bad = || BundleError::Base64 {
        field: format!("inclusion_proof[{index}]"),
    };
    let bytes = BASE64.decode(encoded).map_err(|_| bad())?;
    Ok(Hash(bytes.try_into().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::LogSigner;
    use crate::entry::{GENESIS_PREVIOUS, chain_hash};
    use crate::merkle::MemoryTree;
    use crate::proto;
    use crate::validate::genesis_envelope;
    use prost::Message;

    /// A log of `size` genesis-shaped entries, its tree, and a signer.
    fn log(size: u64) -> (Vec<Vec<u8>>, MemoryTree, LogSigner) {
        let mut previous = GENESIS_PREVIOUS;
        let mut tree = MemoryTree::new();
        let entries: Vec<Vec<u8>> = (0..size)
            .map(|seq| {
                let envelope = genesis_envelope(proto::Genesis {
                    origin: format!("test/log/{seq}"),
                    registrar_actor: "registrar".into(),
                    registrars: vec![proto::RegistrarKey {
                        key_id: "registrar-1".into(),
                        public_key: vec![7; 32],
                    }],
                    ..Default::default()
                });
                let bytes = Entry {
                    seq,
                    stored_at_ns: seq,
                    previous,
                    envelope: envelope.encode_to_vec(),
                }
                .encode();
                previous = chain_hash(&bytes);
                tree.push(&bytes);
                bytes
            })
            .collect();
        (
            entries,
            tree,
            LogSigner::new("covenant.example/log", [3; 32]).unwrap(),
        )
    }

    fn bundle(seq: u64) -> (ProofBundle, LogSigner) {
        let (entries, tree, signer) = log(11);
        let proof = merkle::prove_inclusion(11, seq, &tree).unwrap();
        let note = signer.sign(11, tree.root());
        let bundle = ProofBundle::new(
            seq,
            &entries[seq as usize],
            11,
            &proof,
            &note,
            &signer.verifier_key(),
        );
        (bundle, signer)
    }

    #[test]
    fn a_bundle_verifies_offline_and_survives_json() {
        let (bundle, signer) = bundle(6);
        let json = serde_json::to_string_pretty(&bundle).unwrap();
        let parsed: ProofBundle = serde_json::from_str(&json).unwrap();
        let verified = parsed.verify(&signer.verifier_key()).unwrap();
        assert_eq!(verified.entry.seq, 6);
        assert_eq!(verified.checkpoint.size, 11);
        assert_eq!(verified.event.kind_name(), "genesis");
    }

    #[test]
    fn every_kind_of_tampering_is_named() {
        let (good, signer) = bundle(6);
        let key = signer.verifier_key();
        let (other_entry, _) = bundle(7);

        let mut swapped = good.clone();
        swapped.entry = other_entry.entry.clone();
        assert!(matches!(
            swapped.verify(&key),
            Err(BundleError::SeqMismatch {
                claimed: 6,
                inside: 7
            })
        ));

        let mut renumbered = other_entry.clone();
        renumbered.inclusion_proof = good.inclusion_proof.clone();
        assert!(matches!(
            renumbered.verify(&key),
            Err(BundleError::Inclusion(_))
        ));

        let mut bad_proof = good.clone();
        bad_proof.inclusion_proof[0] = BASE64.encode([0u8; 32]);
        assert!(matches!(
            bad_proof.verify(&key),
            Err(BundleError::Inclusion(_))
        ));

        let mut resized = good.clone();
        resized.tree_size = 12;
        assert!(matches!(
            resized.verify(&key),
            Err(BundleError::SizeMismatch { .. })
        ));

        let stranger = LogSigner::new("covenant.example/log", [4; 32]).unwrap();
        assert!(matches!(
            good.verify(&stranger.verifier_key()),
            Err(BundleError::Checkpoint(_))
        ));

        let mut garbled = good.clone();
        garbled.entry.insert(0, '!');
        assert!(matches!(
            garbled.verify(&key),
            Err(BundleError::Base64 { .. })
        ));

        let mut future = good.clone();
        future.format = "covenant-proof-bundle/v9".into();
        assert!(matches!(future.verify(&key), Err(BundleError::Format(_))));
    }

    /// The message as anyhow's `{:#}` prints it: the error, then each source in turn.
    fn printed_chain(error: &dyn std::error::Error) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }

    #[test]
    fn a_failure_printed_with_its_chain_names_its_cause_once() {
        let (good, signer) = bundle(6);
        let stranger = LogSigner::new("covenant.example/log", [4; 32]).unwrap();
        let wrong_key = good.verify(&stranger.verifier_key()).unwrap_err();
        assert_eq!(
            printed_chain(&wrong_key),
            format!(
                "checkpoint: checkpoint is not signed by the log key {}",
                stranger.verifier_key()
            )
        );

        let mut bad_proof = good.clone();
        bad_proof.inclusion_proof[0] = BASE64.encode([0u8; 32]);
        let error = bad_proof.verify(&signer.verifier_key()).unwrap_err();
        assert_eq!(
            printed_chain(&error),
            "inclusion proof: inclusion proof for entry 6 does not lead to the root of tree size 11"
        );

        let mut short = good.clone();
        short.entry = BASE64.encode([1u8; 3]);
        let error = short.verify(&signer.verifier_key()).unwrap_err();
        let printed = printed_chain(&error);
        assert_eq!(printed.matches("shorter than").count(), 1, "{printed}");

        let chain_error = crate::entry::ChainVerifier::new()
            .push(&[1u8; 3])
            .unwrap_err();
        let printed = printed_chain(&chain_error);
        assert_eq!(printed.matches("shorter than").count(), 1, "{printed}");
    }
}
