//! Where a published log comes from. Everything the audit tools need is three kinds of
//! resource, so a source is a small trait: the checkpoint, entry bundles and hash tiles, named
//! as in C2SP tlog-tiles. [`HttpSource`] reads a live server or any static mirror;
//! [`crate::publish::StaticLog`] holds a log's files in memory; the `covenant` binary adds one
//! that reads a stopped ledger's store.

use crate::AuditError;
use covenant_core::merkle::{HASH_SIZE, TILE_WIDTH, Tile, decode_entry_bundle, tile_path};
use std::sync::OnceLock;
use std::time::Duration;

/// A published log.
pub trait LogSource: Send + Sync {
    /// Where the log is, for messages.
    fn describe(&self) -> String;

    /// The latest signed checkpoint note.
    fn checkpoint(&self) -> Result<Vec<u8>, AuditError>;

    /// The entry bundle `tile` (a data tile), as served: u16-length-prefixed entries.
    fn entry_bundle(&self, tile: &Tile) -> Result<Vec<u8>, AuditError>;

    /// The hash tile `tile`: `tile.width()` concatenated 32-byte hashes.
    fn hash_tile(&self, tile: &Tile) -> Result<Vec<u8>, AuditError>;

    /// The newest checkpoint the log's witnesses cosigned, where the log names it apart from
    /// its latest (a ledger that publishes checkpoints before witnesses cosign them serves it
    /// at `checkpoint/witnessed`); `None` where it does not.
    fn witnessed_checkpoint(&self) -> Result<Option<Vec<u8>>, AuditError> {
        Ok(None)
    }

    /// The verifier key the log publishes about itself, if it does. Trusting it is trust on
    /// first use: auditors should pin a key they obtained elsewhere.
    fn published_verifier_key(&self) -> Result<Option<String>, AuditError> {
        Ok(None)
    }
}

/// Reads a log over HTTP(S) from its C2SP tlog-tiles prefix.
#[derive(Clone)]
pub struct HttpSource {
    /// The tiles prefix, ending with `/`: set from a URL with a path, found on first use for a
    /// bare server address ([`HttpSource::new`]).
    prefix: OnceLock<String>,
    /// A bare server address (no trailing `/`), whose prefix is still to be found.
    root: Option<String>,
    agent: ureq::Agent,
}

/// Largest resource accepted: a full entry bundle of maximal entries, with headroom.
const MAX_RESOURCE_BYTES: u64 = 256 * 66_000;

impl HttpSource {
    /// A source for the log at `url`. A URL with a path is taken as the tiles prefix itself
    /// (a static mirror may live anywhere). A bare server address (`http://host:8080`) is
    /// either a ledger, whose log is under `/log/`, or a static mirror served at the web
    /// server's root; which one is decided on first use by where a checkpoint is served,
    /// `/log/checkpoint` first.
    pub fn new(url: &str) -> Result<Self, AuditError> {
        let invalid = |reason: &str| AuditError::Fetch {
            what: url.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("not a URL (expected http:// or https://)"))?;
        if scheme != "http" && scheme != "https" {
            return Err(invalid("only http and https URLs are supported"));
        }
        let has_path = rest.trim_end_matches('/').contains('/');
        let url = url.trim_end_matches('/');
        let (prefix, root) = if has_path {
            (OnceLock::from(format!("{url}/")), None)
        } else {
            (OnceLock::new(), Some(url.to_owned()))
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .user_agent(concat!("covenant-audit/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Self {
            prefix,
            root,
            agent,
        })
    }

    /// The tiles prefix, ending with `/`, once known: from the start for a URL with a path,
    /// after the first request for a bare server address.
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.get().map(String::as_str)
    }

    /// The tiles prefix, found first if need be, and the checkpoint note when finding it
    /// fetched one.
    fn resolve(&self) -> Result<(&str, Option<Vec<u8>>), AuditError> {
        if let Some(prefix) = self.prefix.get() {
            return Ok((prefix, None));
        }
        // Without a prefix there is always a root: `new` sets one or the other.
        let root = self.root.as_deref().unwrap_or_default();
        let ledger = format!("{root}/log/");
        let mirror = format!("{root}/");
        let (found, note) = if let Some(note) = self.fetch(&format!("{ledger}checkpoint"))? {
            (ledger, note)
        } else if let Some(note) = self.fetch(&format!("{mirror}checkpoint"))? {
            (mirror, note)
        } else {
            return Err(AuditError::Missing {
                what: format!(
                    "{ledger}checkpoint (a ledger's) or {mirror}checkpoint (a mirror's at the \
                     server's root)"
                ),
            });
        };
        // Another thread may have found it meanwhile: both found the same prefix.
        Ok((self.prefix.get_or_init(|| found), Some(note)))
    }

    /// GET `path` under the prefix: `None` on 404.
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, AuditError> {
        let (prefix, _) = self.resolve()?;
        self.fetch(&format!("{prefix}{path}"))
    }

    /// GET `url`: `None` on 404.
    fn fetch(&self, url: &str) -> Result<Option<Vec<u8>>, AuditError> {
        let fetch_error = |reason: String| AuditError::Fetch {
            what: url.to_owned(),
            reason,
        };
        let mut response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| fetch_error(e.to_string()))?;
        match response.status().as_u16() {
            200 => response
                .body_mut()
                .with_config()
                .limit(MAX_RESOURCE_BYTES)
                .read_to_vec()
                .map(Some)
                .map_err(|e| fetch_error(e.to_string())),
            404 => Ok(None),
            status => Err(fetch_error(format!("HTTP status {status}"))),
        }
    }

    fn require(&self, path: &str) -> Result<Vec<u8>, AuditError> {
        self.get(path)?.ok_or_else(|| AuditError::Missing {
            what: format!("{}{path}", self.describe()),
        })
    }

    /// A tile, falling back to the full tile when a partial one is gone (C2SP allows a log to
    /// delete partial tiles once the full tile exists).
    fn tile_or_full(&self, tile: &Tile) -> Result<Option<Vec<u8>>, AuditError> {
        if let Some(data) = self.get(&tile_path(tile))? {
            return Ok(Some(data));
        }
        if u64::from(tile.width()) == TILE_WIDTH {
            return Ok(None);
        }
        let full = Tile::new(
            tile.height(),
            tile.level(),
            tile.level_index(),
            TILE_WIDTH as u32,
            tile.is_data(),
        );
        self.get(&tile_path(&full))
    }
}

impl LogSource for HttpSource {
    fn describe(&self) -> String {
        match (self.prefix(), &self.root) {
            (Some(prefix), _) => prefix.to_owned(),
            (None, Some(root)) => format!("{root}/"),
            (None, None) => String::new(),
        }
    }

    fn checkpoint(&self) -> Result<Vec<u8>, AuditError> {
        // Finding a bare address's prefix fetches the checkpoint: no need to fetch it twice.
        match self.resolve()? {
            (_, Some(note)) => Ok(note),
            (_, None) => self.require("checkpoint"),
        }
    }

    fn witnessed_checkpoint(&self) -> Result<Option<Vec<u8>>, AuditError> {
        self.get("checkpoint/witnessed")
    }

    fn entry_bundle(&self, tile: &Tile) -> Result<Vec<u8>, AuditError> {
        let missing = || AuditError::Missing {
            what: format!("{}{}", self.describe(), tile_path(tile)),
        };
        let data = self.tile_or_full(tile)?.ok_or_else(missing)?;
        // A full bundle stands in for a partial one: keep the entries the partial one holds.
        match decode_entry_bundle(&data) {
            Some(entries) if entries.len() > tile.width() as usize => {
                let keep: usize = entries[..tile.width() as usize]
                    .iter()
                    .map(|entry| 2 + entry.len())
                    .sum();
                Ok(data[..keep].to_vec())
            }
            _ => Ok(data),
        }
    }

    fn hash_tile(&self, tile: &Tile) -> Result<Vec<u8>, AuditError> {
        let missing = || AuditError::Missing {
            what: format!("{}{}", self.describe(), tile_path(tile)),
        };
        let mut data = self.tile_or_full(tile)?.ok_or_else(missing)?;
        let want = tile.width() as usize * HASH_SIZE;
        if data.len() > want && data.len() == TILE_WIDTH as usize * HASH_SIZE {
            data.truncate(want);
        }
        Ok(data)
    }

    fn published_verifier_key(&self) -> Result<Option<String>, AuditError> {
        let Some(bytes) = self.get("verifier-key")? else {
            return Ok(None);
        };
        let key = String::from_utf8(bytes).map_err(|_| AuditError::Fetch {
            what: format!("{}verifier-key", self.describe()),
            reason: "not UTF-8 text".into(),
        })?;
        Ok(Some(key.trim().to_owned()))
    }
}

impl std::fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpSource({})", self.describe())
    }
}

/// A source made of closures, for callers that hold the log some other way (the binary's
/// store reader uses it, so this crate never depends on the store).
pub struct FnSource<C, B, H> {
    pub description: String,
    pub checkpoint: C,
    pub entry_bundle: B,
    pub hash_tile: H,
}

impl<C, B, H> LogSource for FnSource<C, B, H>
where
    C: Fn() -> Result<Vec<u8>, AuditError> + Send + Sync,
    B: Fn(&Tile) -> Result<Vec<u8>, AuditError> + Send + Sync,
    H: Fn(&Tile) -> Result<Vec<u8>, AuditError> + Send + Sync,
{
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn checkpoint(&self) -> Result<Vec<u8>, AuditError> {
        (self.checkpoint)()
    }

    fn entry_bundle(&self, tile: &Tile) -> Result<Vec<u8>, AuditError> {
        (self.entry_bundle)(tile)
    }

    fn hash_tile(&self, tile: &Tile) -> Result<Vec<u8>, AuditError> {
        (self.hash_tile)(tile)
    }
}

/// A log seen through its witnesses: its checkpoint is the newest one they cosigned where the
/// log names it ([`LogSource::witnessed_checkpoint`]), otherwise its latest. What an auditor
/// who requires cosignatures checks.
pub struct WitnessedView<S>(pub S);

impl<S: LogSource> LogSource for WitnessedView<S> {
    fn describe(&self) -> String {
        self.0.describe()
    }

    fn checkpoint(&self) -> Result<Vec<u8>, AuditError> {
        match self.0.witnessed_checkpoint()? {
            Some(note) => Ok(note),
            None => self.0.checkpoint(),
        }
    }

    fn witnessed_checkpoint(&self) -> Result<Option<Vec<u8>>, AuditError> {
        self.0.witnessed_checkpoint()
    }

    fn entry_bundle(&self, tile: &Tile) -> Result<Vec<u8>, AuditError> {
        self.0.entry_bundle(tile)
    }

    fn hash_tile(&self, tile: &Tile) -> Result<Vec<u8>, AuditError> {
        self.0.hash_tile(tile)
    }

    fn published_verifier_key(&self) -> Result<Option<String>, AuditError> {
        self.0.published_verifier_key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_server_addresses_mean_the_log_api_and_other_urls_are_prefixes() {
        let prefix = |url: &str| HttpSource::new(url).unwrap().prefix().map(str::to_owned);
        // A bare address is a ledger or a mirror at the root: what it serves decides.
        assert_eq!(prefix("http://127.0.0.1:8080"), None);
        assert_eq!(prefix("http://127.0.0.1:8080/"), None);
        assert_eq!(
            HttpSource::new("http://127.0.0.1:8080/")
                .unwrap()
                .describe(),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            prefix("https://ledger.example/log").as_deref(),
            Some("https://ledger.example/log/")
        );
        assert_eq!(
            prefix("https://cdn.example/mirrors/covenant/").as_deref(),
            Some("https://cdn.example/mirrors/covenant/")
        );
        assert!(HttpSource::new("ftp://x").is_err());
        assert!(HttpSource::new("ledger.example").is_err());
    }
}
