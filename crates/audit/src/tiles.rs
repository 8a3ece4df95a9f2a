//! Checking served hash tiles against the tree recomputed from the entries.
//!
//! Leaves go in one at a time. Each level keeps the hashes of its current, unfinished tile;
//! when a level holds 256 hashes the served full tile must equal them, and their subtree hash
//! becomes the next hash one level up. At the end, the hashes left at each level must equal
//! the served partial tiles. Memory stays at most 8 KiB per level, whatever the log's size.

use crate::AuditError;
use covenant_core::merkle::{EMPTY_HASH, HASH_SIZE, Hash, TILE_WIDTH, Tile, tile_path};
use std::collections::HashMap;

const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * HASH_SIZE;

#[derive(Debug, Clone, Default)]
pub(crate) struct TileChecker {
    /// Concatenated hashes of the unfinished tile at each level.
    pending: Vec<Vec<u8>>,
    /// Leaves pushed so far.
    size: u64,
    /// Served tiles waiting for their hashes to be recomputed.
    served: HashMap<(u8, u64), (Tile, Vec<u8>), foldhash::fast::RandomState>,
    /// Tiles compared so far.
    pub checked: u64,
}

impl TileChecker {
    /// Resume with the unfinished tiles of a tree of `size` leaves.
    pub fn resume(size: u64, pending: Vec<Vec<u8>>) -> Option<Self> {
        let consistent = pending.iter().enumerate().all(|(level, hashes)| {
            let below = 1u64.checked_shl(8 * level as u32).unwrap_or(u64::MAX);
            hashes.len() as u64 == (size / below) % TILE_WIDTH * HASH_SIZE as u64
        });
        consistent.then(|| Self {
            pending,
            size,
            ..Self::default()
        })
    }

    pub fn pending(&self) -> &[Vec<u8>] {
        &self.pending
    }

    /// A tile as served, to compare once its hashes are known.
    pub fn serve(&mut self, tile: Tile, data: Vec<u8>) {
        self.served
            .insert((tile.level(), tile.level_index()), (tile, data));
    }

    /// The served level 0 tile that holds leaf `index`, if it was handed in.
    pub fn served_leaf_tile(&self, index: u64) -> Option<&(Tile, Vec<u8>)> {
        self.served.get(&(0, index / TILE_WIDTH))
    }

    pub fn push_leaf(&mut self, leaf: Hash) -> Result<(), AuditError> {
        self.size += 1;
        let mut hash = leaf;
        let mut level = 0usize;
        loop {
            if self.pending.len() == level {
                self.pending.push(Vec::with_capacity(FULL_TILE_BYTES));
            }
            self.pending[level].extend_from_slice(&hash.0);
            if self.pending[level].len() < FULL_TILE_BYTES {
                return Ok(());
            }
            let index = (self.size >> (8 * (level as u32 + 1))) - 1;
            let hashes = std::mem::take(&mut self.pending[level]);
            self.compare(level as u8, index, &hashes)?;
            hash = Tile::subtree_hash(&hashes);
            self.pending[level] = hashes;
            self.pending[level].clear();
            level += 1;
        }
    }

    /// The RFC 6962 root of the leaves pushed so far. Every unfinished hash at level `L` is the
    /// root of a perfect subtree of `256^L` leaves, so the tree's perfect subtrees (largest,
    /// leftmost first) are each level's hashes split by the binary digits of their count, from
    /// the top level down; the root folds them from the right.
    pub fn root(&self) -> Hash {
        let mut subtrees = Vec::new();
        for hashes in self.pending.iter().rev() {
            let count = hashes.len() / HASH_SIZE;
            let mut start = 0;
            for bit in (0..8).rev() {
                let width = 1usize << bit;
                if count & width != 0 {
                    let slice = &hashes[start * HASH_SIZE..(start + width) * HASH_SIZE];
                    subtrees.push(Tile::subtree_hash(slice));
                    start += width;
                }
            }
        }
        let mut from_the_right = subtrees.into_iter().rev();
        let Some(last) = from_the_right.next() else {
            return EMPTY_HASH;
        };
        from_the_right.fold(last, |right, left| tlog_tiles::node_hash(left, right))
    }

    /// Compare the partial tiles at the right edge of the tree.
    pub fn finish(&mut self) -> Result<(), AuditError> {
        for level in 0..self.pending.len() {
            if self.pending[level].is_empty() {
                continue;
            }
            let index = self.size >> (8 * (level as u32 + 1));
            let hashes = std::mem::take(&mut self.pending[level]);
            let result = self.compare(level as u8, index, &hashes);
            self.pending[level] = hashes;
            result?;
        }
        Ok(())
    }

    fn compare(&mut self, level: u8, index: u64, hashes: &[u8]) -> Result<(), AuditError> {
        let width = (hashes.len() / HASH_SIZE) as u32;
        let expected_tile = Tile::new(8, level, index, width, false);
        let Some((tile, data)) = self.served.remove(&(level, index)) else {
            return Err(AuditError::Missing {
                what: tile_path(&expected_tile),
            });
        };
        let path = tile_path(&tile);
        if tile.width() != width || data.len() != hashes.len() {
            return Err(AuditError::TileLength {
                path,
                expected: hashes.len(),
                found: data.len(),
            });
        }
        if let Some(position) = (0..width as usize).find(|&i| {
            data[i * HASH_SIZE..(i + 1) * HASH_SIZE] != hashes[i * HASH_SIZE..(i + 1) * HASH_SIZE]
        }) {
            return Err(AuditError::TileMismatch { path, position });
        }
        self.checked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::tiles_of;
    use covenant_core::merkle::{MemoryTree, hash_tile_data, leaf_hash};

    fn served(tree: &MemoryTree) -> Vec<(Tile, Vec<u8>)> {
        tiles_of(tree.size())
            .into_iter()
            .filter(|t| !t.is_data())
            .map(|t| {
                let data = hash_tile_data(&t, tree).unwrap();
                (t, data)
            })
            .collect()
    }

    fn tree(size: u64) -> MemoryTree {
        let mut tree = MemoryTree::new();
        (0..size).for_each(|i| tree.push(&i.to_be_bytes()));
        tree
    }

    #[test]
    fn honest_tiles_check_at_every_level() {
        let size = 256 * 256 + 3 * 256 + 7;
        let tree = tree(size);
        let mut checker = TileChecker::default();
        let tiles = served(&tree);
        let count = tiles.len() as u64;
        tiles.into_iter().for_each(|(t, d)| checker.serve(t, d));
        for i in 0..size {
            checker.push_leaf(leaf_hash(&i.to_be_bytes())).unwrap();
        }
        checker.finish().unwrap();
        assert_eq!(checker.checked, count);
    }

    #[test]
    fn a_changed_hash_at_a_higher_level_is_named() {
        let size = 256 * 3 + 1;
        let tree = tree(size);
        let mut checker = TileChecker::default();
        for (tile, mut data) in served(&tree) {
            if tile.level() == 1 {
                data[32 + 5] ^= 1;
            }
            checker.serve(tile, data);
        }
        for i in 0..size {
            checker.push_leaf(leaf_hash(&i.to_be_bytes())).unwrap();
        }
        let error = checker.finish().unwrap_err();
        assert!(
            matches!(&error, AuditError::TileMismatch { path, position: 1 } if path == "tile/1/000.p/3"),
            "{error}"
        );
    }

    #[test]
    fn its_root_is_the_rfc_6962_root() {
        let mut tree = MemoryTree::new();
        let mut checker = TileChecker::default();
        assert_eq!(checker.root(), tree.root());
        // Full tiles are compared as they complete, so serve those of the final tree.
        served(&self::tree(70_000))
            .into_iter()
            .for_each(|(t, d)| checker.serve(t, d));
        let sizes = [
            1u64, 2, 3, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 70_000,
        ];
        for i in 0..70_000u64 {
            tree.push(&i.to_be_bytes());
            checker.push_leaf(leaf_hash(&i.to_be_bytes())).unwrap();
            if i < 600 || sizes.contains(&(i + 1)) {
                assert_eq!(checker.root(), tree.root(), "size {}", i + 1);
            }
        }
    }

    #[test]
    fn resumes_from_its_pending_hashes() {
        let tree_a = tree(300);
        let mut first = TileChecker::default();
        served(&tree_a)
            .into_iter()
            .for_each(|(t, d)| first.serve(t, d));
        (0..300u64).for_each(|i| first.push_leaf(leaf_hash(&i.to_be_bytes())).unwrap());
        first.finish().unwrap();
        let mut resumed = TileChecker::resume(300, first.pending().to_vec()).unwrap();
        let tree_b = tree(600);
        served(&tree_b)
            .into_iter()
            .for_each(|(t, d)| resumed.serve(t, d));
        (300..600u64).for_each(|i| resumed.push_leaf(leaf_hash(&i.to_be_bytes())).unwrap());
        resumed.finish().unwrap();
        assert!(TileChecker::resume(301, first.pending().to_vec()).is_none());
    }
}
