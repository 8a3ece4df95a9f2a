//! What queries answer: plain data with no wire form. covenant-http gives each its JSON shape
//! and documents every field there (`query_api::json`), where API users read it.
//!
//! Dates are `YYYY-MM-DD` strings, instants RFC 3339 (UTC), money integer minor units.

use crate::record::StatusCounts;
use crate::state::{MoneyStage, Status};
use covenant_core::event::Date;
use covenant_core::proto::{
    ActionType, ActorKind, AmendedField, AmendmentClass, Comparator, EventKind, SourceKind, Stance,
    SuccessionKind, Verdict,
};

/// The point of the log an answer describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsOfInfo {
    pub size: u64,
    pub date: String,
    pub world: Option<String>,
    pub latest: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub id: String,
    pub name: String,
    pub kind: ActorKind,
    pub identifiers: Vec<String>,
    pub constituency: Option<String>,
    pub party: Option<String>,
    pub url: Option<String>,
    pub registered_seq: u64,
    pub retracted: bool,
    pub successors: Vec<String>,
    pub predecessors: Vec<String>,
}

/// An actor with its headline figures, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct ActorSummary {
    pub actor: Actor,
    pub commitments: i64,
    pub counts: StatusCounts,
    pub delivery_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActorPage {
    pub as_of: AsOfInfo,
    pub items: Vec<ActorSummary>,
    pub next_cursor: Option<String>,
}

/// Flags that show beside a commitment's status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitmentFlags {
    pub amendments: u32,
    pub target_moves: u32,
    pub deadline_moves: u32,
    pub goalposts_moved: bool,
    pub disputed: bool,
    pub succeeded: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommitmentSummary {
    pub id: String,
    pub title: String,
    pub owner: String,
    pub maker: String,
    pub themes: Vec<String>,
    pub made_on: String,
    pub due_by: Option<String>,
    pub status: Status,
    pub days_overdue: Option<i32>,
    pub outcome_on: Option<String>,
    /// The verdict the latest outcome claims (see [`CommitmentDetail::claimed_status`]).
    pub claimed_status: Option<Status>,
    pub flags: CommitmentFlags,
    pub delivery_partners: Vec<String>,
    pub text: String,
    pub original_title: String,
    pub original_text: String,
    pub original_due_by: Option<String>,
    pub target_value: Option<f64>,
    pub original_target_value: Option<f64>,
    pub target_period: Option<String>,
    pub original_target_period: Option<String>,
    pub targets: Vec<crate::Target>,
    pub original_targets: Vec<crate::Target>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommitmentPage {
    pub as_of: AsOfInfo,
    pub items: Vec<CommitmentSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Terms {
    pub title: String,
    pub text: String,
    pub due_by: Option<String>,
    pub target_value: Option<f64>,
    pub target_period: Option<String>,
    pub scope: Option<String>,
    pub indicators: Vec<IndicatorTarget>,
}

/// One named indicator's target.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorTarget {
    pub indicator_id: String,
    pub measure: String,
    pub unit: String,
    pub comparator: Comparator,
    pub target_value: f64,
    pub target_upper: Option<f64>,
    pub target_period: Option<String>,
    pub deadline: Option<String>,
    pub baseline_value: Option<f64>,
    pub baseline_date: Option<String>,
    pub latest_value: Option<f64>,
    pub latest_measured_on: Option<String>,
    /// Whether the latest measured value meets the current target; `None` before any
    /// measurement.
    pub met: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub title: String,
    pub url: String,
    pub kind: Option<SourceKind>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub kind: SourceKind,
    pub title: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    pub measure: String,
    pub unit: String,
    pub higher_is_better: bool,
    pub baseline_value: Option<f64>,
    pub baseline_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Succession {
    pub original_owner: String,
    pub current_owner: String,
    pub steps: Vec<SuccessionStep>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SuccessionStep {
    pub seq: u64,
    pub event_id: String,
    pub predecessor: String,
    pub successor: String,
    pub kind: SuccessionKind,
    pub effective_on: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeView {
    pub seq: u64,
    pub event_id: String,
    pub verdict: Verdict,
    pub reported_on: String,
    pub indicator_actual: Option<f64>,
    pub actual_period: Option<String>,
    pub summary: String,
    pub lessons: String,
    pub evidence: Vec<Link>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentView {
    pub seq: u64,
    pub event_id: String,
    pub assessor: String,
    pub stance: Stance,
    pub assessed_verdict: Option<Verdict>,
    pub summary: String,
    pub evidence: Vec<Link>,
}

/// A pledge made before office, adopted by a public body.
#[derive(Debug, Clone, PartialEq)]
pub struct AdoptionView {
    pub seq: u64,
    pub event_id: String,
    pub adopted_by: String,
    pub adopted_on: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WithdrawalView {
    pub seq: u64,
    pub event_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MoneyTotals {
    pub currency: String,
    pub pledged_minor: i64,
    pub committed_minor: i64,
    pub spent_minor: i64,
}

/// A retraction that makes an event stop counting.
#[derive(Debug, Clone, PartialEq)]
pub struct RetractionView {
    pub seq: u64,
    pub event_id: String,
    pub reason: String,
}

/// Everything about one commitment as of a point, with its history.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitmentDetail {
    pub as_of: AsOfInfo,
    pub id: String,
    pub status: Status,
    pub days_overdue: Option<i32>,
    pub owner: String,
    pub maker: String,
    pub made_on: String,
    pub themes: Vec<String>,
    pub partners: Vec<String>,
    pub delivery_partners: Vec<String>,
    pub source: Option<Source>,
    pub sources: Vec<Source>,
    pub evidence: Vec<Link>,
    pub indicator: Option<Indicator>,
    pub recorded_on: String,
    pub backfilled: bool,
    pub adoption: Option<AdoptionView>,
    pub claimed_status: Option<Status>,
    pub original: Terms,
    pub current: Terms,
    pub flags: CommitmentFlags,
    pub succession: Option<Succession>,
    pub outcome: Option<OutcomeView>,
    pub assessments: Vec<AssessmentView>,
    pub withdrawal: Option<WithdrawalView>,
    pub actions: u32,
    pub money: Vec<MoneyTotals>,
    pub retracted: Option<RetractionView>,
    pub history: Vec<HistoryEvent>,
}

/// One event about a commitment.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub seq: u64,
    pub event_id: String,
    pub kind: EventKind,
    pub actor: String,
    pub stored_at: String,
    pub occurred_at: String,
    pub happened_on: String,
    pub backfilled: bool,
    pub entry_hash: String,
    pub retracted_by: Option<RetractionView>,
    pub detail: EventDetail,
}

/// An amended field with its value before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: AmendedField,
    /// The named indicator whose field changed; `None` for the commitment's own fields.
    pub indicator_id: Option<String>,
    pub old_value: Option<String>,
    pub new_value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MoneyView {
    pub amount_minor: i64,
    pub currency: String,
    pub stage: MoneyStage,
    pub share_minor: i64,
}

/// The fields of an event that matter to its commitment; which are present depends on the kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventDetail {
    pub title: Option<String>,
    pub text: Option<String>,
    pub made_on: Option<String>,
    pub due_by: Option<String>,
    pub class: Option<AmendmentClass>,
    pub changes: Vec<FieldChange>,
    pub rationale: Option<String>,
    pub reason: Option<String>,
    pub action_id: Option<String>,
    pub action_type: Option<ActionType>,
    pub taken_on: Option<String>,
    pub description: Option<String>,
    pub money: Option<MoneyView>,
    pub commitment_ids: Vec<String>,
    pub verdict: Option<Verdict>,
    pub reported_on: Option<String>,
    pub indicator_actual: Option<f64>,
    /// The period `indicator_actual` covers, as the outcome says it.
    pub actual_period: Option<String>,
    pub summary: Option<String>,
    pub lessons: Option<String>,
    pub outcome_event_id: Option<String>,
    pub stance: Option<Stance>,
    pub predecessor: Option<String>,
    pub successor: Option<String>,
    pub effective_on: Option<String>,
    pub retracts: Option<String>,
    pub evidence: Vec<Link>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommitmentHistory {
    pub as_of: AsOfInfo,
    pub id: String,
    pub events: Vec<HistoryEvent>,
}

/// Whose scorecard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Actor(String),
    Theme(String),
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlagCounts {
    pub amended: i64,
    pub goalposts_moved: i64,
    pub target_moved: i64,
    pub deadline_moved: i64,
    pub disputed: i64,
    pub succeeded: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverdueItem {
    pub id: String,
    pub title: String,
    pub due_by: String,
    pub days_overdue: i32,
    pub progress: Status,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverdueList {
    pub total: i64,
    pub items: Vec<OverdueItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GoalpostItem {
    pub id: String,
    pub title: String,
    pub original_due_by: Option<String>,
    pub current_due_by: Option<String>,
    pub original_target_value: Option<f64>,
    pub current_target_value: Option<f64>,
    pub original_target_period: Option<String>,
    pub current_target_period: Option<String>,
    pub target_moves: u32,
    pub deadline_moves: u32,
    /// When the latest amendment that moved them happened.
    pub moved_on: Option<String>,
    pub original_targets: Vec<crate::Target>,
    pub current_targets: Vec<crate::Target>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GoalpostList {
    pub total: i64,
    pub items: Vec<GoalpostItem>,
}

/// Promised against done for an actor, a theme or everyone.
#[derive(Debug, Clone, PartialEq)]
pub struct Scorecard {
    pub scope: Scope,
    pub actor: Option<Actor>,
    pub as_of: AsOfInfo,
    pub commitments: i64,
    pub counts: StatusCounts,
    pub resolved: i64,
    pub delivery_rate: Option<f64>,
    pub median_days_to_outcome: Option<f64>,
    pub flags: FlagCounts,
    pub money: Vec<MoneyTotals>,
    pub overdue: OverdueList,
    pub goalposts_moved: GoalpostList,
    /// Commitments made and delivered per calendar quarter, oldest first, quarters with
    /// neither left out (the pages' over-time chart).
    pub over_time: Vec<QuarterCounts>,
}

/// Everyone's scorecard with the latest outcomes and the latest disputes: the home page.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub scorecard: Scorecard,
    /// The commitments an outcome decided, the latest outcome first, then by id.
    pub latest_outcomes: Vec<CommitmentSummary>,
    /// The commitments whose outcome an assessor disputes, the latest dispute first, then by
    /// id.
    pub latest_disputed: Vec<CommitmentSummary>,
}

/// Commitments made, and delivered, in one calendar quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuarterCounts {
    /// `year * 4 + quarter - 1` (`crate::record::quarter_index`).
    pub quarter: i32,
    pub made: i64,
    pub delivered: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThemeSummary {
    pub theme: String,
    pub seed: bool,
    pub commitments: i64,
    pub counts: StatusCounts,
    pub delivery_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThemeList {
    pub as_of: AsOfInfo,
    pub items: Vec<ThemeSummary>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LeagueRow {
    pub rank: u32,
    pub actor: String,
    pub name: String,
    pub kind: ActorKind,
    pub commitments: i64,
    pub resolved: i64,
    pub delivered: i64,
    pub partly_delivered: i64,
    pub not_delivered: i64,
    pub withdrawn: i64,
    pub overdue: i64,
    pub delivery_rate: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LeagueTable {
    pub as_of: AsOfInfo,
    pub min_resolved: u32,
    pub kind: Option<ActorKind>,
    pub rows: Vec<LeagueRow>,
    pub unranked: i64,
}

/// What a feed entry announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    NewCommitment,
    Amended,
    Outcome,
    Withdrawn,
    Overdue,
}

/// What a feed entry was made from: an event of the log, or a due date that passed.
///
/// Ordered so that entries recorded at the same instant keep one order on every replica.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum FeedSource {
    Event { event_id: String, seq: u64 },
    Overdue { due_by: Date },
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    pub kind: FeedKind,
    pub source: FeedSource,
    pub commitment_id: String,
    /// The commitment's title: as made, for a new commitment; as it stood then, otherwise.
    pub commitment_title: String,
    /// The event's own words: the promise's text, the amendment's rationale, the withdrawal's
    /// reason or the outcome's summary; empty for overdue.
    pub text: String,
    /// The verdict, for an outcome.
    pub verdict: Option<Verdict>,
    /// When it happened in the world (YYYY-MM-DD): the event's own date (see `happened_on` in
    /// the history), or for overdue the first day past the due date.
    pub published: String,
    /// When the log recorded it: the broker storage time, or for overdue the start of the
    /// first day past the due date (RFC 3339, UTC).
    pub updated: String,
    pub updated_ns: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub scope: Scope,
    /// The actor's name, or the theme.
    pub name: String,
    pub as_of: AsOfInfo,
    /// Newest first.
    pub entries: Vec<FeedEntry>,
}
