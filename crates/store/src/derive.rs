//! The validation state re-derived from the log alone.
//!
//! The store keeps the validation state as records beside the entries so that opening does not
//! replay the log, and the ledger trusts those records on every open. Nothing in the entries'
//! hashes covers them, so they are checked the only way they can be: by applying the log's
//! entries, in order, to the validation rules (`covenant_core::validate`) and comparing what
//! comes out with what is stored. [`derive_state`] does the applying; the deep check
//! (`crate::check`) and the ledger's open compare.

use crate::{LogStore, StoreError};
use covenant_core::entry::Entry;
use covenant_core::event;
use covenant_core::id_set::IdSet;
use covenant_core::validate::{
    self, Decision, EventIndex, IndexedEvent, LedgerState, SignatureCheck, StateChange,
};
use std::cell::RefCell;

/// Entries read from the store at a time.
const READ_CHUNK: u64 = 4096;

/// The event index as it stood before entry `before`: the store's index, minus everything at
/// or after `before`.
struct IndexBefore<'a> {
    store: &'a dyn LogStore,
    before: u64,
    failure: RefCell<Option<StoreError>>,
}

impl EventIndex for IndexBefore<'_> {
    fn lookup(&self, event_id: &str) -> Option<IndexedEvent> {
        match self.store.event_before(event_id, self.before) {
            Ok(found) => found,
            Err(error) => {
                self.failure.borrow_mut().get_or_insert(error);
                None
            }
        }
    }
}

/// Called with each entry's sequence number and state changes; an error stops the walk.
pub type OnEntry<'a> = dyn FnMut(u64, &[StateChange]) -> Result<(), StoreError> + 'a;

/// Apply every entry of the log to the validation rules, in order, calling `on_entry` with
/// each entry's state changes, and return the state the log gives. An entry the rules do not
/// accept is corruption (the log holds only accepted events) and is named.
///
/// Signatures are not checked again (the entries' hashes, and `covenant audit verify`, cover
/// the envelopes): each is taken as made with the key the state names.
pub fn derive_state(
    store: &dyn LogStore,
    on_entry: &mut OnEntry<'_>,
) -> Result<LedgerState, StoreError> {
    derive_state_from(store, 0, LedgerState::default(), on_entry)
}

/// [`derive_state`] from entry `from` on, starting from `state`, the validation state as of
/// `from` (a sealed snapshot's).
pub fn derive_state_from(
    store: &dyn LogStore,
    from: u64,
    mut state: LedgerState,
    on_entry: &mut OnEntry<'_>,
) -> Result<LedgerState, StoreError> {
    let size = store.head().size;
    std::thread::scope(|scope| {
        let (sender, chunks) = std::sync::mpsc::sync_channel(CHUNKS_AHEAD);
        scope.spawn(move || read_ahead(store, from, size, &sender));
        let mut seq = from;
        for chunk in chunks {
            let end = (seq + READ_CHUNK).min(size);
            for decoded in chunk {
                let (stored_at_ns, event) = decoded?;
                let changes = derive_entry(store, &state, seq, stored_at_ns, &event)?;
                on_entry(seq, &changes)?;
                state.apply_all(changes);
                seq += 1;
            }
            if seq < end {
                return Err(StoreError::Corrupt {
                    seq,
                    problem: "the entry is missing".to_owned(),
                });
            }
        }
        Ok(state)
    })
}

/// Chunks of entries read and decoded ahead of the rules. Reading (the store decompresses
/// its records) and decoding need no state, so a second thread does them while the rules take
/// the entries one at a time, in order (4.19 against 3.09 µs an entry at 780,000 entries).
const CHUNKS_AHEAD: usize = 2;

/// An entry's time and its decoded event, or why it has none, in the log's order.
type DecodedChunk = Vec<Result<(u64, event::DecodedEvent), StoreError>>;

/// Read and decode entries `from..size` chunk by chunk into `sender`, until the last or until
/// nobody listens any more (the rules stopped at a failure).
fn read_ahead(
    store: &dyn LogStore,
    from: u64,
    size: u64,
    sender: &std::sync::mpsc::SyncSender<DecodedChunk>,
) {
    let mut seq = from;
    while seq < size {
        let end = (seq + READ_CHUNK).min(size);
        let chunk: DecodedChunk = match store.entries(seq, end) {
            Ok(entries) => entries
                .iter()
                .zip(seq..)
                .map(|(bytes, at)| decode_entry(at, bytes))
                .collect(),
            Err(error) => vec![Err(error)],
        };
        if sender.send(chunk).is_err() {
            return;
        }
        seq = end;
    }
}

fn decode_entry(seq: u64, bytes: &[u8]) -> Result<(u64, event::DecodedEvent), StoreError> {
    let corrupt = |problem: String| StoreError::Corrupt { seq, problem };
    let entry = Entry::decode(bytes).map_err(|e| corrupt(e.to_string()))?;
    let decoded = event::decode(&entry.envelope)
        .map_err(|e| corrupt(format!("the envelope does not decode: {e}")))?;
    Ok((entry.stored_at_ns, decoded))
}

/// Re-derive the log from entry `from` on, starting from `base` (the validation state as of
/// `from`: a sealed snapshot's, or the empty state at 0), and require the stored state records
/// from `from` on to hold exactly the changes the entries give, batch by batch: each record,
/// keyed by the first entry of its batch, holds the changes of the entries from its key up to
/// the next record's key, in order. Returns the state as of the head, which is then both the
/// derived and the stored one. A record that differs is [`StoreError::CorruptMetadata`]
/// naming the batch or the entry.
pub fn check_state_records(
    store: &dyn LogStore,
    from: u64,
    base: LedgerState,
) -> Result<LedgerState, StoreError> {
    let mut records = store.state_records(from).peekable();
    let mut current: std::collections::VecDeque<StateChange> = Default::default();
    let mut current_key = None;
    let state = derive_state_from(store, from, base, &mut |seq, changes| {
        if let Some(next) = records.peek() {
            let first = match next {
                Ok((first, _)) => *first,
                Err(_) => return Err(records.next().expect("peeked").expect_err("an error")),
            };
            if first <= seq {
                if !current.is_empty() {
                    return Err(record_mismatch(current_key, "holds changes no entry gives"));
                }
                let (first, changes) = records.next().expect("peeked")?;
                current_key = Some(first);
                if first != seq {
                    return Err(record_mismatch(
                        current_key,
                        "is keyed by no entry where a batch begins",
                    ));
                }
                current = changes.into();
            }
        }
        for change in changes {
            if current.pop_front().as_ref() != Some(change) {
                return Err(StoreError::CorruptMetadata(format!(
                    "the stored validation state differs from the changes entry {seq} gives"
                )));
            }
        }
        Ok(())
    })?;
    if !current.is_empty() || records.next().is_some() {
        return Err(record_mismatch(current_key, "holds changes no entry gives"));
    }
    Ok(state)
}

fn record_mismatch(record: Option<u64>, problem: &str) -> StoreError {
    StoreError::CorruptMetadata(match record {
        Some(first) => {
            format!("the validation state record of the batch at entry {first} {problem}")
        }
        None => format!("a validation state record {problem}"),
    })
}

fn derive_entry(
    store: &dyn LogStore,
    state: &LedgerState,
    seq: u64,
    stored_at_ns: u64,
    decoded: &event::DecodedEvent,
) -> Result<Vec<StateChange>, StoreError> {
    let corrupt = |problem: String| StoreError::Corrupt { seq, problem };
    let signature = match state.public_key(&decoded.envelope.key_id) {
        Some(key) => SignatureCheck::VerifiedWith(key),
        None => SignatureCheck::Pending,
    };
    let index = IndexBefore {
        store,
        before: seq,
        failure: RefCell::new(None),
    };
    let decision = validate::validate(state, &index, decoded, seq, stored_at_ns, signature);
    if let Some(error) = index.failure.into_inner() {
        return Err(error);
    }
    match decision {
        Decision::Accept(changes) => Ok(changes),
        Decision::Duplicate { seq: earlier } => Err(corrupt(format!(
            "event {} is already entry {earlier}",
            decoded.event_id()
        ))),
        Decision::Reject(rejection) => Err(corrupt(format!(
            "the validation rules reject it ({rejection}), so it cannot be in the log"
        ))),
    }
}

/// Re-derive the state from the log and compare it with the stored one (the records the
/// ledger replays on open); a difference is [`StoreError::CorruptMetadata`] naming a part of
/// the state that differs.
pub fn check_stored_state(store: &dyn LogStore) -> Result<LedgerState, StoreError> {
    let derived = derive_state(store, &mut |_, _| Ok(()))?;
    let stored = store.load_state()?;
    if let Some(difference) = first_difference(&derived, &stored) {
        return Err(StoreError::CorruptMetadata(format!(
            "the stored validation state differs from the one the log gives: {difference}"
        )));
    }
    Ok(stored)
}

/// Where two states differ first, in words; `None` when they are equal.
pub fn first_difference(derived: &LedgerState, stored: &LedgerState) -> Option<String> {
    if derived == stored {
        return None;
    }
    if derived.genesis != stored.genesis {
        return Some("the genesis registry".to_owned());
    }
    fn differing_key<'a, K: Ord + std::fmt::Debug + 'a, V: PartialEq + 'a>(
        what: &str,
        derived: impl Iterator<Item = (&'a K, &'a V)>,
        lookup: impl Fn(&K) -> Option<&'a V>,
        count: (usize, usize),
    ) -> Option<String> {
        for (key, value) in derived {
            if lookup(key) != Some(value) {
                return Some(format!("{what} {key:?}"));
            }
        }
        (count.0 != count.1).then(|| format!("{what}: {} stored, {} derived", count.1, count.0))
    }
    let mut actors: Vec<_> = derived.actors.iter().collect();
    actors.sort_by(|a, b| a.0.cmp(b.0));
    let mut keys: Vec<_> = derived.keys.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    differing_key(
        "actor",
        actors.into_iter(),
        |k| stored.actors.get(k),
        (derived.actors.len(), stored.actors.len()),
    )
    .or_else(|| {
        differing_key(
            "key",
            keys.into_iter(),
            |k| stored.keys.get(k),
            (derived.keys.len(), stored.keys.len()),
        )
    })
    .or_else(|| {
        differing_key(
            "commitment",
            derived.commitments.iter(),
            |k| stored.commitments.get(k),
            (derived.commitments.len(), stored.commitments.len()),
        )
    })
    .or_else(|| differing_id("action", &derived.actions, &stored.actions))
    .or_else(|| differing_id("retracted event", &derived.retracted, &stored.retracted))
    .or_else(|| {
        differing_key(
            "terms of commitment",
            derived.terms.iter(),
            |k| stored.terms.get(k),
            (derived.terms.len(), stored.terms.len()),
        )
    })
}

/// The first id one set holds and the other does not, naming which side holds it.
fn differing_id(what: &str, derived: &IdSet, stored: &IdSet) -> Option<String> {
    if let Some(id) = derived.iter().find(|id| !stored.contains(id)) {
        return Some(format!("{what} {id:?} (derived, not stored)"));
    }
    stored
        .iter()
        .find(|id| !derived.contains(id))
        .map(|id| format!("{what} {id:?} (stored, not derived)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::validate::{ActorRecord, CommitmentRecord, CommitmentTerms, StateChange};

    fn state(changes: Vec<StateChange>) -> LedgerState {
        let mut state = LedgerState::default();
        state.apply_all(changes);
        state
    }

    fn commitment(owner: &str) -> StateChange {
        StateChange::Commitment(
            "c-1".to_owned(),
            CommitmentRecord {
                owner: owner.to_owned(),
                withdrawn: false,
                outcomes: vec![],
            },
        )
    }

    fn action(id: &str) -> StateChange {
        StateChange::Action(id.to_owned(), "GB-GOV-1".to_owned())
    }

    #[test]
    fn the_first_difference_names_the_part_and_the_id() {
        let base = || {
            vec![
                StateChange::Actor(
                    "GB-GOV-1".to_owned(),
                    ActorRecord {
                        kind: 1,
                        successors: vec![],
                    },
                ),
                commitment("GB-GOV-1"),
                action("a-1"),
                StateChange::Retracted("e-1".to_owned()),
            ]
        };
        let with = |extra: Vec<StateChange>| state(base().into_iter().chain(extra).collect());
        assert_eq!(first_difference(&with(vec![]), &with(vec![])), None);
        let cases = [
            (
                vec![action("a-2")],
                vec![],
                r#"action "a-2" (derived, not stored)"#,
            ),
            (
                vec![],
                vec![action("a-0")],
                r#"action "a-0" (stored, not derived)"#,
            ),
            (
                vec![StateChange::Retracted("e-2".to_owned())],
                vec![],
                r#"retracted event "e-2" (derived, not stored)"#,
            ),
            (
                vec![],
                vec![StateChange::Retracted("e-0".to_owned())],
                r#"retracted event "e-0" (stored, not derived)"#,
            ),
            (vec![commitment("GB-GOV-2")], vec![], r#"commitment "c-1""#),
            (
                vec![],
                vec![StateChange::Terms(
                    "c-1".to_owned(),
                    CommitmentTerms {
                        delivery_partners: vec!["GB-GOV-2".to_owned()],
                        indicators: vec![],
                    },
                )],
                "terms of commitment: 1 stored, 0 derived",
            ),
        ];
        for (derived, stored, named) in cases {
            assert_eq!(
                first_difference(&with(derived), &with(stored)).as_deref(),
                Some(named)
            );
        }
    }
}
