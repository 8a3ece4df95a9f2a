//! `covenant audit` as a watchdog runs it: against a ledger fed through a real nats-server, on
//! its stopped store, against static logs that lie, and with a witness serving over HTTP.

mod cli;
mod ledger;
mod witnessed;

// `covenant serve` as a child process, shared with the ledger's tests.
use crate::ledger::support as served;

// A static tile server whose files a test can replace, shared with covenant-audit's tests.
#[allow(clippy::duplicate_mod, dead_code)]
#[path = "../../crates/audit/tests/audit/support.rs"]
pub(crate) mod tile_server;
