//! The Civil Society Covenant as the culture department (DCMS) and the Cabinet Office might
//! record it: a joint council, cross-sector secondments and a yearly report, followed through
//! two simulated years, with the council itself and a watchdog charity weighing in; and the
//! department's other pledges of 2024 and 2025 (loaded when the log opened, with their own
//! dates), so that its annual report for 2025 has a year before to compare with.

use super::registry::{CABINET_OFFICE, COUNCIL, DCMS, WATCHDOG};
use super::{covenant_source, evidence, pounds};
use crate::script::{Script, at, day};
use covenant_core::proto::{ActionType, AmendmentClass, MoneyStage, SourceKind, Stance, Verdict};
use covenant_emit::build::{
    Action, Amendment, Assessment, Commitment, Indicator, Money, Outcome, Retraction, Withdrawal,
};

pub fn write(script: &mut Script) {
    council(script);
    secondments(script);
    annual_report(script);
    volunteering_strategy(script);
    youth_arts_fund(script);
    covenant_leads(script);
    grants_data(script);
    council_work_plan(script);
    earlier_pledges(script);
    youth_clubs(script);
    civil_society_data(script);
}

fn council(script: &mut Script) {
    let id = "dcms-covenant-council";
    let (source_kind, source_title, source_url) = covenant_source();
    script.say(
        DCMS,
        at("2025-07-17", 10),
        Commitment::new(
            id,
            "Set up a joint council to steer the Covenant",
            "We will establish a Joint Civil Society Covenant Council, bringing senior leaders \
             from civil society together with senior officials from across government, to set \
             the direction of the Covenant and oversee how it is put into practice.",
            day("2025-07-17"),
        )
        .source(source_kind, source_title, source_url)
        .due_by(day("2025-12-31"))
        .themes(["community", "partnership"])
        .partners(["Voluntary Sector Alliance", "Charity Leaders Network"]),
    );
    script.say(
        DCMS,
        at("2025-08-12", 11),
        Action::new(
            "dcms-council-nominations",
            [id],
            ActionType::Consultation,
            day("2025-08-12"),
            "Opened an eight-week call for nominations to the council, asking small and local \
             groups as well as national charities to put people forward.",
        ),
    );
    script.say(
        DCMS,
        at("2025-09-15", 11),
        Action::new(
            "dcms-council-secretariat",
            [id],
            ActionType::Funding,
            day("2025-09-15"),
            "Committed two years of funding for a council secretariat hosted outside the \
             department, so that it answers to the council rather than to ministers.",
        )
        .money(Money::gbp(pounds(450_000), MoneyStage::Committed)),
    );
    // Recorded twice by mistake, then retracted: the log keeps both, views count one.
    let duplicate = script.say(
        DCMS,
        at("2025-09-16", 15),
        Action::new(
            "dcms-council-secretariat-2",
            [id],
            ActionType::Funding,
            day("2025-09-15"),
            "Committed funding for the council secretariat.",
        )
        .money(Money::gbp(pounds(450_000), MoneyStage::Committed)),
    );
    script.say(
        DCMS,
        at("2025-09-18", 10),
        Retraction::new(
            duplicate,
            "Recorded twice in error: this repeats the secretariat funding recorded on 15 \
             September.",
        ),
    );
    script.say(
        DCMS,
        at("2025-10-20", 11),
        Action::new(
            "dcms-council-membership",
            [id],
            ActionType::Publication,
            day("2025-10-20"),
            "Published the council's membership (fourteen members from civil society and eight \
             from government departments) and its terms of reference.",
        )
        .evidence(evidence(
            "Council membership and terms of reference",
            "https://covenant-council.example.org/membership",
        )),
    );
    script.say(
        DCMS,
        at("2025-11-24", 16),
        Action::new(
            "dcms-council-first-meeting",
            [id],
            ActionType::Partnership,
            day("2025-11-24"),
            "The council met for the first time; minutes and a forward plan were published \
             within the week.",
        ),
    );
    script.say(
        DCMS,
        at("2025-12-08", 10),
        Outcome::new(
            id,
            Verdict::Delivered,
            day("2025-12-08"),
            "The council is in place, has met twice and publishes its minutes.",
        )
        .evidence(evidence(
            "Minutes of the first two meetings",
            "https://covenant-council.example.org/minutes",
        ))
        .lessons(
            "Nominations from small charities only picked up after we extended the deadline and \
             cut the form to one page. Next time we start with the short form.",
        ),
    );
}

fn secondments(script: &mut Script) {
    let id = "dcms-covenant-secondments";
    let (source_kind, source_title, source_url) = covenant_source();
    script.say(
        DCMS,
        at("2025-07-17", 11),
        Commitment::new(
            id,
            "Grow secondments between government and civil society",
            "We will build a programme that deepens understanding and skills across the two \
             sectors, with many more secondments of civil servants into civil society \
             organisations and of charity staff into government.",
            day("2025-07-17"),
        )
        .source(source_kind, source_title, source_url)
        .due_by(day("2026-09-30"))
        .themes(["opportunity", "partnership"])
        .indicator(
            Indicator::new("cross-sector secondments started", "secondments", true)
                .baseline(12.0, Some(day("2025-03-31")))
                .target(100.0, "October 2025 to September 2026"),
        ),
    );
    script.say(
        DCMS,
        at("2025-10-06", 11),
        Action::new(
            "dcms-secondment-backfill-fund",
            [id],
            ActionType::Funding,
            day("2025-10-06"),
            "Pledged £1.2 million to pay for cover, so that small charities can release staff \
             for a secondment without leaving a gap in their services.",
        )
        .money(Money::gbp(pounds(1_200_000), MoneyStage::Pledged)),
    );
    script.say(
        DCMS,
        at("2025-11-17", 11),
        Action::new(
            "dcms-secondment-guidance",
            [id],
            ActionType::Publication,
            day("2025-11-17"),
            "Published guidance for departments and charities on arranging secondments of three \
             to twelve months.",
        )
        .evidence(evidence(
            "Cross-sector secondments: guidance",
            "https://www.gov.uk/guidance/cross-sector-secondments",
        )),
    );
    script.say(
        DCMS,
        at("2026-01-19", 11),
        Action::new(
            "dcms-secondment-matching",
            [id],
            ActionType::Partnership,
            day("2026-01-19"),
            "Agreed with the joint council that civil society infrastructure bodies, not the \
             department, will match secondees with hosts.",
        )
        .partners(["Joint Civil Society Covenant Council"]),
    );
    script.say(
        DCMS,
        at("2026-06-30", 11),
        Action::new(
            "dcms-secondment-backfill-paid",
            [id],
            ActionType::Funding,
            day("2026-06-30"),
            "Paid cover grants to 41 charities hosting or releasing secondees.",
        )
        .money(Money::gbp(pounds(815_000), MoneyStage::Spent)),
    );
    let outcome = script.say(
        DCMS,
        at("2026-10-05", 10),
        Outcome::new(
            id,
            Verdict::PartlyDelivered,
            day("2026-10-05"),
            "64 secondments started against a target of 100; most ran from government into \
             charities rather than the other way.",
        )
        .indicator_actual(64.0, "October 2025 to September 2026")
        .lessons(
            "Few charity staff could step away from their posts even with cover paid for, and \
             three-month placements suited small organisations far better than twelve-month \
             ones. The second year will offer short placements first.",
        ),
    );
    script.say(
        COUNCIL,
        at("2026-10-19", 14),
        Assessment::new(
            id,
            outcome,
            Stance::Agrees,
            "The council agrees with this account. Members add that the placements that did \
             happen were valued by hosts and secondees alike.",
        ),
    );
}

fn annual_report(script: &mut Script) {
    let id = "dcms-covenant-annual-report";
    let (source_kind, source_title, source_url) = covenant_source();
    script.say(
        DCMS,
        at("2025-07-17", 12),
        Commitment::new(
            id,
            "Report every year on how the Covenant is honoured",
            "Government will report each year on what it has done to honour the Covenant and on \
             the difference its partnership with civil society has made.",
            day("2025-07-17"),
        )
        .source(source_kind, source_title, source_url)
        .due_by(day("2026-07-31"))
        .themes(["transparency", "community"]),
    );
    script.say(
        DCMS,
        at("2026-02-09", 11),
        Action::new(
            "dcms-covenant-returns",
            [id],
            ActionType::Consultation,
            day("2026-02-09"),
            "Asked every department for a return setting out what it had done under the Covenant \
             and what changed as a result.",
        ),
    );
    script.say(
        DCMS,
        at("2026-07-20", 11),
        Action::new(
            "dcms-covenant-report-2026",
            [id],
            ActionType::Publication,
            day("2026-07-20"),
            "Published the first annual report on the Covenant.",
        )
        .evidence(evidence(
            "Civil Society Covenant: annual report 2025 to 2026",
            "https://www.gov.uk/government/publications/civil-society-covenant-annual-report-2026",
        )),
    );
    let outcome = script.say(
        DCMS,
        at("2026-07-28", 10),
        Outcome::new(
            id,
            Verdict::Delivered,
            day("2026-07-28"),
            "The first annual report was published on 20 July 2026 and covers every department.",
        )
        .lessons("Several returns arrived late; next year the return form goes out in January."),
    );
    script.say(
        WATCHDOG,
        at("2026-08-14", 9),
        Assessment::new(
            id,
            outcome,
            Stance::Disputes,
            "The report lists activities but says almost nothing about impact, which was half of \
             the promise. Nine of twenty-two departments sent no return, so it does not cover \
             every department. We would call this partly delivered.",
        )
        .evidence(evidence(
            "Civic Audit Trust: reading the first Covenant report",
            "https://civic-audit.example.org/reviews/covenant-report-2026",
        )),
    );
}

fn volunteering_strategy(script: &mut Script) {
    let id = "dcms-volunteering-strategy";
    script.say(
        DCMS,
        at("2025-03-10", 10),
        Commitment::new(
            id,
            "Publish a national volunteering strategy",
            "We will publish a national strategy for volunteering, written with volunteers and \
             with the people who organise them.",
            day("2025-03-10"),
        )
        .source(
            SourceKind::Speech,
            "Speech to the volunteering summit",
            "https://www.gov.uk/government/speeches/volunteering-summit",
        )
        .due_by(day("2026-03-31"))
        .themes(["community", "opportunity"]),
    );
    script.say(
        DCMS,
        at("2025-05-12", 11),
        Action::new(
            "dcms-volunteering-workshops",
            [id],
            ActionType::Consultation,
            day("2025-05-12"),
            "Ran twelve regional workshops with volunteers and volunteer managers.",
        ),
    );
    script.say(
        DCMS,
        at("2025-11-03", 11),
        Action::new(
            "dcms-volunteering-what-we-heard",
            [id],
            ActionType::Publication,
            day("2025-11-03"),
            "Published a summary of what the workshops heard.",
        ),
    );
    script.say(
        DCMS,
        at("2026-03-16", 10),
        Amendment::new(
            id,
            AmendmentClass::DeadlineChange,
            "More time is needed to line the strategy up with the spending review settlement.",
        )
        .new_due_by(day("2026-09-30")),
    );
}

fn youth_arts_fund(script: &mut Script) {
    let id = "dcms-youth-arts-fund";
    script.say(
        DCMS,
        at("2025-02-20", 10),
        Commitment::new(
            id,
            "Open a £25 million fund for youth arts spaces",
            "We will open a £25 million capital fund to refurbish the places where young people \
             make music, theatre and art.",
            day("2025-02-20"),
        )
        .source(
            SourceKind::PolicyPaper,
            "Creative futures for young people",
            "https://www.gov.uk/government/publications/creative-futures",
        )
        .due_by(day("2026-12-31"))
        .themes(["opportunity", "community"]),
    );
    script.say(
        DCMS,
        at("2025-04-14", 11),
        Action::new(
            "dcms-youth-arts-fund-announced",
            [id],
            ActionType::Funding,
            day("2025-04-14"),
            "Announced the fund and published its eligibility rules.",
        )
        .money(Money::gbp(pounds(25_000_000), MoneyStage::Pledged)),
    );
    script.say(
        DCMS,
        at("2026-03-23", 10),
        Withdrawal::new(
            id,
            "The fund will not open: its budget was moved in the spending review to repairs of \
             existing community buildings.",
        ),
    );
}

fn covenant_leads(script: &mut Script) {
    let id = "cabinet-office-covenant-leads";
    let (source_kind, source_title, source_url) = covenant_source();
    script.say(
        CABINET_OFFICE,
        at("2025-07-17", 13),
        Commitment::new(
            id,
            "Name a Covenant lead in every department",
            "Every government department will name a senior official who answers for its part in \
             the Covenant.",
            day("2025-07-17"),
        )
        .source(source_kind, source_title, source_url)
        .due_by(day("2025-12-31"))
        .themes(["partnership", "transparency"]),
    );
    script.say(
        CABINET_OFFICE,
        at("2025-09-01", 11),
        Action::new(
            "cabinet-office-leads-letter",
            [id],
            ActionType::Other,
            day("2025-09-01"),
            "Wrote to every permanent secretary asking for a named Covenant lead.",
        ),
    );
    script.say(
        CABINET_OFFICE,
        at("2025-12-19", 11),
        Action::new(
            "cabinet-office-leads-list",
            [id],
            ActionType::Publication,
            day("2025-12-19"),
            "Published the names of the leads in 19 of 22 departments.",
        ),
    );
    let outcome = script.say(
        CABINET_OFFICE,
        at("2026-01-30", 10),
        Outcome::new(
            id,
            Verdict::Delivered,
            day("2026-01-30"),
            "All 22 departments had named a Covenant lead by the end of January 2026.",
        )
        .lessons(
            "Three departments missed the December date; asking for an interim name would have \
             closed the gap sooner.",
        ),
    );
    script.say(
        WATCHDOG,
        at("2026-02-16", 9),
        Assessment::new(
            id,
            outcome,
            Stance::Agrees,
            "We checked the published list against each department's own pages: every department \
             now names a lead, a month later than promised.",
        ),
    );
}

fn grants_data(script: &mut Script) {
    let id = "cabinet-office-grants-data";
    script.say(
        CABINET_OFFICE,
        at("2025-07-17", 14),
        Commitment::new(
            id,
            "Publish all central government grants in one place",
            "We will publish every grant made by central government in one searchable place, \
             updated each quarter.",
            day("2025-07-17"),
        )
        .source(
            SourceKind::PolicyPaper,
            "Transparency and data: delivering the Covenant",
            "https://www.gov.uk/government/publications/covenant-transparency-and-data",
        )
        .due_by(day("2027-03-31"))
        .themes(["transparency"]),
    );
    script.say(
        CABINET_OFFICE,
        at("2025-11-10", 11),
        Action::new(
            "cabinet-office-grants-service-contract",
            [id],
            ActionType::Procurement,
            day("2025-11-10"),
            "Contracted the build of a grants data service.",
        )
        .money(Money::gbp(pounds(2_400_000), MoneyStage::Committed)),
    );
    script.say(
        CABINET_OFFICE,
        at("2026-04-27", 11),
        Action::new(
            "cabinet-office-grants-first-release",
            [id],
            ActionType::Publication,
            day("2026-04-27"),
            "Released the first quarter of grants data, covering 14 departments.",
        ),
    );
}

fn council_work_plan(script: &mut Script) {
    let id = "covenant-council-work-plan";
    script.say(
        COUNCIL,
        at("2025-11-24", 17),
        Commitment::new(
            id,
            "Publish the council's two-year work plan",
            "The council will publish a work plan for its first two years, including the \
             measures it will use to judge whether the Covenant is working.",
            day("2025-11-24"),
        )
        .due_by(day("2026-03-31"))
        .themes(["partnership", "transparency"]),
    );
    script.say(
        COUNCIL,
        at("2026-02-23", 11),
        Action::new(
            "covenant-council-work-plan-published",
            [id],
            ActionType::Publication,
            day("2026-02-23"),
            "Published the work plan with six measures of progress.",
        ),
    );
    script.say(
        COUNCIL,
        at("2026-03-09", 10),
        Outcome::new(
            id,
            Verdict::Delivered,
            day("2026-03-09"),
            "The work plan is published and the council reports against it at each meeting.",
        ),
    );
}

/// Pledges the department made in 2024, before the log opened, recorded in its first week with
/// the dates they were made, acted on and reported (backfills, which the pages point out).
fn earlier_pledges(script: &mut Script) {
    let plan = "dcms-community-wealth-plan";
    script.say(
        DCMS,
        at("2025-01-06", 10),
        Commitment::new(
            plan,
            "Publish a plan for the Community Wealth Fund",
            "We will publish how the Community Wealth Fund will reach the places that have \
             had least from lottery and grant funding, before the end of 2024.",
            day("2024-03-04"),
        )
        .due_by(day("2024-12-31"))
        .themes(["community"]),
    );
    script.say(
        DCMS,
        at("2025-01-06", 11),
        Action::new(
            "dcms-wealth-plan-draft",
            [plan],
            ActionType::Publication,
            day("2024-06-03"),
            "Published a draft plan for consultation with the places it names.",
        ),
    );
    script.say(
        DCMS,
        at("2025-01-06", 12),
        Outcome::new(
            plan,
            Verdict::Delivered,
            day("2024-11-20"),
            "The plan was published in November 2024, with the list of places it will fund.",
        ),
    );

    let fees = "dcms-charity-fees-review";
    script.say(
        DCMS,
        at("2025-01-08", 11),
        Commitment::new(
            fees,
            "Review whether charities should pay registration fees",
            "We will review the case for fees for registering a charity and publish our \
             conclusions by June 2025.",
            day("2024-10-15"),
        )
        .due_by(day("2025-06-30"))
        .themes(["partnership"]),
    );
    script.say(
        DCMS,
        at("2025-04-02", 10),
        Withdrawal::new(
            fees,
            "Superseded: the Covenant's joint council will look at the costs charities face as a \
             whole, fees among them.",
        ),
    );

    let skills = "dcms-volunteer-digital-skills";
    script.say(
        DCMS,
        at("2025-01-08", 10),
        Commitment::new(
            skills,
            "Train 10,000 charity volunteers in digital skills",
            "We will fund free digital skills courses for 10,000 volunteers of small charities \
             by October 2025.",
            day("2024-09-02"),
        )
        .due_by(day("2025-10-31"))
        .themes(["opportunity"]),
    );
    script.say(
        DCMS,
        at("2025-02-11", 11),
        Action::new(
            "dcms-digital-skills-pilot",
            [skills],
            ActionType::Funding,
            day("2025-02-11"),
            "Funded a pilot course in three regions.",
        )
        .money(Money::gbp(pounds(120_000), MoneyStage::Spent)),
    );

    let grants = "dcms-grant-decisions";
    script.say(
        DCMS,
        at("2025-01-09", 10),
        Commitment::new(
            grants,
            "Decide small grant applications within six weeks",
            "From April 2024 we will decide every application to our small grants programmes \
             within six weeks, by March 2025.",
            day("2024-05-01"),
        )
        .due_by(day("2025-03-31"))
        .themes(["partnership"]),
    );
    script.say(
        DCMS,
        at("2025-04-10", 10),
        Outcome::new(
            grants,
            Verdict::NotDelivered,
            day("2025-04-10"),
            "The median decision took nine weeks; one application in four took more than twelve.",
        )
        .lessons("Assessment was done by too few people at the busiest time of year."),
    );
}

/// A 2024 pledge whose deadline moved in 2025 and whose partial delivery a watchdog disputes.
fn youth_clubs(script: &mut Script) {
    let id = "dcms-youth-clubs";
    script.say(
        DCMS,
        at("2025-01-07", 10),
        Commitment::new(
            id,
            "Reopen 500 youth clubs",
            "We will fund the reopening of 500 youth clubs closed since 2010, by June 2025.",
            day("2024-06-10"),
        )
        .due_by(day("2025-06-30"))
        .themes(["opportunity", "community"])
        .indicator(
            Indicator::new("youth clubs reopened", "clubs", true)
                .baseline(0.0, Some(day("2024-06-10")))
                .target(500.0, "by June 2025"),
        ),
    );
    script.say(
        DCMS,
        at("2025-01-07", 11),
        Action::new(
            "dcms-youth-clubs-fund",
            [id],
            ActionType::Funding,
            day("2024-09-02"),
            "Committed £5 million to councils and youth charities to reopen clubs.",
        )
        .money(Money::gbp(pounds(5_000_000), MoneyStage::Committed)),
    );
    script.say(
        DCMS,
        at("2025-03-14", 11),
        Action::new(
            "dcms-youth-clubs-grants",
            [id],
            ActionType::Funding,
            day("2025-03-14"),
            "Paid the first round of grants to 220 clubs.",
        )
        .money(Money::gbp(pounds(3_200_000), MoneyStage::Spent)),
    );
    script.say(
        DCMS,
        at("2025-05-01", 10),
        Amendment::new(
            id,
            AmendmentClass::DeadlineChange,
            "Building works in many clubs need more time than the grants allowed for.",
        )
        .new_due_by(day("2025-12-31")),
    );
    let outcome = script.say(
        DCMS,
        at("2025-12-15", 10),
        Outcome::new(
            id,
            Verdict::PartlyDelivered,
            day("2025-12-15"),
            "410 clubs have reopened; the rest are waiting for building works.",
        )
        .indicator_actual(410.0, "to December 2025"),
    );
    script.say(
        WATCHDOG,
        at("2025-12-20", 9),
        Assessment::new(
            id,
            outcome,
            Stance::Disputes,
            "Our visits found 280 clubs open on weekday evenings. Many of the 410 counted have \
             been funded but have not opened their doors yet.",
        )
        .verdict(Verdict::NotDelivered),
    );
}

/// A pledge made and delivered within 2025.
fn civil_society_data(script: &mut Script) {
    let id = "dcms-civil-society-data";
    script.say(
        DCMS,
        at("2025-01-20", 10),
        Commitment::new(
            id,
            "Open a data service on civil society",
            "We will publish, in one place and as open data, what government knows about the \
             size, income and workforce of civil society, by September 2025.",
            day("2025-01-20"),
        )
        .due_by(day("2025-09-30"))
        .themes(["partnership"]),
    );
    script.say(
        DCMS,
        at("2025-06-02", 11),
        Action::new(
            "dcms-data-service-build",
            [id],
            ActionType::Funding,
            day("2025-06-02"),
            "Pledged funding for the data service's first two years.",
        )
        .money(Money::gbp(pounds(600_000), MoneyStage::Pledged)),
    );
    script.say(
        DCMS,
        at("2025-09-25", 10),
        Outcome::new(
            id,
            Verdict::Delivered,
            day("2025-09-25"),
            "The data service is live, with quarterly updates from three departments.",
        ),
    );
}
