//! The event-id index, kept in memory: event id to sequence number, for every entry.
//!
//! The engine writes nothing per event for it. The entries themselves are the durable record
//! (each envelope names its event id); the index is rebuilt on open from the latest snapshot
//! (`crate::snapshot`) plus the entries after it, and grows with each durable batch.
//!
//! It holds 64-bit fingerprints of event ids, not the ids: 16 bytes per entry whatever the id's
//! length. A fingerprint only narrows the search to candidate entries; the caller reads each
//! candidate's envelope and compares the id itself, so two ids sharing a fingerprint cost one
//! more entry read and never a wrong answer. Every entry's fingerprint is in the index, so
//! "no candidate" is an exact "not in the log".

use std::collections::HashMap;
use std::sync::Arc;

/// The fingerprint of an event id: the first 8 bytes of its blake3 hash. Stable across
/// builds and platforms, because snapshots keep fingerprints on disk.
pub(crate) fn fingerprint(event_id: &str) -> u64 {
    let hash = blake3::hash(event_id.as_bytes());
    let mut first = [0; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// `sorted` (ascending) and `unsorted` as one ascending list.
pub(crate) fn merge_sorted(
    sorted: Vec<(u64, u64)>,
    mut unsorted: Vec<(u64, u64)>,
) -> Vec<(u64, u64)> {
    unsorted.sort_unstable();
    if sorted.is_empty() {
        return unsorted;
    }
    merge_ascending(&sorted, &unsorted)
}

/// Two ascending lists as one.
pub(crate) fn merge_ascending(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            merged.push(a[i]);
            i += 1;
        } else {
            merged.push(b[j]);
            j += 1;
        }
    }
    merged.extend_from_slice(&a[i..]);
    merged.extend_from_slice(&b[j..]);
    merged
}

/// Fingerprint to sequence numbers, for entries `0..size`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EventIndex {
    /// The entries up to the last snapshot or open (shared with the snapshot writer, which
    /// merges a copy of `recent` into a new one).
    merged: SortedIndex,
    /// The entries since, with room for fingerprints shared by several entries (hashed with
    /// foldhash: SipHash, the default, showed in the commit thread's profile).
    recent: HashMap<u64, Seqs, foldhash::fast::RandomState>,
    recent_count: u64,
}

/// A table of where each run of fingerprints sharing their top `bits` bits starts in a sorted
/// list of pairs. Fingerprints are uniform, so with about four pairs to a bucket, a lookup
/// reads the table once and then a handful of neighbouring pairs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Buckets {
    bits: u32,
    /// `starts[b]` is the index of the first pair whose fingerprint's top bits are `b` or
    /// more; one more entry than buckets, the last the list's length.
    starts: Arc<Vec<u32>>,
}

/// Pairs per bucket the table aims at.
const PAIRS_PER_BUCKET: usize = 4;

impl Buckets {
    fn over(pairs: &[(u64, u64)]) -> Self {
        // The table holds positions as u32: a longer list (or one too short to split) is
        // bisected whole.
        if pairs.len() < PAIRS_PER_BUCKET * 2 || u32::try_from(pairs.len()).is_err() {
            return Self::default();
        }
        let bits = (pairs.len() / PAIRS_PER_BUCKET).ilog2();
        let buckets = 1usize << bits;
        let mut starts = Vec::with_capacity(buckets + 1);
        let mut at = 0;
        for bucket in 0..buckets as u64 {
            while at < pairs.len() && pairs[at].0 >> (64 - bits) < bucket {
                at += 1;
            }
            starts.push(at as u32);
        }
        starts.push(pairs.len() as u32);
        Self {
            bits,
            starts: Arc::new(starts),
        }
    }

    /// The range of `pairs` (the list the table was built over) that holds every pair with
    /// fingerprint `print`.
    fn range(&self, print: u64, len: usize) -> std::ops::Range<usize> {
        if self.bits == 0 {
            return 0..len;
        }
        let bucket = (print >> (64 - self.bits)) as usize;
        self.starts[bucket] as usize..self.starts[bucket + 1] as usize
    }
}

/// Fingerprint and sequence number pairs, ascending, shared between the index and a snapshot
/// writer.
pub(crate) type SortedPairs = Arc<Vec<(u64, u64)>>;

/// Fingerprint and sequence number pairs sorted by fingerprint, then sequence number, with a
/// table of where each range of fingerprints starts, so a lookup searches a few pairs in one
/// or two cache lines instead of bisecting the whole list (twenty-odd cache misses at ten
/// million entries, once to validate each event and again to append it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SortedIndex {
    pub(crate) pairs: SortedPairs,
    starts: Buckets,
}

impl SortedIndex {
    /// `pairs` must be ascending. Building the table reads them once.
    pub(crate) fn new(pairs: Vec<(u64, u64)>) -> Self {
        debug_assert!(pairs.is_sorted());
        Self {
            starts: Buckets::over(&pairs),
            pairs: Arc::new(pairs),
        }
    }

    fn len(&self) -> usize {
        self.pairs.len()
    }

    /// The pairs with fingerprint `print`, ascending by sequence number.
    fn with_print(&self, print: u64) -> &[(u64, u64)] {
        let bucket = &self.pairs[self.starts.range(print, self.pairs.len())];
        let start = bucket.partition_point(|&(p, _)| p < print);
        let end = start + bucket[start..].partition_point(|&(p, _)| p == print);
        &bucket[start..end]
    }
}

/// The entries sharing one fingerprint: almost always one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seqs {
    One(u64),
    Many(Vec<u64>),
}

impl EventIndex {
    /// An index over `pairs` (fingerprint, sequence number), sorted.
    pub(crate) fn from_sorted(pairs: Vec<(u64, u64)>) -> Self {
        Self {
            merged: SortedIndex::new(pairs),
            ..Self::default()
        }
    }

    /// How many entries the index covers.
    pub(crate) fn len(&self) -> u64 {
        self.merged.len() as u64 + self.recent_count
    }

    /// Record that entry `seq` holds `event_id`.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, event_id: &str, seq: u64) {
        self.insert_fingerprint(fingerprint(event_id), seq);
    }

    pub(crate) fn insert_fingerprint(&mut self, print: u64, seq: u64) {
        self.recent_count += 1;
        match self.recent.get_mut(&print) {
            None => {
                self.recent.insert(print, Seqs::One(seq));
            }
            Some(Seqs::One(first)) => {
                let first = *first;
                self.recent.insert(print, Seqs::Many(vec![first, seq]));
            }
            Some(Seqs::Many(seqs)) => seqs.push(seq),
        }
    }

    /// The entries that may hold an event id with fingerprint `print`, ascending: every entry
    /// that holds it is among them.
    pub(crate) fn candidates(&self, print: u64) -> Vec<u64> {
        let mut found: Vec<u64> = self
            .merged
            .with_print(print)
            .iter()
            .map(|&(_, seq)| seq)
            .collect();
        match self.recent.get(&print) {
            Some(Seqs::One(seq)) => found.push(*seq),
            Some(Seqs::Many(seqs)) => found.extend_from_slice(seqs),
            None => {}
        }
        found.sort_unstable();
        found
    }

    /// Whether entry `seq` is indexed under fingerprint `print`.
    pub(crate) fn holds(&self, print: u64, seq: u64) -> bool {
        self.merged
            .with_print(print)
            .binary_search(&(print, seq))
            .is_ok()
            || match self.recent.get(&print) {
                Some(Seqs::One(one)) => *one == seq,
                Some(Seqs::Many(seqs)) => seqs.contains(&seq),
                None => false,
            }
    }

    /// The sorted part (shared) and the pairs added since, for a snapshot writer to merge.
    pub(crate) fn snapshot_parts(&self) -> (SortedPairs, Vec<(u64, u64)>) {
        let mut recent = Vec::with_capacity(self.recent_count as usize);
        for (&print, seqs) in &self.recent {
            match seqs {
                Seqs::One(seq) => recent.push((print, *seq)),
                Seqs::Many(seqs) => recent.extend(seqs.iter().map(|&seq| (print, seq))),
            }
        }
        (self.merged.pairs.clone(), recent)
    }

    /// Take `merged`, the sorted pairs of every entry before `size` (a snapshot's), as the
    /// sorted part, keeping only the later entries apart.
    pub(crate) fn adopt(&mut self, merged: SortedIndex, size: u64) {
        self.merged = merged;
        self.recent.retain(|_, seqs| match seqs {
            Seqs::One(seq) => *seq >= size,
            Seqs::Many(seqs) => {
                seqs.retain(|&seq| seq >= size);
                !seqs.is_empty()
            }
        });
        self.recent_count = self
            .recent
            .values()
            .map(|seqs| match seqs {
                Seqs::One(_) => 1,
                Seqs::Many(seqs) => seqs.len() as u64,
            })
            .sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a snapshot does to the index: all of it sorted, nothing apart.
    fn merge(index: &mut EventIndex) {
        let (sorted, recent) = index.snapshot_parts();
        let mut all: Vec<(u64, u64)> = sorted.iter().copied().chain(recent).collect();
        all.sort_unstable();
        let size = all.iter().map(|&(_, seq)| seq + 1).max().unwrap_or(0);
        index.adopt(SortedIndex::new(all), size);
    }

    #[test]
    fn every_inserted_id_is_a_candidate_before_and_after_a_merge() {
        let mut index = EventIndex::default();
        for seq in 0..1000 {
            index.insert(&format!("id-{seq}"), seq);
        }
        assert_eq!(index.len(), 1000);
        assert_eq!(index.candidates(fingerprint("id-17")), vec![17]);
        merge(&mut index);
        assert_eq!(index.len(), 1000);
        assert!(index.recent.is_empty());
        for seq in 1000..1100 {
            index.insert(&format!("id-{seq}"), seq);
        }
        for seq in (0..1100).step_by(7) {
            assert_eq!(
                index.candidates(fingerprint(&format!("id-{seq}"))),
                vec![seq]
            );
        }
        assert_eq!(index.candidates(fingerprint("never")), Vec::<u64>::new());
    }

    #[test]
    fn a_shared_fingerprint_yields_every_entry_holding_it() {
        let mut index = EventIndex::default();
        let print = fingerprint("a");
        index.insert_fingerprint(print, 3);
        index.insert_fingerprint(print, 9);
        index.insert_fingerprint(print, 5);
        assert_eq!(index.candidates(fingerprint("a")), vec![3, 5, 9]);
        assert_eq!(index.len(), 3);
        merge(&mut index);
        index.insert_fingerprint(print, 11);
        assert_eq!(index.candidates(fingerprint("a")), vec![3, 5, 9, 11]);
        assert_eq!(
            *index.merged.pairs,
            vec![(print, 3), (print, 5), (print, 9)]
        );
    }

    #[test]
    fn the_fingerprint_is_the_first_eight_bytes_of_blake3_little_endian() {
        let hash = blake3::hash(b"01J0000000000000000000000A");
        let expected = u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap());
        assert_eq!(fingerprint("01J0000000000000000000000A"), expected);
    }
}

#[cfg(test)]
mod bucket_tests {
    use super::*;

    /// Every pair with fingerprint `print`, found by reading the whole list.
    fn scanned(pairs: &[(u64, u64)], print: u64) -> Vec<u64> {
        pairs
            .iter()
            .filter(|&&(p, _)| p == print)
            .map(|&(_, seq)| seq)
            .collect()
    }

    /// Fingerprints at both ends of the range, in the same bucket and at bucket edges, shared
    /// by several entries or absent: the table's lookups give what a scan gives.
    #[test]
    fn lookups_through_the_table_find_what_a_scan_finds() {
        let mut prints: Vec<u64> = (0..5000u64).map(|n| fingerprint(&n.to_string())).collect();
        prints.extend([0, 0, 1, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1]);
        prints.extend(prints[..40].to_vec());
        let mut pairs: Vec<(u64, u64)> = prints
            .iter()
            .enumerate()
            .map(|(seq, &print)| (print, seq as u64))
            .collect();
        pairs.sort_unstable();
        let index = EventIndex::from_sorted(pairs.clone());
        assert_eq!(index.merged.starts.bits, 10, "about four pairs a bucket");
        let absent = [2, u64::MAX - 2, 1 << 62, fingerprint("absent")];
        for &print in prints.iter().chain(&absent) {
            let expected = scanned(&pairs, print);
            assert_eq!(index.candidates(print), expected, "fingerprint {print:#x}");
            for &(_, seq) in pairs.iter().filter(|&&(p, _)| p == print) {
                assert!(index.holds(print, seq));
                assert!(!index.holds(print, seq + 100_000));
            }
        }
        for &print in &absent {
            assert!(index.candidates(print).is_empty());
        }
    }

    #[test]
    fn each_bucket_starts_at_its_first_fingerprint() {
        let pairs: Vec<(u64, u64)> = [0u64, 1 << 62, 1 << 62, 3 << 62, u64::MAX, u64::MAX]
            .iter()
            .chain(&[u64::MAX; 2])
            .enumerate()
            .map(|(seq, &print)| (print, seq as u64))
            .collect();
        let buckets = Buckets::over(&pairs);
        assert_eq!(buckets.bits, 1);
        assert_eq!(*buckets.starts, vec![0, 3, 8]);
        assert_eq!(buckets.range(1 << 62, pairs.len()), 0..3);
        assert_eq!(buckets.range(1 << 63, pairs.len()), 3..8);
        // No fingerprint in the upper half: its bucket is empty, and starts at the end.
        let low: Vec<(u64, u64)> = (0..8).map(|n| (n, n)).collect();
        assert_eq!(*Buckets::over(&low).starts, vec![0, 8, 8]);
        // Too short a list for a table: every lookup searches all of it.
        let short = Buckets::over(&pairs[..7]);
        assert_eq!(short.bits, 0);
        assert_eq!(short.range(u64::MAX, 7), 0..7);
    }
}

#[cfg(test)]
mod merge_tests {
    use super::*;

    #[test]
    fn merging_keeps_every_pair_in_order() {
        let sorted = vec![(1, 0), (4, 2), (4, 3), (9, 1)];
        let unsorted = vec![(5, 6), (0, 4), (4, 5), (9, 7)];
        assert_eq!(
            merge_sorted(sorted, unsorted),
            vec![
                (0, 4),
                (1, 0),
                (4, 2),
                (4, 3),
                (4, 5),
                (5, 6),
                (9, 1),
                (9, 7)
            ]
        );
        assert_eq!(
            merge_sorted(Vec::new(), vec![(3, 1), (2, 0)]),
            vec![(2, 0), (3, 1)]
        );
        assert_eq!(
            merge_sorted(vec![(2, 0), (3, 1)], Vec::new()),
            vec![(2, 0), (3, 1)]
        );
    }
}

#[cfg(test)]
mod adopt_tests {
    use super::*;

    /// Entries appended while a snapshot was being written stay apart and findable.
    #[test]
    fn adopting_a_snapshot_keeps_what_came_after_it() {
        let mut index = EventIndex::default();
        for seq in 0..10 {
            index.insert(&format!("id-{seq}"), seq);
        }
        let (sorted, mut recent) = index.snapshot_parts();
        assert!(sorted.is_empty());
        for seq in 10..15 {
            index.insert(&format!("id-{seq}"), seq);
        }
        recent.sort_unstable();
        index.adopt(SortedIndex::new(recent), 10);
        assert_eq!(index.len(), 15);
        assert_eq!(index.merged.len(), 10);
        for seq in 0..15 {
            assert_eq!(
                index.candidates(fingerprint(&format!("id-{seq}"))),
                vec![seq]
            );
            assert!(index.holds(fingerprint(&format!("id-{seq}")), seq));
        }
    }

    /// Two entries sharing a fingerprint: a snapshot that covers both drops them from the
    /// recent part, one that covers neither keeps both (the shared list is neither lost nor
    /// kept empty).
    #[test]
    fn adopting_a_snapshot_settles_a_shared_fingerprint_as_a_whole() {
        for (size, recent_left) in [(2, 0), (0, 2)] {
            let mut index = EventIndex::default();
            index.insert_fingerprint(42, 0);
            index.insert_fingerprint(42, 1);
            let (_, mut pairs) = index.snapshot_parts();
            pairs.sort_unstable();
            let merged = if size == 0 { vec![] } else { pairs };
            index.adopt(SortedIndex::new(merged), size);
            assert_eq!(index.recent_count, recent_left, "snapshot at {size}");
            assert_eq!(index.recent.len(), usize::from(recent_left > 0));
            assert_eq!(index.candidates(42), vec![0, 1], "snapshot at {size}");
        }
    }
}
