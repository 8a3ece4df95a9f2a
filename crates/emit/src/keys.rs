//! Secret key files.
//!
//! A key file is a short TOML document holding an Ed25519 seed and what the key is for:
//!
//! ```toml
//! # Covenant emitter key. Keep this file secret: whoever holds it can sign as its actor.
//! kind = "emitter"
//! seed = "9f...64 hex digits..."
//! key_id = "GB-GOV-23.emitter-3f2a9c1d"   # optional: the id the registrar grants it under
//! actor = "GB-GOV-23"                      # optional: the actor it speaks for
//! ```
//!
//! Log keys record the log's `origin` instead of an actor, since the verifier key names it.
//!
//! Files are created with mode 0600 and never overwritten. The seed never appears in `Debug`
//! output.

use crate::EmitError;
use covenant_core::signing::{EventSigner, PublicKey};
use std::io::Write;
use std::path::Path;

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// Signs an actor's commitments, actions, outcomes (and assessments, with the assessor role).
    Emitter,
    /// Signs registry events; named in the log's genesis.
    Registrar,
    /// Signs the log's checkpoints.
    Log,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Emitter => "emitter",
            Self::Registrar => "registrar",
            Self::Log => "log",
        }
    }
}

impl std::str::FromStr for KeyKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "emitter" => Ok(Self::Emitter),
            "registrar" => Ok(Self::Registrar),
            "log" => Ok(Self::Log),
            other => Err(format!(
                "{other:?} is not a key kind (emitter, registrar or log)"
            )),
        }
    }
}

/// A secret key and what it is for.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyFile {
    pub kind: KeyKind,
    pub seed: [u8; 32],
    /// The key id it is (or will be) granted under.
    pub key_id: Option<String>,
    /// The actor it speaks for.
    pub actor: Option<String>,
    /// For log keys: the log's origin (the note key name).
    pub origin: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileToml {
    kind: KeyKind,
    seed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
}

impl KeyFile {
    /// A fresh key from the operating system's random source.
    pub fn generate(kind: KeyKind) -> Self {
        Self::from_seed(kind, EventSigner::generate(rand_core::OsRng).seed())
    }

    pub fn from_seed(kind: KeyKind, seed: [u8; 32]) -> Self {
        Self {
            kind,
            seed,
            key_id: None,
            actor: None,
            origin: None,
        }
    }

    pub fn signer(&self) -> EventSigner {
        EventSigner::from_seed(self.seed)
    }

    pub fn public_key(&self) -> PublicKey {
        self.signer().public_key()
    }

    /// A key id to grant the key under when none was chosen: the kind (and actor, if known)
    /// followed by the first 8 bytes of the public key in hex, so it is unique in practice and
    /// recognisable.
    pub fn suggested_key_id(&self) -> String {
        self.suggested_key_id_for(self.kind.as_str())
    }

    /// [`KeyFile::suggested_key_id`] naming what the key is granted to do instead of its file
    /// kind: `GB-CHC-1158683.assessor-…` for a watchdog's key.
    pub fn suggested_key_id_for(&self, role: &str) -> String {
        let fingerprint = hex::encode(&self.public_key()[..8]);
        match &self.actor {
            Some(actor) => format!("{actor}.{role}-{fingerprint}"),
            None => format!("{role}-{fingerprint}"),
        }
    }

    /// The key id from the file, or the suggested one.
    pub fn key_id_or_suggested(&self) -> String {
        self.key_id
            .clone()
            .unwrap_or_else(|| self.suggested_key_id())
    }

    /// The file's text.
    pub fn to_toml(&self) -> String {
        let body = KeyFileToml {
            kind: self.kind,
            seed: hex::encode(self.seed),
            key_id: self.key_id.clone(),
            actor: self.actor.clone(),
            origin: self.origin.clone(),
        };
        let text = toml::to_string(&body).expect("a flat struct of strings serialises");
        format!(
            "# Covenant {} key. Keep this file secret: whoever holds it can sign with it.\n{text}",
            self.kind.as_str()
        )
    }

    /// Parse a key file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let body: KeyFileToml = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let seed = hex::decode(body.seed.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or("seed must be 64 hex digits (32 bytes)")?;
        for (field, value) in [("key_id", &body.key_id), ("actor", &body.actor)] {
            if let Some(value) = value
                && !covenant_core::event::is_valid_id(value)
            {
                return Err(format!("{field}: {value:?} is not a valid id"));
            }
        }
        Ok(Self {
            kind: body.kind,
            seed,
            key_id: body.key_id,
            actor: body.actor,
            origin: body.origin,
        })
    }

    /// Read and parse a key file.
    pub fn read(path: &Path) -> Result<Self, EmitError> {
        let problem = |problem: String| EmitError::KeyFile {
            path: path.to_owned(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
        Self::parse(&text).map_err(problem)
    }

    /// Write the key to a new file readable only by its owner (mode 0600). An existing file is
    /// never overwritten: losing a key that was granted is worse than an error.
    pub fn write_new(&self, path: &Path) -> Result<(), EmitError> {
        let problem = |problem: String| EmitError::KeyFile {
            path: path.to_owned(),
            problem,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                problem("already exists; refusing to overwrite a key".to_owned())
            } else {
                problem(e.to_string())
            }
        })?;
        file.write_all(self.to_toml().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| problem(e.to_string()))
    }
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("kind", &self.kind)
            .field("public_key", &hex::encode(self.public_key()))
            .field("key_id", &self.key_id)
            .field("actor", &self.actor)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fenced block after `<!-- example: NAME -->` in docs/EMITTERS.md.
    fn documented_example(name: &str) -> String {
        let page = include_str!("../../../docs/EMITTERS.md");
        let marker = format!("<!-- example: {name} -->");
        let after = &page[page.find(&marker).expect("the example is on the page")..];
        let body = &after[after.find('\n').unwrap() + 1..];
        let body = &body[body.find('\n').unwrap() + 1..];
        body[..body.find("```").unwrap()].to_owned()
    }

    #[test]
    fn the_documented_key_file_parses() {
        let text = documented_example("key-file");
        let key = KeyFile::parse(&text).unwrap();
        assert_eq!(key.kind, KeyKind::Emitter);
        assert_eq!(key.key_id.as_deref(), Some("dcms-covenant-1"));
        assert_eq!(key.actor.as_deref(), Some("GB-GOV-23"));
        // The page's public key and suggested key id are what this seed gives.
        assert_eq!(
            hex::encode(key.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let unnamed = KeyFile {
            key_id: None,
            ..key.clone()
        };
        assert_eq!(
            unnamed.suggested_key_id(),
            "GB-GOV-23.emitter-d75a980182b10ab7"
        );
        // It is exactly what `covenant keys generate` writes for that key.
        assert_eq!(key.to_toml(), text);
        // The rules the page states: unknown fields, bad seeds and bad ids are refused by name.
        let refused = [
            (text.replace("actor =", "owner ="), "owner"),
            (text.replace("9d61b1", "9d61"), "seed"),
            (text.replace("GB-GOV-23", "GB GOV 23"), "actor"),
            (text.replace("\"emitter\"", "\"signer\""), "signer"),
        ];
        for (bad, named) in refused {
            let problem = KeyFile::parse(&bad).unwrap_err();
            assert!(problem.contains(named), "{named}: {problem}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_is_written_owner_only_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dcms.key");
        let key = KeyFile::parse(&documented_example("key-file")).unwrap();
        key.write_new(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(KeyFile::read(&path).unwrap(), key);
        let again = key.write_new(&path).unwrap_err().to_string();
        assert!(again.contains("refusing to overwrite"), "{again}");
    }

    #[test]
    fn round_trips_through_its_text() {
        let mut key = KeyFile::from_seed(KeyKind::Emitter, [9; 32]);
        key.actor = Some("GB-GOV-23".into());
        key.key_id = Some("dcms-1".into());
        let text = key.to_toml();
        assert!(text.starts_with("# Covenant emitter key."));
        assert_eq!(KeyFile::parse(&text).unwrap(), key);
        let bare = KeyFile::from_seed(KeyKind::Emitter, [1; 32]);
        assert_eq!(KeyFile::parse(&bare.to_toml()).unwrap(), bare);
        let mut log = KeyFile::from_seed(KeyKind::Log, [2; 32]);
        log.origin = Some("covenant.example.org/log".into());
        assert_eq!(KeyFile::parse(&log.to_toml()).unwrap(), log);
    }

    #[test]
    fn bad_files_are_named() {
        let seed = "ab".repeat(32);
        assert!(
            KeyFile::parse(&format!("kind = \"wizard\"\nseed = \"{seed}\""))
                .unwrap_err()
                .contains("wizard")
        );
        assert_eq!(
            KeyFile::parse("kind = \"emitter\"\nseed = \"abcd\"").unwrap_err(),
            "seed must be 64 hex digits (32 bytes)"
        );
        assert!(
            KeyFile::parse(&format!(
                "kind = \"emitter\"\nseed = \"{seed}\"\nactor = \"has space\""
            ))
            .unwrap_err()
            .starts_with("actor:")
        );
    }

    #[test]
    fn debug_never_shows_the_seed() {
        let key = KeyFile::from_seed(KeyKind::Registrar, [0xab; 32]);
        assert!(!format!("{key:?}").contains(&"ab".repeat(32)));
    }

    #[test]
    fn suggested_ids_are_valid_and_name_the_actor() {
        let mut key = KeyFile::from_seed(KeyKind::Emitter, [3; 32]);
        assert!(key.suggested_key_id().starts_with("emitter-"));
        key.actor = Some("uk-mp:4514".into());
        let id = key.suggested_key_id();
        assert!(id.starts_with("uk-mp:4514.emitter-"), "{id}");
        assert!(covenant_core::event::is_valid_id(&id));
        let assessor = key.suggested_key_id_for("assessor");
        assert_eq!(
            assessor.strip_prefix("uk-mp:4514.assessor-"),
            id.strip_prefix("uk-mp:4514.emitter-"),
            "the same fingerprint under the role's name"
        );
    }

    #[test]
    fn written_files_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = KeyFile::generate(KeyKind::Emitter);
        key.write_new(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(KeyFile::read(&path).unwrap(), key);
        let other = KeyFile::generate(KeyKind::Emitter);
        let error = other.write_new(&path).unwrap_err().to_string();
        assert!(error.contains("refusing to overwrite"), "{error}");
        assert_eq!(KeyFile::read(&path).unwrap(), key);
    }
}
