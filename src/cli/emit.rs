use std::process::ExitCode;

#[derive(clap::Args)]
pub struct EmitArgs {}

pub fn run(_args: EmitArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("covenant emit is not available in this build yet")
}
