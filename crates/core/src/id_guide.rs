//! A guide to a large sorted block of ids, so that looking one up reads a few cache lines
//! instead of one or two for every step of a bisection.
//!
//! [`crate::id_set::IdSet`] and [`crate::id_map::IdMap`] keep the ids they were loaded with in
//! one sorted block. At ten million entries that block holds 8 million action ids (about 200
//! MB with their ends), and a bisection's 23 steps mostly read memory the cache does not hold:
//! about 1.4 µs a lookup, which every new action pays twice (validation asks, then the insert
//! asks again), and a restart for each of the up to a million entries it applies after its
//! snapshot. The guide keeps the first [`PREFIX`] bytes of every [`STRIDE`]th id in a flat
//! array, and the same of every `STRIDE`th entry of that array in another, and so on up to an
//! array of at most `STRIDE` entries: a lookup narrows the search level by level, each time to
//! a couple of dozen neighbouring entries, and ends bisecting a few neighbouring ids.

use std::ops::Range;

/// Every `STRIDE`th id of the block, and every `STRIDE`th entry of each level, has an entry in
/// the level above.
pub(crate) const STRIDE: usize = 16;

/// Bytes of each id the guide keeps: longer ids are cut, shorter ones padded with zeros.
pub(crate) const PREFIX: usize = 16;

/// The first [`PREFIX`] bytes of `id`, padded with zeros. Ordered as the ids are, up to ties:
/// `a < b` gives `prefix(a) <= prefix(b)` (a zero pads where an id ends, and no byte is less
/// than zero), so the guide never orders two ids the other way round.
fn prefix(id: &str) -> [u8; PREFIX] {
    let mut prefix = [0; PREFIX];
    let kept = id.len().min(PREFIX);
    prefix[..kept].copy_from_slice(&id.as_bytes()[..kept]);
    prefix
}

/// The guide to a block of ids in ascending order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Guide {
    /// `levels[0]` holds the prefixes of ids `0, STRIDE, 2 * STRIDE, ...` of the block; each
    /// level after it every `STRIDE`th entry of the one before; the last at most `STRIDE`.
    levels: Vec<Vec<[u8; PREFIX]>>,
}

impl Guide {
    /// The guide to the `len` ids `id(0) .. id(len - 1)`, which ascend.
    pub(crate) fn new<'a>(len: usize, id: impl Fn(usize) -> &'a str) -> Self {
        let mut levels = Vec::new();
        let mut level: Vec<[u8; PREFIX]> = (0..len)
            .step_by(STRIDE)
            .map(|index| prefix(id(index)))
            .collect();
        while level.len() > STRIDE {
            let above = level.iter().step_by(STRIDE).copied().collect();
            levels.push(std::mem::replace(&mut level, above));
        }
        if len > 0 {
            levels.push(level);
        }
        Self { levels }
    }

    /// The positions of the block where `id` can be: every id before them is less than it
    /// and every id from their end on is greater. `len` is the block's length.
    /// A guide not made for the block (the default) narrows nothing.
    pub(crate) fn narrow(&self, id: &str, len: usize) -> Range<usize> {
        let Some(top) = self.levels.last() else {
            return 0..len;
        };
        let key = prefix(id);
        let mut within = 0..top.len();
        for (depth, level) in self.levels.iter().enumerate().rev() {
            let below = match depth {
                0 => len,
                depth => self.levels[depth - 1].len(),
            };
            within = step(level, key, within, below);
        }
        within
    }
}

/// One level's narrowing: `within` are the entries of `level` where the key's place can be
/// (every entry before them belongs to a smaller id, every one from their end on to a
/// greater), and the answer the same for the `below` entries of the level under it (or the
/// block's ids).
fn step(
    level: &[[u8; PREFIX]],
    key: [u8; PREFIX],
    within: Range<usize>,
    below: usize,
) -> Range<usize> {
    let end = within.end;
    let smaller = within.start + level[within].partition_point(|entry| *entry < key);
    // Entries equal to the key (ids alike in their first PREFIX bytes) lie from `smaller` on;
    // mostly there are none, and one look says so.
    let greater = match level[smaller..end].first() {
        Some(entry) if *entry <= key => {
            smaller + 1 + level[smaller + 1..end].partition_point(|entry| *entry <= key)
        }
        _ => smaller,
    };
    let start = match smaller {
        0 => 0,
        smaller => (smaller - 1) * STRIDE + 1,
    };
    start..(greater * STRIDE).min(below)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `id` is in `ids`, or where it would go, always falls inside the narrowed range,
    /// whether the ids share long prefixes, are short, or `id` lies before or after them all.
    #[test]
    fn the_narrowed_range_holds_every_id_and_the_place_of_every_other() {
        let mut ids: Vec<String> = (0..300)
            .map(|n| format!("dept-for-culture-media-and-sport-{n:03}"))
            .chain((0..300).map(|n| format!("a{n}")))
            .chain((0..40).map(|n| "x".repeat(n + 1)))
            .chain(["", "b"].map(str::to_owned))
            .collect();
        ids.sort();
        ids.dedup();
        for len in [0, 1, STRIDE - 1, STRIDE, STRIDE + 1, ids.len()] {
            let block = &ids[..len];
            let guide = Guide::new(len, |index| block[index].as_str());
            assert_eq!(
                guide.levels.first().map_or(0, Vec::len),
                len.div_ceil(STRIDE)
            );
            assert!(guide.levels.last().is_none_or(|top| top.len() <= STRIDE));
            let probes = block
                .iter()
                .cloned()
                .chain(block.iter().map(|id| format!("{id}0")))
                .chain(["", " ", "a", "dept", "zzz", "x"].map(str::to_owned));
            for probe in probes {
                let range = guide.narrow(&probe, len);
                let place = block.partition_point(|id| id.as_str() < probe.as_str());
                assert!(range.end <= len, "{probe:?}: {range:?} past {len}");
                let inside = match block.get(place) {
                    Some(id) if *id == probe => range.contains(&place),
                    _ => range.start <= place && place <= range.end,
                };
                assert!(inside, "{probe:?} at {place} of {len}, outside {range:?}");
            }
        }
    }

    /// With ids that differ within the prefix, the range is the ids strictly between two
    /// guide entries, and two strides less one when the id is a guide entry itself: what
    /// makes a lookup cheap.
    #[test]
    fn distinct_prefixes_narrow_to_the_ids_between_two_guide_entries() {
        let ids: Vec<String> = (0..10_000).map(|n| format!("c-{n:06}")).collect();
        let len = ids.len();
        let guide = Guide::new(len, |index| ids[index].as_str());
        for (place, id) in ids.iter().enumerate() {
            let stride = place / STRIDE;
            let expected = match (place % STRIDE, stride) {
                (0, 0) => 0..STRIDE,
                (0, _) => (stride - 1) * STRIDE + 1..((stride + 1) * STRIDE).min(len),
                _ => stride * STRIDE + 1..((stride + 1) * STRIDE).min(len),
            };
            assert_eq!(guide.narrow(id, len), expected, "{id} at {place}");
        }
        assert_eq!(guide.narrow("c-", len), 0..0, "before them all");
        assert_eq!(
            guide.narrow("d", len),
            len - STRIDE + 1..len,
            "after them all"
        );
    }

    #[test]
    fn a_guide_not_made_narrows_nothing() {
        assert_eq!(Guide::default().narrow("c-1", 5), 0..5);
        assert_eq!(Guide::new(0, |_| "").narrow("c-1", 0), 0..0);
    }

    #[test]
    fn prefixes_cut_and_pad() {
        assert_eq!(prefix(""), [0; PREFIX]);
        assert_eq!(&prefix("ab")[..3], b"ab\0");
        assert_eq!(prefix(&"y".repeat(PREFIX + 5)), [b'y'; PREFIX]);
        assert!(prefix("ab") < prefix("ab0"));
        assert!(prefix("a") < prefix("b"));
    }
}
