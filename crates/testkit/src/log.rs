//! [`LogWriter`], the builder of valid, signed logs in a real store for tests and benchmarks.
//!
//! It seals every event with a real key through covenant-emit's typed builders and
//! [`Speaker`] (so the emitter's field checks run first), runs covenant-core's validation on it
//! exactly as the ledger does, and appends what is accepted to a real [`LogStore`] in batches
//! with the state changes. A rejection is returned, never appended, so a test can only build
//! logs the ledger would have built. Logs that lie (tampered, rechained, invalid) are built by
//! hand in the tests that need them.

use covenant_core::event::{self, Date};
use covenant_core::proto::{self, event_body::Kind};
use covenant_core::signing::{EventSigner, PublicKey};
use covenant_core::validate::{
    Decision, EventIndex, IndexedEvent, LedgerState, Rejection, SignatureCheck, genesis_envelope,
    validate,
};
use covenant_emit::EmitError;
use covenant_emit::build::{
    Action, ActorRegistration, Amendment, Assessment, Commitment, KeyGrant, Money, Outcome,
    Retraction, SealedEvent, Speaker, Succession, Withdrawal,
};
use covenant_store::{Batch, Head, LogStore, NewEntry, StoreError};
use prost::Message;
use std::collections::HashMap;

/// The registrar actor of logs a [`LogWriter`] starts.
pub const REGISTRAR: &str = "covenant-registrar";
const REGISTRAR_KEY: &str = "registrar-1";
const NS_PER_DAY: u64 = 86_400_000_000_000;

/// Why an event could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("rejected: {0}")]
    Rejected(Rejection),
    #[error("event is a duplicate of entry {0}")]
    Duplicate(u64),
    #[error("envelope does not decode: {0}")]
    Decode(#[from] event::DecodeError),
    #[error("the emitter refused the event: {0}")]
    Refused(#[from] EmitError),
    #[error("{0:?} is not a date (YYYY-MM-DD)")]
    Date(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("actor {0} has no key in this writer")]
    UnknownActor(String),
}

/// Writes a valid log into a store, one signed event at a time.
pub struct LogWriter<'s> {
    store: &'s dyn LogStore,
    state: LedgerState,
    index: HashMap<String, IndexedEvent>,
    pending: Batch,
    next_seq: u64,
    registrar: Speaker,
    speakers: HashMap<String, Speaker>,
    clock_ns: u64,
    next_id: u64,
    /// Entries per append.
    pub batch_entries: usize,
}

/// The signing key of a key id: a writer's keys derive from their ids, so a log can be resumed.
fn signer_for(name: &str) -> EventSigner {
    EventSigner::from_seed(*blake3::hash(name.as_bytes()).as_bytes())
}

fn registrar() -> Result<Speaker, WriteError> {
    Ok(Speaker::new(
        REGISTRAR,
        REGISTRAR_KEY,
        signer_for(REGISTRAR),
    )?)
}

/// The date of a Unix time in nanoseconds.
fn day_of(ns: u64) -> Date {
    Date::from_unix_ms((ns / 1_000_000) as i64)
}

fn date(text: &str) -> Result<Date, WriteError> {
    Date::parse(text).ok_or_else(|| WriteError::Date(text.to_owned()))
}

impl<'s> LogWriter<'s> {
    /// A writer for `store` that writes nothing itself; the clock starts at `start_ns`.
    fn new(store: &'s dyn LogStore, start_ns: u64) -> Result<Self, WriteError> {
        Ok(Self {
            store,
            state: LedgerState::default(),
            index: HashMap::new(),
            pending: Batch::default(),
            next_seq: store.head().size,
            registrar: registrar()?,
            speakers: HashMap::new(),
            clock_ns: start_ns,
            next_id: 0,
            batch_entries: 1_000,
        })
    }

    /// Write the genesis entry into an empty store; the clock starts at `start_ns`.
    pub fn genesis(store: &'s dyn LogStore, start_ns: u64) -> Result<Self, WriteError> {
        let mut writer = Self::new(store, start_ns)?;
        let genesis = genesis_envelope(proto::Genesis {
            origin: "covenant.test/log".into(),
            registrar_actor: REGISTRAR.into(),
            registrars: vec![proto::RegistrarKey {
                key_id: REGISTRAR_KEY.into(),
                public_key: writer.registrar.public_key().to_vec(),
            }],
            description: "fixture log".into(),
        });
        writer.submit(genesis.encode_to_vec(), SignatureCheck::Pending, start_ns)?;
        Ok(writer)
    }

    /// A writer for an empty store that replays envelopes signed elsewhere, genesis first,
    /// through [`LogWriter::replay`]: a log re-derived from its envelopes under today's rules.
    pub fn for_replay(store: &'s dyn LogStore) -> Result<Self, WriteError> {
        Self::new(store, 0)
    }

    /// Continue the log already in `store` (written by a `LogWriter`, whose keys derive from
    /// their ids), a day after its last entry.
    pub fn resume(store: &'s dyn LogStore) -> Result<Self, WriteError> {
        let head = store.head();
        let state = store.load_state()?;
        let mut speakers = HashMap::new();
        for (key_id, record) in &state.keys {
            let signer = signer_for(key_id);
            if signer.public_key() == record.public_key {
                let speaker = Speaker::new(record.actor.clone(), key_id.clone(), signer)?;
                speakers.insert(record.actor.clone(), speaker);
            }
        }
        Ok(Self {
            state,
            speakers,
            clock_ns: head.last_stored_at_ns + NS_PER_DAY,
            // Every event takes at most two numbers from the counter.
            next_id: head.size * 2 + 1,
            ..Self::new(store, 0)?
        })
    }

    /// The broker storage time the next event gets.
    pub fn now_ns(&self) -> u64 {
        self.clock_ns
    }

    /// The date of the storage clock.
    pub fn today(&self) -> Date {
        day_of(self.clock_ns)
    }

    /// Move the storage clock forward (it never goes back).
    pub fn advance_ns(&mut self, ns: u64) {
        self.clock_ns += ns;
    }

    /// Move the storage clock to `ns`, if that is later than now.
    pub fn advance_to(&mut self, ns: u64) {
        self.clock_ns = self.clock_ns.max(ns);
    }

    pub fn advance_days(&mut self, days: u64) {
        self.advance_ns(days * NS_PER_DAY);
    }

    /// Sequence number the next accepted event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn fresh_event_id(&mut self) -> String {
        self.next_id += 1;
        format!("01{:024}", self.next_id)
    }

    fn occurred_at_ms(&self) -> i64 {
        (self.clock_ns / 1_000_000) as i64
    }

    /// Register an actor and grant it one key with the emitter and assessor roles.
    pub fn register(
        &mut self,
        actor_id: &str,
        name: &str,
        kind: proto::ActorKind,
    ) -> Result<String, WriteError> {
        let event_id = self.registry(ActorRegistration::new(actor_id, name, kind))?;
        let key_id = format!("{actor_id}/key-1");
        let speaker = Speaker::new(actor_id, key_id.clone(), signer_for(&key_id))?;
        self.registry(KeyGrant::new(
            key_id,
            speaker.public_key(),
            actor_id,
            &[proto::KeyRole::Emitter, proto::KeyRole::Assessor],
        ))?;
        self.speakers.insert(actor_id.to_owned(), speaker);
        Ok(event_id)
    }

    /// A registry event, signed by the registrar.
    pub fn registry(&mut self, event: impl Into<Kind>) -> Result<String, WriteError> {
        let event_id = self.fresh_event_id();
        let sealed = self
            .registrar
            .seal_with_id(&event_id, event, self.occurred_at_ms())?;
        let public_key = self.registrar.public_key();
        self.submit_sealed(sealed, public_key)
    }

    /// A signed event spoken by `actor`, not submitted (for publishing elsewhere).
    pub fn seal(&mut self, actor: &str, event: impl Into<Kind>) -> Result<SealedEvent, WriteError> {
        let event_id = self.fresh_event_id();
        let occurred_at_ms = self.occurred_at_ms();
        let speaker = self
            .speakers
            .get(actor)
            .ok_or_else(|| WriteError::UnknownActor(actor.to_owned()))?;
        Ok(speaker.seal_with_id(&event_id, event, occurred_at_ms)?)
    }

    /// An event spoken by `actor` with its key; returns the event id.
    pub fn emit(&mut self, actor: &str, event: impl Into<Kind>) -> Result<String, WriteError> {
        let sealed = self.seal(actor, event)?;
        let public_key = self
            .speakers
            .get(actor)
            .ok_or_else(|| WriteError::UnknownActor(actor.to_owned()))?
            .public_key();
        self.submit_sealed(sealed, public_key)
    }

    /// Validate envelope bytes signed elsewhere (the signature is checked by validation) as
    /// stored at `stored_at_ns`, and append them if accepted; the clock moves there if that is
    /// later. Returns the entry's sequence number.
    pub fn replay(&mut self, envelope: &[u8], stored_at_ns: u64) -> Result<u64, WriteError> {
        let seq = self.next_seq;
        self.submit(envelope.to_vec(), SignatureCheck::Pending, stored_at_ns)?;
        self.advance_to(stored_at_ns);
        Ok(seq)
    }

    fn submit_sealed(
        &mut self,
        sealed: SealedEvent,
        public_key: PublicKey,
    ) -> Result<String, WriteError> {
        self.submit(
            sealed.bytes.to_vec(),
            SignatureCheck::VerifiedWith(public_key),
            self.clock_ns,
        )?;
        Ok(sealed.event_id)
    }

    fn submit(
        &mut self,
        bytes: Vec<u8>,
        check: SignatureCheck,
        stored_at_ns: u64,
    ) -> Result<(), WriteError> {
        let decoded = event::decode(&bytes)?;
        let index = StoreIndex {
            store: self.store,
            pending: &self.index,
        };
        match validate(
            &self.state,
            &index,
            &decoded,
            self.next_seq,
            stored_at_ns,
            check,
        ) {
            Decision::Accept(changes) => {
                self.state.apply_all(changes.clone());
                self.index.insert(
                    decoded.event_id().to_owned(),
                    IndexedEvent {
                        seq: self.next_seq,
                        digest: decoded.digest,
                        actor: decoded.actor().to_owned(),
                    },
                );
                self.pending.state_changes.extend(changes);
                self.pending.entries.push(NewEntry {
                    stored_at_ns,
                    event_id: decoded.event_id().to_owned(),
                    actor: decoded.actor().to_owned(),
                    digest: decoded.digest,
                    envelope: bytes,
                });
                self.next_seq += 1;
                if self.pending.entries.len() >= self.batch_entries {
                    self.flush()?;
                }
                Ok(())
            }
            Decision::Duplicate { seq } => Err(WriteError::Duplicate(seq)),
            Decision::Reject(rejection) => Err(WriteError::Rejected(rejection)),
        }
    }

    /// Append everything pending.
    pub fn flush(&mut self) -> Result<Head, WriteError> {
        let batch = std::mem::take(&mut self.pending);
        Ok(self.store.append(batch)?)
    }

    // ---- conveniences for the common events --------------------------------------------

    /// A commitment from the manifesto, made on `made_on` and due by `due_by` (`YYYY-MM-DD`).
    #[allow(clippy::too_many_arguments)]
    pub fn commitment(
        &mut self,
        actor: &str,
        commitment_id: &str,
        title: &str,
        text: &str,
        made_on: &str,
        due_by: &str,
        themes: &[&str],
    ) -> Result<String, WriteError> {
        let commitment = Commitment::new(commitment_id, title, text, date(made_on)?)
            .source(
                proto::SourceKind::Manifesto,
                "Manifesto",
                "https://example.org/manifesto",
            )
            .due_by(date(due_by)?)
            .themes(themes.iter().copied());
        self.emit(actor, commitment)
    }

    /// A funding action taken today towards `commitment_ids`, with money if given.
    pub fn action(
        &mut self,
        actor: &str,
        commitment_ids: &[&str],
        money: Option<(i64, &str, proto::MoneyStage)>,
    ) -> Result<String, WriteError> {
        self.next_id += 1;
        let action_id = format!("action-{}", self.next_id);
        let mut action = Action::new(
            action_id,
            commitment_ids.iter().copied(),
            proto::ActionType::Funding,
            self.today(),
            "work recorded",
        );
        if let Some((amount_minor, currency, stage)) = money {
            action = action.money(Money::new(amount_minor, currency, stage));
        }
        self.emit(actor, action)
    }

    pub fn outcome(
        &mut self,
        actor: &str,
        commitment_id: &str,
        verdict: proto::Verdict,
        reported_on: &str,
    ) -> Result<String, WriteError> {
        let outcome = Outcome::new(
            commitment_id,
            verdict,
            date(reported_on)?,
            "outcome reported",
        )
        .lessons("what we learned");
        self.emit(actor, outcome)
    }

    pub fn amend(
        &mut self,
        actor: &str,
        commitment_id: &str,
        class: proto::AmendmentClass,
        changes: &[(proto::AmendedField, &str)],
    ) -> Result<String, WriteError> {
        let amendment = changes.iter().fold(
            Amendment::new(commitment_id, class, "circumstances changed"),
            |amendment, (field, value)| amendment.change(*field, *value),
        );
        self.emit(actor, amendment)
    }

    pub fn withdraw(&mut self, actor: &str, commitment_id: &str) -> Result<String, WriteError> {
        self.emit(
            actor,
            Withdrawal::new(commitment_id, "no longer a priority"),
        )
    }

    pub fn assess(
        &mut self,
        assessor: &str,
        commitment_id: &str,
        outcome_event_id: &str,
        stance: proto::Stance,
    ) -> Result<String, WriteError> {
        self.emit(
            assessor,
            Assessment::new(commitment_id, outcome_event_id, stance, "independent check"),
        )
    }

    /// Retract `event_id`, spoken by `actor` (the registrar included).
    pub fn retract(&mut self, actor: &str, event_id: &str) -> Result<String, WriteError> {
        let retraction = Retraction::new(event_id, "published in error");
        if actor == REGISTRAR {
            self.registry(retraction)
        } else {
            self.emit(actor, retraction)
        }
    }

    /// `successor` takes over from `predecessor` today (renamed), with `commitment_ids`.
    pub fn succeed(
        &mut self,
        predecessor: &str,
        successor: &str,
        commitment_ids: &[&str],
    ) -> Result<String, WriteError> {
        let succession = Succession::new(
            predecessor,
            successor,
            proto::SuccessionKind::Renamed,
            self.today(),
        )
        .commitments(commitment_ids.iter().copied());
        self.registry(succession)
    }
}

/// Events written by this writer, then the store's index.
struct StoreIndex<'a> {
    store: &'a dyn LogStore,
    pending: &'a HashMap<String, IndexedEvent>,
}

impl EventIndex for StoreIndex<'_> {
    fn lookup(&self, event_id: &str) -> Option<IndexedEvent> {
        if let Some(found) = self.pending.get(event_id) {
            return Some(found.clone());
        }
        // A lookup failure here is a broken test store; treat it as absent.
        self.store.event(event_id).ok().flatten()
    }
}
