//! The status rules: a commitment's state at any point of the log, folded from its facts.
//!
//! Everything here is a pure function of the facts and a [`Cut`] on two time axes: what the log
//! held (`seq < size`) and, optionally, what had happened by a date (each event's own date, see
//! [`happened_on`]); the date that decides "overdue" is passed in. docs/STATUS.md states each rule in words; each has a test
//! below.

use crate::fact::Fact;
use covenant_core::SchemaName;
use covenant_core::event::Date;
use covenant_core::proto::{self, event_body::Kind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Where a commitment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

/// Which facts count: those the log held within its first `size` entries and, when `world` is
/// set, whose events had happened by that date (retractions always count once recorded: they
/// say an event was published in error, not that the world changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub size: u64,
    pub world: Option<Date>,
}

impl Cut {
    /// Everything the log held within its first `size` entries.
    pub fn recorded(size: u64) -> Self {
        Self { size, world: None }
    }

    fn admits(&self, fact: &Fact, kind: &Kind) -> bool {
        fact.seq < self.size
            && (matches!(kind, Kind::Retraction(_))
                || self
                    .world
                    .is_none_or(|world| happened_on(fact, kind) <= world))
    }
}

/// Recorded this many days or more after it happened: a backfill, which pages point out.
pub const BACKFILL_DAYS: i32 = 30;

/// When an event happened in the world: its own date (made on, taken on, reported on, effective
/// on, adopted on) where the kind has one, otherwise the day of its `occurred_at_ms`.
pub fn happened_on(fact: &Fact, kind: &Kind) -> Date {
    let own = match kind {
        Kind::CommitmentMade(made) => Date::parse(&made.made_on),
        Kind::ActionRecorded(action) => Date::parse(&action.taken_on),
        Kind::OutcomeReported(outcome) => Date::parse(&outcome.reported_on),
        Kind::ActorSucceeded(succession) => Date::parse(&succession.effective_on),
        Kind::CommitmentAmended(amended) => Date::parse(&amended.effective_on),
        Kind::CommitmentAdopted(adopted) => Date::parse(&adopted.adopted_on),
        _ => None,
    };
    own.unwrap_or_else(|| Date::from_unix_ms(fact.occurred_at_ms))
}

/// Which event a piece of state came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactRef {
    pub seq: u64,
    pub event_id: String,
    pub stored_at_ns: u64,
    pub actor: String,
    /// When it happened (see [`happened_on`]).
    pub happened_on: Date,
}

impl FactRef {
    fn of(fact: &Fact, kind: &Kind) -> Self {
        Self {
            seq: fact.seq,
            event_id: fact.event_id.clone(),
            stored_at_ns: fact.stored_at_ns,
            actor: fact.actor.clone(),
            happened_on: happened_on(fact, kind),
        }
    }

    /// The day the broker stored it.
    pub fn recorded_on(&self) -> Date {
        Date::from_unix_ms((self.stored_at_ns / 1_000_000) as i64)
    }

    /// Recorded [`BACKFILL_DAYS`] or more after it happened.
    pub fn backfilled(&self) -> bool {
        self.recorded_on().days() - self.happened_on.days() >= BACKFILL_DAYS
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
    /// The single legacy indicator's target.
    pub target_value: Option<f64>,
    pub target_period: String,
    pub scope: String,
    /// The named indicators' targets.
    pub indicators: Vec<IndicatorTerms>,
}

/// One named indicator's target, as first made or as amended.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorTerms {
    pub id: String,
    pub measure: String,
    pub unit: String,
    pub comparator: proto::Comparator,
    pub target_value: f64,
    pub target_upper: Option<f64>,
    pub target_period: String,
    pub deadline: Option<Date>,
    pub baseline_value: Option<f64>,
    pub baseline_date: Option<Date>,
}

impl IndicatorTerms {
    fn of(indicator: &proto::Indicator) -> Self {
        Self {
            id: indicator.indicator_id.clone(),
            measure: indicator.measure.clone(),
            unit: indicator.unit.clone(),
            comparator: proto::Comparator::try_from(indicator.comparator).unwrap_or_default(),
            target_value: indicator.target_value.unwrap_or_default(),
            target_upper: indicator.target_upper,
            target_period: indicator.target_period.clone(),
            deadline: Date::parse(&indicator.deadline),
            baseline_value: indicator.baseline_value,
            baseline_date: Date::parse(&indicator.baseline_date),
        }
    }

    /// Whether a measured value meets the target.
    pub fn met_by(&self, value: f64) -> bool {
        match self.comparator {
            proto::Comparator::AtLeast => value >= self.target_value,
            proto::Comparator::AtMost => value <= self.target_value,
            proto::Comparator::Exactly => value == self.target_value,
            proto::Comparator::Between => {
                value >= self.target_value && self.target_upper.is_some_and(|upper| value <= upper)
            }
            proto::Comparator::Unspecified => false,
        }
    }
}

/// Whether a target changed in the direction that makes it easier to meet. A target whose
/// direction cannot be told (exactly, between, an unknown direction) counts as weakened by any
/// change, so that a move is never hidden.
fn weakened(comparator: Option<proto::Comparator>, old: Option<f64>, new: Option<f64>) -> bool {
    match (comparator, old, new) {
        (_, old, new) if old == new => false,
        (Some(proto::Comparator::AtLeast), Some(old), Some(new)) => new < old,
        (Some(proto::Comparator::AtMost), Some(old), Some(new)) => new > old,
        _ => true,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Amendment {
    pub fact: FactRef,
    pub amended: proto::CommitmentAmended,
    /// The target was made easier to meet: a lower "at least" or higher "at most" value of a
    /// named indicator, a changed comparator or period, or any change where the direction
    /// cannot be told (every change of the single legacy indicator).
    pub target_moved: bool,
    /// The deadline was put later (or removed).
    pub deadline_moved: bool,
    /// The scope was changed.
    pub scope_changed: bool,
    /// Each changed field with its value before the amendment.
    pub before: Vec<Option<String>>,
}

/// A measured value of a named indicator.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredValue {
    pub fact: FactRef,
    pub value: f64,
    pub measured_on: Date,
    pub period: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub fact: FactRef,
    pub action: proto::ActionRecorded,
    /// This commitment's share of the action's money (see [`money_share`]).
    pub share: Option<(String, MoneyStage, i64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportedOutcome {
    pub fact: FactRef,
    pub outcome: proto::OutcomeReported,
    pub reported_on: Date,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub fact: FactRef,
    /// The outcome assessed: the one named, or the latest when the assessment named none.
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
    pub outcome: Option<ReportedOutcome>,
    /// Assessments that still count, oldest first.
    pub assessments: Vec<Assessment>,
    pub successions: Vec<(FactRef, proto::ActorSucceeded)>,
    /// Set when a public body adopted the pledge: the adopting event.
    pub adoption: Option<(FactRef, proto::CommitmentAdopted)>,
    /// Registered actors that deliver parts of it (they may record actions and outcomes).
    pub delivery_partners: Vec<String>,
    /// Measured values of each named indicator, in log order.
    pub measurements: BTreeMap<String, Vec<MeasuredValue>>,
    /// Sequence number of the last fact folded in.
    pub last_seq: u64,
    /// The latest day any fact folded in happened ([`happened_on`]; retractions, which count
    /// whatever the day, left out).
    pub last_happened_on: Date,
}

/// Which events are retracted as of `bound`, by a retraction that itself still counts.
///
/// A retraction always comes after its target, so walking backwards settles every retraction
/// of a retraction before the retraction it cancels is looked at.
pub fn retractions(facts: &[Fact], bound: u64) -> Result<HashMap<String, RetractedBy>, String> {
    let kinds = facts
        .iter()
        .filter(|fact| fact.seq < bound)
        .map(|fact| Ok((fact, fact.kind()?)))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(retractions_of(&kinds))
}

/// [`retractions`] of facts whose bodies are already decoded (all below the bound).
fn retractions_of(kinds: &[(&Fact, Kind)]) -> HashMap<String, RetractedBy> {
    let mut retracted: HashMap<String, RetractedBy> = HashMap::new();
    for (fact, kind) in kinds.iter().rev() {
        if retracted.contains_key(&fact.event_id) {
            continue;
        }
        if let Kind::Retraction(retraction) = kind {
            retracted.insert(
                retraction.event_id.clone(),
                RetractedBy {
                    event_id: fact.event_id.clone(),
                    seq: fact.seq,
                    reason: retraction.reason.clone(),
                },
            );
        }
    }
    retracted
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
pub fn fold(facts: &[Fact], cut: Cut) -> Result<Option<CommitmentState>, String> {
    // Each body is decoded once, for the retractions and the fold alike.
    let kinds = facts
        .iter()
        .filter(|fact| fact.seq < cut.size)
        .map(|fact| Ok((fact, fact.kind()?)))
        .collect::<Result<Vec<_>, String>>()?;
    let retracted = retractions_of(&kinds);
    let mut state: Option<CommitmentState> = None;
    for (fact, kind) in kinds {
        if let Kind::CommitmentMade(made) = kind {
            if !cut.admits(fact, &Kind::CommitmentMade(made.clone())) {
                // Not yet made on the date asked about: nothing about it counts.
                return Ok(None);
            }
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
        if !cut.admits(fact, &kind) {
            continue;
        }
        state.last_seq = fact.seq;
        if !matches!(kind, Kind::Retraction(_)) {
            state.last_happened_on = state.last_happened_on.max(happened_on(fact, &kind));
        }
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
        target_value: made.indicator.as_ref().and_then(|i| i.target_value),
        target_period: made
            .indicator
            .as_ref()
            .map(|i| i.target_period.clone())
            .unwrap_or_default(),
        scope: String::new(),
        indicators: made.indicators.iter().map(IndicatorTerms::of).collect(),
    };
    let made_fact = FactRef {
        seq: fact.seq,
        event_id: fact.event_id.clone(),
        stored_at_ns: fact.stored_at_ns,
        actor: fact.actor.clone(),
        happened_on: made_on,
    };
    Ok(CommitmentState {
        id: made.commitment_id.clone(),
        made_fact,
        delivery_partners: made.delivery_partners.clone(),
        adoption: None,
        measurements: BTreeMap::new(),
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
        last_happened_on: made_on,
    })
}

fn apply(state: &mut CommitmentState, fact: &Fact, kind: Kind) {
    let fact_ref = FactRef::of(fact, &kind);
    match kind {
        Kind::CommitmentAmended(amended) => amend(state, fact_ref, amended),
        Kind::CommitmentWithdrawn(withdrawn) => {
            state.withdrawal = Some((fact_ref, withdrawn));
        }
        Kind::ActionRecorded(action) => {
            let share = money_share(&action, &state.id);
            state.actions.push(Action {
                fact: fact_ref,
                action,
                share,
            });
        }
        Kind::OutcomeReported(outcome) => {
            for measurement in &outcome.measurements {
                if let Some(measured_on) = Date::parse(&measurement.measured_on) {
                    state
                        .measurements
                        .entry(measurement.indicator_id.clone())
                        .or_default()
                        .push(MeasuredValue {
                            fact: fact_ref.clone(),
                            value: measurement.value,
                            measured_on,
                            period: measurement.period.clone(),
                        });
                }
            }
            if let Some(reported_on) = Date::parse(&outcome.reported_on) {
                state.outcome = Some(ReportedOutcome {
                    fact: fact_ref,
                    outcome,
                    reported_on,
                });
            }
        }
        Kind::AssessmentPublished(mut assessment) => {
            if assessment.outcome_event_id.is_empty() {
                // "The latest outcome" means the latest at the time it was recorded.
                let Some(outcome) = &state.outcome else {
                    return;
                };
                assessment.outcome_event_id = outcome.fact.event_id.clone();
            }
            state.assessments.push(Assessment {
                fact: fact_ref,
                assessment,
            });
        }
        Kind::ActorSucceeded(succession) => {
            state.owner = succession.successor_id.clone();
            state.successions.push((fact_ref, succession));
        }
        Kind::CommitmentAdopted(adopted) => {
            state.owner = fact.actor.clone();
            state.adoption = Some((fact_ref, adopted));
        }
        // Retractions were settled before the fold; nothing else is about a commitment.
        _ => {}
    }
}

fn amend(state: &mut CommitmentState, fact: FactRef, amended: proto::CommitmentAmended) {
    let mut target_moved = false;
    let mut deadline_moved = false;
    let mut scope_changed = false;
    let mut before = Vec::with_capacity(amended.changes.len());
    let terms = &mut state.current;
    for change in &amended.changes {
        let value = &change.new_value;
        let field = proto::AmendedField::try_from(change.field).unwrap_or_default();
        if let Some(indicator) = terms.indicators.iter_mut().find(|indicator| {
            !change.indicator_id.is_empty() && indicator.id == change.indicator_id
        }) {
            before.push(amend_indicator(indicator, field, value, &mut target_moved));
            continue;
        }
        before.push(match field {
            proto::AmendedField::Text => Some(std::mem::replace(&mut terms.text, value.clone())),
            proto::AmendedField::Title => Some(std::mem::replace(&mut terms.title, value.clone())),
            proto::AmendedField::Scope => {
                scope_changed |= *value != terms.scope;
                let old = std::mem::replace(&mut terms.scope, value.clone());
                (!old.is_empty()).then_some(old)
            }
            proto::AmendedField::DueBy => {
                let due_by = Date::parse(value);
                deadline_moved |= match (terms.due_by, due_by) {
                    (Some(old), Some(new)) => new > old,
                    (old, new) => old != new,
                };
                std::mem::replace(&mut terms.due_by, due_by).map(|d| d.to_string())
            }
            proto::AmendedField::TargetValue => {
                let target = value.parse::<f64>().ok();
                // The legacy indicator's direction cannot be told apart from an unset flag
                // (proto3 reads a missing `higher_is_better` as false), so any change moves it.
                target_moved |= weakened(None, terms.target_value, target);
                std::mem::replace(&mut terms.target_value, target).map(|v| v.to_string())
            }
            proto::AmendedField::TargetPeriod => {
                target_moved |= *value != terms.target_period;
                let old = std::mem::replace(&mut terms.target_period, value.clone());
                (!old.is_empty()).then_some(old)
            }
            proto::AmendedField::Comparator | proto::AmendedField::Unspecified => None,
        });
    }
    state.amendments.push(Amendment {
        fact,
        amended,
        target_moved,
        deadline_moved,
        scope_changed,
        before,
    });
}

/// Apply one change to a named indicator; returns the value before.
fn amend_indicator(
    indicator: &mut IndicatorTerms,
    field: proto::AmendedField,
    value: &str,
    target_moved: &mut bool,
) -> Option<String> {
    match field {
        proto::AmendedField::TargetValue => {
            let Ok(target) = value.parse::<f64>() else {
                return None;
            };
            *target_moved |= weakened(
                Some(indicator.comparator),
                Some(indicator.target_value),
                Some(target),
            );
            Some(std::mem::replace(&mut indicator.target_value, target).to_string())
        }
        proto::AmendedField::TargetPeriod => {
            *target_moved |= value != indicator.target_period;
            Some(std::mem::replace(
                &mut indicator.target_period,
                value.to_owned(),
            ))
        }
        proto::AmendedField::Comparator => {
            let comparator = covenant_core::event::parse_comparator(value)?;
            *target_moved |= comparator != indicator.comparator;
            Some(
                std::mem::replace(&mut indicator.comparator, comparator)
                    .schema_name()
                    .to_owned(),
            )
        }
        _ => None,
    }
}

pub use covenant_core::facts::amended_field;

impl CommitmentState {
    /// The status before the as-of date is considered: never `Overdue`.
    pub fn base_status(&self) -> Status {
        if self.retracted.is_some() {
            Status::Retracted
        } else if self.withdrawal.is_some() {
            Status::Withdrawn
        } else if let Some(outcome) = &self.outcome {
            match self.indicators_met() {
                Some((met, total)) if met == total => Status::Delivered,
                Some((0, _)) => Status::NotDelivered,
                Some(_) => Status::PartlyDelivered,
                None => verdict_status(outcome.outcome.verdict),
            }
        } else if self.actions.is_empty() {
            Status::NotStarted
        } else {
            Status::InProgress
        }
    }

    /// The verdict the latest outcome claims, as a status.
    pub fn claimed_status(&self) -> Option<Status> {
        self.outcome
            .as_ref()
            .map(|outcome| verdict_status(outcome.outcome.verdict))
    }

    /// The latest measured value of a named indicator (by measurement date, then log order).
    pub fn latest_measurement(&self, indicator_id: &str) -> Option<&MeasuredValue> {
        self.measurements
            .get(indicator_id)?
            .iter()
            .max_by_key(|measured| (measured.measured_on, measured.fact.seq))
    }

    /// For a commitment with named indicators: how many of its current targets the latest
    /// measurements meet, out of how many. An unmeasured indicator is not met.
    pub fn indicators_met(&self) -> Option<(usize, usize)> {
        let indicators = &self.current.indicators;
        if indicators.is_empty() {
            return None;
        }
        let met = indicators
            .iter()
            .filter(|indicator| {
                self.latest_measurement(&indicator.id)
                    .is_some_and(|measured| indicator.met_by(measured.value))
            })
            .count();
        Some((met, indicators.len()))
    }

    /// The status judged on `date`: an open commitment whose current due date is before
    /// `date` is overdue.
    pub fn status(&self, date: Date) -> Status {
        judge(self.base_status(), self.current.due_by, date)
    }

    /// A watchdog disputes the latest outcome: among the assessments of that outcome that
    /// still count, the latest of some assessor disputes it.
    pub fn disputed(&self) -> bool {
        self.disputed_on().is_some()
    }

    /// When the latest assessment disputing the latest outcome happened, if one does.
    pub fn disputed_on(&self) -> Option<Date> {
        self.latest_assessments()
            .iter()
            .filter(|a| a.assessment.stance == proto::Stance::Disputes as i32)
            .map(|a| a.fact.happened_on)
            .max()
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

    pub fn scope_changes(&self) -> u32 {
        self.amendments.iter().filter(|a| a.scope_changed).count() as u32
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

/// The status an outcome's verdict claims.
pub fn verdict_status(verdict: i32) -> Status {
    match proto::Verdict::try_from(verdict) {
        Ok(proto::Verdict::Delivered) => Status::Delivered,
        Ok(proto::Verdict::PartlyDelivered) => Status::PartlyDelivered,
        _ => Status::NotDelivered,
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
