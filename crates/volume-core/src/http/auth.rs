//! Authentication: the hook every request passes through.
//!
//! Providers authenticate in different ways, so the transport asks an
//! [`Authenticate`] implementation for the headers to add to each attempt,
//! after the request is otherwise complete. The ones provided cover the five
//! providers:
//!
//! - [`BearerToken`]: `Authorization: Bearer <token>` (Linode, Rancher);
//! - [`HeaderAuth`]: one header with a secret value (`X-Auth-Token` for a
//!   fixed Keystone token, an API key header);
//! - [`Signer`]: a function that sees the method, path, query, headers and
//!   the exact body bytes that are sent, and returns headers to add
//!   (Exoscale's `EXO2-HMAC-SHA256`);
//! - [`RefreshingToken`]: a token fetched from a [`TokenSource`] and fetched
//!   again when it expires or when the provider answers 401 (OpenStack
//!   Keystone). Concurrent requests share one fetch.
//!
//! Besides headers, an authenticator may give each attempt two more
//! things, both carried by [`AuthHeaders`]:
//!
//! - a replacement body ([`AuthHeaders::with_body`]), for schemes that sign
//!   inside the body (LunaNode puts a fresh nonce and an HMAC in its
//!   form-encoded body): the transport sends exactly those bytes, as
//!   smithy's `modify_before_signing` lets an interceptor do;
//! - the service endpoint ([`AuthHeaders::with_endpoint`]), for credentials
//!   that come with one (Keystone's catalog names Cinder's URL next to the
//!   token): the transport builds the attempt's URL on it. [`Token::with_endpoint`]
//!   makes [`RefreshingToken`] do this, renewing token and endpoint together.
//!
//! Every header an authenticator returns is marked sensitive
//! ([`HeaderValue::set_sensitive`]) before it is sent, and no type here
//! prints a credential.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::Method;
use secrecy::zeroize::Zeroize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::secret::Secret;
use crate::error::{Error, Result};

/// The request an authenticator signs: everything about it is final, and the
/// body is the exact bytes that go on the wire.
#[derive(Clone, Copy)]
pub struct AuthRequest<'a> {
    method: &'a Method,
    url: &'a Url,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

impl fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRequest")
            .field("method", self.method)
            .field("path", &self.path())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl<'a> AuthRequest<'a> {
    /// A request to authenticate; the transport makes these, tests of a
    /// signer may make their own.
    pub fn new(method: &'a Method, url: &'a Url, headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        Self {
            method,
            url,
            headers,
            body,
        }
    }

    /// The HTTP method.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The full URL (base URL, path and query) as sent.
    pub fn url(&self) -> &'a Url {
        self.url
    }

    /// The path, percent-encoded exactly as sent, e.g. `/v2/block-storage/..%2Fx`.
    pub fn path(&self) -> &'a str {
        self.url.path()
    }

    /// The query string, percent-encoded exactly as sent, without the `?`.
    pub fn query(&self) -> Option<&'a str> {
        self.url.query()
    }

    /// The query pairs, decoded, in the order they are sent.
    pub fn query_pairs(&self) -> url::form_urlencoded::Parse<'a> {
        self.url.query_pairs()
    }

    /// The headers sent besides the authenticator's own (`Content-Type`,
    /// `User-Agent`, the request's own headers).
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The body, byte for byte as it is sent (empty when there is none).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

/// What an authenticator adds to one attempt: headers, optionally a
/// replacement body and the endpoint to send to, and which version of its
/// credential they carry.
#[derive(Clone, Default)]
pub struct AuthHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
    generation: u64,
    body: Option<Bytes>,
    endpoint: Option<Url>,
}

impl fmt::Debug for AuthHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthHeaders")
            .field(
                "names",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("generation", &self.generation)
            .field("body_len", &self.body.as_ref().map(Bytes::len))
            .field("endpoint", &self.endpoint.as_ref().map(super::redact_url))
            .finish_non_exhaustive()
    }
}

impl AuthHeaders {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header; its value is marked sensitive.
    pub fn with(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.push(name, value);
        self
    }

    /// Adds a header; its value is marked sensitive.
    pub fn push(&mut self, name: HeaderName, mut value: HeaderValue) {
        value.set_sensitive(true);
        self.headers.push((name, value));
    }

    /// Records which version of a refreshable credential these headers
    /// carry, so that [`Authenticate::refresh`] can tell whether another
    /// request refreshed it already.
    pub fn with_generation(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }

    /// The credential version set by [`AuthHeaders::with_generation`] (0 by default).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Sends `body` instead of the request's body on this attempt (a body
    /// signed with a fresh nonce). The request's `Content-Type` stays.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The replacement body set by [`AuthHeaders::with_body`].
    pub fn body(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }

    /// Builds this attempt's URL on `endpoint` instead of the transport's
    /// base URL (the service URL that came with the credential). Request
    /// paths are appended to it, and links must share its origin.
    pub fn with_endpoint(mut self, endpoint: Url) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// The endpoint set by [`AuthHeaders::with_endpoint`].
    pub fn endpoint(&self) -> Option<&Url> {
        self.endpoint.as_ref()
    }

    /// The headers, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> + '_ {
        self.headers.iter().map(|(n, v)| (n, v))
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }
}

/// Adds credentials to requests. Implement it for a provider whose scheme
/// none of the provided types covers.
///
/// Implementations must not print credentials in their `Debug` (hold them
/// as [`Secret`], or implement `Debug` by hand).
#[async_trait]
pub trait Authenticate: fmt::Debug + Send + Sync {
    /// The headers to add to this attempt of `request`. Called once per
    /// attempt, so a signature or a token is always fresh. The answer may
    /// also replace the body ([`AuthHeaders::with_body`]) and name the
    /// endpoint ([`AuthHeaders::with_endpoint`]); when that endpoint differs
    /// from the one `request`'s URL was built on, the transport rebuilds the
    /// URL on it and calls this once more, so a signer always sees the URL
    /// that is sent.
    async fn authenticate(&self, request: &AuthRequest<'_>) -> Result<AuthHeaders>;

    /// Called when the provider answered 401 to a request that carried
    /// `rejected`. Returns `true` when the credential has been renewed (or
    /// another request renewed it since) and the request should be sent once
    /// more; the default is `false`: the 401 is final.
    async fn refresh(&self, rejected: &AuthHeaders) -> Result<bool> {
        let _ = rejected;
        Ok(false)
    }
}

#[async_trait]
impl<T: Authenticate + ?Sized> Authenticate for Arc<T> {
    async fn authenticate(&self, request: &AuthRequest<'_>) -> Result<AuthHeaders> {
        (**self).authenticate(request).await
    }

    async fn refresh(&self, rejected: &AuthHeaders) -> Result<bool> {
        (**self).refresh(rejected).await
    }
}

#[async_trait]
impl<T: Authenticate + ?Sized> Authenticate for Box<T> {
    async fn authenticate(&self, request: &AuthRequest<'_>) -> Result<AuthHeaders> {
        (**self).authenticate(request).await
    }

    async fn refresh(&self, rejected: &AuthHeaders) -> Result<bool> {
        (**self).refresh(rejected).await
    }
}

/// A sensitive header value, or an error that names `field` and never the value.
fn sensitive_value(value: &str, field: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        Error::invalid_input(
            field,
            "is not a valid HTTP header value (it holds a control character)",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `Bearer <token>` as a sensitive header value; the formatted copy is wiped.
fn bearer_value(token: &Secret, field: &str) -> Result<HeaderValue> {
    let mut text = format!("Bearer {}", token.expose());
    let value = sensitive_value(&text, field);
    text.zeroize();
    value
}

/// `Authorization: Bearer <token>` on every request.
///
/// ```
/// use volume_core::http::{BearerToken, Secret};
///
/// let auth = BearerToken::new(Secret::new("my-token")).unwrap();
/// assert!(!format!("{auth:?}").contains("my-token"));
/// ```
#[derive(Clone)]
pub struct BearerToken {
    value: HeaderValue,
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("token", &"******")
            .finish_non_exhaustive()
    }
}

impl BearerToken {
    /// Sends `token` as a bearer token.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the token cannot be a header value (it
    /// holds a control character).
    pub fn new(token: impl Into<Secret>) -> Result<Self> {
        Ok(Self {
            value: bearer_value(&token.into(), "token")?,
        })
    }
}

#[async_trait]
impl Authenticate for BearerToken {
    async fn authenticate(&self, _request: &AuthRequest<'_>) -> Result<AuthHeaders> {
        Ok(AuthHeaders::new().with(AUTHORIZATION, self.value.clone()))
    }
}

/// One header with a secret value on every request, e.g. `X-Auth-Token`.
///
/// ```
/// use volume_core::http::{HeaderAuth, Secret};
///
/// let auth = HeaderAuth::new("X-Auth-Token", Secret::new("gAAAA")).unwrap();
/// assert!(!format!("{auth:?}").contains("gAAAA"));
/// ```
#[derive(Clone)]
pub struct HeaderAuth {
    name: HeaderName,
    value: HeaderValue,
}

impl fmt::Debug for HeaderAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderAuth")
            .field("name", &self.name)
            .field("value", &"******")
            .finish_non_exhaustive()
    }
}

impl HeaderAuth {
    /// Sends `value` in the header `name`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `name` is not a header name or `value`
    /// cannot be a header value.
    pub fn new(name: &str, value: impl Into<Secret>) -> Result<Self> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::invalid_input("header name", format!("{name:?} is not one")))?;
        let value = sensitive_value(value.into().expose(), name.as_str())?;
        Ok(Self { name, value })
    }
}

#[async_trait]
impl Authenticate for HeaderAuth {
    async fn authenticate(&self, _request: &AuthRequest<'_>) -> Result<AuthHeaders> {
        Ok(AuthHeaders::new().with(self.name.clone(), self.value.clone()))
    }
}

type SignFn = dyn Fn(&AuthRequest<'_>) -> Result<Vec<(HeaderName, HeaderValue)>> + Send + Sync;

/// Signs each request with a function that sees the method, URL, headers
/// and the exact body bytes, and returns the headers to add.
///
/// The function runs once per attempt, so time-stamped signatures are fresh
/// on every retry.
///
/// ```
/// use volume_core::http::{AuthRequest, HeaderName, HeaderValue, Secret, Signer};
///
/// let key = Secret::new("k3y");
/// let signer = Signer::new(move |req: &AuthRequest<'_>| {
///     // A real signer computes an HMAC over these with `key.expose()`.
///     let summary = format!("{} {} {}", req.method(), req.path(), req.body().len());
///     let _ = (&key, summary);
///     Ok(vec![(
///         HeaderName::from_static("authorization"),
///         HeaderValue::from_static("EXO2-HMAC-SHA256 credential=..."),
///     )])
/// });
/// assert!(!format!("{signer:?}").contains("k3y"));
/// ```
#[derive(Clone)]
pub struct Signer {
    sign: Arc<SignFn>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

impl Signer {
    /// Signs with `sign`.
    pub fn new<F>(sign: F) -> Self
    where
        F: Fn(&AuthRequest<'_>) -> Result<Vec<(HeaderName, HeaderValue)>> + Send + Sync + 'static,
    {
        Self {
            sign: Arc::new(sign),
        }
    }
}

#[async_trait]
impl Authenticate for Signer {
    async fn authenticate(&self, request: &AuthRequest<'_>) -> Result<AuthHeaders> {
        let mut headers = AuthHeaders::new();
        for (name, value) in (self.sign)(request)? {
            headers.push(name, value);
        }
        Ok(headers)
    }
}

/// A token from a [`TokenSource`], and how long it is valid.
#[derive(Clone)]
pub struct Token {
    value: Secret,
    expires_in: Option<Duration>,
    endpoint: Option<Url>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &self.value)
            .field("expires_in", &self.expires_in)
            .field("endpoint", &self.endpoint.as_ref().map(super::redact_url))
            .finish_non_exhaustive()
    }
}

impl Token {
    /// A token valid until the provider rejects it.
    pub fn new(value: impl Into<Secret>) -> Self {
        Self {
            value: value.into(),
            expires_in: None,
            endpoint: None,
        }
    }

    /// The service endpoint that came with the token (Keystone's catalog
    /// entry for the service): requests authenticated with this token are
    /// sent there, and a renewed token brings its own.
    pub fn with_endpoint(mut self, endpoint: Url) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// The endpoint set by [`Token::with_endpoint`].
    pub fn endpoint(&self) -> Option<&Url> {
        self.endpoint.as_ref()
    }

    /// Valid for `expires_in` from now.
    pub fn expires_in(mut self, expires_in: Duration) -> Self {
        self.expires_in = Some(expires_in);
        self
    }

    /// The token itself.
    pub fn value(&self) -> &Secret {
        &self.value
    }

    /// How long it is valid, from when it was issued, when known.
    pub fn lifetime(&self) -> Option<Duration> {
        self.expires_in
    }
}

/// Fetches a new token (a Keystone `POST /v3/auth/tokens`, an OAuth client
/// credentials grant). Any `Fn() -> impl Future<Output = Result<Token>>`
/// closure is one.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// A fresh token.
    async fn fetch_token(&self) -> Result<Token>;
}

#[async_trait]
impl<F, Fut> TokenSource for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<Token>> + Send,
{
    async fn fetch_token(&self) -> Result<Token> {
        self().await
    }
}

struct Current {
    header: HeaderValue,
    endpoint: Option<Url>,
    /// When to fetch a new one (the expiry less the margin).
    refresh_at: Option<Instant>,
}

#[derive(Default)]
struct TokenState {
    current: Option<Current>,
    generation: u64,
}

/// A token that renews itself: fetched from a [`TokenSource`] on first use,
/// again shortly before it expires, and again when the provider answers 401
/// (the request is then sent once more with the new token). A token that
/// came with an endpoint ([`Token::with_endpoint`]) sends its requests
/// there, and a renewed one moves them to its own.
///
/// Requests that need a new token at the same time wait for one fetch and
/// share its result. Timing uses tokio's clock, so tests can pause and
/// advance it.
///
/// ```
/// use std::time::Duration;
/// use volume_core::http::{HeaderName, RefreshingToken, Token};
///
/// let auth = RefreshingToken::new(|| async {
///     // A real source asks the identity service.
///     Ok(Token::new("fresh-token").expires_in(Duration::from_secs(3600)))
/// })
/// .in_header(HeaderName::from_static("x-auth-token"));
/// assert!(format!("{auth:?}").contains("x-auth-token"));
/// ```
pub struct RefreshingToken {
    source: Box<dyn TokenSource>,
    header: HeaderName,
    bearer: bool,
    margin: Duration,
    state: Mutex<TokenState>,
}

impl fmt::Debug for RefreshingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingToken")
            .field("header", &self.header)
            .field("bearer", &self.bearer)
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

impl RefreshingToken {
    /// Tokens from `source`, sent as `Authorization: Bearer <token>`, renewed
    /// 30 s before they expire.
    pub fn new(source: impl TokenSource + 'static) -> Self {
        Self {
            source: Box::new(source),
            header: AUTHORIZATION,
            bearer: true,
            margin: Duration::from_secs(30),
            state: Mutex::new(TokenState::default()),
        }
    }

    /// Sends the token as the whole value of header `name` instead (Keystone
    /// wants `X-Auth-Token: <token>`).
    pub fn in_header(mut self, name: HeaderName) -> Self {
        self.bearer = name == AUTHORIZATION;
        self.header = name;
        self
    }

    /// Renews a token this long before it expires (at most half its
    /// lifetime before); 30 s by default.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Forgets the current token, so the next request fetches a new one.
    pub async fn invalidate(&self) {
        let mut state = self.state.lock().await;
        state.current = None;
    }

    /// Fetches a token into `state` (the caller holds the lock, so others wait).
    async fn fetch(&self, state: &mut TokenState) -> Result<(HeaderValue, Option<Url>)> {
        state.current = None;
        let fetched_at = Instant::now();
        let token = self.source.fetch_token().await?;
        let header = if self.bearer {
            bearer_value(&token.value, "token")?
        } else {
            sensitive_value(token.value.expose(), "token")?
        };
        // A lifetime too long to represent never expires.
        let refresh_at = token.expires_in.and_then(|life| {
            let margin = self.margin.min(life / 2);
            fetched_at.checked_add(life.saturating_sub(margin))
        });
        state.generation += 1;
        state.current = Some(Current {
            header: header.clone(),
            endpoint: token.endpoint.clone(),
            refresh_at,
        });
        tracing::debug!(generation = state.generation, "fetched a new token");
        Ok((header, token.endpoint))
    }
}

#[async_trait]
impl Authenticate for RefreshingToken {
    async fn authenticate(&self, _request: &AuthRequest<'_>) -> Result<AuthHeaders> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let (header, endpoint) = match &state.current {
            Some(current) if current.refresh_at.is_none_or(|at| now < at) => {
                (current.header.clone(), current.endpoint.clone())
            }
            _ => self.fetch(&mut state).await?,
        };
        let headers = AuthHeaders::new()
            .with(self.header.clone(), header)
            .with_generation(state.generation);
        Ok(match endpoint {
            Some(endpoint) => headers.with_endpoint(endpoint),
            None => headers,
        })
    }

    async fn refresh(&self, rejected: &AuthHeaders) -> Result<bool> {
        let mut state = self.state.lock().await;
        if state.current.is_some() && state.generation != rejected.generation() {
            // Another request renewed the token since this one was sent.
            return Ok(true);
        }
        self.fetch(&mut state).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn req<'a>(m: &'a Method, u: &'a Url, h: &'a HeaderMap) -> AuthRequest<'a> {
        AuthRequest::new(m, u, h, b"{}")
    }

    #[tokio::test]
    async fn static_credentials() {
        let (m, u, h) = (
            Method::GET,
            Url::parse("https://h/p?a=1").unwrap(),
            HeaderMap::new(),
        );
        let r = req(&m, &u, &h);
        assert_eq!(r.path(), "/p");
        assert_eq!(r.query(), Some("a=1"));
        assert_eq!(r.query_pairs().count(), 1);
        assert_eq!(r.body(), b"{}");
        let got = BearerToken::new("t0k")
            .unwrap()
            .authenticate(&r)
            .await
            .unwrap();
        let (n, v) = got.iter().next().unwrap();
        assert_eq!(n, AUTHORIZATION);
        assert_eq!(v, "Bearer t0k");
        assert!(v.is_sensitive());
        assert!(!format!("{got:?}").contains("t0k"));

        let got = HeaderAuth::new("X-Api-Key", "k3y")
            .unwrap()
            .authenticate(&r)
            .await
            .unwrap();
        let (n, v) = got.iter().next().unwrap();
        assert_eq!(n, "x-api-key");
        assert_eq!(v, "k3y");
        assert!(v.is_sensitive());

        let bad = BearerToken::new("a\nb").unwrap_err();
        assert!(matches!(bad, Error::InvalidInput { .. }));
        assert!(!bad.to_string().contains("a\nb"));
        assert!(HeaderAuth::new("bad name", "x").is_err());
        assert!(!Arc::new(BearerToken::new("x").unwrap())
            .refresh(&AuthHeaders::new())
            .await
            .unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn refreshing_token_renews_before_expiry_and_on_request() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let f = Arc::clone(&fetches);
        let auth = RefreshingToken::new(move || {
            let n = f.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Ok(Token::new(format!("t{n}")).expires_in(Duration::from_secs(100))) }
        })
        .in_header(HeaderName::from_static("x-auth-token"));
        let (m, u, h) = (
            Method::GET,
            Url::parse("https://h/").unwrap(),
            HeaderMap::new(),
        );
        let value = |a: &AuthHeaders| a.iter().next().unwrap().1.to_str().unwrap().to_owned();

        let first = auth.authenticate(&req(&m, &u, &h)).await.unwrap();
        assert_eq!(value(&first), "t1");
        tokio::time::advance(Duration::from_secs(69)).await;
        assert_eq!(
            value(&auth.authenticate(&req(&m, &u, &h)).await.unwrap()),
            "t1"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        let second = auth.authenticate(&req(&m, &u, &h)).await.unwrap();
        assert_eq!(value(&second), "t2");
        assert!(second.generation() > first.generation());

        // A 401 with the old token: someone renewed it already, no fetch.
        assert!(auth.refresh(&first).await.unwrap());
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // A 401 with the current token: fetch.
        assert!(auth.refresh(&second).await.unwrap());
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
        auth.invalidate().await;
        assert_eq!(
            value(&auth.authenticate(&req(&m, &u, &h)).await.unwrap()),
            "t4"
        );
    }

    #[tokio::test]
    async fn an_endless_lifetime_does_not_overflow() {
        let auth = RefreshingToken::new(|| async { Ok(Token::new("t").expires_in(Duration::MAX)) });
        let (m, u, h) = (
            Method::GET,
            Url::parse("https://h/").unwrap(),
            HeaderMap::new(),
        );
        assert!(auth.authenticate(&req(&m, &u, &h)).await.is_ok());
        assert!(auth.authenticate(&req(&m, &u, &h)).await.is_ok());
    }
}
