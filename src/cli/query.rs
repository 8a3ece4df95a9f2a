//! `covenant query`: the promised-versus-done projections kept beside the log.

use anyhow::Context;
use covenant_query::{DEFAULT_BATCH_ENTRIES, Projections};
use covenant_store::{LogReader, SledStore};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Subcommand)]
pub enum QueryCommand {
    /// Rebuild the projections (DATA/query) from the log (DATA/log), from entry 0. Run it
    /// while the server is stopped: only one process at a time can open a data directory.
    Rebuild(RebuildArgs),
}

#[derive(clap::Args)]
pub struct RebuildArgs {
    /// Data directory of the ledger. Also COVENANT_DATA.
    #[arg(long, env = "COVENANT_DATA", value_name = "DIR")]
    pub data: PathBuf,
}

pub fn run(command: QueryCommand) -> anyhow::Result<ExitCode> {
    match command {
        QueryCommand::Rebuild(args) => rebuild(&args.data),
    }
}

/// Where the projections of a data directory live.
pub fn projections_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("query")
}

/// Open the projections of a data directory, for a server to answer queries from. A server
/// keeps them caught up with a `covenant_query::Follower`, which resumes from the stored count,
/// so a restart replays nothing already applied.
pub fn open_projections(data_dir: &Path) -> anyhow::Result<Arc<Projections>> {
    let dir = projections_dir(data_dir);
    let projections =
        Projections::open(&dir).with_context(|| format!("open projections {}", dir.display()))?;
    Ok(Arc::new(projections))
}

/// Entries applied between progress lines.
const PROGRESS_EVERY: u64 = 100_000;

fn rebuild(data_dir: &Path) -> anyhow::Result<ExitCode> {
    let store_path = data_dir.join("log");
    let store = SledStore::open(&store_path)
        .with_context(|| format!("open store {}", store_path.display()))?;
    let projections = open_projections(data_dir)?;
    let started = Instant::now();
    projections.clear().context("clear projections")?;
    let size = store.head().size;
    let mut applied = 0;
    while applied < size {
        applied = projections
            .catch_up_to(&store, applied + PROGRESS_EVERY, DEFAULT_BATCH_ENTRIES)
            .context("apply log entries to the projections")?;
        eprintln!("covenant: projected {applied} of {size} entries");
    }
    projections.flush().context("flush projections")?;
    eprintln!(
        "covenant: rebuilt {} from {} entries in {:.1} s",
        projections.dir().display(),
        applied,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
