//! `covenant serve`: the ledger and the HTTP server in one process.
//!
//! With a NATS URL the ledger consumes the JetStream stream; without one it runs embedded and
//! HTTPS ingest goes straight into the sequencer, so one process with a data directory is a
//! working ledger. Ctrl-C or SIGTERM stops the HTTP server, lets the ledger finish the batch in
//! flight and sign a final checkpoint, then exits.
//!
//! With witnesses configured (`[witnessing]`, `--witness`), a checkpoint is stored, served at
//! `/log/checkpoint` and published only once a quorum of them has cosigned it; with peer
//! replicas (`--replica-peer`), only once a quorum of them has found the same root in its own
//! log. With a replica key (`--replica-key`), this server cosigns its peers' checkpoints.

use crate::config::{self, Config, ConfigArgs, ReplicaArgs, WitnessArgs};
use anyhow::{Context, bail};
use covenant_core::checkpoint::LogSigner;
use covenant_emit::keys::{KeyFile, KeyKind};
use covenant_http::AppState;
use covenant_http::health::ReadinessLimits;
use covenant_http::rate_limit::{RateLimit, RateLimiter};
use covenant_http::server::ServerLimits;
use covenant_ledger::{
    GenesisConfig, Ingest, Ledger, LedgerMetrics, LedgerOptions, RegistrarKey, RunningLedger,
    StreamSettings,
};
use covenant_query::Follower;
use covenant_store::{LogStore, SledStore};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::signal::unix::{Signal, SignalKind, signal};

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The log's checkpoint signing key file (overrides [keys] log_key). Without either, a key
    /// is generated on first start and kept in the data directory as log.key.
    #[arg(long, value_name = "FILE")]
    pub log_key: Option<PathBuf>,
    /// Replicas of the event stream: 3 on a JetStream cluster; 1 on a single server, which
    /// must then run with `sync_interval: always`. The ledger creates the stream with them, and
    /// raises an existing stream that has fewer (never lowers one).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub stream_replicas: usize,
    /// `/readyz` answers 503 while the ledger has more than N stream messages left to
    /// consume (overrides [http] ready_max_lag; default 1000).
    #[arg(long, value_name = "N")]
    pub ready_max_lag: Option<u64>,
    /// `/readyz` answers 503 when the ledger last signed or published a checkpoint more than
    /// this many seconds ago (overrides [http] ready_max_checkpoint_age_seconds; default three
    /// idle checkpoint intervals, 180).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub ready_max_checkpoint_age: Option<u64>,
    #[command(flatten)]
    pub witnesses: WitnessArgs,
    #[command(flatten)]
    pub replica: ReplicaArgs,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = config::load(&args.config)?;
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(serve(config, args))
}

async fn serve(config: Config, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let signals = ShutdownSignals::listen()?;
    let genesis = genesis_config(&config)?;
    let witnesses = config::cosigning_policy(
        config::witness_policy(&args.config, &args.witnesses)?,
        &args.replica,
    )?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("create data directory {}", config.data_dir.display()))?;
    let log_key_file = args.log_key.clone().or(config.log_key_file.clone());
    let signer = log_signer(&config, log_key_file.as_deref())?;
    let store_path = config.data_dir.join("log");
    let store = SledStore::create_or_open_for_ledger(&store_path, signer.snapshot_key())
        .with_context(|| format!("open store {}", store_path.display()))?;
    if let Some(why) = &store.recovery().snapshot_refused {
        // Only a slower open, but an operator should know why it was slow.
        eprintln!(
            "covenant: the store's snapshot was not used ({why}); this open read the whole log's index records and the ledger re-derives its state from the first entry"
        );
    }
    let store: Arc<dyn LogStore> = Arc::new(store);
    let metrics = LedgerMetrics::default();
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    if let Some(policy) = &witnesses {
        announce_policy(policy);
    }
    let options = LedgerOptions {
        witnesses,
        ..LedgerOptions::default()
    };
    let ledger = Ledger::open(store.clone(), &genesis, Some(signer), options, metrics)
        .context("open the ledger")?;
    let verifier_key = ledger.verifier_key().unwrap_or_default();
    let replica = replica_cosigner(&args.replica, &ledger, &store, &verifier_key)?;
    let head = ledger.head();
    let ledger_health = ledger.health();
    let readiness = readiness_limits(&config, &args, &options_idle_interval());
    let (ingest, running, mode) = start_ledger(ledger, &config, args.stream_replicas).await?;
    let defaults = RateLimit::default();
    let ingest_limit = RateLimit {
        per_second: config.http.ingest_per_second.unwrap_or(defaults.per_second),
        burst: config.http.ingest_burst.unwrap_or(defaults.burst),
    };
    let projections = crate::cli::query::open_projections(&config.data_dir)?;
    // The projections follow the log in their own thread from now on, so that no request
    // ever applies log entries itself.
    let follower = Follower::start(projections.clone(), store.clone())
        .context("start following the log with the query projections")?;
    let state = AppState {
        ingest: Some(ingest),
        metrics: Arc::new(registry),
        ingest_limit: Some(Arc::new(RateLimiter::new(ingest_limit))),
        ledger_health: Some(ledger_health),
        readiness,
        replica,
        ..AppState::new(store, verifier_key.clone())
    }
    .with_public_url(&config.public_url())
    .with_query(projections.clone());
    let limits = ServerLimits {
        max_connections: config
            .http
            .max_connections
            .unwrap_or(ServerLimits::default().max_connections),
        ..ServerLimits::default()
    };
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listen on {}", config.listen))?;
    let address = listener.local_addr().context("read the listen address")?;
    eprintln!(
        "covenant: ledger {} ({mode}), {} entries; serving http://{address}\ncovenant: verifier key {verifier_key}",
        config.data_dir.display(),
        head.size
    );
    let stopped = run_until_stopped(listener, state, limits, running, signals).await;
    // After the ledger's last batch: the follower finishes the batch it is applying, and what
    // is applied is flushed, so the next start resumes from it.
    let flushed = tokio::task::spawn_blocking(move || {
        follower.stop();
        projections.flush()
    })
    .await;
    if let Ok(Err(error)) = flushed {
        eprintln!("covenant: flush the query projections: {error}");
    }
    stopped
}

fn announce_policy(policy: &covenant_ledger::WitnessPolicy) {
    let names = |members: &[covenant_ledger::PolicyWitness]| {
        members
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !policy.witnesses().is_empty() {
        eprintln!(
            "covenant: checkpoints are published once {} of these witnesses cosign them, asked at most every {:?}: {}",
            policy.quorum(),
            policy.timing().interval,
            names(policy.witnesses())
        );
    }
    if !policy.replicas().is_empty() {
        eprintln!(
            "covenant: checkpoints are published once {} of these peer replicas find the same root in their own logs: {}",
            policy.replica_quorum(),
            names(policy.replicas())
        );
    }
}

/// With a replica key: the cosigner of peers' checkpoints, over this ledger's store.
fn replica_cosigner(
    flags: &ReplicaArgs,
    ledger: &Ledger,
    store: &Arc<dyn LogStore>,
    log_verifier_key: &str,
) -> anyhow::Result<Option<Arc<covenant_ledger::ReplicaCosigner>>> {
    let (Some(name), Some(key_file)) = (&flags.replica_name, &flags.replica_key) else {
        return Ok(None);
    };
    let seed = crate::cli::audit::read_seed(key_file)?;
    let cosigner = covenant_core::cosignature::Cosigner::new(name, seed)
        .with_context(|| format!("--replica-name {name:?}"))?;
    let peers: Vec<String> = flags
        .replica_peers
        .iter()
        .filter_map(|peer| peer.split_whitespace().nth(1).map(str::to_owned))
        .collect();
    let replica = covenant_ledger::ReplicaCosigner::new(
        cosigner,
        log_verifier_key.to_owned(),
        store.clone(),
        ledger.health(),
        ledger.metrics().clone(),
        &peers,
        flags.alarm_webhook.clone(),
    );
    eprintln!(
        "covenant: cosigning peers' checkpoints as replica {}",
        replica.verifier_key()
    );
    Ok(Some(Arc::new(replica)))
}

/// The ledger's idle checkpoint interval, which the default checkpoint age allows for.
fn options_idle_interval() -> std::time::Duration {
    LedgerOptions::default().idle_checkpoint_interval
}

/// `/readyz` limits: flags, then the file, then defaults (the age: three idle intervals, so
/// one late republication does not take the replica out of rotation).
fn readiness_limits(
    config: &Config,
    args: &ServeArgs,
    idle_interval: &std::time::Duration,
) -> ReadinessLimits {
    let age = args
        .ready_max_checkpoint_age
        .map(std::time::Duration::from_secs)
        .or(config.http.ready_max_checkpoint_age)
        .unwrap_or(*idle_interval * 3);
    ReadinessLimits {
        max_stream_lag: args
            .ready_max_lag
            .or(config.http.ready_max_lag)
            .unwrap_or(covenant_http::health::DEFAULT_MAX_STREAM_LAG),
        max_checkpoint_age: age,
    }
}

async fn start_ledger(
    ledger: Ledger,
    config: &Config,
    stream_replicas: usize,
) -> anyhow::Result<(Ingest, RunningLedger, String)> {
    let Some(url) = &config.nats_url else {
        let (ingest, running) = ledger.run_embedded().context("start the embedded ledger")?;
        return Ok((ingest, running, "embedded, no broker".to_owned()));
    };
    let client = connect_nats(url, config.nats_credentials.as_deref()).await?;
    let settings = StreamSettings {
        replicas: stream_replicas,
        ..StreamSettings::default()
    };
    let (ingest, running) = ledger
        .run_stream(client, &settings)
        .await
        .context("start the ledger on the event stream")?;
    Ok((
        ingest,
        running,
        format!("stream {} on {url}", settings.name),
    ))
}

/// Serve HTTP until Ctrl-C or SIGTERM, or until the ledger stops by itself (an error).
async fn run_until_stopped(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: ServerLimits,
    mut running: RunningLedger,
    mut signals: ShutdownSignals,
) -> anyhow::Result<ExitCode> {
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let server =
        covenant_http::server::serve(listener, covenant_http::router(state), limits, async {
            let _ = http_stopped.await;
        });
    let server = tokio::spawn(server);
    let ledger_failed = tokio::select! {
        signal = signals.next() => {
            eprintln!("covenant: {signal}; finishing the batch in flight");
            false
        }
        _ = running.finished() => true,
    };
    // HTTP first: requests in flight still reach the ledger, which stops after them.
    let _ = stop_http.send(());
    let served = server.await.context("join the HTTP server")?;
    let head = running.stop().await;
    served.context("serve HTTP")?;
    let head = head.context("run the ledger")?;
    if ledger_failed {
        bail!("the ledger stopped unexpectedly");
    }
    eprintln!(
        "covenant: stopped cleanly at {} entries (stream sequence {})",
        head.size, head.stream_seq
    );
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C and SIGTERM, caught from the moment `listen` returns: one that arrives while the
/// ledger starts, or just after it announced its address, stops it cleanly instead of killing
/// it.
struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    fn listen() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("listen for Ctrl-C")?,
            terminate: signal(SignalKind::terminate()).context("listen for SIGTERM")?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "interrupted",
            _ = self.terminate.recv() => "terminated",
        }
    }
}

/// Connect to NATS (with a credentials file when given), failing fast with the URL named.
pub async fn connect_nats(
    url: &str,
    credentials: Option<&Path>,
) -> anyhow::Result<async_nats::Client> {
    let mut options = async_nats::ConnectOptions::new().name("covenant-ledger");
    if let Some(path) = credentials {
        options = covenant_emit::publish::with_nats_identity(options, path)
            .await
            .with_context(|| format!("read NATS credentials {}", path.display()))?;
    }
    // Several servers of one cluster may be given, separated by commas.
    let servers: Vec<&str> = url.split(',').map(str::trim).collect();
    options
        .connect(servers)
        .await
        .with_context(|| format!("connect to NATS at {url}"))
}

/// The genesis the configuration describes; registrar keys are required.
pub fn genesis_config(config: &Config) -> anyhow::Result<GenesisConfig> {
    if config.registrars.is_empty() {
        bail!(
            "no registrar keys are configured: add [[keys.registrars]] with key_id and public_key to the configuration file (see deploy/covenant.example.toml); they go into the log's genesis entry"
        );
    }
    Ok(GenesisConfig {
        origin: config.origin.clone(),
        registrar_actor: config.registrar_actor.clone(),
        registrars: config
            .registrars
            .iter()
            .map(|key| RegistrarKey {
                key_id: key.key_id.clone(),
                public_key: key.public_key,
            })
            .collect(),
        description: config.description.clone(),
    })
}

/// The log signing key: from the given file, or the data directory's `log.key`, generated on
/// first start.
pub fn log_signer(config: &Config, key_file: Option<&Path>) -> anyhow::Result<LogSigner> {
    let (path, generated) = match key_file {
        Some(path) => (path.to_owned(), false),
        None => {
            let path = config.data_dir.join("log.key");
            let generated = !path.exists();
            if generated {
                let mut key = KeyFile::generate(KeyKind::Log);
                key.origin = Some(config.origin.clone());
                key.write_new(&path)
                    .with_context(|| format!("write new log key {}", path.display()))?;
            }
            (path, generated)
        }
    };
    let key = KeyFile::read(&path).with_context(|| format!("read log key {}", path.display()))?;
    if key.kind != KeyKind::Log {
        bail!(
            "{} is a {} key, not a log key",
            path.display(),
            key.kind.as_str()
        );
    }
    if let Some(origin) = &key.origin
        && origin != &config.origin
    {
        bail!(
            "log key {} is for origin {origin:?}, but the configured origin is {:?}",
            path.display(),
            config.origin
        );
    }
    let signer = LogSigner::new(&config.origin, key.seed).context("load the log key")?;
    if generated {
        eprintln!(
            "covenant: generated a new log signing key in {} (mode 0600; back it up: it signs every checkpoint)\ncovenant: its verifier key is {}",
            path.display(),
            signer.verifier_key()
        );
    }
    Ok(signer)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal, not in a log file or a journal.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .try_init();
}
