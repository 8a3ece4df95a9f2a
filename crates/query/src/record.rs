//! Compact records derived from a commitment's state, and the aggregates built from them.
//!
//! A [`CommitmentRecord`] is what lists, filters and scorecards need about a commitment; an
//! [`Aggregate`] is the sum of the records of a group (an actor's, a theme's, everyone's).
//! Aggregates are kept up to date by subtracting a commitment's old record and adding its new
//! one, so they hold only what can be summed: counts, histograms and money. What depends on
//! the as-of date (overdue) is kept as histograms by due date and settled at read time.

use crate::state::{CommitmentState, Cut, MoneyStage, Status, judge};
use crate::text;
use covenant_core::event::Date;
use covenant_core::proto::Comparator;
use serde::{Deserialize, Serialize};
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

/// What lists and scorecards need about one commitment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitmentRecord {
    pub id: String,
    pub title: String,
    pub text: String,
    pub original_title: String,
    pub original_text: String,
    pub maker: String,
    pub owner: String,
    pub themes: Vec<String>,
    pub made_on: Date,
    pub due_by: Option<Date>,
    pub original_due_by: Option<Date>,
    pub target_value: Option<f64>,
    pub original_target_value: Option<f64>,
    pub target_period: String,
    pub original_target_period: String,
    /// Status before the as-of date is applied (never overdue).
    pub base: Status,
    pub actions: u32,
    pub amendments: u32,
    pub target_moves: u32,
    pub deadline_moves: u32,
    pub disputed: bool,
    /// When the latest assessment disputing its outcome happened.
    pub disputed_on: Option<Date>,
    pub successions: u32,
    /// Date of the outcome that decides the status, when there is one.
    pub outcome_on: Option<Date>,
    /// The verdict the latest outcome that counts claims, as a status: named indicators may
    /// decide otherwise (docs/STATUS.md, rule 3).
    pub claimed: Option<Status>,
    /// When the latest amendment that moved its goalposts happened (see
    /// [`CommitmentRecord::goalposts_moved`]).
    pub moved_on: Option<Date>,
    pub money: Vec<(String, MoneyStage, i128)>,
    pub made_seq: u64,
    pub last_seq: u64,
    /// The latest day any of its facts happened, retractions left out (see
    /// [`CommitmentRecord::stands_at`]).
    pub last_happened_on: Date,
    /// Registered actors that deliver parts of it; it shows on their pages, marked as partner,
    /// and counts in the owner's figures only.
    pub delivery_partners: Vec<String>,
    pub scope_changes: u32,
    /// The named indicators' targets, as first made and as they stand.
    pub original_targets: Vec<Target>,
    pub targets: Vec<Target>,
}

/// A named indicator's target in a record: enough for lists and exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub indicator_id: String,
    #[serde(with = "schema_code")]
    pub comparator: Comparator,
    pub value: f64,
    pub upper: Option<f64>,
    pub unit: String,
    /// When the target is for, as the commitment words it ("2026-27", "by the end of this
    /// Parliament"); empty when it names none.
    pub period: String,
}

/// A schema enum stored by its code, as the event carried it.
mod schema_code {
    use covenant_core::proto::Comparator;
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    pub fn serialize<S: Serializer>(value: &Comparator, serializer: S) -> Result<S::Ok, S::Error> {
        (*value as i32).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Comparator, D::Error> {
        let code = i32::deserialize(deserializer)?;
        Comparator::try_from(code).map_err(|_| D::Error::custom(format!("no comparator {code}")))
    }
}

impl Target {
    fn all(terms: &crate::state::Terms) -> Vec<Self> {
        terms
            .indicators
            .iter()
            .map(|indicator| Target {
                indicator_id: indicator.id.clone(),
                comparator: indicator.comparator,
                value: indicator.target_value,
                upper: indicator.target_upper,
                unit: indicator.unit.clone(),
                period: indicator.target_period.clone(),
            })
            .collect()
    }
}

impl CommitmentRecord {
    pub fn of(state: &CommitmentState) -> Self {
        let base = state.base_status();
        // One look at the assessments gives both the flag and its day.
        let disputed_on = state.disputed_on();
        let outcome_on = match base {
            Status::Delivered | Status::PartlyDelivered | Status::NotDelivered => {
                state.outcome.as_ref().map(|o| o.reported_on)
            }
            _ => None,
        };
        Self {
            id: state.id.clone(),
            title: state.current.title.clone(),
            text: state.current.text.clone(),
            original_title: state.original.title.clone(),
            original_text: state.original.text.clone(),
            maker: state.maker.clone(),
            owner: state.owner.clone(),
            themes: state.made.themes.clone(),
            made_on: state.made_on,
            due_by: state.current.due_by,
            original_due_by: state.original.due_by,
            target_value: state.current.target_value,
            original_target_value: state.original.target_value,
            target_period: state.current.target_period.clone(),
            original_target_period: state.original.target_period.clone(),
            base,
            actions: state.actions.len() as u32,
            amendments: state.amendments.len() as u32,
            target_moves: state.target_moves(),
            deadline_moves: state.deadline_moves(),
            disputed: disputed_on.is_some(),
            disputed_on,
            successions: state.successions.len() as u32,
            outcome_on,
            claimed: state.claimed_status(),
            moved_on: state
                .amendments
                .iter()
                .filter(|a| a.target_moved || a.deadline_moved || a.scope_changed)
                .map(|a| a.fact.happened_on)
                .max(),
            money: state
                .money()
                .into_iter()
                .map(|((currency, stage), amount)| (currency, stage, amount))
                .collect(),
            made_seq: state.made_fact.seq,
            last_seq: state.last_seq,
            last_happened_on: state.last_happened_on,
            delivery_partners: state.delivery_partners.clone(),
            scope_changes: state.scope_changes(),
            original_targets: Target::all(&state.original),
            targets: Target::all(&state.current),
        }
    }

    /// The actor owns it or is one of its delivery partners.
    pub fn involves(&self, actor: &str) -> bool {
        self.owner == actor
            || self
                .delivery_partners
                .iter()
                .any(|partner| partner == actor)
    }

    pub fn status(&self, date: Date) -> Status {
        judge(self.base, self.due_by, date)
    }

    /// Days past the due date on `date`, for an overdue commitment.
    pub fn days_overdue(&self, date: Date) -> Option<i32> {
        (self.status(date) == Status::Overdue)
            .then(|| self.due_by.map(|due| date.days() - due.days()))
            .flatten()
    }

    /// An amendment that still counts weakened the target, put the deadline later or changed
    /// the scope (docs/STATUS.md).
    pub fn goalposts_moved(&self) -> bool {
        self.target_moves > 0 || self.deadline_moves > 0 || self.scope_changes > 0
    }

    pub fn counts(&self) -> bool {
        self.base != Status::Retracted
    }

    /// This record, folded from every fact the commitment has, is also what folding only the
    /// facts `cut` admits gives: nothing was recorded at or after `cut.size`, and nothing
    /// but retractions (which count whatever the day) happened after `cut.world`.
    pub fn stands_at(&self, cut: Cut) -> bool {
        self.last_seq < cut.size && cut.world.is_none_or(|world| self.last_happened_on <= world)
    }

    /// Days from promise to the outcome that decided the status.
    pub fn days_to_outcome(&self) -> Option<i32> {
        self.outcome_on.map(|on| on.days() - self.made_on.days())
    }

    pub fn list_entry(&self) -> ListEntry {
        ListEntry {
            id: self.id.clone(),
            title: self.title.clone(),
            base: self.base,
            due_by: self.due_by,
            original_due_by: self.original_due_by,
            target_value: self.target_value,
            original_target_value: self.original_target_value,
            target_period: self.target_period.clone(),
            original_target_period: self.original_target_period.clone(),
            target_moves: self.target_moves,
            deadline_moves: self.deadline_moves,
            moved_on: self.moved_on,
            original_targets: self.original_targets.clone(),
            targets: self.targets.clone(),
        }
    }

    /// The groups whose aggregates this record adds to.
    pub fn groups(&self) -> Vec<Group> {
        let mut groups = vec![Group::All, Group::Actor(self.owner.clone())];
        let themes: BTreeSet<&String> = self.themes.iter().collect();
        groups.extend(themes.into_iter().map(|theme| Group::Theme(theme.clone())));
        groups
    }

    /// Whether every word appears in the current or original title or text.
    pub fn matches_words(&self, wanted: &BTreeSet<String>) -> bool {
        if wanted.is_empty() {
            return true;
        }
        let mut have = text::words(&self.title);
        for part in [&self.text, &self.original_title, &self.original_text] {
            have.extend(text::words(part));
        }
        wanted.iter().all(|word| have.contains(word))
    }
}

/// What a scorecard's overdue and moved-goalposts lists show about a commitment, kept as the
/// value of those indexes so that a list is one range scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListEntry {
    pub id: String,
    pub title: String,
    pub base: Status,
    pub due_by: Option<Date>,
    pub original_due_by: Option<Date>,
    pub target_value: Option<f64>,
    pub original_target_value: Option<f64>,
    pub target_period: String,
    pub original_target_period: String,
    pub target_moves: u32,
    pub deadline_moves: u32,
    pub moved_on: Option<Date>,
    pub original_targets: Vec<Target>,
    pub targets: Vec<Target>,
}

impl ListEntry {
    /// Days past the due date on `date`, for an open commitment.
    pub fn days_overdue(&self, date: Date) -> Option<i32> {
        (judge(self.base, self.due_by, date) == Status::Overdue)
            .then(|| self.due_by.map(|due| date.days() - due.days()))
            .flatten()
    }
}

/// A set of commitments that has a scorecard.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    All,
    Actor(String),
    Theme(String),
}

impl Group {
    /// The group as a key component.
    pub fn key(&self) -> String {
        match self {
            Group::All => "*".to_owned(),
            Group::Actor(actor) => format!("a:{actor}"),
            Group::Theme(theme) => format!("t:{theme}"),
        }
    }
}

/// The sum of a group's commitment records (retracted commitments count nowhere).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Counts per base status, indexed by [`base_index`].
    pub base: [i64; 7],
    /// Open commitments without an action, by due date.
    pub due_not_started: BTreeMap<Date, i64>,
    /// Open commitments with an action, by due date.
    pub due_in_progress: BTreeMap<Date, i64>,
    /// Days from promise to outcome, for commitments decided by an outcome.
    pub days_to_outcome: BTreeMap<i32, i64>,
    pub amended: i64,
    pub target_moved: i64,
    pub deadline_moved: i64,
    pub goalposts_moved: i64,
    pub disputed: i64,
    pub succeeded: i64,
    /// Per currency: pledged, committed, spent (minor units).
    pub money: BTreeMap<String, [i128; 3]>,
    /// Commitments made per calendar quarter ([`quarter_index`] of `made_on`).
    pub made_by_quarter: BTreeMap<i32, i64>,
    /// Commitments delivered (the status `delivered`, not partly) per quarter of the outcome
    /// that says so.
    pub delivered_by_quarter: BTreeMap<i32, i64>,
}

/// A calendar quarter as one number, `year * 4 + quarter - 1`, so that quarters sort and
/// subtract.
pub fn quarter_index(date: Date) -> i32 {
    let (year, month, _) = date.year_month_day();
    year * 4 + (month as i32 - 1) / 3
}

/// The year and the quarter (1 to 4) of a [`quarter_index`].
pub fn year_and_quarter(index: i32) -> (i32, i32) {
    (index.div_euclid(4), index.rem_euclid(4) + 1)
}

/// Position of a base status in [`Aggregate::base`].
pub fn base_index(status: Status) -> Option<usize> {
    match status {
        Status::NotStarted => Some(0),
        Status::InProgress => Some(1),
        Status::Delivered => Some(2),
        Status::PartlyDelivered => Some(3),
        Status::NotDelivered => Some(4),
        Status::Withdrawn => Some(5),
        Status::Overdue => Some(6),
        Status::Retracted => None,
    }
}

fn bump<K: Ord>(map: &mut BTreeMap<K, i64>, key: K, by: i64) {
    match map.entry(key) {
        Entry::Occupied(mut slot) => {
            *slot.get_mut() += by;
            if *slot.get() == 0 {
                // Zero entries are dropped so that an aggregate built incrementally is
                // identical to one rebuilt from scratch.
                slot.remove();
            }
        }
        Entry::Vacant(slot) => {
            slot.insert(by);
        }
    }
}

impl Aggregate {
    /// Add (`sign` 1) or remove (`sign` -1) a record.
    pub fn add(&mut self, record: &CommitmentRecord, sign: i64) {
        let Some(index) = base_index(record.base).filter(|_| record.counts()) else {
            return;
        };
        self.base[index] += sign;
        if let Some(due) = record.due_by {
            match record.base {
                Status::NotStarted => bump(&mut self.due_not_started, due, sign),
                Status::InProgress => bump(&mut self.due_in_progress, due, sign),
                _ => {}
            }
        }
        if let Some(days) = record.days_to_outcome() {
            bump(&mut self.days_to_outcome, days, sign);
        }
        bump(
            &mut self.made_by_quarter,
            quarter_index(record.made_on),
            sign,
        );
        if let (Status::Delivered, Some(on)) = (record.base, record.outcome_on) {
            bump(&mut self.delivered_by_quarter, quarter_index(on), sign);
        }
        let flag = |condition: bool| if condition { sign } else { 0 };
        self.amended += flag(record.amendments > 0);
        self.target_moved += flag(record.target_moves > 0);
        self.deadline_moved += flag(record.deadline_moves > 0);
        self.goalposts_moved += flag(record.goalposts_moved());
        self.disputed += flag(record.disputed);
        self.succeeded += flag(record.successions > 0);
        for (currency, stage, amount) in &record.money {
            let totals = self.money.entry(currency.clone()).or_default();
            totals[stage.index()] += i128::from(sign) * amount;
            if totals.iter().all(|v| *v == 0) {
                self.money.remove(currency);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Counts per status on `date`.
    pub fn counts(&self, date: Date) -> StatusCounts {
        let overdue = |histogram: &BTreeMap<Date, i64>| -> i64 {
            histogram.range(..date).map(|(_, count)| count).sum()
        };
        let overdue_not_started = overdue(&self.due_not_started);
        let overdue_in_progress = overdue(&self.due_in_progress);
        StatusCounts {
            not_started: self.base[0] - overdue_not_started,
            in_progress: self.base[1] - overdue_in_progress,
            overdue: overdue_not_started + overdue_in_progress,
            delivered: self.base[2],
            partly_delivered: self.base[3],
            not_delivered: self.base[4],
            withdrawn: self.base[5],
        }
    }

    /// The median of the days from promise to outcome (the mean of the middle two when the
    /// count is even).
    pub fn median_days_to_outcome(&self) -> Option<f64> {
        let count: i64 = self.days_to_outcome.values().sum();
        if count <= 0 {
            return None;
        }
        let nth = |n: i64| -> Option<i32> {
            let mut seen = 0;
            self.days_to_outcome.iter().find_map(|(days, k)| {
                seen += k;
                (seen > n).then_some(*days)
            })
        };
        let low = nth((count - 1) / 2)?;
        let high = nth(count / 2)?;
        Some((f64::from(low) + f64::from(high)) / 2.0)
    }
}

/// Commitments per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub not_started: i64,
    pub in_progress: i64,
    pub overdue: i64,
    pub delivered: i64,
    pub partly_delivered: i64,
    pub not_delivered: i64,
    pub withdrawn: i64,
}

impl StatusCounts {
    /// Commitments with a final answer: an outcome, or a withdrawal.
    pub fn resolved(&self) -> i64 {
        self.delivered + self.partly_delivered + self.not_delivered + self.withdrawn
    }

    /// (delivered + ½ partly delivered) / resolved; `None` when nothing is resolved.
    pub fn delivery_rate(&self) -> Option<f64> {
        let resolved = self.resolved();
        (resolved > 0)
            .then(|| (self.delivered as f64 + 0.5 * self.partly_delivered as f64) / resolved as f64)
    }

    pub fn total(&self) -> i64 {
        self.not_started + self.in_progress + self.overdue + self.resolved()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::Facts;
    use covenant_core::proto::{AmendedField, Money, Verdict};

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn counts_settle_overdue_at_the_date() {
        let mut aggregate = Aggregate::default();
        let open = CommitmentRecord::of(&Facts::made().state());
        let mut started = Facts::made();
        started.action(None);
        let started = CommitmentRecord::of(&started.state());
        let mut delivered = Facts::made();
        delivered.outcome(Verdict::Delivered, "2026-03-10");
        let delivered = CommitmentRecord::of(&delivered.state());
        for record in [&open, &started, &delivered] {
            aggregate.add(record, 1);
        }
        let before = aggregate.counts(date("2026-03-31"));
        assert_eq!(
            (before.not_started, before.in_progress, before.overdue),
            (1, 1, 0)
        );
        let after = aggregate.counts(date("2026-04-01"));
        assert_eq!(
            (after.not_started, after.in_progress, after.overdue),
            (0, 0, 2)
        );
        assert_eq!(after.delivered, 1);
        assert_eq!(after.total(), 3);
        aggregate.add(&started, -1);
        aggregate.add(&open, -1);
        aggregate.add(&delivered, -1);
        assert!(aggregate.is_empty(), "{aggregate:?}");
    }

    #[test]
    fn delivery_rate_gives_half_credit_and_counts_withdrawals_as_not_delivered() {
        let counts = StatusCounts {
            delivered: 2,
            partly_delivered: 1,
            not_delivered: 0,
            withdrawn: 1,
            overdue: 5,
            ..Default::default()
        };
        assert_eq!(counts.delivery_rate(), Some(2.5 / 4.0));
        assert_eq!(StatusCounts::default().delivery_rate(), None);
    }

    #[test]
    fn median_days_from_promise_to_outcome() {
        let mut aggregate = Aggregate::default();
        assert_eq!(aggregate.median_days_to_outcome(), None);
        // Made 2026-01-10: outcomes after 10, 20 and 51 days.
        for reported in ["2026-01-20", "2026-01-30", "2026-03-02"] {
            let mut facts = Facts::made();
            facts.outcome(Verdict::Delivered, reported);
            aggregate.add(&CommitmentRecord::of(&facts.state()), 1);
        }
        assert_eq!(aggregate.median_days_to_outcome(), Some(20.0));
        let mut facts = Facts::made();
        facts.outcome(Verdict::NotDelivered, "2026-03-02");
        aggregate.add(&CommitmentRecord::of(&facts.state()), 1);
        assert_eq!(aggregate.median_days_to_outcome(), Some(35.5));
        let mut withdrawn = Facts::made();
        withdrawn.withdraw();
        aggregate.add(&CommitmentRecord::of(&withdrawn.state()), 1);
        assert_eq!(
            aggregate.median_days_to_outcome(),
            Some(35.5),
            "no outcome, no days"
        );
    }

    #[test]
    fn flags_and_money_sum_and_retracted_commitments_count_nowhere() {
        let mut facts = Facts::made();
        facts.amend(&[(AmendedField::DueBy, "2027-01-01")]);
        facts.action(Some(Money {
            amount_minor: 250,
            currency: "GBP".into(),
            stage: 3,
        }));
        let record = CommitmentRecord::of(&facts.state());
        let mut aggregate = Aggregate::default();
        aggregate.add(&record, 1);
        assert_eq!(
            (
                aggregate.amended,
                aggregate.deadline_moved,
                aggregate.goalposts_moved
            ),
            (1, 1, 1)
        );
        assert_eq!(aggregate.money["GBP"], [0, 0, 250]);
        let made = facts.facts[0].event_id.clone();
        facts.retract("GB-GOV-DCMS", &made);
        let mut retracted = Aggregate::default();
        retracted.add(&CommitmentRecord::of(&facts.state()), 1);
        assert!(retracted.is_empty());
    }

    #[test]
    fn each_flag_counts_only_its_own_change_and_a_removed_record_leaves_nothing() {
        let plain = CommitmentRecord::of(&Facts::made().state());
        let flags = |record: &CommitmentRecord| {
            let mut aggregate = Aggregate::default();
            aggregate.add(record, 1);
            [
                aggregate.amended,
                aggregate.target_moved,
                aggregate.deadline_moved,
                aggregate.goalposts_moved,
                aggregate.disputed,
                aggregate.succeeded,
            ]
        };
        assert_eq!(flags(&plain), [0; 6], "nothing changed, nothing flagged");
        let with = |change: fn(&mut CommitmentRecord)| {
            let mut record = plain.clone();
            change(&mut record);
            flags(&record)
        };
        assert_eq!(with(|r| r.amendments = 1), [1, 0, 0, 0, 0, 0]);
        assert_eq!(with(|r| r.target_moves = 1), [0, 1, 0, 1, 0, 0]);
        assert_eq!(with(|r| r.deadline_moves = 1), [0, 0, 1, 1, 0, 0]);
        assert_eq!(with(|r| r.scope_changes = 1), [0, 0, 0, 1, 0, 0]);
        assert_eq!(with(|r| r.disputed = true), [0, 0, 0, 0, 1, 0]);
        assert_eq!(with(|r| r.successions = 1), [0, 0, 0, 0, 0, 1]);

        let mut rich = plain.clone();
        rich.money = vec![
            ("GBP".into(), MoneyStage::Pledged, 100),
            ("GBP".into(), MoneyStage::Spent, 40),
        ];
        rich.amendments = 2;
        let mut aggregate = Aggregate::default();
        aggregate.add(&rich, 1);
        aggregate.add(&plain, 1);
        assert_eq!(aggregate.money["GBP"], [100, 0, 40]);
        aggregate.add(&rich, -1);
        aggregate.add(&plain, -1);
        assert_eq!(aggregate, Aggregate::default(), "removing undoes adding");
    }

    #[test]
    fn a_record_stands_at_a_point_with_nothing_recorded_or_happening_after_it() {
        let mut record = CommitmentRecord::of(&Facts::made().state());
        record.last_seq = 40;
        record.last_happened_on = date("2026-03-01");
        let cut = |size, world: Option<&str>| Cut {
            size,
            world: world.map(date),
        };
        assert!(record.stands_at(cut(41, None)));
        assert!(
            !record.stands_at(cut(40, None)),
            "its last fact not yet recorded"
        );
        assert!(record.stands_at(cut(41, Some("2026-03-01"))));
        assert!(
            !record.stands_at(cut(41, Some("2026-02-28"))),
            "its latest fact had not happened yet"
        );
        assert!(!record.stands_at(cut(40, Some("2026-03-01"))));
    }

    #[test]
    fn quarters_number_consecutively_across_years() {
        let quarter = |text: &str| quarter_index(date(text));
        assert_eq!(quarter("2024-01-01"), 2024 * 4);
        assert_eq!(quarter("2024-03-31"), 2024 * 4);
        assert_eq!(quarter("2024-04-01"), 2024 * 4 + 1);
        assert_eq!(quarter("2024-09-30"), 2024 * 4 + 2);
        assert_eq!(quarter("2024-12-31"), 2024 * 4 + 3);
        assert_eq!(quarter("2025-01-01"), 2024 * 4 + 4);
    }

    #[test]
    fn a_quarter_index_gives_back_its_year_and_quarter() {
        for (text, expected) in [
            ("2024-01-01", (2024, 1)),
            ("2024-06-30", (2024, 2)),
            ("2024-07-01", (2024, 3)),
            ("2024-12-31", (2024, 4)),
            ("2025-01-01", (2025, 1)),
        ] {
            assert_eq!(
                year_and_quarter(quarter_index(date(text))),
                expected,
                "{text}"
            );
        }
        assert_eq!(year_and_quarter(-1), (-1, 4), "before year 0 too");
    }

    #[test]
    fn a_delivered_record_counts_in_the_quarter_of_its_outcome_and_partly_does_not() {
        let mut delivered = CommitmentRecord::of(&Facts::made().state());
        delivered.made_on = date("2024-02-10");
        delivered.base = Status::Delivered;
        delivered.outcome_on = Some(date("2025-07-01"));
        let mut partly = delivered.clone();
        partly.base = Status::PartlyDelivered;
        let mut aggregate = Aggregate::default();
        aggregate.add(&delivered, 1);
        aggregate.add(&partly, 1);
        let made = quarter_index(date("2024-02-10"));
        let out = quarter_index(date("2025-07-01"));
        assert_eq!(aggregate.made_by_quarter, BTreeMap::from([(made, 2)]));
        assert_eq!(aggregate.delivered_by_quarter, BTreeMap::from([(out, 1)]));
        aggregate.add(&delivered, -1);
        assert!(aggregate.delivered_by_quarter.is_empty());
    }

    #[test]
    fn search_matches_every_word_in_current_or_original_wording() {
        let mut facts = Facts::made();
        facts.amend(&[(AmendedField::Text, "Build 80 affordable homes")]);
        let record = CommitmentRecord::of(&facts.state());
        let words = |q: &str| text::words(q);
        assert!(
            record.matches_words(&words("HOMES 100")),
            "original wording"
        );
        assert!(
            record.matches_words(&words("affordable homes")),
            "current wording"
        );
        assert!(!record.matches_words(&words("affordable schools")));
        let mut accented = Facts::made();
        accented.amend(&[(AmendedField::Title, "Community cafés in every town")]);
        let record = CommitmentRecord::of(&accented.state());
        assert!(record.matches_words(&words("cafes")), "accents dropped");
        assert!(record.matches_words(&words("CAFÉS")));
    }
}
