//! [`ClientOptions`]: the HTTP settings every provider builder holds once.
//!
//! Time-out, retries (and their backoff), the `User-Agent` suffix, the
//! paused-clock test mode and an optional caller-supplied `reqwest::Client`
//! are the same for every provider, so a builder keeps one `ClientOptions`
//! and hands it to [`TransportBuilder::client_options`](super::TransportBuilder::client_options) in one call. The
//! builder's shortcut setters (`with_timeout`, `with_retry`, ...) are
//! written once, by [`client_options_setters!`](crate::client_options_setters).

use std::fmt;
use std::time::Duration;

use super::answer::DEFAULT_MAX_RESPONSE_BYTES;
use super::backoff::BackoffConfig;
use super::retry::RetryConfig;
use super::transport::DEFAULT_TIMEOUT;

/// HTTP settings shared by every provider client: what
/// [`TransportBuilder::client_options`](super::TransportBuilder::client_options)
/// applies to a transport.
///
/// ```
/// use std::time::Duration;
/// use volume_core::http::{ClientOptions, RetryConfig};
///
/// let options = ClientOptions::new()
///     .with_timeout(Duration::from_secs(30))
///     .with_retry(RetryConfig::default().with_max_retries(5))
///     .with_user_agent_suffix("my-tool/1.0");
/// assert_eq!(options.timeout(), Some(Duration::from_secs(30)));
/// assert_eq!(options.retry().max_retries, 5);
/// // In paused-clock mode there is no time-out unless one is set explicitly.
/// assert_eq!(ClientOptions::new().for_paused_clock().timeout(), None);
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct ClientOptions {
    timeout: Option<Duration>,
    retry: RetryConfig,
    user_agent_suffix: Option<String>,
    paused_clock: bool,
    http_client: Option<reqwest::Client>,
    /// `None`: [`DEFAULT_MAX_RESPONSE_BYTES`].
    max_response_bytes: Option<usize>,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("timeout", &self.timeout())
            .field("retry", &self.retry)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("paused_clock", &self.paused_clock)
            .field("http_client", &self.http_client.is_some())
            .field("max_response_bytes", &self.max_response_bytes())
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// The defaults: 60 s per attempt, [`RetryConfig::default`], no suffix,
    /// a new HTTP client per transport.
    pub fn new() -> Self {
        Self::default()
    }

    /// The time-out of each attempt of a request (60 s by default). It
    /// applies even in [paused-clock mode](Self::for_paused_clock), whichever
    /// was set first.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How failed requests are retried ([`RetryConfig::default`] by
    /// default; [`RetryConfig::none`] turns retries off).
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The delays between retries, keeping the rest of the retry settings.
    pub fn with_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.retry = self.retry.with_backoff(backoff);
        self
    }

    /// Appended to the `User-Agent` after a space: `volume-rs/<version> <suffix>`.
    pub fn with_user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// Settings for tests under `#[tokio::test(start_paused = true)]`: no
    /// per-attempt time-out (unless [`with_timeout`](Self::with_timeout) sets
    /// one) and no connection-pool timer, so that tokio's auto-advancing
    /// clock moves only for the sleeps between retries. See
    /// [`TransportBuilder::for_paused_clock`](super::TransportBuilder::for_paused_clock).
    pub fn for_paused_clock(mut self) -> Self {
        self.paused_clock = true;
        self
    }

    /// Sends through `client` (and its connection pool) instead of a new
    /// one. Its own settings apply: configure it not to follow redirects, so
    /// that credentials are never sent to another host.
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// The largest answer a client reads, in bytes (16 MiB by default): a
    /// successful answer over it fails with [`Error::Decode`](crate::Error::Decode)
    /// instead of taking that much memory, and of an error answer only the
    /// first 64 KiB are read.
    pub fn with_max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = Some(max);
        self
    }

    /// The largest answer a client reads, in bytes.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
            .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES)
    }

    /// The per-attempt time-out in force: the one set, or none in
    /// paused-clock mode, or [`DEFAULT_TIMEOUT`].
    pub fn timeout(&self) -> Option<Duration> {
        match (self.timeout, self.paused_clock) {
            (Some(timeout), _) => Some(timeout),
            (None, true) => None,
            (None, false) => Some(DEFAULT_TIMEOUT),
        }
    }

    /// The retry settings.
    pub fn retry(&self) -> &RetryConfig {
        &self.retry
    }

    /// The `User-Agent` suffix, when one is set.
    pub fn user_agent_suffix(&self) -> Option<&str> {
        self.user_agent_suffix.as_deref()
    }

    /// Whether paused-clock mode is on.
    pub fn is_paused_clock(&self) -> bool {
        self.paused_clock
    }

    /// The caller-supplied HTTP client, when there is one.
    pub fn http_client(&self) -> Option<&reqwest::Client> {
        self.http_client.as_ref()
    }
}

/// Writes a provider builder's [`ClientOptions`] setters once, as
/// documented inherent methods over one field of that type, so that
/// `LinodeBuilder::new().with_timeout(..)` works without an import and no
/// two builders repeat them.
///
/// It expands to `with_client_options`, `client_options`, `with_timeout`,
/// `with_retry`, `with_backoff`, `with_user_agent_suffix`,
/// `with_http_client` and `for_paused_clock`. Use it inside the builder's
/// `impl` block, naming the field:
///
/// ```
/// use volume_core::http::ClientOptions;
///
/// /// Configures a client of an example provider.
/// #[derive(Debug, Clone, Default)]
/// pub struct ExampleBuilder {
///     options: ClientOptions,
/// }
///
/// impl ExampleBuilder {
///     volume_core::client_options_setters!(options);
/// }
///
/// let b = ExampleBuilder::default().with_timeout(std::time::Duration::from_secs(5));
/// assert_eq!(b.client_options().timeout(), Some(std::time::Duration::from_secs(5)));
/// ```
#[macro_export]
macro_rules! client_options_setters {
    ($field:ident) => {
        /// Replaces every HTTP setting (time-out, retries, `User-Agent`
        /// suffix, paused clock, HTTP client) at once.
        pub fn with_client_options(mut self, options: $crate::http::ClientOptions) -> Self {
            self.$field = options;
            self
        }

        /// The HTTP settings the client will be built with.
        pub fn client_options(&self) -> &$crate::http::ClientOptions {
            &self.$field
        }

        /// The time-out of each attempt of a request (60 s by default); it
        /// applies even after `for_paused_clock`.
        pub fn with_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.$field = self.$field.with_timeout(timeout);
            self
        }

        /// How failed requests are retried: 429s always (after their
        /// `Retry-After`), 5xx and transport failures only for requests
        /// that are safe to repeat, never a create blindly. The default
        /// `RetryConfig` retries 3 times within 60 s; `RetryConfig::none()`
        /// turns retries off.
        pub fn with_retry(mut self, retry: $crate::http::RetryConfig) -> Self {
            self.$field = self.$field.with_retry(retry);
            self
        }

        /// The delays between retries, keeping the rest of the retry settings.
        pub fn with_backoff(mut self, backoff: $crate::http::BackoffConfig) -> Self {
            self.$field = self.$field.with_backoff(backoff);
            self
        }

        /// Appended to the `User-Agent`: `volume-rs/<version> <suffix>`.
        pub fn with_user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
            self.$field = self.$field.with_user_agent_suffix(suffix);
            self
        }

        /// Sends through `client` (and its connection pool) instead of a
        /// new one; configure it not to follow redirects, so that
        /// credentials never reach another host.
        pub fn with_http_client(mut self, client: $crate::http::HttpClient) -> Self {
            self.$field = self.$field.with_http_client(client);
            self
        }

        /// The largest answer read, in bytes (16 MiB by default); a larger
        /// successful answer is an error, not an allocation.
        pub fn with_max_response_bytes(mut self, max: usize) -> Self {
            self.$field = self.$field.with_max_response_bytes(max);
            self
        }

        /// Settings for tests under `#[tokio::test(start_paused = true)]`:
        /// no per-attempt time-out and no connection-pool timer, so that
        /// tokio's auto-advancing clock moves only for the sleeps between
        /// retries. A `with_timeout` (before or after) still applies.
        pub fn for_paused_clock(mut self) -> Self {
            self.$field = self.$field.for_paused_clock();
            self
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default)]
    struct Builder {
        options: ClientOptions,
    }

    // The macro writes `pub` methods, as a provider's public builder wants.
    #[allow(unreachable_pub)]
    impl Builder {
        crate::client_options_setters!(options);
    }

    #[test]
    fn the_setters_write_through_to_the_options() {
        let b = Builder::default()
            .with_timeout(Duration::from_secs(7))
            .for_paused_clock()
            .with_retry(RetryConfig::none())
            .with_backoff(BackoffConfig::new(
                Duration::from_secs(2),
                Duration::from_secs(3),
            ))
            .with_user_agent_suffix("tool/1")
            .with_max_response_bytes(1024);
        let o = b.client_options();
        assert_eq!(o.max_response_bytes(), 1024);
        assert_eq!(o.timeout(), Some(Duration::from_secs(7)));
        assert!(o.is_paused_clock());
        assert_eq!(o.retry().max_retries, 0);
        assert_eq!(o.retry().backoff.min_delay, Duration::from_secs(2));
        assert_eq!(o.user_agent_suffix(), Some("tool/1"));
        assert!(o.http_client().is_none());
        let b = b.with_client_options(ClientOptions::new());
        assert_eq!(b.client_options().timeout(), Some(DEFAULT_TIMEOUT));
        let b = b.with_http_client(reqwest::Client::new());
        assert!(format!("{b:?}").contains("http_client: true"));
    }
}
