//! The annual covenant report as a page: every figure of the year beside the year before,
//! each linked to the events it counts, the goalposts moved, the disputes and the largest
//! changes, and how to check it all from the proof bundle. Prints as a document (the site's
//! print stylesheet, plus page breaks before the appendix of counted events).

use super::common::status_badge;
use super::format;
use super::layout::{self, AsOfControl, Frame, Section, segment};
use crate::report::{BuiltReport, page_path};
use covenant_query::report::{Figure, FigureName, Report, ReportScope, YearFigures};
use maud::{Markup, html};

/// The heading of a figure.
pub fn figure_label(name: FigureName) -> &'static str {
    match name {
        FigureName::Made => "Commitments made",
        FigureName::Delivered => "Delivered",
        FigureName::PartlyDelivered => "Partly delivered",
        FigureName::NotDelivered => "Not delivered",
        FigureName::Overdue => "Overdue at the end of the period",
        FigureName::Withdrawn => "Withdrawn",
        FigureName::GoalpostsMoved => "Goalposts moved",
        FigureName::Disputed => "Disputed by assessors",
        FigureName::MoneyPledged => "Money pledged",
        FigureName::MoneyCommitted => "Money committed",
        FigureName::MoneySpent => "Money spent",
    }
}

/// A figure's value as a reader reads it: a count, or money in its currency.
pub fn figure_value(figure: &Figure) -> String {
    match &figure.currency {
        Some(currency) => format::money(clamp(figure.value), currency),
        None => format::thousands(clamp(figure.value)),
    }
}

/// What a figure the other year does not give reads as: money figures appear only where some
/// was recorded, so an absent one is none of that currency (`£0`, as the present ones read).
pub fn absent_value(figure: &Figure) -> String {
    match &figure.currency {
        Some(currency) => format::money(0, currency),
        None => "0".to_owned(),
    }
}

/// An amended field as words: `due_by` is "Deadline", `target_value:main` is "Target for
/// indicator main"; a field not named here is its name as words. (The PDF's template says the
/// same, in `report.typ`.)
pub fn field_label(field: &str) -> String {
    let (name, indicator) = match field.split_once(':') {
        Some((name, indicator)) => (name, Some(indicator)),
        None => (field, None),
    };
    let label = match name {
        "text" => "Wording".to_owned(),
        "due_by" => "Deadline".to_owned(),
        "target_value" => "Target".to_owned(),
        "target_period" => "Target period".to_owned(),
        "scope" => "Scope".to_owned(),
        "title" => "Title".to_owned(),
        "comparator" => "Target comparison".to_owned(),
        other => format::words_of(other),
    };
    match indicator {
        Some(indicator) => format!("{label} for indicator {indicator}"),
        None => label,
    }
}

/// A changed field's value as the rest of the report writes it: a date as a date, a
/// comparator as words; the wording, title and scope exactly as given.
pub fn field_value(field: &str, value: &str) -> String {
    let name = field.split(':').next().unwrap_or(field);
    if matches!(name, "text" | "title" | "scope") {
        return value.to_owned();
    }
    if value.len() == 10 && covenant_core::event::Date::parse(value).is_some() {
        return format::date(value);
    }
    if name == "comparator" {
        return value.replace('_', " ");
    }
    value.to_owned()
}

fn clamp(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// The anchor of a figure's list of counted events: `figure-made` for the report's year,
/// `figure-2024-made` for the year before.
fn anchor(report: &Report, year: i32, figure: &Figure) -> String {
    if year == report.year {
        format!("figure-{}", figure.key())
    } else {
        format!("figure-{year}-{}", figure.key())
    }
}

/// Whose report, in words.
pub fn scope_name(report: &Report) -> String {
    match &report.scope {
        ReportScope::Actor { actor } => actor.name.clone(),
        ReportScope::Government => "All of government".to_owned(),
    }
}

fn actor_id(report: &Report) -> Option<&str> {
    match &report.scope {
        ReportScope::Actor { actor } => Some(&actor.id),
        ReportScope::Government => None,
    }
}

/// The addresses of the report's files, pinned to its checkpoint so they give the same figures.
pub fn file_url(report: &Report, file: &str) -> String {
    format!(
        "{}/{file}?checkpoint={}",
        page_path(actor_id(report), report.year),
        report.checkpoint.size
    )
}

/// `as_of` carries the checkpoint the reader asked for and the sizes to suggest.
pub(crate) fn render(built: &BuiltReport, verifier_key: &str, as_of: AsOfControl) -> Markup {
    let report = &built.report;
    let name = scope_name(report);
    let frame = Frame {
        title: format!("{name}: annual covenant report {}", report.year),
        description: format!(
            "What {name} promised, delivered, moved and spent in {}, every figure with its proof",
            report.year
        ),
        path: page_path(actor_id(report), report.year),
        section: Section::Other,
        as_of: AsOfControl {
            showing: format!(
                "the signed checkpoint of {}",
                format::entries(report.checkpoint.size)
            ),
            ..as_of
        },
        oembed: None,
        formats: vec![
            layout::Format {
                label: "PDF",
                url: file_url(report, "report.pdf"),
            },
            layout::Format {
                label: "JSON",
                url: file_url(report, "report.json"),
            },
            layout::Format {
                label: "CSV",
                url: file_url(report, "report.csv"),
            },
            layout::Format {
                label: "Proof bundle",
                url: file_url(report, "bundle.json"),
            },
        ],
    };
    let body = html! {
        article class="report" {
            p class="eyebrow" { "Annual covenant report " (report.year) }
            h1 { (name) }
            p class="lede" {
                "What " (name) " promised, delivered, moved and spent from "
                (format::date(&report.current.from)) " to " (format::date(&report.current.to))
                ", from the public log. Every figure links to the events it counts, and each event to its proof."
            }
            (checkpoint_card(report, verifier_key))
            (figures_table(report))
            (goalposts(report))
            (disputes(report))
            (largest_changes(report))
            section class="card report-appendix" aria-labelledby="counted-heading" {
                h2 id="counted-heading" { "What each figure counts" }
                (counted_lists(report, &report.current))
                @if let Some(previous) = &report.previous {
                    (counted_lists(report, previous))
                }
            }
        }
    };
    layout::page(&frame, body)
}

fn checkpoint_card(report: &Report, verifier_key: &str) -> Markup {
    let checkpoint = &report.checkpoint;
    html! {
        section class="card report-checkpoint" aria-labelledby="checkpoint-heading" {
            h2 id="checkpoint-heading" { "Computed as of one signed checkpoint" }
            dl class="facts" {
                dt { "Log" } dd { code { (checkpoint.origin) } }
                dt { "Entries" } dd { (format::thousands(clamp(i128::from(checkpoint.size)))) }
                dt { "Root hash" } dd { code { (checkpoint.root_hash) } }
                dt { "Period" } dd { (format::date(&report.current.from)) " to " (format::date(&report.period_end)) }
            }
            p {
                "Anyone can check every figure: download the "
                a href=(file_url(report, "bundle.json")) { "proof bundle" }
                " (each counted event with its inclusion proof against this checkpoint) and run"
            }
            pre class="verify-line" { code { "covenant audit check-report bundle.json --key '" (verifier_key) "'" } }
        }
    }
}

fn figures_table(report: &Report) -> Markup {
    let previous = report.previous.as_ref();
    html! {
        section class="card" aria-labelledby="figures-heading" {
            h2 id="figures-heading" { "The year in figures" }
            div class="table-scroll" { table class="report-figures" {
                thead { tr {
                    th scope="col" { "Figure" }
                    th scope="col" class="num" { (report.year) }
                    th scope="col" class="num" { (report.year - 1) }
                    th scope="col" class="num hide-narrow" { "Change" }
                } }
                tbody {
                    @for figure in &report.current.figures {
                        @let before = previous.and_then(|year| year.figure(figure.name, figure.currency.as_deref()));
                        tr {
                            th scope="row" { (figure_label(figure.name)) }
                            td class="num" { a href=(format!("#{}", anchor(report, report.year, figure))) { (figure_value(figure)) } }
                            td class="num" {
                                @match (previous, before) {
                                    (Some(year), Some(before)) => a href=(format!("#{}", anchor(report, year.year, before))) { (figure_value(before)) },
                                    (Some(_), None) => (absent_value(figure)),
                                    (None, _) => "–",
                                }
                            }
                            td class="num hide-narrow" { (change(figure, before, previous.is_some())) }
                        }
                    }
                    // Money recorded the year before in a currency or stage this year has none of.
                    @if let Some(year) = previous {
                        @for before in year.figures.iter().filter(|f| f.currency.is_some() && report.current.figure(f.name, f.currency.as_deref()).is_none()) {
                            tr {
                                th scope="row" { (figure_label(before.name)) }
                                td class="num" { (absent_value(before)) }
                                td class="num" { a href=(format!("#{}", anchor(report, year.year, before))) { (figure_value(before)) } }
                                td class="num hide-narrow" { (signed_change(-before.value, before.currency.as_deref())) }
                            }
                        }
                    }
                }
            } }
            @if previous.is_none() {
                p class="notice" { "The log holds nothing in scope at the end of " (report.year - 1) ", so there is no year before to compare with." }
            }
        }
    }
}

fn change(figure: &Figure, before: Option<&Figure>, has_previous: bool) -> String {
    if !has_previous {
        return "–".to_owned();
    }
    let before = before.map_or(0, |figure| figure.value);
    signed_change(figure.value - before, figure.currency.as_deref())
}

fn signed_change(delta: i128, currency: Option<&str>) -> String {
    let magnitude = match currency {
        Some(currency) => format::money(clamp(delta.abs()), currency),
        None => format::thousands(clamp(delta.abs())),
    };
    match delta.signum() {
        1 => format!("+{magnitude}"),
        -1 => format!("−{magnitude}"),
        _ => "no change".to_owned(),
    }
}

fn commitment_href(id: &str) -> String {
    format!("/commitments/{}", segment(id))
}

fn proof_href(event_id: &str) -> String {
    format!("/proofs/{}", segment(event_id))
}

fn goalposts(report: &Report) -> Markup {
    html! {
        section class="card" aria-labelledby="goalposts-heading" {
            h2 id="goalposts-heading" { "Goalposts moved in " (report.year) }
            @if report.goalposts.is_empty() {
                p { "No target, deadline or scope was moved in " (report.year) "." }
            } @else {
                div class="table-scroll" { table class="report-goalposts" {
                    thead { tr { th scope="col" { "Commitment" } th scope="col" { "Effective" } th scope="col" { "What changed" } th scope="col" { "Why, in their words" } } }
                    tbody {
                        @for moved in &report.goalposts {
                            tr {
                                td { a href=(commitment_href(&moved.commitment_id)) { (moved.title) } }
                                td { a href=(proof_href(&moved.event_id)) { (format::date(&moved.effective_on)) } }
                                td { ul class="plain" {
                                    @for field in &moved.changes {
                                        li { (field_label(&field.field)) ": " (field.before.as_deref().map_or_else(|| "(none)".to_owned(), |before| field_value(&field.field, before))) " → " (field_value(&field.field, &field.after)) }
                                    }
                                } }
                                td { (moved.rationale) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn disputes(report: &Report) -> Markup {
    html! {
        section class="card" aria-labelledby="disputes-heading" {
            h2 id="disputes-heading" { "Disputed by assessors" }
            @if report.disputes.is_empty() {
                p { "No assessor disputes a reported outcome at the end of the period." }
            } @else {
                div class="table-scroll" { table class="report-disputes" {
                    thead { tr { th scope="col" { "Commitment" } th scope="col" { "Claimed" } th scope="col" { "Assessor" } th scope="col" { "Their view" } } }
                    tbody {
                        @for dispute in &report.disputes {
                            tr {
                                td { a href=(commitment_href(&dispute.commitment_id)) { (dispute.title) } }
                                td { (status_badge(dispute.claimed)) }
                                td { a href=(format!("/actors/{}", segment(&dispute.assessor))) { (dispute.assessor_name.as_deref().unwrap_or(&dispute.assessor)) } }
                                td {
                                    (dispute.view)
                                    @if let Some(assessed) = dispute.assessed {
                                        " (they judge it " (format::words_of(assessed.as_str())) ")"
                                    }
                                    " · " a href=(proof_href(&dispute.event_id)) { "proof" }
                                }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn largest_changes(report: &Report) -> Markup {
    html! {
        section class="card" aria-labelledby="changes-heading" {
            h2 id="changes-heading" { "The largest changes in " (report.year) }
            @if report.largest_changes.is_empty() {
                p { "Nothing in scope changed in " (report.year) "." }
            } @else {
                div class="table-scroll" { table class="report-changes" {
                    thead { tr { th scope="col" { "Commitment" } th scope="col" { "Start of year" } th scope="col" { "End of period" } th scope="col" class="num hide-narrow" { "Events" } th scope="col" class="num hide-narrow" { "Spent" } } }
                    tbody {
                        @for change in &report.largest_changes {
                            tr {
                                td { a href=(commitment_href(&change.commitment_id)) { (change.title) } }
                                td { @match change.status_before { Some(status) => (status_badge(status)), None => "not yet made" } }
                                td { (status_badge(change.status_after)) }
                                td class="num hide-narrow" { (change.events_in_year) }
                                td class="num hide-narrow" {
                                    @for (currency, amount) in &change.spent { (format::money(clamp(*amount), currency)) " " }
                                }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn counted_lists(report: &Report, year: &YearFigures) -> Markup {
    html! {
        h3 { (year.year) " (" (format::date(&year.from)) " to " (format::date(&year.to)) ")" }
        @for figure in &year.figures {
            section class="report-counted" id=(anchor(report, year.year, figure)) {
                h4 { (figure_label(figure.name)) ", " (year.year) ": " (figure_value(figure)) }
                @if figure.counted.is_empty() {
                    p { "No events." }
                } @else {
                    ol class="plain" {
                        @for counted in &figure.counted {
                            li {
                                a href=(commitment_href(&counted.commitment_id)) { (counted.commitment_id) }
                                " · log entry #" (counted.seq) " · "
                                a href=(proof_href(&counted.event_id)) { code { (counted.event_id) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The report as a reader skims it in a terminal (`covenant report --format text`).
pub fn text(report: &Report) -> String {
    let mut out = format!(
        "Annual covenant report {}: {}\n{} to {}, as of the signed checkpoint of {} (root {})\n\n",
        report.year,
        scope_name(report),
        report.current.from,
        report.current.to,
        format::entries(report.checkpoint.size),
        report.checkpoint.root_hash
    );
    let previous = report.previous.as_ref();
    out.push_str(&format!(
        "{:<34} {:>16} {:>16}\n",
        "figure",
        report.year,
        previous.map_or("-".to_owned(), |year| year.year.to_string())
    ));
    let label = |figure: &Figure| match &figure.currency {
        Some(currency) => format!("{} ({currency})", figure_label(figure.name)),
        None => figure_label(figure.name).to_owned(),
    };
    for figure in &report.current.figures {
        let before = previous
            .map(|year| {
                year.figure(figure.name, figure.currency.as_deref())
                    .map_or_else(|| absent_value(figure), figure_value)
            })
            .unwrap_or_else(|| "-".to_owned());
        out.push_str(&format!(
            "{:<34} {:>16} {before:>16}\n",
            label(figure),
            figure_value(figure)
        ));
    }
    // Money the year before in a currency or stage this year has none of.
    for before in previous.iter().flat_map(|year| &year.figures).filter(|f| {
        f.currency.is_some()
            && report
                .current
                .figure(f.name, f.currency.as_deref())
                .is_none()
    }) {
        out.push_str(&format!(
            "{:<34} {:>16} {:>16}\n",
            label(before),
            absent_value(before),
            figure_value(before)
        ));
    }
    let count = |n: usize, one: &str, many: &str| {
        format::count(i64::try_from(n).unwrap_or(i64::MAX), one, many)
    };
    out.push_str(&format!(
        "\n{}, {}, {} among the largest changes.\n\
         Check every figure: covenant report ... --format bundle --out bundle.json, then\n\
         covenant audit check-report bundle.json --key <the log's verifier key>\n",
        count(report.goalposts.len(), "goalpost move", "goalpost moves"),
        count(report.disputes.len(), "dispute", "disputes"),
        count(report.largest_changes.len(), "commitment", "commitments"),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_query::report::ChangedField;

    /// A department's report, as `report.json` serves it (the PDF's sample).
    fn sample() -> Report {
        serde_json::from_str(include_str!("../../../pdf/tests/data/dcms-2025.json"))
            .expect("the sample is a report")
    }

    fn page(report: Report) -> String {
        let built = BuiltReport {
            report,
            facts: Default::default(),
        };
        render(&built, "key", AsOfControl::default()).into_string()
    }

    /// Money recorded the year before and none this year.
    fn without_money_committed_this_year() -> Report {
        let mut report = sample();
        report
            .current
            .figures
            .retain(|figure| figure.key() != "money_committed-GBP");
        report
    }

    #[test]
    fn counts_agree_with_their_nouns_in_the_text_and_on_the_page() {
        let mut report = sample();
        report.checkpoint.size = 1;
        report.goalposts.truncate(1);
        report.disputes.truncate(1);
        report.largest_changes.truncate(1);
        let text = super::text(&report);
        assert!(
            text.contains("as of the signed checkpoint of 1 entry (root"),
            "{text}"
        );
        assert!(
            text.contains("1 goalpost move, 1 dispute, 1 commitment among the largest changes."),
            "{text}"
        );
        assert!(page(report).contains("the signed checkpoint of 1 entry<"));

        let mut report = sample();
        report.checkpoint.size = 1_234;
        report.disputes.clear();
        let text = super::text(&report);
        assert!(
            text.contains("signed checkpoint of 1,234 entries"),
            "{text}"
        );
        assert!(text.contains(", 0 disputes, "), "{text}");
    }

    #[test]
    fn no_money_reads_as_money_in_the_text_and_on_the_page() {
        let report = without_money_committed_this_year();
        let text = super::text(&report);
        let line = text
            .lines()
            .find(|line| line.starts_with("Money committed (GBP)"))
            .expect("a line for the money committed the year before");
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            ["Money", "committed", "(GBP)", "£0", "£980,000,000"]
        );
        let html = page(report);
        assert!(
            html.contains("<th scope=\"row\">Money committed</th><td class=\"num\">£0</td>"),
            "{html}"
        );
        // A stage recorded this year and not the year before.
        let mut report = sample();
        let previous = report.previous.as_mut().unwrap();
        previous
            .figures
            .retain(|figure| figure.key() != "money_committed-GBP");
        assert!(text_of_row(&super::text(&report), "Money committed (GBP)").ends_with("£0"));
    }

    fn text_of_row(text: &str, start: &str) -> String {
        let line = text.lines().find(|line| line.starts_with(start)).unwrap();
        line.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn disputes_name_the_assessor_when_the_registry_does() {
        let mut report = sample();
        let html = page(report.clone());
        assert!(html.contains(">nao</a>"), "without a name, the id");
        report.name_assessors(|id| (id == "nao").then(|| "National Audit Office".to_owned()));
        let html = page(report);
        assert!(
            html.contains("<a href=\"/actors/nao\">National Audit Office</a>"),
            "{html}"
        );
    }

    #[test]
    fn moved_goalposts_read_as_words_and_dates() {
        let mut report = sample();
        report.goalposts[0].changes = vec![
            ChangedField {
                field: "due_by".into(),
                before: Some("2025-07-31".into()),
                after: "2025-12-31".into(),
            },
            ChangedField {
                field: "target_value:main".into(),
                before: Some("150".into()),
                after: "120".into(),
            },
            ChangedField {
                field: "comparator:main".into(),
                before: None,
                after: "at_least".into(),
            },
            ChangedField {
                field: "title".into(),
                before: Some("2025-07-31".into()),
                after: "Free text".into(),
            },
        ];
        let html = page(report);
        for expected in [
            "Deadline: 31 Jul 2025 → 31 Dec 2025",
            "Target for indicator main: 150 → 120",
            "Target comparison for indicator main: (none) → at least",
            "Title: 2025-07-31 → Free text",
        ] {
            assert!(html.contains(expected), "{expected:?} not in {html}");
        }
    }
}
