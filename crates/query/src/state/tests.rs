//! One test per status rule (docs/STATUS.md), each folding a handful of facts.

use super::*;
use covenant_core::proto::{
    ActionRecorded, ActorSucceeded, AmendedField, AmendmentClass, AssessmentPublished,
    CommitmentAmended, CommitmentMade, CommitmentWithdrawn, EventBody, FieldChange, Indicator,
    Money, OutcomeReported, Retraction, Stance, Verdict,
};
use prost::Message;

pub const OWNER: &str = "GB-GOV-DCMS";
pub const WATCHDOG: &str = "GB-CHC-1000001";

fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

/// Facts about one commitment, numbered as they are added.
pub struct Facts {
    pub facts: Vec<Fact>,
    pub id: String,
}

impl Facts {
    /// A commitment made on 2026-01-10, due 2026-03-31, with a target of 100 by "2026-27".
    pub fn made() -> Self {
        let mut facts = Self {
            facts: vec![],
            id: "c-1".into(),
        };
        facts.push(
            OWNER,
            Kind::CommitmentMade(CommitmentMade {
                commitment_id: "c-1".into(),
                title: "Homes".into(),
                text: "Build 100 homes".into(),
                made_on: "2026-01-10".into(),
                due_by: "2026-03-31".into(),
                themes: vec!["dignity".into()],
                indicator: Some(Indicator {
                    measure: "homes built".into(),
                    target_value: Some(100.0),
                    target_period: "2026-27".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        );
        facts
    }

    /// Add an event spoken by `actor`; returns its event id.
    pub fn push(&mut self, actor: &str, kind: Kind) -> String {
        let seq = self.facts.last().map_or(10, |f| f.seq + 3);
        let event_id = format!("01JDQ{seq:021}");
        self.facts.push(Fact {
            seq,
            stored_at_ns: seq * 1_000,
            event_id: event_id.clone(),
            actor: actor.into(),
            occurred_at_ms: 0,
            entry_hash: [seq as u8; 32],
            body: EventBody { kind: Some(kind) }.encode_to_vec(),
        });
        event_id
    }

    pub fn action(&mut self, money: Option<Money>) -> String {
        let id = self.id.clone();
        let action_id = format!("a-{}", self.facts.len());
        self.push(
            OWNER,
            Kind::ActionRecorded(ActionRecorded {
                action_id,
                commitment_ids: vec![id],
                r#type: 2,
                taken_on: "2026-02-01".into(),
                description: "funded".into(),
                money,
                ..Default::default()
            }),
        )
    }

    pub fn outcome(&mut self, verdict: Verdict, reported_on: &str) -> String {
        let id = self.id.clone();
        self.push(
            OWNER,
            Kind::OutcomeReported(OutcomeReported {
                commitment_id: id,
                verdict: verdict as i32,
                reported_on: reported_on.into(),
                ..Default::default()
            }),
        )
    }

    pub fn amend(&mut self, changes: &[(AmendedField, &str)]) -> String {
        let id = self.id.clone();
        self.push(
            OWNER,
            Kind::CommitmentAmended(CommitmentAmended {
                commitment_id: id,
                class: AmendmentClass::DeadlineChange as i32,
                changes: changes
                    .iter()
                    .map(|(field, value)| FieldChange {
                        field: *field as i32,
                        new_value: (*value).into(),
                        ..Default::default()
                    })
                    .collect(),
                rationale: "because".into(),
                ..Default::default()
            }),
        )
    }

    pub fn withdraw(&mut self) -> String {
        let id = self.id.clone();
        self.push(
            OWNER,
            Kind::CommitmentWithdrawn(CommitmentWithdrawn {
                commitment_id: id,
                reason: "dropped".into(),
            }),
        )
    }

    pub fn assess(&mut self, assessor: &str, outcome: &str, stance: Stance) -> String {
        let id = self.id.clone();
        self.push(
            assessor,
            Kind::AssessmentPublished(AssessmentPublished {
                commitment_id: id,
                outcome_event_id: outcome.into(),
                stance: stance as i32,
                summary: "checked".into(),
                ..Default::default()
            }),
        )
    }

    pub fn retract(&mut self, actor: &str, event_id: &str) -> String {
        self.push(
            actor,
            Kind::Retraction(Retraction {
                event_id: event_id.into(),
                reason: "published in error".into(),
            }),
        )
    }

    pub fn state(&self) -> CommitmentState {
        fold(&self.facts, Cut::recorded(u64::MAX)).unwrap().unwrap()
    }

    pub fn state_at(&self, bound: u64) -> Option<CommitmentState> {
        fold(&self.facts, Cut::recorded(bound)).unwrap()
    }

    pub fn next_seq(&self) -> u64 {
        self.facts.last().unwrap().seq + 1
    }
}

const BEFORE_DUE: &str = "2026-03-01";
const AFTER_DUE: &str = "2026-04-01";

#[test]
fn a_commitment_with_nothing_recorded_is_not_started() {
    let facts = Facts::made();
    assert_eq!(facts.state().status(date(BEFORE_DUE)), Status::NotStarted);
}

#[test]
fn an_action_makes_it_in_progress() {
    let mut facts = Facts::made();
    facts.action(None);
    assert_eq!(facts.state().status(date(BEFORE_DUE)), Status::InProgress);
}

#[test]
fn open_past_its_due_date_is_overdue_judged_at_the_as_of_date() {
    let mut facts = Facts::made();
    let state = facts.state();
    assert_eq!(
        state.status(date("2026-03-31")),
        Status::NotStarted,
        "due today is not late"
    );
    assert_eq!(state.status(date(AFTER_DUE)), Status::Overdue);
    facts.action(None);
    assert_eq!(
        facts.state().status(date(AFTER_DUE)),
        Status::Overdue,
        "actions do not excuse"
    );
}

#[test]
fn a_commitment_without_a_due_date_is_never_overdue() {
    let mut facts = Facts::made();
    facts.amend(&[(AmendedField::DueBy, "")]);
    // An empty due date is refused by validation; build the no-date case directly instead.
    let mut made = Facts::made();
    if let Ok(Kind::CommitmentMade(mut body)) = made.facts[0].kind() {
        body.due_by.clear();
        made.facts[0].body = EventBody {
            kind: Some(Kind::CommitmentMade(body)),
        }
        .encode_to_vec();
    }
    assert_eq!(made.state().status(date("2099-01-01")), Status::NotStarted);
}

#[test]
fn overdue_follows_the_amended_deadline() {
    let mut facts = Facts::made();
    facts.amend(&[(AmendedField::DueBy, "2026-12-31")]);
    assert_eq!(facts.state().status(date(AFTER_DUE)), Status::NotStarted);
    assert_eq!(facts.state().status(date("2027-01-01")), Status::Overdue);
}

#[test]
fn outcomes_decide_delivered_partly_and_not_delivered() {
    for (verdict, status) in [
        (Verdict::Delivered, Status::Delivered),
        (Verdict::PartlyDelivered, Status::PartlyDelivered),
        (Verdict::NotDelivered, Status::NotDelivered),
    ] {
        let mut facts = Facts::made();
        facts.outcome(verdict, "2026-05-01");
        assert_eq!(
            facts.state().status(date("2027-01-01")),
            status,
            "never overdue"
        );
    }
}

#[test]
fn the_latest_outcome_wins() {
    let mut facts = Facts::made();
    facts.outcome(Verdict::PartlyDelivered, "2026-03-01");
    facts.outcome(Verdict::Delivered, "2026-06-01");
    let state = facts.state();
    assert_eq!(state.status(date(AFTER_DUE)), Status::Delivered);
    assert_eq!(state.outcome.unwrap().reported_on, date("2026-06-01"));
}

#[test]
fn withdrawn_counts_over_everything_but_a_retraction() {
    let mut facts = Facts::made();
    facts.action(None);
    facts.outcome(Verdict::Delivered, "2026-02-01");
    facts.withdraw();
    assert_eq!(facts.state().status(date(AFTER_DUE)), Status::Withdrawn);
}

#[test]
fn a_retracted_outcome_stops_counting() {
    let mut facts = Facts::made();
    facts.action(None);
    let outcome = facts.outcome(Verdict::Delivered, "2026-02-01");
    facts.retract(OWNER, &outcome);
    let state = facts.state();
    assert_eq!(state.status(date(BEFORE_DUE)), Status::InProgress);
    assert_eq!(state.status(date(AFTER_DUE)), Status::Overdue);
    assert!(state.outcome.is_none());
}

#[test]
fn a_retracted_action_and_withdrawal_stop_counting() {
    let mut facts = Facts::made();
    let action = facts.action(None);
    facts.retract(OWNER, &action);
    assert_eq!(facts.state().status(date(BEFORE_DUE)), Status::NotStarted);
    let withdrawal = facts.withdraw();
    assert_eq!(facts.state().status(date(BEFORE_DUE)), Status::Withdrawn);
    facts.retract(OWNER, &withdrawal);
    assert_eq!(facts.state().status(date(BEFORE_DUE)), Status::NotStarted);
}

#[test]
fn a_retracted_commitment_is_retracted_and_keeps_its_terms() {
    let mut facts = Facts::made();
    let made = facts.facts[0].event_id.clone();
    facts.action(None);
    facts.retract(OWNER, &made);
    let state = facts.state();
    assert_eq!(state.status(date(AFTER_DUE)), Status::Retracted);
    assert_eq!(state.original.title, "Homes");
    assert_eq!(state.retracted.unwrap().event_id, facts.facts[2].event_id);
}

#[test]
fn retracting_a_retraction_restores_the_event() {
    let mut facts = Facts::made();
    let outcome = facts.outcome(Verdict::NotDelivered, "2026-02-01");
    let retraction = facts.retract(OWNER, &outcome);
    assert_eq!(facts.state().status(date(BEFORE_DUE)), Status::NotStarted);
    facts.retract(OWNER, &retraction);
    assert_eq!(facts.state().status(date(BEFORE_DUE)), Status::NotDelivered);
}

#[test]
fn as_of_a_bound_only_earlier_entries_count() {
    let mut facts = Facts::made();
    let made_seq = facts.facts[0].seq;
    facts.action(None);
    let before_outcome = facts.next_seq();
    let outcome = facts.outcome(Verdict::Delivered, "2026-02-01");
    let before_retraction = facts.next_seq();
    facts.retract(OWNER, &outcome);
    assert!(facts.state_at(made_seq).is_none(), "not yet made");
    assert_eq!(
        facts
            .state_at(made_seq + 1)
            .unwrap()
            .status(date(BEFORE_DUE)),
        Status::NotStarted
    );
    assert_eq!(
        facts
            .state_at(before_outcome)
            .unwrap()
            .status(date(BEFORE_DUE)),
        Status::InProgress
    );
    assert_eq!(
        facts
            .state_at(before_retraction)
            .unwrap()
            .status(date(BEFORE_DUE)),
        Status::Delivered,
        "the retraction had not happened yet"
    );
    assert_eq!(facts.state().status(date(BEFORE_DUE)), Status::InProgress);
}

#[test]
fn amendments_count_and_show_original_against_current() {
    let mut facts = Facts::made();
    facts.amend(&[(AmendedField::Text, "Build 80 homes")]);
    facts.amend(&[
        (AmendedField::TargetValue, "80"),
        (AmendedField::DueBy, "2027-03-31"),
    ]);
    facts.amend(&[(AmendedField::TargetPeriod, "2027-28")]);
    let state = facts.state();
    assert_eq!(state.amendments.len(), 3);
    assert_eq!(state.target_moves(), 2);
    assert_eq!(state.deadline_moves(), 1);
    assert_eq!(state.original.text, "Build 100 homes");
    assert_eq!(state.current.text, "Build 80 homes");
    assert_eq!(state.original.target_value, Some(100.0));
    assert_eq!(state.current.target_value, Some(80.0));
    assert_eq!(state.original.due_by, Some(date("2026-03-31")));
    assert_eq!(state.current.due_by, Some(date("2027-03-31")));
    assert_eq!(state.current.target_period, "2027-28");
}

#[test]
fn restating_the_same_deadline_or_target_is_not_a_move() {
    let mut facts = Facts::made();
    facts.amend(&[
        (AmendedField::DueBy, "2026-03-31"),
        (AmendedField::TargetValue, "100.0"),
    ]);
    let state = facts.state();
    assert_eq!(state.amendments.len(), 1);
    assert_eq!((state.target_moves(), state.deadline_moves()), (0, 0));
}

#[test]
fn a_retracted_amendment_stops_counting() {
    let mut facts = Facts::made();
    let amendment = facts.amend(&[(AmendedField::DueBy, "2028-01-01")]);
    facts.retract(OWNER, &amendment);
    let state = facts.state();
    assert!(state.amendments.is_empty());
    assert_eq!(state.current.due_by, Some(date("2026-03-31")));
    assert_eq!(state.status(date(AFTER_DUE)), Status::Overdue);
}

#[test]
fn a_dispute_of_the_latest_outcome_flags_it_disputed() {
    let mut facts = Facts::made();
    let outcome = facts.outcome(Verdict::Delivered, "2026-02-01");
    assert!(!facts.state().disputed());
    facts.assess(WATCHDOG, &outcome, Stance::Agrees);
    assert!(!facts.state().disputed());
    let dispute = facts.assess("GB-CHC-2", &outcome, Stance::Disputes);
    assert!(facts.state().disputed());
    assert_eq!(
        facts.state().status(date(AFTER_DUE)),
        Status::Delivered,
        "not overwritten"
    );
    facts.retract("GB-CHC-2", &dispute);
    assert!(!facts.state().disputed(), "retracted dispute");
}

#[test]
fn a_commitment_is_disputed_on_the_day_of_its_latest_dispute() {
    let mut facts = Facts::made();
    let outcome = facts.outcome(Verdict::Delivered, "2026-02-01");
    let happened = |facts: &mut Facts, day: &str| {
        let fact = facts.facts.last_mut().expect("a fact");
        fact.occurred_at_ms = i64::from(date(day).days()) * 86_400_000;
    };
    assert_eq!(facts.state().disputed_on(), None);
    facts.assess("GB-CHC-2", &outcome, Stance::Disputes);
    happened(&mut facts, "2026-02-10");
    facts.assess("GB-CHC-3", &outcome, Stance::Disputes);
    happened(&mut facts, "2026-02-20");
    facts.assess(WATCHDOG, &outcome, Stance::Agrees);
    happened(&mut facts, "2026-03-01");
    assert_eq!(facts.state().disputed_on(), Some(date("2026-02-20")));
}

#[test]
fn a_dispute_counts_only_while_it_is_the_assessors_latest_view_of_the_latest_outcome() {
    let mut facts = Facts::made();
    let first = facts.outcome(Verdict::PartlyDelivered, "2026-02-01");
    facts.assess(WATCHDOG, &first, Stance::Disputes);
    assert!(facts.state().disputed());
    let second = facts.outcome(Verdict::Delivered, "2026-03-01");
    assert!(
        !facts.state().disputed(),
        "dispute was about an older outcome"
    );
    facts.assess(WATCHDOG, &second, Stance::Disputes);
    assert!(facts.state().disputed());
    facts.assess(WATCHDOG, &second, Stance::Agrees);
    assert!(!facts.state().disputed(), "the assessor changed its view");
}

#[test]
fn succession_changes_the_owner_and_keeps_the_maker() {
    let mut facts = Facts::made();
    let succession = facts.push(
        "covenant-registrar",
        Kind::ActorSucceeded(ActorSucceeded {
            predecessor_id: OWNER.into(),
            successor_id: "GB-GOV-DCMS2".into(),
            kind: 1,
            effective_on: "2026-02-01".into(),
            ..Default::default()
        }),
    );
    let state = facts.state();
    assert_eq!(state.maker, OWNER);
    assert_eq!(state.owner, "GB-GOV-DCMS2");
    assert_eq!(state.successions.len(), 1);
    facts.retract("covenant-registrar", &succession);
    assert_eq!(facts.state().owner, OWNER);
}

#[test]
fn money_is_split_over_the_commitments_an_action_serves() {
    let action = ActionRecorded {
        commitment_ids: vec!["a".into(), "b".into(), "a".into(), "c".into()],
        money: Some(Money {
            amount_minor: 1_000,
            currency: "GBP".into(),
            stage: 3,
        }),
        ..Default::default()
    };
    let shares: Vec<i64> = ["a", "b", "c"]
        .iter()
        .map(|id| money_share(&action, id).unwrap().2)
        .collect();
    assert_eq!(shares, [334, 333, 333]);
    assert_eq!(money_share(&action, "d"), None);
    let mut facts = Facts::made();
    facts.action(Some(Money {
        amount_minor: 500,
        currency: "GBP".into(),
        stage: 1,
    }));
    let retracted = facts.action(Some(Money {
        amount_minor: 70,
        currency: "GBP".into(),
        stage: 1,
    }));
    facts.retract(OWNER, &retracted);
    assert_eq!(
        facts.state().money(),
        BTreeMap::from([(("GBP".to_string(), MoneyStage::Pledged), 500)])
    );
}

#[test]
fn the_last_day_anything_happened_is_the_latest_fact_but_a_retraction() {
    let mut facts = Facts::made();
    assert_eq!(facts.state().last_happened_on, date("2026-01-10"));
    let outcome = facts.outcome(Verdict::Delivered, "2026-05-02");
    facts.action(None);
    assert_eq!(
        facts.state().last_happened_on,
        date("2026-05-02"),
        "the latest day, not the last fact recorded (an action taken 2026-02-01)"
    );
    facts.retract(OWNER, &outcome);
    facts
        .facts
        .last_mut()
        .expect("the retraction")
        .occurred_at_ms = i64::from(date("2026-09-01").days()) * 86_400_000;
    assert_eq!(
        facts.state().last_happened_on,
        date("2026-05-02"),
        "a retraction counts whatever the day, and what it retracts still happened"
    );
    let in_march = Cut {
        size: u64::MAX,
        world: Some(date("2026-03-01")),
    };
    let state = fold(&facts.facts, in_march).unwrap().unwrap();
    assert_eq!(
        state.last_happened_on,
        date("2026-02-01"),
        "only what the cut admits"
    );
}
