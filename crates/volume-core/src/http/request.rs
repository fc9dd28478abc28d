//! What to send ([`Request`]) and what came back ([`Response`]).
//!
//! A [`Request`] is a description, not a connection: its target (path
//! segments, each one percent-encoded on its own when the URL is built,
//! optionally followed by a literal action suffix such as `:attach`; or a
//! same-origin link taken from an answer), query pairs,
//! headers, the body as bytes (serialised once, so the bytes a signer sees
//! are the bytes that are sent), whether it may be repeated, and what it is
//! about (for error messages). Mistakes in it (a header value with a line
//! break, a body that does not serialise) are kept and returned by
//! [`Transport::send`](super::Transport::send) as [`Error::InvalidInput`]
//! before anything is sent: building a request never panics.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::retry::is_idempotent;
use super::secret::Secret;
use crate::error::{Error, ResourceKind, Result};

/// A request to send through a [`Transport`](super::Transport).
///
/// ```
/// use volume_core::http::Request;
/// use volume_core::ResourceKind;
///
/// let id = "vol-1";
/// let req = Request::get(["volumes", id])
///     .query("page", "2")
///     .header("X-Filter", r#"{"label":"db"}"#)
///     .about(ResourceKind::Volume, id);
/// assert_eq!(req.method(), &volume_core::http::Method::GET);
/// assert!(req.is_idempotent());
///
/// let create = Request::post(["volumes"]).json(&serde_json::json!({"label": "db", "size": 10}));
/// assert!(!create.is_idempotent());
/// assert_eq!(create.body_bytes(), Some(&br#"{"label":"db","size":10}"#[..]));
/// ```
#[derive(Clone)]
pub struct Request {
    method: Method,
    segments: Vec<String>,
    action: Option<String>,
    link: Option<String>,
    trailing_slash: bool,
    skip_auth: bool,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Option<Bytes>,
    idempotent: Option<bool>,
    kind: ResourceKind,
    id: String,
    timeout: Option<Duration>,
    /// The first mistake made while describing the request.
    invalid: Option<(String, String)>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("segments", &self.segments)
            .field("action", &self.action)
            .field("link", &self.link.is_some())
            .field("skip_auth", &self.skip_auth)
            .field(
                "query_keys",
                &self.query.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.as_ref().map(Bytes::len))
            .field("idempotent", &self.is_idempotent())
            .field("kind", &self.kind)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// A `method` request to the base URL followed by `segments`, each sent
    /// as exactly one percent-encoded path segment.
    pub fn new<I, S>(method: Method, segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            method,
            segments: segments
                .into_iter()
                .map(|s| s.as_ref().to_owned())
                .collect(),
            action: None,
            link: None,
            trailing_slash: false,
            skip_auth: false,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            idempotent: None,
            kind: ResourceKind::Other,
            id: String::new(),
            timeout: None,
            invalid: None,
        }
    }

    /// A GET request.
    pub fn get<I: IntoIterator<Item = S>, S: AsRef<str>>(segments: I) -> Self {
        Self::new(Method::GET, segments)
    }

    /// A POST request (not idempotent unless said otherwise).
    pub fn post<I: IntoIterator<Item = S>, S: AsRef<str>>(segments: I) -> Self {
        Self::new(Method::POST, segments)
    }

    /// A PUT request.
    pub fn put<I: IntoIterator<Item = S>, S: AsRef<str>>(segments: I) -> Self {
        Self::new(Method::PUT, segments)
    }

    /// A PATCH request (not idempotent unless said otherwise).
    pub fn patch<I: IntoIterator<Item = S>, S: AsRef<str>>(segments: I) -> Self {
        Self::new(Method::PATCH, segments)
    }

    /// A DELETE request.
    pub fn delete<I: IntoIterator<Item = S>, S: AsRef<str>>(segments: I) -> Self {
        Self::new(Method::DELETE, segments)
    }

    /// A HEAD request.
    pub fn head<I: IntoIterator<Item = S>, S: AsRef<str>>(segments: I) -> Self {
        Self::new(Method::HEAD, segments)
    }

    /// A `method` request to `link`, a URL taken from an answer (a `next`
    /// page, an action link): absolute, or a path resolved against the
    /// endpoint. It is sent as given (query pairs added with
    /// [`query`](Self::query) are appended), but only when its scheme, host
    /// and port are the endpoint's: [`Transport::send`](super::Transport::send)
    /// refuses any other with [`Error::InvalidInput`] before anything is
    /// sent, so credentials never leave the host.
    ///
    /// ```
    /// use volume_core::http::{Method, Request};
    ///
    /// let next = Request::link(Method::GET, "https://cinder:8776/v3/p/volumes?marker=abc");
    /// assert_eq!(next.link_target(), Some("https://cinder:8776/v3/p/volumes?marker=abc"));
    /// ```
    pub fn link(method: Method, link: impl Into<String>) -> Self {
        let mut request = Self::new(method, Vec::<String>::new());
        request.link = Some(link.into());
        request
    }

    /// A GET of `link` (see [`Request::link`]), e.g. the next page.
    pub fn follow(link: impl Into<String>) -> Self {
        Self::link(Method::GET, link)
    }

    fn fail(&mut self, field: String, reason: impl Into<String>) {
        if self.invalid.is_none() {
            self.invalid = Some((field, reason.into()));
        }
    }

    /// Appends one more path segment.
    pub fn segment(mut self, segment: impl AsRef<str>) -> Self {
        if self.link.is_some() {
            self.fail(
                "path segment".to_owned(),
                "a link request takes no segments",
            );
        }
        self.segments.push(segment.as_ref().to_owned());
        self
    }

    /// Sends `suffix` literally right after the last path segment, as in
    /// Exoscale's `/block-storage/{id}:attach` (the id is still encoded as
    /// one segment, so an id holding `:` cannot fake an action). Only ASCII
    /// letters, digits, `-`, `_` and `:` are allowed; anything else, or a
    /// request without segments, makes [`send`](super::Transport::send)
    /// fail with [`Error::InvalidInput`] before anything is sent.
    ///
    /// ```
    /// use volume_core::http::Request;
    ///
    /// let attach = Request::put(["block-storage", "6f1c"]).action_suffix(":attach");
    /// assert_eq!(attach.action(), Some(":attach"));
    /// ```
    pub fn action_suffix(mut self, suffix: impl Into<String>) -> Self {
        let suffix = suffix.into();
        if let Err(Error::InvalidInput { field, reason, .. }) =
            super::path::check_action_suffix(&suffix)
        {
            self.fail(field, reason);
        }
        if self.link.is_some() {
            self.fail("action suffix".to_owned(), "a link request takes no suffix");
        }
        self.action = Some(suffix);
        self
    }

    /// Sends this request without credentials, through a transport that
    /// has an authenticator (Exoscale's public `GET /zone`), so that one
    /// transport serves a whole client.
    pub fn without_auth(mut self) -> Self {
        self.skip_auth = true;
        self
    }

    /// Ends the path with `/` (some APIs, LunaNode's among them, want it).
    pub fn trailing_slash(mut self) -> Self {
        self.trailing_slash = true;
        self
    }

    /// Appends a query pair; both are percent-encoded.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Appends a query pair when `value` is `Some`.
    pub fn query_opt(self, key: impl Into<String>, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.query(key, value),
            None => self,
        }
    }

    /// Sets a header (replacing an earlier one of that name). A name or value
    /// that is not valid HTTP makes [`send`](super::Transport::send) fail
    /// with [`Error::InvalidInput`].
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let name = name.as_ref();
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value.as_ref()),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            (Err(_), _) => self.fail(
                "header name".to_owned(),
                format!("{name:?} is not a valid HTTP header name"),
            ),
            (Ok(n), Err(_)) => self.fail(
                format!("header {n}"),
                "the value is not a valid HTTP header value (it holds a control character)",
            ),
        }
        self
    }

    /// Sets a header whose value is a credential: it is marked sensitive and
    /// never printed.
    pub fn secret_header(mut self, name: impl AsRef<str>, value: &Secret) -> Self {
        let name = name.as_ref();
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value.expose()),
        ) {
            (Ok(n), Ok(mut v)) => {
                v.set_sensitive(true);
                self.headers.insert(n, v);
            }
            (Err(_), _) => self.fail(
                "header name".to_owned(),
                format!("{name:?} is not a valid HTTP header name"),
            ),
            (Ok(n), Err(_)) => self.fail(
                format!("header {n}"),
                "the value is not a valid HTTP header value (it holds a control character)",
            ),
        }
        self
    }

    /// Sends `body` serialised as JSON, with `Content-Type: application/json`.
    /// It is serialised once, here; those bytes are signed and sent.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.body = Some(Bytes::from(bytes));
                self.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Err(e) => self.fail(
                "body".to_owned(),
                format!("cannot be serialised as JSON: {e}"),
            ),
        }
        self
    }

    /// Sends `pairs` as an `application/x-www-form-urlencoded` body.
    pub fn form<I, K, V>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some(Bytes::from(body));
        self.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self
    }

    /// Sends `body` as is, with the given content type.
    pub fn body(mut self, body: impl Into<Bytes>, content_type: &str) -> Self {
        self.body = Some(body.into());
        match HeaderValue::from_str(content_type) {
            Ok(v) => {
                self.headers.insert(CONTENT_TYPE, v);
            }
            Err(_) => self.fail(
                "content type".to_owned(),
                format!("{content_type:?} is not a valid HTTP header value"),
            ),
        }
        self
    }

    /// Says whether sending this request twice is as good as once. By
    /// default GET, HEAD, PUT, DELETE and OPTIONS are and POST and PATCH are
    /// not; a provider whose POST action is idempotent (a detach, say) says so here.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// Says what the request is about, so that a 404 becomes
    /// `Error::NotFound { kind, id, .. }` and an error mapper can tell.
    pub fn about(mut self, kind: ResourceKind, id: impl Into<String>) -> Self {
        self.kind = kind;
        self.id = id.into();
        self
    }

    /// A time-out for each attempt of this request, instead of the transport's.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path segments, not encoded.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The literal action suffix, when there is one ([`Request::action_suffix`]).
    pub fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }

    /// The link this request is sent to, when it is one ([`Request::link`]).
    pub fn link_target(&self) -> Option<&str> {
        self.link.as_deref()
    }

    /// Whether the request is sent without credentials ([`Request::without_auth`]).
    pub fn skips_auth(&self) -> bool {
        self.skip_auth
    }

    /// The query pairs, not encoded.
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.query
    }

    /// The request's own headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes, when there is a body.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// Whether the request may be repeated: as set by
    /// [`Request::idempotent`], or from the method.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
            .unwrap_or_else(|| is_idempotent(&self.method))
    }

    /// What the request is about (kind and id), as set by [`Request::about`].
    pub fn subject(&self) -> (ResourceKind, &str) {
        (self.kind, &self.id)
    }

    pub(crate) fn has_trailing_slash(&self) -> bool {
        self.trailing_slash
    }

    pub(crate) fn timeout_override(&self) -> Option<Duration> {
        self.timeout
    }

    pub(crate) fn body_shared(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }

    /// The first mistake in the description, as an error.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.invalid {
            Some((field, reason)) => Err(Error::invalid_input(field.clone(), reason.clone())),
            None => Ok(()),
        }
    }
}

/// A successful (2xx) answer: status, headers and the whole body.
#[derive(Clone)]
pub struct Response {
    pub(crate) provider: &'static str,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl fmt::Debug for Response {
    // Header values are left out: some answers carry tokens (Keystone's
    // `X-Subject-Token`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Response {
    /// A response, for tests of code that consumes them.
    pub fn new(
        provider: &'static str,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    ) -> Self {
        Self {
            provider,
            status,
            headers,
            body,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as text, when present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body, taken out.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// The body decoded from JSON.
    ///
    /// # Errors
    /// [`Error::Decode`] naming the line and column where it did not fit.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        decode_json(self.provider, &self.body)
    }
}

pub(crate) fn decode_json<T: DeserializeOwned>(provider: &'static str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::decode(
            format!(
                "{provider} sent a body that does not fit {}: {e}",
                std::any::type_name::<T>()
            ),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistakes_are_kept_not_panicked() {
        let r = Request::get(["v"]).header("X-Ok", "fine");
        assert!(r.check().is_ok());
        let r = Request::get(["v"]).header("X-Bad", "line\r\nInjected: yes");
        let err = r.check().unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
        assert!(!err.to_string().contains("Injected"), "{err}");
        let r = Request::get(["v"]).header("bad name", "v");
        assert!(r.check().is_err());
        let r = Request::get(["v"]).secret_header("X-Key", &Secret::new("a\nb"));
        assert!(r.check().is_err());
        let r = Request::get(["v"]).body("x", "text/plain\n");
        assert!(r.check().is_err());

        struct Unserialisable;
        impl Serialize for Unserialisable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        let r = Request::post(["v"]).json(&Unserialisable);
        assert!(matches!(r.check(), Err(Error::InvalidInput { .. })));
    }

    #[test]
    fn idempotency_can_be_overridden() {
        assert!(Request::delete(["v"]).is_idempotent());
        assert!(!Request::post(["v"]).is_idempotent());
        assert!(Request::post(["v"]).idempotent(true).is_idempotent());
        assert!(!Request::put(["v"]).idempotent(false).is_idempotent());
    }

    #[test]
    fn debug_shows_no_values() {
        let r = Request::get(["v"])
            .query("token", "qs3cret")
            .secret_header("X-Key", &Secret::new("hs3cret"))
            .header("X-Plain", "pv4lue");
        let d = format!("{r:?}");
        assert!(
            !d.contains("qs3cret") && !d.contains("hs3cret") && !d.contains("pv4lue"),
            "{d}"
        );
        assert!(d.contains("token") && d.contains("x-key"), "{d}");
    }

    #[test]
    fn form_and_json_bodies() {
        let r = Request::post(["a"]).form([("req", "{\"x\":1}"), ("nonce", "1 2")]);
        assert_eq!(r.body_bytes().unwrap(), b"req=%7B%22x%22%3A1%7D&nonce=1+2");
        assert_eq!(
            r.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        let resp = Response::new(
            "p",
            StatusCode::OK,
            HeaderMap::new(),
            Bytes::from("{\"a\":1}"),
        );
        let v: serde_json::Value = resp.json().unwrap();
        assert_eq!(v["a"], 1);
        let err = resp.json::<Vec<u8>>().unwrap_err();
        assert!(matches!(err, Error::Decode { .. }));
        assert!(err.to_string().contains("line 1 column"), "{err}");
    }
}
