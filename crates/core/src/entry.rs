//! Ledger entries and the blake3 hash chain (docs/SPEC.md, "Entry" and "Chain").
//!
//! An entry is the unit of the log: its sequence number, the time the broker stored the message,
//! the chain hash of the entry before it, and the envelope bytes exactly as received. The same
//! encoded bytes are the Merkle leaf and the payload of a C2SP entry bundle, so one encoding
//! serves the chain, the tree and the tiles.

use crate::MAX_ENVELOPE_BYTES;

/// Version byte that starts every encoded entry.
pub const ENTRY_VERSION: u8 = 1;
/// Bytes before the envelope: version, sequence, stored-at, previous chain hash, length.
pub const ENTRY_HEADER_BYTES: usize = 1 + 8 + 8 + 32 + 4;
/// blake3 `derive_key` context of the chain hash.
pub const CHAIN_CONTEXT: &str = "covenant 2026-11 ledger entry chain v1";

/// A blake3 chain hash.
pub type ChainHash = [u8; 32];

/// The chain hash that entry 0 links back to.
pub const GENESIS_PREVIOUS: ChainHash = [0; 32];

/// Why bytes are not a well-formed entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    #[error("entry is {len} bytes, shorter than the {ENTRY_HEADER_BYTES}-byte header")]
    Truncated { len: usize },
    #[error("entry version {found} is not supported (expected {ENTRY_VERSION})")]
    Version { found: u8 },
    #[error("entry says its envelope is {declared} bytes but {actual} follow")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("envelope of {len} bytes exceeds the {MAX_ENVELOPE_BYTES}-byte limit")]
    Oversized { len: usize },
}

/// One decoded ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the log, starting at 0.
    pub seq: u64,
    /// When the broker stored the message, nanoseconds since the Unix epoch. Replicas read the
    /// same value from the stream, so it never depends on a ledger's own clock.
    pub stored_at_ns: u64,
    /// Chain hash of entry `seq - 1`, or [`GENESIS_PREVIOUS`] for entry 0.
    pub previous: ChainHash,
    /// The signed envelope, byte for byte as received.
    pub envelope: Vec<u8>,
}

impl Entry {
    /// The canonical encoding: what is chained, what the Merkle leaf hashes, and what entry
    /// bundles carry.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENTRY_HEADER_BYTES + self.envelope.len());
        out.push(ENTRY_VERSION);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.stored_at_ns.to_be_bytes());
        out.extend_from_slice(&self.previous);
        out.extend_from_slice(&(self.envelope.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.envelope);
        out
    }

    /// Decode an entry, rejecting anything but the exact canonical form.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        let header = EntryHeader::parse(bytes)?;
        Ok(Self {
            seq: header.seq,
            stored_at_ns: header.stored_at_ns,
            previous: header.previous,
            envelope: bytes[ENTRY_HEADER_BYTES..].to_vec(),
        })
    }

    /// This entry's chain hash.
    pub fn chain_hash(&self) -> ChainHash {
        chain_hash(&self.encode())
    }
}

/// The fixed-size header of an encoded entry, read without copying the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryHeader {
    pub seq: u64,
    pub stored_at_ns: u64,
    pub previous: ChainHash,
    pub envelope_len: usize,
}

impl EntryHeader {
    pub fn parse(bytes: &[u8]) -> Result<Self, EntryError> {
        if bytes.len() < ENTRY_HEADER_BYTES {
            return Err(EntryError::Truncated { len: bytes.len() });
        }
        if bytes[0] != ENTRY_VERSION {
            return Err(EntryError::Version { found: bytes[0] });
        }
        let seq = u64::from_be_bytes(bytes[1..9].try_into().expect("8 bytes"));
        let stored_at_ns = u64::from_be_bytes(bytes[9..17].try_into().expect("8 bytes"));
        let previous: ChainHash = bytes[17..49].try_into().expect("32 bytes");
        let declared = u32::from_be_bytes(bytes[49..53].try_into().expect("4 bytes")) as usize;
        let actual = bytes.len() - ENTRY_HEADER_BYTES;
        if declared != actual {
            return Err(EntryError::LengthMismatch { declared, actual });
        }
        if declared > MAX_ENVELOPE_BYTES {
            return Err(EntryError::Oversized { len: declared });
        }
        Ok(Self {
            seq,
            stored_at_ns,
            previous,
            envelope_len: declared,
        })
    }
}

/// The envelope bytes inside an encoded entry (call after [`EntryHeader::parse`] succeeded).
pub fn envelope_of(entry_bytes: &[u8]) -> &[u8] {
    &entry_bytes[ENTRY_HEADER_BYTES.min(entry_bytes.len())..]
}

/// blake3 chain hash of an encoded entry: `blake3::derive_key(CHAIN_CONTEXT, entry_bytes)`.
pub fn chain_hash(entry_bytes: &[u8]) -> ChainHash {
    blake3::derive_key(CHAIN_CONTEXT, entry_bytes)
}

/// Where a chain of encoded entries first goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    // Not named `source`: thiserror would make it the error's source as well, and a caller
    // printing the chain would print the cause twice.
    #[error("entry {seq}: {error}")]
    Malformed { seq: u64, error: EntryError },
    #[error("entry at position {expected} says it is entry {found}")]
    WrongSequence { expected: u64, found: u64 },
    #[error("entry {seq} does not link to the chain hash of entry {}", seq.wrapping_sub(1))]
    BrokenLink { seq: u64 },
    #[error("entry {seq} was stored before entry {}", seq.wrapping_sub(1))]
    TimeWentBackwards { seq: u64 },
}

/// Incremental chain checker: feed entries in order, get the head hash.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: u64,
    head: ChainHash,
    last_stored_at_ns: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// A checker that starts at entry 0.
    pub fn new() -> Self {
        Self::resume(0, GENESIS_PREVIOUS, 0)
    }

    /// A checker that continues after a verified prefix of `next_seq` entries.
    pub fn resume(next_seq: u64, head: ChainHash, last_stored_at_ns: u64) -> Self {
        Self {
            next_seq,
            head,
            last_stored_at_ns,
        }
    }

    /// Check the next entry and return its chain hash.
    pub fn push(&mut self, entry_bytes: &[u8]) -> Result<ChainHash, ChainError> {
        self.push_with(entry_bytes, chain_hash)
    }

    /// [`ChainVerifier::push`] for a caller that already computed `chain_hash(entry_bytes)`,
    /// for example on another core while this one checks links in order.
    pub fn push_hashed(
        &mut self,
        entry_bytes: &[u8],
        hash: ChainHash,
    ) -> Result<ChainHash, ChainError> {
        self.push_with(entry_bytes, |_| hash)
    }

    fn push_with(
        &mut self,
        entry_bytes: &[u8],
        hash: impl FnOnce(&[u8]) -> ChainHash,
    ) -> Result<ChainHash, ChainError> {
        let seq = self.next_seq;
        let header = EntryHeader::parse(entry_bytes)
            .map_err(|error| ChainError::Malformed { seq, error })?;
        if header.seq != seq {
            return Err(ChainError::WrongSequence {
                expected: seq,
                found: header.seq,
            });
        }
        if header.previous != self.head {
            return Err(ChainError::BrokenLink { seq });
        }
        if header.stored_at_ns < self.last_stored_at_ns {
            return Err(ChainError::TimeWentBackwards { seq });
        }
        self.head = hash(entry_bytes);
        self.last_stored_at_ns = header.stored_at_ns;
        self.next_seq += 1;
        Ok(self.head)
    }

    /// Number of entries checked so far (including any resumed prefix).
    pub fn len(&self) -> u64 {
        self.next_seq
    }

    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }

    /// Chain hash of the last entry checked.
    pub fn head(&self) -> ChainHash {
        self.head
    }

    /// Broker storage time of the last entry checked (what [`ChainVerifier::resume`] takes).
    pub fn last_stored_at_ns(&self) -> u64 {
        self.last_stored_at_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(count: u64) -> Vec<Vec<u8>> {
        let mut previous = GENESIS_PREVIOUS;
        (0..count)
            .map(|seq| {
                let entry = Entry {
                    seq,
                    stored_at_ns: 1_000 + seq,
                    previous,
                    envelope: format!("envelope {seq}").into_bytes(),
                };
                let bytes = entry.encode();
                previous = chain_hash(&bytes);
                bytes
            })
            .collect()
    }

    #[test]
    fn encode_decode_round_trip() {
        let entry = Entry {
            seq: 42,
            stored_at_ns: 7,
            previous: [9; 32],
            envelope: b"hello".to_vec(),
        };
        let bytes = entry.encode();
        assert_eq!(bytes.len(), ENTRY_HEADER_BYTES + 5);
        assert_eq!(Entry::decode(&bytes), Ok(entry));
    }

    #[test]
    fn decode_names_what_is_wrong() {
        assert_eq!(
            Entry::decode(&[1, 2, 3]),
            Err(EntryError::Truncated { len: 3 })
        );
        let mut bytes = chain(1).remove(0);
        bytes[0] = 2;
        assert_eq!(Entry::decode(&bytes), Err(EntryError::Version { found: 2 }));
        let mut bytes = chain(1).remove(0);
        bytes.push(0);
        assert!(matches!(
            Entry::decode(&bytes),
            Err(EntryError::LengthMismatch { .. })
        ));
    }

    /// The header's bounds: an entry may carry an empty envelope (the header alone parses)
    /// and one of exactly `MAX_ENVELOPE_BYTES`, and not one byte more.
    #[test]
    fn the_header_alone_and_the_largest_envelope_parse_and_one_byte_more_does_not() {
        let with_envelope = |len: usize| {
            Entry {
                seq: 3,
                stored_at_ns: 9,
                previous: [4; 32],
                envelope: vec![7; len],
            }
            .encode()
        };
        let empty = with_envelope(0);
        assert_eq!(empty.len(), ENTRY_HEADER_BYTES);
        assert_eq!(EntryHeader::parse(&empty).map(|h| h.envelope_len), Ok(0));
        assert_eq!(
            EntryHeader::parse(&empty[..ENTRY_HEADER_BYTES - 1]),
            Err(EntryError::Truncated {
                len: ENTRY_HEADER_BYTES - 1
            })
        );
        let largest = with_envelope(MAX_ENVELOPE_BYTES);
        assert_eq!(
            EntryHeader::parse(&largest).map(|h| h.envelope_len),
            Ok(MAX_ENVELOPE_BYTES)
        );
        assert_eq!(
            EntryHeader::parse(&with_envelope(MAX_ENVELOPE_BYTES + 1)),
            Err(EntryError::Oversized {
                len: MAX_ENVELOPE_BYTES + 1
            })
        );
    }

    #[test]
    fn the_envelope_and_the_chain_hash_are_read_from_the_encoding() {
        let entry = Entry {
            seq: 1,
            stored_at_ns: 2,
            previous: [5; 32],
            envelope: b"an envelope".to_vec(),
        };
        let bytes = entry.encode();
        assert_eq!(envelope_of(&bytes), b"an envelope");
        assert_eq!(envelope_of(&bytes[..ENTRY_HEADER_BYTES]), b"");
        assert_eq!(entry.chain_hash(), chain_hash(&bytes));
        assert_ne!(entry.chain_hash(), ChainHash::default());
    }

    /// Entries the broker stored in the same nanosecond keep their order; only an earlier
    /// time than the entry before is refused.
    #[test]
    fn equal_storage_times_chain_and_an_earlier_one_does_not() {
        let entry = |seq, stored_at_ns, previous| {
            Entry {
                seq,
                stored_at_ns,
                previous,
                envelope: vec![seq as u8],
            }
            .encode()
        };
        let first = entry(0, 50, GENESIS_PREVIOUS);
        let mut verifier = ChainVerifier::new();
        let head = verifier.push(&first).unwrap();
        let head = verifier.push(&entry(1, 50, head)).unwrap();
        assert_eq!(
            verifier.push(&entry(2, 49, head)),
            Err(ChainError::TimeWentBackwards { seq: 2 })
        );
    }

    #[test]
    fn a_valid_chain_verifies() {
        let mut verifier = ChainVerifier::new();
        assert!(verifier.is_empty());
        for bytes in chain(50) {
            verifier.push(&bytes).unwrap();
            assert!(!verifier.is_empty());
        }
        assert_eq!(verifier.len(), 50);
    }

    #[test]
    fn any_flipped_bit_breaks_the_chain_or_changes_the_head() {
        let entries = chain(6);
        let mut honest = ChainVerifier::new();
        entries.iter().for_each(|bytes| {
            honest.push(bytes).unwrap();
        });
        for victim in 0..entries.len() {
            for byte in 0..entries[victim].len() {
                let mut tampered = entries.clone();
                tampered[victim][byte] ^= 0x01;
                let mut verifier = ChainVerifier::new();
                let failure = tampered
                    .iter()
                    .enumerate()
                    .find_map(|(index, bytes)| verifier.push(bytes).err().map(|e| (index, e)));
                match failure {
                    // The damage shows at the entry itself or at the next link.
                    Some((index, _)) => assert!(index == victim || index == victim + 1),
                    // A change to the last entry shows only against a head published elsewhere.
                    None => {
                        assert_eq!(victim, entries.len() - 1);
                        assert_ne!(verifier.head(), honest.head());
                    }
                }
            }
        }
    }

    #[test]
    fn prehashed_pushes_agree_with_plain_pushes() {
        let entries = chain(20);
        let mut plain = ChainVerifier::new();
        let mut prehashed = ChainVerifier::new();
        for bytes in &entries {
            let head = plain.push(bytes).unwrap();
            assert_eq!(prehashed.push_hashed(bytes, chain_hash(bytes)), Ok(head));
        }
        assert_eq!(prehashed.last_stored_at_ns(), 1_019);
        let resumed = ChainVerifier::resume(
            prehashed.len(),
            prehashed.head(),
            prehashed.last_stored_at_ns(),
        );
        assert_eq!(resumed.head(), plain.head());
        let mut swapped = entries.clone();
        swapped.swap(3, 4);
        let mut checker = ChainVerifier::new();
        let error = swapped
            .iter()
            .find_map(|b| checker.push_hashed(b, chain_hash(b)).err());
        assert!(matches!(
            error,
            Some(ChainError::WrongSequence { expected: 3, .. })
        ));
    }

    #[test]
    fn removed_and_reordered_entries_are_named() {
        let mut entries = chain(5);
        entries.remove(2);
        let mut verifier = ChainVerifier::new();
        let error = entries.iter().find_map(|b| verifier.push(b).err()).unwrap();
        assert_eq!(
            error,
            ChainError::WrongSequence {
                expected: 2,
                found: 3
            }
        );
        let mut entries = chain(5);
        entries.swap(1, 2);
        let mut verifier = ChainVerifier::new();
        let error = entries.iter().find_map(|b| verifier.push(b).err()).unwrap();
        assert_eq!(
            error,
            ChainError::WrongSequence {
                expected: 1,
                found: 2
            }
        );
    }
}
