//! Pieces several pages share: links that keep the reader's moment, status figures, the list
//! of commitments and its filter form.

use super::chart::Share;
use super::layout::{Format, href, segment};
use super::tone::{Tone, badge, flag};
use super::{PageAsOf, PageError, Params, format};
use crate::AppState;
use covenant_core::event::SEED_THEMES;
use covenant_core::proto::Verdict;
use covenant_query::view::{CommitmentFlags, CommitmentSummary};
use covenant_query::{Projections, ResolvedAsOf, Status, StatusCounts};
use maud::{Markup, html};
use std::collections::HashMap;

/// The projections the pages read, as the API's: as projected so far by the server's
/// background follower (a page never applies log entries itself), and each page says which
/// point it shows.
pub(crate) fn projections(state: &AppState) -> Result<&Projections, PageError> {
    state.query.as_deref().ok_or_else(|| PageError {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        message: "this server has no query projections configured".to_owned(),
        parameter: None,
    })
}

/// How a status looks; retracted commitments have no tone (they count nowhere).
pub(crate) fn tone_of(status: Status) -> Option<Tone> {
    match status {
        Status::NotStarted => Some(Tone::NotStarted),
        Status::InProgress => Some(Tone::InProgress),
        Status::Overdue => Some(Tone::Overdue),
        Status::Delivered => Some(Tone::Delivered),
        Status::PartlyDelivered => Some(Tone::PartlyDelivered),
        Status::NotDelivered => Some(Tone::NotDelivered),
        Status::Withdrawn => Some(Tone::Withdrawn),
        _ => None,
    }
}

pub(crate) fn status_of(tone: Tone) -> Status {
    match tone {
        Tone::NotStarted => Status::NotStarted,
        Tone::InProgress => Status::InProgress,
        Tone::Overdue => Status::Overdue,
        Tone::Delivered => Status::Delivered,
        Tone::PartlyDelivered => Status::PartlyDelivered,
        Tone::NotDelivered => Status::NotDelivered,
        Tone::Withdrawn => Status::Withdrawn,
    }
}

/// A status in words, as the badges say it.
pub(crate) fn status_label(status: Status) -> &'static str {
    tone_of(status).map_or("Retracted", Tone::label)
}

/// The status an outcome's verdict (`delivered`, `partly_delivered`, `not_delivered`) claims.
pub(crate) fn verdict_status(verdict: Verdict) -> Status {
    match verdict {
        Verdict::Delivered => Status::Delivered,
        Verdict::PartlyDelivered => Status::PartlyDelivered,
        Verdict::NotDelivered | Verdict::Unspecified => Status::NotDelivered,
    }
}

pub(crate) fn status_badge(status: Status) -> Markup {
    match tone_of(status) {
        Some(tone) => badge(tone),
        None => html! { span class="badge badge-not_started" { (status_label(status)) } },
    }
}

/// Status counts in the order the pages show them.
pub(crate) fn shares(counts: &StatusCounts) -> Vec<Share> {
    Tone::ALL
        .into_iter()
        .map(|tone| Share {
            tone,
            count: u64::try_from(count_of(counts, tone)).unwrap_or(0),
        })
        .collect()
}

pub(crate) fn count_of(counts: &StatusCounts, tone: Tone) -> i64 {
    match tone {
        Tone::Delivered => counts.delivered,
        Tone::PartlyDelivered => counts.partly_delivered,
        Tone::InProgress => counts.in_progress,
        Tone::NotStarted => counts.not_started,
        Tone::Overdue => counts.overdue,
        Tone::NotDelivered => counts.not_delivered,
        Tone::Withdrawn => counts.withdrawn,
    }
}

/// A link that keeps the reader's `as_of`.
pub(crate) fn link(path: &str, as_of: &PageAsOf, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = extra
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    params.extend(as_of.param());
    href(path, &params)
}

pub(crate) fn actor_link(id: &str, as_of: &PageAsOf) -> String {
    link(&format!("/actors/{}", segment(id)), as_of, &[])
}

pub(crate) fn commitment_link(id: &str, as_of: &PageAsOf) -> String {
    link(&format!("/commitments/{}", segment(id)), as_of, &[])
}

pub(crate) fn theme_link(theme: &str, as_of: &PageAsOf) -> String {
    link(&format!("/themes/{}", segment(theme)), as_of, &[])
}

/// The JSON, CSV and Atom addresses of a page's data. JSON and CSV keep the reader's
/// `as_of`; a feed is always of the latest, as feed readers poll it for news.
pub(crate) fn formats(as_of: &PageAsOf, entries: &[(&'static str, String)]) -> Vec<Format> {
    entries
        .iter()
        .map(|(label, url)| {
            let url = match &as_of.requested {
                Some(as_of) if *label != "Atom" => {
                    let separator = if url.contains('?') { '&' } else { '?' };
                    let query = form_urlencoded::Serializer::new(String::new())
                        .append_pair("as_of", as_of)
                        .finish();
                    format!("{url}{separator}{query}")
                }
                _ => url.clone(),
            };
            Format { label, url }
        })
        .collect()
}

/// Display names for actor ids, looked up once per page.
pub(crate) struct Names(HashMap<String, String>);

impl Names {
    pub(crate) fn load<'a>(
        projections: &Projections,
        point: &ResolvedAsOf,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Names, PageError> {
        let mut names = HashMap::new();
        for id in ids {
            if names.contains_key(id) {
                continue;
            }
            if let Some(actor) = projections.actor(id, point)? {
                names.insert(id.to_owned(), actor.name);
            }
        }
        Ok(Names(names))
    }

    pub(crate) fn of<'a>(&'a self, id: &'a str) -> &'a str {
        self.0.get(id).map_or(id, String::as_str)
    }
}

pub(crate) fn flags(flags: &CommitmentFlags) -> Markup {
    html! {
        @if flags.goalposts_moved {
            span class="flag flag-amended" title="The deadline or target was moved after the promise was made" {
                "Goalposts moved"
            }
        } @else if flags.amendments > 0 {
            (flag("Amended", "The wording or scope was changed after the promise was made"))
        }
        @if flags.disputed {
            " "
            span class="flag flag-disputed" title="An independent assessor disputes the reported outcome" {
                "Disputed"
            }
        }
        @if flags.succeeded {
            " "
            (flag("Passed on", "A machinery-of-government change passed this commitment to another body"))
        }
    }
}

/// Whose list of commitments a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListOf<'a> {
    /// Anyone's (a theme, a search): each item names its owner.
    Everyone,
    /// One actor's: those it owns, and those it delivers as a partner, marked so.
    Actor(&'a str),
}

/// A list of commitments with their status, flags, owner and dates.
pub(crate) fn commitment_list(
    items: &[CommitmentSummary],
    names: &Names,
    as_of: &PageAsOf,
    list_of: ListOf<'_>,
) -> Markup {
    let show_owner = list_of == ListOf::Everyone;
    html! {
        ul class="items commitments" {
            @for item in items {
                li data-status=(item.status.as_str()) {
                    div {
                        a class="item-title" href=(commitment_link(&item.id, as_of)) { (item.title) }
                        " " (status_badge(item.status)) " " (flags(&item.flags))
                    }
                    div class="item-meta" {
                        @if show_owner {
                            span { a href=(actor_link(&item.owner, as_of)) { (names.of(&item.owner)) } }
                        }
                        @if let ListOf::Actor(actor) = list_of && item.owner != actor {
                            span class="partner-mark" {
                                "Delivery partner · answerable: "
                                a href=(actor_link(&item.owner, as_of)) { (names.of(&item.owner)) }
                            }
                        }
                        span { "Made " (format::date(&item.made_on)) }
                        @if let Some(due) = &item.due_by {
                            span { "Due " (format::date(due)) }
                        }
                        @if let Some(days) = item.days_overdue {
                            span { strong { (format::days(i64::from(days))) " overdue" } }
                        }
                        @if let Some(outcome_on) = &item.outcome_on {
                            span { "Outcome " (format::date(outcome_on)) }
                        }
                        @if !item.themes.is_empty() {
                            span {
                                @for (index, theme) in item.themes.iter().enumerate() {
                                    @if index > 0 { ", " }
                                    a href=(theme_link(theme, as_of)) { (theme) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The filters a list of commitments accepts, read from the query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListFilter {
    pub theme: Option<String>,
    pub status: Option<Tone>,
    pub cursor: Option<String>,
}

impl ListFilter {
    pub(crate) fn from_params(params: &Params) -> Result<ListFilter, PageError> {
        let non_empty = |key: &str| {
            params
                .get(key)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let status = match non_empty("status") {
            None => None,
            Some(key) => Some(Tone::from_key(&key).ok_or_else(|| {
                let known: Vec<&str> = Tone::ALL.iter().map(|tone| tone.key()).collect();
                PageError::bad_request(format!("status {key:?} is not one of {}", known.join(", ")))
            })?),
        };
        Ok(ListFilter {
            theme: non_empty("theme"),
            status,
            cursor: non_empty("cursor"),
        })
    }

    /// The filter's query parameters, to keep when switching moment or page.
    pub(crate) fn keep(&self) -> Vec<(String, String)> {
        let mut keep = vec![];
        if let Some(theme) = &self.theme {
            keep.push(("theme".to_owned(), theme.clone()));
        }
        if let Some(status) = self.status {
            keep.push(("status".to_owned(), status.key().to_owned()));
        }
        keep
    }
}

/// The filter form above a list: theme and status, as a plain GET form.
pub(crate) fn filter_form(
    action: &str,
    filter: &ListFilter,
    as_of: &PageAsOf,
    themes: &[String],
    choose_theme: bool,
) -> Markup {
    html! {
        form class="filters" method="get" action=(action) data-autosubmit
            aria-label="Filter the commitments" {
            @for (key, value) in as_of.param() {
                input type="hidden" name=(key) value=(value);
            }
            @if choose_theme {
                div class="field" {
                    label for="filter-theme" { "Theme" }
                    select id="filter-theme" name="theme" {
                        option value="" { "Any theme" }
                        @for theme in themes {
                            option value=(theme) selected[filter.theme.as_deref() == Some(theme.as_str())] {
                                (format::words_of(theme))
                            }
                        }
                    }
                }
            }
            div class="field" {
                label for="filter-status" { "Status" }
                select id="filter-status" name="status" {
                    option value="" { "Any status" }
                    @for tone in Tone::ALL {
                        option value=(tone.key()) selected[filter.status == Some(tone)] { (tone.label()) }
                    }
                }
            }
            button type="submit" { "Apply" }
            @if filter.theme.is_some() || filter.status.is_some() {
                a href=(link(action, as_of, &[])) { "Clear filters" }
            }
        }
    }
}

/// The seed values first, then any other themes seen on the page.
pub(crate) fn theme_choices<'a>(seen: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut choices: Vec<String> = SEED_THEMES.iter().map(|seed| (*seed).to_owned()).collect();
    for theme in seen {
        if !choices.contains(theme) {
            choices.push(theme.clone());
        }
    }
    choices
}

/// A "next page" link carrying the filter, the moment and the cursor.
pub(crate) fn pager(
    action: &str,
    filter: &ListFilter,
    as_of: &PageAsOf,
    next: Option<&str>,
) -> Markup {
    let first_page = {
        let mut params = filter.keep();
        params.extend(as_of.param());
        href(action, &params)
    };
    html! {
        nav class="pager" aria-label="More commitments" {
            @if filter.cursor.is_some() {
                a href=(first_page) { "← First page" }
            } @else {
                span {}
            }
            @if let Some(next) = next {
                @let next_page = {
                    let mut params = filter.keep();
                    params.extend(as_of.param());
                    params.push(("cursor".to_owned(), next.to_owned()));
                    href(action, &params)
                };
                a href=(next_page) rel="next" { "Next page →" }
            }
        }
    }
}

/// Headline numbers as a definition list of figures.
pub(crate) fn figures(items: &[(&str, String)]) -> Markup {
    html! {
        dl class="figures" {
            @for (label, value) in items {
                div class="figure" {
                    dt { (label) }
                    dd { (value) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filter_reads_theme_status_and_cursor_and_names_a_bad_status() {
        let mut params = Params::new();
        params.insert("theme".into(), "love".into());
        params.insert("status".into(), "overdue".into());
        params.insert("cursor".into(), " ".into());
        let filter = ListFilter::from_params(&params).unwrap();
        assert_eq!(filter.theme.as_deref(), Some("love"));
        assert_eq!(filter.status, Some(Tone::Overdue));
        assert_eq!(filter.cursor, None);
        assert_eq!(
            filter.keep(),
            vec![
                ("theme".to_owned(), "love".to_owned()),
                ("status".to_owned(), "overdue".to_owned())
            ]
        );

        params.insert("status".into(), "kept".into());
        let error = ListFilter::from_params(&params).unwrap_err();
        assert!(
            error
                .message
                .starts_with("status \"kept\" is not one of delivered")
        );
    }

    #[test]
    fn every_tone_maps_to_a_status_and_back() {
        for tone in Tone::ALL {
            assert_eq!(tone_of(status_of(tone)), Some(tone));
            assert_eq!(status_of(tone).as_str(), tone.key());
        }
        assert_eq!(tone_of(Status::Retracted), None);
    }

    #[test]
    fn data_links_keep_the_moment_except_the_feed() {
        let point = ResolvedAsOf {
            size: 12,
            date: covenant_core::event::Date::parse("2026-01-01").unwrap(),
            world: None,
            latest: false,
            reuse_records: true,
        };
        let as_of = PageAsOf {
            point,
            recorded: None,
            requested: Some("2026-01-01".into()),
            checkpoints: vec![],
        };
        let links = formats(
            &as_of,
            &[
                ("JSON", "/v1/actors/A".to_owned()),
                ("CSV", "/v1/commitments.csv?actor=A".to_owned()),
                ("Atom", "/v1/actors/A/feed.atom".to_owned()),
            ],
        );
        let urls: Vec<&str> = links.iter().map(|link| link.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "/v1/actors/A?as_of=2026-01-01",
                "/v1/commitments.csv?actor=A&as_of=2026-01-01",
                "/v1/actors/A/feed.atom"
            ]
        );
        assert_eq!(
            commitment_link("a b", &as_of),
            "/commitments/a%20b?as_of=2026-01-01"
        );
    }

    #[test]
    fn theme_choices_put_the_seed_values_first() {
        let seen = ["housing".to_owned(), "love".to_owned()];
        let choices = theme_choices(&seen);
        assert_eq!(choices.len(), 8);
        assert_eq!(choices[0], "sustainability");
        assert_eq!(choices[7], "housing");
    }
}
