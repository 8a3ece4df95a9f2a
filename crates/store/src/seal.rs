//! State seals: each batch's state record vouched for by the holder of the log key, so that
//! an open by that holder applies the records after the snapshot instead of re-deriving them
//! from the entries (0.7 to 0.9 against 3 to 4 µs an entry at 750,000 entries).
//!
//! A batch appended with a seal key (`Batch::seal_key`, the log key's snapshot key) ends its
//! state record with one more item, the seal (`layout::seal_state_record`; a batch that
//! changed no state gets a record holding the seal alone), so sealing costs no insert of its
//! own:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | `end`: the entry after the batch's last (u64 BE) |
//! | 32 | the chain hash of entry `end - 1` |
//! | 32 | the MAC: blake3 keyed with the seal key of [`DOMAIN`], `first` and `end` (u64 BE), the chain hash of entry `first - 1` (zeros for 0), the chain hash of entry `end - 1`, and the record's bytes before the seal (empty when the batch changed no state) |
//!
//! Each MAC covers the chain hash where its batch begins and the one where it ends, so the
//! seals from one entry on link into a chain that only the key's holder can make, and a walk
//! ([`SealChain`]) that starts on the log's chain hash at the snapshot and ends on the log's
//! chain hash where it stops has followed this log's batches and no other's. A seal that is
//! missing, does not check, or does not link ends the walk: the entries after it are
//! re-derived as before, which also finds whatever was altered. Seals are a shortcut like
//! snapshots: nothing else trusts them, and a store without them (written before they
//! existed, or without the key) is re-derived whole.

use covenant_core::entry::ChainHash;

/// Where every MAC's input begins: no other keyed hash made with the snapshot key (a
/// snapshot's seal is over a 32-byte digest) has an input of this length or longer.
pub(crate) const DOMAIN: &[u8] = b"covenant-store state seal 1\n";

/// Bytes of an encoded seal.
pub(crate) const SEAL_BYTES: usize = 8 + 32 + 32;

/// One batch's seal, as stored under the batch's first entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seal {
    /// The entry after the batch's last.
    pub end: u64,
    /// The chain hash of entry `end - 1`.
    pub chain_head: ChainHash,
    pub mac: [u8; 32],
}

/// Where a batch begins: its first entry and the chain hash before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchStart {
    pub first: u64,
    pub chain_before: ChainHash,
}

impl Seal {
    /// Seal the batch starting at `start` and ending before `end` (chain hash `chain_head`)
    /// whose state record is `record`.
    pub(crate) fn new(
        key: &[u8; 32],
        start: BatchStart,
        end: u64,
        chain_head: ChainHash,
        record: &[u8],
    ) -> Self {
        Self {
            end,
            chain_head,
            mac: *mac(key, start, end, &chain_head, record).as_bytes(),
        }
    }

    /// Whether this seal, made with `key`, vouches for `record` as the state changes of the
    /// batch starting at `start` (compared in constant time).
    pub(crate) fn vouches_for(&self, key: &[u8; 32], start: BatchStart, record: &[u8]) -> bool {
        mac(key, start, self.end, &self.chain_head, record) == blake3::Hash::from(self.mac)
    }

    pub(crate) fn encode(&self) -> [u8; SEAL_BYTES] {
        let mut bytes = [0; SEAL_BYTES];
        bytes[..8].copy_from_slice(&self.end.to_be_bytes());
        bytes[8..40].copy_from_slice(&self.chain_head);
        bytes[40..].copy_from_slice(&self.mac);
        bytes
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, String> {
        let bytes: &[u8; SEAL_BYTES] = bytes
            .try_into()
            .map_err(|_| format!("a seal is {SEAL_BYTES} bytes, not {}", bytes.len()))?;
        let mut end = [0; 8];
        end.copy_from_slice(&bytes[..8]);
        let mut chain_head = [0; 32];
        chain_head.copy_from_slice(&bytes[8..40]);
        let mut mac = [0; 32];
        mac.copy_from_slice(&bytes[40..]);
        Ok(Self {
            end: u64::from_be_bytes(end),
            chain_head,
            mac,
        })
    }
}

fn mac(
    key: &[u8; 32],
    start: BatchStart,
    end: u64,
    chain_head: &ChainHash,
    record: &[u8],
) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(DOMAIN);
    hasher.update(&start.first.to_be_bytes());
    hasher.update(&end.to_be_bytes());
    hasher.update(&start.chain_before);
    hasher.update(chain_head);
    hasher.update(record);
    hasher.finalize()
}

/// A walk along the seals in log order from one entry, admitting each batch whose seal
/// checks and links to the one before.
pub(crate) struct SealChain<'k> {
    key: &'k [u8; 32],
    next: BatchStart,
}

impl<'k> SealChain<'k> {
    /// Start at entry `from`, whose chain hash before it is `chain_before` (the log's, read
    /// from the log: the walk is tied to this log from its first step).
    pub(crate) fn starting_at(key: &'k [u8; 32], from: u64, chain_before: ChainHash) -> Self {
        Self {
            key,
            next: BatchStart {
                first: from,
                chain_before,
            },
        }
    }

    /// Admit the batch at `first` with `seal` and `record`, or say why it cannot be.
    pub(crate) fn admit(&mut self, first: u64, seal: &Seal, record: &[u8]) -> Result<(), String> {
        if first != self.next.first {
            return Err(format!(
                "the next seal is of the batch at entry {first}, not {}",
                self.next.first
            ));
        }
        if seal.end <= first {
            return Err(format!(
                "the seal of the batch at entry {first} ends at {}",
                seal.end
            ));
        }
        if !seal.vouches_for(self.key, self.next, record) {
            return Err(format!(
                "the seal of the batch at entry {first} does not check"
            ));
        }
        self.next = BatchStart {
            first: seal.end,
            chain_before: seal.chain_head,
        };
        Ok(())
    }

    /// The entry after the last batch admitted (where the walk started, if none).
    pub(crate) fn size(&self) -> u64 {
        self.next.first
    }

    /// The chain hash the last batch admitted ends on.
    pub(crate) fn chain_head(&self) -> ChainHash {
        self.next.chain_before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn start(first: u64, chain_before: u8) -> BatchStart {
        BatchStart {
            first,
            chain_before: [chain_before; 32],
        }
    }

    #[test]
    fn a_seal_round_trips_and_checks_only_what_it_covers() {
        let seal = Seal::new(&KEY, start(10, 1), 14, [2; 32], b"record");
        assert_eq!(Seal::decode(&seal.encode()).unwrap(), seal);
        assert!(seal.vouches_for(&KEY, start(10, 1), b"record"));
        assert!(!seal.vouches_for(&[8; 32], start(10, 1), b"record"));
        assert!(!seal.vouches_for(&KEY, start(11, 1), b"record"));
        assert!(!seal.vouches_for(&KEY, start(10, 3), b"record"));
        assert!(!seal.vouches_for(&KEY, start(10, 1), b"recorD"));
        assert!(!seal.vouches_for(&KEY, start(10, 1), b""));
        let mut moved = seal;
        moved.end = 15;
        assert!(!moved.vouches_for(&KEY, start(10, 1), b"record"));
        let mut rechained = seal;
        rechained.chain_head = [3; 32];
        assert!(!rechained.vouches_for(&KEY, start(10, 1), b"record"));
        let error = Seal::decode(&seal.encode()[1..]).unwrap_err();
        assert!(error.contains("71"), "{error}");
    }

    #[test]
    fn a_chain_admits_linked_batches_in_order_and_names_the_first_that_is_not() {
        let first = Seal::new(&KEY, start(5, 1), 8, [2; 32], b"a");
        let second = Seal::new(&KEY, start(8, 2), 9, [3; 32], b"");
        let mut chain = SealChain::starting_at(&KEY, 5, [1; 32]);
        assert_eq!((chain.size(), chain.chain_head()), (5, [1; 32]));
        chain.admit(5, &first, b"a").unwrap();
        assert_eq!((chain.size(), chain.chain_head()), (8, [2; 32]));
        chain.admit(8, &second, b"").unwrap();
        assert_eq!((chain.size(), chain.chain_head()), (9, [3; 32]));

        // A chain started on another chain hash does not admit the same seals.
        let mut elsewhere = SealChain::starting_at(&KEY, 5, [9; 32]);
        let error = elsewhere.admit(5, &first, b"a").unwrap_err();
        assert!(error.contains("does not check"), "{error}");
        assert_eq!(elsewhere.size(), 5);
        // A batch skipped, a batch out of place, a seal that ends where it begins.
        let mut skipping = SealChain::starting_at(&KEY, 5, [1; 32]);
        let error = skipping.admit(8, &second, b"").unwrap_err();
        assert!(error.contains("at entry 8, not 5"), "{error}");
        let empty = Seal::new(&KEY, start(5, 1), 5, [1; 32], b"");
        let error = skipping.admit(5, &empty, b"").unwrap_err();
        assert!(error.contains("ends at 5"), "{error}");
        assert_eq!(skipping.size(), 5);
    }
}
