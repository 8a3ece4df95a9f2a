//! Real commitments against a real SledStore: two time axes (a backfilled history), shared
//! delivery, named indicators, goalposts derived from what changed, adoption, assessments.

use covenant_core::event::Date;
use covenant_core::proto::{self, ActorKind, event_body::Kind};
use covenant_query::{AsOf, CommitmentFilter, Projections, Recorded, Status};
use covenant_store::{LogReader, SledStore};
use covenant_testkit::log::LogWriter;

const CABINET: &str = "GB-GOV-CO";
const MHCLG: &str = "GB-GOV-MHCLG";
const DFE: &str = "GB-GOV-DFE";
const PARTY: &str = "party:labour";
const WATCHDOG: &str = "GB-CHC-1000001";

/// 2026-11-02T00:00:00Z: the log is loaded in November 2026.
const LOADED_NS: u64 = 1_793_577_600_000_000_000;

fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

fn today() -> Date {
    date("2026-11-30")
}

struct Log {
    _dir: tempfile::TempDir,
    store: SledStore,
    projections: Projections,
}

impl Log {
    fn write(events: impl FnOnce(&mut LogWriter)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::create_or_open(dir.path().join("log")).unwrap();
        {
            let mut log = LogWriter::genesis(&store, LOADED_NS).unwrap();
            for (actor, kind) in [
                (CABINET, ActorKind::Department),
                (MHCLG, ActorKind::Department),
                (DFE, ActorKind::Department),
                (PARTY, ActorKind::Party),
                (WATCHDOG, ActorKind::Watchdog),
            ] {
                log.register(actor, actor, kind).unwrap();
            }
            events(&mut log);
            log.flush().unwrap();
        }
        let projections = Projections::open(dir.path().join("query")).unwrap();
        projections.catch_up(&store).unwrap();
        Self {
            _dir: dir,
            store,
            projections,
        }
    }

    fn point(&self, as_of: AsOf) -> covenant_query::ResolvedAsOf {
        self.projections.resolve(as_of, today()).unwrap()
    }

    /// The commitment at the latest point (it must exist).
    fn latest(&self, id: &str) -> covenant_query::view::CommitmentDetail {
        self.projections
            .commitment(id, &self.point(AsOf::LATEST))
            .unwrap()
            .unwrap_or_else(|| panic!("no commitment {id}"))
    }

    fn status(&self, id: &str, as_of: AsOf) -> Option<Status> {
        let point = self.point(as_of);
        self.projections
            .commitment(id, &point)
            .unwrap()
            .map(|detail| detail.status)
    }
}

fn homes(made_on: &str, due_by: &str) -> Kind {
    Kind::CommitmentMade(proto::CommitmentMade {
        commitment_id: "homes".into(),
        title: "1.5 million homes".into(),
        text: "Build 1.5 million safe and decent homes in England".into(),
        made_on: made_on.into(),
        due_by: due_by.into(),
        delivery_partners: vec![MHCLG.into(), DFE.into()],
        indicators: vec![
            proto::Indicator {
                indicator_id: "homes".into(),
                measure: "net additional dwellings".into(),
                unit: "homes".into(),
                comparator: proto::Comparator::AtLeast as i32,
                target_value: Some(1_500_000.0),
                higher_is_better: true,
                ..Default::default()
            },
            proto::Indicator {
                indicator_id: "decisions".into(),
                measure: "planning decisions on infrastructure".into(),
                unit: "decisions".into(),
                comparator: proto::Comparator::AtLeast as i32,
                target_value: Some(150.0),
                baseline_value: Some(0.0),
                higher_is_better: true,
                ..Default::default()
            },
        ],
        ..Default::default()
    })
}

fn outcome(verdict: proto::Verdict, homes: f64, decisions: f64) -> Kind {
    let measured = |id: &str, value: f64| proto::Measurement {
        indicator_id: id.into(),
        value,
        measured_on: "2026-03-31".into(),
        period: "2025-26".into(),
    };
    Kind::OutcomeReported(proto::OutcomeReported {
        commitment_id: "homes".into(),
        verdict: verdict as i32,
        reported_on: "2026-04-30".into(),
        summary: "progress report".into(),
        measurements: vec![measured("homes", homes), measured("decisions", decisions)],
        ..Default::default()
    })
}

#[test]
fn a_backfilled_history_reads_correctly_on_both_axes() {
    let log = Log::write(|log| {
        // Loaded in November 2026; made in July 2024.
        log.emit(CABINET, homes("2024-07-17", "2029-07-01"))
            .unwrap();
    });
    let made_size = log.store_size();
    // The world on 4 December 2024, according to everything recorded now: the promise stands.
    assert_eq!(
        log.status("homes", AsOf::date(date("2024-12-04"))),
        Some(Status::NotStarted)
    );
    // Before it was made it does not exist, although the log holds it.
    assert_eq!(log.status("homes", AsOf::date(date("2024-07-16"))), None);
    // As recorded on 4 December 2024 the log held nothing about it.
    assert_eq!(
        log.status("homes", AsOf::recorded_on(date("2024-12-04"))),
        None
    );
    // Both axes at once: the world on 4 Dec 2024 as recorded by the log's whole prefix.
    let both = AsOf {
        world: Some(date("2024-12-04")),
        recorded: Recorded::Size(made_size),
    };
    assert_eq!(log.status("homes", both), Some(Status::NotStarted));
    let point = log.point(both);
    assert_eq!(point.info().world.as_deref(), Some("2024-12-04"));
    let before_it = AsOf {
        world: Some(date("2024-12-04")),
        recorded: Recorded::Size(made_size - 1),
    };
    assert_eq!(log.status("homes", before_it), None);
    // The history says when it happened and that it was recorded long after.
    let detail = log.latest("homes");
    assert!(detail.backfilled);
    assert_eq!(detail.recorded_on, "2026-11-02");
    assert_eq!(detail.history[0].happened_on, "2024-07-17");
    assert!(detail.history[0].backfilled);
    // Scorecards and lists answer on the happened axis too.
    let scorecard = log
        .projections
        .actor_scorecard(CABINET, &log.point(AsOf::date(date("2024-12-04"))), 10)
        .unwrap()
        .unwrap();
    assert_eq!(scorecard.commitments, 1);
}

impl Log {
    fn store_size(&self) -> u64 {
        self.store.head().size
    }
}

#[test]
fn events_count_from_the_day_they_happened() {
    let log = Log::write(|log| {
        log.emit(CABINET, homes("2024-07-17", "2029-07-01"))
            .unwrap();
        log.emit(
            CABINET,
            outcome(proto::Verdict::Delivered, 2_000_000.0, 200.0),
        )
        .unwrap();
    });
    assert_eq!(
        log.status("homes", AsOf::date(date("2026-04-29"))),
        Some(Status::NotStarted),
        "reported on 2026-04-30"
    );
    assert_eq!(
        log.status("homes", AsOf::date(date("2026-04-30"))),
        Some(Status::Delivered)
    );
    // Overdue is judged on the asked date.
    assert_eq!(
        log.status("homes", AsOf::date(date("2024-12-04"))),
        Some(Status::NotStarted)
    );
}

#[test]
fn delivery_partners_see_it_marked_and_only_the_owner_counts_it() {
    let log = Log::write(|log| {
        log.emit(CABINET, homes("2025-01-10", "2029-07-01"))
            .unwrap();
        log.emit(
            MHCLG,
            Kind::ActionRecorded(proto::ActionRecorded {
                action_id: "planning-reform".into(),
                commitment_ids: vec!["homes".into()],
                r#type: proto::ActionType::Legislation as i32,
                taken_on: "2025-12-01".into(),
                description: "Planning and Infrastructure Act".into(),
                ..Default::default()
            }),
        )
        .unwrap();
    });
    for point in [
        log.point(AsOf::LATEST),
        log.point(AsOf::LATEST).without_fast_path(),
        log.point(AsOf::date(date("2026-01-01"))),
    ] {
        for actor in [CABINET, MHCLG, DFE] {
            let filter = CommitmentFilter {
                actor: Some(actor.into()),
                ..CommitmentFilter::default()
            };
            let page = log
                .projections
                .commitments(&point, &filter, None, 10)
                .unwrap();
            assert_eq!(page.items.len(), 1, "{actor} at {point:?}");
            assert_eq!(page.items[0].owner, CABINET);
            assert_eq!(page.items[0].delivery_partners, vec![MHCLG, DFE]);
            assert_eq!(page.items[0].status, Status::InProgress);
        }
        let owner = log
            .projections
            .actor_scorecard(CABINET, &point, 10)
            .unwrap()
            .unwrap();
        assert_eq!(owner.commitments, 1);
        let partner = log
            .projections
            .actor_scorecard(MHCLG, &point, 10)
            .unwrap()
            .unwrap();
        assert_eq!(
            partner.commitments, 0,
            "a partner's figures do not count it"
        );
    }
}

#[test]
fn named_indicators_decide_the_status_and_the_claim_shows_beside_it() {
    let cases = [
        (2_000_000.0, 200.0, Status::Delivered),
        (1_200_000.0, 200.0, Status::PartlyDelivered),
        (1_200_000.0, 20.0, Status::NotDelivered),
    ];
    for (homes_built, decisions, expected) in cases {
        let log = Log::write(|log| {
            log.emit(CABINET, homes("2025-01-10", "2029-07-01"))
                .unwrap();
            log.emit(
                DFE,
                outcome(proto::Verdict::Delivered, homes_built, decisions),
            )
            .unwrap();
        });
        let detail = log.latest("homes");
        assert_eq!(
            detail.status, expected,
            "{homes_built} homes, {decisions} decisions"
        );
        assert_eq!(detail.claimed_status, Some(Status::Delivered));
        let indicators = &detail.current.indicators;
        assert_eq!(indicators[0].latest_value, Some(homes_built));
        assert_eq!(indicators[0].met, Some(homes_built >= 1_500_000.0));
        assert_eq!(indicators[1].met, Some(decisions >= 150.0));
        assert_eq!(indicators[0].baseline_value, None, "absent, not zero");
        assert_eq!(indicators[1].baseline_value, Some(0.0));
        // The fast path (stored records) and the fold agree.
        let folded = log.projections.commitments(
            &log.point(AsOf::LATEST).without_fast_path(),
            &CommitmentFilter::default(),
            None,
            10,
        );
        let folded = folded.unwrap();
        assert_eq!(folded.items[0].status, expected);
        // A list says what the outcome claimed too, from the stored record as from the fold.
        assert_eq!(folded.items[0].claimed_status, Some(Status::Delivered));
        let listed = log.projections.commitments(
            &log.point(AsOf::LATEST),
            &CommitmentFilter::default(),
            None,
            10,
        );
        assert_eq!(
            listed.unwrap().items[0].claimed_status,
            Some(Status::Delivered)
        );
    }
}

fn amend(changes: &[(proto::AmendedField, &str, &str)], class: proto::AmendmentClass) -> Kind {
    Kind::CommitmentAmended(proto::CommitmentAmended {
        commitment_id: "homes".into(),
        class: class as i32,
        changes: changes
            .iter()
            .map(|(field, value, indicator)| proto::FieldChange {
                field: *field as i32,
                new_value: (*value).into(),
                indicator_id: (*indicator).into(),
            })
            .collect(),
        rationale: "the plan changed".into(),
        ..Default::default()
    })
}

#[test]
fn goalposts_moved_is_what_changed_not_the_label() {
    use proto::{AmendedField as F, AmendmentClass as C};
    let flags = |changes: &[(F, &str, &str)], class: C| {
        let changes = changes.to_vec();
        let log = Log::write(move |log| {
            log.emit(CABINET, homes("2025-01-10", "2029-07-01"))
                .unwrap();
            log.emit(CABINET, amend(&changes, class)).unwrap();
        });
        let detail = log.latest("homes");
        (detail.flags, detail.history)
    };
    let (raised, _) = flags(&[(F::TargetValue, "1600000", "homes")], C::TargetChange);
    assert!(!raised.goalposts_moved, "a stronger target is not a move");
    assert_eq!(raised.amendments, 1);
    let (lowered, history) = flags(
        &[
            (F::TargetValue, "1200000", "homes"),
            (F::Text, "Build 1.2 million homes", ""),
        ],
        C::TargetChange,
    );
    assert!(lowered.goalposts_moved);
    assert_eq!(lowered.target_moves, 1);
    let changes = &history[1].detail.changes;
    assert_eq!(changes[0].field, proto::AmendedField::TargetValue);
    assert_eq!(changes[0].indicator_id.as_deref(), Some("homes"));
    assert_eq!(changes[0].old_value.as_deref(), Some("1500000"));
    assert_eq!(changes[0].new_value, "1200000");
    assert_eq!(changes[1].field, proto::AmendedField::Text);
    assert_eq!(changes[1].indicator_id, None);
    assert_eq!(
        changes[1].old_value.as_deref(),
        Some("Build 1.5 million safe and decent homes in England")
    );
    let (earlier, _) = flags(&[(F::DueBy, "2028-07-01", "")], C::DeadlineChange);
    assert!(
        !earlier.goalposts_moved,
        "an earlier deadline is not a move"
    );
    let (later, _) = flags(&[(F::DueBy, "2030-07-01", "")], C::DeadlineChange);
    assert!(later.goalposts_moved);
    assert_eq!(later.deadline_moves, 1);
    let (comparator, _) = flags(&[(F::Comparator, "at_most", "decisions")], C::TargetChange);
    assert!(comparator.goalposts_moved);
    let (scope, _) = flags(
        &[(F::Scope, "England only, excluding London", "")],
        C::ScopeChange,
    );
    assert!(scope.goalposts_moved);
}

#[test]
fn an_adopted_pledge_is_answered_for_by_the_department() {
    let log = Log::write(|log| {
        log.emit(
            PARTY,
            Kind::CommitmentMade(proto::CommitmentMade {
                commitment_id: "pledge-teachers".into(),
                title: "6,500 new teachers".into(),
                text: "Recruit 6,500 new teachers".into(),
                made_on: "2024-06-13".into(),
                ..Default::default()
            }),
        )
        .unwrap();
        log.emit(
            DFE,
            Kind::CommitmentAdopted(proto::CommitmentAdopted {
                commitment_id: "pledge-teachers".into(),
                adopted_on: "2024-07-20".into(),
                note: "in the King's Speech".into(),
            }),
        )
        .unwrap();
    });
    let latest = log.latest("pledge-teachers");
    assert_eq!(latest.owner, DFE);
    assert_eq!(latest.maker, PARTY);
    let adoption = latest.adoption.unwrap();
    assert_eq!(
        (adoption.adopted_by.as_str(), adoption.adopted_on.as_str()),
        (DFE, "2024-07-20")
    );
    // Before the adoption the party answered for it.
    let before = log
        .projections
        .commitment(
            "pledge-teachers",
            &log.point(AsOf::date(date("2024-07-01"))),
        )
        .unwrap()
        .unwrap();
    assert_eq!(before.owner, PARTY);
    assert!(before.adoption.is_none());
    let dfe = log
        .projections
        .actor_scorecard(DFE, &log.point(AsOf::LATEST), 10)
        .unwrap()
        .unwrap();
    assert_eq!(dfe.commitments, 1);
}

#[test]
fn an_assessment_naming_only_the_commitment_disputes_the_latest_outcome() {
    let log = Log::write(|log| {
        log.emit(CABINET, homes("2025-01-10", "2029-07-01"))
            .unwrap();
        log.emit(
            CABINET,
            outcome(proto::Verdict::Delivered, 2_000_000.0, 200.0),
        )
        .unwrap();
        log.emit(
            WATCHDOG,
            Kind::AssessmentPublished(proto::AssessmentPublished {
                commitment_id: "homes".into(),
                stance: proto::Stance::Disputes as i32,
                summary: "counts conversions as new homes".into(),
                assessed_verdict: proto::Verdict::PartlyDelivered as i32,
                ..Default::default()
            }),
        )
        .unwrap();
    });
    let detail = log.latest("homes");
    assert!(detail.flags.disputed);
    assert_eq!(detail.assessments.len(), 1);
    assert_eq!(
        detail.assessments[0].assessed_verdict,
        Some(covenant_core::proto::Verdict::PartlyDelivered)
    );
    let outcome = detail.outcome.unwrap();
    let assessed = detail.history.last().unwrap();
    assert_eq!(
        assessed.detail.outcome_event_id.as_deref(),
        Some(outcome.event_id.as_str())
    );
}

#[test]
fn absent_numbers_stay_absent() {
    let log = Log::write(|log| {
        log.emit(
            CABINET,
            Kind::CommitmentMade(proto::CommitmentMade {
                commitment_id: "no-baseline".into(),
                title: "Cut waiting lists".into(),
                text: "Cut waiting lists".into(),
                made_on: "2025-01-10".into(),
                indicator: Some(proto::Indicator {
                    measure: "patients seen within 18 weeks".into(),
                    unit: "%".into(),
                    higher_is_better: true,
                    target_value: Some(92.0),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        )
        .unwrap();
    });
    let detail = log.latest("no-baseline");
    assert_eq!(detail.indicator.unwrap().baseline_value, None);
    assert_eq!(detail.current.target_value, Some(92.0));
    assert_eq!(detail.current.target_period, None);
    assert_eq!(detail.current.scope, None);
    assert_eq!(detail.current.due_by, None);
}

#[test]
fn every_optional_number_of_a_named_indicator_is_absent_until_given() {
    let log = Log::write(|log| {
        log.emit(CABINET, homes("2025-01-10", "")).unwrap();
        log.emit(
            CABINET,
            Kind::CommitmentMade(proto::CommitmentMade {
                commitment_id: "bare".into(),
                title: "A legacy indicator with neither baseline nor target".into(),
                text: "Report on it".into(),
                made_on: "2025-01-10".into(),
                indicator: Some(proto::Indicator {
                    measure: "reports".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        )
        .unwrap();
        log.emit(
            CABINET,
            Kind::OutcomeReported(proto::OutcomeReported {
                commitment_id: "bare".into(),
                verdict: proto::Verdict::Delivered as i32,
                reported_on: "2026-01-10".into(),
                ..Default::default()
            }),
        )
        .unwrap();
    });
    let point = log.point(AsOf::LATEST);
    let homes = log
        .projections
        .commitment("homes", &point)
        .unwrap()
        .unwrap();
    let target = &homes.current.indicators[0];
    assert_eq!(target.target_upper, None);
    assert_eq!(target.baseline_value, None);
    assert_eq!(target.baseline_date, None);
    assert_eq!(target.deadline, None);
    assert_eq!(target.latest_value, None);
    assert_eq!(target.latest_measured_on, None);
    assert_eq!(target.target_period, None);
    assert_eq!(target.met, None, "unmeasured: neither met nor not met");
    let bare = log.projections.commitment("bare", &point).unwrap().unwrap();
    assert_eq!(bare.current.target_value, None);
    assert_eq!(bare.indicator.unwrap().baseline_value, None);
    assert_eq!(bare.outcome.unwrap().indicator_actual, None);
    assert_eq!(
        bare.status,
        Status::Delivered,
        "no named indicators: the verdict decides"
    );
    let page = log
        .projections
        .commitments(&point, &CommitmentFilter::default(), None, 10)
        .unwrap();
    assert_eq!(page.items[0].target_value, None);
    assert_eq!(page.items[0].original_target_value, None);
}

/// The annual report on a real milestone: made in 2024 and loaded in 2026 (a backfill), shared
/// with two delivery partners, decided by named indicators.
#[test]
fn the_annual_report_counts_by_when_things_happened_and_only_for_the_owner() {
    use covenant_query::report::{
        CheckpointRef, FigureName, ReportActor, ReportRequest, ReportScope, compute,
    };
    let log = Log::write(|log| {
        log.emit(CABINET, homes("2024-07-17", "2029-07-01"))
            .unwrap();
        // One of two targets met: partly delivered, though the claim says delivered.
        log.emit(
            CABINET,
            outcome(proto::Verdict::Delivered, 2_000_000.0, 100.0),
        )
        .unwrap();
    });
    let size = log.store_size();
    let checkpoint = CheckpointRef {
        origin: "example.org/log".into(),
        size,
        root_hash: String::new(),
        note: String::new(),
    };
    let report = |actor: &str, year: i32| {
        let request = ReportRequest {
            scope: ReportScope::Actor {
                actor: ReportActor {
                    id: actor.into(),
                    name: actor.into(),
                    kind: "department".into(),
                },
            },
            year,
            size,
            period_end: date(&format!("{year}-12-31")).min(today()),
        };
        let facts = log.projections.report_facts(&request, usize::MAX).unwrap();
        compute(&request, checkpoint.clone(), &facts).unwrap()
    };
    let count =
        |year: &covenant_query::report::YearFigures, name| year.figure(name, None).unwrap().value;
    // Everything was recorded in November 2026, yet the promise counts in 2024, when it was made,
    // and the outcome in 2026, when it was reported.
    let owner_2024 = report(CABINET, 2024);
    assert_eq!(count(&owner_2024.current, FigureName::Made), 1);
    let owner_2026 = report(CABINET, 2026);
    assert_eq!(count(&owner_2026.current, FigureName::Made), 0);
    assert_eq!(
        count(&owner_2026.current, FigureName::PartlyDelivered),
        1,
        "the indicators decide, not the claim"
    );
    assert_eq!(count(&owner_2026.current, FigureName::Delivered), 0);
    assert_eq!(
        owner_2026.current.to, "2026-11-30",
        "a year under way ends today"
    );
    // A delivery partner's report does not count the owner's commitment.
    for partner in [MHCLG, DFE] {
        let partner_report = report(partner, 2024);
        assert_eq!(
            count(&partner_report.current, FigureName::Made),
            0,
            "{partner}"
        );
        assert!(partner_report.previous.is_none());
    }
}
