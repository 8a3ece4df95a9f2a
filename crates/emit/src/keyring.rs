//! Several actors' rows in one file: a directory of emitter keys, one per actor, and the
//! checks a dry run makes before anything is published.
//!
//! Each row is sealed with the key of the actor its `actor` column names (or the only key,
//! when the directory holds one and the row names none). Rows keep the order they are written
//! in, whoever speaks, because an action by one body may serve a commitment made by another
//! earlier in the file.
//!
//! [`references`] lists what an event points at (commitments, outcomes, retracted events);
//! [`ReferenceCheck`] finds each one earlier in the same file or in the live ledger, and
//! finds what the ledger would refuse for other reasons it can see: a commitment or action id
//! used twice, a commitment that belongs to another actor. So a mistyped id is caught before
//! publishing instead of being rejected after.

use crate::EmitError;
use crate::build::{SealedEvent, Speaker};
use crate::keys::{KeyFile, KeyKind};
use crate::rows::{self, Row, RowError};
use crate::status::{EventStatus, KnownCommitment, LedgerClient};
use covenant_core::proto::event_body::Kind;
use covenant_core::validate::{self, Standing};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// What to do about an actor without a key: the registrar registers it and grants one.
const ENROL_HINT: &str =
    "a new actor is registered and given its key with covenant enrol (docs/OPERATING.md)";

/// Emitter keys by the actor they speak for.
#[derive(Debug, Clone)]
pub struct KeyRing {
    speakers: BTreeMap<String, Speaker>,
}

impl KeyRing {
    /// Every emitter key file (`*.key`) in `dir`. Each must name its actor and key id, and no
    /// actor may have two keys: which one a row meant would be a guess.
    pub fn read_dir(dir: &Path) -> Result<Self, EmitError> {
        let problem = |problem: String| EmitError::KeyFile {
            path: dir.to_owned(),
            problem,
        };
        let entries = std::fs::read_dir(dir)
            .map_err(|error| problem(format!("cannot list the key directory: {error}")))?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "key"))
            .collect();
        paths.sort();
        let mut speakers = BTreeMap::new();
        let mut files: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
        for path in paths {
            let key = KeyFile::read(&path)?;
            let named = |what: &str| EmitError::KeyFile {
                path: path.clone(),
                problem: format!("names no {what}; every key in a key directory must"),
            };
            if key.kind != KeyKind::Emitter {
                continue;
            }
            let actor = key.actor.clone().ok_or_else(|| named("actor"))?;
            let key_id = key.key_id.clone().ok_or_else(|| named("key id"))?;
            if let Some(first) = files.get(&actor) {
                return Err(EmitError::KeyFile {
                    path: path.clone(),
                    problem: format!(
                        "{actor} already has a key in this directory ({}); keep one key per actor",
                        first.display()
                    ),
                });
            }
            speakers.insert(actor.clone(), Speaker::new(&actor, key_id, key.signer())?);
            files.insert(actor, path);
        }
        if speakers.is_empty() {
            return Err(problem(
                "holds no emitter key files (*.key from covenant keys generate --kind emitter)"
                    .to_owned(),
            ));
        }
        Ok(Self { speakers })
    }

    /// A key ring of one speaker.
    pub fn single(speaker: Speaker) -> Self {
        Self {
            speakers: BTreeMap::from([(speaker.actor().to_owned(), speaker)]),
        }
    }

    /// The ring of one of its actors (to sign events that name no actor, such as one from
    /// command-line flags).
    pub fn only(&self, actor: &str) -> Result<Self, EmitError> {
        let speaker = self.speakers.get(actor).ok_or_else(|| {
            EmitError::invalid(
                "actor",
                format!(
                    "{actor} has no key here (keys are for: {}); {ENROL_HINT}",
                    self.actors().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        Ok(Self::single(speaker.clone()))
    }

    pub fn actors(&self) -> impl Iterator<Item = &str> {
        self.speakers.keys().map(String::as_str)
    }

    /// The key a row speaks with: its `actor` column's, or the only key when it names none.
    pub fn speaker_for(&self, row: &Row) -> Result<&Speaker, RowError> {
        let error = |problem: String| RowError {
            location: row.location,
            field: "actor".to_owned(),
            problem,
        };
        let known = || self.actors().collect::<Vec<_>>().join(", ");
        match row.get("actor") {
            Some(actor) => self.speakers.get(actor).ok_or_else(|| {
                error(format!(
                    "{actor} has no key here (keys are for: {}); {ENROL_HINT}",
                    known()
                ))
            }),
            None if self.speakers.len() == 1 => {
                Ok(self.speakers.values().next().expect("one speaker"))
            }
            None => Err(error(format!(
                "is required when keys for several actors are given ({})",
                known()
            ))),
        }
    }

    /// Seal every row with its actor's key, in the order written. Returns the events, or every
    /// row's error.
    pub fn seal_rows(&self, rows: &[Row], now_ms: i64) -> Result<Vec<SealedEvent>, Vec<RowError>> {
        let mut events = Vec::with_capacity(rows.len());
        let mut errors = vec![];
        for row in rows {
            match self
                .speaker_for(row)
                .and_then(|speaker| rows::seal_row(speaker, row, now_ms))
            {
                Ok(event) => events.push(event),
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() {
            Ok(events)
        } else {
            Err(errors)
        }
    }
}

/// Something an event points at, which must exist before it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reference {
    Commitment(String),
    /// An outcome an assessment is about.
    Outcome(String),
    /// The event a retraction withdraws.
    Event(String),
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Commitment(id) => write!(f, "commitment {id}"),
            Self::Outcome(id) => write!(f, "outcome event {id}"),
            Self::Event(id) => write!(f, "event {id}"),
        }
    }
}

/// What an event refers to, in the order its fields name them.
pub fn references(kind: &Kind) -> Vec<Reference> {
    match kind {
        Kind::CommitmentAmended(e) => vec![Reference::Commitment(e.commitment_id.clone())],
        Kind::CommitmentWithdrawn(e) => vec![Reference::Commitment(e.commitment_id.clone())],
        Kind::ActionRecorded(e) => e
            .commitment_ids
            .iter()
            .cloned()
            .map(Reference::Commitment)
            .collect(),
        Kind::OutcomeReported(e) => vec![Reference::Commitment(e.commitment_id.clone())],
        // An assessment that names no outcome assesses the commitment's latest one.
        Kind::AssessmentPublished(e) if e.outcome_event_id.is_empty() => {
            vec![Reference::Commitment(e.commitment_id.clone())]
        }
        Kind::AssessmentPublished(e) => vec![
            Reference::Commitment(e.commitment_id.clone()),
            Reference::Outcome(e.outcome_event_id.clone()),
        ],
        Kind::CommitmentAdopted(e) => vec![Reference::Commitment(e.commitment_id.clone())],
        Kind::Retraction(e) => vec![Reference::Event(e.event_id.clone())],
        _ => vec![],
    }
}

/// What a check finds wrong with an event before it is published: each one the ledger would
/// reject it for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Referred to, but found neither earlier in the file nor (when asked) in the ledger.
    Missing(Reference),
    /// A commitment made again: by an earlier row of this file, or already in the ledger.
    CommitmentExists { id: String, in_ledger: bool },
    /// An action id an earlier row of this file already used.
    ActionRepeated(String),
    /// A commitment that belongs to another actor: only its owner may amend or withdraw it,
    /// and only its owner or a delivery partner record actions and outcomes against it.
    Foreign {
        commitment: String,
        owner: String,
        actor: String,
    },
    /// A commitment withdrawn by an earlier row of this file or in the ledger: nothing more
    /// may be said about it.
    Withdrawn { commitment: String, in_ledger: bool },
    /// An amendment's indicator that the commitment does not have, or a change to a target
    /// that does not name one of its indicators (the ledger's words).
    Indicator { problem: String, in_ledger: bool },
}

impl Finding {
    /// Found from the file alone, so certain whatever the ledger holds (a reference missing
    /// from the file may be in the ledger).
    pub fn within_the_file(&self) -> bool {
        match self {
            Self::Missing(_) => false,
            Self::CommitmentExists { in_ledger, .. } => !in_ledger,
            Self::ActionRepeated(_) => true,
            Self::Foreign { .. } => true,
            Self::Withdrawn { in_ledger, .. } | Self::Indicator { in_ledger, .. } => !in_ledger,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(reference) => write!(f, "{reference} not found"),
            Self::CommitmentExists {
                id,
                in_ledger: false,
            } => write!(f, "commitment {id} is made by an earlier row too"),
            Self::CommitmentExists {
                id,
                in_ledger: true,
            } => write!(f, "commitment {id} already exists in the ledger"),
            Self::ActionRepeated(id) => write!(f, "action id {id} is used by an earlier row too"),
            Self::Foreign {
                commitment,
                owner,
                actor,
            } => write!(
                f,
                "commitment {commitment} belongs to {owner}; {actor} cannot speak for it"
            ),
            Self::Withdrawn {
                commitment,
                in_ledger,
            } => {
                let by = if *in_ledger {
                    "in the ledger"
                } else {
                    "by an earlier row"
                };
                write!(
                    f,
                    "commitment {commitment} was withdrawn {by}; nothing more can be said of it"
                )
            }
            Self::Indicator { problem, .. } => f.write_str(problem),
        }
    }
}

/// Checks each event against the events before it in the same file and, for the rest, the
/// live ledger: what it refers to exists, what it makes is new, and its actor may speak about
/// the commitments it names. Feed it the events in publishing order.
pub struct ReferenceCheck<'a> {
    ledger: Option<&'a LedgerClient>,
    commitments_here: HashMap<String, KnownCommitment>,
    /// Commitments made by a row of this file, whose indicators are known for certain.
    made_here: HashSet<String>,
    /// Commitments a row of this file withdrew.
    withdrawn_here: HashSet<String>,
    actions_here: HashSet<String>,
    events_here: HashSet<String>,
    outcomes_here: HashSet<String>,
    /// False once a succession in the file may have moved commitments between actors.
    owners_known: bool,
}

impl<'a> ReferenceCheck<'a> {
    /// Without a ledger, only the file itself is checked; references it does not hold are
    /// reported as missing from it, which the ledger may still hold.
    pub fn new(ledger: Option<&'a LedgerClient>) -> Self {
        Self {
            ledger,
            commitments_here: HashMap::new(),
            made_here: HashSet::new(),
            withdrawn_here: HashSet::new(),
            actions_here: HashSet::new(),
            events_here: HashSet::new(),
            outcomes_here: HashSet::new(),
            owners_known: true,
        }
    }

    /// What is wrong with `event` (empty when nothing is), then remember what it defines for
    /// the events after it. Errors are the ledger failing to answer.
    pub fn check(&mut self, event: &SealedEvent) -> Result<Vec<Finding>, EmitError> {
        if self.events_here.contains(&event.event_id) {
            // The same event again (a repeated row): the ledger stores it once.
            return Ok(vec![]);
        }
        let decoded = covenant_core::event::decode(&event.bytes)?;
        let mut findings = vec![];
        for reference in references(&decoded.kind) {
            match &reference {
                Reference::Commitment(id) => match self.commitment(id)? {
                    None => findings.push(Finding::Missing(reference)),
                    Some(known) => {
                        findings.extend(self.about(&decoded.kind, &event.actor, id, &known))
                    }
                },
                _ if !self.exists(&reference)? => findings.push(Finding::Missing(reference)),
                _ => {}
            }
        }
        match &decoded.kind {
            Kind::CommitmentMade(made) => {
                let id = &made.commitment_id;
                if self.commitments_here.contains_key(id) {
                    findings.push(Finding::CommitmentExists {
                        id: id.clone(),
                        in_ledger: false,
                    });
                } else if let Some(ledger) = self.ledger
                    && ledger.commitment(id)?.is_some()
                {
                    findings.push(Finding::CommitmentExists {
                        id: id.clone(),
                        in_ledger: true,
                    });
                }
                self.commitments_here
                    .entry(id.clone())
                    .or_insert(KnownCommitment {
                        owner: event.actor.clone(),
                        delivery_partners: made.delivery_partners.clone(),
                        withdrawn: false,
                        indicators: made
                            .indicators
                            .iter()
                            .map(|indicator| indicator.indicator_id.clone())
                            .collect(),
                    });
                self.made_here.insert(id.clone());
            }
            Kind::CommitmentWithdrawn(withdrawn) if findings.is_empty() => {
                if let Some(mut known) = self.commitment(&withdrawn.commitment_id)? {
                    known.withdrawn = true;
                    self.commitments_here
                        .insert(withdrawn.commitment_id.clone(), known);
                    self.withdrawn_here.insert(withdrawn.commitment_id.clone());
                }
            }
            Kind::ActionRecorded(action) if !self.actions_here.insert(action.action_id.clone()) => {
                findings.push(Finding::ActionRepeated(action.action_id.clone()));
            }
            Kind::OutcomeReported(_) => {
                self.outcomes_here.insert(event.event_id.clone());
            }
            // An adopted pledge is the adopter's from here on.
            Kind::CommitmentAdopted(adopted) => {
                if let Some(mut owners) = self.commitment(&adopted.commitment_id)? {
                    owners.owner = event.actor.clone();
                    self.commitments_here
                        .insert(adopted.commitment_id.clone(), owners);
                }
            }
            // Which commitments pass depends on which are still open, which a file cannot
            // tell: from here on, owners are left to the ledger to judge.
            Kind::ActorSucceeded(_) => self.owners_known = false,
            _ => {}
        }
        self.events_here.insert(event.event_id.clone());
        Ok(findings)
    }

    /// What is wrong with an event of this kind by `actor` about commitment `id`, as far as
    /// `known` tells: who may speak about it (unless a succession earlier in the file left
    /// owners to the ledger), whether it is still live, and the indicators an amendment
    /// names.
    fn about(&self, kind: &Kind, actor: &str, id: &str, known: &KnownCommitment) -> Vec<Finding> {
        let mut findings = vec![];
        if self.owners_known {
            findings.extend(foreign(kind, actor, id, known));
        }
        // Every kind that needs a standing also needs the commitment live (the ledger's
        // own_live_commitment and delivered_live_commitment).
        if known.withdrawn && Standing::needed_for(kind).is_some() {
            findings.push(Finding::Withdrawn {
                commitment: id.to_owned(),
                in_ledger: !self.withdrawn_here.contains(id),
            });
        }
        if let Kind::CommitmentAmended(amended) = kind {
            findings.extend(amended.changes.iter().find_map(|change| {
                let problem =
                    validate::check_indicator_change(id, &known.indicators, change).err()?;
                Some(Finding::Indicator {
                    problem: problem.message,
                    in_ledger: !self.made_here.contains(id),
                })
            }));
        }
        findings
    }

    /// Whether the ledger can be asked (otherwise only earlier rows are checked).
    pub fn has_ledger(&self) -> bool {
        self.ledger.is_some()
    }

    fn commitment(&self, id: &str) -> Result<Option<KnownCommitment>, EmitError> {
        if let Some(owners) = self.commitments_here.get(id) {
            return Ok(Some(owners.clone()));
        }
        match self.ledger {
            Some(ledger) => ledger.commitment(id),
            None => Ok(None),
        }
    }

    fn exists(&self, reference: &Reference) -> Result<bool, EmitError> {
        let (id, here) = match reference {
            Reference::Commitment(id) => return Ok(self.commitment(id)?.is_some()),
            Reference::Outcome(id) => (id, self.outcomes_here.contains(id)),
            Reference::Event(id) => (id, self.events_here.contains(id)),
        };
        if here {
            return Ok(true);
        }
        let Some(ledger) = self.ledger else {
            return Ok(false);
        };
        if !covenant_core::event::is_valid_event_id(id) {
            return Ok(false);
        }
        Ok(matches!(ledger.status(id)?, EventStatus::Accepted { .. }))
    }
}

/// A finding when `actor` may not speak about commitment `id` in an event of this kind
/// ([`Standing`], the ledger's own rule).
fn foreign(kind: &Kind, actor: &str, id: &str, owners: &KnownCommitment) -> Option<Finding> {
    let standing = Standing::needed_for(kind)?;
    (!standing.held_by(actor, &owners.owner, &owners.delivery_partners)).then(|| Finding::Foreign {
        commitment: id.to_owned(),
        owner: owners.owner.clone(),
        actor: actor.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::read_csv;

    fn write_key(dir: &Path, name: &str, actor: Option<&str>, seed: u8) {
        let mut key = KeyFile::from_seed(KeyKind::Emitter, [seed; 32]);
        key.actor = actor.map(str::to_owned);
        key.key_id = Some(format!("{name}-1"));
        key.write_new(&dir.join(format!("{name}.key"))).unwrap();
    }

    /// Each event's findings, in words, checked in order.
    fn findings_of(check: &mut ReferenceCheck, events: &[SealedEvent]) -> Vec<Vec<String>> {
        events
            .iter()
            .map(|event| {
                let findings = check.check(event).unwrap();
                findings.iter().map(ToString::to_string).collect()
            })
            .collect()
    }

    const ROWS: &str = "actor,kind,commitment_id,reason\n\
                        GB-A,withdrawal,a-1,dropped\n\
                        GB-B,withdrawal,b-1,dropped\n\
                        GB-A,withdrawal,a-2,dropped\n";

    #[test]
    fn each_row_is_sealed_by_its_actors_key_in_the_order_written() {
        let dir = tempfile::tempdir().unwrap();
        write_key(dir.path(), "a", Some("GB-A"), 1);
        write_key(dir.path(), "b", Some("GB-B"), 2);
        std::fs::write(dir.path().join("notes.txt"), "not a key").unwrap();
        let ring = KeyRing::read_dir(dir.path()).unwrap();
        assert_eq!(ring.actors().collect::<Vec<_>>(), ["GB-A", "GB-B"]);
        let events = ring
            .seal_rows(&read_csv(ROWS.as_bytes()).unwrap(), 1_700_000_000_000)
            .unwrap();
        let speakers: Vec<(&str, String)> = events
            .iter()
            .map(|event| {
                let decoded = covenant_core::event::decode(&event.bytes).unwrap();
                (event.actor.as_str(), decoded.envelope.key_id)
            })
            .collect();
        assert_eq!(
            speakers,
            [
                ("GB-A", "a-1".to_owned()),
                ("GB-B", "b-1".to_owned()),
                ("GB-A", "a-1".to_owned())
            ]
        );
    }

    #[test]
    fn rows_without_a_key_and_ambiguous_directories_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write_key(dir.path(), "a", Some("GB-A"), 1);
        let ring = KeyRing::read_dir(dir.path()).unwrap();
        let errors = ring
            .seal_rows(&read_csv(ROWS.as_bytes()).unwrap(), 1_700_000_000_000)
            .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "row 3, actor: GB-B has no key here (keys are for: GB-A); a new actor is registered and given its key with covenant enrol (docs/OPERATING.md)"
        );
        // With one key, rows may leave the actor out.
        let unnamed = read_csv(b"kind,commitment_id,reason\nwithdrawal,a-1,dropped\n").unwrap();
        assert_eq!(ring.seal_rows(&unnamed, 1).unwrap()[0].actor, "GB-A");

        write_key(dir.path(), "b", Some("GB-B"), 2);
        let two = KeyRing::read_dir(dir.path()).unwrap();
        let errors = two.seal_rows(&unnamed, 1).unwrap_err();
        assert!(
            errors[0]
                .to_string()
                .contains("is required when keys for several actors are given"),
            "{}",
            errors[0]
        );

        write_key(dir.path(), "a2", Some("GB-A"), 3);
        let clash = KeyRing::read_dir(dir.path()).unwrap_err().to_string();
        assert!(
            clash.contains("GB-A already has a key in this directory"),
            "{clash}"
        );
        let empty = tempfile::tempdir().unwrap();
        let none = KeyRing::read_dir(empty.path()).unwrap_err().to_string();
        assert!(none.contains("holds no emitter key files"), "{none}");
    }

    #[test]
    fn an_assessment_of_the_latest_outcome_and_an_adoption_refer_to_their_commitment_only() {
        let assessment = Kind::AssessmentPublished(covenant_core::proto::AssessmentPublished {
            commitment_id: "c-1".into(),
            ..Default::default()
        });
        assert_eq!(
            references(&assessment),
            [Reference::Commitment("c-1".into())]
        );
        let adoption = Kind::CommitmentAdopted(covenant_core::proto::CommitmentAdopted {
            commitment_id: "pledge".into(),
            ..Default::default()
        });
        assert_eq!(
            references(&adoption),
            [Reference::Commitment("pledge".into())]
        );
    }

    #[test]
    fn references_are_found_earlier_in_the_file_or_reported_missing() {
        let dir = tempfile::tempdir().unwrap();
        write_key(dir.path(), "a", Some("GB-A"), 1);
        let ring = KeyRing::read_dir(dir.path()).unwrap();
        let rows = read_csv(
            b"kind,commitment_id,title,text,made_on,verdict,reported_on\n\
              commitment,c-1,T,We will.,2025-01-01,,\n\
              outcome,c-1,,,,delivered,2025-06-01\n\
              outcome,c-2,,,,delivered,2025-06-01\n",
        )
        .unwrap();
        let events = ring.seal_rows(&rows, 1_800_000_000_000).unwrap();
        let mut check = ReferenceCheck::new(None);
        let missing: Vec<Vec<Finding>> = events.iter().map(|e| check.check(e).unwrap()).collect();
        assert_eq!(
            missing,
            [
                vec![],
                vec![],
                vec![Finding::Missing(Reference::Commitment("c-2".to_owned()))]
            ]
        );
        assert!(!check.has_ledger());
    }

    #[test]
    fn ids_made_twice_and_commitments_of_another_actor_are_found_within_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write_key(dir.path(), "a", Some("GB-A"), 1);
        write_key(dir.path(), "b", Some("GB-B"), 2);
        write_key(dir.path(), "p", Some("GB-P"), 3);
        let ring = KeyRing::read_dir(dir.path()).unwrap();
        let rows = read_csv(
            b"actor,kind,commitment_id,title,text,made_on,delivery_partners,action_id,commitment_ids,type,taken_on,description,reason\n\
              GB-A,commitment,c-1,T,We will.,2025-01-01,GB-P,,,,,,\n\
              GB-A,commitment,c-1,T,We will.,2025-01-01,GB-P,,,,,,\n\
              GB-A,commitment,c-1,T2,We will again.,2025-01-02,,,,,,,\n\
              GB-P,action,,,,,,a-1,c-1,funding,2025-02-01,Funded.,\n\
              GB-B,action,,,,,,a-2,c-1,funding,2025-02-01,Funded.,\n\
              GB-A,action,,,,,,a-1,c-1,funding,2025-03-01,Again.,\n\
              GB-P,withdrawal,c-1,,,,,,,,,,dropped\n\
              GB-A,withdrawal,c-1,,,,,,,,,,dropped\n",
        )
        .unwrap();
        let events = ring.seal_rows(&rows, 1_800_000_000_000).unwrap();
        let mut check = ReferenceCheck::new(None);
        let found: Vec<Vec<String>> = events
            .iter()
            .map(|event| {
                let findings = check.check(event).unwrap();
                assert!(findings.iter().all(Finding::within_the_file));
                findings.iter().map(ToString::to_string).collect()
            })
            .collect();
        let foreign = |actor: &str| {
            vec![format!(
                "commitment c-1 belongs to GB-A; {actor} cannot speak for it"
            )]
        };
        assert_eq!(
            found,
            [
                vec![],
                vec![], // the same row again: the same event, stored once
                vec!["commitment c-1 is made by an earlier row too".to_owned()],
                vec![], // a delivery partner records an action
                foreign("GB-B"),
                vec!["action id a-1 is used by an earlier row too".to_owned()],
                foreign("GB-P"), // only the owner withdraws
                vec![],
            ]
        );
    }

    #[test]
    fn an_adopted_pledge_is_the_adopters_to_act_on() {
        let dir = tempfile::tempdir().unwrap();
        write_key(dir.path(), "mp", Some("GB-MP"), 1);
        write_key(dir.path(), "dept", Some("GB-DEPT"), 2);
        let ring = KeyRing::read_dir(dir.path()).unwrap();
        let rows = read_csv(
            b"actor,kind,commitment_id,title,text,made_on,adopted_on,action_id,commitment_ids,type,taken_on,description\n\
              GB-MP,commitment,pledge,T,We will.,2025-01-01,,,,,,\n\
              GB-DEPT,adoption,pledge,,,,2025-02-01,,,,,\n\
              GB-DEPT,action,,,,,,a-1,pledge,funding,2025-03-01,Funded.\n\
              GB-MP,action,,,,,,a-2,pledge,funding,2025-03-01,Funded.\n",
        )
        .unwrap();
        let events = ring.seal_rows(&rows, 1_800_000_000_000).unwrap();
        let mut check = ReferenceCheck::new(None);
        assert_eq!(
            findings_of(&mut check, &events),
            [
                vec![],
                vec![],
                vec![],
                vec!["commitment pledge belongs to GB-DEPT; GB-MP cannot speak for it".to_owned()],
            ]
        );
    }

    #[test]
    fn after_a_succession_the_owners_are_left_to_the_ledger() {
        let dir = tempfile::tempdir().unwrap();
        write_key(dir.path(), "a", Some("GB-A"), 1);
        write_key(dir.path(), "b", Some("GB-B"), 2);
        let ring = KeyRing::read_dir(dir.path()).unwrap();
        let rows = read_csv(
            b"actor,kind,commitment_id,title,text,made_on,action_id,commitment_ids,type,taken_on,description\n\
              GB-A,commitment,c-1,T,We will.,2025-01-01,,,,,\n\
              GB-B,action,,,,,a-1,c-1,funding,2025-03-01,Funded.\n",
        )
        .unwrap();
        let events = ring.seal_rows(&rows, 1_800_000_000_000).unwrap();
        let registrar = Speaker::new(
            "GB-REGISTRAR",
            "registrar-1",
            covenant_core::signing::EventSigner::from_seed([9; 32]),
        )
        .unwrap();
        let succession = registrar
            .seal_with_id(
                "01JZ0000000000000000000001",
                Kind::ActorSucceeded(covenant_core::proto::ActorSucceeded {
                    predecessor_id: "GB-A".into(),
                    successor_id: "GB-B".into(),
                    kind: covenant_core::proto::SuccessionKind::Renamed as i32,
                    effective_on: "2025-02-01".into(),
                    ..Default::default()
                }),
                1_800_000_000_000,
            )
            .unwrap();
        let mut before = ReferenceCheck::new(None);
        before.check(&events[0]).unwrap();
        assert_eq!(
            before.check(&events[1]).unwrap().len(),
            1,
            "GB-A's, not GB-B's"
        );
        let mut after = ReferenceCheck::new(None);
        after.check(&events[0]).unwrap();
        after.check(&succession).unwrap();
        assert_eq!(
            after.check(&events[1]).unwrap(),
            [],
            "it may have passed to GB-B"
        );
    }

    #[test]
    fn an_outcome_and_an_event_earlier_in_the_file_are_found_and_unknown_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        write_key(dir.path(), "a", Some("GB-A"), 1);
        let ring = KeyRing::read_dir(dir.path()).unwrap();
        let first = read_csv(
            b"kind,commitment_id,title,text,made_on,verdict,reported_on\n\
              commitment,c-1,T,We will.,2025-01-01,,\n\
              outcome,c-1,,,,delivered,2025-06-01\n",
        )
        .unwrap();
        let made = ring.seal_rows(&first, 1_800_000_000_000).unwrap();
        let (commitment_event, outcome_event) = (&made[0].event_id, &made[1].event_id);
        let unknown = "01JZ0000000000000000000009";
        let later = format!(
            "kind,commitment_id,outcome_event_id,stance,summary,retracts,reason\n\
             assessment,c-1,{outcome_event},agrees,Checked.,,\n\
             assessment,c-1,{commitment_event},agrees,Checked.,,\n\
             retraction,,,,,{commitment_event},published in error\n\
             retraction,,,,,{unknown},published in error\n"
        );
        let rows = read_csv(later.as_bytes()).unwrap();
        let events = ring.seal_rows(&rows, 1_800_000_000_000).unwrap();
        let mut check = ReferenceCheck::new(None);
        for event in &made {
            assert_eq!(check.check(event).unwrap(), []);
        }
        assert_eq!(
            findings_of(&mut check, &events),
            [
                vec![],
                vec![format!("outcome event {commitment_event} not found")],
                vec![],
                vec![format!("event {unknown} not found")],
            ]
        );
    }

    #[test]
    fn a_target_change_names_one_of_the_commitments_indicators() {
        let dir = tempfile::tempdir().unwrap();
        write_key(dir.path(), "a", Some("GB-A"), 1);
        let ring = KeyRing::read_dir(dir.path()).unwrap();
        let rows = read_csv(
            b"kind,commitment_id,title,text,made_on,indicator_measure,indicator_target_value,class,field,new_value,indicator_id,rationale
              commitment,c-1,T,We will.,2025-01-01,Cafes open,>=150,,,,,
              commitment,c-2,T,We will.,2025-01-01,Cafes open,150,,,,,
              amendment,c-1,,,,,,target_change,target_value,120,,Costs rose.
              amendment,c-1,,,,,,target_change,target_value,120,homes,Costs rose.
              amendment,c-1,,,,,,target_change,target_value,120,main,Costs rose.
              amendment,c-1,,,,,,deadline_change,due_by,2026-12-31,,Later.
              amendment,c-2,,,,,,target_change,target_value,120,,Costs rose.
              amendment,c-2,,,,,,target_change,target_value,120,main,Costs rose.
",
        )
        .unwrap();
        let events = ring.seal_rows(&rows, 1_800_000_000_000).unwrap();
        let mut check = ReferenceCheck::new(None);
        let unnamed = "commitment c-1 names its indicators (main); a change to a target must say which, in indicator_id";
        assert_eq!(
            findings_of(&mut check, &events),
            [
                vec![],
                vec![],
                vec![unnamed.to_owned()],
                vec!["commitment c-1 has no indicator homes; its indicators are main".to_owned()],
                vec![],
                vec![],
                vec![],
                vec!["commitment c-2 has no indicator main; it names none".to_owned()],
            ]
        );
        let mut check = ReferenceCheck::new(None);
        check.check(&events[0]).unwrap();
        assert!(check.check(&events[2]).unwrap()[0].within_the_file());
        let from_ledger = Finding::Indicator {
            problem: unnamed.into(),
            in_ledger: true,
        };
        assert!(!from_ledger.within_the_file());
    }

    #[test]
    fn nothing_more_is_said_of_a_commitment_once_its_owner_withdrew_it() {
        let dir = tempfile::tempdir().unwrap();
        write_key(dir.path(), "a", Some("GB-A"), 1);
        write_key(dir.path(), "b", Some("GB-B"), 2);
        let ring = KeyRing::read_dir(dir.path()).unwrap();
        let rows = read_csv(
            b"actor,kind,commitment_id,title,text,made_on,reason,action_id,commitment_ids,type,taken_on,description,class,field,new_value,rationale
              GB-A,commitment,c-1,T,We will.,2025-01-01,,,,,,,,,,
              GB-B,withdrawal,c-1,,,,not ours,,,,,,,,,
              GB-A,action,,,,,,a-1,c-1,funding,2025-03-01,Funded.,,,,
              GB-A,withdrawal,c-1,,,,dropped,,,,,,,,,
              GB-A,action,,,,,,a-2,c-1,funding,2025-03-01,Funded.,,,,
              GB-A,amendment,c-1,,,,,,,,,,deadline_change,due_by,2026-12-31,Later.
",
        )
        .unwrap();
        let events = ring.seal_rows(&rows, 1_800_000_000_000).unwrap();
        let mut check = ReferenceCheck::new(None);
        let withdrawn =
            "commitment c-1 was withdrawn by an earlier row; nothing more can be said of it";
        assert_eq!(
            findings_of(&mut check, &events),
            [
                vec![],
                vec!["commitment c-1 belongs to GB-A; GB-B cannot speak for it".to_owned()],
                vec![],
                vec![],
                vec![withdrawn.to_owned()],
                vec![withdrawn.to_owned()],
            ],
            "another actor's withdrawal withdraws nothing"
        );
        let finding = Finding::Withdrawn {
            commitment: "c-1".into(),
            in_ledger: false,
        };
        assert!(finding.within_the_file());
        let in_ledger = Finding::Withdrawn {
            commitment: "c-1".into(),
            in_ledger: true,
        };
        assert!(!in_ledger.within_the_file());
        assert_eq!(
            in_ledger.to_string(),
            "commitment c-1 was withdrawn in the ledger; nothing more can be said of it"
        );
    }

    #[test]
    fn missing_and_ledger_findings_are_not_certain_from_the_file() {
        let missing = Finding::Missing(Reference::Commitment("c-9".into()));
        assert!(!missing.within_the_file(), "the ledger may hold it");
        let in_ledger = Finding::CommitmentExists {
            id: "c-1".into(),
            in_ledger: true,
        };
        assert!(!in_ledger.within_the_file());
    }
}
