//! Snapshots: the validation state and the event-id index as of one size of the log, in one
//! file beside the engine, so that opening reads them instead of replaying the whole log.
//!
//! A snapshot is only a shortcut: everything in it can be derived from the entries and the
//! per-batch records after it, and opening falls back to that when the snapshot is missing,
//! damaged or not of this log. It is written whole to a temporary file, fsynced, renamed into
//! place and the directory fsynced, so the file named [`SNAPSHOT_FILE`] is always complete.
//!
//! The file (all integers big-endian):
//!
//! | bytes | what |
//! |---|---|
//! | 26 | the magic `covenant-store snapshot 1\n` |
//! | 8 | `size`: the number of entries the snapshot describes |
//! | 32 | the chain hash of entry `size - 1` (zeros when `size` is 0): ties the file to this log |
//! | 8 + n | the validation state as of `size` (`LedgerState`, postcard), length first |
//! | 8 + 16 m | the event index: `m` pairs of fingerprint and sequence number, ascending |
//! | 32 | blake3 of everything above: the snapshot's digest |
//! | 32 | the seal: blake3 keyed with the log key's snapshot key (`LogSigner::snapshot_key`) of the digest, or zeros when the writer had no log key |
//!
//! The digest catches damage. The seal is what lets the ledger skip re-deriving the state
//! before the snapshot when it opens: only the holder of the log key can make one, so a store
//! altered by someone without the key cannot pass off a different state as the log's.

use crate::StoreError;
use crate::durable::{io_error, sync_dir};
use covenant_core::entry::ChainHash;
use covenant_core::validate::LedgerState;
use std::fs::File;
use std::io::Write;
use std::path::Path;

pub(crate) const SNAPSHOT_FILE: &str = "SNAPSHOT";
const SNAPSHOT_TEMP: &str = "SNAPSHOT.tmp";
const MAGIC: &[u8] = b"covenant-store snapshot 1\n";

/// A snapshot read back and checked against its own digest (not yet against the log).
pub(crate) struct Snapshot {
    pub digest: [u8; 32],
    pub seal: [u8; 32],
    pub size: u64,
    pub chain_head: ChainHash,
    /// The encoded validation state, decoded only when the ledger asks for it.
    pub state: Vec<u8>,
    pub index: Vec<(u64, u64)>,
}

/// Write a snapshot for a log of `size` entries ending in `chain_head`.
pub(crate) fn write(
    dir: &Path,
    size: u64,
    chain_head: &ChainHash,
    state: &LedgerState,
    index: &[(u64, u64)],
    seal_key: Option<&[u8; 32]>,
) -> Result<u64, StoreError> {
    let state = postcard::to_allocvec(state)
        .map_err(|e| StoreError::Engine(format!("encode the validation state: {e}")))?;
    let mut bytes =
        Vec::with_capacity(MAGIC.len() + 8 + 32 + 8 + state.len() + 8 + 16 * index.len() + 32);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&size.to_be_bytes());
    bytes.extend_from_slice(chain_head);
    bytes.extend_from_slice(&(state.len() as u64).to_be_bytes());
    bytes.extend_from_slice(&state);
    bytes.extend_from_slice(&(index.len() as u64).to_be_bytes());
    for (print, seq) in index {
        bytes.extend_from_slice(&print.to_be_bytes());
        bytes.extend_from_slice(&seq.to_be_bytes());
    }
    let digest = blake3::hash(&bytes);
    bytes.extend_from_slice(digest.as_bytes());
    let seal = seal_key.map_or([0; 32], |key| seal_of(key, digest.as_bytes()));
    bytes.extend_from_slice(&seal);
    let temp = dir.join(SNAPSHOT_TEMP);
    let mut file = File::create(&temp).map_err(|e| io_error(&temp, e))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&temp, e))?;
    let path = dir.join(SNAPSHOT_FILE);
    std::fs::rename(&temp, &path).map_err(|e| io_error(&path, e))?;
    sync_dir(dir)?;
    Ok(bytes.len() as u64)
}

/// The snapshot in `dir`: `Ok(None)` when there is none, `Err(problem)` when the file is there
/// but is not a complete snapshot (the caller falls back to the log).
pub(crate) fn read(dir: &Path) -> Result<Option<Snapshot>, String> {
    let path = dir.join(SNAPSHOT_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("read {}: {e}", path.display())),
    };
    decode(&bytes).map(Some)
}

fn seal_of(key: &[u8; 32], digest: &[u8; 32]) -> [u8; 32] {
    *blake3::keyed_hash(key, digest).as_bytes()
}

impl Snapshot {
    /// Whether the snapshot was sealed with `key` (compared in constant time).
    pub(crate) fn sealed_by(&self, key: &[u8; 32]) -> bool {
        self.seal != [0; 32]
            && blake3::Hash::from(self.seal) == blake3::keyed_hash(key, &self.digest)
    }
}

fn decode(bytes: &[u8]) -> Result<Snapshot, String> {
    let body_len = bytes
        .len()
        .checked_sub(64)
        .ok_or("the file is shorter than its digest and seal")?;
    let (body, trailer) = bytes.split_at(body_len);
    let (digest, seal) = trailer.split_at(32);
    if blake3::hash(body).as_bytes() != digest {
        return Err("the file's digest does not match its contents".to_owned());
    }
    let mut reader = Reader(body);
    if reader.take(MAGIC.len())? != MAGIC {
        return Err("the file does not start with the snapshot magic".to_owned());
    }
    let size = reader.u64()?;
    let chain_head: ChainHash = reader
        .take(32)?
        .try_into()
        .map_err(|_| "short chain hash")?;
    let state_len = usize::try_from(reader.u64()?).map_err(|_| "state length overflows")?;
    let state = reader.take(state_len)?.to_vec();
    let pairs = usize::try_from(reader.u64()?).map_err(|_| "index length overflows")?;
    let index_bytes = reader.take(pairs.checked_mul(16).ok_or("index length overflows")?)?;
    if !reader.0.is_empty() {
        return Err(format!("{} bytes follow the index", reader.0.len()));
    }
    let index: Vec<(u64, u64)> = index_bytes
        .chunks_exact(16)
        .map(|pair| {
            let (print, seq) = pair.split_at(8);
            (be_u64(print), be_u64(seq))
        })
        .collect();
    if !index.is_sorted() {
        return Err("the event index is not in order".to_owned());
    }
    if index.len() as u64 != size {
        return Err(format!(
            "the event index holds {} entries for a log of {size}",
            index.len()
        ));
    }
    Ok(Snapshot {
        digest: digest.try_into().map_err(|_| "short digest")?,
        seal: seal.try_into().map_err(|_| "short seal")?,
        size,
        chain_head,
        state,
        index,
    })
}

/// Decode the validation state kept in a snapshot.
pub(crate) fn decode_state(bytes: &[u8]) -> Result<LedgerState, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| {
        StoreError::CorruptMetadata(format!(
            "the snapshot's validation state does not decode: {e}"
        ))
    })
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
            return Err("the file ends early".to_owned());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, String> {
        self.take(8).map(be_u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::validate::StateChange;

    fn written(dir: &Path) -> Vec<u8> {
        let mut state = LedgerState::default();
        state.apply(StateChange::Action("a-1".to_owned(), "GB-GOV-1".to_owned()));
        write(dir, 2, &[7; 32], &state, &[(1, 0), (5, 1)], Some(&[9; 32])).unwrap();
        std::fs::read(dir.join(SNAPSHOT_FILE)).unwrap()
    }

    #[test]
    fn a_written_snapshot_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        written(dir.path());
        let snapshot = read(dir.path()).unwrap().unwrap();
        assert_eq!(snapshot.size, 2);
        assert_eq!(snapshot.chain_head, [7; 32]);
        assert_eq!(snapshot.index, vec![(1, 0), (5, 1)]);
        assert!(snapshot.sealed_by(&[9; 32]));
        assert!(!snapshot.sealed_by(&[8; 32]));
        let state = decode_state(&snapshot.state).unwrap();
        assert_eq!(
            state.actions.get("a-1").map(String::as_str),
            Some("GB-GOV-1")
        );
        assert!(!dir.path().join(SNAPSHOT_TEMP).exists());
    }

    #[test]
    fn no_file_is_no_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).unwrap().is_none());
    }

    #[test]
    fn any_changed_or_missing_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = written(dir.path());
        // The seal is checked by whoever holds the key, not by reading.
        for at in 0..bytes.len() - 32 {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert!(
                decode(&flipped).is_err(),
                "a flip at byte {at} was accepted"
            );
        }
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len]).is_err(),
                "a file cut to {len} bytes was accepted"
            );
        }
    }

    #[test]
    fn a_snapshot_written_without_a_key_is_sealed_by_none() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 0, &[0; 32], &LedgerState::default(), &[], None).unwrap();
        let snapshot = read(dir.path()).unwrap().unwrap();
        assert_eq!(snapshot.seal, [0; 32]);
        assert!(!snapshot.sealed_by(&[0; 32]));
    }

    #[test]
    fn an_index_out_of_order_or_of_the_wrong_length_is_refused() {
        let state = LedgerState::default();
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 2, &[0; 32], &state, &[(5, 1), (1, 0)], None).unwrap();
        let problem = read(dir.path()).err().unwrap();
        assert!(problem.contains("not in order"), "{problem}");
        write(dir.path(), 3, &[0; 32], &state, &[(1, 0), (5, 1)], None).unwrap();
        let problem = read(dir.path()).err().unwrap();
        assert!(
            problem.contains("holds 2 entries for a log of 3"),
            "{problem}"
        );
    }
}
