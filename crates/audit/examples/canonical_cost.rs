//! What the canonical-encoding rule (docs/SPEC.md 2.2) costs every door: the re-encode and
//! compare inside `covenant_core::event::decode`, against the whole decode, over the sample
//! log's envelopes; medians of 7 passes in one run (BENCHMARKS.md, "Canonical encoding").
//!
//! `cargo run --release -p covenant-audit --example canonical_cost`

use covenant_core::entry::envelope_of;
use covenant_core::proto::{Envelope, EventBody};
use covenant_testkit::sample;
use prost::Message;
use std::time::Instant;

fn main() {
    let entries = sample::entries(20_000, 8);
    let envelopes: Vec<&[u8]> = entries.iter().skip(1).map(|e| envelope_of(e)).collect();
    let mut decode_ns = vec![];
    let mut check_ns = vec![];
    for _ in 0..7 {
        let start = Instant::now();
        for bytes in &envelopes {
            std::hint::black_box(covenant_core::event::decode(bytes).unwrap());
        }
        decode_ns.push(start.elapsed().as_nanos() as f64 / envelopes.len() as f64);
        let decoded: Vec<(Envelope, EventBody)> = envelopes
            .iter()
            .map(|b| {
                let e = Envelope::decode(*b).unwrap();
                let body = EventBody::decode(e.body.as_slice()).unwrap();
                (e, body)
            })
            .collect();
        let start = Instant::now();
        for ((envelope, body), bytes) in decoded.iter().zip(&envelopes) {
            std::hint::black_box(envelope.encode_to_vec() == *bytes);
            std::hint::black_box(body.encode_to_vec() == envelope.body);
        }
        check_ns.push(start.elapsed().as_nanos() as f64 / envelopes.len() as f64);
    }
    decode_ns.sort_by(f64::total_cmp);
    check_ns.sort_by(f64::total_cmp);
    let (d, c) = (decode_ns[3], check_ns[3]);
    let size: usize = envelopes.iter().map(|e| e.len()).sum::<usize>() / envelopes.len();
    println!("envelopes: {} of {size} bytes on average", envelopes.len());
    println!("decode (with the canonical check), median of 7: {d:.0} ns/envelope");
    println!(
        "canonical re-encode + compare alone, median of 7: {c:.0} ns/envelope ({:.2} of decode)",
        c / d
    );
}
