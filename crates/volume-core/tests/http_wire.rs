//! What the transport puts on the wire: path, query, headers and body, byte
//! for byte as the mock server received them.

use serde_json::json;
use volume_core::http::{Request, Transport, Url, USER_AGENT_PREFIX};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn an_id_is_always_one_path_segment() {
    let server = server().await;
    let t = Transport::builder(
        "test",
        Url::parse(&format!("{}/v4/", server.uri())).unwrap(),
    )
    .build()
    .unwrap();
    for id in ["../x?y#z", "a/b", "100%", "%2E%2E", "sp ace", "é"] {
        t.send(Request::get(["volumes", id])).await.unwrap();
    }
    let got: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        got,
        [
            "/v4/volumes/..%2Fx%3Fy%23z",
            "/v4/volumes/a%2Fb",
            "/v4/volumes/100%25",
            "/v4/volumes/%252E%252E",
            "/v4/volumes/sp%20ace",
            "/v4/volumes/%C3%A9",
        ]
    );
    let first = &server.received_requests().await.unwrap()[0];
    assert_eq!(first.url.query(), None);
    assert_eq!(first.url.fragment(), None);
}

#[tokio::test]
async fn query_pairs_headers_and_trailing_slash() {
    let server = server().await;
    let t = Transport::builder("test", Url::parse(&server.uri()).unwrap())
        .user_agent_suffix("my-tool/1.2")
        .default_header("X-Tenant", "t1")
        .build()
        .unwrap();
    t.send(
        Request::get(["volume", "list"])
            .trailing_slash()
            .query("label", "a b&c=d")
            .query("n", "1+1")
            .query_opt("absent", None::<String>)
            .header("X-Tenant", "t2"),
    )
    .await
    .unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(req.url.path(), "/volume/list/");
    assert_eq!(req.url.query(), Some("label=a%20b%26c%3Dd&n=1%2B1"));
    assert_eq!(
        req.headers["user-agent"],
        format!("{USER_AGENT_PREFIX} my-tool/1.2").as_str()
    );
    assert!(USER_AGENT_PREFIX.starts_with("volume-rs/"));
    assert_eq!(req.headers["accept"], "application/json");
    assert_eq!(req.headers["x-tenant"], "t2");
    assert_eq!(req.headers.get_all("x-tenant").iter().count(), 1);
}

#[tokio::test]
async fn bodies_are_sent_as_serialised() {
    let server = server().await;
    let t = Transport::builder("test", Url::parse(&server.uri()).unwrap())
        .build()
        .unwrap();
    let body = json!({"label": "db", "size": 10, "tags": ["a"]});
    let req = Request::post(["volumes"]).json(&body);
    let expected = req.body_bytes().unwrap().to_vec();
    t.send(req).await.unwrap();
    t.send(Request::post(["form"]).form([("req", "{\"a\":1}")]))
        .await
        .unwrap();
    t.send(Request::delete(["volumes", "v1"])).await.unwrap();

    let got = server.received_requests().await.unwrap();
    assert_eq!(got[0].method.as_str(), "POST");
    assert_eq!(got[0].body, expected);
    assert_eq!(got[0].body, serde_json::to_vec(&body).unwrap());
    assert_eq!(got[0].headers["content-type"], "application/json");
    assert_eq!(got[1].body, b"req=%7B%22a%22%3A1%7D");
    assert_eq!(
        got[1].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(got[2].method.as_str(), "DELETE");
    assert!(got[2].body.is_empty());
    assert!(got[2].headers.get("content-type").is_none());
}

#[tokio::test]
async fn clones_share_one_configuration() {
    let server = server().await;
    let t = Transport::builder("test", Url::parse(&server.uri()).unwrap())
        .build()
        .unwrap();
    let c = t.clone();
    assert_eq!(c.provider(), "test");
    assert_eq!(c.base_url(), t.base_url());
    c.send(Request::head(["x"])).await.unwrap();
    assert_eq!(
        t.url_for(&Request::get(["a b"]).query("k", "v"))
            .unwrap()
            .as_str(),
        format!("{}/a%20b?k=v", server.uri())
    );
}
