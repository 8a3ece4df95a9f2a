//! Moving an embedded log onto a NATS stream with the same root.
//!
//! An entry's time is part of its bytes, so of the root. On a stream it is the broker's storage
//! time; embedded, there is no broker and the ledger's clock gave it. Replaying an embedded log
//! into a stream would therefore give every entry a new time, and a new root, unless the stream
//! carries the original times. `covenant ledger migrate` publishes each entry's envelope,
//! in order, into an empty stream with one extra header:
//!
//! ```text
//! Covenant-Migrated-Entry: <entry number> <stored-at ns> <base64 Ed25519 signature>
//! ```
//!
//! The signature is the log key's (the key whose checkpoints already vouch for those times)
//! over [`claim_input`]: a context string, the origin, the entry number, the time and the
//! blake3 digest of the envelope. The ledger takes the time from the header only when the
//! signature verifies with its own log key and the message becomes exactly the entry the
//! claim names; otherwise the message is an ordinary one and gets the broker's time. So an
//! emitter, who has no log key, cannot choose an entry's time, and a claim cannot be replayed
//! at another position or for other bytes. A ledger without its log key (a rebuild run
//! without `--log-key`) cannot check a claim and stops at the first one rather than derive a
//! different log.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use covenant_core::signing::{self, EventSigner, PublicKey};

/// The header a migrated message carries.
pub const MIGRATED_ENTRY_HEADER: &str = "Covenant-Migrated-Entry";

/// Domain separation for the claim's signature.
const CLAIM_CONTEXT: &[u8] = b"covenant/v1/migrated-entry\n";

/// What a migrated message says about the entry it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigratedEntry {
    /// The entry number it had, and must have again.
    pub seq: u64,
    /// Its storage time in the original log.
    pub stored_at_ns: u64,
    pub signature: Vec<u8>,
}

/// The bytes the log key signs for a migrated entry.
pub fn claim_input(
    origin: &str,
    seq: u64,
    stored_at_ns: u64,
    envelope_digest: &[u8; 32],
) -> Vec<u8> {
    let mut input = CLAIM_CONTEXT.to_vec();
    input.extend_from_slice(origin.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(format!("{seq}\n{stored_at_ns}\n").as_bytes());
    input.extend_from_slice(envelope_digest);
    input
}

impl MigratedEntry {
    /// Sign the claim for entry `seq` of the log `origin` with the log key's seed.
    pub fn sign(
        log_key_seed: [u8; 32],
        origin: &str,
        seq: u64,
        stored_at_ns: u64,
        envelope: &[u8],
    ) -> Self {
        let digest = covenant_core::event::envelope_digest(envelope);
        let signature = EventSigner::from_seed(log_key_seed).sign(&claim_input(
            origin,
            seq,
            stored_at_ns,
            &digest,
        ));
        Self {
            seq,
            stored_at_ns,
            signature: signature.to_vec(),
        }
    }

    /// The header value.
    pub fn to_header(&self) -> String {
        format!(
            "{} {} {}",
            self.seq,
            self.stored_at_ns,
            BASE64.encode(&self.signature)
        )
    }

    /// A header value read back; `None` when it is malformed (the message is then an ordinary
    /// one).
    pub fn parse_header(value: &str) -> Option<Self> {
        let mut parts = value.split(' ');
        let seq = parts.next()?.parse().ok()?;
        let stored_at_ns = parts.next()?.parse().ok()?;
        let signature = BASE64.decode(parts.next()?).ok()?;
        if parts.next().is_some() || signature.len() != 64 {
            return None;
        }
        Some(Self {
            seq,
            stored_at_ns,
            signature,
        })
    }

    /// Whether the log key `public_key` of `origin` signed this claim for these bytes at
    /// entry `seq`.
    pub fn verify(&self, public_key: &PublicKey, origin: &str, seq: u64, envelope: &[u8]) -> bool {
        if self.seq != seq {
            return false;
        }
        let digest = covenant_core::event::envelope_digest(envelope);
        signing::verify(
            public_key,
            &claim_input(origin, self.seq, self.stored_at_ns, &digest),
            &self.signature,
        )
    }
}

/// The log key a ledger checks migrated entries with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationKey {
    pub origin: String,
    pub public_key: PublicKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 32] = [9; 32];

    fn key() -> PublicKey {
        EventSigner::from_seed(SEED).public_key()
    }

    #[test]
    fn a_claim_holds_only_for_its_log_key_position_and_bytes() {
        let claim = MigratedEntry::sign(
            SEED,
            "ledger.example/log",
            5,
            1_700_000_000_000,
            b"envelope",
        );
        let read = MigratedEntry::parse_header(&claim.to_header()).expect("parses");
        assert_eq!(read, claim);
        assert!(read.verify(&key(), "ledger.example/log", 5, b"envelope"));
        assert!(
            !read.verify(&key(), "ledger.example/log", 6, b"envelope"),
            "another position"
        );
        assert!(
            !read.verify(&key(), "ledger.example/log", 5, b"envelopf"),
            "other bytes"
        );
        assert!(
            !read.verify(&key(), "other.example/log", 5, b"envelope"),
            "another log"
        );
        let stranger = EventSigner::from_seed([1; 32]).public_key();
        assert!(
            !read.verify(&stranger, "ledger.example/log", 5, b"envelope"),
            "another key"
        );
        let mut later = read.clone();
        later.stored_at_ns += 1;
        assert!(
            !later.verify(&key(), "ledger.example/log", 5, b"envelope"),
            "another time"
        );
    }

    #[test]
    fn malformed_headers_are_not_claims() {
        for value in [
            "",
            "5",
            "5 6",
            "5 6 !!!",
            "x 6 AAAA",
            "5 6 AAAA",
            "5 6 AAAA extra",
        ] {
            assert_eq!(MigratedEntry::parse_header(value), None, "{value:?}");
        }
    }
}
