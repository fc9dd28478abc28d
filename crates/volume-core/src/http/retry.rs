//! When to try a failed request again, and after how long.
//!
//! [`Error::is_retryable`] says which errors are worth another attempt (rate
//! limits, HTTP 408 and 5xx, transport failures). [`retry_delay`] adds the
//! rules that depend on the request and on the attempts so far:
//!
//! - a request that is not idempotent (a create) is only repeated when it
//!   provably did not take effect: the provider said 429, or the connection
//!   could not be made. A 5xx or a time-out on it is returned at once, marked
//!   "outcome unknown", because repeating it could create a second volume;
//! - a `Retry-After` from the provider is honoured as given;
//! - retries stop after [`RetryConfig::max_retries`], and before a delay that
//!   would end after [`RetryConfig::retry_timeout`].

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::Method;

use super::backoff::{Backoff, BackoffConfig};
use crate::error::Error;

/// How often, and for how long, failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries after the first attempt (0 turns retries off).
    pub max_retries: u32,
    /// The total time budget: no retry is started whose delay would end
    /// later than this after the first attempt began.
    pub retry_timeout: Duration,
    /// The delays between attempts, when the provider does not say.
    pub backoff: BackoffConfig,
    /// Seeds the jitter, for repeatable delays in tests; `None` seeds from the OS.
    pub seed: Option<u64>,
}

impl Default for RetryConfig {
    /// 3 retries within 60 s, with the default [`BackoffConfig`].
    fn default() -> Self {
        Self {
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
            backoff: BackoffConfig::default(),
            seed: None,
        }
    }
}

impl RetryConfig {
    /// The defaults: 3 retries within 60 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// No retries at all.
    pub fn none() -> Self {
        Self::default().with_max_retries(0)
    }

    /// Sets [`RetryConfig::max_retries`].
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets [`RetryConfig::retry_timeout`].
    pub fn with_retry_timeout(mut self, retry_timeout: Duration) -> Self {
        self.retry_timeout = retry_timeout;
        self
    }

    /// Sets [`RetryConfig::backoff`].
    pub fn with_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets [`RetryConfig::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// A fresh [`Backoff`] for one request, seeded when [`RetryConfig::seed`] is set.
    pub fn new_backoff(&self) -> Backoff {
        match self.seed {
            Some(seed) => Backoff::seeded(self.backoff, seed),
            None => Backoff::new(self.backoff),
        }
    }
}

/// Whether a method is idempotent by default: GET, HEAD, PUT, DELETE,
/// OPTIONS and TRACE are; POST, PATCH and anything else are not.
///
/// A request can say otherwise (some providers' POST actions, such as
/// "detach", are idempotent): see [`Request::idempotent`](super::Request::idempotent).
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// Whether the failed request cannot have taken effect, so that even a
/// create may be sent again: the provider answered 429, or the connection
/// failed before anything was sent.
fn provably_without_effect(error: &Error) -> bool {
    match error {
        Error::RateLimited { .. } => true,
        Error::Transport {
            outcome_unknown,
            timed_out,
            ..
        } => !*outcome_unknown && !*timed_out,
        other => other.status() == Some(429),
    }
}

/// Decides whether to retry after a failed attempt, and how long to wait first.
///
/// - `error`: what the attempt ended with;
/// - `idempotent`: whether sending the request twice is as good as once;
/// - `attempt`: the number of the attempt that just failed, 1 for the first;
/// - `elapsed`: the time since the first attempt began;
/// - `backoff`: the request's delay sequence (advanced when it is used).
///
/// Returns `None` when the error is final: not retryable
/// ([`Error::is_retryable`]), a non-idempotent request that may have taken
/// effect, `max_retries` reached, or a delay that would run past
/// `retry_timeout`. The delay is the provider's `Retry-After` when it gave
/// one, the next backoff delay otherwise.
///
/// ```
/// use std::time::Duration;
/// use volume_core::http::{retry_delay, RetryConfig};
/// use volume_core::{ApiError, Error};
///
/// let config = RetryConfig::default();
/// let mut backoff = config.new_backoff();
/// let busy = Error::Api(Box::new(ApiError::new("p", 503, "busy")));
/// // A GET is retried, a create is not.
/// assert!(retry_delay(&busy, true, 1, Duration::ZERO, &config, &mut backoff).is_some());
/// assert!(retry_delay(&busy, false, 1, Duration::ZERO, &config, &mut backoff).is_none());
/// ```
pub fn retry_delay(
    error: &Error,
    idempotent: bool,
    attempt: u32,
    elapsed: Duration,
    config: &RetryConfig,
    backoff: &mut Backoff,
) -> Option<Duration> {
    if attempt > config.max_retries || !error.is_retryable() {
        return None;
    }
    if !idempotent && !provably_without_effect(error) {
        return None;
    }
    let delay = match error.retry_after() {
        Some(after) => after,
        None => backoff.next_delay(),
    };
    if elapsed.saturating_add(delay) > config.retry_timeout {
        return None;
    }
    Some(delay)
}

/// The `Retry-After` header as a delay: whole seconds, or an HTTP date
/// (a date in the past means "now").
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after_value(value, SystemTime::now())
}

pub(crate) fn parse_retry_after_value(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn api(status: u16) -> Error {
        Error::Api(Box::new(ApiError::new("p", status, "m")))
    }

    fn transport(outcome_unknown: bool, timed_out: bool) -> Error {
        Error::Transport {
            message: "x".into(),
            outcome_unknown,
            timed_out,
            source: None,
        }
    }

    fn fixed(max_retries: u32, timeout_s: u64) -> RetryConfig {
        RetryConfig::default()
            .with_max_retries(max_retries)
            .with_retry_timeout(Duration::from_secs(timeout_s))
            .with_backoff(BackoffConfig::new(
                Duration::from_secs(1),
                Duration::from_secs(1),
            ))
            .with_seed(1)
    }

    fn decide(e: &Error, idempotent: bool) -> Option<Duration> {
        let c = fixed(3, 60);
        retry_delay(e, idempotent, 1, Duration::ZERO, &c, &mut c.new_backoff())
    }

    #[test]
    fn idempotent_requests_retry_what_is_retryable() {
        let limited = Error::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
            api: None,
        };
        assert_eq!(decide(&limited, true), Some(Duration::from_secs(7)));
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(decide(&api(s), true), Some(Duration::from_secs(1)), "{s}");
        }
        assert!(decide(&transport(false, false), true).is_some());
        assert!(decide(&transport(false, true), true).is_some());
        for s in [400, 401, 403, 404, 409, 422] {
            assert_eq!(decide(&api(s), true), None, "{s}");
        }
        assert_eq!(
            decide(&Error::not_found(crate::ResourceKind::Volume, "v"), true),
            None
        );
    }

    #[test]
    fn non_idempotent_requests_retry_only_what_cannot_have_happened() {
        let limited = Error::RateLimited {
            retry_after: None,
            api: None,
        };
        assert!(decide(&limited, false).is_some());
        assert!(decide(&api(429), false).is_some());
        // Connect error: nothing was sent.
        assert!(decide(&transport(false, false), false).is_some());
        // Sent, then lost or timed out: never repeated.
        assert_eq!(decide(&transport(true, false), false), None);
        assert_eq!(decide(&transport(true, true), false), None);
        assert_eq!(decide(&transport(false, true), false), None);
        for s in [408, 500, 503] {
            assert_eq!(decide(&api(s), false), None, "{s}");
        }
    }

    #[test]
    fn retries_stop_at_max_retries_and_at_the_budget() {
        let c = fixed(2, 60);
        let mut b = c.new_backoff();
        let e = api(503);
        assert!(retry_delay(&e, true, 1, Duration::ZERO, &c, &mut b).is_some());
        assert!(retry_delay(&e, true, 2, Duration::ZERO, &c, &mut b).is_some());
        assert!(retry_delay(&e, true, 3, Duration::ZERO, &c, &mut b).is_none());

        let c = fixed(100, 10);
        let mut b = c.new_backoff();
        assert!(retry_delay(&e, true, 1, Duration::from_secs(9), &c, &mut b).is_some());
        assert!(retry_delay(&e, true, 1, Duration::from_millis(9_001), &c, &mut b).is_none());
        let long = Error::RateLimited {
            retry_after: Some(Duration::from_secs(11)),
            api: None,
        };
        assert!(retry_delay(&long, true, 1, Duration::ZERO, &c, &mut b).is_none());
        assert!(RetryConfig::none().max_retries == 0);
        let c = RetryConfig::none();
        assert!(retry_delay(&e, true, 1, Duration::ZERO, &c, &mut c.new_backoff()).is_none());
    }

    #[test]
    fn idempotency_defaults_from_the_method() {
        for m in [
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ] {
            assert!(is_idempotent(&m), "{m}");
        }
        for m in [Method::POST, Method::PATCH, Method::CONNECT] {
            assert!(!is_idempotent(&m), "{m}");
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after_value("2", now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after_value(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after_value(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after_value(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after_value("soon", now), None);
        assert_eq!(parse_retry_after_value("-1", now), None);
        assert_eq!(parse_retry_after_value("", now), None);

        let mut h = HeaderMap::new();
        assert_eq!(parse_retry_after(&h), None);
        h.insert(RETRY_AFTER, "5".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(5)));
    }
}
