//! `covenant enrol`: bring an actor onto the log in one step. It makes the actor's emitter
//! key (in a key directory, one file per actor, as `covenant emit --keys` reads it), signs
//! the actor's registration and the key's grant with the registrar key, and publishes both,
//! the same way `covenant emit` publishes (NATS, or the ledger's HTTPS ingest), through the
//! same outbox.
//!
//! The separate steps (`covenant keys generate`, `register-actor`, `grant`, `emit
//! --envelope`) stay for registrars who keep their key on another machine than the emitters'.

use crate::cli::emit::Delivery;
use crate::cli::keys::{parse_actor_kind, role_for_kind};
use crate::config::{self, ClientConfigArgs};
use anyhow::{Context, bail};
use covenant_core::proto::{ActorKind, KeyRole};
use covenant_emit::build::{ActorRegistration, KeyGrant, Speaker, now_ms};
use covenant_emit::keys::{KeyFile, KeyKind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct EnrolArgs {
    #[command(flatten)]
    config: ClientConfigArgs,
    /// The registrar's key file (`covenant init` wrote it as keys/registrar.key).
    #[arg(long, value_name = "FILE")]
    registrar_key: PathBuf,
    /// The directory of emitter keys, one per actor; the new key is written there as
    /// <actor>.key (an existing key for the actor is used, never overwritten).
    #[arg(long, value_name = "DIR")]
    keys: PathBuf,
    /// The new actor's id, for example GB-GOV-23 or uk-mp:4514.
    #[arg(long)]
    actor: String,
    /// The actor's display name.
    #[arg(long)]
    name: String,
    /// mp, party, department, agency, council, nhs_body, civil_society, watchdog or joint_body.
    #[arg(long, value_parser = parse_actor_kind)]
    kind: ActorKind,
    /// emitter (commitments, actions, outcomes) or assessor (assessments); default: assessor
    /// for watchdog and civil_society, emitter for the others.
    #[arg(long, value_parser = ["emitter", "assessor"])]
    role: Option<String>,
    /// The ledger's HTTP address: where the registry events go when no NATS URL is
    /// configured, and whom to ask whether they were accepted.
    #[arg(long, value_name = "URL")]
    ledger: Option<String>,
    /// Directory of events not yet acknowledged; they are re-sent on the next run.
    #[arg(long, value_name = "DIR", default_value = "covenant-outbox")]
    outbox: PathBuf,
    /// How long to keep retrying while NATS or the ledger is unreachable, in seconds.
    #[arg(long, default_value_t = 120)]
    retry_for: u64,
    /// How long to wait for the ledger's decision, in seconds.
    #[arg(long, default_value_t = 10)]
    wait: u64,
}

pub fn run(args: EnrolArgs) -> anyhow::Result<ExitCode> {
    let settings = config::load(&(&args.config).into())?;
    if !covenant_core::event::is_valid_id(&args.actor) {
        bail!(
            "--actor {:?} is not a valid id (1-128 characters of A-Z a-z 0-9 . _ : / -)",
            args.actor
        );
    }
    let registrar = registrar_speaker(&args.registrar_key, &settings.registrar_actor)?;
    let role = match args.role.as_deref() {
        Some("assessor") => KeyRole::Assessor,
        Some(_) => KeyRole::Emitter,
        None => role_for_kind(args.kind),
    };
    let key = emitter_key(&args.keys, &args.actor, role_name(role))?;
    let key_id = key.key_id_or_suggested();
    let now = now_ms();
    let registration = registrar.seal(
        ActorRegistration::new(&args.actor, args.name.clone(), args.kind),
        now,
    )?;
    let grant = registrar.seal(
        KeyGrant::new(&key_id, key.public_key(), &args.actor, &[role]),
        now,
    )?;
    let delivery = Delivery {
        nats_url: settings.nats_url.clone(),
        nats_credentials: settings.nats_credentials.clone(),
        ledger: args.ledger.clone(),
        outbox: args.outbox.clone(),
        retry_for: Duration::from_secs(args.retry_for),
        wait: Duration::from_secs(args.wait),
    };
    let code = delivery.publish(&[registration, grant])?;
    if code == ExitCode::SUCCESS {
        println!(
            "enrolled {} with key {key_id} ({}); its rows go in files published with --keys {}",
            args.actor,
            role_name(role),
            args.keys.display()
        );
    }
    Ok(code)
}

fn role_name(role: KeyRole) -> &'static str {
    match role {
        KeyRole::Assessor => "assessor",
        _ => "emitter",
    }
}

fn registrar_speaker(path: &Path, configured_actor: &str) -> anyhow::Result<Speaker> {
    let key = KeyFile::read(path)?;
    if key.kind != KeyKind::Registrar {
        bail!(
            "{} is a {} key; registry events need a registrar key",
            path.display(),
            key.kind.as_str()
        );
    }
    let actor = key
        .actor
        .clone()
        .unwrap_or_else(|| configured_actor.to_owned());
    Ok(Speaker::new(
        actor,
        key.key_id_or_suggested(),
        key.signer(),
    )?)
}

/// The actor's key in the directory: the one there (if it is this actor's emitter key), or a
/// new one written there, its id naming the `role` it is granted.
fn emitter_key(dir: &Path, actor: &str, role: &str) -> anyhow::Result<KeyFile> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let file_name: String = actor
        .chars()
        .map(|c| if c == '/' || c == ':' { '_' } else { c })
        .collect();
    let path = dir.join(format!("{file_name}.key"));
    if path.exists() {
        let key = KeyFile::read(&path)?;
        if key.kind != KeyKind::Emitter || key.actor.as_deref() != Some(actor) {
            bail!(
                "{} exists and is not {actor}'s emitter key; refusing to overwrite it",
                path.display()
            );
        }
        println!("using {actor}'s key {}", path.display());
        return Ok(key);
    }
    let mut key = KeyFile::generate(KeyKind::Emitter);
    key.actor = Some(actor.to_owned());
    key.key_id = Some(key.suggested_key_id_for(role));
    key.write_new(&path)?;
    println!(
        "wrote {actor}'s key {} (mode 0600: keep it secret)",
        path.display()
    );
    Ok(key)
}
