//! Compiles proto/covenant/v1 with protox (pure Rust), so no protoc is needed on the machine,
//! and writes each enum's names (see `SchemaName` in src/lib.rs) from the same descriptors.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let schema = proto_root.join("covenant/v1/events.proto");
    println!("cargo:rerun-if-changed={}", schema.display());
    let descriptors = protox::compile([&schema], [&proto_root])?;
    let names = schema_names(&descriptors)?;
    prost_build::Config::new().compile_fds(descriptors)?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("schema_names.rs");
    std::fs::write(out, names)?;
    Ok(())
}

/// `impl SchemaName` for every top-level enum: each value's proto name without the enum's
/// prefix, in lower case, with its number.
fn schema_names(
    descriptors: &prost_types::FileDescriptorSet,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut code = String::new();
    for file in &descriptors.file {
        for enumeration in &file.enum_type {
            let name = enumeration.name();
            let prefix = format!("{}_", screaming_snake(name));
            writeln!(code, "impl crate::SchemaName for {name} {{")?;
            writeln!(code, "    const NAMES: &'static [(&'static str, i32)] = &[")?;
            for value in &enumeration.value {
                let Some(short) = value.name().strip_prefix(&prefix) else {
                    return Err(format!("{}: not prefixed with {prefix}", value.name()).into());
                };
                writeln!(
                    code,
                    "        ({:?}, {}),",
                    short.to_ascii_lowercase(),
                    value.number()
                )?;
            }
            writeln!(code, "    ];\n}}")?;
        }
    }
    Ok(code)
}

/// `ActorKind` as `ACTOR_KIND`.
fn screaming_snake(name: &str) -> String {
    let mut out = String::new();
    for (index, character) in name.chars().enumerate() {
        if character.is_ascii_uppercase() && index > 0 {
            out.push('_');
        }
        out.push(character.to_ascii_uppercase());
    }
    out
}
