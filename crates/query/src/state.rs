//! The status rules: a commitment's state at any point of the log, folded from its facts.
//!
//! Everything here is a pure function of the facts and a bound (`seq < bound`); the date that
//! decides "overdue" is passed in. docs/STATUS.md states each rule in words; each has a test
//! below.

use crate::fact::Fact;
use covenant_core::event::Date;
use covenant_core::proto::{self, event_body::Kind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Where a commitment stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Made, nothing recorded yet, not past its due date.
    NotStarted,
    /// At least one action recorded, no outcome, not past its due date.
    InProgress,
    /// Past its due date (judged at the query's as-of date) with no outcome and not withdrawn.
    Overdue,
    Delivered,
    PartlyDelivered,
    NotDelivered,
    /// Dropped by a political decision; counts as not delivered.
    Withdrawn,
    /// The commitment itself was retracted as published in error; it counts nowhere.
    Retracted,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::NotStarted,
        Status::InProgress,
        Status::Overdue,
        Status::Delivered,
        Status::PartlyDelivered,
        Status::NotDelivered,
        Status::Withdrawn,
        Status::Retracted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotStarted => "not_started",
            Status::InProgress => "in_progress",
            Status::Overdue => "overdue",
            Status::Delivered => "delivered",
            Status::PartlyDelivered => "partly_delivered",
            Status::NotDelivered => "not_delivered",
            Status::Withdrawn => "withdrawn",
            Status::Retracted => "retracted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Open: no outcome and not withdrawn (may still become overdue).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::NotStarted | Status::InProgress | Status::Overdue
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Money stages, as the schema defines them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MoneyStage {
    Pledged,
    Committed,
    Spent,
}

impl MoneyStage {
    pub fn from_proto(value: i32) -> Option<Self> {
        match proto::MoneyStage::try_from(value).ok()? {
            proto::MoneyStage::Pledged => Some(Self::Pledged),
            proto::MoneyStage::Committed => Some(Self::Committed),
            proto::MoneyStage::Spent => Some(Self::Spent),
            proto::MoneyStage::Unspecified => None,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Which event a piece of state came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactRef {
    pub seq: u64,
    pub event_id: String,
    pub stored_at_ns: u64,
    pub actor: String,
}

impl FactRef {
    fn of(fact: &Fact) -> Self {
        Self {
            seq: fact.seq,
            event_id: fact.event_id.clone(),
            stored_at_ns: fact.stored_at_ns,
            actor: fact.actor.clone(),
        }
    }
}

/// What a retraction said about an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetractedBy {
    pub event_id: String,
    pub seq: u64,
    pub reason: String,
}

/// The terms of a commitment: what was promised, by when, to what target.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Terms {
    pub title: String,
    pub text: String,
    pub due_by: Option<Date>,
    pub target_value: Option<f64>,
    pub target_period: String,
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Amendment {
    pub fact: FactRef,
    pub amended: proto::CommitmentAmended,
    pub target_moved: bool,
    pub deadline_moved: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub fact: FactRef,
    pub action: proto::ActionRecorded,
    /// This commitment's share of the action's money (see [`money_share`]).
    pub share: Option<(String, MoneyStage, i64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub fact: FactRef,
    pub outcome: proto::OutcomeReported,
    pub reported_on: Date,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub fact: FactRef,
    pub assessment: proto::AssessmentPublished,
}

/// A commitment as the log stood at some point.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitmentState {
    pub id: String,
    pub made: proto::CommitmentMade,
    pub made_fact: FactRef,
    pub made_on: Date,
    /// The actor that made it.
    pub maker: String,
    /// The actor that answers for it now (changes by succession).
    pub owner: String,
    pub original: Terms,
    pub current: Terms,
    /// Set when the commitment itself was retracted.
    pub retracted: Option<RetractedBy>,
    pub amendments: Vec<Amendment>,
    pub withdrawal: Option<(FactRef, proto::CommitmentWithdrawn)>,
    pub actions: Vec<Action>,
    /// The latest outcome that still counts.
    pub outcome: Option<Outcome>,
    /// Assessments that still count, oldest first.
    pub assessments: Vec<Assessment>,
    pub successions: Vec<(FactRef, proto::ActorSucceeded)>,
    /// Sequence number of the last fact folded in.
    pub last_seq: u64,
}

/// Which events are retracted as of `bound`, by a retraction that itself still counts.
///
/// A retraction always comes after its target, so walking backwards settles every retraction
/// of a retraction before the retraction it cancels is looked at.
pub fn retractions(facts: &[Fact], bound: u64) -> Result<HashMap<String, RetractedBy>, String> {
    let mut retracted: HashMap<String, RetractedBy> = HashMap::new();
    for fact in facts.iter().rev().filter(|fact| fact.seq < bound) {
        if retracted.contains_key(&fact.event_id) {
            continue;
        }
        if let Kind::Retraction(retraction) = fact.kind()? {
            retracted.insert(
                retraction.event_id.clone(),
                RetractedBy {
                    event_id: fact.event_id.clone(),
                    seq: fact.seq,
                    reason: retraction.reason,
                },
            );
        }
    }
    Ok(retracted)
}

/// The commitment's share of an action's money: the amount split evenly over the distinct
/// commitments the action serves, the remainder (in minor units) to the first listed, so that
/// shares add up to the amount and no money is counted twice.
pub fn money_share(
    action: &proto::ActionRecorded,
    commitment_id: &str,
) -> Option<(String, MoneyStage, i64)> {
    let money = action.money.as_ref()?;
    let stage = MoneyStage::from_proto(money.stage)?;
    let served = distinct_commitments(action);
    let position = served.iter().position(|id| *id == commitment_id)?;
    let count = served.len() as i64;
    let mut share = money.amount_minor / count;
    if position == 0 {
        share += money.amount_minor % count;
    }
    Some((money.currency.clone(), stage, share))
}

/// The commitments an action serves, each once, in the order first listed.
pub fn distinct_commitments(action: &proto::ActionRecorded) -> Vec<&str> {
    let mut served: Vec<&str> = Vec::with_capacity(action.commitment_ids.len());
    for id in &action.commitment_ids {
        if !served.contains(&id.as_str()) {
            served.push(id);
        }
    }
    served
}

/// Fold a commitment's facts (sorted by sequence) into its state as of `bound` (entries with
/// `seq < bound`). `None` when the commitment had not been made by then.
pub fn fold(facts: &[Fact], bound: u64) -> Result<Option<CommitmentState>, String> {
    let retracted = retractions(facts, bound)?;
    let mut state: Option<CommitmentState> = None;
    for fact in facts.iter().filter(|fact| fact.seq < bound) {
        let kind = fact.kind()?;
        if let Kind::CommitmentMade(made) = kind {
            state = Some(made_state(
                fact,
                made,
                retracted.get(&fact.event_id).cloned(),
            )?);
            continue;
        }
        let Some(state) = state.as_mut() else {
            return Err(format!(
                "fact at entry {} comes before its commitment was made",
                fact.seq
            ));
        };
        state.last_seq = fact.seq;
        if retracted.contains_key(&fact.event_id) {
            continue;
        }
        apply(state, fact, kind);
    }
    Ok(state)
}

fn made_state(
    fact: &Fact,
    made: proto::CommitmentMade,
    retracted: Option<RetractedBy>,
) -> Result<CommitmentState, String> {
    let made_on = Date::parse(&made.made_on)
        .ok_or_else(|| format!("entry {}: made_on is not a date", fact.seq))?;
    let original = Terms {
        title: made.title.clone(),
        text: made.text.clone(),
        due_by: Date::parse(&made.due_by),
        target_value: made.indicator.as_ref().map(|i| i.target_value),
        target_period: made
            .indicator
            .as_ref()
            .map(|i| i.target_period.clone())
            .unwrap_or_default(),
        scope: String::new(),
    };
    Ok(CommitmentState {
        id: made.commitment_id.clone(),
        made_fact: FactRef::of(fact),
        made_on,
        maker: fact.actor.clone(),
        owner: fact.actor.clone(),
        current: original.clone(),
        original,
        made,
        retracted,
        amendments: vec![],
        withdrawal: None,
        actions: vec![],
        outcome: None,
        assessments: vec![],
        successions: vec![],
        last_seq: fact.seq,
    })
}

fn apply(state: &mut CommitmentState, fact: &Fact, kind: Kind) {
    match kind {
        Kind::CommitmentAmended(amended) => amend(state, fact, amended),
        Kind::CommitmentWithdrawn(withdrawn) => {
            state.withdrawal = Some((FactRef::of(fact), withdrawn));
        }
        Kind::ActionRecorded(action) => {
            let share = money_share(&action, &state.id);
            state.actions.push(Action {
                fact: FactRef::of(fact),
                action,
                share,
            });
        }
        Kind::OutcomeReported(outcome) => {
            if let Some(reported_on) = Date::parse(&outcome.reported_on) {
                state.outcome = Some(Outcome {
                    fact: FactRef::of(fact),
                    outcome,
                    reported_on,
                });
            }
        }
        Kind::AssessmentPublished(assessment) => state.assessments.push(Assessment {
            fact: FactRef::of(fact),
            assessment,
        }),
        Kind::ActorSucceeded(succession) => {
            state.owner = succession.successor_id.clone();
            state.successions.push((FactRef::of(fact), succession));
        }
        // Retractions were settled before the fold; nothing else is about a commitment.
        _ => {}
    }
}

fn amend(state: &mut CommitmentState, fact: &Fact, amended: proto::CommitmentAmended) {
    let mut target_moved = false;
    let mut deadline_moved = false;
    let terms = &mut state.current;
    for change in &amended.changes {
        let value = &change.new_value;
        match proto::AmendedField::try_from(change.field) {
            Ok(proto::AmendedField::Text) => terms.text = value.clone(),
            Ok(proto::AmendedField::Title) => terms.title = value.clone(),
            Ok(proto::AmendedField::Scope) => terms.scope = value.clone(),
            Ok(proto::AmendedField::DueBy) => {
                let due_by = Date::parse(value);
                deadline_moved |= due_by != terms.due_by;
                terms.due_by = due_by;
            }
            Ok(proto::AmendedField::TargetValue) => {
                let target = value.parse::<f64>().ok();
                target_moved |= target != terms.target_value;
                terms.target_value = target;
            }
            Ok(proto::AmendedField::TargetPeriod) => {
                target_moved |= *value != terms.target_period;
                terms.target_period = value.clone();
            }
            Ok(proto::AmendedField::Unspecified) | Err(_) => {}
        }
    }
    state.amendments.push(Amendment {
        fact: FactRef::of(fact),
        amended,
        target_moved,
        deadline_moved,
    });
}

impl CommitmentState {
    /// The status before the as-of date is considered: never `Overdue`.
    pub fn base_status(&self) -> Status {
        if self.retracted.is_some() {
            Status::Retracted
        } else if self.withdrawal.is_some() {
            Status::Withdrawn
        } else if let Some(outcome) = &self.outcome {
            match proto::Verdict::try_from(outcome.outcome.verdict) {
                Ok(proto::Verdict::Delivered) => Status::Delivered,
                Ok(proto::Verdict::PartlyDelivered) => Status::PartlyDelivered,
                _ => Status::NotDelivered,
            }
        } else if self.actions.is_empty() {
            Status::NotStarted
        } else {
            Status::InProgress
        }
    }

    /// The status judged on `date`: an open commitment whose current due date is before
    /// `date` is overdue.
    pub fn status(&self, date: Date) -> Status {
        judge(self.base_status(), self.current.due_by, date)
    }

    /// A watchdog disputes the latest outcome: among the assessments of that outcome that
    /// still count, the latest of some assessor disputes it.
    pub fn disputed(&self) -> bool {
        self.latest_assessments()
            .iter()
            .any(|a| a.assessment.stance == proto::Stance::Disputes as i32)
    }

    /// Each assessor's latest assessment of the latest outcome.
    pub fn latest_assessments(&self) -> Vec<&Assessment> {
        let Some(outcome) = &self.outcome else {
            return vec![];
        };
        let mut latest: BTreeMap<&str, &Assessment> = BTreeMap::new();
        for assessment in &self.assessments {
            if assessment.assessment.outcome_event_id == outcome.fact.event_id {
                latest.insert(&assessment.fact.actor, assessment);
            }
        }
        latest.into_values().collect()
    }

    pub fn target_moves(&self) -> u32 {
        self.amendments.iter().filter(|a| a.target_moved).count() as u32
    }

    pub fn deadline_moves(&self) -> u32 {
        self.amendments.iter().filter(|a| a.deadline_moved).count() as u32
    }

    /// Money recorded against the commitment, per currency and stage (minor units).
    pub fn money(&self) -> BTreeMap<(String, MoneyStage), i128> {
        let mut totals = BTreeMap::new();
        for (currency, stage, amount) in self.actions.iter().filter_map(|a| a.share.as_ref()) {
            *totals.entry((currency.clone(), *stage)).or_insert(0) += i128::from(*amount);
        }
        totals
    }
}

/// Apply the as-of date to a base status.
pub fn judge(base: Status, due_by: Option<Date>, date: Date) -> Status {
    match base {
        Status::NotStarted | Status::InProgress if due_by.is_some_and(|due| due < date) => {
            Status::Overdue
        }
        other => other,
    }
}

#[cfg(test)]
pub(crate) mod tests;
