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
//! when a department is renamed or merged (its open commitments pass to the successor), and so
//! does the money of actions towards it (split evenly when an action serves several).
//!
//! These are the rules of docs/STATUS.md, so once the demo data is loaded the ledger's
//! scorecards as of today equal `summary_as_of(today)`. The "as of" here filters events by
//! their `occurred_at` (the simulated timeline), whereas the ledger's "as of" counts entries by
//! when the broker stored them; for today the two agree.

use covenant_core::event::{Date, DecodedEvent, decode};
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
    /// Money of non-retracted actions towards the commitments the actor answers for, in pence,
    /// by stage.
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
    target_value: Option<f64>,
    target_period: String,
    withdrawn: bool,
    /// Closed in the ledger's sense (withdrawn or an outcome ever reported, retracted or
    /// not): such a commitment does not pass to a successor.
    closed_for_succession: bool,
    /// Event ids of outcomes that count, in log order.
    outcomes: Vec<String>,
    amendments: usize,
    target_moved: bool,
    deadline_moved: bool,
    /// (assessor, outcome event id, disputes?) in log order.
    assessments: Vec<(String, String, bool)>,
    actions: usize,
    /// Named indicators: id -> (comparator, target, upper bound).
    indicators: BTreeMap<String, (i32, f64, Option<f64>)>,
    /// Named indicators' latest measurement: id -> (measured on, value).
    measured: BTreeMap<String, (Date, f64)>,
}

impl Tracked {
    fn amend(&mut self, change: &proto::FieldChange) {
        if let Some((comparator, target, _)) = self.indicators.get_mut(&change.indicator_id) {
            // A named indicator: a move is a change that makes the target easier to meet.
            if let (Ok(proto::AmendedField::TargetValue), Ok(new)) = (
                proto::AmendedField::try_from(change.field),
                change.new_value.parse::<f64>(),
            ) {
                let easier = match proto::Comparator::try_from(*comparator) {
                    Ok(proto::Comparator::AtLeast) => new < *target,
                    Ok(proto::Comparator::AtMost) => new > *target,
                    _ => new != *target,
                };
                self.target_moved |= easier;
                *target = new;
            }
            return;
        }
        match proto::AmendedField::try_from(change.field) {
            Ok(proto::AmendedField::DueBy) => {
                let new_due_by = Date::parse(&change.new_value);
                // Only a later (or removed, or added) deadline moves the goalposts.
                let later = match (self.due_by, new_due_by) {
                    (Some(old), Some(new)) => new > old,
                    (old, new) => old != new,
                };
                self.deadline_moved |= later;
                self.due_by = new_due_by;
            }
            Ok(proto::AmendedField::TargetValue) => {
                let new_target = change.new_value.parse::<f64>().ok();
                if new_target != self.target_value {
                    self.target_moved = true;
                    self.target_value = new_target;
                }
            }
            Ok(proto::AmendedField::TargetPeriod) if change.new_value != self.target_period => {
                self.target_moved = true;
                self.target_period = change.new_value.clone();
            }
            _ => {}
        }
    }

    /// With named indicators: how many the latest measurements meet, out of how many.
    fn indicators_met(&self) -> Option<(usize, usize)> {
        if self.indicators.is_empty() {
            return None;
        }
        let met = self
            .indicators
            .iter()
            .filter(|(id, (comparator, target, upper))| {
                self.measured.get(*id).is_some_and(|(_, value)| {
                    match proto::Comparator::try_from(*comparator) {
                        Ok(proto::Comparator::AtLeast) => value >= target,
                        Ok(proto::Comparator::AtMost) => value <= target,
                        Ok(proto::Comparator::Exactly) => value == target,
                        Ok(proto::Comparator::Between) => {
                            value >= target && upper.is_some_and(|upper| *value <= upper)
                        }
                        _ => false,
                    }
                })
            })
            .count();
        Some((met, self.indicators.len()))
    }

    /// Among the assessments of the latest outcome, the latest of some assessor disputes it.
    fn disputed(&self) -> bool {
        let Some(latest) = self.outcomes.last() else {
            return false;
        };
        let mut stance_by_assessor: BTreeMap<&str, bool> = BTreeMap::new();
        for (assessor, outcome, disputes) in &self.assessments {
            if outcome == latest {
                stance_by_assessor.insert(assessor, *disputes);
            }
        }
        stance_by_assessor.values().any(|disputes| *disputes)
    }
}

/// Which events count: an event counts unless a retraction that itself counts retracts it.
fn counting(events: &[DecodedEvent]) -> BTreeSet<String> {
    let mut retracted_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for event in events {
        if let Kind::Retraction(retraction) = &event.kind {
            retracted_by
                .entry(retraction.event_id.as_str())
                .or_default()
                .push(event.event_id());
        }
    }
    fn counts<'a>(
        id: &'a str,
        retracted_by: &BTreeMap<&'a str, Vec<&'a str>>,
        memo: &mut BTreeMap<&'a str, bool>,
    ) -> bool {
        if let Some(known) = memo.get(id) {
            return *known;
        }
        // A retraction is always later than what it retracts, so this recursion ends.
        let counted = !retracted_by
            .get(id)
            .is_some_and(|retractions| retractions.iter().any(|r| counts(r, retracted_by, memo)));
        memo.insert(id, counted);
        counted
    }
    let mut memo = BTreeMap::new();
    events
        .iter()
        .filter(|event| counts(event.event_id(), &retracted_by, &mut memo))
        .map(|event| event.event_id().to_owned())
        .collect()
}

/// Summarise envelopes (in publish order) as of a date. Envelopes that do not decode are
/// skipped: the demo data always decodes, and this is a description, not a validator.
pub fn summarise(envelopes: &[Vec<u8>], as_of: Date) -> DemoSummary {
    let events: Vec<DecodedEvent> = envelopes
        .iter()
        .filter_map(|bytes| decode(bytes).ok())
        .filter(|event| Date::from_unix_ms(event.envelope.occurred_at_ms) <= as_of)
        .collect();
    let counted = counting(&events);

    let mut events_by_kind = BTreeMap::new();
    let mut actors: BTreeMap<String, ActorSummary> = BTreeMap::new();
    let mut commitments: BTreeMap<String, Tracked> = BTreeMap::new();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    let mut money_by_commitment: Vec<(Vec<String>, proto::Money)> = vec![];

    for event in &events {
        *events_by_kind
            .entry(event.kind_name().to_owned())
            .or_insert(0) += 1;
        let closing = match &event.kind {
            Kind::OutcomeReported(outcome) => Some(&outcome.commitment_id),
            Kind::CommitmentWithdrawn(withdrawn) => Some(&withdrawn.commitment_id),
            _ => None,
        };
        if let Some(tracked) = closing.and_then(|id| commitments.get_mut(id)) {
            tracked.closed_for_succession = true;
        }
        if !counted.contains(event.event_id()) {
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
                    if owners.get(id) == Some(&succession.predecessor_id)
                        && !tracked.closed_for_succession
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
                        target_value: made.indicator.as_ref().and_then(|i| i.target_value),
                        target_period: made
                            .indicator
                            .as_ref()
                            .map(|i| i.target_period.clone())
                            .unwrap_or_default(),
                        indicators: made
                            .indicators
                            .iter()
                            .map(|i| {
                                let target = (
                                    i.comparator,
                                    i.target_value.unwrap_or_default(),
                                    i.target_upper,
                                );
                                (i.indicator_id.clone(), target)
                            })
                            .collect(),
                        ..Default::default()
                    },
                );
            }
            Kind::CommitmentAmended(amended) => {
                if let Some(tracked) = commitments.get_mut(&amended.commitment_id) {
                    tracked.amendments += 1;
                    amended
                        .changes
                        .iter()
                        .for_each(|change| tracked.amend(change));
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
                    money_by_commitment.push((action.commitment_ids.clone(), money.clone()));
                }
            }
            Kind::OutcomeReported(outcome) => {
                if let Some(tracked) = commitments.get_mut(&outcome.commitment_id) {
                    tracked.outcomes.push(event.event_id().to_owned());
                    for measurement in &outcome.measurements {
                        let Some(on) = Date::parse(&measurement.measured_on) else {
                            continue;
                        };
                        let latest = tracked.measured.get(&measurement.indicator_id);
                        if latest.is_none_or(|(seen_on, _)| on >= *seen_on) {
                            tracked
                                .measured
                                .insert(measurement.indicator_id.clone(), (on, measurement.value));
                        }
                    }
                }
            }
            Kind::AssessmentPublished(assessment) => {
                if let Some(tracked) = commitments.get_mut(&assessment.commitment_id) {
                    // Naming no outcome means the latest one when it was recorded.
                    let outcome = if assessment.outcome_event_id.is_empty() {
                        tracked.outcomes.last().cloned().unwrap_or_default()
                    } else {
                        assessment.outcome_event_id.clone()
                    };
                    tracked.assessments.push((
                        actor,
                        outcome,
                        assessment.stance == proto::Stance::Disputes as i32,
                    ));
                }
            }
            Kind::CommitmentAdopted(adopted) => {
                owners.insert(adopted.commitment_id.clone(), actor);
            }
            _ => {}
        }
    }

    let verdicts: BTreeMap<&str, i32> = events
        .iter()
        .filter_map(|event| match &event.kind {
            Kind::OutcomeReported(outcome) => Some((event.event_id(), outcome.verdict)),
            _ => None,
        })
        .collect();
    let mut summaries = BTreeMap::new();
    for (id, tracked) in commitments {
        let status = status_of(&tracked, &verdicts, as_of);
        let owner = owners.get(&id).cloned().unwrap_or_default();
        let scorecard = actors.entry(owner.clone()).or_default();
        *scorecard.statuses.entry(status).or_insert(0) += 1;
        summaries.insert(
            id,
            CommitmentSummary {
                disputed: tracked.disputed(),
                made_by: tracked.made_by,
                owner,
                status,
                due_by: tracked.due_by,
                amendments: tracked.amendments,
                target_moved: tracked.target_moved,
                deadline_moved: tracked.deadline_moved,
                actions: tracked.actions,
            },
        );
    }
    for (commitment_ids, money) in money_by_commitment {
        for (id, share) in split_evenly(&commitment_ids, money.amount_minor) {
            let owner = owners.get(id).cloned().unwrap_or_default();
            let scorecard = actors.entry(owner).or_default();
            match proto::MoneyStage::try_from(money.stage) {
                Ok(proto::MoneyStage::Pledged) => scorecard.pledged_minor += share,
                Ok(proto::MoneyStage::Committed) => scorecard.committed_minor += share,
                Ok(proto::MoneyStage::Spent) => scorecard.spent_minor += share,
                _ => {}
            }
        }
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

/// An amount shared evenly between the distinct commitments an action serves, the remainder
/// going to the first listed, so the shares add up to the amount and nothing counts twice.
fn split_evenly(commitment_ids: &[String], amount: i64) -> Vec<(&String, i64)> {
    let mut distinct: Vec<&String> = vec![];
    for id in commitment_ids {
        if !distinct.contains(&id) {
            distinct.push(id);
        }
    }
    let Some(count) = i64::try_from(distinct.len())
        .ok()
        .filter(|count| *count > 0)
    else {
        return vec![];
    };
    let (share, remainder) = (amount / count, amount % count);
    distinct
        .into_iter()
        .enumerate()
        .map(|(index, id)| (id, share + if index == 0 { remainder } else { 0 }))
        .collect()
}

fn status_of(tracked: &Tracked, verdicts: &BTreeMap<&str, i32>, as_of: Date) -> Status {
    if tracked.withdrawn {
        return Status::Withdrawn;
    }
    if let Some(latest) = tracked.outcomes.last() {
        match tracked.indicators_met() {
            Some((met, total)) if met == total => return Status::Delivered,
            Some((0, _)) => return Status::NotDelivered,
            Some(_) => return Status::PartlyDelivered,
            None => {}
        }
        return match verdicts
            .get(latest.as_str())
            .map(|v| proto::Verdict::try_from(*v))
        {
            Some(Ok(proto::Verdict::Delivered)) => Status::Delivered,
            Some(Ok(proto::Verdict::PartlyDelivered)) => Status::PartlyDelivered,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_split_evenly_with_the_remainder_to_the_first() {
        let ids: Vec<String> = ["a", "b", "a", "c"].iter().map(|s| s.to_string()).collect();
        let shares: Vec<(String, i64)> = split_evenly(&ids, 100)
            .into_iter()
            .map(|(id, share)| (id.clone(), share))
            .collect();
        assert_eq!(
            shares,
            [
                ("a".to_owned(), 34),
                ("b".to_owned(), 33),
                ("c".to_owned(), 33)
            ]
        );
        assert!(split_evenly(&[], 100).is_empty());
    }
}
