//! Hostile requests to the Rancher fake, a few thousand, straight through
//! its handler (request in, response out): hostile ids and actions,
//! wrong-typed and malformed bodies, odd queries (markers, limits,
//! modifiers), every kind of bad authentication. None may get a 5xx or a
//! panic; every refusal is Cattle's error resource; and nothing that fails
//! to authenticate changes anything.

use base64::Engine as _;
use bytes::Bytes;
use http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use volume_sim::fake::rancher::{
    RancherFake, DEFAULT_ACCESS_KEY, DEFAULT_PROJECT_ID, DEFAULT_SECRET_KEY,
};
use volume_sim::fake::FakeRequest;

const REQUESTS: usize = 4000;

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

fn good() -> String {
    basic(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
}

fn bad_auth(rng: &mut StdRng) -> Option<String> {
    match rng.random_range(0..8) {
        0 => None,
        1 => Some(basic(DEFAULT_ACCESS_KEY, "wrong")),
        2 => Some(basic("wrong", DEFAULT_SECRET_KEY)),
        3 => Some(format!("Basic {DEFAULT_ACCESS_KEY}:{DEFAULT_SECRET_KEY}")),
        4 => Some("Basic".into()),
        5 => Some(format!("Bearer {DEFAULT_SECRET_KEY}")),
        6 => Some(basic(
            &format!("{DEFAULT_ACCESS_KEY}:{DEFAULT_SECRET_KEY}"),
            "",
        )),
        _ => Some("Basic %%%%".into()),
    }
}

fn id(rng: &mut StdRng, real: &[String]) -> String {
    if !real.is_empty() && rng.random_bool(0.5) {
        return real[rng.random_range(0..real.len())].clone();
    }
    pick(
        rng,
        &[
            "1v1",
            "1v0",
            "1v01",
            "1v18446744073709551616",
            "..",
            "%2e%2e",
            "%00",
            "1s1",
            "1b1",
            "1sd1",
            "1sd2",
            "1h1",
            "1h0",
            "1h99999999999",
            "1bt1",
            "%F0%9F%92%A5",
            "a%2Fb",
            "",
        ],
    )
    .to_owned()
}

fn path(rng: &mut StdRng, real: &[String]) -> String {
    let version = pick(
        rng,
        &[
            "/v2-beta",
            "/v1",
            "/v2-beta/projects/1a5",
            "/v1/projects/1a5",
            "/v2-beta/projects/1a6",
            "/v2-beta/projects/%2e%2e",
        ],
    );
    let kind = pick(
        rng,
        &[
            "volumes",
            "volumes",
            "volumes",
            "volumes",
            "snapshots",
            "volume",
            "snapshots",
            "backups",
            "storagedrivers",
            "hosts",
            "backuptargets",
            "schemas",
            "projects",
            "nothing",
            "VOLUMES",
        ],
    );
    let mut p = match rng.random_range(0..6) {
        0 => version.to_owned(),
        1 => format!("{version}/{kind}"),
        2..=4 => format!("{version}/{kind}/{}", id(rng, real)),
        _ => format!(
            "{version}/{kind}/{}/{}",
            id(rng, real),
            pick(rng, &["snapshots", "backups", "x", ".."])
        ),
    };
    let query = pick(
        rng,
        &[
            "",
            "",
            "?action=allocate",
            "?action=deallocate",
            "?action=remove",
            "?action=purge",
            "?action=snapshot",
            "?action=backup",
            "?action=reverttosnapshot",
            "?action=restorefrombackup",
            "?action=update",
            "?action=restore",
            "?action=create",
            "?action=%00",
            "?limit=-1",
            "?limit=99999999999999999999",
            "?marker=m99999999999999999999",
            "?marker=zzz",
            "?name_like=%25%25%25%25_",
            "?sizeMb_gt=abc",
            "?sort=nope&order=sideways",
            "?_removed",
            "?state_prefix=a",
            "?name=a&name_ne=b&name_notnull=",
        ],
    );
    p.push_str(query);
    p
}

fn body(rng: &mut StdRng, real: &[String]) -> Vec<u8> {
    let some_id = id(rng, real);
    let v = match rng.random_range(0..16) {
        12..=15 => {
            json!({"name": format!("v{}", rng.random_range(0..50)), "driver": pick(rng, &["local", "rancher-longhorn"])})
        }
        0 => return Vec::new(),
        1 => return b"{not json".to_vec(),
        2 => return b"[1,2,3]".to_vec(),
        3 => return vec![0xff, 0xfe, 0x00],
        4 => json!({"name": "v", "driver": "local"}),
        5 => {
            json!({"name": "w", "driver": "rancher-longhorn", "sizeMb": rng.random_range(-5i64..5_000_000_000)})
        }
        6 => {
            json!({"name": 5, "driver": ["x"], "storageDriverId": {}, "sizeMb": "big", "driverOpts": {"a": {"b": 1}}})
        }
        7 => {
            json!({"snapshotId": some_id, "backupId": some_id, "backupTargetId": "1bt1", "name": "x"})
        }
        8 => {
            json!({"description": "d".repeat(rng.random_range(0..3000)), "hostId": some_id, "driverOpts": null})
        }
        9 => json!({"name": "\u{0}\n", "driver": "local", "hostId": 7}),
        10 => json!({"name": "n".repeat(300), "storageDriverId": "1sd2", "sizeMb": 1.5}),
        _ => json!({"name": null, "driver": null}),
    };
    serde_json::to_vec(&v).unwrap()
}

fn request(method: &str, path: &str, auth: Option<String>, body: Vec<u8>) -> FakeRequest {
    let (p, q) = match path.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (path.to_owned(), None),
    };
    let mut r = FakeRequest::new(Method::from_bytes(method.as_bytes()).unwrap(), p);
    r.query = q;
    r.headers.insert("host", "127.0.0.1:18120".parse().unwrap());
    // The address links are built from (as a server would say).
    r.local_addr = Some("127.0.0.1:18120".parse().unwrap());
    if let Some(a) = auth {
        if let Ok(v) = a.parse() {
            r.headers.insert("authorization", v);
        }
    }
    r.body = Bytes::from(body);
    r
}

/// What a tenant has, to compare before and after refused requests.
fn everything(fake: &RancherFake) -> String {
    let list = |path: &str| {
        let r = fake.handle(&request(
            "GET",
            &format!("{path}?_removed=1&limit=3000"),
            Some(good()),
            Vec::new(),
        ));
        String::from_utf8_lossy(&r.body).into_owned()
    };
    let engine = fake.engine();
    format!(
        "{}{}{}{:?}",
        list("/v2-beta/volumes"),
        list("/v2-beta/snapshots"),
        list("/v2-beta/backups"),
        engine.usage(DEFAULT_PROJECT_ID)
    )
}

fn check(status: u16, body: &[u8], what: &str) {
    assert!(
        status < 500,
        "{what} -> {status}: {}",
        String::from_utf8_lossy(body)
    );
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{what} -> {status}: not JSON ({e})"));
    if status >= 400 {
        assert!(
            v["type"] == "error"
                && v["status"] == status
                && v["code"].is_string()
                && v["id"].is_string(),
            "{what} -> {status} not in Cattle's shape: {v}"
        );
    }
}

#[test]
fn hostile_requests_never_get_a_5xx_and_refused_ones_change_nothing() {
    let fake = RancherFake::builder().seed(7).build();
    let mut rng = StdRng::seed_from_u64(0x7261_6e63);
    let mut real: Vec<String> = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    // Links and action URLs of resources seen, to follow as a client would.
    let mut links: Vec<String> = Vec::new();
    for n in 0..REQUESTS {
        let (method, p) = if !links.is_empty() && rng.random_bool(0.35) {
            let link = links[rng.random_range(0..links.len())].clone();
            let method = if link.contains("?action=") {
                "POST"
            } else {
                pick(&mut rng, &["GET", "PUT", "DELETE"])
            };
            (method, link)
        } else if rng.random_bool(0.1) {
            (
                "POST",
                pick(&mut rng, &["/v2-beta/volumes", "/v1/projects/1a5/volumes"]).to_owned(),
            )
        } else {
            (
                pick(
                    &mut rng,
                    &[
                        "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS",
                    ],
                ),
                path(&mut rng, &real),
            )
        };
        let b = body(&mut rng, &real);
        let authed = rng.random_bool(0.7);
        let what = format!("#{n} {method} {p} authed={authed}");
        if authed {
            let r = fake.handle(&request(method, &p, Some(good()), b));
            check(r.status, &r.body, &what);
            *statuses.entry(r.status).or_insert(0) += 1;
            if let Ok(v) = serde_json::from_slice::<Value>(&r.body) {
                for part in ["links", "actions"] {
                    for url in v[part].as_object().into_iter().flat_map(|m| m.values()) {
                        let url = url.as_str().unwrap_or_default();
                        let path = url.strip_prefix("http://127.0.0.1:18120").unwrap_or(url);
                        if links.len() < 256 && !links.iter().any(|l| l == path) {
                            links.push(path.to_owned());
                        }
                    }
                }
                if let Some(id) = v["id"].as_str().filter(|_| v["type"] != "error") {
                    if real.len() < 64 && !real.iter().any(|x| x == id) {
                        real.push(id.to_owned());
                    }
                }
            }
        } else {
            let before = everything(&fake);
            let r = fake.handle(&request(method, &p, bad_auth(&mut rng), b));
            check(r.status, &r.body, &what);
            // Cattle authenticates first: even an unknown path is a 401.
            assert!(r.status == 401, "{what} -> {}", r.status);
            assert_eq!(before, everything(&fake), "{what} changed something");
        }
        if n % 500 == 0 {
            fake.engine().advance(std::time::Duration::from_secs(1));
        }
    }
    eprintln!("statuses: {statuses:?}, ids: {}", real.len());
    // The run reached the interesting answers, not only refusals.
    for s in [200, 201, 202, 401, 404, 405, 422] {
        assert!(
            statuses.contains_key(&s) || s == 401,
            "no {s} in {statuses:?}"
        );
    }
}
