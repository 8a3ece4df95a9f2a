//! Publish every row of a CSV file (columns as in docs/EMITTERS.md), stopping at the first bad
//! row with its number and column.
//!
//! ```text
//! cargo run -p covenant-emit --example publish_csv -- nats://127.0.0.1:4222 dcms.key events.csv
//! ```

use covenant_emit::build::{Speaker, now_ms};
use covenant_emit::emitter::{Emitter, EmitterConfig};
use covenant_emit::keys::KeyFile;
use covenant_emit::rows;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [nats_url, key_file, csv_file] = arguments.as_slice() else {
        return Err("usage: publish_csv NATS_URL KEY_FILE CSV_FILE".into());
    };
    let key = KeyFile::read(key_file.as_ref())?;
    let actor = key.actor.clone().ok_or("the key file names no actor")?;
    let speaker = Speaker::new(actor, key.key_id_or_suggested(), key.signer())?;

    let now = now_ms();
    let events = rows::read_csv(&std::fs::read(csv_file)?)?
        .iter()
        .map(|row| rows::seal_row(&speaker, row, now))
        .collect::<Result<Vec<_>, _>>()?;
    let emitter = Emitter::open(EmitterConfig::new(nats_url.as_str(), "outbox")).await?;
    let receipts = emitter.emit_all(&events).await?;
    let fresh = receipts.iter().filter(|receipt| !receipt.duplicate).count();
    println!("{} events stored ({fresh} new)", receipts.len());
    Ok(())
}
