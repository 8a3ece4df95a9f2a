//! `covenant ledger rebuild`: re-derive a store from the JetStream stream.
//!
//! Validation is deterministic and entry times come from the stream, so consuming the stream
//! from sequence 1 with the same genesis configuration writes byte-identical entries and the
//! same roots as the live ledger: a lost disk loses nothing.

use crate::cli::serve::{connect_nats, genesis_config, log_signer};
use crate::config::{self, ConfigArgs};
use anyhow::{Context, bail};
use base64::Engine;
use covenant_ledger::{Ledger, LedgerMetrics, LedgerOptions, StreamSettings};
use covenant_store::{LogStore, SledStore};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Subcommand)]
pub enum LedgerCommand {
    /// Re-derive a store from the event stream, from sequence 1 to the stream's current end,
    /// into a new data directory, and print its head and root.
    Rebuild(RebuildArgs),
}

#[derive(clap::Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Sign a checkpoint for the rebuilt head with this log key file (overrides [keys]
    /// log_key). Without one, no checkpoint is stored; the root is printed either way.
    #[arg(long, value_name = "FILE")]
    pub log_key: Option<PathBuf>,
}

pub fn run(command: LedgerCommand) -> anyhow::Result<ExitCode> {
    match command {
        LedgerCommand::Rebuild(args) => rebuild(args),
    }
}

fn rebuild(args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let config = config::load(&args.config)?;
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
        let ledger = Ledger::open(
            store.clone(),
            &genesis,
            signer,
            LedgerOptions::default(),
            LedgerMetrics::default(),
        )
        .context("open the new store")?;
        ledger
            .rebuild(client, &settings)
            .await
            .context("rebuild from the stream")
    })?;
    println!(
        "rebuilt {} from stream {} through sequence {}",
        store_path.display(),
        settings.name,
        head.stream_seq
    );
    println!("entries {}", head.size);
    println!(
        "root {}",
        base64::engine::general_purpose::STANDARD.encode(head.root.0)
    );
    println!("chain head {}", hex::encode(head.chain_head));
    Ok(ExitCode::SUCCESS)
}
