//! How non-2xx answers, bad bodies and bad requests become errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use volume_core::http::{Request, RetryConfig, Transport, TransportBuilder, Url};
use volume_core::{Error, ResourceKind};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn transport(server: &MockServer) -> TransportBuilder {
    Transport::builder("test", Url::parse(&server.uri()).unwrap())
        .for_paused_clock()
        .retry(RetryConfig::none())
}

#[tokio::test]
async fn statuses_map_to_variants_and_keep_the_message() {
    let server = MockServer::start().await;
    type IsRight = fn(&Error) -> bool;
    let cases: [(u16, IsRight); 6] = [
        (401, |e| matches!(e, Error::Unauthenticated { .. })),
        (403, |e| matches!(e, Error::PermissionDenied { .. })),
        (
            404,
            |e| matches!(e, Error::NotFound { kind: ResourceKind::Volume, id, .. } if id == "vol-7"),
        ),
        (409, |e| {
            matches!(
                e,
                Error::InvalidState {
                    kind: ResourceKind::Volume,
                    ..
                }
            )
        }),
        (422, |e| matches!(e, Error::InvalidInput { .. })),
        (500, |e| matches!(e, Error::Api(_))),
    ];
    for (code, _) in &cases {
        Mock::given(path(format!("/s/{code}/vol-7")))
            .respond_with(
                ResponseTemplate::new(*code)
                    .insert_header("X-Request-Id", format!("req-{code}"))
                    .set_body_string(format!("the provider says {code}")),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let t = transport(&server).build().unwrap();
    for (code, is_right) in cases {
        let err = t
            .send(
                Request::get(["s", &code.to_string(), "vol-7"])
                    .about(ResourceKind::Volume, "vol-7"),
            )
            .await
            .unwrap_err();
        assert!(is_right(&err), "{code} mapped to {err:?}");
        let api = err.api().expect("the provider's record is kept");
        assert_eq!(api.status, code);
        assert_eq!(api.provider, "test");
        assert_eq!(api.message, format!("the provider says {code}"));
        assert_eq!(
            api.request_id.as_deref(),
            Some(format!("req-{code}").as_str())
        );
        assert!(!api.outcome_unknown, "a GET: {err}");
        assert!(
            err.to_string()
                .contains(&format!("the provider says {code}")),
            "{err}"
        );
    }
}

#[derive(Debug, Deserialize)]
struct LinodeErrors {
    errors: Vec<LinodeError>,
}

#[derive(Debug, Deserialize)]
struct LinodeError {
    reason: String,
    field: Option<String>,
}

#[tokio::test]
async fn a_provider_mapper_sees_the_whole_answer_and_the_transport_finishes_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/volumes"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"errors": [{"reason": "too big", "field": "size"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/volumes/v1/clone"))
        .respond_with(ResponseTemplate::new(500).set_body_string("{}"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/limited"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "17"))
        .mount(&server)
        .await;

    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let t = transport(&server)
        .error_mapper(move |ctx| {
            s.lock().unwrap().push((
                ctx.provider,
                ctx.method.to_string(),
                ctx.path.to_owned(),
                ctx.status.as_u16(),
                ctx.kind,
                ctx.id.to_owned(),
                ctx.retry_after,
                ctx.idempotent,
            ));
            match serde_json::from_slice::<LinodeErrors>(ctx.body) {
                Ok(body) if !body.errors.is_empty() => {
                    let first = &body.errors[0];
                    Error::InvalidInput {
                        field: first.field.clone().unwrap_or_default(),
                        reason: first.reason.clone(),
                        api: Some(Box::new(ctx.api_error(first.reason.clone()))),
                    }
                }
                // Deliberately not RateLimited for a 429: the transport fixes that.
                _ => Error::Api(Box::new(ctx.api_error("no details"))),
            }
        })
        .build()
        .unwrap();

    let err = t
        .send(Request::post(["volumes"]).json(&json!({"size": 1_000_000})))
        .await
        .unwrap_err();
    match &err {
        Error::InvalidInput { field, reason, .. } => {
            assert_eq!(field, "size");
            assert_eq!(reason, "too big");
        }
        other => panic!("{other:?}"),
    }

    let err = t
        .send(Request::post(["volumes", "v1", "clone"]).about(ResourceKind::Volume, "v1"))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "a POST answered 500: {err:?}");

    let err = t.send(Request::get(["limited"])).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(17)));

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[1],
        (
            "test",
            "POST".to_owned(),
            "/volumes/v1/clone".to_owned(),
            500,
            ResourceKind::Volume,
            "v1".to_owned(),
            None,
            false
        )
    );
    assert_eq!(seen[2].6, Some(Duration::from_secs(17)));
    assert!(seen[2].7);
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Volume {
    id: u64,
    size: u64,
}

#[tokio::test]
async fn bodies_that_do_not_fit_are_decode_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1, "size": 10})))
        .mount(&server)
        .await;
    Mock::given(path("/bad"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("{\"id\": 1,\n \"size\": \"ten\"}"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/html"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>"))
        .mount(&server)
        .await;
    let t = transport(&server).build().unwrap();
    let v: Volume = t.send_json(Request::get(["ok"])).await.unwrap();
    assert_eq!(v.size, 10);
    for p in ["bad", "html"] {
        let err = t.send_json::<Volume>(Request::get([p])).await.unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("line"), "{err}");
    }
    let err = t
        .send_json::<Volume>(Request::get(["bad"]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[tokio::test]
async fn bad_requests_fail_before_anything_is_sent() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let t = transport(&server).build().unwrap();
    let bad = [
        Request::get(["volumes"]).header("X-Label", "a\r\nX-Injected: 1"),
        Request::get(["volumes"]).header("Bad Name", "v"),
        Request::get(["volumes", ".."]),
        Request::get(["volumes", "."]),
        Request::get(["volumes", ""]),
        Request::post(["volumes"]).body("x", "text/plain\r\n"),
    ];
    for req in bad {
        let shown = format!("{req:?}");
        let err = t.send(req).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { .. }),
            "{shown}: {err:?}"
        );
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(path("/volumes"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/elsewhere", server.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    let t = transport(&server).build().unwrap();
    let err = t.send(Request::get(["volumes"])).await.unwrap_err();
    assert_eq!(err.status(), Some(302), "{err:?}");
}
