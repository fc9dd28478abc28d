//! The catch-all mock: one wiremock fallback, shared by every provider's
//! wire tests, that fails loudly on a request nobody expected.

use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// Matches any request at all (the catch-all's matcher).
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyRequest;

impl Match for AnyRequest {
    fn matches(&self, _: &Request) -> bool {
        true
    }
}

/// The name the catch-all carries in wiremock's failure message.
const NAME: &str = "catch-all: a request no pinned mock expects";

/// Mounts the catch-all on `server`: any request that no other mock
/// matches is answered `418 unexpected request`, and, because the
/// catch-all expects no calls, fails the test when `server` is dropped
/// (wiremock's verification names the mock and lists the requests).
///
/// It sits at the lowest priority (`u8::MAX`), so every other mock is
/// tried first. A client under test usually maps the 418 to an error, so
/// the test tends to fail earlier, at the call; the drop is the backstop
/// for calls whose errors the test does not look at.
pub async fn catch_all(server: &MockServer) {
    Mock::given(AnyRequest)
        .respond_with(ResponseTemplate::new(418).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .expect(0)
        .named(NAME)
        .mount(server)
        .await;
}

/// A new wiremock server on loopback with the [`catch_all`] mounted, and
/// request recording on (for [`received`](super::received)).
pub async fn strict_server() -> MockServer {
    let server = MockServer::start().await;
    catch_all(&server).await;
    server
}
