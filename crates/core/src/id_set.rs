//! A set of ids that only grows, shaped so that loading a large one is cheap.
//!
//! Validation keeps every action id it has accepted (an action id is refused a second time),
//! and with eight actions to a commitment that is most of the state: 8 million ids at 10
//! million entries. Decoded into a persistent tree, every id cost an allocation and a tree
//! insertion, about 0.4 µs each, so loading the state from a snapshot took seconds. An
//! [`IdSet`] instead holds the ids it was loaded with as one sorted block of text (read in one
//! pass, no allocation per id, searched by bisection once a guide of every sixteenth id
//! narrows the search) and only the ids inserted since in a persistent set, so copies stay
//! cheap for the snapshot writer and loading is a copy.
//!
//! Its serde form is a sequence of the ids in ascending order (the form of a persistent set of
//! strings). Loading refuses ids out of order or repeated, so a set read back is exact.

use crate::id_guide::Guide;
use imbl::OrdSet;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::iter::Peekable;
use std::sync::Arc;

/// A set of strings that only grows: the ids it was loaded with, sorted in one block, and those
/// inserted since.
#[derive(Clone, Default)]
pub struct IdSet {
    /// Shared between copies; never changes once loaded.
    loaded: Arc<SortedIds>,
    /// Inserted since loading; none of them is in `loaded`.
    added: OrdSet<String>,
}

impl IdSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.added.contains(id) || self.loaded.contains(id)
    }

    /// Add `id`; false when it was already in the set.
    pub fn insert(&mut self, id: String) -> bool {
        if self.loaded.contains(&id) {
            return false;
        }
        self.added.insert(id).is_none()
    }

    pub fn len(&self) -> usize {
        self.loaded.len() + self.added.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every id, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        Merge {
            loaded: self.loaded.iter().peekable(),
            added: self.added.iter().map(String::as_str).peekable(),
        }
    }
}

impl FromIterator<String> for IdSet {
    fn from_iter<T: IntoIterator<Item = String>>(ids: T) -> Self {
        let mut set = Self::new();
        for id in ids {
            set.insert(id);
        }
        set
    }
}

impl PartialEq for IdSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for IdSet {}

impl fmt::Debug for IdSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for IdSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        // Counted up front: some formats (postcard's) need a sequence's length before it.
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for id in self.iter() {
            seq.serialize_element(id)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for IdSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let loaded = deserializer.deserialize_seq(SortedIdsVisitor)?;
        Ok(Self {
            loaded: Arc::new(loaded),
            added: OrdSet::new(),
        })
    }
}

/// Ids in ascending order, each once, as one text and where each ends.
#[derive(Default)]
struct SortedIds {
    text: String,
    /// Id `i` is `text[ends[i - 1]..ends[i]]` (from 0 for the first).
    ends: Vec<usize>,
    /// Made once the ids are all in ([`SortedIds::guided`]).
    guide: Guide,
}

impl SortedIds {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, index: usize) -> &str {
        let start = match index {
            0 => 0,
            _ => self.ends[index - 1],
        };
        &self.text[start..self.ends[index]]
    }

    fn contains(&self, id: &str) -> bool {
        let range = self.guide.narrow(id, self.len());
        let (mut low, mut high) = (range.start, range.end);
        while low < high {
            let middle = low + (high - low) / 2;
            match self.get(middle).cmp(id) {
                Ordering::Less => low = middle + 1,
                Ordering::Greater => high = middle,
                Ordering::Equal => return true,
            }
        }
        false
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|index| self.get(index))
    }

    /// These ids with their guide, once no more will be pushed.
    fn guided(mut self) -> Self {
        let guide = Guide::new(self.len(), |index| self.get(index));
        self.guide = guide;
        self
    }

    /// Append `id`, which must sort after every id already here.
    fn push(&mut self, id: &str) -> Result<(), String> {
        if let Some(last) = self.len().checked_sub(1).map(|index| self.get(index))
            && last >= id
        {
            return Err(format!(
                "id set out of order: {id:?} follows {last:?} (ids must ascend, each once)"
            ));
        }
        self.text.push_str(id);
        self.ends.push(self.text.len());
        Ok(())
    }
}

/// Two ascending, disjoint sequences of ids merged into one.
struct Merge<'a, L: Iterator<Item = &'a str>, A: Iterator<Item = &'a str>> {
    loaded: Peekable<L>,
    added: Peekable<A>,
}

impl<'a, L: Iterator<Item = &'a str>, A: Iterator<Item = &'a str>> Iterator for Merge<'a, L, A> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match (self.loaded.peek(), self.added.peek()) {
            (Some(loaded), Some(added)) if added < loaded => self.added.next(),
            (Some(_), _) => self.loaded.next(),
            (None, _) => self.added.next(),
        }
    }
}

struct SortedIdsVisitor;

impl<'de> Visitor<'de> for SortedIdsVisitor {
    type Value = SortedIds;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence of ids in ascending order")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<SortedIds, S::Error> {
        let mut ids = SortedIds::default();
        while seq.next_element_seed(AppendId(&mut ids))?.is_some() {}
        Ok(ids.guided())
    }
}

/// Reads one id straight onto the end of a [`SortedIds`], without a string of its own.
struct AppendId<'a>(&'a mut SortedIds);

impl<'de> DeserializeSeed<'de> for AppendId<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for AppendId<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an id")
    }

    fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<(), E> {
        self.0.push(id).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    /// A set loaded from `names` (so they sit in the sorted block), as a snapshot gives it.
    fn loaded(names: &[&str]) -> IdSet {
        let bytes = postcard::to_allocvec(&ids(names)).expect("encode");
        postcard::from_bytes(&bytes).expect("decode")
    }

    #[test]
    fn loaded_and_added_ids_are_found_and_listed_in_order() {
        let mut set = loaded(&["a-1", "a-3", "a-5", "b", "c\u{e9}"]);
        assert_eq!(set.len(), 5);
        for id in ["a-1", "a-3", "a-5", "b", "c\u{e9}"] {
            assert!(set.contains(id), "{id} was loaded");
        }
        for id in ["", "a", "a-0", "a-2", "a-4", "a-6", "a-1 ", "ba", "c", "d"] {
            assert!(!set.contains(id), "{id} was not loaded");
        }
        assert!(set.insert("a-2".to_owned()));
        assert!(set.insert("0".to_owned()));
        assert!(set.insert("z".to_owned()));
        assert!(!set.insert("a-3".to_owned()), "loaded already");
        assert!(!set.insert("a-2".to_owned()), "added already");
        assert!(set.contains("a-2") && set.contains("0") && set.contains("z"));
        assert_eq!(set.len(), 8);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            ["0", "a-1", "a-2", "a-3", "a-5", "b", "c\u{e9}", "z"]
        );
    }

    /// Ids that differ early and ids alike for longer than the guide's prefix, where the
    /// guide narrows nothing and the bisection does it all.
    #[test]
    fn every_id_of_a_large_loaded_set_is_found_by_bisection() {
        for stem in ["action-", "department-for-culture-media-and-sport-action-"] {
            let names: Vec<String> = (0..1000).map(|n| format!("{stem}{n:05}")).collect();
            let set: IdSet = {
                let bytes = postcard::to_allocvec(&names).expect("encode");
                postcard::from_bytes(&bytes).expect("decode")
            };
            for name in &names {
                assert!(set.contains(name), "{name}");
                assert!(!set.contains(&format!("{name}x")), "{name}x");
            }
            assert!(!set.contains(stem));
            assert!(!set.contains(&format!("{stem}99999")));
            assert!(!set.contains("a"));
            assert!(!set.contains("z"));
        }
    }

    #[test]
    fn a_set_reads_back_as_it_was_written_wherever_its_ids_sit() {
        let mut set = loaded(&["b", "d"]);
        set.insert("c".to_owned());
        set.insert("a".to_owned());
        let bytes = postcard::to_allocvec(&set).expect("encode");
        let back: IdSet = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(back, set);
        assert_eq!(back.iter().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
        // The same bytes as a persistent set of strings: the form the snapshot always had.
        let plain: OrdSet<String> = ids(&["a", "b", "c", "d"]).into_iter().collect();
        assert_eq!(bytes, postcard::to_allocvec(&plain).expect("encode"));
        let inserted: IdSet = ids(&["d", "a", "c", "b"]).into_iter().collect();
        assert_eq!(inserted, set, "equal whatever part holds the ids");
        assert_ne!(inserted, loaded(&["a", "b", "c"]));
        assert_ne!(loaded(&["a", "b", "c"]), loaded(&["a", "b", "d"]));
        assert_eq!(format!("{set:?}"), r#"{"a", "b", "c", "d"}"#);
    }

    #[test]
    fn ids_out_of_order_or_repeated_are_refused_with_both_named() {
        for names in [&["a", "c", "b"][..], &["a", "a"]] {
            let bytes = postcard::to_allocvec(&ids(names)).expect("encode");
            let error = postcard::from_bytes::<IdSet>(&bytes).expect_err("refused");
            assert!(matches!(error, postcard::Error::SerdeDeCustom), "{error}");
        }
        let json = serde_json::from_str::<IdSet>(r#"["a", "c", "b"]"#).expect_err("refused");
        assert!(
            json.to_string()
                .contains(r#"id set out of order: "b" follows "c""#),
            "{json}"
        );
        let repeated = serde_json::from_str::<IdSet>(r#"["a", "a"]"#).expect_err("refused");
        assert!(
            repeated.to_string().contains(r#""a" follows "a""#),
            "{repeated}"
        );
        assert_eq!(
            serde_json::from_str::<IdSet>(r#"["", "a"]"#)
                .expect("ascending")
                .len(),
            2
        );
        let not_text = serde_json::from_str::<IdSet>("[1]").expect_err("refused");
        assert!(
            not_text.to_string().contains("expected an id"),
            "{not_text}"
        );
        let not_a_list = serde_json::from_str::<IdSet>(r#""a""#).expect_err("refused");
        assert!(
            not_a_list
                .to_string()
                .contains("expected a sequence of ids in ascending order"),
            "{not_a_list}"
        );
    }

    #[test]
    fn an_empty_set_is_empty() {
        let mut set = IdSet::new();
        assert!(set.is_empty());
        assert!(!set.contains(""));
        assert!(loaded(&[]).is_empty());
        set.insert(String::new());
        assert!(!set.is_empty());
        assert!(set.contains(""));
    }
}
