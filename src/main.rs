//! `covenant`: the ledger, its HTTP server, and the tools around it, in one binary.
//!
//! This file only parses the command line; each subcommand group lives in `cli/`.

mod cli;
mod config;

use clap::{Parser, Subcommand};

// Decoding and validating events allocates and frees many small fields across threads, where
// the system allocator costs a fifth of `covenant audit verify`'s time (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "covenant",
    version,
    about = "A tamper-evident accountability ledger: what was promised, what was done, and proof of both"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the ledger and the HTTP server (embedded when no NATS URL is given).
    Serve(cli::serve::ServeArgs),
    /// Operate on the ledger's store (rebuild from the stream).
    #[command(subcommand)]
    Ledger(cli::ledger::LedgerCommand),
    /// Ask whether an event was accepted or rejected.
    #[command(subcommand)]
    Events(cli::events::EventsCommand),
    /// Verify, monitor, prove and witness the log.
    #[command(subcommand)]
    Audit(cli::audit::AuditCommand),
    /// Create emitter and registrar keys and the registry events that grant or revoke them.
    #[command(subcommand)]
    Keys(cli::keys::KeysCommand),
    /// Publish events from the command line or from a JSON or CSV file.
    Emit(cli::emit::EmitArgs),
    /// Demo data: load it, or generate a larger synthetic load.
    #[command(subcommand)]
    Demo(cli::demo::DemoCommand),
    /// Operate on the query projections.
    #[command(subcommand)]
    Query(cli::query::QueryCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => cli::serve::run(args),
        Command::Ledger(command) => cli::ledger::run(command),
        Command::Events(command) => cli::events::run(command),
        Command::Audit(command) => cli::audit::run(command),
        Command::Keys(command) => cli::keys::run(command),
        Command::Emit(args) => cli::emit::run(args),
        Command::Demo(command) => cli::demo::run(command),
        Command::Query(command) => cli::query::run(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
