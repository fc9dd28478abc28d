//! The transport: one configured HTTP client per provider client.
//!
//! A [`Transport`] turns a [`Request`] into an HTTP exchange and the answer
//! into a [`Response`] or an [`Error`], so that provider crates only say
//! *what* to send and how their error bodies read. It owns what every
//! provider needs to get the same way: URL building (one encoded segment per
//! id), authentication ([`Authenticate`]), retries ([`retry_delay`]), time-outs,
//! the `User-Agent`, a tracing span per request, redaction of secrets, and
//! turning a non-2xx answer into an [`Error`] through the provider's mapper.
//!
//! Each attempt goes through the same steps, in order:
//!
//! 1. the URL is built on the endpoint in force (the base URL, or the one
//!    the credential came with) from the request's target; a link to
//!    another origin is refused here, before anything is sent;
//! 2. the [`Authenticate`] hook adds headers, may replace the body, and may
//!    move the endpoint (the URL is then rebuilt and authenticated again);
//! 3. the exchange; a 401 renews the credential once and repeats; the body
//!    is read up to a cap ([`TransportBuilder::max_response_bytes`]), and
//!    the credentials this attempt sent are scrubbed out of any body that
//!    may become an error message;
//! 4. the answer is classified: a non-2xx by the [`ErrorMapper`], a 2xx by
//!    the optional [`ResponseClassifier`] (an API that answers errors with
//!    200);
//! 5. an error goes through the one retry decision, [`retry_delay`].
//!
//! # Testing with a paused clock
//!
//! With `#[tokio::test(start_paused = true)]`, tokio moves its clock to the
//! next timer whenever the runtime is idle, and waiting for a socket counts
//! as idle. A request time-out, or the connection pool's idle timer, would
//! then fire while a (real, local) mock server is still answering. Build the
//! transport for such tests with [`TransportBuilder::for_paused_clock`]: no
//! request time-out and no pool timer, so only the sleeps between retries
//! move the clock.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::field::{debug, Empty};
use tracing::Instrument;
use url::Url;

use super::answer::{read_capped, scrub, sensitive_values, ReadError, DEFAULT_MAX_RESPONSE_BYTES};
use super::auth::{AuthHeaders, AuthRequest, Authenticate};
use super::options::ClientOptions;
use super::path::{build_url, check_base_url, resolve_link};
use super::redact_url;
use super::request::{decode_json, Request, Response};
use super::retry::{parse_retry_after, retry_delay, RetryConfig};
use crate::error::{ApiError, Error, ResourceKind, Result};

/// The `User-Agent` every request carries, before the optional suffix.
pub const USER_AGENT_PREFIX: &str = concat!("volume-rs/", env!("CARGO_PKG_VERSION"));

/// Headers that carry a provider's request id, in the order they are looked at.
pub const REQUEST_ID_HEADERS: &[&str] = &[
    "x-request-id",
    "x-openstack-request-id",
    "x-compute-request-id",
    "request-id",
    "x-amzn-requestid",
];

/// The longest provider message kept by the default mapper, in bytes.
const MAX_MESSAGE: usize = 4096;

/// Turns a provider's non-2xx answer into an [`Error`]; see [`ErrorContext`].
pub type ErrorMapper = Arc<dyn Fn(&ErrorContext<'_>) -> Error + Send + Sync>;

/// Looks at a 2xx answer and says whether it is an error after all
/// (LunaNode answers failures as HTTP 200 `{"success":"no",...}`), as
/// smithy's `ClassifyRetry` does. `None` lets the answer through; an error
/// goes through the same retry decision as any other (a `RateLimited` is
/// retried, an `InvalidInput` is not).
pub type ResponseClassifier = Arc<dyn Fn(&ErrorContext<'_>) -> Option<Error> + Send + Sync>;

/// Everything an [`ErrorMapper`] may look at to map a non-2xx answer.
#[derive(Clone)]
#[non_exhaustive]
pub struct ErrorContext<'a> {
    /// The provider, as given to [`Transport::builder`].
    pub provider: &'static str,
    /// The request's method.
    pub method: Method,
    /// The request's path, percent-encoded (no query: it may hold secrets).
    pub path: &'a str,
    /// The answer's status.
    pub status: StatusCode,
    /// The answer's headers.
    pub headers: &'a HeaderMap,
    /// The answer's body.
    pub body: &'a [u8],
    /// The answer's `Retry-After`, as a delay.
    pub retry_after: Option<Duration>,
    /// The provider's request id, from the first of [`REQUEST_ID_HEADERS`] present.
    pub request_id: Option<&'a str>,
    /// What the request was about ([`Request::about`]).
    pub kind: ResourceKind,
    /// The id it was about (empty when not said).
    pub id: &'a str,
    /// Whether the request was idempotent.
    pub idempotent: bool,
}

impl fmt::Debug for ErrorContext<'_> {
    // Header values and the body are left out: they are the provider's, and
    // may echo what was sent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorContext")
            .field("provider", &self.provider)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .field("retry_after", &self.retry_after)
            .field("request_id", &self.request_id)
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("idempotent", &self.idempotent)
            .finish_non_exhaustive()
    }
}

impl<'a> ErrorContext<'a> {
    /// A context for `status`, `headers` and `body`, about nothing in
    /// particular (for unit tests of a mapper).
    pub fn new(
        provider: &'static str,
        status: StatusCode,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Self {
        Self {
            provider,
            method: Method::GET,
            path: "/",
            status,
            headers,
            body,
            retry_after: parse_retry_after(headers),
            request_id: REQUEST_ID_HEADERS
                .iter()
                .find_map(|name| headers.get(*name)?.to_str().ok())
                .map(str::trim)
                .filter(|id| !id.is_empty()),
            kind: ResourceKind::Other,
            id: "",
            idempotent: true,
        }
    }

    /// Says what the request was about.
    pub fn with_about(mut self, kind: ResourceKind, id: &'a str) -> Self {
        self.kind = kind;
        self.id = id;
        self
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.body)
    }

    /// An [`ApiError`] with provider, status and request id filled in.
    pub fn api_error(&self, message: impl Into<String>) -> ApiError {
        let api = ApiError::new(self.provider, self.status.as_u16(), message);
        match self.request_id {
            Some(id) => api.with_request_id(id),
            None => api,
        }
    }

    /// What the default mapper makes of the answer: [`Error::from_status`]
    /// with the body text (trimmed, at most 4 KiB) as the message, or the
    /// status's reason phrase when the body is empty.
    pub fn default_error(&self) -> Error {
        let text = self.body_text();
        let mut message = text.trim().to_owned();
        if message.len() > MAX_MESSAGE {
            let mut end = MAX_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str("...");
        }
        if message.is_empty() {
            message = self
                .status
                .canonical_reason()
                .unwrap_or("no message")
                .to_owned();
        }
        Error::from_status(
            self.api_error(message),
            self.kind,
            self.id,
            self.retry_after,
        )
    }
}

/// The mapper used when a provider gives none: [`ErrorContext::default_error`].
pub fn default_error_mapper(context: &ErrorContext<'_>) -> Error {
    context.default_error()
}

/// What the transport adds to a mapped error: a 429 carries its
/// `Retry-After`, and a non-idempotent request answered by a 5xx or 408 is
/// marked "outcome unknown".
fn finish_error(error: Error, context: &ErrorContext<'_>) -> Error {
    let mut error = match error {
        Error::RateLimited {
            retry_after: None,
            api,
        } => Error::RateLimited {
            retry_after: context.retry_after,
            api,
        },
        Error::Api(api) if api.status == 429 => Error::RateLimited {
            retry_after: context.retry_after,
            api: Some(api),
        },
        other => other,
    };
    let status = context.status.as_u16();
    if !context.idempotent && (status >= 500 || status == 408) {
        if let Some(api) = error.api_mut() {
            api.outcome_unknown = true;
        }
    }
    error
}

/// Whether a failed attempt may have reached the provider and taken
/// effect: a 5xx or 408 answer, or an answer lost after sending.
fn may_have_acted(error: &Error) -> bool {
    match error {
        Error::Transport { source, .. } => !source
            .as_deref()
            .and_then(|s| s.downcast_ref::<reqwest::Error>())
            .is_some_and(|e| e.is_connect() && !e.is_timeout()),
        other => other
            .api()
            .is_some_and(|api| api.status >= 500 || api.status == 408),
    }
}

/// A DELETE repeated after an attempt that may have taken effect, refused
/// as not found or not in a state to delete (400, 404, 405, 409, 410,
/// 422): that attempt may well have done it. Said as "outcome unknown" on
/// the error, so the caller is not told flatly that its delete failed.
fn gone_after_retry(mut error: Error, method: &Method, earlier_may_have_acted: bool) -> Error {
    if earlier_may_have_acted && method == Method::DELETE {
        if let Some(api) = error.api_mut() {
            if matches!(api.status, 400 | 404 | 405 | 409 | 410 | 422) {
                api.outcome_unknown = true;
            }
        }
    }
    error
}

/// A reqwest failure as an [`Error::Transport`], with the URL stripped of
/// secrets and the outcome said.
fn transport_error(error: reqwest::Error, method: &Method, url: &Url, idempotent: bool) -> Error {
    let error = error.without_url();
    let timed_out = error.is_timeout();
    // A connect error means nothing was sent; anything else may have arrived.
    let sent = timed_out || !error.is_connect();
    let mut message = format!("{method} {}: {error}", redact_url(url));
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Transport {
        message,
        outcome_unknown: sent && !idempotent,
        timed_out,
        source: Some(Box::new(error)),
    }
}

struct Inner {
    provider: &'static str,
    base_url: Url,
    /// The endpoint requests are built on: the base URL until a credential
    /// names another ([`AuthHeaders::with_endpoint`]).
    endpoint: std::sync::Mutex<Url>,
    client: reqwest::Client,
    auth: Option<Arc<dyn Authenticate>>,
    retry: RetryConfig,
    timeout: Option<Duration>,
    headers: HeaderMap,
    error_mapper: ErrorMapper,
    classifier: Option<ResponseClassifier>,
    max_response_bytes: usize,
}

/// The URL of `request`'s target on `endpoint`.
fn build_target(endpoint: &Url, request: &Request) -> Result<Url> {
    match request.link_target() {
        Some(link) => resolve_link(endpoint, link, request.query_pairs()),
        None => build_url(
            endpoint,
            request.segments(),
            request.action(),
            request.has_trailing_slash(),
            request.query_pairs(),
        ),
    }
}

/// How many times one attempt may be authenticated when the credential
/// keeps moving the endpoint (a renewal racing this attempt).
const MAX_ENDPOINT_MOVES: usize = 3;

/// The HTTP client a provider crate sends every request through.
///
/// Cheap to clone: clones share one connection pool, authenticator and
/// configuration.
///
/// ```no_run
/// use volume_core::http::{BearerToken, Request, RetryConfig, Secret, Transport};
/// use volume_core::ResourceKind;
///
/// # async fn demo() -> volume_core::Result<()> {
/// let transport = Transport::builder("linode", url::Url::parse("https://api.linode.com/v4/").unwrap())
///     .auth(BearerToken::new(Secret::new("token"))?)
///     .retry(RetryConfig::default().with_max_retries(5))
///     .user_agent_suffix("my-tool/1.0")
///     .build()?;
/// let id = "1234";
/// let volume: serde_json::Value = transport
///     .send_json(Request::get(["volumes", id]).about(ResourceKind::Volume, id))
///     .await?;
/// # let _ = volume; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("provider", &self.inner.provider)
            .field("base_url", &redact_url(&self.inner.base_url))
            .field("endpoint", &redact_url(&self.endpoint()))
            .field("auth", &self.inner.auth)
            .field("retry", &self.inner.retry)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Starts configuring a transport for `provider` (e.g. `"linode"`, used in
    /// errors and traces) at `base_url` (request paths are appended to it).
    pub fn builder(provider: &'static str, base_url: Url) -> TransportBuilder {
        TransportBuilder {
            provider,
            base_url,
            auth: None,
            retry: RetryConfig::default(),
            timeout: Some(DEFAULT_TIMEOUT),
            user_agent_suffix: None,
            error_mapper: None,
            classifier: None,
            client: None,
            headers: Vec::new(),
            paused_clock: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// The provider name.
    pub fn provider(&self) -> &'static str {
        self.inner.provider
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The endpoint requests are built on now: the base URL, or the
    /// endpoint the last credential came with ([`AuthHeaders::with_endpoint`]).
    pub fn endpoint(&self) -> Url {
        self.inner
            .endpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_endpoint(&self, endpoint: Url) {
        *self
            .inner
            .endpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = endpoint;
    }

    /// The retry configuration.
    pub fn retry_config(&self) -> &RetryConfig {
        &self.inner.retry
    }

    /// A transport like this one (same connection pool, authenticator,
    /// mappers, retries and time-out) at another base URL: a client of
    /// another zone or region.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a base URL [`TransportBuilder::build`]
    /// would refuse.
    pub fn with_base_url(&self, base_url: Url) -> Result<Self> {
        check_base_url(&base_url)?;
        let inner = &*self.inner;
        Ok(Self {
            inner: Arc::new(Inner {
                provider: inner.provider,
                endpoint: std::sync::Mutex::new(base_url.clone()),
                base_url,
                client: inner.client.clone(),
                auth: inner.auth.clone(),
                retry: inner.retry,
                timeout: inner.timeout,
                headers: inner.headers.clone(),
                error_mapper: Arc::clone(&inner.error_mapper),
                classifier: inner.classifier.clone(),
                max_response_bytes: inner.max_response_bytes,
            }),
        })
    }

    /// The URL `request` is sent to, on the endpoint in force.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a path segment that cannot be sent as one
    /// (empty, `.` or `..`), an action suffix outside its charset, or a link
    /// that is not on the endpoint's scheme, host and port.
    pub fn url_for(&self, request: &Request) -> Result<Url> {
        build_target(&self.endpoint(), request)
    }

    /// The URL and credentials of one attempt: built on the endpoint in
    /// force, and rebuilt when the credential moves the endpoint, so that
    /// the authenticator always saw the URL that is sent.
    async fn prepare(&self, request: &Request, headers: &HeaderMap) -> Result<(Url, AuthHeaders)> {
        let mut endpoint = self.endpoint();
        let mut url = build_target(&endpoint, request)?;
        let auth = match &self.inner.auth {
            Some(auth) if !request.skips_auth() => auth,
            _ => return Ok((url, AuthHeaders::new())),
        };
        let body = request.body_bytes().unwrap_or_default();
        for _ in 0..MAX_ENDPOINT_MOVES {
            let auth_headers = auth
                .authenticate(&AuthRequest::new(request.method(), &url, headers, body))
                .await?;
            match auth_headers.endpoint() {
                Some(moved) if *moved != endpoint => {
                    check_base_url(moved).map_err(|_| {
                        Error::invalid_input(
                            "endpoint",
                            format!(
                                "the credential's endpoint {} cannot be a base URL",
                                redact_url(moved)
                            ),
                        )
                    })?;
                    tracing::debug!(endpoint = %redact_url(moved), "endpoint from the credential");
                    endpoint = moved.clone();
                    self.set_endpoint(endpoint.clone());
                    url = build_target(&endpoint, request)?;
                }
                _ => return Ok((url, auth_headers)),
            }
        }
        Err(Error::Unauthenticated {
            message: "the credential's endpoint kept changing while the request was signed"
                .to_owned(),
            api: None,
        })
    }

    /// Sends `request`, retrying as configured, and returns the 2xx answer.
    ///
    /// # Errors
    /// - [`Error::InvalidInput`] for a mistake in the request, before anything is sent;
    /// - the provider's error mapped by the [`ErrorMapper`] for a non-2xx answer
    ///   (outcome unknown for a non-idempotent request answered 5xx or 408);
    /// - [`Error::Transport`] when no answer came (outcome unknown when a
    ///   non-idempotent request may have been sent).
    pub async fn send(&self, request: Request) -> Result<Response> {
        request.check()?;
        let url = self.url_for(&request)?;
        let span = tracing::debug_span!(
            "http_request",
            provider = self.inner.provider,
            method = %request.method(),
            path = %url.path(),
            status = Empty,
            attempt = Empty,
            elapsed = Empty,
        );
        self.run(request).instrument(span).await
    }

    /// Sends `request` and decodes the 2xx answer's body as JSON.
    ///
    /// # Errors
    /// As [`Transport::send`], and [`Error::Decode`] (with line and column)
    /// when the body does not fit `T`.
    pub async fn send_json<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        let method = request.method().clone();
        let path = self
            .url_for(&request)
            .map(|url| url.path().to_owned())
            .unwrap_or_default();
        let response = self.send(request).await?;
        decode_json(self.inner.provider, &response.body).map_err(|e| match e {
            Error::Decode { message, source } => Error::Decode {
                message: format!("answer to {method} {path}: {message}"),
                source,
            },
            other => other,
        })
    }

    async fn run(&self, request: Request) -> Result<Response> {
        let inner = &*self.inner;
        let span = tracing::Span::current();
        let method = request.method().clone();
        let idempotent = request.is_idempotent();
        let (kind, id) = request.subject();
        let timeout = request.timeout_override().or(inner.timeout);
        let body: Option<Bytes> = request.body_shared().cloned();
        let mut headers = inner.headers.clone();
        headers.extend(request.headers().clone());

        let start = Instant::now();
        let mut backoff = inner.retry.new_backoff();
        // `attempt` counts towards `max_retries`; `sent` also counts the one
        // replay after a renewed credential.
        let mut attempt: u32 = 0;
        let mut sent: u32 = 0;
        let mut replayed_after_401 = false;
        // Whether an earlier attempt may have taken effect (its answer was
        // a 5xx or 408, or lost after sending): a repeated DELETE that then
        // finds nothing may have been done by that attempt.
        let mut earlier_may_have_acted = false;
        loop {
            attempt += 1;
            sent += 1;
            span.record("attempt", sent);
            let (url, auth_headers) = self.prepare(&request, &headers).await?;
            // The authenticator's headers replace any of the same name.
            let mut all_headers = headers.clone();
            for (name, _) in auth_headers.iter() {
                all_headers.remove(name);
            }
            for (name, value) in auth_headers.iter() {
                all_headers.append(name.clone(), value.clone());
            }
            let mut builder = inner
                .client
                .request(method.clone(), url.clone())
                .headers(all_headers);
            if let Some(body) = auth_headers.body().or(body.as_ref()) {
                builder = builder.body(body.clone());
            }
            if let Some(timeout) = timeout {
                builder = builder.timeout(timeout);
            }
            tracing::trace!(attempt = sent, "sending");
            let outcome = async {
                let mut response = builder.send().await.map_err(ReadError::Transport)?;
                let status = response.status();
                let response_headers = std::mem::take(response.headers_mut());
                let what = || format!("the answer to {method} {}", redact_url(&url));
                let bytes =
                    read_capped(&mut response, status, inner.max_response_bytes, &what).await?;
                Ok::<_, ReadError>((status, response_headers, bytes))
            }
            .await;

            let error = match outcome {
                Ok((status, response_headers, bytes)) => {
                    // Provider text becomes error messages (and log lines):
                    // never with a credential this attempt sent in it.
                    let bytes = if !status.is_success() || inner.classifier.is_some() {
                        // What this attempt sent as sensitive: the
                        // authenticator's headers, and the request's own
                        // with the transport's defaults (`headers`).
                        let sent = auth_headers.iter().map(|(_, v)| v).chain(headers.values());
                        scrub(bytes, &sensitive_values(sent))
                    } else {
                        bytes
                    };
                    span.record("status", status.as_u16());
                    if status == StatusCode::UNAUTHORIZED && !replayed_after_401 {
                        if let Some(auth) = inner.auth.as_ref().filter(|_| !request.skips_auth()) {
                            if auth.refresh(&auth_headers).await? {
                                tracing::debug!("credential renewed after 401; sending again");
                                replayed_after_401 = true;
                                attempt -= 1;
                                continue;
                            }
                        }
                    }
                    let mut context =
                        ErrorContext::new(inner.provider, status, &response_headers, &bytes)
                            .with_about(kind, id);
                    context.method = method.clone();
                    context.path = url.path();
                    context.idempotent = idempotent;
                    let classified = if status.is_success() {
                        inner
                            .classifier
                            .as_ref()
                            .and_then(|classify| classify(&context))
                    } else {
                        Some((inner.error_mapper)(&context))
                    };
                    match classified {
                        Some(error) => finish_error(error, &context),
                        None => {
                            span.record("elapsed", debug(start.elapsed()));
                            tracing::debug!("done");
                            return Ok(Response::new(
                                inner.provider,
                                status,
                                response_headers,
                                bytes,
                            ));
                        }
                    }
                }
                Err(ReadError::Transport(e)) => transport_error(e, &method, &url, idempotent),
                // Not worth repeating: the same answer would come back.
                Err(ReadError::TooLarge(error)) => return Err(error),
            };
            let error = gone_after_retry(error, &method, earlier_may_have_acted);
            earlier_may_have_acted |= may_have_acted(&error);

            match retry_delay(
                &error,
                idempotent,
                attempt,
                start.elapsed(),
                &inner.retry,
                &mut backoff,
            ) {
                Some(delay) => {
                    tracing::info!(attempt = sent, ?delay, error = %error, "retrying");
                    tokio::time::sleep(delay).await;
                }
                None => {
                    span.record("elapsed", debug(start.elapsed()));
                    tracing::debug!(error = %error, "failed");
                    return Err(error);
                }
            }
        }
    }
}

/// The per-attempt time-out unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Configures a [`Transport`]; made by [`Transport::builder`].
pub struct TransportBuilder {
    provider: &'static str,
    base_url: Url,
    auth: Option<Arc<dyn Authenticate>>,
    retry: RetryConfig,
    timeout: Option<Duration>,
    user_agent_suffix: Option<String>,
    error_mapper: Option<ErrorMapper>,
    classifier: Option<ResponseClassifier>,
    client: Option<reqwest::Client>,
    headers: Vec<(String, String)>,
    paused_clock: bool,
    max_response_bytes: usize,
}

impl fmt::Debug for TransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportBuilder")
            .field("provider", &self.provider)
            .field("base_url", &redact_url(&self.base_url))
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl TransportBuilder {
    /// How requests are authenticated (none by default).
    pub fn auth(mut self, auth: impl Authenticate + 'static) -> Self {
        self.auth = Some(Arc::new(auth));
        self
    }

    /// How failed requests are retried ([`RetryConfig::default`] by default).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The time-out of each attempt, from sending to the end of the body
    /// (60 s by default; [`Request::timeout`] overrides it per request).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// No time-out for attempts (a request may then wait forever).
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// Appended to the `User-Agent` after a space: `volume-rs/<version> <suffix>`.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// How non-2xx answers become errors ([`default_error_mapper`] by default).
    pub fn error_mapper<F>(mut self, mapper: F) -> Self
    where
        F: Fn(&ErrorContext<'_>) -> Error + Send + Sync + 'static,
    {
        self.error_mapper = Some(Arc::new(mapper));
        self
    }

    /// Looks at every 2xx answer first: a classifier that returns an error
    /// turns the answer into that error, which is then retried or returned
    /// like any other (see [`ResponseClassifier`]). None by default.
    pub fn response_classifier<F>(mut self, classify: F) -> Self
    where
        F: Fn(&ErrorContext<'_>) -> Option<Error> + Send + Sync + 'static,
    {
        self.classifier = Some(Arc::new(classify));
        self
    }

    /// Applies a provider builder's [`ClientOptions`] in one call: retries,
    /// the per-attempt time-out, the `User-Agent` suffix, paused-clock mode
    /// and the caller's HTTP client, when given.
    pub fn client_options(mut self, options: &ClientOptions) -> Self {
        self.retry = *options.retry();
        self.timeout = options.timeout();
        self.paused_clock = options.is_paused_clock();
        self.user_agent_suffix = options.user_agent_suffix().map(str::to_owned);
        self.max_response_bytes = options.max_response_bytes();
        if let Some(client) = options.http_client() {
            self.client = Some(client.clone());
        }
        self
    }

    /// Uses `client` (and its connection pool) instead of a new one. Its own
    /// settings apply: configure it not to follow redirects, as the default
    /// client does, so that credentials are never sent to another host.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// A header sent with every request (a request's own header of the same
    /// name wins).
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The largest answer read, in bytes ([`DEFAULT_MAX_RESPONSE_BYTES`],
    /// 16 MiB, by default): a 2xx answer over it is an [`Error::Decode`]
    /// instead of an allocation, and of an error answer only the first
    /// 64 KiB are read.
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Settings for tests under `#[tokio::test(start_paused = true)]`: no
    /// request time-out, and (for the client built here) no connection-pool
    /// timer, so that tokio's auto-advancing clock cannot fire either while
    /// a local mock server is answering. See the [module docs](self).
    pub fn for_paused_clock(mut self) -> Self {
        self.timeout = None;
        self.paused_clock = true;
        self
    }

    /// Checks the configuration and makes the transport.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a base URL that is not http(s), has no
    /// host, or has credentials, a query or a fragment; for a user-agent
    /// suffix or default header that is not valid HTTP. [`Error::Transport`]
    /// when the HTTP client cannot be made (no TLS backend).
    pub fn build(self) -> Result<Transport> {
        check_base_url(&self.base_url)?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let user_agent = match &self.user_agent_suffix {
            Some(suffix) if !suffix.trim().is_empty() => {
                format!("{USER_AGENT_PREFIX} {}", suffix.trim())
            }
            _ => USER_AGENT_PREFIX.to_owned(),
        };
        let user_agent = HeaderValue::from_str(&user_agent).map_err(|_| {
            Error::invalid_input("user_agent_suffix", "is not a valid HTTP header value")
        })?;
        headers.insert(USER_AGENT, user_agent);
        for (name, value) in &self.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::invalid_input("header name", format!("{name:?} is not a valid one"))
            })?;
            let header_value = HeaderValue::from_str(value).map_err(|_| {
                Error::invalid_input(
                    format!("header {header_name}"),
                    "the value is not a valid HTTP header value",
                )
            })?;
            headers.insert(header_name, header_value);
        }
        let client = match self.client {
            Some(client) => client,
            None => {
                let mut builder =
                    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
                if self.paused_clock {
                    builder = builder.pool_idle_timeout(None);
                }
                builder.build().map_err(|e| Error::Transport {
                    message: format!("could not make the HTTP client: {e}"),
                    outcome_unknown: false,
                    timed_out: false,
                    source: Some(Box::new(e)),
                })?
            }
        };
        Ok(Transport {
            inner: Arc::new(Inner {
                provider: self.provider,
                endpoint: std::sync::Mutex::new(self.base_url.clone()),
                base_url: self.base_url,
                client,
                auth: self.auth,
                retry: self.retry,
                timeout: self.timeout,
                headers,
                error_mapper: self
                    .error_mapper
                    .unwrap_or_else(|| Arc::new(default_error_mapper)),
                classifier: self.classifier,
                max_response_bytes: self.max_response_bytes,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(status: u16, headers: &'a HeaderMap, body: &'a [u8]) -> ErrorContext<'a> {
        ErrorContext::new("p", StatusCode::from_u16(status).unwrap(), headers, body)
    }

    #[test]
    fn a_delete_that_finds_nothing_after_a_lost_attempt_is_outcome_unknown() {
        let h = HeaderMap::new();
        let busy = default_error_mapper(&ctx(503, &h, b"busy"));
        assert!(may_have_acted(&busy));
        assert!(!may_have_acted(&default_error_mapper(&ctx(400, &h, b"no"))));
        let gone = || default_error_mapper(&ctx(404, &h, b"gone"));
        assert!(gone_after_retry(gone(), &Method::DELETE, true).outcome_unknown());
        // The first attempt, or a GET, or after a refusal: a plain not-found.
        assert!(!gone_after_retry(gone(), &Method::DELETE, false).outcome_unknown());
        assert!(!gone_after_retry(gone(), &Method::GET, true).outcome_unknown());
        // Cattle refuses a second remove of a removed resource with a 405.
        let refused = default_error_mapper(&ctx(405, &h, b"Method not allowed"));
        assert!(gone_after_retry(refused, &Method::DELETE, true).outcome_unknown());
        let denied = default_error_mapper(&ctx(403, &h, b"no"));
        assert!(!gone_after_retry(denied, &Method::DELETE, true).outcome_unknown());
    }

    #[test]
    fn the_default_mapper_keeps_message_and_request_id() {
        let mut h = HeaderMap::new();
        h.insert("x-openstack-request-id", "req-1".parse().unwrap());
        let e =
            default_error_mapper(&ctx(404, &h, b" gone \n").with_about(ResourceKind::Volume, "v1"));
        match &e {
            Error::NotFound { kind, id, api } => {
                assert_eq!(*kind, ResourceKind::Volume);
                assert_eq!(id, "v1");
                let api = api.as_deref().unwrap();
                assert_eq!(api.message, "gone");
                assert_eq!(api.request_id.as_deref(), Some("req-1"));
            }
            other => panic!("{other:?}"),
        }
        let e = default_error_mapper(&ctx(502, &h, b""));
        assert_eq!(e.api().unwrap().message, "Bad Gateway");
        let long = "é".repeat(5000);
        let e = default_error_mapper(&ctx(500, &h, long.as_bytes()));
        assert!(e.api().unwrap().message.len() <= MAX_MESSAGE + 3);
        let e = default_error_mapper(&ctx(500, &h, &[0xff, 0xfe, b'x']));
        assert!(e.api().unwrap().message.ends_with('x'));
    }

    #[test]
    fn finishing_marks_outcome_and_retry_after() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        let c = ctx(429, &h, b"slow down");
        // A mapper that forgot the variant: the transport makes it RateLimited.
        let e = finish_error(Error::Api(Box::new(c.api_error("x"))), &c);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = finish_error(
            Error::RateLimited {
                retry_after: None,
                api: None,
            },
            &c,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));

        let mut c = ctx(503, &h, b"busy");
        c.idempotent = false;
        let e = finish_error(c.default_error(), &c);
        assert!(e.outcome_unknown());
        c.idempotent = true;
        let e = finish_error(c.default_error(), &c);
        assert!(!e.outcome_unknown());
        let mut c = ctx(400, &h, b"bad");
        c.idempotent = false;
        assert!(!finish_error(c.default_error(), &c).outcome_unknown());
    }

    #[test]
    fn builder_checks_its_input() {
        let base = Url::parse("https://h/").unwrap();
        assert!(Transport::builder("p", base.clone()).build().is_ok());
        let e = Transport::builder("p", base.clone())
            .user_agent_suffix("a\nb")
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }));
        let e = Transport::builder("p", base.clone())
            .default_header("X-A", "a\rb")
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }));
        let e = Transport::builder("p", Url::parse("https://u:pw@h/").unwrap())
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }));
    }

    #[test]
    fn send_futures_are_send() {
        fn is_send<T: Send>(_: &T) {}
        let t = Transport::builder("p", Url::parse("https://h/").unwrap())
            .build()
            .unwrap();
        is_send(&t.send(Request::get(["a"])));
        is_send(&t.send_json::<serde_json::Value>(Request::get(["a"])));
        fn is_sync_send<T: Send + Sync + Clone + fmt::Debug>() {}
        is_sync_send::<Transport>();
    }
}
