//! Who is in the demo log: public bodies modelled on UK departments, a simulated agency, a
//! joint council, a watchdog charity and fictional MPs; their keys; and the machinery-of-
//! government changes of the two simulated years.

use crate::script::{Script, at};
use covenant_core::proto::{ActorKind, KeyRole, SuccessionKind};
use covenant_emit::build::{ActorRegistration, Succession};

pub const DCMS: &str = "GB-GOV-23";
pub const CABINET_OFFICE: &str = "GB-GOV-3";
pub const MHCLG: &str = "GB-GOV-7";
pub const DHSC: &str = "GB-GOV-12";
pub const HOME_OFFICE: &str = "GB-GOV-9";
pub const DFE: &str = "GB-GOV-5";
/// Renamed in February 2026 (simulated): its open commitments pass to [`CLEAN_POWER`].
pub const DESNZ: &str = "GB-GOV-16";
pub const CLEAN_POWER: &str = "GB-GOV-31";
/// A simulated agency, merged into [`MHCLG`] in October 2025.
pub const COMMUNITY_AGENCY: &str = "GB-GOV-AGY-101";
pub const COUNCIL: &str = "GB-JB-CSCC";
pub const WATCHDOG: &str = "GB-CHC-1190421";
/// A party whose 2024 manifesto pledges a department adopted (a watchdog loads them in 2026).
pub const PARTY: &str = "party:demo-governing";

struct Body {
    id: &'static str,
    name: &'static str,
    kind: ActorKind,
    slug: &'static str,
    key: &'static str,
}

const BODIES: &[Body] = &[
    Body {
        id: DCMS,
        name: "Department for Culture, Media and Sport",
        kind: ActorKind::Department,
        slug: "department-for-culture-media-and-sport",
        key: "dcms-key-1",
    },
    Body {
        id: CABINET_OFFICE,
        name: "Cabinet Office",
        kind: ActorKind::Department,
        slug: "cabinet-office",
        key: "cabinet-office-key-1",
    },
    Body {
        id: MHCLG,
        name: "Ministry of Housing, Communities and Local Government",
        kind: ActorKind::Department,
        slug: "ministry-of-housing-communities-local-government",
        key: "mhclg-key-1",
    },
    Body {
        id: DHSC,
        name: "Department of Health and Social Care",
        kind: ActorKind::Department,
        slug: "department-of-health-and-social-care",
        key: "dhsc-key-1",
    },
    Body {
        id: HOME_OFFICE,
        name: "Home Office",
        kind: ActorKind::Department,
        slug: "home-office",
        key: "home-office-key-1",
    },
    Body {
        id: DFE,
        name: "Department for Education",
        kind: ActorKind::Department,
        slug: "department-for-education",
        key: "dfe-key-1",
    },
    Body {
        id: DESNZ,
        name: "Department for Energy Security and Net Zero",
        kind: ActorKind::Department,
        slug: "department-for-energy-security-and-net-zero",
        key: "desnz-key-1",
    },
    Body {
        id: COMMUNITY_AGENCY,
        name: "Community Partnerships Agency",
        kind: ActorKind::Agency,
        slug: "community-partnerships-agency",
        key: "community-agency-key-1",
    },
];

/// A fictional Member of Parliament and the answers they gave to the five asks.
pub struct Member {
    pub id: &'static str,
    pub name: &'static str,
    pub constituency: &'static str,
    pub party: &'static str,
    /// Three of the shared values.
    pub values: [&'static str; 3],
    /// What their long-term vision is about.
    pub focus: &'static str,
    /// The local organisation that co-hosts their forums.
    pub partner: &'static str,
}

pub const MEMBERS: &[Member] = &[
    Member {
        id: "uk-mp:9101",
        name: "Amara Okafor",
        constituency: "Tollmouth East",
        party: "Labour",
        values: ["equity", "community", "dignity"],
        focus: "secure homes and good work for young people",
        partner: "Tollmouth Food Partnership",
    },
    Member {
        id: "uk-mp:9102",
        name: "Gareth Pryce",
        constituency: "Harrowden and Kellmarsh",
        party: "Conservative",
        values: ["opportunity", "safety", "community"],
        focus: "rural transport and the services villages depend on",
        partner: "Harrowden Rural Community Council",
    },
    Member {
        id: "uk-mp:9103",
        name: "Fiona MacLeod",
        constituency: "Strathallan Coast",
        party: "Scottish National Party",
        values: ["sustainability", "community", "love"],
        focus: "a fair move from fishing and oil to new coastal work",
        partner: "Strathallan Coast Development Trust",
    },
    Member {
        id: "uk-mp:9104",
        name: "Priya Raman",
        constituency: "Westbury Fields",
        party: "Liberal Democrat",
        values: ["equity", "opportunity", "dignity"],
        focus: "care for older people and the families who look after them",
        partner: "Westbury Carers Centre",
    },
    Member {
        id: "uk-mp:9105",
        name: "Tom Ashworth",
        constituency: "Calder Moor",
        party: "Green Party",
        values: ["sustainability", "love", "safety"],
        focus: "flood resilience and nature recovery along the valley",
        partner: "Calder Moor Flood Action Group",
    },
    Member {
        id: "uk-mp:9106",
        name: "Rachel Dunmore",
        constituency: "Ellesford South",
        party: "Independent",
        values: ["dignity", "community", "safety"],
        focus: "a town centre where women feel safe after dark",
        partner: "Ellesford Women's Refuge",
    },
    Member {
        id: "uk-mp:9107",
        name: "Daniel Osei",
        constituency: "Brackenfield North",
        party: "Labour",
        values: ["opportunity", "equity", "community"],
        focus: "apprenticeships with the employers already in town",
        partner: "Brackenfield Youth Trust",
    },
    Member {
        id: "uk-mp:9108",
        name: "Helen Carver",
        constituency: "Wyvern Marches",
        party: "Conservative",
        values: ["safety", "community", "dignity"],
        focus: "keeping the community hospital open at night",
        partner: "Wyvern Marches Hospice",
    },
    Member {
        id: "uk-mp:9109",
        name: "Iwan Llewellyn",
        constituency: "Cwm Tawel",
        party: "Plaid Cymru",
        values: ["community", "sustainability", "love"],
        focus: "Welsh-language community life and locally owned energy",
        partner: "Menter Cwm Tawel",
    },
    Member {
        id: "uk-mp:9110",
        name: "Grace Whitfield",
        constituency: "Northmere and Fen",
        party: "Liberal Democrat",
        values: ["dignity", "equity", "opportunity"],
        focus: "mental health support that young people can reach quickly",
        partner: "Northmere Mind Matters",
    },
];

/// The key id a member signs with.
pub fn member_key(member: &Member) -> String {
    format!("{}.key-1", member.id)
}

pub fn write(script: &mut Script) {
    let opening = at("2025-01-02", 9);
    for body in BODIES {
        script.registry(
            opening,
            ActorRegistration::new(body.id, body.name, body.kind)
                .identifiers([format!("org-id:{}", body.id)])
                .url(format!(
                    "https://www.gov.uk/government/organisations/{}",
                    body.slug
                )),
        );
        script.grant(opening, body.id, body.key, &[KeyRole::Emitter]);
    }

    let members_join = at("2025-01-06", 9);
    for member in MEMBERS {
        let when = if member.id == "uk-mp:9106" {
            // Elected at a by-election in June 2025.
            at("2025-06-09", 9)
        } else {
            members_join
        };
        let number = &member.id["uk-mp:".len()..];
        script.registry(
            when,
            ActorRegistration::new(member.id, member.name, ActorKind::Mp)
                .identifiers([format!("uk-parliament-member:{number}")])
                .seat(member.constituency, member.party)
                .url(format!("https://members.example.org/member/{number}")),
        );
        script.grant(when, member.id, &member_key(member), &[KeyRole::Emitter]);
    }

    let watchdog_joins = at("2025-06-02", 9);
    script.registry(
        watchdog_joins,
        ActorRegistration::new(WATCHDOG, "Civic Audit Trust", ActorKind::Watchdog)
            .identifiers([format!("org-id:{WATCHDOG}")])
            .url("https://civic-audit.example.org"),
    );
    script.grant(
        watchdog_joins,
        WATCHDOG,
        "civic-audit-key-1",
        &[KeyRole::Assessor],
    );

    let party_loaded = at("2026-02-02", 9);
    script.registry(
        party_loaded,
        ActorRegistration::new(PARTY, "Governing party (2024 manifesto)", ActorKind::Party)
            .url("https://manifesto.example.org"),
    );
    script.grant(
        party_loaded,
        PARTY,
        "party-manifesto-key-1",
        &[KeyRole::Emitter],
    );

    // The council exists once DCMS has set it up (see the covenant story).
    let council_formed = at("2025-11-03", 9);
    script.registry(
        council_formed,
        ActorRegistration::new(
            COUNCIL,
            "Joint Civil Society Covenant Council",
            ActorKind::JointBody,
        )
        .url("https://covenant-council.example.org"),
    );
    script.grant(
        council_formed,
        COUNCIL,
        "covenant-council-key-1",
        &[KeyRole::Emitter, KeyRole::Assessor],
    );

    // Machinery of government (simulated): an agency merged into a department ...
    script.registry(
        at("2025-10-01", 9),
        Succession::new(
            COMMUNITY_AGENCY,
            MHCLG,
            SuccessionKind::Merged,
            crate::script::day("2025-10-01"),
        )
        .note(
            "The Community Partnerships Agency closes; its open programmes move into the \
             department.",
        ),
    );
    script.revoke(
        at("2025-10-08", 9),
        "community-agency-key-1",
        "the agency has closed; its work is published by its successor",
    );

    // ... and a department renamed.
    let renamed = at("2026-01-26", 9);
    script.registry(
        renamed,
        ActorRegistration::new(
            CLEAN_POWER,
            "Department for Clean Power and Energy Security",
            ActorKind::Department,
        )
        .identifiers([format!("org-id:{CLEAN_POWER}")])
        .url("https://www.gov.uk/government/organisations/department-for-clean-power-and-energy-security"),
    );
    script.grant(
        renamed,
        CLEAN_POWER,
        "clean-power-key-1",
        &[KeyRole::Emitter],
    );
    script.registry(
        at("2026-02-02", 9),
        Succession::new(
            DESNZ,
            CLEAN_POWER,
            SuccessionKind::Renamed,
            crate::script::day("2026-02-02"),
        )
        .note("Renamed; the department's remit is unchanged."),
    );
    script.revoke(
        at("2026-02-09", 9),
        "desnz-key-1",
        "department renamed; the successor speaks with its own key",
    );

    // A routine key rotation.
    script.grant(
        at("2026-03-02", 9),
        HOME_OFFICE,
        "home-office-key-2",
        &[KeyRole::Emitter],
    );
    script.revoke(
        at("2026-03-02", 10),
        "home-office-key-1",
        "scheduled key rotation",
    );
}
