//! `covenant emit`: publish events from flags, from a CSV or JSON file of many (one actor's
//! rows with `--key`, several actors' with `--keys DIR`), or pre-signed envelopes from a file.
//! Every event is checked before anything is published; `--dry-run` stops there, listing each
//! event's id and checking its references.
//!
//! Events go to NATS when a NATS URL is configured, and otherwise, given `--ledger URL`,
//! through the ledger's HTTPS ingest; either way through the same outbox and retries.

use crate::config::{self, ClientConfigArgs};
use anyhow::{Context, bail};
use covenant_emit::build::{SealedEvent, Speaker, now_ms};
use covenant_emit::emitter::{Emitter, EmitterConfig};
use covenant_emit::envelope_file;
use covenant_emit::keyring::{Finding, KeyRing, ReferenceCheck};
use covenant_emit::keys::{KeyFile, KeyKind};
use covenant_emit::publish::{PublisherConfig, Receipt, RetryPolicy};
use covenant_emit::rows::{self, Cell, Location, Row};
use covenant_emit::status::{EventStatus, LedgerClient};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Row errors shown before giving up, so a spreadsheet can be fixed in one pass.
const MAX_ERRORS_SHOWN: usize = 20;

#[derive(clap::Args)]
pub struct EmitArgs {
    #[command(flatten)]
    config: ClientConfigArgs,
    /// The emitter's key file (from `covenant keys generate --kind emitter`).
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "keys")]
    key: Option<PathBuf>,
    /// A directory of emitter key files, one per actor: each row is signed with the key of
    /// the actor its `actor` column names, so one file can hold rows for several actors.
    #[arg(long, global = true, value_name = "DIR")]
    keys: Option<PathBuf>,
    /// With --key: the actor to speak as (default: the key file's actor). With --keys: the
    /// actor whose key signs an event given by flags, or every row of a file.
    #[arg(long, global = true)]
    actor: Option<String>,
    /// With --key: the granted key id (default: the key file's key id).
    #[arg(long, global = true)]
    key_id: Option<String>,
    /// Directory of events not yet acknowledged (by NATS, or by the ledger over HTTPS); they
    /// are re-sent on the next run.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "covenant-outbox"
    )]
    outbox: PathBuf,
    /// Check every event and print, for each row, the event id it will have, without
    /// publishing. With --ledger, references to commitments and outcomes are also looked up
    /// in the live ledger.
    #[arg(long, global = true)]
    dry_run: bool,
    /// The ledger's HTTP address, for example http://127.0.0.1:8080. Without a NATS URL,
    /// events are published through its HTTPS ingest (POST /v1/events); with one, the ledger
    /// is asked afterwards whether each event was accepted, and why not if rejected.
    #[arg(long, global = true, value_name = "URL")]
    ledger: Option<String>,
    /// How long to wait for the ledger's decision, in seconds.
    #[arg(long, global = true, default_value_t = 10)]
    wait: u64,
    /// How long to keep retrying while NATS or the ledger is unreachable, in seconds.
    #[arg(long, global = true, default_value_t = 120)]
    retry_for: u64,
    /// A CSV or JSON (array or JSON lines) file of events, one per row (docs/EMITTERS.md).
    #[arg(long, value_name = "FILE", conflicts_with = "envelope")]
    file: Option<PathBuf>,
    /// The file's format; by default from its extension (.csv, or .json/.jsonl/.ndjson).
    #[arg(long, value_parser = ["csv", "json"])]
    format: Option<String>,
    /// A file of signed envelopes (from `covenant keys grant --out` or `covenant demo generate`).
    #[arg(long, value_name = "FILE")]
    envelope: Option<PathBuf>,
    #[command(subcommand)]
    event: Option<Box<EventCommand>>,
}

/// One event from flags. Flags are named after the CSV columns.
#[derive(clap::Subcommand)]
enum EventCommand {
    /// A new commitment (required: --commitment-id --title --text --made-on).
    Commitment(Box<CommitmentFlags>),
    /// A change to a commitment (required: --commitment-id --class --rationale, and --field with
    /// --new-value or one or more --change).
    Amendment(AmendmentFlags),
    /// A commitment dropped (required: --commitment-id --reason).
    Withdrawal(WithdrawalFlags),
    /// Something done (required: --action-id --commitment-ids --type --taken-on --description).
    Action(ActionFlags),
    /// What came of a commitment (required: --commitment-id --verdict --reported-on).
    Outcome(OutcomeFlags),
    /// A view of a reported outcome (required: --commitment-id --stance --summary).
    Assessment(AssessmentFlags),
    /// Withdraw one of your own events published in error (required: --retracts --reason).
    Retraction(RetractionFlags),
    /// Adopt a candidate's or party's pledge as a public body (required: --commitment-id --adopted-on).
    Adoption(AdoptionFlags),
}

#[derive(clap::Args)]
struct CommonFlags {
    /// Event id (ULID or UUIDv7); default: derived from the content, so re-running is safe.
    #[arg(long)]
    event_id: Option<String>,
    /// When it happened: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or Unix milliseconds.
    #[arg(long)]
    occurred_at: Option<String>,
}

#[derive(clap::Args)]
struct CommitmentFlags {
    #[command(flatten)]
    common: CommonFlags,
    /// The commitment's id, unique in the log, for example dcms-covenant-01.
    #[arg(long)]
    commitment_id: Option<String>,
    /// A short title.
    #[arg(long)]
    title: Option<String>,
    /// The promise, verbatim.
    #[arg(long)]
    text: Option<String>,
    /// The date the promise was made (YYYY-MM-DD).
    #[arg(long)]
    made_on: Option<String>,
    /// The date it is due by (YYYY-MM-DD), if it has one.
    #[arg(long)]
    due_by: Option<String>,
    /// manifesto, covenant, speech, parliamentary_answer, policy_paper, pledge or other.
    #[arg(long)]
    source_kind: Option<String>,
    /// The title of the source document.
    #[arg(long)]
    source_title: Option<String>,
    /// A link to the source document.
    #[arg(long)]
    source_url: Option<String>,
    /// Comma-separated lower-case tags, for example community,equity.
    #[arg(long, value_delimiter = ',')]
    themes: Vec<String>,
    /// Comma-separated partner organisations.
    #[arg(long, value_delimiter = ',')]
    partners: Vec<String>,
    /// What the indicator measures, for example "nurses in post".
    #[arg(long)]
    indicator_measure: Option<String>,
    /// The indicator's unit, for example "people" or "%".
    #[arg(long)]
    indicator_unit: Option<String>,
    /// true (the default) or false: whether a higher value is better.
    #[arg(long)]
    indicator_higher_is_better: Option<String>,
    /// The indicator's value before (needs --indicator-baseline-date).
    #[arg(long)]
    indicator_baseline_value: Option<String>,
    /// The date of the baseline value (YYYY-MM-DD).
    #[arg(long)]
    indicator_baseline_date: Option<String>,
    /// The value promised.
    #[arg(long)]
    indicator_target_value: Option<String>,
    /// When the target applies, for example 2026-27.
    #[arg(long)]
    indicator_target_period: Option<String>,
    /// Makes the indicator a named one with this id (default "main" when the target has a
    /// comparator such as ">=95").
    #[arg(long)]
    indicator_id: Option<String>,
    /// The date the named indicator's target applies by (YYYY-MM-DD).
    #[arg(long)]
    indicator_deadline: Option<String>,
    /// A named indicator, "id|measure|target|unit", for example
    /// "homes|net additional dwellings|>=1500000|homes" (repeatable).
    #[arg(long = "indicator")]
    indicators: Vec<String>,
    /// Comma-separated actor ids of the registered bodies that deliver parts of it.
    #[arg(long, value_delimiter = ',')]
    delivery_partners: Vec<String>,
    /// A further source, "kind|title|URL" (the URL may be left out; repeatable).
    #[arg(long = "source")]
    sources: Vec<String>,
    /// A link to evidence, "URL" or "title|URL" (repeatable).
    #[arg(long)]
    evidence: Vec<String>,
}

#[derive(clap::Args)]
struct AmendmentFlags {
    #[command(flatten)]
    common: CommonFlags,
    /// The commitment's id, unique in the log, for example dcms-covenant-01.
    #[arg(long)]
    commitment_id: Option<String>,
    /// correction, clarification, scope_change, target_change, deadline_change or revision;
    /// it must allow every field changed (docs/SPEC.md 8.3).
    #[arg(long)]
    class: Option<String>,
    /// text, due_by, target_value, target_period, scope, title or comparator.
    #[arg(long)]
    field: Option<String>,
    /// The new value of the field (a date for due_by, a number for target_value).
    #[arg(long)]
    new_value: Option<String>,
    /// The named indicator a target, period or comparator change is about.
    #[arg(long)]
    indicator_id: Option<String>,
    /// One more change in the same event, "field=value" or "field:indicator=value" (repeatable).
    #[arg(long = "change")]
    changes: Vec<String>,
    /// When the change took effect (YYYY-MM-DD); by default the event's date.
    #[arg(long)]
    effective_on: Option<String>,
    /// A source for the change, "kind|title|URL" (repeatable).
    #[arg(long = "source")]
    sources: Vec<String>,
    /// Why it changed, in a sentence or two.
    #[arg(long)]
    rationale: Option<String>,
}

#[derive(clap::Args)]
struct WithdrawalFlags {
    #[command(flatten)]
    common: CommonFlags,
    /// The commitment's id, unique in the log, for example dcms-covenant-01.
    #[arg(long)]
    commitment_id: Option<String>,
    /// Why, in a sentence.
    #[arg(long)]
    reason: Option<String>,
}

#[derive(clap::Args)]
struct ActionFlags {
    #[command(flatten)]
    common: CommonFlags,
    /// The action's id, unique in the log.
    #[arg(long)]
    action_id: Option<String>,
    /// Comma-separated ids of the commitments this action serves.
    #[arg(long, value_delimiter = ',')]
    commitment_ids: Vec<String>,
    /// legislation, funding, publication, consultation, procurement, partnership or other.
    #[arg(long = "type")]
    action_type: Option<String>,
    /// The date it was done (YYYY-MM-DD).
    #[arg(long)]
    taken_on: Option<String>,
    /// What was done.
    #[arg(long)]
    description: Option<String>,
    /// In pounds, for example 1250000 or 1,250,000.50.
    #[arg(long)]
    money_amount: Option<String>,
    /// ISO 4217 code; default GBP.
    #[arg(long)]
    money_currency: Option<String>,
    /// pledged, committed or spent.
    #[arg(long)]
    money_stage: Option<String>,
    /// A link to evidence, "URL" or "title|URL" (repeatable).
    #[arg(long)]
    evidence: Vec<String>,
    /// Comma-separated partner organisations.
    #[arg(long, value_delimiter = ',')]
    partners: Vec<String>,
}

#[derive(clap::Args)]
struct OutcomeFlags {
    #[command(flatten)]
    common: CommonFlags,
    /// The commitment's id, unique in the log, for example dcms-covenant-01.
    #[arg(long)]
    commitment_id: Option<String>,
    /// delivered, partly_delivered or not_delivered.
    #[arg(long)]
    verdict: Option<String>,
    /// The date the outcome was reported (YYYY-MM-DD).
    #[arg(long)]
    reported_on: Option<String>,
    /// A summary, in a sentence or two.
    #[arg(long)]
    summary: Option<String>,
    /// The indicator's value achieved.
    #[arg(long)]
    indicator_actual: Option<String>,
    /// The period the actual value is for, for example 2026-27.
    #[arg(long)]
    actual_period: Option<String>,
    /// A link to evidence, "URL" or "title|URL" (repeatable).
    #[arg(long)]
    evidence: Vec<String>,
    /// What was learned, including what went wrong.
    #[arg(long)]
    lessons: Option<String>,
    /// A named indicator's measured value, "indicator|value" or "indicator|value|YYYY-MM-DD"
    /// (repeatable).
    #[arg(long = "measurement")]
    measurements: Vec<String>,
}

#[derive(clap::Args)]
struct AssessmentFlags {
    #[command(flatten)]
    common: CommonFlags,
    /// The commitment's id, unique in the log, for example dcms-covenant-01.
    #[arg(long)]
    commitment_id: Option<String>,
    /// The event id of the outcome assessed; leave it out to assess the latest outcome.
    #[arg(long)]
    outcome_event_id: Option<String>,
    /// agrees or disputes.
    #[arg(long)]
    stance: Option<String>,
    /// The verdict you think is right: delivered, partly_delivered or not_delivered.
    #[arg(long)]
    assessed_verdict: Option<String>,
    /// A summary, in a sentence or two.
    #[arg(long)]
    summary: Option<String>,
    /// A link to evidence, "URL" or "title|URL" (repeatable).
    #[arg(long)]
    evidence: Vec<String>,
}

#[derive(clap::Args)]
struct RetractionFlags {
    #[command(flatten)]
    common: CommonFlags,
    /// The event id being retracted.
    #[arg(long)]
    retracts: Option<String>,
    /// Why, in a sentence.
    #[arg(long)]
    reason: Option<String>,
}

#[derive(clap::Args)]
struct AdoptionFlags {
    #[command(flatten)]
    common: CommonFlags,
    /// The pledge's commitment id.
    #[arg(long)]
    commitment_id: Option<String>,
    /// The date the body adopted it (YYYY-MM-DD).
    #[arg(long)]
    adopted_on: Option<String>,
    /// How it was adopted, for example "in the King's Speech".
    #[arg(long)]
    note: Option<String>,
}

/// Collects a row's cells from flags.
struct Cells(Vec<(&'static str, Cell)>);

impl Cells {
    fn new(kind: &'static str, common: CommonFlags) -> Self {
        let mut cells = Self(vec![("kind", Cell::Text(kind.to_owned()))]);
        cells.text("event_id", common.event_id);
        cells.text("occurred_at", common.occurred_at);
        cells
    }

    fn text(&mut self, column: &'static str, value: Option<String>) -> &mut Self {
        if let Some(value) = value {
            self.0.push((column, Cell::Text(value)));
        }
        self
    }

    fn list(&mut self, column: &'static str, values: Vec<String>) -> &mut Self {
        if !values.is_empty() {
            self.0.push((column, Cell::List(values)));
        }
        self
    }
}

impl EventCommand {
    fn into_row(self) -> Result<Row, rows::RowError> {
        let cells = match self {
            Self::Commitment(f) => {
                let f = *f;
                let mut c = Cells::new("commitment", f.common);
                c.text("commitment_id", f.commitment_id)
                    .text("title", f.title)
                    .text("text", f.text)
                    .text("made_on", f.made_on)
                    .text("due_by", f.due_by)
                    .text("source_kind", f.source_kind)
                    .text("source_title", f.source_title)
                    .text("source_url", f.source_url)
                    .list("themes", f.themes)
                    .list("partners", f.partners)
                    .text("indicator_measure", f.indicator_measure)
                    .text("indicator_unit", f.indicator_unit)
                    .text("indicator_higher_is_better", f.indicator_higher_is_better)
                    .text("indicator_baseline_value", f.indicator_baseline_value)
                    .text("indicator_baseline_date", f.indicator_baseline_date)
                    .text("indicator_target_value", f.indicator_target_value)
                    .text("indicator_target_period", f.indicator_target_period)
                    .text("indicator_id", f.indicator_id)
                    .text("indicator_deadline", f.indicator_deadline)
                    .list("indicators", f.indicators)
                    .list("delivery_partners", f.delivery_partners)
                    .list("sources", f.sources)
                    .list("evidence", f.evidence);
                c
            }
            Self::Amendment(f) => {
                let mut c = Cells::new("amendment", f.common);
                c.text("commitment_id", f.commitment_id)
                    .text("class", f.class)
                    .text("field", f.field)
                    .text("new_value", f.new_value)
                    .text("indicator_id", f.indicator_id)
                    .list("changes", f.changes)
                    .text("effective_on", f.effective_on)
                    .list("sources", f.sources)
                    .text("rationale", f.rationale);
                c
            }
            Self::Withdrawal(f) => {
                let mut c = Cells::new("withdrawal", f.common);
                c.text("commitment_id", f.commitment_id)
                    .text("reason", f.reason);
                c
            }
            Self::Action(f) => {
                let mut c = Cells::new("action", f.common);
                c.text("action_id", f.action_id)
                    .list("commitment_ids", f.commitment_ids)
                    .text("type", f.action_type)
                    .text("taken_on", f.taken_on)
                    .text("description", f.description)
                    .text("money_amount", f.money_amount)
                    .text("money_currency", f.money_currency)
                    .text("money_stage", f.money_stage)
                    .list("evidence", f.evidence)
                    .list("partners", f.partners);
                c
            }
            Self::Outcome(f) => {
                let mut c = Cells::new("outcome", f.common);
                c.text("commitment_id", f.commitment_id)
                    .text("verdict", f.verdict)
                    .text("reported_on", f.reported_on)
                    .text("summary", f.summary)
                    .text("indicator_actual", f.indicator_actual)
                    .text("actual_period", f.actual_period)
                    .list("evidence", f.evidence)
                    .list("measurements", f.measurements)
                    .text("lessons", f.lessons);
                c
            }
            Self::Assessment(f) => {
                let mut c = Cells::new("assessment", f.common);
                c.text("commitment_id", f.commitment_id)
                    .text("outcome_event_id", f.outcome_event_id)
                    .text("stance", f.stance)
                    .text("assessed_verdict", f.assessed_verdict)
                    .text("summary", f.summary)
                    .list("evidence", f.evidence);
                c
            }
            Self::Retraction(f) => {
                let mut c = Cells::new("retraction", f.common);
                c.text("retracts", f.retracts).text("reason", f.reason);
                c
            }
            Self::Adoption(f) => {
                let mut c = Cells::new("adoption", f.common);
                c.text("commitment_id", f.commitment_id)
                    .text("adopted_on", f.adopted_on)
                    .text("note", f.note);
                c
            }
        };
        Row::from_cells(Location::Flags, cells.0)
    }
}

pub fn run(args: EmitArgs) -> anyhow::Result<ExitCode> {
    let config = config::load(&(&args.config).into())?;
    if args.event.is_some() && (args.file.is_some() || args.envelope.is_some()) {
        bail!("give one source of events: an event kind with its flags, --file or --envelope");
    }
    let events = match (&args.envelope, &args.file, args.event) {
        (Some(path), _, _) => envelopes_from(path)?,
        (None, Some(path), _) => {
            let keys = key_ring(&args.key, &args.keys, &args.actor, &args.key_id)?;
            rows_from(path, args.format.as_deref(), &keys)?
        }
        (None, None, Some(command)) => {
            let keys = key_ring(&args.key, &args.keys, &args.actor, &args.key_id)?;
            let row = (*command).into_row()?;
            let speaker = keys.speaker_for(&row)?;
            vec![Labelled {
                label: "event".to_owned(),
                event: rows::seal_row(speaker, &row, now_ms())?,
            }]
        }
        (None, None, None) => bail!(
            "nothing to publish: name an event kind (covenant emit commitment --help), or give --file or --envelope"
        ),
    };
    if args.dry_run {
        return dry_run(&events, args.ledger.as_deref());
    }
    check_within_the_file(&events)?;
    let delivery = Delivery {
        nats_url: config.nats_url.clone(),
        nats_credentials: config.nats_credentials.clone(),
        ledger: args.ledger.clone(),
        outbox: args.outbox.clone(),
        retry_for: Duration::from_secs(args.retry_for),
        wait: Duration::from_secs(args.wait),
    };
    let events: Vec<SealedEvent> = events.into_iter().map(|e| e.event).collect();
    delivery.publish(&events)
}

/// An event and where it came from (`row 7`, `envelope 2`), for the dry run's listing.
pub struct Labelled {
    pub label: String,
    pub event: SealedEvent,
}

/// Print every event with its id, check it (against earlier rows, and the live ledger when
/// given), and publish nothing.
fn dry_run(events: &[Labelled], ledger: Option<&str>) -> anyhow::Result<ExitCode> {
    let client = ledger.map(LedgerClient::new);
    let mut check = ReferenceCheck::new(client.as_ref());
    let mut failing = 0;
    let mut by_actor: std::collections::BTreeMap<&str, usize> = Default::default();
    for Labelled { label, event } in events {
        *by_actor.entry(event.actor.as_str()).or_default() += 1;
        let findings = check
            .check(event)
            .with_context(|| format!("check {label}"))?;
        println!(
            "{label}: {} {} by {}",
            event.event_id, event.kind, event.actor
        );
        for finding in &findings {
            match finding {
                Finding::Missing(_) if check.has_ledger() => {
                    println!("  {label}: {finding}: neither earlier in this file nor in the ledger")
                }
                Finding::Missing(_) => println!(
                    "  {label}: {finding}: not earlier in this file (give --ledger URL to look in the live ledger)"
                ),
                _ => println!("  {label}: {finding}"),
            }
            if check.has_ledger() || finding.within_the_file() {
                failing += 1;
            }
        }
    }
    let actors: Vec<String> = by_actor
        .iter()
        .map(|(actor, count)| format!("{actor} {count}"))
        .collect();
    println!("events per actor: {}", actors.join(", "));
    if failing > 0 {
        eprintln!(
            "{failing} problem(s) the ledger would reject; nothing published (dry run): fix the rows, or publish what they refer to first"
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{} event(s) valid; nothing published (dry run)",
        events.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Refuse a file whose rows contradict each other (a commitment or action id used twice, a
/// commitment another row's actor may not speak for) before anything is published, since the
/// ledger would take the first and reject the rest.
fn check_within_the_file(events: &[Labelled]) -> anyhow::Result<()> {
    let mut check = ReferenceCheck::new(None);
    let mut problems = vec![];
    for Labelled { label, event } in events {
        let findings = check
            .check(event)
            .with_context(|| format!("check {label}"))?;
        problems.extend(
            findings
                .iter()
                .filter(|finding| finding.within_the_file())
                .map(|finding| format!("{label}: {finding}")),
        );
    }
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "nothing published: the ledger would reject these rows\n  {}",
        problems.join("\n  ")
    )
}

/// Where and how events are published, and whom to ask about them afterwards.
pub struct Delivery {
    pub nats_url: Option<String>,
    pub nats_credentials: Option<PathBuf>,
    /// The ledger's HTTP address: the destination when there is no NATS URL, otherwise
    /// where decisions are asked for.
    pub ledger: Option<String>,
    pub outbox: PathBuf,
    pub retry_for: Duration,
    pub wait: Duration,
}

impl Delivery {
    /// Publish through the outbox, print each receipt and each decision, and fail when the
    /// ledger rejected any event.
    pub fn publish(&self, events: &[SealedEvent]) -> anyhow::Result<ExitCode> {
        let retry = RetryPolicy {
            give_up_after: self.retry_for,
            ..RetryPolicy::default()
        };
        let (publisher, hint) = match (&self.nats_url, &self.ledger) {
            (None, Some(ledger)) => (PublisherConfig::ledger(ledger), ""),
            (nats_url, _) => {
                let mut publisher = PublisherConfig::new(
                    nats_url
                        .clone()
                        .unwrap_or_else(|| config::DEFAULT_EMITTER_NATS_URL.to_owned()),
                );
                publisher.credentials_file = self.nats_credentials.clone();
                let hint = if nats_url.is_none() {
                    "; for a ledger that runs without NATS, give its address with --ledger URL"
                } else {
                    ""
                };
                (publisher, hint)
            }
        };
        let emitter_config = EmitterConfig {
            publisher: PublisherConfig { retry, ..publisher },
            outbox_dir: self.outbox.clone(),
        };
        let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
        let (recovered, receipts) = runtime.block_on(async {
            let emitter = Emitter::open(emitter_config)
                .await
                .with_context(|| format!("open the emitter{hint}"))?;
            let receipts = emitter.emit_all(events).await.context(
                "publish (unacknowledged events stay in the outbox and are re-sent on the next run)",
            )?;
            anyhow::Ok((emitter.recovered().to_vec(), receipts))
        })?;
        if !recovered.is_empty() {
            println!(
                "re-sent {} event(s) left in the outbox {} by an earlier run",
                recovered.len(),
                self.outbox.display()
            );
        }
        for (event, receipt) in events.iter().zip(&receipts) {
            print_receipt(event, receipt);
        }
        let decided_with_receipt = receipts.iter().all(|receipt| receipt.decision.is_some());
        if self.ledger.is_none() && !decided_with_receipt {
            return Ok(ExitCode::SUCCESS);
        }
        let client = self.ledger.as_deref().map(LedgerClient::new);
        report_decisions(client.as_ref(), events, &receipts, self.wait)
    }
}

fn print_receipt(event: &SealedEvent, receipt: &Receipt) {
    let note = if receipt.duplicate {
        " (already stored: not added again)"
    } else {
        ""
    };
    match (&receipt.decision, receipt.stream_sequence) {
        (Some(_), 0) => println!(
            "published {} {} to the ledger{note}",
            event.event_id, event.kind
        ),
        _ => println!(
            "published {} {} at stream sequence {}{note}",
            event.event_id, event.kind, receipt.stream_sequence
        ),
    }
}

/// Print each event's decision: the one that came with its receipt, or the ledger's answer to
/// a status query. Fails when any was rejected.
fn report_decisions(
    client: Option<&LedgerClient>,
    events: &[SealedEvent],
    receipts: &[Receipt],
    wait: Duration,
) -> anyhow::Result<ExitCode> {
    let mut rejected = 0;
    for (event, receipt) in events.iter().zip(receipts) {
        let status = match (&receipt.decision, client) {
            (Some(decision), _) => decision.clone(),
            (None, Some(client)) => client
                .wait_for_decision(&event.event_id, wait)
                .with_context(|| format!("ask the ledger about {}", event.event_id))?,
            (None, None) => continue,
        };
        if matches!(status, EventStatus::Rejected { .. }) {
            rejected += 1;
        }
        println!("{} {}: {status}", event.event_id, event.kind);
    }
    if rejected > 0 {
        eprintln!("{rejected} event(s) rejected by the ledger");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The keys rows are signed with: one key file (`--key`, optionally speaking as another
/// actor or key id), or a directory with one key per actor (`--keys`).
fn key_ring(
    key: &Option<PathBuf>,
    keys: &Option<PathBuf>,
    actor: &Option<String>,
    key_id: &Option<String>,
) -> anyhow::Result<KeyRing> {
    if let Some(dir) = keys {
        if key_id.is_some() {
            bail!("--key-id goes with --key; with --keys each key file names its key id");
        }
        let ring = KeyRing::read_dir(dir)?;
        return Ok(match actor {
            Some(actor) => ring.only(actor)?,
            None => ring,
        });
    }
    Ok(KeyRing::single(speaker(key.as_deref(), actor, key_id)?))
}

fn speaker(
    key: Option<&Path>,
    actor: &Option<String>,
    key_id: &Option<String>,
) -> anyhow::Result<Speaker> {
    let Some(path) = key else {
        bail!(
            "--key (the emitter's key file, from covenant keys generate --kind emitter) or --keys (a directory of them, one per actor) is required"
        );
    };
    let key = KeyFile::read(path)?;
    if key.kind != KeyKind::Emitter {
        bail!(
            "{} is a {} key; events are signed with an emitter key",
            path.display(),
            key.kind.as_str()
        );
    }
    let actor = actor
        .clone()
        .or_else(|| key.actor.clone())
        .with_context(|| format!("{} names no actor: pass --actor", path.display()))?;
    let key_id = key_id
        .clone()
        .or_else(|| key.key_id.clone())
        .with_context(|| {
            format!(
                "{} names no key id: pass --key-id (the id the registrar granted)",
                path.display()
            )
        })?;
    Ok(Speaker::new(actor, key_id, key.signer())?)
}

fn rows_from(path: &Path, format: Option<&str>, keys: &KeyRing) -> anyhow::Result<Vec<Labelled>> {
    let data = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match (format, extension.as_deref()) {
        (Some(format), _) => format,
        (None, Some("csv")) => "csv",
        (None, Some("json" | "jsonl" | "ndjson")) => "json",
        _ => bail!(
            "cannot tell the format of {} from its name: pass --format csv or --format json",
            path.display()
        ),
    };
    let rows = match format {
        "csv" => rows::read_csv(&data),
        _ => {
            let text = std::str::from_utf8(&data)
                .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
            rows::read_json(text)
        }
    }
    .with_context(|| format!("read {}", path.display()))?;
    let errors = match keys.seal_rows(&rows, now_ms()) {
        Ok(events) => {
            return Ok(rows
                .iter()
                .zip(events)
                .map(|(row, event)| Labelled {
                    label: match row.location {
                        Location::Row(number) => format!("row {number}"),
                        Location::Flags => "event".to_owned(),
                    },
                    event,
                })
                .collect());
        }
        Err(errors) => errors,
    };
    for error in errors.iter().take(MAX_ERRORS_SHOWN) {
        eprintln!("{}: {error}", path.display());
    }
    if errors.len() > MAX_ERRORS_SHOWN {
        eprintln!("... and {} more", errors.len() - MAX_ERRORS_SHOWN);
    }
    bail!(
        "{} of {} rows in {} are invalid; nothing was published",
        errors.len(),
        rows.len(),
        path.display()
    );
}

fn envelopes_from(path: &Path) -> anyhow::Result<Vec<Labelled>> {
    let data = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let envelopes =
        envelope_file::parse(&data).with_context(|| format!("read {}", path.display()))?;
    if envelopes.is_empty() {
        bail!("{} holds no envelopes", path.display());
    }
    envelopes
        .into_iter()
        .enumerate()
        .map(|(index, bytes)| {
            let label = format!("envelope {}", index + 1);
            let event = SealedEvent::from_bytes(bytes)
                .with_context(|| format!("{}: {label}", path.display()))?;
            Ok(Labelled { label, event })
        })
        .collect()
}
