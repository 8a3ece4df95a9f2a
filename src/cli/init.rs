//! `covenant init DIR --origin NAME`: everything a new log needs before its first start, and
//! the commands that come next.
//!
//! ```text
//! DIR/covenant.toml          the configuration (origin, data directory, keys, NATS URL if any)
//! DIR/keys/log.key           the log key: signs every checkpoint
//! DIR/keys/registrar.key     the registrar key: signs registry events; named in entry 0
//! DIR/keys/emitters/         emitter keys, one per actor (`covenant enrol` writes them)
//! DIR/data/                  the ledger's store and projections
//! ```
//!
//! Nothing is ever overwritten: a directory that already holds a configuration, a key or a
//! store is refused as a whole before anything is written, and so is an origin that names a
//! log everyone has (the default and the demo's), because a verifier key and an origin
//! identify one log for ever.

use crate::config::{self, Config, ConfigArgs, RegistrarKey};
use anyhow::{Context, bail};
use covenant_core::checkpoint::LogSigner;
use covenant_emit::keys::{KeyFile, KeyKind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where `init` puts things, relative to its directory.
pub const CONFIG_FILE: &str = "covenant.toml";
pub const LOG_KEY: &str = "keys/log.key";
pub const REGISTRAR_KEY: &str = "keys/registrar.key";
pub const EMITTER_KEYS: &str = "keys/emitters";
pub const DATA_DIR: &str = "data";
pub const OUTBOX_DIR: &str = "outbox";

#[derive(clap::Args)]
pub struct InitArgs {
    /// The directory to create the log's files in (created if missing; must not already hold
    /// a configuration, keys or a store).
    dir: PathBuf,
    /// The log's name, the first line of every checkpoint: a host and path you control, for
    /// example ledger.example.org/commitments. Never reuse one for a second log.
    #[arg(long)]
    origin: String,
    /// Run on this NATS server (for example nats://127.0.0.1:4222) instead of embedded. Its
    /// event stream must be unused: empty or not yet created.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// The HTTP listen address to configure.
    #[arg(long, value_name = "ADDR", default_value = config::DEFAULT_LISTEN)]
    listen: String,
    /// Free text for the log's first entry: who runs this log and why.
    #[arg(long, default_value = "")]
    description: String,
    /// The registrar's actor id, named in the log's first entry.
    #[arg(long, value_name = "ID", default_value = config::DEFAULT_REGISTRAR_ACTOR)]
    registrar_actor: String,
}

/// Origins every copy of Covenant knows: a real log must have its own.
const SHARED_ORIGINS: [&str; 2] = [config::DEFAULT_ORIGIN, "demo.covenant.local/log"];

pub fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    check_origin(&args.origin)?;
    if !covenant_core::event::is_valid_id(&args.registrar_actor) {
        bail!(
            "--registrar-actor {:?} is not a valid id",
            args.registrar_actor
        );
    }
    if args.listen.parse::<std::net::SocketAddr>().is_err() {
        bail!(
            "--listen {:?} is not an IP address and port such as 127.0.0.1:8080",
            args.listen
        );
    }
    let dir = &args.dir;
    refuse_existing(dir)?;
    if let Some(url) = &args.nats {
        check_stream_unused(url)?;
    }
    for sub in ["keys", EMITTER_KEYS, DATA_DIR] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("create {}", dir.join(sub).display()))?;
    }
    // Only the owner may list or enter the key directory (the files are 0600 too).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let keys = dir.join("keys");
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restrict {}", keys.display()))?;
    }

    let mut log_key = KeyFile::generate(KeyKind::Log);
    log_key.origin = Some(args.origin.clone());
    log_key.key_id = Some("log".to_owned());
    let signer = LogSigner::new(&args.origin, log_key.seed).context("check the origin")?;
    let mut registrar_key = KeyFile::generate(KeyKind::Registrar);
    registrar_key.actor = Some(args.registrar_actor.clone());
    registrar_key.key_id = Some(registrar_key.suggested_key_id());
    log_key.write_new(&dir.join(LOG_KEY))?;
    registrar_key.write_new(&dir.join(REGISTRAR_KEY))?;

    let settings = Config {
        origin: args.origin.clone(),
        description: args.description.clone(),
        // Relative paths in the file are relative to the file itself.
        data_dir: PathBuf::from(DATA_DIR),
        nats_url: args.nats.clone(),
        nats_credentials: None,
        listen: args.listen.clone(),
        log_key_file: Some(PathBuf::from(LOG_KEY)),
        registrar_actor: args.registrar_actor.clone(),
        registrars: vec![RegistrarKey {
            key_id: registrar_key.key_id_or_suggested(),
            public_key: registrar_key.public_key(),
        }],
        http: Default::default(),
    };
    let config_path = dir.join(CONFIG_FILE);
    let text = format!(
        "# Covenant log {}, written by `covenant init`.\n# docs/OPERATING.md says what each setting and file is for.\n{}",
        args.origin,
        settings.to_toml()
    );
    write_new_file(&config_path, &text)?;
    // Read it back through the loader, so a file that would not load is caught here.
    config::load(&ConfigArgs {
        config: Some(config_path.clone()),
        ..ConfigArgs::default()
    })
    .with_context(|| format!("check {}", config_path.display()))?;

    print_next_steps(&args, &signer.verifier_key());
    Ok(ExitCode::SUCCESS)
}

fn check_origin(origin: &str) -> anyhow::Result<()> {
    if SHARED_ORIGINS.contains(&origin) {
        bail!(
            "--origin {origin:?} is shared by every test and demo log; give your log its own, for example ledger.example.org/commitments"
        );
    }
    if origin.is_empty() || origin.contains(['+', ' ', '\n']) || !origin.is_ascii() {
        bail!("--origin {origin:?} must be non-empty ASCII, without spaces or '+'");
    }
    Ok(())
}

/// Refuse a directory that holds any part of a log already, before writing anything.
fn refuse_existing(dir: &Path) -> anyhow::Result<()> {
    let config_path = dir.join(CONFIG_FILE);
    if config_path.exists() {
        let existing = config::load(&ConfigArgs {
            config: Some(config_path.clone()),
            ..ConfigArgs::default()
        })
        .map(|settings| format!(" for log {:?}", settings.origin))
        .unwrap_or_default();
        bail!(
            "{} already exists{existing}; a log is initialised once (choose another directory)",
            config_path.display()
        );
    }
    for path in [LOG_KEY, REGISTRAR_KEY, "data/log"] {
        let path = dir.join(path);
        if path.exists() {
            bail!(
                "{} already exists; refusing to overwrite a key or reuse a store (choose another directory)",
                path.display()
            );
        }
    }
    Ok(())
}

/// A new log on a stream that holds another log's events would take them as its own.
fn check_stream_unused(url: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    let messages = runtime.block_on(async {
        let client = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            crate::cli::serve::connect_nats(url, None),
        )
        .await
        .with_context(|| format!("connect to NATS at {url}: timed out"))??;
        let jetstream = async_nats::jetstream::new(client);
        match jetstream
            .get_stream(covenant_ledger::stream::STREAM_NAME)
            .await
        {
            Ok(mut stream) => {
                let info = stream.info().await.context("read the event stream")?;
                anyhow::Ok(info.state.messages)
            }
            Err(error)
                if matches!(
                    error.kind(),
                    async_nats::jetstream::context::GetStreamErrorKind::JetStream(inner)
                        if inner.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND
                ) =>
            {
                anyhow::Ok(0)
            }
            Err(error) => Err(anyhow::Error::new(error).context("look up the event stream")),
        }
    })
    .with_context(|| {
        format!("check that the event stream on {url} is unused (start NATS first)")
    })?;
    if messages > 0 {
        bail!(
            "stream {} on {url} already holds {messages} events of another log; a new log needs its own stream (another NATS server or account)",
            covenant_ledger::stream::STREAM_NAME
        );
    }
    Ok(())
}

fn write_new_file(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("write {}", path.display()))
}

/// A path as one shell word.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:@%+=,".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn print_next_steps(args: &InitArgs, verifier_key: &str) {
    let path = |sub: &str| shell_word(&args.dir.join(sub).display().to_string());
    let ledger = format!("http://{}", args.listen);
    let mode = match &args.nats {
        Some(url) => format!("on NATS at {url}"),
        None => "embedded: no NATS needed".to_owned(),
    };
    println!("created log {} in {}", args.origin, args.dir.display());
    println!(
        "  {}  the configuration",
        args.dir.join(CONFIG_FILE).display()
    );
    println!(
        "  {}  the log key: signs every checkpoint; back it up, never use it for another log",
        args.dir.join(LOG_KEY).display()
    );
    println!(
        "  {}  the registrar key: grants keys to actors; back it up, keep it off the server",
        args.dir.join(REGISTRAR_KEY).display()
    );
    println!(
        "  {}  the log and its projections, from the first start",
        args.dir.join(DATA_DIR).display()
    );
    println!("verifier key (auditors pin it): {verifier_key}");
    println!();
    println!("next:");
    println!("1. start the ledger ({mode}):");
    println!("   covenant serve --config {}", path(CONFIG_FILE));
    println!(
        "2. register an actor and grant it a key (once per actor, with its own --actor, --name and --kind):"
    );
    println!(
        "   covenant enrol --config {} --registrar-key {} --keys {} --ledger {ledger} --outbox {} --actor GB-EXAMPLE-1 --name 'Example Department' --kind department",
        path(CONFIG_FILE),
        path(REGISTRAR_KEY),
        path(EMITTER_KEYS),
        path(OUTBOX_DIR),
    );
    println!(
        "3. publish events from a CSV or JSON file (its actor column picks each row's key; try --dry-run first):"
    );
    println!(
        "   covenant emit --config {} --keys {} --ledger {ledger} --outbox {} --file events.csv",
        path(CONFIG_FILE),
        path(EMITTER_KEYS),
        path(OUTBOX_DIR),
    );
    println!("then check the whole log as an auditor would:");
    println!(
        "   covenant audit verify {ledger} --key {}",
        shell_word(verifier_key)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_survive_a_shell() {
        assert_eq!(shell_word("/tmp/ledger/keys"), "/tmp/ledger/keys");
        assert_eq!(shell_word("my ledger"), "'my ledger'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn shared_and_malformed_origins_are_refused() {
        for origin in [
            "localhost/covenant",
            "demo.covenant.local/log",
            "a b",
            "",
            "x+y",
        ] {
            assert!(check_origin(origin).is_err(), "{origin:?}");
        }
        assert!(check_origin("ledger.example.org/commitments").is_ok());
    }
}
