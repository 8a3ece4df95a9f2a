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
    let mut merged = Vec::with_capacity(sorted.len() + unsorted.len());
    let (mut left, mut right) = (
        sorted.into_iter().peekable(),
        unsorted.into_iter().peekable(),
    );
    loop {
        let next = match (left.peek(), right.peek()) {
            (Some(a), Some(b)) if a <= b => left.next(),
            (Some(_), Some(_)) | (None, Some(_)) => right.next(),
            (Some(_), None) => left.next(),
            (None, None) => break,
        };
        merged.extend(next);
    }
    merged
}

/// Fingerprint to sequence numbers, for entries `0..size`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EventIndex {
    /// Sorted by fingerprint, then sequence number: the entries up to the last snapshot or open
    /// (shared with the snapshot writer, which merges a copy of `recent` into a new one).
    merged: SortedPairs,
    /// The entries since, with room for fingerprints shared by several entries.
    recent: HashMap<u64, Seqs>,
    recent_count: u64,
}

/// Fingerprint and sequence number pairs, ascending, shared between the index and a snapshot
/// writer.
pub(crate) type SortedPairs = Arc<Vec<(u64, u64)>>;

/// The entries sharing one fingerprint: almost always one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seqs {
    One(u64),
    Many(Vec<u64>),
}

impl EventIndex {
    /// An index over `pairs` (fingerprint, sequence number), sorted.
    pub(crate) fn from_sorted(pairs: Vec<(u64, u64)>) -> Self {
        debug_assert!(pairs.is_sorted());
        Self {
            merged: Arc::new(pairs),
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
        let start = self.merged.partition_point(|&(p, _)| p < print);
        let mut found: Vec<u64> = self.merged[start..]
            .iter()
            .take_while(|&&(p, _)| p == print)
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
        self.merged.binary_search(&(print, seq)).is_ok()
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
        (self.merged.clone(), recent)
    }

    /// Take `merged`, the sorted pairs of every entry before `size` (a snapshot's), as the
    /// sorted part, keeping only the later entries apart.
    pub(crate) fn adopt(&mut self, merged: SortedPairs, size: u64) {
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
        index.adopt(Arc::new(all), size);
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
        assert_eq!(*index.merged, vec![(print, 3), (print, 5), (print, 9)]);
    }

    #[test]
    fn the_fingerprint_is_the_first_eight_bytes_of_blake3_little_endian() {
        let hash = blake3::hash(b"01J0000000000000000000000A");
        let expected = u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap());
        assert_eq!(fingerprint("01J0000000000000000000000A"), expected);
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
        index.adopt(Arc::new(recent), 10);
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
}
