//! Fictional MPs answering the five asks of the "We Imagine Better" call: share your values,
//! share a long-term vision, commit to partnership with civil society, be accountable and
//! transparent, and be honest about mistakes as well as successes. Each member's year goes
//! differently: some deliver everything, some deliver part, some miss, one withdraws.

use super::evidence;
use super::registry::{MEMBERS, Member, WATCHDOG};
use crate::script::{Script, Timestamp, at, day};
use covenant_core::event::Date;
use covenant_core::proto::{ActionType, AmendmentClass, SourceKind, Stance, Verdict};
use covenant_emit::build::{
    Action, Amendment, Assessment, Commitment, Indicator, Outcome, Withdrawal,
};

/// How one commitment turns out by the end of the simulated period.
#[derive(Clone, Copy)]
enum Fate {
    Delivered,
    Partly,
    Missed,
    Withdrawn,
    /// Past its due date with no outcome.
    Overdue,
    /// Due later; work has started.
    InProgress,
    /// Due later; nothing done yet.
    NotStarted,
    /// Deadline moved once, then delivered.
    AmendedThenDelivered,
}

/// A member's five answers, in the order of the asks, and how many forums they held.
struct Plan {
    member: &'static str,
    fates: [Fate; 5],
    forums: usize,
}

const PLANS: &[Plan] = &[
    Plan {
        member: "uk-mp:9101",
        fates: [
            Fate::Delivered,
            Fate::Delivered,
            Fate::Delivered,
            Fate::Delivered,
            Fate::Delivered,
        ],
        forums: 4,
    },
    Plan {
        member: "uk-mp:9102",
        fates: [
            Fate::Delivered,
            Fate::Partly,
            Fate::Partly,
            Fate::Overdue,
            Fate::Withdrawn,
        ],
        forums: 2,
    },
    Plan {
        member: "uk-mp:9103",
        fates: [
            Fate::Delivered,
            Fate::AmendedThenDelivered,
            Fate::Delivered,
            Fate::Partly,
            Fate::Missed,
        ],
        forums: 4,
    },
    Plan {
        member: "uk-mp:9104",
        fates: [
            Fate::Delivered,
            Fate::InProgress,
            Fate::Delivered,
            Fate::Delivered,
            Fate::Partly,
        ],
        forums: 5,
    },
    Plan {
        member: "uk-mp:9105",
        fates: [
            Fate::Delivered,
            Fate::Missed,
            Fate::Partly,
            Fate::Delivered,
            Fate::Delivered,
        ],
        forums: 3,
    },
    Plan {
        member: "uk-mp:9106",
        fates: [
            Fate::Delivered,
            Fate::NotStarted,
            Fate::Overdue,
            Fate::Missed,
            Fate::InProgress,
        ],
        forums: 1,
    },
    Plan {
        member: "uk-mp:9107",
        fates: [
            Fate::Delivered,
            Fate::Delivered,
            Fate::Delivered,
            Fate::Partly,
            Fate::Missed,
        ],
        forums: 4,
    },
    Plan {
        member: "uk-mp:9108",
        fates: [
            Fate::Delivered,
            Fate::Partly,
            Fate::Delivered,
            Fate::Overdue,
            Fate::Delivered,
        ],
        forums: 4,
    },
    Plan {
        member: "uk-mp:9109",
        fates: [
            Fate::Delivered,
            Fate::Delivered,
            Fate::Partly,
            Fate::Delivered,
            Fate::Partly,
        ],
        forums: 3,
    },
    Plan {
        member: "uk-mp:9110",
        fates: [
            Fate::Delivered,
            Fate::InProgress,
            Fate::Delivered,
            Fate::Missed,
            Fate::Delivered,
        ],
        forums: 4,
    },
];

const TOPICS: &[&str] = &[
    "rising demand at the food bank",
    "damp and mould in privately rented homes",
    "cuts to evening bus services",
    "the closure of a youth club",
    "waiting times for children's mental health services",
    "the cost of school uniforms",
    "volunteers burning out",
    "short-term grants that end before the work does",
];

const CALL: (&str, &str) = (
    "We Imagine Better: a call to every candidate",
    "https://weimaginebetter.example.org/the-call",
);

fn member(id: &str) -> &'static Member {
    MEMBERS
        .iter()
        .find(|member| member.id == id)
        .unwrap_or_else(|| panic!("the demo script names an unknown member {id}"))
}

/// A date `days` after `date`.
fn plus(date: Date, days: i32) -> Date {
    Date(date.days() + days)
}

fn moment(date: Date, hour: i64) -> Timestamp {
    at(&date.to_string(), hour)
}

/// Small per-member variations in timing, so the members do not move in lockstep.
fn stagger(index: usize) -> i32 {
    (index as i32 * 3) % 11
}

pub fn write(script: &mut Script) {
    for (index, plan) in PLANS.iter().enumerate() {
        let member = member(plan.member);
        let late_joiner = member.id == "uk-mp:9106";
        let made_on = if late_joiner {
            day("2025-06-16")
        } else {
            plus(day("2025-01-20"), stagger(index))
        };
        let asks = Asks {
            member,
            made_on,
            stagger: stagger(index),
            late_joiner,
        };
        asks.values(script, plan.fates[0]);
        asks.vision(script, plan.fates[1]);
        asks.partnership(script, plan.fates[2], plan.forums);
        asks.accountability(script, plan.fates[3]);
        asks.honesty(script, plan.fates[4]);
    }
}

/// One of the five commitments, before it is made.
struct Pledge<'a> {
    ask: &'a str,
    title: String,
    text: String,
    due_by: Date,
    themes: &'a [&'a str],
    indicator: Option<Indicator>,
}

/// An outcome, if the commitment's fate calls for one: the summary for delivered, partly
/// delivered and not delivered, in that order.
struct Report<'a> {
    fate: Fate,
    on: Date,
    summaries: [&'a str; 3],
    lessons: &'a str,
    actual: Option<(f64, &'a str)>,
}

struct Asks {
    member: &'static Member,
    made_on: Date,
    stagger: i32,
    late_joiner: bool,
}

impl Asks {
    fn id(&self, ask: &str) -> String {
        format!("{}-{ask}", self.member.id.replace("uk-mp:", "mp-"))
    }

    fn commit(&self, script: &mut Script, pledge: Pledge<'_>) -> String {
        let id = self.id(pledge.ask);
        let mut commitment = Commitment::new(&id, pledge.title, pledge.text, self.made_on)
            .source(SourceKind::Pledge, CALL.0, CALL.1)
            .due_by(pledge.due_by)
            .themes(pledge.themes.iter().copied())
            .partners([self.member.partner]);
        if let Some(indicator) = pledge.indicator {
            commitment = commitment.indicator(indicator);
        }
        script.say(self.member.id, moment(self.made_on, 10), commitment);
        id
    }

    fn act(
        &self,
        script: &mut Script,
        id: &str,
        suffix: &str,
        on: Date,
        kind: ActionType,
        description: String,
    ) {
        script.say(
            self.member.id,
            moment(on, 12),
            Action::new(format!("{id}-{suffix}"), [id], kind, on, description)
                .partners([self.member.partner]),
        );
    }

    fn report(&self, script: &mut Script, id: &str, report: Report<'_>) -> Option<String> {
        let Report {
            fate,
            on,
            summaries,
            lessons,
            actual,
        } = report;
        let (verdict, summary) = match fate {
            Fate::Delivered | Fate::AmendedThenDelivered => (Verdict::Delivered, summaries[0]),
            Fate::Partly => (Verdict::PartlyDelivered, summaries[1]),
            Fate::Missed => (Verdict::NotDelivered, summaries[2]),
            Fate::Withdrawn | Fate::Overdue | Fate::InProgress | Fate::NotStarted => return None,
        };
        let mut outcome = Outcome::new(id, verdict, on, summary).lessons(lessons);
        if let Some((value, period)) = actual {
            outcome = outcome.indicator_actual(value, period);
        }
        Some(script.say(self.member.id, moment(on, 15), outcome))
    }

    fn values(&self, script: &mut Script, fate: Fate) {
        let [first, second, third] = self.member.values;
        let id = self.commit(
            script,
            Pledge {
                ask: "values",
                title: "Share the values I will lead with".to_owned(),
                text: format!(
                "I will publish the values I will lead with as Member for {}: {first}, {second} \
                 and {third}, and explain how each will guide my votes and my casework.",
                self.member.constituency
            ),
                due_by: plus(self.made_on, 100),
                themes: &self.member.values,
                indicator: None,
            },
        );
        let published = plus(self.made_on, 30 + self.stagger);
        self.act(
            script,
            &id,
            "statement",
            published,
            ActionType::Publication,
            "Published a values statement and read it out at a public meeting in the \
             constituency."
                .to_owned(),
        );
        self.report(
            script,
            &id,
            Report {
                fate,
                on: plus(published, 14),
                summaries: [
                    "The statement is published and I have used it to explain two difficult votes.",
                    "The statement is published, but I have not yet said how it shapes my votes.",
                    "I did not publish the statement.",
                ],
                lessons: "People asked fewer questions about the values than about how I applied \
                          them; next time I will attach examples.",
                actual: None,
            },
        );
    }

    fn vision(&self, script: &mut Script, fate: Fate) {
        let due_by = match fate {
            Fate::InProgress | Fate::NotStarted if self.late_joiner => day("2027-06-30"),
            Fate::InProgress | Fate::NotStarted => day("2027-03-31"),
            _ => day("2025-12-31"),
        };
        let id = self.commit(
            script,
            Pledge {
                ask: "vision",
                title: format!("A ten-year vision for {}", self.member.constituency),
                text: format!(
                    "I will publish a ten-year vision for {}, built with residents and local \
                     organisations, centred on {}.",
                    self.member.constituency, self.member.focus
                ),
                due_by,
                themes: &["community", self.member.values[0]],
                indicator: None,
            },
        );
        if matches!(fate, Fate::NotStarted) {
            return;
        }
        let listening = plus(self.made_on, 75 + self.stagger);
        self.act(
            script,
            &id,
            "listening-events",
            listening,
            ActionType::Consultation,
            format!(
                "Held {} listening events across the constituency to gather ideas for the vision.",
                4 + self.stagger % 4
            ),
        );
        if matches!(fate, Fate::InProgress) {
            return;
        }
        self.act(
            script,
            &id,
            "draft",
            plus(listening, 120),
            ActionType::Publication,
            "Published a draft vision for comment.".to_owned(),
        );
        let mut reported_on = plus(day("2025-12-10"), self.stagger);
        if matches!(fate, Fate::AmendedThenDelivered) {
            script.say(
                self.member.id,
                moment(day("2025-12-01"), 11),
                Amendment::new(
                    &id,
                    AmendmentClass::DeadlineChange,
                    "The harbour consultation ran longer than planned and the vision should \
                     reflect it.",
                )
                .new_due_by(day("2026-06-30")),
            );
            reported_on = day("2026-06-22");
        }
        self.report(
            script,
            &id,
            Report {
                fate,
                on: reported_on,
                summaries: [
                    "The vision is published, with the changes residents asked for.",
                    "A draft is published, but the final vision still lacks the measures \
                     residents asked for.",
                    "The vision was not published: the draft drew too little response to stand on.",
                ],
                lessons: "The listening events reached people who already come to meetings. \
                          Going to schools and workplaces would have reached more.",
                actual: None,
            },
        );
    }

    fn partnership(&self, script: &mut Script, fate: Fate, forums: usize) {
        let (due_by, period) = if self.late_joiner {
            (day("2026-06-30"), "July 2025 to June 2026")
        } else {
            (day("2025-12-31"), "2025")
        };
        let id = self.commit(
            script,
            Pledge {
                ask: "partnership",
                title: "Meet local civil society every quarter".to_owned(),
                text: format!(
                    "I will hold an open forum with local charities, community groups and faith \
                     groups every quarter, co-hosted by {}, and publish what was raised and what \
                     I did about it.",
                    self.member.partner
                ),
                due_by,
                themes: &["community", "partnership"],
                indicator: Some(
                    Indicator::new("forums held", "forums", true)
                        .baseline(0.0, Some(self.made_on))
                        .target(4.0, period),
                ),
            },
        );
        for forum in 0..forums {
            let held_on = plus(self.made_on, 40 + 70 * forum as i32 + self.stagger);
            let topic = TOPICS[(forum + self.stagger as usize) % TOPICS.len()];
            self.act(
                script,
                &id,
                &format!("forum-{}", forum + 1),
                held_on,
                ActionType::Partnership,
                format!(
                    "Held forum {} with {}; the main issue raised was {topic}.",
                    forum + 1,
                    self.member.partner
                ),
            );
        }
        let reported_on = plus(due_by, 12 + self.stagger);
        let lessons = format!(
            "Co-hosting with {} brought in groups who would never have come to an MP's surgery. \
             Publishing follow-ups took longer than the forums themselves.",
            self.member.partner
        );
        self.report(
            script,
            &id,
            Report {
                fate,
                on: reported_on,
                summaries: [
                    "Every quarterly forum took place and the notes and follow-ups are published.",
                    "Fewer forums took place than promised, though notes of each are published.",
                    "The forums did not take place.",
                ],
                lessons: &lessons,
                actual: Some((forums as f64, period)),
            },
        );
    }

    fn accountability(&self, script: &mut Script, fate: Fate) {
        let due_by = if self.late_joiner {
            day("2026-07-31")
        } else {
            day("2026-01-31")
        };
        let id = self.commit(
            script,
            Pledge {
                ask: "accountability",
                title: "Publish a yearly report of promises and progress".to_owned(),
                text: "Each year I will publish a plain report of what I promised, what I did \
                       and what changed, including what I did not manage."
                    .to_owned(),
                due_by,
                themes: &["transparency"],
                indicator: None,
            },
        );
        if matches!(fate, Fate::Missed) {
            self.act(
                script,
                &id,
                "template",
                plus(due_by, -60),
                ActionType::Other,
                "Agreed a simple template for the report with two local organisations.".to_owned(),
            );
        } else {
            self.act(
                script,
                &id,
                "drafting",
                plus(due_by, -45 + self.stagger),
                ActionType::Consultation,
                "Asked local organisations which promises they wanted the report to cover."
                    .to_owned(),
            );
        }
        if matches!(fate, Fate::Overdue) {
            return;
        }
        if matches!(fate, Fate::Delivered | Fate::Partly) {
            self.act(
                script,
                &id,
                "report",
                plus(due_by, -3),
                ActionType::Publication,
                "Published the yearly report.".to_owned(),
            );
        }
        let outcome = self.report(
            script, &id,
            Report {
                fate,
                on: plus(due_by, 10),
                summaries: [
                "The report is published, covering every promise, including two I did not keep.",
                "The report is published but leaves out promises I made at local meetings.",
                "No report was published this year.",
            ],
                lessons: "Keeping a running list during the year would have made the report far \
                          quicker to write.",
                actual: None,
            },
        );
        if self.member.id == "uk-mp:9101"
            && let Some(outcome) = outcome
        {
            script.say(
                WATCHDOG,
                moment(plus(due_by, 30), 9),
                Assessment::new(
                    &id,
                    outcome,
                    Stance::Agrees,
                    "We compared the report with the member's published pledges: every pledge is \
                     covered, including those not kept.",
                )
                .evidence(evidence(
                    "Civic Audit Trust: constituency reports reviewed",
                    "https://civic-audit.example.org/reviews/constituency-reports-2026",
                )),
            );
        }
    }

    fn honesty(&self, script: &mut Script, fate: Fate) {
        let due_by = if self.late_joiner {
            day("2026-12-31")
        } else {
            day("2026-01-31")
        };
        let id = self.commit(
            script,
            Pledge {
                ask: "honesty",
                title: "Be honest about mistakes as well as successes".to_owned(),
                text: "Alongside my yearly report I will publish an account of decisions I got \
                       wrong and what I learned, and invite local organisations to add their own \
                       view."
                    .to_owned(),
                due_by,
                themes: &["transparency", "dignity"],
                indicator: None,
            },
        );
        if matches!(fate, Fate::Withdrawn) {
            script.say(
                self.member.id,
                moment(day("2025-11-17"), 11),
                Withdrawal::new(
                    &id,
                    "I will no longer publish a separate account: my party has asked members to \
                     use a common format for constituency reports.",
                ),
            );
            return;
        }
        if matches!(fate, Fate::Missed) {
            self.report(
                script,
                &id,
                Report {
                    fate,
                    on: plus(due_by, 14),
                    summaries: [
                        "",
                        "",
                        "I did not publish an account of my mistakes this year.",
                    ],
                    lessons: "I underestimated how hard it is to write honestly about my own \
                              mistakes during a busy year. That is an explanation, not an \
                              excuse.",
                    actual: None,
                },
            );
            return;
        }
        // A late joiner's account is due at the end of 2026; the invitation went out in the
        // autumn.
        let invited_on = if self.late_joiner {
            day("2026-09-14")
        } else {
            plus(due_by, -50 + self.stagger)
        };
        self.act(
            script,
            &id,
            "invitation",
            invited_on,
            ActionType::Consultation,
            "Invited local organisations to tell me where they think I got things wrong."
                .to_owned(),
        );
        if matches!(fate, Fate::InProgress) {
            return;
        }
        self.report(
            script,
            &id,
            Report {
                fate,
                on: plus(due_by, 12),
                summaries: [
                    "Published an account of three decisions I got wrong, with responses from \
                     local organisations alongside.",
                    "Published an account of one mistake; organisations' responses are still to \
                     be added.",
                    "",
                ],
                lessons: "The responses from local organisations were sharper than my own \
                          account, and more useful.",
                actual: None,
            },
        );
    }
}
