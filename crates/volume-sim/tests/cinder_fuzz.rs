//! Hostile requests to the Cinder fake, a few thousand, through its
//! handler: random methods on every route shape, hostile ids, wrong-typed
//! and malformed bodies, bad microversions, missing and wrong tokens. None
//! may get a 5xx (a panic is one), every refusal is in Keystone's shape
//! below `/identity` and in Cinder's (or the auth middleware's 401) below
//! `/volume` and `/compute`, and no request without a valid token changes
//! anything.

mod support;

use http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use volume_sim::fake::cinder::{CinderFake, DEFAULT_PASSWORD, DEFAULT_PROJECT, DEFAULT_USER};
use volume_sim::fake::FakeRequest;

const REQUESTS: usize = 4000;

fn token_of(fake: &CinderFake) -> (String, String) {
    let mut req = FakeRequest::new(Method::POST, "/identity/v3/auth/tokens");
    req.headers
        .insert("content-type", "application/json".parse().unwrap());
    req.body = serde_json::to_vec(&json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": DEFAULT_USER, "domain": {"id": "default"}, "password": DEFAULT_PASSWORD}}},
        "scope": {"project": {"name": DEFAULT_PROJECT, "domain": {"id": "default"}}}}}))
    .unwrap()
    .into();
    let r = fake.handle(&req);
    assert_eq!(r.status, 201);
    let token = r.headers["x-subject-token"].to_str().unwrap().to_owned();
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    (
        token,
        body["token"]["project"]["id"].as_str().unwrap().to_owned(),
    )
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn random_id(rng: &mut StdRng, known: &[String]) -> String {
    let hostile = [
        "..",
        "%2e%2e",
        "%00",
        "a%2Fb",
        "00000000-0000-4000-8000-000000000000",
        "detail",
        "%ff%fe",
        "x".repeat(300).leak(),
        "-1",
        "99999999999999999999999",
        "%",
    ];
    if !known.is_empty() && rng.random_bool(0.5) {
        pick(rng, known).clone()
    } else {
        (*pick(rng, &hostile)).to_owned()
    }
}

fn random_body(rng: &mut StdRng, id: &str) -> Vec<u8> {
    let bodies = [
        json!({"volume": {"size": 1, "name": "f"}}),
        json!({"volume": {"size": "1"}}),
        json!({"volume": {"size": -5}}),
        json!({"volume": {"size": 1.5}}),
        json!({"volume": {"size": 99999999999u64}}),
        json!({"volume": {"snapshot_id": id}}),
        json!({"volume": {"source_volid": id, "metadata": {"k": ["x"]}}}),
        json!({"volume": []}),
        json!({"snapshot": {"volume_id": id, "force": "maybe"}}),
        json!({"snapshot": {"volume_id": id, "force": true}}),
        json!({"backup": {"volume_id": id, "incremental": true}}),
        json!({"backup": {"volume_id": id}}),
        json!({"restore": {"volume_id": id}}),
        json!({"restore": null}),
        json!({"os-extend": {"new_size": 2}}),
        json!({"os-extend": {"new_size": "x"}}),
        json!({"os-extend": null}),
        json!({"os-retype": {"new_type": "ssd"}}),
        json!({"os-reset_status": {"status": "error"}}),
        json!({"os-force_delete": {}}),
        json!({"os-attach": {"mountpoint": "/dev/vdb", "instance_uuid": id}}),
        json!({"os-detach": {}}),
        json!({"os-set_bootable": {"bootable": "yes"}}),
        json!({"os-complete": {}}),
        json!({"attachment": {"volume_uuid": id, "instance_uuid": id, "connector": {"h": 1}}}),
        json!({"volumeAttachment": {"volumeId": id}}),
        json!({"metadata": {"a": "b"}}),
        json!({"meta": {"a": "b"}}),
        json!({}),
        json!(null),
        json!("string"),
        json!(12),
    ];
    match rng.random_range(0..10) {
        0 => b"{not json".to_vec(),
        1 => Vec::new(),
        2 => vec![0xff, 0xfe, 0x00],
        _ => serde_json::to_vec(pick(rng, &bodies)).unwrap(),
    }
}

fn random_request(rng: &mut StdRng, known: &[String], project: &str) -> FakeRequest {
    let id = random_id(rng, known);
    let v3 = if rng.random_bool(0.5) {
        format!("/volume/v3/{project}")
    } else {
        "/volume/v3".to_owned()
    };
    let paths = [
        format!("{v3}/volumes"),
        format!("{v3}/volumes/detail"),
        format!("{v3}/volumes/summary"),
        format!("{v3}/volumes/{id}"),
        format!("{v3}/volumes/{id}/action"),
        format!("{v3}/volumes/{id}/metadata"),
        format!("{v3}/volumes/{id}/metadata/{id}"),
        format!("{v3}/snapshots"),
        format!("{v3}/snapshots/detail"),
        format!("{v3}/snapshots/{id}"),
        format!("{v3}/snapshots/{id}/action"),
        format!("{v3}/snapshots/{id}/metadata"),
        format!("{v3}/backups"),
        format!("{v3}/backups/detail"),
        format!("{v3}/backups/{id}"),
        format!("{v3}/backups/{id}/restore"),
        format!("{v3}/backups/{id}/action"),
        format!("{v3}/attachments"),
        format!("{v3}/attachments/{id}"),
        format!("{v3}/attachments/{id}/action"),
        format!("{v3}/types"),
        format!("{v3}/types/{id}"),
        format!("{v3}/types/{id}/extra_specs/{id}"),
        format!("{v3}/qos-specs/{id}"),
        format!("{v3}/limits"),
        format!("{v3}/os-quota-sets/{id}"),
        format!("{v3}/os-quota-sets/{project}"),
        format!("{v3}/os-availability-zone"),
        format!("{v3}/messages"),
        format!("{v3}/messages/{id}"),
        format!("{v3}/{id}"),
        "/volume".to_owned(),
        "/volume/v2".to_owned(),
        format!("/compute/v2.1/servers/{id}"),
        format!("/compute/v2.1/servers/{id}/os-volume_attachments"),
        format!("/compute/v2.1/servers/{id}/os-volume_attachments/{id}"),
        "/compute/v2.1/servers/detail".to_owned(),
        format!("/compute/{id}"),
        "/identity/v3/auth/tokens".to_owned(),
        format!("/identity/v3/{id}"),
    ];
    if rng.random_bool(0.4) {
        return coherent(rng, &v3, &id, known);
    }
    let path = pick(rng, &paths).clone();
    let method = match rng.random_range(0..20) {
        0..=6 => Method::GET,
        7..=13 => Method::POST,
        14..=15 => Method::PUT,
        16..=18 => Method::DELETE,
        _ => pick(rng, &[Method::PATCH, Method::HEAD]).clone(),
    };
    let fitting = rng
        .random_bool(0.6)
        .then(|| fitting_body(rng, &path, &id))
        .flatten();
    let mut req = FakeRequest::new(method, path);
    let queries = [
        None,
        Some("limit=2".to_owned()),
        Some("limit=-3".to_owned()),
        Some(format!("marker={id}")),
        Some("sort=name:sideways".to_owned()),
        Some("sort=size:asc,id".to_owned()),
        Some("with_count=true&limit=1".to_owned()),
        Some("cascade=true&force=yes".to_owned()),
        Some("usage=maybe".to_owned()),
        Some("metadata=%7B%27k%27%3A%27v%27%7D".to_owned()),
        Some("offset=abc".to_owned()),
    ];
    req.query = pick(rng, &queries).clone();
    let versions = [
        None,
        Some("volume 3.0"),
        Some("volume 3.71"),
        Some("volume latest"),
        Some("volume 3.99"),
        Some("volume 3.01"),
        Some("volume x"),
        Some("compute 2.1"),
        Some("volume 4.0"),
        Some("volume 3.27"),
    ];
    if let Some(v) = pick(rng, &versions) {
        req.headers
            .insert("openstack-api-version", v.parse().unwrap());
    }
    req.body = match fitting {
        Some(b) => serde_json::to_vec(&b).unwrap().into(),
        None => random_body(rng, &id).into(),
    };
    req
}

/// A well-formed call on a known resource, so that runs reach the
/// operations and their state machine, not only the refusals.
fn coherent(rng: &mut StdRng, v3: &str, id: &str, known: &[String]) -> FakeRequest {
    let other = random_id(rng, known);
    let (method, path, body) = match rng.random_range(0..12) {
        0 | 1 => (
            Method::POST,
            format!("{v3}/volumes"),
            Some(json!({"volume": {"size": 1}})),
        ),
        2 => (Method::GET, format!("{v3}/volumes/{id}"), None),
        3 => (
            Method::PUT,
            format!("{v3}/volumes/{id}"),
            Some(json!({"volume": {"name": "n"}})),
        ),
        4 => (Method::DELETE, format!("{v3}/volumes/{id}"), None),
        5 => (
            Method::POST,
            format!("{v3}/volumes/{id}/action"),
            fitting_body(rng, "/volumes/x/action", id),
        ),
        6 => (
            Method::POST,
            format!("{v3}/snapshots"),
            fitting_body(rng, "/snapshots", id),
        ),
        7 => (
            Method::POST,
            format!("{v3}/backups"),
            fitting_body(rng, "/backups", id),
        ),
        8 => (
            Method::POST,
            format!("{v3}/backups/{id}/restore"),
            Some(json!({"restore": {"volume_id": other}})),
        ),
        9 => (
            Method::POST,
            format!("/compute/v2.1/servers/{other}/os-volume_attachments"),
            Some(json!({"volumeAttachment": {"volumeId": id}})),
        ),
        10 => (
            Method::DELETE,
            format!("/compute/v2.1/servers/{other}/os-volume_attachments/{id}"),
            None,
        ),
        _ => (Method::GET, format!("{v3}/volumes/detail"), None),
    };
    let mut req = FakeRequest::new(method, path);
    if rng.random_bool(0.5) {
        req.headers
            .insert("openstack-api-version", "volume 3.71".parse().unwrap());
    }
    if let Some(b) = body {
        req.body = serde_json::to_vec(&b).unwrap().into();
    }
    req
}

/// A body that fits `path`'s endpoint (so that runs reach the operations).
fn fitting_body(rng: &mut StdRng, path: &str, id: &str) -> Option<Value> {
    let b = if path.ends_with("/volumes") {
        pick(
            rng,
            &[
                json!({"volume": {"size": 1, "name": "f"}}),
                json!({"volume": {"source_volid": id}}),
                json!({"volume": {"snapshot_id": id}}),
            ],
        )
        .clone()
    } else if path.ends_with("/snapshots") {
        json!({"snapshot": {"volume_id": id, "force": rng.random_bool(0.5)}})
    } else if path.ends_with("/backups") {
        json!({"backup": {"volume_id": id, "incremental": rng.random_bool(0.3)}})
    } else if path.contains("/volumes/") && path.ends_with("/action") {
        let new_size = rng.random_range(1..5);
        pick(
            rng,
            &[
                json!({"os-extend": {"new_size": new_size}}),
                json!({"os-retype": {"new_type": "ssd"}}),
                json!({"os-reset_status": {"status": "available"}}),
                json!({"os-set_bootable": {"bootable": true}}),
                json!({"os-reserve": {}}),
                json!({"os-unreserve": {}}),
            ],
        )
        .clone()
    } else if path.ends_with("/restore") {
        json!({"restore": {"name": "r"}})
    } else if path.ends_with("/attachments") {
        json!({"attachment": {"volume_uuid": id}})
    } else if path.ends_with("/os-volume_attachments") {
        json!({"volumeAttachment": {"volumeId": id}})
    } else if path.contains("/volumes/") && !path.contains("metadata") {
        json!({"volume": {"name": "renamed"}})
    } else if path.ends_with("/metadata") {
        json!({"metadata": {"a": "b"}})
    } else {
        return None;
    };
    Some(b)
}

/// Panics unless `body` is a refusal in the shape the path's API uses.
fn assert_shape(path: &str, status: u16, body: &[u8], what: &str) {
    if body.is_empty() {
        // HEAD answers carry no body.
        assert!(what.starts_with("HEAD"), "{what}: {status} with no body");
        return;
    }
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{what}: {status}, body not JSON ({e})"));
    let keystone = v["error"]["code"] == status
        && v["error"]["title"].is_string()
        && v["error"]["message"].is_string();
    if path.starts_with("/identity") || status == 401 {
        assert!(keystone, "{what}: {status} not in Keystone's shape: {v}");
        return;
    }
    let m = v.as_object().unwrap_or_else(|| panic!("{what}: {v}"));
    assert_eq!(m.len(), 1, "{what}: {v}");
    let (name, inner) = m.iter().next().unwrap();
    assert!(
        [
            "badRequest",
            "forbidden",
            "itemNotFound",
            "badMethod",
            "conflictingRequest",
            "overLimit",
            "computeFault"
        ]
        .contains(&name.as_str()),
        "{what}: {v}"
    );
    assert_eq!(inner["code"], status, "{what}: {v}");
    assert!(
        inner["message"].as_str().is_some_and(|s| !s.is_empty()),
        "{what}: {v}"
    );
}

/// What a tenant holds, to see that nothing changed.
fn holdings(fake: &CinderFake, project: &str) -> String {
    fake.engine().with(|c| {
        let volumes: Vec<String> = c
            .all_volumes(project)
            .iter()
            .map(|v| {
                format!(
                    "{} {} {} {:?} {:?}",
                    v.id, v.name, v.size, v.state, v.labels
                )
            })
            .collect();
        format!("{volumes:?} {:?}", c.quota_usage(project))
    })
}

#[test]
fn hostile_requests_never_5xx_and_refuse_in_the_providers_shape() {
    let fake = CinderFake::builder()
        .quota(volume_sim::engine::Quota::unlimited().with_volumes(40))
        .build();
    let (token, project) = token_of(&fake);
    let mut rng = StdRng::seed_from_u64(0xc1de);
    // The seeded servers are known from the start.
    let mut servers = FakeRequest::new(Method::GET, "/compute/v2.1/servers");
    servers
        .headers
        .insert("x-auth-token", token.parse().unwrap());
    let list: Value = serde_json::from_slice(&fake.handle(&servers).body).unwrap();
    let mut known: Vec<String> = list["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let mut statuses = std::collections::BTreeMap::new();
    for n in 0..REQUESTS {
        let mut req = random_request(&mut rng, &known, &project);
        req.headers.insert("x-auth-token", token.parse().unwrap());
        let what = format!(
            "{} {}?{} #{n}",
            req.method,
            req.path,
            req.query.clone().unwrap_or_default()
        );
        let r = fake.handle(&req);
        *statuses.entry(r.status).or_insert(0u32) += 1;
        assert!(
            r.status < 500,
            "{what}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        if r.status >= 400 {
            assert_shape(&req.path, r.status, &r.body, &what);
        } else if let Ok(v) = serde_json::from_slice::<Value>(&r.body) {
            // Learn ids to aim later requests at real resources.
            for key in ["volume", "snapshot", "backup", "attachment", "server"] {
                if let Some(id) = v[key]["id"].as_str() {
                    if known.len() < 96 {
                        known.push(id.to_owned());
                    }
                }
            }
        }
        if n % 50 == 0 {
            fake.engine().advance(std::time::Duration::from_secs(1));
        }
    }
    // The run reached the operations, not only the refusals.
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 100,
        "{statuses:?}"
    );
    assert!(
        statuses.get(&202).copied().unwrap_or(0) > 100,
        "{statuses:?}"
    );
    // The quota of 40 volumes was reached, and refused in its shape.
    assert!(statuses.get(&413).copied().unwrap_or(0) > 0, "{statuses:?}");
    assert!(known.len() > 20, "{known:?}");
}

#[test]
fn requests_without_a_valid_token_change_nothing() {
    let fake = CinderFake::builder().build();
    let (token, project) = token_of(&fake);
    let mut rng = StdRng::seed_from_u64(0xbad);
    // Something to aim at.
    let mut create = FakeRequest::new(Method::POST, format!("/volume/v3/{project}/volumes"));
    create
        .headers
        .insert("x-auth-token", token.parse().unwrap());
    create.body = serde_json::to_vec(&json!({"volume": {"size": 1}}))
        .unwrap()
        .into();
    let r = fake.handle(&create);
    assert_eq!(r.status, 202);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    let known = vec![v["volume"]["id"].as_str().unwrap().to_owned()];
    fake.engine().advance(std::time::Duration::from_secs(5));
    let before = holdings(&fake, &project);
    let bad_tokens = [
        "",
        "gAAAAA",
        "Bearer x",
        "gAAAAAB0000000000000000000000000000000000000000000000000000000000000000",
        "\u{7f}",
    ];
    for n in 0..1500 {
        let mut req = random_request(&mut rng, &known, &project);
        if req.path.starts_with("/identity") {
            continue;
        }
        let bad = pick(&mut rng, &bad_tokens);
        if !bad.is_empty() {
            if let Ok(value) = bad.parse() {
                req.headers.insert("x-auth-token", value);
            }
        }
        let what = format!("{} {} #{n}", req.method, req.path);
        let r = fake.handle(&req);
        assert!(r.status < 500, "{what}: {}", r.status);
        if r.status >= 400 {
            assert_shape(&req.path, r.status, &r.body, &what);
        }
        // Only version documents and 404/405 from routing answer without a token.
        assert!(
            r.status == 401
                || r.status == 404
                || r.status == 405
                || r.status == 200
                || r.status == 300
                || r.status == 400
                || r.status == 406,
            "{what}: {}",
            r.status
        );
    }
    fake.engine().advance(std::time::Duration::from_secs(5));
    assert_eq!(holdings(&fake, &project), before);
}

/// Raw bytes through the real server: dot segments and bad encodings arrive
/// as sent, bodies past the server's limit are refused before they are
/// read. The same rules: no 5xx, the claiming API's shape, nothing changed
/// without a valid token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_hostile_requests_through_the_server() {
    use support::raw_http::send;
    use volume_sim::serve::{ServeConfig, Server};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server::start(listener, &ServeConfig::default())
        .await
        .unwrap();
    let addr = server.address();
    let raw = |method: &str, path: &str, token: Option<&str>, body: &[u8]| {
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if let Some(t) = token {
            head.push_str(&format!("X-Auth-Token: {t}\r\n"));
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
    };
    let login = serde_json::to_vec(&json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": DEFAULT_USER, "domain": {"name": "Default"}, "password": DEFAULT_PASSWORD}}},
        "scope": {"project": {"name": DEFAULT_PROJECT, "domain": {"name": "Default"}}}}}))
    .unwrap();
    let (_, r) = send(addr, &raw("POST", "/identity/v3/auth/tokens", None, &login)).await;
    assert_eq!(r.status, Some(201), "{}", r.body);
    let doc: Value = serde_json::from_str(&r.body).unwrap();
    let project = doc["token"]["project"]["id"].as_str().unwrap().to_owned();
    // The token is in a header the raw reader does not keep: log in through
    // the handler of the served fake instead, which shares its tokens.
    let fake = server.fake("cinder").unwrap();
    let mut req = FakeRequest::new(Method::POST, "/identity/v3/auth/tokens");
    req.body = login.clone().into();
    let token = fake.handle(&req).headers["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let create = serde_json::to_vec(&json!({"volume": {"size": 1, "name": "raw"}})).unwrap();
    let (_, r) = send(
        addr,
        &raw(
            "POST",
            &format!("/volume/v3/{project}/volumes"),
            Some(&token),
            &create,
        ),
    )
    .await;
    assert_eq!(r.status, Some(202), "{}", r.body);
    let id = serde_json::from_str::<Value>(&r.body).unwrap()["volume"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let state = || {
        fake.engine().with(|c| {
            format!(
                "{:?} {:?}",
                c.all_volumes(&project),
                c.quota_usage(&project)
            )
        })
    };
    let mut rng = StdRng::seed_from_u64(0x7a11);
    let paths = [
        format!("/volume/v3/{project}/volumes/{id}"),
        format!("/volume/v3/{project}/volumes/{id}/action"),
        format!("/volume/v3/{project}/volumes/../../identity/v3/auth/tokens"),
        format!("/volume/v3/{project}/volumes/%2e%2e/{id}"),
        "/volume/v3/volumes/%ff%fe".to_owned(),
        "/volume/%2e%2e/compute/v2.1/servers".to_owned(),
        "/volume/v3/..".to_owned(),
        "/volume/v3//volumes".to_owned(),
        "/identity/v3/auth/tokens".to_owned(),
        "/identity/v3/../../volume/v3/volumes".to_owned(),
        "/identity/v3/%2e%2e/projects".to_owned(),
        "/identity/./v3".to_owned(),
        format!("/compute/v2.1/servers/%2e%2e/os-volume_attachments/{id}"),
        "/compute/v2.1/servers/x/os-volume_attachments".to_owned(),
        "/compute/../volume/v3/volumes".to_owned(),
    ];
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"{\"volume\": ".to_vec(),
        format!("{}{}", "[".repeat(3000), "]".repeat(3000)).into_bytes(),
        vec![b'{'; (1 << 20) + 10],
        serde_json::to_vec(&json!({"os-extend": {"new_size": 3}})).unwrap(),
        serde_json::to_vec(&json!({"os-force_delete": {}})).unwrap(),
        serde_json::to_vec(&json!({"volumeAttachment": {"volumeId": id}})).unwrap(),
    ];
    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"];
    fake.engine().run_until_quiet();
    let before = state();
    let mut statuses = std::collections::BTreeMap::new();
    for n in 0..600 {
        let method = *pick(&mut rng, &methods);
        let path = pick(&mut rng, &paths).clone();
        let body = pick(&mut rng, &bodies).clone();
        let bad = *pick(&mut rng, &[None, Some("gAAAAAnope"), Some("x")]);
        let (_, r) = send(addr, &raw(method, &path, bad, &body)).await;
        let what = format!("#{n} {method} {path} ({} bytes)", body.len());
        let status = r.status.unwrap_or_else(|| panic!("{what}: no answer"));
        *statuses.entry(status).or_insert(0u32) += 1;
        assert!(status < 500, "{what}: {status} {}", r.body);
        if status >= 400 && method != "HEAD" {
            // The server's own refusals (a body too large, a malformed
            // request) come in Cinder's shape under every prefix.
            let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            let keystone = v["error"]["code"] == status;
            let server_refusal = (status == 400 || status == 413) && !keystone;
            let shape = if path.starts_with("/identity") && !server_refusal {
                "/identity"
            } else {
                "/volume"
            };
            assert_shape(shape, status, r.body.as_bytes(), &what);
        }
    }
    assert_eq!(
        state(),
        before,
        "an unauthenticated request changed something"
    );
    assert!(statuses.contains_key(&413), "{statuses:?}");
    assert!(statuses.contains_key(&401), "{statuses:?}");
}
