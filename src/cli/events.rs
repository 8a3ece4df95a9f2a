//! `covenant events status`: ask the ledger what became of an event.

use anyhow::{Context, bail};
use covenant_emit::status::ErrorAnswer;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Subcommand)]
pub enum EventsCommand {
    /// Whether an event was accepted (with its entry number) or rejected (with the reason).
    ///
    /// Exit status: 0 accepted, 2 rejected, 3 unknown to the ledger (not processed yet, or
    /// never published), 1 when the ledger could not be asked.
    Status(StatusArgs),
}

#[derive(clap::Args)]
pub struct StatusArgs {
    /// The event id (the envelope's `event_id`).
    pub event_id: String,
    /// The ledger's HTTP address.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub server: String,
}

pub fn run(command: EventsCommand) -> anyhow::Result<ExitCode> {
    match command {
        EventsCommand::Status(args) => status(args),
    }
}

#[derive(serde::Deserialize)]
struct Answer {
    event_id: String,
    status: String,
    seq: Option<u64>,
    code: Option<String>,
    message: Option<String>,
    #[serde(default)]
    rejections: Vec<RejectionAnswer>,
}

#[derive(serde::Deserialize)]
struct RejectionAnswer {
    code: String,
    message: String,
}

fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let url = format!(
        "{}/v1/events/{}",
        args.server.trim_end_matches('/'),
        encode_path_segment(&args.event_id)
    );
    let agent = super::http_agent(Some(Duration::from_secs(10)));
    let mut response = super::http_get(&agent, &url)?;
    let http_status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_vec()
        .with_context(|| format!("read the answer from {url}"))?;
    let Ok(answer) = serde_json::from_slice::<Answer>(&body) else {
        if let Ok(ErrorAnswer { error }) = serde_json::from_slice::<ErrorAnswer>(&body) {
            if http_status == 404
                && error.code == "not_found"
                && error.event_id.as_deref() == Some(args.event_id.as_str())
            {
                // Still asked: the ledger records its refusal of an envelope whose id is
                // malformed under that id.
                let why = if covenant_core::event::is_valid_event_id(&args.event_id) {
                    "not processed yet, or never published"
                } else {
                    "and it is not an event id, a ULID or a UUIDv7, so no event has it: check for a typo"
                };
                println!(
                    "{} unknown: the ledger has neither accepted nor rejected it ({why})",
                    args.event_id
                );
                return Ok(ExitCode::from(3));
            }
            bail!(
                "{url} answered HTTP {http_status} ({}): {}",
                error.code,
                error.message
            );
        }
        let snippet: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        bail!("{url} answered HTTP {http_status}, not an event status: {snippet}");
    };
    match answer.status.as_str() {
        "accepted" => {
            let seq = answer.seq.map_or("?".to_owned(), |seq| seq.to_string());
            println!("{} accepted: entry {seq}", answer.event_id);
            for rejection in &answer.rejections {
                println!(
                    "  a conflicting envelope with the same id was rejected ({}): {}",
                    rejection.code, rejection.message
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        "rejected" => {
            println!(
                "{} rejected ({}): {}",
                answer.event_id,
                answer.code.unwrap_or_default(),
                answer.message.unwrap_or_default()
            );
            Ok(ExitCode::from(2))
        }
        other => bail!("{url} answered with status {other:?}"),
    }
}

/// Percent-encode everything but unreserved characters, so any id makes one path segment.
fn encode_path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
