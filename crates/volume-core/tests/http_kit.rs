//! The provider kit's client-side seams, through a real transport against
//! loopback mock servers: request targets (action suffixes, same-origin
//! links), unsigned requests, a body rewritten per attempt by the
//! authenticator, a classifier for errors answered with 200, an endpoint
//! that comes with the credential, `ClientOptions`, and `paginate_links`.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use serde_json::{json, Value};
use volume_core::http::{
    paginate_links, AuthHeaders, AuthRequest, Authenticate, BackoffConfig, BearerToken,
    ClientOptions, ErrorContext, HeaderName, Method, RefreshingToken, Request, RetryConfig, Token,
    Transport, TransportBuilder, Url, USER_AGENT_PREFIX,
};
use volume_core::{Error, ResourceKind};
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, Request as Received, ResponseTemplate};

fn url(raw: &str) -> Url {
    Url::parse(raw).unwrap()
}

fn options() -> ClientOptions {
    ClientOptions::new().for_paused_clock().with_retry(
        RetryConfig::default()
            .with_seed(1)
            .with_backoff(BackoffConfig::new(
                Duration::from_secs(1),
                Duration::from_secs(1),
            )),
    )
}

fn transport_at(base: &str) -> TransportBuilder {
    Transport::builder("test", url(base)).client_options(&options())
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({}))
}

async fn received(server: &MockServer) -> Vec<Received> {
    server.received_requests().await.unwrap()
}

// ----- request targets -------------------------------------------------------

#[tokio::test]
async fn an_action_suffix_is_sent_literally_after_the_encoded_id() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ok()).mount(&server).await;
    let t = transport_at(&format!("{}/v2", server.uri()))
        .build()
        .unwrap();
    for id in ["vol-1", "%2e", "%2E%2E", "a?b", "a#b", "a:b", "x/../y"] {
        t.send(Request::put(["block-storage", id]).action_suffix(":attach"))
            .await
            .unwrap();
    }
    let paths: Vec<String> = received(&server)
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/v2/block-storage/vol-1:attach",
            "/v2/block-storage/%252e:attach",
            "/v2/block-storage/%252E%252E:attach",
            "/v2/block-storage/a%3Fb:attach",
            "/v2/block-storage/a%23b:attach",
            "/v2/block-storage/a%3Ab:attach",
            "/v2/block-storage/x%2F..%2Fy:attach",
        ]
    );
    for r in received(&server).await {
        assert_eq!(r.url.query(), None);
    }
}

#[tokio::test]
async fn bad_ids_and_suffixes_are_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ok()).mount(&server).await;
    let t = transport_at(&server.uri()).build().unwrap();
    let bad = [
        Request::put(["block-storage", ".."]).action_suffix(":attach"),
        Request::put(["block-storage", "."]).action_suffix(":attach"),
        Request::put(["block-storage", ""]).action_suffix(":attach"),
        Request::put(["block-storage", "v"]).action_suffix(":a/../b"),
        Request::put(["block-storage", "v"]).action_suffix(":a?b=c"),
        Request::put(["block-storage", "v"]).action_suffix(":a#b"),
        Request::put(["block-storage", "v"]).action_suffix(":%2e%2e"),
        Request::put(["block-storage", "v"]).action_suffix(":.."),
        Request::put(Vec::<String>::new()).action_suffix(":attach"),
    ];
    for request in bad {
        let shown = format!("{request:?}");
        let err = t.send(request).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { .. }),
            "{shown}: {err:?}"
        );
    }
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn a_same_origin_link_is_followed_with_its_query() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ok()).mount(&server).await;
    let t = transport_at(&format!("{}/v3/project", server.uri()))
        .auth(BearerToken::new("t0ken").unwrap())
        .build()
        .unwrap();
    let link = format!(
        "{}/v3/project/volumes/detail?marker=a%2Fb#frag",
        server.uri()
    );
    t.send(Request::follow(link).query("limit", "2"))
        .await
        .unwrap();
    t.send(Request::link(Method::POST, "/v3/project/volumes/v1/action"))
        .await
        .unwrap();
    let got = received(&server).await;
    assert_eq!(got[0].url.path(), "/v3/project/volumes/detail");
    assert_eq!(got[0].url.query(), Some("marker=a%2Fb&limit=2"));
    assert_eq!(got[0].headers["authorization"], "Bearer t0ken");
    assert_eq!(got[1].method.as_str(), "POST");
    assert_eq!(got[1].url.path(), "/v3/project/volumes/v1/action");
}

#[tokio::test]
async fn a_link_to_another_port_host_or_scheme_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(any()).respond_with(ok()).mount(&server).await;
    Mock::given(any()).respond_with(ok()).mount(&other).await;
    let t = transport_at(&server.uri())
        .auth(BearerToken::new("t0ken").unwrap())
        .build()
        .unwrap();
    let port = url(&server.uri()).port().unwrap();
    for link in [
        format!("{}/volumes", other.uri()),
        format!("http://localhost:{port}/volumes"),
        format!("https://127.0.0.1:{port}/volumes"),
        format!("//127.0.0.2:{port}/volumes"),
        format!("http://user:pw@127.0.0.1:{port}/volumes"),
    ] {
        let err = t.send(Request::follow(link.as_str())).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{link}: {err:?}");
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
    assert!(received(&server).await.is_empty());
    assert!(received(&other).await.is_empty());
}

#[tokio::test]
async fn one_transport_sends_signed_and_unsigned_requests() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ok()).mount(&server).await;
    let t = transport_at(&server.uri())
        .auth(BearerToken::new("t0ken").unwrap())
        .build()
        .unwrap();
    t.send(Request::get(["zone"]).without_auth()).await.unwrap();
    t.send(Request::get(["volumes"])).await.unwrap();
    let got = received(&server).await;
    assert!(!got[0].headers.contains_key("authorization"));
    assert_eq!(got[1].headers["authorization"], "Bearer t0ken");
}

// ----- hooks -----------------------------------------------------------------

/// SipHash with fixed keys, standing in for an HMAC: what matters is what
/// it is computed over.
fn mac(path: &str, body: &[u8], nonce: &str) -> String {
    let mut hasher = DefaultHasher::new();
    (path, body, nonce).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Signs inside a form body, LunaNode-style: a fresh nonce per attempt and
/// a signature over the request's fields and that nonce.
#[derive(Debug, Default)]
struct FormSigner {
    nonce: AtomicUsize,
    /// (the bytes the signer saw, the body it returned) per attempt.
    seen: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
}

#[async_trait]
impl Authenticate for FormSigner {
    async fn authenticate(&self, request: &AuthRequest<'_>) -> volume_core::Result<AuthHeaders> {
        let nonce = self.nonce.fetch_add(1, Ordering::SeqCst) + 1000;
        let nonce = nonce.to_string();
        let signature = mac(request.path(), request.body(), &nonce);
        let mut body = request.body().to_vec();
        body.extend_from_slice(format!("&nonce={nonce}&signature={signature}").as_bytes());
        self.seen
            .lock()
            .unwrap()
            .push((request.body().to_vec(), body.clone()));
        Ok(AuthHeaders::new().with_body(body))
    }
}

#[tokio::test(start_paused = true)]
async fn an_authenticator_rewrites_the_body_of_each_attempt_with_a_fresh_nonce() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any()).respond_with(ok()).mount(&server).await;
    let signer = Arc::new(FormSigner::default());
    let t = transport_at(&server.uri())
        .auth(Arc::clone(&signer))
        .build()
        .unwrap();
    t.send(
        Request::post(["volume", "list"])
            .trailing_slash()
            .idempotent(true)
            .form([("req", r#"{"region":"toronto"}"#)]),
    )
    .await
    .unwrap();

    let got = received(&server).await;
    let seen = signer.seen.lock().unwrap();
    assert_eq!(got.len(), 2, "the 503 was retried");
    assert_eq!(seen.len(), 2, "each attempt was signed");
    let original = b"req=%7B%22region%22%3A%22toronto%22%7D".to_vec();
    let mut nonces = Vec::new();
    for (request, (signed, returned)) in got.iter().zip(seen.iter()) {
        assert_eq!(signed, &original, "the signer saw the request's body");
        assert_eq!(
            &request.body, returned,
            "the returned body is what was sent"
        );
        assert_eq!(
            request.headers["content-type"],
            "application/x-www-form-urlencoded"
        );
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let nonce = &fields[1].1;
        let expected = mac(request.url.path(), &original, nonce);
        assert_eq!(fields[2], ("signature".to_owned(), expected));
        nonces.push(nonce.clone());
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per attempt");
    assert_ne!(got[0].body, got[1].body);
}

/// LunaNode's way: HTTP 200 with `{"success":"no","error":"..."}`.
fn lunanode_classifier(ctx: &ErrorContext<'_>) -> Option<Error> {
    let body: Value = serde_json::from_slice(ctx.body).ok()?;
    if body["success"] != "no" {
        return None;
    }
    let message = body["error"].as_str().unwrap_or("unknown error");
    Some(if message.contains("rate limit") {
        Error::RateLimited {
            retry_after: None,
            api: Some(Box::new(ctx.api_error(message))),
        }
    } else {
        Error::invalid_input("request", message)
    })
}

fn failure(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"success": "no", "error": message}))
}

#[tokio::test(start_paused = true)]
async fn a_classified_200_goes_through_the_one_retry_decision() {
    let server = MockServer::start().await;
    Mock::given(path("/limited"))
        .respond_with(failure("rate limit exceeded"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": "yes", "n": 1})))
        .mount(&server)
        .await;
    Mock::given(path("/invalid"))
        .respond_with(failure("bad size"))
        .mount(&server)
        .await;
    Mock::given(path("/fine"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": "yes"})))
        .mount(&server)
        .await;
    let t = transport_at(&server.uri())
        .response_classifier(lunanode_classifier)
        .build()
        .unwrap();

    // A rate limit answered with 200 is retried, even for a POST.
    let v: Value = t.send_json(Request::post(["limited"])).await.unwrap();
    assert_eq!(v["n"], 1);
    // An invalid request answered with 200 is final.
    let err = t.send(Request::get(["invalid"])).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    // An ordinary 200 passes.
    t.send(Request::get(["fine"])).await.unwrap();

    let count =
        |p: &'static str, got: &[Received]| got.iter().filter(|r| r.url.path() == p).count();
    let got = received(&server).await;
    assert_eq!(count("/limited", &got), 2);
    assert_eq!(count("/invalid", &got), 1);
    assert_eq!(count("/fine", &got), 1);
}

#[tokio::test(start_paused = true)]
async fn after_a_401_the_renewed_token_and_its_new_endpoint_are_used() {
    let old = MockServer::start().await;
    let new = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401))
        .mount(&old)
        .await;
    Mock::given(header("x-auth-token", "t2"))
        .respond_with(ok())
        .mount(&new)
        .await;
    let endpoints = [
        url(&format!("{}/v3/p1", old.uri())),
        url(&format!("{}/v3/p1", new.uri())),
    ];
    let fetches = Arc::new(AtomicUsize::new(0));
    let f = Arc::clone(&fetches);
    let source = move || {
        let n = f.fetch_add(1, Ordering::SeqCst);
        let endpoint = endpoints[n.min(1)].clone();
        std::future::ready(Ok(Token::new(format!("t{}", n + 1)).with_endpoint(endpoint)))
    };
    // The base URL is only a placeholder: the catalog decides.
    let t = transport_at("http://127.0.0.1:9/unused")
        .auth(RefreshingToken::new(source).in_header(HeaderName::from_static("x-auth-token")))
        .build()
        .unwrap();

    t.send(Request::get(["volumes", "v1"]).about(ResourceKind::Volume, "v1"))
        .await
        .unwrap();
    let got_old = received(&old).await;
    let got_new = received(&new).await;
    assert_eq!(got_old.len(), 1);
    assert_eq!(got_old[0].headers["x-auth-token"], "t1");
    assert_eq!(got_old[0].url.path(), "/v3/p1/volumes/v1");
    assert_eq!(got_new.len(), 1);
    assert_eq!(got_new[0].headers["x-auth-token"], "t2");
    assert_eq!(got_new[0].url.path(), "/v3/p1/volumes/v1");
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    assert_eq!(t.endpoint().as_str(), format!("{}/v3/p1", new.uri()));

    // Links are checked against the endpoint in force, not the base URL.
    t.send(Request::follow(format!(
        "{}/v3/p1/volumes?marker=x",
        new.uri()
    )))
    .await
    .unwrap();
    let err = t
        .send(Request::follow(format!("{}/v3/p1/volumes", old.uri())))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(received(&old).await.len(), 1);
    assert_eq!(received(&new).await.len(), 2);
}

// ----- options and pagination ------------------------------------------------

#[tokio::test]
async fn client_options_apply_in_one_call() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok())
        .mount(&server)
        .await;
    let http = volume_core::http::HttpClient::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(
            [(
                HeaderName::from_static("x-from-caller"),
                "yes".parse().unwrap(),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .unwrap();
    let options = options()
        .with_user_agent_suffix("kit-test/1")
        .with_retry(RetryConfig::none())
        .with_http_client(http);
    let t = Transport::builder("test", url(&server.uri()))
        .client_options(&options)
        .build()
        .unwrap();
    assert_eq!(t.retry_config().max_retries, 0);
    t.send(Request::get(["v"])).await.unwrap();
    let got = received(&server).await;
    assert_eq!(
        got[0].headers["user-agent"],
        format!("{USER_AGENT_PREFIX} kit-test/1").as_str()
    );
    assert_eq!(got[0].headers["x-from-caller"], "yes");
}

#[tokio::test]
async fn paginate_links_follows_next_links_lazily() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(path("/v3/volumes"))
        .and(wiremock::matchers::query_param("marker", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"volumes": [3]})))
        .mount(&server)
        .await;
    Mock::given(path("/v3/volumes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "volumes": [1, 2],
            "volumes_links": [{"rel": "next", "href": format!("{base}/v3/volumes?marker=2")}],
        })))
        .mount(&server)
        .await;
    let t = transport_at(&format!("{base}/v3")).build().unwrap();

    let volumes = paginate_links(move |link: Option<String>| {
        let t = t.clone();
        async move {
            let request = match link {
                None => Request::get(["volumes"]),
                Some(link) => Request::follow(link),
            };
            let page: Value = t.send_json(request).await?;
            let items: Vec<u64> = page["volumes"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            let next = page["volumes_links"]
                .as_array()
                .and_then(|links| links.iter().find(|l| l["rel"] == "next"))
                .and_then(|l| l["href"].as_str())
                .map(str::to_owned);
            Ok((items, next))
        }
    });
    let all: Vec<u64> = volumes.try_collect().await.unwrap();
    assert_eq!(all, [1, 2, 3]);
    assert_eq!(received(&server).await.len(), 2);
}

/// Names a new endpoint on every call, as a credential renewed without end.
#[derive(Debug, Default)]
struct RestlessEndpoint(AtomicUsize);

#[async_trait]
impl Authenticate for RestlessEndpoint {
    async fn authenticate(&self, _request: &AuthRequest<'_>) -> volume_core::Result<AuthHeaders> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        Ok(AuthHeaders::new().with_endpoint(url(&format!("http://127.0.0.1:{}/", 1 + n))))
    }
}

#[tokio::test]
async fn an_endpoint_from_the_credential_is_checked_and_must_settle() {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ok()).mount(&server).await;
    let leaky = RefreshingToken::new(|| {
        std::future::ready(Ok(
            Token::new("t").with_endpoint(url("https://user:pw@cinder.test/v3"))
        ))
    });
    let t = transport_at(&server.uri()).auth(leaky).build().unwrap();
    let err = t.send(Request::get(["volumes"])).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(!err.to_string().contains("pw"), "{err}");

    let restless = Arc::new(RestlessEndpoint::default());
    let t = transport_at(&server.uri())
        .auth(Arc::clone(&restless))
        .build()
        .unwrap();
    let err = t.send(Request::get(["volumes"])).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
    assert_eq!(restless.0.load(Ordering::SeqCst), 3, "bounded");
    assert!(received(&server).await.is_empty());
}
