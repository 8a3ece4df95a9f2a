//! Commitments: lists under a filter, one commitment in detail, and its history in words.

use super::actors::money_totals;
use super::{CommitmentFilter, optional, rfc3339, schema};
use crate::QueryError;
use crate::apply::{corrupt, read_u64};
use crate::fact::Fact;
use crate::keys::{self, Key};
use crate::projections::{Projections, ResolvedAsOf};
use crate::record::{CommitmentRecord, ListEntry};
use crate::state::{self, CommitmentState, RetractedBy, Status};
use crate::view::*;
use covenant_core::event::Date;
use covenant_core::proto::{self, event_body::Kind};
use std::collections::{BTreeMap, BTreeSet};

/// Where a list's candidate commitments come from.
enum Candidates {
    /// The ids under an index prefix, read from the tree in order.
    Under(Vec<u8>),
    /// The ids under either of two index prefixes, merged in order.
    UnderEither(Vec<u8>, Vec<u8>),
    /// A search word's commitments, gathered in memory.
    Listed(BTreeSet<String>),
}

impl Projections {
    /// Commitments matching `filter`, in id order, at most `limit`, after `cursor` (the last
    /// id of the previous page). Ids never change and sort the same way at every point, so a
    /// cursor stays valid while the log grows.
    pub fn commitments(
        &self,
        point: &ResolvedAsOf,
        filter: &CommitmentFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<CommitmentPage, QueryError> {
        let _gate = self.read_gate()?;
        let ids: Box<dyn Iterator<Item = Result<String, QueryError>>> =
            match self.candidates(point, filter)? {
                Candidates::Under(prefix) => Box::new(self.ids_under(prefix, cursor)?),
                Candidates::UnderEither(first, second) => Box::new(merge_ids(
                    self.ids_under(first, cursor)?,
                    self.ids_under(second, cursor)?,
                )),
                Candidates::Listed(mut ids) => {
                    if let Some(after) = cursor {
                        ids = ids.split_off(after);
                        ids.remove(after);
                    }
                    Box::new(ids.into_iter().map(Ok))
                }
            };
        let mut items: Vec<CommitmentSummary> = vec![];
        let mut next_cursor = None;
        for id in ids {
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

    /// The first `limit` commitments of an index keyed by a date, latest first, then an id
    /// (the outcome and dispute indexes), as they stand at the latest point.
    pub(super) fn latest_under(
        &self,
        tag: u8,
        date: Date,
        limit: usize,
    ) -> Result<Vec<CommitmentSummary>, QueryError> {
        let prefix = Key::new(tag).into_bytes();
        let mut items = Vec::with_capacity(limit);
        for item in self.tree()?.scan_prefix(&prefix).take(limit) {
            let (key, _) = item?;
            let id = keys::last_component(&key, prefix.len() + 4)
                .ok_or_else(|| corrupt(&key)("id is not text".into()))?;
            items.extend(self.latest_record(id)?.map(|r| summary(&r, date)));
        }
        Ok(items)
    }

    /// The commitments named, as lists show them, in the order given; those unknown at
    /// `point` are left out.
    pub fn commitment_summaries<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
        point: &ResolvedAsOf,
    ) -> Result<Vec<CommitmentSummary>, QueryError> {
        let _gate = self.read_gate()?;
        let mut items = vec![];
        for id in ids {
            items.extend(self.record_at(id, point)?.map(|r| summary(&r, point.date)));
        }
        Ok(items)
    }

    /// Ids that are a superset of the answer, from the narrowest index available: the
    /// rarest search word's commitments (none when a word is in no commitment at all), or an
    /// index read in order.
    fn candidates(
        &self,
        point: &ResolvedAsOf,
        filter: &CommitmentFilter,
    ) -> Result<Candidates, QueryError> {
        if !filter.words.is_empty() {
            let mut rarest: Option<(u64, &String)> = None;
            for word in &filter.words {
                let count_key = Key::new(keys::WORD_COUNT).last(word).into_bytes();
                let count = read_u64(self.tree()?.get(&count_key)?.as_deref());
                if count == 0 {
                    return Ok(Candidates::Listed(BTreeSet::new()));
                }
                if rarest.is_none_or(|(least, _)| count < least) {
                    rarest = Some((count, word));
                }
            }
            if let Some((_, word)) = rarest {
                return Ok(Candidates::Listed(self.word_ids(word)?));
            }
        }
        let retracted_wanted = filter.status == Some(Status::Retracted);
        if let Some(actor) = &filter.actor {
            let tag = if point.latest && !retracted_wanted {
                keys::OWNER
            } else {
                keys::EVER_OWNED
            };
            return Ok(Candidates::Under(Key::new(tag).part(actor).into_bytes()));
        }
        if point.latest
            && let Some(status) = filter.status
        {
            let under = |status: Status| Key::new(keys::STATUS).part(status.as_str()).into_bytes();
            // A base status is never overdue: overdue is judged on the date among open ones.
            return Ok(if status == Status::Overdue {
                Candidates::UnderEither(under(Status::NotStarted), under(Status::InProgress))
            } else {
                Candidates::Under(under(status))
            });
        }
        if let Some(theme) = &filter.theme {
            return Ok(Candidates::Under(
                Key::new(keys::THEME).part(theme).into_bytes(),
            ));
        }
        Ok(Candidates::Under(Key::new(keys::RECORD).into_bytes()))
    }

    /// The commitments the search index lists under `word`, gathered from its runs.
    fn word_ids(&self, word: &str) -> Result<BTreeSet<String>, QueryError> {
        let mut ids = BTreeSet::new();
        for item in self.tree()?.scan_prefix(keys::word_runs(word)) {
            let (key, value) = item?;
            let run: keys::WordRun =
                crate::fact::decode(&value, "word run").map_err(corrupt(&key))?;
            ids.extend(run);
        }
        Ok(ids)
    }

    /// One commitment with its history; `None` when it had not been made by `point`.
    pub fn commitment(
        &self,
        id: &str,
        point: &ResolvedAsOf,
    ) -> Result<Option<CommitmentDetail>, QueryError> {
        let _gate = self.read_gate()?;
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
        point: &ResolvedAsOf,
    ) -> Result<Option<CommitmentHistory>, QueryError> {
        let _gate = self.read_gate()?;
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

pub(super) fn summary(record: &CommitmentRecord, date: Date) -> CommitmentSummary {
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
        claimed_status: record.claimed,
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

pub(super) fn overdue_item(record: &ListEntry, date: Date) -> OverdueItem {
    OverdueItem {
        id: record.id.clone(),
        title: record.title.clone(),
        due_by: record.due_by.map(|d| d.to_string()).unwrap_or_default(),
        days_overdue: record.days_overdue(date).unwrap_or(0),
        progress: record.base,
    }
}

pub(super) fn goalpost_item(record: &ListEntry) -> GoalpostItem {
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
        moved_on: record.moved_on.map(|d| d.to_string()),
        original_targets: record.original_targets.clone(),
        current_targets: record.targets.clone(),
    }
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
        met: latest.map(|measured| indicator.met_by(measured.value)),
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

fn detail(
    state: &CommitmentState,
    point: &ResolvedAsOf,
    history: Vec<HistoryEvent>,
) -> CommitmentDetail {
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
    point: &ResolvedAsOf,
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
        let mut detail = event_detail(&kind, before.as_deref(), commitment_id);
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
            retracted_by: retracted.get(&fact.event_id).map(retraction_view),
            detail,
        });
    }
    Ok(events)
}

/// The fields of one event that matter to its commitment.
fn event_detail(
    kind: &Kind,
    before: Option<&[Option<String>]>,
    commitment_id: &str,
) -> EventDetail {
    let date = |text: &str| Date::parse(text).map(|d| d.to_string());
    match kind {
        Kind::CommitmentMade(made) => EventDetail {
            title: Some(made.title.clone()),
            text: Some(made.text.clone()),
            made_on: date(&made.made_on),
            due_by: date(&made.due_by),
            ..EventDetail::default()
        },
        Kind::CommitmentAmended(amended) => EventDetail {
            class: Some(schema(amended.class)),
            changes: amended
                .changes
                .iter()
                .enumerate()
                .map(|(index, change)| FieldChange {
                    field: schema(change.field),
                    indicator_id: optional(&change.indicator_id),
                    old_value: before.and_then(|values| values.get(index).cloned().flatten()),
                    new_value: change.new_value.clone(),
                })
                .collect(),
            rationale: Some(amended.rationale.clone()),
            ..EventDetail::default()
        },
        Kind::CommitmentWithdrawn(withdrawn) => EventDetail {
            reason: Some(withdrawn.reason.clone()),
            ..EventDetail::default()
        },
        Kind::ActionRecorded(action) => EventDetail {
            action_id: Some(action.action_id.clone()),
            action_type: Some(schema(action.r#type)),
            taken_on: date(&action.taken_on),
            description: Some(action.description.clone()),
            money: action.money.as_ref().and_then(|money| {
                let (_, stage, share): (String, crate::MoneyStage, i64) =
                    state::money_share(action, commitment_id)?;
                Some(MoneyView {
                    amount_minor: money.amount_minor,
                    currency: money.currency.clone(),
                    stage,
                    share_minor: share,
                })
            }),
            commitment_ids: action.commitment_ids.clone(),
            evidence: links(&action.evidence),
            ..EventDetail::default()
        },
        Kind::OutcomeReported(outcome) => EventDetail {
            verdict: Some(schema(outcome.verdict)),
            reported_on: date(&outcome.reported_on),
            indicator_actual: outcome.indicator_actual,
            actual_period: optional(&outcome.actual_period),
            summary: Some(outcome.summary.clone()),
            lessons: Some(outcome.lessons.clone()),
            evidence: links(&outcome.evidence),
            ..EventDetail::default()
        },
        Kind::AssessmentPublished(assessment) => EventDetail {
            outcome_event_id: optional(&assessment.outcome_event_id),
            verdict: (assessment.assessed_verdict != 0)
                .then(|| schema(assessment.assessed_verdict)),
            stance: Some(schema(assessment.stance)),
            summary: Some(assessment.summary.clone()),
            evidence: links(&assessment.evidence),
            ..EventDetail::default()
        },
        Kind::ActorSucceeded(succession) => EventDetail {
            predecessor: Some(succession.predecessor_id.clone()),
            successor: Some(succession.successor_id.clone()),
            effective_on: date(&succession.effective_on),
            reason: Some(succession.note.clone()).filter(|n| !n.is_empty()),
            ..EventDetail::default()
        },
        Kind::CommitmentAdopted(adopted) => EventDetail {
            effective_on: date(&adopted.adopted_on),
            reason: optional(&adopted.note),
            ..EventDetail::default()
        },
        Kind::Retraction(retraction) => EventDetail {
            retracts: Some(retraction.event_id.clone()),
            reason: Some(retraction.reason.clone()),
            ..EventDetail::default()
        },
        _ => EventDetail::default(),
    }
}

/// Two ascending id sequences as one, in order (an id is in at most one of them).
fn merge_ids<'a>(
    first: impl Iterator<Item = Result<String, QueryError>> + 'a,
    second: impl Iterator<Item = Result<String, QueryError>> + 'a,
) -> impl Iterator<Item = Result<String, QueryError>> + 'a {
    let (mut first, mut second) = (first.peekable(), second.peekable());
    std::iter::from_fn(move || match (first.peek(), second.peek()) {
        (Some(Ok(a)), Some(Ok(b))) if b < a => second.next(),
        (Some(_), Some(Err(_))) | (None, _) => second.next(),
        _ => first.next(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_ids_keep_order_and_pass_errors_on_where_they_stand() {
        let ids = |list: &[&str]| -> Vec<Result<String, QueryError>> {
            list.iter().map(|id| Ok(id.to_string())).collect()
        };
        let merged: Vec<String> = merge_ids(
            ids(&["a", "c", "e"]).into_iter(),
            ids(&["b", "d"]).into_iter(),
        )
        .map(Result::unwrap)
        .collect();
        assert_eq!(merged, ["a", "b", "c", "d", "e"]);
        let merged: Vec<String> = merge_ids(ids(&["b"]).into_iter(), ids(&["a", "c"]).into_iter())
            .map(Result::unwrap)
            .collect();
        assert_eq!(merged, ["a", "b", "c"]);

        let failing = || {
            Err(QueryError::Corrupt {
                key: "k".into(),
                problem: "bad".into(),
            })
        };
        let mut second = ids(&["b"]);
        second.insert(0, failing());
        let merged: Vec<Result<String, QueryError>> =
            merge_ids(ids(&["a"]).into_iter(), second.into_iter()).collect();
        assert!(
            matches!(merged[0], Err(QueryError::Corrupt { .. })),
            "{merged:?}"
        );
        assert_eq!(merged.len(), 3);
        let mut first = ids(&["a"]);
        first.push(failing());
        let merged: Vec<Result<String, QueryError>> =
            merge_ids(first.into_iter(), ids(&["b"]).into_iter()).collect();
        assert_eq!(merged[0].as_ref().unwrap(), "a");
        assert!(merged[1].is_err(), "{merged:?}");
        assert_eq!(merged.len(), 3);
    }
}
