//! Witness cosignatures: C2SP tlog-cosignature, Ed25519 `cosignature/v1` (docs/SPEC.md,
//! "Cosignatures").
//!
//! A witness signs `cosignature/v1\ntime <unix seconds>\n` followed by the checkpoint body,
//! and publishes the result as an ordinary note signature line whose key id is
//! `SHA-256(name || "\n" || 0x04 || public key)[:4]` and whose bytes are the 8-byte big-endian
//! timestamp followed by the 64-byte Ed25519 signature. The log's own signature and any number
//! of cosignatures share one note, so a checkpoint with a quorum of witnesses is still a
//! checkpoint every tlog client can read.
//!
//! Nothing here reads a clock: callers pass the timestamp in.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use signed_note::{Note, VerificationError, Verifier, Verifiers};

/// Signature type byte of Ed25519 cosignature/v1 keys in note verifier keys and key ids.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// The header line that separates cosignatures from every other use of the key.
pub const COSIGNATURE_HEADER: &str = "cosignature/v1";

/// Why a cosignature key, line or note could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    #[error("witness name {0:?} is not a valid note key name (no spaces or '+')")]
    BadName(String),
    #[error("witness verifier key is malformed: {0}")]
    BadVerifierKey(String),
    #[error("signature line is malformed: {0}")]
    MalformedLine(String),
    #[error("signature line is by {found}, not witness {expected}")]
    WrongWitness { expected: String, found: String },
    #[error("cosignature by {0} does not verify over this checkpoint")]
    BadSignature(String),
    #[error("checkpoint note is malformed: {0}")]
    MalformedNote(String),
}

/// The exact message a witness signs for `checkpoint_body` at `timestamp` (seconds since the
/// Unix epoch).
pub fn cosignature_message(checkpoint_body: &[u8], timestamp: u64) -> Vec<u8> {
    let header = format!("{COSIGNATURE_HEADER}\ntime {timestamp}\n");
    [header.as_bytes(), checkpoint_body].concat()
}

/// The 4-byte key id of a witness key: `SHA-256(name || "\n" || 0x04 || public_key)[:4]`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    signed_note::key_id(
        name,
        &[&[ALG_COSIGNATURE_V1], public_key.as_slice()].concat(),
    )
}

/// A witness verifier key in note format: `<name>+<hex key id>+<base64(0x04 || public key)>`.
pub fn verifier_key(name: &str, public_key: &[u8; 32]) -> String {
    let encoded = BASE64.encode([&[ALG_COSIGNATURE_V1], public_key.as_slice()].concat());
    format!("{name}+{:08x}+{encoded}", key_id(name, public_key))
}

/// A witness's signing key.
pub struct Cosigner {
    name: String,
    key: SigningKey,
}

impl Cosigner {
    /// A cosigner called `name` (a schema-less URL, for example `witness.example.org/w1`) from a
    /// 32-byte Ed25519 seed.
    pub fn new(name: &str, seed: [u8; 32]) -> Result<Self, CosignatureError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(CosignatureError::BadName(name.to_owned()));
        }
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The verifier key clients pin to count this witness's cosignatures.
    pub fn verifier_key(&self) -> String {
        verifier_key(&self.name, &self.public_key())
    }

    /// The note signature line (`— <name> <base64>\n`) cosigning `checkpoint_body` at
    /// `timestamp`.
    pub fn cosign(&self, checkpoint_body: &[u8], timestamp: u64) -> String {
        let signature = self
            .key
            .sign(&cosignature_message(checkpoint_body, timestamp));
        let mut bytes = Vec::with_capacity(4 + 8 + 64);
        bytes.extend_from_slice(&key_id(&self.name, &self.public_key()).to_be_bytes());
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&signature.to_bytes());
        format!("— {} {}\n", self.name, BASE64.encode(bytes))
    }
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cosigner({})", self.verifier_key())
    }
}

/// Checks cosignatures by one witness.
#[derive(Debug, Clone)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parse a witness verifier key (`<name>+<hex key id>+<base64(0x04 || public key)>`).
    pub fn new(witness_key: &str) -> Result<Self, CosignatureError> {
        let bad = |why: &str| CosignatureError::BadVerifierKey(format!("{witness_key:?}: {why}"));
        let mut parts = witness_key.trim().splitn(3, '+');
        let (Some(name), Some(id_hex), Some(encoded)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected <name>+<key id>+<key>"));
        };
        if !signed_note::is_key_name_valid(name) {
            return Err(bad("the name has spaces or '+'"));
        }
        let id = u32::from_str_radix(id_hex, 16)
            .ok()
            .filter(|_| id_hex.len() == 8)
            .ok_or_else(|| bad("the key id is not 8 hex digits"))?;
        let raw = BASE64
            .decode(encoded)
            .map_err(|_| bad("the key is not base64"))?;
        let Some((&ALG_COSIGNATURE_V1, public_key)) = raw.split_first() else {
            return Err(bad("not a cosignature/v1 (0x04) key"));
        };
        let public_key: [u8; 32] = public_key
            .try_into()
            .map_err(|_| bad("the Ed25519 key is not 32 bytes"))?;
        if key_id(name, &public_key) != id {
            return Err(bad("the key id does not match the name and key"));
        }
        let key = VerifyingKey::from_bytes(&public_key)
            .map_err(|_| bad("not a valid Ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Verify one signature line over `checkpoint_body`; returns the cosignature's timestamp.
    pub fn verify_line(&self, checkpoint_body: &[u8], line: &str) -> Result<u64, CosignatureError> {
        let malformed = |why: &str| CosignatureError::MalformedLine(why.to_owned());
        let rest = line
            .trim_end_matches('\n')
            .strip_prefix("— ")
            .ok_or_else(|| malformed("it does not start with an em dash and a space"))?;
        let (name, encoded) = rest
            .split_once(' ')
            .ok_or_else(|| malformed("no space between name and signature"))?;
        if name != self.name {
            return Err(CosignatureError::WrongWitness {
                expected: self.name.clone(),
                found: name.to_owned(),
            });
        }
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| malformed("the signature is not base64"))?;
        let Some(id_bytes) = bytes.get(..4) else {
            return Err(malformed("the signature is shorter than a key id"));
        };
        if u32::from_be_bytes(id_bytes.try_into().expect("4 bytes")) != self.id {
            return Err(CosignatureError::WrongWitness {
                expected: format!("{}+{:08x}", self.name, self.id),
                found: format!("{name}+{}", hex::encode(id_bytes)),
            });
        }
        self.check(checkpoint_body, &bytes[4..])
            .ok_or_else(|| CosignatureError::BadSignature(self.name.clone()))
    }

    /// Check `timestamp || signature` bytes (the part after the key id); the timestamp if valid.
    fn check(&self, checkpoint_body: &[u8], timestamped: &[u8]) -> Option<u64> {
        let (timestamp, signature) = timestamped.split_at_checked(8)?;
        let timestamp = u64::from_be_bytes(timestamp.try_into().ok()?);
        let signature = ed25519_dalek::Signature::from_slice(signature).ok()?;
        if timestamp > i64::MAX as u64 {
            return None;
        }
        self.key
            .verify(&cosignature_message(checkpoint_body, timestamp), &signature)
            .ok()
            .map(|()| timestamp)
    }
}

impl Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.check(msg, sig).is_some()
    }
}

/// The witnesses whose valid cosignatures `note_bytes` carries, in the order of `witnesses`.
/// Lines by other keys are ignored; a line that names a listed witness but does not verify is
/// an error (a witness key does not sign garbage).
pub fn cosigned_by<'a>(
    note_bytes: &[u8],
    witnesses: &'a [CosignatureVerifier],
) -> Result<Vec<&'a CosignatureVerifier>, CosignatureError> {
    let note =
        Note::from_bytes(note_bytes).map_err(|e| CosignatureError::MalformedNote(e.to_string()))?;
    let list = WitnessList(witnesses);
    match note.verify(&list) {
        Ok((verified, _)) => Ok(witnesses
            .iter()
            .filter(|w| {
                verified
                    .iter()
                    .any(|s| s.name() == w.name && s.id() == w.id)
            })
            .collect()),
        Err(signed_note::NoteError::UnverifiedNote) => Ok(vec![]),
        Err(signed_note::NoteError::InvalidSignature { name, .. }) => {
            Err(CosignatureError::BadSignature(name))
        }
        Err(other) => Err(CosignatureError::MalformedNote(other.to_string())),
    }
}

struct WitnessList<'a>(&'a [CosignatureVerifier]);

impl Verifiers for WitnessList<'_> {
    fn verifier(&self, name: &str, id: u32) -> Result<&dyn Verifier, VerificationError> {
        self.0
            .iter()
            .find(|w| w.name == name && w.id == id)
            .map(|w| w as &dyn Verifier)
            .ok_or_else(|| VerificationError::UnknownKey {
                name: name.to_owned(),
                id,
            })
    }
}

/// Append signature lines to a signed note (for example a witness's cosignatures to the log's
/// checkpoint). The lines must each end with a newline.
pub fn append_signature_lines(note_bytes: &[u8], lines: &str) -> Vec<u8> {
    [note_bytes, lines.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{LogSigner, verify_checkpoint};
    use crate::merkle::Hash;
    use sha2::{Digest, Sha256};

    const BODY: &[u8] =
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    fn witness() -> Cosigner {
        Cosigner::new("witness.example.com/w1", [9; 32]).unwrap()
    }

    #[test]
    fn message_is_header_time_line_and_body() {
        // The example in C2SP tlog-cosignature, "Ed25519 signed message".
        assert_eq!(
            cosignature_message(BODY, 1_679_315_147),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn key_id_is_first_four_bytes_of_sha256_over_name_newline_alg_key() {
        let w = witness();
        let mut hasher = Sha256::new();
        hasher.update(b"witness.example.com/w1\n\x04");
        hasher.update(w.public_key());
        let digest = hasher.finalize();
        assert_eq!(key_id(w.name(), &w.public_key()).to_be_bytes(), digest[..4]);
        let vkey = w.verifier_key();
        assert!(vkey.starts_with(&format!(
            "witness.example.com/w1+{}+",
            hex::encode(&digest[..4])
        )));
    }

    #[test]
    fn line_carries_key_id_timestamp_and_signature() {
        let w = witness();
        let line = w.cosign(BODY, 1_679_315_147);
        let encoded = line
            .strip_prefix("— witness.example.com/w1 ")
            .unwrap()
            .trim_end();
        let bytes = BASE64.decode(encoded).unwrap();
        assert_eq!(bytes.len(), 4 + 8 + 64);
        assert_eq!(bytes[..4], key_id(w.name(), &w.public_key()).to_be_bytes());
        assert_eq!(bytes[4..12], 1_679_315_147u64.to_be_bytes());
        // The signature is plain Ed25519 over the cosignature message.
        let key = VerifyingKey::from_bytes(&w.public_key()).unwrap();
        let signature = ed25519_dalek::Signature::from_slice(&bytes[12..]).unwrap();
        key.verify(&cosignature_message(BODY, 1_679_315_147), &signature)
            .unwrap();
    }

    #[test]
    fn cosignatures_verify_and_name_what_is_wrong() {
        let w = witness();
        let verifier = CosignatureVerifier::new(&w.verifier_key()).unwrap();
        let line = w.cosign(BODY, 1_700_000_000);
        assert_eq!(verifier.verify_line(BODY, &line), Ok(1_700_000_000));
        let other_body = b"example.com/behind-the-sofa\n20852164\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        assert!(matches!(
            verifier.verify_line(other_body, &line),
            Err(CosignatureError::BadSignature(_))
        ));
        let stranger = Cosigner::new("witness.example.com/w2", [9; 32]).unwrap();
        assert!(matches!(
            verifier.verify_line(BODY, &stranger.cosign(BODY, 1)),
            Err(CosignatureError::WrongWitness { .. })
        ));
        assert!(verifier.verify_line(BODY, "garbage").is_err());
    }

    /// A witness that rotated its key keeps its name: only the listed key counts, and a
    /// cosignature by the other key under the same name is neither counted nor an error.
    #[test]
    fn a_witness_is_its_name_and_its_key_together() {
        let log = LogSigner::new("covenant.example/log", [3; 32]).unwrap();
        let note = log.sign(7, Hash([5; 32]));
        let body = crate::checkpoint::checkpoint_body("covenant.example/log", 7, Hash([5; 32]));
        let old = Cosigner::new("w.example", [20; 32]).unwrap();
        let new = Cosigner::new("w.example", [21; 32]).unwrap();
        let listed = |keys: &[&Cosigner]| -> Vec<CosignatureVerifier> {
            keys.iter()
                .map(|w| CosignatureVerifier::new(&w.verifier_key()).unwrap())
                .collect()
        };
        let by_new = append_signature_lines(&note, &new.cosign(&body, 100));
        let both = listed(&[&old, &new]);
        let counted = cosigned_by(&by_new, &both).unwrap();
        assert_eq!(counted.len(), 1);
        assert_eq!(counted[0].verify_line(&body, &new.cosign(&body, 1)), Ok(1));
        assert_eq!(cosigned_by(&by_new, &listed(&[&old])).unwrap().len(), 0);
    }

    /// The timestamp is a u64 on the wire, but nothing past `i64::MAX` seconds is a time;
    /// a correctly signed line claiming one is refused like a bad signature.
    #[test]
    fn timestamps_up_to_i64_max_verify_and_none_past_it() {
        let w = witness();
        let verifier = CosignatureVerifier::new(&w.verifier_key()).unwrap();
        let last = i64::MAX as u64;
        assert_eq!(verifier.verify_line(BODY, &w.cosign(BODY, last)), Ok(last));
        for beyond in [last + 1, u64::MAX] {
            assert!(matches!(
                verifier.verify_line(BODY, &w.cosign(BODY, beyond)),
                Err(CosignatureError::BadSignature(_))
            ));
        }
    }

    /// A witness's key must never reach a log line: its `Debug` names the public key only.
    #[test]
    fn a_cosigner_debugs_as_its_verifier_key_without_the_seed() {
        let w = witness();
        let shown = format!("{w:?}");
        assert_eq!(shown, format!("Cosigner({})", w.verifier_key()));
        assert!(!shown.contains(&hex::encode([9u8; 32])));
    }

    #[test]
    fn malformed_verifier_keys_are_refused() {
        let w = witness();
        let good = w.verifier_key();
        let log_style = crate::checkpoint::verifier_key("witness.example.com/w1", &w.public_key());
        for bad in [
            "no-plus-signs",
            "name+zzzzzzzz+AAAA",
            &good.replacen("+", "+0", 1),
            &log_style,
        ] {
            assert!(CosignatureVerifier::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_log_checkpoint_with_cosignatures_still_verifies_and_counts_witnesses() {
        let log = LogSigner::new("covenant.example/log", [3; 32]).unwrap();
        let note = log.sign(7, Hash([5; 32]));
        let body = crate::checkpoint::checkpoint_body("covenant.example/log", 7, Hash([5; 32]));
        let (w1, w2, w3) = (
            witness(),
            Cosigner::new("w2.example", [10; 32]).unwrap(),
            Cosigner::new("w3.example", [11; 32]).unwrap(),
        );
        let cosigned =
            append_signature_lines(&note, &(w1.cosign(&body, 100) + &w2.cosign(&body, 101)));
        // The log key still verifies; the cosignatures are carried along.
        let checkpoint = verify_checkpoint(&cosigned, &log.verifier_key()).unwrap();
        assert_eq!(checkpoint.other_signatures.len(), 2);
        let witnesses: Vec<_> = [&w1, &w2, &w3]
            .iter()
            .map(|w| CosignatureVerifier::new(&w.verifier_key()).unwrap())
            .collect();
        let names: Vec<_> = cosigned_by(&cosigned, &witnesses)
            .unwrap()
            .iter()
            .map(|w| w.name().to_owned())
            .collect();
        assert_eq!(names, ["witness.example.com/w1", "w2.example"]);
        assert!(cosigned_by(&note, &witnesses).unwrap().is_empty());
        // A cosignature over another body, by a listed witness, is an error.
        let forged = append_signature_lines(&note, &w3.cosign(BODY, 5));
        assert!(matches!(
            cosigned_by(&forged, &witnesses),
            Err(CosignatureError::BadSignature(_))
        ));
    }
}
