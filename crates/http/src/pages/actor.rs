//! An MP's or a public body's page: the scorecard as charts, and the commitments with filters.

use super::chart::{made_and_delivered, made_and_delivered_legend, status_bar, status_legend};
use super::common::{
    ListFilter, ListOf, Names, actor_link, commitment_link, commitment_list, figures, filter_form,
    formats, pager, projections, shares, status_of, theme_choices,
};
use super::layout::{self, Frame, Section, segment};
use super::periods::{bucket, first_year};
use super::{PageAsOf, PageError, Params, diff, embed, format, page_as_of};
use crate::AppState;
use covenant_core::SchemaName;
use covenant_core::proto::ActorKind;
use covenant_query::view::{Actor, CommitmentPage, CommitmentSummary, MoneyTotals, Scorecard};
use covenant_query::{CommitmentFilter, Projections, ResolvedAsOf};
use maud::{Markup, html};

const PAGE_SIZE: usize = 50;
const LIST_LIMIT: usize = 10;
/// The most commitments read for an actor's theme choices.
const THEME_CHOICES_LIMIT: usize = 20_000;

pub(crate) struct ActorView {
    pub actor: Actor,
    pub scorecard: Scorecard,
    pub list: CommitmentPage,
    pub filter: ListFilter,
    pub themes: Vec<String>,
    pub names: Names,
}

/// Every commitment the actor answers for (not those it only delivers as a partner), for the
/// theme choices, so that they offer what the scorecard counts.
fn all_commitments(
    projections: &Projections,
    id: &str,
    point: &ResolvedAsOf,
) -> Result<Vec<CommitmentSummary>, PageError> {
    let filter = CommitmentFilter {
        actor: Some(id.to_owned()),
        ..CommitmentFilter::default()
    };
    Ok(projections
        .commitments(point, &filter, None, THEME_CHOICES_LIMIT)?
        .items
        .into_iter()
        .filter(|item| item.owner == id)
        .collect())
}

pub(crate) fn page(state: &AppState, id: &str, params: &Params) -> Result<Markup, PageError> {
    let projections = projections(state)?;
    let as_of = page_as_of(state, projections, params)?;
    let filter = ListFilter::from_params(params)?;
    let scorecard = projections
        .actor_scorecard(id, &as_of.point, LIST_LIMIT)?
        .ok_or_else(|| {
            PageError::not_found(format!(
                "no actor {id:?} is registered in the log at this point"
            ))
        })?;
    let Some(actor) = scorecard.actor.clone() else {
        return Err(PageError::not_found(format!("no actor {id:?}")));
    };
    let everything = all_commitments(projections, id, &as_of.point)?;
    let list_filter = CommitmentFilter {
        actor: Some(id.to_owned()),
        theme: filter.theme.clone(),
        status: filter.status.map(status_of),
        ..CommitmentFilter::default()
    };
    let list = projections.commitments(
        &as_of.point,
        &list_filter,
        filter.cursor.as_deref(),
        PAGE_SIZE,
    )?;
    // Successors, predecessors, and the owners of commitments it delivers as a partner.
    let related = actor
        .successors
        .iter()
        .chain(&actor.predecessors)
        .chain(list.items.iter().map(|item| &item.owner))
        .map(String::as_str);
    let names = Names::load(projections, &as_of.point, related)?;
    let view = ActorView {
        themes: theme_choices(everything.iter().flat_map(|item| &item.themes)),
        actor,
        scorecard,
        list,
        filter,
        names,
    };
    let oembed = embed::discovery_url(&state.public_url, &embed::Subject::Actor(id.to_owned()));
    Ok(render(&view, &as_of, oembed))
}

/// The actor's kind in words, with party and constituency for an MP.
pub(crate) fn kind_line(actor: &Actor) -> String {
    let mut parts = vec![match actor.kind {
        ActorKind::Mp => "MP".to_owned(),
        ActorKind::NhsBody => "NHS body".to_owned(),
        other => format::words_of(other.schema_name()),
    }];
    parts.extend(actor.party.clone());
    parts.extend(actor.constituency.clone());
    parts.join(" · ")
}

fn money_card(money: &[MoneyTotals]) -> Markup {
    html! {
        @if !money.is_empty() {
            section class="card" aria-labelledby="money-heading" {
                h2 id="money-heading" { "Money: pledged against spent" }
                (money_bars(money))
            }
        }
    }
}

/// Pledged, committed and spent per currency, as bars against the largest of the three.
pub(crate) fn money_bars(money: &[MoneyTotals]) -> Markup {
    html! {
        @for totals in money {
            @let largest = totals.pledged_minor.max(totals.committed_minor).max(totals.spent_minor).max(1);
            div class="money" role="group" aria-label={ "Money in " (totals.currency) } {
                @for (label, class, amount) in [
                    ("Pledged", "pledged", totals.pledged_minor),
                    ("Committed", "committed", totals.committed_minor),
                    ("Spent", "spent", totals.spent_minor),
                ] {
                    div class="money-row" data-stage=(class) {
                        span { (label) }
                        span class="money-track" aria-hidden="true" {
                            span class={ "money-fill " (class) }
                                style={ "width:" (format!("{:.1}", amount as f64 * 100.0 / largest as f64)) "%" } {}
                        }
                        strong { (format::money(amount, &totals.currency)) }
                    }
                }
            }
        }
    }
}

fn succession(view: &ActorView, as_of: &PageAsOf) -> Markup {
    let actor = &view.actor;
    html! {
        @if !actor.predecessors.is_empty() || !actor.successors.is_empty() {
            section class="card" aria-labelledby="succession-heading" {
                h2 id="succession-heading" { "Machinery of government" }
                @if !actor.predecessors.is_empty() {
                    p {
                        "Took over open commitments from "
                        @for (index, id) in actor.predecessors.iter().enumerate() {
                            @if index > 0 { ", " }
                            a href=(actor_link(id, as_of)) rel="prev" { (view.names.of(id)) }
                        }
                        "."
                    }
                }
                @if !actor.successors.is_empty() {
                    p {
                        "Its open commitments passed to "
                        @for (index, id) in actor.successors.iter().enumerate() {
                            @if index > 0 { ", " }
                            a href=(actor_link(id, as_of)) rel="next" { (view.names.of(id)) }
                        }
                        "."
                    }
                }
            }
        }
    }
}

/// The "promises and delivery over time" card for the commitments of `whose` (a name).
pub(crate) fn over_time(whose: &str, scorecard: &Scorecard, as_of: &PageAsOf) -> Markup {
    let periods = bucket(&scorecard.over_time, as_of.point.date);
    html! {
        section class="card" aria-labelledby="time-heading" {
            h2 id="time-heading" { "Promises and delivery over time" }
            figure {
                (made_and_delivered("over-time", &format!("{whose}: commitments made and delivered over time"), &periods))
                figcaption { (made_and_delivered_legend()) }
            }
            @if !periods.is_empty() {
                details class="data" {
                    summary { "The numbers behind the chart" }
                    div class="table-scroll" {
                        table {
                            thead { tr { th scope="col" { "Period" } th scope="col" class="num" { "Made" } th scope="col" class="num" { "Delivered" } } }
                            tbody {
                                @for period in &periods {
                                    tr { th scope="row" { (period.label) } td class="num" { (period.made) } td class="num" { (period.delivered) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn overdue(scorecard: &Scorecard, as_of: &PageAsOf) -> Markup {
    html! {
        @if !scorecard.overdue.items.is_empty() {
            h3 { "Overdue now (" (scorecard.overdue.total) ")" }
            ul class="items" {
                @for item in &scorecard.overdue.items {
                    li {
                        a class="item-title" href=(commitment_link(&item.id, as_of)) { (item.title) }
                        div class="item-meta" {
                            span { "Was due " (format::date(&item.due_by)) }
                            span { strong { (format::days(i64::from(item.days_overdue))) " overdue" } }
                        }
                    }
                }
            }
        }
    }
}

fn goalposts(scorecard: &Scorecard, as_of: &PageAsOf) -> Markup {
    html! {
        @if !scorecard.goalposts_moved.items.is_empty() {
            section class="card" aria-labelledby="moved-heading" {
                h2 id="moved-heading" { "Goalposts moved (" (scorecard.goalposts_moved.total) ")" }
                ul class="items" {
                    @for item in &scorecard.goalposts_moved.items {
                        li {
                            a class="item-title" href=(commitment_link(&item.id, as_of)) { (item.title) }
                            div class="item-meta" {
                                @if item.deadline_moves > 0 {
                                    span { "Deadline " (diff::value_change(item.original_due_by.as_deref(), item.current_due_by.as_deref())) }
                                }
                                @if item.target_moves > 0 && (item.original_target_value.is_some() || item.current_target_value.is_some()) {
                                    span { "Target " (diff::value_change(
                                        item.original_target_value.map(format::quantity).as_deref(),
                                        item.current_target_value.map(format::quantity).as_deref())) }
                                }
                                @for (before, after) in format::changed_targets(&item.original_targets, &item.current_targets) {
                                    span { "Target " (diff::value_change(Some(&before), Some(&after))) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The most annual reports an actor page links to, newest first.
const REPORT_YEARS: usize = 5;

/// Links to the actor's annual covenant reports: each year from its first commitment to the
/// year of the moment shown.
fn report_links(id: &str, scorecard: &Scorecard, as_of: &PageAsOf) -> Markup {
    let Some(first_year) = first_year(&scorecard.over_time) else {
        return html! {};
    };
    let (last_year, _, _) = as_of.point.date.year_month_day();
    let years: Vec<i32> = (first_year..=last_year).rev().take(REPORT_YEARS).collect();
    html! {
        p class="report-links" {
            "Annual covenant reports: "
            @for (index, year) in years.iter().enumerate() {
                @if index > 0 { ", " }
                a href=(crate::report::page_path(Some(id), *year)) { (year) }
            }
        }
    }
}

pub(crate) fn render(view: &ActorView, as_of: &PageAsOf, oembed: String) -> Markup {
    let actor = &view.actor;
    let scorecard = &view.scorecard;
    let path = format!("/actors/{}", segment(&actor.id));
    let api_id = segment(&actor.id);
    let frame = Frame {
        title: actor.name.clone(),
        description: format!("What {} promised and what it did.", actor.name),
        path: path.clone(),
        section: Section::Other,
        as_of: as_of.control(view.filter.keep()),
        formats: formats(
            as_of,
            &[
                ("JSON", format!("/v1/actors/{api_id}")),
                ("CSV", format!("/v1/commitments.csv?actor={api_id}")),
                ("Atom", format!("/v1/actors/{api_id}/feed.atom")),
            ],
        ),
        oembed: Some(oembed),
    };
    let counts = shares(&scorecard.counts);
    let body = html! {
        p class="eyebrow" { (kind_line(actor)) }
        h1 { (actor.name) }
        @if actor.retracted {
            p class="notice" { "This registration was retracted as published in error." }
        }
        (report_links(&actor.id, scorecard, as_of))
        (figures(&[
            ("Commitments", format::thousands(scorecard.commitments)),
            ("Delivered", format::thousands(scorecard.counts.delivered)),
            (format::rate_label(scorecard.resolved).as_str(), format::rate(scorecard.delivery_rate)),
            ("Overdue", format::thousands(scorecard.counts.overdue)),
            ("Goalposts moved", format::thousands(scorecard.flags.goalposts_moved)),
            ("Median days to outcome", scorecard.median_days_to_outcome.map_or("–".to_owned(), |days| format!("{days:.0}"))),
        ]))
        div class="grid" {
            section class="card" aria-labelledby="status-heading" {
                h2 id="status-heading" { "Where its commitments stand" }
                figure {
                    (status_bar("actor-status", &format!("{}: commitments by status", actor.name), &counts))
                    figcaption { (status_legend(&counts)) }
                }
                p class="muted small" {
                    (scorecard.resolved) " resolved; "
                    (scorecard.flags.disputed) " disputed by an assessor; "
                    (scorecard.flags.amended) " amended."
                }
                (overdue(scorecard, as_of))
            }
            (over_time(&view.actor.name, scorecard, as_of))
        }
        (succession(view, as_of))
        (money_card(&scorecard.money))
        (goalposts(scorecard, as_of))
        section class="card" aria-labelledby="list-heading" {
            h2 id="list-heading" { "Commitments" }
            (filter_form(&path, &view.filter, as_of, &view.themes, true))
            @if view.list.items.is_empty() {
                p class="muted" { "No commitment matches these filters." }
            } @else {
                (commitment_list(&view.list.items, &view.names, as_of, ListOf::Actor(&view.actor.id)))
            }
            (pager(&path, &view.filter, as_of, view.list.next_cursor.as_deref()))
        }
    };
    layout::page(&frame, body)
}
