//! A per-source rate limit: a token bucket per client address.
//!
//! Each source (an IPv4 address, or an IPv6 /64, which one client usually holds whole) may
//! make [`RateLimit::burst`] requests at once and then [`RateLimit::per_second`] on average. A
//! request over the limit is told when to come back (429 with `Retry-After`). Memory is
//! bounded: at most [`MAX_SOURCES`] buckets are kept, and when that many are live the buckets
//! that have refilled (sources that have gone quiet) are dropped first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most sources tracked at once.
pub const MAX_SOURCES: usize = 100_000;

/// How many requests a source may make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed at once after a quiet spell.
    pub burst: u32,
}

impl Default for RateLimit {
    /// 50 envelopes a second per source, 200 at once: far above what one emitter's system sends
    /// by HTTPS (batch loads go through NATS), far below what fills a disk.
    fn default() -> Self {
        Self {
            per_second: 50.0,
            burst: 200,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets by source.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Take one request from `source`'s bucket at `now`; when it is empty, how long until it
    /// holds one again.
    pub fn check(&self, source: IpAddr, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst.max(1));
        let rate = self.limit.per_second.max(f64::MIN_POSITIVE);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = source_key(source);
        if !buckets.contains_key(&key) && buckets.len() >= MAX_SOURCES {
            forget_quiet_sources(&mut buckets, now, burst, rate);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

/// One client: an IPv4 address, or the /64 network of an IPv6 address.
fn source_key(source: IpAddr) -> IpAddr {
    match source {
        IpAddr::V4(_) => source,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

fn forget_quiet_sources(
    buckets: &mut HashMap<IpAddr, Bucket>,
    now: Instant,
    burst: f64,
    rate: f64,
) {
    buckets.retain(|_, bucket| {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens + elapsed * rate < burst
    });
    if buckets.len() >= MAX_SOURCES {
        // Every tracked source is busy: start again rather than grow without bound.
        buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_burst_then_its_rate() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 10.0,
            burst: 3,
        });
        let source: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(source, start).is_ok());
        }
        let wait = limiter.check(source, start).unwrap_err();
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert!(limiter.check(other, start).is_ok(), "sources are separate");
        assert!(
            limiter
                .check(source, start + Duration::from_millis(100))
                .is_ok()
        );
        assert!(
            limiter
                .check(source, start + Duration::from_millis(100))
                .is_err()
        );
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 1.0,
            burst: 1,
        });
        let now = Instant::now();
        assert!(limiter.check("2001:db8::1".parse().unwrap(), now).is_ok());
        assert!(limiter.check("2001:db8::2".parse().unwrap(), now).is_err());
        assert!(
            limiter
                .check("2001:db8:0:1::1".parse().unwrap(), now)
                .is_ok()
        );
    }

    #[test]
    fn memory_is_bounded() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 1.0,
            burst: 1,
        });
        let now = Instant::now();
        for n in 0..(MAX_SOURCES as u32 + 10) {
            let _ = limiter.check(IpAddr::V4(n.into()), now);
        }
        assert!(limiter.buckets.lock().unwrap().len() <= MAX_SOURCES);
    }
}
