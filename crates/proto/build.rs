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
    let event_kinds = event_kinds(&descriptors)?;
    prost_build::Config::new().compile_fds(descriptors)?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("schema_names.rs"), names)?;
    std::fs::write(out.join("event_kinds.rs"), event_kinds)?;
    Ok(())
}

/// `EventKind`: the fields of `EventBody`'s `kind` oneof as a plain enum, with their names, and
/// `event_body::Kind::event_kind` to get one from an event.
fn event_kinds(
    descriptors: &prost_types::FileDescriptorSet,
) -> Result<String, Box<dyn std::error::Error>> {
    let body = descriptors
        .file
        .iter()
        .flat_map(|file| &file.message_type)
        .find(|message| message.name() == "EventBody")
        .ok_or("no EventBody message in the schema")?;
    let fields: Vec<(String, String)> = body
        .field
        .iter()
        .filter(|field| field.oneof_index.is_some())
        .map(|field| (field.name().to_owned(), upper_camel(field.name())))
        .collect();
    let list = |line: &dyn Fn(&str, &str) -> String| -> String {
        fields
            .iter()
            .map(|(name, variant)| line(name, variant))
            .collect()
    };
    let variants = list(&|_, variant| format!("    {variant},\n"));
    let all = list(&|_, variant| format!("        EventKind::{variant},\n"));
    let names = list(&|name, variant| format!("            EventKind::{variant} => {name:?},\n"));
    let of_kind = list(&|_, variant| {
        format!("            event_body::Kind::{variant}(_) => EventKind::{variant},\n")
    });
    let count = fields.len();
    let code = format!(
        "/// The kind of an event without its contents: one per field of `EventBody`'s `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {{
{variants}}}

impl EventKind {{
    /// Every kind, in schema order.
    pub const ALL: [EventKind; {count}] = [
{all}    ];

    /// The schema's name for this kind (`commitment_made`).
    pub fn name(self) -> &'static str {{
        match self {{
{names}        }}
    }}

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<Self> {{
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }}
}}

impl event_body::Kind {{
    /// Which kind of event this is.
    pub fn event_kind(&self) -> EventKind {{
        match self {{
{of_kind}        }}
    }}
}}
"
    );
    Ok(code)
}

/// `commitment_made` as `CommitmentMade`, as prost names a oneof's variants.
fn upper_camel(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
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
