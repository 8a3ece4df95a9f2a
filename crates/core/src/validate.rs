//! The validation state machine: (state, event) -> accepted with state changes, a duplicate, or
//! rejected with a reason code and a sentence.
//!
//! Every rule is a pure function of the log before the event and the event itself (including
//! the time the broker stored it), so every replica decides the same. Nothing here reads a
//! clock: "too far in the future" is judged against the broker's storage time.

use crate::event::{DecodeError, DecodedEvent};
use crate::id_map::IdMap;
use crate::id_set::IdSet;
use crate::proto::{self, event_body::Kind};
use crate::signing::{self, PublicKey};
use imbl::OrdMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How far ahead of the broker's storage time an event's `occurred_at_ms` may be.
pub const MAX_FUTURE_SKEW_MS: i64 = 10 * 60 * 1000;

/// Why an event was rejected: a stable machine-readable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectCode {
    Undecodable,
    NonCanonical,
    Oversized,
    InvalidField,
    BadSignature,
    UnknownKey,
    RevokedKey,
    UnauthorisedKey,
    Equivocation,
    UnknownActor,
    ActorExists,
    KeyExists,
    KeyAlreadyRevoked,
    UnknownCommitment,
    ForeignCommitment,
    CommitmentExists,
    CommitmentWithdrawn,
    ActionExists,
    UnknownOutcome,
    UnknownEvent,
    ForeignEvent,
    AlreadyRetracted,
    FutureTimestamp,
    GenesisMisplaced,
    GenesisMissing,
    UnknownIndicator,
    NotAdoptable,
}

impl RejectCode {
    /// The snake_case code used in JSON, metrics and subjects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Undecodable => "undecodable",
            Self::NonCanonical => "non_canonical",
            Self::Oversized => "oversized",
            Self::InvalidField => "invalid_field",
            Self::BadSignature => "bad_signature",
            Self::UnknownKey => "unknown_key",
            Self::RevokedKey => "revoked_key",
            Self::UnauthorisedKey => "unauthorised_key",
            Self::Equivocation => "equivocation",
            Self::UnknownActor => "unknown_actor",
            Self::ActorExists => "actor_exists",
            Self::KeyExists => "key_exists",
            Self::KeyAlreadyRevoked => "key_already_revoked",
            Self::UnknownCommitment => "unknown_commitment",
            Self::ForeignCommitment => "foreign_commitment",
            Self::CommitmentExists => "commitment_exists",
            Self::CommitmentWithdrawn => "commitment_withdrawn",
            Self::ActionExists => "action_exists",
            Self::UnknownOutcome => "unknown_outcome",
            Self::UnknownEvent => "unknown_event",
            Self::ForeignEvent => "foreign_event",
            Self::AlreadyRetracted => "already_retracted",
            Self::FutureTimestamp => "future_timestamp",
            Self::GenesisMisplaced => "genesis_misplaced",
            Self::GenesisMissing => "genesis_missing",
            Self::UnknownIndicator => "unknown_indicator",
            Self::NotAdoptable => "not_adoptable",
        }
    }

    /// Every code, for documentation and metrics.
    pub const ALL: [RejectCode; 27] = [
        Self::Undecodable,
        Self::NonCanonical,
        Self::Oversized,
        Self::InvalidField,
        Self::BadSignature,
        Self::UnknownKey,
        Self::RevokedKey,
        Self::UnauthorisedKey,
        Self::Equivocation,
        Self::UnknownActor,
        Self::ActorExists,
        Self::KeyExists,
        Self::KeyAlreadyRevoked,
        Self::UnknownCommitment,
        Self::ForeignCommitment,
        Self::CommitmentExists,
        Self::CommitmentWithdrawn,
        Self::ActionExists,
        Self::UnknownOutcome,
        Self::UnknownEvent,
        Self::ForeignEvent,
        Self::AlreadyRetracted,
        Self::FutureTimestamp,
        Self::GenesisMisplaced,
        Self::GenesisMissing,
        Self::UnknownIndicator,
        Self::NotAdoptable,
    ];
}

impl std::fmt::Display for RejectCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejection: a code for machines and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub code: RejectCode,
    pub message: String,
}

impl Rejection {
    pub fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<DecodeError> for Rejection {
    fn from(error: DecodeError) -> Self {
        let code = match error {
            DecodeError::Oversized { .. } => RejectCode::Oversized,
            DecodeError::Envelope(_) | DecodeError::Body(_) => RejectCode::Undecodable,
            DecodeError::NonCanonical { .. } => RejectCode::NonCanonical,
            DecodeError::Field(_) => RejectCode::InvalidField,
        };
        Self::new(code, error.to_string())
    }
}

/// What the event-id index says about an event already in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedEvent {
    pub seq: u64,
    /// blake3 of the envelope bytes.
    pub digest: [u8; 32],
    pub actor: String,
}

/// Look up events already in the log (and earlier in the same batch) by event id.
pub trait EventIndex {
    fn lookup(&self, event_id: &str) -> Option<IndexedEvent>;
}

impl EventIndex for HashMap<String, IndexedEvent> {
    fn lookup(&self, event_id: &str) -> Option<IndexedEvent> {
        self.get(event_id).cloned()
    }
}

/// The registry as fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisRecord {
    pub origin: String,
    pub registrar_actor: String,
    pub registrars: BTreeMap<String, PublicKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRecord {
    pub kind: i32,
    /// Successors named by machinery-of-government events, in log order.
    pub successors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub public_key: PublicKey,
    pub actor: String,
    pub emitter: bool,
    pub assessor: bool,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentRecord {
    /// The actor who answers for the commitment now (changes on succession).
    pub owner: String,
    pub withdrawn: bool,
    /// Event ids of outcomes reported on it.
    pub outcomes: Vec<String>,
}

impl CommitmentRecord {
    /// Open commitments pass to a successor body.
    pub fn is_open(&self) -> bool {
        !self.withdrawn && self.outcomes.is_empty()
    }
}

/// What a commitment shares with others beyond its owner: the delivery partners who may record
/// actions and outcomes against it, and the ids of its named indicators.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentTerms {
    pub delivery_partners: Vec<String>,
    pub indicators: Vec<String>,
}

/// One change to the validation state, produced by an accepted event. The store persists
/// these beside the entries, in the same atomic batch, so a restart need not replay the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateChange {
    Genesis(GenesisRecord),
    Actor(String, ActorRecord),
    Key(String, KeyRecord),
    Commitment(String, CommitmentRecord),
    /// Action ids are unique; the value is the recording actor, kept in the stored records
    /// though no rule reads it back.
    Action(String, String),
    Retracted(String),
    // New variants go last: stored records name a variant by its position.
    Terms(String, CommitmentTerms),
}

/// Everything validation needs to know about the log so far, except the event-id index, which
/// can be far larger than memory and sits behind [`EventIndex`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerState {
    pub genesis: Option<GenesisRecord>,
    pub actors: HashMap<String, ActorRecord>,
    pub keys: HashMap<String, KeyRecord>,
    // What grows with the log is kept in persistent ordered maps (B-trees whose nodes are
    // shared between copies): a copy costs nothing until one side changes, so the ledger can
    // hand the whole state to a snapshot writer without stopping, and only the nodes a batch
    // touches are copied while the writer holds it. Ordered, because a hash map moves every
    // item at once when it doubles, which stalls validation for seconds at tens of millions.
    /// A record for every commitment made: after the action ids the largest part, so kept as
    /// an [`IdMap`], which loads from a snapshot without a tree insertion per commitment.
    pub commitments: IdMap<CommitmentRecord>,
    /// Every action id recorded: most of the state (eight actions to a commitment, say), so
    /// kept as an [`IdSet`], which loads from a snapshot without an allocation per id.
    pub actions: IdSet,
    pub retracted: IdSet,
    /// Only commitments with delivery partners or named indicators have an entry.
    pub terms: OrdMap<String, CommitmentTerms>,
}

impl LedgerState {
    pub fn apply(&mut self, change: StateChange) {
        match change {
            StateChange::Genesis(genesis) => self.genesis = Some(genesis),
            StateChange::Actor(id, record) => {
                self.actors.insert(id, record);
            }
            StateChange::Key(id, record) => {
                self.keys.insert(id, record);
            }
            StateChange::Commitment(id, record) => {
                self.commitments.insert(id, record);
            }
            StateChange::Action(id, _author) => {
                self.actions.insert(id);
            }
            StateChange::Retracted(id) => {
                self.retracted.insert(id);
            }
            StateChange::Terms(id, terms) => {
                self.terms.insert(id, terms);
            }
        }
    }

    pub fn apply_all(&mut self, changes: impl IntoIterator<Item = StateChange>) {
        changes.into_iter().for_each(|change| self.apply(change));
    }

    /// The public key an event's `key_id` names, if any (registrar or granted key). Used by
    /// the ledger to batch-verify signatures before validating in order.
    pub fn public_key(&self, key_id: &str) -> Option<PublicKey> {
        if let Some(genesis) = &self.genesis
            && let Some(key) = genesis.registrars.get(key_id)
        {
            return Some(*key);
        }
        self.keys.get(key_id).map(|key| key.public_key)
    }
}

/// How the signature has been checked before validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Not yet: validation verifies it.
    Pending,
    /// Already verified (for example in a batch) against this public key. Validation trusts
    /// it only if the key the state names is this one.
    VerifiedWith(PublicKey),
}

/// The decision about one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Append it, then apply these changes.
    Accept(Vec<StateChange>),
    /// The same bytes are already in the log at `seq`: acknowledge, do not append again.
    Duplicate {
        seq: u64,
    },
    Reject(Rejection),
}

fn reject(code: RejectCode, message: impl Into<String>) -> Decision {
    Decision::Reject(Rejection::new(code, message))
}

/// The header of the genesis envelope: fixed, so that every replica writes the same bytes.
pub const GENESIS_EVENT_ID: &str = "genesis";

/// The genesis envelope for a log: unsigned, with a fixed header, so that every replica given
/// the same configuration writes byte-identical entry 0.
pub fn genesis_envelope(genesis: proto::Genesis) -> proto::Envelope {
    let body = proto::EventBody {
        kind: Some(Kind::Genesis(genesis.clone())),
    };
    proto::Envelope {
        event_id: GENESIS_EVENT_ID.to_owned(),
        actor: genesis.registrar_actor,
        occurred_at_ms: 0,
        key_id: String::new(),
        body: prost::Message::encode_to_vec(&body),
        signature: vec![],
    }
}

/// Decide about `event`, which the broker stored at `stored_at_ns`, as entry `next_seq`.
pub fn validate(
    state: &LedgerState,
    index: &impl EventIndex,
    event: &DecodedEvent,
    next_seq: u64,
    stored_at_ns: u64,
    signature: SignatureCheck,
) -> Decision {
    if let Kind::Genesis(genesis) = &event.kind {
        return validate_genesis(state, genesis, next_seq);
    }
    let Some(genesis) = &state.genesis else {
        return reject(
            RejectCode::GenesisMissing,
            "the log has no genesis entry yet; nothing can be accepted before it",
        );
    };
    if let Some(existing) = index.lookup(event.event_id()) {
        if existing.digest == event.digest {
            return Decision::Duplicate { seq: existing.seq };
        }
        // Checked after the signature below: only a validly signed conflicting envelope is
        // evidence of equivocation.
        if let Err(rejection) = check_authority(state, genesis, event, signature) {
            return Decision::Reject(rejection);
        }
        return reject(
            RejectCode::Equivocation,
            format!(
                "event id {} is already in the log at entry {} with different bytes; both are kept as evidence",
                event.event_id(),
                existing.seq
            ),
        );
    }
    if let Err(rejection) = check_authority(state, genesis, event, signature) {
        return Decision::Reject(rejection);
    }
    let stored_at_ms = (stored_at_ns / 1_000_000) as i64;
    if event.envelope.occurred_at_ms > stored_at_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
        return reject(
            RejectCode::FutureTimestamp,
            format!(
                "occurred_at_ms {} is more than {} minutes after the broker stored the event ({})",
                event.envelope.occurred_at_ms,
                MAX_FUTURE_SKEW_MS / 60_000,
                stored_at_ms
            ),
        );
    }
    match apply_rules(state, index, event) {
        Ok(changes) => Decision::Accept(changes),
        Err(rejection) => Decision::Reject(rejection),
    }
}

fn validate_genesis(state: &LedgerState, genesis: &proto::Genesis, next_seq: u64) -> Decision {
    if next_seq != 0 || state.genesis.is_some() {
        return reject(
            RejectCode::GenesisMisplaced,
            format!("a genesis event can only be entry 0, not entry {next_seq}"),
        );
    }
    let registrars = genesis
        .registrars
        .iter()
        .map(|key| {
            let public_key: PublicKey = key.public_key.as_slice().try_into().expect("checked");
            (key.key_id.clone(), public_key)
        })
        .collect();
    Decision::Accept(vec![StateChange::Genesis(GenesisRecord {
        origin: genesis.origin.clone(),
        registrar_actor: genesis.registrar_actor.clone(),
        registrars,
    })])
}

/// The checks a door makes before it lets an envelope anywhere near the log: the envelope is
/// not a genesis entry (only the ledger writes entry 0), and its key is known, live, granted
/// for its actor and kind in `state`'s registry, and verifies its signature. Reads only
/// `state.genesis` and `state.keys`, so a registry-only state is enough.
pub fn authorise(state: &LedgerState, event: &DecodedEvent) -> Result<(), Rejection> {
    if matches!(event.kind, Kind::Genesis(_)) {
        return Err(Rejection::new(
            RejectCode::GenesisMisplaced,
            "a genesis entry is written by the ledger itself, never accepted from outside",
        ));
    }
    let Some(genesis) = &state.genesis else {
        return Err(Rejection::new(
            RejectCode::GenesisMissing,
            "the log has no genesis entry yet; nothing can be accepted before it",
        ));
    };
    check_authority(state, genesis, event, SignatureCheck::Pending)
}

fn is_registry(kind: &Kind) -> bool {
    matches!(
        kind,
        Kind::ActorRegistered(_)
            | Kind::KeyGranted(_)
            | Kind::KeyRevoked(_)
            | Kind::ActorSucceeded(_)
    )
}

/// Is the key known, live, allowed to speak for this actor and kind, and is the signature good?
fn check_authority(
    state: &LedgerState,
    genesis: &GenesisRecord,
    event: &DecodedEvent,
    signature: SignatureCheck,
) -> Result<(), Rejection> {
    let key_id = &event.envelope.key_id;
    let public_key = if is_registry(&event.kind) {
        let Some(key) = genesis.registrars.get(key_id) else {
            return Err(Rejection::new(
                RejectCode::UnauthorisedKey,
                format!(
                    "{} events must be signed by a registrar key named at genesis; {key_id} is not one",
                    event.kind_name()
                ),
            ));
        };
        if event.actor() != genesis.registrar_actor {
            return Err(Rejection::new(
                RejectCode::UnauthorisedKey,
                format!(
                    "registry events are spoken by {}, not {}",
                    genesis.registrar_actor,
                    event.actor()
                ),
            ));
        }
        *key
    } else {
        let Some(key) = state.keys.get(key_id) else {
            let message = if genesis.registrars.contains_key(key_id) {
                format!(
                    "registrar key {key_id} may only sign registry events, not {}",
                    event.kind_name()
                )
            } else {
                format!("key {key_id} has not been granted")
            };
            let code = if genesis.registrars.contains_key(key_id) {
                RejectCode::UnauthorisedKey
            } else {
                RejectCode::UnknownKey
            };
            return Err(Rejection::new(code, message));
        };
        if key.revoked {
            return Err(Rejection::new(
                RejectCode::RevokedKey,
                format!("key {key_id} has been revoked"),
            ));
        }
        if key.actor != event.actor() {
            return Err(Rejection::new(
                RejectCode::UnauthorisedKey,
                format!(
                    "key {key_id} speaks for {}, not {}",
                    key.actor,
                    event.actor()
                ),
            ));
        }
        let needs_assessor = matches!(event.kind, Kind::AssessmentPublished(_));
        if needs_assessor && !key.assessor {
            return Err(Rejection::new(
                RejectCode::UnauthorisedKey,
                format!("key {key_id} lacks the assessor role needed to publish assessments"),
            ));
        }
        if !needs_assessor && !key.emitter {
            return Err(Rejection::new(
                RejectCode::UnauthorisedKey,
                format!(
                    "key {key_id} lacks the emitter role needed for {}",
                    event.kind_name()
                ),
            ));
        }
        key.public_key
    };
    let verified = match signature {
        SignatureCheck::VerifiedWith(checked) if checked == public_key => true,
        _ => signing::verify_envelope(&public_key, &event.envelope),
    };
    if !verified {
        return Err(Rejection::new(
            RejectCode::BadSignature,
            format!("signature does not verify with key {key_id}"),
        ));
    }
    Ok(())
}

fn apply_rules(
    state: &LedgerState,
    index: &impl EventIndex,
    event: &DecodedEvent,
) -> Result<Vec<StateChange>, Rejection> {
    let actor = event.actor();
    match &event.kind {
        Kind::Genesis(_) => unreachable!("handled before"),
        Kind::ActorRegistered(registered) => {
            let is_registrar = state
                .genesis
                .as_ref()
                .is_some_and(|genesis| genesis.registrar_actor == registered.actor_id);
            if is_registrar {
                return Err(Rejection::new(
                    RejectCode::ActorExists,
                    format!(
                        "{} is the registrar actor named at genesis; it cannot be registered as an actor",
                        registered.actor_id
                    ),
                ));
            }
            if state.actors.contains_key(&registered.actor_id) {
                return Err(Rejection::new(
                    RejectCode::ActorExists,
                    format!("actor {} is already registered", registered.actor_id),
                ));
            }
            Ok(vec![StateChange::Actor(
                registered.actor_id.clone(),
                ActorRecord {
                    kind: registered.kind,
                    successors: vec![],
                },
            )])
        }
        Kind::KeyGranted(grant) => {
            let registrar_key = state
                .genesis
                .as_ref()
                .is_some_and(|g| g.registrars.contains_key(&grant.key_id));
            if registrar_key || state.keys.contains_key(&grant.key_id) {
                return Err(Rejection::new(
                    RejectCode::KeyExists,
                    format!("key id {} is already in use", grant.key_id),
                ));
            }
            require_actor(state, &grant.actor_id)?;
            let has = |role: proto::KeyRole| grant.roles.contains(&(role as i32));
            Ok(vec![StateChange::Key(
                grant.key_id.clone(),
                KeyRecord {
                    public_key: grant.public_key.as_slice().try_into().expect("checked"),
                    actor: grant.actor_id.clone(),
                    emitter: has(proto::KeyRole::Emitter),
                    assessor: has(proto::KeyRole::Assessor),
                    revoked: false,
                },
            )])
        }
        Kind::KeyRevoked(revoke) => {
            let Some(key) = state.keys.get(&revoke.key_id) else {
                return Err(Rejection::new(
                    RejectCode::UnknownKey,
                    format!(
                        "key {} has not been granted, so it cannot be revoked",
                        revoke.key_id
                    ),
                ));
            };
            if key.revoked {
                return Err(Rejection::new(
                    RejectCode::KeyAlreadyRevoked,
                    format!("key {} is already revoked", revoke.key_id),
                ));
            }
            let mut key = key.clone();
            key.revoked = true;
            Ok(vec![StateChange::Key(revoke.key_id.clone(), key)])
        }
        Kind::ActorSucceeded(succession) => succeed(state, event, succession),
        Kind::CommitmentMade(made) => make_commitment(state, event, made),
        Kind::CommitmentAmended(amended) => {
            own_live_commitment(state, actor, &amended.commitment_id, "amend")?;
            let indicators = named_indicators(state, &amended.commitment_id);
            for change in &amended.changes {
                check_indicator_change(&amended.commitment_id, indicators, change)?;
            }
            Ok(vec![])
        }
        Kind::CommitmentAdopted(adopted) => adopt(state, event, adopted),
        Kind::CommitmentWithdrawn(withdrawn) => {
            let commitment =
                own_live_commitment(state, actor, &withdrawn.commitment_id, "withdraw")?;
            Ok(changed_commitment(
                event,
                &withdrawn.commitment_id,
                Some(commitment),
            ))
        }
        Kind::ActionRecorded(action) => {
            if state.actions.contains(&action.action_id) {
                return Err(Rejection::new(
                    RejectCode::ActionExists,
                    format!("action {} already exists", action.action_id),
                ));
            }
            for id in &action.commitment_ids {
                delivered_live_commitment(state, actor, id, "record an action against")?;
            }
            Ok(vec![StateChange::Action(
                action.action_id.clone(),
                actor.to_owned(),
            )])
        }
        Kind::OutcomeReported(outcome) => {
            let commitment = delivered_live_commitment(
                state,
                actor,
                &outcome.commitment_id,
                "report an outcome on",
            )?;
            for measurement in &outcome.measurements {
                if measurement.indicator_id.is_empty() {
                    continue;
                }
                require_indicator(
                    &outcome.commitment_id,
                    named_indicators(state, &outcome.commitment_id),
                    &measurement.indicator_id,
                )?;
            }
            Ok(changed_commitment(
                event,
                &outcome.commitment_id,
                Some(commitment),
            ))
        }
        Kind::AssessmentPublished(assessment) => {
            let commitment = find_commitment(state, &assessment.commitment_id)?;
            if assessment.outcome_event_id.is_empty() {
                if commitment.outcomes.is_empty() {
                    return Err(Rejection::new(
                        RejectCode::UnknownOutcome,
                        format!(
                            "commitment {} has no outcome yet, so there is nothing to assess",
                            assessment.commitment_id
                        ),
                    ));
                }
            } else if !commitment.outcomes.contains(&assessment.outcome_event_id) {
                return Err(Rejection::new(
                    RejectCode::UnknownOutcome,
                    format!(
                        "event {} is not an outcome reported on commitment {}",
                        assessment.outcome_event_id, assessment.commitment_id
                    ),
                ));
            }
            Ok(vec![])
        }
        Kind::Retraction(retraction) => {
            let Some(target) = index.lookup(&retraction.event_id) else {
                return Err(Rejection::new(
                    RejectCode::UnknownEvent,
                    format!("event {} is not in the log", retraction.event_id),
                ));
            };
            if target.actor != actor {
                return Err(Rejection::new(
                    RejectCode::ForeignEvent,
                    format!(
                        "event {} was published by {}; only they can retract it",
                        retraction.event_id, target.actor
                    ),
                ));
            }
            if state.retracted.contains(&retraction.event_id) {
                return Err(Rejection::new(
                    RejectCode::AlreadyRetracted,
                    format!("event {} is already retracted", retraction.event_id),
                ));
            }
            Ok(vec![StateChange::Retracted(retraction.event_id.clone())])
        }
    }
}

fn require_actor<'a>(state: &'a LedgerState, actor_id: &str) -> Result<&'a ActorRecord, Rejection> {
    state.actors.get(actor_id).ok_or_else(|| {
        Rejection::new(
            RejectCode::UnknownActor,
            format!("actor {actor_id} is not registered"),
        )
    })
}

fn find_commitment<'a>(
    state: &'a LedgerState,
    commitment_id: &str,
) -> Result<&'a CommitmentRecord, Rejection> {
    state.commitments.get(commitment_id).ok_or_else(|| {
        Rejection::new(
            RejectCode::UnknownCommitment,
            format!("commitment {commitment_id} does not exist"),
        )
    })
}

fn make_commitment(
    state: &LedgerState,
    event: &DecodedEvent,
    made: &proto::CommitmentMade,
) -> Result<Vec<StateChange>, Rejection> {
    let actor = event.actor();
    if state.commitments.contains_key(&made.commitment_id) {
        return Err(Rejection::new(
            RejectCode::CommitmentExists,
            format!("commitment {} already exists", made.commitment_id),
        ));
    }
    for partner in &made.delivery_partners {
        if partner == actor {
            return Err(Rejection::new(
                RejectCode::InvalidField,
                format!("{actor} owns the commitment, so it cannot also be a delivery partner"),
            ));
        }
        require_actor(state, partner)?;
    }
    let mut changes = changed_commitment(event, &made.commitment_id, None);
    // Written only when there is something to share, so that commitments without partners or
    // named indicators leave the same state records as before these existed.
    if !made.delivery_partners.is_empty() || !made.indicators.is_empty() {
        changes.push(StateChange::Terms(
            made.commitment_id.clone(),
            CommitmentTerms {
                delivery_partners: made.delivery_partners.clone(),
                indicators: made
                    .indicators
                    .iter()
                    .map(|indicator| indicator.indicator_id.clone())
                    .collect(),
            },
        ));
    }
    Ok(changes)
}

/// Whether an amendment's `change` names its indicator rightly, for a commitment whose named
/// indicators are `indicators`: a non-empty id must be one of them, and a change to a target
/// (its value, period or comparator) must name one whenever the commitment has any, since a
/// commitment's named indicators each have their own target. Emitters check a file with it
/// before publishing.
pub fn check_indicator_change(
    commitment_id: &str,
    indicators: &[String],
    change: &proto::FieldChange,
) -> Result<(), Rejection> {
    if !change.indicator_id.is_empty() {
        return require_indicator(commitment_id, indicators, &change.indicator_id);
    }
    let per_indicator = [
        proto::AmendedField::TargetValue,
        proto::AmendedField::TargetPeriod,
        proto::AmendedField::Comparator,
    ]
    .iter()
    .any(|field| *field as i32 == change.field);
    if per_indicator && !indicators.is_empty() {
        return Err(Rejection::new(
            RejectCode::UnknownIndicator,
            format!(
                "commitment {commitment_id} names its indicators ({}); a change to a target must say which, in indicator_id",
                indicators.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The ids of a commitment's named indicators (none for most).
fn named_indicators<'a>(state: &'a LedgerState, commitment_id: &str) -> &'a [String] {
    state
        .terms
        .get(commitment_id)
        .map_or(&[], |terms| &terms.indicators)
}

/// A non-empty indicator id names one of the commitment's named `indicators`.
fn require_indicator(
    commitment_id: &str,
    indicators: &[String],
    indicator_id: &str,
) -> Result<(), Rejection> {
    if indicator_id.is_empty() || indicators.iter().any(|id| id == indicator_id) {
        return Ok(());
    }
    let known = if indicators.is_empty() {
        "it names none".to_owned()
    } else {
        format!("its indicators are {}", indicators.join(", "))
    };
    Err(Rejection::new(
        RejectCode::UnknownIndicator,
        format!("commitment {commitment_id} has no indicator {indicator_id}; {known}"),
    ))
}

/// Actor kinds whose promises are pledges made before office, which a public body may adopt.
fn makes_pledges(kind: i32) -> bool {
    kind == proto::ActorKind::Mp as i32 || kind == proto::ActorKind::Party as i32
}

/// Actor kinds that are public bodies, able to adopt a pledge and answer for it.
fn is_public_body(kind: i32) -> bool {
    [
        proto::ActorKind::Department,
        proto::ActorKind::Agency,
        proto::ActorKind::Council,
        proto::ActorKind::NhsBody,
        proto::ActorKind::JointBody,
    ]
    .iter()
    .any(|allowed| *allowed as i32 == kind)
}

fn adopt(
    state: &LedgerState,
    event: &DecodedEvent,
    adopted: &proto::CommitmentAdopted,
) -> Result<Vec<StateChange>, Rejection> {
    let actor = event.actor();
    let id = &adopted.commitment_id;
    let commitment = find_commitment(state, id)?;
    let owner_kind = state.actors.get(&commitment.owner).map_or(0, |a| a.kind);
    let adopter_kind = state.actors.get(actor).map_or(0, |a| a.kind);
    let refuse = |why: String| Err(Rejection::new(RejectCode::NotAdoptable, why));
    if !makes_pledges(owner_kind) {
        return refuse(format!(
            "commitment {id} belongs to {}, which is not a candidate or party; only their pledges can be adopted",
            commitment.owner
        ));
    }
    if !is_public_body(adopter_kind) {
        return refuse(format!(
            "{actor} is not a public body; only a department, agency, council, NHS body or joint body can adopt a pledge"
        ));
    }
    if !commitment.is_open() {
        return refuse(format!(
            "commitment {id} is withdrawn or already has an outcome, so it cannot be adopted"
        ));
    }
    Ok(changed_commitment(event, id, Some(commitment)))
}

/// Who may speak about an existing commitment in an event of a kind (docs/SPEC.md, step 9):
/// its owner alone (an "own live commitment"), or its owner or one of its delivery partners
/// (a "delivered live commitment"). Emitters check rows with it before publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Owner,
    OwnerOrPartner,
}

impl Standing {
    /// The standing an event of this kind needs for the commitments it names; `None` for
    /// kinds that need none (or, as an adoption or an assessment, another).
    pub fn needed_for(kind: &Kind) -> Option<Self> {
        match kind {
            Kind::CommitmentAmended(_) | Kind::CommitmentWithdrawn(_) => Some(Self::Owner),
            Kind::ActionRecorded(_) | Kind::OutcomeReported(_) => Some(Self::OwnerOrPartner),
            _ => None,
        }
    }

    /// Whether `actor` has this standing for a commitment `owner` owns with these delivery
    /// partners.
    pub fn held_by(self, actor: &str, owner: &str, partners: &[String]) -> bool {
        owner == actor
            || (self == Self::OwnerOrPartner && partners.iter().any(|partner| partner == actor))
    }
}

/// The commitment, if it exists, is not withdrawn, and `actor` owns it or is one of its
/// delivery partners.
fn delivered_live_commitment<'a>(
    state: &'a LedgerState,
    actor: &str,
    commitment_id: &str,
    verb: &str,
) -> Result<&'a CommitmentRecord, Rejection> {
    let is_partner = state.terms.get(commitment_id).is_some_and(|terms| {
        terms
            .delivery_partners
            .iter()
            .any(|partner| partner == actor)
    });
    if !is_partner {
        return own_live_commitment(state, actor, commitment_id, verb);
    }
    let commitment = find_commitment(state, commitment_id)?;
    if commitment.withdrawn {
        return Err(Rejection::new(
            RejectCode::CommitmentWithdrawn,
            format!("commitment {commitment_id} was withdrawn; cannot {verb} it"),
        ));
    }
    Ok(commitment)
}

/// The commitment, if it exists, belongs to `actor` and has not been withdrawn.
fn own_live_commitment<'a>(
    state: &'a LedgerState,
    actor: &str,
    commitment_id: &str,
    verb: &str,
) -> Result<&'a CommitmentRecord, Rejection> {
    let commitment = find_commitment(state, commitment_id)?;
    if commitment.owner != actor {
        return Err(Rejection::new(
            RejectCode::ForeignCommitment,
            format!(
                "commitment {commitment_id} belongs to {}; {actor} cannot {verb} it",
                commitment.owner
            ),
        ));
    }
    if commitment.withdrawn {
        return Err(Rejection::new(
            RejectCode::CommitmentWithdrawn,
            format!("commitment {commitment_id} was withdrawn; cannot {verb} it"),
        ));
    }
    Ok(commitment)
}

fn succeed(
    state: &LedgerState,
    event: &DecodedEvent,
    succession: &proto::ActorSucceeded,
) -> Result<Vec<StateChange>, Rejection> {
    let predecessor = require_actor(state, &succession.predecessor_id)?;
    require_actor(state, &succession.successor_id)?;
    let listed: BTreeSet<&String> = succession.commitment_ids.iter().collect();
    for id in &listed {
        own_live_commitment(state, &succession.predecessor_id, id, "hand over")?;
    }
    let mut predecessor = predecessor.clone();
    predecessor.successors.push(succession.successor_id.clone());
    let mut changes = vec![StateChange::Actor(
        succession.predecessor_id.clone(),
        predecessor,
    )];
    // In ascending order of id, so that every replica writes the changes in the same order:
    // the listed ones (each checked above), or every commitment.
    let candidates: Box<dyn Iterator<Item = (&String, &CommitmentRecord)>> = if listed.is_empty() {
        Box::new(state.commitments.iter())
    } else {
        Box::new(
            listed
                .into_iter()
                .filter_map(|id| state.commitments.get(id).map(|record| (id, record))),
        )
    };
    for (id, record) in candidates {
        changes.extend(changed_commitment(event, id, Some(record)));
    }
    Ok(changes)
}

/// The change an accepted event makes to the record of commitment `id` (`before`: the record
/// as it stood; `None` before the commitment is made), if any.
fn changed_commitment(
    event: &DecodedEvent,
    id: &str,
    before: Option<&CommitmentRecord>,
) -> Vec<StateChange> {
    commitment_after(&event.kind, event.actor(), event.event_id(), id, before)
        .map(|after| StateChange::Commitment(id.to_owned(), after))
        .into_iter()
        .collect()
}

/// A commitment's record after an accepted event: the record validation keeps for it (its
/// owner, whether it was withdrawn, its outcomes), or `None` when the event leaves it as it
/// was (or does not name it). `before` is its record before the event, `None` before it was
/// made; `actor` and `event_id` are the event's.
///
/// The one statement of how events move a commitment's owner and open state: validation
/// writes what it returns as [`StateChange::Commitment`], and the query projections fold it
/// over a commitment's facts at a succession, so that a succession passes there exactly the
/// commitments it passed here. The checks that an event may do this are validation's.
pub fn commitment_after(
    kind: &Kind,
    actor: &str,
    event_id: &str,
    id: &str,
    before: Option<&CommitmentRecord>,
) -> Option<CommitmentRecord> {
    let before = match (kind, before) {
        (Kind::CommitmentMade(made), None) if made.commitment_id == id => {
            return Some(CommitmentRecord {
                owner: actor.to_owned(),
                withdrawn: false,
                outcomes: vec![],
            });
        }
        (_, Some(before)) => before,
        (_, None) => return None,
    };
    let mut after = before.clone();
    match kind {
        Kind::CommitmentWithdrawn(withdrawn) if withdrawn.commitment_id == id => {
            after.withdrawn = true;
        }
        Kind::OutcomeReported(outcome) if outcome.commitment_id == id => {
            after.outcomes.push(event_id.to_owned());
        }
        Kind::CommitmentAdopted(adopted) if adopted.commitment_id == id => {
            after.owner = actor.to_owned();
        }
        // Open commitments pass to a successor body: every one the predecessor owns, or the
        // listed ones.
        Kind::ActorSucceeded(succession)
            if before.owner == succession.predecessor_id
                && before.is_open()
                && (succession.commitment_ids.is_empty()
                    || succession.commitment_ids.iter().any(|listed| listed == id)) =>
        {
            after.owner = succession.successor_id.clone();
        }
        _ => return None,
    }
    Some(after)
}

#[cfg(test)]
mod tests;
