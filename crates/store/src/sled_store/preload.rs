//! Reading the snapshot on threads of its own while the engine recovers its log: the event
//! index always, and the validation state for a ledger's open (`SledStore::open_for_ledger`).
//!
//! An open then costs about the longest of the three reads rather than their sum: at ten
//! million entries the index is 160 MB and the state 156 MB, each read from disk, checked
//! against its digest and decoded. The state is read only when the opener names the key that
//! must have sealed it, since only the sequencer that opens over the store next asks for it,
//! and a state read for nobody would hold its memory until the store closes.
//!
//! Nothing is trusted for having been read early: `recovery` still checks that the snapshot is
//! of this log before its index is used, and `sealed_snapshot_state` takes the state only if
//! it came from the very file (the same header) that the same check passed.

use super::panic_message;
use crate::snapshot::{self, Header};
use covenant_core::validate::LedgerState;
use std::path::Path;
use std::thread::JoinHandle;

/// What reading one section of the snapshot gave: `Ok(None)` when there is no snapshot (or,
/// for the state, none sealed with the key); `Err` says why the file cannot be used.
pub(crate) type SnapshotRead<T> = Result<Option<(Header, T)>, String>;

/// A section being read on a thread of its own, or already read (where no thread could start).
pub(crate) enum Pending<T> {
    Reading(JoinHandle<SnapshotRead<T>>),
    Read(SnapshotRead<T>),
}

impl<T: Send + 'static> Pending<T> {
    fn start(name: &str, read: impl FnOnce() -> SnapshotRead<T> + Send + 'static) -> Self {
        match std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(read)
        {
            Ok(thread) => Self::Reading(thread),
            // Only a slower open: the index is then read from the per-batch records, and the
            // state from the file when the sequencer asks for it.
            Err(error) => Self::Read(Err(format!("no thread to read it on: {error}"))),
        }
    }

    /// Wait for the read to finish.
    pub(crate) fn finish(self) -> SnapshotRead<T> {
        match self {
            Self::Reading(thread) => thread.join().unwrap_or_else(|panic| {
                Err(format!(
                    "reading the snapshot failed: {}",
                    panic_message(&panic)
                ))
            }),
            Self::Read(read) => read,
        }
    }
}

/// The snapshot reads an open starts before the engine opens.
pub(crate) struct Preload {
    pub(crate) index: Pending<Vec<(u64, u64)>>,
    pub(crate) state: Option<Pending<LedgerState>>,
}

impl Preload {
    /// Start reading the snapshot in `dir`: its index, and its state if sealed with
    /// `state_key`.
    pub(crate) fn start(dir: &Path, state_key: Option<[u8; 32]>) -> Self {
        let index_dir = dir.to_owned();
        let index = Pending::start("covenant-snapshot-index", move || read_index(&index_dir));
        let state = state_key.map(|key| {
            let state_dir = dir.to_owned();
            Pending::start("covenant-snapshot-state", move || {
                read_sealed_state(&state_dir, &key)
            })
        });
        Self { index, state }
    }

    /// Nothing to read: a store just created has no snapshot.
    pub(crate) fn nothing() -> Self {
        Self {
            index: Pending::Read(Ok(None)),
            state: None,
        }
    }
}

fn read_index(dir: &Path) -> SnapshotRead<Vec<(u64, u64)>> {
    let Some((header, mut file)) = snapshot::open(dir)? else {
        return Ok(None);
    };
    let pairs = snapshot::read_index(&header, &mut file)?;
    Ok(Some((header, pairs)))
}

/// The state, read only when the key sealed it (a state nobody vouched for is of no use to
/// the sequencer, which re-derives instead).
fn read_sealed_state(dir: &Path, key: &[u8; 32]) -> SnapshotRead<LedgerState> {
    let Some((header, mut file)) = snapshot::open(dir)? else {
        return Ok(None);
    };
    if !header.sealed_by(key) {
        return Ok(None);
    }
    let state = snapshot::read_state(&header, &mut file)?;
    Ok(Some((header, state)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sled_store::SledStore;
    use crate::sled_store::fixture::append_entries;
    use crate::{LogReader, LogStore};
    use covenant_core::validate::StateChange;

    const KEY: [u8; 32] = [5; 32];

    /// A store of 20 entries with a snapshot of one recorded action, sealed with [`KEY`].
    fn sealed_snapshot(dir: &Path) -> LedgerState {
        let store = SledStore::create_or_open(dir).unwrap();
        append_entries(&store, 0..20);
        let mut state = LedgerState::default();
        state.apply(StateChange::Action("a-1".to_owned(), "GB-GOV-1".to_owned()));
        assert_eq!(store.write_snapshot(&state, Some(KEY)).unwrap(), 20);
        state
    }

    /// The state is read ahead only under the key that sealed it: read for nobody, it would
    /// hold its memory until the store closes.
    #[test]
    fn the_state_is_read_ahead_only_under_the_key_that_sealed_it() {
        let dir = tempfile::tempdir().unwrap();
        let state = sealed_snapshot(dir.path());
        let read = |key| {
            Preload::start(dir.path(), Some(key))
                .state
                .unwrap()
                .finish()
        };
        match read(KEY) {
            Ok(Some((header, read))) => assert_eq!((header.size, read), (20, state)),
            other => panic!("the sealed state was not read ahead: {other:?}"),
        }
        assert_eq!(read([6; 32]), Ok(None));
        assert!(Preload::start(dir.path(), None).state.is_none());
    }

    /// What the ledger gets is the state read ahead (checked against its digest then), not
    /// the file read again: a state section damaged after the read does not reach it, and
    /// does the next time, when nothing read ahead is left.
    #[test]
    fn the_ledger_gets_the_state_read_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let state = sealed_snapshot(dir.path());
        let store = SledStore::open_for_ledger(dir.path(), KEY).unwrap();
        // Let the read finish before the file changes.
        let mut preloaded = store.preloaded_state.lock().unwrap();
        let read = preloaded.take().expect("a read under the key").finish();
        *preloaded = Some(Pending::Read(read));
        drop(preloaded);
        let path = dir.path().join(snapshot::SNAPSHOT_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[215] ^= 1; // in the state section: the header is 210 bytes
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(
            store.sealed_snapshot_state(&KEY).unwrap(),
            Some((20, state))
        );
        assert_eq!(store.sealed_snapshot_state(&KEY).unwrap(), None);
        assert_eq!(store.head().size, 20);
    }
}
