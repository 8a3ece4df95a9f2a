use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum AuditCommand {}

pub fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
