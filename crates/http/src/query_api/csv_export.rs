//! CSV versions of the lists: one row per item, flat columns, dates as YYYY-MM-DD.

use crate::{proofs, sentences};
use covenant_core::SchemaName;
use covenant_query::view::{
    ActorSummary, CommitmentSummary, HistoryEvent, LeagueRow, ThemeSummary,
};

/// Rows under a header, as CSV text.
pub struct Table {
    writer: csv::Writer<Vec<u8>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        let mut writer = csv::Writer::from_writer(Vec::new());
        // Writing into a Vec cannot fail.
        writer.write_record(header).expect("csv into memory");
        Self { writer }
    }

    pub fn row<I, S>(&mut self, fields: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = fields
            .into_iter()
            .map(|field| spreadsheet_safe(field.as_ref()))
            .collect();
        self.writer.write_record(&cells).expect("csv into memory");
    }

    pub fn finish(self) -> Vec<u8> {
        self.writer.into_inner().expect("csv into memory")
    }
}

/// Text that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@` or a
/// control character and is not a number) gets a leading apostrophe: emitters write titles and
/// summaries, and a newsroom opens these files in a spreadsheet.
fn spreadsheet_safe(cell: &str) -> String {
    let risky = cell
        .chars()
        .next()
        .is_some_and(|first| matches!(first, '=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky && cell.parse::<f64>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

fn optional<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

pub const COMMITMENT_HEADER: [&str; 28] = [
    "id",
    "title",
    "original_title",
    "text",
    "original_text",
    "owner",
    "maker",
    "themes",
    "made_on",
    "due_by",
    "original_due_by",
    "target",
    "original_target",
    "target_period",
    "original_target_period",
    "targets",
    "original_targets",
    "delivery_partners",
    "status",
    "claimed_status",
    "days_overdue",
    "outcome_on",
    "amendments",
    "target_moves",
    "deadline_moves",
    "goalposts_moved",
    "disputed",
    "succeeded",
];

/// Named targets as one cell, each with its unit and period when it has them:
/// `homes: at_least 1500000 homes (2029); decisions: between 10 20`.
fn targets(targets: &[covenant_query::Target]) -> String {
    targets
        .iter()
        .map(|target| {
            let mut cell = format!(
                "{}: {} {}",
                target.indicator_id,
                target.comparator.schema_name(),
                target.value
            );
            if let Some(upper) = target.upper {
                cell.push_str(&format!(" {upper}"));
            }
            if !target.unit.is_empty() {
                cell.push_str(&format!(" {}", target.unit));
            }
            if !target.period.is_empty() {
                cell.push_str(&format!(" ({})", target.period));
            }
            cell
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn commitment_row(table: &mut Table, item: &CommitmentSummary) {
    table.row([
        item.id.clone(),
        item.title.clone(),
        item.original_title.clone(),
        item.text.clone(),
        item.original_text.clone(),
        item.owner.clone(),
        item.maker.clone(),
        item.themes.join(";"),
        item.made_on.clone(),
        optional(&item.due_by),
        optional(&item.original_due_by),
        optional(&item.target_value),
        optional(&item.original_target_value),
        optional(&item.target_period),
        optional(&item.original_target_period),
        targets(&item.targets),
        targets(&item.original_targets),
        item.delivery_partners.join(";"),
        item.status.to_string(),
        optional(&item.claimed_status),
        optional(&item.days_overdue),
        optional(&item.outcome_on),
        item.flags.amendments.to_string(),
        item.flags.target_moves.to_string(),
        item.flags.deadline_moves.to_string(),
        item.flags.goalposts_moved.to_string(),
        item.flags.disputed.to_string(),
        item.flags.succeeded.to_string(),
    ]);
}

pub const ACTOR_HEADER: [&str; 16] = [
    "id",
    "name",
    "kind",
    "constituency",
    "party",
    "successors",
    "predecessors",
    "commitments",
    "not_started",
    "in_progress",
    "overdue",
    "delivered",
    "partly_delivered",
    "not_delivered",
    "withdrawn",
    "delivery_rate",
];

pub fn actor_row(table: &mut Table, item: &ActorSummary) {
    let counts = &item.counts;
    table.row([
        item.actor.id.clone(),
        item.actor.name.clone(),
        item.actor.kind.schema_name().to_owned(),
        optional(&item.actor.constituency),
        optional(&item.actor.party),
        item.actor.successors.join(";"),
        item.actor.predecessors.join(";"),
        item.commitments.to_string(),
        counts.not_started.to_string(),
        counts.in_progress.to_string(),
        counts.overdue.to_string(),
        counts.delivered.to_string(),
        counts.partly_delivered.to_string(),
        counts.not_delivered.to_string(),
        counts.withdrawn.to_string(),
        optional(&item.delivery_rate),
    ]);
}

pub fn themes(items: &[ThemeSummary]) -> Vec<u8> {
    let mut table = Table::new(&[
        "theme",
        "seed",
        "commitments",
        "not_started",
        "in_progress",
        "overdue",
        "delivered",
        "partly_delivered",
        "not_delivered",
        "withdrawn",
        "delivery_rate",
    ]);
    for item in items {
        let counts = &item.counts;
        table.row([
            item.theme.clone(),
            item.seed.to_string(),
            item.commitments.to_string(),
            counts.not_started.to_string(),
            counts.in_progress.to_string(),
            counts.overdue.to_string(),
            counts.delivered.to_string(),
            counts.partly_delivered.to_string(),
            counts.not_delivered.to_string(),
            counts.withdrawn.to_string(),
            optional(&item.delivery_rate),
        ]);
    }
    table.finish()
}

pub fn league(rows: &[LeagueRow]) -> Vec<u8> {
    let mut table = Table::new(&[
        "rank",
        "actor",
        "name",
        "kind",
        "commitments",
        "resolved",
        "delivered",
        "partly_delivered",
        "not_delivered",
        "withdrawn",
        "overdue",
        "delivery_rate",
    ]);
    for row in rows {
        table.row([
            row.rank.to_string(),
            row.actor.clone(),
            row.name.clone(),
            row.kind.schema_name().to_owned(),
            row.commitments.to_string(),
            row.resolved.to_string(),
            row.delivered.to_string(),
            row.partly_delivered.to_string(),
            row.not_delivered.to_string(),
            row.withdrawn.to_string(),
            row.overdue.to_string(),
            row.delivery_rate.to_string(),
        ]);
    }
    table.finish()
}

/// One row per event; an amendment has one row per field it changed, each with the value
/// before and after, so a goalpost move reads back from the file alone.
pub fn history(events: &[HistoryEvent]) -> Vec<u8> {
    let mut table = Table::new(&[
        "seq",
        "event_id",
        "kind",
        "actor",
        "happened_on",
        "stored_at",
        "backfilled",
        "occurred_at",
        "summary",
        "class",
        "field",
        "old_value",
        "new_value",
        "rationale",
        "retracted_by",
        "entry_hash",
        "inclusion_proof",
        "proof_bundle",
    ]);
    for event in events {
        let detail = &event.detail;
        let changes: Vec<(String, String, String)> = if detail.changes.is_empty() {
            vec![Default::default()]
        } else {
            detail
                .changes
                .iter()
                .map(|change| {
                    let old = change.old_value.clone().unwrap_or_default();
                    (sentences::field_name(change), old, change.new_value.clone())
                })
                .collect()
        };
        for (field, old_value, new_value) in changes {
            table.row([
                event.seq.to_string(),
                event.event_id.clone(),
                event.kind.name().to_owned(),
                event.actor.clone(),
                event.happened_on.clone(),
                event.stored_at.clone(),
                event.backfilled.to_string(),
                event.occurred_at.clone(),
                sentences::history_line(event),
                detail
                    .class
                    .map_or("", |class| class.schema_name())
                    .to_owned(),
                field,
                old_value,
                new_value,
                detail.rationale.clone().unwrap_or_default(),
                event
                    .retracted_by
                    .as_ref()
                    .map(|r| r.event_id.clone())
                    .unwrap_or_default(),
                event.entry_hash.clone(),
                proofs::inclusion_path(event.seq),
                proofs::bundle_path(&event.event_id),
            ]);
        }
    }
    table.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::proto::Comparator;

    #[test]
    fn named_targets_keep_their_units_and_periods_in_one_cell() {
        let target =
            |id: &str, comparator, value, upper, unit: &str, period: &str| covenant_query::Target {
                indicator_id: id.into(),
                comparator,
                value,
                upper,
                unit: unit.into(),
                period: period.into(),
            };
        let cell = targets(&[
            target(
                "main",
                Comparator::AtLeast,
                6500.0,
                None,
                "teachers",
                "by the end of this Parliament",
            ),
            target("waits", Comparator::Between, 10.0, Some(20.0), "", ""),
        ]);
        assert_eq!(
            cell,
            "main: at_least 6500 teachers (by the end of this Parliament); waits: between 10 20"
        );
    }

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        let mut table = Table::new(&["a", "b", "c", "d"]);
        table.row(["=HYPERLINK(\"x\")", "-1.5", "@SUM(A1)", "plain, with comma"]);
        let text = String::from_utf8(table.finish()).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert_eq!(
            row,
            "\"'=HYPERLINK(\"\"x\"\")\",-1.5,'@SUM(A1),\"plain, with comma\""
        );
    }
}
