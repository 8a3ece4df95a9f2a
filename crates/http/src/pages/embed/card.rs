//! What a card shows, read from the projections, and the HTML card drawn from it.

use super::{Subject, as_of_words};
use crate::pages::actor::kind_line;
use crate::pages::assets;
use crate::pages::chart::Share;
use crate::pages::common::{
    actor_link, commitment_link, shares, status_badge, status_label, verdict_status,
};
use crate::pages::{PageAsOf, PageError, format};
use covenant_query::{Projections, ResolvedAsOf, Status};
use maud::{DOCTYPE, Markup, html};

/// A commitment's card.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CommitmentCard {
    pub id: String,
    pub title: String,
    pub owner: String,
    pub owner_name: String,
    pub status: Status,
    pub days_overdue: Option<i32>,
    pub due_by: Option<String>,
    pub outcome: Option<LatestOutcome>,
}

/// The outcome that stands: the status its verdict claims, and when it was reported.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LatestOutcome {
    pub verdict: Status,
    pub reported_on: String,
}

/// An actor's card.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ActorCard {
    pub id: String,
    pub name: String,
    /// The kind in words ("Department", "MP · Labour · Leeds Central").
    pub kind: String,
    pub commitments: i64,
    pub counts: Vec<Share>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Card {
    Commitment(CommitmentCard),
    Actor(ActorCard),
}

impl Card {
    /// The card's headline: a commitment's title, an actor's name.
    pub(crate) fn title(&self) -> &str {
        match self {
            Card::Commitment(card) => &card.title,
            Card::Actor(card) => &card.name,
        }
    }
}

/// The card of `subject` at `point`; a 404 when it is unknown there.
pub(crate) fn load(
    projections: &Projections,
    subject: &Subject,
    point: &ResolvedAsOf,
) -> Result<Card, PageError> {
    match subject {
        Subject::Commitment(id) => load_commitment(projections, id, point).map(Card::Commitment),
        Subject::Actor(id) => load_actor(projections, id, point).map(Card::Actor),
    }
}

fn load_commitment(
    projections: &Projections,
    id: &str,
    point: &ResolvedAsOf,
) -> Result<CommitmentCard, PageError> {
    let detail = projections.commitment(id, point)?.ok_or_else(|| {
        PageError::not_found(format!(
            "no commitment {id:?} had been made at this point in the log"
        ))
    })?;
    let owner_name = projections
        .actor(&detail.owner, point)?
        .map_or_else(|| detail.owner.clone(), |actor| actor.name);
    Ok(CommitmentCard {
        id: detail.id,
        title: detail.current.title,
        owner: detail.owner,
        owner_name,
        status: detail.status,
        days_overdue: detail.days_overdue,
        due_by: detail.current.due_by,
        outcome: detail.outcome.map(|outcome| LatestOutcome {
            verdict: verdict_status(outcome.verdict),
            reported_on: outcome.reported_on,
        }),
    })
}

fn load_actor(
    projections: &Projections,
    id: &str,
    point: &ResolvedAsOf,
) -> Result<ActorCard, PageError> {
    let not_found = || {
        PageError::not_found(format!(
            "no actor {id:?} is registered in the log at this point"
        ))
    };
    let scorecard = projections
        .actor_scorecard(id, point, 0)?
        .ok_or_else(not_found)?;
    let actor = scorecard.actor.ok_or_else(not_found)?;
    Ok(ActorCard {
        kind: kind_line(&actor),
        id: actor.id,
        name: actor.name,
        commitments: scorecard.commitments,
        counts: shares(&scorecard.counts),
    })
}

/// The deadline in words, or that there is none.
pub(crate) fn deadline_words(card: &CommitmentCard) -> String {
    card.due_by
        .as_deref()
        .map_or_else(|| "none set".to_owned(), format::date)
}

/// The latest outcome in words: "Delivered, reported 20 Apr 2026".
pub(crate) fn outcome_words(card: &CommitmentCard) -> String {
    match &card.outcome {
        Some(outcome) => format!(
            "{}, reported {}",
            status_label(outcome.verdict),
            format::date(&outcome.reported_on)
        ),
        None => "No outcome reported yet".to_owned(),
    }
}

/// A whole card document: the site's stylesheet and the cards' own, and nothing else.
fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en-GB" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Covenant" }
                link rel="stylesheet" href=(assets::stylesheet_url());
                link rel="stylesheet" href=(assets::card_stylesheet_url());
            }
            body class="embed" { (body) }
        }
    }
}

/// A link out of the frame: it opens in a new tab, without handing the card's window over.
fn out_link(href: &str, class: Option<&str>, text: Markup) -> Markup {
    html! {
        a class=[class] href=(href) target="_blank" rel="noopener" { (text) }
    }
}

fn foot(as_of: &PageAsOf, link: &str, link_text: &str) -> Markup {
    html! {
        p class="embed-foot" {
            span class="embed-as-of" { (as_of_words(&as_of.point)) }
            (out_link(link, Some("embed-verify"), html! { (link_text) }))
        }
    }
}

fn commitment_html(card: &CommitmentCard, as_of: &PageAsOf) -> Markup {
    let page = commitment_link(&card.id, as_of);
    html! {
        article class="embed-card" data-kind="commitment" {
            p class="embed-eyebrow" {
                (out_link(&actor_link(&card.owner, as_of), None, html! { (card.owner_name) }))
            }
            h1 class="embed-title" { (out_link(&page, None, html! { (card.title) })) }
            p class="embed-status" {
                (status_badge(card.status))
                @if let Some(days) = card.days_overdue {
                    " " strong { (format::days(i64::from(days))) " overdue" }
                }
            }
            dl class="embed-facts" {
                div { dt { "Deadline" } dd class="embed-deadline" { (deadline_words(card)) } }
                div { dt { "Latest outcome" } dd class="embed-outcome" { (outcome_words(card)) } }
            }
            (foot(as_of, &page, "Verify"))
        }
    }
}

fn actor_html(card: &ActorCard, as_of: &PageAsOf) -> Markup {
    let page = actor_link(&card.id, as_of);
    html! {
        article class="embed-card" data-kind="actor" {
            p class="embed-eyebrow" { (card.kind) }
            h1 class="embed-title" { (out_link(&page, None, html! { (card.name) })) }
            p class="embed-total" { (format::commitments(card.commitments)) }
            ul class="embed-counts" {
                @for share in &card.counts {
                    li data-status=(share.tone.key()) {
                        span class={ "badge badge-" (share.tone.key()) } { (share.tone.label()) }
                        " " strong { (share.count) }
                    }
                }
            }
            (foot(as_of, &page, "See every commitment"))
        }
    }
}

/// The HTML card.
pub(crate) fn html(card: &Card, as_of: &PageAsOf) -> Markup {
    let body = match card {
        Card::Commitment(card) => commitment_html(card, as_of),
        Card::Actor(card) => actor_html(card, as_of),
    };
    document(card.title(), body)
}

/// The card of a request that could not be answered: small, framable, and saying why.
pub(crate) fn error_html(error: &PageError) -> Markup {
    let title = if error.status == axum::http::StatusCode::NOT_FOUND {
        "Not found"
    } else {
        "This card cannot be shown"
    };
    document(
        title,
        html! {
            article class="embed-card" data-kind="error" {
                p class="embed-eyebrow" { "Covenant" }
                h1 class="embed-title" { (title) }
                p class="embed-message" { (error.message) }
                p class="embed-foot" { (out_link("/", None, html! { "Covenant: what was promised, what was done" })) }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_core::event::Date;

    fn page_as_of() -> PageAsOf {
        PageAsOf {
            point: ResolvedAsOf {
                size: 42,
                date: Date::parse("2026-06-01").expect("a date"),
                world: None,
                latest: true,
                reuse_records: true,
            },
            requested: None,
            recorded: None,
            checkpoints: vec![],
        }
    }

    fn hostile() -> CommitmentCard {
        CommitmentCard {
            id: "c&1".into(),
            title: "Fish & <chips> \"now\" 'please'".into(),
            owner: "GB-GOV-X".into(),
            owner_name: "Ministry of <b>Fish</b>".into(),
            status: Status::Overdue,
            days_overdue: Some(3),
            due_by: Some("2026-05-29".into()),
            outcome: None,
        }
    }

    #[test]
    fn a_commitment_card_escapes_its_text_and_links_out_in_a_new_tab() {
        let markup = html(&Card::Commitment(hostile()), &page_as_of()).into_string();
        assert!(markup.contains("Fish &amp; &lt;chips&gt; &quot;now&quot; 'please'"));
        assert!(!markup.contains("<chips>"));
        assert!(markup.contains("Ministry of &lt;b&gt;Fish&lt;/b&gt;"));
        assert!(markup.contains(
            "<a class=\"embed-verify\" href=\"/commitments/c%261\" target=\"_blank\" rel=\"noopener\">Verify</a>"
        ));
        assert!(markup.contains("<span class=\"badge badge-overdue\">Overdue</span>"));
        assert!(markup.contains("3 days overdue"));
        assert!(markup.contains("29 May 2026"));
        assert!(markup.contains("No outcome reported yet"));
        assert!(markup.contains("As of the log at 42 entries, 1 Jun 2026"));
        assert!(!markup.contains("<script"));
        assert!(!markup.contains("style="));
    }

    #[test]
    fn the_latest_outcome_reads_as_its_verdict_and_date() {
        let card = CommitmentCard {
            outcome: Some(LatestOutcome {
                verdict: Status::PartlyDelivered,
                reported_on: "2026-03-15".into(),
            }),
            ..hostile()
        };
        assert_eq!(
            outcome_words(&card),
            "Partly delivered, reported 15 Mar 2026"
        );
    }
}
