//! The projection against a real SledStore filled with a valid, signed log.

use covenant_core::SchemaName;
use covenant_core::event::Date;
use covenant_core::proto::{ActorKind, Verdict};
use covenant_query::view::{FeedKind, FeedSource};
use covenant_query::{
    AsOf, CommitmentFilter, FeedScope, Flag, LeagueRules, Overlap, Projections, QueryError,
    ResolvedAsOf, Status,
};
use covenant_store::{LogReader, SledStore};
use covenant_testkit::log::LogWriter;
use covenant_testkit::scenario::{self, DCMS, DCMS2, DHSC, MP, Scenario, WATCHDOG};
use std::collections::BTreeMap;

fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

/// 2026-06-01, the "today" of these tests.
fn today() -> Date {
    date("2026-06-01")
}

struct World {
    _dir: tempfile::TempDir,
    store: SledStore,
    projections: Projections,
    scenario: Scenario,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create_or_open(dir.path().join("log")).unwrap();
    let scenario = scenario::write(&store).unwrap();
    let projections = Projections::open(dir.path().join("query")).unwrap();
    projections.catch_up(&store).unwrap();
    World {
        _dir: dir,
        store,
        projections,
        scenario,
    }
}

impl World {
    /// Every earlier point worth asking at: each size of the log, and a world date every
    /// three days across it.
    fn earlier_points(&self) -> Vec<ResolvedAsOf> {
        let mut points = vec![];
        for size in 1..self.scenario.size {
            points.push(self.projections.resolve(AsOf::size(size), today()).unwrap());
        }
        let mut day = date("2025-12-30");
        while day <= today() {
            points.push(self.projections.resolve(AsOf::date(day), today()).unwrap());
            day = Date::from_unix_ms(i64::from(day.days() + 3) * 86_400_000);
        }
        points
    }

    fn latest(&self) -> ResolvedAsOf {
        self.projections.resolve(AsOf::LATEST, today()).unwrap()
    }

    fn statuses(&self, point: &ResolvedAsOf) -> BTreeMap<String, Status> {
        let filter = CommitmentFilter::default();
        self.projections
            .commitments(point, &filter, None, 100)
            .unwrap()
            .items
            .into_iter()
            .map(|item| (item.id, item.status))
            .collect()
    }
}

fn statuses(pairs: &[(&str, Status)]) -> BTreeMap<String, Status> {
    pairs.iter().map(|(id, s)| (id.to_string(), *s)).collect()
}

/// A succession passes in the projections exactly the commitments validation passed: the
/// projections hold no rule of their own for it, only covenant-core's, applied to validation's
/// record of each commitment folded from its facts.
#[test]
fn a_succession_passes_in_the_projections_exactly_what_validation_passed() {
    use covenant_core::validate::StateChange;
    let world = world();
    let succession = world
        .store
        .event(&world.scenario.succession)
        .unwrap()
        .unwrap()
        .seq;
    // What validation passed: the commitments its state changes for that entry name.
    let mut passed_by_validation = std::collections::BTreeSet::new();
    covenant_store::derive::derive_state(&world.store, &mut |seq, changes| {
        if seq == succession {
            for change in changes {
                if let StateChange::Commitment(id, record) = change {
                    assert_eq!(record.owner, DCMS2);
                    passed_by_validation.insert(id.clone());
                }
            }
        }
        Ok(())
    })
    .unwrap();
    // What the projections passed: the commitments that hold the succession as a fact
    // (`f` + id + 0x00 0x00 + seq).
    let seq = succession.to_be_bytes();
    let passed_here: std::collections::BTreeSet<String> = world
        .projections
        .dump()
        .unwrap()
        .into_iter()
        .filter(|(key, _)| key.first() == Some(&b'f') && key.ends_with(&seq))
        .map(|(key, _)| String::from_utf8(key[1..key.len() - 10].to_vec()).unwrap())
        .collect();
    assert_eq!(passed_here, passed_by_validation);
    // And no copy of validation's records is kept to pass them by (`l` keys, written before).
    let dump = world.projections.dump().unwrap();
    assert!(!dump.iter().any(|(key, _)| key.first() == Some(&b'l')));
    // What makes it worth checking: the open commitments passed, the retracted one among
    // them (validation's records ignore retractions), and the withdrawn and the delivered ones
    // stayed.
    assert_eq!(
        passed_by_validation,
        ["dcms-arts", "dcms-error", "dcms-sport"]
            .map(String::from)
            .into()
    );
}

#[test]
fn every_status_of_the_scenario_at_the_latest_point() {
    let world = world();
    assert_eq!(world.projections.applied(), world.scenario.size);
    assert_eq!(
        world.statuses(&world.latest()),
        statuses(&[
            ("dcms-arts", Status::Overdue),
            ("dcms-libraries", Status::Delivered),
            ("dcms-museums", Status::Withdrawn),
            ("dcms-sport", Status::InProgress),
            ("dhsc-nurses", Status::InProgress),
            ("dhsc-waiting", Status::PartlyDelivered),
            ("mp4514-bus", Status::Delivered),
        ]),
        "retracted dcms-error is left out"
    );
    let retracted = CommitmentFilter {
        status: Some(Status::Retracted),
        ..Default::default()
    };
    let page = world
        .projections
        .commitments(&world.latest(), &retracted, None, 10)
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, "dcms-error");
}

#[test]
fn as_recorded_by_a_size_or_a_date_answers_as_the_log_stood() {
    let world = world();
    let before = world
        .projections
        .resolve(
            AsOf::size(world.scenario.size_before_nurses_retraction),
            today(),
        )
        .unwrap();
    assert!(!before.latest);
    assert_eq!(
        before.date,
        date("2026-05-01"),
        "judged on the last entry's day"
    );
    let at = world.statuses(&before);
    assert_eq!(
        at["dhsc-nurses"],
        Status::NotDelivered,
        "retraction not yet in"
    );
    let april = world
        .projections
        .resolve(AsOf::recorded_on(date("2026-04-10")), today())
        .unwrap();
    assert_eq!(april.date, date("2026-04-10"));
    assert_eq!(
        world.statuses(&april),
        statuses(&[
            ("dcms-arts", Status::Overdue),
            ("dcms-error", Status::Overdue),
            ("dcms-libraries", Status::InProgress),
            ("dcms-museums", Status::Withdrawn),
            ("dcms-sport", Status::InProgress),
            ("dhsc-nurses", Status::NotDelivered),
            ("dhsc-waiting", Status::PartlyDelivered),
            ("mp4514-bus", Status::InProgress.min(Status::NotStarted)),
        ])
    );
    let march = world
        .projections
        .resolve(AsOf::recorded_on(date("2026-03-20")), today())
        .unwrap();
    let scorecard = world
        .projections
        .actor_scorecard(DCMS, &march, 10)
        .unwrap()
        .unwrap();
    assert_eq!(
        scorecard.commitments, 5,
        "before the retraction and the succession"
    );
    assert_eq!(scorecard.counts.overdue, 1, "dcms-error, due 2026-02-01");
    let before_everything = world
        .projections
        .resolve(AsOf::recorded_on(date("2025-12-31")), today())
        .unwrap();
    assert_eq!(before_everything.size, 0);
    assert!(world.statuses(&before_everything).is_empty());
}

#[test]
fn as_of_refuses_sizes_beyond_the_log_and_future_dates() {
    let world = world();
    let beyond = world
        .projections
        .resolve(AsOf::size(world.scenario.size + 1), today());
    assert!(
        matches!(beyond, Err(QueryError::AsOfBeyondLog { .. })),
        "{beyond:?}"
    );
    let future = world
        .projections
        .resolve(AsOf::date(date("2026-06-02")), today());
    assert!(matches!(future, Err(QueryError::AsOfInFuture { .. })));
    let whole = world
        .projections
        .resolve(AsOf::size(world.scenario.size), today())
        .unwrap();
    assert!(whole.latest);
}

#[test]
fn actor_scorecards_count_rate_median_money_and_lists() {
    let world = world();
    let point = world.latest();
    let dcms = world
        .projections
        .actor_scorecard(DCMS, &point, 10)
        .unwrap()
        .unwrap();
    assert_eq!(
        dcms.commitments, 2,
        "libraries and museums stay; open ones passed on"
    );
    assert_eq!((dcms.counts.delivered, dcms.counts.withdrawn), (1, 1));
    assert_eq!(dcms.resolved, 2);
    assert_eq!(dcms.delivery_rate, Some(0.5));
    assert_eq!(dcms.median_days_to_outcome, Some(105.0));
    assert_eq!(dcms.flags.disputed, 1);
    assert_eq!(dcms.money.len(), 1);
    assert_eq!(dcms.money[0].pledged_minor, 5_000_000);
    assert_eq!(
        dcms.actor.as_ref().unwrap().successors,
        vec![DCMS2.to_string()]
    );

    let dcms2 = world
        .projections
        .actor_scorecard(DCMS2, &point, 10)
        .unwrap()
        .unwrap();
    assert_eq!(dcms2.commitments, 2);
    assert_eq!((dcms2.counts.overdue, dcms2.counts.in_progress), (1, 1));
    assert_eq!(dcms2.delivery_rate, None);
    assert_eq!(dcms2.overdue.total, 1);
    assert_eq!(dcms2.overdue.items[0].id, "dcms-arts");
    assert_eq!(dcms2.overdue.items[0].days_overdue, 62);
    assert_eq!(dcms2.overdue.items[0].progress, Status::NotStarted);
    assert_eq!(dcms2.goalposts_moved.total, 1);
    let sport = &dcms2.goalposts_moved.items[0];
    assert_eq!(sport.original_due_by.as_deref(), Some("2026-06-30"));
    assert_eq!(sport.current_due_by.as_deref(), Some("2027-06-30"));
    assert_eq!(
        (sport.original_target_value, sport.current_target_value),
        (Some(100.0), Some(80.0))
    );
    assert_eq!(dcms2.flags.succeeded, 2);
    assert_eq!(dcms2.money[0].spent_minor, 1_000_000);

    let dhsc = world
        .projections
        .actor_scorecard(DHSC, &point, 10)
        .unwrap()
        .unwrap();
    assert_eq!(dhsc.delivery_rate, Some(0.5), "partly delivered earns half");
    assert_eq!(dhsc.median_days_to_outcome, Some(69.0));
    assert!(
        world
            .projections
            .actor_scorecard("GB-GOV-NOPE", &point, 10)
            .unwrap()
            .is_none()
    );
}

#[test]
fn the_fast_path_agrees_with_folding_every_commitment() {
    let world = world();
    for judged in ["2026-03-01", "2026-04-15", "2026-06-01"] {
        let fast = world
            .projections
            .resolve(AsOf::LATEST, date(judged))
            .unwrap();
        let slow = fast.without_fast_path();
        let projections = &world.projections;
        for actor in [DCMS, DCMS2, DHSC, MP, WATCHDOG] {
            let mut a = projections
                .actor_scorecard(actor, &fast, 10)
                .unwrap()
                .unwrap();
            let b = projections
                .actor_scorecard(actor, &slow, 10)
                .unwrap()
                .unwrap();
            a.as_of.latest = false;
            assert_eq!(a, b, "{actor} on {judged}");
        }
        for theme in ["community", "safety", "dignity", "opportunity", "equity"] {
            let mut a = projections
                .theme_scorecard(theme, &fast, 10)
                .unwrap()
                .unwrap();
            let b = projections
                .theme_scorecard(theme, &slow, 10)
                .unwrap()
                .unwrap();
            a.as_of.latest = false;
            assert_eq!(a, b, "{theme} on {judged}");
        }
        let mut a = projections.themes(&fast).unwrap();
        a.as_of.latest = false;
        assert_eq!(a, projections.themes(&slow).unwrap());
        let rules = LeagueRules {
            min_resolved: 1,
            kind: None,
        };
        let mut a = projections.league_table(&fast, &rules).unwrap();
        a.as_of.latest = false;
        assert_eq!(a, projections.league_table(&slow, &rules).unwrap());
        for status in Status::ALL {
            let filter = CommitmentFilter {
                status: Some(status),
                ..Default::default()
            };
            let mut a = projections.commitments(&fast, &filter, None, 100).unwrap();
            a.as_of.latest = false;
            assert_eq!(
                a,
                projections.commitments(&slow, &filter, None, 100).unwrap()
            );
        }
        for scope in [
            FeedScope::Actor(DCMS.into()),
            FeedScope::Actor(DCMS2.into()),
            FeedScope::Theme("community".into()),
        ] {
            let mut a = projections.feed(&scope, &fast, 50).unwrap().unwrap();
            a.as_of.latest = false;
            assert_eq!(
                a,
                projections.feed(&scope, &slow, 50).unwrap().unwrap(),
                "{scope:?}"
            );
        }
    }
}

#[test]
fn at_every_size_and_world_date_the_reused_records_agree_with_folding() {
    let world = world();
    let projections = &world.projections;
    let points = world.earlier_points();
    let filter = CommitmentFilter::default();
    for point in points {
        assert!(!point.latest && point.reuse_records);
        let folded = point.without_fast_path();
        let listed = |point| projections.commitments(point, &filter, None, 100).unwrap();
        let (a, b) = (listed(&point), listed(&folded));
        assert_eq!(a, b, "{point:?}");
        for actor in [DCMS, DCMS2, DHSC, MP] {
            let card = |point| projections.actor_scorecard(actor, point, 10).unwrap();
            assert_eq!(card(&point), card(&folded), "{actor} at {point:?}");
        }
        let overview = |point| projections.overview(point, 10).unwrap();
        assert_eq!(overview(&point), overview(&folded), "{point:?}");
    }
}

/// Everything the home page asks at `point` that covers everyone or each actor.
fn everyone_at(projections: &Projections, point: &ResolvedAsOf) -> String {
    let rules = |kind| LeagueRules {
        min_resolved: 1,
        kind,
    };
    let mut answers = vec![
        format!("{:?}", projections.overview(point, 10).unwrap()),
        format!(
            "{:?}",
            projections
                .league_tables(point, [rules(None), rules(Some(ActorKind::Mp))])
                .unwrap()
        ),
        format!("{:?}", projections.themes(point).unwrap()),
        format!("{:?}", projections.actors(point, None, None, 100).unwrap()),
    ];
    for actor in [DCMS, DCMS2, DHSC, MP] {
        let card = projections.actor_scorecard(actor, point, 10).unwrap();
        answers.push(format!("{card:?}"));
        let feed = projections.feed(&FeedScope::Actor(actor.into()), point, 50);
        answers.push(format!("{:?}", feed.unwrap()));
    }
    answers.join("\n")
}

#[test]
fn at_every_point_one_shared_fold_answers_as_each_reader_folding_alone() {
    let world = world();
    let projections = &world.projections;
    assert!(projections.share_fold(&world.latest()).unwrap().is_none());
    let later_day = date("2026-09-01");
    let points = world.earlier_points();
    for pair in points.windows(2) {
        let (point, next) = (pair[0], pair[1]);
        // The same records judged on a later day: they share the fold.
        let judged_later = ResolvedAsOf {
            date: later_day,
            ..point
        };
        let alone = everyone_at(projections, &point);
        let alone_later = everyone_at(projections, &judged_later);
        let alone_next = everyone_at(projections, &next);
        let folds = projections.folds_of_everyone();
        let shared = projections
            .share_fold(&point)
            .unwrap()
            .expect("an earlier point");
        assert_eq!(everyone_at(projections, &point), alone, "{point:?}");
        assert_eq!(everyone_at(projections, &judged_later), alone_later);
        assert_eq!(
            projections.folds_of_everyone(),
            folds + 1,
            "one fold of everyone at {point:?}"
        );
        // Another cut folds for itself.
        assert_eq!(everyone_at(projections, &next), alone_next, "{next:?}");
        drop(shared);
        let folds = projections.folds_of_everyone();
        projections.overview(&point, 10).unwrap();
        assert_eq!(
            projections.folds_of_everyone(),
            folds + 1,
            "released with its last holder"
        );
    }
}

#[test]
fn themes_and_the_league_table() {
    let world = world();
    let point = world.latest();
    let themes = world.projections.themes(&point).unwrap();
    let names: Vec<&str> = themes.items.iter().map(|t| t.theme.as_str()).collect();
    assert_eq!(
        names,
        ["safety", "equity", "dignity", "opportunity", "community"],
        "seed order"
    );
    let community = &themes.items[4];
    assert_eq!(
        community.commitments, 3,
        "libraries, sport, bus; the retracted one is out"
    );
    assert_eq!(community.delivery_rate, Some(1.0));

    let league = world
        .projections
        .league_table(
            &point,
            &LeagueRules {
                min_resolved: 1,
                kind: None,
            },
        )
        .unwrap();
    let ranked: Vec<(&str, u32)> = league
        .rows
        .iter()
        .map(|r| (r.actor.as_str(), r.rank))
        .collect();
    assert_eq!(
        ranked,
        [(MP, 1), (DCMS, 2), (DHSC, 3)],
        "ties go to more resolved"
    );
    assert_eq!(league.unranked, 1, "DCMS2 has nothing resolved");
    let strict = world
        .projections
        .league_table(&point, &LeagueRules::default())
        .unwrap();
    assert!(strict.rows.is_empty());
    assert_eq!(strict.unranked, 4);
    let mps = world
        .projections
        .league_table(
            &point,
            &LeagueRules {
                min_resolved: 1,
                kind: Some(covenant_core::proto::ActorKind::Mp),
            },
        )
        .unwrap();
    assert_eq!(mps.rows.len(), 1);
}

#[test]
fn league_tables_made_together_are_each_as_made_alone() {
    let world = world();
    let rules = |min_resolved, kind| LeagueRules { min_resolved, kind };
    let every = [
        rules(1, Some(ActorKind::Department)),
        rules(1, Some(ActorKind::Mp)),
        rules(0, None),
        rules(2, Some(ActorKind::Department)),
    ];
    let latest = world.latest();
    for point in [latest, latest.without_fast_path()] {
        let together = world
            .projections
            .league_tables(&point, every.clone())
            .unwrap();
        for (rules, table) in every.iter().zip(&together) {
            let alone = world.projections.league_table(&point, rules).unwrap();
            assert_eq!(table, &alone, "{rules:?}");
        }
        let departments = &together[0];
        assert!(
            departments.rows.len() >= 2 && departments.unranked >= 1,
            "departments ranked and not: {departments:?}"
        );
        assert!(
            departments
                .rows
                .iter()
                .all(|row| row.kind == ActorKind::Department)
        );
        assert_eq!(together[1].rows.len(), 1, "one MP");
    }
}

#[test]
fn search_filters_and_cursor_pages() {
    let world = world();
    let point = world.latest();
    let find = |filter: CommitmentFilter| -> Vec<String> {
        world
            .projections
            .commitments(&point, &filter, None, 100)
            .unwrap()
            .items
            .into_iter()
            .map(|item| item.id)
            .collect()
    };
    let words = |q: &str| CommitmentFilter {
        words: covenant_query::words(q),
        ..Default::default()
    };
    assert_eq!(find(words("LIBRARY")), ["dcms-libraries"]);
    assert_eq!(find(words("bus valley")), ["mp4514-bus"]);
    assert!(
        find(words("bus library")).is_empty(),
        "every word must match"
    );
    assert!(find(words("zeppelin")).is_empty());
    assert_eq!(
        find(CommitmentFilter {
            theme: Some("safety".into()),
            ..Default::default()
        }),
        ["dhsc-nurses", "dhsc-waiting"]
    );
    assert_eq!(
        find(CommitmentFilter {
            actor: Some(DCMS2.into()),
            status: Some(Status::Overdue),
            ..Default::default()
        }),
        ["dcms-arts"]
    );
    assert_eq!(
        find(CommitmentFilter {
            due_from: Some(date("2026-06-01")),
            due_to: Some(date("2026-12-31")),
            ..Default::default()
        }),
        ["dcms-libraries", "dcms-museums", "dhsc-nurses"]
    );
    assert_eq!(
        find(CommitmentFilter {
            flag: Some(Flag::GoalpostsMoved),
            ..Default::default()
        }),
        ["dcms-sport"]
    );
    assert_eq!(
        find(CommitmentFilter {
            flag: Some(Flag::Disputed),
            ..Default::default()
        }),
        ["dcms-libraries"]
    );

    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let page = world
            .projections
            .commitments(&point, &CommitmentFilter::default(), cursor.as_deref(), 3)
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|item| item.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, world.statuses(&point).into_keys().collect::<Vec<_>>());
}

/// Each status filter, at the latest point and a page of one at a time, lists exactly the
/// commitments in that status: overdue ones among both open base statuses, merged in id order
/// (judged on a later date too, when commitments in progress are overdue as well).
#[test]
fn every_status_filter_lists_exactly_its_commitments_page_by_page() {
    let world = world();
    for judged_on in [today(), date("2028-01-01")] {
        let point = world.projections.resolve(AsOf::LATEST, judged_on).unwrap();
        assert!(point.latest);
        let all = world.statuses(&point);
        for wanted in Status::ALL.into_iter().filter(|s| *s != Status::Retracted) {
            let filter = CommitmentFilter {
                status: Some(wanted),
                ..Default::default()
            };
            let mut seen = vec![];
            let mut cursor: Option<String> = None;
            loop {
                let page = world
                    .projections
                    .commitments(&point, &filter, cursor.as_deref(), 1)
                    .unwrap();
                seen.extend(page.items.into_iter().map(|item| item.id));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            let expected: Vec<String> = all
                .iter()
                .filter(|(_, status)| **status == wanted)
                .map(|(id, _)| id.clone())
                .collect();
            assert_eq!(seen, expected, "{wanted} judged on {judged_on:?}");
        }
    }
    let later = world
        .projections
        .resolve(AsOf::LATEST, date("2028-01-01"))
        .unwrap();
    let overdue: Vec<String> = world
        .statuses(&later)
        .into_iter()
        .filter(|(_, status)| *status == Status::Overdue)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        overdue,
        ["dcms-arts", "dcms-sport", "dhsc-nurses"],
        "overdue from either open base: not started (arts), in progress (sport, nurses)"
    );
}

#[test]
fn history_has_every_event_with_hashes_proof_links_and_retractions() {
    let world = world();
    let point = world.latest();
    let history = world
        .projections
        .history("dhsc-nurses", &point)
        .unwrap()
        .unwrap();
    let kinds: Vec<&str> = history.events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        kinds,
        [
            "commitment_made",
            "action_recorded",
            "outcome_reported",
            "retraction"
        ]
    );
    for event in &history.events {
        let entry = world.store.entry(event.seq).unwrap().unwrap();
        assert_eq!(
            event.entry_hash,
            hex::encode(covenant_core::entry::chain_hash(&entry))
        );
    }
    let outcome = &history.events[2];
    assert_eq!(outcome.event_id, world.scenario.nurses_outcome);
    assert_eq!(
        outcome.retracted_by.as_ref().unwrap().event_id,
        world.scenario.nurses_outcome_retraction
    );
    let sport = world
        .projections
        .commitment("dcms-sport", &point)
        .unwrap()
        .unwrap();
    assert_eq!(sport.original.due_by.as_deref(), Some("2026-06-30"));
    assert_eq!(sport.current.due_by.as_deref(), Some("2027-06-30"));
    assert_eq!(sport.original.target_value, Some(100.0));
    assert_eq!(sport.current.target_value, Some(80.0));
    let amendment = sport
        .history
        .iter()
        .find(|e| e.event_id == world.scenario.sport_amendment)
        .unwrap();
    let changes: Vec<(&str, Option<&str>, &str)> = amendment
        .detail
        .changes
        .iter()
        .map(|c| {
            (
                c.field.schema_name(),
                c.old_value.as_deref(),
                c.new_value.as_str(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("target_value", Some("100"), "80"),
            ("due_by", Some("2026-06-30"), "2027-06-30")
        ]
    );
    let succession = sport.succession.unwrap();
    assert_eq!(
        (
            succession.original_owner.as_str(),
            succession.current_owner.as_str()
        ),
        (DCMS, DCMS2)
    );
    let libraries = world
        .projections
        .commitment("dcms-libraries", &point)
        .unwrap()
        .unwrap();
    assert!(libraries.flags.disputed);
    assert_eq!(libraries.assessments[0].assessor, WATCHDOG);
    assert_eq!(
        libraries.assessments[0].stance,
        covenant_core::proto::Stance::Disputes
    );
    let error = world
        .projections
        .commitment("dcms-error", &point)
        .unwrap()
        .unwrap();
    assert_eq!(error.status, Status::Retracted);
    assert!(
        error.history[0].retracted_by.is_some(),
        "kept, marked retracted"
    );
    let early = world.projections.resolve(AsOf::size(3), today()).unwrap();
    assert!(
        world
            .projections
            .commitment("dcms-sport", &early)
            .unwrap()
            .is_none()
    );
}

#[test]
fn feeds_announce_commitments_amendments_outcomes_and_overdue() {
    let world = world();
    let point = world.latest();
    let feed = world
        .projections
        .feed(&FeedScope::Actor(DCMS.into()), &point, 50)
        .unwrap()
        .unwrap();
    let has = |kind: FeedKind, id: &str| {
        feed.entries
            .iter()
            .any(|e| e.kind == kind && e.commitment_id == id)
    };
    assert!(has(FeedKind::NewCommitment, "dcms-sport"));
    assert!(has(FeedKind::Amended, "dcms-sport"));
    assert!(has(FeedKind::Outcome, "dcms-libraries"));
    assert!(has(FeedKind::Withdrawn, "dcms-museums"));
    assert!(!has(FeedKind::NewCommitment, "dcms-error"), "retracted");
    let libraries = feed
        .entries
        .iter()
        .find(|e| e.kind == FeedKind::Outcome && e.commitment_id == "dcms-libraries")
        .unwrap();
    assert_eq!(libraries.verdict, Some(Verdict::Delivered));
    let sorted = feed
        .entries
        .windows(2)
        .all(|pair| pair[0].updated_ns >= pair[1].updated_ns);
    assert!(sorted, "newest first");
    let dcms2 = world
        .projections
        .feed(&FeedScope::Actor(DCMS2.into()), &point, 50)
        .unwrap()
        .unwrap();
    let overdue: Vec<(&str, &str)> = dcms2
        .entries
        .iter()
        .filter(|e| matches!(e.source, FeedSource::Overdue { .. }))
        .map(|e| (e.commitment_id.as_str(), e.updated.as_str()))
        .collect();
    assert_eq!(
        overdue,
        [("dcms-arts", "2026-04-01T00:00:00Z")],
        "arts became overdue on 1 April"
    );
    let dhsc = world
        .projections
        .feed(&FeedScope::Actor(DHSC.into()), &point, 50)
        .unwrap()
        .unwrap();
    assert!(
        !dhsc
            .entries
            .iter()
            .any(|e| matches!(&e.source, FeedSource::Event { event_id, .. } if *event_id == world.scenario.nurses_outcome)),
        "the retracted outcome is no longer announced"
    );
    assert!(
        world
            .projections
            .feed(&FeedScope::Theme("nope".into()), &point, 50)
            .unwrap()
            .is_none()
    );

    // As of an earlier size, one batch's run holds later items too: they stay out, and the
    // limit counts only what is in.
    let event_seqs = |feed: &covenant_query::view::Feed| -> Vec<u64> {
        feed.entries
            .iter()
            .filter_map(|e| match e.source {
                FeedSource::Event { seq, .. } => Some(seq),
                FeedSource::Overdue { .. } => None,
            })
            .collect()
    };
    let latest_seqs = event_seqs(&feed);
    assert!(latest_seqs.len() >= 3, "{latest_seqs:?}");
    let cut = latest_seqs[1];
    let earlier = world.projections.resolve(AsOf::size(cut), today()).unwrap();
    let scope = FeedScope::Actor(DCMS.into());
    let whole_feed = world
        .projections
        .feed(&scope, &earlier, 50)
        .unwrap()
        .unwrap();
    let before = event_seqs(&whole_feed);
    let dir = tempfile::tempdir().unwrap();
    let stopped_there = Projections::open(dir.path()).unwrap();
    stopped_there.catch_up_to(&world.store, cut, 1_000).unwrap();
    let then = stopped_there.resolve(AsOf::LATEST, today()).unwrap();
    let expected = event_seqs(&stopped_there.feed(&scope, &then, 50).unwrap().unwrap());
    assert!(expected.iter().all(|&seq| seq < cut) && expected.len() >= 2);
    assert_eq!(
        before, expected,
        "as the feed stood when the log held {cut} entries"
    );
    for limit in [1, 2] {
        let newest = world
            .projections
            .feed(&scope, &earlier, limit)
            .unwrap()
            .unwrap();
        assert_eq!(
            newest.entries,
            whole_feed.entries[..limit],
            "the limit counts what is in"
        );
    }

    // As of a date in the world: only what had happened by then.
    let mut published: Vec<&str> = feed
        .entries
        .iter()
        .filter(|e| matches!(e.source, FeedSource::Event { .. }))
        .map(|e| e.published.as_str())
        .collect();
    published.sort();
    published.dedup();
    assert!(published.len() >= 3, "{published:?}");
    let day = published[published.len() / 2];
    let by_then = world
        .projections
        .resolve(AsOf::date(date(day)), today())
        .unwrap();
    let then = world
        .projections
        .feed(&scope, &by_then, 50)
        .unwrap()
        .unwrap();
    let happened: Vec<u64> = feed
        .entries
        .iter()
        .filter(|e| e.published.as_str() <= day)
        .filter_map(|e| match e.source {
            FeedSource::Event { seq, .. } => Some(seq),
            FeedSource::Overdue { .. } => None,
        })
        .collect();
    assert!(happened.len() < latest_seqs.len());
    assert_eq!(event_seqs(&then), happened, "events that happened by {day}");
}

#[test]
fn rebuilding_in_any_batch_sizes_writes_the_same_bytes() {
    let world = world();
    let reference = world.projections.dump().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Applied one, two, three... entries per batch, reopening between batches as a restart.
    let mut applied = 0;
    let mut batch = 1;
    while applied < world.scenario.size {
        let projections = Projections::open(dir.path()).unwrap();
        assert_eq!(projections.applied(), applied, "resumes where it stopped");
        applied = projections
            .catch_up_to(&world.store, applied + batch * 2, batch)
            .unwrap();
        batch += 1;
    }
    let incremental = Projections::open(dir.path()).unwrap();
    assert_same(&incremental.dump().unwrap(), &reference);
    world.projections.rebuild(&world.store).unwrap();
    assert_same(&world.projections.dump().unwrap(), &reference);
}

#[test]
fn batches_written_one_at_a_time_or_overlapping_write_the_same_bytes() {
    let world = world();
    let reference = world.projections.dump().unwrap();
    for (overlap, batch) in [
        (Overlap::None, 3),
        (Overlap::Writes, 3),
        (Overlap::None, 50),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let projections = Projections::open(dir.path()).unwrap();
        let size = world.scenario.size;
        let applied = projections
            .catch_up_overlapping(&world.store, size, batch, overlap)
            .unwrap();
        assert_eq!(applied, size, "{overlap:?} in batches of {batch}");
        assert_same(&projections.dump().unwrap(), &reference);
    }
}

type Dump = Vec<(Vec<u8>, Vec<u8>)>;

/// Equal dumps, or a failure naming the keys that differ.
fn assert_same(found: &Dump, expected: &Dump) {
    let found: BTreeMap<_, _> = found.iter().cloned().collect();
    let expected: BTreeMap<_, _> = expected.iter().cloned().collect();
    let differing: Vec<String> = found
        .keys()
        .chain(expected.keys())
        .filter(|key| found.get(*key) != expected.get(*key))
        .map(|key| String::from_utf8_lossy(key).into_owned())
        .collect();
    assert!(differing.is_empty(), "keys that differ: {differing:?}");
}

#[test]
fn catching_up_applies_only_new_entries_and_a_restart_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create_or_open(dir.path().join("log")).unwrap();
    let mut log = LogWriter::genesis(&store, scenario::START_NS).unwrap();
    log.register(DHSC, "Health", ActorKind::Department).unwrap();
    log.commitment(
        DHSC,
        "c-1",
        "One",
        "First promise",
        "2026-01-05",
        "2026-02-01",
        &["safety"],
    )
    .unwrap();
    log.flush().unwrap();
    let query_dir = dir.path().join("query");
    {
        let projections = Projections::open(&query_dir).unwrap();
        assert_eq!(projections.catch_up(&store).unwrap(), store.head().size);
    }
    log.outcome(DHSC, "c-1", Verdict::Delivered, "2026-01-20")
        .unwrap();
    let size = log.flush().unwrap().size;
    let projections = Projections::open(&query_dir).unwrap();
    assert_eq!(projections.applied(), size - 1, "persisted, not replayed");
    assert_eq!(projections.catch_up(&store).unwrap(), size);
    let point = projections.resolve(AsOf::LATEST, today()).unwrap();
    let card = projections
        .actor_scorecard(DHSC, &point, 5)
        .unwrap()
        .unwrap();
    assert_eq!(card.counts.delivered, 1);
}

#[test]
fn a_second_process_cannot_open_the_same_projection() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Projections::open(dir.path()).unwrap();
    // sled locks the directory per process; within one process a second open of the same
    // path must not silently share or corrupt it either.
    match Projections::open(dir.path()) {
        Ok(_) | Err(QueryError::Open { .. }) => {}
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// A retraction lands on every commitment its target touched, whatever the target: an action
/// serving two commitments (re-derived from the action itself), and a retraction (from the
/// reference kept for it), applied in one batch or one entry at a time alike.
#[test]
fn a_retraction_reaches_everything_its_target_touched() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create_or_open(dir.path().join("log")).unwrap();
    let mut log = LogWriter::genesis(&store, scenario::START_NS).unwrap();
    log.register(DHSC, "Health", ActorKind::Department).unwrap();
    for id in ["c-1", "c-2"] {
        log.commitment(
            DHSC,
            id,
            "A promise",
            "A promise served twice",
            "2026-01-05",
            "2099-01-01",
            &["safety"],
        )
        .unwrap();
    }
    let action = log.action(DHSC, &["c-1", "c-2"], None).unwrap();
    let retraction = log.retract(DHSC, &action).unwrap();
    let size_retracted = log.flush().unwrap().size;
    let cancel = log.retract(DHSC, &retraction).unwrap();
    let size = log.flush().unwrap().size;

    let whole = Projections::open(dir.path().join("whole")).unwrap();
    assert_eq!(whole.catch_up(&store).unwrap(), size);
    let one_by_one = Projections::open(dir.path().join("one-by-one")).unwrap();
    assert_eq!(one_by_one.catch_up_to(&store, size, 1).unwrap(), size);
    assert_same(&one_by_one.dump().unwrap(), &whole.dump().unwrap());

    let retracted_by = |point: &ResolvedAsOf, id: &str| -> Vec<(String, Option<String>)> {
        whole
            .history(id, point)
            .unwrap()
            .unwrap()
            .events
            .into_iter()
            .map(|event| (event.event_id, event.retracted_by.map(|by| by.event_id)))
            .collect()
    };
    let before_cancel = whole.resolve(AsOf::size(size_retracted), today()).unwrap();
    let latest = whole.resolve(AsOf::LATEST, today()).unwrap();
    for id in ["c-1", "c-2"] {
        let history = retracted_by(&before_cancel, id);
        assert_eq!(
            history.len(),
            3,
            "{id}: made, action, retraction: {history:?}"
        );
        assert_eq!(
            history[1],
            (action.clone(), Some(retraction.clone())),
            "{id}"
        );
        let history = retracted_by(&latest, id);
        assert_eq!(
            history.len(),
            4,
            "{id}: and the cancelling retraction: {history:?}"
        );
        assert_eq!(history[1], (action.clone(), None), "{id}: counts again");
        assert_eq!(
            history[2],
            (retraction.clone(), Some(cancel.clone())),
            "{id}"
        );
        let card = whole.commitment(id, &latest).unwrap().unwrap();
        assert_eq!(
            card.status,
            Status::InProgress,
            "{id}: the action counts again"
        );
    }
}

/// One projection following the log in small batches, with no restart in between, so that
/// every batch after the first reads commitments back from what the earlier ones cached,
/// writes exactly what a rebuild in one batch writes.
#[test]
fn following_in_small_batches_without_a_restart_writes_the_same_bytes() {
    let world = world();
    let reference = world.projections.dump().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let projections = Projections::open(dir.path()).unwrap();
    for batch in [1, 2, 3, 7] {
        projections.clear().unwrap();
        assert_eq!(
            projections
                .catch_up_to(&world.store, world.scenario.size, batch)
                .unwrap(),
            world.scenario.size
        );
        assert_same(&projections.dump().unwrap(), &reference);
    }
}

/// Catch-ups count their writes by kind of key: each fact once whatever the batches, a record
/// once per batch that touched it, `applied` once per batch.
#[test]
fn writes_are_counted_by_kind_each_fact_once_and_each_record_once_a_batch() {
    let world = world();
    let in_one_batch = world.projections.engine_writes_by_kind();
    let facts = world
        .projections
        .dump()
        .unwrap()
        .iter()
        .filter(|(key, _)| key.first() == Some(&b'f'))
        .count() as u64;
    assert_eq!(in_one_batch["fact"], facts);
    assert_eq!(in_one_batch["meta"], 1, "one batch");
    assert_eq!(
        in_one_batch.values().sum::<u64>(),
        world.projections.engine_writes()
    );
    assert!(!in_one_batch.contains_key("unknown"), "{in_one_batch:?}");

    let dir = tempfile::tempdir().unwrap();
    let projections = Projections::open(dir.path()).unwrap();
    projections
        .catch_up_to(&world.store, world.scenario.size, 1)
        .unwrap();
    let entry_by_entry = projections.engine_writes_by_kind();
    assert_eq!(entry_by_entry["fact"], facts);
    assert_eq!(entry_by_entry["meta"], world.scenario.size);
    assert!(
        entry_by_entry["record"] > in_one_batch["record"],
        "{entry_by_entry:?} against {in_one_batch:?}"
    );
    // Per entry, most first, the same counts.
    let per_entry = projections.engine_writes_per_entry_by_kind(world.scenario.size);
    assert_eq!(per_entry.len(), entry_by_entry.len());
    assert!(
        per_entry.windows(2).all(|pair| pair[0].1 >= pair[1].1),
        "{per_entry:?}"
    );
    let meta = per_entry.iter().find(|(kind, _)| *kind == "meta").unwrap();
    assert_eq!(meta.1, 1.0, "one `applied` write an entry");
    let facts_per_entry = per_entry.iter().find(|(kind, _)| *kind == "fact").unwrap();
    assert_eq!(facts_per_entry.1, facts as f64 / world.scenario.size as f64);
}

#[test]
fn report_facts_gather_the_scope_within_the_size_and_stop_at_the_limit() {
    use covenant_query::report::{ReportActor, ReportError, ReportRequest, ReportScope};
    let world = world();
    let size = world.store.head().size;
    let request = |scope: ReportScope, size: u64| ReportRequest {
        scope,
        year: 2026,
        size,
        period_end: today(),
    };
    let dcms = ReportScope::Actor {
        actor: ReportActor {
            id: DCMS.into(),
            name: String::new(),
            kind: String::new(),
        },
    };
    let facts = world
        .projections
        .report_facts(&request(dcms.clone(), size), usize::MAX)
        .unwrap();
    assert!(!facts.is_empty());
    let total: usize = facts.values().map(Vec::len).sum();
    assert!(
        world
            .projections
            .report_facts(&request(dcms.clone(), size), total)
            .is_ok()
    );
    assert!(matches!(
        world.projections.report_facts(&request(dcms.clone(), size), total - 1),
        Err(QueryError::Report(ReportError::TooManyEvents { limit })) if limit == total - 1
    ));
    // Nothing at or beyond the size counts.
    let half = size / 2;
    let early = world
        .projections
        .report_facts(&request(dcms.clone(), half), usize::MAX)
        .unwrap();
    assert!(early.values().flatten().all(|fact| fact.seq < half));
    assert!(early.values().map(Vec::len).sum::<usize>() < total);
    // All of government holds every body's commitments.
    let all = world
        .projections
        .report_facts(&request(ReportScope::Government, size), usize::MAX)
        .unwrap();
    assert!(facts.keys().all(|id| all.contains_key(id)));
    assert!(all.len() > facts.len());
    // Beyond what is projected is refused.
    assert!(matches!(
        world
            .projections
            .report_facts(&request(dcms, size + 1), usize::MAX),
        Err(QueryError::AsOfBeyondLog { .. })
    ));
}

/// The engine reopened every few entries while a catch-up works through the log (as every
/// 65,536 in service, so that a restart reads back only the tail): the bytes are those of a
/// rebuild, queries answered throughout, and the count of refreshes follows the interval.
#[test]
fn reopening_the_engine_while_following_changes_nothing_readers_see() {
    let world = world();
    let reference = world.projections.dump().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let projections = Projections::open(dir.path()).unwrap();
    projections.refreshes().set_every(5);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut answered = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let point = projections.resolve(AsOf::LATEST, today()).unwrap();
                projections.overall_scorecard(&point, 5).unwrap();
                answered += 1;
            }
            answered
        });
        // A batch of 2 per call, as the follower applies one batch per call.
        let mut applied = 0;
        while applied < world.scenario.size {
            applied = projections
                .catch_up_to(&world.store, applied + 2, 2)
                .unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0, "queries were answered");
    });
    // Batches of 2 against an interval of 5: a refresh every 6 entries while at least 5 are
    // left to apply.
    assert_eq!(
        projections.refreshes().count(),
        (world.scenario.size - 5) / 6
    );
    let longest = projections.refreshes().longest_cost();
    assert!(
        longest.engine_open > std::time::Duration::ZERO && longest.engine_open < longest.held,
        "sled's open is timed, inside the hold: {longest:?}"
    );
    assert!(projections.longest_gate_hold() >= longest.held);
    // Every batch and every reopening counts in the total, so it is more than the longest one.
    assert!(projections.total_gate_hold() > projections.longest_gate_hold());
    assert_same(&projections.dump().unwrap(), &reference);
    drop(projections);
    let reopened = Projections::open(dir.path()).unwrap();
    assert_eq!(reopened.applied(), world.scenario.size);
    assert_same(&reopened.dump().unwrap(), &reference);
}

/// A replica following the log live (each catch-up a few entries behind) never reopens its
/// engine, since a refresh holds every query out for as long as it takes.
#[test]
fn following_live_never_refreshes() {
    let world = world();
    let dir = tempfile::tempdir().unwrap();
    let projections = Projections::open(dir.path()).unwrap();
    projections.refreshes().set_every(5);
    // A store that grows a few entries at a time, as a live log does.
    let live = tempfile::tempdir().unwrap();
    let store = SledStore::create_or_open(live.path()).unwrap();
    let mut writer = LogWriter::for_replay(&store).unwrap();
    let entries = world.store.entries(0, world.scenario.size).unwrap();
    for (seq, bytes) in entries.iter().enumerate() {
        let entry = covenant_core::entry::Entry::decode(bytes).unwrap();
        writer
            .replay(covenant_core::entry::envelope_of(bytes), entry.stored_at_ns)
            .unwrap();
        if seq % 4 == 3 || seq + 1 == entries.len() {
            writer.flush().unwrap();
            projections.catch_up(&store).unwrap();
        }
    }
    assert_eq!(projections.applied(), world.scenario.size);
    assert_eq!(projections.refreshes().count(), 0);
    assert_same(
        &projections.dump().unwrap(),
        &world.projections.dump().unwrap(),
    );
}

/// The search index lists each commitment once under each word any of its versions used,
/// however the batches fall: an amendment in a later batch adds only its new words.
#[test]
fn search_lists_each_commitment_once_per_word_across_batches_and_amendments() {
    use covenant_core::proto::{AmendedField, AmendmentClass};
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create_or_open(dir.path().join("log")).unwrap();
    let mut log = LogWriter::genesis(&store, scenario::START_NS).unwrap();
    log.register(DHSC, "Health", ActorKind::Department).unwrap();
    let ids = ["c-1", "c-2", "c-3", "c-4", "c-5"];
    for id in ids {
        log.commitment(
            DHSC,
            id,
            "Build homes",
            "Build new homes near stations",
            "2026-01-05",
            "2099-01-01",
            &["housing"],
        )
        .unwrap();
    }
    log.amend(
        DHSC,
        "c-2",
        AmendmentClass::Clarification,
        &[(AmendedField::Text, "Build affordable homes near stations")],
    )
    .unwrap();
    let size = log.flush().unwrap().size;

    let whole = Projections::open(dir.path().join("whole")).unwrap();
    assert_eq!(whole.catch_up(&store).unwrap(), size);
    let one_by_one = Projections::open(dir.path().join("one-by-one")).unwrap();
    assert_eq!(one_by_one.catch_up_to(&store, size, 1).unwrap(), size);
    // The dump fails on a commitment listed twice under a word, and compares the counts.
    let dump = one_by_one.dump().unwrap();
    assert_same(&dump, &whole.dump().unwrap());
    let listed = |word: &str, id: &str| [b"w", word.as_bytes(), b"\0\0", id.as_bytes()].concat();
    let keys: Vec<&Vec<u8>> = dump.iter().map(|(key, _)| key).collect();
    assert!(keys.contains(&&listed("affordable", "c-2")));
    assert!(!keys.contains(&&listed("affordable", "c-1")));

    let point = one_by_one.resolve(AsOf::LATEST, today()).unwrap();
    let search = |q: &str, cursor: Option<&str>, limit| {
        let filter = CommitmentFilter {
            words: covenant_query::words(q),
            ..Default::default()
        };
        let page = one_by_one
            .commitments(&point, &filter, cursor, limit)
            .unwrap();
        let found: Vec<String> = page.items.into_iter().map(|item| item.id).collect();
        (found, page.next_cursor)
    };
    assert_eq!(search("affordable", None, 10).0, ["c-2"]);
    assert_eq!(
        search("affordable new", None, 10).0,
        ["c-2"],
        "old words stay"
    );
    let mut seen = vec![];
    let mut cursor = None;
    loop {
        let (found, next) = search("homes stations", cursor.as_deref(), 2);
        assert!(found.len() <= 2);
        seen.extend(found);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen, ids,
        "every commitment once, in id order, page by page"
    );
}

/// Per quarter, commitments made and delivered, counted from every commitment listed: what the
/// over-time chart drew before the aggregates kept it.
fn quarters_listed(items: &[covenant_query::view::CommitmentSummary]) -> BTreeMap<i32, (i64, i64)> {
    let mut quarters: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    for item in items {
        quarters
            .entry(covenant_query::quarter_index(date(&item.made_on)))
            .or_default()
            .0 += 1;
        if item.status == Status::Delivered {
            let on = date(
                item.outcome_on
                    .as_deref()
                    .expect("a delivered one has an outcome"),
            );
            quarters
                .entry(covenant_query::quarter_index(on))
                .or_default()
                .1 += 1;
        }
    }
    quarters
}

#[test]
fn scorecards_count_made_and_delivered_per_quarter_as_listing_every_commitment_does() {
    let world = world();
    let point = world.latest();
    let projections = &world.projections;
    let listed = |filter: CommitmentFilter| {
        projections
            .commitments(&point, &filter, None, 10_000)
            .unwrap()
            .items
    };
    let charted = |scorecard: covenant_query::view::Scorecard| -> BTreeMap<i32, (i64, i64)> {
        let quarters: Vec<i32> = scorecard.over_time.iter().map(|q| q.quarter).collect();
        assert!(
            quarters.windows(2).all(|w| w[0] < w[1]),
            "oldest first, once each"
        );
        scorecard
            .over_time
            .iter()
            .map(|q| (q.quarter, (q.made, q.delivered)))
            .collect()
    };
    let everyone = listed(CommitmentFilter::default());
    let expected = quarters_listed(&everyone);
    assert!(
        expected.len() >= 2 && expected.values().any(|(_, delivered)| *delivered > 0),
        "the scenario spans quarters and delivers: {expected:?}"
    );
    assert_eq!(
        charted(projections.overall_scorecard(&point, 10).unwrap()),
        expected
    );
    for theme in ["community", "safety", "dignity", "opportunity", "equity"] {
        let filter = CommitmentFilter {
            theme: Some(theme.to_owned()),
            ..CommitmentFilter::default()
        };
        let scorecard = projections
            .theme_scorecard(theme, &point, 10)
            .unwrap()
            .unwrap();
        assert_eq!(
            charted(scorecard),
            quarters_listed(&listed(filter)),
            "{theme}"
        );
    }
    for actor in [DCMS, DCMS2, DHSC, MP] {
        let filter = CommitmentFilter {
            actor: Some(actor.to_owned()),
            ..CommitmentFilter::default()
        };
        let owned: Vec<_> = listed(filter)
            .into_iter()
            .filter(|item| item.owner == actor)
            .collect();
        let scorecard = projections
            .actor_scorecard(actor, &point, 10)
            .unwrap()
            .unwrap();
        assert_eq!(charted(scorecard), quarters_listed(&owned), "{actor}");
    }
}

#[test]
fn the_latest_outcomes_come_latest_first_from_every_commitment_an_outcome_decides() {
    let world = world();
    let point = world.latest();
    let projections = &world.projections;
    let mut decided: Vec<(String, String)> = projections
        .commitments(&point, &CommitmentFilter::default(), None, 10_000)
        .unwrap()
        .items
        .into_iter()
        .filter_map(|item| Some((item.outcome_on?, item.id)))
        .collect();
    decided.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let dates: std::collections::BTreeSet<&String> = decided.iter().map(|(on, _)| on).collect();
    assert!(dates.len() >= 2, "outcomes on different days: {decided:?}");
    let latest = |point: &ResolvedAsOf, limit| -> Vec<(String, String)> {
        projections
            .overview(point, limit)
            .unwrap()
            .latest_outcomes
            .into_iter()
            .map(|item| (item.outcome_on.expect("decided by an outcome"), item.id))
            .collect()
    };
    assert_eq!(latest(&point, 10_000), decided);
    assert_eq!(latest(&point, 2), decided[..2]);
    assert_eq!(
        latest(&point.without_fast_path(), 10_000),
        decided,
        "folding every commitment finds what the outcome index holds"
    );
    // Before the latest outcome day, the fold lists only the outcomes reported by then.
    let last_day = date(&decided[0].0);
    let before = projections
        .resolve(
            AsOf::date(Date::from_unix_ms(
                i64::from(last_day.days() - 1) * 86_400_000,
            )),
            today(),
        )
        .unwrap();
    let earlier: Vec<(String, String)> = decided
        .iter()
        .filter(|(on, _)| date(on) < last_day)
        .cloned()
        .collect();
    assert!(!earlier.is_empty() && earlier.len() < decided.len());
    assert_eq!(latest(&before, 10_000), earlier);
}

#[test]
fn moved_goalposts_list_the_most_recently_moved_first_with_the_day_they_moved() {
    let world = world();
    // Two more deadlines put later, on two later days: three moved, each on its own day.
    let mut log = LogWriter::resume(&world.store).unwrap();
    let later = |log: &mut LogWriter, actor: &str, id: &str| {
        log.advance_days(3);
        log.amend(
            actor,
            id,
            covenant_core::proto::AmendmentClass::Revision,
            &[(covenant_core::proto::AmendedField::DueBy, "2030-12-31")],
        )
        .unwrap();
    };
    later(&mut log, DHSC, "dhsc-nurses");
    later(&mut log, DCMS2, "dcms-arts");
    log.flush().unwrap();
    world.projections.catch_up(&world.store).unwrap();
    let point = world.latest();
    let scorecard = world.projections.overall_scorecard(&point, 100).unwrap();
    let moved = &scorecard.goalposts_moved.items;
    assert_eq!(moved.len() as i64, scorecard.goalposts_moved.total);
    let ids: Vec<&str> = moved.iter().map(|item| item.id.as_str()).collect();
    assert_eq!(ids, ["dcms-arts", "dhsc-nurses", "dcms-sport"]);
    let folded = world
        .projections
        .overall_scorecard(&point.without_fast_path(), 100)
        .unwrap();
    assert_eq!(
        folded.goalposts_moved, scorecard.goalposts_moved,
        "folding agrees"
    );
    let days: Vec<&str> = moved
        .iter()
        .map(|item| item.moved_on.as_deref().expect("a moved one has a day"))
        .collect();
    assert!(
        moved
            .windows(2)
            .all(|w| (&w[1].moved_on, &w[0].id) <= (&w[0].moved_on, &w[1].id)),
        "latest first, then by id: {days:?}"
    );
    for item in moved {
        let history = world
            .projections
            .history(&item.id, &point)
            .unwrap()
            .unwrap();
        let amended_on: Vec<String> = history
            .events
            .iter()
            .filter(|event| {
                event.kind == covenant_core::proto::EventKind::CommitmentAmended
                    && event.retracted_by.is_none()
            })
            .map(|event| event.happened_on.clone())
            .collect();
        assert!(
            amended_on.contains(item.moved_on.as_ref().unwrap()),
            "{}: moved on the day of one of its amendments, {amended_on:?}",
            item.id
        );
    }
}

#[test]
fn summaries_of_named_commitments_come_in_the_order_asked_leaving_out_unknown_ones() {
    let world = world();
    let point = world.latest();
    let ids = ["dhsc-nurses", "no-such-commitment", "dcms-sport"];
    let summaries = world.projections.commitment_summaries(ids, &point).unwrap();
    let found: Vec<&str> = summaries.iter().map(|item| item.id.as_str()).collect();
    assert_eq!(found, ["dhsc-nurses", "dcms-sport"]);
    let listed = world
        .projections
        .commitments(&point, &CommitmentFilter::default(), None, 100)
        .unwrap()
        .items;
    for summary in &summaries {
        assert!(
            listed.contains(summary),
            "{} as a list shows it",
            summary.id
        );
    }
}

#[test]
fn a_history_gives_each_event_its_own_details() {
    use covenant_core::proto::{self, event_body::Kind};
    use covenant_query::view::{EventDetail, HistoryEvent};
    let world = world();
    let link = |url: &str| proto::Link {
        title: "source".into(),
        url: url.into(),
        ..proto::Link::default()
    };
    let mut log = LogWriter::resume(&world.store).unwrap();
    log.advance_days(2);
    log.emit(
        DHSC,
        Kind::ActionRecorded(proto::ActionRecorded {
            action_id: "nurses-drive".into(),
            commitment_ids: vec!["dhsc-nurses".into()],
            r#type: proto::ActionType::Consultation as i32,
            taken_on: log.today().to_string(),
            description: "a recruitment drive".into(),
            evidence: vec![link("https://example.org/drive")],
            ..proto::ActionRecorded::default()
        }),
    )
    .unwrap();
    let outcome = log
        .emit(
            DHSC,
            Kind::OutcomeReported(proto::OutcomeReported {
                commitment_id: "dhsc-nurses".into(),
                verdict: Verdict::PartlyDelivered as i32,
                reported_on: log.today().to_string(),
                summary: "4,200 recruited".into(),
                indicator_actual: Some(4_200.0),
                actual_period: "2026".into(),
                lessons: "start earlier".into(),
                evidence: vec![link("https://example.org/count")],
                ..proto::OutcomeReported::default()
            }),
        )
        .unwrap();
    log.emit(
        WATCHDOG,
        Kind::AssessmentPublished(proto::AssessmentPublished {
            commitment_id: "dhsc-nurses".into(),
            outcome_event_id: outcome.clone(),
            stance: proto::Stance::Disputes as i32,
            summary: "fewer than claimed".into(),
            evidence: vec![link("https://example.org/check")],
            assessed_verdict: Verdict::NotDelivered as i32,
        }),
    )
    .unwrap();
    // An MP's pledge adopted by a department, and the department renamed, each with a note.
    log.commitment(
        MP,
        "mp4514-library",
        "Keep the library",
        "Keep the valley library open",
        "2026-05-01",
        "2027-05-01",
        &["community"],
    )
    .unwrap();
    let adopted_on = log.today().to_string();
    log.emit(
        DHSC,
        Kind::CommitmentAdopted(proto::CommitmentAdopted {
            commitment_id: "mp4514-library".into(),
            adopted_on: adopted_on.clone(),
            note: "taken on in the spending review".into(),
        }),
    )
    .unwrap();
    log.register(
        "GB-GOV-DHSC3",
        "Department of Health",
        proto::ActorKind::Department,
    )
    .unwrap();
    log.registry(Kind::ActorSucceeded(proto::ActorSucceeded {
        predecessor_id: DHSC.into(),
        successor_id: "GB-GOV-DHSC3".into(),
        kind: proto::SuccessionKind::Renamed as i32,
        effective_on: log.today().to_string(),
        note: "renamed by the machinery of government".into(),
        ..proto::ActorSucceeded::default()
    }))
    .unwrap();
    log.flush().unwrap();
    world.projections.catch_up(&world.store).unwrap();
    let point = world.latest();
    let history = |id: &str| {
        world
            .projections
            .history(id, &point)
            .unwrap()
            .unwrap()
            .events
    };
    let detail = |events: &[HistoryEvent], kind: proto::EventKind| -> EventDetail {
        events
            .iter()
            .rev()
            .find(|event| event.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?}"))
            .detail
            .clone()
    };
    let urls = |detail: &EventDetail| -> Vec<String> {
        detail
            .evidence
            .iter()
            .map(|link| link.url.clone())
            .collect()
    };

    let nurses = history("dhsc-nurses");
    let made = detail(&nurses, proto::EventKind::CommitmentMade);
    assert_eq!(made.title.as_deref(), Some("Recruit nurses"));
    assert_eq!(made.text.as_deref(), Some("Recruit 5,000 more nurses"));
    assert_eq!(made.made_on.as_deref(), Some("2026-01-05"));
    assert_eq!(made.due_by.as_deref(), Some("2026-12-31"));
    let action = detail(&nurses, proto::EventKind::ActionRecorded);
    assert_eq!(action.action_id.as_deref(), Some("nurses-drive"));
    assert_eq!(action.action_type, Some(proto::ActionType::Consultation));
    assert_eq!(action.taken_on, Some(log.today().to_string()));
    assert_eq!(action.description.as_deref(), Some("a recruitment drive"));
    assert_eq!(action.commitment_ids, ["dhsc-nurses"]);
    assert_eq!(urls(&action), ["https://example.org/drive"]);
    let reported = detail(&nurses, proto::EventKind::OutcomeReported);
    assert_eq!(reported.verdict, Some(Verdict::PartlyDelivered));
    assert_eq!(reported.reported_on, Some(log.today().to_string()));
    assert_eq!(reported.summary.as_deref(), Some("4,200 recruited"));
    assert_eq!(reported.lessons.as_deref(), Some("start earlier"));
    assert_eq!(reported.indicator_actual, Some(4_200.0));
    assert_eq!(reported.actual_period.as_deref(), Some("2026"));
    assert_eq!(urls(&reported), ["https://example.org/count"]);
    let assessed = detail(&nurses, proto::EventKind::AssessmentPublished);
    assert_eq!(assessed.outcome_event_id.as_deref(), Some(outcome.as_str()));
    assert_eq!(assessed.verdict, Some(Verdict::NotDelivered));
    assert_eq!(assessed.stance, Some(proto::Stance::Disputes));
    assert_eq!(assessed.summary.as_deref(), Some("fewer than claimed"));
    assert_eq!(urls(&assessed), ["https://example.org/check"]);
    let retraction = detail(&nurses, proto::EventKind::Retraction);
    assert_eq!(retraction.reason.as_deref(), Some("published in error"));
    assert!(retraction.retracts.is_some());

    let sport = history("dcms-sport");
    let money = detail(&sport, proto::EventKind::ActionRecorded)
        .money
        .unwrap();
    assert_eq!(
        (money.amount_minor, money.share_minor),
        (1_000_000, 1_000_000)
    );
    let amended = detail(&sport, proto::EventKind::CommitmentAmended);
    assert_eq!(amended.class, Some(proto::AmendmentClass::Revision));
    assert_eq!(amended.rationale.as_deref(), Some("circumstances changed"));
    assert_eq!(amended.changes.len(), 2);
    let succeeded = detail(&sport, proto::EventKind::ActorSucceeded);
    assert_eq!(succeeded.predecessor.as_deref(), Some(DCMS));
    assert_eq!(succeeded.successor.as_deref(), Some(DCMS2));
    assert_eq!(succeeded.effective_on.as_deref(), Some("2026-05-01"));
    // The department's open commitments pass to its new name: the adopted pledge is one.
    let library = history("mp4514-library");
    let adoption = detail(&library, proto::EventKind::CommitmentAdopted);
    assert_eq!(adoption.effective_on, Some(adopted_on));
    assert_eq!(
        adoption.reason.as_deref(),
        Some("taken on in the spending review")
    );
    let renamed = detail(&library, proto::EventKind::ActorSucceeded);
    assert_eq!(
        renamed.reason.as_deref(),
        Some("renamed by the machinery of government")
    );
    assert_eq!(
        succeeded.reason, None,
        "a succession without a note has none"
    );
    let withdrawn = detail(
        &history("dcms-museums"),
        proto::EventKind::CommitmentWithdrawn,
    );
    assert_eq!(withdrawn.reason.as_deref(), Some("no longer a priority"));
}

#[test]
fn the_latest_disputes_come_latest_first_and_move_with_each_dispute() {
    let world = world();
    let latest_disputed = |world: &World| -> Vec<String> {
        let point = world.latest();
        let listed: Vec<String> = world
            .projections
            .commitments(
                &point,
                &CommitmentFilter {
                    flag: Some(Flag::Disputed),
                    ..CommitmentFilter::default()
                },
                None,
                100,
            )
            .unwrap()
            .items
            .into_iter()
            .map(|item| item.id)
            .collect();
        let disputed = |point: &ResolvedAsOf| -> Vec<String> {
            let overview = world.projections.overview(point, 100).unwrap();
            overview
                .latest_disputed
                .into_iter()
                .map(|item| item.id)
                .collect()
        };
        let latest = disputed(&point);
        let mut sorted = latest.clone();
        sorted.sort();
        assert_eq!(sorted, listed, "the index holds every disputed one");
        assert_eq!(
            disputed(&point.without_fast_path()),
            latest,
            "folding every commitment finds what the dispute index holds"
        );
        latest
    };
    assert_eq!(latest_disputed(&world), ["dcms-libraries"]);
    let waiting_outcome = world
        .projections
        .history("dhsc-waiting", &world.latest())
        .unwrap()
        .unwrap()
        .events
        .into_iter()
        .find(|event| event.kind == covenant_core::proto::EventKind::OutcomeReported)
        .expect("an outcome")
        .event_id;
    let mut log = LogWriter::resume(&world.store).unwrap();
    log.advance_days(3);
    let size_before = log.next_seq();
    log.assess(
        WATCHDOG,
        "dhsc-waiting",
        &waiting_outcome,
        covenant_core::proto::Stance::Disputes,
    )
    .unwrap();
    log.flush().unwrap();
    world.projections.catch_up(&world.store).unwrap();
    assert_eq!(
        latest_disputed(&world),
        ["dhsc-waiting", "dcms-libraries"],
        "the newer dispute first"
    );
    let before = world
        .projections
        .resolve(AsOf::size(size_before), today())
        .unwrap();
    let overview = world.projections.overview(&before, 100).unwrap();
    let ids: Vec<&str> = overview
        .latest_disputed
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["dcms-libraries"],
        "as of the log before the second dispute"
    );
}
