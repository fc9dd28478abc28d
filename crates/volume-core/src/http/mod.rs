//! The HTTP layer every provider crate uses.
//!
//! Five providers, one way of talking HTTP: the same URL encoding (an id is
//! always exactly one path segment), the same retry rules (never blindly
//! repeat a create), the same redaction of credentials, and the same
//! mapping of answers to [`Error`](crate::Error). A provider crate describes
//! a [`Request`], sends it through its [`Transport`], and supplies only what
//! is its own: the base URL, an [`Authenticate`] implementation and an
//! [`ErrorMapper`] for its error bodies.
//!
//! - [`transport`]: [`Transport`] and its builder, error mapping.
//! - [`request`]: [`Request`] (what to send) and [`Response`] (what came back).
//! - [`auth`]: the [`Authenticate`] hook and the bearer, header, signing and
//!   refreshing-token authenticators.
//! - [`retry`]: [`RetryConfig`] and [`retry_delay`], the retry decision.
//! - [`backoff`]: jittered exponential backoff (also used by waiters).
//! - [`secret`]: [`Secret`], a credential that prints `******`.
//! - [`pagination`]: a page fetcher turned into a lazy `Stream`.
//!
//! ```no_run
//! use volume_core::http::{HeaderAuth, Request, Secret, Transport};
//! use volume_core::ResourceKind;
//!
//! # async fn demo(token: Secret) -> volume_core::Result<()> {
//! let cinder = Transport::builder("cinder", url::Url::parse("https://cinder:8776/v3/project/").unwrap())
//!     .auth(HeaderAuth::new("X-Auth-Token", token)?)
//!     .error_mapper(|ctx| {
//!         // A provider reads its own error body here; this one keeps the default.
//!         ctx.default_error()
//!     })
//!     .build()?;
//! let response = cinder
//!     .send(Request::delete(["volumes", "6f1c..."]).about(ResourceKind::Volume, "6f1c..."))
//!     .await?;
//! assert!(response.status().is_success());
//! # Ok(()) }
//! ```

pub mod auth;
pub mod backoff;
pub mod options;
pub mod pagination;
mod path;
pub mod request;
pub mod retry;
pub mod secret;
pub mod transport;

pub use auth::{
    AuthHeaders, AuthRequest, Authenticate, BearerToken, HeaderAuth, RefreshingToken, Signer,
    Token, TokenSource,
};
pub use backoff::{Backoff, BackoffConfig};
pub use options::ClientOptions;
pub use pagination::{paginate, paginate_links};
pub use path::redact_url;
pub use request::{Request, Response};
pub use retry::{is_idempotent, parse_retry_after, retry_delay, RetryConfig};
pub use secret::Secret;
pub use transport::{
    default_error_mapper, ErrorContext, ErrorMapper, ResponseClassifier, Transport,
    TransportBuilder, DEFAULT_TIMEOUT, REQUEST_ID_HEADERS, USER_AGENT_PREFIX,
};

// The HTTP types in this API, so provider crates need no direct dependency.
pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
pub use reqwest::Client as HttpClient;
pub use reqwest::{Method, StatusCode};
pub use url::Url;
