//! The sentences people read about the log: one line for each event of a commitment's
//! history, and a feed's title with each entry's heading and summary. Pages, the JSON API, CSV
//! and Atom all say them from here, in the same words.

use covenant_core::SchemaName;
use covenant_core::facts::amended_field_name;
use covenant_core::proto::EventKind;
use covenant_query::view::{
    Feed, FeedEntry, FeedKind, FeedSource, FieldChange, HistoryEvent, Scope,
};

/// A changed field's name as exports show it: `due_by`, or `target_value:<indicator>` for a
/// named indicator's field.
pub fn field_name(change: &FieldChange) -> String {
    amended_field_name(
        change.field.schema_name(),
        change.indicator_id.as_deref().unwrap_or_default(),
    )
}

/// A schema name as words: `partly_delivered` as "partly delivered".
fn words(name: &str) -> String {
    name.replace('_', " ")
}

/// One line for people about an event of a commitment's history.
pub fn history_line(event: &HistoryEvent) -> String {
    let actor = &event.actor;
    let detail = &event.detail;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    match event.kind {
        EventKind::CommitmentMade => {
            format!("{actor} made the commitment: {}", text(&detail.title))
        }
        EventKind::CommitmentAmended => {
            let fields: Vec<String> = detail.changes.iter().map(field_name).collect();
            format!("{actor} amended {}", fields.join(", "))
        }
        EventKind::CommitmentWithdrawn => format!("{actor} withdrew the commitment"),
        EventKind::ActionRecorded => {
            format!("{actor} recorded an action: {}", text(&detail.description))
        }
        EventKind::OutcomeReported => {
            let verdict = detail.verdict.map(|verdict| words(verdict.schema_name()));
            format!(
                "{actor} reported the outcome: {}",
                verdict.unwrap_or_default()
            )
        }
        EventKind::AssessmentPublished => {
            let stance = detail.stance.map(|stance| stance.schema_name());
            let verb = stance.unwrap_or_default().replace("agrees", "agrees with");
            format!("{actor} {verb} the outcome")
        }
        EventKind::ActorSucceeded => format!(
            "the commitment passed from {} to {}",
            text(&detail.predecessor),
            text(&detail.successor)
        ),
        EventKind::CommitmentAdopted => format!("{actor} adopted the pledge"),
        EventKind::Retraction => format!("{actor} retracted event {}", text(&detail.retracts)),
        other => words(other.name()),
    }
}

/// A feed's title.
pub fn feed_title(feed: &Feed) -> String {
    match &feed.scope {
        Scope::Theme(theme) => format!("Theme {theme}: promised and done"),
        Scope::Actor(_) | Scope::All => format!("{}: promised and done", feed.name),
    }
}

/// A feed entry's heading: what happened, and to which commitment.
pub fn feed_heading(entry: &FeedEntry) -> String {
    let title = &entry.commitment_title;
    match entry.kind {
        FeedKind::NewCommitment => format!("New commitment: {title}"),
        FeedKind::Amended => format!("Amended: {title}"),
        FeedKind::Withdrawn => format!("Withdrawn: {title}"),
        FeedKind::Outcome => {
            let verdict = entry.verdict.map(|verdict| words(verdict.schema_name()));
            format!("Outcome ({}): {title}", verdict.unwrap_or_default())
        }
        FeedKind::Overdue => format!("Overdue: {title}"),
    }
}

/// A feed entry's summary: the event's own words, or for overdue what is missing.
pub fn feed_summary(entry: &FeedEntry) -> String {
    match &entry.source {
        FeedSource::Event { .. } => entry.text.clone(),
        FeedSource::Overdue { due_by } => format!(
            "{} was due by {due_by} and has no reported outcome",
            entry.commitment_id
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::event::Date;
    use covenant_core::proto::{AmendedField, Verdict};
    use covenant_query::view::AsOfInfo;

    fn entry(kind: FeedKind, source: FeedSource) -> FeedEntry {
        FeedEntry {
            kind,
            source,
            commitment_id: "dcms-arts".into(),
            commitment_title: "Open the galleries".into(),
            text: "All of them opened.".into(),
            verdict: Some(Verdict::PartlyDelivered),
            published: "2026-04-01".into(),
            updated: "2026-04-01T00:00:00Z".into(),
            updated_ns: 0,
        }
    }

    fn event_source() -> FeedSource {
        FeedSource::Event {
            event_id: "e1".into(),
            seq: 7,
        }
    }

    #[test]
    fn a_named_indicators_field_carries_the_indicator() {
        let change = |indicator_id: Option<&str>| FieldChange {
            field: AmendedField::TargetValue,
            indicator_id: indicator_id.map(str::to_owned),
            old_value: None,
            new_value: "80".into(),
        };
        assert_eq!(field_name(&change(Some("homes"))), "target_value:homes");
        assert_eq!(field_name(&change(None)), "target_value");
    }

    #[test]
    fn feed_headings_name_what_happened_and_the_verdict_in_words() {
        let outcome = entry(FeedKind::Outcome, event_source());
        assert_eq!(
            feed_heading(&outcome),
            "Outcome (partly delivered): Open the galleries"
        );
        assert_eq!(feed_summary(&outcome), "All of them opened.");
        let due_by = Date::parse("2026-03-31").unwrap();
        let overdue = entry(FeedKind::Overdue, FeedSource::Overdue { due_by });
        assert_eq!(feed_heading(&overdue), "Overdue: Open the galleries");
        assert_eq!(
            feed_summary(&overdue),
            "dcms-arts was due by 2026-03-31 and has no reported outcome"
        );
    }

    #[test]
    fn a_theme_feed_is_titled_by_its_theme_and_an_actors_by_its_name() {
        let feed = |scope: Scope| Feed {
            scope,
            name: "Department for Culture".into(),
            as_of: AsOfInfo {
                size: 1,
                date: "2026-04-01".into(),
                world: None,
                latest: true,
            },
            entries: vec![],
        };
        assert_eq!(
            feed_title(&feed(Scope::Actor("dcms".into()))),
            "Department for Culture: promised and done"
        );
        assert_eq!(
            feed_title(&feed(Scope::Theme("love".into()))),
            "Theme love: promised and done"
        );
    }
}
