//! `covenant keys`: make key files, and the registry events that put keys to work.
//!
//! Registry events (`register-actor`, `grant`, `revoke`, `succeed`) are signed with a registrar
//! key and written to a file (appended, so several can go in one file in order) or printed as
//! base64 lines; `covenant emit --envelope FILE` publishes them.

use crate::config;
use anyhow::{Context, bail};
use covenant_core::SchemaName;
use covenant_core::checkpoint::LogSigner;
use covenant_core::event::Date;
use covenant_core::proto::{ActorKind, KeyRole, SuccessionKind};
use covenant_emit::build::{
    ActorRegistration, KeyGrant, KeyRevocation, SealedEvent, Speaker, Succession, now_ms,
};
use covenant_emit::envelope_file;
use covenant_emit::keys::{KeyFile, KeyKind};
use covenant_emit::proto::event_body::Kind;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Generate a key pair and write the secret to a new file (mode 0600; never overwritten).
    Generate(GenerateArgs),
    /// Show a key file's public key, key id and kind (never the secret).
    Show {
        /// The key file.
        file: PathBuf,
    },
    /// Register an actor (registrar only): the first step before granting it a key.
    RegisterActor(RegisterActorArgs),
    /// Grant a public key the right to speak for an actor (registrar only).
    Grant(GrantArgs),
    /// Revoke a granted key (registrar only).
    Revoke(RevokeArgs),
    /// Record that a body was renamed, merged or split (registrar only).
    Succeed(SucceedArgs),
}

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// emitter (an actor's events), registrar (registry events) or log (checkpoints).
    #[arg(long, value_parser = parse_kind)]
    kind: KeyKind,
    /// Where to write the secret key.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The actor the key will speak for (recorded in the file; used by `covenant emit`).
    #[arg(long)]
    actor: Option<String>,
    /// The key id to be granted under (default: a suggestion from the kind, actor and key).
    #[arg(long)]
    key_id: Option<String>,
    /// For log keys: the log's origin, as in the configuration's [log] origin.
    #[arg(long, default_value = config::DEFAULT_ORIGIN)]
    origin: String,
}

/// The registrar key and where the signed registry event goes.
#[derive(clap::Args)]
pub struct RegistrarArgs {
    /// The registrar's key file (from `covenant keys generate --kind registrar`).
    #[arg(long, value_name = "FILE")]
    registrar_key: PathBuf,
    /// The registrar's actor id (default: the key file's actor, else covenant-registrar).
    #[arg(long)]
    registrar_actor: Option<String>,
    /// The registrar key's id in the genesis entry (default: the key file's key id).
    #[arg(long)]
    registrar_key_id: Option<String>,
    /// Append the signed envelope to this file (length-prefixed); without it, print base64.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct RegisterActorArgs {
    #[command(flatten)]
    registrar: RegistrarArgs,
    /// The new actor's id, for example GB-GOV-23 or uk-mp:4514.
    #[arg(long)]
    actor: String,
    /// Display name.
    #[arg(long)]
    name: String,
    /// mp, party, department, agency, council, nhs_body, civil_society, watchdog or joint_body.
    #[arg(long, value_parser = parse_actor_kind)]
    kind: ActorKind,
    /// External identifier, for example org-id:GB-GOV-23 (repeatable).
    #[arg(long = "identifier")]
    identifiers: Vec<String>,
    /// For MPs: the constituency.
    #[arg(long)]
    constituency: Option<String>,
    /// For MPs: the party.
    #[arg(long)]
    party: Option<String>,
    /// The actor's public web page.
    #[arg(long)]
    url: Option<String>,
}

#[derive(clap::Args)]
pub struct GrantArgs {
    #[command(flatten)]
    registrar: RegistrarArgs,
    /// The id to grant the key under (what `covenant keys generate` printed).
    #[arg(long)]
    key_id: String,
    /// The key's public key, 64 hex digits (what `covenant keys generate` printed).
    #[arg(long)]
    public_key: String,
    /// The registered actor the key speaks for.
    #[arg(long)]
    actor: String,
    /// emitter (commitments, actions, outcomes...) or assessor (assessments); repeatable.
    #[arg(long = "role", required = true, value_parser = parse_role)]
    roles: Vec<KeyRole>,
    /// Also make the emitter's own NATS user: write a new nkey seed to this file (mode 0600;
    /// hand it to the emitter, who connects with `--nats-credentials FILE`) and print the
    /// entry for deploy/nats/auth.conf that lets it publish only on acct.events.<actor>.
    #[arg(long, value_name = "FILE")]
    nats_seed_out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    registrar: RegistrarArgs,
    /// The key id to revoke.
    #[arg(long)]
    key_id: String,
    /// Why, in a sentence (shown beside the revocation).
    #[arg(long)]
    reason: String,
}

#[derive(clap::Args)]
pub struct SucceedArgs {
    #[command(flatten)]
    registrar: RegistrarArgs,
    /// The body that is renamed, merged or split.
    #[arg(long)]
    predecessor: String,
    /// The body that takes over (registered already).
    #[arg(long)]
    successor: String,
    /// renamed, merged or split.
    #[arg(long, value_parser = parse_succession_kind)]
    kind: SuccessionKind,
    /// The date it takes effect (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    effective_on: Date,
    /// For a split: a commitment that passes to this successor (repeatable); by default all
    /// open commitments pass.
    #[arg(long = "commitment")]
    commitments: Vec<String>,
    /// A note shown beside the succession, for example the order that made it.
    #[arg(long)]
    note: Option<String>,
}

pub fn run(command: KeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::Generate(args) => generate(args),
        KeysCommand::Show { file } => show(&file),
        KeysCommand::RegisterActor(args) => {
            let mut registration = ActorRegistration::new(&args.actor, args.name, args.kind)
                .identifiers(args.identifiers);
            if args.constituency.is_some() || args.party.is_some() {
                registration = registration.seat(
                    args.constituency.unwrap_or_default(),
                    args.party.unwrap_or_default(),
                );
            }
            if let Some(url) = args.url {
                registration = registration.url(url);
            }
            sign_registry_event(&args.registrar, registration.into())
        }
        KeysCommand::Grant(args) => {
            let public_key = parse_public_key(&args.public_key)?;
            let grant = KeyGrant::new(&args.key_id, public_key, &args.actor, &args.roles);
            let signed = sign_registry_event(&args.registrar, grant.into())?;
            if let Some(seed_file) = &args.nats_seed_out {
                let entry = make_nats_user(seed_file, &args.actor, &args.key_id)?;
                eprintln!(
                    "wrote the NATS seed to {} (mode 0600: hand it to the emitter, keep it secret)
add this user to deploy/nats/auth.conf (accounts.COVENANT.users) and reload the server:
",
                    seed_file.display()
                );
                println!("{entry}");
            }
            Ok(signed)
        }
        KeysCommand::Revoke(args) => sign_registry_event(
            &args.registrar,
            KeyRevocation::new(args.key_id, args.reason).into(),
        ),
        KeysCommand::Succeed(args) => {
            let mut succession = Succession::new(
                &args.predecessor,
                &args.successor,
                args.kind,
                args.effective_on,
            )
            .commitments(args.commitments);
            if let Some(note) = args.note {
                succession = succession.note(note);
            }
            sign_registry_event(&args.registrar, succession.into())
        }
    }
}

fn generate(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let mut key = KeyFile::generate(args.kind);
    for (flag, value) in [("--actor", &args.actor), ("--key-id", &args.key_id)] {
        if let Some(value) = value
            && !covenant_core::event::is_valid_id(value)
        {
            bail!(
                "{flag}: {value:?} is not a valid id (1-128 characters of A-Z a-z 0-9 . _ : / -)"
            );
        }
    }
    key.actor = args.actor;
    if args.kind == KeyKind::Log {
        LogSigner::new(&args.origin, key.seed).context("check the log origin")?;
        key.origin = Some(args.origin);
    }
    key.key_id = Some(args.key_id.unwrap_or_else(|| key.suggested_key_id()));
    key.write_new(&args.out)?;
    println!("wrote {} (mode 0600: keep it secret)", args.out.display());
    describe(&key);
    match key.kind {
        KeyKind::Emitter => {
            let actor = key.actor.as_deref().unwrap_or("ACTOR");
            println!(
                "next: send the public key and key id (never the file) to your registrar, who registers the actor (once) and grants the key:\n  covenant keys register-actor --registrar-key REGISTRAR.key --actor {actor} --name NAME --kind KIND --out registry.env\n  covenant keys grant --registrar-key REGISTRAR.key --key-id {} --public-key {} --actor {actor} --role ROLE --out registry.env\n  covenant emit --envelope registry.env\n{}",
                key.key_id_or_suggested(),
                hex::encode(key.public_key()),
                ROLE_HINT
            );
        }
        KeyKind::Registrar => println!(
            "next: add it to the configuration before the log's first start:\n[[keys.registrars]]\nkey_id = \"{}\"\npublic_key = \"{}\"",
            key.key_id_or_suggested(),
            hex::encode(key.public_key())
        ),
        KeyKind::Log => println!(
            "next: set [keys] log_key = \"{}\" in the configuration",
            args.out.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn show(path: &Path) -> anyhow::Result<ExitCode> {
    let key = KeyFile::read(path)?;
    describe(&key);
    Ok(ExitCode::SUCCESS)
}

fn describe(key: &KeyFile) {
    println!("kind: {}", key.kind.as_str());
    println!("public key: {}", hex::encode(key.public_key()));
    println!("key id: {}", key.key_id_or_suggested());
    if let Some(actor) = &key.actor {
        println!("actor: {actor}");
    }
    if key.kind == KeyKind::Log {
        let origin = key.origin.as_deref().unwrap_or(config::DEFAULT_ORIGIN);
        match LogSigner::new(origin, key.seed) {
            Ok(signer) => println!("verifier key: {}", signer.verifier_key()),
            Err(error) => println!("verifier key: unavailable ({error})"),
        }
    }
}

fn sign_registry_event(registrar: &RegistrarArgs, kind: Kind) -> anyhow::Result<ExitCode> {
    let key = KeyFile::read(&registrar.registrar_key)?;
    if key.kind != KeyKind::Registrar {
        bail!(
            "{} is a {} key; registry events need a registrar key",
            registrar.registrar_key.display(),
            key.kind.as_str()
        );
    }
    let actor = registrar
        .registrar_actor
        .clone()
        .or_else(|| key.actor.clone())
        .unwrap_or_else(|| config::DEFAULT_REGISTRAR_ACTOR.to_owned());
    let key_id = registrar
        .registrar_key_id
        .clone()
        .unwrap_or_else(|| key.key_id_or_suggested());
    let speaker = Speaker::new(actor, key_id, key.signer())?;
    let event = speaker.seal(kind, now_ms())?;
    write_envelope(&event, registrar.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

fn write_envelope(event: &SealedEvent, out: Option<&Path>) -> anyhow::Result<()> {
    eprintln!(
        "signed {} {} as {}",
        event.kind, event.event_id, event.actor
    );
    match out {
        Some(path) => {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("open {}", path.display()))?;
            envelope_file::write_record(&mut file, &event.bytes)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("write {}", path.display()))?;
            eprintln!(
                "appended to {}; publish with: covenant emit --envelope {}",
                path.display(),
                path.display()
            );
        }
        None => {
            let mut stdout = std::io::stdout();
            writeln!(stdout, "{}", envelope_file::to_base64_line(&event.bytes))?;
        }
    }
    Ok(())
}

/// Make a NATS user nkey for an emitter, write its seed to a new file (mode 0600) and return
/// the auth.conf user entry that allows it to publish only on its actor's subject.
fn make_nats_user(seed_file: &Path, actor: &str, key_id: &str) -> anyhow::Result<String> {
    let user = nkeys::KeyPair::new_user();
    let seed = user
        .seed()
        .map_err(|error| anyhow::anyhow!("make a NATS seed: {error}"))?;
    write_secret_file(
        seed_file,
        &format!(
            "{seed}
"
        ),
    )?;
    Ok(nats_user_entry(&user.public_key(), actor, key_id))
}

/// The auth.conf entry for an emitter's NATS user: publish on its own subject (and the stream
/// lookup its client makes), subscribe to JetStream's replies and the notifications.
pub fn nats_user_entry(public_key: &str, actor: &str, key_id: &str) -> String {
    let subject = covenant_core::subject::event_subject(actor);
    format!(
        "# {actor} (key {key_id})
{{
  nkey: {public_key}
  permissions: {{
    publish: {{ allow: [\"{subject}\", \"$JS.API.STREAM.INFO.{stream}\"] }}
    subscribe: {{ allow: [\"_INBOX.>\", \"acct.rejected.>\", \"acct.checkpoints\"] }}
  }}
}}",
        stream = covenant_core::subject::EVENT_STREAM,
    )
}

/// Create `path` with `contents`, readable by its owner only; never overwrite.
pub(crate) fn write_secret_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("create {} (it must not exist yet)", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("write {}", path.display()))
}

fn parse_public_key(text: &str) -> anyhow::Result<[u8; 32]> {
    hex::decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .with_context(|| format!("--public-key: {text:?} is not 64 hex digits (32 bytes)"))
}

fn parse_kind(text: &str) -> Result<KeyKind, String> {
    text.parse()
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).ok_or_else(|| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

fn parse_role(text: &str) -> Result<KeyRole, String> {
    match text {
        "emitter" => Ok(KeyRole::Emitter),
        "assessor" => Ok(KeyRole::Assessor),
        other => Err(format!("{other:?} is not a role (emitter or assessor)")),
    }
}

/// Which role a key needs, by the kind of actor it speaks for (as the API spells the kinds).
const ROLE_HINT: &str = "  KIND and ROLE go together: mp, party, department, agency, council, nhs_body or joint_body publish commitments, actions and outcomes (--role emitter); watchdog or civil_society publish assessments (--role assessor)";

/// The role a key of this kind of actor needs: assessors scrutinise, the others promise and
/// deliver.
pub(crate) fn role_for_kind(kind: ActorKind) -> KeyRole {
    match kind {
        ActorKind::Watchdog | ActorKind::CivilSociety => KeyRole::Assessor,
        _ => KeyRole::Emitter,
    }
}

/// An actor kind as the API spells it (`nhs_body`); `nhs-body` is accepted too. The names are
/// the schema's own (`ACTOR_KIND_NHS_BODY`), so a kind added to the schema is accepted here.
pub(crate) fn parse_actor_kind(text: &str) -> Result<ActorKind, String> {
    parse_schema_name(&text.replace('-', "_"))
}

fn parse_succession_kind(text: &str) -> Result<SuccessionKind, String> {
    parse_schema_name(text)
}

/// A schema enum value by its name, or a message naming the names there are.
fn parse_schema_name<T: SchemaName>(text: &str) -> Result<T, String> {
    T::from_schema_name(text)
        .ok_or_else(|| format!("{text:?} is not one of {}", T::schema_names().join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_kinds_are_the_schema_names_as_the_api_spells_them() {
        for (text, kind) in [
            ("party", ActorKind::Party),
            ("nhs_body", ActorKind::NhsBody),
            ("nhs-body", ActorKind::NhsBody),
            ("joint_body", ActorKind::JointBody),
            ("mp", ActorKind::Mp),
        ] {
            assert_eq!(parse_actor_kind(text), Ok(kind), "{text}");
        }
        for bad in ["unspecified", "charity", "", "ACTOR_KIND_MP"] {
            let error = parse_actor_kind(bad).unwrap_err();
            assert!(
                error.contains("party, department") || error.contains("mp, department"),
                "{error}"
            );
        }
        // Every kind the API lists is accepted.
        for name in ActorKind::schema_names() {
            assert!(parse_actor_kind(name).is_ok(), "{name}");
        }
    }
}
