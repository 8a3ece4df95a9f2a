//! `covenant report`: the annual covenant report of one actor (or all of government), from a
//! running server or from a stopped ledger's data directory (docs/REPORT.md).

use anyhow::{Context, bail};
use covenant_http::pages::report::text;
use covenant_http::report::{self as reports, ReportAsked, page_path};
use covenant_query::report::Report;
use covenant_store::{LogReader, SledStore};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The actor whose report it is (its registry id, for example GB-GOV-23). Without it: all of
    /// government.
    #[arg(long, value_name = "ID")]
    actor: Option<String>,
    /// The calendar year (a year still under way is reported up to today).
    #[arg(long, value_name = "YYYY")]
    year: i32,
    /// What to write: a text summary, the report as JSON or CSV, its proof bundle (JSON, for
    /// `covenant audit check-report`), or the PDF.
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// Where to write it; standard output when not given (not for the PDF).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Compute it as of this signed checkpoint size; the newest by default.
    #[arg(long, value_name = "SIZE")]
    checkpoint: Option<u64>,
    /// A running Covenant server to ask (http://host:port). Also COVENANT_SERVER.
    #[arg(
        long,
        env = "COVENANT_SERVER",
        value_name = "URL",
        conflicts_with = "data",
        required_unless_present = "data"
    )]
    server: Option<String>,
    /// A stopped ledger's data directory to compute it from instead (its log and projections).
    #[arg(long, value_name = "DIR", requires = "key")]
    data: Option<PathBuf>,
    /// With --data: the log's verifier key, or a file holding it, to check its checkpoint.
    #[arg(long, value_name = "VERIFIER_KEY")]
    key: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReportFormat {
    Text,
    Json,
    Csv,
    Bundle,
    Pdf,
}

impl ReportFormat {
    /// The report's file on a server.
    fn file(self) -> &'static str {
        match self {
            Self::Text | Self::Json => "report.json",
            Self::Csv => "report.csv",
            Self::Bundle => "bundle.json",
            Self::Pdf => "report.pdf",
        }
    }
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    if args.format == ReportFormat::Pdf && args.out.is_none() {
        bail!("a PDF is written to a file: give --out FILE");
    }
    let bytes = match (&args.server, &args.data) {
        (Some(server), _) => fetch(&args, server)?,
        (None, Some(data)) => compute(&args, data)?,
        (None, None) => bail!("give --server URL or --data DIR"),
    };
    let bytes = if args.format == ReportFormat::Text {
        let report: Report =
            serde_json::from_slice(&bytes).context("read the report the server sent")?;
        text(&report).into_bytes()
    } else {
        bytes
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("write {}", path.display()))?;
            eprintln!("covenant: wrote {}", path.display());
        }
        None => std::io::stdout()
            .write_all(&bytes)
            .context("write to standard output")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// How long to wait for a server that is still catching up.
const RETRY_SECONDS: u32 = 30;

fn fetch(args: &ReportArgs, server: &str) -> anyhow::Result<Vec<u8>> {
    let mut url = format!(
        "{}{}/{}",
        server.trim_end_matches('/'),
        page_path(args.actor.as_deref(), args.year),
        args.format.file()
    );
    if let Some(size) = args.checkpoint {
        url.push_str(&format!("?checkpoint={size}"));
    }
    let agent = super::http_agent(None);
    let mut response = super::http_get(&agent, &url)?;
    // A server answers 503 until its projections reach a signed checkpoint: wait a little.
    let mut waited = 0;
    while response.status() == 503 && waited < RETRY_SECONDS {
        std::thread::sleep(std::time::Duration::from_secs(1));
        waited += 1;
        response = super::http_get(&agent, &url)?;
    }
    let status = response.status();
    let body = response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .with_context(|| format!("read {url}"))?;
    if !status.is_success() {
        // The server answers errors as the /v1 API does, `{"error": {"message": ...}}`; say
        // the sentence, not the JSON around it.
        let said = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|answer| answer["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned());
        bail!("{url} answered {status}: {said}");
    }
    Ok(body)
}

fn compute(args: &ReportArgs, data: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let key = super::audit::key_argument(args.key.as_deref().unwrap_or_default())?;
    let store_path = data.join("log");
    let store = SledStore::open(&store_path)
        .with_context(|| format!("open store {}", store_path.display()))?;
    let projections = super::query::open_projections(data)?;
    // A copy of the log alone (a backup) has no projections, or older ones: project what is
    // missing first, as `serve` would on start.
    let behind = store.head().size.saturating_sub(projections.applied());
    if behind > 0 {
        eprintln!("covenant: projecting the log's {behind} entries the projections lack first");
        projections
            .catch_up(&store)
            .context("apply log entries to the projections")?;
    }
    let asked = ReportAsked {
        actor: args.actor.clone(),
        year: args.year,
        checkpoint: args.checkpoint,
    };
    let built = reports::build(
        &store,
        &projections,
        &key,
        &asked,
        reports::today(),
        usize::MAX,
    )
    .context("compute the report")?;
    Ok(match args.format {
        ReportFormat::Text | ReportFormat::Json => serde_json::to_vec_pretty(&built.report)?,
        ReportFormat::Csv => reports::csv(&built.report)?.into_bytes(),
        ReportFormat::Bundle => serde_json::to_vec_pretty(&reports::bundle(&store, &key, &built)?)?,
        ReportFormat::Pdf => bail!("the PDF is made by a server: use --server"),
    })
}
