//! One test per report rule (docs/REPORT.md), each on a handful of facts.

use super::*;
use crate::state::tests::{Facts, OWNER, WATCHDOG};
use covenant_core::proto::{
    ActionRecorded, ActorSucceeded, AmendedField, AmendmentClass, AssessmentPublished,
    CommitmentAmended, CommitmentMade, CommitmentWithdrawn, FieldChange, Money, OutcomeReported,
    Stance, Verdict,
};

const OTHER: &str = "GB-GOV-DFE";

fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

/// A commitment `id` made by `actor` on `made_on`, due `due_by`.
fn made(id: &str, actor: &str, made_on: &str, due_by: &str) -> Facts {
    let mut facts = Facts {
        facts: vec![],
        id: id.into(),
    };
    facts.push(
        actor,
        Kind::CommitmentMade(CommitmentMade {
            commitment_id: id.into(),
            title: format!("Title of {id}"),
            text: "Do it".into(),
            made_on: made_on.into(),
            due_by: due_by.into(),
            ..Default::default()
        }),
    );
    facts
}

fn outcome(facts: &mut Facts, verdict: Verdict, reported_on: &str) -> String {
    let id = facts.id.clone();
    facts.push(
        OWNER,
        Kind::OutcomeReported(OutcomeReported {
            commitment_id: id,
            verdict: verdict as i32,
            reported_on: reported_on.into(),
            ..Default::default()
        }),
    )
}

fn action(
    facts: &mut Facts,
    taken_on: &str,
    money: Option<(i64, &str, proto::MoneyStage)>,
) -> String {
    let id = facts.id.clone();
    facts.push(
        OWNER,
        Kind::ActionRecorded(ActionRecorded {
            action_id: format!("a-{}", facts.facts.len()),
            commitment_ids: vec![id],
            r#type: 2,
            taken_on: taken_on.into(),
            description: "funded".into(),
            money: money.map(|(amount_minor, currency, stage)| Money {
                amount_minor,
                currency: currency.into(),
                stage: stage as i32,
            }),
            ..Default::default()
        }),
    )
}

fn amend_deadline(facts: &mut Facts, due_by: &str, effective_on: &str) -> String {
    let id = facts.id.clone();
    facts.push(
        OWNER,
        Kind::CommitmentAmended(CommitmentAmended {
            commitment_id: id,
            class: AmendmentClass::DeadlineChange as i32,
            changes: vec![FieldChange {
                field: AmendedField::DueBy as i32,
                new_value: due_by.into(),
                ..Default::default()
            }],
            rationale: "slipped".into(),
            effective_on: effective_on.into(),
            ..Default::default()
        }),
    )
}

fn request(year: i32, period_end: &str) -> ReportRequest {
    ReportRequest {
        scope: ReportScope::Actor {
            actor: ReportActor {
                id: OWNER.into(),
                name: "Department".into(),
                kind: "department".into(),
            },
        },
        year,
        size: u64::MAX,
        period_end: date(period_end),
    }
}

fn checkpoint() -> CheckpointRef {
    CheckpointRef {
        origin: "example.org/log".into(),
        size: 100,
        root_hash: "AAAA".into(),
        note: String::new(),
    }
}

fn report_of(request: &ReportRequest, all: &[&Facts]) -> Report {
    let commitments: CommitmentFacts = all
        .iter()
        .map(|facts| (facts.id.clone(), facts.facts.clone()))
        .collect();
    compute(request, checkpoint(), &commitments).unwrap()
}

fn value(figures: &YearFigures, name: FigureName) -> i128 {
    figures.figure(name, None).unwrap().value
}

fn money(figures: &YearFigures, name: FigureName, currency: &str) -> Option<i128> {
    figures
        .figure(name, Some(currency))
        .map(|figure| figure.value)
}

#[test]
fn made_counts_commitments_made_within_the_year_and_its_first_and_last_days() {
    let first = made("c-1", OWNER, "2025-01-01", "2027-01-01");
    let last = made("c-2", OWNER, "2025-12-31", "2027-01-01");
    let before = made("c-3", OWNER, "2024-12-31", "2027-01-01");
    let after = made("c-4", OWNER, "2026-01-01", "2027-01-01");
    let report = report_of(
        &request(2025, "2025-12-31"),
        &[&first, &last, &before, &after],
    );
    assert_eq!(value(&report.current, FigureName::Made), 2);
    let counted = &report
        .current
        .figure(FigureName::Made, None)
        .unwrap()
        .counted;
    assert_eq!(
        counted
            .iter()
            .map(|c| c.commitment_id.as_str())
            .collect::<Vec<_>>(),
        ["c-1", "c-2"]
    );
    assert_eq!(counted[0].seq, first.facts[0].seq);
    assert_eq!(counted[0].event_id, first.facts[0].event_id);
    let previous = report.previous.expect("c-3 existed at the end of 2024");
    assert_eq!(previous.year, 2024);
    assert_eq!(value(&previous, FigureName::Made), 1);
}

#[test]
fn a_year_under_way_ends_at_its_period_end() {
    let inside = made("c-1", OWNER, "2025-06-30", "2027-01-01");
    let beyond = made("c-2", OWNER, "2025-07-01", "2027-01-01");
    let report = report_of(&request(2025, "2025-06-30"), &[&inside, &beyond]);
    assert_eq!(value(&report.current, FigureName::Made), 1);
    assert_eq!(report.current.to, "2025-06-30");
    assert_eq!(report.current.from, "2025-01-01");
    assert_eq!(report.period_end, "2025-06-30");
}

#[test]
fn outcomes_count_in_the_year_they_were_reported_by_the_status_they_give() {
    let mut delivered = made("c-1", OWNER, "2024-03-01", "2026-01-01");
    let outcome_id = outcome(&mut delivered, Verdict::Delivered, "2025-12-31");
    let mut partly = made("c-2", OWNER, "2024-03-01", "2026-01-01");
    outcome(&mut partly, Verdict::PartlyDelivered, "2025-01-01");
    let mut not = made("c-3", OWNER, "2024-03-01", "2026-01-01");
    outcome(&mut not, Verdict::NotDelivered, "2025-05-05");
    let mut last_year = made("c-4", OWNER, "2024-03-01", "2026-01-01");
    outcome(&mut last_year, Verdict::Delivered, "2024-12-31");
    let mut next_year = made("c-5", OWNER, "2024-03-01", "2026-01-01");
    outcome(&mut next_year, Verdict::Delivered, "2026-01-01");
    let all = [&delivered, &partly, &not, &last_year, &next_year];
    let report = report_of(&request(2025, "2025-12-31"), &all);
    assert_eq!(value(&report.current, FigureName::Delivered), 1);
    assert_eq!(value(&report.current, FigureName::PartlyDelivered), 1);
    assert_eq!(value(&report.current, FigureName::NotDelivered), 1);
    let counted = &report
        .current
        .figure(FigureName::Delivered, None)
        .unwrap()
        .counted;
    assert_eq!(
        counted[0].event_id, outcome_id,
        "the outcome is the event counted"
    );
    let previous = report.previous.unwrap();
    assert_eq!(
        value(&previous, FigureName::Delivered),
        1,
        "c-4 counts in 2024"
    );
}

#[test]
fn overdue_means_open_at_the_end_and_due_on_or_before_its_last_day() {
    let due_last_day = made("c-1", OWNER, "2025-01-10", "2025-12-31");
    let due_next_year = made("c-2", OWNER, "2025-01-10", "2026-01-01");
    let mut delivered_late = made("c-3", OWNER, "2025-01-10", "2025-03-01");
    outcome(&mut delivered_late, Verdict::Delivered, "2025-04-01");
    let report = report_of(
        &request(2025, "2025-12-31"),
        &[&due_last_day, &due_next_year, &delivered_late],
    );
    assert_eq!(value(&report.current, FigureName::Overdue), 1);
    assert_eq!(
        report
            .current
            .figure(FigureName::Overdue, None)
            .unwrap()
            .counted[0]
            .commitment_id,
        "c-1"
    );
    let report = report_of(&request(2025, "2025-12-30"), &[&due_last_day]);
    assert_eq!(
        value(&report.current, FigureName::Overdue),
        0,
        "not yet due on the 30th"
    );
}

#[test]
fn withdrawn_counts_withdrawals_within_the_year() {
    let mut withdrawn = made("c-1", OWNER, "2025-01-10", "2026-01-01");
    withdrawn.facts[0].occurred_at_ms = 0;
    let id = withdrawn.id.clone();
    withdrawn.push(
        OWNER,
        Kind::CommitmentWithdrawn(CommitmentWithdrawn {
            commitment_id: id,
            reason: "dropped".into(),
        }),
    );
    // The withdrawal has no date of its own: it happened when its envelope says.
    withdrawn.facts[1].occurred_at_ms = date("2025-07-01").days() as i64 * 86_400_000;
    let report = report_of(&request(2025, "2025-12-31"), &[&withdrawn]);
    assert_eq!(value(&report.current, FigureName::Withdrawn), 1);
    withdrawn.facts[1].occurred_at_ms = date("2026-01-01").days() as i64 * 86_400_000;
    let report = report_of(&request(2025, "2025-12-31"), &[&withdrawn]);
    assert_eq!(value(&report.current, FigureName::Withdrawn), 0);
}

#[test]
fn goalposts_moved_lists_each_move_with_before_and_after_and_counts_commitments() {
    let mut moved = made("c-1", OWNER, "2024-01-10", "2025-06-30");
    let first = amend_deadline(&mut moved, "2025-12-31", "2025-05-01");
    amend_deadline(&mut moved, "2026-06-30", "2025-11-01");
    let mut earlier = made("c-2", OWNER, "2024-01-10", "2025-06-30");
    amend_deadline(&mut earlier, "2025-12-31", "2024-12-31");
    let mut brought_forward = made("c-3", OWNER, "2024-01-10", "2025-06-30");
    amend_deadline(&mut brought_forward, "2025-03-31", "2025-02-01");
    let report = report_of(
        &request(2025, "2025-12-31"),
        &[&moved, &earlier, &brought_forward],
    );
    assert_eq!(
        value(&report.current, FigureName::GoalpostsMoved),
        1,
        "one commitment"
    );
    assert_eq!(report.goalposts.len(), 2, "two moves");
    let move_one = &report.goalposts[0];
    assert_eq!(move_one.event_id, first);
    assert_eq!(move_one.effective_on, "2025-05-01");
    assert!(move_one.deadline_moved && !move_one.target_moved && !move_one.scope_changed);
    assert_eq!(
        move_one.changes,
        [ChangedField {
            field: "due_by".into(),
            before: Some("2025-06-30".into()),
            after: "2025-12-31".into(),
        }]
    );
    assert_eq!(move_one.rationale, "slipped");
    assert_eq!(
        value(&report.previous.unwrap(), FigureName::GoalpostsMoved),
        1
    );
}

#[test]
fn disputed_counts_outcomes_an_assessor_disputes_with_their_view() {
    let mut disputed = made("c-1", OWNER, "2025-01-10", "2026-01-01");
    let claim = outcome(&mut disputed, Verdict::Delivered, "2025-06-01");
    let id = disputed.id.clone();
    let assessment = disputed.push(
        WATCHDOG,
        Kind::AssessmentPublished(AssessmentPublished {
            commitment_id: id,
            outcome_event_id: claim,
            stance: Stance::Disputes as i32,
            summary: "Only half the homes were built".into(),
            assessed_verdict: Verdict::PartlyDelivered as i32,
            ..Default::default()
        }),
    );
    let mut agreed = made("c-2", OWNER, "2025-01-10", "2026-01-01");
    let claim = outcome(&mut agreed, Verdict::Delivered, "2025-06-01");
    agreed.assess(WATCHDOG, &claim, Stance::Agrees);
    let report = report_of(&request(2025, "2025-12-31"), &[&disputed, &agreed]);
    assert_eq!(value(&report.current, FigureName::Disputed), 1);
    assert_eq!(
        report.disputes,
        [Dispute {
            commitment_id: "c-1".into(),
            title: "Title of c-1".into(),
            claimed: Status::Delivered,
            assessor: WATCHDOG.into(),
            assessor_name: None,
            view: "Only half the homes were built".into(),
            assessed: Some(Status::PartlyDelivered),
            seq: disputed.facts[2].seq,
            event_id: assessment,
        }]
    );
}

#[test]
fn money_is_summed_per_stage_and_currency_for_actions_taken_within_the_year() {
    use proto::MoneyStage::{Committed, Pledged, Spent};
    let mut facts = made("c-1", OWNER, "2024-01-10", "2026-01-01");
    action(&mut facts, "2025-01-01", Some((1_000, "GBP", Spent)));
    action(&mut facts, "2025-12-31", Some((250, "GBP", Spent)));
    action(&mut facts, "2025-03-01", Some((7, "EUR", Spent)));
    action(&mut facts, "2025-03-01", Some((500, "GBP", Pledged)));
    action(&mut facts, "2024-12-31", Some((9_999, "GBP", Committed)));
    action(&mut facts, "2026-01-01", Some((9_999, "GBP", Spent)));
    action(&mut facts, "2025-04-01", None);
    let report = report_of(&request(2025, "2025-12-31"), &[&facts]);
    assert_eq!(
        money(&report.current, FigureName::MoneySpent, "GBP"),
        Some(1_250)
    );
    assert_eq!(
        money(&report.current, FigureName::MoneySpent, "EUR"),
        Some(7)
    );
    assert_eq!(
        money(&report.current, FigureName::MoneyPledged, "GBP"),
        Some(500)
    );
    assert_eq!(
        money(&report.current, FigureName::MoneyCommitted, "GBP"),
        None
    );
    let spent = report
        .current
        .figure(FigureName::MoneySpent, Some("GBP"))
        .unwrap();
    assert_eq!(spent.counted.len(), 2);
    assert_eq!(spent.key(), "money_spent-GBP");
    let previous = report.previous.unwrap();
    assert_eq!(
        money(&previous, FigureName::MoneyCommitted, "GBP"),
        Some(9_999)
    );
}

#[test]
fn an_action_serving_two_commitments_counts_its_money_once() {
    let one = made("c-1", OWNER, "2025-01-10", "2026-01-01");
    let mut two = made("c-2", OWNER, "2025-01-10", "2026-01-01");
    two.push(
        OWNER,
        Kind::ActionRecorded(ActionRecorded {
            action_id: "a-shared".into(),
            commitment_ids: vec!["c-1".into(), "c-2".into()],
            r#type: 2,
            taken_on: "2025-02-01".into(),
            money: Some(Money {
                amount_minor: 1_001,
                currency: "GBP".into(),
                stage: proto::MoneyStage::Spent as i32,
            }),
            ..Default::default()
        }),
    );
    // The same action is a fact of both commitments.
    let mut one = one;
    one.facts.push(two.facts[1].clone());
    let report = report_of(&request(2025, "2025-12-31"), &[&one, &two]);
    assert_eq!(
        money(&report.current, FigureName::MoneySpent, "GBP"),
        Some(1_001)
    );
}

#[test]
fn scope_follows_who_answers_for_a_commitment_at_the_end_of_each_year() {
    let mine = made("c-1", OWNER, "2024-01-10", "2027-01-01");
    let theirs = made("c-2", OTHER, "2024-01-10", "2027-01-01");
    let mut passed = made("c-3", OTHER, "2024-01-10", "2027-01-01");
    passed.push(
        OTHER,
        Kind::ActorSucceeded(ActorSucceeded {
            predecessor_id: OTHER.into(),
            successor_id: OWNER.into(),
            effective_on: "2025-04-01".into(),
            ..Default::default()
        }),
    );
    let all = [&mine, &theirs, &passed];
    let report = report_of(&request(2025, "2025-12-31"), &all);
    assert_eq!(value(&report.current, FigureName::Overdue), 0);
    let ids: Vec<&str> = report
        .largest_changes
        .iter()
        .map(|change| change.commitment_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["c-3"],
        "c-3 changed hands within the year; c-1 did not change"
    );
    let previous = report.previous.unwrap();
    assert_eq!(
        value(&previous, FigureName::Made),
        1,
        "only c-1 was ours in 2024"
    );
    let everyone = ReportRequest {
        scope: ReportScope::Government,
        ..request(2025, "2025-12-31")
    };
    let report = report_of(&everyone, &all);
    assert_eq!(value(&report.previous.unwrap(), FigureName::Made), 3);
}

#[test]
fn a_retracted_commitment_is_not_counted() {
    let mut retracted = made("c-1", OWNER, "2025-01-10", "2026-01-01");
    let made_id = retracted.facts[0].event_id.clone();
    retracted.retract(OWNER, &made_id);
    let report = report_of(&request(2025, "2025-12-31"), &[&retracted]);
    assert_eq!(value(&report.current, FigureName::Made), 0);
}

#[test]
fn no_previous_year_when_nothing_in_scope_existed_then() {
    let new = made("c-1", OWNER, "2025-01-10", "2026-01-01");
    let report = report_of(&request(2025, "2025-12-31"), &[&new]);
    assert_eq!(report.previous, None);
}

#[test]
fn the_checkpoint_size_bounds_what_counts() {
    let mut facts = made("c-1", OWNER, "2025-01-10", "2026-01-01");
    outcome(&mut facts, Verdict::Delivered, "2025-06-01");
    let mut asked = request(2025, "2025-12-31");
    asked.size = facts.facts[1].seq;
    let report = report_of(&asked, &[&facts]);
    assert_eq!(value(&report.current, FigureName::Delivered), 0);
    asked.size += 1;
    let report = report_of(&asked, &[&facts]);
    assert_eq!(value(&report.current, FigureName::Delivered), 1);
}

#[test]
fn largest_changes_put_a_changed_status_first_then_the_most_events() {
    let mut busy = made("c-1", OWNER, "2024-01-10", "2027-01-01");
    action(&mut busy, "2024-02-01", None);
    for day in ["2025-02-01", "2025-03-01", "2025-04-01"] {
        action(&mut busy, day, None);
    }
    let mut delivered = made("c-2", OWNER, "2024-01-10", "2027-01-01");
    action(&mut delivered, "2024-02-01", None);
    outcome(&mut delivered, Verdict::Delivered, "2025-05-01");
    let quiet = made("c-3", OWNER, "2024-01-10", "2027-01-01");
    let mut spent = made("c-4", OWNER, "2025-01-10", "2027-01-01");
    action(
        &mut spent,
        "2025-02-01",
        Some((300, "GBP", proto::MoneyStage::Spent)),
    );
    let report = report_of(
        &request(2025, "2025-12-31"),
        &[&busy, &delivered, &quiet, &spent],
    );
    let changes: Vec<(&str, Option<Status>, Status, u32)> = report
        .largest_changes
        .iter()
        .map(|c| {
            (
                c.commitment_id.as_str(),
                c.status_before,
                c.status_after,
                c.events_in_year,
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("c-4", None, Status::InProgress, 2),
            ("c-2", Some(Status::InProgress), Status::Delivered, 1),
            ("c-1", Some(Status::InProgress), Status::InProgress, 3),
        ]
    );
    assert_eq!(report.largest_changes[0].spent.get("GBP"), Some(&300));
}

#[test]
fn largest_changes_are_at_most_the_limit() {
    let all: Vec<Facts> = (0..LARGEST_CHANGES + 3)
        .map(|n| made(&format!("c-{n:02}"), OWNER, "2025-01-10", "2027-01-01"))
        .collect();
    let refs: Vec<&Facts> = all.iter().collect();
    let report = report_of(&request(2025, "2025-12-31"), &refs);
    assert_eq!(report.largest_changes.len(), LARGEST_CHANGES);
    assert_eq!(
        value(&report.current, FigureName::Made),
        (LARGEST_CHANGES + 3) as i128
    );
}

#[test]
fn a_period_end_outside_the_year_is_refused() {
    let facts = made("c-1", OWNER, "2025-01-10", "2026-01-01");
    let commitments: CommitmentFacts = [(facts.id.clone(), facts.facts.clone())].into();
    for end in ["2024-12-31", "2026-01-01"] {
        assert_eq!(
            compute(&request(2025, end), checkpoint(), &commitments),
            Err(ReportError::PeriodOutsideYear {
                year: 2025,
                period_end: date(end)
            })
        );
    }
    assert!(compute(&request(2025, "2025-01-01"), checkpoint(), &commitments).is_ok());
    assert_eq!(year_bounds(1900), Err(ReportError::YearOutOfRange(1900)));
    assert_eq!(
        year_bounds(1901).map(|(from, to)| (from.to_string(), to.to_string())),
        Ok(("1901-01-01".into(), "1901-12-31".into()))
    );
}

#[test]
fn every_figure_is_given_even_when_zero_and_money_only_when_recorded() {
    let facts = made("c-1", OWNER, "2025-01-10", "2026-01-01");
    let report = report_of(&request(2025, "2025-12-31"), &[&facts]);
    let names: Vec<&str> = report
        .current
        .figures
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "made",
            "delivered",
            "partly_delivered",
            "not_delivered",
            "overdue",
            "withdrawn",
            "goalposts_moved",
            "disputed"
        ]
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["scope"]["kind"], "actor");
    assert_eq!(json["current"]["figures"][0]["name"], "made");
}

#[test]
fn is_about_names_the_commitment_each_kind_is_about() {
    let facts = made("c-1", OWNER, "2025-01-10", "2026-01-01");
    let kind = facts.facts[0].kind().unwrap();
    assert!(is_about(&kind, "c-1"));
    assert!(!is_about(&kind, "c-2"));
    let action = Kind::ActionRecorded(ActionRecorded {
        commitment_ids: vec!["c-2".into(), "c-3".into()],
        ..Default::default()
    });
    assert!(is_about(&action, "c-3"));
    assert!(!is_about(&action, "c-1"));
}
