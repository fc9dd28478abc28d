//! A fake's request and response: plain values, with no server attached.
//!
//! A fake is a function from [`FakeRequest`] to [`FakeResponse`]. Tests hand
//! it requests through a wiremock server ([`Fake::mount`](super::Fake::mount)),
//! the `volume-sim` binary through hyper ([`serve`](crate::serve)); neither
//! keeps anything once the answer is sent.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

/// One request, as a fake sees it.
///
/// The path is kept exactly as it arrived (percent-encoding and dot segments
/// included), so that `/v4/../v2/...` is routed by the `/v4` fake, which
/// answers it with its own 404, and never reaches another provider's fake.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    /// The method.
    pub method: Method,
    /// The path as sent, still percent-encoded (`/v4/volumes/12`).
    pub path: String,
    /// The query as sent, without the `?`.
    pub query: Option<String>,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// The server address the request arrived at, when the server knows
    /// it: what [`origin`](Self::origin) builds links from.
    pub local_addr: Option<SocketAddr>,
}

impl FakeRequest {
    /// A request with no query, headers or body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            local_addr: None,
        }
    }

    /// `http://<address>`: the origin of the server as the client reached
    /// it, for absolute links and endpoints in answers. Built from the
    /// listening socket, never from the `Host` header, which the client
    /// chooses; `http://127.0.0.1` when the address is not known.
    pub fn origin(&self) -> String {
        match self.local_addr {
            Some(addr) => format!("http://{addr}"),
            None => "http://127.0.0.1".to_owned(),
        }
    }

    /// The query's key/value pairs, percent-decoded (`+` as a space).
    pub fn query_pairs(&self) -> url::form_urlencoded::Parse<'_> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or("").as_bytes())
    }

    /// A header's value, when it is present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// `path?query`, as sent.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

impl From<&wiremock::Request> for FakeRequest {
    fn from(request: &wiremock::Request) -> Self {
        Self {
            method: request.method.clone(),
            path: request.url.path().to_owned(),
            query: request.url.query().map(str::to_owned),
            headers: request.headers.clone(),
            body: Bytes::copy_from_slice(&request.body),
            local_addr: None,
        }
    }
}

/// One answer of a fake.
#[derive(Debug, Clone)]
pub struct FakeResponse {
    /// The HTTP status (brought into 200..=599 when sent).
    pub status: u16,
    /// The headers, `Content-Type` included.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// Wait this long before answering (injected latency).
    pub delay: Option<Duration>,
    /// Close the connection instead of answering (an injected fault; the
    /// change, if any, has been made).
    pub drop_connection: bool,
}

impl FakeResponse {
    /// An answer with `body` of `content_type`.
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        // Room for a provider's usual headers without growing.
        let mut headers = HeaderMap::with_capacity(16);
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
        Self {
            status,
            headers,
            body: body.into(),
            delay: None,
            drop_connection: false,
        }
    }

    /// A JSON answer, with exactly `Content-Type: application/json`.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::json_of(status, body)
    }

    /// A JSON answer written straight from `body`'s `Serialize`, without a
    /// `Value` in between (for answers on hot paths).
    pub fn json_of<T: serde::Serialize + ?Sized>(status: u16, body: &T) -> Self {
        // Serialising into memory fails only for maps with non-string keys,
        // which no fake writes; `{}` keeps the answer JSON if one ever does.
        // Room for a typical resource at once, rather than growing from 128
        // bytes by doubling.
        let mut bytes = Vec::with_capacity(1024);
        if serde_json::to_writer(&mut bytes, body).is_err() {
            bytes = b"{}".to_vec();
        }
        Self::new(status, "application/json", bytes)
    }

    /// An empty answer (`204 No Content` and the like).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            delay: None,
            drop_connection: false,
        }
    }

    /// Adds a header. A value that is not a valid header value is left out
    /// (a fake never fails to answer because of one header).
    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl AsRef<str>) -> Self {
        if let Ok(value) = HeaderValue::from_str(value.as_ref()) {
            self.headers.append(HeaderName::from_static(name), value);
        }
        self
    }

    /// Adds headers made at compile time (`const` names and values: no
    /// check and no copy per answer).
    #[must_use]
    pub fn with_headers<I>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = (HeaderName, HeaderValue)>,
    {
        for (name, value) in headers {
            self.headers.append(name, value);
        }
        self
    }

    /// The status to send: `status` when it is one, else 500.
    pub fn wire_status(&self) -> u16 {
        if (200..=599).contains(&self.status) {
            self.status
        } else {
            500
        }
    }

    /// The wiremock form of this answer (delay included; a dropped
    /// connection is handled by [`Fake::mount`](super::Fake::mount)).
    pub fn into_template(self) -> wiremock::ResponseTemplate {
        let mut template = wiremock::ResponseTemplate::new(self.wire_status());
        let content_type = self
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        for (name, value) in &self.headers {
            if name != http::header::CONTENT_TYPE {
                template = template.append_header(name.clone(), value.clone());
            }
        }
        template = template.set_body_raw(self.body.to_vec(), &content_type);
        match self.delay {
            Some(d) if !d.is_zero() => template.set_delay(d),
            _ => template,
        }
    }
}

/// An answer a dialect's operation hands back from under the engine's
/// lock ([`Dialect::Reply`](super::Dialect::Reply)): written already, or
/// written once the lock is released, from what the operation read (long
/// listings), so that rendering does not hold every other request up.
pub enum Deferred {
    /// The answer, written under the lock.
    Now(FakeResponse),
    /// The answer, to write after the lock.
    Later(Box<dyn FnOnce() -> FakeResponse + Send>),
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Now(r) => f.debug_tuple("Now").field(&r.status).finish(),
            Self::Later(_) => f.write_str("Later"),
        }
    }
}

impl From<FakeResponse> for Deferred {
    fn from(response: FakeResponse) -> Self {
        Self::Now(response)
    }
}

impl From<Deferred> for FakeResponse {
    fn from(reply: Deferred) -> Self {
        match reply {
            Deferred::Now(r) => r,
            Deferred::Later(write) => write(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_statuses_and_headers_never_panic() {
        assert_eq!(
            FakeResponse::json(42, &serde_json::json!({})).wire_status(),
            500
        );
        assert_eq!(FakeResponse::empty(1000).wire_status(), 500);
        let _ = FakeResponse::json(42, &serde_json::json!({})).into_template();
        let r = FakeResponse::empty(200).header("x-test", "bad\nvalue");
        assert!(r.headers.get("x-test").is_none());
    }

    #[test]
    fn requests_keep_the_raw_path() {
        let mut r = FakeRequest::new(Method::GET, "/v4/%2e%2e/v2/zone");
        r.query = Some("page=2&x=a+b".into());
        assert_eq!(r.path_and_query(), "/v4/%2e%2e/v2/zone?page=2&x=a+b");
        let pairs: Vec<_> = r.query_pairs().collect();
        assert_eq!(pairs[1].1, "a b");
    }
}
