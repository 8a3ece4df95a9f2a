//! The queries: scorecards, lists, search, history and feeds, each as of a [`Point`].
//!
//! Each query has two ways to answer. At the latest point it reads what `apply` keeps up to
//! date: commitment records, group aggregates and indexes. At an earlier point it folds the
//! facts of every candidate commitment with the point's bound, which is slower but exact; the
//! tests check that both ways give the same answer.

use crate::QueryError;
use crate::actor::ActorRecord;
use crate::apply::{aggregate_key, corrupt, read_u64};
use crate::fact::{self, Fact};
use crate::keys::{self, Key};
use crate::projections::{Point, Projections};
use crate::record::{Aggregate, CommitmentRecord, Group, ListEntry, StatusCounts};
use crate::state::{self, CommitmentState, RetractedBy, Status};
use crate::view::*;
use covenant_core::SchemaName;
use covenant_core::event::Date;
use covenant_core::proto::{self, event_body::Kind};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLockReadGuard;

/// The seven seed values, in the order the covenant lists them.
pub const SEED_THEMES: [&str; 7] = [
    "sustainability",
    "safety",
    "equity",
    "dignity",
    "opportunity",
    "community",
    "love",
];

/// A flag a commitment list can be narrowed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Amended,
    GoalpostsMoved,
    Disputed,
    Succeeded,
}

impl Flag {
    pub const NAMES: [&str; 4] = ["amended", "goalposts_moved", "disputed", "succeeded"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "amended" => Some(Self::Amended),
            "goalposts_moved" => Some(Self::GoalpostsMoved),
            "disputed" => Some(Self::Disputed),
            "succeeded" => Some(Self::Succeeded),
            _ => None,
        }
    }

    fn holds(self, record: &CommitmentRecord) -> bool {
        match self {
            Self::Amended => record.amendments > 0,
            Self::GoalpostsMoved => record.goalposts_moved(),
            Self::Disputed => record.disputed,
            Self::Succeeded => record.successions > 0,
        }
    }
}

/// Which commitments to list. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitmentFilter {
    /// Owned by this actor, or delivered by it as a partner (at the point asked about).
    pub actor: Option<String>,
    pub theme: Option<String>,
    /// With this status; without one, retracted commitments are left out.
    pub status: Option<Status>,
    /// Every word must appear in the current or original title or text (see [`crate::words`]).
    pub words: BTreeSet<String>,
    pub made_from: Option<Date>,
    pub made_to: Option<Date>,
    pub due_from: Option<Date>,
    pub due_to: Option<Date>,
    pub flag: Option<Flag>,
}

impl CommitmentFilter {
    fn accepts(&self, record: &CommitmentRecord, date: Date) -> bool {
        let status = record.status(date);
        let status_ok = match self.status {
            Some(wanted) => status == wanted,
            None => status != Status::Retracted,
        };
        let within = |value: Option<Date>, from: Option<Date>, to: Option<Date>| {
            (from.is_none() && to.is_none())
                || value.is_some_and(|v| from.is_none_or(|f| v >= f) && to.is_none_or(|t| v <= t))
        };
        status_ok
            && self.actor.as_ref().is_none_or(|a| record.involves(a))
            && self
                .theme
                .as_ref()
                .is_none_or(|t| record.themes.contains(t))
            && within(Some(record.made_on), self.made_from, self.made_to)
            && within(record.due_by, self.due_from, self.due_to)
            && self.flag.is_none_or(|flag| flag.holds(record))
            && record.matches_words(&self.words)
    }
}

/// How the league table ranks actors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeagueRules {
    /// Actors with fewer resolved commitments are not ranked.
    pub min_resolved: u32,
    /// Only actors of this kind.
    pub kind: Option<proto::ActorKind>,
}

impl Default for LeagueRules {
    fn default() -> Self {
        Self {
            min_resolved: 5,
            kind: None,
        }
    }
}

/// Whose feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedScope {
    Actor(String),
    Theme(String),
}

type Guard<'a> = RwLockReadGuard<'a, ()>;

impl Projections {
    pub(crate) fn read_gate(&self) -> Guard<'_> {
        self.gate
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn decode_at<T: for<'de> serde::Deserialize<'de>>(
        &self,
        key: &[u8],
        what: &str,
    ) -> Result<Option<T>, QueryError> {
        self.tree
            .get(key)?
            .map(|bytes| fact::decode(&bytes, what).map_err(corrupt(key)))
            .transpose()
    }

    fn latest_record(&self, id: &str) -> Result<Option<CommitmentRecord>, QueryError> {
        self.decode_at(
            &Key::new(keys::RECORD).last(id).into_bytes(),
            "commitment record",
        )
    }

    pub(crate) fn facts(&self, id: &str) -> Result<Vec<Fact>, QueryError> {
        let prefix = Key::new(keys::FACT).part(id).into_bytes();
        self.tree
            .scan_prefix(&prefix)
            .map(|item| {
                let (key, value) = item?;
                fact::decode(&value, "fact").map_err(corrupt(&key))
            })
            .collect()
    }

    fn state_at(&self, id: &str, point: &Point) -> Result<Option<CommitmentState>, QueryError> {
        state::fold(&self.facts(id)?, point.cut()).map_err(|problem| QueryError::Corrupt {
            key: id.to_owned(),
            problem,
        })
    }

    fn record_at(&self, id: &str, point: &Point) -> Result<Option<CommitmentRecord>, QueryError> {
        if point.latest {
            return self.latest_record(id);
        }
        Ok(self
            .state_at(id, point)?
            .map(|state| CommitmentRecord::of(&state)))
    }

    fn actor_record(&self, id: &str) -> Result<Option<ActorRecord>, QueryError> {
        self.decode_at(&Key::new(keys::ACTOR).last(id).into_bytes(), "actor record")
    }

    fn aggregate(&self, group: &Group) -> Result<Aggregate, QueryError> {
        Ok(self
            .decode_at(&aggregate_key(group), "aggregate")?
            .unwrap_or_default())
    }

    /// Commitment ids under `prefix` (the last key component), after `cursor`, in order.
    pub(crate) fn ids_under<'a>(
        &'a self,
        prefix: Vec<u8>,
        cursor: Option<&str>,
    ) -> impl Iterator<Item = Result<String, QueryError>> + 'a {
        let start = match cursor {
            Some(after) => {
                let mut key = prefix.clone();
                key.extend_from_slice(after.as_bytes());
                key.push(0);
                key
            }
            None => prefix.clone(),
        };
        let prefix_len = prefix.len();
        self.tree
            .range(start..)
            .take_while(move |item| item.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix)))
            .map(move |item| {
                let (key, _) = item?;
                keys::last_component(&key, prefix_len)
                    .map(str::to_owned)
                    .ok_or_else(|| corrupt(&key)("id is not text".into()))
            })
    }

    /// Records of a group's commitments at an earlier point, by folding every candidate.
    fn records_at(
        &self,
        group: &Group,
        point: &Point,
    ) -> Result<Vec<CommitmentRecord>, QueryError> {
        let prefix = match group {
            Group::All => Key::new(keys::RECORD).into_bytes(),
            Group::Actor(actor) => Key::new(keys::EVER_OWNED).part(actor).into_bytes(),
            Group::Theme(theme) => Key::new(keys::THEME).part(theme).into_bytes(),
        };
        let mut records = vec![];
        for id in self.ids_under(prefix, None) {
            let Some(record) = self.record_at(&id?, point)? else {
                continue;
            };
            let member = match group {
                Group::Actor(actor) => record.owner == *actor,
                _ => true,
            };
            if member && record.counts() {
                records.push(record);
            }
        }
        Ok(records)
    }

    fn aggregate_at(&self, group: &Group, point: &Point) -> Result<Aggregate, QueryError> {
        if point.latest {
            return self.aggregate(group);
        }
        let mut aggregate = Aggregate::default();
        for record in self.records_at(group, point)? {
            aggregate.add(&record, 1);
        }
        Ok(aggregate)
    }

    // ---- actors ------------------------------------------------------------------------

    /// An actor as registered by `point`.
    pub fn actor(&self, id: &str, point: &Point) -> Result<Option<Actor>, QueryError> {
        let _gate = self.read_gate();
        self.actor_view(id, point)
    }

    fn actor_view(&self, id: &str, point: &Point) -> Result<Option<Actor>, QueryError> {
        Ok(self
            .actor_record(id)?
            .and_then(|record| actor_view(&record, point)))
    }

    /// Registered actors in id order, with their headline figures.
    pub fn actors(
        &self,
        point: &Point,
        kind: Option<proto::ActorKind>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ActorPage, QueryError> {
        let _gate = self.read_gate();
        let prefix = vec![keys::ACTOR];
        let mut items = vec![];
        let mut next_cursor = None;
        for id in self.ids_under(prefix, cursor) {
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
        point: &Point,
        list_limit: usize,
    ) -> Result<Option<Scorecard>, QueryError> {
        let _gate = self.read_gate();
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
        point: &Point,
        list_limit: usize,
    ) -> Result<Option<Scorecard>, QueryError> {
        let _gate = self.read_gate();
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
        point: &Point,
        list_limit: usize,
    ) -> Result<Scorecard, QueryError> {
        let _gate = self.read_gate();
        self.scorecard(&Group::All, Scope::All, point, list_limit)
    }

    fn theme_exists(&self, theme: &str, point: &Point) -> Result<bool, QueryError> {
        let prefix = Key::new(keys::THEME).part(theme).into_bytes();
        for id in self.ids_under(prefix, None) {
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
        point: &Point,
        list_limit: usize,
    ) -> Result<Scorecard, QueryError> {
        let aggregate;
        let overdue;
        let moved;
        if point.latest {
            aggregate = self.aggregate(group)?;
            overdue = self.latest_overdue(group, point.date, list_limit)?;
            moved = self.latest_moved(group, list_limit)?;
        } else {
            let records = self.records_at(group, point)?;
            let mut sum = Aggregate::default();
            records.iter().for_each(|record| sum.add(record, 1));
            aggregate = sum;
            let mut late: Vec<&CommitmentRecord> = records
                .iter()
                .filter(|r| r.status(point.date) == Status::Overdue)
                .collect();
            late.sort_by(|a, b| (a.due_by, &a.id).cmp(&(b.due_by, &b.id)));
            overdue = late
                .into_iter()
                .take(list_limit)
                .map(CommitmentRecord::list_entry)
                .collect();
            moved = records
                .iter()
                .filter(|r| r.goalposts_moved())
                .take(list_limit)
                .map(CommitmentRecord::list_entry)
                .collect();
        }
        let counts = aggregate.counts(point.date);
        Ok(Scorecard {
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
            counts,
        })
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
        self.tree
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
        self.tree
            .scan_prefix(prefix)
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                fact::decode(&value, "list entry").map_err(corrupt(&key))
            })
            .collect()
    }

    // ---- themes and the league table ---------------------------------------------------

    /// Every theme in use: the seed values first, in their order, then free tags A to Z.
    pub fn themes(&self, point: &Point) -> Result<ThemeList, QueryError> {
        let _gate = self.read_gate();
        let aggregates: BTreeMap<String, Aggregate> = if point.latest {
            let prefix = Key::new(keys::AGGREGATE).last("t:").into_bytes();
            let mut found = BTreeMap::new();
            for item in self.tree.scan_prefix(&prefix) {
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
            for record in self.records_at(&Group::All, point)? {
                for group in record.groups() {
                    if let Group::Theme(theme) = group {
                        found.entry(theme).or_default().add(&record, 1);
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
        point: &Point,
        rules: &LeagueRules,
    ) -> Result<LeagueTable, QueryError> {
        let _gate = self.read_gate();
        let aggregates: BTreeMap<String, Aggregate> = if point.latest {
            let prefix = Key::new(keys::AGGREGATE).last("a:").into_bytes();
            let mut found = BTreeMap::new();
            for item in self.tree.scan_prefix(&prefix) {
                let (key, value) = item?;
                let actor = keys::last_component(&key, prefix.len())
                    .ok_or_else(|| corrupt(&key)("actor is not text".into()))?;
                found.insert(
                    actor.to_owned(),
                    fact::decode(&value, "aggregate").map_err(corrupt(&key))?,
                );
            }
            found
        } else {
            let mut found: BTreeMap<String, Aggregate> = BTreeMap::new();
            for record in self.records_at(&Group::All, point)? {
                found
                    .entry(record.owner.clone())
                    .or_default()
                    .add(&record, 1);
            }
            found
        };
        let mut rows = vec![];
        let mut unranked = 0;
        for (actor_id, aggregate) in aggregates {
            let Some(actor) = self.actor_view(&actor_id, point)? else {
                continue;
            };
            if rules.kind.is_some_and(|kind| kind != actor.kind) {
                continue;
            }
            let counts = aggregate.counts(point.date);
            match counts.delivery_rate() {
                Some(rate) if counts.resolved() >= i64::from(rules.min_resolved) => {
                    rows.push(league_row(actor, &counts, rate))
                }
                _ => unranked += 1,
            }
        }
        rows.sort_by(|a, b| {
            b.delivery_rate
                .total_cmp(&a.delivery_rate)
                .then(b.resolved.cmp(&a.resolved))
                .then(a.actor.cmp(&b.actor))
        });
        for (index, row) in rows.iter_mut().enumerate() {
            row.rank = index as u32 + 1;
        }
        Ok(LeagueTable {
            as_of: point.info(),
            min_resolved: rules.min_resolved,
            kind: rules.kind,
            rows,
            unranked,
        })
    }

    // ---- commitments -------------------------------------------------------------------

    /// Commitments matching `filter`, in id order, at most `limit`, after `cursor` (the last
    /// id of the previous page). Ids never change and sort the same way at every point, so a
    /// cursor stays valid while the log grows.
    pub fn commitments(
        &self,
        point: &Point,
        filter: &CommitmentFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<CommitmentPage, QueryError> {
        let _gate = self.read_gate();
        let Some(prefix) = self.candidates(point, filter)? else {
            return Ok(CommitmentPage {
                as_of: point.info(),
                items: vec![],
                next_cursor: None,
            });
        };
        let mut items: Vec<CommitmentSummary> = vec![];
        let mut next_cursor = None;
        for id in self.ids_under(prefix, cursor) {
            let Some(record) = self.record_at(&id?, point)? else {
                continue;
            };
            if !filter.accepts(&record, point.date) {
                continue;
            }
            if items.len() == limit {
                next_cursor = items.last().map(|item| item.id.clone());
                break;
            }
            items.push(summary(&record, point.date));
        }
        Ok(CommitmentPage {
            as_of: point.info(),
            items,
            next_cursor,
        })
    }

    /// The index whose ids are a superset of the answer, the narrowest one available; `None`
    /// when a search word is in no commitment at all.
    fn candidates(
        &self,
        point: &Point,
        filter: &CommitmentFilter,
    ) -> Result<Option<Vec<u8>>, QueryError> {
        if !filter.words.is_empty() {
            let mut rarest: Option<(u64, &String)> = None;
            for word in &filter.words {
                let count_key = Key::new(keys::WORD_COUNT).last(word).into_bytes();
                let count = read_u64(self.tree.get(&count_key)?.as_deref());
                if count == 0 {
                    return Ok(None);
                }
                if rarest.is_none_or(|(least, _)| count < least) {
                    rarest = Some((count, word));
                }
            }
            if let Some((_, word)) = rarest {
                return Ok(Some(Key::new(keys::WORD).part(word).into_bytes()));
            }
        }
        let retracted_wanted = filter.status == Some(Status::Retracted);
        if let Some(actor) = &filter.actor {
            let tag = if point.latest && !retracted_wanted {
                keys::OWNER
            } else {
                keys::EVER_OWNED
            };
            return Ok(Some(Key::new(tag).part(actor).into_bytes()));
        }
        if point.latest
            && let Some(status) = filter.status
        {
            let name = if status == Status::Overdue {
                "open"
            } else {
                status.as_str()
            };
            return Ok(Some(Key::new(keys::STATUS).part(name).into_bytes()));
        }
        if let Some(theme) = &filter.theme {
            return Ok(Some(Key::new(keys::THEME).part(theme).into_bytes()));
        }
        Ok(Some(Key::new(keys::RECORD).into_bytes()))
    }

    /// One commitment with its history; `None` when it had not been made by `point`.
    pub fn commitment(
        &self,
        id: &str,
        point: &Point,
    ) -> Result<Option<CommitmentDetail>, QueryError> {
        let _gate = self.read_gate();
        let facts = self.facts(id)?;
        let corrupt_fact = |problem| QueryError::Corrupt {
            key: id.to_owned(),
            problem,
        };
        let Some(state) = state::fold(&facts, point.cut()).map_err(corrupt_fact)? else {
            return Ok(None);
        };
        let history = history(&facts, point, id).map_err(corrupt_fact)?;
        Ok(Some(detail(&state, point, history)))
    }

    /// Every event about a commitment up to `point`, oldest first.
    pub fn history(
        &self,
        id: &str,
        point: &Point,
    ) -> Result<Option<CommitmentHistory>, QueryError> {
        let _gate = self.read_gate();
        let facts = self.facts(id)?;
        let made = state::fold(&facts, point.cut()).map_err(|problem| QueryError::Corrupt {
            key: id.to_owned(),
            problem,
        })?;
        if made.is_none() {
            return Ok(None);
        }
        let events = history(&facts, point, id).map_err(|problem| QueryError::Corrupt {
            key: id.to_owned(),
            problem,
        })?;
        Ok(Some(CommitmentHistory {
            as_of: point.info(),
            id: id.to_owned(),
            events,
        }))
    }

    // ---- feeds -------------------------------------------------------------------------

    /// New commitments, amendments, outcomes, withdrawals and newly overdue commitments of an
    /// actor or a theme, newest first, at most `limit`. `None` when the actor or theme is
    /// unknown at `point`.
    pub fn feed(
        &self,
        scope: &FeedScope,
        point: &Point,
        limit: usize,
    ) -> Result<Option<Feed>, QueryError> {
        let _gate = self.read_gate();
        let (group, scope_view, title) = match scope {
            FeedScope::Actor(id) => {
                let Some(actor) = self.actor_view(id, point)? else {
                    return Ok(None);
                };
                (
                    Group::Actor(id.clone()),
                    Scope::Actor(id.clone()),
                    format!("{}: promised and done", actor.name),
                )
            }
            FeedScope::Theme(theme) => {
                if !self.theme_exists(theme, point)? {
                    return Ok(None);
                }
                (
                    Group::Theme(theme.clone()),
                    Scope::Theme(theme.clone()),
                    format!("Theme {theme}: promised and done"),
                )
            }
        };
        let mut entries = self.event_entries(&group, point, limit)?;
        entries.extend(self.overdue_entries(&group, point, limit)?);
        entries.sort_by(|a, b| b.updated_ns.cmp(&a.updated_ns).then(b.id.cmp(&a.id)));
        entries.truncate(limit);
        Ok(Some(Feed {
            scope: scope_view,
            title,
            as_of: point.info(),
            entries,
        }))
    }

    fn event_entries(
        &self,
        group: &Group,
        point: &Point,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, QueryError> {
        let prefix = Key::new(keys::FEED).part(&group.key()).into_bytes();
        let end = Key::new(keys::FEED)
            .part(&group.key())
            .seq(point.size)
            .into_bytes();
        let mut entries = vec![];
        let mut retractions: HashMap<String, HashMap<String, RetractedBy>> = HashMap::new();
        for item in self.tree.range(prefix.clone()..end).rev() {
            if entries.len() == limit {
                break;
            }
            let (key, _) = item?;
            let seq = keys::read_seq(&key[prefix.len()..])
                .ok_or_else(|| corrupt(&key)("no sequence number".into()))?;
            let id = keys::last_component(&key, prefix.len() + 8)
                .ok_or_else(|| corrupt(&key)("id is not text".into()))?
                .to_owned();
            let facts = self.facts(&id)?;
            if !retractions.contains_key(&id) {
                let found = state::retractions(&facts, point.size).map_err(corrupt(&key))?;
                retractions.insert(id.clone(), found);
            }
            let Some(fact) = facts.iter().find(|fact| fact.seq == seq) else {
                continue;
            };
            if retractions[&id].contains_key(&fact.event_id) {
                continue;
            }
            let happened_on = state::happened_on(fact, &fact.kind().map_err(corrupt(&key))?);
            if point.world.is_some_and(|world| happened_on > world) {
                continue;
            }
            let Some(state) = state::fold(&facts, point.cut()).map_err(corrupt(&key))? else {
                continue;
            };
            if let Some(entry) = feed_entry(fact, &state).map_err(corrupt(&key))? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    fn overdue_entries(
        &self,
        group: &Group,
        point: &Point,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, QueryError> {
        let records = if point.latest {
            let prefix = Key::new(keys::DUE).part(&group.key()).into_bytes();
            let end = Key::new(keys::DUE)
                .part(&group.key())
                .date(point.date)
                .into_bytes();
            let mut records = vec![];
            for item in self.tree.range(prefix.clone()..end).rev().take(limit) {
                let (key, _) = item?;
                let id = keys::last_component(&key, prefix.len() + 4)
                    .ok_or_else(|| corrupt(&key)("id is not text".into()))?;
                records.extend(self.latest_record(id)?);
            }
            records
        } else {
            self.records_at(group, point)?
                .into_iter()
                .filter(|r| r.status(point.date) == Status::Overdue)
                .collect()
        };
        Ok(records
            .iter()
            .filter_map(|record| {
                let due = record.due_by?;
                let overdue_from_ns = (i64::from(due.days()) + 1) as u64 * 86_400_000_000_000;
                Some(FeedEntry {
                    id: format!("urn:covenant:overdue:{}:{due}", record.id),
                    kind: FeedKind::Overdue,
                    commitment_id: record.id.clone(),
                    title: format!("Overdue: {}", record.title),
                    summary: format!("{} was due by {due} and has no reported outcome", record.id),
                    published: Date(due.days() + 1).to_string(),
                    updated: rfc3339(overdue_from_ns),
                    updated_ns: overdue_from_ns,
                    seq: None,
                    event_id: None,
                })
            })
            .collect())
    }
}

fn actor_view(record: &ActorRecord, point: &Point) -> Option<Actor> {
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

/// The schema enum value numbered `number`, as a message's field holds it; unspecified for a
/// number the schema does not know.
fn schema<T: SchemaName + Default>(number: i32) -> T {
    T::try_from(number).unwrap_or_default()
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

fn saturate(value: i128) -> i64 {
    value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn money_totals(money: &BTreeMap<String, [i128; 3]>) -> Vec<MoneyTotals> {
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

fn flags(record: &CommitmentRecord) -> CommitmentFlags {
    CommitmentFlags {
        amendments: record.amendments,
        target_moves: record.target_moves,
        deadline_moves: record.deadline_moves,
        goalposts_moved: record.goalposts_moved(),
        disputed: record.disputed,
        succeeded: record.successions > 0,
    }
}

fn summary(record: &CommitmentRecord, date: Date) -> CommitmentSummary {
    CommitmentSummary {
        id: record.id.clone(),
        title: record.title.clone(),
        owner: record.owner.clone(),
        maker: record.maker.clone(),
        themes: record.themes.clone(),
        made_on: record.made_on.to_string(),
        due_by: record.due_by.map(|d| d.to_string()),
        status: record.status(date),
        days_overdue: record.days_overdue(date),
        outcome_on: record.outcome_on.map(|d| d.to_string()),
        flags: flags(record),
        delivery_partners: record.delivery_partners.clone(),
        text: record.text.clone(),
        original_title: record.original_title.clone(),
        original_text: record.original_text.clone(),
        original_due_by: record.original_due_by.map(|d| d.to_string()),
        target_value: record.target_value,
        original_target_value: record.original_target_value,
        target_period: optional(&record.target_period),
        original_target_period: optional(&record.original_target_period),
        targets: record.targets.clone(),
        original_targets: record.original_targets.clone(),
    }
}

fn overdue_item(record: &ListEntry, date: Date) -> OverdueItem {
    OverdueItem {
        id: record.id.clone(),
        title: record.title.clone(),
        due_by: record.due_by.map(|d| d.to_string()).unwrap_or_default(),
        days_overdue: record.days_overdue(date).unwrap_or(0),
        progress: record.base,
    }
}

fn goalpost_item(record: &ListEntry) -> GoalpostItem {
    let period = |text: &String| (!text.is_empty()).then(|| text.clone());
    GoalpostItem {
        id: record.id.clone(),
        title: record.title.clone(),
        original_due_by: record.original_due_by.map(|d| d.to_string()),
        current_due_by: record.due_by.map(|d| d.to_string()),
        original_target_value: record.original_target_value,
        current_target_value: record.target_value,
        original_target_period: period(&record.original_target_period),
        current_target_period: period(&record.target_period),
        target_moves: record.target_moves,
        deadline_moves: record.deadline_moves,
        original_targets: record.original_targets.clone(),
        current_targets: record.targets.clone(),
    }
}

fn optional(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

fn terms(terms: &state::Terms, state: &CommitmentState) -> Terms {
    Terms {
        title: terms.title.clone(),
        text: terms.text.clone(),
        due_by: terms.due_by.map(|d| d.to_string()),
        target_value: terms.target_value,
        target_period: optional(&terms.target_period),
        scope: optional(&terms.scope),
        indicators: terms
            .indicators
            .iter()
            .map(|indicator| indicator_target(indicator, state))
            .collect(),
    }
}

fn indicator_target(indicator: &state::IndicatorTerms, state: &CommitmentState) -> IndicatorTarget {
    let latest = state.latest_measurement(&indicator.id);
    IndicatorTarget {
        indicator_id: indicator.id.clone(),
        measure: indicator.measure.clone(),
        unit: indicator.unit.clone(),
        comparator: indicator.comparator,
        target_value: indicator.target_value,
        target_upper: indicator.target_upper,
        target_period: optional(&indicator.target_period),
        deadline: indicator.deadline.map(|d| d.to_string()),
        baseline_value: indicator.baseline_value,
        baseline_date: indicator.baseline_date.map(|d| d.to_string()),
        latest_value: latest.map(|measured| measured.value),
        latest_measured_on: latest.map(|measured| measured.measured_on.to_string()),
        met: latest.is_some_and(|measured| indicator.met_by(measured.value)),
    }
}

fn links(links: &[proto::Link]) -> Vec<Link> {
    links
        .iter()
        .map(|link| Link {
            title: link.title.clone(),
            url: link.url.clone(),
            kind: (link.kind != 0).then(|| schema(link.kind)),
        })
        .collect()
}

fn source(source: &proto::Source) -> Source {
    Source {
        kind: schema(source.kind),
        title: source.title.clone(),
        url: source.url.clone(),
    }
}

fn retraction_view(by: &RetractedBy) -> RetractionView {
    RetractionView {
        seq: by.seq,
        event_id: by.event_id.clone(),
        reason: by.reason.clone(),
    }
}

fn detail(state: &CommitmentState, point: &Point, history: Vec<HistoryEvent>) -> CommitmentDetail {
    let record = CommitmentRecord::of(state);
    let made = &state.made;
    CommitmentDetail {
        as_of: point.info(),
        id: state.id.clone(),
        status: record.status(point.date),
        days_overdue: record.days_overdue(point.date),
        owner: state.owner.clone(),
        maker: state.maker.clone(),
        made_on: state.made_on.to_string(),
        themes: made.themes.clone(),
        partners: made.partners.clone(),
        delivery_partners: state.delivery_partners.clone(),
        source: made.source.as_ref().map(source),
        sources: made.sources.iter().map(source).collect(),
        evidence: links(&made.evidence),
        recorded_on: state.made_fact.recorded_on().to_string(),
        backfilled: state.made_fact.backfilled(),
        adoption: state.adoption.as_ref().map(|(fact, adopted)| AdoptionView {
            seq: fact.seq,
            event_id: fact.event_id.clone(),
            adopted_by: fact.actor.clone(),
            adopted_on: adopted.adopted_on.clone(),
            note: optional(&adopted.note),
        }),
        claimed_status: state.claimed_status(),
        indicator: made.indicator.as_ref().map(|indicator| Indicator {
            measure: indicator.measure.clone(),
            unit: indicator.unit.clone(),
            higher_is_better: indicator.higher_is_better,
            baseline_value: indicator.baseline_value,
            baseline_date: Date::parse(&indicator.baseline_date).map(|d| d.to_string()),
        }),
        original: terms(&state.original, state),
        current: terms(&state.current, state),
        flags: flags(&record),
        succession: (!state.successions.is_empty()).then(|| Succession {
            original_owner: state.maker.clone(),
            current_owner: state.owner.clone(),
            steps: state
                .successions
                .iter()
                .map(|(fact, succession)| SuccessionStep {
                    seq: fact.seq,
                    event_id: fact.event_id.clone(),
                    predecessor: succession.predecessor_id.clone(),
                    successor: succession.successor_id.clone(),
                    kind: schema(succession.kind),
                    effective_on: succession.effective_on.clone(),
                })
                .collect(),
        }),
        outcome: state.outcome.as_ref().map(|outcome| OutcomeView {
            seq: outcome.fact.seq,
            event_id: outcome.fact.event_id.clone(),
            verdict: schema(outcome.outcome.verdict),
            reported_on: outcome.reported_on.to_string(),
            indicator_actual: outcome.outcome.indicator_actual,
            actual_period: Some(outcome.outcome.actual_period.clone()).filter(|p| !p.is_empty()),
            summary: outcome.outcome.summary.clone(),
            lessons: outcome.outcome.lessons.clone(),
            evidence: links(&outcome.outcome.evidence),
        }),
        assessments: state
            .latest_assessments()
            .into_iter()
            .map(|assessment| AssessmentView {
                seq: assessment.fact.seq,
                event_id: assessment.fact.event_id.clone(),
                assessor: assessment.fact.actor.clone(),
                stance: schema(assessment.assessment.stance),
                assessed_verdict: (assessment.assessment.assessed_verdict != 0)
                    .then(|| schema(assessment.assessment.assessed_verdict)),
                summary: assessment.assessment.summary.clone(),
                evidence: links(&assessment.assessment.evidence),
            })
            .collect(),
        withdrawal: state
            .withdrawal
            .as_ref()
            .map(|(fact, withdrawn)| WithdrawalView {
                seq: fact.seq,
                event_id: fact.event_id.clone(),
                reason: withdrawn.reason.clone(),
            }),
        actions: state.actions.len() as u32,
        money: money_totals(&record.money.iter().fold(
            BTreeMap::new(),
            |mut totals, (currency, stage, amount)| {
                let entry: &mut [i128; 3] = totals.entry(currency.clone()).or_default();
                entry[stage.index()] += amount;
                totals
            },
        )),
        retracted: state.retracted.as_ref().map(retraction_view),
        history,
    }
}

/// The history of a commitment up to `point`: every fact, with what retracted it.
fn history(
    facts: &[Fact],
    point: &Point,
    commitment_id: &str,
) -> Result<Vec<HistoryEvent>, String> {
    let retracted = state::retractions(facts, point.size)?;
    let cut = point.cut();
    let mut events = vec![];
    let mut latest_outcome: Option<String> = None;
    for fact in facts.iter().filter(|fact| fact.seq < point.size) {
        let kind = fact.kind()?;
        let happened_on = state::happened_on(fact, &kind);
        if cut.world.is_some_and(|world| happened_on > world)
            && !matches!(kind, Kind::Retraction(_))
        {
            continue;
        }
        // The values an amendment replaced, as the log stood just before it.
        let before = match &kind {
            Kind::CommitmentAmended(_) => state::fold(facts, state::Cut::recorded(fact.seq + 1))?
                .and_then(|state| state.amendments.last().map(|a| a.before.clone())),
            _ => None,
        };
        let (summary, mut detail) = describe(fact, &kind, before.as_deref(), commitment_id);
        match &kind {
            Kind::OutcomeReported(_) if !retracted.contains_key(&fact.event_id) => {
                latest_outcome = Some(fact.event_id.clone());
            }
            // An assessment that named no outcome assessed the latest one when it was recorded.
            Kind::AssessmentPublished(_) if detail.outcome_event_id.is_none() => {
                detail.outcome_event_id = latest_outcome.clone();
            }
            _ => {}
        }
        let recorded_on = Date::from_unix_ms((fact.stored_at_ns / 1_000_000) as i64);
        events.push(HistoryEvent {
            seq: fact.seq,
            event_id: fact.event_id.clone(),
            kind: kind.event_kind(),
            actor: fact.actor.clone(),
            stored_at: rfc3339(fact.stored_at_ns),
            occurred_at: rfc3339(fact.occurred_at_ms.max(0) as u64 * 1_000_000),
            happened_on: happened_on.to_string(),
            backfilled: recorded_on.days() - happened_on.days() >= state::BACKFILL_DAYS,
            entry_hash: hex::encode(fact.entry_hash),
            summary,
            retracted_by: retracted.get(&fact.event_id).map(retraction_view),
            detail,
            proof: ProofLinks {
                inclusion: format!("/v1/proof/inclusion?seq={}", fact.seq),
                bundle: format!("/v1/proof/bundle/{}", fact.event_id),
            },
        });
    }
    Ok(events)
}

/// A line for people and the fields that matter, for one event.
fn describe(
    fact: &Fact,
    kind: &Kind,
    before: Option<&[Option<String>]>,
    commitment_id: &str,
) -> (String, EventDetail) {
    let date = |text: &str| Date::parse(text).map(|d| d.to_string());
    match kind {
        Kind::CommitmentMade(made) => (
            format!("{} made the commitment: {}", fact.actor, made.title),
            EventDetail {
                title: Some(made.title.clone()),
                text: Some(made.text.clone()),
                made_on: date(&made.made_on),
                due_by: date(&made.due_by),
                ..EventDetail::default()
            },
        ),
        Kind::CommitmentAmended(amended) => {
            let changes: Vec<FieldChange> = amended
                .changes
                .iter()
                .enumerate()
                .map(|(index, change)| FieldChange {
                    field: state::amended_field(change),
                    old_value: before.and_then(|values| values.get(index).cloned().flatten()),
                    new_value: change.new_value.clone(),
                })
                .collect();
            let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
            (
                format!("{} amended {}", fact.actor, fields.join(", ")),
                EventDetail {
                    class: Some(schema(amended.class)),
                    changes,
                    rationale: Some(amended.rationale.clone()),
                    ..EventDetail::default()
                },
            )
        }
        Kind::CommitmentWithdrawn(withdrawn) => (
            format!("{} withdrew the commitment", fact.actor),
            EventDetail {
                reason: Some(withdrawn.reason.clone()),
                ..EventDetail::default()
            },
        ),
        Kind::ActionRecorded(action) => {
            let money = action.money.as_ref().and_then(|money| {
                let (_, stage, share): (String, crate::MoneyStage, i64) =
                    state::money_share(action, commitment_id)?;
                Some(MoneyView {
                    amount_minor: money.amount_minor,
                    currency: money.currency.clone(),
                    stage,
                    share_minor: share,
                })
            });
            (
                format!("{} recorded an action: {}", fact.actor, action.description),
                EventDetail {
                    action_id: Some(action.action_id.clone()),
                    action_type: Some(schema(action.r#type)),
                    taken_on: date(&action.taken_on),
                    description: Some(action.description.clone()),
                    money,
                    commitment_ids: action.commitment_ids.clone(),
                    evidence: links(&action.evidence),
                    ..EventDetail::default()
                },
            )
        }
        Kind::OutcomeReported(outcome) => (
            format!(
                "{} reported the outcome: {}",
                fact.actor,
                proto::Verdict::name_of(outcome.verdict).replace('_', " ")
            ),
            EventDetail {
                verdict: Some(schema(outcome.verdict)),
                reported_on: date(&outcome.reported_on),
                indicator_actual: outcome.indicator_actual,
                summary: Some(outcome.summary.clone()),
                lessons: Some(outcome.lessons.clone()),
                evidence: links(&outcome.evidence),
                ..EventDetail::default()
            },
        ),
        Kind::AssessmentPublished(assessment) => (
            format!(
                "{} {} the outcome",
                fact.actor,
                proto::Stance::name_of(assessment.stance).replace("agrees", "agrees with")
            ),
            EventDetail {
                outcome_event_id: optional(&assessment.outcome_event_id),
                verdict: (assessment.assessed_verdict != 0)
                    .then(|| schema(assessment.assessed_verdict)),
                stance: Some(schema(assessment.stance)),
                summary: Some(assessment.summary.clone()),
                evidence: links(&assessment.evidence),
                ..EventDetail::default()
            },
        ),
        Kind::ActorSucceeded(succession) => (
            format!(
                "the commitment passed from {} to {}",
                succession.predecessor_id, succession.successor_id
            ),
            EventDetail {
                predecessor: Some(succession.predecessor_id.clone()),
                successor: Some(succession.successor_id.clone()),
                effective_on: date(&succession.effective_on),
                reason: Some(succession.note.clone()).filter(|n| !n.is_empty()),
                ..EventDetail::default()
            },
        ),
        Kind::CommitmentAdopted(adopted) => (
            format!("{} adopted the pledge", fact.actor),
            EventDetail {
                effective_on: date(&adopted.adopted_on),
                reason: optional(&adopted.note),
                ..EventDetail::default()
            },
        ),
        Kind::Retraction(retraction) => (
            format!("{} retracted event {}", fact.actor, retraction.event_id),
            EventDetail {
                retracts: Some(retraction.event_id.clone()),
                reason: Some(retraction.reason.clone()),
                ..EventDetail::default()
            },
        ),
        other => (
            covenant_core::event::kind_name(other).replace('_', " "),
            EventDetail::default(),
        ),
    }
}

fn feed_entry(fact: &Fact, state: &CommitmentState) -> Result<Option<FeedEntry>, String> {
    let title = &state.current.title;
    let (kind, heading, summary) = match fact.kind()? {
        Kind::CommitmentMade(made) => (
            FeedKind::NewCommitment,
            format!("New commitment: {}", made.title),
            made.text,
        ),
        Kind::CommitmentAmended(amended) => (
            FeedKind::Amended,
            format!("Amended: {title}"),
            amended.rationale,
        ),
        Kind::CommitmentWithdrawn(withdrawn) => (
            FeedKind::Withdrawn,
            format!("Withdrawn: {title}"),
            withdrawn.reason,
        ),
        Kind::OutcomeReported(outcome) => (
            FeedKind::Outcome,
            format!(
                "Outcome ({}): {title}",
                proto::Verdict::name_of(outcome.verdict).replace('_', " ")
            ),
            outcome.summary,
        ),
        _ => return Ok(None),
    };
    Ok(Some(FeedEntry {
        id: format!("urn:covenant:event:{}", fact.event_id),
        kind,
        commitment_id: state.id.clone(),
        title: heading,
        summary,
        published: state::happened_on(fact, &fact.kind()?).to_string(),
        updated: rfc3339(fact.stored_at_ns),
        updated_ns: fact.stored_at_ns,
        seq: Some(fact.seq),
        event_id: Some(fact.event_id.clone()),
    }))
}

/// RFC 3339 UTC text of a Unix time in nanoseconds, to the second.
pub fn rfc3339(ns: u64) -> String {
    let seconds = ns / 1_000_000_000;
    let day = Date((seconds / 86_400) as i32);
    let in_day = seconds % 86_400;
    format!(
        "{day}T{:02}:{:02}:{:02}Z",
        in_day / 3_600,
        in_day / 60 % 60,
        in_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339_utc_to_the_second() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_603_600_123_456_789), "2026-01-05T09:00:00Z");
    }

    #[test]
    fn flags_parse_by_name() {
        for name in Flag::NAMES {
            assert!(Flag::parse(name).is_some(), "{name}");
        }
        assert_eq!(Flag::parse("shiny"), None);
    }
}
