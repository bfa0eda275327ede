//! Rate limits on the doors an attacker would knock on: sign-in (per account and per address)
//! and enrollment (per address). A token bucket of failures per key: `capacity` failures at
//! once, one more every `refill`; successes cost nothing. Pure apart from the
//! lock; the clock is passed in so tests need no sleeping.
//!
//! Limits live in process memory: several server processes each enforce their own, which
//! multiplies an attacker's budget by the process count but never blocks a legitimate user.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Keys kept before idle buckets are forgotten, so a flood of addresses cannot grow memory.
const MAX_KEYS: usize = 50_000;

#[derive(Debug)]
pub struct RateLimiter {
    capacity: u32,
    refill: Duration,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(capacity: u32, refill: Duration) -> Self {
        Self {
            capacity,
            refill,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` may try now; if not, how long until it may.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let buckets = self.lock();
        let tokens = buckets.get(key).map_or(f64::from(self.capacity), |b| {
            level(*b, now, self.refill, f64::from(self.capacity))
        });
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(self.refill.mul_f64(1.0 - tokens))
        }
    }

    /// Charges a failed attempt to `key`. Only failures count, so an operator enrolling a whole
    /// Polsek's phones from one address, or a person signing in daily, is never slowed.
    pub fn fail(&self, key: &str, now: Instant) {
        let mut buckets = self.lock();
        let capacity = f64::from(self.capacity);
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let refill = self.refill;
            buckets.retain(|_, b| level(*b, now, refill, capacity) < capacity);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let tokens = level(*bucket, now, self.refill, capacity);
        *bucket = Bucket {
            tokens: (tokens - 1.0).max(0.0),
            at: now,
        };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn level(b: Bucket, now: Instant, refill: Duration, capacity: f64) -> f64 {
    let gained = now.saturating_duration_since(b.at).as_secs_f64() / refill.as_secs_f64();
    (b.tokens + gained).min(capacity)
}

/// The server's limits.
#[derive(Debug)]
pub struct Limits {
    pub login_per_account: RateLimiter,
    pub login_per_address: RateLimiter,
    pub enroll_per_address: RateLimiter,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // Five wrong tries, then one a minute: a forgotten password is fine, guessing is not.
            login_per_account: RateLimiter::new(5, Duration::from_secs(60)),
            login_per_address: RateLimiter::new(20, Duration::from_secs(6)),
            // Ten wrong codes, then one every 30 s: 60-bit codes cannot be guessed at that pace.
            enroll_per_address: RateLimiter::new(10, Duration::from_secs(30)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_open_a_wait_then_one_try_per_refill() {
        let l = RateLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check("87050123", t0).is_ok());
            l.fail("87050123", t0);
        }
        assert_eq!(l.check("87050123", t0), Err(Duration::from_secs(60)));
        // Other keys are untouched.
        assert!(l.check("87050124", t0).is_ok());
        // Half a refill later: still refused, with half the wait left.
        let wait = l
            .check("87050123", t0 + Duration::from_secs(30))
            .expect_err("still refused");
        assert_eq!(wait.as_secs(), 30);
        let later = t0 + Duration::from_secs(61);
        assert!(l.check("87050123", later).is_ok());
        l.fail("87050123", later);
        assert!(l.check("87050123", later).is_err());
    }

    #[test]
    fn idle_keys_are_forgotten_when_the_table_is_full() {
        let l = RateLimiter::new(1, Duration::from_millis(1));
        let t0 = Instant::now();
        for i in 0..MAX_KEYS {
            l.fail(&i.to_string(), t0);
        }
        l.fail("new", t0 + Duration::from_secs(1));
        let size = l.lock().len();
        assert!(size < 10, "{size} buckets kept");
    }
}
