//! The on-disk outbox: one file per event not yet acknowledged by JetStream.
//!
//! A file is named `<sequence>-<event id>.env` and holds the envelope bytes exactly as they will
//! be published. The sequence (20 zero-padded digits) keeps the publish order across restarts,
//! which matters because an action must reach the ledger after the commitment it serves.
//! Writes go to `.tmp` files that are made durable and then renamed, and the directory is
//! fsynced, so a file that exists under its final name is complete. One emitter process owns an outbox directory at a time.

use crate::EmitError;
use crate::build::SealedEvent;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const PENDING_SUFFIX: &str = ".env";
const TEMPORARY_SUFFIX: &str = ".tmp";

#[derive(Debug)]
pub(crate) struct Outbox {
    dir: PathBuf,
    state: Mutex<OutboxState>,
}

#[derive(Debug, Default)]
struct OutboxState {
    next_sequence: u64,
    /// Pending files by event id, so the same event is never queued twice.
    pending: HashMap<String, PathBuf>,
}

impl Outbox {
    /// Open (creating it if needed) and tidy the outbox: half-written `.tmp` files are from
    /// writes that never completed, so their events were never published and are removed.
    pub fn open(dir: &Path) -> Result<Self, EmitError> {
        let io = |source| EmitError::Outbox {
            path: dir.to_owned(),
            source,
        };
        fs::create_dir_all(dir).map_err(io)?;
        let mut state = OutboxState::default();
        for (name, path) in list(dir)? {
            if name.ends_with(TEMPORARY_SUFFIX) {
                fs::remove_file(&path).map_err(io)?;
            } else if let Some((sequence, event_id)) = parse_name(&name) {
                state.next_sequence = state.next_sequence.max(sequence + 1);
                state.pending.insert(event_id.to_owned(), path);
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            state: Mutex::new(state),
        })
    }

    /// Every pending event, in the order it was queued.
    pub fn pending(&self) -> Result<Vec<SealedEvent>, EmitError> {
        let mut paths: Vec<PathBuf> = self.lock().pending.values().cloned().collect();
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let bytes = fs::read(&path).map_err(|source| EmitError::Outbox {
                    path: path.clone(),
                    source,
                })?;
                SealedEvent::from_bytes(bytes).map_err(|error| EmitError::OutboxCorrupt {
                    path: path.clone(),
                    reason: error.to_string(),
                })
            })
            .collect()
    }

    /// Make events durable in the outbox before they are published. An event already pending
    /// keeps its file (and place in the order).
    ///
    /// All new files are written under temporary names first, made durable together, and only
    /// then renamed to their final names, so a file with a final name is always complete.
    pub fn put_all(&self, events: &[SealedEvent]) -> Result<Vec<PathBuf>, EmitError> {
        let mut paths = Vec::with_capacity(events.len());
        let mut written: Vec<(PathBuf, PathBuf, &str)> = vec![];
        let mut written_here: HashMap<&str, PathBuf> = HashMap::new();
        for event in events {
            let existing = self.lock().pending.get(&event.event_id).cloned();
            if let Some(path) = existing {
                paths.push(path);
                continue;
            }
            if let Some(path) = written_here.get(event.event_id.as_str()) {
                paths.push(path.clone());
                continue;
            }
            let sequence = {
                let mut state = self.lock();
                state.next_sequence += 1;
                state.next_sequence - 1
            };
            let path = self
                .dir
                .join(format!("{sequence:020}-{}{PENDING_SUFFIX}", event.event_id));
            let temporary = path.with_extension(&TEMPORARY_SUFFIX[1..]);
            write_file(&temporary, &event.bytes)?;
            written.push((path.clone(), temporary, &event.event_id));
            written_here.insert(&event.event_id, path.clone());
            paths.push(path);
        }
        if written.is_empty() {
            return Ok(paths);
        }
        let temporaries: Vec<&Path> = written.iter().map(|(_, t, _)| t.as_path()).collect();
        make_durable(&self.dir, &temporaries)?;
        for (path, temporary, event_id) in &written {
            fs::rename(temporary, path).map_err(|source| EmitError::Outbox {
                path: path.clone(),
                source,
            })?;
            self.lock()
                .pending
                .insert((*event_id).to_owned(), path.clone());
        }
        sync_dir(&self.dir)?;
        Ok(paths)
    }

    /// Forget an acknowledged event. If this removal is lost in a crash the event is simply
    /// re-sent on the next start, which is a harmless duplicate, so the directory is not
    /// fsynced here.
    pub fn remove(&self, event_id: &str) -> Result<(), EmitError> {
        let Some(path) = self.lock().pending.remove(event_id) else {
            return Ok(());
        };
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(EmitError::Outbox { path, source }),
        }
    }

    pub fn len(&self) -> usize {
        self.lock().pending.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OutboxState> {
        // The state is a map and a counter updated in single statements; a panic elsewhere
        // cannot leave it half-changed, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn list(dir: &Path) -> Result<Vec<(String, PathBuf)>, EmitError> {
    let io = |source| EmitError::Outbox {
        path: dir.to_owned(),
        source,
    };
    let mut entries = vec![];
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if let Ok(name) = entry.file_name().into_string() {
            entries.push((name, entry.path()));
        }
    }
    Ok(entries)
}

/// `<sequence>-<event id>.env` -> (sequence, event id).
fn parse_name(name: &str) -> Option<(u64, &str)> {
    let stem = name.strip_suffix(PENDING_SUFFIX)?;
    let (sequence, event_id) = stem.split_once('-')?;
    Some((sequence.parse().ok()?, event_id))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), EmitError> {
    let mut file = fs::File::create(path).map_err(|source| EmitError::Outbox {
        path: path.to_owned(),
        source,
    })?;
    file.write_all(bytes).map_err(|source| EmitError::Outbox {
        path: path.to_owned(),
        source,
    })
}

/// Files at least this many are made durable with one `syncfs` rather than one fsync each:
/// every fsync waits for its own journal commit, which makes a file of thousands of rows take
/// minutes.
const SYNCFS_FROM: usize = 8;

/// fsync the files' contents (they are all in `dir`).
fn make_durable(dir: &Path, files: &[&Path]) -> Result<(), EmitError> {
    #[cfg(target_os = "linux")]
    if files.len() >= SYNCFS_FROM {
        return syncfs(dir);
    }
    let _ = dir;
    for path in files {
        fs::File::open(path)
            .and_then(|file| file.sync_all())
            .map_err(|source| EmitError::Outbox {
                path: path.to_path_buf(),
                source,
            })?;
    }
    Ok(())
}

/// Flush everything written to the file system holding `dir` (Linux `syncfs(2)`, which
/// reports write-back errors since Linux 5.8).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // one libc call: std has no syncfs
fn syncfs(dir: &Path) -> Result<(), EmitError> {
    use std::os::fd::AsRawFd;
    let io = |source| EmitError::Outbox {
        path: dir.to_owned(),
        source,
    };
    let handle = fs::File::open(dir).map_err(io)?;
    // SAFETY: the descriptor is open for the duration of the call.
    if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
        return Err(io(std::io::Error::last_os_error()));
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), EmitError> {
    fs::File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|source| EmitError::Outbox {
            path: dir.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{Speaker, Withdrawal};
    use covenant_core::signing::EventSigner;

    fn events(count: usize) -> Vec<SealedEvent> {
        let speaker = Speaker::new("GB-GOV-23", "k", EventSigner::from_seed([2; 32])).unwrap();
        (0..count)
            .map(|i| {
                speaker
                    .seal(Withdrawal::new(format!("c-{i}"), "dropped"), 1_000)
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn pending_events_survive_reopening_in_order() {
        let dir = tempfile::tempdir().unwrap();
        // A small batch is fsynced file by file, a large one with one flush of the file system.
        let queued = events(5 + 2 * SYNCFS_FROM);
        {
            let outbox = Outbox::open(dir.path()).unwrap();
            outbox.put_all(&queued[..5]).unwrap();
            outbox.put_all(&queued[5..]).unwrap();
            assert!(
                fs::read_dir(dir.path()).unwrap().all(|entry| entry
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".env")),
                "no temporary file is left behind"
            );
            outbox.remove(&queued[3].event_id).unwrap();
        }
        let reopened = Outbox::open(dir.path()).unwrap();
        let pending = reopened.pending().unwrap();
        let mut expected = queued.clone();
        expected.remove(3);
        assert_eq!(pending, expected);
        // New events go after the old ones.
        let more = events(1);
        reopened.put_all(&more).unwrap();
        assert_eq!(reopened.pending().unwrap().last().unwrap(), &more[0]);
    }

    #[test]
    fn the_same_event_is_queued_once() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        let queued = events(1);
        let first = outbox.put_all(&queued).unwrap();
        let second = outbox.put_all(&queued).unwrap();
        assert_eq!(first, second);
        let twice_in_one_batch = outbox
            .put_all(&[queued[0].clone(), queued[0].clone()])
            .unwrap();
        assert_eq!(twice_in_one_batch, [first[0].clone(), first[0].clone()]);
        assert_eq!(outbox.len(), 1);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn half_written_files_are_dropped_and_corrupt_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("00000000000000000000-X.tmp"), b"partial").unwrap();
        fs::write(dir.path().join("notes.txt"), b"not ours").unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        assert!(!dir.path().join("00000000000000000000-X.tmp").exists());
        assert!(dir.path().join("notes.txt").exists());
        assert_eq!(outbox.len(), 0);

        let corrupt = dir
            .path()
            .join("00000000000000000007-01JZ0000000000000000000000.env");
        fs::write(&corrupt, b"\xff\xff garbage").unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        let error = outbox.pending().unwrap_err().to_string();
        assert!(error.contains("00000000000000000007-01JZ"), "{error}");
        assert!(corrupt.exists(), "a corrupt file is kept for the operator");
    }
}
