//! The expected result of loading a data set: promised versus done per actor, computed from the
//! envelopes themselves so it describes exactly what was published.
//!
//! The rules, applied to events whose `occurred_at` falls on or before the "as of" date:
//! - a retracted event does not count;
//! - withdrawn: the commitment was withdrawn;
//! - delivered / partly delivered / not delivered: the verdict of the latest outcome;
//! - overdue: no outcome, and the due date (after amendments) is before the "as of" date;
//! - in progress: no outcome, not overdue, at least one action;
//! - not started: none of the above.
//!
//! A commitment counts for the actor that answers for it on the "as of" date, which changes
//! when a department is renamed or merged (its open commitments pass to the successor).

use covenant_core::event::{Date, decode};
use covenant_core::proto::{self, event_body::Kind};
use std::collections::{BTreeMap, BTreeSet};

/// Derived status of one commitment.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    NotStarted,
    InProgress,
    Overdue,
    Delivered,
    PartlyDelivered,
    NotDelivered,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Self::NotStarted,
        Self::InProgress,
        Self::Overdue,
        Self::Delivered,
        Self::PartlyDelivered,
        Self::NotDelivered,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::InProgress => "in_progress",
            Self::Overdue => "overdue",
            Self::Delivered => "delivered",
            Self::PartlyDelivered => "partly_delivered",
            Self::NotDelivered => "not_delivered",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// One commitment as it stands.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CommitmentSummary {
    /// Who made it.
    pub made_by: String,
    /// Who answers for it now.
    pub owner: String,
    pub status: Status,
    /// The due date after amendments, if any.
    pub due_by: Option<Date>,
    pub amendments: usize,
    pub target_moved: bool,
    pub deadline_moved: bool,
    /// A published assessment disputes one of its outcomes.
    pub disputed: bool,
    pub actions: usize,
}

/// One actor's scorecard.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ActorSummary {
    pub name: String,
    /// Commitments the actor answers for, by status (every status is present, possibly 0).
    pub statuses: BTreeMap<Status, usize>,
    /// Money in the actor's non-retracted actions, in pence, by stage.
    pub pledged_minor: i64,
    pub committed_minor: i64,
    pub spent_minor: i64,
}

impl ActorSummary {
    pub fn count(&self, status: Status) -> usize {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    pub fn commitments(&self) -> usize {
        self.statuses.values().sum()
    }
}

/// What a data set should show once loaded.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DemoSummary {
    pub as_of: Date,
    /// Events counted (occurred on or before `as_of`).
    pub events: usize,
    pub events_by_kind: BTreeMap<String, usize>,
    /// Registered actors with their scorecards (actors without commitments have empty ones).
    pub actors: BTreeMap<String, ActorSummary>,
    pub commitments: BTreeMap<String, CommitmentSummary>,
}

#[derive(Default)]
struct Tracked {
    made_by: String,
    due_by: Option<Date>,
    withdrawn: bool,
    /// (occurred_at, event id, verdict)
    outcomes: Vec<(i64, String, i32)>,
    amendments: usize,
    target_moved: bool,
    deadline_moved: bool,
    disputed_outcomes: BTreeSet<String>,
    actions: usize,
}

/// Summarise envelopes (in publish order) as of a date. Envelopes that do not decode are
/// skipped: the demo data always decodes, and this is a description, not a validator.
pub fn summarise(envelopes: &[Vec<u8>], as_of: Date) -> DemoSummary {
    let events: Vec<_> = envelopes
        .iter()
        .filter_map(|bytes| decode(bytes).ok())
        .filter(|event| Date::from_unix_ms(event.envelope.occurred_at_ms) <= as_of)
        .collect();
    let retracted: BTreeSet<&str> = events
        .iter()
        .filter_map(|event| match &event.kind {
            Kind::Retraction(retraction) => Some(retraction.event_id.as_str()),
            _ => None,
        })
        .collect();

    let mut events_by_kind = BTreeMap::new();
    let mut actors: BTreeMap<String, ActorSummary> = BTreeMap::new();
    let mut commitments: BTreeMap<String, Tracked> = BTreeMap::new();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();

    for event in &events {
        *events_by_kind
            .entry(event.kind_name().to_owned())
            .or_insert(0) += 1;
        if retracted.contains(event.event_id()) {
            continue;
        }
        let actor = event.actor().to_owned();
        match &event.kind {
            Kind::ActorRegistered(registered) => {
                actors.entry(registered.actor_id.clone()).or_default().name =
                    registered.name.clone();
            }
            Kind::ActorSucceeded(succession) => {
                // Open commitments pass to the successor, which speaks for them from now on.
                let listed: BTreeSet<&String> = succession.commitment_ids.iter().collect();
                for (id, tracked) in &commitments {
                    let open = !tracked.withdrawn && tracked.outcomes.is_empty();
                    if owners.get(id) == Some(&succession.predecessor_id)
                        && open
                        && (listed.is_empty() || listed.contains(id))
                    {
                        owners.insert(id.clone(), succession.successor_id.clone());
                    }
                }
            }
            Kind::CommitmentMade(made) => {
                owners.insert(made.commitment_id.clone(), actor.clone());
                commitments.insert(
                    made.commitment_id.clone(),
                    Tracked {
                        made_by: actor,
                        due_by: Date::parse(&made.due_by),
                        ..Default::default()
                    },
                );
            }
            Kind::CommitmentAmended(amended) => {
                if let Some(tracked) = commitments.get_mut(&amended.commitment_id) {
                    tracked.amendments += 1;
                    for change in &amended.changes {
                        match proto::AmendedField::try_from(change.field) {
                            Ok(proto::AmendedField::DueBy) => {
                                tracked.deadline_moved = true;
                                tracked.due_by = Date::parse(&change.new_value);
                            }
                            Ok(
                                proto::AmendedField::TargetValue
                                | proto::AmendedField::TargetPeriod,
                            ) => tracked.target_moved = true,
                            _ => {}
                        }
                    }
                }
            }
            Kind::CommitmentWithdrawn(withdrawn) => {
                if let Some(tracked) = commitments.get_mut(&withdrawn.commitment_id) {
                    tracked.withdrawn = true;
                }
            }
            Kind::ActionRecorded(action) => {
                for id in &action.commitment_ids {
                    if let Some(tracked) = commitments.get_mut(id) {
                        tracked.actions += 1;
                    }
                }
                if let Some(money) = &action.money {
                    let scorecard = actors.entry(actor).or_default();
                    match proto::MoneyStage::try_from(money.stage) {
                        Ok(proto::MoneyStage::Pledged) => {
                            scorecard.pledged_minor += money.amount_minor
                        }
                        Ok(proto::MoneyStage::Committed) => {
                            scorecard.committed_minor += money.amount_minor
                        }
                        Ok(proto::MoneyStage::Spent) => scorecard.spent_minor += money.amount_minor,
                        _ => {}
                    }
                }
            }
            Kind::OutcomeReported(outcome) => {
                if let Some(tracked) = commitments.get_mut(&outcome.commitment_id) {
                    tracked.outcomes.push((
                        event.envelope.occurred_at_ms,
                        event.event_id().to_owned(),
                        outcome.verdict,
                    ));
                }
            }
            Kind::AssessmentPublished(assessment) => {
                if assessment.stance == proto::Stance::Disputes as i32
                    && let Some(tracked) = commitments.get_mut(&assessment.commitment_id)
                {
                    tracked
                        .disputed_outcomes
                        .insert(assessment.outcome_event_id.clone());
                }
            }
            _ => {}
        }
    }

    let mut summaries = BTreeMap::new();
    for (id, tracked) in commitments {
        let status = status_of(&tracked, as_of);
        let owner = owners.get(&id).cloned().unwrap_or_default();
        let scorecard = actors.entry(owner.clone()).or_default();
        *scorecard.statuses.entry(status).or_insert(0) += 1;
        summaries.insert(
            id,
            CommitmentSummary {
                made_by: tracked.made_by,
                owner,
                status,
                due_by: tracked.due_by,
                amendments: tracked.amendments,
                target_moved: tracked.target_moved,
                deadline_moved: tracked.deadline_moved,
                disputed: !tracked.disputed_outcomes.is_empty(),
                actions: tracked.actions,
            },
        );
    }
    for scorecard in actors.values_mut() {
        for status in Status::ALL {
            scorecard.statuses.entry(status).or_insert(0);
        }
    }
    DemoSummary {
        as_of,
        events: events.len(),
        events_by_kind,
        actors,
        commitments: summaries,
    }
}

fn status_of(tracked: &Tracked, as_of: Date) -> Status {
    if tracked.withdrawn {
        return Status::Withdrawn;
    }
    if let Some((_, _, verdict)) = tracked.outcomes.iter().max_by_key(|(at, _, _)| *at) {
        return match proto::Verdict::try_from(*verdict) {
            Ok(proto::Verdict::Delivered) => Status::Delivered,
            Ok(proto::Verdict::PartlyDelivered) => Status::PartlyDelivered,
            _ => Status::NotDelivered,
        };
    }
    if tracked.due_by.is_some_and(|due_by| due_by < as_of) {
        return Status::Overdue;
    }
    if tracked.actions > 0 {
        Status::InProgress
    } else {
        Status::NotStarted
    }
}
