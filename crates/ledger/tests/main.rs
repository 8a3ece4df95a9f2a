//! The ledger's tests, one binary grouped by feature. Tests that need a broker start their own
//! real `nats-server -js` on a free port (covenant-testkit); nothing is mocked.

mod front_door;
mod rejections;
mod replica;
mod sequencer;
mod state_check;
mod stream;
mod support;
mod witnessing;
