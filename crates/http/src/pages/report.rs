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
                "the signed checkpoint of {} entries",
                format::thousands(clamp(i128::from(report.checkpoint.size)))
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
                                    (Some(_), None) => "0",
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
                                td class="num" { "0" }
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
                                        li { (format::words_of(&field.field)) ": " (field.before.as_deref().unwrap_or("(none)")) " → " (field.after) }
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
                                td { a href=(format!("/actors/{}", segment(&dispute.assessor))) { (dispute.assessor) } }
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
