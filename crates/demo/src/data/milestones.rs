//! National milestones of the "Plan for Change" kind, followed by the departments that own
//! them: one has its target quietly lowered, one has its scope redefined, one misses, one
//! passes to a renamed department, and a merged agency's programme moves to its successor.

use super::registry::{CLEAN_POWER, COMMUNITY_AGENCY, DESNZ, DFE, DHSC, HOME_OFFICE, MHCLG};
use super::{evidence, pounds};
use crate::script::{Script, at, day};
use covenant_core::proto::{
    ActionType, AmendedField, AmendmentClass, MoneyStage, SourceKind, Verdict,
};
use covenant_emit::build::{Action, Amendment, Commitment, Indicator, Money, Outcome, Withdrawal};

const PLAN_TITLE: &str = "Plan for Change: milestones for mission-led government";
const PLAN_URL: &str = "https://www.gov.uk/missions";

fn milestone(
    id: &str,
    title: &str,
    text: &str,
    due_by: &str,
    themes: &[&str],
    indicator: Indicator,
) -> Commitment {
    Commitment::new(id, title, text, day("2024-12-05"))
        .source(SourceKind::PolicyPaper, PLAN_TITLE, PLAN_URL)
        .due_by(day(due_by))
        .themes(themes.iter().copied())
        .indicator(indicator)
}

pub fn write(script: &mut Script) {
    homes(script);
    waiting_times(script);
    neighbourhood_policing(script);
    school_readiness(script);
    clean_power(script);
    warm_homes(script);
    community_energy(script);
    volunteer_centres(script);
    coastal_hubs(script);
}

fn homes(script: &mut Script) {
    let id = "mhclg-homes-milestone";
    script.say(
        MHCLG,
        at("2025-01-08", 10),
        milestone(
            id,
            "1.5 million new homes in England this Parliament",
            "We will build one and a half million safe and decent homes in England over this \
             Parliament.",
            "2029-07-31",
            &["safety", "opportunity"],
            Indicator::new(
                "net additional homes in England since July 2024",
                "homes",
                true,
            )
            .baseline(0.0, Some(day("2024-07-04")))
            .target(1_500_000.0, "July 2024 to July 2029"),
        ),
    );
    script.say(
        MHCLG,
        at("2025-03-11", 11),
        Action::new(
            "mhclg-planning-bill",
            [id],
            ActionType::Legislation,
            day("2025-03-11"),
            "Introduced a planning bill to speed up decisions on large housing and \
             infrastructure schemes.",
        ),
    );
    script.say(
        MHCLG,
        at("2025-06-11", 11),
        Action::new(
            "mhclg-affordable-homes-programme",
            [id],
            ActionType::Funding,
            day("2025-06-11"),
            "Set out a ten-year programme of grants for social and affordable homes.",
        )
        .money(Money::gbp(pounds(39_000_000_000), MoneyStage::Pledged)),
    );
    script.say(
        MHCLG,
        at("2025-11-27", 11),
        Action::new(
            "mhclg-first-annual-count",
            [id],
            ActionType::Publication,
            day("2025-11-27"),
            "Published the first annual count: 208,600 net additional homes in the year to March \
             2025.",
        ),
    );
    // The quiet goalpost move: a lower target, a one-line reason.
    script.say(
        MHCLG,
        at("2026-04-14", 18),
        Amendment::new(
            id,
            AmendmentClass::TargetChange,
            "Technical update to align the milestone with the latest supply projections.",
        )
        .new_target_value(1_300_000.0),
    );
    script.say(
        MHCLG,
        at("2026-09-21", 11),
        Action::new(
            "mhclg-affordable-homes-first-grants",
            [id],
            ActionType::Funding,
            day("2026-09-21"),
            "Paid the first grants from the affordable homes programme to housing associations \
             and councils.",
        )
        .money(Money::gbp(pounds(2_100_000_000), MoneyStage::Spent)),
    );
}

fn waiting_times(script: &mut Script) {
    let long_term = "dhsc-elective-18-weeks";
    let interim = "dhsc-elective-interim-2026";
    script.say(
        DHSC,
        at("2025-01-08", 10),
        milestone(
            long_term,
            "92% of patients treated within 18 weeks",
            "By March 2029, 92% of patients waiting for planned hospital treatment in England \
             will start it within 18 weeks of referral.",
            "2029-03-31",
            &["dignity", "safety"],
            Indicator::new("patients waiting under 18 weeks from referral", "%", true)
                .baseline(59.1, Some(day("2024-11-30")))
                .target(92.0, "March 2029"),
        ),
    );
    script.say(
        DHSC,
        at("2025-01-08", 11),
        Commitment::new(
            interim,
            "65% of patients waiting under 18 weeks by March 2026",
            "As a step towards the 18-week standard, 65% of patients on the waiting list will \
             have waited less than 18 weeks by March 2026.",
            day("2025-01-06"),
        )
        .source(
            SourceKind::PolicyPaper,
            "Reforming elective care for patients",
            "https://www.gov.uk/government/publications/reforming-elective-care",
        )
        .due_by(day("2026-03-31"))
        .themes(["dignity"])
        .indicator(
            Indicator::new("patients waiting under 18 weeks from referral", "%", true)
                .baseline(59.1, Some(day("2024-11-30")))
                .target(65.0, "March 2026"),
        ),
    );
    let both = [long_term, interim];
    let steps: [(&str, &str, ActionType, &str, Option<Money>); 4] = [
        (
            "dhsc-elective-plan",
            "2025-01-09",
            ActionType::Publication,
            "Published the elective reform plan.",
            None,
        ),
        (
            "dhsc-extra-clinics",
            "2025-04-01",
            ActionType::Funding,
            "Funded evening and weekend clinics and new surgical hubs.",
            Some(Money::gbp(pounds(1_500_000_000), MoneyStage::Committed)),
        ),
        (
            "dhsc-diagnostic-capacity",
            "2025-09-15",
            ActionType::Procurement,
            "Bought extra scanning and testing capacity in community diagnostic centres.",
            Some(Money::gbp(pounds(240_000_000), MoneyStage::Spent)),
        ),
        (
            "dhsc-list-validation",
            "2026-01-12",
            ActionType::Other,
            "Started checking waiting lists with patients to remove those who no longer need \
             treatment.",
            None,
        ),
    ];
    for (action_id, date, action_type, description, money) in steps {
        let mut action = Action::new(action_id, both, action_type, day(date), description);
        if let Some(money) = money {
            action = action.money(money);
        }
        script.say(DHSC, at(date, 12), action);
    }
    script.say(
        DHSC,
        at("2026-05-14", 10),
        Outcome::new(
            interim,
            Verdict::PartlyDelivered,
            day("2026-05-14"),
            "62.4% of patients were waiting under 18 weeks in March 2026, short of 65%.",
        )
        .indicator_actual(62.4, "March 2026")
        .evidence(evidence(
            "Referral to treatment waiting times, March 2026",
            "https://www.england.nhs.uk/statistics/rtt-waiting-times",
        ))
        .lessons(
            "Referrals grew faster than planned and a hard winter cut planned operations in \
             January. Checking the lists removed fewer patients than we assumed.",
        ),
    );
}

fn neighbourhood_policing(script: &mut Script) {
    let id = "home-office-neighbourhood-policing";
    script.say(
        HOME_OFFICE,
        at("2025-01-08", 10),
        milestone(
            id,
            "13,000 more neighbourhood officers and PCSOs",
            "We will put thirteen thousand more police officers and police community support \
             officers into neighbourhood roles in England and Wales.",
            "2029-03-31",
            &["safety", "community"],
            Indicator::new(
                "additional officers and PCSOs in neighbourhood roles",
                "people",
                true,
            )
            .baseline(0.0, Some(day("2025-03-31")))
            .target(13_000.0, "by March 2029"),
        ),
    );
    script.say(
        HOME_OFFICE,
        at("2025-04-10", 11),
        Action::new(
            "home-office-neighbourhood-grant-2025",
            [id],
            ActionType::Funding,
            day("2025-04-10"),
            "Gave police forces the first year of neighbourhood recruitment funding.",
        )
        .money(Money::gbp(pounds(200_000_000), MoneyStage::Committed)),
    );
    script.say(
        HOME_OFFICE,
        at("2025-07-01", 11),
        Action::new(
            "home-office-named-officer",
            [id],
            ActionType::Publication,
            day("2025-07-01"),
            "Published a guarantee that every neighbourhood will have a named, contactable \
             officer.",
        ),
    );
    script.say(
        HOME_OFFICE,
        at("2026-04-20", 11),
        Action::new(
            "home-office-neighbourhood-grant-paid",
            [id],
            ActionType::Funding,
            day("2026-04-20"),
            "Paid forces for 3,000 additional neighbourhood posts filled in 2025-26.",
        )
        .money(Money::gbp(pounds(196_000_000), MoneyStage::Spent)),
    );
    script.say(
        HOME_OFFICE,
        at("2026-05-05", 17),
        Amendment::new(
            id,
            AmendmentClass::ScopeChange,
            "Clarifies how officers are counted.",
        )
        .change(
            AmendedField::Scope,
            "Counts officers and PCSOs working in neighbourhood roles, including those moved \
             from other duties.",
        ),
    );
}

fn school_readiness(script: &mut Script) {
    let id = "dfe-school-readiness";
    script.say(
        DFE,
        at("2025-01-08", 10),
        milestone(
            id,
            "Three in four five-year-olds ready for school",
            "By 2028, three in every four children will reach a good level of development by the \
             end of their reception year.",
            "2028-08-31",
            &["opportunity", "equity"],
            Indicator::new(
                "children with a good level of development at age five",
                "%",
                true,
            )
            .baseline(67.7, Some(day("2024-07-31")))
            .target(75.0, "2027-28 school year"),
        ),
    );
    script.say(
        DFE,
        at("2025-02-03", 11),
        Action::new(
            "dfe-school-nurseries",
            [id],
            ActionType::Funding,
            day("2025-02-03"),
            "Funded the first wave of nurseries in primary schools with spare classrooms.",
        )
        .money(Money::gbp(pounds(45_000_000), MoneyStage::Committed)),
    );
    script.say(
        DFE,
        at("2025-09-01", 11),
        Action::new(
            "dfe-childcare-30-hours",
            [id],
            ActionType::Other,
            day("2025-09-01"),
            "Extended 30 funded hours of childcare to working parents of children from nine \
             months old.",
        ),
    );
    script.say(
        DFE,
        at("2026-07-15", 11),
        Action::new(
            "dfe-early-years-results-2026",
            [id],
            ActionType::Publication,
            day("2026-07-15"),
            "Published this year's results: 69.1% of children reached a good level of \
             development.",
        ),
    );
}

fn clean_power(script: &mut Script) {
    let id = "desnz-clean-power-2030";
    script.say(
        DESNZ,
        at("2025-01-08", 10),
        milestone(
            id,
            "Clean power by 2030",
            "By 2030, clean sources will generate at least 95% of Great Britain's electricity.",
            "2030-12-31",
            &["sustainability"],
            Indicator::new(
                "share of electricity generated from clean sources",
                "%",
                true,
            )
            .baseline(74.0, Some(day("2024-12-31")))
            .target(95.0, "2030"),
        ),
    );
    script.say(
        DESNZ,
        at("2025-03-20", 11),
        Action::new(
            "desnz-clean-power-action-plan",
            [id],
            ActionType::Publication,
            day("2025-03-20"),
            "Published the clean power action plan.",
        ),
    );
    script.say(
        DESNZ,
        at("2025-09-03", 11),
        Action::new(
            "desnz-offshore-wind-auction",
            [id],
            ActionType::Procurement,
            day("2025-09-03"),
            "Ran the largest offshore wind auction so far.",
        ),
    );
    // After the rename the successor department carries the milestone on.
    script.say(
        CLEAN_POWER,
        at("2026-05-11", 11),
        Action::new(
            "clean-power-grid-connections",
            [id],
            ActionType::Legislation,
            day("2026-05-11"),
            "Laid regulations that move projects ready to build to the front of the grid \
             connection queue.",
        ),
    );
    script.say(
        CLEAN_POWER,
        at("2026-09-14", 11),
        Action::new(
            "clean-power-grid-upgrades",
            [id],
            ActionType::Funding,
            day("2026-09-14"),
            "Committed funding for transmission upgrades in Scotland and the north of England.",
        )
        .money(Money::gbp(pounds(1_100_000_000), MoneyStage::Committed)),
    );
}

fn warm_homes(script: &mut Script) {
    let id = "desnz-warm-homes-2025";
    script.say(
        DESNZ,
        at("2025-02-12", 10),
        Commitment::new(
            id,
            "Upgrade 300,000 homes in 2025-26",
            "In 2025-26 we will insulate, or fit low-carbon heating to, 300,000 homes of \
             households on low incomes.",
            day("2025-02-12"),
        )
        .source(
            SourceKind::PolicyPaper,
            "Warm Homes Plan",
            "https://www.gov.uk/government/publications/warm-homes-plan",
        )
        .due_by(day("2026-03-31"))
        .themes(["sustainability", "dignity"])
        .indicator(
            Indicator::new("homes upgraded", "homes", true)
                .baseline(0.0, Some(day("2025-04-01")))
                .target(300_000.0, "2025-26"),
        ),
    );
    script.say(
        DESNZ,
        at("2025-04-02", 11),
        Action::new(
            "desnz-warm-homes-grants",
            [id],
            ActionType::Funding,
            day("2025-04-02"),
            "Allocated grants to councils for insulation and heat pumps.",
        )
        .money(Money::gbp(pounds(1_600_000_000), MoneyStage::Committed)),
    );
    script.say(
        DESNZ,
        at("2025-10-06", 11),
        Action::new(
            "desnz-installer-standards",
            [id],
            ActionType::Publication,
            day("2025-10-06"),
            "Published tighter standards for installers after complaints about poor work.",
        ),
    );
    script.say(
        CLEAN_POWER,
        at("2026-06-08", 10),
        Outcome::new(
            id,
            Verdict::NotDelivered,
            day("2026-06-08"),
            "181,000 homes were upgraded in 2025-26, well short of 300,000.",
        )
        .indicator_actual(181_000.0, "2025-26")
        .lessons(
            "The number of qualified installers was the real limit, and pausing work to put \
             right poor installations cost three months. The target was set before anyone \
             checked the supply chain; future targets will be.",
        ),
    );
}

fn community_energy(script: &mut Script) {
    let id = "desnz-community-energy";
    script.say(
        DESNZ,
        at("2025-05-19", 10),
        Commitment::new(
            id,
            "Back 1,000 community energy projects",
            "We will help a thousand community groups own solar panels, wind turbines or heat \
             networks by March 2027.",
            day("2025-05-19"),
        )
        .source(
            SourceKind::Speech,
            "Speech at the community energy conference",
            "https://www.gov.uk/government/speeches/community-energy-conference",
        )
        .due_by(day("2027-03-31"))
        .themes(["sustainability", "community"]),
    );
    script.say(
        DESNZ,
        at("2025-08-18", 11),
        Action::new(
            "desnz-community-energy-consultation",
            [id],
            ActionType::Consultation,
            day("2025-08-18"),
            "Consulted community energy groups on what holds projects back.",
        ),
    );
    script.say(
        CLEAN_POWER,
        at("2026-07-06", 10),
        Withdrawal::new(
            id,
            "Dropped as a separate commitment: community projects will be funded through the \
             public energy company's local power programme instead, which sets its own targets.",
        ),
    );
}

fn volunteer_centres(script: &mut Script) {
    let id = "community-agency-volunteer-centres";
    script.say(
        COMMUNITY_AGENCY,
        at("2025-01-15", 10),
        Commitment::new(
            id,
            "Fund volunteer centres in the 40 areas without one",
            "We will fund a volunteer centre in each of the 40 local authority areas that have \
             none.",
            day("2025-01-15"),
        )
        .due_by(day("2025-09-30"))
        .themes(["community"])
        .indicator(
            Indicator::new("areas with a funded volunteer centre", "areas", true)
                .baseline(0.0, Some(day("2025-01-15")))
                .target(40.0, "September 2025"),
        ),
    );
    script.say(
        COMMUNITY_AGENCY,
        at("2025-02-17", 11),
        Action::new(
            "community-agency-centre-grants",
            [id],
            ActionType::Funding,
            day("2025-02-17"),
            "Awarded three-year grants to 40 local partnerships.",
        )
        .money(Money::gbp(pounds(3_200_000), MoneyStage::Committed)),
    );
    script.say(
        COMMUNITY_AGENCY,
        at("2025-07-07", 11),
        Action::new(
            "community-agency-centres-listed",
            [id],
            ActionType::Publication,
            day("2025-07-07"),
            "Published the list of the 40 centres with their opening dates.",
        ),
    );
    script.say(
        COMMUNITY_AGENCY,
        at("2025-09-22", 10),
        Outcome::new(
            id,
            Verdict::Delivered,
            day("2025-09-22"),
            "All 40 centres are open.",
        )
        .indicator_actual(40.0, "September 2025"),
    );
}

fn coastal_hubs(script: &mut Script) {
    let id = "community-agency-coastal-hubs";
    script.say(
        COMMUNITY_AGENCY,
        at("2025-02-03", 10),
        Commitment::new(
            id,
            "Open 25 community hubs in coastal towns",
            "By the end of June 2026 we will open 25 community hubs in coastal towns, each run \
             by a local charity.",
            day("2025-02-03"),
        )
        .due_by(day("2026-06-30"))
        .themes(["community", "equity"])
        .indicator(
            Indicator::new("coastal community hubs open", "hubs", true)
                .baseline(0.0, Some(day("2025-02-03")))
                .target(25.0, "June 2026"),
        ),
    );
    script.say(
        COMMUNITY_AGENCY,
        at("2025-05-06", 11),
        Action::new(
            "community-agency-hub-bids",
            [id],
            ActionType::Funding,
            day("2025-05-06"),
            "Opened bidding for coastal hub funding.",
        )
        .money(Money::gbp(pounds(12_500_000), MoneyStage::Pledged)),
    );
    script.say(
        COMMUNITY_AGENCY,
        at("2025-08-18", 11),
        Action::new(
            "community-agency-hub-awards",
            [id],
            ActionType::Funding,
            day("2025-08-18"),
            "Awarded funding for the first 16 hubs.",
        )
        .money(Money::gbp(pounds(8_000_000), MoneyStage::Committed)),
    );
    // The agency merged into the department on 1 October 2025; the department carries on.
    script.say(
        MHCLG,
        at("2026-01-20", 11),
        Action::new(
            "mhclg-coastal-hub-grants-paid",
            [id],
            ActionType::Funding,
            day("2026-01-20"),
            "Paid capital grants to 17 hubs.",
        )
        .money(Money::gbp(pounds(6_300_000), MoneyStage::Spent)),
    );
    script.say(
        MHCLG,
        at("2026-07-13", 10),
        Outcome::new(
            id,
            Verdict::PartlyDelivered,
            day("2026-07-13"),
            "17 of the 25 hubs were open at the end of June 2026.",
        )
        .indicator_actual(17.0, "June 2026")
        .lessons(
            "Work on listed buildings took far longer than planned. The other eight hubs should \
             open by spring 2027.",
        ),
    );
}
