//! Snapshots: the validation state and the event-id index as of one size of the log, in one
//! file beside the engine, so that opening reads them instead of replaying the whole log.
//!
//! A snapshot is only a shortcut: everything in it can be derived from the entries and the
//! per-batch records after it, and opening falls back to that when the snapshot is missing,
//! damaged or not of this log. It is written whole to a temporary file, fsynced, renamed into
//! place and the directory fsynced, so the file named [`SNAPSHOT_FILE`] is always complete.
//! It is written off the commit path ([`SnapshotJob`]): the state is a persistent map whose
//! copy costs nothing, and the index's sorted part is shared.
//!
//! The file (all integers big-endian) is a header and two sections, each section with its own
//! digest in the header, so that opening reads the header and the index and the ledger's load
//! reads the header and the state, each once:
//!
//! | bytes | what |
//! |---|---|
//! | 26 | the magic `covenant-store snapshot 3\n` (format 2 held the action ids as a map to their owners) |
//! | 8 | `size`: the number of entries the snapshot describes |
//! | 32 | the chain hash of entry `size - 1` (zeros when `size` is 0): ties the file to this log |
//! | 8 | `n`: the length of the state section |
//! | 32 | blake3 of the state section |
//! | 8 | `m`: the number of index pairs |
//! | 32 | blake3 of the index section |
//! | 32 | blake3 of the header so far: the snapshot's digest |
//! | 32 | the seal: blake3 keyed with the log key's snapshot key (`LogSigner::snapshot_key`) of the digest, or zeros when the writer had no log key |
//! | n | the state section: the validation state as of `size` (`LedgerState`, postcard) |
//! | 16 m | the index section: `m` pairs of fingerprint and sequence number, ascending |
//!
//! The digests catch damage. The seal is what lets the ledger skip re-deriving the state
//! before the snapshot when it opens: only the holder of the log key can make one, so a store
//! altered by someone without the key cannot pass off a different state as the log's.

use crate::StoreError;
use crate::durable::{io_error, sync_dir};
use crate::event_index::{SortedIndex, merge_ascending};
use covenant_core::entry::ChainHash;
use covenant_core::validate::LedgerState;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) const SNAPSHOT_FILE: &str = "SNAPSHOT";
const SNAPSHOT_TEMP: &str = "SNAPSHOT.tmp";
const MAGIC: &[u8] = b"covenant-store snapshot 3\n";
/// What every format's magic starts with, to tell an older snapshot from a foreign file.
const MAGIC_PREFIX: &[u8] = b"covenant-store snapshot ";
const HEADER_BYTES: usize = 26 + 8 + 32 + 8 + 32 + 8 + 32 + 32 + 32;

/// A snapshot's header, read back and checked against its own digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub size: u64,
    pub chain_head: ChainHash,
    state_len: u64,
    state_digest: [u8; 32],
    index_pairs: u64,
    index_digest: [u8; 32],
    digest: [u8; 32],
    seal: [u8; 32],
}

impl Header {
    /// Whether the snapshot was sealed with `key` (compared in constant time).
    pub(crate) fn sealed_by(&self, key: &[u8; 32]) -> bool {
        self.seal != [0; 32]
            && blake3::Hash::from(self.seal) == blake3::keyed_hash(key, &self.digest)
    }

    fn encode_unsealed(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEADER_BYTES);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&self.size.to_be_bytes());
        bytes.extend_from_slice(&self.chain_head);
        bytes.extend_from_slice(&self.state_len.to_be_bytes());
        bytes.extend_from_slice(&self.state_digest);
        bytes.extend_from_slice(&self.index_pairs.to_be_bytes());
        bytes.extend_from_slice(&self.index_digest);
        bytes
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut reader = Reader(bytes);
        let magic = reader.take(MAGIC.len())?;
        if magic != MAGIC {
            return Err(match magic.strip_prefix(MAGIC_PREFIX) {
                Some(format) => format!(
                    "it is of snapshot format {:?}, this version reads {:?} (the next snapshot replaces it)",
                    String::from_utf8_lossy(format).trim_end(),
                    String::from_utf8_lossy(&MAGIC[MAGIC_PREFIX.len()..]).trim_end(),
                ),
                None => "the file does not start with the snapshot magic".to_owned(),
            });
        }
        let mut header = Self {
            size: reader.u64()?,
            chain_head: reader.array()?,
            state_len: reader.u64()?,
            state_digest: reader.array()?,
            index_pairs: reader.u64()?,
            index_digest: reader.array()?,
            digest: [0; 32],
            seal: [0; 32],
        };
        header.digest = reader.array()?;
        header.seal = reader.array()?;
        if blake3::hash(&header.encode_unsealed()).as_bytes() != &header.digest {
            return Err("the header's digest does not match it".to_owned());
        }
        if header.index_pairs != header.size {
            return Err(format!(
                "the event index holds {} entries for a log of {}",
                header.index_pairs, header.size
            ));
        }
        Ok(header)
    }
}

/// Everything a snapshot needs, taken from the store at one head, to be written anywhere:
/// [`SnapshotJob::write`] merges the index and writes the file, off the commit path.
pub struct SnapshotJob {
    pub(crate) dir: PathBuf,
    pub(crate) size: u64,
    pub(crate) chain_head: ChainHash,
    pub(crate) state: LedgerState,
    /// The index's sorted part and the pairs added since, which the job merges.
    pub(crate) sorted: Arc<Vec<(u64, u64)>>,
    pub(crate) recent: Vec<(u64, u64)>,
    pub(crate) seal_key: Option<[u8; 32]>,
}

/// A snapshot written to disk, to hand back to the store ([`crate::LogStore::finish_snapshot`])
/// so that its index adopts the merged pairs.
#[derive(Debug)]
pub struct WrittenSnapshot {
    pub size: u64,
    pub bytes: u64,
    /// The index's pairs as of `size`, with their lookup table built on the writer's thread.
    pub(crate) merged: SortedIndex,
}

impl SnapshotJob {
    /// The number of entries the snapshot describes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Merge the index, encode everything and write the file durably.
    pub fn write(self) -> Result<WrittenSnapshot, StoreError> {
        let mut recent = self.recent;
        recent.sort_unstable();
        let merged = merge_ascending(&self.sorted, &recent);
        let state = postcard::to_allocvec(&self.state)
            .map_err(|e| StoreError::Engine(format!("encode the validation state: {e}")))?;
        let mut index = Vec::with_capacity(16 * merged.len());
        for (print, seq) in merged.iter() {
            index.extend_from_slice(&print.to_be_bytes());
            index.extend_from_slice(&seq.to_be_bytes());
        }
        let mut header = Header {
            size: self.size,
            chain_head: self.chain_head,
            state_len: state.len() as u64,
            state_digest: *blake3::hash(&state).as_bytes(),
            index_pairs: merged.len() as u64,
            index_digest: *blake3::hash(&index).as_bytes(),
            digest: [0; 32],
            seal: [0; 32],
        };
        let mut head = header.encode_unsealed();
        header.digest = *blake3::hash(&head).as_bytes();
        header.seal = self.seal_key.map_or([0; 32], |key| {
            *blake3::keyed_hash(&key, &header.digest).as_bytes()
        });
        head.extend_from_slice(&header.digest);
        head.extend_from_slice(&header.seal);
        let temp = self.dir.join(SNAPSHOT_TEMP);
        let mut file = File::create(&temp).map_err(|e| io_error(&temp, e))?;
        file.write_all(&head)
            .and_then(|()| file.write_all(&state))
            .and_then(|()| file.write_all(&index))
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(&temp, e))?;
        let path = self.dir.join(SNAPSHOT_FILE);
        std::fs::rename(&temp, &path).map_err(|e| io_error(&path, e))?;
        sync_dir(&self.dir)?;
        Ok(WrittenSnapshot {
            size: self.size,
            bytes: (head.len() + state.len() + index.len()) as u64,
            merged: SortedIndex::new(merged),
        })
    }
}

/// The snapshot file in `dir`, opened and its header checked: `Ok(None)` when there is none,
/// `Err(problem)` when the file is there but is not a snapshot (the caller falls back to the
/// log).
pub(crate) fn open(dir: &Path) -> Result<Option<(Header, File)>, String> {
    let path = dir.join(SNAPSHOT_FILE);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("open {}: {e}", path.display())),
    };
    let mut head = vec![0; HEADER_BYTES];
    file.read_exact(&mut head)
        .map_err(|_| "the file ends inside its header".to_owned())?;
    let header = Header::decode(&head)?;
    let expected = HEADER_BYTES as u64 + header.state_len + 16 * header.index_pairs;
    let length = file.metadata().map_err(|e| e.to_string())?.len();
    if length != expected {
        return Err(format!(
            "the file is {length} bytes, not the {expected} its header gives"
        ));
    }
    Ok(Some((header, file)))
}

/// The event index section of an opened snapshot, checked against its digest.
pub(crate) fn read_index(header: &Header, file: &mut File) -> Result<Vec<(u64, u64)>, String> {
    let bytes = read_section(
        file,
        HEADER_BYTES as u64 + header.state_len,
        16 * header.index_pairs,
    )?;
    if blake3::hash(&bytes).as_bytes() != &header.index_digest {
        return Err("the event index does not match its digest".to_owned());
    }
    let index: Vec<(u64, u64)> = bytes
        .chunks_exact(16)
        .map(|pair| {
            let (print, seq) = pair.split_at(8);
            (be_u64(print), be_u64(seq))
        })
        .collect();
    if !index.is_sorted() {
        return Err("the event index is not in order".to_owned());
    }
    Ok(index)
}

/// The validation state section of an opened snapshot, checked against its digest.
pub(crate) fn read_state(header: &Header, file: &mut File) -> Result<LedgerState, String> {
    let bytes = read_section(file, HEADER_BYTES as u64, header.state_len)?;
    if blake3::hash(&bytes).as_bytes() != &header.state_digest {
        return Err("the validation state does not match its digest".to_owned());
    }
    postcard::from_bytes(&bytes).map_err(|e| format!("the validation state does not decode: {e}"))
}

fn read_section(file: &mut File, offset: u64, len: u64) -> Result<Vec<u8>, String> {
    let len = usize::try_from(len).map_err(|_| "a section too large for memory".to_owned())?;
    let mut bytes = vec![0; len];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut bytes))
        .map_err(|e| format!("read the snapshot: {e}"))?;
    Ok(bytes)
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut array = [0; 8];
    array.copy_from_slice(bytes);
    u64::from_be_bytes(array)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("the header ends early".to_owned());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, String> {
        self.take(8).map(be_u64)
    }

    fn array(&mut self) -> Result<[u8; 32], String> {
        let mut array = [0; 32];
        array.copy_from_slice(self.take(32)?);
        Ok(array)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::validate::StateChange;

    fn job(dir: &Path, size: u64, sorted: Vec<(u64, u64)>, recent: Vec<(u64, u64)>) -> SnapshotJob {
        let mut state = LedgerState::default();
        state.apply(StateChange::Action("a-1".to_owned(), "GB-GOV-1".to_owned()));
        SnapshotJob {
            dir: dir.to_owned(),
            size,
            chain_head: [7; 32],
            state,
            sorted: Arc::new(sorted),
            recent,
            seal_key: Some([9; 32]),
        }
    }

    type Read = (Header, Vec<(u64, u64)>, LedgerState);

    fn read_all(dir: &Path) -> Result<Read, String> {
        let (header, mut file) = open(dir)?.ok_or("no snapshot")?;
        let index = read_index(&header, &mut file)?;
        let state = read_state(&header, &mut file)?;
        Ok((header, index, state))
    }

    #[test]
    fn a_written_snapshot_reads_back_whole_with_its_index_merged() {
        let dir = tempfile::tempdir().unwrap();
        let written = job(dir.path(), 4, vec![(1, 0), (5, 1)], vec![(9, 3), (2, 2)])
            .write()
            .unwrap();
        assert_eq!(written.size, 4);
        assert_eq!(*written.merged.pairs, vec![(1, 0), (2, 2), (5, 1), (9, 3)]);
        assert_eq!(job(dir.path(), 4, vec![], vec![]).size(), 4);
        let (header, index, state) = read_all(dir.path()).unwrap();
        assert_eq!((header.size, header.chain_head), (4, [7; 32]));
        assert_eq!(index, *written.merged.pairs);
        assert!(state.actions.contains("a-1"));
        assert_eq!(state.actions.len(), 1);
        assert!(header.sealed_by(&[9; 32]));
        assert!(!header.sealed_by(&[8; 32]));
        assert_eq!(
            std::fs::metadata(dir.path().join(SNAPSHOT_FILE))
                .unwrap()
                .len(),
            written.bytes
        );
        assert!(!dir.path().join(SNAPSHOT_TEMP).exists());
    }

    /// Only a missing file means no snapshot: one that is there but cannot be opened (here a
    /// link to itself) is named, so the caller reads the log instead and says why.
    #[test]
    fn a_snapshot_that_cannot_be_opened_is_an_error_not_an_absence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SNAPSHOT_FILE);
        std::os::unix::fs::symlink(&path, &path).unwrap();
        let problem = open(dir.path()).unwrap_err();
        assert!(problem.starts_with("open "), "{problem}");
    }

    #[test]
    fn no_file_is_no_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        assert!(open(dir.path()).unwrap().is_none());
    }

    #[test]
    fn any_changed_or_missing_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        job(dir.path(), 2, vec![(1, 0), (5, 1)], vec![])
            .write()
            .unwrap();
        let path = dir.path().join(SNAPSHOT_FILE);
        let bytes = std::fs::read(&path).unwrap();
        let seal = HEADER_BYTES - 32..HEADER_BYTES;
        for at in (0..bytes.len()).filter(|at| !seal.contains(at)) {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            std::fs::write(&path, &flipped).unwrap();
            assert!(
                read_all(dir.path()).is_err(),
                "a flip at byte {at} was accepted"
            );
        }
        for len in 0..bytes.len() {
            std::fs::write(&path, &bytes[..len]).unwrap();
            assert!(
                read_all(dir.path()).is_err(),
                "a file cut to {len} bytes was accepted"
            );
        }
    }

    #[test]
    fn a_snapshot_of_an_older_format_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        job(dir.path(), 2, vec![(1, 0), (5, 1)], vec![])
            .write()
            .unwrap();
        let path = dir.path().join(SNAPSHOT_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[..MAGIC.len()].copy_from_slice(b"covenant-store snapshot 2\n");
        std::fs::write(&path, &bytes).unwrap();
        let problem = read_all(dir.path()).err().unwrap();
        assert_eq!(
            problem,
            r#"it is of snapshot format "2", this version reads "3" (the next snapshot replaces it)"#
        );
        bytes[..MAGIC.len()].copy_from_slice(b"covenant-store SNAPSHOT 3\n");
        std::fs::write(&path, &bytes).unwrap();
        let problem = read_all(dir.path()).err().unwrap();
        assert_eq!(problem, "the file does not start with the snapshot magic");
    }

    #[test]
    fn a_snapshot_written_without_a_key_is_sealed_by_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut unsealed = job(dir.path(), 0, vec![], vec![]);
        unsealed.seal_key = None;
        unsealed.write().unwrap();
        let (header, _, _) = read_all(dir.path()).unwrap();
        assert_eq!(header.seal, [0; 32]);
        assert!(!header.sealed_by(&[0; 32]));
    }

    #[test]
    fn an_index_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        job(dir.path(), 3, vec![(1, 0), (5, 1)], vec![])
            .write()
            .unwrap();
        let problem = read_all(dir.path()).err().unwrap();
        assert!(
            problem.contains("holds 2 entries for a log of 3"),
            "{problem}"
        );
    }
}
