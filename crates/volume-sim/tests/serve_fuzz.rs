//! Hostile requests, a few thousand per dialect, through the real server as
//! raw bytes (so dot segments and bad encodings arrive as sent): hostile
//! ids (`..`, `%2e%2e`, NUL, huge numbers), wrong-typed, malformed and
//! oversized bodies, and every kind of bad authentication. None may get a
//! 5xx or kill the server; every refusal comes in the shape of the provider
//! whose prefix claims the path; and no request that fails to authenticate
//! changes anything, in any dialect.

mod support;

use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support::exoscale_signer::{authorization, soon};
use support::raw_http::send;
use volume_sim::fake::{exoscale, linode, rancher};
use volume_sim::serve::{ServeConfig, Server};

const REQUESTS_PER_PHASE: usize = 1500;

/// Which shape an answer must have, by the path's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Linode,
    Exoscale,
    Rancher,
    Nobody,
}

fn owner(path: &str) -> Owner {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if under("/v4") || under("/v4beta") {
        Owner::Linode
    } else if under("/v2") {
        Owner::Exoscale
    } else if under("/v1") || under("/v2-beta") {
        Owner::Rancher
    } else {
        Owner::Nobody
    }
}

/// Panics unless `body` is a refusal in `owner`'s error shape.
fn assert_shape(owner: Owner, status: u16, body: &str, what: &str) {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| {
        panic!("{what}: {status} with a body that is not JSON ({e}): {body:?}")
    });
    match owner {
        Owner::Linode => assert!(
            v["errors"][0]["reason"].is_string() && v.get("message").is_none(),
            "{what}: {status} not in Linode's shape: {v}"
        ),
        Owner::Exoscale => assert!(
            v["message"].is_string() && v.get("errors").is_none(),
            "{what}: {status} not in Exoscale's shape: {v}"
        ),
        Owner::Rancher => assert!(
            v["type"] == "error" && v["code"].is_string() && v["status"] == status,
            "{what}: {status} not in Cattle's shape: {v}"
        ),
        Owner::Nobody => assert_eq!(v["error"], "not_found", "{what}: {v}"),
    }
}

/// Everything a tenant has, in both dialects: changed by nothing that
/// failed to authenticate.
fn state(server: &Server) -> String {
    [
        ("linode", "default"),
        ("exoscale", "default"),
        ("rancher", "1a5"),
    ]
    .iter()
    .map(|(name, tenant)| {
        let engine = server.fake(name).unwrap().engine();
        let listed =
            engine.with(|c| format!("{:?}{:?}", c.all_volumes(tenant), c.all_instances(tenant)));
        format!("{name}: {listed} {:?}", engine.usage(tenant))
    })
    .collect()
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn hostile_id(rng: &mut StdRng, real: &[String]) -> String {
    if !real.is_empty() && rng.random_bool(0.3) {
        return real[rng.random_range(0..real.len())].clone();
    }
    pick(
        rng,
        &[
            "..",
            "%2e%2e",
            "%2E%2e/..",
            ".",
            "%00",
            "%ff%fe",
            "a%2fb",
            "%C3%A4",
            "0",
            "-1",
            "18446744073709551616",
            "99999999999999999999999999999",
            "1e3",
            "00000000-0000-4000-8000-000000000000",
            "x:attach",
            "%3Aattach",
            "",
        ],
    )
    .to_owned()
}

fn hostile_body(rng: &mut StdRng) -> Vec<u8> {
    match rng.random_range(0..10) {
        0 => Vec::new(),
        1 => b"{\"label\": ".to_vec(),
        2 => format!("{}{}", "[".repeat(3000), "]".repeat(3000)).into_bytes(),
        3 => json!({"label": "x".repeat(300_000), "name": "y".repeat(300_000)}).to_string().into_bytes(),
        // Over the server's 1 MiB limit: a 413 before it is read.
        4 => vec![b'{'; (1 << 20) + 10],
        5 => (0..rng.random_range(1..64)).map(|_| rng.random()).collect(),
        6 => json!([1, "two", null]).to_string().into_bytes(),
        7 => json!({"size": "ten", "region": 5, "label": null, "tags": {"a": 1}, "labels": [1]}).to_string().into_bytes(),
        8 => json!({"size": -1, "name": "ok", "label": "ok", "region": "us-east", "linode_id": 18446744073709551615u64}).to_string().into_bytes(),
        _ => json!({"size": 10, "name": "fz", "label": "fz", "region": "us-east", "instance": {"id": "x"}}).to_string().into_bytes(),
    }
}

fn hostile_path(rng: &mut StdRng, linode_ids: &[String], exoscale_ids: &[String]) -> String {
    let mut path = match rng.random_range(0..12) {
        0..=4 => {
            let id = hostile_id(rng, linode_ids);
            let action = pick(
                rng,
                &["attach", "detach", "clone", "resize", "..", "%2e%2e"],
            );
            match rng.random_range(0..6) {
                0 => "/v4/volumes".to_owned(),
                1 | 2 => format!("/v4/volumes/{id}"),
                3 => format!("/v4/volumes/{id}/{action}"),
                4 => format!("/v4/linode/instances/{id}/volumes"),
                _ => format!("/v4beta/regions/{id}"),
            }
        }
        5..=9 => {
            let id = hostile_id(rng, exoscale_ids);
            let action = pick(
                rng,
                &[
                    ":attach",
                    ":detach",
                    ":resize-volume",
                    ":create-snapshot",
                    ":",
                    "::x",
                    "",
                ],
            );
            match rng.random_range(0..6) {
                0 => "/v2/block-storage".to_owned(),
                1 | 2 => format!("/v2/block-storage/{id}{action}"),
                3 => format!("/v2/block-storage-snapshot/{id}"),
                4 => format!("/v2/operation/{id}"),
                _ => format!("/v2/instance/{id}"),
            }
        }
        10 => pick(
            rng,
            &[
                "/v4/../v2/block-storage",
                "/v4/%2e%2e/v2/zone",
                "/v2/../v4/volumes",
                "/v2/%2E%2E/v4/volumes",
                "/v4/./volumes",
                "/v4//volumes",
            ],
        )
        .to_owned(),
        _ => pick(
            rng,
            &[
                "/",
                "/v3",
                "/v4x",
                "/v2x/zone",
                "/%2e%2e/v4",
                "/v1x/volumes",
                "/v1/volumes",
                "/v2-beta/../v4/volumes",
            ],
        )
        .to_owned(),
    };
    path.push_str(pick(
        rng,
        &[
            "",
            "",
            "?page=0",
            "?page=%zz",
            "?page_size=99999",
            "?instance-id=..",
            "?a=1&a=2",
            "?expires=18446744073709551616",
        ],
    ));
    path
}

/// One request as raw bytes; `auth` is the whole `Authorization` line's
/// value, if any.
fn raw(method: &str, path: &str, auth: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(auth) = auth {
        head.push_str(&format!("Authorization: {auth}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Authentication that must fail, for a request to `path`.
fn bad_auth(rng: &mut StdRng, method: &str, path: &str, body: &[u8]) -> Option<String> {
    let signed_by = |key: &str, secret: &str, expires: u64| {
        let url = reqwest::Url::parse(&format!("http://127.0.0.1{path}")).ok()?;
        Some(authorization(key, secret, method, &url, body, expires))
    };
    match rng.random_range(0..10) {
        0 => None,
        1 => Some("Bearer not-the-token".into()),
        2 => Some(format!("Bearer {}x", linode::DEFAULT_TOKEN)),
        3 => Some(format!("Basic {}", linode::DEFAULT_TOKEN)),
        4 => Some("Bearer ".into()),
        5 => signed_by(exoscale::DEFAULT_KEY, "the-wrong-secret", soon()),
        6 => signed_by(exoscale::DEFAULT_KEY, exoscale::DEFAULT_SECRET, 1),
        7 => signed_by("EXOnobody", exoscale::DEFAULT_SECRET, soon()),
        8 => Some("EXO2-HMAC-SHA256 credential=,expires=18446744073709551616,signature=%%%".into()),
        _ => Some(format!(
            "EXO2-HMAC-SHA256 credential={},expires={},signature=AAAA",
            exoscale::DEFAULT_KEY,
            soon()
        )),
    }
}

fn good_auth(method: &str, path: &str, body: &[u8]) -> Option<String> {
    match owner(path) {
        Owner::Linode => Some(format!("Bearer {}", linode::DEFAULT_TOKEN)),
        Owner::Exoscale => {
            let url = reqwest::Url::parse(&format!("http://127.0.0.1{path}")).ok()?;
            Some(authorization(
                exoscale::DEFAULT_KEY,
                exoscale::DEFAULT_SECRET,
                method,
                &url,
                body,
                soon(),
            ))
        }
        Owner::Rancher => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                rancher::DEFAULT_ACCESS_KEY,
                rancher::DEFAULT_SECRET_KEY
            ))
        )),
        Owner::Nobody => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_no_5xx_the_right_shape_and_change_nothing_unauthenticated() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server::start(listener, &ServeConfig::default())
        .await
        .unwrap();
    let addr = server.address();

    // Something to aim at in each dialect.
    let mut linode_ids = Vec::new();
    let mut exoscale_ids = Vec::new();
    for n in 0..3 {
        let body = json!({"label": format!("fz-{n}"), "region": "us-east", "size": 10}).to_string();
        let (_, r) = send(
            addr,
            &raw(
                "POST",
                "/v4/volumes",
                good_auth("POST", "/v4/volumes", body.as_bytes()).as_deref(),
                body.as_bytes(),
            ),
        )
        .await;
        assert_eq!(r.status, Some(200), "{r:?}");
        let v: Value = serde_json::from_str(&r.body).unwrap();
        linode_ids.push(v["id"].to_string());

        let body = json!({"name": format!("fz-{n}"), "size": 10}).to_string();
        let (_, r) = send(
            addr,
            &raw(
                "POST",
                "/v2/block-storage",
                good_auth("POST", "/v2/block-storage", body.as_bytes()).as_deref(),
                body.as_bytes(),
            ),
        )
        .await;
        assert_eq!(r.status, Some(200), "{r:?}");
        let v: Value = serde_json::from_str(&r.body).unwrap();
        exoscale_ids.push(v["reference"]["id"].as_str().unwrap().to_owned());
    }

    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    let mut rng = StdRng::seed_from_u64(0x5e_4e_f0_22);
    let mut statuses = std::collections::BTreeMap::new();

    // Phase 1: nothing authenticates; nothing may change.
    let deadline = std::time::Instant::now() + support::raw_http::BOUND;
    while state(&server).contains("Creating") {
        assert!(std::time::Instant::now() < deadline, "still creating");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = state(&server);
    for n in 0..REQUESTS_PER_PHASE * 2 {
        let method = pick(&mut rng, &methods);
        let path = hostile_path(&mut rng, &linode_ids, &exoscale_ids);
        let body = hostile_body(&mut rng);
        let auth = bad_auth(&mut rng, method, &path, &body);
        let (_, r) = send(addr, &raw(method, &path, auth.as_deref(), &body)).await;
        let what = format!("#{n} {method} {path} auth={auth:?}");
        let status = r.status.unwrap_or_else(|| panic!("{what}: no answer"));
        *statuses.entry(status).or_insert(0u32) += 1;
        assert!(status < 500, "{what}: {status} {}", r.body);
        if status >= 400 && method != "HEAD" {
            assert_shape(owner(&path), status, &r.body, &what);
        }
    }
    assert_eq!(
        state(&server),
        before,
        "an unauthenticated request changed something"
    );
    eprintln!("unauthenticated: {statuses:?}");

    // Phase 2: authenticated, hostile in every other way.
    statuses.clear();
    for n in 0..REQUESTS_PER_PHASE * 2 {
        let method = pick(&mut rng, &methods);
        let path = hostile_path(&mut rng, &linode_ids, &exoscale_ids);
        let body = hostile_body(&mut rng);
        let auth = good_auth(method, &path, &body);
        let (_, r) = send(addr, &raw(method, &path, auth.as_deref(), &body)).await;
        let what = format!("#{n} {method} {path}");
        let status = r.status.unwrap_or_else(|| panic!("{what}: no answer"));
        *statuses.entry(status).or_insert(0u32) += 1;
        assert!(status < 500, "{what}: {status} {}", r.body);
        if status >= 400 && method != "HEAD" {
            assert_shape(owner(&path), status, &r.body, &what);
        }
    }
    eprintln!("authenticated: {statuses:?}");
    let ok = statuses.range(200..300).map(|(_, n)| n).sum::<u32>();
    assert!(
        ok > 100,
        "only {ok} successes: the fuzz is not reaching the fakes"
    );
    assert!(
        statuses.contains_key(&413),
        "no body over the limit was sent"
    );
}
