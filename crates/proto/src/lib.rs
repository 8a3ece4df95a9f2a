//! Generated protobuf types for Covenant's event schema (`proto/covenant/v1`).
//!
//! These types are the wire format only. `covenant-core` converts them into domain types with
//! fallible conversions that name the missing or bad field.

#![forbid(unsafe_code)]

/// Version 1 of the schema.
// Generated code: a commitment carries far more fields than a retraction, and boxing the
// variant would change every user's pattern for no gain at these sizes.
#[allow(clippy::large_enum_variant)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/covenant.v1.rs"));
}
