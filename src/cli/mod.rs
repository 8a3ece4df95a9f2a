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
