//! The integration tests of the `covenant` binary, one module per area.

mod audit;
mod ledger;
mod cli_demo;
mod cli_emit;
mod cli_keys;
mod query_api;
