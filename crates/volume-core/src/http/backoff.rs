//! Jittered exponential backoff, shared by retries and waiters.
//!
//! Uses "decorrelated jitter" (each delay is drawn between the minimum and
//! three times the previous delay, capped at the maximum), which spreads out
//! clients that failed together better than plain exponential backoff.

use std::fmt;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

/// How delays between attempts grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackoffConfig {
    /// The smallest delay, and the first one.
    pub min_delay: Duration,
    /// The largest delay.
    pub max_delay: Duration,
}

impl BackoffConfig {
    /// Delays from `min_delay` up to `max_delay` (swapped if given the wrong way round).
    pub fn new(min_delay: Duration, max_delay: Duration) -> Self {
        Self {
            min_delay: min_delay.min(max_delay),
            max_delay: max_delay.max(min_delay),
        }
    }
}

impl Default for BackoffConfig {
    /// 100 ms to 15 s.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(15))
    }
}

/// A sequence of delays drawn from a [`BackoffConfig`] with an injectable
/// random number generator (seed it in tests for repeatable delays).
pub struct Backoff {
    config: BackoffConfig,
    previous: Option<Duration>,
    rng: Box<dyn RngCore + Send + Sync>,
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backoff")
            .field("config", &self.config)
            .field("previous", &self.previous)
            .finish_non_exhaustive()
    }
}

impl Backoff {
    /// Delays from `config`, jittered by a generator seeded from the OS.
    pub fn new(config: BackoffConfig) -> Self {
        Self::with_rng(config, Box::new(StdRng::from_os_rng()))
    }

    /// Delays from `config`, jittered by a generator seeded with `seed`.
    pub fn seeded(config: BackoffConfig, seed: u64) -> Self {
        Self::with_rng(config, Box::new(StdRng::seed_from_u64(seed)))
    }

    /// Delays from `config`, jittered by `rng`.
    pub fn with_rng(config: BackoffConfig, rng: Box<dyn RngCore + Send + Sync>) -> Self {
        Self {
            config,
            previous: None,
            rng,
        }
    }

    /// The next delay: the minimum first, then a draw between the minimum and
    /// three times the previous delay, never more than the maximum.
    pub fn next_delay(&mut self) -> Duration {
        let min = self.config.min_delay;
        let max = self.config.max_delay;
        let delay = match self.previous {
            None => min,
            Some(prev) => {
                let hi = prev.saturating_mul(3).min(max);
                if hi <= min {
                    min
                } else {
                    let lo_ns = min.as_nanos().min(u128::from(u64::MAX)) as u64;
                    let hi_ns = hi.as_nanos().min(u128::from(u64::MAX)) as u64;
                    Duration::from_nanos(self.rng.random_range(lo_ns..=hi_ns))
                }
            }
        };
        self.previous = Some(delay);
        delay
    }

    /// Starts again from the minimum.
    pub fn reset(&mut self) {
        self.previous = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_bounds_and_grow() {
        let cfg = BackoffConfig::new(Duration::from_millis(100), Duration::from_secs(2));
        let mut b = Backoff::seeded(cfg, 7);
        assert_eq!(b.next_delay(), Duration::from_millis(100));
        let mut max_seen = Duration::ZERO;
        for _ in 0..200 {
            let d = b.next_delay();
            assert!(d >= cfg.min_delay && d <= cfg.max_delay, "{d:?}");
            max_seen = max_seen.max(d);
        }
        assert!(
            max_seen > Duration::from_millis(500),
            "never grew: {max_seen:?}"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_delays() {
        let cfg = BackoffConfig::default();
        let a: Vec<_> = {
            let mut b = Backoff::seeded(cfg, 42);
            (0..10).map(|_| b.next_delay()).collect()
        };
        let mut b = Backoff::seeded(cfg, 42);
        let again: Vec<_> = (0..10).map(|_| b.next_delay()).collect();
        assert_eq!(a, again);
    }

    #[test]
    fn a_zero_range_is_fine() {
        let mut b = Backoff::seeded(BackoffConfig::new(Duration::ZERO, Duration::ZERO), 1);
        assert_eq!(b.next_delay(), Duration::ZERO);
        assert_eq!(b.next_delay(), Duration::ZERO);
    }
}
