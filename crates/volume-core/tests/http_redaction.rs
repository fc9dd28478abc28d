//! No credential ever shows: not in `Debug` of anything that holds one, not
//! in error messages, not in traces at TRACE level (our own spans and
//! events, and reqwest's and hyper's logs bridged from the `log` crate).
//!
//! One test in its own binary, because it installs the global subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;
use volume_core::http::{
    AuthHeaders, AuthRequest, BearerToken, HeaderAuth, HeaderMap, HeaderName, HeaderValue, Method,
    RefreshingToken, Request, RetryConfig, Secret, Signer, Token, Transport, Url,
};
use volume_core::Error;
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRETS: &[&str] = &[
    "BEARER-s3cret-1",
    "HEADER-s3cret-2",
    "SIGNING-s3cret-3",
    "TOKEN-s3cret-4",
    "TOKEN-s3cret-5",
    "QUERY-s3cret-6",
    "BODY-s3cret-7",
    "URL-s3cret-8",
    "RESPONSE-s3cret-9",
];

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

#[derive(Clone)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn signer() -> Signer {
    let key = Secret::new("SIGNING-s3cret-3");
    Signer::new(move |req: &AuthRequest<'_>| {
        let value = format!("HMAC key={} len={}", key.expose(), req.body().len());
        Ok(vec![(
            HeaderName::from_static("authorization"),
            HeaderValue::from_str(&value).unwrap(),
        )])
    })
}

fn refreshing() -> RefreshingToken {
    let n = Arc::new(Mutex::new(3));
    RefreshingToken::new(move || {
        let mut n = n.lock().unwrap();
        *n += 1;
        std::future::ready(Ok(Token::new(format!("TOKEN-s3cret-{n}"))))
    })
}

#[tokio::test(start_paused = true)]
async fn credentials_never_show() {
    let logs = Buffer(Arc::new(Mutex::new(Vec::new())));
    let writer = logs.clone();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
                // The mock server's own logs describe what it received (a
                // server log, not ours); everything else is kept.
                .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                    !meta.target().starts_with("wiremock")
                }))
                .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
        )
        .try_init()
        .unwrap();

    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer TOKEN-s3cret-4"))
        .respond_with(ResponseTemplate::new(401).set_body_string("token expired"))
        .mount(&server)
        .await;
    Mock::given(path("/denied"))
        .respond_with(ResponseTemplate::new(403).set_body_string("not yours"))
        .mount(&server)
        .await;
    // A provider that echoes the request's headers in its error bodies:
    // first busy (so the echo reaches a `retrying` log line), then refusing.
    Mock::given(path("/echo"))
        .respond_with(Echo(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(path("/echo"))
        .respond_with(Echo(400))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Subject-Token", "RESPONSE-s3cret-9")
                .set_body_json(json!({})),
        )
        .mount(&server)
        .await;
    let base = Url::parse(&server.uri()).unwrap();
    let retry = RetryConfig::default().with_backoff(volume_core::http::BackoffConfig::new(
        Duration::from_millis(10),
        Duration::from_millis(10),
    ));
    let build = |auth: Box<dyn volume_core::http::Authenticate>| {
        Transport::builder("test", base.clone())
            .for_paused_clock()
            .retry(retry)
            .auth(auth)
    };

    // Debug of everything that holds a credential.
    let bearer = BearerToken::new(Secret::new("BEARER-s3cret-1")).unwrap();
    let header_auth = HeaderAuth::new("X-Api-Key", Secret::new("HEADER-s3cret-2")).unwrap();
    let mut shown = vec![
        format!("{:?}", Secret::new("BEARER-s3cret-1")),
        format!("{}", Secret::new("BEARER-s3cret-1")),
        format!("{bearer:?}"),
        format!("{header_auth:#?}"),
        format!("{:?}", signer()),
        format!("{:?}", refreshing()),
        format!("{:?}", Token::new("TOKEN-s3cret-4")),
        format!(
            "{:?}",
            AuthHeaders::new().with(
                HeaderName::from_static("authorization"),
                HeaderValue::from_static("Bearer BEARER-s3cret-1")
            )
        ),
        format!(
            "{:?}",
            Request::post(["volumes"])
                .query("api_key", "QUERY-s3cret-6")
                .secret_header("X-Key", &Secret::new("HEADER-s3cret-2"))
                .json(&json!({"password": "BODY-s3cret-7"}))
        ),
        format!("{:?}", build(Box::new(bearer.clone()))),
    ];
    let transports = [
        build(Box::new(bearer.clone())).build().unwrap(),
        build(Box::new(header_auth.clone())).build().unwrap(),
        build(Box::new(signer())).build().unwrap(),
        build(Box::new(refreshing())).build().unwrap(),
    ];
    for t in &transports {
        shown.push(format!("{t:?}"));
        shown.push(format!("{t:#?}"));
    }
    // Requests of every kind through every authenticator: a retry, a 401
    // renewal, secrets in the query and the body, an error answer.
    for t in &transports {
        t.send(Request::get(["busy"])).await.unwrap();
        let ok = t
            .send(
                Request::post(["volumes"])
                    .query("api_key", "QUERY-s3cret-6")
                    .json(&json!({"password": "BODY-s3cret-7"})),
            )
            .await
            .unwrap();
        shown.push(format!("{ok:?}"));
        let err = t.send(Request::get(["denied"])).await.unwrap_err();
        shown.push(format!("{err} {err:?}"));
        let err = t.send(Request::get(["echo"])).await.unwrap_err();
        // The echo is in the message, with the credential scrubbed out.
        assert!(err.to_string().contains("you sent"), "{err}");
        assert!(err.to_string().contains("******"), "{err}");
        shown.push(format!("{err} {err:?}"));
    }

    // Errors: a transport error for a URL with a secret in its query, a base
    // URL with a password, a header value from a caller.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let closed = Transport::builder(
        "test",
        Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap(),
    )
    .for_paused_clock()
    .retry(RetryConfig::none())
    .auth(BearerToken::new("BEARER-s3cret-1").unwrap())
    .build()
    .unwrap();
    let err = closed
        .send(Request::get(["v"]).query("token", "QUERY-s3cret-6"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("token=******"), "{err}");
    shown.push(format!("{err} {err:?}"));
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        shown.push(format!("{s} {s:?}"));
        source = s.source();
    }
    let err = Transport::builder(
        "test",
        Url::parse("https://user:URL-s3cret-8@example.com/").unwrap(),
    )
    .build()
    .unwrap_err();
    shown.push(format!("{err} {err:?}"));
    let err = closed
        .send(Request::get(["v"]).header("X-Key", "HEADER-s3cret-2\n"))
        .await
        .unwrap_err();
    shown.push(format!("{err} {err:?}"));
    let err = BearerToken::new("BEARER-s3cret-1\r\n").unwrap_err();
    shown.push(format!("{err} {err:?}"));
    let (m, u, h) = (
        Method::POST,
        Url::parse("https://h/p?api_key=QUERY-s3cret-6").unwrap(),
        HeaderMap::new(),
    );
    shown.push(format!(
        "{:?}",
        AuthRequest::new(&m, &u, &h, b"BODY-s3cret-7")
    ));

    for (i, text) in shown.iter().enumerate() {
        assert_clean(&format!("item {i}"), text);
    }

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_clean("the trace", &logs);
    // The capture works: our span and its fields, and reqwest's own logs.
    assert!(logs.contains("http_request"), "{logs}");
    assert!(logs.contains("attempt=2"), "{logs}");
    assert!(logs.contains("status=200"), "{logs}");
    assert!(logs.contains("path=/volumes"), "{logs}");
    assert!(logs.contains("retrying"), "{logs}");
    assert!(logs.contains("reqwest"), "reqwest's log is bridged: {logs}");
    assert!(logs.contains("TRACE"), "{logs}");
    if std::env::var_os("SHOW_LOGS").is_some() {
        eprintln!("{logs}");
    }
}

/// Answers `.0` with every request header written into the body, as some
/// providers' error pages do.
struct Echo(u16);

impl wiremock::Respond for Echo {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let sent: Vec<String> = request
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
            .collect();
        ResponseTemplate::new(self.0).set_body_string(format!("you sent {}", sent.join("; ")))
    }
}
