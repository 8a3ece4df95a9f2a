//! covenant-audit's integration tests: logs built from fixed seeds, served over real HTTP
//! (honest or tampered), checked the way a watchdog would.

mod monitor;
mod spec_example;
mod support;
mod verify;
mod witness;
