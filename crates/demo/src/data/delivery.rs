//! Commitments shaped like real ones: a mission milestone that one department answers for and
//! four others help deliver, with two targets, one of them quietly lowered (wording and target
//! in one amendment); a measured outcome the owner calls delivered although one target is
//! missed, and a watchdog's dispute with the verdict it thinks is right; and a manifesto pledge
//! from 2024, loaded in 2026, that a department adopted in government.

use super::evidence;
use super::registry::{CABINET_OFFICE, DFE, DHSC, HOME_OFFICE, MHCLG, PARTY, WATCHDOG};
use crate::script::{Script, at, day};
use covenant_core::proto::{
    ActionType, AmendedField, AmendmentClass, Comparator, SourceKind, Stance, Verdict,
};
use covenant_emit::build::{
    Action, Adoption, Amendment, Assessment, Commitment, Indicator, Outcome, source,
};

/// The shared milestone's id.
pub const HOMELESSNESS: &str = "co-homelessness-milestone";
/// The adopted manifesto pledge's id.
pub const TEACHERS: &str = "party-6500-teachers";

pub fn write(script: &mut Script) {
    homelessness(script);
    teachers(script);
}

fn homelessness(script: &mut Script) {
    script.say(
        CABINET_OFFICE,
        at("2025-02-04", 10),
        Commitment::new(
            HOMELESSNESS,
            "Fewer families in temporary accommodation, and an end to rough sleeping",
            "By March 2026 we will cut the number of households in temporary accommodation to \
             at most 100,000 and the number of people sleeping rough on a single night to at \
             most 2,000, working across government.",
            day("2025-02-04"),
        )
        .source(
            SourceKind::PolicyPaper,
            "Cross-government homelessness strategy",
            "https://www.gov.uk/government/publications/homelessness-strategy",
        )
        .add_source(source(
            SourceKind::Speech,
            "Statement to the House, 4 February 2025",
            "",
        ))
        .evidence(evidence(
            "Statutory homelessness statistics",
            "https://www.gov.uk/government/collections/homelessness-statistics",
        ))
        .due_by(day("2026-03-31"))
        .themes(["dignity", "safety"])
        .delivery_partners([MHCLG, DHSC, HOME_OFFICE, DFE])
        .add_indicator(
            Indicator::named(
                "temporary-accommodation",
                "households in temporary accommodation",
                "households",
                Comparator::AtMost,
                100_000.0,
            )
            .baseline(117_450.0, Some(day("2024-09-30"))),
        )
        .add_indicator(Indicator::named(
            "rough-sleeping",
            "people sleeping rough on a single night",
            "people",
            Comparator::AtMost,
            2_000.0,
        )),
    );
    script.say(
        MHCLG,
        at("2025-04-15", 11),
        Action::new(
            "mhclg-homelessness-prevention-grant",
            [HOMELESSNESS],
            ActionType::Funding,
            day("2025-04-15"),
            "Raised the homelessness prevention grant paid to councils.",
        ),
    );
    script.say(
        DHSC,
        at("2025-06-02", 11),
        Action::new(
            "dhsc-hospital-discharge-housing",
            [HOMELESSNESS],
            ActionType::Partnership,
            day("2025-06-02"),
            "Paired hospital discharge teams with housing officers so nobody leaves hospital to \
             the street.",
        ),
    );
    // The goalpost move: the target is loosened and restated in new words in one event.
    script.say(
        CABINET_OFFICE,
        at("2025-11-20", 15),
        Amendment::new(
            HOMELESSNESS,
            AmendmentClass::TargetChange,
            "Demand for temporary accommodation rose faster than projected.",
        )
        .change_indicator(
            "temporary-accommodation",
            AmendedField::TargetValue,
            "110000",
        )
        .new_text(
            "By March 2026 we will cut the number of households in temporary accommodation to \
             at most 110,000 and the number of people sleeping rough on a single night to at \
             most 2,000, working across government.",
        )
        .effective_on(day("2025-11-20"))
        .add_source(source(
            SourceKind::ParliamentaryAnswer,
            "Written answer on temporary accommodation",
            "https://questions-statements.example.org/written-questions/2025-11-20",
        )),
    );
    script.say(
        MHCLG,
        at("2026-05-14", 10),
        Outcome::new(
            HOMELESSNESS,
            Verdict::Delivered,
            day("2026-05-14"),
            "Temporary accommodation fell below the revised target.",
        )
        .measurement("temporary-accommodation", 108_300.0, day("2026-03-31"))
        .measurement("rough-sleeping", 2_640.0, day("2026-03-31"))
        .lessons("Rough sleeping fell more slowly in cities without a discharge partnership."),
    );
    script.say(
        WATCHDOG,
        at("2026-05-28", 12),
        Assessment::of_latest(
            HOMELESSNESS,
            Stance::Disputes,
            "Rough sleeping stayed above the target, and the temporary accommodation target was \
             loosened before it was met.",
        )
        .verdict(Verdict::PartlyDelivered)
        .evidence(evidence(
            "Civic Audit Trust: homelessness milestone review",
            "https://civic-audit.example.org/reviews/homelessness-2026",
        )),
    );
}

fn teachers(script: &mut Script) {
    // Loaded in 2026 from the 2024 manifesto: recorded long after it was made.
    script.say(
        PARTY,
        at("2026-02-03", 10),
        Commitment::new(
            TEACHERS,
            "6,500 new teachers",
            "We will recruit 6,500 new teachers in key subjects.",
            day("2024-06-13"),
        )
        .source(
            SourceKind::Manifesto,
            "2024 general election manifesto",
            "https://manifesto.example.org/2024",
        )
        .due_by(day("2029-07-31"))
        .themes(["opportunity"])
        .add_indicator(Indicator::named(
            "teachers",
            "additional teachers in key subjects",
            "teachers",
            Comparator::AtLeast,
            6_500.0,
        )),
    );
    script.say(
        DFE,
        at("2026-02-10", 10),
        Adoption::new(TEACHERS, day("2024-07-17")).note("adopted in the King's Speech"),
    );
    script.say(
        DFE,
        at("2026-03-02", 10),
        Action::new(
            "dfe-teacher-bursaries",
            [TEACHERS],
            ActionType::Funding,
            day("2026-03-02"),
            "Raised training bursaries for teachers of shortage subjects.",
        ),
    );
}
