//! Applying log entries to the projection, one batch at a time.
//!
//! A batch reads what it needs from the tree, keeps every write in memory, and hands the
//! whole lot to sled as one atomic batch together with the new "applied" count. A crash
//! therefore leaves the projection at the end of some batch, never half-way through one, and
//! catching up resumes from the stored count. Everything written is a function of the entries
//! alone (sorted maps, no clocks), so applying the same log in any batch sizes writes the same
//! bytes, except how the search index and the feeds group their lists into one run per batch
//! (`keys::WORD`, `keys::FEED`).
//!
//! # Applying a batch, step by step
//!
//! 1. `Projections::catch_up_to` reads the next entries (a follower sizes the batches to hold
//!    readers off briefly, see `crate::follow`) from the store through `LogReader`, and
//!    [`ReadAhead::read`] checks each one's sequence number and decodes it (the log holds only
//!    validated events, so a failure is corruption and is named), and looks up what its
//!    retractions retract. This happens before the batch ahead of it starts writing: while
//!    sled writes a batch, no read of any tree in the process runs.
//! 2. Each event becomes facts on the commitments it is about: one per commitment an action
//!    serves, one on each commitment a succession passes (chosen exactly as validation chose
//!    them: covenant-core's own rule applied to validation's record of each, folded from the
//!    commitment's facts), a retraction on every commitment its target
//!    touched (from `keys::EVENT` for a succession or a retraction; for any other target, from
//!    the target's own entry, found through the store's event index: retractions are rare, and
//!    a reference kept for every event would cost one more key per event).
//! 3. For every commitment touched, its facts fold into its new state (`state::fold`, the
//!    pure status rules), the new record is derived and compared with the old: the old record
//!    is subtracted from its groups' aggregates and the new one added, and exactly the index
//!    keys that differ are replaced. A commitment's facts and old record come from the
//!    writer's [`FactCache`] when an earlier batch touched it, otherwise from the tree:
//!    reading facts back costs as much as writing them. Aggregates, actors, word counts and
//!    day ends come from the same cache; what a batch reads from the tree anyway (a word or a
//!    day new to the cache) it reads last.
//! 4. [`BatchWriter::seal`] settles every write, and the new `applied` count, and puts the
//!    batch's commitments and values back into the cache; [`write_batch`] hands the writes to
//!    sled as one `apply_batch` (with `Overlap::Writes`, on a thread of its own while the next
//!    batch is prepared), taking the readers' gate exclusively only for that call, so a query
//!    never sees half a batch. The next batch reads the writes of the one in flight before the tree
//!    (`in_flight`), so it sees the tree as it stands once that one is in. Nothing waits for
//!    the disk: sled writes batches atomically, so after a crash the projection stands at the
//!    end of some batch and the next catch-up applies the rest again from the stored count
//!    (`covenant query rebuild` and a stopping server flush). The cache is emptied whenever the
//!    tree is cleared or a catch-up fails, so it never disagrees with the tree.
//!
//! The tests in `tests/projection.rs` apply the same log in batches of several sizes, with and
//! without restarts between them, and compare every key and value with a rebuild.
//!
//! Who runs this: the `crate::follow` thread in a server, `Projections::rebuild` for
//! `covenant query rebuild`; never a request.

use crate::QueryError;
use crate::actor::{ActorRecord, ActorRetraction, Registration, SuccessionLink};
use crate::fact::{self, Fact};
use crate::keys::{self, Key};
use crate::record::{Aggregate, CommitmentRecord, Group};
use crate::state;
use crate::text;
use covenant_core::entry::{ENTRY_HEADER_BYTES, EntryHeader, chain_hash};
use covenant_core::event::{self, Date};
use covenant_core::proto::event_body::Kind;
use covenant_core::validate;
use covenant_store::LogReader;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Which commitments and actors an event touched: where its retraction must go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    pub commitments: Vec<String>,
    pub actors: Vec<String>,
}

/// A batch's writes, each key once: its new value, or `None` to remove it.
pub type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A log entry decoded for applying: its fact, and its event's kind.
pub struct DecodedEntry {
    fact: Fact,
    kind: Kind,
}

/// Decode entry `seq` of the log (the log holds only validated events, so a failure is
/// corruption, and is named).
fn decode_entry(seq: u64, entry_bytes: &[u8]) -> Result<DecodedEntry, QueryError> {
    let bad = |problem: String| QueryError::BadEntry { seq, problem };
    let header = EntryHeader::parse(entry_bytes).map_err(|error| bad(error.to_string()))?;
    if header.seq != seq {
        return Err(bad(format!(
            "the store returned entry {} in its place",
            header.seq
        )));
    }
    let decoded = event::decode(&entry_bytes[ENTRY_HEADER_BYTES..])
        .map_err(|error| bad(error.to_string()))?;
    let fact = Fact {
        seq,
        stored_at_ns: header.stored_at_ns,
        entry_hash: chain_hash(entry_bytes),
        event_id: decoded.envelope.event_id,
        actor: decoded.envelope.actor,
        occurred_at_ms: decoded.envelope.occurred_at_ms,
        body: decoded.envelope.body,
    };
    Ok(DecodedEntry {
        fact,
        kind: decoded.kind,
    })
}

/// A batch's entries decoded, with what applying them would otherwise read from the log and
/// the tree in the middle of the batch: what its retractions retract. Read before the batch
/// ahead of it starts writing, since no read of any tree runs while sled writes a batch.
pub struct ReadAhead {
    /// The batch's first entry.
    start: u64,
    entries: Vec<DecodedEntry>,
    lookups: Lookups,
}

/// What a batch's retractions look up, read ahead (see [`ReadAhead`]).
#[derive(Default)]
pub struct Lookups {
    /// The tree's `keys::EVENT` references of retracted events, as the tree stood when read:
    /// the batch in flight and the batch's own writes lie over them.
    references: std::collections::HashMap<Vec<u8>, Option<Vec<u8>>>,
    /// The log's entry of each retracted event (its seq and bytes), or `None` if absent.
    targets: std::collections::HashMap<String, Option<(u64, Vec<u8>)>>,
}

impl ReadAhead {
    /// Read and decode the log's entries `start..stop`, and look up what their retractions
    /// retract.
    pub fn read(
        store: &dyn LogReader,
        tree: &sled::Tree,
        start: u64,
        stop: u64,
    ) -> Result<Self, QueryError> {
        let raw = store.entries(start, stop)?;
        if raw.len() as u64 != stop - start {
            return Err(QueryError::BadEntry {
                seq: start + raw.len() as u64,
                problem: format!(
                    "the store returned {} entries for {start}..{stop}",
                    raw.len()
                ),
            });
        }
        let mut entries = Vec::with_capacity(raw.len());
        let mut lookups = Lookups::default();
        for (seq, bytes) in (start..).zip(&raw) {
            let entry = decode_entry(seq, bytes)?;
            if let Kind::Retraction(retraction) = &entry.kind {
                let target = &retraction.event_id;
                let key = Key::new(keys::EVENT).last(target).into_bytes();
                let reference = tree.get(&key)?.map(|value| value.to_vec());
                lookups.references.insert(key, reference);
                let entry = retracted_entry(store, target)?;
                lookups.targets.insert(target.clone(), entry);
            }
            entries.push(entry);
        }
        Ok(Self {
            start,
            entries,
            lookups,
        })
    }

    /// Its entries, and the lookups to apply them with.
    pub fn into_parts(self) -> (u64, Vec<DecodedEntry>, Lookups) {
        (self.start, self.entries, self.lookups)
    }
}

/// The seq and entry of the event `event_id` in the log, if it is there.
fn retracted_entry(
    store: &dyn LogReader,
    event_id: &str,
) -> Result<Option<(u64, Vec<u8>)>, QueryError> {
    let Some(target) = store.event(event_id)? else {
        return Ok(None);
    };
    let entry = store
        .entry(target.seq)?
        .ok_or_else(|| QueryError::BadEntry {
            seq: target.seq,
            problem: format!("the event index places {event_id} here, past the log's end"),
        })?;
    Ok(Some((target.seq, entry)))
}

/// One batch of writes against the projection tree.
pub struct BatchWriter<'t> {
    tree: &'t sled::Tree,
    /// The writes of the batch before, which may still be on their way into the tree (see
    /// `Projections::catch_up_to`): every read looks here before the tree, so it sees the
    /// tree as it stands once that batch is in, whether it is yet or not.
    in_flight: Option<&'t Writes>,
    /// What the batch's retractions look up, read ahead.
    read_ahead: &'t Lookups,
    /// The log, for what a retraction's target touched (see `touched_by`).
    store: &'t dyn LogReader,
    /// Facts and records of commitments touched by earlier batches (see [`FactCache`]).
    cache: &'t mut FactCache,
    writes: Writes,
    /// Every fact of each commitment touched in this batch, stored and new.
    facts: BTreeMap<String, Vec<Fact>>,
    /// The record of each touched commitment as it was before the batch.
    old_records: BTreeMap<String, Option<CommitmentRecord>>,
    actors: BTreeMap<String, ActorRecord>,
    /// Word -> the commitments this batch lists under it for the first time, written as one
    /// run per word (see `keys::WORD`).
    word_runs: BTreeMap<String, BTreeSet<String>>,
    /// Group key -> the feed items this batch announced, in log order (see `keys::FEED`).
    feed_runs: BTreeMap<String, keys::FeedRun>,
    /// Day -> entries stored on or before it, for the days this batch touched.
    day_ends: BTreeMap<Date, u64>,
    /// The batch's first entry, which names its runs.
    first_seq: u64,
    next_seq: u64,
}

impl<'t> BatchWriter<'t> {
    /// A batch starting at entry `next_seq`, after the batch whose writes are `in_flight` if
    /// that one may not be in the tree yet.
    pub fn new(
        tree: &'t sled::Tree,
        in_flight: Option<&'t Writes>,
        read_ahead: &'t Lookups,
        store: &'t dyn LogReader,
        cache: &'t mut FactCache,
        next_seq: u64,
    ) -> Self {
        Self {
            tree,
            in_flight,
            read_ahead,
            store,
            cache,
            writes: BTreeMap::new(),
            facts: BTreeMap::new(),
            old_records: BTreeMap::new(),
            actors: BTreeMap::new(),
            word_runs: BTreeMap::new(),
            feed_runs: BTreeMap::new(),
            day_ends: BTreeMap::new(),
            first_seq: next_seq,
            next_seq,
        }
    }

    /// The value of `key` with this batch's writes so far.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, QueryError> {
        if let Some(pending) = self.writes.get(key) {
            return Ok(pending.clone());
        }
        self.stored(key)
    }

    /// The value of `key` before this batch: the batch in flight's, the cache's, or the
    /// tree's.
    fn stored(&self, key: &[u8]) -> Result<Option<Vec<u8>>, QueryError> {
        if let Some(pending) = self.in_flight.and_then(|writes| writes.get(key)) {
            return Ok(pending.clone());
        }
        if let Some(cached) = self.cache.value(key) {
            return Ok(cached.clone());
        }
        if let Some(read) = self.read_ahead.references.get(key) {
            return Ok(read.clone());
        }
        Ok(self.tree.get(key)?.map(|value| value.to_vec()))
    }

    /// Every key under `prefix` and its value before this batch, in key order.
    fn stored_under(&self, prefix: &[u8]) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, QueryError> {
        let mut found = BTreeMap::new();
        for item in self.tree.scan_prefix(prefix) {
            let (key, value) = item?;
            found.insert(key.to_vec(), value.to_vec());
        }
        if let Some(in_flight) = self.in_flight {
            overlay(&mut found, in_flight, prefix);
        }
        Ok(found)
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    fn remove(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// Keys under `prefix`, stored or written in this batch.
    fn keys_with_prefix(&self, prefix: &[u8]) -> Result<BTreeSet<Vec<u8>>, QueryError> {
        let mut found = self.stored_under(prefix)?;
        overlay(&mut found, &self.writes, prefix);
        Ok(found.into_keys().collect())
    }

    /// Apply one decoded entry, which must be entry `next_seq`.
    pub fn apply_entry(&mut self, entry: DecodedEntry) -> Result<(), QueryError> {
        let DecodedEntry { fact, kind } = entry;
        if fact.seq != self.next_seq {
            return Err(QueryError::BadEntry {
                seq: self.next_seq,
                problem: format!("entry {} came in its place", fact.seq),
            });
        }
        let day = Date::from_unix_ms((fact.stored_at_ns / 1_000_000) as i64);
        self.day_ends.insert(day, fact.seq + 1);
        self.apply_event(fact, kind)?;
        self.next_seq += 1;
        Ok(())
    }

    fn apply_event(&mut self, fact: Fact, kind: Kind) -> Result<(), QueryError> {
        let mut touched = EventRef::default();
        match &kind {
            Kind::Genesis(_) | Kind::KeyGranted(_) | Kind::KeyRevoked(_) => return Ok(()),
            Kind::ActorRegistered(registered) => {
                let actor = self.actor(&registered.actor_id)?;
                actor.registration = Some(Registration {
                    seq: fact.seq,
                    event_id: fact.event_id.clone(),
                    name: registered.name.clone(),
                    kind: registered.kind,
                    identifiers: registered.identifiers.clone(),
                    constituency: registered.constituency.clone(),
                    party: registered.party.clone(),
                    url: registered.url.clone(),
                });
                touched.actors.push(registered.actor_id.clone());
            }
            Kind::ActorSucceeded(succession) => {
                // The listed commitments, or every one the predecessor ever owned: those
                // validation passed are among them, and the ledger's own rule picks them.
                let candidates: BTreeSet<String> = if succession.commitment_ids.is_empty() {
                    self.ever_owned(&succession.predecessor_id)?
                } else {
                    succession.commitment_ids.iter().cloned().collect()
                };
                let mut passing = vec![];
                for id in candidates {
                    if self.passes(&kind, &fact, &id)? {
                        passing.push(id);
                    }
                }
                let link = SuccessionLink {
                    seq: fact.seq,
                    event_id: fact.event_id.clone(),
                    predecessor: succession.predecessor_id.clone(),
                    successor: succession.successor_id.clone(),
                    kind: succession.kind,
                    effective_on: succession.effective_on.clone(),
                    commitments: passing.len() as u32,
                };
                for actor_id in [&succession.predecessor_id, &succession.successor_id] {
                    self.actor(actor_id)?.successions.push(link.clone());
                    touched.actors.push(actor_id.clone());
                }
                for id in &passing {
                    self.list_as_owned(&succession.successor_id, id);
                    self.add_fact(id, fact.clone())?;
                }
                touched.commitments = passing;
            }
            Kind::CommitmentMade(made) => {
                let id = made.commitment_id.clone();
                self.list_as_owned(&fact.actor, &id);
                for partner in &made.delivery_partners {
                    self.list_as_owned(partner, &id);
                }
                for theme in &made.themes {
                    self.put(
                        Key::new(keys::THEME).part(theme).last(&id).into_bytes(),
                        vec![],
                    );
                }
                // Validation refuses a commitment id already made, so the commitment has no
                // facts, record or indexed words yet: nothing to read back.
                self.facts.entry(id.clone()).or_default();
                self.old_records.entry(id.clone()).or_insert(None);
                self.index_words(&id, text::event_words(&kind).unwrap_or_default(), true)?;
                touched.commitments.push(id.clone());
                self.add_fact(&id, fact.clone())?;
            }
            Kind::CommitmentAmended(amended) => {
                let words = text::event_words(&kind).unwrap_or_default();
                self.index_words(&amended.commitment_id, words, false)?;
                touched.commitments.push(amended.commitment_id.clone());
            }
            Kind::CommitmentWithdrawn(withdrawn) => {
                touched.commitments.push(withdrawn.commitment_id.clone());
            }
            Kind::OutcomeReported(outcome) => {
                touched.commitments.push(outcome.commitment_id.clone());
            }
            Kind::CommitmentAdopted(adopted) => {
                let id = &adopted.commitment_id;
                self.list_as_owned(&fact.actor, id);
                touched.commitments.push(id.clone());
            }
            Kind::ActionRecorded(action) => {
                touched.commitments = state::distinct_commitments(action)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
            }
            Kind::AssessmentPublished(assessment) => {
                touched.commitments.push(assessment.commitment_id.clone());
            }
            Kind::Retraction(retraction) => {
                let Some(target) = self.touched_by(&retraction.event_id, fact.seq)? else {
                    // Registry key events touch no commitment or actor view.
                    return Ok(());
                };
                for actor_id in &target.actors {
                    self.actor(actor_id)?.retractions.push(ActorRetraction {
                        target: retraction.event_id.clone(),
                        by: fact.event_id.clone(),
                        seq: fact.seq,
                    });
                }
                for id in &target.commitments {
                    self.add_fact(id, fact.clone())?;
                }
                touched.commitments = target.commitments;
                touched.actors = target.actors;
            }
        }
        let announced = matches!(
            kind,
            Kind::CommitmentMade(_)
                | Kind::CommitmentAmended(_)
                | Kind::CommitmentWithdrawn(_)
                | Kind::OutcomeReported(_)
        );
        if !matches!(
            kind,
            Kind::CommitmentMade(_) | Kind::ActorSucceeded(_) | Kind::Retraction(_)
        ) {
            for id in &touched.commitments {
                self.add_fact(id, fact.clone())?;
            }
        }
        if announced && let Some(id) = touched.commitments.first() {
            self.announce(id, &fact)?;
        }
        // Only what a later retraction could not re-derive from the event itself is kept:
        // which commitments a succession passed depends on the state before it, and what a
        // retraction touched on what its target touched.
        if matches!(kind, Kind::ActorSucceeded(_) | Kind::Retraction(_)) {
            self.put(
                Key::new(keys::EVENT).last(&fact.event_id).into_bytes(),
                fact::encode(&touched),
            );
        }
        Ok(())
    }

    /// What the event `event_id` touched, for a retraction of it at entry `seq`: the stored
    /// reference of a succession or retraction, otherwise re-derived from the event as the log
    /// holds it. `None` for events that touch no commitment or actor view (the registry's
    /// genesis and key events).
    fn touched_by(&self, event_id: &str, seq: u64) -> Result<Option<EventRef>, QueryError> {
        let key = Key::new(keys::EVENT).last(event_id).into_bytes();
        if let Some(bytes) = self.get(&key)? {
            return fact::decode(&bytes, "event reference")
                .map(Some)
                .map_err(corrupt(&key));
        }
        // Validation accepted the retraction only for an event in the log, before it.
        let bad = |problem: String| QueryError::BadEntry { seq, problem };
        let target = match self.read_ahead.targets.get(event_id) {
            Some(target) => target.clone(),
            None => retracted_entry(self.store, event_id)?,
        };
        let Some((target_seq, entry)) = target else {
            return Err(bad(format!("retracts {event_id}, which is not in the log")));
        };
        let problem = |error: String| bad(format!("retracted entry {target_seq}: {error}"));
        let body = entry
            .get(ENTRY_HEADER_BYTES..)
            .ok_or_else(|| problem("shorter than an entry header".to_owned()))?;
        let decoded = event::decode(body).map_err(|error| problem(error.to_string()))?;
        let mut touched = EventRef::default();
        match decoded.kind {
            // A retraction without a stored reference retracted a registry event, and so
            // touched nothing either.
            Kind::Genesis(_) | Kind::KeyGranted(_) | Kind::KeyRevoked(_) | Kind::Retraction(_) => {
                return Ok(None);
            }
            Kind::ActorSucceeded(_) => {
                return Err(problem(
                    "its stored reference is missing from the projection".to_owned(),
                ));
            }
            Kind::ActorRegistered(registered) => touched.actors.push(registered.actor_id),
            Kind::CommitmentMade(made) => touched.commitments.push(made.commitment_id),
            Kind::CommitmentAmended(amended) => touched.commitments.push(amended.commitment_id),
            Kind::CommitmentWithdrawn(withdrawn) => {
                touched.commitments.push(withdrawn.commitment_id)
            }
            Kind::OutcomeReported(outcome) => touched.commitments.push(outcome.commitment_id),
            Kind::CommitmentAdopted(adopted) => touched.commitments.push(adopted.commitment_id),
            Kind::AssessmentPublished(assessment) => {
                touched.commitments.push(assessment.commitment_id)
            }
            Kind::ActionRecorded(action) => {
                touched.commitments = state::distinct_commitments(&action)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
            }
        }
        Ok(Some(touched))
    }

    fn actor(&mut self, actor_id: &str) -> Result<&mut ActorRecord, QueryError> {
        if !self.actors.contains_key(actor_id) {
            let key = Key::new(keys::ACTOR).last(actor_id).into_bytes();
            let record = match self.get(&key)? {
                Some(bytes) => fact::decode(&bytes, "actor record").map_err(corrupt(&key))?,
                None => ActorRecord {
                    id: actor_id.to_owned(),
                    ..ActorRecord::default()
                },
            };
            self.actors.insert(actor_id.to_owned(), record);
        }
        Ok(self.actors.get_mut(actor_id).expect("inserted above"))
    }

    /// Load a commitment's facts and record into the batch (once).
    fn load(&mut self, id: &str) -> Result<(), QueryError> {
        if self.facts.contains_key(id) {
            return Ok(());
        }
        if let Some((facts, record)) = self.cache.take(id) {
            self.facts.insert(id.to_owned(), facts);
            self.old_records.insert(id.to_owned(), record);
            return Ok(());
        }
        let prefix = Key::new(keys::FACT).part(id).into_bytes();
        let mut facts = vec![];
        for (key, value) in self.stored_under(&prefix)? {
            facts.push(fact::decode(&value, "fact").map_err(corrupt(&key))?);
        }
        let record_key = Key::new(keys::RECORD).last(id).into_bytes();
        let record = self
            .stored(&record_key)?
            .map(|bytes| fact::decode(&bytes, "commitment record").map_err(corrupt(&record_key)))
            .transpose()?;
        self.facts.insert(id.to_owned(), facts);
        self.old_records.insert(id.to_owned(), record);
        Ok(())
    }

    fn add_fact(&mut self, id: &str, fact: Fact) -> Result<(), QueryError> {
        self.load(id)?;
        self.put(
            Key::new(keys::FACT).part(id).seq(fact.seq).into_bytes(),
            fact::encode(&fact),
        );
        self.facts.get_mut(id).expect("loaded").push(fact);
        Ok(())
    }

    /// Index the words of a commitment's new version; `new_commitment`: it has no words yet.
    /// A word an earlier version used (its facts, loaded before this event's fact is added)
    /// lists the commitment already.
    fn index_words(
        &mut self,
        id: &str,
        words: BTreeSet<String>,
        new_commitment: bool,
    ) -> Result<(), QueryError> {
        let listed = if new_commitment {
            BTreeSet::new()
        } else {
            self.words_used(id)?
        };
        for word in words.into_iter().filter(|word| !listed.contains(word)) {
            self.word_runs
                .entry(word)
                .or_default()
                .insert(id.to_owned());
        }
        Ok(())
    }

    /// Every word the versions of a commitment applied so far used, this batch included.
    fn words_used(&mut self, id: &str) -> Result<BTreeSet<String>, QueryError> {
        self.load(id)?;
        let mut used = BTreeSet::new();
        for fact in self.facts.get(id).map(Vec::as_slice).unwrap_or_default() {
            let kind = fact.kind().map_err(|problem| QueryError::Corrupt {
                key: id.to_owned(),
                problem,
            })?;
            used.extend(text::event_words(&kind).unwrap_or_default());
        }
        Ok(used)
    }

    /// Whether the succession `kind` passes commitment `id`, by covenant-core's own rule
    /// ([`validate::commitment_after`]) applied to validation's record of it as it stood.
    fn passes(&mut self, kind: &Kind, fact: &Fact, id: &str) -> Result<bool, QueryError> {
        let before = self.ledger_record(id)?;
        let after =
            validate::commitment_after(kind, &fact.actor, &fact.event_id, id, before.as_ref());
        Ok(after.is_some())
    }

    /// Validation's record of commitment `id` (its owner, whether it was withdrawn, its
    /// outcomes) after everything applied so far, this batch included: covenant-core's own
    /// [`validate::commitment_after`] folded over the commitment's facts, which hold every
    /// event that can change it. The projections keep no rule of their own for who owns a
    /// commitment in validation's eyes, and no copy of the records to keep in step.
    fn ledger_record(
        &mut self,
        id: &str,
    ) -> Result<Option<validate::CommitmentRecord>, QueryError> {
        self.load(id)?;
        let mut record = None;
        for fact in self.facts.get(id).map(Vec::as_slice).unwrap_or_default() {
            let kind = fact.kind().map_err(|problem| QueryError::Corrupt {
                key: id.to_owned(),
                problem,
            })?;
            let after =
                validate::commitment_after(&kind, &fact.actor, &fact.event_id, id, record.as_ref());
            if after.is_some() {
                record = after;
            }
        }
        Ok(record)
    }

    /// List commitment `id` among those `actor` has ever owned or shares (`keys::EVER_OWNED`).
    fn list_as_owned(&mut self, actor: &str, id: &str) {
        self.put(
            Key::new(keys::EVER_OWNED).part(actor).last(id).into_bytes(),
            vec![],
        );
    }

    /// Every commitment `actor` has owned or been a delivery partner of, sorted.
    fn ever_owned(&self, actor: &str) -> Result<BTreeSet<String>, QueryError> {
        let prefix = Key::new(keys::EVER_OWNED).part(actor).into_bytes();
        self.keys_with_prefix(&prefix)?
            .iter()
            .map(|key| {
                keys::last_component(key, prefix.len())
                    .map(str::to_owned)
                    .ok_or_else(|| corrupt(key)("ever-owned key is not text".into()))
            })
            .collect()
    }

    /// Feed items for the speaking actor and the commitment's themes.
    fn announce(&mut self, id: &str, fact: &Fact) -> Result<(), QueryError> {
        let themes = match self.facts.get(id).and_then(|facts| facts.first()) {
            Some(made) => match made.kind().map_err(|p| QueryError::Corrupt {
                key: id.to_owned(),
                problem: p,
            })? {
                Kind::CommitmentMade(made) => made.themes,
                _ => vec![],
            },
            None => vec![],
        };
        let mut groups = BTreeSet::from([Group::Actor(fact.actor.clone())]);
        groups.extend(themes.into_iter().map(Group::Theme));
        for group in groups {
            self.feed_runs
                .entry(group.key())
                .or_default()
                .push((fact.seq, id.to_owned()));
        }
        Ok(())
    }

    /// Settle records, indexes and aggregates into the batch's final writes, and hand the
    /// touched commitments to the cache, which from now on describes the tree with this batch
    /// in: if writing it fails, the caller must empty the cache (`FactCache::clear`).
    pub fn seal(mut self) -> Result<Sealed, QueryError> {
        let mut aggregates: BTreeMap<Group, Aggregate> = BTreeMap::new();
        let mut new_records: BTreeMap<String, Option<CommitmentRecord>> = BTreeMap::new();
        let touched: Vec<String> = self.facts.keys().cloned().collect();
        for id in touched {
            let facts = &self.facts[&id];
            let new = state::fold(facts, state::Cut::recorded(u64::MAX))
                .map_err(|problem| QueryError::Corrupt {
                    key: id.clone(),
                    problem,
                })?
                .map(|state| CommitmentRecord::of(&state));
            let old = self.old_records.get(&id).cloned().flatten();
            // What the tree holds once the batch is in: an unchanged record is not rewritten.
            new_records.insert(id.clone(), new.clone().or_else(|| old.clone()));
            if old == new {
                continue;
            }
            for (record, sign) in [(&old, -1), (&new, 1)] {
                if let Some(record) = record {
                    for group in record.groups() {
                        let aggregate = match aggregates.entry(group) {
                            std::collections::btree_map::Entry::Occupied(slot) => slot.into_mut(),
                            std::collections::btree_map::Entry::Vacant(slot) => {
                                let key = aggregate_key(slot.key());
                                let stored = match self.stored(&key)? {
                                    Some(bytes) => {
                                        fact::decode(&bytes, "aggregate").map_err(corrupt(&key))?
                                    }
                                    None => Aggregate::default(),
                                };
                                slot.insert(stored)
                            }
                        };
                        aggregate.add(record, sign);
                    }
                }
            }
            let old_keys = index_keys(old.as_ref());
            let new_keys = index_keys(new.as_ref());
            for key in old_keys.keys().filter(|key| !new_keys.contains_key(*key)) {
                self.remove(key.clone());
            }
            for (key, value) in new_keys {
                if old_keys.get(&key) != Some(&value) {
                    self.put(key, value);
                }
            }
            if let Some(record) = &new {
                self.put(
                    Key::new(keys::RECORD).last(&id).into_bytes(),
                    fact::encode(record),
                );
            }
        }
        for (group, aggregate) in aggregates {
            let key = aggregate_key(&group);
            if aggregate.is_empty() {
                self.remove(key);
            } else {
                self.put(key, fact::encode(&aggregate));
            }
        }
        for (id, record) in std::mem::take(&mut self.actors) {
            self.put(
                Key::new(keys::ACTOR).last(&id).into_bytes(),
                fact::encode(&record),
            );
        }
        for (group, items) in std::mem::take(&mut self.feed_runs) {
            self.put(keys::feed_run(&group, self.first_seq), fact::encode(&items));
        }
        // What is left reads the tree, where a word or a day is new to the cache: last, so that
        // while sled writes the batch before, everything else is prepared first.
        for (word, ids) in std::mem::take(&mut self.word_runs) {
            let count_key = Key::new(keys::WORD_COUNT).last(&word).into_bytes();
            let count = read_u64(self.stored(&count_key)?.as_deref()) + ids.len() as u64;
            self.put(count_key, count.to_be_bytes().to_vec());
            let run: keys::WordRun = ids.into_iter().collect();
            self.put(keys::word_run(&word, self.first_seq), fact::encode(&run));
        }
        for (day, end) in std::mem::take(&mut self.day_ends) {
            let day_key = Key::new(keys::DAY_END).date(day).into_bytes();
            if let Some(old_end) = self.stored(&day_key)? {
                let old_end = read_u64(Some(&old_end));
                self.remove(Key::new(keys::END_DAY).seq(old_end).into_bytes());
            }
            self.put(day_key, end.to_be_bytes().to_vec());
            self.put(
                Key::new(keys::END_DAY).seq(end).into_bytes(),
                Key::new(0).date(day).into_bytes()[1..].to_vec(),
            );
        }
        self.put(keys::applied(), self.next_seq.to_be_bytes().to_vec());
        for (id, facts) in std::mem::take(&mut self.facts) {
            let record = new_records.remove(&id).flatten();
            self.cache.keep(id, facts, record);
        }
        self.cache.keep_values(&self.writes);
        Ok(Sealed {
            writes: std::mem::take(&mut self.writes),
            applied: self.next_seq,
        })
    }
}

/// A batch settled and ready to write (see [`BatchWriter::seal`]).
pub struct Sealed {
    /// Every key it writes or removes, each once, the new `applied` count among them.
    pub writes: Writes,
    /// Entries applied in all once it is in.
    pub applied: u64,
}

/// Write a batch's `writes` into `tree` atomically, holding the readers' `gate` only for
/// sled's own call, so a query never sees half of it. Returns how long the gate was held.
pub fn write_batch(
    writes: &Writes,
    tree: &sled::Tree,
    gate: &crate::projections::EngineSlot,
) -> Result<std::time::Duration, QueryError> {
    let mut batch = sled::Batch::default();
    for (key, value) in writes {
        match value {
            Some(value) => batch.insert(key.as_slice(), value.as_slice()),
            None => batch.remove(key.as_slice()),
        }
    }
    let exclusive = gate.write();
    let held_from = std::time::Instant::now();
    tree.apply_batch(batch)?;
    let gate_held = held_from.elapsed();
    drop(exclusive);
    covenant_store::reclaim_after_batch(writes.len());
    Ok(gate_held)
}

/// The facts and latest record of commitments that recent batches touched, and the values of
/// the few keys every batch reads and rewrites ([`CACHED_VALUES`]), exactly as the tree holds
/// them once the batches sealed so far are in, so that a batch reads neither back. With one
/// key per fact, reading a commitment's facts back is about half the cost of catching up; and
/// while sled writes one batch no read of any tree runs, so the next batch is prepared from
/// here. Only the writer uses it (it lives under the writer's lock), commitments are taken out
/// when a batch loads them and put back when it is sealed, and it is emptied whenever the tree
/// is cleared or a catch-up fails, so it can never disagree with the tree. Bounded by an
/// estimate of its size; past the bound it starts again empty.
#[derive(Default)]
pub struct FactCache {
    commitments: std::collections::HashMap<String, (Vec<Fact>, Option<CommitmentRecord>)>,
    bytes: usize,
    values: std::collections::HashMap<Vec<u8>, Option<Vec<u8>>>,
    value_bytes: usize,
}

/// The most the cache holds of commitments, by [`FactCache::estimate`].
const FACT_CACHE_BYTES: usize = 256 * 1024 * 1024;

/// The most the cache holds of values, keys included.
const VALUE_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// What a cached value counts against [`VALUE_CACHE_BYTES`]: its key, its bytes and a share
/// for the map's own entry.
fn value_cost(key: &[u8], value: &Option<Vec<u8>>) -> usize {
    key.len() + value.as_ref().map_or(0, Vec::len) + 64
}

/// The tags whose values the cache keeps: aggregates, actors, word counts and day ends, which
/// a batch reads and writes back whole.
const CACHED_VALUES: [u8; 4] = [
    keys::AGGREGATE,
    keys::ACTOR,
    keys::WORD_COUNT,
    keys::DAY_END,
];

impl FactCache {
    fn take(&mut self, id: &str) -> Option<(Vec<Fact>, Option<CommitmentRecord>)> {
        let (facts, record) = self.commitments.remove(id)?;
        self.bytes = self.bytes.saturating_sub(Self::estimate(id, &facts));
        Some((facts, record))
    }

    fn keep(&mut self, id: String, facts: Vec<Fact>, record: Option<CommitmentRecord>) {
        let bytes = Self::estimate(&id, &facts);
        if self.bytes + bytes > FACT_CACHE_BYTES {
            self.clear();
        }
        self.bytes += bytes;
        if let Some((old, _)) = self.commitments.insert(id.clone(), (facts, record)) {
            // Not expected (a batch takes out what it loads), but keep the count honest.
            self.bytes = self.bytes.saturating_sub(Self::estimate(&id, &old));
        }
    }

    /// The value the tree holds for `key`, if the cache knows it.
    fn value(&self, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        self.values.get(key)
    }

    /// Keep the values a sealed batch writes under the cached tags.
    fn keep_values(&mut self, writes: &Writes) {
        for (key, value) in writes {
            if !key.first().is_some_and(|tag| CACHED_VALUES.contains(tag)) {
                continue;
            }
            let cost = value_cost(key, value);
            if self.value_bytes + cost > VALUE_CACHE_BYTES {
                self.values = std::collections::HashMap::new();
                self.value_bytes = 0;
            }
            if let Some(old) = self.values.insert(key.clone(), value.clone()) {
                self.value_bytes = self.value_bytes.saturating_sub(value_cost(key, &old));
            }
            self.value_bytes += cost;
        }
    }

    /// Forget everything (the tree was cleared, the cache is full or a catch-up failed).
    pub fn clear(&mut self) {
        self.commitments = std::collections::HashMap::new();
        self.bytes = 0;
        self.values = std::collections::HashMap::new();
        self.value_bytes = 0;
    }

    /// Rough heap size of a commitment's entry: the facts' variable parts, a fixed share per
    /// fact for the rest, and a fixed share for the record.
    fn estimate(id: &str, facts: &[Fact]) -> usize {
        let variable: usize = facts
            .iter()
            .map(|fact| fact.body.len() + fact.event_id.len() + fact.actor.len())
            .sum();
        variable + facts.len() * 96 + id.len() + 512
    }
}

/// Lay `writes` under `prefix` over `found`: a written value replaces, a removal removes.
fn overlay(found: &mut BTreeMap<Vec<u8>, Vec<u8>>, writes: &Writes, prefix: &[u8]) {
    for (key, value) in writes.range(prefix.to_vec()..) {
        if !key.starts_with(prefix) {
            break;
        }
        match value {
            Some(value) => found.insert(key.clone(), value.clone()),
            None => found.remove(key),
        };
    }
}

pub fn aggregate_key(group: &Group) -> Vec<u8> {
    Key::new(keys::AGGREGATE).last(&group.key()).into_bytes()
}

/// Every index key a commitment record puts in the tree (besides its own record).
fn index_keys(record: Option<&CommitmentRecord>) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Some(record) = record else {
        return out;
    };
    let id = &record.id;
    let status_key = |name: &str| Key::new(keys::STATUS).part(name).last(id).into_bytes();
    out.insert(status_key(record.base.as_str()), vec![]);
    if !record.counts() {
        return out;
    }
    // Delivery partners find it under their id too; `CommitmentFilter` tells owner from partner.
    for actor in std::iter::once(&record.owner).chain(&record.delivery_partners) {
        out.insert(
            Key::new(keys::OWNER).part(actor).last(id).into_bytes(),
            vec![],
        );
    }
    // The lists of a scorecard read these values, not the records.
    let entry = fact::encode(&record.list_entry());
    for group in record.groups() {
        if let (true, Some(due)) = (record.base.is_open(), record.due_by) {
            let key = Key::new(keys::DUE).part(&group.key()).date(due).last(id);
            out.insert(key.into_bytes(), entry.clone());
        }
        if record.goalposts_moved() {
            let key = moved_key(&group, record.moved_on).last(id);
            out.insert(key.into_bytes(), entry.clone());
        }
    }
    if let Some(on) = record.outcome_on {
        let key = Key::new(keys::OUTCOME).date_descending(on).last(id);
        out.insert(key.into_bytes(), vec![]);
    }
    if let Some(on) = record.disputed_on {
        let key = Key::new(keys::DISPUTED).date_descending(on).last(id);
        out.insert(key.into_bytes(), vec![]);
    }
    out
}

/// A group's moved-goalposts key up to the commitment id: the most recently moved first, and
/// one never dated (which a record whose goalposts moved cannot be) last.
fn moved_key(group: &Group, moved_on: Option<Date>) -> Key {
    Key::new(keys::MOVED)
        .part(&group.key())
        .date_descending(moved_on.unwrap_or(Date(i32::MIN)))
}

pub fn read_u64(bytes: Option<&[u8]>) -> u64 {
    bytes
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

pub fn corrupt(key: &[u8]) -> impl Fn(String) -> QueryError + '_ {
    move |problem| QueryError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_store::SledStore;

    fn tree_with(dir: &std::path::Path, pairs: &[(&[u8], &[u8])]) -> sled::Tree {
        let db = sled::Config::new()
            .path(dir.join("query"))
            .open()
            .expect("open");
        let tree = db.open_tree("projections").expect("tree");
        for (key, value) in pairs {
            tree.insert(key, *value).expect("insert");
        }
        tree
    }

    fn written(pairs: &[(&[u8], Option<&[u8]>)]) -> Writes {
        pairs
            .iter()
            .map(|(key, value)| (key.to_vec(), value.map(<[u8]>::to_vec)))
            .collect()
    }

    #[test]
    fn a_batch_reads_the_batch_in_flight_over_the_tree_and_its_own_writes_over_both() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SledStore::create_or_open(dir.path().join("log")).expect("store");
        let tree = tree_with(
            dir.path(),
            &[(b"xa", b"1"), (b"xb", b"2"), (b"xc", b"3"), (b"y", b"4")],
        );
        let in_flight = written(&[(b"xa", Some(b"10")), (b"xb", None), (b"xd", Some(b"5"))]);
        let lookups = Lookups::default();
        let mut cache = FactCache::default();
        let mut batch = BatchWriter::new(&tree, Some(&in_flight), &lookups, &store, &mut cache, 0);
        batch.put(b"xe".to_vec(), b"6".to_vec());
        batch.remove(b"xc".to_vec());

        assert_eq!(batch.stored(b"xa").expect("read"), Some(b"10".to_vec()));
        assert_eq!(batch.stored(b"xb").expect("read"), None);
        assert_eq!(batch.stored(b"xc").expect("read"), Some(b"3".to_vec()));
        assert_eq!(batch.get(b"xc").expect("read"), None);
        assert_eq!(batch.get(b"y").expect("read"), Some(b"4".to_vec()));
        let stored: Vec<Vec<u8>> = batch
            .stored_under(b"x")
            .expect("scan")
            .into_keys()
            .collect();
        assert_eq!(stored, [b"xa".to_vec(), b"xc".to_vec(), b"xd".to_vec()]);
        let listed: Vec<Vec<u8>> = batch
            .keys_with_prefix(b"x")
            .expect("scan")
            .into_iter()
            .collect();
        assert_eq!(listed, [b"xa".to_vec(), b"xd".to_vec(), b"xe".to_vec()]);
    }

    #[test]
    fn the_cache_keeps_only_the_values_batches_rewrite_whole_and_is_read_before_the_tree() {
        let aggregate = Key::new(keys::AGGREGATE).last("all").into_bytes();
        let status = Key::new(keys::STATUS).part("open").last("c1").into_bytes();
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SledStore::create_or_open(dir.path().join("log")).expect("store");
        let tree = tree_with(dir.path(), &[(&aggregate, b"in the tree"), (&status, b"")]);
        let mut cache = FactCache::default();
        cache.keep_values(&written(&[
            (&aggregate, Some(b"sealed".as_slice())),
            (&status, None),
        ]));
        assert_eq!(cache.value(&aggregate), Some(&Some(b"sealed".to_vec())));
        assert_eq!(cache.value(&status), None);

        let lookups = Lookups::default();
        let batch = BatchWriter::new(&tree, None, &lookups, &store, &mut cache, 0);
        assert_eq!(
            batch.stored(&aggregate).expect("read"),
            Some(b"sealed".to_vec())
        );
        assert_eq!(batch.stored(&status).expect("read"), Some(vec![]));
        drop(batch);
        cache.clear();
        assert_eq!(cache.value(&aggregate), None);
    }

    #[test]
    fn the_value_cache_starts_again_empty_only_past_its_bound_counting_replaced_values() {
        let key = |n: u8| Key::new(keys::AGGREGATE).last(&n.to_string()).into_bytes();
        let half = vec![0; VALUE_CACHE_BYTES / 2 - value_cost(&key(0), &Some(vec![]))];
        let keep = |cache: &mut FactCache, n: u8, value: &[u8]| {
            cache.keep_values(&written(&[(&key(n), Some(value))]));
        };
        let mut cache = FactCache::default();
        keep(&mut cache, 0, b"");
        keep(&mut cache, 0, &half);
        keep(&mut cache, 1, &half);
        assert_eq!(
            cache.value(&key(0)),
            Some(&Some(half.clone())),
            "at the bound"
        );
        keep(&mut cache, 2, b"");
        assert_eq!(cache.value(&key(0)), None, "past the bound");
        assert_eq!(cache.value(&key(1)), None, "past the bound");
        assert_eq!(cache.value(&key(2)), Some(&Some(vec![])));
    }

    #[test]
    fn a_reference_read_ahead_answers_below_the_batch_in_flight() {
        let reference = Key::new(keys::EVENT).last("e1").into_bytes();
        let other = Key::new(keys::EVENT).last("e2").into_bytes();
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SledStore::create_or_open(dir.path().join("log")).expect("store");
        let tree = tree_with(dir.path(), &[(&reference, b"now in the tree")]);
        let mut lookups = Lookups::default();
        lookups.references.insert(reference.clone(), None);
        lookups
            .references
            .insert(other.clone(), Some(b"read ahead".to_vec()));
        let in_flight = written(&[(&other, Some(b"in flight".as_slice()))]);
        let mut cache = FactCache::default();
        let batch = BatchWriter::new(&tree, Some(&in_flight), &lookups, &store, &mut cache, 0);
        assert_eq!(batch.stored(&reference).expect("read"), None);
        assert_eq!(
            batch.stored(&other).expect("read"),
            Some(b"in flight".to_vec())
        );
    }

    fn scenario_log(dir: &std::path::Path) -> (SledStore, sled::Tree) {
        let store = SledStore::create_or_open(dir.join("log")).expect("store");
        covenant_testkit::scenario::write(&store).expect("scenario");
        let db = sled::Config::new()
            .path(dir.join("query"))
            .open()
            .expect("open");
        let tree = db.open_tree("projections").expect("tree");
        (store, tree)
    }

    #[test]
    fn reading_ahead_past_the_log_names_the_first_entry_missing() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (store, tree) = scenario_log(dir.path());
        let head = store.head().size;
        let Err(QueryError::BadEntry { seq, problem }) =
            ReadAhead::read(&store, &tree, head - 2, head + 3)
        else {
            panic!("a range past the log's end must be refused");
        };
        assert_eq!(seq, head);
        assert!(problem.contains("returned 2 entries"), "{problem}");
    }

    #[test]
    fn reading_ahead_decodes_every_entry_and_finds_what_each_retraction_retracts() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (store, tree) = scenario_log(dir.path());
        let head = store.head().size;
        let (start, entries, lookups) = ReadAhead::read(&store, &tree, 1, head)
            .expect("read ahead")
            .into_parts();
        assert_eq!(start, 1);
        let seqs: Vec<u64> = entries.iter().map(|entry| entry.fact.seq).collect();
        assert_eq!(seqs, (1..head).collect::<Vec<_>>());
        let retracted: Vec<&String> = entries
            .iter()
            .filter_map(|entry| match &entry.kind {
                Kind::Retraction(retraction) => Some(&retraction.event_id),
                _ => None,
            })
            .collect();
        assert!(!retracted.is_empty(), "the scenario retracts events");
        assert_eq!(lookups.targets.len(), retracted.len());
        for event_id in retracted {
            let indexed = store.event(event_id).expect("index").expect("in the log");
            let entry = store.entry(indexed.seq).expect("read").expect("entry");
            assert_eq!(lookups.targets[event_id], Some((indexed.seq, entry)));
            let reference = Key::new(keys::EVENT).last(event_id).into_bytes();
            assert_eq!(lookups.references.get(&reference), Some(&None));
        }
    }
}
