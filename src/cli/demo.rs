use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum DemoCommand {}

pub fn run(command: DemoCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
