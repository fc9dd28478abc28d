//! Fakes mounted on a wiremock server, for tests.
//!
//! A wiremock responder cannot close a connection, but a mock built with
//! `respond_with_err` can; so a fake is mounted as two mocks. The first, at
//! priority 1, answers the request inside its matcher, keeps the answer,
//! and matches only when the answer is an injected dropped connection
//! (then wiremock closes the connection). The second, at priority 2, sends
//! the kept answer. The `volume-sim` binary does not use this: it serves
//! fakes with hyper directly ([`serve`](crate::serve)).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use wiremock::{Match, Mock, MockServer, Request};

use super::message::{FakeRequest, FakeResponse};
use super::pipeline::{strip_prefix, Handler};
use super::reject::Rejection;

/// The answer computed by the first mock and picked up by the second.
/// wiremock runs a request's matchers and then its responder before taking
/// the next request on that connection, and the address and contents of
/// the request tell answers to concurrent requests apart.
type Slot = Arc<Mutex<Vec<(usize, String, FakeResponse)>>>;

fn fingerprint(request: &Request) -> (usize, String) {
    (
        std::ptr::from_ref(request) as usize,
        format!("{} {} {}", request.method, request.url, request.body.len()),
    )
}

/// Matches the paths under a handler's prefixes.
struct UnderPrefixes(&'static [&'static str]);

impl Match for UnderPrefixes {
    fn matches(&self, request: &Request) -> bool {
        let path = request.url.path();
        self.0.iter().any(|p| strip_prefix(path, p).is_some())
    }
}

/// The first mock's matcher (see the module docs).
struct Decide {
    handler: Arc<dyn Handler>,
    slot: Slot,
    /// The mock server's address (wiremock does not say which address a
    /// request arrived at).
    local: SocketAddr,
}

/// `request` for the fake, with the server's address.
fn fake_request(request: &Request, local: SocketAddr) -> FakeRequest {
    let mut fake = FakeRequest::from(request);
    fake.local_addr = Some(local);
    fake
}

impl Match for Decide {
    fn matches(&self, request: &Request) -> bool {
        let response = self.handler.handle(&fake_request(request, self.local));
        let drop_connection = response.drop_connection;
        let (addr, print) = fingerprint(request);
        if !drop_connection {
            // A dropped connection never reaches the second mock: keep
            // only what it will pick up.
            let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
            slot.retain(|(a, p, _)| !(*a == addr && *p == print));
            slot.push((addr, print, response));
        }
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

/// Mounts `handler` on `server` for every path under its prefixes.
pub(crate) async fn mount(server: &MockServer, handler: Arc<dyn Handler>) {
    let slot: Slot = Arc::default();
    let prefixes = handler.prefixes();
    let local = *server.address();
    Mock::given(UnderPrefixes(prefixes))
        .and(Decide {
            handler: Arc::clone(&handler),
            slot: Arc::clone(&slot),
            local,
        })
        .respond_with_err(move |_: &Request| Dropped)
        .with_priority(1)
        .named("volume-sim fake: dropped connections")
        .mount(server)
        .await;
    Mock::given(UnderPrefixes(prefixes))
        .respond_with(move |request: &Request| {
            let (addr, print) = fingerprint(request);
            let kept = {
                let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
                slot.iter()
                    .position(|(a, p, _)| *a == addr && *p == print)
                    .map(|i| slot.swap_remove(i).2)
            };
            // Not seen by the first mock (another mock answered it first):
            // answer it now.
            let response = kept.unwrap_or_else(|| handler.handle(&fake_request(request, local)));
            if response.drop_connection {
                // Only reachable when the first mock was bypassed.
                return handler.reject(&Rejection::internal()).into_template();
            }
            response.into_template()
        })
        .with_priority(2)
        .named("volume-sim fake")
        .mount(server)
        .await;
}

/// Mounts, below every fake, `handler`'s 404 for any request that no mock
/// claims, instead of wiremock's empty one.
pub(crate) async fn mount_fallback(server: &MockServer, handler: Arc<dyn Handler>) {
    Mock::given(wiremock::matchers::any())
        .respond_with(move |_: &Request| {
            handler
                .reject(&Rejection::not_found("Not found"))
                .into_template()
        })
        .with_priority(u8::MAX)
        .named("volume-sim: not found")
        .mount(server)
        .await;
}
