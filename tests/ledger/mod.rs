//! The ledger as operators run it: `covenant serve` as a child process (embedded and on a real
//! nats-server), HTTPS ingest and event status, rebuilds from the stream, and kill -9 at any
//! moment.

mod balancer;
mod chaos;
mod cluster;
mod crash;
mod flood;
mod health;
mod permissions;
mod rebuild;
mod replicas;
pub(crate) mod seed;
mod serve;
pub(crate) mod support;
mod witnessed;
