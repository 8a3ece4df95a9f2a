//! One module per subcommand group. Each exposes its clap arguments and a `run` that returns
//! the process exit code.

pub mod audit;
pub mod demo;
pub mod emit;
pub mod enrol;
pub mod events;
pub mod init;
pub mod keys;
pub mod ledger;
pub mod query;
pub mod report;
pub mod serve;

use anyhow::Context;

/// An HTTP client that returns every answer, errors included, so that a command can explain a
/// server's refusal in its own words. `timeout` bounds each request as a whole.
fn http_agent(timeout: Option<std::time::Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(timeout)
        .http_status_as_error(false)
        .build()
        .into()
}

/// `GET url`, with the URL in the error when the server cannot be reached.
fn http_get(agent: &ureq::Agent, url: &str) -> anyhow::Result<ureq::http::Response<ureq::Body>> {
    agent.get(url).call().with_context(|| format!("GET {url}"))
}
