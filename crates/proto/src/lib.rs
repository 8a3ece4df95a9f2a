//! Generated protobuf types for Covenant's event schema (`proto/covenant/v1`).
//!
//! These types are the wire format only. `covenant-core` converts them into domain types with
//! fallible conversions that name the missing or bad field.

/// Version 1 of the schema.
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/covenant.v1.rs"));
}
