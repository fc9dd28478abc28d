//! Each provider's wire protocol, served from the [`engine`](crate::engine).
//!
//! A fake answers a provider's documented endpoints the way the provider
//! does: its status codes, its error bodies, its pagination and its
//! authentication, with the provider's [`Policy`](crate::engine::Policy)
//! enforced by the engine underneath. Provider clients are tested end to end
//! against a fake (a stateful server, not a list of canned answers), and
//! people can point their own tools, official SDKs and CLIs included, at one
//! (see the `volume-sim` binary and [`serve`](crate::serve)).
//!
//! Each fake builds its JSON from the provider's documentation and real
//! recordings on its own, never from a client crate's wire types, so a wrong
//! field name cannot agree on both sides unnoticed.
//!
//! Fakes mount on a [`wiremock::MockServer`]. Their responders are
//! synchronous (as wiremock's are), hold the engine's lock only while they
//! compute an answer, and never panic: a request that would make one panic
//! is answered with the provider's 500 instead.
//!
//! | provider | module | path prefix |
//! |---|---|---|
//! | Linode API v4 | [`linode`] | `/v4`, `/v4beta` |
//! | Exoscale API v2 | [`exoscale`] | `/v2` |

pub mod exoscale;
pub mod linode;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use wiremock::http::{HeaderName, HeaderValue};
use wiremock::matchers::path_regex;
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// One answer of a fake, before it becomes a wiremock response.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// The HTTP status (kept to 200..=599 when sent).
    pub(crate) status: u16,
    /// The body, sent with exactly `Content-Type: <content_type>`.
    pub(crate) body: Vec<u8>,
    /// The content type of the body.
    pub(crate) content_type: &'static str,
    /// Extra headers.
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// How long to wait before answering (injected latency).
    pub(crate) delay: Option<Duration>,
    /// Drop the connection instead of answering (an injected fault).
    pub(crate) drop_connection: bool,
}

impl Reply {
    /// A JSON answer.
    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            // Serialising a `Value` cannot fail.
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
            content_type: "application/json",
            headers: Vec::new(),
            delay: None,
            drop_connection: false,
        }
    }

    /// Adds a header; a value that is not a valid header value is left out.
    pub(crate) fn header(mut self, name: &'static str, value: impl AsRef<str>) -> Self {
        if let Ok(value) = HeaderValue::from_str(value.as_ref()) {
            self.headers.push((HeaderName::from_static(name), value));
        }
        self
    }

    /// The wiremock response. Never panics: the status is brought into
    /// 200..=599 and headers were checked when they were added.
    pub(crate) fn into_template(self) -> ResponseTemplate {
        let status = if (200..=599).contains(&self.status) {
            self.status
        } else {
            500
        };
        let mut template = ResponseTemplate::new(status);
        for (name, value) in self.headers {
            template = template.append_header(name, value);
        }
        template = template.set_body_raw(self.body, self.content_type);
        match self.delay {
            Some(d) if !d.is_zero() => template.set_delay(d),
            _ => template,
        }
    }
}

/// What a fake does with one request.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Answers `request`. Must not panic (it is called under
    /// [`catch_unwind`] all the same).
    fn handle(&self, request: &Request) -> Reply;

    /// The answer when `handle` panicked anyway: the provider's 500.
    fn internal_error(&self) -> Reply;
}

/// Runs the handler, turning a panic into its 500.
pub(crate) fn handle_safely(handler: &dyn Handler, request: &Request) -> Reply {
    catch_unwind(AssertUnwindSafe(|| handler.handle(request)))
        .unwrap_or_else(|_| handler.internal_error())
}

/// The answer computed for a request by the first of a fake's two mocks and
/// picked up by the second (see [`mount`]). Requests are handled one at a
/// time by wiremock, so one slot is enough; the request's address and
/// contents make sure it is the same request.
type Slot = Arc<Mutex<Option<(usize, String, Reply)>>>;

fn fingerprint(request: &Request) -> (usize, String) {
    (
        std::ptr::from_ref(request) as usize,
        format!("{} {} {}", request.method, request.url, request.body.len()),
    )
}

/// The first mock's matcher: answers the request, keeps the answer, and
/// matches only when the answer is to drop the connection.
struct Decide {
    handler: Arc<dyn Handler>,
    slot: Slot,
}

impl Match for Decide {
    fn matches(&self, request: &Request) -> bool {
        let reply = handle_safely(&*self.handler, request);
        let drop_connection = reply.drop_connection;
        let (addr, print) = fingerprint(request);
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some((addr, print, reply));
        drop_connection
    }
}

/// The error that makes wiremock close the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("volume-sim dropped the connection (injected fault)")
    }
}

impl std::error::Error for Dropped {}

/// Mounts `handler` on `server` for every path matching `path_pattern`.
///
/// Two mocks are mounted, at priorities 1 and 2: the first computes the
/// answer and, when the answer is an injected dropped connection, closes the
/// connection without answering (wiremock's `respond_with_err`); otherwise
/// the second sends the answer computed by the first. Other mocks mounted on
/// the same paths should use a priority above 2.
pub(crate) async fn mount(server: &MockServer, path_pattern: &str, handler: Arc<dyn Handler>) {
    let slot: Slot = Arc::default();
    Mock::given(path_regex(path_pattern))
        .and(Decide {
            handler: Arc::clone(&handler),
            slot: Arc::clone(&slot),
        })
        .respond_with_err(move |_: &Request| Dropped)
        .with_priority(1)
        .named("volume-sim fake: dropped connections")
        .mount(server)
        .await;
    Mock::given(path_regex(path_pattern))
        .respond_with(move |request: &Request| {
            let (addr, print) = fingerprint(request);
            let kept = slot
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .filter(|(a, p, _)| *a == addr && *p == print);
            let reply = match kept {
                Some((_, _, reply)) => reply,
                // Not seen by the first mock (another mock answered it
                // first): answer it now.
                None => handle_safely(&*handler, request),
            };
            if reply.drop_connection {
                // Only reachable when the first mock was bypassed.
                return handler.internal_error().into_template();
            }
            reply.into_template()
        })
        .with_priority(2)
        .named("volume-sim fake")
        .mount(server)
        .await;
}

/// Mounts, below every fake, a JSON 404 (`{"errors": [{"reason": "Not
/// found"}]}`, Linode's shape) for any request no fake claims, instead of
/// wiremock's empty one.
pub(crate) async fn mount_not_found(server: &MockServer) {
    let body = serde_json::json!({"errors": [{"reason": "Not found"}]});
    Mock::given(wiremock::matchers::any())
        .respond_with(Reply::json(404, &body).into_template())
        .with_priority(u8::MAX)
        .named("volume-sim: not found")
        .mount(server)
        .await;
}

/// Whole seconds for a `Retry-After` header, rounded up.
pub(crate) fn retry_after_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::ZERO), 0);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
    }

    #[test]
    fn replies_never_panic_on_bad_status() {
        let _ = Reply::json(42, &serde_json::json!({})).into_template();
        let _ = Reply::json(1000, &serde_json::json!({})).into_template();
        let r = Reply::json(200, &serde_json::json!({})).header("x-test", "bad\nvalue");
        assert!(r.headers.is_empty());
    }
}
