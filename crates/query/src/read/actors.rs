//! Actors and scorecards: who is registered, and how each actor, theme or the whole log is doing.

use super::commitments::{goalpost_item, overdue_item, summary};
use super::schema;
use super::shared::Records;
use crate::QueryError;
use crate::actor::ActorRecord;
use crate::apply::corrupt;
use crate::fact::{self};
use crate::keys::{self, Key};
use crate::projections::{Projections, ResolvedAsOf};
use crate::record::{Aggregate, CommitmentRecord, Group, ListEntry};
use crate::state::Status;
use crate::view::*;
use covenant_core::event::Date;
use covenant_core::proto::{self};
use std::collections::{BTreeMap, BTreeSet};

impl Projections {
    /// An actor as registered by `point`.
    pub fn actor(&self, id: &str, point: &ResolvedAsOf) -> Result<Option<Actor>, QueryError> {
        let _gate = self.read_gate()?;
        self.actor_view(id, point)
    }

    pub(super) fn actor_view(
        &self,
        id: &str,
        point: &ResolvedAsOf,
    ) -> Result<Option<Actor>, QueryError> {
        Ok(self
            .actor_record(id)?
            .and_then(|record| actor_view(&record, point)))
    }

    /// Registered actors in id order, with their headline figures.
    pub fn actors(
        &self,
        point: &ResolvedAsOf,
        kind: Option<proto::ActorKind>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ActorPage, QueryError> {
        let _gate = self.read_gate()?;
        let prefix = vec![keys::ACTOR];
        let mut items = vec![];
        let mut next_cursor = None;
        for id in self.ids_under(prefix, cursor)? {
            let id = id?;
            let Some(actor) = self.actor_view(&id, point)? else {
                continue;
            };
            if kind.is_some_and(|kind| kind != actor.kind) {
                continue;
            }
            if items.len() == limit {
                next_cursor = items.last().map(|a: &ActorSummary| a.actor.id.clone());
                break;
            }
            let counts = self
                .aggregate_at(&Group::Actor(id.clone()), point)?
                .counts(point.date);
            items.push(ActorSummary {
                actor,
                commitments: counts.total(),
                delivery_rate: counts.delivery_rate(),
                counts,
            });
        }
        Ok(ActorPage {
            as_of: point.info(),
            items,
            next_cursor,
        })
    }

    // ---- scorecards --------------------------------------------------------------------

    /// An actor's scorecard; `None` when the actor was not registered by `point`. Lists hold
    /// at most `list_limit` items each (their totals are always complete).
    pub fn actor_scorecard(
        &self,
        id: &str,
        point: &ResolvedAsOf,
        list_limit: usize,
    ) -> Result<Option<Scorecard>, QueryError> {
        let _gate = self.read_gate()?;
        let Some(actor) = self.actor_view(id, point)? else {
            return Ok(None);
        };
        let group = Group::Actor(id.to_owned());
        let mut scorecard =
            self.scorecard(&group, Scope::Actor(id.to_owned()), point, list_limit)?;
        scorecard.actor = Some(actor);
        Ok(Some(scorecard))
    }

    /// A theme's scorecard; `None` when no commitment had the theme by `point`.
    pub fn theme_scorecard(
        &self,
        theme: &str,
        point: &ResolvedAsOf,
        list_limit: usize,
    ) -> Result<Option<Scorecard>, QueryError> {
        let _gate = self.read_gate()?;
        if !self.theme_exists(theme, point)? {
            return Ok(None);
        }
        let group = Group::Theme(theme.to_owned());
        self.scorecard(&group, Scope::Theme(theme.to_owned()), point, list_limit)
            .map(Some)
    }

    /// Everyone's scorecard.
    pub fn overall_scorecard(
        &self,
        point: &ResolvedAsOf,
        list_limit: usize,
    ) -> Result<Scorecard, QueryError> {
        let _gate = self.read_gate()?;
        self.scorecard(&Group::All, Scope::All, point, list_limit)
    }

    /// Everyone's scorecard with the home page's two other lists, at most `list_limit` items
    /// each: the commitments an outcome decided, the latest outcome first, and those whose
    /// outcome an assessor disputes, the latest dispute first (each then by id). At the
    /// latest point the lists come from their indexes; at another, the scorecard and both
    /// lists come from one fold of every commitment.
    pub fn overview(
        &self,
        point: &ResolvedAsOf,
        list_limit: usize,
    ) -> Result<Overview, QueryError> {
        let _gate = self.read_gate()?;
        if point.latest {
            return Ok(Overview {
                scorecard: self.scorecard(&Group::All, Scope::All, point, list_limit)?,
                latest_outcomes: self.latest_under(keys::OUTCOME, point.date, list_limit)?,
                latest_disputed: self.latest_under(keys::DISPUTED, point.date, list_limit)?,
            });
        }
        let records = self.records_at(&Group::All, point)?;
        let latest_by = |on: fn(&CommitmentRecord) -> Option<Date>| {
            let mut dated: Vec<(Date, &CommitmentRecord)> = records
                .iter()
                .filter_map(|record| Some((on(record)?, record)))
                .collect();
            // As the indexes sort: the latest day first, then by id.
            dated.sort_by(|(a, x), (b, y)| b.cmp(a).then(x.id.cmp(&y.id)));
            dated
                .into_iter()
                .take(list_limit)
                .map(|(_, record)| summary(record, point.date))
                .collect()
        };
        Ok(Overview {
            latest_outcomes: latest_by(|record| record.outcome_on),
            latest_disputed: latest_by(|record| record.disputed_on),
            scorecard: scorecard_of(&records, Scope::All, point, list_limit),
        })
    }

    pub(super) fn theme_exists(
        &self,
        theme: &str,
        point: &ResolvedAsOf,
    ) -> Result<bool, QueryError> {
        let prefix = Key::new(keys::THEME).part(theme).into_bytes();
        for id in self.ids_under(prefix, None)? {
            if point.latest || self.state_at(&id?, point)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn scorecard(
        &self,
        group: &Group,
        scope: Scope,
        point: &ResolvedAsOf,
        list_limit: usize,
    ) -> Result<Scorecard, QueryError> {
        if !point.latest {
            let records = self.records_at(group, point)?;
            return Ok(scorecard_of(&records, scope, point, list_limit));
        }
        let aggregate = self.aggregate(group)?;
        let overdue = self.latest_overdue(group, point.date, list_limit)?;
        let moved = self.latest_moved(group, list_limit)?;
        Ok(scorecard(scope, point, &aggregate, &overdue, &moved))
    }

    fn latest_overdue(
        &self,
        group: &Group,
        date: Date,
        limit: usize,
    ) -> Result<Vec<ListEntry>, QueryError> {
        let prefix = Key::new(keys::DUE).part(&group.key()).into_bytes();
        let end = Key::new(keys::DUE)
            .part(&group.key())
            .date(date)
            .into_bytes();
        self.tree()?
            .range(prefix..end)
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                fact::decode(&value, "list entry").map_err(corrupt(&key))
            })
            .collect()
    }

    fn latest_moved(&self, group: &Group, limit: usize) -> Result<Vec<ListEntry>, QueryError> {
        let prefix = Key::new(keys::MOVED).part(&group.key()).into_bytes();
        self.tree()?
            .scan_prefix(prefix)
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                fact::decode(&value, "list entry").map_err(corrupt(&key))
            })
            .collect()
    }
}

fn actor_view(record: &ActorRecord, point: &ResolvedAsOf) -> Option<Actor> {
    let registration = record.registration_at(point.size)?;
    let successions = record.successions_at(point.size);
    let non_empty = |text: &String| (!text.is_empty()).then(|| text.clone());
    Some(Actor {
        id: record.id.clone(),
        name: registration.name.clone(),
        kind: schema(registration.kind),
        identifiers: registration.identifiers.clone(),
        constituency: non_empty(&registration.constituency),
        party: non_empty(&registration.party),
        url: non_empty(&registration.url),
        registered_seq: registration.seq,
        retracted: record.registration_retracted(point.size),
        successors: successions
            .iter()
            .filter(|link| link.predecessor == record.id)
            .map(|link| link.successor.clone())
            .collect(),
        predecessors: successions
            .iter()
            .filter(|link| link.successor == record.id)
            .map(|link| link.predecessor.clone())
            .collect(),
    })
}

/// The scorecard of the records folded at an earlier point: what the aggregate and the list
/// indexes hold for the latest.
fn scorecard_of(
    records: &Records,
    scope: Scope,
    point: &ResolvedAsOf,
    list_limit: usize,
) -> Scorecard {
    let mut aggregate = Aggregate::default();
    records.iter().for_each(|record| aggregate.add(record, 1));
    let mut late: Vec<&CommitmentRecord> = records
        .iter()
        .filter(|r| r.status(point.date) == Status::Overdue)
        .collect();
    late.sort_by(|a, b| (a.due_by, &a.id).cmp(&(b.due_by, &b.id)));
    let overdue: Vec<ListEntry> = late
        .into_iter()
        .take(list_limit)
        .map(CommitmentRecord::list_entry)
        .collect();
    let mut shifted_goalposts: Vec<&CommitmentRecord> =
        records.iter().filter(|r| r.goalposts_moved()).collect();
    // As the moved index sorts: the most recently moved first.
    shifted_goalposts.sort_by(|a, b| b.moved_on.cmp(&a.moved_on).then(a.id.cmp(&b.id)));
    let moved: Vec<ListEntry> = shifted_goalposts
        .into_iter()
        .take(list_limit)
        .map(CommitmentRecord::list_entry)
        .collect();
    scorecard(scope, point, &aggregate, &overdue, &moved)
}

fn scorecard(
    scope: Scope,
    point: &ResolvedAsOf,
    aggregate: &Aggregate,
    overdue: &[ListEntry],
    moved: &[ListEntry],
) -> Scorecard {
    let counts = aggregate.counts(point.date);
    Scorecard {
        scope,
        actor: None,
        as_of: point.info(),
        commitments: counts.total(),
        resolved: counts.resolved(),
        delivery_rate: counts.delivery_rate(),
        median_days_to_outcome: aggregate.median_days_to_outcome(),
        flags: FlagCounts {
            amended: aggregate.amended,
            goalposts_moved: aggregate.goalposts_moved,
            target_moved: aggregate.target_moved,
            deadline_moved: aggregate.deadline_moved,
            disputed: aggregate.disputed,
            succeeded: aggregate.succeeded,
        },
        money: money_totals(&aggregate.money),
        overdue: OverdueList {
            total: counts.overdue,
            items: overdue
                .iter()
                .map(|entry| overdue_item(entry, point.date))
                .collect(),
        },
        goalposts_moved: GoalpostList {
            total: aggregate.goalposts_moved,
            items: moved.iter().map(goalpost_item).collect(),
        },
        over_time: over_time(aggregate),
        counts,
    }
}

/// The aggregate's quarters, oldest first, each with what was made and delivered in it.
fn over_time(aggregate: &Aggregate) -> Vec<QuarterCounts> {
    let (made, delivered) = (&aggregate.made_by_quarter, &aggregate.delivered_by_quarter);
    let quarters: BTreeSet<i32> = made.keys().chain(delivered.keys()).copied().collect();
    quarters
        .into_iter()
        .map(|quarter| QuarterCounts {
            quarter,
            made: made.get(&quarter).copied().unwrap_or(0),
            delivered: delivered.get(&quarter).copied().unwrap_or(0),
        })
        .collect()
}

pub(super) fn money_totals(money: &BTreeMap<String, [i128; 3]>) -> Vec<MoneyTotals> {
    money
        .iter()
        .map(|(currency, [pledged, committed, spent])| MoneyTotals {
            currency: currency.clone(),
            pledged_minor: saturate(*pledged),
            committed_minor: saturate(*committed),
            spent_minor: saturate(*spent),
        })
        .collect()
}

fn saturate(value: i128) -> i64 {
    value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}
