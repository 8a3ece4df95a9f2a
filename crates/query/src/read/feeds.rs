//! Feeds: the events and overdue commitments of an actor, a theme or the whole log, newest first.

use super::{FeedScope, rfc3339};
use crate::QueryError;
use crate::apply::corrupt;
use crate::fact::Fact;
use crate::keys::{self, Key};
use crate::projections::{Projections, ResolvedAsOf};
use crate::record::Group;
use crate::state::{self, CommitmentState, RetractedBy, Status};
use crate::view::*;
use covenant_core::event::Date;
use covenant_core::proto::{self, event_body::Kind};
use std::collections::HashMap;

impl Projections {
    /// New commitments, amendments, outcomes, withdrawals and newly overdue commitments of an
    /// actor or a theme, newest first, at most `limit`. `None` when the actor or theme is
    /// unknown at `point`.
    pub fn feed(
        &self,
        scope: &FeedScope,
        point: &ResolvedAsOf,
        limit: usize,
    ) -> Result<Option<Feed>, QueryError> {
        let _gate = self.read_gate()?;
        let (group, scope_view, name) = match scope {
            FeedScope::Actor(id) => {
                let Some(actor) = self.actor_view(id, point)? else {
                    return Ok(None);
                };
                (
                    Group::Actor(id.clone()),
                    Scope::Actor(id.clone()),
                    actor.name,
                )
            }
            FeedScope::Theme(theme) => {
                if !self.theme_exists(theme, point)? {
                    return Ok(None);
                }
                (
                    Group::Theme(theme.clone()),
                    Scope::Theme(theme.clone()),
                    theme.clone(),
                )
            }
        };
        let mut entries = self.event_entries(&group, point, limit)?;
        entries.extend(self.overdue_entries(&group, point, limit)?);
        entries.sort_by(|a, b| {
            (b.updated_ns, &b.source, &b.commitment_id).cmp(&(
                a.updated_ns,
                &a.source,
                &a.commitment_id,
            ))
        });
        entries.truncate(limit);
        Ok(Some(Feed {
            scope: scope_view,
            name,
            as_of: point.info(),
            entries,
        }))
    }

    fn event_entries(
        &self,
        group: &Group,
        point: &ResolvedAsOf,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, QueryError> {
        // Runs that began before the point, newest first; the newest may reach past it.
        let runs = keys::feed_runs(&group.key())..keys::feed_run(&group.key(), point.size);
        let mut entries = vec![];
        let mut retractions: HashMap<String, HashMap<String, RetractedBy>> = HashMap::new();
        'runs: for run in self.tree()?.range(runs).rev() {
            let (key, value) = run?;
            let items: keys::FeedRun =
                crate::fact::decode(&value, "feed run").map_err(corrupt(&key))?;
            for (seq, id) in items.into_iter().rev() {
                if entries.len() == limit {
                    break 'runs;
                }
                if seq >= point.size {
                    continue;
                }
                if let Some(entry) = self.feed_item(seq, &id, point, &key, &mut retractions)? {
                    entries.push(entry);
                }
            }
        }
        Ok(entries)
    }

    /// The feed entry of the event at `seq` on commitment `id`, unless it was retracted or had
    /// not happened by `point`; `run_key` names the run in errors.
    fn feed_item(
        &self,
        seq: u64,
        id: &str,
        point: &ResolvedAsOf,
        run_key: &[u8],
        retractions: &mut HashMap<String, HashMap<String, RetractedBy>>,
    ) -> Result<Option<FeedEntry>, QueryError> {
        let facts = self.facts(id)?;
        if !retractions.contains_key(id) {
            let found = state::retractions(&facts, point.size).map_err(corrupt(run_key))?;
            retractions.insert(id.to_owned(), found);
        }
        let Some(fact) = facts.iter().find(|fact| fact.seq == seq) else {
            return Ok(None);
        };
        if retractions[id].contains_key(&fact.event_id) {
            return Ok(None);
        }
        let happened_on = state::happened_on(fact, &fact.kind().map_err(corrupt(run_key))?);
        if point.world.is_some_and(|world| happened_on > world) {
            return Ok(None);
        }
        let Some(state) = state::fold(&facts, point.cut()).map_err(corrupt(run_key))? else {
            return Ok(None);
        };
        feed_entry(fact, &state).map_err(corrupt(run_key))
    }

    fn overdue_entries(
        &self,
        group: &Group,
        point: &ResolvedAsOf,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, QueryError> {
        let records = if point.latest {
            let prefix = Key::new(keys::DUE).part(&group.key()).into_bytes();
            let end = Key::new(keys::DUE)
                .part(&group.key())
                .date(point.date)
                .into_bytes();
            let mut records = vec![];
            for item in self.tree()?.range(prefix.clone()..end).rev().take(limit) {
                let (key, _) = item?;
                let id = keys::last_component(&key, prefix.len() + 4)
                    .ok_or_else(|| corrupt(&key)("id is not text".into()))?;
                records.extend(self.latest_record(id)?);
            }
            records
        } else {
            self.records_at(group, point)?
                .iter()
                .filter(|r| r.status(point.date) == Status::Overdue)
                .cloned()
                .collect()
        };
        Ok(records
            .iter()
            .filter_map(|record| {
                let due = record.due_by?;
                let overdue_from_ns = (i64::from(due.days()) + 1) as u64 * 86_400_000_000_000;
                Some(FeedEntry {
                    kind: FeedKind::Overdue,
                    source: FeedSource::Overdue { due_by: due },
                    commitment_id: record.id.clone(),
                    commitment_title: record.title.clone(),
                    text: String::new(),
                    verdict: None,
                    published: Date(due.days() + 1).to_string(),
                    updated: rfc3339(overdue_from_ns),
                    updated_ns: overdue_from_ns,
                })
            })
            .collect())
    }
}

fn feed_entry(fact: &Fact, state: &CommitmentState) -> Result<Option<FeedEntry>, String> {
    let title = state.current.title.clone();
    let (kind, commitment_title, text, verdict) = match fact.kind()? {
        Kind::CommitmentMade(made) => (FeedKind::NewCommitment, made.title, made.text, None),
        Kind::CommitmentAmended(amended) => (FeedKind::Amended, title, amended.rationale, None),
        Kind::CommitmentWithdrawn(withdrawn) => {
            (FeedKind::Withdrawn, title, withdrawn.reason, None)
        }
        Kind::OutcomeReported(outcome) => (
            FeedKind::Outcome,
            title,
            outcome.summary,
            proto::Verdict::try_from(outcome.verdict).ok(),
        ),
        _ => return Ok(None),
    };
    Ok(Some(FeedEntry {
        kind,
        source: FeedSource::Event {
            event_id: fact.event_id.clone(),
            seq: fact.seq,
        },
        commitment_id: state.id.clone(),
        commitment_title,
        text,
        verdict,
        published: state::happened_on(fact, &fact.kind()?).to_string(),
        updated: rfc3339(fact.stored_at_ns),
        updated_ns: fact.stored_at_ns,
    }))
}
