//! Settings shared by every subcommand: one TOML file (deploy/covenant.example.toml documents
//! it), environment variables and flags. Precedence: flags > environment > file > defaults.
//!
//! | setting | flag | environment | file | default |
//! |---|---|---|---|---|
//! | config file | `--config` | `COVENANT_CONFIG` | | none |
//! | data directory | `--data` | `COVENANT_DATA` | `[log] data_dir` | `covenant-data` |
//! | NATS URL | `--nats` | `COVENANT_NATS_URL` | `[nats] url` | none (embedded ledger; emitters use `nats://127.0.0.1:4222`) |
//! | NATS credentials | `--nats-credentials` | `COVENANT_NATS_CREDENTIALS` | `[nats] credentials` | none |
//! | HTTP listen address | `--listen` | `COVENANT_LISTEN` | `[http] listen` | `127.0.0.1:8080` |
//! | log origin | | | `[log] origin` | `localhost/covenant` |
//! | log signing key file | | | `[keys] log_key` | none |
//! | registrar actor and keys | | | `[keys] registrar_actor`, `[[keys.registrars]]` | `covenant-registrar`, none |
//!
//! Relative paths in the file are relative to the file's own directory.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const DEFAULT_DATA_DIR: &str = "covenant-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_ORIGIN: &str = "localhost/covenant";
pub const DEFAULT_REGISTRAR_ACTOR: &str = "covenant-registrar";
/// Where emitters publish when no NATS URL is configured.
pub const DEFAULT_EMITTER_NATS_URL: &str = "nats://127.0.0.1:4222";

/// The flags every command that needs settings accepts.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Configuration file (TOML; see deploy/covenant.example.toml). Also COVENANT_CONFIG.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory of the ledger. Also COVENANT_DATA.
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// NATS server URL, for example nats://127.0.0.1:4222. Also COVENANT_NATS_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub nats: Option<String>,
    /// NATS credentials file (.creds). Also COVENANT_NATS_CREDENTIALS.
    #[arg(long, global = true, value_name = "FILE")]
    pub nats_credentials: Option<PathBuf>,
    /// HTTP listen address. Also COVENANT_LISTEN.
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
}

/// The settings, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The log's origin line in checkpoints, for example `covenant.example.org/log`.
    pub origin: String,
    /// Free text for the genesis entry: who runs this log and why.
    pub description: String,
    pub data_dir: PathBuf,
    /// None: the ledger runs embedded, without a broker.
    pub nats_url: Option<String>,
    pub nats_credentials: Option<PathBuf>,
    pub listen: String,
    /// The log's checkpoint signing key (a `covenant keys generate --kind log` file).
    pub log_key_file: Option<PathBuf>,
    pub registrar_actor: String,
    pub registrars: Vec<RegistrarKey>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarKey {
    pub key_id: String,
    pub public_key: [u8; 32],
}

impl Config {
    /// Where emitters publish: the configured URL or the local default.
    pub fn emitter_nats_url(&self) -> String {
        self.nats_url
            .clone()
            .unwrap_or_else(|| DEFAULT_EMITTER_NATS_URL.to_owned())
    }

    /// The configuration as a file that [`load`] reads back to the same settings.
    pub fn to_toml(&self) -> String {
        let file = FileConfig {
            log: LogSection {
                origin: Some(self.origin.clone()),
                description: Some(self.description.clone()).filter(|d| !d.is_empty()),
                data_dir: Some(self.data_dir.clone()),
            },
            nats: NatsSection {
                url: self.nats_url.clone(),
                credentials: self.nats_credentials.clone(),
            },
            http: HttpSection {
                listen: Some(self.listen.clone()),
            },
            keys: KeysSection {
                log_key: self.log_key_file.clone(),
                registrar_actor: Some(self.registrar_actor.clone()),
                registrars: self
                    .registrars
                    .iter()
                    .map(|key| RegistrarEntry {
                        key_id: key.key_id.clone(),
                        public_key: hex::encode(key.public_key),
                    })
                    .collect(),
            },
        };
        toml::to_string(&file).expect("the configuration serialises")
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    log: LogSection,
    nats: NatsSection,
    http: HttpSection,
    keys: KeysSection,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct LogSection {
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct NatsSection {
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct HttpSection {
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct KeysSection {
    #[serde(skip_serializing_if = "Option::is_none")]
    log_key: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registrar_actor: Option<String>,
    registrars: Vec<RegistrarEntry>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RegistrarEntry {
    key_id: String,
    /// Hex, 64 digits.
    public_key: String,
}

/// Load the settings from the flags, the process environment and the configuration file.
pub fn load(flags: &ConfigArgs) -> anyhow::Result<Config> {
    resolve(flags, &|name| std::env::var(name).ok())
}

/// [`load`] with the environment passed in, so precedence can be tested without touching the
/// process environment.
pub fn resolve(flags: &ConfigArgs, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
    let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let config_path = flags
        .config
        .clone()
        .or_else(|| env("COVENANT_CONFIG").map(PathBuf::from));
    let (file, base_dir) = match &config_path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read configuration file {}", path.display()))?;
            let file: FileConfig = toml::from_str(&text)
                .with_context(|| format!("parse configuration file {}", path.display()))?;
            let base_dir = path.parent().map(Path::to_owned).unwrap_or_default();
            (file, Some(base_dir))
        }
        None => (FileConfig::default(), None),
    };
    let relative_to_file = |path: PathBuf| match &base_dir {
        Some(base) if path.is_relative() => base.join(path),
        _ => path,
    };

    let data_dir = flags
        .data
        .clone()
        .or_else(|| env("COVENANT_DATA").map(PathBuf::from))
        .or_else(|| file.log.data_dir.clone().map(relative_to_file))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let nats_url = flags
        .nats
        .clone()
        .or_else(|| env("COVENANT_NATS_URL"))
        .or_else(|| file.nats.url.clone().filter(|url| !url.trim().is_empty()));
    let nats_credentials = flags
        .nats_credentials
        .clone()
        .or_else(|| env("COVENANT_NATS_CREDENTIALS").map(PathBuf::from))
        .or_else(|| file.nats.credentials.clone().map(relative_to_file));
    let listen = flags
        .listen
        .clone()
        .or_else(|| env("COVENANT_LISTEN"))
        .or_else(|| file.http.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    if listen.parse::<std::net::SocketAddr>().is_err() {
        bail!("listen address {listen:?} is not an IP address and port such as 127.0.0.1:8080");
    }

    let origin = file.log.origin.unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
    if origin.is_empty() || origin.contains(['+', ' ', '\n']) {
        bail!("[log] origin {origin:?} must be non-empty, without spaces or '+'");
    }
    let registrar_actor = file
        .keys
        .registrar_actor
        .unwrap_or_else(|| DEFAULT_REGISTRAR_ACTOR.to_owned());
    if !covenant_core::event::is_valid_id(&registrar_actor) {
        bail!("[keys] registrar_actor {registrar_actor:?} is not a valid id");
    }
    let registrars = file
        .keys
        .registrars
        .iter()
        .enumerate()
        .map(|(index, entry)| registrar_key(index, entry))
        .collect::<anyhow::Result<_>>()?;
    Ok(Config {
        origin,
        description: file.log.description.unwrap_or_default(),
        data_dir,
        nats_url,
        nats_credentials,
        listen,
        log_key_file: file.keys.log_key.map(relative_to_file),
        registrar_actor,
        registrars,
    })
}

fn registrar_key(index: usize, entry: &RegistrarEntry) -> anyhow::Result<RegistrarKey> {
    if !covenant_core::event::is_valid_id(&entry.key_id) {
        bail!(
            "[[keys.registrars]] {}: key_id {:?} is not a valid id",
            index + 1,
            entry.key_id
        );
    }
    let public_key = hex::decode(entry.public_key.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .with_context(|| {
            format!(
                "[[keys.registrars]] {} ({}): public_key must be 64 hex digits",
                index + 1,
                entry.key_id
            )
        })?;
    Ok(RegistrarKey {
        key_id: entry.key_id.clone(),
        public_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn write_config(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("covenant.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    const FILE: &str = r#"
[log]
origin = "covenant.example.org/log"
data_dir = "data"

[nats]
url = "nats://file:4222"

[http]
listen = "127.0.0.1:9000"

[keys]
log_key = "keys/log.key"
registrar_actor = "example-registrar"

[[keys.registrars]]
key_id = "registrar-1"
public_key = "0101010101010101010101010101010101010101010101010101010101010101"
"#;

    #[test]
    fn defaults_work_locally() {
        let config = resolve(&ConfigArgs::default(), &env_of(&[])).unwrap();
        assert_eq!(config.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.nats_url, None);
        assert_eq!(config.emitter_nats_url(), "nats://127.0.0.1:4222");
        assert_eq!(config.origin, DEFAULT_ORIGIN);
        assert_eq!(config.registrar_actor, DEFAULT_REGISTRAR_ACTOR);
        assert!(config.registrars.is_empty());
    }

    #[test]
    fn the_file_overrides_defaults_with_paths_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), FILE);
        let flags = ConfigArgs {
            config: Some(path),
            ..Default::default()
        };
        let config = resolve(&flags, &env_of(&[])).unwrap();
        assert_eq!(config.data_dir, dir.path().join("data"));
        assert_eq!(config.nats_url.as_deref(), Some("nats://file:4222"));
        assert_eq!(config.listen, "127.0.0.1:9000");
        assert_eq!(config.log_key_file, Some(dir.path().join("keys/log.key")));
        assert_eq!(config.origin, "covenant.example.org/log");
        assert_eq!(
            config.registrars,
            [RegistrarKey {
                key_id: "registrar-1".into(),
                public_key: [1; 32]
            }]
        );
        assert_eq!(config.registrar_actor, "example-registrar");
    }

    #[test]
    fn environment_overrides_the_file_and_flags_override_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), FILE);
        let env = env_of(&[
            ("COVENANT_CONFIG", path.to_str().unwrap()),
            ("COVENANT_DATA", "/env/data"),
            ("COVENANT_NATS_URL", "nats://env:4222"),
            ("COVENANT_LISTEN", "127.0.0.1:7000"),
        ]);
        let config = resolve(&ConfigArgs::default(), &env).unwrap();
        assert_eq!(
            config.origin, "covenant.example.org/log",
            "file found via COVENANT_CONFIG"
        );
        assert_eq!(config.data_dir, PathBuf::from("/env/data"));
        assert_eq!(config.nats_url.as_deref(), Some("nats://env:4222"));
        assert_eq!(config.listen, "127.0.0.1:7000");

        let flags = ConfigArgs {
            config: None,
            data: Some("/flag/data".into()),
            nats: Some("nats://flag:4222".into()),
            nats_credentials: Some("/flag/user.creds".into()),
            listen: Some("0.0.0.0:6000".into()),
        };
        let config = resolve(&flags, &env).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/flag/data"));
        assert_eq!(config.nats_url.as_deref(), Some("nats://flag:4222"));
        assert_eq!(
            config.nats_credentials,
            Some(PathBuf::from("/flag/user.creds"))
        );
        assert_eq!(config.listen, "0.0.0.0:6000");
    }

    #[test]
    fn empty_environment_values_do_not_count() {
        let config = resolve(
            &ConfigArgs::default(),
            &env_of(&[("COVENANT_LISTEN", ""), ("COVENANT_NATS_URL", " ")]),
        )
        .unwrap();
        assert_eq!(config.listen, DEFAULT_LISTEN);
        assert_eq!(config.nats_url, None);
    }

    #[test]
    fn bad_settings_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("[log]\norgin = \"x\"\n", "parse configuration file"),
            (
                "[http]\nlisten = \"localhost\"\n",
                "listen address \"localhost\"",
            ),
            ("[log]\norigin = \"has space\"\n", "[log] origin"),
            (
                "[[keys.registrars]]\nkey_id = \"r\"\npublic_key = \"abc\"\n",
                "[[keys.registrars]] 1 (r): public_key must be 64 hex digits",
            ),
        ];
        for (text, expected) in cases {
            let flags = ConfigArgs {
                config: Some(write_config(dir.path(), text)),
                ..Default::default()
            };
            let error = format!("{:#}", resolve(&flags, &env_of(&[])).unwrap_err());
            assert!(error.contains(expected), "{text}: {error}");
        }
        let missing = ConfigArgs {
            config: Some(dir.path().join("absent.toml")),
            ..Default::default()
        };
        let error = format!("{:#}", resolve(&missing, &env_of(&[])).unwrap_err());
        assert!(error.starts_with("read configuration file"), "{error}");
    }

    #[test]
    fn a_written_configuration_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            origin: "demo.covenant.local/log".into(),
            description: "Demo".into(),
            data_dir: dir.path().join("data"),
            nats_url: Some("nats://127.0.0.1:4222".into()),
            nats_credentials: None,
            listen: "127.0.0.1:8080".into(),
            log_key_file: Some(dir.path().join("log.key")),
            registrar_actor: "covenant-registrar".into(),
            registrars: vec![RegistrarKey {
                key_id: "registrar-1".into(),
                public_key: [7; 32],
            }],
        };
        let flags = ConfigArgs {
            config: Some(write_config(dir.path(), &config.to_toml())),
            ..Default::default()
        };
        assert_eq!(resolve(&flags, &env_of(&[])).unwrap(), config);
    }

    #[test]
    fn the_example_file_in_deploy_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/covenant.example.toml");
        let flags = ConfigArgs {
            config: Some(path),
            ..Default::default()
        };
        let config = resolve(&flags, &env_of(&[])).unwrap();
        assert_eq!(config.nats_url.as_deref(), Some("nats://127.0.0.1:4222"));
        assert_eq!(config.registrars.len(), 1);
    }
}
