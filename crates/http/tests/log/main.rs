//! The log API and the JSON proofs against a real store, checked with code written here from
//! the specifications (C2SP tlog-tiles, signed-note and tlog-checkpoint, RFC 6962 / RFC 9162)
//! rather than with the helpers the server uses.

mod log_api;
mod proofs;
mod spec;
mod support;
