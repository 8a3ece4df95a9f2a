//! The scenario: a small log of five actors and eight commitments over five months of 2026,
//! written by a [`LogWriter`], that exercises every status and flag the projections know.

use crate::log::{LogWriter, WriteError};
use covenant_core::event::Date;
use covenant_core::proto;
use covenant_emit::build::{Commitment, Indicator};
use covenant_store::LogStore;

fn day(text: &str) -> Result<Date, WriteError> {
    Date::parse(text).ok_or_else(|| WriteError::Date(text.to_owned()))
}

/// Actors of the scenario.
pub const DCMS: &str = "GB-GOV-DCMS";
pub const DCMS2: &str = "GB-GOV-DCMS2";
pub const DHSC: &str = "GB-GOV-DHSC";
pub const MP: &str = "uk-mp:4514";
pub const WATCHDOG: &str = "GB-CHC-1000001";

/// 2026-01-05T09:00:00Z.
pub const START_NS: u64 = 1_767_603_600_000_000_000;

/// What [`write`] wrote, for tests to refer to.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    pub libraries_outcome: String,
    pub libraries_dispute: String,
    pub nurses_outcome: String,
    pub nurses_outcome_retraction: String,
    pub error_made: String,
    pub sport_amendment: String,
    pub succession: String,
    /// Log size just before the nurses outcome was retracted.
    pub size_before_nurses_retraction: u64,
    /// Log size just after the libraries outcome.
    pub size_after_libraries_outcome: u64,
    /// Log size at the end.
    pub size: u64,
}

/// A small log that exercises every status and flag, stored over five months of 2026:
///
/// | commitment | owner (maker) | themes | latest state (judged 2026-06-01) |
/// |---|---|---|---|
/// | dcms-libraries | DCMS | community, opportunity | delivered 2026-04-20, disputed, £50,000 pledged |
/// | dcms-arts | DCMS2 (DCMS) | opportunity | not started, due 2026-03-31: overdue |
/// | dcms-sport | DCMS2 (DCMS) | community, dignity | in progress; target 100→80, due 2026-06-30→2027-06-30; £10,000 spent |
/// | dcms-museums | DCMS | equity | withdrawn 2026-04-01 |
/// | dcms-error | DCMS2 (DCMS) | community | retracted |
/// | dhsc-waiting | DHSC | dignity, safety | partly delivered 2026-03-15 |
/// | dhsc-nurses | DHSC | safety | in progress (its not-delivered outcome was retracted) |
/// | mp4514-bus | MP | community | delivered 2026-04-20 |
pub fn write(store: &dyn LogStore) -> Result<Scenario, WriteError> {
    use proto::{ActorKind, AmendedField, AmendmentClass, MoneyStage, Stance, Verdict};
    let mut log = LogWriter::genesis(store, START_NS)?;
    let mut out = Scenario::default();
    for (actor, name, kind) in [
        (
            DCMS,
            "Department for Culture, Media and Sport",
            ActorKind::Department,
        ),
        (
            DCMS2,
            "Department for Culture and Sport",
            ActorKind::Department,
        ),
        (
            DHSC,
            "Department of Health and Social Care",
            ActorKind::Department,
        ),
        (MP, "Jo Bloggs MP", ActorKind::Mp),
        (WATCHDOG, "Full Check", ActorKind::Watchdog),
    ] {
        log.register(actor, name, kind)?;
    }
    let made = "2026-01-05";
    log.commitment(
        DCMS,
        "dcms-libraries",
        "Keep every library open",
        "Keep every public library in England open through 2026",
        made,
        "2026-12-31",
        &["community", "opportunity"],
    )?;
    log.commitment(
        DCMS,
        "dcms-arts",
        "Arts in every school",
        "Fund arts teaching in every state school",
        made,
        "2026-03-31",
        &["opportunity"],
    )?;
    // No source, unlike the writer's `commitment`, and a measurable target.
    let pitches = Indicator::new("pitches built", "pitches", true)
        .baseline(0.0, None)
        .target(100.0, "2026");
    log.emit(
        DCMS,
        Commitment::new(
            "dcms-sport",
            "Sports pitches",
            "Build 100 new community sports pitches",
            day(made)?,
        )
        .due_by(day("2026-06-30")?)
        .themes(["community", "dignity"])
        .indicator(pitches),
    )?;
    log.commitment(
        DCMS,
        "dcms-museums",
        "Free museum entry",
        "Make entry to national museums free for children",
        made,
        "2026-09-30",
        &["equity"],
    )?;
    out.error_made = log.commitment(
        DCMS,
        "dcms-error",
        "Duplicate entry",
        "Published twice by mistake",
        made,
        "2026-02-01",
        &["community"],
    )?;
    log.commitment(
        DHSC,
        "dhsc-waiting",
        "Cut waiting lists",
        "Cut hospital waiting lists by a quarter",
        made,
        "2026-02-28",
        &["dignity", "safety"],
    )?;
    log.commitment(
        DHSC,
        "dhsc-nurses",
        "Recruit nurses",
        "Recruit 5,000 more nurses",
        made,
        "2026-12-31",
        &["safety"],
    )?;
    log.commitment(
        MP,
        "mp4514-bus",
        "Save the number 9 bus",
        "Save the Number 9 bus route through the valley",
        made,
        "2026-05-01",
        &["community"],
    )?;
    log.advance_days(15); // 2026-01-20
    log.action(
        DCMS,
        &["dcms-libraries"],
        Some((5_000_000, "GBP", MoneyStage::Pledged)),
    )?;
    log.action(
        DCMS,
        &["dcms-sport"],
        Some((1_000_000, "GBP", MoneyStage::Spent)),
    )?;
    log.action(DHSC, &["dhsc-nurses"], None)?;
    log.advance_days(21); // 2026-02-10
    out.sport_amendment = log.amend(
        DCMS,
        "dcms-sport",
        AmendmentClass::Revision,
        &[
            (AmendedField::TargetValue, "80"),
            (AmendedField::DueBy, "2027-06-30"),
        ],
    )?;
    log.advance_days(33); // 2026-03-15
    log.outcome(DHSC, "dhsc-waiting", Verdict::PartlyDelivered, "2026-03-15")?;
    log.advance_days(17); // 2026-04-01
    out.nurses_outcome = log.outcome(DHSC, "dhsc-nurses", Verdict::NotDelivered, "2026-04-01")?;
    log.withdraw(DCMS, "dcms-museums")?;
    log.advance_days(19); // 2026-04-20
    log.outcome(MP, "mp4514-bus", Verdict::Delivered, "2026-04-20")?;
    out.libraries_outcome =
        log.outcome(DCMS, "dcms-libraries", Verdict::Delivered, "2026-04-20")?;
    out.size_after_libraries_outcome = log.next_seq();
    log.retract(DCMS, &out.error_made)?;
    log.advance_days(5); // 2026-04-25
    out.libraries_dispute = log.assess(
        WATCHDOG,
        "dcms-libraries",
        &out.libraries_outcome,
        Stance::Disputes,
    )?;
    log.advance_days(6); // 2026-05-01
    out.succession = log.succeed(DCMS, DCMS2, &[])?;
    log.advance_days(9); // 2026-05-10
    out.size_before_nurses_retraction = log.next_seq();
    out.nurses_outcome_retraction = log.retract(DHSC, &out.nurses_outcome)?;
    out.size = log.flush()?.size;
    Ok(out)
}
