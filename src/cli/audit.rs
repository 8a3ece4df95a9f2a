//! `covenant audit`: the watchdog's commands (docs/AUDIT.md).
//!
//! Exit codes, for scripts (docs/AUDIT.md): 0 everything checks; 1 the log, the proof or the
//! report failed a check, or a monitor raised the alarm; 2 the check could not be done (bad
//! arguments, a file that is missing, unreadable or not what the command takes, a store that
//! is in use or is not a store, a server that cannot be reached or does not serve the log).
//! Exit 1 is evidence against the log; nothing that merely stopped the check may return it.

use anyhow::{Context, anyhow, bail};
use covenant_audit::monitor::{self, Finding, MonitorState};
use covenant_audit::source::{FnSource, WitnessedView};
use covenant_audit::witness::{self, Witness};
use covenant_audit::{
    AuditError, HttpSource, LogSource, Progress, WitnessQuorum, prove, verify_log,
};
use covenant_core::checkpoint::{CheckpointError, VerifiedCheckpoint, verify_checkpoint};
use covenant_core::cosignature::{CosignatureVerifier, Cosigner};
use covenant_core::merkle::{TILE_WIDTH, Tile, encode_entry_bundle, hash_tile_data};
use covenant_store::{LogReader, SledStore, StoreError};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A check failed: the log or the proof is not what it claims.
const FAILED: u8 = 1;
/// The check could not be completed.
const INCOMPLETE: u8 = 2;

/// Report a check that did not pass: `FAILED` and [`FAILED`] when the log misbehaved, `error`
/// and [`INCOMPLETE`] when it could not be checked (a log that cannot be reached has not
/// failed anything).
fn failed(error: &impl std::fmt::Display, misbehaviour: bool) -> ExitCode {
    if misbehaviour {
        eprintln!("FAILED: {error}");
        ExitCode::from(FAILED)
    } else {
        eprintln!("error: {error}");
        ExitCode::from(INCOMPLETE)
    }
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Verify a whole log: every entry's chain link, signature and authority (replayed from
    /// genesis), every hash tile, the Merkle root and the checkpoint signature.
    Verify(VerifyArgs),
    /// Follow a log's checkpoints; raise the alarm on a split view, a rollback, a fork or a bad
    /// entry.
    Monitor(MonitorArgs),
    /// Check that the log's checkpoint (or a later one you saved) extends a checkpoint you
    /// saved earlier: a consistency proof from the log's tiles, against the later root.
    CheckConsistency(CheckConsistencyArgs),
    /// Download the offline proof bundle of one event.
    Prove(ProveArgs),
    /// Check an offline proof bundle against the log's verifier key.
    CheckProof(CheckProofArgs),
    /// Check an annual report's proof bundle: every counted event's proof against the pinned
    /// key, then every figure recomputed from those events alone.
    CheckReport(CheckReportArgs),
    /// A C2SP witness: create its key, serve it, or ask one to cosign a log's checkpoint.
    #[command(subcommand)]
    Witness(WitnessCommand),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The ledger (http://host:port) or the log's tiles prefix (a mirror's URL).
    #[arg(required_unless_present = "store", conflicts_with = "store")]
    url: Option<String>,
    /// Verify a stopped ledger's store directory instead (also runs the store's deep check).
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,
    /// The log's verifier key (`<origin>+<id>+<key>`), or a file holding it. Without it the key
    /// the log publishes is trusted on first use, with a warning.
    #[arg(long, value_name = "VERIFIER_KEY")]
    key: Option<String>,
    #[command(flatten)]
    witnesses: RequiredWitnesses,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// The witnesses whose cosignatures `verify` and `monitor` require.
#[derive(clap::Args)]
struct RequiredWitnesses {
    /// A witness whose cosignature the checkpoint must carry: its verifier key, or a file
    /// holding it. Repeat for several witnesses.
    #[arg(long = "witness", value_name = "VERIFIER_KEY")]
    witnesses: Vec<String>,
    /// How many of the --witness keys must have cosigned the checkpoint (default: all).
    #[arg(long, value_name = "N", requires = "witnesses")]
    quorum: Option<usize>,
}

impl RequiredWitnesses {
    fn quorum(&self) -> anyhow::Result<WitnessQuorum> {
        let witnesses = self
            .witnesses
            .iter()
            .map(|key| {
                let key = key_argument(key)?;
                CosignatureVerifier::new(&key).with_context(|| format!("--witness {key}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        WitnessQuorum::new(witnesses, self.quorum).map_err(|problem| anyhow!("--quorum: {problem}"))
    }
}

#[derive(clap::Args)]
pub struct MonitorArgs {
    /// The ledger (http://host:port) or the log's tiles prefix.
    url: String,
    /// Where the last verified checkpoint and the verifier's position are kept.
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// The log's verifier key, or a file holding it (default: the one in the state file, else
    /// trust on first use).
    #[arg(long, value_name = "VERIFIER_KEY")]
    key: Option<String>,
    #[command(flatten)]
    witnesses: RequiredWitnesses,
    /// POST a JSON alarm here when the log misbehaves.
    #[arg(long, value_name = "URL")]
    webhook: Option<String>,
    /// Check once and exit.
    #[arg(long)]
    once: bool,
    /// Seconds between checks.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    interval: u64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
pub struct CheckConsistencyArgs {
    /// The ledger (http://host:port) or the log's tiles prefix (a mirror's URL): where the
    /// hash tiles the proof is computed from are read.
    url: String,
    /// The earlier checkpoint, a file holding the note exactly as it was served.
    #[arg(long, value_name = "FILE")]
    old: PathBuf,
    /// The later checkpoint, a file likewise (default: the one the log serves now).
    #[arg(long, value_name = "FILE")]
    new: Option<PathBuf>,
    /// The log's verifier key, or a file holding it.
    #[arg(long, value_name = "VERIFIER_KEY")]
    key: String,
}

#[derive(clap::Args)]
pub struct ProveArgs {
    /// The event to prove.
    event_id: String,
    /// The ledger's HTTP address.
    #[arg(long, value_name = "URL")]
    server: String,
    /// Where to write the bundle (JSON).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Check the bundle against this verifier key (or file) before writing it.
    #[arg(long, value_name = "VERIFIER_KEY")]
    key: Option<String>,
}

#[derive(clap::Args)]
pub struct CheckProofArgs {
    /// The bundle written by `covenant audit prove` or served at /v1/proof/bundle/{event_id}.
    file: PathBuf,
    /// The log's verifier key, or a file holding it (never the one inside the bundle).
    #[arg(long, value_name = "VERIFIER_KEY")]
    key: String,
}

#[derive(clap::Args)]
pub struct CheckReportArgs {
    /// The report's proof bundle (bundle.json beside the report, or `covenant report --format
    /// bundle`).
    file: PathBuf,
    /// The log's verifier key, or a file holding it.
    #[arg(long, value_name = "VERIFIER_KEY")]
    key: String,
}

#[derive(clap::Subcommand)]
pub enum WitnessCommand {
    /// Create a witness key: writes the secret seed to FILE and prints the verifier key.
    Keygen {
        /// The witness's name, a schema-less URL (for example witness.example.org/w1).
        #[arg(long)]
        name: String,
        /// Where to write the secret seed (hex). Refuses to overwrite.
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
    },
    /// Serve C2SP tlog-witness `POST /add-checkpoint`.
    Serve {
        /// The witness's name, as given to `keygen`.
        #[arg(long)]
        name: String,
        /// The witness's secret seed file (from `keygen`).
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// Verifier key of a log to witness (repeat for several logs).
        #[arg(long = "log-key", value_name = "VERIFIER_KEY", required = true)]
        log_keys: Vec<String>,
        /// Where the last cosigned checkpoint of each log is kept.
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        /// The address to serve `POST /add-checkpoint` on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
    },
    /// Ask a witness to cosign a log's latest checkpoint (proving consistency from the log's
    /// tiles), and print the cosigned checkpoint.
    Submit {
        /// The ledger (http://host:port) or the log's tiles prefix.
        log: String,
        /// The witness's submission prefix (http://host:port).
        #[arg(long, value_name = "URL")]
        witness: String,
        /// The log's verifier key, or a file holding it.
        #[arg(long = "log-key", value_name = "VERIFIER_KEY")]
        log_key: String,
        /// Check the cosignature against the witness's verifier key.
        #[arg(long = "witness-key", value_name = "VERIFIER_KEY")]
        witness_key: Option<String>,
    },
}

pub fn run(command: AuditCommand) -> ExitCode {
    let result = match command {
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Monitor(args) => monitor(args),
        AuditCommand::CheckConsistency(args) => check_consistency(args),
        AuditCommand::Prove(args) => prove(args),
        AuditCommand::CheckProof(args) => check_proof(args),
        AuditCommand::CheckReport(args) => check_report(args),
        AuditCommand::Witness(command) => witness(command),
    };
    // Every check that ran to a verdict returned its code; an error is something that stopped
    // the check before one (a bad argument, a file that cannot be read). That is exit 2, never
    // the generic 1, which scripts read as "the log failed a check".
    result.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::from(INCOMPLETE)
    })
}

/// A verifier key given on the command line, or read from the file it names.
pub(crate) fn key_argument(value: &str) -> anyhow::Result<String> {
    let path = Path::new(value);
    // A verifier key joins its name, id and key with `+`: a value without one can only name a
    // file, and a file that cannot be read is reported as such, not as a malformed key.
    if path.is_file() || !value.contains('+') {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the verifier key file {}", path.display()))?;
        return Ok(text.trim().to_owned());
    }
    Ok(value.trim().to_owned())
}

/// The log's verifier key given to `flag` ([`key_argument`]), refused before anything is
/// fetched or read when it is not a log verifier key: a mistyped key is a bad argument, not a
/// log that fails its check.
fn log_key_argument(flag: &str, value: &str) -> anyhow::Result<String> {
    let key = key_argument(value)?;
    // Parsing the key is the first step of verifying any note, so an empty note shows whether
    // the key itself is usable.
    if let Err(CheckpointError::BadVerifierKey(_)) = verify_checkpoint(b"", &key) {
        let given = if Path::new(value).is_file() {
            format!("the file {value} given to {flag} holds {key:?}, which")
        } else {
            format!("{flag} {key:?}")
        };
        bail!(
            "{given} is not a log verifier key (<name>+<key id>+<base64 key>, as the log serves \
             at /log/verifier-key)"
        );
    }
    Ok(key)
}

/// The pinned key, or the one the log publishes (trust on first use, with a warning).
fn pinned_or_published(key: Option<&str>, source: &dyn LogSource) -> anyhow::Result<String> {
    if let Some(key) = key {
        return log_key_argument("--key", key);
    }
    let published = source
        .published_verifier_key()
        .context("fetch the log's verifier key")?
        .with_context(|| {
            format!(
                "{} publishes no verifier key: pass the log's key with --key",
                source.describe()
            )
        })?;
    eprintln!(
        "warning: trusting the verifier key the log publishes about itself:\n  {published}\n\
         Anyone who can change what you download can change this key. Check it against a copy\n\
         obtained elsewhere and pass it with --key from now on."
    );
    Ok(published)
}

/// A progress bar on stderr (hidden when stderr is not a terminal or `quiet`).
struct Bar(ProgressBar);

impl Bar {
    fn new(quiet: bool) -> Self {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} entries  {per_sec}  eta {eta}")
                .expect("a valid template"),
        );
        Self(bar)
    }
}

impl Progress for Bar {
    fn begin(&self, from: u64, to: u64) {
        self.0.set_length(to - from);
        self.0.set_position(0);
        self.0.reset_eta();
    }

    fn advance(&self, entries: u64) {
        self.0.inc(entries);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let witnesses = args.witnesses.quorum()?;
    let source: Box<dyn LogSource> = match (&args.url, &args.store) {
        (_, Some(path)) => {
            let Some(key) = &args.key else {
                bail!(
                    "--store needs --key: the log's verifier key, as served at /log/verifier-key"
                );
            };
            let key = log_key_argument("--key", key)?;
            match std::fs::metadata(path) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    bail!("--store {}: no such directory", path.display())
                }
                Ok(metadata) if !metadata.is_dir() => bail!(
                    "--store {}: not a directory (give the ledger's store, the log/ directory \
                     in its data directory)",
                    path.display()
                ),
                // Anything else the store's own open names better.
                _ => {}
            }
            match run_store_check(path, &key, args.quiet) {
                Ok(report) => print_store_check(&report),
                Err(error) => return Ok(store_not_verified(path, &error)),
            }
            let store = match SledStore::open(path) {
                Ok(store) => store,
                Err(error) => return Ok(store_not_verified(path, &error)),
            };
            return verify_source(
                &store_source(Arc::new(store), path),
                &key,
                &witnesses,
                args.quiet,
                started,
            );
        }
        (Some(url), None) => witnessed_if_required(HttpSource::new(url)?, &witnesses),
        (None, None) => bail!("give the log's URL or --store PATH"),
    };
    let key = pinned_or_published(args.key.as_deref(), &*source)?;
    verify_source(&*source, &key, &witnesses, args.quiet, started)
}

fn verify_source(
    source: &dyn LogSource,
    key: &str,
    witnesses: &WitnessQuorum,
    quiet: bool,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let bar = Bar::new(quiet);
    let result = verify_log(source, key, &bar);
    drop(bar);
    match result {
        Ok((verifier, report)) => {
            // The process ends here: freeing the verifier's state would only take time.
            std::mem::forget(verifier);
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "ok: verified all {} entries of {} against the checkpoint for size {} (root {})",
                report.checkpoint.size,
                report.checkpoint.origin,
                report.checkpoint.size,
                report.checkpoint.root
            );
            println!(
                "    chain links, leaf hashes, envelope signatures and authority from genesis, {} hash tiles, root and checkpoint signature; {seconds:.1} s ({:.0} entries/s)",
                report.tiles_checked,
                report.entries_checked as f64 / seconds.max(1e-9)
            );
            if witnesses.is_required() {
                match witnesses.check(&report.note) {
                    Ok(cosigned) => println!("ok: {cosigned}"),
                    Err(error) => {
                        eprintln!("FAILED: {error}");
                        return Ok(ExitCode::from(FAILED));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(failed(&error, error.is_misbehaviour())),
    }
}

fn check_consistency(args: CheckConsistencyArgs) -> anyhow::Result<ExitCode> {
    let key = log_key_argument("--key", &args.key)?;
    let source = HttpSource::new(&args.url)?;
    let saved = |flag: &str, path: &Path| -> anyhow::Result<(Vec<u8>, VerifiedCheckpoint)> {
        let note = std::fs::read(path)
            .with_context(|| format!("cannot read the checkpoint file {}", path.display()))?;
        // A file that does not verify is the caller's, not evidence against the log.
        let checkpoint = verify_checkpoint(&note, &key).with_context(|| {
            format!(
                "{flag} {} is not a checkpoint note signed by this key",
                path.display()
            )
        })?;
        Ok((note, checkpoint))
    };
    let old = saved("--old", &args.old)?;
    let new = match &args.new {
        Some(path) => {
            let new = saved("--new", path)?;
            if new.1.size < old.1.size {
                bail!(
                    "--new {} (size {}) is older than --old (size {}): give the earlier one as --old",
                    path.display(),
                    new.1.size,
                    old.1.size
                );
            }
            Some(new)
        }
        None => None,
    };
    // Proofs are computed from the tiles of the tree the log serves now: every saved
    // checkpoint must be a prefix of it, and two prefixes of one tree extend each other.
    let current_note = match source.checkpoint() {
        Ok(note) => note,
        Err(error) => return Ok(failed(&error, error.is_misbehaviour())),
    };
    let current = match verify_checkpoint(&current_note, &key) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            let error = AuditError::from(error);
            return Ok(failed(&error, error.is_misbehaviour()));
        }
    };
    let shown = |checkpoint: &VerifiedCheckpoint| {
        format!("checkpoint {} (root {})", checkpoint.size, checkpoint.root)
    };
    for (note, checkpoint) in std::iter::once(&old).chain(&new) {
        if let Err(error) = extended_by(&source, checkpoint, &current) {
            let code = failed(&error, error.is_misbehaviour());
            if error.is_misbehaviour() {
                // Two signed statements that cannot both be true: the evidence, to keep.
                eprintln!("the saved checkpoint:\n{}", String::from_utf8_lossy(note));
                eprintln!(
                    "the checkpoint the log serves now:\n{}",
                    String::from_utf8_lossy(&current_note)
                );
            }
            return Ok(code);
        }
    }
    match &new {
        Some((_, new)) => println!(
            "ok: {} extends {}: consistent (both proved against the log's {})",
            shown(new),
            shown(&old.1),
            shown(&current)
        ),
        None => println!(
            "ok: {} extends {}: consistent",
            shown(&current),
            shown(&old.1)
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// That the log's `current` checkpoint extends `saved`: no smaller, the same tree at the same
/// size, and otherwise a consistency proof from the log's tiles.
fn extended_by(
    source: &dyn LogSource,
    saved: &VerifiedCheckpoint,
    current: &VerifiedCheckpoint,
) -> Result<(), AuditError> {
    match current.size.cmp(&saved.size) {
        std::cmp::Ordering::Less => Err(AuditError::Rollback {
            seen_size: saved.size,
            new_size: current.size,
        }),
        std::cmp::Ordering::Equal if current.root != saved.root => Err(AuditError::SplitView {
            size: saved.size,
            seen_root: saved.root.to_string(),
            new_root: current.root.to_string(),
        }),
        _ => monitor::check_extends(source, saved, current),
    }
}

/// The store's own deep self-check (covenant_store::check), with the log key.
pub(crate) fn deep_check_store(path: &Path, key: &str, quiet: bool) -> anyhow::Result<()> {
    let report = run_store_check(path, key, quiet)
        .with_context(|| format!("deep check of store {}", path.display()))?;
    print_store_check(&report);
    Ok(())
}

fn run_store_check(
    path: &Path,
    key: &str,
    quiet: bool,
) -> Result<covenant_store::check::CheckReport, StoreError> {
    let bar = Bar::new(quiet);
    let options = covenant_store::check::CheckOptions {
        verifier_key: Some(key.to_owned()),
        validation_state: true,
    };
    covenant_store::check::verify_store(path, &options, &mut |progress| {
        bar.0.set_length(progress.total);
        bar.0.set_position(progress.checked);
    })
}

fn print_store_check(report: &covenant_store::check::CheckReport) {
    println!(
        "ok: store self-check: {} entries, {} stored hashes, {} checkpoints ({} signatures), {} rejections",
        report.head.size,
        report.stored_hashes,
        report.checkpoints,
        report.signatures_checked,
        report.rejections
    );
}

/// Report why `verify --store` stopped: exit 1 when the store's contents failed the deep
/// check (the log it holds is not what it claims), exit 2 when the store could not be checked
/// at all (in use, not a store, unreadable, another format).
fn store_not_verified(path: &Path, error: &StoreError) -> ExitCode {
    let shown = path.display();
    match error {
        StoreError::Corrupt { .. }
        | StoreError::CorruptMetadata(_)
        | StoreError::InvalidEntry { .. }
        | StoreError::InvalidCheckpoint { .. }
        | StoreError::DuplicateEvent { .. }
        | StoreError::DuplicateInBatch { .. } => {
            eprintln!("FAILED: deep check of store {shown}: {error}");
            ExitCode::from(FAILED)
        }
        StoreError::Locked { .. } => {
            eprintln!(
                "error: {error}: a running ledger locks its store, so --store reads only a \
                 stopped one. Verify a copy of the data directory taken while the ledger was \
                 stopped, or verify the running ledger over HTTP: covenant audit verify \
                 <its URL> --key <its verifier key>"
            );
            ExitCode::from(INCOMPLETE)
        }
        StoreError::NotAStore { .. } if path.join("log").is_dir() => {
            eprintln!(
                "error: cannot check {shown}: {error}; a ledger keeps its store in the log/ \
                 directory of its data directory: try --store {}",
                path.join("log").display()
            );
            ExitCode::from(INCOMPLETE)
        }
        _ => {
            eprintln!("error: cannot check store {shown}: {error}");
            ExitCode::from(INCOMPLETE)
        }
    }
}

/// A stopped ledger's store, read as the log it publishes.
fn store_source(store: Arc<SledStore>, path: &Path) -> impl LogSource {
    let (checkpoint_store, bundle_store, tile_store) = (store.clone(), store.clone(), store);
    let read_error = |what: String| {
        move |error: covenant_store::StoreError| AuditError::Fetch {
            what: what.clone(),
            reason: error.to_string(),
        }
    };
    FnSource {
        description: format!("store {}", path.display()),
        checkpoint: move || {
            checkpoint_store
                .latest_checkpoint()
                .map_err(read_error("checkpoint".into()))?
                .map(|(_, note)| note)
                .ok_or_else(|| AuditError::Missing {
                    what: "the store's checkpoint".into(),
                })
        },
        entry_bundle: move |tile: &Tile| {
            let start = tile.level_index() * TILE_WIDTH;
            let entries = bundle_store
                .entries(start, start + u64::from(tile.width()))
                .map_err(read_error(format!("entries from {start}")))?;
            Ok(encode_entry_bundle(entries.iter().map(Vec::as_slice)))
        },
        hash_tile: move |tile: &Tile| {
            hash_tile_data(tile, &*tile_store).map_err(|e| AuditError::Fetch {
                what: "stored hashes".into(),
                reason: e.to_string(),
            })
        },
    }
}

/// With witnesses required, check the newest checkpoint they cosigned, which a ledger that
/// publishes checkpoints at once serves apart from its latest.
fn witnessed_if_required(source: HttpSource, witnesses: &WitnessQuorum) -> Box<dyn LogSource> {
    if witnesses.is_required() {
        Box::new(WitnessedView(source))
    } else {
        Box::new(source)
    }
}

fn monitor(args: MonitorArgs) -> anyhow::Result<ExitCode> {
    let witnesses = args.witnesses.quorum()?;
    let source = witnessed_if_required(HttpSource::new(&args.url)?, &witnesses);
    loop {
        let state = MonitorState::load(&args.state)?;
        let key = match (&args.key, &state) {
            (Some(key), _) => log_key_argument("--key", key)?,
            (None, Some(state)) => state.verifier_key.clone(),
            (None, None) => pinned_or_published(None, &*source)?,
        };
        let bar = Bar::new(args.quiet);
        let result = monitor::check_once(&*source, state, &key, &witnesses, &bar);
        drop(bar);
        match result {
            Ok((state, outcome, cosigned)) => {
                state
                    .save(&args.state)
                    .with_context(|| format!("save {}", args.state.display()))?;
                match outcome {
                    Finding::FirstVerification { size } => {
                        println!("ok: verified the whole log ({size} entries); following it")
                    }
                    Finding::Unchanged { size } => println!("ok: unchanged at size {size}"),
                    Finding::Advanced { from, to } => println!(
                        "ok: size {from} -> {to}: consistent, {} new entries verified",
                        to - from
                    ),
                }
                if let Some(cosigned) = cosigned {
                    println!("ok: {cosigned}");
                }
            }
            Err(alarm) if alarm.is_misbehaviour() => {
                eprintln!("ALARM ({}): {alarm}", alarm.kind());
                if let Some(url) = &args.webhook
                    && let Err(error) = monitor::send_webhook(url, &source.describe(), &alarm)
                {
                    eprintln!("error: the webhook failed too: {error}");
                }
                return Ok(ExitCode::from(FAILED));
            }
            Err(alarm) if args.once => {
                eprintln!("error: {}", alarm.error);
                return Ok(ExitCode::from(INCOMPLETE));
            }
            Err(alarm) => eprintln!(
                "warning: {}; trying again in {} s",
                alarm.error, args.interval
            ),
        }
        if args.once {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_secs(args.interval));
    }
}

fn prove(args: ProveArgs) -> anyhow::Result<ExitCode> {
    let bundle = prove::fetch_bundle(&args.server, &args.event_id)?;
    if let Some(key) = &args.key {
        let key = log_key_argument("--key", key)?;
        if let Err(error) = bundle.verify(&key) {
            eprintln!("FAILED: the server's bundle does not check: {error}");
            return Ok(ExitCode::from(FAILED));
        }
    }
    let json = serde_json::to_vec_pretty(&bundle).context("encode the bundle")?;
    std::fs::write(&args.out, json).with_context(|| format!("write {}", args.out.display()))?;
    println!(
        "wrote the proof that event {} is entry {} of the tree of size {} to {}",
        args.event_id,
        bundle.seq,
        bundle.tree_size,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn check_proof(args: CheckProofArgs) -> anyhow::Result<ExitCode> {
    let key = log_key_argument("--key", &args.key)?;
    let bundle = prove::read_bundle(&args.file)?;
    match bundle.verify(&key) {
        Ok(verified) => {
            let event = &verified.event;
            println!(
                "valid: event {} ({}, by {}, key {}) is entry {} of log {}",
                event.event_id(),
                event.kind_name(),
                event.actor(),
                event.envelope.key_id,
                verified.entry.seq,
                verified.checkpoint.origin
            );
            println!(
                "       in the tree of size {} with root {}, signed by the pinned key",
                verified.checkpoint.size, verified.checkpoint.root
            );
            println!(
                "       (whether the key was entitled to speak is checked by `covenant audit verify`)"
            );
            println!("what it says:");
            for (label, value) in prove::event_facts(event) {
                println!("  {label:<18} {value}");
            }
            Ok(ExitCode::SUCCESS)
        }
        // A format this version does not know is a bundle it cannot check, not one that failed.
        Err(error @ covenant_core::bundle::BundleError::Format(_)) => {
            eprintln!("error: cannot check {}: {error}", args.file.display());
            Ok(ExitCode::from(INCOMPLETE))
        }
        Err(error) => {
            eprintln!("FAILED: {error}");
            Ok(ExitCode::from(FAILED))
        }
    }
}

fn check_report(args: CheckReportArgs) -> anyhow::Result<ExitCode> {
    use covenant_query::report::bundle::{self, ReportBundle};
    let key = log_key_argument("--key", &args.key)?;
    let text = match std::fs::read(&args.file) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot check {}: {error}", args.file.display());
            return Ok(ExitCode::from(INCOMPLETE));
        }
    };
    let report_bundle: ReportBundle = match serde_json::from_slice(&text) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!(
                "error: cannot check {}: not a report bundle: {error}",
                args.file.display()
            );
            return Ok(ExitCode::from(INCOMPLETE));
        }
    };
    let checked = match bundle::check(&report_bundle, &key) {
        Ok(checked) => checked,
        Err(error) => {
            println!("FAILED: {error}");
            return Ok(ExitCode::from(FAILED));
        }
    };
    println!(
        "{} events proven against the signed checkpoint of {} entries",
        checked.proven_entries, checked.checkpoint_size
    );
    for figure in &checked.figures {
        let shown = |value: Option<i128>| value.map_or("(none)".to_owned(), |v| v.to_string());
        if figure.holds() {
            println!(
                "ok      {} {:<28} {}",
                figure.year,
                figure.key,
                shown(figure.claimed)
            );
        } else if figure.claimed != figure.recomputed {
            println!(
                "FAILED  {} {:<28} the report says {}, its events give {}",
                figure.year,
                figure.key,
                shown(figure.claimed),
                shown(figure.recomputed)
            );
        } else {
            println!(
                "FAILED  {} {:<28} the events it lists are not the ones it counts",
                figure.year, figure.key
            );
        }
    }
    for (section, matches) in &checked.sections {
        let verdict = if *matches { "ok     " } else { "FAILED " };
        println!("{verdict} section {section}");
    }
    if checked.holds() {
        println!("valid: every figure of the report follows from its proven events");
        println!(
            "       (that no event was left out is checked against the whole log: docs/REPORT.md)"
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("FAILED: the report does not match its events");
        Ok(ExitCode::from(FAILED))
    }
}

fn witness(command: WitnessCommand) -> anyhow::Result<ExitCode> {
    match command {
        WitnessCommand::Keygen { name, key_file } => {
            let mut seed = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
            let cosigner = Cosigner::new(&name, seed)?;
            crate::cli::keys::write_secret_file(&key_file, &format!("{}\n", hex::encode(seed)))?;
            println!("{}", cosigner.verifier_key());
            Ok(ExitCode::SUCCESS)
        }
        WitnessCommand::Serve {
            name,
            key_file,
            log_keys,
            state,
            listen,
        } => {
            let seed = read_seed(&key_file)?;
            let log_keys = log_keys
                .iter()
                .map(|key| log_key_argument("--log-key", key))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let witness = Witness::open(Cosigner::new(&name, seed)?, &log_keys, &state)?;
            println!("witness {}", witness.verifier_key());
            let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("listen on {listen}"))?;
                let address = listener.local_addr().context("read the listen address")?;
                println!("serving POST /add-checkpoint on http://{address}");
                covenant_http::server::serve(
                    listener,
                    witness::router(Arc::new(witness)),
                    covenant_http::server::ServerLimits::default(),
                    std::future::pending(),
                )
                .await
                .context("serve")
            })?;
            Ok(ExitCode::SUCCESS)
        }
        WitnessCommand::Submit {
            log,
            witness,
            log_key,
            witness_key,
        } => {
            let source = HttpSource::new(&log)?;
            let log_key = log_key_argument("--log-key", &log_key)?;
            let witness_key = witness_key.as_deref().map(key_argument).transpose()?;
            match witness::submit(&source, &log_key, &witness, witness_key.as_deref()) {
                Ok(cosigned) => {
                    // Re-check the whole note as a client would: a note that fails is the
                    // log's (or the witness's) doing, a failed check, not a stopped one.
                    if let Err(error) = verify_checkpoint(&cosigned.note, &log_key) {
                        eprintln!("FAILED: the cosigned checkpoint: {error}");
                        return Ok(ExitCode::from(FAILED));
                    }
                    print!("{}", String::from_utf8_lossy(&cosigned.note));
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => Ok(failed(&error, error.is_misbehaviour())),
            }
        }
    }
}

pub(crate) fn read_seed(path: &Path) -> anyhow::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    hex::decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .with_context(|| format!("{} does not hold a 64-hex-digit seed", path.display()))
}
