//! The themes: the seven seed values and any free tags, each with its own scorecard page.

use super::actor::over_time;
use super::chart::{status_bar, status_legend};
use super::common::{
    ListFilter, ListOf, Names, commitment_list, figures, filter_form, formats, link, pager,
    projections, shares, status_of, theme_link,
};
use super::layout::{self, Frame, Section, segment};
use super::{PageAsOf, PageError, Params, format, page_as_of};
use crate::AppState;
use covenant_core::event::SEED_THEMES;
use covenant_query::CommitmentFilter;
use covenant_query::view::{CommitmentPage, Scorecard, ThemeSummary};
use maud::{Markup, html};

const PAGE_SIZE: usize = 50;
const LIST_LIMIT: usize = 10;

/// What each seed value stands for, in a line.
fn seed_meaning(theme: &str) -> Option<&'static str> {
    Some(match theme {
        "sustainability" => "Meeting today's needs without costing tomorrow's.",
        "safety" => "People safe at home, at work and in public.",
        "equity" => "Fair shares and fair chances, whoever you are.",
        "dignity" => "Being treated with respect by the services you rely on.",
        "opportunity" => "Routes into learning, work and a better life.",
        "community" => "Places and groups that hold people together.",
        "love" => "Care for one another, written into how things are done.",
        _ => return None,
    })
}

pub(crate) fn list_page(state: &AppState, params: &Params) -> Result<Markup, PageError> {
    let projections = projections(state)?;
    let as_of = page_as_of(state, projections, params)?;
    let themes = projections.themes(&as_of.point)?.items;
    Ok(render_list(&themes, &as_of))
}

pub(crate) fn render_list(themes: &[ThemeSummary], as_of: &PageAsOf) -> Markup {
    let frame = Frame {
        title: "Themes".to_owned(),
        description: "Commitments by the values they serve.".to_owned(),
        path: "/themes".to_owned(),
        section: Section::Themes,
        as_of: as_of.control(vec![]),
        formats: formats(
            as_of,
            &[
                ("JSON", "/v1/themes".to_owned()),
                ("CSV", "/v1/themes.csv".to_owned()),
            ],
        ),
        oembed: None,
    };
    let seeds: Vec<ThemeRow> = SEED_THEMES
        .iter()
        .map(|seed| ThemeRow {
            name: seed,
            summary: themes.iter().find(|theme| theme.theme == *seed),
        })
        .collect();
    let others: Vec<ThemeRow> = themes
        .iter()
        .filter(|theme| !theme.seed)
        .map(|theme| ThemeRow {
            name: &theme.theme,
            summary: Some(theme),
        })
        .collect();
    let body = html! {
        h1 { "Themes" }
        p class="lede" { "Every commitment names the values it serves: the seven seed values of the covenant, and any other tags." }
        (theme_table("seeds-heading", "The seven seed values", &seeds, as_of))
        @if !others.is_empty() {
            (theme_table("others-heading", "Other tags", &others, as_of))
        }
    };
    layout::page(&frame, body)
}

struct ThemeRow<'a> {
    name: &'a str,
    /// `None` for a seed value no commitment names yet.
    summary: Option<&'a ThemeSummary>,
}

fn theme_table(id: &str, title: &str, rows: &[ThemeRow], as_of: &PageAsOf) -> Markup {
    html! {
        section class="card" aria-labelledby=(id) {
            h2 id=(id) { (title) }
            div class="table-scroll" {
                table class="themes-table" {
                    thead {
                        tr {
                            th scope="col" { "Theme" }
                            th scope="col" class="num" { "Commitments" }
                            th scope="col" class="num" { "Delivery rate" }
                            th scope="col" class="hide-narrow" { "Status" }
                        }
                    }
                    tbody {
                        @for row in rows {
                            tr {
                                th scope="row" { a href=(theme_link(row.name, as_of)) { (format::words_of(row.name)) } }
                                @match row.summary {
                                    Some(theme) => {
                                        td class="num" { (format::thousands(theme.commitments)) }
                                        td class="num" { (format::rate(theme.delivery_rate)) }
                                        td class="hide-narrow chart-cell" {
                                            (status_bar(&format!("theme-{}", theme.theme.replace(|c: char| !c.is_ascii_alphanumeric(), "-")),
                                                &format!("{}: commitments by status", theme.theme), &shares(&theme.counts)))
                                        }
                                    }
                                    None => {
                                        td class="num" { "0" }
                                        td class="num" { "–" }
                                        td class="hide-narrow" {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) struct ThemeView {
    pub theme: String,
    /// `None` when no commitment names the theme yet (a seed value can still be asked for).
    pub scorecard: Option<Scorecard>,
    pub list: CommitmentPage,
    pub filter: ListFilter,
    pub names: Names,
}

pub(crate) fn theme_page(
    state: &AppState,
    theme: &str,
    params: &Params,
) -> Result<Markup, PageError> {
    let projections = projections(state)?;
    let as_of = page_as_of(state, projections, params)?;
    let filter = ListFilter::from_params(params)?;
    let scorecard = projections.theme_scorecard(theme, &as_of.point, LIST_LIMIT)?;
    if scorecard.is_none() && !SEED_THEMES.contains(&theme) {
        return Err(PageError::not_found(format!(
            "no commitment names the theme {theme:?} at this point"
        )));
    }
    let list_filter = CommitmentFilter {
        theme: Some(theme.to_owned()),
        status: filter.status.map(status_of),
        ..CommitmentFilter::default()
    };
    let list = projections.commitments(
        &as_of.point,
        &list_filter,
        filter.cursor.as_deref(),
        PAGE_SIZE,
    )?;
    let names = Names::load(
        projections,
        &as_of.point,
        list.items.iter().map(|item| item.owner.as_str()),
    )?;
    let view = ThemeView {
        theme: theme.to_owned(),
        scorecard,
        list,
        filter,
        names,
    };
    Ok(render_theme(&view, &as_of))
}

pub(crate) fn render_theme(view: &ThemeView, as_of: &PageAsOf) -> Markup {
    let path = format!("/themes/{}", segment(&view.theme));
    let api_theme = segment(&view.theme);
    let title = format::words_of(&view.theme);
    let frame = Frame {
        title: format!("Theme: {title}"),
        description: format!("What was promised and done for {}.", view.theme),
        path: path.clone(),
        section: Section::Themes,
        as_of: as_of.control(view.filter.keep()),
        formats: formats(
            as_of,
            &[
                ("JSON", format!("/v1/themes/{api_theme}")),
                ("CSV", format!("/v1/commitments.csv?theme={api_theme}")),
                ("Atom", format!("/v1/themes/{api_theme}/feed.atom")),
            ],
        ),
        oembed: None,
    };
    let body = html! {
        p class="eyebrow" { a href=(link("/themes", as_of, &[])) { "Themes" } }
        h1 { (title) }
        @if let Some(meaning) = seed_meaning(&view.theme) { p class="lede" { (meaning) } }
        @match &view.scorecard {
            None => p class="muted" { "No commitment names this value yet." },
            Some(scorecard) => {
                (figures(&[
                    ("Commitments", format::thousands(scorecard.commitments)),
                    ("Delivered", format::thousands(scorecard.counts.delivered)),
                    (format::rate_label(scorecard.resolved).as_str(), format::rate(scorecard.delivery_rate)),
                    ("Overdue", format::thousands(scorecard.counts.overdue)),
                    ("Goalposts moved", format::thousands(scorecard.flags.goalposts_moved)),
                ]))
                div class="grid" {
                    section class="card" aria-labelledby="status-heading" {
                        h2 id="status-heading" { "Where these commitments stand" }
                        figure {
                            (status_bar("theme-status", &format!("{title}: commitments by status"), &shares(&scorecard.counts)))
                            figcaption { (status_legend(&shares(&scorecard.counts))) }
                        }
                    }
                    (over_time(&title, scorecard, as_of))
                }
            }
        }
        section class="card" aria-labelledby="list-heading" {
            h2 id="list-heading" { "Commitments" }
            (filter_form(&path, &view.filter, as_of, &[], false))
            @if view.list.items.is_empty() {
                p class="muted" { "No commitment matches." }
            } @else {
                (commitment_list(&view.list.items, &view.names, as_of, ListOf::Everyone))
            }
            (pager(&path, &view.filter, as_of, view.list.next_cursor.as_deref()))
        }
    };
    layout::page(&frame, body)
}
