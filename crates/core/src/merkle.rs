//! The Merkle tree over entries: RFC 6962 with SHA-256, as in C2SP tlog-tiles and Go's
//! `golang.org/x/mod/sumdb/tlog`. The maths comes from `tlog_tiles`; this module fixes the
//! leaf (the encoded entry), the tile height and the C2SP tile paths, and gives proofs a
//! typed error.
//!
//! Storage stays outside: anything that can return stored hashes by index implements
//! [`HashReader`], exactly like Go's `tlog.HashReader`.

pub use tlog_tiles::{EMPTY_HASH, HASH_SIZE, Hash, HashReader, Tile};

/// Height of every tile we serve: 2^8 = 256 hashes or entries per full tile.
pub const TILE_HEIGHT: u8 = 8;
/// Entries (or hashes) in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// Why a proof or a tree computation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    #[error("inclusion proof for entry {index} does not lead to the root of tree size {size}")]
    InclusionMismatch { index: u64, size: u64 },
    #[error("consistency proof from size {old_size} to {new_size} does not match their roots")]
    ConsistencyMismatch { old_size: u64, new_size: u64 },
    #[error("entry {index} is not in a tree of size {size}")]
    OutOfRange { index: u64, size: u64 },
    #[error("size {old_size} is larger than size {new_size}")]
    SizesOutOfOrder { old_size: u64, new_size: u64 },
    #[error("reading stored hashes: {0}")]
    Read(#[from] tlog_tiles::Error),
}

/// The leaf hash of an encoded entry: `SHA-256(0x00 || entry_bytes)`.
pub fn leaf_hash(entry_bytes: &[u8]) -> Hash {
    tlog_tiles::record_hash(entry_bytes)
}

/// Index of the stored hash at `level`, position `n` (Go's `tlog.StoredHashIndex`).
pub fn stored_hash_index(level: u8, n: u64) -> u64 {
    tlog_tiles::stored_hash_index(level, n)
}

/// The level and position of stored hash `index` (Go's `tlog.SplitStoredHashIndex`): the
/// inverse of [`stored_hash_index`].
pub fn split_stored_hash_index(index: u64) -> (u8, u64) {
    tlog_tiles::split_stored_hash_index(index)
}

/// How many stored hashes a tree of `size` leaves has.
pub fn stored_hash_count(size: u64) -> u64 {
    tlog_tiles::stored_hash_count(size)
}

/// The stored hashes to append when leaf `index` (hash `leaf`) joins a tree of `index` leaves.
/// They go at stored-hash indexes `stored_hash_count(index)..`.
pub fn new_stored_hashes<R: HashReader>(
    index: u64,
    leaf: Hash,
    reader: &R,
) -> Result<Vec<Hash>, MerkleError> {
    Ok(tlog_tiles::stored_hashes_for_record_hash(
        index, leaf, reader,
    )?)
}

/// Root hash of the tree of the first `size` leaves.
pub fn tree_root<R: HashReader>(size: u64, reader: &R) -> Result<Hash, MerkleError> {
    Ok(tlog_tiles::tree_hash(size, reader)?)
}

/// Audit path showing leaf `index` is in the tree of `size` leaves.
pub fn prove_inclusion<R: HashReader>(
    size: u64,
    index: u64,
    reader: &R,
) -> Result<Vec<Hash>, MerkleError> {
    if index >= size {
        return Err(MerkleError::OutOfRange { index, size });
    }
    Ok(tlog_tiles::prove_record(size, index, reader)?)
}

/// Check an inclusion proof.
pub fn check_inclusion(
    proof: &[Hash],
    size: u64,
    root: Hash,
    index: u64,
    leaf: Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::OutOfRange { index, size });
    }
    tlog_tiles::check_record(&proof.to_vec(), size, root, index, leaf)
        .map_err(|_| MerkleError::InclusionMismatch { index, size })
}

/// Proof that the tree of `old_size` leaves is a prefix of the tree of `new_size` leaves.
pub fn prove_consistency<R: HashReader>(
    new_size: u64,
    old_size: u64,
    reader: &R,
) -> Result<Vec<Hash>, MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::SizesOutOfOrder { old_size, new_size });
    }
    Ok(tlog_tiles::prove_tree(new_size, old_size, reader)?)
}

/// Check a consistency proof.
pub fn check_consistency(
    proof: &[Hash],
    new_size: u64,
    new_root: Hash,
    old_size: u64,
    old_root: Hash,
) -> Result<(), MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::SizesOutOfOrder { old_size, new_size });
    }
    tlog_tiles::check_tree(&proof.to_vec(), new_size, new_root, old_size, old_root)
        .map_err(|_| MerkleError::ConsistencyMismatch { old_size, new_size })
}

/// A tree held entirely in memory as its stored hashes. For tests, tools and small logs; the
/// store keeps the same hashes on disk.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    stored: Vec<Hash>,
    size: u64,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append one encoded entry as the next leaf.
    pub fn push(&mut self, entry_bytes: &[u8]) {
        self.push_leaf(leaf_hash(entry_bytes));
    }

    pub fn push_leaf(&mut self, leaf: Hash) {
        let hashes = new_stored_hashes(self.size, leaf, self)
            .expect("an in-memory tree holds every hash it needs");
        self.stored.extend(hashes);
        self.size += 1;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> Hash {
        tree_root(self.size, self).expect("an in-memory tree holds every hash it needs")
    }
}

impl HashReader for MemoryTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&index| {
                self.stored
                    .get(index as usize)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// The right edge of a tree: enough to compute its root while reading leaves in order, in
/// O(log n) memory. This is how a verifier recomputes the root of a log of any size.
#[derive(Debug, Clone, Default)]
pub struct TreeFrontier {
    /// Roots of the perfect subtrees that make up the tree, largest first; subtree `i` has
    /// `2^heights[i]` leaves.
    subtrees: Vec<(u32, Hash)>,
    size: u64,
}

impl TreeFrontier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(height, left)) = self.subtrees.last() {
            if height != node.0 {
                break;
            }
            self.subtrees.pop();
            node = (height + 1, tlog_tiles::node_hash(left, node.1));
        }
        self.subtrees.push(node);
        self.size += 1;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtrees that make up the tree, largest first, as `(height, root)`: all a
    /// verifier must keep to resume later with [`TreeFrontier::from_subtrees`].
    pub fn subtrees(&self) -> &[(u32, Hash)] {
        &self.subtrees
    }

    /// Rebuild a frontier saved with [`TreeFrontier::subtrees`]; `None` unless the heights
    /// strictly decrease (the only shape a tree's right edge can have).
    pub fn from_subtrees(subtrees: Vec<(u32, Hash)>) -> Option<Self> {
        let decreasing = subtrees.windows(2).all(|pair| pair[0].0 > pair[1].0);
        if !decreasing || subtrees.first().is_some_and(|&(height, _)| height >= 64) {
            return None;
        }
        let size = subtrees.iter().map(|&(height, _)| 1u64 << height).sum();
        Some(Self { subtrees, size })
    }

    /// RFC 6962 root: fold the perfect subtrees from the right.
    pub fn root(&self) -> Hash {
        let mut iter = self.subtrees.iter().rev();
        let Some(&(_, mut root)) = iter.next() else {
            return EMPTY_HASH;
        };
        for &(_, left) in iter {
            root = tlog_tiles::node_hash(left, root);
        }
        root
    }
}

/// The C2SP tlog-tiles path of a tile, relative to the log prefix: `tile/<L>/<N>[.p/<W>]` for
/// hash tiles and `tile/entries/<N>[.p/<W>]` for entry bundles.
pub fn tile_path(tile: &Tile) -> String {
    // tlog_tiles writes Go sumdb paths, `tile/<H>/<L or data>/<N>`; C2SP drops the height and
    // names data tiles `entries`. The N encoding (x001/234) is the same in both.
    let go_path = tile.path();
    let rest = go_path
        .strip_prefix(&format!("tile/{}/", tile.height()))
        .expect("tlog_tiles paths start with tile/<H>/");
    match rest.strip_prefix("data/") {
        Some(index) => format!("tile/entries/{index}"),
        None => format!("tile/{rest}"),
    }
}

/// Parse a C2SP tile path (the inverse of [`tile_path`]); `None` if it is not one.
pub fn parse_tile_path(path: &str) -> Option<Tile> {
    let rest = path.strip_prefix("tile/")?;
    // `Tile::from_path` panics on a width of 0 or a level of 64 or more: refuse those first,
    // since paths come from the network.
    if let Some((_, width)) = rest.rsplit_once(".p/")
        && !matches!(width.parse::<u32>(), Ok(1..=255))
    {
        return None;
    }
    if !rest.starts_with("entries/") {
        let level = rest.split('/').next()?;
        if !matches!(level.parse::<u8>(), Ok(0..=63)) {
            return None;
        }
    }
    let go_path = match rest.strip_prefix("entries/") {
        Some(index) => format!("tile/{TILE_HEIGHT}/data/{index}"),
        None => format!("tile/{TILE_HEIGHT}/{rest}"),
    };
    let tile = Tile::from_path(&go_path).ok()?;
    (tile_path(&tile) == path).then_some(tile)
}

/// The hash tile at `level`, position `index`, as it stands in a tree of `size` leaves, or
/// `None` if that tree has no such tile yet.
pub fn hash_tile(size: u64, level: u8, index: u64) -> Option<Tile> {
    let leaves_below = 1u64.checked_shl(u32::from(level) * u32::from(TILE_HEIGHT))?;
    let width_at_level = size / leaves_below;
    let start = index.checked_mul(TILE_WIDTH)?;
    if start >= width_at_level {
        return None;
    }
    let width = (width_at_level - start).min(TILE_WIDTH) as u32;
    Some(Tile::new(TILE_HEIGHT, level, index, width, false))
}

/// The entry bundle at `index` as it stands in a tree of `size` leaves.
pub fn entry_tile(size: u64, index: u64) -> Option<Tile> {
    let start = index.checked_mul(TILE_WIDTH)?;
    if start >= size {
        return None;
    }
    let width = (size - start).min(TILE_WIDTH) as u32;
    Some(Tile::new(TILE_HEIGHT, 0, index, width, true))
}

/// The concatenated hashes of a hash tile.
pub fn hash_tile_data<R: HashReader>(tile: &Tile, reader: &R) -> Result<Vec<u8>, MerkleError> {
    Ok(tile.read_data(reader)?)
}

/// Encode an entry bundle: each entry as a big-endian u16 length and its bytes.
pub fn encode_entry_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        out.extend_from_slice(&(entry.len() as u16).to_be_bytes());
        out.extend_from_slice(entry);
    }
    out
}

/// Split an entry bundle back into entries; `None` if the lengths do not add up.
pub fn decode_entry_bundle(bundle: &[u8]) -> Option<Vec<&[u8]>> {
    let mut entries = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        let len = u16::from_be_bytes(rest.get(..2)?.try_into().ok()?) as usize;
        let entry = rest.get(2..2 + len)?;
        entries.push(entry);
        rest = &rest[2 + len..];
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    /// A tree's size and stored hashes as both in-memory trees keep them, and a hash tile
    /// as the stored hashes of its level, in order.
    #[test]
    fn sizes_stored_hash_counts_and_a_tile_of_the_leaves() {
        assert_eq!(
            (1..=5).map(stored_hash_count).collect::<Vec<_>>(),
            [1, 3, 4, 7, 8]
        );
        let mut tree = MemoryTree::new();
        let mut frontier = TreeFrontier::new();
        for i in 0..3 {
            tree.push(&leaf(i));
            frontier.push(leaf_hash(&leaf(i)));
        }
        assert_eq!((tree.size(), frontier.size()), (3, 3));
        let tile = Tile::new(TILE_HEIGHT, 0, 0, 3, false);
        let expected: Vec<u8> = (0..3).flat_map(|i| leaf_hash(&leaf(i)).0).collect();
        assert_eq!(hash_tile_data(&tile, &tree).unwrap(), expected);
    }

    fn leaf(i: u64) -> Vec<u8> {
        format!("leaf {i}").into_bytes()
    }

    fn tree(size: u64) -> MemoryTree {
        let mut tree = MemoryTree::new();
        (0..size).for_each(|i| tree.push(&leaf(i)));
        tree
    }

    fn sha(parts: &[&[u8]]) -> Hash {
        let mut hasher = Sha256::new();
        parts.iter().for_each(|p| hasher.update(p));
        Hash(hasher.finalize().into())
    }

    #[test]
    fn split_stored_hash_index_inverts_stored_hash_index() {
        for level in 0..12u8 {
            for n in [0, 1, 2, 255, 256, 1_000_003] {
                let index = stored_hash_index(level, n);
                assert_eq!(
                    split_stored_hash_index(index),
                    (level, n),
                    "level {level} n {n}"
                );
            }
        }
        // Leaf 1 completes the first pair: its leaf hash is stored hash 1, the pair's hash 2.
        assert_eq!(split_stored_hash_index(2), (1, 0));
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        // RFC 6962 section 2.1: MTH({}) = SHA-256().
        assert_eq!(
            hex::encode(MemoryTree::new().root().0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(TreeFrontier::new().root(), EMPTY_HASH);
    }

    #[test]
    fn small_trees_match_hand_computation() {
        let l = |i: u64| sha(&[&[0], &leaf(i)]);
        let n = |a: Hash, b: Hash| sha(&[&[1], &a.0, &b.0]);
        assert_eq!(tree(1).root(), l(0));
        assert_eq!(tree(2).root(), n(l(0), l(1)));
        assert_eq!(tree(3).root(), n(n(l(0), l(1)), l(2)));
        assert_eq!(tree(5).root(), n(n(n(l(0), l(1)), n(l(2), l(3))), l(4)));
    }

    #[test]
    fn frontier_matches_stored_hash_tree() {
        let mut memory = MemoryTree::new();
        let mut frontier = TreeFrontier::new();
        for i in 0..600 {
            memory.push(&leaf(i));
            frontier.push(leaf_hash(&leaf(i)));
            assert_eq!(memory.root(), frontier.root(), "size {}", i + 1);
        }
    }

    #[test]
    fn frontier_resumes_from_its_subtrees() {
        let mut whole = TreeFrontier::new();
        let mut resumed = TreeFrontier::new();
        for i in 0..300 {
            whole.push(leaf_hash(&leaf(i)));
            resumed = TreeFrontier::from_subtrees(resumed.subtrees().to_vec()).unwrap();
            resumed.push(leaf_hash(&leaf(i)));
            assert_eq!(resumed.size(), whole.size());
            assert_eq!(resumed.root(), whole.root());
        }
        assert!(TreeFrontier::from_subtrees(vec![(1, EMPTY_HASH), (2, EMPTY_HASH)]).is_none());
        assert!(TreeFrontier::from_subtrees(vec![(3, EMPTY_HASH), (3, EMPTY_HASH)]).is_none());
        assert!(TreeFrontier::from_subtrees(vec![(64, EMPTY_HASH)]).is_none());
    }

    #[test]
    fn c2sp_tile_paths() {
        let t = |l, n, w, data| Tile::new(TILE_HEIGHT, l, n, w, data);
        assert_eq!(tile_path(&t(0, 0, 256, false)), "tile/0/000");
        assert_eq!(
            tile_path(&t(1, 1_234_067, 256, false)),
            "tile/1/x001/x234/067"
        );
        assert_eq!(tile_path(&t(0, 5, 17, false)), "tile/0/005.p/17");
        assert_eq!(tile_path(&t(0, 5, 256, true)), "tile/entries/005");
        assert_eq!(tile_path(&t(0, 1000, 3, true)), "tile/entries/x001/000.p/3");
        for path in [
            "tile/0/000",
            "tile/2/x001/x234/067.p/9",
            "tile/entries/x001/000.p/3",
        ] {
            assert_eq!(tile_path(&parse_tile_path(path).unwrap()), path);
        }
        for bad in [
            "tile/8/0/000",
            "tile/data/000",
            "tile/0/0",
            "tile/0/000.p/256",
            "tile/0/000.p/0",
            "tile/entries/000.p/0",
            "tile/64/000",
            "tile/255/000",
            "tile/0/000.p/x",
            "x",
        ] {
            assert!(parse_tile_path(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn tiles_exist_only_for_what_the_tree_holds() {
        assert_eq!(hash_tile(300, 0, 0).map(|t| t.width()), Some(256));
        assert_eq!(hash_tile(300, 0, 1).map(|t| t.width()), Some(44));
        assert!(hash_tile(300, 0, 2).is_none());
        assert_eq!(hash_tile(300, 1, 0).map(|t| t.width()), Some(1));
        assert!(hash_tile(255, 1, 0).is_none());
        assert_eq!(entry_tile(300, 1).map(|t| t.width()), Some(44));
        assert!(entry_tile(256, 1).is_none());
    }

    #[test]
    fn entry_bundles_round_trip_and_reject_bad_lengths() {
        let entries: Vec<Vec<u8>> = (0..5).map(leaf).collect();
        let bundle = encode_entry_bundle(entries.iter().map(Vec::as_slice));
        let decoded = decode_entry_bundle(&bundle).unwrap();
        assert_eq!(
            decoded,
            entries.iter().map(Vec::as_slice).collect::<Vec<_>>()
        );
        assert!(decode_entry_bundle(&bundle[..bundle.len() - 1]).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn inclusion_proofs_verify_and_any_bit_flip_fails(
            size in 1u64..300, index_seed in any::<u64>(), flip in any::<u16>()
        ) {
            let tree = tree(size);
            let index = index_seed % size;
            let root = tree.root();
            let proof = prove_inclusion(size, index, &tree).unwrap();
            let leaf = leaf_hash(&leaf(index));
            prop_assert!(check_inclusion(&proof, size, root, index, leaf).is_ok());
            // Flip one bit in the proof, the leaf or the root: it must fail.
            let bits = (proof.len() + 2) * 256;
            let bit = flip as usize % bits;
            let (mut proof, mut leaf, mut root) = (proof, leaf, root);
            let target = match bit / 256 {
                0 => &mut leaf,
                1 => &mut root,
                k => &mut proof[k - 2],
            };
            target.0[(bit % 256) / 8] ^= 1 << (bit % 8);
            prop_assert!(check_inclusion(&proof, size, root, index, leaf).is_err());
        }

        #[test]
        fn consistency_proofs_verify_and_any_bit_flip_fails(
            new_size in 1u64..300, old_seed in any::<u64>(), flip in any::<u16>()
        ) {
            let old_size = 1 + old_seed % new_size;
            let tree = tree(new_size);
            let old_root = self::tree(old_size).root();
            let new_root = tree.root();
            let proof = prove_consistency(new_size, old_size, &tree).unwrap();
            prop_assert!(check_consistency(&proof, new_size, new_root, old_size, old_root).is_ok());
            let bits = (proof.len() + 2) * 256;
            let bit = flip as usize % bits;
            let (mut proof, mut old_root, mut new_root) = (proof, old_root, new_root);
            let target = match bit / 256 {
                0 => &mut old_root,
                1 => &mut new_root,
                k => &mut proof[k - 2],
            };
            target.0[(bit % 256) / 8] ^= 1 << (bit % 8);
            prop_assert!(check_consistency(&proof, new_size, new_root, old_size, old_root).is_err());
        }

        #[test]
        fn inclusion_for_every_index_of_small_trees(size in 1u64..64) {
            let tree = tree(size);
            for index in 0..size {
                let proof = prove_inclusion(size, index, &tree).unwrap();
                prop_assert!(check_inclusion(&proof, size, tree.root(), index, leaf_hash(&leaf(index))).is_ok());
            }
        }
    }
}
