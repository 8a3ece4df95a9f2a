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
//!    readers off briefly, see `crate::follow`) from the store through `LogReader`;
//!    [`BatchWriter::apply_entry`] checks each one's sequence number and decodes it (the log
//!    holds only validated events, so a failure is corruption and is named).
//! 2. Each event becomes facts on the commitments it is about: one per commitment an action
//!    serves, one on each commitment a succession passes (chosen exactly as validation chose
//!    them, from the `keys::LEDGER_OPEN` index), a retraction on every commitment its target
//!    touched (from `keys::EVENT` for a succession or a retraction; for any other target, from
//!    the target's own entry, found through the store's event index: retractions are rare, and
//!    a reference kept for every event would cost one more key per event).
//! 3. For every commitment touched, its facts fold into its new state (`state::fold`, the
//!    pure status rules), the new record is derived and compared with the old: the old record
//!    is subtracted from its groups' aggregates and the new one added, and exactly the index
//!    keys that differ are replaced. A commitment's facts and old record come from the
//!    writer's [`FactCache`] when an earlier batch touched it, otherwise from the tree:
//!    reading facts back costs as much as writing them.
//! 4. [`BatchWriter::commit`] hands every write, and the new `applied` count, to sled as one
//!    `apply_batch`, taking the readers' gate exclusively only for that call, so a query never
//!    sees half a batch. Nothing waits for the disk: sled writes batches atomically, so after a
//!    crash the projection stands at the end of some batch and the next catch-up applies the
//!    rest again from the stored count (`covenant query rebuild` and a stopping server flush).
//!    Only once the batch is in the tree do its commitments go back into the cache, which is
//!    emptied whenever the tree is cleared, so the cache never disagrees with the tree.
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
use covenant_store::LogReader;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Which commitments and actors an event touched: where its retraction must go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    pub seq: u64,
    pub commitments: Vec<String>,
    pub actors: Vec<String>,
}

/// One batch of writes against the projection tree.
pub struct BatchWriter<'t> {
    tree: &'t sled::Tree,
    /// The log, for what a retraction's target touched (see `touched_by`).
    store: &'t dyn LogReader,
    /// Facts and records of commitments touched by earlier batches (see [`FactCache`]).
    cache: &'t mut FactCache,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Every fact of each commitment touched in this batch, stored and new.
    facts: BTreeMap<String, Vec<Fact>>,
    /// The record of each touched commitment as it was before the batch.
    old_records: BTreeMap<String, Option<CommitmentRecord>>,
    actors: BTreeMap<String, ActorRecord>,
    /// Word -> the commitments this batch lists under it for the first time, written as one
    /// run per word (see `keys::WORD`).
    word_runs: BTreeMap<String, BTreeSet<String>>,
    word_counts: BTreeMap<String, u64>,
    /// Group key -> the feed items this batch announced, in log order (see `keys::FEED`).
    feed_runs: BTreeMap<String, keys::FeedRun>,
    /// Day -> entries stored on or before it, for the days this batch touched.
    day_ends: BTreeMap<Date, u64>,
    /// The batch's first entry, which names its runs.
    first_seq: u64,
    next_seq: u64,
}

impl<'t> BatchWriter<'t> {
    pub fn new(
        tree: &'t sled::Tree,
        store: &'t dyn LogReader,
        cache: &'t mut FactCache,
        next_seq: u64,
    ) -> Self {
        Self {
            tree,
            store,
            cache,
            writes: BTreeMap::new(),
            facts: BTreeMap::new(),
            old_records: BTreeMap::new(),
            actors: BTreeMap::new(),
            word_runs: BTreeMap::new(),
            word_counts: BTreeMap::new(),
            feed_runs: BTreeMap::new(),
            day_ends: BTreeMap::new(),
            first_seq: next_seq,
            next_seq,
        }
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, QueryError> {
        if let Some(pending) = self.writes.get(key) {
            return Ok(pending.clone());
        }
        Ok(self.tree.get(key)?.map(|value| value.to_vec()))
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    fn remove(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// Keys under `prefix`, stored or written in this batch.
    fn keys_with_prefix(&self, prefix: &[u8]) -> Result<BTreeSet<Vec<u8>>, QueryError> {
        let mut found = BTreeSet::new();
        for item in self.tree.scan_prefix(prefix) {
            found.insert(item?.0.to_vec());
        }
        for (key, value) in self.writes.range(prefix.to_vec()..) {
            if !key.starts_with(prefix) {
                break;
            }
            match value {
                Some(_) => found.insert(key.clone()),
                None => found.remove(key),
            };
        }
        Ok(found)
    }

    /// Apply one encoded entry, which must be entry `next_seq`.
    pub fn apply_entry(&mut self, entry_bytes: &[u8]) -> Result<(), QueryError> {
        let seq = self.next_seq;
        let header = EntryHeader::parse(entry_bytes).map_err(|error| QueryError::BadEntry {
            seq,
            problem: error.to_string(),
        })?;
        if header.seq != seq {
            return Err(QueryError::BadEntry {
                seq,
                problem: format!("the store returned entry {} in its place", header.seq),
            });
        }
        let decoded = event::decode(&entry_bytes[ENTRY_HEADER_BYTES..]).map_err(|error| {
            QueryError::BadEntry {
                seq,
                problem: error.to_string(),
            }
        })?;
        let day = Date::from_unix_ms((header.stored_at_ns / 1_000_000) as i64);
        self.day_ends.insert(day, seq + 1);
        let fact = Fact {
            seq,
            stored_at_ns: header.stored_at_ns,
            event_id: decoded.envelope.event_id.clone(),
            actor: decoded.envelope.actor.clone(),
            occurred_at_ms: decoded.envelope.occurred_at_ms,
            entry_hash: chain_hash(entry_bytes),
            body: decoded.envelope.body.clone(),
        };
        self.apply_event(fact, decoded.kind)?;
        self.next_seq += 1;
        Ok(())
    }

    fn apply_event(&mut self, fact: Fact, kind: Kind) -> Result<(), QueryError> {
        let mut touched = EventRef {
            seq: fact.seq,
            ..EventRef::default()
        };
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
                let passing = self.pass_ledger_open(
                    &succession.predecessor_id,
                    &succession.successor_id,
                    &succession.commitment_ids,
                )?;
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
                    self.put(
                        Key::new(keys::EVER_OWNED)
                            .part(&succession.successor_id)
                            .last(id)
                            .into_bytes(),
                        vec![],
                    );
                    self.add_fact(id, fact.clone())?;
                }
                touched.commitments = passing;
            }
            Kind::CommitmentMade(made) => {
                let id = made.commitment_id.clone();
                self.put(
                    Key::new(keys::LEDGER_OPEN)
                        .part(&fact.actor)
                        .last(&id)
                        .into_bytes(),
                    vec![],
                );
                self.put(
                    Key::new(keys::EVER_OWNED)
                        .part(&fact.actor)
                        .last(&id)
                        .into_bytes(),
                    vec![],
                );
                for partner in &made.delivery_partners {
                    self.put(
                        Key::new(keys::EVER_OWNED)
                            .part(partner)
                            .last(&id)
                            .into_bytes(),
                        vec![],
                    );
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
                self.close_ledger_open(&fact.actor, &withdrawn.commitment_id);
                touched.commitments.push(withdrawn.commitment_id.clone());
            }
            Kind::OutcomeReported(outcome) => {
                // A delivery partner may report it; the commitment closes for its owner.
                let owner = self.owner_of(&outcome.commitment_id)?;
                self.close_ledger_open(&owner, &outcome.commitment_id);
                touched.commitments.push(outcome.commitment_id.clone());
            }
            Kind::CommitmentAdopted(adopted) => {
                let id = &adopted.commitment_id;
                let pledged_by = self.owner_of(id)?;
                self.close_ledger_open(&pledged_by, id);
                for tag in [keys::LEDGER_OPEN, keys::EVER_OWNED] {
                    self.put(
                        Key::new(tag).part(&fact.actor).last(id).into_bytes(),
                        vec![],
                    );
                }
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
        let Some(target) = self.store.event(event_id)? else {
            return Err(bad(format!("retracts {event_id}, which is not in the log")));
        };
        let entry = self.store.entry(target.seq)?.ok_or_else(|| {
            bad(format!(
                "retracts entry {}, which the log lacks",
                target.seq
            ))
        })?;
        let problem = |error: String| bad(format!("retracted entry {}: {error}", target.seq));
        let body = entry
            .get(ENTRY_HEADER_BYTES..)
            .ok_or_else(|| problem("shorter than an entry header".to_owned()))?;
        let decoded = event::decode(body).map_err(|error| problem(error.to_string()))?;
        let mut touched = EventRef {
            seq: target.seq,
            ..EventRef::default()
        };
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
        for item in self.tree.scan_prefix(&prefix) {
            let (key, value) = item?;
            facts.push(fact::decode(&value, "fact").map_err(corrupt(&key))?);
        }
        let record_key = Key::new(keys::RECORD).last(id).into_bytes();
        let record = self
            .tree
            .get(&record_key)?
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
        for word in words {
            if listed.contains(&word)
                || !self
                    .word_runs
                    .entry(word.clone())
                    .or_default()
                    .insert(id.to_owned())
            {
                continue;
            }
            let count = match self.word_counts.get(&word) {
                Some(count) => *count,
                None => {
                    let count_key = Key::new(keys::WORD_COUNT).last(&word).into_bytes();
                    read_u64(self.tree.get(&count_key)?.as_deref())
                }
            };
            self.word_counts.insert(word, count + 1);
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

    /// Who owns a commitment as of everything applied so far, this batch included.
    fn owner_of(&mut self, id: &str) -> Result<String, QueryError> {
        self.load(id)?;
        let facts = self.facts.get(id).map(Vec::as_slice).unwrap_or_default();
        let state = state::fold(facts, state::Cut::recorded(u64::MAX)).map_err(|problem| {
            QueryError::Corrupt {
                key: id.to_owned(),
                problem,
            }
        })?;
        Ok(state.map(|state| state.owner).unwrap_or_default())
    }

    fn close_ledger_open(&mut self, owner: &str, id: &str) {
        self.remove(
            Key::new(keys::LEDGER_OPEN)
                .part(owner)
                .last(id)
                .into_bytes(),
        );
    }

    /// Move the commitments validation passes on succession (open by its rules, listed or all)
    /// to the successor; returns their ids, sorted.
    fn pass_ledger_open(
        &mut self,
        predecessor: &str,
        successor: &str,
        listed: &[String],
    ) -> Result<Vec<String>, QueryError> {
        let prefix = Key::new(keys::LEDGER_OPEN).part(predecessor).into_bytes();
        let mut passing = vec![];
        for key in self.keys_with_prefix(&prefix)? {
            let Some(id) = keys::last_component(&key, prefix.len()) else {
                return Err(corrupt(&key)("ledger-open key is not text".into()));
            };
            if listed.is_empty() || listed.iter().any(|listed| listed == id) {
                passing.push(id.to_owned());
            }
        }
        for id in &passing {
            self.close_ledger_open(predecessor, id);
            self.put(
                Key::new(keys::LEDGER_OPEN)
                    .part(successor)
                    .last(id)
                    .into_bytes(),
                vec![],
            );
        }
        Ok(passing)
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

    /// Settle records, indexes and aggregates, and hand everything to sled atomically.
    pub fn commit(
        mut self,
        gate: &crate::projections::EngineSlot,
    ) -> Result<Committed, QueryError> {
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
                                let stored = match self.tree.get(&key)? {
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
        for (word, ids) in std::mem::take(&mut self.word_runs) {
            let run: keys::WordRun = ids.into_iter().collect();
            self.put(keys::word_run(&word, self.first_seq), fact::encode(&run));
        }
        for (group, items) in std::mem::take(&mut self.feed_runs) {
            self.put(keys::feed_run(&group, self.first_seq), fact::encode(&items));
        }
        for (word, count) in std::mem::take(&mut self.word_counts) {
            self.put(
                Key::new(keys::WORD_COUNT).last(&word).into_bytes(),
                count.to_be_bytes().to_vec(),
            );
        }
        for (day, end) in std::mem::take(&mut self.day_ends) {
            let day_key = Key::new(keys::DAY_END).date(day).into_bytes();
            if let Some(old_end) = self.tree.get(&day_key)? {
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
        let mut batch = sled::Batch::default();
        let written = self.writes.len() as u64;
        for (key, value) in std::mem::take(&mut self.writes) {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        let exclusive = gate.write();
        let held_from = std::time::Instant::now();
        self.tree.apply_batch(batch)?;
        let gate_held = held_from.elapsed();
        drop(exclusive);
        covenant_store::reclaim_after_batch(written as usize);
        // Only now that the tree holds them: what the next batches read instead of the tree.
        for (id, facts) in std::mem::take(&mut self.facts) {
            let record = new_records.remove(&id).flatten();
            self.cache.keep(id, facts, record);
        }
        Ok(Committed {
            applied: self.next_seq,
            written,
            gate_held,
        })
    }
}

/// What [`BatchWriter::commit`] did.
#[derive(Debug, Clone, Copy)]
pub struct Committed {
    /// Entries applied in all, this batch included.
    pub applied: u64,
    /// Keys written or removed, each once.
    pub written: u64,
    /// How long the batch held the readers' gate.
    pub gate_held: std::time::Duration,
}

/// The facts and latest record of commitments that recent batches touched, exactly as the tree
/// holds them, so that a commitment touched again in a later batch is not read and decoded
/// again: with one key per fact, reading a commitment's facts back is about half the cost of
/// catching up. Only the writer uses it (it lives under the writer's lock), entries are taken
/// out when a batch loads them and put back only once the batch is in the tree, and it is
/// emptied whenever the tree is cleared, so it can never disagree with the tree. Bounded by an
/// estimate of its size; past the bound it starts again empty.
#[derive(Default)]
pub struct FactCache {
    commitments: std::collections::HashMap<String, (Vec<Fact>, Option<CommitmentRecord>)>,
    bytes: usize,
}

/// The most the cache holds, by [`FactCache::estimate`].
const FACT_CACHE_BYTES: usize = 256 * 1024 * 1024;

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

    /// Forget everything (the tree was cleared, or the cache is full).
    pub fn clear(&mut self) {
        self.commitments = std::collections::HashMap::new();
        self.bytes = 0;
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
    if record.base.is_open() {
        out.insert(status_key("open"), vec![]);
    }
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
            let key = Key::new(keys::MOVED).part(&group.key()).last(id);
            out.insert(key.into_bytes(), entry.clone());
        }
    }
    out
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
