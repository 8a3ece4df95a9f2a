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
    after_help = "New here? `covenant init DIR --origin NAME` sets up a log of your own and prints what to run next; docs/OPERATING.md is the guide.",
    version,
    about = "A tamper-evident accountability ledger: what was promised, what was done, and proof of both"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new log: its log key, registrar key, configuration and data directory, and
    /// print the commands that come next.
    Init(cli::init::InitArgs),
    /// Run the ledger and the HTTP server (embedded when no NATS URL is given).
    Serve(cli::serve::ServeArgs),
    /// Operate on the ledger's store: rebuild it from the stream, or move an embedded log onto
    /// NATS.
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
    /// Register an actor, make its emitter key and grant it, in one step.
    Enrol(cli::enrol::EnrolArgs),
    /// Publish events from the command line or from a JSON or CSV file.
    Emit(cli::emit::EmitArgs),
    /// Demo data: load it, or generate a larger synthetic load.
    #[command(subcommand)]
    Demo(cli::demo::DemoCommand),
    /// Operate on the query projections.
    #[command(subcommand)]
    Query(cli::query::QueryCommand),
    /// The annual covenant report of an actor or of all of government, with its proof bundle.
    Report(cli::report::ReportArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init(args) => cli::init::run(args),
        Command::Serve(args) => cli::serve::run(args),
        Command::Ledger(command) => cli::ledger::run(command),
        Command::Events(command) => cli::events::run(command),
        // The audit commands report their own errors, with the exit codes of docs/AUDIT.md.
        Command::Audit(command) => Ok(cli::audit::run(command)),
        Command::Keys(command) => cli::keys::run(command),
        Command::Enrol(args) => cli::enrol::run(args),
        Command::Emit(args) => cli::emit::run(args),
        Command::Demo(command) => cli::demo::run(command),
        Command::Query(command) => cli::query::run(command),
        Command::Report(args) => cli::report::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every flag and argument of every subcommand, as `path: --flag`, for which `help` holds.
    fn args_where(predicate: impl Fn(&clap::Arg) -> bool) -> Vec<String> {
        fn walk(
            command: &clap::Command,
            path: &str,
            predicate: &dyn Fn(&clap::Arg) -> bool,
            found: &mut Vec<String>,
        ) {
            for arg in command.get_arguments() {
                if predicate(arg) {
                    let name = match arg.get_long() {
                        Some(long) => format!("--{long}"),
                        None => arg.get_id().to_string(),
                    };
                    found.push(format!("{path}: {name}"));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), predicate, found);
            }
        }
        let mut command = Cli::command();
        command.build();
        let mut found = vec![];
        walk(&command, "covenant", &predicate, &mut found);
        found
    }

    #[test]
    fn every_flag_of_every_subcommand_has_help() {
        let without_help = args_where(|arg| {
            arg.get_help().is_none() && arg.get_long_help().is_none() && !arg.is_hide_set()
        });
        assert!(
            without_help.is_empty(),
            "flags without help text:\n{}",
            without_help.join("\n")
        );
        // The walk reaches the nested subcommands and their flattened flags.
        let all = args_where(|_| true);
        for expected in [
            "covenant emit commitment: --commitment-id",
            "covenant keys succeed: --note",
            "covenant ledger migrate: --to",
            "covenant init: --origin",
        ] {
            assert!(all.contains(&expected.to_owned()), "{expected} in {all:?}");
        }
    }

    #[test]
    fn flags_that_do_not_apply_are_not_listed() {
        let all = args_where(|_| true);
        for absent in [
            "covenant emit: --data",
            "covenant emit: --listen",
            "covenant emit commitment: --listen",
            "covenant enrol: --listen",
            "covenant ledger rebuild: --listen",
            "covenant ledger migrate: --listen",
            "covenant demo load: --data",
        ] {
            assert!(!all.contains(&absent.to_owned()), "{absent} is listed");
        }
        for present in [
            "covenant serve: --listen",
            "covenant emit: --ledger",
            "covenant emit commitment: --key",
            "covenant ledger rebuild: --data",
            "covenant demo load: --listen",
        ] {
            assert!(all.contains(&present.to_owned()), "{present} is missing");
        }
    }

    /// The `covenant` command line of a systemd unit: its `ExecStart`, continuation lines
    /// joined, each `${VAR}` replaced by one argument from `environment` (as systemd does).
    fn exec_start(unit: &str, environment: &str) -> Vec<String> {
        let variables: std::collections::HashMap<&str, &str> = environment
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .collect();
        let command = unit
            .split_once("ExecStart=")
            .expect("an ExecStart line")
            .1
            .replace("\\\n", " ");
        let command = command.lines().next().unwrap_or_default();
        command
            .split_whitespace()
            .skip(1)
            .map(
                |word| match word.strip_prefix("${").and_then(|w| w.strip_suffix('}')) {
                    Some(name) => variables
                        .get(name)
                        .unwrap_or_else(|| panic!("{name} is not in the example environment"))
                        .to_string(),
                    None => word.to_owned(),
                },
            )
            .collect()
    }

    #[test]
    fn the_shipped_systemd_units_run_commands_that_parse_and_resolve() {
        let single = exec_start(include_str!("../deploy/systemd/covenant.service"), "");
        assert!(
            Cli::try_parse_from(["covenant"].into_iter().map(str::to_owned).chain(single)).is_ok()
        );
        let replica = exec_start(
            include_str!("../deploy/systemd/cluster/covenant-replica.service"),
            include_str!("../deploy/systemd/cluster/replica.env.example"),
        );
        let cli = Cli::try_parse_from(["covenant".to_owned()].into_iter().chain(replica))
            .unwrap_or_else(|error| panic!("{error}"));
        let Command::Serve(args) = cli.command else {
            panic!("the replica unit runs covenant serve");
        };
        assert_eq!(
            args.replica.replica_name.as_deref(),
            Some("replica-1.covenant.example.org")
        );
        let policy = config::cosigning_policy(None, &args.replica)
            .unwrap()
            .expect("the peers make a policy");
        assert_eq!(policy.replicas().len(), 2);
        assert_eq!(policy.replica_quorum(), 1, "a majority of three replicas");
        assert_eq!(policy.replicas()[1].url(), "http://10.0.0.13:8080/replica");
    }
}
