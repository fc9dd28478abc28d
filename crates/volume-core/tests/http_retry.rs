//! Retries through the transport against a local mock server: what is
//! repeated, what is not, and when it stops. Time is tokio's paused clock,
//! except for the time-out tests, which need a real (short) time-out.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;
use volume_core::http::{BackoffConfig, Request, RetryConfig, Transport, TransportBuilder, Url};
use volume_core::Error;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn transport(server: &MockServer) -> TransportBuilder {
    Transport::builder("test", Url::parse(&server.uri()).unwrap()).for_paused_clock()
}

/// Every backoff delay is exactly `secs` seconds.
fn fixed_retry(max_retries: u32, secs: u64) -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(max_retries)
        .with_retry_timeout(Duration::from_secs(600))
        .with_backoff(BackoffConfig::new(
            Duration::from_secs(secs),
            Duration::from_secs(secs),
        ))
        .with_seed(7)
}

fn status(code: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_string(body)
}

#[tokio::test(start_paused = true)]
async fn a_429_is_retried_after_its_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/volumes/v1"))
        .respond_with(status(429, "slow down").insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/volumes/v1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "v1"})))
        .expect(1)
        .mount(&server)
        .await;
    // Backoff would wait 10 s: a 2 s wait shows Retry-After was used.
    let t = transport(&server)
        .retry(fixed_retry(3, 10))
        .build()
        .unwrap();
    let start = Instant::now();
    let v: Value = t.send_json(Request::get(["volumes", "v1"])).await.unwrap();
    let elapsed = start.elapsed();
    assert_eq!(v["id"], "v1");
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_get_answered_503_twice_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(status(503, "busy"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let t = transport(&server).retry(fixed_retry(3, 1)).build().unwrap();
    let start = Instant::now();
    let v: Value = t.send_json(Request::get(["volumes"])).await.unwrap();
    assert_eq!(v, json!([]));
    assert!(start.elapsed() >= Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_create_answered_503_is_not_retried_and_its_outcome_is_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/volumes"))
        .respond_with(status(503, "upstream hiccup"))
        .expect(1)
        .mount(&server)
        .await;
    let t = transport(&server).retry(fixed_retry(5, 1)).build().unwrap();
    let err = t
        .send(Request::post(["volumes"]).json(&json!({"label": "db", "size": 10})))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
    assert_eq!(err.status(), Some(503));
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("may or may not have taken effect"), "{text}");
    assert!(text.contains("upstream hiccup"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_create_answered_408_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(status(408, "too slow"))
        .expect(1)
        .mount(&server)
        .await;
    let t = transport(&server).retry(fixed_retry(5, 1)).build().unwrap();
    let err = t.send(Request::post(["volumes"])).await.unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn a_create_answered_429_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(status(429, "").insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let t = transport(&server).retry(fixed_retry(3, 1)).build().unwrap();
    let resp = t.send(Request::post(["volumes"])).await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
}

#[tokio::test(start_paused = true)]
async fn a_post_declared_idempotent_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(status(502, "bad gateway"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let t = transport(&server).retry(fixed_retry(3, 1)).build().unwrap();
    let req = Request::post(["volumes", "v1", "detach"]).idempotent(true);
    t.send(req).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_max_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(status(500, "broken"))
        .expect(3)
        .mount(&server)
        .await;
    let t = transport(&server).retry(fixed_retry(2, 1)).build().unwrap();
    let err = t.send(Request::get(["volumes"])).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(
        !err.outcome_unknown(),
        "a GET has no unknown outcome: {err}"
    );
    assert!(err.to_string().contains("broken"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_retry_timeout() {
    let server = MockServer::start().await;
    // Attempts at 0 s, 1 s, 2 s and 3 s; one more would start at 4 s > 3.5 s.
    Mock::given(method("GET"))
        .respond_with(status(503, "busy"))
        .expect(4)
        .mount(&server)
        .await;
    let retry = fixed_retry(100, 1).with_retry_timeout(Duration::from_millis(3_500));
    let t = transport(&server).retry(retry).build().unwrap();
    let start = Instant::now();
    let err = t.send(Request::get(["volumes"])).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(3) && elapsed <= Duration::from_millis(3_500),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_the_budget_is_returned_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(status(429, "later").insert_header("Retry-After", "120"))
        .expect(1)
        .mount(&server)
        .await;
    let retry = fixed_retry(5, 1).with_retry_timeout(Duration::from_secs(60));
    let t = transport(&server).retry(retry).build().unwrap();
    let err = t.send(Request::get(["volumes"])).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
}

#[tokio::test(start_paused = true)]
async fn a_create_that_cannot_connect_is_retried() {
    // A port nobody listens on: the connection is refused, nothing is sent.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let t = Transport::builder("test", base)
        .for_paused_clock()
        .retry(fixed_retry(2, 1))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = t.send(Request::post(["volumes"])).await.unwrap_err();
    match &err {
        Error::Transport {
            outcome_unknown,
            timed_out,
            ..
        } => {
            assert!(!outcome_unknown, "{err}");
            assert!(!timed_out, "{err}");
        }
        other => panic!("{other:?}"),
    }
    // Two retries, one second apart: it was retried although it is a POST.
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

// The time-out tests use a real clock: a paused clock would fire the
// time-out while the mock server is still answering. The server waits 10 s,
// the time-out is 300 ms, so the outcome does not depend on machine speed.

fn slow() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({}))
        .set_delay(Duration::from_secs(10))
}

fn quick_retry(max_retries: u32) -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(max_retries)
        .with_backoff(BackoffConfig::new(
            Duration::from_millis(1),
            Duration::from_millis(1),
        ))
}

#[tokio::test]
async fn a_get_that_times_out_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(slow())
        .expect(2)
        .mount(&server)
        .await;
    let t = Transport::builder("test", Url::parse(&server.uri()).unwrap())
        .timeout(Duration::from_millis(300))
        .retry(quick_retry(1))
        .build()
        .unwrap();
    let err = t.send(Request::get(["volumes"])).await.unwrap_err();
    match &err {
        Error::Transport {
            timed_out,
            outcome_unknown,
            ..
        } => {
            assert!(timed_out, "{err}");
            assert!(!outcome_unknown, "{err}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_create_that_times_out_is_not_retried_and_its_outcome_is_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(slow())
        .expect(1)
        .mount(&server)
        .await;
    let t = Transport::builder("test", Url::parse(&server.uri()).unwrap())
        .timeout(Duration::from_secs(30))
        .retry(quick_retry(3))
        .build()
        .unwrap();
    // The request's own time-out wins over the transport's.
    let req = Request::post(["volumes"])
        .json(&json!({"size": 1}))
        .timeout(Duration::from_millis(300));
    let err = t.send(req).await.unwrap_err();
    match &err {
        Error::Transport {
            timed_out,
            outcome_unknown,
            ..
        } => {
            assert!(timed_out, "{err}");
            assert!(outcome_unknown, "{err}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("may or may not have taken effect"),
        "{err}"
    );
}

/// A DELETE answered 503, then 404 on its repeat: the first attempt may
/// have done it, so "not found" comes with an unknown outcome rather than
/// as a plain answer.
#[tokio::test(start_paused = true)]
async fn a_delete_refused_after_an_attempt_that_may_have_acted_is_outcome_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/volumes/7"))
        .respond_with(status(503, "busy"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/volumes/7"))
        .respond_with(status(404, "no such volume"))
        .expect(1)
        .mount(&server)
        .await;
    let t = transport(&server).retry(fixed_retry(3, 1)).build().unwrap();
    let e = t.send(Request::delete(["volumes", "7"])).await.unwrap_err();
    assert!(e.is_not_found() && e.outcome_unknown(), "{e:?}");
}

/// A DELETE answered 404 at once did nothing: a plain not-found.
#[tokio::test(start_paused = true)]
async fn a_delete_refused_at_once_is_a_plain_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/volumes/7"))
        .respond_with(status(404, "no such volume"))
        .expect(1)
        .mount(&server)
        .await;
    let t = transport(&server).retry(fixed_retry(3, 1)).build().unwrap();
    let e = t.send(Request::delete(["volumes", "7"])).await.unwrap_err();
    assert!(e.is_not_found() && !e.outcome_unknown(), "{e:?}");
}
