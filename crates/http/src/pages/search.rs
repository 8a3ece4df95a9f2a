//! Search across every commitment: words, theme, status and dates.

use super::common::{
    ListFilter, ListOf, Names, commitment_list, formats, projections, status_of, theme_choices,
};
use super::layout::{self, Frame, Section, href};
use super::tone::Tone;
use super::{PageAsOf, PageError, Params, format, page_as_of};
use crate::AppState;
use covenant_core::event::Date;
use covenant_query::view::CommitmentPage;
use covenant_query::{CommitmentFilter, Flag, words};
use maud::{Markup, html};

const PAGE_SIZE: usize = 50;

/// The flags a search can ask for, as [`Flag::NAMES`] spells them, with words for people.
const FLAG_LABELS: [(&str, &str); 4] = [
    ("amended", "Amended"),
    ("goalposts_moved", "Goalposts moved"),
    ("disputed", "Disputed"),
    ("succeeded", "Passed to another body"),
];

/// What the reader searched for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SearchQuery {
    pub text: String,
    pub list: ListFilter,
    /// One of [`Flag::NAMES`].
    pub flag: Option<String>,
    pub made_from: Option<Date>,
    pub made_to: Option<Date>,
}

impl SearchQuery {
    pub(crate) fn from_params(params: &Params) -> Result<SearchQuery, PageError> {
        let date = |key: &str| -> Result<Option<Date>, PageError> {
            match params
                .get(key)
                .map(|value| value.trim())
                .filter(|v| !v.is_empty())
            {
                None => Ok(None),
                Some(text) => Date::parse(text).map(Some).ok_or_else(|| {
                    PageError::bad_request(format!("{key} {text:?} is not a date (YYYY-MM-DD)"))
                }),
            }
        };
        let flag = match params
            .get("flag")
            .map(|value| value.trim())
            .filter(|v| !v.is_empty())
        {
            None => None,
            Some(name) if Flag::parse(name).is_some() => Some(name.to_owned()),
            Some(name) => {
                return Err(PageError::bad_request(format!(
                    "flag {name:?} is not one of {}",
                    Flag::NAMES.join(", ")
                )));
            }
        };
        Ok(SearchQuery {
            text: params
                .get("q")
                .map(|q| q.trim().to_owned())
                .unwrap_or_default(),
            list: ListFilter::from_params(params)?,
            flag,
            made_from: date("made_from")?,
            made_to: date("made_to")?,
        })
    }

    fn is_empty(&self) -> bool {
        self.text.is_empty()
            && self.list.theme.is_none()
            && self.list.status.is_none()
            && self.flag.is_none()
            && self.made_from.is_none()
            && self.made_to.is_none()
    }

    fn filter(&self) -> CommitmentFilter {
        CommitmentFilter {
            theme: self.list.theme.clone(),
            status: self.list.status.map(status_of),
            words: words(&self.text),
            made_from: self.made_from,
            made_to: self.made_to,
            flag: self.flag.as_deref().and_then(Flag::parse),
            ..CommitmentFilter::default()
        }
    }

    /// The query's parameters, to keep in links.
    fn keep(&self) -> Vec<(String, String)> {
        let mut keep = vec![("q".to_owned(), self.text.clone())];
        keep.extend(self.list.keep());
        if let Some(flag) = &self.flag {
            keep.push(("flag".to_owned(), flag.clone()));
        }
        for (key, value) in [("made_from", self.made_from), ("made_to", self.made_to)] {
            if let Some(date) = value {
                keep.push((key.to_owned(), date.to_string()));
            }
        }
        keep
    }
}

pub(crate) fn page(state: &AppState, params: &Params) -> Result<Markup, PageError> {
    let projections = projections(state)?;
    let as_of = page_as_of(state, projections, params)?;
    let query = SearchQuery::from_params(params)?;
    let results = if query.is_empty() {
        None
    } else {
        Some(projections.commitments(
            &as_of.point,
            &query.filter(),
            query.list.cursor.as_deref(),
            PAGE_SIZE,
        )?)
    };
    let owners = results
        .iter()
        .flat_map(|page| page.items.iter().map(|item| item.owner.as_str()));
    let names = Names::load(projections, &as_of.point, owners)?;
    let themes = projections
        .themes(&as_of.point)?
        .items
        .into_iter()
        .map(|theme| theme.theme)
        .collect::<Vec<_>>();
    Ok(render(
        &query,
        results.as_ref(),
        &theme_choices(&themes),
        &names,
        &as_of,
    ))
}

fn search_form(query: &SearchQuery, themes: &[String], as_of: &PageAsOf) -> Markup {
    html! {
        form class="search" method="get" action="/search" role="search" {
            @for (key, value) in as_of.param() {
                input type="hidden" name=(key) value=(value);
            }
            div class="search-box" {
                label class="visually-hidden" for="q" { "Words in the commitment" }
                input id="q" type="search" name="q" value=(query.text)
                    placeholder="Words in the promise, e.g. housing" autocomplete="off";
                button type="submit" { "Search" }
            }
            div class="filters" {
                div class="field" {
                    label for="filter-theme" { "Theme" }
                    select id="filter-theme" name="theme" {
                        option value="" { "Any theme" }
                        @for theme in themes {
                            option value=(theme) selected[query.list.theme.as_deref() == Some(theme.as_str())] { (format::words_of(theme)) }
                        }
                    }
                }
                div class="field" {
                    label for="filter-status" { "Status" }
                    select id="filter-status" name="status" {
                        option value="" { "Any status" }
                        @for tone in Tone::ALL {
                            option value=(tone.key()) selected[query.list.status == Some(tone)] { (tone.label()) }
                        }
                    }
                }
                div class="field" {
                    label for="filter-flag" { "Flag" }
                    select id="filter-flag" name="flag" {
                        option value="" { "Any" }
                        @for (name, label) in FLAG_LABELS {
                            option value=(name) selected[query.flag.as_deref() == Some(name)] { (label) }
                        }
                    }
                }
                div class="field" {
                    label for="made_from" { "Made from" }
                    input id="made_from" type="date" name="made_from" value=(query.made_from.map(|d| d.to_string()).unwrap_or_default());
                }
                div class="field" {
                    label for="made_to" { "Made to" }
                    input id="made_to" type="date" name="made_to" value=(query.made_to.map(|d| d.to_string()).unwrap_or_default());
                }
                button type="submit" class="secondary" { "Apply filters" }
            }
        }
    }
}

pub(crate) fn render(
    query: &SearchQuery,
    results: Option<&CommitmentPage>,
    themes: &[String],
    names: &Names,
    as_of: &PageAsOf,
) -> Markup {
    let keep = query.keep();
    let mut api_params = keep.clone();
    api_params.retain(|(key, _)| key != "cursor");
    let frame = Frame {
        title: if query.text.is_empty() {
            "Search commitments".to_owned()
        } else {
            format!("Search: {}", query.text)
        },
        description: "Search every commitment by words, theme, status and date.".to_owned(),
        path: "/search".to_owned(),
        section: Section::Search,
        as_of: as_of.control(keep),
        formats: formats(
            as_of,
            &[
                ("JSON", href("/v1/commitments", &api_params)),
                ("CSV", href("/v1/commitments.csv", &api_params)),
            ],
        ),
        oembed: None,
    };
    let body = html! {
        h1 { "Search commitments" }
        (search_form(query, themes, as_of))
        @match results {
            None => p class="muted" { "Type words from a promise, or choose a theme, a status or a flag." },
            Some(page) => {
                section aria-labelledby="results-heading" class="card" {
                    h2 id="results-heading" {
                        @if page.items.is_empty() { "No commitment matches" }
                        @else if page.next_cursor.is_some() { "First " (page.items.len()) " matches" }
                        @else { (page.items.len()) " " (if page.items.len() == 1 { "match" } else { "matches" }) }
                    }
                    (commitment_list(&page.items, names, as_of, ListOf::Everyone))
                    (search_pager(query, as_of, page.next_cursor.as_deref()))
                }
            }
        }
    };
    layout::page(&frame, body)
}

fn search_pager(query: &SearchQuery, as_of: &PageAsOf, next: Option<&str>) -> Markup {
    let mut params = query.keep();
    params.extend(as_of.param());
    let next_link = next.map(|cursor| {
        let mut with_cursor = params.clone();
        with_cursor.push(("cursor".to_owned(), cursor.to_owned()));
        href("/search", &with_cursor)
    });
    html! {
        @if query.list.cursor.is_some() || next_link.is_some() {
            nav class="pager" aria-label="More results" {
                @if query.list.cursor.is_some() { a href=(href("/search", &params)) { "← First page" } } @else { span {} }
                @if let Some(next_link) = next_link { a href=(next_link) rel="next" { "Next page →" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_labels_cover_every_flag_the_query_layer_knows() {
        let names: Vec<&str> = FLAG_LABELS.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, Flag::NAMES);
    }

    #[test]
    fn search_reads_words_flag_and_dates_and_names_bad_ones() {
        let mut params = Params::new();
        params.insert("q".into(), " libraries ".into());
        params.insert("flag".into(), "disputed".into());
        params.insert("made_from".into(), "2025-01-01".into());
        let query = SearchQuery::from_params(&params).unwrap();
        assert_eq!(query.text, "libraries");
        assert_eq!(query.filter().flag, Some(Flag::Disputed));
        assert!(query.filter().words.contains("libraries"));
        assert!(
            query
                .keep()
                .contains(&("flag".to_owned(), "disputed".to_owned()))
        );

        params.insert("flag".into(), "scandal".into());
        let error = SearchQuery::from_params(&params).unwrap_err();
        assert!(
            error.message.starts_with("flag \"scandal\" is not one of"),
            "{}",
            error.message
        );
        params.remove("flag");
        params.insert("made_to".into(), "someday".into());
        let error = SearchQuery::from_params(&params).unwrap_err();
        assert_eq!(
            error.message,
            "made_to \"someday\" is not a date (YYYY-MM-DD)"
        );
    }
}
