//! Prose for benchmarks: text shaped like what governments write, so that what the store
//! compresses and the projections index is as varied as real commitments, not one sentence
//! repeated. The sentences are the demo's own commitments, actions and outcomes
//! (`prose.txt`, one per line), picked in an order fixed by a seed.

const SENTENCES: &str = include_str!("prose.txt");

/// At most `bytes` bytes of sentences picked by `seed` (the same seed gives the same text),
/// as many whole sentences as fit, then the start of one more.
pub fn prose(seed: u64, bytes: usize) -> String {
    static LINES: std::sync::OnceLock<Vec<&str>> = std::sync::OnceLock::new();
    let sentences = LINES.get_or_init(|| SENTENCES.lines().collect());
    let mut state = seed;
    let mut out = String::with_capacity(bytes);
    while out.len() < bytes {
        if !out.is_empty() {
            out.push(' ');
        }
        let pick = splitmix64(&mut state) % sentences.len() as u64;
        out.push_str(sentences[pick as usize]);
    }
    let mut end = bytes;
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

/// `bytes` bytes that do not compress, as a signature's or a hash's do, fixed by `seed`.
pub fn noise(seed: u64, bytes: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(bytes + 8);
    while out.len() < bytes {
        out.extend_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    out.truncate(bytes);
    out
}

/// SplitMix64: a fixed, well-mixed sequence from a seed, without a dependency.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    // Paths, not a glob import: the store's benchmarks include this file too, and build it
    // without its tests.
    #[test]
    fn prose_has_the_length_asked_and_depends_on_the_seed_alone() {
        for bytes in [0, 1, 80, 333, 2_000] {
            assert_eq!(super::prose(7, bytes).len(), bytes);
        }
        assert_eq!(super::prose(7, 400), super::prose(7, 400));
        assert_ne!(super::prose(7, 400), super::prose(8, 400));
        let text = super::prose(7, 2_000);
        let sentences: std::collections::BTreeSet<&str> = text.split(". ").collect();
        assert!(sentences.len() > 5, "many different sentences: {text}");
    }

    #[test]
    fn noise_has_the_length_asked_and_does_not_repeat() {
        assert_eq!(super::noise(1, 64).len(), 64);
        assert_eq!(super::noise(1, 3).len(), 3);
        assert_eq!(super::noise(1, 64), super::noise(1, 64));
        assert_ne!(super::noise(1, 64), super::noise(2, 64));
        let distinct: std::collections::BTreeSet<u8> = super::noise(1, 64).into_iter().collect();
        assert!(distinct.len() > 40);
    }
}
