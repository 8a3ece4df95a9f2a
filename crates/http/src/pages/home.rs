//! The home page: who delivers, what is overdue, where goalposts moved, the latest outcomes and
//! disputes, and the signed checkpoint anyone can verify.

use super::chart::{status_bar, status_legend};
use super::common::{
    Names, actor_link, commitment_link, figures, formats, link, projections, shares, status_badge,
    theme_link,
};
use super::layout::{self, Frame, Section};
use super::{PageAsOf, PageError, Params, diff, format, page_as_of};
use crate::AppState;
use covenant_core::SchemaName;
use covenant_core::proto::{ActorKind, Stance};
use covenant_query::view::{
    AssessmentView, CommitmentSummary, GoalpostItem, LeagueTable, Overview, Scorecard, ThemeSummary,
};
use covenant_query::{LeagueRules, Projections};
use maud::{Markup, html};

/// Actors need this many resolved commitments before a delivery rate ranks them.
pub(crate) const MIN_RESOLVED: u32 = 2;
const LIST_LIMIT: usize = 6;
/// Rows of each league table shown; the full tables are in the data links.
const LEAGUE_ROWS: usize = 15;
/// Names listed as not yet ranked, before "and N more".
const UNRANKED_NAMES: usize = 12;

/// A commitment whose outcome is disputed, with the dispute.
pub(crate) struct Disputed {
    pub commitment: CommitmentSummary,
    pub dispute: Option<AssessmentView>,
}

/// An actor with commitments but too few resolved ones to rank.
pub(crate) struct Unranked {
    pub id: String,
    pub name: String,
    pub commitments: i64,
    pub resolved: i64,
}

pub(crate) struct Home {
    pub overall: Scorecard,
    /// The most recently moved goalposts first.
    pub moved: Vec<GoalpostItem>,
    pub departments: LeagueTable,
    pub mps: LeagueTable,
    pub unranked_departments: Vec<Unranked>,
    pub unranked_mps: Vec<Unranked>,
    /// The most overdue commitments, with their owners.
    pub overdue: Vec<CommitmentSummary>,
    pub latest_outcomes: Vec<CommitmentSummary>,
    pub disputed: Vec<Disputed>,
    pub themes: Vec<ThemeSummary>,
    /// The latest signed checkpoint note, when the log has one.
    pub checkpoint: Option<(u64, String)>,
    pub names: Names,
    pub base_url: String,
}

/// The most overdue commitments, with their owners: the scorecard's overdue list is already
/// the most overdue first.
fn most_overdue(
    projections: &Projections,
    as_of: &PageAsOf,
    overall: &Scorecard,
) -> Result<Vec<CommitmentSummary>, PageError> {
    let ids = overall.overdue.items.iter().map(|item| item.id.as_str());
    Ok(projections.commitment_summaries(ids, &as_of.point)?)
}

/// Disputed claims, the latest dispute first, each with its latest dispute.
fn disputed(
    projections: &Projections,
    as_of: &PageAsOf,
    commitments: Vec<CommitmentSummary>,
) -> Result<Vec<Disputed>, PageError> {
    let mut disputed = vec![];
    for commitment in commitments {
        let dispute = projections
            .commitment(&commitment.id, &as_of.point)?
            .and_then(|detail| {
                detail
                    .assessments
                    .into_iter()
                    .filter(|assessment| assessment.stance == Stance::Disputes)
                    .max_by_key(|assessment| assessment.seq)
            });
        disputed.push(Disputed {
            commitment,
            dispute,
        });
    }
    Ok(disputed)
}

/// Actors of `kind` with commitments that the league table leaves out.
fn unranked(
    projections: &Projections,
    as_of: &PageAsOf,
    kind: ActorKind,
    table: &LeagueTable,
) -> Result<Vec<Unranked>, PageError> {
    if table.unranked == 0 {
        return Ok(vec![]);
    }
    let mut found = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let page = projections.actors(&as_of.point, Some(kind), cursor.as_deref(), 500)?;
        for summary in page.items {
            let ranked = table.rows.iter().any(|row| row.actor == summary.actor.id);
            if !ranked && summary.commitments > 0 {
                found.push(Unranked {
                    resolved: summary.counts.resolved(),
                    id: summary.actor.id,
                    name: summary.actor.name,
                    commitments: summary.commitments,
                });
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(found)
}

/// The departments' league table and the MPs', from one read of every actor's aggregate.
fn leagues(projections: &Projections, as_of: &PageAsOf) -> Result<[LeagueTable; 2], PageError> {
    let rules = |kind| LeagueRules {
        min_resolved: MIN_RESOLVED,
        kind: Some(kind),
    };
    Ok(projections.league_tables(
        &as_of.point,
        [rules(ActorKind::Department), rules(ActorKind::Mp)],
    )?)
}

pub(crate) fn page(state: &AppState, params: &Params, base_url: &str) -> Result<Markup, PageError> {
    let projections = projections(state)?;
    let as_of = page_as_of(state, projections, params)?;
    // The overview, the league tables, the actors they leave out and the themes each cover
    // everyone: at an earlier point they share one fold of every commitment.
    let _shared = projections.share_fold(&as_of.point)?;
    // Both of its lists come most urgent first: the most overdue, the most recently moved.
    let Overview {
        scorecard: overall,
        latest_outcomes,
        latest_disputed,
    } = projections.overview(&as_of.point, LIST_LIMIT)?;
    let moved = overall.goalposts_moved.items.clone();
    let disputed = disputed(projections, &as_of, latest_disputed)?;
    let overdue = most_overdue(projections, &as_of, &overall)?;
    let checkpoint = state
        .store
        .latest_checkpoint()
        .map_err(|error| {
            tracing::error!(%error, "read the latest checkpoint");
            PageError::internal("the latest checkpoint cannot be read")
        })?
        .map(|(size, note)| (size, String::from_utf8_lossy(&note).into_owned()));
    let owners = latest_outcomes
        .iter()
        .chain(&overdue)
        .chain(disputed.iter().map(|item| &item.commitment))
        .map(|item| item.owner.as_str())
        .chain(
            disputed
                .iter()
                .filter_map(|item| item.dispute.as_ref())
                .map(|dispute| dispute.assessor.as_str()),
        )
        .collect::<Vec<_>>();
    let names = Names::load(projections, &as_of.point, owners)?;
    let [departments, mps] = leagues(projections, &as_of)?;
    let home = Home {
        unranked_departments: unranked(projections, &as_of, ActorKind::Department, &departments)?,
        unranked_mps: unranked(projections, &as_of, ActorKind::Mp, &mps)?,
        departments,
        mps,
        themes: projections.themes(&as_of.point)?.items,
        overall,
        moved,
        overdue,
        latest_outcomes,
        disputed,
        checkpoint,
        names,
        base_url: base_url.to_owned(),
    };
    Ok(render(&home, &as_of))
}

fn league_card(
    title: &str,
    id: &str,
    table: &LeagueTable,
    unranked: &[Unranked],
    as_of: &PageAsOf,
) -> Markup {
    html! {
        section class="card" aria-labelledby=(id) {
            h2 id=(id) { (title) }
            @if table.rows.is_empty() {
                p class="muted" { "None has " (MIN_RESOLVED) " resolved commitments yet." }
            } @else {
                div class="table-scroll" {
                    table class="league" {
                        caption class="visually-hidden" { (title) }
                        thead {
                            tr {
                                th scope="col" class="rank" { abbr title="Rank" { "#" } }
                                th scope="col" { "Name" }
                                th scope="col" class="num" { "Delivery rate" }
                                th scope="col" class="num hide-narrow" { "Resolved" }
                                th scope="col" class="num" { "Overdue" }
                            }
                        }
                        tbody {
                            @for row in table.rows.iter().take(LEAGUE_ROWS) {
                                tr data-actor=(row.actor) {
                                    td class="rank" { (row.rank) }
                                    td { a href=(actor_link(&row.actor, as_of)) { (row.name) } }
                                    td class="num" {
                                        span class="meter" aria-hidden="true" {
                                            span style={ "width:" (format!("{:.0}", row.delivery_rate * 100.0)) "%" } {}
                                        }
                                        " " strong class="rate" { (format::rate(Some(row.delivery_rate))) }
                                    }
                                    td class="num hide-narrow" { (row.resolved) }
                                    td class="num" { (row.overdue) }
                                }
                            }
                        }
                    }
                }
            }
            @if !unranked.is_empty() {
                p class="unranked" {
                    strong { "Not yet ranked" } " (fewer than " (MIN_RESOLVED) " resolved): "
                    @for (index, actor) in unranked.iter().take(UNRANKED_NAMES).enumerate() {
                        @if index > 0 { ", " }
                        a href=(actor_link(&actor.id, as_of)) { (actor.name) }
                        span class="muted" {
                            " (" (actor.resolved) " resolved of " (format::commitments(actor.commitments)) ")"
                        }
                    }
                    @if unranked.len() > UNRANKED_NAMES { " and " (unranked.len() - UNRANKED_NAMES) " more" }
                }
            }
            @if table.rows.len() > LEAGUE_ROWS {
                p {
                    "Top " (LEAGUE_ROWS) " of " (table.rows.len()) " shown; "
                    a href=(full_table_link(table, as_of)) { "the whole table as CSV" } "."
                }
            }
            p class="muted small" {
                "Delivery rate: delivered, plus half of partly delivered, out of commitments resolved "
                "(an outcome or a withdrawal). Ranked with at least " (MIN_RESOLVED) " resolved."
            }
        }
    }
}

fn full_table_link(table: &LeagueTable, as_of: &PageAsOf) -> String {
    let kind = table.kind.map_or("", |kind| kind.schema_name());
    let min_resolved = table.min_resolved.to_string();
    link(
        "/v1/league.csv",
        as_of,
        &[("kind", kind), ("min_resolved", min_resolved.as_str())],
    )
}

fn overdue_card(home: &Home, as_of: &PageAsOf) -> Markup {
    let total = home.overall.overdue.total;
    html! {
        section class="card" aria-labelledby="overdue-heading" {
            h2 id="overdue-heading" { "Overdue now " span class="count" { "(" (total) ")" } }
            @if home.overdue.is_empty() {
                p class="muted" { "Nothing is overdue." }
            } @else {
                ul class="items" {
                    @for item in &home.overdue {
                        li {
                            a class="item-title" href=(commitment_link(&item.id, as_of)) { (item.title) }
                            div class="item-meta" {
                                span { a href=(actor_link(&item.owner, as_of)) { (home.names.of(&item.owner)) } }
                                @if let Some(due) = &item.due_by { span { "Was due " (format::date(due)) } }
                                @if let Some(days) = item.days_overdue {
                                    span { strong { (format::days(i64::from(days))) " overdue" } }
                                }
                            }
                        }
                    }
                }
                @if total > home.overdue.len() as i64 {
                    p { a href=(link("/search", as_of, &[("status", "overdue")])) { "All " (total) " overdue commitments" } }
                }
            }
        }
    }
}

fn goalposts_card(home: &Home, as_of: &PageAsOf) -> Markup {
    html! {
        section class="card" aria-labelledby="goalposts-heading" {
            h2 id="goalposts-heading" { "Goalposts moved " span class="count" { "(" (home.overall.goalposts_moved.total) ")" } }
            @if home.moved.is_empty() {
                p class="muted" { "No deadline or target has been moved." }
            } @else {
                ul class="items" {
                    @for item in &home.moved {
                        li {
                            a class="item-title" href=(commitment_link(&item.id, as_of)) { (item.title) }
                            div class="item-meta" {
                                @if let Some(moved_on) = &item.moved_on {
                                    span { "Moved " (format::date(moved_on)) }
                                }
                                @if item.deadline_moves > 0 {
                                    span { "Deadline " (diff::value_change(item.original_due_by.as_deref(), item.current_due_by.as_deref())) }
                                }
                                @if item.target_moves > 0 && (item.original_target_value.is_some() || item.current_target_value.is_some()) {
                                    span {
                                        "Target "
                                        (diff::value_change(
                                            item.original_target_value.map(format::quantity).as_deref(),
                                            item.current_target_value.map(format::quantity).as_deref(),
                                        ))
                                    }
                                }
                                @for (before, after) in format::changed_targets(&item.original_targets, &item.current_targets) {
                                    span { "Target " (diff::value_change(Some(&before), Some(&after))) }
                                }
                            }
                        }
                    }
                }
                @if home.overall.goalposts_moved.total > home.moved.len() as i64 {
                    p { a href=(link("/search", as_of, &[("flag", "goalposts_moved")])) { "All " (home.overall.goalposts_moved.total) " with moved goalposts" } }
                }
            }
        }
    }
}

fn outcomes_card(home: &Home, as_of: &PageAsOf) -> Markup {
    html! {
        section class="card" aria-labelledby="outcomes-heading" {
            h2 id="outcomes-heading" { "Latest outcomes" }
            @if home.latest_outcomes.is_empty() {
                p class="muted" { "No outcome has been reported yet." }
            } @else {
                ul class="items" {
                    @for item in &home.latest_outcomes {
                        li {
                            a class="item-title" href=(commitment_link(&item.id, as_of)) { (item.title) }
                            " " (status_badge(item.status))
                            @if item.flags.disputed {
                                " " span class="flag flag-disputed" { "Disputed" }
                            }
                            div class="item-meta" {
                                span { a href=(actor_link(&item.owner, as_of)) { (home.names.of(&item.owner)) } }
                                @if let Some(on) = &item.outcome_on { span { "Reported " (format::date(on)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn disputes_card(home: &Home, as_of: &PageAsOf) -> Markup {
    html! {
        section class="card" aria-labelledby="disputes-heading" {
            h2 id="disputes-heading" { "Disputed claims" }
            @if home.disputed.is_empty() {
                p class="muted" { "No reported outcome is disputed." }
            } @else {
                ul class="items" {
                    @for item in home.disputed.iter() {
                        li {
                            a class="item-title" href=(commitment_link(&item.commitment.id, as_of)) { (item.commitment.title) }
                            div class="item-meta" {
                                span { a href=(actor_link(&item.commitment.owner, as_of)) { (home.names.of(&item.commitment.owner)) } }
                                span { "claims " (status_badge(item.commitment.status)) }
                            }
                            @if let Some(dispute) = &item.dispute {
                                p class="dispute-line" {
                                    strong { (home.names.of(&dispute.assessor)) " disputes it: " }
                                    (dispute.summary)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn themes_card(themes: &[ThemeSummary], as_of: &PageAsOf) -> Markup {
    html! {
        section class="card" aria-labelledby="themes-heading" {
            h2 id="themes-heading" { "By value" }
            ul class="themes" {
                @for theme in themes.iter().filter(|theme| theme.seed) {
                    li {
                        a href=(theme_link(&theme.theme, as_of)) {
                            (format::words_of(&theme.theme)) " "
                            span class="muted" { "(" (format::commitments(theme.commitments)) ", delivery rate " (format::rate(theme.delivery_rate)) ")" }
                        }
                    }
                }
            }
            p { a href=(link("/themes", as_of, &[])) { "All themes" } }
        }
    }
}

fn verify_section(home: &Home) -> Markup {
    let command = format!("covenant audit verify {}", home.base_url);
    html! {
        section id="verify" class="card checkpoint" aria-labelledby="verify-heading" {
            h2 id="verify-heading" { "Check it yourself" }
            @match &home.checkpoint {
                Some((size, note)) => {
                    p {
                        "The log holds " strong { (format::thousands(*size as i64)) " entries" }
                        ", fixed by this signed checkpoint. Anyone can check that every page here "
                        "matches it, and that nothing was rewritten:"
                    }
                    pre class="verify-line" data-copy=(command) { code { (command) } }
                    details {
                        summary { "The latest signed checkpoint" }
                        pre { (note) }
                        p { a href="/log/checkpoint" { "/log/checkpoint" } " · " a href="/log/verifier-key" { "verifier key" } }
                    }
                }
                None => {
                    p { "The log has no signed checkpoint yet. Once it has, check it with:" }
                    pre class="verify-line" data-copy=(command) { code { (command) } }
                }
            }
        }
    }
}

pub(crate) fn render(home: &Home, as_of: &PageAsOf) -> Markup {
    let overall = &home.overall;
    let frame = Frame {
        title: "Promised versus done".to_owned(),
        description: "What MPs and public bodies promised, what they did, and proof of both."
            .to_owned(),
        path: "/".to_owned(),
        section: Section::Home,
        as_of: as_of.control(vec![]),
        formats: formats(
            as_of,
            &[
                ("JSON", "/v1/scorecard".to_owned()),
                ("CSV", format!("/v1/league.csv?min_resolved={MIN_RESOLVED}")),
            ],
        ),
        oembed: None,
    };
    let body = html! {
        h1 { "Promised versus done" }
        p class="lede" {
            (format::commitments(overall.commitments)) " by MPs and public bodies, as recorded in a public, "
            "signed log. Of the " (format::thousands(overall.resolved)) " with a final answer, the delivery rate is "
            strong { (format::rate(overall.delivery_rate)) } "."
        }
        @let (year, _, _) = as_of.point.date.year_month_day();
        p class="report-links" {
            "The annual covenant report of all of government: "
            a href=(crate::report::page_path(None, year)) { (year) " so far" } ", "
            a href=(crate::report::page_path(None, year - 1)) { (year - 1) }
            "; each body's is on its page."
        }
        (figures(&[
            ("Commitments", format::thousands(overall.commitments)),
            ("Delivered", format::thousands(overall.counts.delivered)),
            ("Overdue", format::thousands(overall.counts.overdue)),
            ("Goalposts moved", format::thousands(overall.flags.goalposts_moved)),
            ("Disputed", format::thousands(overall.flags.disputed)),
            ("Delivery rate", format::rate(overall.delivery_rate)),
        ]))
        section class="card" aria-labelledby="all-status-heading" {
            h2 id="all-status-heading" { "Where every commitment stands" }
            figure {
                (status_bar("all-status", "All commitments by status", &shares(&overall.counts)))
                figcaption { (status_legend(&shares(&overall.counts))) }
            }
        }
        div class="grid grid-wide" {
            (league_card("Departments ranked by delivery", "departments-heading", &home.departments, &home.unranked_departments, as_of))
            (league_card("MPs ranked by delivery", "mps-heading", &home.mps, &home.unranked_mps, as_of))
        }
        div class="grid grid-wide" {
            (overdue_card(home, as_of))
            (goalposts_card(home, as_of))
            (outcomes_card(home, as_of))
            (disputes_card(home, as_of))
        }
        (themes_card(&home.themes, as_of))
        (verify_section(home))
    };
    layout::page(&frame, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_query::ResolvedAsOf;
    use covenant_query::view::AsOfInfo;

    #[test]
    fn an_unranked_actor_shows_how_many_of_its_commitments_are_resolved() {
        let point = ResolvedAsOf {
            size: 12,
            date: covenant_core::event::Date::parse("2026-01-01").unwrap(),
            world: None,
            latest: true,
            reuse_records: true,
        };
        let as_of = PageAsOf {
            point,
            recorded: None,
            requested: None,
            checkpoints: vec![],
        };
        let table = LeagueTable {
            as_of: AsOfInfo {
                size: 12,
                date: "2026-01-01".into(),
                world: None,
                latest: true,
            },
            min_resolved: MIN_RESOLVED,
            kind: Some(ActorKind::Department),
            rows: vec![],
            unranked: 1,
        };
        let unranked = [Unranked {
            id: "GB-GOV-7".into(),
            name: "Department for Education".into(),
            commitments: 3,
            resolved: 1,
        }];
        let html =
            league_card("Departments", "departments", &table, &unranked, &as_of).into_string();
        assert!(
            html.contains("Department for Education</a><span class=\"muted\"> (1 resolved of 3 commitments)</span>"),
            "{html}"
        );
    }
}
