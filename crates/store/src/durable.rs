//! The parts of durability the engine does not do for us: the format marker, fsync of the
//! engine's files and directories (sled 0.34's `flush` ends in `sync_file_range`, which
//! neither syncs file metadata nor issues a disk cache flush: sled issue 1452), and turning
//! operating-system errors into errors that say what is wrong.

use crate::StoreError;
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first line of the marker file; anything else means another format.
pub(crate) const FORMAT: &str = "covenant-store v5";
/// Marker file in the store directory.
pub(crate) const FORMAT_FILE: &str = "FORMAT";
/// The engine's own directory inside the store directory.
pub(crate) const ENGINE_DIR: &str = "sled";
/// Written first and renamed to [`FORMAT_FILE`] once the engine directory is durable.
const FORMAT_TEMP: &str = "FORMAT.tmp";

/// What the store directory holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DirState {
    /// Missing, empty, or a creation that stopped before the marker was written.
    Fresh,
    /// A marker for this format.
    Store,
}

/// Look at `dir` without changing anything in it.
pub(crate) fn inspect(dir: &Path) -> Result<DirState, StoreError> {
    let display = dir.display().to_string();
    let metadata = match std::fs::metadata(dir) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DirState::Fresh),
        Err(e) => return Err(io_error(dir, e)),
    };
    if !metadata.is_dir() {
        return Err(StoreError::NotAStore { path: display });
    }
    match std::fs::read(dir.join(FORMAT_FILE)) {
        Ok(marker) => check_marker(&marker).map(|()| DirState::Store),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let names = entry_names(dir)?;
            // A creation interrupted before the marker was renamed into place leaves only the
            // engine directory and the temporary marker: nothing was ever acknowledged there.
            let interrupted_creation = names
                .iter()
                .all(|name| name == ENGINE_DIR || name == FORMAT_TEMP || name == ".write-probe");
            if interrupted_creation {
                Ok(DirState::Fresh)
            } else {
                Err(StoreError::NotAStore { path: display })
            }
        }
        Err(e) => Err(io_error(&dir.join(FORMAT_FILE), e)),
    }
}

fn entry_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    let reader = std::fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
    let mut names = Vec::new();
    for item in reader {
        let item = item.map_err(|e| io_error(dir, e))?;
        names.push(item.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

fn check_marker(marker: &[u8]) -> Result<(), StoreError> {
    let text = String::from_utf8_lossy(marker);
    let found = text.lines().next().unwrap_or("").trim();
    // An older store is upgraded when the engine opens (`crate::upgrade`).
    let upgradable = [
        crate::upgrade::V2_FORMAT,
        crate::upgrade::V3_FORMAT,
        crate::upgrade::V4_FORMAT,
    ];
    if found == FORMAT || upgradable.contains(&found) {
        Ok(())
    } else {
        Err(StoreError::IncompatibleFormat {
            found: found.escape_debug().to_string(),
            expected: FORMAT.to_owned(),
        })
    }
}

/// Create `dir` (if needed) and check that it can be written, before the engine touches it.
pub(crate) fn prepare_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let probe = dir.join(".write-probe");
    File::create(&probe)
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| io_error(dir, e))
}

/// Written on a clean close with the head the store had, and removed on open: a store that
/// was closed cleanly must recover exactly that head. Without it, damage to the newest part of
/// the engine's log would look like a write torn by a crash, which the engine recovers from by
/// dropping the tail, and acknowledged entries would vanish without a word.
const CLOSED_FILE: &str = "CLOSED";

/// The head recorded at the last clean close, if the store was closed cleanly.
pub(crate) fn read_closed_head(dir: &Path) -> Result<Option<String>, StoreError> {
    let path = dir.join(CLOSED_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(&path, e)),
    }
}

/// Record a clean close: temporary file, fsync, rename, fsync the directory.
pub(crate) fn write_closed_head(dir: &Path, head_text: &str) -> Result<(), StoreError> {
    let temp = dir.join("CLOSED.tmp");
    let mut file = File::create(&temp).map_err(|e| io_error(&temp, e))?;
    file.write_all(head_text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&temp, e))?;
    let closed = dir.join(CLOSED_FILE);
    std::fs::rename(&temp, &closed).map_err(|e| io_error(&closed, e))?;
    sync_dir(dir)
}

/// Forget the clean close before anything is written: a crash from here on must not be
/// mistaken for damage.
pub(crate) fn remove_closed_head(dir: &Path) -> Result<(), StoreError> {
    let closed = dir.join(CLOSED_FILE);
    match std::fs::remove_file(&closed) {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(&closed, e)),
    }
}

/// Remove snapshots sled began and never finished.
///
/// sled 0.34 writes a snapshot as `snap.<lsn>.generating` and renames it to `snap.<lsn>` when
/// complete, and it also writes one while recovering on open. But when choosing the snapshot
/// to load it only skips names ending in `.in___motion`: after a crash in the middle of a
/// snapshot, the half-written `.generating` file sorts last, is loaded, fails its checksum,
/// and the database will not open (sled issues 1527 and 1533). A `.generating` file is never
/// a snapshot sled meant to use, and the log it summarises is still there, so removing it
/// makes sled fall back to the previous snapshot and replay the log from it.
pub(crate) fn remove_unfinished_snapshots(engine_dir: &Path) -> Result<(), StoreError> {
    let reader = match std::fs::read_dir(engine_dir) {
        Ok(reader) => reader,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(engine_dir, e)),
    };
    for item in reader {
        let item = item.map_err(|e| io_error(engine_dir, e))?;
        let name = item.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            let path = item.path();
            std::fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
        }
    }
    Ok(())
}

/// Whether the format marker in `dir` names this format (not one upgraded from).
pub(crate) fn marker_is_current(dir: &Path) -> Result<bool, StoreError> {
    let path = dir.join(FORMAT_FILE);
    let marker = std::fs::read(&path).map_err(|e| io_error(&path, e))?;
    Ok(String::from_utf8_lossy(&marker)
        .lines()
        .next()
        .map(str::trim)
        == Some(FORMAT))
}

/// Write the format marker durably: temporary file, fsync, rename, fsync the directory.
pub(crate) fn write_marker(dir: &Path) -> Result<(), StoreError> {
    let temp = dir.join(FORMAT_TEMP);
    let mut file = File::create(&temp).map_err(|e| io_error(&temp, e))?;
    file.write_all(format!("{FORMAT}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&temp, e))?;
    let marker = dir.join(FORMAT_FILE);
    std::fs::rename(&temp, &marker).map_err(|e| io_error(&marker, e))?;
    sync_dir(dir)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|e| io_error(dir, e))
}

/// Makes what sled flushed durable: fsync of its log file, of blob files it wrote since the
/// last call (sled writes blobs without syncing them), and of the directories whose entries
/// changed (new snapshot or blob files, renames, removals). A directory whose listing did not
/// change has nothing to sync: the log file's growth is file metadata, which the file's own
/// fsync covers.
pub(crate) struct Syncer {
    store_dir: PathBuf,
    engine_dir: PathBuf,
    log_file: File,
    log_path: PathBuf,
    synced_blobs: HashSet<OsString>,
    /// The engine directory's listing when it was last synced (`None`: never).
    synced_engine_names: Option<HashSet<OsString>>,
}

impl Syncer {
    pub fn new(store_dir: &Path) -> Result<Self, StoreError> {
        let engine_dir = store_dir.join(ENGINE_DIR);
        let log_path = engine_dir.join("db");
        let log_file = File::open(&log_path).map_err(|e| io_error(&log_path, e))?;
        Ok(Self {
            store_dir: store_dir.to_owned(),
            engine_dir,
            log_file,
            log_path,
            synced_blobs: HashSet::new(),
            synced_engine_names: None,
        })
    }

    /// Call after `sled::Db::flush` returned: from here on, the flushed writes survive power
    /// loss.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        // fsync through any descriptor of a file writes back all its dirty pages and its
        // size, whichever descriptor wrote them.
        self.log_file
            .sync_all()
            .map_err(|e| io_error(&self.log_path, e))?;
        self.sync_new_blobs()?;
        let names = names_in(&self.engine_dir)?;
        if self.synced_engine_names.as_ref() != Some(&names) {
            sync_dir(&self.engine_dir)?;
            self.synced_engine_names = Some(names);
        }
        Ok(())
    }

    fn sync_new_blobs(&mut self) -> Result<(), StoreError> {
        let blob_dir = self.engine_dir.join("blobs");
        let reader = match std::fs::read_dir(&blob_dir) {
            Ok(reader) => reader,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(&blob_dir, e)),
        };
        let mut changed = false;
        let mut present = HashSet::new();
        for item in reader {
            let item = item.map_err(|e| io_error(&blob_dir, e))?;
            let name = item.file_name();
            if !self.synced_blobs.contains(&name) {
                let path = item.path();
                File::open(&path)
                    .and_then(|blob| blob.sync_all())
                    .map_err(|e| io_error(&path, e))?;
                changed = true;
            }
            present.insert(name);
        }
        // Blobs sled removed are forgotten so the set stays as small as the directory.
        changed |= present.len() != self.synced_blobs.len();
        self.synced_blobs = present;
        if changed {
            sync_dir(&blob_dir)?;
        }
        Ok(())
    }

    /// Sync the store directory itself (after creation).
    pub fn sync_store_dir(&self) -> Result<(), StoreError> {
        sync_dir(&self.store_dir)
    }
}

fn names_in(dir: &Path) -> Result<HashSet<OsString>, StoreError> {
    let reader = std::fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
    reader
        .map(|item| {
            item.map(|item| item.file_name())
                .map_err(|e| io_error(dir, e))
        })
        .collect()
}

/// Name what went wrong with a file-system operation on `path`. The engine sometimes wraps
/// the operating system's error in one of its own kind, so the kind is checked too.
pub(crate) fn io_error(path: &Path, error: std::io::Error) -> StoreError {
    use std::io::ErrorKind;
    let path_text = path.display().to_string();
    let full = matches!(
        error.raw_os_error(),
        Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG)
    ) || matches!(
        error.kind(),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge
    );
    let read_only = matches!(
        error.raw_os_error(),
        Some(libc::EROFS) | Some(libc::EACCES) | Some(libc::EPERM)
    ) || matches!(
        error.kind(),
        ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied
    );
    if full {
        StoreError::DiskFull { path: path_text }
    } else if read_only {
        StoreError::ReadOnly {
            path: path_text,
            reason: error.to_string(),
        }
    } else {
        StoreError::Io {
            path: path_text,
            error,
        }
    }
}

/// The log segment size of a new engine: 8 MiB rather than sled's 512 KiB. sled reads the
/// header of every segment in its file when it opens, one read each, so with the page cache
/// cold a store of ten million entries (a 4.3 GB file) reads about 540 headers instead of
/// 8,600, and the projections beside it (19 GB) 2,300 instead of 37,000.
pub const SEGMENT_BYTES: usize = 8 << 20;

/// The size every engine created before the store chose one has.
const SLED_DEFAULT_SEGMENT_BYTES: usize = 512 << 10;

/// A sled configuration for the engine in `dir`: its path, and the segment size it was
/// created with (sled refuses to open an engine with any other), or [`SEGMENT_BYTES`] for a
/// new one. The caller adds the cache and the mode.
pub fn sled_config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .segment_size(segment_size(dir))
}

/// The segment size sled recorded in `conf` (lines such as `segment_size: 524288`, then a
/// 4-byte checksum); for an engine with data but no readable record, the one it was made
/// with before the store chose one.
fn segment_size(dir: &Path) -> usize {
    let recorded = std::fs::read(dir.join("conf")).ok().and_then(|bytes| {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().saturating_sub(4)]).into_owned();
        text.lines()
            .find_map(|line| line.strip_prefix("segment_size: ")?.parse().ok())
    });
    match recorded {
        Some(size) => size,
        None if dir.join("db").exists() => SLED_DEFAULT_SEGMENT_BYTES,
        None => SEGMENT_BYTES,
    }
}

/// Open a sled database, waiting a moment if its lock is held.
///
/// sled's I/O threads can hold the database file, and with it the lock, for a moment after the
/// last handle is dropped, so a database closed and reopened by one process may briefly look
/// locked. Another process holding it stays locked past the wait, and that error is returned.
pub fn open_sled(config: &sled::Config) -> sled::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match config.open() {
            Err(error) if is_lock_error(&error) && started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// Free the tree nodes sled replaced while applying a batch of `writes` keys.
///
/// sled 0.34 copies a node on every insert and hands the old copy to crossbeam-epoch's global
/// collector, which frees a few bags of garbage whenever a thread pins. `apply_batch` pins once
/// for all its inserts, so a run of large batches makes garbage far faster than pins collect
/// it: projecting 350 000 commitments in batches of 8 192 grew to 23 GB and was killed, with
/// the engine's own cache set to 1 GiB (sled issue 1303). Each flush collects up to eight bags
/// of 64; one flush per 16 writes keeps the garbage level with what a batch makes.
pub fn reclaim_after_batch(writes: usize) {
    for _ in 0..writes / 16 + 64 {
        crossbeam_epoch::pin().flush();
    }
}

/// How long opening waits for a lock released by this process's own closed database.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn is_lock_error(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

/// Name what went wrong inside sled.
pub(crate) fn engine_error(store_dir: &Path, error: sled::Error) -> StoreError {
    match error {
        sled::Error::Io(_) if is_lock_error(&error) => StoreError::Locked {
            path: store_dir.display().to_string(),
        },
        sled::Error::Io(io) => io_error(&store_dir.join(ENGINE_DIR), io),
        sled::Error::Corruption { at, .. } => StoreError::CorruptMetadata(format!(
            "the storage engine found a damaged record{}",
            at.map(|at| format!(" at {at:?}")).unwrap_or_default()
        )),
        other => StoreError::Engine(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An I/O error names its path and its cause once, printed alone or with its chain (as
    /// anyhow's `{:#}` prints it).
    #[test]
    fn an_io_error_prints_its_cause_once() {
        let error = io_error(
            Path::new("/srv/log/engine"),
            std::io::Error::from_raw_os_error(libc::EIO),
        );
        let mut printed = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            printed.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        assert!(printed.starts_with("I/O on /srv/log/engine: "), "{printed}");
        assert_eq!(printed.matches("os error").count(), 1, "{printed}");
    }

    /// A new engine gets the store's segment size; one made with sled's default, or whose
    /// record of it is gone, keeps sled's, and opens with it (any other would be refused).
    #[test]
    fn an_engine_keeps_the_segment_size_it_was_made_with() {
        let scratch = tempfile::tempdir().unwrap();
        let new = scratch.path().join("new");
        assert_eq!(segment_size(&new), SEGMENT_BYTES);
        let db = open_sled(&sled_config(&new)).unwrap();
        db.insert(b"k", b"v").unwrap();
        db.flush().unwrap();
        drop(db);
        assert_eq!(segment_size(&new), SEGMENT_BYTES);
        let conf = std::fs::read(new.join("conf")).unwrap();
        assert!(
            String::from_utf8_lossy(&conf).contains("segment_size: 8388608"),
            "{conf:?}"
        );

        let old = scratch.path().join("old");
        let db = open_sled(&sled::Config::new().path(&old)).unwrap();
        db.insert(b"k", b"v").unwrap();
        db.flush().unwrap();
        drop(db);
        assert_eq!(segment_size(&old), SLED_DEFAULT_SEGMENT_BYTES);
        std::fs::remove_file(old.join("conf")).unwrap();
        assert_eq!(segment_size(&old), SLED_DEFAULT_SEGMENT_BYTES);
        let db = open_sled(&sled_config(&old)).unwrap();
        assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        drop(db);
        // sled refuses the other size: why the record is read, not assumed.
        let other = sled::Config::new().path(&old).segment_size(SEGMENT_BYTES);
        assert!(open_sled(&other).is_err());
    }

    #[test]
    fn opening_waits_for_a_lock_released_moments_later_but_not_forever() {
        let scratch = tempfile::tempdir().unwrap();
        let config = sled::Config::new().path(scratch.path().join("db"));
        let held = open_sled(&config).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            drop(held);
        });
        let reopened = open_sled(&config).expect("the lock is released within the wait");
        release.join().unwrap();
        let started = std::time::Instant::now();
        match open_sled(&config) {
            Err(error) => assert!(is_lock_error(&error), "{error}"),
            Ok(_) => panic!("a database held open must stay locked"),
        }
        assert!(
            started.elapsed() >= LOCK_WAIT,
            "gave up before the wait was over"
        );
        drop(reopened);
    }

    #[test]
    fn marker_check_names_the_format_found() {
        assert!(check_marker(b"covenant-store v3\n").is_ok());
        // Upgraded when the engine opens.
        assert!(check_marker(b"covenant-store v2\n").is_ok());
        match check_marker(b"covenant-store v1\n") {
            Err(StoreError::IncompatibleFormat { found, expected }) => {
                assert_eq!(found, "covenant-store v1");
                assert_eq!(expected, FORMAT);
            }
            other => panic!("expected an incompatible format, got {other:?}"),
        }
    }

    #[test]
    fn disk_errors_are_named() {
        let full = io_error(
            Path::new("/x"),
            std::io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert!(matches!(full, StoreError::DiskFull { .. }));
        let read_only = io_error(
            Path::new("/x"),
            std::io::Error::from_raw_os_error(libc::EROFS),
        );
        assert!(matches!(read_only, StoreError::ReadOnly { .. }));
    }
}
