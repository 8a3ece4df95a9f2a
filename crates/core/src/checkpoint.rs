//! Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes, Ed25519, with verifier
//! keys in Go's `sumdb/note` format (`<name>+<hex key id>+<base64 key>`). The note format and
//! its signatures come from `signed_note`, the checkpoint body from `tlog_tiles`.

use crate::merkle::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use signed_note::{Note, Signer, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::Checkpoint;

/// Algorithm byte of Ed25519 keys in signed notes.
const ALG_ED25519: u8 = 0x01;

/// Why a checkpoint could not be made or trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    #[error("log origin {0:?} is not a valid note key name (no spaces or '+')")]
    BadOrigin(String),
    #[error("verifier key is malformed: {0}")]
    BadVerifierKey(String),
    #[error("checkpoint note is malformed: {0}")]
    MalformedNote(String),
    #[error("checkpoint is not signed by the log key {0}")]
    BadSignature(String),
    #[error("checkpoint body is malformed")]
    MalformedBody,
    #[error("checkpoint origin {found:?} is not the log's origin {expected:?}")]
    WrongOrigin { expected: String, found: String },
}

/// The log's checkpoint signing key.
pub struct LogSigner {
    origin: String,
    seed: [u8; 32],
    signer: StandardSigner,
}

impl LogSigner {
    /// A signer for the log named `origin` from a 32-byte Ed25519 seed.
    pub fn new(origin: &str, seed: [u8; 32]) -> Result<Self, CheckpointError> {
        if !signed_note::is_key_name_valid(origin) {
            return Err(CheckpointError::BadOrigin(origin.to_owned()));
        }
        let public = public_key_of(seed);
        let id = signed_note::key_id(origin, &[&[ALG_ED25519], public.as_slice()].concat());
        let encoded = BASE64.encode([&[ALG_ED25519], seed.as_slice()].concat());
        let skey = format!("PRIVATE+KEY+{origin}+{id:08x}+{encoded}");
        let signer =
            StandardSigner::new(&skey).map_err(|e| CheckpointError::BadOrigin(e.to_string()))?;
        Ok(Self {
            origin: origin.to_owned(),
            seed,
            signer,
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn public_key(&self) -> [u8; 32] {
        public_key_of(self.seed)
    }

    /// The verifier key auditors pin: `<origin>+<key id>+<base64(0x01 || public key)>`.
    pub fn verifier_key(&self) -> String {
        verifier_key(&self.origin, &self.public_key())
    }

    /// The key that seals the store's snapshots (a blake3 key derived from the log key), so
    /// that an open can trust a snapshot's validation state without re-deriving it: only the
    /// holder of the log key can seal one.
    pub fn snapshot_key(&self) -> [u8; 32] {
        blake3::derive_key("covenant-store snapshot seal v1", &self.seed)
    }

    /// Sign the checkpoint for a tree of `size` leaves with root `root`.
    pub fn sign(&self, size: u64, root: Hash) -> Vec<u8> {
        let body = checkpoint_body(&self.origin, size, root);
        let mut note = Note::new(&body, &[]).expect("checkpoint bodies are well-formed notes");
        note.add_sigs(&[&self.signer as &dyn Signer])
            .expect("origin was checked when the signer was made");
        note.to_bytes()
    }
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogSigner({})", self.verifier_key())
    }
}

fn public_key_of(seed: [u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes()
}

/// A verifier key in Go's note format for an Ed25519 public key.
pub fn verifier_key(name: &str, public_key: &[u8; 32]) -> String {
    let id = signed_note::key_id(name, &[&[ALG_ED25519], public_key.as_slice()].concat());
    let encoded = BASE64.encode([&[ALG_ED25519], public_key.as_slice()].concat());
    format!("{name}+{id:08x}+{encoded}")
}

/// The checkpoint body (the note text): origin, size, base64 root, each on its own line.
pub fn checkpoint_body(origin: &str, size: u64, root: Hash) -> Vec<u8> {
    Checkpoint::new(origin, size, root, "")
        .expect("origin is non-empty")
        .to_bytes()
}

/// A checkpoint whose log signature has been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The note text that was signed.
    pub body: Vec<u8>,
    /// Signature lines by keys other than the log's (for example witness cosignatures), as
    /// they appear in the note.
    pub other_signatures: Vec<Vec<u8>>,
    /// The note as the log signed it: the body and the log's own (verified) signature line,
    /// without any line anyone else added.
    pub log_signed_note: Vec<u8>,
}

/// Verify a signed checkpoint against the log's verifier key.
pub fn verify_checkpoint(
    note_bytes: &[u8],
    verifier_key: &str,
) -> Result<VerifiedCheckpoint, CheckpointError> {
    let verifier = StandardVerifier::new(verifier_key)
        .map_err(|e| CheckpointError::BadVerifierKey(e.to_string()))?;
    let name = signed_note::Verifier::name(&verifier).to_owned();
    let note =
        Note::from_bytes(note_bytes).map_err(|e| CheckpointError::MalformedNote(e.to_string()))?;
    let (verified, unverified) = note
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|_| CheckpointError::BadSignature(verifier_key.to_owned()))?;
    let checkpoint =
        Checkpoint::from_bytes(note.text()).map_err(|_| CheckpointError::MalformedBody)?;
    // Exactly the three lines a Covenant log signs: no extension lines, one spelling of the
    // size, so that one checkpoint has one body.
    if note.text() != checkpoint_body(checkpoint.origin(), checkpoint.size(), *checkpoint.hash()) {
        return Err(CheckpointError::MalformedBody);
    }
    if checkpoint.origin() != name {
        return Err(CheckpointError::WrongOrigin {
            expected: name,
            found: checkpoint.origin().to_owned(),
        });
    }
    Ok(VerifiedCheckpoint {
        origin: checkpoint.origin().to_owned(),
        size: checkpoint.size(),
        root: *checkpoint.hash(),
        body: note.text().to_vec(),
        other_signatures: unverified.iter().map(|s| s.to_bytes()).collect(),
        log_signed_note: [
            note.text(),
            b"\n",
            &verified
                .iter()
                .flat_map(|s| s.to_bytes())
                .collect::<Vec<u8>>(),
        ]
        .concat(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemoryTree;

    fn signer() -> LogSigner {
        LogSigner::new("covenant.example/log", [3; 32]).unwrap()
    }

    /// The seal key is the log key's alone: another seed gives another key, and neither is
    /// the seed itself or the public key, which anyone has.
    #[test]
    fn the_snapshot_key_is_derived_from_the_log_key() {
        let signer = signer();
        let key = signer.snapshot_key();
        assert_eq!(
            key,
            blake3::derive_key("covenant-store snapshot seal v1", &[3; 32])
        );
        let other = LogSigner::new("covenant.example/log", [4; 32]).unwrap();
        assert_ne!(key, other.snapshot_key());
        assert_ne!(key, [3; 32]);
        assert_ne!(key, signer.public_key());
    }

    #[test]
    fn signed_checkpoint_verifies_and_reads_back() {
        let mut tree = MemoryTree::new();
        (0..10u8).for_each(|i| tree.push(&[i]));
        let signer = signer();
        let note = signer.sign(10, tree.root());
        let text = String::from_utf8(note.clone()).unwrap();
        assert!(text.starts_with("covenant.example/log\n10\n"));
        assert!(text.contains("\n\n— covenant.example/log "));
        let checkpoint = verify_checkpoint(&note, &signer.verifier_key()).unwrap();
        assert_eq!(checkpoint.size, 10);
        assert_eq!(checkpoint.root, tree.root());
    }

    #[test]
    fn tampered_or_foreign_checkpoints_fail() {
        let signer = signer();
        let note = signer.sign(10, Hash([1; 32]));
        let text = String::from_utf8(note).unwrap();
        let forged = text.replacen("\n10\n", "\n11\n", 1);
        assert!(matches!(
            verify_checkpoint(forged.as_bytes(), &signer.verifier_key()),
            Err(CheckpointError::BadSignature(_))
        ));
        let stranger = LogSigner::new("covenant.example/log", [4; 32]).unwrap();
        let foreign = stranger.sign(10, Hash([1; 32]));
        assert!(verify_checkpoint(&foreign, &signer.verifier_key()).is_err());
        assert!(matches!(
            verify_checkpoint(b"not a note", &signer.verifier_key()),
            Err(CheckpointError::MalformedNote(_))
        ));
    }

    #[test]
    fn the_log_signed_note_drops_every_line_anyone_else_added() {
        let signer = signer();
        let note = signer.sign(10, Hash([1; 32]));
        let added = [
            &note[..],
            "— someone.else AAAAAQICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n".as_bytes(),
            "— another zzzzzzzzzzzz\n".as_bytes(),
        ]
        .concat();
        let checkpoint = verify_checkpoint(&added, &signer.verifier_key()).unwrap();
        assert_eq!(checkpoint.log_signed_note, note);
        assert_eq!(checkpoint.other_signatures.len(), 2);
    }

    /// The log's key must never reach a log line: its `Debug` names the public key only.
    #[test]
    fn a_log_signer_keeps_its_origin_and_debugs_without_the_seed() {
        let signer = signer();
        assert_eq!(signer.origin(), "covenant.example/log");
        let shown = format!("{signer:?}");
        assert_eq!(shown, format!("LogSigner({})", signer.verifier_key()));
        assert!(!shown.contains(&hex::encode([3u8; 32])));
    }

    #[test]
    fn verifier_key_has_go_note_format() {
        let key = signer().verifier_key();
        let parts: Vec<_> = key.split('+').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "covenant.example/log");
        assert_eq!(parts[1].len(), 8);
        assert_eq!(BASE64.decode(parts[2]).unwrap().len(), 33);
        assert!(LogSigner::new("has space", [0; 32]).is_err());
    }
}
