//! The pinned-request recorder: what every request of a provider's client
//! carries ([`WireRules`]), and each request pinned exactly ([`Pinned`]), as
//! wiremock matchers that can also say why a recorded request differs.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// Computes the `Authorization` a request must carry from the request as
/// received (for signatures over the method, path, query and body).
type AuthorizationFn = dyn Fn(&Request) -> String + Send + Sync;

/// How a header every request carries is checked.
#[derive(Debug, Clone)]
enum HeaderRule {
    /// Exactly this value.
    Exact(String),
    /// A value that starts with this.
    Prefix(String),
}

/// How the `Authorization` header is checked.
#[derive(Clone)]
enum Authorization {
    /// None at all.
    Absent,
    /// Exactly this value (kept out of `Debug` and of mismatch messages).
    Exact(String),
    /// The value this function computes from the request.
    Computed(Arc<AuthorizationFn>),
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Absent => "Absent",
            Self::Exact(_) => "Exact(******)",
            Self::Computed(_) => "Computed(..)",
        })
    }
}

/// What every request of one provider's client carries, said once per test
/// file; [`pin`](Self::pin) starts a [`Pinned`] request from it.
///
/// [`new`](Self::new) starts from what the shared transport of volume-core
/// sends on every request: `Accept: application/json` and a `User-Agent`
/// starting with `volume-rs/`; no `Authorization` until one of
/// [`with_bearer`](Self::with_bearer) or
/// [`with_authorization`](Self::with_authorization) says which.
///
/// ```
/// use volume_sim::testing::WireRules;
/// let rules = WireRules::new()
///     .with_bearer("t0ken")
///     .with_pinned_only_header("x-filter");
/// let pinned = rules.pin("GET", "/v4/volumes").query("page", "2");
/// # let _ = pinned;
/// ```
#[derive(Debug, Clone)]
pub struct WireRules {
    headers: Vec<(String, HeaderRule)>,
    pinned_only: Vec<String>,
    authorization: Authorization,
}

impl Default for WireRules {
    fn default() -> Self {
        Self::new()
    }
}

impl WireRules {
    /// The shared transport's headers, and no `Authorization`.
    pub fn new() -> Self {
        Self {
            headers: vec![
                (
                    "accept".to_owned(),
                    HeaderRule::Exact("application/json".to_owned()),
                ),
                (
                    "user-agent".to_owned(),
                    HeaderRule::Prefix("volume-rs/".to_owned()),
                ),
            ],
            pinned_only: Vec::new(),
            authorization: Authorization::Absent,
        }
    }

    /// Every request carries header `name` with exactly `value` (replacing
    /// an earlier rule for `name`).
    pub fn with_header(self, name: &str, value: &str) -> Self {
        self.with_rule(name, HeaderRule::Exact(value.to_owned()))
    }

    /// Every request carries header `name` with a value starting with
    /// `prefix` (replacing an earlier rule for `name`).
    pub fn with_header_prefix(self, name: &str, prefix: &str) -> Self {
        self.with_rule(name, HeaderRule::Prefix(prefix.to_owned()))
    }

    fn with_rule(mut self, name: &str, rule: HeaderRule) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, rule));
        self
    }

    /// Header `name` appears only on requests that pin it with
    /// [`Pinned::header`] (Linode's `X-Filter`): a request that sends it
    /// unasked does not match.
    pub fn with_pinned_only_header(mut self, name: &str) -> Self {
        self.pinned_only.push(name.to_ascii_lowercase());
        self
    }

    /// Every request carries `Authorization: Bearer <token>`.
    pub fn with_bearer(mut self, token: &str) -> Self {
        self.authorization = Authorization::Exact(format!("Bearer {token}"));
        self
    }

    /// Every request carries the `Authorization` that `expected` computes
    /// from the request as the server received it: a signature recomputed
    /// independently of the client under test.
    pub fn with_authorization(
        mut self,
        expected: impl Fn(&Request) -> String + Send + Sync + 'static,
    ) -> Self {
        self.authorization = Authorization::Computed(Arc::new(expected));
        self
    }

    /// A request to pin: `method` on `path`, with no query, no pinned
    /// headers and no body until the [`Pinned`] setters add them.
    pub fn pin(&self, method: &str, path: impl Into<String>) -> Pinned {
        Pinned {
            rules: Arc::new(self.clone()),
            method: method.to_owned(),
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            anonymous: false,
        }
    }
}

/// The body a pinned request has.
#[derive(Debug, Clone)]
enum Body {
    /// None, and no `Content-Type`.
    Empty,
    /// JSON equal to this (key order and spacing aside).
    Json(Value),
    /// Exactly these bytes, as JSON.
    JsonText(String),
}

/// A request as it must be sent, exactly: a wiremock matcher.
///
/// It matches when the method and path are equal, the query pairs are
/// these in this order, the [`WireRules`] hold, each pinned header has its
/// value, and the body is as pinned (none: empty and without
/// `Content-Type`).
#[derive(Clone)]
pub struct Pinned {
    rules: Arc<WireRules>,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Body,
    anonymous: bool,
}

impl fmt::Debug for Pinned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinned")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .field("anonymous", &self.anonymous)
            .finish_non_exhaustive()
    }
}

impl Pinned {
    /// Adds a query pair (pairs are compared in order).
    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.query.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Pins header `name` to `value`.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// A JSON body equal to `body`, sent as `application/json`.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    /// A JSON body of exactly these bytes (for signed bodies, where every
    /// byte counts), sent as `application/json`.
    pub fn json_text(mut self, body: &str) -> Self {
        self.body = Body::JsonText(body.to_owned());
        self
    }

    /// The request carries no `Authorization` at all (a public endpoint).
    pub fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// Why `request` is not this pinned request: one line per difference,
    /// empty when it matches. No line quotes an `Authorization` value.
    pub fn mismatches(&self, request: &Request) -> Vec<String> {
        let mut why = Vec::new();
        if request.method.as_str() != self.method {
            why.push(format!(
                "method {} (pinned {})",
                request.method, self.method
            ));
        }
        if request.url.path() != self.path {
            why.push(format!(
                "path {} (pinned {})",
                request.url.path(),
                self.path
            ));
        }
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        if query != self.query {
            why.push(format!("query {query:?} (pinned {:?})", self.query));
        }
        for (name, rule) in &self.rules.headers {
            let got = header(request, name);
            let ok = match rule {
                HeaderRule::Exact(v) => got == Some(v.as_str()),
                HeaderRule::Prefix(p) => got.is_some_and(|g| g.starts_with(p.as_str())),
            };
            if !ok {
                why.push(format!("header {name}: {got:?} (expected {rule:?})"));
            }
        }
        for name in &self.rules.pinned_only {
            if !self.headers.iter().any(|(n, _)| n == name) && header(request, name).is_some() {
                why.push(format!("header {name} sent but not pinned"));
            }
        }
        for (name, value) in &self.headers {
            let got = header(request, name);
            if got != Some(value.as_str()) {
                why.push(format!("header {name}: {got:?} (pinned {value:?})"));
            }
        }
        self.check_authorization(request, &mut why);
        self.check_body(request, &mut why);
        why
    }

    fn check_authorization(&self, request: &Request, why: &mut Vec<String>) {
        let got = header(request, "authorization");
        let expected = if self.anonymous {
            None
        } else {
            match &self.rules.authorization {
                Authorization::Absent => None,
                Authorization::Exact(v) => Some(v.clone()),
                Authorization::Computed(f) => Some(f(request)),
            }
        };
        match (got, expected) {
            (None, None) => {}
            (Some(_), None) => why.push("an authorization header, where none is expected".into()),
            (None, Some(_)) => why.push("no authorization header".into()),
            (Some(g), Some(e)) if g != e => {
                why.push("an authorization header other than the expected one".into());
            }
            (Some(_), Some(_)) => {}
        }
    }

    fn check_body(&self, request: &Request, why: &mut Vec<String>) {
        let content_type = header(request, "content-type");
        let body_text = || String::from_utf8_lossy(&request.body).into_owned();
        match &self.body {
            Body::Empty => {
                if !request.body.is_empty() {
                    why.push(format!("a body {:?} (pinned none)", body_text()));
                }
                if let Some(ct) = content_type {
                    why.push(format!("content-type {ct:?} without a pinned body"));
                }
            }
            Body::Json(expected) => {
                if content_type != Some("application/json") {
                    why.push(format!(
                        "content-type {content_type:?} (pinned application/json)"
                    ));
                }
                if serde_json::from_slice::<Value>(&request.body).ok().as_ref() != Some(expected) {
                    why.push(format!("body {} (pinned {expected})", body_text()));
                }
            }
            Body::JsonText(expected) => {
                if content_type != Some("application/json") {
                    why.push(format!(
                        "content-type {content_type:?} (pinned application/json)"
                    ));
                }
                if request.body != expected.as_bytes() {
                    why.push(format!("body {:?} (pinned {expected:?})", body_text()));
                }
            }
        }
    }
}

impl Match for Pinned {
    fn matches(&self, request: &Request) -> bool {
        self.mismatches(request).is_empty()
    }
}

/// The value of header `name` of `request`, when it is there and is text.
pub fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Every request `server` has received, in order.
///
/// # Panics
///
/// When the server does not record requests (a fake's own server, from
/// `start()`, does not: use [`strict_server`](super::strict_server) or
/// `MockServer::start()`).
pub async fn received(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("this MockServer does not record requests")
}

/// A response with `body` as JSON.
pub fn json_response(status: u16, body: &Value) -> ResponseTemplate {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    ResponseTemplate::new(status).set_body_raw(bytes, "application/json")
}

/// Expects `pinned` exactly `times` times on `server`, answering `status`
/// with `body` as JSON; checked when `server` is dropped.
pub async fn expect(server: &MockServer, pinned: Pinned, status: u16, body: Value, times: u64) {
    Mock::given(pinned)
        .respond_with(json_response(status, &body))
        .expect(times)
        .mount(server)
        .await;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TOKEN: &str = "s3cret-token";

    async fn send(server: &MockServer, path: &str, body: Option<&str>, token: &str) {
        let client = reqwest::Client::new();
        let url = format!("{}{path}", server.uri());
        let request = match body {
            None => client.get(url),
            Some(b) => client
                .post(url)
                .header("content-type", "application/json")
                .body(b.to_owned()),
        };
        request
            .header("accept", "application/json")
            .header("user-agent", "volume-rs/0.1.0 test")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_pinned_request_says_what_differs_without_the_secret() {
        let rules = WireRules::new()
            .with_bearer(TOKEN)
            .with_pinned_only_header("x-filter");
        let server = MockServer::start().await;
        send(&server, "/v4/volumes?page=2", None, TOKEN).await;
        send(&server, "/v4/volumes", Some(r#"{"a": 1}"#), "wrong").await;
        let got = received(&server).await;

        let list = rules.pin("GET", "/v4/volumes").query("page", "2");
        assert!(list.matches(&got[0]), "{:?}", list.mismatches(&got[0]));
        let filtered = list.clone().header("x-filter", "{}");
        assert_eq!(
            filtered.mismatches(&got[0]),
            ["header x-filter: None (pinned \"{}\")"]
        );

        let create = rules.pin("POST", "/v4/volumes").json(json!({"a": 1}));
        let why = create.mismatches(&got[1]);
        assert_eq!(
            why,
            ["an authorization header other than the expected one"],
            "{why:?}"
        );
        let exact = rules.pin("POST", "/v4/volumes").json_text(r#"{"a":1}"#);
        assert_eq!(exact.mismatches(&got[1]).len(), 2);
        assert!(!format!("{why:?} {rules:?} {create:?}").contains(TOKEN));
        // Method, authorization, body and content-type all differ.
        assert_eq!(rules.pin("GET", "/v4/volumes").mismatches(&got[1]).len(), 4);
    }

    #[tokio::test]
    async fn a_computed_authorization_is_checked_against_the_request() {
        let rules = WireRules::new().with_authorization(|r| format!("Bearer {}", r.url.path()));
        let server = MockServer::start().await;
        send(&server, "/v2/zone", None, "/v2/zone").await;
        send(&server, "/v2/zone", None, "other").await;
        let got = received(&server).await;
        let pinned = rules.pin("GET", "/v2/zone");
        assert!(pinned.matches(&got[0]));
        assert!(!pinned.matches(&got[1]));
        assert_eq!(
            pinned.clone().anonymous().mismatches(&got[0]),
            ["an authorization header, where none is expected"]
        );
    }
}
