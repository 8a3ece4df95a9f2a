//! Offline proof bundles: fetch one for an event from a ledger's JSON API, and check one from a
//! file (the format and its checks are `covenant_core::bundle`, shared with the server).

use crate::AuditError;
use covenant_core::bundle::{ProofBundle, VerifiedBundle};
use std::path::Path;
use std::time::Duration;

/// Fetch the proof bundle for `event_id` from the ledger at `server_url`
/// (`GET /v1/proof/bundle/{event_id}`).
pub fn fetch_bundle(server_url: &str, event_id: &str) -> Result<ProofBundle, AuditError> {
    let url = format!(
        "{}/v1/proof/bundle/{}",
        server_url.trim_end_matches('/'),
        event_id
    );
    let fail = |reason: String| AuditError::Fetch {
        what: url.clone(),
        reason,
    };
    if event_id.is_empty()
        || !event_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(fail(format!("{event_id:?} is not an event id")));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(&url).call().map_err(|e| fail(e.to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_vec()
        .map_err(|e| fail(e.to_string()))?;
    if status != 200 {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|json| json["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        return Err(fail(format!("HTTP status {status}: {message}")));
    }
    serde_json::from_slice(&body).map_err(|e| fail(format!("not a proof bundle: {e}")))
}

/// Read a proof bundle file. A file that cannot be read and one that is not a bundle are both
/// errors the caller could not check, not bundles that failed a check.
pub fn read_bundle(path: &Path) -> Result<ProofBundle, AuditError> {
    let bytes = std::fs::read(path).map_err(|e| AuditError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| AuditError::NotABundle {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Read and check a proof bundle file against the pinned verifier key.
pub fn check_bundle_file(path: &Path, verifier_key: &str) -> Result<VerifiedBundle, AuditError> {
    Ok(read_bundle(path)?.verify(verifier_key)?)
}

/// What a proven event says, as labelled lines for a person (see [`covenant_core::facts`]).
pub use covenant_core::facts::facts as event_facts;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::tests::printed_chain as chain;

    #[test]
    fn a_missing_file_is_named_once_with_its_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.json");
        let error = read_bundle(&path).unwrap_err();
        assert!(!error.is_misbehaviour(), "{error}");
        let printed = chain(&error);
        assert_eq!(
            printed.matches("os error 2").count(),
            1,
            "the cause is printed once: {printed}"
        );
        assert!(printed.contains("nope.json"), "{printed}");
    }

    #[test]
    fn a_file_that_is_not_a_bundle_says_so_and_is_not_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.csv");
        std::fs::write(&path, "kind,actor\ncommitment,GB-GOV-02\n").unwrap();
        let error = read_bundle(&path).unwrap_err();
        assert!(matches!(error, AuditError::NotABundle { .. }), "{error:?}");
        assert!(!error.is_misbehaviour(), "{error}");
        assert_eq!(
            chain(&error),
            format!(
                "{} is not a proof bundle: expected value at line 1 column 1",
                path.display()
            )
        );
    }
}
