//! `covenant demo`: the demo data set and the synthetic load.

use crate::config::{self, ClientConfigArgs, Config, ConfigArgs, RegistrarKey};
use anyhow::{Context, bail};
use covenant_core::event::Date;
use covenant_demo::{DemoDataset, Status};
use covenant_emit::build::SealedEvent;
use covenant_emit::envelope_file;
use covenant_emit::keys::{KeyFile, KeyKind};
use covenant_emit::publish::{Publisher, PublisherConfig, RetryPolicy};
use covenant_emit::status::{EventStatus, LedgerClient};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Said wherever the demo's keys are written: they are no secret.
pub const PUBLIC_KEYS_WARNING: &str = "WARNING: the demo's log and registrar keys are public test keys, derived from fixed seeds in the source code: anyone can sign with them. Never let them sign a real log; start your own with `covenant init` (docs/OPERATING.md).";

/// Envelopes checked and published per batch when loading: bounds memory for large loads.
const LOAD_BATCH: usize = 10_000;

#[derive(clap::Subcommand)]
pub enum DemoCommand {
    /// Publish the demo data (or a synthetic load) through NATS, with a progress bar. Loading
    /// twice adds nothing: the events and their ids are the same every time.
    Load(LoadArgs),
    /// Write a synthetic load as length-prefixed envelopes, for benchmarks.
    Generate {
        /// How many events.
        #[arg(long)]
        scale: u64,
        /// The file to write (length-prefixed envelopes).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Write a configuration file and log key with which a ledger accepts the demo data.
    Config(ConfigCommandArgs),
    /// Print what the demo data shows once loaded: each actor's scorecard.
    Summary {
        /// The date statuses are judged at (overdue depends on it); default: the end of the
        /// simulated period.
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
        /// Print JSON (per actor: name, counts per status, money in pence) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
pub struct LoadArgs {
    #[command(flatten)]
    config: ClientConfigArgs,
    /// The ledger's HTTP listen address, asked with --wait-for-ledger. Also COVENANT_LISTEN.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// demo (several hundred events over two simulated years) or synthetic (--scale events).
    #[arg(long, default_value = "demo", value_parser = ["demo", "synthetic"])]
    data_set: String,
    /// Number of events for the synthetic data set.
    #[arg(long, default_value_t = 100_000)]
    scale: u64,
    /// How long to keep retrying while NATS or the event stream is unavailable, in seconds.
    #[arg(long, default_value_t = 60)]
    retry_for: u64,
    /// Then wait, at most this many seconds, until the ledger at the HTTP listen address has
    /// decided the last event, so that everything loaded is in the log when this returns.
    #[arg(long, value_name = "SECONDS")]
    wait_for_ledger: Option<u64>,
}

#[derive(clap::Args)]
pub struct ConfigCommandArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Directory to write covenant.toml, log.key and registrar.key into.
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
}

pub fn run(command: DemoCommand) -> anyhow::Result<ExitCode> {
    match command {
        DemoCommand::Load(args) => load(args),
        DemoCommand::Generate { scale, out } => generate(scale, &out),
        DemoCommand::Config(args) => write_config(args),
        DemoCommand::Summary { as_of, json } => {
            let as_of = as_of.unwrap_or_else(covenant_demo::end_date);
            let data = covenant_demo::demo();
            if json {
                println!("{}", summary_json(&data, as_of));
            } else {
                print_summary(&data, as_of);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let config = config::load(&ConfigArgs {
        listen: args.listen.clone(),
        ..(&args.config).into()
    })?;
    let url = config.emitter_nats_url();
    let (total, envelopes): (u64, Box<dyn Iterator<Item = Vec<u8>> + Send>) =
        match args.data_set.as_str() {
            "synthetic" => (args.scale, Box::new(covenant_demo::synthetic(args.scale))),
            _ => {
                let data = covenant_demo::demo();
                (data.events.len() as u64, Box::new(data.events.into_iter()))
            }
        };
    let mut publisher_config = PublisherConfig::new(&url);
    publisher_config.credentials_file = config.nats_credentials.clone();
    publisher_config.retry = RetryPolicy {
        give_up_after: Duration::from_secs(args.retry_for),
        ..RetryPolicy::default()
    };

    let progress = ProgressBar::new(total);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} loading {data_set} [{elapsed_precise}] {wide_bar} {pos}/{len} events ({per_sec}, eta {eta})",
        )
        .map(|style| style.with_key("data_set", {
            let name = args.data_set.clone();
            move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = out.write_str(&name);
            }
        }))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    // Signing the synthetic load costs more than publishing it, so batches are made on another
    // thread while the previous ones are in flight.
    let (batches, mut ready) = tokio::sync::mpsc::channel::<anyhow::Result<Vec<SealedEvent>>>(2);
    let producer = std::thread::spawn(move || {
        let mut envelopes = envelopes.peekable();
        let mut last_event_id = None;
        while envelopes.peek().is_some() {
            let batch = envelopes
                .by_ref()
                .take(LOAD_BATCH)
                .map(SealedEvent::from_bytes)
                .collect::<Result<Vec<_>, _>>()
                .context("check the demo envelopes");
            let failed = batch.is_err();
            if let Ok(events) = &batch {
                last_event_id = events.last().map(|event| event.event_id.clone());
            }
            if batches.blocking_send(batch).is_err() || failed {
                return None;
            }
        }
        last_event_id
    });
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    let published = runtime.block_on(async {
        let publisher = Publisher::connect(publisher_config)
            .await
            .context("connect to NATS")?;
        let (mut stored, mut duplicates) = (0u64, 0u64);
        while let Some(batch) = ready.recv().await {
            let receipts = publisher
                .publish_all(&batch?, |_| progress.inc(1))
                .await
                .context("publish the demo data")?;
            stored += receipts.len() as u64;
            duplicates += receipts.iter().filter(|r| r.duplicate).count() as u64;
        }
        anyhow::Ok((stored, duplicates))
    });
    // Dropping the receiver stops the producer if publishing failed.
    drop(ready);
    let last_event_id = producer.join().ok().flatten();
    let (stored, duplicates) = published?;
    progress.finish_and_clear();
    println!(
        "loaded the {} data set into {url}: {stored} events in {:.1?} ({} new to the stream, {duplicates} already there)",
        args.data_set,
        started.elapsed(),
        stored - duplicates
    );
    if duplicates == stored && stored > 0 {
        println!(
            "nothing new: this data set was loaded before, and the ledger keeps each event once"
        );
    }
    if let (Some(seconds), Some(event_id)) = (args.wait_for_ledger, last_event_id) {
        wait_for_ledger(&config.listen, &event_id, Duration::from_secs(seconds))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Wait until the ledger listening on `listen` has decided `event_id` and, when it accepted
/// it, serves a signed checkpoint that includes it.
fn wait_for_ledger(listen: &str, event_id: &str, timeout: Duration) -> anyhow::Result<()> {
    let url = format!("http://{listen}");
    let deadline = Instant::now() + timeout;
    let status = LedgerClient::new(&url)
        .wait_for_decision(event_id, timeout)
        .with_context(|| format!("ask the ledger at {url} about the last event"))?;
    let needed_size = match status {
        EventStatus::Unknown => bail!(
            "the ledger at {url} has not taken in the last event ({event_id}) after {}s",
            timeout.as_secs()
        ),
        EventStatus::Accepted { seq: Some(seq) } => seq + 1,
        EventStatus::Accepted { seq: None } | EventStatus::Rejected { .. } => 0,
    };
    while served_checkpoint_size(&url) < Some(needed_size) {
        if Instant::now() >= deadline {
            bail!("the ledger at {url} serves no checkpoint of size {needed_size} yet");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("the ledger at {url} has taken in every event loaded and signed a checkpoint");
    Ok(())
}

/// The size in the checkpoint the ledger serves (its note's second line), if it serves one.
fn served_checkpoint_size(url: &str) -> Option<u64> {
    let mut response = ureq::get(&format!("{url}/log/checkpoint")).call().ok()?;
    let note = response.body_mut().read_to_string().ok()?;
    note.lines().nth(1)?.parse().ok()
}

fn generate(scale: u64, out: &Path) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::create(out).with_context(|| format!("create {}", out.display()))?;
    let mut writer = BufWriter::new(file);
    let progress = ProgressBar::new(scale);
    let (mut bytes, started) = (0u64, Instant::now());
    for envelope in covenant_demo::synthetic(scale) {
        envelope_file::write_record(&mut writer, &envelope)
            .with_context(|| format!("write {}", out.display()))?;
        bytes += envelope.len() as u64;
        progress.inc(1);
    }
    writer
        .into_inner()
        .map_err(|error| error.into_error())
        .and_then(|file| file.sync_all())
        .with_context(|| format!("write {}", out.display()))?;
    progress.finish_and_clear();
    println!(
        "wrote {scale} envelopes ({bytes} bytes, {:.0} bytes each on average) to {} in {:.1?}",
        bytes as f64 / scale.max(1) as f64,
        out.display(),
        started.elapsed()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_config(args: ConfigCommandArgs) -> anyhow::Result<ExitCode> {
    let settings = config::load(&args.config)?;
    let dir = &args.out_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let genesis = covenant_demo::genesis();

    let mut log_key = KeyFile::from_seed(KeyKind::Log, covenant_demo::log_seed());
    log_key.origin = Some(genesis.origin.clone());
    log_key.key_id = Some("demo-log".to_owned());
    let mut registrar_key = KeyFile::from_seed(KeyKind::Registrar, covenant_demo::registrar_seed());
    registrar_key.key_id = Some(genesis.registrar_key_id.clone());
    registrar_key.actor = Some(genesis.registrar_actor.clone());
    for (name, key) in [("log.key", &log_key), ("registrar.key", &registrar_key)] {
        write_key_once(&dir.join(name), key)?;
    }

    let demo_config = Config {
        origin: genesis.origin.clone(),
        description: genesis.description.clone(),
        data_dir: data_dir(&args.config)?,
        nats_url: Some(settings.emitter_nats_url()),
        nats_credentials: settings.nats_credentials.clone(),
        listen: settings.listen.clone(),
        // Relative paths in the file are relative to the file itself.
        log_key_file: Some(PathBuf::from("log.key")),
        registrar_actor: genesis.registrar_actor.clone(),
        registrars: vec![RegistrarKey {
            key_id: genesis.registrar_key_id.clone(),
            public_key: genesis.registrar_public_key,
        }],
        http: settings.http.clone(),
    };
    let path = dir.join("covenant.toml");
    let text = format!(
        "# Configuration for the Covenant demo, written by `covenant demo config`.\n{}",
        demo_config.to_toml()
    );
    std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    // Read it back through the loader, so a file that would not load is caught here.
    config::load(&ConfigArgs {
        config: Some(path.clone()),
        ..ConfigArgs::default()
    })
    .with_context(|| format!("check {}", path.display()))?;
    println!("wrote {}", path.display());
    println!(
        "start the ledger with: covenant serve --config {}",
        path.display()
    );
    println!("{PUBLIC_KEYS_WARNING}");
    Ok(ExitCode::SUCCESS)
}

/// The data directory a flag or COVENANT_DATA names (made absolute, since the file resolves
/// relative paths against its own directory), or `data` beside the configuration file.
fn data_dir(flags: &ConfigArgs) -> anyhow::Result<PathBuf> {
    let explicit = flags.data.clone().or_else(|| {
        std::env::var_os("COVENANT_DATA")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    });
    match explicit {
        Some(path) => std::path::absolute(&path)
            .with_context(|| format!("resolve data directory {}", path.display())),
        None => Ok(PathBuf::from("data")),
    }
}

/// Write a key file, or leave an identical one alone; a different key is never overwritten.
fn write_key_once(path: &Path, key: &KeyFile) -> anyhow::Result<()> {
    if path.exists() {
        let existing = KeyFile::read(path)?;
        if existing.seed != key.seed {
            bail!(
                "{} exists and holds a different key; move it away to write the demo's",
                path.display()
            );
        }
        return Ok(());
    }
    Ok(key.write_new(path)?)
}

fn print_summary(data: &DemoDataset, as_of: Date) {
    let summary = data.summary_as_of(as_of);
    println!(
        "the demo data set as of {as_of}: {} events, {} commitments",
        summary.events,
        summary.commitments.len()
    );
    let columns = [
        (Status::Delivered, "deliv"),
        (Status::PartlyDelivered, "partly"),
        (Status::NotDelivered, "missed"),
        (Status::Withdrawn, "withdr"),
        (Status::Overdue, "overdue"),
        (Status::InProgress, "in prog"),
        (Status::NotStarted, "not st"),
    ];
    print!("{:<52}", "actor");
    for (_, heading) in columns {
        print!("{heading:>8}");
    }
    println!("{:>16}", "spent (GBP)");
    for (id, scorecard) in &summary.actors {
        if scorecard.commitments() == 0 {
            continue;
        }
        let label = format!("{} ({id})", scorecard.name);
        print!("{label:<52.52}");
        for (status, _) in columns {
            print!("{:>8}", scorecard.count(status));
        }
        println!("{:>16}", scorecard.spent_minor / 100);
    }
    let moved: Vec<&String> = summary
        .commitments
        .iter()
        .filter(|(_, c)| c.target_moved || c.deadline_moved)
        .map(|(id, _)| id)
        .collect();
    let disputed: Vec<&String> = summary
        .commitments
        .iter()
        .filter(|(_, c)| c.disputed)
        .map(|(id, _)| id)
        .collect();
    println!("moved goalposts: {}", join(&moved));
    println!("disputed outcomes: {}", join(&disputed));
}

/// The expected scorecards as JSON, in the shape of the HTTP API's counts and money.
fn summary_json(data: &DemoDataset, as_of: Date) -> String {
    let summary = data.summary_as_of(as_of);
    let actors: serde_json::Map<String, serde_json::Value> = summary
        .actors
        .iter()
        .filter(|(_, scorecard)| scorecard.commitments() > 0)
        .map(|(id, scorecard)| {
            let counts: serde_json::Map<String, serde_json::Value> = scorecard
                .statuses
                .iter()
                .map(|(status, count)| (status.as_str().to_owned(), (*count).into()))
                .collect();
            let value = serde_json::json!({
                "name": scorecard.name,
                "commitments": scorecard.commitments(),
                "counts": counts,
                "money": {
                    "currency": "GBP",
                    "pledged_minor": scorecard.pledged_minor,
                    "committed_minor": scorecard.committed_minor,
                    "spent_minor": scorecard.spent_minor,
                },
            });
            (id.clone(), value)
        })
        .collect();
    let document = serde_json::json!({
        "as_of": as_of.to_string(),
        "events": summary.events,
        "actors": actors,
    });
    serde_json::to_string_pretty(&document).expect("JSON values serialise")
}

fn join(ids: &[&String]) -> String {
    if ids.is_empty() {
        "none".to_owned()
    } else {
        ids.iter()
            .map(|id| id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).ok_or_else(|| format!("{text:?} is not a date (YYYY-MM-DD)"))
}
