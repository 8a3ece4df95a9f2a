use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum QueryCommand {}

pub fn run(command: QueryCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
