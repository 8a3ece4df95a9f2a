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

/// The fingerprint of an event id: the first 8 bytes of its blake3 hash. Stable across
/// builds and platforms, because snapshots keep fingerprints on disk.
pub(crate) fn fingerprint(event_id: &str) -> u64 {
    let hash = blake3::hash(event_id.as_bytes());
    let mut first = [0; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// Fingerprint to sequence numbers, for entries `0..size`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EventIndex {
    /// Sorted by fingerprint, then sequence number: the entries up to the last merge.
    merged: Vec<(u64, u64)>,
    /// The entries since, with room for fingerprints shared by several entries.
    recent: HashMap<u64, Seqs>,
    recent_count: u64,
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
        debug_assert!(pairs.is_sorted());
        Self {
            merged: pairs,
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

    /// Fold the recent entries into the sorted part, which is what a snapshot writes.
    pub(crate) fn merge(&mut self) {
        if self.recent.is_empty() {
            return;
        }
        let mut recent: Vec<(u64, u64)> = Vec::with_capacity(self.recent_count as usize);
        for (&print, seqs) in &self.recent {
            match seqs {
                Seqs::One(seq) => recent.push((print, *seq)),
                Seqs::Many(seqs) => recent.extend(seqs.iter().map(|&seq| (print, seq))),
            }
        }
        recent.sort_unstable();
        let old = std::mem::take(&mut self.merged);
        let mut merged = Vec::with_capacity(old.len() + recent.len());
        let (mut a, mut b) = (old.into_iter().peekable(), recent.into_iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x <= y => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            merged.extend(next);
        }
        self.merged = merged;
        self.recent.clear();
        self.recent_count = 0;
    }

    /// The sorted pairs; call [`EventIndex::merge`] first for all of them.
    pub(crate) fn merged_pairs(&self) -> &[(u64, u64)] {
        &self.merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_inserted_id_is_a_candidate_before_and_after_a_merge() {
        let mut index = EventIndex::default();
        for seq in 0..1000 {
            index.insert(&format!("id-{seq}"), seq);
        }
        assert_eq!(index.len(), 1000);
        assert_eq!(index.candidates(fingerprint("id-17")), vec![17]);
        index.merge();
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
        index.merge();
        index.insert_fingerprint(print, 11);
        assert_eq!(index.candidates(fingerprint("a")), vec![3, 5, 9, 11]);
        assert_eq!(index.merged_pairs(), &[(print, 3), (print, 5), (print, 9)]);
    }

    #[test]
    fn the_fingerprint_is_the_first_eight_bytes_of_blake3_little_endian() {
        let hash = blake3::hash(b"01J0000000000000000000000A");
        let expected = u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap());
        assert_eq!(fingerprint("01J0000000000000000000000A"), expected);
    }
}
