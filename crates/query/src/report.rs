//! The annual covenant report: what one body (or all of government) promised, delivered,
//! moved and spent in one calendar year, with the year before beside it.
//!
//! [`compute`] is a pure function of the facts of the commitments in question, the size of the
//! signed checkpoint the report is as of, and the last day of the period. The server computes a
//! report from its projections with it, and `covenant audit check-report` recomputes one from a
//! proof bundle ([`bundle`]) with the same code, so the figures cannot mean one thing on the page
//! and another in the check. docs/REPORT.md states every rule in words.
//!
//! Each commitment is judged as the world stood at the end of a period, as the log knew it at
//! the checkpoint: events recorded later about things that happened within the year count
//! (a January report of the last December's outcome belongs to the year it happened in).

pub mod bundle;
mod gather;

use crate::fact::Fact;
use crate::state::{self, CommitmentState, Cut, MoneyStage, Status};
use covenant_core::event::Date;
use covenant_core::proto::{self, event_body::Kind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many commitments the "largest changes" list names.
pub const LARGEST_CHANGES: usize = 10;

/// Whose report it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReportScope {
    /// The commitments one actor answers for at the end of each period.
    Actor { actor: ReportActor },
    /// Every commitment in the log.
    Government,
}

impl ReportScope {
    /// Whether a commitment, as it stands, is one this report counts.
    pub fn includes(&self, state: &CommitmentState) -> bool {
        state.retracted.is_none()
            && match self {
                Self::Actor { actor } => state.owner == actor.id,
                Self::Government => true,
            }
    }
}

/// The actor a report is about, as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportActor {
    pub id: String,
    pub name: String,
    /// The registry's kind (department, mp, council…), as text.
    pub kind: String,
}

/// The signed checkpoint a report is computed as of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRef {
    pub origin: String,
    pub size: u64,
    /// The Merkle root, base64 as on the checkpoint's root line.
    pub root_hash: String,
    /// The signed note itself.
    pub note: String,
}

/// What a report is asked for: everything [`compute`] needs besides the facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    pub scope: ReportScope,
    pub year: i32,
    /// Entries with `seq < size` count: the checkpoint's size.
    pub size: u64,
    /// The last day the report covers: the 31st of December, or an earlier day for a year
    /// still under way.
    pub period_end: Date,
}

/// The figures a report gives for each year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureName {
    /// Commitments made within the period.
    Made,
    /// Commitments delivered, partly delivered or not delivered by an outcome reported within
    /// the period, as they stand at its end.
    Delivered,
    PartlyDelivered,
    NotDelivered,
    /// Open at the end of the period and due on or before its last day.
    Overdue,
    /// Withdrawn within the period.
    Withdrawn,
    /// Commitments whose target, deadline or scope was moved by an amendment effective within
    /// the period.
    GoalpostsMoved,
    /// Commitments whose latest outcome is disputed by some assessor's latest assessment at the
    /// end of the period.
    Disputed,
    /// Money recorded by actions taken within the period, per stage and currency (minor units).
    MoneyPledged,
    MoneyCommitted,
    MoneySpent,
}

impl FigureName {
    pub const ALL: [FigureName; 11] = [
        Self::Made,
        Self::Delivered,
        Self::PartlyDelivered,
        Self::NotDelivered,
        Self::Overdue,
        Self::Withdrawn,
        Self::GoalpostsMoved,
        Self::Disputed,
        Self::MoneyPledged,
        Self::MoneyCommitted,
        Self::MoneySpent,
    ];

    /// The name as it appears in JSON, CSV and page anchors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Made => "made",
            Self::Delivered => "delivered",
            Self::PartlyDelivered => "partly_delivered",
            Self::NotDelivered => "not_delivered",
            Self::Overdue => "overdue",
            Self::Withdrawn => "withdrawn",
            Self::GoalpostsMoved => "goalposts_moved",
            Self::Disputed => "disputed",
            Self::MoneyPledged => "money_pledged",
            Self::MoneyCommitted => "money_committed",
            Self::MoneySpent => "money_spent",
        }
    }

    fn of_money(stage: MoneyStage) -> Self {
        match stage {
            MoneyStage::Pledged => Self::MoneyPledged,
            MoneyStage::Committed => Self::MoneyCommitted,
            MoneyStage::Spent => Self::MoneySpent,
        }
    }

    fn of_status(status: Status) -> Option<Self> {
        match status {
            Status::Delivered => Some(Self::Delivered),
            Status::PartlyDelivered => Some(Self::PartlyDelivered),
            Status::NotDelivered => Some(Self::NotDelivered),
            _ => None,
        }
    }
}

/// One event a figure counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Counted {
    pub commitment_id: String,
    pub seq: u64,
    pub event_id: String,
}

/// One figure: its value and every event it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    pub name: FigureName,
    /// The ISO 4217 code of a money figure.
    pub currency: Option<String>,
    /// A number of commitments, or an amount of money in minor units.
    pub value: i128,
    /// In commitment and log order.
    pub counted: Vec<Counted>,
}

impl Figure {
    /// The figure's anchor and CSV key: `made`, `money_spent-GBP`.
    pub fn key(&self) -> String {
        match &self.currency {
            Some(currency) => format!("{}-{currency}", self.name.as_str()),
            None => self.name.as_str().to_owned(),
        }
    }
}

/// Every figure of one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearFigures {
    pub year: i32,
    /// First day of the period, `YYYY-01-01`.
    pub from: String,
    /// Last day of the period.
    pub to: String,
    /// Every count figure, then money figures by stage and currency.
    pub figures: Vec<Figure>,
}

impl YearFigures {
    pub fn figure(&self, name: FigureName, currency: Option<&str>) -> Option<&Figure> {
        self.figures
            .iter()
            .find(|figure| figure.name == name && figure.currency.as_deref() == currency)
    }
}

/// A field an amendment changed, with its value before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedField {
    /// `due_by`, `target_value`, `scope`, `target_value:<indicator>`…
    pub field: String,
    pub before: Option<String>,
    pub after: String,
}

/// An amendment within the year that moved the goalposts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalpostMove {
    pub commitment_id: String,
    pub title: String,
    pub seq: u64,
    pub event_id: String,
    pub effective_on: String,
    pub target_moved: bool,
    pub deadline_moved: bool,
    pub scope_changed: bool,
    pub rationale: String,
    pub changes: Vec<ChangedField>,
}

/// An assessor disputing a commitment's latest outcome at the end of the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    pub commitment_id: String,
    pub title: String,
    /// What the owner claimed: the status the latest outcome gives.
    pub claimed: Status,
    /// The assessor's actor id.
    pub assessor: String,
    /// The assessor's registered name, when the registry knows it. [`compute`] leaves it
    /// `None`: names come from the registry, not from the commitments' events, so whoever
    /// serves the report fills them in ([`Report::name_assessors`]) and the check of a bundle
    /// does not compare them.
    #[serde(default)]
    pub assessor_name: Option<String>,
    /// The assessor's view in their own words.
    pub view: String,
    /// The verdict the assessor thinks right, when they gave one.
    pub assessed: Option<Status>,
    pub seq: u64,
    pub event_id: String,
}

/// A commitment that moved during the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub commitment_id: String,
    pub title: String,
    /// Its status at the start of the year; `None` when made during the year.
    pub status_before: Option<Status>,
    pub status_after: Status,
    /// Events about it that happened within the year.
    pub events_in_year: u32,
    /// Money spent on it within the year, per currency (minor units).
    pub spent: BTreeMap<String, i128>,
}

/// The annual report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub scope: ReportScope,
    pub year: i32,
    /// The last day covered (`YYYY-MM-DD`).
    pub period_end: String,
    pub checkpoint: CheckpointRef,
    pub current: YearFigures,
    /// The year before, when any commitment in scope existed at its end.
    pub previous: Option<YearFigures>,
    /// Amendments within the year that moved a target, a deadline or the scope.
    pub goalposts: Vec<GoalpostMove>,
    /// Disputed outcomes at the end of the year, one line per disputing assessor.
    pub disputes: Vec<Dispute>,
    /// The commitments that changed most: a changed status first, then most events.
    pub largest_changes: Vec<Change>,
}

impl Report {
    /// Fill in each dispute's `assessor_name` with `name_of` its assessor's id (`None` leaves
    /// the name unknown, and readers show the id).
    pub fn name_assessors(&mut self, mut name_of: impl FnMut(&str) -> Option<String>) {
        for dispute in &mut self.disputes {
            dispute.assessor_name = name_of(&dispute.assessor);
        }
    }

    /// The disputes with the registry's names left out: what a bundle's check compares.
    pub fn disputes_without_names(&self) -> Vec<Dispute> {
        self.disputes
            .iter()
            .map(|dispute| Dispute {
                assessor_name: None,
                ..dispute.clone()
            })
            .collect()
    }
}

/// What the figures of a report are computed from: every commitment's facts.
pub type CommitmentFacts = BTreeMap<String, Vec<Fact>>;

/// Why a report cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    #[error("period end {period_end} is not within {year}")]
    PeriodOutsideYear { year: i32, period_end: Date },
    #[error("year {0} is outside 1901..=9999")]
    YearOutOfRange(i32),
    #[error("commitment {id}: {problem}")]
    BadFacts { id: String, problem: String },
    #[error(
        "the report would count more than {limit} events; compute it on a replica of your own \
         with `covenant report --data` (docs/REPORT.md)"
    )]
    TooManyEvents { limit: usize },
}

/// The first and last day of a year.
pub fn year_bounds(year: i32) -> Result<(Date, Date), ReportError> {
    let day = |text: String| Date::parse(&text).ok_or(ReportError::YearOutOfRange(year));
    if year < 1901 {
        return Err(ReportError::YearOutOfRange(year));
    }
    Ok((
        day(format!("{year:04}-01-01"))?,
        day(format!("{year:04}-12-31"))?,
    ))
}

/// The report for `request`, from the facts of every commitment that may be in scope
/// (commitments outside it are passed over), as of `checkpoint`.
pub fn compute(
    request: &ReportRequest,
    checkpoint: CheckpointRef,
    commitments: &CommitmentFacts,
) -> Result<Report, ReportError> {
    let (start, end) = year_bounds(request.year)?;
    if request.period_end < start || request.period_end > end {
        return Err(ReportError::PeriodOutsideYear {
            year: request.year,
            period_end: request.period_end,
        });
    }
    let (previous_start, previous_end) = year_bounds(request.year - 1)?;
    let current = Period {
        from: start,
        to: request.period_end,
    };
    let previous_period = Period {
        from: previous_start,
        to: previous_end,
    };
    let mut current_tally = Tally::default();
    let mut previous_tally = Tally::default();
    let mut goalposts = vec![];
    let mut disputes = vec![];
    let mut changes = vec![];
    for (id, facts) in commitments {
        let fold = |period: &Period| {
            state::fold(
                facts,
                Cut {
                    size: request.size,
                    world: Some(period.to),
                },
            )
            .map_err(|problem| ReportError::BadFacts {
                id: id.clone(),
                problem,
            })
        };
        let at_end = fold(&current)?.filter(|state| request.scope.includes(state));
        let at_previous_end = fold(&previous_period)?.filter(|state| request.scope.includes(state));
        if let Some(state) = &at_previous_end {
            previous_tally.add(state, &previous_period);
        }
        let Some(state) = at_end else {
            continue;
        };
        current_tally.add(&state, &current);
        goalposts.extend(goalpost_moves(&state, &current));
        disputes.extend(disputes_of(&state));
        let before = at_previous_end
            .as_ref()
            .map(|previous| previous.status(current.from));
        if let Some(change) = change_of(&state, before, facts, request.size, &current) {
            changes.push(change);
        }
    }
    changes.sort_by(|a, b| {
        let moved = |change: &Change| change.status_before != Some(change.status_after);
        moved(b)
            .cmp(&moved(a))
            .then(b.events_in_year.cmp(&a.events_in_year))
            .then(a.commitment_id.cmp(&b.commitment_id))
    });
    changes.truncate(LARGEST_CHANGES);
    let previous = (previous_tally.commitments > 0)
        .then(|| previous_tally.figures(request.year - 1, &previous_period));
    Ok(Report {
        scope: request.scope.clone(),
        year: request.year,
        period_end: request.period_end.to_string(),
        checkpoint,
        current: current_tally.figures(request.year, &current),
        previous,
        goalposts,
        disputes,
        largest_changes: changes,
    })
}

/// The days a year's figures cover.
struct Period {
    from: Date,
    to: Date,
}

impl Period {
    fn holds(&self, date: Date) -> bool {
        self.from <= date && date <= self.to
    }

    /// The day after the period: the date that judges "overdue" at its end.
    fn day_after(&self) -> Date {
        Date(self.to.days() + 1)
    }
}

/// The figures of one year as commitments are added.
#[derive(Default)]
struct Tally {
    commitments: usize,
    counts: BTreeMap<FigureName, Vec<Counted>>,
    money: BTreeMap<(MoneyStage, String), (i128, Vec<Counted>)>,
}

impl Tally {
    fn count(&mut self, name: FigureName, state: &CommitmentState, fact: &state::FactRef) {
        self.counts
            .entry(name)
            .or_default()
            .push(counted(state, fact));
    }

    fn add(&mut self, state: &CommitmentState, period: &Period) {
        self.commitments += 1;
        if period.holds(state.made_on) {
            self.count(FigureName::Made, state, &state.made_fact);
        }
        if let Some(outcome) = &state.outcome
            && period.holds(outcome.fact.happened_on)
            && let Some(name) = FigureName::of_status(state.base_status())
        {
            self.count(name, state, &outcome.fact);
        }
        if state.status(period.day_after()) == Status::Overdue {
            self.count(FigureName::Overdue, state, &state.made_fact);
        }
        if let Some((fact, _)) = &state.withdrawal
            && period.holds(fact.happened_on)
        {
            self.count(FigureName::Withdrawn, state, fact);
        }
        for amendment in moved_goalposts(state, period) {
            self.count(FigureName::GoalpostsMoved, state, &amendment.fact);
        }
        for assessment in disputing(state) {
            self.count(FigureName::Disputed, state, &assessment.fact);
        }
        for action in &state.actions {
            if let Some((currency, stage, share)) = &action.share
                && period.holds(action.fact.happened_on)
            {
                let (total, counted_events) =
                    self.money.entry((*stage, currency.clone())).or_default();
                *total += i128::from(*share);
                counted_events.push(counted(state, &action.fact));
            }
        }
    }

    fn figures(self, year: i32, period: &Period) -> YearFigures {
        let mut figures: Vec<Figure> = FigureName::ALL
            .iter()
            .filter(|name| {
                !matches!(
                    name,
                    FigureName::MoneyPledged | FigureName::MoneyCommitted | FigureName::MoneySpent
                )
            })
            .map(|name| {
                let counted = self.counts.get(name).cloned().unwrap_or_default();
                Figure {
                    name: *name,
                    currency: None,
                    value: distinct_commitments(&counted) as i128,
                    counted,
                }
            })
            .collect();
        figures.extend(
            self.money
                .into_iter()
                .map(|((stage, currency), (value, counted))| Figure {
                    name: FigureName::of_money(stage),
                    currency: Some(currency),
                    value,
                    counted,
                }),
        );
        YearFigures {
            year,
            from: period.from.to_string(),
            to: period.to.to_string(),
            figures,
        }
    }
}

/// Commitments counted: a commitment moved twice in a year is one commitment moved.
fn distinct_commitments(counted: &[Counted]) -> usize {
    let mut ids: Vec<&str> = counted.iter().map(|c| c.commitment_id.as_str()).collect();
    ids.dedup();
    ids.len()
}

fn counted(state: &CommitmentState, fact: &state::FactRef) -> Counted {
    Counted {
        commitment_id: state.id.clone(),
        seq: fact.seq,
        event_id: fact.event_id.clone(),
    }
}

fn moved_goalposts<'s>(
    state: &'s CommitmentState,
    period: &'s Period,
) -> impl Iterator<Item = &'s state::Amendment> + 's {
    state.amendments.iter().filter(|amendment| {
        (amendment.target_moved || amendment.deadline_moved || amendment.scope_changed)
            && period.holds(amendment.fact.happened_on)
    })
}

/// The latest assessments of the latest outcome that dispute it.
fn disputing(state: &CommitmentState) -> impl Iterator<Item = &state::Assessment> {
    state
        .latest_assessments()
        .into_iter()
        .filter(|a| a.assessment.stance == proto::Stance::Disputes as i32)
}

fn goalpost_moves(state: &CommitmentState, period: &Period) -> Vec<GoalpostMove> {
    moved_goalposts(state, period)
        .map(|amendment| GoalpostMove {
            commitment_id: state.id.clone(),
            title: state.current.title.clone(),
            seq: amendment.fact.seq,
            event_id: amendment.fact.event_id.clone(),
            effective_on: amendment.fact.happened_on.to_string(),
            target_moved: amendment.target_moved,
            deadline_moved: amendment.deadline_moved,
            scope_changed: amendment.scope_changed,
            rationale: amendment.amended.rationale.clone(),
            changes: amendment
                .amended
                .changes
                .iter()
                .enumerate()
                .map(|(index, change)| ChangedField {
                    field: state::amended_field(change),
                    before: amendment.before.get(index).cloned().flatten(),
                    after: change.new_value.clone(),
                })
                .collect(),
        })
        .collect()
}

fn disputes_of(state: &CommitmentState) -> Vec<Dispute> {
    let claimed = state.claimed_status().unwrap_or(Status::NotDelivered);
    disputing(state)
        .map(|assessment| Dispute {
            commitment_id: state.id.clone(),
            title: state.current.title.clone(),
            claimed,
            assessor: assessment.fact.actor.clone(),
            assessor_name: None,
            view: assessment.assessment.summary.clone(),
            assessed: (assessment.assessment.assessed_verdict
                != proto::Verdict::Unspecified as i32)
                .then(|| state::verdict_status(assessment.assessment.assessed_verdict)),
            seq: assessment.fact.seq,
            event_id: assessment.fact.event_id.clone(),
        })
        .collect()
}

/// How a commitment changed within the period, if it did at all.
fn change_of(
    state: &CommitmentState,
    before: Option<Status>,
    facts: &[Fact],
    size: u64,
    period: &Period,
) -> Option<Change> {
    let events_in_year = facts
        .iter()
        .filter(|fact| fact.seq < size)
        .filter_map(|fact| Some(state::happened_on(fact, &fact.kind().ok()?)))
        .filter(|day| period.holds(*day))
        .count() as u32;
    let status_after = state.status(period.day_after());
    if events_in_year == 0 && before == Some(status_after) {
        return None;
    }
    let mut spent = BTreeMap::new();
    for action in &state.actions {
        if let Some((currency, MoneyStage::Spent, share)) = &action.share
            && period.holds(action.fact.happened_on)
        {
            *spent.entry(currency.clone()).or_insert(0) += i128::from(*share);
        }
    }
    Some(Change {
        commitment_id: state.id.clone(),
        title: state.current.title.clone(),
        status_before: before,
        status_after,
        events_in_year,
        spent,
    })
}

/// Which facts of a commitment a report needs, by the kinds that can be about it.
pub fn is_about(kind: &Kind, commitment_id: &str) -> bool {
    match kind {
        Kind::CommitmentMade(made) => made.commitment_id == commitment_id,
        Kind::CommitmentAmended(amended) => amended.commitment_id == commitment_id,
        Kind::CommitmentWithdrawn(withdrawn) => withdrawn.commitment_id == commitment_id,
        Kind::OutcomeReported(outcome) => outcome.commitment_id == commitment_id,
        Kind::AssessmentPublished(assessment) => assessment.commitment_id == commitment_id,
        Kind::CommitmentAdopted(adopted) => adopted.commitment_id == commitment_id,
        Kind::ActionRecorded(action) => action.commitment_ids.iter().any(|id| id == commitment_id),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
