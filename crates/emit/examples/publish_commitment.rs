//! Publish one commitment, an action towards it, and ask the ledger what it made of them.
//!
//! ```text
//! covenant keys generate --kind emitter --actor GB-GOV-23 --out dcms.key
//! # ... the registrar grants the key (covenant keys grant) and publishes the grant ...
//! cargo run -p covenant-emit --example publish_commitment -- \
//!     nats://127.0.0.1:4222 dcms.key http://127.0.0.1:8080
//! ```

use covenant_core::event::Date;
use covenant_core::proto::{ActionType, MoneyStage, SourceKind};
use covenant_emit::build::{Action, Commitment, Money, Speaker, link, now_ms};
use covenant_emit::emitter::{Emitter, EmitterConfig};
use covenant_emit::keys::KeyFile;
use covenant_emit::status::LedgerClient;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let usage = "usage: publish_commitment NATS_URL KEY_FILE [LEDGER_URL]";
    let nats_url = arguments.next().ok_or(usage)?;
    let key_file = arguments.next().ok_or(usage)?;
    let ledger_url = arguments.next();

    let key = KeyFile::read(key_file.as_ref())?;
    let actor = key.actor.clone().ok_or("the key file names no actor")?;
    let speaker = Speaker::new(actor, key.key_id_or_suggested(), key.signer())?;

    let made_on = Date::parse("2025-07-17").expect("a valid date");
    let commitment = Commitment::new(
        "example-covenant-council",
        "Set up a joint council with civil society",
        "We will set up a joint council, with members from charities and from government, \
         that meets every quarter and publishes its minutes.",
        made_on,
    )
    .source(
        SourceKind::Covenant,
        "Civil Society Covenant",
        "https://www.gov.uk/",
    )
    .due_by(Date::parse("2026-03-31").expect("a valid date"))
    .themes(["community", "partnership"]);
    let action = Action::new(
        "example-council-secretariat",
        ["example-covenant-council"],
        ActionType::Funding,
        Date::parse("2025-09-01").expect("a valid date"),
        "Funded a secretariat for the council for two years.",
    )
    .money(Money::gbp(45_000_000, MoneyStage::Committed))
    .evidence(link("Grant notice", "https://www.gov.uk/"));

    let events = vec![
        speaker.seal(commitment, now_ms())?,
        speaker.seal(action, now_ms())?,
    ];
    let emitter = Emitter::open(EmitterConfig::new(nats_url, "outbox")).await?;
    for receipt in emitter.emit_all(&events).await? {
        println!(
            "{} stored in the stream at {}",
            receipt.event_id, receipt.stream_sequence
        );
    }

    if let Some(ledger_url) = ledger_url {
        let client = LedgerClient::new(&ledger_url);
        for event in events {
            let client = client.clone();
            let event_id = event.event_id.clone();
            let status = tokio::task::spawn_blocking(move || {
                client.wait_for_decision(&event_id, Duration::from_secs(10))
            })
            .await??;
            println!("{} ({}): {status}", event.event_id, event.kind);
        }
    }
    Ok(())
}
