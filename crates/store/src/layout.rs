//! How values are laid out in the engine's trees: every encoding and decoding of keys and
//! values lives here, so the on-disk format (version 5) is written down in one place.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `entries` | seq of the record's first entry (u64 BE) | a record: 1 to 16 entries as one zstd frame, see below |
//! | `hashes` | index of the record's first stored hash (u64 BE) | the stored hashes the record's entries added, 32 bytes each |
//! | `prints` | seq of the batch's first entry (u64 BE) | the fingerprint of each of the batch's event ids (`event_index::fingerprint`, u64 BE), in entry order |
//! | `state` | seq of the batch's first entry (u64 BE) | the batch's state changes, see [`encode_state_changes`], and its seal when it was appended with a seal key ([`seal_state_record`], since v5) |
//! | `rejections` | stored_at_ns (u64 BE) + rejection number (u64 BE) | see [`encode_rejection`] |
//! | `rejections_by_event` | id length (u32 BE) + event id + rejection key | empty |
//! | `checkpoints` | tree size (u64 BE) | signed note |
//! | `door_refusals` | refusal counter (u64 BE), oldest dropped past `MAX_DOOR_REFUSALS` | see [`encode_rejection`] |
//! | `door_refusals_by_event` | id length (u32 BE) + event id + refusal key | empty |
//! | default tree | `format`, `head`, `compressed_from` | format marker, [`Meta`], the first compressed record (u64 BE) |
//!
//! Entries are stored in records of consecutive entries from one batch (at most
//! [`RECORD_MAX_ENTRIES`] and about [`RECORD_MAX_BYTES`]), with the stored hashes they added in
//! a matching record of the hashes tree. The engine's cost is per item, not per byte (every
//! insert rewrites a node and leaves garbage for its log cleaner), so one item per record
//! instead of three per entry is what makes appends fast and the store compact. Within a
//! record each entry is its canonical encoding without the version byte and the sequence
//! number, which the format and the record's key imply; the canonical encoding
//! (`covenant_core::entry`) is rebuilt on read.
//!
//! Since format v4 a record is stored as one zstd frame of those bytes ([`compress_record`]),
//! declaring its size and ending in a checksum. Entries are mostly text, which zstd halves, and
//! every byte a record saves is saved again in each superseded copy the engine keeps in its
//! log. A store upgraded from v3 keeps its older records as they were: the meta record
//! [`META_COMPRESSED_FROM`] holds the first sequence number whose record is compressed (0 in a
//! store created as v4 or later), so which form a record has is never guessed from its bytes.
//!
//! The event-id index lives in memory (`crate::event_index`); on disk it is one record per
//! batch of 8-byte fingerprints, so an append writes nothing per event for it. A lookup that
//! finds a fingerprint reads the entry and compares the id, which is rare (a redelivered
//! duplicate). Opening loads the newest snapshot (`crate::snapshot`) and the records after it.
//!
//! For the same reason the validation state is kept as a log, one record per batch holding
//! that batch's state changes in order, replayed on open (where the whole state is loaded into
//! memory anyway): one insert per batch instead of one per commitment, key or action. Opening
//! replays only the records after the newest snapshot. A ledger with a log key seals each
//! batch's record (`crate::seal`), inside the same insert, so that its open can take the
//! records after the snapshot as they are instead of re-deriving them.

use crate::seal::Seal;
use crate::{Head, RejectionRecord};
use covenant_core::MAX_ENVELOPE_BYTES;
use covenant_core::entry::{ENTRY_HEADER_BYTES, ENTRY_VERSION};
use covenant_core::merkle::Hash;
use covenant_core::validate::{RejectCode, StateChange};
use std::borrow::Cow;
use std::cell::RefCell;

pub(crate) const TREE_ENTRIES: &str = "entries";
pub(crate) const TREE_HASHES: &str = "hashes";
pub(crate) const TREE_PRINTS: &str = "prints";
pub(crate) const TREE_STATE: &str = "state";
pub(crate) const TREE_REJECTIONS: &str = "rejections";
pub(crate) const TREE_REJECTIONS_BY_EVENT: &str = "rejections_by_event";
pub(crate) const TREE_CHECKPOINTS: &str = "checkpoints";
/// Refusals at the HTTPS door, keyed by a counter (`seq_key`), oldest first.
pub(crate) const TREE_DOOR_REFUSALS: &str = "door_refusals";
/// `rejection_event_prefix(event id)` + the counter key: the door refusals of one event id.
pub(crate) const TREE_DOOR_REFUSALS_BY_EVENT: &str = "door_refusals_by_event";

pub(crate) const META_FORMAT: &[u8] = b"format";
pub(crate) const META_HEAD: &[u8] = b"head";
/// The first sequence number whose entries record is a zstd frame (u64 BE; format v4).
pub(crate) const META_COMPRESSED_FROM: &[u8] = b"compressed_from";

/// A record holds at most this many entries...
pub(crate) const RECORD_MAX_ENTRIES: usize = 16;
/// ...and is closed once it holds this many bytes.
pub(crate) const RECORD_MAX_BYTES: usize = 16 * 1024;

/// Bytes of the canonical encoding a record leaves out: version and sequence number.
const IMPLIED_BYTES: usize = 1 + 8;

/// The most bytes a record can hold before compression: it closes once past
/// [`RECORD_MAX_BYTES`], so at most one largest entry beyond it. A compressed record declaring
/// more is damaged, and is refused before anything is allocated for it.
const RECORD_PLAIN_MAX_BYTES: usize =
    RECORD_MAX_BYTES + ENTRY_HEADER_BYTES - IMPLIED_BYTES + MAX_ENVELOPE_BYTES;

/// zstd's fastest level: on records of prose it keeps 0.53 to 0.57 of the bytes at about 1.2 µs
/// an entry (`just bench store`), where level 3 keeps 0.526 at 1.6 µs and level 6 0.520 at
/// 4.5 µs (measured on the same records): the fastest keeps nearly all of the gain.
const RECORD_ZSTD_LEVEL: i32 = 1;

thread_local! {
    /// Contexts are reused: making one per record would cost more than compressing it.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

/// A record's stored form (format v4): its plain bytes as one zstd frame that declares its
/// size and ends in a checksum of the content.
pub fn compress_record(plain: &[u8]) -> Vec<u8> {
    COMPRESSOR.with_borrow_mut(|slot| {
        let compressor = match slot {
            Some(compressor) => compressor,
            None => slot.insert(new_compressor()),
        };
        // Compressing bytes in memory with a working context fails only when memory does.
        compressor
            .compress(plain)
            .expect("zstd compresses a record held in memory")
    })
}

fn new_compressor() -> zstd::bulk::Compressor<'static> {
    let mut compressor =
        zstd::bulk::Compressor::new(RECORD_ZSTD_LEVEL).expect("zstd makes a compression context");
    compressor
        .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
        .expect("zstd takes the checksum flag");
    compressor
}

/// The plain bytes of the entries record whose first entry is `first_seq`, in a store whose
/// records are compressed from `compressed_from` on. A damaged frame is named by the record's
/// first entry, and costs no more memory than the largest record.
pub(crate) fn plain_record(
    first_seq: u64,
    stored: &[u8],
    compressed_from: u64,
) -> Result<Cow<'_, [u8]>, (u64, String)> {
    if first_seq < compressed_from {
        return Ok(Cow::Borrowed(stored));
    }
    let declared = match zstd::zstd_safe::get_frame_content_size(stored) {
        Ok(Some(size)) => size,
        Ok(None) => {
            return Err((
                first_seq,
                "the compressed record does not declare its size".to_owned(),
            ));
        }
        Err(_) => {
            return Err((
                first_seq,
                "the record is not a zstd frame (format v4 compresses every record)".to_owned(),
            ));
        }
    };
    if declared > RECORD_PLAIN_MAX_BYTES as u64 {
        return Err((
            first_seq,
            format!(
                "the compressed record declares {declared} bytes, more than a record holds \
                 ({RECORD_PLAIN_MAX_BYTES})"
            ),
        ));
    }
    let plain = DECOMPRESSOR.with_borrow_mut(|slot| {
        let decompressor = match slot {
            Some(decompressor) => decompressor,
            None => slot.insert(zstd::bulk::Decompressor::new()?),
        };
        decompressor.decompress(stored, declared as usize)
    });
    // zstd checks the content against the declared size and the checksum.
    plain.map(Cow::Owned).map_err(|error| {
        (
            first_seq,
            format!("the compressed record does not decompress: {error}"),
        )
    })
}

pub(crate) fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Read a big-endian u64 key; `None` if it is not 8 bytes.
pub(crate) fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// Add a canonically encoded (and well-formed) entry to a record value.
pub(crate) fn push_entry(record: &mut Vec<u8>, encoded_entry: &[u8]) {
    record.extend_from_slice(&encoded_entry[IMPLIED_BYTES..]);
}

/// The entries of a record whose first entry is `first_seq`, as stored parts. On a
/// malformed record, the error names the first entry that cannot be read.
pub(crate) fn record_entries(first_seq: u64, record: &[u8]) -> Result<Vec<&[u8]>, (u64, String)> {
    let stored_header = ENTRY_HEADER_BYTES - IMPLIED_BYTES;
    let mut parts = Vec::new();
    let mut rest = record;
    while !rest.is_empty() {
        let seq = first_seq + parts.len() as u64;
        if rest.len() < stored_header {
            return Err((
                seq,
                format!(
                    "the record ends {} bytes into the entry's header",
                    rest.len()
                ),
            ));
        }
        let declared = u32::from_be_bytes(
            rest[stored_header - 4..stored_header]
                .try_into()
                .expect("4 bytes"),
        );
        let len = stored_header + declared as usize;
        if rest.len() < len {
            return Err((
                seq,
                format!("the entry declares a {declared}-byte envelope but the record ends first"),
            ));
        }
        let (part, tail) = rest.split_at(len);
        parts.push(part);
        rest = tail;
    }
    if parts.is_empty() {
        return Err((first_seq, "the record holds no entries".to_owned()));
    }
    Ok(parts)
}

/// The canonical encoding of entry `seq` from its stored part.
pub(crate) fn entry_bytes(seq: u64, part: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(IMPLIED_BYTES + part.len());
    out.push(ENTRY_VERSION);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(part);
    out
}

/// Hash `offset` of a hashes-tree record, if the record is that long.
pub(crate) fn hash_in_record(record: &[u8], offset: u64) -> Option<Hash> {
    let start = usize::try_from(offset).ok()?.checked_mul(32)?;
    let bytes: [u8; 32] = record.get(start..start + 32)?.try_into().ok()?;
    Some(Hash(bytes))
}

pub(crate) fn encode_prints(prints: &[u64]) -> Vec<u8> {
    prints
        .iter()
        .flat_map(|print| print.to_be_bytes())
        .collect()
}

pub(crate) fn decode_prints(record: &[u8]) -> Result<Vec<u64>, String> {
    if record.is_empty() || !record.len().is_multiple_of(8) {
        return Err(format!(
            "the event index record is {} bytes, not a positive multiple of 8",
            record.len()
        ));
    }
    Ok(record
        .chunks_exact(8)
        .map(|chunk| decode_u64(chunk).expect("chunks are 8 bytes"))
        .collect())
}

/// One state change as a tag-and-id key and a value.
fn encode_state_change(change: &StateChange) -> Result<(Vec<u8>, Vec<u8>), String> {
    let keyed = |tag: u8, id: &str| [&[tag], id.as_bytes()].concat();
    let (key, value) = match change {
        StateChange::Genesis(genesis) => (vec![b'g'], encoded(genesis)?),
        StateChange::Actor(id, record) => (keyed(b'a', id), encoded(record)?),
        StateChange::Key(id, record) => (keyed(b'k', id), encoded(record)?),
        StateChange::Commitment(id, record) => (keyed(b'c', id), encoded(record)?),
        StateChange::Action(id, owner) => (keyed(b'x', id), owner.as_bytes().to_vec()),
        StateChange::Retracted(id) => (keyed(b'r', id), Vec::new()),
        StateChange::Terms(id, terms) => (keyed(b't', id), encoded(terms)?),
    };
    Ok((key, value))
}

/// The state change a key and value from [`encode_state_change`] stand for.
fn decode_state_change(key: &[u8], value: &[u8]) -> Result<StateChange, String> {
    let Some((&tag, id)) = key.split_first() else {
        return Err("state change has an empty key".to_owned());
    };
    let id = || {
        std::str::from_utf8(id)
            .map(str::to_owned)
            .map_err(|_| "state change id is not UTF-8".to_owned())
    };
    let parse_error =
        |e: postcard::Error| format!("state change {:?}: {e}", String::from_utf8_lossy(key));
    Ok(match tag {
        b'g' => StateChange::Genesis(postcard::from_bytes(value).map_err(parse_error)?),
        b'a' => StateChange::Actor(id()?, postcard::from_bytes(value).map_err(parse_error)?),
        b'k' => StateChange::Key(id()?, postcard::from_bytes(value).map_err(parse_error)?),
        b'c' => StateChange::Commitment(id()?, postcard::from_bytes(value).map_err(parse_error)?),
        b'x' => StateChange::Action(
            id()?,
            std::str::from_utf8(value)
                .map_err(|_| "action owner is not UTF-8".to_owned())?
                .to_owned(),
        ),
        b'r' => StateChange::Retracted(id()?),
        b't' => StateChange::Terms(id()?, postcard::from_bytes(value).map_err(parse_error)?),
        other => return Err(format!("state change has unknown tag {other:#04x}")),
    })
}

/// A state record: the changes of one batch in order, each as key length (u32 BE), key, value
/// length (u32 BE), value, with key and value as [`encode_state_change`] writes them.
pub(crate) fn encode_state_changes(changes: &[StateChange]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for change in changes {
        let (key, value) = encode_state_change(change)?;
        for part in [&key, &value] {
            let len = u32::try_from(part.len())
                .map_err(|_| format!("state change of {} bytes is too large", part.len()))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    Ok(out)
}

/// The key of the item that seals a state record ([`seal_state_record`]): no change's key is
/// one byte `s`.
const SEAL_ITEM_KEY: &[u8] = b"s";

/// Seal a state record: append one more item, key [`SEAL_ITEM_KEY`] and the seal as value,
/// made over the record as it was (`crate::seal`). Since format v5; a sealed record may hold
/// no changes, so that every batch of a sealed log has one.
pub(crate) fn seal_state_record(record: &mut Vec<u8>, seal: &Seal) {
    let value = seal.encode();
    for part in [SEAL_ITEM_KEY, &value[..]] {
        record.extend_from_slice(&(part.len() as u32).to_be_bytes());
        record.extend_from_slice(part);
    }
}

/// A state record read back: its changes, and its seal with the length of the bytes before
/// the seal (what the seal is over), if it has one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StateRecord {
    pub changes: Vec<StateChange>,
    pub seal: Option<(Seal, usize)>,
}

/// Read a state record: items in order, a seal only as the last.
pub(crate) fn decode_state_record(record: &[u8]) -> Result<StateRecord, String> {
    let mut rest = record;
    let mut changes = Vec::new();
    while !rest.is_empty() {
        let start = record.len() - rest.len();
        let key = take_u32_prefixed(&mut rest, changes.len(), "key")?;
        let value = take_u32_prefixed(&mut rest, changes.len(), "value")?;
        if key == SEAL_ITEM_KEY {
            if !rest.is_empty() {
                return Err("state record holds an item after its seal".to_owned());
            }
            let seal =
                Seal::decode(value).map_err(|problem| format!("state record's {problem}"))?;
            return Ok(StateRecord {
                changes,
                seal: Some((seal, start)),
            });
        }
        changes.push(decode_state_change(key, value)?);
    }
    if changes.is_empty() {
        return Err("state record holds no changes and no seal".to_owned());
    }
    Ok(StateRecord {
        changes,
        seal: None,
    })
}

/// The state changes of a state record, in order.
pub(crate) fn decode_state_changes(record: &[u8]) -> Result<Vec<StateChange>, String> {
    decode_state_record(record).map(|record| record.changes)
}

fn take_u32_prefixed<'a>(
    rest: &mut &'a [u8],
    index: usize,
    what: &str,
) -> Result<&'a [u8], String> {
    let cut_short = || format!("state record is cut short in change {index}'s {what}");
    let len_bytes: [u8; 4] = rest
        .get(..4)
        .ok_or_else(cut_short)?
        .try_into()
        .map_err(|_| cut_short())?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let part = rest.get(4..4 + len).ok_or_else(cut_short)?;
    *rest = &rest[4 + len..];
    Ok(part)
}

/// A record's compact serde encoding (postcard): it is decoded for every state change on
/// every open, where JSON cost several times as much.
fn encoded<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String> {
    postcard::to_allocvec(value).map_err(|e| e.to_string())
}

pub(crate) fn rejection_key(stored_at_ns: u64, number: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&stored_at_ns.to_be_bytes());
    key[8..].copy_from_slice(&number.to_be_bytes());
    key
}

/// Prefix of every `rejections_by_event` key for `event_id`.
pub(crate) fn rejection_event_prefix(event_id: &str) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(4 + event_id.len() + 16);
    prefix.extend_from_slice(&(event_id.len() as u32).to_be_bytes());
    prefix.extend_from_slice(event_id.as_bytes());
    prefix
}

/// Set in a rejection record's code-length byte when the digest of the rejected bytes follows
/// the message. Records written before it have no such digest: their `envelope` is always the
/// whole rejected envelope, so the digest is computed from it.
const REJECTION_HAS_DIGEST: u8 = 0x80;

/// `event_id (u32 length + bytes), stream_seq, stored_at_ns, code (u8 length with
/// REJECTION_HAS_DIGEST set + name), message (u32 length + bytes), digest (32 bytes), envelope
/// (the rest)`.
pub(crate) fn encode_rejection(record: &RejectionRecord) -> Vec<u8> {
    let code = record.code.as_str();
    let mut out = Vec::with_capacity(
        4 + record.event_id.len()
            + 16
            + 1
            + code.len()
            + 4
            + record.message.len()
            + 32
            + record.envelope.len(),
    );
    out.extend_from_slice(&(record.event_id.len() as u32).to_be_bytes());
    out.extend_from_slice(record.event_id.as_bytes());
    out.extend_from_slice(&record.stream_seq.to_be_bytes());
    out.extend_from_slice(&record.stored_at_ns.to_be_bytes());
    out.push(code.len() as u8 | REJECTION_HAS_DIGEST);
    out.extend_from_slice(code.as_bytes());
    out.extend_from_slice(&(record.message.len() as u32).to_be_bytes());
    out.extend_from_slice(record.message.as_bytes());
    out.extend_from_slice(&record.digest);
    out.extend_from_slice(&record.envelope);
    out
}

pub(crate) fn decode_rejection(value: &[u8]) -> Result<RejectionRecord, String> {
    let mut reader = Reader { rest: value };
    let event_id = reader.string_u32("event id")?;
    let stream_seq = reader.u64("stream sequence")?;
    let stored_at_ns = reader.u64("stored-at time")?;
    let code_byte = reader.take(1, "code length")?[0];
    let has_digest = code_byte & REJECTION_HAS_DIGEST != 0;
    let code_len = (code_byte & !REJECTION_HAS_DIGEST) as usize;
    let code_name = std::str::from_utf8(reader.take(code_len, "code")?)
        .map_err(|_| "rejection code is not UTF-8".to_owned())?;
    let code = RejectCode::ALL
        .into_iter()
        .find(|code| code.as_str() == code_name)
        .ok_or_else(|| format!("rejection code {code_name:?} is unknown"))?;
    let message = reader.string_u32("message")?;
    let digest = if has_digest {
        let digest = reader.take(32, "digest")?;
        <[u8; 32]>::try_from(digest).map_err(|_| "rejection digest is cut short".to_owned())?
    } else {
        *blake3::hash(reader.rest).as_bytes()
    };
    Ok(RejectionRecord {
        event_id,
        stream_seq,
        stored_at_ns,
        code,
        message,
        digest,
        envelope: reader.rest.to_vec(),
    })
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], String> {
        if self.rest.len() < len {
            return Err(format!("rejection record is cut short in its {what}"));
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let bytes = self.take(8, what)?;
        decode_u64(bytes).ok_or_else(|| format!("rejection {what} is malformed"))
    }

    fn string_u32(&mut self, what: &str) -> Result<String, String> {
        let len_bytes = self.take(4, what)?;
        let len = u32::from_be_bytes(len_bytes.try_into().map_err(|_| format!("{what} length"))?)
            as usize;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("rejection {what} is not UTF-8"))
    }
}

/// What the store keeps about itself besides the log: the head and the rejection counter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Meta {
    pub head: Head,
    /// Rejections recorded so far; the next one gets this number.
    pub rejection_count: u64,
}

pub(crate) const META_BYTES: usize = 8 + 32 + 32 + 8 + 8 + 8;

impl Meta {
    pub fn empty() -> Self {
        Self {
            head: Head {
                size: 0,
                chain_head: covenant_core::entry::GENESIS_PREVIOUS,
                root: covenant_core::merkle::EMPTY_HASH,
                last_stored_at_ns: 0,
                stream_seq: 0,
            },
            rejection_count: 0,
        }
    }

    pub fn encode(&self) -> [u8; META_BYTES] {
        let mut out = [0; META_BYTES];
        out[..8].copy_from_slice(&self.head.size.to_be_bytes());
        out[8..40].copy_from_slice(&self.head.chain_head);
        out[40..72].copy_from_slice(&self.head.root.0);
        out[72..80].copy_from_slice(&self.head.last_stored_at_ns.to_be_bytes());
        out[80..88].copy_from_slice(&self.head.stream_seq.to_be_bytes());
        out[88..96].copy_from_slice(&self.rejection_count.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() != META_BYTES {
            return Err(format!(
                "head record is {} bytes, expected {META_BYTES}",
                bytes.len()
            ));
        }
        let u64_at = |at: usize| decode_u64(&bytes[at..at + 8]).expect("length checked above");
        let hash_at = |at: usize| -> [u8; 32] {
            bytes[at..at + 32].try_into().expect("length checked above")
        };
        Ok(Self {
            head: Head {
                size: u64_at(0),
                chain_head: hash_at(8),
                root: Hash(hash_at(40)),
                last_stored_at_ns: u64_at(72),
                stream_seq: u64_at(80),
            },
            rejection_count: u64_at(88),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::entry::Entry;
    use covenant_core::validate::{ActorRecord, CommitmentRecord};

    #[test]
    fn a_compressed_record_reads_back_and_damage_is_named_by_its_first_entry() {
        let plain: Vec<u8> = b"We will build 300 new homes for key workers. "
            .iter()
            .copied()
            .cycle()
            .take(4_000)
            .collect();
        let stored = compress_record(&plain);
        assert!(stored.len() < plain.len() / 4, "repeated text compresses");
        assert_eq!(plain_record(7, &stored, 0).unwrap().as_ref(), &plain[..]);
        assert_eq!(plain_record(7, &stored, 7).unwrap().as_ref(), &plain[..]);
        // Below the first compressed record, a record is plain: handed back as it is.
        assert!(matches!(plain_record(6, &plain, 7), Ok(Cow::Borrowed(bytes)) if bytes == plain));
        // A plain record where a compressed one belongs is named, not read as entries.
        let (seq, problem) = plain_record(7, &plain, 7).unwrap_err();
        assert_eq!(seq, 7);
        assert!(problem.contains("not a zstd frame"), "{problem}");
        // A flipped byte in the compressed content fails the frame's checksum.
        let mut damaged = stored.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0x01;
        let (seq, problem) = plain_record(9, &damaged, 0).unwrap_err();
        assert_eq!(seq, 9);
        assert!(problem.contains("does not decompress"), "{problem}");
        // A truncated frame too.
        let (_, problem) = plain_record(9, &stored[..stored.len() - 1], 0).unwrap_err();
        assert!(problem.contains("does not decompress"), "{problem}");
    }

    #[test]
    fn a_compressed_record_declaring_more_than_a_record_holds_is_refused_before_reading() {
        let largest = vec![b'x'; RECORD_PLAIN_MAX_BYTES];
        assert_eq!(
            plain_record(0, &compress_record(&largest), 0)
                .unwrap()
                .len(),
            RECORD_PLAIN_MAX_BYTES
        );
        let too_large = vec![b'x'; RECORD_PLAIN_MAX_BYTES + 1];
        let (seq, problem) = plain_record(3, &compress_record(&too_large), 0).unwrap_err();
        assert_eq!(seq, 3);
        assert!(
            problem.contains(&format!("declares {} bytes", RECORD_PLAIN_MAX_BYTES + 1)),
            "{problem}"
        );
    }

    #[test]
    fn a_frame_that_does_not_declare_its_size_is_named() {
        // A streamed frame does not declare its size.
        let mut streamed = Vec::new();
        {
            use std::io::Write;
            let mut encoder = zstd::stream::Encoder::new(&mut streamed, 1).unwrap();
            encoder.write_all(b"entries").unwrap();
            encoder.finish().unwrap();
        }
        let (_, problem) = plain_record(0, &streamed, 0).unwrap_err();
        assert!(problem.contains("does not declare its size"), "{problem}");
    }

    #[test]
    fn records_round_trip_to_the_canonical_encoding() {
        let encoded: Vec<Vec<u8>> = (0..3)
            .map(|n| {
                Entry {
                    seq: 77 + n,
                    stored_at_ns: 123 + n,
                    previous: [n as u8; 32],
                    envelope: vec![n as u8; 10 * n as usize],
                }
                .encode()
            })
            .collect();
        let mut record = Vec::new();
        encoded
            .iter()
            .for_each(|bytes| push_entry(&mut record, bytes));
        let parts = record_entries(77, &record).unwrap();
        assert_eq!(parts.len(), 3);
        for (n, part) in parts.iter().enumerate() {
            assert_eq!(entry_bytes(77 + n as u64, part), encoded[n]);
        }
        // A cut names the entry it falls in.
        let cut = record.len() - 1;
        assert_eq!(record_entries(77, &record[..cut]).unwrap_err().0, 79);
        assert_eq!(record_entries(77, &record[..10]).unwrap_err().0, 77);
        assert!(record_entries(77, &[]).is_err());
    }

    #[test]
    fn rejection_round_trips_and_truncation_is_named() {
        let record = RejectionRecord {
            event_id: "01J0000000000000000000000".to_owned(),
            stream_seq: 9,
            stored_at_ns: 10,
            code: RejectCode::Equivocation,
            message: "differs".to_owned(),
            digest: [7; 32],
            envelope: vec![1, 2, 3],
        };
        let bytes = encode_rejection(&record);
        assert_eq!(decode_rejection(&bytes).unwrap(), record);
        for cut in 0..bytes.len() - 3 {
            assert!(decode_rejection(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn rejections_written_before_the_digest_still_read() {
        let envelope = vec![9u8; 40];
        let mut old = Vec::new();
        old.extend_from_slice(&3u32.to_be_bytes());
        old.extend_from_slice(b"abc");
        old.extend_from_slice(&5u64.to_be_bytes());
        old.extend_from_slice(&6u64.to_be_bytes());
        old.push(b"bad_signature".len() as u8);
        old.extend_from_slice(b"bad_signature");
        old.extend_from_slice(&4u32.to_be_bytes());
        old.extend_from_slice(b"nope");
        old.extend_from_slice(&envelope);
        let record = decode_rejection(&old).unwrap();
        assert_eq!(record.code, RejectCode::BadSignature);
        assert_eq!(record.envelope, envelope);
        assert_eq!(record.digest, *blake3::hash(&envelope).as_bytes());
    }

    #[test]
    fn a_sealed_state_record_reads_back_with_its_seal_and_what_it_covers() {
        let changes = vec![StateChange::Retracted("e1".to_owned())];
        let mut record = encode_state_changes(&changes).unwrap();
        let covered = record.len();
        let start = crate::seal::BatchStart {
            first: 4,
            chain_before: [1; 32],
        };
        let seal = Seal::new(&[9; 32], start, 6, [2; 32], &record);
        seal_state_record(&mut record, &seal);
        let read = decode_state_record(&record).unwrap();
        assert_eq!(read.changes, changes);
        assert_eq!(read.seal, Some((seal, covered)));
        assert!(seal.vouches_for(&[9; 32], start, &record[..covered]));
        assert_eq!(decode_state_changes(&record).unwrap(), changes);

        // A record of a batch that changed nothing: the seal alone.
        let mut alone = Vec::new();
        seal_state_record(&mut alone, &seal);
        let read = decode_state_record(&alone).unwrap();
        assert_eq!((read.changes.len(), read.seal), (0, Some((seal, 0))));
        // Nothing may follow the seal, and a record must hold something.
        let mut followed = record.clone();
        followed.extend_from_slice(&encode_state_changes(&changes).unwrap());
        let error = decode_state_record(&followed).unwrap_err();
        assert!(error.contains("after its seal"), "{error}");
        let error = decode_state_record(&[]).unwrap_err();
        assert!(error.contains("no changes and no seal"), "{error}");
        let short = &alone[..alone.len() - 1];
        assert!(decode_state_record(short).is_err());
    }

    #[test]
    fn state_records_round_trip() {
        let changes = [
            StateChange::Actor(
                "GB-GOV-1".to_owned(),
                ActorRecord {
                    kind: 2,
                    successors: vec!["GB-GOV-2".to_owned()],
                },
            ),
            StateChange::Commitment(
                "c1".to_owned(),
                CommitmentRecord {
                    owner: "GB-GOV-1".to_owned(),
                    withdrawn: false,
                    outcomes: vec![],
                },
            ),
            StateChange::Action("a1".to_owned(), "GB-GOV-1".to_owned()),
            StateChange::Retracted("e1".to_owned()),
        ];
        let record = encode_state_changes(&changes).unwrap();
        assert_eq!(decode_state_changes(&record).unwrap(), changes);
        // Cut inside a change, the record is refused rather than read short; cut between
        // changes, it reads as the changes before the cut.
        for len in 0..record.len() {
            match decode_state_changes(&record[..len]) {
                Ok(read) => {
                    assert!(read.len() < changes.len() && read[..] == changes[..read.len()]);
                    assert_eq!(encode_state_changes(&read).unwrap().len(), len);
                }
                Err(error) => assert!(
                    error.contains("cut short") || error.contains("no changes"),
                    "cut at {len}: {error}"
                ),
            }
        }
        let mut unknown_tag = Vec::new();
        for part in [&b"zabc"[..], b""] {
            unknown_tag.extend_from_slice(&(part.len() as u32).to_be_bytes());
            unknown_tag.extend_from_slice(part);
        }
        let error = decode_state_changes(&unknown_tag).unwrap_err();
        assert!(error.contains("unknown tag"), "{error}");
    }

    #[test]
    fn meta_round_trips() {
        let mut meta = Meta::empty();
        meta.head.size = 5;
        meta.head.stream_seq = 8;
        meta.rejection_count = 3;
        assert_eq!(Meta::decode(&meta.encode()).unwrap(), meta);
        assert!(Meta::decode(&meta.encode()[1..]).is_err());
    }
}
