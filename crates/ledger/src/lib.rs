//! covenant-ledger
