//! The integration tests of the `covenant` binary, one module per area.

mod audit;
mod boundaries;
mod build_profile;
mod cli_demo;
mod cli_emit;
mod cli_init;
mod cli_keys;
mod compat;
mod docs;
mod interop;
mod ledger;
mod query_api;
