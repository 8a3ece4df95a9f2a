use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum LedgerCommand {}

pub fn run(command: LedgerCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
