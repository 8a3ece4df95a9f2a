//! The ledger's tests, one binary grouped by feature. Tests that need a broker start their own
//! real `nats-server -js` on a free port (covenant-testkit); nothing is mocked.

mod rejections;
mod sequencer;
mod stream;
mod support;
mod witnessing;
