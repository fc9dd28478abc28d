//! The LunaNode fake on its own, request in and response out: signatures
//! verified over the raw `req` whatever its serialisation, the partial key,
//! the nonce rules (skew, replays refused with nothing changed, both
//! rules), errors as HTTP 200 with `"success": "no"`, every scalar a
//! string, `handler` and unknown parameters ignored, `region` accepted on
//! every action, the lifecycle of every action, and images replicated to
//! another region.
//!
//! Requests are signed here with an HMAC of this file's own, never with the
//! fake's code.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::Method;
use serde_json::{json, Value};
use sha2::Sha512;
use volume_sim::fake::lunanode::{
    messages, LunaNodeFake, NonceRule, DEFAULT_API_ID, DEFAULT_API_KEY,
};
use volume_sim::fake::{FakeRequest, FakeResponse};

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

/// How `req` is written: Go/PHP-like compact, or Python's `json.dumps`
/// with spaces and the credentials last.
#[derive(Clone, Copy)]
enum Style {
    Compact,
    Python,
}

/// A signed form for `handler` with `params`.
struct Signed {
    handler: String,
    req: String,
    nonce: String,
    signature: String,
}

fn signed(handler: &str, params: &Value, nonce: u64, style: Style, key: &str) -> Signed {
    let mut map = params.as_object().cloned().unwrap_or_default();
    let req = match style {
        Style::Compact => {
            map.insert("api_id".into(), DEFAULT_API_ID.into());
            map.insert("api_partialkey".into(), key[..64].into());
            serde_json::to_string(&map).unwrap()
        }
        Style::Python => {
            let mut parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", json!(k), v))
                .collect();
            parts.push(format!("\"api_id\": \"{DEFAULT_API_ID}\""));
            parts.push(format!("\"api_partialkey\": \"{}\"", &key[..64]));
            format!("{{{}}}", parts.join(", "))
        }
    };
    let nonce = nonce.to_string();
    let signature = hex_hmac(key, &format!("{handler}|{req}|{nonce}"));
    Signed {
        handler: handler.to_owned(),
        req,
        nonce,
        signature,
    }
}

impl Signed {
    fn request(&self, extra: &[(&str, &str)]) -> FakeRequest {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("req", &self.req)
            .append_pair("signature", &self.signature)
            .append_pair("nonce", &self.nonce);
        for (k, v) in extra {
            form.append_pair(k, v);
        }
        let mut r = FakeRequest::new(Method::POST, format!("/api/{}", self.handler));
        r.headers.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        r.body = form.finish().into_bytes().into();
        r
    }
}

/// A caller with a nonce counter of its own, so no two calls repeat one.
struct Caller {
    fake: LunaNodeFake,
    next: u64,
    style: Style,
}

impl Caller {
    fn new(fake: LunaNodeFake) -> Self {
        Self {
            fake,
            next: now(),
            style: Style::Compact,
        }
    }

    fn send(&mut self, handler: &str, params: Value) -> Value {
        self.next += 1;
        let s = signed(handler, &params, self.next, self.style, DEFAULT_API_KEY);
        body(&self.fake.handle(&s.request(&[])))
    }

    fn ok(&mut self, handler: &str, params: Value) -> Value {
        let v = self.send(handler, params.clone());
        assert_eq!(v["success"], "yes", "{handler} {params}: {v}");
        v
    }

    fn refused(&mut self, handler: &str, params: Value) -> String {
        let v = self.send(handler, params.clone());
        assert_eq!(v["success"], "no", "{handler} {params}: {v}");
        v["error"].as_str().unwrap().to_owned()
    }

    fn settle(&self) {
        self.fake.engine().run_until_quiet();
    }
}

/// The body of an answer, which must be a 200 with a JSON object whose
/// every scalar is a string.
fn body(r: &FakeResponse) -> Value {
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert!(v.is_object(), "{v}");
    all_strings(&v);
    v
}

fn all_strings(v: &Value) {
    match v {
        Value::Object(m) => m.values().for_each(all_strings),
        Value::Array(a) => a.iter().for_each(all_strings),
        Value::String(_) => {}
        other => panic!("a scalar that is not a string: {other}"),
    }
}

/// What the tenant has, to check that a refusal changed nothing.
fn state(fake: &LunaNodeFake) -> String {
    let e = fake.engine();
    e.with(|c| {
        format!(
            "{:?}{:?}",
            c.all_volumes("default"),
            c.volume_images("default")
        )
    }) + &format!("{:?}", e.usage("default"))
}

#[test]
fn a_whole_lifecycle_with_every_action() {
    let fake = LunaNodeFake::builder().build();
    let mut c = Caller::new(fake);
    let id = c.ok(
        "volume/create/",
        json!({"region": "toronto", "label": "myvolume", "size": "100"}),
    )["volume_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Right after the create: pending in the list, creating in info.
    let list = c.ok("volume/list/", json!({}));
    assert_eq!(list["volumes"][0]["status"], "pending");
    assert_eq!(
        c.ok("volume/info/", json!({"volume_id": id}))["volume"]["status"],
        "creating"
    );
    c.settle();
    let list = c.ok("volume/list/", json!({"region": "toronto"}));
    let v = &list["volumes"][0];
    for key in [
        "id",
        "identification",
        "name",
        "region",
        "size",
        "status",
        "time_created",
        "user_id",
    ] {
        assert!(v[key].is_string(), "list entry without {key}: {v}");
    }
    assert_eq!(
        (v["status"].as_str(), v["size"].as_str()),
        (Some("active"), Some("100"))
    );
    assert!(
        c.ok("volume/list/", json!({"region": "montreal"}))["volumes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let info = c.ok("volume/info/", json!({"volume_id": id}));
    let keys: Vec<&String> = info["volume"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "attached",
            "created",
            "id",
            "identification",
            "name",
            "size",
            "status"
        ]
    );
    assert_eq!(info["volume"]["status"], "available");

    c.ok(
        "volume/rename/",
        json!({"volume_id": id, "name": "myvolume2"}),
    );
    c.ok("volume/extend/", json!({"volume_id": id, "size": "150"}));
    c.settle();
    assert_eq!(
        c.refused("volume/extend/", json!({"volume_id": id, "size": "150"})),
        messages::EXTEND_SMALLER
    );
    let vms = c.ok("vm/list/", json!({}));
    let vm = vms["vms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["region"] == "toronto")
        .unwrap()["vm_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(vm.len(), 36, "VM ids are UUIDs: {vm}");
    c.ok(
        "volume/attach/",
        json!({"volume_id": id, "vm_id": vm, "target": "auto"}),
    );
    c.settle();
    let info = c.ok("volume/info/", json!({"volume_id": id}));
    assert_eq!(
        (
            info["volume"]["status"].as_str(),
            info["volume"]["attached"].as_str()
        ),
        (Some("in-use"), Some(vm.as_str()))
    );
    assert_eq!(info["volume"]["name"], "myvolume2");
    assert_eq!(info["volume"]["size"], "150");
    assert_eq!(
        c.refused("volume/extend/", json!({"volume_id": id, "size": "200"})),
        messages::EXTEND_ATTACHED
    );
    assert_eq!(
        c.refused("volume/delete/", json!({"volume_id": id})),
        messages::DELETE_ATTACHED
    );
    assert_eq!(
        c.refused(
            "volume/attach/",
            json!({"volume_id": id, "vm_id": vm, "target": "/dev/vdc"})
        ),
        messages::ALREADY_ATTACHED
    );
    c.ok("volume/detach/", json!({"volume_id": id}));
    c.settle();
    assert_eq!(
        c.refused("volume/detach/", json!({"volume_id": id})),
        messages::NOT_ATTACHED
    );

    let snap = c.ok(
        "volume/snapshot-create/",
        json!({"volume_id": id, "label": "myvolsnapshot"}),
    )["snapshot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(snap.len(), 36, "snapshot ids are UUIDs: {snap}");
    c.settle();
    let snaps = c.ok("volume/snapshot-list/", json!({"region": "toronto"}));
    let s = &snaps["snapshots"][0];
    assert_eq!(
        (s["id"].as_str(), s["name"].as_str(), s["status"].as_str()),
        (
            Some(snap.as_str()),
            Some("myvolsnapshot"),
            Some("available")
        )
    );
    assert_eq!(s["volume"]["id"].as_str(), Some(id.as_str()));
    assert_eq!(
        c.refused("volume/snapshot-list/", json!({})),
        "region not set"
    );
    assert!(
        c.ok("volume/snapshot-list/", json!({"region": "roubaix"}))["snapshots"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A volume from the snapshot, as large or larger.
    let from = c.ok(
        "volume/create/",
        json!({"region": "toronto", "label": "fromsnap", "size": "200", "snapshot_id": snap}),
    );
    assert!(from["volume_id"].is_string());
    assert!(c
        .refused(
            "volume/create/",
            json!({"region": "toronto", "label": "small", "size": "10", "snapshot_id": snap})
        )
        .starts_with("invalid size"));
    // Replicated to montreal, and a volume from the image there.
    let image = c.ok(
        "volume/snapshot-replicate/",
        json!({"region": "toronto", "snapshot_id": snap, "image_name": "ImageFromVolSnapshot", "dst_region": "montreal"}),
    )["image_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let images = c.ok("image/list/", json!({"region": "montreal"}));
    assert_eq!(
        images["images"][0]["image_id"].as_str(),
        Some(image.as_str())
    );
    assert!(c.ok("image/list/", json!({"region": "toronto"}))["images"]
        .as_array()
        .unwrap()
        .is_empty());
    c.ok(
        "volume/create/",
        json!({"region": "montreal", "label": "fromimage", "size": "150", "image": image}),
    );
    assert!(c
        .refused(
            "volume/create/",
            json!({"region": "toronto", "label": "x", "size": "150", "image": image})
        )
        .contains("region"));
    // A volume with snapshots cannot be deleted (Cinder's rule); without, it can.
    assert!(c
        .refused("volume/delete/", json!({"volume_id": id}))
        .contains("snapshot"));
    assert_eq!(
        c.refused(
            "volume/snapshot-delete/",
            json!({"region": "montreal", "snapshot_id": snap})
        ),
        messages::SNAPSHOT_NOT_FOUND
    );
    c.ok(
        "volume/snapshot-delete/",
        json!({"region": "toronto", "snapshot_id": snap}),
    );
    c.settle();
    c.ok("volume/delete/", json!({"volume_id": id}));
    c.settle();
    assert_eq!(
        c.refused("volume/info/", json!({"volume_id": id})),
        messages::VOLUME_NOT_FOUND
    );
}

#[test]
fn python_serialisation_handler_unknown_fields_and_region_everywhere() {
    let fake = LunaNodeFake::builder().build();
    let mut c = Caller::new(fake.clone());
    c.style = Style::Python;
    let id = c.ok(
        "volume/create/",
        json!({"label": "py", "region": "toronto", "size": "1"}),
    )["volume_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // region on an action that does not list it, an unknown parameter,
    // and numbers where strings belong (taken as their text).
    c.ok(
        "volume/info/",
        json!({"volume_id": id, "region": "toronto", "colour": "blue"}),
    );
    c.ok(
        "volume/info/",
        json!({"volume_id": id.parse::<u64>().unwrap()}),
    );
    // Ignored where it is not a parameter, checked where it is.
    c.ok("volume/info/", json!({"volume_id": id, "region": "mars"}));
    assert_eq!(
        c.refused("volume/list/", json!({"region": "mars"})),
        messages::INVALID_REGION
    );
    assert_eq!(
        c.refused(
            "volume/create/",
            json!({"label": "f", "region": "toronto", "size": 2.5})
        ),
        "invalid size"
    );
    // A `handler` field (cloug, lobster, the JS client) is ignored.
    c.next += 1;
    let s = signed(
        "volume/list/",
        &json!({}),
        c.next,
        Style::Compact,
        DEFAULT_API_KEY,
    );
    let v = body(&fake.handle(&s.request(&[("handler", "volume/list/"), ("extra", "1")])));
    assert_eq!(v["success"], "yes");
}

#[test]
fn bad_credentials_are_refused_in_a_200_and_change_nothing() {
    let fake = LunaNodeFake::builder().build();
    let before = state(&fake);
    let params = json!({"region": "toronto", "label": "no", "size": "1"});
    let n = now();
    let wrong_key = "w".repeat(128);
    let cases: Vec<(FakeRequest, &str)> = vec![
        (
            signed("volume/create/", &params, n, Style::Compact, &wrong_key).request(&[]),
            "invalid api_partialkey",
        ),
        (
            {
                // The right partial key, a signature under another key.
                let mut s = signed(
                    "volume/create/",
                    &params,
                    n,
                    Style::Compact,
                    DEFAULT_API_KEY,
                );
                s.signature =
                    hex_hmac(&wrong_key, &format!("volume/create/|{}|{}", s.req, s.nonce));
                s.request(&[])
            },
            "invalid signature",
        ),
        (
            {
                // Signed for another handler.
                let mut s = signed("volume/list/", &params, n, Style::Compact, DEFAULT_API_KEY);
                s.handler = "volume/create/".into();
                s.request(&[])
            },
            "invalid signature",
        ),
        (
            signed(
                "volume/create/",
                &params,
                n - 3600,
                Style::Compact,
                DEFAULT_API_KEY,
            )
            .request(&[]),
            "invalid nonce: too far from the server's clock",
        ),
        (
            signed(
                "volume/create/",
                &params,
                n + 3600,
                Style::Compact,
                DEFAULT_API_KEY,
            )
            .request(&[]),
            "invalid nonce: too far from the server's clock",
        ),
        (
            FakeRequest::new(Method::POST, "/api/volume/create/"),
            "req not set",
        ),
    ];
    for (request, expected) in cases {
        let v = body(&fake.handle(&request));
        assert_eq!(
            (v["success"].as_str(), v["error"].as_str()),
            (Some("no"), Some(expected))
        );
    }
    // An unknown api_id.
    let mut s = signed(
        "volume/create/",
        &params,
        n,
        Style::Compact,
        DEFAULT_API_KEY,
    );
    s.req = s.req.replace(DEFAULT_API_ID, "nobody0000000000");
    s.signature = hex_hmac(
        DEFAULT_API_KEY,
        &format!("volume/create/|{}|{}", s.req, s.nonce),
    );
    assert_eq!(
        body(&fake.handle(&s.request(&[])))["error"],
        "invalid api_id"
    );
    assert_eq!(state(&fake), before);
}

#[test]
fn a_replayed_request_is_refused_and_changes_nothing() {
    let fake = LunaNodeFake::builder().build();
    let s = signed(
        "volume/create/",
        &json!({"region": "toronto", "label": "once", "size": "1"}),
        now(),
        Style::Compact,
        DEFAULT_API_KEY,
    );
    assert_eq!(body(&fake.handle(&s.request(&[])))["success"], "yes");
    let after_first = state(&fake);
    let v = body(&fake.handle(&s.request(&[])));
    assert_eq!(
        (v["success"].as_str(), v["error"].as_str()),
        (Some("no"), Some("invalid nonce: already used"))
    );
    assert_eq!(state(&fake), after_first, "the replay changed something");
    // By default a different request may share the nonce (as LunaNode's own
    // clients send them)...
    let other = signed(
        "volume/list/",
        &json!({}),
        s.nonce.parse().unwrap(),
        Style::Compact,
        DEFAULT_API_KEY,
    );
    assert_eq!(body(&fake.handle(&other.request(&[])))["success"], "yes");
    // ...and with the strict rule it may not.
    let strict = LunaNodeFake::builder()
        .nonce_rule(NonceRule::Unique)
        .build();
    assert_eq!(body(&strict.handle(&s.request(&[])))["success"], "yes");
    assert_eq!(
        body(&strict.handle(&other.request(&[])))["error"],
        "invalid nonce: already used"
    );
}

#[test]
fn skew_and_window_are_configurable() {
    let old = now() - 3600;
    let lenient = LunaNodeFake::builder()
        .nonce_skew(Duration::from_secs(7200))
        .replay_window(Duration::from_secs(7200))
        .build();
    let s = signed(
        "volume/list/",
        &json!({}),
        old,
        Style::Compact,
        DEFAULT_API_KEY,
    );
    assert_eq!(body(&lenient.handle(&s.request(&[])))["success"], "yes");
    assert_eq!(
        body(&lenient.handle(&s.request(&[])))["error"],
        "invalid nonce: already used"
    );
    let strict = LunaNodeFake::builder().nonce_skew(Duration::ZERO).build();
    let late = signed(
        "volume/list/",
        &json!({}),
        now() - 5,
        Style::Compact,
        DEFAULT_API_KEY,
    );
    assert_eq!(body(&strict.handle(&late.request(&[])))["success"], "no");
}

#[test]
fn unknown_actions_and_methods_are_refused_in_lunanode_shape() {
    let fake = LunaNodeFake::builder().build();
    for (method, path) in [
        (Method::POST, "/api/volume/explode/"),
        (Method::POST, "/api/volume/"),
        (Method::POST, "/api/"),
        (Method::GET, "/api/volume/list/"),
        (Method::POST, "/api/volume/list/extra/"),
        (Method::POST, "/api/%2e%2e/volume/list/"),
    ] {
        let r = fake.handle(&FakeRequest::new(method.clone(), path));
        let v = body(&r);
        assert_eq!(v["success"], "no", "{method} {path}");
        assert!(v["error"].is_string());
    }
}
