//! A log's published files, built from its entries: the C2SP tlog-tiles layout (checkpoint,
//! hash tiles, entry bundles, verifier key) as any static file server or CDN would serve it.
//! Tests serve these over HTTP (honest or tampered), and the benchmark verifies them in memory.

use crate::AuditError;
use crate::source::LogSource;
use covenant_core::checkpoint::LogSigner;
use covenant_core::merkle::{
    MemoryTree, Tile, encode_entry_bundle, entry_tile, hash_tile, hash_tile_data, tile_path,
};
use std::collections::BTreeMap;

/// Files by path relative to the log prefix (`checkpoint`, `tile/0/000`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticLog {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl StaticLog {
    /// Publish `entries` (encoded, in order) with a checkpoint signed by `signer`.
    pub fn publish(entries: &[Vec<u8>], signer: &LogSigner) -> Self {
        let mut tree = MemoryTree::new();
        entries.iter().for_each(|entry| tree.push(entry));
        let note = signer.sign(tree.size(), tree.root());
        Self::publish_with_checkpoint(entries, &tree, &note, &signer.verifier_key())
    }

    /// Publish `entries` and their `tree` with a given checkpoint note (which may sign another
    /// tree: that is how tests build a log that lies).
    pub fn publish_with_checkpoint(
        entries: &[Vec<u8>],
        tree: &MemoryTree,
        checkpoint_note: &[u8],
        verifier_key: &str,
    ) -> Self {
        let size = entries.len() as u64;
        let mut files = BTreeMap::new();
        files.insert("checkpoint".to_owned(), checkpoint_note.to_vec());
        files.insert(
            "verifier-key".to_owned(),
            format!("{verifier_key}\n").into_bytes(),
        );
        for tile in tiles_of(size) {
            let data = if tile.is_data() {
                let start = (tile.level_index() * 256) as usize;
                let end = start + tile.width() as usize;
                encode_entry_bundle(entries[start..end].iter().map(Vec::as_slice))
            } else {
                hash_tile_data(&tile, tree).expect("the tree holds every entry")
            };
            files.insert(tile_path(&tile), data);
        }
        Self { files }
    }

    fn file(&self, path: &str) -> Result<Vec<u8>, AuditError> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| AuditError::Missing {
                what: path.to_owned(),
            })
    }
}

/// Every tile and entry bundle of a tree of `size` leaves (full ones and the partial edge).
pub fn tiles_of(size: u64) -> Vec<Tile> {
    let mut tiles: Vec<Tile> = (0..).map_while(|index| entry_tile(size, index)).collect();
    for level in 0u8..64 {
        let level_tiles: Vec<Tile> = (0..)
            .map_while(|index| hash_tile(size, level, index))
            .collect();
        if level_tiles.is_empty() {
            break;
        }
        tiles.extend(level_tiles);
    }
    tiles
}

impl LogSource for StaticLog {
    fn describe(&self) -> String {
        "static log in memory".into()
    }

    fn checkpoint(&self) -> Result<Vec<u8>, AuditError> {
        self.file("checkpoint")
    }

    fn entry_bundle(&self, tile: &Tile) -> Result<Vec<u8>, AuditError> {
        self.file(&tile_path(tile))
    }

    fn hash_tile(&self, tile: &Tile) -> Result<Vec<u8>, AuditError> {
        self.file(&tile_path(tile))
    }

    fn published_verifier_key(&self) -> Result<Option<String>, AuditError> {
        Ok(self
            .files
            .get("verifier-key")
            .map(|key| String::from_utf8_lossy(key).trim().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_of_70000_has_the_tiles_c2sp_lists() {
        // C2SP tlog-tiles, "Partial Tiles": 273 full level 0 tiles, one partial of width 112,
        // one full level 1 tile, one partial level 1 tile of width 17, one partial level 2
        // tile of width 1 (plus the entry bundles, one per level 0 tile).
        let hash_tiles: Vec<(u8, u32)> = tiles_of(70_000)
            .iter()
            .filter(|t| !t.is_data())
            .map(|t| (t.level(), t.width()))
            .collect();
        let count = |level, width| hash_tiles.iter().filter(|&&t| t == (level, width)).count();
        assert_eq!(count(0, 256), 273);
        assert_eq!(count(0, 112), 1);
        assert_eq!(count(1, 256), 1);
        assert_eq!(count(1, 17), 1);
        assert_eq!(count(2, 1), 1);
        assert_eq!(hash_tiles.len(), 277);
        assert_eq!(tiles_of(70_000).iter().filter(|t| t.is_data()).count(), 274);
        // A tree of 256 has a full level 0 tile and a level 1 tile of width 1.
        let small: Vec<_> = tiles_of(256)
            .iter()
            .filter(|t| !t.is_data())
            .map(|t| (t.level(), t.width()))
            .collect();
        assert_eq!(small, [(0, 256), (1, 1)]);
    }
}
