//! Valid, signed logs for tests and benchmarks (feature `fixtures`).
//!
//! [`LogWriter`] signs every event with a real key, runs covenant-core's validation on it
//! exactly as the ledger does, and appends what is accepted to a real [`LogStore`] in batches
//! with the state changes. A rejection is returned, never appended, so a test can only build
//! logs the ledger would have built.

use covenant_core::entry::ENTRY_HEADER_BYTES;
use covenant_core::event::{self, Date};
use covenant_core::proto::{self, Envelope, event_body::Kind};
use covenant_core::signing::{EnvelopeHeader, EventSigner, seal};
use covenant_core::validate::{
    Decision, EventIndex, IndexedEvent, LedgerState, Rejection, SignatureCheck, genesis_envelope,
    validate,
};
use covenant_store::{Batch, Head, LogStore, NewEntry, StoreError};
use prost::Message;
use std::collections::HashMap;

/// The registrar actor of fixture logs.
pub const REGISTRAR: &str = "covenant-registrar";
const REGISTRAR_KEY: &str = "registrar-1";
const NS_PER_DAY: u64 = 86_400_000_000_000;

/// Why a fixture event could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("rejected: {0}")]
    Rejected(Rejection),
    #[error("event is a duplicate of entry {0}")]
    Duplicate(u64),
    #[error("envelope does not decode: {0}")]
    Decode(#[from] event::DecodeError),
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
    registrar: EventSigner,
    keys: HashMap<String, (String, EventSigner)>,
    clock_ns: u64,
    next_id: u64,
    /// Entries per append.
    pub batch_entries: usize,
}

fn signer_for(name: &str) -> EventSigner {
    EventSigner::from_seed(*blake3::hash(name.as_bytes()).as_bytes())
}

/// `YYYY-MM-DD` of a Unix time in nanoseconds.
pub fn day_of(ns: u64) -> String {
    Date::from_unix_ms((ns / 1_000_000) as i64).to_string()
}

impl<'s> LogWriter<'s> {
    /// Write the genesis entry into an empty store; the clock starts at `start_ns`.
    pub fn genesis(store: &'s dyn LogStore, start_ns: u64) -> Result<Self, FixtureError> {
        let registrar = signer_for(REGISTRAR);
        let mut writer = Self {
            store,
            state: LedgerState::default(),
            index: HashMap::new(),
            pending: Batch::default(),
            next_seq: store.head().size,
            registrar: registrar.clone(),
            keys: HashMap::new(),
            clock_ns: start_ns,
            next_id: 0,
            batch_entries: 1_000,
        };
        let genesis = genesis_envelope(proto::Genesis {
            origin: "covenant.test/log".into(),
            registrar_actor: REGISTRAR.into(),
            registrars: vec![proto::RegistrarKey {
                key_id: REGISTRAR_KEY.into(),
                public_key: registrar.public_key().to_vec(),
            }],
            description: "fixture log".into(),
        });
        writer.submit(&genesis, SignatureCheck::Pending)?;
        Ok(writer)
    }

    /// Continue the log already in `store` (written by a `LogWriter`, whose keys derive from
    /// their ids), a day after its last entry.
    pub fn resume(store: &'s dyn LogStore) -> Result<Self, FixtureError> {
        let head = store.head();
        let state = store.load_state()?;
        let mut keys = HashMap::new();
        for (key_id, record) in &state.keys {
            let signer = signer_for(key_id);
            if signer.public_key() == record.public_key {
                keys.insert(record.actor.clone(), (key_id.clone(), signer));
            }
        }
        Ok(Self {
            store,
            state,
            index: HashMap::new(),
            pending: Batch::default(),
            next_seq: head.size,
            registrar: signer_for(REGISTRAR),
            keys,
            clock_ns: head.last_stored_at_ns + NS_PER_DAY,
            // Every event takes at most two numbers from the counter.
            next_id: head.size * 2 + 1,
            batch_entries: 1_000,
        })
    }

    /// The broker storage time the next event gets.
    pub fn now_ns(&self) -> u64 {
        self.clock_ns
    }

    pub fn today(&self) -> String {
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

    /// Register an actor and grant it one key with the emitter and assessor roles.
    pub fn register(
        &mut self,
        actor_id: &str,
        name: &str,
        kind: proto::ActorKind,
    ) -> Result<String, FixtureError> {
        let event_id = self.registry(Kind::ActorRegistered(proto::ActorRegistered {
            actor_id: actor_id.into(),
            name: name.into(),
            kind: kind as i32,
            ..Default::default()
        }))?;
        let key_id = format!("{actor_id}/key-1");
        let signer = signer_for(&key_id);
        self.registry(Kind::KeyGranted(proto::KeyGranted {
            key_id: key_id.clone(),
            public_key: signer.public_key().to_vec(),
            actor_id: actor_id.into(),
            roles: vec![
                proto::KeyRole::Emitter as i32,
                proto::KeyRole::Assessor as i32,
            ],
        }))?;
        self.keys.insert(actor_id.to_owned(), (key_id, signer));
        Ok(event_id)
    }

    /// A registry event, signed by the registrar.
    pub fn registry(&mut self, kind: Kind) -> Result<String, FixtureError> {
        let event_id = self.fresh_event_id();
        let envelope = seal(
            EnvelopeHeader {
                event_id: &event_id,
                actor: REGISTRAR,
                occurred_at_ms: (self.clock_ns / 1_000_000) as i64,
                key_id: REGISTRAR_KEY,
            },
            kind,
            &self.registrar,
        );
        let public_key = self.registrar.public_key();
        self.submit(&envelope, SignatureCheck::VerifiedWith(public_key))?;
        Ok(event_id)
    }

    /// A signed envelope spoken by `actor`, not submitted (for publishing elsewhere).
    pub fn envelope(&mut self, actor: &str, kind: Kind) -> Result<Envelope, FixtureError> {
        let event_id = self.fresh_event_id();
        let (key_id, signer) = self
            .keys
            .get(actor)
            .ok_or_else(|| FixtureError::UnknownActor(actor.to_owned()))?;
        Ok(seal(
            EnvelopeHeader {
                event_id: &event_id,
                actor,
                occurred_at_ms: (self.clock_ns / 1_000_000) as i64,
                key_id,
            },
            kind,
            signer,
        ))
    }

    /// An event spoken by `actor` with its key; returns the event id.
    pub fn emit(&mut self, actor: &str, kind: Kind) -> Result<String, FixtureError> {
        let envelope = self.envelope(actor, kind)?;
        let public_key = self.keys[actor].1.public_key();
        self.submit(&envelope, SignatureCheck::VerifiedWith(public_key))?;
        Ok(envelope.event_id)
    }

    fn submit(&mut self, envelope: &Envelope, check: SignatureCheck) -> Result<(), FixtureError> {
        let bytes = envelope.encode_to_vec();
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
            self.clock_ns,
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
                    stored_at_ns: self.clock_ns,
                    envelope: bytes,
                    event_id: decoded.event_id().to_owned(),
                    actor: decoded.actor().to_owned(),
                    digest: decoded.digest,
                });
                self.next_seq += 1;
                if self.pending.entries.len() >= self.batch_entries {
                    self.flush()?;
                }
                Ok(())
            }
            Decision::Duplicate { seq } => Err(FixtureError::Duplicate(seq)),
            Decision::Reject(rejection) => Err(FixtureError::Rejected(rejection)),
        }
    }

    /// Append everything pending.
    pub fn flush(&mut self) -> Result<Head, FixtureError> {
        let batch = std::mem::take(&mut self.pending);
        Ok(self.store.append(batch)?)
    }

    // ---- conveniences for the common events --------------------------------------------

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
    ) -> Result<String, FixtureError> {
        self.emit(
            actor,
            Kind::CommitmentMade(proto::CommitmentMade {
                commitment_id: commitment_id.into(),
                title: title.into(),
                text: text.into(),
                source: Some(proto::Source {
                    kind: proto::SourceKind::Manifesto as i32,
                    title: "Manifesto".into(),
                    url: "https://example.org/manifesto".into(),
                }),
                made_on: made_on.into(),
                due_by: due_by.into(),
                themes: themes.iter().map(|t| (*t).to_owned()).collect(),
                ..Default::default()
            }),
        )
    }

    pub fn action(
        &mut self,
        actor: &str,
        commitment_ids: &[&str],
        money: Option<(i64, &str, proto::MoneyStage)>,
    ) -> Result<String, FixtureError> {
        self.next_id += 1;
        let action_id = format!("action-{}", self.next_id);
        let taken_on = self.today();
        self.emit(
            actor,
            Kind::ActionRecorded(proto::ActionRecorded {
                action_id,
                commitment_ids: commitment_ids.iter().map(|c| (*c).to_owned()).collect(),
                r#type: proto::ActionType::Funding as i32,
                taken_on,
                description: "work recorded".into(),
                money: money.map(|(amount_minor, currency, stage)| proto::Money {
                    amount_minor,
                    currency: currency.into(),
                    stage: stage as i32,
                }),
                ..Default::default()
            }),
        )
    }

    pub fn outcome(
        &mut self,
        actor: &str,
        commitment_id: &str,
        verdict: proto::Verdict,
        reported_on: &str,
    ) -> Result<String, FixtureError> {
        self.emit(
            actor,
            Kind::OutcomeReported(proto::OutcomeReported {
                commitment_id: commitment_id.into(),
                verdict: verdict as i32,
                reported_on: reported_on.into(),
                summary: "outcome reported".into(),
                lessons: "what we learned".into(),
                ..Default::default()
            }),
        )
    }

    pub fn amend(
        &mut self,
        actor: &str,
        commitment_id: &str,
        class: proto::AmendmentClass,
        changes: &[(proto::AmendedField, &str)],
    ) -> Result<String, FixtureError> {
        self.emit(
            actor,
            Kind::CommitmentAmended(proto::CommitmentAmended {
                commitment_id: commitment_id.into(),
                class: class as i32,
                changes: changes
                    .iter()
                    .map(|(field, value)| proto::FieldChange {
                        field: *field as i32,
                        new_value: (*value).into(),
                        ..Default::default()
                    })
                    .collect(),
                rationale: "circumstances changed".into(),
                ..Default::default()
            }),
        )
    }

    pub fn withdraw(&mut self, actor: &str, commitment_id: &str) -> Result<String, FixtureError> {
        self.emit(
            actor,
            Kind::CommitmentWithdrawn(proto::CommitmentWithdrawn {
                commitment_id: commitment_id.into(),
                reason: "no longer a priority".into(),
            }),
        )
    }

    pub fn assess(
        &mut self,
        assessor: &str,
        commitment_id: &str,
        outcome_event_id: &str,
        stance: proto::Stance,
    ) -> Result<String, FixtureError> {
        self.emit(
            assessor,
            Kind::AssessmentPublished(proto::AssessmentPublished {
                commitment_id: commitment_id.into(),
                outcome_event_id: outcome_event_id.into(),
                stance: stance as i32,
                summary: "independent check".into(),
                ..Default::default()
            }),
        )
    }

    pub fn retract(&mut self, actor: &str, event_id: &str) -> Result<String, FixtureError> {
        let kind = Kind::Retraction(proto::Retraction {
            event_id: event_id.into(),
            reason: "published in error".into(),
        });
        if actor == REGISTRAR {
            self.registry(kind)
        } else {
            self.emit(actor, kind)
        }
    }

    pub fn succeed(
        &mut self,
        predecessor: &str,
        successor: &str,
        commitment_ids: &[&str],
    ) -> Result<String, FixtureError> {
        let effective_on = self.today();
        self.registry(Kind::ActorSucceeded(proto::ActorSucceeded {
            predecessor_id: predecessor.into(),
            successor_id: successor.into(),
            kind: proto::SuccessionKind::Renamed as i32,
            effective_on,
            commitment_ids: commitment_ids.iter().map(|c| (*c).to_owned()).collect(),
            note: String::new(),
        }))
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
        // A lookup failure in a fixture is a broken test store; treat it as absent.
        self.store.event(event_id).ok().flatten()
    }
}

/// The envelope bytes of an encoded entry.
pub fn envelope_bytes(entry: &[u8]) -> &[u8] {
    &entry[ENTRY_HEADER_BYTES.min(entry.len())..]
}

/// Actors of the [`scenario`].
pub const DCMS: &str = "GB-GOV-DCMS";
pub const DCMS2: &str = "GB-GOV-DCMS2";
pub const DHSC: &str = "GB-GOV-DHSC";
pub const MP: &str = "uk-mp:4514";
pub const WATCHDOG: &str = "GB-CHC-1000001";

/// 2026-01-05T09:00:00Z.
pub const SCENARIO_START_NS: u64 = 1_767_603_600_000_000_000;

/// What the [`scenario`] wrote, for tests to refer to.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    pub libraries_outcome: String,
    pub libraries_dispute: String,
    pub nurses_outcome: String,
    pub nurses_outcome_retraction: String,
    pub error_made: String,
    pub sport_amendment: String,
    pub succession: String,
    /// Log size just before the nurses outcome was retracted.
    pub size_before_nurses_retraction: u64,
    /// Log size just after the libraries outcome.
    pub size_after_libraries_outcome: u64,
    /// Log size at the end.
    pub size: u64,
}

/// A small log that exercises every status and flag, stored over five months of 2026:
///
/// | commitment | owner (maker) | themes | latest state (judged 2026-06-01) |
/// |---|---|---|---|
/// | dcms-libraries | DCMS | community, opportunity | delivered 2026-04-20, disputed, £50,000 pledged |
/// | dcms-arts | DCMS2 (DCMS) | opportunity | not started, due 2026-03-31: overdue |
/// | dcms-sport | DCMS2 (DCMS) | community, dignity | in progress; target 100→80, due 2026-06-30→2027-06-30; £10,000 spent |
/// | dcms-museums | DCMS | equity | withdrawn 2026-04-01 |
/// | dcms-error | DCMS2 (DCMS) | community | retracted |
/// | dhsc-waiting | DHSC | dignity, safety | partly delivered 2026-03-15 |
/// | dhsc-nurses | DHSC | safety | in progress (its not-delivered outcome was retracted) |
/// | mp4514-bus | MP | community | delivered 2026-04-20 |
pub fn scenario(store: &dyn LogStore) -> Result<Scenario, FixtureError> {
    use proto::{ActorKind, AmendedField, AmendmentClass, MoneyStage, Stance, Verdict};
    let mut log = LogWriter::genesis(store, SCENARIO_START_NS)?;
    let mut out = Scenario::default();
    for (actor, name, kind) in [
        (
            DCMS,
            "Department for Culture, Media and Sport",
            ActorKind::Department,
        ),
        (
            DCMS2,
            "Department for Culture and Sport",
            ActorKind::Department,
        ),
        (
            DHSC,
            "Department of Health and Social Care",
            ActorKind::Department,
        ),
        (MP, "Jo Bloggs MP", ActorKind::Mp),
        (WATCHDOG, "Full Check", ActorKind::Watchdog),
    ] {
        log.register(actor, name, kind)?;
    }
    let made = "2026-01-05";
    log.commitment(
        DCMS,
        "dcms-libraries",
        "Keep every library open",
        "Keep every public library in England open through 2026",
        made,
        "2026-12-31",
        &["community", "opportunity"],
    )?;
    log.commitment(
        DCMS,
        "dcms-arts",
        "Arts in every school",
        "Fund arts teaching in every state school",
        made,
        "2026-03-31",
        &["opportunity"],
    )?;
    log.emit(
        DCMS,
        Kind::CommitmentMade(proto::CommitmentMade {
            commitment_id: "dcms-sport".into(),
            title: "Sports pitches".into(),
            text: "Build 100 new community sports pitches".into(),
            made_on: made.into(),
            due_by: "2026-06-30".into(),
            themes: vec!["community".into(), "dignity".into()],
            indicator: Some(proto::Indicator {
                measure: "pitches built".into(),
                unit: "pitches".into(),
                higher_is_better: true,
                baseline_value: Some(0.0),
                target_value: Some(100.0),
                target_period: "2026".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
    )?;
    log.commitment(
        DCMS,
        "dcms-museums",
        "Free museum entry",
        "Make entry to national museums free for children",
        made,
        "2026-09-30",
        &["equity"],
    )?;
    out.error_made = log.commitment(
        DCMS,
        "dcms-error",
        "Duplicate entry",
        "Published twice by mistake",
        made,
        "2026-02-01",
        &["community"],
    )?;
    log.commitment(
        DHSC,
        "dhsc-waiting",
        "Cut waiting lists",
        "Cut hospital waiting lists by a quarter",
        made,
        "2026-02-28",
        &["dignity", "safety"],
    )?;
    log.commitment(
        DHSC,
        "dhsc-nurses",
        "Recruit nurses",
        "Recruit 5,000 more nurses",
        made,
        "2026-12-31",
        &["safety"],
    )?;
    log.commitment(
        MP,
        "mp4514-bus",
        "Save the number 9 bus",
        "Save the Number 9 bus route through the valley",
        made,
        "2026-05-01",
        &["community"],
    )?;
    log.advance_days(15); // 2026-01-20
    log.action(
        DCMS,
        &["dcms-libraries"],
        Some((5_000_000, "GBP", MoneyStage::Pledged)),
    )?;
    log.action(
        DCMS,
        &["dcms-sport"],
        Some((1_000_000, "GBP", MoneyStage::Spent)),
    )?;
    log.action(DHSC, &["dhsc-nurses"], None)?;
    log.advance_days(21); // 2026-02-10
    out.sport_amendment = log.amend(
        DCMS,
        "dcms-sport",
        AmendmentClass::Revision,
        &[
            (AmendedField::TargetValue, "80"),
            (AmendedField::DueBy, "2027-06-30"),
        ],
    )?;
    log.advance_days(33); // 2026-03-15
    log.outcome(DHSC, "dhsc-waiting", Verdict::PartlyDelivered, "2026-03-15")?;
    log.advance_days(17); // 2026-04-01
    out.nurses_outcome = log.outcome(DHSC, "dhsc-nurses", Verdict::NotDelivered, "2026-04-01")?;
    log.withdraw(DCMS, "dcms-museums")?;
    log.advance_days(19); // 2026-04-20
    log.outcome(MP, "mp4514-bus", Verdict::Delivered, "2026-04-20")?;
    out.libraries_outcome =
        log.outcome(DCMS, "dcms-libraries", Verdict::Delivered, "2026-04-20")?;
    out.size_after_libraries_outcome = log.next_seq();
    log.retract(DCMS, &out.error_made)?;
    log.advance_days(5); // 2026-04-25
    out.libraries_dispute = log.assess(
        WATCHDOG,
        "dcms-libraries",
        &out.libraries_outcome,
        Stance::Disputes,
    )?;
    log.advance_days(6); // 2026-05-01
    out.succession = log.succeed(DCMS, DCMS2, &[])?;
    log.advance_days(9); // 2026-05-10
    out.size_before_nurses_retraction = log.next_seq();
    out.nurses_outcome_retraction = log.retract(DHSC, &out.nurses_outcome)?;
    out.size = log.flush()?.size;
    Ok(out)
}
