//! Hostile requests to the LunaNode fake, a few thousand, through the real
//! server as raw bytes: unknown and dot-segment actions, wrong methods,
//! malformed forms, `req` that is not JSON or not an object, wrong-typed
//! and absurd parameter values, oversized bodies, and every kind of bad
//! signature, partial key, id and nonce. None may get a 5xx or kill the
//! server; every answer is LunaNode's shape (HTTP 200, a JSON object with
//! `success`, and an `error` text when it is `"no"`); and no request that
//! fails to authenticate changes anything.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use sha2::Sha512;
use support::raw_http::send;
use volume_sim::fake::lunanode::{DEFAULT_API_ID, DEFAULT_API_KEY};
use volume_sim::serve::{ServeConfig, Server};

const REQUESTS_PER_PHASE: usize = 2000;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn hex_hmac(key: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// A form of `req`, `signature`, `nonce`, signed for `handler` unless the
/// caller spoils it.
fn form(req: &str, signature: &str, nonce: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("req", req)
        .append_pair("signature", signature)
        .append_pair("nonce", nonce)
        .finish()
}

fn good_form(handler: &str, params: &Map<String, Value>, nonce: u64) -> String {
    let mut all = params.clone();
    all.insert("api_id".into(), DEFAULT_API_ID.into());
    all.insert("api_partialkey".into(), DEFAULT_API_KEY[..64].into());
    let req = Value::Object(all).to_string();
    let nonce = nonce.to_string();
    let sig = hex_hmac(DEFAULT_API_KEY, &format!("{handler}|{req}|{nonce}"));
    form(&req, &sig, &nonce)
}

fn raw(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    if body.is_empty() {
        head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    }
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

const HANDLERS: [&str; 14] = [
    "volume/create/",
    "volume/list/",
    "volume/info/",
    "volume/attach/",
    "volume/detach/",
    "volume/extend/",
    "volume/rename/",
    "volume/delete/",
    "volume/snapshot-create/",
    "volume/snapshot-list/",
    "volume/snapshot-replicate/",
    "volume/snapshot-delete/",
    "vm/list/",
    "image/list/",
];

fn hostile_path(rng: &mut StdRng) -> (String, String) {
    let handler = match rng.random_range(0..10) {
        0..=6 => pick(rng, &HANDLERS).to_owned(),
        7 => pick(
            rng,
            &[
                "volume/explode/",
                "volume/",
                "",
                "vm/start/",
                "image/delete/",
            ],
        )
        .to_owned(),
        8 => pick(
            rng,
            &[
                "volume/../vm/list/",
                "volume/%2e%2e/list/",
                "volume/list/x/",
                "volume//list/",
                "volume/list",
            ],
        )
        .to_owned(),
        _ => pick(rng, &["%00/list/", "volume/%ff%fe/", "volume/list%2f"]).to_owned(),
    };
    (format!("/api/{handler}"), handler)
}

fn hostile_value(rng: &mut StdRng, real: &[String]) -> Value {
    if !real.is_empty() && rng.random_bool(0.3) {
        return Value::from(real[rng.random_range(0..real.len())].clone());
    }
    match rng.random_range(0..14) {
        0 => json!(""),
        1 => json!("0"),
        2 => json!("-1"),
        3 => json!("18446744073709551616"),
        4 => json!("1e3"),
        5 => json!(".."),
        6 => json!("\u{0}"),
        7 => json!("x".repeat(300)),
        8 => json!(2.5),
        9 => json!([1, 2]),
        10 => json!({"a": 1}),
        11 => json!(true),
        12 => json!(pick(
            rng,
            &[
                "toronto",
                "montreal",
                "roubaix",
                "mars",
                "auto",
                "/dev/vdb",
                "/dev/../x"
            ]
        )),
        _ => json!(rng.random_range(1..2000u64).to_string()),
    }
}

fn hostile_params(rng: &mut StdRng, real: &[String]) -> Map<String, Value> {
    let names = [
        "region",
        "label",
        "size",
        "volume_id",
        "vm_id",
        "target",
        "name",
        "snapshot_id",
        "image",
        "image_name",
        "dst_region",
        "handler",
        "zzz",
    ];
    let mut m = Map::new();
    for _ in 0..rng.random_range(0..7) {
        let k = pick(rng, &names);
        m.insert(k.to_owned(), hostile_value(rng, real));
    }
    m
}

/// A body whose authentication must fail.
fn bad_body(rng: &mut StdRng, handler: &str, real: &[String]) -> Vec<u8> {
    let params = hostile_params(rng, real);
    let n = now();
    match rng.random_range(0..14) {
        0 => Vec::new(),
        1 => b"req=%7B&signature=zz&nonce=1".to_vec(),
        2 => form("[1,2]", "00", &n.to_string()).into_bytes(),
        3 => form("not json", "00", &n.to_string()).into_bytes(),
        4 => {
            // Signed with the wrong key (and so the wrong partial key).
            let mut all = params.clone();
            all.insert("api_id".into(), DEFAULT_API_ID.into());
            all.insert("api_partialkey".into(), "w".repeat(64).into());
            let req = Value::Object(all).to_string();
            let sig = hex_hmac(&"w".repeat(128), &format!("{handler}|{req}|{n}"));
            form(&req, &sig, &n.to_string()).into_bytes()
        }
        5 => {
            // The right partial key, a signature under another key.
            let mut all = params.clone();
            all.insert("api_id".into(), DEFAULT_API_ID.into());
            all.insert("api_partialkey".into(), DEFAULT_API_KEY[..64].into());
            let req = Value::Object(all).to_string();
            let sig = hex_hmac(&"w".repeat(128), &format!("{handler}|{req}|{n}"));
            form(&req, &sig, &n.to_string()).into_bytes()
        }
        6 => good_form(handler, &params, n - 100_000).into_bytes(),
        7 => good_form(handler, &params, n + 100_000).into_bytes(),
        8 => {
            // A good signature with a nonce that is not a number.
            let mut all = params.clone();
            all.insert("api_id".into(), DEFAULT_API_ID.into());
            all.insert("api_partialkey".into(), DEFAULT_API_KEY[..64].into());
            let req = Value::Object(all).to_string();
            let nonce = pick(rng, &["18446744073709551616", "-1", "1e9", "", " 1"]);
            let sig = hex_hmac(DEFAULT_API_KEY, &format!("{handler}|{req}|{nonce}"));
            form(&req, &sig, nonce).into_bytes()
        }
        9 => {
            // Signed for another handler.
            let other = pick(rng, &HANDLERS);
            let other = if other == handler { "vm/start/" } else { other };
            good_form(other, &params, n).into_bytes()
        }
        10 => {
            let mut all = params.clone();
            all.insert(
                "api_id".into(),
                pick(rng, &["", "nobody0000000000", "x"]).into(),
            );
            all.insert("api_partialkey".into(), DEFAULT_API_KEY[..64].into());
            let req = Value::Object(all).to_string();
            let sig = hex_hmac(DEFAULT_API_KEY, &format!("{handler}|{req}|{n}"));
            form(&req, &sig, &n.to_string()).into_bytes()
        }
        11 => (0..rng.random_range(1..200))
            .map(|_| rng.random())
            .collect(),
        // Over the server's 1 MiB limit.
        12 => vec![b'a'; (1 << 20) + 10],
        _ => json!({"req": "{}", "signature": "", "nonce": n})
            .to_string()
            .into_bytes(),
    }
}

/// What the tenant has: changed by nothing that failed to authenticate.
fn state(server: &Server) -> String {
    let engine = server.fake("lunanode").unwrap().engine();
    engine.with(|c| {
        format!(
            "{:?}{:?}{:?}",
            c.all_volumes("default"),
            c.volume_images("default"),
            c.all_instances("default")
        )
    }) + &format!("{:?}", engine.usage("default"))
}

/// Panics unless the answer is LunaNode's shape.
fn assert_shape(method: &str, status: Option<u16>, body: &str, what: &str) -> bool {
    let status = status.unwrap_or_else(|| panic!("{what}: no answer"));
    assert!(status < 500, "{what}: {status} {body}");
    assert_eq!(status, 200, "{what}: {status} {body}");
    if method == "HEAD" {
        return false;
    }
    let v: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{what}: a body that is not JSON ({e}): {body:?}"));
    match v["success"].as_str() {
        Some("yes") => true,
        Some("no") => {
            assert!(
                v["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{what}: {v}"
            );
            false
        }
        _ => panic!("{what}: no success field: {v}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_lunanode_answers_and_change_nothing_unauthenticated() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = ServeConfig::default().with_time_scale(200.0);
    let server = Server::start(listener, &config).await.unwrap();
    let addr = server.address();

    // Something to aim at.
    let mut real = Vec::new();
    for n in 0..3 {
        let params = json!({"region": "toronto", "label": format!("fz-{n}"), "size": "10"});
        let body = good_form("volume/create/", params.as_object().unwrap(), now());
        let (_, r) = send(addr, &raw("POST", "/api/volume/create/", body.as_bytes())).await;
        assert_eq!(r.status, Some(200), "{r:?}");
        let v: Value = serde_json::from_str(&r.body).unwrap();
        real.push(v["volume_id"].as_str().unwrap().to_owned());
    }
    let deadline = std::time::Instant::now() + support::raw_http::BOUND;
    while state(&server).contains("Creating") {
        assert!(std::time::Instant::now() < deadline, "still creating");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let methods = ["POST", "POST", "POST", "GET", "PUT", "DELETE", "HEAD"];
    let mut rng = StdRng::seed_from_u64(0x0104_a0de);

    // Phase 1: nothing authenticates; nothing may change.
    let before = state(&server);
    for n in 0..REQUESTS_PER_PHASE {
        let method = pick(&mut rng, &methods);
        let (path, handler) = hostile_path(&mut rng);
        let body = bad_body(&mut rng, &handler, &real);
        let (_, r) = send(addr, &raw(method, &path, &body)).await;
        let what = format!("#{n} {method} {path}");
        assert!(
            !assert_shape(method, r.status, &r.body, &what),
            "{what}: accepted: {}",
            r.body
        );
    }
    assert_eq!(
        state(&server),
        before,
        "an unauthenticated request changed something"
    );

    // Phase 2: signed, hostile in every other way.
    let mut ok = 0;
    for n in 0..REQUESTS_PER_PHASE {
        let method = if rng.random_bool(0.9) {
            "POST"
        } else {
            pick(&mut rng, &methods)
        };
        let (path, handler) = hostile_path(&mut rng);
        let params = hostile_params(&mut rng, &real);
        let body = good_form(&handler, &params, now());
        let (_, r) = send(addr, &raw(method, &path, body.as_bytes())).await;
        let what = format!("#{n} {method} {path} {params:?}");
        if assert_shape(method, r.status, &r.body, &what) {
            ok += 1;
        }
    }
    assert!(
        ok > 100,
        "only {ok} successes: the fuzz is not reaching the fake"
    );
}
