use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum EventsCommand {}

pub fn run(command: EventsCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
