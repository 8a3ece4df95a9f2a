//! One commitment: original against current, what was done, what came of it, who disputes it,
//! and for every event its place in the log with a link to the proof.

use super::actor::money_bars;
use super::common::{
    Names, actor_link, flags, formats, projections, status_badge, theme_link, verdict_status,
};
use super::layout::{self, Frame, Section, segment};
use super::{PageAsOf, PageError, Params, diff, embed, format, page_as_of};
use crate::{AppState, proofs, sentences};
use covenant_core::SchemaName;
use covenant_core::proto::{AmendedField, EventKind, Stance, Verdict};
use covenant_query::view::{CommitmentDetail, HistoryEvent, IndicatorTarget, Link, Terms};
use maud::{Markup, html};

pub(crate) fn page(state: &AppState, id: &str, params: &Params) -> Result<Markup, PageError> {
    let projections = projections(state)?;
    let as_of = page_as_of(state, projections, params)?;
    let detail = projections.commitment(id, &as_of.point)?.ok_or_else(|| {
        PageError::not_found(format!(
            "no commitment {id:?} had been made at this point in the log"
        ))
    })?;
    let mut ids: Vec<&str> = vec![&detail.owner, &detail.maker];
    ids.extend(detail.history.iter().map(|event| event.actor.as_str()));
    ids.extend(detail.partners.iter().map(String::as_str));
    ids.extend(detail.delivery_partners.iter().map(String::as_str));
    if let Some(adoption) = &detail.adoption {
        ids.push(&adoption.adopted_by);
    }
    if let Some(succession) = &detail.succession {
        for step in &succession.steps {
            ids.push(&step.predecessor);
            ids.push(&step.successor);
        }
    }
    let names = Names::load(projections, &as_of.point, ids)?;
    let oembed = embed::discovery_url(
        &state.public_url,
        &embed::Subject::Commitment(id.to_owned()),
    );
    Ok(render(&detail, &names, &as_of, oembed))
}

/// The single legacy indicator's target, unit after the number: "92% by 2028-29".
fn target(terms: &Terms, unit: &str) -> Option<String> {
    let value = terms.target_value.map(|value| format::measure(value, unit));
    match (value, terms.target_period.as_deref()) {
        (Some(value), Some(period)) => Some(format!("{value} by {period}")),
        (Some(value), None) => Some(value),
        (None, Some(period)) => Some(period.to_owned()),
        (None, None) => None,
    }
}

fn indicator_target(indicator: &IndicatorTarget) -> String {
    let mut text = format::target(
        indicator.comparator,
        indicator.target_value,
        indicator.target_upper,
        &indicator.unit,
    );
    if let Some(period) = &indicator.target_period {
        text.push(' ');
        text.push_str(&format::period(period));
    }
    if let Some(deadline) = &indicator.deadline {
        text.push_str(&format!(" by {}", format::date(deadline)));
    }
    text
}

/// Every named indicator: its target as first made and as it stands, baseline and latest value.
fn indicators(detail: &CommitmentDetail) -> Markup {
    let current = &detail.current.indicators;
    html! {
        @if !current.is_empty() {
            table class="indicators" {
                caption { "Targets" }
                thead { tr { th { "Measure" } th { "Target" } th { "Baseline" } th { "Latest" } } }
                tbody {
                    @for indicator in current {
                        @let original = detail.original.indicators.iter().find(|o| o.indicator_id == indicator.indicator_id);
                        tr data-indicator=(indicator.indicator_id) {
                            td { (indicator.measure) }
                            td class="target" {
                                (diff::value_change(original.map(indicator_target).as_deref(), Some(&indicator_target(indicator))))
                            }
                            td {
                                @if let Some(baseline) = indicator.baseline_value {
                                    (format::measure(baseline, &indicator.unit))
                                    @if let Some(date) = &indicator.baseline_date { " (" (format::date(date)) ")" }
                                } @else { span class="muted" { "none given" } }
                            }
                            td {
                                @if let Some(value) = indicator.latest_value {
                                    (format::measure(value, &indicator.unit))
                                    @if let Some(date) = &indicator.latest_measured_on { " (" (format::date(date)) ")" }
                                    " " @if indicator.met == Some(true) { strong class="met" { "met" } } @else { strong class="not-met" { "not met" } }
                                } @else { span class="muted" { "not measured" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn versus(detail: &CommitmentDetail) -> Markup {
    let original = &detail.original;
    let current = &detail.current;
    let changed = original.text != current.text || original.title != current.title;
    html! {
        section class="card" aria-labelledby="promise-heading" {
            h2 id="promise-heading" { "The promise" }
            @if changed {
                div class="versus" {
                    div {
                        h3 { "As first made" }
                        p class="promise-text original" { (original.text) }
                    }
                    div {
                        h3 { "As it stands now" }
                        @if original.title != current.title {
                            p { strong { "Headline: " } (diff::inline(&original.title, &current.title)) }
                        }
                        p class="promise-text current" { (diff::inline(&original.text, &current.text)) }
                    }
                }
            } @else {
                p class="promise-text" { (current.text) }
                p class="muted small" { "The wording has not changed since it was made." }
            }
            div class="terms" {
            dl class="facts" {
                dt { "Deadline" }
                dd class="deadline" { (diff::value_change(original.due_by.as_deref().map(format::date).as_deref(), current.due_by.as_deref().map(format::date).as_deref())) }
                @let unit = detail.indicator.as_ref().map_or("", |indicator| indicator.unit.as_str());
                @if target(original, unit).is_some() || target(current, unit).is_some() {
                    dt { "Target" }
                    dd class="target" {
                        (diff::value_change(target(original, unit).as_deref(), target(current, unit).as_deref()))
                        @if let Some(indicator) = &detail.indicator {
                            " " span class="muted" { "(" (indicator.measure) ")" }
                        }
                    }
                }
                @if original.scope.is_some() || current.scope.is_some() {
                    dt { "Scope" }
                    dd { (diff::value_change(original.scope.as_deref(), current.scope.as_deref())) }
                }
                @if let Some(indicator) = &detail.indicator {
                    @if let Some(baseline) = indicator.baseline_value {
                        dt { "Baseline" }
                        dd {
                            (format::measure(baseline, &indicator.unit))
                            @if let Some(date) = &indicator.baseline_date { " on " (format::date(date)) }
                            " (" (if indicator.higher_is_better { "higher is better" } else { "lower is better" }) ")"
                        }
                    }
                }
            }
            (indicators(detail))
            }
        }
    }
}

fn facts(detail: &CommitmentDetail, names: &Names, as_of: &PageAsOf) -> Markup {
    html! {
        dl class="facts" {
            dt { "Answerable" }
            dd { a href=(actor_link(&detail.owner, as_of)) { (names.of(&detail.owner)) } }
            @if detail.maker != detail.owner {
                dt { "Made by" }
                dd { a href=(actor_link(&detail.maker, as_of)) { (names.of(&detail.maker)) } }
            }
            @if let Some(adoption) = &detail.adoption {
                dt { "Adopted" }
                dd class="adoption" {
                    "by " a href=(actor_link(&adoption.adopted_by, as_of)) { (names.of(&adoption.adopted_by)) }
                    " on " (format::date(&adoption.adopted_on))
                    @if let Some(note) = &adoption.note { " (" (note) ")" }
                }
            }
            @if !detail.delivery_partners.is_empty() {
                dt { "Delivered with" }
                dd class="delivery-partners" {
                    @for (index, partner) in detail.delivery_partners.iter().enumerate() {
                        @if index > 0 { ", " }
                        a href=(actor_link(partner, as_of)) { (names.of(partner)) }
                    }
                }
            }
            dt { "Made on" }
            dd { (format::date(&detail.made_on)) }
            dt { "Recorded on" }
            dd {
                (format::date(&detail.recorded_on))
                @if detail.backfilled { " " strong class="backfilled" { "(long after it was made)" } }
            }
            @for source in detail.source.iter().chain(&detail.sources) {
                dt { "Source" }
                dd {
                    (format::words_of(source.kind.schema_name())) ": "
                    @if source.url.is_empty() { (source.title) } @else { a href=(source.url) rel="external" { (source.title) } }
                }
            }
            @if !detail.evidence.is_empty() {
                dt { "Evidence" }
                dd { (evidence(&detail.evidence)) }
            }
            @if !detail.themes.is_empty() {
                dt { "Themes" }
                dd {
                    @for (index, theme) in detail.themes.iter().enumerate() {
                        @if index > 0 { ", " }
                        a href=(theme_link(theme, as_of)) { (theme) }
                    }
                }
            }
            @if !detail.partners.is_empty() {
                dt { "Partners" }
                dd { @for (index, partner) in detail.partners.iter().enumerate() { @if index > 0 { ", " } (names.of(partner)) } }
            }
            dt { "Actions recorded" }
            dd { (detail.actions) }
            @if let Some(succession) = &detail.succession {
                dt { "Passed on" }
                dd {
                    @for step in &succession.steps {
                        a href=(actor_link(&step.predecessor, as_of)) { (names.of(&step.predecessor)) }
                        " → "
                        a href=(actor_link(&step.successor, as_of)) { (names.of(&step.successor)) }
                        " (" (step.kind.schema_name()) ", " (format::date(&step.effective_on)) ") "
                    }
                }
            }
        }
    }
}

fn evidence(links: &[Link]) -> Markup {
    html! {
        @if !links.is_empty() {
            ul class="evidence" {
                @for link in links {
                    li {
                        a href=(link.url) rel="external" { (if link.title.is_empty() { &link.url } else { &link.title }) }
                        @if let Some(kind) = link.kind { " " span class="muted" { "(" (format::words_of(kind.schema_name())) ")" } }
                    }
                }
            }
        }
    }
}

fn kind_label(kind: EventKind) -> &'static str {
    match kind {
        EventKind::CommitmentMade => "Promise made",
        EventKind::CommitmentAmended => "Amended",
        EventKind::CommitmentWithdrawn => "Withdrawn",
        EventKind::ActionRecorded => "Action",
        EventKind::OutcomeReported => "Outcome reported",
        EventKind::AssessmentPublished => "Assessment",
        EventKind::Retraction => "Retraction",
        EventKind::ActorSucceeded => "Passed to another body",
        EventKind::CommitmentAdopted => "Adopted in government",
        EventKind::Genesis
        | EventKind::ActorRegistered
        | EventKind::KeyGranted
        | EventKind::KeyRevoked => "Event",
    }
}

fn kind_class(kind: EventKind) -> &'static str {
    match kind {
        EventKind::CommitmentAmended => "ev-amendment",
        EventKind::ActionRecorded => "ev-action",
        EventKind::OutcomeReported => "ev-outcome",
        EventKind::AssessmentPublished => "ev-assessment",
        EventKind::CommitmentWithdrawn | EventKind::Retraction => "ev-withdrawn",
        _ => "ev-made",
    }
}

/// When it happened; and, for a backfill, when the log recorded it.
fn event_date(event: &HistoryEvent) -> Markup {
    html! {
        (format::date(&event.happened_on))
        @if event.backfilled {
            " " span class="backfilled" { "(recorded " (format::date(&event.stored_at)) ")" }
        }
    }
}

/// Where the event sits in the log and how to check it.
fn proof_line(event: &HistoryEvent) -> Markup {
    html! {
        span class="ev-proof" {
            "Log entry "
            a href=(format!("/proofs/{}", segment(&event.event_id))) title={ "Entry hash " (event.entry_hash) } { "#" (event.seq) }
            " · "
            a class="verify" href=(proofs::bundle_path(&event.event_id)) { "verify" span class="visually-hidden" { " entry " (event.seq) } }
        }
    }
}

fn assessment_box(event: &HistoryEvent, names: &Names, as_of: &PageAsOf) -> Markup {
    let stance = event.detail.stance.unwrap_or_default();
    html! {
        div class={ "assessment " (stance.schema_name()) } data-seq=(event.seq) {
            p {
                strong {
                    a href=(actor_link(&event.actor, as_of)) { (names.of(&event.actor)) }
                    @if stance == Stance::Disputes { " disputes this" } @else { " agrees" }
                }
                " " span class="ev-date" { (event_date(event)) }
            }
            @if let Some(verdict) = event.detail.verdict {
                p class="assessed-verdict" { "Their verdict: " (verdict_badge(verdict)) }
            }
            @if let Some(summary) = &event.detail.summary { p { (summary) } }
            (evidence(&event.detail.evidence))
            (proof_line(event))
        }
    }
}

/// One event of the timeline; `unit` is the commitment's measure's, for a measured outcome.
fn event_body(
    event: &HistoryEvent,
    assessments: &[&HistoryEvent],
    unit: &str,
    names: &Names,
    as_of: &PageAsOf,
) -> Markup {
    let detail = &event.detail;
    html! {
        @match event.kind {
            EventKind::CommitmentAmended => {
                @if let Some(class) = detail.class { p { strong { (format::words_of(class.schema_name())) } } }
                @if !detail.changes.is_empty() {
                    ul class="changes" {
                        @for change in &detail.changes {
                            li {
                                (format::words_of(change.field.schema_name()))
                                @if let Some(indicator) = &change.indicator_id { " (" (indicator) ")" }
                                ": "
                                @if matches!(change.field, AmendedField::Text | AmendedField::Title) {
                                    (diff::inline(change.old_value.as_deref().unwrap_or(""), &change.new_value))
                                } @else {
                                    (diff::value_change(change.old_value.as_deref(), Some(&change.new_value)))
                                }
                            }
                        }
                    }
                }
                @if let Some(rationale) = &detail.rationale { p { "Why: " (rationale) } }
            }
            EventKind::ActionRecorded => {
                p {
                    @if let Some(kind) = detail.action_type { strong { (format::words_of(kind.schema_name())) } ": " }
                    (detail.description.clone().unwrap_or_else(|| sentences::history_line(event)))
                }
                @if let Some(money) = &detail.money {
                    p class="money-line" {
                        (format::money(money.amount_minor, &money.currency)) " " (stage_word(money.stage))
                        @if money.share_minor != money.amount_minor {
                            " (this commitment's share: " (format::money(money.share_minor, &money.currency)) ")"
                        }
                    }
                }
                (evidence(&detail.evidence))
            }
            EventKind::OutcomeReported => {
                div class="claim-and-disputes" {
                    div class="claim" {
                        p {
                            strong { a href=(actor_link(&event.actor, as_of)) { (names.of(&event.actor)) } " claims " }
                            @if let Some(verdict) = detail.verdict { (verdict_badge(verdict)) }
                        }
                        @if let Some(summary) = &detail.summary { p { (summary) } }
                        @if let Some(actual) = detail.indicator_actual {
                            p {
                                "Measured: " strong { (format::measure(actual, unit)) }
                                @if let Some(period) = &detail.actual_period { " " (format::period(period)) }
                            }
                        }
                        @if let Some(lessons) = detail.lessons.as_ref().filter(|text| !text.is_empty()) {
                            p class="lessons" { strong { "What was learned: " } (lessons) }
                        }
                        (evidence(&detail.evidence))
                    }
                    @for assessment in assessments {
                        (assessment_box(assessment, names, as_of))
                    }
                }
            }
            EventKind::AssessmentPublished => {
                (assessment_box(event, names, as_of))
            }
            EventKind::CommitmentMade => {
                p {
                    "Made by " a href=(actor_link(&event.actor, as_of)) { (names.of(&event.actor)) }
                    @if let Some(due) = &detail.due_by { ", due by " (format::date(due)) }
                    "."
                }
            }
            EventKind::ActorSucceeded => {
                p {
                    "Passed from "
                    @if let Some(from) = &detail.predecessor { a href=(actor_link(from, as_of)) { (names.of(from)) } }
                    " to "
                    @if let Some(to) = &detail.successor { a href=(actor_link(to, as_of)) { (names.of(to)) } }
                    " by a machinery-of-government change."
                }
            }
            _ => {
                @if let Some(reason) = &detail.reason { p { "Reason: " (reason) } }
                @else { p { (sentences::history_line(event)) } }
            }
        }
    }
}

fn stage_word(stage: covenant_query::MoneyStage) -> &'static str {
    match stage {
        covenant_query::MoneyStage::Pledged => "pledged",
        covenant_query::MoneyStage::Committed => "committed",
        covenant_query::MoneyStage::Spent => "spent",
    }
}

fn verdict_badge(verdict: Verdict) -> Markup {
    status_badge(verdict_status(verdict))
}

fn timeline(detail: &CommitmentDetail, names: &Names, as_of: &PageAsOf) -> Markup {
    let unit = detail
        .indicator
        .as_ref()
        .map_or("", |indicator| indicator.unit.as_str());
    let outcome_ids: Vec<&str> = detail
        .history
        .iter()
        .filter(|event| event.kind == EventKind::OutcomeReported)
        .map(|event| event.event_id.as_str())
        .collect();
    let assessments_of = |outcome_id: &str| -> Vec<&HistoryEvent> {
        detail
            .history
            .iter()
            .filter(|event| event.kind == EventKind::AssessmentPublished)
            .filter(|event| event.detail.outcome_event_id.as_deref() == Some(outcome_id))
            .collect()
    };
    // Assessments show beside the claim they assess; only those whose outcome is not in the
    // history get a line of their own.
    let shown_alone = |event: &HistoryEvent| {
        event.kind != EventKind::AssessmentPublished
            || !event
                .detail
                .outcome_event_id
                .as_deref()
                .is_some_and(|id| outcome_ids.contains(&id))
    };
    html! {
        section class="card" aria-labelledby="timeline-heading" {
            h2 id="timeline-heading" { "What happened" }
            ol class="timeline" {
                @for event in detail.history.iter().filter(|event| shown_alone(event)) {
                    li class=(kind_class(event.kind)) id={ "entry-" (event.seq) }
                        // An assessment's box carries its own sequence number.
                        data-seq=[(event.kind != EventKind::AssessmentPublished).then_some(event.seq)] {
                        div class="ev-head" {
                            span class="ev-kind" { (kind_label(event.kind)) }
                            span class="ev-date" { (event_date(event)) }
                            (proof_line(event))
                        }
                        @if let Some(retraction) = &event.retracted_by {
                            p class="notice" { "Retracted (entry #" (retraction.seq) "): " (retraction.reason) ". It no longer counts." }
                        }
                        (event_body(event, &assessments_of(&event.event_id), unit, names, as_of))
                    }
                }
            }
            p class="muted small proof-help" {
                "Each " strong { "verify" } " link downloads a proof bundle: the event's log entry, "
                "its inclusion proof and the signed checkpoint. Attach it to a story; anyone can "
                "check it offline with "
                code { "covenant audit check-proof FILE --key KEY" } ", using the log's "
                a href="/log/verifier-key" { "verifier key" } "."
            }
        }
    }
}

pub(crate) fn render(
    detail: &CommitmentDetail,
    names: &Names,
    as_of: &PageAsOf,
    oembed: String,
) -> Markup {
    let path = format!("/commitments/{}", segment(&detail.id));
    let api_id = segment(&detail.id);
    let frame = Frame {
        title: detail.current.title.clone(),
        description: format!(
            "{}: promised by {}",
            detail.current.title,
            names.of(&detail.owner)
        ),
        path,
        section: Section::Other,
        as_of: as_of.control(vec![]),
        formats: formats(
            as_of,
            &[
                ("JSON", format!("/v1/commitments/{api_id}")),
                ("CSV", format!("/v1/commitments/{api_id}/history.csv")),
                (
                    "Atom",
                    format!("/v1/actors/{}/feed.atom", segment(&detail.owner)),
                ),
            ],
        ),
        oembed: Some(oembed),
    };
    let body = html! {
        p class="eyebrow" {
            a href=(actor_link(&detail.owner, as_of)) { (names.of(&detail.owner)) }
            " · commitment " code { (detail.id) }
        }
        h1 { (detail.current.title) }
        p class="status-line" {
            (status_badge(detail.status)) " " (flags(&detail.flags))
            // Named indicators decide the status; the verdict the body claimed shows beside it.
            @if let Some(claimed) = detail.claimed_status.filter(|claimed| {
                *claimed != detail.status && !detail.current.indicators.is_empty()
            }) {
                " " span class="claimed" { "(claimed: " (status_badge(claimed)) "; the measured targets say otherwise)" }
            }
            @if let Some(days) = detail.days_overdue { " " strong { (format::days(i64::from(days))) " overdue" } }
        }
        @if let Some(retraction) = &detail.retracted {
            p class="notice" { "This commitment was retracted as published in error: " (retraction.reason) }
        }
        @if let Some(withdrawal) = &detail.withdrawal {
            p class="notice" { "Withdrawn: " (withdrawal.reason) }
        }
        div class="grid commitment-top" {
            (versus(detail))
            section class="card" aria-labelledby="facts-heading" {
                h2 id="facts-heading" { "Facts" }
                (facts(detail, names, as_of))
                @if !detail.money.is_empty() {
                    h3 { "Money: pledged against spent" }
                    (money_bars(&detail.money))
                }
            }
        }
        (timeline(detail, names, as_of))
    };
    layout::page(&frame, body)
}
