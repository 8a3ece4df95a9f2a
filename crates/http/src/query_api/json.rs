//! The query API's JSON answers: the shape of every body, its OpenAPI schema, and the links only
//! HTTP knows. Each type is built from the covenant-query view of the same name, which holds
//! the data without a wire form.
//!
//! Dates are `YYYY-MM-DD` strings, instants RFC 3339 (UTC), money integer minor units.

use covenant_core::proto::{
    ActionType, ActorKind, AmendmentClass, Comparator, EventKind, SourceKind, Stance,
    SuccessionKind, Verdict,
};
use covenant_query::{state, view};
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

/// Each view of a list in its JSON form.
fn list<V, J: From<V>>(views: Vec<V>) -> Vec<J> {
    views.into_iter().map(J::from).collect()
}

/// Where a commitment stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    NotStarted,
    InProgress,
    Overdue,
    Delivered,
    PartlyDelivered,
    NotDelivered,
    Withdrawn,
    Retracted,
}

impl From<state::Status> for Status {
    fn from(status: state::Status) -> Self {
        match status {
            state::Status::NotStarted => Self::NotStarted,
            state::Status::InProgress => Self::InProgress,
            state::Status::Overdue => Self::Overdue,
            state::Status::Delivered => Self::Delivered,
            state::Status::PartlyDelivered => Self::PartlyDelivered,
            state::Status::NotDelivered => Self::NotDelivered,
            state::Status::Withdrawn => Self::Withdrawn,
            state::Status::Retracted => Self::Retracted,
        }
    }
}

/// Money stages, as the schema defines them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MoneyStage {
    Pledged,
    Committed,
    Spent,
}

impl From<state::MoneyStage> for MoneyStage {
    fn from(stage: state::MoneyStage) -> Self {
        match stage {
            state::MoneyStage::Pledged => Self::Pledged,
            state::MoneyStage::Committed => Self::Committed,
            state::MoneyStage::Spent => Self::Spent,
        }
    }
}

/// Commitments per status.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusCounts {
    pub not_started: i64,
    pub in_progress: i64,
    pub overdue: i64,
    pub delivered: i64,
    pub partly_delivered: i64,
    pub not_delivered: i64,
    pub withdrawn: i64,
}

impl From<covenant_query::StatusCounts> for StatusCounts {
    fn from(counts: covenant_query::StatusCounts) -> Self {
        let covenant_query::StatusCounts {
            not_started,
            in_progress,
            overdue,
            delivered,
            partly_delivered,
            not_delivered,
            withdrawn,
        } = counts;
        Self {
            not_started,
            in_progress,
            overdue,
            delivered,
            partly_delivered,
            not_delivered,
            withdrawn,
        }
    }
}

/// A named indicator's target in a record: enough for lists and exports.
#[derive(Debug, Serialize, ToSchema)]
pub struct Target {
    pub indicator_id: String,
    /// at_least, at_most, exactly or between.
    #[serde(serialize_with = "by_name::one")]
    #[schema(value_type = String)]
    pub comparator: Comparator,
    pub value: f64,
    pub upper: Option<f64>,
    pub unit: String,
    /// When the target is for, as the commitment words it; empty when it names none.
    pub period: String,
}

impl From<covenant_query::Target> for Target {
    fn from(target: covenant_query::Target) -> Self {
        Self {
            indicator_id: target.indicator_id,
            comparator: target.comparator,
            value: target.value,
            upper: target.upper,
            unit: target.unit,
            period: target.period,
        }
    }
}

impl From<view::Scope> for Scope {
    fn from(scope: view::Scope) -> Self {
        match scope {
            view::Scope::Actor(id) => Self::Actor(id),
            view::Scope::Theme(theme) => Self::Theme(theme),
            view::Scope::All => Self::All,
        }
    }
}

/// The point of the log an answer describes.
#[derive(Debug, Serialize, ToSchema)]
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

impl From<view::AsOfInfo> for AsOfInfo {
    fn from(view: view::AsOfInfo) -> Self {
        Self {
            size: view.size,
            date: view.date,
            world: view.world,
            latest: view.latest,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
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

impl From<view::Actor> for Actor {
    fn from(view: view::Actor) -> Self {
        Self {
            id: view.id,
            name: view.name,
            kind: view.kind,
            identifiers: view.identifiers,
            constituency: view.constituency,
            party: view.party,
            url: view.url,
            registered_seq: view.registered_seq,
            retracted: view.retracted,
            successors: view.successors,
            predecessors: view.predecessors,
        }
    }
}

/// An actor with its headline figures, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorSummary {
    #[serde(flatten)]
    pub actor: Actor,
    pub commitments: i64,
    pub counts: StatusCounts,
    pub delivery_rate: Option<f64>,
}

impl From<view::ActorSummary> for ActorSummary {
    fn from(view: view::ActorSummary) -> Self {
        Self {
            actor: view.actor.into(),
            commitments: view.commitments,
            counts: view.counts.into(),
            delivery_rate: view.delivery_rate,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActorPage {
    pub as_of: AsOfInfo,
    pub items: Vec<ActorSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<view::ActorPage> for ActorPage {
    fn from(view: view::ActorPage) -> Self {
        Self {
            as_of: view.as_of.into(),
            items: list(view.items),
            next_cursor: view.next_cursor,
        }
    }
}

/// Flags that show beside a commitment's status.
#[derive(Debug, Serialize, ToSchema)]
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

impl From<view::CommitmentFlags> for CommitmentFlags {
    fn from(view: view::CommitmentFlags) -> Self {
        Self {
            amendments: view.amendments,
            target_moves: view.target_moves,
            deadline_moves: view.deadline_moves,
            goalposts_moved: view.goalposts_moved,
            disputed: view.disputed,
            succeeded: view.succeeded,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
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
    /// The verdict the latest outcome claims; the status may differ when named indicators
    /// decide it (docs/STATUS.md).
    pub claimed_status: Option<Status>,
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
    pub targets: Vec<Target>,
    pub original_targets: Vec<Target>,
}

impl From<view::CommitmentSummary> for CommitmentSummary {
    fn from(view: view::CommitmentSummary) -> Self {
        Self {
            id: view.id,
            title: view.title,
            owner: view.owner,
            maker: view.maker,
            themes: view.themes,
            made_on: view.made_on,
            due_by: view.due_by,
            status: view.status.into(),
            days_overdue: view.days_overdue,
            outcome_on: view.outcome_on,
            claimed_status: view.claimed_status.map(Into::into),
            flags: view.flags.into(),
            delivery_partners: view.delivery_partners,
            text: view.text,
            original_title: view.original_title,
            original_text: view.original_text,
            original_due_by: view.original_due_by,
            target_value: view.target_value,
            original_target_value: view.original_target_value,
            target_period: view.target_period,
            original_target_period: view.original_target_period,
            targets: list(view.targets),
            original_targets: list(view.original_targets),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommitmentPage {
    pub as_of: AsOfInfo,
    pub items: Vec<CommitmentSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<view::CommitmentPage> for CommitmentPage {
    fn from(view: view::CommitmentPage) -> Self {
        Self {
            as_of: view.as_of.into(),
            items: list(view.items),
            next_cursor: view.next_cursor,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
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

impl From<view::Terms> for Terms {
    fn from(view: view::Terms) -> Self {
        Self {
            title: view.title,
            text: view.text,
            due_by: view.due_by,
            target_value: view.target_value,
            target_period: view.target_period,
            scope: view.scope,
            indicators: list(view.indicators),
        }
    }
}

/// One named indicator's target.
#[derive(Debug, Serialize, ToSchema)]
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
    /// Whether the latest measured value meets the current target; null before any
    /// measurement.
    pub met: Option<bool>,
}

impl From<view::IndicatorTarget> for IndicatorTarget {
    fn from(view: view::IndicatorTarget) -> Self {
        Self {
            indicator_id: view.indicator_id,
            measure: view.measure,
            unit: view.unit,
            comparator: view.comparator,
            target_value: view.target_value,
            target_upper: view.target_upper,
            target_period: view.target_period,
            deadline: view.deadline,
            baseline_value: view.baseline_value,
            baseline_date: view.baseline_date,
            latest_value: view.latest_value,
            latest_measured_on: view.latest_measured_on,
            met: view.met,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Link {
    pub title: String,
    pub url: String,
    /// The kind of document, when given (manifesto, policy_paper, ...).
    #[serde(serialize_with = "by_name::optional")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<SourceKind>,
}

impl From<view::Link> for Link {
    fn from(view: view::Link) -> Self {
        Self {
            title: view.title,
            url: view.url,
            kind: view.kind,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Source {
    /// manifesto, covenant, speech, parliamentary_answer, policy_paper, pledge or other.
    #[serde(serialize_with = "by_name::one")]
    #[schema(value_type = String)]
    pub kind: SourceKind,
    pub title: String,
    pub url: String,
}

impl From<view::Source> for Source {
    fn from(view: view::Source) -> Self {
        Self {
            kind: view.kind,
            title: view.title,
            url: view.url,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Indicator {
    pub measure: String,
    pub unit: String,
    pub higher_is_better: bool,
    /// Absent when the commitment gave none (never zero in its place).
    pub baseline_value: Option<f64>,
    pub baseline_date: Option<String>,
}

impl From<view::Indicator> for Indicator {
    fn from(view: view::Indicator) -> Self {
        Self {
            measure: view.measure,
            unit: view.unit,
            higher_is_better: view.higher_is_better,
            baseline_value: view.baseline_value,
            baseline_date: view.baseline_date,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Succession {
    pub original_owner: String,
    pub current_owner: String,
    /// Each hand-over, oldest first.
    pub steps: Vec<SuccessionStep>,
}

impl From<view::Succession> for Succession {
    fn from(view: view::Succession) -> Self {
        Self {
            original_owner: view.original_owner,
            current_owner: view.current_owner,
            steps: list(view.steps),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
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

impl From<view::SuccessionStep> for SuccessionStep {
    fn from(view: view::SuccessionStep) -> Self {
        Self {
            seq: view.seq,
            event_id: view.event_id,
            predecessor: view.predecessor,
            successor: view.successor,
            kind: view.kind,
            effective_on: view.effective_on,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
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

impl From<view::OutcomeView> for OutcomeView {
    fn from(view: view::OutcomeView) -> Self {
        Self {
            seq: view.seq,
            event_id: view.event_id,
            verdict: view.verdict,
            reported_on: view.reported_on,
            indicator_actual: view.indicator_actual,
            actual_period: view.actual_period,
            summary: view.summary,
            lessons: view.lessons,
            evidence: list(view.evidence),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
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

impl From<view::AssessmentView> for AssessmentView {
    fn from(view: view::AssessmentView) -> Self {
        Self {
            seq: view.seq,
            event_id: view.event_id,
            assessor: view.assessor,
            stance: view.stance,
            assessed_verdict: view.assessed_verdict,
            summary: view.summary,
            evidence: list(view.evidence),
        }
    }
}

/// A pledge made before office, adopted by a public body.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdoptionView {
    pub seq: u64,
    pub event_id: String,
    /// The body that adopted it and answers for it.
    pub adopted_by: String,
    pub adopted_on: String,
    pub note: Option<String>,
}

impl From<view::AdoptionView> for AdoptionView {
    fn from(view: view::AdoptionView) -> Self {
        Self {
            seq: view.seq,
            event_id: view.event_id,
            adopted_by: view.adopted_by,
            adopted_on: view.adopted_on,
            note: view.note,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WithdrawalView {
    pub seq: u64,
    pub event_id: String,
    pub reason: String,
}

impl From<view::WithdrawalView> for WithdrawalView {
    fn from(view: view::WithdrawalView) -> Self {
        Self {
            seq: view.seq,
            event_id: view.event_id,
            reason: view.reason,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MoneyTotals {
    /// ISO 4217 code.
    pub currency: String,
    pub pledged_minor: i64,
    pub committed_minor: i64,
    pub spent_minor: i64,
}

impl From<view::MoneyTotals> for MoneyTotals {
    fn from(view: view::MoneyTotals) -> Self {
        Self {
            currency: view.currency,
            pledged_minor: view.pledged_minor,
            committed_minor: view.committed_minor,
            spent_minor: view.spent_minor,
        }
    }
}

/// A retraction that makes an event stop counting.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetractionView {
    pub seq: u64,
    pub event_id: String,
    pub reason: String,
}

impl From<view::RetractionView> for RetractionView {
    fn from(view: view::RetractionView) -> Self {
        Self {
            seq: view.seq,
            event_id: view.event_id,
            reason: view.reason,
        }
    }
}

/// Everything about one commitment as of a point, with its history.
#[derive(Debug, Serialize, ToSchema)]
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

impl From<view::CommitmentDetail> for CommitmentDetail {
    fn from(view: view::CommitmentDetail) -> Self {
        Self {
            as_of: view.as_of.into(),
            id: view.id,
            status: view.status.into(),
            days_overdue: view.days_overdue,
            owner: view.owner,
            maker: view.maker,
            made_on: view.made_on,
            themes: view.themes,
            partners: view.partners,
            delivery_partners: view.delivery_partners,
            source: view.source.map(Into::into),
            sources: list(view.sources),
            evidence: list(view.evidence),
            indicator: view.indicator.map(Into::into),
            recorded_on: view.recorded_on,
            backfilled: view.backfilled,
            adoption: view.adoption.map(Into::into),
            claimed_status: view.claimed_status.map(Into::into),
            original: view.original.into(),
            current: view.current.into(),
            flags: view.flags.into(),
            succession: view.succession.map(Into::into),
            outcome: view.outcome.map(Into::into),
            assessments: list(view.assessments),
            withdrawal: view.withdrawal.map(Into::into),
            actions: view.actions,
            money: list(view.money),
            retracted: view.retracted.map(Into::into),
            history: list(view.history),
        }
    }
}

/// Where to get the proofs that an entry is in the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofLinks {
    /// Inclusion proof of the entry in the latest checkpoint.
    pub inclusion: String,
    /// Self-contained proof bundle for the event.
    pub bundle: String,
}

impl ProofLinks {
    fn of(seq: u64, event_id: &str) -> Self {
        Self {
            inclusion: crate::proofs::inclusion_path(seq),
            bundle: crate::proofs::bundle_path(event_id),
        }
    }
}

/// One event about a commitment.
#[derive(Debug, Serialize, ToSchema)]
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

impl From<view::HistoryEvent> for HistoryEvent {
    fn from(view: view::HistoryEvent) -> Self {
        let summary = crate::sentences::history_line(&view);
        let proof = ProofLinks::of(view.seq, &view.event_id);
        Self {
            seq: view.seq,
            event_id: view.event_id,
            kind: view.kind,
            actor: view.actor,
            stored_at: view.stored_at,
            occurred_at: view.occurred_at,
            happened_on: view.happened_on,
            backfilled: view.backfilled,
            entry_hash: view.entry_hash,
            summary,
            retracted_by: view.retracted_by.map(Into::into),
            detail: view.detail.into(),
            proof,
        }
    }
}

/// An amended field with its value before and after.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldChange {
    /// text, due_by, target_value, target_period, scope or title.
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
}

impl From<view::FieldChange> for FieldChange {
    fn from(view: view::FieldChange) -> Self {
        Self {
            field: crate::sentences::field_name(&view),
            old_value: view.old_value,
            new_value: view.new_value,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MoneyView {
    pub amount_minor: i64,
    pub currency: String,
    pub stage: MoneyStage,
    /// This commitment's share when the action serves several.
    pub share_minor: i64,
}

impl From<view::MoneyView> for MoneyView {
    fn from(view: view::MoneyView) -> Self {
        Self {
            amount_minor: view.amount_minor,
            currency: view.currency,
            stage: view.stage.into(),
            share_minor: view.share_minor,
        }
    }
}

/// The fields of an event that matter to its commitment; which are present depends on the kind.
#[derive(Debug, Serialize, ToSchema)]
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
    /// The period `indicator_actual` covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_period: Option<String>,
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

impl From<view::EventDetail> for EventDetail {
    fn from(view: view::EventDetail) -> Self {
        Self {
            title: view.title,
            text: view.text,
            made_on: view.made_on,
            due_by: view.due_by,
            class: view.class,
            changes: list(view.changes),
            rationale: view.rationale,
            reason: view.reason,
            action_id: view.action_id,
            action_type: view.action_type,
            taken_on: view.taken_on,
            description: view.description,
            money: view.money.map(Into::into),
            commitment_ids: view.commitment_ids,
            verdict: view.verdict,
            reported_on: view.reported_on,
            indicator_actual: view.indicator_actual,
            actual_period: view.actual_period,
            summary: view.summary,
            lessons: view.lessons,
            outcome_event_id: view.outcome_event_id,
            stance: view.stance,
            predecessor: view.predecessor,
            successor: view.successor,
            effective_on: view.effective_on,
            retracts: view.retracts,
            evidence: list(view.evidence),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommitmentHistory {
    pub as_of: AsOfInfo,
    pub id: String,
    pub events: Vec<HistoryEvent>,
}

impl From<view::CommitmentHistory> for CommitmentHistory {
    fn from(view: view::CommitmentHistory) -> Self {
        Self {
            as_of: view.as_of.into(),
            id: view.id,
            events: list(view.events),
        }
    }
}

/// Whose scorecard.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Scope {
    Actor(String),
    Theme(String),
    All,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagCounts {
    pub amended: i64,
    pub goalposts_moved: i64,
    pub target_moved: i64,
    pub deadline_moved: i64,
    pub disputed: i64,
    pub succeeded: i64,
}

impl From<view::FlagCounts> for FlagCounts {
    fn from(view: view::FlagCounts) -> Self {
        Self {
            amended: view.amended,
            goalposts_moved: view.goalposts_moved,
            target_moved: view.target_moved,
            deadline_moved: view.deadline_moved,
            disputed: view.disputed,
            succeeded: view.succeeded,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueItem {
    pub id: String,
    pub title: String,
    pub due_by: String,
    pub days_overdue: i32,
    /// not_started or in_progress: whether any action was recorded.
    pub progress: Status,
}

impl From<view::OverdueItem> for OverdueItem {
    fn from(view: view::OverdueItem) -> Self {
        Self {
            id: view.id,
            title: view.title,
            due_by: view.due_by,
            days_overdue: view.days_overdue,
            progress: view.progress.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueList {
    pub total: i64,
    /// Most overdue first, at most the limit asked for.
    pub items: Vec<OverdueItem>,
}

impl From<view::OverdueList> for OverdueList {
    fn from(view: view::OverdueList) -> Self {
        Self {
            total: view.total,
            items: list(view.items),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
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
    /// When the latest amendment that moved them happened (`YYYY-MM-DD`).
    pub moved_on: Option<String>,
    /// The named indicators' targets, as first made and as they stand.
    pub original_targets: Vec<Target>,
    pub current_targets: Vec<Target>,
}

impl From<view::GoalpostItem> for GoalpostItem {
    fn from(view: view::GoalpostItem) -> Self {
        Self {
            id: view.id,
            title: view.title,
            original_due_by: view.original_due_by,
            current_due_by: view.current_due_by,
            original_target_value: view.original_target_value,
            current_target_value: view.current_target_value,
            original_target_period: view.original_target_period,
            current_target_period: view.current_target_period,
            target_moves: view.target_moves,
            deadline_moves: view.deadline_moves,
            moved_on: view.moved_on,
            original_targets: list(view.original_targets),
            current_targets: list(view.current_targets),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GoalpostList {
    pub total: i64,
    /// The most recently moved first (then in commitment id order), at most the limit asked
    /// for.
    pub items: Vec<GoalpostItem>,
}

impl From<view::GoalpostList> for GoalpostList {
    fn from(view: view::GoalpostList) -> Self {
        Self {
            total: view.total,
            items: list(view.items),
        }
    }
}

/// Promised against done for an actor, a theme or everyone.
#[derive(Debug, Serialize, ToSchema)]
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
    /// Commitments made, and delivered, per calendar quarter, oldest first; quarters with
    /// neither are left out. Every commitment of the scorecard counts.
    pub over_time: Vec<QuarterCounts>,
}

/// Commitments made in a calendar quarter (by `made_on`), and delivered in it (by the date of
/// the outcome that decided them; partly delivered is not delivered).
#[derive(Debug, Serialize, ToSchema)]
pub struct QuarterCounts {
    /// `YYYY-Qn`, n from 1 (January to March) to 4.
    #[schema(example = "2025-Q3")]
    pub quarter: String,
    pub made: i64,
    pub delivered: i64,
}

impl From<view::QuarterCounts> for QuarterCounts {
    fn from(view: view::QuarterCounts) -> Self {
        let (year, quarter) = covenant_query::year_and_quarter(view.quarter);
        Self {
            quarter: format!("{year:04}-Q{quarter}"),
            made: view.made,
            delivered: view.delivered,
        }
    }
}

impl From<view::Scorecard> for Scorecard {
    fn from(view: view::Scorecard) -> Self {
        Self {
            scope: view.scope.into(),
            actor: view.actor.map(Into::into),
            as_of: view.as_of.into(),
            commitments: view.commitments,
            counts: view.counts.into(),
            resolved: view.resolved,
            delivery_rate: view.delivery_rate,
            median_days_to_outcome: view.median_days_to_outcome,
            flags: view.flags.into(),
            money: list(view.money),
            overdue: view.overdue.into(),
            goalposts_moved: view.goalposts_moved.into(),
            over_time: list(view.over_time),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThemeSummary {
    pub theme: String,
    /// One of the seven seed values (sustainability, safety, equity, dignity, opportunity,
    /// community, love) rather than a free tag.
    pub seed: bool,
    pub commitments: i64,
    pub counts: StatusCounts,
    pub delivery_rate: Option<f64>,
}

impl From<view::ThemeSummary> for ThemeSummary {
    fn from(view: view::ThemeSummary) -> Self {
        Self {
            theme: view.theme,
            seed: view.seed,
            commitments: view.commitments,
            counts: view.counts.into(),
            delivery_rate: view.delivery_rate,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThemeList {
    pub as_of: AsOfInfo,
    pub items: Vec<ThemeSummary>,
}

impl From<view::ThemeList> for ThemeList {
    fn from(view: view::ThemeList) -> Self {
        Self {
            as_of: view.as_of.into(),
            items: list(view.items),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
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

impl From<view::LeagueRow> for LeagueRow {
    fn from(view: view::LeagueRow) -> Self {
        Self {
            rank: view.rank,
            actor: view.actor,
            name: view.name,
            kind: view.kind,
            commitments: view.commitments,
            resolved: view.resolved,
            delivered: view.delivered,
            partly_delivered: view.partly_delivered,
            not_delivered: view.not_delivered,
            withdrawn: view.withdrawn,
            overdue: view.overdue,
            delivery_rate: view.delivery_rate,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
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

impl From<view::LeagueTable> for LeagueTable {
    fn from(view: view::LeagueTable) -> Self {
        Self {
            as_of: view.as_of.into(),
            min_resolved: view.min_resolved,
            kind: view.kind,
            rows: list(view.rows),
            unranked: view.unranked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_in_json_are_the_names_every_other_format_uses() {
        for status in state::Status::ALL {
            let json = serde_json::to_value(Status::from(status)).unwrap();
            assert_eq!(json, status.as_str(), "{status:?}");
        }
    }

    #[test]
    fn money_stages_in_json_are_the_schemas_names() {
        use covenant_core::SchemaName;
        use covenant_core::proto;
        for stage in [
            proto::MoneyStage::Pledged,
            proto::MoneyStage::Committed,
            proto::MoneyStage::Spent,
        ] {
            let ours = state::MoneyStage::from_proto(stage as i32).unwrap();
            let json = serde_json::to_value(MoneyStage::from(ours)).unwrap();
            assert_eq!(json, stage.schema_name(), "{stage:?}");
        }
    }
}
