//! A map from ids that never loses an entry, shaped so that loading a large one is cheap.
//!
//! Validation keeps a record of every commitment made (its owner, whether it was withdrawn,
//! its outcomes): a million of them at 10 million entries of a typical log. Decoded into a
//! persistent tree, each cost a tree insertion on top of its allocations, and loading them was
//! most of the time a restart spends on the validation state. An [`IdMap`] holds the entries
//! it was loaded with in one sorted vector (searched by bisection once a guide of every
//! sixteenth id narrows the search, as [`crate::id_set::IdSet`]'s) and only the entries
//! inserted or replaced since in a persistent map, so copies stay cheap for the snapshot
//! writer and loading is a push per entry. It is [`crate::id_set::IdSet`]'s counterpart for
//! ids that carry a value.
//!
//! Its serde form is a map in ascending order of id (the form of a persistent map from
//! strings). Loading refuses ids out of order or repeated, so a map read back is exact.

use crate::id_guide::Guide;
use imbl::OrdMap;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::iter::Peekable;
use std::marker::PhantomData;
use std::sync::Arc;

/// A map from ids whose entries are replaced but never removed: those it was loaded with, in
/// one sorted vector, and those inserted or replaced since.
#[derive(Clone)]
pub struct IdMap<V: Clone> {
    /// Shared between copies; never changes once loaded.
    loaded: Arc<Loaded<V>>,
    /// Inserted or replaced since loading; an id here hides the same id in `loaded`.
    added: OrdMap<String, V>,
    /// How many ids of `added` are not in `loaded`.
    new_ids: usize,
}

/// The entries a map was loaded with: ascending by id, each once, and their guide.
struct Loaded<V> {
    entries: Vec<(String, V)>,
    guide: Guide,
}

impl<V> Loaded<V> {
    fn new(entries: Vec<(String, V)>) -> Self {
        let guide = Guide::new(entries.len(), |index| entries[index].0.as_str());
        Self { entries, guide }
    }
}

impl<V> Default for Loaded<V> {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl<V: Clone> Default for IdMap<V> {
    fn default() -> Self {
        Self {
            loaded: Arc::default(),
            added: OrdMap::new(),
            new_ids: 0,
        }
    }
}

impl<V: Clone> IdMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, id: &str) -> Option<&V> {
        self.added.get(id).or_else(|| {
            self.loaded_index(id)
                .map(|index| &self.loaded.entries[index].1)
        })
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Set the value of `id`, adding it or replacing what it had.
    pub fn insert(&mut self, id: String, value: V) {
        let loaded = self.loaded_index(&id).is_some();
        if self.added.insert(id, value).is_none() && !loaded {
            self.new_ids += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.loaded.entries.len() + self.new_ids
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry with its current value, in ascending order of id.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        Merge {
            loaded: self
                .loaded
                .entries
                .iter()
                .map(|(id, value)| (id, value))
                .peekable(),
            added: self.added.iter().peekable(),
        }
    }

    /// Every current value, in ascending order of id.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, value)| value)
    }

    fn loaded_index(&self, id: &str) -> Option<usize> {
        let range = self.loaded.guide.narrow(id, self.loaded.entries.len());
        let start = range.start;
        self.loaded.entries[range]
            .binary_search_by(|(loaded, _)| loaded.as_str().cmp(id))
            .ok()
            .map(|index| start + index)
    }
}

impl<V: Clone> std::ops::Index<&str> for IdMap<V> {
    type Output = V;

    fn index(&self, id: &str) -> &V {
        match self.get(id) {
            Some(value) => value,
            None => panic!("no entry for {id:?}"),
        }
    }
}

impl<V: Clone + PartialEq> PartialEq for IdMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<V: Clone + Eq> Eq for IdMap<V> {}

impl<V: Clone + fmt::Debug> fmt::Debug for IdMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: Clone + Serialize> Serialize for IdMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        // Counted up front: some formats (postcard's) need a map's length before it.
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (id, value) in self.iter() {
            map.serialize_entry(id, value)?;
        }
        map.end()
    }
}

impl<'de, V: Clone + Deserialize<'de>> Deserialize<'de> for IdMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let loaded = deserializer.deserialize_map(SortedEntriesVisitor(PhantomData))?;
        Ok(Self {
            loaded: Arc::new(Loaded::new(loaded)),
            added: OrdMap::new(),
            new_ids: 0,
        })
    }
}

/// Two ascending sequences of entries merged into one; on an id in both, `added`'s value.
struct Merge<'a, V: 'a, L, A>
where
    L: Iterator<Item = (&'a String, &'a V)>,
    A: Iterator<Item = (&'a String, &'a V)>,
{
    loaded: Peekable<L>,
    added: Peekable<A>,
}

impl<'a, V: 'a, L, A> Iterator for Merge<'a, V, L, A>
where
    L: Iterator<Item = (&'a String, &'a V)>,
    A: Iterator<Item = (&'a String, &'a V)>,
{
    type Item = (&'a String, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.loaded.peek(), self.added.peek()) {
            (Some((loaded, _)), Some((added, _))) => added.cmp(loaded),
            (Some(_), None) => Ordering::Greater,
            (None, _) => return self.added.next(),
        };
        match order {
            Ordering::Less => self.added.next(),
            Ordering::Equal => {
                self.loaded.next();
                self.added.next()
            }
            Ordering::Greater => self.loaded.next(),
        }
    }
}

struct SortedEntriesVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for SortedEntriesVisitor<V> {
    type Value = Vec<(String, V)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of ids in ascending order")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        // Not sized from the declared length: a damaged length must not reserve memory.
        let mut entries: Vec<(String, V)> = Vec::new();
        while let Some((id, value)) = map.next_entry::<String, V>()? {
            if let Some((last, _)) = entries.last()
                && *last >= id
            {
                return Err(serde::de::Error::custom(format!(
                    "id map out of order: {id:?} follows {last:?} (ids must ascend, each once)"
                )));
            }
            entries.push((id, value));
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(entries: &[(&str, u32)]) -> IdMap<u32> {
        let mut map = IdMap::new();
        for (id, value) in entries {
            map.insert(id.to_string(), *value);
        }
        postcard::from_bytes(&postcard::to_allocvec(&map).unwrap()).unwrap()
    }

    fn listed(map: &IdMap<u32>) -> Vec<(String, u32)> {
        map.iter().map(|(id, value)| (id.clone(), *value)).collect()
    }

    #[test]
    fn loaded_added_and_replaced_entries_are_found_and_listed_in_order() {
        let mut map = loaded(&[("b", 2), ("d", 4), ("f", 6)]);
        assert_eq!(map.len(), 3);
        map.insert("a".into(), 1);
        map.insert("e".into(), 5);
        map.insert("d".into(), 40);
        map.insert("g".into(), 7);
        map.insert("g".into(), 70);
        assert_eq!(map.len(), 6, "a replaced entry is counted once");
        assert!(!map.is_empty());
        assert_eq!(
            listed(&map),
            [("a", 1), ("b", 2), ("d", 40), ("e", 5), ("f", 6), ("g", 70)]
                .map(|(id, value)| (id.to_owned(), value))
        );
        assert_eq!(
            map.values().copied().collect::<Vec<_>>(),
            [1, 2, 40, 5, 6, 70]
        );
        assert_eq!(map.get("d"), Some(&40));
        assert_eq!(map.get("b"), Some(&2));
        assert_eq!(map["f"], 6);
        assert_eq!(map.get("c"), None);
        assert!(map.contains_key("a") && map.contains_key("f") && !map.contains_key("h"));
        assert!(IdMap::<u32>::new().is_empty());
    }

    /// Ids that differ early and ids alike for longer than the guide's prefix, where the
    /// guide narrows nothing and the bisection does it all.
    #[test]
    fn every_entry_of_a_large_loaded_map_is_found_by_bisection() {
        for stem in ["c-", "covenant-council-commitment-"] {
            let entries: Vec<(String, u32)> = (0..1_000u32)
                .map(|n| (format!("{stem}{n:05}"), n))
                .collect();
            let borrowed: Vec<(&str, u32)> =
                entries.iter().map(|(id, n)| (id.as_str(), *n)).collect();
            let map = loaded(&borrowed);
            for (id, n) in &entries {
                assert_eq!(map.get(id), Some(n), "{id}");
            }
            let absent = ["", "00000a", "01000"].map(|tail| format!("{stem}{tail}"));
            for absent in absent.iter().map(String::as_str).chain(["b", "d"]) {
                assert_eq!(map.get(absent), None, "{absent}");
            }
        }
    }

    #[test]
    fn a_map_reads_back_as_it_was_written_and_as_a_persistent_map_would() {
        let mut map = loaded(&[("b", 2), ("d", 4)]);
        map.insert("a".into(), 1);
        map.insert("d".into(), 40);
        let bytes = postcard::to_allocvec(&map).unwrap();
        let persistent: OrdMap<String, u32> = [("a", 1u32), ("b", 2), ("d", 40)]
            .map(|(id, n)| (id.to_owned(), n))
            .into_iter()
            .collect();
        assert_eq!(bytes, postcard::to_allocvec(&persistent).unwrap());
        let again: IdMap<u32> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(again, map);
        assert_eq!(again.len(), 3);
        assert_ne!(again, loaded(&[("a", 1), ("b", 2), ("d", 4)]));
        assert_ne!(again, loaded(&[("a", 1), ("b", 2)]));
        assert_eq!(format!("{again:?}"), r#"{"a": 1, "b": 2, "d": 40}"#);
    }

    #[test]
    fn ids_out_of_order_or_repeated_are_refused_with_both_named() {
        for pairs in [&[("b", 1), ("a", 2)][..], &[("b", 1), ("b", 2)]] {
            // A sequence of pairs and a map have the same postcard bytes.
            let bytes = postcard::to_allocvec(pairs).expect("encode");
            let error = postcard::from_bytes::<IdMap<u32>>(&bytes).expect_err("refused");
            assert!(matches!(error, postcard::Error::SerdeDeCustom), "{error}");
        }
        let error = serde_json::from_str::<IdMap<u32>>(r#"{"b": 1, "a": 2}"#).unwrap_err();
        assert!(
            error
                .to_string()
                .contains(r#"id map out of order: "a" follows "b""#),
            "{error}"
        );
        let error = serde_json::from_str::<IdMap<u32>>(r#"{"b": 1, "b": 2}"#).unwrap_err();
        assert!(error.to_string().contains(r#""b" follows "b""#), "{error}");
        let not_a_map = serde_json::from_str::<IdMap<u32>>("[]").unwrap_err();
        assert!(
            not_a_map
                .to_string()
                .contains("expected a map of ids in ascending order"),
            "{not_a_map}"
        );
    }

    #[test]
    #[should_panic(expected = r#"no entry for "x""#)]
    fn indexing_an_absent_id_names_it() {
        let _ = loaded(&[("a", 1)])["x"];
    }
}
