//! Themes and the league table: the covenant's seed values and how actors rank on delivery.

use super::LeagueRules;
use crate::QueryError;
use crate::apply::corrupt;
use crate::fact::{self};
use crate::keys::{self, Key};
use crate::projections::{Projections, ResolvedAsOf};
use crate::record::{Aggregate, Group, StatusCounts};
use crate::view::*;
use covenant_core::event::SEED_THEMES;
use covenant_core::proto::ActorKind;
use std::collections::BTreeMap;

impl Projections {
    /// Every theme in use: the seed values first, in their order, then free tags A to Z.
    pub fn themes(&self, point: &ResolvedAsOf) -> Result<ThemeList, QueryError> {
        let _gate = self.read_gate()?;
        let aggregates: BTreeMap<String, Aggregate> = if point.latest {
            let prefix = Key::new(keys::AGGREGATE).last("t:").into_bytes();
            let mut found = BTreeMap::new();
            for item in self.tree()?.scan_prefix(&prefix) {
                let (key, value) = item?;
                let theme = keys::last_component(&key, prefix.len())
                    .ok_or_else(|| corrupt(&key)("theme is not text".into()))?;
                found.insert(
                    theme.to_owned(),
                    fact::decode(&value, "aggregate").map_err(corrupt(&key))?,
                );
            }
            found
        } else {
            let mut found: BTreeMap<String, Aggregate> = BTreeMap::new();
            for record in self.records_at(&Group::All, point)?.iter() {
                for group in record.groups() {
                    if let Group::Theme(theme) = group {
                        found.entry(theme).or_default().add(record, 1);
                    }
                }
            }
            found
        };
        let mut items: Vec<ThemeSummary> = aggregates
            .into_iter()
            .map(|(theme, aggregate)| {
                let counts = aggregate.counts(point.date);
                ThemeSummary {
                    seed: SEED_THEMES.contains(&theme.as_str()),
                    theme,
                    commitments: counts.total(),
                    delivery_rate: counts.delivery_rate(),
                    counts,
                }
            })
            .collect();
        items.sort_by_key(|item| {
            let seed_rank = SEED_THEMES.iter().position(|s| *s == item.theme);
            (seed_rank.unwrap_or(SEED_THEMES.len()), item.theme.clone())
        });
        Ok(ThemeList {
            as_of: point.info(),
            items,
        })
    }

    /// Actors ranked by delivery rate (highest first; ties by more resolved commitments, then
    /// by id), among those with at least `rules.min_resolved` resolved commitments.
    pub fn league_table(
        &self,
        point: &ResolvedAsOf,
        rules: &LeagueRules,
    ) -> Result<LeagueTable, QueryError> {
        let [table] = self.league_tables(point, [rules.clone()])?;
        Ok(table)
    }

    /// One league table per set of rules, each as [`Projections::league_table`] gives it, from
    /// one read of every actor's aggregate.
    pub fn league_tables<const N: usize>(
        &self,
        point: &ResolvedAsOf,
        rules: [LeagueRules; N],
    ) -> Result<[LeagueTable; N], QueryError> {
        let _gate = self.read_gate()?;
        let mut tables = rules.map(|rules| LeagueTable {
            as_of: point.info(),
            min_resolved: rules.min_resolved,
            kind: rules.kind,
            rows: vec![],
            unranked: 0,
        });
        let kinds: Vec<Option<ActorKind>> = tables.iter().map(|table| table.kind).collect();
        let wanted = |actor: &Actor| {
            kinds
                .iter()
                .any(|kind| kind.is_none_or(|kind| kind == actor.kind))
        };
        let mut rank = |actor: &Actor, aggregate: &Aggregate| {
            let counts = aggregate.counts(point.date);
            for table in &mut tables {
                if table.kind.is_some_and(|kind| kind != actor.kind) {
                    continue;
                }
                match counts.delivery_rate() {
                    Some(rate) if counts.resolved() >= i64::from(table.min_resolved) => {
                        table.rows.push(league_row(actor.clone(), &counts, rate))
                    }
                    _ => table.unranked += 1,
                }
            }
        };
        if point.latest {
            let prefix = Key::new(keys::AGGREGATE).last("a:").into_bytes();
            for item in self.tree()?.scan_prefix(&prefix) {
                let (key, value) = item?;
                let actor_id = keys::last_component(&key, prefix.len())
                    .ok_or_else(|| corrupt(&key)("actor is not text".into()))?;
                // The actor first: an aggregate costs more to decode than its owner's record.
                let Some(actor) = self.actor_view(actor_id, point)?.filter(wanted) else {
                    continue;
                };
                let aggregate = fact::decode(&value, "aggregate").map_err(corrupt(&key))?;
                rank(&actor, &aggregate);
            }
        } else {
            let mut found: BTreeMap<String, Aggregate> = BTreeMap::new();
            for record in self.records_at(&Group::All, point)?.iter() {
                found
                    .entry(record.owner.clone())
                    .or_default()
                    .add(record, 1);
            }
            for (actor_id, aggregate) in found {
                if let Some(actor) = self.actor_view(&actor_id, point)?.filter(wanted) {
                    rank(&actor, &aggregate);
                }
            }
        }
        for table in &mut tables {
            table.rows.sort_by(|a, b| {
                b.delivery_rate
                    .total_cmp(&a.delivery_rate)
                    .then(b.resolved.cmp(&a.resolved))
                    .then(a.actor.cmp(&b.actor))
            });
            for (index, row) in table.rows.iter_mut().enumerate() {
                row.rank = index as u32 + 1;
            }
        }
        Ok(tables)
    }
}

fn league_row(actor: Actor, counts: &StatusCounts, rate: f64) -> LeagueRow {
    LeagueRow {
        rank: 0,
        actor: actor.id,
        name: actor.name,
        kind: actor.kind,
        commitments: counts.total(),
        resolved: counts.resolved(),
        delivered: counts.delivered,
        partly_delivered: counts.partly_delivered,
        not_delivered: counts.not_delivered,
        withdrawn: counts.withdrawn,
        overdue: counts.overdue,
        delivery_rate: rate,
    }
}
