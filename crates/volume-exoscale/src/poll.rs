//! How operations are waited for: [`OperationPolling`].

use std::time::Duration;

/// How [`Exoscale`](crate::Exoscale) polls `GET /v2/operation/{id}` until an
/// operation leaves `pending`.
///
/// The default is the cadence of Exoscale's own clients (egoscale's
/// `Client.Wait`, python-exoscale's `wait`): the first poll 3 s after the
/// operation was accepted, then every 3 s for the first 30 s, then an
/// interval that grows linearly to 60 s at 15 minutes; unlike theirs, the
/// wait is bounded, by [`max_wait`](Self::max_wait) (15 minutes by default),
/// after which the client returns [`Error::Timeout`](volume_core::Error::Timeout)
/// (the operation itself may still finish). Polls that fail with a
/// retryable error (429, 5xx, transport) are retried by the transport and
/// then polled through, up to [`max_poll_errors`](Self::max_poll_errors)
/// in a row (5, as egoscale).
///
/// ```
/// use std::time::Duration;
/// use volume_exoscale::OperationPolling;
///
/// let p = OperationPolling::default();
/// assert_eq!(p.interval_at(Duration::ZERO), Duration::from_secs(3));
/// assert_eq!(p.interval_at(Duration::from_secs(900)), Duration::from_secs(60));
/// // Quick polls for a local fake.
/// let quick = OperationPolling::fixed(Duration::from_millis(10), Duration::from_secs(30));
/// assert_eq!(quick.interval_at(Duration::from_secs(20)), Duration::from_millis(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationPolling {
    /// The interval at first, and the shortest.
    pub min_interval: Duration,
    /// The longest interval.
    pub max_interval: Duration,
    /// How long polls stay at `min_interval` before they slow down.
    pub ramp_start: Duration,
    /// When (since the wait began) the interval reaches `max_interval`.
    pub ramp_end: Duration,
    /// How long to wait for one operation in all.
    pub max_wait: Duration,
    /// How many polls in a row may fail (with a retryable error) before the
    /// wait gives up with the last error.
    pub max_poll_errors: u32,
}

impl Default for OperationPolling {
    /// Exoscale's cadence (3 s, growing after 30 s to 60 s at 15 min),
    /// bounded at 15 minutes.
    fn default() -> Self {
        Self {
            min_interval: Duration::from_secs(3),
            max_interval: Duration::from_secs(60),
            ramp_start: Duration::from_secs(30),
            ramp_end: Duration::from_secs(900),
            max_wait: Duration::from_secs(900),
            max_poll_errors: 5,
        }
    }
}

impl OperationPolling {
    /// Polls every `interval`, for at most `max_wait`.
    pub fn fixed(interval: Duration, max_wait: Duration) -> Self {
        Self {
            min_interval: interval,
            max_interval: interval,
            max_wait,
            ..Self::default()
        }
    }

    /// Sets [`max_wait`](Self::max_wait).
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Sets [`max_poll_errors`](Self::max_poll_errors).
    pub fn with_max_poll_errors(mut self, n: u32) -> Self {
        self.max_poll_errors = n;
        self
    }

    /// The interval after a poll made `elapsed` after the wait began:
    /// `min_interval` until `ramp_start`, then linear to `max_interval` at
    /// `ramp_end`, never outside the two.
    pub fn interval_at(&self, elapsed: Duration) -> Duration {
        let (min, max) = (
            self.min_interval.min(self.max_interval),
            self.max_interval.max(self.min_interval),
        );
        if elapsed <= self.ramp_start || self.ramp_end <= self.ramp_start {
            return if elapsed > self.ramp_start && self.ramp_end <= self.ramp_start {
                max
            } else {
                min
            };
        }
        let span = (self.ramp_end - self.ramp_start).as_secs_f64();
        let progress = ((elapsed - self.ramp_start).as_secs_f64() / span).min(1.0);
        let secs = min.as_secs_f64() + (max - min).as_secs_f64() * progress;
        Duration::from_secs_f64(secs).clamp(min, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_follows_egoscale() {
        let p = OperationPolling::default();
        let s = Duration::from_secs;
        assert_eq!(p.interval_at(s(0)), s(3));
        assert_eq!(p.interval_at(s(30)), s(3));
        // egoscale: a·t + b with a = 57/870, b = 3 − 30a.
        let a = 57.0 / 870.0;
        let at = |t: f64| a * t + (3.0 - 30.0 * a);
        for t in [60u64, 300, 600, 899] {
            let got = p.interval_at(s(t)).as_secs_f64();
            assert!((got - at(t as f64)).abs() < 1e-6, "{t}: {got}");
        }
        assert_eq!(p.interval_at(s(900)), s(60));
        assert_eq!(p.interval_at(s(10_000)), s(60));
        let f = OperationPolling::fixed(Duration::from_millis(5), s(1));
        assert_eq!(f.interval_at(s(500)), Duration::from_millis(5));
    }
}
