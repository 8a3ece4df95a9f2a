//! What queries answer: plain data, serialisable as the JSON API's responses.
//!
//! Dates are `YYYY-MM-DD` strings, instants RFC 3339 (UTC), money integer minor units.

use crate::record::StatusCounts;
use crate::state::{MoneyStage, Status};
use covenant_core::proto::{
    ActionType, ActorKind, AmendmentClass, Comparator, EventKind, SourceKind, Stance,
    SuccessionKind, Verdict,
};
use serde::Serialize;
use utoipa::ToSchema;

/// Schema enums in JSON by their names (`nhs_body`), from the one table in covenant-proto.
mod by_name {
    use covenant_core::SchemaName;
    use serde::Serializer;

    pub fn one<T: SchemaName, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.schema_name())
    }

    pub fn event_kind<S: Serializer>(
        kind: &covenant_core::proto::EventKind,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(kind.name())
    }

    pub fn optional<T: SchemaName, S: Serializer>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.serialize_some(value.schema_name()),
            None => serializer.serialize_none(),
        }
    }
}

/// The point of the log an answer describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AsOfInfo {
    /// Entries counted: those with sequence numbers below this (a checkpoint size).
    pub size: u64,
    /// The date overdue is judged against.
    pub date: String,
    /// The world as of this date: events that happened after it do not count. Absent when
    /// every recorded event counts.
    pub world: Option<String>,
    /// Whether this is the newest state the projection has.
    pub latest: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Actor {
    pub id: String,
    pub name: String,
    /// mp, party, department, agency, council, nhs_body, civil_society, watchdog or joint_body.
    #[serde(serialize_with = "by_name::one")]
    #[schema(value_type = String)]
    pub kind: ActorKind,
    pub identifiers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constituency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Entry that registered the actor.
    pub registered_seq: u64,
    /// The registration was retracted as published in error.
    pub retracted: bool,
    /// Bodies that took over this actor's open commitments.
    pub successors: Vec<String>,
    /// Bodies whose open commitments this actor took over.
    pub predecessors: Vec<String>,
}

/// An actor with its headline figures, as listed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ActorSummary {
    #[serde(flatten)]
    pub actor: Actor,
    pub commitments: i64,
    pub counts: StatusCounts,
    pub delivery_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ActorPage {
    pub as_of: AsOfInfo,
    pub items: Vec<ActorSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Flags that show beside a commitment's status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct CommitmentFlags {
    /// Amendments that still count.
    pub amendments: u32,
    /// Amendments that moved the target (value or period).
    pub target_moves: u32,
    /// Amendments that moved the deadline.
    pub deadline_moves: u32,
    pub goalposts_moved: bool,
    /// A watchdog disputes the latest outcome.
    pub disputed: bool,
    /// The commitment passed to another body by a machinery-of-government change.
    pub succeeded: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CommitmentSummary {
    pub id: String,
    pub title: String,
    /// The actor that answers for it now.
    pub owner: String,
    /// The actor that made it.
    pub maker: String,
    pub themes: Vec<String>,
    pub made_on: String,
    pub due_by: Option<String>,
    pub status: Status,
    pub days_overdue: Option<i32>,
    /// Date of the outcome that decided the status.
    pub outcome_on: Option<String>,
    pub flags: CommitmentFlags,
    /// Registered actors that deliver parts of it besides the owner.
    pub delivery_partners: Vec<String>,
    /// The terms as first made and as they stand now, for exports that keep the story.
    pub text: String,
    pub original_title: String,
    pub original_text: String,
    pub original_due_by: Option<String>,
    /// The single legacy indicator's target.
    pub target_value: Option<f64>,
    pub original_target_value: Option<f64>,
    pub target_period: Option<String>,
    pub original_target_period: Option<String>,
    /// The named indicators' targets.
    pub targets: Vec<crate::Target>,
    pub original_targets: Vec<crate::Target>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CommitmentPage {
    pub as_of: AsOfInfo,
    pub items: Vec<CommitmentSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Terms {
    pub title: String,
    pub text: String,
    pub due_by: Option<String>,
    pub target_value: Option<f64>,
    pub target_period: Option<String>,
    pub scope: Option<String>,
    /// The named indicators' targets.
    pub indicators: Vec<IndicatorTarget>,
}

/// One named indicator's target.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IndicatorTarget {
    pub indicator_id: String,
    pub measure: String,
    pub unit: String,
    /// at_least, at_most, exactly or between.
    #[serde(serialize_with = "by_name::one")]
    #[schema(value_type = String)]
    pub comparator: Comparator,
    pub target_value: f64,
    /// The upper bound of a between target.
    pub target_upper: Option<f64>,
    pub target_period: Option<String>,
    pub deadline: Option<String>,
    pub baseline_value: Option<f64>,
    pub baseline_date: Option<String>,
    /// The latest measured value, when there is one.
    pub latest_value: Option<f64>,
    pub latest_measured_on: Option<String>,
    /// Whether the latest measured value meets the current target.
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Link {
    pub title: String,
    pub url: String,
    /// The kind of document, when given (manifesto, policy_paper, ...).
    #[serde(serialize_with = "by_name::optional")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<SourceKind>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Source {
    /// manifesto, covenant, speech, parliamentary_answer, policy_paper, pledge or other.
    #[serde(serialize_with = "by_name::one")]
    #[schema(value_type = String)]
    pub kind: SourceKind,
    pub title: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Indicator {
    pub measure: String,
    pub unit: String,
    pub higher_is_better: bool,
    /// Absent when the commitment gave none (never zero in its place).
    pub baseline_value: Option<f64>,
    pub baseline_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Succession {
    pub original_owner: String,
    pub current_owner: String,
    /// Each hand-over, oldest first.
    pub steps: Vec<SuccessionStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SuccessionStep {
    pub seq: u64,
    pub event_id: String,
    pub predecessor: String,
    pub successor: String,
    /// renamed, merged or split.
    #[serde(serialize_with = "by_name::one")]
    #[schema(value_type = String)]
    pub kind: SuccessionKind,
    pub effective_on: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OutcomeView {
    pub seq: u64,
    pub event_id: String,
    /// delivered, partly_delivered or not_delivered.
    #[serde(serialize_with = "by_name::one")]
    #[schema(value_type = String)]
    pub verdict: Verdict,
    pub reported_on: String,
    pub indicator_actual: Option<f64>,
    pub actual_period: Option<String>,
    pub summary: String,
    pub lessons: String,
    pub evidence: Vec<Link>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AssessmentView {
    pub seq: u64,
    pub event_id: String,
    pub assessor: String,
    /// agrees or disputes.
    #[serde(serialize_with = "by_name::one")]
    #[schema(value_type = String)]
    pub stance: Stance,
    /// The verdict the assessor thinks is right, when it states one.
    #[serde(serialize_with = "by_name::optional")]
    #[schema(value_type = Option<String>)]
    pub assessed_verdict: Option<Verdict>,
    pub summary: String,
    pub evidence: Vec<Link>,
}

/// A pledge made before office, adopted by a public body.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AdoptionView {
    pub seq: u64,
    pub event_id: String,
    /// The body that adopted it and answers for it.
    pub adopted_by: String,
    pub adopted_on: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WithdrawalView {
    pub seq: u64,
    pub event_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MoneyTotals {
    /// ISO 4217 code.
    pub currency: String,
    pub pledged_minor: i64,
    pub committed_minor: i64,
    pub spent_minor: i64,
}

/// A retraction that makes an event stop counting.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RetractionView {
    pub seq: u64,
    pub event_id: String,
    pub reason: String,
}

/// Everything about one commitment as of a point, with its history.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CommitmentDetail {
    pub as_of: AsOfInfo,
    pub id: String,
    pub status: Status,
    pub days_overdue: Option<i32>,
    pub owner: String,
    pub maker: String,
    pub made_on: String,
    pub themes: Vec<String>,
    /// Partner organisations as written in the source (free text).
    pub partners: Vec<String>,
    /// Registered actors that deliver parts of it and may record actions and outcomes.
    pub delivery_partners: Vec<String>,
    pub source: Option<Source>,
    /// Further sources beside `source`.
    pub sources: Vec<Source>,
    pub evidence: Vec<Link>,
    pub indicator: Option<Indicator>,
    /// The day the log recorded the commitment (the broker's storage date).
    pub recorded_on: String,
    /// Recorded 30 days or more after it was made.
    pub backfilled: bool,
    /// Set when a public body adopted this pledge.
    pub adoption: Option<AdoptionView>,
    /// The verdict the latest outcome claims; the status may differ when named indicators
    /// decide it (docs/STATUS.md).
    pub claimed_status: Option<Status>,
    /// The terms as first made.
    pub original: Terms,
    /// The terms after every amendment that still counts.
    pub current: Terms,
    pub flags: CommitmentFlags,
    pub succession: Option<Succession>,
    /// The latest outcome that still counts.
    pub outcome: Option<OutcomeView>,
    /// Each assessor's latest assessment of that outcome.
    pub assessments: Vec<AssessmentView>,
    pub withdrawal: Option<WithdrawalView>,
    pub actions: u32,
    pub money: Vec<MoneyTotals>,
    /// Set when the commitment itself was retracted.
    pub retracted: Option<RetractionView>,
    pub history: Vec<HistoryEvent>,
}

/// Where to get the proofs that an entry is in the log.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProofLinks {
    /// Inclusion proof of the entry in the latest checkpoint.
    pub inclusion: String,
    /// Self-contained proof bundle for the event.
    pub bundle: String,
}

/// One event about a commitment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HistoryEvent {
    pub seq: u64,
    pub event_id: String,
    /// The event kind, for example commitment_made or outcome_reported.
    #[serde(serialize_with = "by_name::event_kind")]
    #[schema(value_type = String)]
    pub kind: EventKind,
    /// The actor that spoke.
    pub actor: String,
    /// When the broker stored the event (RFC 3339, UTC).
    pub stored_at: String,
    /// When the event happened in the emitter's world (RFC 3339, UTC).
    pub occurred_at: String,
    /// The event's own date (made on, taken on, reported on, effective on), the valid-time
    /// axis that `as_of=YYYY-MM-DD` cuts.
    pub happened_on: String,
    /// Recorded 30 days or more after it happened.
    pub backfilled: bool,
    /// blake3 chain hash of the log entry, hex.
    pub entry_hash: String,
    /// One line for people.
    pub summary: String,
    /// Set when the event no longer counts.
    pub retracted_by: Option<RetractionView>,
    pub detail: EventDetail,
    pub proof: ProofLinks,
}

/// An amended field with its value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldChange {
    /// text, due_by, target_value, target_period, scope or title.
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MoneyView {
    pub amount_minor: i64,
    pub currency: String,
    pub stage: MoneyStage,
    /// This commitment's share when the action serves several.
    pub share_minor: i64,
}

/// The fields of an event that matter to its commitment; which are present depends on the kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct EventDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub made_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_by: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "by_name::optional"
    )]
    #[schema(value_type = Option<String>)]
    pub class: Option<AmendmentClass>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "by_name::optional"
    )]
    #[schema(value_type = Option<String>)]
    pub action_type: Option<ActionType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub money: Option<MoneyView>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commitment_ids: Vec<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "by_name::optional"
    )]
    #[schema(value_type = Option<String>)]
    pub verdict: Option<Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator_actual: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lessons: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_event_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "by_name::optional"
    )]
    #[schema(value_type = Option<String>)]
    pub stance: Option<Stance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predecessor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_on: Option<String>,
    /// For a retraction: the event it retracts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retracts: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Link>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CommitmentHistory {
    pub as_of: AsOfInfo,
    pub id: String,
    pub events: Vec<HistoryEvent>,
}

/// Whose scorecard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Scope {
    Actor(String),
    Theme(String),
    All,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FlagCounts {
    pub amended: i64,
    pub goalposts_moved: i64,
    pub target_moved: i64,
    pub deadline_moved: i64,
    pub disputed: i64,
    pub succeeded: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OverdueItem {
    pub id: String,
    pub title: String,
    pub due_by: String,
    pub days_overdue: i32,
    /// not_started or in_progress: whether any action was recorded.
    pub progress: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OverdueList {
    pub total: i64,
    /// Most overdue first, at most the limit asked for.
    pub items: Vec<OverdueItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
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
    /// The named indicators' targets, as first made and as they stand.
    pub original_targets: Vec<crate::Target>,
    pub current_targets: Vec<crate::Target>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GoalpostList {
    pub total: i64,
    /// In commitment id order, at most the limit asked for.
    pub items: Vec<GoalpostItem>,
}

/// Promised against done for an actor, a theme or everyone.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Scorecard {
    pub scope: Scope,
    /// The actor, for an actor's scorecard.
    pub actor: Option<Actor>,
    pub as_of: AsOfInfo,
    pub commitments: i64,
    pub counts: StatusCounts,
    /// Delivered, partly delivered, not delivered or withdrawn.
    pub resolved: i64,
    /// (delivered + ½ × partly delivered) ÷ resolved; null when nothing is resolved.
    pub delivery_rate: Option<f64>,
    /// Median days from made_on to the deciding outcome's reported_on.
    pub median_days_to_outcome: Option<f64>,
    pub flags: FlagCounts,
    /// Money recorded against the commitments, per currency.
    pub money: Vec<MoneyTotals>,
    pub overdue: OverdueList,
    pub goalposts_moved: GoalpostList,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ThemeSummary {
    pub theme: String,
    /// One of the seven seed values (sustainability, safety, equity, dignity, opportunity,
    /// community, love) rather than a free tag.
    pub seed: bool,
    pub commitments: i64,
    pub counts: StatusCounts,
    pub delivery_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ThemeList {
    pub as_of: AsOfInfo,
    pub items: Vec<ThemeSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LeagueRow {
    pub rank: u32,
    pub actor: String,
    pub name: String,
    #[serde(serialize_with = "by_name::one")]
    #[schema(value_type = String)]
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

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LeagueTable {
    pub as_of: AsOfInfo,
    /// Actors need at least this many resolved commitments to be ranked.
    pub min_resolved: u32,
    /// Only actors of this kind, when asked.
    #[serde(serialize_with = "by_name::optional")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<ActorKind>,
    pub rows: Vec<LeagueRow>,
    /// Actors left out for having fewer resolved commitments than the minimum.
    pub unranked: i64,
}

/// What a feed entry announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    NewCommitment,
    Amended,
    Outcome,
    Withdrawn,
    Overdue,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FeedEntry {
    /// Stable, unique id (a URN).
    pub id: String,
    pub kind: FeedKind,
    pub commitment_id: String,
    pub title: String,
    pub summary: String,
    /// When it happened in the world (YYYY-MM-DD): the event's own date (see `happened_on` in
    /// the history), or for overdue the first day past the due date.
    pub published: String,
    /// When the log recorded it: the broker storage time, or for overdue the start of the
    /// first day past the due date (RFC 3339, UTC).
    pub updated: String,
    pub updated_ns: u64,
    pub seq: Option<u64>,
    pub event_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Feed {
    pub scope: Scope,
    pub title: String,
    pub as_of: AsOfInfo,
    /// Newest first.
    pub entries: Vec<FeedEntry>,
}
