//! Authentication through the transport: static credentials, a signer that
//! must see the exact bytes sent, and tokens that renew themselves.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use volume_core::http::{
    AuthRequest, BearerToken, HeaderAuth, HeaderName, HeaderValue, RefreshingToken, Request,
    RetryConfig, Secret, Signer, Token, Transport, TransportBuilder, Url,
};
use volume_core::Error;
use wiremock::matchers::{any, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn transport(server: &MockServer) -> TransportBuilder {
    Transport::builder("test", Url::parse(&server.uri()).unwrap())
        .for_paused_clock()
        .retry(
            RetryConfig::default()
                .with_backoff(volume_core::http::BackoffConfig::new(
                    Duration::from_secs(1),
                    Duration::from_secs(1),
                ))
                .with_seed(1),
        )
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({}))
}

#[tokio::test]
async fn bearer_and_header_credentials_are_sent() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer b3arer"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("x-auth-token", "k3ystone"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let bearer = transport(&server)
        .auth(BearerToken::new(Secret::new("b3arer")).unwrap())
        .build()
        .unwrap();
    bearer.send(Request::get(["volumes"])).await.unwrap();
    let keyed = transport(&server)
        .auth(HeaderAuth::new("X-Auth-Token", Secret::new("k3ystone")).unwrap())
        .build()
        .unwrap();
    keyed.send(Request::get(["volumes"])).await.unwrap();
}

/// FNV-1a, standing in for an HMAC: what matters is what it is computed over.
fn digest(parts: &[&[u8]]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(b"\n") {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[tokio::test(start_paused = true)]
async fn the_signer_sees_exactly_what_is_sent_on_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any()).respond_with(ok()).mount(&server).await;

    let signed = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&signed);
    let key = Secret::new("s1gning-key");
    let signer = Signer::new(move |req: &AuthRequest<'_>| {
        s.lock().unwrap().push(req.body().to_vec());
        let sig = digest(&[
            req.method().as_str().as_bytes(),
            req.path().as_bytes(),
            req.query().unwrap_or("").as_bytes(),
            req.body(),
            key.expose().as_bytes(),
        ]);
        Ok(vec![(
            HeaderName::from_static("x-signature"),
            HeaderValue::from_str(&sig).unwrap(),
        )])
    });
    let t = transport(&server).auth(signer).build().unwrap();
    // A PUT (retried on 503) with a body whose bytes depend on serialisation details.
    let body = json!({"name": "db é", "size": 10, "nested": {"b": [1, 2.5, null]}});
    t.send(
        Request::put(["volumes", "v/1"])
            .query("zone", "ch-gva-2")
            .json(&body),
    )
    .await
    .unwrap();

    let received = server.received_requests().await.unwrap();
    let signed = signed.lock().unwrap();
    assert_eq!(received.len(), 2, "the 503 was retried");
    assert_eq!(signed.len(), 2, "each attempt was signed");
    for (req, signed_body) in received.iter().zip(signed.iter()) {
        assert_eq!(&req.body, signed_body, "signed bytes are the sent bytes");
        let expected = digest(&[
            req.method.as_str().as_bytes(),
            req.url.path().as_bytes(),
            req.url.query().unwrap_or("").as_bytes(),
            &req.body,
            b"s1gning-key",
        ]);
        assert_eq!(req.headers["x-signature"], expected.as_str());
    }
    assert_eq!(received[0].url.path(), "/volumes/v%2F1");
}

/// A token source that hands out `t1`, `t2`, ... and counts its fetches.
fn counting_source(
    lifetime: Option<Duration>,
) -> (
    Arc<AtomicUsize>,
    impl Fn() -> std::future::Ready<volume_core::Result<Token>> + Send + Sync + 'static,
) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let f = Arc::clone(&fetches);
    let source = move || {
        let n = f.fetch_add(1, Ordering::SeqCst) + 1;
        let token = Token::new(format!("t{n}"));
        std::future::ready(Ok(match lifetime {
            Some(life) => token.expires_in(life),
            None => token,
        }))
    };
    (fetches, source)
}

#[tokio::test]
async fn a_401_renews_the_token_and_sends_once_more() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer t1"))
        .respond_with(ResponseTemplate::new(401).set_body_string("token expired"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer t2"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let (fetches, source) = counting_source(None);
    let t = transport(&server)
        .auth(RefreshingToken::new(source))
        .build()
        .unwrap();
    // Even a create: a 401 means it was not done.
    let resp = t.send(Request::post(["volumes"])).await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_401_after_renewal_is_final() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_string("who are you"))
        .expect(2)
        .mount(&server)
        .await;
    let (fetches, source) = counting_source(None);
    let t = transport(&server)
        .auth(RefreshingToken::new(source))
        .build()
        .unwrap();
    let err = t.send(Request::get(["volumes"])).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
    assert!(err.to_string().contains("who are you"), "{err}");
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_is_renewed_before_it_is_sent() {
    let server = MockServer::start().await;
    Mock::given(header("x-auth-token", "t1"))
        .respond_with(ok())
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(header("x-auth-token", "t2"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let (fetches, source) = counting_source(Some(Duration::from_secs(3600)));
    let auth = RefreshingToken::new(source)
        .in_header(HeaderName::from_static("x-auth-token"))
        .with_refresh_margin(Duration::from_secs(60));
    let t = transport(&server).auth(auth).build().unwrap();
    t.send(Request::get(["volumes"])).await.unwrap();
    tokio::time::advance(Duration::from_secs(3500)).await;
    t.send(Request::get(["volumes"])).await.unwrap();
    // Within the margin of its expiry: renewed without waiting for a 401.
    tokio::time::advance(Duration::from_secs(41)).await;
    t.send(Request::get(["volumes"])).await.unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_requests_share_one_renewal() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer t1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer t2"))
        .respond_with(ok())
        .expect(8)
        .mount(&server)
        .await;
    let (fetches, source) = counting_source(None);
    let t = transport(&server)
        .auth(RefreshingToken::new(source))
        .build()
        .unwrap();
    let all = futures::future::join_all((0..8).map(|i| {
        let t = t.clone();
        async move { t.send(Request::get(["volumes", &i.to_string()])).await }
    }))
    .await;
    for r in all {
        r.unwrap();
    }
    // One fetch for the first token, one renewal shared by all eight 401s.
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failing_token_source_fails_the_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ok())
        .expect(0)
        .mount(&server)
        .await;
    let t = transport(&server)
        .auth(RefreshingToken::new(|| async {
            Err::<Token, _>(Error::Unauthenticated {
                message: "wrong password".into(),
                api: None,
            })
        }))
        .build()
        .unwrap();
    let err = t.send(Request::get(["volumes"])).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
}
