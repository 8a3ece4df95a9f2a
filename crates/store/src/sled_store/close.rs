//! The clean-close record, which dropping the store writes and the next open compares with
//! what the engine recovered.

use super::SledStore;
use crate::durable;
use crate::{Head, LogReader, StoreError};

impl SledStore {
    /// After a clean close the engine must recover the head and the latest checkpoint the
    /// store closed with. The checkpoint is written after its batch, so it is often the newest
    /// record in the engine's log, the first one a recovery that drops a damaged tail loses.
    pub(super) fn check_closed_head(&self) -> Result<(), StoreError> {
        if let Some(closed) = durable::read_closed_head(&self.dir)? {
            let recovered = closed_record(&self.current_meta().head, &self.latest_checkpoint()?);
            // Records written before the checkpoint line existed hold the head alone.
            let mut compared = recovered.lines().zip(closed.lines());
            if let Some((recovered, closed)) = compared.find(|(r, c)| r != c) {
                return Err(StoreError::CorruptMetadata(format!(
                    "the store was closed at {} but the engine recovered {}",
                    closed.trim(),
                    recovered.trim()
                )));
            }
        }
        durable::remove_closed_head(&self.dir)
    }
}

/// The clean-close record: the head, then the latest checkpoint (its size and the blake3
/// of its note, which changes when cosignatures are added).
fn closed_record(head: &Head, latest_checkpoint: &Option<(u64, Vec<u8>)>) -> String {
    let checkpoint = match latest_checkpoint {
        Some((size, note)) => format!("size {size} note {}", blake3::hash(note).to_hex()),
        None => "none".to_owned(),
    };
    format!(
        "size {} root {} chain {} stream {}\ncheckpoint {checkpoint}\n",
        head.size,
        hex_of(&head.root.0),
        hex_of(&head.chain_head),
        head.stream_seq
    )
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // The warming thread reads the engine; it stops before the engine closes.
        drop(
            self.warmer
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
        if self.lock_writer_unchecked().failed.is_some() {
            return;
        }
        // Failing here only loses the extra check on the next open, never data: every batch
        // was durable before its append returned.
        let head = self.current_meta().head;
        let closed = self
            .engine()
            .and_then(|engine| {
                engine
                    .db
                    .flush()
                    .map_err(|e| durable::engine_error(&self.dir, e))
            })
            .and_then(|_| self.lock_writer_unchecked().syncer.sync())
            .and_then(|()| self.latest_checkpoint());
        if let Ok(latest_checkpoint) = closed {
            let record = closed_record(&head, &latest_checkpoint);
            let _ = durable::write_closed_head(&self.dir, &record);
        }
    }
}
