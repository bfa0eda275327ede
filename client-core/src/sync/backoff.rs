//! When the machine tries a request again: which failures are worth another attempt, and how
//! long to wait before it.
//!
//! Waits grow exponentially with "equal jitter" (half of each wait fixed, half random), so they
//! grow for sure while many devices coming back at once after an outage do not retry in
//! lockstep. The randomness is a small generator seeded by whoever builds the machine, so a
//! test with a fixed seed sees the same schedule every run.

use std::time::Duration;

/// Why a request got no usable answer, as the transport classifies its own error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No complete answer: refused, cut, timed out, or a body cut short.
    Network,
    /// The server (or a proxy in front of it) answered with an error status.
    Server {
        status: u16,
        code: String,
        message: String,
    },
    /// A complete answer that is not what the protocol says.
    Protocol(String),
}

impl Failure {
    /// Whether trying the same request again may succeed: the network failed, or the server is
    /// overloaded or restarting.
    pub fn is_transient(&self) -> bool {
        match self {
            Failure::Network => true,
            Failure::Server { status, .. } => matches!(status, 408 | 429 | 500..=599),
            Failure::Protocol(_) => false,
        }
    }
}

/// The retry schedule of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first wait.
    pub first: Duration,
    /// No wait is longer than this.
    pub max: Duration,
    /// Retries after the first attempt; then the failure ends the sync.
    pub retries: u32,
}

impl Backoff {
    /// About 12 s of retrying in all (at most 16 s), then the sync reports the network error and
    /// the next sync resumes where this one stopped.
    pub const DEFAULT: Backoff = Backoff {
        first: Duration::from_millis(250),
        max: Duration::from_secs(8),
        retries: 6,
    };

    /// The wait before retry number `retry` (0 for the first retry), given `draw`, a random
    /// number in `[0, 1)`.
    pub fn delay(&self, retry: u32, draw: f64) -> Duration {
        let ceiling = self
            .first
            .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
            .min(self.max);
        let half = ceiling / 2;
        half + half.mul_f64(draw.clamp(0.0, 1.0))
    }
}

/// Uniform draws in `[0, 1)` from a seed (SplitMix64): jitter needs spread, not secrecy.
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn draw(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits fill an f64's mantissa exactly.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_waits_grow_to_the_cap_and_stay_within_their_jitter() {
        let b = Backoff::DEFAULT;
        let ceilings = [250, 500, 1000, 2000, 4000, 8000, 8000, 8000];
        for (retry, ceiling) in (0u32..).zip(ceilings) {
            let ceiling = Duration::from_millis(ceiling);
            assert_eq!(b.delay(retry, 0.0), ceiling / 2, "retry {retry}");
            assert_eq!(b.delay(retry, 1.0), ceiling, "retry {retry}");
            let mid = b.delay(retry, 0.5);
            assert!(mid > ceiling / 2 && mid < ceiling, "retry {retry}: {mid:?}");
        }
        // Far past the cap the doubling must not overflow.
        assert_eq!(b.delay(200, 1.0), b.max);
        assert_eq!(b.delay(u32::MAX, 0.0), b.max / 2);
    }

    #[test]
    fn the_whole_retry_budget_is_bounded() {
        let b = Backoff::DEFAULT;
        let worst: Duration = (0..b.retries).map(|r| b.delay(r, 1.0)).sum();
        let best: Duration = (0..b.retries).map(|r| b.delay(r, 0.0)).sum();
        assert_eq!(worst, Duration::from_millis(15_750));
        assert_eq!(best, worst / 2);
    }

    #[test]
    fn jitter_draws_are_in_the_unit_interval_spread_and_repeatable() {
        let mut jitter = Jitter::new(7);
        let draws: Vec<f64> = (0..1000).map(|_| jitter.draw()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let low = draws.iter().filter(|d| **d < 0.5).count();
        assert!((350..650).contains(&low), "{low} of 1000 below 0.5");
        let mut again = Jitter::new(7);
        assert_eq!(again.draw(), draws[0]);
        assert_ne!(Jitter::new(8).draw(), draws[0]);
    }

    #[test]
    fn only_network_failures_and_overload_are_retried() {
        let server = |status| Failure::Server {
            status,
            code: "x".into(),
            message: "x".into(),
        };
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(server(status).is_transient(), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 413, 422] {
            assert!(!server(status).is_transient(), "{status}");
        }
        assert!(Failure::Network.is_transient());
        assert!(!Failure::Protocol("bad body".into()).is_transient());
    }
}
