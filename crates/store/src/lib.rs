//! covenant-store
