//! `covenant ledger rebuild`: re-derive a store from the JetStream stream.
//!
//! Validation is deterministic and entry times come from the stream, so consuming the stream
//! from sequence 1 with the same genesis configuration writes byte-identical entries and the
//! same roots as the live ledger: a lost disk loses nothing.
//!
//! `covenant ledger migrate`: move a log that ran embedded onto NATS. Every entry's envelope
//! is published, in order, into an empty stream with the log key's claim of its original time
//! (`covenant_ledger::migration`); the store is then rebuilt from the stream into a new data
//! directory and its root compared with the embedded log's, which must be the same.
//!
//! `covenant ledger seed`: start a new replica from a copy of another replica's store instead
//! of the whole stream. The copy is checked completely (every entry, hash, checkpoint
//! signature and the validation state, as `covenant audit verify --store` does) and against
//! the configured genesis before it becomes the data directory, so a damaged copy or a copy
//! of another log is never served.

use crate::cli::serve::{connect_nats, genesis_config, log_signer};
use crate::config::{self, StoreConfigArgs};
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use covenant_core::checkpoint::LogSigner;
use covenant_core::entry::Entry;
use covenant_emit::keys::KeyFile;
use covenant_ledger::migration::{MIGRATED_ENTRY_HEADER, MigratedEntry};
use covenant_ledger::{
    GenesisConfig, Ledger, LedgerMetrics, LedgerOptions, StreamSettings, ensure_stream,
};
use covenant_store::{Head, LogStore, SledStore};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Subcommand)]
pub enum LedgerCommand {
    /// Re-derive a store from the event stream, from sequence 1 to the stream's current end,
    /// into a new data directory, and print its head and root.
    Rebuild(RebuildArgs),
    /// Move a log that ran embedded onto NATS: publish its entries into an empty event
    /// stream (keeping their times), rebuild the store from the stream into a new data
    /// directory, and check that the root is the same. Stop the ledger first.
    Migrate(MigrateArgs),
    /// Start a new replica from a copy of another replica's store: check the copy completely
    /// (entries, hashes, checkpoint signatures, validation state) and against the configured
    /// genesis, and only then make it this data directory's store. `covenant serve` continues
    /// from the copy's stream position.
    Seed(SeedArgs),
}

#[derive(clap::Args)]
pub struct SeedArgs {
    #[command(flatten)]
    pub config: StoreConfigArgs,
    /// The copy: a stopped replica's `data/log` directory, or one unpacked from a backup.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The log key file (overrides [keys] log_key): the copy's checkpoints must verify with it.
    #[arg(long, value_name = "FILE")]
    pub log_key: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub config: StoreConfigArgs,
    /// Sign a checkpoint for the rebuilt head with this log key file (overrides [keys]
    /// log_key). Without one, no checkpoint is stored; the root is printed either way.
    #[arg(long, value_name = "FILE")]
    pub log_key: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub config: StoreConfigArgs,
    /// The log key file (overrides [keys] log_key): it signs each migrated entry's original
    /// time, and the ledger checks that signature before it keeps the time.
    #[arg(long, value_name = "FILE")]
    pub log_key: Option<PathBuf>,
    /// The new data directory for the store rebuilt from the stream (must not exist yet);
    /// `covenant serve --nats URL --data DIR` continues from it.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Replicas of the event stream if the migration creates it: 3 on a JetStream cluster, 1
    /// on a single server (which must then run with `sync_interval: always`).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub stream_replicas: usize,
}

pub fn run(command: LedgerCommand) -> anyhow::Result<ExitCode> {
    match command {
        LedgerCommand::Rebuild(args) => rebuild(args),
        LedgerCommand::Migrate(args) => migrate(args),
        LedgerCommand::Seed(args) => seed(args),
    }
}

/// Exit status of a seed whose copy failed its checks (nothing was kept).
const COPY_REFUSED: u8 = 1;

fn seed(args: SeedArgs) -> anyhow::Result<ExitCode> {
    let config = config::load(&(&args.config).into())?;
    let genesis = genesis_config(&config)?;
    let target = config.data_dir.join("log");
    if target.exists() {
        bail!(
            "{} already exists; seed a new data directory",
            target.display()
        );
    }
    let key_path = args.log_key.clone().or(config.log_key_file.clone()).context(
        "seeding checks the copy's checkpoints with the log key: give --log-key FILE or set [keys] log_key",
    )?;
    let signer = log_signer(&config, Some(&key_path))?;
    if !args.from.is_dir() {
        bail!("{} is not a store directory", args.from.display());
    }
    // Checked where it will be served from, so what was checked is what runs.
    let data_dir_was_there = config.data_dir.exists();
    let staging = config.data_dir.join("log.seeding");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("remove an unfinished seed {}", staging.display()))?;
    }
    copy_tree(&args.from, &staging)
        .with_context(|| format!("copy {} to {}", args.from.display(), staging.display()))?;
    let checked = check_copy(&staging, signer, &genesis);
    let head = match checked {
        Ok(head) => head,
        Err(failure) => {
            let _ = std::fs::remove_dir_all(&staging);
            if !data_dir_was_there {
                // Made for the copy and empty again (remove_dir removes only an empty one).
                let _ = std::fs::remove_dir(&config.data_dir);
            }
            eprintln!(
                "FAILED: the copy {} was not kept: {failure:#}",
                args.from.display()
            );
            return Ok(ExitCode::from(COPY_REFUSED));
        }
    };
    std::fs::rename(&staging, &target)
        .with_context(|| format!("move {} to {}", staging.display(), target.display()))?;
    println!(
        "seeded {} from {}; `covenant serve` continues from stream sequence {}",
        target.display(),
        args.from.display(),
        head.stream_seq + 1
    );
    print_head(&head);
    Ok(ExitCode::SUCCESS)
}

/// The deep check of a copied store, then its genesis against the configuration.
fn check_copy(
    path: &std::path::Path,
    signer: LogSigner,
    genesis: &GenesisConfig,
) -> anyhow::Result<Head> {
    crate::cli::audit::deep_check_store(path, &signer.verifier_key(), false)?;
    let store: Arc<dyn LogStore> = Arc::new(
        SledStore::open_for_ledger(path, signer.snapshot_key())
            .with_context(|| format!("open store {}", path.display()))?,
    );
    // Opened as `serve` will open it: the same genesis check, the same snapshot.
    let ledger = Ledger::open(
        store,
        genesis,
        Some(signer),
        LedgerOptions::default(),
        LedgerMetrics::default(),
    )
    .context("the copy's genesis against the configuration")?;
    Ok(ledger.head())
}

/// Copy a directory tree (a store is plain files and directories).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let destination = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &destination)?;
        } else {
            std::fs::copy(entry.path(), destination)?;
        }
    }
    Ok(())
}

fn rebuild(args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let config = config::load(&(&args.config).into())?;
    let Some(url) = config.nats_url.clone() else {
        bail!("a rebuild reads the event stream: give its server with --nats URL");
    };
    let genesis = genesis_config(&config)?;
    let store_path = config.data_dir.join("log");
    if store_path.exists() {
        bail!(
            "{} already exists; rebuild into a new data directory",
            store_path.display()
        );
    }
    let key_file = args.log_key.clone().or(config.log_key_file.clone());
    let signer = key_file
        .as_deref()
        .map(|path| log_signer(&config, Some(path)))
        .transpose()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("create data directory {}", config.data_dir.display()))?;
    let store: Arc<dyn LogStore> = Arc::new(
        SledStore::create_or_open(&store_path)
            .with_context(|| format!("create store {}", store_path.display()))?,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let settings = StreamSettings::default();
    let head = runtime.block_on(async {
        let client = connect_nats(&url, config.nats_credentials.as_deref()).await?;
        rebuild_from_stream(client, store, &genesis, signer, &settings).await
    })?;
    println!(
        "rebuilt {} from stream {} through sequence {}",
        store_path.display(),
        settings.name,
        head.stream_seq
    );
    print_head(&head);
    Ok(ExitCode::SUCCESS)
}

async fn rebuild_from_stream(
    client: async_nats::Client,
    store: Arc<dyn LogStore>,
    genesis: &GenesisConfig,
    signer: Option<LogSigner>,
    settings: &StreamSettings,
) -> anyhow::Result<Head> {
    let ledger = Ledger::open(
        store,
        genesis,
        signer,
        LedgerOptions::default(),
        LedgerMetrics::default(),
    )
    .context("open the new store")?;
    ledger
        .rebuild(client, settings)
        .await
        .context("rebuild from the stream")
}

fn print_head(head: &Head) {
    println!("entries {}", head.size);
    println!("root {}", BASE64.encode(head.root.0));
    println!("chain head {}", hex::encode(head.chain_head));
}

fn migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let config = config::load(&(&args.config).into())?;
    let Some(url) = config.nats_url.clone() else {
        bail!("a migration publishes into an event stream: give its server with --nats URL");
    };
    let genesis = genesis_config(&config)?;
    let key_path = args
        .log_key
        .clone()
        .or(config.log_key_file.clone())
        .context("a migration signs each entry's time with the log key: give --log-key FILE or set [keys] log_key")?;
    let signer = log_signer(&config, Some(&key_path))?;
    let seed = KeyFile::read(&key_path)?.seed;
    let old_path = config.data_dir.join("log");
    let old: Arc<dyn LogStore> = Arc::new(SledStore::open(&old_path).with_context(|| {
        format!(
            "open the embedded store {} (is the ledger still running? stop it first)",
            old_path.display()
        )
    })?);
    let old_head = old.head();
    if old_head.stream_seq > 0 {
        bail!(
            "{} already follows a stream (through sequence {}); there is nothing to migrate",
            old_path.display(),
            old_head.stream_seq
        );
    }
    // The genesis must be the configured one, or the rebuilt log could not match.
    drop(
        Ledger::open(
            old.clone(),
            &genesis,
            None,
            LedgerOptions::default(),
            LedgerMetrics::default(),
        )
        .context("check the embedded store against the configuration")?,
    );
    let new_path = args.to.join("log");
    if args.to.join("log").exists() {
        bail!(
            "{} already exists; migrate into a new data directory",
            new_path.display()
        );
    }
    let settings = StreamSettings {
        replicas: args.stream_replicas,
        ..StreamSettings::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let new_head = runtime.block_on(async {
        let client = connect_nats(&url, config.nats_credentials.as_deref()).await?;
        publish_entries(&client, &settings, old.as_ref(), &config.origin, seed).await?;
        std::fs::create_dir_all(&args.to)
            .with_context(|| format!("create data directory {}", args.to.display()))?;
        let store: Arc<dyn LogStore> = Arc::new(
            SledStore::create_or_open(&new_path)
                .with_context(|| format!("create store {}", new_path.display()))?,
        );
        rebuild_from_stream(client, store, &genesis, Some(signer), &settings).await
    })?;
    println!(
        "published {} entries of {} into stream {} on {url} and rebuilt them into {}",
        old_head.size - 1,
        old_path.display(),
        settings.name,
        new_path.display()
    );
    print_head(&new_head);
    if (new_head.size, new_head.root, new_head.chain_head)
        != (old_head.size, old_head.root, old_head.chain_head)
    {
        bail!(
            "the rebuilt log differs from the embedded one (embedded: {} entries, root {}); keep running the embedded ledger and report this",
            old_head.size,
            BASE64.encode(old_head.root.0)
        );
    }
    println!("the same root as the embedded log: the log is now on NATS");
    println!(
        "next: set [nats] url = \"{url}\" and [log] data_dir = \"{}\" in the configuration (or pass --nats and --data), then run covenant serve; keep {} as a backup",
        args.to.display(),
        config.data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// How many publishes wait for their acks at once while migrating.
const MIGRATE_IN_FLIGHT: usize = 256;

/// Publish entries 1.. of `store` into the (empty) event stream, each with its claim, and check
/// that entry n lands at stream sequence n: anything else means another publisher wrote to the
/// stream meanwhile, and the times would not be taken.
async fn publish_entries(
    client: &async_nats::Client,
    settings: &StreamSettings,
    store: &dyn LogStore,
    origin: &str,
    log_key_seed: [u8; 32],
) -> anyhow::Result<()> {
    let jetstream = async_nats::jetstream::new(client.clone());
    let mut stream = ensure_stream(&jetstream, settings)
        .await
        .context("create or check the event stream")?;
    let info = stream.info().await.context("read the event stream")?;
    if info.state.last_sequence > 0 {
        bail!(
            "stream {} already holds messages (through sequence {}); a migration needs an empty stream, with no emitter publishing to it",
            settings.name,
            info.state.last_sequence
        );
    }
    let size = store.head().size;
    let mut in_flight = std::collections::VecDeque::new();
    for seq in 1..size {
        let bytes = store
            .entry(seq)?
            .with_context(|| format!("entry {seq} is missing from the store"))?;
        let entry = Entry::decode(&bytes).with_context(|| format!("decode entry {seq}"))?;
        let event = covenant_core::event::decode(&entry.envelope)
            .with_context(|| format!("decode the envelope of entry {seq}"))?;
        let claim = MigratedEntry::sign(
            log_key_seed,
            origin,
            seq,
            entry.stored_at_ns,
            &entry.envelope,
        );
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, event.event_id());
        headers.insert(MIGRATED_ENTRY_HEADER, claim.to_header().as_str());
        let ack = jetstream
            .publish_with_headers(
                covenant_core::subject::event_subject(event.actor()),
                headers,
                entry.envelope.into(),
            )
            .await
            .with_context(|| format!("publish entry {seq}"))?;
        in_flight.push_back((seq, ack));
        if in_flight.len() >= MIGRATE_IN_FLIGHT {
            let (seq, ack) = in_flight.pop_front().expect("not empty");
            check_ack(seq, ack.await)?;
        }
    }
    while let Some((seq, ack)) = in_flight.pop_front() {
        check_ack(seq, ack.await)?;
    }
    Ok(())
}

fn check_ack(
    seq: u64,
    ack: Result<
        async_nats::jetstream::publish::PublishAck,
        async_nats::jetstream::context::PublishError,
    >,
) -> anyhow::Result<()> {
    let ack = ack.with_context(|| format!("store entry {seq} in the stream"))?;
    if ack.sequence != seq || ack.duplicate {
        bail!(
            "entry {seq} was stored at stream sequence {}{}: something else publishes to the stream; stop every emitter, and migrate again onto a new, empty stream",
            ack.sequence,
            if ack.duplicate { " as a duplicate" } else { "" }
        );
    }
    Ok(())
}
